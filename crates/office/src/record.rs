//! The document record: ND30 App. VI Part II metadata (spec §12) plus what the office
//! needs (direction, state, register series, the archived original).
//!
//! [`Metadata`] serialises with the App. VI tag names (`CodeNumber`, `IssuedDate`…), as
//! `metadata.json` beside each original; dates are `YYYY-MM-DD`, times RFC 3339 UTC.

use kyso_model::{AgencyId, DocumentType, Secrecy, SeriesKey, Urgency, fold};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::lifecycle::DocState;

/// Outgoing (văn bản đi) or incoming (văn bản đến).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Issued by the agency.
    Outgoing,
    /// Received from another agency.
    Incoming,
}

impl Direction {
    /// `outgoing` / `incoming`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
        }
    }
}

/// A signer (`SignerInfo`: position 100, full name 50).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignerInfo {
    /// Chức vụ.
    pub position: String,
    /// Họ và tên.
    pub full_name: String,
}

/// A recipient of an outgoing document (`To`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recipient {
    /// The recipient agency's identifier, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organ_id: Option<String>,
    /// Its name.
    pub organ_name: String,
}

/// ND30 App. VI Part II metadata (field numbers of spec §12 in the docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Metadata {
    /// 1: file code of the hồ sơ holding it (`OrganId.FileCatalog.FileNotation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_code: Option<String>,
    /// 1.1: the agency owning the file list (this agency).
    pub organ_id: String,
    /// 1.2: year the file was opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_catalog: Option<u16>,
    /// 1.3: file number and notation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_notation: Option<String>,
    /// 2: order in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_ordinal: Option<u32>,
    /// 3: type name (`Quyết định`).
    pub type_name: String,
    /// 4: number (`05`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_number: Option<String>,
    /// 5: notation (`QĐ-UBND`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_notation: Option<String>,
    /// 6: document date.
    #[serde(with = "date_opt", skip_serializing_if = "Option::is_none")]
    pub issued_date: Option<Date>,
    /// 7: issuing agency name.
    pub organ_name: String,
    /// 8: summary (trích yếu).
    pub subject: String,
    /// 9: language.
    pub language: String,
    /// 10: page count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_amount: Option<u32>,
    /// 11: notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 12 / 14: signers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signer_info: Vec<SignerInfo>,
    /// Outgoing 13: recipients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Recipient>,
    /// Outgoing 14 / incoming 15: urgency as the edXML priority 0–4.
    pub priority: u8,
    /// Outgoing 15: copies issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_amount: Option<u32>,
    /// Outgoing 16 / incoming 18: reply or handling deadline.
    #[serde(with = "date_opt", skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Date>,
    /// Incoming 12: arrival date.
    #[serde(with = "date_opt", skip_serializing_if = "Option::is_none")]
    pub arrival_date: Option<Date>,
    /// Incoming 13: arrival number (số đến).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_number: Option<u32>,
    /// Incoming 16: receiving unit or person; outgoing: the unit holding the file copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_places: Option<String>,
    /// Incoming 17: distribution, instructions, processing status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header_list: Option<String>,
}

impl Metadata {
    /// `05/QĐ-UBND`, when both parts are known.
    pub fn number_notation(&self) -> Option<String> {
        match (&self.code_number, &self.code_notation) {
            (Some(n), Some(t)) => Some(format!("{n}/{t}")),
            (Some(n), None) => Some(n.clone()),
            _ => None,
        }
    }
}

/// One archived file: the original or its detached signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Name inside the document's folder (`document.pdf`, `document.docx.p7s`).
    pub name: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The archived original of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// The signed file (a PDF with embedded signatures, or the content of a `.p7s`).
    pub document: StoredFile,
    /// The detached CAdES signature, for non-PDF originals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<StoredFile>,
    /// The file name it had when it came in.
    pub source_name: String,
}

/// A document as the office keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// Storage key; `None` until stored.
    pub id: Option<i64>,
    /// Outgoing or incoming.
    pub direction: Direction,
    /// The agency whose archive and registers hold it.
    pub agency: AgencyId,
    /// The register and archive year.
    pub year: u16,
    /// The type.
    pub document_type: DocumentType,
    /// Secrecy level.
    pub secrecy: Secrecy,
    /// Urgency.
    pub urgency: Urgency,
    /// Whether it goes through the electronic flow.
    pub electronic: bool,
    /// Lifecycle state.
    pub state: DocState,
    /// The numbering series it took a number from, if any.
    pub series: Option<SeriesKey>,
    /// The number taken from `series` (outgoing: its number; incoming: số đến).
    pub series_number: Option<u32>,
    /// The metadata (metadata.json).
    pub metadata: Metadata,
    /// The archived original, if any (secret documents: never).
    pub original: Option<Original>,
    /// Its folder relative to the archive root (`<OrganId>/<year>/<type>/<number-notation>`).
    pub archive_dir: Option<String>,
    /// When it was registered (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl DocumentRecord {
    /// The key used to find duplicate (number, notation, issuer) triples within a year.
    pub fn duplicate_key(&self) -> Option<DuplicateKey> {
        let number = self.metadata.code_number.as_ref()?;
        Some(DuplicateKey::new(
            &self.agency,
            &self.metadata.organ_name,
            self.metadata
                .issued_date
                .and_then(|d| u16::try_from(d.year()).ok())
                .unwrap_or(self.year),
            number,
            self.metadata.code_notation.as_deref(),
        ))
    }
}

/// Identifies (number, notation, issuing agency) within a year, for duplicate alerts
/// (ND30 App. VI §III.1.h). Numbers compare without leading zeros, issuers folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DuplicateKey {
    /// The agency whose archive is searched.
    pub agency: AgencyId,
    /// Folded issuing agency name.
    pub issuer: String,
    /// Year of the document date.
    pub year: u16,
    /// The number without leading zeros.
    pub number: String,
    /// The notation.
    pub notation: String,
}

impl DuplicateKey {
    /// The key of number `number` with `notation`, issued by `issuer` (the agency's
    /// own id when empty) in `year`, in `agency`'s archive.
    pub fn new(
        agency: &AgencyId,
        issuer: &str,
        year: u16,
        number: &str,
        notation: Option<&str>,
    ) -> Self {
        let issuer = if issuer.trim().is_empty() {
            agency.to_string()
        } else {
            issuer.to_string()
        };
        DuplicateKey {
            agency: agency.clone(),
            issuer: fold(&issuer),
            year,
            number: number.trim_start_matches('0').to_string(),
            notation: notation.unwrap_or_default().to_string(),
        }
    }

    /// One text form, for an index column.
    pub fn text(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.agency, self.year, self.issuer, self.number, self.notation
        )
    }
}

/// Serde for `Option<Date>` as `YYYY-MM-DD`.
pub mod date_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => serializer.collect_str(&format_date(*d)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|t| parse_date(&t).map_err(serde::de::Error::custom))
            .transpose()
    }

    /// `YYYY-MM-DD`.
    pub fn format_date(date: Date) -> String {
        date.format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default()
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_date(text: &str) -> Result<Date, time::error::Parse> {
        Date::parse(text, format_description!("[year]-[month]-[day]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_uses_app_vi_tags() {
        let m = Metadata {
            organ_id: "000.00.00.H13".into(),
            type_name: "Quyết định".into(),
            code_number: Some("05".into()),
            code_notation: Some("QĐ-UBND".into()),
            issued_date: Some(time::macros::date!(2025 - 03 - 04)),
            organ_name: "UBND thành phố Cần Thơ".into(),
            subject: "Về việc bổ nhiệm".into(),
            language: "vi".into(),
            ..Metadata::default()
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["CodeNumber"], "05");
        assert_eq!(json["CodeNotation"], "QĐ-UBND");
        assert_eq!(json["IssuedDate"], "2025-03-04");
        assert_eq!(json["OrganId"], "000.00.00.H13");
        assert!(json.get("ArrivalNumber").is_none());
        let back: Metadata = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.number_notation().as_deref(), Some("05/QĐ-UBND"));
    }
}
