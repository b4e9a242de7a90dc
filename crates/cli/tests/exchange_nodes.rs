//! Delivery between two nodes: two real `kyso serve` processes with their own data
//! directories on loopback, each with a node certificate of a test node CA
//! (`--exchange-listen/--exchange-cert/--exchange-key/--exchange-ca`). A document
//! signed by the leader and sealed (pyHanko, the test PKI) is sent by agency A on node
//! A to agency B on node B while node B is down, then node A is killed; once both are
//! up again it arrives exactly once, verified, and A's timeline shows B's `01` and then
//! `03`; A's recall (`13`) reaches B, whose agreement (`15`) reaches A. B's exchange
//! listener refuses a client without a certificate at the handshake, answers a package
//! delivered again with what exists, refuses a package with one byte changed (400,
//! nothing stored) and one delivered by a node other than the one its directory records
//! for the sender (403). On SQLite, and on PostgreSQL when `KYSO_TEST_POSTGRES_URL`
//! names a server.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kyso_testkit::http::{Client, Multipart};
use kyso_testkit::mtls::{NodeCa, NodeCert, free_port, post_without_certificate};
use kyso_testkit::pki::{Who, fixture, sign_bytes};
use kyso_testkit::serve::Served;
use serde_json::{Value, json};
use tempfile::TempDir;

const PASSWORD: &str = "mat-khau-thu-nghiem-2026";
/// Sở Thông tin và Truyền thông (node A) and Văn phòng UBND tỉnh (node B).
const A: &str = "000.00.00.H13";
const B: &str = "000.00.00.H41";

/// Node `data` on SQLite, or on the PostgreSQL database `database`.
fn serve(data: &Path, database: Option<&str>, port: u16, cert: &NodeCert, ca: &Path) -> Served {
    kyso_testkit::serve::spawn(
        Command::new(env!("CARGO_BIN_EXE_kyso"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(database.map(|url| format!("--database-url={url}")))
            .args(["--exchange-listen", &format!("127.0.0.1:{port}")])
            .arg("--exchange-cert")
            .arg(&cert.cert_pem)
            .arg("--exchange-key")
            .arg(&cert.key_pem)
            .arg("--exchange-ca")
            .arg(ca)
            .env_remove("KYSO_DATABASE_URL")
            .env("RUST_LOG", "warn"),
    )
}

/// A data directory whose trust anchor is the test PKI's root.
fn data_dir(parent: &Path, name: &str) -> std::path::PathBuf {
    let data = parent.join(name);
    std::fs::create_dir_all(data.join("trust")).unwrap();
    std::fs::copy(&fixture().root_pem, data.join("trust/test-root.pem")).unwrap();
    data
}

/// The first administrator of `agency` through the setup link, signed in.
fn set_up(served: &Served, agency: &str, agency_name: &str) -> Client {
    let link = served.setup_link.clone().expect("a setup link");
    let token = link.split("token=").nth(1).unwrap();
    let form = format!(
        "token={token}&agency_id={agency}&agency_name={agency_name}&name=quantri&full_name=Tran&password={PASSWORD}"
    );
    let created = Client::new(&served.url).post_raw(
        "/setup",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    login(served, "quantri")
}

fn login(served: &Served, name: &str) -> Client {
    let mut c = Client::new(&served.url);
    let a = c.login(name, PASSWORD);
    assert_eq!(a.status, 201, "login {name}: {}", a.text);
    c
}

fn add_user(admin: &Client, name: &str, role: &str) {
    let added = admin.post_json(
        "/api/v1/users",
        &json!({"name": name, "full_name": name, "roles": [role], "password": PASSWORD}),
    );
    assert_eq!(added.status, 201, "{}", added.text);
}

fn add_agency(admin: &Client, id: &str, name: &str, port: u16, cert: &NodeCert) {
    let added = admin.post_json(
        "/api/v1/agencies",
        &json!({"id": id, "name": name, "node_url": format!("https://127.0.0.1:{port}"),
                "node_certificate": cert.fingerprint}),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["hosted"], false, "{}", added.text);
}

/// Polls `f` until it gives a value (at most 45 s).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn incoming(c: &Client) -> Vec<Value> {
    let listed = c.get("/api/v1/documents?direction=incoming");
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.json.as_array().unwrap().clone()
}

/// A's delivery to B (state, codes of its timeline).
fn delivery_to_b(clerk_a: &Client, sent_id: i64) -> (String, Vec<String>) {
    let timeline = clerk_a.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    let d = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == B)
        .unwrap_or_else(|| panic!("no delivery to B: {}", timeline.text))
        .clone();
    let codes = d["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_string())
        .collect();
    (d["state"].as_str().unwrap().to_string(), codes)
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn two_nodes_deliver_over_mutual_tls() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    flow(None, None);
    // Both nodes on PostgreSQL (the outbox claimed with FOR UPDATE SKIP LOCKED).
    if let Some(a) = rt.block_on(kyso_testkit::postgres::database()) {
        let b = rt.block_on(kyso_testkit::postgres::database()).unwrap();
        flow(Some(&a), Some(&b));
    }
}

fn flow(database_a: Option<&str>, database_b: Option<&str>) {
    let tmp = TempDir::new().unwrap();
    let mut ca = NodeCa::new(&tmp.path().join("node-ca"));
    let (cert_a, cert_b) = (ca.node("a"), ca.node("b"));
    let (port_a, port_b) = (free_port(), free_port());
    let (data_a, data_b) = (data_dir(tmp.path(), "a"), data_dir(tmp.path(), "b"));

    // Both nodes set up, each knowing the other (its node URL and certificate); then
    // node B goes down.
    let node_a = serve(&data_a, database_a, port_a, &cert_a, &ca.ca_pem);
    let admin_a = set_up(&node_a, A, "So%20Thong%20tin%20va%20Truyen%20thong");
    add_user(&admin_a, "vanthu_a", "clerk");
    add_agency(&admin_a, B, "Văn phòng UBND tỉnh", port_b, &cert_b);
    let node_b = serve(&data_b, database_b, port_b, &cert_b, &ca.ca_pem);
    let admin_b = set_up(&node_b, B, "Van%20phong%20UBND%20tinh");
    add_user(&admin_b, "vanthu_b", "clerk");
    add_agency(&admin_b, A, "Sở Thông tin và Truyền thông", port_a, &cert_a);
    drop(node_b);

    // A's clerk files the issued document (leader-signed, sealed) and sends it to B.
    let clerk_a = login(&node_a, "vanthu_a");
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let sealed = sign_bytes(
        &sign_bytes(&pdf, "LeaderSignature", Who::Leader, &[]),
        "SealSignature",
        Who::Seal,
        &[],
    );
    let filed = clerk_a.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "cong-van.pdf", &sealed)
            .text("type", "CV")
            .text("subject", "Về việc triển khai chữ ký số")
            .text("urgency", "khan")
            .text("allocate_issuer", "STTTT")
            .text("allocate_units", "VP"),
    );
    assert_eq!(filed.status, 201, "{}", filed.text);
    let sent_id = filed.json["record"]["id"].as_i64().unwrap();
    let sent = clerk_a.post_json(
        &format!("/api/v1/documents/{sent_id}/sendings"),
        &json!({"recipients": [B]}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(
        sent.json["recipients"][0]["outcome"], "queued",
        "{}",
        sent.text
    );
    assert_eq!(delivery_to_b(&clerk_a, sent_id).0, "queued");

    // Node A is killed while its delivery waits; both nodes come back (same data, same
    // ports): A's outbox worker resumes and delivers.
    drop(node_a);
    let node_b = serve(&data_b, database_b, port_b, &cert_b, &ca.ca_pem);
    let node_a = serve(&data_a, database_a, port_a, &cert_a, &ca.ca_pem);
    let clerk_a = login(&node_a, "vanthu_a");
    let clerk_b = login(&node_b, "vanthu_b");
    let received = wait_for("the document at B", || incoming(&clerk_b).pop());
    assert_eq!(received["state"]["incoming"], "verified", "{received}");
    let b_id = received["id"].as_i64().unwrap();
    let shown = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );
    let (state, codes) = wait_for("01 in A's timeline", || {
        let (state, codes) = delivery_to_b(&clerk_a, sent_id);
        (!codes.is_empty()).then_some((state, codes))
    });
    assert_eq!(state, "delivered");
    assert_eq!(codes, ["01"]);

    // B accepts: 03 travels back to A.
    let accepted = clerk_b.post_json(
        &format!("/api/v1/documents/{b_id}/steps"),
        &json!({"event": "accept"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let codes = wait_for("03 in A's timeline", || {
        let (_, codes) = delivery_to_b(&clerk_a, sent_id);
        (codes.len() >= 2).then_some(codes)
    });
    assert_eq!(codes, ["01", "03"]);

    // Recall across nodes: A asks (13, to B's node), B's clerk sees the request and
    // agrees (15, back to A's node); B's copy is marked recalled.
    let timeline = clerk_a.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    let delivery_a = timeline.json[0]["id"].as_i64().unwrap();
    let asked = clerk_a.post_json(
        &format!("/api/v1/deliveries/{delivery_a}/recall"),
        &json!({"reason": "Văn bản ban hành sai thể thức"}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text);
    let delivery_b = wait_for("the recall request at B", || {
        let seen = clerk_b.get(&format!("/api/v1/documents/{b_id}/deliveries"));
        assert_eq!(seen.status, 200, "{}", seen.text);
        (seen.json[0]["recall"] == "requested").then(|| seen.json[0]["id"].as_i64().unwrap())
    });
    let agreed = clerk_b.post_json(
        &format!("/api/v1/deliveries/{delivery_b}/recall-reply"),
        &json!({"agree": true}),
    );
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    let codes = wait_for("15 in A's timeline", || {
        let (_, codes) = delivery_to_b(&clerk_a, sent_id);
        (codes.len() >= 4).then_some(codes)
    });
    assert_eq!(codes, ["01", "03", "13", "15"]);
    let withdrawn = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(
        withdrawn.json["state"]["incoming"], "recalled",
        "{}",
        withdrawn.text
    );

    // Exactly once at B, one stored package.
    assert_eq!(incoming(&clerk_b).len(), 1);
    let packages_b = data_b.join("exchange/packages");
    assert_eq!(files_in(&packages_b).len(), 1);

    // The package delivered again with A's certificate: the existing state, no copy.
    let package = std::fs::read(&files_in(&data_a.join("exchange/packages"))[0]).unwrap();
    let node_client = kyso_net::NodeClient::from_pem(
        &std::fs::read(&cert_a.cert_pem).unwrap(),
        &std::fs::read(&cert_a.key_pem).unwrap(),
        &std::fs::read(&ca.ca_pem).unwrap(),
        Duration::from_secs(30),
    )
    .unwrap();
    let url = format!("https://127.0.0.1:{port_b}/exchange/v1/packages");
    let (status, body) = node_client
        .post(&url, "application/vnd.kyso.exchange", &package)
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["recipients"][0]["outcome"], "already_sent",
        "{answer}"
    );

    // One byte changed: 400 with the reason, nothing stored.
    let mut corrupted = package.clone();
    let at = corrupted.len() / 2;
    corrupted[at] ^= 0x01;
    let (status, body) = node_client
        .post(&url, "application/vnd.kyso.exchange", &corrupted)
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["code"].is_string() && answer["en"].is_string(),
        "{answer}"
    );
    assert_eq!(files_in(&packages_b).len(), 1);
    assert_eq!(incoming(&clerk_b).len(), 1);

    // A node certificate of the CA, but not the one the directory records for A: 403.
    let other_node = kyso_net::NodeClient::from_pem(
        &std::fs::read(&cert_b.cert_pem).unwrap(),
        &std::fs::read(&cert_b.key_pem).unwrap(),
        &std::fs::read(&ca.ca_pem).unwrap(),
        Duration::from_secs(30),
    )
    .unwrap();
    let (status, body) = other_node
        .post(&url, "application/vnd.kyso.exchange", &package)
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("unknown_node")),
        "{answer}"
    );

    // No client certificate: refused at the TLS handshake.
    let refused = post_without_certificate(&url, &ca.ca_pem, &package);
    assert!(
        refused.is_err(),
        "answered without a client certificate: {refused:?}"
    );
    assert_eq!(incoming(&clerk_b).len(), 1);
}
