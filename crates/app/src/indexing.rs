//! Keeping the search index up to date after documents are stored.
//!
//! The index is derived data (`kyso archive reindex` rebuilds it): updating it never
//! undoes or delays what the archive committed. In a short-lived process (the CLI) a
//! use case updates it before returning. In `kyso serve` ([`App::index_in_background`])
//! the records are queued and a background task writes them in batches — one tantivy
//! writer and one commit per batch instead of one per document, off the path of the
//! answer — and a search first writes what is still queued, so a user always finds
//! what was just filed. Within a process one writer works at a time (two filings at the
//! same moment no longer meet tantivy's directory lock).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kyso_office::DocumentRecord;

use crate::App;

/// The indexing state shared by the clones of an [`App`].
#[derive(Debug, Default)]
pub(crate) struct Indexer {
    /// Records waiting to be written (background mode).
    pending: Mutex<Vec<DocumentRecord>>,
    /// Held while this process writes to the index.
    writing: Mutex<()>,
    /// Background mode is on.
    background: AtomicBool,
    /// Wakes the background task.
    wake: tokio::sync::Notify,
}

/// How long the background task gathers records before writing a batch: at most one
/// commit a second, however fast documents arrive (each commit writes a segment that
/// tantivy later merges; at 100 documents/s, one commit per document was a third of a
/// receiving node's CPU). A search writes what is queued first, so a user never waits
/// for this.
const BATCH_DELAY: Duration = Duration::from_secs(1);

impl App {
    /// Adds documents to the search index after they are stored (recalled ones are
    /// taken out; secret documents are never indexed). A failure is reported on stderr
    /// and never undoes the archive.
    pub fn index_documents(&self, docs: &[DocumentRecord]) {
        let docs: Vec<DocumentRecord> = docs
            .iter()
            .filter(|d| !d.secrecy.is_secret())
            .cloned()
            .collect();
        if docs.is_empty() {
            return;
        }
        if self.indexer.background.load(Ordering::Acquire) {
            self.indexer
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(docs);
            self.indexer.wake.notify_one();
        } else {
            self.write_index(docs);
        }
    }

    /// From now on documents are indexed by a background task of the current tokio
    /// runtime (`kyso serve`).
    pub fn index_in_background(&self) {
        if self.indexer.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                app.indexer.wake.notified().await;
                tokio::time::sleep(BATCH_DELAY).await;
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || app.flush_index()).await;
            }
        });
    }

    /// Writes what is queued for the index now (blocking), after any batch being
    /// written: when it returns, everything queued before the call is committed. A
    /// search calls it first; `kyso serve` calls it when it stops. (The writer lock is
    /// taken before the queue: a search must not find the queue empty while the
    /// background task is still writing what it took from it.)
    pub fn flush_index(&self) {
        let _writing = self.writing();
        let docs = std::mem::take(
            &mut *self
                .indexer
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if !docs.is_empty() {
            self.write_locked(docs);
        }
    }

    /// This process's writer lock.
    fn writing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.indexer
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One writer, one commit for `docs`.
    fn write_index(&self, docs: Vec<DocumentRecord>) {
        let _writing = self.writing();
        self.write_locked(docs);
    }

    /// [`App::write_index`] with the writer lock held.
    fn write_locked(&self, docs: Vec<DocumentRecord>) {
        let result = (|| -> Result<(), kyso_search::SearchError> {
            // One indexing thread: a batch is small, and every thread writes its own
            // segment at each commit.
            let options = kyso_search::IndexOptions {
                writer_threads: 1,
                writer_heap_bytes: 64 << 20,
                ..kyso_search::IndexOptions::default()
            };
            let index = kyso_search::Index::open_with(&self.index_dir(), options)?;
            for d in &docs {
                match self.search_doc(d) {
                    Some(doc) => index.add(&doc)?,
                    None => {
                        if let Some(id) = d.id {
                            index.delete(&id.to_string())?;
                        }
                    }
                }
            }
            index.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!(
                "kyso: lưu ý / note: search index not updated ({e}); run `kyso archive reindex`"
            );
        }
    }
}
