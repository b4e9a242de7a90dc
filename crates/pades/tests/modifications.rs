#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! The modification policy on genuine documents (issue 9): what ISO 32000-2 §12.8.2.2
//! and pyHanko's default `StandardDiffPolicy` allow after a signature — signing after a
//! certification P2, form filling after an approval signature, annotations under a
//! certification P3 — is `valid_with_changes` by default and `modified` under
//! `Policy::strict()`; the Decree 30 seal over the leader's signature is plain valid;
//! annotations painting over signed text are listed as overlaps and stay `modified`;
//! deleting an annotation under P3 is allowed unless it uncovers signed content.
//! Each case is compared with pyHanko's verdict on the same file (where kyso follows
//! ISO 32000-2 rather than pyHanko — annotations under P3 — the test says so).

#[path = "support/craft.rs"]
mod craft;
#[path = "support/edit.rs"]
mod edit;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "sign/support.rs"]
mod sign_support;

use craft::{add_annotation, add_field, appearance};
use fixture::{
    NAME_LINE, SIGNATURE_AREA, Who, certified, codes, document, field_spec, pyhanko_validate,
    sign_bytes, signed_table, signed_visible, verify, verify_with,
};
use kyso_cades::Verdict;
use kyso_pades::verify::{ChangeClass, Covers, OverlapKind, PdfReport, Policy};
use kyso_pki::path::RevocationMode;
use lopdf::Object;

/// A blank part of page 1 of quyet-dinh.pdf, below the "Nơi nhận" list.
const BLANK: [f64; 4] = [85.0, 60.0, 280.0, 90.0];

fn strict(pdf: &[u8]) -> PdfReport {
    verify_with(pdf, RevocationMode::Skip, Policy::strict())
}

/// pyHanko's bottom line for every signature: `true` when it judges it valid
/// (intact, trusted, modifications compatible with its policy).
fn pyhanko_all_valid(pdf: &[u8]) -> (bool, Vec<(String, String)>) {
    let lines = pyhanko_validate(pdf);
    let ok = !lines.is_empty() && lines.iter().all(|(_, v)| v.trim() == "VALID");
    (ok, lines)
}

fn assert_listed(r: &PdfReport, class: ChangeClass) {
    let m = &r.signatures[0].modifications;
    assert!(
        m.iter().any(|m| m.class == class && m.allowed),
        "{class:?} not listed as allowed: {m:#?}"
    );
}

// ---------------------------------------------------------------------------------
// 1. Signing after a certification, form filling after an approval signature
// ---------------------------------------------------------------------------------

#[test]
fn an_approval_signature_after_a_p2_certification_is_allowed_like_pyhanko() {
    let pdf = sign_bytes(certified(2), "Sig2", Who::Seal, &[]);
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(ok, "pyHanko: {lines:?}");
    for r in [verify(&pdf), strict(&pdf)] {
        assert!(r.verdict.is_success(), "codes {:?}\n{r:#?}", codes(&r));
        assert_eq!(r.signatures.len(), 2);
        assert_eq!(r.signatures[0].docmdp, Some(2));
        assert_listed(&r, ChangeClass::Signature);
    }
}

/// quyet-dinh.pdf with an empty text field "SoVanBan" in a blank area, signed by the
/// leader (approval), then the field filled in (value and appearance) in an
/// incremental update, as a form-filling viewer saves it.
fn filled_after_approval(rect: [f64; 4]) -> Vec<u8> {
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let with_field = add_field(&orig, "Tx", "SoVanBan", rect, None, None);
    let signed = sign_bytes(&with_field, "Sig1", Who::Leader, &[]);
    let d = edit::doc(&signed);
    let field = d
        .objects
        .iter()
        .find(|(_, o)| {
            o.as_dict().is_ok_and(|d| {
                d.get(b"T")
                    .is_ok_and(|t| t.as_str().is_ok_and(|s| s == b"SoVanBan"))
            })
        })
        .map(|(id, _)| id.0)
        .unwrap();
    let mut dict = d.get_dictionary((field, 0)).unwrap().clone();
    let n = edit::next_num(&signed);
    dict.set("V", Object::string_literal("15/QD-STTTT"));
    dict.set(
        "AP",
        Object::Dictionary(lopdf::dictionary! { "N" => Object::Reference((n, 0)) }),
    );
    edit::append(
        &signed,
        vec![
            (field, edit::ser_dict(&dict)),
            (n, appearance(rect, "15/QD-STTTT")),
        ],
    )
}

#[test]
fn form_filling_after_an_approval_signature_is_valid_with_changes_like_pyhanko() {
    let pdf = filled_after_approval(BLANK);
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(ok, "pyHanko: {lines:?}");
    let r = verify(&pdf);
    assert_eq!(
        r.verdict,
        Verdict::ValidWithChanges,
        "codes {:?}\n{r:#?}",
        codes(&r)
    );
    assert_listed(&r, ChangeClass::FormFill);
    assert!(codes(&r).contains(&"form_filled"), "{:?}", codes(&r));
    assert!(
        r.signatures[0].overlaps.is_empty(),
        "{:#?}",
        r.signatures[0].overlaps
    );
    // An institution's strict policy refuses it.
    let r = strict(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(
        codes(&r).contains(&"not_allowed_by_policy"),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn form_filling_over_the_signed_text_stays_modified() {
    // The shadow "replace" attack: allowed as form filling by pyHanko, not by kyso,
    // because the new value paints over the signer's name.
    let pdf = filled_after_approval(NAME_LINE);
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(
        codes(&r).contains(&"appearance_over_content"),
        "{:?}",
        codes(&r)
    );
    let o = &r.signatures[0].overlaps;
    assert!(
        o.iter().any(|o| o.kind == OverlapKind::Widget
            && o.field.as_deref() == Some("SoVanBan")
            && o.covers == Covers::Text
            && o.page == Some(1)),
        "{o:#?}"
    );
}

// ---------------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------------

#[test]
fn annotations_after_an_approval_signature_are_modified_like_pyhanko() {
    // pyHanko's default policy explains no annotation; kyso allows them only where a
    // certification P3 does.
    let pdf = add_annotation(signed_table(), "Text", BLANK, "Ghi chu");
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(!ok, "pyHanko: {lines:?}");
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(
        codes(&r).contains(&"not_allowed_by_policy"),
        "{:?}",
        codes(&r)
    );
    // An explicit policy may allow them.
    let lenient = Policy {
        allow_annotations_without_certification: true,
        ..Policy::standard()
    };
    let r = verify_with(&pdf, RevocationMode::Skip, lenient);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
}

#[test]
fn annotations_under_a_p3_certification_are_valid_with_changes() {
    // ISO 32000-2: P3 permits annotations. pyHanko's default policy does not
    // (annotations are never explained), so here kyso follows the standard.
    let pdf = add_annotation(certified(3), "Text", BLANK, "Ghi chu");
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    assert_listed(&r, ChangeClass::Annotation);
    assert!(r.signatures[0].overlaps.is_empty());
    let r = strict(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    // P2 does not permit them.
    let pdf = add_annotation(certified(2), "Text", BLANK, "Ghi chu");
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(codes(&r).contains(&"docmdp_violation"), "{:?}", codes(&r));
}

#[test]
fn free_text_and_stamp_over_signed_text_are_listed_as_overlaps() {
    for base in [signed_table(), certified(3)] {
        for subtype in ["FreeText", "Stamp"] {
            let pdf = add_annotation(base, subtype, NAME_LINE, "Tran Thi Gia Mao");
            let (ok, lines) = pyhanko_all_valid(&pdf);
            assert!(!ok, "pyHanko: {lines:?}");
            let r = verify(&pdf);
            assert_eq!(r.verdict, Verdict::Modified, "{subtype}: {r:#?}");
            assert!(
                codes(&r).contains(&"appearance_over_content"),
                "{subtype}: {:?}",
                codes(&r)
            );
            let o = &r.signatures[0].overlaps;
            let hit = o
                .iter()
                .find(|o| o.kind == OverlapKind::Annotation && o.subtype == subtype)
                .unwrap_or_else(|| panic!("{subtype}: no overlap listed: {o:#?}"));
            assert_eq!(hit.covers, Covers::Text);
            assert_eq!(hit.page, Some(1));
            assert_eq!(hit.revision, 3);
            for (a, b) in hit.rect.iter().zip(NAME_LINE) {
                assert!((a - b).abs() < 0.01, "{:?} vs {NAME_LINE:?}", hit.rect);
            }
            assert!(!hit.expected);
            // In the JSON, under the signature.
            let v = serde_json::to_value(&r).unwrap();
            let j = &v["signatures"][0]["overlaps"][0];
            assert_eq!(j["kind"], "annotation");
            assert_eq!(j["covers"], "text");
            assert_eq!(j["page"], 1);
            assert_eq!(j["rect"].as_array().map(Vec::len), Some(4));
        }
    }
}

// ---------------------------------------------------------------------------------
// 2. Co-signing: a signature's appearance over another signature's
// ---------------------------------------------------------------------------------

#[test]
fn a_second_signature_over_part_of_the_first_is_plain_valid() {
    // A seal over the left part of the leader's visible signature, clear of the text.
    let seal = [
        SIGNATURE_AREA[0] + 20.0,
        SIGNATURE_AREA[1] + 2.0,
        SIGNATURE_AREA[0] + 100.0,
        SIGNATURE_AREA[3] - 2.0,
    ];
    let pdf = sign_bytes(signed_visible(), &field_spec("Seal", seal), Who::Seal, &[]);
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(ok, "pyHanko: {lines:?}");
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(r.warnings.is_empty(), "{:#?}", r.warnings);
    let o = &r.signatures[0].overlaps;
    assert!(
        o.iter().any(|o| o.covers == Covers::SignatureAppearance
            && o.signature.as_deref() == Some("Sig1")
            && o.expected),
        "{o:#?}"
    );
    // Over most of it: the earlier signature is hidden, which is reported.
    let hiding = [
        SIGNATURE_AREA[0] - 1.0,
        SIGNATURE_AREA[1] + 2.0,
        SIGNATURE_AREA[2] + 1.0,
        SIGNATURE_AREA[3] - 2.0,
    ];
    let pdf = sign_bytes(
        signed_visible(),
        &field_spec("Seal", hiding),
        Who::Seal,
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    assert!(
        codes(&r).contains(&"appearance_over_signature"),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn a_second_signature_over_signed_text_is_reported() {
    let pdf = sign_bytes(
        signed_table(),
        &field_spec("Sig2", NAME_LINE),
        Who::Seal,
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    assert!(
        codes(&r).contains(&"appearance_over_content"),
        "{:?}",
        codes(&r)
    );
    assert!(
        r.signatures[0]
            .overlaps
            .iter()
            .any(|o| o.covers == Covers::Text && o.field.as_deref() == Some("Sig2")),
        "{:#?}",
        r.signatures[0].overlaps
    );
}

#[test]
fn the_decree_30_seal_over_the_leaders_signature_is_plain_valid() {
    use kyso_pades::sign::{self, PdfSignRequest, Placement, Role};
    use sign_support::{Identity, image, pki};

    let pki = pki();
    let chain = pki.chain();
    let sign_as = |pdf: &[u8], who: &Identity, role: Role, png: &str, placement: Placement| {
        let img = image(png);
        let mut req = PdfSignRequest::new(&who.cert, pki.now);
        req.chain = &chain;
        req.role = role;
        req.image = Some(&img);
        req.placement = placement;
        let signed = sign::sign(pdf, &who.key, &req, None).unwrap();
        let mut out = pdf.to_vec();
        out.extend_from_slice(&signed.update);
        out
    };
    let mut anchors = kyso_pki::path::TrustAnchors::new();
    anchors
        .add_der(&der::Encode::to_der(&pki.root).unwrap())
        .unwrap();
    for doc in ["quyet-dinh.pdf", "cong-van.pdf", "giay-moi.pdf"] {
        let original = sign_support::document(doc);
        let anchor = sign_support::layout()["documents"][doc]["marks"]["signer_name"]["text"]
            .as_str()
            .unwrap()
            .to_string();
        let leader = sign_as(
            &original,
            &pki.leader_p256,
            Role::Leader,
            "signature-blue.png",
            Placement {
                anchor: Some(anchor),
                ..Placement::default()
            },
        );
        let sealed = sign_as(
            &leader,
            &pki.seal,
            Role::Seal,
            "seal-red.png",
            Placement::default(),
        );
        let options = kyso_pades::verify::VerifyOptions {
            cades: kyso_cades::VerifyOptions {
                anchors: &anchors,
                extra_certificates: &[],
                extra_crls: &[],
                extra_ocsp: &[],
                validation_time: pki.now + time::Duration::hours(1),
                revocation: RevocationMode::Skip,
                limits: kyso_cades::Limits::default(),
            },
            limits: kyso_pades::verify::Limits::default(),
            policy: Policy::default(),
            password: None,
        };
        let r = kyso_pades::verify::verify(&sealed, &options).unwrap();
        assert_eq!(
            r.verdict,
            Verdict::Valid,
            "{doc}: codes {:?}\n{:#?}\n{:#?}",
            codes(&r),
            r.warnings,
            r.signatures[0].overlaps
        );
        assert!(r.warnings.is_empty(), "{doc}: {:#?}", r.warnings);
        let o = &r.signatures[0].overlaps;
        assert!(
            o.iter().all(|o| o.expected)
                && o.iter().any(|o| o.covers == Covers::SignatureAppearance
                    && o.signature.as_deref() == Some(r.signatures[0].field.as_str())),
            "{doc}: {o:#?}"
        );
    }
}

#[test]
fn a_visible_signature_after_a_p2_certification_needs_a_prepared_field_like_pyhanko() {
    // A new visible signature field after a certification: pyHanko (the certification
    // INVALID) and kyso (modified) both refuse it; its appearance is not covered by
    // the certification (the sneaky-signature attack).
    let pdf = sign_bytes(
        certified(2),
        &field_spec("Sig2", SIGNATURE_AREA),
        Who::Seal,
        &[],
    );
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(!ok, "pyHanko: {lines:?}");
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(
        codes(&r).contains(&"visible_signature_after_certification"),
        "{:?}",
        codes(&r)
    );
    // Signing a visible field the certifier prepared is signing: allowed by both.
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let prepared = add_field(&orig, "Sig", "Sig2", SIGNATURE_AREA, None, None);
    let certified = fixture::certify_bytes(&prepared, "Cert", 2);
    let pdf = sign_bytes(&certified, "Sig2", Who::Seal, &[]);
    let (ok, lines) = pyhanko_all_valid(&pdf);
    assert!(ok, "pyHanko: {lines:?}");
    let r = verify(&pdf);
    assert!(r.verdict.is_success(), "codes {:?}\n{r:#?}", codes(&r));
    assert_listed(&r, ChangeClass::Signature);
}

// ---------------------------------------------------------------------------------
// Deleting annotations (DocMDP P3 permits it)
// ---------------------------------------------------------------------------------

/// quyet-dinh.pdf with a /`subtype` annotation painting `text` in `rect`, then
/// certified with DocMDP `p`.
fn annotated_then_certified(subtype: &str, rect: [f64; 4], p: u8) -> Vec<u8> {
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let annotated = add_annotation(&orig, subtype, rect, "Ghi chu");
    fixture::certify_bytes(&annotated, "Cert", p)
}

/// An update removing page 1's non-widget annotations from /Annots (`free`: and
/// marking them free, as some viewers save a deletion, with `also_free`).
fn remove_annotations(pdf: &[u8], free: bool, also_free: &[u32]) -> Vec<u8> {
    let d = edit::doc(pdf);
    let (page, mut dict) = edit::page1(pdf);
    let is_markup = |o: &Object| {
        o.as_reference()
            .ok()
            .and_then(|r| d.get_dictionary(r).ok())
            .is_some_and(|a| {
                a.get(b"Subtype")
                    .is_ok_and(|s| s.as_name().ok() != Some(b"Widget"))
            })
    };
    let (annots, holder) = match dict.get(b"Annots").unwrap().clone() {
        Object::Reference(r) => (
            d.get_object(r).unwrap().as_array().unwrap().clone(),
            Some(r.0),
        ),
        Object::Array(a) => (a, None),
        other => panic!("/Annots is {other:?}"),
    };
    let removed: Vec<u32> = annots
        .iter()
        .filter(|o| is_markup(o))
        .map(|o| o.as_reference().unwrap().0)
        .collect();
    assert!(!removed.is_empty());
    let kept: Vec<Object> = annots.into_iter().filter(|o| !is_markup(o)).collect();
    let objects = match holder {
        Some(n) => vec![(n, edit::ser(&Object::Array(kept)))],
        None => {
            dict.set("Annots", Object::Array(kept));
            vec![(page, edit::ser_dict(&dict))]
        }
    };
    let mut u = edit::Update::new(objects);
    if free {
        u.freed = removed;
        u.freed.extend_from_slice(also_free);
    }
    edit::apply(pdf, &u)
}

#[test]
fn deleting_an_annotation_under_p3_is_valid_with_changes() {
    let base = annotated_then_certified("Text", BLANK, 3);
    assert_eq!(verify(&base).verdict, Verdict::Valid);
    for free in [false, true] {
        let pdf = remove_annotations(&base, free, &[]);
        let r = verify(&pdf);
        assert_eq!(r.verdict, Verdict::ValidWithChanges, "free {free}: {r:#?}");
        assert_listed(&r, ChangeClass::Annotation);
        assert!(codes(&r).contains(&"annotation_removed"), "{:?}", codes(&r));
        assert_eq!(strict(&pdf).verdict, Verdict::Modified);
        // pyHanko's default policy explains no annotation change (nor any freed
        // object); kyso follows ISO 32000-2 here.
        let (ok, lines) = pyhanko_all_valid(&pdf);
        assert!(!ok, "pyHanko: {lines:?}");
    }
    // P2 does not permit it.
    let pdf = remove_annotations(&annotated_then_certified("Text", BLANK, 2), false, &[]);
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(codes(&r).contains(&"docmdp_violation"), "{:?}", codes(&r));
}

#[test]
fn deleting_an_annotation_that_hid_signed_text_is_modified() {
    // The shadow "hide" attack with an annotation: an opaque box over the signer's
    // name when certifying, removed afterwards.
    let pdf = remove_annotations(
        &annotated_then_certified("Square", NAME_LINE, 3),
        false,
        &[],
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(
        codes(&r).contains(&"removed_annotation_uncovers_content"),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn freeing_what_a_removed_annotation_shares_with_the_page_is_modified() {
    // The annotation's "appearance" is the page's own content stream: freeing it with
    // the annotation would blank the signed page.
    let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
    let n = edit::next_num(&orig);
    let content = edit::page_content(&orig);
    let (page, _) = edit::page1(&orig);
    let mut objects = vec![(
        n,
        format!(
            "<< /Type /Annot /Subtype /Text /Rect [85 60 110 85] /P {page} 0 R /Contents (x) /AP << /N {content} 0 R >> >>"
        ),
    )];
    objects.extend(craft::page_with(&orig, n));
    let base = fixture::certify_bytes(&edit::append(&orig, objects), "Cert", 3);
    assert_eq!(verify(&base).verdict, Verdict::Valid);
    // Removing and freeing the annotation alone is a permitted deletion…
    let r = verify(&remove_annotations(&base, true, &[]));
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    // …freeing its "appearance" too, in the same update, is not.
    let pdf = remove_annotations(&base, true, &[content]);
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Modified, "{r:#?}");
    assert!(codes(&r).contains(&"object_freed"), "{:?}", codes(&r));
}
