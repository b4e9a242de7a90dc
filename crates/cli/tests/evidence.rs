//! Evidence records (RFC 4998) end to end through the real binary, with real crypto: a
//! file signed with a short-lived certificate of the test PKI (kyso-testkit), archived
//! (validation material captured), sealed with one time-stamp of the loopback TSA, then
//! verified ten days later — after the certificate expired — valid with the evidence's
//! time as proof; without evidence the same verification is indeterminate; tampering
//! with the original, the material or the record is detected and named; sealing is
//! idempotent and repairs an interrupted run; time-stamp and hash-tree renewal keep the
//! record valid; `kyso evidence verify` verifies the files outside the archive.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kyso_store::Archive;
use kyso_store::sqlx::Executor;
use kyso_testkit::cli::{describe, text};
use kyso_testkit::pki::fixture;
use time::format_description::well_known::Rfc3339;

thread_local! {
    /// The PostgreSQL database of the running test, if any (SQLite otherwise).
    static DATABASE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn database() -> Option<String> {
    DATABASE.with(|d| d.borrow().clone())
}

fn kyso(data: &Path) -> Command {
    let mut c = kyso_testkit::cli::office(env!("CARGO_BIN_EXE_kyso"), data);
    if let Some(url) = database() {
        c.env("KYSO_DATABASE_URL", url);
    }
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    kyso(data).args(args).output().unwrap()
}

fn ok(data: &Path, args: &[&str]) -> String {
    kyso_testkit::cli::ok(kyso(data).args(args))
}

/// The one file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> PathBuf {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else if e.file_name() == name {
                return p;
            }
        }
    }
    panic!("no {name} under {}", dir.display())
}

/// The one file under `dir` whose name ends with `suffix`.
fn ending(dir: &Path, suffix: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else if e.file_name().to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "files ending with {suffix}: {found:?}");
    found.remove(0)
}

/// `kyso archive verify ID --at AT`: (success, text).
fn verify(data: &Path, id: &str, at: &str) -> (bool, String) {
    let out = run(data, &["archive", "verify", id, "--at", at]);
    let t = text(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        describe(&out)
    );
    (out.status.success(), t)
}

/// Changes `path` with `f`, runs `check`, puts the bytes back.
fn tampered(path: &Path, f: impl FnOnce(&mut Vec<u8>), check: impl FnOnce()) {
    let before = std::fs::read(path).unwrap();
    let mut bytes = before.clone();
    f(&mut bytes);
    std::fs::write(path, &bytes).unwrap();
    check();
    std::fs::write(path, &before).unwrap();
}

fn sql(data: &Path, statement: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let archive = Archive::open_data_dir(data, database().as_deref())
            .await
            .unwrap();
        archive
            .pool()
            .execute(kyso_store::sqlx::AssertSqlSafe(statement.to_string()))
            .await
            .unwrap();
        archive.close().await;
    });
}

/// Signs `text` with the short-lived certificate into `dir/name` + `.p7s`.
fn signed(dir: &Path, name: &str, body: &str) -> (PathBuf, PathBuf) {
    let file = dir.join(name);
    std::fs::write(&file, body).unwrap();
    let sig = dir.join(format!("{name}.p7s"));
    std::fs::write(&sig, fixture().short_lived.sign_detached(body.as_bytes())).unwrap();
    (file, sig)
}

fn add(data: &Path, file: &Path, sig: &Path, number: &str) -> String {
    let out = ok(
        data,
        &[
            "archive",
            "add",
            file.to_str().unwrap(),
            "--sig",
            sig.to_str().unwrap(),
            "--type",
            "QĐ",
            "--number",
            number,
            "--date",
            "2026-12-01",
            "--subject",
            "Về việc thử nghiệm bằng chứng lưu trữ",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["id"].as_i64().unwrap().to_string()
}

#[test]
fn an_archived_signature_stays_provable_after_its_certificate_expires() {
    scenario();
}

/// The same on PostgreSQL (migration 0009 and the evidence queries), when a test server
/// is configured (`KYSO_TEST_POSTGRES_URL`).
#[test]
fn an_archived_signature_stays_provable_on_postgresql() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(kyso_testkit::postgres::database()) else {
        return;
    };
    DATABASE.with(|d| *d.borrow_mut() = Some(url));
    scenario();
}

fn scenario() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    ok(&data, &["trust", "add", f.root_pem.to_str().unwrap()]);

    let (file, sig) = signed(
        &src,
        "quyet-dinh.txt",
        "QUYẾT ĐỊNH số 5/QĐ-UBND — nội dung\n",
    );
    let id = add(&data, &file, &sig, "5/QĐ-UBND");
    let material = find(&data.join("archive"), "material.json");
    let captured: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&material).unwrap()).unwrap();
    assert_eq!(captured["format"], "kyso-validation-material/1");
    assert!(
        !captured["crls"].as_array().unwrap().is_empty(),
        "the CRL fetched on receipt was not captured: {captured}"
    );
    assert!(captured["certificates"].as_array().unwrap().len() >= 2);

    // Ten days on: the signer's certificate (two days) has expired.
    let later = (f.short_lived.not_after() + time::Duration::days(9))
        .format(&Rfc3339)
        .unwrap();
    let (valid, t) = verify(&data, &id, &later);
    assert!(!valid, "{t}");
    assert!(t.contains("CHƯA XÁC ĐỊNH ĐƯỢC"), "{t}");
    assert!(t.contains("chưa có bằng chứng lưu trữ"), "{t}");
    assert!(t.contains("expired_no_proof_of_time"), "{t}");

    // Seal: one time-stamp.
    let tsa = f.tsa_url();
    let out = ok(&data, &["archive", "evidence", "--tsa", &tsa]);
    assert!(
        out.contains("Đã niêm phong bằng chứng lưu trữ cho 1 văn bản"),
        "{out}"
    );
    let ers = find(&data.join("archive"), "evidence.ers");
    let out = ok(&data, &["archive", "evidence", "--tsa", &tsa]);
    assert!(out.contains("Không có văn bản nào chờ"), "{out}");

    let (valid, t) = verify(&data, &id, &later);
    assert!(valid, "{t}");
    assert!(
        t.contains("hợp lệ — được chứng minh tồn tại lúc") && t.contains("bởi bằng chứng lưu trữ"),
        "{t}"
    );
    assert!(t.contains("proven to exist at"), "{t}");
    let out = ok(&data, &["archive", "check"]);
    assert!(out.contains("nhất quán"), "{out}");
    let out = ok(&data, &["archive", "verify", &id, "--at", &later, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["evidence"]["verdict"], "valid", "{v}");
    assert!(v["evidence"]["proof_of_existence"].is_string(), "{v}");
    assert_eq!(v["evidence"]["stamps"].as_array().unwrap().len(), 1, "{v}");

    // Tampering, each detected and named.
    let original = find(&data.join("archive"), "document.txt");
    tampered(
        &original,
        |b| b[0] ^= 1,
        || {
            let (valid, t) = verify(&data, &id, &later);
            assert!(!valid, "{t}");
            assert!(t.contains("KHÔNG HỢP LỆ"), "{t}");
            assert!(
                t.contains("document.txt không còn là tệp đã lưu trữ"),
                "{t}"
            );
        },
    );
    tampered(
        &material,
        |b| b.extend_from_slice(b" "),
        || {
            let out = run(&data, &["archive", "check"]);
            assert!(!out.status.success(), "{}", describe(&out));
            assert!(
                text(&out).contains("không còn là dữ liệu xác minh thu thập khi lưu trữ"),
                "{}",
                describe(&out)
            );
            let (valid, t) = verify(&data, &id, &later);
            assert!(!valid, "{t}");
            assert!(
                t.contains("material.json không còn là dữ liệu xác minh"),
                "{t}"
            );
        },
    );
    tampered(
        &ers,
        |b| {
            // A byte in the first eighth of the record (inside its time-stamp token).
            let n = b.len();
            b[n / 8] ^= 0x55;
        },
        || {
            let (valid, t) = verify(&data, &id, &later);
            assert!(!valid, "{t}");
            assert!(t.contains("bằng chứng lưu trữ"), "{t}");
        },
    );
    let (valid, t) = verify(&data, &id, &later);
    assert!(valid, "restored: {t}");

    // Outside the archive, in a receiving archive without a kyso database.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let p7s = find(&data.join("archive"), "document.txt.p7s");
    let standalone = |files: [&Path; 4], extra: &[&str]| {
        let [file, p7s, material, ers] = files;
        kyso_testkit::cli::command(env!("CARGO_BIN_EXE_kyso"), &elsewhere)
            .args(["evidence", "verify"])
            .arg(file)
            .arg("--p7s")
            .arg(p7s)
            .arg("--material")
            .arg(material)
            .arg("--ers")
            .arg(ers)
            .args(["--trust", f.root_pem.to_str().unwrap(), "--at", &later])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = standalone([&original, &p7s, &material, &ers], &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out).contains("được chứng minh tồn tại lúc"));

    // A records file exported carries the evidence: verified from the export alone.
    ok(
        &data,
        &[
            "archive",
            "file",
            "create",
            "01.VP",
            "--year",
            "2026",
            "--title",
            "Hồ sơ bằng chứng lưu trữ",
        ],
    );
    let code = format!("{}.2026.01.VP", kyso_testkit::cli::AGENCY);
    ok(&data, &["archive", "file", "add", &code, &id]);
    let export = tmp.path().join("export");
    ok(
        &data,
        &[
            "archive",
            "export",
            &code,
            "--out",
            export.to_str().unwrap(),
        ],
    );
    let xml = std::fs::read_to_string(find(&export, "ho-so.xml")).unwrap();
    assert!(
        xml.contains(".txt.ers") && xml.contains(".txt.material.json"),
        "{xml}"
    );
    let exported =
        [".txt", ".txt.p7s", ".txt.material.json", ".txt.ers"].map(|e| ending(&export, e));
    let out = standalone(exported.each_ref().map(PathBuf::as_path), &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out).contains("được chứng minh tồn tại lúc"));

    // A revocation dated after the evidence's time does not touch what it proves; one
    // dated before it does.
    let with_crl = |crl: &[u8]| {
        let path = elsewhere.join("published-later.crl");
        std::fs::write(&path, crl).unwrap();
        let out = standalone(
            [&original, &p7s, &material, &ers],
            &["--crl", path.to_str().unwrap()],
        );
        (out.status.success(), text(&out))
    };
    let now = time::OffsetDateTime::now_utc();
    let (valid, t) = with_crl(&f.short_lived.revoked_crl(now + time::Duration::hours(12)));
    assert!(valid, "revoked after the proof of existence: {t}");
    let (valid, t) = with_crl(&f.short_lived.revoked_crl(now - time::Duration::hours(1)));
    assert!(!valid, "revoked before the proof of existence: {t}");
    assert!(t.contains("KHÔNG HỢP LỆ") && t.contains("(revoked)"), "{t}");

    // An interrupted sealing (record written, row not updated) is completed.
    let (file2, sig2) = signed(&src, "cong-van.txt", "CÔNG VĂN số 6/QĐ-UBND\n");
    let id2 = add(&data, &file2, &sig2, "6/QĐ-UBND");
    ok(&data, &["archive", "evidence", "--tsa", &tsa]);
    sql(
        &data,
        &format!(
            "UPDATE document SET evidence_state = 'waiting', evidence_time = NULL WHERE id = {id2}"
        ),
    );
    let out = ok(&data, &["archive", "evidence", "--tsa", &tsa]);
    assert!(out.contains("hoàn tất niêm phong dở dang"), "{out}");
    let (valid, t) = verify(&data, &id2, &later);
    assert!(valid, "{t}");

    // Renewal: the TSA's certificate expires within 400 days → time-stamp renewal;
    // then a hash-tree renewal to SHA-512. The record stays valid.
    let out = ok(
        &data,
        &["archive", "renew", "--tsa", &tsa, "--before", "400"],
    );
    assert!(
        out.contains("timestamp") && out.contains("2 văn bản"),
        "{out}"
    );
    let out = ok(&data, &["archive", "renew", "--tsa", &tsa, "--before", "1"]);
    assert!(
        out.contains("Không có bằng chứng lưu trữ nào cần gia hạn"),
        "{out}"
    );
    let out = ok(
        &data,
        &["archive", "renew", "--tsa", &tsa, "--hash", "sha512"],
    );
    assert!(out.contains("hash_tree:SHA-512"), "{out}");
    for id in [&id, &id2] {
        let (valid, t) = verify(&data, id, &later);
        assert!(valid, "after renewals: {t}");
    }
    let out = ok(&data, &["archive", "check"]);
    assert!(out.contains("nhất quán"), "{out}");
}

#[test]
fn kyso_serve_seals_waiting_originals_when_a_tsa_is_configured() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    ok(&data, &["trust", "add", f.root_pem.to_str().unwrap()]);
    let (file, sig) = signed(&src, "thong-bao.txt", "THÔNG BÁO số 7/QĐ-UBND\n");
    let id = add(&data, &file, &sig, "7/QĐ-UBND");
    let tsa = f.tsa_url();
    let _served = kyso_testkit::serve::spawn(
        kyso_testkit::cli::command(env!("CARGO_BIN_EXE_kyso"), &data).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--evidence-tsa",
            &tsa,
            // The test TSA's certificate lives a year: renewal due at once.
            "--evidence-renew-before",
            "400",
        ]),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let later = (f.short_lived.not_after() + time::Duration::days(9))
        .format(&Rfc3339)
        .unwrap();
    loop {
        let (valid, t) = verify(&data, &id, &later);
        if valid {
            assert!(t.contains("bởi bằng chứng lưu trữ"), "{t}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kyso serve did not seal within a minute: {t}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    // The same run renews it: a second time-stamp over the first, still valid.
    loop {
        let out = ok(&data, &["archive", "verify", &id, "--at", &later, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let stamps = v["evidence"]["stamps"].as_array().map_or(0, Vec::len);
        if stamps == 2 {
            assert_eq!(v["verdict"], "valid", "{v}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kyso serve did not renew within a minute: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn sealing_warns_when_this_installation_cannot_verify_the_time_stamp() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // No `kyso trust add`: the signature is indeterminate, kept on the clerk's reason.
    let (file, sig) = signed(&src, "to-trinh.txt", "TỜ TRÌNH số 8/QĐ-UBND\n");
    ok(
        &data,
        &[
            "archive",
            "add",
            file.to_str().unwrap(),
            "--sig",
            sig.to_str().unwrap(),
            "--type",
            "QĐ",
            "--number",
            "8/QĐ-UBND",
            "--accept-unverified",
            "chứng thư gốc chưa được cài đặt",
        ],
    );
    let out = run(&data, &["archive", "evidence", "--tsa", &f.tsa_url()]);
    assert!(out.status.success(), "{}", describe(&out));
    let t = text(&out);
    assert!(t.contains("Đã niêm phong"), "{t}");
    assert!(
        t.contains("cảnh báo") && t.contains("kyso trust add"),
        "no warning about an unverifiable time-stamp: {t}"
    );
}

/// A PDF signed by pyHanko (the repository's peer signer): the certificates of its
/// signature captured from the PDF, sealed and verified with its evidence.
#[test]
fn a_signed_pdf_is_sealed_and_verified_with_its_evidence() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, &["trust", "add", f.root_pem.to_str().unwrap()]);
    let draft = kyso_office::text_pdf(&[
        "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
        "Số: 09/UBND-VP",
        "Cần Thơ, ngày 04 tháng 3 năm 2025",
        "CÔNG VĂN",
        "V/v lưu trữ lâu dài",
    ])
    .unwrap();
    let pdf = tmp.path().join("cv09.pdf");
    std::fs::write(
        &pdf,
        kyso_testkit::pki::sign_bytes(&draft, "Sig1", kyso_testkit::pki::Who::Leader, &[]),
    )
    .unwrap();
    let out = ok(&data, &["archive", "add", pdf.to_str().unwrap(), "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let material: serde_json::Value = serde_json::from_slice(
        &std::fs::read(find(&data.join("archive"), "material.json")).unwrap(),
    )
    .unwrap();
    assert!(
        material["certificates"].as_array().unwrap().len() >= 2,
        "the PDF signature's certificates were not captured: {material}"
    );
    assert!(
        !material["crls"].as_array().unwrap().is_empty(),
        "{material}"
    );
    ok(&data, &["archive", "evidence", "--tsa", &f.tsa_url()]);
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&Rfc3339)
        .unwrap();
    let (valid, t) = verify(&data, &id, &at);
    assert!(valid && t.contains("bởi bằng chứng lưu trữ"), "{t}");
    let original = find(&data.join("archive"), "document.pdf");
    tampered(
        &original,
        |b| b.extend_from_slice(b"\n%"),
        || {
            let (valid, t) = verify(&data, &id, &at);
            assert!(!valid, "{t}");
            assert!(
                t.contains("document.pdf không còn là tệp đã lưu trữ"),
                "{t}"
            );
        },
    );
}
