#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! A property of `kyso archive import DIR` under careless and hostile use (tracker issue
//! 10): over a random folder (a fixed seed: the same folder on every run) of valid
//! signed PDFs, invalid ones (a byte flipped inside the signed range), unsigned ones,
//! PDFs signed under a CA that is not trusted, documents sharing a number, a symbolic
//! link to a file outside the folder and huge sparse files, the import is killed with
//! SIGKILL at evenly spread moments, then run to completion. Afterwards:
//!
//! - `kyso archive check` is clean (after every kill too);
//! - every file is either filed exactly once, with its verification report, or listed
//!   in the import's `--json` report as refused or skipped with its reason (in both
//!   languages) — whatever the acceptance policy decides about unsigned and untrusted
//!   documents;
//! - the archive holds exactly what an uninterrupted import of the same folder holds;
//! - nothing outside the folder was read: the link's target is not archived.
//!
//! Signed PDFs are made by the `kyso` binary itself: a CA from `kyso ca init`, its TSA
//! and CRL from `kyso ca serve` on loopback (during setup only), PAdES B-LT so the
//! offline import finds the revocation data in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const PASSPHRASE: &str = "mat-khau-thu-nghiem";
const SEED: u64 = 0x6b79_736f_0010;
/// The huge `.pdf`: above the default PDF limit (256 MiB), sparse.
const HUGE_PDF: u64 = 300 << 20;
/// The huge file of another kind: 1 GiB, sparse.
const HUGE_OTHER: u64 = 1 << 30;

/// splitmix64: a small deterministic generator (the folder is the same on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

use kyso_testkit::cli::{describe, ok};

/// `kyso` for the office of the test agency, its CA and keystore passphrases set, cheap scrypt.
fn kyso(data: &Path) -> Command {
    let mut c = kyso_testkit::cli::office(env!("CARGO_BIN_EXE_kyso"), data);
    c.env("KYSO_PASSPHRASE", PASSPHRASE)
        .env("KYSO_CA_PASSPHRASE", PASSPHRASE)
        .env("KYSO_SCRYPT_LOG_N", "10");
    c
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(bytes))
}

/// A one-page PDF whose text reads like an ND30 first page.
fn letter(number: u32, subject: &str) -> Vec<u8> {
    let number = format!("Số: {number}/SNV-VP");
    kyso_office::text_pdf(&[&number, "Cần Thơ, ngày 02 tháng 3 năm 2025", subject]).unwrap()
}

/// `kyso ca serve`, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The signers: a trusted CA (served on loopback for its TSA and CRL while the
/// documents are signed) and an untrusted one, keys in `keys`.
struct Signers {
    keys: PathBuf,
    base: String,
    root: PathBuf,
}

impl Signers {
    fn new(dir: &Path) -> (Self, Server) {
        let keys = dir.join("keys");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let base = format!("http://127.0.0.1:{port}");
        for (ca, name, url) in [
            ("ca", "CA tin cậy", base.as_str()),
            ("ca-la", "CA không tin cậy", "http://127.0.0.1:9"),
        ] {
            let ca = dir.join(ca);
            ok(kyso(&keys).args(["ca", "init", "--ca"]).arg(&ca).args([
                "--name",
                name,
                "--base-url",
                url,
            ]));
        }
        for (ca, key) in [("ca", "leader"), ("ca-la", "stranger")] {
            ok(kyso(&keys)
                .args(["ca", "issue", "--ca"])
                .arg(dir.join(ca))
                .args([
                    "--profile",
                    "person",
                    "--name",
                    key,
                    "--cn",
                    "Nguyễn Văn Hùng",
                    "--key-type",
                    "p256",
                ]));
        }
        let serve = kyso(&keys)
            .args(["ca", "serve", "--ca"])
            .arg(dir.join("ca"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server(serve);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "ca serve");
            std::thread::sleep(Duration::from_millis(50));
        }
        (
            Self {
                keys,
                root: dir.join("ca/root.crt.pem"),
                base,
            },
            server,
        )
    }

    /// `pdf` signed by `key`: the trusted leader as PAdES B-LT, the stranger as B-B.
    fn sign(&self, scratch: &Path, pdf: &[u8], key: &str) -> Vec<u8> {
        let input = scratch.join(format!("{}.pdf", sha256(pdf)));
        let output = scratch.join(format!("{}.signed.pdf", sha256(pdf)));
        std::fs::write(&input, pdf).unwrap();
        let mut c = kyso(&self.keys);
        c.args(["sign", "--key", key, "--out"]).arg(&output);
        if key == "leader" {
            c.args(["--level", "b-lt", "--tsa", &format!("{}/tsa", self.base)]);
        }
        ok(c.arg(&input));
        std::fs::read(output).unwrap()
    }
}

/// The last `/ByteRange [a b c d]` of a signed PDF.
fn byte_range(pdf: &[u8]) -> [usize; 4] {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").unwrap();
    let open = at + text[at..].find('[').unwrap();
    let close = open + text[open..].find(']').unwrap();
    let v: Vec<usize> = text[open + 1..close]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    [v[0], v[1], v[2], v[3]]
}

/// What a file of the folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Valid,
    Invalid,
    Unsigned,
    Untrusted,
    Duplicate,
    Link,
    HugePdf,
    HugeOther,
}

/// Builds the random folder `inbox` (and the link's target in `outside`): file name
/// relative to `inbox` → its kind. Returns also the bytes of the file outside.
fn folder(
    rng: &mut Rng,
    signers: &Signers,
    scratch: &Path,
    inbox: &Path,
    outside: &Path,
) -> (BTreeMap<String, Kind>, Vec<u8>, BTreeSet<u32>) {
    let mut plan = Vec::new();
    for (kind, lo, hi) in [
        (Kind::Valid, 3, 5),
        (Kind::Invalid, 1, 3),
        (Kind::Unsigned, 1, 3),
        (Kind::Untrusted, 1, 2),
        (Kind::Duplicate, 1, 2),
    ] {
        for _ in 0..rng.between(lo, hi) {
            plan.push(kind);
        }
    }
    // Shuffle (Fisher–Yates), so the kinds interleave in the import's order.
    for i in (1..plan.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        plan.swap(i, j);
    }
    let mut files = BTreeMap::new();
    let mut numbers = Vec::new();
    let mut shared = BTreeSet::new();
    for (i, kind) in plan.into_iter().enumerate() {
        let number = 100 + i as u32;
        let dir = if rng.below(3) == 0 {
            inbox.join("sub")
        } else {
            inbox.to_path_buf()
        };
        std::fs::create_dir_all(&dir).unwrap();
        let subject = format!("V/v thử nghiệm nhập kho số {i} ({:x})", rng.next());
        let bytes = match kind {
            Kind::Valid => {
                numbers.push(number);
                signers.sign(scratch, &letter(number, &subject), "leader")
            }
            Kind::Invalid => {
                let mut signed = signers.sign(scratch, &letter(number, &subject), "leader");
                let [a, b, _, _] = byte_range(&signed);
                let at = a + 16 + rng.below((b - a - 32) as u64) as usize;
                signed[at] ^= 0x20;
                signed
            }
            Kind::Unsigned => letter(number, &subject),
            Kind::Untrusted => signers.sign(scratch, &letter(number, &subject), "stranger"),
            // A number already used by another document of the folder (or a fresh one
            // when none is yet): the second holder of the number.
            Kind::Duplicate => {
                let n = if numbers.is_empty() {
                    number
                } else {
                    numbers[rng.below(numbers.len() as u64) as usize]
                };
                shared.insert(n);
                signers.sign(scratch, &letter(n, &subject), "leader")
            }
            _ => unreachable!(),
        };
        let name = format!("vb-{i:02}.pdf");
        std::fs::write(dir.join(&name), bytes).unwrap();
        let shown = if dir == inbox {
            name
        } else {
            format!("sub/{name}")
        };
        files.insert(shown, kind);
    }
    // A link to a valid signed document outside the folder.
    let secret = signers.sign(scratch, &letter(999, "V/v tài liệu bên ngoài"), "leader");
    std::fs::create_dir_all(outside).unwrap();
    std::fs::write(outside.join("mat.pdf"), &secret).unwrap();
    std::os::unix::fs::symlink(outside.join("mat.pdf"), inbox.join("lien-ket.pdf")).unwrap();
    files.insert("lien-ket.pdf".into(), Kind::Link);
    // Huge sparse files (no disk used): a PDF header then zeros, and any other file.
    for (name, head, size, kind) in [
        ("lon.pdf", &b"%PDF-1.7\n"[..], HUGE_PDF, Kind::HugePdf),
        ("lon.bin", &b"kyso"[..], HUGE_OTHER, Kind::HugeOther),
    ] {
        let mut f = std::fs::File::create(inbox.join(name)).unwrap();
        f.write_all(head).unwrap();
        f.set_len(size).unwrap();
        files.insert(name.into(), kind);
    }
    (files, secret, shared)
}

fn import(data: &Path, inbox: &Path) -> Command {
    let mut c = kyso(data);
    c.args(["archive", "import"])
        .arg(inbox)
        .args(["--incoming", "--offline", "--json"]);
    c
}

/// The archive's documents: SHA-256 of each original → how many times it is there,
/// each with its verification report checked present.
fn archived(data: &Path) -> BTreeMap<String, usize> {
    let list: serde_json::Value =
        serde_json::from_str(&ok(kyso(data).args(["archive", "list", "--json"]))).unwrap();
    let mut out = BTreeMap::new();
    for d in list.as_array().unwrap() {
        let dir = data
            .join("archive")
            .join(d["archive_dir"].as_str().unwrap());
        let bytes = std::fs::read(dir.join("document.pdf")).unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("verification.json")).unwrap())
                .unwrap_or_else(|e| panic!("{}: verification.json: {e}", dir.display()));
        assert!(
            report.get("verdict").is_some() || report.get("report").is_some(),
            "{}: {report}",
            dir.display()
        );
        *out.entry(sha256(&bytes)).or_insert(0) += 1;
    }
    out
}

/// `kyso archive check` finds nothing wrong, except the numbers the folder gives to
/// several documents on purpose (reported by the check as shared numbers, whose
/// documents are all filed: a clerk's matter, not an inconsistency).
fn check_clean(data: &Path, when: &str, shared: &BTreeSet<u32>) {
    let out = kyso(data).args(["archive", "check"]).output().unwrap();
    if out.status.success() {
        return;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = |line: &str| {
        line.contains("cùng mang số này")
            && shared
                .iter()
                .any(|n| line.contains(&format!("số {n}/SNV-VP (2025)")))
    };
    assert!(
        out.status.code() == Some(1) && text.lines().filter(|l| !l.trim().is_empty()).all(expected),
        "{when}: {}",
        describe(&out)
    );
}

#[cfg(unix)]
#[test]
fn import_of_a_hostile_folder_survives_sigkill() {
    let started = Instant::now();
    let tmp = TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let inbox = tmp.path().join("inbox");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&inbox).unwrap();
    let mut rng = Rng(SEED);
    let (files, secret, shared) = {
        let (signers, _server) = Signers::new(tmp.path());
        let made = folder(&mut rng, &signers, &scratch, &inbox, &outside);
        // The archive trusts the first CA only.
        let data_dirs = [tmp.path().join("data"), tmp.path().join("probe")];
        for d in &data_dirs {
            ok(kyso(d).args(["trust", "add"]).arg(&signers.root));
        }
        made
    };
    let setup = started.elapsed();

    // An uninterrupted import of the same folder: the reference, and the duration the
    // kills are spread over.
    let probe = tmp.path().join("probe");
    let t0 = Instant::now();
    let reference_out = import(&probe, &inbox).output().unwrap();
    let full = t0.elapsed().max(Duration::from_millis(200));
    let reference: serde_json::Value = serde_json::from_slice(&reference_out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&reference_out)));
    check_clean(&probe, "probe", &shared);

    // Kills at evenly spread moments of a full run (a fixed schedule), each followed by
    // a consistency check; a run that finishes before its kill shrinks the window.
    let data = tmp.path().join("data");
    const KILLS: u64 = 8;
    let mut kills = 0;
    let mut window = full;
    for k in 0..KILLS {
        let delay = window.mul_f64((k as f64 + 0.5) / KILLS as f64);
        let mut child = import(&data, &inbox)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(_) => window = window.mul_f64(2.0 / 3.0),
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        check_clean(&data, &format!("after kill {k} at {delay:?}"), &shared);
    }
    assert!(kills >= 3, "only {kills} kills landed (full run {full:?})");

    // Then to completion.
    let out = import(&data, &inbox).output().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    check_clean(&data, "after the completed run", &shared);

    let archive = archived(&data);
    let reference_archive = archived(&probe);
    // Each original at most once, and the same set as the uninterrupted import.
    assert!(archive.values().all(|&n| n == 1), "{archive:?}");
    assert_eq!(
        archive.keys().collect::<BTreeSet<_>>(),
        reference_archive.keys().collect::<BTreeSet<_>>(),
        "killed-and-resumed import differs from an uninterrupted one"
    );
    // Nothing outside the folder was archived.
    assert!(!archive.contains_key(&sha256(&secret)));

    // Every file of the folder: filed exactly once, or listed with its reason.
    let listed: BTreeMap<String, &serde_json::Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f))
        .collect();
    let reference_listed: BTreeMap<String, &serde_json::Value> = reference["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f))
        .collect();
    assert_eq!(
        listed.keys().collect::<BTreeSet<_>>(),
        files.keys().collect::<BTreeSet<_>>(),
        "{report:#}"
    );
    let mut filed = 0;
    for (name, kind) in &files {
        let entry = listed[name];
        let outcome = entry["outcome"].as_str().unwrap();
        eprintln!(
            "{name} ({kind:?}): {outcome} {}",
            entry["reason"]["en"].as_str().unwrap_or_default()
        );
        let reason = |e: &serde_json::Value| {
            let vi = e["reason"]["vi"].as_str().unwrap_or_default().to_string();
            let en = e["reason"]["en"].as_str().unwrap_or_default().to_string();
            assert!(
                !vi.is_empty() && !en.is_empty(),
                "{name} ({kind:?}): {outcome} without a reason: {e}"
            );
            en
        };
        let is_filed = match kind {
            Kind::Link | Kind::HugeOther | Kind::HugePdf => false,
            _ => {
                let bytes = std::fs::read(inbox.join(name)).unwrap();
                archive.get(&sha256(&bytes)).copied().unwrap_or(0) == 1
            }
        };
        match outcome {
            "stored" => assert!(is_filed, "{name}: stored but not in the archive"),
            // Filed by a killed run: reported as already archived now.
            "skipped" if is_filed => {
                assert!(reason(entry).contains("already archived"), "{entry}");
            }
            "skipped" | "failed" => {
                reason(entry);
                assert!(!is_filed, "{name} ({kind:?}) archived yet {outcome}");
            }
            other => panic!("{name}: outcome {other}"),
        }
        // The uninterrupted import decided the same.
        let reference_entry = reference_listed[name];
        let reference_filed = reference_entry["outcome"] == "stored";
        assert_eq!(
            is_filed, reference_filed,
            "{name} ({kind:?}): {entry} vs uninterrupted {reference_entry}"
        );
        // What must never be filed.
        match kind {
            Kind::Invalid | Kind::Link | Kind::HugePdf | Kind::HugeOther => {
                assert!(!is_filed, "{name} ({kind:?}) was filed: {entry}")
            }
            Kind::Valid => assert!(is_filed, "{name}: a valid document was not filed: {entry}"),
            // Unsigned / untrusted / duplicate numbers: filed (received) or refused with
            // a reason, as the acceptance policy decides; both are checked above.
            _ => {}
        }
        if is_filed {
            filed += 1;
        }
        if *kind == Kind::Link {
            assert_eq!(outcome, "skipped", "{entry}");
        }
    }
    assert_eq!(filed, archive.len(), "an archived document is no file's");
    // A last run files nothing new.
    let again: serde_json::Value =
        serde_json::from_slice(&import(&data, &inbox).output().unwrap().stdout).unwrap();
    assert_eq!(again["stored"], 0, "{again:#}");
    eprintln!(
        "import of {} entries survived {kills} SIGKILLs (setup {setup:?}, full run {full:?}, total {:?})",
        files.len(),
        started.elapsed()
    );
}
