//! Long-term validation material (PAdES B-LT): the signatures already in a file and
//! the certificates they carry (so the caller knows what revocation data to fetch),
//! and the Document Security Store (`/DSS` with `/Certs`, `/CRLs`, `/OCSPs`, ISO
//! 32000-2 §12.8.4.3) written as a further incremental update.

use std::collections::HashSet;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode, Encode};

use super::SignError;
use super::font::deflate;
use super::incremental::Update;
use super::object::{Dict, ObjRef, Object, Stream, decode_text};
use super::reader::Document;

/// Most form fields visited.
const MAX_FIELDS: usize = 100_000;
/// Most entries kept per DSS array.
const MAX_DSS_ENTRIES: usize = 10_000;
/// id-aa-signatureTimeStampToken.
const ID_SIGNATURE_TIME_STAMP: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// A signature found in a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSignature {
    /// Field name.
    pub field_name: String,
    /// `/SubFilter` (e.g. `ETSI.CAdES.detached`, `ETSI.RFC3161`, `adbe.pkcs7.detached`).
    pub sub_filter: String,
    /// A document time-stamp (`/Type /DocTimeStamp`).
    pub is_document_timestamp: bool,
    /// The CMS (DER, padding removed); for document time-stamps the token.
    pub cms: Vec<u8>,
    /// Signature time-stamp tokens in the unsigned attributes.
    pub timestamp_tokens: Vec<Vec<u8>>,
    /// Every certificate in the CMS and its time-stamp tokens (DER).
    pub certificates: Vec<Vec<u8>>,
}

/// Revocation material for the DSS (all DER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationData {
    /// Certificates.
    pub certificates: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses (`OCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
}

/// Every terminal field of the AcroForm, with its inherited `/FT`: `(FT, dict)`.
pub(crate) fn all_fields(doc: &Document<'_>) -> Result<Vec<(Vec<u8>, Dict)>, SignError> {
    let catalog = doc.catalog()?;
    let Some(form) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let Some(form) = doc.dict(form)? else {
        return Ok(Vec::new());
    };
    let Some(fields) = form.get(b"Fields") else {
        return Ok(Vec::new());
    };
    let fields = doc.resolve(fields)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Object, Vec<u8>, usize)> = fields
        .as_array()
        .unwrap_or_default()
        .iter()
        .rev()
        .map(|f| (f.clone(), Vec::new(), 0))
        .collect();
    while let Some((f, inherited_ft, depth)) = stack.pop() {
        if depth > 32 || seen.len() > MAX_FIELDS {
            return Err(SignError::Limit(
                "form field tree too large or too deep".into(),
            ));
        }
        if let Some(r) = f.as_ref()
            && !seen.insert(r)
        {
            continue;
        }
        let Some(d) = doc.dict(&f)? else { continue };
        let ft = d.name(b"FT").map(<[u8]>::to_vec).unwrap_or(inherited_ft);
        match d.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
            Some(kids)
                if kids.as_array().is_some_and(|a| !a.is_empty()) && d.get(b"T").is_some() =>
            {
                // A field with kids: they may be fields or widgets.
                for k in kids.as_array().unwrap_or_default().iter().rev() {
                    stack.push((k.clone(), ft.clone(), depth + 1));
                }
                out.push((ft, d));
            }
            _ => out.push((ft, d)),
        }
    }
    Ok(out)
}

/// The DER element at the start of `bytes` (drops `/Contents` zero padding).
fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 2 || bytes[0] != 0x30 {
        return None;
    }
    let (len, hdr) = match bytes[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x81..=0x84 => {
            let n = usize::from(bytes[1] & 0x7f);
            let v = bytes
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            (v, 2 + n)
        }
        _ => return None,
    };
    bytes.get(..hdr.checked_add(len)?)
}

fn certificates_of(sd: &SignedData, out: &mut Vec<Vec<u8>>) {
    if let Some(set) = &sd.certificates {
        for c in set.0.iter() {
            if let CertificateChoices::Certificate(cert) = c
                && let Ok(der) = cert.to_der()
                && !out.contains(&der)
            {
                out.push(der);
            }
        }
    }
}

fn signed_data(der: &[u8]) -> Option<SignedData> {
    let ci = ContentInfo::from_der(der).ok()?;
    ci.content.decode_as::<SignedData>().ok()
}

/// Every signature (and document time-stamp) in the file, in field order.
pub fn embedded_signatures(pdf: &[u8]) -> Result<Vec<EmbeddedSignature>, SignError> {
    let doc = Document::open(pdf)?;
    let mut out = Vec::new();
    for (ft, field) in all_fields(&doc)? {
        if ft != b"Sig" {
            continue;
        }
        let Some(v) = field.get(b"V") else { continue };
        let Some(sig) = doc.dict(v)? else { continue };
        let Some(contents) = sig.get(b"Contents").and_then(Object::as_bytes) else {
            continue;
        };
        let Some(cms) = der_prefix(contents) else {
            continue;
        };
        let mut certificates = Vec::new();
        let mut timestamp_tokens = Vec::new();
        if let Some(sd) = signed_data(cms) {
            certificates_of(&sd, &mut certificates);
            for si in sd.signer_infos.0.iter() {
                for attr in si.unsigned_attrs.iter().flat_map(|a| a.iter()) {
                    if attr.oid != ID_SIGNATURE_TIME_STAMP {
                        continue;
                    }
                    for value in attr.values.iter() {
                        if let Ok(token) = value.to_der() {
                            if let Some(tsd) = signed_data(&token) {
                                certificates_of(&tsd, &mut certificates);
                            }
                            timestamp_tokens.push(token);
                        }
                    }
                }
            }
        }
        out.push(EmbeddedSignature {
            field_name: field
                .get(b"T")
                .and_then(Object::as_bytes)
                .map(decode_text)
                .unwrap_or_default(),
            sub_filter: sig
                .name(b"SubFilter")
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default(),
            is_document_timestamp: sig.is_type(b"DocTimeStamp"),
            cms: cms.to_vec(),
            timestamp_tokens,
            certificates,
        });
    }
    Ok(out)
}

/// Add (or extend) the Document Security Store. Entries already present are not
/// duplicated. Returns the update's bytes.
pub fn add_validation_data(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, SignError> {
    let doc = Document::open(pdf)?;
    let mut update = Update::new(&doc);
    let root = doc.catalog_ref()?;
    let mut catalog = doc.catalog()?;
    let (dss_ref, mut dss) = match catalog.get(b"DSS") {
        Some(Object::Ref(r)) => (
            Some(*r),
            doc.get(*r)?.as_dict().cloned().unwrap_or_default(),
        ),
        Some(Object::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::new()),
    };
    for (key, items) in [
        (&b"Certs"[..], &data.certificates),
        (b"CRLs", &data.crls),
        (b"OCSPs", &data.ocsps),
    ] {
        let mut array: Vec<Object> = match dss.get(key) {
            Some(a) => doc
                .resolve(a)?
                .as_array()
                .map(<[Object]>::to_vec)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let mut present: Vec<Vec<u8>> = Vec::new();
        for item in array.iter().take(MAX_DSS_ENTRIES) {
            if let Object::Stream(s) = &*doc.resolve(item)?
                && let Ok(bytes) = doc.decode_stream(s)
            {
                present.push(bytes);
            }
        }
        for item in items {
            if present.contains(item) {
                continue;
            }
            if array.len() >= MAX_DSS_ENTRIES {
                return Err(SignError::Limit("too many DSS entries".into()));
            }
            let r: ObjRef = update.add(Object::Stream(Stream {
                source: None,
                dict: Dict::new().with(b"Filter", Object::name("FlateDecode")),
                data: deflate(item),
            }));
            array.push(Object::Ref(r));
            present.push(item.clone());
        }
        if !array.is_empty() {
            dss.set(key, Object::Array(array));
        }
    }
    dss.set(b"Type", Object::name("DSS"));
    match dss_ref {
        Some(r) => update.set(r, Object::Dict(dss)),
        None => {
            let r = update.add(Object::Dict(dss));
            catalog.set(b"DSS", Object::Ref(r));
            update.set(root, Object::Dict(catalog));
        }
    }
    Ok(update.write()?.bytes)
}
