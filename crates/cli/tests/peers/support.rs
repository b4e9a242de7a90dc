//! Shared fixture and helpers of the peer tests: the `kyso` binary, the peers (OpenSSL,
//! pyHanko), one CA with a certificate per key type, and `kyso verify --json` parsing.
//!
//! A missing peer is a test failure with a message saying how to install it, never a
//! skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// Passphrase of keystore entries and PKCS#12 files (`KYSO_PASSPHRASE`).
pub(crate) const PASSPHRASE: &str = "mat-khau-thu-nghiem";
/// Passphrase of the CA keys (`KYSO_CA_PASSPHRASE`).
pub(crate) const CA_PASSPHRASE: &str = "mat-khau-cua-ca";
/// The signer of the fixture's certificates, with Vietnamese diacritics (NFC).
pub(crate) const SIGNER_CN: &str = "Nguyễn Thị Hồng Nhung";
/// Her agency.
pub(crate) const SIGNER_ORG: &str = "Sở Nội vụ thành phố Cần Thơ";
/// Key types of `kyso ca issue --key-type`; the fixture issues one certificate each,
/// under the key type as keystore name.
pub(crate) const KEY_TYPES: [&str; 5] = ["p256", "p384", "rsa2048", "rsa3072", "ed25519"];

/// The document everyone signs.
pub(crate) const DOCUMENT: &str = "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ\n\
Số: 34/UBND-VP — V/v thử nghiệm liên thông chữ ký số\n\
Kính gửi: Sở Nội vụ thành phố Cần Thơ.\n";

// ----------------------------------------------------------------------------------
// Processes
// ----------------------------------------------------------------------------------

/// The workspace root (for the default pyHanko venv).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `kyso` binary under test, with passphrases and a fast keystore cost in its
/// environment, and no data directory inherited from the user.
pub(crate) fn kyso() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.env("KYSO_PASSPHRASE", PASSPHRASE)
        .env("KYSO_CA_PASSPHRASE", CA_PASSPHRASE)
        .env("KYSO_SCRYPT_LOG_N", "10")
        .env_remove("KYSO_DATA")
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::null());
    c
}

/// `openssl` (3.x), with the passphrases in its environment for `-passin env:…`.
pub(crate) fn openssl() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    let path = CHECKED.get_or_init(|| {
        let path = std::env::var_os("KYSO_OPENSSL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("openssl"));
        let out = Command::new(&path).arg("version").output().unwrap_or_else(|e| {
            panic!(
                "peer missing: cannot run {} ({e}); install OpenSSL 3 (apt-get install openssl) \
                 or set KYSO_OPENSSL",
                path.display()
            )
        });
        let version = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && version.starts_with("OpenSSL 3."),
            "peer unusable: `{} version` said {version:?}; OpenSSL 3.x is needed",
            path.display()
        );
        path
    });
    let mut c = Command::new(path);
    c.env("KYSO_PASSPHRASE", PASSPHRASE)
        .env("KYSO_CA_PASSPHRASE", CA_PASSPHRASE)
        .stdin(Stdio::null());
    c
}

fn venv_tool(var: &str, name: &str, probe: &[&str], cell: &'static OnceLock<PathBuf>) -> Command {
    let path = cell.get_or_init(|| {
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join(".venv/bin").join(name));
        let out = Command::new(&path)
            .args(probe)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "peer missing: cannot run {} ({e}); run scripts/test.sh once (it makes the \
                 pyHanko venv at .venv) or set {var}",
                    path.display()
                )
            });
        assert!(
            out.status.success(),
            "peer unusable: {} {probe:?} failed: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        path
    });
    let mut c = Command::new(path);
    c.stdin(Stdio::null());
    c
}

/// The pyHanko CLI (`KYSO_PYHANKO`, else `<workspace>/.venv/bin/pyhanko`).
pub(crate) fn pyhanko() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    venv_tool("KYSO_PYHANKO", "pyhanko", &["--version"], &CHECKED)
}

/// The Python that has pyHanko (`KYSO_PYTHON`, else `<workspace>/.venv/bin/python`).
pub(crate) fn python() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    venv_tool(
        "KYSO_PYTHON",
        "python",
        &["-c", "import pyhanko.sign"],
        &CHECKED,
    )
}

/// Run to completion; panics only if the program cannot be started.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// A command's outcome for panic messages.
pub(crate) fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\n  status: {}\n  stdout:\n{}\n  stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run and require exit 0; returns stdout.
pub(crate) fn success(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed: {}",
        describe(cmd, &out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Start several commands at once and wait for all (pyHanko takes a second to start).
pub(crate) fn run_parallel(cmds: &mut [Command]) -> Vec<Output> {
    let children: Vec<Child> = cmds
        .iter_mut()
        .map(|c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {c:?}: {e}"))
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

// ----------------------------------------------------------------------------------
// The shared CA
// ----------------------------------------------------------------------------------

/// One CA (root + issuing, P-384, CRLs at `file://`), one certificate per key type in
/// the keystore at `data`, and their keys and chains exported in plain PEM for peers.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) dir: PathBuf,
    /// `--data` of every kyso command on this CA.
    pub(crate) data: PathBuf,
    /// `--ca`.
    pub(crate) ca: PathBuf,
    /// The trust anchor: `ca/root.crt.pem`.
    pub(crate) root: PathBuf,
    /// `NAME.key.pem`, `NAME.crt.pem` (full chain), `NAME.leaf.pem`, `NAME.cas.pem`
    /// (the chain without the leaf), and the issuing CA's key decrypted.
    pub(crate) export: PathBuf,
    /// The signed document.
    pub(crate) doc: PathBuf,
}

/// The fixture, made once per test binary run.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::create)
}

impl Fixture {
    fn create() -> Self {
        // Statics are never dropped, so the directory is kept; runs older than a day
        // are removed here instead (under target/, not /tmp).
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        prune_old_runs(base);
        let dir = tempfile::Builder::new()
            .prefix("kyso-peers-")
            .tempdir_in(base)
            .unwrap()
            .keep();
        let data = dir.join("data");
        let ca = dir.join("ca");
        let export = dir.join("export");
        std::fs::create_dir_all(&export).unwrap();
        success(
            kyso()
                .arg("--data")
                .arg(&data)
                .args(["ca", "init", "--ca"])
                .arg(&ca)
                .args(["--name", "Trung tâm Chứng thực số thử nghiệm Cần Thơ"]),
        );
        let fx = Self {
            root: ca.join("root.crt.pem"),
            doc: dir.join("34-UBND-VP.txt"),
            dir,
            data,
            ca,
            export,
        };
        std::fs::write(&fx.doc, DOCUMENT).unwrap();
        for kt in KEY_TYPES {
            fx.issue(
                kt,
                "person",
                SIGNER_CN,
                &["--key-type", kt, "--org", SIGNER_ORG],
            );
        }
        success(
            openssl()
                .args(["pkey", "-passin", "env:KYSO_CA_PASSPHRASE", "-in"])
                .arg(fx.ca.join("issuing.key.pem"))
                .arg("-out")
                .arg(fx.export.join("issuing-ca.key.pem")),
        );
        fx
    }

    /// `kyso --data DATA …`.
    pub(crate) fn kyso(&self) -> Command {
        let mut c = kyso();
        c.arg("--data").arg(&self.data);
        c
    }

    /// A fresh directory for one test.
    pub(crate) fn scratch(&self, name: &str) -> PathBuf {
        let d = self.dir.join("t").join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// `kyso ca issue --profile PROFILE --name NAME --cn CN --export-plain EXPORT …`,
    /// then split the exported chain into leaf and CA certificates.
    pub(crate) fn issue(&self, name: &str, profile: &str, cn: &str, extra: &[&str]) {
        let mut c = self.kyso();
        c.args(["ca", "issue", "--ca"]).arg(&self.ca).args([
            "--profile",
            profile,
            "--name",
            name,
            "--cn",
            cn,
        ]);
        c.args(extra).arg("--export-plain").arg(&self.export);
        success(&mut c);
        let chain = std::fs::read_to_string(self.chain(name)).unwrap();
        let blocks = pem_certificates(&chain);
        assert!(blocks.len() >= 2, "exported chain of {name} is {chain:?}");
        std::fs::write(self.leaf(name), &blocks[0]).unwrap();
        std::fs::write(self.cas(name), blocks[1..].concat()).unwrap();
    }

    /// Unencrypted PKCS#8 of an exported key.
    pub(crate) fn key(&self, name: &str) -> PathBuf {
        self.export.join(format!("{name}.key.pem"))
    }

    /// Leaf + issuing CA + root, PEM.
    pub(crate) fn chain(&self, name: &str) -> PathBuf {
        self.export.join(format!("{name}.crt.pem"))
    }

    /// The leaf alone.
    pub(crate) fn leaf(&self, name: &str) -> PathBuf {
        self.export.join(format!("{name}.leaf.pem"))
    }

    /// The CA certificates of the chain (issuing CA + root).
    pub(crate) fn cas(&self, name: &str) -> PathBuf {
        self.export.join(format!("{name}.cas.pem"))
    }

    /// `kyso sign FILE --key KEY --out OUT EXTRA…`.
    pub(crate) fn sign(&self, file: &Path, key: &str, out: &Path, extra: &[&str]) {
        success(
            self.kyso()
                .arg("sign")
                .arg(file)
                .args(["--key", key, "--out"])
                .arg(out)
                .args(extra),
        );
    }

    /// `kyso verify CONTENT --sig SIG --trust ROOT --json`.
    pub(crate) fn verify(&self, content: &Path, sig: &Path) -> Verification {
        verify_with(content, Some(sig), &self.root)
    }
}

/// `kyso verify CONTENT [--sig SIG] --trust TRUST --json`, parsed.
pub(crate) fn verify_with(content: &Path, sig: Option<&Path>, trust: &Path) -> Verification {
    let mut cmd = kyso();
    cmd.arg("verify").arg(content);
    if let Some(sig) = sig {
        cmd.arg("--sig").arg(sig);
    }
    cmd.arg("--trust").arg(trust).arg("--json");
    let out = run(&mut cmd);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "kyso verify --json printed no JSON ({e}): {}",
            describe(&cmd, &out)
        )
    });
    Verification {
        code: out.status.code(),
        json,
        context: describe(&cmd, &out),
    }
}

/// The outcome of `kyso verify --json`.
#[derive(Debug)]
pub(crate) struct Verification {
    pub(crate) code: Option<i32>,
    pub(crate) json: Value,
    pub(crate) context: String,
}

impl Verification {
    pub(crate) fn verdict(&self) -> &str {
        self.json["verdict"].as_str().unwrap_or("<none>")
    }

    /// The first signature's report.
    pub(crate) fn first(&self) -> &Value {
        let s = &self.json["signatures"][0];
        assert!(s.is_object(), "no signature report: {}", self.context);
        s
    }

    /// Codes of the first signature's reasons.
    pub(crate) fn reason_codes(&self) -> Vec<&str> {
        self.first()["reasons"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
            .unwrap_or_default()
    }

    /// Codes of the first signature's warnings.
    pub(crate) fn warning_codes(&self) -> Vec<&str> {
        self.first()["warnings"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
            .unwrap_or_default()
    }

    /// Exit 0, verdict valid, every signature TOTAL_PASSED with integrity and trust
    /// passed.
    pub(crate) fn assert_valid(&self) {
        assert_eq!(self.code, Some(0), "expected exit 0: {}", self.context);
        assert_eq!(self.verdict(), "valid", "{}", self.context);
        let sigs = self.json["signatures"].as_array().unwrap();
        assert!(!sigs.is_empty(), "{}", self.context);
        for s in sigs {
            assert_eq!(s["indication"], "TOTAL_PASSED", "{}", self.context);
            assert_eq!(s["integrity"], "passed", "{}", self.context);
            assert_eq!(s["trust"], "passed", "{}", self.context);
        }
    }

    /// Exit code, verdict, sub-indication and a reason code of the first signature.
    pub(crate) fn assert_failure(&self, code: i32, verdict: &str, sub: &str, reason: &str) {
        assert_eq!(self.code, Some(code), "exit code: {}", self.context);
        assert_eq!(self.verdict(), verdict, "{}", self.context);
        assert_eq!(self.first()["sub_indication"], sub, "{}", self.context);
        assert!(
            self.reason_codes().contains(&reason),
            "reason {reason:?} expected in {:?}: {}",
            self.reason_codes(),
            self.context
        );
    }
}

// ----------------------------------------------------------------------------------
// Small things
// ----------------------------------------------------------------------------------

/// The PEM `CERTIFICATE` blocks of a file, each with its trailing newline.
pub(crate) fn pem_certificates(text: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let Some(stop) = rest[start..].find(END) else {
            break;
        };
        let stop = start + stop + END.len();
        out.push(format!("{}\n", &rest[start..stop]));
        rest = &rest[stop..];
    }
    out
}

/// Lines of a pyHanko report, trimmed, for exact line assertions ("…is trusted." must
/// not match "…is untrusted.").
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).collect()
}

fn prune_old_runs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let day = Duration::from_secs(24 * 3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > day);
        if old && e.file_name().to_string_lossy().starts_with("kyso-peers-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// `kyso ca serve` as a child process, killed on drop.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
}

impl Server {
    /// Start `kyso ca serve --ca CA --listen 127.0.0.1:0` and read the address it
    /// announces (the port is chosen by the kernel, so no race with other tests).
    pub(crate) fn start(ca: &Path) -> Self {
        let mut child = kyso()
            .args(["ca", "serve", "--ca"])
            .arg(ca)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kyso ca serve: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let url = line
            .strip_prefix("kyso ca serve: ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        let Some(url) = url.filter(|u| u.starts_with("http://127.0.0.1:")) else {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "kyso ca serve did not announce its address: read {read:?} {line:?}, {status:?}"
            );
        };
        Self {
            child,
            _stdout: stdout,
            url,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
