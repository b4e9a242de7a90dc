//! Distinguished names as text, quickly.
//!
//! `x509_cert`'s `Display` for a name (RFC 4514) looks every attribute type up in
//! `const_oid`'s whole database of names, a linear scan over thousands of entries per
//! attribute: a few hundred microseconds per certificate, a noticeable share of a whole
//! verification. [`display`] gives exactly the same text, looking the usual attribute
//! types up in a short table first (their names taken from the same database once),
//! and leaves anything else to `x509_cert`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use const_oid::ObjectIdentifier;
use const_oid::db::DB;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RelativeDistinguishedName};

/// The attribute types of the names on Vietnamese and most other certificates.
const USUAL: [&str; 16] = [
    "2.5.4.3",                    // CN
    "2.5.4.4",                    // surname
    "2.5.4.5",                    // serialNumber
    "2.5.4.6",                    // C
    "2.5.4.7",                    // L
    "2.5.4.8",                    // ST
    "2.5.4.9",                    // street
    "2.5.4.10",                   // O
    "2.5.4.11",                   // OU
    "2.5.4.12",                   // title
    "2.5.4.42",                   // givenName
    "2.5.4.43",                   // initials
    "2.5.4.46",                   // dnQualifier
    "0.9.2342.19200300.100.1.1",  // UID
    "0.9.2342.19200300.100.1.25", // DC
    "1.2.840.113549.1.9.1",       // emailAddress
];

/// `(type, its name as x509_cert writes it)` for [`USUAL`], from `const_oid`'s database.
fn usual() -> &'static [(ObjectIdentifier, Option<String>)] {
    static TABLE: OnceLock<Vec<(ObjectIdentifier, Option<String>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        USUAL
            .iter()
            .filter_map(|s| ObjectIdentifier::new(s).ok())
            .map(|oid| {
                // The first of the shortest names, as x509_cert chooses.
                let mut best: Option<&str> = None;
                for m in DB.find_names_for_oid(oid) {
                    if best.is_none_or(|b| m.len() < b.len()) {
                        best = Some(m);
                    }
                }
                (oid, best.map(str::to_ascii_uppercase))
            })
            .collect()
    })
}

/// `name` as RFC 4514 text, identical to `name.to_string()`.
pub fn display(name: &Name) -> String {
    let mut out = String::new();
    let rdns: &Vec<RelativeDistinguishedName> = name.as_ref().as_ref();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            write_atv(&mut out, atv);
        }
    }
    out
}

fn write_atv(out: &mut String, atv: &AttributeTypeAndValue) {
    let key = usual().iter().find(|(oid, _)| *oid == atv.oid);
    let Some((_, Some(key))) = key else {
        let _ = write!(out, "{atv}");
        return;
    };
    let value = match atv.value.tag() {
        Tag::PrintableString => PrintableStringRef::try_from(&atv.value)
            .ok()
            .map(|s| s.as_str()),
        Tag::Utf8String => Utf8StringRef::try_from(&atv.value).ok().map(|s| s.as_str()),
        Tag::Ia5String => Ia5StringRef::try_from(&atv.value).ok().map(|s| s.as_str()),
        Tag::TeletexString => TeletexStringRef::try_from(&atv.value)
            .ok()
            .map(|s| s.as_str()),
        _ => None,
    };
    let Some(value) = value else {
        let _ = write!(out, "{atv}");
        return;
    };
    out.push_str(key);
    out.push('=');
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || chars.peek().is_none() => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x00'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\{:02x}", c as u8);
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn every_usual_type_has_a_name() {
        for (oid, name) in usual() {
            assert!(name.is_some(), "{oid}");
        }
        assert_eq!(usual().len(), USUAL.len());
    }

    #[test]
    fn same_text_as_x509_cert() {
        for s in [
            "CN=Nguyễn Văn A,OU=Văn phòng,O=UBND thành phố Cần Thơ,L=Cần Thơ,C=VN",
            "UID=CMND:123+CN=A,DC=example,DC=vn",
            "2.5.4.65=#0c0470736575,CN=x",
            "CN=\u{1}ctl\u{7f}",
        ] {
            let name = Name::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(display(&name), name.to_string(), "{s}");
        }
        // Values the text parser refuses, built directly: every character RFC 4514
        // escapes, in UTF8String, PrintableString, IA5String and a BMPString (which
        // x509_cert writes as hex).
        let atv = |oid: &str, value: der::Any| AttributeTypeAndValue {
            oid: ObjectIdentifier::new_unwrap(oid),
            value,
        };
        let utf8 = |s: &str| der::Any::from(Utf8StringRef::new(s).unwrap());
        let mut rdns = x509_cert::name::RdnSequence::default();
        for value in [
            atv("2.5.4.3", utf8("#hash, comma+plus;semi<lt>gt\\bs\"q")),
            atv("2.5.4.10", utf8(" lead and trail ")),
            atv(
                "2.5.4.6",
                der::Any::from(PrintableStringRef::new("VN").unwrap()),
            ),
            atv(
                "1.2.840.113549.1.9.1",
                der::Any::from(Ia5StringRef::new("a@b.vn").unwrap()),
            ),
            atv(
                "2.5.4.11",
                der::Any::new(Tag::BmpString, [0, 0x41]).unwrap(),
            ),
        ] {
            let mut rdn = RelativeDistinguishedName::default();
            rdn.insert(value).unwrap();
            rdns.push(rdn);
        }
        let name = Name::hazmat_from_rdn_sequence(rdns);
        assert_eq!(display(&name), name.to_string());
        assert!(
            display(&name).contains("CN=\\#hash\\, comma"),
            "{}",
            display(&name)
        );
    }
}
