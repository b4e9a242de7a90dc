//! In-process PAdES signing time of one PDF, key object reused (the peer figure is
//! pyHanko's in-process API, see `scripts/bench-pdf-sign.py`).
//!
//! `cargo run --release -p kyso-pades --example sign_timing -- FILE.pdf [RUNS]`:
//! prints the median, minimum and maximum of RUNS invisible P-256 signatures (B-B).

#![allow(clippy::unwrap_used, reason = "benchmark tool")]

use std::time::Instant;

use kyso_pades::sign::{PdfSignRequest, sign};
use kyso_pki::ca::{IssueRequest, Profile, SubjectName, issue};
use kyso_signer::{KeyKind, Signer, SoftKey};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: sign_timing FILE.pdf [RUNS]");
    let runs: usize = args.next().map(|r| r.parse().unwrap()).unwrap_or(30);
    let pdf = std::fs::read(&path).unwrap();
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let cert = issue(
        &IssueRequest {
            profile: Profile::RootCa,
            subject: SubjectName {
                common_name: "Thử nghiệm".into(),
                country: "VN".into(),
                ..SubjectName::default()
            },
            public_key: key.public_key().clone(),
            not_before: now,
            not_after: now + time::Duration::days(1),
            serial: [1; 16],
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
            dns_names: vec![],
            ip_addresses: vec![],
            path_len: None,
        },
        None,
        Some(&key),
    )
    .unwrap();
    let request = PdfSignRequest::new(&cert, now);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let signed = sign(&pdf, &key, &request, None).unwrap();
        std::hint::black_box(&signed);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "kyso in-process sign ({} bytes, {runs} runs): median {:.2} ms, min {:.2} ms, max {:.2} ms",
        pdf.len(),
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
}
