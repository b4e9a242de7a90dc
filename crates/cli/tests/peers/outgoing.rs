//! The outgoing flow over HTTP, end to end, against a real `kyso serve` on loopback
//! with the agency device on SoftHSM2: an officer uploads the draft → the leader signs
//! through two-step signing with a key only the test holds (an external signer, as a
//! token on the leader's PC) → the clerk numbers it → the clerk seals it with the
//! device attached to the server (custodian and PIN checked) → issued → the archived
//! original verifies as valid with both signatures in `kyso verify` and pyHanko, and is
//! found in the archive tree and by accent-less search; then the same for a non-PDF file
//! as CAdES (the leader's detached signature and the seal as a second signer of the same
//! `.p7s`). On SQLite and PostgreSQL.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use kyso_signer::{Signer, SoftKey};
use kyso_testkit::http::{Client, Multipart};
use serde_json::json;

use crate::support::{kyso, pyhanko, success, verify_with};
use crate::token::{MODULE, PIN, SoftHsm};

const AGENCY: &str = "000.00.12.H13";
const DEVICE: &str = "thiet-bi-so-tttt";
/// The signer named on testdata/documents/cong-van.pdf: the leader's certificate
/// carries this name, and the appearance is placed by it.
const LEADER: &str = "Nguyễn Văn Hùng";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Node {
    hsm: SoftHsm,
    database_url: Option<String>,
    leader_key: SoftKey,
    leader_chain: Vec<String>,
}

impl Node {
    /// `kyso …` as `user` on this node's data and database.
    fn as_user(&self, user: &str, args: &[&str]) -> Command {
        let mut c = self.hsm.kyso();
        c.env("KYSO_AGENCY_ID", AGENCY)
            .env("KYSO_AGENCY_NAME", "Sở Thông tin và Truyền thông")
            .env("KYSO_PASSWORD", format!("{user}-mat-khau"))
            .env_remove("KYSO_DATABASE_URL");
        if let Some(url) = &self.database_url {
            c.env("KYSO_DATABASE_URL", url);
        }
        c.args(args).args(["--user", user]);
        c
    }
}

fn images() -> std::path::PathBuf {
    crate::support::workspace().join("testdata/images")
}

fn set_up(database_url: Option<String>) -> Node {
    let hsm = SoftHsm::new();
    hsm.init_token(DEVICE, PIN);
    hsm.token_key(
        DEVICE,
        PIN,
        "02",
        "con-dau",
        "rsa:2048",
        "seal",
        "Sở Thông tin và Truyền thông thành phố Cần Thơ",
    );
    // The leader's key is the test's own (an external signer); only its certificate is
    // ever sent to the server.
    let export = hsm.data.join("export");
    std::fs::create_dir_all(&export).unwrap();
    success(
        hsm.kyso()
            .args([
                "ca",
                "issue",
                "--profile",
                "person",
                "--name",
                "lanhdao",
                "--cn",
                LEADER,
                "--export-plain",
            ])
            .arg(&export),
    );
    success(hsm.kyso().args(["trust", "add"]).arg(&hsm.root));
    let key_pem = std::fs::read_to_string(export.join("lanhdao.key.pem")).unwrap();
    let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
    let leader_key = SoftKey::from_pkcs8_der(&key_der, None).unwrap();
    let chain_pem = std::fs::read_to_string(export.join("lanhdao.crt.pem")).unwrap();
    let leader_chain = crate::support::pem_certificates(&chain_pem);
    let node = Node {
        hsm,
        database_url,
        leader_key,
        leader_chain,
    };
    let mut admin = node.as_user(
        "admin",
        &[
            "user",
            "add",
            "admin",
            "--full-name",
            "Quản Trị Viên",
            "--role",
            "administrator",
            "--password",
        ],
    );
    admin.env("KYSO_NEW_PASSWORD", "admin-mat-khau");
    success(&mut admin);
    for (name, full, roles) in [
        ("lanhdao", LEADER, &["leader"][..]),
        ("vanthu", "Trần Thị Văn", &["clerk", "custodian"][..]),
        ("chuyenvien", "Lê Văn Chuyên", &["officer"][..]),
    ] {
        let mut c = node.as_user("admin", &["user", "add", name, "--full-name", full]);
        c.env("KYSO_NEW_PASSWORD", format!("{name}-mat-khau"))
            .arg("--password");
        for r in roles {
            c.args(["--role", r]);
        }
        if name == "lanhdao" {
            c.arg("--signature-image")
                .arg(images().join("signature-blue.png"))
                .arg("--certificate")
                .arg(export.join("lanhdao.crt.pem"));
        }
        success(&mut c);
    }
    let mut register = node.as_user("admin", &["device", "register", "--pkcs11", MODULE]);
    register
        .args([
            "--token-label",
            DEVICE,
            "--custodian",
            "vanthu",
            "--seal-image",
        ])
        .arg(images().join("seal-red.png"));
    success(&mut register);
    node
}

fn login(url: &str, user: &str) -> Client {
    let mut c = Client::new(url);
    let a = c.login(user, &format!("{user}-mat-khau"));
    assert_eq!(a.status, 201, "login {user}: {}", a.text);
    c
}

fn refused(a: &kyso_testkit::http::Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert_eq!(a.json["code"], code, "{what}: {}", a.text);
    assert!(
        a.json["vi"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {}",
        a.text
    );
}

fn state(a: &kyso_testkit::http::Answer) -> &str {
    a.json["state"]["outgoing"]
        .as_str()
        .or_else(|| a.json["state"].as_str())
        .unwrap_or_default()
}

fn outgoing_flow(node: &Node) {
    let mut serve = kyso();
    serve
        .env("SOFTHSM2_CONF", &node.hsm.conf)
        .env_remove("KYSO_PIN")
        .env_remove("KYSO_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .arg("--data")
        .arg(&node.hsm.data)
        .args(["serve", "--listen", "127.0.0.1:0", "--pkcs11", MODULE]);
    if let Some(url) = &node.database_url {
        serve.args(["--database-url", url]);
    }
    let served = kyso_testkit::serve::spawn(&mut serve);
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
    let start = json!({"role": "leader", "certificates": node.leader_chain});
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
    let tbs = B64
        .decode(ticket.json["to_be_signed"].as_str().unwrap())
        .unwrap();
    let session = ticket.json["session"].as_str().unwrap();
    let signature_url = format!("/api/v1/documents/{id}/signature");
    // A signature by another key is refused, and the session survives it.
    let other = SoftKey::generate(kyso_signer::KeyKind::P256).unwrap();
    refused(
        &leader.post_json(
            &signature_url,
            &json!({"session": session, "signature": B64.encode(other.sign(&tbs).unwrap())}),
        ),
        400,
        "signature_mismatch",
        "a signature by another key",
    );
    // The session belongs to the leader who started it.
    refused(
        &clerk.post_json(
            &signature_url,
            &json!({"session": session, "signature": B64.encode(node.leader_key.sign(&tbs).unwrap())}),
        ),
        404,
        "not_found",
        "someone else's session",
    );
    let signed = leader.post_json(
        &signature_url,
        &json!({"session": session, "signature": B64.encode(node.leader_key.sign(&tbs).unwrap())}),
    );
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(state(&signed), "leader_signed", "{}", signed.text);
    // Used once.
    refused(
        &leader.post_json(
            &signature_url,
            &json!({"session": session, "signature": B64.encode(node.leader_key.sign(&tbs).unwrap())}),
        ),
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
        !node.hsm.data.join("drafts").join(id.to_string()).exists(),
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
    let (status, original) = clerk.get_bytes(&format!("/api/v1/documents/{id}/original"));
    assert_eq!(status, 200);
    assert!(
        original.starts_with(&pdf),
        "signatures are incremental updates"
    );
    let file = node.hsm.data.join(format!("issued-{id}.pdf"));
    std::fs::write(&file, &original).unwrap();
    let report = verify_with(&file, None, &node.hsm.root);
    assert_eq!(report.verdict(), "valid", "{:?}", report.json);
    assert_eq!(report.json["signatures"].as_array().unwrap().len(), 2);
    pyhanko_valid(&file, &node.hsm.root, 2);

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
    let mut list = node.hsm.kyso();
    list.env_remove("KYSO_DATABASE_URL").args(["audit", "list"]);
    if let Some(url) = &node.database_url {
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
    let ticket = leader.post_json(
        &format!("/api/v1/documents/{id}/signing-sessions"),
        &json!({"role": "leader", "certificates": node.leader_chain}),
    );
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    assert_eq!(ticket.json["format"], "cades", "{}", ticket.text);
    assert!(ticket.json["page"].is_null(), "{}", ticket.text);
    let tbs = B64
        .decode(ticket.json["to_be_signed"].as_str().unwrap())
        .unwrap();
    let signed = leader.post_json(
        &format!("/api/v1/documents/{id}/signature"),
        &json!({
            "session": ticket.json["session"],
            "signature": B64.encode(node.leader_key.sign(&tbs).unwrap()),
        }),
    );
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
    let document = node.hsm.data.join(format!("issued-{id}.xlsx"));
    std::fs::write(&document, &content).unwrap();
    let report = verify_with(&document, Some(&p7s), &node.hsm.root);
    assert_eq!(report.verdict(), "valid", "{:?}", report.json);
}

/// pyHanko's summary: one `FIELD:INTACT:TRUSTED,…` line per valid signature.
fn pyhanko_valid(file: &Path, root: &Path, signatures: usize) {
    let out = success(
        pyhanko()
            .args(["sign", "validate", "--trust"])
            .arg(root)
            .args(["--trust-replace", "--no-revocation-check"])
            .arg(file),
    );
    let valid = out
        .lines()
        .filter(|l| l.contains(":INTACT:TRUSTED"))
        .count();
    assert_eq!(valid, signatures, "{out}");
}

#[test]
fn outgoing_flow_over_http_with_the_device_on_softhsm() {
    outgoing_flow(&set_up(None));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(url) = rt.block_on(kyso_testkit::postgres::database()) {
        outgoing_flow(&set_up(Some(url)));
    }
}
