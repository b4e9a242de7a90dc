//! `kyso agent` end to end, as an e-office page uses the VGCA Sign Service today: our
//! own test page (tests/browser/page.html) sends exactly the frames the
//! public `vgcaplugin.js` sends, in Debian's Chromium driven by playwright-core, to
//! `kyso agent` processes over `wss://127.0.0.1` (trusted through the local root that
//! `kyso agent install-cert` put in the NSS database of the browser's HOME). The agents
//! sign with keys on SoftHSM2 tokens after the person's confirmation (typed on their
//! stdin here), download the document from the page's server and upload the signed file
//! to its handler; pyHanko validates the result. Then what must not happen: an origin
//! not on the allow-list, a refusal, a wrong PIN — and the PIN in any log or reply.
//! Last, kyso's own two-step signing API signs through the agent's SignMsg.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::office::{Office, login};
use crate::support::{success, workspace};
use crate::token::{MODULE, PIN, SoftHsm, assert_pyhanko_valid, new_softhsm};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The signer named on quyet-dinh.pdf: the leader's certificate carries this name.
const LEADER: &str = "Nguyễn Văn Hùng";

// ---------------------------------------------------------------------------------
// The page's web server: the test page, the documents, the upload handler.
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct Site {
    files: BTreeMap<String, Vec<u8>>,
    /// Every request: "GET /files/doc.pdf", "POST /upload doc.pdf docId=42".
    log: Vec<String>,
    /// Every upload: (file name, bytes).
    uploads: Vec<(String, Vec<u8>)>,
}

struct PageServer {
    port: u16,
    site: Arc<Mutex<Site>>,
}

fn browser_dir() -> PathBuf {
    let dir = std::env::var_os("KYSO_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("tests/browser"));
    assert!(
        dir.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and playwright-core in {} (bash scripts/test.sh installs both)",
        dir.display()
    );
    dir
}

/// Parts of a multipart/form-data body: (name, file name, bytes).
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("multipart boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, &delimiter) {
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest_part = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let end = find(rest_part, &delimiter).unwrap_or(rest_part.len());
        let part = &rest_part[..end];
        let split = find(part, b"\r\n\r\n").expect("part headers");
        let headers = String::from_utf8_lossy(&part[..split]).into_owned();
        let content = part[split + 4..]
            .strip_suffix(b"\r\n")
            .unwrap_or(&part[split + 4..]);
        let attr = |key: &str| {
            headers
                .split(&format!("{key}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string)
        };
        out.push((
            attr("name").unwrap_or_default(),
            attr("filename"),
            content.to_vec(),
        ));
        rest = &rest_part[end..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl PageServer {
    fn start(files: &[(&str, Vec<u8>)]) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let site = Arc::new(Mutex::new(Site::default()));
        {
            let mut s = site.lock().unwrap();
            for (name, bytes) in files {
                s.files.insert((*name).to_string(), bytes.clone());
            }
        }
        let page = std::fs::read(browser_dir().join("page.html")).unwrap();
        let shared = site.clone();
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let url = request.url().split('?').next().unwrap_or("").to_string();
                let method = request.method().to_string();
                let answer = |status: u16, ct: &str, body: Vec<u8>| {
                    tiny_http::Response::from_data(body)
                        .with_status_code(status)
                        .with_header(
                            tiny_http::Header::from_bytes("Content-Type", ct.as_bytes()).unwrap(),
                        )
                };
                let response = if method == "GET" && url == "/page.html" {
                    answer(200, "text/html; charset=utf-8", page.clone())
                } else if method == "GET" && url.starts_with("/files/") {
                    let name = &url["/files/".len()..];
                    let mut s = shared.lock().unwrap();
                    s.log.push(format!("GET {url}"));
                    match s.files.get(name) {
                        Some(b) => answer(200, "application/pdf", b.clone()),
                        None => answer(404, "text/plain", b"no such file".to_vec()),
                    }
                } else if method == "POST" && url == "/upload" {
                    let ct = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Content-Type"))
                        .map(|h| h.value.to_string())
                        .unwrap_or_default();
                    let mut body = Vec::new();
                    request.as_reader().read_to_end(&mut body).unwrap();
                    let mut s = shared.lock().unwrap();
                    let mut line = String::from("POST /upload");
                    let mut stored = None;
                    for (name, file, bytes) in parts(&ct, &body) {
                        match file {
                            Some(f) if name == "uploadfile" => {
                                line.push_str(&format!(" {f}"));
                                s.files.insert(f.clone(), bytes.clone());
                                s.uploads.push((f.clone(), bytes));
                                stored = Some(f);
                            }
                            _ => line
                                .push_str(&format!(" {name}={}", String::from_utf8_lossy(&bytes))),
                        }
                    }
                    s.log.push(line);
                    let reply = match stored {
                        Some(f) => json!({
                            "Status": true,
                            "Message": "Đã nhận tệp",
                            "FileName": f,
                            "FileServer": format!("/files/{f}"),
                        }),
                        None => json!({"Status": false, "Message": "thiếu uploadfile"}),
                    };
                    answer(200, "application/json", reply.to_string().into_bytes())
                } else {
                    answer(404, "text/plain", b"not found".to_vec())
                };
                let _ = request.respond(response);
            }
        });
        PageServer { port, site }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> Vec<String> {
        self.site.lock().unwrap().log.clone()
    }

    fn file(&self, name: &str) -> Vec<u8> {
        self.site.lock().unwrap().files[name].clone()
    }
}

// ---------------------------------------------------------------------------------
// The agents and the person at the computer.
// ---------------------------------------------------------------------------------

/// What the person answers at the next confirmations, in order.
#[derive(Clone, Copy)]
pub(crate) enum Say {
    /// Agree and type this PIN.
    Sign(&'static str),
    /// Refuse.
    Refuse,
}

pub(crate) struct AgentProcess {
    child: Child,
    port: u16,
    answers: Arc<Mutex<Vec<Say>>>,
    /// Everything the agent printed (both streams).
    output: Arc<Mutex<String>>,
}

impl AgentProcess {
    fn start(hsm: &SoftHsm, home: &Path, origin: &str, extra: &[&str]) -> Self {
        Self::start_on(hsm, home, origin, kyso_testkit::mtls::free_port(), extra)
    }

    /// The agent on `port`, allowing pages of `origin`.
    pub(crate) fn start_on(
        hsm: &SoftHsm,
        home: &Path,
        origin: &str,
        port: u16,
        extra: &[&str],
    ) -> Self {
        let mut cmd = hsm.kyso();
        cmd.env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .arg("agent")
            .args(["--port", &port.to_string(), "--allow-origin", origin])
            .args(["--pkcs11", MODULE])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let answers: Arc<Mutex<Vec<Say>>> = Arc::new(Mutex::new(Vec::new()));
        let output = Arc::new(Mutex::new(String::new()));
        let stdin: Arc<Mutex<ChildStdin>> = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("wss://") {
                        let _ = ready_tx.send(());
                    }
                    output.lock().unwrap().push_str(&format!("{line}\n"));
                }
            });
        }
        let stderr = child.stderr.take().unwrap();
        {
            let (output, answers, stdin) = (output.clone(), answers.clone(), stdin.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    output.lock().unwrap().push_str(&format!("{line}\n"));
                    if line.starts_with(kyso_agent::confirm::CONFIRM_PROMPT) {
                        let next = {
                            let mut a = answers.lock().unwrap();
                            if a.is_empty() {
                                None
                            } else {
                                Some(a.remove(0))
                            }
                        };
                        let mut w = stdin.lock().unwrap();
                        let _ = match next {
                            Some(Say::Sign(pin)) => writeln!(w, "c\n{pin}"),
                            Some(Say::Refuse) | None => writeln!(w, "k"),
                        };
                        let _ = w.flush();
                    }
                }
            });
        }
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("kyso agent did not start:\n{}", output.lock().unwrap()));
        AgentProcess {
            child,
            port,
            answers,
            output,
        }
    }

    pub(crate) fn will(&self, say: &[Say]) {
        self.answers.lock().unwrap().extend_from_slice(say);
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kyso agent on port {} printed:\n{}",
                self.port,
                self.output()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the page at `url` in Chromium (HOME = `home`) and clicks `actions` in order:
/// each reply by action name.
fn browse(home: &Path, url: &str, actions: &[&str]) -> Value {
    let mut args = vec!["--url".to_string(), url.to_string()];
    for a in actions {
        args.extend(["--action".to_string(), a.to_string()]);
    }
    run_browser(home, "drive.mjs", &args)
}

/// Runs the browser script `script` of tests/browser with `args` and `--out FILE`, HOME
/// = `home` (whose NSS database may trust kyso agent's local root); what it wrote to
/// FILE. Fails with the script's output when it fails.
pub(crate) fn run_browser(home: &Path, script: &str, args: &[String]) -> Value {
    let out = home.join(format!("out-{}.json", rand_suffix()));
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join(script))
        .args(args)
        .arg("--out")
        .arg(&out)
        .env("HOME", home);
    let o = cmd
        .output()
        .expect("node (nodejs) is needed for the browser test");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        o.status.success(),
        "{cmd:?}\n{}\n{}\n{text}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&text).unwrap()
}

fn rand_suffix() -> String {
    let mut b = [0u8; 6];
    rand::fill(&mut b);
    hex::encode(b)
}

/// A HOME whose NSS database trusts the local root made by `kyso agent install-cert`
/// into `tls` (shared by the agents of the test, as on one computer).
pub(crate) fn home_with_local_root(hsm: &SoftHsm, name: &str) -> (PathBuf, PathBuf) {
    let home = hsm.work.join(name);
    let tls = home.join("agent-tls");
    std::fs::create_dir_all(&home).unwrap();
    let out = success(
        hsm.kyso()
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .args(["agent", "install-cert", "--tls-dir"])
            .arg(&tls),
    );
    assert!(out.contains("khóa của gốc đã bị hủy"), "{out}");
    let listed = success(
        Command::new("certutil")
            .arg("-d")
            .arg(format!("sql:{}", home.join(".pki/nssdb").display()))
            .arg("-L"),
    );
    assert!(
        listed.contains(kyso_agent::localtls::TRUST_NAME),
        "{listed}"
    );
    // Only the server's key is kept, for the user alone.
    let names: Vec<String> = std::fs::read_dir(&tls)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let keys: Vec<&String> = names.iter().filter(|n| n.contains("key")).collect();
    assert_eq!(keys, ["agent.key.pem"], "{names:?}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(tls.join("agent.key.pem"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "agent.key.pem is private");
    (home, tls)
}

fn status(reply: &Value, what: &str) -> i64 {
    reply["Status"]
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: no Status in {reply}"))
}

#[test]
fn agent_signs_for_a_vgca_page_in_chromium() {
    let hsm = new_softhsm();
    // The leader's token (on the leader's PC) and the agency's seal token (the clerk's).
    hsm.init_token("lanh-dao", PIN);
    let leader_chain = hsm.token_key(
        "lanh-dao", PIN, "01", "lanh-dao", "rsa:2048", "person", LEADER,
    );
    hsm.init_token("con-dau", PIN);
    let seal_chain = hsm.token_key(
        "con-dau",
        PIN,
        "02",
        "con-dau",
        "rsa:2048",
        "seal",
        "Sở Thông tin và Truyền thông",
    );
    let (home, tls) = home_with_local_root(&hsm, "pc");
    let doc = std::fs::read(kyso_testkit::document("quyet-dinh.pdf")).unwrap();
    let doc2 = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let site = PageServer::start(&[("doc.pdf", doc.clone()), ("doc2.pdf", doc2)]);
    let images = workspace().join("testdata/images");
    let tls_arg = tls.display().to_string();
    let chain_arg = leader_chain.display().to_string();
    let leader_image = images.join("signature-blue.png").display().to_string();
    let leader = AgentProcess::start(
        &hsm,
        &home,
        &site.origin(),
        &[
            "--token-label",
            "lanh-dao",
            "--leader-image",
            &leader_image,
            "--chain",
            &chain_arg,
            "--tls-dir",
            &tls_arg,
        ],
    );
    let seal_arg = seal_chain.display().to_string();
    let seal_image = images.join("seal-red.png").display().to_string();
    let clerk = AgentProcess::start(
        &hsm,
        &home,
        &site.origin(),
        &[
            "--token-label",
            "con-dau",
            "--seal-image",
            &seal_image,
            "--chain",
            &seal_arg,
            "--tls-dir",
            &tls_arg,
        ],
    );
    let message = "Tờ trình số 12/TTr-VP: phê duyệt".as_bytes();
    let hash = B64.encode(kyso_signer::DigestAlgorithm::Sha256.digest(message));
    let page = |agent: &AgentProcess, host: &str| {
        format!(
            "http://{host}:{}/page.html?agent={}&hash={}",
            site.port,
            agent.port,
            hash.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        )
    };

    // The leader: the certificate, the version, a digest, then the approval.
    leader.will(&[Say::Sign(PIN), Say::Sign(PIN)]);
    let r = browse(
        &home,
        &page(&leader, "127.0.0.1"),
        &["certinfo", "version", "msg", "approved"],
    );
    assert_eq!(status(&r["certinfo"], "GetCertInfo"), 0, "{r}");
    let subject = r["certinfo"]["CertInfo"]["Subject"].as_str().unwrap();
    assert!(subject.contains(LEADER), "{subject}");
    let cert_der = B64
        .decode(r["certinfo"]["CertInfo"]["Base64Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(status(&r["version"], "GetVersion"), 0, "{r}");
    // SignMsg: a PKCS#1 v1.5 signature over the digest, by the certificate's key.
    assert_eq!(status(&r["msg"], "SignMsg"), 0, "{r}");
    let signature = B64.decode(r["msg"]["Signature"].as_str().unwrap()).unwrap();
    assert_eq!(
        r["msg"]["CertBase64"].as_str().unwrap(),
        B64.encode(&cert_der)
    );
    let cert: x509_cert::Certificate = der::Decode::from_der(&cert_der).unwrap();
    kyso_signer::verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        &kyso_signer::SignatureAlgorithm::RsaPkcs1Sha256.algorithm_identifier(),
        message,
        &signature,
    )
    .expect("SignMsg's signature verifies over the message");
    // SignApproved: downloaded, signed with the signature image, uploaded with MetaData.
    assert_eq!(status(&r["approved"], "SignApproved"), 0, "{r}");
    assert_eq!(r["approved"]["FileName"], "doc.pdf", "{r}");
    assert_eq!(r["approved"]["FileServer"], "/files/doc.pdf", "{r}");
    let approved = site.file("doc.pdf");
    assert!(approved.starts_with(&doc) && approved.len() > doc.len());
    assert!(
        site.log()
            .iter()
            .any(|l| l == "POST /upload docId=42 doc.pdf"),
        "{:?}",
        site.log()
    );
    assert_pyhanko_valid(&site.work_copy(&hsm, "approved.pdf"), &hsm.root, 1);

    // The clerk seals it on the agency's token, stamping number and date.
    clerk.will(&[Say::Sign(PIN)]);
    let r = browse(&home, &page(&clerk, "127.0.0.1"), &["issued"]);
    assert_eq!(status(&r["issued"], "SignIssued"), 0, "{r}");
    assert_eq!(r["issued"]["DocumentNumber"], "15/QĐ-UBND", "{r}");
    assert_eq!(r["issued"]["DocumentDate"], "07/12/2026", "{r}");
    let issued = site.work_copy(&hsm, "issued.pdf");
    assert_pyhanko_valid(&issued, &hsm.root, 2);
    // The number and date are in the seal signature's /Reason (read by pyHanko's reader).
    let reason = success(
        crate::support::python()
            .arg("-c")
            .arg(
                "import sys\nfrom pyhanko.pdf_utils.reader import PdfFileReader\n\
         r = PdfFileReader(open(sys.argv[1], 'rb'))\n\
         print(r.embedded_signatures[-1].sig_object['/Reason'])",
            )
            .arg(&issued),
    );
    assert_eq!(
        reason.trim(),
        "Phát hành văn bản số 15/QĐ-UBND, ngày 07/12/2026"
    );

    // VerifyPDF (no confirmation: nothing is signed): both signatures found; the CRLs of
    // the test CA are file:// URLs, which the agent never reads for a PDF's sake.
    let r = browse(&home, &page(&clerk, "127.0.0.1"), &["verify"]);
    assert_eq!(status(&r["verify"], "VerifyPDF"), 0, "{r}");
    assert_eq!(
        r["verify"]["Report"]["signatures"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    assert!(!r["verify"]["Message"].as_str().unwrap().is_empty(), "{r}");

    // A batch: one confirmation, one PIN, each file uploaded.
    leader.will(&[Say::Sign(PIN)]);
    let r = browse(&home, &page(&leader, "127.0.0.1"), &["files"]);
    assert_eq!(status(&r["files"], "SignFiles"), 0, "{r}");
    let files = r["files"]["Files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{r}");
    assert_eq!(files[1]["FileID"], "2");
    assert_eq!(files[1]["FileSignedURL"], "/files/doc2.pdf");
    assert_pyhanko_valid(&site.work_copy(&hsm, "doc2.pdf"), &hsm.root, 1);
    assert_pyhanko_valid(&site.work_copy(&hsm, "batch.pdf"), &hsm.root, 3);
    let prompts = leader.output();
    assert_eq!(
        prompts.matches(kyso_agent::confirm::CONFIRM_PROMPT).count(),
        3,
        "one confirmation for the digest, one for the approval, one for the batch:\n{prompts}"
    );
    assert!(
        prompts.contains(&format!("Trang yêu cầu: {}", site.origin()))
            && prompts.contains("/files/doc.pdf")
            && prompts.contains(&format!("Gửi bản đã ký tới: {}/upload", site.origin())),
        "the confirmation names the site, the document and both URLs:\n{prompts}"
    );

    // What must not happen. A page of another origin (localhost is not 127.0.0.1): refused
    // before anything is downloaded, and nobody is asked.
    let before = site.log().len();
    let r = browse(
        &home,
        &page(&leader, "localhost"),
        &["approved", "certinfo"],
    );
    assert_eq!(status(&r["approved"], "origin"), 3, "{r}");
    assert_eq!(status(&r["certinfo"], "origin"), 3, "{r}");
    assert!(
        r["approved"]["Message"]
            .as_str()
            .unwrap()
            .contains("không có trong danh sách")
    );
    // The person refuses: nothing uploaded; a wrong PIN: nothing signed.
    leader.will(&[Say::Refuse, Say::Sign("999999")]);
    let r = browse(&home, &page(&leader, "127.0.0.1"), &["approved", "pdf"]);
    assert_eq!(status(&r["approved"], "refusal"), 11, "{r}");
    assert_eq!(status(&r["pdf"], "wrong PIN"), 8, "{r}");
    assert_eq!(r["pdf"]["Message"], "Mã PIN sai", "{r}");
    let after: Vec<String> = site.log()[before..].to_vec();
    assert!(
        after.iter().all(|l| !l.starts_with("POST")),
        "nothing is uploaded without the person's agreement and PIN: {after:?}"
    );
    assert_eq!(
        after.iter().filter(|l| l.starts_with("GET")).count(),
        2,
        "the refused origin downloads nothing: {after:?}"
    );
    assert_eq!(
        leader
            .output()
            .matches(kyso_agent::confirm::CONFIRM_PROMPT)
            .count(),
        5
    );

    // The PIN in no log and no reply (the answers above travel only on stdin).
    for (who, text) in [
        ("leader agent", leader.output()),
        ("clerk agent", clerk.output()),
    ] {
        assert!(!text.contains(PIN), "{who} printed the PIN:\n{text}");
        assert!(!text.contains("999999"), "{who} printed a PIN:\n{text}");
    }
    for entry in std::fs::read_dir(&home).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let t = std::fs::read_to_string(&p).unwrap();
            assert!(
                !t.contains(PIN) && !t.contains("999999"),
                "{}: {t}",
                p.display()
            );
        }
    }
    for (name, bytes) in &site.site.lock().unwrap().uploads {
        assert!(
            find(bytes, PIN.as_bytes()).is_none(),
            "{name} holds the PIN"
        );
    }
}

impl PageServer {
    /// The site's current `doc.pdf` (or `name` when it is a site file) written to the
    /// test's work folder for the peers.
    fn work_copy(&self, hsm: &SoftHsm, name: &str) -> PathBuf {
        let site_name = if self.site.lock().unwrap().files.contains_key(name) {
            name
        } else {
            "doc.pdf"
        };
        let p = hsm.work.join(name);
        std::fs::write(&p, self.file(site_name)).unwrap();
        p
    }
}

/// kyso's own two-step signing (the server prepares, the agent signs on the token, the
/// server assembles): the leader's signature of a draft in `kyso serve`, made by the
/// agent's SignMsg from a page of the node's origin.
#[test]
fn kyso_two_step_signing_through_the_agent() {
    let office = Office::new("thiet-bi-so-tttt", PIN, None);
    let hsm = &office.hsm;
    hsm.init_token("lanh-dao-pc", PIN);
    let chain = hsm.token_key(
        "lanh-dao-pc",
        PIN,
        "07",
        "lanh-dao",
        "rsa:2048",
        "person",
        LEADER,
    );
    let chain_pem = std::fs::read_to_string(&chain).unwrap();
    let mut add = office.as_user("admin", &["user", "add", "lanhdao", "--full-name", LEADER]);
    add.env("KYSO_NEW_PASSWORD", "lanhdao-mat-khau")
        .args(["--password", "--role", "leader", "--certificate"])
        .arg(&chain)
        .arg("--signature-image")
        .arg(workspace().join("testdata/images/signature-blue.png"));
    success(&mut add);
    office.add_user("chuyenvien", "Lê Văn Chuyên", &["officer"], None);
    let served = office.serve(None);
    let officer = login(&served.url, "chuyenvien");
    let leader = login(&served.url, "lanhdao");
    let pdf = std::fs::read(kyso_testkit::document("cong-van.pdf")).unwrap();
    let created = officer.post_form(
        "/api/v1/drafts",
        &kyso_testkit::http::Multipart::new()
            .file("file", "cong-van.pdf", &pdf)
            .text("type", "CV")
            .text("subject", "Về việc ký số qua kyso agent")
            .text("signer", LEADER)
            .text("secrecy", "thuong"),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_i64().unwrap();
    let ticket = leader.post_json(
        &format!("/api/v1/documents/{id}/signing-sessions"),
        &json!({"role": "leader", "certificates": crate::support::pem_certificates(&chain_pem)}),
    );
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    let tbs = B64
        .decode(ticket.json["to_be_signed"].as_str().unwrap())
        .unwrap();
    let digest = B64.encode(kyso_signer::DigestAlgorithm::Sha256.digest(&tbs));

    // The page of the node (its origin on the allow-list) asks the agent.
    let (home, tls) = home_with_local_root(hsm, "leader-pc");
    let site = PageServer::start(&[]);
    let agent = AgentProcess::start(
        hsm,
        &home,
        &site.origin(),
        &[
            "--token-label",
            "lanh-dao-pc",
            "--tls-dir",
            &tls.display().to_string(),
        ],
    );
    agent.will(&[Say::Sign(PIN)]);
    let url = format!(
        "{}/page.html?agent={}&hash={}",
        site.origin(),
        agent.port,
        digest
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let r = browse(&home, &url, &["msg"]);
    assert_eq!(status(&r["msg"], "SignMsg"), 0, "{r}");
    let signed = leader.post_json(
        &format!("/api/v1/documents/{id}/signature"),
        &json!({"session": ticket.json["session"], "signature": r["msg"]["Signature"]}),
    );
    assert_eq!(signed.status, 200, "{}", signed.text);
    let state = signed.json["state"]["outgoing"]
        .as_str()
        .or_else(|| signed.json["state"].as_str())
        .unwrap_or_default();
    assert_eq!(state, "leader_signed", "{}", signed.text);
    assert!(!agent.output().contains(PIN));
}

/// Setting up: no local certificate yet → told what to run; the certificate made; the
/// systemd user unit that starts the agent with the session (confirming in a window);
/// the port held by another program (the VGCA Sign Service) → a clear refusal.
#[test]
fn agent_set_up_commands() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let agent = |args: &[&str]| {
        let mut c = crate::support::kyso();
        c.env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .arg("agent")
            .args(args);
        c
    };
    let out = crate::support::run(&mut agent(&["--port", "0"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("kyso agent install-cert"),
        "{err}"
    );
    success(&mut agent(&["install-cert"]));
    let tls = home.join(".config/kyso-agent/tls");
    assert!(tls.join("agent.crt.pem").exists() && tls.join("root.crt.pem").exists());

    let config = home.join("agent.toml");
    std::fs::write(
        &config,
        "allowed_origins = [\"https://eoffice.cantho.gov.vn\"]\nconfirm = \"dialog\"\n",
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let said = success(&mut agent(&[
        "install-autostart",
        "--no-enable",
        "--config",
        &config_arg,
    ]));
    let unit = home.join(".config/systemd/user/kyso-agent.service");
    assert!(said.contains(&unit.display().to_string()), "{said}");
    let text = std::fs::read_to_string(&unit).unwrap();
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    assert!(
        exec.ends_with(&format!("agent --config {config_arg} --confirm dialog")),
        "{text}"
    );
    assert!(text.contains("WantedBy=graphical-session.target"), "{text}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = crate::support::run(&mut agent(&["--config", &config_arg, "--port", &port]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("đang được dùng (VGCA Sign Service"),
        "{err}"
    );
}
