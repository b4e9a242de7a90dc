//! Benchmark of RFC 4998 evidence records (tracker issue 17): one batch of archived
//! documents sealed with **one** time-stamp, its renewal, and the verification of one
//! record; `openssl ts -verify` of the same time-stamp token measured beside it.
//!
//! ```sh
//! cargo run --release -p kyso-cades --example bench_ers -- [--docs 100000] [--runs 3]
//! ```
//!
//! Each document is a group of three parts, as `kyso archive evidence` seals them: the
//! original, its `.p7s` and the `material.json` captured at archiving — given here as
//! their SHA-256 digests (the archive hashes the files streaming; that cost is the file
//! size over the SHA-256 rate, measured here on 1 MiB buffers and reported apart). The
//! time-stamp is answered in-process by kyso's TSA core (`tsp::Tsa`, a P-256 key), so
//! the figures are kyso's own work, not a TSA's network round trip. Reported: medians of
//! `--runs` runs for building the batch (hash tree, one time-stamp, one DER record per
//! document), renewing it (one time-stamp over the distinct last time-stamps: one), the
//! record's size (what each document adds on disk), and the verification of one record
//! (reduced hash tree, the token's signature, the TSA's path) over 200 records.

#![allow(clippy::unwrap_used, reason = "benchmark tool")]

use std::process::Command;
use std::time::{Duration, Instant};

use der::{Encode, EncodePem};
use kyso_cades::ers::{self, DataObject, PartDigests};
use kyso_cades::tsp::{self, Tsa};
use kyso_cades::{CadesError, Limits, VerifyOptions};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::{DigestAlgorithm, KeyKind, Signer, SoftKey};
use time::OffsetDateTime;

fn main() {
    let mut docs = 100_000usize;
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--docs" => docs = value.parse().unwrap(),
            "--runs" => runs = value.parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    let now = OffsetDateTime::now_utc();
    let subject = |cn: &str| SubjectName {
        common_name: cn.into(),
        organization: Some("Cục Văn thư và Lưu trữ nhà nước".into()),
        country: "VN".into(),
        ..SubjectName::default()
    };
    let request = |profile, cn: &str, key: &dyn Signer, serial| IssueRequest {
        profile,
        subject: subject(cn),
        public_key: key.public_key().clone(),
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(3650),
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: None,
    };
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root = issue(
        &request(Profile::RootCa, "CA gốc", &root_key, 1),
        None,
        Some(&root_key),
    )
    .unwrap();
    let tsa_key = SoftKey::generate(KeyKind::P256).unwrap();
    let tsa_cert = issue(
        &request(Profile::Tsa, "TSA lưu trữ", &tsa_key, 2),
        Some(&Issuer {
            certificate: &root,
            key: &root_key,
        }),
        None,
    )
    .unwrap();
    let tsa = Tsa {
        certificate: &tsa_cert,
        chain: &[],
        signer: &tsa_key,
        policy: tsp::DEFAULT_POLICY,
    };
    let mut calls = 0u32;
    let mut stamp = |alg: DigestAlgorithm, imprint: &[u8]| -> Result<Vec<u8>, CadesError> {
        calls += 1;
        let req = tsp::request(alg, imprint, Some(u64::from(calls)), true)?;
        let mut serial = [0x22; 16];
        serial[12..].copy_from_slice(&calls.to_be_bytes());
        let resp = tsa.respond(&req, serial, OffsetDateTime::now_utc())?;
        tsp::token_from_response(&resp, imprint, Some(u64::from(calls)))
    };

    // The documents: three parts each, as digests.
    let sha = DigestAlgorithm::Sha256;
    let parts: Vec<[Vec<u8>; 3]> = (0..docs)
        .map(|i| [0u8, 1, 2].map(|p| sha.digest(format!("document {i} part {p}").as_bytes())))
        .collect();
    let objects: Vec<DataObject> = parts
        .iter()
        .map(|p| DataObject::group(p.to_vec()))
        .collect();

    // SHA-256 on this machine, for the files' share.
    let buffer = vec![0x5au8; 1 << 20];
    let hashing = median(
        (0..31)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(sha.digest(std::hint::black_box(&buffer)));
                t.elapsed()
            })
            .collect(),
    );

    let mut build_times = Vec::new();
    let mut renew_times = Vec::new();
    let mut records = Vec::new();
    let mut renewed = Vec::new();
    let mut stamps_build = 0;
    let mut stamps_renew = 0;
    for _ in 0..runs {
        let mut counted = 0u32;
        let t = Instant::now();
        records = ers::build(&objects, sha, &mut |a, i| {
            counted += 1;
            stamp(a, i)
        })
        .unwrap();
        build_times.push(t.elapsed());
        stamps_build = counted;
        let mut counted = 0u32;
        let t = Instant::now();
        renewed = ers::renew_timestamps(&records, &ers::Limits::default(), &mut |a, i| {
            counted += 1;
            stamp(a, i)
        })
        .unwrap();
        renew_times.push(t.elapsed());
        stamps_renew = counted;
    }
    let record_bytes: usize = records.iter().map(Vec::len).sum();
    let renewed_bytes: usize = renewed.iter().map(Vec::len).sum();

    // Verification of one record (tree, token signature, TSA path), 200 of them.
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&root.to_der().unwrap()).unwrap();
    let options = VerifyOptions {
        anchors: &anchors,
        extra_certificates: &[],
        extra_crls: &[],
        extra_ocsp: &[],
        validation_time: OffsetDateTime::now_utc() + time::Duration::minutes(1),
        revocation: RevocationMode::Skip,
        limits: Limits::default(),
    };
    let step = (docs / 200).max(1);
    let mut verify_times = Vec::new();
    for i in (0..docs).step_by(step).take(200) {
        let digests: Vec<PartDigests> = parts[i]
            .iter()
            .map(|d| PartDigests::default().with(sha, d.clone()))
            .collect();
        let t = Instant::now();
        let report = ers::verify(&renewed[i], &digests, &options, &ers::Limits::default()).unwrap();
        verify_times.push(t.elapsed());
        assert!(report.is_valid(), "record {i}: {report:?}");
    }

    // The peer: `openssl ts -verify` of the first record's token (a process each time).
    let dir = tempfile::tempdir().unwrap();
    let record = ers::EvidenceRecord::parse(&records[0], &ers::Limits::default()).unwrap();
    let token = record.tokens().unwrap().remove(0);
    let imprint = tsp::parse_token(&token).unwrap().imprint;
    let token_path = dir.path().join("token.der");
    std::fs::write(&token_path, &token).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, root.to_pem(der::pem::LineEnding::LF).unwrap()).unwrap();
    let mut openssl_times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let out = Command::new("openssl")
            .args([
                "ts",
                "-verify",
                "-digest",
                &hex::encode(&imprint),
                "-token_in",
            ])
            .arg("-in")
            .arg(&token_path)
            .arg("-CAfile")
            .arg(&ca)
            .output()
            .expect("openssl (apt install openssl)");
        openssl_times.push(t.elapsed());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let kyso_token_times: Vec<Duration> = (0..51)
        .map(|_| {
            let t = Instant::now();
            let r = kyso_cades::verify_timestamp_token_digests(
                &token,
                &[(sha, imprint.clone())],
                &options,
            )
            .unwrap();
            let e = t.elapsed();
            assert_eq!(r.indication, kyso_cades::report::Indication::TotalPassed);
            e
        })
        .collect();

    let build = median(build_times);
    let renew = median(renew_times);
    let per_doc = |d: Duration| d.as_secs_f64() * 1e6 / docs as f64;
    println!("# Evidence records, {docs} documents (3 parts each), medians of {runs} runs");
    println!();
    println!("| step | time-stamps | total | per document |");
    println!("|---|---|---|---|");
    println!(
        "| build: hash tree, time-stamp, one DER record each | {stamps_build} | {:.0} ms | {:.1} µs |",
        build.as_secs_f64() * 1e3,
        per_doc(build)
    );
    println!(
        "| renew: time-stamp renewal of every record | {stamps_renew} | {:.0} ms | {:.1} µs |",
        renew.as_secs_f64() * 1e3,
        per_doc(renew)
    );
    println!();
    println!(
        "- disk per document: record {:.0} bytes after sealing, {:.0} bytes after one renewal (`evidence.ers`)",
        record_bytes as f64 / docs as f64,
        renewed_bytes as f64 / docs as f64
    );
    println!(
        "- hashing the files (not included above): SHA-256 {:.2} ms per MiB on this machine",
        hashing.as_secs_f64() * 1e3
    );
    println!(
        "- verifying one renewed record (tree + 2 tokens + TSA path), 200 records: p50 {:.2} ms",
        median(verify_times).as_secs_f64() * 1e3
    );
    println!(
        "- one time-stamp token: kyso verify_timestamp_token {:.2} ms; openssl ts -verify (process) {:.2} ms (p50 of 51 / 21)",
        median(kyso_token_times).as_secs_f64() * 1e3,
        median(openssl_times).as_secs_f64() * 1e3
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
