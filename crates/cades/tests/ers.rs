#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! RFC 4998 evidence records with real crypto: a test CA and two TSAs issued here,
//! time-stamps answered in-process by `Tsa::respond`. Building (N = 1, 2, 3, 7, 1,000),
//! tampering, time-stamp renewal across a TSA key change, hash-tree renewal, and
//! interoperability (an asn1crypto reader in Python, `openssl ts -verify`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use der::{Decode, Encode, EncodePem};
use kyso_cades::ers::{
    self, DataObject, ErsError, ErsFailure, ErsReport, EvidenceRecord, PartDigests, Verifier,
};
use kyso_cades::report::{Indication, SubIndication};
use kyso_cades::tsp::{self, Tsa};
use kyso_cades::{CadesError, Limits, Verdict, VerifyOptions};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::{DigestAlgorithm, KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_cert::Certificate;

use DigestAlgorithm::{Sha256, Sha384, Sha512};

/// First time-stamps.
const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// Time-stamp renewal, while TSA 1's certificate is still valid.
const T0R: OffsetDateTime = datetime!(2026-10-28 00:00 UTC);
/// TSA 1's certificate expires.
const T1: OffsetDateTime = datetime!(2027-02-05 00:00 UTC);
/// Validation, after TSA 1's expiry.
const T2: OffsetDateTime = datetime!(2027-05-16 00:00 UTC);

struct Pki {
    root: Certificate,
    sub: Certificate,
    tsa1: Certificate,
    tsa1_key: SoftKey,
    tsa2: Certificate,
    tsa2_key: SoftKey,
    anchors: TrustAnchors,
}

fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    to: OffsetDateTime,
    serial: u8,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("Cục Văn thư và Lưu trữ nhà nước".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key.public_key().clone(),
        not_before: T0 - Duration::days(1),
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

fn pki() -> Pki {
    let far = T0 + Duration::days(3650);
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root = issue(
        &request(Profile::RootCa, "CA gốc lưu trữ", &root_key, far, 1),
        None,
        Some(&root_key),
    )
    .unwrap();
    let sub_key = SoftKey::generate(KeyKind::P256).unwrap();
    let sub = issue(
        &request(Profile::IssuingCa, "CA cấp dưới lưu trữ", &sub_key, far, 2),
        Some(&Issuer {
            certificate: &root,
            key: &root_key,
        }),
        None,
    )
    .unwrap();
    let by_sub = Issuer {
        certificate: &sub,
        key: &sub_key,
    };
    let tsa1_key = SoftKey::generate(KeyKind::P256).unwrap();
    let tsa1 = issue(
        &request(Profile::Tsa, "TSA 1", &tsa1_key, T1, 3),
        Some(&by_sub),
        None,
    )
    .unwrap();
    let tsa2_key = SoftKey::generate(KeyKind::P256).unwrap();
    let tsa2 = issue(
        &request(Profile::Tsa, "TSA 2", &tsa2_key, far, 4),
        Some(&by_sub),
        None,
    )
    .unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&root.to_der().unwrap()).unwrap();
    Pki {
        root,
        sub,
        tsa1,
        tsa1_key,
        tsa2,
        tsa2_key,
        anchors,
    }
}

impl Pki {
    fn tsa(&self, which: u8) -> Tsa<'_> {
        let (certificate, signer): (&Certificate, &dyn Signer) = if which == 1 {
            (&self.tsa1, &self.tsa1_key)
        } else {
            (&self.tsa2, &self.tsa2_key)
        };
        Tsa {
            certificate,
            chain: std::slice::from_ref(&self.sub),
            signer,
            policy: tsp::DEFAULT_POLICY,
        }
    }

    fn options(&self, at: OffsetDateTime) -> VerifyOptions<'_> {
        VerifyOptions {
            anchors: &self.anchors,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: at,
            revocation: RevocationMode::Skip,
            limits: Limits::default(),
        }
    }

    fn verify(&self, record: &[u8], parts: &[PartDigests], at: OffsetDateTime) -> ErsReport {
        ers::verify(record, parts, &self.options(at), &ers::Limits::default()).unwrap()
    }
}

/// A time-stamp source answered in-process by `tsa` at `at`, counting its calls.
struct Stamper<'a> {
    tsa: Tsa<'a>,
    at: OffsetDateTime,
    calls: u32,
}

impl<'a> Stamper<'a> {
    fn new(tsa: Tsa<'a>, at: OffsetDateTime) -> Self {
        Self { tsa, at, calls: 0 }
    }

    fn stamp(&mut self, alg: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, CadesError> {
        self.calls += 1;
        let nonce = u64::from(self.calls) * 7919;
        let req = tsp::request(alg, imprint, Some(nonce), true)?;
        let mut serial = [0x11; 16];
        serial[12..].copy_from_slice(&self.calls.to_be_bytes());
        let resp = self.tsa.respond(&req, serial, self.at)?;
        tsp::token_from_response(&resp, imprint, Some(nonce))
    }

    fn build(&mut self, objects: &[DataObject], alg: DigestAlgorithm) -> Vec<Vec<u8>> {
        ers::build(objects, alg, &mut |a, i| self.stamp(a, i)).unwrap()
    }

    fn renew(&mut self, records: &[Vec<u8>]) -> Vec<Vec<u8>> {
        ers::renew_timestamps(records, &ers::Limits::default(), &mut |a, i| {
            self.stamp(a, i)
        })
        .unwrap()
    }
}

/// Object `i`: a decision, and for odd `i` also its captured validation material.
fn parts_of(i: usize) -> Vec<Vec<u8>> {
    let mut parts = vec![format!("Quyết định số {i}/QĐ-UBND về việc lưu trữ").into_bytes()];
    if i % 2 == 1 {
        parts.push(format!("validation material of {i}: CRL, OCSP").into_bytes());
    }
    parts
}

fn object(alg: DigestAlgorithm, parts: &[Vec<u8>]) -> DataObject {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    DataObject::of_parts(alg, &refs)
}

fn digests(parts: &[Vec<u8>], algs: &[DigestAlgorithm]) -> Vec<PartDigests> {
    parts.iter().map(|p| PartDigests::of(p, algs)).collect()
}

fn assert_valid(report: &ErsReport, poe: OffsetDateTime) {
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert!(report.failures.is_empty(), "{report:#?}");
    assert_eq!(report.proof_of_existence, Some(poe));
}

fn has(report: &ErsReport, pred: impl Fn(&ErsFailure) -> bool) -> bool {
    report.failures.iter().any(pred)
}

fn parse(record: &[u8]) -> EvidenceRecord {
    EvidenceRecord::parse(record, &ers::Limits::default()).unwrap()
}

#[test]
fn batches_of_1_2_3_7_objects_verify_each_against_its_own_parts_only() {
    let p = pki();
    for (n, alg) in [(1, Sha256), (2, Sha256), (3, Sha384), (7, Sha512)] {
        let parts: Vec<_> = (0..n).map(parts_of).collect();
        let objects: Vec<_> = parts.iter().map(|ps| object(alg, ps)).collect();
        let mut stamper = Stamper::new(p.tsa(1), T0);
        let records = stamper.build(&objects, alg);
        assert_eq!(stamper.calls, 1, "one time-stamp per batch");
        assert_eq!(records.len(), n);
        for (i, record) in records.iter().enumerate() {
            let parsed = parse(record);
            assert_eq!(parsed.digest_algorithms().unwrap(), vec![alg]);
            let reduced = &parsed.archive_time_stamp_sequence[0][0].reduced_hashtree;
            if n == 1 {
                assert!(reduced.is_none(), "N = 1: the imprint is the object's hash");
            } else {
                let first = &reduced.as_ref().unwrap()[0];
                assert_eq!(
                    first.len(),
                    parts[i].len(),
                    "first list: the object's parts"
                );
            }
            let report = p.verify(record, &digests(&parts[i], &[alg]), T0 + Duration::days(10));
            assert_valid(&report, T0);
            assert_eq!(report.stamps.len(), 1);
            assert!(report.stamps[0].tsa.as_deref().unwrap().contains("TSA 1"));
            assert_eq!(report.stamps[0].algorithm, Some(alg));

            // Another object's parts (or, alone in its batch, an unrelated one's).
            let other = if n == 1 {
                parts_of(99)
            } else {
                parts[(i + 1) % n].clone()
            };
            let report = p.verify(record, &digests(&other, &[alg]), T0 + Duration::days(10));
            assert_eq!(report.verdict, Verdict::Invalid, "n={n} i={i}");
            assert!(
                has(&report, |f| matches!(
                    f,
                    ErsFailure::DataNotCovered { chain: 1, stamp: 1 }
                )),
                "{report:#?}"
            );
            assert_eq!(report.proof_of_existence, None);
        }
    }
}

#[test]
fn a_thousand_objects_share_one_time_stamp() {
    let p = pki();
    let n = 1000;
    let parts: Vec<Vec<Vec<u8>>> = (0..n)
        .map(|i| {
            let mut ps = vec![format!("Hồ sơ lưu trữ số {i}").into_bytes()];
            if i % 10 == 3 {
                ps.push(format!("validation material {i}").into_bytes());
            }
            ps
        })
        .collect();
    let objects: Vec<_> = parts.iter().map(|ps| object(Sha256, ps)).collect();
    let started = Instant::now();
    let mut stamper = Stamper::new(p.tsa(1), T0);
    let records = stamper.build(&objects, Sha256);
    let built = started.elapsed();
    assert_eq!(stamper.calls, 1);
    assert_eq!(records.len(), n);
    let mut verifier = Verifier::new(p.options(T0 + Duration::days(1)), ers::Limits::default());
    for (i, record) in records.iter().enumerate() {
        let report = verifier
            .verify(record, &digests(&parts[i], &[Sha256]))
            .unwrap();
        assert_valid(&report, T0);
    }
    for i in [0, 3, 500, 999] {
        let other = &parts[(i + 1) % n];
        let report = verifier
            .verify(&records[i], &digests(other, &[Sha256]))
            .unwrap();
        assert_eq!(report.verdict, Verdict::Invalid);
    }
    let total = started.elapsed();
    eprintln!("1,000 objects: built in {built:?}, built and verified in {total:?}");
    assert!(total.as_secs() < 20, "too slow: {total:?}");
}

/// One batch of 7 at T0; object 3 is a group of two parts.
fn seven(p: &Pki) -> (Vec<Vec<Vec<u8>>>, Vec<Vec<u8>>) {
    let parts: Vec<_> = (0..7).map(parts_of).collect();
    let objects: Vec<_> = parts.iter().map(|ps| object(Sha256, ps)).collect();
    let records = Stamper::new(p.tsa(1), T0).build(&objects, Sha256);
    (parts, records)
}

#[test]
fn tampering_with_the_data_or_the_record_fails() {
    let p = pki();
    let (parts, records) = seven(&p);
    let at = T0 + Duration::days(30);
    let (record, own) = (&records[3], &parts[3]);
    assert_valid(&p.verify(record, &digests(own, &[Sha256]), at), T0);

    // A flipped byte in a part.
    for part in 0..2 {
        let mut changed = own.clone();
        changed[part][5] ^= 0x01;
        let report = p.verify(record, &digests(&changed, &[Sha256]), at);
        assert_eq!(report.verdict, Verdict::Invalid);
        assert!(
            has(&report, |f| matches!(
                f,
                ErsFailure::DataNotCovered { chain: 1, stamp: 1 }
            )),
            "{report:#?}"
        );
    }

    // A missing part (the validation material, or the original).
    for kept in 0..2 {
        let report = p.verify(record, &digests(&own[kept..=kept], &[Sha256]), at);
        assert_eq!(report.verdict, Verdict::Invalid);
        assert!(
            has(&report, |f| matches!(
                f,
                ErsFailure::MissingParts {
                    given: 1,
                    listed: 2,
                    ..
                }
            )),
            "{report:#?}"
        );
        assert!(report.failures[0].to_string().contains("a part is missing"));
    }

    // A modified hash in the reduced hash tree (a sibling, then one of the parts).
    for (list, value) in [(1, 0), (2, 0), (0, 1)] {
        let mut parsed = parse(record);
        let tree = parsed.archive_time_stamp_sequence[0][0]
            .reduced_hashtree
            .as_mut()
            .unwrap();
        let mut bytes = tree[list][value].as_bytes().to_vec();
        bytes[0] ^= 0x80;
        tree[list][value] = der::asn1::OctetString::new(bytes).unwrap();
        let report = p.verify(&parsed.encode().unwrap(), &digests(own, &[Sha256]), at);
        assert_eq!(report.verdict, Verdict::Invalid);
        let expected = |f: &ErsFailure| {
            if list == 0 {
                // The data's own hash changed: the data is no longer in the record.
                matches!(f, ErsFailure::DataNotCovered { .. })
            } else {
                matches!(f, ErsFailure::HashTreeMismatch { chain: 1, stamp: 1 })
            }
        };
        assert!(has(&report, expected), "{report:#?}");
    }

    // A modified time-stamp token: the last byte of its signature value.
    let token = parse(record).tokens().unwrap().remove(0);
    let start = record
        .windows(token.len())
        .position(|w| w == token.as_slice())
        .unwrap();
    let mut bad = record.clone();
    bad[start + token.len() - 1] ^= 0x01;
    let report = p.verify(&bad, &digests(own, &[Sha256]), at);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(
        has(&report, |f| matches!(
            f,
            ErsFailure::TimeStampNotValid {
                chain: 1,
                stamp: 1,
                indication: Indication::TotalFailed,
                sub_indication: Some(SubIndication::SigCryptoFailure),
                ..
            }
        )),
        "{report:#?}"
    );
    // The signed genTime/imprint (inside the TSTInfo): the token's digest breaks.
    let info = tsp::parse_token(&token).unwrap();
    let imprint_at = record
        .windows(info.imprint.len())
        .position(|w| w == info.imprint.as_slice())
        .unwrap();
    let mut bad = record.clone();
    bad[imprint_at] ^= 0x01;
    let report = p.verify(&bad, &digests(own, &[Sha256]), at);
    assert_eq!(report.verdict, Verdict::Invalid, "{report:#?}");

    // A truncated record.
    for cut in [1, 10, record.len() / 2, record.len() - 1] {
        let err = ers::verify(
            &record[..cut],
            &digests(own, &[Sha256]),
            &p.options(at),
            &ers::Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ErsError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("malformed evidence record"));
    }
    // Over the limits.
    let small = ers::Limits {
        max_record_size: 100,
        ..ers::Limits::default()
    };
    assert!(matches!(
        ers::verify(record, &digests(own, &[Sha256]), &p.options(at), &small),
        Err(ErsError::TooLarge { .. })
    ));
    let shallow = ers::Limits {
        max_partial_trees: 2,
        ..ers::Limits::default()
    };
    assert!(matches!(
        ers::verify(record, &digests(own, &[Sha256]), &p.options(at), &shallow),
        Err(ErsError::LimitExceeded {
            what: "PartialHashtrees",
            ..
        })
    ));

    // Random bit flips: never valid, never a panic. Inside the token, CMS leaves a few
    // fields unsigned (SignedData's version and digestAlgorithms set): flips there may
    // leave the token valid, as for any RFC 3161 token.
    let token_range = start..start + token.len();
    let mut verifier = Verifier::new(p.options(at), ers::Limits::default());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut bad = record.clone();
        let pos = (seed % bad.len() as u64) as usize;
        bad[pos] ^= 1 << (seed >> 60 & 7);
        if let Ok(report) = verifier.verify(&bad, &digests(own, &[Sha256])) {
            assert!(
                !report.is_valid() || token_range.contains(&pos),
                "flip at {pos} still valid"
            );
        }
    }
}

#[test]
fn removed_renewals_are_detected() {
    let p = pki();
    let (parts, records) = seven(&p);
    let own = digests(&parts[3], &[Sha256]);
    // Two time-stamp renewals by TSA 2.
    let once = Stamper::new(p.tsa(2), T0R).renew(&records);
    let twice = Stamper::new(p.tsa(2), T0R + Duration::days(5)).renew(&once);
    let at = T2;
    assert_valid(&p.verify(&twice[3], &own, at), T0);

    // The middle stamp removed: stamp 3 (now 2) covers a time-stamp that is gone.
    let mut parsed = parse(&twice[3]);
    parsed.archive_time_stamp_sequence[0].remove(1);
    let report = p.verify(&parsed.encode().unwrap(), &own, at);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(
        has(&report, |f| matches!(
            f,
            ErsFailure::PreviousTimeStampNotCovered { chain: 1, stamp: 2 }
        )),
        "{report:#?}"
    );
    assert!(
        report.failures[0]
            .to_string()
            .contains("chain 1 stamp 2 does not cover the previous time-stamp")
    );

    // A time-stamp renewal removed before a hash-tree renewal: chain 2 no longer
    // covers the earlier chains.
    let renewed = ers::renew_hash_trees(
        &[(once[3].clone(), object(Sha512, &parts[3]))],
        Sha512,
        &ers::Limits::default(),
        &mut |a, i| Stamper::new(p.tsa(2), T0R + Duration::days(1)).stamp(a, i),
    )
    .unwrap()
    .remove(0);
    let both = digests(&parts[3], &[Sha256, Sha512]);
    assert_valid(&p.verify(&renewed, &both, at), T0);
    let mut parsed = parse(&renewed);
    parsed.archive_time_stamp_sequence[0].remove(1);
    let report = p.verify(&parsed.encode().unwrap(), &both, at);
    assert_eq!(report.verdict, Verdict::Invalid);
    assert!(
        has(&report, |f| matches!(
            f,
            ErsFailure::PreviousChainsNotCovered { chain: 2 }
        )),
        "{report:#?}"
    );

    // The last renewal removed: TSA 1's certificate has expired at T2 and nothing
    // protects its time-stamp any more.
    let report = p.verify(&records[3], &own, at);
    assert_ne!(report.verdict, Verdict::Valid);
}

#[test]
fn time_stamp_renewal_across_a_tsa_key_change() {
    let p = pki();
    let (parts, records) = seven(&p);
    // A second batch, time-stamped separately: renewed in the same call.
    let extra_parts = parts_of(11);
    let extra = Stamper::new(p.tsa(1), T0 + Duration::days(2))
        .build(&[object(Sha256, &extra_parts)], Sha256);
    let mut all = records.clone();
    all.extend(extra.iter().cloned());

    let mut stamper = Stamper::new(p.tsa(2), T0R);
    let renewed = stamper.renew(&all);
    assert_eq!(stamper.calls, 1, "one new time-stamp for every record");
    assert_eq!(renewed.len(), 8);

    for (i, record) in renewed.iter().enumerate() {
        let own = if i < 7 { &parts[i] } else { &extra_parts };
        let report = p.verify(record, &digests(own, &[Sha256]), T2);
        let poe = if i < 7 { T0 } else { T0 + Duration::days(2) };
        assert_valid(&report, poe);
        assert_eq!(report.stamps.len(), 2);
        let (first, second) = (&report.stamps[0], &report.stamps[1]);
        assert_eq!((first.chain, first.stamp), (1, 1));
        assert_eq!((second.chain, second.stamp), (1, 2));
        assert!(first.tsa.as_deref().unwrap().contains("TSA 1"));
        assert!(second.tsa.as_deref().unwrap().contains("TSA 2"));
        assert_eq!(first.validated_at, T0R, "validated when it was renewed");
        assert_eq!(second.validated_at, T2);
        assert_eq!(second.time, Some(T0R));
    }

    // Without the renewal, at T2: TSA 1's certificate has expired.
    let report = p.verify(&records[0], &digests(&parts[0], &[Sha256]), T2);
    assert_eq!(report.verdict, Verdict::Indeterminate, "{report:#?}");
    assert_eq!(report.proof_of_existence, None);
    assert!(
        has(&report, |f| matches!(
            f,
            ErsFailure::TimeStampNotValid {
                chain: 1,
                stamp: 1,
                sub_indication: Some(SubIndication::OutOfBoundsNoPoe),
                code: "timestamp_expired_no_proof_of_time",
                ..
            }
        )),
        "{report:#?}"
    );
    // ... but valid before T1.
    assert_valid(
        &p.verify(
            &records[0],
            &digests(&parts[0], &[Sha256]),
            T1 - Duration::days(1),
        ),
        T0,
    );
    // A renewal after TSA 1's expiry does not help.
    let late = Stamper::new(p.tsa(2), T1 + Duration::days(1)).renew(&records[..1]);
    let report = p.verify(&late[0], &digests(&parts[0], &[Sha256]), T2);
    assert_ne!(report.verdict, Verdict::Valid);
}

#[test]
fn hash_tree_renewal_sha256_to_sha512() {
    let p = pki();
    let (parts, records) = seven(&p);
    let batch: Vec<(Vec<u8>, DataObject)> = records
        .iter()
        .zip(&parts)
        .map(|(r, ps)| (r.clone(), object(Sha512, ps)))
        .collect();
    let mut stamper = Stamper::new(p.tsa(2), T0R);
    let renewed = ers::renew_hash_trees(&batch, Sha512, &ers::Limits::default(), &mut |a, i| {
        stamper.stamp(a, i)
    })
    .unwrap();
    assert_eq!(stamper.calls, 1);
    for (i, record) in renewed.iter().enumerate() {
        let parsed = parse(record);
        assert_eq!(parsed.archive_time_stamp_sequence.len(), 2);
        let algs = parsed.digest_algorithms().unwrap();
        assert_eq!(algs, vec![Sha256, Sha512]);
        assert_eq!(parsed.digest_algorithms.len(), 2);
        let report = p.verify(record, &digests(&parts[i], &algs), T2);
        assert_valid(&report, T0);
        assert_eq!(report.stamps[1].algorithm, Some(Sha512));
        assert_eq!(report.stamps[0].validated_at, T0R);

        // A wrong SHA-512 digest (the SHA-256 one right).
        let wrong: Vec<PartDigests> = parts[i]
            .iter()
            .map(|part| {
                PartDigests::default()
                    .with(Sha256, Sha256.digest(part))
                    .with(Sha512, Sha512.digest(b"something else"))
            })
            .collect();
        let report = p.verify(record, &wrong, T2);
        assert_eq!(report.verdict, Verdict::Invalid);
        assert!(
            has(&report, |f| matches!(
                f,
                ErsFailure::PreviousChainsNotCovered { chain: 2 }
            )),
            "{report:#?}"
        );
        // No SHA-512 digest at all: the caller must give it.
        let report = p.verify(record, &digests(&parts[i], &[Sha256]), T2);
        assert_eq!(report.verdict, Verdict::Indeterminate);
        assert!(has(&report, |f| matches!(
            f,
            ErsFailure::MissingDigest {
                algorithm: Sha512,
                ..
            }
        )));
    }
    // Part digests of the wrong algorithm are refused when renewing.
    let err = ers::renew_hash_trees(
        &[(records[0].clone(), object(Sha256, &parts[0]))],
        Sha512,
        &ers::Limits::default(),
        &mut |a, i| stamper.stamp(a, i),
    )
    .unwrap_err();
    assert!(matches!(err, ErsError::Misuse(_)), "{err}");
}

#[test]
fn a_source_answering_for_another_imprint_is_refused() {
    let p = pki();
    let mut stamper = Stamper::new(p.tsa(1), T0);
    let err = ers::build(&[object(Sha256, &parts_of(0))], Sha256, &mut |a, _| {
        stamper.stamp(a, &[0x42; 32])
    })
    .unwrap_err();
    assert!(matches!(err, ErsError::Timestamp(_)), "{err}");
    let err = ers::build(&[object(Sha256, &parts_of(0))], Sha256, &mut |_, _| {
        Err::<Vec<u8>, _>("TSA unreachable")
    })
    .unwrap_err();
    assert!(
        matches!(&err, ErsError::TimestampSource(m) if m == "TSA unreachable"),
        "{err}"
    );
    assert!(matches!(
        ers::build(&[], Sha256, &mut |a, i| stamper.stamp(a, i)),
        Err(ErsError::Misuse(_))
    ));
}

// ---------------------------------------------------------------------------------
// Interoperability
// ---------------------------------------------------------------------------------

/// A peer program, or `None` when missing outside CI (under `CI=true` a missing peer
/// fails the test).
fn peer(what: &str, path: PathBuf, probe: &[&str], hint: &str) -> Option<PathBuf> {
    let ok = Command::new(&path)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(path);
    }
    let message = format!(
        "peer missing: {what} ({} {probe:?} failed); {hint}",
        path.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("skipped: {message}");
    None
}

/// RFC 4998's schema in asn1crypto: parse a record, recompute the reduced hash tree
/// from the parts' digests (hex, comma-separated) to the TSTInfo's messageImprint, write
/// the token, print the root.
const READER: &str = r#"
import hashlib, sys
from asn1crypto import algos, cms, core, tsp  # tsp: TSTInfo parsed from eContent

class PartialHashtree(core.SequenceOf):
    _child_spec = core.OctetString

class ReducedHashtree(core.SequenceOf):
    _child_spec = PartialHashtree

class ArchiveTimeStamp(core.Sequence):
    _fields = [
        ('digestAlgorithm', algos.DigestAlgorithm, {'implicit': 0, 'optional': True}),
        ('attributes', cms.CMSAttributes, {'implicit': 1, 'optional': True}),
        ('reducedHashtree', ReducedHashtree, {'implicit': 2, 'optional': True}),
        ('timeStamp', cms.ContentInfo),
    ]

class ArchiveTimeStampChain(core.SequenceOf):
    _child_spec = ArchiveTimeStamp

class ArchiveTimeStampSequence(core.SequenceOf):
    _child_spec = ArchiveTimeStampChain

class DigestAlgorithmList(core.SequenceOf):
    _child_spec = algos.DigestAlgorithm

class CryptoInfos(core.SequenceOf):
    _child_spec = cms.CMSAttribute

class EncryptionInfo(core.Sequence):
    _fields = [('encryptionInfoType', core.ObjectIdentifier), ('encryptionInfoValue', core.Any)]

class EvidenceRecord(core.Sequence):
    _fields = [
        ('version', core.Integer),
        ('digestAlgorithms', DigestAlgorithmList),
        ('cryptoInfos', CryptoInfos, {'implicit': 0, 'optional': True}),
        ('encryptionInfo', EncryptionInfo, {'implicit': 1, 'optional': True}),
        ('archiveTimeStampSequence', ArchiveTimeStampSequence),
    ]

record_path, parts_hex, token_path = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(record_path, 'rb').read()
record = EvidenceRecord.load(data, strict=True)
# (DER is checked by the Rust round trip: asn1crypto's forced re-encoding is slow.)
assert record['version'].native == 1
ats = record['archiveTimeStampSequence'][0][0]
alg = ats['digestAlgorithm']['algorithm'].native
assert record['digestAlgorithms'][0]['algorithm'].native == alg
H = lambda b: hashlib.new(alg, b).digest()
parts = [bytes.fromhex(x) for x in parts_hex.split(',')]
tree = ats['reducedHashtree'].native
if tree is None:
    root = parts[0] if len(parts) == 1 else H(b''.join(sorted(parts)))
else:
    first = tree[0]
    assert sorted(first) == sorted(parts), 'first list is not the data object'
    root = first[0] if len(first) == 1 else H(b''.join(sorted(first)))
    for siblings in tree[1:]:
        root = H(b''.join(sorted(siblings + [root])))
signed = ats['timeStamp']
assert signed['content_type'].native == 'signed_data'
tst = signed['content']['encap_content_info']['content'].parsed
imprint = tst['message_imprint']
assert imprint['hash_algorithm']['algorithm'].native == alg
assert imprint['hashed_message'].native == root, 'root is not the imprint'
open(token_path, 'wb').write(signed.dump())
print(root.hex())
"#;

#[test]
fn records_read_by_asn1crypto_and_tokens_verified_by_openssl() {
    let python = std::env::var_os("KYSO_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    let Some(python) = peer(
        "Python with asn1crypto (pyHanko's venv)",
        python,
        &["-c", "import asn1crypto"],
        "run scripts/test.sh once (it makes the pyHanko venv at .venv) or set KYSO_PYTHON",
    ) else {
        return;
    };
    let Some(openssl) = peer(
        "openssl",
        PathBuf::from("openssl"),
        &["version"],
        "install OpenSSL's command-line tool",
    ) else {
        return;
    };
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, p.root.to_pem(der::pem::LineEnding::LF).unwrap()).unwrap();

    let mut checked = 0;
    for (n, alg) in [(1, Sha256), (3, Sha256), (5, Sha512)] {
        let parts: Vec<_> = (0..n).map(parts_of).collect();
        let objects: Vec<_> = parts.iter().map(|ps| object(alg, ps)).collect();
        let records = Stamper::new(p.tsa(1), T0).build(&objects, alg);
        for (i, record) in records.iter().enumerate() {
            let path = dir.path().join(format!("record-{n}-{i}.ers"));
            let token_path = dir.path().join(format!("token-{n}-{i}.der"));
            std::fs::write(&path, record).unwrap();
            let hex: Vec<String> = objects[i].parts.iter().map(hex::encode).collect();
            let out = Command::new(&python)
                .arg("-c")
                .arg(READER)
                .arg(&path)
                .arg(hex.join(","))
                .arg(&token_path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "asn1crypto reader failed on record {i} of {n}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let root = String::from_utf8(out.stdout).unwrap().trim().to_string();
            let token = parse(record).tokens().unwrap().remove(0);
            let info = tsp::parse_token(&token).unwrap();
            assert_eq!(root, hex::encode(&info.imprint));
            assert_eq!(std::fs::read(&token_path).unwrap(), token);

            let out = Command::new(&openssl)
                .args(["ts", "-verify", "-digest", &root, "-token_in", "-in"])
                .arg(&token_path)
                .arg("-CAfile")
                .arg(&ca)
                .args([
                    "-attime",
                    &(T0 + Duration::days(1)).unix_timestamp().to_string(),
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && text.contains("Verification: OK"),
                "openssl ts -verify failed on record {i} of {n}:\n{text}"
            );
            // And a root that is not the imprint is refused by openssl too.
            let wrong = hex::encode(alg.digest(b"not the root"));
            let out = Command::new(&openssl)
                .args(["ts", "-verify", "-digest", &wrong, "-token_in", "-in"])
                .arg(&token_path)
                .arg("-CAfile")
                .arg(&ca)
                .args([
                    "-attime",
                    &(T0 + Duration::days(1)).unix_timestamp().to_string(),
                ])
                .output()
                .unwrap();
            assert!(!out.status.success());
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}

#[test]
fn records_survive_a_der_round_trip() {
    let p = pki();
    let (_, records) = seven(&p);
    for record in &records {
        let parsed = EvidenceRecord::from_der(record).unwrap();
        assert_eq!(&parsed.to_der().unwrap(), record);
        // IMPLICIT tags: [0] replaces AlgorithmIdentifier's SEQUENCE tag.
        let ats = &parsed.archive_time_stamp_sequence[0][0];
        let der = ats.to_der().unwrap();
        assert_eq!(der[0], 0x30);
        let body = &der[2 + usize::from(der[1] & 0x80 != 0) * usize::from(der[1] & 0x7f)..];
        assert_eq!(body[0], 0xa0, "digestAlgorithm [0] IMPLICIT, constructed");
        assert_eq!(
            body[2], 0x06,
            "the OID directly inside [0]: implicit tagging"
        );
    }
}
