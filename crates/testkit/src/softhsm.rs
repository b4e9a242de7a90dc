//! A SoftHSM2 token directory of its own per test, with a kyso CA beside it: tokens
//! initialised, key pairs generated on the token (pkcs11-tool), certified by the kyso CA
//! from the token's public key, the certificate written back to the token. Needs
//! `softhsm2` and `opensc` (`scripts/test.sh` installs them); fails loudly without.

use std::path::{Path, PathBuf};
use std::process::Command;

/// SoftHSM2's PKCS#11 module on Debian.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of the tests' tokens.
pub const PIN: &str = "246810";

use crate::cli::ok as success;

/// A SoftHSM2 token directory of its own and a kyso data directory with a fresh CA.
#[derive(Debug)]
pub struct SoftHsm {
    _dir: tempfile::TempDir,
    kyso: fn() -> Command,
    pub root: PathBuf,
    pub conf: PathBuf,
    pub data: PathBuf,
    /// Beside the data directory: the tests' own files (keys read off the token,
    /// documents), which `kyso archive check` would rightly call strangers in `data`.
    pub work: PathBuf,
}

impl SoftHsm {
    /// An empty token directory and a kyso CA; `kyso` makes the `kyso` command of the
    /// calling tests (binary and passphrases).
    pub fn new(kyso: fn() -> Command) -> Self {
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
            kyso,
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

    pub fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", &self.conf);
        c
    }

    pub fn kyso(&self) -> Command {
        let mut c = (self.kyso)();
        c.env("SOFTHSM2_CONF", &self.conf)
            .env("KYSO_PIN", PIN)
            .arg("--data")
            .arg(&self.data);
        c
    }

    /// Initialises a token in the next free slot.
    pub fn init_token(&self, label: &str, pin: &str) {
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
    pub fn token_key(
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
