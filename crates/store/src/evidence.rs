//! Evidence records of archived originals (migration `0009_evidence.sql`,
//! docs/evidence.md): which documents wait for their record, which are sealed and when.
//! The files (`material.json`, `evidence.ers`) live in the document's folder; the
//! material is written by the filing protocol (`files.rs`), the record by the caller
//! with [`crate::write_atomic`] before [`Archive::mark_sealed`].

use std::path::PathBuf;

use kyso_office::{DocumentRecord, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Archive, backend_error};

/// The captured validation material beside an original.
pub const MATERIAL_FILE: &str = "material.json";
/// The evidence record (RFC 4998, DER) beside an original.
pub const EVIDENCE_FILE: &str = "evidence.ers";

/// A document as far as its evidence goes.
#[derive(Debug, Clone)]
pub struct EvidenceRow {
    /// Document id.
    pub id: i64,
    /// `waiting`, `sealed`, or `None` (archived before evidence records, or no original).
    pub state: Option<String>,
    /// The proof-of-existence time of the record (its first time-stamp), once sealed.
    pub time: Option<OffsetDateTime>,
    /// The document's folder (absolute).
    pub folder: PathBuf,
    /// The record.
    pub record: DocumentRecord,
    /// The captured validation material as archived (`material.json`'s bytes).
    pub material: Option<String>,
}

impl Archive {
    fn evidence_row(&self, row: &sqlx::any::AnyRow) -> Result<EvidenceRow, StoreError> {
        let id: i64 = row.try_get("id").map_err(backend_error)?;
        let dir: String = row.try_get("archive_dir").map_err(backend_error)?;
        let json: String = row.try_get("record_json").map_err(backend_error)?;
        let mut record: DocumentRecord = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))?;
        record.id = Some(id);
        let time: Option<String> = row.try_get("evidence_time").map_err(backend_error)?;
        let time = time
            .map(|t| {
                OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))
            })
            .transpose()?;
        Ok(EvidenceRow {
            id,
            state: row.try_get("evidence_state").map_err(backend_error)?,
            time,
            folder: self.root.join(dir),
            record,
            material: row.try_get("material_json").map_err(backend_error)?,
        })
    }

    async fn evidence_rows(
        &self,
        state: &str,
        agency: Option<&str>,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        macro_rules! select {
            ($tail:literal) => {
                concat!(
                    "SELECT id, archive_dir, record_json, evidence_state, evidence_time, material_json \
                     FROM document WHERE evidence_state = $1 AND sync_state = 'done' \
                     AND archive_dir IS NOT NULL",
                    $tail
                )
            };
        }
        let rows = match agency {
            Some(agency) => {
                sqlx::query(select!(" AND agency = $2 ORDER BY id"))
                    .bind(state.to_string())
                    .bind(agency.to_string())
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query(select!(" ORDER BY id"))
                    .bind(state.to_string())
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend_error)?;
        rows.iter().map(|r| self.evidence_row(r)).collect()
    }

    /// Documents (of `agency`, or of every agency) whose files are in place and wait
    /// for their evidence record.
    pub async fn evidence_waiting(
        &self,
        agency: Option<&str>,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.evidence_rows("waiting", agency).await
    }

    /// Documents (of `agency`, or of every agency) with an evidence record.
    pub async fn evidence_sealed(
        &self,
        agency: Option<&str>,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.evidence_rows("sealed", agency).await
    }

    /// One archived document's evidence state (`None`: no such archived document).
    pub async fn evidence(&self, id: i64) -> Result<Option<EvidenceRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, archive_dir, record_json, evidence_state, evidence_time, material_json FROM document \
             WHERE id = $1 AND archive_dir IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.map(|r| self.evidence_row(&r)).transpose()
    }

    /// Marks documents sealed by a record whose proof of existence is `time`, once
    /// their `evidence.ers` is in place.
    pub async fn mark_sealed(&self, ids: &[i64], time: OffsetDateTime) -> Result<(), StoreError> {
        let time = time
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE document SET evidence_state = 'sealed', evidence_time = $1 WHERE id = $2",
            )
            .bind(time.clone())
            .bind(*id)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(())
    }
}
