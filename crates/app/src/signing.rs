//! Signing files on this machine with a key the front end opened (keystore entry,
//! PKCS#12 file, token): detached CAdES (`.p7s`, B-B / B-T, co-signing) for any file,
//! PAdES (B-B / B-T / B-LT / B-LTA) with the Decree 30 appearances for PDFs, and the
//! raising of a signed PDF to B-LT / B-LTA. Plain functions: no database, no
//! authorisation (the custody guard of an agency device is the front end's call to
//! [`crate::App::permit_device_signing`]).
//!
//! The network is reached only through a [`Fetcher`]: time-stamps (RFC 3161 POST to the
//! TSA), CRLs from the certificates' distribution points and OCSP responses from their
//! responders. Also here: the keystore (`<data>/keys`, encrypted PKCS#8 + chain), where
//! the front ends' software keys and the built-in CA's keys live.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use der::{Decode, Encode};
use kyso_cades::sign::{SignRequest, add_signature_timestamp, cosign, signature_value};
use kyso_cades::tsp;
use kyso_pades::sign::{
    self as pades, DocumentTimestampOptions, InfoLine, PdfSignRequest, Placed, Placement, Role,
    ValidationData,
};
use kyso_signer::keystore::{self, ScryptCost};
use kyso_signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SoftKey};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::{AppError, AppResult, Fetcher, Kind};

// ----------------------------------------------------------------------------------
// Files
// ----------------------------------------------------------------------------------

/// `cannot read PATH: why`.
pub(crate) fn read_error(path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::new(
        Kind::NotFound,
        "cannot_read",
        format!("không đọc được {}: {e}", path.display()),
        format!("cannot read {}: {e}", path.display()),
    )
}

/// Refuses an output path a person named whose folder does not exist or that is a
/// folder: checked before signing, so nothing is signed for nothing and no folder is
/// created.
pub(crate) fn check_out(path: &Path) -> AppResult<()> {
    kyso_store::check_out(path).map_err(|e| {
        let text = match e {
            kyso_office::StoreError::Io(why) => why,
            other => other.to_string(),
        };
        let (vi, en) = text.split_once(" / ").unwrap_or((&text, &text));
        AppError::invalid("bad_output", vi.to_string(), en.to_string())
    })
}

/// Write a file atomically (temporary file, fsync, rename); `private` = owner only.
pub(crate) fn write_file(path: &Path, bytes: &[u8], private: bool) -> AppResult<()> {
    kyso_store::write_atomic(path, bytes, private).map_err(|e| {
        let why = match e {
            kyso_office::StoreError::Io(why) => why,
            other => other.to_string(),
        };
        AppError::new(
            Kind::Unavailable,
            "cannot_write",
            format!("không ghi được tệp: {why}"),
            format!("cannot write: {why}"),
        )
    })
}

/// Certificates as concatenated PEM blocks.
pub fn certificates_to_pem(certs: &[Certificate]) -> AppResult<String> {
    let mut out = String::new();
    for c in certs {
        let der = c.to_der().map_err(AppError::internal)?;
        out.push_str(
            &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
                .map_err(AppError::internal)?,
        );
    }
    Ok(out)
}

// ----------------------------------------------------------------------------------
// The keystore
// ----------------------------------------------------------------------------------

/// A keystore directory: `<name>.key.pem` (encrypted PKCS#8, PBES2 scrypt, owner-only)
/// and `<name>.chain.pem` (the certificate first, then its issuers).
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keystore of a data directory: `<data>/keys`.
    pub fn new(data: &Path) -> Self {
        Self {
            dir: data.join("keys"),
        }
    }

    /// A keystore in `dir` itself (the CA directory keeps its keys so).
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn paths(&self, name: &str) -> AppResult<(PathBuf, PathBuf)> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            return Err(AppError::invalid(
                "key_name",
                format!("tên khóa {name:?} chỉ được dùng chữ cái, chữ số, '-', '_' và '.'"),
                format!(
                    "keystore entry name {name:?} must use only letters, digits, '-', '_' and '.'"
                ),
            ));
        }
        Ok((
            self.dir.join(format!("{name}.key.pem")),
            self.dir.join(format!("{name}.chain.pem")),
        ))
    }

    /// Fails unless `name` is a valid name of no entry yet.
    pub(crate) fn check_new(&self, name: &str) -> AppResult<()> {
        let (key_path, _) = self.paths(name)?;
        if key_path.exists() {
            return Err(AppError::new(
                Kind::Conflict,
                "key_exists",
                format!("khóa {name} đã có ({})", key_path.display()),
                format!(
                    "keystore entry {name} already exists ({})",
                    key_path.display()
                ),
            ));
        }
        Ok(())
    }

    /// Saves a new entry; an existing one is never replaced.
    pub fn save(
        &self,
        name: &str,
        pkcs8: &[u8],
        chain: &[Certificate],
        passphrase: &str,
        cost: ScryptCost,
    ) -> AppResult<()> {
        self.check_new(name)?;
        let (key_path, chain_path) = self.paths(name)?;
        let pem = keystore::encrypt_pem(pkcs8, passphrase.as_bytes(), cost)
            .map_err(AppError::internal)?;
        write_file(&chain_path, certificates_to_pem(chain)?.as_bytes(), false)?;
        write_file(&key_path, pem.as_bytes(), true)?;
        Ok(())
    }

    /// Opens entry `name` with its passphrase: the key and its chain.
    pub fn load(
        &self,
        name: &str,
        passphrase: &str,
        algorithm: Option<SignatureAlgorithm>,
    ) -> AppResult<(SoftKey, Vec<Certificate>)> {
        let (key_path, chain_path) = self.paths(name)?;
        let encrypted = fs::read(&key_path).map_err(|e| {
            AppError::not_found(
                format!("không có khóa {name} ({}): {e}", key_path.display()),
                format!("no keystore entry {name} ({}): {e}", key_path.display()),
            )
        })?;
        let pkcs8 = keystore::decrypt(&encrypted, passphrase.as_bytes()).map_err(|e| {
            AppError::new(
                Kind::Unauthenticated,
                "cannot_open_key",
                format!("không mở được khóa {name}: {e}"),
                format!("cannot open keystore entry {name}: {e}"),
            )
        })?;
        let key = SoftKey::from_pkcs8_der(&pkcs8, algorithm).map_err(|e| {
            AppError::invalid(
                "cannot_open_key",
                format!("khóa {name} không dùng được: {e}"),
                format!("keystore entry {name} is not usable: {e}"),
            )
        })?;
        let chain = crate::trust::read_certificates(&chain_path)?;
        Ok((key, chain))
    }

    /// The chain of entry `name`.
    pub fn chain(&self, name: &str) -> AppResult<Vec<Certificate>> {
        let (_, chain_path) = self.paths(name)?;
        crate::trust::read_certificates(&chain_path)
    }

    /// The entries' names, sorted.
    pub fn list(&self) -> AppResult<Vec<String>> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            if let Some(n) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".key.pem"))
            {
                out.push(n.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

// ----------------------------------------------------------------------------------
// Shared: time-stamps, CRLs, the signer's validity
// ----------------------------------------------------------------------------------

/// An RFC 3161 token for `imprint` from the TSA at `url` (a fresh nonce, the TSA's
/// certificate requested).
fn timestamp_token(
    fetcher: &dyn Fetcher,
    url: &str,
    alg: DigestAlgorithm,
    imprint: &[u8],
) -> Result<Vec<u8>, String> {
    let nonce: u64 = rand::random::<u64>() >> 1;
    let req = tsp::request(alg, imprint, Some(nonce), true).map_err(|e| e.to_string())?;
    let resp = fetcher
        .post(url, "application/timestamp-query", &req)
        .map_err(|e| format!("time-stamp authority {url} did not answer: {e}"))?;
    tsp::token_from_response(&resp, imprint, Some(nonce)).map_err(|e| e.to_string())
}

fn timestamp_error(e: String) -> AppError {
    AppError::new(
        Kind::Unavailable,
        "timestamp_failed",
        format!("không lấy được dấu thời gian: {e}"),
        e,
    )
}

/// The CRLs named by the distribution points of `chain`, fetched (each once);
/// unreachable ones become warnings.
pub fn fetch_crls(
    chain: &[Certificate],
    fetcher: &dyn Fetcher,
    warnings: &mut Vec<String>,
) -> Vec<Vec<u8>> {
    let mut crls = Vec::new();
    for cert in chain {
        for url in kyso_cades::verify::crl_urls(cert) {
            match fetcher.get(&url) {
                Ok(c) if !crls.contains(&c) => crls.push(c),
                Ok(_) => {}
                Err(e) => warnings.push(format!("could not fetch CRL {url}: {e}")),
            }
        }
    }
    crls
}

/// A warning when `certificate` is not valid at `at`.
fn validity_warning(certificate: &Certificate, at: OffsetDateTime) -> Option<String> {
    let validity = certificate.tbs_certificate().validity();
    let (from, to) = (
        crate::ca::time_of(&validity.not_before),
        crate::ca::time_of(&validity.not_after),
    );
    (at < from || at > to).then(|| {
        format!(
            "the certificate is not valid now (valid {} to {}): verifiers will reject this signature / chứng thư số không còn hiệu lực",
            crate::ca::rfc3339(from),
            crate::ca::rfc3339(to)
        )
    })
}

/// `chain` must start with the signer's certificate.
fn signer_certificate(chain: &[Certificate]) -> AppResult<&Certificate> {
    chain.first().ok_or_else(|| {
        AppError::invalid(
            "no_certificate",
            "không có chứng thư số cho khóa",
            "no certificate for the key",
        )
    })
}

/// The output must not be the input (by any name).
fn refuse_overwriting_input(input: &Path, out: &Path) -> AppResult<()> {
    let input_abs = fs::canonicalize(input).map_err(|e| read_error(input, e))?;
    if fs::canonicalize(out).ok().as_deref() == Some(input_abs.as_path()) {
        return Err(AppError::invalid(
            "output_is_input",
            format!("tệp kết quả {} sẽ ghi đè tệp đầu vào", out.display()),
            format!("the output {} would overwrite the input", out.display()),
        ));
    }
    Ok(())
}

fn output_exists(out: &Path, en: String) -> AppError {
    AppError::new(
        Kind::Conflict,
        "output_exists",
        format!("{} đã có", out.display()),
        en,
    )
}

fn cades_error(e: kyso_cades::CadesError) -> AppError {
    AppError::invalid(
        "cannot_sign",
        format!("không tạo được chữ ký CAdES: {e}"),
        format!("cannot make the CAdES signature: {e}"),
    )
}

fn pades_error(e: kyso_pades::sign::SignError) -> AppError {
    AppError::invalid(
        "cannot_sign",
        format!("không ký được tệp PDF: {e}"),
        format!("cannot sign the PDF: {e}"),
    )
}

// ----------------------------------------------------------------------------------
// Detached CAdES
// ----------------------------------------------------------------------------------

/// A detached CAdES signing of a file.
#[derive(Debug, Clone)]
pub struct DetachedRequest<'a> {
    /// The file signed (streamed, never loaded whole).
    pub file: &'a Path,
    /// Where the `.p7s` goes (default: the `cosign` file, else `FILE.p7s`).
    pub out: Option<PathBuf>,
    /// An existing `.p7s` over the same file to add this signature to.
    pub cosign: Option<&'a Path>,
    /// Time-stamp authority (B-T).
    pub tsa: Option<&'a str>,
    /// Embed the CRLs of the chain.
    pub embed_revocation: bool,
    /// Replace an existing output.
    pub force: bool,
}

/// What a detached signing produced.
#[derive(Debug, Clone)]
pub struct DetachedSigned {
    /// The `.p7s` written.
    pub out: PathBuf,
    /// The claimed signing time.
    pub signing_time: OffsetDateTime,
    /// Whether a signature time-stamp was added (B-T).
    pub timestamped: bool,
    /// How many CRLs were embedded.
    pub embedded_crls: usize,
    /// Notes (unreachable CRLs, a certificate not valid now).
    pub warnings: Vec<String>,
}

/// Digest a file by streaming it.
pub fn digest_file(path: &Path, digest: DigestAlgorithm) -> AppResult<Vec<u8>> {
    let mut f = fs::File::open(path).map_err(|e| read_error(path, e))?;
    let mut hasher = digest.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| read_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// Signs `request.file` as detached CAdES with `signer`, whose certificate is
/// `chain[0]` (the rest is embedded); the signing time is `now` (whole seconds).
/// A new `.p7s`, or a co-signature added to an existing one; with a TSA, the
/// signature is time-stamped (B-T).
pub fn sign_detached(
    signer: &dyn Signer,
    chain: &[Certificate],
    request: &DetachedRequest<'_>,
    fetcher: &dyn Fetcher,
    now: OffsetDateTime,
) -> AppResult<DetachedSigned> {
    let certificate = signer_certificate(chain)?;
    let out = request
        .out
        .clone()
        .or_else(|| request.cosign.map(Path::to_path_buf))
        .unwrap_or_else(|| crate::verify::p7s_beside(request.file));
    refuse_overwriting_input(request.file, &out)?;
    check_out(&out)?;
    if out.exists() && !request.force && request.cosign.is_none_or(|c| c != out) {
        return Err(output_exists(
            &out,
            format!(
                "{} exists; use --force to replace it, or --cosign to add a signature to it",
                out.display()
            ),
        ));
    }
    let mut warnings = Vec::new();
    let message_digest = digest_file(request.file, signer.algorithm().digest())?;
    let crls = if request.embed_revocation {
        fetch_crls(chain, fetcher, &mut warnings)
    } else {
        Vec::new()
    };
    let signing_time = now.replace_nanosecond(0).unwrap_or(now);
    warnings.extend(validity_warning(certificate, signing_time));
    // Size checked before it is read (a signature file is held in memory).
    let existing = match request.cosign {
        Some(path) => Some(
            crate::verify::read_signature_file(path, crate::verify::DEFAULT_MAX_PDF_SIZE)?
                .ok_or_else(|| read_error(path, "no such file"))?,
        ),
        None => None,
    };
    let timestamped = request.tsa.is_some();
    let cms = detached_cms(
        signer,
        chain,
        &Detached {
            digest: &message_digest,
            crls: &crls,
            existing: existing.as_deref(),
            tsa: request.tsa,
            signing_time,
        },
        fetcher,
    )?;
    write_file(&out, &cms, false)?;
    Ok(DetachedSigned {
        out,
        signing_time,
        timestamped,
        embedded_crls: crls.len(),
        warnings,
    })
}

/// One detached CAdES signing: the content's digest, CRLs to embed, an existing `.p7s`
/// to add the signature to, a TSA for B-T.
struct Detached<'a> {
    digest: &'a [u8],
    crls: &'a [Vec<u8>],
    existing: Option<&'a [u8]>,
    tsa: Option<&'a str>,
    signing_time: OffsetDateTime,
}

/// The `.p7s` of `d` signed by `signer` (certificate `chain[0]`, the rest embedded):
/// a new SignedData or a co-signature, time-stamped when `d.tsa` is given.
fn detached_cms(
    signer: &dyn Signer,
    chain: &[Certificate],
    d: &Detached<'_>,
    fetcher: &dyn Fetcher,
) -> AppResult<Vec<u8>> {
    let sign_request = SignRequest {
        message_digest: d.digest,
        signer_certificate: signer_certificate(chain)?,
        chain: &chain[1..],
        signing_time: Some(d.signing_time),
        content_type: None,
        crls: d.crls,
        encapsulated: None,
    };
    let (cms, signature) = match d.existing {
        Some(bytes) => cosign(bytes, signer, &sign_request).map_err(cades_error)?,
        None => {
            let cms = kyso_cades::sign(signer, &sign_request).map_err(cades_error)?;
            let sig = signature_value(&cms).map_err(cades_error)?;
            (cms, sig)
        }
    };
    match d.tsa {
        Some(url) => {
            let imprint = DigestAlgorithm::Sha256.digest(&signature);
            let token = timestamp_token(fetcher, url, DigestAlgorithm::Sha256, &imprint)
                .map_err(timestamp_error)?;
            add_signature_timestamp(&cms, &signature, &token).map_err(cades_error)
        }
        None => Ok(cms),
    }
}

/// A new detached CAdES signature (B-B, or B-T with `tsa`) over `content` held in
/// memory, by `signer` whose certificate is `chain[0]`: the `.p7s` bytes. For callers
/// that hold the file (`kyso agent`); [`sign_detached`] streams files.
pub fn sign_detached_bytes(
    signer: &dyn Signer,
    chain: &[Certificate],
    content: &[u8],
    tsa: Option<&str>,
    fetcher: &dyn Fetcher,
    now: OffsetDateTime,
) -> AppResult<Vec<u8>> {
    detached_cms(
        signer,
        chain,
        &Detached {
            digest: &signer.algorithm().digest().digest(content),
            crls: &[],
            existing: None,
            tsa,
            signing_time: now.replace_nanosecond(0).unwrap_or(now),
        },
        fetcher,
    )
}

// ----------------------------------------------------------------------------------
// PAdES
// ----------------------------------------------------------------------------------

/// Whether `path` is to be signed as a PDF: by extension, else by its `%PDF-` header
/// within the first 1024 bytes (only those are read). A file named `.pdf` that is not
/// a PDF is then refused by [`sign_pdf`] before it is read.
pub fn is_pdf(path: &Path) -> bool {
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    {
        return true;
    }
    crate::verify::sniff_pdf(path).unwrap_or(false)
}

/// PAdES baseline levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadesLevel {
    /// B-B: the signature.
    BB,
    /// B-T: with a signature time-stamp.
    BT,
    /// B-LT: B-T with the revocation data of every certificate in a DSS.
    BLt,
    /// B-LTA: B-LT with a document time-stamp over it all.
    BLta,
}

impl PadesLevel {
    /// `B-B`, `B-T`, `B-LT`, `B-LTA`.
    pub fn name(self) -> &'static str {
        match self {
            PadesLevel::BB => "B-B",
            PadesLevel::BT => "B-T",
            PadesLevel::BLt => "B-LT",
            PadesLevel::BLta => "B-LTA",
        }
    }
}

/// A PDF signing.
#[derive(Debug, Clone)]
pub struct PdfRequest<'a> {
    /// The PDF.
    pub file: &'a Path,
    /// Where the signed PDF goes (default: `doc.pdf` → `doc.signed.pdf`).
    pub out: Option<PathBuf>,
    /// Level (default: B-T with a TSA, else B-B).
    pub level: Option<PadesLevel>,
    /// Time-stamp authority (B-T and above).
    pub tsa: Option<&'a str>,
    /// Decree 30 role (default: leader with an image, else invisible).
    pub role: Option<Role>,
    /// PNG of the signature or seal (leader and seal roles).
    pub image: Option<&'a Path>,
    /// Where the signature goes.
    pub placement: Placement,
    /// The information line of attachments and copies (a copy's agency defaults to
    /// the certificate's organisation, else its common name).
    pub info: InfoLine,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Replace an existing output.
    pub force: bool,
    /// The largest PDF read, in bytes (a PDF is held in memory; default
    /// [`crate::verify::DEFAULT_MAX_PDF_SIZE`]).
    pub max_size: u64,
}

/// What a PDF signing produced.
#[derive(Debug, Clone)]
pub struct PdfSigned {
    /// The signed PDF written.
    pub out: PathBuf,
    /// The claimed signing time.
    pub signing_time: OffsetDateTime,
    /// The level reached.
    pub level: PadesLevel,
    /// Where the signature was put.
    pub placed: Placed,
    /// Notes (certificates naming no revocation location).
    pub notes: Vec<String>,
}

/// Read a PDF of at most `max` bytes into a buffer with room for the updates appended
/// (no reallocation, so a large PDF is held once). The `%PDF-` header and the size are
/// checked before the file is read ([`crate::verify::read_pdf_file`]).
fn read_pdf(path: &Path, max: u64) -> AppResult<Vec<u8>> {
    crate::verify::read_pdf_file(path, max, 4 << 20)
}

/// `doc.pdf` → `doc.signed.pdf`.
pub fn default_pdf_out(input: &Path) -> PathBuf {
    let stem = match input.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("pdf") => input.with_extension(""),
        _ => input.to_path_buf(),
    };
    PathBuf::from(format!("{}.signed.pdf", stem.display()))
}

fn needs_tsa(level: &str) -> AppError {
    AppError::invalid(
        "tsa_required",
        format!("PAdES {level} cần dịch vụ cấp dấu thời gian: hãy cho --tsa URL"),
        format!("PAdES {level} needs a time-stamp authority: give --tsa URL"),
    )
}

/// Signs `request.file` (PAdES, incremental update) with `signer`, whose certificate
/// is `chain[0]` (the rest is embedded); the signing time is `now` (whole seconds).
/// B-T and above time-stamp the signature, B-LT adds the revocation data of every
/// certificate (DSS), B-LTA a document time-stamp.
pub fn sign_pdf(
    signer: &dyn Signer,
    chain: &[Certificate],
    request: &PdfRequest<'_>,
    fetcher: &dyn Fetcher,
    now: OffsetDateTime,
) -> AppResult<PdfSigned> {
    signer_certificate(chain)?;
    let level = request.level.unwrap_or(if request.tsa.is_some() {
        PadesLevel::BT
    } else {
        PadesLevel::BB
    });
    let tsa = request.tsa;
    if level != PadesLevel::BB && tsa.is_none() {
        return Err(needs_tsa(level.name()));
    }
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| default_pdf_out(request.file));
    refuse_overwriting_input(request.file, &out)?;
    check_out(&out)?;
    if out.exists() && !request.force {
        return Err(output_exists(
            &out,
            format!("{} exists; use --force to replace it", out.display()),
        ));
    }
    let mut pdf = read_pdf(request.file, request.max_size)?;
    let image = match request.image {
        Some(p) => Some(fs::read(p).map_err(|e| read_error(p, e))?),
        None => None,
    };
    let how = PdfSigning {
        level,
        tsa,
        role: request.role,
        image: image.as_deref(),
        placement: request.placement.clone(),
        info: request.info.clone(),
        reason: request.reason.clone(),
        location: request.location.clone(),
    };
    let done = sign_pdf_bytes(signer, chain, &mut pdf, &how, fetcher, now)?;
    write_file(&out, &pdf, false)?;
    Ok(PdfSigned {
        out,
        signing_time: done.signing_time,
        level: done.level,
        placed: done.placed,
        notes: done.notes,
    })
}

/// How a PDF held in memory is signed ([`sign_pdf_bytes`]): everything of a
/// [`PdfRequest`] but the files.
#[derive(Debug, Clone)]
pub struct PdfSigning<'a> {
    /// Level (B-T and above need `tsa`).
    pub level: PadesLevel,
    /// Time-stamp authority.
    pub tsa: Option<&'a str>,
    /// Decree 30 role (default: leader with an image, else invisible).
    pub role: Option<Role>,
    /// PNG of the signature or seal (leader and seal roles).
    pub image: Option<&'a [u8]>,
    /// Where the signature goes.
    pub placement: Placement,
    /// The information line of attachments and copies.
    pub info: InfoLine,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
}

/// What signing a PDF in memory did.
#[derive(Debug, Clone)]
pub struct PdfSignedBytes {
    /// The claimed signing time.
    pub signing_time: OffsetDateTime,
    /// The level reached.
    pub level: PadesLevel,
    /// Where the signature was put.
    pub placed: Placed,
    /// Notes (certificates naming no revocation location).
    pub notes: Vec<String>,
}

/// Signs the PDF in `pdf` (the incremental update, and for B-LT/B-LTA the validation
/// data and document time-stamp, appended to it) with `signer`, whose certificate is
/// `chain[0]`; the signing time is `now` (whole seconds). What [`sign_pdf`] does
/// between reading and writing, for callers that hold the PDF (`kyso agent`).
pub fn sign_pdf_bytes(
    signer: &dyn Signer,
    chain: &[Certificate],
    pdf: &mut Vec<u8>,
    how: &PdfSigning<'_>,
    fetcher: &dyn Fetcher,
    now: OffsetDateTime,
) -> AppResult<PdfSignedBytes> {
    let certificate = signer_certificate(chain)?;
    let level = how.level;
    let tsa = how.tsa;
    if level != PadesLevel::BB && tsa.is_none() {
        return Err(needs_tsa(level.name()));
    }
    let image = how.image;
    let role = how.role.unwrap_or(if image.is_some() {
        Role::Leader
    } else {
        Role::Invisible
    });
    if image.is_some() && !matches!(role, Role::Leader | Role::Seal) {
        return Err(AppError::invalid(
            "image_role",
            "--image chỉ dùng cho --role leader hoặc seal",
            "--image is for --role leader or seal",
        ));
    }
    let mut info = how.info.clone();
    if info.agency.is_none() && role == Role::Copy {
        let s = kyso_pki::ca::SubjectName::from_name(certificate.tbs_certificate().subject());
        info.agency = Some(s.organization.unwrap_or(s.common_name));
    }
    let signing_time = now.replace_nanosecond(0).unwrap_or(now);
    let pades_request = PdfSignRequest {
        chain: &chain[1..],
        role,
        image,
        placement: how.placement.clone(),
        info,
        reason: how.reason.clone(),
        location: how.location.clone(),
        timestamp: level != PadesLevel::BB,
        ..PdfSignRequest::new(certificate, signing_time)
    };
    let signed = match tsa {
        Some(url) if level != PadesLevel::BB => {
            let mut ts = |alg, imprint: &[u8]| timestamp_token(fetcher, url, alg, imprint);
            pades::sign(pdf, signer, &pades_request, Some(&mut ts))
        }
        _ => pades::sign(pdf, signer, &pades_request, None),
    }
    .map_err(pades_error)?;
    pdf.extend_from_slice(&signed.update);
    let mut notes = Vec::new();
    if matches!(level, PadesLevel::BLt | PadesLevel::BLta) {
        notes.extend(add_validation_data(pdf, fetcher)?);
    }
    if level == PadesLevel::BLta
        && let Some(url) = tsa
    {
        add_document_timestamp(pdf, fetcher, url)?;
    }
    Ok(PdfSignedBytes {
        signing_time,
        level,
        placed: signed.placed,
        notes,
    })
}

/// Raising a signed PDF to B-LT or B-LTA.
#[derive(Debug, Clone)]
pub struct ExtendRequest<'a> {
    /// The signed PDF.
    pub file: &'a Path,
    /// Where the result goes (default: the file itself).
    pub out: Option<PathBuf>,
    /// [`PadesLevel::BLt`] or [`PadesLevel::BLta`].
    pub level: PadesLevel,
    /// Time-stamp authority (B-LTA).
    pub tsa: Option<&'a str>,
    /// Replace an existing output other than the input.
    pub force: bool,
    /// The largest PDF read, in bytes (default
    /// [`crate::verify::DEFAULT_MAX_PDF_SIZE`]).
    pub max_size: u64,
}

/// What an extension produced.
#[derive(Debug, Clone)]
pub struct Extended {
    /// The PDF written.
    pub out: PathBuf,
    /// How many signatures (not document time-stamps) the file holds.
    pub signatures: usize,
    /// Notes (certificates naming no revocation location).
    pub notes: Vec<String>,
}

/// Adds the revocation data of every certificate in the file (DSS: B-LT) and, for
/// B-LTA, a document time-stamp.
pub fn extend_pdf(request: &ExtendRequest<'_>, fetcher: &dyn Fetcher) -> AppResult<Extended> {
    if !matches!(request.level, PadesLevel::BLt | PadesLevel::BLta) {
        return Err(AppError::invalid(
            "extend_level",
            "chỉ nâng được lên B-LT hoặc B-LTA",
            "a signed PDF is extended to B-LT or B-LTA",
        ));
    }
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| request.file.to_path_buf());
    check_out(&out)?;
    if out.exists() && out != request.file && !request.force {
        return Err(output_exists(
            &out,
            format!("{} exists; use --force to replace it", out.display()),
        ));
    }
    let mut pdf = read_pdf(request.file, request.max_size)?;
    let signatures = pades::embedded_signatures(&pdf).map_err(pades_error)?;
    if signatures.iter().all(|s| s.is_document_timestamp) {
        return Err(AppError::invalid(
            "no_signatures",
            format!("{} không có chữ ký nào để nâng mức", request.file.display()),
            format!("{} has no signatures to extend", request.file.display()),
        ));
    }
    if request.level == PadesLevel::BLt {
        let untimestamped: Vec<&str> = signatures
            .iter()
            .filter(|s| !s.is_document_timestamp && s.timestamp_tokens.is_empty())
            .map(|s| s.field_name.as_str())
            .collect();
        let has_doc_ts = signatures.iter().any(|s| s.is_document_timestamp);
        if !untimestamped.is_empty() && !has_doc_ts {
            let names = untimestamped.join(", ");
            return Err(AppError::invalid(
                "needs_timestamp",
                format!(
                    "chữ ký {names} không có dấu thời gian (B-B), mà B-LT dựa trên B-T; hãy dùng --level b-lta (thêm dấu thời gian cho tài liệu)"
                ),
                format!(
                    "signature(s) {names} have no signature time-stamp (B-B), and B-LT builds on B-T; use --level b-lta, which adds a document time-stamp"
                ),
            ));
        }
    }
    if request.level == PadesLevel::BLta && request.tsa.is_none() {
        return Err(AppError::invalid(
            "tsa_required",
            "B-LTA cần dịch vụ cấp dấu thời gian: hãy cho --tsa URL",
            "B-LTA needs a time-stamp authority: give --tsa URL",
        ));
    }
    let notes = add_validation_data(&mut pdf, fetcher)?;
    if request.level == PadesLevel::BLta
        && let Some(url) = request.tsa
    {
        add_document_timestamp(&mut pdf, fetcher, url)?;
    }
    write_file(&out, &pdf, false)?;
    Ok(Extended {
        out,
        signatures: signatures
            .iter()
            .filter(|s| !s.is_document_timestamp)
            .count(),
        notes,
    })
}

fn add_document_timestamp(pdf: &mut Vec<u8>, fetcher: &dyn Fetcher, url: &str) -> AppResult<()> {
    let mut ts = |alg, imprint: &[u8]| timestamp_token(fetcher, url, alg, imprint);
    let update = pades::timestamp_document(pdf, &DocumentTimestampOptions::default(), &mut ts)
        .map_err(pades_error)?;
    pdf.extend_from_slice(&update);
    Ok(())
}

/// Fetch revocation data for every certificate of every signature and time-stamp in
/// the file and add a DSS. Each certificate that names a CRL distribution point or an
/// OCSP responder must get at least one answer; returns notes for those that name
/// neither.
fn add_validation_data(pdf: &mut Vec<u8>, fetcher: &dyn Fetcher) -> AppResult<Vec<String>> {
    let signatures = pades::embedded_signatures(pdf).map_err(pades_error)?;
    let mut cert_ders: Vec<Vec<u8>> = Vec::new();
    for s in &signatures {
        for c in &s.certificates {
            if !cert_ders.contains(c) {
                cert_ders.push(c.clone());
            }
        }
    }
    let certs: Vec<Certificate> = cert_ders
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut data = ValidationData {
        certificates: cert_ders,
        ..ValidationData::default()
    };
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    let mut fetched: Vec<(String, bool)> = Vec::new();
    for cert in &certs {
        let tbs = cert.tbs_certificate();
        if tbs.issuer() == tbs.subject() {
            continue; // a root: trusted as an anchor, no revocation data
        }
        let subject = tbs.subject().to_string();
        let crl_urls = kyso_pki::locations::crl_urls(cert);
        let ocsp_urls = kyso_pki::locations::ocsp_urls(cert);
        if crl_urls.is_empty() && ocsp_urls.is_empty() {
            notes.push(format!(
                "{subject}: the certificate names no CRL or OCSP location; no revocation data embedded"
            ));
            continue;
        }
        let mut ok = false;
        let mut errors = Vec::new();
        for url in &crl_urls {
            if let Some((_, good)) = fetched.iter().find(|(u, _)| u == url) {
                ok |= *good;
                continue;
            }
            match fetcher.get(url) {
                Ok(crl) if is_crl(&crl) => {
                    if !data.crls.contains(&crl) {
                        data.crls.push(crl);
                    }
                    fetched.push((url.clone(), true));
                    ok = true;
                }
                Ok(_) => {
                    errors.push(format!("{url}: not a DER CRL"));
                    fetched.push((url.clone(), false));
                }
                Err(e) => {
                    errors.push(e);
                    fetched.push((url.clone(), false));
                }
            }
        }
        if let Some(issuer) = certs
            .iter()
            .find(|i| *i != cert && kyso_pki::locations::is_issuer_of(i, cert))
        {
            for url in &ocsp_urls {
                let Ok(request) = kyso_pki::locations::ocsp_request(cert, issuer) else {
                    continue;
                };
                match fetcher.post(url, "application/ocsp-request", &request) {
                    Ok(resp) if ocsp_successful(&resp) => {
                        if !data.ocsps.contains(&resp) {
                            data.ocsps.push(resp);
                        }
                        ok = true;
                    }
                    Ok(_) => {
                        errors.push(format!("{url}: OCSP responder did not answer successfully"))
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if !ok {
            failures.push(format!("{subject}: {}", errors.join("; ")));
        }
    }
    if !failures.is_empty() {
        let list = failures.join("\n  ");
        return Err(AppError::new(
            Kind::Unavailable,
            "no_revocation_data",
            format!("không lấy được dữ liệu thu hồi cho B-LT:\n  {list}"),
            format!("could not obtain revocation data for B-LT:\n  {list}"),
        ));
    }
    let update = pades::add_validation_data(pdf, &data).map_err(pades_error)?;
    pdf.extend_from_slice(&update);
    Ok(notes)
}

fn is_crl(der: &[u8]) -> bool {
    let parsed: Result<x509_cert::crl::CertificateList, _> = Decode::from_der(der);
    parsed.is_ok()
}

/// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, … }` with status 0
/// (successful) and a response body.
fn ocsp_successful(der: &[u8]) -> bool {
    // 30 len 0A 01 00 A0 …
    let body = match der {
        [0x30, l, rest @ ..] if *l < 0x80 => rest,
        [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, 0x82, _, _, rest @ ..] => rest,
        [0x30, 0x83, _, _, _, rest @ ..] => rest,
        _ => return false,
    };
    body.starts_with(&[0x0a, 0x01, 0x00, 0xa0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_outputs() {
        assert_eq!(
            default_pdf_out(Path::new("a/doc.PDF")),
            PathBuf::from("a/doc.signed.pdf")
        );
        assert_eq!(
            default_pdf_out(Path::new("doc")),
            PathBuf::from("doc.signed.pdf")
        );
    }

    #[test]
    fn ocsp_status_prefix() {
        assert!(ocsp_successful(&[0x30, 0x05, 0x0a, 0x01, 0x00, 0xa0, 0x00]));
        assert!(!ocsp_successful(&[0x30, 0x03, 0x0a, 0x01, 0x06]));
    }

    #[test]
    fn keystore_names_are_checked() {
        let ks = Keystore::at(PathBuf::from("/nonexistent"));
        assert_eq!(ks.paths("../x").unwrap_err().code, "key_name");
        assert!(ks.list().unwrap().is_empty());
    }
}
