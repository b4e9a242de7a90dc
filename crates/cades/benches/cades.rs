#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "benchmark set-up panics on failure"
)]

//! In-process CAdES performance: detached signing and full verification of 1 MB and
//! 10 MB contents, plus the phases they are made of so a missed target can be
//! attributed (`cargo bench -p kyso-cades`; `scripts/bench.sh` compares whole
//! processes with `openssl cms`).
//!
//! The test PKI is root → issuing CA → signer (as `kyso ca init` / `kyso ca issue`
//! build it), with a CRL from each CA, so verification under
//! [`RevocationMode::Require`] has everything it needs inside the signature.
//!
//! * `sign/<alg>/<size>`: hash the content + `prepare` + key signature + `assemble`
//!   (what `kyso sign` does after loading the key; key object reused, certificates
//!   already parsed). Size `0` is the fixed cost without hashing.
//! * `verify/<alg>/<size>`: `verify_detached` with path validation, key usage and
//!   revocation from the embedded CRLs (`Require`); `verify-skip-revocation/…` with
//!   `RevocationMode::Skip`.
//! * `phase/…`: the pieces: content digest alone, `prepare`, the raw key signature,
//!   `assemble`, and `validate_path` alone.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use der::Encode;
use kyso_cades::sign::{SignRequest, prepare};
use kyso_cades::{Limits, Verdict, VerifyOptions, verify_detached};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, build_crl, issue};
use kyso_pki::path::{PathInput, PathPolicy, RevocationMode, TrustAnchors, validate_path};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::OffsetDateTime;
use x509_cert::Certificate;

const MB: usize = 1 << 20;
const SIZES: [(usize, &str); 3] = [(0, "0"), (MB, "1MB"), (10 * MB, "10MB")];
const KINDS: [(KeyKind, &str); 3] = [
    (KeyKind::P256, "p256"),
    (KeyKind::Rsa2048, "rsa2048"),
    (KeyKind::P384, "p384"),
];

struct Pki {
    root: Certificate,
    issuing: Certificate,
    /// DER CRLs: the root's (covers the issuing CA) and the issuing CA's (covers signers).
    crls: Vec<Vec<u8>>,
    anchors: TrustAnchors,
    now: OffsetDateTime,
    issuing_key: SoftKey,
}

fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    now: OffsetDateTime,
    serial: u8,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("Ủy ban nhân dân thành phố Cần Thơ".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key.public_key().clone(),
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(365 - u32::from(serial) as i64),
        serial: [serial; 16],
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: (profile == Profile::IssuingCa).then_some(0),
    }
}

impl Pki {
    fn new() -> Self {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let root_key = SoftKey::generate(KeyKind::P256).unwrap();
        let root = issue(
            &request(Profile::RootCa, "CA gốc", &root_key, now, 1),
            None,
            Some(&root_key),
        )
        .unwrap();
        let issuing_key = SoftKey::generate(KeyKind::P256).unwrap();
        let root_issuer = Issuer {
            certificate: &root,
            key: &root_key,
        };
        let issuing = issue(
            &request(Profile::IssuingCa, "CA cấp dưới", &issuing_key, now, 2),
            Some(&root_issuer),
            None,
        )
        .unwrap();
        let this_update = now - time::Duration::hours(1);
        let next_update = now + time::Duration::days(7);
        let root_crl = build_crl(&root_issuer, &[], this_update, next_update, 1).unwrap();
        let issuing_crl = build_crl(
            &Issuer {
                certificate: &issuing,
                key: &issuing_key,
            },
            &[],
            this_update,
            next_update,
            1,
        )
        .unwrap();
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&root.to_der().unwrap()).unwrap();
        Self {
            root,
            issuing,
            crls: vec![root_crl, issuing_crl],
            anchors,
            now,
            issuing_key,
        }
    }

    fn signer(&self, kind: KeyKind, serial: u8) -> (SoftKey, Certificate) {
        let key = SoftKey::generate(kind).unwrap();
        let cert = issue(
            &request(Profile::Person, "Nguyễn Văn An", &key, self.now, serial),
            Some(&Issuer {
                certificate: &self.issuing,
                key: &self.issuing_key,
            }),
            None,
        )
        .unwrap();
        (key, cert)
    }

    fn verify_options(&self, revocation: RevocationMode) -> VerifyOptions<'_> {
        VerifyOptions {
            anchors: &self.anchors,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: self.now + time::Duration::minutes(1),
            revocation,
            limits: Limits::default(),
        }
    }
}

/// Deterministic incompressible-looking content (xorshift64*), no extra dependency.
fn content(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What `kyso sign` does once the key and certificates are loaded.
fn sign_content(
    key: &SoftKey,
    cert: &Certificate,
    chain: &[Certificate],
    crls: &[Vec<u8>],
    data: &[u8],
    at: OffsetDateTime,
) -> Vec<u8> {
    let mut hasher = key.algorithm().digest().hasher();
    hasher.update(data);
    let digest = hasher.finish();
    kyso_cades::sign(
        key,
        &SignRequest {
            message_digest: &digest,
            signer_certificate: cert,
            chain,
            signing_time: Some(at),
            content_type: None,
            crls,
            encapsulated: None,
        },
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let pki = Pki::new();
    let chain = std::slice::from_ref(&pki.issuing);
    let contents: Vec<(Vec<u8>, &str)> = SIZES.iter().map(|&(n, l)| (content(n), l)).collect();
    let signers: Vec<(SoftKey, Certificate, &str)> = KINDS
        .iter()
        .enumerate()
        .map(|(i, &(kind, label))| {
            let (key, cert) = pki.signer(kind, 10 + i as u8);
            (key, cert, label)
        })
        .collect();

    // --- signing -----------------------------------------------------------------
    let mut group = c.benchmark_group("sign");
    for (key, cert, alg) in &signers {
        for (data, size) in &contents {
            group.throughput(Throughput::Bytes(data.len() as u64));
            group.bench_with_input(BenchmarkId::new(*alg, size), data, |b, data| {
                b.iter(|| sign_content(key, cert, chain, &[], black_box(data), pki.now));
            });
        }
    }
    group.finish();

    // With both CRLs embedded (the default of `kyso sign`): parsing them costs.
    let mut group = c.benchmark_group("sign-embed-crls");
    let (key, cert, alg) = &signers[0];
    let (data, size) = &contents[1];
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new(*alg, size), |b| {
        b.iter(|| sign_content(key, cert, chain, &pki.crls, black_box(data), pki.now));
    });
    group.finish();

    // --- verification ------------------------------------------------------------
    for (group_name, mode) in [
        ("verify", RevocationMode::Require),
        ("verify-skip-revocation", RevocationMode::Skip),
    ] {
        let options = pki.verify_options(mode);
        let mut group = c.benchmark_group(group_name);
        for (key, cert, alg) in &signers {
            if mode == RevocationMode::Skip && *alg != "p256" {
                continue;
            }
            for (data, size) in &contents {
                let cms = sign_content(key, cert, chain, &pki.crls, data, pki.now);
                let report = verify_detached(&cms, Some(&[data]), &options).unwrap();
                assert_eq!(report.verdict, Verdict::Valid, "{report:?}");
                group.throughput(Throughput::Bytes(data.len() as u64));
                group.bench_with_input(BenchmarkId::new(*alg, size), data, |b, data| {
                    b.iter(|| {
                        verify_detached(black_box(&cms), Some(&[data.as_slice()]), &options)
                            .unwrap()
                    });
                });
            }
        }
        group.finish();
    }

    // --- phases (P-256, 1 MB unless said) ----------------------------------------
    let mut group = c.benchmark_group("phase");
    let (data, _) = &contents[1];
    for (digest, name) in [
        (kyso_signer::DigestAlgorithm::Sha256, "sha256/1MB"),
        (kyso_signer::DigestAlgorithm::Sha384, "sha384/1MB"),
    ] {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut h = digest.hasher();
                h.update(black_box(data));
                h.finish()
            });
        });
    }
    group.throughput(Throughput::Elements(1));
    for (key, cert, alg) in &signers {
        let digest = key.algorithm().digest().digest(data);
        let request = SignRequest {
            message_digest: &digest,
            signer_certificate: cert,
            chain,
            signing_time: Some(pki.now),
            content_type: None,
            crls: &[],
            encapsulated: None,
        };
        if *alg == "p256" {
            group.bench_function("prepare", |b| {
                b.iter(|| prepare(black_box(&request), key.algorithm()).unwrap());
            });
            let prepared = prepare(&request, key.algorithm()).unwrap();
            let signature = key.sign(prepared.to_be_signed()).unwrap();
            group.bench_function("assemble", |b| {
                b.iter_batched(
                    || (prepared.clone(), signature.clone()),
                    |(p, s)| p.assemble(s).unwrap(),
                    BatchSize::SmallInput,
                );
            });
        }
        let prepared = prepare(&request, key.algorithm()).unwrap();
        let tbs = prepared.to_be_signed().to_vec();
        group.bench_function(format!("key-sign/{alg}"), |b| {
            b.iter(|| key.sign(black_box(&tbs)).unwrap());
        });
        // The verifier's primitive (kyso-signer: RustCrypto p256/p384/rsa), also used by
        // path validation for every certificate and CRL signature.
        let signature = key.sign(&tbs).unwrap();
        let spki = cert.tbs_certificate().subject_public_key_info();
        let alg_id = key.algorithm().algorithm_identifier();
        group.bench_function(format!("verify-signature/{alg}"), |b| {
            b.iter(|| {
                kyso_signer::verify_signature_with_digest(
                    spki,
                    &alg_id,
                    None,
                    black_box(&tbs),
                    &signature,
                )
                .unwrap();
            });
        });
        if *alg == "p256" {
            // The same check with ring's P-256 (assembly), for comparison.
            let public = spki.subject_public_key.raw_bytes().to_vec();
            group.bench_function("verify-signature/p256-ring", |b| {
                b.iter(|| {
                    ring::signature::UnparsedPublicKey::new(
                        &ring::signature::ECDSA_P256_SHA256_ASN1,
                        &public,
                    )
                    .verify(black_box(&tbs), &signature)
                    .unwrap();
                });
            });
        }
    }
    // Decoding the CMS structure (P-256 signature with chain and both CRLs).
    let (key, cert, _) = &signers[0];
    let cms = sign_content(key, cert, chain, &pki.crls, &contents[0].0, pki.now);
    group.bench_function("decode-cms", |b| {
        b.iter(|| {
            <cms::content_info::ContentInfo as der::Decode>::from_der(black_box(&cms))
                .unwrap()
                .content
                .decode_as::<cms::signed_data::SignedData>()
                .unwrap()
        });
    });
    let (_, cert, _) = &signers[0];
    let ee = cert.to_der().unwrap();
    let intermediates = vec![pki.issuing.to_der().unwrap(), ee.clone()];
    for (mode, name) in [
        (RevocationMode::Require, "validate-path/require"),
        (RevocationMode::Skip, "validate-path/skip"),
    ] {
        let policy = PathPolicy {
            revocation: mode,
            ..PathPolicy::default()
        };
        let input = PathInput {
            end_entity: &ee,
            intermediates: &intermediates,
            crls: &pki.crls,
            ocsp_responses: &[],
            time: pki.now,
        };
        assert!(
            validate_path(&pki.anchors, &input, &policy)
                .unwrap()
                .status
                .is_valid()
        );
        group.bench_function(name, |b| {
            b.iter(|| validate_path(&pki.anchors, black_box(&input), &policy).unwrap());
        });
    }
    group.finish();
    let _ = &pki.root;
}

criterion_group! {
    name = cades;
    // Modest so the whole run stays around two minutes on two noisy cores.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .noise_threshold(0.05);
    targets = benches
}
criterion_main!(cades);
