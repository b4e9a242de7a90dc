//! Sending and receiving between agencies hosted on one node, end to end: a real server
//! (kyso-server's router on a loopback socket, driven by a real HTTP client) over
//! kyso-app, on SQLite and on PostgreSQL (`KYSO_TEST_POSTGRES_URL`). The sent document
//! is signed by the leader and sealed by pyHanko (the peer) with the test PKI of
//! kyso-testkit, whose root is the node's trust anchor.

#![allow(clippy::unwrap_used)]

use kyso_office::Role;
use kyso_testkit::http::{Answer, Client, Multipart};
use kyso_testkit::node::{Node, agency, start};
use kyso_testkit::pki::{Who, sign_bytes};
use serde_json::{Value, json};

/// Sở Thông tin và Truyền thông (sender), Sở Nội vụ, Sở Tài chính (recipients here), and
/// an agency on another node.
const A: &str = "000.00.00.H13";
const B: &str = "000.00.01.H13";
const C: &str = "000.00.02.H13";
const D: &str = "000.00.00.G22";
/// Sở Xây dựng, hosted here, receiving by edXML.
const E: &str = "000.00.03.H13";

fn error_is(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert_eq!(a.json["code"], code, "{what}: {}", a.text);
    assert!(
        a.json["vi"].is_string() && a.json["en"].is_string(),
        "{what}: {}",
        a.text
    );
}

/// The status codes of the delivery to `recipient` in a timeline answer.
fn codes(deliveries: &Value, recipient: &str) -> Vec<String> {
    delivery(deliveries, recipient)["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_string())
        .collect()
}

fn delivery<'a>(deliveries: &'a Value, recipient: &str) -> &'a Value {
    deliveries
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no delivery to {recipient}: {deliveries}"))
}

/// The only incoming document of the client's agency.
fn incoming(c: &Client) -> Value {
    let listed = c.get("/api/v1/documents?direction=incoming");
    assert_eq!(listed.status, 200, "{}", listed.text);
    let docs = listed.json.as_array().unwrap();
    assert_eq!(docs.len(), 1, "{}", listed.text);
    docs[0].clone()
}

fn flow(node: &Node) {
    let backend = node.backend;
    node.user(A, "quantri", &[Role::Administrator]);
    node.user(A, "vanthu_a", &[Role::Clerk]);
    node.user(B, "vanthu_b", &[Role::Clerk]);
    node.user(B, "lanhdao_b", &[Role::Leader]);
    node.user(C, "vanthu_c", &[Role::Clerk]);
    let admin = node.login("quantri");
    let clerk_a = node.login("vanthu_a");
    let clerk_b = node.login("vanthu_b");
    let leader_b = node.login("lanhdao_b");
    let clerk_c = node.login("vanthu_c");

    // The directory, kept by the administrator.
    for (id, name, url) in [
        (A, "Sở Thông tin và Truyền thông", None),
        (B, "Sở Nội vụ", None),
        (C, "Sở Tài chính", None),
        (
            D,
            "Văn phòng Chính phủ",
            Some("https://truc.example.gov.vn"),
        ),
    ] {
        let added = admin.post_json(
            "/api/v1/agencies",
            &json!({"id": id, "name": name, "node_url": url}),
        );
        assert_eq!(added.status, 201, "[{backend}] {}", added.text);
        assert_eq!(added.json["hosted"], url.is_none(), "{}", added.text);
    }
    error_is(
        &clerk_a.post_json(
            "/api/v1/agencies",
            &json!({"id": "000.00.03.H13", "name": "X"}),
        ),
        403,
        "missing_role",
        "a clerk adds an agency",
    );
    error_is(
        &admin.post_json("/api/v1/agencies", &json!({"id": B, "name": "Sở Nội vụ"})),
        409,
        "agency_exists",
        "an agency twice",
    );
    let listed = clerk_b.get("/api/v1/agencies");
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json.as_array().unwrap().len(), 4, "{}", listed.text);

    // A's clerk files the issued document: signed by the leader, sealed (pyHanko), with
    // the next number of A's register.
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let leader_signed = sign_bytes(&pdf, "LeaderSignature", Who::Leader, &[]);
    let sealed = sign_bytes(&leader_signed, "SealSignature", Who::Seal, &[]);
    let filed = clerk_a.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "cong-van.pdf", &sealed)
            .text("type", "CV")
            .text("subject", "Về việc triển khai chữ ký số")
            .text("signer", "Nguyễn Văn Hùng")
            .text("signer_position", "Giám đốc")
            .text("allocate_issuer", "STTTT")
            .text("allocate_units", "VP"),
    );
    assert_eq!(filed.status, 201, "[{backend}] {}", filed.text);
    assert_eq!(
        filed.json["record"]["state"]["outgoing"], "issued",
        "{}",
        filed.text
    );
    let sent_id = filed.json["record"]["id"].as_i64().unwrap();
    let sendings = format!("/api/v1/documents/{sent_id}/sendings");

    // A clerk of B may not send A's document.
    error_is(
        &clerk_b.post_json(&sendings, &json!({"recipients": [C]})),
        403,
        "other_agency",
        "B's clerk sends A's document",
    );
    // Unknown recipients are refused before anything is stored.
    error_is(
        &clerk_a.post_json(&sendings, &json!({"recipients": ["000.00.09.H13"]})),
        400,
        "unknown_agency",
        "a recipient outside the directory",
    );

    // Sent to B and C (hosted here) and D (another node: queued).
    let sent = clerk_a.post_json(&sendings, &json!({"recipients": [B, C, D]}));
    assert_eq!(sent.status, 201, "[{backend}] {}", sent.text);
    let outcome = |r: &str| {
        sent.json["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["recipient"] == r)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome(B)["outcome"], "delivered", "{}", sent.text);
    assert_eq!(outcome(B)["verdict"], "valid", "{}", sent.text);
    assert_eq!(outcome(C)["outcome"], "delivered", "{}", sent.text);
    assert_eq!(outcome(D)["outcome"], "queued", "{}", sent.text);
    let document_id = sent.json["document_id"].as_str().unwrap().to_string();
    assert!(document_id.starts_with(&format!("{A},")), "{document_id}");
    // The package was stored before anyone was told.
    assert_eq!(node.count("SELECT COUNT(*) FROM exchange_package"), 1);
    assert_eq!(
        node.count(
            "SELECT COUNT(*) FROM exchange_outbox WHERE state = 'queued' AND kind = 'package'"
        ),
        1
    );

    // B's clerk sees it, verified on receipt, with its report.
    let received_b = incoming(&clerk_b);
    assert_eq!(received_b["state"]["incoming"], "verified", "{received_b}");
    let b_id = received_b["id"].as_i64().unwrap();
    let shown = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );
    assert_eq!(
        shown.json["metadata"]["Subject"], "Về việc triển khai chữ ký số",
        "{}",
        shown.text
    );
    // A never sees B's documents; B does not see A's outgoing one.
    assert_eq!(
        clerk_a.get(&format!("/api/v1/documents/{b_id}")).status,
        404
    );
    // B accepts (số đến 1) and its leader assigns; C refuses with a reason.
    let accepted = clerk_b.post_json(
        &format!("/api/v1/documents/{b_id}/steps"),
        &json!({"event": "accept"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(
        accepted.json["metadata"]["ArrivalNumber"], 1,
        "{}",
        accepted.text
    );
    let assigned = leader_b.post_json(
        &format!("/api/v1/documents/{b_id}/steps"),
        &json!({"event": "assign", "note": "Giao Phòng Công chức xử lý"}),
    );
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let c_id = incoming(&clerk_c)["id"].as_i64().unwrap();
    let reason = "Văn bản không thuộc thẩm quyền xử lý của Sở Tài chính";
    let refused = clerk_c.post_json(
        &format!("/api/v1/documents/{c_id}/steps"),
        &json!({"event": "refuse", "note": reason}),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);

    // A sees each recipient's timeline.
    let timeline = clerk_a.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    assert_eq!(
        codes(&timeline.json, B),
        ["01", "03", "04"],
        "{}",
        timeline.text
    );
    assert_eq!(codes(&timeline.json, C), ["01", "02"], "{}", timeline.text);
    assert_eq!(
        delivery(&timeline.json, C)["statuses"][1]["description"],
        reason,
        "{}",
        timeline.text
    );
    assert!(
        delivery(&timeline.json, B)["statuses"][1]["description"]
            .as_str()
            .unwrap()
            .contains("Số đến: 1"),
        "{}",
        timeline.text
    );
    assert_eq!(
        delivery(&timeline.json, D)["state"],
        "queued",
        "{}",
        timeline.text
    );
    assert!(codes(&timeline.json, D).is_empty());
    // The sender is never shown the recipient's document id.
    assert!(delivery(&timeline.json, B)["received_document"].is_null());
    let delivery_b = delivery(&timeline.json, B)["id"].as_i64().unwrap();

    // Sending again is idempotent: no second copy anywhere.
    let again = clerk_a.post_json(&sendings, &json!({"recipients": [B, C]}));
    assert_eq!(again.status, 200, "{}", again.text);
    assert!(
        again.json["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["outcome"] == "already_sent"),
        "{}",
        again.text
    );
    incoming(&clerk_b);
    incoming(&clerk_c);
    assert_eq!(node.count("SELECT COUNT(*) FROM exchange_delivery"), 3);

    // Recall: A asks B (13); only the recipient answers; B agrees (15).
    let recall = format!("/api/v1/deliveries/{delivery_b}/recall");
    let reply = format!("/api/v1/deliveries/{delivery_b}/recall-reply");
    error_is(
        &clerk_a.post_json(&recall, &json!({"reason": " "})),
        400,
        "reason_required",
        "a recall without a reason",
    );
    error_is(
        &clerk_b.post_json(&reply, &json!({"agree": true})),
        409,
        "no_recall_requested",
        "answering a recall nobody asked for",
    );
    let asked = clerk_a.post_json(
        &recall,
        &json!({"reason": "Văn bản ban hành sai thể thức, sẽ ban hành lại"}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert_eq!(asked.json["recall"], "requested", "{}", asked.text);
    error_is(
        &clerk_a.post_json(&reply, &json!({"agree": true})),
        404,
        "not_found",
        "the sender answering its own recall",
    );
    error_is(
        &clerk_b.post_json(&reply, &json!({"agree": false})),
        400,
        "reason_required",
        "refusing a recall without a reason",
    );
    // B's clerk sees the request on the delivery of its document.
    let seen = clerk_b.get(&format!("/api/v1/documents/{b_id}/deliveries"));
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.json[0]["recall"], "requested", "{}", seen.text);
    assert_eq!(seen.json[0]["received_document"], b_id, "{}", seen.text);
    let agreed = clerk_b.post_json(&reply, &json!({"agree": true}));
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    assert_eq!(agreed.json["recall"], "agreed", "{}", agreed.text);
    // B's copy is withdrawn from its registers: kept (for audit), marked recalled.
    let withdrawn = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(
        withdrawn.json["state"]["incoming"], "recalled",
        "{}",
        withdrawn.text
    );
    let active = clerk_b.get("/api/v1/documents?direction=incoming");
    assert!(
        active
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"]["incoming"] != "accepted" && d["state"]["incoming"] != "assigned"),
        "{}",
        active.text
    );
    let found = clerk_b.get("/api/v1/search?q=trien%20khai%20chu%20ky%20so");
    assert_eq!(found.status, 200, "{}", found.text);
    assert!(
        !found.json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"].as_str() == Some(b_id.to_string().as_str())),
        "a recalled document is still found: {}",
        found.text
    );
    let timeline = clerk_a.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    assert_eq!(
        codes(&timeline.json, B),
        ["01", "03", "04", "13", "15"],
        "{}",
        timeline.text
    );
    error_is(
        &clerk_a.post_json(&recall, &json!({"reason": "Lần nữa"})),
        409,
        "recall_state",
        "recalling twice",
    );

    // A secret document is refused at send (QĐ28 Art 1.2).
    let secret = node
        .rt
        .block_on(node.app.take_number(
            &kyso_app::Actor::operator(agency(A)),
            kyso_app::documents::NumberRequest {
                doc_type: kyso_model::DocumentType::CongVan,
                date: None,
                fields: kyso_app::documents::DocFields {
                    subject: Some("Về việc bảo vệ bí mật nhà nước".into()),
                    secrecy: kyso_model::Secrecy::Mat,
                    ..Default::default()
                },
                paper: true,
                issuer: "STTTT".into(),
                units: vec!["VP".into()],
                advisory: None,
                agency_name: "Sở Thông tin và Truyền thông".into(),
            },
        ))
        .unwrap();
    let secret_id = secret.record.id.unwrap();
    error_is(
        &clerk_a.post_json(
            &format!("/api/v1/documents/{secret_id}/sendings"),
            &json!({"recipients": [B]}),
        ),
        403,
        "secret_document",
        "sending a secret document",
    );
    // An unsealed draft cannot be sent.
    let draft = clerk_a.post_form(
        "/api/v1/drafts",
        &Multipart::new()
            .file("file", "du-thao.pdf", &pdf)
            .text("type", "CV")
            .text("subject", "Dự thảo công văn"),
    );
    assert_eq!(draft.status, 201, "{}", draft.text);
    let draft_id = draft.json["id"].as_i64().unwrap();
    error_is(
        &clerk_a.post_json(
            &format!("/api/v1/documents/{draft_id}/sendings"),
            &json!({"recipients": [B]}),
        ),
        409,
        "not_issued",
        "sending a draft",
    );
    // Nothing of those reached B.
    assert_eq!(node.count("SELECT COUNT(*) FROM exchange_delivery"), 3);

    // The transport to D's node: its outbox row, seen by A's clerk and the
    // administrator (not by B), sent again at once on request.
    let delivery_d = delivery(&timeline.json, D)["id"].as_i64().unwrap();
    let transport = clerk_a.get(&format!("/api/v1/deliveries/{delivery_d}/transport"));
    assert_eq!(transport.status, 200, "{}", transport.text);
    assert_eq!(transport.json[0]["kind"], "package", "{}", transport.text);
    assert_eq!(transport.json[0]["destination"], D, "{}", transport.text);
    assert_eq!(transport.json[0]["state"], "queued", "{}", transport.text);
    error_is(
        &clerk_b.get(&format!("/api/v1/deliveries/{delivery_d}/transport")),
        404,
        "not_found",
        "another agency's transport",
    );
    let row = transport.json[0]["id"].as_i64().unwrap();
    let queued = admin.get("/api/v1/outbox?state=queued");
    assert_eq!(queued.status, 200, "{}", queued.text);
    assert!(
        queued
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == row),
        "{}",
        queued.text
    );
    error_is(
        &clerk_a.get("/api/v1/outbox"),
        403,
        "missing_role",
        "a clerk lists the node's outbox",
    );
    error_is(
        &admin.get("/api/v1/outbox?state=lost"),
        400,
        "outbox_state",
        "an unknown outbox state",
    );
    let retried = clerk_a.post_json(&format!("/api/v1/outbox/{row}/retry"), &json!({}));
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.json["state"], "queued", "{}", retried.text);
    error_is(
        &clerk_b.post_json(&format!("/api/v1/outbox/{row}/retry"), &json!({})),
        404,
        "not_found",
        "another agency's clerk resends",
    );

    // The directory entry of D changes (its node's certificate renewed); hosted
    // agencies are not moved that way.
    let renewed = "ab".repeat(32);
    let changed = admin.send_json(
        "PUT",
        &format!("/api/v1/agencies/{D}"),
        &json!({"name": "Văn phòng Chính phủ", "node_url": "https://truc2.example.gov.vn",
                "node_certificate": renewed}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.json["node_certificate"], renewed,
        "{}",
        changed.text
    );
    error_is(
        &admin.send_json(
            "PUT",
            &format!("/api/v1/agencies/{B}"),
            &json!({"name": "Sở Nội vụ", "node_url": "https://x.example", "node_certificate": renewed}),
        ),
        404,
        "not_found",
        "moving a hosted agency",
    );
    let renamed = admin.send_json(
        "PUT",
        &format!("/api/v1/agencies/{B}"),
        &json!({"name": "Sở Nội vụ thành phố", "signing_certificates": [renewed]}),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["hosted"], true, "{}", renamed.text);
    assert_eq!(
        renamed.json["signing_certificates"][0], renewed,
        "{}",
        renamed.text
    );
    error_is(
        &admin.send_json(
            "PUT",
            &format!("/api/v1/agencies/{B}"),
            &json!({"name": "Sở Nội vụ", "signing_certificates": ["not a certificate"]}),
        ),
        400,
        "signing_certificate",
        "a signing certificate that is neither a fingerprint nor PEM",
    );

    // edXML: A's package to D as the QCVN 102:2016 envelope; the same document sent as
    // edXML by another document system to E (hosted here) is filed for E, verified on
    // receipt, and E's status 01 goes back as edXML.
    let (status, exported) = clerk_a.get_bytes(&format!("/api/v1/deliveries/{delivery_d}/edxml"));
    assert_eq!(status, 200);
    let text = String::from_utf8(exported.clone()).unwrap();
    assert!(
        text.contains("http://www.mic.gov.vn/TBT/QCVN_102_2016"),
        "{text}"
    );
    let package =
        kyso_exchange::edxml::import_package(&exported, &kyso_exchange::Limits::default()).unwrap();
    assert_eq!(package.header().subject, "Về việc triển khai chữ ký số");
    let added = admin.post_json("/api/v1/agencies", &json!({"id": E, "name": "Sở Xây dựng"}));
    assert_eq!(added.status, 201, "{}", added.text);
    node.user(E, "vanthu_e", &[Role::Clerk]);
    let clerk_e = node.login("vanthu_e");
    let mut header = package.header().clone();
    header.to = vec![kyso_exchange::Organization::new(agency(E), "Sở Xây dựng")];
    let to_e = kyso_exchange::edxml::export_package(
        &kyso_exchange::Package::new(header, package.attachments().to_vec()).unwrap(),
    );
    error_is(
        &clerk_b.post_raw("/api/v1/packages/edxml", "application/xml", to_e.as_bytes()),
        400,
        "not_addressed_here",
        "an edXML package for another agency",
    );
    error_is(
        &clerk_e.post_raw(
            "/api/v1/packages/edxml",
            "application/xml",
            b"<edXMLEnvelope",
        ),
        400,
        "invalid_xml",
        "broken edXML",
    );
    let imported = clerk_e.post_raw("/api/v1/packages/edxml", "application/xml", to_e.as_bytes());
    assert_eq!(imported.status, 201, "{}", imported.text);
    assert_eq!(imported.json["verdict"], "valid", "{}", imported.text);
    let again = clerk_e.post_raw("/api/v1/packages/edxml", "application/xml", to_e.as_bytes());
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["outcome"], "already_sent", "{}", again.text);
    let e_doc = incoming(&clerk_e);
    assert_eq!(e_doc["state"]["incoming"], "verified", "{e_doc}");
    let delivery_e = imported.json["delivery"].as_i64().unwrap();
    let (status, answer) =
        clerk_e.get_bytes(&format!("/api/v1/deliveries/{delivery_e}/edxml-status"));
    assert_eq!(status, 200);
    let status_message =
        kyso_exchange::edxml::import_status(&answer, &kyso_exchange::Limits::default()).unwrap();
    assert_eq!(status_message.status_code.code(), "01");
    assert_eq!(status_message.from.organ_id, agency(E));

    // A package that cannot be filed (no attachment) is still answered: refused on
    // receipt, 02 with the reason, in the timeline and as edXML.
    let mut header = package.header().clone();
    header.to = vec![kyso_exchange::Organization::new(agency(E), "Sở Xây dựng")];
    header.document_id = kyso_model::DocumentId::new(agency(A), 2026, 999_001).unwrap();
    let empty = kyso_exchange::edxml::export_package(
        &kyso_exchange::Package::new(header, Vec::new()).unwrap(),
    );
    let refused = clerk_e.post_raw(
        "/api/v1/packages/edxml",
        "application/xml",
        empty.as_bytes(),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert_eq!(refused.json["outcome"], "not_delivered", "{}", refused.text);
    let refused_delivery = refused.json["delivery"].as_i64().unwrap();
    let (status, answer) = clerk_e.get_bytes(&format!(
        "/api/v1/deliveries/{refused_delivery}/edxml-status"
    ));
    assert_eq!(status, 200);
    let message =
        kyso_exchange::edxml::import_status(&answer, &kyso_exchange::Limits::default()).unwrap();
    assert_eq!(message.status_code.code(), "02");
    assert!(
        message.description.contains("không có tệp đính kèm"),
        "{}",
        message.description
    );

    // A crash between a step and its status: E's acceptance is made in the office
    // alone (the status never written); when the node starts again the status is
    // recovered from the document's history, once.
    let e_id = e_doc["id"].as_i64().unwrap();
    let (at, date) = node.app.now_and_today();
    node.rt
        .block_on(node.app.office().advance(
            e_id,
            kyso_office::Step {
                event: kyso_office::Event::Accept,
                note: String::new(),
                template: None,
                advisory_body: None,
                at,
                date,
            },
        ))
        .unwrap();
    let timeline_e = |c: &Client| c.get(&format!("/api/v1/documents/{e_id}/deliveries"));
    assert_eq!(codes(&timeline_e(&clerk_e).json, E), ["01"]);
    assert_eq!(node.rt.block_on(node.app.recover_statuses()).unwrap(), 1);
    assert_eq!(node.rt.block_on(node.app.recover_statuses()).unwrap(), 0);
    let recovered = timeline_e(&clerk_e);
    assert_eq!(
        codes(&recovered.json, E),
        ["01", "03"],
        "{}",
        recovered.text
    );
    assert!(
        recovered.json[0]["statuses"][1]["description"]
            .as_str()
            .unwrap()
            .starts_with("Số đến: "),
        "{}",
        recovered.text
    );

    // The operations are in the OpenAPI document.
    let doc = clerk_a.get("/api/v1/openapi.json");
    for path in [
        "/api/v1/documents/{id}/sendings",
        "/api/v1/documents/{id}/deliveries",
        "/api/v1/deliveries/{id}/recall",
        "/api/v1/deliveries/{id}/recall-reply",
        "/api/v1/agencies",
        "/api/v1/agencies/{id}",
        "/api/v1/agencies/pull",
        "/api/v1/outbox",
        "/api/v1/outbox/{id}/retry",
        "/api/v1/deliveries/{id}/transport",
        "/api/v1/deliveries/{id}/edxml",
        "/api/v1/deliveries/{id}/edxml-status",
        "/api/v1/packages/edxml",
    ] {
        assert!(doc.json["paths"][path].is_object(), "{path} not in OpenAPI");
    }
}

#[test]
fn agencies_of_one_node_send_and_receive() {
    for backend in ["sqlite", "postgres"] {
        let Some(node) = start(backend) else {
            continue;
        };
        flow(&node);
    }
}

/// A file that is not a PDF travels with its detached CAdES signature (made by
/// `openssl cms -sign -cades`, the peer): B files both from the package's bytes and
/// verifies the signature over the file on receipt.
#[test]
fn a_detached_signature_travels_with_its_file() {
    let Some(node) = start("sqlite") else {
        return;
    };
    node.user(A, "quantri", &[Role::Administrator]);
    node.user(A, "vanthu_a", &[Role::Clerk]);
    node.user(B, "vanthu_b", &[Role::Clerk]);
    let admin = node.login("quantri");
    for (id, name) in [(A, "Sở Thông tin và Truyền thông"), (B, "Sở Nội vụ")] {
        let added = admin.post_json("/api/v1/agencies", &json!({"id": id, "name": name}));
        assert_eq!(added.status, 201, "{}", added.text);
    }
    let pki = kyso_testkit::pki::fixture();
    let dir = pki.scratch("detached-exchange");
    let report = dir.join("bao-cao.txt");
    std::fs::write(
        &report,
        "Báo cáo tình hình triển khai chữ ký số năm 2026\n".repeat(200),
    )
    .unwrap();
    let p7s = dir.join("bao-cao.txt.p7s");
    kyso_testkit::pki::check(
        std::process::Command::new("openssl")
            .args([
                "cms", "-sign", "-cades", "-binary", "-md", "sha256", "-outform", "DER",
            ])
            .arg("-in")
            .arg(&report)
            .arg("-signer")
            .arg(&pki.cert_pem)
            .arg("-inkey")
            .arg(&pki.key_pem)
            .arg("-certfile")
            .arg(&pki.chain_pem)
            .arg("-out")
            .arg(&p7s),
    );
    let clerk_a = node.login("vanthu_a");
    let filed = clerk_a.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "bao-cao.txt", &std::fs::read(&report).unwrap())
            .file(
                "signature",
                "bao-cao.txt.p7s",
                &std::fs::read(&p7s).unwrap(),
            )
            .text("type", "BC")
            .text("subject", "Báo cáo tình hình triển khai chữ ký số")
            .text("allocate_issuer", "STTTT"),
    );
    assert_eq!(filed.status, 201, "{}", filed.text);
    let id = filed.json["record"]["id"].as_i64().unwrap();
    let sent = clerk_a.post_json(
        &format!("/api/v1/documents/{id}/sendings"),
        &json!({"recipients": [B]}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(
        sent.json["recipients"][0]["outcome"], "delivered",
        "{}",
        sent.text
    );
    let clerk_b = node.login("vanthu_b");
    let received = incoming(&clerk_b);
    let b_id = received["id"].as_i64().unwrap();
    let shown = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );
    // Both files are in B's archive, byte for byte.
    let original = &shown.json["original"];
    assert_eq!(
        original["document"]["sha256"],
        hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(&std::fs::read(&report).unwrap())),
        "{}",
        shown.text
    );
    assert_eq!(
        original["signature"]["size"],
        std::fs::metadata(&p7s).unwrap().len(),
        "{}",
        shown.text
    );
    // The validation material of the receipt is kept beside them (evidence records).
    let folder = node
        .dir
        .path()
        .join("archive")
        .join(shown.json["archive_dir"].as_str().unwrap());
    let material: Value =
        serde_json::from_slice(&std::fs::read(folder.join("material.json")).unwrap()).unwrap();
    assert_eq!(
        material["format"], "kyso-validation-material/1",
        "{material}"
    );
    assert!(
        material["certificates"].as_array().unwrap().len() >= 2,
        "the signer and its chain: {material}"
    );
    assert!(
        !material["crls"].as_array().unwrap().is_empty(),
        "the CRLs fetched on receipt: {material}"
    );
}
