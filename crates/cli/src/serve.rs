//! `kyso ca serve`: CRLs, CA certificates, OCSP (RFC 6960, POST and GET) and RFC 3161
//! time-stamps over HTTP. Plain HTTP is what CRL/OCSP/TSA clients expect (the
//! responses are signed); agency-to-agency exchange will use mutual TLS.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use kyso_app::ca::{Ca, CaServices};
use time::OffsetDateTime;

use crate::args::CaServeArgs;
use crate::store;

/// Largest request body accepted (OCSP and time-stamp requests are a few hundred bytes).
const MAX_REQUEST: u64 = 64 * 1024;

/// A running server.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Block until the server stops (never, for `kyso ca serve`).
    pub(crate) fn join(mut self) {
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// `kyso ca serve`.
pub(crate) fn run(data: &Path, a: &CaServeArgs) -> Result<ExitCode> {
    let dir = Ca::dir_from(a.dir.ca.as_deref(), data);
    let listener = std::net::TcpListener::bind(&a.listen)
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let running = start(&dir, listener, &store::ca_passphrase()?)?;
    writeln!(
        std::io::stdout(),
        "kyso ca serve: http://{} (/crl/issuing.crl, /crl/root.crl, /ocsp, /tsa)",
        running.addr
    )?;
    running.join();
    Ok(ExitCode::SUCCESS)
}

/// Start serving the CA in `dir` on `listener` with two worker threads.
pub(crate) fn start(
    dir: &Path,
    listener: std::net::TcpListener,
    passphrase: &str,
) -> Result<Running> {
    let services = CaServices::open(dir, passphrase)?;
    let server = Arc::new(
        tiny_http::Server::from_listener(listener, None)
            .map_err(|e| anyhow::anyhow!("cannot serve: {e}"))?,
    );
    let addr = server
        .server_addr()
        .to_ip()
        .context("server is not on an IP address")?;
    let services = Arc::new(services);
    let mut threads = Vec::new();
    for _ in 0..2 {
        let server = Arc::clone(&server);
        let services = Arc::clone(&services);
        threads.push(std::thread::spawn(move || {
            for request in server.incoming_requests() {
                handle(&services, request);
            }
        }));
    }
    Ok(Running {
        addr,
        server,
        threads,
    })
}

fn handle(services: &CaServices, mut request: tiny_http::Request) {
    let url = request.url().to_string();
    let method = request.method().clone();
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut body);
    let (status, content_type, payload) = if read.is_err() || body.len() as u64 > MAX_REQUEST {
        (413, "text/plain", b"request too large".to_vec())
    } else {
        route(services, &method, &url, &body)
    };
    let header = tiny_http::Header::from_bytes("Content-Type", content_type).unwrap_or_else(|_| {
        tiny_http::Header::from_bytes("Content-Type", "text/plain").expect("static header")
    });
    let response = tiny_http::Response::from_data(payload)
        .with_status_code(status)
        .with_header(header);
    let _ = request.respond(response);
}

fn route(
    services: &CaServices,
    method: &tiny_http::Method,
    url: &str,
    body: &[u8],
) -> (u16, &'static str, Vec<u8>) {
    use tiny_http::Method;
    let now = OffsetDateTime::now_utc();
    match (method, url) {
        (Method::Get, "/crl/root.crl" | "/crl/issuing.crl") => match services.published(url) {
            Some(b) => (200, "application/pkix-crl", b),
            None => (404, "text/plain", b"no CRL".to_vec()),
        },
        (Method::Get, "/ca/root.crt" | "/ca/issuing.crt") => match services.published(url) {
            Some(b) => (200, "application/pkix-cert", b),
            None => (404, "text/plain", b"no certificate".to_vec()),
        },
        (Method::Post, "/ocsp") => ocsp(services, body, now),
        (Method::Get, u) if u.starts_with("/ocsp/") => {
            use base64::Engine;
            let encoded = percent_decode(&u["/ocsp/".len()..]);
            match base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()) {
                Ok(req) => ocsp(services, &req, now),
                Err(_) => (400, "text/plain", b"bad base64".to_vec()),
            }
        }
        (Method::Post, "/tsa") => match services.timestamp(body, now) {
            Ok(resp) => (200, "application/timestamp-reply", resp),
            Err(_) => (500, "text/plain", b"time-stamping failed".to_vec()),
        },
        _ => (404, "text/plain", b"not found".to_vec()),
    }
}

fn ocsp(services: &CaServices, body: &[u8], now: OffsetDateTime) -> (u16, &'static str, Vec<u8>) {
    match services.ocsp(body, now) {
        Ok(resp) => (200, "application/ocsp-response", resp),
        Err(e) if e.code == "ocsp" => (500, "text/plain", b"OCSP failed".to_vec()),
        Err(_) => (500, "text/plain", b"CA state unreadable".to_vec()),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
