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
use kyso_testkit::serve::{
    PASSWORD, Served, add_remote_agency as add_agency, add_user, login, set_up,
    trusting_data_dir as data_dir,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Sở Thông tin và Truyền thông (node A) and Văn phòng UBND tỉnh (node B).
const A: &str = "000.00.00.H13";
const B: &str = "000.00.00.H41";

/// Node `data` on SQLite, or on the PostgreSQL database `database`.
fn serve(data: &Path, database: Option<&str>, port: u16, cert: &NodeCert, ca: &Path) -> Served {
    serve_with(data, database, port, cert, ca, &[])
}

/// [`serve`] with extra flags (`--exchange-relay`, `--exchange-crl`).
fn serve_with(
    data: &Path,
    database: Option<&str>,
    port: u16,
    cert: &NodeCert,
    ca: &Path,
    extra: &[&str],
) -> Served {
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
            .args(extra)
            .env_remove("KYSO_DATABASE_URL")
            .env("RUST_LOG", "warn"),
    )
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

/// A's clerk files the issued document (leader-signed, sealed by pyHanko, numbered from
/// A's register) with `urgency`; its id.
fn file_issued(clerk_a: &Client, urgency: &str) -> i64 {
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
            .text("urgency", urgency)
            .text("allocate_issuer", "STTTT")
            .text("allocate_units", "VP"),
    );
    assert_eq!(filed.status, 201, "{}", filed.text);
    filed.json["record"]["id"].as_i64().unwrap()
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
    let sent_id = file_issued(&clerk_a, "khan");
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
        &[],
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
        &[],
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

/// The codes of the delivery to `recipient` in A's timeline of `sent_id`.
fn codes_to(clerk: &Client, sent_id: i64, recipient: &str) -> Vec<String> {
    let timeline = clerk.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == recipient)
        .map(|d| {
            d["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Three nodes, each a `kyso serve` process with its own data directory: node A hosts
/// agencies A and A2, node B hosts B and is a hub (`--exchange-relay`), node C hosts C
/// and is reached from A only through B. A sends one document to B, C and A2 at once:
/// A2 receives it inside node A, B over mutual TLS, C through the hub, which cannot
/// alter it (the origin node signs the package digest and every status). C does not
/// trust the test PKI: its copy is never accepted as valid, and its clerk refuses it
/// with a reason; B accepts (arrival number, verification report, register) and later
/// agrees to A's recall; A sees every status of every recipient. A hub that alters a
/// package or makes up a status is refused. A fourth node D, knowing only the hub,
/// pulls the hub's directory (so does A, whose hosted agency the hub's entry does not
/// overwrite) and sends to A through the hub: accepted, 01 and 03 back at D. Once the
/// node CA revokes the hub's certificate, C refuses it at the handshake, and a node
/// client given the CRL refuses the hub's listener.
#[test]
fn three_nodes_one_hub_send_accept_refuse_recall() {
    const A2: &str = "000.00.01.H13";
    const C: &str = "000.00.00.H42";
    let tmp = TempDir::new().unwrap();
    let mut ca = NodeCa::new(&tmp.path().join("node-ca"));
    let (cert_a, cert_b, cert_c) = (ca.node("a"), ca.node("b"), ca.node("c"));
    let (port_a, port_b, port_c) = (free_port(), free_port(), free_port());
    let (data_a, data_b) = (data_dir(tmp.path(), "a"), data_dir(tmp.path(), "b"));
    // C trusts none of the test PKI.
    let data_c = tmp.path().join("c");
    std::fs::create_dir_all(&data_c).unwrap();

    let node_a = serve(&data_a, None, port_a, &cert_a, &ca.ca_pem);
    let node_b = serve_with(
        &data_b,
        None,
        port_b,
        &cert_b,
        &ca.ca_pem,
        &["--exchange-relay"],
    );
    let node_c = serve(&data_c, None, port_c, &cert_c, &ca.ca_pem);
    let admin_a = set_up(&node_a, A, "So%20Thong%20tin%20va%20Truyen%20thong");
    let admin_b = set_up(&node_b, B, "Van%20phong%20UBND%20tinh");
    let admin_c = set_up(&node_c, C, "So%20Tai%20chinh");
    add_user(&admin_a, "vanthu_a", "clerk");
    add_user(&admin_b, "vanthu_b", "clerk");
    add_user(&admin_c, "vanthu_c", "clerk");
    // A: B directly, C through the hub B (C's own node certificate), A2 hosted here.
    add_agency(&admin_a, B, "Văn phòng UBND tỉnh", port_b, &cert_b);
    add_agency(&admin_a, C, "Sở Tài chính", port_b, &cert_c);
    let hosted = admin_a.post_json(
        "/api/v1/agencies",
        &json!({"id": A2, "name": "Trung tâm Công nghệ thông tin"}),
    );
    assert_eq!(hosted.status, 201, "{}", hosted.text);
    // The hub knows both ends; C reaches A through the hub.
    add_agency(&admin_b, A, "Sở Thông tin và Truyền thông", port_a, &cert_a);
    // B knows A's seal certificate (the agency signs with it); C is told a wrong one.
    let seal_pem = std::fs::read_to_string(&fixture().cert2_pem).unwrap();
    let signing = |admin: &Client, port: u16, certificate: &str| {
        let changed = admin.send_json(
            "PUT",
            &format!("/api/v1/agencies/{A}"),
            &json!({"name": "Sở Thông tin và Truyền thông",
                    "node_url": format!("https://127.0.0.1:{port}"),
                    "node_certificate": cert_a.fingerprint,
                    "signing_certificates": [certificate]}),
        );
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(
            changed.json["signing_certificates"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{}",
            changed.text
        );
    };
    signing(&admin_b, port_a, &seal_pem);
    add_agency(&admin_b, C, "Sở Tài chính", port_c, &cert_c);
    add_agency(&admin_c, A, "Sở Thông tin và Truyền thông", port_b, &cert_a);
    signing(&admin_c, port_b, &"ab".repeat(32));
    // A2's first user (administrator and clerk), made with the CLI on node A's data.
    let added = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("--data")
        .arg(&data_a)
        .args(["user", "add", "--agency-id", A2, "vanthu_a2"])
        .args(["--full-name", "Lê Thị Hoa", "--role", "administrator"])
        .args(["--role", "clerk", "--password"])
        .env("KYSO_NEW_PASSWORD", PASSWORD)
        .env_remove("KYSO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    // A files the issued document and sends it to the three.
    let clerk_a = login(&node_a, "vanthu_a");
    let sent_id = file_issued(&clerk_a, "hoa_toc");
    let sent = clerk_a.post_json(
        &format!("/api/v1/documents/{sent_id}/sendings"),
        &json!({"recipients": [B, C, A2]}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    let outcome = |r: &str| {
        sent.json["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["recipient"] == r)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(
        (outcome(B), outcome(C), outcome(A2)),
        (json!("queued"), json!("queued"), json!("delivered")),
        "{}",
        sent.text
    );

    // B and C receive it; C's copy (untrusted CA) is never valid.
    let clerk_b = login(&node_b, "vanthu_b");
    let clerk_c = login(&node_c, "vanthu_c");
    let at_b = wait_for("the document at B", || incoming(&clerk_b).pop());
    let at_c = wait_for("the document at C, through the hub", || {
        incoming(&clerk_c).pop()
    });
    assert_eq!(at_b["state"]["incoming"], "verified", "{at_b}");
    assert_eq!(at_c["state"]["incoming"], "received", "{at_c}");
    let c_id = at_c["id"].as_i64().unwrap();
    let shown_c = clerk_c.get(&format!("/api/v1/documents/{c_id}"));
    assert_eq!(
        shown_c.json["verification"]["verdict"], "indeterminate",
        "{}",
        shown_c.text
    );
    // Not signed with the certificate C's directory records for A: even verified by
    // hand, it is accepted only with a reason.
    assert_eq!(
        shown_c.json["verification"]["sender_certificate"]["matched"], false,
        "{}",
        shown_c.text
    );
    let steps_c = format!("/api/v1/documents/{c_id}/steps");
    let checked = clerk_c.post_json(&steps_c, &json!({"event": "verify"}));
    assert_eq!(checked.status, 200, "{}", checked.text);
    let accepted = clerk_c.post_json(&steps_c, &json!({"event": "accept"}));
    assert_eq!(
        (accepted.status, accepted.json["code"].as_str()),
        (409, Some("unknown_signer")),
        "{}",
        accepted.text
    );
    // The hub's hop is in the trace C keeps (the package file of C).
    let package_c = std::fs::read(&files_in(&data_c.join("exchange/packages"))[0]).unwrap();
    let parsed =
        kyso_exchange::Package::parse(&package_c, &kyso_exchange::Limits::default()).unwrap();
    let route: Vec<String> = parsed
        .trace()
        .iter()
        .map(|h| h.organ_id.to_string())
        .collect();
    assert_eq!(route, [A, B], "the trace of hops");

    // B accepts (arrival number 1); C refuses with a reason; A2 accepts.
    let b_id = at_b["id"].as_i64().unwrap();
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
    let reason = "Chữ ký số chưa xác thực được: chứng thư không thuộc danh sách tin cậy";
    let refused = clerk_c.post_json(
        &format!("/api/v1/documents/{c_id}/steps"),
        &json!({"event": "refuse", "note": reason}),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);
    let clerk_a2 = login(&node_a, "vanthu_a2");
    let a2_id = incoming(&clerk_a2).pop().unwrap()["id"].as_i64().unwrap();
    let accepted = clerk_a2.post_json(
        &format!("/api/v1/documents/{a2_id}/steps"),
        &json!({"event": "accept"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);

    // A sees every status of every recipient (C's through the hub).
    wait_for("B's 03 and C's 02 at A", || {
        (codes_to(&clerk_a, sent_id, B).len() >= 2 && codes_to(&clerk_a, sent_id, C).len() >= 2)
            .then_some(())
    });
    assert_eq!(codes_to(&clerk_a, sent_id, B), ["01", "03"]);
    assert_eq!(codes_to(&clerk_a, sent_id, C), ["01", "02"]);
    assert_eq!(codes_to(&clerk_a, sent_id, A2), ["01", "03"]);
    let timeline = clerk_a.get(&format!("/api/v1/documents/{sent_id}/deliveries"));
    let to_c = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == C)
        .unwrap()
        .clone();
    assert_eq!(to_c["statuses"][1]["description"], reason, "{to_c}");

    // B's register and archive show it with its arrival number and report.
    let register = clerk_b.get("/api/v1/registers/incoming");
    assert_eq!(register.status, 200, "{}", register.text);
    assert!(
        register.text.contains("Về việc triển khai chữ ký số"),
        "{}",
        register.text
    );
    let shown_b = clerk_b.get(&format!("/api/v1/documents/{b_id}"));
    assert_eq!(
        shown_b.json["verification"]["verdict"], "valid",
        "{}",
        shown_b.text
    );
    assert_eq!(
        shown_b.json["verification"]["sender_certificate"]["matched"], true,
        "{}",
        shown_b.text
    );
    assert_eq!(
        shown_b.json["metadata"]["ArrivalNumber"], 1,
        "{}",
        shown_b.text
    );

    // A recalls from B; B agrees; A sees 13 then 15.
    let delivery_ab = timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipient"] == B)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let asked = clerk_a.post_json(
        &format!("/api/v1/deliveries/{delivery_ab}/recall"),
        &json!({"reason": "Văn bản ban hành sai thể thức"}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text);
    let delivery_b = wait_for("the recall request at B", || {
        let seen = clerk_b.get(&format!("/api/v1/documents/{b_id}/deliveries"));
        (seen.json[0]["recall"] == "requested").then(|| seen.json[0]["id"].as_i64().unwrap())
    });
    let agreed = clerk_b.post_json(
        &format!("/api/v1/deliveries/{delivery_b}/recall-reply"),
        &json!({"agree": true}),
    );
    assert_eq!(agreed.status, 200, "{}", agreed.text);
    wait_for("15 at A", || {
        (codes_to(&clerk_a, sent_id, B).len() >= 4).then_some(())
    });
    assert_eq!(codes_to(&clerk_a, sent_id, B), ["01", "03", "13", "15"]);

    // A hub that alters what it relays: B's node identity delivers to C a package
    // rebuilt with another subject (new digest) under A's origin signature — refused,
    // nothing stored; a status "from C" that B makes up, without C's origin — refused.
    let hub = kyso_net::NodeClient::from_pem(
        &std::fs::read(&cert_b.cert_pem).unwrap(),
        &std::fs::read(&cert_b.key_pem).unwrap(),
        &std::fs::read(&ca.ca_pem).unwrap(),
        &[],
        Duration::from_secs(30),
    )
    .unwrap();
    let digest = parsed.digest().to_hex();
    let kept: Value = serde_json::from_slice(
        &std::fs::read(data_b.join(format!("exchange/origins/package-{digest}.json"))).unwrap(),
    )
    .unwrap();
    let mut header = parsed.header().clone();
    header.subject = "Về việc chuyển tiền vào tài khoản mới".into();
    let altered = kyso_exchange::Package::new(header, parsed.attachments().to_vec())
        .unwrap()
        .to_bytes();
    let origin_headers = [
        (
            "kyso-origin-certificate",
            kept["certificate"].as_str().unwrap().to_string(),
        ),
        (
            "kyso-origin-signature",
            kept["signature"].as_str().unwrap().to_string(),
        ),
    ];
    let url_c = format!("https://127.0.0.1:{port_c}/exchange/v1/packages");
    let (status, body) = hub
        .post_with_headers(
            &url_c,
            "application/vnd.kyso.exchange",
            &origin_headers,
            &altered,
        )
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("bad_origin")),
        "{answer}"
    );
    // The untouched package with its origin: what C has already (no copy).
    let (status, body) = hub
        .post_with_headers(
            &url_c,
            "application/vnd.kyso.exchange",
            &origin_headers,
            &parsed.to_bytes(),
        )
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(incoming(&clerk_c).len(), 1);
    assert_eq!(files_in(&data_c.join("exchange/packages")).len(), 1);
    // A status made up by the hub in C's name: refused by A.
    let forged = std::fs::read_to_string(
        files_in(&data_b.join("exchange/origins"))
            .iter()
            .find(|p| p.to_string_lossy().contains("status-"))
            .expect("a relayed status origin at the hub"),
    )
    .unwrap();
    let forged: Value = serde_json::from_str(&forged).unwrap();
    let message = kyso_exchange::StatusMessage::new(
        kyso_exchange::ResponseFor::new(A.parse().unwrap(), parsed.header().document_id.clone()),
        kyso_exchange::Organization::new(C.parse().unwrap(), "Sở Tài chính"),
        kyso_model::StatusCode::Completed,
        parsed.trace()[0].timestamp,
    );
    let json = message.to_json().unwrap();
    let url_a = format!("https://127.0.0.1:{port_a}/exchange/v1/statuses");
    for headers in [
        Vec::new(),
        vec![
            (
                "kyso-origin-certificate",
                forged["certificate"].as_str().unwrap().to_string(),
            ),
            (
                "kyso-origin-signature",
                forged["signature"].as_str().unwrap().to_string(),
            ),
        ],
    ] {
        let (status, body) = hub
            .post_with_headers(&url_a, "application/json", &headers, &json)
            .unwrap();
        assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    }
    assert_eq!(codes_to(&clerk_a, sent_id, C), ["01", "02"]);

    // A fourth node D knows only the hub. Its node CA CRL (`--exchange-crl`) lists C.
    const D: &str = "000.00.00.H44";
    let cert_d = ca.node("d");
    let port_d = free_port();
    let data_d = data_dir(tmp.path(), "d");
    let crl_d = ca.crl(&[&cert_c]).to_string_lossy().to_string();
    let node_d = serve_with(
        &data_d,
        None,
        port_d,
        &cert_d,
        &ca.ca_pem,
        &["--exchange-crl", &crl_d],
    );
    let admin_d = set_up(&node_d, D, "So%20Y%20te");
    add_user(&admin_d, "vanthu_d", "clerk");
    add_agency(&admin_d, B, "Văn phòng UBND tỉnh", port_b, &cert_b);
    add_agency(&admin_b, D, "Sở Y tế", port_d, &cert_d);
    let hub_url = json!({"hub_url": format!("https://127.0.0.1:{port_b}/")});
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    // A pulls the hub's directory: D is added (through the hub, pinned to D's own node
    // certificate), B's entry takes the hub's name for it, C is unchanged, and A —
    // hosted here — is not overwritten by the hub's entry for it.
    let pulled = admin_a.post_json("/api/v1/agencies/pull", &hub_url);
    assert_eq!(pulled.status, 200, "{}", pulled.text);
    assert_eq!(ids(&pulled.json["added"]), [D], "{}", pulled.text);
    assert_eq!(ids(&pulled.json["updated"]), [B], "{}", pulled.text);
    assert_eq!(pulled.json["unchanged"], 1, "{}", pulled.text);
    assert_eq!(pulled.json["skipped"][0]["id"], A, "{}", pulled.text);
    assert_eq!(
        pulled.json["skipped"][0]["code"], "hosted_here",
        "{}",
        pulled.text
    );
    let directory_a = admin_a.get("/api/v1/agencies");
    let entry = |id: &str| {
        directory_a
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(entry(A)["hosted"], true, "{}", directory_a.text);
    assert_eq!(
        (
            entry(D)["node_url"].clone(),
            entry(D)["node_certificate"].clone()
        ),
        (
            json!(format!("https://127.0.0.1:{port_b}")),
            json!(cert_d.fingerprint)
        ),
        "{}",
        directory_a.text
    );
    // Only the administrator pulls.
    let refused = clerk_a.post_json("/api/v1/agencies/pull", &hub_url);
    assert_eq!(refused.status, 403, "{}", refused.text);
    // D pulls too: A and C are added through the hub (A with its seal certificate).
    let pulled = admin_d.post_json("/api/v1/agencies/pull", &hub_url);
    assert_eq!(pulled.status, 200, "{}", pulled.text);
    assert_eq!(ids(&pulled.json["added"]), [A, C], "{}", pulled.text);
    // D's CRL lists C: D's node client refuses C's listener at the handshake.
    let pulled = admin_d.post_json(
        "/api/v1/agencies/pull",
        &json!({"hub_url": format!("https://127.0.0.1:{port_c}")}),
    );
    assert_eq!(
        (pulled.status, pulled.json["code"].as_str()),
        (503, Some("hub_unreachable")),
        "{}",
        pulled.text
    );
    assert!(
        pulled.json["en"].as_str().unwrap().contains("revoked"),
        "{}",
        pulled.text
    );
    // D sends to A, behind the hub: relayed, verified and accepted at A; D sees 01, 03.
    let clerk_d = login(&node_d, "vanthu_d");
    let sent_d = file_issued(&clerk_d, "khan");
    let sent = clerk_d.post_json(
        &format!("/api/v1/documents/{sent_d}/sendings"),
        &json!({"recipients": [A]}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(
        sent.json["recipients"][0]["outcome"], "queued",
        "{}",
        sent.text
    );
    let at_a = wait_for("D's document at A, through the hub", || {
        incoming(&clerk_a).pop()
    });
    assert_eq!(at_a["state"]["incoming"], "verified", "{at_a}");
    let accepted = clerk_a.post_json(
        &format!("/api/v1/documents/{}/steps", at_a["id"].as_i64().unwrap()),
        &json!({"event": "accept"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    wait_for("A's 03 at D", || {
        (codes_to(&clerk_d, sent_d, A).len() >= 2).then_some(())
    });
    assert_eq!(codes_to(&clerk_d, sent_d, A), ["01", "03"]);
    drop(node_d);

    // The node CA revokes the hub's certificate: C, restarted with the CRL, refuses it
    // at the handshake; A's certificate still passes.
    drop(node_c);
    let crl = ca.crl(&[&cert_b]);
    let crl_arg = crl.to_string_lossy().to_string();
    let node_c = serve_with(
        &data_c,
        None,
        port_c,
        &cert_c,
        &ca.ca_pem,
        &["--exchange-crl", &crl_arg],
    );
    let refused = hub.post_with_headers(
        &url_c,
        "application/vnd.kyso.exchange",
        &origin_headers,
        &parsed.to_bytes(),
    );
    assert!(refused.is_err(), "a revoked node was answered: {refused:?}");
    let node_client_a = kyso_net::NodeClient::from_pem(
        &std::fs::read(&cert_a.cert_pem).unwrap(),
        &std::fs::read(&cert_a.key_pem).unwrap(),
        &std::fs::read(&ca.ca_pem).unwrap(),
        &[],
        Duration::from_secs(30),
    )
    .unwrap();
    let (status, _) = node_client_a
        .post(&url_c, "application/vnd.kyso.exchange", b"not a package")
        .unwrap();
    assert_eq!(status, 400, "a node in good standing reaches C");
    // The other way: a node client given the CRL refuses the hub's listener (its server
    // certificate revoked) with a clear error, and still reaches C.
    let checking = kyso_net::NodeClient::from_pem(
        &std::fs::read(&cert_a.cert_pem).unwrap(),
        &std::fs::read(&cert_a.key_pem).unwrap(),
        &std::fs::read(&ca.ca_pem).unwrap(),
        &[ca.crl_der(&[&cert_b])],
        Duration::from_secs(30),
    )
    .unwrap();
    let url_b = format!("https://127.0.0.1:{port_b}/exchange/v1/packages");
    let refused = checking.post(&url_b, "application/vnd.kyso.exchange", b"x");
    assert!(
        matches!(refused, Err(kyso_net::NetError::Revoked { .. })),
        "a revoked node's listener was answered: {refused:?}"
    );
    assert!(
        refused.unwrap_err().to_string().contains("revoked"),
        "the error names the revocation"
    );
    let (status, _) = checking
        .post(&url_c, "application/vnd.kyso.exchange", b"not a package")
        .unwrap();
    assert_eq!(status, 400, "a node in good standing is reached");
    drop((node_a, node_b, node_c));
}
