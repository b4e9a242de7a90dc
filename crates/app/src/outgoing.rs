//! The outgoing flow of an electronic document (Decree 30/2020 Art. 14–18): a draft is
//! uploaded → the competent leader signs → the clerk takes its number → the clerk adds
//! the agency's seal signature → the document is issued and archived byte-exact with its
//! verification report.
//!
//! Signatures come two ways, both ending in the same checks:
//! - **two-step**, for keys that never leave their owner (a leader's token on their own
//!   PC, or the agency device at the clerk's desk): [`App::start_signing`] prepares the
//!   PAdES revision and returns the bytes the key must sign (the DER of the CMS signed
//!   attributes, which cover the revision's ByteRange digest); the client posts the raw
//!   signature to [`App::finish_signing`], which rebuilds the same revision, checks that
//!   it is byte-for-byte what was handed out, assembles the signature, verifies the whole
//!   document and only then keeps it;
//! - **on the server**, for the agency device attached to it ([`App::seal`]): only the
//!   device's current custodian, with the PIN given for that one request.
//!
//! Working copies live in `<data>/drafts/<id>/`: `draft.pdf` as uploaded, then one file
//! per signed version named by its SHA-256. The history note of each signing step names
//! its version (`sha256 …`), so the database alone decides which file is current: a
//! version written by an attempt that crashed, or lost a race to another signer, is
//! never current. Signing sessions are `sessions/<SHA-256 of the session token>.json`
//! beside them (the token itself is never stored), valid for [`SESSION_MINUTES`].
//! When the document is issued its current version becomes the archived original
//! (the store's staging protocol) and the folder is removed.

use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use der::{Decode, Encode};
use kyso_audit::Outcome;
use kyso_model::DocumentType;
use kyso_office::{
    Action, DocState, DocumentRecord, Event, OutgoingNumber, OutgoingRequest, OutgoingState, Step,
    Store,
};
use kyso_pades::sign::{PdfSignRequest, Placement, Role};
use kyso_signer::{SignatureAlgorithm, Signer};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use x509_cert::Certificate;

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::documents::{DocFields, object};
use crate::error::{AppError, AppResult, Kind};

pub use kyso_pkcs11::Pin;

/// How long a signing session waits for its signature.
pub const SESSION_MINUTES: i64 = 15;
/// Largest signature image accepted with a signing request.
pub const MAX_IMAGE: usize = 2 << 20;
/// Most certificates accepted with a signing request (signer first, then its chain).
pub const MAX_CERTIFICATES: usize = 8;
/// Largest certificate accepted.
pub const MAX_CERTIFICATE: usize = 16 * 1024;
/// Largest raw signature value accepted (RSA-16384 is 2 KiB).
pub const MAX_SIGNATURE: usize = 4096;
/// Largest draft accepted (the server's upload limit applies first).
pub const MAX_DRAFT: u64 = 512 << 20;

/// Which signature of the outgoing flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningRole {
    /// The competent leader's personal signature (blue image at the signer block).
    Leader,
    /// The agency's seal signature (red seal over the left third of the leader's).
    Seal,
}

impl SigningRole {
    /// `leader` / `seal`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Seal => "seal",
        }
    }

    /// `leader` / `seal`.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "leader" | "leader_sign" => Some(Self::Leader),
            "seal" | "seal_sign" => Some(Self::Seal),
            _ => None,
        }
    }

    fn event(self) -> Event {
        match self {
            Self::Leader => Event::LeaderSign,
            Self::Seal => Event::SealSign,
        }
    }

    fn pades(self) -> Role {
        match self {
            Self::Leader => Role::Leader,
            Self::Seal => Role::Seal,
        }
    }

    /// The state the document must be in.
    fn needs(self) -> OutgoingState {
        match self {
            Self::Leader => OutgoingState::Draft,
            Self::Seal => OutgoingState::Numbered,
        }
    }
}

/// A draft to register.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    /// The uploaded PDF (copied).
    pub file: PathBuf,
    /// Its name as uploaded, for messages.
    pub shown_name: Option<String>,
    /// Type.
    pub doc_type: DocumentType,
    /// Document date (default: the day it is numbered… today until then).
    pub date: Option<Date>,
    /// Subject, signer, recipients…
    pub fields: DocFields,
    /// The agency's name (organ name in the metadata).
    pub agency_name: String,
}

/// Starting a two-step signature.
#[derive(Debug, Clone)]
pub struct SigningStart {
    /// Leader or seal.
    pub role: SigningRole,
    /// The signer's certificate first, then its chain (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The signature image (PNG); default: the user's registered signature image
    /// (leader) or the device's seal image (seal).
    pub image: Option<Vec<u8>>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    pub pss: bool,
}

/// What the client's key must sign for a document of the outgoing flow.
#[derive(Debug, Clone, Serialize)]
pub struct SigningTicket {
    /// The document.
    pub document: i64,
    /// Leader or seal.
    pub role: SigningRole,
    /// The session and the bytes to sign.
    #[serde(flatten)]
    pub to_sign: ToBeSigned,
}

/// The server-side seal with the agency device attached to the server.
pub struct SealRequest {
    /// The device's serial (default: the agency's only device).
    pub device: Option<String>,
    /// Its PIN, for this request only (zeroized on drop, never logged).
    pub pin: kyso_pkcs11::Pin,
    /// Allow the last PIN try before the token locks itself.
    pub allow_final_try: bool,
}

impl std::fmt::Debug for SealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealRequest")
            .field("device", &self.device)
            .field("pin", &"<hidden>")
            .finish()
    }
}

/// A two-step signing session as kept on the server (`<dir>/<SHA-256 of the token>.json`;
/// the token itself is never stored). Shared by the outgoing flow and the handover
/// minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionFile {
    /// What is signed: `document:<id>`, `handover:<id>`.
    pub(crate) subject: String,
    /// Who started it (their audit name): only they may finish it.
    pub(crate) actor: String,
    /// Which signature (`leader`, `seal`, `giver`, `receiver`).
    pub(crate) role: String,
    /// SHA-256 of the version being signed.
    pub(crate) base: String,
    /// DER certificates, base64.
    pub(crate) certificates: Vec<String>,
    /// The image, base64.
    pub(crate) image: String,
    pub(crate) pss: bool,
    /// Unix seconds.
    pub(crate) signing_time: i64,
    pub(crate) expires: i64,
    /// SHA-256 of the to-be-signed bytes handed out.
    pub(crate) to_be_signed: String,
    /// Device serial (seal).
    pub(crate) device: Option<String>,
}

/// What the signer's key must sign, as handed out by step one of any two-step signature.
#[derive(Debug, Clone, Serialize)]
pub struct ToBeSigned {
    /// The session token: post the signature with it. Shown once.
    pub session: String,
    /// `pades` (a PDF) or `cades` (a detached `.p7s` beside any other file).
    pub format: &'static str,
    /// The bytes to sign (DER of the CMS signed attributes), base64.
    pub to_be_signed: String,
    /// Their digest with `digest_algorithm`, hex — for keys that sign a digest.
    pub digest: String,
    /// `SHA-256`, `SHA-384`…
    pub digest_algorithm: &'static str,
    /// The signature algorithm the CMS names (`RSA-PKCS1v1.5-SHA256`, `ECDSA-P256-SHA256`…).
    pub signature_algorithm: &'static str,
    /// The claimed signing time (the PDF's `/M`).
    #[serde(with = "time::serde::rfc3339")]
    pub signing_time: OffsetDateTime,
    /// When the session lapses.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Page of the signature's appearance (PDF).
    pub page: Option<usize>,
    /// Its rectangle `[x0, y0, x1, y1]` in points (PDF).
    pub rect: Option<[f64; 4]>,
}

/// A user's folder in the data directory (their signature image).
pub fn user_dir(data: &std::path::Path, agency: &kyso_model::AgencyId, name: &str) -> PathBuf {
    data.join("users").join(agency.to_string()).join(name)
}

/// A registered device's folder in the data directory (its seal image, handover
/// minutes in progress).
pub fn device_dir(data: &std::path::Path, serial: &str) -> PathBuf {
    let safe: String = serial
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    data.join("devices").join(safe)
}

/// The current version of a document in the outgoing flow.
#[derive(Debug, Clone)]
pub(crate) struct Working {
    /// The PDF (signed so far), or the content of any other file.
    pub(crate) content: PathBuf,
    /// The detached CAdES signatures so far (non-PDF files, once signed).
    pub(crate) signature: Option<PathBuf>,
    /// The version: SHA-256 of the PDF or of the `.p7s` (of the content before the
    /// first signature).
    pub(crate) sha: String,
}

impl Working {
    pub(crate) fn is_pdf(&self) -> bool {
        self.signature.is_none() && self.content.extension().is_some_and(|e| e == "pdf")
    }
}

/// How a PDF signature looks and what it says: its Decree 30 role, the signer-block
/// text it is placed by, the reason.
#[derive(Debug, Clone)]
pub(crate) struct PdfLook {
    pub(crate) role: Role,
    /// The name line of the signer block to place the appearance by (default: found
    /// from the role).
    pub(crate) anchor: Option<String>,
    pub(crate) reason: String,
}

/// A signature being made on a working copy: everything but the key. The same job
/// prepares the same bytes every time, so two-step signing prepares it twice (hand out,
/// then assemble) and a key at hand signs it at once ([`SigningJob::sign_with`]).
pub(crate) struct SigningJob {
    pub(crate) working: Working,
    pub(crate) look: PdfLook,
    /// The signer's certificate first, then its chain.
    pub(crate) certificates: Vec<Certificate>,
    /// The appearance image (PDF; empty: none).
    pub(crate) image: Vec<u8>,
    pub(crate) time: OffsetDateTime,
    pub(crate) algorithm: SignatureAlgorithm,
}

/// Prepared, waiting for the signature value.
pub(crate) enum Prepared {
    Pdf(kyso_pades::sign::PreparedSignature),
    Cms(kyso_cades::sign::PreparedSignature),
}

impl Prepared {
    fn to_be_signed(&self) -> &[u8] {
        match self {
            Prepared::Pdf(p) => p.to_be_signed(),
            Prepared::Cms(p) => p.to_be_signed(),
        }
    }

    fn placed(&self) -> Option<kyso_pades::sign::Placed> {
        match self {
            Prepared::Pdf(p) => Some(p.placed().clone()),
            Prepared::Cms(_) => None,
        }
    }
}

/// A new version: the signed PDF, or the new `.p7s`.
pub(crate) enum Signed {
    Pdf(Vec<u8>),
    Cms(Vec<u8>),
}

impl SigningJob {
    /// Blocking: the revision (PDF) or the signed attributes (CAdES) to sign. The same
    /// job prepares the same bytes every time.
    pub(crate) fn prepare(&self) -> AppResult<Prepared> {
        let (cert, chain) = (&self.certificates[0], &self.certificates[1..]);
        if self.working.is_pdf() {
            let pdf = fs::read(&self.working.content).map_err(|e| io_error("working copy", e))?;
            let mut request = PdfSignRequest::new(cert, self.time);
            request.chain = chain;
            request.role = self.look.role;
            request.image = (!self.image.is_empty()).then_some(self.image.as_slice());
            request.placement = Placement {
                anchor: self.look.anchor.clone(),
                ..Placement::default()
            };
            request.reason = Some(self.look.reason.clone());
            return kyso_pades::sign::prepare(&pdf, &request, self.algorithm)
                .map(Prepared::Pdf)
                .map_err(sign_error);
        }
        let digest = digest_file(&self.working.content, self.algorithm.digest())?;
        let request = kyso_cades::sign::SignRequest {
            message_digest: &digest,
            signer_certificate: cert,
            chain,
            signing_time: Some(self.time),
            content_type: None,
            crls: &[],
            encapsulated: None,
        };
        kyso_cades::sign::prepare(&request, self.algorithm)
            .map(Prepared::Cms)
            .map_err(cades_error)
    }

    /// Blocking: a key at hand (a token on this machine, a keystore key) signs at once.
    pub(crate) fn sign_with(&self, signer: &dyn Signer) -> AppResult<Signed> {
        let certificate = &self.certificates[0];
        if certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            != signer.public_key().subject_public_key
        {
            return Err(AppError::invalid(
                "key_certificate_mismatch",
                "chứng thư số không thuộc về khóa ký",
                "the certificate does not belong to the signing key",
            ));
        }
        let prepared = self.prepare()?;
        let signature = signer.sign(prepared.to_be_signed()).map_err(|e| {
            AppError::new(
                Kind::Forbidden,
                "device",
                format!("khóa ký không ký được: {e}"),
                format!("the signing key could not sign: {e}"),
            )
        })?;
        self.complete(prepared, signature)
    }

    /// Blocking: two-step signing, step two. Prepares again, checks that the bytes to
    /// sign are the ones handed out (SHA-256 `expected`), checks the raw signature value
    /// against the signer's certificate, and assembles the new version.
    pub(crate) fn finish(&self, expected: &str, signature: Vec<u8>) -> AppResult<Signed> {
        let prepared = self.prepare()?;
        if sha256_hex(prepared.to_be_signed()) != expected {
            return Err(AppError::internal(
                "the prepared signature differs from the one handed out",
            ));
        }
        let spki = self.certificates[0]
            .tbs_certificate()
            .subject_public_key_info();
        kyso_signer::verify_signature(
            spki,
            &self.algorithm.algorithm_identifier(),
            prepared.to_be_signed(),
            &signature,
        )
        .map_err(|e| {
            AppError::invalid(
                "signature_mismatch",
                format!("chữ ký không khớp với chứng thư số và dữ liệu cần ký: {e}"),
                format!(
                    "the signature does not verify with the certificate over the bytes to sign: {e}"
                ),
            )
        })?;
        self.complete(prepared, signature)
    }

    /// Blocking: the signature value put in; the new version.
    fn complete(&self, prepared: Prepared, signature: Vec<u8>) -> AppResult<Signed> {
        match prepared {
            Prepared::Pdf(p) => {
                let update = p
                    .assemble(signature)
                    .and_then(|a| a.finish())
                    .map_err(sign_error)?;
                let mut out =
                    fs::read(&self.working.content).map_err(|e| io_error("working copy", e))?;
                out.extend_from_slice(&update.update);
                Ok(Signed::Pdf(out))
            }
            Prepared::Cms(p) => {
                let single = p.assemble(signature).map_err(cades_error)?;
                match &self.working.signature {
                    None => Ok(Signed::Cms(single)),
                    Some(existing) => {
                        let existing = fs::read(existing).map_err(|e| io_error("signature", e))?;
                        let (merged, _) = kyso_cades::sign::merge_signer(&existing, &single)
                            .map_err(cades_error)?;
                        Ok(Signed::Cms(merged))
                    }
                }
            }
        }
    }
}

fn digest_file(
    path: &std::path::Path,
    algorithm: kyso_signer::DigestAlgorithm,
) -> AppResult<Vec<u8>> {
    use std::io::Read;
    let mut file = fs::File::open(path).map_err(|e| io_error("working copy", e))?;
    let mut hasher = algorithm.hasher();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| io_error("working copy", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish())
}

fn cades_error(e: kyso_cades::CadesError) -> AppError {
    AppError::invalid(
        "cannot_sign",
        format!("không tạo được chữ ký CAdES: {e}"),
        format!("cannot make the CAdES signature: {e}"),
    )
}

/// Removes the lapsed (or unreadable) signing sessions of one document.
pub(crate) fn purge_sessions(dir: &std::path::Path, now: OffsetDateTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // Only finished session files: a temporary file being written is not touched.
    for path in entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let lapsed = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<SessionFile>(&b).ok())
            .is_none_or(|s| s.expires < now.unix_timestamp());
        if lapsed {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The file of the session `token` in `dir` (named by the token's SHA-256).
pub(crate) fn session_file(dir: &std::path::Path, token: &str) -> PathBuf {
    dir.join(format!("{}.json", sha256_hex(token.as_bytes())))
}

pub(crate) fn lapsed_session() -> AppError {
    AppError::not_found(
        "phiên ký không tồn tại hoặc đã hết hạn",
        "no such signing session, or it has expired",
    )
}

impl SessionFile {
    /// The signer's certificates, as handed in at step one.
    pub(crate) fn certificates(&self) -> AppResult<Vec<Certificate>> {
        let der: Vec<Vec<u8>> = self
            .certificates
            .iter()
            .map(|c| B64.decode(c))
            .collect::<Result<_, _>>()
            .map_err(AppError::internal)?;
        parse_certificates(&der)
    }

    /// The job step one prepared, rebuilt over `working` (the same inputs give the same
    /// bytes to sign).
    pub(crate) fn job(&self, working: Working, look: PdfLook) -> AppResult<SigningJob> {
        let certificates = self.certificates()?;
        Ok(SigningJob {
            working,
            look,
            algorithm: key_algorithm(&certificates[0], self.pss)?,
            certificates,
            image: B64.decode(&self.image).map_err(AppError::internal)?,
            time: OffsetDateTime::from_unix_timestamp(self.signing_time)
                .map_err(AppError::internal)?,
        })
    }
}

fn no_working_copy(id: i64) -> AppError {
    AppError::not_found(
        format!("văn bản {id} không có bản làm việc để ký"),
        format!("document {id} has no working copy to sign"),
    )
}

pub(crate) fn key_algorithm(certificate: &Certificate, pss: bool) -> AppResult<SignatureAlgorithm> {
    SignatureAlgorithm::for_public_key(certificate.tbs_certificate().subject_public_key_info(), pss)
        .ok_or_else(|| {
            AppError::invalid(
                "unsupported_key",
                "khóa của chứng thư số không được hỗ trợ (RSA, ECDSA P-256/P-384, Ed25519)",
                "the certificate's key is not supported (RSA, ECDSA P-256/P-384, Ed25519)",
            )
        })
}

/// The extension a non-PDF draft keeps (letters and digits only, at most 8; else `bin`).
fn draft_extension(name: &str) -> String {
    std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .filter(|e| e != "pdf" && e != "p7s")
        .unwrap_or_else(|| "bin".into())
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(bytes))
}

fn io_error(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("{what}: {e}"))
}

fn state_error(record: &DocumentRecord, needs: OutgoingState) -> AppError {
    AppError::new(
        Kind::Conflict,
        "wrong_state",
        format!(
            "văn bản {} đang ở trạng thái \"{}\", không phải \"{}\"",
            record.id.unwrap_or_default(),
            record.state.key(),
            DocState::Outgoing(needs).key()
        ),
        format!(
            "document {} is {}, not {}",
            record.id.unwrap_or_default(),
            record.state.key(),
            DocState::Outgoing(needs).key()
        ),
    )
}

pub(crate) fn parse_certificates(list: &[Vec<u8>]) -> AppResult<Vec<Certificate>> {
    if list.is_empty() || list.len() > MAX_CERTIFICATES {
        return Err(AppError::invalid(
            "certificates",
            format!("cần từ 1 đến {MAX_CERTIFICATES} chứng thư số (người ký trước)"),
            format!("give 1 to {MAX_CERTIFICATES} certificates (the signer's first)"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, der)| {
            if der.len() > MAX_CERTIFICATE {
                return Err(AppError::invalid(
                    "certificates",
                    format!("chứng thư số thứ {} quá lớn", i + 1),
                    format!("certificate {} is too large", i + 1),
                ));
            }
            Certificate::from_der(der).map_err(|e| {
                AppError::invalid(
                    "certificates",
                    format!("chứng thư số thứ {} không đọc được: {e}", i + 1),
                    format!("certificate {} is not a DER X.509 certificate: {e}", i + 1),
                )
            })
        })
        .collect()
}

pub(crate) fn common_name(cert: &Certificate) -> String {
    let cn = kyso_pki::ca::SubjectName::from_name(cert.tbs_certificate().subject()).common_name;
    if cn.trim().is_empty() {
        cert.tbs_certificate().subject().to_string()
    } else {
        cn.trim().to_string()
    }
}

fn sign_error(e: kyso_pades::sign::SignError) -> AppError {
    AppError::invalid(
        "cannot_sign",
        format!("không tạo được chữ ký trên văn bản: {e}"),
        format!("cannot sign the document: {e}"),
    )
}

impl App {
    /// `<data>/drafts/<id>`.
    fn draft_dir(&self, id: i64) -> PathBuf {
        self.data().join("drafts").join(id.to_string())
    }

    /// A user's registered signature image (`kyso user add --signature-image`).
    pub fn user_image_path(&self, agency: &kyso_model::AgencyId, name: &str) -> PathBuf {
        user_dir(self.data(), agency, name).join("signature.png")
    }

    /// Registers an uploaded PDF as a draft of an outgoing electronic document.
    /// Refused: secret documents, types the agency does not issue electronically,
    /// anything that is not a PDF.
    pub async fn create_draft(
        &self,
        actor: &Actor,
        request: DraftRequest,
    ) -> AppResult<DocumentRecord> {
        self.allow(actor, Action::FileDocument, "drafts").await?;
        kyso_office::check_not_secret(request.fields.secrecy)?;
        let shown = request
            .shown_name
            .clone()
            .unwrap_or_else(|| request.file.display().to_string());
        let size = fs::metadata(&request.file)
            .map_err(|e| io_error("draft", e))?
            .len();
        if size > MAX_DRAFT {
            return Err(AppError::new(
                Kind::TooLarge,
                "too_large",
                format!("{shown} quá lớn ({size} byte)"),
                format!("{shown} is too large ({size} bytes)"),
            ));
        }
        let is_pdf = crate::documents::starts_like_pdf(&request.file);
        let bytes = fs::read(&request.file).map_err(|e| io_error("draft", e))?;
        if is_pdf {
            // The signer must be able to work on it: refuse now what it could not sign.
            kyso_pades::sign::text_lines(&bytes, 1).map_err(|e| {
                AppError::invalid(
                    "unreadable_pdf",
                    format!("không đọc được {shown}: {e}"),
                    format!("cannot read {shown}: {e}"),
                )
            })?;
        }
        let (now, today) = self.now_and_today();
        let mut metadata = request.fields.metadata(request.agency_name.clone());
        if is_pdf {
            metadata.page_amount = crate::documents::page_count(&bytes);
        }
        let registered = self
            .office()
            .register_outgoing(
                OutgoingRequest {
                    agency: actor.agency().clone(),
                    date: request.date.unwrap_or(today),
                    document_type: request.doc_type,
                    secrecy: request.fields.secrecy,
                    urgency: request.fields.urgency,
                    electronic: true,
                    number: OutgoingNumber::None,
                    state: OutgoingState::Draft,
                    metadata,
                    original: None,
                },
                None,
                now,
            )
            .await?;
        let record = registered.record;
        let id = record.id.unwrap_or_default();
        let dir = self.draft_dir(id);
        fs::create_dir_all(&dir).map_err(|e| io_error("drafts folder", e))?;
        let name = if is_pdf {
            "draft.pdf".to_string()
        } else {
            format!("draft.{}", draft_extension(&shown))
        };
        kyso_store::write_atomic(&dir.join(name), &bytes, true)?;
        self.record_on(
            actor,
            AuditAction::Draft,
            &record,
            Outcome::Succeeded,
            vec![("sha256", sha256_hex(&bytes)), ("file", shown)],
        )
        .await?;
        self.index_documents(std::slice::from_ref(&record));
        Ok(record)
    }

    /// The current working copy of a document in the outgoing flow (`None` when it has
    /// none: not an electronic draft, or archived).
    pub(crate) async fn working_copy(&self, record: &DocumentRecord) -> AppResult<Option<Working>> {
        let Some(id) = record.id else {
            return Ok(None);
        };
        if record.archive_dir.is_some() || !record.electronic {
            return Ok(None);
        }
        let dir = self.draft_dir(id);
        let Some(draft) = fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.file_stem().is_some_and(|s| s == "draft") && p.is_file())
        }) else {
            return Ok(None);
        };
        let is_pdf = draft.extension().is_some_and(|e| e == "pdf");
        let history = self.archive().history(id).await?;
        let version = history
            .iter()
            .rev()
            .filter(|h| h.event == Event::LeaderSign.key() || h.event == Event::SealSign.key())
            .find_map(|h| {
                h.note
                    .split("sha256 ")
                    .nth(1)
                    .map(|rest| rest.chars().take(64).collect::<String>())
            });
        let working = match (version, is_pdf) {
            (None, _) => Working {
                sha: kyso_store::sha256_file(&draft)?.0,
                content: draft,
                signature: None,
            },
            (Some(sha), true) => Working {
                content: dir.join(format!("{sha}.pdf")),
                signature: None,
                sha,
            },
            (Some(sha), false) => Working {
                content: draft,
                signature: Some(dir.join(format!("{sha}.p7s"))),
                sha,
            },
        };
        let present =
            working.content.is_file() && working.signature.as_ref().is_none_or(|p| p.is_file());
        Ok(present.then_some(working))
    }

    /// The file a reader downloads: the archived original, else the working copy.
    pub async fn current_file(&self, actor: &Actor, id: i64) -> AppResult<(PathBuf, String)> {
        self.allow(actor, Action::ViewDocuments, "documents")
            .await?;
        let record = self.document_record(actor, id).await?;
        if let Some(path) = self.archive().original_path(&record) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "document".into());
            return Ok((path, name));
        }
        match self.working_copy(&record).await? {
            Some(w) => {
                let ext = w
                    .content
                    .extension()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "bin".into());
                Ok((w.content, format!("{id}-{}.{ext}", record.state.key())))
            }
            None => Err(AppError::not_found(
                format!("văn bản {id} không có tệp điện tử"),
                format!("document {id} has no electronic file"),
            )),
        }
    }

    /// Checks that `actor` may make the `role` signature on `record`, now: the step's
    /// role, the state, and for the seal the device's custody. Returns the device
    /// (seal). Refusals are recorded.
    async fn may_sign(
        &self,
        actor: &Actor,
        record: &DocumentRecord,
        role: SigningRole,
        device: Option<&str>,
        certificate: Option<&Certificate>,
    ) -> AppResult<Option<kyso_office::Device>> {
        self.allow(actor, Action::Advance(role.event()), &object(record))
            .await?;
        if record.state != DocState::Outgoing(role.needs()) {
            return Err(state_error(record, role.needs()));
        }
        kyso_office::check_not_secret(record.secrecy)?;
        match role {
            SigningRole::Leader => {
                // A leader with a registered certificate signs with that one.
                if let (Some(user), Some(cert)) = (actor.user(), certificate)
                    && let Some(registered) = &user.certificate
                {
                    let given = hex::encode(cert.to_der().map_err(AppError::internal)?);
                    if &given != registered {
                        return Err(AppError::new(
                            Kind::Forbidden,
                            "certificate_mismatch",
                            format!(
                                "chứng thư số ký không phải chứng thư số đã đăng ký của {}",
                                user.name
                            ),
                            format!(
                                "the signing certificate is not the one registered for {}",
                                user.name
                            ),
                        ));
                    }
                }
                Ok(None)
            }
            SigningRole::Seal => {
                let devices = self.archive().devices(actor.agency()).await?;
                let chosen: Vec<&kyso_office::Device> = devices
                    .iter()
                    .filter(|d| match (device, certificate) {
                        (Some(serial), _) => d.serial == serial,
                        (None, Some(cert)) => cert
                            .to_der()
                            .map(|der| hex::encode(der) == d.certificate)
                            .unwrap_or(false),
                        (None, None) => true,
                    })
                    .collect();
                let device = match chosen.as_slice() {
                    [one] => (*one).clone(),
                    [] => {
                        return Err(AppError::new(
                            Kind::Forbidden,
                            "not_agency_device",
                            "không có thiết bị ký số của cơ quan tương ứng: con dấu điện tử phải ký bằng thiết bị đã đăng ký",
                            "no matching agency device: the seal signature is made with a registered device",
                        ));
                    }
                    _ => {
                        return Err(AppError::invalid(
                            "device_ambiguous",
                            "cơ quan có nhiều thiết bị ký số: hãy chỉ định thiết bị",
                            "the agency has several devices: name one",
                        ));
                    }
                };
                if let Some(cert) = certificate {
                    let der = hex::encode(cert.to_der().map_err(AppError::internal)?);
                    if der != device.certificate {
                        return Err(AppError::new(
                            Kind::Forbidden,
                            "not_agency_device",
                            format!(
                                "chứng thư số ký không phải chứng thư số của thiết bị {}",
                                device.serial
                            ),
                            format!(
                                "the signing certificate is not the one of device {}",
                                device.serial
                            ),
                        ));
                    }
                }
                self.allow(actor, Action::SignWithDevice(&device), &device.serial)
                    .await?;
                Ok(Some(device))
            }
        }
    }

    fn image_for(
        &self,
        actor: &Actor,
        role: SigningRole,
        device: Option<&kyso_office::Device>,
        given: Option<Vec<u8>>,
    ) -> AppResult<Vec<u8>> {
        if let Some(image) = given {
            if image.len() > MAX_IMAGE {
                return Err(AppError::new(
                    Kind::TooLarge,
                    "too_large",
                    "ảnh chữ ký quá lớn",
                    "the signature image is too large",
                ));
            }
            return Ok(image);
        }
        let path = match (role, device, actor.user()) {
            (SigningRole::Seal, Some(d), _) => device_dir(self.data(), &d.serial).join("seal.png"),
            (SigningRole::Leader, _, Some(user)) => self.user_image_path(&user.agency, &user.name),
            _ => PathBuf::new(),
        };
        fs::read(&path).map_err(|_| {
            AppError::invalid(
                "no_image",
                match role {
                    SigningRole::Leader => "chưa có ảnh chữ ký: gửi kèm ảnh (PNG) hoặc đăng ký ảnh chữ ký cho người dùng",
                    SigningRole::Seal => "chưa có ảnh con dấu của thiết bị: đăng ký thiết bị với ảnh con dấu (PNG)",
                },
                match role {
                    SigningRole::Leader => "no signature image: send one (PNG) or register one for the user",
                    SigningRole::Seal => "the device has no seal image: register it with its seal image (PNG)",
                },
            )
        })
    }

    /// How the `role` signature on `record` looks: the Decree 30 appearance and reason.
    fn outgoing_look(record: &DocumentRecord, role: SigningRole) -> PdfLook {
        PdfLook {
            role: role.pades(),
            anchor: None,
            reason: match role {
                SigningRole::Leader => "Ký duyệt văn bản".to_string(),
                SigningRole::Seal => match record.metadata.number_notation() {
                    Some(number) => format!(
                        "Phát hành văn bản {number}, ngày {}",
                        record
                            .metadata
                            .issued_date
                            .map(|d| format!(
                                "{:02}/{:02}/{}",
                                d.day(),
                                u8::from(d.month()),
                                d.year()
                            ))
                            .unwrap_or_default()
                    ),
                    None => "Phát hành văn bản".to_string(),
                },
            },
        }
    }

    /// Two-step signing, step one: prepares the `role` signature of document `id` with
    /// the given certificate and returns what its key must sign.
    pub async fn start_signing(
        &self,
        actor: &Actor,
        id: i64,
        start: SigningStart,
    ) -> AppResult<SigningTicket> {
        let record = self.document_record(actor, id).await?;
        // Authorise before looking at what was sent.
        self.allow(actor, Action::Advance(start.role.event()), &object(&record))
            .await?;
        let mut certificates = parse_certificates(&start.certificates)?;
        if certificates.len() == 1 {
            // A token often gives only the signer's certificate (kyso agent's
            // GetCertInfo does): its issuers are fetched from its AIA caIssuers, so that
            // the signature carries the chain a verifier needs.
            let fetcher = self.fetcher_arc();
            certificates = tokio::task::spawn_blocking(move || {
                let mut chain = certificates;
                let _warnings = crate::trust::complete_chain(&mut chain, fetcher.as_ref());
                chain
            })
            .await
            .map_err(AppError::internal)?;
        }
        let device = self
            .may_sign(actor, &record, start.role, None, certificates.first())
            .await?;
        let working = self
            .working_copy(&record)
            .await?
            .ok_or_else(|| no_working_copy(id))?;
        let image = if working.is_pdf() {
            self.image_for(actor, start.role, device.as_ref(), start.image)?
        } else {
            Vec::new()
        };
        let algorithm = key_algorithm(&certificates[0], start.pss)?;
        let job = SigningJob {
            working,
            look: Self::outgoing_look(&record, start.role),
            certificates,
            image,
            time: self.now(),
            algorithm,
        };
        let common = common_name(&job.certificates[0]);
        let to_sign = self
            .start_signing_session(
                job,
                &self.draft_dir(id).join("sessions"),
                format!("document:{id}"),
                actor,
                start.role.key(),
                start.pss,
                device.as_ref().map(|d| d.serial.clone()),
            )
            .await?;
        self.record_on(
            actor,
            AuditAction::SigningStart,
            &record,
            Outcome::Succeeded,
            vec![
                ("role", start.role.key().to_string()),
                ("certificate", common),
            ],
        )
        .await?;
        Ok(SigningTicket {
            document: id,
            role: start.role,
            to_sign,
        })
    }

    /// Two-step signing, step one for any working copy: prepares `job` (off the async
    /// threads), keeps the session in `dir` and returns what the key must sign.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call per two-step flow, each named"
    )]
    pub(crate) async fn start_signing_session(
        &self,
        job: SigningJob,
        dir: &std::path::Path,
        subject: String,
        actor: &Actor,
        role: &str,
        pss: bool,
        device: Option<String>,
    ) -> AppResult<ToBeSigned> {
        let now = job.time;
        let base = job.working.sha.clone();
        let is_pdf = job.working.is_pdf();
        let algorithm = job.algorithm;
        let (job, prepared) = tokio::task::spawn_blocking(move || {
            let prepared = job.prepare();
            (job, prepared)
        })
        .await
        .map_err(AppError::internal)?;
        let prepared = prepared?;
        let tbs = prepared.to_be_signed().to_vec();
        let placed = prepared.placed();
        let expires = now + time::Duration::minutes(SESSION_MINUTES);
        let certificates = job
            .certificates
            .iter()
            .map(|c| c.to_der().map(|der| B64.encode(der)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::internal)?;
        let session = SessionFile {
            subject,
            actor: actor.audit_name(),
            role: role.to_string(),
            base,
            certificates,
            image: B64.encode(&job.image),
            pss,
            signing_time: now.unix_timestamp(),
            expires: expires.unix_timestamp(),
            to_be_signed: sha256_hex(&tbs),
            device,
        };
        let token = crate::sessions::secret().to_string();
        fs::create_dir_all(dir).map_err(|e| io_error("signing sessions", e))?;
        purge_sessions(dir, now);
        let json = serde_json::to_vec(&session).map_err(AppError::internal)?;
        kyso_store::write_atomic(&session_file(dir, &token), &json, true)?;
        let digest = algorithm.digest();
        Ok(ToBeSigned {
            session: token,
            format: if is_pdf { "pades" } else { "cades" },
            to_be_signed: B64.encode(&tbs),
            digest: hex::encode(digest.digest(&tbs)),
            digest_algorithm: digest.name(),
            signature_algorithm: algorithm.name(),
            signing_time: now,
            expires_at: expires,
            page: placed.as_ref().map(|p| p.page),
            rect: placed.map(|p| p.rect),
        })
    }

    /// Two-step signing, step two for any working copy: the live session `token` of
    /// `subject` in `dir`, started by `actor` (anything else: no such session), and its
    /// file (removed once the signature is kept).
    pub(crate) fn open_signing_session(
        &self,
        dir: &std::path::Path,
        token: &str,
        subject: &str,
        actor: &Actor,
        signature: &[u8],
    ) -> AppResult<(SessionFile, PathBuf)> {
        let path = session_file(dir, token);
        let session: SessionFile = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(lapsed_session)?;
        if session.subject != subject || session.actor != actor.audit_name() {
            return Err(lapsed_session());
        }
        if self.now().unix_timestamp() > session.expires {
            let _ = fs::remove_file(&path);
            return Err(lapsed_session());
        }
        if signature.is_empty() || signature.len() > MAX_SIGNATURE {
            return Err(AppError::invalid(
                "signature",
                "giá trị chữ ký rỗng hoặc quá lớn",
                "the signature value is empty or too large",
            ));
        }
        Ok((session, path))
    }

    /// Two-step signing, step two: the raw signature value for the session's
    /// to-be-signed bytes. The signature is assembled into the document (PAdES) or its
    /// detached `.p7s` (CAdES; the seal is added beside the leader's signature), which is
    /// verified as a whole; only a valid result is kept and moves the document on.
    pub async fn finish_signing(
        &self,
        actor: &Actor,
        id: i64,
        token: &str,
        signature: Vec<u8>,
    ) -> AppResult<DocumentRecord> {
        let record = self.document_record(actor, id).await?;
        // Only those who may make one of the flow's signatures get further.
        if crate::authorize(actor, Action::Advance(Event::LeaderSign)).is_err() {
            self.allow(actor, Action::Advance(Event::SealSign), &object(&record))
                .await?;
        }
        let (session, path) = self.open_signing_session(
            &self.draft_dir(id).join("sessions"),
            token,
            &format!("document:{id}"),
            actor,
            &signature,
        )?;
        let role = SigningRole::from_key(&session.role).ok_or_else(lapsed_session)?;
        let certificates = session.certificates()?;
        let device = self
            .may_sign(
                actor,
                &record,
                role,
                session.device.as_deref(),
                certificates.first(),
            )
            .await?;
        let working = self
            .working_copy(&record)
            .await?
            .ok_or_else(lapsed_session)?;
        if working.sha != session.base {
            return Err(AppError::new(
                Kind::Conflict,
                "document_changed",
                "văn bản đã thay đổi từ khi bắt đầu phiên ký: hãy ký lại",
                "the document changed since the signing session started: sign again",
            ));
        }
        let job = session.job(working.clone(), Self::outgoing_look(&record, role))?;
        let signer = common_name(&job.certificates[0]);
        let expected = session.to_be_signed.clone();
        let signed = tokio::task::spawn_blocking(move || job.finish(&expected, signature))
            .await
            .map_err(AppError::internal)??;
        let record = self
            .keep_signed(
                actor,
                record,
                &working,
                role,
                signed,
                &signer,
                device.as_ref(),
            )
            .await?;
        let _ = fs::remove_file(&path);
        Ok(record)
    }

    /// The agency seal made on the server with the agency device attached to it: only
    /// its current custodian, with the PIN given for this request.
    pub async fn seal(
        &self,
        actor: &Actor,
        id: i64,
        request: SealRequest,
    ) -> AppResult<DocumentRecord> {
        let record = self.document_record(actor, id).await?;
        let device = self
            .may_sign(
                actor,
                &record,
                SigningRole::Seal,
                request.device.as_deref(),
                None,
            )
            .await?
            .ok_or_else(|| AppError::internal("a seal without a device"))?;
        let module = self.pkcs11_module().ok_or_else(|| {
            AppError::new(
                Kind::Conflict,
                "no_device_module",
                "máy chủ chưa được cấu hình thư viện PKCS#11 của thiết bị ký số (--pkcs11)",
                "the server has no PKCS#11 module configured for the signing device (--pkcs11)",
            )
        })?;
        let working = self
            .working_copy(&record)
            .await?
            .ok_or_else(|| no_working_copy(id))?;
        let image = if working.is_pdf() {
            self.image_for(actor, SigningRole::Seal, Some(&device), None)?
        } else {
            Vec::new()
        };
        let certificate = device.certificate()?;
        let now = self.now();
        let signed = {
            let (working, record, device) = (working.clone(), record.clone(), device.clone());
            let fetcher = self.fetcher_arc();
            tokio::task::spawn_blocking(move || -> AppResult<Signed> {
                let device_error = |e: kyso_pkcs11::Pkcs11Error| {
                    AppError::new(
                        Kind::Forbidden,
                        "device",
                        format!("thiết bị ký số {}: {e}", device.serial),
                        format!("signing device {}: {e}", device.serial),
                    )
                };
                let module = kyso_pkcs11::Module::open(&module).map_err(device_error)?;
                let token = module
                    .find_token(Some(&device.serial), None)
                    .map_err(device_error)?;
                let session = module
                    .login(&token, &request.pin, request.allow_final_try)
                    .map_err(device_error)?;
                let key_id = hex::decode(&device.key_id).map_err(AppError::internal)?;
                let key = session
                    .key(
                        &kyso_pkcs11::KeySelector::Id(key_id),
                        Some(certificate.clone()),
                        false,
                    )
                    .map_err(device_error)?;
                // Devices often hold only their own certificate: embed the chain so
                // that a verifier holding only the root builds the path.
                let mut certificates = vec![certificate];
                let _ = crate::trust::complete_chain(&mut certificates, fetcher.as_ref());
                let job = SigningJob {
                    working,
                    look: Self::outgoing_look(&record, SigningRole::Seal),
                    certificates,
                    image,
                    time: now,
                    algorithm: key.algorithm(),
                };
                job.sign_with(&key).map_err(|mut e| {
                    if e.code == "device" {
                        e.vi = format!("thiết bị ký số {}: {}", device.serial, e.vi);
                        e.en = format!("signing device {}: {}", device.serial, e.en);
                    }
                    e
                })
            })
            .await
            .map_err(AppError::internal)?
        };
        let signed = match signed {
            Ok(signed) => signed,
            Err(e) => {
                self.record(
                    AuditEvent::new(
                        actor.audit_name(),
                        AuditAction::Sign,
                        device.serial.clone(),
                        Outcome::Failed,
                    )
                    .with("reason", e.code.clone())
                    .with("document", object(&record)),
                )
                .await?;
                return Err(e);
            }
        };
        let cn = device
            .certificate()
            .map(|c| common_name(&c))
            .unwrap_or_default();
        self.keep_signed(
            actor,
            record,
            &working,
            SigningRole::Seal,
            signed,
            &cn,
            Some(&device),
        )
        .await
    }

    /// Verifies a newly signed version with the installation's trust (off the async
    /// threads; `content`: the signed content of a detached `.p7s`). Returns the version
    /// and, when it is not plainly valid, its verdict and reasons.
    pub(crate) async fn verify_new_version(
        &self,
        signed: Signed,
        content: PathBuf,
    ) -> AppResult<(Signed, Option<(String, String)>)> {
        let app = self.clone();
        let (verification, signed) = tokio::task::spawn_blocking(move || -> AppResult<_> {
            let settings = crate::verify::Settings::installation(app.data(), app.now())?;
            let v = match &signed {
                Signed::Pdf(pdf) => crate::verify::verify_pdf(app.fetcher(), pdf, &settings)?,
                Signed::Cms(p7s) => crate::verify::verify_detached(
                    app.fetcher(),
                    crate::verify::Content::File(&content),
                    Some(p7s),
                    "signature.p7s",
                    &settings,
                )?,
            };
            Ok((v, signed))
        })
        .await
        .map_err(AppError::internal)??;
        let problem = (!verification.is_valid()).then(|| {
            (
                verification.verdict_key(),
                crate::verify::reason_summary(&verification),
            )
        });
        Ok((signed, problem))
    }

    /// Verifies a newly signed version, keeps it, and moves the document on.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call per signing path, each named"
    )]
    async fn keep_signed(
        &self,
        actor: &Actor,
        record: DocumentRecord,
        working: &Working,
        role: SigningRole,
        signed: Signed,
        signer: &str,
        device: Option<&kyso_office::Device>,
    ) -> AppResult<DocumentRecord> {
        let id = record.id.unwrap_or_default();
        let (signed, problem) = self
            .verify_new_version(signed, working.content.clone())
            .await?;
        if let Some((verdict, reasons)) = problem {
            self.record_on(
                actor,
                AuditAction::Document(role.event()),
                &record,
                Outcome::Failed,
                vec![("verdict", verdict.clone()), ("reasons", reasons.clone())],
            )
            .await?;
            return Err(AppError::new(
                Kind::Conflict,
                "signed_not_valid",
                format!(
                    "văn bản sau khi ký không được xác nhận hợp lệ ({verdict}: {reasons}); chữ ký không được lưu"
                ),
                format!(
                    "the signed document does not verify as valid ({verdict}: {reasons}); the signature was not kept"
                ),
            ));
        }
        let (bytes, ext) = match &signed {
            Signed::Pdf(b) => (b, "pdf"),
            Signed::Cms(b) => (b, "p7s"),
        };
        let sha = sha256_hex(bytes);
        kyso_store::write_atomic(
            &self.draft_dir(id).join(format!("{sha}.{ext}")),
            bytes,
            true,
        )?;
        let (now, today) = self.now_and_today();
        let updated = self
            .office()
            .advance(
                id,
                Step {
                    event: role.event(),
                    note: format!("{signer}; sha256 {sha}"),
                    template: None,
                    advisory_body: None,
                    at: now,
                    date: today,
                },
            )
            .await?;
        let mut extra = vec![("signer", signer.to_string()), ("sha256", sha)];
        if let Some(d) = device {
            extra.push(("device", d.serial.clone()));
        }
        self.record_on(
            actor,
            AuditAction::Document(role.event()),
            &updated,
            Outcome::Succeeded,
            extra,
        )
        .await?;
        if let Some(d) = device {
            self.record(
                AuditEvent::new(
                    actor.audit_name(),
                    AuditAction::Sign,
                    d.serial.clone(),
                    Outcome::Succeeded,
                )
                .with("document", object(&updated)),
            )
            .await?;
        }
        self.index_documents(std::slice::from_ref(&updated));
        Ok(updated)
    }

    /// Before an electronic document is issued: its sealed working copy becomes the
    /// archived original (verified once more, with the report kept beside it).
    pub(crate) async fn archive_working_copy(&self, record: &DocumentRecord) -> AppResult<()> {
        let id = record.id.unwrap_or_default();
        if record.archive_dir.is_some() || !record.electronic {
            return Ok(());
        }
        let working = self.working_copy(record).await?.ok_or_else(|| {
            AppError::not_found(
                format!("văn bản {id} không có bản đã ký để phát hành"),
                format!("document {id} has no signed copy to issue"),
            )
        })?;
        let verification = {
            let (app, w) = (self.clone(), working.clone());
            tokio::task::spawn_blocking(move || {
                app.verify_and_capture(&w.content, w.is_pdf(), w.signature.as_deref(), false)
            })
            .await
            .map_err(AppError::internal)??
        };
        let (verification, material) = verification;
        let mut staged = self
            .archive()
            .stage(
                &working.content,
                working.signature.as_deref(),
                Some(verification.to_json()),
            )
            .await?;
        staged.set_material(material);
        self.archive()
            .attach_original(id, staged, "phát hành / issued", self.now())
            .await?;
        Ok(())
    }

    /// After issuing: the working copies are no longer needed.
    pub(crate) fn drop_working_copies(&self, id: i64) {
        let _ = fs::remove_dir_all(self.draft_dir(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_map() {
        assert_eq!(SigningRole::from_key("leader"), Some(SigningRole::Leader));
        assert_eq!(SigningRole::from_key("seal_sign"), Some(SigningRole::Seal));
        assert_eq!(SigningRole::from_key("clerk"), None);
        assert_eq!(SigningRole::Seal.needs(), OutgoingState::Numbered);
    }

    #[test]
    fn lapsed_sessions_are_purged_and_files_being_written_kept() {
        let dir = tempfile::tempdir().unwrap();
        let session = |expires: i64| SessionFile {
            subject: "document:1".into(),
            actor: "lanhdao".into(),
            role: "leader".into(),
            base: String::new(),
            certificates: Vec::new(),
            image: String::new(),
            pss: false,
            signing_time: 0,
            expires,
            to_be_signed: String::new(),
            device: None,
        };
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let write = |name: &str, bytes: Vec<u8>| fs::write(dir.path().join(name), bytes).unwrap();
        write("old.json", serde_json::to_vec(&session(999_999)).unwrap());
        write(
            "live.json",
            serde_json::to_vec(&session(1_000_100)).unwrap(),
        );
        write("broken.json", b"{".to_vec());
        write(".x.json.tmp-1-2", b"{".to_vec());
        purge_sessions(dir.path(), now);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".x.json.tmp-1-2", "live.json"]);
    }

    #[test]
    fn draft_extensions_are_tame() {
        assert_eq!(draft_extension("bang-tong-hop.XLSX"), "xlsx");
        assert_eq!(draft_extension("a.tar.gz"), "gz");
        assert_eq!(draft_extension("x.p7s"), "bin");
        assert_eq!(draft_extension("../../etc/passwd"), "bin");
        assert_eq!(draft_extension("a.ph p"), "bin");
        assert_eq!(draft_extension("noext"), "bin");
    }

    #[test]
    fn certificates_are_bounded_and_parsed() {
        assert_eq!(parse_certificates(&[]).unwrap_err().code, "certificates");
        assert_eq!(
            parse_certificates(&[vec![0x30, 0x03, 1, 2, 3]])
                .unwrap_err()
                .code,
            "certificates"
        );
        let many = vec![vec![0u8; 4]; MAX_CERTIFICATES + 1];
        assert_eq!(parse_certificates(&many).unwrap_err().code, "certificates");
    }
}
