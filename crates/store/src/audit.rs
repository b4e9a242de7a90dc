//! The durable audit log: `kyso_audit` entries and signed tree heads in the database,
//! append-only.
//!
//! [`Archive::audit_append`] gives the entry its sequence number (the next position),
//! stores its canonical JSON exactly as hashed, extends the Merkle tree (kept as its
//! frontier, checked against the latest signed head: every stored leaf hash is read
//! again when this process has not seen the log before and every
//! `FULL_CHECK_EVERY` appends, otherwise only the leaves other processes appended)
//! and stores a tree head signed for the new size — all in one
//! transaction (SQLite `BEGIN IMMEDIATE`; PostgreSQL `LOCK TABLE audit_entry IN
//! EXCLUSIVE MODE`, which lets readers through). So concurrent appenders serialise, the
//! sequence has no gap or duplicate, and every committed entry is covered by a signed
//! head.
//!
//! The read functions return the stored text untouched ([`AuditRow`],
//! [`AuditHeadRow`]): a row that no longer parses is the verifier's finding to report,
//! not an error that would hide the rest of the log.

use std::collections::BTreeMap;

use kyso_audit::{
    Entry, Frontier, Hash, Outcome, TreeHead, leaf_hash, sign_tree_head, verify_tree_head,
};
use kyso_signer::Signer;
use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::{Archive, Backend, StoreError, backend_error};

/// The audit log as this process last verified it: the frontier of its Merkle tree
/// (what an append needs, O(log n)), checked against the latest signed head.
#[derive(Debug)]
pub(crate) struct Verified {
    frontier: Frontier,
    /// Appends made on it since every leaf was last read.
    appends: u32,
}

/// Every this many appends the whole log is read and checked again (between them an
/// append reads only the leaves other processes appended since, and checks the
/// extended tree against the latest signed head): a row altered in the database
/// outside kyso stops the log at the latest after that many more entries — and
/// `kyso audit verify` finds it at once.
const FULL_CHECK_EVERY: u32 = 1024;

/// The leaf hashes stored from position `from` on, in order.
async fn leaf_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    from: u64,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    let rows = sqlx::query(
        "SELECT position, leaf_hash FROM audit_entry WHERE position >= $1 ORDER BY position",
    )
    .bind(to_i64(from)?)
    .fetch_all(&mut **tx)
    .await
    .map_err(backend_error)?;
    rows.iter()
        .map(|row| {
            let position = to_u64(row.try_get::<i64, _>(0).map_err(backend_error)?)?;
            let hex_hash: String = row.try_get(1).map_err(backend_error)?;
            let hash: Hash = hex::decode(&hex_hash)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| corrupt(format!("audit entry {position}: malformed leaf hash")))?;
            Ok((position, hash))
        })
        .collect()
}

/// An event to append: everything of a [`kyso_audit::Entry`] but its sequence number
/// and time, which the store assigns under the log's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// Who (user name or certificate subject).
    pub actor: String,
    /// What (`sign`, `number`, `login`, …).
    pub action: String,
    /// On what (document id, device serial, user).
    pub object: String,
    /// Result.
    pub outcome: Outcome,
    /// Further facts.
    pub details: BTreeMap<String, String>,
}

/// One stored entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Insertion position (the entry's sequence number when appended).
    pub position: u64,
    /// The canonical JSON text that was hashed.
    pub json: String,
    /// Its leaf hash, hex, as stored.
    pub leaf_hash: String,
}

impl AuditRow {
    /// The entry, if the stored text still parses.
    pub fn entry(&self) -> Result<Entry, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

/// One stored signed tree head, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHeadRow {
    /// Row id (insertion order).
    pub id: i64,
    /// The size column.
    pub size: u64,
    /// The head's JSON.
    pub json: String,
}

impl AuditHeadRow {
    /// The head, if the stored text still parses.
    pub fn head(&self) -> Result<TreeHead, serde_json::Error> {
        serde_json::from_str(&self.json)
    }
}

const AUDIT_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The audit log's time format: RFC 3339 UTC with exactly six fractional digits, so
/// that text order is time order (the verifier compares head times as text).
pub fn audit_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(AUDIT_TIME)
        .unwrap_or_default()
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(corrupt)
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(corrupt)
}

impl Archive {
    /// Appends `draft` to the audit log at the current time and signs a tree head for
    /// the new size with `signer` (the installation's log key). Returns the entry and
    /// its head.
    pub async fn audit_append(
        &self,
        draft: AuditDraft,
        signer: &dyn Signer,
    ) -> Result<(Entry, TreeHead), StoreError> {
        self.audit_append_at(draft, signer, OffsetDateTime::now_utc())
            .await
    }

    /// [`Archive::audit_append`] at `at`. The time recorded is never earlier than the
    /// latest stored head's (a clock stepping back would otherwise make heads look out
    /// of order).
    pub async fn audit_append_at(
        &self,
        draft: AuditDraft,
        signer: &dyn Signer,
        at: OffsetDateTime,
    ) -> Result<(Entry, TreeHead), StoreError> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(backend_error)?;
        if self.backend == Backend::Postgres {
            // EXCLUSIVE conflicts with itself and with inserts, not with plain reads.
            sqlx::query("LOCK TABLE audit_entry IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        let latest =
            sqlx::query("SELECT head_json FROM audit_head ORDER BY size DESC, id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_error)?;
        // Never sign over a log that no longer matches its latest signed head: the
        // stored leaves must be exactly the ones that head covers (no row added,
        // removed or re-hashed since, no head removed), under the same key. Refusing
        // (fail closed) leaves the evidence for `kyso audit verify`.
        let tampered = |why: String| {
            StoreError::Corrupt(format!(
                "the audit log does not match its latest signed head ({why}); nothing more is \
                 recorded until it is examined with `kyso audit verify`"
            ))
        };
        let latest = match latest {
            None => None,
            Some(row) => {
                let json: String = row.try_get(0).map_err(backend_error)?;
                let head: TreeHead = serde_json::from_str(&json)
                    .map_err(|e| tampered(format!("unreadable head: {e}")))?;
                verify_tree_head(&head, signer.public_key())
                    .map_err(|e| tampered(format!("head of size {}: {e}", head.size)))?;
                Some(head)
            }
        };
        // What this process verified before (taken out: put back only once this append
        // is committed). Every FULL_CHECK_EVERY appends, and whenever the log is not an
        // extension of it, every stored leaf is read again.
        let cached = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .filter(|v| v.appends < FULL_CHECK_EVERY);
        // Extend what was verified with the leaves appended since (by another process),
        // or read the whole log.
        let (mut frontier, appends) = match cached {
            Some(v) if latest.as_ref().is_some_and(|h| h.size >= v.frontier.size()) => {
                (v.frontier, v.appends)
            }
            _ => (Frontier::default(), 0),
        };
        for (position, hash) in leaf_rows(&mut tx, frontier.size()).await? {
            if position != frontier.size() {
                return Err(tampered(format!(
                    "entry {position} where {} was expected",
                    frontier.size()
                )));
            }
            frontier.push(hash);
        }
        match &latest {
            None if frontier.size() == 0 => {}
            None => {
                return Err(tampered(format!("{} entries, no head", frontier.size())));
            }
            Some(head) => {
                if head.size != frontier.size() {
                    return Err(tampered(format!(
                        "the head covers {} entries, {} are stored",
                        head.size,
                        frontier.size()
                    )));
                }
                if head.root != hex::encode(frontier.root()) {
                    return Err(tampered("the entries no longer hash to its root".into()));
                }
            }
        }
        let next = frontier.size();
        let mut time = audit_time(at);
        if let Some(head) = latest
            && head.time > time
        {
            time = head.time;
        }
        let entry = Entry {
            seq: next,
            time,
            actor: draft.actor,
            action: draft.action,
            object: draft.object,
            outcome: draft.outcome,
            details: draft.details,
        };
        let bytes = entry.leaf_bytes();
        let json = String::from_utf8(bytes).map_err(corrupt)?;
        let leaf = leaf_hash(json.as_bytes());
        sqlx::query(
            "INSERT INTO audit_entry (position, entry_json, leaf_hash) VALUES ($1, $2, $3)",
        )
        .bind(to_i64(next)?)
        .bind(json)
        .bind(hex::encode(leaf))
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        frontier.push(leaf);
        let size = frontier.size();
        let head = sign_tree_head(signer, size, &frontier.root(), &entry.time)
            .map_err(|e| StoreError::Backend(format!("audit tree head: {e}")))?;
        sqlx::query("INSERT INTO audit_head (size, head_json) VALUES ($1, $2)")
            .bind(to_i64(size)?)
            .bind(serde_json::to_string(&head).map_err(corrupt)?)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        tx.commit().await.map_err(backend_error)?;
        *self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Verified {
            frontier,
            appends: appends + 1,
        });
        Ok((entry, head))
    }

    /// Stored entries in position order, from position `from`, at most `limit`.
    pub async fn audit_rows(
        &self,
        from: u64,
        limit: Option<u64>,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit.map(to_i64).transpose()?.unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT position, entry_json, leaf_hash FROM audit_entry \
             WHERE position >= $1 ORDER BY position LIMIT $2",
        )
        .bind(to_i64(from)?)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    position: to_u64(row.try_get(0).map_err(backend_error)?)?,
                    json: row.try_get(1).map_err(backend_error)?,
                    leaf_hash: row.try_get(2).map_err(backend_error)?,
                })
            })
            .collect()
    }

    /// Stored signed tree heads, smallest size first (insertion order among equals).
    pub async fn audit_head_rows(&self) -> Result<Vec<AuditHeadRow>, StoreError> {
        let rows = sqlx::query("SELECT id, size, head_json FROM audit_head ORDER BY size, id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(AuditHeadRow {
                    id: row.try_get(0).map_err(backend_error)?,
                    size: to_u64(row.try_get(1).map_err(backend_error)?)?,
                    json: row.try_get(2).map_err(backend_error)?,
                })
            })
            .collect()
    }
}
