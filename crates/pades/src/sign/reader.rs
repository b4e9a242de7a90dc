//! Reading just enough of a PDF to sign it: the cross-reference chain (tables, streams,
//! hybrid files, linearized files), objects on demand (including those inside object
//! streams), stream filters and the page tree. Nothing else is parsed, so a 100 MB
//! file costs the time to read its xref, not its content.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::rc::Rc;

use super::SignError;
use super::object::{Dict, Lexer, ObjRef, Object, Stream, Token, find, is_whitespace, rfind};

/// Most cross-reference sections followed through `/Prev`.
const MAX_XREF_SECTIONS: usize = 4096;
/// Most objects a document may declare.
const MAX_OBJECTS: u64 = 10_000_000;
/// Largest decoded stream.
pub(crate) const MAX_DECODED_STREAM: usize = 64 << 20;
/// Total decoded bytes per document (object streams, content streams, fonts read).
const MAX_DECODED_TOTAL: usize = 256 << 20;
/// Most pages.
const MAX_PAGES: usize = 1_000_000;
/// Deepest page tree and reference chain.
const MAX_TREE_DEPTH: usize = 64;

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XrefEntry {
    Free,
    Offset { offset: usize, generation: u16 },
    Compressed { stream: u32, index: u32 },
}

/// The kind of the newest cross-reference section (the update keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XrefKind {
    Table,
    Stream,
}

#[derive(Debug)]
struct ObjStm {
    data: Vec<u8>,
    /// (object number, offset relative to `first`)
    index: Vec<(u32, usize)>,
    first: usize,
}

/// A PDF opened for signing.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) data: &'a [u8],
    xref: HashMap<u32, XrefEntry>,
    /// The newest trailer (dictionary of the last section).
    pub(crate) trailer: Dict,
    /// Offset of the newest cross-reference section (`startxref`).
    pub(crate) startxref: usize,
    /// One more than the highest object number in use.
    pub(crate) size: u32,
    pub(crate) xref_kind: XrefKind,
    objstms: RefCell<HashMap<u32, Rc<ObjStm>>>,
    cache: RefCell<HashMap<ObjRef, Rc<Object>>>,
    decoded: Cell<usize>,
    /// Nesting of object loads (an indirect /Length or an object stream loads
    /// another object): bounded against crafted chains and cycles.
    depth: Cell<usize>,
}

/// Deepest nesting of object loads.
const MAX_LOAD_DEPTH: usize = 16;

fn malformed(what: impl Into<String>) -> SignError {
    SignError::Malformed(what.into())
}

impl<'a> Document<'a> {
    /// Open: header check, xref chain, trailer. Refuses encrypted files.
    pub(crate) fn open(data: &'a [u8]) -> Result<Self, SignError> {
        let head = &data[..data.len().min(1024)];
        if find(head, b"%PDF-", 0).is_none() {
            return Err(malformed("no %PDF- header: not a PDF file"));
        }
        let tail_start = data.len().saturating_sub(2048);
        let sx = rfind(&data[tail_start..], b"startxref")
            .map(|p| p + tail_start)
            .ok_or_else(|| malformed("no startxref at the end of the file (truncated?)"))?;
        let mut lx = Lexer::new(data, sx + b"startxref".len());
        let startxref = match lx.next_token() {
            Ok(Some(Token::Int(n))) if n >= 0 && (n as u64) < data.len() as u64 => n as usize,
            _ => return Err(malformed("startxref does not point into the file")),
        };
        let mut doc = Document {
            data,
            xref: HashMap::new(),
            trailer: Dict::new(),
            startxref,
            size: 0,
            xref_kind: XrefKind::Table,
            objstms: RefCell::new(HashMap::new()),
            cache: RefCell::new(HashMap::new()),
            decoded: Cell::new(0),
            depth: Cell::new(0),
        };
        doc.read_xref_chain()?;
        if doc.trailer.get(b"Encrypt").is_some() {
            return Err(SignError::Encrypted);
        }
        if doc.trailer.get(b"Root").and_then(Object::as_ref).is_none() {
            return Err(malformed("the trailer has no /Root catalog reference"));
        }
        Ok(doc)
    }

    fn read_xref_chain(&mut self) -> Result<(), SignError> {
        let mut seen = HashSet::new();
        let mut pending = vec![self.startxref];
        let mut first = true;
        let mut max_size: u64 = 0;
        while let Some(offset) = pending.pop() {
            if !seen.insert(offset) {
                continue;
            }
            if seen.len() > MAX_XREF_SECTIONS {
                return Err(malformed("too many cross-reference sections"));
            }
            let (trailer, kind) = self.read_xref_section(offset)?;
            if let Some(s) = trailer.get(b"Size").and_then(Object::as_i64) {
                max_size = max_size.max(u64::try_from(s).unwrap_or(0));
            }
            if first {
                self.xref_kind = kind;
                self.trailer = trailer.clone();
                first = false;
            } else {
                for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
                    if self.trailer.get(key).is_none()
                        && let Some(v) = trailer.get(key)
                    {
                        self.trailer.set(key, v.clone());
                    }
                }
            }
            // Order: /Prev is read after a hybrid file's /XRefStm (pushed last = popped first).
            if let Some(prev) = trailer.get(b"Prev").and_then(Object::as_i64) {
                pending.push(self.offset_in_file(prev)?);
            }
            if kind == XrefKind::Table
                && let Some(stm) = trailer.get(b"XRefStm").and_then(Object::as_i64)
            {
                let stm = self.offset_in_file(stm)?;
                if seen.insert(stm) {
                    let (_, _) = self.read_xref_section(stm)?;
                }
            }
        }
        let max_num = self
            .xref
            .keys()
            .copied()
            .max()
            .map_or(0, |m| u64::from(m) + 1);
        let size = max_size.max(max_num);
        if size > MAX_OBJECTS {
            return Err(malformed(format!("{size} objects exceed the limit")));
        }
        self.size = size as u32;
        Ok(())
    }

    fn offset_in_file(&self, v: i64) -> Result<usize, SignError> {
        usize::try_from(v)
            .ok()
            .filter(|&o| o < self.data.len())
            .ok_or_else(|| malformed("a cross-reference offset points outside the file"))
    }

    /// Read one section; entries already known (from newer sections) are kept.
    fn read_xref_section(&mut self, offset: usize) -> Result<(Dict, XrefKind), SignError> {
        let mut lx = Lexer::new(self.data, offset);
        lx.skip_ws();
        if self.data[lx.pos..].starts_with(b"xref") {
            lx.pos += 4;
            self.read_xref_table(&mut lx)
                .map(|trailer| (trailer, XrefKind::Table))
        } else {
            self.read_xref_stream(offset)
                .map(|trailer| (trailer, XrefKind::Stream))
        }
    }

    fn read_xref_table(&mut self, lx: &mut Lexer<'a>) -> Result<Dict, SignError> {
        let bad = || malformed("damaged cross-reference table");
        loop {
            lx.skip_ws();
            if self.data[lx.pos..].starts_with(b"trailer") {
                lx.pos += 7;
                break;
            }
            let start = match lx.next_token().map_err(|_| bad())? {
                Some(Token::Int(n)) if n >= 0 => n as u64,
                _ => return Err(bad()),
            };
            let count = match lx.next_token().map_err(|_| bad())? {
                Some(Token::Int(n)) if n >= 0 => n as u64,
                _ => return Err(bad()),
            };
            if start + count > MAX_OBJECTS {
                return Err(malformed("cross-reference section too large"));
            }
            for i in 0..count {
                // "nnnnnnnnnn ggggg n" — read as three tokens (tolerates odd spacing).
                let off = match lx.next_token().map_err(|_| bad())? {
                    Some(Token::Int(n)) if n >= 0 => n as u64,
                    _ => return Err(bad()),
                };
                // Some writers (Pillow) put 65536 on the free head entry: clamp.
                let generation = match lx.next_token().map_err(|_| bad())? {
                    Some(Token::Int(n)) if n >= 0 => n.min(65535) as u16,
                    _ => return Err(bad()),
                };
                let kind = match lx.next_token().map_err(|_| bad())? {
                    Some(Token::Keyword(k)) => k,
                    _ => return Err(bad()),
                };
                let num = (start + i) as u32;
                let entry = match kind {
                    b"n" => {
                        if off == 0 || off as usize >= self.data.len() {
                            // Some writers mark missing objects "n" at offset 0.
                            XrefEntry::Free
                        } else {
                            XrefEntry::Offset {
                                offset: off as usize,
                                generation,
                            }
                        }
                    }
                    b"f" => XrefEntry::Free,
                    _ => return Err(bad()),
                };
                self.xref.entry(num).or_insert(entry);
            }
        }
        let trailer = match lx.next_token().map_err(|_| bad())? {
            Some(Token::DictStart) => lx.dict_body(0).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        Ok(trailer)
    }

    fn read_xref_stream(&mut self, offset: usize) -> Result<Dict, SignError> {
        let (_, obj) = self
            .parse_indirect_at(offset, None)
            .map_err(|e| malformed(format!("cross-reference stream: {e}")))?;
        let Object::Stream(stream) = obj else {
            return Err(malformed(
                "startxref points at neither a table nor a stream",
            ));
        };
        if !stream.dict.is_type(b"XRef") {
            return Err(malformed("cross-reference stream without /Type /XRef"));
        }
        let data = self.decode_stream(&stream)?;
        let w: Vec<usize> = stream
            .dict
            .get(b"W")
            .and_then(Object::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_i64().unwrap_or(-1))
                    .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
                    .collect()
            })
            .unwrap_or_default();
        if w.len() != 3 || w.iter().any(|&x| x > 8) {
            return Err(malformed("cross-reference stream /W is invalid"));
        }
        let row = w[0] + w[1] + w[2];
        if row == 0 {
            return Err(malformed("cross-reference stream /W is invalid"));
        }
        let size = stream
            .dict
            .get(b"Size")
            .and_then(Object::as_i64)
            .unwrap_or(0);
        let index: Vec<i64> = match stream.dict.get(b"Index").and_then(Object::as_array) {
            Some(a) => a.iter().map(|v| v.as_i64().unwrap_or(-1)).collect(),
            None => vec![0, size],
        };
        if !index.len().is_multiple_of(2) || index.iter().any(|&v| v < 0) {
            return Err(malformed("cross-reference stream /Index is invalid"));
        }
        let field = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let mut pos = 0usize;
        for pair in index.chunks(2) {
            let (start, count) = (pair[0] as u64, pair[1] as u64);
            if start + count > MAX_OBJECTS {
                return Err(malformed("cross-reference stream section too large"));
            }
            for i in 0..count {
                let Some(r) = data.get(pos..pos + row) else {
                    return Err(malformed(
                        "cross-reference stream is shorter than /Index says",
                    ));
                };
                pos += row;
                let ty = if w[0] == 0 { 1 } else { field(&r[..w[0]]) };
                let f2 = field(&r[w[0]..w[0] + w[1]]);
                let f3 = field(&r[w[0] + w[1]..]);
                let num = (start + i) as u32;
                let entry = match ty {
                    0 => XrefEntry::Free,
                    1 => {
                        if f2 == 0 || f2 as usize >= self.data.len() {
                            XrefEntry::Free
                        } else {
                            XrefEntry::Offset {
                                offset: f2 as usize,
                                generation: u16::try_from(f3).unwrap_or(0),
                            }
                        }
                    }
                    2 => XrefEntry::Compressed {
                        stream: u32::try_from(f2)
                            .map_err(|_| malformed("bad object stream number"))?,
                        index: u32::try_from(f3).map_err(|_| malformed("bad object index"))?,
                    },
                    _ => continue, // reserved types: ignore
                };
                self.xref.entry(num).or_insert(entry);
            }
        }
        let mut trailer = stream.dict;
        trailer.remove(b"Length");
        Ok(trailer)
    }

    /// Parse `n g obj … endobj` at `offset`. `expect` checks the object number.
    fn parse_indirect_at(
        &self,
        offset: usize,
        expect: Option<ObjRef>,
    ) -> Result<(ObjRef, Object), SignError> {
        if self.depth.get() >= MAX_LOAD_DEPTH {
            return Err(malformed(
                "objects refer to each other too deeply (a cycle?)",
            ));
        }
        self.depth.set(self.depth.get() + 1);
        let result = self.parse_indirect_inner(offset, expect);
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn parse_indirect_inner(
        &self,
        offset: usize,
        expect: Option<ObjRef>,
    ) -> Result<(ObjRef, Object), SignError> {
        let mut lx = Lexer::new(self.data, offset);
        let id = lx
            .object_header()
            .map_err(|e| malformed(format!("no object at offset {offset}: {}", e.what)))?;
        if let Some(want) = expect
            && want.num != id.num
        {
            return Err(malformed(format!(
                "cross-reference entry of object {} points at object {}",
                want.num, id.num
            )));
        }
        let obj = lx
            .parse_object()
            .map_err(|e| malformed(format!("object {} at offset {}: {}", id.num, e.pos, e.what)))?;
        let Object::Dict(dict) = obj else {
            return Ok((id, obj));
        };
        // A stream?
        let mut probe = lx.clone();
        match probe.next_token() {
            Ok(Some(Token::Keyword(b"stream"))) => {}
            _ => return Ok((id, Object::Dict(dict))),
        }
        let mut start = probe.pos;
        if self.data.get(start) == Some(&b'\r') {
            start += 1;
        }
        if self.data.get(start) == Some(&b'\n') {
            start += 1;
        }
        let declared = match dict.get(b"Length") {
            Some(Object::Int(n)) => usize::try_from(*n).ok(),
            Some(Object::Ref(r)) if expect.is_none_or(|e| e != *r) => self
                .get(*r)
                .ok()
                .and_then(|o| o.as_i64())
                .and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
        let ends_ok = |end: usize| {
            let mut p = end;
            while self.data.get(p).is_some_and(|&b| is_whitespace(b)) && p < end + 4 {
                p += 1;
            }
            self.data[p.min(self.data.len())..].starts_with(b"endstream")
        };
        let end = match declared {
            Some(n)
                if start
                    .checked_add(n)
                    .is_some_and(|e| e <= self.data.len() && ends_ok(e)) =>
            {
                start + n
            }
            _ => {
                // Wrong or missing /Length: find `endstream` and drop the EOL before it.
                let e = find(self.data, b"endstream", start).ok_or_else(|| {
                    malformed(format!("object {}: stream without endstream", id.num))
                })?;
                let mut e2 = e;
                if e2 > start && self.data[e2 - 1] == b'\n' {
                    e2 -= 1;
                }
                if e2 > start && self.data[e2 - 1] == b'\r' {
                    e2 -= 1;
                }
                e2
            }
        };
        if end - start > MAX_DECODED_STREAM * 4 {
            return Err(SignError::Limit(format!(
                "object {}: stream of {} bytes",
                id.num,
                end - start
            )));
        }
        Ok((
            id,
            Object::Stream(Stream {
                dict,
                data: self.data[start..end].to_vec(),
            }),
        ))
    }

    /// The object `r` (`Null` if free or missing, as ISO 32000 says).
    pub(crate) fn get(&self, r: ObjRef) -> Result<Rc<Object>, SignError> {
        if let Some(o) = self.cache.borrow().get(&r) {
            return Ok(o.clone());
        }
        let obj = match self.xref.get(&r.num).copied() {
            None | Some(XrefEntry::Free) => Object::Null,
            Some(XrefEntry::Offset { offset, generation }) => {
                if generation != r.generation {
                    Object::Null
                } else {
                    self.parse_indirect_at(offset, Some(r))?.1
                }
            }
            Some(XrefEntry::Compressed { stream, index }) => {
                if r.generation != 0 {
                    Object::Null
                } else {
                    self.get_compressed(r.num, stream, index)?
                }
            }
        };
        let obj = Rc::new(obj);
        // Streams can be large: only small objects are cached.
        if !matches!(&*obj, Object::Stream(_)) {
            self.cache.borrow_mut().insert(r, obj.clone());
        }
        Ok(obj)
    }

    fn get_compressed(&self, num: u32, stream: u32, index: u32) -> Result<Object, SignError> {
        let stm = self.objstm(stream)?;
        let rel = stm
            .index
            .get(index as usize)
            .filter(|(n, _)| *n == num)
            .or_else(|| stm.index.iter().find(|(n, _)| *n == num))
            .map(|(_, off)| *off)
            .ok_or_else(|| malformed(format!("object {num} is not in object stream {stream}")))?;
        let mut lx = Lexer::new(&stm.data, stm.first.saturating_add(rel));
        lx.parse_object().map_err(|e| {
            malformed(format!(
                "object {num} in object stream {stream}: {}",
                e.what
            ))
        })
    }

    fn objstm(&self, stream: u32) -> Result<Rc<ObjStm>, SignError> {
        if let Some(s) = self.objstms.borrow().get(&stream) {
            return Ok(s.clone());
        }
        let entry = self.xref.get(&stream).copied();
        let Some(XrefEntry::Offset { offset, .. }) = entry else {
            return Err(malformed(format!("object stream {stream} is missing")));
        };
        let (_, obj) = self.parse_indirect_at(offset, Some(ObjRef::new(stream, 0)))?;
        let Object::Stream(s) = obj else {
            return Err(malformed(format!("object stream {stream} is not a stream")));
        };
        let n = s.dict.get(b"N").and_then(Object::as_i64).unwrap_or(-1);
        let first = s.dict.get(b"First").and_then(Object::as_i64).unwrap_or(-1);
        if n < 0 || first < 0 || n > 1_000_000 {
            return Err(malformed(format!(
                "object stream {stream}: bad /N or /First"
            )));
        }
        let data = self.decode_stream(&s)?;
        let mut lx = Lexer::new(&data[..(first as usize).min(data.len())], 0);
        let mut index = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (Ok(Some(Token::Int(num))), Ok(Some(Token::Int(off)))) =
                (lx.next_token(), lx.next_token())
            else {
                return Err(malformed(format!("object stream {stream}: damaged header")));
            };
            if num < 0 || off < 0 || num > i64::from(u32::MAX) {
                return Err(malformed(format!("object stream {stream}: damaged header")));
            }
            index.push((num as u32, off as usize));
        }
        let stm = Rc::new(ObjStm {
            data,
            index,
            first: first as usize,
        });
        self.objstms.borrow_mut().insert(stream, stm.clone());
        Ok(stm)
    }

    /// Follow references (bounded).
    pub(crate) fn resolve(&self, obj: &Object) -> Result<Rc<Object>, SignError> {
        let mut cur = Rc::new(obj.clone());
        for _ in 0..MAX_TREE_DEPTH {
            match &*cur {
                Object::Ref(r) => {
                    let next = self.get(*r)?;
                    cur = next;
                }
                _ => return Ok(cur),
            }
        }
        Err(malformed("reference chain too long"))
    }

    /// A dictionary (resolving a reference); `None` if it is something else.
    pub(crate) fn dict(&self, obj: &Object) -> Result<Option<Dict>, SignError> {
        Ok(self.resolve(obj)?.as_dict().cloned())
    }

    /// The decoded data of a stream, with the document's budget.
    pub(crate) fn decode_stream(&self, s: &Stream) -> Result<Vec<u8>, SignError> {
        let out = decode(s)?;
        let total = self.decoded.get() + out.len();
        if total > MAX_DECODED_TOTAL {
            return Err(SignError::Limit(format!(
                "more than {MAX_DECODED_TOTAL} bytes of decoded streams"
            )));
        }
        self.decoded.set(total);
        Ok(out)
    }

    pub(crate) fn catalog_ref(&self) -> Result<ObjRef, SignError> {
        self.trailer
            .get(b"Root")
            .and_then(Object::as_ref)
            .ok_or_else(|| malformed("no catalog"))
    }

    pub(crate) fn catalog(&self) -> Result<Dict, SignError> {
        let r = self.catalog_ref()?;
        self.get(r)?
            .as_dict()
            .cloned()
            .ok_or_else(|| malformed("the catalog is not a dictionary"))
    }

    /// References of all pages, in order.
    pub(crate) fn pages(&self) -> Result<Vec<ObjRef>, SignError> {
        let catalog = self.catalog()?;
        let root = catalog
            .get(b"Pages")
            .and_then(Object::as_ref)
            .ok_or_else(|| malformed("the catalog has no /Pages reference"))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.walk_pages(root, 0, &mut seen, &mut out)?;
        if out.is_empty() {
            return Err(malformed("the document has no pages"));
        }
        Ok(out)
    }

    fn walk_pages(
        &self,
        node: ObjRef,
        depth: usize,
        seen: &mut HashSet<u32>,
        out: &mut Vec<ObjRef>,
    ) -> Result<(), SignError> {
        if depth > MAX_TREE_DEPTH || !seen.insert(node.num) {
            return Err(malformed("the page tree is cyclic or too deep"));
        }
        let obj = self.get(node)?;
        let Some(dict) = obj.as_dict() else {
            return Err(malformed("a page tree node is not a dictionary"));
        };
        match dict.get(b"Kids").and_then(Object::as_array) {
            Some(kids) if !dict.is_type(b"Page") => {
                for kid in kids {
                    let Some(k) = kid.as_ref() else {
                        return Err(malformed("a page tree kid is not a reference"));
                    };
                    self.walk_pages(k, depth + 1, seen, out)?;
                    if out.len() > MAX_PAGES {
                        return Err(SignError::Limit("too many pages".into()));
                    }
                }
            }
            _ => out.push(node),
        }
        Ok(())
    }

    /// A page attribute, inherited through `/Parent` (Resources, MediaBox, CropBox, Rotate).
    pub(crate) fn page_attr(&self, page: ObjRef, key: &[u8]) -> Result<Option<Object>, SignError> {
        let mut cur = page;
        for _ in 0..MAX_TREE_DEPTH {
            let obj = self.get(cur)?;
            let Some(d) = obj.as_dict() else {
                return Ok(None);
            };
            if let Some(v) = d.get(key) {
                return Ok(Some(self.resolve(v)?.as_ref().clone()));
            }
            match d.get(b"Parent").and_then(Object::as_ref) {
                Some(p) => cur = p,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The page's media box `[x0 y0 x1 y1]` (normalised), default A4.
    pub(crate) fn media_box(&self, page: ObjRef) -> Result<[f64; 4], SignError> {
        let mb = self
            .page_attr(page, b"CropBox")?
            .or(self.page_attr(page, b"MediaBox")?);
        Ok(mb
            .as_ref()
            .and_then(rect_of)
            .unwrap_or([0.0, 0.0, 595.28, 841.89]))
    }
}

/// A rectangle from an array of four numbers, normalised.
pub(crate) fn rect_of(obj: &Object) -> Option<[f64; 4]> {
    let a = obj.as_array()?;
    if a.len() != 4 {
        return None;
    }
    let v: Vec<f64> = a.iter().filter_map(Object::as_f64).collect();
    if v.len() != 4 {
        return None;
    }
    Some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ])
}

// ----------------------------------------------------------------------------------
// Filters
// ----------------------------------------------------------------------------------

/// Decode a stream's data through its filters (Flate with predictors, ASCIIHex,
/// ASCII85, RunLength). Image filters are not decoded (signing never needs them).
pub(crate) fn decode(s: &Stream) -> Result<Vec<u8>, SignError> {
    let filters: Vec<Vec<u8>> = match s.dict.get(b"Filter") {
        None => Vec::new(),
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|f| f.as_name().map(<[u8]>::to_vec))
            .collect(),
        Some(_) => return Err(malformed("stream /Filter is not a name")),
    };
    let params: Vec<Option<Dict>> = match s.dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d.clone())],
        Some(Object::Array(a)) => a.iter().map(|p| p.as_dict().cloned()).collect(),
        _ => Vec::new(),
    };
    let mut data = s.data.clone();
    for (i, f) in filters.iter().enumerate() {
        let p = params.get(i).cloned().flatten();
        data = match f.as_slice() {
            b"FlateDecode" | b"Fl" => {
                let raw = inflate(&data)?;
                predict(raw, p.as_ref())?
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&data),
            b"ASCII85Decode" | b"A85" => ascii85(&data)?,
            b"RunLengthDecode" | b"RL" => run_length(&data)?,
            other => {
                return Err(SignError::Unsupported(format!(
                    "stream filter /{}",
                    String::from_utf8_lossy(other)
                )));
            }
        };
    }
    Ok(data)
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::new();
    let mut z = flate2::read::ZlibDecoder::new(data).take(MAX_DECODED_STREAM as u64 + 1);
    match z.read_to_end(&mut out) {
        Ok(_) => {}
        // A damaged tail after some good data: keep what was decoded (as viewers do).
        Err(_) if !out.is_empty() => {}
        Err(e) => return Err(malformed(format!("Flate data is damaged: {e}"))),
    }
    if out.len() > MAX_DECODED_STREAM {
        return Err(SignError::Limit(format!(
            "a stream decodes to more than {MAX_DECODED_STREAM} bytes"
        )));
    }
    Ok(out)
}

fn predict(data: Vec<u8>, params: Option<&Dict>) -> Result<Vec<u8>, SignError> {
    let Some(p) = params else {
        return Ok(data);
    };
    let get = |k: &[u8], d: i64| p.get(k).and_then(Object::as_i64).unwrap_or(d);
    let predictor = get(b"Predictor", 1);
    if predictor <= 1 {
        return Ok(data);
    }
    let colors = get(b"Colors", 1).clamp(1, 32) as usize;
    let bpc = get(b"BitsPerComponent", 8).clamp(1, 16) as usize;
    let columns = get(b"Columns", 1).clamp(1, 1 << 20) as usize;
    let bpp = (colors * bpc).div_ceil(8);
    let row = (colors * bpc * columns).div_ceil(8);
    if predictor == 2 {
        if bpc != 8 {
            return Err(SignError::Unsupported("TIFF predictor with bpc ≠ 8".into()));
        }
        let mut out = data;
        for r in out.chunks_mut(row) {
            for i in bpp..r.len() {
                r[i] = r[i].wrapping_add(r[i - bpp]);
            }
        }
        return Ok(out);
    }
    // PNG predictors: every row starts with its filter type.
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        if chunk.len() < 2 {
            break;
        }
        let ty = chunk[0];
        let mut cur = chunk[1..].to_vec();
        cur.resize(row, 0);
        for i in 0..row {
            let a = if i >= bpp { cur[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match ty {
                0 => cur[i],
                1 => cur[i].wrapping_add(a),
                2 => cur[i].wrapping_add(b),
                3 => cur[i].wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => {
                    let pa = (i16::from(b) - i16::from(c)).abs();
                    let pb = (i16::from(a) - i16::from(c)).abs();
                    let pc = (i16::from(a) + i16::from(b) - 2 * i16::from(c)).abs();
                    let pred = if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    };
                    cur[i].wrapping_add(pred)
                }
                _ => return Err(malformed("bad PNG predictor row type")),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn ascii_hex(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high: Option<u8> = None;
    for &c in data {
        if c == b'>' {
            break;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => continue,
        };
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    out
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group = [0u8; 5];
    let mut n = 0;
    let body = data.strip_prefix(b"<~").unwrap_or(data);
    for &c in body {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = c - b'!';
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                    if v > u64::from(u32::MAX) {
                        return Err(malformed("bad ASCII85 group"));
                    }
                    out.extend_from_slice(&(v as u32).to_be_bytes());
                    n = 0;
                }
            }
            c if is_whitespace(c) => {}
            _ => return Err(malformed("bad ASCII85 character")),
        }
        if out.len() > MAX_DECODED_STREAM {
            return Err(SignError::Limit("ASCII85 stream too large".into()));
        }
    }
    if n > 1 {
        for g in group.iter_mut().skip(n) {
            *g = 84;
        }
        let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        let bytes = (v.min(u64::from(u32::MAX)) as u32).to_be_bytes();
        out.extend_from_slice(&bytes[..n - 1]);
    }
    Ok(out)
}

fn run_length(data: &[u8]) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let len = data[i];
        i += 1;
        match len {
            128 => break,
            0..=127 => {
                let n = usize::from(len) + 1;
                let Some(s) = data.get(i..i + n) else {
                    break;
                };
                out.extend_from_slice(s);
                i += n;
            }
            _ => {
                let Some(&b) = data.get(i) else {
                    break;
                };
                out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
                i += 1;
            }
        }
        if out.len() > MAX_DECODED_STREAM {
            return Err(SignError::Limit("RunLength stream too large".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF from object bodies (numbered from 1) with a classic xref table.
    fn pdf(objects: &[&str], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(format!("trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        out
    }

    #[test]
    fn reads_a_minimal_file() {
        let data = pdf(
            &[
                "<</Type/Catalog/Pages 2 0 R>>",
                "<</Type/Pages/Kids[3 0 R]/Count 1>>",
                "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R>>",
                "<</Length 5 0 R>>\nstream\nBT ET\nendstream",
                "5",
            ],
            "<</Size 6/Root 1 0 R>>",
        );
        let doc = Document::open(&data).unwrap();
        let pages = doc.pages().unwrap();
        assert_eq!(pages, vec![ObjRef::new(3, 0)]);
        assert_eq!(doc.media_box(pages[0]).unwrap(), [0.0, 0.0, 200.0, 100.0]);
        let Object::Stream(s) = &*doc.get(ObjRef::new(4, 0)).unwrap() else {
            panic!("not a stream");
        };
        assert_eq!(s.data, b"BT ET");
    }

    #[test]
    fn cycles_are_errors_not_overflows() {
        // Streams whose /Length point at each other, a page tree that loops.
        let data = pdf(
            &[
                "<</Type/Catalog/Pages 2 0 R>>",
                "<</Type/Pages/Kids[2 0 R]/Count 1>>",
                "<</Length 4 0 R>>\nstream\nxx\nendstream",
                "<</Length 3 0 R>>\nstream\nyy\nendstream",
            ],
            "<</Size 5/Root 1 0 R>>",
        );
        let doc = Document::open(&data).unwrap();
        assert!(doc.pages().is_err());
        let _ = doc.get(ObjRef::new(3, 0));
        let _ = doc.get(ObjRef::new(4, 0));
        let encrypted = pdf(&["<</Type/Catalog>>"], "<</Size 2/Root 1 0 R/Encrypt<<>>>>");
        assert!(matches!(
            Document::open(&encrypted),
            Err(SignError::Encrypted)
        ));
    }
}
