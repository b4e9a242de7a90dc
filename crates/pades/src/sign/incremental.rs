//! Writing an incremental update (ISO 32000-1 §7.5.6): new and changed objects, a
//! cross-reference section of the same kind as the previous one (table or stream) and
//! a trailer with `/Prev`. The original bytes are never touched; the update is
//! returned separately so the caller can append it without copying the file.
//!
//! Signature placeholders (`/ByteRange`, `/Contents`) have fixed widths, so filling
//! them in later moves no offset.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kyso_signer::{DigestAlgorithm, Hasher};

use super::SignError;
use super::object::{Bytes, Dict, Marks, ObjRef, Object, write_object};
use super::reader::{Document, XrefKind};

/// An update being built on top of a document.
#[derive(Debug)]
pub(crate) struct Update<'d, 'a> {
    pub(crate) doc: &'d Document<'a>,
    next: u32,
    objects: BTreeMap<u32, (u16, Option<Object>)>,
}

/// A written update.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// Length of the document the update is appended to.
    pub(crate) base: usize,
    /// The update's bytes.
    pub(crate) bytes: Vec<u8>,
    /// Placeholder positions within `bytes`.
    pub(crate) marks: Marks,
}

impl<'d, 'a> Update<'d, 'a> {
    pub(crate) fn new(doc: &'d Document<'a>) -> Self {
        Self {
            doc,
            next: doc.size.max(1),
            objects: BTreeMap::new(),
        }
    }

    /// Add a new object.
    pub(crate) fn add(&mut self, obj: Object) -> ObjRef {
        let r = self.reserve();
        self.set(r, obj);
        r
    }

    /// Allocate a number for an object set later with [`Update::set`].
    pub(crate) fn reserve(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next, 0);
        self.next += 1;
        self.objects.insert(r.num, (0, None));
        r
    }

    /// Replace (or fill in) object `r`.
    pub(crate) fn set(&mut self, r: ObjRef, obj: Object) {
        self.objects.insert(r.num, (r.generation, Some(obj)));
    }

    /// The object as this update currently has it.
    pub(crate) fn current(&self, r: ObjRef) -> Result<Object, SignError> {
        if let Some((_, Some(o))) = self.objects.get(&r.num) {
            return Ok(o.clone());
        }
        Ok(self.doc.get(r)?.as_ref().clone())
    }

    /// Serialize the update.
    pub(crate) fn write(mut self) -> Result<Written, SignError> {
        let data = self.doc.data;
        let base = data.len();
        let mut out: Vec<u8> = Vec::new();
        if !matches!(data.last(), Some(b'\n' | b'\r')) {
            out.push(b'\n');
        }
        let mut marks = Marks::default();
        let mut offsets: BTreeMap<u32, (usize, u16)> = BTreeMap::new();
        let xref_stream_ref = match self.doc.xref_kind {
            XrefKind::Stream => Some(self.reserve()),
            XrefKind::Table => None,
        };
        for (num, (generation, obj)) in &self.objects {
            if Some(*num) == xref_stream_ref.map(|r| r.num) {
                continue;
            }
            let Some(obj) = obj else {
                return Err(SignError::Misuse(format!(
                    "object {num} was reserved but never written"
                )));
            };
            offsets.insert(*num, (base + out.len(), *generation));
            let _ = writeln!(Bytes(&mut out), "{num} {generation} obj");
            write_object(&mut out, obj, &mut marks);
            out.extend_from_slice(b"\nendobj\n");
        }
        let size = self.next.max(self.doc.size);
        let mut trailer = Dict::new().with(b"Size", Object::Int(i64::from(size)));
        trailer.set(b"Root", Object::Ref(self.doc.catalog_ref()?));
        if let Some(info) = self
            .doc
            .trailer
            .get(b"Info")
            .filter(|i| i.as_ref().is_some())
        {
            trailer.set(b"Info", info.clone());
        }
        if let Some(id) = self.doc.trailer.get(b"ID") {
            let id = self.doc.resolve(id)?;
            if matches!(&*id, Object::Array(a) if a.len() == 2) {
                trailer.set(b"ID", id.as_ref().clone());
            }
        }
        trailer.set(b"Prev", Object::Int(self.doc.startxref as i64));
        let xref_offset = base + out.len();
        match xref_stream_ref {
            None => {
                out.extend_from_slice(b"xref\n");
                for run in runs(&offsets) {
                    let _ = writeln!(Bytes(&mut out), "{} {}", run[0].0, run.len());
                    for (_, (off, generation)) in run {
                        let _ = write!(Bytes(&mut out), "{off:010} {generation:05} n\r\n");
                    }
                }
                out.extend_from_slice(b"trailer\n");
                write_object(&mut out, &Object::Dict(trailer), &mut marks);
                out.push(b'\n');
            }
            Some(xr) => {
                offsets.insert(xr.num, (xref_offset, 0));
                let max_off = offsets.values().map(|(o, _)| *o).max().unwrap_or(0);
                let width = (1..=8)
                    .find(|w| (max_off as u128) < (1u128 << (8 * w)))
                    .unwrap_or(8);
                let mut rows = Vec::new();
                let mut index = Vec::new();
                for run in runs(&offsets) {
                    index.push(Object::Int(i64::from(run[0].0)));
                    index.push(Object::Int(run.len() as i64));
                    for (_, (off, generation)) in run {
                        rows.push(1u8);
                        rows.extend_from_slice(&(off as u64).to_be_bytes()[8 - width..]);
                        rows.extend_from_slice(&generation.to_be_bytes());
                    }
                }
                let mut dict = trailer;
                dict.set(b"Type", Object::name("XRef"));
                dict.set(
                    b"W",
                    Object::Array(vec![
                        Object::Int(1),
                        Object::Int(width as i64),
                        Object::Int(2),
                    ]),
                );
                dict.set(b"Index", Object::Array(index));
                let _ = writeln!(Bytes(&mut out), "{} 0 obj", xr.num);
                write_object(
                    &mut out,
                    &Object::Stream(super::object::Stream {
                        dict,
                        data: rows,
                        source: None,
                    }),
                    &mut marks,
                );
                out.extend_from_slice(b"\nendobj\n");
            }
        }
        let _ = write!(Bytes(&mut out), "startxref\n{xref_offset}\n%%EOF\n");
        Ok(Written {
            base,
            bytes: out,
            marks,
        })
    }
}

/// Consecutive object numbers grouped.
fn runs(offsets: &BTreeMap<u32, (usize, u16)>) -> Vec<Vec<(u32, (usize, u16))>> {
    let mut out: Vec<Vec<(u32, (usize, u16))>> = Vec::new();
    for (&num, &v) in offsets {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|(n, _)| n + 1 == num) => run.push((num, v)),
            _ => out.push(vec![(num, v)]),
        }
    }
    out
}

impl Written {
    /// The `/ByteRange` values for the `/Contents` placeholder (absolute offsets).
    pub(crate) fn byte_range(&self) -> Result<[usize; 4], SignError> {
        let (start, end) = self
            .marks
            .contents
            .ok_or_else(|| SignError::Misuse("no /Contents placeholder".into()))?;
        let total = self.base + self.bytes.len();
        let a = self.base + start;
        let b = self.base + end;
        Ok([0, a, b, total - b])
    }

    /// Fill in `/ByteRange` (same width, padded with spaces).
    pub(crate) fn patch_byte_range(&mut self) -> Result<[usize; 4], SignError> {
        let range = self.byte_range()?;
        let (pos, width) = self
            .marks
            .byte_range
            .ok_or_else(|| SignError::Misuse("no /ByteRange placeholder".into()))?;
        let mut text = format!("[{} {} {} {}", range[0], range[1], range[2], range[3]);
        if text.len() + 1 > width {
            return Err(SignError::Limit(
                "file too large for the /ByteRange field".into(),
            ));
        }
        while text.len() + 1 < width {
            text.push(' ');
        }
        text.push(']');
        self.bytes[pos..pos + width].copy_from_slice(text.as_bytes());
        Ok(range)
    }

    /// Digest of the signed byte ranges (the document, then the update without the
    /// `/Contents` string).
    pub(crate) fn digest(
        &self,
        document: &[u8],
        alg: DigestAlgorithm,
    ) -> Result<Vec<u8>, SignError> {
        let (start, end) = self
            .marks
            .contents
            .ok_or_else(|| SignError::Misuse("no /Contents placeholder".into()))?;
        let mut h: Hasher = alg.hasher();
        h.update(document);
        h.update(&self.bytes[..start]);
        h.update(&self.bytes[end..]);
        Ok(h.finish())
    }

    /// Capacity of the `/Contents` placeholder, in bytes.
    pub(crate) fn contents_capacity(&self) -> usize {
        self.marks
            .contents
            .map_or(0, |(s, e)| (e - s).saturating_sub(2) / 2)
    }

    /// Write `value` (DER) into the `/Contents` placeholder (zero-padded).
    pub(crate) fn fill_contents(&mut self, value: &[u8]) -> Result<(), SignError> {
        let capacity = self.contents_capacity();
        if value.len() > capacity {
            return Err(SignError::ContentsTooSmall {
                reserved: capacity,
                needed: value.len(),
            });
        }
        let (start, _) = self
            .marks
            .contents
            .ok_or_else(|| SignError::Misuse("no /Contents placeholder".into()))?;
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for (i, b) in value.iter().enumerate() {
            self.bytes[start + 1 + 2 * i] = HEX[usize::from(b >> 4)];
            self.bytes[start + 2 + 2 * i] = HEX[usize::from(b & 15)];
        }
        Ok(())
    }
}
