//! Recording security events: typed events, appended to the installation's
//! tamper-evident log (kyso-audit's Merkle tree in the database), each append with a tree
//! head signed by the installation's **log key**, `<data>/audit/log-key.pem` (P-256,
//! PKCS#8, mode 0600 in a 0700 folder, created on first use; its public half is
//! `<data>/audit/log-key.pub.pem`). With PostgreSQL, every kyso process writing to the
//! same database must hold the same log key. What this protects against and what it does
//! not: see `kyso audit --help` and docs/ARCHITECTURE.md.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use der::Encode;
use kyso_audit::Outcome;
use kyso_signer::{KeyKind, Signer, SoftKey};
use kyso_store::{Archive, AuditDraft};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};

/// File name of the log's private key in `<data>/audit/`.
pub const LOG_KEY: &str = "log-key.pem";
/// File name of the log's public key in `<data>/audit/`.
pub const LOG_PUBLIC_KEY: &str = "log-key.pub.pem";

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

/// Reads a PKCS#8 PEM private key (the log key).
pub fn read_private_key(path: &Path) -> AppResult<SoftKey> {
    let text = Zeroizing::new(fs::read(path).map_err(|e| io("cannot read", path, e))?);
    let (label, der) = der::pem::decode_vec(&text)
        .map_err(|_| AppError::internal(format!("{} is not a PEM private key", path.display())))?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return Err(AppError::internal(format!(
            "{} is not a PKCS#8 private key",
            path.display()
        )));
    }
    SoftKey::from_pkcs8_der(&der, None)
        .map_err(|e| AppError::internal(format!("{}: unusable log key: {e}", path.display())))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates `<data>/audit/log-key.pem` unless it exists: written completely to a
/// temporary file first, then linked into place, which fails if another process won
/// the race (its key is then used).
fn create_private_key(dir: &Path, path: &Path) -> AppResult<()> {
    let key = SoftKey::generate(KeyKind::P256)
        .map_err(|e| AppError::internal(format!("cannot generate the log key: {e}")))?;
    let pkcs8 = key.to_pkcs8_der();
    let pem = Zeroizing::new(
        der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8)
            .map_err(|e| AppError::internal(format!("cannot encode the log key: {e}")))?,
    );
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

/// The installation's log key, created on first use; also (re)writes the public key
/// file when it is missing or different.
pub fn log_key(data: &Path) -> AppResult<SoftKey> {
    let dir = audit_dir(data);
    if !dir.exists() {
        fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        }
    }
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
