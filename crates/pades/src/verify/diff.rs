//! Object-level difference of one revision against the one before it, and its
//! classification (after pyHanko's `StandardDiffPolicy`, made stricter where the
//! shadow-attack paper asks for it).
//!
//! Every object a revision writes must be explained by a rule: a new signature field
//! with its widget, appearance and value; `/AcroForm /Fields` and `/SigFlags`; page
//! `/Annots` gaining those widgets; the DSS; a document time-stamp; `/Info`, XMP and
//! the catalog's `/Version` / `/Extensions`; form filling; annotations. Whatever is not
//! explained is `other`: a changed content stream, font or XObject, a redirected
//! cross-reference entry (hide-and-replace), a freed object, a new `/Root`, a new object
//! reachable from the document, bytes that belong to no object, an update that changes
//! nothing at all (xref-only), or any structural anomaly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use kyso_cades::report::Reason;

use crate::pdf::objects::{Dict, ObjRef, Object, Parser, same, same_dict};
use crate::pdf::revisions::{Document, Entry, Loaded, View};
use crate::verify::PdfError;
use crate::verify::fields::{self, Field, SigValue};
use crate::verify::report::{ChangeClass, ModificationLevel};

/// One explained (or unexplained) change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) class: ChangeClass,
    pub(crate) level: ModificationLevel,
    pub(crate) reason: Reason,
}

/// A widget or annotation that a revision adds or changes, for the geometry check.
#[derive(Debug, Clone)]
pub(crate) struct Visual {
    pub(crate) annot: ObjRef,
    pub(crate) page: Option<ObjRef>,
    pub(crate) kind: VisualKind,
    /// The annotation is removed by the revision (it is read from the one before).
    pub(crate) removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VisualKind {
    /// A signature field's widget; `signed` when its `/V` is a signature dictionary.
    SignatureWidget { field: String, signed: bool },
    /// A form field's widget (form filling).
    FormWidget { field: String },
    /// Another annotation.
    Annotation { subtype: String },
}

/// What one revision does.
#[derive(Debug, Clone, Default)]
pub(crate) struct RevisionDiff {
    pub(crate) changes: Vec<Change>,
    pub(crate) visual: Vec<Visual>,
    /// Signature fields added or signed in this revision: (name, visible, created in
    /// this revision).
    pub(crate) signature_fields: Vec<(String, bool, bool)>,
    /// Form fields filled in (non-signature).
    pub(crate) filled_fields: Vec<String>,
}

impl RevisionDiff {
    pub(crate) fn class(&self) -> ChangeClass {
        self.changes
            .iter()
            .map(|c| c.class)
            .max()
            .unwrap_or(ChangeClass::Other)
    }

    pub(crate) fn level(&self) -> ModificationLevel {
        self.changes
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(ModificationLevel::Other)
    }

    fn push(&mut self, class: ChangeClass, level: ModificationLevel, reason: Reason) {
        self.changes.push(Change {
            class,
            level,
            reason,
        });
    }

    fn other(&mut self, reason: Reason) {
        self.push(ChangeClass::Other, ModificationLevel::Other, reason);
    }
}

/// The catalog keys that may change, each checked by its own rule.
const CATALOG_EXEMPT: [&[u8]; 6] = [
    b"AcroForm",
    b"DSS",
    b"Extensions",
    b"Metadata",
    b"MarkInfo",
    b"Version",
];
/// AcroForm keys that may change.
const ACROFORM_EXEMPT: [&[u8]; 6] = [
    b"Fields",
    b"SigFlags",
    b"DR",
    b"DA",
    b"Q",
    b"NeedAppearances",
];
/// Field keys a value update may change (pyHanko's VALUE_UPDATE_KEYS).
const VALUE_UPDATE_KEYS: [&[u8]; 8] = [b"Ff", b"Type", b"AP", b"AS", b"V", b"F", b"DA", b"Q"];

/// Compare revision `k` with revision `k - 1`. `signatures` are the signature
/// dictionaries already in the file (changing one is called out).
pub(crate) fn diff(doc: &Document<'_>, k: usize, signatures: &HashSet<ObjRef>) -> RevisionDiff {
    let mut out = RevisionDiff::default();
    let rev = &doc.revisions[k];
    for a in &rev.anomalies {
        out.other(a.clone());
    }
    if rev.sections.is_empty() {
        return out;
    }
    let mut cx = Context {
        doc,
        old: doc.view(k - 1),
        new: doc.view(k),
        k,
        new_objects: BTreeMap::new(),
        changed: BTreeMap::new(),
        explained: HashSet::new(),
        signatures,
        freed: Vec::new(),
        may_free: HashSet::new(),
    };
    if let Err(e) = cx.run(&mut out) {
        out.other(Reason::new(
            "update_unreadable",
            format!("revision {} cannot be analysed: {e}", k + 1),
            format!("không phân tích được phiên bản {}: {e}", k + 1),
        ));
    }
    out
}

struct Context<'d, 'a> {
    doc: &'d Document<'a>,
    old: View<'d, 'a>,
    new: View<'d, 'a>,
    k: usize,
    /// Objects written in this revision that did not exist before.
    new_objects: BTreeMap<u32, Rc<Loaded>>,
    /// Objects written in this revision that existed before and differ: (old, new).
    changed: BTreeMap<u32, (Rc<Loaded>, Rc<Loaded>)>,
    explained: HashSet<u32>,
    signatures: &'d HashSet<ObjRef>,
    /// Objects the revision frees (that existed before).
    freed: Vec<u32>,
    /// Objects a revision may free: removed annotations, their popups and appearance
    /// streams.
    may_free: HashSet<u32>,
}

fn reason(code: &'static str, en: String, vi: String) -> Reason {
    Reason::new(code, en, vi)
}

impl Context<'_, '_> {
    fn run(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        let rev = &self.doc.revisions[self.k];
        let structural: HashSet<u32> = rev.xref_streams().collect();
        let mut covered: Vec<std::ops::Range<usize>> =
            rev.sections.iter().map(|s| s.span.clone()).collect();
        covered.push(rev.startxref_at..rev.end);
        let mut written: Vec<(u32, Entry)> = rev.written().collect();
        written.sort_by_key(|(n, _)| *n);
        for (num, entry) in written {
            let old_entry = self.doc.entry(self.k - 1, num);
            let old_obj = match old_entry {
                Some((_, Entry::InUse { generation, .. })) => {
                    self.old.load(ObjRef { num, generation }).ok().flatten()
                }
                Some((_, Entry::Compressed { .. })) => {
                    self.old.load(ObjRef { num, generation: 0 }).ok().flatten()
                }
                _ => None,
            };
            if old_entry.map(|(_, e)| e) == Some(entry) {
                continue; // rewritten entry, same location: no change
            }
            match entry {
                Entry::Free => {
                    // Judged once the removed annotations are known (leftovers).
                    if old_obj.is_some() {
                        self.freed.push(num);
                    }
                    continue;
                }
                Entry::InUse { offset, generation } => {
                    if offset < rev.start || offset >= rev.startxref_at {
                        out.other(reason(
                            "xref_redirect",
                            format!(
                                "the update points object {num} at byte {offset}, outside the update itself: an object hidden in earlier bytes replaces the signed one (shadow attack)"
                            ),
                            format!(
                                "bản cập nhật trỏ đối tượng {num} tới byte {offset} nằm ngoài chính nó: một đối tượng ẩn thay thế đối tượng đã ký (tấn công shadow)"
                            ),
                        ));
                        continue;
                    }
                    if let Some((
                        _,
                        Entry::InUse {
                            generation: old_gen,
                            ..
                        },
                    )) = old_entry
                        && old_gen != generation
                        && old_obj.is_some()
                    {
                        out.other(reason(
                            "object_generation_changed",
                            format!("object {num} is replaced under a new generation number"),
                            format!("đối tượng {num} bị thay bằng số thế hệ mới"),
                        ));
                        continue;
                    }
                }
                Entry::Compressed { stream, .. } => {
                    let own = matches!(rev.entries.get(&stream), Some(Entry::InUse { offset, .. }) if *offset >= rev.start && *offset < rev.startxref_at);
                    if !own {
                        out.other(reason(
                            "xref_redirect",
                            format!(
                                "the update points object {num} into object stream {stream}, which is not part of the update"
                            ),
                            format!(
                                "bản cập nhật trỏ đối tượng {num} vào luồng đối tượng {stream} không thuộc bản cập nhật"
                            ),
                        ));
                        continue;
                    }
                }
            }
            let generation = match entry {
                Entry::InUse { generation, .. } => generation,
                _ => 0,
            };
            let new_obj = match self.new.load(ObjRef { num, generation }) {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                Err(e) => {
                    out.other(reason(
                        "object_unreadable",
                        format!("object {num} of the update cannot be read: {e}"),
                        format!("không đọc được đối tượng {num} của bản cập nhật: {e}"),
                    ));
                    continue;
                }
            };
            covered.push(new_obj.span.clone());
            let is_container = structural.contains(&num)
                || new_obj
                    .object
                    .as_dict()
                    .is_some_and(|d| d.name(b"Type") == Some(b"ObjStm"));
            match old_obj {
                None if is_container => {
                    self.explained.insert(num);
                }
                None => {
                    self.new_objects.insert(num, new_obj);
                }
                Some(old) => {
                    if is_container {
                        out.other(reason(
                            "object_replaced_by_container",
                            format!("object {num} is replaced by a cross-reference or object stream"),
                            format!("đối tượng {num} bị thay bằng luồng tham chiếu chéo hoặc luồng đối tượng"),
                        ));
                    } else if !same(&old.object, &new_obj.object, self.doc.data) {
                        self.changed.insert(num, (old, new_obj));
                    }
                }
            }
        }
        self.stray_bytes(&covered, out);
        self.trailer(out)?;
        self.catalog(out)?;
        self.form(out)?;
        self.pages(out)?;
        self.signature_dictionaries(out);
        self.leftovers(out)?;
        if out.changes.is_empty() {
            out.other(reason(
                "empty_update",
                format!(
                    "revision {} changes nothing (an update with only a cross-reference section is a shadow-attack pattern)",
                    self.k + 1
                ),
                format!(
                    "phiên bản {} không thay đổi gì (bản cập nhật chỉ có bảng tham chiếu chéo là dấu hiệu tấn công shadow)",
                    self.k + 1
                ),
            ));
        }
        Ok(())
    }

    /// Every byte of an update belongs to an object, a cross-reference section, the
    /// trailer or `startxref`; whitespace and comments aside.
    fn stray_bytes(&self, covered: &[std::ops::Range<usize>], out: &mut RevisionDiff) {
        let rev = &self.doc.revisions[self.k];
        let mut spans: Vec<_> = covered
            .iter()
            .filter(|r| r.end > rev.start && r.start < rev.end)
            .cloned()
            .collect();
        spans.sort_by_key(|r| r.start);
        let data = self.doc.data;
        let mut pos = rev.start;
        let mut stray = None;
        let mut check = |from: usize, to: usize| {
            let mut i = from;
            while i < to {
                let b = data[i];
                if crate::pdf::objects::is_whitespace(b) {
                    i += 1;
                } else if b == b'%' {
                    let line_end = data[i..to]
                        .iter()
                        .position(|c| *c == b'\n' || *c == b'\r')
                        .map_or(to, |p| i + p);
                    if memchr::memmem::find(&data[i..line_end], b"obj").is_some() && stray.is_none()
                    {
                        stray = Some(i);
                    }
                    i = line_end;
                } else {
                    if stray.is_none() {
                        stray = Some(i);
                    }
                    return;
                }
            }
        };
        for s in &spans {
            if s.start > pos {
                check(pos, s.start.min(rev.end));
            }
            pos = pos.max(s.end);
        }
        if pos < rev.end {
            check(pos, rev.end);
        }
        if let Some(at) = stray {
            out.other(reason(
                "stray_bytes",
                format!(
                    "the update holds bytes at {at} that belong to no object of its cross-reference section (content hidden from strict readers, seen by repairing ones)"
                ),
                format!(
                    "bản cập nhật chứa dữ liệu tại byte {at} không thuộc đối tượng nào trong bảng tham chiếu chéo"
                ),
            ));
        }
    }

    fn is_new(&self, num: u32) -> bool {
        self.new_objects.contains_key(&num)
    }

    fn is_touched(&self, num: u32) -> bool {
        self.new_objects.contains_key(&num) || self.changed.contains_key(&num)
    }

    /// Mark `root` (when new or changed) and the new objects reachable from `value`
    /// through new objects only.
    fn explain_new_deps(&mut self, value: &Object) -> Result<(), PdfError> {
        let mut stack: Vec<ObjRef> = Vec::new();
        collect_refs(value, &mut stack);
        let mut steps = 0usize;
        while let Some(r) = stack.pop() {
            steps += 1;
            if steps > self.doc.limits.max_walk {
                return Err(PdfError::Limit {
                    what: "objects walked",
                    max: self.doc.limits.max_walk,
                });
            }
            if !self.is_new(r.num) || !self.explained.insert(r.num) {
                continue;
            }
            if let Some(l) = self.new_objects.get(&r.num).cloned() {
                collect_refs(&l.object, &mut stack);
            }
        }
        Ok(())
    }

    fn explain(&mut self, value: Option<&Object>) {
        if let Some(Object::Ref(r)) = value
            && self.is_touched(r.num)
        {
            self.explained.insert(r.num);
        }
    }

    fn trailer(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        let old = self.old.trailer();
        let new = self.new.trailer();
        if old.get(b"Root").and_then(Object::as_ref) != new.get(b"Root").and_then(Object::as_ref) {
            out.other(reason(
                "root_changed",
                "the update points the document at a different catalog (/Root)".into(),
                "bản cập nhật trỏ tài liệu tới một danh mục (/Root) khác".into(),
            ));
        }
        if new.get(b"Encrypt").is_some() && old.get(b"Encrypt").is_none() {
            out.other(reason(
                "encryption_added",
                "the update encrypts the document".into(),
                "bản cập nhật mã hóa tài liệu".into(),
            ));
        }
        let info = new.get(b"Info");
        let info_ref = info.and_then(Object::as_ref);
        let old_info = old.get(b"Info").and_then(Object::as_ref);
        let info_touched = info_ref.is_some_and(|r| self.is_touched(r.num));
        if info_touched || info_ref != old_info {
            match info_ref {
                Some(r) => {
                    let v = self.new.load(r)?;
                    if v.as_ref()
                        .is_some_and(|l| matches!(l.object, Object::Dict(_)))
                    {
                        self.explained.insert(r.num);
                        if let Some(l) = v {
                            self.explain_new_deps(&l.object)?;
                        }
                        out.push(
                            ChangeClass::Metadata,
                            ModificationLevel::LtaUpdates,
                            reason(
                                "info_updated",
                                "the document information dictionary (/Info) is updated".into(),
                                "từ điển thông tin tài liệu (/Info) được cập nhật".into(),
                            ),
                        );
                    } else {
                        out.other(reason(
                            "info_not_dictionary",
                            "/Info is not a dictionary".into(),
                            "/Info không phải từ điển".into(),
                        ));
                    }
                }
                None if info.is_some() => out.other(reason(
                    "info_not_indirect",
                    "/Info is not an indirect dictionary".into(),
                    "/Info không phải từ điển gián tiếp".into(),
                )),
                None => {}
            }
        }
        Ok(())
    }

    fn catalog(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        let (Some(new_ref), new_root) = self.new.root()? else {
            return Ok(());
        };
        let (_, old_root) = self.old.root()?;
        let (Some(old_cat), Some(new_cat)) = (old_root.object.as_dict(), new_root.object.as_dict())
        else {
            return Ok(());
        };
        if self.changed.contains_key(&new_ref.num) {
            let changed = changed_keys(old_cat, new_cat, self.doc.data);
            let bad: Vec<String> = changed
                .iter()
                .filter(|k| !CATALOG_EXEMPT.contains(&k.as_slice()))
                .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                .collect();
            if bad.is_empty() {
                self.explained.insert(new_ref.num);
            } else {
                out.other(reason(
                    "catalog_changed",
                    format!("the document catalog changes {}", bad.join(", ")),
                    format!("danh mục tài liệu bị thay đổi: {}", bad.join(", ")),
                ));
            }
            for key in [&b"Version"[..], b"Extensions", b"MarkInfo"] {
                if changed.iter().any(|k| k == key) {
                    self.explain(new_cat.get(key));
                    if let Some(v) = new_cat.get(key) {
                        self.explain_new_deps(v)?;
                    }
                    out.push(
                        ChangeClass::Metadata,
                        ModificationLevel::LtaUpdates,
                        reason(
                            "catalog_metadata_updated",
                            format!("the catalog's /{} is updated", String::from_utf8_lossy(key)),
                            format!(
                                "/{} của danh mục được cập nhật",
                                String::from_utf8_lossy(key)
                            ),
                        ),
                    );
                }
            }
        }
        // /Extensions or /MarkInfo behind a reference that the update rewrites.
        for key in [&b"Extensions"[..], b"MarkInfo"] {
            if let Some(Object::Ref(r)) = new_cat.get(key)
                && self.is_touched(r.num)
                && !self.explained.contains(&r.num)
            {
                self.explained.insert(r.num);
                out.push(
                    ChangeClass::Metadata,
                    ModificationLevel::LtaUpdates,
                    reason(
                        "catalog_metadata_updated",
                        format!("the catalog's /{} is updated", String::from_utf8_lossy(key)),
                        format!(
                            "/{} của danh mục được cập nhật",
                            String::from_utf8_lossy(key)
                        ),
                    ),
                );
            }
        }
        self.xmp(new_cat, old_cat, out)?;
        self.dss(new_cat, old_cat, out)?;
        Ok(())
    }

    fn xmp(
        &mut self,
        new_cat: &Dict,
        old_cat: &Dict,
        out: &mut RevisionDiff,
    ) -> Result<(), PdfError> {
        let new_md = new_cat.get(b"Metadata");
        let old_md = old_cat.get(b"Metadata");
        let touched = match new_md {
            Some(Object::Ref(r)) => {
                self.is_touched(r.num)
                    || new_md.and_then(Object::as_ref) != old_md.and_then(Object::as_ref)
            }
            Some(_) => true,
            None => false,
        };
        if !touched {
            return Ok(());
        }
        let Some(Object::Ref(r)) = new_md else {
            out.other(reason(
                "metadata_not_indirect",
                "/Metadata is not an indirect stream".into(),
                "/Metadata không phải luồng gián tiếp".into(),
            ));
            return Ok(());
        };
        let stream = self.new.load(*r)?;
        let ok = match stream.as_deref().map(|l| &l.object) {
            Some(Object::Stream(s)) => {
                s.dict.name(b"Subtype") == Some(b"XML")
                    && self.doc.decode(s).is_ok_and(|x| looks_like_xmp(&x))
            }
            _ => false,
        };
        if ok {
            self.explained.insert(r.num);
            out.push(
                ChangeClass::Metadata,
                ModificationLevel::LtaUpdates,
                reason(
                    "xmp_updated",
                    "the XMP metadata stream is updated".into(),
                    "luồng siêu dữ liệu XMP được cập nhật".into(),
                ),
            );
        } else {
            out.other(reason(
                "metadata_not_xmp",
                "/Metadata is replaced by something that is not well-formed XMP".into(),
                "/Metadata bị thay bằng dữ liệu không phải XMP hợp lệ".into(),
            ));
        }
        Ok(())
    }

    fn dss(
        &mut self,
        new_cat: &Dict,
        old_cat: &Dict,
        out: &mut RevisionDiff,
    ) -> Result<(), PdfError> {
        let new_v = new_cat.get(b"DSS");
        let old_v = old_cat.get(b"DSS");
        let new_dss = match new_v {
            Some(v) => self.new.resolve(v)?.as_dict().cloned(),
            None => None,
        };
        let old_dss = match old_v {
            Some(v) => self.old.resolve(v)?.as_dict().cloned(),
            None => None,
        };
        let touched = match new_v {
            Some(Object::Ref(r)) => {
                self.is_touched(r.num)
                    || new_v.and_then(Object::as_ref) != old_v.and_then(Object::as_ref)
            }
            Some(_) => old_dss
                .as_ref()
                .zip(new_dss.as_ref())
                .is_none_or(|(o, n)| !same_dict(o, n, self.doc.data)),
            None => false,
        };
        if new_v.is_none() && old_v.is_some() {
            out.other(reason(
                "dss_removed",
                "the document security store (/DSS) is removed".into(),
                "kho dữ liệu xác thực (/DSS) bị xóa".into(),
            ));
            return Ok(());
        }
        if !touched {
            return Ok(());
        }
        let Some(dss) = new_dss else {
            out.other(reason(
                "dss_malformed",
                "/DSS is not a dictionary".into(),
                "/DSS không phải từ điển".into(),
            ));
            return Ok(());
        };
        self.explain(new_v);
        let mut problems = Vec::new();
        for key in dss.keys() {
            if !matches!(key, b"Type" | b"VRI" | b"Certs" | b"CRLs" | b"OCSPs") {
                let k = String::from_utf8_lossy(key);
                problems.push((
                    format!("unexpected key /{k}"),
                    format!("khóa /{k} không hợp lệ"),
                ));
            }
        }
        for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            if let Some(v) = dss.get(key) {
                self.dss_streams(v, &mut problems)?;
            }
        }
        if let Some(vri_v) = dss.get(b"VRI") {
            self.explain(Some(vri_v));
            let vri = self.new.resolve(vri_v)?.as_dict().cloned();
            let old_vri = match old_dss.as_ref().and_then(|d| d.get(b"VRI")) {
                Some(v) => self.old.resolve(v)?.as_dict().cloned(),
                None => None,
            };
            match vri {
                None => problems.push((
                    "/VRI is not a dictionary".into(),
                    "/VRI không phải từ điển".into(),
                )),
                Some(vri) => {
                    if let Some(old_vri) = &old_vri {
                        for (k, v) in &old_vri.entries {
                            if !vri.get(k).is_some_and(|n| same(v, n, self.doc.data)) {
                                let k = String::from_utf8_lossy(k);
                                problems.push((
                                    format!("VRI entry /{k} changed or removed"),
                                    format!("mục VRI /{k} bị thay đổi hoặc xóa"),
                                ));
                            }
                        }
                    }
                    for (k, v) in &vri.entries {
                        if old_vri.as_ref().is_some_and(|o| o.get(k).is_some()) {
                            continue;
                        }
                        if k.len() != 40
                            || !k
                                .iter()
                                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                        {
                            problems.push(("malformed VRI key".into(), "khóa VRI sai dạng".into()));
                        }
                        self.explain(Some(v));
                        let entry = self.new.resolve(v)?.as_dict().cloned();
                        match entry {
                            Some(e) => {
                                for (ek, ev) in &e.entries {
                                    match ek.as_slice() {
                                        b"Type" | b"TU" => {}
                                        b"Cert" | b"CRL" | b"OCSP" => {
                                            self.dss_streams(ev, &mut problems)?
                                        }
                                        b"TS" => self.explain(Some(ev)),
                                        other => {
                                            let k = String::from_utf8_lossy(other);
                                            problems.push((
                                                format!("unexpected VRI key /{k}"),
                                                format!("khóa VRI /{k} không hợp lệ"),
                                            ))
                                        }
                                    }
                                }
                            }
                            None => problems.push((
                                "VRI entry is not a dictionary".into(),
                                "mục VRI không phải từ điển".into(),
                            )),
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            out.push(
                ChangeClass::Dss,
                ModificationLevel::LtaUpdates,
                reason(
                    "dss_updated",
                    "validation data is added to the document security store (/DSS)".into(),
                    "dữ liệu xác thực được thêm vào kho /DSS".into(),
                ),
            );
        } else {
            out.other(reason(
                "dss_malformed",
                format!(
                    "the document security store is malformed: {}",
                    problems
                        .iter()
                        .map(|(en, _)| en.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                format!(
                    "kho dữ liệu xác thực /DSS sai cấu trúc: {}",
                    problems
                        .iter()
                        .map(|(_, vi)| vi.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ));
        }
        Ok(())
    }

    /// A DSS array: references to streams; new streams are explained.
    fn dss_streams(
        &mut self,
        v: &Object,
        problems: &mut Vec<(String, String)>,
    ) -> Result<(), PdfError> {
        if let Object::Ref(r) = v
            && self.is_touched(r.num)
        {
            self.explained.insert(r.num);
        }
        let arr = self.new.resolve(v)?;
        let Some(items) = arr.as_array() else {
            problems.push((
                "a DSS entry is not an array".into(),
                "một mục của DSS không phải mảng".into(),
            ));
            return Ok(());
        };
        for item in items {
            let Object::Ref(r) = item else {
                problems.push((
                    "a DSS array holds a direct object".into(),
                    "mảng DSS chứa đối tượng trực tiếp".into(),
                ));
                continue;
            };
            match self.new.load(*r)? {
                Some(l) if matches!(l.object, Object::Stream(_)) => {
                    if self.is_new(r.num) {
                        self.explained.insert(r.num);
                    }
                }
                _ => problems.push((
                    format!("DSS item {r} is not a stream"),
                    format!("mục DSS {r} không phải luồng"),
                )),
            }
        }
        Ok(())
    }

    /// The AcroForm dictionary and the field tree.
    fn form(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        let old_form = fields::acroform(&self.old)?;
        let new_form = fields::acroform(&self.new)?;
        let (_, new_root) = self.new.root()?;
        let new_form_value = new_root
            .object
            .as_dict()
            .and_then(|d| d.get(b"AcroForm"))
            .cloned();
        let old_fields = fields::fields(&self.old)?;
        let new_fields = fields::fields(&self.new)?;
        let mut signing = false;
        let old_by_ref: HashMap<ObjRef, &Field> =
            old_fields.iter().map(|f| (f.field_ref, f)).collect();
        let new_refs: HashSet<ObjRef> = new_fields.iter().map(|f| f.field_ref).collect();

        // Deleted fields.
        for f in &old_fields {
            if !new_refs.contains(&f.field_ref) {
                out.other(reason(
                    "field_removed",
                    format!("form field “{}” is removed", f.name),
                    format!("trường “{}” bị xóa", f.name),
                ));
            }
        }
        for f in &new_fields {
            match old_by_ref.get(&f.field_ref) {
                None => signing |= self.new_field(f, out)?,
                Some(old) => signing |= self.existing_field(old, f, out)?,
            }
        }

        // The AcroForm dictionary itself.
        if let Some(new_form) = &new_form {
            let form_touched = match &new_form_value {
                Some(Object::Ref(r)) => self.is_touched(r.num),
                _ => true,
            };
            let empty = Dict::default();
            let old_form = old_form.as_ref().unwrap_or(&empty);
            let changed = changed_keys(old_form, new_form, self.doc.data);
            if form_touched && !changed.is_empty() {
                let bad: Vec<String> = changed
                    .iter()
                    .filter(|k| !ACROFORM_EXEMPT.contains(&k.as_slice()))
                    .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                    .collect();
                if !bad.is_empty() {
                    out.other(reason(
                        "acroform_changed",
                        format!("the interactive form dictionary changes {}", bad.join(", ")),
                        format!("từ điển biểu mẫu bị thay đổi: {}", bad.join(", ")),
                    ));
                }
                if changed.iter().any(|k| k == b"NeedAppearances") {
                    out.push(
                        ChangeClass::FormFill,
                        ModificationLevel::FormFilling,
                        reason(
                            "need_appearances",
                            "/NeedAppearances changes: viewers regenerate field appearances".into(),
                            "/NeedAppearances thay đổi: trình xem sẽ vẽ lại các trường".into(),
                        ),
                    );
                }
                if changed
                    .iter()
                    .any(|k| matches!(k.as_slice(), b"DR" | b"DA" | b"Q"))
                    && !signing
                {
                    out.push(
                        ChangeClass::FormFill,
                        ModificationLevel::FormFilling,
                        reason(
                            "form_defaults_changed",
                            "the form's default resources or appearance change".into(),
                            "tài nguyên hoặc giao diện mặc định của biểu mẫu thay đổi".into(),
                        ),
                    );
                }
                // /Fields: only additions (deletions reported above).
                if let Some(fv) = new_form.get(b"Fields") {
                    self.explain(Some(fv));
                }
                if let Some(dr) = new_form.get(b"DR") {
                    self.explain(Some(dr));
                    self.explain_new_deps(dr)?;
                }
                self.explain(new_form_value.as_ref());
                if bad.is_empty()
                    && changed
                        .iter()
                        .any(|k| matches!(k.as_slice(), b"Fields" | b"SigFlags"))
                {
                    let signatures = out.changes.iter().any(|c| {
                        matches!(c.reason.code, "signature_added" | "signature_field_added")
                    });
                    let class = if signatures {
                        ChangeClass::Signature
                    } else if signing {
                        ChangeClass::DocumentTimestamp
                    } else {
                        ChangeClass::FormFill
                    };
                    out.push(
                        class,
                        ModificationLevel::LtaUpdates,
                        reason(
                            "acroform_fields_updated",
                            "/AcroForm /Fields or /SigFlags updated".into(),
                            "/AcroForm /Fields hoặc /SigFlags được cập nhật".into(),
                        ),
                    );
                }
            } else if form_touched {
                self.explain(new_form_value.as_ref());
            }
        }
        Ok(())
    }

    /// A field that did not exist before. Returns whether it is a signature.
    fn new_field(&mut self, f: &Field, out: &mut RevisionDiff) -> Result<bool, PdfError> {
        let type_name = f
            .field_type
            .as_deref()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .unwrap_or_else(|| "?".into());
        if !f.is_signature() {
            out.other(reason(
                "field_added",
                format!("a form field “{}” of type /{type_name} is added", f.name),
                format!("trường biểu mẫu “{}” kiểu /{type_name} được thêm", f.name),
            ));
            return Ok(false);
        }
        if !f.top_level {
            out.other(reason(
                "field_added_below_existing",
                format!(
                    "signature field “{}” is added under an existing field",
                    f.name
                ),
                format!(
                    "trường chữ ký “{}” được thêm dưới một trường có sẵn",
                    f.name
                ),
            ));
            return Ok(false);
        }
        if self.changed.contains_key(&f.field_ref.num) {
            out.other(reason(
                "object_repurposed",
                format!("an existing object becomes signature field “{}”", f.name),
                format!(
                    "một đối tượng có sẵn bị biến thành trường chữ ký “{}”",
                    f.name
                ),
            ));
            return Ok(false);
        }
        self.explained.insert(f.field_ref.num);
        let value = fields::sig_value(&self.new, f)?;
        let field_dict = self.new.load(f.field_ref)?;
        let field_dict = field_dict
            .as_ref()
            .and_then(|l| l.object.as_dict().cloned())
            .unwrap_or_default();
        for key in [&b"AP"[..], b"Lock", b"SV", b"Kids", b"MK"] {
            if let Some(v) = field_dict.get(key) {
                self.explain(Some(v));
                self.explain_new_deps(v)?;
            }
        }
        let mut visible = false;
        for w in &f.widgets {
            if *w != f.field_ref {
                if !self.is_new(w.num) {
                    out.other(reason(
                        "object_repurposed",
                        format!(
                            "an existing object becomes a widget of signature field “{}”",
                            f.name
                        ),
                        format!(
                            "một đối tượng có sẵn bị biến thành chú thích của trường chữ ký “{}”",
                            f.name
                        ),
                    ));
                    continue;
                }
                self.explained.insert(w.num);
                if let Some(l) = self.new.load(*w)?
                    && let Some(d) = l.object.as_dict()
                {
                    for key in [&b"AP"[..], b"MK"] {
                        if let Some(v) = d.get(key) {
                            self.explain_new_deps(v)?;
                        }
                    }
                }
            }
            visible |= self.widget_visible(*w)?;
            out.visual.push(Visual {
                annot: *w,
                page: None,
                kind: VisualKind::SignatureWidget {
                    field: f.name.clone(),
                    signed: matches!(value, SigValue::Indirect(_) | SigValue::Direct),
                },
                removed: false,
            });
        }
        let timestamp = self.value(f, &value, out)?;
        let (class, code, en, vi) = match (&value, timestamp) {
            (SigValue::Empty, _) => (
                ChangeClass::Signature,
                "signature_field_added",
                format!("an empty signature field “{}” is added", f.name),
                format!("trường chữ ký trống “{}” được thêm", f.name),
            ),
            (SigValue::NotASignature(why), _) => {
                out.other(reason(
                    "fake_signature_value",
                    format!("signature field “{}” is added with a value that is not a signature ({why}): it shows an appearance without a signature (sneaky signature)", f.name),
                    format!("trường chữ ký “{}” được thêm với giá trị không phải chữ ký ({why}) (chữ ký giả)", f.name),
                ));
                return Ok(true);
            }
            (_, true) if !visible => (
                ChangeClass::DocumentTimestamp,
                "document_timestamp_added",
                format!("a document time-stamp “{}” is added", f.name),
                format!("dấu thời gian tài liệu “{}” được thêm", f.name),
            ),
            _ => (
                ChangeClass::Signature,
                "signature_added",
                format!(
                    "signature “{}” is added{}",
                    f.name,
                    if visible { " (visible)" } else { "" }
                ),
                format!(
                    "chữ ký “{}” được thêm{}",
                    f.name,
                    if visible { " (hiển thị)" } else { "" }
                ),
            ),
        };
        let level = if visible {
            ModificationLevel::FormFilling
        } else {
            ModificationLevel::LtaUpdates
        };
        out.push(class, level, reason(code, en, vi));
        out.signature_fields.push((f.name.clone(), visible, true));
        Ok(true)
    }

    /// Explain a signature field's new `/V`. Returns whether it is a document
    /// time-stamp.
    fn value(
        &mut self,
        f: &Field,
        value: &SigValue,
        out: &mut RevisionDiff,
    ) -> Result<bool, PdfError> {
        match value {
            SigValue::Indirect(r) => {
                if !self.is_new(r.num) {
                    out.other(reason(
                        "signature_value_reused",
                        format!(
                            "signature field “{}” takes an existing object as its value",
                            f.name
                        ),
                        format!(
                            "trường chữ ký “{}” lấy một đối tượng có sẵn làm giá trị",
                            f.name
                        ),
                    ));
                    return Ok(false);
                }
                self.explained.insert(r.num);
                let Some(l) = self.new.load(*r)? else {
                    return Ok(false);
                };
                if let Some(d) = l.object.as_dict() {
                    for (k, v) in &d.entries {
                        if k.as_slice() != b"Contents" {
                            self.explain_new_deps(v)?;
                        }
                    }
                    return Ok(d.name(b"Type") == Some(b"DocTimeStamp"));
                }
                Ok(false)
            }
            SigValue::Direct => {
                if let Some(Object::Dict(d)) = &f.value {
                    for (_, v) in &d.entries {
                        self.explain_new_deps(v)?;
                    }
                    return Ok(d.name(b"Type") == Some(b"DocTimeStamp"));
                }
                Ok(false)
            }
            SigValue::Empty | SigValue::NotASignature(_) => {
                if let Some(v) = &f.value {
                    self.explain(Some(v));
                    self.explain_new_deps(v)?;
                }
                Ok(false)
            }
        }
    }

    /// A field present before and after. Returns whether it was signed now.
    fn existing_field(
        &mut self,
        old: &Field,
        f: &Field,
        out: &mut RevisionDiff,
    ) -> Result<bool, PdfError> {
        let field_changed = self.changed.contains_key(&f.field_ref.num);
        let widgets_changed: Vec<ObjRef> = f
            .widgets
            .iter()
            .filter(|w| **w != f.field_ref && self.changed.contains_key(&w.num))
            .copied()
            .collect();
        let old_value = fields::sig_value(&self.old, old)?;
        let new_value = fields::sig_value(&self.new, f)?;
        let value_obj_changed = match &f.value {
            Some(Object::Ref(r)) => self.is_touched(r.num),
            _ => false,
        };
        if !field_changed && widgets_changed.is_empty() && !value_obj_changed {
            return Ok(false);
        }
        let (old_dict, new_dict) =
            match (self.old.load(old.field_ref)?, self.new.load(f.field_ref)?) {
                (Some(o), Some(n)) => (
                    o.object.as_dict().cloned().unwrap_or_default(),
                    n.object.as_dict().cloned().unwrap_or_default(),
                ),
                _ => return Ok(false),
            };
        let changed = changed_keys(&old_dict, &new_dict, self.doc.data);
        let only_value_keys = changed
            .iter()
            .all(|k| VALUE_UPDATE_KEYS.contains(&k.as_slice()));
        if f.is_signature() {
            let was_signed = matches!(old_value, SigValue::Indirect(_) | SigValue::Direct);
            let now_signed = matches!(new_value, SigValue::Indirect(_) | SigValue::Direct);
            if was_signed || !now_signed || !only_value_keys {
                let why = if was_signed {
                    "an already signed"
                } else {
                    "an unsigned"
                };
                out.other(reason(
                    "signature_field_changed",
                    format!(
                        "{why} signature field “{}” is changed ({})",
                        f.name,
                        key_list(&changed)
                    ),
                    format!(
                        "trường chữ ký “{}” bị thay đổi ({})",
                        f.name,
                        key_list(&changed)
                    ),
                ));
                return Ok(false);
            }
            // An empty signature field gets signed.
            if field_changed {
                self.explained.insert(f.field_ref.num);
            }
            if let Some(ap) = new_dict.get(b"AP") {
                self.explain(Some(ap));
                self.explain_new_deps(ap)?;
            }
            let timestamp = self.value(f, &new_value, out)?;
            let mut visible = false;
            for w in &f.widgets {
                if self.changed.contains_key(&w.num) && *w != f.field_ref {
                    if !self.widget_update_ok(*w)? {
                        out.other(reason(
                            "widget_changed",
                            format!(
                                "the widget of signature field “{}” changes beyond its appearance",
                                f.name
                            ),
                            format!(
                                "chú thích của trường chữ ký “{}” thay đổi ngoài phần hiển thị",
                                f.name
                            ),
                        ));
                    }
                    self.explained.insert(w.num);
                }
                visible |= self.widget_visible(*w)?;
                out.visual.push(Visual {
                    annot: *w,
                    page: None,
                    kind: VisualKind::SignatureWidget {
                        field: f.name.clone(),
                        signed: true,
                    },
                    removed: false,
                });
            }
            let (class, code) = if timestamp && !visible {
                (ChangeClass::DocumentTimestamp, "document_timestamp_added")
            } else {
                (ChangeClass::Signature, "signature_added")
            };
            out.push(
                class,
                if visible {
                    ModificationLevel::FormFilling
                } else {
                    ModificationLevel::LtaUpdates
                },
                reason(
                    code,
                    format!("signature field “{}” is signed", f.name),
                    format!("trường chữ ký “{}” được ký", f.name),
                ),
            );
            out.signature_fields.push((f.name.clone(), visible, false));
            return Ok(true);
        }
        // A non-signature field: form filling.
        if !only_value_keys {
            out.other(reason(
                "field_changed",
                format!(
                    "form field “{}” is changed ({})",
                    f.name,
                    key_list(&changed)
                ),
                format!(
                    "trường biểu mẫu “{}” bị thay đổi ({})",
                    f.name,
                    key_list(&changed)
                ),
            ));
            return Ok(false);
        }
        if field_changed {
            self.explained.insert(f.field_ref.num);
        }
        for key in [&b"V"[..], b"AP"] {
            if let Some(v) = new_dict.get(key) {
                self.explain(Some(v));
                self.explain_new_deps(v)?;
            }
        }
        self.in_place_appearance(&old_dict, &new_dict)?;
        for w in &f.widgets {
            if *w != f.field_ref && self.changed.contains_key(&w.num) {
                if !self.widget_update_ok(*w)? {
                    out.other(reason(
                        "widget_changed",
                        format!(
                            "the widget of form field “{}” changes beyond its appearance",
                            f.name
                        ),
                        format!(
                            "chú thích của trường “{}” thay đổi ngoài phần hiển thị",
                            f.name
                        ),
                    ));
                    continue;
                }
                self.explained.insert(w.num);
            }
            out.visual.push(Visual {
                annot: *w,
                page: None,
                kind: VisualKind::FormWidget {
                    field: f.name.clone(),
                },
                removed: false,
            });
        }
        out.push(
            ChangeClass::FormFill,
            ModificationLevel::FormFilling,
            reason(
                "form_filled",
                format!("form field “{}” is filled in", f.name),
                format!("trường biểu mẫu “{}” được điền", f.name),
            ),
        );
        out.filled_fields.push(f.name.clone());
        Ok(false)
    }

    /// A separate widget whose changes are limited to appearance keys.
    fn widget_update_ok(&mut self, w: ObjRef) -> Result<bool, PdfError> {
        let Some((old, new)) = self.changed.get(&w.num).cloned() else {
            return Ok(true);
        };
        let (Some(od), Some(nd)) = (old.object.as_dict(), new.object.as_dict()) else {
            return Ok(false);
        };
        let changed = changed_keys(od, nd, self.doc.data);
        let ok = changed
            .iter()
            .all(|k| matches!(k.as_slice(), b"AP" | b"AS" | b"F" | b"MK" | b"DA" | b"Q"));
        if ok {
            if let Some(ap) = nd.get(b"AP") {
                self.explain(Some(ap));
                self.explain_new_deps(ap)?;
            }
            self.in_place_appearance(od, nd)?;
        }
        Ok(ok)
    }

    /// Appearance streams rewritten in place (same object number) for a widget
    /// without appearance states.
    fn in_place_appearance(&mut self, old: &Dict, new: &Dict) -> Result<(), PdfError> {
        if old.get(b"AS").is_some() {
            return Ok(());
        }
        let (Some(oap), Some(nap)) = (old.get(b"AP"), new.get(b"AP")) else {
            return Ok(());
        };
        let oap = self.old.resolve(oap)?.as_dict().cloned();
        let nap = self.new.resolve(nap)?.as_dict().cloned();
        let (Some(oap), Some(nap)) = (oap, nap) else {
            return Ok(());
        };
        for key in [&b"N"[..], b"R", b"D"] {
            if let (Some(Object::Ref(o)), Some(Object::Ref(n))) = (oap.get(key), nap.get(key))
                && o == n
                && self.changed.contains_key(&n.num)
            {
                self.explained.insert(n.num);
                if let Some((_, l)) = self.changed.get(&n.num).cloned() {
                    self.explain_new_deps(&l.object)?;
                }
            }
        }
        Ok(())
    }

    fn widget_visible(&self, w: ObjRef) -> Result<bool, PdfError> {
        let Some(l) = self.new.load(w)? else {
            return Ok(false);
        };
        let Some(d) = l.object.as_dict() else {
            return Ok(false);
        };
        let area = fields::rect(&self.new, d)?.map_or(0.0, |r| (r[2] - r[0]) * (r[3] - r[1]));
        let hidden = d.int(b"F").is_some_and(|f| f & (2 | 32) != 0);
        Ok(area > 0.0 && !hidden)
    }

    /// Pages: only `/Annots` may change, gaining widgets of new signature fields or
    /// annotations.
    fn pages(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        let old_pages = page_list(&self.old)?;
        let new_pages = page_list(&self.new)?;
        if old_pages.nodes != new_pages.nodes || old_pages.pages != new_pages.pages {
            out.other(reason(
                "page_tree_changed",
                "pages are added, removed or reordered".into(),
                "trang bị thêm, xóa hoặc sắp xếp lại".into(),
            ));
        }
        for n in &new_pages.nodes {
            if self.changed.contains_key(&n.num) {
                out.other(reason(
                    "page_tree_changed",
                    format!("page tree node {n} is changed"),
                    format!("nút cây trang {n} bị thay đổi"),
                ));
            }
        }
        let signature_widgets: HashMap<ObjRef, VisualKind> = out
            .visual
            .iter()
            .filter(|v| matches!(v.kind, VisualKind::SignatureWidget { .. }))
            .map(|v| (v.annot, v.kind.clone()))
            .collect();
        let form_widgets: HashSet<ObjRef> = fields::fields(&self.new)?
            .iter()
            .flat_map(|f| f.widgets.clone())
            .collect();
        let mut page_of: HashMap<ObjRef, ObjRef> = HashMap::new();
        for page in &new_pages.pages {
            let new_annots = annots(&self.new, *page)?;
            for a in &new_annots.refs {
                page_of.insert(*a, *page);
            }
            let page_changed = self.changed.contains_key(&page.num);
            let annots_changed = new_annots.array_ref.is_some_and(|r| self.is_touched(r.num));
            if !page_changed && !annots_changed {
                continue;
            }
            let old_annots = annots(&self.old, *page)?;
            if page_changed {
                let (Some(o), Some(n)) = (self.old.load(*page)?, self.new.load(*page)?) else {
                    continue;
                };
                let changed = changed_keys(
                    o.object.as_dict().unwrap_or(&Dict::default()),
                    n.object.as_dict().unwrap_or(&Dict::default()),
                    self.doc.data,
                );
                let bad: Vec<&Vec<u8>> = changed
                    .iter()
                    .filter(|k| k.as_slice() != b"Annots")
                    .collect();
                if !bad.is_empty() {
                    out.other(reason(
                        "page_changed",
                        format!("page object {page} is changed ({})", key_list(&changed)),
                        format!(
                            "đối tượng trang {page} bị thay đổi ({})",
                            key_list(&changed)
                        ),
                    ));
                    continue;
                }
            }
            let removed: Vec<ObjRef> = old_annots
                .refs
                .iter()
                .filter(|a| !new_annots.refs.contains(a))
                .copied()
                .collect();
            if new_annots.direct {
                out.other(reason(
                    "annotation_removed",
                    format!("annotations are removed from page {page}"),
                    format!("chú thích bị xóa khỏi trang {page}"),
                ));
                continue;
            }
            if !self.removed_annotations(*page, &removed, &new_pages.pages, out)? {
                continue;
            }
            let mut ok = true;
            for a in new_annots
                .refs
                .iter()
                .filter(|a| !old_annots.refs.contains(a))
            {
                if signature_widgets.contains_key(a) {
                    continue;
                }
                if form_widgets.contains(a) {
                    // A widget of a non-signature field added: reported as field_added.
                    ok = false;
                    continue;
                }
                let Some(l) = self.new.load(*a)? else {
                    continue;
                };
                let subtype = l
                    .object
                    .as_dict()
                    .and_then(|d| d.name(b"Subtype"))
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default();
                if subtype == "Widget" || !self.is_new(a.num) {
                    out.other(reason(
                        "annotation_unexplained",
                        format!("page {page} gains annotation {a} (/{subtype}) that belongs to no new field"),
                        format!("trang {page} có thêm chú thích {a} (/{subtype}) không thuộc trường mới nào"),
                    ));
                    ok = false;
                    continue;
                }
                self.explained.insert(a.num);
                self.explain_new_deps(&l.object)?;
                out.push(
                    ChangeClass::Annotation,
                    ModificationLevel::Annotations,
                    reason(
                        "annotation_added",
                        format!("a /{subtype} annotation is added to page {page}"),
                        format!("chú thích /{subtype} được thêm vào trang {page}"),
                    ),
                );
                out.visual.push(Visual {
                    annot: *a,
                    page: Some(*page),
                    kind: VisualKind::Annotation { subtype },
                    removed: false,
                });
            }
            if ok {
                if page_changed {
                    self.explained.insert(page.num);
                }
                if let Some(r) = new_annots.array_ref {
                    self.explained.insert(r.num);
                }
            }
        }
        // Existing annotations (not form widgets) rewritten: annotation changes.
        let annot_refs: Vec<ObjRef> = page_of.keys().copied().collect();
        for a in annot_refs {
            if !self.changed.contains_key(&a.num)
                || self.explained.contains(&a.num)
                || form_widgets.contains(&a)
            {
                continue;
            }
            let Some((_, new)) = self.changed.get(&a.num).cloned() else {
                continue;
            };
            let subtype = new
                .object
                .as_dict()
                .and_then(|d| d.name(b"Subtype"))
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            if subtype.is_empty() || subtype == "Widget" {
                continue;
            }
            self.explained.insert(a.num);
            self.explain_new_deps(&new.object)?;
            out.push(
                ChangeClass::Annotation,
                ModificationLevel::Annotations,
                reason(
                    "annotation_changed",
                    format!("a /{subtype} annotation is changed"),
                    format!("chú thích /{subtype} bị thay đổi"),
                ),
            );
            out.visual.push(Visual {
                annot: a,
                page: page_of.get(&a).copied(),
                kind: VisualKind::Annotation { subtype },
                removed: false,
            });
        }
        for v in &mut out.visual {
            if v.page.is_none() {
                v.page = page_of.get(&v.annot).copied();
            }
        }
        Ok(())
    }

    /// Annotations removed from `page`: a markup or other non-widget annotation that no
    /// page still shows is an annotation change (DocMDP P3 permits deleting them; the
    /// geometry check reports one that hid signed content); anything else is not.
    /// Returns whether every removal is such an annotation.
    fn removed_annotations(
        &mut self,
        page: ObjRef,
        removed: &[ObjRef],
        pages: &[ObjRef],
        out: &mut RevisionDiff,
    ) -> Result<bool, PdfError> {
        if removed.is_empty() {
            return Ok(true);
        }
        let mut still_shown: HashSet<ObjRef> = HashSet::new();
        if removed.len() <= 64 {
            for p in pages.iter().take(10_000) {
                still_shown.extend(annots(&self.new, *p)?.refs);
            }
        }
        let mut ok = removed.len() <= 64;
        for a in removed {
            let old = self.old.load(*a)?;
            let dict = old.as_ref().and_then(|l| l.object.as_dict().cloned());
            let subtype = dict
                .as_ref()
                .and_then(|d| d.name(b"Subtype"))
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            if !ok
                || subtype.is_empty()
                || subtype == "Widget"
                || dict.as_ref().is_some_and(|d| d.get(b"FT").is_some())
                || still_shown.contains(a)
            {
                ok = false;
                continue;
            }
            self.may_free.insert(a.num);
            if let Some(d) = &dict {
                if let Some(Object::Ref(r)) = d.get(b"Popup") {
                    self.may_free.insert(r.num);
                }
                let ap = match d.get(b"AP") {
                    Some(v) => self.old.resolve(v)?.as_dict().cloned(),
                    None => None,
                };
                if let Some(ap) = ap {
                    for (_, v) in &ap.entries {
                        let mut refs = Vec::new();
                        collect_refs(v, &mut refs);
                        if let Some(states) = self.old.resolve(v)?.as_dict() {
                            for (_, s) in &states.entries {
                                collect_refs(s, &mut refs);
                            }
                        }
                        self.may_free.extend(refs.iter().map(|r| r.num));
                    }
                }
            }
            out.push(
                ChangeClass::Annotation,
                ModificationLevel::Annotations,
                reason(
                    "annotation_removed",
                    format!("a /{subtype} annotation is removed from page {page}"),
                    format!("chú thích /{subtype} bị xóa khỏi trang {page}"),
                ),
            );
            out.visual.push(Visual {
                annot: *a,
                page: Some(page),
                kind: VisualKind::Annotation { subtype },
                removed: true,
            });
        }
        if !ok {
            out.other(reason(
                "annotation_removed",
                format!("annotations or widgets are removed from page {page}"),
                format!("chú thích hoặc ô biểu mẫu bị xóa khỏi trang {page}"),
            ));
        }
        Ok(ok)
    }

    fn signature_dictionaries(&mut self, out: &mut RevisionDiff) {
        let hits: Vec<u32> = self
            .changed
            .keys()
            .filter(|n| self.signatures.iter().any(|s| s.num == **n))
            .copied()
            .collect();
        for n in hits {
            self.explained.insert(n);
            out.other(reason(
                "signature_dictionary_changed",
                format!("the dictionary of an existing signature (object {n}) is rewritten"),
                format!("từ điển của một chữ ký đã có (đối tượng {n}) bị ghi lại"),
            ));
        }
    }

    /// Changed objects no rule explained, and new objects the document can reach.
    fn leftovers(&mut self, out: &mut RevisionDiff) -> Result<(), PdfError> {
        // A removed annotation's own objects may be freed, unless the document still
        // uses them (an "appearance" that is also page content, say).
        let freed = std::mem::take(&mut self.freed);
        let candidates: HashSet<u32> = freed
            .iter()
            .filter(|n| self.may_free.contains(n))
            .copied()
            .collect();
        let still_used: HashSet<u32> = if candidates.is_empty() {
            HashSet::new()
        } else {
            reachable(&self.new, &candidates, self.doc.limits.max_walk)?
                .into_iter()
                .collect()
        };
        for num in freed {
            if !candidates.contains(&num) || still_used.contains(&num) {
                out.other(reason(
                    "object_freed",
                    format!("object {num} is deleted (freed)"),
                    format!("đối tượng {num} bị xóa"),
                ));
            }
        }
        let unexplained: Vec<(u32, Rc<Loaded>)> = self
            .changed
            .iter()
            .filter(|(n, _)| !self.explained.contains(n))
            .map(|(n, (_, new))| (*n, new.clone()))
            .collect();
        for (n, new) in unexplained {
            let (code, en, vi) = describe_change(n, &new.object);
            out.other(reason(code, en, vi));
        }
        let candidates: HashSet<u32> = self
            .new_objects
            .keys()
            .filter(|n| !self.explained.contains(n))
            .copied()
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let reached = reachable(&self.new, &candidates, self.doc.limits.max_walk)?;
        if !reached.is_empty() {
            let list: Vec<String> = reached.iter().take(8).map(u32::to_string).collect();
            out.other(reason(
                "unexplained_new_object",
                format!(
                    "new objects used by the document are not part of any allowed change: {}",
                    list.join(", ")
                ),
                format!(
                    "đối tượng mới được tài liệu sử dụng không thuộc thay đổi được phép nào: {}",
                    list.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

fn describe_change(n: u32, o: &Object) -> (&'static str, String, String) {
    let d = o.as_dict();
    let ty = d.and_then(|d| d.name(b"Type")).unwrap_or_default();
    let subtype = d.and_then(|d| d.name(b"Subtype")).unwrap_or_default();
    match (ty, subtype) {
        (b"Font" | b"FontDescriptor", _) | (_, b"Type1C" | b"CIDFontType0C" | b"OpenType") => (
            "font_redefined",
            format!("font object {n} is redefined (glyphs can be remapped)"),
            format!("phông chữ {n} bị định nghĩa lại (có thể đổi mặt chữ)"),
        ),
        (b"XObject", _) | (_, b"Image" | b"Form") => (
            "xobject_redefined",
            format!("XObject {n} (image or form) is redefined"),
            format!("XObject {n} (ảnh hoặc biểu mẫu) bị định nghĩa lại"),
        ),
        _ if matches!(o, Object::Stream(_)) => (
            "stream_changed",
            format!("stream object {n} (e.g. page content) is changed"),
            format!("luồng {n} (ví dụ nội dung trang) bị thay đổi"),
        ),
        _ => (
            "object_changed",
            format!("object {n} is changed"),
            format!("đối tượng {n} bị thay đổi"),
        ),
    }
}

/// The keys whose values differ between two dictionaries (added, removed, changed).
fn changed_keys(old: &Dict, new: &Dict, file: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (k, v) in &new.entries {
        if !old.get(k).is_some_and(|o| same(o, v, file)) && !out.contains(k) {
            out.push(k.clone());
        }
    }
    for (k, _) in &old.entries {
        if new.get(k).is_none() && !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

fn key_list(keys: &[Vec<u8>]) -> String {
    keys.iter()
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Push every reference inside `o` (not following them).
pub(crate) fn collect_refs(o: &Object, out: &mut Vec<ObjRef>) {
    match o {
        Object::Ref(r) => out.push(*r),
        Object::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Object::Dict(d) => d.entries.iter().for_each(|(_, v)| collect_refs(v, out)),
        Object::Stream(s) => s
            .dict
            .entries
            .iter()
            .for_each(|(_, v)| collect_refs(v, out)),
        _ => {}
    }
}

/// Which of `targets` can be reached from the trailer of `view`.
fn reachable(
    view: &View<'_, '_>,
    targets: &HashSet<u32>,
    max: usize,
) -> Result<Vec<u32>, PdfError> {
    let mut stack: Vec<ObjRef> = Vec::new();
    for (k, v) in &view.trailer().entries {
        if matches!(k.as_slice(), b"Root" | b"Info" | b"Encrypt") {
            collect_refs(v, &mut stack);
        }
    }
    let mut seen: HashSet<ObjRef> = HashSet::new();
    let mut found = Vec::new();
    while let Some(r) = stack.pop() {
        if !seen.insert(r) {
            continue;
        }
        if seen.len() > max {
            return Err(PdfError::Limit {
                what: "objects walked",
                max,
            });
        }
        if targets.contains(&r.num) {
            found.push(r.num);
            if found.len() == targets.len() {
                break;
            }
        }
        // An unreadable object cannot hide a reference from a reader either.
        if let Ok(Some(l)) = view.load(r) {
            collect_refs(&l.object, &mut stack);
        }
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// The page tree: intermediate nodes and pages, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pages {
    pub(crate) nodes: Vec<ObjRef>,
    pub(crate) pages: Vec<ObjRef>,
}

pub(crate) fn page_list(view: &View<'_, '_>) -> Result<Pages, PdfError> {
    let (_, root) = view.root()?;
    let mut out = Pages::default();
    let Some(Object::Ref(top)) = root.object.as_dict().and_then(|d| d.get(b"Pages")).cloned()
    else {
        return Ok(out);
    };
    let mut stack = vec![(top, 0usize)];
    let mut seen = HashSet::new();
    while let Some((r, depth)) = stack.pop() {
        if !seen.insert(r) || depth > view.doc.limits.max_depth {
            continue;
        }
        if seen.len() > view.doc.limits.max_pages {
            return Err(PdfError::Limit {
                what: "pages",
                max: view.doc.limits.max_pages,
            });
        }
        let Some(l) = view.load(r)? else { continue };
        let Some(d) = l.object.as_dict() else {
            continue;
        };
        let kids = view.get(d, b"Kids")?;
        match (d.name(b"Type"), kids.as_array()) {
            (Some(b"Pages"), Some(kids)) | (None, Some(kids)) => {
                out.nodes.push(r);
                for k in kids.iter().rev() {
                    if let Some(kr) = k.as_ref() {
                        stack.push((kr, depth + 1));
                    }
                }
            }
            _ => out.pages.push(r),
        }
    }
    Ok(out)
}

struct Annots {
    refs: Vec<ObjRef>,
    array_ref: Option<ObjRef>,
    direct: bool,
}

fn annots(view: &View<'_, '_>, page: ObjRef) -> Result<Annots, PdfError> {
    let mut out = Annots {
        refs: Vec::new(),
        array_ref: None,
        direct: false,
    };
    let Some(l) = view.load(page)? else {
        return Ok(out);
    };
    let Some(d) = l.object.as_dict() else {
        return Ok(out);
    };
    let Some(v) = d.get(b"Annots") else {
        return Ok(out);
    };
    out.array_ref = v.as_ref();
    let arr = view.resolve(v)?;
    if let Some(a) = arr.as_array() {
        for item in a {
            match item {
                Object::Ref(r) => out.refs.push(*r),
                _ => out.direct = true,
            }
        }
    }
    Ok(out)
}

/// Well-formed enough to be XMP, and free of DTDs and entities.
fn looks_like_xmp(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    (t.starts_with("<?xpacket") || t.starts_with("<x:xmpmeta") || t.starts_with("<?xml"))
        && text.contains("xmpmeta")
        && !text.contains("<!DOCTYPE")
        && !text.contains("<!ENTITY")
}

/// Whether an appearance stream paints anything (for the geometry check).
pub(crate) fn paints(content: &[u8], limits: &crate::verify::Limits) -> bool {
    let mut p = Parser::new(content, 0, limits);
    let mut steps = 0;
    while let Ok(Some(item)) = p.content_item() {
        steps += 1;
        if steps > 100_000 {
            return true;
        }
        if let crate::pdf::objects::ContentItem::Operator(op) = item
            && matches!(
                op,
                b"Tj"
                    | b"TJ"
                    | b"'"
                    | b"\""
                    | b"Do"
                    | b"f"
                    | b"F"
                    | b"f*"
                    | b"B"
                    | b"B*"
                    | b"b"
                    | b"b*"
                    | b"S"
                    | b"s"
                    | b"sh"
                    | b"BI"
            )
        {
            return true;
        }
    }
    false
}
