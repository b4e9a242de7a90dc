//! `kyso archive` / `kyso register` through the real binary: the clerk's office end to
//! end, and crash safety by killing `kyso archive import` at random moments.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The clerk's reason for archiving the test's unsigned letters (`--accept-unverified`).
const UNSIGNED: &str = "bản chưa ký số, đã đối chiếu với bản giấy";

fn kyso(data: &Path) -> Command {
    kyso_testkit::cli::office(env!("CARGO_BIN_EXE_kyso"), data)
}

fn run(data: &Path, args: &[&str]) -> Output {
    kyso(data).args(args).output().expect("run kyso")
}

fn ok(data: &Path, args: &[&str]) -> String {
    kyso_testkit::cli::ok(kyso(data).args(args))
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
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            qd.to_str().unwrap(),
            "--json",
            "--accept-unverified",
            UNSIGNED,
        ],
    );
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
            "--accept-unverified",
            UNSIGNED,
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

    assert!(ok(&data, &["archive", "check"]).contains("nhất quán"));
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
            "--accept-unverified",
            UNSIGNED,
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
            "--accept-unverified",
            UNSIGNED,
            "--offline",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("Đã lưu: 0;"), "{text}");

    assert!(ok(&data, &["archive", "check"]).contains("nhất quán"));
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

/// `kyso archive import` names every file with its outcome and reason (Vietnamese, or
/// English with `--lang en`, or JSON), fails when a file failed, and never follows a
/// symbolic link out of the folder (nor at all without `--follow-symlinks`).
#[cfg(unix)]
#[test]
fn import_reports_each_file_and_keeps_to_its_folder() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let inbox = tmp.path().join("inbox");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let numbered = |dir: &Path, name: &str, n: u32| {
        let number = format!("Số: {n}/SNV-VP");
        let subject = format!("V/v thử nghiệm {n}");
        letter(
            dir,
            name,
            &[&number, "Cần Thơ, ngày 02 tháng 3 năm 2025", &subject],
        )
    };
    numbered(&inbox, "tot.pdf", 101);
    numbered(&inbox.join("sub"), "ben-trong.pdf", 102);
    let secret = numbered(&outside, "bi-mat.pdf", 103);
    std::fs::write(
        inbox.join("hong.pdf"),
        b"%PDF-1.7\nnot really a PDF\n%%EOF\n",
    )
    .unwrap();
    std::fs::write(inbox.join("ghi-chu.txt"), "not a document").unwrap();
    std::os::unix::fs::symlink(&secret, inbox.join("ngoai.pdf")).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("thu-muc-ngoai")).unwrap();
    std::os::unix::fs::symlink(inbox.join("sub/ben-trong.pdf"), inbox.join("lien-ket.pdf"))
        .unwrap();

    let import = |extra: &[&str]| {
        let mut args = vec![
            "archive",
            "import",
            inbox.to_str().unwrap(),
            "--incoming",
            "--accept-unverified",
            UNSIGNED,
            "--offline",
        ];
        args.extend_from_slice(extra);
        run(&data, &args)
    };
    let out = import(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file fails the run: {text}"
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {name}: ")))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"))
            .to_string()
    };
    assert!(
        line("tot.pdf").starts_with("✓ tot.pdf: đã lưu") && line("tot.pdf").contains("101/SNV-VP"),
        "{text}"
    );
    assert!(line("sub/ben-trong.pdf").contains("đã lưu"), "{text}");
    assert!(line("hong.pdf").starts_with("✗ hong.pdf: lỗi: "), "{text}");
    assert!(
        line("ghi-chu.txt").starts_with("– ghi-chu.txt: bỏ qua: không phải PDF"),
        "{text}"
    );
    for link in ["ngoai.pdf", "thu-muc-ngoai", "lien-ket.pdf"] {
        assert!(
            line(link).contains("bỏ qua: liên kết tượng trưng"),
            "{text}"
        );
    }
    assert!(text.contains("Đã lưu: 2; bỏ qua: 4; lỗi: 1"), "{text}");
    assert!(
        !text.contains("103/SNV-VP"),
        "the file outside was archived: {text}"
    );

    // English; links followed inside the folder only; already archived = skipped.
    let out = import(&["--lang", "en", "--follow-symlinks"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {name}: ")))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"))
            .to_string()
    };
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        line("tot.pdf").starts_with("– tot.pdf: skipped: already archived"),
        "{text}"
    );
    assert!(
        line("hong.pdf").starts_with("✗ hong.pdf: failed: "),
        "{text}"
    );
    assert!(line("ghi-chu.txt").contains("skipped: not a PDF"), "{text}");
    assert!(
        line("ngoai.pdf").contains("outside the imported folder"),
        "{text}"
    );
    assert!(
        line("thu-muc-ngoai").contains("outside the imported folder"),
        "{text}"
    );
    // The link inside leads to a file archived already.
    assert!(
        line("lien-ket.pdf").contains("skipped: already archived"),
        "{text}"
    );
    assert!(text.contains("Stored: 0; skipped: 6; failed: 1"), "{text}");

    // JSON for scripts.
    let out = import(&["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 1);
    let files = v["files"].as_array().unwrap();
    let hong = files.iter().find(|f| f["file"] == "hong.pdf").unwrap();
    assert_eq!(hong["outcome"], "failed");
    assert!(!hong["reason"]["vi"].as_str().unwrap().is_empty());
    assert!(!hong["reason"]["en"].as_str().unwrap().is_empty());
    let link = files.iter().find(|f| f["file"] == "ngoai.pdf").unwrap();
    assert_eq!(link["outcome"], "skipped");

    let list: serde_json::Value =
        serde_json::from_str(&ok(&data, &["archive", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // Only good files: exit 0, with the stored number on the line.
    let clean = tmp.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    numbered(&clean, "moi.pdf", 104);
    let out = run(
        &data,
        &[
            "archive",
            "import",
            clean.to_str().unwrap(),
            "--incoming",
            "--accept-unverified",
            UNSIGNED,
            "--offline",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["outcome"], "stored");
    assert_eq!(v["files"][0]["number"], "104/SNV-VP");
}

/// The data directory is 0700, the database and the archived originals 0600 (whatever
/// the caller's umask), and `kyso archive check` names a file others can read.
#[cfg(unix)]
#[test]
fn data_is_private_and_check_reports_open_files() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let files = tmp.path().join("in");
    std::fs::create_dir_all(&files).unwrap();
    let qd = letter(
        &files,
        "qd.pdf",
        &[
            "Số: 15/QĐ-UBND",
            "Cần Thơ, ngày 05 tháng 01 năm 2025",
            "QUYẾT ĐỊNH",
        ],
    );
    std::fs::set_permissions(&qd, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ok(
        &data,
        &[
            "archive",
            "add",
            qd.to_str().unwrap(),
            "--json",
            "--accept-unverified",
            UNSIGNED,
        ],
    );
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    let folder = data
        .join("archive")
        .join(record["archive_dir"].as_str().unwrap());
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("kyso.db")), 0o600);
    assert_eq!(mode(&folder.join("document.pdf")), 0o600);
    assert_eq!(mode(&folder), 0o700);
    let check = run(&data, &["archive", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let original = folder.join("document.pdf");
    std::fs::set_permissions(&original, std::fs::Permissions::from_mode(0o644)).unwrap();
    let check = run(&data, &["archive", "check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&original.display().to_string()) && text.contains("0644"),
        "{text}"
    );
}

/// Register numbers are numbers: a path, `..` or a line break is refused, in Vietnamese
/// and English, and nothing is stored.
#[test]
fn numbers_that_are_not_notations_are_refused() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let files = tmp.path().join("in");
    std::fs::create_dir_all(&files).unwrap();
    let qd = letter(
        &files,
        "qd.pdf",
        &["QUYẾT ĐỊNH", "Cần Thơ, ngày 05 tháng 01 năm 2025"],
    );
    for bad in ["/etc/passwd", "..", "15/QĐ-UBND\nSố: 16/QĐ-UBND"] {
        let out = run(
            &data,
            &[
                "archive",
                "add",
                qd.to_str().unwrap(),
                "--type",
                "QĐ",
                "--number",
                bad,
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(
            err.contains("số, ký hiệu văn bản không hợp lệ")
                && err.contains("invalid number and notation"),
            "{bad:?}: {err}"
        );
    }
    let list: serde_json::Value =
        serde_json::from_str(&ok(&data, &["archive", "list", "--json"])).unwrap();
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    ok(
        &data,
        &[
            "archive",
            "add",
            qd.to_str().unwrap(),
            "--type",
            "QĐ",
            "--number",
            "15/QĐ-UBND",
            "--accept-unverified",
            UNSIGNED,
        ],
    );
}

/// `--out` into a folder that does not exist is refused and creates nothing; `--out` a
/// folder (even with `--force`) leaves no temporary file behind.
#[test]
fn out_paths_are_not_invented() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let missing = tmp.path().join("nonexistent/dir/so.csv");
    let out = run(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--register",
            "outgoing",
            "--format",
            "csv",
            "--out",
            missing.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("không tồn tại") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!tmp.path().join("nonexistent").exists());

    let folder = tmp.path().join("a-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let out = run(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--register",
            "outgoing",
            "--format",
            "csv",
            "--out",
            folder.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is a folder"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A signer name that a spreadsheet would run as a formula is exported inert.
#[test]
fn register_csv_neutralises_formulas() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    ok(
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
            "=HYPERLINK(\"http://x\")",
            "--signer",
            "+cmd|calc",
        ],
    );
    let csv_path = tmp.path().join("so.csv");
    ok(
        &data,
        &[
            "register",
            "print",
            "--year",
            "2025",
            "--register",
            "outgoing",
            "--format",
            "csv",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    // The signer cell starts with `+`: neutralised. The subject cell starts with the
    // type name ("Công văn: =HYPERLINK…"), so it is no formula and stays as it is.
    assert!(csv.contains(",\"'+cmd|calc\","), "{csv}");
    assert!(!csv.contains(",+cmd"), "{csv}");
    assert!(
        csv.contains("\"Công văn: =HYPERLINK(\"\"http://x\"\")\""),
        "{csv}"
    );
}
