//! The outgoing flow over HTTP, end to end, against a real `kyso serve` on loopback
//! with the agency device on SoftHSM2: an officer uploads the draft → the leader signs
//! through two-step signing with a key only the test holds (an external signer, as a
//! token on the leader's PC) → the clerk numbers it → the clerk seals it with the
//! device attached to the server (custodian and PIN checked) → issued → the archived
//! original verifies as valid with both signatures in `kyso verify` and pyHanko, and is
//! found in the archive tree and by accent-less search; then the same for a non-PDF file
//! as CAdES (the leader's detached signature and the seal as a second signer of the same
//! `.p7s`). On SQLite and PostgreSQL.

use kyso_signer::SoftKey;
use kyso_testkit::http::{Client, Multipart};
use serde_json::json;

use crate::office::{Office, Personal, login, on_both_backends, refused, sign_two_step, signature};
use crate::support::{success, verify_with};
use crate::token::{PIN, assert_pyhanko_valid};

const DEVICE: &str = "thiet-bi-so-tttt";
/// The signer named on testdata/documents/cong-van.pdf: the leader's certificate
/// carries this name, and the appearance is placed by it.
const LEADER: &str = "Nguyễn Văn Hùng";

struct Node {
    office: Office,
    /// The leader's key is the test's own (an external signer); only its certificate
    /// is ever sent to the server.
    leader: Personal,
}

fn set_up(database_url: Option<String>) -> Node {
    let office = Office::new(DEVICE, PIN, database_url);
    let leader = office.personal("lanhdao", LEADER);
    office.add_user("lanhdao", LEADER, &["leader"], Some(&leader));
    office.add_user("vanthu", "Trần Thị Văn", &["clerk", "custodian"], None);
    office.add_user("chuyenvien", "Lê Văn Chuyên", &["officer"], None);
    office.register_device(DEVICE, PIN, "vanthu");
    Node { office, leader }
}

fn state(a: &kyso_testkit::http::Answer) -> &str {
    a.json["state"]["outgoing"]
        .as_str()
        .or_else(|| a.json["state"].as_str())
        .unwrap_or_default()
}

fn outgoing_flow(node: &Node) {
    let served = node.office.serve(None);
    let url = served.url.as_str();
    let officer = login(url, "chuyenvien");
    let leader = login(url, "lanhdao");
    let clerk = login(url, "vanthu");
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();

    // 1. The officer uploads the draft; a secret one is refused by the core.
    let draft = |secrecy: &str| {
        Multipart::new()
            .file("file", "cong-van.pdf", &pdf)
            .text("type", "CV")
            .text("subject", "Về việc triển khai chữ ký số trong cơ quan")
            .text("signer", LEADER)
            .text("secrecy", secrecy)
    };
    refused(
        &officer.post_form("/api/v1/drafts", &draft("mat")),
        403,
        "secret_document",
        "a secret draft",
    );
    let created = officer.post_form("/api/v1/drafts", &draft("thuong"));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_i64().unwrap();
    assert_eq!(state(&created), "draft", "{}", created.text);
    let (status, working) = officer.get_bytes(&format!("/api/v1/documents/{id}/original"));
    assert_eq!(
        (status, working == pdf),
        (200, true),
        "the draft as uploaded"
    );

    // 2. The leader signs in two steps. Nobody else may start the leader's signature,
    // and a signature step cannot be claimed without signing.
    let start = json!({"role": "leader", "certificates": node.leader.chain});
    let sessions = format!("/api/v1/documents/{id}/signing-sessions");
    refused(
        &clerk.post_json(&sessions, &start),
        403,
        "missing_role",
        "a clerk starting the leader's signature",
    );
    refused(
        &leader.post_json(
            &format!("/api/v1/documents/{id}/steps"),
            &json!({"event": "leader_sign"}),
        ),
        409,
        "sign_to_advance",
        "leader_sign claimed without a signature",
    );
    let ticket = leader.post_json(&sessions, &start);
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    assert_eq!(ticket.json["signature_algorithm"], "ECDSA-P256-SHA256");
    let signature_url = format!("/api/v1/documents/{id}/signature");
    // A signature by another key is refused, and the session survives it.
    let other = SoftKey::generate(kyso_signer::KeyKind::P256).unwrap();
    refused(
        &leader.post_json(&signature_url, &signature(&ticket, &other)),
        400,
        "signature_mismatch",
        "a signature by another key",
    );
    // The session belongs to the leader who started it.
    let signed_by_leader = signature(&ticket, &node.leader.key);
    refused(
        &clerk.post_json(&signature_url, &signed_by_leader),
        404,
        "not_found",
        "someone else's session",
    );
    let signed = leader.post_json(&signature_url, &signed_by_leader);
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(state(&signed), "leader_signed", "{}", signed.text);
    // Used once.
    refused(
        &leader.post_json(&signature_url, &signed_by_leader),
        404,
        "not_found",
        "a session used twice",
    );

    // 3. The clerk numbers it.
    let numbered = clerk.post_json(
        &format!("/api/v1/documents/{id}/steps"),
        &json!({"event": "number", "issuer": "STTTT", "units": ["VP"]}),
    );
    assert_eq!(numbered.status, 200, "{}", numbered.text);
    let number = numbered.json["metadata"]["CodeNumber"].as_str().unwrap();
    assert!(
        numbered.json["metadata"]["CodeNotation"]
            .as_str()
            .is_some_and(|n| n.contains("STTTT-VP")),
        "{}",
        numbered.text
    );

    // 4. The seal with the device on the server: not the officer, not a wrong PIN.
    let seal = format!("/api/v1/documents/{id}/seal");
    refused(
        &officer.post_json(&seal, &json!({"pin": PIN})),
        403,
        "missing_role",
        "an officer sealing",
    );
    refused(
        &clerk.post_json(&seal, &json!({"pin": "000000"})),
        403,
        "device",
        "a wrong PIN",
    );
    let sealed = clerk.post_json(&seal, &json!({"pin": PIN}));
    assert_eq!(sealed.status, 200, "{}", sealed.text);
    assert_eq!(state(&sealed), "seal_signed", "{}", sealed.text);

    // 5. Issued: the sealed copy becomes the archived original.
    let issued = clerk.post_json(
        &format!("/api/v1/documents/{id}/steps"),
        &json!({"event": "issue"}),
    );
    assert_eq!(issued.status, 200, "{}", issued.text);
    assert_eq!(state(&issued), "issued", "{}", issued.text);
    assert!(
        !node
            .office
            .hsm
            .data
            .join("drafts")
            .join(id.to_string())
            .exists(),
        "working copies removed once issued"
    );
    let shown = clerk.get(&format!("/api/v1/documents/{id}"));
    assert!(shown.json["path"].is_string(), "{}", shown.text);
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );

    // 6. The original verifies as plainly valid with both signatures, in kyso and in
    // pyHanko, on any computer that trusts the root.
    let (file, _) = node.office.signed_pdf(
        &clerk,
        &format!("/api/v1/documents/{id}/original"),
        &pdf,
        2,
        &format!("issued-{id}.pdf"),
    );
    assert_pyhanko_valid(&file, &node.office.hsm.root, 2);

    // 7. In the archive tree and found by accent-less search.
    let tree = clerk.get("/api/v1/archive");
    assert!(tree.text.contains(&format!("\"id\":{id}")), "{}", tree.text);
    let found = clerk.get("/api/v1/search?q=trien%20khai%20chu%20ky%20so");
    assert!(
        found.json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"].as_str() == Some(id.to_string().as_str())),
        "{}",
        found.text
    );
    let by_number = clerk.get(&format!("/api/v1/search?q={number}"));
    assert!(
        by_number.json["total"].as_u64() >= Some(1),
        "{}",
        by_number.text
    );

    // 8. Any other file goes the same way as CAdES: the leader's detached signature, the
    // seal added beside it as a second signer of the same `.p7s`.
    cades_flow(node, &officer, &leader, &clerk);

    // 9. Every step is in the audit log, the device's use under the clerk's name.
    drop(served);
    let mut list = node.office.hsm.kyso();
    list.env_remove("KYSO_DATABASE_URL").args(["audit", "list"]);
    if let Some(url) = &node.office.database_url {
        list.env("KYSO_DATABASE_URL", url);
    }
    let listing = success(&mut list);
    for key in [
        "draft",
        "signing_start",
        "leader_sign",
        "number",
        "seal_sign",
        "issue",
    ] {
        assert!(listing.contains(key), "audit has no {key}: {listing}");
    }
}

fn cades_flow(node: &Node, officer: &Client, leader: &Client, clerk: &Client) {
    let content: Vec<u8> = (0..40_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let created = officer.post_form(
        "/api/v1/drafts",
        &Multipart::new()
            .file("file", "bang-tong-hop.xlsx", &content)
            .text("type", "BC")
            .text("subject", "Báo cáo tổng hợp số liệu chữ ký số quý IV"),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_i64().unwrap();
    let (ticket, signed) = sign_two_step(
        leader,
        &format!("/api/v1/documents/{id}"),
        &json!({"role": "leader", "certificates": node.leader.chain}),
        &node.leader.key,
    );
    assert_eq!(ticket.json["format"], "cades", "{}", ticket.text);
    assert!(ticket.json["page"].is_null(), "{}", ticket.text);
    assert_eq!(signed.status, 200, "{}", signed.text);
    let steps = format!("/api/v1/documents/{id}/steps");
    let numbered = clerk.post_json(
        &steps,
        &json!({"event": "number", "issuer": "STTTT", "units": []}),
    );
    assert_eq!(numbered.status, 200, "{}", numbered.text);
    let sealed = clerk.post_json(
        &format!("/api/v1/documents/{id}/seal"),
        &json!({"pin": PIN}),
    );
    assert_eq!(sealed.status, 200, "{}", sealed.text);
    let issued = clerk.post_json(&steps, &json!({"event": "issue"}));
    assert_eq!(issued.status, 200, "{}", issued.text);
    let shown = clerk.get(&format!("/api/v1/documents/{id}"));
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );
    assert_eq!(
        shown.json["verification"]["signatures"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{}",
        shown.text
    );
    let (status, original) = clerk.get_bytes(&format!("/api/v1/documents/{id}/original"));
    assert_eq!(
        (status, original == content),
        (200, true),
        "byte-exact content"
    );
    // The archived pair verifies on any computer that trusts the root.
    let folder = node
        .office
        .hsm
        .data
        .join("archive")
        .join(shown.json["path"].as_str().unwrap());
    let folder = folder.parent().unwrap();
    let p7s = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "p7s"))
        .expect("the archived .p7s");
    let document = node.office.hsm.data.join(format!("issued-{id}.xlsx"));
    std::fs::write(&document, &content).unwrap();
    let report = verify_with(&document, Some(&p7s), &node.office.hsm.root);
    assert_eq!(report.verdict(), "valid", "{:?}", report.json);
}

#[test]
fn outgoing_flow_over_http_with_the_device_on_softhsm() {
    on_both_backends(|database_url| outgoing_flow(&set_up(database_url)));
}
