//! Recording security events: typed events, appended to the installation's
//! tamper-evident log (kyso-audit's Merkle tree in the database), each append with a tree
//! head signed by the installation's **log key**, `<data>/audit/log-key.pem` (P-256,
//! PKCS#8, mode 0600 in a 0700 folder, created on first use; its public half is
//! `<data>/audit/log-key.pub.pem`). With PostgreSQL, every kyso process writing to the
//! same database must hold the same log key. What this protects against and what it does
//! not: see `kyso audit --help` and docs/ARCHITECTURE.md.
//!
//! **What protects the log key.** Either the file permissions alone (a plain PKCS#8
//! key, 0600, owner = the account kyso runs as), or in addition a passphrase: the key
//! is then kept in kyso's keystore format (`ENCRYPTED PRIVATE KEY`: PKCS#8, PBES2 with
//! scrypt and AES-256-CBC, `kyso_signer::keystore`, readable by `openssl pkey`), so a
//! copy of the data directory or a backup does not hold a usable key. Unattended use keeps working: the
//! passphrase is read from the environment variable [`PASSPHRASE_ENV`]
//! (`KYSO_AUDIT_KEY_PASSPHRASE`) or from the file named by [`PASSPHRASE_FILE_ENV`]
//! (`KYSO_AUDIT_KEY_PASSPHRASE_FILE`, e.g. a systemd credential
//! `$CREDENTIALS_DIRECTORY/audit-key-passphrase`; one trailing newline is dropped).
//! When a passphrase is configured at first use, the key is created encrypted;
//! `kyso audit protect-key` encrypts an existing plain key in place (atomically, 0600).
//! An encrypted key without a passphrase configured: every event that must be recorded
//! fails with `audit_key_locked`, naming both variables — nothing is recorded unsigned.
//! The passphrase and the decrypted key are zeroized after use and never logged; the
//! decrypted key is kept in memory by the process that signs heads (one scrypt per
//! process and key file, not per event). What it does not protect against: root on a
//! running server (it can read the process memory and its environment) — that is what
//! external witnesses are for.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use der::Encode;
use kyso_audit::Outcome;
use kyso_signer::keystore::{self, ScryptCost};
use kyso_signer::{KeyKind, Signer, SoftKey};
use kyso_store::{Archive, AuditDraft};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};

/// File name of the log's private key in `<data>/audit/`.
pub const LOG_KEY: &str = "log-key.pem";
/// File name of the log's public key in `<data>/audit/`.
pub const LOG_PUBLIC_KEY: &str = "log-key.pub.pem";
/// The environment variable holding the log key's passphrase.
pub const PASSPHRASE_ENV: &str = "KYSO_AUDIT_KEY_PASSPHRASE";
/// The environment variable naming a file that holds the log key's passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "KYSO_AUDIT_KEY_PASSPHRASE_FILE";

/// What happened. The stable keys are what the log stores and `kyso audit list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A login (password or certificate).
    Login,
    /// An account locked after repeated failures.
    LoginLock,
    /// A session ended.
    Logout,
    /// Users, roles, policy or API tokens changed.
    Permission,
    /// A device registered.
    DeviceRegister,
    /// A signature with the agency device (or a personal key on an office installation).
    Sign,
    /// Handover steps.
    HandoverRequest,
    /// A decision on a handover asked for (the refusal of an approval or refusal).
    HandoverDecide,
    /// Approved by the head.
    HandoverApprove,
    /// Refused by the head.
    HandoverRefuse,
    /// Withdrawn.
    HandoverCancel,
    /// Accepted by the receiver.
    HandoverAccept,
    /// Minutes signed by a party.
    HandoverSign,
    /// Minutes sealed.
    HandoverSeal,
    /// Signatures of a received or filed document verified.
    VerifyReceipt,
    /// A document filed into the archive.
    File,
    /// A register number taken.
    Number,
    /// A lifecycle step of a document.
    Document(kyso_office::Event),
    /// A draft of an outgoing document uploaded.
    Draft,
    /// A two-step signing session started (what to sign handed out).
    SigningStart,
    /// Reading the audit log, exporting records.
    View,
    /// The first administrator created through the one-time setup link.
    Setup,
    /// A document sent to other agencies (a package built and delivered or queued).
    ExchangeSend,
    /// A package received for an agency hosted here (filed, verified on receipt).
    ExchangeReceive,
    /// A status (01–06) recorded in a sending's timeline.
    ExchangeStatus,
    /// A recall asked of a recipient (13).
    ExchangeRecall,
    /// A recall answered by the recipient (15 / 16).
    ExchangeRecallReply,
    /// The directory of agencies changed.
    AgencyDirectory,
    /// Archived originals sealed with an evidence record, or their records renewed.
    Evidence,
}

impl AuditAction {
    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginLock => "login_lock",
            AuditAction::Logout => "logout",
            AuditAction::Permission => "permission",
            AuditAction::DeviceRegister => "device_register",
            AuditAction::Sign => "sign",
            AuditAction::HandoverRequest => "handover_request",
            AuditAction::HandoverDecide => "handover_decide",
            AuditAction::HandoverApprove => "handover_approve",
            AuditAction::HandoverRefuse => "handover_refuse",
            AuditAction::HandoverCancel => "handover_cancel",
            AuditAction::HandoverAccept => "handover_accept",
            AuditAction::HandoverSign => "handover_sign",
            AuditAction::HandoverSeal => "handover_seal",
            AuditAction::VerifyReceipt => "verify_receipt",
            AuditAction::File => "file",
            AuditAction::Number => "number",
            AuditAction::Document(event) => event.key(),
            AuditAction::Draft => "draft",
            AuditAction::SigningStart => "signing_start",
            AuditAction::View => "view",
            AuditAction::Setup => "setup",
            AuditAction::ExchangeSend => "exchange_send",
            AuditAction::ExchangeReceive => "exchange_receive",
            AuditAction::ExchangeStatus => "exchange_status",
            AuditAction::ExchangeRecall => "exchange_recall",
            AuditAction::ExchangeRecallReply => "exchange_recall_reply",
            AuditAction::AgencyDirectory => "agency_directory",
            AuditAction::Evidence => "evidence",
        }
    }

    /// The event recorded when an authorisation decision about `action` is made.
    pub fn of(action: &kyso_office::Action<'_>) -> Self {
        use kyso_office::Action as A;
        match action {
            A::ManageUsers | A::SetPolicy => AuditAction::Permission,
            A::RegisterDevice => AuditAction::DeviceRegister,
            A::SignWithDevice(_) => AuditAction::Sign,
            A::RequestHandover { .. } => AuditAction::HandoverRequest,
            A::DecideHandover(_) => AuditAction::HandoverDecide,
            A::CancelHandover(_) => AuditAction::HandoverCancel,
            A::AcceptHandover(_) => AuditAction::HandoverAccept,
            A::SignMinutes(..) => AuditAction::HandoverSign,
            A::ViewMinutes(_) => AuditAction::View,
            A::ViewDocuments | A::ViewAudit | A::ExportRecords => AuditAction::View,
            A::FileDocument => AuditAction::File,
            A::TakeNumber => AuditAction::Number,
            A::Advance(event) => AuditAction::Document(*event),
            A::SendDocument => AuditAction::ExchangeSend,
            A::AnswerRecall => AuditAction::ExchangeRecallReply,
            A::ManageAgencies => AuditAction::AgencyDirectory,
            A::SealEvidence => AuditAction::Evidence,
        }
    }
}

/// One security event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Who (user name, `token:NAME`, `os:NAME`).
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// On what (`document:12`, a device serial, a user name).
    pub object: String,
    /// Result.
    pub outcome: Outcome,
    /// Further facts (never a secret).
    pub details: Vec<(String, String)>,
}

impl AuditEvent {
    /// An event without details.
    pub fn new(
        actor: impl Into<String>,
        action: AuditAction,
        object: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        Self {
            actor: actor.into(),
            action,
            object: object.into(),
            outcome,
            details: Vec::new(),
        }
    }

    /// Adds a detail.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.push((key.to_string(), value.into()));
        self
    }
}

/// Appends `event` to the log of `archive`'s database and signs a new tree head with the
/// log key of the data directory `data`.
pub async fn record(
    archive: &Archive,
    data: &Path,
    event: AuditEvent,
) -> AppResult<kyso_audit::Entry> {
    let key = log_key(data)?;
    let draft = AuditDraft {
        actor: event.actor,
        action: event.action.key().to_string(),
        object: event.object,
        outcome: event.outcome,
        details: event.details.into_iter().collect(),
    };
    let (entry, _head) = archive.audit_append(draft, &key).await.map_err(|e| {
        AppError::new(
            crate::Kind::Unavailable,
            "audit_log",
            format!("không ghi được nhật ký kiểm toán: {e}"),
            format!("cannot append to the audit log: {e}"),
        )
    })?;
    Ok(entry)
}

// ----------------------------------------------------------------------------------
// The log key
// ----------------------------------------------------------------------------------

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("{what} {}: {e}", path.display()))
}

/// `<data>/audit`.
pub fn audit_dir(data: &Path) -> PathBuf {
    data.join("audit")
}

/// The PEM of a public key.
pub fn public_key_pem(key: &SubjectPublicKeyInfoOwned) -> AppResult<String> {
    let der = key
        .to_der()
        .map_err(|e| AppError::internal(format!("cannot encode the log public key: {e}")))?;
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &der)
        .map_err(|e| AppError::internal(format!("cannot encode the log public key: {e}")))
}

/// The log key's passphrase configured for this process: [`PASSPHRASE_ENV`], else the
/// file named by [`PASSPHRASE_FILE_ENV`] (one trailing newline dropped); `None` when
/// neither is set. An empty passphrase is refused.
pub fn configured_passphrase() -> AppResult<Option<Zeroizing<String>>> {
    if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        let value = Zeroizing::new(value.into_string().map_err(|_| {
            AppError::invalid(
                "audit_key_passphrase",
                format!("{PASSPHRASE_ENV} không phải văn bản UTF-8"),
                format!("{PASSPHRASE_ENV} is not UTF-8 text"),
            )
        })?);
        return non_empty(value, PASSPHRASE_ENV).map(Some);
    }
    let Some(file) = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let file = PathBuf::from(file);
    let bytes = Zeroizing::new(fs::read(&file).map_err(|e| {
        AppError::new(
            crate::Kind::Unavailable,
            "audit_key_passphrase",
            format!(
                "không đọc được tệp mật khẩu của khóa nhật ký {} ({PASSPHRASE_FILE_ENV}): {e}",
                file.display()
            ),
            format!(
                "cannot read the log key's passphrase file {} ({PASSPHRASE_FILE_ENV}): {e}",
                file.display()
            ),
        )
    })?);
    let mut text = Zeroizing::new(String::from_utf8(bytes.to_vec()).map_err(|e| {
        // The bytes inside the error are zeroized too.
        let mut inner = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut inner);
        AppError::invalid(
            "audit_key_passphrase",
            format!(
                "tệp {} ({PASSPHRASE_FILE_ENV}) không phải văn bản UTF-8",
                file.display()
            ),
            format!(
                "{} ({PASSPHRASE_FILE_ENV}) is not UTF-8 text",
                file.display()
            ),
        )
    })?);
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    non_empty(text, PASSPHRASE_FILE_ENV).map(Some)
}

fn non_empty(p: Zeroizing<String>, var: &str) -> AppResult<Zeroizing<String>> {
    if p.is_empty() {
        return Err(AppError::invalid(
            "audit_key_passphrase",
            format!("mật khẩu của khóa nhật ký ({var}) trống"),
            format!("the log key's passphrase ({var}) is empty"),
        ));
    }
    Ok(p)
}

/// The scrypt cost of a newly encrypted log key: `KYSO_SCRYPT_LOG_N` (10..=20, tests)
/// or [`ScryptCost::DEFAULT`].
fn scrypt_cost() -> ScryptCost {
    match std::env::var("KYSO_SCRYPT_LOG_N")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
    {
        Some(log_n) if (10..=20).contains(&log_n) => ScryptCost {
            log_n,
            ..ScryptCost::DEFAULT
        },
        _ => ScryptCost::DEFAULT,
    }
}

/// The error of an encrypted log key and no passphrase.
fn key_locked(path: &Path) -> AppError {
    AppError::new(
        crate::Kind::Unavailable,
        "audit_key_locked",
        format!(
            "khóa nhật ký kiểm toán {} được mã hóa nhưng chưa có mật khẩu: đặt biến môi trường {PASSPHRASE_ENV}, hoặc {PASSPHRASE_FILE_ENV} trỏ tới tệp chứa mật khẩu; không ghi được sự kiện nào khi chưa có khóa",
            path.display()
        ),
        format!(
            "the audit log key {} is encrypted and no passphrase is configured: set {PASSPHRASE_ENV}, or {PASSPHRASE_FILE_ENV} to a file holding it; no event can be recorded without the key",
            path.display()
        ),
    )
}

/// Whether a log key file's text is encrypted (kyso's keystore format).
pub fn is_encrypted(pem: &[u8]) -> bool {
    pem.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

/// Keys decrypted by this process: the key file's SHA-256 → its PKCS#8 (zeroized on
/// drop), so scrypt runs once per process and key file, not once per event.
type Decrypted = Vec<([u8; 32], Zeroizing<Vec<u8>>)>;

fn decrypted() -> &'static std::sync::Mutex<Decrypted> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Decrypted>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| std::sync::Mutex::new(Vec::new()))
}

/// Reads the log key at `path`: a PKCS#8 PEM private key, or the same encrypted in
/// kyso's keystore format, decrypted with [`configured_passphrase`].
pub fn read_private_key(path: &Path) -> AppResult<SoftKey> {
    let text = Zeroizing::new(fs::read(path).map_err(|e| io("cannot read", path, e))?);
    if is_encrypted(&text) {
        let digest: [u8; 32] = kyso_signer::DigestAlgorithm::Sha256
            .digest(&text)
            .try_into()
            .map_err(|_| AppError::internal("SHA-256 is 32 bytes"))?;
        let cache = decrypted();
        if let Some((_, der)) = cache
            .lock()
            .map_err(|_| AppError::internal("log key cache poisoned"))?
            .iter()
            .find(|(d, _)| *d == digest)
        {
            return usable(path, der);
        }
        let passphrase = configured_passphrase()?.ok_or_else(|| key_locked(path))?;
        let der = keystore::decrypt(&text, passphrase.as_bytes()).map_err(|e| {
            AppError::new(
                crate::Kind::Unauthenticated,
                "audit_key_passphrase",
                format!(
                    "không mở được khóa nhật ký kiểm toán {} bằng mật khẩu đã đặt ({PASSPHRASE_ENV} / {PASSPHRASE_FILE_ENV}): {e}",
                    path.display()
                ),
                format!(
                    "cannot open the audit log key {} with the configured passphrase ({PASSPHRASE_ENV} / {PASSPHRASE_FILE_ENV}): {e}",
                    path.display()
                ),
            )
        })?;
        let key = usable(path, &der)?;
        if let Ok(mut c) = cache.lock() {
            c.push((digest, der));
        }
        return Ok(key);
    }
    let (label, der) = der::pem::decode_vec(&text)
        .map_err(|_| AppError::internal(format!("{} is not a PEM private key", path.display())))?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return Err(AppError::internal(format!(
            "{} is not a PKCS#8 private key",
            path.display()
        )));
    }
    usable(path, &der)
}

fn usable(path: &Path, der: &[u8]) -> AppResult<SoftKey> {
    SoftKey::from_pkcs8_der(der, None)
        .map_err(|e| AppError::internal(format!("{}: unusable log key: {e}", path.display())))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates `<data>/audit/log-key.pem` unless it exists: written completely to a
/// temporary file first, then linked into place, which fails if another process won
/// the race (its key is then used). Encrypted when a passphrase is configured.
fn create_private_key(dir: &Path, path: &Path) -> AppResult<()> {
    let passphrase = configured_passphrase()?;
    let key = SoftKey::generate(KeyKind::P256)
        .map_err(|e| AppError::internal(format!("cannot generate the log key: {e}")))?;
    let pkcs8 = key.to_pkcs8_der();
    let pem: Zeroizing<String> = match &passphrase {
        Some(p) => keystore::encrypt_pem(&pkcs8, p.as_bytes(), scrypt_cost())
            .map_err(|e| AppError::internal(format!("cannot encrypt the log key: {e}")))?,
        None => Zeroizing::new(
            der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8)
                .map_err(|e| AppError::internal(format!("cannot encode the log key: {e}")))?,
        ),
    };
    let tmp = dir.join(format!(
        ".{LOG_KEY}.new-{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 4]>())
    ));
    kyso_store::write_atomic(&tmp, pem.as_bytes(), true)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("cannot create", path, e)),
    }
    sync_dir(dir);
    Ok(())
}

/// The audit folder, created 0700 when missing.
fn ensure_audit_dir(data: &Path) -> AppResult<PathBuf> {
    let dir = audit_dir(data);
    if !dir.exists() {
        fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        }
    }
    Ok(dir)
}

/// The installation's log key, created on first use (encrypted when a passphrase is
/// configured); also (re)writes the public key file when it is missing or different.
pub fn log_key(data: &Path) -> AppResult<SoftKey> {
    let dir = ensure_audit_dir(data)?;
    let path = dir.join(LOG_KEY);
    if !path.exists() {
        create_private_key(&dir, &path)?;
    }
    let key = read_private_key(&path)?;
    let public = public_key_pem(key.public_key())?;
    let public_path = dir.join(LOG_PUBLIC_KEY);
    if fs::read_to_string(&public_path).ok().as_deref() != Some(public.as_str()) {
        kyso_store::write_atomic(&public_path, public.as_bytes(), false)?;
    }
    Ok(key)
}

/// What [`protect_log_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    /// The plain key was encrypted in place.
    Encrypted,
    /// There was no key yet: a new one was created encrypted.
    Created,
}

/// Encrypts the installation's plain log key with `passphrase` (kyso's keystore
/// format, scrypt), in place: the encrypted key is written to a temporary file (0600,
/// synced) and renamed over the plain one, so the file is at every moment either the
/// plain key or the encrypted one. Without a key yet, one is created encrypted. An
/// already encrypted key is refused (`audit_key_encrypted`). The same key (same public
/// key), so every signed head stays verifiable.
pub fn protect_log_key(data: &Path, passphrase: &str) -> AppResult<Protected> {
    if passphrase.is_empty() {
        return Err(AppError::invalid(
            "audit_key_passphrase",
            "mật khẩu của khóa nhật ký trống",
            "the log key's passphrase is empty",
        ));
    }
    let dir = ensure_audit_dir(data)?;
    let path = dir.join(LOG_KEY);
    let created = !path.exists();
    let key = if created {
        SoftKey::generate(KeyKind::P256)
            .map_err(|e| AppError::internal(format!("cannot generate the log key: {e}")))?
    } else {
        let text = Zeroizing::new(fs::read(&path).map_err(|e| io("cannot read", &path, e))?);
        if is_encrypted(&text) {
            return Err(AppError::new(
                crate::Kind::Conflict,
                "audit_key_encrypted",
                format!("khóa nhật ký kiểm toán {} đã được mã hóa", path.display()),
                format!("the audit log key {} is already encrypted", path.display()),
            ));
        }
        read_private_key(&path)?
    };
    let pkcs8 = key.to_pkcs8_der();
    let pem = keystore::encrypt_pem(&pkcs8, passphrase.as_bytes(), scrypt_cost())
        .map_err(|e| AppError::internal(format!("cannot encrypt the log key: {e}")))?;
    // Checked before it replaces the plain key.
    let back = keystore::decrypt(pem.as_bytes(), passphrase.as_bytes())
        .map_err(|e| AppError::internal(format!("the encrypted log key does not open: {e}")))?;
    if back.as_slice() != &pkcs8[..] {
        return Err(AppError::internal("the encrypted log key does not open"));
    }
    kyso_store::write_atomic(&path, pem.as_bytes(), true)?;
    sync_dir(&dir);
    let public = public_key_pem(key.public_key())?;
    let public_path = dir.join(LOG_PUBLIC_KEY);
    if fs::read_to_string(&public_path).ok().as_deref() != Some(public.as_str()) {
        kyso_store::write_atomic(&public_path, public.as_bytes(), false)?;
    }
    Ok(if created {
        Protected::Created
    } else {
        Protected::Encrypted
    })
}

/// The log's public key of an installation (`<data>/audit/log-key.pub.pem`, else the
/// public half of the private key), if it has one.
pub fn installation_public_key(data: &Path) -> AppResult<Option<SubjectPublicKeyInfoOwned>> {
    use der::Decode;
    let dir = audit_dir(data);
    let public = dir.join(LOG_PUBLIC_KEY);
    if public.exists() {
        let text = fs::read(&public).map_err(|e| io("read", &public, e))?;
        let bad = || {
            AppError::invalid(
                "bad_log_key",
                format!("{} không phải khóa công khai PEM", public.display()),
                format!("{} is not a PEM public key", public.display()),
            )
        };
        let (label, der) = der::pem::decode_vec(&text).map_err(|_| bad())?;
        if label != "PUBLIC KEY" {
            return Err(bad());
        }
        return SubjectPublicKeyInfoOwned::from_der(&der)
            .map(Some)
            .map_err(|_| bad());
    }
    let private = dir.join(LOG_KEY);
    if private.exists() {
        return Ok(Some(read_private_key(&private)?.public_key().clone()));
    }
    Ok(None)
}

/// What a replay of the installation's log found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogCheck {
    /// No finding.
    pub intact: bool,
    /// Entries in the log.
    pub entries: u64,
    /// Signed heads.
    pub heads: usize,
    /// Entries covered by a signed head.
    pub covered: u64,
    /// SHA-256 of the log key's SubjectPublicKeyInfo (hex), to compare with a copy
    /// kept elsewhere.
    pub key_fingerprint: String,
    /// What is wrong.
    pub findings: Vec<kyso_audit::replay::Finding>,
}

impl crate::App {
    /// The log as stored (administrators).
    pub async fn audit_log(&self, actor: &crate::Actor) -> AppResult<kyso_audit::replay::RawLog> {
        self.allow(actor, kyso_office::Action::ViewAudit, "audit")
            .await?;
        let rows = self.archive().audit_rows(0, None).await?;
        let heads = self.archive().audit_head_rows().await?;
        Ok(kyso_audit::replay::RawLog {
            entries: rows.into_iter().map(|r| (r.position, r.json)).collect(),
            heads: heads.into_iter().map(|h| h.json).collect(),
        })
    }

    /// Entries from `from`, at most `limit` (administrators).
    pub async fn audit_entries(
        &self,
        actor: &crate::Actor,
        from: u64,
        limit: u64,
    ) -> AppResult<Vec<kyso_audit::Entry>> {
        self.allow(actor, kyso_office::Action::ViewAudit, "audit")
            .await?;
        let rows = self
            .archive()
            .audit_rows(from, Some(limit.min(1000)))
            .await?;
        Ok(rows.iter().filter_map(|r| r.entry().ok()).collect())
    }

    /// Replays the installation's log against its signed heads and the log key
    /// (administrators) — what `kyso audit verify` checks.
    pub async fn audit_check(&self, actor: &crate::Actor) -> AppResult<LogCheck> {
        let raw = self.audit_log(actor).await?;
        let key = installation_public_key(self.data())?.ok_or_else(|| {
            AppError::not_found(
                "cài đặt này chưa có khóa nhật ký (chưa ghi sự kiện nào)",
                "this installation has no log key yet (nothing recorded)",
            )
        })?;
        let replay = kyso_audit::replay::replay(&raw, &key);
        let fingerprint = key
            .to_der()
            .map(|der| hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(&der)))
            .unwrap_or_default();
        Ok(LogCheck {
            intact: replay.findings.is_empty(),
            entries: replay.report.entries,
            heads: replay.heads.len(),
            covered: replay.report.covered,
            key_fingerprint: fingerprint,
            findings: replay.findings,
        })
    }
}
