//! A small content-stream text extractor (ISO 32000-1 §9.4): interprets the text
//! operators (`BT ET Tf Tm Td TD T* TL Tc Tw Tz Ts Tj TJ ' "`), the graphics state
//! (`q Q cm`) and form XObjects (`Do`), decodes strings with each font's `/ToUnicode`
//! CMap and widths, and returns positioned glyphs in default user space.
//!
//! Good enough to find a line of text (a signer's name, an authority line) in
//! documents from ReportLab, LibreOffice and similar producers; not a general layout
//! engine (no vertical writing, Type3 font matrices are ignored).

use std::collections::HashMap;
use std::rc::Rc;

use super::SignError;
use super::object::{Dict, Lexer, ObjRef, Object, Token, find, is_whitespace};
use super::reader::{Document, MAX_DECODED_STREAM};

/// Most operators interpreted per page (all content streams and forms together).
const MAX_OPERATIONS: usize = 5_000_000;
/// Most glyphs collected per page.
const MAX_GLYPHS: usize = 1_000_000;
/// Deepest form XObject nesting.
const MAX_FORM_DEPTH: usize = 8;
/// Most entries in one ToUnicode CMap.
const MAX_CMAP_ENTRIES: usize = 200_000;

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

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// What the extractor knows about a font.
#[derive(Debug, Default)]
struct FontInfo {
    two_byte: bool,
    to_unicode: HashMap<(u8, u32), String>,
    code_lengths: Vec<u8>,
    simple_widths: Option<(u32, Vec<f64>)>,
    cid_widths: HashMap<u32, f64>,
    default_width: f64,
}

impl FontInfo {
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

/// Extracts glyphs from pages of one document.
#[derive(Debug)]
pub(crate) struct Extractor<'d, 'a> {
    doc: &'d Document<'a>,
    fonts: HashMap<ObjRef, Rc<FontInfo>>,
    operations: usize,
}

impl<'d, 'a> Extractor<'d, 'a> {
    pub(crate) fn new(doc: &'d Document<'a>) -> Self {
        Self {
            doc,
            fonts: HashMap::new(),
            operations: 0,
        }
    }

    /// Every glyph drawn on `page`.
    pub(crate) fn page_glyphs(&mut self, page: ObjRef) -> Result<Vec<Glyph>, SignError> {
        self.operations = 0;
        let resources = self
            .doc
            .page_attr(page, b"Resources")?
            .and_then(|r| r.as_dict().cloned())
            .unwrap_or_default();
        let page_obj = self.doc.get(page)?;
        let contents = page_obj
            .as_dict()
            .and_then(|d| d.get(b"Contents"))
            .cloned()
            .unwrap_or(Object::Null);
        let mut content = Vec::new();
        let parts: Vec<Object> = match &*self.doc.resolve(&contents)? {
            Object::Array(a) => a.clone(),
            _ => vec![contents.clone()],
        };
        for part in parts {
            if let Object::Stream(s) = &*self.doc.resolve(&part)? {
                // A damaged stream contributes nothing rather than failing the page.
                if let Ok(data) = self.doc.decode_stream(s) {
                    content.extend_from_slice(&data);
                    content.push(b'\n');
                }
            }
            if content.len() > MAX_DECODED_STREAM {
                return Err(SignError::Limit("page content too large".into()));
            }
        }
        let mut out = Vec::new();
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
        self.run(&content, &resources, state, 0, &mut out)?;
        Ok(out)
    }

    fn font(&mut self, resources: &Dict, name: &[u8]) -> Result<Option<Rc<FontInfo>>, SignError> {
        let Some(fonts) = resources.get(b"Font") else {
            return Ok(None);
        };
        let Some(fonts) = self.doc.dict(fonts)? else {
            return Ok(None);
        };
        let Some(entry) = fonts.get(name) else {
            return Ok(None);
        };
        let key = entry.as_ref();
        if let Some(k) = key
            && let Some(f) = self.fonts.get(&k)
        {
            return Ok(Some(f.clone()));
        }
        let Some(dict) = self.doc.dict(entry)? else {
            return Ok(None);
        };
        let info = Rc::new(self.load_font(&dict)?);
        if let Some(k) = key {
            self.fonts.insert(k, info.clone());
        }
        Ok(Some(info))
    }

    fn load_font(&self, font: &Dict) -> Result<FontInfo, SignError> {
        let mut info = FontInfo {
            default_width: 500.0,
            ..FontInfo::default()
        };
        let subtype = font.name(b"Subtype").unwrap_or_default();
        if subtype == b"Type0" {
            info.two_byte = true;
            info.default_width = 1000.0;
            if let Some(desc) = font
                .get(b"DescendantFonts")
                .map(|d| self.doc.resolve(d))
                .transpose()?
                && let Some(first) = desc.as_array().and_then(|a| a.first())
                && let Some(cid) = self.doc.dict(first)?
            {
                if let Some(dw) = cid.get(b"DW").and_then(Object::as_f64) {
                    info.default_width = dw;
                }
                if let Some(w) = cid.get(b"W") {
                    let w = self.doc.resolve(w)?;
                    if let Some(a) = w.as_array() {
                        info.cid_widths = self.cid_widths(a)?;
                    }
                }
            }
        } else {
            let first = font
                .get(b"FirstChar")
                .and_then(Object::as_i64)
                .unwrap_or(0)
                .clamp(0, 255) as u32;
            if let Some(w) = font.get(b"Widths") {
                let w = self.doc.resolve(w)?;
                if let Some(a) = w.as_array() {
                    let mut widths = Vec::with_capacity(a.len().min(256));
                    for v in a.iter().take(256) {
                        widths.push(self.doc.resolve(v)?.as_f64().unwrap_or(0.0));
                    }
                    info.simple_widths = Some((first, widths));
                }
            }
            if let Some(fd) = font.get(b"FontDescriptor")
                && let Some(fd) = self.doc.dict(fd)?
                && let Some(mw) = fd.get(b"MissingWidth").and_then(Object::as_f64)
            {
                info.default_width = mw;
            }
        }
        if let Some(tu) = font.get(b"ToUnicode")
            && let Object::Stream(s) = &*self.doc.resolve(tu)?
            && let Ok(data) = self.doc.decode_stream(s)
        {
            let (map, lengths) = parse_to_unicode(&data);
            info.to_unicode = map;
            info.code_lengths = lengths;
        }
        Ok(info)
    }

    fn cid_widths(&self, a: &[Object]) -> Result<HashMap<u32, f64>, SignError> {
        let mut out = HashMap::new();
        let mut i = 0;
        while i < a.len() {
            let Some(first) = a[i].as_i64().filter(|v| *v >= 0) else {
                break;
            };
            match a.get(i + 1).map(|o| self.doc.resolve(o)).transpose()? {
                Some(list) if list.as_array().is_some() => {
                    for (k, w) in list.as_array().unwrap_or_default().iter().enumerate() {
                        out.insert(first as u32 + k as u32, w.as_f64().unwrap_or(0.0));
                        if out.len() > MAX_CMAP_ENTRIES {
                            return Ok(out);
                        }
                    }
                    i += 2;
                }
                Some(last) => {
                    let last = last.as_i64().unwrap_or(first).clamp(first, first + 65535);
                    let w = a.get(i + 2).and_then(Object::as_f64).unwrap_or(0.0);
                    for c in first..=last {
                        out.insert(c as u32, w);
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

    fn run(
        &mut self,
        content: &[u8],
        resources: &Dict,
        mut state: State,
        depth: usize,
        out: &mut Vec<Glyph>,
    ) -> Result<(), SignError> {
        let mut stack: Vec<State> = Vec::new();
        let mut operands: Vec<Object> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut lx = Lexer::new(content, 0);
        // Until the end of the stream, or a syntax error: keep what was found so far.
        while let Ok(Some(tok)) = lx.next_token() {
            let op: &[u8] = match tok {
                Token::Keyword(k) if !matches!(k, b"true" | b"false" | b"null") => k,
                other => {
                    // An operand: re-parse it as an object from its token.
                    let obj = match other {
                        Token::Int(i) => Object::Int(i),
                        Token::Real(r) => Object::Real(r),
                        Token::Name(n) => Object::Name(n),
                        Token::String { bytes, hex } => Object::String { bytes, hex },
                        Token::ArrayStart => {
                            lx.pos -= 1;
                            match lx.parse_object() {
                                Ok(o) => o,
                                Err(_) => break,
                            }
                        }
                        Token::DictStart => match lx.dict_body(1) {
                            Ok(d) => Object::Dict(d),
                            Err(_) => break,
                        },
                        _ => Object::Null,
                    };
                    if operands.len() < 64 {
                        operands.push(obj);
                    }
                    continue;
                }
            };
            self.operations += 1;
            if self.operations > MAX_OPERATIONS || out.len() > MAX_GLYPHS {
                return Err(SignError::Limit(
                    "page content has too many operations".into(),
                ));
            }
            let num = |i: usize| operands.get(i).and_then(Object::as_f64).unwrap_or(0.0);
            match op {
                b"q" if stack.len() < 256 => stack.push(state.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        state = s;
                    }
                }
                b"cm" if operands.len() >= 6 => {
                    let m = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    state.ctm = mul(&m, &state.ctm);
                }
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tc" => state.char_spacing = num(0),
                b"Tw" => state.word_spacing = num(0),
                b"Tz" => state.scale = num(0) / 100.0,
                b"TL" => state.leading = num(0),
                b"Ts" => state.rise = num(0),
                b"Tf" => {
                    if let Some(name) = operands.first().and_then(Object::as_name) {
                        let name = name.to_vec();
                        state.font = self.font(resources, &name)?;
                    }
                    state.font_size = num(1);
                }
                b"Td" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, num(0), num(1)], &tlm);
                    tm = tlm;
                }
                b"TD" => {
                    state.leading = -num(1);
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, num(0), num(1)], &tlm);
                    tm = tlm;
                }
                b"Tm" if operands.len() >= 6 => {
                    tlm = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    tm = tlm;
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -state.leading], &tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(s) = operands.first().and_then(Object::as_bytes) {
                        let s = s.to_vec();
                        show(&state, &mut tm, &s, out);
                    }
                }
                b"'" | b"\"" => {
                    let idx = if op == b"\"" {
                        state.word_spacing = num(0);
                        state.char_spacing = num(1);
                        2
                    } else {
                        0
                    };
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -state.leading], &tlm);
                    tm = tlm;
                    if let Some(s) = operands.get(idx).and_then(Object::as_bytes) {
                        let s = s.to_vec();
                        show(&state, &mut tm, &s, out);
                    }
                }
                b"TJ" => {
                    if let Some(items) = operands.first().and_then(Object::as_array) {
                        let items = items.to_vec();
                        for item in items {
                            match item {
                                Object::String { bytes, .. } => show(&state, &mut tm, &bytes, out),
                                other => {
                                    let adj = other.as_f64().unwrap_or(0.0);
                                    let tx = -adj / 1000.0 * state.font_size * state.scale;
                                    tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                                }
                            }
                        }
                    }
                }
                b"Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(name) = operands.first().and_then(Object::as_name) {
                        let name = name.to_vec();
                        self.form(resources, &name, &state, depth, out)?;
                    }
                }
                b"BI" => {
                    // Inline image: skip to after `EI`.
                    let Some(id) = find(content, b"ID", lx.pos) else {
                        break;
                    };
                    let mut p = id + 3;
                    let end = loop {
                        match find(content, b"EI", p) {
                            Some(e)
                                if e > 0
                                    && is_whitespace(content[e - 1])
                                    && content.get(e + 2).is_none_or(|&b| is_whitespace(b)) =>
                            {
                                break Some(e + 2);
                            }
                            Some(e) => p = e + 2,
                            None => break None,
                        }
                    };
                    match end {
                        Some(e) => lx.pos = e,
                        None => break,
                    }
                }
                _ => {}
            }
            operands.clear();
        }
        Ok(())
    }

    fn form(
        &mut self,
        resources: &Dict,
        name: &[u8],
        state: &State,
        depth: usize,
        out: &mut Vec<Glyph>,
    ) -> Result<(), SignError> {
        let Some(xobjects) = resources.get(b"XObject") else {
            return Ok(());
        };
        let Some(xobjects) = self.doc.dict(xobjects)? else {
            return Ok(());
        };
        let Some(entry) = xobjects.get(name) else {
            return Ok(());
        };
        let obj = self.doc.resolve(entry)?;
        let Object::Stream(s) = &*obj else {
            return Ok(());
        };
        if s.dict.name(b"Subtype") != Some(b"Form") {
            return Ok(());
        }
        let Ok(data) = self.doc.decode_stream(s) else {
            return Ok(());
        };
        let matrix = s
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .filter(|a| a.len() == 6)
            .map(|a| {
                let v: Vec<f64> = a.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect();
                [v[0], v[1], v[2], v[3], v[4], v[5]]
            })
            .unwrap_or(IDENTITY);
        let own = match s.dict.get(b"Resources") {
            Some(r) => self.doc.dict(r)?.unwrap_or_default(),
            None => resources.clone(),
        };
        let mut inner = state.clone();
        inner.ctm = mul(&matrix, &state.ctm);
        self.run(&data, &own, inner, depth + 1, out)
    }
}

/// Show a string: one glyph per character code, advancing the text matrix.
fn show(state: &State, tm: &mut Matrix, bytes: &[u8], out: &mut Vec<Glyph>) {
    let Some(font) = &state.font else {
        return;
    };
    let fs = state.font_size;
    let th = state.scale;
    for (code, len) in font.codes(bytes) {
        let w0 = font.width(code) / 1000.0;
        let m = mul(tm, &state.ctm);
        let (x0, y) = apply(&m, 0.0, state.rise);
        let (x1, _) = apply(&m, w0 * fs * th, state.rise);
        let size = fs * (m[2] * m[2] + m[3] * m[3]).sqrt();
        if out.len() < MAX_GLYPHS {
            out.push(Glyph {
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
        *tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], tm);
    }
}

/// Parse a ToUnicode CMap: `(code length, code) → text`, and the code lengths seen.
fn parse_to_unicode(data: &[u8]) -> (HashMap<(u8, u32), String>, Vec<u8>) {
    let mut map = HashMap::new();
    let mut lengths: Vec<u8> = Vec::new();
    let mut lx = Lexer::new(data, 0);
    let mut operands: Vec<Object> = Vec::new();
    let code = |b: &[u8]| b.iter().fold(0u32, |acc, &x| acc << 8 | u32::from(x));
    let utf16 = |b: &[u8]| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    let note_len = |len: usize, lengths: &mut Vec<u8>| {
        let l = len.clamp(1, 4) as u8;
        if !lengths.contains(&l) {
            lengths.push(l);
        }
    };
    while let Ok(Some(tok)) = lx.next_token() {
        match tok {
            Token::Keyword(b"endbfchar") => {
                for pair in operands.chunks(2) {
                    if let [src, dst] = pair
                        && let (Some(s), Some(d)) = (src.as_bytes(), dst.as_bytes())
                        && !s.is_empty()
                        && s.len() <= 4
                    {
                        note_len(s.len(), &mut lengths);
                        map.insert((s.len() as u8, code(s)), utf16(d));
                    }
                }
                operands.clear();
            }
            Token::Keyword(b"endbfrange") => {
                for triple in operands.chunks(3) {
                    let [lo, hi, dst] = triple else { continue };
                    let (Some(lo), Some(hi)) = (lo.as_bytes(), hi.as_bytes()) else {
                        continue;
                    };
                    if lo.is_empty() || lo.len() > 4 || lo.len() != hi.len() {
                        continue;
                    }
                    note_len(lo.len(), &mut lengths);
                    let (l, h) = (code(lo), code(hi));
                    if h < l || h - l > 65535 {
                        continue;
                    }
                    for (k, c) in (l..=h).enumerate() {
                        if map.len() >= MAX_CMAP_ENTRIES {
                            return (map, lengths);
                        }
                        let text = match dst {
                            Object::Array(items) => match items.get(k).and_then(Object::as_bytes) {
                                Some(d) => utf16(d),
                                None => continue,
                            },
                            Object::String { bytes, .. } if !bytes.is_empty() => {
                                let mut d = bytes.clone();
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
            Token::Keyword(b"endcodespacerange") => {
                for pair in operands.chunks(2) {
                    if let Some(s) = pair[0].as_bytes() {
                        note_len(s.len(), &mut lengths);
                    }
                }
                operands.clear();
            }
            Token::Keyword(_) => operands.clear(),
            Token::String { bytes, hex } => operands.push(Object::String { bytes, hex }),
            Token::ArrayStart => {
                lx.pos -= 1;
                match lx.parse_object() {
                    Ok(o) => operands.push(o),
                    Err(_) => break,
                }
            }
            Token::Int(i) => operands.push(Object::Int(i)),
            _ => {}
        }
        if operands.len() > 3 * 10_000 {
            operands.clear();
        }
    }
    (map, lengths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmap_bfchar_and_bfrange() {
        let cmap = b"1 begincodespacerange <00> <FF> endcodespacerange\n\
            2 beginbfchar <01> <0110> <02> <1EC5> endbfchar\n\
            1 beginbfrange <41> <43> <0041> endbfrange\n\
            1 beginbfrange <50> <51> [<0058> <00590301>] endbfrange";
        let (map, lengths) = parse_to_unicode(cmap);
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
            let _ = parse_to_unicode(g);
        }
    }
}
