//! Accent-insensitive full-text search over the archive (L3 adapter, tantivy).
//!
//! The index is **never the source of truth**: the office store owns the documents and
//! their metadata; this crate keeps a derived copy that can be deleted at any time and
//! rebuilt with [`Index::rebuild`] (`kyso archive reindex`). An index written by another
//! version of the schema is refused ([`SearchError::Incompatible`]) and rebuilt, never
//! migrated.
//!
//! ```
//! use kyso_search::{Index, Query, SearchDoc};
//!
//! let index = Index::create_in_ram()?;
//! index.add(&SearchDoc {
//!     id: "000.00.00.H13,2026,12".into(),
//!     agency_id: "000.00.00.H13".into(),
//!     year: 2026,
//!     doc_type: "QĐ".into(),
//!     number: 12,
//!     notation: "12/QĐ-UBND".into(),
//!     issued_date: time::macros::date!(2026 - 03 - 05),
//!     issuer: "Ủy ban nhân dân thành phố Cần Thơ".into(),
//!     subject: "Về việc bổ nhiệm Phó Giám đốc Sở Nội vụ".into(),
//!     signer: "Trần Văn Bình".into(),
//!     full_text: "QUYẾT ĐỊNH Về việc bổ nhiệm …".into(),
//!     path: "2026/QĐ/12.pdf".into(),
//! })?;
//! index.commit()?;
//!
//! // Accents and case are optional; a number finds its document.
//! for text in ["quyet dinh bo nhiem", "can tho", "so 12/QD-UBND"] {
//!     let results = index.search(&Query::text(text))?;
//!     assert_eq!(results.hits[0].notation, "12/QĐ-UBND");
//! }
//! let hit = &index.search(&Query::text("bổ nhiệm"))?.hits[0];
//! assert_eq!(hit.subject.render("[", "]"), "Về việc [bổ] [nhiệm] Phó Giám đốc Sở Nội vụ");
//! # Ok::<(), kyso_search::SearchError>(())
//! ```
//!
//! # How text is matched
//!
//! Indexed text and query text go through the same analysis: NFC, then words (runs of
//! letters, digits and combining marks), each folded exactly like [`kyso_model::fold`]
//! (lowercase, no tone or vowel marks, `đ` → `d`). So `quyet dinh`, `Quyết Định` and
//! `QUYẾT ĐỊNH` are the same query, and `don` finds `Đơn`. Accent-insensitive matching
//! means `ban` also finds `bán` and `bàn`: ranking, phrases and filters narrow it down.
//!
//! All metadata is searchable: a word may occur in the subject, the notation, the type
//! name (`quyết định` finds every QĐ), the issuer, the signer, the agency id or the full
//! text; all words of the query must occur (AND). See [`Query`] for phrases, number
//! look-ups and exclusions. Ranking is BM25 over one combined field in which the subject
//! counts twice, so a subject match outranks a body-only match; filters do not change the
//! order.
//!
//! # Fields
//!
//! | [`SearchDoc`] field | searched as | filter / facet / sort |
//! |---|---|---|
//! | `id` | – (exact key for replace / delete) | – |
//! | `agency_id` | words | [`Query::agency_id`] exact |
//! | `year` | – | [`Query::year`], year facet |
//! | `doc_type` (`QĐ`, `CV`…) | its Vietnamese name | [`Query::doc_type`] exact, type facet |
//! | `notation` | words, and exact number look-up (`12/QĐ-UBND` = `12/QD-UBND` = `số 12/QĐ-UBND`); numbers cited in the subject or text find the citing documents too | – |
//! | `issued_date` | – | [`Query::date_from`] / [`Query::date_to`], [`Sort::Newest`] |
//! | `issuer` | words | [`Query::issuer`] (accent-insensitive phrase), issuer facet |
//! | `subject` | words ×2, highlighted in hits | – |
//! | `signer`, `full_text` | words; the full text gives the snippet | – |
//! | `path` | – (returned) | – |
//!
//! # Performance
//!
//! Text words and the year / type / agency filters are term queries joined by AND, which
//! tantivy evaluates as a block-max WAND intersection: a ranked top-20 does not score
//! every match; the total (and the facets, when asked for) are then counted in a second,
//! unscored pass. Queries that must visit every match anyway (phrases, number look-ups,
//! exclusions, issuer or date filters, date order) collect hits, total and facets in one
//! pass. See `docs/search-benchmark.md` for figures on one million documents (p95 7.7 ms
//! for a common-term top-20, 366× faster than SQLite FTS5) and what is slower (phrases).

mod analyzer;
pub mod corpus;
mod doc;
mod error;
mod facets;
mod index;
mod query;
mod schema;

pub use analyzer::{nfc, notation_exact, notation_key, words};
pub use doc::{SearchDoc, format_date, parse_date, resolve_type, type_code};
pub use error::{Result, SearchError};
pub use index::{
    FacetCount, Facets, Highlighted, Hit, Index, IndexOptions, Phase, Progress, Rebuild,
    RebuildStats, Results,
};
pub use query::{Query, Sort};
