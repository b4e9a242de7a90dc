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

use crate::verify::PdfError;
use crate::verify::diff::{Visual, VisualKind, paints};
use crate::verify::fields::{self, SigValue};
use crate::verify::objects::{ContentItem, Dict, ObjRef, Object, Parser};
use crate::verify::revisions::{Document, View};

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

pub(crate) type Box4 = [f64; 4];

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

/// A page's crop box (else media box), inherited.
fn page_box(view: &View<'_, '_>, page: ObjRef) -> Result<Option<Box4>, PdfError> {
    for key in [&b"CropBox"[..], b"MediaBox"] {
        if let Some(v) = inherited(view, page, key)? {
            let a = view.resolve(&v)?;
            if let Some(items) = a.as_array()
                && items.len() == 4
            {
                let n: Vec<f64> = items.iter().filter_map(Object::as_number).collect();
                if n.len() == 4 {
                    return Ok(Some([
                        n[0].min(n[2]),
                        n[1].min(n[3]),
                        n[0].max(n[2]),
                        n[1].max(n[3]),
                    ]));
                }
            }
        }
    }
    Ok(None)
}

/// An inheritable page attribute.
fn inherited(view: &View<'_, '_>, page: ObjRef, key: &[u8]) -> Result<Option<Object>, PdfError> {
    let mut node = Some(page);
    for _ in 0..32 {
        let Some(r) = node else { break };
        let Some(l) = view.load(r)? else { break };
        let Some(d) = l.object.as_dict() else { break };
        if let Some(v) = d.get(key) {
            return Ok(Some(v.clone()));
        }
        node = d.get(b"Parent").and_then(Object::as_ref);
    }
    Ok(None)
}

/// Ink extent of a text line, in em: the extremes of Liberation Serif 2 over every
/// Vietnamese letter (`Ẵ` 0.915 em up, `g` 0.221 em down; see the test documents'
/// README), which is also what Decree 30's signature area is measured against.
const ASCENT: f64 = 0.915;
const DESCENT: f64 = 0.221;

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m × n` in PDF's row-vector convention.
fn concat(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

fn bbox_of(m: &Matrix, r: &Box4) -> Box4 {
    let pts = [
        apply(m, r[0], r[1]),
        apply(m, r[2], r[1]),
        apply(m, r[0], r[3]),
        apply(m, r[2], r[3]),
    ];
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (x, y) in pts {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b
}

struct Font {
    two_byte: bool,
    first_char: i64,
    widths: Vec<f64>,
    default_width: f64,
    cid_widths: Vec<(u32, u32, f64)>,
}

impl Font {
    fn advance(&self, bytes: &[u8]) -> (f64, usize) {
        let mut total = 0.0;
        let mut count = 0;
        if self.two_byte {
            for c in bytes.chunks(2) {
                let cid = c.iter().fold(0u32, |a, b| a << 8 | u32::from(*b));
                let w = self
                    .cid_widths
                    .iter()
                    .find(|(a, b, _)| (*a..=*b).contains(&cid))
                    .map_or(self.default_width, |(_, _, w)| *w);
                total += w;
                count += 1;
            }
        } else {
            for b in bytes {
                let i = i64::from(*b) - self.first_char;
                let w = usize::try_from(i)
                    .ok()
                    .and_then(|i| self.widths.get(i))
                    .copied()
                    .unwrap_or(self.default_width);
                total += w;
                count += 1;
            }
        }
        (total / 1000.0, count)
    }
}

fn load_font(view: &View<'_, '_>, resources: &Dict, name: &[u8]) -> Result<Font, PdfError> {
    let mut font = Font {
        two_byte: false,
        first_char: 0,
        widths: Vec::new(),
        default_width: 600.0,
        cid_widths: Vec::new(),
    };
    let fonts = view.get(resources, b"Font")?;
    let Some(fonts) = fonts.as_dict() else {
        return Ok(font);
    };
    let f = view.get(fonts, name)?;
    let Some(f) = f.as_dict() else {
        return Ok(font);
    };
    if f.name(b"Subtype") == Some(b"Type0") {
        font.two_byte = true;
        font.default_width = 1000.0;
        let desc = view.get(f, b"DescendantFonts")?;
        if let Some(first) = desc.as_array().and_then(|a| a.first()) {
            let cid = view.resolve(first)?;
            if let Some(cid) = cid.as_dict() {
                if let Some(dw) = view.get(cid, b"DW")?.as_number() {
                    font.default_width = dw;
                }
                let w = view.get(cid, b"W")?;
                if let Some(w) = w.as_array() {
                    let mut i = 0;
                    while i + 1 < w.len() && font.cid_widths.len() < 65_536 {
                        let start = w[i].as_number().unwrap_or(0.0) as u32;
                        match view.resolve(&w[i + 1])?.clone() {
                            Object::Array(list) => {
                                for (j, x) in list.iter().enumerate() {
                                    let c = start.saturating_add(j as u32);
                                    font.cid_widths.push((
                                        c,
                                        c,
                                        x.as_number().unwrap_or(font.default_width),
                                    ));
                                }
                                i += 2;
                            }
                            other => {
                                let end = other.as_number().unwrap_or(0.0) as u32;
                                let width = w
                                    .get(i + 2)
                                    .and_then(Object::as_number)
                                    .unwrap_or(font.default_width);
                                font.cid_widths.push((start, end, width));
                                i += 3;
                            }
                        }
                    }
                }
            }
        }
    } else {
        font.first_char = f.int(b"FirstChar").unwrap_or(0);
        let widths = view.get(f, b"Widths")?;
        if let Some(w) = widths.as_array() {
            font.widths = w
                .iter()
                .take(65_536)
                .map(|x| x.as_number().unwrap_or(600.0))
                .collect();
        }
    }
    Ok(font)
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<Vec<u8>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
}

/// The boxes a page's content paints, in default user space.
pub(crate) fn page_content(
    view: &View<'_, '_>,
    page: ObjRef,
) -> Result<Vec<(Box4, Ink)>, PdfError> {
    let limits = view.doc.limits;
    let media = page_box(view, page)?.unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let resources = match inherited(view, page, b"Resources")? {
        Some(r) => view.resolve(&r)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::default(),
    };
    let Some(l) = view.load(page)? else {
        return Ok(Vec::new());
    };
    let Some(pd) = l.object.as_dict() else {
        return Ok(Vec::new());
    };
    let contents = view.get(pd, b"Contents")?;
    let mut streams = Vec::new();
    match &*contents {
        Object::Stream(s) => streams.push(s.clone()),
        Object::Array(a) => {
            for item in a.iter().take(4096) {
                if let Object::Stream(s) = view.resolve(item)?.clone() {
                    streams.push(s);
                }
            }
        }
        _ => {}
    }
    let mut data = Vec::new();
    for s in &streams {
        data.extend_from_slice(&view.doc.decode(s)?);
        data.push(b'\n');
    }
    let mut boxes: Vec<(Box4, Ink)> = Vec::new();
    let mut fonts: HashMap<Vec<u8>, Font> = HashMap::new();
    let mut state = State {
        ctm: IDENTITY,
        font: None,
        size: 0.0,
        char_spacing: 0.0,
        word_spacing: 0.0,
        scale: 1.0,
        leading: 0.0,
        rise: 0.0,
    };
    let mut stack: Vec<State> = Vec::new();
    let mut tm = IDENTITY;
    let mut tlm = IDENTITY;
    let mut path: Option<Box4> = None;
    let mut operands: Vec<Object> = Vec::new();
    let mut p = Parser::new(&data, 0, limits);
    let mut steps = 0usize;
    let num = |ops: &[Object], i: usize| ops.get(i).and_then(Object::as_number).unwrap_or(0.0);
    let extend = |path: &mut Option<Box4>, (x, y): (f64, f64)| {
        let b = path.get_or_insert([x, y, x, y]);
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    };
    while let Some(item) = p.content_item()? {
        steps += 1;
        if steps > limits.max_content_operations || boxes.len() > limits.max_content_boxes {
            // Too dense to reason about: the whole page counts as text.
            return Ok(vec![(media, Ink::Text)]);
        }
        let op = match item {
            ContentItem::Operand(o) => {
                if operands.len() < 64 {
                    operands.push(o);
                }
                continue;
            }
            ContentItem::Operator(op) => op,
        };
        let ops = std::mem::take(&mut operands);
        match op {
            b"q" if stack.len() < 256 => stack.push(state.clone()),
            b"Q" => {
                if let Some(s) = stack.pop() {
                    state = s;
                }
            }
            b"cm" => {
                let m = [
                    num(&ops, 0),
                    num(&ops, 1),
                    num(&ops, 2),
                    num(&ops, 3),
                    num(&ops, 4),
                    num(&ops, 5),
                ];
                state.ctm = concat(&m, &state.ctm);
            }
            b"BT" => {
                tm = IDENTITY;
                tlm = IDENTITY;
            }
            b"Tf" => {
                if let Some(Object::Name(n)) = ops.first() {
                    state.font = Some(n.clone());
                }
                state.size = num(&ops, 1);
            }
            b"Tc" => state.char_spacing = num(&ops, 0),
            b"Tw" => state.word_spacing = num(&ops, 0),
            b"Tz" => state.scale = num(&ops, 0) / 100.0,
            b"TL" => state.leading = num(&ops, 0),
            b"Ts" => state.rise = num(&ops, 0),
            b"Td" | b"TD" => {
                if op == b"TD" {
                    state.leading = -num(&ops, 1);
                }
                tlm = concat(&[1.0, 0.0, 0.0, 1.0, num(&ops, 0), num(&ops, 1)], &tlm);
                tm = tlm;
            }
            b"Tm" => {
                tlm = [
                    num(&ops, 0),
                    num(&ops, 1),
                    num(&ops, 2),
                    num(&ops, 3),
                    num(&ops, 4),
                    num(&ops, 5),
                ];
                tm = tlm;
            }
            b"T*" => {
                tlm = concat(&[1.0, 0.0, 0.0, 1.0, 0.0, -state.leading], &tlm);
                tm = tlm;
            }
            b"Tj" | b"TJ" | b"'" | b"\"" => {
                if op == b"'" || op == b"\"" {
                    tlm = concat(&[1.0, 0.0, 0.0, 1.0, 0.0, -state.leading], &tlm);
                    tm = tlm;
                }
                let font = match &state.font {
                    Some(name) => {
                        if !fonts.contains_key(name) && fonts.len() < 256 {
                            let f = load_font(view, &resources, name)?;
                            fonts.insert(name.clone(), f);
                        }
                        fonts.get(name)
                    }
                    None => None,
                };
                let mut pieces: Vec<(Option<&[u8]>, f64)> = Vec::new();
                match ops.last() {
                    Some(Object::String(s)) => pieces.push((Some(&s.bytes), 0.0)),
                    Some(Object::Array(a)) => {
                        for x in a {
                            match x {
                                Object::String(s) => pieces.push((Some(&s.bytes), 0.0)),
                                other => pieces.push((None, other.as_number().unwrap_or(0.0))),
                            }
                        }
                    }
                    _ => {}
                }
                let size = state.size;
                for (bytes, adjust) in pieces {
                    let dx = match bytes {
                        Some(b) => {
                            let (w, n) =
                                font.map_or((b.len() as f64 * 0.6, b.len()), |f| f.advance(b));
                            let spaces = if font.is_some_and(|f| f.two_byte) {
                                0
                            } else {
                                b.iter().filter(|c| **c == b' ').count()
                            };
                            let adv = (w * size
                                + n as f64 * state.char_spacing
                                + spaces as f64 * state.word_spacing)
                                * state.scale;
                            let trm = concat(&tm, &state.ctm);
                            let glyphs = [
                                0.0,
                                -DESCENT * size + state.rise,
                                adv,
                                ASCENT * size + state.rise,
                            ];
                            if adv.abs() > 0.0 && size.abs() > 0.0 {
                                boxes.push((bbox_of(&trm, &glyphs), Ink::Text));
                            }
                            adv
                        }
                        None => -adjust / 1000.0 * size * state.scale,
                    };
                    tm = concat(&[1.0, 0.0, 0.0, 1.0, dx, 0.0], &tm);
                }
            }
            b"m" | b"l" => extend(&mut path, apply(&state.ctm, num(&ops, 0), num(&ops, 1))),
            b"c" => {
                for i in 0..3 {
                    extend(
                        &mut path,
                        apply(&state.ctm, num(&ops, 2 * i), num(&ops, 2 * i + 1)),
                    );
                }
            }
            b"v" | b"y" => {
                for i in 0..2 {
                    extend(
                        &mut path,
                        apply(&state.ctm, num(&ops, 2 * i), num(&ops, 2 * i + 1)),
                    );
                }
            }
            b"re" => {
                let (x, y, w, h) = (num(&ops, 0), num(&ops, 1), num(&ops, 2), num(&ops, 3));
                let b = bbox_of(
                    &state.ctm,
                    &[x.min(x + w), y.min(y + h), x.max(x + w), y.max(y + h)],
                );
                extend(&mut path, (b[0], b[1]));
                extend(&mut path, (b[2], b[3]));
            }
            b"S" | b"s" | b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*" => {
                if let Some(mut b) = path.take() {
                    // Hairlines still show.
                    b[2] = b[2].max(b[0] + 0.5);
                    b[3] = b[3].max(b[1] + 0.5);
                    boxes.push((b, Ink::Graphics));
                }
            }
            b"n" => path = None,
            b"Do" => {
                let Some(Object::Name(name)) = ops.first() else {
                    continue;
                };
                let xobjects = view.get(&resources, b"XObject")?;
                let Some(xobjects) = xobjects.as_dict() else {
                    continue;
                };
                let x = view.get(xobjects, name)?;
                let Some(xd) = x.as_dict() else { continue };
                let unit = [0.0, 0.0, 1.0, 1.0];
                let b = if xd.name(b"Subtype") == Some(b"Form") {
                    let bbox = view.get(xd, b"BBox")?;
                    let bb: Vec<f64> = bbox
                        .as_array()
                        .map(|a| a.iter().filter_map(Object::as_number).collect())
                        .unwrap_or_default();
                    let matrix = view.get(xd, b"Matrix")?;
                    let mv: Vec<f64> = matrix
                        .as_array()
                        .map(|a| a.iter().filter_map(Object::as_number).collect())
                        .unwrap_or_default();
                    let m = if mv.len() == 6 {
                        [mv[0], mv[1], mv[2], mv[3], mv[4], mv[5]]
                    } else {
                        IDENTITY
                    };
                    let r = if bb.len() == 4 {
                        [
                            bb[0].min(bb[2]),
                            bb[1].min(bb[3]),
                            bb[0].max(bb[2]),
                            bb[1].max(bb[3]),
                        ]
                    } else {
                        media
                    };
                    bbox_of(&concat(&m, &state.ctm), &r)
                } else {
                    bbox_of(&state.ctm, &unit)
                };
                boxes.push((b, Ink::Graphics));
            }
            b"EI" => boxes.push((bbox_of(&state.ctm, &[0.0, 0.0, 1.0, 1.0]), Ink::Graphics)),
            b"sh" => boxes.push((media, Ink::Graphics)),
            _ => {}
        }
    }
    Ok(boxes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let translate = [1.0, 0.0, 0.0, 1.0, 10.0, 20.0];
        let scale = [2.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        // Scale first, then translate.
        let m = concat(&scale, &translate);
        assert_eq!(apply(&m, 1.0, 1.0), (12.0, 22.0));
    }

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
