//! Signing through a PKCS#11 token (SoftHSM2 in its own token directory) with the
//! `kyso` binary: keys generated on the token, certified by the kyso CA from the
//! token's public key, certificate written back to the token, CAdES signatures that
//! kyso and pyHanko validate, PIN handling.

use std::path::Path;

use crate::support::{describe, kyso, pyhanko, run, success, verify_with};

pub(crate) use kyso_testkit::softhsm::{MODULE, PIN};

/// The SoftHSM fixture of the tests, its `kyso` with the tests' passphrases.
pub(crate) type SoftHsm = kyso_testkit::softhsm::SoftHsm;

/// A fresh token directory and kyso CA ([`kyso_testkit::softhsm::SoftHsm::new`]).
pub(crate) fn new_softhsm() -> SoftHsm {
    SoftHsm::new(kyso)
}

/// A token with a P-256 key "lanh-dao" (id 01) and an RSA-2048 key "con-dau" (id 02),
/// each certified by a fresh kyso CA.
fn softhsm() -> SoftHsm {
    let hsm = new_softhsm();
    hsm.init_token("thiet-bi-ky-so", PIN);
    for (id, label, kind, cn) in [
        ("01", "lanh-dao", "EC:prime256v1", "Trần Văn Bình"),
        (
            "02",
            "con-dau",
            "rsa:2048",
            "Ủy ban nhân dân thành phố Cần Thơ",
        ),
    ] {
        hsm.token_key("thiet-bi-ky-so", PIN, id, label, kind, "seal", cn);
    }
    hsm
}

#[test]
fn token_signatures_validate_in_kyso_and_pyhanko() {
    let hsm = softhsm();
    let listing = success(
        hsm.kyso()
            .args(["token", "list", "--pkcs11", MODULE, "--keys"]),
    );
    assert!(listing.contains("thiet-bi-ky-so"), "{listing}");
    assert!(listing.contains("CN=Trần Văn Bình"), "{listing}");
    assert!(listing.contains("label \"con-dau\" RSA"), "{listing}");

    let doc = hsm.data.join("giay-moi.txt");
    std::fs::write(&doc, "Giấy mời họp số 16/GM-UBND".as_bytes()).unwrap();
    for (label, extra) in [
        ("lanh-dao", None),
        ("con-dau", None),
        ("con-dau", Some("--pss")),
    ] {
        let sig = hsm.data.join(format!("{label}{}.p7s", extra.unwrap_or("")));
        let mut cmd = hsm.kyso();
        cmd.arg("sign")
            .arg(&doc)
            .args(["--pkcs11", MODULE, "--key-label", label, "--out"])
            .arg(&sig);
        if let Some(e) = extra {
            cmd.arg(e);
        }
        success(&mut cmd);
        let v = verify_with(&doc, Some(&sig), &hsm.root);
        v.assert_valid();
        let mut check = pyhanko();
        check
            .args(["sign", "validate", "--pretty-print", "--trust"])
            .arg(&hsm.root)
            .args(["--trust-replace", "--no-revocation-check", "--detached"])
            .arg(&sig)
            .arg(&doc);
        let out = run(&mut check);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success()
                && text
                    .lines()
                    .any(|l| l.trim() == "The signature is judged VALID."),
            "pyHanko did not validate the token signature: {}",
            describe(&check, &out)
        );
    }
}

#[test]
fn wrong_pin_is_a_clear_error() {
    let hsm = softhsm();
    let doc = hsm.data.join("f.txt");
    std::fs::write(&doc, b"x").unwrap();
    let mut cmd = hsm.kyso();
    cmd.env("KYSO_PIN", "000000").arg("sign").arg(&doc).args([
        "--pkcs11",
        MODULE,
        "--key-label",
        "lanh-dao",
    ]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&cmd, &out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sai mã PIN"), "{err}");
    assert!(
        !err.contains("000000"),
        "the PIN must never be printed: {err}"
    );
}

#[test]
fn token_signed_pdf_validates_in_pyhanko() {
    let hsm = softhsm();
    let testdata = crate::support::workspace().join("testdata");
    let input = testdata.join("documents/quyet-dinh.pdf");
    assert!(input.exists(), "missing {}", input.display());
    for (label, image) in [
        ("lanh-dao", "signature-blue.png"),
        ("con-dau", "seal-red.png"),
    ] {
        let from = if label == "lanh-dao" {
            input.clone()
        } else {
            hsm.data.join("lanh-dao.pdf")
        };
        let out = hsm.data.join(format!("{label}.pdf"));
        let mut cmd = hsm.kyso();
        cmd.arg("sign")
            .arg(&from)
            .args(["--pkcs11", MODULE, "--key-label", label, "--image"]);
        cmd.arg(testdata.join("images").join(image))
            .arg("--out")
            .arg(&out);
        if label == "lanh-dao" {
            cmd.args(["--anchor", "Nguyễn Văn Hùng"]);
        } else {
            cmd.args(["--role", "seal"]);
        }
        success(&mut cmd);
    }
    assert_pyhanko_valid(&hsm.data.join("con-dau.pdf"), &hsm.root, 2);
}

/// `pyhanko sign validate` (strict, trusting `root`, no revocation check) judges
/// exactly `expected` signatures of `pdf` VALID.
pub(crate) fn assert_pyhanko_valid(pdf: &Path, root: &Path, expected: usize) {
    let mut check = pyhanko();
    check
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(pdf);
    let out = run(&mut check);
    let text = String::from_utf8_lossy(&out.stdout);
    let valid = text
        .lines()
        .filter(|l| l.trim() == "The signature is judged VALID.")
        .count();
    assert!(
        out.status.success() && valid == expected,
        "pyHanko judged {valid} of the expected {expected} signatures VALID: {}",
        describe(&check, &out)
    );
}
