//! The interactive form's field tree (ISO 32000-2 §12.7.4): fully qualified names,
//! inherited `/FT` and `/V`, widgets, and the signature dictionaries fields point to.

use std::collections::HashSet;

use crate::pdf::objects::{Dict, ObjRef, Object, text_string};
use crate::pdf::revisions::View;
use crate::verify::PdfError;

/// A terminal field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// Fully qualified name (`parent.child`).
    pub(crate) name: String,
    pub(crate) field_ref: ObjRef,
    /// Whether the field is listed directly in `/AcroForm /Fields`.
    pub(crate) top_level: bool,
    /// Inherited `/FT`.
    pub(crate) field_type: Option<Vec<u8>>,
    /// Inherited `/V`, unresolved.
    pub(crate) value: Option<Object>,
    /// Widget annotations: the field itself when merged, else its kids.
    pub(crate) widgets: Vec<ObjRef>,
    /// `/Lock` (signature fields), unresolved.
    pub(crate) lock: Option<Object>,
}

impl Field {
    pub(crate) fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }
}

/// What a signature field's `/V` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SigValue {
    /// No `/V`: an empty signature field.
    Empty,
    /// An indirect `/Type /Sig` or `/DocTimeStamp` dictionary.
    Indirect(ObjRef),
    /// A direct `/Type /Sig` dictionary inside the field.
    Direct,
    /// Something that is not a signature dictionary (a sneaky-signature pattern).
    NotASignature(String),
}

/// Classify a signature field's value as of `view`.
pub(crate) fn sig_value(view: &View<'_, '_>, field: &Field) -> Result<SigValue, PdfError> {
    let Some(v) = &field.value else {
        return Ok(SigValue::Empty);
    };
    let resolved = view.resolve(v)?;
    let Some(dict) = resolved.as_dict() else {
        return Ok(SigValue::NotASignature(format!(
            "/V is a {}",
            resolved.kind()
        )));
    };
    match dict.name(b"Type") {
        Some(b"Sig" | b"DocTimeStamp") => {}
        Some(other) => {
            return Ok(SigValue::NotASignature(format!(
                "/V has /Type /{}",
                String::from_utf8_lossy(other)
            )));
        }
        None => return Ok(SigValue::NotASignature("/V has no /Type /Sig".into())),
    }
    if matches!(*resolved, Object::Stream(_)) {
        return Ok(SigValue::NotASignature("/V is a stream".into()));
    }
    Ok(match v {
        Object::Ref(r) => SigValue::Indirect(*r),
        _ => SigValue::Direct,
    })
}

/// The AcroForm dictionary as of `view`, if any.
pub(crate) fn acroform(view: &View<'_, '_>) -> Result<Option<Dict>, PdfError> {
    let (_, root) = view.root()?;
    let Some(catalog) = root.object.as_dict() else {
        return Ok(None);
    };
    let form = view.get(catalog, b"AcroForm")?;
    Ok(form.as_dict().cloned())
}

/// All terminal fields as of `view`.
pub(crate) fn fields(view: &View<'_, '_>) -> Result<Vec<Field>, PdfError> {
    let Some(form) = acroform(view)? else {
        return Ok(Vec::new());
    };
    let top = view.get(&form, b"Fields")?;
    let Some(top) = top.as_array() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for item in top {
        let Some(r) = item.as_ref() else { continue };
        walk(view, r, None, None, None, 0, true, &mut seen, &mut out)?;
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    view: &View<'_, '_>,
    node_ref: ObjRef,
    parent_name: Option<&str>,
    inherited_type: Option<&[u8]>,
    inherited_value: Option<&Object>,
    depth: usize,
    top_level: bool,
    seen: &mut HashSet<ObjRef>,
    out: &mut Vec<Field>,
) -> Result<(), PdfError> {
    let limits = view.doc.limits;
    if depth > limits.max_depth || !seen.insert(node_ref) {
        return Ok(());
    }
    if seen.len() > limits.max_fields {
        return Err(PdfError::Limit {
            what: "form fields",
            max: limits.max_fields,
        });
    }
    let Some(node) = view.load(node_ref)? else {
        return Ok(());
    };
    let Some(dict) = node.object.as_dict() else {
        return Ok(());
    };
    let partial = match dict.get(b"T") {
        Some(Object::String(s)) => Some(text_string(&s.bytes)),
        _ => None,
    };
    let name = match (parent_name, &partial) {
        (Some(p), Some(t)) => format!("{p}.{t}"),
        (None, Some(t)) => t.clone(),
        (Some(p), None) => p.to_string(),
        (None, None) => String::new(),
    };
    let field_type = dict.name(b"FT").or(inherited_type);
    let value = dict.get(b"V").or(inherited_value);
    let kids = view.get(dict, b"Kids")?;
    let kid_refs: Vec<ObjRef> = kids
        .as_array()
        .map(|a| a.iter().filter_map(Object::as_ref).collect())
        .unwrap_or_default();
    // Kids with /T are fields; kids without are this field's widgets.
    let mut widgets = Vec::new();
    let mut child_fields = Vec::new();
    for k in &kid_refs {
        let is_field = match view.load(*k)? {
            Some(l) => l
                .object
                .as_dict()
                .is_some_and(|d| d.get(b"T").is_some() || d.get(b"Kids").is_some()),
            None => false,
        };
        if is_field {
            child_fields.push(*k);
        } else {
            widgets.push(*k);
        }
    }
    if kid_refs.is_empty() {
        widgets.push(node_ref);
    }
    if !widgets.is_empty() || child_fields.is_empty() {
        out.push(Field {
            name: name.clone(),
            field_ref: node_ref,
            top_level,
            field_type: field_type.map(<[u8]>::to_vec),
            value: value.cloned(),
            widgets,
            lock: dict.get(b"Lock").cloned(),
        });
    }
    for c in child_fields {
        walk(
            view,
            c,
            Some(&name),
            field_type,
            value,
            depth + 1,
            false,
            seen,
            out,
        )?;
    }
    Ok(())
}

/// A widget's `/Rect` normalised to `[x0, y0, x1, y1]`.
pub(crate) fn rect(view: &View<'_, '_>, annot: &Dict) -> Result<Option<[f64; 4]>, PdfError> {
    let r = view.get(annot, b"Rect")?;
    let Some(a) = r.as_array() else {
        return Ok(None);
    };
    if a.len() != 4 {
        return Ok(None);
    }
    let mut v = [0f64; 4];
    for (i, o) in a.iter().enumerate() {
        let n = view.resolve(o)?;
        match n.as_number() {
            Some(x) => v[i] = x,
            None => return Ok(None),
        }
    }
    Ok(Some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ]))
}
