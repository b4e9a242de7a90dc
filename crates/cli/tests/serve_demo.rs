//! `kyso serve --demo` as a user runs it: the real binary on loopback, a new data
//! directory seeded with the demo city (a CA whose CRL/OCSP/TSA answer inside the
//! process, three agencies, a login per role, a software key per agency standing in for
//! its token, documents sent, accepted and refused between them). The URL and the logins
//! are read from stdout; each agency's clerk signs in over the JSON API and sees its
//! documents, verified `valid`, and the delivery timelines; a second `--demo` on the
//! same data directory is refused.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kyso_testkit::http::Client;
use serde_json::Value;

const UBND: &str = "000.00.00.H13";
const SNV: &str = "000.00.01.H13";
const STC: &str = "000.00.02.H13";

/// A running `kyso serve --demo`, killed on drop.
struct Demo {
    child: Child,
    url: String,
    /// Login name → password, as printed.
    logins: BTreeMap<String, String>,
    lines: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.arg("--data")
        .arg(data)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("KYSO_DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

/// Starts the demo and reads its stdout up to the last line it prints (`Dừng: …`),
/// for at most four minutes (a debug build seeds the city).
fn start(data: &Path) -> Demo {
    let mut child = command(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start kyso serve --demo");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut lines = Vec::new();
    let mut complete = false;
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let last = line.starts_with("Dừng:");
        lines.push(line);
        if last {
            complete = true;
            break;
        }
    }
    let mut demo = Demo {
        child,
        url: String::new(),
        logins: BTreeMap::new(),
        lines,
    };
    assert!(
        complete,
        "kyso serve --demo did not finish printing within four minutes:\n{}",
        demo.lines.join("\n")
    );
    // Vietnamese first.
    let url_line = demo
        .lines
        .iter()
        .position(|l| l.contains("đang phục vụ tại "))
        .unwrap();
    assert!(
        demo.lines[url_line + 1].contains("(serving at"),
        "{}",
        demo.lines.join("\n")
    );
    demo.url = demo.lines[url_line]
        .split("đang phục vụ tại ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    // Login lines: `    NAME   xxxx-xxxx-xxxx-xxxx   role …`.
    for line in &demo.lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("    ")
            && words.len() > 2
            && words[1].len() == 19
            && words[1].matches('-').count() == 3
        {
            demo.logins
                .insert(words[0].to_string(), words[1].to_string());
        }
    }
    demo
}

fn login(demo: &Demo, name: &str) -> Client {
    let mut c = Client::new(&demo.url);
    let password = demo
        .logins
        .get(name)
        .unwrap_or_else(|| panic!("no login {name} printed: {:?}", demo.lines));
    let answer = c.login(name, password);
    assert_eq!(answer.status, 201, "{name}: {}", answer.text);
    c
}

fn list(c: &Client, direction: &str) -> Vec<Value> {
    let a = c.get(&format!("/api/v1/documents?direction={direction}"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.json.as_array().unwrap().clone()
}

fn state(doc: &Value) -> String {
    doc["state"]["incoming"]
        .as_str()
        .or(doc["state"]["outgoing"].as_str())
        .unwrap()
        .to_string()
}

/// The document's verification on receipt or filing is `valid`.
fn valid(c: &Client, doc: &Value) {
    let id = doc["id"].as_i64().unwrap();
    let shown = c.get(&format!("/api/v1/documents/{id}"));
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json["verification"]["verdict"], "valid",
        "document {id}: {}",
        shown.text
    );
}

/// Incoming states by subject.
fn incoming(c: &Client) -> BTreeMap<String, String> {
    let docs = list(c, "incoming");
    for d in &docs {
        valid(c, d);
    }
    docs.iter()
        .map(|d| {
            (
                d["metadata"]["Subject"].as_str().unwrap().to_string(),
                state(d),
            )
        })
        .collect()
}

/// The only outgoing document: issued, verified valid; its timeline per recipient.
fn outgoing(c: &Client) -> BTreeMap<String, Vec<String>> {
    let docs = list(c, "outgoing");
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(state(&docs[0]), "issued", "{:?}", docs[0]);
    valid(c, &docs[0]);
    let id = docs[0]["id"].as_i64().unwrap();
    let timeline = c.get(&format!("/api/v1/documents/{id}/deliveries"));
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    timeline
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["state"], "delivered", "{d}");
            (
                d["recipient"].as_str().unwrap().to_string(),
                d["statuses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["code"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn codes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn demo_city_is_served_and_not_mixed_with_existing_data() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let demo = start(&data);

    // A login per role and agency, each with its own random password.
    assert_eq!(demo.logins.len(), 15, "{:#?}", demo.lines);
    let distinct: std::collections::BTreeSet<&String> = demo.logins.values().collect();
    assert_eq!(distinct.len(), 15);
    let all = demo.lines.join("\n");
    assert!(
        all.contains("KHÓA MỀM") && all.contains("SOFTWARE KEY"),
        "{all}"
    );
    for short in ["ubnd", "snv", "stc"] {
        for role in ["lanhdao", "vanthu", "chuyenvien", "thietbi", "quantri"] {
            login(&demo, &format!("{role}.{short}"));
        }
    }

    // The devices are software keys, and say so.
    let custodian = login(&demo, "thietbi.snv");
    let devices = custodian.get("/api/v1/devices");
    assert_eq!(devices.status, 200, "{}", devices.text);
    let device = &devices.json.as_array().unwrap()[0];
    assert_eq!(device["custodian"], "thietbi.snv", "{}", devices.text);
    assert!(
        device["label"].as_str().unwrap().contains("software key")
            && device["model"].as_str().unwrap().contains("software key"),
        "{}",
        devices.text
    );

    // The city's People's Committee: its Công văn accepted and assigned by the Sở Nội vụ,
    // refused by the Sở Tài chính; a Giấy mời and a Báo cáo received and accepted.
    let ubnd = login(&demo, "vanthu.ubnd");
    let sent = outgoing(&ubnd);
    assert_eq!(sent[SNV], codes(&["01", "03", "04"]), "{sent:?}");
    assert_eq!(sent[STC], codes(&["01", "02"]), "{sent:?}");
    let received = incoming(&ubnd);
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received.values().all(|s| s == "accepted"), "{received:?}");

    // The Sở Nội vụ: the Công văn assigned, the Báo cáo awaiting its clerk; its Giấy mời
    // accepted by the People's Committee.
    let snv = login(&demo, "vanthu.snv");
    let sent = outgoing(&snv);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[UBND], codes(&["01", "03"]), "{sent:?}");
    let mut states: Vec<String> = incoming(&snv).into_values().collect();
    states.sort();
    assert_eq!(states, ["assigned", "verified"]);

    // The Sở Tài chính: the Công văn refused (with its reason on the sender's timeline);
    // its Báo cáo accepted by the People's Committee, not yet by the Sở Nội vụ.
    let stc = login(&demo, "vanthu.stc");
    let sent = outgoing(&stc);
    assert_eq!(sent[UBND], codes(&["01", "03"]), "{sent:?}");
    assert_eq!(sent[SNV], codes(&["01"]), "{sent:?}");
    let states: Vec<String> = incoming(&stc).into_values().collect();
    assert_eq!(states, ["refused"]);

    // The clerk can still act on what waits: the Sở Nội vụ accepts the Báo cáo.
    let waiting = list(&snv, "incoming")
        .into_iter()
        .find(|d| state(d) == "verified")
        .unwrap();
    let accepted = snv.post_json(
        &format!("/api/v1/documents/{}/steps", waiting["id"]),
        &serde_json::json!({"event": "accept"}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(outgoing(&stc)[SNV], codes(&["01", "03"]));
    drop(demo);

    // A second demo on the same data directory is refused, nothing touched.
    let mut again = command(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = again.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = again.kill();
            panic!("a second kyso serve --demo on the same directory did not stop");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = again.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("đã có dữ liệu") && stderr.contains("already holds data"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(420),
        "{:?}",
        started.elapsed()
    );
}
