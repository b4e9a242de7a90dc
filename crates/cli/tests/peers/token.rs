//! Signing through a PKCS#11 token (SoftHSM2 in its own token directory) with the
//! `kyso` binary: keys generated on the token, certified by the kyso CA from the
//! token's public key, certificate written back to the token, CAdES signatures that
//! kyso and pyHanko validate, PIN handling.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{describe, kyso, pyhanko, run, success, verify_with};

pub(crate) const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub(crate) const PIN: &str = "246810";

/// A SoftHSM2 token directory of its own and a kyso data directory with a fresh CA.
pub(crate) struct SoftHsm {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) conf: PathBuf,
    pub(crate) data: PathBuf,
    /// Beside the data directory: the tests' own files (keys read off the token,
    /// documents), which `kyso archive check` would rightly call strangers in `data`.
    pub(crate) work: PathBuf,
}

impl SoftHsm {
    /// An empty token directory and a kyso CA.
    pub(crate) fn new() -> Self {
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
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let hsm = SoftHsm {
            root: data.join("ca/root.crt.pem"),
            conf,
            data,
            work,
            _dir: dir,
        };
        success(
            hsm.kyso()
                .args(["ca", "init", "--name", "CA thử nghiệm thiết bị"]),
        );
        hsm
    }

    pub(crate) fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", &self.conf);
        c
    }

    pub(crate) fn kyso(&self) -> Command {
        let mut c = kyso();
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("KYSO_PIN", PIN)
            .arg("--data")
            .arg(&self.data);
        c
    }

    /// Initialises a token in the next free slot.
    pub(crate) fn init_token(&self, label: &str, pin: &str) {
        success(self.tool("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            "13572468",
            "--pin",
            pin,
        ]));
    }

    /// Generates a key pair on token `token`, certifies it with the kyso CA (`profile`,
    /// common name `cn`) and writes the certificate back to the token.
    #[allow(clippy::too_many_arguments, reason = "test set-up, named at each call")]
    pub(crate) fn token_key(
        &self,
        token: &str,
        pin: &str,
        id: &str,
        label: &str,
        kind: &str,
        profile: &str,
        cn: &str,
    ) -> PathBuf {
        let pkcs11 = |extra: &[&str]| {
            let mut c = self.tool("pkcs11-tool");
            c.args(["--module", MODULE, "--token-label", token])
                .args(extra);
            c
        };
        success(&mut pkcs11(&[
            "--login",
            "--pin",
            pin,
            "--keypairgen",
            "--key-type",
            kind,
            "--id",
            id,
            "--label",
            label,
            "--usage-sign",
        ]));
        let public = self.work.join(format!("{label}.pub.der"));
        success(
            pkcs11(&["--read-object", "--type", "pubkey", "--id", id])
                .arg("--output-file")
                .arg(&public),
        );
        let chain = self.data.join(format!("{label}.chain.pem"));
        success(
            self.kyso()
                .args([
                    "ca",
                    "issue",
                    "--profile",
                    profile,
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
        let leaf_der = self.work.join(format!("{label}.crt.der"));
        success(
            Command::new("openssl")
                .args(["x509", "-outform", "DER", "-in"])
                .arg(&chain)
                .arg("-out")
                .arg(&leaf_der),
        );
        success(
            pkcs11(&["--login", "--pin", pin, "--write-object"])
                .arg(&leaf_der)
                .args(["--type", "cert", "--id", id, "--label", label]),
        );
        chain
    }
}

/// A token with a P-256 key "lanh-dao" (id 01) and an RSA-2048 key "con-dau" (id 02),
/// each certified by a fresh kyso CA.
fn softhsm() -> SoftHsm {
    let hsm = SoftHsm::new();
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
