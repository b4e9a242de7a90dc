//! Where later widgets and annotations paint (Rohlmann et al.'s evil-annotation and
//! sneaky-signature attacks, Mainka et al.'s form-field shadow attacks): does a new or
//! changed appearance cover page content or another signature's appearance, and is a
//! signature widget full-page or off-page?
//!
//! Page content is approximated by the boxes its content stream paints: text runs
//! (with the font's widths when it has them), filled or stroked paths, images and form
//! XObjects (their bounding box), shadings (the whole page). Coordinates are default
//! user space, as annotation rectangles are.

use std::collections::HashMap;

use crate::pdf::content::{End, Interpreter, Sink, page_box};
use crate::pdf::objects::{Dict, ObjRef, Object};
use crate::pdf::revisions::{Document, View};
use crate::verify::PdfError;
use crate::verify::diff::{Visual, VisualKind, paints};
use crate::verify::fields::{self, SigValue};

/// What the geometry check found for one widget or annotation.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) visual: Visual,
    /// Its rectangle (default user space).
    pub(crate) rect: Box4,
    /// 1-based number of its page, when known.
    pub(crate) page_number: Option<usize>,
    /// It paints over text the earlier revision had on the page.
    pub(crate) over_text: bool,
    /// It paints over content (text, graphics, images) the earlier revision had on
    /// the page, or over a page whose content cannot be read.
    pub(crate) over_content: bool,
    /// It paints over these signature fields' appearances.
    pub(crate) over_signatures: Vec<Covered>,
    /// `full_page` or `off_page` for signature widgets.
    pub(crate) suspicious: Option<&'static str>,
    /// The way a co-signature or the Decree 30 seal sits on an earlier signature: it
    /// paints over earlier signature appearances, at most half of each, and whatever
    /// page content it covers belongs to their signer blocks (the lines right above
    /// and below them: title, name).
    pub(crate) co_signing: bool,
}

/// An earlier signature appearance a later appearance paints over.
#[derive(Debug, Clone)]
pub(crate) struct Covered {
    /// The signature field.
    pub(crate) field: String,
    /// Which part of that appearance's area is covered (0–1).
    pub(crate) fraction: f64,
    /// That appearance's rectangle.
    pub(crate) rect: Box4,
}

pub(crate) use crate::pdf::content::Box4;

/// What a box of page content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ink {
    /// Text shown with a font.
    Text,
    /// Paths, images, form XObjects, shadings.
    Graphics,
}

/// A signature's visible appearance: widget, page, rectangle, field name.
type Appearance = (ObjRef, Option<ObjRef>, Box4, String);

/// Check every painting widget/annotation of revision `k` against revision `k - 1`.
pub(crate) fn check(
    doc: &Document<'_>,
    k: usize,
    visual: &[Visual],
) -> Result<Vec<Finding>, PdfError> {
    let new = doc.view(k);
    let old = doc.view(k - 1);
    let mut content: HashMap<ObjRef, Option<Vec<(Box4, Ink)>>> = HashMap::new();
    let mut signatures: Option<Vec<Appearance>> = None;
    let mut page_numbers: Option<HashMap<ObjRef, usize>> = None;
    let mut out = Vec::new();
    for v in visual {
        // A removed annotation is judged by what it painted before its removal.
        let view = if v.removed { &old } else { &new };
        let Some(annot) = view.load(v.annot)? else {
            continue;
        };
        let Some(d) = annot.object.as_dict() else {
            continue;
        };
        let Some(rect) = fields::rect(view, d)? else {
            continue;
        };
        if area(&rect) <= 0.0 || d.int(b"F").is_some_and(|f| f & (2 | 32) != 0) {
            continue;
        }
        if !appearance_paints(view, d, &v.kind)? {
            continue;
        }
        let page = v.page.or_else(|| d.get(b"P").and_then(Object::as_ref));
        let mut finding = Finding {
            visual: v.clone(),
            rect,
            page_number: None,
            over_text: false,
            over_content: false,
            over_signatures: Vec::new(),
            suspicious: None,
            co_signing: false,
        };
        let mut covered_boxes: Vec<Box4> = Vec::new();
        let mut boxes_known = true;
        if let Some(page) = page {
            if page_numbers.is_none() {
                let pages = crate::verify::diff::page_list(&new)?;
                page_numbers = Some(
                    pages
                        .pages
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (*p, i + 1))
                        .collect(),
                );
            }
            finding.page_number = page_numbers.as_ref().and_then(|m| m.get(&page).copied());
            if let Some(media) = page_box(&old, page)? {
                let page_area = area(&media);
                if intersection(&rect, &media) <= 0.0 {
                    finding.suspicious = Some("off_page");
                } else if intersection(&rect, &media) >= 0.5 * page_area {
                    finding.suspicious = Some("full_page");
                }
            }
            let boxes = match content.get(&page) {
                Some(b) => b.clone(),
                None => {
                    let b = page_content(&old, page).ok();
                    content.insert(page, b.clone());
                    b
                }
            };
            match &boxes {
                Some(boxes) => {
                    for (b, ink) in boxes {
                        if overlaps(b, &rect) {
                            finding.over_content = true;
                            finding.over_text |= *ink == Ink::Text;
                            if covered_boxes.len() < 10_000 {
                                covered_boxes.push(*b);
                            } else {
                                boxes_known = false;
                            }
                        }
                    }
                }
                // Content that cannot be read is assumed to be under the annotation.
                None => {
                    finding.over_content = true;
                    boxes_known = false;
                }
            }
        }
        if v.removed {
            finding.suspicious = None;
            out.push(finding);
            continue;
        }
        if signatures.is_none() {
            signatures = Some(signature_appearances(&old)?);
        }
        for (w, wpage, r, name) in signatures.iter().flatten() {
            if *w != v.annot
                && (page.is_none() || wpage.is_none() || *wpage == page)
                && overlaps(r, &rect)
            {
                finding.over_signatures.push(Covered {
                    field: name.clone(),
                    fraction: (intersection(r, &rect) / area(r)).clamp(0.0, 1.0),
                    rect: *r,
                });
            }
        }
        if !matches!(v.kind, VisualKind::SignatureWidget { .. })
            && finding.suspicious == Some("full_page")
        {
            finding.over_content = true;
        }
        finding.co_signing = matches!(v.kind, VisualKind::SignatureWidget { signed: true, .. })
            && finding.suspicious.is_none()
            && !finding.over_signatures.is_empty()
            && finding.over_signatures.iter().all(|c| c.fraction <= 0.5)
            && (!finding.over_content || boxes_known)
            && covered_boxes.iter().all(|b| {
                finding
                    .over_signatures
                    .iter()
                    .any(|c| overlaps(b, &signer_block(&c.rect, &rect)))
            });
        out.push(finding);
    }
    Ok(out)
}

/// The signer block around a signature appearance `sig`, as a later appearance `over`
/// placed on it can reach it: the appearance's columns, extended up and down by the
/// later appearance's height (the title line above, the name line below).
fn signer_block(sig: &Box4, over: &Box4) -> Box4 {
    let h = over[3] - over[1];
    [sig[0], sig[1] - h, sig[2], sig[3] + h]
}

fn area(r: &Box4) -> f64 {
    (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0)
}

/// Whether two boxes overlap by more than half a point both ways (touching edges and
/// rounding do not count).
fn overlaps(a: &Box4, b: &Box4) -> bool {
    a[0].max(b[0]) + 0.5 < a[2].min(b[2]) && a[1].max(b[1]) + 0.5 < a[3].min(b[3])
}

fn intersection(a: &Box4, b: &Box4) -> f64 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = a[2].min(b[2]);
    let y1 = a[3].min(b[3]);
    area(&[x0, y0, x1, y1])
}

/// Whether the annotation shows something: its normal appearance paints, or (for
/// annotations and filled fields without one) the viewer would draw it.
fn appearance_paints(view: &View<'_, '_>, d: &Dict, kind: &VisualKind) -> Result<bool, PdfError> {
    let ap = view.get(d, b"AP")?;
    let normal = match ap.as_dict() {
        Some(ap) => Some(view.get(ap, b"N")?.clone()),
        None => None,
    };
    let stream = match normal {
        Some(Object::Stream(s)) => Some(s),
        Some(Object::Dict(states)) => {
            let state = d.name(b"AS").map(<[u8]>::to_vec);
            let chosen = state.and_then(|s| states.get(&s).cloned());
            match chosen {
                Some(o) => match view.resolve(&o)?.clone() {
                    Object::Stream(s) => Some(s),
                    _ => None,
                },
                None => None,
            }
        }
        _ => None,
    };
    match stream {
        Some(s) => Ok(match view.doc.decode(&s) {
            Ok(data) => paints(&data, view.doc.limits),
            // An appearance that cannot be decoded is assumed to paint.
            Err(_) => true,
        }),
        None => Ok(match kind {
            VisualKind::SignatureWidget { .. } => false,
            VisualKind::FormWidget { .. } => true,
            VisualKind::Annotation { subtype } => !matches!(subtype.as_str(), "Link" | "Popup"),
        }),
    }
}

/// The visible appearances of signed signature fields as of `view`.
fn signature_appearances(view: &View<'_, '_>) -> Result<Vec<Appearance>, PdfError> {
    let mut out = Vec::new();
    for f in fields::fields(view)? {
        if !f.is_signature()
            || !matches!(
                fields::sig_value(view, &f)?,
                SigValue::Indirect(_) | SigValue::Direct
            )
        {
            continue;
        }
        for w in &f.widgets {
            let Some(l) = view.load(*w)? else { continue };
            let Some(d) = l.object.as_dict() else {
                continue;
            };
            let Some(r) = fields::rect(view, d)? else {
                continue;
            };
            if area(&r) <= 0.0
                || !appearance_paints(
                    view,
                    d,
                    &VisualKind::SignatureWidget {
                        field: String::new(),
                        signed: true,
                    },
                )?
            {
                continue;
            }
            out.push((*w, d.get(b"P").and_then(Object::as_ref), r, f.name.clone()));
        }
    }
    Ok(out)
}

/// Where each signature field's visible appearance is in `view`: field name → (1-based
/// page number when found, rectangle in default user space). A widget without `/P` is
/// looked up in the pages' `/Annots`. Invisible signatures are absent.
pub(crate) fn signature_boxes(
    view: &View<'_, '_>,
) -> Result<HashMap<String, (Option<usize>, Box4)>, PdfError> {
    let pages = crate::verify::diff::page_list(view)?.pages;
    let numbers: HashMap<ObjRef, usize> =
        pages.iter().enumerate().map(|(i, p)| (*p, i + 1)).collect();
    let mut out = HashMap::new();
    for (widget, page, rect, field) in signature_appearances(view)? {
        if out.contains_key(&field) {
            continue;
        }
        let mut number = page.and_then(|p| numbers.get(&p).copied());
        if number.is_none() {
            for (i, p) in pages.iter().enumerate() {
                let Some(page) = view.load(*p)? else { continue };
                let Some(d) = page.object.as_dict() else {
                    continue;
                };
                let annots = view.get(d, b"Annots")?;
                if annots
                    .as_array()
                    .is_some_and(|a| a.iter().any(|o| o.as_ref() == Some(widget)))
                {
                    number = Some(i + 1);
                    break;
                }
            }
        }
        out.insert(field, (number, rect));
    }
    Ok(out)
}

/// The boxes a page's content paints, in default user space (form XObjects by their
/// bounding box; a page too dense to reason about counts as text all over).
pub(crate) fn page_content(
    view: &View<'_, '_>,
    page: ObjRef,
) -> Result<Vec<(Box4, Ink)>, PdfError> {
    struct Boxes {
        boxes: Vec<(Box4, Ink)>,
        max: usize,
    }
    impl Sink for Boxes {
        fn text(&mut self, bbox: Box4) {
            self.boxes.push((bbox, Ink::Text));
        }
        fn paint(&mut self, bbox: Box4) {
            self.boxes.push((bbox, Ink::Graphics));
        }
        fn full(&self) -> bool {
            self.boxes.len() > self.max
        }
    }
    let mut sink = Boxes {
        boxes: Vec::new(),
        max: view.doc.limits.max_content_boxes,
    };
    match Interpreter::new(*view, false, false).page(page, &mut sink)? {
        End::Complete => Ok(sink.boxes),
        End::Limit => {
            let media = page_box(view, page)?.unwrap_or([0.0, 0.0, 612.0, 792.0]);
            Ok(vec![(media, Ink::Text)])
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn intersections() {
        assert_eq!(
            intersection(&[0.0, 0.0, 10.0, 10.0], &[5.0, 5.0, 20.0, 20.0]),
            25.0
        );
        assert_eq!(
            intersection(&[0.0, 0.0, 10.0, 10.0], &[10.0, 10.0, 20.0, 20.0]),
            0.0
        );
    }
}
