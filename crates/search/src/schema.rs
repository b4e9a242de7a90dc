//! The tantivy schema. Changing it changes [`SCHEMA_VERSION`]; an index written with another
//! version is rebuilt, never migrated (the index is not the source of truth).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};

use crate::analyzer::VI;

/// Bumped whenever the schema, the analyzer or what goes into a field changes.
pub(crate) const SCHEMA_VERSION: u32 = 3;

/// How many times the subject is repeated in the `all` field. Repeating the title is how a
/// subject match outranks a body-only match while every text query stays a plain
/// intersection of term postings (which tantivy evaluates with block-max WAND).
pub(crate) const SUBJECT_REPEAT: usize = 2;

/// Handles of every field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Stable id (raw, stored): the delete key.
    pub(crate) id: Field,
    pub(crate) agency_id: Field,
    /// Register year (u64 indexed, fast, stored): facets and range filters.
    pub(crate) year: Field,
    /// Type code (raw, fast, stored): facets.
    pub(crate) doc_type: Field,
    pub(crate) number: Field,
    /// Notation as printed (stored).
    pub(crate) notation: Field,
    /// Folded notation key (`12/qd-ubnd`): number look-ups.
    pub(crate) notation_key: Field,
    /// Exact notation key (`12/QĐ-UBND`): ranks the exactly typed abbreviation first.
    pub(crate) notation_exact: Field,
    /// Folded keys of the numbers and notations the subject and text quote (`Căn cứ văn
    /// bản số 12/QĐ-UBND …`): a number look-up also finds the documents citing it with one
    /// term look-up instead of a phrase query.
    pub(crate) refs: Field,
    /// Issue date as days since 1970-01-01 (`query::date_time`; tantivy's nanosecond
    /// dates stop in 2262).
    pub(crate) issued_date: Field,
    /// Issuer name (analyzed, positions, stored): issuer filter by phrase.
    pub(crate) issuer: Field,
    /// Issuer name (raw, fast): facets.
    pub(crate) issuer_facet: Field,
    /// Subject (stored; indexed through `all`, highlighted by re-analysing it).
    pub(crate) subject: Field,
    pub(crate) signer: Field,
    /// Full text (stored only; indexed through `all`): snippets.
    pub(crate) full_text: Field,
    pub(crate) path: Field,
    /// Everything searchable, analyzed with positions: subject (repeated), notation,
    /// type name, issuer, signer, agency id, full text.
    pub(crate) all: Field,
    /// Filter tokens with frequencies (`y:2026`, `t:QĐ`, `a:000.00.00.H13`): filters
    /// stay term queries, so filtered text queries remain block-max WAND intersections.
    pub(crate) tags: Field,
}

impl Fields {
    pub(crate) fn build() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let analyzed = || {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(VI)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let tags = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            agency_id: b.add_text_field("agency_id", STRING | STORED),
            year: b.add_u64_field("year", INDEXED | FAST | STORED),
            doc_type: b.add_text_field("doc_type", STRING | FAST | STORED),
            number: b.add_u64_field("number", STORED),
            notation: b.add_text_field("notation", STORED),
            notation_key: b.add_text_field("notation_key", STRING),
            notation_exact: b.add_text_field("notation_exact", STRING),
            refs: b.add_text_field("refs", STRING),
            issued_date: b.add_date_field(
                "issued_date",
                DateOptions::from(INDEXED)
                    .set_fast()
                    .set_stored()
                    .set_precision(DateTimePrecision::Seconds),
            ),
            issuer: b.add_text_field("issuer", analyzed().set_stored()),
            issuer_facet: b.add_text_field("issuer_facet", STRING | FAST),
            subject: b.add_text_field("subject", STORED),
            signer: b.add_text_field("signer", STORED),
            full_text: b.add_text_field("full_text", STORED),
            path: b.add_text_field("path", STORED),
            all: b.add_text_field("all", analyzed()),
            tags: b.add_text_field("tags", tags),
        };
        (b.build(), fields)
    }
}

pub(crate) fn year_tag(year: u16) -> String {
    format!("y:{year}")
}

pub(crate) fn type_tag(code: &str) -> String {
    format!("t:{code}")
}

pub(crate) fn agency_tag(agency: &str) -> String {
    format!("a:{agency}")
}
