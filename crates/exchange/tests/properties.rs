//! Property tests: generated headers (Vietnamese text with diacritics, XML and JSON
//! special characters) round-trip through both formats; parsers never panic on random or
//! mutated bytes.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

#[path = "support/fixtures.rs"]
mod fixtures;

use kyso_exchange::edxml;
use kyso_exchange::{
    Attachment, Code, Header, Hop, Limits, Organization, Package, PromulgationInfo, ResponseFor,
    StaffInfo, StatusMessage, VnDateTime,
};
use kyso_model::time::{Date, Month, PrimitiveDateTime, Time};
use kyso_model::{AgencyId, BusinessDocType, DocumentId, StatusCode, Urgency};
use proptest::prelude::*;

/// Text of up to `max` characters: Vietnamese letters with every tone mark, spaces,
/// digits and the characters XML and JSON escape.
fn text(max: usize) -> impl Strategy<Value = String> {
    let pattern = format!(
        "[a-zA-Z0-9 ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ<>&\"'/.,;:()\\-]{{0,{max}}}"
    );
    proptest::string::string_regex(&pattern).unwrap()
}

fn required(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_filter("not blank", |t| !t.trim().is_empty())
}

fn multiline(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(text(max / 4), 0..4).prop_map(|lines| lines.join("\n"))
}

fn agency() -> impl Strategy<Value = AgencyId> {
    ("[0-9]{3}", "[0-9]{2}", "[0-9]{2}", "[A-Z]", "[0-9]{2}")
        .prop_map(|(a, b, c, l, d)| AgencyId::parse(&format!("{a}.{b}.{c}.{l}{d}")).unwrap())
}

fn date() -> impl Strategy<Value = Date> {
    (1990i32..2100, 1u8..=12, 1u8..=28)
        .prop_map(|(y, m, d)| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
}

fn time() -> impl Strategy<Value = VnDateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60).prop_map(|(d, h, m, s)| {
        VnDateTime::from_local(PrimitiveDateTime::new(d, Time::from_hms(h, m, s).unwrap()))
    })
}

fn document_id() -> impl Strategy<Value = DocumentId> {
    prop_oneof![
        (agency(), 1000u16..9999, 1u32..100_000)
            .prop_map(|(a, y, s)| DocumentId::new(a, y, s).unwrap()),
        (agency(), date(), 1u32..9999, "[A-ZĐ]{1,4}-[A-ZĐ]{1,6}").prop_map(|(a, d, n, t)| {
            let text = format!(
                "{a},{:04}/{:02}/{:02},{n}/{t}",
                d.year(),
                u8::from(d.month()),
                d.day()
            );
            DocumentId::parse(&text).unwrap()
        }),
    ]
}

fn organization() -> impl Strategy<Value = Organization> {
    (
        agency(),
        text(200),
        text(60),
        "[a-z0-9.@]{0,40}",
        "[0-9 ]{0,20}",
    )
        .prop_map(|(id, name, address, email, phone)| Organization {
            organ_add: address,
            email,
            telephone: phone.clone(),
            fax: phone,
            ..Organization::new(id, name)
        })
}

prop_compose! {
    fn header()(
        from in organization(),
        to in prop::collection::vec(organization(), 1..4),
        number in "[0-9]{0,4}",
        notation in required(30),
        place in text(50),
        issued in date(),
        type_name in text(100),
        subject in (required(100), multiline(300)).prop_map(|(a, b)| format!("{a}\n{b}")),
        content in multiline(400),
        signer in (text(100), text(100), text(50)),
        priority in prop::sample::select(Urgency::ALL.to_vec()),
        due in prop::option::of(date()),
        to_places in prop::collection::vec(required(150), 0..3),
        appendixes in prop::collection::vec(required(250), 0..3),
        amounts in (prop::option::of(any::<u32>()), prop::option::of(any::<u32>())),
        responses in prop::collection::vec((agency(), text(50), prop::option::of(date()), document_id()), 0..2),
        steering in prop::option::of(0u8..4),
        id in document_id(),
        business in (prop::sample::select(BusinessDocType::ALL.to_vec()), required(200), document_id(), any::<bool>()),
        staff in (text(60), text(60), "[0-9]{0,12}", "[a-z@.]{0,30}"),
    ) -> Header {
        let mut to = to;
        to.dedup_by(|a, b| a.organ_id == b.organ_id);
        let mut seen = std::collections::BTreeSet::new();
        to.retain(|o| seen.insert(o.organ_id.clone()));
        let mut header = Header::new(
            from,
            to,
            Code { code_number: number, code_notation: notation },
            PromulgationInfo { place, promulgation_date: issued },
            type_name,
            subject,
            id,
        );
        header.content = content;
        (header.signer.competence, header.signer.position, header.signer.full_name) = signer;
        header.priority = priority;
        header.due_date = due;
        header.to_places = to_places;
        header.other.appendixes = appendixes;
        (header.other.promulgation_amount, header.other.page_amount) = amounts;
        header.response_for = responses
            .into_iter()
            .map(|(organ_id, code, promulgation_date, document_id)| ResponseFor {
                organ_id,
                code,
                promulgation_date,
                document_id,
            })
            .collect();
        header.steering_type = steering;
        let (doc_type, reason, earlier, paper) = business;
        header.business.doc_type = doc_type;
        header.business.paper = paper;
        if doc_type.refers_to_earlier_document() {
            header.business.reason = reason;
            header.business.document_id = Some(earlier);
        }
        header.business.staff = StaffInfo {
            department: staff.0,
            staff: staff.1,
            mobile: staff.2,
            email: staff.3,
        };
        header
    }
}

fn attachments() -> impl Strategy<Value = Vec<Attachment>> {
    prop::collection::vec(
        (
            "[a-zA-Z0-9 ăâđêôơưáàảãạếềểễệốồổỗộứừửữự_-]{1,30}\\.(pdf|docx|xml)",
            prop::sample::select(vec!["application/pdf", "", "application/xml"]),
            prop::collection::vec(any::<u8>(), 0..300),
            text(40),
        ),
        0..4,
    )
    .prop_map(|items| {
        let mut seen = std::collections::BTreeSet::new();
        items
            .into_iter()
            .filter(|(name, ..)| seen.insert(name.trim().to_lowercase()))
            .map(|(name, content_type, content, description)| Attachment {
                description,
                ..Attachment::new(name, content_type, content)
            })
            .collect()
    })
}

fn package() -> impl Strategy<Value = Package> {
    (
        header(),
        attachments(),
        prop::collection::vec((agency(), time()), 0..3),
    )
        .prop_map(|(header, attachments, hops)| {
            let mut package = Package::new(header, attachments).unwrap();
            for (organ_id, timestamp) in hops {
                package = package.with_hop(Hop {
                    organ_id,
                    timestamp,
                });
            }
            package
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn kyso_format_round_trips(package in package()) {
        let bytes = package.to_bytes();
        let parsed = Package::parse(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(&parsed, &package);
        prop_assert_eq!(parsed.to_bytes(), bytes);
        prop_assert_eq!(parsed.digest(), package.digest());
    }

    #[test]
    fn edxml_round_trips(package in package()) {
        let xml = edxml::export_package(&package);
        let imported = edxml::import_package(xml.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(&imported, &package);
        prop_assert_eq!(edxml::export_package(&imported), xml);
    }

    #[test]
    fn status_round_trips(
        code in prop::sample::select(StatusCode::ALL.to_vec()),
        from in organization(),
        organ in agency(),
        id in document_id(),
        description in multiline(400),
        timestamp in time(),
        staff in (text(60), text(60)),
    ) {
        let mut message = StatusMessage::new(ResponseFor::new(organ, id), from, code, timestamp);
        message.description = description;
        message.staff.department = staff.0;
        message.staff.staff = staff.1;
        if message.normalize().is_err() {
            // Only a missing reason may fail.
            prop_assert!(StatusMessage::needs_reason(code));
            return Ok(());
        }
        let json = message.to_json().unwrap();
        prop_assert_eq!(&StatusMessage::from_json(&json, &Limits::default()).unwrap(), &message);
        let xml = edxml::export_status(&message).unwrap();
        prop_assert_eq!(&edxml::import_status(xml.as_bytes(), &Limits::default()).unwrap(), &message);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let limits = Limits::default();
        let _ = Package::parse(&bytes, &limits);
        let _ = edxml::import_package(&bytes, &limits);
        let _ = edxml::import_status(&bytes, &limits);
        let _ = StatusMessage::from_json(&bytes, &limits);
        let mut prefixed = kyso_exchange::MAGIC.to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = Package::parse(&prefixed, &limits);
    }

    #[test]
    fn mutated_packages_never_panic_and_never_parse_changed(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let original = fixtures::package();
        let bytes = original.to_bytes();
        let mut mutated = bytes.clone();
        for (index, value) in edits {
            let at = index.index(mutated.len());
            mutated[at] = value;
        }
        if truncate {
            mutated.truncate(cut.index(mutated.len()));
        }
        let limits = Limits::default();
        match Package::parse(&mutated, &limits) {
            // Only bytes outside the digest's reach may change and still parse: the
            // trace. Everything the digest covers must be intact.
            Ok(parsed) => {
                prop_assert_eq!(parsed.header(), original.header());
                prop_assert_eq!(parsed.attachments(), original.attachments());
            }
            Err(error) => {
                prop_assert!(!error.to_string().is_empty());
                prop_assert!(!error.vietnamese().is_empty());
            }
        }
        let xml = edxml::export_package(&original).into_bytes();
        let mut mutated_xml = xml.clone();
        let at = cut.index(mutated_xml.len());
        mutated_xml[at] = mutated_xml[at].wrapping_add(1);
        let _ = edxml::import_package(&mutated_xml, &limits);
        let _ = edxml::import_package(&xml[..at], &limits);
    }
}
