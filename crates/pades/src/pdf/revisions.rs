//! The revision model (ISO 32000-2 §7.5.4–7.5.8): a PDF is a chain of revisions, each
//! ending with `startxref N %%EOF`, each with its own cross-reference section(s) (table,
//! stream or hybrid) and trailer, chained by `/Prev`.
//!
//! Revisions are found from the `startxref … %%EOF` markers in the file (not only by
//! following `/Prev` from the end, which an attacker controls), so an update whose
//! trailer was copied from the signed revision, or one without any cross-reference
//! section, still shows up as a revision. Bytes after the last marker are a malformed
//! tail. Objects are loaded lazily through a [`View`] of one revision, by offset, with
//! the object header checked against the cross-reference entry; nothing is repaired.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::{Deref, Range};
use std::rc::Rc;

use kyso_cades::report::Reason;

use crate::pdf::crypt::{self, Handler, ObjectKey, Opened};
use crate::pdf::objects::{
    DecodeBudget, Dict, Indirect, ObjRef, Object, Parser, Stream, decode_stream, is_whitespace,
    parse_indirect,
};
use crate::verify::{Limits, PdfError};

/// Where an object's current value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `f` entry (or type 0).
    Free,
    /// `n` entry (or type 1): at this byte offset.
    InUse { offset: usize, generation: u16 },
    /// Type 2: the `index`-th object of object stream `stream`.
    Compressed { stream: u32, index: u32 },
}

/// How a cross-reference section is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum XrefForm {
    /// A classic `xref` table with a `trailer` dictionary.
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
    /// A table whose trailer points to an additional stream (`/XRefStm`).
    Hybrid,
}

/// One cross-reference section.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) offset: usize,
    /// The section's bytes: `xref … trailer <<…>>`, or the xref stream object.
    pub(crate) span: Range<usize>,
    pub(crate) trailer: Dict,
    /// The xref stream's object number.
    pub(crate) stream_object: Option<u32>,
    entries: Vec<(u32, Entry)>,
}

/// One revision of the file.
#[derive(Debug, Clone)]
pub(crate) struct Revision {
    /// First byte (the end of the previous revision).
    pub(crate) start: usize,
    /// One past the end of line after `%%EOF`.
    pub(crate) end: usize,
    /// One past `%%EOF`.
    pub(crate) marker_end: usize,
    /// Where `startxref` stands.
    pub(crate) startxref_at: usize,
    /// The offset `startxref` names.
    pub(crate) startxref: usize,
    /// This revision's own cross-reference sections, the head first.
    pub(crate) sections: Vec<Section>,
    pub(crate) entries: HashMap<u32, Entry>,
    pub(crate) trailer: Dict,
    pub(crate) form: Option<XrefForm>,
    /// Structural problems found while reading this revision.
    pub(crate) anomalies: Vec<Reason>,
}

impl Revision {
    /// Objects this revision's sections write (its "changes"), object 0 excluded.
    pub(crate) fn written(&self) -> impl Iterator<Item = (u32, Entry)> + '_ {
        self.entries
            .iter()
            .filter(|(n, _)| **n != 0)
            .map(|(n, e)| (*n, *e))
    }

    /// Object numbers of this revision's cross-reference streams.
    pub(crate) fn xref_streams(&self) -> impl Iterator<Item = u32> + '_ {
        self.sections.iter().filter_map(|s| s.stream_object)
    }
}

/// A parsed file: its revisions and a lazy object store.
pub(crate) struct Document<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) limits: &'a Limits,
    pub(crate) revisions: Vec<Revision>,
    /// Non-whitespace bytes after the last revision.
    pub(crate) tail: Option<Range<usize>>,
    /// Problems that concern the file as a whole.
    pub(crate) notes: Vec<Reason>,
    /// An encrypted document that cannot be decrypted (wrong password, unsupported
    /// security handler): why.
    pub(crate) locked: Option<Reason>,
    /// The security handler of an encrypted document, opened.
    crypt: Option<Crypt>,
    budget: DecodeBudget,
    objects: RefCell<HashMap<Loc, Rc<Loaded>>>,
    object_streams: RefCell<HashMap<usize, Rc<ObjectStream>>>,
    cached_bytes: Cell<usize>,
    depth: Cell<usize>,
}

impl std::fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("len", &self.data.len())
            .field("revisions", &self.revisions.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Loc {
    Offset(usize),
    InStream { stream_offset: usize, index: u32 },
}

/// An object read from the file.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) object: Object,
    /// Its bytes (for an object inside an object stream: the object stream's).
    pub(crate) span: Range<usize>,
    /// The revision whose cross-reference section gave its location.
    pub(crate) revision: usize,
}

#[derive(Debug)]
struct ObjectStream {
    data: Vec<u8>,
    first: usize,
    /// (object number, offset relative to `first`)
    index: Vec<(u32, usize)>,
    span: Range<usize>,
}

/// An opened security handler and what it does not apply to.
#[derive(Debug)]
struct Crypt {
    handler: Handler,
    /// The `/Encrypt` dictionary's object (never encrypted).
    dict_ref: Option<ObjRef>,
}

/// A startxref marker.
#[derive(Debug, Clone, Copy)]
struct Marker {
    at: usize,
    offset: usize,
    marker_end: usize,
    end: usize,
}

impl<'a> Document<'a> {
    /// Read the revision structure of `data`; an encrypted document is opened with the
    /// empty user password.
    pub(crate) fn parse(data: &'a [u8], limits: &'a Limits) -> Result<Self, PdfError> {
        Self::open(data, limits, "")
    }

    /// Read the revision structure of `data`; an encrypted document is opened with
    /// `password` (user or owner password). A wrong password or an unsupported security
    /// handler is not an error: [`Document::locked`] says why, and objects stay
    /// encrypted.
    pub(crate) fn open(
        data: &'a [u8],
        limits: &'a Limits,
        password: &str,
    ) -> Result<Self, PdfError> {
        let mut doc = Self::read(data, limits)?;
        doc.open_security_handler(password);
        Ok(doc)
    }

    fn read(data: &'a [u8], limits: &'a Limits) -> Result<Self, PdfError> {
        if data.len() > limits.max_file_size {
            return Err(PdfError::Limit {
                what: "file size",
                max: limits.max_file_size,
            });
        }
        let header = data.get(..1024.min(data.len())).unwrap_or_default();
        let header_ok = memchr::memmem::find(header, b"%PDF-") == Some(0);
        let mut doc = Document {
            data,
            limits,
            revisions: Vec::new(),
            tail: None,
            notes: Vec::new(),
            locked: None,
            crypt: None,
            budget: DecodeBudget::new(limits.max_total_decoded),
            objects: RefCell::new(HashMap::new()),
            object_streams: RefCell::new(HashMap::new()),
            cached_bytes: Cell::new(0),
            depth: Cell::new(0),
        };
        let markers = find_markers(data, limits)?;
        if !header_ok {
            // A file with revisions but a damaged header is a damaged PDF (readers open
            // it), not some other kind of file: it gets a verdict, not an error.
            if markers.is_empty() {
                return Err(PdfError::NotPdf);
            }
            doc.notes.push(Reason::new(
                "header_damaged",
                "the file does not start with `%PDF-`: its header is damaged",
                "tệp không bắt đầu bằng `%PDF-`: phần đầu tệp bị hỏng",
            ));
        }
        let mut start = 0usize;
        let mut total_entries = 0usize;
        let count = markers.len();
        for (i, m) in markers.into_iter().enumerate() {
            if m.at < start {
                continue;
            }
            let last = i + 1 == count;
            let previous = doc.revisions.last().map(|r| r.trailer.clone());
            match doc.read_revision(start, m, last, previous.as_ref())? {
                Some(rev) => {
                    total_entries += rev.entries.len();
                    if total_entries > limits.max_objects {
                        return Err(PdfError::Limit {
                            what: "cross-reference entries",
                            max: limits.max_objects,
                        });
                    }
                    if doc.revisions.len() >= limits.max_revisions {
                        return Err(PdfError::Limit {
                            what: "revisions",
                            max: limits.max_revisions,
                        });
                    }
                    start = rev.end;
                    doc.revisions.push(rev);
                }
                None => doc.notes.push(Reason::new(
                    "spurious_startxref",
                    format!(
                        "a `startxref {} %%EOF` at byte {} names no cross-reference section; it is not taken as a revision boundary",
                        m.offset, m.at
                    ),
                    format!(
                        "dấu `startxref {} %%EOF` tại byte {} không trỏ tới bảng tham chiếu chéo nào",
                        m.offset, m.at
                    ),
                )),
            }
        }
        if let Some(first_garbage) = data[start..].iter().position(|b| !is_whitespace(*b)) {
            doc.tail = Some(start + first_garbage..data.len());
        }
        doc.check_chain();
        Ok(doc)
    }

    /// Read the revision that ends at `m`, starting at `start`. `None` when the marker
    /// names nothing readable and is not the last one (a spurious marker, e.g. inside
    /// stream data).
    fn read_revision(
        &self,
        start: usize,
        m: Marker,
        last: bool,
        previous: Option<&Dict>,
    ) -> Result<Option<Revision>, PdfError> {
        let mut rev = Revision {
            start,
            end: m.end,
            marker_end: m.marker_end,
            startxref_at: m.at,
            startxref: m.offset,
            sections: Vec::new(),
            entries: HashMap::new(),
            trailer: Dict::default(),
            form: None,
            anomalies: Vec::new(),
        };
        if m.offset < start || m.offset >= m.at {
            // `startxref` names a section outside this revision's bytes: the revision
            // has no cross-reference section of its own (an incremental-saving attack
            // pattern, or trailing objects "hidden" behind an old startxref).
            match self.read_section(m.offset) {
                Ok(section) => {
                    rev.trailer = section.trailer.clone();
                    rev.anomalies.push(Reason::new(
                        "startxref_outside_revision",
                        format!(
                            "`startxref {}` at byte {} points outside its own revision (bytes {}–{}): the update has no cross-reference section of its own",
                            m.offset, m.at, start, m.end
                        ),
                        format!(
                            "`startxref {}` tại byte {} trỏ ra ngoài phiên bản của nó: bản cập nhật không có bảng tham chiếu chéo riêng",
                            m.offset, m.at
                        ),
                    ));
                    return Ok(Some(rev));
                }
                Err(_) if !last => return Ok(None),
                Err(e) => {
                    rev.anomalies.push(broken_section(m.offset, &e));
                    self.reconstruct(&mut rev, previous)?;
                    return Ok(Some(rev));
                }
            }
        }
        let head = match self.read_section(m.offset) {
            Ok(s) => s,
            Err(PdfError::Limit { what, max }) => return Err(PdfError::Limit { what, max }),
            Err(_) if !last => return Ok(None),
            Err(e) => {
                rev.anomalies.push(broken_section(m.offset, &e));
                self.reconstruct(&mut rev, previous)?;
                return Ok(Some(rev));
            }
        };
        rev.form = Some(if head.stream_object.is_some() {
            XrefForm::Stream
        } else if head.trailer.get(b"XRefStm").is_some() {
            XrefForm::Hybrid
        } else {
            XrefForm::Table
        });
        rev.trailer = head.trailer.clone();
        // Sections chained inside this revision's bytes (a linearized file's main
        // section; a hybrid file's /XRefStm) belong to it.
        let mut queue = vec![head];
        let mut seen: HashSet<usize> = HashSet::new();
        while let Some(section) = queue.pop() {
            if !seen.insert(section.offset) || seen.len() > 64 {
                rev.anomalies.push(Reason::new(
                    "xref_loop",
                    "the cross-reference sections of a revision form a loop",
                    "các bảng tham chiếu chéo của một phiên bản tạo thành vòng lặp",
                ));
                break;
            }
            for key in [&b"XRefStm"[..], b"Prev"] {
                let Some(Object::Int(next)) = section.trailer.get(key) else {
                    continue;
                };
                let Ok(next) = usize::try_from(*next) else {
                    rev.anomalies.push(Reason::new(
                        "xref_offset_invalid",
                        "a negative cross-reference offset",
                        "vị trí bảng tham chiếu chéo âm",
                    ));
                    continue;
                };
                if next >= start && next < m.at && !seen.contains(&next) {
                    match self.read_section(next) {
                        Ok(s) => queue.push(s),
                        Err(e) => rev.anomalies.push(broken_section(next, &e)),
                    }
                }
            }
            rev.sections.push(section);
        }
        let mut duplicated = false;
        for section in &rev.sections {
            let mut own: HashSet<u32> = HashSet::with_capacity(section.entries.len());
            for (num, entry) in &section.entries {
                duplicated |= !own.insert(*num);
                match rev.entries.get(num) {
                    None => {
                        rev.entries.insert(*num, *entry);
                    }
                    // A hybrid file's table marks the objects of its /XRefStm free.
                    Some(Entry::Free) if section.stream_object.is_some() => {
                        rev.entries.insert(*num, *entry);
                    }
                    Some(_) => {}
                }
            }
        }
        if duplicated {
            // Readers disagree on which of two entries for one object counts.
            rev.anomalies.push(Reason::new(
                "xref_duplicate_entry",
                "a cross-reference section lists the same object twice",
                "một bảng tham chiếu chéo liệt kê cùng một đối tượng hai lần",
            ));
        }
        Ok(Some(rev))
    }

    /// Repair a revision whose own cross-reference section cannot be read, the way PDF
    /// readers do: its objects are located by scanning its bytes for `N G obj` headers
    /// (the last definition of a number wins; stream data is skipped), and its trailer is
    /// the last `trailer` dictionary in its bytes that names a `/Root`, else the previous
    /// revision's. The damage stays recorded as an anomaly, so the revision is still
    /// reported as a modification; what the repair buys is that the signatures and
    /// fields the revision defines are found and judged instead of silently lost.
    fn reconstruct(&self, rev: &mut Revision, previous: Option<&Dict>) -> Result<(), PdfError> {
        let end = rev.startxref_at.min(self.data.len());
        let entries = scan_objects(self.data, rev.start..end, self.limits)?;
        let trailer = memchr::memmem::rfind_iter(&self.data[rev.start..end], b"trailer")
            .take(8)
            .find_map(|at| {
                let mut p = Parser::new(self.data, rev.start + at + b"trailer".len(), self.limits);
                match p.object() {
                    Ok(Object::Dict(d)) if d.get(b"Root").and_then(Object::as_ref).is_some() => {
                        Some(d)
                    }
                    _ => None,
                }
            });
        let from_previous = trailer.is_none();
        if let Some(t) = trailer.or_else(|| previous.cloned()) {
            rev.trailer = t;
        }
        rev.anomalies.push(Reason::new(
            "xref_reconstructed",
            format!(
                "revision bytes {}–{}: {} objects located by scanning because the cross-reference section is damaged{}",
                rev.start,
                rev.end,
                entries.len(),
                if from_previous {
                    "; the previous revision's trailer was used"
                } else {
                    ""
                }
            ),
            format!(
                "phiên bản từ byte {} đến {}: bảng tham chiếu chéo bị hỏng, đã tìm {} đối tượng bằng cách quét tệp{}",
                rev.start,
                rev.end,
                entries.len(),
                if from_previous {
                    "; dùng trailer của phiên bản trước"
                } else {
                    ""
                }
            ),
        ));
        rev.entries = entries;
        Ok(())
    }

    /// Open the security handler named by the last revision's trailer (`/Encrypt`, with
    /// the first `/ID` string), ISO 32000-2 §7.6.
    fn open_security_handler(&mut self, password: &str) {
        let Some(last) = self.revisions.len().checked_sub(1) else {
            return;
        };
        let trailer = &self.revisions[last].trailer;
        let Some(encrypt) = trailer.get(b"Encrypt").cloned() else {
            return;
        };
        let id0 = match trailer.get(b"ID").and_then(Object::as_array) {
            Some([Object::String(s), ..]) => s.bytes.clone(),
            _ => Vec::new(),
        };
        let (dict, dict_ref) = match &encrypt {
            Object::Dict(d) => (Some(d.clone()), None),
            Object::Ref(r) => (
                self.load(last, *r)
                    .ok()
                    .flatten()
                    .and_then(|l| match &l.object {
                        Object::Dict(d) => Some(d.clone()),
                        _ => None,
                    }),
                Some(*r),
            ),
            _ => (None, None),
        };
        // Whatever was loaded to read the dictionary was read without decryption.
        self.objects.borrow_mut().clear();
        self.object_streams.borrow_mut().clear();
        self.cached_bytes.set(0);
        let Some(dict) = dict else {
            self.locked = Some(Reason::new(
                "encryption_unsupported",
                "the document is encrypted but its encryption dictionary (/Encrypt) cannot be read",
                "tài liệu được mã hóa nhưng không đọc được từ điển mã hóa (/Encrypt)",
            ));
            return;
        };
        match crypt::open(&dict, &id0, password) {
            Opened::Handler(handler) => self.crypt = Some(Crypt { handler, dict_ref }),
            Opened::WrongPassword => {
                self.locked = Some(if password.is_empty() {
                    Reason::new(
                        "encrypted_password_required",
                        "the document is encrypted with a user password: give it (`--password`) to verify the document",
                        "tài liệu được mã hóa bằng mật khẩu người dùng: cần nhập mật khẩu (`--password`) để kiểm tra",
                    )
                } else {
                    Reason::new(
                        "encrypted_password_required",
                        "the document is encrypted and the password given is neither its user nor its owner password",
                        "tài liệu được mã hóa và mật khẩu đã nhập không phải mật khẩu người dùng hay mật khẩu chủ sở hữu của nó",
                    )
                });
            }
            Opened::Unsupported(what) => {
                self.locked = Some(Reason::new(
                    "encryption_unsupported",
                    format!("the document is encrypted with what kyso does not support: {what}"),
                    format!("tài liệu được mã hóa theo cách kyso không hỗ trợ: {what}"),
                ));
            }
        }
    }

    /// The security handler that applies to an object written at byte `at`: the
    /// document's, when the trailer of the revision whose bytes hold it says the
    /// revision is encrypted (an update that adds encryption leaves the objects before
    /// it as they were written).
    fn crypt_at(&self, at: usize) -> Option<&Crypt> {
        let c = self.crypt.as_ref()?;
        let k = self.revisions.partition_point(|r| r.end <= at);
        let rev = self.revisions.get(k).or(self.revisions.last())?;
        rev.trailer.get(b"Encrypt").is_some().then_some(c)
    }

    /// Decrypt an indirect object whose header is at byte `at` (not one from an object
    /// stream): its strings, and its stream's data lazily (the key is kept on the
    /// stream). The `/Encrypt` dictionary, cross-reference streams and signature
    /// `/Contents` are not encrypted.
    pub(crate) fn decrypt(
        &self,
        at: usize,
        id: ObjRef,
        object: &mut Object,
    ) -> Result<(), PdfError> {
        let Some(c) = self.crypt_at(at) else {
            return Ok(());
        };
        if c.dict_ref == Some(id) {
            return Ok(());
        }
        let key = c.handler.string_key(id);
        match object {
            Object::Stream(s) => {
                if s.dict.name(b"Type") == Some(b"XRef") {
                    return Ok(());
                }
                if let Some(k) = &key {
                    decrypt_strings_in_dict(k, &mut s.dict)?;
                }
                s.crypt = c.handler.stream_key(id, &s.dict);
            }
            other => {
                if let Some(k) = &key {
                    decrypt_strings(k, other)?;
                }
            }
        }
        Ok(())
    }

    /// Check each revision's `/Prev` against the previous revision's `startxref`.
    fn check_chain(&mut self) {
        for k in 0..self.revisions.len() {
            let (before, rest) = self.revisions.split_at_mut(k);
            let rev = &mut rest[0];
            if rev.sections.is_empty() {
                continue;
            }
            let outward: Vec<i64> = rev
                .sections
                .iter()
                .filter_map(|s| s.trailer.int(b"Prev"))
                .filter(|p| usize::try_from(*p).is_ok_and(|p| p < rev.start || p >= rev.end))
                .collect();
            match before.last() {
                None => {
                    if !outward.is_empty() {
                        rev.anomalies.push(Reason::new(
                            "prev_outside_file",
                            "the first revision's /Prev points outside it",
                            "/Prev của phiên bản đầu tiên trỏ ra ngoài",
                        ));
                    }
                }
                Some(prev) => match outward.as_slice() {
                    [] => rev.anomalies.push(Reason::new(
                        "prev_missing",
                        "the update's trailer has no /Prev to the previous revision (a trailer copied from an older revision?)",
                        "trailer của bản cập nhật không có /Prev trỏ về phiên bản trước",
                    )),
                    [p] if usize::try_from(*p).ok() == Some(prev.startxref) => {}
                    _ => rev.anomalies.push(Reason::new(
                        "prev_mismatch",
                        format!(
                            "the update's /Prev {:?} is not the previous revision's startxref {}",
                            outward, prev.startxref
                        ),
                        format!(
                            "/Prev {:?} của bản cập nhật không khớp startxref {} của phiên bản trước",
                            outward, prev.startxref
                        ),
                    )),
                },
            }
        }
    }

    /// Read a cross-reference section (table or stream) at `offset`.
    fn read_section(&self, offset: usize) -> Result<Section, PdfError> {
        if offset >= self.data.len() {
            return Err(PdfError::malformed(
                offset,
                "cross-reference offset past the end",
            ));
        }
        if Parser::new(self.data, offset, self.limits).peek_keyword(b"xref") {
            self.read_table(offset)
        } else {
            // An xref stream: `N G obj << /Type /XRef … >> stream`.
            let ind = parse_indirect(self.data, offset, self.limits, &mut |r| {
                // /Length of an xref stream must be direct (ISO 32000-2 §7.5.8.2).
                Err(PdfError::malformed(
                    offset,
                    &format!("xref stream with an indirect /Length {r}"),
                ))
            })?;
            self.read_xref_stream(ind)
        }
    }

    fn read_table(&self, offset: usize) -> Result<Section, PdfError> {
        let mut p = Parser::new(self.data, offset, self.limits);
        p.expect_keyword(b"xref")?;
        let mut entries = Vec::new();
        loop {
            p.skip_ws();
            if p.peek_keyword(b"trailer") {
                p.pos += b"trailer".len();
                break;
            }
            let first = p.expect_uint(p.pos)?;
            let count = p.expect_uint(p.pos)?;
            if count as usize > self.limits.max_objects
                || entries.len() + count as usize > self.limits.max_objects
            {
                return Err(PdfError::Limit {
                    what: "cross-reference entries",
                    max: self.limits.max_objects,
                });
            }
            for i in 0..count {
                let num = u32::try_from(first + i)
                    .map_err(|_| PdfError::malformed(p.pos, "object number out of range"))?;
                let at = p.pos;
                let field = p.expect_uint(at)?;
                let generation = p.expect_uint(at)?;
                p.skip_ws();
                let kind = self.data.get(p.pos).copied();
                p.pos += 1;
                if self.data.get(p.pos).is_some_and(|b| !is_whitespace(*b)) {
                    return Err(PdfError::malformed(at, "malformed cross-reference entry"));
                }
                let entry = match kind {
                    Some(b'n') => Entry::InUse {
                        offset: usize::try_from(field)
                            .map_err(|_| PdfError::malformed(at, "offset out of range"))?,
                        generation: u16::try_from(generation)
                            .map_err(|_| PdfError::malformed(at, "generation out of range"))?,
                    },
                    // A free entry's generation is never used (some writers put 65536).
                    Some(b'f') => Entry::Free,
                    _ => {
                        return Err(PdfError::malformed(
                            at,
                            "cross-reference entry is neither n nor f",
                        ));
                    }
                };
                entries.push((num, entry));
            }
        }
        let trailer = match p.object()? {
            Object::Dict(d) => d,
            _ => return Err(PdfError::malformed(p.pos, "trailer is not a dictionary")),
        };
        Ok(Section {
            offset,
            span: offset..p.pos,
            trailer,
            stream_object: None,
            entries,
        })
    }

    fn read_xref_stream(&self, ind: Indirect) -> Result<Section, PdfError> {
        let offset = ind.span.start;
        let Object::Stream(stream) = &ind.object else {
            return Err(PdfError::malformed(
                offset,
                "cross-reference offset names neither a table nor a stream",
            ));
        };
        if stream.dict.name(b"Type") != Some(b"XRef") {
            return Err(PdfError::malformed(
                offset,
                "cross-reference stream without /Type /XRef",
            ));
        }
        let data = decode_stream(stream, self.data, self.limits, &self.budget)?;
        let widths: Vec<usize> = match stream.dict.get(b"W") {
            Some(Object::Array(a)) if a.len() == 3 => a
                .iter()
                .map(|o| match o {
                    Object::Int(n) if (0..=8).contains(n) => Ok(*n as usize),
                    _ => Err(PdfError::malformed(offset, "bad /W in xref stream")),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(PdfError::malformed(
                    offset,
                    "xref stream without /W [a b c]",
                ));
            }
        };
        let row: usize = widths.iter().sum();
        if row == 0 {
            return Err(PdfError::malformed(
                offset,
                "xref stream with zero-width rows",
            ));
        }
        let size = stream
            .dict
            .int(b"Size")
            .filter(|s| *s >= 0)
            .ok_or_else(|| PdfError::malformed(offset, "xref stream without /Size"))?;
        let index: Vec<(u64, u64)> = match stream.dict.get(b"Index") {
            None => vec![(0, size as u64)],
            Some(Object::Array(a)) if a.len() % 2 == 0 => a
                .chunks(2)
                .map(|c| match (&c[0], &c[1]) {
                    (Object::Int(f), Object::Int(n)) if *f >= 0 && *n >= 0 => {
                        Ok((*f as u64, *n as u64))
                    }
                    _ => Err(PdfError::malformed(offset, "bad /Index in xref stream")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(PdfError::malformed(offset, "bad /Index in xref stream")),
        };
        let total: u64 = index.iter().map(|(_, n)| *n).sum();
        if total > self.limits.max_objects as u64 {
            return Err(PdfError::Limit {
                what: "cross-reference entries",
                max: self.limits.max_objects,
            });
        }
        if (total as usize).saturating_mul(row) > data.len() {
            return Err(PdfError::malformed(
                offset,
                "xref stream shorter than its /Index says",
            ));
        }
        let field = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        let mut entries = Vec::with_capacity(total as usize);
        let mut rows = data.chunks_exact(row);
        for (first, count) in index {
            for i in 0..count {
                let Some(r) = rows.next() else { break };
                let num = u32::try_from(first + i)
                    .map_err(|_| PdfError::malformed(offset, "object number out of range"))?;
                let (t, rest) = r.split_at(widths[0]);
                let (f2, f3) = rest.split_at(widths[1]);
                let kind = if widths[0] == 0 { 1 } else { field(t) };
                let (f2, f3) = (field(f2), field(f3));
                let entry = match kind {
                    0 => Entry::Free,
                    1 => Entry::InUse {
                        offset: usize::try_from(f2)
                            .map_err(|_| PdfError::malformed(offset, "offset out of range"))?,
                        generation: u16::try_from(f3)
                            .map_err(|_| PdfError::malformed(offset, "generation out of range"))?,
                    },
                    2 => Entry::Compressed {
                        stream: u32::try_from(f2).map_err(|_| {
                            PdfError::malformed(offset, "object number out of range")
                        })?,
                        index: u32::try_from(f3)
                            .map_err(|_| PdfError::malformed(offset, "index out of range"))?,
                    },
                    // Unknown types are references to the null object (§7.5.8.3).
                    _ => Entry::Free,
                };
                entries.push((num, entry));
            }
        }
        Ok(Section {
            offset,
            span: ind.span.clone(),
            trailer: stream.dict.clone(),
            stream_object: Some(ind.id.num),
            entries,
        })
    }

    /// A view of the document as of revision `rev`.
    pub(crate) fn view(&self, rev: usize) -> View<'_, 'a> {
        View { doc: self, rev }
    }

    pub(crate) fn decode(&self, stream: &Stream) -> Result<Vec<u8>, PdfError> {
        decode_stream(stream, self.data, self.limits, &self.budget)
    }

    /// The effective entry for `num` as of revision `rev`, with the revision that wrote
    /// it.
    pub(crate) fn entry(&self, rev: usize, num: u32) -> Option<(usize, Entry)> {
        (0..=rev.min(self.revisions.len().saturating_sub(1)))
            .rev()
            .find_map(|k| self.revisions[k].entries.get(&num).map(|e| (k, *e)))
    }

    fn remember(&self, loc: Loc, loaded: Rc<Loaded>, weight: usize) {
        let used = self.cached_bytes.get() + weight;
        if used > self.limits.max_cache_bytes {
            self.objects.borrow_mut().clear();
            self.object_streams.borrow_mut().clear();
            self.cached_bytes.set(weight);
        } else {
            self.cached_bytes.set(used);
        }
        self.objects.borrow_mut().insert(loc, loaded);
    }

    fn load(&self, rev: usize, r: ObjRef) -> Result<Option<Rc<Loaded>>, PdfError> {
        let Some((defined_in, entry)) = self.entry(rev, r.num) else {
            return Ok(None);
        };
        let view_end = self.revisions.get(rev).map_or(0, |x| x.end);
        match entry {
            Entry::Free => Ok(None),
            Entry::InUse { offset, generation } => {
                if generation != r.generation {
                    return Ok(None);
                }
                if offset >= view_end {
                    return Err(PdfError::Malformed {
                        offset: offset as u64,
                        what: format!(
                            "object {r} lies after the end of revision {} (byte {view_end})",
                            rev + 1
                        ),
                    });
                }
                let loc = Loc::Offset(offset);
                if let Some(hit) = self.objects.borrow().get(&loc) {
                    return Ok(Some(hit.clone()));
                }
                let depth = self.depth.get();
                if depth > 8 {
                    return Err(PdfError::malformed(
                        offset,
                        "stream /Length references nest too deep",
                    ));
                }
                self.depth.set(depth + 1);
                let parsed =
                    parse_indirect(self.data, offset, self.limits, &mut |len_ref| match self
                        .load(rev, len_ref)?
                        .as_deref()
                        .map(|l| &l.object)
                    {
                        Some(Object::Int(n)) => Ok(*n),
                        _ => Err(PdfError::malformed(
                            offset,
                            "indirect /Length is not an integer",
                        )),
                    });
                self.depth.set(depth);
                let ind = parsed?;
                if ind.id != r {
                    return Err(PdfError::Malformed {
                        offset: offset as u64,
                        what: format!(
                            "the cross-reference entry for {r} points at object {}",
                            ind.id
                        ),
                    });
                }
                if ind.span.end > view_end {
                    return Err(PdfError::Malformed {
                        offset: offset as u64,
                        what: format!("object {r} runs past the end of revision {}", rev + 1),
                    });
                }
                let weight = 64 + ind.span.len().min(4096);
                let mut object = ind.object;
                self.decrypt(offset, r, &mut object)?;
                let loaded = Rc::new(Loaded {
                    object,
                    span: ind.span,
                    revision: defined_in,
                });
                self.remember(loc, loaded.clone(), weight);
                Ok(Some(loaded))
            }
            Entry::Compressed { stream, index } => {
                if r.generation != 0 {
                    return Ok(None);
                }
                let os = self.object_stream(rev, stream)?;
                let loc = Loc::InStream {
                    stream_offset: os.span.start,
                    index,
                };
                if let Some(hit) = self.objects.borrow().get(&loc) {
                    return Ok(Some(hit.clone()));
                }
                let &(num, rel) = os.index.get(index as usize).ok_or_else(|| {
                    PdfError::malformed(os.span.start, "object stream index out of range")
                })?;
                if num != r.num {
                    return Err(PdfError::Malformed {
                        offset: os.span.start as u64,
                        what: format!(
                            "object stream entry {index} holds object {num}, not {}",
                            r.num
                        ),
                    });
                }
                let start = os
                    .first
                    .checked_add(rel)
                    .filter(|s| *s < os.data.len())
                    .ok_or_else(|| {
                        PdfError::malformed(os.span.start, "object stream offset out of range")
                    })?;
                let object = Parser::new(&os.data, start, self.limits).object()?;
                if matches!(object, Object::Stream(_)) {
                    return Err(PdfError::malformed(
                        os.span.start,
                        "stream inside an object stream",
                    ));
                }
                let loaded = Rc::new(Loaded {
                    object,
                    span: os.span.clone(),
                    revision: defined_in,
                });
                self.remember(loc, loaded.clone(), 256);
                Ok(Some(loaded))
            }
        }
    }

    fn object_stream(&self, rev: usize, num: u32) -> Result<Rc<ObjectStream>, PdfError> {
        let r = ObjRef { num, generation: 0 };
        let Some((_, Entry::InUse { offset, .. })) = self.entry(rev, num) else {
            return Err(PdfError::Malformed {
                offset: 0,
                what: format!("object stream {num} is not an uncompressed object"),
            });
        };
        if let Some(hit) = self.object_streams.borrow().get(&offset) {
            return Ok(hit.clone());
        }
        let loaded = self
            .load(rev, r)?
            .ok_or_else(|| PdfError::malformed(offset, "object stream missing"))?;
        let Object::Stream(stream) = &loaded.object else {
            return Err(PdfError::malformed(offset, "object stream is not a stream"));
        };
        if stream.dict.name(b"Type") != Some(b"ObjStm") {
            return Err(PdfError::malformed(
                offset,
                "object stream without /Type /ObjStm",
            ));
        }
        let n = stream
            .dict
            .int(b"N")
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= self.limits.max_objects)
            .ok_or_else(|| PdfError::malformed(offset, "object stream without a valid /N"))?;
        let first = stream
            .dict
            .int(b"First")
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| PdfError::malformed(offset, "object stream without a valid /First"))?;
        let data = self.decode(stream)?;
        let mut p = Parser::new(&data, 0, self.limits);
        let mut index = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let num = p.expect_uint(0)?;
            let rel = p.expect_uint(0)?;
            index.push((
                u32::try_from(num).map_err(|_| PdfError::malformed(offset, "object number"))?,
                usize::try_from(rel).map_err(|_| PdfError::malformed(offset, "offset"))?,
            ));
        }
        if first > data.len() {
            return Err(PdfError::malformed(
                offset,
                "object stream /First past its data",
            ));
        }
        let weight = data.len() + 64;
        let os = Rc::new(ObjectStream {
            data,
            first,
            index,
            span: loaded.span.clone(),
        });
        self.cached_bytes.set(self.cached_bytes.get() + weight);
        self.object_streams.borrow_mut().insert(offset, os.clone());
        Ok(os)
    }
}

/// Whether `d` is a signature dictionary, whose `/Contents` is never encrypted.
fn is_signature_dict(d: &Dict) -> bool {
    matches!(d.name(b"Type"), Some(b"Sig" | b"DocTimeStamp"))
        || (d.get(b"ByteRange").is_some() && d.get(b"Contents").is_some())
}

fn decrypt_strings(key: &ObjectKey, o: &mut Object) -> Result<(), PdfError> {
    match o {
        Object::String(s) => {
            s.bytes = key.decrypt(&s.bytes).map_err(|e| {
                PdfError::malformed(s.span.start, &format!("encrypted string: {}", e.0))
            })?;
        }
        Object::Array(a) => {
            for item in a {
                decrypt_strings(key, item)?;
            }
        }
        Object::Dict(d) => decrypt_strings_in_dict(key, d)?,
        Object::Stream(s) => decrypt_strings_in_dict(key, &mut s.dict)?,
        _ => {}
    }
    Ok(())
}

fn decrypt_strings_in_dict(key: &ObjectKey, d: &mut Dict) -> Result<(), PdfError> {
    let signature = is_signature_dict(d);
    for (k, v) in &mut d.entries {
        if signature && k.as_slice() == b"Contents" {
            continue;
        }
        decrypt_strings(key, v)?;
    }
    Ok(())
}

/// Object headers (`N G obj`) in `range`, as a repairing reader finds them: each
/// object's data is skipped once parsed (so `1 0 obj` inside a stream does not count),
/// and a later definition of a number replaces an earlier one.
pub(crate) fn scan_objects(
    data: &[u8],
    range: Range<usize>,
    limits: &Limits,
) -> Result<HashMap<u32, Entry>, PdfError> {
    let mut entries = HashMap::new();
    let mut pos = range.start;
    while pos < range.end {
        let Some(rel) = memchr::memmem::find(&data[pos..range.end], b"obj") else {
            break;
        };
        let kw = pos + rel;
        pos = kw + 3;
        if data
            .get(kw + 3)
            .is_some_and(|b| !is_whitespace(*b) && !b"<[(/%".contains(b))
        {
            continue; // `objstm`, `object`, …
        }
        let Some(header) = object_header_before(data, range.start, kw) else {
            continue;
        };
        let Ok(ind) = parse_indirect(data, header, limits, &mut |_| {
            Err(PdfError::malformed(
                header,
                "indirect /Length while scanning",
            ))
        }) else {
            // An unreadable object (or a stream with an indirect /Length): skip to its
            // `endobj` so that nothing inside it is taken for a header.
            if let Some(e) = memchr::memmem::find(&data[pos..range.end], b"endobj") {
                let (num, generation) = header_numbers(data, header);
                if let (Some(num), Some(generation)) = (num, generation) {
                    entries.insert(
                        num,
                        Entry::InUse {
                            offset: header,
                            generation,
                        },
                    );
                }
                pos += e + b"endobj".len();
            }
            continue;
        };
        if entries.len() >= limits.max_objects {
            return Err(PdfError::Limit {
                what: "cross-reference entries",
                max: limits.max_objects,
            });
        }
        entries.insert(
            ind.id.num,
            Entry::InUse {
                offset: header,
                generation: ind.id.generation,
            },
        );
        pos = pos.max(ind.span.end);
    }
    Ok(entries)
}

/// The start of `N G ` right before the `obj` keyword at `kw`, if that is what precedes it.
fn object_header_before(data: &[u8], floor: usize, kw: usize) -> Option<usize> {
    let mut p = kw;
    let digits = |p: &mut usize, need_ws: bool| -> bool {
        let mut ws = false;
        while *p > floor && is_whitespace(data[*p - 1]) {
            *p -= 1;
            ws = true;
        }
        if need_ws && !ws {
            return false;
        }
        let stop = *p;
        while *p > floor && data[*p - 1].is_ascii_digit() && stop - *p < 10 {
            *p -= 1;
        }
        *p < stop
    };
    if !digits(&mut p, true) || !digits(&mut p, true) {
        return None;
    }
    // Lenient as a repairing reader is: anything but a letter or digit may precede.
    (p == floor || p == 0 || !data[p - 1].is_ascii_alphanumeric()).then_some(p)
}

/// The indirect object whose bytes contain position `p`, found by looking back for its
/// `N G obj` header (at most a few candidates, within `window` bytes): (header offset,
/// object).
pub(crate) fn object_around(
    data: &[u8],
    p: usize,
    window: usize,
    limits: &Limits,
) -> Option<(usize, Indirect)> {
    let floor = p.saturating_sub(window);
    memchr::memmem::rfind_iter(&data[floor..p], b"obj")
        .take(8)
        .find_map(|rel| {
            let header = object_header_before(data, floor, floor + rel)?;
            let ind = parse_indirect(data, header, limits, &mut |_| {
                Err(PdfError::malformed(
                    header,
                    "indirect /Length while scanning",
                ))
            })
            .ok()?;
            ind.span.contains(&p).then_some((header, ind))
        })
}

fn header_numbers(data: &[u8], at: usize) -> (Option<u32>, Option<u16>) {
    let text = String::from_utf8_lossy(&data[at..data.len().min(at + 32)]).into_owned();
    let mut it = text.split_ascii_whitespace();
    (
        it.next().and_then(|n| n.parse().ok()),
        it.next().and_then(|g| g.parse().ok()),
    )
}

fn broken_section(offset: usize, e: &PdfError) -> Reason {
    Reason::new(
        "xref_malformed",
        format!("the cross-reference section at byte {offset} cannot be read: {e}"),
        format!("không đọc được bảng tham chiếu chéo tại byte {offset}: {e}"),
    )
}

/// Every `startxref N %%EOF` in the file, in order.
fn find_markers(data: &[u8], limits: &Limits) -> Result<Vec<Marker>, PdfError> {
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(data, b"startxref") {
        let mut p = at + b"startxref".len();
        let skip = |p: &mut usize| {
            while data.get(*p).is_some_and(|b| is_whitespace(*b)) {
                *p += 1;
            }
        };
        skip(&mut p);
        let digits_start = p;
        while data.get(p).is_some_and(u8::is_ascii_digit) && p - digits_start < 20 {
            p += 1;
        }
        let Ok(offset) = std::str::from_utf8(&data[digits_start..p])
            .unwrap_or("")
            .parse::<usize>()
        else {
            continue;
        };
        skip(&mut p);
        if data.get(p..p + 5) != Some(b"%%EOF") {
            continue;
        }
        if offset == 0 {
            // The dummy marker of a linearized file's first-page section.
            continue;
        }
        let marker_end = p + 5;
        let end = match data.get(marker_end..marker_end + 2) {
            Some(b"\r\n") => marker_end + 2,
            _ => match data.get(marker_end) {
                Some(b'\n' | b'\r') => marker_end + 1,
                _ => marker_end,
            },
        };
        if out.len() >= limits.max_revisions * 4 {
            return Err(PdfError::Limit {
                what: "startxref markers",
                max: limits.max_revisions * 4,
            });
        }
        out.push(Marker {
            at,
            offset,
            marker_end,
            end,
        });
    }
    Ok(out)
}

/// The document as of one revision.
#[derive(Clone, Copy)]
pub(crate) struct View<'d, 'a> {
    pub(crate) doc: &'d Document<'a>,
    pub(crate) rev: usize,
}

impl std::fmt::Debug for View<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "View(revision {})", self.rev + 1)
    }
}

/// A resolved value: borrowed when direct, shared when loaded.
pub(crate) enum Val<'o> {
    Direct(&'o Object),
    Loaded(Rc<Loaded>),
    Null,
}

static NULL: Object = Object::Null;

impl Deref for Val<'_> {
    type Target = Object;
    fn deref(&self) -> &Object {
        match self {
            Val::Direct(o) => o,
            Val::Loaded(l) => &l.object,
            Val::Null => &NULL,
        }
    }
}

impl<'d, 'a> View<'d, 'a> {
    pub(crate) fn revision(&self) -> &'d Revision {
        &self.doc.revisions[self.rev]
    }

    pub(crate) fn trailer(&self) -> &'d Dict {
        &self.revision().trailer
    }

    /// Load `r` as of this revision; `None` for a free or absent object (null).
    pub(crate) fn load(&self, r: ObjRef) -> Result<Option<Rc<Loaded>>, PdfError> {
        self.doc.load(self.rev, r)
    }

    /// Resolve a value that may be a reference.
    pub(crate) fn resolve<'o>(&self, o: &'o Object) -> Result<Val<'o>, PdfError> {
        match o {
            Object::Ref(r) => Ok(match self.load(*r)? {
                Some(l) => Val::Loaded(l),
                None => Val::Null,
            }),
            other => Ok(Val::Direct(other)),
        }
    }

    /// Resolve `dict[key]`.
    pub(crate) fn get<'o>(&self, dict: &'o Dict, key: &[u8]) -> Result<Val<'o>, PdfError> {
        match dict.get(key) {
            Some(o) => self.resolve(o),
            None => Ok(Val::Null),
        }
    }

    /// The catalog (`/Root`).
    pub(crate) fn root(&self) -> Result<(Option<ObjRef>, Rc<Loaded>), PdfError> {
        let root_ref = self.trailer().get(b"Root").and_then(Object::as_ref);
        let Some(r) = root_ref else {
            return Err(PdfError::malformed(
                self.revision().startxref,
                "trailer without an indirect /Root",
            ));
        };
        match self.load(r)? {
            Some(l) if l.object.as_dict().is_some() => Ok((Some(r), l)),
            _ => Err(PdfError::malformed(
                self.revision().startxref,
                "/Root is not a dictionary",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn doc(bytes: &[u8]) -> Document<'_> {
        static LIMITS: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        Document::parse(bytes, LIMITS.get_or_init(Limits::default)).unwrap()
    }

    const SIMPLE: &str = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n";

    #[test]
    fn reads_a_table_and_an_update() {
        let base = SIMPLE.as_bytes().to_vec();
        let d = doc(&base);
        assert_eq!(d.revisions.len(), 1);
        assert_eq!(d.revisions[0].end, base.len());
        let (_, root) = d.view(0).root().unwrap();
        assert_eq!(
            root.object.as_dict().unwrap().name(b"Type"),
            Some(&b"Catalog"[..])
        );

        let mut upd = base.clone();
        let off = upd.len();
        upd.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 /X 1 >>\nendobj\n");
        let xref = upd.len();
        upd.extend_from_slice(
            format!("xref\n0 1\n0000000000 65535 f \n2 1\n{off:010} 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R /Prev 110 >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        let d = doc(&upd);
        assert_eq!(d.revisions.len(), 2);
        assert!(
            d.revisions[1].anomalies.is_empty(),
            "{:?}",
            d.revisions[1].anomalies
        );
        let p0 = d
            .view(0)
            .load(ObjRef {
                num: 2,
                generation: 0,
            })
            .unwrap()
            .unwrap();
        let p1 = d
            .view(1)
            .load(ObjRef {
                num: 2,
                generation: 0,
            })
            .unwrap()
            .unwrap();
        assert!(p0.object.as_dict().unwrap().get(b"X").is_none());
        assert_eq!(p1.object.as_dict().unwrap().int(b"X"), Some(1));
    }

    #[test]
    fn appended_bytes_without_a_marker_are_a_tail() {
        let mut b = SIMPLE.as_bytes().to_vec();
        b.extend_from_slice(b"3 0 obj (evil) endobj\n");
        let d = doc(&b);
        assert_eq!(d.revisions.len(), 1);
        assert!(d.tail.is_some());
        let mut b = SIMPLE.as_bytes().to_vec();
        b.extend_from_slice(b"\n\r\n  ");
        assert!(doc(&b).tail.is_none());
    }

    #[test]
    fn a_header_is_required() {
        let limits = Limits::default();
        assert!(matches!(
            Document::parse(b"hello", &limits),
            Err(PdfError::NotPdf)
        ));
    }
}
