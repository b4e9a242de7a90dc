//! kyso's wire format: round trips, determinism, the digest, and every refusal.

#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

#[path = "support/fixtures.rs"]
mod fixtures;

use kyso_exchange::{
    Attachment, ExchangeError, FieldProblem, Limit, Limits, MAGIC, Manifest, NameProblem, Package,
    Sha256Digest,
};
use kyso_model::{BusinessDocType, DocumentId, Secrecy};
use unicode_normalization::UnicodeNormalization;

fn parse(bytes: &[u8]) -> Result<Package, ExchangeError> {
    Package::parse(bytes, &Limits::default())
}

/// Rebuilds a package file around a manifest JSON text (digest recomputed), with the
/// given bodies and trace.
fn assemble(manifest: &str, bodies: &[&[u8]], trace: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    out.extend_from_slice(manifest.as_bytes());
    let digest = Sha256Digest::of(&out);
    out.extend_from_slice(&digest.0);
    for body in bodies {
        out.extend_from_slice(body);
    }
    out.extend_from_slice(&(trace.len() as u32).to_be_bytes());
    out.extend_from_slice(trace.as_bytes());
    out
}

/// The manifest JSON of a package file.
fn manifest_text(bytes: &[u8]) -> String {
    let length = u32::from_be_bytes(bytes[16..20].try_into().unwrap()) as usize;
    String::from_utf8(bytes[20..20 + length].to_vec()).unwrap()
}

fn trace_text(bytes: &[u8]) -> String {
    let package = parse(bytes).unwrap();
    let len = bytes.len();
    let trace_len = serde_json::to_vec(package.trace()).unwrap().len();
    String::from_utf8(bytes[len - trace_len..].to_vec()).unwrap()
}

#[test]
fn round_trip_and_determinism() {
    let package = fixtures::package();
    let bytes = package.to_bytes();
    assert!(bytes.starts_with(b"KYSO-EXCHANGE/1\n"));
    let parsed = parse(&bytes).unwrap();
    assert_eq!(parsed, package);
    assert_eq!(parsed.to_bytes(), bytes);
    // The same input always gives the same bytes.
    assert_eq!(fixtures::package().to_bytes(), bytes);
    // Defaults applied by the builder.
    assert_eq!(
        package.attachments()[1].content_type,
        "application/octet-stream"
    );
    assert_eq!(package.trace().len(), 2);
}

#[test]
fn digest_pins_the_document_not_the_route() {
    let package = fixtures::package();
    let digest = package.digest();
    let bytes = package.to_bytes();
    // The digest is written right after the manifest and recomputable from it.
    let manifest = Manifest::read(&bytes, &Limits::default()).unwrap();
    assert_eq!(manifest.digest, digest);
    assert_eq!(manifest.entries.len(), 3);
    assert_eq!(
        manifest.entries[0].sha256,
        Sha256Digest::of(b"%PDF-1.7\n% signed\n").to_hex()
    );
    // A relay adds a hop: same digest, different bytes.
    let relayed = package.clone().with_hop(fixtures::hop("000.00.00.G09"));
    assert_eq!(relayed.digest(), digest);
    assert_ne!(relayed.to_bytes(), bytes);
    // Any change of content changes it.
    let (mut header, mut attachments, _) = package.into_parts();
    attachments[0].content.push(b'x');
    assert_ne!(
        Package::new(header.clone(), attachments.clone())
            .unwrap()
            .digest(),
        digest
    );
    header.subject.push('.');
    assert_ne!(
        Package::new(header, fixtures::attachments())
            .unwrap()
            .digest(),
        digest
    );
}

#[test]
fn normal_form_makes_equal_text_equal() {
    let mut decomposed = fixtures::header();
    decomposed.subject = format!("  {}\r\n", decomposed.subject.nfd().collect::<String>());
    let a = Package::new(fixtures::header(), vec![]).unwrap();
    let b = Package::new(decomposed, vec![]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_bytes(), b.to_bytes());
}

#[test]
fn secret_documents_are_refused() {
    for secrecy in [Secrecy::Mat, Secrecy::ToiMat, Secrecy::TuyetMat] {
        let mut header = fixtures::header();
        header.secrecy = secrecy;
        let error = Package::new(header, fixtures::attachments()).unwrap_err();
        assert_eq!(error, ExchangeError::SecretDocument { secrecy });
        assert!(error.vietnamese().contains("mật"), "{}", error.vietnamese());
    }
    // A received manifest claiming a secret document is refused too.
    let bytes = fixtures::package().to_bytes();
    let manifest = manifest_text(&bytes).replace("\"secrecy\":\"none\"", "\"secrecy\":\"mat\"");
    let forged = assemble(
        &manifest,
        &[
            b"%PDF-1.7\n% signed\n",
            &(0u8..=255).collect::<Vec<u8>>(),
            b"",
        ],
        &trace_text(&bytes),
    );
    assert_eq!(
        parse(&forged).unwrap_err(),
        ExchangeError::SecretDocument {
            secrecy: Secrecy::Mat
        }
    );
}

#[test]
fn header_rules() {
    let field = |header: kyso_exchange::Header| match Package::new(header, vec![]) {
        Err(ExchangeError::Field { field, problem }) => (field, problem),
        other => panic!("{other:?}"),
    };
    let mut header = fixtures::header();
    header.subject = " ".into();
    assert_eq!(field(header), ("Subject".into(), FieldProblem::Missing));

    let mut header = fixtures::header();
    header.to[1].organ_name = "Đ".repeat(201);
    assert_eq!(
        field(header),
        (
            "To[1].OrganName".into(),
            FieldProblem::TooLong {
                max: 200,
                found: 201
            }
        )
    );

    let mut header = fixtures::header();
    header.signer.full_name = "Nguyễn\u{7}".into();
    assert_eq!(
        field(header),
        (
            "SignerInfo.FullName".into(),
            FieldProblem::ForbiddenCharacter { character: '\u{7}' }
        )
    );

    let mut header = fixtures::header();
    header.business.doc_type = BusinessDocType::Recall;
    assert_eq!(
        field(header.clone()),
        ("Bussiness.BussinessDocReason".into(), FieldProblem::Missing)
    );
    header.business.reason = "Sai sót về số liệu".into();
    assert_eq!(
        field(header.clone()),
        ("Bussiness.DocumentId".into(), FieldProblem::Missing)
    );
    header.business.document_id = Some(DocumentId::parse("000.00.00.H41,2025,11").unwrap());
    Package::new(header, vec![]).unwrap();

    let mut header = fixtures::header();
    header.to.clear();
    assert_eq!(field(header), ("To".into(), FieldProblem::Missing));

    let mut header = fixtures::header();
    let first = header.to[0].clone();
    header.to.push(first);
    assert!(matches!(
        Package::new(header, vec![]),
        Err(ExchangeError::DuplicateReceiver { index: 2, .. })
    ));
}

#[test]
fn attachment_name_rules() {
    let problem = |names: &[&str]| {
        let attachments = names
            .iter()
            .map(|name| Attachment::new(*name, "application/pdf", b"x".to_vec()))
            .collect();
        match Package::new(fixtures::header(), attachments) {
            Err(ExchangeError::AttachmentName { problem, index, .. }) => (index, problem),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(problem(&["../x"]), (0, NameProblem::PathSeparator));
    assert_eq!(
        problem(&["a.pdf", "dir\\a.pdf"]),
        (1, NameProblem::PathSeparator)
    );
    assert_eq!(problem(&[".."]), (0, NameProblem::DotDot));
    assert_eq!(problem(&["C:evil"]), (0, NameProblem::Colon));
    assert_eq!(problem(&[""]), (0, NameProblem::Empty));
    assert_eq!(problem(&["a.pdf", "A.PDF"]), (1, NameProblem::Duplicate));
    assert_eq!(
        problem(&["hợp đồng.pdf", "Hợp Đồng.pdf"]),
        (1, NameProblem::Duplicate)
    );
    assert_eq!(
        problem(&["x\u{202E}fdp.exe"]),
        (0, NameProblem::ForbiddenCharacter)
    );
    let long = format!("{}.pdf", "a".repeat(252));
    assert_eq!(problem(&[&long]), (0, NameProblem::TooLong));
    assert!(matches!(
        Package::new(
            fixtures::header(),
            vec![Attachment::new("a.pdf", "pdf", b"x".to_vec())]
        ),
        Err(ExchangeError::ContentType { index: 0, .. })
    ));
}

#[test]
fn truncation_anywhere_is_reported() {
    let bytes = fixtures::package().to_bytes();
    for cut in 0..bytes.len() {
        let error = parse(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                error,
                ExchangeError::Truncated { .. } | ExchangeError::BadMagic { .. }
            ),
            "cut at {cut}: {error}"
        );
        if cut < MAGIC.len() {
            continue;
        }
        assert!(
            matches!(error, ExchangeError::Truncated { .. }),
            "cut at {cut}: {error}"
        );
    }
}

#[test]
fn trailing_data_and_bad_magic() {
    let mut bytes = fixtures::package().to_bytes();
    let end = bytes.len() as u64;
    bytes.extend_from_slice(b"extra");
    assert_eq!(
        parse(&bytes).unwrap_err(),
        ExchangeError::TrailingData {
            offset: end,
            length: 5
        }
    );
    bytes[0] = b'X';
    assert!(matches!(parse(&bytes), Err(ExchangeError::BadMagic { .. })));
    assert!(matches!(
        parse(b"<?xml"),
        Err(ExchangeError::Truncated { .. })
    ));
}

#[test]
fn tampering_is_detected() {
    let bytes = fixtures::package().to_bytes();
    let manifest_len = manifest_text(&bytes).len();
    // A flipped bit in an attachment body.
    let mut body = bytes.clone();
    let body_start = 20 + manifest_len + 32;
    body[body_start + 3] ^= 1;
    assert!(matches!(
        parse(&body),
        Err(ExchangeError::AttachmentDigest { index: 0, .. })
    ));
    // A flipped bit in the digest.
    let mut digest = bytes.clone();
    digest[20 + manifest_len] ^= 1;
    assert!(matches!(
        parse(&digest),
        Err(ExchangeError::PackageDigest { .. })
    ));
    // A changed manifest without the digest recomputed.
    let mut manifest = bytes.clone();
    let at = manifest_text(&bytes).find("UBND-VP").unwrap();
    manifest[20 + at] = b'X';
    assert!(matches!(
        parse(&manifest),
        Err(ExchangeError::PackageDigest { .. })
    ));
}

#[test]
fn non_canonical_and_malformed_manifests() {
    let bytes = fixtures::package().to_bytes();
    let manifest = manifest_text(&bytes);
    let bodies: [&[u8]; 3] = [
        b"%PDF-1.7\n% signed\n",
        &(0u8..=255).collect::<Vec<u8>>(),
        b"",
    ];
    let trace = trace_text(&bytes);
    // The untouched manifest reassembles into the same package.
    assert_eq!(assemble(&manifest, &bodies, &trace), bytes);

    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&manifest).unwrap(),
    )
    .unwrap();
    assert_eq!(
        parse(&assemble(&pretty, &bodies, &trace)).unwrap_err(),
        ExchangeError::NotCanonical { what: "manifest" }
    );
    // Escaped where the canonical form is not.
    let escaped = manifest.replace("Nghệ An\"", "Ngh\\u1ec7 An\"");
    assert_ne!(escaped, manifest);
    assert_eq!(
        parse(&assemble(&escaped, &bodies, &trace)).unwrap_err(),
        ExchangeError::NotCanonical { what: "manifest" }
    );
    // Decomposed Vietnamese text in a received header.
    let nfd = manifest.replace("Chủ tịch", &"Chủ tịch".nfd().collect::<String>());
    assert_eq!(
        parse(&assemble(&nfd, &bodies, &trace)).unwrap_err(),
        ExchangeError::Field {
            field: "SignerInfo.Position".into(),
            problem: FieldProblem::NotNormalized
        }
    );
    // An unknown field.
    let unknown = manifest.replacen("{\"format\"", "{\"extra\":1,\"format\"", 1);
    assert!(matches!(
        parse(&assemble(&unknown, &bodies, &trace)),
        Err(ExchangeError::Json {
            what: "manifest",
            ..
        })
    ));
    // Another format version.
    let version = manifest.replace("kyso-exchange/1", "kyso-exchange/2");
    assert!(matches!(
        parse(&assemble(&version, &bodies, &trace)),
        Err(ExchangeError::UnsupportedFormat { .. })
    ));
    // Duplicate key.
    let duplicate = manifest.replacen(
        "{\"format\":\"kyso-exchange/1\"",
        "{\"format\":\"kyso-exchange/1\",\"format\":\"kyso-exchange/1\"",
        1,
    );
    assert!(matches!(
        parse(&assemble(&duplicate, &bodies, &trace)),
        Err(ExchangeError::Json { .. })
    ));
    // Bad UTF-8 in the manifest.
    let mut bad = assemble(&manifest, &bodies, &trace);
    let at = manifest.find("Nghệ").unwrap() + 3;
    bad[20 + at] = 0xFF;
    assert_eq!(
        parse(&bad).unwrap_err(),
        ExchangeError::InvalidUtf8 {
            what: "manifest",
            offset: (20 + at) as u64
        }
    );
    // A path in an attachment name, a duplicate, a length that lies.
    for (from, to, expect) in [
        (
            "\"name\":\"trống.txt\"",
            "\"name\":\"../trống.txt\"",
            "attachment_name",
        ),
        (
            "\"name\":\"trống.txt\"",
            "\"name\":\"Phụ lục.docx\"",
            "attachment_name",
        ),
        ("\"length\":0", "\"length\":1", "attachment_digest"),
        ("\"length\":0", "\"length\":400", "truncated"),
    ] {
        let changed = manifest.replace(from, to);
        assert_ne!(changed, manifest, "{from}");
        let error = parse(&assemble(&changed, &bodies, &trace)).unwrap_err();
        assert!(
            error.code() == expect
                || (expect == "attachment_digest" && error.code() == "truncated"),
            "{from} → {to}: {error}"
        );
    }
    // A trace that is not canonical.
    let spaced = trace.replace(",", ", ");
    assert_eq!(
        parse(&assemble(&manifest, &bodies, &spaced)).unwrap_err(),
        ExchangeError::NotCanonical { what: "trace" }
    );
}

#[test]
fn limits_are_enforced() {
    let bytes = fixtures::package().to_bytes();
    let limited = |limits: Limits| match Package::parse(&bytes, &limits) {
        Err(ExchangeError::LimitExceeded { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    let defaults = Limits::default();
    assert_eq!(
        limited(Limits {
            max_manifest_bytes: 100,
            ..defaults
        }),
        Limit::ManifestBytes
    );
    assert_eq!(
        limited(Limits {
            max_attachments: 2,
            ..defaults
        }),
        Limit::Attachments
    );
    assert_eq!(
        limited(Limits {
            max_attachment_bytes: 255,
            ..defaults
        }),
        Limit::AttachmentBytes
    );
    assert_eq!(
        limited(Limits {
            max_total_bytes: 256,
            ..defaults
        }),
        Limit::TotalBytes
    );
    assert_eq!(
        limited(Limits {
            max_trace_hops: 1,
            ..defaults
        }),
        Limit::TraceHops
    );
    assert_eq!(
        limited(Limits {
            max_trace_bytes: 10,
            ..defaults
        }),
        Limit::TraceBytes
    );
    // A huge declared manifest length is refused before anything is read.
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        parse(&huge),
        Err(ExchangeError::LimitExceeded {
            what: Limit::ManifestBytes,
            offset: Some(16),
            ..
        })
    ));
    // A name longer than the receiver's limit.
    match Package::parse(
        &bytes,
        &Limits {
            max_name_bytes: 10,
            ..defaults
        },
    ) {
        Err(ExchangeError::AttachmentName {
            problem: NameProblem::TooLong,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_are_bilingual_with_stable_codes() {
    let error = parse(b"KYSO-EXCHANGE/1\n\0\0").unwrap_err();
    assert_eq!(error.code(), "truncated");
    assert!(
        error.to_string().contains("truncated at byte 16"),
        "{error}"
    );
    assert!(
        error.vietnamese().contains("cắt cụt"),
        "{}",
        error.vietnamese()
    );
}

#[test]
fn parsing_is_fast_enough() {
    // 20 attachments of 1 MiB: parse well under a second even in debug builds.
    let attachments = (0..20)
        .map(|i| Attachment::new(format!("tệp {i}.bin"), "", vec![i as u8; 1 << 20]))
        .collect();
    let package = Package::new(fixtures::header(), attachments).unwrap();
    let bytes = package.to_bytes();
    let started = std::time::Instant::now();
    let parsed = parse(&bytes).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(parsed.attachments().len(), 20);
    assert!(elapsed.as_secs() < 5, "{elapsed:?}");
}
