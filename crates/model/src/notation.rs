//! Number and notation (số, ký hiệu) of administrative documents, ND30 App. I Part I §II.3.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::document_type::DocumentType;
use crate::document_type_registry::DocumentTypeRegistry;
use crate::error::{ModelError, excerpt};
use crate::fold::{fold, nfc};

/// The number and notation of an administrative document: `05/QĐ-UBND`.
///
/// Shape (ND30 App. I Part I §II.3, spec §3.1): `<number>/<type>-<issuer>[-<unit>…]`, or
/// for a Công văn, which has no type abbreviation, `<number>/<issuer>-<drafting unit>`.
/// Copies use the copy abbreviation as the type (`03/SY-UBND`).
///
/// **How a notation is read.** The first segment after `/` is the type when it is the
/// abbreviation of a type in the registry (exactly, case-sensitively: `QĐ` yes, `Qđ` no);
/// otherwise the notation is a Công văn and that segment is the issuer. So the same text
/// can read differently under a registry with custom types; [`Notation::parse`] uses the
/// ND30 list and [`Notation::parse_with`] a given registry.
///
/// Invariants: the number is at least 1; every segment is non-empty NFC text without
/// whitespace, `/`, `-`, `,`, control or invisible characters or dash look-alikes; and the
/// value reads back the same: `Notation::parse(&n.to_string()) == Ok(n)` for a value built
/// by [`Notation::new`] (with [`Notation::new_with`]: under the same registry).
///
/// Display writes numbers below 10 with a leading zero (`05`, `123`) and no `Số:` prefix;
/// [`display_with_prefix`](Self::display_with_prefix) adds it. Serde uses the display text
/// and reads it back with the ND30 list; a notation with a custom type abbreviation keeps
/// its exact text but reads back as a Công văn unless re-parsed with its registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Notation {
    number: u32,
    type_abbreviation: Option<String>,
    issuer: String,
    units: Vec<String>,
}

impl Notation {
    /// Parses `05/QĐ-UBND`, `Số: 05/QĐ-UBND`, `12/UBND-VP` (Công văn), `03/SY-UBND` with
    /// the ND30 type list.
    ///
    /// Accepted around the notation: surrounding whitespace and a leading `Số:` (any case,
    /// with or without diacritics, spaces after the colon optional). The input is
    /// NFC-normalised first; byte offsets in errors refer to the normalised text. Numbers
    /// may be written with or without leading zeros.
    ///
    /// ```
    /// use kyso_model::{DocumentType, Notation};
    ///
    /// let decision = Notation::parse("Số: 05/QĐ-UBND")?;
    /// assert_eq!(decision.number(), 5);
    /// assert_eq!(decision.document_type(), Some(DocumentType::QuyetDinh));
    /// assert_eq!(decision.to_string(), "05/QĐ-UBND");
    ///
    /// let letter = Notation::parse("12/UBND-VP")?;
    /// assert_eq!(letter.type_abbreviation(), None);
    /// assert_eq!(letter.issuer(), "UBND");
    /// assert_eq!(letter.units(), ["VP"]);
    /// assert_eq!(letter.document_type(), Some(DocumentType::CongVan));
    /// # Ok::<(), kyso_model::ModelError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        parse_notation(input, &|segment| {
            DocumentType::from_abbreviation(segment).is_some()
        })
    }

    /// Parses like [`parse`](Self::parse), reading type abbreviations from `registry`.
    pub fn parse_with(input: &str, registry: &DocumentTypeRegistry) -> Result<Self, ModelError> {
        parse_notation(input, &|segment| registry.is_type_abbreviation(segment))
    }

    /// Builds a notation from its parts, checked against the ND30 type list.
    ///
    /// `type_abbreviation` must be an ND30 abbreviation (or `None` for a Công văn, whose
    /// issuer then must not be one, or the text would read back as that type). Parts are
    /// NFC-normalised.
    ///
    /// ```
    /// use kyso_model::Notation;
    /// let notation = Notation::new(8, Some("TTr"), "UBND", &[])?;
    /// assert_eq!(notation.to_string(), "08/TTr-UBND");
    /// # Ok::<(), kyso_model::ModelError>(())
    /// ```
    pub fn new(
        number: u32,
        type_abbreviation: Option<&str>,
        issuer: &str,
        units: &[&str],
    ) -> Result<Self, ModelError> {
        build(number, type_abbreviation, issuer, units, &|segment| {
            DocumentType::from_abbreviation(segment).is_some()
        })
    }

    /// Builds a notation like [`new`](Self::new), with type abbreviations from `registry`.
    pub fn new_with(
        number: u32,
        type_abbreviation: Option<&str>,
        issuer: &str,
        units: &[&str],
        registry: &DocumentTypeRegistry,
    ) -> Result<Self, ModelError> {
        build(number, type_abbreviation, issuer, units, &|segment| {
            registry.is_type_abbreviation(segment)
        })
    }

    /// The document number (at least 1).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The type abbreviation (`"QĐ"`, `"SY"`), or `None` for a Công văn.
    pub fn type_abbreviation(&self) -> Option<&str> {
        self.type_abbreviation.as_deref()
    }

    /// The issuing agency's (or state title's) abbreviation (`"UBND"`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The segments after the issuer: the drafting unit or subject field of a Công văn,
    /// or further unit groups.
    pub fn units(&self) -> &[String] {
        &self.units
    }

    /// The ND30 type this notation names: the type of its abbreviation,
    /// [`DocumentType::CongVan`] when it has none, and `None` when the abbreviation is not
    /// an ND30 one (a custom type).
    pub fn document_type(&self) -> Option<DocumentType> {
        match &self.type_abbreviation {
            Some(abbreviation) => DocumentType::from_abbreviation(abbreviation),
            None => Some(DocumentType::CongVan),
        }
    }

    /// Whether this has the Công văn shape (no type abbreviation).
    pub fn is_cong_van(&self) -> bool {
        self.type_abbreviation.is_none()
    }

    /// The number as written: two digits at least (`"05"`, `"123"`); edXML `CodeNumber`.
    pub fn code_number(&self) -> String {
        format!("{:02}", self.number)
    }

    /// The text after the `/` (`"QĐ-UBND"`); edXML `CodeNotation`.
    pub fn code_notation(&self) -> String {
        let mut text = String::new();
        if let Some(abbreviation) = &self.type_abbreviation {
            text.push_str(abbreviation);
            text.push('-');
        }
        text.push_str(&self.issuer);
        for unit in &self.units {
            text.push('-');
            text.push_str(unit);
        }
        text
    }

    /// The line as printed on the document: `Số: 05/QĐ-UBND`.
    pub fn display_with_prefix(&self) -> String {
        format!("Số: {self}")
    }
}

impl fmt::Display for Notation {
    /// Writes `05/QĐ-UBND` (no `Số:` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{}", self.number, self.code_notation())
    }
}

impl FromStr for Notation {
    type Err = ModelError;

    /// Same as [`Notation::parse`].
    fn from_str(input: &str) -> Result<Self, ModelError> {
        Self::parse(input)
    }
}

impl Serialize for Notation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Notation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why `segment` (already NFC) cannot be one segment of a notation, if it cannot.
pub(crate) fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return Some("is empty");
    }
    for c in segment.chars() {
        let problem = match c {
            '/' => "contains '/', which separates the number from the notation",
            '-' => "contains '-', which separates notation segments",
            c if c.is_whitespace() => "contains whitespace",
            c if is_forbidden(c) => {
                "contains a control character, comma, invisible character or dash look-alike"
            }
            _ => continue,
        };
        return Some(problem);
    }
    None
}

/// Characters refused anywhere in a number/notation: control characters, the comma (it
/// separates document-identifier parts), invisible characters pasted from word
/// processors, and dashes that look like the ASCII hyphen but are not.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            ',' | '\u{200B}'..='\u{200F}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{2010}'..='\u{2015}'
                | '\u{2212}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
        )
}

fn build(
    number: u32,
    type_abbreviation: Option<&str>,
    issuer: &str,
    units: &[&str],
    is_type: &dyn Fn(&str) -> bool,
) -> Result<Notation, ModelError> {
    let part =
        |part: &'static str, value: &str, reason: &'static str| ModelError::InvalidNotationPart {
            part,
            value: excerpt(value),
            reason,
        };
    if number == 0 {
        return Err(part(
            "number",
            "0",
            "must be at least 1 (numbering starts at 01)",
        ));
    }
    let checked = |name: &'static str, value: &str| {
        let value = nfc(value).into_owned();
        match segment_problem(&value) {
            Some(reason) => Err(part(name, &value, reason)),
            None => Ok(value),
        }
    };
    let type_abbreviation = type_abbreviation
        .map(|abbreviation| checked("type", abbreviation))
        .transpose()?;
    if let Some(abbreviation) = &type_abbreviation
        && !is_type(abbreviation)
    {
        return Err(part(
            "type",
            abbreviation,
            "is not the abbreviation of a registered document type",
        ));
    }
    let issuer = checked("issuer", issuer)?;
    if type_abbreviation.is_none() && is_type(&issuer) {
        return Err(part(
            "issuer",
            &issuer,
            "is a document type abbreviation, so the text would read as that type",
        ));
    }
    let units = units
        .iter()
        .map(|unit| checked("unit", unit))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Notation {
        number,
        type_abbreviation,
        issuer,
        units,
    })
}

fn parse_notation(input: &str, is_type: &dyn Fn(&str) -> bool) -> Result<Notation, ModelError> {
    let normalised = nfc(input);
    let text: &str = &normalised;
    let end = text.trim_end().len();
    let start = leading_whitespace(text);
    if start >= end {
        return Err(ModelError::EmptyNotation);
    }

    // An optional "Số:" prefix.
    let mut body_start = start;
    if let Some(colon) = text[start..end].find(':')
        && fold(text[start..start + colon].trim_end()) == "so"
    {
        body_start = start + colon + 1;
        body_start += leading_whitespace(&text[body_start..end]);
        if body_start >= end {
            return Err(ModelError::EmptyNotation);
        }
    }
    let body = &text[body_start..end];

    for (index, c) in body.char_indices() {
        if c.is_whitespace() {
            return Err(ModelError::UnexpectedWhitespace {
                offset: body_start + index,
            });
        }
        if is_forbidden(c) {
            return Err(ModelError::InvalidCharacter {
                character: c,
                offset: body_start + index,
            });
        }
    }

    // The number.
    let Some(slash) = body.find('/') else {
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        return Err(ModelError::MissingSlash {
            offset: body_start + digits,
        });
    };
    let number_text = &body[..slash];
    if number_text.is_empty() {
        return Err(ModelError::MissingNumber { offset: body_start });
    }
    if let Some(bad) = number_text.find(|c: char| !c.is_ascii_digit()) {
        return Err(ModelError::InvalidNumber {
            found: excerpt(number_text),
            offset: body_start + bad,
        });
    }
    let number: u32 = number_text
        .parse()
        .map_err(|_| ModelError::NumberTooLarge {
            found: excerpt(number_text),
            offset: body_start,
        })?;
    if number == 0 {
        return Err(ModelError::NumberZero { offset: body_start });
    }

    // The notation.
    let rest_start = body_start + slash + 1;
    let rest = &text[rest_start..end];
    if let Some(second) = rest.find('/') {
        return Err(ModelError::ExtraSlash {
            offset: rest_start + second,
        });
    }
    if rest.is_empty() {
        return Err(ModelError::MissingNotation { offset: rest_start });
    }
    let mut segments = Vec::new();
    let mut offset = rest_start;
    for (index, segment) in rest.split('-').enumerate() {
        if segment.is_empty() {
            return Err(ModelError::EmptySegment {
                segment: index + 1,
                offset,
            });
        }
        segments.push(segment);
        offset += segment.len() + 1;
    }

    let mut segments = segments.into_iter().map(str::to_owned);
    let first = segments.next().unwrap_or_default();
    let (type_abbreviation, issuer) = if is_type(&first) {
        match segments.next() {
            Some(issuer) => (Some(first), issuer),
            None => {
                return Err(ModelError::MissingIssuer {
                    type_abbreviation: first,
                    offset: end,
                });
            }
        }
    } else {
        (None, first)
    };
    Ok(Notation {
        number,
        type_abbreviation,
        issuer,
        units: segments.collect(),
    })
}

fn leading_whitespace(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;
    use crate::document_type_registry::CustomDocumentType;

    fn parts(notation: &Notation) -> (u32, Option<&str>, &str, Vec<&str>) {
        (
            notation.number(),
            notation.type_abbreviation(),
            notation.issuer(),
            notation.units().iter().map(String::as_str).collect(),
        )
    }

    #[test]
    fn decision_with_prefix() {
        let notation = Notation::parse("Số: 05/QĐ-UBND").unwrap();
        assert_eq!(parts(&notation), (5, Some("QĐ"), "UBND", vec![]));
        assert_eq!(notation.document_type(), Some(DocumentType::QuyetDinh));
        assert_eq!(notation.to_string(), "05/QĐ-UBND");
        assert_eq!(notation.display_with_prefix(), "Số: 05/QĐ-UBND");
        assert_eq!(notation.code_number(), "05");
        assert_eq!(notation.code_notation(), "QĐ-UBND");
        assert!(!notation.is_cong_van());
    }

    #[test]
    fn prefix_variants() {
        let expected = Notation::parse("05/QĐ-UBND").unwrap();
        for input in [
            "Số:05/QĐ-UBND",
            "Số:  05/QĐ-UBND",
            "số: 05/QĐ-UBND",
            "SỐ: 05/QĐ-UBND",
            "So: 05/QĐ-UBND",
            "Số : 05/QĐ-UBND",
            "  Số: 05/QĐ-UBND\n",
            " 05/QĐ-UBND ",
            "5/QĐ-UBND",
            "005/QĐ-UBND",
        ] {
            assert_eq!(Notation::parse(input).as_ref(), Ok(&expected), "{input:?}");
        }
    }

    #[test]
    fn nfd_input_is_normalised() {
        let nfd: String = "Số: 05/QĐ-SỞ".nfd().collect();
        assert_ne!(nfd, "Số: 05/QĐ-SỞ");
        let notation = Notation::parse(&nfd).unwrap();
        assert_eq!(notation.issuer(), "SỞ");
        assert_eq!(notation.to_string(), "05/QĐ-SỞ");
    }

    #[test]
    fn official_examples() {
        let notation = Notation::parse("Số: 15/QĐ-BNV").unwrap();
        assert_eq!(parts(&notation), (15, Some("QĐ"), "BNV", vec![]));
        let notation = Notation::parse("Số: 05/BNV-VP").unwrap();
        assert_eq!(parts(&notation), (5, None, "BNV", vec!["VP"]));
        let notation = Notation::parse("Số: 12/UBND-VX").unwrap();
        assert_eq!(parts(&notation), (12, None, "UBND", vec!["VX"]));
        let notation = Notation::parse("7816/VPCP-TTĐT").unwrap();
        assert_eq!(parts(&notation), (7816, None, "VPCP", vec!["TTĐT"]));
    }

    #[test]
    fn cong_van_has_issuer_and_drafting_unit() {
        let notation = Notation::parse("12/UBND-VP").unwrap();
        assert_eq!(parts(&notation), (12, None, "UBND", vec!["VP"]));
        assert!(notation.is_cong_van());
        assert_eq!(notation.document_type(), Some(DocumentType::CongVan));
        assert_eq!(notation.to_string(), "12/UBND-VP");
        // An issuer alone is accepted as a Công văn without a unit.
        let notation = Notation::parse("12/UBND").unwrap();
        assert_eq!(parts(&notation), (12, None, "UBND", vec![]));
    }

    #[test]
    fn copies_and_mixed_case_types() {
        let notation = Notation::parse("Số: 03/SY-UBND").unwrap();
        assert_eq!(notation.document_type(), Some(DocumentType::BanSaoY));
        assert_eq!(notation.to_string(), "03/SY-UBND");
        let notation = Notation::parse("04/TrS-UBND").unwrap();
        assert_eq!(notation.document_type(), Some(DocumentType::BanTrichSao));
        let notation = Notation::parse("08/TTr-UBND").unwrap();
        assert_eq!(parts(&notation), (8, Some("TTr"), "UBND", vec![]));
        assert_eq!(notation.document_type(), Some(DocumentType::ToTrinh));
        let notation = Notation::parse("09/QyĐ-UBND").unwrap();
        assert_eq!(notation.document_type(), Some(DocumentType::QuyDinh));
        let notation = Notation::parse("10/HĐ-UBND").unwrap();
        assert_eq!(notation.document_type(), Some(DocumentType::HopDong));
        let notation = Notation::parse("10/HD-UBND").unwrap();
        assert_eq!(notation.document_type(), Some(DocumentType::HuongDan));
    }

    #[test]
    fn every_nd30_abbreviation_round_trips_in_a_notation() {
        for document_type in DocumentType::ALL {
            let Some(abbreviation) = document_type.abbreviation() else {
                continue;
            };
            let text = format!("07/{abbreviation}-UBND-VP");
            let notation = Notation::parse(&text).unwrap();
            assert_eq!(notation.document_type(), Some(document_type), "{text}");
            assert_eq!(notation.issuer(), "UBND");
            assert_eq!(notation.to_string(), text);
        }
    }

    #[test]
    fn type_detection_is_case_sensitive() {
        // "Qđ" is not an abbreviation, so this is a Công văn of the issuer "Qđ".
        let notation = Notation::parse("05/Qđ-UBND").unwrap();
        assert_eq!(parts(&notation), (5, None, "Qđ", vec!["UBND"]));
        assert_ne!(notation, Notation::parse("05/QĐ-UBND").unwrap());
        assert_ne!(
            Notation::parse("05/QĐ-UBND").unwrap().document_type(),
            Notation::parse("05/QyĐ-UBND").unwrap().document_type()
        );
    }

    #[test]
    fn numbers_below_ten_get_a_leading_zero() {
        let notation = Notation::new(5, Some("QĐ"), "UBND", &[]).unwrap();
        assert_eq!(notation.to_string(), "05/QĐ-UBND");
        let notation = Notation::new(123, Some("QĐ"), "UBND", &[]).unwrap();
        assert_eq!(notation.to_string(), "123/QĐ-UBND");
        let notation = Notation::new(10, None, "UBND", &["VP"]).unwrap();
        assert_eq!(notation.to_string(), "10/UBND-VP");
        let notation = Notation::new(u32::MAX, Some("BB"), "UBND", &[]).unwrap();
        assert_eq!(notation.to_string(), "4294967295/BB-UBND");
    }

    #[test]
    fn empty_inputs() {
        for input in ["", "   ", "Số:", "Số:   ", "\n"] {
            assert_eq!(
                Notation::parse(input),
                Err(ModelError::EmptyNotation),
                "{input:?}"
            );
        }
    }

    #[test]
    fn specific_errors() {
        let cases: [(&str, ModelError); 14] = [
            ("/QĐ-UBND", ModelError::MissingNumber { offset: 0 }),
            ("Số: /QĐ-UBND", ModelError::MissingNumber { offset: 6 }),
            ("0/QĐ-UBND", ModelError::NumberZero { offset: 0 }),
            ("00/QĐ-UBND", ModelError::NumberZero { offset: 0 }),
            ("5 /QĐ-UBND", ModelError::UnexpectedWhitespace { offset: 1 }),
            (
                "05/QĐ- UBND",
                ModelError::UnexpectedWhitespace { offset: 7 },
            ),
            (
                "05/QĐ-",
                ModelError::EmptySegment {
                    segment: 2,
                    offset: 7,
                },
            ),
            (
                "05/-UBND",
                ModelError::EmptySegment {
                    segment: 1,
                    offset: 3,
                },
            ),
            (
                "05/QĐ--UBND",
                ModelError::EmptySegment {
                    segment: 2,
                    offset: 7,
                },
            ),
            ("05/", ModelError::MissingNotation { offset: 3 }),
            ("05", ModelError::MissingSlash { offset: 2 }),
            ("05QĐ-UBND", ModelError::MissingSlash { offset: 2 }),
            ("30/2020/NĐ-CP", ModelError::ExtraSlash { offset: 7 }),
            (
                "05/QĐ",
                ModelError::MissingIssuer {
                    type_abbreviation: "QĐ".into(),
                    offset: 6,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Notation::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn bad_numbers_and_characters() {
        assert_eq!(
            Notation::parse("5a/QĐ-UBND"),
            Err(ModelError::InvalidNumber {
                found: "5a".into(),
                offset: 1
            })
        );
        assert_eq!(
            Notation::parse("Số 05/QĐ-UBND"),
            Err(ModelError::UnexpectedWhitespace { offset: 4 })
        );
        assert_eq!(
            Notation::parse("99999999999/QĐ-UBND"),
            Err(ModelError::NumberTooLarge {
                found: "99999999999".into(),
                offset: 0
            })
        );
        assert_eq!(
            Notation::parse("05/QĐ–UBND"),
            Err(ModelError::InvalidCharacter {
                character: '–',
                offset: 6
            })
        );
        assert_eq!(
            Notation::parse("05/QĐ-UBND,VP"),
            Err(ModelError::InvalidCharacter {
                character: ',',
                offset: 11
            })
        );
        assert_eq!(
            Notation::parse("\u{FEFF}05/QĐ-UBND"),
            Err(ModelError::InvalidCharacter {
                character: '\u{FEFF}',
                offset: 0
            })
        );
        assert_eq!(
            Notation::parse("０５/QĐ-UBND"),
            Err(ModelError::InvalidNumber {
                found: "０５".into(),
                offset: 0
            })
        );
    }

    #[test]
    fn error_messages_say_what_and_where() {
        let message = Notation::parse("05/QĐ-").unwrap_err().to_string();
        assert!(message.contains("segment 2"), "{message}");
        assert!(message.contains("byte 7"), "{message}");
        let message = Notation::parse("0/QĐ-UBND").unwrap_err().to_string();
        assert!(message.contains("zero"), "{message}");
        let message = Notation::parse("30/2020/NĐ-CP").unwrap_err().to_string();
        assert!(message.contains("normative"), "{message}");
    }

    #[test]
    fn extra_unit_segments() {
        let notation = Notation::parse("15/QĐ-UBND-NC-TH").unwrap();
        assert_eq!(parts(&notation), (15, Some("QĐ"), "UBND", vec!["NC", "TH"]));
        assert_eq!(notation.to_string(), "15/QĐ-UBND-NC-TH");
    }

    #[test]
    fn custom_registry_changes_the_reading() {
        let mut registry = DocumentTypeRegistry::nd30();
        registry
            .add_custom(CustomDocumentType::new("Lịch làm việc", Some("LLV")).unwrap())
            .unwrap();
        let with_registry = Notation::parse_with("07/LLV-UBND", &registry).unwrap();
        assert_eq!(parts(&with_registry), (7, Some("LLV"), "UBND", vec![]));
        assert_eq!(with_registry.document_type(), None);
        let nd30 = Notation::parse("07/LLV-UBND").unwrap();
        assert_eq!(parts(&nd30), (7, None, "LLV", vec!["UBND"]));
        // Same text either way.
        assert_eq!(with_registry.to_string(), nd30.to_string());
        assert!(Notation::new_with(7, Some("LLV"), "UBND", &[], &registry).is_ok());
        assert!(Notation::new(7, Some("LLV"), "UBND", &[]).is_err());
    }

    #[test]
    fn constructor_refuses_what_would_not_read_back() {
        let refused = |result: Result<Notation, ModelError>| match result {
            Err(ModelError::InvalidNotationPart { part, .. }) => part,
            other => panic!("expected InvalidNotationPart, got {other:?}"),
        };
        assert_eq!(refused(Notation::new(0, Some("QĐ"), "UBND", &[])), "number");
        assert_eq!(refused(Notation::new(1, Some("Qđ"), "UBND", &[])), "type");
        assert_eq!(refused(Notation::new(1, Some(""), "UBND", &[])), "type");
        assert_eq!(refused(Notation::new(1, None, "QĐ", &["UBND"])), "issuer");
        assert_eq!(
            refused(Notation::new(1, Some("QĐ"), "UB-ND", &[])),
            "issuer"
        );
        assert_eq!(
            refused(Notation::new(1, Some("QĐ"), "UB ND", &[])),
            "issuer"
        );
        assert_eq!(refused(Notation::new(1, Some("QĐ"), "", &[])), "issuer");
        assert_eq!(
            refused(Notation::new(1, Some("QĐ"), "UBND", &["V/P"])),
            "unit"
        );
        assert_eq!(refused(Notation::new(1, Some("QĐ"), "UBND", &[""])), "unit");
        // A typed notation may have an issuer that looks like a type.
        assert!(Notation::new(1, Some("QĐ"), "TB", &[]).is_ok());
    }

    #[test]
    fn constructor_normalises_to_nfc() {
        let nfd: String = "SỞ".nfd().collect();
        let notation = Notation::new(1, Some("QĐ"), &nfd, &[]).unwrap();
        assert_eq!(notation.issuer(), "SỞ");
        assert_eq!(Notation::parse(&notation.to_string()), Ok(notation));
    }

    #[test]
    fn from_str_and_serde_use_the_text() {
        let notation: Notation = "Số: 05/QĐ-UBND".parse().unwrap();
        let json = serde_json::to_string(&notation).unwrap();
        assert_eq!(json, "\"05/QĐ-UBND\"");
        let back: Notation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, notation);
        assert!(serde_json::from_str::<Notation>("\"05/QĐ-\"").is_err());
    }

    #[test]
    fn ordering_is_by_number_first() {
        let mut notations = [
            Notation::parse("12/QĐ-UBND").unwrap(),
            Notation::parse("03/TB-UBND").unwrap(),
            Notation::parse("07/UBND-VP").unwrap(),
        ];
        notations.sort();
        let numbers: Vec<_> = notations.iter().map(Notation::number).collect();
        assert_eq!(numbers, [3, 7, 12]);
    }
}
