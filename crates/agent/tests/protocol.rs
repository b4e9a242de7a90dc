//! The agent's wire behaviour with a client of our own over TLS (trusting the root that
//! `localtls::create` made): what pages do besides signing — probes that close without a
//! word, bare words, unknown paths, malformed frames, refused origins and URLs, a token
//! that is not configured — each answered by exactly one JSON frame with the documented
//! status, and the agent still serving afterwards. No token is needed: every case here is
//! decided before the token is touched (the signing itself is tested end to end in
//! crates/cli/tests/peers/agent.rs).

#![allow(clippy::unwrap_used, reason = "test set-up panics on failure")]

use std::sync::Arc;

use kyso_agent::confirm::{Answer, Confirmer, Prompt};
use kyso_agent::{Agent, AgentConfig};
use serde_json::Value;

const ORIGIN: &str = "https://eoffice.cantho.gov.vn";

/// Nobody is ever asked in these tests: a question is a failure.
#[derive(Debug)]
struct NobodyAsked;

impl Confirmer for NobodyAsked {
    fn ask(&self, prompt: &Prompt) -> Answer {
        panic!("nobody should be asked here: {}", prompt.text());
    }
}

struct Running {
    client: kyso_testkit::wss::Client,
    _dir: tempfile::TempDir,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let files =
        kyso_agent::localtls::create(&dir.path().join("tls"), time::OffsetDateTime::now_utc())
            .unwrap();
    let mut config = AgentConfig {
        allowed_origins: vec![ORIGIN.into()],
        ..AgentConfig::default()
    };
    config.check().unwrap();
    let agent = Arc::new(Agent::new(config, None, Box::new(NobodyAsked)).unwrap());
    let listener = kyso_agent::server::bind(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = files.clone();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(kyso_agent::server::serve(
                agent,
                &served,
                listener,
                std::future::pending(),
            ))
            .unwrap();
    });
    Running {
        client: kyso_testkit::wss::Client::new(port, &files.root),
        _dir: dir,
    }
}

impl Running {
    fn open(&self, path: &str, origin: Option<&str>) -> kyso_testkit::wss::Socket {
        self.client.open(path, origin)
    }

    fn call(&self, path: &str, origin: Option<&str>, frame: &str) -> Value {
        serde_json::from_str(&self.client.call(path, origin, frame)).unwrap()
    }

    /// A plain HTTPS GET: the whole answer.
    fn get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = self.client.stream();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn status(v: &Value) -> i64 {
    v["Status"]
        .as_i64()
        .unwrap_or_else(|| panic!("no Status: {v}"))
}

#[test]
fn what_pages_send_besides_signing() {
    let agent = start();
    // Probes open a socket on a known path and close it without a word.
    for path in ["/Config", "/SignXML", "/SignApproved", "/GetVersion"] {
        let mut s = agent.open(path, Some(ORIGIN));
        s.close(None).unwrap();
        while s.read().is_ok() {}
    }
    // Bare words, any case of the path.
    let v = agent.call("/getversion", Some(ORIGIN), "GetVersion");
    assert_eq!(status(&v), 0, "{v}");
    assert_eq!(v["Product"], "kyso agent");
    let v = agent.call("/GetLicenseRequest", Some(ORIGIN), "request");
    assert_eq!(
        (status(&v), v["LicenseRequest"].as_str()),
        (0, Some("")),
        "{v}"
    );
    assert_eq!(status(&agent.call("/Config", Some(ORIGIN), "config")), 0);
    // Paths without a public payload, and unknown paths: status 2 in Vietnamese.
    let v = agent.call("/SignXML", Some(ORIGIN), "{}");
    assert_eq!(status(&v), 2, "{v}");
    assert!(
        v["Message"].as_str().unwrap().contains("chưa hỗ trợ"),
        "{v}"
    );
    assert_eq!(status(&agent.call("/Nothing", Some(ORIGIN), "{}")), 2);
    // Malformed requests: status 1, the message in both Message and Error.
    for frame in ["{", "[1,2]", "\"not an object\"", ""] {
        let v = agent.call("/SignPDF", Some(ORIGIN), frame);
        assert_eq!(status(&v), 1, "{frame:?}: {v}");
        assert_eq!(v["Message"], v["Error"], "{v}");
    }
    assert_eq!(status(&agent.call("/SignMsg", Some(ORIGIN), "%%%")), 1);
    assert_eq!(
        status(&agent.call("/SignFiles", Some(ORIGIN), r#"{"Files":[]}"#)),
        1
    );
    // URLs the policy refuses, before anything is fetched or anyone asked: status 4.
    for (file, upload) in [
        ("file:///etc/passwd", "https://eoffice.cantho.gov.vn/up"),
        (
            "http://eoffice.cantho.gov.vn/f",
            "https://eoffice.cantho.gov.vn/up",
        ),
        ("https://eoffice.cantho.gov.vn/f", "ftp://10.0.0.1/up"),
        ("", "https://eoffice.cantho.gov.vn/up"),
    ] {
        let frame = serde_json::json!({"FileName": file, "FileUploadHandler": upload}).to_string();
        let v = agent.call("/SignApproved", Some(ORIGIN), &frame);
        assert_eq!(status(&v), 4, "{file} → {upload}: {v}");
    }
    // A well-formed request with no token configured: status 16, saying what to set.
    let frame = serde_json::json!({
        "FileName": "https://eoffice.cantho.gov.vn/f/1",
        "FileUploadHandler": "https://eoffice.cantho.gov.vn/up",
    })
    .to_string();
    let v = agent.call("/SignApproved", Some(ORIGIN), &frame);
    assert_eq!(status(&v), 16, "{v}");
    assert!(v["Message"].as_str().unwrap().contains("PKCS#11"), "{v}");
    assert_eq!(
        status(&agent.call("/GetCertInfo", Some(ORIGIN), "get_cert_info")),
        16
    );
}

#[test]
fn only_allowed_origins_are_served() {
    let agent = start();
    for origin in [
        None,
        Some("https://evil.example"),
        Some("http://eoffice.cantho.gov.vn"),
        Some("https://eoffice.cantho.gov.vn.evil.example"),
        Some("null"),
    ] {
        for (path, frame) in [
            ("/GetVersion", "GetVersion"),
            ("/GetCertInfo", "get_cert_info"),
        ] {
            let v = agent.call(path, origin, frame);
            assert_eq!(status(&v), 3, "{origin:?} {path}: {v}");
            assert!(
                v["Message"]
                    .as_str()
                    .unwrap()
                    .contains("không có trong danh sách")
            );
        }
    }
    // The allowed origin, with a default port and a trailing slash, is the same origin.
    let v = agent.call(
        "/GetVersion",
        Some("https://EOffice.CanTho.gov.vn:443"),
        "GetVersion",
    );
    assert_eq!(status(&v), 0, "{v}");
}

#[test]
fn plain_https_requests() {
    let agent = start();
    let home = agent.get("/");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains("kyso agent"), "{home}");
    let other = agent.get("/SignPDF");
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    // An oversized frame closes that connection; the agent goes on serving.
    let mut s = agent.open("/SignMsg", Some(ORIGIN));
    let big = "A".repeat(kyso_agent::protocol::MAX_FRAME + 1024);
    let _ = s.send(tungstenite::Message::Text(big.into()));
    let mut closed = false;
    for _ in 0..10 {
        match s.read() {
            Ok(tungstenite::Message::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "an oversized frame is not processed");
    assert_eq!(
        status(&agent.call("/GetVersion", Some(ORIGIN), "GetVersion")),
        0
    );
}

/// A page's server that redirects: the agent follows a redirect only to a URL its policy
/// allows, a bounded number of times.
#[test]
fn redirects_are_checked_like_the_page_urls() {
    let agent = start();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let to = |location: &str| {
                tiny_http::Response::empty(302).with_header(
                    tiny_http::Header::from_bytes("Location", location.as_bytes()).unwrap(),
                )
            };
            let _ = match request.url() {
                "/to-public-http" => request.respond(to("http://93.184.216.34/qd.pdf")),
                "/to-file" => request.respond(to("file:///etc/passwd")),
                "/hop" => request.respond(to("/text")),
                "/loop" => request.respond(to("/loop")),
                _ => request.respond(tiny_http::Response::from_string("not a PDF")),
            };
        }
    });
    let verify = |path: &str| {
        let frame =
            serde_json::json!({"SessionId": "", "FileName": format!("http://127.0.0.1:{port}{path}")})
                .to_string();
        agent.call("/VerifyPDF", Some(ORIGIN), &frame)
    };
    for path in ["/to-public-http", "/to-file"] {
        let v = verify(path);
        assert_eq!(status(&v), 4, "{path}: {v}");
        assert!(
            v["Message"].as_str().unwrap().contains("chuyển hướng tới"),
            "{v}"
        );
    }
    // Followed: the text it leads to is not a PDF.
    let v = verify("/hop");
    assert_eq!(status(&v), 6, "{v}");
    let v = verify("/loop");
    assert_eq!(status(&v), 5, "{v}");
    assert!(
        v["Message"].as_str().unwrap().contains("chuyển hướng"),
        "{v}"
    );
}
