#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! `kyso verify` on PDFs through the real binary: JSON and human output, exit codes
//! (0 valid / 1 anything else / 2 could not run) and `--extract-signed`. The signed
//! documents come from pyHanko with the test PKI of kyso-pades' tests (shared fixture).

#[path = "../../pades/tests/support/fixture.rs"]
mod fixture;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn kyso(args: &[&str], file: &Path) -> Output {
    let f = fixture::fixture();
    Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(&f.root_pem)
        .args(args)
        .env_remove("KYSO_DATA")
        .env("XDG_DATA_HOME", f.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = fixture::fixture().scratch("cli");
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_valid_pdf_exits_0_with_a_report() {
    let pdf = write("valid.pdf", fixture::signed_table());
    let out = kyso(&["--no-revocation-check", "--json"], &pdf);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["format"], "pades");
    let s = &v["signatures"][0];
    assert_eq!(s["field"], "Sig1");
    assert_eq!(s["coverage"], "entire_file");
    assert_eq!(s["indication"], "TOTAL_PASSED");
    assert_eq!(s["sub_filter"], "adbe.pkcs7.detached");
    assert!(s["byte_range"].as_array().is_some_and(|a| a.len() == 4));
    // Human output, Vietnamese by default, English on request.
    let out = kyso(&["--no-revocation-check"], &pdf);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Kết luận: HỢP LỆ"), "{text}");
    assert!(text.contains("Phạm vi ký: toàn bộ tệp"), "{text}");
    let out = kyso(&["--no-revocation-check", "--lang", "en"], &pdf);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verdict: VALID"), "{text}");
    // Without revocation data and offline: indeterminate, exit 1 (never valid).
    let out = kyso(&["--offline", "--json"], &pdf);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["verdict"], "indeterminate");
}

#[test]
fn a_modified_pdf_exits_1_and_says_why() {
    let mut bytes = fixture::signed_table().to_vec();
    bytes.extend_from_slice(b"9 0 obj\n(appended)\nendobj\n");
    let pdf = write("modified.pdf", &bytes);
    let out = kyso(&["--no-revocation-check", "--json"], &pdf);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"], "modified");
    assert_eq!(v["reasons"][0]["code"], "unparsed_tail");
    let out = kyso(&["--no-revocation-check"], &pdf);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ĐÃ BỊ SỬA ĐỔI"), "{text}");
}

#[test]
fn extract_signed_writes_the_exact_signed_revision() {
    let mut bytes = fixture::signed_table().to_vec();
    let signed_len = bytes.len();
    bytes.extend_from_slice(b"9 0 obj\n(appended)\nendobj\n");
    let pdf = write("extract.pdf", &bytes);
    let out_path = pdf.with_file_name("what-was-signed.pdf");
    let out = kyso(
        &["--extract-signed", "1", "--out", out_path.to_str().unwrap()],
        &pdf,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&out_path).unwrap(), &bytes[..signed_len]);
    // The extracted revision verifies on its own.
    let out = kyso(&["--no-revocation-check", "--json"], &out_path);
    assert_eq!(json(&out)["verdict"], "valid");
    // No such signature: could not run.
    let out = kyso(
        &["--extract-signed", "2", "--out", out_path.to_str().unwrap()],
        &pdf,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreadable_and_unsupported_inputs_exit_2() {
    let encrypted = write(
        "encrypted.pdf",
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R /Encrypt << /Filter /Standard >> >>\nstartxref\n45\n%%EOF\n",
    );
    let out = kyso(&["--no-revocation-check"], &encrypted);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A header and nothing else: read, but not a signed PDF.
    let broken = write("broken.pdf", b"%PDF-1.7\nnot really\n");
    let out = kyso(&["--no-revocation-check", "--json"], &broken);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["verdict"], "invalid");
    let unsigned = write(
        "unsigned.pdf",
        &std::fs::read(fixture::document("quyet-dinh.pdf")).unwrap(),
    );
    let out = kyso(&["--no-revocation-check", "--json"], &unsigned);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["verdict"], "unsigned");
}
