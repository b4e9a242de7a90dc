#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! Issue 9: genuine signatures as real-world tools write them are never called invalid.
//! BER (indefinite lengths, constructed OCTET STRINGs), no signed attributes, signers
//! named by subject key identifier, CA key rollover (same names, different keys, same
//! serials), SHA-1 under the dated algorithm policy, `--at` before notBefore.
//!
//! Every time is fixed; the SHA-1 material is a committed fixture made by
//! `tests/data/legacy/make.sh` (OpenSSL, fixed certificate dates).

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use der::{Decode, Encode};
use kyso_cades::report::SubIndication;
use kyso_cades::sign::{SignRequest, cosign};
use kyso_cades::{AlgorithmPolicy, Limits, Report, Verdict, VerifyOptions, verify_detached};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const DOC: &[u8] = "Quyết định số 15/QĐ-UBND về việc bổ nhiệm".as_bytes();

fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    serial: u8,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("Ban Cơ yếu Chính phủ".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key.public_key().clone(),
        not_before: from,
        not_after: to,
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: (profile == Profile::IssuingCa).then_some(0),
    }
}

struct Ca {
    cert: Certificate,
    key: SoftKey,
}

fn root(cn: &str) -> Ca {
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    let cert = issue(
        &request(Profile::RootCa, cn, &key, 1, T0, T0 + Duration::days(3650)),
        None,
        Some(&key),
    )
    .unwrap();
    Ca { cert, key }
}

fn issued(parent: &Ca, profile: Profile, cn: &str, serial: u8, kind: KeyKind) -> Ca {
    let key = SoftKey::generate(kind).unwrap();
    let cert = issue(
        &request(profile, cn, &key, serial, T0, T0 + Duration::days(1000)),
        Some(&Issuer {
            certificate: &parent.cert,
            key: &parent.key,
        }),
        None,
    )
    .unwrap();
    Ca { cert, key }
}

fn anchors(roots: &[&Certificate]) -> TrustAnchors {
    let mut a = TrustAnchors::new();
    for r in roots {
        a.add_der_from(&r.to_der().unwrap(), "test").unwrap();
    }
    a
}

fn sign_request<'a>(
    digest: &'a [u8],
    cert: &'a Certificate,
    chain: &'a [Certificate],
    encapsulated: Option<&'a [u8]>,
) -> SignRequest<'a> {
    SignRequest {
        message_digest: digest,
        signer_certificate: cert,
        chain,
        signing_time: Some(T0 + Duration::days(5)),
        content_type: None,
        crls: &[],
        encapsulated,
    }
}

fn sign(signer: &Ca, chain: &[Certificate], encapsulated: bool) -> Vec<u8> {
    let digest = signer.key.algorithm().digest().digest(DOC);
    kyso_cades::sign(
        &signer.key,
        &sign_request(&digest, &signer.cert, chain, encapsulated.then_some(DOC)),
    )
    .unwrap()
}

fn verify_at(
    cms: &[u8],
    content: Option<&[u8]>,
    anchors: &TrustAnchors,
    at: OffsetDateTime,
    limits: Limits,
) -> Report {
    let segments: Vec<&[u8]> = content.into_iter().collect();
    verify_detached(
        cms,
        content.map(|_| segments.as_slice()),
        &VerifyOptions {
            anchors,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: at,
            revocation: RevocationMode::Skip,
            limits,
        },
    )
    .unwrap()
}

fn verify(cms: &[u8], content: Option<&[u8]>, anchors: &TrustAnchors) -> Report {
    verify_at(
        cms,
        content,
        anchors,
        T0 + Duration::days(10),
        Limits::default(),
    )
}

fn codes(r: &Report) -> Vec<&str> {
    r.signatures
        .iter()
        .flat_map(|s| s.reasons.iter().chain(&s.warnings))
        .map(|r| r.code)
        .collect()
}

/// Re-encode DER as BER the way streaming encoders do: every constructed value with an
/// indefinite length, every universal OCTET STRING longer than 4 bytes as a constructed
/// string of 4-byte segments.
fn to_ber(der: &[u8]) -> Vec<u8> {
    fn header(b: &[u8], pos: usize) -> (usize, usize) {
        let first = b[pos + 1];
        if first < 0x80 {
            (2, usize::from(first))
        } else {
            let n = usize::from(first & 0x7f);
            let mut len = 0;
            for i in 0..n {
                len = len << 8 | usize::from(b[pos + 2 + i]);
            }
            (2 + n, len)
        }
    }
    fn walk(b: &[u8], out: &mut Vec<u8>) {
        let mut pos = 0;
        while pos < b.len() {
            let tag = b[pos];
            assert_ne!(tag & 0x1f, 0x1f, "single-octet tags only");
            let (h, len) = header(b, pos);
            let content = &b[pos + h..pos + h + len];
            if tag & 0x20 != 0 {
                out.extend_from_slice(&[tag, 0x80]);
                walk(content, out);
                out.extend_from_slice(&[0, 0]);
            } else if tag == 0x04 && len > 4 {
                out.extend_from_slice(&[0x24, 0x80]);
                for chunk in content.chunks(4) {
                    out.extend_from_slice(&[0x04, chunk.len() as u8]);
                    out.extend_from_slice(chunk);
                }
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&b[pos..pos + h + len]);
            }
            pos += h + len;
        }
    }
    let mut out = Vec::new();
    walk(der, &mut out);
    out
}

fn edit_signer(cms: &[u8], f: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
    let info = ContentInfo::from_der(cms).unwrap();
    let mut sd: SignedData = info.content.decode_as().unwrap();
    let mut infos = sd.signer_infos.0.into_vec();
    f(&mut infos[0]);
    sd.signer_infos = SignerInfos(infos.try_into().unwrap());
    ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn ber_cms_verifies_like_its_der() {
    let root = root("CA gốc");
    let ee = issued(&root, Profile::Person, "Nguyễn Văn An", 7, KeyKind::P256);
    let a = anchors(&[&root.cert]);
    for encapsulated in [false, true] {
        let der = sign(&ee, &[], encapsulated);
        let ber = to_ber(&der);
        assert_ne!(ber, der);
        assert_eq!(ber[1], 0x80, "indefinite length at the top");
        assert_eq!(kyso_cades::ber::to_der(&ber).unwrap(), der);
        let content = (!encapsulated).then_some(DOC);
        let r = verify(&ber, content, &a);
        assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
        assert_eq!(
            kyso_cades::digest_algorithms(&ber).unwrap(),
            kyso_cades::digest_algorithms(&der).unwrap()
        );
        if encapsulated {
            assert_eq!(
                kyso_cades::verify::encapsulated_content(&ber)
                    .unwrap()
                    .as_deref(),
                Some(DOC)
            );
        } else {
            let mut other = DOC.to_vec();
            other[0] ^= 1;
            let r = verify(&ber, Some(&other), &a);
            assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
        }
    }
    // Broken BER is a clear error, not a panic and not a verdict.
    let mut broken = to_ber(&sign(&ee, &[], false));
    broken.truncate(broken.len() - 2);
    let e = kyso_cades::verify_detached(
        &broken,
        Some(&[DOC]),
        &VerifyOptions {
            anchors: &a,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: T0,
            revocation: RevocationMode::Skip,
            limits: Limits::default(),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("BER"), "{e}");
}

#[test]
fn signature_without_signed_attributes_is_valid_with_a_warning() {
    let root = root("CA gốc");
    for (n, kind) in [KeyKind::P256, KeyKind::Rsa2048].into_iter().enumerate() {
        let ee = issued(&root, Profile::Person, "Trần Văn Bình", 20 + n as u8, kind);
        let a = anchors(&[&root.cert]);
        let signature = ee.key.sign(DOC).unwrap();
        let cms = edit_signer(&sign(&ee, &[], false), |si| {
            si.signed_attrs = None;
            si.signature = der::asn1::OctetString::new(signature).unwrap();
        });
        let r = verify(&cms, Some(DOC), &a);
        assert_eq!(r.verdict, Verdict::Valid, "{kind:?} {r:#?}");
        assert!(codes(&r).contains(&"not_baseline"), "{r:#?}");
        let r = verify(&to_ber(&cms), Some(DOC), &a);
        assert_eq!(r.verdict, Verdict::Valid, "BER {kind:?} {r:#?}");
        let r = verify(&cms, Some(b"another file"), &a);
        assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
        assert!(codes(&r).contains(&"bad_signature"), "{r:#?}");
    }
}

#[test]
fn signer_named_by_subject_key_identifier() {
    let root = root("CA gốc");
    let ee = issued(&root, Profile::Person, "Lê Thị Cúc", 9, KeyKind::P256);
    let (_, ski) = ee
        .cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    let cms = edit_signer(&sign(&ee, &[], false), |si| {
        si.sid = SignerIdentifier::SubjectKeyIdentifier(ski);
    });
    let r = verify(&cms, Some(DOC), &anchors(&[&root.cert]));
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
}

/// Two roots and two issuing CAs with the same names and different keys; the two
/// signers have the same serial number, so issuer-and-serial names both certificates.
/// A co-signed file carries all of them; both signatures must verify.
#[test]
fn ca_key_rollover_same_names_same_serials() {
    let old_root = root("Root CA quốc gia");
    let new_root = root("Root CA quốc gia");
    let old_ca = issued(
        &old_root,
        Profile::IssuingCa,
        "CA cấp dưới",
        2,
        KeyKind::P256,
    );
    let new_ca = issued(
        &new_root,
        Profile::IssuingCa,
        "CA cấp dưới",
        2,
        KeyKind::P256,
    );
    let a_old = issued(&old_ca, Profile::Person, "Người ký A", 42, KeyKind::P256);
    let b_new = issued(&new_ca, Profile::Seal, "Người ký B", 42, KeyKind::Rsa2048);
    assert_eq!(
        a_old.cert.tbs_certificate().serial_number(),
        b_new.cert.tbs_certificate().serial_number()
    );
    let first = sign(&a_old, std::slice::from_ref(&old_ca.cert), false);
    let digest = b_new.key.algorithm().digest().digest(DOC);
    let (both, _) = cosign(
        &first,
        &b_new.key,
        &sign_request(
            &digest,
            &b_new.cert,
            std::slice::from_ref(&new_ca.cert),
            None,
        ),
    )
    .unwrap();
    let a = anchors(&[&old_root.cert, &new_root.cert]);
    let r = verify(&both, Some(DOC), &a);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[0].trust_anchor_source.as_deref(), Some("test"));
    // The anchors in the other order, and each signer alone.
    let a_rev = anchors(&[&new_root.cert, &old_root.cert]);
    assert_eq!(verify(&both, Some(DOC), &a_rev).verdict, Verdict::Valid);
    // Key matching: with only the new root, the old chain must not verify.
    let only_new = anchors(&[&new_root.cert]);
    let r = verify(&both, Some(DOC), &only_new);
    assert_ne!(
        r.signatures[0].indication,
        kyso_cades::report::Indication::TotalPassed
    );
    assert_eq!(
        r.signatures[1].indication,
        kyso_cades::report::Indication::TotalPassed,
        "{r:#?}"
    );
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/legacy/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    Certificate::load_pem_chain(pem).unwrap()[0]
        .to_der()
        .unwrap()
}

#[test]
fn sha1_is_verified_and_judged_by_the_dated_policy() {
    let mut a = TrustAnchors::new();
    a.add_der(&pem_to_der(&fixture("root.pem"))).unwrap();
    let doc = fixture("doc.txt");
    let inside = datetime!(2015-06-01 00:00 UTC);
    let outside = datetime!(2020-06-01 00:00 UTC);
    for name in ["sha1-noattr.p7s", "sha1.p7s"] {
        let cms = fixture(name);
        // Before the cut-off: valid, with the weakness reported.
        let r = verify_at(&cms, Some(&doc), &a, inside, Limits::default());
        assert_eq!(r.verdict, Verdict::Valid, "{name} {r:#?}");
        assert!(codes(&r).contains(&"weak_algorithm"), "{name} {r:#?}");
        // After it: indeterminate, no proof of existence, never "unsupported".
        let r = verify_at(&cms, Some(&doc), &a, outside, Limits::default());
        assert_eq!(r.verdict, Verdict::Indeterminate, "{name} {r:#?}");
        let s = &r.signatures[0];
        assert_eq!(
            s.sub_indication,
            Some(SubIndication::CryptoConstraintsFailureNoPoe),
            "{name} {r:#?}"
        );
        assert!(codes(&r).contains(&"weak_algorithm_no_proof_of_time"));
        assert!(!codes(&r).contains(&"unsupported_algorithm"), "{r:#?}");
        let reason = &s.reasons[0].en;
        assert!(reason.contains("2016-01-01"), "{reason}");
        // A policy that accepts SHA-1 longer: valid with a warning.
        let lenient = Limits {
            algorithms: AlgorithmPolicy {
                sha1_until: datetime!(2030-01-01 00:00 UTC),
                ..AlgorithmPolicy::default()
            },
            ..Limits::default()
        };
        let r = verify_at(&cms, Some(&doc), &a, outside, lenient);
        assert_eq!(r.verdict, Verdict::Valid, "{name} {r:#?}");
        // Tampering is still a failure, whatever the policy says.
        let r = verify_at(&cms, Some(b"changed"), &a, inside, Limits::default());
        assert_eq!(r.verdict, Verdict::Invalid, "{name} {r:#?}");
    }
}

#[test]
fn validation_time_before_not_before_is_not_valid() {
    let root = root("CA gốc");
    let ee = issued(&root, Profile::Person, "Phạm Văn Dũng", 5, KeyKind::P256);
    let cms = sign(&ee, &[], false);
    let a = anchors(&[&root.cert]);
    let r = verify_at(
        &cms,
        Some(DOC),
        &a,
        T0 - Duration::days(30),
        Limits::default(),
    );
    assert_ne!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(
        r.signatures[0].sub_indication,
        Some(SubIndication::NotYetValid),
        "{r:#?}"
    );
    // The far future: a verdict, no panic.
    let r = verify_at(
        &cms,
        Some(DOC),
        &a,
        datetime!(9999-12-31 23:59:59 UTC),
        Limits::default(),
    );
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
}

#[test]
fn rsa_1024_is_verified_and_judged_by_the_dated_policy() {
    let mut a = TrustAnchors::new();
    a.add_der(&pem_to_der(&fixture("root.pem"))).unwrap();
    let doc = fixture("doc.txt");
    let cms = fixture("rsa1024.p7s");
    // 2013: both RSA-1024 (until 2014) and the SHA-1 certificates (until 2016) pass.
    let r = verify_at(
        &cms,
        Some(&doc),
        &a,
        datetime!(2013-06-01 00:00 UTC),
        Limits::default(),
    );
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    let warnings: Vec<&str> = r.signatures[0]
        .warnings
        .iter()
        .map(|w| w.en.as_str())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("RSA-1024")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("sha1WithRSAEncryption")),
        "{warnings:?}"
    );
    // 2015: RSA-1024 is past its cut-off.
    let r = verify_at(
        &cms,
        Some(&doc),
        &a,
        datetime!(2015-06-01 00:00 UTC),
        Limits::default(),
    );
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
    assert_eq!(
        r.signatures[0].sub_indication,
        Some(SubIndication::CryptoConstraintsFailureNoPoe)
    );
    assert!(r.signatures[0].reasons[0].en.contains("RSA-1024"), "{r:#?}");
}

/// The proof of existence can be a time-stamp: a SHA-1 signature time-stamped in 2015
/// (before the SHA-1 cut-off) is valid, with the weakness reported, when verified in
/// 2020.
#[test]
fn sha1_time_stamped_before_the_cut_off_stays_valid() {
    use kyso_cades::report::TimeSource;
    use kyso_cades::sign::{add_signature_timestamp, signature_value};
    use kyso_cades::tsp::{self, Tsa};
    let from = datetime!(2014-01-01 00:00 UTC);
    let to = datetime!(2034-01-01 00:00 UTC);
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root = issue(
        &request(Profile::RootCa, "TSA gốc", &root_key, 1, from, to),
        None,
        Some(&root_key),
    )
    .unwrap();
    let tsa_key = SoftKey::generate(KeyKind::P256).unwrap();
    let tsa = issue(
        &request(Profile::Tsa, "Dấu thời gian", &tsa_key, 3, from, to),
        Some(&Issuer {
            certificate: &root,
            key: &root_key,
        }),
        None,
    )
    .unwrap();
    let cms = fixture("sha1.p7s");
    let doc = fixture("doc.txt");
    let sig = signature_value(&cms).unwrap();
    let imprint = kyso_signer::DigestAlgorithm::Sha256.digest(&sig);
    let req = tsp::request(
        kyso_signer::DigestAlgorithm::Sha256,
        &imprint,
        Some(7),
        true,
    )
    .unwrap();
    let response = Tsa {
        certificate: &tsa,
        chain: &[],
        signer: &tsa_key,
        policy: tsp::DEFAULT_POLICY,
    }
    .respond(&req, [5; 16], datetime!(2015-03-01 08:00 UTC))
    .unwrap();
    let token = tsp::token_from_response(&response, &imprint, Some(7)).unwrap();
    let stamped = add_signature_timestamp(&cms, &sig, &token).unwrap();
    let mut a = TrustAnchors::new();
    a.add_der(&pem_to_der(&fixture("root.pem"))).unwrap();
    a.add_der(&root.to_der().unwrap()).unwrap();
    let at = datetime!(2020-06-01 00:00 UTC);
    let r = verify_at(&stamped, Some(&doc), &a, at, Limits::default());
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.signatures[0].signing_time_source, TimeSource::Timestamp);
    assert!(codes(&r).contains(&"weak_algorithm"), "{r:#?}");
    // The same signature without its time-stamp: nothing proves it is older.
    let r = verify_at(&cms, Some(&doc), &a, at, Limits::default());
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
}
