//! What gets indexed: one [`SearchDoc`] per document of the archive.

use serde::{Deserialize, Serialize};
use time::Date;

use kyso_model::DocumentType;

/// One document as the search index sees it. Built by the caller from the source of truth
/// (the office store); the index keeps a copy of these fields only to answer searches.
///
/// Text may be in any Unicode normalisation form: it is NFC-normalised on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// Stable document identifier, unique in the index (e.g. the Decision 28 document id
    /// `000.00.00.H13,2026,12`). Adding a document with an id already present replaces it.
    pub id: String,
    /// Identifier of the issuing agency (`000.00.00.H13`), matched exactly.
    #[serde(default)]
    pub agency_id: String,
    /// Year of the register the document is numbered in.
    pub year: u16,
    /// Type code: the ND30 abbreviation (`QĐ`, `KH`, `TTr`…), `CV` for a Công văn; see
    /// [`type_code`]. Matched exactly (`HĐ` ≠ `HD`).
    pub doc_type: String,
    /// The number (`12` for `12/QĐ-UBND`).
    #[serde(default)]
    pub number: u32,
    /// Number and notation as printed, without `Số:` (`12/QĐ-UBND`).
    #[serde(default)]
    pub notation: String,
    /// Date of the document (ngày ban hành).
    #[serde(with = "iso_date")]
    pub issued_date: Date,
    /// Name of the issuing agency (`Ủy ban nhân dân thành phố Cần Thơ`).
    #[serde(default)]
    pub issuer: String,
    /// Summary (trích yếu).
    #[serde(default)]
    pub subject: String,
    /// Who signed (full name, optionally with the position).
    #[serde(default)]
    pub signer: String,
    /// Extracted full text of the document (may be empty).
    #[serde(default)]
    pub full_text: String,
    /// Where the original lives in the archive (opaque to the index, returned in hits).
    #[serde(default)]
    pub path: String,
}

/// The type code stored in [`SearchDoc::doc_type`]: the ND30 abbreviation, `CV` for a
/// Công văn, and the serde key (`thu_cong`) for a type without abbreviation.
pub fn type_code(doc_type: DocumentType) -> &'static str {
    match doc_type {
        DocumentType::CongVan => "CV",
        other => other.abbreviation().unwrap_or_else(|| other.key()),
    }
}

/// Reads what a user typed for a type into a [`type_code`]: an exact abbreviation (`QĐ`,
/// `HD`), then the same ignoring case (`qđ`, `ttr`), then the same ignoring accents when
/// that names one type only (`QD` → `QĐ`; `DA` stays `DA` because it is an abbreviation),
/// then a Vietnamese name (`quyết định`, `cong van`) or a key (`quyet_dinh`), and `CV`.
///
/// Returns `None` when nothing (or more than one type) matches.
pub fn resolve_type(input: &str) -> Option<&'static str> {
    let input = crate::analyzer::nfc(input.trim()).into_owned();
    if input.is_empty() {
        return None;
    }
    if input.eq_ignore_ascii_case("cv") {
        return Some("CV");
    }
    let codes = || DocumentType::iter().map(type_code);
    if let Some(code) = codes().find(|code| *code == input) {
        return Some(code);
    }
    let lower = input.to_lowercase();
    let mut by_case = codes().filter(|code| code.to_lowercase() == lower);
    if let (Some(code), None) = (by_case.next(), by_case.next()) {
        return Some(code);
    }
    let folded = kyso_model::fold(&input);
    let mut by_fold = codes().filter(|code| kyso_model::fold(code) == folded);
    if let (Some(code), None) = (by_fold.next(), by_fold.next()) {
        return Some(code);
    }
    DocumentType::from_vietnamese_name(&input)
        .or_else(|| DocumentType::from_key(&input))
        .map(type_code)
}

pub(crate) mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::format_description::FormatItem;
    use time::macros::format_description;

    pub(crate) const FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

    pub(crate) fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Date::parse(&text, FORMAT).map_err(serde::de::Error::custom)
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), iso_date::FORMAT).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(iso_date::FORMAT).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes() {
        assert_eq!(type_code(DocumentType::QuyetDinh), "QĐ");
        assert_eq!(type_code(DocumentType::CongVan), "CV");
        assert_eq!(type_code(DocumentType::ThuCong), "thu_cong");
    }

    #[test]
    fn resolves_typed_types() {
        assert_eq!(resolve_type("QĐ"), Some("QĐ"));
        assert_eq!(resolve_type("qđ"), Some("QĐ"));
        assert_eq!(resolve_type("QD"), Some("QĐ"));
        assert_eq!(resolve_type("HD"), Some("HD"));
        assert_eq!(resolve_type("HĐ"), Some("HĐ"));
        assert_eq!(resolve_type("hđ"), Some("HĐ"));
        assert_eq!(resolve_type("DA"), Some("DA"));
        assert_eq!(resolve_type("ĐA"), Some("ĐA"));
        assert_eq!(resolve_type("ttr"), Some("TTr"));
        assert_eq!(resolve_type("cv"), Some("CV"));
        assert_eq!(resolve_type("cong van"), Some("CV"));
        assert_eq!(resolve_type("Quyết định"), Some("QĐ"));
        assert_eq!(resolve_type("quyet_dinh"), Some("QĐ"));
        assert_eq!(resolve_type("XYZ"), None);
        assert_eq!(resolve_type(""), None);
    }

    #[test]
    fn serde_round_trip() {
        let doc = SearchDoc {
            id: "a".into(),
            agency_id: "000.00.00.H13".into(),
            year: 2026,
            doc_type: "QĐ".into(),
            number: 12,
            notation: "12/QĐ-UBND".into(),
            issued_date: time::macros::date!(2026 - 03 - 05),
            issuer: "Ủy ban nhân dân thành phố Cần Thơ".into(),
            subject: "Về việc bổ nhiệm".into(),
            signer: "Trần Văn Bình".into(),
            full_text: String::new(),
            path: String::new(),
        };
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.contains("\"issued_date\":\"2026-03-05\""));
        let back: SearchDoc = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
    }
}
