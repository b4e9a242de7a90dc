//! The storage traits the office needs. `kyso-store` implements them on SQLite and
//! PostgreSQL; [`MemoryStore`](crate::MemoryStore) implements them in memory for tests.
//!
//! **Async, without a runtime.** Methods return `impl Future + Send`, so this crate
//! depends on no executor (L2 does no I/O) and the store is free to await a database.
//! Implementations must be `Send + Sync` so one store serves many tasks.
//!
//! **What must be atomic.** [`Store::insert`] and [`Store::transition`] take a number
//! (when given a [`Numbering`]) and write the document in **one transaction**: either
//! both happen or neither, so a number is never skipped (a crash before commit gives it
//! back) nor used twice (concurrent callers serialise on the series). With an original
//! ([`Store::Staged`]) the store also moves the staged bytes into the archive tree; how
//! it stays consistent across a crash is the implementation's protocol (kyso-store:
//! docs/ARCHITECTURE.md "Archive").

use std::future::Future;

use kyso_model::{AgencyId, DocumentType, SeriesKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::archive::{FileCode, RecordFile};
use crate::error::StoreError;
use crate::lifecycle::{DocState, Event};
use crate::policy::ElectronicPolicy;
use crate::record::{Direction, DocumentRecord, DuplicateKey};
use crate::register::Numbering;

/// A document to store, with the number to take for it, if any.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The record (`id` is ignored and assigned by the store).
    pub record: DocumentRecord,
    /// The number to take in the same transaction.
    pub numbering: Option<Numbering>,
    /// The history line recorded with it.
    pub note: String,
}

/// A state change, compare-and-set on the current state.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The document.
    pub id: i64,
    /// The state the caller saw.
    pub from: DocState,
    /// The new state.
    pub to: DocState,
    /// What happened.
    pub event: Event,
    /// A number to take in the same transaction (the arrival number on acceptance).
    pub numbering: Option<Numbering>,
    /// Reason or instruction, kept in the history.
    pub note: String,
    /// When (UTC).
    pub at: OffsetDateTime,
}

/// One line of a document's processing history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Event key (`register`, `accept`, …).
    pub event: String,
    /// State after it.
    pub state: String,
    /// Note.
    pub note: String,
}

/// Which documents to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentQuery {
    /// Owning agency.
    pub agency: Option<AgencyId>,
    /// Year.
    pub year: Option<u16>,
    /// Direction.
    pub direction: Option<Direction>,
    /// Type.
    pub document_type: Option<DocumentType>,
    /// Series (a register's entries).
    pub series: Option<SeriesKey>,
    /// Any of these states (empty: any state).
    pub states: Vec<crate::DocState>,
    /// At most this many, newest first (`None`: all, in register order — year, number,
    /// id).
    pub newest: Option<u32>,
}

/// Storage of the office: documents with their numbers and originals, policies, files.
pub trait Store: Send + Sync {
    /// An original written durably to a staging area, not yet a document (for
    /// kyso-store: a synced file under `archive/.staging`).
    type Staged: Send;

    /// Stores a new document; takes its number and moves its original into the archive
    /// in the same transaction. Returns the stored record (with `id`, numbers,
    /// `archive_dir`).
    fn insert(
        &self,
        document: NewDocument,
        original: Option<Self::Staged>,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send;

    /// Changes a document's state if it still is `transition.from`.
    fn transition(
        &self,
        transition: Transition,
    ) -> impl Future<Output = Result<DocumentRecord, StoreError>> + Send;

    /// A document by id.
    fn document(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<DocumentRecord>, StoreError>> + Send;

    /// Its history, oldest first.
    fn history(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// Documents matching `query`, by year, series number, then id.
    fn documents(
        &self,
        query: &DocumentQuery,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send;

    /// Documents with this (number, notation, issuer, year) key.
    fn duplicates(
        &self,
        key: &DuplicateKey,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send;

    /// A document of `agency` whose original has this SHA-256 (imports are idempotent).
    fn by_sha256(
        &self,
        agency: &AgencyId,
        sha256: &str,
    ) -> impl Future<Output = Result<Option<DocumentRecord>, StoreError>> + Send;

    /// The agency's electronic policy, if the administrator set one.
    fn policy(
        &self,
        agency: &AgencyId,
    ) -> impl Future<Output = Result<Option<ElectronicPolicy>, StoreError>> + Send;

    /// Sets the agency's electronic policy.
    fn set_policy(
        &self,
        agency: &AgencyId,
        policy: &ElectronicPolicy,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Opens a records file (fails with `Conflict` if the code exists).
    fn create_file(&self, file: &RecordFile)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A records file.
    fn record_file(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Option<RecordFile>, StoreError>> + Send;

    /// The files of an agency's year (the danh mục hồ sơ), by notation.
    fn record_files(
        &self,
        agency: &AgencyId,
        year: u16,
    ) -> impl Future<Output = Result<Vec<RecordFile>, StoreError>> + Send;

    /// Puts a document into a file (a document may be in several files without being
    /// copied); returns its ordinal in the file. Idempotent.
    fn file_document(
        &self,
        code: &FileCode,
        id: i64,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// The documents of a file, each with `metadata.file_code`, `doc_ordinal` set.
    fn file_documents(
        &self,
        code: &FileCode,
    ) -> impl Future<Output = Result<Vec<DocumentRecord>, StoreError>> + Send;
}
