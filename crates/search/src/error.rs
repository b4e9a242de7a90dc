use std::path::PathBuf;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The directory holds an index written by another version of kyso (or something that
    /// is not a kyso index). It is not migrated: rebuild it ([`crate::Index::recreate`],
    /// then [`crate::Index::rebuild`]; `kyso archive reindex` does both).
    #[error(
        "the search index in {dir} was written by another version (schema {found}, expected {expected}); rebuild it (kyso archive reindex)"
    )]
    Incompatible {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    /// Another process (or another `Index` in this one) is writing to the index.
    #[error("the search index is being written by another process (lock held): {0}")]
    Locked(String),
    /// A document the index cannot take (empty id).
    #[error("invalid document: {0}")]
    InvalidDocument(String),
    /// The source of documents failed during a rebuild; nothing was committed.
    #[error("reading documents for the rebuild failed: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("search index I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("search engine: {0}")]
    Engine(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;
