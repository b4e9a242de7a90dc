//! Modification detection and prevention (ISO 32000-2 §12.8.2): DocMDP (certification
//! signatures, permissions P1 / P2 / P3), FieldMDP (fields locked by a signature) and
//! the signature field's `/Lock` dictionary (with PDF 2.0's `/P`), plus kyso's own
//! policy, applied to the classified later revisions.

use kyso_cades::report::Reason;

use crate::pdf::objects::{Dict, Object, text_string};
use crate::pdf::revisions::View;
use crate::verify::diff::RevisionDiff;
use crate::verify::report::{ChangeClass, LockedFields};
use crate::verify::{PdfError, Policy};

/// What one signature restricts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Restrictions {
    /// DocMDP `/P` when this is a certification signature.
    pub(crate) docmdp: Option<u8>,
    /// `/P` of a FieldMDP transform or field lock (PDF 2.0).
    pub(crate) lock_p: Option<u8>,
    pub(crate) locked: Option<LockedFields>,
}

impl Restrictions {
    /// The effective permission level this signature imposes.
    pub(crate) fn permission(&self) -> Option<u8> {
        match (self.docmdp, self.lock_p) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Read the transforms of a signature dictionary (as in its signed revision) and its
/// field's `/Lock`.
pub(crate) fn read(
    view: &View<'_, '_>,
    sig: &Dict,
    field_lock: Option<&Object>,
) -> Result<Restrictions, PdfError> {
    let mut out = Restrictions::default();
    let refs = view.get(sig, b"Reference")?;
    if let Some(items) = refs.as_array() {
        for item in items {
            let r = view.resolve(item)?;
            let Some(d) = r.as_dict() else { continue };
            let params = view.get(d, b"TransformParams")?;
            let params = params.as_dict();
            match d.name(b"TransformMethod") {
                Some(b"DocMDP") => {
                    let p = params.and_then(|p| p.int(b"P")).unwrap_or(2);
                    out.docmdp = Some(p.clamp(1, 3) as u8);
                }
                Some(b"FieldMDP") => {
                    if let Some(p) = params {
                        read_lock(view, p, &mut out)?;
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(lock) = field_lock {
        let l = view.resolve(lock)?;
        if let Some(d) = l.as_dict() {
            read_lock(view, d, &mut out)?;
        }
    }
    Ok(out)
}

fn read_lock(view: &View<'_, '_>, d: &Dict, out: &mut Restrictions) -> Result<(), PdfError> {
    let names = || -> Result<Vec<String>, PdfError> {
        let f = view.get(d, b"Fields")?;
        Ok(f.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| match o {
                        Object::String(s) => Some(text_string(&s.bytes)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default())
    };
    let lock = match d.name(b"Action") {
        Some(b"All") => Some(LockedFields::All),
        Some(b"Include") => Some(LockedFields::Include(names()?)),
        Some(b"Exclude") => Some(LockedFields::Exclude(names()?)),
        _ => None,
    };
    if lock.is_some() && out.locked.is_none() {
        out.locked = lock;
    }
    if let Some(p) = d.int(b"P") {
        let p = p.clamp(1, 3) as u8;
        out.lock_p = Some(out.lock_p.map_or(p, |q| q.min(p)));
    }
    Ok(())
}

fn is_locked(lock: &LockedFields, name: &str) -> bool {
    // A lock on "a" also locks "a.b" (descendants share the name prefix).
    let matches = |n: &String| name == n || name.starts_with(&format!("{n}."));
    match lock {
        LockedFields::All => true,
        LockedFields::Include(list) => list.iter().any(matches),
        LockedFields::Exclude(list) => !list.iter().any(matches),
    }
}

/// Which changes of `diff` kyso's policy, the permission level in force and the field
/// locks in force refuse. `certified` says a certification signature precedes it.
pub(crate) fn violations(
    diff: &RevisionDiff,
    policy: &Policy,
    permission: Option<u8>,
    certified: bool,
    locks: &[(&LockedFields, usize)],
) -> Vec<Reason> {
    let mut out = Vec::new();
    for c in &diff.changes {
        let by_policy = match c.class {
            ChangeClass::Metadata
            | ChangeClass::Dss
            | ChangeClass::DocumentTimestamp
            | ChangeClass::Signature => true,
            ChangeClass::FormFill => policy.allow_form_filling,
            // Annotations need a permission that grants them (DocMDP P3, or a field
            // lock's /P 3); without one only an explicit policy allows them.
            ChangeClass::Annotation => match permission {
                Some(_) => policy.allow_annotations,
                None => policy.allow_annotations_without_certification,
            },
            ChangeClass::Other => false,
        };
        if !by_policy {
            // A disallowed change keeps its own code (`stream_changed`, `root_changed`…).
            let (code, en, vi) = match c.class {
                ChangeClass::Other => (c.reason.code, c.reason.en.clone(), c.reason.vi.clone()),
                ChangeClass::Annotation if permission.is_none() => (
                    "not_allowed_by_policy",
                    format!(
                        "{} (annotations after a signature are allowed only when a certification signature permits them, DocMDP P3)",
                        c.reason.en
                    ),
                    format!(
                        "{} (chỉ được thêm, sửa, xóa chú thích sau khi ký khi chữ ký chứng nhận cho phép, DocMDP P3)",
                        c.reason.vi
                    ),
                ),
                _ => (
                    "not_allowed_by_policy",
                    format!("{} (not allowed by the verification policy)", c.reason.en),
                    format!("{} (chính sách kiểm tra không cho phép)", c.reason.vi),
                ),
            };
            out.push(Reason::new(code, en, vi));
            continue;
        }
        if let Some(p) = permission {
            let by_mdp = match c.class {
                ChangeClass::Metadata | ChangeClass::Dss | ChangeClass::DocumentTimestamp => true,
                ChangeClass::Signature | ChangeClass::FormFill => p >= 2,
                ChangeClass::Annotation => p >= 3,
                ChangeClass::Other => false,
            };
            if !by_mdp {
                out.push(Reason::new(
                    "docmdp_violation",
                    format!(
                        "the certification permits {} (P{p}); this update makes: {}",
                        permission_text(p, false),
                        c.reason.en
                    ),
                    format!(
                        "chữ ký chứng nhận chỉ cho phép {} (P{p}); bản cập nhật: {}",
                        permission_text(p, true),
                        c.reason.vi
                    ),
                ));
            }
        }
    }
    if certified {
        // Signing a field the certifier prepared is "signing" (P2, P3); a new visible
        // field is not: its appearance is not covered by the certification (pyHanko
        // refuses it too).
        for (name, visible, created) in &diff.signature_fields {
            if *visible && *created {
                out.push(Reason::new(
                    "visible_signature_after_certification",
                    format!(
                        "a visible signature “{name}” is added after a certification signature (its appearance is not covered by the certification)"
                    ),
                    format!("chữ ký hiển thị “{name}” được thêm sau chữ ký chứng nhận"),
                ));
            }
        }
    }
    for (lock, by) in locks {
        let touched = diff.filled_fields.iter().chain(
            diff.signature_fields
                .iter()
                .filter(|(_, v, _)| *v)
                .map(|(n, _, _)| n),
        );
        for name in touched {
            if is_locked(lock, name) {
                out.push(Reason::new(
                    "field_locked",
                    format!(
                        "field “{name}” is locked by signature {} (FieldMDP) but is changed",
                        by + 1
                    ),
                    format!(
                        "trường “{name}” đã bị khóa bởi chữ ký {} nhưng bị thay đổi",
                        by + 1
                    ),
                ));
            }
        }
    }
    out
}

fn permission_text(p: u8, vi: bool) -> &'static str {
    match (p, vi) {
        (1, false) => "no changes",
        (1, true) => "không thay đổi",
        (2, false) => "form filling and signing",
        (2, true) => "điền biểu mẫu và ký",
        (_, false) => "form filling, signing and annotations",
        (_, true) => "điền biểu mẫu, ký và chú thích",
    }
}
