//! PDF objects (ISO 32000-1 §7.3): a small owned model, a lexer/parser that never
//! panics (depth-limited, bounded by its input), and a serializer.
//!
//! Used for the few objects a signature touches and for content streams (operands and
//! operators come out of the same lexer).

use std::fmt::Write as _;

/// Deepest nesting of arrays and dictionaries accepted.
pub(crate) const MAX_DEPTH: usize = 64;

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

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
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

// ----------------------------------------------------------------------------------
// Lexer
// ----------------------------------------------------------------------------------

/// A syntax error at a byte position of the lexed buffer.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub(crate) pos: usize,
    pub(crate) what: &'static str,
}

pub(crate) type PResult<T> = Result<T, SyntaxError>;

/// Lexical tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token<'a> {
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    String {
        bytes: Vec<u8>,
        hex: bool,
    },
    ArrayStart,
    ArrayEnd,
    DictStart,
    DictEnd,
    /// A bare word: `true`, `R`, `obj`, an operator, …
    Keyword(&'a [u8]),
}

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A lexer over a byte buffer.
#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    fn err<T>(&self, what: &'static str) -> PResult<T> {
        Err(SyntaxError {
            pos: self.pos,
            what,
        })
    }

    /// Skip whitespace and comments.
    pub(crate) fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.data.get(self.pos) {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The next token, or `None` at the end of the buffer.
    pub(crate) fn next_token(&mut self) -> PResult<Option<Token<'a>>> {
        self.skip_ws();
        let Some(&b) = self.data.get(self.pos) else {
            return Ok(None);
        };
        match b {
            b'[' => {
                self.pos += 1;
                Ok(Some(Token::ArrayStart))
            }
            b']' => {
                self.pos += 1;
                Ok(Some(Token::ArrayEnd))
            }
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                Ok(Some(Token::DictStart))
            }
            b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                self.pos += 2;
                Ok(Some(Token::DictEnd))
            }
            b'<' => self.hex_string().map(Some),
            b'(' => self.literal_string().map(Some),
            b'/' => {
                self.pos += 1;
                Ok(Some(Token::Name(self.name_body())))
            }
            b'{' | b'}' => {
                // PostScript calculator braces (functions): a one-byte keyword.
                self.pos += 1;
                Ok(Some(Token::Keyword(&self.data[self.pos - 1..self.pos])))
            }
            b')' | b'>' => {
                self.pos += 1;
                self.err("unbalanced delimiter")
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => Ok(Some(self.number())),
            _ => {
                let start = self.pos;
                while self.data.get(self.pos).is_some_and(|&c| is_regular(c)) {
                    self.pos += 1;
                }
                Ok(Some(Token::Keyword(&self.data[start..self.pos])))
            }
        }
    }

    fn name_body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(&c) = self.data.get(self.pos) {
            if !is_regular(c) {
                break;
            }
            if c == b'#'
                && let (Some(h), Some(l)) = (
                    self.data.get(self.pos + 1).and_then(|&x| hex_val(x)),
                    self.data.get(self.pos + 2).and_then(|&x| hex_val(x)),
                )
            {
                out.push(h << 4 | l);
                self.pos += 3;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn number(&mut self) -> Token<'a> {
        let start = self.pos;
        while self
            .data
            .get(self.pos)
            .is_some_and(|&c| matches!(c, b'+' | b'-' | b'.' | b'0'..=b'9'))
        {
            self.pos += 1;
        }
        let text = &self.data[start..self.pos];
        // Lenient: "--5", "4.", ".5", "1.2.3" (take the longest valid prefix).
        let mut sign = 1.0;
        let mut i = 0;
        while i < text.len() && (text[i] == b'+' || text[i] == b'-') {
            if text[i] == b'-' {
                sign = -sign;
            }
            i += 1;
        }
        let body = &text[i..];
        let dot = body.iter().position(|&c| c == b'.');
        let int_part: &[u8];
        let frac_part: &[u8];
        match dot {
            None => {
                int_part = body
                    .split(|&c| c == b'+' || c == b'-')
                    .next()
                    .unwrap_or(&[]);
                frac_part = &[];
            }
            Some(d) => {
                int_part = &body[..d];
                let rest = &body[d + 1..];
                let end = rest
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                frac_part = &rest[..end];
            }
        }
        if dot.is_none() && int_part.iter().all(u8::is_ascii_digit) && int_part.len() <= 18 {
            let mut v: i64 = 0;
            for &c in int_part {
                v = v * 10 + i64::from(c - b'0');
            }
            return Token::Int(if sign < 0.0 { -v } else { v });
        }
        let mut v = 0.0f64;
        for &c in int_part.iter().take_while(|c| c.is_ascii_digit()) {
            v = v * 10.0 + f64::from(c - b'0');
        }
        let mut scale = 0.1;
        for &c in frac_part {
            v += f64::from(c - b'0') * scale;
            scale /= 10.0;
        }
        Token::Real(sign * v)
    }

    fn hex_string(&mut self) -> PResult<Token<'a>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let Some(&c) = self.data.get(self.pos) else {
                return self.err("unterminated hex string");
            };
            self.pos += 1;
            if c == b'>' {
                break;
            }
            if is_whitespace(c) {
                continue;
            }
            let Some(v) = hex_val(c) else {
                return self.err("bad character in hex string");
            };
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(Token::String {
            bytes: out,
            hex: true,
        })
    }

    fn literal_string(&mut self) -> PResult<Token<'a>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let Some(&c) = self.data.get(self.pos) else {
                return self.err("unterminated string");
            };
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        return self.err("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.data.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.data.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An end-of-line in a literal string reads as \n.
                    if self.data.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(c),
            }
        }
        Ok(Token::String {
            bytes: out,
            hex: false,
        })
    }

    /// Parse one direct object (references `n g R` included).
    pub(crate) fn parse_object(&mut self) -> PResult<Object> {
        let Some(tok) = self.next_token()? else {
            return self.err("unexpected end of data");
        };
        self.object_from(tok, 0)
    }

    fn object_from(&mut self, tok: Token<'a>, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        match tok {
            Token::Int(i) => {
                // `n g R`?
                if (0..=i64::from(u32::MAX)).contains(&i) {
                    let save = self.pos;
                    if let Ok(Some(Token::Int(g))) = self.next_token()
                        && (0..=65535).contains(&g)
                        && let Ok(Some(Token::Keyword(b"R"))) = self.next_token()
                    {
                        return Ok(Object::Ref(ObjRef::new(i as u32, g as u16)));
                    }
                    self.pos = save;
                }
                Ok(Object::Int(i))
            }
            Token::Real(r) => Ok(Object::Real(r)),
            Token::Name(n) => Ok(Object::Name(n)),
            Token::String { bytes, hex } => Ok(Object::String { bytes, hex }),
            Token::ArrayStart => {
                let mut items = Vec::new();
                loop {
                    match self.next_token()? {
                        None => return self.err("unterminated array"),
                        Some(Token::ArrayEnd) => break,
                        Some(t) => items.push(self.object_from(t, depth + 1)?),
                    }
                }
                Ok(Object::Array(items))
            }
            Token::DictStart => Ok(Object::Dict(self.dict_body(depth)?)),
            Token::Keyword(b"true") => Ok(Object::Bool(true)),
            Token::Keyword(b"false") => Ok(Object::Bool(false)),
            Token::Keyword(b"null") => Ok(Object::Null),
            Token::ArrayEnd | Token::DictEnd => self.err("unexpected closing delimiter"),
            Token::Keyword(_) => self.err("unexpected keyword"),
        }
    }

    /// The entries of a dictionary whose `<<` was consumed.
    pub(crate) fn dict_body(&mut self, depth: usize) -> PResult<Dict> {
        let mut dict = Dict::new();
        loop {
            match self.next_token()? {
                None => return self.err("unterminated dictionary"),
                Some(Token::DictEnd) => break,
                Some(Token::Name(key)) => {
                    let Some(tok) = self.next_token()? else {
                        return self.err("unterminated dictionary");
                    };
                    if tok == Token::DictEnd {
                        // A key without a value: tolerate as null.
                        break;
                    }
                    let value = self.object_from(tok, depth + 1)?;
                    // Later duplicates are ignored (first wins, as most readers do).
                    if dict.get(&key).is_none() {
                        dict.0.push((key, value));
                    }
                }
                Some(_) => return self.err("dictionary key is not a name"),
            }
        }
        Ok(dict)
    }

    /// Expect a keyword.
    pub(crate) fn expect_keyword(&mut self, kw: &[u8]) -> PResult<()> {
        match self.next_token()? {
            Some(Token::Keyword(k)) if k == kw => Ok(()),
            _ => self.err("expected keyword"),
        }
    }

    /// Parse `num gen obj`; returns the object's number and generation.
    pub(crate) fn object_header(&mut self) -> PResult<ObjRef> {
        let num = match self.next_token()? {
            Some(Token::Int(n)) if (0..=i64::from(u32::MAX)).contains(&n) => n as u32,
            _ => return self.err("expected object number"),
        };
        let generation = match self.next_token()? {
            Some(Token::Int(g)) if (0..=65535).contains(&g) => g as u16,
            _ => return self.err("expected generation number"),
        };
        self.expect_keyword(b"obj")?;
        Ok(ObjRef::new(num, generation))
    }
}

/// Find `needle` in `hay` starting at `from`.
pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Find the last `needle` in `hay`.
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| &hay[i..i + needle.len()] == needle)
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
        Lexer::new(s.as_bytes(), 0).parse_object().unwrap()
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
    fn never_panics_on_garbage() {
        for s in [
            "<<", "[", "(", "<", "<</A", "[1 2 R", ")", ">", "<<1 2>>", "--", ".", "<zz>",
        ] {
            let _ = Lexer::new(s.as_bytes(), 0).parse_object();
        }
        let deep = "[".repeat(1000);
        assert!(Lexer::new(deep.as_bytes(), 0).parse_object().is_err());
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
