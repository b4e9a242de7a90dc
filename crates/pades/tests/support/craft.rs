//! Crafting attacks on signed PDFs: fields, annotations, signatures with computed
//! byte ranges, shrunk signature gaps, and documents an attacker prepares before they
//! are signed (shadow attacks). Shared by the attack suite and the peer comparison.

#![allow(dead_code)]

use lopdf::Object;

use crate::edit::{self, append, catalog, page_content, page1, ser, ser_dict, stream};
use crate::fixture::{NAME_LINE, Who, cms_over, document, sign_bytes};

pub(crate) const HELV: &str =
    "<< /Font << /Helv << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>";

/// An appearance stream painting `text` at the bottom-left of `rect`.
pub(crate) fn appearance(rect: [f64; 4], text: &str) -> String {
    let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
    stream(
        &format!("/Type /XObject /Subtype /Form /BBox [0 0 {w} {h}] /Resources {HELV}"),
        &format!("1 1 1 rg 0 0 {w} {h} re f BT 0 0 0 rg /Helv 12 Tf 2 3 Td ({text}) Tj ET"),
    )
}

pub(crate) fn rect_text(r: [f64; 4]) -> String {
    format!("[{} {} {} {}]", r[0], r[1], r[2], r[3])
}

/// Objects that add `annot` to page 1's /Annots.
pub(crate) fn page_with(pdf: &[u8], annot: u32) -> Vec<(u32, String)> {
    let (page, mut dict) = page1(pdf);
    match dict.get(b"Annots").ok().cloned() {
        Some(Object::Reference(r)) => {
            let mut arr = match edit::object(pdf, r.0) {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            arr.push(Object::Reference((annot, 0)));
            vec![(r.0, ser(&Object::Array(arr)))]
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Reference((annot, 0)));
            dict.set("Annots", Object::Array(a));
            vec![(page, ser_dict(&dict))]
        }
        _ => {
            dict.set("Annots", Object::Array(vec![Object::Reference((annot, 0))]));
            vec![(page, ser_dict(&dict))]
        }
    }
}

/// Objects that add `field` to /AcroForm /Fields.
pub(crate) fn form_with(pdf: &[u8], field: u32) -> Vec<(u32, String)> {
    let (cat, mut cat_dict) = catalog(pdf);
    let d = edit::doc(pdf);
    match cat_dict.get(b"AcroForm").ok().cloned() {
        Some(Object::Reference(r)) => {
            let mut form = d.get_dictionary(r).unwrap().clone();
            let mut fields = match form.get(b"Fields").unwrap() {
                Object::Array(a) => a.clone(),
                Object::Reference(fr) => d.get_object(*fr).unwrap().as_array().unwrap().clone(),
                _ => Vec::new(),
            };
            fields.push(Object::Reference((field, 0)));
            form.set("Fields", Object::Array(fields));
            vec![(r.0, ser_dict(&form))]
        }
        Some(Object::Dictionary(mut form)) => {
            let mut fields = form.get(b"Fields").unwrap().as_array().unwrap().clone();
            fields.push(Object::Reference((field, 0)));
            form.set("Fields", Object::Array(fields));
            cat_dict.set("AcroForm", Object::Dictionary(form));
            vec![(cat, ser_dict(&cat_dict))]
        }
        _ => {
            let mut form = lopdf::Dictionary::new();
            form.set("Fields", Object::Array(vec![Object::Reference((field, 0))]));
            form.set("SigFlags", Object::Integer(3));
            cat_dict.set("AcroForm", Object::Dictionary(form));
            vec![(cat, ser_dict(&cat_dict))]
        }
    }
}

/// Append a revision adding field `name` (merged field/widget of type `ft`) with
/// optional `/V` and an appearance painting `text` in `rect`.
pub(crate) fn add_field(
    pdf: &[u8],
    ft: &str,
    name: &str,
    rect: [f64; 4],
    value: Option<&str>,
    text: Option<&str>,
) -> Vec<u8> {
    let n = edit::next_num(pdf);
    let (page, _) = page1(pdf);
    let mut objects = Vec::new();
    let ap = match text {
        Some(t) => {
            objects.push((n + 1, appearance(rect, t)));
            format!("/AP << /N {} 0 R >>", n + 1)
        }
        None => String::new(),
    };
    let v = value.map(|v| format!("/V {v}")).unwrap_or_default();
    objects.push((
        n,
        format!(
            "<< /FT /{ft} /T ({name}) /Type /Annot /Subtype /Widget /F 4 /Rect {} /P {page} 0 R {ap} {v} >>",
            rect_text(rect)
        ),
    ));
    objects.extend(page_with(pdf, n));
    objects.extend(form_with(pdf, n));
    append(pdf, objects)
}

/// Append a revision adding an annotation of `subtype` painting `text` in `rect`.
pub(crate) fn add_annotation(pdf: &[u8], subtype: &str, rect: [f64; 4], text: &str) -> Vec<u8> {
    let n = edit::next_num(pdf);
    let (page, _) = page1(pdf);
    let mut objects = vec![
        (n + 1, appearance(rect, text)),
        (
            n,
            format!(
                "<< /Type /Annot /Subtype /{subtype} /Rect {} /P {page} 0 R /Contents ({text}) /DA (/Helv 12 Tf 0 g) /F 4 /AP << /N {} 0 R >> >>",
                rect_text(rect),
                n + 1
            ),
        ),
    ];
    objects.extend(page_with(pdf, n));
    append(pdf, objects)
}

/// What goes into a crafted signature's /Contents.
pub(crate) enum Fill {
    /// A CMS by the leader over the byte ranges (or encapsulating them).
    Cms { encapsulate: bool },
    /// These bytes.
    Bytes(Vec<u8>),
    /// adbe.pkcs7.sha1: a CMS by the leader encapsulating the SHA-1 of the ranges.
    Sha1Legacy,
}

/// Append a signature revision with field `name`: `keys` go into the signature
/// dictionary before a computed `/ByteRange` and a `/Contents` placeholder. `shorten`
/// makes the second range stop that many bytes early.
pub(crate) fn append_signature(
    pdf: &[u8],
    name: &str,
    keys: &str,
    fill: Fill,
    shorten: usize,
) -> Vec<u8> {
    let n = edit::next_num(pdf);
    let (page, _) = page1(pdf);
    let size = match fill {
        Fill::Cms { encapsulate: true } => 2 * pdf.len() + 40_000,
        _ => 16_384,
    };
    let placeholder = "0".repeat(size);
    let mut objects = vec![
        (
            n,
            format!(
                "<< /FT /Sig /T ({name}) /Type /Annot /Subtype /Widget /F 132 /Rect [0 0 0 0] /P {page} 0 R /V {} 0 R >>",
                n + 1
            ),
        ),
        (
            n + 1,
            format!(
                "<< /Type /Sig /Filter /Adobe.PPKLite {} {keys} /ByteRange [0 0000000000 0000000000 0000000000] /Contents <{placeholder}> >>",
                if keys.contains("/SubFilter") {
                    ""
                } else {
                    "/SubFilter /adbe.pkcs7.detached"
                }
            ),
        ),
    ];
    objects.extend(page_with(pdf, n));
    objects.extend(form_with(pdf, n));
    let mut out = append(pdf, objects);
    let br_at =
        edit::offset_of(&out, n + 1) + find(&out[edit::offset_of(&out, n + 1)..], b"[0 0000000000");
    let a = br_at + find(&out[br_at..], b"/Contents <") + "/Contents ".len();
    let b = a + placeholder.len() + 2;
    let c = out.len() - b - shorten;
    let br = format!("[0 {a:010} {b:010} {c:010}]");
    out[br_at..br_at + br.len()].copy_from_slice(br.as_bytes());
    let value = match fill {
        Fill::Cms { encapsulate } => cms_over(&[&out[..a], &out[b..b + c]], encapsulate),
        Fill::Bytes(v) => v,
        Fill::Sha1Legacy => {
            let digest =
                kyso_signer::DigestAlgorithm::Sha1.digest(&[&out[..a], &out[b..b + c]].concat());
            crate::fixture::cms_over(&[&digest], true)
        }
    };
    let hex: String = value.iter().map(|x| format!("{x:02X}")).collect();
    out[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    out
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// Append a revision adding field `name` whose signature dictionary is `dict` as is.
pub(crate) fn append_raw_signature(pdf: &[u8], name: &str, dict: &str) -> Vec<u8> {
    let n = edit::next_num(pdf);
    let (page, _) = page1(pdf);
    let mut objects = vec![
        (
            n,
            format!(
                "<< /FT /Sig /T ({name}) /Type /Annot /Subtype /Widget /F 132 /Rect [0 0 0 0] /P {page} 0 R /V {} 0 R >>",
                n + 1
            ),
        ),
        (n + 1, dict.to_string()),
    ];
    objects.extend(page_with(pdf, n));
    objects.extend(form_with(pdf, n));
    append(pdf, objects)
}

pub(crate) const SIG: &str = "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached";

pub(crate) fn evil_content() -> String {
    stream(
        "",
        "BT /F1 24 Tf 100 700 Td (QUYET DINH NAY DA BI HUY) Tj ET",
    )
}

/// Shrink Sig1's /Contents to its DER value and put `filler(content object)` in the
/// freed part of the unsigned gap; returns the bytes and where the filler starts.
pub(crate) fn shrink_gap(base: &[u8], filler: impl Fn(u32) -> String) -> (Vec<u8>, usize) {
    let [_, a, b, _] = edit::last_byte_range(base);
    let der_len = {
        let hex = std::str::from_utf8(&base[a + 1..a + 9]).unwrap();
        let bytes: Vec<u8> = (0..4)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(bytes[0], 0x30);
        assert_eq!(bytes[1], 0x82, "long-form length expected");
        4 + (usize::from(bytes[2]) << 8 | usize::from(bytes[3]))
    };
    let mut pdf = base.to_vec();
    let shrunk_end = a + 1 + 2 * der_len + 1;
    pdf[shrunk_end - 1] = b'>';
    let text = filler(page_content(base));
    assert!(shrunk_end + text.len() < b, "the gap is big enough");
    pdf[shrunk_end..shrunk_end + text.len()].copy_from_slice(text.as_bytes());
    for byte in &mut pdf[shrunk_end + text.len()..b] {
        *byte = b' ';
    }
    (pdf, shrunk_end)
}

/// The entries of the last cross-reference table of `pdf`.
pub(crate) fn section_entries(pdf: &[u8]) -> Vec<(u32, usize)> {
    let t = edit::trailer(pdf);
    let text = String::from_utf8_lossy(&pdf[t.prev..]).into_owned();
    let body = &text[4..text.find("trailer").unwrap()];
    let mut out = Vec::new();
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    while let Some(head) = lines.next() {
        let mut p = head.split_whitespace();
        let first: u32 = p.next().unwrap().parse().unwrap();
        let count: u32 = p.next().unwrap().parse().unwrap();
        for i in 0..count {
            let e = lines.next().unwrap();
            let mut q = e.split_whitespace();
            let off: usize = q.next().unwrap().parse().unwrap();
            let _g = q.next();
            if q.next() == Some("n") {
                out.push((first + i, off));
            }
        }
    }
    out
}

/// quyet-dinh.pdf prepared by the attacker before signing: an opaque overlay over the
/// signer's name (a second content stream of page 1), a hidden empty version of that
/// overlay written as stray bytes, and a complete hidden second document (catalog,
/// pages, page, content) as unreferenced objects. Returns (signed bytes, overlay
/// object, hidden overlay offset, hidden catalog object, hidden catalog-copy offset).
pub(crate) fn shadow_prepared() -> &'static (Vec<u8>, u32, usize, u32, usize) {
    static C: std::sync::OnceLock<(Vec<u8>, u32, usize, u32, usize)> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
        let n = edit::next_num(&orig);
        let (page, mut page_dict) = page1(&orig);
        let (cat, cat_dict) = catalog(&orig);
        let content = page_content(&orig);
        let overlay = n;
        let r = NAME_LINE;
        let mut pre = orig.clone();
        // Hidden bytes (no cross-reference entry points at them): an empty overlay and
        // a copy of the catalog pointing at the hidden page tree.
        let hidden_overlay_at = pre.len() + 1;
        pre.extend_from_slice(
            format!("\n{overlay} 0 obj\n{}\nendobj\n", stream("", "")).as_bytes(),
        );
        let mut fake_cat = cat_dict.clone();
        fake_cat.set("Pages", Object::Reference((n + 2, 0)));
        let hidden_catalog_at = pre.len() + 1;
        pre.extend_from_slice(
            format!("\n{cat} 0 obj\n{}\nendobj\n", ser_dict(&fake_cat)).as_bytes(),
        );
        page_dict.set(
            "Contents",
            Object::Array(vec![
                Object::Reference((content, 0)),
                Object::Reference((overlay, 0)),
            ]),
        );
        let mut hidden_page = page_dict.clone();
        hidden_page.set("Parent", Object::Reference((n + 2, 0)));
        hidden_page.set("Contents", Object::Reference((n + 4, 0)));
        let objects = vec![
            (page, ser_dict(&page_dict)),
            (
                overlay,
                stream(
                    "",
                    &format!(
                        "q 1 1 1 rg {} {} {} {} re f Q",
                        r[0] - 2.0,
                        r[1] - 2.0,
                        r[2] - r[0] + 4.0,
                        r[3] - r[1] + 4.0
                    ),
                ),
            ),
            (n + 1, format!("<< /Type /Catalog /Pages {} 0 R >>", n + 2)),
            (
                n + 2,
                format!("<< /Type /Pages /Kids [{} 0 R] /Count 1 >>", n + 3),
            ),
            (n + 3, ser_dict(&hidden_page)),
            (
                n + 4,
                stream("", "BT /F1 28 Tf 100 700 Td (GIAY PHEP DA DUOC CAP) Tj ET"),
            ),
        ];
        let prepared = append(&pre, objects);
        let signed = sign_bytes(&prepared, "Sig1", Who::Leader, &[]);
        (signed, overlay, hidden_overlay_at, n + 1, hidden_catalog_at)
    })
}

/// quyet-dinh.pdf with an empty text field over the signer's name, signed.
pub(crate) fn form_prepared() -> &'static [u8] {
    static C: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let orig = std::fs::read(document("quyet-dinh.pdf")).unwrap();
        let with_field = add_field(&orig, "Tx", "GhiChu", NAME_LINE, None, None);
        sign_bytes(&with_field, "Sig1", Who::Leader, &[])
    })
}
