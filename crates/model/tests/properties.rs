//! Property tests: text forms round-trip and parsers never panic.

use kyso_model::time::{Date, Month};
use kyso_model::{
    AgencyId, AgencyIdFormat, CustomDocumentType, DocumentId, DocumentType, DocumentTypeRegistry,
    Notation, RegisterKind, SeriesKey, fold,
};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

/// ND30 type abbreviations, or `None` for the Công văn shape.
fn type_abbreviation() -> impl Strategy<Value = Option<&'static str>> {
    let abbreviations: Vec<&'static str> = DocumentType::iter()
        .filter_map(DocumentType::abbreviation)
        .collect();
    prop::option::of(prop::sample::select(abbreviations))
}

/// Issuer or unit abbreviations: mostly capitals, with Vietnamese letters, digits, some
/// lowercase and the odd punctuation that the grammar allows.
fn segment() -> impl Strategy<Value = String> {
    "[A-ZĐƯƠÂÊÔỞ][A-Za-zĐđƯƠÂÊÔỞ0-9&.]{0,7}"
}

fn notation() -> impl Strategy<Value = Notation> {
    (
        1..=u32::MAX,
        type_abbreviation(),
        segment(),
        prop::collection::vec(segment(), 0..3),
    )
        .prop_filter_map(
            "a Công văn issuer that is a type abbreviation",
            |(number, type_abbreviation, issuer, units)| {
                let units: Vec<&str> = units.iter().map(String::as_str).collect();
                Notation::new(number, type_abbreviation, &issuer, &units).ok()
            },
        )
}

fn agency_text() -> impl Strategy<Value = String> {
    r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}"
}

fn date() -> impl Strategy<Value = Date> {
    (1000..=9999i32, 1..=12u8, 1..=31u8).prop_filter_map("not a calendar date", |(y, m, d)| {
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
    })
}

/// Every Vietnamese letter, lower and upper case, with every tone, NFC.
fn vietnamese_letters() -> Vec<String> {
    let tones = ["", "\u{300}", "\u{301}", "\u{303}", "\u{309}", "\u{323}"];
    let mut letters = Vec::new();
    for vowel in ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"] {
        for tone in tones {
            let lower: String = format!("{vowel}{tone}").nfc().collect();
            letters.push(lower.to_uppercase());
            letters.push(lower);
        }
    }
    for consonant in "bcdđghklmnpqrstvx".chars() {
        letters.push(consonant.to_string());
        letters.push(consonant.to_uppercase().collect());
    }
    letters.push(" ".into());
    letters
}

proptest! {
    #[test]
    fn notation_text_round_trips(notation in notation()) {
        let text = notation.to_string();
        prop_assert_eq!(Notation::parse(&text), Ok(notation.clone()));
        prop_assert_eq!(Notation::parse(&notation.display_with_prefix()), Ok(notation.clone()));
        let nfd: String = text.nfd().collect();
        prop_assert_eq!(Notation::parse(&nfd), Ok(notation.clone()));
        let json = serde_json::to_string(&notation).unwrap();
        prop_assert_eq!(serde_json::from_str::<Notation>(&json).unwrap(), notation.clone());
        prop_assert_eq!(format!("{}/{}", notation.code_number(), notation.code_notation()), text);
    }

    #[test]
    fn notation_with_a_custom_registry_round_trips(
        number in 1..=u32::MAX,
        custom in any::<bool>(),
        issuer in segment(),
    ) {
        let mut registry = DocumentTypeRegistry::nd30();
        registry.add_custom(CustomDocumentType::new("Lịch làm việc", Some("LLV")).unwrap()).unwrap();
        let type_abbreviation = if custom { Some("LLV") } else { Some("QĐ") };
        if let Ok(notation) = Notation::new_with(number, type_abbreviation, &issuer, &[], &registry) {
            prop_assert_eq!(Notation::parse_with(&notation.to_string(), &registry), Ok(notation));
        }
    }

    #[test]
    fn notation_parse_never_panics(input in any::<String>()) {
        let _ = Notation::parse(&input);
    }

    #[test]
    fn notation_parse_is_stable_on_near_misses(
        input in "(Số: ?| )?[0-9]{0,3}[ /]?[QĐyUBNDTrS0-9–,-]{0,12}[/ -]?[A-Z]{0,3}"
    ) {
        // Whatever parses reads back to itself from its display text.
        if let Ok(notation) = Notation::parse(&input) {
            prop_assert!(notation.number() >= 1);
            prop_assert_eq!(Notation::parse(&notation.to_string()), Ok(notation));
        }
    }

    #[test]
    fn agency_id_round_trips(text in agency_text()) {
        let id = AgencyId::parse(&text).unwrap();
        prop_assert_eq!(id.as_str(), text.as_str());
        let shown = id.to_string();
        prop_assert_eq!(AgencyId::parse(&shown), Ok(id.clone()));
        prop_assert_eq!(id.groups().join("."), text);
        prop_assert!(id.conforms_to(AgencyIdFormat::Lenient));
    }

    #[test]
    fn agency_id_parse_never_panics(input in any::<String>()) {
        let strict = AgencyId::parse(&input);
        let lenient = AgencyId::parse_with(&input, AgencyIdFormat::Lenient);
        // Lenient accepts everything strict accepts.
        prop_assert!(strict.is_err() || lenient.is_ok());
    }

    #[test]
    fn document_id_round_trips(text in agency_text(), year in 1000..=9999u16, sequence in 1..=u32::MAX) {
        let id = DocumentId::new(AgencyId::parse(&text).unwrap(), year, sequence).unwrap();
        prop_assert_eq!(id.to_string(), format!("{text},{year},{sequence}"));
        prop_assert_eq!(DocumentId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn document_id_with_notation_round_trips(text in agency_text(), issued in date(), notation in notation()) {
        let agency = AgencyId::parse(&text).unwrap();
        let id = DocumentId::from_notation(agency, issued, &notation).unwrap();
        let parsed = DocumentId::parse(&id.to_string()).unwrap();
        prop_assert_eq!(parsed.issue_date(), Some(issued));
        prop_assert_eq!(parsed.notation_text().map(Notation::parse), Some(Ok(notation)));
        prop_assert_eq!(parsed, id);
    }

    #[test]
    fn document_id_parse_never_panics(input in any::<String>(), near in "[0-9.A-Z]{13},[0-9/]{0,11},[0-9/QĐ-]{0,6}") {
        let _ = DocumentId::parse(&input);
        let _ = DocumentId::parse_with(&near, AgencyIdFormat::Lenient);
    }

    #[test]
    fn series_key_round_trips(text in agency_text(), year in 1000..=9999u16, name in "[A-ZĐ0-9]{1,8}", kind in 0..6usize) {
        let register = match kind {
            0 => RegisterKind::Outgoing,
            1 => RegisterKind::Secret,
            2 => RegisterKind::advisory_body(&name).unwrap(),
            3 => RegisterKind::Copies,
            4 => RegisterKind::Incoming,
            _ => RegisterKind::Minutes,
        };
        let key = SeriesKey::new(AgencyId::parse(&text).unwrap(), year, register).unwrap();
        prop_assert_eq!(SeriesKey::parse(&key.to_string()), Ok(key));
    }

    #[test]
    fn series_key_parse_never_panics(input in any::<String>()) {
        let _ = SeriesKey::parse(&input);
    }

    #[test]
    fn vietnamese_text_folds_to_ascii(
        letters in prop::collection::vec(prop::sample::select(vietnamese_letters()), 0..24)
    ) {
        let text: String = letters.concat();
        let folded = fold(&text);
        prop_assert!(folded.is_ascii(), "{text:?} -> {folded:?}");
        prop_assert!(!folded.chars().any(|c| c.is_ascii_uppercase()));
        prop_assert_eq!(fold(&folded), folded.clone());
        let nfd: String = text.nfd().collect();
        prop_assert_eq!(fold(&nfd), folded);
    }
}
