//! Signatures per second through kyso (`TokenKey`, the `Signer` used by CAdES/PAdES)
//! beside a raw `C_Sign` loop on the same SoftHSM token, in the same run.
//!
//! `cargo bench -p kyso-pkcs11` — sets up its own SoftHSM token directory (needs
//! `softhsm2` and `opensc` installed) and prints a markdown table of medians.

#![allow(clippy::unwrap_used, reason = "benchmark set-up panics on failure")]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use kyso_pkcs11::{KeySelector, Module, Pin};
use kyso_signer::Signer;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "123456";
const ROUNDS: usize = 12;
const PER_ROUND: usize = 300;

fn main() {
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let conf = setup(dir.path());
        let status = Command::new(std::env::current_exe().unwrap())
            .args(std::env::args().skip(1))
            .env("SOFTHSM2_CONF", conf)
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    run();
}

fn setup(dir: &Path) -> std::path::PathBuf {
    let conf = dir.join("softhsm2.conf");
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    let tool = |program: &str, args: &[&str]| {
        let ok = Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        ok.stdout
    };
    tool(
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            "bench",
            "--so-pin",
            "12345678",
            "--pin",
            PIN,
        ],
    );
    for (id, kind) in [("01", "EC:prime256v1"), ("02", "rsa:2048")] {
        tool(
            "pkcs11-tool",
            &[
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
                "--usage-sign",
            ],
        );
    }
    // A self-made certificate is enough for signing: certify the public keys with a
    // throw-away software CA and store the certificates on the token.
    let ca = kyso_signer::SoftKey::generate(kyso_signer::KeyKind::P256).unwrap();
    let now = time::OffsetDateTime::now_utc();
    for (id, serial) in [("01", 1u8), ("02", 2)] {
        let public = dir.join(format!("{id}.pub"));
        tool(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--read-object",
                "--type",
                "pubkey",
                "--id",
                id,
                "--output-file",
                public.to_str().unwrap(),
            ],
        );
        let spki = <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(
            &std::fs::read(&public).unwrap(),
        )
        .unwrap();
        let req = kyso_pki::ca::IssueRequest {
            profile: kyso_pki::ca::Profile::RootCa,
            subject: kyso_pki::ca::SubjectName {
                common_name: format!("bench {id}"),
                country: "VN".into(),
                ..Default::default()
            },
            public_key: ca.public_key().clone(),
            not_before: now,
            not_after: now + time::Duration::days(1),
            serial: [serial; 16],
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
            dns_names: vec![],
            ip_addresses: vec![],
            path_len: None,
        };
        let root = kyso_pki::ca::issue(&req, None, Some(&ca)).unwrap();
        let leaf = kyso_pki::ca::issue(
            &kyso_pki::ca::IssueRequest {
                profile: kyso_pki::ca::Profile::Seal,
                public_key: spki,
                serial: [serial + 10; 16],
                ..req
            },
            Some(&kyso_pki::ca::Issuer {
                certificate: &root,
                key: &ca,
            }),
            None,
        )
        .unwrap();
        let cert = dir.join(format!("{id}.crt"));
        std::fs::write(&cert, der::Encode::to_der(&leaf).unwrap()).unwrap();
        tool(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--login",
                "--pin",
                PIN,
                "--write-object",
                cert.to_str().unwrap(),
                "--type",
                "cert",
                "--id",
                id,
            ],
        );
    }
    conf
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run() {
    // kyso path.
    let module = Module::open(MODULE).unwrap();
    let token = module.find_token(None, Some("bench")).unwrap();
    let session = module.login(&token, &Pin::new(PIN.into()), false).unwrap();
    // Raw path: its own context and session on the same token.
    let raw = Pkcs11::new(MODULE).unwrap();
    let _ = raw.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = raw
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| {
            raw.get_token_info(*s)
                .map(|t| t.label().trim() == "bench")
                .unwrap_or(false)
        })
        .unwrap();
    let raw_session = raw.open_rw_session(slot).unwrap();
    let _ = raw_session.login(
        UserType::User,
        Some(&cryptoki::types::AuthPin::from(PIN.to_string())),
    );

    // What kyso signs in CMS: the DER of the signed attributes, ~200 bytes.
    let message = vec![0x31u8; 200];
    println!(
        "| key | raw C_Sign (median per signature) | kyso TokenKey::sign | overhead | kyso signatures/s |"
    );
    println!("|---|---|---|---|---|");
    for (id, label) in [(1u8, "P-256"), (2, "RSA-2048")] {
        let key = session
            .key(&KeySelector::Id(vec![id]), None, false)
            .unwrap();
        let handle = raw_session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(vec![id]),
            ])
            .unwrap()[0];
        let digest = key.algorithm().digest().digest(&message);
        let (mechanism, input) = if id == 1 {
            (Mechanism::Ecdsa, digest.clone())
        } else {
            let mut info = vec![
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ];
            info.extend_from_slice(&digest);
            (Mechanism::RsaPkcs, info)
        };
        let mut raw_times = Vec::new();
        let mut kyso_times = Vec::new();
        let raw_round = || {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                std::hint::black_box(raw_session.sign(&mechanism, handle, &input).unwrap());
            }
            start.elapsed() / PER_ROUND as u32
        };
        let kyso_round = || {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                std::hint::black_box(key.sign(&message).unwrap());
            }
            start.elapsed() / PER_ROUND as u32
        };
        // Warm both paths, then interleave rounds, alternating which goes first, so
        // machine noise and warm-up hit both alike.
        raw_round();
        kyso_round();
        for round in 0..ROUNDS {
            if round % 2 == 0 {
                raw_times.push(raw_round());
                kyso_times.push(kyso_round());
            } else {
                kyso_times.push(kyso_round());
                raw_times.push(raw_round());
            }
        }
        let (r, k) = (median(raw_times), median(kyso_times));
        println!(
            "| {label} | {:.1} µs | {:.1} µs | {:+.1} % | {:.0} |",
            r.as_secs_f64() * 1e6,
            k.as_secs_f64() * 1e6,
            (k.as_secs_f64() / r.as_secs_f64() - 1.0) * 100.0,
            1.0 / k.as_secs_f64()
        );
    }
}
