//! PDF signature verification (ETSI EN 319 142-1, ISO 32000-2 §12.8) that the published
//! attacks do not fool (`docs/rules/pdf-signature-security.md`).
//!
//! [`verify`] reads the file as a chain of revisions (`crate::pdf::revisions`, the
//! parser the signer shares), finds every
//! signature field in every revision, reads each signature dictionary as it was in the
//! revision it signs, checks its byte range ([`byte_range`]), verifies the CMS with
//! `kyso-cades` over the two signed segments (with the DSS as extra validation
//! material, document time-stamps giving proof of existence), and classifies every
//! later revision at object level ([`diff`]) under kyso's policy, DocMDP / FieldMDP /
//! Lock ([`mdp`]) and an appearance-overlap check ([`geometry`]).
//!
//! `Err` means verification could not run (not a PDF, a resource limit); an encrypted
//! document kyso cannot open (wrong password) is an `indeterminate` report;
//! a damaged or attacked file is a [`PdfReport`] with a failing verdict.

mod byte_range;
mod diff;
mod fields;
mod geometry;
mod mdp;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use kyso_cades::report::{
    Check, Indication, Reason, RevocationCheck, SignatureReport, SubIndication, TimeSource,
    Verdict, vietnam_time,
};
use kyso_cades::verify::{ContainerHints, Need};
use kyso_signer::DigestAlgorithm;
use time::OffsetDateTime;

use self::byte_range::Checked;
use self::diff::RevisionDiff;
use self::fields::SigValue;
use self::geometry::Finding;
use self::mdp::Restrictions;
pub use self::report::{
    ChangeClass, Coverage, Covers, LockedFields, Modification, ModificationLevel, Overlap,
    OverlapKind, PdfReport, PdfSignatureReport, RevisionReport, SignatureAppearance, SignatureKind,
    UnsignedField, XrefForm,
};
use crate::pdf::objects::{Dict, ObjRef, Object, text_string};
use crate::pdf::revisions::{Document, Entry};

/// Limits on untrusted PDF input. Exceeding one is an error ("could not run"), never a
/// partial verdict.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file accepted.
    pub max_file_size: usize,
    /// Most revisions.
    pub max_revisions: usize,
    /// Most cross-reference entries over all revisions.
    pub max_objects: usize,
    /// Deepest nesting of arrays and dictionaries (and of the field tree).
    pub max_depth: usize,
    /// Most items in one array or dictionary.
    pub max_collection_length: usize,
    /// Longest string (decoded bytes).
    pub max_string_length: usize,
    /// Longest name.
    pub max_name_length: usize,
    /// Largest encoded stream.
    pub max_stream_size: usize,
    /// Largest decoded stream.
    pub max_decoded_stream: usize,
    /// Largest decoded/encoded size ratio of a stream.
    pub max_decompression_ratio: usize,
    /// Decoded bytes a small stream may always produce, whatever its ratio.
    pub min_decompression_allowance: usize,
    /// Decoded bytes over one verification.
    pub max_total_decoded: usize,
    /// Bytes of parsed objects and decoded object streams kept in memory.
    pub max_cache_bytes: usize,
    /// Most form fields.
    pub max_fields: usize,
    /// Most pages.
    pub max_pages: usize,
    /// Most objects visited by one reachability walk.
    pub max_walk: usize,
    /// Most signatures.
    pub max_signatures: usize,
    /// Most content-stream operations interpreted for one page.
    pub max_content_operations: usize,
    /// Most painted boxes kept for one page.
    pub max_content_boxes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: 4 << 30,
            max_revisions: 1_000,
            max_objects: 4_000_000,
            max_depth: 64,
            max_collection_length: 1 << 20,
            max_string_length: 64 << 20,
            max_name_length: 4096,
            max_stream_size: 4 << 30,
            max_decoded_stream: 256 << 20,
            max_decompression_ratio: 1024,
            min_decompression_allowance: 1 << 20,
            max_total_decoded: 1 << 30,
            max_cache_bytes: 32 << 20,
            max_fields: 100_000,
            max_pages: 1_000_000,
            max_walk: 4_000_000,
            max_signatures: 1_000,
            max_content_operations: 5_000_000,
            max_content_boxes: 500_000,
        }
    }
}

/// Which later changes are allowed, besides signing (new signatures and their fields),
/// document time-stamps, validation data (DSS) and metadata, which are always allowed
/// unless a certification forbids them (DocMDP P1) or a field lock does.
///
/// The default ([`Policy::standard`]) is ISO 32000-2 §12.8.2.2 as pyHanko's default
/// `StandardDiffPolicy` applies it: form filling is allowed after any signature
/// (DocMDP P2 and P3, and approval signatures without DocMDP), annotations only where a
/// certification with DocMDP P3 permits them. [`Policy::strict`] is an institution's
/// stricter choice: neither form filling nor annotations. Every allowed change is still
/// listed in the report (verdict `valid_with_changes`), and an appearance painted over
/// signed page content is never allowed without a later signature covering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Allow filling in form fields (DocMDP P2 and P3 permit it; so does an approval
    /// signature without DocMDP).
    pub allow_form_filling: bool,
    /// Allow adding, changing and deleting annotations where a certification permits
    /// them (DocMDP P3).
    pub allow_annotations: bool,
    /// Also allow annotations after approval signatures when no certification permits
    /// them (Acrobat does; pyHanko's default and kyso's do not).
    pub allow_annotations_without_certification: bool,
}

impl Policy {
    /// ISO 32000-2 §12.8.2.2 as pyHanko applies it (the default).
    pub const fn standard() -> Self {
        Self {
            allow_form_filling: true,
            allow_annotations: true,
            allow_annotations_without_certification: false,
        }
    }

    /// No form filling, no annotations after any signature: only signatures, document
    /// time-stamps, validation data and metadata.
    pub const fn strict() -> Self {
        Self {
            allow_form_filling: false,
            allow_annotations: false,
            allow_annotations_without_certification: false,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::standard()
    }
}

/// Inputs of a PDF verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// Trust anchors, extra certificates / CRLs / OCSP responses, validation time,
    /// revocation mode and CMS limits.
    pub cades: kyso_cades::VerifyOptions<'a>,
    /// PDF input limits.
    pub limits: Limits,
    /// kyso's modification policy.
    pub policy: Policy,
    /// The password of an encrypted document (user or owner password); `None` is the
    /// empty user password, which opens documents encrypted only to restrict
    /// permissions. A wrong one makes the verdict `indeterminate`.
    pub password: Option<&'a str>,
}

/// Errors: the verification could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The input has no `%PDF-` header.
    #[error("not a PDF file (no %PDF- header in the first 1024 bytes)")]
    NotPdf,
    /// A structure kyso needs cannot be read.
    #[error("malformed PDF at byte {offset}: {what}")]
    Malformed {
        /// Where.
        offset: u64,
        /// What.
        what: String,
    },
    /// A limit was exceeded.
    #[error("input limit exceeded: {what} (at most {max})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its value.
        max: usize,
    },
    /// A feature kyso does not support (an unknown stream filter…).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The caller asked for a signature that does not exist.
    #[error("the file has no signature number {0}")]
    NoSuchSignature(usize),
    /// The CMS layer could not run.
    #[error(transparent)]
    Cades(#[from] kyso_cades::CadesError),
}

impl PdfError {
    pub(crate) fn malformed(offset: usize, what: &str) -> Self {
        PdfError::Malformed {
            offset: offset as u64,
            what: what.to_string(),
        }
    }
}

/// Verify every signature of `pdf` and analyse every later revision.
pub fn verify(pdf: &[u8], options: &VerifyOptions<'_>) -> Result<PdfReport, PdfError> {
    verify_fetching(pdf, options, None)
}

/// Revocation data fetched for a verification (DER CRLs and OCSP responses).
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses.
    pub ocsp: Vec<Vec<u8>>,
}

/// [`verify`], asking `fetch` for the revocation data of what [`needs`] would list
/// once the signatures are found — one reading of the file instead of two. What it
/// returns is used beside `options`' own CRLs and OCSP responses and the DSS.
pub fn verify_fetching(
    pdf: &[u8],
    options: &VerifyOptions<'_>,
    fetch: Option<&mut dyn FnMut(Vec<Need>) -> Fetched>,
) -> Result<PdfReport, PdfError> {
    let limits = &options.limits;
    let doc = Document::open(pdf, limits, options.password.unwrap_or(""))?;
    let now = options.cades.validation_time;
    let mut report = PdfReport {
        verdict: Verdict::Unsigned,
        format: "pades",
        validation_time: vietnam_time(now),
        file_size: pdf.len() as u64,
        revisions: Vec::new(),
        signatures: Vec::new(),
        unsigned_fields: Vec::new(),
        reasons: Vec::new(),
        warnings: doc.notes.clone(),
    };
    let Some(last) = doc.revisions.len().checked_sub(1) else {
        report.verdict = Verdict::Invalid;
        report.reasons.push(Reason::new(
            "no_revisions",
            "the file has no readable `startxref … %%EOF`: it cannot be read as a PDF without repairing it",
            "tệp không có `startxref … %%EOF` đọc được: không thể đọc như PDF mà không sửa chữa",
        ));
        return Ok(report);
    };
    if let Some(why) = &doc.locked {
        // An encrypted document kyso cannot decrypt: its revisions can be listed, but
        // nothing in them can be judged.
        report.verdict = Verdict::Indeterminate;
        report.reasons.push(why.clone());
        for (k, rev) in doc.revisions.iter().enumerate() {
            report.revisions.push(RevisionReport {
                number: k + 1,
                start: rev.start as u64,
                end: rev.end as u64,
                xref: rev.form,
                class: None,
                level: None,
                signed_by: Vec::new(),
                changes: Vec::new(),
            });
        }
        return Ok(report);
    }
    let found = discover(&doc)?;
    report.unsigned_fields = found.unsigned;
    report.warnings.extend(found.warnings);
    let mut sigs = found.signatures;
    let fetched = fetch.map(|f| f(needs_of(&sigs))).unwrap_or_default();

    // Validation material from the DSS (latest revision that has one).
    let dss = dss_material(&doc, last, &mut report.warnings);
    let mut certs: Vec<Vec<u8>> = options.cades.extra_certificates.to_vec();
    let mut crls: Vec<Vec<u8>> = options.cades.extra_crls.to_vec();
    let mut ocsp: Vec<Vec<u8>> = options.cades.extra_ocsp.to_vec();
    crls.extend(fetched.crls);
    ocsp.extend(fetched.ocsp);
    certs.extend(dss.certs);
    crls.extend(dss.crls);
    ocsp.extend(dss.ocsp);

    // Gaps: no cross-reference entry may point into one, no two may overlap.
    let gaps: Vec<(usize, Range<usize>)> = sigs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.checked.as_ref().ok().map(|c| (i, c.gap())))
        .collect();
    for (i, g) in &gaps {
        for (j, h) in &gaps {
            if i < j && g.start < h.end && h.start < g.end {
                for k in [*i, *j] {
                    sigs[k].structure_failure(Reason::new(
                        "gaps_overlap",
                        "two signatures' unsigned gaps overlap (signature wrapping)",
                        "khoảng không được ký của hai chữ ký chồng lên nhau",
                    ));
                }
            }
        }
    }
    for (i, gap) in &gaps {
        let Some(signed_rev) = sigs[*i].revision() else {
            continue;
        };
        for (k, rev) in doc.revisions.iter().enumerate() {
            let hit = rev
                .entries
                .values()
                .any(|e| matches!(e, Entry::InUse { offset, .. } if gap.contains(offset)));
            if hit && k <= signed_rev {
                sigs[*i].structure_failure(Reason::new(
                    "xref_into_gap",
                    "a cross-reference entry points into the signature's unsigned gap",
                    "bảng tham chiếu chéo trỏ vào khoảng không được ký của chữ ký",
                ));
            }
        }
    }

    // Certification: at most one, and it must be the first signature.
    let first_signed = sigs.iter().filter_map(Sig::analysed).min();
    for s in &mut sigs {
        if s.restrictions.docmdp.is_some() && s.analysed() != first_signed {
            s.structure_failure(Reason::new(
                "certification_not_first",
                "a certification (DocMDP) signature must be the first signature of the document",
                "chữ ký chứng nhận (DocMDP) phải là chữ ký đầu tiên của tài liệu",
            ));
        }
    }

    // Document time-stamps first (latest first), each one's time proving the
    // existence of everything it covers.
    let mut order: Vec<usize> = (0..sigs.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse((sigs[*i].is_timestamp(), sigs[*i].end())));
    let mut poe: Vec<(usize, OffsetDateTime)> = Vec::new(); // (revision, time)
    let digests = content_digests(&doc, &sigs);
    for i in order {
        let covering = sigs[i]
            .revision()
            .and_then(|r| poe.iter().filter(|(pr, _)| *pr > r).map(|(_, t)| *t).min());
        let at = covering.map_or(now, |t| t.min(now));
        let cades = kyso_cades::VerifyOptions {
            extra_certificates: &certs,
            extra_crls: &crls,
            extra_ocsp: &ocsp,
            validation_time: at,
            ..options.cades.clone()
        };
        let cms = verify_cms(&sigs[i], &digests[i], &cades);
        if sigs[i].is_timestamp()
            && cms.indication == Indication::TotalPassed
            && let (Some(r), Some(t)) = (sigs[i].revision(), sigs[i].timestamp_time(&cms))
        {
            poe.push((r, t));
        }
        sigs[i].cms = Some(cms);
    }

    // Later revisions.
    let signature_refs: HashSet<ObjRef> = sigs.iter().filter_map(|s| s.obj_ref).collect();
    let mut diffs: HashMap<usize, RevisionDiff> = HashMap::new();
    let mut findings: HashMap<usize, Vec<Finding>> = HashMap::new();
    if let Some(first) = first_signed {
        for k in first + 1..doc.revisions.len() {
            let d = diff::diff(&doc, k, &signature_refs);
            if !d.visual.is_empty() {
                match geometry::check(&doc, k, &d.visual) {
                    Ok(f) => {
                        findings.insert(k, f);
                    }
                    Err(e) => report.warnings.push(Reason::new(
                        "geometry_unavailable",
                        format!(
                            "revision {}: where its appearances paint could not be worked out: {e}",
                            k + 1
                        ),
                        format!(
                            "phiên bản {}: không xác định được vùng hiển thị: {e}",
                            k + 1
                        ),
                    )),
                }
            }
            diffs.insert(k, d);
        }
    }

    // Violations per revision.
    let mut violations: HashMap<usize, Vec<Reason>> = HashMap::new();
    let mut notes: HashMap<usize, Vec<Reason>> = HashMap::new();
    let mut overlaps: HashMap<usize, Vec<Overlap>> = HashMap::new();
    for (&k, d) in &diffs {
        let before: Vec<&Sig> = sigs
            .iter()
            .filter(|s| s.revision().is_some_and(|r| r < k))
            .collect();
        let permission = before
            .iter()
            .filter_map(|s| s.restrictions.permission())
            .min();
        let certified = before.iter().any(|s| s.restrictions.docmdp.is_some());
        let locks: Vec<(&LockedFields, usize)> = before
            .iter()
            .filter_map(|s| s.restrictions.locked.as_ref().map(|l| (l, s.index)))
            .collect();
        let mut v = mdp::violations(d, &options.policy, permission, certified, &locks);
        let covered = sigs.iter().any(|s| {
            !s.is_timestamp()
                && s.revision().is_some_and(|r| r >= k)
                && s.cms.as_ref().is_some_and(|c| c.integrity == Check::Passed)
        });
        for f in findings.get(&k).into_iter().flatten() {
            let (what_en, what_vi) = visual_text(&f.visual.kind);
            // A signature's own widget placed on earlier signatures' appearances is
            // co-signing (the Decree 30 seal over the left third of the leader's
            // signature, touching the title and name lines around it): expected while
            // the signature verifies and signs this very revision, and the geometry
            // says it leaves most of each appearance visible and covers nothing but
            // their signer blocks.
            let expected = f.co_signing
                && matches!(
                &f.visual.kind,
                diff::VisualKind::SignatureWidget { field, signed: true }
                    if sigs.iter().any(|s| {
                        s.revision() == Some(k)
                            && s.fields.contains(field)
                            && s.cms.as_ref().is_some_and(|c| c.integrity == Check::Passed)
                    })
                );
            let mut items = Vec::new();
            if f.visual.removed {
                // Removing what covered signed content shows what the signer did
                // not see (the shadow "hide" attack with an annotation).
                if f.over_content {
                    let (en, vi) = if f.over_text {
                        ("page text", "chữ trên trang")
                    } else {
                        ("page content", "nội dung trang")
                    };
                    items.push(Reason::new(
                        "removed_annotation_uncovers_content",
                        format!(
                            "{what_en} is removed (revision {}), uncovering signed {en} it hid when the document was signed",
                            k + 1
                        ),
                        format!(
                            "{what_vi} bị xóa (phiên bản {}), để lộ {vi} đã ký mà nó che khi ký",
                            k + 1
                        ),
                    ));
                }
            } else if f.over_content && !expected {
                let (en, vi) = if f.over_text {
                    ("signed page text", "chữ trên trang đã ký")
                } else {
                    ("signed page content", "nội dung trang đã ký")
                };
                items.push(Reason::new(
                    "appearance_over_content",
                    format!("{what_en} (revision {}) paints over {en}", k + 1),
                    format!("{what_vi} (phiên bản {}) che lên {vi}", k + 1),
                ));
            }
            for c in &f.over_signatures {
                let name = &c.field;
                if expected || f.visual.removed {
                    continue;
                }
                items.push(Reason::new(
                    "appearance_over_signature",
                    format!(
                        "{what_en} (revision {}) paints over {}the appearance of signature “{name}”",
                        k + 1,
                        if c.fraction > 0.5 { "most of " } else { "" }
                    ),
                    format!(
                        "{what_vi} (phiên bản {}) che lên {}hình chữ ký “{name}”",
                        k + 1,
                        if c.fraction > 0.5 { "phần lớn " } else { "" }
                    ),
                ));
            }
            if let Some(s) = f.suspicious.filter(|_| !f.visual.removed) {
                let full = s == "full_page";
                items.push(Reason::new(
                    if full {
                        "suspicious_full_page_widget"
                    } else {
                        "suspicious_off_page_widget"
                    },
                    format!(
                        "{what_en} (revision {}) is {}",
                        k + 1,
                        if full {
                            "as large as the page"
                        } else {
                            "outside the page"
                        }
                    ),
                    format!(
                        "{what_vi} (phiên bản {}) {}",
                        k + 1,
                        if full {
                            "rộng bằng cả trang"
                        } else {
                            "nằm ngoài trang"
                        }
                    ),
                ));
            }
            for item in items {
                let paints_over = matches!(
                    item.code,
                    "appearance_over_content"
                        | "appearance_over_signature"
                        | "removed_annotation_uncovers_content"
                );
                if paints_over && !covered {
                    v.push(Reason::new(
                        item.code,
                        format!("{} and no later signature covers it", item.en),
                        format!("{} và không có chữ ký nào sau đó bao phủ", item.vi),
                    ));
                } else {
                    notes.entry(k).or_default().push(item);
                }
            }
            if !f.visual.removed {
                overlaps
                    .entry(k)
                    .or_default()
                    .extend(overlaps_of(f, k, expected));
            }
        }
        violations.insert(k, v);
    }

    // Revisions.
    for (k, rev) in doc.revisions.iter().enumerate() {
        let d = diffs.get(&k);
        report.revisions.push(RevisionReport {
            number: k + 1,
            start: rev.start as u64,
            end: rev.end as u64,
            xref: rev.form,
            class: d.map(RevisionDiff::class),
            level: d.map(RevisionDiff::level),
            signed_by: sigs
                .iter()
                .filter(|s| s.revision() == Some(k))
                .map(|s| s.index)
                .collect(),
            changes: d
                .map(|d| d.changes.iter().map(|c| c.reason.clone()).collect())
                .unwrap_or_default(),
        });
    }
    let tail_reason = doc.tail.as_ref().map(|t| {
        Reason::new(
            "unparsed_tail",
            format!(
                "bytes {}–{} after the last `%%EOF` form no revision (an incremental update without cross-reference section or trailer)",
                t.start,
                t.end
            ),
            format!(
                "dữ liệu từ byte {} đến {} sau `%%EOF` cuối cùng không tạo thành phiên bản nào (bản cập nhật không có bảng tham chiếu chéo)",
                t.start, t.end
            ),
        )
    });
    if let (Some(t), Some(reason)) = (&doc.tail, &tail_reason) {
        report.revisions.push(RevisionReport {
            number: doc.revisions.len() + 1,
            start: t.start as u64,
            end: t.end as u64,
            xref: None,
            class: Some(ChangeClass::Other),
            level: Some(ModificationLevel::Other),
            signed_by: Vec::new(),
            changes: vec![reason.clone()],
        });
    }

    // Per-signature reports.
    let mut any_violation = false;
    let mut quiet = true;
    // Where each visible signature is, for readers that highlight it (best effort: a
    // page tree that cannot be read leaves every appearance unknown).
    let boxes = geometry::signature_boxes(&doc.view(doc.revisions.len() - 1)).unwrap_or_default();
    for s in &sigs {
        let mut modifications = Vec::new();
        let mut sig_overlaps = Vec::new();
        let mut level = ModificationLevel::None;
        if let Some(r) = s.analysed() {
            for k in r + 1..doc.revisions.len() {
                sig_overlaps.extend(overlaps.get(&k).into_iter().flatten().cloned());
                let Some(d) = diffs.get(&k) else { continue };
                let v = violations.get(&k).cloned().unwrap_or_default();
                let mut details: Vec<Reason> = d.changes.iter().map(|c| c.reason.clone()).collect();
                details.extend(notes.get(&k).cloned().unwrap_or_default());
                details.extend(v.iter().cloned());
                level = level.max(d.level());
                modifications.push(Modification {
                    revision: k + 1,
                    class: d.class(),
                    level: d.level(),
                    allowed: v.is_empty(),
                    details,
                });
            }
            if let Some(reason) = &tail_reason {
                level = ModificationLevel::Other;
                modifications.push(Modification {
                    revision: doc.revisions.len() + 1,
                    class: ChangeClass::Other,
                    level: ModificationLevel::Other,
                    allowed: false,
                    details: vec![reason.clone()],
                });
            }
        }
        let mut cms = s.cms.clone().unwrap_or_else(|| blank_report(s.index));
        cms.index = s.index;
        report.signatures.push(PdfSignatureReport {
            cms,
            kind: s.kind(),
            field: s.fields.first().cloned().unwrap_or_default(),
            other_fields: s.fields.iter().skip(1).cloned().collect(),
            sub_filter: s
                .dict
                .name(b"SubFilter")
                .map(|n| String::from_utf8_lossy(n).into_owned()),
            byte_range: byte_range::raw(&s.dict),
            coverage: s.coverage(),
            signed_revision: s.analysed().map(|r| r + 1),
            docmdp: s.restrictions.permission(),
            locked_fields: s.restrictions.locked.clone(),
            modification_level: level,
            modifications,
            overlaps: sig_overlaps,
            appearance: s
                .fields
                .first()
                .and_then(|f| boxes.get(f))
                .map(|(page, rect)| SignatureAppearance {
                    page: *page,
                    rect: *rect,
                }),
        });
    }
    if let Some(first) = first_signed {
        for k in first + 1..doc.revisions.len() {
            if violations.get(&k).is_some_and(|v| !v.is_empty()) {
                any_violation = true;
                for v in &violations[&k] {
                    report.reasons.push(Reason::new(
                        v.code,
                        format!("revision {}: {}", k + 1, v.en),
                        format!("phiên bản {}: {}", k + 1, v.vi),
                    ));
                }
            }
            if notes.get(&k).is_some_and(|n| !n.is_empty()) {
                quiet = false;
                report.warnings.extend(notes[&k].iter().cloned());
            }
            if !is_quiet(k, &diffs[&k], &sigs) {
                quiet = false;
            }
        }
        if let Some(reason) = &tail_reason {
            any_violation = true;
            report.reasons.push(reason.clone());
        }
    } else if let Some(reason) = &tail_reason {
        report.warnings.push(reason.clone());
    }
    if first_signed.is_some() && doc.tail.is_none() && pdf.len() > doc.revisions[last].end {
        report.warnings.push(Reason::new(
            "trailing_whitespace",
            "whitespace follows the last revision",
            "có khoảng trắng sau phiên bản cuối cùng",
        ));
    }

    // The verdict.
    let indications: Vec<Indication> = report.signatures.iter().map(|s| s.cms.indication).collect();
    report.verdict = if indications.is_empty() {
        Verdict::Unsigned
    } else if indications.contains(&Indication::TotalFailed) {
        Verdict::Invalid
    } else if any_violation {
        Verdict::Modified
    } else if indications.contains(&Indication::Indeterminate) {
        Verdict::Indeterminate
    } else if quiet {
        Verdict::Valid
    } else {
        Verdict::ValidWithChanges
    };
    Ok(report)
}

/// How a changed widget or annotation is named in a report line (English, Vietnamese).
fn visual_text(kind: &diff::VisualKind) -> (String, String) {
    match kind {
        diff::VisualKind::SignatureWidget {
            field,
            signed: true,
        } => (
            format!("the appearance of signature “{field}”"),
            format!("hình chữ ký “{field}”"),
        ),
        diff::VisualKind::SignatureWidget {
            field,
            signed: false,
        } => (
            format!("the appearance of unsigned signature field “{field}”"),
            format!("hình của trường chữ ký chưa ký “{field}”"),
        ),
        diff::VisualKind::FormWidget { field } => (
            format!("form field “{field}”"),
            format!("trường biểu mẫu “{field}”"),
        ),
        diff::VisualKind::Annotation { subtype } => (
            format!("a /{subtype} annotation"),
            format!("chú thích /{subtype}"),
        ),
    }
}

/// The report entries of one geometry finding: one per thing it paints over.
fn overlaps_of(f: &Finding, k: usize, expected: bool) -> Vec<Overlap> {
    let (kind, subtype, field) = match &f.visual.kind {
        diff::VisualKind::SignatureWidget { field, .. }
        | diff::VisualKind::FormWidget { field } => (
            OverlapKind::Widget,
            "Widget".to_string(),
            Some(field.clone()),
        ),
        diff::VisualKind::Annotation { subtype } => {
            (OverlapKind::Annotation, subtype.clone(), None)
        }
    };
    let rect = f.rect.map(|x| (x * 100.0).round() / 100.0);
    let entry = |covers: Covers, signature: Option<String>, expected: bool| Overlap {
        revision: k + 1,
        kind,
        subtype: subtype.clone(),
        field: field.clone(),
        page: f.page_number,
        rect,
        covers,
        signature,
        expected,
    };
    let mut out = Vec::new();
    if f.over_content {
        out.push(entry(
            if f.over_text {
                Covers::Text
            } else {
                Covers::Content
            },
            None,
            expected,
        ));
    }
    for c in &f.over_signatures {
        out.push(entry(
            Covers::SignatureAppearance,
            Some(c.field.clone()),
            expected,
        ));
    }
    out
}

/// The exact bytes signature `index` (0-based, in report order) covers: the revision it
/// signs, byte for byte. Errors when its byte range is not a valid revision boundary.
pub fn signed_revision<'p>(
    pdf: &'p [u8],
    index: usize,
    limits: &Limits,
) -> Result<&'p [u8], PdfError> {
    let doc = Document::parse(pdf, limits)?;
    let found = discover(&doc)?;
    let sig = found
        .signatures
        .get(index)
        .ok_or(PdfError::NoSuchSignature(index))?;
    match &sig.checked {
        Ok(c) => Ok(&pdf[..c.end()]),
        Err((_, reasons)) => Err(PdfError::Malformed {
            offset: 0,
            what: format!(
                "signature {} has no valid byte range: {}",
                index + 1,
                reasons
                    .iter()
                    .map(|r| r.en.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }),
    }
}

/// What to fetch (CRLs, OCSP) to check the revocation of every signature's and
/// document time-stamp's certificates.
pub fn needs(pdf: &[u8], limits: &Limits) -> Result<Vec<Need>, PdfError> {
    let doc = Document::parse(pdf, limits)?;
    let found = discover(&doc)?;
    Ok(needs_of(&found.signatures))
}

fn needs_of(signatures: &[Sig]) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    for s in signatures {
        if let Ok(c) = &s.checked
            && let Ok(list) = kyso_cades::verify::needs(&c.contents)
        {
            for n in list {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// Entry points for the fuzz targets (`fuzz/`) and their stable replay test; not API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parse arbitrary bytes as a PDF: revisions, every object of every revision, and a
    /// full verification with no trust anchors.
    pub fn revisions(data: &[u8]) {
        let limits = super::Limits {
            max_total_decoded: 64 << 20,
            max_decoded_stream: 16 << 20,
            ..super::Limits::default()
        };
        if let Ok(doc) = super::Document::parse(data, &limits) {
            for k in 0..doc.revisions.len() {
                let view = doc.view(k);
                let nums: Vec<u32> = doc.revisions[k]
                    .entries
                    .keys()
                    .copied()
                    .take(10_000)
                    .collect();
                for n in nums {
                    for generation in [0, 1] {
                        if let Ok(Some(l)) = view.load(super::ObjRef { num: n, generation })
                            && let super::Object::Stream(s) = &l.object
                        {
                            let _ = doc.decode(s);
                        }
                    }
                }
                let _ = super::fields::fields(&view);
                let _ = super::diff::page_list(&view);
            }
        }
        verify_only_with(data, limits);
    }

    /// A full verification with no trust anchors, nothing else.
    pub fn verify_only(data: &[u8]) {
        verify_only_with(
            data,
            super::Limits {
                max_total_decoded: 64 << 20,
                max_decoded_stream: 16 << 20,
                ..super::Limits::default()
            },
        );
    }

    fn verify_only_with(data: &[u8], limits: super::Limits) {
        let anchors = kyso_pki::path::TrustAnchors::new();
        let options = super::VerifyOptions {
            cades: kyso_cades::VerifyOptions {
                anchors: &anchors,
                extra_certificates: &[],
                extra_crls: &[],
                extra_ocsp: &[],
                validation_time: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
                revocation: kyso_pki::path::RevocationMode::Skip,
                limits: kyso_cades::Limits::default(),
            },
            limits,
            policy: super::Policy::default(),
            password: None,
        };
        let _ = super::verify(data, &options);
    }
}

// ---------------------------------------------------------------------------------
// Finding signatures
// ---------------------------------------------------------------------------------

/// A signature value found in the file.
struct Sig {
    index: usize,
    /// The indirect signature dictionary (`None` when direct inside its field).
    obj_ref: Option<ObjRef>,
    fields: Vec<String>,
    /// The dictionary as in its signed revision (else as last seen).
    dict: Dict,
    checked: Result<Checked, (Coverage, Vec<Reason>)>,
    /// The revision its `/ByteRange` ends with, even when the checks fail.
    claimed: Option<usize>,
    restrictions: Restrictions,
    certified_in_perms: bool,
    /// Failures found outside the CMS (byte range, structure).
    failures: Vec<Reason>,
    /// When the byte range rules fail but `/ByteRange` and `/Contents` can still be
    /// read: what they say, so the report can tell whether the signed bytes changed.
    probe: Option<([usize; 4], Vec<u8>)>,
    cms: Option<SignatureReport>,
}

impl Sig {
    fn revision(&self) -> Option<usize> {
        self.checked.as_ref().ok().map(|c| c.revision)
    }

    /// The revision later changes are counted from.
    fn analysed(&self) -> Option<usize> {
        self.revision().or(self.claimed)
    }

    fn end(&self) -> usize {
        self.checked.as_ref().map_or(usize::MAX, Checked::end)
    }

    fn is_timestamp(&self) -> bool {
        self.dict.name(b"Type") == Some(b"DocTimeStamp")
    }

    fn kind(&self) -> SignatureKind {
        if self.is_timestamp() {
            SignatureKind::DocumentTimestamp
        } else if self.restrictions.docmdp.is_some() || self.certified_in_perms {
            SignatureKind::Certification
        } else {
            SignatureKind::Approval
        }
    }

    fn coverage(&self) -> Coverage {
        match &self.checked {
            Ok(c) => c.coverage,
            Err((c, _)) => *c,
        }
    }

    fn structure_failure(&mut self, reason: Reason) {
        if !self.failures.iter().any(|r| r.code == reason.code) {
            self.failures.push(reason);
        }
    }

    fn timestamp_time(&self, cms: &SignatureReport) -> Option<OffsetDateTime> {
        let t = cms.signing_time.as_deref()?;
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }
}

struct Discovery {
    signatures: Vec<Sig>,
    unsigned: Vec<UnsignedField>,
    warnings: Vec<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SigKey {
    Indirect(ObjRef),
    /// A direct dictionary in this field.
    Direct(ObjRef),
}

/// Every signature field of every revision; each signature value once.
fn discover(doc: &Document<'_>) -> Result<Discovery, PdfError> {
    let last = doc.revisions.len().saturating_sub(1);
    let mut seen: Vec<(SigKey, Vec<String>, usize, Option<Object>)> = Vec::new();
    let mut unsigned = Vec::new();
    let mut warnings = Vec::new();
    for k in 0..doc.revisions.len() {
        let view = doc.view(k);
        let list = match fields::fields(&view) {
            Ok(l) => l,
            Err(e @ PdfError::Limit { .. }) => return Err(e),
            Err(e) => {
                if k == last {
                    warnings.push(Reason::new(
                        "form_unreadable",
                        format!("the form of revision {} cannot be read: {e}", k + 1),
                        format!("không đọc được biểu mẫu của phiên bản {}: {e}", k + 1),
                    ));
                }
                continue;
            }
        };
        for f in list.iter().filter(|f| f.is_signature()) {
            let key = match fields::sig_value(&view, f) {
                Ok(SigValue::Indirect(r)) => SigKey::Indirect(r),
                Ok(SigValue::Direct) => SigKey::Direct(f.field_ref),
                Ok(SigValue::Empty) => {
                    if k == last {
                        unsigned.push(UnsignedField {
                            field: f.name.clone(),
                            why: "empty".into(),
                        });
                    }
                    continue;
                }
                Ok(SigValue::NotASignature(why)) => {
                    if k == last {
                        unsigned.push(UnsignedField {
                            field: f.name.clone(),
                            why,
                        });
                    }
                    continue;
                }
                // A value that cannot be read is a broken signature, not no signature.
                Err(_) => match &f.value {
                    Some(Object::Ref(r)) => SigKey::Indirect(*r),
                    _ => continue,
                },
            };
            match seen.iter_mut().find(|(s, ..)| *s == key) {
                Some(entry) => {
                    if !entry.1.contains(&f.name) {
                        entry.1.push(f.name.clone());
                    }
                    entry.2 = k;
                    entry.3 = f.lock.clone();
                }
                None => {
                    if seen.len() >= doc.limits.max_signatures {
                        return Err(PdfError::Limit {
                            what: "signatures",
                            max: doc.limits.max_signatures,
                        });
                    }
                    seen.push((key, vec![f.name.clone()], k, f.lock.clone()));
                }
            }
        }
    }
    let mut signatures: Vec<Sig> = Vec::new();
    for (key, names, last_seen, lock) in seen {
        let sig = read_signature(doc, key, names, last_seen, lock.as_ref());
        // The same signature value under two dictionaries counts once.
        let same_value = signatures
            .iter_mut()
            .find(|s| match (&s.checked, &sig.checked) {
                (Ok(a), Ok(b)) => a.range == b.range && a.contents == b.contents,
                _ => false,
            });
        match same_value {
            Some(existing) => {
                for n in sig.fields {
                    if !existing.fields.contains(&n) {
                        existing.fields.push(n);
                    }
                }
            }
            None => signatures.push(sig),
        }
    }
    for found in unreachable_signatures(doc, &signatures) {
        // A field whose signature dictionary could not be loaded where the
        // cross-reference section says, found at its real place by the scan: one
        // signature, reported with what the scan read.
        match signatures.iter_mut().find(|s| {
            s.dict.get(b"ByteRange").is_none()
                && s.obj_ref.map(|r| r.num) == found.obj_ref.map(|r| r.num)
        }) {
            Some(s) => {
                let fields = std::mem::take(&mut s.fields);
                *s = Sig { fields, ..found };
            }
            None => signatures.push(found),
        }
    }
    signatures.sort_by_key(Sig::end);
    for (i, s) in signatures.iter_mut().enumerate() {
        s.index = i;
    }
    Ok(Discovery {
        signatures,
        unsigned,
        warnings,
    })
}

/// Signature dictionaries that no cross-reference section reaches: a damaged
/// `startxref`/`%%EOF` or cross-reference section can hide the very signature whose byte
/// range the damage falls in. Each is found by scanning for `/ByteRange`, judged like any
/// other (so its digest mismatch is reported) and fails as unreachable: such a
/// signature is never valid, but it is never silently lost either.
fn unreachable_signatures(doc: &Document<'_>, known: &[Sig]) -> Vec<Sig> {
    /// How far before `/ByteRange` its object's header may stand (a large /Contents
    /// may come first).
    const WINDOW: usize = 4 << 20;
    let reachable: HashSet<usize> = doc
        .revisions
        .iter()
        .flat_map(|r| r.entries.values())
        .filter_map(|e| match e {
            Entry::InUse { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    let known_contents: HashSet<Range<usize>> = known
        .iter()
        .filter_map(|s| match s.dict.get(b"Contents") {
            Some(Object::String(c)) => Some(c.span.clone()),
            _ => None,
        })
        .collect();
    let known_numbers: HashSet<u32> = known
        .iter()
        .filter_map(|s| s.obj_ref.map(|r| r.num))
        .collect();
    let mut out: Vec<Sig> = Vec::new();
    let mut last_span = 0..0;
    for p in memchr::memmem::find_iter(doc.data, b"/ByteRange").take(doc.limits.max_signatures) {
        if last_span.contains(&p) {
            continue;
        }
        let Some((header, ind)) =
            crate::pdf::revisions::object_around(doc.data, p, WINDOW, doc.limits)
        else {
            continue;
        };
        last_span = ind.span.clone();
        let mut ind = ind;
        let mut decrypted = ind.object.clone();
        if doc.decrypt(header, ind.id, &mut decrypted).is_ok() {
            ind.object = decrypted;
        }
        let Some(dict) = ind.object.as_dict() else {
            continue;
        };
        let contents_span = match dict.get(b"Contents") {
            Some(Object::String(c)) => Some(c.span.clone()),
            _ => None,
        };
        let reached = reachable.contains(&header);
        if (reached && known_numbers.contains(&ind.id.num))
            || contents_span.is_some_and(|c| known_contents.contains(&c))
            || dict.get(b"ByteRange").is_none()
            || is_usage_rights(dict)
        {
            continue;
        }
        let Some(last) = doc.revisions.len().checked_sub(1) else {
            break;
        };
        let defined_in = doc
            .revisions
            .iter()
            .position(|r| r.start <= header && header < r.end)
            .unwrap_or(last);
        let mut sig = Sig {
            index: 0,
            obj_ref: Some(ind.id),
            // No field names it: a language-neutral label (the reasons below say why, in both
            // languages).
            fields: vec![format!("({} @{header})", ind.id)],
            dict: dict.clone(),
            checked: byte_range::check(doc, dict, &ind.span, defined_in),
            claimed: None,
            restrictions: Restrictions::default(),
            certified_in_perms: false,
            failures: Vec::new(),
            probe: None,
            cms: None,
        };
        sig.claimed = byte_range::raw(dict)
            .filter(|r| r.len() == 4)
            .and_then(|r| r[2].checked_add(r[3]))
            .and_then(|e| usize::try_from(e).ok())
            .and_then(|e| {
                doc.revisions
                    .iter()
                    .position(|r| r.end == e || r.marker_end == e)
            });
        if sig.checked.is_err() {
            sig.probe = byte_range::probe(dict, doc.data.len());
        }
        sig.structure_failure(if reached {
            Reason::new(
                "signature_not_in_form",
                format!(
                    "the signature dictionary {} at byte {header} is not the value of any signature field (a damaged form); it was found by scanning",
                    ind.id
                ),
                format!(
                    "từ điển chữ ký {} tại byte {header} không thuộc trường chữ ký nào (biểu mẫu bị hỏng); tìm thấy bằng cách quét tệp",
                    ind.id
                ),
            )
        } else {
            Reason::new(
                "signature_unreachable",
                format!(
                    "the signature dictionary {} at byte {header} is not reachable through the file's cross-reference sections (a damaged or truncated file); it was found by scanning",
                    ind.id
                ),
                format!(
                    "từ điển chữ ký {} tại byte {header} không truy cập được qua bảng tham chiếu chéo của tệp (tệp bị hỏng hoặc bị cắt); tìm thấy bằng cách quét tệp",
                    ind.id
                ),
            )
        });
        out.push(sig);
    }
    out
}

/// A usage-rights signature (`/Reference [<< /TransformMethod /UR3 >>]`, Adobe Reader
/// extensions): it has a byte range but no field, by design.
fn is_usage_rights(dict: &Dict) -> bool {
    dict.get(b"Reference")
        .and_then(Object::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.as_dict()
                    .and_then(|d| d.name(b"TransformMethod"))
                    .is_some_and(|m| m == b"UR3" || m == b"UR")
            })
        })
}

/// Read one signature as of the revision it signs.
fn read_signature(
    doc: &Document<'_>,
    key: SigKey,
    fields: Vec<String>,
    last_seen: usize,
    lock: Option<&Object>,
) -> Sig {
    let mut sig = Sig {
        index: 0,
        obj_ref: match key {
            SigKey::Indirect(r) => Some(r),
            SigKey::Direct(_) => None,
        },
        fields,
        dict: Dict::default(),
        checked: Err((Coverage::Unclear, Vec::new())),
        claimed: None,
        restrictions: Restrictions::default(),
        certified_in_perms: false,
        failures: Vec::new(),
        probe: None,
        cms: None,
    };
    // Find the revision from the latest dictionary's /ByteRange, then re-read it there.
    let Ok(Some(latest)) = load_sig_dict(doc, key, last_seen) else {
        sig.checked = Err((
            Coverage::Unclear,
            vec![Reason::new(
                "signature_unreadable",
                "the signature dictionary cannot be read",
                "không đọc được từ điển chữ ký",
            )],
        ));
        return sig;
    };
    let end = byte_range::raw(&latest.0)
        .filter(|r| r.len() == 4)
        .and_then(|r| r[2].checked_add(r[3]))
        .and_then(|e| usize::try_from(e).ok());
    let signed_rev = end.and_then(|e| {
        doc.revisions
            .iter()
            .position(|r| r.end == e || r.marker_end == e)
    });
    sig.claimed = signed_rev;
    let (dict, span, defined_in, in_stream) = match signed_rev.map(|r| load_sig_dict(doc, key, r)) {
        Some(Ok(Some((d, span, def)))) => {
            let (SigKey::Indirect(r) | SigKey::Direct(r)) = key;
            let in_stream = matches!(doc.entry(def, r.num), Some((_, Entry::Compressed { .. })));
            (d, span, def, in_stream)
        }
        _ => (latest.0, latest.1, latest.2, false),
    };
    sig.checked = byte_range::check(doc, &dict, &span, defined_in);
    if sig.checked.is_err() {
        sig.probe = byte_range::probe(&dict, doc.data.len());
    }
    if in_stream {
        sig.structure_failure(Reason::new(
            "signature_in_object_stream",
            "the signature dictionary is inside an object stream, where /ByteRange cannot locate it",
            "từ điển chữ ký nằm trong luồng đối tượng",
        ));
    }
    if let Some(r) = signed_rev {
        let view = doc.view(r);
        match mdp::read(&view, &dict, lock) {
            Ok(m) => sig.restrictions = m,
            Err(e) => sig.structure_failure(Reason::new(
                "transform_unreadable",
                format!("the signature's DocMDP/FieldMDP parameters cannot be read: {e}"),
                format!("không đọc được tham số DocMDP/FieldMDP: {e}"),
            )),
        }
        // The catalog's /Perms /DocMDP must name this signature when it certifies.
        if let (Ok((_, root)), Some(own)) = (view.root(), sig.obj_ref) {
            let perms = root.object.as_dict().and_then(|c| c.get(b"Perms")).cloned();
            if let Some(perms) = perms
                && let Ok(p) = view.resolve(&perms)
                && let Some(p) = p.as_dict()
                && p.get(b"DocMDP").and_then(Object::as_ref) == Some(own)
            {
                sig.certified_in_perms = true;
                if sig.restrictions.docmdp.is_none() {
                    sig.restrictions.docmdp = Some(2);
                }
            }
        }
        if sig.restrictions.docmdp.is_some() && !sig.certified_in_perms {
            sig.structure_failure(Reason::new(
                "docmdp_not_in_perms",
                "the signature carries a DocMDP transform but the catalog's /Perms does not name it",
                "chữ ký có DocMDP nhưng /Perms của danh mục không trỏ tới nó",
            ));
        }
    }
    sig.dict = dict;
    sig
}

/// The signature dictionary for `key` as of revision `rev`: (dictionary, its span in
/// the file, the revision that wrote it).
fn load_sig_dict(
    doc: &Document<'_>,
    key: SigKey,
    rev: usize,
) -> Result<Option<(Dict, Range<usize>, usize)>, PdfError> {
    let view = doc.view(rev);
    match key {
        SigKey::Indirect(r) => Ok(view.load(r)?.and_then(|l| {
            l.object
                .as_dict()
                .map(|d| (d.clone(), l.span.clone(), l.revision))
        })),
        SigKey::Direct(field) => {
            let Some(l) = view.load(field)? else {
                return Ok(None);
            };
            Ok(l.object
                .as_dict()
                .and_then(|d| d.get(b"V"))
                .and_then(Object::as_dict)
                .map(|d| (d.clone(), l.span.clone(), l.revision)))
        }
    }
}

// ---------------------------------------------------------------------------------
// CMS
// ---------------------------------------------------------------------------------

fn blank_report(index: usize) -> SignatureReport {
    SignatureReport {
        index,
        signer: None,
        algorithm: String::new(),
        digest_algorithm: String::new(),
        signing_time: None,
        signing_time_source: TimeSource::None,
        integrity: Check::NotChecked,
        trust: Check::NotChecked,
        revocation: RevocationCheck::NotChecked,
        timestamp: None,
        chain: Vec::new(),
        indication: Indication::TotalPassed,
        sub_indication: None,
        reasons: Vec::new(),
        warnings: Vec::new(),
        trust_anchor_source: None,
    }
}

/// Record a failure; the first TOTAL_FAILED wins over INDETERMINATE.
fn fail(r: &mut SignatureReport, indication: Indication, sub: SubIndication, reason: Reason) {
    let replace = matches!(
        (r.indication, indication),
        (Indication::TotalPassed, _) | (Indication::Indeterminate, Indication::TotalFailed)
    );
    if replace {
        r.indication = indication;
        r.sub_indication = Some(sub);
    }
    r.reasons.push(reason);
}

fn verify_cms(
    sig: &Sig,
    digests: &[(DigestAlgorithm, Vec<u8>)],
    options: &kyso_cades::VerifyOptions<'_>,
) -> SignatureReport {
    let (reasons, contents): (Vec<&Reason>, Option<&[u8]>) = match &sig.checked {
        Ok(c) if sig.failures.is_empty() => {
            return verify_contents(sig, &c.contents, digests, options);
        }
        Ok(c) => (sig.failures.iter().collect(), Some(&c.contents)),
        Err((_, reasons)) => (
            reasons.iter().chain(&sig.failures).collect(),
            sig.probe.as_ref().map(|(_, c)| c.as_slice()),
        ),
    };
    let mut structural = blank_report(sig.index);
    structural.integrity = Check::Failed;
    for r in reasons {
        fail(
            &mut structural,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            r.clone(),
        );
    }
    if structural.reasons.is_empty() {
        fail(
            &mut structural,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Reason::new(
                "malformed_signature",
                "the signature is malformed",
                "chữ ký sai cấu trúc",
            ),
        );
    }
    // The structure already fails the signature; whether the bytes it names were
    // changed since is worth saying too (a damaged file is usually a changed one).
    if let Some(contents) = contents
        && !digests.is_empty()
    {
        let inner = verify_contents(sig, contents, digests, options);
        for r in inner
            .reasons
            .into_iter()
            .filter(|r| r.code == "digest_mismatch")
        {
            fail(
                &mut structural,
                Indication::TotalFailed,
                SubIndication::HashFailure,
                r,
            );
        }
    }
    structural
}

/// Verify the CMS of a signature whose `/Contents` is `contents` against the digests of
/// its byte ranges.
fn verify_contents(
    sig: &Sig,
    contents: &[u8],
    digests: &[(DigestAlgorithm, Vec<u8>)],
    options: &kyso_cades::VerifyOptions<'_>,
) -> SignatureReport {
    let sub_filter = sig.dict.name(b"SubFilter").unwrap_or_default();
    let hints = ContainerHints {
        claimed_time: match sig.dict.get(b"M") {
            Some(Object::String(s)) => pdf_date(&s.bytes),
            _ => None,
        },
    };
    let malformed = |e: kyso_cades::CadesError| {
        let mut r = blank_report(sig.index);
        r.integrity = Check::Failed;
        fail(
            &mut r,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Reason::new(
                "cms_malformed",
                format!("/Contents is not a valid CMS signature: {e}"),
                format!("/Contents không phải chữ ký CMS hợp lệ: {e}"),
            ),
        );
        r
    };
    let single = |report: kyso_cades::Report| -> SignatureReport {
        match <[SignatureReport; 1]>::try_from(report.signatures) {
            Ok([s]) => s,
            Err(v) => {
                let mut r = blank_report(sig.index);
                fail(
                    &mut r,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    Reason::new(
                        "signer_count",
                        format!("the PDF signature holds {} signers instead of one", v.len()),
                        format!("chữ ký PDF chứa {} người ký thay vì một", v.len()),
                    ),
                );
                r
            }
        }
    };
    if sig.is_timestamp() {
        if sub_filter != b"ETSI.RFC3161" {
            let mut r = blank_report(sig.index);
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Reason::new(
                    "subfilter_type_mismatch",
                    "a document time-stamp must have /SubFilter /ETSI.RFC3161",
                    "dấu thời gian tài liệu phải có /SubFilter /ETSI.RFC3161",
                ),
            );
            return r;
        }
        return kyso_cades::verify_timestamp_token_digests(contents, digests, options)
            .unwrap_or_else(malformed);
    }
    match sub_filter {
        b"adbe.pkcs7.detached" | b"ETSI.CAdES.detached" => {
            match kyso_cades::verify::encapsulated_content(contents) {
                Err(e) => return malformed(e),
                Ok(Some(_)) => {
                    let mut r = blank_report(sig.index);
                    r.integrity = Check::Failed;
                    fail(
                        &mut r,
                        Indication::TotalFailed,
                        SubIndication::FormatFailure,
                        Reason::new(
                            "encapsulated_content",
                            "a detached PDF signature carries encapsulated content (what it signs is not the file)",
                            "chữ ký PDF dạng tách rời lại chứa nội dung đóng gói (không ký tệp này)",
                        ),
                    );
                    return r;
                }
                Ok(None) => {}
            }
            let report = match kyso_cades::verify_detached_digests_with_hints(
                contents, digests, options, &hints,
            ) {
                Ok(r) => r,
                Err(e) => return malformed(e),
            };
            let mut s = single(report);
            if sub_filter == b"ETSI.CAdES.detached"
                && let Some(pos) = s
                    .warnings
                    .iter()
                    .position(|w| w.code == "no_signing_certificate_attribute")
            {
                let w = s.warnings.remove(pos);
                fail(
                    &mut s,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    Reason::new("pades_signing_certificate_missing", w.en, w.vi),
                );
            }
            s
        }
        b"adbe.pkcs7.sha1" => {
            let digest = digests
                .iter()
                .find(|(d, _)| *d == DigestAlgorithm::Sha1)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let content = match kyso_cades::verify::encapsulated_content(contents) {
                Err(e) => return malformed(e),
                Ok(c) => c,
            };
            let report =
                match kyso_cades::verify_detached_with_hints(contents, None, options, &hints) {
                    Ok(r) => r,
                    Err(e) => return malformed(e),
                };
            let mut s = single(report);
            if content.as_deref() != Some(digest.as_slice()) {
                s.integrity = Check::Failed;
                fail(
                    &mut s,
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    Reason::new(
                        "digest_mismatch",
                        "the file has been changed after it was signed (SHA-1 digest mismatch)",
                        "tệp đã bị thay đổi sau khi ký (giá trị băm SHA-1 không khớp)",
                    ),
                );
            }
            // SHA-1 binds the document: judged by the dated algorithm policy
            // (kyso_cades::AlgorithmPolicy), the validation time being the proof of
            // existence (a later document time-stamp moves it earlier).
            let until = options.limits.algorithms.sha1_until;
            let until_text = kyso_cades::report::vietnam_time(until);
            if options.validation_time < until {
                s.warnings.push(Reason::new(
                    "legacy_sha1_subfilter",
                    format!("adbe.pkcs7.sha1: the document is bound to the signature by SHA-1, acceptable until {until_text} by the algorithm policy"),
                    format!("adbe.pkcs7.sha1: tài liệu được gắn với chữ ký bằng SHA-1, theo chính sách thuật toán chỉ được chấp nhận đến {until_text}"),
                ));
            } else {
                fail(
                    &mut s,
                    Indication::Indeterminate,
                    SubIndication::CryptoConstraintsFailureNoPoe,
                    Reason::new(
                        "legacy_sha1_subfilter",
                        format!(
                            "adbe.pkcs7.sha1: the document is bound to the signature by SHA-1, acceptable only until {until_text} by the algorithm policy, and nothing proves the signature existed before then"
                        ),
                        format!(
                            "adbe.pkcs7.sha1: tài liệu chỉ được gắn với chữ ký bằng SHA-1, theo chính sách thuật toán chỉ được chấp nhận đến {until_text}, và không có bằng chứng chữ ký tồn tại trước thời điểm đó"
                        ),
                    ),
                );
            }
            s
        }
        b"" => {
            let mut r = blank_report(sig.index);
            fail(
                &mut r,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Reason::new(
                    "subfilter_missing",
                    "the signature has no /SubFilter",
                    "chữ ký không có /SubFilter",
                ),
            );
            r
        }
        other => {
            let mut r = blank_report(sig.index);
            // Whatever the format, a CMS whose message digest no longer matches the
            // signed bytes proves the document changed.
            if let Ok(detached) =
                kyso_cades::verify_detached_digests_with_hints(contents, digests, options, &hints)
                && detached
                    .signatures
                    .iter()
                    .any(|s| s.integrity == Check::Failed)
            {
                r.integrity = Check::Failed;
                for reason in detached
                    .signatures
                    .into_iter()
                    .flat_map(|s| s.reasons)
                    .filter(|x| x.code == "digest_mismatch")
                {
                    fail(
                        &mut r,
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        reason,
                    );
                }
            }
            fail(
                &mut r,
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                Reason::new(
                    "unsupported_subfilter",
                    format!(
                        "/SubFilter /{} is not supported",
                        String::from_utf8_lossy(other)
                    ),
                    format!(
                        "/SubFilter /{} không được hỗ trợ",
                        String::from_utf8_lossy(other)
                    ),
                ),
            );
            r
        }
    }
}

/// The digests every signature needs over its two byte ranges, with each byte of the
/// file hashed once per algorithm however many signatures cover it: signatures are
/// taken in the order their gaps start, and the hash state of the common prefix
/// carries over from one to the next.
fn content_digests(doc: &Document<'_>, sigs: &[Sig]) -> Vec<Vec<(DigestAlgorithm, Vec<u8>)>> {
    let mut needs: Vec<(usize, [usize; 4], DigestAlgorithm)> = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        let (range, contents) = match (&s.checked, &s.probe) {
            (Ok(c), _) => (c.range, &c.contents),
            (Err(_), Some((range, contents))) => (*range, contents),
            (Err(_), None) => continue,
        };
        let algorithms = if s.is_timestamp() {
            kyso_cades::tsp::parse_token(contents)
                .map(|t| vec![t.imprint_algorithm])
                .unwrap_or_default()
        } else if s.dict.name(b"SubFilter") == Some(b"adbe.pkcs7.sha1") {
            vec![DigestAlgorithm::Sha1]
        } else {
            kyso_cades::digest_algorithms(contents).unwrap_or_default()
        };
        needs.extend(algorithms.into_iter().map(|d| (i, range, d)));
    }
    needs.sort_by_key(|(_, r, _)| r[1]);
    let data = doc.data;
    let mut out: Vec<Vec<(DigestAlgorithm, Vec<u8>)>> = vec![Vec::new(); sigs.len()];
    let mut prefixes: Vec<(DigestAlgorithm, usize, ring::digest::Context)> = Vec::new();
    for (i, [_, a, b, c], d) in needs {
        let value = match ring_algorithm(d) {
            Some(alg) => {
                let mut ctx = match prefixes
                    .iter()
                    .position(|(pd, pos, _)| *pd == d && *pos <= a)
                {
                    Some(k) => {
                        let (_, pos, mut ctx) = prefixes.swap_remove(k);
                        ctx.update(&data[pos..a]);
                        ctx
                    }
                    None => {
                        let mut ctx = ring::digest::Context::new(alg);
                        ctx.update(&data[..a]);
                        ctx
                    }
                };
                prefixes.retain(|(pd, _, _)| *pd != d);
                prefixes.push((d, a, ctx.clone()));
                ctx.update(&data[b..b + c]);
                ctx.finish().as_ref().to_vec()
            }
            None => {
                let mut h = d.hasher();
                h.update(&data[..a]);
                h.update(&data[b..b + c]);
                h.finish()
            }
        };
        out[i].push((d, value));
    }
    out
}

fn ring_algorithm(d: DigestAlgorithm) -> Option<&'static ring::digest::Algorithm> {
    match d {
        DigestAlgorithm::Sha1 => Some(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
        DigestAlgorithm::Sha256 => Some(&ring::digest::SHA256),
        DigestAlgorithm::Sha384 => Some(&ring::digest::SHA384),
        DigestAlgorithm::Sha512 => Some(&ring::digest::SHA512),
        _ => None,
    }
}

/// `D:YYYYMMDDHHmmSSOHH'mm'` (ISO 32000-2 §7.9.4), prefix parts optional.
fn pdf_date(bytes: &[u8]) -> Option<OffsetDateTime> {
    let text = text_string(bytes);
    let s = text.strip_prefix("D:").unwrap_or(&text);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let part = |from: usize, len: usize, default: u32| -> Option<u32> {
        match digits.get(from..from + len) {
            Some(p) => p.parse().ok(),
            None => Some(default),
        }
    };
    let year = i32::try_from(part(0, 4, 0)?).ok()?;
    let month = time::Month::try_from(u8::try_from(part(4, 2, 1)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(part(6, 2, 1)?).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(part(8, 2, 0)?).ok()?,
        u8::try_from(part(10, 2, 0)?).ok()?,
        u8::try_from(part(12, 2, 0)?).ok()?,
    )
    .ok()?;
    let rest = &s[digits.len()..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let nums: Vec<i8> = rest[1..]
                .split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.parse().ok())
                .collect();
            let (h, m) = (
                nums.first().copied().unwrap_or(0),
                nums.get(1).copied().unwrap_or(0),
            );
            let k = if sign == '-' { -1 } else { 1 };
            time::UtcOffset::from_hms(k * h, k * m, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(date.with_time(t).assume_offset(offset))
}

// ---------------------------------------------------------------------------------
// DSS and verdict helpers
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct Material {
    certs: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
}

/// Certificates, CRLs and OCSP responses of the DSS (and its VRI entries) as of
/// revision `rev`.
fn dss_material(doc: &Document<'_>, rev: usize, warnings: &mut Vec<Reason>) -> Material {
    let mut out = Material::default();
    let view = doc.view(rev);
    let Ok((_, root)) = view.root() else {
        return out;
    };
    let Some(cat) = root.object.as_dict() else {
        return out;
    };
    let Ok(dss) = view.get(cat, b"DSS") else {
        return out;
    };
    let Some(dss) = dss.as_dict() else { return out };
    let mut collect = |d: &Dict, keys: [&[u8]; 3], out: &mut Material| {
        for (i, key) in keys.iter().enumerate() {
            let Ok(arr) = view.get(d, key) else { continue };
            for item in arr.as_array().unwrap_or_default().iter().take(10_000) {
                let stream = match view.resolve(item) {
                    Ok(v) => match &*v {
                        Object::Stream(s) => doc.decode(s),
                        _ => continue,
                    },
                    Err(e) => Err(e),
                };
                match stream {
                    Ok(bytes) => match i {
                        0 => out.certs.push(bytes),
                        1 => out.crls.push(bytes),
                        _ => out.ocsp.push(bytes),
                    },
                    Err(e) => warnings.push(Reason::new(
                        "dss_item_unreadable",
                        format!("a DSS item cannot be read: {e}"),
                        format!("không đọc được một mục của DSS: {e}"),
                    )),
                }
            }
        }
    };
    collect(dss, [b"Certs", b"CRLs", b"OCSPs"], &mut out);
    if let Ok(vri) = view.get(dss, b"VRI")
        && let Some(vri) = vri.as_dict()
    {
        for (_, v) in vri.entries.iter().take(10_000) {
            if let Ok(e) = view.resolve(v)
                && let Some(e) = e.as_dict()
            {
                collect(e, [b"Cert", b"CRL", b"OCSP"], &mut out);
            }
        }
    }
    out.certs.sort();
    out.certs.dedup();
    out.crls.sort();
    out.crls.dedup();
    out.ocsp.sort();
    out.ocsp.dedup();
    out
}

/// A later revision that leaves the verdict plain "valid": covered by a signature that
/// signs it (or a later one), or only adding validation data / document time-stamps.
fn is_quiet(k: usize, d: &RevisionDiff, sigs: &[Sig]) -> bool {
    let covered = sigs.iter().any(|s| {
        !s.is_timestamp()
            && s.revision().is_some_and(|r| r >= k)
            && s.cms.as_ref().is_some_and(|c| c.integrity == Check::Passed)
    });
    let maintenance = d
        .changes
        .iter()
        .any(|c| matches!(c.class, ChangeClass::Dss | ChangeClass::DocumentTimestamp))
        && d.changes.iter().all(|c| {
            matches!(
                c.class,
                ChangeClass::Dss | ChangeClass::DocumentTimestamp | ChangeClass::Metadata
            )
        });
    let own_signature = d.changes.iter().all(|c| c.class != ChangeClass::Other)
        && sigs
            .iter()
            .any(|s| s.revision() == Some(k) && !s.is_timestamp());
    covered && d.changes.iter().all(|c| c.class != ChangeClass::Other)
        || maintenance
        || own_signature
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pdf_dates() {
        let t = pdf_date(b"D:20261126213454+07'00'").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_703_694);
        assert!(pdf_date(b"D:2026").is_some());
        assert!(pdf_date(b"garbage").is_none());
        assert!(pdf_date(b"D:20261399").is_none());
    }
}
