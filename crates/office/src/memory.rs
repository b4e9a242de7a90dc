//! An in-memory [`Store`], for tests of the office and of front ends. Everything sits
//! behind one mutex, so numbering is trivially serialised; it keeps no originals' bytes
//! beyond what it is given.

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, ready};
use std::sync::{Mutex, MutexGuard};

use kyso_model::{AgencyId, SeriesKey};
use time::OffsetDateTime;

use crate::archive::{FileCode, RecordFile, candidate_dir, document_dir};
use crate::error::StoreError;
use crate::policy::ElectronicPolicy;
use crate::record::{DocumentRecord, DuplicateKey};
use crate::store::{DocumentQuery, HistoryEntry, NewDocument, Store, Transition};

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    documents: BTreeMap<i64, DocumentRecord>,
    history: HashMap<i64, Vec<HistoryEntry>>,
    originals: HashMap<i64, Vec<u8>>,
    counters: HashMap<SeriesKey, u32>,
    policies: HashMap<AgencyId, ElectronicPolicy>,
    files: BTreeMap<FileCode, RecordFile>,
    file_documents: BTreeMap<FileCode, Vec<i64>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes given as the original of document `id`.
    pub fn original_bytes(&self, id: i64) -> Option<Vec<u8>> {
        self.lock().originals.get(&id).cloned()
    }
}

fn take_number(inner: &mut Inner, series: &SeriesKey) -> u32 {
    let counter = inner.counters.entry(series.clone()).or_insert(0);
    *counter += 1;
    *counter
}

impl Store for MemoryStore {
    type Staged = Vec<u8>;

    fn insert(
        &self,
        document: NewDocument,
        original: Option<Vec<u8>>,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send {
        let result = (|| {
            let mut inner = self.lock();
            let mut record = document.record;
            let id = inner.documents.keys().next_back().copied().unwrap_or(0) + 1;
            record.id = Some(id);
            if let Some(numbering) = &document.numbering {
                // Work on a copy: nothing changes unless everything succeeds.
                let mut counters = inner.counters.clone();
                let counter = counters.entry(numbering.series.clone()).or_insert(0);
                let number = *counter + 1;
                numbering
                    .apply(&mut record, number)
                    .map_err(|e| StoreError::Conflict(e.to_string()))?;
                take_number(&mut inner, &numbering.series);
            }
            if let Some(bytes) = original {
                let sha = record.original.as_ref().map(|o| o.document.sha256.clone());
                let base = document_dir(&record, sha.as_deref());
                let taken = |dir: &str| {
                    inner
                        .documents
                        .values()
                        .any(|d| d.archive_dir.as_deref() == Some(dir))
                };
                let dir = (1..)
                    .map(|n| candidate_dir(&base, n))
                    .find(|dir| !taken(dir))
                    .unwrap_or(base);
                record.archive_dir = Some(dir);
                inner.originals.insert(id, bytes);
            }
            inner.history.entry(id).or_default().push(HistoryEntry {
                at: record.created_at,
                event: "register".into(),
                state: record.state.key(),
                note: document.note.clone(),
            });
            inner.documents.insert(id, record.clone());
            Ok(record)
        })();
        ready(result)
    }

    fn transition(
        &self,
        t: Transition,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send {
        let result = (|| {
            let mut inner = self.lock();
            let mut record = inner
                .documents
                .get(&t.id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("document {}", t.id)))?;
            if record.state != t.from {
                return Err(StoreError::StateChanged {
                    id: t.id,
                    expected: t.from.key(),
                    found: record.state.key(),
                });
            }
            if let Some(numbering) = &t.numbering {
                let number = inner.counters.get(&numbering.series).copied().unwrap_or(0) + 1;
                numbering
                    .apply(&mut record, number)
                    .map_err(|e| StoreError::Conflict(e.to_string()))?;
                take_number(&mut inner, &numbering.series);
            }
            record.state = t.to;
            inner.history.entry(t.id).or_default().push(HistoryEntry {
                at: t.at,
                event: t.event.key().into(),
                state: t.to.key(),
                note: t.note,
            });
            inner.documents.insert(t.id, record.clone());
            Ok(record)
        })();
        ready(result)
    }

    fn document(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<DocumentRecord>, StoreError>> + Send {
        ready(Ok(self.lock().documents.get(&id).cloned()))
    }

    fn history(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send {
        ready(Ok(self
            .lock()
            .history
            .get(&id)
            .cloned()
            .unwrap_or_default()))
    }

    fn documents(
        &self,
        q: &DocumentQuery,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        let mut out: Vec<DocumentRecord> = self
            .lock()
            .documents
            .values()
            .filter(|d| q.agency.as_ref().is_none_or(|a| &d.agency == a))
            .filter(|d| q.year.is_none_or(|y| d.year == y))
            .filter(|d| q.direction.is_none_or(|x| d.direction == x))
            .filter(|d| q.document_type.is_none_or(|t| d.document_type == t))
            .filter(|d| {
                q.series
                    .as_ref()
                    .is_none_or(|s| d.series.as_ref() == Some(s))
            })
            .filter(|d| q.states.is_empty() || q.states.contains(&d.state))
            .cloned()
            .collect();
        match q.newest {
            Some(n) => {
                out.sort_by_key(|d| std::cmp::Reverse(d.id));
                out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
            }
            None => out.sort_by_key(|d| (d.year, d.series_number, d.id)),
        }
        ready(Ok(out))
    }

    fn duplicates(
        &self,
        key: &DuplicateKey,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        ready(Ok(self
            .lock()
            .documents
            .values()
            .filter(|d| d.duplicate_key().as_ref() == Some(key))
            .cloned()
            .collect()))
    }

    fn by_sha256(
        &self,
        agency: &AgencyId,
        sha256: &str,
    ) -> impl Future<Output = Result<Option<DocumentRecord>, StoreError>> + Send {
        ready(Ok(self
            .lock()
            .documents
            .values()
            .find(|d| {
                &d.agency == agency
                    && d.original
                        .as_ref()
                        .is_some_and(|o| o.document.sha256 == sha256)
            })
            .cloned()))
    }

    fn policy(
        &self,
        agency: &AgencyId,
    ) -> impl Future<Output = Result<Option<ElectronicPolicy>, StoreError>> + Send {
        ready(Ok(self.lock().policies.get(agency).cloned()))
    }

    fn set_policy(
        &self,
        agency: &AgencyId,
        policy: &ElectronicPolicy,
        _at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.lock().policies.insert(agency.clone(), policy.clone());
        ready(Ok(()))
    }

    fn create_file(
        &self,
        file: &RecordFile,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut inner = self.lock();
        let result = if inner.files.contains_key(&file.file_code) {
            Err(StoreError::Conflict(format!(
                "file {} exists",
                file.file_code
            )))
        } else {
            inner.files.insert(file.file_code.clone(), file.clone());
            Ok(())
        };
        ready(result)
    }

    fn record_file(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Option<RecordFile>, StoreError>> + Send {
        ready(Ok(self.lock().files.get(code).cloned()))
    }

    fn record_files(
        &self,
        agency: &AgencyId,
        year: u16,
    ) -> impl Future<Output = Result<Vec<RecordFile>, StoreError>> + Send {
        ready(Ok(self
            .lock()
            .files
            .values()
            .filter(|f| f.file_code.agency() == agency && f.file_code.year() == year)
            .cloned()
            .collect()))
    }

    fn file_document(
        &self,
        code: &FileCode,
        id: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send {
        let result = (|| {
            let mut inner = self.lock();
            if !inner.files.contains_key(code) {
                return Err(StoreError::NotFound(format!("file {code}")));
            }
            if !inner.documents.contains_key(&id) {
                return Err(StoreError::NotFound(format!("document {id}")));
            }
            let list = inner.file_documents.entry(code.clone()).or_default();
            let position = match list.iter().position(|d| *d == id) {
                Some(p) => p,
                None => {
                    list.push(id);
                    list.len() - 1
                }
            };
            u32::try_from(position + 1).map_err(|e| StoreError::Conflict(e.to_string()))
        })();
        ready(result)
    }

    fn file_documents(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send {
        let inner = self.lock();
        let out = inner
            .file_documents
            .get(code)
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .filter_map(|(i, id)| {
                        let mut d = inner.documents.get(id)?.clone();
                        d.metadata.file_code = Some(code.to_string());
                        d.metadata.file_catalog = Some(code.year());
                        d.metadata.file_notation = Some(code.notation().to_string());
                        d.metadata.doc_ordinal = u32::try_from(i + 1).ok();
                        Some(d)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ready(Ok(out))
    }
}
