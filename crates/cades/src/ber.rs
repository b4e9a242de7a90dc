//! A bounded BER → DER normaliser for CMS input.
//!
//! CMS (RFC 5652 §1) allows BER: Adobe Acrobat, `openssl cms -sign -stream` and many
//! Windows signers write indefinite lengths and constructed OCTET STRINGs. The `cms`
//! crate reads DER only, so every CMS structure goes through [`to_der`] first. It
//! rewrites, without reordering anything:
//!
//! * indefinite lengths → definite, minimal lengths;
//! * non-minimal definite lengths → minimal;
//! * constructed OCTET STRINGs (and other constructed universal string types) → one
//!   primitive string holding the concatenated segments.
//!
//! SET OF elements keep their order: the `cms` decoder sorts them itself, and the
//! signature over signed attributes is checked on their encoding as received (with DER
//! lengths, RFC 5652 §5.4) before the sorted re-encoding.
//!
//! Hostile input is bounded: nesting depth, element count, and every length must fit in
//! the input. The error says what was wrong and where.

use std::fmt;

/// Bounds on the BER input.
#[derive(Debug, Clone, Copy)]
pub struct BerLimits {
    /// Deepest nesting of constructed values.
    pub max_depth: usize,
    /// Most TLV elements in the whole input.
    pub max_elements: usize,
}

impl Default for BerLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_elements: 1 << 20,
        }
    }
}

/// Why the input is not BER kyso accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BER error at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for BerError {}

/// Normalise one BER value (the whole input, no trailing bytes) to DER lengths and
/// primitive strings. DER input comes back unchanged.
pub fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    to_der_with(input, BerLimits::default())
}

/// [`to_der`] without a copy when the input needs no change: most signers write DER, and
/// a scan that allocates nothing is several times quicker than rebuilding the value.
pub fn to_der_cow(input: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, BerError> {
    let limits = BerLimits::default();
    if is_der_shaped(input, limits) {
        return Ok(std::borrow::Cow::Borrowed(input));
    }
    to_der_with(input, limits).map(std::borrow::Cow::Owned)
}

/// Whether `input` is one value with only definite, minimal lengths and no constructed
/// universal strings, within `limits`: exactly what [`to_der_with`] returns unchanged.
/// (Anything else, including what the normaliser refuses, answers `false`, and the
/// normaliser then gives the rewritten value or the precise error.)
fn is_der_shaped(input: &[u8], limits: BerLimits) -> bool {
    let mut elements = 0usize;
    scan_der(input, 0, 0, limits, &mut elements) == Some(input.len())
}

/// The end of the DER-shaped element at `pos`, or `None`.
fn scan_der(
    input: &[u8],
    pos: usize,
    depth: usize,
    limits: BerLimits,
    elements: &mut usize,
) -> Option<usize> {
    *elements += 1;
    if *elements > limits.max_elements || depth > limits.max_depth {
        return None;
    }
    let first = *input.get(pos)?;
    let mut p = pos + 1;
    if first & 0x1f == 0x1f {
        loop {
            let b = *input.get(p)?;
            p += 1;
            if p - pos > 5 {
                return None;
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let constructed = first & 0x20 != 0;
    if first == 0 {
        // An end-of-contents marker belongs to indefinite lengths only.
        return None;
    }
    let len_byte = *input.get(p)?;
    p += 1;
    let len = if len_byte < 0x80 {
        usize::from(len_byte)
    } else {
        let n = usize::from(len_byte & 0x7f);
        // 0x80 (indefinite), more than 8 length octets, or 0xff: not DER.
        if n == 0 || n > 8 {
            return None;
        }
        let bytes = input.get(p..p + n)?;
        p += n;
        // Minimal: no leading zero octet, and long form only from 128 on.
        if bytes[0] == 0 {
            return None;
        }
        let mut len: u64 = 0;
        for b in bytes {
            len = len << 8 | u64::from(*b);
        }
        let len = usize::try_from(len).ok()?;
        if len < 0x80 {
            return None;
        }
        len
    };
    let end = p.checked_add(len).filter(|e| *e <= input.len())?;
    if !constructed {
        return Some(end);
    }
    if first & 0xc0 == 0 && is_string_type(first & 0x1f) {
        return None;
    }
    let mut q = p;
    while q < end {
        q = scan_der(&input[..end], q, depth + 1, limits, elements)?;
    }
    Some(end)
}

/// [`to_der`] with explicit limits.
pub fn to_der_with(input: &[u8], limits: BerLimits) -> Result<Vec<u8>, BerError> {
    let mut n = Normaliser {
        input,
        limits,
        elements: 0,
    };
    let (element, end) = n.element(0, 0)?;
    if end != input.len() {
        return Err(BerError {
            offset: end,
            what: format!("{} bytes after the value", input.len() - end),
        });
    }
    let mut out = Vec::with_capacity(input.len());
    element.write(&mut out);
    Ok(out)
}

/// The encoded length of the BER value at the start of `bytes` (definite or
/// indefinite), when it is well-formed within the limits; trailing bytes are allowed.
pub fn encoded_len(bytes: &[u8]) -> Option<usize> {
    let mut n = Normaliser {
        input: bytes,
        limits: BerLimits::default(),
        elements: 0,
    };
    n.element(0, 0).ok().map(|(_, end)| end)
}

struct Normaliser<'a> {
    input: &'a [u8],
    limits: BerLimits,
    elements: usize,
}

/// A normalised element: identifier octets and DER content.
struct Element<'a> {
    tag: Vec<u8>,
    content: Content<'a>,
}

enum Content<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Element<'_> {
    fn content(&self) -> &[u8] {
        match &self.content {
            Content::Borrowed(b) => b,
            Content::Owned(v) => v,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tag);
        let content = self.content();
        write_length(out, content.len());
        out.extend_from_slice(content);
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Universal string types that BER allows in constructed form.
fn is_string_type(tag_number: u8) -> bool {
    matches!(
        tag_number,
        4 | 12 | 18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 | 28 | 30
    )
}

impl<'a> Normaliser<'a> {
    fn err(&self, offset: usize, what: impl Into<String>) -> BerError {
        BerError {
            offset,
            what: what.into(),
        }
    }

    /// Parse the element at `pos`; returns it and the offset after it.
    fn element(&mut self, pos: usize, depth: usize) -> Result<(Element<'a>, usize), BerError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(self.err(
                pos,
                format!("more than {} elements", self.limits.max_elements),
            ));
        }
        if depth > self.limits.max_depth {
            return Err(self.err(pos, format!("nested deeper than {}", self.limits.max_depth)));
        }
        let input = self.input;
        let first = *input
            .get(pos)
            .ok_or_else(|| self.err(pos, "truncated (expected a tag)"))?;
        let mut p = pos + 1;
        if first & 0x1f == 0x1f {
            // High tag number: base-128, at most 4 more octets.
            loop {
                let b = *input.get(p).ok_or_else(|| self.err(p, "truncated tag"))?;
                p += 1;
                if p - pos > 5 {
                    return Err(self.err(pos, "tag number too large"));
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let tag = &input[pos..p];
        let constructed = first & 0x20 != 0;
        let len_byte = *input
            .get(p)
            .ok_or_else(|| self.err(p, "truncated (expected a length)"))?;
        p += 1;
        let length = if len_byte == 0x80 {
            if !constructed {
                return Err(self.err(pos, "indefinite length on a primitive value"));
            }
            None
        } else if len_byte < 0x80 {
            Some(usize::from(len_byte))
        } else {
            let n = usize::from(len_byte & 0x7f);
            if n > 8 || len_byte == 0xff {
                return Err(self.err(p - 1, "length of length too large"));
            }
            let bytes = input
                .get(p..p + n)
                .ok_or_else(|| self.err(p, "truncated length"))?;
            p += n;
            let mut len: u64 = 0;
            for b in bytes {
                len = len << 8 | u64::from(*b);
            }
            Some(
                usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= input.len())
                    .ok_or_else(|| self.err(pos, "length larger than the input"))?,
            )
        };
        if let Some(len) = length
            && p.checked_add(len).is_none_or(|end| end > input.len())
        {
            return Err(self.err(pos, "value extends past the end of the input"));
        }
        if !constructed {
            let len = length.unwrap_or(0);
            return Ok((
                Element {
                    tag: tag.to_vec(),
                    content: Content::Borrowed(&input[p..p + len]),
                },
                p + len,
            ));
        }
        // Constructed: children until the end (definite) or end-of-contents (indefinite).
        let end_limit = length.map(|l| p + l);
        let universal_string = first & 0xc0 == 0 && is_string_type(first & 0x1f);
        let mut children: Vec<Element<'a>> = Vec::new();
        let mut q = p;
        let end = loop {
            match end_limit {
                Some(end) if q == end => break end,
                Some(end) if q > end => {
                    return Err(self.err(q, "a nested value overruns its parent"));
                }
                None if input.get(q..q + 2) == Some(&[0, 0]) => break q + 2,
                _ => {}
            }
            let (child, next) = self.element(q, depth + 1)?;
            if child.tag == [0] {
                return Err(self.err(q, "unexpected end-of-contents"));
            }
            if let Some(end) = end_limit
                && next > end
            {
                return Err(self.err(q, "a nested value overruns its parent"));
            }
            children.push(child);
            q = next;
        };
        let content = if universal_string {
            let primitive = first & !0x20;
            let mut joined = Vec::new();
            for child in &children {
                if child.tag != [primitive] {
                    return Err(self.err(p, "a constructed string holds a segment of another type"));
                }
                joined.extend_from_slice(child.content());
            }
            return Ok((
                Element {
                    tag: vec![primitive],
                    content: Content::Owned(joined),
                },
                end,
            ));
        } else {
            let mut joined = Vec::new();
            for child in &children {
                child.write(&mut joined);
            }
            joined
        };
        Ok((
            Element {
                tag: tag.to_vec(),
                content: Content::Owned(content),
            },
            end,
        ))
    }
}

/// One DER TLV at `pos` with a single-octet tag: (tag, content start, end).
fn tlv(b: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *b.get(pos)?;
    let first = *b.get(pos + 1)?;
    let (start, len) = if first < 0x80 {
        (pos + 2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 8 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len.checked_mul(256)? | usize::from(*b.get(pos + 2 + i)?);
        }
        (pos + 2 + n, len)
    };
    let end = start.checked_add(len)?;
    (end <= b.len()).then_some((tag, start, end))
}

/// The signed attributes of every `SignerInfo` of a DER `ContentInfo` holding
/// `SignedData`, exactly as encoded (`[0] IMPLICIT` tag included), in order; `None` for
/// a signer without signed attributes. Empty when the structure is not as expected.
pub(crate) fn signed_attrs_raw(der: &[u8]) -> Vec<Option<&[u8]>> {
    let walk = || -> Option<Vec<Option<&[u8]>>> {
        let (0x30, ci, _) = tlv(der, 0)? else {
            return None;
        };
        let (0x06, _, after_oid) = tlv(der, ci)? else {
            return None;
        };
        let (0xa0, explicit, _) = tlv(der, after_oid)? else {
            return None;
        };
        let (0x30, mut p, _) = tlv(der, explicit)? else {
            return None;
        };
        // version, digestAlgorithms, encapContentInfo
        for expected in [0x02, 0x31, 0x30] {
            let (tag, _, end) = tlv(der, p)?;
            if tag != expected {
                return None;
            }
            p = end;
        }
        // [0] certificates, [1] crls
        for optional in [0xa0, 0xa1] {
            if let Some((tag, _, end)) = tlv(der, p)
                && tag == optional
            {
                p = end;
            }
        }
        let (0x31, mut q, infos_end) = tlv(der, p)? else {
            return None;
        };
        let mut out = Vec::new();
        while q < infos_end {
            let (0x30, mut r, info_end) = tlv(der, q)? else {
                return None;
            };
            // version, sid, digestAlgorithm
            for _ in 0..3 {
                r = tlv(der, r)?.2;
            }
            out.push(match tlv(der, r) {
                Some((0xa0, _, end)) if end <= info_end => Some(&der[r..end]),
                _ => None,
            });
            q = info_end;
        }
        Some(out)
    };
    walk().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_is_unchanged() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_and_constructed_octet_strings() {
        // SEQUENCE (indefinite) { [0] (indefinite) { OCTET STRING constructed (indefinite)
        // { 04 02 'ab', 04 01 'c' } } }
        let ber = [
            0x30, 0x80, 0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0,
            0, 0, 0,
        ];
        let der = to_der(&ber).unwrap();
        assert_eq!(der, [0x30, 0x07, 0xa0, 0x05, 0x04, 0x03, b'a', b'b', b'c']);
        assert_eq!(
            encoded_len(&[&ber[..], &[0, 0, 0]].concat()),
            Some(ber.len())
        );
    }

    #[test]
    fn every_single_byte_mutation_is_an_answer_not_a_panic() {
        let ber = [
            0x30, 0x80, 0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0,
            0, 0x31, 0x03, 0x02, 0x01, 0x05, 0, 0,
        ];
        for i in 0..ber.len() {
            for value in [0x00, 0x04, 0x24, 0x30, 0x80, 0x81, 0x84, 0x88, 0xff] {
                let mut m = ber;
                m[i] = value;
                let _ = to_der(&m);
                let _ = encoded_len(&m);
                let _ = signed_attrs_raw(&m);
            }
            let _ = to_der(&ber[..i]);
        }
    }

    /// The copy-free path answers exactly what the normaliser answers, for DER input,
    /// BER input and every single-byte mutation and truncation of both.
    #[test]
    fn the_der_fast_path_agrees_with_the_normaliser() {
        let der: Vec<u8> = [
            &[
                0x30, 0x81, 0x8d, 0xa0, 0x03, 0x02, 0x01, 0x05, 0x04, 0x81, 0x80,
            ][..],
            &[0x5a; 0x80],
            &[0x9f, 0x81, 0x01, 0x01, 0x07],
        ]
        .concat();
        assert!(is_der_shaped(&der, BerLimits::default()));
        assert!(matches!(
            to_der_cow(&der),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
        let ber = [
            0x30, 0x80, 0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0,
            0, 0x31, 0x03, 0x02, 0x01, 0x05, 0, 0,
        ];
        let mut shaped = 0;
        for input in [&der[..], &ber[..]] {
            for i in 0..input.len() {
                for value in [
                    0x00, 0x02, 0x04, 0x24, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x88, 0xff,
                ] {
                    let mut m = input.to_vec();
                    m[i] = value;
                    let fast = to_der_cow(&m).map(|c| c.into_owned());
                    assert_eq!(fast, to_der(&m), "mutation {value:02x} at {i}");
                    if is_der_shaped(&m, BerLimits::default()) {
                        shaped += 1;
                        assert_eq!(to_der(&m).as_deref(), Ok(&m[..]), "{i} {value:02x}");
                    }
                }
                let cut = &input[..i];
                assert_eq!(to_der_cow(cut).map(|c| c.into_owned()), to_der(cut));
            }
        }
        // The comparison is not vacuous: many mutations of the DER input are still DER.
        assert!(shaped > 100, "{shaped}");
    }

    #[test]
    fn non_minimal_lengths_are_shortened() {
        let ber = [0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x07];
        assert_eq!(to_der(&ber).unwrap(), [0x30, 0x03, 0x02, 0x01, 0x07]);
    }

    #[test]
    fn hostile_input_is_refused() {
        for bad in [
            &[0x30, 0x80][..],         // no end-of-contents
            &[0x04, 0x80, 0, 0],       // indefinite primitive
            &[0x30, 0x05, 0x02, 0x01], // truncated
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x24, 0x03, 0x02, 0x01, 0x00], // INTEGER inside an OCTET STRING
            &[0x30, 0x00, 0x00],             // trailing byte
        ] {
            assert!(to_der(bad).is_err(), "{bad:02x?}");
        }
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..100 {
            deep.extend_from_slice(&[0, 0]);
        }
        let e = to_der(&deep).unwrap_err();
        assert!(e.what.contains("deeper"), "{e}");
        let many: Vec<u8> = std::iter::once([0x30u8, 0x80])
            .chain(std::iter::repeat_n([0x05, 0x00], 2_000))
            .chain(std::iter::once([0, 0]))
            .flatten()
            .collect();
        let limits = BerLimits {
            max_depth: 8,
            max_elements: 1_000,
        };
        assert!(to_der_with(&many, limits).is_err());
        assert!(to_der(&many).is_ok());
    }
}
