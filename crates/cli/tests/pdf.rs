#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! `kyso verify` on PDFs through the real binary: JSON and human output, exit codes
//! (0 valid / 1 anything else / 2 could not run) and `--extract-signed`. The signed
//! documents come from pyHanko with the test PKI of kyso-pades' tests (shared fixture).

#[path = "../../pades/tests/support/craft.rs"]
mod craft;
#[path = "../../pades/tests/support/edit.rs"]
mod edit;
#[path = "../../pades/tests/support/encrypt.rs"]
mod encrypt;
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
    // Encryption kyso cannot open is a verdict (indeterminate, exit 1), not exit 2.
    let encrypted = write(
        "encrypted.pdf",
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R /Encrypt << /Filter /Standard >> >>\nstartxref\n45\n%%EOF\n",
    );
    let out = kyso(&["--no-revocation-check", "--json"], &encrypted);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "indeterminate");
    assert_eq!(v["reasons"][0]["code"], "encryption_unsupported");
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

#[test]
fn an_encrypted_pdf_gets_a_verdict_never_exit_2() {
    let plain = std::fs::read(fixture::document("quyet-dinh.pdf")).unwrap();
    // Permissions-only protection (empty user password): verified fully.
    let enc = encrypt::encrypt(&plain, "", "chu-so-huu", &["256"], &[]);
    let pdf = write(
        "encrypted.signed.pdf",
        &encrypt::sign_encrypted(&enc, "", "Sig1"),
    );
    let out = kyso(&["--no-revocation-check", "--json"], &pdf);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(v["signatures"][0]["field"], "Sig1");
    // A user password: indeterminate without it (exit 1, a report), valid with it.
    let enc = encrypt::encrypt(
        &plain,
        "mat-khau",
        "chu-so-huu",
        &["128", "--use-aes=y"],
        &[],
    );
    let pdf = write(
        "encrypted-password.signed.pdf",
        &encrypt::sign_encrypted(&enc, "mat-khau", "Sig1"),
    );
    for args in [
        &["--no-revocation-check", "--json"][..],
        &["--no-revocation-check", "--json", "--password", "sai"],
    ] {
        let out = kyso(args, &pdf);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["verdict"], "indeterminate", "{v:#}");
        assert_eq!(v["reasons"][0]["code"], "encrypted_password_required");
    }
    let out = kyso(
        &["--no-revocation-check", "--json", "--password", "mat-khau"],
        &pdf,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["verdict"], "valid");
    // The password from the environment; human output says why without it.
    let f = fixture::fixture();
    let out = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("verify")
        .arg(&pdf)
        .arg("--trust")
        .arg(&f.root_pem)
        .args(["--no-revocation-check", "--lang", "en"])
        .env_remove("KYSO_DATA")
        .env("XDG_DATA_HOME", f.dir.path())
        .env("KYSO_PDF_PASSWORD", "chu-so-huu")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = kyso(&["--no-revocation-check", "--lang", "en"], &pdf);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("password"), "{text}");
}

/// The lines of a human report that carry notes, warnings, reasons and overlays.
fn message_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| {
            [
                "Lưu ý:",
                "Ghi chú:",
                "Lý do:",
                "Che phủ:",
                "Note:",
                "Reason:",
                "Overlay:",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect()
}

#[test]
fn every_note_and_warning_is_in_one_language() {
    // A second signature whose appearance paints over the signer's name: a warning
    // (its own signature covers it) and an overlay line.
    let pdf = fixture::sign_bytes(
        fixture::signed_table(),
        &fixture::field_spec("Sig2", fixture::NAME_LINE),
        fixture::Who::Seal,
        &[],
    );
    let pdf = write("overlay.pdf", &pdf);
    let untrusted = |lang: &str| {
        let f = fixture::fixture();
        let out = Command::new(env!("CARGO_BIN_EXE_kyso"))
            .arg("verify")
            .arg(&pdf)
            .args(["--no-revocation-check", "--lang", lang])
            .env_remove("KYSO_DATA")
            .env("XDG_DATA_HOME", f.dir.path().join("no-trust-store"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let english = [
        "the",
        "signature",
        "appearance",
        "page",
        "no",
        "trust",
        "configured",
    ];
    let vi_text = format!(
        "{}{}",
        String::from_utf8_lossy(&kyso(&["--no-revocation-check"], &pdf).stdout),
        untrusted("vi")
    );
    let vi = message_lines(&vi_text);
    assert!(
        vi.iter().any(|l| l.starts_with("Lưu ý:")) && vi.iter().any(|l| l.starts_with("Ghi chú:")),
        "{vi_text}"
    );
    assert!(vi.iter().any(|l| l.starts_with("Che phủ:")), "{vi_text}");
    for line in &vi {
        // Command syntax (`kyso trust add`, --trust) is not English prose.
        let prose: String = line
            .split('`')
            .step_by(2)
            .flat_map(str::split_whitespace)
            .filter(|w| !w.trim_start_matches('(').starts_with("--"))
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<String> = prose
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .collect();
        for w in english {
            assert!(!words.iter().any(|x| x == w), "English “{w}” in: {line}");
        }
    }
    let en_text = format!(
        "{}{}",
        String::from_utf8_lossy(&kyso(&["--no-revocation-check", "--lang", "en"], &pdf).stdout),
        untrusted("en")
    );
    let en = message_lines(&en_text);
    assert!(
        en.iter().any(|l| l.starts_with("Note:")) && en.iter().any(|l| l.starts_with("Overlay:")),
        "{en_text}"
    );
    for line in &en {
        assert!(
            !has_vietnamese(line),
            "Vietnamese in an English line: {line}"
        );
    }
    // JSON keeps both languages, and the overlay under the signature it affects.
    let v = json(&kyso(&["--no-revocation-check", "--json"], &pdf));
    let w = &v["warnings"][0];
    assert!(
        w["code"].is_string() && w["en"].is_string() && w["vi"].is_string(),
        "{v:#}"
    );
    let o = &v["signatures"][0]["overlaps"][0];
    assert_eq!(o["covers"], "text", "{v:#}");
    assert_eq!(o["page"], 1);
    assert_eq!(o["field"], "Sig2");
}

/// Letters with Vietnamese diacritics (or đ), precomposed or combining.
fn has_vietnamese(line: &str) -> bool {
    line.chars()
        .any(|c| !c.is_ascii() && (c.is_alphabetic() || ('\u{300}'..='\u{36f}').contains(&c)))
}

#[test]
fn policy_strict_refuses_what_the_standard_allows() {
    // A certification P3, then a comment in a blank area: ISO 32000-2 allows it.
    let pdf = craft::add_annotation(
        fixture::certified(3),
        "Text",
        [85.0, 60.0, 280.0, 90.0],
        "Ghi chu",
    );
    let pdf = write("p3-comment.pdf", &pdf);
    let out = kyso(&["--no-revocation-check", "--json"], &pdf);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["verdict"], "valid_with_changes");
    let out = kyso(
        &["--no-revocation-check", "--json", "--policy", "strict"],
        &pdf,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"], "modified");
    assert_eq!(v["reasons"][0]["code"], "not_allowed_by_policy", "{v:#}");
}
