//! `kyso archive` / `kyso register` through the real binary: the clerk's office end to
//! end, and crash safety by killing `kyso archive import` at random moments.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const AGENCY: &str = "000.00.00.H13";

fn kyso(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyso"));
    c.arg("--data")
        .arg(data)
        .env("KYSO_AGENCY_ID", AGENCY)
        .env("KYSO_AGENCY_NAME", "UBND thành phố Cần Thơ")
        .env_remove("KYSO_DATABASE_URL")
        .stdin(Stdio::null());
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    kyso(data).args(args).output().expect("run kyso")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "kyso {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-page PDF whose text reads like an ND30 first page.
fn letter(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, kyso_office::text_pdf(lines).unwrap()).unwrap();
    path
}

#[test]
fn clerk_office_end_to_end() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let files = tmp.path().join("in");
    std::fs::create_dir_all(&files).unwrap();

    // Numbering: one outgoing register for administrative documents, secret apart.
    let out = ok(
        &data,
        &[
            "register",
            "number",
            "--type",
            "CV",
            "--issuer",
            "UBND",
            "--unit",
            "VP",
            "--date",
            "2025-03-04",
            "--subject",
            "V/v lịch làm việc tuần 10",
        ],
    );
    assert!(out.contains("Số: 01/UBND-VP"), "{out}");
    let out = ok(
        &data,
        &[
            "register",
            "number",
            "--type",
            "TB",
            "--issuer",
            "UBND",
            "--date",
            "2025-03-05",
            "--subject",
            "Lịch làm việc",
            "--signer",
            "Nguyễn Văn A",
            "--recipient",
            "Sở Nội vụ",
        ],
    );
    assert!(out.contains("Số: 02/TB-UBND"), "{out}");
    let out = ok(
        &data,
        &[
            "register",
            "number",
            "--type",
            "QĐ",
            "--issuer",
            "UBND",
            "--secrecy",
            "mat",
            "--date",
            "2025-03-05",
            "--subject",
            "Mật",
        ],
    );
    assert!(out.contains("Số: 01/QĐ-UBND"), "{out}");

    // Policy: QĐ is not issued electronically by default; the administrator allows it.
    let refused = run(
        &data,
        &[
            "register",
            "number",
            "--type",
            "QĐ",
            "--issuer",
            "UBND",
            "--date",
            "2025-03-05",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("Quyết định") && err.contains("Decision"),
        "{err}"
    );
    ok(&data, &["register", "policy", "--set", "CV,BC,GM,TB,QĐ"]);
    let out = ok(
        &data,
        &[
            "register",
            "number",
            "--type",
            "QĐ",
            "--issuer",
            "UBND",
            "--date",
            "2025-03-06",
        ],
    );
    assert!(out.contains("Số: 03/QĐ-UBND"), "{out}");

    // A secret original is refused outright.
    let secret = letter(&files, "mat.pdf", &["Số: 02/QĐ-UBND", "QUYẾT ĐỊNH"]);
    let refused = run(
        &data,
        &[
            "archive",
            "add",
            secret.to_str().unwrap(),
            "--secrecy",
            "toi-mat",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("must not be signed"));

    // Archive an existing signed decision: number, type and date read from page 1.
    let qd = letter(
        &files,
        "qd15.pdf",
        &[
            "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
            "Số: 15/QĐ-UBND",
            "Cần Thơ, ngày 05 tháng 01 năm 2025",
            "QUYẾT ĐỊNH",
            "Về việc bổ nhiệm cán bộ",
        ],
    );
    let before = std::fs::read(&qd).unwrap();
    let out = ok(&data, &["archive", "add", qd.to_str().unwrap(), "--json"]);
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(record["metadata"]["CodeNumber"], "15");
    assert_eq!(record["metadata"]["CodeNotation"], "QĐ-UBND");
    assert_eq!(record["metadata"]["IssuedDate"], "2025-01-05");
    assert_eq!(record["metadata"]["Subject"], "Về việc bổ nhiệm cán bộ");
    assert_eq!(record["archive_dir"], "000.00.00.H13/2025/QĐ/15-QĐ-UBND");
    let stored = data.join("archive/000.00.00.H13/2025/QĐ/15-QĐ-UBND");
    assert_eq!(std::fs::read(stored.join("document.pdf")).unwrap(), before);
    assert_eq!(std::fs::read(&qd).unwrap(), before, "original untouched");
    assert!(stored.join("metadata.json").is_file());
    assert!(stored.join("verification.json").is_file());
    let qd_id = record["id"].as_i64().unwrap().to_string();

    // Incoming: arrival numbers.
    let den = letter(
        &files,
        "den.pdf",
        &[
            "Số: 120/SNV-VP",
            "Cần Thơ, ngày 02 tháng 3 năm 2025",
            "V/v báo cáo nhân sự",
        ],
    );
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            den.to_str().unwrap(),
            "--incoming",
            "--from",
            "Sở Nội vụ",
            "--date",
            "2025-03-03",
            "--json",
        ],
    );
    let incoming: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(incoming["metadata"]["ArrivalNumber"], 1);
    assert_eq!(incoming["metadata"]["ArrivalDate"], "2025-03-03");
    assert_eq!(incoming["metadata"]["IssuedDate"], "2025-03-02");
    assert_eq!(incoming["metadata"]["CodeNotation"], "SNV-VP");

    // Registers print as CSV and PDF.
    let csv = ok(
        &data,
        &["register", "print", "--year", "2025", "--format", "csv"],
    );
    assert!(csv.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐI"), "{csv}");
    assert!(csv.contains("01/UBND-VP") && csv.contains("02/TB-UBND") && csv.contains("03/QĐ-UBND"));
    assert!(
        !csv.contains("Mật"),
        "the secret series is its own register"
    );
    let secret_csv = ok(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--register",
            "secret",
        ],
    );
    assert!(
        secret_csv.contains("01/QĐ-UBND") && secret_csv.contains("MẬT"),
        "{secret_csv}"
    );
    let incoming_csv = ok(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--register",
            "incoming",
        ],
    );
    assert!(
        incoming_csv.contains("Số đến") && incoming_csv.contains("120/SNV-VP"),
        "{incoming_csv}"
    );
    let pdf = tmp.path().join("so-di.pdf");
    ok(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--format",
            "pdf",
            "--out",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));

    // Files (hồ sơ): create, file documents, list, export in chronological order.
    ok(
        &data,
        &[
            "archive",
            "file",
            "create",
            "01.VP",
            "--year",
            "2025",
            "--title",
            "Hồ sơ tổ chức cán bộ",
            "--heading",
            "I. Văn phòng",
        ],
    );
    ok(
        &data,
        &["archive", "file", "add", "01.VP", "--year", "2025", "4"],
    );
    ok(
        &data,
        &["archive", "file", "add", "000.00.00.H13.2025.01.VP", &qd_id],
    );
    let list = ok(&data, &["archive", "files", "--year", "2025"]);
    assert!(
        list.contains("DANH MỤC HỒ SƠ NĂM 2025") && list.contains("Hồ sơ tổ chức cán bộ"),
        "{list}"
    );
    let export = tmp.path().join("export");
    ok(
        &data,
        &[
            "archive",
            "export",
            "000.00.00.H13.2025.01.VP",
            "--out",
            export.to_str().unwrap(),
        ],
    );
    let folder = export.join("000.00.00.H13.2025.01.VP");
    let xml = std::fs::read_to_string(folder.join("ho-so.xml")).unwrap();
    // The decision (5 January) comes before the numbered decision (6 March).
    let first = xml.find("<CodeNumber>15</CodeNumber>").unwrap();
    let second = xml.find("<CodeNumber>03</CodeNumber>").unwrap();
    assert!(first < second, "{xml}");
    assert_eq!(
        std::fs::read(folder.join("001_15-QĐ-UBND.pdf")).unwrap(),
        before
    );
    assert!(
        std::fs::read(folder.join("muc-luc.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );

    // Lifecycle steps from the command line.
    let out = ok(
        &data,
        &["archive", "step", "6", "assign", "--note", "Phòng Tổ chức"],
    );
    assert!(out.contains("incoming:assigned"), "{out}");
    assert_eq!(
        run(&data, &["archive", "step", "6", "accept"])
            .status
            .code(),
        Some(2)
    );

    assert!(ok(&data, &["archive", "check"]).contains("consistent"));
    ok(&data, &["archive", "reindex"]);
}

/// Kill `kyso archive import` with SIGKILL at random moments, re-run it, and check after
/// every kill that the archive is consistent: each row has its original with the recorded
/// SHA-256, nothing half-written or stray is visible as a document, arrival numbers run
/// 1..N; finally every file is archived exactly once.
#[test]
fn import_survives_sigkill_at_any_moment() {
    const FILES: usize = 24;
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    let mut originals = Vec::new();
    for i in 1..=FILES {
        let dir = if i % 3 == 0 {
            inbox.join("sub")
        } else {
            inbox.clone()
        };
        let number = format!("Số: {}/SNV-VP", 100 + i);
        let subject = format!("V/v thử nghiệm lưu trữ số {i}");
        let path = letter(
            &dir,
            &format!("cv-{i:02}.pdf"),
            &[&number, "Cần Thơ, ngày 02 tháng 3 năm 2025", &subject],
        );
        originals.push(std::fs::read(&path).unwrap());
    }
    std::fs::write(inbox.join("ghi-chu.txt"), "not a document").unwrap();
    let import = |data: &Path| {
        let mut c = kyso(data);
        c.args([
            "archive",
            "import",
            inbox.to_str().unwrap(),
            "--incoming",
            "--offline",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };

    // How long an uninterrupted import takes here, to spread the kills over it.
    let probe = tmp.path().join("probe");
    let started = Instant::now();
    assert!(import(&probe).status().unwrap().code() == Some(0));
    let full = started.elapsed().max(Duration::from_millis(200));

    let mut kills = 0;
    let mut finished = false;
    // Short delays spread evenly over a window (a fixed permutation, no randomness):
    // each run gets a little further before it dies, so the kills land all along the
    // import (opening, verifying, staging, committing, renaming…). The probe's duration
    // depends on the machine's load at that moment: whenever an import finishes before
    // its kill, the window shrinks by a third, so that kills keep landing on a machine
    // that got faster since the probe (it once gave "only 4 kills landed" on a shared
    // machine).
    let mut window = (full.as_micros() / 12).max(1) as u64;
    for round in 0..80u64 {
        if kills >= 12 && finished {
            break;
        }
        let mut child = import(&data).spawn().unwrap();
        let delay = Duration::from_micros(window * ((round * 37) % 80) / 80);
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(status) => {
                assert_eq!(status.code(), Some(0), "round {round}");
                finished = true;
                window = (window * 2 / 3).max(1);
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        let check = run(&data, &["archive", "check"]);
        assert!(
            check.status.success(),
            "inconsistent after kill {kills} at {delay:?}:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    if !finished {
        assert_eq!(import(&data).status().unwrap().code(), Some(0));
    }
    assert!(kills >= 5, "only {kills} kills landed");
    // A last run archives nothing new.
    let again = kyso(&data)
        .args([
            "archive",
            "import",
            inbox.to_str().unwrap(),
            "--incoming",
            "--offline",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("stored: 0;"), "{text}");

    assert!(ok(&data, &["archive", "check"]).contains("consistent"));
    let list: serde_json::Value =
        serde_json::from_str(&ok(&data, &["archive", "list", "--json"])).unwrap();
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), FILES, "each file archived exactly once");
    let mut arrival: Vec<u64> = docs
        .iter()
        .map(|d| d["metadata"]["ArrivalNumber"].as_u64().unwrap())
        .collect();
    arrival.sort_unstable();
    assert_eq!(arrival, (1..=FILES as u64).collect::<Vec<_>>());
    // Every original byte-exact in the tree, nothing stray in staging.
    for d in docs {
        let dir = data
            .join("archive")
            .join(d["archive_dir"].as_str().unwrap());
        let bytes = std::fs::read(dir.join("document.pdf")).unwrap();
        assert!(originals.contains(&bytes));
    }
    let staging: Vec<_> = std::fs::read_dir(data.join("archive/.staging"))
        .unwrap()
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    // The search index holds no entry for a document that is not stored.
    let index = kyso_search::Index::open(&data.join("index")).unwrap();
    assert!(index.num_docs() <= FILES as u64);
    eprintln!("import survived {kills} SIGKILLs (full run {full:?})");
}
