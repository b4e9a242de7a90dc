//! Token tests against a real PKCS#11 module: SoftHSM2 in its own token directory.
//!
//! SoftHSM reads `SOFTHSM2_CONF` when the module initialises, and changing the
//! environment of a running (multi-threaded) test process is unsound, so each test
//! re-runs this test binary as a child with the variable set ([`in_softhsm`]).

#![allow(clippy::unwrap_used, reason = "test set-up panics on failure")]

use std::path::{Path, PathBuf};
use std::process::Command;

use der::{Decode, Encode};
use kyso_cades::{Limits, SignRequest, Verdict, VerifyOptions, verify_detached};
use kyso_pkcs11::{KeySelector, Module, Pin, Pkcs11Error};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "123456";
const SO_PIN: &str = "12345678";

/// Run `body` in a child process whose SOFTHSM2_CONF points at a fresh token
/// directory holding one token labelled `kyso-test` with a P-256 key (id 01, label
/// "lanh-dao") and an RSA-2048 key (id 02, label "con-dau"), each with a certificate
/// issued by a test CA (written to `<dir>/root.der`).
fn in_softhsm(name: &str, body: impl FnOnce(&Path)) {
    if let Ok(dir) = std::env::var("KYSO_SOFTHSM_DIR") {
        body(Path::new(&dir));
        return;
    }
    assert!(
        Path::new(MODULE).exists(),
        "SoftHSM2 is required: apt-get install softhsm2 opensc ({MODULE} missing)"
    );
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {cmd:?}: {e} (apt-get install softhsm2 opensc)")
            });
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(Command::new("softhsm2-util").args([
        "--init-token",
        "--free",
        "--label",
        "kyso-test",
        "--so-pin",
        SO_PIN,
        "--pin",
        PIN,
    ]));
    for (id, label, kind) in [
        ("01", "lanh-dao", "EC:prime256v1"),
        ("02", "con-dau", "rsa:2048"),
    ] {
        run(Command::new("pkcs11-tool").args([
            "--module",
            MODULE,
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            kind,
            "--id",
            id,
            "--label",
            label,
            "--usage-sign",
        ]));
    }
    // A CA issues a certificate for each token key; the certificate goes on the token.
    let ca_key = SoftKey::generate(KeyKind::P256).unwrap();
    let now = OffsetDateTime::now_utc() - Duration::minutes(5);
    let request = |profile, cn: &str, key: spki::SubjectPublicKeyInfoOwned, serial| IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key,
        not_before: now,
        not_after: now + Duration::days(365),
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: None,
    };
    let root = issue(
        &request(
            Profile::RootCa,
            "CA thử nghiệm",
            ca_key.public_key().clone(),
            1,
        ),
        None,
        Some(&ca_key),
    )
    .unwrap();
    std::fs::write(dir.path().join("root.der"), root.to_der().unwrap()).unwrap();
    for (id, cn, serial) in [
        ("01", "Trần Văn Bình", 2u8),
        ("02", "Ủy ban nhân dân thành phố Cần Thơ", 3),
    ] {
        let spki_path = dir.path().join(format!("{id}.pub.der"));
        run(Command::new("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--read-object",
                "--type",
                "pubkey",
                "--id",
                id,
                "--output-file",
            ])
            .arg(&spki_path));
        let spki =
            spki::SubjectPublicKeyInfoOwned::from_der(&std::fs::read(&spki_path).unwrap()).unwrap();
        let cert = issue(
            &request(Profile::Seal, cn, spki, serial),
            Some(&Issuer {
                certificate: &root,
                key: &ca_key,
            }),
            None,
        )
        .unwrap();
        let cert_path = dir.path().join(format!("{id}.crt.der"));
        std::fs::write(&cert_path, cert.to_der().unwrap()).unwrap();
        run(Command::new("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--login",
                "--pin",
                PIN,
                "--write-object",
            ])
            .arg(&cert_path)
            .args(["--type", "cert", "--id", id, "--label", cn]));
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env("KYSO_SOFTHSM_DIR", dir.path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{name} failed inside the SoftHSM child process"
    );
}

fn root(dir: &Path) -> Certificate {
    Certificate::from_der(&std::fs::read(dir.join("root.der")).unwrap()).unwrap()
}

fn pin() -> Pin {
    Pin::new(PIN.to_string())
}

fn verify(cms: &[u8], content: &[u8], root: &Certificate) -> Verdict {
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&root.to_der().unwrap()).unwrap();
    verify_detached(
        cms,
        Some(&[content]),
        &VerifyOptions {
            anchors: &anchors,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: OffsetDateTime::now_utc(),
            revocation: RevocationMode::Skip,
            limits: Limits::default(),
        },
    )
    .unwrap()
    .verdict
}

fn cades(key: &dyn Signer, cert: &Certificate, content: &[u8]) -> Vec<u8> {
    let digest = key.algorithm().digest().digest(content);
    kyso_cades::sign(
        key,
        &SignRequest {
            message_digest: &digest,
            signer_certificate: cert,
            chain: &[],
            signing_time: Some(OffsetDateTime::now_utc()),
            content_type: None,
            crls: &[],
            encapsulated: None,
        },
    )
    .unwrap()
}

#[test]
fn lists_the_token_and_its_keys() {
    in_softhsm("lists_the_token_and_its_keys", |_| {
        let module = Module::open(MODULE).unwrap();
        let token = module.find_token(None, Some("kyso-test")).unwrap();
        assert!(!token.serial.is_empty());
        let session = module.login(&token, &pin(), false).unwrap();
        let keys = session.keys().unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(
            keys.iter().all(|k| k.certificate.is_some()),
            "every key found its certificate"
        );
        assert!(matches!(
            session.key(&KeySelector::Only, None, false),
            Err(Pkcs11Error::AmbiguousKey(_))
        ));
    });
}

#[test]
fn token_keys_sign_cades_that_verifies() {
    in_softhsm("token_keys_sign_cades_that_verifies", |dir| {
        let module = Module::open(MODULE).unwrap();
        let token = module.find_token(None, None).unwrap();
        let session = module.login(&token, &pin(), false).unwrap();
        let content = "Giấy mời họp số 16/GM-UBND".as_bytes();
        for (selector, pss) in [
            (KeySelector::Id(vec![1]), false),
            (KeySelector::Label("con-dau".into()), false),
            (KeySelector::Label("con-dau".into()), true),
        ] {
            let key = session.key(&selector, None, pss).unwrap();
            let cms = cades(&key, &key.certificate().clone(), content);
            assert_eq!(
                verify(&cms, content, &root(dir)),
                Verdict::Valid,
                "{selector:?} pss={pss}"
            );
            assert_eq!(verify(&cms, b"changed", &root(dir)), Verdict::Invalid);
        }
        // By the certificate's serial, as shown by `kyso`.
        let any = session.key(&KeySelector::Id(vec![2]), None, false).unwrap();
        let serial: String = any
            .certificate()
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let by_cert = session
            .key(&KeySelector::CertificateSerial(serial), None, false)
            .unwrap();
        assert_eq!(by_cert.public_key(), any.public_key());
    });
}

#[test]
fn wrong_pin_is_refused_and_changed_pin_locks_out_the_old_one() {
    in_softhsm(
        "wrong_pin_is_refused_and_changed_pin_locks_out_the_old_one",
        |_| {
            let module = Module::open(MODULE).unwrap();
            let token = module.find_token(None, None).unwrap();
            assert!(matches!(
                module.login(&token, &Pin::new("000000".into()), false),
                Err(Pkcs11Error::WrongPin(_))
            ));
            let session = module.login(&token, &pin(), false).unwrap();
            session
                .change_pin(&pin(), &Pin::new("654321".into()))
                .unwrap();
            drop(session);
            let module = Module::open(MODULE).unwrap();
            assert!(matches!(
                module.login(&token, &pin(), false),
                Err(Pkcs11Error::WrongPin(_))
            ));
            module
                .login(&token, &Pin::new("654321".into()), false)
                .unwrap();
        },
    );
}

#[test]
fn pin_is_never_printed() {
    assert_eq!(format!("{:?}", Pin::new("123456".into())), "Pin(***)");
}

#[allow(dead_code)]
fn _unused(_: PathBuf) {}
