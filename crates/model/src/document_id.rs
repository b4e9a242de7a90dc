//! Document identifiers exchanged between agencies (Decision 28/2018 Art 10.2.b, spec
//! §15.4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::agency::{AgencyId, AgencyIdFormat};
use crate::error::{ModelError, excerpt};
use crate::fold::nfc;
use crate::notation::Notation;

/// The identifier of a document across agencies.
///
/// Decision 28/2018 Art 10.2.b defines it as agency identifier + year of issue + sequence
/// number within the year, written `<OrganId>,<year>,<seq>` (`000.00.01.H01,2018,10`);
/// this is the form kyso generates ([`DocumentId::new`]). Other systems on the national
/// axis send `<OrganId>,<yyyy/MM/dd>,<number/notation>`
/// (`000.00.00.G22,2018/09/20,7816/VPCP-TTĐT`); [`DocumentId::parse`] accepts both and
/// the value remembers which form it has, so it is written back the same way.
///
/// In the second form the notation is kept as text, exactly as sent (NFC): it is another
/// system's identifier and must be echoed unchanged in replies and recalls, even when it
/// does not follow ND30 (a normative `30/2020/NĐ-CP`). Parse it with
/// [`Notation::parse`] when needed. Sequence numbers are written without leading zeros.
///
/// Serde uses the text; deserialisation reads the agency identifier leniently (see
/// [`AgencyId`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId {
    agency: AgencyId,
    local: Local,
}

/// Which of the two written forms a [`DocumentId`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentIdForm {
    /// `<OrganId>,<year>,<seq>` (Decision 28/2018 Art 10.2.b).
    Sequence,
    /// `<OrganId>,<yyyy/MM/dd>,<number/notation>` (seen in implementations).
    DateNotation,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Local {
    Sequence { year: u16, sequence: u32 },
    DateNotation { date: Date, notation: String },
}

impl DocumentId {
    /// The Decision 28 identifier: agency, year (1000–9999), sequence within the year
    /// (at least 1).
    pub fn new(agency: AgencyId, year: u16, sequence: u32) -> Result<Self, ModelError> {
        check_year(i64::from(year))?;
        if sequence == 0 {
            return Err(ModelError::ZeroSequence {
                what: "document identifier",
            });
        }
        Ok(Self {
            agency,
            local: Local::Sequence { year, sequence },
        })
    }

    /// The date-and-notation form, from an issue date and a notation.
    pub fn from_notation(
        agency: AgencyId,
        issued: Date,
        notation: &Notation,
    ) -> Result<Self, ModelError> {
        check_year(i64::from(issued.year()))?;
        Ok(Self {
            agency,
            local: Local::DateNotation {
                date: issued,
                notation: notation.to_string(),
            },
        })
    }

    /// Parses either form, with a strict agency identifier.
    ///
    /// ```
    /// use kyso_model::{DocumentId, DocumentIdForm};
    ///
    /// let id = DocumentId::parse("000.00.01.H01,2018,10")?;
    /// assert_eq!((id.year(), id.sequence()), (2018, Some(10)));
    ///
    /// let id = DocumentId::parse("000.00.00.G22,2018/09/20,7816/VPCP-TTĐT")?;
    /// assert_eq!(id.form(), DocumentIdForm::DateNotation);
    /// assert_eq!(id.notation_text(), Some("7816/VPCP-TTĐT"));
    /// assert_eq!(id.to_string(), "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT");
    /// # Ok::<(), kyso_model::ModelError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        Self::parse_with(input, AgencyIdFormat::Strict)
    }

    /// Parses either form, reading the agency identifier in `format`. Byte offsets in
    /// errors refer to the NFC form of `input`.
    pub fn parse_with(input: &str, format: AgencyIdFormat) -> Result<Self, ModelError> {
        let text = nfc(input);
        parse_document_id(&text, format).map_err(|(offset, expected)| {
            ModelError::InvalidDocumentId {
                input: excerpt(input),
                offset,
                expected,
            }
        })
    }

    /// The issuing agency.
    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    /// The year of issue.
    pub fn year(&self) -> u16 {
        match &self.local {
            Local::Sequence { year, .. } => *year,
            // The year was checked to be 1000–9999 when the value was built.
            Local::DateNotation { date, .. } => u16::try_from(date.year()).unwrap_or_default(),
        }
    }

    /// The sequence number within the year, in the Decision 28 form.
    pub fn sequence(&self) -> Option<u32> {
        match &self.local {
            Local::Sequence { sequence, .. } => Some(*sequence),
            Local::DateNotation { .. } => None,
        }
    }

    /// The issue date, in the date-and-notation form.
    pub fn issue_date(&self) -> Option<Date> {
        match &self.local {
            Local::Sequence { .. } => None,
            Local::DateNotation { date, .. } => Some(*date),
        }
    }

    /// The number/notation text, in the date-and-notation form.
    pub fn notation_text(&self) -> Option<&str> {
        match &self.local {
            Local::Sequence { .. } => None,
            Local::DateNotation { notation, .. } => Some(notation),
        }
    }

    /// Which form this identifier has.
    pub fn form(&self) -> DocumentIdForm {
        match &self.local {
            Local::Sequence { .. } => DocumentIdForm::Sequence,
            Local::DateNotation { .. } => DocumentIdForm::DateNotation,
        }
    }
}

impl fmt::Display for DocumentId {
    /// Writes the form the identifier has: `000.00.01.H01,2018,10` or
    /// `000.00.00.G22,2018/09/20,7816/VPCP-TTĐT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.local {
            Local::Sequence { year, sequence } => write!(f, "{},{year},{sequence}", self.agency),
            Local::DateNotation { date, notation } => write!(
                f,
                "{},{:04}/{:02}/{:02},{notation}",
                self.agency,
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
        }
    }
}

impl FromStr for DocumentId {
    type Err = ModelError;

    /// Same as [`DocumentId::parse`].
    fn from_str(input: &str) -> Result<Self, ModelError> {
        Self::parse(input)
    }
}

impl Serialize for DocumentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_with(&text, AgencyIdFormat::Lenient).map_err(serde::de::Error::custom)
    }
}

/// Checks that a year can be written with four digits.
pub(crate) fn check_year(year: i64) -> Result<(), ModelError> {
    if (1000..=9999).contains(&year) {
        Ok(())
    } else {
        Err(ModelError::InvalidYear { year })
    }
}

const SHAPES: &str = "three comma-separated parts, <OrganId>,<year>,<seq> or <OrganId>,<yyyy/MM/dd>,<number/notation>";

fn parse_document_id(
    text: &str,
    format: AgencyIdFormat,
) -> Result<DocumentId, (usize, &'static str)> {
    let Some(first_comma) = text.find(',') else {
        return Err((text.len(), SHAPES));
    };
    let agency =
        AgencyId::parse_with(&text[..first_comma], format).map_err(|error| match error {
            ModelError::InvalidAgencyId {
                offset, expected, ..
            } => (offset, expected),
            _ => (0, "an agency identifier"),
        })?;
    let middle_start = first_comma + 1;
    let Some(second_comma) = text[middle_start..].find(',').map(|i| middle_start + i) else {
        return Err((text.len(), SHAPES));
    };
    let middle = &text[middle_start..second_comma];
    let last_start = second_comma + 1;
    let last = &text[last_start..];

    let local = if middle.len() == 4 {
        let year = four_digits(middle)
            .filter(|year| *year >= 1000)
            .ok_or((middle_start, "a four-digit year from 1000"))?;
        const SEQUENCE: &str = "a sequence number of at least 1, digits only";
        if let Some(bad) = last.find(|c: char| !c.is_ascii_digit()) {
            return Err((last_start + bad, SEQUENCE));
        }
        let sequence: u32 = last
            .parse()
            .ok()
            .filter(|sequence| *sequence >= 1)
            .ok_or((last_start, SEQUENCE))?;
        Local::Sequence { year, sequence }
    } else if middle.len() == 10 && middle.contains('/') {
        let date = slash_date(middle).ok_or((middle_start, "a valid date yyyy/MM/dd"))?;
        if last.is_empty() {
            return Err((last_start, "a number/notation"));
        }
        if let Some((bad, _)) = last
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control() || *c == ',')
        {
            return Err((
                last_start + bad,
                "a number/notation without spaces, commas or control characters",
            ));
        }
        Local::DateNotation {
            date,
            notation: last.to_owned(),
        }
    } else {
        return Err((middle_start, "a four-digit year or a date yyyy/MM/dd"));
    };
    Ok(DocumentId { agency, local })
}

/// The value of exactly four ASCII digits.
fn four_digits(text: &str) -> Option<u16> {
    (text.len() == 4 && text.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A `yyyy/MM/dd` date with a year from 1000.
fn slash_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'/' || bytes[7] != b'/' {
        return None;
    }
    let year = four_digits(&text[..4]).filter(|year| *year >= 1000)?;
    let two = |range: std::ops::Range<usize>| {
        let part = &text[range];
        (part.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| part.parse::<u8>().ok())
            .flatten()
    };
    let month = Month::try_from(two(5..7)?).ok()?;
    let day = two(8..10)?;
    Date::from_calendar_date(i32::from(year), month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency(text: &str) -> AgencyId {
        AgencyId::parse(text).unwrap()
    }

    fn error_at(input: &str) -> (usize, &'static str) {
        match DocumentId::parse(input) {
            Err(ModelError::InvalidDocumentId {
                offset, expected, ..
            }) => (offset, expected),
            other => panic!("{input:?}: expected InvalidDocumentId, got {other:?}"),
        }
    }

    #[test]
    fn sequence_form_round_trips() {
        let id = DocumentId::new(agency("000.00.01.H01"), 2018, 10).unwrap();
        assert_eq!(id.to_string(), "000.00.01.H01,2018,10");
        assert_eq!(DocumentId::parse("000.00.01.H01,2018,10"), Ok(id.clone()));
        assert_eq!(id.form(), DocumentIdForm::Sequence);
        assert_eq!(id.agency().as_str(), "000.00.01.H01");
        assert_eq!((id.year(), id.sequence()), (2018, Some(10)));
        assert_eq!((id.issue_date(), id.notation_text()), (None, None));
        // Leading zeros are read and not written back.
        let padded = DocumentId::parse("000.00.01.H01,2018,010").unwrap();
        assert_eq!(padded, id);
    }

    #[test]
    fn date_notation_form_round_trips() {
        let text = "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT";
        let id = DocumentId::parse(text).unwrap();
        assert_eq!(id.form(), DocumentIdForm::DateNotation);
        assert_eq!(id.year(), 2018);
        assert_eq!(
            id.issue_date(),
            Some(Date::from_calendar_date(2018, Month::September, 20).unwrap())
        );
        assert_eq!(id.notation_text(), Some("7816/VPCP-TTĐT"));
        assert_eq!(id.sequence(), None);
        assert_eq!(id.to_string(), text);
        // Normative notations are kept as sent.
        let normative = DocumentId::parse("000.00.00.G22,2020/03/05,30/2020/NĐ-CP").unwrap();
        assert_eq!(normative.notation_text(), Some("30/2020/NĐ-CP"));
    }

    #[test]
    fn built_from_a_notation() {
        let notation = Notation::parse("Số: 05/QĐ-UBND").unwrap();
        let date = Date::from_calendar_date(2025, Month::January, 5).unwrap();
        let id = DocumentId::from_notation(agency("000.00.00.H13"), date, &notation).unwrap();
        assert_eq!(id.to_string(), "000.00.00.H13,2025/01/05,05/QĐ-UBND");
        assert_eq!(DocumentId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn constructor_checks() {
        assert_eq!(
            DocumentId::new(agency("000.00.00.H13"), 2025, 0),
            Err(ModelError::ZeroSequence {
                what: "document identifier"
            })
        );
        assert_eq!(
            DocumentId::new(agency("000.00.00.H13"), 999, 1),
            Err(ModelError::InvalidYear { year: 999 })
        );
        let date = Date::from_calendar_date(999, Month::January, 5).unwrap();
        let notation = Notation::parse("05/QĐ-UBND").unwrap();
        assert!(DocumentId::from_notation(agency("000.00.00.H13"), date, &notation).is_err());
    }

    #[test]
    fn errors_point_at_the_bad_part() {
        assert_eq!(error_at("").0, 0);
        assert_eq!(error_at("000.00.00.H13").0, 13);
        assert_eq!(error_at("000.00.00.H13,2018").0, 18);
        assert_eq!(error_at("000.00.00.h13,2018,10").0, 10);
        assert_eq!(error_at("000.00.00.H13,0018,10").0, 14);
        assert_eq!(error_at("000.00.00.H13,18,10").0, 14);
        assert_eq!(error_at("000.00.00.H13,2018,0").0, 19);
        assert_eq!(error_at("000.00.00.H13,2018,").0, 19);
        assert_eq!(error_at("000.00.00.H13,2018,1a").0, 20);
        assert_eq!(error_at("000.00.00.H13,2018,10,3").0, 21);
        assert_eq!(error_at("000.00.00.H13,2018,99999999999").0, 19);
        assert_eq!(error_at("000.00.00.H13,2018/02/30,05/QĐ-UBND").0, 14);
        assert_eq!(error_at("000.00.00.H13,2018/13/01,05/QĐ-UBND").0, 14);
        assert_eq!(error_at("000.00.00.H13,2018-09-20,05/QĐ-UBND").0, 14);
        assert_eq!(error_at("000.00.00.H13,2018/09/20,").0, 25);
        assert_eq!(error_at("000.00.00.H13,2018/09/20,05/QĐ UBND").0, 31);
        assert_eq!(error_at("000.00.00.H13,2018/09/20,05/QĐ-UBND,x").0, 36);
        assert_eq!(error_at("000.00.00.H13, 2018,10").0, 14);
    }

    #[test]
    fn leap_days() {
        assert!(DocumentId::parse("000.00.00.H13,2024/02/29,05/QĐ-UBND").is_ok());
        assert!(DocumentId::parse("000.00.00.H13,2023/02/29,05/QĐ-UBND").is_err());
    }

    #[test]
    fn message_shows_input_and_expectation() {
        let message = DocumentId::parse("000.00.00.H13,2018,0")
            .unwrap_err()
            .to_string();
        assert!(message.contains("000.00.00.H13,2018,0"), "{message}");
        assert!(message.contains("sequence number"), "{message}");
        assert!(message.contains("byte 19"), "{message}");
    }

    #[test]
    fn lenient_agency_and_serde() {
        assert!(DocumentId::parse("0000.0.00.H13,2018,10").is_err());
        let id = DocumentId::parse_with("0000.0.00.H13,2018,10", AgencyIdFormat::Lenient).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0000.0.00.H13,2018,10\"");
        assert_eq!(serde_json::from_str::<DocumentId>(&json).unwrap(), id);
        let id: DocumentId = "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<DocumentId>(&json).unwrap(), id);
    }
}
