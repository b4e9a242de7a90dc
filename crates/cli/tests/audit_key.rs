//! The audit log key encrypted like the keystore (tracker issue 10): created encrypted
//! when a passphrase is configured (`KYSO_AUDIT_KEY_PASSPHRASE`, or a file named by
//! `KYSO_AUDIT_KEY_PASSPHRASE_FILE`), `kyso audit protect-key` encrypting a plain key in
//! place, and a clear refusal — nothing recorded — when the key is encrypted and no
//! passphrase is at hand. Verification needs only the public key.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

const PASSPHRASE: &str = "mật khẩu nhật ký 2026";
const VAR: &str = "KYSO_AUDIT_KEY_PASSPHRASE";
const FILE_VAR: &str = "KYSO_AUDIT_KEY_PASSPHRASE_FILE";

use kyso_testkit::cli::text;

/// `kyso` on `data` ([`VAR`] and [`FILE_VAR`] unset), with cheap scrypt.
fn kyso(data: &Path) -> Command {
    let mut c = kyso_testkit::cli::command(env!("CARGO_BIN_EXE_kyso"), data);
    c.env("KYSO_SCRYPT_LOG_N", "10");
    c
}

fn append(mut c: Command, n: usize) -> Output {
    let object = format!("000.00.00.H13/2026/{n}");
    c.args([
        "audit",
        "append",
        "--actor",
        "clerk",
        "--action",
        "sign",
        "--object",
        &object,
        "--outcome",
        "succeeded",
    ])
    .output()
    .unwrap()
}

fn key_text(data: &Path) -> String {
    std::fs::read_to_string(data.join("audit/log-key.pem")).unwrap()
}

fn public_key(data: &Path) -> Vec<u8> {
    std::fs::read(data.join("audit/log-key.pub.pem")).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn verify_intact(data: &Path) {
    // No passphrase: verifying needs only the public key.
    let out = kyso(data).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn no_secret_in(out: &Output) {
    let t = text(out);
    assert!(!t.contains(PASSPHRASE), "the passphrase was printed: {t}");
}

#[test]
fn a_key_created_while_a_passphrase_is_set_is_encrypted() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let mut c = kyso(&data);
    c.env(VAR, PASSPHRASE);
    let out = append(c, 0);
    assert!(out.status.success(), "{}", text(&out));
    no_secret_in(&out);
    let pem = key_text(&data);
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    assert!(!pem.contains(PASSPHRASE));
    #[cfg(unix)]
    assert_eq!(mode(&data.join("audit/log-key.pem")), 0o600);

    // The same passphrase from a file (systemd credentials), with its trailing newline.
    let file = tmp.path().join("audit-key-passphrase");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    let mut c = kyso(&data);
    c.env(FILE_VAR, &file);
    let out = append(c, 1);
    assert!(out.status.success(), "{}", text(&out));
    verify_intact(&data);

    // Without it: refused, naming both variables, Vietnamese first; nothing recorded.
    let out = append(kyso(&data), 2);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(VAR) && err.contains(FILE_VAR), "{err}");
    let vi = err.find("được mã hóa nhưng chưa có mật khẩu").expect(&err);
    assert!(vi < err.find("is encrypted").expect(&err), "{err}");
    let list = kyso(&data)
        .args(["audit", "list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", text(&list));
    let entries: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "{entries}");

    // A wrong passphrase is refused too, and not printed.
    let mut c = kyso(&data);
    c.env(VAR, "sai mật khẩu");
    let out = append(c, 2);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("không mở được khóa nhật ký"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("sai mật khẩu"), "{}", text(&out));

    // An empty passphrase is a configuration error, not "no passphrase".
    let mut c = kyso(&data);
    c.env(VAR, "");
    let out = append(c, 2);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("trống"), "{}", text(&out));
    verify_intact(&data);
}

#[test]
fn protect_key_encrypts_a_plain_key_in_place() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    for n in 0..3 {
        let out = append(kyso(&data), n);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert!(key_text(&data).starts_with("-----BEGIN PRIVATE KEY-----"));
    let public_before = public_key(&data);

    // No passphrase configured and no terminal: refused, the key left as it was. (Not
    // tried where this test has a terminal: the command would ask on it.)
    if std::fs::File::open("/dev/tty").is_err() {
        let out = kyso(&data).args(["audit", "protect-key"]).output().unwrap();
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains(VAR), "{}", text(&out));
        assert!(key_text(&data).starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    let file = tmp.path().join("audit-key-passphrase");
    std::fs::write(&file, PASSPHRASE).unwrap();
    let out = kyso(&data)
        .env(FILE_VAR, &file)
        .args(["audit", "protect-key"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    no_secret_in(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("log key encrypted"),
        "{}",
        text(&out)
    );
    let pem = key_text(&data);
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&data.join("audit/log-key.pem")), 0o600);
    // The same key: the public key is unchanged and the earlier heads still verify.
    assert_eq!(public_key(&data), public_before);
    verify_intact(&data);
    // No temporary file left beside it.
    let names: Vec<String> = std::fs::read_dir(data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // Appending needs the passphrase now, and works with it.
    let out = append(kyso(&data), 3);
    assert!(!out.status.success(), "{}", text(&out));
    let mut c = kyso(&data);
    c.env(VAR, PASSPHRASE);
    let out = append(c, 3);
    assert!(out.status.success(), "{}", text(&out));
    verify_intact(&data);

    // Protecting twice is refused; the key is unchanged.
    let out = kyso(&data)
        .env(VAR, "another one")
        .args(["audit", "protect-key"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("đã được mã hóa"), "{}", text(&out));
    assert_eq!(key_text(&data), pem);
}

#[test]
fn protect_key_without_a_key_creates_it_encrypted() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let out = kyso(&data)
        .env(VAR, PASSPHRASE)
        .args(["audit", "protect-key"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(key_text(&data).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(data.join("audit/log-key.pub.pem").is_file());
    let mut c = kyso(&data);
    c.env(VAR, PASSPHRASE);
    let out = append(c, 0);
    assert!(out.status.success(), "{}", text(&out));
    verify_intact(&data);
}
