//! The agency's signing device under recorded custody, end to end through the `kyso`
//! binary with SoftHSM2 tokens: users and roles, device registration, a handover
//! (request → approval → acceptance with a new PIN), minutes numbered in the minutes
//! register and signed by giver, receiver and the device, and the custody rule with
//! every attempt in the audit log.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::office::{ADD_ADMIN, AGENCY, images, in_agency, issue_personal, seal_device};
use crate::support::{describe, run, success};
use crate::token::{MODULE, PIN, SoftHsm};

const DEVICE: &str = "thiet-bi-co-quan";
const PERSONAL: &str = "ca-nhan-binh";
const PERSONAL_PIN: &str = "135790";
const NEW_PIN: &str = "97531864";

struct Office {
    hsm: SoftHsm,
}

impl Office {
    /// `kyso …` acting as `user` (password `<user>-mat-khau`), in the agency.
    fn as_user(&self, user: &str) -> Command {
        in_agency(&self.hsm, user)
    }

    fn user_arg(&self, user: &str, args: &[&str]) -> Command {
        let mut c = self.as_user(user);
        c.args(args).args(["--user", user]);
        c
    }

    fn audit_entries(&self) -> Vec<Value> {
        let dir = self.hsm.data.join(format!(
            "audit-export-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        success(self.hsm.kyso().args(["audit", "export", "--out"]).arg(&dir));
        std::fs::read_to_string(dir.join("entries.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn token_serial(&self, label: &str) -> String {
        let listing = success(self.hsm.kyso().args(["token", "list", "--pkcs11", MODULE]));
        let line = listing
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("token {label} not listed: {listing}"));
        line.split("serial ")
            .nth(1)
            .and_then(|rest| rest.split('\t').next())
            .unwrap()
            .trim()
            .to_string()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn refused(cmd: &mut Command, code: &str) -> String {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{}", describe(cmd, &out));
    assert!(
        err.contains(code),
        "expected refusal {code}: {}",
        describe(cmd, &out)
    );
    err
}

/// Users admin, an (custodian), binh (custodian, personal token), dung (leader); the
/// agency device with an RSA-2048 seal key, custodian an.
fn office() -> (Office, String) {
    let hsm = crate::token::new_softhsm();
    seal_device(&hsm, DEVICE, PIN);
    hsm.init_token(PERSONAL, PERSONAL_PIN);
    let binh_chain = hsm.token_key(
        PERSONAL,
        PERSONAL_PIN,
        "01",
        "binh",
        "EC:prime256v1",
        "person",
        "Trần Thị Bình",
    );
    // The giver's personal key lives in kyso's keystore.
    let export = issue_personal(&hsm, "an", "Nguyễn Văn An");
    // The office trusts the CA root: certificate logins must chain to it, unrevoked.
    success(hsm.kyso().args(["trust", "add"]).arg(&hsm.root));
    let office = Office { hsm };

    let mut admin = office.as_user("admin");
    admin
        .env("KYSO_NEW_PASSWORD", "admin-mat-khau")
        .args(ADD_ADMIN);
    success(&mut admin);
    for (name, full, roles, cert, image) in [
        (
            "an",
            "Nguyễn Văn An",
            vec!["clerk", "custodian"],
            Some(export.join("an.crt.pem")),
            "signature-blue.png",
        ),
        (
            "binh",
            "Trần Thị Bình",
            vec!["clerk", "custodian"],
            Some(binh_chain),
            "signature-blue-2.png",
        ),
        (
            "dung",
            "Lê Văn Dũng",
            vec!["leader"],
            None,
            "signature-blue-3.png",
        ),
    ] {
        let mut c = office.user_arg("admin", &["user", "add", name, "--full-name", full]);
        c.env("KYSO_NEW_PASSWORD", format!("{name}-mat-khau"))
            .args([
                "--password",
                "--title",
                "Chuyên viên",
                "--unit",
                "Văn phòng Sở",
            ])
            .arg("--signature-image")
            .arg(images().join(image));
        for r in roles {
            c.args(["--role", r]);
        }
        if let Some(cert) = cert {
            c.arg("--certificate").arg(cert);
        }
        success(&mut c);
    }
    // Only an administrator manages users.
    refused(
        office
            .user_arg("dung", &["user", "add", "eve", "--full-name", "Eve"])
            .args(["--role", "administrator"]),
        "missing_role",
    );
    let mut register = office.user_arg("admin", &["device", "register", "--pkcs11", MODULE]);
    register
        .args(["--token-label", DEVICE, "--custodian", "an", "--seal-image"])
        .arg(images().join("seal-red.png"));
    let out = success(&mut register);
    assert!(out.contains("custodian: an"), "{out}");
    let serial = office.token_serial(DEVICE);
    (office, serial)
}

fn sign_with_device(office: &Office, user: &str, file: &Path, pin: &str) -> Command {
    let mut c = office.user_arg(user, &["sign"]);
    c.arg(file)
        .env("KYSO_PIN", pin)
        .args(["--pkcs11", MODULE, "--token-label", DEVICE, "--force"]);
    c
}

#[test]
fn device_handover_end_to_end() {
    let (office, serial) = office();
    let data = office.hsm.data.clone();
    let doc = office.hsm.work.join("cong-van.txt");
    std::fs::write(&doc, "Công văn số 15/STTTT-VP".as_bytes()).unwrap();

    // The custodian signs with the device; nobody else can, not even a leader.
    success(&mut sign_with_device(&office, "an", &doc, PIN));
    refused(
        &mut sign_with_device(&office, "binh", &doc, PIN),
        "not_custodian",
    );
    refused(
        &mut sign_with_device(&office, "dung", &doc, PIN),
        "not_custodian",
    );
    // Without a user, the agency device is refused before any PIN is tried.
    let mut anonymous = office.as_user("an");
    anonymous
        .arg("sign")
        .arg(&doc)
        .args(["--pkcs11", MODULE, "--token-label", DEVICE]);
    refused(&mut anonymous, "--user");

    // Request (by the custodian only), approval (a leader, not a party), acceptance.
    let request = |user: &str| {
        let mut c = office.user_arg(user, &["device", "handover", "request"]);
        c.args(["--device", &serial, "--to", "binh"])
            .args([
                "--permission",
                "Giấy ủy quyền số 12/GUQ-STTTT ngày 20/11/2026 của Giám đốc Sở",
            ])
            .args(["--witness", "Phạm Thị Hoa"]);
        c
    };
    refused(&mut request("binh"), "not_custodian");
    let out = success(&mut request("an"));
    assert!(out.contains("id 1"), "{out}");
    let accept = |pin: &str| {
        let mut c = office.user_arg("binh", &["device", "handover", "accept", "1"]);
        c.args(["--pkcs11", MODULE, "--issuer", "STTTT"])
            .args(["--login-pkcs11", MODULE, "--login-token-serial"])
            .arg(office.token_serial(PERSONAL))
            .env("KYSO_LOGIN_PIN", PERSONAL_PIN)
            .env("KYSO_PIN", pin)
            .env("KYSO_NEW_PIN", NEW_PIN)
            .env_remove("KYSO_PASSWORD");
        c
    };
    refused(&mut accept(PIN), "handover_state");
    refused(
        &mut office.user_arg("binh", &["device", "handover", "approve", "1"]),
        "missing_role",
    );
    success(&mut office.user_arg("dung", &["device", "handover", "approve", "1"]));
    // A wrong PIN from the giver changes nothing.
    let mut wrong = accept("000000");
    let out = run(&mut wrong);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&wrong, &out));
    // Custody moves and the minutes are numbered, but drawing them up fails (an empty
    // place name): the acceptance stands, and running it again finishes the minutes
    // with the same number, without touching the token.
    let mut bad = accept(PIN);
    bad.args(["--place", " "]);
    let out = run(&mut bad);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&bad, &out));
    let shown = success(office.as_user("an").args(["device", "show", &serial]));
    assert!(shown.contains("current custodian: binh"), "{shown}");
    let mut resume = accept("000000");
    resume.env_remove("KYSO_NEW_PIN");
    let out = success(&mut resume);
    assert!(out.contains("Số: 01/BB-STTTT"), "{out}");

    // The old PIN no longer opens the device.
    let mut old = office.hsm.tool("pkcs11-tool");
    old.args([
        "--module",
        MODULE,
        "--token-label",
        DEVICE,
        "--login",
        "--pin",
        PIN,
    ])
    .arg("--list-objects");
    let out = run(&mut old);
    assert!(
        !out.status.success(),
        "old PIN still works: {}",
        describe(&old, &out)
    );

    // Minutes: giver (keystore key), receiver (personal token), then the seal (device).
    refused(
        &mut office.user_arg(
            "binh",
            &["device", "handover", "seal", "1", "--pkcs11", MODULE],
        ),
        "minutes_unsigned",
    );
    success(&mut office.user_arg(
        "an",
        &[
            "device", "handover", "sign", "1", "--as", "giver", "--key", "an",
        ],
    ));
    refused(
        &mut office.user_arg(
            "an",
            &[
                "device", "handover", "sign", "1", "--as", "receiver", "--key", "an",
            ],
        ),
        "not_party",
    );
    let mut receiver = office.user_arg("binh", &["device", "handover", "sign", "1"]);
    receiver
        .args([
            "--as",
            "receiver",
            "--pkcs11",
            MODULE,
            "--token-label",
            PERSONAL,
        ])
        .env("KYSO_PIN", PERSONAL_PIN);
    success(&mut receiver);
    let mut seal = office.user_arg("binh", &["device", "handover", "seal", "1"]);
    seal.args(["--pkcs11", MODULE]).env("KYSO_PIN", NEW_PIN);
    success(&mut seal);

    // The sealed minutes are filed in the archive as the original of their register
    // entry (…/<year>/BB/01-BB-STTTT/), nothing is left in the device folder.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(data.join("devices"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let archived: Vec<PathBuf> = walk(&data.join("archive").join(AGENCY))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    assert_eq!(archived.len(), 1, "{archived:?}");
    let minutes = archived[0].clone();
    let folder = minutes.parent().unwrap();
    assert!(
        folder.to_string_lossy().contains("BB"),
        "{}",
        folder.display()
    );
    let verification: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("verification.json")).unwrap())
            .unwrap();
    assert_eq!(
        verification["signatures"].as_array().map(Vec::len),
        Some(3),
        "{verification:#}"
    );
    success(office.as_user("an").args(["archive", "check"]));
    if let Some(keep) = std::env::var_os("KYSO_TEST_KEEP_MINUTES") {
        std::fs::copy(&minutes, keep).unwrap();
    }
    // Three valid signatures, for kyso (trusting only the CA root) and pyHanko.
    let mut verify = office.hsm.kyso();
    verify
        .arg("verify")
        .arg(&minutes)
        .arg("--trust")
        .arg(&office.hsm.root)
        .args(["--json", "--no-revocation-check"]);
    let out = run(&mut verify);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", describe(&verify, &out)));
    // Later signatures are permitted changes for the earlier ones.
    assert!(
        out.status.success()
            && ["valid", "valid_with_changes"].contains(&report["verdict"].as_str().unwrap()),
        "{}\n{report:#}",
        describe(&verify, &out)
    );
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 3, "{report:#}");
    for s in signatures {
        assert_eq!(s["indication"], "TOTAL_PASSED", "{report:#}");
        assert_eq!(s["integrity"], "passed", "{report:#}");
    }
    let names: Vec<String> = signatures
        .iter()
        .map(|s| {
            s["signer"]["common_name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "Nguyễn Văn An",
            "Trần Thị Bình",
            "Sở Thông tin và Truyền thông thành phố Cần Thơ"
        ],
        "{report:#}"
    );
    crate::token::assert_pyhanko_valid(&minutes, &office.hsm.root, 3);
    // The minutes say what they are.
    let mut text = Command::new("pdftotext");
    text.arg(&minutes).arg("-");
    let words = success(&mut text);
    for needle in [
        "BIÊN BẢN",
        "BB-STTTT",
        &serial,
        "Nguyễn Văn An",
        "Trần Thị Bình",
    ] {
        assert!(words.contains(needle), "minutes lack {needle:?}: {words}");
    }

    // The minutes register shows the BB number.
    let register = data.join("minutes.csv");
    success(
        office
            .as_user("an")
            .args([
                "register",
                "print",
                "--register",
                "minutes",
                "--format",
                "csv",
                "--out",
            ])
            .arg(&register),
    );
    let csv = std::fs::read_to_string(&register).unwrap();
    assert_eq!(csv.matches("/BB-STTTT").count(), 1, "{csv}");
    assert!(csv.contains("01/BB-STTTT"), "{csv}");

    // The former custodian is refused, and it is on record.
    refused(
        &mut sign_with_device(&office, "an", &doc, NEW_PIN),
        "not_custodian",
    );
    success(&mut sign_with_device(&office, "binh", &doc, NEW_PIN));
    let entries = office.audit_entries();
    let has = |actor: &str, action: &str, outcome: &str| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e["action"] == action && e["outcome"] == outcome)
    };
    let refused_signings = entries
        .iter()
        .filter(|e| e["actor"] == "an" && e["action"] == "sign" && e["outcome"] == "refused")
        .count();
    assert_eq!(refused_signings, 1, "{entries:#?}");
    for (actor, action, outcome) in [
        ("an", "sign", "succeeded"),
        ("binh", "sign", "refused"),
        ("dung", "sign", "refused"),
        ("binh", "handover_request", "refused"),
        ("an", "handover_request", "succeeded"),
        ("dung", "handover_approve", "succeeded"),
        ("binh", "handover_accept", "failed"),
        ("binh", "handover_accept", "succeeded"),
        ("binh", "number", "succeeded"),
        ("an", "handover_sign", "succeeded"),
        ("binh", "handover_sign", "succeeded"),
        ("binh", "handover_seal", "succeeded"),
        ("binh", "login", "succeeded"),
        ("admin", "device_register", "succeeded"),
        ("admin", "permission", "succeeded"),
        ("binh", "sign", "succeeded"),
    ] {
        assert!(
            has(actor, action, outcome),
            "no {actor} {action} {outcome}: {entries:#?}"
        );
    }
    let mut audit = office.hsm.kyso();
    audit.args(["audit", "verify"]);
    success(&mut audit);
}

#[test]
fn password_and_certificate_logins_are_recorded() {
    let (office, _) = office();
    success(&mut office.user_arg("dung", &["user", "login"]));
    let mut wrong = office.user_arg("dung", &["user", "login"]);
    wrong.env("KYSO_PASSWORD", "not-the-password");
    let out = run(&mut wrong);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&wrong, &out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("login failed"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
    // Five failures in a row lock the account; then even the right password is refused
    // until an administrator re-enables it.
    for _ in 0..5 {
        let mut wrong = office.user_arg("an", &["user", "login"]);
        wrong.env("KYSO_PASSWORD", "sai-mat-khau");
        assert_eq!(run(&mut wrong).status.code(), Some(2));
    }
    let err = refused(&mut office.user_arg("an", &["user", "login"]), "locked");
    assert!(err.contains("tạm khóa"), "{err}");
    success(&mut office.user_arg("admin", &["user", "set", "an", "--enable"]));
    success(&mut office.user_arg("an", &["user", "login"]));
    // Certificate login on the personal token.
    let mut cert = office.as_user("binh");
    cert.args(["user", "login", "--user", "binh", "--login-pkcs11", MODULE])
        .args(["--login-token-serial"])
        .arg(office.token_serial(PERSONAL))
        .env("KYSO_LOGIN_PIN", PERSONAL_PIN)
        .env_remove("KYSO_PASSWORD");
    success(&mut cert);
    // an's certificate is not on binh's token: certificate login as an fails.
    let mut other = office.as_user("an");
    other
        .args(["user", "login", "--user", "an", "--login-pkcs11", MODULE])
        .args(["--login-token-serial"])
        .arg(office.token_serial(PERSONAL))
        .env("KYSO_LOGIN_PIN", PERSONAL_PIN)
        .env_remove("KYSO_PASSWORD");
    let out = run(&mut other);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&other, &out));
    // Once binh's certificate is revoked, it no longer logs in.
    success(
        office
            .hsm
            .kyso()
            .args(["ca", "revoke", "--reason", "key-compromise", "--cert"])
            .arg(office.hsm.data.join("binh.chain.pem")),
    );
    let mut revoked = office.as_user("binh");
    revoked
        .args(["user", "login", "--user", "binh", "--login-pkcs11", MODULE])
        .args(["--login-token-serial"])
        .arg(office.token_serial(PERSONAL))
        .env("KYSO_LOGIN_PIN", PERSONAL_PIN)
        .env_remove("KYSO_PASSWORD");
    let out = run(&mut revoked);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&revoked, &out));
    let entries = office.audit_entries();
    assert!(
        entries.iter().any(|e| e["actor"] == "binh"
            && e["action"] == "login"
            && e["details"]["reason"] == "certificate_untrusted"),
        "{entries:#?}"
    );
    let logins: Vec<(String, String, String)> = entries
        .iter()
        .filter(|e| e["action"] == "login")
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
                e["details"]["method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    for expected in [
        ("dung", "succeeded", "password"),
        ("dung", "failed", "password"),
        ("binh", "succeeded", "certificate"),
        ("an", "failed", "certificate"),
        ("an", "refused", ""),
    ] {
        assert!(
            logins.contains(&(
                expected.0.to_string(),
                expected.1.to_string(),
                expected.2.to_string()
            )),
            "missing login {expected:?} in {logins:?}"
        );
    }
}
