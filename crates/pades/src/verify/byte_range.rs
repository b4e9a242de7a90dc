//! `/ByteRange` and `/Contents` of one signature dictionary (ISO 32000-2 §12.8.1),
//! checked against the attacks of Mladenov et al. (USF, SWA):
//!
//! - `/ByteRange` is a direct array of exactly four non-negative integers
//!   `[0 a b c]` with `a < b`;
//! - the gap `[a, b)` is exactly this dictionary's `/Contents` hex string (`<` hex
//!   digits `>`, nothing else), so no object can hide in the unsigned hole;
//! - `b + c` is the end of a revision (after `%%EOF`, with or without its end of line);
//! - `/Contents` decodes to one DER value followed only by zero padding.

use std::ops::Range;

use kyso_cades::report::Reason;

use crate::pdf::objects::{Dict, Object};
use crate::pdf::revisions::Document;
use crate::verify::report::Coverage;

/// A signature whose byte range passed every rule.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// `[0, a, b, c]`.
    pub(crate) range: [usize; 4],
    /// The DER value in `/Contents`, padding removed.
    pub(crate) contents: Vec<u8>,
    /// Index of the revision the signature covers.
    pub(crate) revision: usize,
    pub(crate) coverage: Coverage,
}

impl Checked {
    pub(crate) fn gap(&self) -> Range<usize> {
        self.range[1]..self.range[2]
    }

    pub(crate) fn end(&self) -> usize {
        self.range[2] + self.range[3]
    }
}

/// What `/ByteRange` says, as far as it can be read (for the report).
pub(crate) fn raw(dict: &Dict) -> Option<Vec<i64>> {
    match dict.get(b"ByteRange") {
        Some(Object::Array(a)) => a
            .iter()
            .map(|o| match o {
                Object::Int(i) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Apply the rules to `dict`, the signature dictionary as read from the revision it
/// signs, which the file holds at `dict_span`. `Err` lists every rule broken; the
/// coverage is reported either way.
pub(crate) fn check(
    doc: &Document<'_>,
    dict: &Dict,
    dict_span: &Range<usize>,
    defined_in: usize,
) -> Result<Checked, (Coverage, Vec<Reason>)> {
    let len = doc.data.len();
    let mut fails = Vec::new();
    if dict.has_duplicate_keys() {
        fails.push(Reason::new(
            "signature_dictionary_duplicate_keys",
            "the signature dictionary repeats a key (readers would disagree on which one counts)",
            "từ điển chữ ký có khóa bị lặp (các trình đọc có thể hiểu khác nhau)",
        ));
    }
    let range = byte_range(dict, len, &mut fails);
    let contents = contents(dict, &mut fails);
    let Some(range) = range else {
        return Err((Coverage::Unclear, fails));
    };
    let [_, a, b, c] = range;
    let end = b + c;
    let revision = doc
        .revisions
        .iter()
        .position(|r| r.end == end || r.marker_end == end);
    let coverage = match revision {
        Some(_) if end == len => Coverage::EntireFile,
        Some(_) => Coverage::EntireRevision,
        None => Coverage::ContiguousBlockFromStart,
    };
    if revision.is_none() {
        fails.push(Reason::new(
            "byte_range_not_revision_end",
            format!(
                "the signed bytes end at {end}, which is not the end of a revision (`%%EOF`): what was signed is not a complete document"
            ),
            format!(
                "phần được ký kết thúc tại byte {end}, không phải cuối một phiên bản (`%%EOF`)"
            ),
        ));
    }
    if let Some((span, hex_only)) = &contents {
        if span.start != a || span.end != b {
            fails.push(Reason::new(
                "gap_not_contents",
                format!(
                    "the unsigned gap {a}–{b} is not exactly this signature's /Contents ({}–{}): bytes outside the signature value are unsigned (signature wrapping)",
                    span.start, span.end
                ),
                format!(
                    "khoảng không được ký {a}–{b} không trùng với /Contents của chữ ký ({}–{}) (tấn công bọc chữ ký)",
                    span.start, span.end
                ),
            ));
        } else {
            let inner = doc.data.get(a + 1..b - 1).unwrap_or_default();
            if !*hex_only || !inner.iter().all(u8::is_ascii_hexdigit) {
                fails.push(Reason::new(
                    "gap_not_hex",
                    "the unsigned gap holds more than hexadecimal digits",
                    "khoảng không được ký chứa ký tự khác chữ số thập lục phân",
                ));
            }
        }
    }
    if !(dict_span.start >= doc.revisions[defined_in].start
        && dict_span.end <= doc.revisions[defined_in].end)
        || revision != Some(defined_in)
    {
        fails.push(Reason::new(
            "signature_outside_signed_revision",
            "the signature dictionary is not part of the revision the signature covers",
            "từ điển chữ ký không nằm trong phiên bản mà chữ ký bao phủ",
        ));
    }
    let der = match &contents {
        Some(_) => der_value(dict, &mut fails),
        None => None,
    };
    match (fails.is_empty(), revision, der) {
        (true, Some(revision), Some(contents)) => Ok(Checked {
            range,
            contents,
            revision,
            coverage,
        }),
        _ => Err((coverage, fails)),
    }
}

/// `/ByteRange` and the DER value of `/Contents` when both can be read, whatever other
/// rule the signature breaks (for saying whether its bytes changed).
pub(crate) fn probe(dict: &Dict, len: usize) -> Option<([usize; 4], Vec<u8>)> {
    let mut ignored = Vec::new();
    let range = byte_range(dict, len, &mut ignored)?;
    contents(dict, &mut ignored)?;
    Some((range, der_value(dict, &mut ignored)?))
}

fn byte_range(dict: &Dict, len: usize, fails: &mut Vec<Reason>) -> Option<[usize; 4]> {
    let mut fail = |code: &'static str, en: &str, vi: &str| {
        fails.push(Reason::new(code, en, vi));
        None
    };
    let items = match dict.get(b"ByteRange") {
        None => {
            return fail(
                "byte_range_missing",
                "the signature has no /ByteRange",
                "chữ ký không có /ByteRange",
            );
        }
        Some(Object::Array(a)) => a,
        Some(Object::Ref(_)) => {
            return fail(
                "byte_range_indirect",
                "/ByteRange is an indirect object (it must be a direct array)",
                "/ByteRange là đối tượng gián tiếp (phải là mảng trực tiếp)",
            );
        }
        Some(_) => {
            return fail(
                "byte_range_not_array",
                "/ByteRange is not an array",
                "/ByteRange không phải là mảng",
            );
        }
    };
    if items.len() != 4 {
        return fail(
            "byte_range_length",
            &format!("/ByteRange has {} numbers instead of 4", items.len()),
            &format!("/ByteRange có {} số thay vì 4", items.len()),
        );
    }
    let mut v = [0usize; 4];
    for (i, o) in items.iter().enumerate() {
        match o {
            Object::Int(n) if *n >= 0 => match usize::try_from(*n) {
                Ok(n) => v[i] = n,
                Err(_) => {
                    return fail(
                        "byte_range_beyond_file",
                        "/ByteRange points past the end of the file",
                        "/ByteRange trỏ quá cuối tệp",
                    );
                }
            },
            Object::Int(_) => {
                return fail(
                    "byte_range_negative",
                    "/ByteRange holds a negative number",
                    "/ByteRange chứa số âm",
                );
            }
            _ => {
                return fail(
                    "byte_range_not_integer",
                    "/ByteRange holds something other than integers",
                    "/ByteRange chứa giá trị không phải số nguyên",
                );
            }
        }
    }
    let [start, a, b, c] = v;
    if start != 0 {
        return fail(
            "byte_range_not_from_start",
            "the signed bytes do not start at the beginning of the file",
            "phần được ký không bắt đầu từ đầu tệp",
        );
    }
    if a == 0 || a >= b || b - a < 2 {
        return fail(
            "byte_range_order",
            "/ByteRange is not [0 a b c] with 0 < a < b",
            "/ByteRange không có dạng [0 a b c] với 0 < a < b",
        );
    }
    match b.checked_add(c) {
        Some(end) if end <= len => Some(v),
        _ => fail(
            "byte_range_beyond_file",
            "/ByteRange points past the end of the file",
            "/ByteRange trỏ quá cuối tệp",
        ),
    }
}

/// The `/Contents` span and whether the string was written in hex.
fn contents(dict: &Dict, fails: &mut Vec<Reason>) -> Option<(Range<usize>, bool)> {
    let mut fail = |code: &'static str, en: &str, vi: &str| {
        fails.push(Reason::new(code, en, vi));
        None
    };
    match dict.get(b"Contents") {
        None => fail(
            "contents_missing",
            "the signature has no /Contents",
            "chữ ký không có /Contents",
        ),
        Some(Object::Null) => fail(
            "contents_null",
            "the signature's /Contents is null",
            "/Contents của chữ ký là null",
        ),
        Some(Object::Ref(_)) => fail(
            "contents_indirect",
            "/Contents is an indirect object (it must be a direct string)",
            "/Contents là đối tượng gián tiếp (phải là chuỗi trực tiếp)",
        ),
        Some(Object::String(s)) if s.bytes.is_empty() => fail(
            "contents_empty",
            "the signature's /Contents is empty",
            "/Contents của chữ ký rỗng",
        ),
        Some(Object::String(s)) if !s.hex => fail(
            "contents_not_hex",
            "/Contents is a literal string, not a hexadecimal string",
            "/Contents là chuỗi thường, không phải chuỗi thập lục phân",
        ),
        Some(Object::String(s)) => Some((s.span.clone(), s.hex)),
        Some(other) => fail(
            "contents_not_string",
            &format!("/Contents is a {}, not a string", other.kind()),
            &format!("/Contents là {}, không phải chuỗi", other.kind()),
        ),
    }
}

/// One DER value, then only zero bytes.
fn der_value(dict: &Dict, fails: &mut Vec<Reason>) -> Option<Vec<u8>> {
    let Some(Object::String(s)) = dict.get(b"Contents") else {
        return None;
    };
    let bytes = &s.bytes;
    let Some(total) = der_length(bytes) else {
        fails.push(Reason::new(
            "contents_not_der",
            "/Contents does not hold a DER structure",
            "/Contents không chứa cấu trúc DER",
        ));
        return None;
    };
    if bytes[total..].iter().any(|b| *b != 0) {
        fails.push(Reason::new(
            "contents_trailing_data",
            "/Contents holds data after the signature",
            "/Contents chứa dữ liệu sau chữ ký",
        ));
        return None;
    }
    Some(bytes[..total].to_vec())
}

/// The length of the DER SEQUENCE at the start of `bytes`, if it fits. BER (indefinite
/// lengths, as Adobe Acrobat writes) is measured too: CMS allows it, and `kyso-cades`
/// normalises it before decoding.
pub(crate) fn der_length(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    if bytes.get(1) == Some(&0x80) {
        return kyso_cades::ber::encoded_len(bytes);
    }
    let first = *bytes.get(1)?;
    let (header, len) = if first < 0x80 {
        (2usize, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len << 8 | usize::from(*bytes.get(2 + i)?);
        }
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= bytes.len()).then_some(total)
}
