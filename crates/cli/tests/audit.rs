//! `kyso audit` through the real binary: events appended with the hidden `audit append`,
//! then the SQLite database (or an export) tampered with directly, and `kyso audit
//! verify` must exit 1 naming the problem; the untampered log verifies and its proofs
//! check out.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use der::Decode;
use kyso_audit::{TreeHead, leaf_hash, verify_consistency, verify_inclusion, verify_tree_head};
use kyso_store::Archive;
use kyso_store::sqlx::Executor;
use serde_json::Value;
use spki::SubjectPublicKeyInfoOwned;
use tempfile::TempDir;

use kyso_testkit::cli::text;

fn kyso(data: &Path) -> Command {
    kyso_testkit::cli::command(env!("CARGO_BIN_EXE_kyso"), data)
}

fn run(data: &Path, args: &[&str]) -> Output {
    kyso(data).args(args).output().expect("run kyso")
}

fn ok(data: &Path, args: &[&str]) -> String {
    kyso_testkit::cli::ok(kyso(data).args(args))
}

/// `kyso audit verify` with extra arguments: (exit code, stdout + stderr).
fn verify(data: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = run(data, &args);
    (out.status.code().unwrap_or(-1), text(&out))
}

fn append(data: &Path, n: usize) {
    let object = format!("000.00.00.H13/2026/{n}");
    let actor = format!("clerk {n}");
    let number = format!("so={n:02}/QĐ-UBND");
    let out = ok(
        data,
        &[
            "audit",
            "append",
            "--actor",
            &actor,
            "--action",
            "sign",
            "--object",
            &object,
            "--outcome",
            if n % 3 == 2 { "refused" } else { "succeeded" },
            "--detail",
            &number,
            "--detail",
            "reason=thử nghiệm",
        ],
    );
    assert!(out.contains(&format!("recorded entry {n}")), "{out}");
}

/// A data directory with a log of 8 entries (heads at sizes 1..=8).
fn logged(tmp: &TempDir, name: &str) -> PathBuf {
    let data = tmp.path().join(name);
    for n in 0..8 {
        append(&data, n);
    }
    data
}

fn public_key(data: &Path) -> SubjectPublicKeyInfoOwned {
    let pem = std::fs::read(data.join("audit/log-key.pub.pem")).unwrap();
    let (label, der) = der::pem::decode_vec(&pem).unwrap();
    assert_eq!(label, "PUBLIC KEY");
    SubjectPublicKeyInfoOwned::from_der(&der).unwrap()
}

fn hash(hex_text: &str) -> [u8; 32] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

/// Runs SQL statements on the data directory's SQLite database, as an intruder would.
fn tamper(data: &Path, statements: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let archive = Archive::open_data_dir(data, None).await.unwrap();
        for s in statements {
            archive
                .pool()
                .execute(kyso_store::sqlx::AssertSqlSafe(s.clone()))
                .await
                .unwrap();
        }
        archive.close().await;
    });
}

fn entry_json(data: &Path, position: u64) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let archive = Archive::open_data_dir(data, None).await.unwrap();
        let rows = archive.audit_rows(position, Some(1)).await.unwrap();
        archive.close().await;
        rows[0].json.clone()
    })
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[test]
fn intact_log_verifies_and_proves() {
    let tmp = TempDir::new().unwrap();
    let data = logged(&tmp, "data");

    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 8 entries, root"), "{out}");
    let (code, out) = verify(&data, &["--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["entries"], 8);
    assert_eq!(report["heads"], 8);

    // The key: private, never printed; the public half beside it.
    let key_path = data.join("audit/log-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_pem = std::fs::read_to_string(&key_path).unwrap();
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key = public_key(&data);

    // The latest head.
    let head: TreeHead = serde_json::from_str(ok(&data, &["audit", "head"]).trim()).unwrap();
    assert_eq!(head.size, 8);
    verify_tree_head(&head, &key).unwrap();

    // Listing.
    let listed = ok(&data, &["audit", "list", "--from", "2", "--limit", "3"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[0].starts_with("2\t") && lines[0].contains("clerk 2"));
    assert!(lines[0].contains("refused") && lines[0].contains("so=02/QĐ-UBND"));
    let listed: Value = serde_json::from_str(&ok(&data, &["audit", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 8);
    assert_eq!(listed[5]["details"]["reason"], "thử nghiệm");

    // Inclusion proof, checked independently.
    let proof: Value = serde_json::from_str(&ok(&data, &["audit", "prove", "--seq", "5"])).unwrap();
    let leaf = hash(proof["leaf_hash"].as_str().unwrap());
    assert_eq!(
        leaf,
        leaf_hash(proof["entry_json"].as_str().unwrap().as_bytes())
    );
    let path: Vec<[u8; 32]> = proof["audit_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    assert_eq!(proof["tree_size"], 8);
    assert!(verify_inclusion(&leaf, 5, 8, &path, &hash(&head.root)));
    assert!(!verify_inclusion(&leaf, 4, 8, &path, &hash(&head.root)));

    // Consistency proof from size 3.
    let proof: Value =
        serde_json::from_str(&ok(&data, &["audit", "prove", "--from-size", "3"])).unwrap();
    let steps: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    assert!(verify_consistency(
        3,
        8,
        &hash(proof["old_root"].as_str().unwrap()),
        &hash(&head.root),
        &steps
    ));

    // A witness at an earlier size stays consistent as the log grows.
    let witness = tmp.path().join("witness.json");
    std::fs::write(&witness, ok(&data, &["audit", "head"])).unwrap();
    append(&data, 8);
    let (code, out) = verify(&data, &["--witness", witness.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("consistent (8 entries)"), "{out}");

    // No output ever carries the private key.
    for args in [
        &["audit", "verify"][..],
        &["audit", "head"],
        &["audit", "list", "--json"],
    ] {
        let out = run(&data, args);
        let all = text(&out);
        assert!(!all.contains("PRIVATE KEY"), "{all}");
    }
}

#[test]
fn tampering_is_detected() {
    let tmp = TempDir::new().unwrap();

    // One entry's JSON changed (still canonical, so only the Merkle root tells).
    let data = logged(&tmp, "modified");
    let original = entry_json(&data, 3);
    let changed = original.replace("\"actor\":\"clerk 3\"", "\"actor\":\"mallory\"");
    assert_ne!(original, changed);
    tamper(
        &data,
        &[format!(
            "UPDATE audit_entry SET entry_json = {} WHERE position = 3",
            sql_text(&changed)
        )],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Mục 3 đã bị sửa / entry 3 modified"), "{out}");
    assert!(out.contains("audit log NOT intact"), "{out}");
    let (code, out) = verify(&data, &["--json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["intact"], false);
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "modified" && p["from"] == 3 && p["to"] == 4),
        "{report}"
    );

    // A middle entry deleted.
    let data = logged(&tmp, "deleted");
    tamper(
        &data,
        &["DELETE FROM audit_entry WHERE position = 4".into()],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Mục 4 đã bị xóa / entry 4 deleted"), "{out}");

    // Two entries swapped.
    let data = logged(&tmp, "swapped");
    let (two, five) = (entry_json(&data, 2), entry_json(&data, 5));
    tamper(
        &data,
        &[
            format!(
                "UPDATE audit_entry SET entry_json = {} WHERE position = 2",
                sql_text(&five)
            ),
            format!(
                "UPDATE audit_entry SET entry_json = {} WHERE position = 5",
                sql_text(&two)
            ),
        ],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("entries reordered: 5, 2 out of place"),
        "{out}"
    );

    // The last entries cut off, their heads kept.
    let data = logged(&tmp, "truncated");
    tamper(
        &data,
        &["DELETE FROM audit_entry WHERE position >= 6".into()],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("log truncated: a signed head covers 8 entries, only 6 present"),
        "{out}"
    );

    // A head forged: its root changed.
    let data = logged(&tmp, "forged");
    tamper(
        &data,
        &[
            "UPDATE audit_head SET head_json = REPLACE(head_json, '\"root\":\"', '\"root\":\"00') \
           WHERE size = 8"
                .to_string(),
        ],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signed head 7 (size 8) forged"), "{out}");

    // A row that is no longer JSON.
    let data = logged(&tmp, "unreadable");
    tamper(
        &data,
        &["UPDATE audit_entry SET entry_json = '{\"seq\":2,\"time\":' WHERE position = 2".into()],
    );
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry at position 2 unreadable"), "{out}");
    assert!(out.contains("entry 2 modified"), "{out}");
    // Listing still works and shows it.
    let listed = ok(&data, &["audit", "list"]);
    assert!(listed.contains("unreadable"), "{listed}");
}

#[test]
fn truncation_of_entries_and_heads_needs_a_witness() {
    let tmp = TempDir::new().unwrap();
    let data = logged(&tmp, "data");
    let early = tmp.path().join("head-4.json");
    let late = tmp.path().join("head-8.json");
    std::fs::write(&late, ok(&data, &["audit", "head"])).unwrap();
    // A witness of size 4, from a proof's head of an earlier state.
    let heads: Vec<TreeHead> = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let archive = Archive::open_data_dir(&data, None).await.unwrap();
            let rows = archive.audit_head_rows().await.unwrap();
            archive.close().await;
            rows.iter().map(|r| r.head().unwrap()).collect()
        })
    };
    std::fs::write(&early, serde_json::to_string(&heads[3]).unwrap()).unwrap();

    tamper(
        &data,
        &[
            "DELETE FROM audit_entry WHERE position >= 6".into(),
            "DELETE FROM audit_head WHERE size > 6".into(),
        ],
    );
    // On its own the shortened log is self-consistent…
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 6 entries"), "{out}");
    // …but not with the witness kept elsewhere.
    let (code, out) = verify(
        &data,
        &[
            "--witness",
            early.to_str().unwrap(),
            "--witness",
            late.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("log truncated: witness") && out.contains("covers 8 entries, only 6 present"),
        "{out}"
    );
    assert!(!out.contains("head-4.json"), "{out}");

    // Someone with root rewrites entry 1 (text and stored leaf hash) and drops every
    // head. kyso refuses to sign over that (fail closed)…
    let changed = entry_json(&data, 1).replace("\"actor\":\"clerk 1\"", "\"actor\":\"mallory\"");
    let leaf = hex::encode(leaf_hash(changed.as_bytes()));
    tamper(
        &data,
        &[
            format!(
                "UPDATE audit_entry SET entry_json = {}, leaf_hash = '{leaf}' WHERE position = 1",
                sql_text(&changed)
            ),
            "DELETE FROM audit_head".into(),
        ],
    );
    let refused = run(
        &data,
        &[
            "audit",
            "append",
            "--actor",
            "x",
            "--action",
            "y",
            "--object",
            "z",
            "--outcome",
            "succeeded",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("does not match its latest signed head"),
        "{}",
        text(&refused)
    );
    // …so they sign a fresh head themselves with the log key they can read: the log is
    // self-consistent again, and only the witness shows the rewrite.
    let key = {
        let pem = std::fs::read(data.join("audit/log-key.pem")).unwrap();
        let (_, der) = der::pem::decode_vec(&pem).unwrap();
        kyso_signer::SoftKey::from_pkcs8_der(&der, None).unwrap()
    };
    let leaves: Vec<kyso_audit::Hash> = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let archive = Archive::open_data_dir(&data, None).await.unwrap();
            let rows = archive.audit_rows(0, None).await.unwrap();
            archive.close().await;
            rows.iter()
                .map(|r| hex::decode(&r.leaf_hash).unwrap().try_into().unwrap())
                .collect()
        })
    };
    let time = heads.last().unwrap().time.clone();
    let forged_head =
        kyso_audit::sign_tree_head(&key, leaves.len() as u64, &kyso_audit::root(&leaves), &time)
            .unwrap();
    tamper(
        &data,
        &[format!(
            "INSERT INTO audit_head (size, head_json) VALUES ({}, {})",
            leaves.len(),
            sql_text(&serde_json::to_string(&forged_head).unwrap())
        )],
    );
    append(&data, 6);
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&data, &["--witness", early.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("log rewritten: the first 4 entries no longer match witness"),
        "{out}"
    );

    // A witness not signed by the log key.
    let mut forged = heads[3].clone();
    forged.root = heads[4].root.clone();
    let forged_path = tmp.path().join("forged.json");
    std::fs::write(&forged_path, serde_json::to_string(&forged).unwrap()).unwrap();
    let (code, out) = verify(&data, &["--witness", forged_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature invalid with the log key"), "{out}");
}

#[test]
fn export_verifies_offline_and_shows_tampering() {
    let tmp = TempDir::new().unwrap();
    let data = logged(&tmp, "data");
    let dir = tmp.path().join("export");
    let out = ok(&data, &["audit", "export", "--out", dir.to_str().unwrap()]);
    assert!(out.contains("8 entries"), "{out}");
    for f in [
        "entries.jsonl",
        "heads.jsonl",
        "log-key.pub.pem",
        "README.txt",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("kyso audit verify --export"));
    let entries = std::fs::read_to_string(dir.join("entries.jsonl")).unwrap();
    assert_eq!(entries.lines().count(), 8);
    assert_eq!(entries.lines().nth(3).unwrap(), entry_json(&data, 3));

    // Verified with no database at all.
    let elsewhere = tmp.path().join("inspector");
    let (code, out) = verify(&elsewhere, &["--export", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 8 entries"), "{out}");
    assert!(!elsewhere.join("kyso.db").exists());

    // One line of the export edited.
    let tampered = entries.replace("\"actor\":\"clerk 6\"", "\"actor\":\"mallory\"");
    assert_ne!(tampered, entries);
    std::fs::write(dir.join("entries.jsonl"), tampered).unwrap();
    let (code, out) = verify(&elsewhere, &["--export", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 6 modified"), "{out}");

    // A line removed.
    let removed: String = entries
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("entries.jsonl"), removed).unwrap();
    let (code, out) = verify(&elsewhere, &["--export", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 2 deleted"), "{out}");

    // Another key swapped in: every head fails.
    std::fs::write(dir.join("entries.jsonl"), &entries).unwrap();
    let other = tmp.path().join("other");
    append(&other, 0);
    std::fs::copy(
        other.join("audit/log-key.pub.pem"),
        dir.join("log-key.pub.pem"),
    )
    .unwrap();
    let (code, out) = verify(&elsewhere, &["--export", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("forged"), "{out}");
    // The inspector's own copy of the key still verifies it.
    let (code, out) = verify(
        &elsewhere,
        &[
            "--export",
            dir.to_str().unwrap(),
            "--key",
            data.join("audit/log-key.pub.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn concurrent_first_use_shares_one_key() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    // The database exists (its creation is not what is raced here); the key does not.
    ok(&data, &["audit", "list"]);
    assert!(!data.join("audit").exists());
    let children: Vec<_> = (0..4)
        .map(|n| {
            kyso(&data)
                .args([
                    "audit",
                    "append",
                    "--actor",
                    &format!("clerk {n}"),
                    "--action",
                    "login",
                    "--object",
                    "server",
                    "--outcome",
                    "succeeded",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let (code, out) = verify(&data, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 4 entries"), "{out}");
    let leftovers: Vec<_> = std::fs::read_dir(data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

/// Every `archive add` is an audit entry — a stored document with its verdict, a refused
/// file with the reason — and a second document under a number already archived is
/// refused (before, it was stored beside the first with a warning, and `archive check`
/// said "Kho lưu trữ nhất quán").
#[test]
fn archive_add_is_audited_and_a_number_is_archived_once() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let write = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let letter = |number: &str, subject: &str| {
        kyso_office::text_pdf(&[
            "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ",
            number,
            "Cần Thơ, ngày 05 tháng 01 năm 2025",
            "CÔNG VĂN",
            subject,
        ])
        .unwrap()
    };
    let first = write("a.pdf", &letter("Số: 05/UBND-VP", "Về việc thứ nhất"));
    let second = write("b.pdf", &letter("Số: 05/UBND-VP", "Về việc thứ hai"));
    let third = write("c.pdf", &letter("Số: 06/UBND-VP", "Về việc thứ ba"));
    let note = write("ghi-chu.txt", b"not a PDF and no .p7s");
    let add = |file: &Path| {
        run(
            &data,
            &[
                "archive",
                "add",
                "--agency-id",
                "000.00.00.H13",
                file.to_str().unwrap(),
                "--accept-unverified",
                "bản chưa ký số, đã đối chiếu với bản giấy",
            ],
        )
    };
    assert!(add(&first).status.success());
    let out = text(&add(&note));
    assert!(out.contains(".p7s"), "{out}");
    let refused = add(&second);
    let out = text(&refused);
    assert!(!refused.status.success(), "{out}");
    assert!(out.contains("05/UBND-VP") && out.contains("[1]"), "{out}");
    assert!(add(&third).status.success());

    let listed: Value = serde_json::from_str(&ok(&data, &["audit", "list", "--json"])).unwrap();
    let files: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "file")
        .collect();
    assert_eq!(files.len(), 4, "{listed:#}");
    let outcomes: Vec<&str> = files
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["succeeded", "refused", "refused", "succeeded"],
        "{listed:#}"
    );
    assert_eq!(files[0]["details"]["notation"], "05/UBND-VP", "{listed:#}");
    assert_eq!(files[0]["details"]["verdict"], "unsigned", "{listed:#}");
    assert!(
        files[1]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains(".p7s"),
        "{listed:#}"
    );
    assert!(
        files[2]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("once per register and year"),
        "{listed:#}"
    );
    let check = ["archive", "check", "--agency-id", "000.00.00.H13"];
    assert!(ok(&data, &check).contains("nhất quán"));
}
