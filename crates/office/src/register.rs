//! Registers (sổ đăng ký) and numbering rules (spec §3.2, §6, §7).
//!
//! A number is taken from one series, identified by [`SeriesKey`]: agency, calendar year
//! (so every series restarts at 01 on 1 January) and [`RegisterKind`]. Secret documents
//! have their own series, so has each advisory body issuing under the agency's seal,
//! copies share one, and incoming documents take their arrival number (số đến) from the
//! incoming series. Taking the number is the store's job and must be transactional
//! (no number skipped or used twice under concurrency, [`crate::Store::insert`]); the
//! rules of *which* series and *what* notation live here.

use kyso_model::{AgencyId, DocumentType, Notation, RegisterKind, Secrecy, SeriesKey};
use serde::{Deserialize, Serialize};

use crate::error::OfficeError;
use crate::record::{DocumentRecord, date_opt::format_date};

/// The register an outgoing document takes its number from: the secret series for any
/// secrecy level (even for an advisory body), else the advisory body's series when it
/// issues the document, else copies or the agency's outgoing register.
pub fn outgoing_register(
    document_type: DocumentType,
    secrecy: Secrecy,
    advisory_body: Option<&str>,
) -> Result<RegisterKind, OfficeError> {
    if secrecy.is_secret() {
        return Ok(RegisterKind::Secret);
    }
    match advisory_body {
        Some(name) => Ok(RegisterKind::advisory_body(name)?),
        None => Ok(RegisterKind::default_outgoing(document_type, secrecy)),
    }
}

/// Everything of a notation but its number: `…/QĐ-UBND`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotationTemplate {
    type_abbreviation: Option<String>,
    issuer: String,
    units: Vec<String>,
}

impl NotationTemplate {
    /// The template for `document_type` issued by `issuer` (agency abbreviation, or the
    /// advisory body's) with optional unit groups (a Công văn's drafting unit).
    pub fn new(
        document_type: DocumentType,
        issuer: &str,
        units: &[&str],
    ) -> Result<Self, OfficeError> {
        let abbreviation = document_type.abbreviation();
        if abbreviation.is_none() && units.is_empty() {
            return Err(OfficeError::Invalid(
                "ký hiệu công văn cần đơn vị soạn thảo (--unit) / a Công văn notation needs the drafting unit (--unit)"
                    .into(),
            ));
        }
        // Validate once with a real number.
        let probe = Notation::new(1, abbreviation, issuer, units)?;
        Ok(Self {
            type_abbreviation: probe.type_abbreviation().map(str::to_string),
            issuer: probe.issuer().to_string(),
            units: probe.units().to_vec(),
        })
    }

    /// The notation with `number`.
    pub fn render(&self, number: u32) -> Result<Notation, OfficeError> {
        let units: Vec<&str> = self.units.iter().map(String::as_str).collect();
        Ok(Notation::new(
            number,
            self.type_abbreviation.as_deref(),
            &self.issuer,
            &units,
        )?)
    }
}

/// A number to take while storing: from which series, and how it shows on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbering {
    /// The series.
    pub series: SeriesKey,
    /// For outgoing numbers: the notation to build. `None` for arrival numbers.
    pub template: Option<NotationTemplate>,
    /// The date the number is given (local date): fills `IssuedDate` of an outgoing
    /// document, `ArrivalDate` of an incoming one, when not already set.
    #[serde(with = "crate::record::date_opt")]
    pub date: Option<time::Date>,
}

impl Numbering {
    /// Writes number `number` into `record` (called by the store inside the transaction
    /// that took it): series and series number; for an outgoing number also the number
    /// and notation (`CodeNumber`, `CodeNotation`); for an arrival number `ArrivalNumber`.
    pub fn apply(&self, record: &mut DocumentRecord, number: u32) -> Result<(), OfficeError> {
        record.series = Some(self.series.clone());
        record.series_number = Some(number);
        record.year = self.series.year();
        match &self.template {
            Some(template) => {
                let notation = template.render(number)?;
                record.metadata.code_number = Some(notation.code_number());
                record.metadata.code_notation = Some(notation.code_notation());
                if record.metadata.issued_date.is_none() {
                    record.metadata.issued_date = self.date;
                }
            }
            None => {
                record.metadata.arrival_number = Some(number);
                if record.metadata.arrival_date.is_none() {
                    record.metadata.arrival_date = self.date;
                }
            }
        }
        Ok(())
    }
}

/// The series of `kind` at `agency` in `year`.
pub fn series(agency: &AgencyId, year: u16, kind: RegisterKind) -> Result<SeriesKey, OfficeError> {
    Ok(SeriesKey::new(agency.clone(), year, kind)?)
}

/// A register laid out for printing: title, column headings, rows of text.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterSheet {
    /// `SỔ ĐĂNG KÝ VĂN BẢN ĐI`…
    pub title: String,
    /// Second title line: agency and year.
    pub subtitle: String,
    /// Column headings (Vietnamese, as in ND30 App. IV).
    pub columns: Vec<String>,
    /// Relative column widths.
    pub widths: Vec<f32>,
    /// One row per entry, as many cells as columns.
    pub rows: Vec<Vec<String>>,
}

/// The 10 columns of the outgoing register (ND30 App. IV §I).
pub const OUTGOING_COLUMNS: [&str; 10] = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

/// The 10 columns of the incoming register (ND30 App. IV §VI).
pub const INCOMING_COLUMNS: [&str; 10] = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu",
    "Ngày tháng",
    "Tên loại và trích yếu nội dung",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
];

fn dmy(date: Option<time::Date>) -> String {
    date.map(|d| {
        let iso = format_date(d);
        format!("{}/{}/{}", &iso[8..10], &iso[5..7], &iso[..4])
    })
    .unwrap_or_default()
}

fn notes(record: &DocumentRecord) -> String {
    let mut parts = Vec::new();
    if let Some(mark) = record.secrecy.mark() {
        parts.push(mark.to_string());
    }
    if let Some(mark) = record.urgency.mark() {
        parts.push(mark.to_string());
    }
    if let Some(d) = &record.metadata.description {
        parts.push(d.clone());
    }
    parts.join("; ")
}

/// Lays out the entries of one series (sorted by number) for printing.
pub fn register_sheet(
    series: &SeriesKey,
    agency_name: &str,
    entries: &[DocumentRecord],
) -> RegisterSheet {
    let mut entries: Vec<&DocumentRecord> = entries.iter().collect();
    entries.sort_by_key(|d| d.series_number);
    let incoming = matches!(series.register(), RegisterKind::Incoming);
    let title = match series.register() {
        RegisterKind::Incoming => "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN".to_string(),
        RegisterKind::Secret => "SỔ ĐĂNG KÝ VĂN BẢN ĐI (MẬT)".to_string(),
        RegisterKind::Copies => "SỔ ĐĂNG KÝ BẢN SAO VĂN BẢN".to_string(),
        RegisterKind::AdvisoryBody(name) => format!("SỔ ĐĂNG KÝ VĂN BẢN ĐI ({name})"),
        _ => "SỔ ĐĂNG KÝ VĂN BẢN ĐI".to_string(),
    };
    let subtitle = format!(
        "{} ({}) — Năm {}",
        agency_name,
        series.agency(),
        series.year()
    );
    let type_and_subject = |d: &DocumentRecord| {
        if d.metadata.subject.is_empty() {
            d.metadata.type_name.clone()
        } else {
            format!("{}: {}", d.metadata.type_name, d.metadata.subject)
        }
    };
    let rows = entries
        .iter()
        .map(|d| {
            let m = &d.metadata;
            if incoming {
                vec![
                    dmy(m.arrival_date),
                    m.arrival_number
                        .or(d.series_number)
                        .map(|n| format!("{n:02}"))
                        .unwrap_or_default(),
                    m.organ_name.clone(),
                    m.number_notation().unwrap_or_default(),
                    dmy(m.issued_date),
                    type_and_subject(d),
                    m.to_places.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                    notes(d),
                ]
            } else {
                vec![
                    m.number_notation().unwrap_or_default(),
                    dmy(m.issued_date),
                    type_and_subject(d),
                    m.signer_info
                        .iter()
                        .map(|s| s.full_name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    m.to.iter()
                        .map(|r| r.organ_name.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    m.to_places.clone().unwrap_or_default(),
                    m.issued_amount.map(|n| n.to_string()).unwrap_or_default(),
                    String::new(),
                    String::new(),
                    notes(d),
                ]
            }
        })
        .collect();
    let (columns, widths): (Vec<String>, Vec<f32>) = if incoming {
        (
            INCOMING_COLUMNS.iter().map(|c| c.to_string()).collect(),
            vec![7.0, 5.0, 13.0, 10.0, 7.0, 22.0, 11.0, 7.0, 7.0, 11.0],
        )
    } else {
        (
            OUTGOING_COLUMNS.iter().map(|c| c.to_string()).collect(),
            vec![10.0, 7.0, 22.0, 10.0, 13.0, 10.0, 5.0, 7.0, 7.0, 9.0],
        )
    };
    RegisterSheet {
        title,
        subtitle,
        columns,
        widths,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_advisory_series() {
        use DocumentType::*;
        assert_eq!(
            outgoing_register(QuyetDinh, Secrecy::None, None).unwrap(),
            RegisterKind::Outgoing
        );
        assert_eq!(
            outgoing_register(QuyetDinh, Secrecy::Mat, None).unwrap(),
            RegisterKind::Secret
        );
        assert_eq!(
            outgoing_register(QuyetDinh, Secrecy::ToiMat, Some("HĐTĐKT")).unwrap(),
            RegisterKind::Secret
        );
        assert_eq!(
            outgoing_register(ThongBao, Secrecy::None, Some("HĐTĐKT")).unwrap(),
            RegisterKind::advisory_body("HĐTĐKT").unwrap()
        );
        assert_eq!(
            outgoing_register(BanSaoY, Secrecy::None, None).unwrap(),
            RegisterKind::Copies
        );
        assert!(outgoing_register(ThongBao, Secrecy::None, Some("bad name")).is_err());
    }

    #[test]
    fn templates() {
        let t = NotationTemplate::new(DocumentType::QuyetDinh, "UBND", &[]).unwrap();
        assert_eq!(t.render(5).unwrap().to_string(), "05/QĐ-UBND");
        let cv = NotationTemplate::new(DocumentType::CongVan, "UBND", &["VP"]).unwrap();
        assert_eq!(cv.render(123).unwrap().to_string(), "123/UBND-VP");
        assert!(NotationTemplate::new(DocumentType::CongVan, "UBND", &[]).is_err());
        assert!(NotationTemplate::new(DocumentType::QuyetDinh, "UB ND", &[]).is_err());
    }
}
