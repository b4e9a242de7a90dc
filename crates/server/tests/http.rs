//! The HTTP API end to end: a real server (kyso-server's router on a loopback TCP
//! socket, driven by a real HTTP client) over kyso-app, on SQLite and on PostgreSQL.
//! Documents are signed by pyHanko (the peer) with the test PKI of kyso-testkit, whose
//! root is the node's trust anchor.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use der::Decode;
use kyso_office::Role;
use kyso_server::Config;
use kyso_testkit::http::{Client, Multipart};
use kyso_testkit::node::{BACKENDS, PASSWORD, SETUP_TOKEN, agency};
use kyso_testkit::pki::{Who, fixture, sign_bytes};
use serde_json::{Value, json};

const AGENCY: &str = "000.00.00.H13";

/// A node of kyso-testkit, with this agency's people, devices and handovers.
struct Node(kyso_testkit::node::Node);

impl std::ops::Deref for Node {
    type Target = kyso_testkit::node::Node;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn start(backend: &'static str, tweak: impl FnOnce(&mut Config)) -> Option<Node> {
    kyso_testkit::node::start_with(backend, tweak).map(Node)
}

impl Node {
    /// A user of the agency with `roles`.
    fn user(&self, name: &str, full_name: &str, roles: &[Role]) {
        self.0.person(AGENCY, name, full_name, roles);
    }

    /// Registers an agency device held by `custodian` (facts as read from a token; the
    /// test PKI's seal certificate).
    fn device(&self, serial: &str, custodian: &str) {
        let seal_pem = std::fs::read(&fixture().cert2_pem).unwrap();
        let (_, seal_der) = der::pem::decode_vec(&seal_pem).unwrap();
        let agency = agency(AGENCY);
        self.rt
            .block_on(self.app.register_device(
                &kyso_app::Actor::operator(agency),
                kyso_app::custody::DeviceRegistration {
                    serial: serial.into(),
                    label: "thiet-bi-co-quan".into(),
                    manufacturer: "SoftHSM".into(),
                    model: "v2".into(),
                    slot: 0,
                    key_id: "02".into(),
                    certificate: x509_cert::Certificate::from_der(&seal_der).unwrap(),
                    custodian: custodian.into(),
                    seal_image: None,
                },
            ))
            .unwrap();
    }

    /// A handover of a new device `serial` from `giver` to `receiver`, approved and
    /// accepted (the token step taken elsewhere), its minutes drawn up; with both
    /// parties' signatures when `signed` (a personal key of the test PKI). Its id.
    fn accepted_handover(&self, serial: &str, giver: &str, receiver: &str, signed: bool) -> i64 {
        use kyso_app::Actor;
        use kyso_app::custody::{HandoverRequest, LocalKey, MinutesOptions, TokenStep};
        self.device(serial, giver);
        let agency = agency(AGENCY);
        let person = |name: &str| {
            let u = self.rt.block_on(self.app.archive().user(&agency, name));
            Actor::User(u.unwrap().unwrap())
        };
        let leader = self
            .rt
            .block_on(self.app.archive().users(&agency))
            .unwrap()
            .into_iter()
            .find(|u| u.has(Role::Leader) && u.name != giver && u.name != receiver)
            .expect("a leader to approve");
        let (giver_actor, receiver_actor) = (person(giver), person(receiver));
        let person = |name: &str| {
            if name == giver {
                giver_actor.clone()
            } else {
                receiver_actor.clone()
            }
        };
        let app = &self.app;
        self.rt.block_on(async {
            let h = app
                .request_handover(
                    &person(giver),
                    HandoverRequest {
                        device: serial.into(),
                        receiver: receiver.into(),
                        permission: "Quyết định số 12/QĐ-UBND ngày 01/12/2026".into(),
                        witnesses: vec![],
                        condition: "Hoạt động bình thường".into(),
                    },
                )
                .await
                .unwrap();
            let id = h.id.unwrap();
            app.decide_handover(
                &Actor::User(leader),
                id,
                kyso_office::HandoverDecision::Approve,
                "",
            )
            .await
            .unwrap();
            let options = MinutesOptions {
                issuer: "STTTT".into(),
                agency_name: "Sở Thông tin và Truyền thông".into(),
                place: "Cần Thơ".into(),
                location: "Trụ sở cơ quan".into(),
                ..MinutesOptions::default()
            };
            app.accept_handover(&person(receiver), id, TokenStep::PinChanged, &options)
                .await
                .unwrap();
            if signed {
                let fx = fixture();
                let key_pem = std::fs::read_to_string(&fx.key_pem).unwrap();
                let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
                let key = kyso_signer::SoftKey::from_pkcs8_der(&key_der, None).unwrap();
                let chain: Vec<x509_cert::Certificate> = std::fs::read_to_string(&fx.cert_pem)
                    .unwrap()
                    .split_inclusive("-----END CERTIFICATE-----")
                    .filter(|p| p.contains("BEGIN"))
                    .map(|p| {
                        let (_, der) = der::pem::decode_vec(p.trim().as_bytes()).unwrap();
                        x509_cert::Certificate::from_der(&der).unwrap()
                    })
                    .collect();
                for (who, name) in [
                    (kyso_office::MinutesSigner::Giver, giver),
                    (kyso_office::MinutesSigner::Receiver, receiver),
                ] {
                    let local = LocalKey {
                        signer: &key,
                        chain: &chain,
                    };
                    app.sign_minutes(&person(name), id, who, Ok(local))
                        .await
                        .unwrap();
                }
            }
            id
        })
    }

    /// Everything a refused request must leave untouched: documents, history, numbers.
    fn snapshot(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (name, sql) in [
            ("documents", "SELECT COUNT(*) FROM document"),
            ("history", "SELECT COUNT(*) FROM document_event"),
            ("counters", "SELECT COUNT(*) FROM series_counter"),
            ("tokens", "SELECT COUNT(*) FROM api_token"),
            ("users", "SELECT COUNT(*) FROM app_user"),
        ] {
            out.insert(name.into(), json!(self.count(sql)));
        }
        Value::Object(out)
    }
}

/// A Decree 30 decision signed by another agency's seal (pyHanko).
fn signed_decision() -> Vec<u8> {
    let pdf = std::fs::read(kyso_testkit::document("quyet-dinh.pdf")).unwrap();
    sign_bytes(&pdf, "SealSignature", Who::Seal, &[])
}

/// A POST announcing `length` bytes of multipart body with `Expect: 100-continue`; the
/// whole answer (status line, headers, body) as text.
fn expect_continue(base: &str, path: &str, length: usize) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn error_shape(a: &kyso_testkit::http::Answer, status: u16, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert!(
        a.json["code"].is_string() && a.json["vi"].is_string() && a.json["en"].is_string(),
        "{what}: the error is not {{code, vi, en}}: {}",
        a.text
    );
}

#[test]
fn public_verification_reports_without_storing() {
    let node = start("sqlite", |c| {
        c.verify_limit = 4 * 1024 * 1024;
    })
    .unwrap();
    let c = node.client();
    let signed = signed_decision();
    let before = node.snapshot();

    let a = c.post_form(
        "/api/v1/verify",
        &Multipart::new().file("file", "qd.pdf", &signed),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["verdict"], "valid", "{}", a.text);
    assert_eq!(a.json["signatures"].as_array().unwrap().len(), 1);

    // One byte of the signed content changed: invalid, never valid.
    let mut tampered = signed.clone();
    let at = signed.windows(7).position(|w| w == b"endobj\n").unwrap() + 100;
    tampered[at] ^= 0x01;
    let a = c.post_form(
        "/api/v1/verify",
        &Multipart::new().file("file", "qd.pdf", &tampered),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_ne!(a.json["verdict"], "valid", "{}", a.text);

    // A file that is not a PDF, without its .p7s: unsigned.
    let a = c.post_form(
        "/api/v1/verify",
        &Multipart::new().file("file", "a.txt", b"hello"),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["verdict"], "unsigned", "{}", a.text);

    // Bad input: 4xx with a JSON error, never 5xx.
    error_shape(
        &c.post_form("/api/v1/verify", &Multipart::new().text("other", "x")),
        400,
        "missing file",
    );
    error_shape(
        &c.post_raw("/api/v1/verify", "application/json", b"{}"),
        400,
        "wrong content type",
    );
    error_shape(
        &c.post_raw(
            "/api/v1/verify",
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated",
        ),
        400,
        "malformed multipart",
    );
    // Over the limit: refused before the body is read (a client announcing it with
    // `Expect: 100-continue` gets the 413 without sending a byte of it).
    let refused = expect_continue(&node.base, "/api/v1/verify", 5 * 1024 * 1024);
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    let body = refused.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    assert_eq!(json["code"], "too_large", "{refused}");
    error_shape(&c.get("/api/v1/nothing-here"), 404, "unknown route");
    error_shape(&c.delete("/api/v1/verify"), 405, "wrong method");

    // Nothing was stored.
    assert_eq!(node.snapshot(), before);
    // Metrics counted the verifications.
    let m = c.get("/metrics");
    assert!(
        m.text
            .contains("kyso_verifications_total{verdict=\"valid\"} 1"),
        "{}",
        m.text
    );
}

/// Runs `tests/browser/verify-page.mjs` on the page at `url` with `file`: what it saw.
fn browse_verify_page(
    url: &str,
    file: &std::path::Path,
    out: &std::path::Path,
    width: u32,
) -> Value {
    let dir = std::env::var_os("KYSO_BROWSER_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| kyso_testkit::workspace().join("tests/browser"));
    assert!(
        dir.join("node_modules/axe-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium, playwright-core and axe-core in {} (bash scripts/test.sh installs them)",
        dir.display()
    );
    let mut cmd = std::process::Command::new("node");
    cmd.arg(dir.join("verify-page.mjs"))
        .args(["--url", url, "--width", &width.to_string(), "--file"])
        .arg(file)
        .arg("--out")
        .arg(out);
    // KYSO_SCREENSHOTS=DIR keeps a screenshot of each report (docs/screenshots).
    if let Some(shots) = std::env::var_os("KYSO_SCREENSHOTS") {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        cmd.arg("--screenshot")
            .arg(std::path::Path::new(&shots).join(format!("xac-minh-{stem}-{width}.png")));
    }
    let o = cmd
        .output()
        .expect("node (nodejs) is needed for the browser test");
    let text = std::fs::read_to_string(out).unwrap_or_default();
    assert!(
        o.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&text).unwrap()
}

/// axe-core's serious and critical violations.
fn serious(violations: &Value) -> Vec<String> {
    violations
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| format!("{}: {} {}", v["id"], v["help"], v["nodes"]))
        .collect()
}

/// The public verification page `/xac-minh`: no login, nothing stored; the report in
/// Vietnamese; a tampered copy KHÔNG HỢP LỆ with its reason; errors as pages; in
/// Chromium, at desktop and phone width, with no serious axe-core violation.
#[test]
fn public_verification_page() {
    let node = start("sqlite", |c| {
        c.verify_limit = 4 * 1024 * 1024;
    })
    .unwrap();
    let c = node.client();
    // The seal with a visible box on page 1 (pyHanko's PAGE/X1,Y1,X2,Y2/NAME).
    let pdf = std::fs::read(kyso_testkit::document("quyet-dinh.pdf")).unwrap();
    let signed = sign_bytes(&pdf, "1/320,120,460,220/SealSignature", Who::Seal, &[]);
    let mut tampered = signed.clone();
    let at = signed.windows(7).position(|w| w == b"endobj\n").unwrap() + 100;
    tampered[at] ^= 0x01;
    let before = node.snapshot();

    let page = c.get("/xac-minh");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("<label for=\"file\">Tệp cần kiểm tra"),
        "{}",
        page.text
    );
    assert!(
        page.headers
            .iter()
            .any(|(k, v)| k == "content-security-policy" && v.contains("default-src 'none'"))
    );
    let good = c.post_form(
        "/xac-minh",
        &Multipart::new().file("file", "qd.pdf", &signed),
    );
    assert_eq!(good.status, 200, "{}", good.text);
    assert!(good.text.contains(">HỢP LỆ<small>"), "{}", good.text);
    assert!(
        good.text.contains("Sở Thông tin và Truyền thông"),
        "{}",
        good.text
    );
    assert!(
        good.text.contains("<dt>Vị trí</dt><dd>trang 1</dd>") && good.text.contains("data-rect=\""),
        "{}",
        good.text
    );
    let csp = good
        .headers
        .iter()
        .find(|(k, _)| k == "content-security-policy")
        .unwrap();
    assert!(
        csp.1.contains("script-src 'self'") && !csp.1.contains("unsafe-eval"),
        "{csp:?}"
    );
    assert_eq!(c.get("/static/pdfjs/pdf.min.mjs").status, 200);
    assert_eq!(c.get("/static/pdfjs/nothing.mjs").status, 404);
    // Every other response keeps the strict policy.
    let health = c.get("/healthz");
    assert!(
        health
            .headers
            .iter()
            .any(|(k, v)| k == "content-security-policy"
                && v.starts_with("default-src 'none'; style-src"))
    );
    let bad = c.post_form(
        "/xac-minh",
        &Multipart::new().file("file", "qd.pdf", &tampered),
    );
    assert_eq!(bad.status, 200, "{}", bad.text);
    assert!(bad.text.contains(">KHÔNG HỢP LỆ<small>"), "{}", bad.text);
    assert!(bad.text.contains("Lý do:"), "{}", bad.text);
    // Any file and its .p7s; the same file with another's signature is not valid.
    let memo = "Giấy mời họp giao ban tuần — Sở Thông tin và Truyền thông".as_bytes();
    let p7s = fixture().short_lived.sign_detached(memo);
    let cms = c.post_form(
        "/xac-minh",
        &Multipart::new().file("file", "giay-moi.txt", memo).file(
            "signature",
            "giay-moi.txt.p7s",
            &p7s,
        ),
    );
    assert_eq!(cms.status, 200, "{}", cms.text);
    assert!(
        cms.text.contains(">HỢP LỆ<small>") && cms.text.contains("Trần Thị Ngắn Hạn"),
        "{}",
        cms.text
    );
    let other = c.post_form(
        "/xac-minh",
        &Multipart::new()
            .file("file", "khac.txt", b"van ban khac")
            .file("signature", "giay-moi.txt.p7s", &p7s),
    );
    assert!(
        other.text.contains(">KHÔNG HỢP LỆ<small>"),
        "{}",
        other.text
    );
    let none = c.post_form("/xac-minh", &Multipart::new().text("other", "x"));
    assert_eq!(none.status, 400, "{}", none.text);
    assert!(
        none.text.contains("thiếu trường `file`") && none.text.contains("role=\"alert\""),
        "{}",
        none.text
    );
    assert_eq!(node.snapshot(), before, "nothing is stored");

    // In the browser, as a person uses it (labels, keyboard), desktop then phone width.
    let dir = tempfile::tempdir().unwrap();
    let (good_pdf, bad_pdf) = (dir.path().join("qd.pdf"), dir.path().join("qd-sua.pdf"));
    std::fs::write(&good_pdf, &signed).unwrap();
    std::fs::write(&bad_pdf, &tampered).unwrap();
    let url = format!("{}/xac-minh", node.base);
    let r = browse_verify_page(&url, &good_pdf, &dir.path().join("good.json"), 1280);
    assert_eq!(r["status"], 200, "{r}");
    // The page drawn beside the report (pdf.js), the seal's rectangle outlined on it.
    assert_eq!(r["pages"], 1, "{r}");
    assert_eq!(r["placed_signatures"], 1, "{r}");
    assert_eq!(r["boxes"], 1, "{r}");
    assert_eq!(r["links"], 1, "{r}");
    assert_eq!(r["link_target"], "vung-chu-ky-1", "{r}");
    assert!(r["verdict"].as_str().unwrap().starts_with("HỢP LỆ"), "{r}");
    assert!(
        r["main"]
            .as_str()
            .unwrap()
            .contains("Sở Thông tin và Truyền thông"),
        "{r}"
    );
    let r2 = browse_verify_page(&url, &bad_pdf, &dir.path().join("bad.json"), 390);
    assert!(
        r2["verdict"].as_str().unwrap().starts_with("KHÔNG HỢP LỆ"),
        "{r2}"
    );
    assert!(r2["main"].as_str().unwrap().contains("Lý do"), "{r2}");
    for (what, v) in [
        ("form", &r["form_axe"]),
        ("valid report", &r["result_axe"]),
        ("phone form", &r2["form_axe"]),
        ("invalid report at phone width", &r2["result_axe"]),
    ] {
        let found = serious(v);
        assert!(found.is_empty(), "axe-core on the {what}: {found:#?}");
    }
}

#[test]
fn security_headers_health_and_openapi() {
    let node = start("sqlite", |_| {}).unwrap();
    let c = node.client();
    let h = c.get("/healthz");
    assert_eq!((h.status, h.text.as_str()), (200, "ok"));
    assert_eq!(h.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(h.header("x-frame-options"), Some("DENY"));
    assert!(
        h.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(c.get("/readyz").status, 200);
    let doc = c.get("/api/v1/openapi.json");
    assert_eq!(doc.status, 200);
    assert!(
        doc.json["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc.text
    );
    for path in [
        "/api/v1/verify",
        "/api/v1/documents",
        "/api/v1/sessions",
        "/api/v1/search",
    ] {
        assert!(
            doc.json["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[test]
fn setup_link_creates_one_administrator_once() {
    let node = start("sqlite", |_| {}).unwrap();
    let c = node.client();
    let body = |token: &str| {
        json!({"token": token, "agency_id": AGENCY, "agency_name": "Ủy ban nhân dân thành phố Cần Thơ",
               "name": "quantri", "full_name": "Trần Thị Quản Trị", "password": PASSWORD})
    };
    error_shape(
        &c.post_json("/api/v1/setup", &body("wrong")),
        403,
        "wrong token",
    );
    let ok = c.post_json("/api/v1/setup", &body(SETUP_TOKEN));
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.json["roles"], json!(["administrator"]));
    // The link is dead after its use.
    error_shape(
        &c.post_json("/api/v1/setup", &body(SETUP_TOKEN)),
        403,
        "second use",
    );
    let mut admin = node.client();
    assert_eq!(admin.login("quantri", PASSWORD).status, 201);
    assert_eq!(admin.get("/api/v1/me").json["name"], "quantri");
}

#[test]
fn login_is_throttled_and_changes_need_the_csrf_token() {
    let node = start("sqlite", |_| {}).unwrap();
    node.user("vanthu", "Lê Văn Thư", &[Role::Clerk]);
    let mut c = node.client();
    // Unknown user and wrong password: the same answer.
    let unknown = c.login("khong-co", PASSWORD);
    let wrong = c.login("vanthu", "sai-mat-khau-roi");
    error_shape(&unknown, 401, "unknown user");
    error_shape(&wrong, 401, "wrong password");
    assert_eq!(unknown.json["code"], wrong.json["code"]);
    for _ in 0..4 {
        c.login("vanthu", "sai-mat-khau-roi");
    }
    // Five failures in a row lock the account, even for the right password.
    error_shape(&c.login("vanthu", PASSWORD), 429, "locked account");

    node.user("lanhdao", "Nguyễn Văn Hùng", &[Role::Leader]);
    let mut leader = node.login("lanhdao");
    let set_cookie = leader.login("lanhdao", PASSWORD);
    let cookie = set_cookie.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    leader.drop_csrf();
    error_shape(
        &leader.post_json(
            "/api/v1/registers/numbers",
            &json!({"type": "QĐ", "issuer": "UBND"}),
        ),
        403,
        "change without CSRF token",
    );
    // Logout ends the session.
    let mut leader = node.login("lanhdao");
    assert_eq!(leader.delete("/api/v1/sessions/current").status, 204);
    error_shape(&leader.get("/api/v1/me"), 401, "after logout");
    let _ = &mut leader;
}

/// The staff's pages without a browser: the way to the login page and back, the two
/// cookies of a page login, the CSRF token in the page, 403/404 pages by role and
/// agency, forms from another site refused, no open redirect, logout.
#[test]
fn staff_pages_sign_in_and_refuse_by_role() {
    let node = start("sqlite", |_| {}).unwrap();
    node.user("vanthu", "Lê Văn Thư", &[Role::Clerk]);
    node.user("chuyenvien", "Phạm Thị Chuyên", &[Role::Officer]);
    let anonymous = node.client();
    let a = anonymous.get("/van-ban-den?nam=2026");
    assert_eq!(a.status, 303);
    assert_eq!(
        a.header("location"),
        Some("/dang-nhap?tiep=%2Fvan-ban-den%3Fnam%3D2026")
    );
    let page = anonymous.get("/dang-nhap");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("wss://127.0.0.1:8987"),
        "{csp}"
    );
    let form = |user: &str, password: &str, next: &str| {
        vec![
            ("ten_dang_nhap".to_string(), user.to_string()),
            ("mat_khau".to_string(), password.to_string()),
            ("tiep".to_string(), next.to_string()),
        ]
    };
    let post = |fields: Vec<(String, String)>, headers: &[(&str, &str)]| {
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        anonymous.post_page_form("/dang-nhap", &f, headers)
    };
    let wrong = post(form("vanthu", "sai-mat-khau-roi", "/"), &[]);
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.text.contains("đăng nhập không thành công"),
        "{}",
        wrong.text
    );
    assert!(wrong.header("set-cookie").is_none());
    let foreign = post(
        form("vanthu", PASSWORD, "/"),
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(foreign.status, 403, "{}", foreign.text);
    assert!(foreign.header("set-cookie").is_none());
    let outside = post(form("vanthu", PASSWORD, "//evil.example/"), &[]);
    assert_eq!(
        (outside.status, outside.header("location")),
        (303, Some("/"))
    );
    let ok = post(
        form("vanthu", PASSWORD, "/tim-kiem"),
        &[("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!((ok.status, ok.header("location")), (303, Some("/tim-kiem")));
    let cookies: Vec<&str> = ok
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in &cookies {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
    }
    let pair = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string()
    };
    let (session, csrf) = (pair("kyso_session"), pair("kyso_csrf"));
    let mut clerk = node.client();
    clerk.use_cookie(&format!("{session}; {csrf}"));
    let home = clerk.get("/");
    assert_eq!(home.status, 200);
    assert!(home.text.contains("Việc của tôi"), "{}", home.text);
    let token = csrf.trim_start_matches("kyso_csrf=");
    assert!(
        home.text
            .contains(&format!("<meta name=\"csrf-token\" content=\"{token}\">")),
        "the page carries the session's CSRF token"
    );
    let refused = clerk.get("/nhat-ky");
    assert_eq!(refused.status, 403);
    assert!(
        refused.text.contains("Không có quyền truy cập") && refused.text.contains("Đăng xuất"),
        "{}",
        refused.text
    );
    assert!(!home.text.contains("href=\"/nhat-ky\""), "no menu entry");
    let officer = node.login("chuyenvien");
    for path in ["/quan-tri", "/nhat-ky"] {
        assert_eq!(officer.get(path).status, 403, "{path}");
    }
    let missing = clerk.get("/van-ban/999999");
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("Không tìm thấy"), "{}", missing.text);
    // Logout: the form needs the page's CSRF token.
    let out = clerk.post_page_form("/dang-xuat", &[("csrf", "sai")], &[]);
    assert_eq!(out.status, 403);
    let out = clerk.post_page_form("/dang-xuat", &[("csrf", token)], &[]);
    assert_eq!(
        (out.status, out.header("location")),
        (303, Some("/dang-nhap"))
    );
    assert_eq!(clerk.get("/").status, 303, "the session is over");
}

fn incoming_flow(node: &Node) {
    node.user("vanthu", "Lê Văn Thư", &[Role::Clerk]);
    node.user("lanhdao", "Nguyễn Văn Hùng", &[Role::Leader]);
    node.user("chuyenvien", "Phạm Thị Chuyên", &[Role::Officer]);
    let clerk = node.login("vanthu");
    let leader = node.login("lanhdao");
    let officer = node.login("chuyenvien");
    let signed = signed_decision();

    // Received: verified on receipt (state `verified`, no arrival number yet).
    let a = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "quyet-dinh.pdf", &signed)
            .text("incoming", "true")
            .text("accept", "false")
            .text("from", "Sở Thông tin và Truyền thông"),
    );
    assert_eq!(a.status, 201, "[{}] {}", node.backend, a.text);
    let id = a.json["record"]["id"].as_i64().unwrap();
    assert_eq!(
        a.json["record"]["state"]["incoming"], "verified",
        "{}",
        a.text
    );
    assert!(
        a.json["record"]["metadata"]["ArrivalNumber"].is_null(),
        "{}",
        a.text
    );
    let steps = format!("/api/v1/documents/{id}/steps");
    // Only the clerk accepts; accepting gives the arrival number (số đến).
    error_shape(
        &officer.post_json(&steps, &json!({"event": "accept"})),
        403,
        "officer accepts",
    );
    let accepted = clerk.post_json(&steps, &json!({"event": "accept"}));
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(
        accepted.json["metadata"]["ArrivalNumber"], 1,
        "{}",
        accepted.text
    );
    assert_eq!(
        accepted.json["state"]["incoming"], "accepted",
        "{}",
        accepted.text
    );

    // Another one is refused: a reason is required, and it gets no arrival number.
    let other = sign_bytes(
        &std::fs::read(kyso_testkit::document("giay-moi.pdf")).unwrap(),
        "SealSignature",
        Who::Seal,
        &[],
    );
    let b = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "giay-moi.pdf", &other)
            .text("type", "GM")
            .text("incoming", "true")
            .text("accept", "false"),
    );
    assert_eq!(b.status, 201, "{}", b.text);
    let refused_id = b.json["record"]["id"].as_i64().unwrap();
    let refuse = format!("/api/v1/documents/{refused_id}/steps");
    error_shape(
        &clerk.post_json(&refuse, &json!({"event": "refuse", "note": " "})),
        400,
        "refusing without a reason",
    );
    let refused = clerk.post_json(
        &refuse,
        &json!({"event": "refuse", "note": "Gửi nhầm cơ quan nhận"}),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert_eq!(
        refused.json["state"]["incoming"], "refused",
        "{}",
        refused.text
    );
    assert!(refused.json["metadata"]["ArrivalNumber"].is_null());

    let shown = clerk.get(&format!("/api/v1/documents/{id}"));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "{}",
        shown.text
    );
    // The same original again: not filed twice.
    let again = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "quyet-dinh.pdf", &signed)
            .text("incoming", "true"),
    );
    error_shape(&again, 409, "duplicate original");

    // The officer may not assign; the leader assigns; the officer handles.
    error_shape(
        &officer.post_json(
            &format!("/api/v1/documents/{id}/steps"),
            &json!({"event": "assign", "note": "x"}),
        ),
        403,
        "officer assigns",
    );
    let assigned = leader.post_json(
        &format!("/api/v1/documents/{id}/steps"),
        &json!({"event": "assign", "note": "Giao Phòng Hành chính xử lý"}),
    );
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let started = officer.post_json(
        &format!("/api/v1/documents/{id}/steps"),
        &json!({"event": "start_processing"}),
    );
    assert_eq!(started.status, 200, "{}", started.text);

    // In the archive tree, found by accent-less search, original byte-exact.
    let tree = clerk.get("/api/v1/archive");
    assert_eq!(tree.status, 200);
    let text = tree.text.clone();
    assert!(text.contains(&format!("\"id\":{id}")), "{text}");
    let found = clerk.get("/api/v1/search?q=quyet%20dinh");
    assert_eq!(found.status, 200, "{}", found.text);
    assert!(
        found.json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"].as_str() == Some(id.to_string().as_str())),
        "{}",
        found.text
    );
    let (status, bytes) = clerk.get_bytes(&format!("/api/v1/documents/{id}/original"));
    assert_eq!(status, 200);
    assert!(bytes == signed, "the original is not byte-exact");
}

fn outgoing_flow(node: &Node) {
    let clerk = node.login("vanthu");
    // A document signed and sealed elsewhere (pyHanko), filed as outgoing with the next
    // number of the register. The electronic flow itself (draft, two-step leader
    // signature, the device's seal) runs against the real binary with SoftHSM in
    // crates/cli/tests/peers/outgoing.rs.
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let leader_signed = sign_bytes(&pdf, "LeaderSignature", Who::Leader, &[]);
    let sealed = sign_bytes(&leader_signed, "SealSignature", Who::Seal, &[]);
    let a = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "cong-van.pdf", &sealed)
            .text("type", "CV")
            .text("subject", "Về việc triển khai chữ ký số")
            .text("allocate_issuer", "STTTT")
            .text("allocate_units", "VP"),
    );
    assert_eq!(a.status, 201, "[{}] {}", node.backend, a.text);
    let record = &a.json["record"];
    let id = record["id"].as_i64().unwrap();
    assert!(record["metadata"]["CodeNumber"].is_string(), "{}", a.text);
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
    let listed = clerk.get("/api/v1/documents?direction=outgoing");
    assert!(
        listed
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == id)
    );
}

/// Registers as CSV / PDF / JSON, records files opened, filled and listed.
fn records_flow(node: &Node) {
    let clerk = node.login("vanthu");
    let officer = node.login("chuyenvien");
    let outgoing = clerk.get("/api/v1/registers/outgoing?format=csv");
    assert_eq!(outgoing.status, 200, "{}", outgoing.text);
    assert!(
        outgoing
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        outgoing.header("content-type")
    );
    assert!(outgoing.text.contains("STTTT-VP"), "{}", outgoing.text);
    let (status, pdf) = clerk.get_bytes("/api/v1/registers/incoming?format=pdf");
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"), "a printable register");
    let json = clerk.get("/api/v1/registers/incoming");
    assert_eq!(json.status, 200, "{}", json.text);
    assert!(
        !json.json["rows"].as_array().unwrap().is_empty(),
        "{}",
        json.text
    );
    error_shape(
        &clerk.get("/api/v1/registers/nonsense"),
        400,
        "an unknown register",
    );
    error_shape(
        &clerk.get("/api/v1/registers/outgoing?format=docx"),
        400,
        "an unknown format",
    );

    let opened = clerk.post_json(
        "/api/v1/files",
        &json!({"code": "01.VP", "title": "Hồ sơ triển khai chữ ký số", "heading": "I. Văn phòng"}),
    );
    assert_eq!(opened.status, 201, "{}", opened.text);
    let code = opened.json["code"].as_str().unwrap().to_string();
    let docs = clerk.get("/api/v1/documents");
    let id = docs.json.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let added = officer.post_json(
        &format!("/api/v1/files/{code}/documents"),
        &json!({"id": id}),
    );
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["ordinal"], 1, "{}", added.text);
    error_shape(
        &officer.post_json("/api/v1/files/01.VP/documents", &json!({"id": 999_999})),
        404,
        "a document that does not exist",
    );
    let listed = clerk.get("/api/v1/files");
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        listed.json["files"][0]["code"],
        code.as_str(),
        "{}",
        listed.text
    );
    export_flow(node, &clerk, &officer, &code, id);
}

/// A records file with two documents exported as `kyso archive export` writes it, in a
/// tar: both originals byte-exact in order, the XML description, the table of contents.
fn export_flow(node: &Node, clerk: &Client, officer: &Client, code: &str, first: i64) {
    let docs = clerk.get("/api/v1/documents");
    let second = docs
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .find(|d| *d != first)
        .expect("a second document");
    let added = officer.post_json(
        &format!("/api/v1/files/{code}/documents"),
        &json!({"id": second}),
    );
    assert_eq!(added.json["ordinal"], 2, "{}", added.text);
    // Exporting is the clerk's (văn thư).
    error_shape(
        &officer.get(&format!("/api/v1/files/{code}/export")),
        403,
        "an officer exporting a records file",
    );
    error_shape(
        &clerk.get("/api/v1/files/99.VP/export"),
        404,
        "a records file that does not exist",
    );
    let (status, tar_bytes) = clerk.get_bytes("/api/v1/files/01.VP/export");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&tar_bytes));
    let mut entries = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        entries.insert(path, bytes);
    }
    let folder = kyso_office::safe_segment(code);
    let names: Vec<&String> = entries.keys().collect();
    let in_folder = |suffix: &str| format!("{folder}/{suffix}");
    assert!(
        entries.contains_key(&in_folder("ho-so.xml"))
            && entries.contains_key(&in_folder("muc-luc.pdf")),
        "[{}] {names:?}",
        node.backend
    );
    assert!(entries[&in_folder("muc-luc.pdf")].starts_with(b"%PDF-"));
    let xml = String::from_utf8(entries[&in_folder("ho-so.xml")].clone()).unwrap();
    assert_eq!(xml.matches("<VanBan>").count(), 2, "{xml}");
    assert!(xml.contains("Hồ sơ triển khai chữ ký số"), "{xml}");
    // Both originals, numbered in the file's (chronological) order, byte-exact.
    let mut originals = Vec::new();
    for id in [first, second] {
        let (status, bytes) = clerk.get_bytes(&format!("/api/v1/documents/{id}/original"));
        assert_eq!(status, 200);
        originals.push(bytes);
    }
    let exported: Vec<(&String, &Vec<u8>)> = entries
        .iter()
        .filter(|(k, _)| {
            let name = k.rsplit('/').next().unwrap_or_default();
            (name.starts_with("001_") || name.starts_with("002_")) && name.ends_with(".pdf")
        })
        .collect();
    assert_eq!(exported.len(), 2, "[{}] {names:?}", node.backend);
    for original in &originals {
        assert!(
            exported.iter().any(|(_, bytes)| *bytes == original),
            "an original missing or changed in the export: {names:?}"
        );
    }
    // Nothing left behind on the server.
    let staging = node.data().join("staging");
    let left: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in staging: {left:?}");
}

#[test]
fn incoming_and_outgoing_flows_on_both_backends() {
    for backend in BACKENDS {
        let Some(node) = start(backend, |_| {}) else {
            continue;
        };
        incoming_flow(&node);
        outgoing_flow(&node);
        records_flow(&node);
    }
}

/// Users managed over HTTP, a certificate login with the key of the registered
/// certificate (and not with another key, nor twice with one challenge), devices and a
/// handover request decided by a leader.
#[test]
fn users_certificate_login_devices_and_handovers() {
    let node = start("sqlite", |_| {}).unwrap();
    node.user("quantri", "Quản Trị", &[Role::Administrator]);
    node.user("lanhdao", "Nguyễn Văn Hùng", &[Role::Leader]);
    let admin = node.login("quantri");
    let fx = fixture();
    let cert_pem = std::fs::read_to_string(&fx.cert_pem).unwrap();
    let leaf = cert_pem
        .split_inclusive("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let created = admin.post_json(
        "/api/v1/users",
        &json!({
            "name": "thuky",
            "full_name": "Trần Thư Ký",
            "roles": ["clerk", "custodian"],
            "password": "mat-khau-thu-ky-2026",
            "certificate": leaf,
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["has_certificate"], true, "{}", created.text);
    // Not an administrator: no user management.
    error_shape(
        &node.login("lanhdao").post_json(
            "/api/v1/users",
            &json!({"name": "x", "full_name": "X", "roles": ["administrator"]}),
        ),
        403,
        "a leader adding an administrator",
    );
    let listed = admin.get("/api/v1/users");
    assert!(listed.text.contains("\"thuky\""), "{}", listed.text);

    // Certificate login.
    let key_pem = std::fs::read_to_string(&fx.key_pem).unwrap();
    let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
    let key = kyso_signer::SoftKey::from_pkcs8_der(&key_der, None).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let challenge = |c: &Client| {
        let a = c.post_json("/api/v1/sessions/challenge", &json!({"user": "thuky"}));
        assert_eq!(a.status, 201, "{}", a.text);
        let to_sign = base64::Engine::decode(&b64, a.json["to_sign"].as_str().unwrap()).unwrap();
        (
            a.json["challenge_id"].as_str().unwrap().to_string(),
            to_sign,
        )
    };
    let mut person = node.client();
    let (id, to_sign) = challenge(&person);
    let other = kyso_signer::SoftKey::generate(kyso_signer::KeyKind::P256).unwrap();
    let wrong = person.post_json(
        "/api/v1/sessions/certificate",
        &json!({"challenge_id": id, "signature": base64::Engine::encode(&b64, kyso_signer::Signer::sign(&other, &to_sign).unwrap())}),
    );
    error_shape(&wrong, 401, "a challenge signed by another key");
    // The challenge was used up by the failed attempt.
    let signature =
        base64::Engine::encode(&b64, kyso_signer::Signer::sign(&key, &to_sign).unwrap());
    error_shape(
        &person.post_json(
            "/api/v1/sessions/certificate",
            &json!({"challenge_id": id, "signature": signature}),
        ),
        401,
        "a challenge answered twice",
    );
    let (id, to_sign) = challenge(&person);
    let signature =
        base64::Engine::encode(&b64, kyso_signer::Signer::sign(&key, &to_sign).unwrap());
    let signed_in = person.post_json(
        "/api/v1/sessions/certificate",
        &json!({"challenge_id": id, "signature": signature}),
    );
    assert_eq!(
        signed_in.status,
        201,
        "{} — audit: {}",
        signed_in.text,
        admin.get("/api/v1/audit?from=0&limit=1000").text
    );
    person.adopt_session(&signed_in);
    let me = person.get("/api/v1/me");
    assert_eq!(me.json["name"], "thuky", "{}", me.text);
    // A changed certificate or role ends the user's sessions.
    let changed = admin.send_json(
        "PATCH",
        "/api/v1/users/thuky",
        &json!({"remove_roles": ["custodian"], "add_roles": ["officer"]}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(person.get("/api/v1/me").status, 401);

    // Devices and handovers: a device registered (facts as read from a token), its
    // custodian asks to hand it over, a leader approves.
    node.user(
        "giuthietbi",
        "Lê Giữ Thiết Bị",
        &[Role::Custodian, Role::Clerk],
    );
    node.user("nhan", "Phạm Người Nhận", &[Role::Custodian, Role::Clerk]);
    node.device("TOKEN-0001", "giuthietbi");
    let custodian = node.login("giuthietbi");
    let devices = custodian.get("/api/v1/devices");
    assert_eq!(
        devices.json[0]["custodian"], "giuthietbi",
        "{}",
        devices.text
    );
    let request = json!({
        "device": "TOKEN-0001",
        "to": "nhan",
        "permission": "Quyết định số 12/QĐ-UBND ngày 01/12/2026",
        "condition": "Hoạt động bình thường, còn nguyên niêm phong",
    });
    error_shape(
        &node.login("nhan").post_json("/api/v1/handovers", &request),
        403,
        "a handover requested by someone who does not hold the device",
    );
    let requested = custodian.post_json("/api/v1/handovers", &request);
    assert_eq!(requested.status, 201, "{}", requested.text);
    let hid = requested.json["id"].as_i64().unwrap();
    let decision = format!("/api/v1/handovers/{hid}/decision");
    error_shape(
        &custodian.post_json(&decision, &json!({"decision": "approve"})),
        403,
        "the giver approving their own handover",
    );
    error_shape(
        &node
            .login("lanhdao")
            .post_json(&decision, &json!({"decision": "refuse"})),
        400,
        "a refusal without a reason",
    );
    let approved = node
        .login("lanhdao")
        .post_json(&decision, &json!({"decision": "approve"}));
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["state"], "approved", "{}", approved.text);
    let shown = custodian.get("/api/v1/devices/TOKEN-0001");
    assert_eq!(
        shown.json["handovers"].as_array().map(Vec::len),
        Some(1),
        "{}",
        shown.text
    );
}

/// How a route is called in the matrix.
#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Form(Multipart),
}

/// One row of the authorisation matrix.
struct RouteCase {
    method: &'static str,
    /// The path as the OpenAPI document names it.
    template: &'static str,
    path: String,
    body: Body,
    /// Roles (user names) allowed; "*" = every signed-in user.
    allowed: &'static [&'static str],
    /// What the API token with only `documents:read` gets.
    token_status: u16,
    /// Whether an allowed user's call succeeds (else it only must not be 401/403: it
    /// fails later, on the document's state or the request's content).
    allowed_succeeds: bool,
}

/// Every route of the OpenAPI document × every role, no session, and an API token
/// without the scope: 401/403 where it must be, and the database unchanged by every
/// refusal. A route missing from the matrix fails the test.
#[test]
fn authorisation_matrix() {
    let node = start("sqlite", |_| {}).unwrap();
    let roles: [(&str, Role); 5] = [
        ("lanhdao", Role::Leader),
        ("vanthu", Role::Clerk),
        ("chuyenvien", Role::Officer),
        ("giuthietbi", Role::Custodian),
        ("quantri", Role::Administrator),
    ];
    for (name, role) in roles {
        node.user(name, name, &[role]);
    }
    // The agency device (held by the custodian) and a possible next custodian.
    node.user("nhanthietbi", "nhanthietbi", &[Role::Custodian]);
    node.device("TOKEN-0001", "giuthietbi");
    // Two more devices already handed over to nhanthietbi (the token step done on
    // another machine): minutes waiting for the parties' signatures, and minutes
    // signed by both and waiting for the seal.
    let unsigned = node.accepted_handover("TOKEN-0002", "giuthietbi", "nhanthietbi", false);
    let signed = node.accepted_handover("TOKEN-0003", "giuthietbi", "nhanthietbi", true);
    // The handover the matrix requests (and approves) below.
    let requested = signed + 1;
    // One incoming document and one draft to act on.
    let clerk = node.login("vanthu");
    let filed = clerk.post_form(
        "/api/v1/documents",
        &Multipart::new()
            .file("file", "qd.pdf", &signed_decision())
            .text("incoming", "true"),
    );
    assert_eq!(filed.status, 201, "{}", filed.text);
    let id = filed.json["record"]["id"].as_i64().unwrap();
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let draft_form = Multipart::new()
        .file("file", "cong-van.pdf", &pdf)
        .text("type", "CV")
        .text("subject", "Dự thảo");
    let draft = clerk.post_form("/api/v1/drafts", &draft_form);
    assert_eq!(draft.status, 201, "{}", draft.text);
    let draft = draft.json["id"].as_i64().unwrap();
    let admin = node.login("quantri");
    let token = admin.post_json(
        "/api/v1/tokens",
        &json!({"name": "dms-read", "scopes": ["documents:read"], "days": 30}),
    );
    assert_eq!(token.status, 201, "{}", token.text);
    let reader = node
        .client()
        .with_token(token.json["token"].as_str().unwrap());

    let case =
        |method, template, path: String, body, allowed, token_status, allowed_succeeds| RouteCase {
            method,
            template,
            path,
            body,
            allowed,
            token_status,
            allowed_succeeds,
        };
    let filers: &[&str] = &["vanthu", "chuyenvien", "lanhdao"];
    let routes: Vec<RouteCase> = vec![
        case(
            "GET",
            "/api/v1/me",
            "/api/v1/me".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/documents",
            "/api/v1/documents".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/documents/{id}",
            format!("/api/v1/documents/{id}"),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/documents/{id}/original",
            format!("/api/v1/documents/{id}/original"),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/documents/{id}/evidence",
            format!("/api/v1/documents/{id}/evidence"),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/archive",
            "/api/v1/archive".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/search",
            "/api/v1/search?q=a".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/policy",
            "/api/v1/policy".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "PUT",
            "/api/v1/policy",
            "/api/v1/policy".into(),
            Body::Json(json!({"types": ["QĐ", "CV"]})),
            &["quantri"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/registers/numbers",
            "/api/v1/registers/numbers".into(),
            Body::Json(json!({"type": "QĐ", "issuer": "UBND"})),
            &["vanthu"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/documents/{id}/steps",
            format!("/api/v1/documents/{id}/steps"),
            Body::Json(json!({"event": "assign", "note": "Giao Văn phòng"})),
            &["lanhdao", "vanthu"],
            403,
            true,
        ),
        // Filing the same original again is refused as a duplicate, after authorisation.
        case(
            "POST",
            "/api/v1/documents",
            "/api/v1/documents".into(),
            Body::Form(
                Multipart::new()
                    .file("file", "qd.pdf", &signed_decision())
                    .text("incoming", "true"),
            ),
            filers,
            403,
            false,
        ),
        case(
            "POST",
            "/api/v1/drafts",
            "/api/v1/drafts".into(),
            Body::Form(draft_form.clone()),
            filers,
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/documents/{id}/signing-sessions",
            format!("/api/v1/documents/{draft}/signing-sessions"),
            Body::Json(json!({"role": "leader", "certificates": ["AAAA"]})),
            &["lanhdao"],
            403,
            false,
        ),
        case(
            "POST",
            "/api/v1/documents/{id}/signature",
            format!("/api/v1/documents/{draft}/signature"),
            Body::Json(json!({"session": "x", "signature": "AAAA"})),
            &["lanhdao", "vanthu"],
            403,
            false,
        ),
        case(
            "POST",
            "/api/v1/documents/{id}/seal",
            format!("/api/v1/documents/{draft}/seal"),
            Body::Json(json!({"pin": "123456"})),
            &["vanthu"],
            403,
            false,
        ),
        case(
            "GET",
            "/api/v1/registers/{register}",
            "/api/v1/registers/incoming?format=csv".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "GET",
            "/api/v1/files",
            "/api/v1/files".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "POST",
            "/api/v1/files",
            "/api/v1/files".into(),
            Body::Json(json!({"code": "02.VP", "title": "Hồ sơ"})),
            filers,
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/files/{code}/documents",
            "/api/v1/files/02.VP/documents".into(),
            Body::Json(json!({"id": id})),
            filers,
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/files/{code}/export",
            "/api/v1/files/02.VP/export".into(),
            Body::None,
            &["vanthu"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/users",
            "/api/v1/users".into(),
            Body::None,
            &["*"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/users",
            "/api/v1/users".into(),
            Body::Json(json!({"name": "moi", "full_name": "Người Mới", "roles": ["officer"]})),
            &["quantri"],
            403,
            true,
        ),
        case(
            "PATCH",
            "/api/v1/users/{name}",
            "/api/v1/users/moi".into(),
            Body::Json(json!({"add_roles": ["clerk"]})),
            &["quantri"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/devices",
            "/api/v1/devices".into(),
            Body::None,
            &["*"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/devices/{serial}",
            "/api/v1/devices/TOKEN-0001".into(),
            Body::None,
            &["*"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/handovers",
            "/api/v1/handovers".into(),
            Body::None,
            &["*"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/handovers",
            "/api/v1/handovers".into(),
            Body::Json(
                json!({"device": "TOKEN-0001", "to": "nhanthietbi", "permission": "QĐ 12/QĐ-UBND", "condition": "Hoạt động bình thường"}),
            ),
            &["giuthietbi"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/handovers/{id}/decision",
            format!("/api/v1/handovers/{requested}/decision"),
            Body::Json(json!({"decision": "approve"})),
            &["lanhdao"],
            403,
            true,
        ),
        // The receiver gets past authorisation; this server has no device attached
        // (no --pkcs11): 409.
        case(
            "POST",
            "/api/v1/handovers/{id}/acceptance",
            format!("/api/v1/handovers/{requested}/acceptance"),
            Body::Json(json!({
                "giver_pin": "246810", "new_pin": "13579135",
                "issuer": "STTTT", "place": "Cần Thơ",
            })),
            &["nhanthietbi"],
            403,
            false,
        ),
        // A party (the giver) gets past authorisation; the certificate is not one: 400.
        case(
            "POST",
            "/api/v1/handovers/{id}/minutes/signing-sessions",
            format!("/api/v1/handovers/{unsigned}/minutes/signing-sessions"),
            Body::Json(json!({"certificates": ["AAAA"]})),
            &["giuthietbi", "nhanthietbi"],
            403,
            false,
        ),
        case(
            "POST",
            "/api/v1/handovers/{id}/minutes/signature",
            format!("/api/v1/handovers/{unsigned}/minutes/signature"),
            Body::Json(json!({"session": "x", "signature": "AAAA"})),
            &["giuthietbi", "nhanthietbi"],
            403,
            false,
        ),
        // Only the receiver, now custodian, after both signatures; no device here: 409.
        case(
            "POST",
            "/api/v1/handovers/{id}/minutes/seal",
            format!("/api/v1/handovers/{signed}/minutes/seal"),
            Body::Json(json!({"pin": "13579135"})),
            &["nhanthietbi"],
            403,
            false,
        ),
        // The parties, the device custodians, the administrators.
        case(
            "GET",
            "/api/v1/handovers/{id}/minutes",
            format!("/api/v1/handovers/{unsigned}/minutes"),
            Body::None,
            &["giuthietbi", "quantri", "nhanthietbi"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/audit",
            "/api/v1/audit?limit=5".into(),
            Body::None,
            &["quantri"],
            403,
            true,
        ),
        case(
            "GET",
            "/api/v1/audit/verify",
            "/api/v1/audit/verify".into(),
            Body::None,
            &["quantri"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Body::Json(json!({"name": "x", "scopes": ["documents:read"], "days": 1})),
            &["quantri"],
            403,
            true,
        ),
        case(
            "DELETE",
            "/api/v1/tokens/{name}",
            "/api/v1/tokens/x".into(),
            Body::None,
            &["quantri"],
            403,
            true,
        ),
        // Signing out ends a cookie session; a token has none to end.
        case(
            "DELETE",
            "/api/v1/sessions/current",
            "/api/v1/sessions/current".into(),
            Body::None,
            &["*"],
            400,
            true,
        ),
        // The exchange between agencies (crates/server/src/exchange.rs): the directory
        // is read by everyone and kept by the administrator; the clerk sends, recalls and
        // answers recalls. The draft cannot be sent (409) and there is no delivery 1 yet
        // (404): authorisation passes, the use case refuses.
        case(
            "GET",
            "/api/v1/agencies",
            "/api/v1/agencies".into(),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "POST",
            "/api/v1/agencies",
            "/api/v1/agencies".into(),
            Body::Json(json!({"id": "000.00.01.H13", "name": "Sở Nội vụ"})),
            &["quantri"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/documents/{id}/sendings",
            format!("/api/v1/documents/{draft}/sendings"),
            Body::Json(json!({"recipients": ["000.00.01.H13"]})),
            &["vanthu"],
            403,
            false,
        ),
        case(
            "GET",
            "/api/v1/documents/{id}/deliveries",
            format!("/api/v1/documents/{id}/deliveries"),
            Body::None,
            &["*"],
            200,
            true,
        ),
        case(
            "POST",
            "/api/v1/deliveries/{id}/recall",
            "/api/v1/deliveries/1/recall".into(),
            Body::Json(json!({"reason": "Ban hành sai thể thức"})),
            &["vanthu"],
            403,
            false,
        ),
        case(
            "POST",
            "/api/v1/deliveries/{id}/recall-reply",
            "/api/v1/deliveries/1/recall-reply".into(),
            Body::Json(json!({"agree": true})),
            &["vanthu"],
            403,
            false,
        ),
        // Operating the exchange: the directory changed by the administrator, the
        // node's outbox listed by the administrator, a row resent by the clerk or the
        // administrator, a delivery's transport and edXML read by its parties, an edXML
        // package filed by the clerk. No delivery or row 1 exists (404) and the body is
        // not edXML (400): authorisation passes, the use case refuses.
        case(
            "PUT",
            "/api/v1/agencies/{id}",
            "/api/v1/agencies/000.00.00.G22".into(),
            Body::Json(json!({"name": "Văn phòng Chính phủ",
                "node_url": "https://truc.example.gov.vn", "node_certificate": "ab".repeat(32)})),
            &["quantri"],
            403,
            false,
        ),
        // Pulling a hub's directory: administrator only; this node has no exchange
        // configured (409, nothing fetched).
        case(
            "POST",
            "/api/v1/agencies/pull",
            "/api/v1/agencies/pull".into(),
            Body::Json(json!({"hub_url": "https://truc.example.gov.vn"})),
            &["quantri"],
            403,
            false,
        ),
        case(
            "GET",
            "/api/v1/outbox",
            "/api/v1/outbox".into(),
            Body::None,
            &["quantri"],
            403,
            true,
        ),
        case(
            "POST",
            "/api/v1/outbox/{id}/retry",
            "/api/v1/outbox/1/retry".into(),
            Body::None,
            &["quantri", "vanthu"],
            403,
            false,
        ),
        case(
            "GET",
            "/api/v1/deliveries/{id}/transport",
            "/api/v1/deliveries/1/transport".into(),
            Body::None,
            &["*"],
            404,
            false,
        ),
        case(
            "GET",
            "/api/v1/deliveries/{id}/edxml",
            "/api/v1/deliveries/1/edxml".into(),
            Body::None,
            &["*"],
            404,
            false,
        ),
        case(
            "GET",
            "/api/v1/deliveries/{id}/edxml-status",
            "/api/v1/deliveries/1/edxml-status".into(),
            Body::None,
            &["*"],
            404,
            false,
        ),
        case(
            "POST",
            "/api/v1/packages/edxml",
            "/api/v1/packages/edxml".into(),
            Body::Json(json!({"not": "edXML"})),
            &["vanthu"],
            403,
            false,
        ),
    ];
    // Public by design: verification, the one-time setup, signing in.
    let public = [
        ("POST", "/api/v1/verify"),
        ("POST", "/api/v1/setup"),
        ("POST", "/api/v1/sessions"),
        ("POST", "/api/v1/sessions/challenge"),
        ("POST", "/api/v1/sessions/certificate"),
    ];
    let doc = node.client().get("/api/v1/openapi.json");
    for (template, item) in doc.json["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let covered = routes
                .iter()
                .any(|r| r.method == method && r.template == template)
                || public.contains(&(method.as_str(), template.as_str()));
            assert!(
                covered,
                "{method} {template} is not in the authorisation matrix"
            );
        }
    }

    let call = |c: &Client, r: &RouteCase| match (&r.body, r.method) {
        (Body::None, "GET") => c.get(&r.path),
        (Body::None, "DELETE") => c.delete(&r.path),
        (Body::None, m) => c.send_json(m, &r.path, &Value::Null),
        (Body::Json(b), m) => c.send_json(m, &r.path, b),
        (Body::Form(f), _) => c.post_form(&r.path, f),
    };
    for r in &routes {
        let what = format!("{} {}", r.method, r.path);
        let before = node.snapshot();
        // No session.
        let anon = call(&node.client(), r);
        error_shape(&anon, 401, &format!("{what} without a session"));
        // A token without the scope for changes.
        let t = call(&reader, r);
        if r.token_status == 200 {
            assert_eq!(t.status, 200, "{what} with a read token: {}", t.text);
        } else {
            error_shape(
                &t,
                r.token_status,
                &format!("{what} with a read-only token"),
            );
        }
        for (name, _) in roles {
            if r.allowed.contains(&"*") || r.allowed.contains(&name) {
                continue;
            }
            let c = node.login(name);
            let a = call(&c, r);
            error_shape(&a, 403, &format!("{what} as {name}"));
        }
        assert_eq!(
            node.snapshot(),
            before,
            "{what}: a refusal changed the database"
        );
        // And the allowed roles get past authorisation (changes happen here, after
        // the snapshot check).
        let first = r
            .allowed
            .iter()
            .find(|a| **a != "*")
            .copied()
            .unwrap_or("vanthu");
        let ok = call(&node.login(first), r);
        if r.allowed_succeeds {
            assert!(ok.status < 300, "{what} as {first}: {}", ok.text);
        } else {
            assert!(
                ![401, 403].contains(&ok.status) && ok.status < 500,
                "{what} as {first}: {}",
                ok.text
            );
        }
    }
    // Every refusal of a change is in the audit log.
    let refused = node.rt.block_on(async {
        let rows = node.app.archive().audit_rows(0, None).await.unwrap();
        rows.iter()
            .filter(|r| r.json.contains("\"refused\""))
            .count()
    });
    assert!(refused >= 10, "refusals recorded: {refused}");
    // And the log, refusals included, replays intact against its signed heads.
    let check = node.login("quantri").get("/api/v1/audit/verify");
    assert_eq!(check.status, 200, "{}", check.text);
    assert_eq!(check.json["intact"], true, "{}", check.text);
    assert!(check.json["entries"].as_u64() > Some(10), "{}", check.text);
    let listed = node.login("quantri").get("/api/v1/audit?from=0&limit=3");
    assert_eq!(
        listed.json.as_array().map(Vec::len),
        Some(3),
        "{}",
        listed.text
    );
    let _ = Arc::new(node.data());
}
