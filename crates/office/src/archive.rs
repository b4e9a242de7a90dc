//! Archive classification: where an original lives in the archive tree, and the
//! records files (hồ sơ) and the yearly file list (danh mục hồ sơ, spec §13).
//!
//! The tree (DESIGN "Archive layout"), one per agency, readable without kyso:
//!
//! ```text
//! <OrganId>/<year>/<type folder>/<number>-<notation>/
//!     document.pdf          the original, byte-exact (document.<ext> + document.<ext>.p7s
//!                           for other files signed with a detached CAdES signature)
//!     metadata.json         ND30 App. VI fields
//!     verification.json     the verification report made when it was archived
//! ```
//!
//! - **Type folder**: the ND30 abbreviation (`QĐ`, `TTr`, `SY`), `CV` for Công văn, and
//!   for Thư công (no abbreviation) its ASCII key `thu_cong`.
//! - **Document folder**: `<number>-<notation>` with the number as written (`05`) and the
//!   notation (`QĐ-UBND`) made file-system safe by [`safe_segment`]: `/` `\` `:` `*` `?`
//!   `"` `<` `>` `|`, whitespace and control characters become `_`, a leading `.` becomes
//!   `_`, text is NFC and at most 100 characters. So `05/QĐ-UBND` is `05-QĐ-UBND` and
//!   the normative `30/2020/NĐ-CP` is `30-2020_NĐ-CP`. Incoming documents use the
//!   sender's number and notation. A document without a number (an import whose first
//!   page could not be read) uses `khong-so-<first 12 hex digits of its SHA-256>`. When
//!   two documents would share a folder (same number and notation from two issuers), the
//!   second gets `~2`, the third `~3`, … (chosen by the store inside the transaction).
//! - **Secret documents** have no folder: they are registered as metadata only.

use std::fmt;

use kyso_model::{AgencyId, DocumentType};
use serde::{Deserialize, Serialize};
use time::Date;
use unicode_normalization::UnicodeNormalization;

use crate::error::OfficeError;
use crate::record::DocumentRecord;

/// Longest document-folder name, in characters (before a `~N` suffix).
pub const MAX_SEGMENT_CHARS: usize = 100;

/// The type folder: abbreviation, `CV` for Công văn, the key for types without one.
pub fn type_folder(document_type: DocumentType) -> String {
    match (document_type, document_type.abbreviation()) {
        (DocumentType::CongVan, _) => "CV".to_string(),
        (_, Some(abbreviation)) => abbreviation.to_string(),
        (other, None) => other.key().to_string(),
    }
}

/// Maps text to one file-system-safe path segment (see the module docs).
pub fn safe_segment(text: &str) -> String {
    let mut out: String = text
        .nfc()
        .map(|c| {
            if c.is_control()
                || c.is_whitespace()
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            {
                '_'
            } else {
                c
            }
        })
        .take(MAX_SEGMENT_CHARS)
        .collect();
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The document folder name (without a collision suffix).
pub fn document_folder(record: &DocumentRecord, sha256: Option<&str>) -> String {
    let m = &record.metadata;
    match (&m.code_number, &m.code_notation) {
        (Some(number), Some(notation)) => safe_segment(&format!("{number}-{notation}")),
        (Some(number), None) => safe_segment(number),
        _ => format!(
            "khong-so-{}",
            sha256.map(|s| &s[..s.len().min(12)]).unwrap_or("0")
        ),
    }
}

/// The folder of a document relative to the archive root, without collision suffix:
/// `<OrganId>/<year>/<type folder>/<document folder>`, always with `/`.
pub fn document_dir(record: &DocumentRecord, sha256: Option<&str>) -> String {
    format!(
        "{}/{}/{}/{}",
        safe_segment(record.agency.as_str()),
        record.year,
        safe_segment(&type_folder(record.document_type)),
        document_folder(record, sha256)
    )
}

/// The `n`-th candidate folder (1 = the plain one, then `~2`, `~3`…).
pub fn candidate_dir(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}~{n}")
    }
}

/// File name of the original inside its folder: `document.<ext>`, lowercase extension
/// from the source name (`pdf` by default).
pub fn original_name(source_name: &str) -> String {
    let ext = source_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| {
            !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .unwrap_or_else(|| "pdf".to_string());
    format!("document.{ext}")
}

/// A file code (mã hồ sơ): `<OrganId>.<year>.<file notation>`
/// (`000.00.00.H13.2025.01.TCCB`), spec §12 fields 1.1–1.3.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileCode {
    agency: AgencyId,
    year: u16,
    notation: String,
}

impl FileCode {
    /// Builds a file code; the notation (`01.TCCB`) is 1–20 characters of letters,
    /// digits, `.`, `-` and `_`.
    pub fn new(agency: AgencyId, year: u16, notation: &str) -> Result<Self, OfficeError> {
        let notation: String = notation.nfc().collect();
        if notation.is_empty()
            || notation.chars().count() > 20
            || !notation
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(OfficeError::Invalid(format!(
                "số và ký hiệu hồ sơ {notation:?} không hợp lệ (1–20 chữ, số, '.', '-', '_') / invalid file notation {notation:?} (1-20 letters, digits, '.', '-', '_')"
            )));
        }
        if !(1000..=9999).contains(&year) {
            return Err(OfficeError::Invalid(format!("invalid year {year}")));
        }
        Ok(Self {
            agency,
            year,
            notation,
        })
    }

    /// Reads `<OrganId>.<year>.<notation>`: the agency identifier is the first four
    /// dot-separated groups.
    pub fn parse(text: &str) -> Result<Self, OfficeError> {
        let invalid = || {
            OfficeError::Invalid(format!(
                "mã hồ sơ {text:?} không đúng dạng <mã cơ quan>.<năm>.<số ký hiệu> / file code {text:?} is not <OrganId>.<year>.<notation>"
            ))
        };
        let parts: Vec<&str> = text.splitn(6, '.').collect();
        if parts.len() < 6 {
            return Err(invalid());
        }
        let agency =
            AgencyId::parse_with(&parts[..4].join("."), kyso_model::AgencyIdFormat::Lenient)
                .map_err(|_| invalid())?;
        let year = parts[4]
            .parse::<u16>()
            .ok()
            .filter(|_| parts[4].len() == 4)
            .ok_or_else(invalid)?;
        Self::new(agency, year, parts[5])
    }

    /// The agency (1.1).
    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    /// The year (1.2).
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The file number and notation (1.3).
    pub fn notation(&self) -> &str {
        &self.notation
    }
}

impl fmt::Display for FileCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.agency, self.year, self.notation)
    }
}

impl Serialize for FileCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FileCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A records file (hồ sơ), spec §12 "File" fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordFile {
    /// FileCode.
    pub file_code: FileCode,
    /// Heading in the file list (đề mục), e.g. `I. Tổ chức cán bộ`.
    #[serde(default)]
    pub heading: String,
    /// Title (500).
    pub title: String,
    /// Retention: `vĩnh viễn` or a number of years (30).
    pub maintenance: String,
    /// Access regime (30).
    #[serde(default)]
    pub rights: String,
    /// Creator: unit or person (30).
    #[serde(default)]
    pub creator: String,
    /// Language (50).
    #[serde(default)]
    pub language: String,
    /// First document date.
    #[serde(
        default,
        with = "crate::record::date_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date: Option<Date>,
    /// Last document date.
    #[serde(
        default,
        with = "crate::record::date_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date: Option<Date>,
    /// Number of documents.
    #[serde(default)]
    pub doc_total: u32,
    /// Number of pages.
    #[serde(default)]
    pub page_total: u32,
    /// Notes (500).
    #[serde(default)]
    pub description: String,
}

impl RecordFile {
    /// Whether the retention is permanent (`vĩnh viễn`), for the file list footer.
    pub fn is_permanent(&self) -> bool {
        kyso_model::fold(&self.maintenance).contains("vinh vien")
    }
}

/// Orders a file's documents chronologically (document date, then arrival date, then
/// registration time) — the order of the file's export (spec §11).
pub fn chronological(documents: &mut [DocumentRecord]) {
    documents.sort_by_key(|d| {
        (
            d.metadata.issued_date.or(d.metadata.arrival_date),
            d.created_at,
            d.id,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_safe() {
        assert_eq!(safe_segment("05-QĐ-UBND"), "05-QĐ-UBND");
        assert_eq!(safe_segment("30-2020/NĐ-CP"), "30-2020_NĐ-CP");
        assert_eq!(safe_segment("../etc"), "_._etc");
        assert_eq!(
            safe_segment("a b\tc:d*e?f\"g<h>i|j\\k"),
            "a_b_c_d_e_f_g_h_i_j_k"
        );
        assert_eq!(safe_segment(""), "_");
        assert_eq!(safe_segment(&"x".repeat(300)).chars().count(), 100);
        // NFD input comes out NFC.
        assert_eq!(safe_segment("Q\u{0110}"), "QĐ");
        assert_eq!(safe_segment("Quye\u{0302}\u{0301}t"), "Quyết");
    }

    #[test]
    fn type_folders() {
        assert_eq!(type_folder(DocumentType::QuyetDinh), "QĐ");
        assert_eq!(type_folder(DocumentType::QuyDinh), "QyĐ");
        assert_eq!(type_folder(DocumentType::CongVan), "CV");
        assert_eq!(type_folder(DocumentType::ThuCong), "thu_cong");
        assert_eq!(type_folder(DocumentType::BanSaoY), "SY");
    }

    #[test]
    fn original_names() {
        assert_eq!(original_name("QD 15.PDF"), "document.pdf");
        assert_eq!(original_name("bao-cao.docx"), "document.docx");
        assert_eq!(original_name("noext"), "document.pdf");
        assert_eq!(original_name("x.p/../y"), "document.pdf");
    }

    #[test]
    fn file_codes() {
        let code = FileCode::parse("000.00.00.H13.2025.01.TCCB").unwrap();
        assert_eq!(code.agency().as_str(), "000.00.00.H13");
        assert_eq!(code.year(), 2025);
        assert_eq!(code.notation(), "01.TCCB");
        assert_eq!(code.to_string(), "000.00.00.H13.2025.01.TCCB");
        for bad in [
            "",
            "000.00.00.H13.25.01",
            "000.00.00.H13.2025.",
            "000.00.00.H13.2025.a/b",
        ] {
            assert!(FileCode::parse(bad).is_err(), "{bad}");
        }
    }
}
