//! The store on SQLite and on PostgreSQL: numbering under concurrency, year rollover,
//! secret series, policy refusals, originals in the archive tree, lifecycles and files.
//!
//! PostgreSQL: set `KYSO_TEST_POSTGRES_URL` (scripts/test.sh starts a server on
//! 127.0.0.1:55432). Without it the PostgreSQL half is skipped with a note, unless
//! `CI=true` or `KYSO_REQUIRE_POSTGRES=1`, where it fails.

#![allow(clippy::unwrap_used)]

#[path = "support/backends.rs"]
mod backends;

use backends::environments;
use std::path::Path;
use std::sync::Arc;

use kyso_model::{AgencyId, DocumentType, RegisterKind, Secrecy, SeriesKey, Urgency};
use kyso_office::{
    DocState, DocumentQuery, ElectronicPolicy, Event, FileCode, IncomingRequest, IncomingState,
    Metadata, NotationTemplate, Office, OfficeError, OutgoingNumber, OutgoingRequest,
    OutgoingState, RecordFile, Step, Store,
};
use kyso_store::Archive;
use tempfile::TempDir;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const AT: OffsetDateTime = datetime!(2025-03-04 02:00 UTC);

fn h13() -> AgencyId {
    AgencyId::parse("000.00.00.H13").unwrap()
}

fn request(document_type: DocumentType, date: Date, secrecy: Secrecy) -> OutgoingRequest {
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
            subject: "Về việc thử nghiệm kho lưu trữ".into(),
            organ_name: "UBND thành phố Cần Thơ".into(),
            ..Metadata::default()
        },
        original: None,
    }
}

async fn series_numbers(archive: &Archive, series: SeriesKey) -> Vec<u32> {
    archive
        .documents(&DocumentQuery {
            series: Some(series),
            ..DocumentQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.series_number.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_numbering_is_gapless_and_unique() {
    const TASKS: u32 = 8;
    const EACH: u32 = 100;
    for env in environments().await {
        let office = Arc::new(Office::new(env.archive.clone()));
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let office = office.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..EACH {
                    let r = office
                        .register_outgoing(
                            request(DocumentType::CongVan, date!(2025 - 06 - 01), Secrecy::None),
                            None,
                            AT,
                        )
                        .await
                        .unwrap();
                    mine.push(r.record.series_number.unwrap());
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (1..=TASKS * EACH).collect::<Vec<_>>(), "{}", env.name);
        let series = SeriesKey::new(h13(), 2025, RegisterKind::Outgoing).unwrap();
        assert_eq!(
            series_numbers(&env.archive, series).await,
            (1..=TASKS * EACH).collect::<Vec<_>>(),
            "{}",
            env.name
        );
        assert_eq!(env.archive.check().await.unwrap(), Vec::<String>::new());
        env.archive.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn year_rollover_restarts_at_01() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let number = |d| {
            let office = &office;
            async move {
                office
                    .register_outgoing(request(DocumentType::CongVan, d, Secrecy::None), None, AT)
                    .await
                    .unwrap()
                    .record
                    .metadata
                    .number_notation()
                    .unwrap()
            }
        };
        assert_eq!(number(date!(2025 - 12 - 31)).await, "01/UBND-VP");
        assert_eq!(number(date!(2025 - 12 - 31)).await, "02/UBND-VP");
        assert_eq!(
            number(date!(2026 - 01 - 01)).await,
            "01/UBND-VP",
            "{}",
            env.name
        );
        assert_eq!(number(date!(2026 - 01 - 01)).await, "02/UBND-VP");
        assert_eq!(number(date!(2025 - 12 - 31)).await, "03/UBND-VP");
        env.archive.close().await;
    }
}

/// The lists of the web pages: any of several states, the newest first, at most N; the
/// other filters with them; register order without `newest`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_by_state_newest_first() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let mut ids = Vec::new();
        for (i, state) in [
            OutgoingState::Numbered,
            OutgoingState::Draft,
            OutgoingState::Numbered,
            OutgoingState::SealSigned,
            OutgoingState::Numbered,
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = request(DocumentType::CongVan, date!(2025 - 03 - 04), Secrecy::None);
            r.state = state;
            if state == OutgoingState::Draft {
                r.number = OutgoingNumber::None;
            }
            r.metadata.subject = format!("Văn bản {i}");
            let d = office.register_outgoing(r, None, AT).await.unwrap();
            ids.push(d.record.id.unwrap());
        }
        let list = |states: Vec<DocState>, newest: Option<u32>, year: Option<u16>| {
            let archive = env.archive.clone();
            async move {
                archive
                    .documents(&DocumentQuery {
                        agency: Some(h13()),
                        year,
                        states,
                        newest,
                        ..DocumentQuery::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.id.unwrap())
                    .collect::<Vec<_>>()
            }
        };
        let numbered = DocState::Outgoing(OutgoingState::Numbered);
        let sealed = DocState::Outgoing(OutgoingState::SealSigned);
        assert_eq!(
            list(vec![numbered], Some(2), None).await,
            [ids[4], ids[2]],
            "{}",
            env.name
        );
        assert_eq!(
            list(vec![numbered, sealed], Some(10), Some(2025)).await,
            [ids[4], ids[3], ids[2], ids[0]],
            "{}",
            env.name
        );
        assert!(list(vec![numbered], Some(10), Some(2024)).await.is_empty());
        assert_eq!(list(vec![], None, None).await.len(), 5, "{}", env.name);
        // The archive tree's folders: one grouped count.
        assert_eq!(
            env.archive.document_counts(&h13()).await.unwrap(),
            [(2025, DocumentType::CongVan, 5)],
            "{}",
            env.name
        );
        env.archive.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_series_and_policy_refusals() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let d = date!(2025 - 04 - 01);
        office
            .set_policy(&h13(), &ElectronicPolicy::new(DocumentType::iter()), AT)
            .await
            .unwrap();
        let n = |r: kyso_office::Registered| r.record.metadata.number_notation().unwrap();
        assert_eq!(
            n(office
                .register_outgoing(request(DocumentType::QuyetDinh, d, Secrecy::None), None, AT)
                .await
                .unwrap()),
            "01/QĐ-UBND"
        );
        let secret = office
            .register_outgoing(
                request(DocumentType::QuyetDinh, d, Secrecy::ToiMat),
                None,
                AT,
            )
            .await
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
        assert_eq!(
            n(office
                .register_outgoing(request(DocumentType::QuyetDinh, d, Secrecy::None), None, AT)
                .await
                .unwrap()),
            "02/QĐ-UBND"
        );

        // A secret document with an electronic original: refused, nothing written.
        let source = env._dir.path().join("mat.pdf");
        std::fs::write(&source, b"%PDF-1.7 secret").unwrap();
        let staged = env.archive.stage(&source, None, None).await.unwrap();
        let mut secret_file = request(DocumentType::QuyetDinh, d, Secrecy::Mat);
        secret_file.electronic = false;
        match office
            .register_outgoing(secret_file, Some(staged), AT)
            .await
        {
            Err(OfficeError::Refused(r)) => assert_eq!(r.code, "secret_document"),
            other => panic!("{}: {other:?}", env.name),
        }
        // Back to the administrator's narrower default: QĐ is refused electronically.
        office
            .set_policy(&h13(), &ElectronicPolicy::default(), AT)
            .await
            .unwrap();
        match office
            .register_outgoing(request(DocumentType::QuyetDinh, d, Secrecy::None), None, AT)
            .await
        {
            Err(OfficeError::Refused(r)) => assert_eq!(r.code, "type_not_electronic"),
            other => panic!("{}: {other:?}", env.name),
        }
        // Refusals took no number and left no file.
        let secret_series = SeriesKey::new(h13(), 2025, RegisterKind::Secret).unwrap();
        assert_eq!(series_numbers(&env.archive, secret_series).await, [1]);
        let outgoing = SeriesKey::new(h13(), 2025, RegisterKind::Outgoing).unwrap();
        assert_eq!(series_numbers(&env.archive, outgoing).await, [1, 2]);
        assert_eq!(
            std::fs::read_dir(env.archive.root().join(".staging"))
                .unwrap()
                .count(),
            0,
            "staged file removed"
        );
        assert_eq!(env.archive.check().await.unwrap(), Vec::<String>::new());
        env.archive.close().await;
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_live_byte_exact_in_the_tree() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let tmp = env._dir.path();
        let pdf = b"%PDF-1.7\n% signed original\n%%EOF\n".to_vec();
        let source = write(tmp, "QĐ 15.pdf", &pdf);
        let staged = env
            .archive
            .stage(&source, None, Some(serde_json::json!({"verdict": "valid"})))
            .await
            .unwrap();
        let mut existing = request(
            DocumentType::QuyetDinh,
            date!(2025 - 03 - 04),
            Secrecy::None,
        );
        existing.electronic = false;
        existing.number = OutgoingNumber::Existing("15/QĐ-UBND".into());
        existing.state = OutgoingState::Issued;
        let first = office
            .register_outgoing(existing.clone(), Some(staged), AT)
            .await
            .unwrap();
        let record = first.record;
        assert_eq!(
            record.archive_dir.as_deref(),
            Some("000.00.00.H13/2025/QĐ/15-QĐ-UBND")
        );
        let path = env.archive.original_path(&record).unwrap();
        assert!(path.ends_with("000.00.00.H13/2025/QĐ/15-QĐ-UBND/document.pdf"));
        assert_eq!(std::fs::read(&path).unwrap(), pdf);
        assert_eq!(std::fs::read(&source).unwrap(), pdf, "source untouched");
        let folder = path.parent().unwrap();
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("metadata.json")).unwrap()).unwrap();
        assert_eq!(metadata["CodeNumber"], "15");
        assert_eq!(metadata["CodeNotation"], "QĐ-UBND");
        assert_eq!(metadata["TypeName"], "Quyết định");
        assert_eq!(metadata["IssuedDate"], "2025-03-04");
        assert_eq!(metadata["Kyso"]["State"], "outgoing:issued");
        let verification: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("verification.json")).unwrap())
                .unwrap();
        assert_eq!(verification["verdict"], "valid");
        assert_eq!(
            env.archive
                .verification(record.id.unwrap())
                .await
                .unwrap()
                .unwrap()["verdict"],
            "valid"
        );

        // The same number and notation again (another copy): alerted, and a second folder.
        let other = write(tmp, "other.pdf", b"%PDF-1.7 other");
        let staged = env.archive.stage(&other, None, None).await.unwrap();
        let sha = staged.sha256().to_string();
        let second = office
            .register_outgoing(existing, Some(staged), AT)
            .await
            .unwrap();
        assert_eq!(second.duplicates.len(), 1, "{}", env.name);
        assert_eq!(
            second.record.archive_dir.as_deref(),
            Some("000.00.00.H13/2025/QĐ/15-QĐ-UBND~2")
        );
        assert_eq!(
            env.archive
                .by_sha256(&h13(), &sha)
                .await
                .unwrap()
                .unwrap()
                .id,
            second.record.id
        );

        // A detached signature travels with its content.
        let docx = write(tmp, "bao-cao.docx", b"PK fake docx");
        let p7s = write(tmp, "bao-cao.docx.p7s", b"0\x82 fake cms");
        let staged = env.archive.stage(&docx, Some(&p7s), None).await.unwrap();
        let mut report = request(DocumentType::BaoCao, date!(2025 - 03 - 05), Secrecy::None);
        report.number = OutgoingNumber::Existing("07/BC-UBND".into());
        report.electronic = false;
        report.state = OutgoingState::Issued;
        let r = office
            .register_outgoing(report, Some(staged), AT)
            .await
            .unwrap()
            .record;
        let dir = env.archive.root().join(r.archive_dir.unwrap());
        assert_eq!(
            std::fs::read(dir.join("document.docx")).unwrap(),
            b"PK fake docx"
        );
        assert_eq!(
            std::fs::read(dir.join("document.docx.p7s")).unwrap(),
            b"0\x82 fake cms"
        );

        // A staged original never stored leaves nothing behind.
        drop(env.archive.stage(&other, None, None).await.unwrap());
        assert_eq!(
            std::fs::read_dir(env.archive.root().join(".staging"))
                .unwrap()
                .count(),
            0
        );
        // Two archived documents under one number: `check` names the number and both.
        let problems = env.archive.check().await.unwrap();
        let both = format!("[{}, {}]", record.id.unwrap(), second.record.id.unwrap());
        assert_eq!(problems.len(), 1, "{}: {problems:?}", env.name);
        assert!(
            problems[0].contains("number 15/QĐ-UBND (2025)") && problems[0].contains(&both),
            "{problems:?}"
        );

        // Tampering is detected.
        std::fs::write(&path, b"%PDF-1.7 changed").unwrap();
        let problems = env.archive.check().await.unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("SHA-256"), "{problems:?}");
        env.archive.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycles_history_and_files() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let tmp = env._dir.path();
        let incoming = |state, sender: &str| IncomingRequest {
            agency: h13(),
            arrival_date: date!(2025 - 06 - 01),
            document_type: DocumentType::CongVan,
            secrecy: Secrecy::None,
            urgency: Urgency::Khan,
            sender_number: Some(sender.into()),
            state,
            metadata: Metadata {
                organ_name: "Sở Nội vụ".into(),
                subject: "V/v báo cáo".into(),
                ..Metadata::default()
            },
            original: None,
        };
        let source = write(tmp, "den.pdf", b"%PDF-1.7 incoming");
        let staged = env.archive.stage(&source, None, None).await.unwrap();
        let received = office
            .register_incoming(
                incoming(IncomingState::Received, "120/SNV-VP"),
                Some(staged),
                AT,
            )
            .await
            .unwrap()
            .record;
        assert_eq!(
            received.archive_dir.as_deref(),
            Some("000.00.00.H13/2025/CV/120-SNV-VP")
        );
        let id = received.id.unwrap();
        let step = |event| Step {
            event,
            note: "ok".into(),
            template: None,
            advisory_body: None,
            at: AT,
            date: date!(2025 - 06 - 02),
        };
        office.advance(id, step(Event::Verify)).await.unwrap();
        let accepted = office.advance(id, step(Event::Accept)).await.unwrap();
        assert_eq!(accepted.metadata.arrival_number, Some(1));
        assert_eq!(accepted.state, DocState::Incoming(IncomingState::Accepted));
        // metadata.json follows the state.
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                env.archive
                    .root()
                    .join(accepted.archive_dir.as_ref().unwrap())
                    .join("metadata.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(meta["ArrivalNumber"], 1);
        assert_eq!(meta["Kyso"]["State"], "incoming:accepted");
        // A stale compare-and-set loses.
        let stale = env
            .archive
            .transition(kyso_office::Transition {
                id,
                from: DocState::Incoming(IncomingState::Received),
                to: DocState::Incoming(IncomingState::Refused),
                event: Event::Refuse,
                numbering: None,
                note: String::new(),
                at: AT,
            })
            .await;
        assert!(
            matches!(stale, Err(kyso_office::StoreError::StateChanged { .. })),
            "{stale:?}"
        );
        let second = office
            .register_incoming(incoming(IncomingState::Accepted, "121/SNV-VP"), None, AT)
            .await
            .unwrap()
            .record;
        assert_eq!(second.metadata.arrival_number, Some(2));
        let history = env.archive.history(id).await.unwrap();
        let events: Vec<&str> = history.iter().map(|h| h.event.as_str()).collect();
        assert_eq!(events, ["register", "verify", "accept"]);

        // Outgoing numbered later through the lifecycle.
        let mut draft = request(DocumentType::CongVan, date!(2025 - 06 - 03), Secrecy::None);
        draft.number = OutgoingNumber::None;
        draft.state = OutgoingState::Draft;
        let draft = office
            .register_outgoing(draft, None, AT)
            .await
            .unwrap()
            .record;
        let did = draft.id.unwrap();
        office.advance(did, step(Event::LeaderSign)).await.unwrap();
        let mut number = step(Event::Number);
        number.template =
            Some(NotationTemplate::new(DocumentType::CongVan, "UBND", &["VP"]).unwrap());
        let numbered = office.advance(did, number).await.unwrap();
        assert_eq!(
            numbered.metadata.number_notation().as_deref(),
            Some("01/UBND-VP")
        );

        // Files (hồ sơ).
        let code = FileCode::parse("000.00.00.H13.2025.01.VP").unwrap();
        let file = RecordFile {
            file_code: code.clone(),
            heading: "I. Văn phòng".into(),
            title: "Hồ sơ báo cáo năm 2025".into(),
            maintenance: "10 năm".into(),
            rights: "Hạn chế".into(),
            creator: "Văn phòng".into(),
            language: "vi".into(),
            start_date: None,
            end_date: None,
            doc_total: 0,
            page_total: 0,
            description: String::new(),
        };
        env.archive.create_file(&file).await.unwrap();
        assert!(matches!(
            env.archive.create_file(&file).await,
            Err(kyso_office::StoreError::Conflict(_))
        ));
        assert_eq!(env.archive.file_document(&code, did).await.unwrap(), 1);
        assert_eq!(env.archive.file_document(&code, id).await.unwrap(), 2);
        assert_eq!(env.archive.file_document(&code, did).await.unwrap(), 1);
        let docs = env.archive.file_documents(&code).await.unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].metadata.doc_ordinal, Some(2));
        assert_eq!(
            docs[1].metadata.file_code.as_deref(),
            Some("000.00.00.H13.2025.01.VP")
        );
        assert_eq!(
            env.archive.record_files(&h13(), 2025).await.unwrap(),
            vec![file]
        );
        assert_eq!(
            env.archive.record_file(&code).await.unwrap().unwrap().title,
            "Hồ sơ báo cáo năm 2025"
        );
        assert_eq!(env.archive.check().await.unwrap(), Vec::<String>::new());
        env.archive.close().await;
    }
}

/// A crash between commit and placing the files: the next open completes the document;
/// staged files of dead processes are swept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_completes_pending_documents() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let archive = Archive::open_data_dir(&data, None).await.unwrap();
    let source = write(dir.path(), "cv.pdf", b"%PDF-1.7 pending");
    let staged = archive.stage(&source, None, None).await.unwrap();
    let office = Office::new(archive.clone());
    let mut request = request(DocumentType::CongVan, date!(2025 - 02 - 02), Secrecy::None);
    request.electronic = false;
    request.number = OutgoingNumber::Existing("09/UBND-VP".into());
    request.state = OutgoingState::Issued;
    let record = office
        .register_outgoing(request, Some(staged), AT)
        .await
        .unwrap()
        .record;
    let folder = archive.root().join(record.archive_dir.as_ref().unwrap());
    // Put the world back as it was right after the commit of step 2.
    let staged_name = "4194303.abcdef.document";
    std::fs::rename(
        folder.join("document.pdf"),
        archive.root().join(".staging").join(staged_name),
    )
    .unwrap();
    std::fs::remove_file(folder.join("metadata.json")).unwrap();
    std::fs::write(folder.join(".metadata.json.tmp-4194303-x"), b"{half").unwrap();
    sqlx::query("UPDATE document SET sync_state = 'pending', staging_document = $1")
        .bind(staged_name)
        .execute(archive.pool())
        .await
        .unwrap();
    // And a stray staged file of a dead process (pid above Linux's pid_max).
    std::fs::write(archive.root().join(".staging/4194304.dead.document"), b"x").unwrap();
    assert!(!archive.check().await.unwrap().is_empty());
    archive.close().await;

    let reopened = Archive::open_data_dir(&data, None).await.unwrap();
    assert_eq!(reopened.check().await.unwrap(), Vec::<String>::new());
    assert_eq!(
        std::fs::read(folder.join("document.pdf")).unwrap(),
        b"%PDF-1.7 pending"
    );
    assert_eq!(
        std::fs::read_dir(reopened.root().join(".staging"))
            .unwrap()
            .count(),
        0
    );
    // Recovery is idempotent.
    assert_eq!(
        reopened.recover().await.unwrap(),
        kyso_store::Recovery::default()
    );
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_original_can_follow_its_number() {
    for env in environments().await {
        let office = Office::new(env.archive.clone());
        let tmp = env._dir.path();
        // Numbered first (its number is printed in it), signed and filed afterwards.
        let record = office
            .register_outgoing(
                request(DocumentType::CongVan, date!(2025 - 03 - 04), Secrecy::None),
                None,
                AT,
            )
            .await
            .unwrap()
            .record;
        let id = record.id.unwrap();
        assert!(record.archive_dir.is_none());
        let pdf = b"%PDF-1.7\n% signed later\n%%EOF\n".to_vec();
        let source = write(tmp, "bien-ban.pdf", &pdf);
        let staged = env
            .archive
            .stage(&source, None, Some(serde_json::json!({"verdict": "valid"})))
            .await
            .unwrap();
        let filed = env
            .archive
            .attach_original(id, staged, "ký xong", AT)
            .await
            .unwrap();
        let path = env.archive.original_path(&filed).unwrap();
        assert!(
            path.ends_with("000.00.00.H13/2025/CV/01-UBND-VP/document.pdf"),
            "{}: {}",
            env.name,
            path.display()
        );
        assert_eq!(std::fs::read(&path).unwrap(), pdf);
        let stored = env.archive.document(id).await.unwrap().unwrap();
        assert_eq!(stored.archive_dir, filed.archive_dir);
        assert_eq!(
            env.archive.verification(id).await.unwrap().unwrap()["verdict"],
            "valid"
        );
        assert!(
            env.archive
                .history(id)
                .await
                .unwrap()
                .iter()
                .any(|h| h.event == "attach_original")
        );
        // Only once.
        let again = env.archive.stage(&source, None, None).await.unwrap();
        assert!(matches!(
            env.archive.attach_original(id, again, "", AT).await,
            Err(kyso_office::StoreError::Conflict(_))
        ));
        assert_eq!(env.archive.check().await.unwrap(), Vec::<String>::new());
    }
}

/// An unreachable PostgreSQL server is reported within seconds (not after a minute of
/// retries), in Vietnamese and English.
#[tokio::test]
async fn unreachable_postgres_fails_fast() {
    let tmp = TempDir::new().unwrap();
    let started = std::time::Instant::now();
    // Port 1 on loopback: nothing listens, every connection attempt is refused.
    let Err(err) = Archive::open(
        "postgres://kyso@127.0.0.1:1/kyso",
        &tmp.path().join("archive"),
    )
    .await
    else {
        panic!("no server there");
    };
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    let text = err.to_string();
    assert!(
        text.contains("không kết nối được cơ sở dữ liệu PostgreSQL")
            && text.contains("cannot reach the PostgreSQL database"),
        "{text}"
    );
}

/// The data directory is created 0700 and the SQLite database 0600 whatever the umask;
/// an archived original is 0600 even when its source was 0644;
/// `check_permissions` names what group or others can read.
#[cfg(unix)]
#[tokio::test]
async fn data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let archive = Archive::open_data_dir(&data, None).await.unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(kyso_store::SQLITE_FILE)), 0o600);
    archive.close().await;
    assert!(kyso_store::check_permissions(&data).is_empty());
    let open = data.join("report.csv");
    std::fs::write(&open, "x").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let problems = kyso_store::check_permissions(&data);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&open.display().to_string()) && problems[0].contains("0644"),
        "{problems:?}"
    );
}
