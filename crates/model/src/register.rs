//! Numbering series (sổ đăng ký): which running number a document takes. Vocabulary
//! only; counters and their storage belong to the application core.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::agency::{AgencyId, AgencyIdFormat};
use crate::document_id::check_year;
use crate::document_type::DocumentType;
use crate::error::{ModelError, excerpt};
use crate::fold::nfc;
use crate::secrecy::Secrecy;

/// Longest advisory-body series name, in characters.
const MAX_SERIES_NAME_CHARS: usize = 32;

/// A kind of register, each with its own running number restarting at 01 on 1 January
/// (ND30 Art 15, 22.2 and App. I).
///
/// How many registers an agency keeps for its administrative documents is the head's
/// decision (ND30 Art 15.1.c), so which kinds are used is configuration; the rules that
/// are fixed are a separate series for secret documents (Art 15.2), for each advisory
/// body issuing under the agency's seal (App. I §II.3.a), for copies (App. I Part II
/// §II.1.c) and for incoming documents (Art 22.2).
///
/// Written as a key segment: `outgoing`, `secret`, `advisory/<name>`, `copies`,
/// `incoming`, `minutes`; serde uses the same text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RegisterKind {
    /// Outgoing administrative documents (văn bản đi), shared by paper and electronic.
    Outgoing,
    /// Secret documents (Mật, Tối mật, Tuyệt mật): their own series (ND30 Art 15.2).
    Secret,
    /// An advisory body (Hội đồng, Ban, Tổ) issuing under the agency's seal or signature.
    AdvisoryBody(SeriesName),
    /// Copies of every kind (SY, TrS, SL): one running number for all.
    Copies,
    /// Incoming documents: the arrival number (số đến), in order of receipt.
    Incoming,
    /// Minutes (biên bản), when the agency numbers them apart, e.g. device handovers.
    Minutes,
}

/// The name of an advisory body's series: its abbreviation as used in notations
/// (`HĐTĐKT`), 1–32 letters or digits, NFC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesName(String);

/// Identifies one numbering series: agency, year and register kind, written
/// `<OrganId>/<year>/<register>` (`000.00.00.H13/2025/outgoing`,
/// `000.00.00.H13/2025/advisory/HĐTĐKT`). Serde uses the same text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    agency: AgencyId,
    year: u16,
    register: RegisterKind,
}

impl RegisterKind {
    /// The register an outgoing document takes when the agency keeps one register for
    /// administrative documents: secret documents their own series, copies theirs, all
    /// else the outgoing register. Minutes and advisory bodies are only chosen by
    /// configuration.
    pub fn default_outgoing(document_type: DocumentType, secrecy: Secrecy) -> Self {
        if secrecy.is_secret() {
            Self::Secret
        } else if document_type.is_copy() {
            Self::Copies
        } else {
            Self::Outgoing
        }
    }

    /// An advisory body's register.
    pub fn advisory_body(name: &str) -> Result<Self, ModelError> {
        SeriesName::new(name).map(Self::AdvisoryBody)
    }

    /// Reads the key segment written by `Display`.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        parse_register(text).map_err(|(offset, expected)| ModelError::InvalidSeriesKey {
            input: excerpt(text),
            offset,
            expected,
        })
    }
}

impl fmt::Display for RegisterKind {
    /// Writes the key segment: `outgoing`, `advisory/HĐTĐKT`….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Outgoing => f.write_str("outgoing"),
            Self::Secret => f.write_str("secret"),
            Self::AdvisoryBody(name) => write!(f, "advisory/{name}"),
            Self::Copies => f.write_str("copies"),
            Self::Incoming => f.write_str("incoming"),
            Self::Minutes => f.write_str("minutes"),
        }
    }
}

impl FromStr for RegisterKind {
    type Err = ModelError;

    /// Same as [`RegisterKind::parse`].
    fn from_str(text: &str) -> Result<Self, ModelError> {
        Self::parse(text)
    }
}

impl SeriesName {
    /// Checks and NFC-normalises a series name.
    pub fn new(name: &str) -> Result<Self, ModelError> {
        let name = nfc(name).into_owned();
        let refuse = |reason| ModelError::InvalidSeriesName {
            name: excerpt(&name),
            reason,
        };
        if name.is_empty() {
            return Err(refuse("is empty"));
        }
        if !name.chars().all(char::is_alphanumeric) {
            return Err(refuse("may hold only letters and digits"));
        }
        if name.chars().count() > MAX_SERIES_NAME_CHARS {
            return Err(refuse("is longer than 32 characters"));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeriesName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SeriesKey {
    /// The series of `register` at `agency` in `year` (1000–9999).
    pub fn new(agency: AgencyId, year: u16, register: RegisterKind) -> Result<Self, ModelError> {
        check_year(i64::from(year))?;
        Ok(Self {
            agency,
            year,
            register,
        })
    }

    /// Reads the text written by `Display`. The agency identifier is read leniently, as a
    /// stored key must load whatever identifier format was configured when it was made.
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        let text = nfc(input);
        parse_series_key(&text).map_err(|(offset, expected)| ModelError::InvalidSeriesKey {
            input: excerpt(input),
            offset,
            expected,
        })
    }

    /// The agency.
    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The register kind.
    pub fn register(&self) -> &RegisterKind {
        &self.register
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.agency, self.year, self.register)
    }
}

impl FromStr for SeriesKey {
    type Err = ModelError;

    /// Same as [`SeriesKey::parse`].
    fn from_str(input: &str) -> Result<Self, ModelError> {
        Self::parse(input)
    }
}

macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(RegisterKind);
serde_as_text!(SeriesKey);

const REGISTERS: &str =
    "a register: outgoing, secret, advisory/<name>, copies, incoming or minutes";

fn parse_register(text: &str) -> Result<RegisterKind, (usize, &'static str)> {
    Ok(match text {
        "outgoing" => RegisterKind::Outgoing,
        "secret" => RegisterKind::Secret,
        "copies" => RegisterKind::Copies,
        "incoming" => RegisterKind::Incoming,
        "minutes" => RegisterKind::Minutes,
        _ => match text.strip_prefix("advisory/") {
            Some(name) => RegisterKind::AdvisoryBody(
                SeriesName::new(name)
                    .map_err(|_| ("advisory/".len(), "a series name of 1-32 letters or digits"))?,
            ),
            None => return Err((0, REGISTERS)),
        },
    })
}

fn parse_series_key(text: &str) -> Result<SeriesKey, (usize, &'static str)> {
    let Some(first_slash) = text.find('/') else {
        return Err((text.len(), "'/' after the agency identifier"));
    };
    let agency =
        AgencyId::parse_with(&text[..first_slash], AgencyIdFormat::Lenient).map_err(|error| {
            match error {
                ModelError::InvalidAgencyId {
                    offset, expected, ..
                } => (offset, expected),
                _ => (0, "an agency identifier"),
            }
        })?;
    let year_start = first_slash + 1;
    let year_text = text.get(year_start..year_start + 4).unwrap_or_default();
    let year = (year_text.bytes().all(|byte| byte.is_ascii_digit()) && year_text.len() == 4)
        .then(|| year_text.parse::<u16>().ok())
        .flatten()
        .filter(|year| *year >= 1000)
        .ok_or((year_start, "a four-digit year from 1000"))?;
    let register_start = year_start + 4;
    if text.as_bytes().get(register_start) != Some(&b'/') {
        return Err((register_start, "'/' after the year"));
    }
    let register = parse_register(&text[register_start + 1..])
        .map_err(|(offset, expected)| (register_start + 1 + offset, expected))?;
    Ok(SeriesKey {
        agency,
        year,
        register,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h13() -> AgencyId {
        AgencyId::parse("000.00.00.H13").unwrap()
    }

    fn all_kinds() -> Vec<RegisterKind> {
        vec![
            RegisterKind::Outgoing,
            RegisterKind::Secret,
            RegisterKind::advisory_body("HĐTĐKT").unwrap(),
            RegisterKind::Copies,
            RegisterKind::Incoming,
            RegisterKind::Minutes,
        ]
    }

    #[test]
    fn keys_are_formatted_and_read_back() {
        let expected = [
            "000.00.00.H13/2025/outgoing",
            "000.00.00.H13/2025/secret",
            "000.00.00.H13/2025/advisory/HĐTĐKT",
            "000.00.00.H13/2025/copies",
            "000.00.00.H13/2025/incoming",
            "000.00.00.H13/2025/minutes",
        ];
        for (kind, text) in all_kinds().into_iter().zip(expected) {
            let key = SeriesKey::new(h13(), 2025, kind.clone()).unwrap();
            assert_eq!(key.to_string(), text);
            assert_eq!(SeriesKey::parse(text), Ok(key.clone()));
            assert_eq!(key.register(), &kind);
            assert_eq!(RegisterKind::parse(&kind.to_string()), Ok(kind));
            let json = serde_json::to_string(&key).unwrap();
            assert_eq!(serde_json::from_str::<SeriesKey>(&json).unwrap(), key);
        }
    }

    #[test]
    fn every_year_and_agency_is_its_own_series() {
        let a = SeriesKey::new(h13(), 2025, RegisterKind::Outgoing).unwrap();
        let b = SeriesKey::new(h13(), 2026, RegisterKind::Outgoing).unwrap();
        let c = SeriesKey::new(
            AgencyId::parse("000.00.00.G22").unwrap(),
            2025,
            RegisterKind::Outgoing,
        )
        .unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!((a.agency(), a.year()), (&h13(), 2025));
    }

    #[test]
    fn default_outgoing_register() {
        use DocumentType::*;
        assert_eq!(
            RegisterKind::default_outgoing(QuyetDinh, Secrecy::None),
            RegisterKind::Outgoing
        );
        assert_eq!(
            RegisterKind::default_outgoing(CongVan, Secrecy::Mat),
            RegisterKind::Secret
        );
        for copy in [BanSaoY, BanTrichSao, BanSaoLuc] {
            assert_eq!(
                RegisterKind::default_outgoing(copy, Secrecy::None),
                RegisterKind::Copies
            );
        }
        assert_eq!(
            RegisterKind::default_outgoing(BanSaoY, Secrecy::TuyetMat),
            RegisterKind::Secret
        );
        assert_eq!(
            RegisterKind::default_outgoing(BienBan, Secrecy::None),
            RegisterKind::Outgoing
        );
    }

    #[test]
    fn series_names_are_checked() {
        for bad in ["", "HĐ TĐ", "HĐ/TĐ", "HĐ-TĐ", &"A".repeat(33)] {
            assert!(
                matches!(
                    SeriesName::new(bad),
                    Err(ModelError::InvalidSeriesName { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(SeriesName::new("Tổ1").unwrap().as_str(), "Tổ1");
    }

    #[test]
    fn bad_keys_point_at_the_problem() {
        let offset = |text| match SeriesKey::parse(text) {
            Err(ModelError::InvalidSeriesKey { offset, .. }) => offset,
            other => panic!("{text:?}: {other:?}"),
        };
        assert_eq!(offset(""), 0);
        assert_eq!(offset("000.00.00.H13"), 13);
        assert_eq!(offset("000.00.00.h13/2025/outgoing"), 10);
        assert_eq!(offset("000.00.00.H13/25/outgoing"), 14);
        assert_eq!(offset("000.00.00.H13/0025/outgoing"), 14);
        assert_eq!(offset("000.00.00.H13/2025"), 18);
        assert_eq!(offset("000.00.00.H13/2025outgoing"), 18);
        assert_eq!(offset("000.00.00.H13/2025/Outgoing"), 19);
        assert_eq!(offset("000.00.00.H13/2025/advisory/"), 28);
        assert_eq!(offset("000.00.00.H13/2025/advisory/A B"), 28);
        assert_eq!(offset("000.00.00.H13/2025/outgoing/x"), 19);
        assert!(SeriesKey::new(h13(), 99, RegisterKind::Outgoing).is_err());
    }
}
