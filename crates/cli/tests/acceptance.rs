//! The archive's acceptance policy (tracker issue 10): an original is archived as valid
//! only on a valid signature; one whose signature cannot be verified (`indeterminate`,
//! `unsigned`) only on the clerk's decision with a reason, recorded with who made it in
//! its history and the audit log; an incoming one may be received without it but not
//! accepted. Also: a number reserved with `register number` gets its original instead of
//! a second record, and `archive check` speaks the language asked for.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kyso_testkit::cli::text;

use kyso_app::documents::{DocFields, FileRequest, Filed, StepRequest};
use kyso_app::{Actor, App};
use kyso_model::AgencyId;
use kyso_office::{DocState, Event, IncomingState};
use serde_json::Value;
use tempfile::TempDir;

use kyso_testkit::cli::AGENCY;
const REASON: &str = "bản chụp chưa ký số, đã đối chiếu với bản giấy lưu tại văn phòng";

fn kyso(data: &Path) -> Command {
    kyso_testkit::cli::office(env!("CARGO_BIN_EXE_kyso"), data)
}

fn run(data: &Path, args: &[&str]) -> Output {
    kyso(data).args(args).output().expect("run kyso")
}

fn ok(data: &Path, args: &[&str]) -> String {
    kyso_testkit::cli::ok(kyso(data).args(args))
}

/// A one-page unsigned PDF reading like an ND30 first page.
fn letter(dir: &Path, name: &str, number: &str, subject: &str) -> PathBuf {
    let path = dir.join(name);
    let pdf = kyso_office::text_pdf(&[
        "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
        number,
        "Cần Thơ, ngày 04 tháng 3 năm 2025",
        "CÔNG VĂN",
        subject,
    ])
    .unwrap();
    std::fs::write(&path, pdf).unwrap();
    path
}

fn list(data: &Path) -> Vec<Value> {
    serde_json::from_str::<Value>(&ok(data, &["archive", "list", "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn audit_files(data: &Path) -> Vec<Value> {
    let listed: Value = serde_json::from_str(&ok(data, &["audit", "list", "--json"])).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "file")
        .cloned()
        .collect()
}

/// Before: an unsigned PDF, or one whose chain ends at a CA this installation does not
/// trust, was archived like a valid one with a one-line note.
#[test]
fn unverified_originals_are_archived_only_on_a_decision() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let files = tmp.path().join("in");
    std::fs::create_dir_all(&files).unwrap();
    let unsigned = letter(&files, "cv07.pdf", "Số: 07/UBND-VP", "V/v lịch tiếp dân");

    // No decision: refused, Vietnamese first, saying which verdict and what to do.
    let refused = run(&data, &["archive", "add", unsigned.to_str().unwrap()]);
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("chữ ký số chưa được xác minh là hợp lệ")
            && said.contains("không có chữ ký số")
            && said.contains("--accept-unverified")
            && said.contains("not verified"),
        "{said}"
    );
    // Vietnamese first.
    assert!(
        said.find("chưa lưu").unwrap() < said.find("not archived").unwrap(),
        "{said}"
    );
    // The same incoming.
    let refused = run(
        &data,
        &["archive", "add", unsigned.to_str().unwrap(), "--incoming"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    // A blank reason is no decision.
    let blank = run(
        &data,
        &[
            "archive",
            "add",
            unsigned.to_str().unwrap(),
            "--accept-unverified",
            "  ",
        ],
    );
    assert_eq!(blank.status.code(), Some(2), "{}", text(&blank));
    assert!(text(&blank).contains("phải nêu lý do"), "{}", text(&blank));
    assert!(list(&data).is_empty());

    // A signature chaining to a CA not trusted here: indeterminate, refused too.
    let signed = files.join("cv08.pdf");
    let bytes = kyso_testkit::pki::sign_bytes(
        &std::fs::read(letter(
            &files,
            "cv08-draft.pdf",
            "Số: 08/UBND-VP",
            "V/v kế hoạch",
        ))
        .unwrap(),
        "Sig1",
        kyso_testkit::pki::Who::Leader,
        &[],
    );
    std::fs::remove_file(files.join("cv08-draft.pdf")).unwrap();
    std::fs::write(&signed, bytes).unwrap();
    let refused = run(
        &data,
        &["archive", "add", signed.to_str().unwrap(), "--offline"],
    );
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("không xác định được") && said.contains("indeterminate"),
        "{said}"
    );

    // With the decision: stored, the report kept, the reason and who decided in its
    // history and in the audit log.
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            signed.to_str().unwrap(),
            "--offline",
            "--accept-unverified",
            REASON,
            "--json",
        ],
    );
    let record: Value = serde_json::from_str(&out).unwrap();
    let id = record["id"].as_i64().unwrap().to_string();
    let shown: Value = serde_json::from_str(&ok(&data, &["archive", "show", &id])).unwrap();
    assert_eq!(
        shown["verification"]["verdict"], "indeterminate",
        "{shown:#}"
    );
    let first = &shown["history"][0]["note"];
    assert!(
        first.as_str().unwrap().contains(REASON)
            && first.as_str().unwrap().contains("indeterminate"),
        "{shown:#}"
    );
    let audited = audit_files(&data);
    let outcomes: Vec<&str> = audited
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["refused", "refused", "refused", "succeeded"],
        "{audited:#?}"
    );
    assert_eq!(audited[0]["details"]["reason"], "unverified");
    assert_eq!(audited[0]["details"]["verdict"], "unsigned");
    assert_eq!(audited[2]["details"]["verdict"], "indeterminate");
    assert_eq!(audited[3]["details"]["accept_unverified"], REASON);
    assert_eq!(audited[3]["details"]["verdict"], "indeterminate");

    // Import: each unverified file fails with the reason, in the language asked for.
    let folder = tmp.path().join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    letter(&folder, "cv09.pdf", "Số: 09/UBND-VP", "V/v họp giao ban");
    let out = run(&data, &["archive", "import", folder.to_str().unwrap()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("✗ cv09.pdf: lỗi: chưa lưu") && !said.contains("not archived"),
        "{said}"
    );
    let out = run(
        &data,
        &[
            "archive",
            "import",
            folder.to_str().unwrap(),
            "--lang",
            "en",
        ],
    );
    assert!(text(&out).contains("not archived"), "{}", text(&out));
    let out = ok(
        &data,
        &[
            "archive",
            "import",
            folder.to_str().unwrap(),
            "--accept-unverified",
            REASON,
        ],
    );
    assert!(out.contains("Đã lưu: 1;"), "{out}");
    assert_eq!(list(&data).len(), 2);
    assert!(ok(&data, &["archive", "check"]).contains("nhất quán"));
}

/// Before: `register number` then `archive add --number` made a second record with the
/// same number (and the reserved one stayed without its original).
#[test]
fn a_reserved_number_gets_its_original() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let out = ok(
        &data,
        &[
            "register",
            "number",
            "--type",
            "CV",
            "--issuer",
            "UBND",
            "--unit",
            "VP",
            "--date",
            "2025-03-04",
            "--subject",
            "V/v lịch tiếp dân",
            "--paper",
            "--json",
        ],
    );
    let reserved: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reserved["metadata"]["CodeNumber"], "01", "{reserved:#}");
    let signed = letter(
        tmp.path(),
        "cv01.pdf",
        "Số: 01/UBND-VP",
        "V/v lịch tiếp dân",
    );
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            signed.to_str().unwrap(),
            "--number",
            "01/UBND-VP",
            "--accept-unverified",
            REASON,
            "--json",
        ],
    );
    let filed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(filed["id"], reserved["id"], "{filed:#}");
    let docs = list(&data);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let dir = docs[0]["archive_dir"].as_str().unwrap();
    assert_eq!(
        std::fs::read(data.join("archive").join(dir).join("document.pdf")).unwrap(),
        std::fs::read(&signed).unwrap()
    );
    let id = filed["id"].as_i64().unwrap().to_string();
    let shown: Value = serde_json::from_str(&ok(&data, &["archive", "show", &id])).unwrap();
    let history = shown["history"].as_array().unwrap();
    assert!(
        history.iter().any(
            |h| h["event"] == "attach_original" && h["note"].as_str().unwrap().contains(REASON)
        ),
        "{shown:#}"
    );
    assert_eq!(shown["verification"]["verdict"], "unsigned", "{shown:#}");
    assert!(ok(&data, &["archive", "check"]).contains("nhất quán"));
    // The number now belongs to an archived original: a second one is refused.
    let other = letter(tmp.path(), "khac.pdf", "Số: 01/UBND-VP", "V/v khác");
    let again = run(
        &data,
        &[
            "archive",
            "add",
            other.to_str().unwrap(),
            "--accept-unverified",
            REASON,
        ],
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("đã thuộc văn bản [1]"),
        "{}",
        text(&again)
    );
    assert_eq!(list(&data).len(), 1);
}

/// Before: every finding was one `vi / en` line, or English only.
#[test]
fn archive_check_speaks_the_language_asked_for() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let signed = letter(tmp.path(), "cv05.pdf", "Số: 05/UBND-VP", "V/v kiểm tra");
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            signed.to_str().unwrap(),
            "--accept-unverified",
            REASON,
            "--json",
        ],
    );
    let record: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        ok(&data, &["archive", "check"]).trim(),
        "Kho lưu trữ nhất quán"
    );
    assert_eq!(
        ok(&data, &["archive", "check", "--lang", "en"]).trim(),
        "The archive is consistent"
    );
    let folder = data
        .join("archive")
        .join(record["archive_dir"].as_str().unwrap());
    std::fs::write(folder.join("la.txt"), b"stray").unwrap();
    let vi = String::from_utf8_lossy(&run(&data, &["archive", "check"]).stdout).into_owned();
    assert!(vi.contains("văn bản 1: tệp lạ"), "{vi}");
    assert!(!vi.contains("stray") && !vi.contains(" / "), "{vi}");
    let en = run(&data, &["archive", "check", "--lang", "en"]);
    assert_eq!(en.status.code(), Some(1));
    let en = String::from_utf8_lossy(&en.stdout);
    assert!(en.contains("document 1: stray file"), "{en}");
    assert!(!en.contains("tệp lạ"), "{en}");
}

/// Received (incoming, not accepted at once) without a decision, as the exchange
/// receives packages; accepted only with the clerk's reason.
#[test]
fn an_unverified_incoming_document_is_accepted_only_with_a_reason() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let den = letter(tmp.path(), "den.pdf", "Số: 120/SNV-VP", "V/v báo cáo");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(App::open(&data, None)).unwrap();
    let actor = Actor::operator(AgencyId::parse(AGENCY).unwrap());
    let request = |accept: bool| FileRequest {
        file: den.clone(),
        shown_name: None,
        is_pdf: None,
        signature: None,
        doc_type: None,
        number: None,
        date: None,
        incoming: true,
        accept,
        offline: true,
        accept_invalid: false,
        fields: DocFields::default(),
        from: Some("Sở Nội vụ".into()),
        agency_name: "UBND thành phố Cần Thơ".into(),
        allocate: None,
    };
    // Accepting at once needs the decision.
    let e = rt
        .block_on(app.file_document(&actor, request(true)))
        .unwrap_err();
    assert_eq!(e.code, "unverified", "{e:?}");
    // Receiving does not.
    let Filed::Stored(registered, _) = rt
        .block_on(app.file_document(&actor, request(false)))
        .unwrap()
    else {
        panic!("not stored")
    };
    let id = registered.record.id.unwrap();
    assert_eq!(
        registered.record.state,
        DocState::Incoming(IncomingState::Received)
    );
    let step = |event, note: &str| {
        rt.block_on(app.advance(
            &actor,
            id,
            event,
            StepRequest {
                note: note.into(),
                ..StepRequest::default()
            },
        ))
    };
    step(Event::Verify, "").unwrap();
    let e = step(Event::Accept, " ").unwrap_err();
    assert_eq!(e.code, "unverified", "{e:?}");
    assert!(
        e.vi.contains("ghi rõ lý do") && e.en.contains("reason"),
        "{e:?}"
    );
    let accepted = step(Event::Accept, REASON).unwrap();
    assert_eq!(accepted.state, DocState::Incoming(IncomingState::Accepted));
    assert_eq!(accepted.metadata.arrival_number, Some(1));
    let view = rt.block_on(app.document(&actor, id)).unwrap();
    assert!(
        view.history
            .iter()
            .any(|h| h.event == "accept" && h.note == REASON),
        "{:?}",
        view.history
    );
    drop(app);
    let listed: Value = serde_json::from_str(&ok(&data, &["audit", "list", "--json"])).unwrap();
    let accepts: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "accept")
        .collect();
    let outcomes: Vec<&str> = accepts
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["refused", "succeeded"], "{accepts:#?}");
    assert_eq!(accepts[1]["details"]["accept_unverified"], REASON);
}

/// Decision 28: an incoming document whose signature is invalid is returned, never
/// registered. Before, `accept_invalid` with `accept` registered it with an arrival
/// number, and the accept step did not look at the verification.
#[test]
fn an_invalid_incoming_document_is_never_accepted() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let draft = letter(tmp.path(), "draft.pdf", "Số: 121/SNV-VP", "V/v báo cáo");
    let mut signed = kyso_testkit::pki::sign_bytes(
        &std::fs::read(&draft).unwrap(),
        "Sig1",
        kyso_testkit::pki::Who::Leader,
        &[],
    );
    // One byte of the signed range changed: the digest no longer matches.
    let at = signed
        .windows(7)
        .position(|w| w == b"V/v b\xc3\xa1")
        .or_else(|| signed.windows(3).position(|w| w == b"BT\n"))
        .unwrap_or(200);
    signed[at] ^= 0x01;
    let den = tmp.path().join("den.pdf");
    std::fs::write(&den, &signed).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(App::open(&data, None)).unwrap();
    let actor = Actor::operator(AgencyId::parse(AGENCY).unwrap());
    let Filed::Stored(registered, notes) = rt
        .block_on(app.file_document(
            &actor,
            FileRequest {
                file: den.clone(),
                shown_name: None,
                is_pdf: None,
                signature: None,
                doc_type: None,
                number: None,
                date: None,
                incoming: true,
                accept: true,
                offline: true,
                accept_invalid: true,
                fields: DocFields::default(),
                from: Some("Sở Nội vụ".into()),
                agency_name: "UBND thành phố Cần Thơ".into(),
                allocate: None,
            },
        ))
        .unwrap()
    else {
        panic!("not stored")
    };
    let id = registered.record.id.unwrap();
    let view = rt.block_on(app.document(&actor, id)).unwrap();
    let verdict = view.verification["verdict"].as_str().unwrap().to_string();
    assert!(
        matches!(verdict.as_str(), "invalid" | "modified"),
        "{verdict}"
    );
    assert_eq!(
        registered.record.state,
        DocState::Incoming(IncomingState::Received),
        "{notes:?}"
    );
    assert!(registered.record.metadata.arrival_number.is_none());
    assert!(notes.iter().any(|n| n.contains("trả lại")), "{notes:?}");
    let step = |event, note: &str| {
        rt.block_on(app.advance(
            &actor,
            id,
            event,
            StepRequest {
                note: note.into(),
                ..StepRequest::default()
            },
        ))
    };
    step(Event::Verify, "").unwrap();
    let e = step(Event::Accept, REASON).unwrap_err();
    assert_eq!(e.code, "invalid_signature", "{e:?}");
    let refused = step(Event::Refuse, "Chữ ký số không hợp lệ").unwrap();
    assert_eq!(refused.state, DocState::Incoming(IncomingState::Refused));
}
