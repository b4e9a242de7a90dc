//! Search requests and how the text a user typed becomes a tantivy query.

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query as TQuery,
    RangeQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Term};
use time::Date;

use crate::analyzer::{self, notation_exact, notation_key};
use crate::schema::{Fields, agency_tag, type_tag, year_tag};

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (BM25; a subject match outranks a body-only match; an exact
    /// number look-up comes first). Without query text: newest first.
    #[default]
    Relevance,
    /// Newest document date first.
    Newest,
    /// Oldest document date first.
    Oldest,
}

/// A search request. Every part is optional; the parts combine with AND.
///
/// `text` is what a user types, accents and case optional:
/// - words must all occur, in any field (subject, notation, type name, issuer, signer,
///   agency id, full text): `quyet dinh bo nhiem`;
/// - `"…"` is a phrase: `"kế hoạch phát triển"`;
/// - a number and notation (`12/QĐ-UBND`, `12/QD-UBND`, `số 12/QĐ-UBND`) finds the document
///   with that number (the exact abbreviation first), then documents quoting it;
/// - `-word` excludes documents containing the word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Text as typed (see above). Empty: every document passing the filters.
    pub text: String,
    /// Register year.
    pub year: Option<u16>,
    /// Type code, exact (`QĐ`, `CV`); use [`crate::resolve_type`] on user input.
    pub doc_type: Option<String>,
    /// Issuing agency name, accent-insensitive phrase (`so noi vu`).
    pub issuer: Option<String>,
    /// Issuing agency identifier, exact.
    pub agency_id: Option<String>,
    /// Documents dated on or after this day.
    #[serde(with = "opt_date")]
    pub date_from: Option<Date>,
    /// Documents dated on or before this day.
    #[serde(with = "opt_date")]
    pub date_to: Option<Date>,
    pub sort: Sort,
    /// Hits to return (0: only count and facets).
    pub limit: usize,
    /// Hits to skip (paging).
    pub offset: usize,
    /// Compute year / type / issuer counts over all matching documents (costs one more
    /// pass over the matches).
    pub facets: bool,
    /// Compute highlighted snippets for the returned hits.
    pub snippets: bool,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            text: String::new(),
            year: None,
            doc_type: None,
            issuer: None,
            agency_id: None,
            date_from: None,
            date_to: None,
            sort: Sort::Relevance,
            limit: 20,
            offset: 0,
            facets: true,
            snippets: true,
        }
    }
}

impl Query {
    /// A query for `text` with the defaults (20 hits, facets and snippets on).
    pub fn text(text: impl Into<String>) -> Self {
        Query {
            text: text.into(),
            ..Query::default()
        }
    }
}

mod opt_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(crate) fn serialize<S: Serializer>(
        date: &Option<Date>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => crate::doc::iso_date::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|t| crate::doc::parse_date(&t).ok_or_else(|| serde::de::Error::custom("date")))
            .transpose()
    }
}

/// The text of a query, read into its parts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedText {
    /// Folded words that must all occur.
    pub(crate) words: Vec<String>,
    /// Folded phrases (two words or more).
    pub(crate) phrases: Vec<Vec<String>>,
    /// Number look-ups: (folded key, exact key, words of the notation).
    pub(crate) notations: Vec<(String, String, Vec<String>)>,
    /// Folded words or phrases that must not occur.
    pub(crate) excluded: Vec<Vec<String>>,
}

impl ParsedText {
    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty() && self.notations.is_empty()
    }

    /// Every folded word to highlight.
    pub(crate) fn highlight_words(&self) -> impl Iterator<Item = &String> {
        self.words
            .iter()
            .chain(self.phrases.iter().flatten())
            .chain(self.notations.iter().flat_map(|(_, _, w)| w))
    }
}

pub(crate) fn parse_text(text: &str) -> ParsedText {
    let text = analyzer::nfc(text);
    let mut parsed = ParsedText::default();
    let mut chunks: Vec<(bool, &str)> = Vec::new(); // (quoted, text)
    let mut rest: &str = &text;
    while !rest.is_empty() {
        if let Some(after_quote) = rest.strip_prefix(['"', '“', '”']) {
            let end = after_quote
                .find(['"', '“', '”'])
                .unwrap_or(after_quote.len());
            chunks.push((true, &after_quote[..end]));
            rest = after_quote.get(end..).unwrap_or("");
            rest = rest
                .strip_prefix(['"', '“', '”'])
                .unwrap_or(rest)
                .trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '“' | '”'))
            .unwrap_or(rest.len());
        if end > 0 {
            chunks.push((false, &rest[..end]));
        }
        rest = rest[end..].trim_start();
    }
    let mut i = 0;
    while i < chunks.len() {
        let (quoted, chunk) = chunks[i];
        i += 1;
        let words = analyzer::words(chunk);
        // `-"a phrase"`: the quote follows a lone dash.
        if !quoted && chunk == "-" {
            if let Some(&(true, phrase)) = chunks.get(i) {
                i += 1;
                let words = analyzer::words(phrase);
                if !words.is_empty() {
                    parsed.excluded.push(words);
                }
            }
            continue;
        }
        if quoted {
            match words.len() {
                0 => {}
                1 => parsed.words.extend(words),
                _ => parsed.phrases.push(words),
            }
            continue;
        }
        // "số" / "so" / "số:" right before a number and notation is part of it.
        if words == ["so"]
            && !chunk.contains(|c: char| c.is_ascii_digit())
            && matches!(chunks.get(i), Some(&(false, next)) if notation_key(next).is_some())
        {
            continue;
        }
        if let (Some(key), Some(exact)) = (notation_key(chunk), notation_exact(chunk)) {
            let key_words = analyzer::words(analyzer::strip_so_prefix(chunk));
            parsed.notations.push((key, exact, key_words));
            continue;
        }
        if let Some(excluded) = chunk.strip_prefix('-').filter(|c| !c.is_empty()) {
            let words = analyzer::words(excluded);
            if !words.is_empty() {
                parsed.excluded.push(words);
            }
            continue;
        }
        parsed.words.extend(words);
    }
    let mut seen = std::collections::HashSet::new();
    parsed.words.retain(|w| seen.insert(w.clone()));
    parsed
}

fn term_query(field: tantivy::schema::Field, text: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn phrase_or_term(field: tantivy::schema::Field, words: &[String]) -> Option<Box<dyn TQuery>> {
    match words {
        [] => None,
        [one] => Some(term_query(field, one)),
        many => Some(Box::new(PhraseQuery::new(
            many.iter()
                .map(|w| Term::from_field_text(field, w))
                .collect(),
        ))),
    }
}

/// The value of a date in the `issued_date` field: whole days since 1970-01-01 carried as
/// seconds. tantivy keeps a date as nanoseconds in an `i64`, which ends in April 2262; a
/// day count keeps the order and every date up to 9999-12-31 (read back by [`date_of`]).
pub(crate) fn date_time(date: Date) -> DateTime {
    DateTime::from_timestamp_secs(i64::from(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY))
}

/// The date [`date_time`] encoded.
pub(crate) fn date_of(value: DateTime) -> Date {
    i32::try_from(value.into_timestamp_secs())
        .ok()
        .and_then(|days| days.checked_add(UNIX_EPOCH_JULIAN_DAY))
        .and_then(|day| Date::from_julian_day(day).ok())
        .unwrap_or(Date::MIN)
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Builds the tantivy query. Text words and the year / type / agency filters are plain
/// term queries joined by AND, so tantivy runs them as a block-max WAND intersection.
pub(crate) fn build(query: &Query, parsed: &ParsedText, f: &Fields) -> Box<dyn TQuery> {
    let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
    for word in &parsed.words {
        clauses.push((Occur::Must, term_query(f.all, word)));
    }
    for phrase in &parsed.phrases {
        if let Some(q) = phrase_or_term(f.all, phrase) {
            clauses.push((Occur::Must, q));
        }
    }
    for (key, exact, _words) in &parsed.notations {
        let mut alternatives: Vec<(Occur, Box<dyn TQuery>)> = vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(term_query(f.notation_exact, exact), 20.0)),
            ),
            (
                Occur::Should,
                Box::new(BoostQuery::new(term_query(f.notation_key, key), 10.0)),
            ),
        ];
        alternatives.push((Occur::Should, term_query(f.refs, key)));
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    for excluded in &parsed.excluded {
        if let Some(q) = phrase_or_term(f.all, excluded) {
            clauses.push((Occur::MustNot, q));
        }
    }
    if let Some(year) = query.year {
        clauses.push((Occur::Must, term_query(f.tags, &year_tag(year))));
    }
    if let Some(code) = &query.doc_type {
        clauses.push((Occur::Must, term_query(f.tags, &type_tag(code))));
    }
    if let Some(agency) = &query.agency_id {
        clauses.push((Occur::Must, term_query(f.tags, &agency_tag(agency.trim()))));
    }
    if let Some(issuer) = &query.issuer {
        let words = analyzer::words(issuer);
        if let Some(q) = phrase_or_term(f.issuer, &words) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
        }
    }
    if query.date_from.is_some() || query.date_to.is_some() {
        let bound = |d: Option<Date>| match d {
            Some(d) => Bound::Included(Term::from_field_date_for_search(
                f.issued_date,
                date_time(d),
            )),
            None => Bound::Unbounded,
        };
        let range = RangeQuery::new(bound(query.date_from), bound(query.date_to));
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
        ));
    }
    let has_positive = clauses.iter().any(|(occur, _)| *occur == Occur::Must);
    if !has_positive {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    if clauses.len() == 1 && clauses[0].0 == Occur::Must {
        // A lone term query keeps tantivy's single-term block-max WAND path.
        if let Some((_, q)) = clauses.pop() {
            return q;
        }
    }
    Box::new(BooleanQuery::new(clauses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn parses_words_phrases_notations() {
        let p = parse_text("Quyết định \"kế hoạch phát triển\" số 12/QĐ-UBND -nháp bổ nhiệm");
        assert_eq!(p.words, s(&["quyet", "dinh", "bo", "nhiem"]));
        assert_eq!(p.phrases, vec![s(&["ke", "hoach", "phat", "trien"])]);
        assert_eq!(
            p.notations,
            vec![(
                "12/qd-ubnd".to_owned(),
                "12/QĐ-UBND".to_owned(),
                s(&["12", "qd", "ubnd"])
            )]
        );
        assert_eq!(p.excluded, vec![s(&["nhap"])]);
        let p = parse_text("chuyển đổi số -\"cải cách\"");
        assert_eq!(p.excluded, vec![s(&["cai", "cach"])]);
        assert_eq!(p.words, s(&["chuyen", "doi", "so"]));
    }

    #[test]
    fn so_prefix_forms() {
        for text in [
            "số 12/QĐ-UBND",
            "Số: 12/QĐ-UBND",
            "so 12/QD-UBND",
            "12/qd-ubnd",
        ] {
            let p = parse_text(text);
            assert!(p.words.is_empty(), "{text}: {p:?}");
            assert_eq!(p.notations.len(), 1, "{text}");
            assert_eq!(p.notations[0].0, "12/qd-ubnd");
        }
        // "số" alone is a word.
        assert_eq!(parse_text("sổ tay").words, s(&["so", "tay"]));
    }

    #[test]
    fn unterminated_quote_and_empty() {
        assert_eq!(parse_text("\"ủy ban").phrases, vec![s(&["uy", "ban"])]);
        assert!(parse_text("  ").is_empty());
        assert!(parse_text("\"\"").is_empty());
        assert_eq!(parse_text("ban ban Ban").words, s(&["ban"]));
    }
}
