//! Subject distinguished names as Vietnamese CAs write them.

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5StringRef, PrintableStringRef, SetOfVec};
use der::{Any, Decode, Encode, Tag, Tagged};
use unicode_normalization::UnicodeNormalization;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use super::CaError;

const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const STATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.8");
const LOCALITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// `uid` / `userId` (RFC 4519), used by Vietnamese CAs for `MST:`, `CCCD:`, … identifiers.
const UID: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
/// PKCS #9 `emailAddress`.
const EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// A subject (or issuer) distinguished name with the attributes Vietnamese certificates
/// carry.
///
/// Text is normalised to NFC and encoded as UTF8String; the country as PrintableString,
/// the e-mail address as IA5String. Attributes are written one per RDN in the order
/// C, ST, L, O, OU, T, CN, UID, emailAddress.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubjectName {
    /// Common name (CN): the person's or the agency's name.
    pub common_name: String,
    /// Organisation (O).
    pub organization: Option<String>,
    /// Organisational unit (OU).
    pub organizational_unit: Option<String>,
    /// Locality (L).
    pub locality: Option<String>,
    /// State or province (ST).
    pub state: Option<String>,
    /// Two-letter country code (C), normally `VN`.
    pub country: String,
    /// User ID (UID, OID 0.9.2342.19200300.100.1.1), e.g. `MST:1800123456` or
    /// `CCCD:092012345678`.
    pub uid: Option<String>,
    /// E-mail address (PKCS #9 emailAddress).
    pub email: Option<String>,
    /// Title (T), e.g. `Chủ tịch`.
    pub title: Option<String>,
}

impl SubjectName {
    /// Encode as an X.509 `Name`.
    pub fn to_name(&self) -> Result<Name, CaError> {
        let common_name = nfc(&self.common_name);
        if common_name.trim().is_empty() {
            return Err(CaError::EmptyCommonName);
        }
        let country = self.country.trim();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CaError::InvalidName {
                attribute: "C",
                reason: format!("{country:?} is not a two-letter upper-case country code"),
            });
        }

        let mut rdns: Vec<RelativeDistinguishedName> = Vec::new();
        let mut push = |oid: ObjectIdentifier, value: Any| -> Result<(), CaError> {
            let atv = AttributeTypeAndValue { oid, value };
            rdns.push(RelativeDistinguishedName::from(SetOfVec::try_from(vec![
                atv,
            ])?));
            Ok(())
        };
        let text =
            |attribute: &'static str, value: &str, max: usize| -> Result<Option<Any>, CaError> {
                let value = nfc(value);
                let value = value.trim();
                if value.is_empty() {
                    return Ok(None);
                }
                let len = value.chars().count();
                if len > max {
                    return Err(CaError::NameTooLong {
                        attribute,
                        len,
                        max,
                    });
                }
                if value.chars().any(char::is_control) {
                    return Err(CaError::InvalidName {
                        attribute,
                        reason: "contains control characters".into(),
                    });
                }
                Ok(Some(Any::new(Tag::Utf8String, value.as_bytes())?))
            };

        let country = PrintableStringRef::new(country).map_err(|e| CaError::InvalidName {
            attribute: "C",
            reason: e.to_string(),
        })?;
        push(COUNTRY, Any::encode_from(&country)?)?;
        // RFC 5280 Appendix A upper bounds.
        let optional: [(&'static str, ObjectIdentifier, &Option<String>, usize); 5] = [
            ("ST", STATE, &self.state, 128),
            ("L", LOCALITY, &self.locality, 128),
            ("O", ORGANIZATION, &self.organization, 64),
            ("OU", ORGANIZATIONAL_UNIT, &self.organizational_unit, 64),
            ("T", TITLE, &self.title, 64),
        ];
        for (attribute, oid, value, max) in optional {
            if let Some(value) = value
                && let Some(any) = text(attribute, value, max)?
            {
                push(oid, any)?;
            }
        }
        let cn = text("CN", &common_name, 64)?.ok_or(CaError::EmptyCommonName)?;
        push(COMMON_NAME, cn)?;
        if let Some(uid) = &self.uid
            && let Some(any) = text("UID", uid, 128)?
        {
            push(UID, any)?;
        }
        if let Some(email) = &self.email {
            let email = email.trim();
            if !email.is_empty() {
                check_email(email)?;
                if email.len() > 255 {
                    return Err(CaError::NameTooLong {
                        attribute: "emailAddress",
                        len: email.len(),
                        max: 255,
                    });
                }
                let ia5 = Ia5StringRef::new(email).map_err(|e| CaError::InvalidName {
                    attribute: "emailAddress",
                    reason: e.to_string(),
                })?;
                push(EMAIL_ADDRESS, Any::encode_from(&ia5)?)?;
            }
        }
        let sequence = RdnSequence::from(rdns);
        Ok(Name::from_der(&sequence.to_der()?)?)
    }

    /// Read the attributes of `name` by OID (first value of each; unknown attributes
    /// are ignored, missing ones are empty / `None`).
    pub fn from_name(name: &Name) -> SubjectName {
        let mut out = SubjectName::default();
        for atv in name.iter() {
            let Some(value) = any_to_string(&atv.value) else {
                continue;
            };
            let slot = match atv.oid {
                COMMON_NAME => {
                    if out.common_name.is_empty() {
                        out.common_name = value;
                    }
                    continue;
                }
                COUNTRY => {
                    if out.country.is_empty() {
                        out.country = value;
                    }
                    continue;
                }
                STATE => &mut out.state,
                LOCALITY => &mut out.locality,
                ORGANIZATION => &mut out.organization,
                ORGANIZATIONAL_UNIT => &mut out.organizational_unit,
                TITLE => &mut out.title,
                UID => &mut out.uid,
                EMAIL_ADDRESS => &mut out.email,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        out
    }
}

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// A basic `local@domain` shape check (IA5 only; no internationalised addresses).
pub(super) fn check_email(email: &str) -> Result<(), CaError> {
    let ok = email.is_ascii()
        && !email.chars().any(|c| c.is_ascii_control() || c == ' ')
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(())
    } else {
        Err(CaError::InvalidGeneralName {
            kind: "e-mail address",
            value: email.to_string(),
            reason: "expected an ASCII address local@domain".into(),
        })
    }
}

/// Any directory-string-like value as text.
fn any_to_string(any: &Any) -> Option<String> {
    let bytes = any.value();
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            String::from_utf8(bytes.to_vec()).ok()
        }
        // T.61 in theory, Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SubjectName {
        SubjectName {
            // Decomposed input (NFD) must come out NFC.
            common_name: "Nguye\u{302}\u{303}n Va\u{306}n An".into(),
            organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
            organizational_unit: Some("Văn phòng".into()),
            locality: Some("Ninh Kiều".into()),
            state: Some("Cần Thơ".into()),
            country: "VN".into(),
            uid: Some("CCCD:092012345678".into()),
            email: Some("an.nv@cantho.gov.vn".into()),
            title: Some("Chủ tịch".into()),
        }
    }

    #[test]
    fn round_trip_with_nfc() {
        let name = sample().to_name().unwrap();
        let back = SubjectName::from_name(&name);
        assert_eq!(back.common_name, "Nguyễn Văn An");
        let mut expected = sample();
        expected.common_name = "Nguyễn Văn An".into();
        assert_eq!(back, expected);
    }

    #[test]
    fn encodings() {
        let name = sample().to_name().unwrap();
        let tags: Vec<(String, Tag)> = name
            .iter()
            .map(|atv| (atv.oid.to_string(), atv.value.tag()))
            .collect();
        assert_eq!(tags[0], ("2.5.4.6".into(), Tag::PrintableString));
        assert!(tags.contains(&("2.5.4.3".into(), Tag::Utf8String)));
        assert!(tags.contains(&("0.9.2342.19200300.100.1.1".into(), Tag::Utf8String)));
        assert!(tags.contains(&("1.2.840.113549.1.9.1".into(), Tag::Ia5String)));
        assert_eq!(name.iter_rdn().count(), 9);
    }

    #[test]
    fn rejects_nonsense() {
        let mut s = sample();
        s.common_name = "  ".into();
        assert!(matches!(s.to_name(), Err(CaError::EmptyCommonName)));
        let mut s = sample();
        s.country = "Vietnam".into();
        assert!(matches!(
            s.to_name(),
            Err(CaError::InvalidName { attribute: "C", .. })
        ));
        let mut s = sample();
        s.common_name = "x".repeat(65);
        assert!(matches!(
            s.to_name(),
            Err(CaError::NameTooLong {
                attribute: "CN",
                ..
            })
        ));
        let mut s = sample();
        s.email = Some("không@hợp.lệ".into());
        assert!(matches!(
            s.to_name(),
            Err(CaError::InvalidGeneralName { .. })
        ));
    }

    #[test]
    fn parses_legacy_strings() {
        let bmp: Vec<u8> = "Hà Nội".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let any = Any::new(Tag::BmpString, bmp).unwrap();
        assert_eq!(any_to_string(&any).as_deref(), Some("Hà Nội"));
    }
}
