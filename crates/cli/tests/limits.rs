#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! `kyso sign` and `kyso verify` on huge inputs (tracker issue 10): a 1 GiB sparse file
//! (no disk used) named `.pdf` holding zeros, or a `%PDF-1.7` header then zeros, is
//! refused before it is read — a clear error naming the file, its size, the limit and
//! `--max-size` — and a 1 GiB file of any other kind is signed (detached CAdES) and
//! verified by streaming. Each run's peak resident memory is measured
//! (`/usr/bin/time -v`, else the child's VmHWM polled) and must stay far below the
//! file's size.
//!
//! The figures in README.md ("Peak memory on huge inputs") come from
//! `cargo test -p kyso-cli --test limits -- --nocapture`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const PASSPHRASE: &str = "mat-khau-thu-nghiem";
const GIB: u64 = 1 << 30;
/// What a run may take at most, far below the 1 GiB input.
const MAX_RSS_KIB: u64 = 200 * 1024;

use kyso_testkit::cli::describe;

/// `kyso` on `data`, its CA and keystore passphrases set, cheap scrypt.
fn kyso(data: &Path) -> Command {
    let mut c = kyso_testkit::cli::command(env!("CARGO_BIN_EXE_kyso"), data);
    c.env("KYSO_PASSPHRASE", PASSPHRASE)
        .env("KYSO_CA_PASSPHRASE", PASSPHRASE)
        .env("KYSO_SCRYPT_LOG_N", "10");
    c
}

/// A data directory with a keystore entry `leader` issued by `kyso ca init/issue`.
fn fixture() -> &'static (PathBuf, PathBuf) {
    static F: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("kyso-limits-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let data = dir.join("data");
        let ca = dir.join("ca");
        for args in [
            vec![
                "ca",
                "init",
                "--ca",
                ca.to_str().unwrap(),
                "--name",
                "CA thử nghiệm",
                "--base-url",
                "http://127.0.0.1:9",
            ],
            vec![
                "ca",
                "issue",
                "--ca",
                ca.to_str().unwrap(),
                "--profile",
                "person",
                "--name",
                "leader",
                "--cn",
                "Nguyễn Văn Hùng",
                "--key-type",
                "p256",
            ],
        ] {
            let out = kyso(&data).args(&args).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", describe(&out));
        }
        (dir, data)
    })
}

/// A sparse file of `size` bytes starting with `head` (the rest reads as zeros and
/// takes no disk).
fn sparse(path: &Path, head: &[u8], size: u64) -> PathBuf {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(size).unwrap();
    path.to_path_buf()
}

/// Runs `cmd` and measures its peak resident set size in KiB.
fn run_measured(cmd: &Command) -> (Output, u64) {
    let time = Path::new("/usr/bin/time");
    if time.exists() {
        let report = tempfile::NamedTempFile::new().unwrap();
        let mut c = Command::new(time);
        c.arg("-v")
            .arg("-o")
            .arg(report.path())
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdin(Stdio::null());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        let out = c.output().unwrap();
        let text = std::fs::read_to_string(report.path()).unwrap();
        let kib = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes):")
                    .map(|v| v.trim().parse::<u64>().unwrap())
            })
            .unwrap_or_else(|| panic!("no maximum RSS in /usr/bin/time's report:\n{text}"));
        return (out, kib);
    }
    // No GNU time: poll the child's high-water mark while it runs (a lower bound,
    // sampled every 5 ms).
    let mut c = Command::new(cmd.get_program());
    c.args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let child = c.spawn().unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&status)
                    && let Some(kib) = text.lines().find_map(|l| {
                        l.strip_prefix("VmHWM:")
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    })
                {
                    peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.join().unwrap();
    (out, peak.load(std::sync::atomic::Ordering::Relaxed))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Runs `cmd`, reports the figure, checks the memory bound; returns the output.
fn measured(what: &str, cmd: &Command) -> Output {
    let (out, kib) = run_measured(cmd);
    eprintln!(
        "peak memory: {what}: {} (exit {:?})",
        mib(kib),
        out.status.code()
    );
    assert!(
        kib < MAX_RSS_KIB,
        "{what}: peak RSS {} ≥ {}\n{}",
        mib(kib),
        mib(MAX_RSS_KIB),
        describe(&out)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_huge_file_named_pdf_holding_zeros_is_not_read() {
    let (_, data) = fixture();
    // The huge files go with the test (sparse: no disk used while they exist).
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path();
    let file = sparse(&dir.join("zeros.pdf"), b"", GIB);

    let mut sign = kyso(data);
    sign.args(["sign", "--key", "leader", "--no-embed-revocation"])
        .arg(&file);
    let out = measured("kyso sign zeros.pdf (1 GiB of zeros)", &sign);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("không phải tệp PDF") && err.contains("is not a PDF"),
        "{err}"
    );
    assert!(err.contains("zeros.pdf") && err.contains("%PDF-"), "{err}");
    let vi = err.find("không phải").unwrap();
    assert!(
        vi < err.find("is not a PDF").unwrap(),
        "Vietnamese first: {err}"
    );
    assert!(!dir.join("zeros.signed.pdf").exists());

    // No %PDF- header: not verified as a PDF; without zeros.pdf.p7s it is unsigned.
    let mut verify = kyso(data);
    verify.args(["verify", "--offline"]).arg(&file);
    let out = measured("kyso verify zeros.pdf (1 GiB of zeros)", &verify);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CHƯA ĐƯỢC KÝ"), "{text}");
}

#[test]
fn a_huge_pdf_is_refused_with_the_limit_and_how_to_raise_it() {
    let (_, data) = fixture();
    // The huge files go with the test (sparse: no disk used while they exist).
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path();
    let file = sparse(&dir.join("huge.pdf"), b"%PDF-1.7\n", GIB);

    let check = |what: &str, out: &Output| {
        assert_eq!(out.status.code(), Some(2), "{what}: {}", describe(out));
        let err = stderr(out);
        for needle in [
            "huge.pdf",
            "quá lớn",
            "1 GiB (1073741824 byte)",
            "giới hạn 256 MiB",
            "--max-size",
            "KYSO_MAX_PDF_SIZE",
            "too large",
        ] {
            assert!(err.contains(needle), "{what}: no {needle:?} in {err}");
        }
        assert!(
            err.find("quá lớn").unwrap() < err.find("too large").unwrap(),
            "Vietnamese first: {err}"
        );
    };

    let mut sign = kyso(data);
    sign.args(["sign", "--key", "leader", "--no-embed-revocation"])
        .arg(&file);
    let out = measured("kyso sign huge.pdf (%PDF-1.7 + 1 GiB)", &sign);
    check("sign", &out);
    assert!(!dir.join("huge.signed.pdf").exists());

    let mut verify = kyso(data);
    verify.args(["verify", "--offline"]).arg(&file);
    let out = measured("kyso verify huge.pdf (%PDF-1.7 + 1 GiB)", &verify);
    check("verify", &out);

    let mut extend = kyso(data);
    extend.args(["extend", "--level", "b-lt"]).arg(&file);
    let out = measured("kyso extend huge.pdf (%PDF-1.7 + 1 GiB)", &extend);
    check("extend", &out);

    // A lower limit by flag or environment applies to small files too.
    let small = dir.join("small.pdf");
    sparse(&small, b"%PDF-1.7\n", 3 << 20);
    let out = kyso(data)
        .args(["verify", "--offline", "--max-size", "1M"])
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("giới hạn 1 MiB"),
        "{}",
        describe(&out)
    );
    let out = kyso(data)
        .env("KYSO_MAX_PDF_SIZE", "2M")
        .args(["verify", "--offline"])
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("giới hạn 2 MiB"),
        "{}",
        describe(&out)
    );
    let out = kyso(data)
        .args(["verify", "--offline", "--max-size", "lots"])
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--max-size"), "{}", describe(&out));
}

#[test]
fn a_huge_other_file_is_signed_and_verified_streaming() {
    let (_, data) = fixture();
    // The huge files go with the test (sparse: no disk used while they exist).
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path();
    let file = sparse(&dir.join("huge.bin"), b"kyso", GIB);

    let mut sign = kyso(data);
    sign.args(["sign", "--key", "leader", "--no-embed-revocation"])
        .arg(&file);
    let out = measured("kyso sign huge.bin (1 GiB, detached CAdES)", &sign);
    assert!(out.status.success(), "{}", describe(&out));
    let p7s = dir.join("huge.bin.p7s");
    assert!(p7s.is_file());

    // The content is streamed through the digest; the verdict is whatever the trust
    // configuration makes it (the test CA is not a trust anchor here): what matters is
    // that the signature matches the content.
    let mut verify = kyso(data);
    verify.args(["verify", "--offline", "--json"]).arg(&file);
    let out = measured("kyso verify huge.bin (1 GiB, detached CAdES)", &verify);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    assert_eq!(report["signatures"][0]["integrity"], "passed", "{report:#}");

    // A huge .p7s is refused before it is read.
    let fake = sparse(&dir.join("fake.bin.p7s"), b"", GIB);
    std::fs::write(dir.join("fake.bin"), b"content").unwrap();
    let mut verify = kyso(data);
    verify.args(["verify", "--offline"]).arg(&fake);
    let out = measured("kyso verify fake.bin.p7s (1 GiB signature file)", &verify);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("quá lớn") && stderr(&out).contains("fake.bin.p7s"),
        "{}",
        describe(&out)
    );
}
