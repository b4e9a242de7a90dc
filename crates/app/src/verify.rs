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
            certificates: Vec::new(),
            at,
            revocation: RevocationMode::Require,
            fetch: true,
            algorithms: AlgorithmPolicy::default(),
            policy: Policy::standard(),
            password: None,
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
        cades: cades_options(s, &s.crls, &[]),
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
    let mut ocsp: Vec<Vec<u8>> = Vec::new();
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

/// Where `kyso verify FILE [--sig SIG]` finds the content and the signature.
pub fn locate(file: &Path, sig: Option<&Path>) -> (PathBuf, PathBuf) {
    if let Some(sig) = sig {
        return (file.to_path_buf(), sig.to_path_buf());
    }
    let name = file.to_string_lossy();
    if let Some(content) = name.strip_suffix(".p7s") {
        return (PathBuf::from(content), file.to_path_buf());
    }
    (file.to_path_buf(), PathBuf::from(format!("{name}.p7s")))
}
