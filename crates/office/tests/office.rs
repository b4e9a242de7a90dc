//! The office over the in-memory store: numbering rules, policies, lifecycles.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use kyso_model::{AgencyId, DocumentType, RegisterKind, Secrecy, SeriesKey, Urgency};
use kyso_office::{
    DocState, DocumentQuery, ElectronicPolicy, Event, FileCode, IncomingRequest, IncomingState,
    MemoryStore, Metadata, NotationTemplate, Office, OfficeError, OutgoingNumber, OutgoingRequest,
    OutgoingState, RecordFile, Step, Store, register_sheet, to_csv,
};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

/// The memory store's futures are ready at once; poll them to completion.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

const AT: OffsetDateTime = datetime!(2025-03-04 02:00 UTC);

fn h13() -> AgencyId {
    AgencyId::parse("000.00.00.H13").unwrap()
}

fn outgoing(document_type: DocumentType, date: Date, secrecy: Secrecy) -> OutgoingRequest {
    OutgoingRequest {
        agency: h13(),
        date,
        document_type,
        secrecy,
        urgency: Urgency::Thuong,
        electronic: !secrecy.is_secret(),
        number: OutgoingNumber::Allocate {
            issuer: "UBND".into(),
            units: if document_type == DocumentType::CongVan {
                vec!["VP".into()]
            } else {
                vec![]
            },
            advisory_body: None,
        },
        state: OutgoingState::Numbered,
        metadata: Metadata {
            subject: "Về việc thử nghiệm".into(),
            organ_name: "UBND thành phố Cần Thơ".into(),
            ..Metadata::default()
        },
        original: None,
    }
}

fn number_of(office: &Office<MemoryStore>, request: OutgoingRequest) -> String {
    block_on(office.register_outgoing(request, None, AT))
        .unwrap()
        .record
        .metadata
        .number_notation()
        .unwrap()
}

#[test]
fn numbers_run_per_year_and_restart_on_1_january() {
    let office = Office::new(MemoryStore::new());
    for expected in ["01/UBND-VP", "02/UBND-VP", "03/UBND-VP"] {
        let got = number_of(
            &office,
            outgoing(DocumentType::CongVan, date!(2025 - 12 - 31), Secrecy::None),
        );
        assert_eq!(got, expected);
    }
    let first_2026 = block_on(office.register_outgoing(
        outgoing(DocumentType::CongVan, date!(2026 - 01 - 01), Secrecy::None),
        None,
        AT,
    ))
    .unwrap()
    .record;
    assert_eq!(
        first_2026.metadata.number_notation().as_deref(),
        Some("01/UBND-VP")
    );
    assert_eq!(first_2026.year, 2026);
    assert_eq!(
        first_2026
            .series
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("000.00.00.H13/2026/outgoing")
    );
    // Back in 2025 (a late registration dated 31 December) continues 2025's series.
    let late = number_of(
        &office,
        outgoing(DocumentType::CongVan, date!(2025 - 12 - 31), Secrecy::None),
    );
    assert_eq!(late, "04/UBND-VP");
}

#[test]
fn secret_documents_have_their_own_series_and_no_original() {
    let office = Office::new(MemoryStore::new());
    let policy = ElectronicPolicy::new(DocumentType::iter());
    block_on(office.set_policy(&h13(), &policy, AT)).unwrap();
    let d = date!(2025 - 05 - 05);
    assert_eq!(
        number_of(&office, outgoing(DocumentType::QuyetDinh, d, Secrecy::None)),
        "01/QĐ-UBND"
    );
    // Secret: metadata only, paper flow, its own series.
    let secret = block_on(office.register_outgoing(
        outgoing(DocumentType::QuyetDinh, d, Secrecy::ToiMat),
        None,
        AT,
    ))
    .unwrap()
    .record;
    assert_eq!(
        secret.metadata.number_notation().as_deref(),
        Some("01/QĐ-UBND")
    );
    assert_eq!(
        secret.series.as_ref().unwrap().register(),
        &RegisterKind::Secret
    );
    assert!(secret.archive_dir.is_none());
    assert_eq!(
        number_of(&office, outgoing(DocumentType::QuyetDinh, d, Secrecy::None)),
        "02/QĐ-UBND"
    );
    assert_eq!(
        number_of(&office, outgoing(DocumentType::BaoCao, d, Secrecy::Mat)),
        "02/BC-UBND"
    );

    // An electronic original of a secret document is refused, even with the widest policy.
    let mut with_original = outgoing(DocumentType::QuyetDinh, d, Secrecy::Mat);
    with_original.electronic = false;
    let refused = block_on(office.register_outgoing(with_original, Some(b"%PDF".to_vec()), AT));
    match refused {
        Err(OfficeError::Refused(r)) => {
            assert_eq!(r.code, "secret_document");
            assert!(r.to_string().contains(" / "), "bilingual: {r}");
        }
        other => panic!("{other:?}"),
    }
    // Electronic handling of a secret document is refused too.
    let mut electronic = outgoing(DocumentType::CongVan, d, Secrecy::TuyetMat);
    electronic.electronic = true;
    assert!(matches!(
        block_on(office.register_outgoing(electronic, None, AT)),
        Err(OfficeError::Refused(_))
    ));
    // Refusals took no number.
    let secret_series = SeriesKey::new(h13(), 2025, RegisterKind::Secret).unwrap();
    let entries = block_on(office.store().documents(&DocumentQuery {
        series: Some(secret_series),
        ..DocumentQuery::default()
    }))
    .unwrap();
    assert_eq!(entries.len(), 2);
}

#[test]
fn advisory_bodies_have_their_own_series() {
    let office = Office::new(MemoryStore::new());
    let d = date!(2025 - 05 - 05);
    assert_eq!(
        number_of(&office, outgoing(DocumentType::ThongBao, d, Secrecy::None)),
        "01/TB-UBND"
    );
    let mut advisory = outgoing(DocumentType::ThongBao, d, Secrecy::None);
    advisory.number = OutgoingNumber::Allocate {
        issuer: "HĐTĐKT".into(),
        units: vec![],
        advisory_body: Some("HĐTĐKT".into()),
    };
    assert_eq!(number_of(&office, advisory.clone()), "01/TB-HĐTĐKT");
    assert_eq!(number_of(&office, advisory), "02/TB-HĐTĐKT");
    assert_eq!(
        number_of(&office, outgoing(DocumentType::ThongBao, d, Secrecy::None)),
        "02/TB-UBND"
    );
}

#[test]
fn policy_refuses_types_not_issued_electronically() {
    let office = Office::new(MemoryStore::new());
    let d = date!(2025 - 05 - 05);
    let refused = block_on(office.register_outgoing(
        outgoing(DocumentType::QuyetDinh, d, Secrecy::None),
        None,
        AT,
    ));
    match refused {
        Err(OfficeError::Refused(r)) => {
            assert_eq!(r.code, "type_not_electronic");
            assert!(r.vi.contains("Quyết định"));
            assert!(r.en.contains("Decision"));
        }
        other => panic!("{other:?}"),
    }
    // The administrator widens the policy for this agency only.
    block_on(office.set_policy(
        &h13(),
        &ElectronicPolicy::new([DocumentType::QuyetDinh, DocumentType::CongVan]),
        AT,
    ))
    .unwrap();
    assert_eq!(
        number_of(&office, outgoing(DocumentType::QuyetDinh, d, Secrecy::None)),
        "01/QĐ-UBND"
    );
    // … and the paper flow (not electronic) never needed it.
    let mut paper = outgoing(DocumentType::ChiThi, d, Secrecy::None);
    paper.electronic = false;
    // One register for all administrative types: CT follows QĐ.
    assert_eq!(number_of(&office, paper), "02/CT-UBND");
}

#[test]
fn duplicates_are_reported() {
    let office = Office::new(MemoryStore::new());
    let mut existing = outgoing(DocumentType::CongVan, date!(2025 - 05 - 05), Secrecy::None);
    existing.number = OutgoingNumber::Existing("Số: 07/UBND-VP".into());
    existing.electronic = false;
    existing.state = OutgoingState::Issued;
    let first = block_on(office.register_outgoing(existing.clone(), None, AT)).unwrap();
    assert!(first.duplicates.is_empty());
    let second = block_on(office.register_outgoing(existing.clone(), None, AT)).unwrap();
    assert_eq!(second.duplicates.len(), 1);
    assert_eq!(second.duplicates[0].id, first.record.id);
    // Next year the same number is legitimate.
    existing.date = date!(2026 - 01 - 02);
    existing.metadata.issued_date = None;
    let third = block_on(office.register_outgoing(existing, None, AT)).unwrap();
    assert!(third.duplicates.is_empty());
}

#[test]
fn lifecycles_through_the_office() {
    let office = Office::new(MemoryStore::new());
    let step = |event, date: Date| Step {
        event,
        note: String::new(),
        template: Some(NotationTemplate::new(DocumentType::BaoCao, "UBND", &[]).unwrap()),
        advisory_body: None,
        at: AT,
        date,
    };
    let mut draft = outgoing(DocumentType::BaoCao, date!(2025 - 12 - 30), Secrecy::None);
    draft.number = OutgoingNumber::None;
    draft.state = OutgoingState::Draft;
    let id = block_on(office.register_outgoing(draft, None, AT))
        .unwrap()
        .record
        .id
        .unwrap();
    let signed =
        block_on(office.advance(id, step(Event::LeaderSign, date!(2025 - 12 - 31)))).unwrap();
    assert_eq!(
        signed.state,
        DocState::Outgoing(OutgoingState::LeaderSigned)
    );
    assert!(signed.metadata.code_number.is_none());
    // Numbered on 2 January: takes 2026's first number.
    let numbered =
        block_on(office.advance(id, step(Event::Number, date!(2026 - 01 - 02)))).unwrap();
    assert_eq!(
        numbered.metadata.number_notation().as_deref(),
        Some("01/BC-UBND")
    );
    assert_eq!(numbered.year, 2026);
    assert!(matches!(
        block_on(office.advance(id, step(Event::Issue, date!(2026 - 01 - 02)))),
        Err(OfficeError::InvalidTransition { .. })
    ));
    block_on(office.advance(id, step(Event::SealSign, date!(2026 - 01 - 02)))).unwrap();
    block_on(office.advance(id, step(Event::Issue, date!(2026 - 01 - 02)))).unwrap();
    let recalled =
        block_on(office.advance(id, step(Event::Recall, date!(2026 - 01 - 03)))).unwrap();
    assert_eq!(recalled.state, DocState::Outgoing(OutgoingState::Recalled));
    let history = block_on(office.store().history(id)).unwrap();
    let events: Vec<&str> = history.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "register",
            "leader_sign",
            "number",
            "seal_sign",
            "issue",
            "recall"
        ]
    );

    // Incoming: the arrival number is taken on acceptance.
    let incoming = |state| IncomingRequest {
        agency: h13(),
        arrival_date: date!(2025 - 06 - 01),
        document_type: DocumentType::QuyetDinh,
        secrecy: Secrecy::None,
        urgency: Urgency::Khan,
        sender_number: Some("15/QĐ-UBND".into()),
        state,
        metadata: Metadata {
            organ_name: "UBND tỉnh Hậu Giang".into(),
            subject: "Về việc …".into(),
            ..Metadata::default()
        },
        original: None,
    };
    let accepted = block_on(office.register_incoming(incoming(IncomingState::Accepted), None, AT))
        .unwrap()
        .record;
    assert_eq!(accepted.metadata.arrival_number, Some(1));
    assert_eq!(
        accepted.metadata.number_notation().as_deref(),
        Some("15/QĐ-UBND")
    );
    let received = block_on(office.register_incoming(incoming(IncomingState::Received), None, AT))
        .unwrap()
        .record;
    assert_eq!(received.metadata.arrival_number, None);
    let rid = received.id.unwrap();
    assert!(block_on(office.advance(rid, step(Event::Accept, date!(2025 - 06 - 02)))).is_err());
    let mut refuse = step(Event::Refuse, date!(2025 - 06 - 02));
    assert!(
        block_on(office.advance(rid, refuse.clone())).is_err(),
        "needs a reason"
    );
    refuse.note = "chữ ký không hợp lệ".into();
    let refused = block_on(office.advance(rid, refuse)).unwrap();
    assert_eq!(refused.state, DocState::Incoming(IncomingState::Refused));
    assert_eq!(refused.metadata.arrival_number, None);
    let third = block_on(office.register_incoming(incoming(IncomingState::Verified), None, AT))
        .unwrap()
        .record;
    let third = block_on(office.advance(
        third.id.unwrap(),
        step(Event::Accept, date!(2025 - 06 - 02)),
    ))
    .unwrap();
    assert_eq!(
        third.metadata.arrival_number,
        Some(2),
        "refused documents take no số đến"
    );
    assert_eq!(third.metadata.arrival_date, Some(date!(2025 - 06 - 01)));
}

#[test]
fn registers_print_and_files_list() {
    let office = Office::new(MemoryStore::new());
    for _ in 0..3 {
        number_of(
            &office,
            outgoing(DocumentType::CongVan, date!(2025 - 02 - 01), Secrecy::None),
        );
    }
    let series = SeriesKey::new(h13(), 2025, RegisterKind::Outgoing).unwrap();
    let entries = block_on(office.store().documents(&DocumentQuery {
        series: Some(series.clone()),
        ..DocumentQuery::default()
    }))
    .unwrap();
    let sheet = register_sheet(&series, "UBND thành phố Cần Thơ", &entries);
    assert_eq!(sheet.rows.len(), 3);
    assert_eq!(sheet.rows[2][0], "03/UBND-VP");
    assert_eq!(sheet.rows[0][1], "01/02/2025");
    let csv = to_csv(&sheet);
    assert!(csv.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐI"));
    assert!(kyso_office::to_pdf(&sheet).unwrap().starts_with(b"%PDF"));

    let code = FileCode::parse("000.00.00.H13.2025.01.TCCB").unwrap();
    let file = RecordFile {
        file_code: code.clone(),
        heading: "I. Tổ chức cán bộ".into(),
        title: "Hồ sơ bổ nhiệm".into(),
        maintenance: "Vĩnh viễn".into(),
        rights: String::new(),
        creator: "Văn phòng".into(),
        language: "vi".into(),
        start_date: None,
        end_date: None,
        doc_total: 0,
        page_total: 0,
        description: String::new(),
    };
    assert!(file.is_permanent());
    block_on(office.store().create_file(&file)).unwrap();
    assert!(block_on(office.store().create_file(&file)).is_err());
    for d in entries.iter().rev() {
        block_on(office.store().file_document(&code, d.id.unwrap())).unwrap();
    }
    assert_eq!(
        block_on(office.store().file_document(&code, entries[2].id.unwrap())).unwrap(),
        1
    );
    let mut docs = block_on(office.store().file_documents(&code)).unwrap();
    assert_eq!(docs[0].metadata.doc_ordinal, Some(1));
    kyso_office::chronological(&mut docs);
    assert_eq!(
        block_on(office.store().record_files(&h13(), 2025))
            .unwrap()
            .len(),
        1
    );
}
