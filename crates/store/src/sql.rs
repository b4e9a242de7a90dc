//! [`kyso_office::Store`] in SQL. One text of every statement serves SQLite and
//! PostgreSQL (`$N` parameters, `CAST`, `ON CONFLICT … RETURNING`); what differs is how
//! a write transaction starts (SQLite `BEGIN IMMEDIATE` takes the write lock at once;
//! PostgreSQL row locks via the counter upsert, advisory locks for folder names and
//! file ordinals).

use std::future::Future;

use kyso_model::{AgencyId, SeriesKey};
use kyso_office::{
    DocumentQuery, DocumentRecord, DuplicateKey, ElectronicPolicy, FileCode, HistoryEntry,
    NewDocument, RecordFile, Store, StoreError, Transition, candidate_dir, document_dir,
};
use sqlx::any::{Any, AnyRow};
use sqlx::{Row, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::files::Staged;
use crate::{Archive, Backend, backend_error};

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

fn record_from(row: &AnyRow) -> Result<DocumentRecord, StoreError> {
    let id: i64 = row.try_get("id").map_err(backend_error)?;
    let json: String = row.try_get("record_json").map_err(backend_error)?;
    let mut record: DocumentRecord =
        serde_json::from_str(&json).map_err(|e| corrupt(format!("document {id}: {e}")))?;
    record.id = Some(id);
    Ok(record)
}

impl Archive {
    /// How many documents `agency` holds per register year and type (the archive tree's
    /// folders), newest year first, types in their key order. One grouped count, read
    /// from the index on (agency, year, type).
    pub async fn document_counts(
        &self,
        agency: &kyso_model::AgencyId,
    ) -> Result<Vec<(u16, kyso_model::DocumentType, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT year, type_key, COUNT(*) AS n FROM document WHERE agency = $1 \
             GROUP BY year, type_key ORDER BY year DESC, type_key",
        )
        .bind(agency.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let year: i64 = row.try_get("year").map_err(backend_error)?;
            let key: String = row.try_get("type_key").map_err(backend_error)?;
            let n: i64 = row.try_get("n").map_err(backend_error)?;
            let doc_type = kyso_model::DocumentType::from_key(&key).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown document type {key:?} in the database"))
            })?;
            let year = u16::try_from(year).map_err(|_| {
                StoreError::Corrupt(format!("register year {year} in the database"))
            })?;
            out.push((year, doc_type, u64::try_from(n).unwrap_or_default()));
        }
        Ok(out)
    }

    /// A transaction that writes: on SQLite it holds the database write lock from its
    /// first statement (`BEGIN IMMEDIATE`), so concurrent numbering serialises instead
    /// of failing on a lock upgrade.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(backend_error)
    }

    /// Serialises writers on `key` until the transaction ends (PostgreSQL; SQLite's
    /// write transactions are serial already).
    pub(crate) async fn lock(
        &self,
        tx: &mut Transaction<'static, Any>,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key.to_string())
                .execute(&mut **tx)
                .await
                .map_err(backend_error)?;
        }
        Ok(())
    }

    /// Takes the next number of `series`. The upsert locks the counter row until
    /// commit (PostgreSQL) or runs under the write lock (SQLite): no two transactions
    /// get the same number, and a rolled-back one gives its number back.
    async fn next_number(
        tx: &mut Transaction<'static, Any>,
        series: &SeriesKey,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "INSERT INTO series_counter (series, agency, year, register, last_number) \
             VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (series) DO UPDATE SET last_number = series_counter.last_number + 1 \
             RETURNING last_number",
        )
        .bind(series.to_string())
        .bind(series.agency().to_string())
        .bind(i64::from(series.year()))
        .bind(series.register().to_string())
        .fetch_one(&mut **tx)
        .await
        .map_err(backend_error)?;
        let number: i64 = row.try_get(0).map_err(backend_error)?;
        u32::try_from(number).map_err(corrupt)
    }

    /// A folder name not used by another document nor present on disk.
    async fn free_dir(
        &self,
        tx: &mut Transaction<'static, Any>,
        base: &str,
    ) -> Result<String, StoreError> {
        self.lock(tx, &format!("archive_dir:{base}")).await?;
        for n in 1..=10_000 {
            let candidate = candidate_dir(base, n);
            let taken: i64 = sqlx::query("SELECT COUNT(*) FROM document WHERE archive_dir = $1")
                .bind(candidate.clone())
                .fetch_one(&mut **tx)
                .await
                .map_err(backend_error)?
                .try_get(0)
                .map_err(backend_error)?;
            if taken == 0 && !self.root.join(&candidate).exists() {
                return Ok(candidate);
            }
        }
        Err(StoreError::Conflict(format!("no free folder for {base}")))
    }

    async fn insert_event(
        tx: &mut Transaction<'static, Any>,
        id: i64,
        at: OffsetDateTime,
        event: &str,
        state: &str,
        note: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO document_event (document_id, at, event, state, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(rfc3339(at))
        .bind(event.to_string())
        .bind(state.to_string())
        .bind(note.to_string())
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn insert_document(
        &self,
        document: NewDocument,
        mut staged: Option<Staged>,
    ) -> Result<DocumentRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let record = self
            .insert_document_in(&mut tx, document, staged.as_ref())
            .await?;
        tx.commit().await.map_err(backend_error)?;
        if let Some(s) = &mut staged {
            // The row owns the staged files now; recovery finishes them after a crash.
            s.consumed = true;
        }
        if staged.is_some() {
            self.finalize(record.id.unwrap_or_default()).await?;
        }
        Ok(record)
    }

    /// Inserts a document (its number taken, its folder chosen, its first history line)
    /// inside `tx`. The caller commits, then marks `staged` consumed and finalizes.
    pub(crate) async fn insert_document_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        document: NewDocument,
        staged: Option<&Staged>,
    ) -> Result<DocumentRecord, StoreError> {
        let mut record = document.record;
        record.id = None;
        record.archive_dir = None;
        if let Some(s) = staged {
            record.original = Some(s.original());
        }
        if let Some(numbering) = &document.numbering {
            let number = Self::next_number(tx, &numbering.series).await?;
            numbering
                .apply(&mut record, number)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
        }
        if let Some(s) = staged {
            let base = document_dir(&record, Some(s.sha256()));
            record.archive_dir = Some(self.free_dir(tx, &base).await?);
        }
        let sync_state = if staged.is_some() { "pending" } else { "none" };
        let now = rfc3339(record.created_at);
        let row = sqlx::query(
            "INSERT INTO document (agency, direction, year, type_key, secrecy, urgency, electronic, state, \
             series, series_number, code_number, code_notation, issued_date, organ_name, subject, \
             duplicate_key, sha256, archive_dir, sync_state, staging_document, staging_signature, \
             record_json, verification_json, created_at, updated_at, material_json, evidence_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24, $25, $26, $27) RETURNING id",
        )
        .bind(record.agency.to_string())
        .bind(record.direction.key().to_string())
        .bind(i64::from(record.year))
        .bind(record.document_type.key().to_string())
        .bind(record.secrecy.key().to_string())
        .bind(record.urgency.key().to_string())
        .bind(i64::from(record.electronic))
        .bind(record.state.key())
        .bind(record.series.as_ref().map(ToString::to_string))
        .bind(record.series_number.map(i64::from))
        .bind(record.metadata.code_number.clone())
        .bind(record.metadata.code_notation.clone())
        .bind(record.metadata.issued_date.map(kyso_office::date_opt::format_date))
        .bind(record.metadata.organ_name.clone())
        .bind(record.metadata.subject.clone())
        .bind(record.duplicate_key().map(|k| k.text()))
        .bind(record.original.as_ref().map(|o| o.document.sha256.clone()))
        .bind(record.archive_dir.clone())
        .bind(sync_state.to_string())
        .bind(staged.map(|s| s.document.staging_name.clone()))
        .bind(
            staged.and_then(|s| s.signature.as_ref().map(|x| x.staging_name.clone())),
        )
        .bind(to_json(&record)?)
        .bind(staged.and_then(Staged::verification_json))
        .bind(now.clone())
        .bind(now)
        .bind(staged.and_then(|s| s.material.clone()))
        // Every archived original waits for its evidence record.
        .bind(staged.map(|_| "waiting".to_string()))
        .fetch_one(&mut **tx)
        .await
        .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        record.id = Some(id);
        Self::insert_event(
            tx,
            id,
            record.created_at,
            "register",
            &record.state.key(),
            &document.note,
        )
        .await?;
        Ok(record)
    }

    /// Gives a document registered without an original (numbered first, signed later —
    /// e.g. handover minutes, whose number is printed in them) its original, through
    /// the same protocol as [`Store::insert`]: in one transaction the row becomes
    /// `pending` with the staged file names and a free folder, then the files are
    /// placed (recovery completes them after a crash). `Conflict` if the document has
    /// an original already.
    pub async fn attach_original(
        &self,
        id: i64,
        mut staged: Staged,
        note: &str,
        at: OffsetDateTime,
    ) -> Result<DocumentRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT id, record_json, archive_dir, sync_state FROM document WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?
        .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
        let archive_dir: Option<String> = row.try_get("archive_dir").map_err(backend_error)?;
        let sync_state: String = row.try_get("sync_state").map_err(backend_error)?;
        if archive_dir.is_some() || sync_state != "none" {
            return Err(StoreError::Conflict(format!(
                "document {id} has an original already"
            )));
        }
        let mut record = record_from(&row)?;
        record.original = Some(staged.original());
        let base = document_dir(&record, Some(staged.sha256()));
        let dir = self.free_dir(&mut tx, &base).await?;
        record.archive_dir = Some(dir.clone());
        let mut stored = record.clone();
        stored.id = None;
        let done = sqlx::query(
            "UPDATE document SET sha256 = $1, archive_dir = $2, sync_state = 'pending',              staging_document = $3, staging_signature = $4, record_json = $5,              verification_json = $6, updated_at = $7, material_json = $9, evidence_state = $10              WHERE id = $8 AND archive_dir IS NULL AND sync_state = 'none'",
        )
        .bind(staged.sha256().to_string())
        .bind(dir)
        .bind(staged.document.staging_name.clone())
        .bind(staged.signature.as_ref().map(|x| x.staging_name.clone()))
        .bind(to_json(&stored)?)
        .bind(staged.verification_json())
        .bind(rfc3339(at))
        .bind(id)
        .bind(staged.material.clone())
        .bind("waiting".to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "document {id} has an original already"
            )));
        }
        Self::insert_event(
            &mut tx,
            id,
            at,
            "attach_original",
            &record.state.key(),
            note,
        )
        .await?;
        tx.commit().await.map_err(backend_error)?;
        // The row owns the staged files now; recovery finishes them after a crash.
        staged.consumed = true;
        self.finalize(id).await?;
        Ok(record)
    }

    async fn apply_transition(&self, t: Transition) -> Result<DocumentRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT id, record_json, state, archive_dir FROM document WHERE id = $1")
                .bind(t.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_error)?
                .ok_or_else(|| StoreError::NotFound(format!("document {}", t.id)))?;
        let state: String = row.try_get("state").map_err(backend_error)?;
        let archive_dir: Option<String> = row.try_get("archive_dir").map_err(backend_error)?;
        let mut record = record_from(&row)?;
        if state != t.from.key() {
            return Err(StoreError::StateChanged {
                id: t.id,
                expected: t.from.key(),
                found: state,
            });
        }
        if let Some(numbering) = &t.numbering {
            let number = Self::next_number(&mut tx, &numbering.series).await?;
            numbering
                .apply(&mut record, number)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
        }
        record.state = t.to;
        let sync_state = if archive_dir.is_some() {
            "pending"
        } else {
            "none"
        };
        let mut stored = record.clone();
        stored.id = None;
        let result = sqlx::query(
            "UPDATE document SET state = $1, year = $2, series = $3, series_number = $4, code_number = $5, \
             code_notation = $6, issued_date = $7, duplicate_key = $8, record_json = $9, sync_state = $10, \
             updated_at = $11 WHERE id = $12 AND state = $13",
        )
        .bind(record.state.key())
        .bind(i64::from(record.year))
        .bind(record.series.as_ref().map(ToString::to_string))
        .bind(record.series_number.map(i64::from))
        .bind(record.metadata.code_number.clone())
        .bind(record.metadata.code_notation.clone())
        .bind(record.metadata.issued_date.map(kyso_office::date_opt::format_date))
        .bind(record.duplicate_key().map(|k| k.text()))
        .bind(to_json(&stored)?)
        .bind(sync_state.to_string())
        .bind(rfc3339(t.at))
        .bind(t.id)
        .bind(t.from.key())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if result.rows_affected() != 1 {
            return Err(StoreError::StateChanged {
                id: t.id,
                expected: t.from.key(),
                found: "changed".into(),
            });
        }
        Self::insert_event(&mut tx, t.id, t.at, t.event.key(), &t.to.key(), &t.note).await?;
        tx.commit().await.map_err(backend_error)?;
        if archive_dir.is_some() {
            // metadata.json follows the new state; recovery redoes it after a crash.
            self.finalize(t.id).await?;
        }
        Ok(record)
    }
}

impl Store for Archive {
    type Staged = Staged;

    fn insert(
        &self,
        document: NewDocument,
        original: Option<Staged>,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send {
        self.insert_document(document, original)
    }

    fn transition(
        &self,
        transition: Transition,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send {
        self.apply_transition(transition)
    }

    async fn document(&self, id: i64) -> Result<Option<DocumentRecord>, StoreError> {
        let row = sqlx::query("SELECT id, record_json FROM document WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.as_ref().map(record_from).transpose()
    }

    async fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, event, state, note FROM document_event WHERE document_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let at: String = row.try_get(0).map_err(backend_error)?;
                Ok(HistoryEntry {
                    at: OffsetDateTime::parse(&at, &Rfc3339).map_err(corrupt)?,
                    event: row.try_get(1).map_err(backend_error)?,
                    state: row.try_get(2).map_err(backend_error)?,
                    note: row.try_get(3).map_err(backend_error)?,
                })
            })
            .collect()
    }

    fn documents(
        &self,
        query: &DocumentQuery,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        let query = query.clone();
        async move {
            // Only the filters given, each `column = $n`, so that the database can use
            // its indexes (an `$n IS NULL OR …` filter defeats them: the dashboard's
            // look-ups scanned 100,000 rows), then the order and the limit.
            enum Value {
                Text(String),
                Int(i64),
            }
            let mut filters: Vec<(&str, Value)> = Vec::new();
            if let Some(a) = &query.agency {
                filters.push(("agency", Value::Text(a.to_string())));
            }
            if let Some(y) = query.year {
                filters.push(("year", Value::Int(i64::from(y))));
            }
            if let Some(d) = query.direction {
                filters.push(("direction", Value::Text(d.key().to_string())));
            }
            if let Some(t) = query.document_type {
                filters.push(("type_key", Value::Text(t.key().to_string())));
            }
            if let Some(series) = &query.series {
                filters.push(("series", Value::Text(series.to_string())));
            }
            let mut clauses: Vec<String> = filters
                .iter()
                .enumerate()
                .map(|(i, (column, _))| format!("{column} = ${}", i + 1))
                .collect();
            if !query.states.is_empty() {
                let marks: Vec<String> = (0..query.states.len())
                    .map(|i| format!("${}", filters.len() + i + 1))
                    .collect();
                clauses.push(format!("state IN ({})", marks.join(", ")));
            }
            let mut sql = String::from("SELECT id, record_json FROM document");
            if !clauses.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&clauses.join(" AND "));
            }
            match query.newest {
                Some(n) => sql.push_str(&format!(" ORDER BY id DESC LIMIT {n}")),
                None => sql.push_str(" ORDER BY year, series_number, id"),
            }
            // Only column names, placeholders and a number were put in the text.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (_, value) in filters {
                q = match value {
                    Value::Text(t) => q.bind(t),
                    Value::Int(n) => q.bind(n),
                };
            }
            for state in &query.states {
                q = q.bind(state.key());
            }
            let rows = q.fetch_all(&self.pool).await.map_err(backend_error)?;
            rows.iter().map(record_from).collect()
        }
    }

    fn duplicates(
        &self,
        key: &DuplicateKey,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        let key = key.text();
        async move {
            let rows = sqlx::query(
                "SELECT id, record_json FROM document WHERE duplicate_key = $1 ORDER BY id",
            )
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
            rows.iter().map(record_from).collect()
        }
    }

    fn by_sha256(
        &self,
        agency: &AgencyId,
        sha256: &str,
    ) -> impl Future<Output = Result<Option<DocumentRecord>, StoreError>> + Send {
        let (agency, sha256) = (agency.to_string(), sha256.to_string());
        async move {
            let row = sqlx::query(
                "SELECT id, record_json FROM document WHERE agency = $1 AND sha256 = $2 ORDER BY id LIMIT 1",
            )
            .bind(agency)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
            row.as_ref().map(record_from).transpose()
        }
    }

    fn policy(
        &self,
        agency: &AgencyId,
    ) -> impl Future<Output = Result<Option<ElectronicPolicy>, StoreError>> + Send {
        let agency = agency.to_string();
        async move {
            let row = sqlx::query("SELECT policy_json FROM agency_policy WHERE agency = $1")
                .bind(agency)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
            match row {
                Some(row) => {
                    let json: String = row.try_get(0).map_err(backend_error)?;
                    Ok(Some(serde_json::from_str(&json).map_err(corrupt)?))
                }
                None => Ok(None),
            }
        }
    }

    fn set_policy(
        &self,
        agency: &AgencyId,
        policy: &ElectronicPolicy,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let agency = agency.to_string();
        let json = to_json(policy);
        async move {
            sqlx::query(
                "INSERT INTO agency_policy (agency, policy_json, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (agency) DO UPDATE SET policy_json = excluded.policy_json, updated_at = excluded.updated_at",
            )
            .bind(agency)
            .bind(json?)
            .bind(rfc3339(at))
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
            Ok(())
        }
    }

    fn create_file(
        &self,
        file: &RecordFile,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let file = file.clone();
        async move {
            sqlx::query(
                "INSERT INTO record_file (file_code, agency, year, notation, file_json) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(file.file_code.to_string())
            .bind(file.file_code.agency().to_string())
            .bind(i64::from(file.file_code.year()))
            .bind(file.file_code.notation().to_string())
            .bind(to_json(&file)?)
            .execute(&self.pool)
            .await
            .map_err(|e| match backend_error(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("hồ sơ / file {} exists", file.file_code))
                }
                other => other,
            })?;
            Ok(())
        }
    }

    fn record_file(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Option<RecordFile>, StoreError>> + Send {
        let code = code.to_string();
        async move {
            let row = sqlx::query("SELECT file_json FROM record_file WHERE file_code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
            match row {
                Some(row) => {
                    let json: String = row.try_get(0).map_err(backend_error)?;
                    Ok(Some(serde_json::from_str(&json).map_err(corrupt)?))
                }
                None => Ok(None),
            }
        }
    }

    fn record_files(
        &self,
        agency: &AgencyId,
        year: u16,
    ) -> impl Future<Output = Result<Vec<RecordFile>, StoreError>> + Send {
        let agency = agency.to_string();
        async move {
            let rows = sqlx::query(
                "SELECT file_json FROM record_file WHERE agency = $1 AND year = $2 ORDER BY notation",
            )
            .bind(agency)
            .bind(i64::from(year))
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
            rows.iter()
                .map(|row| {
                    let json: String = row.try_get(0).map_err(backend_error)?;
                    serde_json::from_str(&json).map_err(corrupt)
                })
                .collect()
        }
    }

    fn file_document(
        &self,
        code: &FileCode,
        id: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send {
        let code = code.to_string();
        async move {
            let mut tx = self.begin_write().await?;
            self.lock(&mut tx, &format!("file:{code}")).await?;
            let exists = sqlx::query("SELECT COUNT(*) FROM record_file WHERE file_code = $1")
                .bind(code.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(backend_error)?
                .try_get::<i64, _>(0)
                .map_err(backend_error)?;
            if exists == 0 {
                return Err(StoreError::NotFound(format!("hồ sơ / file {code}")));
            }
            let doc = sqlx::query("SELECT COUNT(*) FROM document WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend_error)?
                .try_get::<i64, _>(0)
                .map_err(backend_error)?;
            if doc == 0 {
                return Err(StoreError::NotFound(format!("document {id}")));
            }
            let existing = sqlx::query(
                "SELECT ordinal FROM file_document WHERE file_code = $1 AND document_id = $2",
            )
            .bind(code.clone())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?;
            let ordinal: i64 = match existing {
                Some(row) => row.try_get(0).map_err(backend_error)?,
                None => {
                    let next: i64 = sqlx::query(
                        "SELECT CAST(COALESCE(MAX(ordinal), 0) + 1 AS BIGINT) FROM file_document WHERE file_code = $1",
                    )
                    .bind(code.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend_error)?
                    .try_get(0)
                    .map_err(backend_error)?;
                    sqlx::query(
                        "INSERT INTO file_document (file_code, document_id, ordinal) VALUES ($1, $2, $3)",
                    )
                    .bind(code.clone())
                    .bind(id)
                    .bind(next)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                    next
                }
            };
            tx.commit().await.map_err(backend_error)?;
            u32::try_from(ordinal).map_err(corrupt)
        }
    }

    fn file_documents(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        let code = code.clone();
        async move {
            let rows = sqlx::query(
                "SELECT d.id AS id, d.record_json AS record_json, f.ordinal AS ordinal \
                 FROM file_document f JOIN document d ON d.id = f.document_id \
                 WHERE f.file_code = $1 ORDER BY f.ordinal",
            )
            .bind(code.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
            rows.iter()
                .map(|row| {
                    let mut record = record_from(row)?;
                    let ordinal: i64 = row.try_get("ordinal").map_err(backend_error)?;
                    record.metadata.file_code = Some(code.to_string());
                    record.metadata.file_catalog = Some(code.year());
                    record.metadata.file_notation = Some(code.notation().to_string());
                    record.metadata.doc_ordinal = u32::try_from(ordinal).ok();
                    Ok(record)
                })
                .collect()
        }
    }
}
