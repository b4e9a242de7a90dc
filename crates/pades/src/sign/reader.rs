//! Reading a PDF to sign it, through the verifier's hostile-input parser and its
//! [`Limits`](crate::verify::Limits) (`crate::pdf::revisions`): the last revision of
//! the file (its cross-reference sections — tables, streams, hybrid and linearized
//! files — over the revisions before it), objects on demand (including those inside
//! object streams), stream filters and predictors, and the page tree. Objects are
//! converted to the signer's own [`Object`] model, which the incremental update writes.
//! Nothing else is parsed, so a 100 MB file costs the time to read its xref, not its
//! content.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::LazyLock;

use super::SignError;
use super::object::{Dict, ObjRef, Object, Stream};
use crate::pdf::objects::{self as pdf, ObjRef as PdfRef};
use crate::pdf::revisions::{self, View};
use crate::verify::{Limits, PdfError};

/// Most objects a document may declare.
const MAX_OBJECTS: u64 = 10_000_000;
/// Most pages.
const MAX_PAGES: usize = 1_000_000;
/// Deepest page tree and reference chain.
const MAX_TREE_DEPTH: usize = 64;

/// The signer's limits on reading: 64 MiB per decoded stream, 256 MiB in all.
static LIMITS: LazyLock<Limits> = LazyLock::new(|| Limits {
    max_decoded_stream: 64 << 20,
    max_total_decoded: 256 << 20,
    ..Limits::default()
});

/// The kind of the newest cross-reference section (the update keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XrefKind {
    Table,
    Stream,
}

/// A PDF opened for signing.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) data: &'a [u8],
    /// The file as the verifier reads it.
    pub(crate) pdf: revisions::Document<'a>,
    /// The newest trailer (with `/Root`, `/Info`, `/ID` from older ones when it lacks
    /// them).
    pub(crate) trailer: Dict,
    /// Offset of the newest cross-reference section (`startxref`).
    pub(crate) startxref: usize,
    /// One more than the highest object number in use.
    pub(crate) size: u32,
    pub(crate) xref_kind: XrefKind,
    cache: RefCell<HashMap<ObjRef, Rc<Object>>>,
    /// Streams read, by the offset of their data: decoded through the verifier.
    streams: RefCell<HashMap<usize, pdf::Stream>>,
}

fn malformed(what: impl Into<String>) -> SignError {
    SignError::Malformed(what.into())
}

/// A verifier error as a signing error.
pub(crate) fn error(e: PdfError) -> SignError {
    match e {
        PdfError::Limit { .. } => SignError::Limit(e.to_string()),
        PdfError::Unsupported(_) => SignError::Unsupported(e.to_string()),
        other => SignError::Malformed(other.to_string()),
    }
}

impl<'a> Document<'a> {
    /// Open: header check, revisions, trailer. Refuses encrypted files and files whose
    /// last cross-reference section is damaged.
    pub(crate) fn open(data: &'a [u8]) -> Result<Self, SignError> {
        let head = &data[..data.len().min(1024)];
        if memchr::memmem::find(head, b"%PDF-").is_none() {
            return Err(malformed("no %PDF- header: not a PDF file"));
        }
        let doc = revisions::Document::parse(data, &LIMITS).map_err(error)?;
        let Some(last) = doc.revisions.last() else {
            return Err(malformed(
                "no startxref … %%EOF at the end of the file (truncated?)",
            ));
        };
        // An update after the last `startxref … %%EOF` that did not finish: signing the
        // revision before it would hide the update's objects behind the new one.
        if let Some(tail) = &doc.tail
            && memchr::memmem::find(data.get(tail.clone()).unwrap_or_default(), b"startxref")
                .is_some()
        {
            return Err(malformed(
                "the file ends in an unfinished update (no %%EOF after its last startxref)",
            ));
        }
        if last
            .anomalies
            .iter()
            .any(|r| r.code == "xref_reconstructed")
        {
            return Err(malformed(
                "the last cross-reference section is damaged (the file needs repair)",
            ));
        }
        let mut trailer = convert_dict(data, &last.trailer, &mut HashMap::new());
        for older in doc.revisions.iter().rev().skip(1) {
            for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
                if trailer.get(key).is_none()
                    && let Some(v) = older.trailer.get(key)
                {
                    trailer.set(key, convert(data, v, &mut HashMap::new()));
                }
            }
        }
        if trailer.get(b"Encrypt").is_some() {
            return Err(SignError::Encrypted);
        }
        if trailer.get(b"Root").and_then(Object::as_ref).is_none() {
            return Err(malformed("the trailer has no /Root catalog reference"));
        }
        let mut size: u64 = 0;
        for r in &doc.revisions {
            if let Some(s) = r.trailer.int(b"Size") {
                size = size.max(u64::try_from(s).unwrap_or(0));
            }
            if let Some(m) = r.entries.keys().copied().max() {
                size = size.max(u64::from(m) + 1);
            }
        }
        if size > MAX_OBJECTS {
            return Err(malformed(format!("{size} objects exceed the limit")));
        }
        let xref_kind = match last.form {
            Some(revisions::XrefForm::Stream) => XrefKind::Stream,
            _ => XrefKind::Table,
        };
        Ok(Document {
            data,
            startxref: last.startxref,
            pdf: doc,
            trailer,
            size: size as u32,
            xref_kind,
            cache: RefCell::new(HashMap::new()),
            streams: RefCell::new(HashMap::new()),
        })
    }

    /// The last revision, as the verifier reads it.
    pub(crate) fn view(&self) -> View<'_, 'a> {
        self.pdf.view(self.pdf.revisions.len() - 1)
    }

    /// The object `r` (`Null` if free or missing, as ISO 32000 says).
    pub(crate) fn get(&self, r: ObjRef) -> Result<Rc<Object>, SignError> {
        if let Some(o) = self.cache.borrow().get(&r) {
            return Ok(o.clone());
        }
        let loaded = self
            .view()
            .load(PdfRef {
                num: r.num,
                generation: r.generation,
            })
            .map_err(error)?;
        let obj = match loaded {
            Some(l) => convert(self.data, &l.object, &mut self.streams.borrow_mut()),
            None => Object::Null,
        };
        let obj = Rc::new(obj);
        // Streams can be large: only small objects are cached.
        if !matches!(&*obj, Object::Stream(_)) {
            self.cache.borrow_mut().insert(r, obj.clone());
        }
        Ok(obj)
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

    /// The decoded data of a stream read from the file, with the document's budget.
    pub(crate) fn decode_stream(&self, s: &Stream) -> Result<Vec<u8>, SignError> {
        let Some(at) = s.source else {
            return Err(malformed("a stream not read from the file"));
        };
        let stream = self.streams.borrow().get(&at).cloned();
        match stream {
            Some(stream) => self.pdf.decode(&stream).map_err(error),
            None => Err(malformed("a stream not read from the file")),
        }
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

/// A verifier object as a signer object; streams keep their encoded data, and are
/// remembered in `streams` for decoding.
pub(crate) fn convert(
    data: &[u8],
    o: &pdf::Object,
    streams: &mut HashMap<usize, pdf::Stream>,
) -> Object {
    match o {
        pdf::Object::Null => Object::Null,
        pdf::Object::Bool(b) => Object::Bool(*b),
        pdf::Object::Int(i) => Object::Int(*i),
        pdf::Object::Real(r) => Object::Real(*r),
        pdf::Object::String(s) => Object::String {
            bytes: s.bytes.clone(),
            hex: s.hex,
        },
        pdf::Object::Name(n) => Object::Name(n.clone()),
        pdf::Object::Array(a) => {
            Object::Array(a.iter().map(|x| convert(data, x, streams)).collect())
        }
        pdf::Object::Dict(d) => Object::Dict(convert_dict(data, d, streams)),
        pdf::Object::Ref(r) => Object::Ref(ObjRef::new(r.num, r.generation)),
        pdf::Object::Stream(s) => {
            streams.insert(s.data.start, s.clone());
            Object::Stream(Stream {
                dict: convert_dict(data, &s.dict, streams),
                data: data.get(s.data.clone()).unwrap_or_default().to_vec(),
                source: Some(s.data.start),
            })
        }
    }
}

fn convert_dict(data: &[u8], d: &pdf::Dict, streams: &mut HashMap<usize, pdf::Stream>) -> Dict {
    Dict(
        d.entries
            .iter()
            .map(|(k, v)| (k.clone(), convert(data, v, streams)))
            .collect(),
    )
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
