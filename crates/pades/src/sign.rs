//! PAdES signing (ETSI EN 319 142-1 baseline B-B, B-T, B-LT, B-LTA) by incremental
//! update, with the appearances Decree 30/2020 App. I prescribes.
//!
//! Every operation returns the bytes of one incremental update; the caller appends
//! them to the file (the original bytes stay an exact prefix, and a 100 MB file is
//! never copied). Operations compose:
//!
//! ```text
//! prepare ─► to_be_signed ─► (any Signer) ─► assemble ─► [add_timestamp] ─► finish   B-B / B-T
//!                                                                   add_validation_data   B-LT
//!                       prepare_document_timestamp ─► (TSA) ─► finish                    B-LTA
//! ```
//!
//! [`sign`] and [`timestamp_document`] run the steps with a key and a time-stamp
//! callback. No I/O happens here: the caller fetches time-stamps and revocation data
//! (see [`embedded_signatures`] for what to fetch for).
//!
//! Appearances ([`Role`]): the leader's blue signature image centred in the signature
//! area between the authority line and the name line (found by text, [`find_signature_area`]);
//! the agency seal at real size over the left third of the leader's image; a black 10 pt
//! information line at the top right for attachments and e-copies; or nothing.

mod appearance;
mod dss;
mod font;
mod image;
mod incremental;
mod object;
mod placement;
mod reader;
mod text;

use kyso_cades::CadesError;
use kyso_signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SignerError};
use time::{OffsetDateTime, UtcOffset};
use x509_cert::Certificate;

pub use dss::{EmbeddedSignature, ValidationData, add_validation_data, embedded_signatures};
pub use placement::{Rect, SignatureArea, TextLine};

use appearance::{TextBox, fit_centred, image_appearance};
use image::Image;
use incremental::{Update, Written};
use object::{Dict, ObjRef, Object};
use reader::Document;

/// Errors of PDF signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The file is not a PDF kyso can read.
    #[error("the PDF cannot be read: {0}")]
    Malformed(String),
    /// The PDF is encrypted.
    #[error(
        "the PDF is encrypted (password-protected or with usage restrictions); kyso does not sign encrypted PDFs — save an unencrypted copy first"
    )]
    Encrypted,
    /// A PDF feature kyso does not handle.
    #[error("unsupported PDF feature: {0}")]
    Unsupported(String),
    /// A limit on input size or complexity was exceeded.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The document forbids further changes.
    #[error("{0}")]
    Locked(String),
    /// Where to put the signature could not be determined.
    #[error("placement: {0}")]
    Placement(String),
    /// The signature image is unusable.
    #[error("image: {0}")]
    Image(String),
    /// Text could not be rendered with the embedded font.
    #[error("font: {0}")]
    Font(String),
    /// The reserved `/Contents` space is too small for the signature.
    #[error(
        "the signature needs {needed} bytes but only {reserved} were reserved in /Contents; sign again with a larger reservation"
    )]
    ContentsTooSmall {
        /// Bytes reserved.
        reserved: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// A time-stamp could not be obtained or does not match.
    #[error("time-stamp: {0}")]
    Timestamp(String),
    /// The caller passed inconsistent arguments.
    #[error("{0}")]
    Misuse(String),
    /// Building the CMS signature failed.
    #[error(transparent)]
    Cades(#[from] CadesError),
    /// The key refused to sign.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// Which Decree 30 signature this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The competent person (người có thẩm quyền): blue signature image centred
    /// between the authority line and the name line (App. I §II.7.d).
    Leader,
    /// The agency on the main document: red seal image at real size over the left
    /// third of the leader's image (App. I §II.8.a).
    Seal,
    /// The agency on an attachment or appendix in a separate file: no image, a black
    /// 10 pt line with the number/notation and signing time at the top right of the
    /// first page (App. I §II.8.b, §III.1.d).
    Attachment,
    /// The agency on an electronic copy: no image, a black 10 pt line with the copy
    /// form, the agency and the signing time at the top right (App. I Part II §I.3).
    Copy,
    /// No visible appearance (zero-size widget).
    Invisible,
}

/// Copy forms (hình thức sao, Decree 30 Art. 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyForm {
    /// Sao y.
    SaoY,
    /// Sao lục.
    SaoLuc,
    /// Trích sao.
    TrichSao,
}

impl CopyForm {
    /// The label printed on the copy.
    pub fn label(self) -> &'static str {
        match self {
            CopyForm::SaoY => "SAO Y",
            CopyForm::SaoLuc => "SAO LỤC",
            CopyForm::TrichSao => "TRÍCH SAO",
        }
    }
}

/// Default information line of an attachment/appendix (Mẫu 2.2 with an ISO 8601 time;
/// the exact string is UNCONFIRMED in the spec, hence configurable).
pub const DEFAULT_ATTACHMENT_FORMAT: &str = "Số: {notation}; {time}";
/// Default information line of an electronic copy (Mẫu 3.2 with an ISO 8601 time).
pub const DEFAULT_COPY_FORMAT: &str = "{form}; {agency}; {time}";
/// Size of the information line (Decree 30: 10 pt).
pub const INFO_FONT_SIZE: f64 = 10.0;
/// Seal diameter assumed when the PNG does not state its resolution (`pHYs`): 40 mm.
pub const DEFAULT_SEAL_MM: f64 = 40.0;
/// Smallest `/Contents` reservation (bytes of DER; the file holds twice as many hex
/// digits).
pub const MIN_CONTENTS_SIZE: usize = 16 * 1024;
/// Space reserved for a signature time-stamp token when one will be added.
pub const TIMESTAMP_ALLOWANCE: usize = 12 * 1024;

/// The information line of attachments and copies.
#[derive(Debug, Clone, Default)]
pub struct InfoLine {
    /// Number and notation of the document (số, ký hiệu), e.g. `15/QĐ-STTTT`.
    pub notation: Option<String>,
    /// Copy form (copies only).
    pub copy_form: Option<CopyForm>,
    /// Copying agency (copies only).
    pub agency: Option<String>,
    /// Template with `{notation}`, `{form}`, `{agency}`, `{time}` (ISO 8601,
    /// `+07:00`), `{date}` (dd/mm/yyyy) and `{clock}` (hh:mm:ss); `None` = the default
    /// for the role.
    pub format: Option<String>,
}

/// Where the signature goes. With neither `rect` nor `anchor`, the role decides: the
/// leader's name line is searched for the certificate's common name; the seal goes
/// over the last visible signature; attachments and copies go to the top right of the
/// first page.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// 1-based page (default: found, or the first page).
    pub page: Option<usize>,
    /// Explicit area `[x0, y0, x1, y1]` in points (images are fitted inside it; the
    /// information line is aligned to its top right corner).
    pub rect: Option<Rect>,
    /// Text of the signer's name line to find the signature area by.
    pub anchor: Option<String>,
}

/// Everything about one PDF signature except the key.
#[derive(Debug, Clone)]
pub struct PdfSignRequest<'a> {
    /// The signer's certificate.
    pub certificate: &'a Certificate,
    /// Intermediate certificates to embed (root optional).
    pub chain: &'a [Certificate],
    /// CRLs (DER) to embed in the CMS (B-LT material normally goes to the DSS instead).
    pub crls: &'a [Vec<u8>],
    /// The claimed signing time: the `/M` entry and the time on information lines.
    pub signing_time: OffsetDateTime,
    /// Appearance role.
    pub role: Role,
    /// PNG for the leader and seal roles.
    pub image: Option<&'a [u8]>,
    /// Placement.
    pub placement: Placement,
    /// Attachment/copy information line.
    pub info: InfoLine,
    /// Field name (default `SignatureN`).
    pub field_name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// Bytes reserved for the CMS (default: estimated, at least [`MIN_CONTENTS_SIZE`]).
    pub contents_size: Option<usize>,
    /// Reserve room for a signature time-stamp (B-T and above).
    pub timestamp: bool,
}

impl<'a> PdfSignRequest<'a> {
    /// A request with defaults: invisible, no image, automatic placement.
    pub fn new(certificate: &'a Certificate, signing_time: OffsetDateTime) -> Self {
        Self {
            certificate,
            chain: &[],
            crls: &[],
            signing_time,
            role: Role::Invisible,
            image: None,
            placement: Placement::default(),
            info: InfoLine::default(),
            field_name: None,
            reason: None,
            location: None,
            contact_info: None,
            contents_size: None,
            timestamp: false,
        }
    }
}

/// Where a signature was put.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Field name.
    pub field_name: String,
    /// 1-based page.
    pub page: usize,
    /// Widget rectangle (zero for invisible signatures).
    pub rect: Rect,
    /// The information line printed, if any.
    pub info_text: Option<String>,
}

/// A signature whose to-be-signed bytes are ready.
#[derive(Debug)]
pub struct PreparedSignature {
    written: Written,
    cms: kyso_cades::sign::PreparedSignature,
    placed: Placed,
}

/// A signature with its value, before it is written into the file.
#[derive(Debug)]
pub struct AssembledSignature {
    written: Written,
    cms: Vec<u8>,
    signature_value: Vec<u8>,
    placed: Placed,
    timestamped: bool,
}

/// The finished update.
#[derive(Debug, Clone)]
pub struct SignedPdf {
    /// Bytes to append to the input PDF.
    pub update: Vec<u8>,
    /// Where the signature is.
    pub placed: Placed,
    /// Size of the CMS and of the reservation.
    pub cms_len: usize,
    /// Bytes reserved in `/Contents`.
    pub reserved: usize,
    /// Whether a signature time-stamp is embedded.
    pub timestamped: bool,
}

/// Obtain an RFC 3161 token: given the imprint's digest algorithm and the imprint,
/// return the DER `TimeStampToken` (a `ContentInfo`), or an error text.
pub type Timestamper<'t> = dyn FnMut(DigestAlgorithm, &[u8]) -> Result<Vec<u8>, String> + 't;

/// Step one: build the update with placeholders and the CMS signed attributes.
pub fn prepare(
    pdf: &[u8],
    request: &PdfSignRequest<'_>,
    algorithm: SignatureAlgorithm,
) -> Result<PreparedSignature, SignError> {
    let doc = Document::open(pdf)?;
    check_not_locked(&doc)?;
    let pages = doc.pages()?;
    let mut update = Update::new(&doc);
    let field_name = match &request.field_name {
        Some(n) => {
            if existing_field_names(&doc)?.contains(n) {
                return Err(SignError::Misuse(format!("a field named {n:?} exists")));
            }
            n.clone()
        }
        None => unique_field_name(&doc, "Signature")?,
    };

    let visual = resolve_visual(&doc, &pages, request)?;
    let reserved = request
        .contents_size
        .unwrap_or_else(|| estimate_contents(request, algorithm));
    let mut sig = Dict::new()
        .with(b"Type", Object::name("Sig"))
        .with(b"Filter", Object::name("Adobe.PPKLite"))
        .with(b"SubFilter", Object::name("ETSI.CAdES.detached"))
        .with(b"ByteRange", Object::ByteRangePlaceholder)
        .with(b"Contents", Object::ContentsPlaceholder(reserved))
        .with(
            b"M",
            Object::literal(pdf_date(request.signing_time).as_bytes()),
        );
    if let Some(cn) = common_name(request.certificate) {
        sig.set(b"Name", Object::text(&cn));
    }
    for (key, value) in [
        (&b"Reason"[..], &request.reason),
        (b"Location", &request.location),
        (b"ContactInfo", &request.contact_info),
    ] {
        if let Some(v) = value {
            sig.set(key, Object::text(&nfc(v)));
        }
    }
    let sig_ref = update.add(Object::Dict(sig));
    let page_ref = pages[visual.page - 1];
    let ap = match &visual.kind {
        VisualKind::None => None,
        VisualKind::Image(img) => Some(image_appearance(&mut update, img, visual.rect)),
        VisualKind::Text(_) => None,
    };
    let ap = match visual.kind {
        VisualKind::Text(tb) => Some(tb.write(&mut update)?),
        _ => ap,
    };
    add_field(&mut update, &field_name, sig_ref, page_ref, visual.rect, ap)?;

    let mut written = update.write()?;
    written.patch_byte_range()?;
    let digest = written.digest(pdf, algorithm.digest())?;
    let cms_request = kyso_cades::sign::SignRequest {
        message_digest: &digest,
        signer_certificate: request.certificate,
        chain: request.chain,
        // PAdES: the claimed time is /M, never the signingTime attribute.
        signing_time: None,
        content_type: None,
        crls: request.crls,
        encapsulated: None,
    };
    let cms = kyso_cades::sign::prepare(&cms_request, algorithm)?;
    Ok(PreparedSignature {
        written,
        cms,
        placed: Placed {
            field_name,
            page: visual.page,
            rect: visual.rect,
            info_text: visual.info_text,
        },
    })
}

impl PreparedSignature {
    /// The bytes the key must sign (DER of the CMS signed attributes).
    pub fn to_be_signed(&self) -> &[u8] {
        self.cms.to_be_signed()
    }

    /// Where the signature will be.
    pub fn placed(&self) -> &Placed {
        &self.placed
    }

    /// Insert the signature value.
    pub fn assemble(self, signature: Vec<u8>) -> Result<AssembledSignature, SignError> {
        let signature_value = signature.clone();
        let cms = self.cms.assemble(signature)?;
        Ok(AssembledSignature {
            written: self.written,
            cms,
            signature_value,
            placed: self.placed,
            timestamped: false,
        })
    }
}

impl AssembledSignature {
    /// The signature value (a signature time-stamp's imprint is over these bytes).
    pub fn signature_value(&self) -> &[u8] {
        &self.signature_value
    }

    /// The CMS so far (DER).
    pub fn cms(&self) -> &[u8] {
        &self.cms
    }

    /// Add a signature time-stamp token (B-T). Its imprint must be the digest of the
    /// signature value.
    pub fn add_timestamp(&mut self, token_der: &[u8]) -> Result<(), SignError> {
        let info = kyso_cades::tsp::parse_token(token_der)
            .map_err(|e| SignError::Timestamp(e.to_string()))?;
        if info.imprint != info.imprint_algorithm.digest(&self.signature_value) {
            return Err(SignError::Timestamp(
                "the token's imprint is not over this signature value".into(),
            ));
        }
        self.cms =
            kyso_cades::sign::add_signature_timestamp(&self.cms, &self.signature_value, token_der)?;
        self.timestamped = true;
        Ok(())
    }

    /// Write the CMS into `/Contents`; fails with [`SignError::ContentsTooSmall`] when
    /// it does not fit.
    pub fn finish(mut self) -> Result<SignedPdf, SignError> {
        self.written.fill_contents(&self.cms)?;
        Ok(SignedPdf {
            reserved: self.written.contents_capacity(),
            update: self.written.bytes,
            placed: self.placed,
            cms_len: self.cms.len(),
            timestamped: self.timestamped,
        })
    }
}

/// Sign in one call: prepare, sign with `signer`, optionally time-stamp (B-T), write.
/// If the CMS does not fit the reservation, signs once more with a larger one.
pub fn sign(
    pdf: &[u8],
    signer: &dyn Signer,
    request: &PdfSignRequest<'_>,
    mut timestamper: Option<&mut Timestamper<'_>>,
) -> Result<SignedPdf, SignError> {
    let cert_key = request
        .certificate
        .tbs_certificate()
        .subject_public_key_info();
    if cert_key.subject_public_key != signer.public_key().subject_public_key {
        return Err(SignError::Misuse(
            "the certificate does not belong to the signing key".into(),
        ));
    }
    let mut request = request.clone();
    request.timestamp = request.timestamp || timestamper.is_some();
    for attempt in 0..2 {
        let prepared = prepare(pdf, &request, signer.algorithm())?;
        let signature = signer.sign(prepared.to_be_signed())?;
        let mut assembled = prepared.assemble(signature)?;
        if let Some(ts) = timestamper.as_deref_mut() {
            let alg = DigestAlgorithm::Sha256;
            let imprint = alg.digest(assembled.signature_value());
            let token = ts(alg, &imprint).map_err(SignError::Timestamp)?;
            assembled.add_timestamp(&token)?;
        }
        match assembled.finish() {
            Err(SignError::ContentsTooSmall { needed, .. }) if attempt == 0 => {
                request.contents_size = Some(needed + needed / 4 + 4096);
            }
            other => return other,
        }
    }
    Err(SignError::Misuse("unreachable: signing retried".into()))
}

// ----------------------------------------------------------------------------------
// Document time-stamps (B-LTA)
// ----------------------------------------------------------------------------------

/// A document time-stamp waiting for its token.
#[derive(Debug)]
pub struct PreparedDocumentTimestamp {
    written: Written,
    digest: DigestAlgorithm,
    imprint: Vec<u8>,
    field_name: String,
}

/// Options of a document time-stamp.
#[derive(Debug, Clone)]
pub struct DocumentTimestampOptions {
    /// Field name (default `DocTimeStampN`).
    pub field_name: Option<String>,
    /// Bytes reserved for the token (default 16 KiB).
    pub contents_size: Option<usize>,
    /// Imprint digest.
    pub digest: DigestAlgorithm,
}

impl Default for DocumentTimestampOptions {
    fn default() -> Self {
        Self {
            field_name: None,
            contents_size: None,
            digest: DigestAlgorithm::Sha256,
        }
    }
}

/// Step one of a document time-stamp (`/Type /DocTimeStamp`, `/SubFilter
/// /ETSI.RFC3161`): an invisible field on page 1 over the whole file as it is.
pub fn prepare_document_timestamp(
    pdf: &[u8],
    options: &DocumentTimestampOptions,
) -> Result<PreparedDocumentTimestamp, SignError> {
    let doc = Document::open(pdf)?;
    check_not_locked(&doc)?;
    let pages = doc.pages()?;
    let field_name = match &options.field_name {
        Some(n) => n.clone(),
        None => unique_field_name(&doc, "DocTimeStamp")?,
    };
    let mut update = Update::new(&doc);
    let sig = Dict::new()
        .with(b"Type", Object::name("DocTimeStamp"))
        .with(b"Filter", Object::name("Adobe.PPKLite"))
        .with(b"SubFilter", Object::name("ETSI.RFC3161"))
        .with(b"ByteRange", Object::ByteRangePlaceholder)
        .with(
            b"Contents",
            Object::ContentsPlaceholder(options.contents_size.unwrap_or(MIN_CONTENTS_SIZE)),
        );
    let sig_ref = update.add(Object::Dict(sig));
    add_field(&mut update, &field_name, sig_ref, pages[0], [0.0; 4], None)?;
    let mut written = update.write()?;
    written.patch_byte_range()?;
    let imprint = written.digest(pdf, options.digest)?;
    Ok(PreparedDocumentTimestamp {
        written,
        digest: options.digest,
        imprint,
        field_name,
    })
}

impl PreparedDocumentTimestamp {
    /// The digest algorithm of the imprint.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }

    /// The imprint to send to the TSA.
    pub fn imprint(&self) -> &[u8] {
        &self.imprint
    }

    /// The field name.
    pub fn field_name(&self) -> &str {
        &self.field_name
    }

    /// Write the token; returns the update's bytes.
    pub fn finish(mut self, token_der: &[u8]) -> Result<Vec<u8>, SignError> {
        let info = kyso_cades::tsp::parse_token(token_der)
            .map_err(|e| SignError::Timestamp(e.to_string()))?;
        if info.imprint != self.imprint || info.imprint_algorithm != self.digest {
            return Err(SignError::Timestamp(
                "the token's imprint is not over this document".into(),
            ));
        }
        self.written.fill_contents(token_der)?;
        Ok(self.written.bytes)
    }
}

/// Add a document time-stamp in one call (retrying once with a larger reservation
/// if the token does not fit).
pub fn timestamp_document(
    pdf: &[u8],
    options: &DocumentTimestampOptions,
    timestamper: &mut Timestamper<'_>,
) -> Result<Vec<u8>, SignError> {
    let mut options = options.clone();
    for attempt in 0..2 {
        let prepared = prepare_document_timestamp(pdf, &options)?;
        let token = timestamper(prepared.digest_algorithm(), prepared.imprint())
            .map_err(SignError::Timestamp)?;
        match prepared.finish(&token) {
            Err(SignError::ContentsTooSmall { needed, .. }) if attempt == 0 => {
                options.contents_size = Some(needed + 4096);
            }
            other => return other,
        }
    }
    Err(SignError::Misuse("unreachable: time-stamp retried".into()))
}

// ----------------------------------------------------------------------------------
// Placement helpers (public for tests and tools)
// ----------------------------------------------------------------------------------

/// Find the signature area of the signer whose name line reads `anchor`
/// (searching `page` only, 1-based, when given).
pub fn find_signature_area(
    pdf: &[u8],
    anchor: &str,
    page: Option<usize>,
) -> Result<SignatureArea, SignError> {
    let doc = Document::open(pdf)?;
    placement::find_area(&doc, anchor, page)
}

/// The text lines of a page (1-based), as the extractor sees them.
pub fn text_lines(pdf: &[u8], page: usize) -> Result<Vec<TextLine>, SignError> {
    let doc = Document::open(pdf)?;
    let pages = doc.pages()?;
    if page == 0 || page > pages.len() {
        return Err(SignError::Placement(format!("no page {page}")));
    }
    let mut ex = text::Extractor::new(&doc);
    placement::page_lines(&mut ex, &pages, page - 1)
}

/// The number of pages.
pub fn page_count(pdf: &[u8]) -> Result<usize, SignError> {
    Ok(Document::open(pdf)?.pages()?.len())
}

/// The text lines of the first `max_pages` pages, page after page (the archive's
/// full-text index; a page whose content cannot be read is skipped).
pub fn document_text(pdf: &[u8], max_pages: usize) -> Result<Vec<TextLine>, SignError> {
    let doc = Document::open(pdf)?;
    let pages = doc.pages()?;
    let mut ex = text::Extractor::new(&doc);
    let mut out = Vec::new();
    for index in 0..pages.len().min(max_pages) {
        if let Ok(lines) = placement::page_lines(&mut ex, &pages, index) {
            out.extend(lines);
        }
    }
    Ok(out)
}

/// Visible signature widgets of a page (1-based): `(field name, rect)`.
pub fn signature_widgets(pdf: &[u8], page: usize) -> Result<Vec<(String, Rect)>, SignError> {
    let doc = Document::open(pdf)?;
    let pages = doc.pages()?;
    let p = *pages
        .get(page.wrapping_sub(1))
        .ok_or_else(|| SignError::Placement(format!("no page {page}")))?;
    placement::signature_widgets(&doc, p)
}

/// Format a time as Decree 30 shows it: ISO 8601 in Vietnam time,
/// `YYYY-MM-DDThh:mm:ss+07:00`.
pub fn vietnam_iso8601(at: OffsetDateTime) -> String {
    let t = at.to_offset(vietnam());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

// ----------------------------------------------------------------------------------
// Internals
// ----------------------------------------------------------------------------------

fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}

/// `D:YYYYMMDDHHmmSS+07'00'`.
fn pdf_date(at: OffsetDateTime) -> String {
    let t = at.to_offset(vietnam());
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+07'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn common_name(cert: &Certificate) -> Option<String> {
    let name = kyso_pki::ca::SubjectName::from_name(cert.tbs_certificate().subject());
    let cn = name.common_name.trim().to_string();
    (!cn.is_empty()).then(|| nfc(&cn))
}

fn estimate_contents(request: &PdfSignRequest<'_>, algorithm: SignatureAlgorithm) -> usize {
    use der::Encode;
    let certs: usize = std::iter::once(request.certificate)
        .chain(request.chain)
        .map(|c| c.to_der().map_or(2048, |d| d.len()))
        .sum();
    let crls: usize = request.crls.iter().map(Vec::len).sum();
    let signature = if algorithm.is_rsa() { 1024 } else { 160 };
    let ts = if request.timestamp {
        TIMESTAMP_ALLOWANCE
    } else {
        0
    };
    let estimate = certs + crls + signature + ts + 2048;
    estimate.div_ceil(1024).max(MIN_CONTENTS_SIZE / 1024) * 1024
}

/// Refuse documents certified with "no changes allowed" (DocMDP P=1).
fn check_not_locked(doc: &Document<'_>) -> Result<(), SignError> {
    let catalog = doc.catalog()?;
    let Some(perms) = catalog.get(b"Perms") else {
        return Ok(());
    };
    let Some(perms) = doc.dict(perms)? else {
        return Ok(());
    };
    let Some(sig) = perms.get(b"DocMDP") else {
        return Ok(());
    };
    let Some(sig) = doc.dict(sig)? else {
        return Ok(());
    };
    let refs = sig.get(b"Reference").map(|r| doc.resolve(r)).transpose()?;
    for r in refs
        .as_deref()
        .and_then(Object::as_array)
        .unwrap_or_default()
    {
        let Some(r) = doc.dict(r)? else { continue };
        if r.name(b"TransformMethod") != Some(b"DocMDP") {
            continue;
        }
        let p = r
            .get(b"TransformParams")
            .map(|t| doc.dict(t))
            .transpose()?
            .flatten()
            .and_then(|t| t.get(b"P").and_then(Object::as_i64))
            .unwrap_or(2);
        if p == 1 {
            return Err(SignError::Locked(
                "the document is certified with \"no changes allowed\" (DocMDP P=1); signing would invalidate the certification".into(),
            ));
        }
    }
    Ok(())
}

/// Names of all form fields (full names not needed: signature fields are top-level).
fn existing_field_names(doc: &Document<'_>) -> Result<Vec<String>, SignError> {
    let mut out = Vec::new();
    for (_, dict) in dss::all_fields(doc)? {
        if let Some(t) = dict.get(b"T").and_then(Object::as_bytes) {
            out.push(object::decode_text(t));
        }
    }
    Ok(out)
}

fn unique_field_name(doc: &Document<'_>, prefix: &str) -> Result<String, SignError> {
    let existing = existing_field_names(doc)?;
    Ok((1..)
        .map(|i| format!("{prefix}{i}"))
        .find(|n| !existing.contains(n))
        .unwrap_or_else(|| prefix.to_string()))
}

/// Add a signature field/widget (merged dictionary) to the page and the AcroForm.
fn add_field(
    update: &mut Update<'_, '_>,
    name: &str,
    sig: ObjRef,
    page: ObjRef,
    rect: Rect,
    appearance: Option<ObjRef>,
) -> Result<ObjRef, SignError> {
    let mut widget = Dict::new()
        .with(b"Type", Object::name("Annot"))
        .with(b"Subtype", Object::name("Widget"))
        .with(b"FT", Object::name("Sig"))
        .with(b"T", Object::text(name))
        .with(b"V", Object::Ref(sig))
        // Print + Locked.
        .with(b"F", Object::Int(132))
        .with(b"P", Object::Ref(page))
        .with(b"Rect", Object::rect(rect));
    if let Some(ap) = appearance {
        widget.set(b"AP", Object::Dict(Dict::new().with(b"N", Object::Ref(ap))));
    }
    let widget = update.add(Object::Dict(widget));

    // The page's /Annots (direct array, indirect array or missing).
    let Object::Dict(mut page_dict) = update.current(page)? else {
        return Err(SignError::Malformed("a page is not a dictionary".into()));
    };
    match page_dict.get(b"Annots").cloned() {
        Some(Object::Ref(r)) => match update.current(r)? {
            Object::Array(mut a) => {
                a.push(Object::Ref(widget));
                update.set(r, Object::Array(a));
            }
            _ => {
                page_dict.set(b"Annots", Object::Array(vec![Object::Ref(widget)]));
                update.set(page, Object::Dict(page_dict));
            }
        },
        Some(Object::Array(mut a)) => {
            a.push(Object::Ref(widget));
            page_dict.set(b"Annots", Object::Array(a));
            update.set(page, Object::Dict(page_dict));
        }
        _ => {
            page_dict.set(b"Annots", Object::Array(vec![Object::Ref(widget)]));
            update.set(page, Object::Dict(page_dict));
        }
    }

    // The AcroForm's /Fields and /SigFlags.
    let root = update.doc.catalog_ref()?;
    let Object::Dict(mut catalog) = update.current(root)? else {
        return Err(SignError::Malformed(
            "the catalog is not a dictionary".into(),
        ));
    };
    let add_to_form = |update: &mut Update<'_, '_>, form: &mut Dict| -> Result<(), SignError> {
        match form.get(b"Fields").cloned() {
            Some(Object::Ref(r)) => match update.current(r)? {
                Object::Array(mut a) => {
                    a.push(Object::Ref(widget));
                    update.set(r, Object::Array(a));
                }
                _ => form.set(b"Fields", Object::Array(vec![Object::Ref(widget)])),
            },
            Some(Object::Array(mut a)) => {
                a.push(Object::Ref(widget));
                form.set(b"Fields", Object::Array(a));
            }
            _ => form.set(b"Fields", Object::Array(vec![Object::Ref(widget)])),
        }
        form.set(b"SigFlags", Object::Int(3));
        Ok(())
    };
    match catalog.get(b"AcroForm").cloned() {
        Some(Object::Ref(r)) => {
            let mut form = match update.current(r)? {
                Object::Dict(d) => d,
                _ => Dict::new(),
            };
            add_to_form(update, &mut form)?;
            update.set(r, Object::Dict(form));
        }
        Some(Object::Dict(mut form)) => {
            add_to_form(update, &mut form)?;
            catalog.set(b"AcroForm", Object::Dict(form));
            update.set(root, Object::Dict(catalog));
        }
        _ => {
            let mut form = Dict::new();
            add_to_form(update, &mut form)?;
            let r = update.add(Object::Dict(form));
            catalog.set(b"AcroForm", Object::Ref(r));
            update.set(root, Object::Dict(catalog));
        }
    }
    Ok(widget)
}

enum VisualKind {
    None,
    Image(Image),
    Text(Box<TextBox>),
}

struct Visual {
    page: usize,
    rect: Rect,
    kind: VisualKind,
    info_text: Option<String>,
}

fn check_page(page: usize, count: usize) -> Result<usize, SignError> {
    if page == 0 || page > count {
        return Err(SignError::Placement(format!(
            "page {page} does not exist (the document has {count} pages)"
        )));
    }
    Ok(page)
}

fn check_rect(r: Rect) -> Result<Rect, SignError> {
    if r.iter().any(|v| !v.is_finite()) || r[2] - r[0] < 1.0 || r[3] - r[1] < 1.0 {
        return Err(SignError::Placement(format!(
            "the rectangle {r:?} is empty; give x0,y0,x1,y1 with x0 < x1 and y0 < y1 (points)"
        )));
    }
    Ok(r)
}

fn resolve_visual(
    doc: &Document<'_>,
    pages: &[ObjRef],
    request: &PdfSignRequest<'_>,
) -> Result<Visual, SignError> {
    let place = &request.placement;
    let count = pages.len();
    let page = place.page.map(|p| check_page(p, count)).transpose()?;
    let load_image = || -> Result<Image, SignError> {
        let bytes = request.image.ok_or_else(|| {
            SignError::Misuse(format!(
                "the {:?} role needs a PNG image (--image)",
                request.role
            ))
        })?;
        Image::from_png(bytes)
    };
    match request.role {
        Role::Invisible => Ok(Visual {
            page: page.unwrap_or(1),
            rect: [0.0; 4],
            kind: VisualKind::None,
            info_text: None,
        }),
        Role::Leader => {
            let img = load_image()?;
            let (page, area) = match place.rect {
                Some(r) => (page.unwrap_or(1), check_rect(r)?),
                None => {
                    let anchor = match &place.anchor {
                        Some(a) => a.clone(),
                        None => common_name(request.certificate).ok_or_else(|| {
                            SignError::Placement(
                                "the certificate has no common name to find; give --anchor".into(),
                            )
                        })?,
                    };
                    let area = placement::find_area(doc, &anchor, page)?;
                    (area.page, area.rect)
                }
            };
            // Leave a hair of margin so the image never touches the text lines.
            let inner = [area[0] + 1.0, area[1] + 1.0, area[2] - 1.0, area[3] - 1.0];
            let rect = fit_centred(inner, img.aspect(), img.natural_size());
            Ok(Visual {
                page,
                rect,
                kind: VisualKind::Image(img),
                info_text: None,
            })
        }
        Role::Seal => {
            let img = load_image()?;
            let natural = img.natural_size().unwrap_or_else(|| {
                let d = DEFAULT_SEAL_MM * 72.0 / 25.4;
                if img.aspect() >= 1.0 {
                    (d, d / img.aspect())
                } else {
                    (d * img.aspect(), d)
                }
            });
            if let Some(r) = place.rect {
                let r = check_rect(r)?;
                return Ok(Visual {
                    page: page.unwrap_or(1),
                    rect: fit_centred(r, img.aspect(), Some(natural)),
                    kind: VisualKind::Image(img),
                    info_text: None,
                });
            }
            // Over the left third of the leader's image: the last visible signature.
            let search: Vec<usize> = match page {
                Some(p) => vec![p],
                None => (1..=count).rev().collect(),
            };
            for p in search {
                let widgets = placement::signature_widgets(doc, pages[p - 1])?;
                if let Some((_, leader)) = widgets.last() {
                    let (sw, sh) = natural;
                    let lw = leader[2] - leader[0];
                    let x1 = leader[0] + lw / 3.0;
                    let cy = (leader[1] + leader[3]) / 2.0;
                    return Ok(Visual {
                        page: p,
                        rect: [x1 - sw, cy - sh / 2.0, x1, cy + sh / 2.0],
                        kind: VisualKind::Image(img),
                        info_text: None,
                    });
                }
            }
            let Some(anchor) = &place.anchor else {
                return Err(SignError::Placement(
                    "no visible signature to put the seal over (the leader signs first); give --anchor with the signer's name, or --page and --rect".into(),
                ));
            };
            let area = placement::find_area(doc, anchor, page)?;
            Ok(Visual {
                page: area.page,
                rect: fit_centred(area.rect, img.aspect(), Some(natural)),
                kind: VisualKind::Image(img),
                info_text: None,
            })
        }
        Role::Attachment | Role::Copy => {
            let text = info_text(request)?;
            let tb = TextBox::new(&text, INFO_FONT_SIZE)?;
            let page = page.unwrap_or(1);
            let media = doc.media_box(pages[page - 1])?;
            // Default: right-aligned 15 mm from the right edge (Decree 30's right
            // margin), the top of the line 10 mm below the top edge.
            let mm = 72.0 / 25.4;
            let (right, top) = match place.rect {
                Some(r) => {
                    let r = check_rect(r)?;
                    (r[2], r[3])
                }
                None => (media[2] - 15.0 * mm, media[3] - 10.0 * mm),
            };
            let left = right - tb.width;
            if left < media[0] + 10.0 * mm {
                return Err(SignError::Placement(format!(
                    "the information line is {:.0} pt wide and does not fit on the page; shorten it (--agency, --notation)",
                    tb.width
                )));
            }
            let rect = [left, top - tb.height, right, top];
            Ok(Visual {
                page,
                rect,
                kind: VisualKind::Text(Box::new(tb)),
                info_text: Some(text),
            })
        }
    }
}

fn info_text(request: &PdfSignRequest<'_>) -> Result<String, SignError> {
    let info = &request.info;
    let (default, need) = match request.role {
        Role::Copy => (DEFAULT_COPY_FORMAT, "--copy-form and --agency"),
        _ => (DEFAULT_ATTACHMENT_FORMAT, "--notation"),
    };
    let format = info.format.as_deref().unwrap_or(default);
    let t = request.signing_time.to_offset(vietnam());
    let mut missing = Vec::new();
    let mut value = |key: &str| -> String {
        match key {
            "notation" => info.notation.clone().unwrap_or_else(|| {
                missing.push("notation");
                String::new()
            }),
            "form" => info
                .copy_form
                .map(|f| f.label().to_string())
                .unwrap_or_else(|| {
                    missing.push("copy form");
                    String::new()
                }),
            "agency" => info.agency.clone().unwrap_or_else(|| {
                missing.push("agency");
                String::new()
            }),
            "time" => vietnam_iso8601(request.signing_time),
            "date" => format!("{:02}/{:02}/{:04}", t.day(), u8::from(t.month()), t.year()),
            "clock" => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
            other => format!("{{{other}}}"),
        }
    };
    let mut out = String::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str(&value(&rest[open + 1..open + close]));
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    if !missing.is_empty() {
        return Err(SignError::Misuse(format!(
            "the information line needs the {} (give {need})",
            missing.join(", ")
        )));
    }
    let out = nfc(out.trim());
    if out.is_empty() || out.chars().count() > 300 {
        return Err(SignError::Misuse(
            "the information line is empty or longer than 300 characters".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = time::macros::datetime!(2026-03-05 02:30:07 UTC);
        assert_eq!(pdf_date(t), "D:20260305093007+07'00'");
        assert_eq!(vietnam_iso8601(t), "2026-03-05T09:30:07+07:00");
    }
}
