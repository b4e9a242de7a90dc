//! The `kyso agent` round trip for a 1 MB PDF, as a page causes it: a WebSocket over TLS
//! to the agent (SignPDF, the JSON of `vgcaplugin.js`), the agent's GET of the document
//! from the page's server, the PAdES signature on a SoftHSM2 token (RSA-2048), the
//! multipart POST of the signed file to the page's handler, the reply — the person's
//! confirmation excluded (a confirmer that agrees at once with the PIN). Beside it, in
//! the same run, pyHanko signing the same PDF on the same token through PKCS#11 (its
//! Python API in one process: signing only, no transport).
//!
//! ```text
//! cargo build --release -p kyso-cli --bin kyso --example bench_agent
//! target/release/examples/bench_agent [--rounds 30] [--kyso target/release/kyso]
//! ```
//! Needs softhsm2, opensc (pkcs11-tool) and pyHanko with python-pkcs11 (`KYSO_PYTHON`,
//! default `.venv/bin/python`). Prints a markdown table of medians and p95.

#![allow(clippy::unwrap_used, reason = "benchmark set-up panics on failure")]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kyso_agent::confirm::{Answer, Confirmer, Prompt};
use kyso_agent::{Agent, AgentConfig};
use kyso_testkit::softhsm::{MODULE, PIN, SoftHsm};
use zeroize::Zeroizing;

static KYSO: OnceLock<PathBuf> = OnceLock::new();

fn kyso() -> Command {
    let mut c = Command::new(KYSO.get().unwrap());
    c.env("KYSO_PASSPHRASE", "bench-passphrase")
        .env("KYSO_CA_PASSPHRASE", "bench-ca-passphrase")
        .env("KYSO_SCRYPT_LOG_N", "10")
        .env_remove("KYSO_DATA")
        .env_remove("XDG_DATA_HOME");
    c
}

/// The person who always agrees at once (the benchmark excludes the confirmation).
#[derive(Debug)]
struct AgreeAtOnce;

impl Confirmer for AgreeAtOnce {
    fn ask(&self, _prompt: &Prompt) -> Answer {
        Answer::Sign(Zeroizing::new(PIN.to_string()))
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The page's server: the document, and an upload handler that reads the signed file.
/// A minimal HTTP/1.1 server of its own (one response = one write, TCP_NODELAY), so that
/// the page's side adds no delayed-ACK stall of its own to what is measured.
fn page_server(pdf: Arc<Vec<u8>>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let pdf = pdf.clone();
            std::thread::spawn(move || serve_page(stream.unwrap(), &pdf));
        }
    });
    port
}

fn serve_page(mut stream: TcpStream, pdf: &[u8]) {
    use std::io::{BufRead, BufReader, Read, Write};
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let (ct, payload): (&str, Vec<u8>) = if path.starts_with("/files/") {
            ("application/pdf", pdf.to_vec())
        } else {
            assert!(body.len() > pdf.len(), "the upload holds the signed PDF");
            (
                "application/json",
                br#"{"Status":true,"FileName":"doc.pdf","FileServer":"/files/doc.pdf"}"#.to_vec(),
            )
        };
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        )
        .into_bytes();
        response.extend_from_slice(&payload);
        if stream.write_all(&response).is_err() {
            return;
        }
    }
}

const PYHANKO: &str = r#"
import io, sys, time
from pyhanko.sign import signers
from pyhanko.sign.pkcs11 import open_pkcs11_session, PKCS11Signer, TokenCriteria
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
lib, token, label, pin, path, rounds = sys.argv[1:7]
data = open(path, 'rb').read()
session = open_pkcs11_session(lib, token_criteria=TokenCriteria(label=token), user_pin=pin)
signer = PKCS11Signer(session, cert_label=label, key_label=label)
for i in range(int(rounds)):
    t = time.perf_counter()
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name='Sig'), signer=signer)
    assert len(out.getvalue()) > len(data)
    print((time.perf_counter() - t) * 1000.0)
"#;

fn main() {
    let rounds: usize = arg("--rounds").map_or(30, |r| r.parse().unwrap());
    let exe = std::env::current_exe().unwrap();
    let default_kyso = exe.parent().unwrap().parent().unwrap().join("kyso");
    KYSO.set(arg("--kyso").map_or(default_kyso, PathBuf::from))
        .unwrap();
    assert!(
        KYSO.get().unwrap().exists(),
        "no kyso binary at {} (cargo build --release -p kyso-cli, or --kyso PATH)",
        KYSO.get().unwrap().display()
    );
    assert!(Path::new(MODULE).exists(), "SoftHSM2 is needed ({MODULE})");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("KYSO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join(".venv/bin/python"));

    // The token: an RSA-2048 key certified by a fresh kyso CA; the measurement runs in a
    // child process that has SOFTHSM2_CONF from its start.
    let (work, chain, conf) = match std::env::var_os("KYSO_BENCH_WORK") {
        Some(w) => (
            PathBuf::from(w),
            PathBuf::from(std::env::var_os("KYSO_BENCH_CHAIN").unwrap()),
            PathBuf::from(std::env::var_os("SOFTHSM2_CONF").unwrap()),
        ),
        None => {
            let hsm = SoftHsm::new(kyso);
            hsm.init_token("bench", PIN);
            let chain = hsm.token_key(
                "bench",
                PIN,
                "01",
                "bench",
                "rsa:2048",
                "person",
                "Người Đo",
            );
            let status = Command::new(&exe)
                .args(std::env::args().skip(1))
                .env("SOFTHSM2_CONF", &hsm.conf)
                .env("KYSO_BENCH_WORK", &hsm.work)
                .env("KYSO_BENCH_CHAIN", &chain)
                .status()
                .unwrap();
            std::process::exit(status.code().unwrap_or(1));
        }
    };

    let pdf = Arc::new(kyso_testkit::large_pdf(7));
    let pdf_path = work.join("doc.pdf");
    std::fs::write(&pdf_path, pdf.as_slice()).unwrap();
    let page_port = page_server(pdf.clone());
    let origin = format!("http://127.0.0.1:{page_port}");

    // The agent in this process, on its own local TLS certificate.
    let tls_dir = work.join("tls");
    let tls = kyso_agent::localtls::create(&tls_dir, time::OffsetDateTime::now_utc()).unwrap();
    let mut config = AgentConfig {
        port: 0,
        allowed_origins: vec![origin.clone()],
        pkcs11: Some(MODULE.into()),
        token_label: Some("bench".into()),
        chain: vec![chain],
        ..AgentConfig::default()
    };
    config.check().unwrap();
    let agent = Arc::new(Agent::new(config, None, Box::new(AgreeAtOnce)).unwrap());
    let listener = kyso_agent::server::bind(0).unwrap();
    let agent_port = listener.local_addr().unwrap().port();
    {
        let tls = tls.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(kyso_agent::server::serve(
                    agent,
                    &tls,
                    listener,
                    std::future::pending(),
                ))
                .unwrap();
        });
    }
    let client = kyso_testkit::wss::Client::new(agent_port, &tls.root);
    let frame = serde_json::json!({
        "FileUploadHandler": format!("{origin}/upload"),
        "FileName": format!("{origin}/files/doc.pdf"),
        "SessionId": "",
        "JWTToken": "",
        "MetaData": [{"Key": "docId", "Value": "1"}],
    })
    .to_string();
    std::thread::sleep(Duration::from_millis(200));

    // Warm-up (module load, first login), then the rounds.
    for _ in 0..3 {
        let r = client.call("/SignPDF", Some(&origin), &frame);
        assert!(r.contains("\"Status\":0"), "{r}");
    }
    let mut agent_ms = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = client.call("/SignPDF", Some(&origin), &frame);
        agent_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(r.contains("\"Status\":0"), "{r}");
    }
    agent_ms.sort_by(f64::total_cmp);
    if std::env::var_os("KYSO_BENCH_ALL").is_some() {
        eprintln!("kyso agent, every round (ms): {agent_ms:.1?}");
    }

    let out = Command::new(&python)
        .arg("-c")
        .arg(PYHANKO)
        .args([MODULE, "bench", "bench", PIN])
        .arg(&pdf_path)
        .arg((rounds + 3).to_string())
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyHanko with python-pkcs11 ({}): {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut peer_ms: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    peer_ms.sort_by(f64::total_cmp);

    println!(
        "| {} rounds, {} byte PDF, RSA-2048 on SoftHSM2 | median ms | p95 ms |",
        rounds,
        pdf.len()
    );
    println!("|---|---:|---:|");
    println!(
        "| kyso agent round trip: WebSocket+TLS, GET, PAdES sign on the token, multipart POST, reply | {:.1} | {:.1} |",
        percentile(&agent_ms, 0.5),
        percentile(&agent_ms, 0.95)
    );
    println!(
        "| pyHanko (Python API, python-pkcs11) signing the same PDF on the same token, no transport | {:.1} | {:.1} |",
        percentile(&peer_ms, 0.5),
        percentile(&peer_ms, 0.95)
    );
    println!(
        "| ratio pyHanko / kyso agent (medians) | {:.2} | |",
        percentile(&peer_ms, 0.5) / percentile(&agent_ms, 0.5)
    );
}
