#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! The real `kyso` binary against independent implementations: OpenSSL 3 (`openssl
//! cms`, `openssl pkcs12`, `openssl ca`) and pyHanko (CLI validator and Python signing
//! API). Each direction: peers accept kyso's `.p7s`, kyso accepts the peers' `.p7s`;
//! then every failure class through `kyso verify --json`, PKCS#12, the demo and the
//! human output.
//!
//! Peers: `openssl` on PATH (or `KYSO_OPENSSL`), pyHanko at `KYSO_PYHANKO` /
//! `KYSO_PYTHON` (default `<workspace>/.venv/bin/…`, made by `scripts/test.sh`). A
//! missing peer fails the test. OpenSSL 3.0 cannot sign or verify Ed25519 CMS, so
//! Ed25519 goes through pyHanko only.

#[path = "peers/agent.rs"]
mod agent;
#[path = "peers/custody.rs"]
mod custody;
#[path = "peers/handover.rs"]
mod handover;
#[path = "peers/office.rs"]
mod office;
#[path = "peers/outgoing.rs"]
mod outgoing;
#[path = "peers/support.rs"]
mod support;
#[path = "peers/token.rs"]
mod token;
#[path = "peers/web.rs"]
mod web;

use std::path::Path;
use std::process::Stdio;

use support::{
    DOCUMENT, KEY_TYPES, SIGNER_CN, SIGNER_ORG, Server, describe, fixture, kyso, lines, openssl,
    pyhanko, python, run, run_parallel, success, verify_with,
};

// ----------------------------------------------------------------------------------
// Peers accept kyso's signatures
// ----------------------------------------------------------------------------------

/// `openssl cms -verify` over kyso's detached `.p7s`, trusting only the root (kyso
/// embeds the issuing CA).
fn openssl_cms_verify(sig: &Path, content: &Path, root: &Path) -> std::process::Output {
    run(openssl()
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(sig)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(root)
        .args(["-purpose", "any", "-out", "/dev/null"]))
}

#[test]
fn openssl_verifies_kyso_signatures() {
    let fx = fixture();
    let dir = fx.scratch("openssl-verifies");
    // (keystore entry, extra `kyso sign` flags)
    let cases: [(&str, &[&str]); 5] = [
        ("rsa2048", &[]),
        ("rsa2048", &["--pss"]),
        ("rsa3072", &[]),
        ("p256", &[]),
        ("p384", &[]),
    ];
    for (key, flags) in cases {
        let sig = dir.join(format!("{key}{}.p7s", flags.concat()));
        fx.sign(&fx.doc, key, &sig, flags);
        let out = openssl_cms_verify(&sig, &fx.doc, &fx.root);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("Verification successful"),
            "openssl rejected kyso's {key} {flags:?} signature: {stderr}"
        );
    }
    // The check is not vacuous: the same signature over other content fails.
    let other = dir.join("other.txt");
    std::fs::write(&other, "một văn bản khác\n").unwrap();
    let out = openssl_cms_verify(&dir.join("p256.p7s"), &other, &fx.root);
    assert!(
        !out.status.success(),
        "openssl accepted a signature over other content"
    );
}

/// pyHanko's report must say signer trusted, signature sound, VALID (whole lines, as
/// "untrusted"/"unsound" contain the positive words).
fn assert_pyhanko_valid(out: &std::process::Output, what: &str, mechanism: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&text);
    for needed in [
        "The signer's certificate is trusted.",
        "The signature is cryptographically sound.",
        &format!("The signature mechanism used was '{mechanism}'."),
        "The signature is judged VALID.",
    ] {
        assert!(
            l.contains(&needed),
            "pyHanko on {what}: missing line {needed:?} in:\n{text}"
        );
    }
    assert!(
        out.status.success(),
        "pyHanko on {what} exited {}:\n{text}",
        out.status
    );
}

fn pyhanko_validate(sig: &Path, content: &Path, root: &Path) -> std::process::Command {
    let mut c = pyhanko();
    c.args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check", "--detached"])
        .arg(sig)
        .arg(content);
    c
}

#[test]
fn pyhanko_validates_kyso_signatures() {
    let fx = fixture();
    let dir = fx.scratch("pyhanko-validates");
    // (keystore entry, kyso sign flags, pyHanko's name of the mechanism)
    let cases: [(&str, &[&str], &str); 6] = [
        ("p256", &[], "sha256_ecdsa"),
        ("p384", &[], "sha384_ecdsa"),
        ("rsa2048", &[], "sha256_rsa"),
        ("rsa2048", &["--pss"], "rsassa_pss"),
        ("rsa3072", &[], "sha256_rsa"),
        ("ed25519", &[], "ed25519"),
    ];
    let mut cmds = Vec::new();
    for (key, flags, _) in cases {
        let sig = dir.join(format!("{key}{}.p7s", flags.concat()));
        fx.sign(&fx.doc, key, &sig, flags);
        cmds.push(pyhanko_validate(&sig, &fx.doc, &fx.root));
    }
    // Negative control: a changed file must not be judged valid.
    let other = dir.join("other.txt");
    std::fs::write(&other, "một văn bản khác\n").unwrap();
    cmds.push(pyhanko_validate(&dir.join("p256.p7s"), &other, &fx.root));
    let outs = run_parallel(&mut cmds);
    for ((key, flags, mechanism), out) in cases.iter().zip(&outs) {
        assert_pyhanko_valid(out, &format!("kyso {key} {flags:?}"), mechanism);
    }
    let tampered = outs.last().unwrap();
    let text = String::from_utf8_lossy(&tampered.stdout).to_string()
        + &String::from_utf8_lossy(&tampered.stderr);
    assert!(
        !tampered.status.success() && lines(&text).contains(&"The signature is judged INVALID."),
        "pyHanko did not reject a changed file:\n{text}"
    );
}

#[test]
fn timestamped_signature_b_t_is_valid_for_pyhanko_and_kyso() {
    let fx = fixture();
    let dir = fx.scratch("b-t");
    let server = Server::start(&fx.ca);
    let tsa = format!("{}/tsa", server.url);
    let keys = [("p256", "sha256_ecdsa"), ("ed25519", "ed25519")];
    let mut cmds = Vec::new();
    for (key, _) in keys {
        let sig = dir.join(format!("{key}-bt.p7s"));
        fx.sign(&fx.doc, key, &sig, &["--tsa", &tsa]);
        cmds.push(pyhanko_validate(&sig, &fx.doc, &fx.root));

        let v = fx.verify(&fx.doc, &sig);
        v.assert_valid();
        let s = v.first();
        assert_eq!(s["signing_time_source"], "timestamp", "{}", v.context);
        assert_eq!(s["timestamp"]["valid"], true, "{}", v.context);
        assert_eq!(s["revocation"], "good", "{}", v.context);
    }
    drop(server);
    let outs = run_parallel(&mut cmds);
    for ((key, mechanism), out) in keys.iter().zip(&outs) {
        let what = format!("kyso B-T {key}");
        assert_pyhanko_valid(out, &what, mechanism);
        let text = String::from_utf8_lossy(&out.stdout);
        let l = lines(&text);
        for needed in [
            "This timestamp is backed by a time stamping authority.",
            "The timestamp token is cryptographically sound.",
            "The TSA certificate is trusted.",
        ] {
            assert!(
                l.contains(&needed),
                "pyHanko on {what}: missing line {needed:?} in:\n{text}"
            );
        }
        assert!(
            l.iter()
                .any(|x| x.starts_with("Signature timestamp token: ")),
            "pyHanko on {what} saw no signature time-stamp:\n{text}"
        );
    }
}

// ----------------------------------------------------------------------------------
// kyso accepts the peers' signatures
// ----------------------------------------------------------------------------------

#[test]
fn kyso_accepts_openssl_signatures() {
    let fx = fixture();
    let dir = fx.scratch("openssl-signs");
    // (key, digest, openssl flags, whether the result is CAdES with signing-certificate-v2)
    let cases: [(&str, &str, &[&str], bool); 6] = [
        ("p256", "sha256", &[], false),
        ("p256", "sha256", &["-nosmimecap"], false),
        ("p256", "sha256", &["-cades"], true),
        ("rsa2048", "sha256", &["-cades"], true),
        (
            "rsa2048",
            "sha256",
            &["-keyopt", "rsa_padding_mode:pss"],
            false,
        ),
        ("p384", "sha384", &["-nosmimecap", "-cades"], true),
    ];
    for (i, (key, md, flags, cades)) in cases.into_iter().enumerate() {
        let sig = dir.join(format!("{i}-{key}.p7s"));
        success(
            openssl()
                .args(["cms", "-sign", "-binary", "-outform", "DER", "-md", md])
                .arg("-signer")
                .arg(fx.leaf(key))
                .arg("-certfile")
                .arg(fx.cas(key))
                .arg("-inkey")
                .arg(fx.key(key))
                .arg("-in")
                .arg(&fx.doc)
                .arg("-out")
                .arg(&sig)
                .args(flags),
        );
        let v = fx.verify(&fx.doc, &sig);
        v.assert_valid();
        assert_eq!(
            v.first()["signer"]["common_name"],
            SIGNER_CN,
            "{}",
            v.context
        );
        if flags.contains(&"-keyopt") {
            assert_eq!(v.first()["algorithm"], "RSA-PSS", "{}", v.context);
        }
        // Plain CMS (no ESS signing-certificate) is accepted with a warning.
        assert_eq!(
            v.warning_codes()
                .contains(&"no_signing_certificate_attribute"),
            !cades,
            "openssl {flags:?}: {}",
            v.context
        );
    }
}

/// Signs with pyHanko's Python API: `SimpleSigner.load(...)` then
/// `await signer.async_sign_general_data(data, digest, detached=True, use_cades=...)`.
const PYHANKO_SIGN: &str = r#"
import asyncio, json, sys
from pyhanko.sign import signers

async def main(jobs):
    for job in jobs:
        signer = signers.SimpleSigner.load(
            job["key"], job["cert"], ca_chain_files=(job["cas"],), prefer_pss=job["pss"]
        )
        if signer is None:
            sys.exit("pyHanko could not load " + job["key"])
        with open(job["content"], "rb") as f:
            data = f.read()
        ci = await signer.async_sign_general_data(
            data, job["digest"], detached=True, use_cades=job["cades"]
        )
        with open(job["out"], "wb") as f:
            f.write(ci.dump())

asyncio.run(main(json.loads(sys.argv[1])))
"#;

/// Sign `fx.doc` with pyHanko for each (key, digest, PSS, CAdES); returns the `.p7s`
/// paths. One Python process for all (it takes a second to start).
fn pyhanko_sign(dir: &Path, cases: &[(&str, &str, bool, bool)]) -> Vec<std::path::PathBuf> {
    let fx = fixture();
    let script = dir.join("sign.py");
    std::fs::write(&script, PYHANKO_SIGN).unwrap();
    let sigs: Vec<_> = (0..cases.len())
        .map(|i| dir.join(format!("py-{i}.p7s")))
        .collect();
    let jobs: Vec<serde_json::Value> = cases
        .iter()
        .zip(&sigs)
        .map(|((key, digest, pss, cades), out)| {
            serde_json::json!({
                "key": fx.key(key), "cert": fx.leaf(key), "cas": fx.cas(key),
                "content": fx.doc, "out": out,
                "digest": digest, "pss": pss, "cades": cades,
            })
        })
        .collect();
    success(
        python()
            .arg(&script)
            .arg(serde_json::to_string(&jobs).unwrap()),
    );
    sigs
}

#[test]
fn kyso_accepts_pyhanko_signatures() {
    let fx = fixture();
    let dir = fx.scratch("pyhanko-signs");
    // (key, digest, PSS, CAdES), kyso's algorithm name
    let cases = [
        (("p256", "sha256", false, false), "ECDSA-SHA256"),
        (("p256", "sha256", false, true), "ECDSA-SHA256"),
        (("p384", "sha384", false, true), "ECDSA-SHA384"),
        (("rsa2048", "sha256", false, false), "RSA-PKCS1v1.5-SHA256"),
        (("rsa2048", "sha256", true, true), "RSA-PSS"),
        (("rsa3072", "sha384", false, true), "RSA-PKCS1v1.5-SHA384"),
        (("ed25519", "sha512", false, true), "Ed25519"),
    ];
    let jobs: Vec<_> = cases.iter().map(|(job, _)| *job).collect();
    let sigs = pyhanko_sign(&dir, &jobs);
    for ((job, algorithm), sig) in cases.iter().zip(&sigs) {
        let v = fx.verify(&fx.doc, sig);
        v.assert_valid();
        assert_eq!(
            v.first()["algorithm"],
            *algorithm,
            "pyHanko {job:?}: {}",
            v.context
        );
        assert_eq!(
            v.first()["signer"]["common_name"],
            SIGNER_CN,
            "{}",
            v.context
        );
    }
}

/// RSA-PSS with the maximum salt length (what OpenSSL 3.0 and pyHanko write by
/// default): 350 bytes for RSA-3072/SHA-256, more than the `u8` salt length that
/// kyso-signer's parameter parser (`pkcs1::RsaPssParams`) accepts.
#[test]
fn kyso_accepts_rsa3072_pss_from_peers() {
    let fx = fixture();
    let dir = fx.scratch("rsa3072-pss");
    let mut sigs = pyhanko_sign(&dir, &[("rsa3072", "sha256", true, true)]);
    let openssl_sig = dir.join("openssl.p7s");
    success(
        openssl()
            .args([
                "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
            ])
            .arg("-signer")
            .arg(fx.leaf("rsa3072"))
            .arg("-certfile")
            .arg(fx.cas("rsa3072"))
            .arg("-inkey")
            .arg(fx.key("rsa3072"))
            .arg("-in")
            .arg(&fx.doc)
            .arg("-out")
            .arg(&openssl_sig)
            .args(["-keyopt", "rsa_padding_mode:pss"]),
    );
    sigs.push(openssl_sig);
    for sig in &sigs {
        let v = fx.verify(&fx.doc, sig);
        v.assert_valid();
        assert_eq!(v.first()["algorithm"], "RSA-PSS", "{}", v.context);
    }
}

// ----------------------------------------------------------------------------------
// Failure classes through the CLI
// ----------------------------------------------------------------------------------

#[test]
fn tampered_content_is_a_digest_mismatch() {
    let fx = fixture();
    let dir = fx.scratch("tampered");
    let sig = dir.join("doc.p7s");
    fx.sign(&fx.doc, "p256", &sig, &[]);
    let tampered = dir.join("doc.txt");
    std::fs::write(&tampered, DOCUMENT.replace("34/UBND-VP", "43/UBND-VP")).unwrap();
    let v = fx.verify(&tampered, &sig);
    v.assert_failure(1, "invalid", "HASH_FAILURE", "digest_mismatch");
    assert_eq!(v.first()["integrity"], "failed", "{}", v.context);
}

#[test]
fn damaged_signature_files_are_malformed() {
    let fx = fixture();
    let dir = fx.scratch("malformed");
    let good = dir.join("good.p7s");
    fx.sign(&fx.doc, "rsa2048", &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    // A truncated .p7s, deterministic noise, an empty file, and a certificate (valid DER,
    // wrong structure).
    let noise: Vec<u8> = (0u32..700)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cert_der = success_bytes(
        openssl()
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&fx.root),
    );
    let cases: [(&str, &[u8]); 4] = [
        ("truncated", &bytes[..bytes.len() / 2]),
        ("garbage", &noise),
        ("empty", &[]),
        ("certificate", &cert_der),
    ];
    for (name, content) in cases {
        let sig = dir.join(format!("{name}.p7s"));
        std::fs::write(&sig, content).unwrap();
        let v = fx.verify(&fx.doc, &sig);
        v.assert_failure(1, "invalid", "FORMAT_FAILURE", "malformed");
        assert_eq!(
            v.first()["indication"],
            "TOTAL_FAILED",
            "{name}: {}",
            v.context
        );
    }
}

fn success_bytes(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = run(cmd);
    assert!(out.status.success(), "{}", describe(cmd, &out));
    out.stdout
}

#[test]
fn foreign_trust_anchor_finds_no_chain() {
    let fx = fixture();
    let dir = fx.scratch("foreign-anchor");
    let sig = dir.join("doc.p7s");
    fx.sign(&fx.doc, "p256", &sig, &[]);
    let other_ca = dir.join("other-ca");
    success(
        kyso()
            .arg("--data")
            .arg(dir.join("data"))
            .args(["ca", "init", "--ca"])
            .arg(&other_ca)
            .args(["--name", "Trung tâm Chứng thực tỉnh khác"]),
    );
    let v = verify_with(&fx.doc, Some(&sig), &other_ca.join("root.crt.pem"));
    v.assert_failure(
        1,
        "indeterminate",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "untrusted",
    );
    // The integrity itself is fine.
    assert_eq!(v.first()["integrity"], "passed", "{}", v.context);
}

#[test]
fn certificate_revoked_before_signing_is_rejected() {
    let fx = fixture();
    let dir = fx.scratch("revoked");
    fx.issue("revoked", "person", "Lê Văn Thu Hồi", &[]);
    success(
        fx.kyso()
            .args(["ca", "revoke", "--ca"])
            .arg(&fx.ca)
            .arg("--cert")
            .arg(fx.chain("revoked"))
            .args(["--reason", "key-compromise"]),
    );
    let sig = dir.join("doc.p7s");
    fx.sign(&fx.doc, "revoked", &sig, &[]);
    let v = fx.verify(&fx.doc, &sig);
    v.assert_failure(1, "invalid", "REVOKED", "revoked");
    assert_eq!(v.first()["revocation"], "revoked", "{}", v.context);
}

/// `openssl ca -startdate/-enddate` format (GeneralizedTime).
fn openssl_time(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[test]
fn certificate_expired_at_signing_time_is_rejected() {
    // `kyso ca issue --not-before <3 days ago> --days 1` is refused by kyso's CA (the
    // validity would start before the fresh issuing CA's), so the expired certificate
    // comes from `openssl ca` with the issuing CA's key; kyso then signs with it via
    // a .p12 and the signing time (now) is after its notAfter.
    let fx = fixture();
    let dir = fx.scratch("expired");
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "1000\n").unwrap();
    let crl_url = format!(
        "file://{}",
        std::fs::canonicalize(fx.ca.join("crl/issuing.crl"))
            .unwrap()
            .display()
    );
    let config = format!(
        "[ca]\ndefault_ca = c\n[c]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\n\
         serial = {db}/serial\ndefault_md = sha256\npolicy = p\nx509_extensions = ext\n\
         unique_subject = no\nutf8 = yes\nstring_mask = utf8only\n\
         [p]\ncountryName = optional\ncommonName = supplied\n\
         [ext]\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, nonRepudiation\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
         crlDistributionPoints = URI:{crl_url}\n",
        db = db.display()
    );
    let cnf = dir.join("ca.cnf");
    std::fs::write(&cnf, config).unwrap();
    let key = dir.join("expired.key.pem");
    let csr = dir.join("expired.csr");
    let cert = dir.join("expired.crt.pem");
    success(
        openssl()
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .arg("-out")
            .arg(&key),
    );
    success(
        openssl()
            .args([
                "req",
                "-new",
                "-utf8",
                "-subj",
                "/C=VN/CN=Trần Văn Hết Hạn",
                "-key",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    let now = time::OffsetDateTime::now_utc();
    success(
        openssl()
            .args(["ca", "-batch", "-notext", "-config"])
            .arg(&cnf)
            .arg("-cert")
            .arg(fx.ca.join("issuing.crt.pem"))
            .arg("-keyfile")
            .arg(fx.export.join("issuing-ca.key.pem"))
            .args(["-startdate", &openssl_time(now - time::Duration::days(3))])
            .args(["-enddate", &openssl_time(now - time::Duration::days(2))])
            .arg("-in")
            .arg(&csr)
            .arg("-out")
            .arg(&cert),
    );
    let full = dir.join("expired.full.pem");
    let mut chain = std::fs::read_to_string(&cert).unwrap();
    chain += &std::fs::read_to_string(fx.ca.join("issuing.crt.pem")).unwrap();
    chain += &std::fs::read_to_string(&fx.root).unwrap();
    std::fs::write(&full, chain).unwrap();
    let p12 = dir.join("expired.p12");
    success(
        openssl()
            .args([
                "pkcs12",
                "-export",
                "-passout",
                "env:KYSO_PASSPHRASE",
                "-inkey",
            ])
            .arg(&key)
            .arg("-in")
            .arg(&full)
            .arg("-out")
            .arg(&p12),
    );
    let sig = dir.join("doc.p7s");
    success(
        kyso()
            .arg("sign")
            .arg(&fx.doc)
            .arg("--p12")
            .arg(&p12)
            .arg("--out")
            .arg(&sig),
    );
    let v = fx.verify(&fx.doc, &sig);
    v.assert_failure(1, "invalid", "EXPIRED", "expired");
    assert_eq!(v.first()["signing_time_source"], "claimed", "{}", v.context);
}

#[test]
fn ca_key_without_signing_key_usage_is_rejected() {
    // The issuing CA's certificate has keyUsage keyCertSign + cRLSign only.
    let fx = fixture();
    let dir = fx.scratch("key-usage");
    let sig = dir.join("doc.p7s");
    success(
        openssl()
            .args([
                "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
            ])
            .arg("-signer")
            .arg(fx.ca.join("issuing.crt.pem"))
            .arg("-certfile")
            .arg(&fx.root)
            .arg("-inkey")
            .arg(fx.export.join("issuing-ca.key.pem"))
            .arg("-in")
            .arg(&fx.doc)
            .arg("-out")
            .arg(&sig),
    );
    let v = fx.verify(&fx.doc, &sig);
    v.assert_failure(1, "indeterminate", "CHAIN_CONSTRAINTS_FAILURE", "key_usage");
}

#[test]
fn time_stamping_certificate_is_rejected_for_documents() {
    let fx = fixture();
    let dir = fx.scratch("tsa-as-signer");
    fx.issue("tsa-as-signer", "tsa", "Dịch vụ cấp dấu thời gian thử", &[]);
    let sig = dir.join("doc.p7s");
    fx.sign(&fx.doc, "tsa-as-signer", &sig, &[]);
    let v = fx.verify(&fx.doc, &sig);
    v.assert_failure(
        1,
        "indeterminate",
        "CHAIN_CONSTRAINTS_FAILURE",
        "extended_key_usage",
    );
}

#[test]
fn unsigned_file_and_missing_file() {
    let fx = fixture();
    let dir = fx.scratch("unsigned");
    let plain = dir.join("chua-ky.txt");
    std::fs::write(&plain, DOCUMENT).unwrap();
    // No chua-ky.txt.p7s next to it.
    let v = verify_with(&plain, None, &fx.root);
    assert_eq!(v.code, Some(1), "{}", v.context);
    assert_eq!(v.verdict(), "unsigned", "{}", v.context);
    assert_eq!(
        v.json["signatures"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v.context
    );

    let mut cmd = kyso();
    cmd.arg("verify")
        .arg(dir.join("khong-ton-tai.txt"))
        .arg("--trust")
        .arg(&fx.root)
        .arg("--json");
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&cmd, &out));
    assert!(out.stdout.is_empty(), "{}", describe(&cmd, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read"),
        "{}",
        describe(&cmd, &out)
    );
}

// ----------------------------------------------------------------------------------
// PKCS#12
// ----------------------------------------------------------------------------------

#[test]
fn pkcs12_from_openssl_imports_and_signs() {
    let fx = fixture();
    let dir = fx.scratch("pkcs12");
    for key in ["rsa2048", "p256"] {
        for (format, flags) in [("default", &[][..]), ("legacy", &["-legacy"][..])] {
            let name = format!("p12-{key}-{format}");
            let p12 = dir.join(format!("{name}.p12"));
            success(
                openssl()
                    .args(["pkcs12", "-export", "-passout", "env:KYSO_PASSPHRASE"])
                    .args(["-name", SIGNER_CN, "-inkey"])
                    .arg(fx.key(key))
                    .arg("-in")
                    .arg(fx.chain(key))
                    .arg("-out")
                    .arg(&p12)
                    .args(flags),
            );
            success(
                fx.kyso()
                    .args(["key", "import"])
                    .arg(&p12)
                    .args(["--name", &name]),
            );
            let via_keystore = dir.join(format!("{name}-keystore.p7s"));
            fx.sign(&fx.doc, &name, &via_keystore, &[]);
            let via_p12 = dir.join(format!("{name}-direct.p7s"));
            success(
                kyso()
                    .arg("sign")
                    .arg(&fx.doc)
                    .arg("--p12")
                    .arg(&p12)
                    .arg("--out")
                    .arg(&via_p12),
            );
            for sig in [&via_keystore, &via_p12] {
                let v = fx.verify(&fx.doc, sig);
                v.assert_valid();
                assert_eq!(
                    v.first()["signer"]["common_name"],
                    SIGNER_CN,
                    "{}",
                    v.context
                );
            }
        }
    }
}

// ----------------------------------------------------------------------------------
// The demo and the human output
// ----------------------------------------------------------------------------------

#[test]
fn demo_completes_in_both_languages() {
    let vi = tempfile::tempdir().unwrap();
    let en = tempfile::tempdir().unwrap();
    let mut cmds = [kyso(), kyso()];
    cmds[0].arg("--data").arg(vi.path()).arg("demo");
    cmds[1]
        .arg("--data")
        .arg(en.path())
        .args(["demo", "--lang", "en"]);
    let outs = run_parallel(&mut cmds);
    for ((cmd, out), done) in cmds.iter().zip(&outs).zip(["Hoàn tất", "Done"]) {
        assert!(out.status.success(), "demo failed: {}", describe(cmd, out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(done),
            "demo did not print {done:?}: {}",
            describe(cmd, out)
        );
    }
}

#[test]
fn human_output_names_the_signer_in_both_languages() {
    let fx = fixture();
    let dir = fx.scratch("human");
    let sig = dir.join("doc.p7s");
    fx.sign(&fx.doc, "p256", &sig, &[]);
    let expect: [(&[&str], &[&str]); 3] = [
        (
            &["--lang", "vi"],
            &[
                "Kết luận: HỢP LỆ ✓",
                "Người ký: Nguyễn Thị Hồng Nhung",
                "Cơ quan: Sở Nội vụ thành phố Cần Thơ",
            ],
        ),
        // Vietnamese is the default.
        (&[], &["Kết luận: HỢP LỆ ✓"]),
        (
            &["--lang", "en"],
            &[
                "Verdict: VALID ✓",
                "Signer: Nguyễn Thị Hồng Nhung",
                "Agency: Sở Nội vụ thành phố Cần Thơ",
            ],
        ),
    ];
    // The literals below, not the constants: the exact NFC bytes given to `ca issue`.
    assert_eq!(SIGNER_ORG, "Sở Nội vụ thành phố Cần Thơ");
    assert_eq!(SIGNER_CN, "Nguyễn Thị Hồng Nhung");
    for (flags, needed) in expect {
        let mut cmd = kyso();
        cmd.arg("verify")
            .arg(&fx.doc)
            .arg("--sig")
            .arg(&sig)
            .arg("--trust")
            .arg(&fx.root)
            .args(flags);
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&cmd, &out));
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let l = lines(&text);
        for n in needed {
            assert!(
                l.contains(n),
                "line {n:?} missing: {}",
                describe(&cmd, &out)
            );
        }
    }
}

// ----------------------------------------------------------------------------------
// Known kyso bugs (run with --ignored)
// ----------------------------------------------------------------------------------

#[test]
fn sign_survives_a_closed_stdout() {
    let fx = fixture();
    let dir = fx.scratch("closed-stdout");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = fx.kyso();
    cmd.arg("sign")
        .arg(&fx.doc)
        .args(["--key", "p256", "--out"])
        .arg(dir.join("doc.p7s"))
        .stdout(writer)
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "kyso sign with a closed stdout: {} {stderr}",
        out.status
    );
}

/// Every fixture key type is issued (guards against KEY_TYPES drifting from the
/// tests above).
#[test]
fn fixture_has_every_key_type() {
    let fx = fixture();
    for kt in KEY_TYPES {
        assert!(fx.key(kt).is_file() && fx.leaf(kt).is_file() && fx.cas(kt).is_file());
    }
}
