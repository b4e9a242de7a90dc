//! The one content-stream interpreter (ISO 32000-1 §8–9) of kyso-pades, over the
//! verifier's hostile-input parser and its [`Limits`]: the graphics state stack
//! (`q Q cm`), the text state and matrices (`BT Tf Tm Td TD T* TL Tc Tw Tz Ts`), the
//! text-showing operators (`Tj TJ ' "`) with each font's widths and `/ToUnicode` CMap,
//! paths (`m l c v y re` and the painting operators), images (`Do`, inline `BI … EI`),
//! shadings (`sh`) and form XObjects (interpreted, or reported by their bounding box).
//!
//! What it finds goes to a [`Sink`]: the signer's placement and the archive's text
//! extraction collect positioned glyphs ([`Glyph`]), the verifier's appearance-overlap
//! check collects the boxes that text and graphics paint. Coordinates are default user
//! space. Not a layout engine: no vertical writing, Type3 font matrices are ignored.

use std::collections::HashMap;
use std::rc::Rc;

use crate::pdf::objects::{ContentItem, Dict, ObjRef, Object, Parser};
use crate::pdf::revisions::View;
use crate::verify::PdfError;

pub(crate) type Matrix = [f64; 6];
/// `[x0, y0, x1, y1]`.
pub(crate) type Box4 = [f64; 4];
pub(crate) const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// Deepest form XObject nesting interpreted.
const MAX_FORM_DEPTH: usize = 8;
/// Most entries in one ToUnicode CMap or CID width table.
const MAX_CMAP_ENTRIES: usize = 200_000;
/// Most fonts kept per interpreter.
const MAX_FONTS: usize = 4096;
/// Deepest `q` nesting.
const MAX_STATE_STACK: usize = 256;

/// Ink extent of a text line, in em: the extremes of Liberation Serif 2 over every
/// Vietnamese letter (`Ẵ` 0.915 em up, `g` 0.221 em down; see the test documents'
/// README), which is also what Decree 30's signature area is measured against.
const ASCENT: f64 = 0.915;
const DESCENT: f64 = 0.221;

/// `m × n` in PDF's row-vector convention.
pub(crate) fn concat(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

pub(crate) fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The bounding box of `r` transformed by `m`.
pub(crate) fn bbox_of(m: &Matrix, r: &Box4) -> Box4 {
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

/// One glyph as drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glyph {
    /// The text it stands for (from ToUnicode), possibly several characters.
    pub(crate) text: String,
    /// Left and right edge of its advance, in user space.
    pub(crate) x0: f64,
    pub(crate) x1: f64,
    /// Baseline.
    pub(crate) y: f64,
    /// Effective font size (points).
    pub(crate) size: f64,
}

/// What the interpretation of a page found, as it goes.
pub(crate) trait Sink {
    /// A glyph shown with a font of the resources (none for an unknown font).
    fn glyph(&mut self, _glyph: Glyph) {}
    /// The box one string operand paints (ascent to descent over its advance).
    fn text(&mut self, _bbox: Box4) {}
    /// The box a path, an image, a shading or a form XObject paints.
    fn paint(&mut self, _bbox: Box4) {}
    /// Enough collected: the interpretation stops with [`End::Limit`].
    fn full(&self) -> bool {
        false
    }
}

/// How an interpretation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The whole content was interpreted (or, leniently, up to a syntax error).
    Complete,
    /// `Limits::max_content_operations` or the sink's own limit was reached.
    Limit,
}

/// What the interpreter knows about a font.
#[derive(Debug, Default)]
pub(crate) struct FontInfo {
    two_byte: bool,
    to_unicode: HashMap<(u8, u32), String>,
    code_lengths: Vec<u8>,
    simple_widths: Option<(u32, Vec<f64>)>,
    cid_widths: HashMap<u32, f64>,
    default_width: f64,
}

impl FontInfo {
    /// The font assumed when `Tf` names none of the resources: 0.6 em per byte.
    fn fallback() -> Self {
        FontInfo {
            default_width: 600.0,
            ..FontInfo::default()
        }
    }

    fn width(&self, code: u32) -> f64 {
        if self.two_byte {
            return self
                .cid_widths
                .get(&code)
                .copied()
                .unwrap_or(self.default_width);
        }
        if let Some((first, w)) = &self.simple_widths
            && code >= *first
            && let Some(v) = w.get((code - first) as usize)
        {
            return *v;
        }
        self.default_width
    }

    /// Split a string operand into (code, byte length) pairs.
    fn codes(&self, bytes: &[u8]) -> Vec<(u32, u8)> {
        if !self.two_byte {
            return bytes.iter().map(|&b| (u32::from(b), 1)).collect();
        }
        let mut out = Vec::with_capacity(bytes.len() / 2);
        let mut i = 0;
        while i < bytes.len() {
            // Use the CMap's code lengths when it has other than 2-byte codes.
            let mut len = 2usize;
            if !self.code_lengths.is_empty() && !self.code_lengths.contains(&2) {
                len = usize::from(self.code_lengths[0]).max(1);
            }
            let end = (i + len).min(bytes.len());
            let code = bytes[i..end]
                .iter()
                .fold(0u32, |acc, &b| acc << 8 | u32::from(b));
            out.push((code, (end - i) as u8));
            i = end;
        }
        out
    }

    fn text(&self, code: u32, len: u8) -> String {
        if let Some(t) = self.to_unicode.get(&(len, code)) {
            return t.clone();
        }
        if self.two_byte {
            return "\u{FFFD}".into();
        }
        // No ToUnicode: assume a Latin (Standard/WinAnsi) encoding.
        match char::from_u32(code) {
            Some(c) if c == ' ' || !c.is_control() => c.to_string(),
            _ => "\u{FFFD}".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    ctm: Matrix,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
    font: Option<Rc<FontInfo>>,
    font_size: f64,
}

/// Where a font is cached: its object, or its name in one interpretation of one
/// resource dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FontKey {
    Object(ObjRef),
    Direct(usize, Vec<u8>),
}

/// Interprets content streams of one revision of a document.
pub(crate) struct Interpreter<'d, 'a> {
    view: View<'d, 'a>,
    fonts: HashMap<FontKey, Option<Rc<FontInfo>>>,
    /// Items (operands and operators) interpreted since [`Interpreter::page`].
    steps: usize,
    /// Numbers each interpretation of a resource dictionary (direct fonts' cache key).
    runs: usize,
    /// Interpret form XObjects (else they paint their bounding box only).
    forms: bool,
    /// A syntax error in a content stream ends it without an error.
    lenient: bool,
    fallback: Rc<FontInfo>,
}

impl std::fmt::Debug for Interpreter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interpreter({:?})", self.view)
    }
}

impl<'d, 'a> Interpreter<'d, 'a> {
    /// `forms`: interpret form XObjects' content; `lenient`: a syntax error in a
    /// content stream ends that stream, keeping what was found.
    pub(crate) fn new(view: View<'d, 'a>, forms: bool, lenient: bool) -> Self {
        Self {
            view,
            fonts: HashMap::new(),
            steps: 0,
            runs: 0,
            forms,
            lenient,
            fallback: Rc::new(FontInfo::fallback()),
        }
    }

    /// Interpret the content of `page`. `lenient` pages skip content streams that
    /// cannot be decoded; strict ones fail.
    pub(crate) fn page(&mut self, page: ObjRef, sink: &mut dyn Sink) -> Result<End, PdfError> {
        self.steps = 0;
        let view = &self.view;
        let media = page_box(view, page)?.unwrap_or([0.0, 0.0, 612.0, 792.0]);
        let resources = match inherited(view, page, b"Resources")? {
            Some(r) => view.resolve(&r)?.as_dict().cloned().unwrap_or_default(),
            None => Dict::default(),
        };
        let Some(l) = view.load(page)? else {
            return Ok(End::Complete);
        };
        let Some(pd) = l.object.as_dict() else {
            return Ok(End::Complete);
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
            match view.doc.decode(s) {
                Ok(d) => data.extend_from_slice(&d),
                // A damaged stream contributes nothing rather than failing the page.
                Err(_) if self.lenient => {}
                Err(e) => return Err(e),
            }
            data.push(b'\n');
            if data.len() > view.doc.limits.max_decoded_stream {
                return Err(PdfError::Limit {
                    what: "decoded page content",
                    max: view.doc.limits.max_decoded_stream,
                });
            }
        }
        let state = State {
            ctm: IDENTITY,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            font: None,
            font_size: 0.0,
        };
        self.run(&data, &resources, state, 0, &media, sink)
    }

    fn font(
        &mut self,
        resources: &Dict,
        run: usize,
        name: &[u8],
    ) -> Result<Option<Rc<FontInfo>>, PdfError> {
        let view = &self.view;
        let fonts = view.get(resources, b"Font")?;
        let Some(entry) = fonts.as_dict().and_then(|f| f.get(name)) else {
            return Ok(None);
        };
        let key = match entry.as_ref() {
            Some(r) => FontKey::Object(r),
            None => FontKey::Direct(run, name.to_vec()),
        };
        if let Some(f) = self.fonts.get(&key) {
            return Ok(f.clone());
        }
        if self.fonts.len() >= MAX_FONTS {
            return Ok(None);
        }
        let font = view.resolve(entry)?;
        let info = match font.as_dict() {
            Some(d) => Some(Rc::new(load_font(view, d)?)),
            None => None,
        };
        self.fonts.insert(key, info.clone());
        Ok(info)
    }

    fn run(
        &mut self,
        content: &[u8],
        resources: &Dict,
        mut state: State,
        depth: usize,
        media: &Box4,
        sink: &mut dyn Sink,
    ) -> Result<End, PdfError> {
        let view = &self.view;
        let limits = view.doc.limits;
        self.runs += 1;
        let run = self.runs;
        let mut stack: Vec<State> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut path: Option<Box4> = None;
        let mut operands: Vec<Object> = Vec::new();
        let mut p = Parser::new(content, 0, limits);
        let num = |ops: &[Object], i: usize| ops.get(i).and_then(Object::as_number).unwrap_or(0.0);
        let extend = |path: &mut Option<Box4>, (x, y): (f64, f64)| {
            let b = path.get_or_insert([x, y, x, y]);
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        };
        loop {
            let item = match p.content_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                // Keep what was found so far.
                Err(_) if self.lenient => break,
                Err(e) => return Err(e),
            };
            self.steps += 1;
            if self.steps > limits.max_content_operations || sink.full() {
                return Ok(End::Limit);
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
                b"q" if stack.len() < MAX_STATE_STACK => stack.push(state.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        state = s;
                    }
                }
                b"cm" if ops.len() >= 6 => {
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
                b"Tc" => state.char_spacing = num(&ops, 0),
                b"Tw" => state.word_spacing = num(&ops, 0),
                b"Tz" => state.scale = num(&ops, 0) / 100.0,
                b"TL" => state.leading = num(&ops, 0),
                b"Ts" => state.rise = num(&ops, 0),
                b"Tf" => {
                    if let Some(Object::Name(name)) = ops.first() {
                        state.font = self.font(resources, run, name)?;
                    }
                    state.font_size = num(&ops, 1);
                }
                b"Td" | b"TD" => {
                    if op == b"TD" {
                        state.leading = -num(&ops, 1);
                    }
                    tlm = concat(&[1.0, 0.0, 0.0, 1.0, num(&ops, 0), num(&ops, 1)], &tlm);
                    tm = tlm;
                }
                b"Tm" if ops.len() >= 6 => {
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
                    if op == b"\"" {
                        state.word_spacing = num(&ops, 0);
                        state.char_spacing = num(&ops, 1);
                    }
                    if op == b"'" || op == b"\"" {
                        tlm = concat(&[1.0, 0.0, 0.0, 1.0, 0.0, -state.leading], &tlm);
                        tm = tlm;
                    }
                    match ops.last() {
                        Some(Object::String(s)) => self.show(&state, &mut tm, &s.bytes, sink),
                        Some(Object::Array(items)) if op == b"TJ" => {
                            for item in items {
                                match item {
                                    Object::String(s) => {
                                        self.show(&state, &mut tm, &s.bytes, sink);
                                    }
                                    other => {
                                        let adj = other.as_number().unwrap_or(0.0);
                                        let tx = -adj / 1000.0 * state.font_size * state.scale;
                                        tm = concat(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                                    }
                                }
                            }
                        }
                        _ => {}
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
                        sink.paint(b);
                    }
                }
                b"n" => path = None,
                b"Do" => {
                    let Some(Object::Name(name)) = ops.first() else {
                        continue;
                    };
                    if self.xobject(resources, name, &state, depth, media, sink)? == End::Limit {
                        return Ok(End::Limit);
                    }
                }
                b"EI" => sink.paint(bbox_of(&state.ctm, &[0.0, 0.0, 1.0, 1.0])),
                b"sh" => sink.paint(*media),
                _ => {}
            }
        }
        Ok(End::Complete)
    }

    /// `Do`: an image paints the unit square, a form its bounding box, and a form's
    /// content is interpreted when the interpreter reads forms.
    fn xobject(
        &mut self,
        resources: &Dict,
        name: &[u8],
        state: &State,
        depth: usize,
        media: &Box4,
        sink: &mut dyn Sink,
    ) -> Result<End, PdfError> {
        let view = &self.view;
        let xobjects = view.get(resources, b"XObject")?;
        let Some(xobjects) = xobjects.as_dict() else {
            return Ok(End::Complete);
        };
        let x = view.get(xobjects, name)?;
        let Some(xd) = x.as_dict() else {
            return Ok(End::Complete);
        };
        if xd.name(b"Subtype") != Some(b"Form") {
            sink.paint(bbox_of(&state.ctm, &[0.0, 0.0, 1.0, 1.0]));
            return Ok(End::Complete);
        }
        let numbers = |o: &Object| -> Vec<f64> {
            o.as_array()
                .map(|a| a.iter().filter_map(Object::as_number).collect())
                .unwrap_or_default()
        };
        let bb = numbers(&*view.get(xd, b"BBox")?);
        let mv = numbers(&*view.get(xd, b"Matrix")?);
        let matrix = if mv.len() == 6 {
            [mv[0], mv[1], mv[2], mv[3], mv[4], mv[5]]
        } else {
            IDENTITY
        };
        let bbox = if bb.len() == 4 {
            [
                bb[0].min(bb[2]),
                bb[1].min(bb[3]),
                bb[0].max(bb[2]),
                bb[1].max(bb[3]),
            ]
        } else {
            *media
        };
        let ctm = concat(&matrix, &state.ctm);
        sink.paint(bbox_of(&ctm, &bbox));
        if !self.forms || depth >= MAX_FORM_DEPTH {
            return Ok(End::Complete);
        }
        let Object::Stream(s) = &*x else {
            return Ok(End::Complete);
        };
        let Ok(data) = view.doc.decode(s) else {
            return Ok(End::Complete);
        };
        let own = match xd.get(b"Resources") {
            Some(r) => view.resolve(r)?.as_dict().cloned().unwrap_or_default(),
            None => resources.clone(),
        };
        let mut inner = state.clone();
        inner.ctm = ctm;
        self.run(&data, &own, inner, depth + 1, media, sink)
    }

    /// Show a string: one glyph per character code, advancing the text matrix; the
    /// string's box goes to the sink too.
    fn show(&self, state: &State, tm: &mut Matrix, bytes: &[u8], sink: &mut dyn Sink) {
        let font = state.font.as_ref().unwrap_or(&self.fallback);
        let known = state.font.is_some();
        let fs = state.font_size;
        let th = state.scale;
        let start = concat(tm, &state.ctm);
        let mut advance = 0.0;
        for (code, len) in font.codes(bytes) {
            let w0 = font.width(code) / 1000.0;
            if known {
                let m = concat(tm, &state.ctm);
                let (x0, y) = apply(&m, 0.0, state.rise);
                let (x1, _) = apply(&m, w0 * fs * th, state.rise);
                let size = fs * (m[2] * m[2] + m[3] * m[3]).sqrt();
                sink.glyph(Glyph {
                    text: font.text(code, len),
                    x0: x0.min(x1),
                    x1: x0.max(x1),
                    y,
                    size: size.abs(),
                });
            }
            let word = if len == 1 && code == 32 {
                state.word_spacing
            } else {
                0.0
            };
            let tx = (w0 * fs + state.char_spacing + word) * th;
            advance += tx;
            *tm = concat(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], tm);
        }
        if advance.abs() > 0.0 && fs.abs() > 0.0 {
            sink.text(bbox_of(
                &start,
                &[
                    0.0,
                    -DESCENT * fs + state.rise,
                    advance,
                    ASCENT * fs + state.rise,
                ],
            ));
        }
    }
}

fn load_font(view: &View<'_, '_>, font: &Dict) -> Result<FontInfo, PdfError> {
    let mut info = FontInfo {
        default_width: 500.0,
        ..FontInfo::default()
    };
    if font.name(b"Subtype") == Some(b"Type0") {
        info.two_byte = true;
        info.default_width = 1000.0;
        let desc = view.get(font, b"DescendantFonts")?;
        if let Some(first) = desc.as_array().and_then(|a| a.first()) {
            let cid = view.resolve(first)?;
            if let Some(cid) = cid.as_dict() {
                if let Some(dw) = view.get(cid, b"DW")?.as_number() {
                    info.default_width = dw;
                }
                let w = view.get(cid, b"W")?;
                if let Some(a) = w.as_array() {
                    info.cid_widths = cid_widths(view, a)?;
                }
            }
        }
    } else {
        let first = font.int(b"FirstChar").unwrap_or(0).clamp(0, 255) as u32;
        let w = view.get(font, b"Widths")?;
        if let Some(a) = w.as_array() {
            let mut widths = Vec::with_capacity(a.len().min(256));
            for v in a.iter().take(256) {
                widths.push(view.resolve(v)?.as_number().unwrap_or(0.0));
            }
            info.simple_widths = Some((first, widths));
        }
        let fd = view.get(font, b"FontDescriptor")?;
        if let Some(fd) = fd.as_dict()
            && let Some(mw) = view.get(fd, b"MissingWidth")?.as_number()
        {
            info.default_width = mw;
        }
    }
    let tu = view.get(font, b"ToUnicode")?;
    if let Object::Stream(s) = &*tu
        && let Ok(data) = view.doc.decode(s)
    {
        let (map, lengths) = parse_to_unicode(&data, view.doc.limits);
        info.to_unicode = map;
        info.code_lengths = lengths;
    }
    Ok(info)
}

fn cid_widths(view: &View<'_, '_>, a: &[Object]) -> Result<HashMap<u32, f64>, PdfError> {
    let mut out = HashMap::new();
    let mut i = 0;
    while i < a.len() {
        let Some(first) = a[i]
            .as_number()
            .filter(|v| *v >= 0.0 && *v <= f64::from(u32::MAX))
        else {
            break;
        };
        let first = first as u32;
        match a.get(i + 1).map(|o| view.resolve(o)).transpose()? {
            Some(list) if list.as_array().is_some() => {
                for (k, w) in list.as_array().unwrap_or_default().iter().enumerate() {
                    out.insert(first.saturating_add(k as u32), w.as_number().unwrap_or(0.0));
                    if out.len() > MAX_CMAP_ENTRIES {
                        return Ok(out);
                    }
                }
                i += 2;
            }
            Some(last) => {
                let last = last
                    .as_number()
                    .map_or(first, |l| l.clamp(0.0, f64::from(u32::MAX)) as u32)
                    .clamp(first, first.saturating_add(65535));
                let w = a.get(i + 2).and_then(Object::as_number).unwrap_or(0.0);
                for c in first..=last {
                    out.insert(c, w);
                }
                if out.len() > MAX_CMAP_ENTRIES {
                    return Ok(out);
                }
                i += 3;
            }
            None => break,
        }
    }
    Ok(out)
}

/// Parse a ToUnicode CMap: `(code length, code) → text`, and the code lengths seen.
fn parse_to_unicode(
    data: &[u8],
    limits: &crate::verify::Limits,
) -> (HashMap<(u8, u32), String>, Vec<u8>) {
    let mut map = HashMap::new();
    let mut lengths: Vec<u8> = Vec::new();
    let mut p = Parser::new(data, 0, limits);
    let mut operands: Vec<Object> = Vec::new();
    let code = |b: &[u8]| b.iter().fold(0u32, |acc, &x| acc << 8 | u32::from(x));
    let utf16 = |b: &[u8]| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    let bytes = |o: &Object| match o {
        Object::String(s) => Some(s.bytes.clone()),
        _ => None,
    };
    let note_len = |len: usize, lengths: &mut Vec<u8>| {
        let l = len.clamp(1, 4) as u8;
        if !lengths.contains(&l) {
            lengths.push(l);
        }
    };
    while let Ok(Some(item)) = p.content_item() {
        match item {
            ContentItem::Operator(b"endbfchar") => {
                for pair in operands.chunks(2) {
                    if let [src, dst] = pair
                        && let (Some(s), Some(d)) = (bytes(src), bytes(dst))
                        && !s.is_empty()
                        && s.len() <= 4
                    {
                        note_len(s.len(), &mut lengths);
                        map.insert((s.len() as u8, code(&s)), utf16(&d));
                    }
                }
                operands.clear();
            }
            ContentItem::Operator(b"endbfrange") => {
                for triple in operands.chunks(3) {
                    let [lo, hi, dst] = triple else { continue };
                    let (Some(lo), Some(hi)) = (bytes(lo), bytes(hi)) else {
                        continue;
                    };
                    if lo.is_empty() || lo.len() > 4 || lo.len() != hi.len() {
                        continue;
                    }
                    note_len(lo.len(), &mut lengths);
                    let (l, h) = (code(&lo), code(&hi));
                    if h < l || h - l > 65535 {
                        continue;
                    }
                    for (k, c) in (l..=h).enumerate() {
                        if map.len() >= MAX_CMAP_ENTRIES {
                            return (map, lengths);
                        }
                        let text = match dst {
                            Object::Array(items) => match items.get(k).and_then(bytes) {
                                Some(d) => utf16(&d),
                                None => continue,
                            },
                            Object::String(s) if !s.bytes.is_empty() => {
                                let mut d = s.bytes.clone();
                                // Increment the last UTF-16 unit.
                                let n = d.len();
                                let last = if n >= 2 {
                                    u16::from_be_bytes([d[n - 2], d[n - 1]])
                                } else {
                                    u16::from(d[0])
                                };
                                let next = last.wrapping_add(k as u16);
                                if n >= 2 {
                                    d[n - 2..].copy_from_slice(&next.to_be_bytes());
                                } else {
                                    d = next.to_be_bytes().to_vec();
                                }
                                utf16(&d)
                            }
                            _ => continue,
                        };
                        map.insert((lo.len() as u8, c), text);
                    }
                }
                operands.clear();
            }
            ContentItem::Operator(b"endcodespacerange") => {
                for pair in operands.chunks(2) {
                    if let Some(s) = bytes(&pair[0]) {
                        note_len(s.len(), &mut lengths);
                    }
                }
                operands.clear();
            }
            ContentItem::Operator(_) => operands.clear(),
            ContentItem::Operand(o @ (Object::String(_) | Object::Array(_) | Object::Int(_))) => {
                operands.push(o);
            }
            ContentItem::Operand(_) => {}
        }
        if operands.len() > 3 * 10_000 {
            operands.clear();
        }
    }
    (map, lengths)
}

/// A page's crop box (else media box), inherited.
pub(crate) fn page_box(view: &View<'_, '_>, page: ObjRef) -> Result<Option<Box4>, PdfError> {
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
pub(crate) fn inherited(
    view: &View<'_, '_>,
    page: ObjRef,
    key: &[u8],
) -> Result<Option<Object>, PdfError> {
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
    fn cmap_bfchar_and_bfrange() {
        let cmap = b"1 begincodespacerange <00> <FF> endcodespacerange\n\
            2 beginbfchar <01> <0110> <02> <1EC5> endbfchar\n\
            1 beginbfrange <41> <43> <0041> endbfrange\n\
            1 beginbfrange <50> <51> [<0058> <00590301>] endbfrange";
        let (map, lengths) = parse_to_unicode(cmap, &crate::verify::Limits::default());
        assert_eq!(lengths, vec![1]);
        assert_eq!(map[&(1, 1)], "Đ");
        assert_eq!(map[&(1, 2)], "ễ");
        assert_eq!(map[&(1, 0x43)], "C");
        assert_eq!(map[&(1, 0x51)], "Y\u{301}");
    }

    #[test]
    fn garbage_cmaps_do_not_panic() {
        for g in [
            &b"beginbfrange <> <> <> endbfrange"[..],
            b"beginbfchar <01> endbfchar",
            b"beginbfrange <0000> <FFFF> <00> endbfrange",
            b"[[[[",
        ] {
            let _ = parse_to_unicode(g, &crate::verify::Limits::default());
        }
    }
}
