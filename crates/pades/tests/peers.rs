#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! kyso's PDF verdicts against pyHanko's (the reference validator) on pyHanko-signed
//! files: B-B over every producer of the test documents, visible signatures,
//! certification levels, co-signing, B-T with a time-stamp authority, B-LT (DSS) and
//! B-LTA (document time-stamp) through `adesverify`; then the attack corpus, where
//! kyso must be at least as strict as pyHanko and is stricter where the spec asks.
//!
//! pyHanko is required (`KYSO_PYHANKO`, else `.venv/bin/pyhanko`): a missing peer fails.

#[path = "support/craft.rs"]
mod craft;
#[path = "support/edit.rs"]
mod edit;
#[path = "support/fixture.rs"]
mod fixture;

use craft::{
    Fill, SIG, add_annotation, add_field, append_raw_signature, append_signature, evil_content,
    form_prepared,
};
use edit::{Update, append, apply, page_content};
use fixture::{
    AUTHORITY_LINE, NAME_LINE, SIGNATURE_AREA, Who, certified, codes, document, field_spec,
    fixture, pyhanko_adesverify, pyhanko_validate, pyhanko_validate_with, sign_bytes, signed_table,
    signed_visible, verify, verify_full, verify_with,
};
use kyso_cades::Verdict;
use kyso_cades::report::TimeSource;
use kyso_pades::verify::{Policy, SignatureKind};
use kyso_pki::path::RevocationMode;

/// pyHanko's bottom line for every field is VALID.
fn pyhanko_all_valid(pdf: &[u8]) -> bool {
    let v = pyhanko_validate(pdf);
    !v.is_empty() && v.iter().all(|(_, verdict)| verdict == "VALID")
}

/// `adesverify` judges every signature VALID.
fn adesverify_valid(pdf: &[u8]) -> (bool, String) {
    let (text, ok) = pyhanko_adesverify(pdf);
    let judged: Vec<&str> = text.lines().filter(|l| l.contains("is judged")).collect();
    let valid = ok && !judged.is_empty() && judged.iter().all(|l| l.contains("judged VALID"));
    (valid, text)
}

#[test]
fn b_b_over_every_producer_agrees_with_pyhanko() {
    // Pillow writes generation 65536 for object 0's free entry, which pyHanko only
    // reads in its lenient mode; kyso ignores free entries' generations.
    for (name, lenient) in [
        ("quyet-dinh.pdf", false),
        ("quyet-dinh-objstm.pdf", false),
        ("quyet-dinh-linearized.pdf", false),
        ("cong-van-libreoffice.pdf", false),
        ("bao-cao.pdf", false),
        ("ban-sao-scan.pdf", true),
    ] {
        let extra: &[&str] = if lenient {
            &["--no-strict-syntax"]
        } else {
            &[]
        };
        let all_valid = |pdf: &[u8]| {
            let v = pyhanko_validate_with(pdf, extra);
            (!v.is_empty() && v.iter().all(|(_, x)| x == "VALID"), v)
        };
        let orig = std::fs::read(document(name)).unwrap();
        let signed = sign_bytes(&orig, "Sig1", Who::Leader, extra);
        let r = verify(&signed);
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {r:#?}");
        let (ok, v) = all_valid(&signed);
        assert!(ok, "{name}: pyHanko {v:?}");
        // Co-signed by the agency seal: both agree again.
        let cosigned = sign_bytes(&signed, "Seal", Who::Seal, extra);
        let r = verify(&cosigned);
        assert_eq!(r.verdict, Verdict::Valid, "{name} co-signed: {r:#?}");
        assert_eq!(r.signatures.len(), 2);
        let (ok, v) = all_valid(&cosigned);
        assert!(ok, "{name} co-signed: {v:?}");
    }
}

#[test]
fn visible_and_certification_signatures_agree_with_pyhanko() {
    let pdf = signed_visible();
    assert_eq!(verify(pdf).verdict, Verdict::Valid);
    assert!(pyhanko_all_valid(pdf));
    for p in 1..=3 {
        let pdf = certified(p);
        let r = verify(pdf);
        assert_eq!(r.verdict, Verdict::Valid, "P{p}");
        assert_eq!(r.signatures[0].kind, SignatureKind::Certification);
        assert!(pyhanko_all_valid(pdf), "P{p}: {:?}", pyhanko_validate(pdf));
    }
    // An approval signature after P2: both accept (invisible field).
    let pdf = sign_bytes(certified(2), "Sig2", Who::Seal, &[]);
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
    assert!(pyhanko_all_valid(&pdf), "{:?}", pyhanko_validate(&pdf));
    // A visible one after P2: pyHanko refuses it (new visible signature fields after a
    // certification are not covered by it), and so does kyso.
    let pdf = sign_bytes(
        certified(2),
        &field_spec("Sig2", SIGNATURE_AREA),
        Who::Seal,
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(codes(&r).contains(&"visible_signature_after_certification"));
    assert!(!pyhanko_all_valid(&pdf), "{:?}", pyhanko_validate(&pdf));
}

#[test]
fn signing_a_prepared_empty_field_agrees_with_pyhanko() {
    // Leader signs; an empty visible field for the seal is added (pyHanko `addfields`);
    // the seal signs that field.
    let f = fixture();
    let dir = f.scratch("prepared-field");
    let signed = dir.join("signed.pdf");
    std::fs::write(&signed, signed_table()).unwrap();
    let with_field = dir.join("with-field.pdf");
    let out = fixture::run(
        fixture::pyhanko()
            .args([
                "sign",
                "addfields",
                "--field",
                &field_spec("Seal", SIGNATURE_AREA),
            ])
            .arg(&signed)
            .arg(&with_field),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let with_field = std::fs::read(&with_field).unwrap();
    let r = verify(&with_field);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    assert_eq!(r.unsigned_fields[0].field, "Seal");
    assert!(pyhanko_all_valid(&with_field));
    let sealed = sign_bytes(&with_field, "Seal", Who::Seal, &[]);
    let r = verify(&sealed);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(r.unsigned_fields.is_empty());
    assert!(
        pyhanko_all_valid(&sealed),
        "{:?}",
        pyhanko_validate(&sealed)
    );
}

#[test]
fn b_t_with_a_time_stamp_authority_agrees_with_pyhanko() {
    let f = fixture();
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let pdf = sign_bytes(
        &orig,
        "Sig1",
        Who::Leader,
        &["--use-pades", "--timestamp-url", &f.tsa_url()],
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    let s = &r.signatures[0];
    assert_eq!(s.sub_filter.as_deref(), Some("ETSI.CAdES.detached"));
    assert_eq!(s.cms.signing_time_source, TimeSource::Timestamp);
    assert!(s.cms.timestamp.as_ref().unwrap().valid);
    assert!(pyhanko_all_valid(&pdf));
    // With revocation required: the CRLs the CLI would fetch make it valid, their
    // absence makes it indeterminate (never valid).
    let r = verify_full(&pdf, RevocationMode::Require, Policy::default(), &f.crls);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    let r = verify_with(&pdf, RevocationMode::Require, Policy::default());
    assert_eq!(r.verdict, Verdict::Indeterminate, "{r:#?}");
    let (ok, text) = adesverify_valid(&pdf);
    assert!(ok, "pyHanko adesverify: {text}");
}

#[test]
fn b_lt_uses_the_dss_and_agrees_with_pyhanko() {
    let f = fixture();
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let root = f.root_pem.to_str().unwrap().to_string();
    let pdf = sign_bytes(
        &orig,
        "Sig1",
        Who::Leader,
        &[
            "--use-pades",
            "--timestamp-url",
            &f.tsa_url(),
            "--with-validation-info",
            "--trust",
            &root,
            "--trust-replace",
        ],
    );
    // Revocation required, nothing given: the DSS alone must do.
    let r = verify_with(&pdf, RevocationMode::Require, Policy::default());
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(codes(&r).contains(&"dss_updated"));
    assert!(pyhanko_all_valid(&pdf));
    let (ok, text) = adesverify_valid(&pdf);
    assert!(ok, "pyHanko adesverify: {text}");
}

#[test]
fn b_lta_document_time_stamp_agrees_with_pyhanko() {
    let f = fixture();
    let orig = std::fs::read(document("quyet-dinh-objstm.pdf")).unwrap();
    let root = f.root_pem.to_str().unwrap().to_string();
    let pdf = sign_bytes(
        &orig,
        "Sig1",
        Who::Leader,
        &[
            "--use-pades-lta",
            "--timestamp-url",
            &f.tsa_url(),
            "--trust",
            &root,
            "--trust-replace",
        ],
    );
    let r = verify_with(&pdf, RevocationMode::Require, Policy::default());
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    let ts = r
        .signatures
        .iter()
        .find(|s| s.kind == SignatureKind::DocumentTimestamp)
        .expect("a document time-stamp");
    assert_eq!(ts.sub_filter.as_deref(), Some("ETSI.RFC3161"));
    assert_eq!(
        ts.cms.indication,
        kyso_cades::report::Indication::TotalPassed,
        "{ts:#?}"
    );
    let (ok, text) = adesverify_valid(&pdf);
    assert!(ok, "pyHanko adesverify: {text}");
    // Tampering after the document time-stamp is caught by both.
    let tampered = append(&pdf, vec![(page_content(&pdf), evil_content())]);
    assert_eq!(verify(&tampered).verdict, Verdict::Modified);
    assert!(!pyhanko_all_valid(&tampered));
}

/// What pyHanko's `validate --executive-summary` says about an attack file.
#[derive(Debug, PartialEq, Eq)]
enum Peer {
    /// Some field is not VALID.
    Rejects,
    /// It cannot validate the file at all (no output, error).
    Fails,
    /// Every field VALID: kyso is stricter here, on purpose.
    Accepts,
}

fn peer(pdf: &[u8]) -> Peer {
    let v = pyhanko_validate(pdf);
    if v.is_empty() {
        Peer::Fails
    } else if v.iter().all(|(_, x)| x == "VALID") {
        Peer::Accepts
    } else {
        Peer::Rejects
    }
}

#[test]
fn attack_corpus_kyso_is_at_least_as_strict_as_pyhanko() {
    let base = signed_table();
    let content = page_content(base);
    let form = form_prepared();
    let form_fill = {
        let d = edit::doc(form);
        let field = d
            .objects
            .iter()
            .find(|(_, o)| {
                o.as_dict().is_ok_and(|d| {
                    d.get(b"T")
                        .is_ok_and(|t| t.as_str().is_ok_and(|s| s == b"GhiChu"))
                })
            })
            .map(|(id, _)| id.0)
            .unwrap();
        let mut dict = d.get_dictionary((field, 0)).unwrap().clone();
        let n = edit::next_num(form);
        dict.set("V", lopdf::Object::string_literal("Tran Thi Gia Mao"));
        dict.set(
            "AP",
            lopdf::Object::Dictionary(
                lopdf::dictionary! { "N" => lopdf::Object::Reference((n, 0)) },
            ),
        );
        append(
            form,
            vec![
                (field, edit::ser_dict(&dict)),
                (n, craft::appearance(NAME_LINE, "Tran Thi Gia Mao")),
            ],
        )
    };
    let mut copied = Update::new(vec![(content, evil_content())]);
    copied.trailer = edit::TrailerMode::Copied;
    let cases: Vec<(&str, Vec<u8>, Verdict, Peer)> = vec![
        (
            "ISA: content revision",
            append(base, vec![(content, evil_content())]),
            Verdict::Modified,
            Peer::Rejects,
        ),
        (
            "ISA: copied trailer",
            apply(base, &copied),
            Verdict::Modified,
            Peer::Fails,
        ),
        (
            "USF: no /Contents",
            append_raw_signature(
                base,
                "Forged",
                &format!("<< {SIG} /ByteRange [0 100 200 300] >>"),
            ),
            Verdict::Invalid,
            Peer::Fails,
        ),
        (
            "USF: encapsulated content",
            append_signature(base, "Forged", "", Fill::Cms { encapsulate: true }, 0),
            Verdict::Invalid,
            Peer::Rejects,
        ),
        (
            "shadow: xref-only empty update",
            apply(base, &Update::new(Vec::new())),
            Verdict::Modified,
            Peer::Accepts,
        ),
        (
            "shadow: form field over text",
            form_fill,
            Verdict::Modified,
            Peer::Accepts,
        ),
        (
            "EAA: FreeText under P3",
            add_annotation(certified(3), "FreeText", NAME_LINE, "X"),
            Verdict::Modified,
            Peer::Rejects,
        ),
        (
            "SSA: visible field under P2",
            add_field(
                certified(2),
                "Sig",
                "Sneaky",
                AUTHORITY_LINE,
                None,
                Some("DA PHE DUYET"),
            ),
            Verdict::Modified,
            Peer::Rejects,
        ),
        (
            "DocMDP P1 + signature",
            append_signature(
                certified(1),
                "Sig2",
                "",
                Fill::Cms { encapsulate: false },
                0,
            ),
            Verdict::Modified,
            Peer::Rejects,
        ),
    ];
    let mut table = String::from("attack | kyso | pyHanko\n");
    for (name, pdf, expected, expected_peer) in cases {
        let r = verify(&pdf);
        let p = peer(&pdf);
        table.push_str(&format!(
            "{name} | {:?} {:?} | {p:?}\n",
            r.verdict,
            codes(&r).first()
        ));
        assert_eq!(r.verdict, expected, "{name}: {r:#?}");
        assert!(!r.verdict.is_success(), "{name}");
        assert_eq!(
            p,
            expected_peer,
            "{name}: pyHanko changed its mind: {:?}",
            pyhanko_validate(&pdf)
        );
    }
    eprintln!("{table}");
}
