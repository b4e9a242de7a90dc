//! Verification: a PDF's signatures (PAdES, with the revision and modification analysis
//! of kyso-pades) or a detached CMS/CAdES signature of any file — the same use case for
//! `kyso verify`, verification on receipt and the public `POST /api/v1/verify`.
//!
//! Verification is CPU work plus blocking fetches of revocation data: on an async
//! runtime, call it on a blocking thread.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use kyso_cades::report::{
    Check, Indication, Reason, Report, RevocationCheck, SignatureReport, SubIndication, TimeSource,
    Verdict, vietnam_time,
};
use kyso_cades::verify::Need;
use kyso_pades::verify::{PdfReport, Policy};
use kyso_pki::AlgorithmPolicy;
pub use kyso_pki::path::{RevocationMode, TrustAnchors};
use kyso_signer::DigestAlgorithm;
use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult, Kind};
use crate::ports::Fetcher;

/// What a verification judges against.
#[derive(Debug)]
pub struct Settings {
    /// Trust anchors (own roots and the trust list), shared: a server loads them once.
    pub anchors: std::sync::Arc<TrustAnchors>,
    /// How many of them are the installation's own (not the built-in trust list).
    pub own_anchors: usize,
    /// CRLs given by the caller.
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses given by the caller (e.g. captured when an original was archived).
    pub ocsp: Vec<Vec<u8>>,
    /// Extra certificates (DER) for path building.
    pub certificates: Vec<Vec<u8>>,
    /// The validation time.
    pub at: OffsetDateTime,
    /// Revocation checking.
    pub revocation: RevocationMode,
    /// Fetch CRLs / ask OCSP responders named in the certificates.
    pub fetch: bool,
    /// Dated algorithm policy (SHA-1 cut-off).
    pub algorithms: AlgorithmPolicy,
    /// What later changes of a PDF are allowed.
    pub policy: Policy,
    /// The password of an encrypted PDF.
    pub password: Option<Zeroizing<String>>,
    /// The largest PDF or signature file a front end reads whole into memory, in bytes
    /// (default [`DEFAULT_MAX_PDF_SIZE`]; content under a detached signature is
    /// streamed and not limited).
    pub max_size: u64,
}

impl Settings {
    /// Defaults over the given anchors at `at`: revocation required and fetched, the
    /// default algorithm policy, the standard modification policy.
    pub fn new(
        anchors: impl Into<std::sync::Arc<TrustAnchors>>,
        own_anchors: usize,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            anchors: anchors.into(),
            own_anchors,
            crls: Vec::new(),
            ocsp: Vec::new(),
            certificates: Vec::new(),
            at,
            revocation: RevocationMode::Require,
            fetch: true,
            algorithms: AlgorithmPolicy::default(),
            policy: Policy::standard(),
            password: None,
            max_size: DEFAULT_MAX_PDF_SIZE,
        }
    }

    /// The installation's defaults at `at`: its own trust store (`<data>/trust`) plus
    /// the built-in Vietnamese trust list.
    pub fn installation(data: &Path, at: OffsetDateTime) -> AppResult<Self> {
        let (anchors, own) = installation_anchors(data)?;
        Ok(Self::new(anchors, own, at))
    }
}

/// The installation's trust anchors: `<data>/trust/*.pem|crt|cer|der` plus the built-in
/// Vietnamese trust list; also how many are the installation's own.
pub fn installation_anchors(data: &Path) -> AppResult<(TrustAnchors, usize)> {
    let own = data.join("trust");
    let (mut anchors, own_anchors) = if own.is_dir() {
        crate::trust::load_anchors(&[own])?
    } else {
        (TrustAnchors::new(), 0)
    };
    crate::trust::add_trust_list(&mut anchors, "vn")?;
    Ok((anchors, own_anchors))
}

/// The report of one verification.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Verified {
    /// A PDF's signatures.
    Pdf(Box<PdfReport>),
    /// A detached (or encapsulating) CMS signature.
    Cms(Report),
}

/// A report and the notes about how it was made (fetch failures, missing anchors).
#[derive(Debug, Clone)]
pub struct Verification {
    /// The report.
    pub report: Verified,
    /// Notes.
    pub notes: Vec<Reason>,
}

impl Verification {
    /// The overall verdict.
    pub fn verdict(&self) -> Verdict {
        match &self.report {
            Verified::Pdf(r) => r.verdict,
            Verified::Cms(r) => r.verdict,
        }
    }

    /// The verdict's stable key (`valid`, `valid_with_changes`, `invalid`, `modified`,
    /// `indeterminate`…).
    pub fn verdict_key(&self) -> String {
        serde_json::to_value(self.verdict())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "indeterminate".into())
    }

    /// Whether every signature is plainly valid (allowed later changes included).
    pub fn is_valid(&self) -> bool {
        matches!(self.verdict_key().as_str(), "valid" | "valid_with_changes")
    }

    /// The report as `kyso verify --json` prints it: the report's fields plus `notes`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.report).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = value.as_object_mut() {
            obj.insert("notes".into(), serde_json::json!(self.notes));
        }
        value
    }
}

/// The distinct reason codes of a report (`digest_mismatch, untrusted_chain`), for a
/// one-line message.
pub fn reason_summary(verification: &Verification) -> String {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if key == "reasons"
                        && let Some(list) = value.as_array()
                    {
                        for r in list {
                            if let Some(code) = r.get("code").and_then(|c| c.as_str())
                                && !out.iter().any(|c| c == code)
                            {
                                out.push(code.to_string());
                            }
                        }
                    }
                    walk(value, out);
                }
            }
            serde_json::Value::Array(list) => list.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut codes = Vec::new();
    walk(&verification.to_json(), &mut codes);
    if codes.is_empty() {
        "-".into()
    } else {
        codes.join(", ")
    }
}

/// Whether bytes start like a PDF.
pub fn looks_like_pdf(head: &[u8]) -> bool {
    head.starts_with(b"%PDF-")
}

/// How far into a file the `%PDF-` header is looked for: readers (Acrobat among them)
/// accept up to 1024 bytes of junk before it.
pub const PDF_HEADER_WINDOW: usize = 1024;

/// The default largest PDF that signing and verification read (256 MiB). A PDF is
/// read whole into memory (the verifier's object parser needs random access, and
/// signing appends to it), so the limit bounds the memory a careless or hostile file
/// can take: about twice the file at its peak. 256 MiB is far above any ND30 document
/// (a 200-page scan at 300 dpi is some 60 MiB) and well within an office PC's memory;
/// raise it with `--max-size` (or `KYSO_MAX_PDF_SIZE`). A detached signature of any
/// other file streams its content and has no such limit.
pub const DEFAULT_MAX_PDF_SIZE: u64 = 256 * 1024 * 1024;

/// Whether `head` (a file's first bytes) holds the `%PDF-` header within its first
/// [`PDF_HEADER_WINDOW`] bytes.
pub fn has_pdf_header(head: &[u8]) -> bool {
    let head = &head[..head.len().min(PDF_HEADER_WINDOW)];
    head.windows(5).any(|w| w == b"%PDF-")
}

/// Whether the file at `path` has a `%PDF-` header within its first
/// [`PDF_HEADER_WINDOW`] bytes (only those are read).
pub fn sniff_pdf(path: &Path) -> std::io::Result<bool> {
    let f = fs::File::open(path)?;
    let mut head = Vec::with_capacity(PDF_HEADER_WINDOW);
    f.take(PDF_HEADER_WINDOW as u64).read_to_end(&mut head)?;
    Ok(has_pdf_header(&head))
}

/// A size for people: `1,0 GiB`, `256 MiB`, `900 KiB`, `12 byte`.
pub fn human_size(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} byte")
}

/// The refusal of a file larger than the limit `max`: what, which file, its size, the
/// limit and how to raise it.
pub fn too_large(path: &Path, what_vi: &str, what_en: &str, size: u64, max: u64) -> AppError {
    AppError::new(
        Kind::TooLarge,
        "file_too_large",
        format!(
            "tệp {} quá lớn: {} ({size} byte), giới hạn {} cho {what_vi}, vì tệp được đọc toàn bộ vào bộ nhớ; để nâng giới hạn, dùng --max-size (ví dụ --max-size {}) hoặc biến môi trường KYSO_MAX_PDF_SIZE",
            path.display(),
            human_size(size),
            human_size(max),
            suggest(size),
        ),
        format!(
            "{} is too large: {} ({size} bytes), the limit for {what_en} is {} because the file is read whole into memory; raise it with --max-size (e.g. --max-size {}) or the KYSO_MAX_PDF_SIZE environment variable",
            path.display(),
            human_size(size),
            human_size(max),
            suggest(size),
        ),
    )
}

/// A `--max-size` value that admits `size`: whole MiB (or GiB) rounded up.
fn suggest(size: u64) -> String {
    let mib = size.div_ceil(1 << 20);
    if mib >= 1024 {
        format!("{}G", mib.div_ceil(1024))
    } else {
        format!("{mib}M")
    }
}

/// Reads a PDF for signing or verification: its `%PDF-` header is looked for in the
/// first [`PDF_HEADER_WINDOW`] bytes and its size checked against `max` **before** the
/// rest is read, so a huge or mislabelled file costs no memory. `spare` bytes of
/// capacity are reserved for updates appended later (no reallocation: a large PDF is
/// held once). A file that grows while being read is cut at `max + 1` bytes and
/// refused.
pub fn read_pdf_file(path: &Path, max: u64, spare: usize) -> AppResult<Vec<u8>> {
    let cannot = |e: std::io::Error| {
        AppError::new(
            Kind::NotFound,
            "cannot_read",
            format!("không đọc được {}: {e}", path.display()),
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut f = fs::File::open(path).map_err(cannot)?;
    let meta = f.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(AppError::invalid(
            "not_a_file",
            format!("{} không phải một tệp", path.display()),
            format!("{} is not a file", path.display()),
        ));
    }
    let mut head = Vec::with_capacity(PDF_HEADER_WINDOW);
    (&mut f)
        .take(PDF_HEADER_WINDOW as u64)
        .read_to_end(&mut head)
        .map_err(cannot)?;
    if !has_pdf_header(&head) {
        return Err(not_a_pdf(path));
    }
    let size = meta.len();
    if size > max {
        return Err(too_large(path, "tệp PDF", "PDFs", size, max));
    }
    let mut buf = Vec::with_capacity(size as usize + spare);
    buf.extend_from_slice(&head);
    (&mut f)
        .take((max + 1).saturating_sub(head.len() as u64))
        .read_to_end(&mut buf)
        .map_err(cannot)?;
    if buf.len() as u64 > max {
        return Err(too_large(path, "tệp PDF", "PDFs", buf.len() as u64, max));
    }
    Ok(buf)
}

/// [`read_pdf_file`]'s checks for a PDF already in memory (`path` names it): the
/// `%PDF-` header in the first KiB and the size limit.
pub fn check_pdf_bytes(path: &Path, pdf: &[u8], max: u64) -> AppResult<()> {
    if !has_pdf_header(&pdf[..pdf.len().min(PDF_HEADER_WINDOW)]) {
        return Err(not_a_pdf(path));
    }
    if pdf.len() as u64 > max {
        return Err(too_large(path, "tệp PDF", "PDFs", pdf.len() as u64, max));
    }
    Ok(())
}

fn not_a_pdf(path: &Path) -> AppError {
    AppError::invalid(
        "not_a_pdf",
        format!(
            "{} không phải tệp PDF: không có phần đầu %PDF- trong {PDF_HEADER_WINDOW} byte đầu tiên",
            path.display()
        ),
        format!(
            "{} is not a PDF: no %PDF- header in its first {PDF_HEADER_WINDOW} bytes",
            path.display()
        ),
    )
}

/// Reads a signature file (`.p7s`, DER or PEM) of at most `max` bytes: its size is
/// checked before it is read. `Ok(None)` when there is no such file.
pub fn read_signature_file(path: &Path, max: u64) -> AppResult<Option<Vec<u8>>> {
    let cannot = |e: std::io::Error| {
        AppError::new(
            Kind::NotFound,
            "cannot_read",
            format!("không đọc được {}: {e}", path.display()),
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    let size = f.metadata().map_err(cannot)?.len();
    if size > max {
        return Err(too_large(path, "tệp chữ ký", "signature files", size, max));
    }
    let mut buf = Vec::with_capacity(size as usize);
    f.take(max + 1).read_to_end(&mut buf).map_err(cannot)?;
    if buf.len() as u64 > max {
        return Err(too_large(
            path,
            "tệp chữ ký",
            "signature files",
            buf.len() as u64,
            max,
        ));
    }
    Ok(Some(buf))
}

/// Fetches what the verifier asked for; failures become notes in both languages (the
/// verdict then says what is missing).
pub fn fetch(
    fetcher: &dyn Fetcher,
    list: Vec<Need>,
    crls: &mut Vec<Vec<u8>>,
    ocsp: &mut Vec<Vec<u8>>,
    notes: &mut Vec<Reason>,
) {
    for need in list {
        match need {
            Need::Crl(url) => match fetcher.get(&url) {
                Ok(crl) => crls.push(crl),
                Err(e) => notes.push(Reason::new(
                    "crl_fetch_failed",
                    format!("could not fetch CRL {url}: {e}"),
                    format!("không tải được danh sách thu hồi (CRL) {url}: {e}"),
                )),
            },
            Need::Ocsp { url, request } if url.starts_with("http") => {
                match fetcher.post(&url, "application/ocsp-request", &request) {
                    Ok(resp) => ocsp.push(resp),
                    Err(e) => notes.push(Reason::new(
                        "ocsp_failed",
                        format!("could not ask OCSP responder {url}: {e}"),
                        format!("không hỏi được dịch vụ OCSP {url}: {e}"),
                    )),
                }
            }
            _ => {}
        }
    }
}

/// The note for a verification without trust anchors.
pub fn no_trust_anchors() -> Reason {
    Reason::new(
        "no_trust_anchors",
        "no trust anchors configured (use --trust or `kyso trust add`)",
        "chưa cấu hình chứng thư gốc tin cậy (dùng --trust hoặc `kyso trust add`)",
    )
}

/// Only the built-in (or `--trust-list`) roots are trusted.
pub fn only_trust_list() -> Reason {
    Reason::new(
        "only_trust_list",
        "no trust anchors of your own configured: only the trust list (--trust-list) is used; add roots with --trust or `kyso trust add`",
        "chưa cấu hình chứng thư gốc tin cậy riêng: chỉ dùng danh sách tin cậy (--trust-list); thêm bằng --trust hoặc `kyso trust add`",
    )
}

fn cades_options<'a>(
    s: &'a Settings,
    crls: &'a [Vec<u8>],
    ocsp: &'a [Vec<u8>],
) -> kyso_cades::VerifyOptions<'a> {
    kyso_cades::VerifyOptions {
        anchors: &s.anchors,
        extra_certificates: &s.certificates,
        extra_crls: crls,
        extra_ocsp: ocsp,
        validation_time: s.at,
        revocation: s.revocation,
        limits: kyso_cades::Limits {
            algorithms: s.algorithms,
            ..kyso_cades::Limits::default()
        },
    }
}

/// Verifies every signature of a PDF.
pub fn verify_pdf(fetcher: &dyn Fetcher, pdf: &[u8], s: &Settings) -> AppResult<Verification> {
    let limits = kyso_pades::verify::Limits::default();
    let mut notes = Vec::new();
    let options = kyso_pades::verify::VerifyOptions {
        cades: cades_options(s, &s.crls, &s.ocsp),
        limits,
        policy: s.policy,
        password: s.password.as_deref().map(String::as_str),
    };
    // What the signatures name is fetched once they are found (one reading of the file).
    let mut fetch_named = |list| {
        let mut fetched = kyso_pades::verify::Fetched::default();
        fetch(
            fetcher,
            list,
            &mut fetched.crls,
            &mut fetched.ocsp,
            &mut notes,
        );
        fetched
    };
    let fetching = s.fetch && s.revocation != RevocationMode::Skip;
    let report = kyso_pades::verify::verify_fetching(
        pdf,
        &options,
        fetching.then_some(&mut fetch_named as &mut dyn FnMut(_) -> _),
    )
    .map_err(|e| unreadable_pdf(&e))?;
    if s.anchors.is_empty() {
        notes.push(no_trust_anchors());
    } else if s.own_anchors == 0 {
        notes.push(only_trust_list());
    }
    Ok(Verification {
        report: Verified::Pdf(Box::new(report)),
        notes,
    })
}

fn unreadable_pdf(e: &dyn std::fmt::Display) -> AppError {
    AppError::invalid(
        "unreadable_pdf",
        format!("không đọc được tệp PDF: {e}"),
        format!("cannot read the PDF: {e}"),
    )
}

/// Where the signed content of a detached signature is.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// In memory.
    Bytes(&'a [u8]),
    /// In a file, streamed through the digests (never read whole into memory). A
    /// missing file is allowed when the signature encapsulates its content.
    File(&'a Path),
    /// Not given: the signature must encapsulate its content.
    Encapsulated,
}

/// A PEM (`CMS` / `PKCS7`) signature's DER, or the bytes as they are.
pub fn decode_pem_or_der(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(b"-----BEGIN")
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        for label in ["CMS", "PKCS7"] {
            if let Some(d) = crate::trust::pem_blocks(text, label).into_iter().next() {
                return d;
            }
        }
    }
    bytes.to_vec()
}

fn digest_file(path: &Path, digest: DigestAlgorithm) -> AppResult<Vec<u8>> {
    let cannot = |e: std::io::Error| {
        AppError::invalid(
            "unreadable_content",
            format!("không đọc được {}: {e}", path.display()),
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let mut f = fs::File::open(path).map_err(cannot)?;
    let mut hasher = digest.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(cannot)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// Verifies a detached CMS signature (`signature`, DER or PEM) over `content`. `None`
/// for the signature: the file is unsigned (no `.p7s`), reported as such.
pub fn verify_detached(
    fetcher: &dyn Fetcher,
    content: Content<'_>,
    signature: Option<&[u8]>,
    signature_name: &str,
    s: &Settings,
) -> AppResult<Verification> {
    let mut notes = Vec::new();
    if let (Content::File(path), None) = (content, signature)
        && !path.exists()
    {
        return Err(AppError::invalid(
            "no_content",
            format!("không đọc được {}: không có tệp này", path.display()),
            format!("cannot read {}: no such file", path.display()),
        ));
    }
    let Some(signature) = signature else {
        return Ok(Verification {
            report: Verified::Cms(Report {
                verdict: Verdict::Unsigned,
                format: "cades",
                validation_time: vietnam_time(s.at),
                signatures: Vec::new(),
            }),
            notes: vec![Reason::new(
                "no_signature_file",
                format!("no signature file {signature_name}"),
                format!("không có tệp chữ ký {signature_name}"),
            )],
        });
    };
    let signature = decode_pem_or_der(signature);
    // A missing content file is fine when the signature carries its content
    // (`openssl cms -sign -stream`, -nodetach).
    let content = match content {
        Content::File(path) if !path.exists() => {
            let encapsulated = kyso_cades::verify::encapsulated_content(&signature)
                .ok()
                .flatten()
                .is_some();
            if !encapsulated {
                return Err(AppError::invalid(
                    "no_content",
                    format!("không có tệp {}", path.display()),
                    format!("cannot read {}: no such file", path.display()),
                ));
            }
            notes.push(Reason::new(
                "encapsulated_content_verified",
                format!(
                    "{} does not exist: the content encapsulated in the signature was verified",
                    path.display()
                ),
                format!(
                    "không có tệp {}: đã kiểm tra nội dung đóng gói trong chữ ký",
                    path.display()
                ),
            ));
            Content::Encapsulated
        }
        Content::File(path) if !path.is_file() => {
            return Err(AppError::invalid(
                "not_a_file",
                format!("{} không phải một tệp", path.display()),
                format!("{} is not a file", path.display()),
            ));
        }
        other => other,
    };
    let mut crls = s.crls.clone();
    let mut ocsp: Vec<Vec<u8>> = s.ocsp.clone();
    if s.fetch
        && s.revocation != RevocationMode::Skip
        && let Ok(list) = kyso_cades::verify::needs(&signature)
    {
        fetch(fetcher, list, &mut crls, &mut ocsp, &mut notes);
    }
    if s.anchors.is_empty() {
        notes.push(no_trust_anchors());
    }
    let options = cades_options(s, &crls, &ocsp);
    let result = match content {
        Content::Encapsulated => kyso_cades::verify_detached(&signature, None, &options),
        Content::Bytes(bytes) => kyso_cades::verify_detached(&signature, Some(&[bytes]), &options),
        Content::File(path) => {
            // Stream the content once through every digest the signers use.
            let digests = match kyso_cades::digest_algorithms(&signature) {
                Ok(algorithms) => {
                    let mut out = Vec::new();
                    for alg in algorithms {
                        out.push((alg, digest_file(path, alg)?));
                    }
                    out
                }
                Err(_) => Vec::new(),
            };
            kyso_cades::verify_detached_digests(&signature, &digests, &options)
        }
    };
    let report = match result {
        Ok(r) => r,
        Err(kyso_cades::CadesError::Malformed(why)) => malformed_report(&why, s.at),
        Err(e) => {
            return Err(AppError::new(
                Kind::Internal,
                "verification_failed",
                format!("không kiểm tra được chữ ký: {e}"),
                format!("cannot verify the signature: {e}"),
            ));
        }
    };
    Ok(Verification {
        report: Verified::Cms(report),
        notes,
    })
}

/// A signature file that cannot be parsed is an invalid signature, not a crash.
fn malformed_report(why: &str, at: OffsetDateTime) -> Report {
    Report {
        verdict: Verdict::Invalid,
        format: "cades",
        validation_time: vietnam_time(at),
        signatures: vec![SignatureReport {
            index: 0,
            signer: None,
            algorithm: String::new(),
            digest_algorithm: String::new(),
            signing_time: None,
            signing_time_source: TimeSource::None,
            integrity: Check::Failed,
            trust: Check::NotChecked,
            revocation: RevocationCheck::NotChecked,
            timestamp: None,
            chain: Vec::new(),
            indication: Indication::TotalFailed,
            sub_indication: Some(SubIndication::FormatFailure),
            reasons: vec![Reason::new(
                "malformed",
                format!("the signature file is damaged or not a CMS signature: {why}"),
                format!("tệp chữ ký bị hỏng hoặc không phải chữ ký CMS: {why}"),
            )],
            warnings: Vec::new(),
            trust_anchor_source: None,
        }],
    }
}

/// Where `kyso verify FILE [--sig SIG]` finds the content and the signature. File
/// names are kept as the operating system gives them (bytes, not text): two names
/// that differ only in bytes that are not UTF-8 never lead to the same `.p7s`.
pub fn locate(file: &Path, sig: Option<&Path>) -> (PathBuf, PathBuf) {
    if let Some(sig) = sig {
        return (file.to_path_buf(), sig.to_path_buf());
    }
    if file.extension().is_some_and(|e| e == "p7s") {
        return (file.with_extension(""), file.to_path_buf());
    }
    (file.to_path_buf(), p7s_beside(file))
}

/// `FILE.p7s` beside `file`, its name kept byte for byte.
pub fn p7s_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".p7s");
    PathBuf::from(name)
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn file_names_are_kept_as_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let a = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/a\xff.txt"));
        let b = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/a\xfe.txt"));
        // Both would be "a\u{FFFD}.txt.p7s" through text.
        assert_ne!(p7s_beside(a), p7s_beside(b));
        assert_eq!(p7s_beside(a).as_os_str().as_bytes(), b"/tmp/a\xff.txt.p7s");
        assert_eq!(locate(a, None), (a.to_path_buf(), p7s_beside(a)));
        assert_eq!(
            locate(&p7s_beside(b), None),
            (b.to_path_buf(), p7s_beside(b))
        );
        let given = Path::new("/tmp/chu-ky.p7s");
        assert_eq!(locate(a, Some(given)).1, given);
    }

    #[test]
    fn header_within_the_first_kilobyte() {
        assert!(has_pdf_header(b"%PDF-1.7\n"));
        let mut junk = vec![b' '; 1000];
        junk.extend_from_slice(b"%PDF-2.0");
        assert!(has_pdf_header(&junk));
        let mut late = vec![0u8; PDF_HEADER_WINDOW];
        late.extend_from_slice(b"%PDF-1.7");
        assert!(!has_pdf_header(&late));
        assert!(!has_pdf_header(b"%PDF"));
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(1 << 30), "1 GiB");
        assert_eq!(human_size(256 << 20), "256 MiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(12), "12 byte");
        assert_eq!(suggest((1 << 30) + 1), "2G");
        assert_eq!(suggest(300 << 20), "300M");
    }

    #[test]
    fn a_pdf_is_checked_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("a.pdf");
        fs::write(&pdf, b"%PDF-1.7\nbody").unwrap();
        assert_eq!(read_pdf_file(&pdf, 13, 0).unwrap(), b"%PDF-1.7\nbody");
        let e = read_pdf_file(&pdf, 12, 0).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.kind),
            ("file_too_large", Kind::TooLarge)
        );
        assert!(
            e.vi.contains("a.pdf") && e.vi.contains("--max-size"),
            "{}",
            e.vi
        );
        fs::write(&pdf, b"PK\x03\x04 not a pdf").unwrap();
        assert_eq!(
            read_pdf_file(&pdf, 1 << 20, 0).unwrap_err().code,
            "not_a_pdf"
        );
        let sig = dir.path().join("a.p7s");
        assert!(read_signature_file(&sig, 10).unwrap().is_none());
        fs::write(&sig, [0u8; 11]).unwrap();
        assert_eq!(
            read_signature_file(&sig, 10).unwrap_err().code,
            "file_too_large"
        );
    }
}
