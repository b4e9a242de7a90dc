#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! In-process CAdES tests: every algorithm, every failure class, time-stamps, and a
//! property test feeding mutated signatures (never valid, never a panic).

use der::Encode;
use kyso_cades::report::{Check, RevocationCheck, SubIndication, TimeSource};

use kyso_cades::sign::{SignRequest, add_signature_timestamp, cosign, signature_value};
use kyso_cades::tsp::{self, Tsa};
use kyso_cades::{Limits, Report, Verdict, VerifyOptions, verify_detached};
use kyso_pki::ca::{
    IssueRequest, Issuer, Profile, RevocationReason, RevokedEntry, SubjectName, build_crl, issue,
};
use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::{KeyKind, SignatureAlgorithm, Signer, SoftKey};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_cert::Certificate;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

struct Pki {
    root: Certificate,
    sub: Certificate,
    sub_key: SoftKey,
    tsa: Certificate,
    tsa_key: SoftKey,
}

fn subject(cn: &str) -> SubjectName {
    subject_in(cn, "Ủy ban nhân dân thành phố Cần Thơ")
}

fn subject_in(cn: &str, org: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: Some(org.into()),
        country: "VN".into(),
        ..SubjectName::default()
    }
}

fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    from: OffsetDateTime,
    to: OffsetDateTime,
    serial: u8,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: subject(cn),
        public_key: key.public_key().clone(),
        not_before: from,
        not_after: to,
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: if profile == Profile::IssuingCa {
            Some(0)
        } else {
            None
        },
    }
}

fn pki() -> Pki {
    pki_named("Cần Thơ")
}

fn pki_named(city: &str) -> Pki {
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root = issue(
        &request(
            Profile::RootCa,
            &format!("CA gốc {city}"),
            &root_key,
            T0,
            T0 + Duration::days(3650),
            1,
        ),
        None,
        Some(&root_key),
    )
    .unwrap();
    let sub_key = SoftKey::generate(KeyKind::P256).unwrap();
    let sub = issue(
        &request(
            Profile::IssuingCa,
            &format!("CA cấp dưới {city}"),
            &sub_key,
            T0,
            T0 + Duration::days(3000),
            2,
        ),
        Some(&Issuer {
            certificate: &root,
            key: &root_key,
        }),
        None,
    )
    .unwrap();
    let tsa_key = SoftKey::generate(KeyKind::P256).unwrap();
    let tsa = issue(
        &request(
            Profile::Tsa,
            "TSA",
            &tsa_key,
            T0,
            T0 + Duration::days(2000),
            3,
        ),
        Some(&Issuer {
            certificate: &sub,
            key: &sub_key,
        }),
        None,
    )
    .unwrap();
    Pki {
        root,
        sub,
        sub_key,
        tsa,
        tsa_key,
    }
}

impl Pki {
    fn leaf(
        &self,
        profile: Profile,
        kind: KeyKind,
        from: OffsetDateTime,
        to: OffsetDateTime,
        serial: u8,
    ) -> (SoftKey, Certificate) {
        let key = SoftKey::generate(kind).unwrap();
        let cert = issue(
            &request(profile, "Nguyễn Văn An", &key, from, to, serial),
            Some(&Issuer {
                certificate: &self.sub,
                key: &self.sub_key,
            }),
            None,
        )
        .unwrap();
        (key, cert)
    }

    fn crl(&self, revoked: &[RevokedEntry], at: OffsetDateTime) -> Vec<u8> {
        build_crl(
            &Issuer {
                certificate: &self.sub,
                key: &self.sub_key,
            },
            revoked,
            at,
            at + Duration::days(30),
            1,
        )
        .unwrap()
    }

    fn root_crl(&self, at: OffsetDateTime) -> Vec<u8> {
        // The root key is not kept; issue an empty CRL by a fresh path is impossible,
        // so tests that need the root CRL use IfAvailable for the CA level.
        let _ = at;
        Vec::new()
    }

    fn anchors(&self) -> TrustAnchors {
        let mut a = TrustAnchors::new();
        a.add_der(&self.root.to_der().unwrap()).unwrap();
        a
    }
}

fn sign(
    key: &SoftKey,
    cert: &Certificate,
    chain: &[Certificate],
    content: &[u8],
    at: OffsetDateTime,
) -> Vec<u8> {
    let digest = key.algorithm().digest().digest(content);
    kyso_cades::sign(
        key,
        &SignRequest {
            message_digest: &digest,
            signer_certificate: cert,
            chain,
            signing_time: Some(at),
            content_type: None,
            crls: &[],
            encapsulated: None,
        },
    )
    .unwrap()
}

fn verify_with(
    cms: &[u8],
    content: &[u8],
    anchors: &TrustAnchors,
    crls: &[Vec<u8>],
    now: OffsetDateTime,
    mode: RevocationMode,
) -> Report {
    verify_detached(
        cms,
        Some(&[content]),
        &VerifyOptions {
            anchors,
            extra_certificates: &[],
            extra_crls: crls,
            extra_ocsp: &[],
            validation_time: now,
            revocation: mode,
            limits: Limits::default(),
        },
    )
    .unwrap()
}

const DOC: &[u8] = "Công văn số 12/UBND-VP về việc triển khai ký số".as_bytes();

#[test]
fn every_algorithm_signs_and_verifies() {
    let p = pki();
    let now = T0 + Duration::days(10);
    for (kind, alg) in [
        (KeyKind::P256, None),
        (KeyKind::P384, None),
        (KeyKind::Rsa2048, None),
        (KeyKind::Rsa2048, Some(SignatureAlgorithm::RsaPssSha256)),
        (KeyKind::Rsa3072, Some(SignatureAlgorithm::RsaPssSha384)),
        (KeyKind::Ed25519, None),
    ] {
        let (key, cert) = p.leaf(Profile::Person, kind, T0, T0 + Duration::days(365), 10);
        let key = match alg {
            Some(a) => key.with_algorithm(a).unwrap(),
            None => key,
        };
        let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
        let crl = p.crl(&[], now);
        let report = verify_with(
            &cms,
            DOC,
            &p.anchors(),
            &[crl],
            now,
            RevocationMode::IfAvailable,
        );
        assert_eq!(
            report.verdict,
            Verdict::Valid,
            "{kind:?} {alg:?}: {report:#?}"
        );
        let s = &report.signatures[0];
        assert_eq!(s.integrity, Check::Passed);
        assert_eq!(s.trust, Check::Passed);
        assert_eq!(s.signing_time_source, TimeSource::Claimed);
        assert_eq!(
            s.signer.as_ref().unwrap().common_name.as_deref(),
            Some("Nguyễn Văn An")
        );
    }
}

#[test]
fn tampered_content_is_a_hash_failure() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
    let mut changed = DOC.to_vec();
    changed[3] ^= 1;
    let report = verify_with(&cms, &changed, &p.anchors(), &[], now, RevocationMode::Skip);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::HashFailure)
    );
    assert_eq!(report.signatures[0].reasons[0].code, "digest_mismatch");
}

#[test]
fn wrong_trust_anchor_is_indeterminate() {
    let p = pki();
    let other = pki_named("Hậu Giang");
    let now = T0 + Duration::days(10);
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
    let report = verify_with(&cms, DOC, &other.anchors(), &[], now, RevocationMode::Skip);
    assert_eq!(report.verdict, Verdict::Indeterminate);
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::NoCertificateChainFound)
    );
}

#[test]
fn revoked_before_signing_is_invalid_and_missing_crl_is_indeterminate() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
    let crl = p.crl(
        &[RevokedEntry {
            serial: cert.tbs_certificate().serial_number().as_bytes().to_vec(),
            revoked_at: now - Duration::days(1),
            reason: Some(RevocationReason::KeyCompromise),
        }],
        now,
    );
    let report = verify_with(
        &cms,
        DOC,
        &p.anchors(),
        &[crl],
        now,
        RevocationMode::IfAvailable,
    );
    assert_eq!(report.verdict, Verdict::Invalid, "{report:#?}");
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::Revoked)
    );
    assert_eq!(report.signatures[0].revocation, RevocationCheck::Revoked);

    let report = verify_with(&cms, DOC, &p.anchors(), &[], now, RevocationMode::Require);
    assert_eq!(report.verdict, Verdict::Indeterminate, "{report:#?}");
    let _ = p.root_crl(now);
}

#[test]
fn expired_at_signing_time_is_invalid() {
    let p = pki();
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(5),
        10,
    );
    let signed_at = T0 + Duration::days(10);
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, signed_at);
    let report = verify_with(
        &cms,
        DOC,
        &p.anchors(),
        &[],
        signed_at,
        RevocationMode::Skip,
    );
    assert_eq!(report.verdict, Verdict::Invalid, "{report:#?}");
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::Expired)
    );
}

#[test]
fn expired_since_without_timestamp_is_indeterminate_with_timestamp_valid() {
    let p = pki();
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(30),
        10,
    );
    let signed_at = T0 + Duration::days(10);
    let later = T0 + Duration::days(100);
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, signed_at);
    let report = verify_with(&cms, DOC, &p.anchors(), &[], later, RevocationMode::Skip);
    assert_eq!(report.verdict, Verdict::Indeterminate, "{report:#?}");
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::OutOfBoundsNoPoe)
    );

    // Add a time-stamp made at signing time: now it validates.
    let sig = signature_value(&cms).unwrap();
    let imprint = kyso_signer::DigestAlgorithm::Sha256.digest(&sig);
    let req = tsp::request(
        kyso_signer::DigestAlgorithm::Sha256,
        &imprint,
        Some(42),
        true,
    )
    .unwrap();
    let tsa = Tsa {
        certificate: &p.tsa,
        chain: std::slice::from_ref(&p.sub),
        signer: &p.tsa_key,
        policy: tsp::DEFAULT_POLICY,
    };
    let resp = tsa.respond(&req, [7; 16], signed_at).unwrap();
    let token = tsp::token_from_response(&resp, &imprint, Some(42)).unwrap();
    let cms = add_signature_timestamp(&cms, &sig, &token).unwrap();
    let report = verify_with(&cms, DOC, &p.anchors(), &[], later, RevocationMode::Skip);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    let s = &report.signatures[0];
    assert_eq!(s.signing_time_source, TimeSource::Timestamp);
    assert!(s.timestamp.as_ref().unwrap().valid);
}

/// A random TSA serial that starts with a zero byte must still be canonical DER (it
/// once failed about one response in 256: "INTEGER not canonically encoded").
#[test]
fn timestamp_serials_are_canonical_der_whatever_their_first_bytes() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let imprint = kyso_signer::DigestAlgorithm::Sha256.digest(b"content");
    let req = tsp::request(kyso_signer::DigestAlgorithm::Sha256, &imprint, None, true).unwrap();
    let tsa = Tsa {
        certificate: &p.tsa,
        chain: &[],
        signer: &p.tsa_key,
        policy: tsp::DEFAULT_POLICY,
    };
    for first in [
        [0x00, 0x01],
        [0x00, 0x00],
        [0x00, 0x80],
        [0x80, 0x00],
        [0x7f, 0xff],
    ] {
        let mut serial = [0x11u8; 16];
        serial[..2].copy_from_slice(&first);
        let resp = tsa.respond(&req, serial, now).unwrap();
        let token = tsp::token_from_response(&resp, &imprint, None);
        assert!(token.is_ok(), "serial {first:02x?}: {token:?}");
    }
    let mut zero = [0u8; 16];
    zero[15] = 1;
    assert!(
        tsp::token_from_response(&tsa.respond(&req, zero, now).unwrap(), &imprint, None).is_ok()
    );
}

#[test]
fn timestamp_over_another_signature_is_rejected() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
    let sig = signature_value(&cms).unwrap();
    let wrong = kyso_signer::DigestAlgorithm::Sha256.digest(b"something else");
    let req = tsp::request(kyso_signer::DigestAlgorithm::Sha256, &wrong, None, true).unwrap();
    let tsa = Tsa {
        certificate: &p.tsa,
        chain: &[],
        signer: &p.tsa_key,
        policy: tsp::DEFAULT_POLICY,
    };
    let resp = tsa.respond(&req, [7; 16], now).unwrap();
    let token = tsp::token_from_response(&resp, &wrong, None).unwrap();
    let cms = add_signature_timestamp(&cms, &sig, &token).unwrap();
    let report = verify_with(&cms, DOC, &p.anchors(), &[], now, RevocationMode::Skip);
    assert_ne!(report.verdict, Verdict::Valid);
    assert_eq!(report.signatures[0].reasons[0].code, "timestamp_invalid");
}

#[test]
fn certificate_without_signing_usage_is_refused() {
    let p = pki();
    let now = T0 + Duration::days(10);
    // The TSA certificate is restricted to time-stamping.
    let cms = sign(&p.tsa_key, &p.tsa, std::slice::from_ref(&p.sub), DOC, now);
    let report = verify_with(&cms, DOC, &p.anchors(), &[], now, RevocationMode::Skip);
    assert_ne!(report.verdict, Verdict::Valid);
    assert!(
        report.signatures[0]
            .reasons
            .iter()
            .any(|r| r.code == "extended_key_usage"),
        "{report:#?}"
    );
    // The issuing CA's own key has keyCertSign/cRLSign only.
    let cms = sign(&p.sub_key, &p.sub, &[], DOC, now);
    let report = verify_with(&cms, DOC, &p.anchors(), &[], now, RevocationMode::Skip);
    assert_ne!(report.verdict, Verdict::Valid);
    assert!(
        report.signatures[0]
            .reasons
            .iter()
            .any(|r| r.code == "key_usage"),
        "{report:#?}"
    );
}

#[test]
fn cosigned_file_has_two_valid_signatures() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let (k1, c1) = p.leaf(
        Profile::Person,
        KeyKind::P256,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let (k2, c2) = p.leaf(
        Profile::Seal,
        KeyKind::Rsa2048,
        T0,
        T0 + Duration::days(365),
        11,
    );
    let cms = sign(&k1, &c1, std::slice::from_ref(&p.sub), DOC, now);
    let digest = k2.algorithm().digest().digest(DOC);
    let (cms, _) = cosign(
        &cms,
        &k2,
        &SignRequest {
            message_digest: &digest,
            signer_certificate: &c2,
            chain: std::slice::from_ref(&p.sub),
            signing_time: Some(now),
            content_type: None,
            crls: &[],
            encapsulated: None,
        },
    )
    .unwrap();
    let report = verify_with(&cms, DOC, &p.anchors(), &[], now, RevocationMode::Skip);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert_eq!(report.signatures.len(), 2);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let p = pki();
    let now = T0;
    for input in [
        &b""[..],
        b"\x30",
        b"\x30\x80\x00\x00",
        b"not a signature at all",
    ] {
        let result = verify_detached(
            input,
            Some(&[DOC]),
            &VerifyOptions {
                anchors: &p.anchors(),
                extra_certificates: &[],
                extra_crls: &[],
                extra_ocsp: &[],
                validation_time: now,
                revocation: RevocationMode::Skip,
                limits: Limits::default(),
            },
        );
        assert!(result.is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        // Fixed: the same cases on every run; change the seed to explore further.
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6b79_736f_0018),
        .. ProptestConfig::default()
    })]

    /// Mutating any byte (or truncating) a valid signature never yields a valid report
    /// and never panics.
    #[test]
    fn mutated_signatures_are_never_valid(seed in any::<u64>(), pos_frac in 0.0f64..1.0, xor in 1u8..=255, truncate in any::<bool>()) {
        use std::sync::OnceLock;
        static FIXTURE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        let (cms, root) = FIXTURE.get_or_init(|| {
            let p = pki();
            let (key, cert) = p.leaf(Profile::Person, KeyKind::P256, T0, T0 + Duration::days(365), 10);
            (sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, T0 + Duration::days(1)), p.root.to_der().unwrap())
        });
        let _ = seed;
        let mut anchors = TrustAnchors::new();
        anchors.add_der(root).unwrap();
        let pos = ((cms.len() - 1) as f64 * pos_frac) as usize;
        let mutated: Vec<u8> = if truncate { cms[..pos].to_vec() } else {
            let mut m = cms.clone(); m[pos] ^= xor; m
        };
        let result = verify_detached(&mutated, Some(&[DOC]), &VerifyOptions {
            anchors: &anchors, extra_certificates: &[], extra_crls: &[], extra_ocsp: &[],
            validation_time: T0 + Duration::days(2), revocation: RevocationMode::Skip, limits: Limits::default(),
        });
        if let Ok(report) = result
            && report.verdict == Verdict::Valid
        {
            {
                // Only bytes outside what the signature protects (e.g. the unsigned
                // digestAlgorithms set) may change without effect. The signed
                // attributes, the signature value and the signer's certificate must
                // never be touched by a mutation that still validates.
                prop_assert!(!truncate, "a truncated signature validated");
                for protected in protected_ranges(cms) {
                    prop_assert!(!protected.contains(&pos), "mutation at {} inside {:?} still valid", pos, protected);
                }
            }
        }
    }
}

/// Byte ranges of `cms` covered by the signature: signed attributes, signature value
/// and signer certificate, located in the DER.
fn protected_ranges(cms: &[u8]) -> Vec<std::ops::Range<usize>> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::Decode;
    let info = ContentInfo::from_der(cms).unwrap();
    let sd: SignedData = info.content.decode_as().unwrap();
    let si = sd.signer_infos.0.iter().next().unwrap();
    let mut pieces: Vec<Vec<u8>> = vec![si.signature.as_bytes().to_vec()];
    for attr in si.signed_attrs.as_ref().unwrap().iter() {
        pieces.push(attr.to_der().unwrap());
    }
    if let Some(certs) = &sd.certificates {
        for c in certs.0.iter() {
            pieces.push(c.to_der().unwrap());
        }
    }
    pieces
        .iter()
        .filter_map(|p| {
            cms.windows(p.len())
                .position(|w| w == p.as_slice())
                .map(|start| start..start + p.len())
        })
        .collect()
}

#[test]
fn digest_based_verification_matches_content_based() {
    let p = pki();
    let now = T0 + Duration::days(10);
    let (key, cert) = p.leaf(
        Profile::Person,
        KeyKind::P384,
        T0,
        T0 + Duration::days(365),
        10,
    );
    let cms = sign(&key, &cert, std::slice::from_ref(&p.sub), DOC, now);
    let algorithms = kyso_cades::digest_algorithms(&cms).unwrap();
    assert_eq!(algorithms, vec![kyso_signer::DigestAlgorithm::Sha384]);
    let options = VerifyOptions {
        anchors: &p.anchors(),
        extra_certificates: &[],
        extra_crls: &[],
        extra_ocsp: &[],
        validation_time: now,
        revocation: RevocationMode::Skip,
        limits: Limits::default(),
    };
    let digests: Vec<_> = algorithms.iter().map(|a| (*a, a.digest(DOC))).collect();
    let report = kyso_cades::verify_detached_digests(&cms, &digests, &options).unwrap();
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    // A digest of other content, or none for the signer's algorithm: hash failure.
    let wrong = vec![(
        kyso_signer::DigestAlgorithm::Sha384,
        kyso_signer::DigestAlgorithm::Sha384.digest(b"x"),
    )];
    let report = kyso_cades::verify_detached_digests(&cms, &wrong, &options).unwrap();
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::HashFailure)
    );
    let report = kyso_cades::verify_detached_digests(&cms, &[], &options).unwrap();
    assert_eq!(report.verdict, Verdict::Invalid);
}
