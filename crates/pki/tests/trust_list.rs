#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! The built-in Vietnamese trust list, key matching among same-named anchors, and SHA-1
//! certificate signatures (verified; acceptability is the caller's dated policy).
//!
//! The real roots' private keys are not available, so nothing here is signed under
//! them: the tests prove they load, and that a look-alike root (same name, same subject
//! key identifier, different key) never stands in for one.

use std::path::Path;
use std::process::Command;

use der::{Decode, Encode};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_pki::path::{
    PathFailure, PathInput, PathPolicy, PathStatus, RevocationMode, TrustAnchors, validate_path,
};
use kyso_pki::trust_list::{VIETNAM, VIETNAM_ROOTS, add_vietnam, vietnam_certificates};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_cert::Certificate;

#[test]
fn the_five_vietnamese_roots_load() {
    let certs = vietnam_certificates().unwrap();
    assert_eq!(certs.len(), 5);
    assert_eq!(VIETNAM_ROOTS.len(), 5);
    let mut anchors = TrustAnchors::new();
    assert_eq!(add_vietnam(&mut anchors).unwrap(), 5);
    assert_eq!(anchors.len(), 5);
    let names: Vec<String> = certs
        .iter()
        .map(|c| c.tbs_certificate().subject().to_string())
        .collect();
    for expected in [
        "CN=Vietnam National Root CA",
        "CN=RootCA chuyên dùng Chính phủ G2",
        "CN=CA phục vụ các cơ quan Nhà nước G2",
    ] {
        assert!(
            names.iter().any(|n| n.contains(expected)),
            "{expected} in {names:?}"
        );
    }
    // The two MIC roots: same common name, different keys.
    let mic: Vec<&Certificate> = certs
        .iter()
        .filter(|c| {
            c.tbs_certificate()
                .subject()
                .to_string()
                .contains("CN=MIC National Root CA")
        })
        .collect();
    assert_eq!(mic.len(), 2);
    assert_ne!(
        mic[0].tbs_certificate().subject_public_key_info(),
        mic[1].tbs_certificate().subject_public_key_info()
    );
    for c in &certs {
        assert_eq!(anchors.source_of(c), Some(VIETNAM));
    }
}

fn validate(
    anchors: &TrustAnchors,
    ee: &[u8],
    intermediates: &[Vec<u8>],
    at: OffsetDateTime,
) -> PathStatus {
    validate_path(
        anchors,
        &PathInput {
            end_entity: ee,
            intermediates,
            crls: &[],
            ocsp_responses: &[],
            time: at,
        },
        &PathPolicy {
            revocation: RevocationMode::Skip,
            ..PathPolicy::default()
        },
    )
    .unwrap()
    .status
}

/// A look-alike of the Vietnam National Root CA (its exact name and subject key
/// identifier, another key), made with `openssl x509 -signkey`, issues a certificate.
/// Trusted explicitly, the look-alike validates it; the built-in list must not.
#[test]
fn a_look_alike_root_never_stands_in_for_a_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let fake_key = SoftKey::generate(KeyKind::P256).unwrap();
    std::fs::write(dir.path().join("fake.der"), &*fake_key.to_pkcs8_der()).unwrap();
    let real = VIETNAM_ROOTS
        .iter()
        .find(|r| r.file == "vietnam-national-root-ca.pem")
        .unwrap();
    std::fs::write(dir.path().join("real.pem"), real.pem).unwrap();
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "x509", "-in", "real.pem", "-signkey", "fake.der", "-keyform", "DER", "-days", "36500",
            "-outform", "DER", "-out", "fake.cer",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fake = Certificate::from_der(&std::fs::read(dir.path().join("fake.cer")).unwrap()).unwrap();
    let real_cert = Certificate::load_pem_chain(real.pem.as_bytes()).unwrap()[0].clone();
    assert_eq!(
        fake.tbs_certificate().subject(),
        real_cert.tbs_certificate().subject()
    );
    // Times relative to the look-alike's own notBefore (set by openssl to "now").
    let start = OffsetDateTime::from_unix_timestamp(
        fake.tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
            .as_secs() as i64,
    )
    .unwrap();
    let ee_key = SoftKey::generate(KeyKind::P256).unwrap();
    let ee = issue(
        &IssueRequest {
            profile: Profile::Person,
            subject: SubjectName {
                common_name: "Kẻ mạo danh".into(),
                country: "VN".into(),
                ..SubjectName::default()
            },
            public_key: ee_key.public_key().clone(),
            not_before: start + Duration::hours(1),
            not_after: start + Duration::days(30),
            serial: [9; 16],
            crl_url: None,
            ocsp_url: None,
            ca_issuers_url: None,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            path_len: None,
        },
        Some(&Issuer {
            certificate: &fake,
            key: &fake_key,
        }),
        None,
    )
    .unwrap()
    .to_der()
    .unwrap();
    let at = start + Duration::days(1);
    let mut fake_only = TrustAnchors::new();
    fake_only.add_der(&fake.to_der().unwrap()).unwrap();
    assert_eq!(validate(&fake_only, &ee, &[], at), PathStatus::Valid);
    let mut vn = TrustAnchors::new();
    add_vietnam(&mut vn).unwrap();
    let status = validate(&vn, &ee, &[], at);
    assert!(!status.is_valid(), "{status}");
    // Offered as an intermediate, the look-alike does not help either.
    let status = validate(&vn, &ee, &[fake.to_der().unwrap()], at);
    assert!(!status.is_valid(), "{status}");
}

fn legacy(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cades/tests/data/legacy")
        .join(name);
    Certificate::load_pem_chain(&std::fs::read(path).unwrap()).unwrap()[0]
        .to_der()
        .unwrap()
}

/// A SHA-1 root, intermediate and end entity (fixture made by OpenSSL with fixed
/// dates): the signatures are verified, and a wrong key is still caught.
#[test]
fn sha1_certificate_signatures_are_verified() {
    let root = legacy("root.pem");
    let sub = legacy("sub.pem");
    let ee = legacy("ee.pem");
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&root).unwrap();
    let at = datetime!(2015-06-01 00:00 UTC);
    assert_eq!(
        validate(&anchors, &ee, std::slice::from_ref(&sub), at),
        PathStatus::Valid
    );
    // The same path with the signature of the end entity flipped is a bad signature.
    let mut broken = ee.clone();
    let n = broken.len();
    broken[n - 10] ^= 1;
    match validate(&anchors, &broken, std::slice::from_ref(&sub), at) {
        PathStatus::Invalid(PathFailure::BadSignature { position: 0 }) => {}
        other => panic!("{other:?}"),
    }
    // notBefore applies: before the end entity's validity it is not valid.
    match validate(&anchors, &ee, &[sub], datetime!(2011-06-01 00:00 UTC)) {
        PathStatus::Invalid(PathFailure::NotYetValid { position: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn far_future_validation_time_is_a_verdict() {
    let root = legacy("root.pem");
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&root).unwrap();
    let status = validate(
        &anchors,
        &legacy("ee.pem"),
        &[legacy("sub.pem")],
        datetime!(9999-12-31 23:59:59 UTC),
    );
    assert!(matches!(
        status,
        PathStatus::Invalid(PathFailure::Expired { .. })
    ));
}
