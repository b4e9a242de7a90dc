#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! Every attack class of `docs/rules/pdf-signature-security.md`, crafted from
//! documents pyHanko signs (the reference signer) by appending bytes in Rust, each with
//! the verdict and reason code kyso must give: universal signature forgery (USF),
//! incremental saving (ISA), signature wrapping (SWA), shadow hide / replace /
//! hide-and-replace, evil annotation (EAA) and sneaky signature (SSA). Controls prove
//! the crafting itself does not break what it does not attack.

#[path = "support/craft.rs"]
mod craft;
#[path = "support/edit.rs"]
mod edit;
#[path = "support/fixture.rs"]
mod fixture;

use craft::*;
use edit::{
    Form, TrailerMode, Update, append, apply, catalog, page_content, page_font, page1, ser_dict,
    stream,
};
use fixture::{
    AUTHORITY_LINE, NAME_LINE, SIGNATURE_AREA, Who, certified, codes, field_spec, sign_bytes,
    signed_stream, signed_table, signed_visible, verify, verify_with,
};
use kyso_cades::Verdict;
use kyso_pades::verify::{ChangeClass, Coverage, PdfReport, Policy};
use kyso_pki::path::RevocationMode;
use lopdf::Object;

fn expect(r: &PdfReport, verdict: Verdict, code: &str) {
    let found = codes(r);
    assert_eq!(r.verdict, verdict, "codes {found:?}\n{r:#?}");
    assert!(
        found.contains(&code),
        "reason `{code}` missing: {found:?}\n{r:#?}"
    );
}

/// The first signature stays intact (integrity passes) whatever a later revision does.
fn first_intact(r: &PdfReport) {
    assert_eq!(
        r.signatures[0].cms.integrity,
        kyso_cades::report::Check::Passed,
        "{r:#?}"
    );
}

// ---------------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------------

#[test]
fn control_pyhanko_signatures_are_valid() {
    for (what, pdf) in [
        ("table", signed_table()),
        ("xref stream", signed_stream()),
        ("visible", signed_visible()),
    ] {
        let r = verify(pdf);
        assert_eq!(r.verdict, Verdict::Valid, "{what}: {r:#?}");
        assert_eq!(r.signatures[0].coverage, Coverage::EntireFile);
    }
    for p in 1..=3 {
        let r = verify(certified(p));
        assert_eq!(r.verdict, Verdict::Valid, "P{p}: {r:#?}");
        assert_eq!(r.signatures[0].docmdp, Some(p));
    }
}

#[test]
fn control_a_crafted_signature_with_a_correct_cms_is_valid() {
    // The harness that crafts USF variants makes valid signatures when nothing is
    // wrong, so the failures below are the attacks', not the harness's.
    let pdf = append_signature(
        signed_table(),
        "Sig2",
        "",
        Fill::Cms { encapsulate: false },
        0,
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(
        r.signatures[0].modifications[0].class,
        ChangeClass::Signature
    );
}

#[test]
fn control_cosigning_with_an_overlapping_seal_is_valid() {
    // Decree 30: the agency seal covers part of the leader's signature — expected, so
    // plain valid; the overlap is listed (crates/pades/tests/modifications.rs).
    let seal = [
        SIGNATURE_AREA[0] + 20.0,
        SIGNATURE_AREA[1] - 20.0,
        SIGNATURE_AREA[0] + 120.0,
        SIGNATURE_AREA[3] - 10.0,
    ];
    let pdf = sign_bytes(signed_visible(), &field_spec("Seal", seal), Who::Seal, &[]);
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert!(
        r.signatures[0].overlaps.iter().any(|o| o.expected),
        "{:#?}",
        r.signatures[0].overlaps
    );
    // Co-signing without overlap is plain valid.
    let pdf = sign_bytes(signed_table(), "Seal", Who::Seal, &[]);
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
}

// ---------------------------------------------------------------------------------
// 1. Universal signature forgery
// ---------------------------------------------------------------------------------

#[test]
fn usf_missing_empty_null_or_non_der_contents_is_invalid() {
    let base = signed_table();
    let cases: [(&str, String, &str); 3] = [
        (
            "no /Contents",
            format!("<< {SIG} /ByteRange [0 100 200 300] >>"),
            "contents_missing",
        ),
        (
            "empty /Contents",
            format!("<< {SIG} /ByteRange [0 100 200 300] /Contents <> >>"),
            "contents_empty",
        ),
        (
            "null /Contents",
            format!("<< {SIG} /ByteRange [0 100 200 300] /Contents null >>"),
            "contents_null",
        ),
    ];
    for (what, dict, code) in cases {
        let r = verify(&append_raw_signature(base, "Forged", &dict));
        first_intact(&r);
        assert_eq!(r.signatures.len(), 2, "{what}");
        expect(&r, Verdict::Invalid, code);
    }
    let r = verify(&append_signature(
        base,
        "Forged",
        "",
        Fill::Bytes(b"not a signature".to_vec()),
        0,
    ));
    expect(&r, Verdict::Invalid, "contents_not_der");
    let r = verify(&append_signature(
        base,
        "Forged",
        "",
        Fill::Bytes(vec![0x30, 0x03, 1, 2, 3]),
        0,
    ));
    expect(&r, Verdict::Invalid, "cms_malformed");
}

#[test]
fn usf_encapsulated_content_in_a_detached_signature_is_invalid() {
    let r = verify(&append_signature(
        signed_table(),
        "Forged",
        "",
        Fill::Cms { encapsulate: true },
        0,
    ));
    expect(&r, Verdict::Invalid, "encapsulated_content");
}

#[test]
fn legacy_sha1_sub_filter_is_reported_and_never_valid() {
    let pdf = append_signature(
        signed_table(),
        "Legacy",
        "/SubFilter /adbe.pkcs7.sha1",
        Fill::Sha1Legacy,
        0,
    );
    let r = verify(&pdf);
    assert_eq!(
        r.signatures[1].sub_filter.as_deref(),
        Some("adbe.pkcs7.sha1")
    );
    assert_eq!(
        r.signatures[1].cms.integrity,
        kyso_cades::report::Check::Passed,
        "{r:#?}"
    );
    expect(&r, Verdict::Indeterminate, "legacy_sha1_subfilter");
    // …and a changed document under it is invalid, not merely legacy: one byte changed
    // anywhere it signs, chosen by what lies there (never by where the current time's
    // digits happen to push it) — including the cross-reference section, trailer and
    // end marker of its own revision, whose damage must not hide the signature.
    let rfind = |needle: &[u8]| {
        pdf.windows(needle.len())
            .rposition(|w| w == needle)
            .unwrap()
    };
    let content = craft::find(&pdf, b"stream") + 20;
    let xref = rfind(b"\nxref") + 30; // a digit of the first entry of the last table
    let trailer_root = rfind(b"/Root") + 6;
    let startxref = rfind(b"startxref") + 11;
    let eof = rfind(b"%%EOF") + 1;
    for (what, at) in [
        ("page content", content),
        ("the signature's own xref table", xref),
        ("its trailer's /Root", trailer_root),
        ("its startxref offset", startxref),
        ("its %%EOF marker", eof),
        ("the startxref keyword", rfind(b"startxref")),
    ] {
        let mut tampered = pdf.clone();
        tampered[at] ^= 1;
        let r = verify(&tampered);
        assert_eq!(
            r.verdict,
            Verdict::Invalid,
            "{what} (byte {at}): {:?}",
            codes(&r)
        );
        assert!(
            codes(&r).contains(&"digest_mismatch"),
            "{what} (byte {at}): {:?}",
            codes(&r)
        );
    }
}

#[test]
fn usf_malformed_byte_ranges_are_invalid() {
    let base = signed_table();
    let contents = format!("<{}>", "30".repeat(8));
    let cases = [
        (
            "no /ByteRange",
            format!("<< {SIG} /Contents {contents} >>"),
            "byte_range_missing",
        ),
        (
            "three numbers",
            format!("<< {SIG} /ByteRange [0 10 20] /Contents {contents} >>"),
            "byte_range_length",
        ),
        (
            "negative",
            format!("<< {SIG} /ByteRange [0 -10 20 30] /Contents {contents} >>"),
            "byte_range_negative",
        ),
        (
            "overlapping",
            format!("<< {SIG} /ByteRange [0 200 100 50] /Contents {contents} >>"),
            "byte_range_order",
        ),
        (
            "non-integer",
            format!("<< {SIG} /ByteRange [0 10.0 20 30] /Contents {contents} >>"),
            "byte_range_not_integer",
        ),
        (
            "not from 0",
            format!("<< {SIG} /ByteRange [10 20 30 40] /Contents {contents} >>"),
            "byte_range_not_from_start",
        ),
        (
            "indirect",
            format!("<< {SIG} /ByteRange 1 0 R /Contents {contents} >>"),
            "byte_range_indirect",
        ),
        (
            "null",
            format!("<< {SIG} /ByteRange null /Contents {contents} >>"),
            "byte_range_not_array",
        ),
        (
            "past the end",
            format!("<< {SIG} /ByteRange [0 10 20 99999999] /Contents {contents} >>"),
            "byte_range_beyond_file",
        ),
        (
            "duplicate /ByteRange",
            format!(
                "<< {SIG} /ByteRange [0 10 20 30] /ByteRange [0 1 2 3] /Contents {contents} >>"
            ),
            "signature_dictionary_duplicate_keys",
        ),
    ];
    for (what, dict, code) in cases {
        let r = verify(&append_raw_signature(base, "Forged", &dict));
        assert_eq!(r.signatures.len(), 2, "{what}");
        first_intact(&r);
        expect(&r, Verdict::Invalid, code);
    }
    // A range that stops short of the end of its revision, with a CMS over exactly
    // those bytes: the digest matches, the structure does not.
    let r = verify(&append_signature(
        base,
        "Forged",
        "",
        Fill::Cms { encapsulate: false },
        10,
    ));
    expect(&r, Verdict::Invalid, "byte_range_not_revision_end");
    assert_eq!(r.signatures[1].coverage, Coverage::ContiguousBlockFromStart);
}

#[test]
fn usf_editing_the_signed_dictionary_in_place_is_invalid() {
    // Rename /ByteRange inside the signed revision (same length): the signature is
    // unreadable, never "unknown but fine".
    let mut pdf = signed_table().to_vec();
    let at = pdf.windows(10).rposition(|w| w == b"/ByteRange").unwrap();
    pdf[at..at + 10].copy_from_slice(b"/ByteRangX");
    let r = verify(&pdf);
    expect(&r, Verdict::Invalid, "byte_range_missing");
}

// ---------------------------------------------------------------------------------
// 2. Incremental saving attack
// ---------------------------------------------------------------------------------

#[test]
fn isa_appended_content_revision_is_modified() {
    for base in [signed_table(), signed_stream()] {
        let content = page_content(base);
        let pdf = append(base, vec![(content, evil_content())]);
        let r = verify(&pdf);
        first_intact(&r);
        expect(&r, Verdict::Modified, "stream_changed");
        assert_eq!(r.signatures[0].coverage, Coverage::EntireRevision);
        assert!(!r.signatures[0].modifications[0].allowed);
    }
}

#[test]
fn isa_without_cross_reference_or_trailer_is_modified() {
    let base = signed_table();
    let content = page_content(base);
    let mut u = Update::new(vec![(content, evil_content())]);
    u.form = Form::Nothing;
    let r = verify(&apply(base, &u));
    expect(&r, Verdict::Modified, "unparsed_tail");
}

#[test]
fn isa_with_a_trailer_copied_from_the_signed_revision_is_modified() {
    let base = signed_table();
    let content = page_content(base);
    let mut u = Update::new(vec![(content, evil_content())]);
    u.trailer = TrailerMode::Copied;
    let r = verify(&apply(base, &u));
    first_intact(&r);
    expect(&r, Verdict::Modified, "prev_mismatch");
}

#[test]
fn isa_reusing_the_signed_startxref_is_modified() {
    // New objects, then the signed revision's own `startxref N %%EOF` again.
    let base = signed_table();
    let t = edit::trailer(base);
    let content = page_content(base);
    let mut pdf = base.to_vec();
    pdf.extend_from_slice(
        format!(
            "{content} 0 obj\n{}\nendobj\nstartxref\n{}\n%%EOF\n",
            evil_content(),
            t.prev
        )
        .as_bytes(),
    );
    let r = verify(&pdf);
    expect(&r, Verdict::Modified, "startxref_outside_revision");
}

#[test]
fn isa_disguised_as_a_signature_update_is_modified() {
    // The attacker changes the content and signs over everything with their own
    // (trusted) key: the last signature covers the whole file, the first does not.
    let base = signed_table();
    let content = page_content(base);
    let tampered = append(base, vec![(content, evil_content())]);
    let pdf = sign_bytes(&tampered, "Sig2", Who::Seal, &[]);
    let r = verify(&pdf);
    first_intact(&r);
    assert_eq!(r.signatures[1].coverage, Coverage::EntireFile);
    expect(&r, Verdict::Modified, "stream_changed");
    // And a content change inside the signature revision itself.
    let n = edit::next_num(base);
    let (page, _) = page1(base);
    let mut objects = vec![
        (
            n,
            format!(
                "<< /FT /Sig /T (Sig2) /Type /Annot /Subtype /Widget /F 132 /Rect [0 0 0 0] /P {page} 0 R >>"
            ),
        ),
        (content, evil_content()),
    ];
    objects.extend(page_with(base, n));
    objects.extend(form_with(base, n));
    let r = verify(&append(base, objects));
    expect(&r, Verdict::Modified, "stream_changed");
}

// ---------------------------------------------------------------------------------
// 3. Signature wrapping
// ---------------------------------------------------------------------------------

#[test]
fn swa_objects_inside_a_shrunk_contents_gap_are_invalid() {
    let base = signed_table();
    // The new object sits in a string of the signature dictionary, so the dictionary
    // still parses and its /Contents ends before the gap does.
    let (pdf, at) = shrink_gap(base, |content| {
        format!(" /X (\n{content} 0 obj\n{}\nendobj\n)", evil_content())
    });
    let mut u = Update::new(Vec::new());
    u.redirects = vec![(page_content(base), at + " /X (\n".len())];
    let r = verify(&apply(&pdf, &u));
    expect(&r, Verdict::Invalid, "gap_not_contents");
    assert!(
        codes(&r).contains(&"xref_redirect"),
        "{:?} {:#?}",
        codes(&r),
        r.revisions
    );
    // Bare objects in the gap make the signature dictionary itself unreadable: still
    // a signature, and an invalid one.
    let (pdf, at) = shrink_gap(base, |content| {
        format!("\n{content} 0 obj\n{}\nendobj\n", evil_content())
    });
    let mut u = Update::new(Vec::new());
    u.redirects = vec![(page_content(base), at + 1)];
    let r = verify(&apply(&pdf, &u));
    expect(&r, Verdict::Invalid, "signature_unreadable");
}

#[test]
fn swa_relocated_second_range_is_invalid() {
    // /ByteRange follows /Contents in pyHanko's dictionary, so it lies in the second
    // signed range. Keep a copy of that range further back (so the digest still
    // matches) and put a new /ByteRange pointing at the copy right after /Contents.
    let base = signed_table();
    let [_, a, b, c] = edit::last_byte_range(base);
    let rev1_startxref = {
        let t = edit::trailer(&base[..a]);
        t.prev
    };
    let mut b2 = b + 200;
    let inserted = loop {
        let text = format!(" /ByteRange [0 {a} {b2} {c}] {SIG} >>\nendobj\n");
        let mut t = text.clone();
        while t.len() < b2 - b {
            t.push(' ');
        }
        if t.len() == b2 - b {
            break t;
        }
        b2 = b + text.len() + 1;
    };
    let mut pdf = base[..b].to_vec();
    pdf.extend_from_slice(inserted.as_bytes());
    pdf.extend_from_slice(&base[b..b + c]);
    // A new cross-reference section for the signature revision's objects, chained to
    // the first revision.
    let entries = section_entries(base);
    let xref_at = pdf.len();
    let mut x = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (n, off) in &entries {
        x.push_str(&format!("{n} 1\n{off:010} 00000 n \n"));
    }
    let t = edit::trailer(base);
    x.push_str(&format!(
        "trailer\n<< /Size {} /Root {} /Info {} /Prev {rev1_startxref} >>\nstartxref\n{xref_at}\n%%EOF\n",
        t.size,
        t.root,
        t.info.unwrap()
    ));
    pdf.extend_from_slice(x.as_bytes());
    let r = verify(&pdf);
    expect(&r, Verdict::Invalid, "gap_not_contents");
}

// ---------------------------------------------------------------------------------
// 4. Shadow attacks
// ---------------------------------------------------------------------------------

#[test]
fn shadow_prepared_document_is_valid_before_the_attack() {
    let (signed, ..) = shadow_prepared();
    assert_eq!(verify(signed).verdict, Verdict::Valid);
}

#[test]
fn shadow_hide_removing_the_overlay_is_modified() {
    let (signed, overlay, hidden_at, ..) = shadow_prepared();
    // Redefine the overlay in the update…
    let r = verify(&append(signed, vec![(*overlay, stream("", ""))]));
    first_intact(&r);
    expect(&r, Verdict::Modified, "stream_changed");
    // …or only point the cross-reference entry at the hidden empty version.
    let mut u = Update::new(Vec::new());
    u.redirects = vec![(*overlay, *hidden_at)];
    let r = verify(&apply(signed, &u));
    expect(&r, Verdict::Modified, "xref_redirect");
}

#[test]
fn shadow_replace_font_redefinition_is_modified() {
    let base = signed_table();
    let (_, font) = page_font(base);
    let mut dict = match edit::object(base, font) {
        Object::Dictionary(d) => d,
        other => panic!("font is {other:?}"),
    };
    dict.set("FirstChar", Object::Integer(33));
    let r = verify(&append(base, vec![(font, ser_dict(&dict))]));
    expect(&r, Verdict::Modified, "font_redefined");
}

#[test]
fn shadow_replace_overlay_object_redefinition_is_modified() {
    let (signed, overlay, ..) = shadow_prepared();
    let r = verify(&append(
        signed,
        vec![(*overlay, stream("", "q 0 0 1 rg 0 0 595 842 re f Q"))],
    ));
    expect(&r, Verdict::Modified, "stream_changed");
}

#[test]
fn shadow_replace_form_field_value_over_text_is_modified() {
    let base = form_prepared();
    assert_eq!(verify(base).verdict, Verdict::Valid);
    let d = edit::doc(base);
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
    let n = edit::next_num(base);
    dict.set("V", Object::string_literal("Trần Thị Giả Mạo"));
    dict.set(
        "AP",
        Object::Dictionary(lopdf::dictionary! { "N" => Object::Reference((n, 0)) }),
    );
    let pdf = append(
        base,
        vec![
            (field, ser_dict(&dict)),
            (n, appearance(NAME_LINE, "Tran Thi Gia Mao")),
        ],
    );
    let r = verify_with(&pdf, RevocationMode::Skip, Policy::strict());
    first_intact(&r);
    expect(&r, Verdict::Modified, "not_allowed_by_policy");
    assert_eq!(
        r.signatures[0].modifications[0].class,
        ChangeClass::FormFill
    );
    // Even where form filling is allowed, a value painted over signed text is not.
    let relaxed = Policy {
        allow_form_filling: true,
        ..Policy::default()
    };
    let r = verify_with(&pdf, RevocationMode::Skip, relaxed);
    expect(&r, Verdict::Modified, "appearance_over_content");
}

#[test]
fn shadow_hide_and_replace_pointing_root_elsewhere_is_modified() {
    let (signed, _, _, hidden_root, hidden_catalog_at) = shadow_prepared();
    // An update with no objects at all: only a trailer with a new /Root.
    let mut u = Update::new(Vec::new());
    u.root = Some(format!("{hidden_root} 0 R"));
    let r = verify(&apply(signed, &u));
    first_intact(&r);
    expect(&r, Verdict::Modified, "root_changed");
    // Or keep /Root and redirect the catalog's own number to the hidden copy.
    let (cat, _) = catalog(signed);
    let mut u = Update::new(Vec::new());
    u.redirects = vec![(cat, *hidden_catalog_at)];
    let r = verify(&apply(signed, &u));
    expect(&r, Verdict::Modified, "xref_redirect");
}

#[test]
fn an_update_that_changes_nothing_is_modified() {
    let r = verify(&apply(signed_table(), &Update::new(Vec::new())));
    expect(&r, Verdict::Modified, "empty_update");
}

// ---------------------------------------------------------------------------------
// 5. Certification attacks
// ---------------------------------------------------------------------------------

#[test]
fn eaa_free_text_and_stamp_over_the_page_under_p3_are_modified() {
    for subtype in ["FreeText", "Stamp", "Redact"] {
        let pdf = add_annotation(certified(3), subtype, NAME_LINE, "Tran Thi Gia Mao");
        let r = verify_with(&pdf, RevocationMode::Skip, Policy::strict());
        first_intact(&r);
        expect(&r, Verdict::Modified, "not_allowed_by_policy");
        assert_eq!(
            r.signatures[0].modifications[0].class,
            ChangeClass::Annotation
        );
        // P3 permits annotations and so may a relaxed policy, but not painting over
        // the signed text.
        let relaxed = Policy {
            allow_annotations: true,
            ..Policy::default()
        };
        let r = verify_with(&pdf, RevocationMode::Skip, relaxed);
        expect(&r, Verdict::Modified, "appearance_over_content");
        assert!(
            !codes(&r).contains(&"docmdp_violation"),
            "{subtype}: P3 allows annotations"
        );
    }
    // Under P2 the same annotation breaks the certification itself.
    let pdf = add_annotation(certified(2), "FreeText", NAME_LINE, "Tran Thi Gia Mao");
    let relaxed = Policy {
        allow_annotations: true,
        ..Policy::default()
    };
    expect(
        &verify_with(&pdf, RevocationMode::Skip, relaxed),
        Verdict::Modified,
        "docmdp_violation",
    );
}

#[test]
fn ssa_visible_signature_field_after_certification_is_modified() {
    let pdf = add_field(
        certified(2),
        "Sig",
        "Sneaky",
        AUTHORITY_LINE,
        None,
        Some("DA PHE DUYET"),
    );
    let r = verify(&pdf);
    first_intact(&r);
    expect(
        &r,
        Verdict::Modified,
        "visible_signature_after_certification",
    );
    assert!(
        codes(&r).contains(&"appearance_over_content"),
        "{:?}",
        codes(&r)
    );
    assert!(r.unsigned_fields.iter().any(|f| f.field == "Sneaky"));
}

#[test]
fn ssa_signature_field_whose_value_is_not_a_signature_is_unsigned_and_modified() {
    let base = certified(2);
    let n = edit::next_num(base);
    let fake = append(
        base,
        vec![(n, "<< /Type /Fake /Name (Nguyen Van Hung) >>".into())],
    );
    let pdf = add_field(
        &fake,
        "Sig",
        "Sneaky",
        SIGNATURE_AREA,
        Some(&format!("{n} 0 R")),
        Some("Nguyen Van Hung"),
    );
    let r = verify(&pdf);
    expect(&r, Verdict::Modified, "fake_signature_value");
    assert_eq!(
        r.signatures.len(),
        1,
        "a /V that is not a signature dictionary is no signature"
    );
    assert!(
        r.unsigned_fields
            .iter()
            .any(|f| f.field == "Sneaky" && f.why.contains("Fake")),
        "{:?}",
        r.unsigned_fields
    );
}

#[test]
fn ssa_full_page_signature_widget_is_suspicious_and_modified() {
    let pdf = add_field(
        signed_table(),
        "Sig",
        "FullPage",
        [0.0, 0.0, 595.0, 842.0],
        None,
        Some("BAN SAO"),
    );
    let r = verify(&pdf);
    expect(&r, Verdict::Modified, "appearance_over_content");
    assert!(
        codes(&r).contains(&"suspicious_full_page_widget"),
        "{:?}",
        codes(&r)
    );
    // Off-page: no content under it, but reported.
    let pdf = add_field(
        signed_table(),
        "Sig",
        "OffPage",
        [700.0, 900.0, 800.0, 950.0],
        None,
        Some("X"),
    );
    let r = verify(&pdf);
    assert_eq!(r.verdict, Verdict::ValidWithChanges, "{r:#?}");
    assert!(
        codes(&r).contains(&"suspicious_off_page_widget"),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn a_certification_after_an_approval_signature_is_invalid() {
    let docmdp = "/Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>]";
    let pdf = append_signature(
        signed_table(),
        "Cert",
        docmdp,
        Fill::Cms { encapsulate: false },
        0,
    );
    let r = verify(&pdf);
    first_intact(&r);
    expect(&r, Verdict::Invalid, "certification_not_first");
}

#[test]
fn docmdp_p1_forbids_even_a_second_signature() {
    // pyHanko refuses to sign a P1 document, so the second signature is crafted.
    let pdf = append_signature(
        certified(1),
        "Sig2",
        "",
        Fill::Cms { encapsulate: false },
        0,
    );
    let r = verify(&pdf);
    assert_eq!(
        r.signatures[1].cms.integrity,
        kyso_cades::report::Check::Passed
    );
    expect(&r, Verdict::Modified, "docmdp_violation");
    // P2 allows it.
    let pdf = append_signature(
        certified(2),
        "Sig2",
        "",
        Fill::Cms { encapsulate: false },
        0,
    );
    assert_eq!(verify(&pdf).verdict, Verdict::Valid);
}

// ---------------------------------------------------------------------------------
// Signature bookkeeping
// ---------------------------------------------------------------------------------

#[test]
fn one_signature_value_in_two_fields_counts_once() {
    let base = signed_table();
    let d = edit::doc(base);
    let sig = d
        .objects
        .iter()
        .find(|(_, o)| {
            o.as_dict().is_ok_and(|d| {
                d.get(b"Type")
                    .is_ok_and(|t| t.as_name().is_ok_and(|n| n == b"Sig"))
            })
        })
        .map(|(id, _)| id.0)
        .unwrap();
    let pdf = add_field(
        base,
        "Sig",
        "Sig1Copy",
        [0.0; 4],
        Some(&format!("{sig} 0 R")),
        None,
    );
    let r = verify(&pdf);
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    assert_eq!(r.signatures[0].other_fields, vec!["Sig1Copy".to_string()]);
    expect(&r, Verdict::Modified, "signature_value_reused");
}

#[test]
fn a_signature_dictionary_rewritten_later_is_read_as_signed() {
    let base = signed_table();
    let d = edit::doc(base);
    let (sig, mut dict) = d
        .objects
        .iter()
        .find_map(|(id, o)| {
            let dd = o.as_dict().ok()?;
            (dd.get(b"Type").ok()?.as_name().ok()? == b"Sig").then(|| (id.0, dd.clone()))
        })
        .unwrap();
    dict.set("Reason", Object::string_literal("Đã sửa"));
    let r = verify(&append(base, vec![(sig, ser_dict(&dict))]));
    first_intact(&r);
    expect(&r, Verdict::Modified, "signature_dictionary_changed");
}

#[test]
fn freeing_a_signed_object_is_modified() {
    let base = signed_table();
    let mut u = Update::new(Vec::new());
    u.freed = vec![page_content(base)];
    let r = verify(&apply(base, &u));
    expect(&r, Verdict::Modified, "object_freed");
}
