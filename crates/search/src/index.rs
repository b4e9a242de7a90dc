//! The index: open, add, delete, commit, search, rebuild.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DateTime, DocAddress, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError, Term,
};
use time::Date;

use kyso_model::DocumentType;

use crate::analyzer::{self, VI, notation_exact, notation_key};
use crate::doc::{SearchDoc, iso_date};
use crate::error::{Result, SearchError};
use crate::facets::{FacetCollector, RawFacets};
use crate::query::{self, Query, Sort};
use crate::schema::{Fields, SCHEMA_VERSION, SUBJECT_REPEAT, agency_tag, type_tag, year_tag};

/// File next to tantivy's own files recording which kyso schema wrote the index.
const VERSION_FILE: &str = "kyso-search.version";
/// Maximum length of a body snippet, in bytes of text.
const SNIPPET_BYTES: usize = 240;

/// Tuning of an index. The defaults suit a 2-core machine.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Indexing threads (each builds its own segments).
    pub writer_threads: usize,
    /// Memory for indexing, shared by the threads (tantivy flushes a segment when a
    /// thread's share is full). Peak memory of an ingest is about this plus the reader.
    pub writer_heap_bytes: usize,
    /// Threads searching segments in parallel (1: in the calling thread).
    pub search_threads: usize,
    /// After [`Index::rebuild`], merge the index into at most this many segments (fewer
    /// segments: faster searches; merging a large index takes a while). `None`: leave it
    /// to tantivy's log merge policy.
    pub segments_after_rebuild: Option<usize>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        IndexOptions {
            writer_threads: cores.clamp(1, 4),
            writer_heap_bytes: 256 << 20,
            search_threads: cores.clamp(1, 8),
            segments_after_rebuild: Some(cores.clamp(1, 8)),
        }
    }
}

/// Phase of a rebuild, reported to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Documents are being added; `indexed` grows.
    Indexing,
    /// All documents are in; writing the last segments and committing.
    Committing,
    /// Merging segments (see [`IndexOptions::segments_after_rebuild`]).
    Merging,
    /// Finished; the new index is visible to searches.
    Done,
}

/// Progress of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    /// Documents added so far.
    pub indexed: u64,
    /// Documents expected, when the source knows (the iterator's exact size hint).
    pub total: Option<u64>,
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildStats {
    pub docs: u64,
    /// Time adding documents (indexing threads included, up to the commit).
    pub indexing: Duration,
    /// Time of the final commit.
    pub commit: Duration,
    /// Time merging segments afterwards.
    pub merge: Duration,
    /// Searchable segments at the end.
    pub segments: usize,
}

/// Search results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// Number of matching documents (all of them, not only the returned page).
    pub total: u64,
    pub hits: Vec<Hit>,
    /// Counts over all matching documents, when the query asked for them.
    pub facets: Option<Facets>,
}

/// One matching document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    /// Relevance score (BM25; comparable only within one query); `None` when sorted by
    /// date.
    pub score: Option<f32>,
    pub agency_id: String,
    pub year: u16,
    pub doc_type: String,
    pub number: u32,
    pub notation: String,
    #[serde(with = "iso_date")]
    pub issued_date: Date,
    pub issuer: String,
    /// The subject, with the query's words marked.
    pub subject: Highlighted,
    pub signer: String,
    pub path: String,
    /// The best passage of the full text with the query's words marked (`None` when the
    /// text has none of them, or snippets were not asked for).
    pub snippet: Option<Highlighted>,
}

/// Text with highlighted byte ranges (each on character boundaries, sorted, disjoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Highlighted {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

impl Highlighted {
    /// The text with each highlight wrapped in `open` … `close`.
    pub fn render(&self, open: &str, close: &str) -> String {
        self.render_with(open, close, |s| s.to_owned())
    }

    /// HTML: text escaped, highlights in `<b>`.
    pub fn to_html(&self) -> String {
        self.render_with("<b>", "</b>", |s| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        })
    }

    fn render_with(&self, open: &str, close: &str, escape: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut at = 0;
        for &(start, end) in &self.highlights {
            let (Some(before), Some(marked)) =
                (self.text.get(at..start), self.text.get(start..end))
            else {
                continue;
            };
            out.push_str(&escape(before));
            out.push_str(open);
            out.push_str(&escape(marked));
            out.push_str(close);
            at = end;
        }
        out.push_str(&escape(self.text.get(at..).unwrap_or("")));
        out
    }
}

/// Counts of matching documents by year, type and issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Newest year first.
    pub years: Vec<FacetCount<u16>>,
    /// Most frequent first.
    pub types: Vec<FacetCount<String>>,
    /// Most frequent first.
    pub issuers: Vec<FacetCount<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount<T> {
    pub value: T,
    pub count: u64,
}

impl Facets {
    fn from_raw(raw: RawFacets) -> Facets {
        let mut years: Vec<FacetCount<u16>> = raw
            .years
            .into_iter()
            .map(|(y, count)| FacetCount {
                value: u16::try_from(y).unwrap_or(u16::MAX),
                count,
            })
            .collect();
        years.sort_by_key(|y| std::cmp::Reverse(y.value));
        let by_count = |map: std::collections::HashMap<String, u64>| {
            let mut v: Vec<FacetCount<String>> = map
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v
        };
        Facets {
            years,
            types: by_count(raw.types),
            issuers: by_count(raw.issuers),
        }
    }
}

/// A search index of archive documents.
///
/// Cheap to share between threads (`&Index` is enough for every operation). Writes go
/// through one tantivy writer, created on the first write and holding the directory's
/// lock; a process that only searches never takes the lock, so `kyso search` works while
/// another process rebuilds.
pub struct Index {
    index: tantivy::Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    options: IndexOptions,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dir", &self.dir)
            .field("docs", &self.num_docs())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Opens the index in `dir`, creating the directory and an empty index if there is
    /// none. An index written with another schema gives [`SearchError::Incompatible`].
    pub fn open(dir: &Path) -> Result<Index> {
        Self::open_with(dir, IndexOptions::default())
    }

    /// [`open`](Self::open) with explicit options.
    pub fn open_with(dir: &Path, options: IndexOptions) -> Result<Index> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (schema, fields) = Fields::build();
        let directory = MmapDirectory::open(dir)?;
        let version_path = dir.join(VERSION_FILE);
        let index = if tantivy::Index::exists(&directory).map_err(TantivyError::from)? {
            let found = std::fs::read_to_string(&version_path)
                .unwrap_or_default()
                .trim()
                .to_owned();
            let index = tantivy::Index::open(directory)?;
            if found != SCHEMA_VERSION.to_string() || index.schema() != schema {
                return Err(SearchError::Incompatible {
                    dir: dir.to_owned(),
                    found: if found.is_empty() {
                        "unknown".into()
                    } else {
                        found
                    },
                    expected: SCHEMA_VERSION.to_string(),
                });
            }
            index
        } else {
            let index = tantivy::Index::create(directory, schema, Default::default())?;
            std::fs::write(&version_path, format!("{SCHEMA_VERSION}\n")).map_err(|source| {
                SearchError::Io {
                    path: version_path.clone(),
                    source,
                }
            })?;
            index
        };
        Self::finish_open(index, fields, options, Some(dir.to_owned()))
    }

    /// Deletes whatever index is in `dir` and creates an empty one (for a rebuild after
    /// [`SearchError::Incompatible`]). Refuses a directory that holds other files than an
    /// index's.
    pub fn recreate(dir: &Path, options: IndexOptions) -> Result<Index> {
        if dir.exists() {
            let entries = std::fs::read_dir(dir).map_err(|source| SearchError::Io {
                path: dir.to_owned(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| SearchError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = name == VERSION_FILE
                    || name == "meta.json"
                    || name == ".managed.json"
                    || name.ends_with(".lock")
                    || name.contains('.') && name.len() >= 32;
                if !ours {
                    return Err(SearchError::Io {
                        path: entry.path(),
                        source: std::io::Error::other(
                            "not a search index file; refusing to delete the directory",
                        ),
                    });
                }
            }
            std::fs::remove_dir_all(dir).map_err(|source| SearchError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        Self::open_with(dir, options)
    }

    /// An index in memory (tests, tools).
    pub fn create_in_ram() -> Result<Index> {
        let (schema, fields) = Fields::build();
        let index = tantivy::Index::create_in_ram(schema);
        Self::finish_open(index, fields, IndexOptions::default(), None)
    }

    fn finish_open(
        mut index: tantivy::Index,
        fields: Fields,
        options: IndexOptions,
        dir: Option<PathBuf>,
    ) -> Result<Index> {
        index.tokenizers().register(VI, analyzer::analyzer());
        if options.search_threads > 1 {
            index.set_multithread_executor(options.search_threads)?;
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Index {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            options,
            dir,
        })
    }

    /// The directory of the index (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Number of searchable documents (as of the last commit or reload).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of searchable segments.
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Bytes used by the index's files (0 in memory).
    pub fn size_on_disk(&self) -> u64 {
        let Some(dir) = &self.dir else { return 0 };
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Sees what other processes committed since this index was opened.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    fn lock_writer(&self) -> Result<MutexGuard<'_, Option<IndexWriter>>> {
        let mut guard = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            let threads = self.options.writer_threads.max(1);
            let per_thread = (self.options.writer_heap_bytes / threads).max(15 << 20);
            let options = IndexWriterOptions::builder()
                .num_worker_threads(threads)
                .memory_budget_per_thread(per_thread)
                .num_merge_threads(threads)
                .build();
            let writer = self
                .index
                .writer_with_options(options)
                .map_err(|e| match e {
                    TantivyError::LockFailure(err, _) => SearchError::Locked(err.to_string()),
                    other => SearchError::Engine(other),
                })?;
            *guard = Some(writer);
        }
        Ok(guard)
    }

    /// Adds a document, replacing any document with the same id. Visible to searches after
    /// [`commit`](Self::commit).
    pub fn add(&self, doc: &SearchDoc) -> Result<()> {
        let tdoc = self.to_tantivy(doc)?;
        let guard = self.lock_writer()?;
        let writer = guard.as_ref().ok_or_else(writer_gone)?;
        writer.delete_term(Term::from_field_text(self.fields.id, doc.id.trim()));
        writer.add_document(tdoc)?;
        Ok(())
    }

    /// Deletes the document with this id (nothing if there is none). Visible after
    /// [`commit`](Self::commit).
    pub fn delete(&self, id: &str) -> Result<()> {
        let guard = self.lock_writer()?;
        let writer = guard.as_ref().ok_or_else(writer_gone)?;
        writer.delete_term(Term::from_field_text(self.fields.id, id.trim()));
        Ok(())
    }

    /// Makes the adds and deletes so far durable and visible to searches.
    pub fn commit(&self) -> Result<()> {
        let mut guard = self.lock_writer()?;
        let writer = guard.as_mut().ok_or_else(writer_gone)?;
        writer.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    /// Discards the adds and deletes since the last commit.
    pub fn rollback(&self) -> Result<()> {
        let mut guard = self.lock_writer()?;
        let writer = guard.as_mut().ok_or_else(writer_gone)?;
        writer.rollback()?;
        Ok(())
    }

    /// Starts a rebuild: every document will be replaced by the ones added to the returned
    /// [`Rebuild`], atomically at [`Rebuild::finish`]. Until then searches see the old
    /// index; dropping the `Rebuild` without finishing keeps the old index. The rebuild owns
    /// the writer: other writes to the index fail with [`SearchError::Locked`] until it
    /// ends. `Rebuild` is `Send`, so an async caller can hold it across awaits.
    ///
    /// For callers whose documents come from an async source; otherwise use
    /// [`rebuild`](Self::rebuild).
    pub fn rebuilder(&self) -> Result<Rebuild<'_>> {
        let mut guard = self.lock_writer()?;
        let writer = guard.take().ok_or_else(writer_gone)?;
        drop(guard);
        let mut rebuild = Rebuild {
            index: self,
            writer: Some(writer),
            added: 0,
            started: Instant::now(),
        };
        rebuild.writer()?.delete_all_documents()?;
        Ok(rebuild)
    }

    /// Replaces the whole index by `docs` (see [`rebuilder`](Self::rebuilder)), calling
    /// `progress` every 1,000 documents and at each phase.
    pub fn rebuild<I>(&self, docs: I, progress: &mut dyn FnMut(Progress)) -> Result<RebuildStats>
    where
        I: IntoIterator<Item = SearchDoc>,
    {
        self.try_rebuild(
            docs.into_iter().map(Ok::<_, std::convert::Infallible>),
            progress,
        )
    }

    /// [`rebuild`](Self::rebuild) from a fallible source: the first error abandons the
    /// rebuild (the old index stays) and is returned as [`SearchError::Source`].
    pub fn try_rebuild<I, E>(
        &self,
        docs: I,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RebuildStats>
    where
        I: IntoIterator<Item = Result<SearchDoc, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let docs = docs.into_iter();
        let total = match docs.size_hint() {
            (low, Some(high)) if low == high => Some(low as u64),
            _ => None,
        };
        let mut rebuild = self.rebuilder()?;
        progress(Progress {
            phase: Phase::Indexing,
            indexed: 0,
            total,
        });
        for doc in docs {
            let doc = doc.map_err(|e| SearchError::Source(e.into()))?;
            rebuild.add(&doc)?;
            if rebuild.added % 1000 == 0 {
                progress(Progress {
                    phase: Phase::Indexing,
                    indexed: rebuild.added,
                    total,
                });
            }
        }
        rebuild.finish_with_progress(total, progress)
    }

    /// Merges the index into at most `max_segments` segments and waits for the merges.
    pub fn merge_segments(&self, max_segments: usize) -> Result<()> {
        let mut guard = self.lock_writer()?;
        // Let the merges the merge policy started finish first: merging a segment that a
        // background merge is consuming fails.
        if let Some(writer) = guard.take() {
            writer.wait_merging_threads()?;
        }
        drop(guard);
        let mut guard = self.lock_writer()?;
        if let Some(writer) = guard.as_ref() {
            writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        }
        let metas = self.index.searchable_segment_metas()?;
        let max_segments = max_segments.max(1);
        if metas.len() > max_segments {
            // Greedy: biggest first into the currently smallest group.
            let mut metas = metas;
            metas.sort_by_key(|m| std::cmp::Reverse(m.num_docs()));
            let mut groups: Vec<(u64, Vec<tantivy::index::SegmentId>)> =
                vec![(0, Vec::new()); max_segments];
            for meta in metas {
                if let Some(group) = groups.iter_mut().min_by_key(|g| g.0) {
                    group.0 += u64::from(meta.num_docs());
                    group.1.push(meta.id());
                }
            }
            let writer = guard.as_mut().ok_or_else(writer_gone)?;
            let futures: Vec<_> = groups
                .into_iter()
                .filter(|(_, ids)| ids.len() > 1)
                .map(|(_, ids)| writer.merge(&ids))
                .collect();
            for future in futures {
                future.wait()?;
            }
        }
        // Let merges the merge policy started finish, then start a fresh writer on demand.
        if let Some(writer) = guard.take() {
            writer.wait_merging_threads()?;
        }
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }

    fn to_tantivy(&self, doc: &SearchDoc) -> Result<TantivyDocument> {
        let f = &self.fields;
        let id = doc.id.trim();
        if id.is_empty() {
            return Err(SearchError::InvalidDocument("empty id".into()));
        }
        let nfc = |s: &str| analyzer::nfc(s).into_owned();
        let subject = nfc(&doc.subject);
        let issuer = nfc(&doc.issuer);
        let signer = nfc(&doc.signer);
        let notation = nfc(doc.notation.trim());
        let full_text = nfc(&doc.full_text);
        let doc_type = nfc(doc.doc_type.trim());
        let agency = doc.agency_id.trim();

        let mut t = TantivyDocument::default();
        t.add_text(f.id, id);
        t.add_text(f.agency_id, agency);
        t.add_u64(f.year, u64::from(doc.year));
        t.add_text(f.doc_type, &doc_type);
        t.add_u64(f.number, u64::from(doc.number));
        t.add_text(f.notation, &notation);
        if let Some(key) = notation_key(&notation) {
            t.add_text(f.notation_key, key);
        }
        if let Some(exact) = notation_exact(&notation) {
            t.add_text(f.notation_exact, exact);
        }
        let own_key = notation_key(&notation);
        let mut quoted = HashSet::new();
        for chunk in subject
            .split_whitespace()
            .chain(full_text.split_whitespace())
        {
            let chunk = chunk.trim_start_matches(['(', '[', '"', '“', '\'']);
            if chunk.contains('/')
                && chunk.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && let Some(key) = notation_key(chunk)
                && Some(&key) != own_key.as_ref()
                && quoted.len() < 256
            {
                quoted.insert(key);
            }
        }
        for key in quoted {
            t.add_text(f.refs, key);
        }
        t.add_date(f.issued_date, query::date_time(doc.issued_date));
        t.add_text(f.issuer, &issuer);
        t.add_text(f.issuer_facet, &issuer);
        t.add_text(f.subject, &subject);
        t.add_text(f.signer, &signer);
        t.add_text(f.path, &doc.path);
        for _ in 0..SUBJECT_REPEAT {
            t.add_text(f.all, &subject);
        }
        t.add_text(f.all, &notation);
        if let Some(name) = type_name(&doc_type) {
            t.add_text(f.all, name);
        }
        t.add_text(f.all, &issuer);
        t.add_text(f.all, &signer);
        t.add_text(f.all, agency);
        t.add_text(f.all, &full_text);
        t.add_text(f.tags, year_tag(doc.year));
        t.add_text(f.tags, type_tag(&doc_type));
        if !agency.is_empty() {
            t.add_text(f.tags, agency_tag(agency));
        }
        t.add_text(f.full_text, full_text);
        Ok(t)
    }

    /// Runs a search.
    pub fn search(&self, q: &Query) -> Result<Results> {
        let parsed = query::parse_text(&q.text);
        let tq = query::build(q, &parsed, &self.fields);
        let searcher = self.reader.searcher();
        let sort = if parsed.is_empty() && q.sort == Sort::Relevance {
            Sort::Newest
        } else {
            q.sort
        };
        // A ranked query made only of terms (words and year / type / agency filters) runs
        // as a block-max WAND top-k, which skips most matches; the total is then counted in
        // a second, unscored pass (cheap for term intersections). Any other query (phrases,
        // number look-ups, exclusions, issuer or date filters, date order) visits every
        // match anyway, so the hits, the total and the facets are collected in one pass.
        let prunable = sort == Sort::Relevance
            && parsed.phrases.is_empty()
            && parsed.notations.is_empty()
            && parsed.excluded.is_empty()
            && q.issuer.is_none()
            && q.date_from.is_none()
            && q.date_to.is_none();
        let top_docs = (q.limit > 0).then(|| TopDocs::with_limit(q.limit).and_offset(q.offset));
        let (top, total, raw): (Vec<ScoredAddress>, u64, Option<RawFacets>) = match sort {
            Sort::Relevance if prunable => {
                let top = match top_docs {
                    Some(t) => searcher.search(&*tq, &t.order_by_score())?,
                    None => Vec::new(),
                };
                let (total, raw) = if q.facets {
                    let raw = searcher.search(&*tq, &FacetCollector)?;
                    (raw.total, Some(raw))
                } else {
                    (searcher.search(&*tq, &Count)? as u64, None)
                };
                (
                    top.into_iter().map(|(s, a)| (Some(s), a)).collect(),
                    total,
                    raw,
                )
            }
            Sort::Relevance => {
                let (top, total, raw) = one_pass(
                    &searcher,
                    &*tq,
                    top_docs.map(|t| t.order_by_score()),
                    q.facets,
                )?;
                let top = top.unwrap_or_default();
                (
                    top.into_iter().map(|(s, a)| (Some(s), a)).collect(),
                    total,
                    raw,
                )
            }
            Sort::Newest | Sort::Oldest => {
                let order = if sort == Sort::Newest {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (top, total, raw) = one_pass(
                    &searcher,
                    &*tq,
                    top_docs.map(|t| t.order_by_fast_field::<DateTime>("issued_date", order)),
                    q.facets,
                )?;
                let top = top.unwrap_or_default();
                (
                    top.into_iter().map(|(_, a)| (None, a)).collect(),
                    total,
                    raw,
                )
            }
        };
        let facets = raw.map(Facets::from_raw);

        let words: HashSet<&str> = parsed.highlight_words().map(String::as_str).collect();
        let generator = if q.snippets && !words.is_empty() {
            let mut terms = BTreeMap::new();
            for w in &words {
                let df = searcher.doc_freq(&Term::from_field_text(self.fields.all, w))?;
                terms.insert((*w).to_owned(), 1.0 / (1.0 + df as f32));
            }
            Some(SnippetGenerator::new(
                terms,
                analyzer::analyzer(),
                self.fields.full_text,
                SNIPPET_BYTES,
            ))
        } else {
            None
        };

        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address)?;
            hits.push(self.hit(&stored, score, &words, generator.as_ref()));
        }
        Ok(Results {
            total,
            hits,
            facets,
        })
    }

    fn hit(
        &self,
        d: &TantivyDocument,
        score: Option<f32>,
        words: &HashSet<&str>,
        generator: Option<&SnippetGenerator>,
    ) -> Hit {
        let f = &self.fields;
        let text = |field| {
            d.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let number = |field| d.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let subject = text(f.subject);
        let snippet = generator.and_then(|g| {
            let body = d.get_first(f.full_text).and_then(|v| v.as_str())?;
            let snippet = g.snippet(body);
            if snippet.is_empty() {
                return None;
            }
            Some(Highlighted {
                text: snippet.fragment().to_owned(),
                highlights: snippet
                    .highlighted()
                    .iter()
                    .map(|r| (r.start, r.end))
                    .collect(),
            })
        });
        Hit {
            id: text(f.id),
            score,
            agency_id: text(f.agency_id),
            year: u16::try_from(number(f.year)).unwrap_or(0),
            doc_type: text(f.doc_type),
            number: u32::try_from(number(f.number)).unwrap_or(0),
            notation: text(f.notation),
            issued_date: d
                .get_first(f.issued_date)
                .and_then(|v| v.as_datetime())
                .map_or(Date::MIN, query::date_of),
            issuer: text(f.issuer),
            subject: highlight(&subject, words),
            signer: text(f.signer),
            path: text(f.path),
            snippet,
        }
    }
}

/// A hit's score (`None` when sorted by date) and address.
type ScoredAddress = (Option<f32>, DocAddress);

/// Collects the top hits (if any), the total and the facets (if asked) in one pass.
fn one_pass<C: Collector>(
    searcher: &Searcher,
    query: &dyn tantivy::query::Query,
    top: Option<C>,
    facets: bool,
) -> Result<(Option<C::Fruit>, u64, Option<RawFacets>)> {
    let (top, raw, count) = searcher.search(
        query,
        &(
            top,
            facets.then_some(FacetCollector),
            (!facets).then_some(Count),
        ),
    )?;
    let total = match &raw {
        Some(raw) => raw.total,
        None => count.unwrap_or(0) as u64,
    };
    Ok((top, total, raw))
}

/// Marks every word of `text` whose folded form is in `words`.
pub(crate) fn highlight(text: &str, words: &HashSet<&str>) -> Highlighted {
    use tantivy::tokenizer::TokenStream;
    let mut highlights = Vec::new();
    if !words.is_empty() {
        let mut analyzer = analyzer::analyzer();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            if words.contains(token.text.as_str()) {
                highlights.push((token.offset_from, token.offset_to));
            }
        }
    }
    Highlighted {
        text: text.to_owned(),
        highlights,
    }
}

/// The Vietnamese name of a type code, so that "quyết định" finds decisions.
fn type_name(code: &str) -> Option<&'static str> {
    if code == "CV" {
        return Some(DocumentType::CongVan.vietnamese_name());
    }
    DocumentType::iter()
        .find(|t| crate::doc::type_code(*t) == code)
        .map(DocumentType::vietnamese_name)
}

fn writer_gone() -> SearchError {
    SearchError::Engine(TantivyError::InternalError(
        "index writer unavailable".into(),
    ))
}

/// A rebuild in progress; see [`Index::rebuilder`].
pub struct Rebuild<'a> {
    index: &'a Index,
    writer: Option<IndexWriter>,
    added: u64,
    started: Instant,
}

impl std::fmt::Debug for Rebuild<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rebuild")
            .field("added", &self.added)
            .finish_non_exhaustive()
    }
}

impl Rebuild<'_> {
    fn writer(&mut self) -> Result<&mut IndexWriter> {
        self.writer.as_mut().ok_or_else(writer_gone)
    }

    /// Adds a document (ids are expected to be unique within a rebuild: no replacement
    /// check is made, which keeps bulk indexing fast).
    pub fn add(&mut self, doc: &SearchDoc) -> Result<()> {
        let tdoc = self.index.to_tantivy(doc)?;
        self.writer()?.add_document(tdoc)?;
        self.added += 1;
        Ok(())
    }

    /// Documents added so far.
    pub fn added(&self) -> u64 {
        self.added
    }

    /// Commits the new index (and merges it, see
    /// [`IndexOptions::segments_after_rebuild`]).
    pub fn finish(self) -> Result<RebuildStats> {
        let total = Some(self.added);
        self.finish_with_progress(total, &mut |_| {})
    }

    fn finish_with_progress(
        mut self,
        total: Option<u64>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RebuildStats> {
        let indexed = self.added;
        let report = |phase| Progress {
            phase,
            indexed,
            total,
        };
        progress(report(Phase::Committing));
        let commit_started = Instant::now();
        self.writer()?.commit()?;
        let indexing = commit_started.duration_since(self.started);
        let commit = commit_started.elapsed();
        let writer = self.writer.take();
        *self
            .index
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = writer;
        self.index.reader.reload()?;
        let merge_started = Instant::now();
        if let Some(max) = self.index.options.segments_after_rebuild {
            progress(report(Phase::Merging));
            self.index.merge_segments(max)?;
        }
        let merge = merge_started.elapsed();
        progress(report(Phase::Done));
        Ok(RebuildStats {
            docs: indexed,
            indexing,
            commit,
            merge,
            segments: self.index.segments(),
        })
    }
}

impl Drop for Rebuild<'_> {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            // Abandoned: forget the delete-all and the adds, and give the writer back.
            let _ = writer.rollback();
            *self
                .index
                .writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(writer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_highlights() {
        let h = Highlighted {
            text: "Quyết định <số> 12".into(),
            highlights: vec![(0, 7), (23, 25)],
        };
        assert_eq!(h.render("[", "]"), "[Quyết] định <số> [12]");
        assert_eq!(h.to_html(), "<b>Quyết</b> định &lt;số&gt; <b>12</b>");
    }

    #[test]
    fn subject_highlight_is_accent_insensitive() {
        let words: HashSet<&str> = ["quyet", "don"].into_iter().collect();
        let h = highlight("Quyết định về Đơn", &words);
        assert_eq!(h.render("[", "]"), "[Quyết] định về [Đơn]");
    }
}
