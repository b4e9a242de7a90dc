//! Agency identifiers (mã định danh), Decision 28/2018 Art 10.2.a and QCVN 102:2016.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ModelError, excerpt};

/// Length of an agency identifier, dots included (QD28 Art 10.2.a).
const LENGTH: usize = 13;

/// The strict pattern: `d` digit, `.` dot, `L` uppercase ASCII letter.
const STRICT_PATTERN: &[u8; LENGTH] = b"ddd.dd.dd.Ldd";

/// Which agency identifiers to accept.
///
/// The 2022 amendment of QCVN 102 (Circular 01/2022/TT-BTTTT) changed the identifier
/// structure in ways this project could not confirm, so the check can be relaxed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AgencyIdFormat {
    /// QCVN 102:2016 as implemented: `^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$`
    /// (`000.00.00.H13`). The default.
    #[default]
    Strict,
    /// Only what Decision 28/2018 Art 10.2.a itself says: 13 characters, four
    /// dot-separated groups; each group made of ASCII uppercase letters and digits.
    Lenient,
}

/// An agency identifier (mã định danh): 13 characters, four dot-separated code groups,
/// `DDD.DD.DD.XNN` = level 4 . level 3 . level 2 . level 1, with the level-1 code (ministry,
/// province…) rightmost: `000.00.00.G22` is the Government Office, `000.00.18.G12` a unit
/// under the Ministry of Finance.
///
/// Built only by [`AgencyId::parse`] (strict) or [`AgencyId::parse_with`]. Serde writes
/// the text and reads it back with [`AgencyIdFormat::Lenient`], so identifiers accepted
/// under a relaxed configuration still load after the configuration changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyId(String);

impl AgencyId {
    /// Parses an identifier in the strict QCVN 102:2016 format.
    ///
    /// ```
    /// use kyso_model::AgencyId;
    /// let id = AgencyId::parse("000.00.00.H13")?;
    /// assert_eq!(id.level1_code(), "H13");
    /// assert!(AgencyId::parse("000.00.00.h13").is_err());
    /// # Ok::<(), kyso_model::ModelError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        Self::parse_with(input, AgencyIdFormat::Strict)
    }

    /// Parses an identifier in the given format. Nothing is trimmed or case-folded.
    pub fn parse_with(input: &str, format: AgencyIdFormat) -> Result<Self, ModelError> {
        let problem = match format {
            AgencyIdFormat::Strict => strict_problem(input),
            AgencyIdFormat::Lenient => lenient_problem(input),
        };
        match problem {
            Some((offset, expected)) => Err(ModelError::InvalidAgencyId {
                input: excerpt(input),
                offset,
                expected,
            }),
            None => Ok(Self(input.to_owned())),
        }
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The four code groups as written, left to right: level 4, level 3, level 2, level 1.
    pub fn groups(&self) -> [&str; 4] {
        let mut groups = self.0.splitn(4, '.');
        // Both formats guarantee exactly four groups.
        [(); 4].map(|()| groups.next().unwrap_or_default())
    }

    /// The level-1 code, the rightmost group (`"G22"`, `"H13"`).
    pub fn level1_code(&self) -> &str {
        self.groups()[3]
    }

    /// Whether this identifier also satisfies `format`.
    pub fn conforms_to(&self, format: AgencyIdFormat) -> bool {
        match format {
            AgencyIdFormat::Strict => strict_problem(&self.0).is_none(),
            AgencyIdFormat::Lenient => lenient_problem(&self.0).is_none(),
        }
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AgencyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgencyId {
    type Err = ModelError;

    /// Same as [`AgencyId::parse`] (strict).
    fn from_str(input: &str) -> Result<Self, ModelError> {
        Self::parse(input)
    }
}

impl Serialize for AgencyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_with(&text, AgencyIdFormat::Lenient).map_err(serde::de::Error::custom)
    }
}

/// The first place where `input` breaks the strict format, and what was expected there.
fn strict_problem(input: &str) -> Option<(usize, &'static str)> {
    let bytes = input.as_bytes();
    for (offset, &class) in STRICT_PATTERN.iter().enumerate() {
        let expected = match class {
            b'd' => "a digit 0-9 (format DDD.DD.DD.XNN, e.g. 000.00.00.H13)",
            b'.' => "'.' (format DDD.DD.DD.XNN, e.g. 000.00.00.H13)",
            _ => "an uppercase letter A-Z (format DDD.DD.DD.XNN, e.g. 000.00.00.H13)",
        };
        let fits = bytes.get(offset).is_some_and(|&byte| match class {
            b'd' => byte.is_ascii_digit(),
            b'.' => byte == b'.',
            _ => byte.is_ascii_uppercase(),
        });
        if !fits {
            return Some((offset, expected));
        }
    }
    (bytes.len() > LENGTH).then_some((LENGTH, "the end of the identifier (13 characters)"))
}

/// Like [`strict_problem`] for the lenient format.
fn lenient_problem(input: &str) -> Option<(usize, &'static str)> {
    let bytes = input.as_bytes();
    let mut dots = 0;
    let mut group_start = 0;
    for (offset, &byte) in bytes.iter().enumerate() {
        match byte {
            b'A'..=b'Z' | b'0'..=b'9' => {}
            b'.' => {
                if offset == group_start {
                    return Some((
                        offset,
                        "an uppercase letter A-Z or a digit (no empty group)",
                    ));
                }
                dots += 1;
                if dots > 3 {
                    return Some((offset, "at most four dot-separated groups"));
                }
                group_start = offset + 1;
            }
            _ => return Some((offset, "an uppercase letter A-Z, a digit or '.'")),
        }
        if offset >= LENGTH {
            return Some((LENGTH, "the end of the identifier (13 characters)"));
        }
    }
    if group_start == bytes.len() {
        return Some((
            bytes.len(),
            "an uppercase letter A-Z or a digit (no empty group)",
        ));
    }
    if dots < 3 {
        return Some((bytes.len(), "four groups separated by three dots"));
    }
    (bytes.len() < LENGTH).then_some((bytes.len(), "13 characters in all"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict_error(input: &str) -> (usize, &'static str) {
        match AgencyId::parse(input) {
            Err(ModelError::InvalidAgencyId {
                offset, expected, ..
            }) => (offset, expected),
            other => panic!("{input:?}: expected InvalidAgencyId, got {other:?}"),
        }
    }

    #[test]
    fn known_identifiers_parse() {
        for text in [
            "000.00.00.G22",
            "000.00.00.G09",
            "000.00.18.G12",
            "000.00.00.H41",
            "000.00.00.H13",
            "000.00.01.H01",
        ] {
            let id = AgencyId::parse(text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_string(), text);
            assert!(id.conforms_to(AgencyIdFormat::Strict));
            assert!(id.conforms_to(AgencyIdFormat::Lenient));
        }
        let id = AgencyId::parse("000.00.18.G12").unwrap();
        assert_eq!(id.groups(), ["000", "00", "18", "G12"]);
        assert_eq!(id.level1_code(), "G12");
    }

    #[test]
    fn strict_errors_point_at_the_problem() {
        assert_eq!(strict_error("").0, 0);
        assert!(strict_error("").1.starts_with("a digit"));
        assert_eq!(strict_error("000.00.00.h13").0, 10);
        assert!(
            strict_error("000.00.00.h13")
                .1
                .starts_with("an uppercase letter")
        );
        assert_eq!(strict_error("000-00.00.H13").0, 3);
        assert!(strict_error("000-00.00.H13").1.starts_with("'.'"));
        assert_eq!(strict_error("000.00.00.H1").0, 12);
        assert_eq!(
            strict_error("000.00.00.H130"),
            (13, "the end of the identifier (13 characters)")
        );
        assert_eq!(strict_error("00.00.00.H13").0, 2);
        assert_eq!(strict_error(" 000.00.00.H13").0, 0);
        assert_eq!(strict_error("000.00.00.Đ13").0, 10);
        assert_eq!(strict_error("000.00.00.HA3").0, 11);
    }

    #[test]
    fn error_message_names_input_format_and_position() {
        let message = AgencyId::parse("000.00.00.h13").unwrap_err().to_string();
        assert!(message.contains("000.00.00.h13"), "{message}");
        assert!(message.contains("byte 10"), "{message}");
        assert!(message.contains("DDD.DD.DD.XNN"), "{message}");
    }

    #[test]
    fn lenient_format_keeps_only_the_qd28_shape() {
        for text in [
            "0000.0.00.H13",
            "A00.00.00.H13",
            "000.00.00.130",
            "000.00.0A.BCD",
        ] {
            assert!(AgencyId::parse(text).is_err(), "{text}");
            let id = AgencyId::parse_with(text, AgencyIdFormat::Lenient).unwrap();
            assert!(!id.conforms_to(AgencyIdFormat::Strict));
            assert_eq!(id.groups().len(), 4);
        }
        let lenient = |text| AgencyId::parse_with(text, AgencyIdFormat::Lenient);
        for (text, offset) in [
            ("", 0),
            (".000.00.H1300", 0),
            ("000..00.H1300", 4),
            ("000.00.00.H1.", 12),
            ("000.00.00.h13", 10),
            ("0000000000000", 13),
            ("000.00.00.H1", 12),
            ("000.00.00.H130", 13),
            ("000.00.00H13", 12),
            ("000.0.0.0.H13", 9),
            ("000.00.00.", 10),
        ] {
            match lenient(text) {
                Err(ModelError::InvalidAgencyId { offset: found, .. }) => {
                    assert_eq!(found, offset, "{text:?}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn serde_writes_text_and_reads_leniently() {
        let id = AgencyId::parse("000.00.00.G22").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"000.00.00.G22\"");
        assert_eq!(serde_json::from_str::<AgencyId>(&json).unwrap(), id);
        let relaxed: AgencyId = serde_json::from_str("\"0000.0.00.H13\"").unwrap();
        assert_eq!(relaxed.level1_code(), "H13");
        assert!(serde_json::from_str::<AgencyId>("\"H13\"").is_err());
    }

    #[test]
    fn from_str_is_strict() {
        assert!("000.00.00.H13".parse::<AgencyId>().is_ok());
        assert!("0000.0.00.H13".parse::<AgencyId>().is_err());
    }
}
