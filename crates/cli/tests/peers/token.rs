//! Signing through a PKCS#11 token (SoftHSM2 in its own token directory) with the
//! `kyso` binary: keys generated on the token, certified by the kyso CA from the
//! token's public key, certificate written back to the token, CAdES signatures that
//! kyso and pyHanko validate, PIN handling.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{describe, kyso, pyhanko, run, success, verify_with};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "246810";

struct SoftHsm {
    _dir: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    data: PathBuf,
}

impl SoftHsm {
    fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", &self.conf);
        c
    }

    fn kyso(&self) -> Command {
        let mut c = kyso();
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("KYSO_PIN", PIN)
            .arg("--data")
            .arg(&self.data);
        c
    }
}

/// A token with a P-256 key "lanh-dao" (id 01) and an RSA-2048 key "con-dau" (id 02),
/// each certified by a fresh kyso CA.
fn softhsm() -> SoftHsm {
    assert!(
        Path::new(MODULE).exists(),
        "SoftHSM2 is required: apt-get install softhsm2 opensc ({MODULE} missing)"
    );
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let hsm = SoftHsm {
        root: data.join("ca/root.crt.pem"),
        conf,
        data,
        _dir: dir,
    };
    success(hsm.tool("softhsm2-util").args([
        "--init-token",
        "--free",
        "--label",
        "thiet-bi-ky-so",
        "--so-pin",
        "13572468",
        "--pin",
        PIN,
    ]));
    success(
        hsm.kyso()
            .args(["ca", "init", "--name", "CA thử nghiệm thiết bị"]),
    );
    for (id, label, kind, cn) in [
        ("01", "lanh-dao", "EC:prime256v1", "Trần Văn Bình"),
        (
            "02",
            "con-dau",
            "rsa:2048",
            "Ủy ban nhân dân thành phố Cần Thơ",
        ),
    ] {
        success(hsm.tool("pkcs11-tool").args([
            "--module",
            MODULE,
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            kind,
            "--id",
            id,
            "--label",
            label,
            "--usage-sign",
        ]));
        let public = hsm.data.join(format!("{label}.pub.der"));
        success(
            hsm.tool("pkcs11-tool")
                .args([
                    "--module",
                    MODULE,
                    "--read-object",
                    "--type",
                    "pubkey",
                    "--id",
                    id,
                ])
                .arg("--output-file")
                .arg(&public),
        );
        let chain = hsm.data.join(format!("{label}.chain.pem"));
        success(
            hsm.kyso()
                .args([
                    "ca",
                    "issue",
                    "--profile",
                    "seal",
                    "--name",
                    label,
                    "--cn",
                    cn,
                ])
                .args(["--org", "Ủy ban nhân dân thành phố Cần Thơ", "--public-key"])
                .arg(&public)
                .arg("--cert-out")
                .arg(&chain),
        );
        let leaf_der = hsm.data.join(format!("{label}.crt.der"));
        success(
            Command::new("openssl")
                .args(["x509", "-outform", "DER", "-in"])
                .arg(&chain)
                .arg("-out")
                .arg(&leaf_der),
        );
        success(
            hsm.tool("pkcs11-tool")
                .args([
                    "--module",
                    MODULE,
                    "--login",
                    "--pin",
                    PIN,
                    "--write-object",
                ])
                .arg(&leaf_der)
                .args(["--type", "cert", "--id", id, "--label", label]),
        );
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
    let shared = crate::support::workspace().join("../shared/testdata");
    let input = shared.join("documents/quyet-dinh.pdf");
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
        cmd.arg(shared.join("images").join(image))
            .arg("--out")
            .arg(&out);
        if label == "lanh-dao" {
            cmd.args(["--anchor", "Nguyễn Văn Hùng"]);
        } else {
            cmd.args(["--role", "seal"]);
        }
        success(&mut cmd);
    }
    let signed = hsm.data.join("con-dau.pdf");
    let mut check = pyhanko();
    check
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(&hsm.root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&signed);
    let out = run(&mut check);
    let text = String::from_utf8_lossy(&out.stdout);
    let valid = text
        .lines()
        .filter(|l| l.trim() == "The signature is judged VALID.")
        .count();
    assert!(
        out.status.success() && valid == 2,
        "pyHanko did not validate both token signatures: {}",
        describe(&check, &out)
    );
}
