#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! `kyso sign FILE.pdf` and `kyso extend` end to end with the real binary: a CA made by
//! `kyso ca init`, its CRL/OCSP/TSA services from `kyso ca serve` on loopback, a leader
//! and the agency seal in the keystore; the results checked by pyHanko (strict, and
//! AdES for B-LT/B-LTA), qpdf and pdfsig. A missing peer fails the test.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "mat-khau-thu-nghiem";
const CA_PASSPHRASE: &str = "mat-khau-cua-ca";
const LEADER: &str = "Nguyễn Văn Hùng";
const AGENCY: &str = "Sở Thông tin và Truyền thông";

fn testdata() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"));
    assert!(
        dir.join("documents/layout.json").is_file(),
        "test documents not found at {} (it is part of the repository: testdata/, see testdata/README.md)",
        dir.display()
    );
    dir
}

fn kyso(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.env("KYSO_PASSPHRASE", PASSPHRASE)
        .env("KYSO_CA_PASSPHRASE", CA_PASSPHRASE)
        .env("KYSO_SCRYPT_LOG_N", "10")
        .env_remove("KYSO_DATA")
        .env_remove("XDG_DATA_HOME")
        .arg("--data")
        .arg(data)
        .stdin(Stdio::null());
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\n  status: {}\n  stdout:\n{}\n  stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn success(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed: {}",
        describe(cmd, &out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn peer(var: &str, default: &str) -> Command {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    let mut c = Command::new(&path);
    c.stdin(Stdio::null());
    c
}

fn pyhanko() -> Command {
    let c = peer(
        "KYSO_PYHANKO",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/pyhanko"),
    );
    let probe = Command::new(c.get_program()).arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "peer missing: pyHanko at {:?}; run scripts/test.sh (makes the .venv) or set KYSO_PYHANKO",
        c.get_program()
    );
    c
}

/// A `kyso ca serve` child, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, so the shell's trap stops the server too.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

struct Fixture {
    dir: PathBuf,
    data: PathBuf,
    root: PathBuf,
    base: String,
    _server: Server,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("kyso-pdf-sign-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let data = dir.join("data");
        let ca = dir.join("ca");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let base = format!("http://127.0.0.1:{port}");
        success(kyso(&data).args(["ca", "init", "--ca"]).arg(&ca).args([
            "--name",
            "Trung tâm Chứng thực thử nghiệm",
            "--base-url",
            &base,
        ]));
        for (name, profile, cn, kt) in [
            ("leader", "person", LEADER, "p256"),
            ("leader-rsa", "person", LEADER, "rsa2048"),
            ("seal", "seal", AGENCY, "p256"),
        ] {
            success(kyso(&data).args(["ca", "issue", "--ca"]).arg(&ca).args([
                "--profile",
                profile,
                "--name",
                name,
                "--cn",
                cn,
                "--key-type",
                kt,
                "--org",
                AGENCY,
            ]));
        }
        // The fixture lives in a static, which is never dropped: a shell between this
        // process and the server stops the server when this test process is gone, so
        // no `kyso ca serve` outlives the test run.
        let serve = kyso(&data);
        let child = Command::new("sh")
            .arg("-c")
            .arg(
                r#"parent=$1; shift; "$@" & child=$!
                   trap 'kill $child 2>/dev/null; exit 0' TERM
                   while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.2; done
                   kill "$child" 2>/dev/null; wait"#,
            )
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(serve.get_program())
            .args(serve.get_args())
            .args(["ca", "serve", "--ca"])
            .arg(&ca)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .envs(serve.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env_remove("KYSO_DATA")
            .env_remove("XDG_DATA_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "kyso ca serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Fixture {
            root: ca.join("root.crt.pem"),
            dir,
            data,
            base,
            _server: server,
        }
    })
}

impl Fixture {
    fn scratch(&self, name: &str) -> PathBuf {
        let d = self.dir.join("t").join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tsa(&self) -> String {
        format!("{}/tsa", self.base)
    }

    fn copy_document(&self, name: &str, to: &Path) -> PathBuf {
        let p = to.join(name);
        std::fs::copy(testdata().join("documents").join(name), &p).unwrap();
        p
    }

    fn image(&self, name: &str) -> PathBuf {
        testdata().join("images").join(name)
    }
}

fn pyhanko_validate(pdf: &Path, root: &Path) -> String {
    let mut cmd = pyhanko();
    cmd.args(["sign", "validate", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(pdf);
    let out = run(&mut cmd);
    assert!(out.status.success(), "pyHanko: {}", describe(&cmd, &out));
    String::from_utf8(out.stdout).unwrap()
}

fn adesverify(pdf: &Path, root: &Path) -> String {
    let mut cmd = pyhanko();
    cmd.args(["sign", "adesverify", "--trust"])
        .arg(root)
        .arg("--trust-replace")
        .arg(pdf);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "pyHanko adesverify: {}",
        describe(&cmd, &out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn qpdf_check(pdf: &Path) {
    let mut cmd = peer("KYSO_QPDF", "qpdf");
    cmd.arg("--check").arg(pdf);
    let out = run(&mut cmd);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("No syntax or stream encoding errors"),
        "{}",
        describe(&cmd, &out)
    );
}

fn pdfsig_valid(pdf: &Path) -> usize {
    let mut cmd = peer("KYSO_PDFSIG", "pdfsig");
    cmd.arg(pdf);
    let out = run(&mut cmd);
    String::from_utf8_lossy(&out.stdout)
        .matches("Signature Validation: Signature is Valid.")
        .count()
}

fn starts_with_file(longer: &Path, prefix: &Path) -> bool {
    let mut a = Vec::new();
    std::fs::File::open(longer)
        .unwrap()
        .read_to_end(&mut a)
        .unwrap();
    let b = std::fs::read(prefix).unwrap();
    a.starts_with(&b)
}

#[test]
fn leader_b_lt_then_seal_b_lta() {
    let fx = fixture();
    let dir = fx.scratch("leader-seal");
    let input = fx.copy_document("quyet-dinh.pdf", &dir);
    let leader = dir.join("leader.pdf");
    let out = success(
        kyso(&fx.data)
            .arg("sign")
            .arg(&input)
            .args(["--key", "leader", "--image"])
            .arg(fx.image("signature-blue.png"))
            .args([
                "--tsa",
                &fx.tsa(),
                "--level",
                "b-lt",
                "--reason",
                "Ký ban hành",
                "--out",
            ])
            .arg(&leader),
    );
    assert!(
        out.contains("PAdES B-LT") && out.contains("Signature1"),
        "{out}"
    );
    let sealed = dir.join("sealed.pdf");
    success(
        kyso(&fx.data)
            .arg("sign")
            .arg(&leader)
            .args(["--key", "seal", "--role", "seal", "--image"])
            .arg(fx.image("seal-red.png"))
            .args(["--tsa", &fx.tsa(), "--level", "b-lta", "--out"])
            .arg(&sealed),
    );
    assert!(starts_with_file(&leader, &input));
    assert!(starts_with_file(&sealed, &leader));
    qpdf_check(&sealed);
    let summary = pyhanko_validate(&sealed, &fx.root);
    let valid = summary
        .lines()
        .filter(|l| l.contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"))
        .count();
    assert_eq!(valid, 2, "{summary}");
    assert_eq!(pdfsig_valid(&sealed), 2);
    let ades = adesverify(&sealed, &fx.root);
    for field in ["Signature1", "Signature2"] {
        let line = ades
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("{field} missing: {ades}"));
        // The leader's signature is followed by the seal (form filling), the seal's by
        // DSS and document time-stamp updates.
        let extended = if field == "Signature1" {
            "EXTENDED_WITH_FORM_FILLING"
        } else {
            "EXTENDED_WITH_LTA_UPDATES"
        };
        assert!(
            line.contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                && line.contains(extended)
                && line.contains("ACCEPTABLE_MODIFICATIONS"),
            "{line}"
        );
    }
    // kyso's own verdict on the Decree 30 flow: plain valid, without warnings — the
    // seal over the left third of the leader's signature is expected, not a change to
    // report (it is listed as an expected overlap).
    let verify = |extra: &[&str]| {
        success(
            kyso(&fx.data)
                .arg("verify")
                .arg(&sealed)
                .arg("--trust")
                .arg(&fx.root)
                .args(extra),
        )
    };
    let text = verify(&[]);
    assert!(text.contains("Kết luận: HỢP LỆ ✓"), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("Lưu ý:")),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&verify(&["--json"])).unwrap();
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(v["warnings"], serde_json::json!([]), "{v:#}");
    let overlaps = v["signatures"][0]["overlaps"].as_array().unwrap();
    assert!(
        !overlaps.is_empty() && overlaps.iter().all(|o| o["expected"] == true),
        "{v:#}"
    );
}

#[test]
fn attachment_copy_and_extend() {
    let fx = fixture();
    let dir = fx.scratch("attachment");
    let input = fx.copy_document("phu-luc.pdf", &dir);
    let out = success(kyso(&fx.data).arg("sign").arg(&input).args([
        "--key",
        "seal",
        "--role",
        "attachment",
        "--notation",
        "15/QĐ-STTTT",
    ]));
    // Default output name, never over the input.
    let signed = dir.join("phu-luc.signed.pdf");
    assert!(signed.is_file(), "{out}");
    assert!(out.contains("Số: 15/QĐ-STTTT; "), "{out}");
    let mut cmd = peer("KYSO_PDFTOTEXT", "pdftotext");
    cmd.args(["-enc", "UTF-8", "-f", "1", "-l", "1"])
        .arg(&signed)
        .arg("-");
    let text = success(&mut cmd);
    let info = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("dòng thông tin / info line: "))
        .unwrap();
    assert!(text.contains(info), "{info:?} not in {text}");
    assert!(info.ends_with("+07:00"), "{info}");
    qpdf_check(&signed);
    assert!(pyhanko_validate(&signed, &fx.root).contains(":INTACT:TRUSTED,UNTOUCHED"));

    // Signing again without --force refuses to overwrite.
    let again = run(kyso(&fx.data).arg("sign").arg(&input).args([
        "--key",
        "seal",
        "--role",
        "attachment",
        "--notation",
        "1/X",
    ]));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    // A copy (RSA leader key, just to cover RSA through the CLI), then extend B-B → B-LTA.
    let copy_in = fx.copy_document("ban-sao-scan.pdf", &dir);
    let copy = dir.join("copy.pdf");
    success(
        kyso(&fx.data)
            .arg("sign")
            .arg(&copy_in)
            .args([
                "--key",
                "leader-rsa",
                "--role",
                "copy",
                "--copy-form",
                "sao-y",
                "--out",
            ])
            .arg(&copy),
    );
    let refused = run(kyso(&fx.data)
        .arg("extend")
        .arg(&copy)
        .args(["--level", "b-lt"]));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("b-lta"));
    let before = std::fs::read(&copy).unwrap();
    success(
        kyso(&fx.data)
            .arg("extend")
            .arg(&copy)
            .args(["--level", "b-lta", "--tsa", &fx.tsa()]),
    );
    let after = std::fs::read(&copy).unwrap();
    assert!(after.starts_with(&before) && after.len() > before.len());
    qpdf_check(&copy);
    // Pillow's xref (generation 65536 on the free head) needs pyHanko's lenient reader.
    let mut cmd = pyhanko();
    cmd.args(["sign", "adesverify", "--no-strict-syntax", "--trust"])
        .arg(&fx.root)
        .arg("--trust-replace")
        .arg(&copy);
    let o = run(&mut cmd);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Signature1:")
            && text.contains(":INTACT:TRUSTED")
            && text.contains("ACCEPTABLE_MODIFICATIONS"),
        "{}",
        describe(&cmd, &o)
    );
}

#[test]
fn pdf_errors_are_clear() {
    let fx = fixture();
    let dir = fx.scratch("errors");
    let input = fx.copy_document("cong-van.pdf", &dir);
    let cases: [(&[&str], &str); 4] = [
        (&["--level", "b-t"], "--tsa"),
        (&["--role", "leader"], "PNG"),
        (&["--anchor", "Không Có Ai", "--image", "IMG"], "not found"),
        (&["--role", "copy"], "copy form"),
    ];
    for (flags, expect) in cases {
        let mut cmd = kyso(&fx.data);
        cmd.arg("sign")
            .arg(&input)
            .args(["--key", "leader", "--out"])
            .arg(dir.join("x.pdf"));
        for f in flags {
            if *f == "IMG" {
                cmd.arg(fx.image("signature-blue.png"));
            } else {
                cmd.arg(f);
            }
        }
        let out = run(&mut cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&cmd, &out));
        assert!(stderr.contains(expect), "{flags:?}: {stderr}");
    }
    // Encrypted input.
    let encrypted = dir.join("encrypted.pdf");
    let mut q = peer("KYSO_QPDF", "qpdf");
    q.args(["--encrypt", "", "owner", "256", "--"])
        .arg(&input)
        .arg(&encrypted);
    success(&mut q);
    let out = run(kyso(&fx.data)
        .arg("sign")
        .arg(&encrypted)
        .args(["--key", "leader"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("encrypted"));
}
