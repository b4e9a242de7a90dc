//! `POST /api/v1/documents` under the archive's acceptance policy (kyso-app
//! `file_document`): an original whose signature is not verified is refused (409
//! `unverified`, Vietnamese first) unless the `accept_unverified` field gives the
//! reason, kept with the caller in its history; received without it (incoming,
//! `accept=false`) but accepted only with a reason in the step's note.

#![allow(clippy::unwrap_used)]

use kyso_office::Role;
use kyso_testkit::http::Multipart;
use serde_json::json;

const AGENCY: &str = "000.00.00.H13";
const REASON: &str = "Bản chụp chưa ký số, đã đối chiếu với bản giấy";

fn unsigned(number: &str) -> Vec<u8> {
    kyso_office::text_pdf(&[
        "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
        number,
        "Cần Thơ, ngày 04 tháng 3 năm 2025",
        "CÔNG VĂN",
        "V/v lịch tiếp công dân",
    ])
    .unwrap()
}

/// Before: the unsigned original was stored like a valid one (201, a note).
#[test]
fn unverified_uploads_need_the_reason() {
    let node = kyso_testkit::node::start_with("sqlite", |_| {}).unwrap();
    node.person(AGENCY, "vanthu", "Lê Văn Thư", &[Role::Clerk]);
    let clerk = node.login("vanthu");

    let refused = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new().file("file", "cv.pdf", &unsigned("Số: 07/UBND-VP")),
    );
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["code"], "unverified", "{}", refused.text);
    let vi = refused.json["vi"].as_str().unwrap();
    assert!(
        vi.contains("chưa được xác minh") && vi.contains("accept_unverified"),
        "{vi}"
    );
    assert!(
        refused.json["en"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );

    let stored = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "cv.pdf", &unsigned("Số: 07/UBND-VP"))
            .text("accept_unverified", REASON),
    );
    assert_eq!(stored.status, 201, "{}", stored.text);
    let id = stored.json["record"]["id"].as_i64().unwrap();
    let shown = clerk.get(&format!("/api/v1/documents/{id}"));
    assert_eq!(shown.json["verification"]["verdict"], "unsigned");
    let note = shown.json["history"][0]["note"].as_str().unwrap();
    assert!(note.contains(REASON) && note.contains("vanthu"), "{note}");

    // Incoming, only received: no decision needed; accepting needs the reason.
    let received = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "den.pdf", &unsigned("Số: 120/SNV-VP"))
            .text("incoming", "true")
            .text("accept", "false"),
    );
    assert_eq!(received.status, 201, "{}", received.text);
    assert_eq!(received.json["record"]["state"]["incoming"], "received");
    let id = received.json["record"]["id"].as_i64().unwrap();
    let steps = format!("/api/v1/documents/{id}/steps");
    let verified = clerk.post_json(&steps, &json!({"event": "verify"}));
    assert_eq!(verified.status, 200, "{}", verified.text);
    let refused = clerk.post_json(&steps, &json!({"event": "accept"}));
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.json["code"], "unverified", "{}", refused.text);
    let accepted = clerk.post_json(&steps, &json!({"event": "accept", "note": REASON}));
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["state"]["incoming"], "accepted");
    assert_eq!(accepted.json["metadata"]["ArrivalNumber"], 1);
}
