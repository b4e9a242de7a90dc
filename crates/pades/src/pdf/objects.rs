//! A small PDF object parser for hostile input (ISO 32000-2 §7.2–7.3, §7.5.7, §7.4.4).
//!
//! It reads one object at a given byte offset, keeps the byte span of every string (so a
//! signature's `/Contents` can be matched against its `/ByteRange` gap) and never
//! repairs: a wrong `/Length`, a missing `endobj` or a malformed token is an error.
//! Every recursion and allocation is bounded by [`Limits`]; nothing here panics on any
//! input (the fuzz target `pades_revisions` checks this).

use std::borrow::Cow;
use std::io::Read;
use std::ops::Range;

use crate::pdf::crypt::ObjectKey;
use crate::verify::{Limits, PdfError};

/// An object reference `N G R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ObjRef {
    pub(crate) num: u32,
    pub(crate) generation: u16,
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} R", self.num, self.generation)
    }
}

/// A string object with its decoded bytes and where it stands in the file.
#[derive(Debug, Clone)]
pub(crate) struct PdfString {
    pub(crate) bytes: Vec<u8>,
    pub(crate) hex: bool,
    /// The token's span, delimiters included (`<…>` or `(…)`), as absolute offsets.
    pub(crate) span: Range<usize>,
}

/// A stream: its dictionary and the absolute span of its (encoded) data.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub(crate) dict: Dict,
    pub(crate) data: Range<usize>,
    /// In an encrypted document: the key its data is encrypted with (set when the
    /// object is loaded; `None` for unencrypted data).
    pub(crate) crypt: Option<ObjectKey>,
}

impl Stream {
    /// The stream's data as written, decrypted (not yet decoded through its filters).
    pub(crate) fn plain<'f>(&self, file: &'f [u8]) -> Result<Cow<'f, [u8]>, PdfError> {
        let raw = file
            .get(self.data.clone())
            .ok_or_else(|| PdfError::malformed(self.data.start, "stream outside the file"))?;
        match &self.crypt {
            None => Ok(Cow::Borrowed(raw)),
            Some(key) => key.decrypt(raw).map(Cow::Owned).map_err(|e| {
                PdfError::malformed(self.data.start, &format!("encrypted stream: {}", e.0))
            }),
        }
    }
}

/// A dictionary, in file order. Duplicate keys are kept so that callers can refuse them
/// where they would make two readers disagree (e.g. in a signature dictionary).
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    pub(crate) entries: Vec<(Vec<u8>, Object)>,
}

impl Dict {
    /// The first value of `key` (ISO 32000 leaves duplicates undefined).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Object> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v)
    }

    pub(crate) fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Object::Name(n)) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Object::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn has_duplicate_keys(&self) -> bool {
        let mut keys: Vec<&[u8]> = self.entries.iter().map(|(k, _)| k.as_slice()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.iter().map(|(k, _)| k.as_slice())
    }
}

/// A PDF object.
#[derive(Debug, Clone)]
pub(crate) enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    String(PdfString),
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
    Stream(Stream),
}

impl Object {
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

    pub(crate) fn as_number(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) if r.is_finite() => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool(_) => "boolean",
            Object::Int(_) => "integer",
            Object::Real(_) => "real",
            Object::String(_) => "string",
            Object::Name(_) => "name",
            Object::Array(_) => "array",
            Object::Dict(_) => "dictionary",
            Object::Ref(_) => "reference",
            Object::Stream(_) => "stream",
        }
    }
}

/// Whether two objects are the same value: same structure, same string bytes, same
/// stream data (`file` holds both streams' bytes). Spans and string syntax (hex or
/// literal) do not matter.
pub(crate) fn same(a: &Object, b: &Object, file: &[u8]) -> bool {
    match (a, b) {
        (Object::Null, Object::Null) => true,
        (Object::Bool(x), Object::Bool(y)) => x == y,
        (Object::Int(x), Object::Int(y)) => x == y,
        (Object::Real(x), Object::Real(y)) => x.to_bits() == y.to_bits() || x == y,
        (Object::String(x), Object::String(y)) => x.bytes == y.bytes,
        (Object::Name(x), Object::Name(y)) => x == y,
        (Object::Ref(x), Object::Ref(y)) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q, file))
        }
        (Object::Dict(x), Object::Dict(y)) => same_dict(x, y, file),
        (Object::Stream(x), Object::Stream(y)) => {
            same_dict(&x.dict, &y.dict, file)
                && match (x.plain(file), y.plain(file)) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => file.get(x.data.clone()) == file.get(y.data.clone()),
                }
        }
        _ => false,
    }
}

pub(crate) fn same_dict(x: &Dict, y: &Dict, file: &[u8]) -> bool {
    x.entries.len() == y.entries.len()
        && x.entries.iter().all(|(k, v)| {
            let mut matches = y.entries.iter().filter(|(k2, _)| k2 == k);
            matches.next().is_some_and(|(_, v2)| same(v, v2, file)) && matches.next().is_none()
        })
}

/// An indirect object as read from the file.
#[derive(Debug, Clone)]
pub(crate) struct Indirect {
    pub(crate) id: ObjRef,
    pub(crate) object: Object,
    /// Absolute span from the object number to the end of `endobj`.
    pub(crate) span: Range<usize>,
}

/// Read `N G obj … endobj` at `offset`. `length_of` resolves an indirect stream
/// `/Length`.
pub(crate) fn parse_indirect(
    data: &[u8],
    offset: usize,
    limits: &Limits,
    length_of: &mut dyn FnMut(ObjRef) -> Result<i64, PdfError>,
) -> Result<Indirect, PdfError> {
    let mut p = Parser::new(data, offset, limits);
    let num = p.expect_uint(offset)?;
    let generation = p.expect_uint(offset)?;
    p.expect_keyword(b"obj")?;
    let (num, generation) = match (u32::try_from(num), u16::try_from(generation)) {
        (Ok(n), Ok(g)) => (n, g),
        _ => {
            return Err(PdfError::malformed(offset, "object number out of range"));
        }
    };
    let object = p.object()?;
    p.skip_ws();
    let object = if p.peek_keyword(b"stream") {
        let Object::Dict(dict) = object else {
            return Err(PdfError::malformed(
                p.pos,
                "stream keyword after a non-dictionary",
            ));
        };
        p.pos += b"stream".len();
        // The keyword is followed by CRLF or LF (ISO 32000-2 §7.3.8.1).
        if data.get(p.pos..p.pos + 2) == Some(b"\r\n") {
            p.pos += 2;
        } else if data.get(p.pos) == Some(&b'\n') {
            p.pos += 1;
        } else {
            return Err(PdfError::malformed(
                p.pos,
                "stream keyword not followed by an end of line",
            ));
        }
        let length = match dict.get(b"Length") {
            Some(Object::Int(n)) => *n,
            Some(Object::Ref(r)) => length_of(*r)?,
            _ => {
                return Err(PdfError::malformed(
                    p.pos,
                    "stream without an integer /Length",
                ));
            }
        };
        let length = usize::try_from(length)
            .map_err(|_| PdfError::malformed(p.pos, "negative stream /Length"))?;
        if length > limits.max_stream_size {
            return Err(PdfError::Limit {
                what: "stream size",
                max: limits.max_stream_size,
            });
        }
        let start = p.pos;
        let end = start
            .checked_add(length)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| {
                PdfError::malformed(start, "stream data runs past the end of the file")
            })?;
        p.pos = end;
        p.skip_ws();
        if !p.peek_keyword(b"endstream") {
            return Err(PdfError::malformed(
                p.pos,
                "stream /Length does not end at endstream",
            ));
        }
        p.pos += b"endstream".len();
        Object::Stream(Stream {
            dict,
            data: start..end,
            crypt: None,
        })
    } else {
        object
    };
    p.skip_ws();
    if !p.peek_keyword(b"endobj") {
        return Err(PdfError::malformed(p.pos, "object without endobj"));
    }
    p.pos += b"endobj".len();
    Ok(Indirect {
        id: ObjRef { num, generation },
        object,
        span: offset..p.pos,
    })
}

/// A cursor over the file.
pub(crate) struct Parser<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
    limits: &'a Limits,
    depth: usize,
}

enum Token<'a> {
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    String(PdfString),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    Keyword(&'a [u8]),
}

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize, limits: &'a Limits) -> Self {
        Self {
            data,
            pos,
            limits,
            depth: 0,
        }
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

    /// Whether `keyword` stands at the cursor as a whole token.
    pub(crate) fn peek_keyword(&self, keyword: &[u8]) -> bool {
        self.data
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(keyword))
            && self
                .data
                .get(self.pos + keyword.len())
                .is_none_or(|b| !is_regular(*b))
    }

    pub(crate) fn expect_keyword(&mut self, keyword: &'static [u8]) -> Result<(), PdfError> {
        self.skip_ws();
        if self.peek_keyword(keyword) {
            self.pos += keyword.len();
            Ok(())
        } else {
            Err(PdfError::Malformed {
                offset: self.pos as u64,
                what: format!("expected `{}`", String::from_utf8_lossy(keyword)),
            })
        }
    }

    /// An unsigned integer token.
    pub(crate) fn expect_uint(&mut self, context: usize) -> Result<u64, PdfError> {
        self.skip_ws();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| PdfError::malformed(start, "integer too large"))?;
            self.pos += 1;
        }
        if self.pos == start || self.data.get(self.pos).is_some_and(|b| is_regular(*b)) {
            return Err(PdfError::malformed(
                context.max(start),
                "expected an unsigned integer",
            ));
        }
        Ok(value)
    }

    fn token(&mut self) -> Result<Option<Token<'a>>, PdfError> {
        self.skip_ws();
        let start = self.pos;
        let Some(&b) = self.data.get(self.pos) else {
            return Ok(None);
        };
        match b {
            b'[' => {
                self.pos += 1;
                Ok(Some(Token::ArrayOpen))
            }
            b']' => {
                self.pos += 1;
                Ok(Some(Token::ArrayClose))
            }
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                Ok(Some(Token::DictOpen))
            }
            b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                self.pos += 2;
                Ok(Some(Token::DictClose))
            }
            b'<' => self.hex_string().map(|s| Some(Token::String(s))),
            b'(' => self.literal_string().map(|s| Some(Token::String(s))),
            b'/' => self.name().map(|n| Some(Token::Name(n))),
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number().map(Some),
            _ if is_regular(b) => {
                while self.data.get(self.pos).is_some_and(|c| is_regular(*c)) {
                    self.pos += 1;
                    if self.pos - start > 64 {
                        return Err(PdfError::malformed(start, "overlong keyword"));
                    }
                }
                Ok(Some(Token::Keyword(&self.data[start..self.pos])))
            }
            _ => Err(PdfError::malformed(start, "unexpected delimiter")),
        }
    }

    fn number(&mut self) -> Result<Token<'a>, PdfError> {
        let start = self.pos;
        let mut end = start;
        while self
            .data
            .get(end)
            .is_some_and(|c| matches!(c, b'+' | b'-' | b'.' | b'0'..=b'9'))
        {
            end += 1;
            if end - start > 64 {
                return Err(PdfError::malformed(start, "overlong number"));
            }
        }
        if self.data.get(end).is_some_and(|c| is_regular(*c)) {
            return Err(PdfError::malformed(start, "malformed number"));
        }
        let text = &self.data[start..end];
        self.pos = end;
        let (sign, digits) = match text.first() {
            Some(b'-') => (-1i64, &text[1..]),
            Some(b'+') => (1, &text[1..]),
            _ => (1, text),
        };
        if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
            let mut v: i64 = 0;
            let mut overflow = false;
            for d in digits {
                match v
                    .checked_mul(10)
                    .and_then(|x| x.checked_add(i64::from(d - b'0')))
                {
                    Some(n) => v = n,
                    None => {
                        overflow = true;
                        break;
                    }
                }
            }
            if !overflow {
                return Ok(Token::Int(sign * v));
            }
        }
        let dots = digits.iter().filter(|c| **c == b'.').count();
        let has_digit = digits.iter().any(u8::is_ascii_digit);
        if dots > 1 || !has_digit || digits.iter().any(|c| matches!(c, b'+' | b'-')) {
            return Err(PdfError::malformed(start, "malformed number"));
        }
        let s = std::str::from_utf8(digits).map_err(|_| PdfError::malformed(start, "number"))?;
        let v: f64 = s
            .parse()
            .map_err(|_| PdfError::malformed(start, "malformed number"))?;
        Ok(Token::Real(sign as f64 * v))
    }

    fn name(&mut self) -> Result<Vec<u8>, PdfError> {
        let start = self.pos;
        self.pos += 1; // '/'
        let mut out = Vec::new();
        while let Some(&c) = self.data.get(self.pos) {
            if !is_regular(c) {
                break;
            }
            if c == b'#'
                && let (Some(h), Some(l)) = (
                    self.data.get(self.pos + 1).and_then(|b| hex_value(*b)),
                    self.data.get(self.pos + 2).and_then(|b| hex_value(*b)),
                )
            {
                out.push(h << 4 | l);
                self.pos += 3;
            } else {
                out.push(c);
                self.pos += 1;
            }
            if out.len() > self.limits.max_name_length {
                return Err(PdfError::malformed(start, "overlong name"));
            }
        }
        Ok(out)
    }

    fn hex_string(&mut self) -> Result<PdfString, PdfError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let Some(&c) = self.data.get(self.pos) else {
                return Err(PdfError::malformed(start, "unterminated hex string"));
            };
            self.pos += 1;
            if c == b'>' {
                break;
            }
            if is_whitespace(c) {
                continue;
            }
            let v = hex_value(c).ok_or_else(|| {
                PdfError::malformed(self.pos - 1, "non-hex digit in a hex string")
            })?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
            if out.len() > self.limits.max_string_length {
                return Err(PdfError::Limit {
                    what: "string length",
                    max: self.limits.max_string_length,
                });
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(PdfString {
            bytes: out,
            hex: true,
            span: start..self.pos,
        })
    }

    fn literal_string(&mut self) -> Result<PdfString, PdfError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 1usize;
        loop {
            let Some(&c) = self.data.get(self.pos) else {
                return Err(PdfError::malformed(start, "unterminated string"));
            };
            self.pos += 1;
            match c {
                b'(' => {
                    nesting += 1;
                    out.push(c);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        break;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        return Err(PdfError::malformed(start, "unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'(' | b')' | b'\\' => out.push(e),
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
                                    Some(d @ b'0'..=b'7') => {
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
                    // An unescaped end of line reads as a single LF.
                    if self.data.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(c),
            }
            if out.len() > self.limits.max_string_length {
                return Err(PdfError::Limit {
                    what: "string length",
                    max: self.limits.max_string_length,
                });
            }
        }
        Ok(PdfString {
            bytes: out,
            hex: false,
            span: start..self.pos,
        })
    }

    /// The next item of a content stream: an operand or an operator. Inline image
    /// data (`BI … ID … EI`) is skipped.
    pub(crate) fn content_item(&mut self) -> Result<Option<ContentItem<'a>>, PdfError> {
        let start = self.pos;
        let Some(token) = self.token()? else {
            return Ok(None);
        };
        match token {
            Token::Keyword(k) if !matches!(k, b"true" | b"false" | b"null") => {
                if k == b"ID" {
                    // Binary data up to whitespace + EI + whitespace/end.
                    let from = self.pos + 1;
                    let mut i = from;
                    loop {
                        let Some(p) = self
                            .data
                            .get(i..)
                            .and_then(|rest| memchr::memmem::find(rest, b"EI"))
                        else {
                            self.pos = self.data.len();
                            return Ok(Some(ContentItem::Operator(b"EI")));
                        };
                        let at = i + p;
                        let before = at
                            .checked_sub(1)
                            .and_then(|b| self.data.get(b))
                            .is_some_and(|b| is_whitespace(*b));
                        let after = self.data.get(at + 2).is_none_or(|b| is_whitespace(*b));
                        if before && after {
                            self.pos = at + 2;
                            return Ok(Some(ContentItem::Operator(b"EI")));
                        }
                        i = at + 2;
                    }
                }
                Ok(Some(ContentItem::Operator(k)))
            }
            Token::ArrayClose | Token::DictClose => {
                Err(PdfError::malformed(start, "unbalanced delimiter"))
            }
            t => self
                .object_from(t, start)
                .map(|o| Some(ContentItem::Operand(o))),
        }
    }

    /// One direct object (references included).
    pub(crate) fn object(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        let Some(token) = self.token()? else {
            return Err(PdfError::malformed(start, "unexpected end of file"));
        };
        self.object_from(token, start)
    }

    fn object_from(&mut self, token: Token<'a>, start: usize) -> Result<Object, PdfError> {
        match token {
            Token::Int(n) => {
                // `N G R`?
                if n >= 0 {
                    let save = self.pos;
                    if let Ok(Some(Token::Int(g))) = self.token()
                        && g >= 0
                        && let Ok(Some(Token::Keyword(b"R"))) = self.token()
                    {
                        return match (u32::try_from(n), u16::try_from(g)) {
                            (Ok(num), Ok(generation)) => {
                                Ok(Object::Ref(ObjRef { num, generation }))
                            }
                            _ => Err(PdfError::malformed(start, "reference out of range")),
                        };
                    }
                    self.pos = save;
                }
                Ok(Object::Int(n))
            }
            Token::Real(r) => Ok(Object::Real(r)),
            Token::Name(n) => Ok(Object::Name(n)),
            Token::String(s) => Ok(Object::String(s)),
            Token::Keyword(b"true") => Ok(Object::Bool(true)),
            Token::Keyword(b"false") => Ok(Object::Bool(false)),
            Token::Keyword(b"null") => Ok(Object::Null),
            Token::Keyword(k) => Err(PdfError::Malformed {
                offset: start as u64,
                what: format!("unexpected keyword `{}`", String::from_utf8_lossy(k)),
            }),
            Token::ArrayOpen => {
                self.enter()?;
                let mut items = Vec::new();
                loop {
                    let at = self.pos;
                    match self.token()? {
                        None => return Err(PdfError::malformed(start, "unterminated array")),
                        Some(Token::ArrayClose) => break,
                        Some(t) => {
                            if items.len() >= self.limits.max_collection_length {
                                return Err(PdfError::Limit {
                                    what: "array length",
                                    max: self.limits.max_collection_length,
                                });
                            }
                            items.push(self.object_from(t, at)?);
                        }
                    }
                }
                self.depth -= 1;
                Ok(Object::Array(items))
            }
            Token::DictOpen => {
                self.enter()?;
                let mut dict = Dict::default();
                loop {
                    let at = self.pos;
                    match self.token()? {
                        None => return Err(PdfError::malformed(start, "unterminated dictionary")),
                        Some(Token::DictClose) => break,
                        Some(Token::Name(key)) => {
                            if dict.entries.len() >= self.limits.max_collection_length {
                                return Err(PdfError::Limit {
                                    what: "dictionary size",
                                    max: self.limits.max_collection_length,
                                });
                            }
                            let vat = self.pos;
                            let value = match self.token()? {
                                None => {
                                    return Err(PdfError::malformed(
                                        start,
                                        "unterminated dictionary",
                                    ));
                                }
                                Some(Token::DictClose) => {
                                    return Err(PdfError::malformed(
                                        vat,
                                        "dictionary key without a value",
                                    ));
                                }
                                Some(t) => self.object_from(t, vat)?,
                            };
                            dict.entries.push((key, value));
                        }
                        Some(_) => {
                            return Err(PdfError::malformed(at, "dictionary key is not a name"));
                        }
                    }
                }
                self.depth -= 1;
                Ok(Object::Dict(dict))
            }
            Token::ArrayClose | Token::DictClose => {
                Err(PdfError::malformed(start, "unbalanced delimiter"))
            }
        }
    }

    fn enter(&mut self) -> Result<(), PdfError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(PdfError::Limit {
                what: "nesting depth",
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }
}

/// An item of a content stream.
#[derive(Debug)]
pub(crate) enum ContentItem<'a> {
    Operand(Object),
    Operator(&'a [u8]),
}

/// A decoded-bytes budget shared by one verification (decompression bombs spread over
/// many streams).
#[derive(Debug)]
pub(crate) struct DecodeBudget {
    left: std::cell::Cell<usize>,
}

impl DecodeBudget {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            left: std::cell::Cell::new(total),
        }
    }

    fn take(&self, n: usize, limits: &Limits) -> Result<(), PdfError> {
        let left = self.left.get();
        if n > left {
            return Err(PdfError::Limit {
                what: "total decoded stream size",
                max: limits.max_total_decoded,
            });
        }
        self.left.set(left - n);
        Ok(())
    }
}

/// Decode a stream's data through its filters (FlateDecode with PNG predictors,
/// ASCIIHexDecode). Any other filter is [`PdfError::Unsupported`].
pub(crate) fn decode_stream(
    stream: &Stream,
    file: &[u8],
    limits: &Limits,
    budget: &DecodeBudget,
) -> Result<Vec<u8>, PdfError> {
    let raw = stream.plain(file)?;
    let filters: Vec<&[u8]> = match stream.dict.get(b"Filter") {
        None | Some(Object::Null) => Vec::new(),
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a
            .iter()
            .map(|o| match o {
                Object::Name(n) => Ok(n.as_slice()),
                _ => Err(PdfError::malformed(
                    stream.data.start,
                    "/Filter entry is not a name",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(PdfError::malformed(
                stream.data.start,
                "/Filter is not a name",
            ));
        }
    };
    if filters.len() > 4 {
        return Err(PdfError::malformed(stream.data.start, "too many filters"));
    }
    let params: Vec<Option<&Dict>> = match stream.dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d)],
        Some(Object::Array(a)) => a.iter().map(|o| o.as_dict()).collect(),
        _ => Vec::new(),
    };
    let ceiling = limits.max_decoded_stream.min(
        raw.len()
            .saturating_mul(limits.max_decompression_ratio)
            .max(limits.min_decompression_allowance),
    );
    let mut data = raw.into_owned();
    for (i, f) in filters.iter().enumerate() {
        let p = params.get(i).copied().flatten();
        data = match *f {
            // A stream's own crypt filter comes first; its decryption is done (§7.4.10).
            b"Crypt" if i == 0 => data,
            b"FlateDecode" | b"Fl" => {
                let inflated = inflate(&data, ceiling, limits)?;
                unpredict(inflated, p, stream.data.start)?
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&data, stream.data.start)?,
            b"ASCII85Decode" | b"A85" => ascii85(&data, stream.data.start)?,
            b"RunLengthDecode" | b"RL" => run_length(&data, ceiling, stream.data.start)?,
            other => {
                return Err(PdfError::Unsupported(format!(
                    "stream filter /{}",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        if data.len() > ceiling {
            return Err(PdfError::Limit {
                what: "decoded stream size (decompression ratio)",
                max: ceiling,
            });
        }
    }
    budget.take(data.len(), limits)?;
    Ok(data)
}

fn inflate(data: &[u8], ceiling: usize, limits: &Limits) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let decoder = flate2::read::ZlibDecoder::new(data);
    let read = decoder
        .take(ceiling as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| PdfError::Malformed {
            offset: 0,
            what: format!("FlateDecode: {e}"),
        })?;
    if read > ceiling {
        return Err(PdfError::Limit {
            what: "decoded stream size (decompression ratio)",
            max: ceiling.min(limits.max_decoded_stream),
        });
    }
    Ok(out)
}

fn ascii_hex(data: &[u8], at: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high = None;
    for &c in data {
        if c == b'>' {
            break;
        }
        if is_whitespace(c) {
            continue;
        }
        let v = hex_value(c).ok_or_else(|| PdfError::malformed(at, "ASCIIHexDecode: bad digit"))?;
        match high.take() {
            Some(h) => out.push(h << 4 | v),
            None => high = Some(v),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Ok(out)
}

fn ascii85(data: &[u8], at: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5 + 4);
    let mut group = [0u8; 5];
    let mut n = 0;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        i += 1;
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = c - b'!';
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |a, d| a * 85 + u64::from(*d));
                    let v = u32::try_from(v)
                        .map_err(|_| PdfError::malformed(at, "ASCII85Decode: group overflow"))?;
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ if is_whitespace(c) => {}
            _ => return Err(PdfError::malformed(at, "ASCII85Decode: bad character")),
        }
    }
    if n == 1 {
        return Err(PdfError::malformed(at, "ASCII85Decode: truncated group"));
    }
    if n > 1 {
        for g in group.iter_mut().skip(n) {
            *g = 84;
        }
        let v = group.iter().fold(0u64, |a, d| a * 85 + u64::from(*d));
        let v = u32::try_from(v)
            .map_err(|_| PdfError::malformed(at, "ASCII85Decode: group overflow"))?;
        out.extend_from_slice(&v.to_be_bytes()[..n - 1]);
    }
    Ok(out)
}

fn run_length(data: &[u8], ceiling: usize, at: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let len = data[i];
        i += 1;
        match len {
            128 => break,
            0..=127 => {
                let n = usize::from(len) + 1;
                let chunk = data
                    .get(i..i + n)
                    .ok_or_else(|| PdfError::malformed(at, "RunLengthDecode: truncated"))?;
                out.extend_from_slice(chunk);
                i += n;
            }
            _ => {
                let b = *data
                    .get(i)
                    .ok_or_else(|| PdfError::malformed(at, "RunLengthDecode: truncated"))?;
                out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
                i += 1;
            }
        }
        if out.len() > ceiling {
            return Err(PdfError::Limit {
                what: "decoded stream size (decompression ratio)",
                max: ceiling,
            });
        }
    }
    Ok(out)
}

/// Undo a PNG predictor (ISO 32000-2 §7.4.4.4); predictor 1 is none.
fn unpredict(data: Vec<u8>, params: Option<&Dict>, at: usize) -> Result<Vec<u8>, PdfError> {
    let Some(p) = params else { return Ok(data) };
    let predictor = p.int(b"Predictor").unwrap_or(1);
    if predictor == 1 {
        return Ok(data);
    }
    if !(10..=15).contains(&predictor) {
        return Err(PdfError::Unsupported(format!("predictor {predictor}")));
    }
    let colors = p.int(b"Colors").unwrap_or(1);
    let bpc = p.int(b"BitsPerComponent").unwrap_or(8);
    let columns = p.int(b"Columns").unwrap_or(1);
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 20).contains(&columns)
    {
        return Err(PdfError::malformed(at, "bad predictor parameters"));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row = ((colors * bpc * columns + 7) / 8) as usize;
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let (&kind, bytes) = chunk
            .split_first()
            .ok_or_else(|| PdfError::malformed(at, "empty predictor row"))?;
        let mut cur = bytes.to_vec();
        cur.resize(row, 0);
        for i in 0..row {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match kind {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(PdfError::malformed(at, "bad PNG predictor row type")),
            };
        }
        out.extend_from_slice(&cur[..bytes.len().min(row)]);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let pa = (p - i16::from(a)).abs();
    let pb = (p - i16::from(b)).abs();
    let pc = (p - i16::from(c)).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Decode a PDF text string (UTF-16BE or UTF-8 with BOM, else PDFDocEncoding).
pub(crate) fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|b| pdf_doc_char(*b)).collect()
}

fn pdf_doc_char(b: u8) -> char {
    const HIGH: [char; 32] = [
        '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚',
        '™', 'ﬁ', 'ﬂ', 'Ł', 'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{fffd}',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        0xa0 => '€',
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> Result<Object, PdfError> {
        let limits = Limits::default();
        Parser::new(text.as_bytes(), 0, &limits).object()
    }

    #[test]
    fn parses_the_basic_types_with_spans() {
        let o = parse(
            "<< /A 1 /B -2.5 /C (a\\(b\\)c\\101) /D <4142 3> /E [1 0 R true null] /F#20x /N >>",
        )
        .unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(d.int(b"A"), Some(1));
        assert!(matches!(d.get(b"B"), Some(Object::Real(r)) if (*r + 2.5).abs() < 1e-9));
        match d.get(b"C") {
            Some(Object::String(s)) => {
                assert_eq!(s.bytes, b"a(b)cA");
                assert_eq!(s.span, 19..32);
            }
            other => panic!("{other:?}"),
        }
        match d.get(b"D") {
            Some(Object::String(s)) => assert_eq!(s.bytes, b"AB0"),
            other => panic!("{other:?}"),
        }
        let e = d.get(b"E").unwrap().as_array().unwrap();
        assert_eq!(
            e[0].as_ref(),
            Some(ObjRef {
                num: 1,
                generation: 0
            })
        );
        assert!(matches!(e[1], Object::Bool(true)));
        assert_eq!(d.name(b"F x"), Some(&b"N"[..]));
    }

    #[test]
    fn refuses_malformed_input_without_panicking() {
        for bad in [
            "<< /A >>",
            "<< 1 2 >>",
            "[1 2",
            "(abc",
            "<12x>",
            "1.2.3",
            "--1",
            "]",
            "<< /A 1 R >>",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
        let deep = "[".repeat(10_000);
        assert!(matches!(parse(&deep), Err(PdfError::Limit { .. })));
    }

    #[test]
    fn integers_that_overflow_are_reals() {
        assert!(matches!(
            parse("99999999999999999999999").unwrap(),
            Object::Real(_)
        ));
    }

    #[test]
    fn reads_an_indirect_stream_and_checks_its_length() {
        let limits = Limits::default();
        let data = b"7 0 obj\n<< /Length 5 >>\nstream\nhello\nendstream\nendobj\n";
        let o = parse_indirect(data, 0, &limits, &mut |_| unreachable!()).unwrap();
        assert_eq!(
            o.id,
            ObjRef {
                num: 7,
                generation: 0
            }
        );
        match o.object {
            Object::Stream(s) => assert_eq!(&data[s.data], b"hello"),
            other => panic!("{other:?}"),
        }
        let wrong = b"7 0 obj\n<< /Length 3 >>\nstream\nhello\nendstream\nendobj\n";
        assert!(parse_indirect(wrong, 0, &limits, &mut |_| unreachable!()).is_err());
    }

    #[test]
    fn ascii85_round_trip() {
        // "Man " / "sure." from the Adobe reference.
        assert_eq!(ascii85(b"9jqo^~>", 0).unwrap(), b"Man ");
        assert_eq!(ascii85(b"F*2M7/c~>", 0).unwrap(), b"sure.");
        assert_eq!(ascii85(b"z~>", 0).unwrap(), vec![0; 4]);
        assert!(ascii85(b"s8W-\"~>", 0).is_err());
        assert_eq!(
            run_length(&[2, b'a', b'b', b'c', 254, b'x', 128], 100, 0).unwrap(),
            b"abcxxx"
        );
    }

    #[test]
    fn decompression_is_bounded() {
        use std::io::Write;
        let limits = Limits {
            max_decompression_ratio: 10,
            min_decompression_allowance: 100,
            ..Limits::default()
        };
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        let mut file = Vec::new();
        file.extend_from_slice(&bomb);
        let stream = Stream {
            dict: Dict {
                entries: vec![(b"Filter".to_vec(), Object::Name(b"FlateDecode".to_vec()))],
            },
            data: 0..bomb.len(),
            crypt: None,
        };
        let budget = DecodeBudget::new(limits.max_total_decoded);
        assert!(matches!(
            decode_stream(&stream, &file, &limits, &budget),
            Err(PdfError::Limit { .. })
        ));
    }
}
