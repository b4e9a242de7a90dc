//! Errors of the clerk's office. A refusal by policy is its own variant carrying a
//! Vietnamese and an English message, so every front end can show both.

use std::fmt;

use serde::Serialize;

/// Why the office refused an operation on policy grounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Stable machine key (`secret_document`, `type_not_electronic`…).
    pub code: &'static str,
    /// Vietnamese message.
    pub vi: String,
    /// English message.
    pub en: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.vi, self.en)
    }
}

/// A storage failure, as reported by a [`Store`](crate::Store) implementation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule would be broken (an existing file code, a folder taken…).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A compare-and-set on a document's state lost a race.
    #[error("document {id} is {found}, not {expected} (changed concurrently)")]
    StateChanged {
        /// The document.
        id: i64,
        /// The state the caller expected.
        expected: String,
        /// The state found.
        found: String,
    },
    /// The database said no.
    #[error("database: {0}")]
    Backend(String),
    /// Files of the archive tree.
    #[error("archive files: {0}")]
    Io(String),
    /// Stored data does not read back (corruption or a newer schema).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

/// Errors of office operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfficeError {
    /// Refused by policy (secret documents, types not issued electronically).
    #[error("{0}")]
    Refused(Refusal),
    /// The lifecycle does not allow this event in this state.
    #[error(
        "không thể {event} khi văn bản đang ở trạng thái {state} / cannot {event} a document in state {state}"
    )]
    InvalidTransition {
        /// Current state key.
        state: String,
        /// Event key.
        event: String,
    },
    /// The request is incomplete or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<kyso_model::ModelError> for OfficeError {
    fn from(error: kyso_model::ModelError) -> Self {
        Self::Invalid(error.to_string())
    }
}
