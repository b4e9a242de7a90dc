//! PDF objects (ISO 32000-1 §7.3) as the signer writes them: a small owned model and a
//! serializer. Reading goes through the verifier's parser (`super::reader` converts its
//! objects to these).

use std::fmt::Write as _;

/// An indirect reference `num gen R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ObjRef {
    pub(crate) num: u32,
    pub(crate) generation: u16,
}

impl ObjRef {
    pub(crate) fn new(num: u32, generation: u16) -> Self {
        Self { num, generation }
    }
}

/// A PDF object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    /// A name, without the slash, `#xx` escapes decoded.
    Name(Vec<u8>),
    /// A string's bytes (escapes decoded); `hex` says how it was written.
    String {
        bytes: Vec<u8>,
        hex: bool,
    },
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
    Stream(Stream),
    /// Writer-only: the `/ByteRange` placeholder (fixed width, patched later).
    ByteRangePlaceholder,
    /// Writer-only: the `/Contents` placeholder, this many bytes of zeros in hex.
    ContentsPlaceholder(usize),
}

/// A stream: its dictionary and its raw (still encoded) data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stream {
    pub(crate) dict: Dict,
    pub(crate) data: Vec<u8>,
    /// For a stream read from the file: where its data starts (the reader decodes it).
    pub(crate) source: Option<usize>,
}

/// A dictionary, keeping key order (for stable output).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dict(pub(crate) Vec<(Vec<u8>, Object)>);

impl Dict {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set (replacing an existing entry in place).
    pub(crate) fn set(&mut self, key: &[u8], value: Object) {
        match self.get_mut(key) {
            Some(v) => *v = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    pub(crate) fn with(mut self, key: &[u8], value: Object) -> Self {
        self.set(key, value);
        self
    }

    pub(crate) fn name(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    pub(crate) fn is_type(&self, ty: &[u8]) -> bool {
        self.name(b"Type") == Some(ty)
    }
}

impl Object {
    pub(crate) fn name(n: &str) -> Self {
        Object::Name(n.as_bytes().to_vec())
    }

    pub(crate) fn literal(s: &[u8]) -> Self {
        Object::String {
            bytes: s.to_vec(),
            hex: false,
        }
    }

    /// A text string: PDFDocEncoding-safe ASCII as is, anything else UTF-16BE with BOM.
    pub(crate) fn text(s: &str) -> Self {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Object::literal(s.as_bytes());
        }
        let mut bytes = vec![0xfe, 0xff];
        for unit in s.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Object::String { bytes, hex: true }
    }

    pub(crate) fn rect(r: [f64; 4]) -> Self {
        Object::Array(r.iter().map(|v| Object::Real(*v)).collect())
    }

    pub(crate) fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            Object::Real(r) if r.is_finite() && r.fract() == 0.0 => Some(*r as i64),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) if r.is_finite() => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Object::String { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// Decode a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding
/// approximated as Latin-1).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

// ----------------------------------------------------------------------------------
// Writer
// ----------------------------------------------------------------------------------

/// Byte positions of placeholders within a written buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Marks {
    /// Start of the `[` of the `/ByteRange` placeholder and its length.
    pub(crate) byte_range: Option<(usize, usize)>,
    /// Start of the `<` of the `/Contents` placeholder and its end (after `>`).
    pub(crate) contents: Option<(usize, usize)>,
}

pub(crate) fn write_real(out: &mut Vec<u8>, v: f64) {
    let v = if v.is_finite() { v } else { 0.0 };
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(Bytes(out), "{}", v as i64);
        return;
    }
    let mut s = format!("{v:.4}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".into();
    }
    out.extend_from_slice(s.as_bytes());
}

/// `fmt::Write` into a byte vector.
pub(crate) struct Bytes<'a>(pub(crate) &'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub(crate) fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        if b > 0x20 && b < 0x7f && b != b'#' && !is_delimiter(b) {
            out.push(b);
        } else {
            let _ = write!(Bytes(out), "#{b:02X}");
        }
    }
}

fn write_string(out: &mut Vec<u8>, bytes: &[u8], hex: bool) {
    let printable = bytes.iter().all(|&b| (0x20..0x7f).contains(&b));
    if hex || !printable {
        out.push(b'<');
        for b in bytes {
            let _ = write!(Bytes(out), "{b:02X}");
        }
        out.push(b'>');
        return;
    }
    out.push(b'(');
    for &b in bytes {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
}

/// Serialize `obj`, recording placeholder positions (relative to `out`'s start).
pub(crate) fn write_object(out: &mut Vec<u8>, obj: &Object, marks: &mut Marks) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => {
            let _ = write!(Bytes(out), "{i}");
        }
        Object::Real(r) => write_real(out, *r),
        Object::Name(n) => write_name(out, n),
        Object::String { bytes, hex } => write_string(out, bytes, *hex),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, item, marks);
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(out, d, marks),
        Object::Ref(r) => {
            let _ = write!(Bytes(out), "{} {} R", r.num, r.generation);
        }
        Object::Stream(s) => {
            let mut dict = s.dict.clone();
            dict.set(b"Length", Object::Int(s.data.len() as i64));
            write_dict(out, &dict, marks);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&s.data);
            out.extend_from_slice(b"\nendstream");
        }
        Object::ByteRangePlaceholder => {
            let start = out.len();
            out.extend_from_slice(b"[0 ");
            for i in 0..3 {
                out.extend_from_slice(b"0000000000");
                if i < 2 {
                    out.push(b' ');
                }
            }
            out.extend_from_slice(&[b' '; 10]);
            out.push(b']');
            marks.byte_range = Some((start, out.len() - start));
        }
        Object::ContentsPlaceholder(n) => {
            let start = out.len();
            out.push(b'<');
            out.resize(out.len() + 2 * n, b'0');
            out.push(b'>');
            marks.contents = Some((start, out.len()));
        }
    }
}

fn write_dict(out: &mut Vec<u8>, d: &Dict, marks: &mut Marks) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(out, k);
        out.push(b' ');
        write_object(out, v, marks);
    }
    out.extend_from_slice(b">>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Object {
        let limits = crate::verify::Limits::default();
        let o = crate::pdf::objects::Parser::new(s.as_bytes(), 0, &limits)
            .object()
            .unwrap();
        super::super::reader::convert(s.as_bytes(), &o, &mut Default::default())
    }

    #[test]
    fn parses_and_round_trips() {
        let src =
            "<</Type/Page/Kids[1 0 R 2 0 R]/N -3.5/S(a\\(b\\)c)/H<0aFF>/E/A#20B/Z null/T true>>";
        let obj = parse(src);
        let d = obj.as_dict().unwrap();
        assert_eq!(d.name(b"Type"), Some(&b"Page"[..]));
        assert_eq!(
            d.get(b"Kids").unwrap().as_array().unwrap()[1],
            Object::Ref(ObjRef::new(2, 0))
        );
        assert_eq!(d.get(b"N").unwrap().as_f64(), Some(-3.5));
        assert_eq!(d.get(b"S").unwrap().as_bytes(), Some(&b"a(b)c"[..]));
        assert_eq!(d.get(b"H").unwrap().as_bytes(), Some(&[10u8, 255][..]));
        assert_eq!(d.name(b"E"), Some(&b"A B"[..]));
        let mut out = Vec::new();
        write_object(&mut out, &obj, &mut Marks::default());
        assert_eq!(parse(std::str::from_utf8(&out).unwrap()), obj);
    }

    #[test]
    fn reals_format_without_exponent() {
        let mut out = Vec::new();
        write_real(&mut out, 0.000_01);
        out.push(b' ');
        write_real(&mut out, 12.5);
        out.push(b' ');
        write_real(&mut out, -3.0);
        assert_eq!(out, b"0 12.5 -3");
    }
}
