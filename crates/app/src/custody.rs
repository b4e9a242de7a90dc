//! Custody of the agency's signing devices, users and roles: the use cases behind
//! `kyso user …`, `kyso device …` and the custody check of `kyso sign`.
//!
//! Decisions are kyso-office's ([`kyso_office::authorize`] and the handover's own
//! steps); these use cases load what the decision needs, act on the store and the data
//! directory, and record every attempt in the audit log (refusals with their code and
//! message). What needs the hardware stays with the front end: it opens tokens and keys
//! (PINs, passphrases) and hands the use case a [`LocalKey`] or the outcome of a token
//! step; the PDF work (minutes drawn up, signed, sealed, archived) happens here.
//!
//! Signing with a [`LocalKey`] runs on the calling task (a token cannot move to another
//! thread): front ends call these use cases where a short blocking step is acceptable.
//!
//! The server has two more ways, next to them and sharing their checks and their
//! signature jobs (`crate::outgoing::SigningJob`): the token steps with the agency
//! device attached to the server (acceptance with the PINs given for that request,
//! [`App::accept_handover_with_device`]; the seal, [`App::seal_minutes_with_device`]),
//! and two-step signing of the minutes by a party whose personal key stays with them
//! ([`App::start_minutes_signing`], [`App::finish_minutes_signing`]).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use der::Encode;
use kyso_audit::Outcome;
use kyso_model::{AgencyId, DocumentType, Secrecy, Urgency};
use kyso_office::{
    Action, CertificateFacts, Device, DeviceFacts, DocState, DocumentQuery, Event as DocEvent,
    Handover, HandoverDecision, HandoverMinutes, HandoverState, LoginFailure, Metadata,
    MinutesParty, MinutesSigner, OutgoingNumber, OutgoingRequest, OutgoingState, Role, Step, Store,
    User, check_certificate_login, hash_password, login_challenge, minutes_pdf,
};
use kyso_pades::sign::Role as PdfRole;
use kyso_signer::Signer;
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::App;
use crate::actor::{Actor, authorize};
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult, Kind};
use crate::outgoing::{
    PdfLook, SigningJob, ToBeSigned, Working, common_name, device_dir, key_algorithm,
    parse_certificates, user_dir,
};

pub use kyso_pkcs11::Pin;

/// Fewest characters of a new device PIN.
pub const MIN_PIN_CHARS: usize = 6;
/// Most characters of a PIN accepted.
pub const MAX_PIN_CHARS: usize = 256;

// ----------------------------------------------------------------------------------
// Requests and results
// ----------------------------------------------------------------------------------

/// A user to add. (`Debug` never shows the password.)
#[derive(Clone, Default)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Full name as printed.
    pub full_name: String,
    /// Role keys (`leader`, `clerk`, `officer`, `custodian`, `administrator`).
    pub roles: Vec<String>,
    /// Position (chức vụ).
    pub title: String,
    /// Unit (đơn vị).
    pub unit: String,
    /// A password to set.
    pub password: Option<Zeroizing<String>>,
    /// The personal certificate (certificate login, minutes signing).
    pub certificate: Option<Certificate>,
    /// PNG of the handwritten signature.
    pub signature_image: Option<Vec<u8>>,
}

/// Changes to a user. (`Debug` never shows the password.)
#[derive(Clone, Default)]
pub struct UserChange {
    /// Role keys to add.
    pub add_roles: Vec<String>,
    /// Role keys to remove.
    pub remove_roles: Vec<String>,
    /// A new password.
    pub password: Option<Zeroizing<String>>,
    /// A new personal certificate.
    pub certificate: Option<Certificate>,
    /// A new signature image (PNG).
    pub signature_image: Option<Vec<u8>>,
    /// Disable the account.
    pub disable: bool,
    /// Enable the account (and clear a lock).
    pub enable: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("full_name", &self.full_name)
            .field("roles", &self.roles)
            .field("title", &self.title)
            .field("unit", &self.unit)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("certificate", &self.certificate.is_some())
            .field(
                "signature_image",
                &self.signature_image.as_ref().map(Vec::len),
            )
            .finish()
    }
}

impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("add_roles", &self.add_roles)
            .field("remove_roles", &self.remove_roles)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("certificate", &self.certificate.is_some())
            .field(
                "signature_image",
                &self.signature_image.as_ref().map(Vec::len),
            )
            .field("disable", &self.disable)
            .field("enable", &self.enable)
            .finish()
    }
}

impl UserChange {
    /// Changes only an administrator may make (roles, status); a user may change their
    /// own password, certificate and image.
    pub fn needs_administrator(&self) -> bool {
        !self.add_roles.is_empty() || !self.remove_roles.is_empty() || self.disable || self.enable
    }
}

/// A certificate-login challenge: the bytes to sign on the user's own token with the
/// key of [`CertificateChallenge::certificate`].
#[derive(Debug, Clone)]
pub struct CertificateChallenge {
    agency: AgencyId,
    name: String,
    certificate: Certificate,
    bytes: Vec<u8>,
    issued: i64,
}

impl CertificateChallenge {
    /// The user's registered certificate (to find the key on the token).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// What to sign.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A challenge signed on the token.
#[derive(Debug, Clone)]
pub struct ChallengeSignature {
    /// The signature algorithm of the key.
    pub algorithm: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: Vec<u8>,
}

/// What the front end read from the agency's token to register it as a device.
#[derive(Debug, Clone)]
pub struct DeviceRegistration {
    /// Token serial number.
    pub serial: String,
    /// Token label.
    pub label: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Slot it was seen in.
    pub slot: u64,
    /// CKA_ID of the agency key, hex.
    pub key_id: String,
    /// The agency certificate on the token.
    pub certificate: Certificate,
    /// The first custodian (user name).
    pub custodian: String,
    /// PNG of the agency's seal.
    pub seal_image: Option<Vec<u8>>,
}

/// A handover request.
#[derive(Debug, Clone, Default)]
pub struct HandoverRequest {
    /// Token serial of the device.
    pub device: String,
    /// The receiver (user name).
    pub receiver: String,
    /// The head's written permission: number, date, author.
    pub permission: String,
    /// Witnesses (user names or names as written).
    pub witnesses: Vec<String>,
    /// Condition of the device.
    pub condition: String,
}

/// An acceptance about to happen.
#[derive(Debug, Clone)]
pub struct AcceptStart {
    /// The handover.
    pub handover: Handover,
    /// Its device.
    pub device: Device,
    /// Custody already moved (an interrupted acceptance): only the minutes remain, the
    /// token is not touched again.
    pub resume: bool,
}

/// How the token step of an acceptance went (done by the front end, on the device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStep {
    /// The giver's PIN opened the device and the receiver set a new one.
    PinChanged,
    /// The giver's PIN did not open the device (the error, never the PIN).
    OldPinRejected(String),
    /// Not done: custody had already moved ([`AcceptStart::resume`]).
    Skipped,
}

/// The PINs of an acceptance with the device attached to this machine: the giver's,
/// which opens the device, and the receiver's new one. Zeroized on drop; `Debug` never
/// shows them.
pub struct PinChange {
    /// The PIN the giver hands over.
    pub old: Pin,
    /// The receiver's new PIN (at least [`MIN_PIN_CHARS`] characters).
    pub new: Zeroizing<String>,
}

impl std::fmt::Debug for PinChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinChange")
            .field("old", &"<hidden>")
            .field("new", &"<hidden>")
            .finish()
    }
}

/// The device's PIN for one request (the seal made on the server). Zeroized on drop;
/// `Debug` never shows it.
pub struct DevicePin {
    /// The PIN.
    pub pin: Pin,
    /// Allow the last PIN try before the token locks itself.
    pub allow_final_try: bool,
}

impl std::fmt::Debug for DevicePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicePin")
            .field("pin", &"<hidden>")
            .field("allow_final_try", &self.allow_final_try)
            .finish()
    }
}

/// Starting the two-step signature of the minutes by a party.
#[derive(Debug, Clone, Default)]
pub struct MinutesSigningStart {
    /// The party's certificate first, then its chain (DER).
    pub certificates: Vec<Vec<u8>>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    pub pss: bool,
}

/// What a party's key must sign for the minutes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MinutesTicket {
    /// The handover.
    pub handover: i64,
    /// `giver` or `receiver`.
    pub party: &'static str,
    /// The session and the bytes to sign.
    #[serde(flatten)]
    pub to_sign: ToBeSigned,
    /// Notes (issuer certificates that could not be fetched).
    pub warnings: Vec<String>,
}

/// Checks a new device PIN before the device is touched.
pub fn check_new_pin(pin: &str) -> AppResult<()> {
    let n = pin.chars().count();
    if !(MIN_PIN_CHARS..=MAX_PIN_CHARS).contains(&n) {
        return Err(AppError::invalid(
            "new_pin",
            format!("mã PIN mới phải có từ {MIN_PIN_CHARS} đến {MAX_PIN_CHARS} ký tự"),
            format!("the new PIN needs {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The token step of an acceptance (blocking; every front end's one copy): the device
/// in `module` is the registered one (found by its serial), the giver's PIN opens it,
/// and the receiver's new PIN replaces it, so the previous holder's stops working. A
/// PIN that does not open the device is an outcome ([`TokenStep::OldPinRejected`], for
/// [`App::accept_handover`] to record and refuse), not an error.
pub fn change_device_pin(
    module: &kyso_pkcs11::Module,
    device: &Device,
    old: &Pin,
    new: &str,
) -> AppResult<TokenStep> {
    check_new_pin(new)?;
    let info = module.find_token(Some(&device.serial), None).map_err(|e| {
        AppError::new(
            Kind::Conflict,
            "device_absent",
            format!(
                "không thấy thiết bị {} trên máy này (chưa cắm?): {e}",
                device.serial
            ),
            format!(
                "the device {} is not found on this machine (not plugged in?): {e}",
                device.serial
            ),
        )
    })?;
    let session = match module.login(&info, old, false) {
        Ok(s) => s,
        Err(e) => return Ok(TokenStep::OldPinRejected(e.to_string())),
    };
    let new = Pin::new(new.to_string());
    session.change_pin(old, &new).map_err(|e| {
        AppError::new(
            Kind::Conflict,
            "pin_change_failed",
            format!("không đổi được mã PIN của thiết bị {}: {e}", device.serial),
            format!("cannot change the PIN of device {}: {e}", device.serial),
        )
    })?;
    Ok(TokenStep::PinChanged)
}

fn no_device_module() -> AppError {
    AppError::new(
        Kind::Conflict,
        "no_device_module",
        "máy chủ chưa được cấu hình thư viện PKCS#11 của thiết bị ký số (--pkcs11)",
        "the server has no PKCS#11 module configured for the signing device (--pkcs11)",
    )
}

fn device_open_error(device: &Device, e: impl std::fmt::Display) -> AppError {
    AppError::new(
        Kind::Forbidden,
        "device_login_failed",
        format!("không mở được thiết bị ký số {}: {e}", device.serial),
        format!("cannot open the signing device {}: {e}", device.serial),
    )
}

/// The party `actor` is in the handover: the receiver, else the giver (anyone else is
/// refused as not this party).
fn party_of(actor: &Actor, handover: &Handover) -> MinutesSigner {
    match actor.user() {
        Some(u) if u.name == handover.receiver => MinutesSigner::Receiver,
        _ => MinutesSigner::Giver,
    }
}

fn party_key(who: MinutesSigner) -> &'static str {
    match who {
        MinutesSigner::Giver => "giver",
        MinutesSigner::Receiver => "receiver",
        MinutesSigner::Seal => "seal",
    }
}

/// How the minutes are headed and where the handover happens.
#[derive(Debug, Clone, Default)]
pub struct MinutesOptions {
    /// The agency's abbreviation in notations (`STTTT` → `03/BB-STTTT`).
    pub issuer: String,
    /// Parent agency printed above the agency's name.
    pub parent_agency: Option<String>,
    /// The agency's name.
    pub agency_name: String,
    /// Place name (địa danh).
    pub place: String,
    /// Where the handover happens.
    pub location: String,
}

/// Minutes numbered and drawn up after an acceptance.
#[derive(Debug, Clone)]
pub struct MinutesDrawn {
    /// The handover.
    pub handover: Handover,
    /// Its device (custodian: the receiver).
    pub device: Device,
    /// `01/BB-STTTT`.
    pub notation: String,
    /// The minutes PDF waiting for signatures.
    pub path: PathBuf,
}

/// A key opened by the front end (keystore, PKCS#12, token) with its certificate chain,
/// signer first.
#[derive(Debug, Clone, Copy)]
pub struct LocalKey<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// Its certificate first, then issuers (completed here through AIA when short).
    pub chain: &'a [Certificate],
}

/// The minutes after a party signed them.
#[derive(Debug, Clone)]
pub struct MinutesSigned {
    /// The handover.
    pub handover: Handover,
    /// The signer.
    pub signer: User,
    /// The minutes now.
    pub path: PathBuf,
    /// Notes (issuer certificates that could not be fetched).
    pub warnings: Vec<String>,
}

/// Where sealing starts.
#[derive(Debug, Clone)]
pub struct SealStart {
    /// The handover.
    pub handover: Handover,
    /// Its device (the key to open: [`Device::key_id`] on the token [`Device::serial`]).
    pub device: Device,
    /// Sealed before: where the archived minutes are (the archiving an earlier failure
    /// interrupted is now done); nothing left to seal.
    pub sealed: Option<PathBuf>,
}

/// The minutes sealed.
#[derive(Debug, Clone)]
pub struct MinutesSealed {
    /// The completed handover.
    pub handover: Handover,
    /// Where the minutes are: the archive, or the device folder when archiving failed.
    pub path: PathBuf,
    /// Why the sealed minutes are not yet in the archive (sealing again finishes it).
    pub archive_error: Option<AppError>,
    /// Notes (issuer certificates that could not be fetched).
    pub warnings: Vec<String>,
}

/// Permission to sign with the agency's device, given to its custodian before the token
/// is opened.
#[derive(Debug, Clone)]
pub struct DevicePermit {
    actor: Actor,
    device: Device,
    file: PathBuf,
}

impl DevicePermit {
    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The custodian signing.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

// ----------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(bytes))
}

/// Upper-case hex of a certificate's serial number.
pub fn certificate_serial(cert: &Certificate) -> String {
    hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes())
}

/// `e` with a Vietnamese and an English prefix saying what was being done.
fn within(
    e: impl Into<AppError>,
    vi: impl std::fmt::Display,
    en: impl std::fmt::Display,
) -> AppError {
    let mut e = e.into();
    e.vi = format!("{vi}: {}", e.vi);
    e.en = format!("{en}: {}", e.en);
    e
}

fn no_user(name: &str) -> AppError {
    AppError::not_found(
        format!("cơ quan không có người dùng {name}"),
        format!("no user {name} in the agency"),
    )
}

fn parse_roles(keys: &[String]) -> AppResult<BTreeSet<Role>> {
    keys.iter()
        .map(|k| Role::parse(k).map_err(AppError::from))
        .collect()
}

/// The signed-in person acting (custody steps are a person's, never a token's or the
/// operator's).
fn person(actor: &Actor) -> AppResult<&User> {
    actor.user().ok_or_else(|| {
        AppError::new(
            Kind::Unauthenticated,
            "person_required",
            "việc này phải do người dùng đã đăng nhập thực hiện",
            "a signed-in person must do this",
        )
    })
}

/// Reading the agency's users, devices and handovers: any active person of the agency
/// (and the operator), no API token.
fn may_read(actor: &Actor) -> AppResult<()> {
    if let Actor::Token(token) = actor {
        return Err(AppError::new(
            Kind::Forbidden,
            "not_for_tokens",
            format!(
                "mã truy cập {} không được xem người dùng và thiết bị; cần người dùng đăng nhập",
                token.name
            ),
            format!(
                "API token {} may not read users and devices; a signed-in person must",
                token.name
            ),
        ));
    }
    authorize(actor, Action::ViewDocuments)
}

fn png(bytes: &[u8]) -> AppResult<()> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(())
    } else {
        Err(AppError::invalid(
            "not_png",
            "ảnh không phải tệp PNG",
            "the image is not a PNG file",
        ))
    }
}

fn party(user: &User) -> MinutesParty {
    MinutesParty {
        full_name: user.full_name.clone(),
        title: user.title.clone(),
        unit: user.unit.clone(),
    }
}

fn time_of(t: &x509_cert::time::Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
    )
    .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The minutes as they stand: `handover-<id>-minutes-<n>.pdf` with `n` signatures. Each
/// signature writes the next file first and only then records it (with its SHA-256) in
/// the handover row, the commit point; so a crash leaves the recorded file intact.
pub fn minutes_path(data: &Path, handover: &Handover) -> PathBuf {
    device_dir(data, &handover.device).join(format!(
        "handover-{}-minutes-{}.pdf",
        handover.id.unwrap_or_default(),
        handover.minutes_signatures.len()
    ))
}

/// The sealed minutes before they are archived: `handover-<id>-minutes.pdf`.
pub fn final_minutes_path(data: &Path, handover: &Handover) -> PathBuf {
    device_dir(data, &handover.device).join(format!(
        "handover-{}-minutes.pdf",
        handover.id.unwrap_or_default()
    ))
}

/// The text that links a minutes register entry to its handover (its notes field).
fn minutes_link(id: i64) -> String {
    format!("kyso-handover:{id}")
}

impl App {
    /// Records a custody event.
    async fn note(&self, event: AuditEvent) -> AppResult<()> {
        self.record(event).await.map(|_| ())
    }

    /// Authorises `actor` for `action`; a refusal is recorded with its code and message.
    async fn permit(&self, actor: &Actor, action: Action<'_>, object: &str) -> AppResult<()> {
        match authorize(actor, action) {
            Ok(()) => Ok(()),
            Err(refusal) => {
                self.note(
                    AuditEvent::new(
                        actor.audit_name(),
                        AuditAction::of(&action),
                        object,
                        Outcome::Refused,
                    )
                    .with("reason", refusal.code.clone())
                    .with("message", refusal.en.clone()),
                )
                .await?;
                Err(refusal)
            }
        }
    }

    async fn hash(&self, password: Zeroizing<String>) -> AppResult<String> {
        let salt: [u8; 16] = rand::random();
        tokio::task::spawn_blocking(move || hash_password(&password, &salt))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }

    fn signature_image_path(&self, agency: &AgencyId, name: &str) -> PathBuf {
        user_dir(self.data(), agency, name).join("signature.png")
    }

    fn put_png(&self, path: &Path, bytes: &[u8]) -> AppResult<()> {
        png(bytes)?;
        Ok(kyso_store::write_atomic(path, bytes, false)?)
    }

    // ------------------------------------------------------------------------------
    // Users
    // ------------------------------------------------------------------------------

    /// Whether the agency has any user yet (its first user needs no login).
    pub async fn agency_has_users(&self, agency: &AgencyId) -> AppResult<bool> {
        Ok(!self.archive().users(agency).await?.is_empty())
    }

    /// Adds a user to the actor's agency (administrators). The agency's first user is
    /// added by the operator of the data directory and must be an administrator; it is
    /// recorded as adding itself.
    pub async fn add_user(&self, actor: &Actor, new: NewUser) -> AppResult<User> {
        let agency = actor.agency().clone();
        let now = self.now();
        let roles = parse_roles(&new.roles)?;
        let first =
            matches!(actor, Actor::Operator { .. }) && !self.agency_has_users(&agency).await?;
        let by = if first {
            if !roles.contains(&Role::Administrator) {
                return Err(AppError::invalid(
                    "first_user_not_administrator",
                    "người dùng đầu tiên của cơ quan phải có vai trò administrator",
                    "the agency's first user must be an administrator",
                ));
            }
            new.name.clone()
        } else {
            self.permit(actor, Action::ManageUsers, &new.name).await?;
            actor.audit_name()
        };
        let mut user = User::new(agency.clone(), &new.name, &new.full_name, roles)?;
        user.title = new.title.trim().to_string();
        user.unit = new.unit.trim().to_string();
        if let Some(password) = new.password {
            user.password_hash = Some(self.hash(password).await?);
        }
        if let Some(cert) = &new.certificate {
            user.set_certificate(cert)?;
        }
        if let Some(image) = &new.signature_image {
            self.put_png(&self.signature_image_path(&agency, &user.name), image)?;
        }
        self.archive().create_user(&user, now).await.map_err(|e| {
            within(
                e,
                format!("không thêm được người dùng {}", user.name),
                format!("cannot add user {}", user.name),
            )
        })?;
        let keys: Vec<&str> = user.roles.iter().map(|r| r.key()).collect();
        self.note(
            AuditEvent::new(by, AuditAction::Permission, &user.name, Outcome::Succeeded)
                .with("change", "user_added")
                .with("roles", keys.join(",")),
        )
        .await?;
        Ok(user)
    }

    /// Changes a user of the actor's agency: roles and status (administrators), password,
    /// certificate and signature image (administrators, or the user themselves). Their
    /// web sessions end. Returns the user and the changes made (as recorded).
    pub async fn change_user(
        &self,
        actor: &Actor,
        name: &str,
        change: UserChange,
    ) -> AppResult<(User, Vec<String>)> {
        let now = self.now();
        let mut user = self
            .archive()
            .user(actor.agency(), name)
            .await?
            .ok_or_else(|| no_user(name))?;
        let oneself = actor.user().is_some_and(|u| u.name == user.name);
        if change.needs_administrator() || !oneself {
            self.permit(actor, Action::ManageUsers, &user.name).await?;
        }
        let mut changes = Vec::new();
        for r in parse_roles(&change.add_roles)? {
            if user.roles.insert(r) {
                changes.push(format!("+{r}"));
            }
        }
        for r in parse_roles(&change.remove_roles)? {
            if user.roles.remove(&r) {
                changes.push(format!("-{r}"));
            }
        }
        if change.disable {
            user.active = false;
            changes.push("disabled".into());
        }
        if change.enable {
            user.active = true;
            user.failed_logins = 0;
            user.locked_until = None;
            changes.push("enabled".into());
        }
        if let Some(password) = change.password {
            user.password_hash = Some(self.hash(password).await?);
            changes.push("password".into());
        }
        if let Some(cert) = &change.certificate {
            changes.push(format!("certificate {}", certificate_serial(cert)));
            user.set_certificate(cert)?;
        }
        if let Some(image) = &change.signature_image {
            self.put_png(&self.signature_image_path(&user.agency, &user.name), image)?;
            changes.push("signature_image".into());
        }
        self.archive().update_user(&user, now).await?;
        // Roles, password or status changed: the user's web sessions end (next request:
        // 401).
        self.archive()
            .delete_user_sessions(&user.agency, &user.name)
            .await?;
        self.note(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::Permission,
                &user.name,
                Outcome::Succeeded,
            )
            .with("change", changes.join(" ")),
        )
        .await?;
        Ok((user, changes))
    }

    /// The users of the actor's agency.
    pub async fn users(&self, actor: &Actor) -> AppResult<Vec<User>> {
        may_read(actor)?;
        Ok(self.archive().users(actor.agency()).await?)
    }

    // ------------------------------------------------------------------------------
    // Certificate login
    // ------------------------------------------------------------------------------

    /// Starts a certificate login: a fresh challenge for the user's registered
    /// certificate. A locked account, an unknown user or one without a certificate is
    /// refused here (and recorded like any failed login).
    pub async fn certificate_challenge(
        &self,
        agency: &AgencyId,
        name: &str,
    ) -> AppResult<CertificateChallenge> {
        let user = self.archive().user(agency, name).await?;
        self.refuse_if_locked(name, user.as_ref()).await?;
        let certificate = match &user {
            None => Err(LoginFailure {
                reason: "unknown_user",
            }),
            Some(u) => u.certificate().ok().flatten().ok_or(LoginFailure {
                reason: "no_certificate",
            }),
        };
        let certificate = match certificate {
            Ok(c) => c,
            Err(failure) => {
                return match self
                    .finish_login(name, user, Err(failure), "certificate")
                    .await
                {
                    Ok(_) => Err(AppError::internal("a failed login succeeded")),
                    Err(e) => Err(e),
                };
            }
        };
        let nonce: [u8; 32] = rand::random();
        let issued = self.now().unix_timestamp();
        Ok(CertificateChallenge {
            agency: agency.clone(),
            name: name.to_string(),
            bytes: login_challenge(agency, name, &nonce, issued),
            certificate,
            issued,
        })
    }

    /// Finishes a certificate login: `response` is the challenge signed on the user's
    /// token, or why the token could not sign it. The certificate must be trusted now
    /// ([`App::login_certificate_trusted`]) and the signature fresh and made with its key.
    /// Recorded (method `certificate`); a failure is answered like a wrong password.
    pub async fn certificate_login(
        &self,
        challenge: CertificateChallenge,
        response: Result<ChallengeSignature, LoginFailure>,
    ) -> AppResult<User> {
        let user = self
            .archive()
            .user(&challenge.agency, &challenge.name)
            .await?;
        let checked = match (&user, response) {
            (None, _) => Err(LoginFailure {
                reason: "unknown_user",
            }),
            (Some(_), Err(failure)) => Err(failure),
            (Some(u), Ok(signed)) => {
                let trusted = {
                    let (app, cert) = (self.clone(), challenge.certificate.clone());
                    tokio::task::spawn_blocking(move || {
                        app.login_certificate_trusted(&cert, app.now())
                    })
                    .await
                    .map_err(AppError::internal)?
                };
                match trusted {
                    Err(_) => Err(LoginFailure {
                        reason: "certificate_untrusted",
                    }),
                    Ok(())
                        if u.certificate().ok().flatten().as_ref()
                            != Some(&challenge.certificate) =>
                    {
                        Err(LoginFailure {
                            reason: "certificate_mismatch",
                        })
                    }
                    Ok(()) => check_certificate_login(
                        Some(u),
                        &challenge.bytes,
                        challenge.issued,
                        &signed.algorithm,
                        &signed.signature,
                        self.now(),
                    ),
                }
            }
        };
        self.finish_login(&challenge.name, user, checked, "certificate")
            .await
    }

    /// When the installation has its own trust anchors (`<data>/trust`, `kyso trust
    /// add`), a login certificate must chain to them or to the built-in list and be
    /// unrevoked at `at` (CRLs fetched from the chain's distribution points). Without
    /// its own anchors the administrator's registration of the certificate is the only
    /// trust decision. Blocking (fetches).
    pub fn login_certificate_trusted(
        &self,
        cert: &Certificate,
        at: OffsetDateTime,
    ) -> AppResult<()> {
        let (anchors, own) = crate::verify::installation_anchors(self.data())?;
        if own == 0 {
            return Ok(());
        }
        let untrusted = |vi: String, en: String| {
            AppError::new(Kind::Unauthenticated, "certificate_untrusted", vi, en)
        };
        let mut chain = vec![cert.clone()];
        let _ = crate::trust::complete_chain(&mut chain, self.fetcher());
        // Unreachable CRLs show as an indeterminate path below.
        let mut crls: Vec<Vec<u8>> = Vec::new();
        for c in &chain {
            for url in kyso_cades::verify::crl_urls(c) {
                if let Ok(crl) = self.fetcher().get(&url)
                    && !crls.contains(&crl)
                {
                    crls.push(crl);
                }
            }
        }
        let encode = |c: &Certificate| c.to_der().map_err(AppError::internal);
        let intermediates = chain[1..]
            .iter()
            .map(encode)
            .collect::<AppResult<Vec<_>>>()?;
        let outcome = kyso_pki::validate_path(
            &anchors,
            &kyso_pki::path::PathInput {
                end_entity: &encode(cert)?,
                intermediates: &intermediates,
                crls: &crls,
                ocsp_responses: &[],
                time: at,
            },
            &kyso_pki::path::PathPolicy::default(),
        )
        .map_err(|e| {
            untrusted(
                format!("chứng thư số đăng nhập không kiểm tra được: {e}"),
                format!("the login certificate cannot be checked: {e}"),
            )
        })?;
        if !outcome.status.is_valid() {
            return Err(untrusted(
                format!("chứng thư số đăng nhập không hợp lệ: {:?}", outcome.status),
                format!("the login certificate is not valid: {:?}", outcome.status),
            ));
        }
        if matches!(
            outcome.end_entity_revocation,
            kyso_pki::path::RevocationInfo::Revoked { .. }
        ) {
            return Err(untrusted(
                "chứng thư số đăng nhập đã bị thu hồi".into(),
                "the login certificate is revoked".into(),
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // Devices
    // ------------------------------------------------------------------------------

    /// Checks, before the token is opened, that the actor may register a device with
    /// `custodian` as its first custodian; returns the custodian.
    pub async fn check_device_registration(
        &self,
        actor: &Actor,
        custodian: &str,
    ) -> AppResult<User> {
        self.permit(actor, Action::RegisterDevice, "device").await?;
        let user = self
            .archive()
            .user(actor.agency(), custodian)
            .await?
            .ok_or_else(|| no_user(custodian))?;
        if !user.has(Role::Custodian) || !user.active {
            return Err(AppError::invalid(
                "not_custodian_role",
                format!("{} không có vai trò custodian", user.name),
                format!("{} does not have the custodian role", user.name),
            ));
        }
        Ok(user)
    }

    /// Registers the agency's signing device from what was read on the token
    /// (administrators).
    pub async fn register_device(
        &self,
        actor: &Actor,
        registration: DeviceRegistration,
    ) -> AppResult<Device> {
        let custodian = self
            .check_device_registration(actor, &registration.custodian)
            .await?;
        let certificate = registration
            .certificate
            .to_der()
            .map_err(AppError::internal)?;
        let device = Device {
            agency: actor.agency().clone(),
            serial: registration.serial,
            label: registration.label,
            manufacturer: registration.manufacturer,
            model: registration.model,
            slot: registration.slot,
            key_id: registration.key_id,
            certificate: hex::encode(certificate),
            custodian: custodian.name,
            registered_at: self.now(),
            registered_by: actor.audit_name(),
        };
        if let Some(image) = &registration.seal_image {
            self.put_png(
                &device_dir(self.data(), &device.serial).join("seal.png"),
                image,
            )?;
        }
        self.archive().register_device(&device).await.map_err(|e| {
            within(
                e,
                format!("không đăng ký được thiết bị {}", device.serial),
                format!("cannot register device {}", device.serial),
            )
        })?;
        self.note(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::DeviceRegister,
                &device.serial,
                Outcome::Succeeded,
            )
            .with("custodian", device.custodian.clone())
            .with(
                "certificate_serial",
                certificate_serial(&registration.certificate),
            ),
        )
        .await?;
        Ok(device)
    }

    /// The devices of the actor's agency.
    pub async fn devices(&self, actor: &Actor) -> AppResult<Vec<Device>> {
        may_read(actor)?;
        Ok(self.archive().devices(actor.agency()).await?)
    }

    /// One device of the actor's agency with its handovers.
    pub async fn device_history(
        &self,
        actor: &Actor,
        serial: &str,
    ) -> AppResult<(Device, Vec<Handover>)> {
        may_read(actor)?;
        let device = self
            .archive()
            .device(serial)
            .await?
            .filter(|d| &d.agency == actor.agency())
            .ok_or_else(|| {
                AppError::not_found(
                    format!("không có thiết bị {serial}"),
                    format!("no device {serial}"),
                )
            })?;
        let handovers = self
            .archive()
            .handovers(actor.agency(), Some(serial))
            .await?;
        Ok((device, handovers))
    }

    /// The handovers of the actor's agency.
    pub async fn handovers(&self, actor: &Actor) -> AppResult<Vec<Handover>> {
        may_read(actor)?;
        Ok(self.archive().handovers(actor.agency(), None).await?)
    }

    // ------------------------------------------------------------------------------
    // Handovers
    // ------------------------------------------------------------------------------

    async fn load_handover(&self, actor: &Actor, id: i64) -> AppResult<(Handover, Device)> {
        let handover = self
            .archive()
            .handover(id)
            .await?
            .filter(|h| &h.agency == actor.agency())
            .ok_or_else(|| {
                AppError::not_found(
                    format!("cơ quan không có việc bàn giao {id}"),
                    format!("no handover {id} in the agency"),
                )
            })?;
        let device = self
            .archive()
            .device(&handover.device)
            .await?
            .ok_or_else(|| {
                AppError::not_found(
                    format!("thiết bị {} chưa được đăng ký", handover.device),
                    format!("device {} is not registered", handover.device),
                )
            })?;
        Ok((handover, device))
    }

    /// The current custodian asks to hand the device to another custodian, citing the
    /// head's written permission.
    pub async fn request_handover(
        &self,
        actor: &Actor,
        request: HandoverRequest,
    ) -> AppResult<Handover> {
        let now = self.now();
        let agency = actor.agency();
        let device = self
            .archive()
            .device(&request.device)
            .await?
            .filter(|d| &d.agency == agency)
            .ok_or_else(|| {
                AppError::not_found(
                    format!(
                        "thiết bị {} chưa được đăng ký trong cơ quan",
                        request.device
                    ),
                    format!("device {} is not registered in the agency", request.device),
                )
            })?;
        let receiver = self
            .archive()
            .user(agency, &request.receiver)
            .await?
            .ok_or_else(|| no_user(&request.receiver))?;
        self.permit(
            actor,
            Action::RequestHandover {
                device: &device,
                receiver: &receiver,
            },
            &device.serial,
        )
        .await?;
        let giver = person(actor)?;
        let handover = Handover::request(
            &device,
            giver,
            &receiver,
            &request.permission,
            request.witnesses,
            &request.condition,
            now,
        )?;
        let stored = self
            .archive()
            .create_handover(&handover)
            .await
            .map_err(|e| {
                within(
                    e,
                    "không ghi nhận được đề nghị (thiết bị đang có một việc bàn giao khác?)",
                    "cannot record the request (another handover of this device in progress?)",
                )
            })?;
        self.note(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::HandoverRequest,
                &device.serial,
                Outcome::Succeeded,
            )
            .with("handover", stored.id.unwrap_or_default().to_string())
            .with("receiver", receiver.name.clone()),
        )
        .await?;
        Ok(stored)
    }

    /// Approves or refuses a requested handover (a leader who is neither party), or
    /// withdraws one (the giver or an administrator).
    pub async fn decide_handover(
        &self,
        actor: &Actor,
        id: i64,
        decision: HandoverDecision,
        reason: &str,
    ) -> AppResult<Handover> {
        let now = self.now();
        let (mut handover, _) = self.load_handover(actor, id).await?;
        let (action, key) = match decision {
            HandoverDecision::Approve => (
                Action::DecideHandover(&handover),
                AuditAction::HandoverApprove,
            ),
            HandoverDecision::Refuse => (
                Action::DecideHandover(&handover),
                AuditAction::HandoverRefuse,
            ),
            HandoverDecision::Cancel => (
                Action::CancelHandover(&handover),
                AuditAction::HandoverCancel,
            ),
        };
        self.permit(actor, action, &handover.device).await?;
        if decision != HandoverDecision::Cancel {
            person(actor)?;
        }
        let from = handover.decide(decision, &actor.audit_name(), reason, now)?;
        self.archive().update_handover(&handover, from, now).await?;
        self.note(
            AuditEvent::new(
                actor.audit_name(),
                key,
                &handover.device,
                Outcome::Succeeded,
            )
            .with("handover", id.to_string()),
        )
        .await?;
        Ok(handover)
    }

    /// Before the receiver touches the token: may the actor accept handover `id`?
    /// (Or was custody already moved, and only the minutes remain?)
    pub async fn start_acceptance(&self, actor: &Actor, id: i64) -> AppResult<AcceptStart> {
        let (handover, device) = self.load_handover(actor, id).await?;
        if let Some(receiver) = actor.user()
            && handover.needs_minutes()
            && handover.receiver == receiver.name
        {
            return Ok(AcceptStart {
                handover,
                device,
                resume: true,
            });
        }
        self.permit(actor, Action::AcceptHandover(&handover), &handover.device)
            .await?;
        person(actor)?;
        Ok(AcceptStart {
            handover,
            device,
            resume: false,
        })
    }

    /// The receiver accepts handover `id`: after the token step (the giver's PIN opened
    /// the device and the receiver set a new one), custody moves, and the minutes take
    /// the next number of the minutes register and are drawn up. After an interrupted
    /// acceptance ([`TokenStep::Skipped`]), only the minutes are drawn up (with the
    /// number already taken).
    pub async fn accept_handover(
        &self,
        actor: &Actor,
        id: i64,
        token: TokenStep,
        options: &MinutesOptions,
    ) -> AppResult<MinutesDrawn> {
        let now = self.now();
        let receiver = person(actor)?.clone();
        let (mut handover, device) = self.load_handover(actor, id).await?;
        let serial = handover.device.clone();
        let failed = |reason: String| {
            AuditEvent::new(
                &receiver.name,
                AuditAction::HandoverAccept,
                &serial,
                Outcome::Failed,
            )
            .with("reason", reason)
            .with("handover", id.to_string())
        };
        match token {
            TokenStep::Skipped => {
                if !(handover.needs_minutes() && handover.receiver == receiver.name) {
                    return Err(AppError::new(
                        Kind::Conflict,
                        "token_step_missing",
                        "chưa đổi mã PIN của thiết bị: chưa thể nhận bàn giao",
                        "the device PIN was not changed: the handover cannot be accepted",
                    ));
                }
            }
            TokenStep::OldPinRejected(error) => {
                self.note(failed("old_pin_rejected".into())).await?;
                return Err(AppError::new(
                    Kind::Forbidden,
                    "old_pin_rejected",
                    format!("mã PIN bên giao cung cấp không mở được thiết bị: {error}"),
                    format!("the giver's PIN does not open the device: {error}"),
                ));
            }
            TokenStep::PinChanged => {
                self.permit(actor, Action::AcceptHandover(&handover), &handover.device)
                    .await?;
                // Custody moves (compare-and-set on the handover and on the custodian).
                handover.accept(now)?;
                if let Err(e) = self.archive().accept_handover(&handover, now).await {
                    self.note(failed(format!("pin_changed_but_not_recorded: {e}")))
                        .await?;
                    let mut e = within(
                        e,
                        "mã PIN đã đổi nhưng chưa ghi nhận được việc nhận bàn giao",
                        "the PIN was changed but the acceptance could not be recorded",
                    );
                    e.code = "acceptance_not_recorded".into();
                    return Err(e);
                }
                self.note(
                    AuditEvent::new(
                        &receiver.name,
                        AuditAction::HandoverAccept,
                        &handover.device,
                        Outcome::Succeeded,
                    )
                    .with("handover", id.to_string())
                    .with("from", handover.giver.clone())
                    .with("pin_changed", "true"),
                )
                .await?;
            }
        }
        self.draw_up_minutes(actor, handover, device, &receiver, options)
            .await
    }

    /// The receiver accepts handover `id` with the device attached to this machine (the
    /// server's PKCS#11 module): the token step ([`change_device_pin`]) with the PINs
    /// given for this request only, then [`App::accept_handover`]. After an interrupted
    /// acceptance the token is not touched again and only the minutes are drawn up.
    pub async fn accept_handover_with_device(
        &self,
        actor: &Actor,
        id: i64,
        pins: PinChange,
        options: &MinutesOptions,
    ) -> AppResult<MinutesDrawn> {
        let start = self.start_acceptance(actor, id).await?;
        let step = if start.resume {
            TokenStep::Skipped
        } else {
            check_new_pin(&pins.new)?;
            let module = self.pkcs11_module().ok_or_else(no_device_module)?;
            let device = start.device.clone();
            tokio::task::spawn_blocking(move || -> AppResult<TokenStep> {
                let module = kyso_pkcs11::Module::open(&module).map_err(|e| {
                    AppError::new(
                        Kind::Unavailable,
                        "device_module",
                        format!("không mở được thư viện PKCS#11 của thiết bị ký số: {e}"),
                        format!("cannot load the signing device's PKCS#11 module: {e}"),
                    )
                })?;
                change_device_pin(&module, &device, &pins.old, &pins.new)
            })
            .await
            .map_err(AppError::internal)??
        };
        self.accept_handover(actor, id, step, options).await
    }

    /// Steps after custody moved: number the minutes (once, even across a crash: an
    /// entry already linked to this handover is reused) and render them.
    async fn draw_up_minutes(
        &self,
        actor: &Actor,
        mut handover: Handover,
        mut device: Device,
        receiver: &User,
        options: &MinutesOptions,
    ) -> AppResult<MinutesDrawn> {
        let now = self.now();
        let agency = actor.agency().clone();
        let id = handover.id.unwrap_or_default();
        device.custodian = receiver.name.clone();
        let giver = self
            .archive()
            .user(&agency, &handover.giver)
            .await?
            .ok_or_else(|| no_user(&handover.giver))?;
        let approver = match &handover.approver {
            Some(name) => self.archive().user(&agency, name).await?,
            None => None,
        }
        .ok_or_else(|| {
            AppError::new(
                Kind::Conflict,
                "no_approver",
                "việc bàn giao chưa có người phê duyệt",
                "the handover has no approver",
            )
        })?;
        let mut witnesses = Vec::new();
        for w in &handover.witnesses {
            witnesses.push(match self.archive().user(&agency, w).await? {
                Some(u) => party(&u),
                None => MinutesParty {
                    full_name: w.clone(),
                    title: String::new(),
                    unit: String::new(),
                },
            });
        }
        let subject = format!(
            "Biên bản bàn giao thiết bị chữ ký số {} từ {} cho {}",
            device.serial, giver.full_name, receiver.full_name
        );
        let link = minutes_link(id);
        let existing = self
            .archive()
            .documents(&DocumentQuery {
                agency: Some(agency.clone()),
                document_type: Some(DocumentType::BienBan),
                ..DocumentQuery::default()
            })
            .await?
            .into_iter()
            .find(|d| d.metadata.description.as_deref() == Some(link.as_str()));
        let record = match existing {
            Some(record) => record,
            None => {
                self.number_minutes(&agency, options, &subject, &link, &receiver.name)
                    .await?
            }
        };
        let notation = format!(
            "{}/{}",
            record.metadata.code_number.clone().unwrap_or_default(),
            record.metadata.code_notation.clone().unwrap_or_default()
        );
        let cert = device.certificate()?;
        let validity = cert.tbs_certificate().validity();
        let minutes = HandoverMinutes {
            parent_agency: options.parent_agency.clone(),
            agency_name: options.agency_name.to_uppercase(),
            notation: notation.clone(),
            place: options.place.clone(),
            time: now,
            end_time: None,
            location: options.location.clone(),
            permission_reference: handover.permission_reference.clone(),
            approver: party(&approver),
            giver: party(&giver),
            receiver: party(receiver),
            witnesses,
            device: DeviceFacts {
                label: device.label.clone(),
                manufacturer: device.manufacturer.clone(),
                model: device.model.clone(),
                serial: device.serial.clone(),
                key_id: device.key_id.clone(),
            },
            certificate: CertificateFacts {
                serial: certificate_serial(&cert),
                subject: cert.tbs_certificate().subject().to_string(),
                issuer: cert.tbs_certificate().issuer().to_string(),
                not_before: time_of(&validity.not_before),
                not_after: time_of(&validity.not_after),
            },
            condition: handover.condition.clone(),
        };
        let pdf = minutes_pdf(&minutes)?;
        let path = minutes_path(self.data(), &handover);
        kyso_store::write_atomic(&path, &pdf, false)?;
        handover.minutes_drawn_up(notation.clone(), record.id, sha256_hex(&pdf));
        self.archive()
            .update_handover(&handover, HandoverState::Accepted, now)
            .await?;
        Ok(MinutesDrawn {
            handover,
            device,
            notation,
            path,
        })
    }

    /// Takes the next number of the agency's minutes register for a handover's minutes.
    async fn number_minutes(
        &self,
        agency: &AgencyId,
        options: &MinutesOptions,
        subject: &str,
        link: &str,
        by: &str,
    ) -> AppResult<kyso_office::DocumentRecord> {
        let (now, today) = self.now_and_today();
        let registered = self
            .office()
            .register_outgoing(
                OutgoingRequest {
                    agency: agency.clone(),
                    date: today,
                    document_type: DocumentType::BienBan,
                    secrecy: Secrecy::None,
                    urgency: Urgency::Thuong,
                    // Signed electronically; as internal minutes the agency's list of
                    // types issued electronically does not apply (kyso-office).
                    electronic: true,
                    number: OutgoingNumber::Minutes {
                        issuer: options.issuer.clone(),
                    },
                    state: OutgoingState::Numbered,
                    metadata: Metadata {
                        organ_name: options.agency_name.clone(),
                        subject: subject.to_string(),
                        description: Some(link.to_string()),
                        ..Metadata::default()
                    },
                    original: None,
                },
                None,
                now,
            )
            .await?;
        let record = registered.record;
        self.note(
            AuditEvent::new(
                by,
                AuditAction::Number,
                record.id.unwrap_or_default().to_string(),
                Outcome::Succeeded,
            )
            .with(
                "notation",
                format!(
                    "{}/{}",
                    record.metadata.code_number.clone().unwrap_or_default(),
                    record.metadata.code_notation.clone().unwrap_or_default()
                ),
            )
            .with("register", "minutes"),
        )
        .await?;
        Ok(record)
    }

    /// The minutes as recorded, unchanged since.
    fn read_minutes(&self, handover: &Handover) -> AppResult<Vec<u8>> {
        let path = minutes_path(self.data(), handover);
        let pdf = fs::read(&path).map_err(|e| {
            AppError::new(
                Kind::Conflict,
                "minutes_missing",
                format!("không đọc được biên bản {}: {e}", path.display()),
                format!("cannot read the minutes {}: {e}", path.display()),
            )
        })?;
        if handover.minutes_sha256.as_deref() != Some(sha256_hex(&pdf).as_str()) {
            return Err(AppError::new(
                Kind::Conflict,
                "minutes_changed",
                format!("biên bản {} đã bị thay đổi ngoài kyso", path.display()),
                format!(
                    "the minutes file {} was changed outside kyso",
                    path.display()
                ),
            ));
        }
        Ok(pdf)
    }

    /// Saves the next version of the minutes and records it in the handover row
    /// (compare-and-set from `accepted`), then removes the previous version.
    async fn save_minutes(
        &self,
        handover: &Handover,
        signer: MinutesSigner,
        signed: &[u8],
    ) -> AppResult<(Handover, PathBuf)> {
        let now = self.now();
        let previous = minutes_path(self.data(), handover);
        let next = handover.minutes_signed(signer, sha256_hex(signed), now)?;
        let path = if signer == MinutesSigner::Seal {
            final_minutes_path(self.data(), &next)
        } else {
            minutes_path(self.data(), &next)
        };
        kyso_store::write_atomic(&path, signed, false)?;
        self.archive()
            .update_handover(&next, HandoverState::Accepted, now)
            .await?;
        let _ = fs::remove_file(previous);
        Ok((next, path))
    }

    /// Completes a key's chain through AIA (off the async threads).
    async fn full_chain(
        &self,
        chain: &[Certificate],
    ) -> AppResult<(Vec<Certificate>, Vec<String>)> {
        let mut chain = chain.to_vec();
        let fetcher = self.fetcher_arc();
        tokio::task::spawn_blocking(move || {
            let warnings = crate::trust::complete_chain(&mut chain, fetcher.as_ref());
            (chain, warnings)
        })
        .await
        .map_err(AppError::internal)
    }

    /// Before the key is opened: may the actor sign the minutes of handover `id` as
    /// `who` (giver or receiver)? Returns the handover and its device (whose token must
    /// not be used for a personal signature).
    pub async fn check_minutes_signing(
        &self,
        actor: &Actor,
        id: i64,
        who: MinutesSigner,
    ) -> AppResult<(Handover, Device)> {
        if who == MinutesSigner::Seal {
            return Err(AppError::invalid(
                "seal_with_device",
                "biên bản được đóng dấu bằng thiết bị của cơ quan",
                "the minutes are sealed with the agency's device",
            ));
        }
        let (handover, device) = self.load_handover(actor, id).await?;
        self.permit(actor, Action::SignMinutes(&handover, who), &handover.device)
            .await?;
        person(actor)?;
        self.read_minutes(&handover)?;
        Ok((handover, device))
    }

    /// Checks the certificate a party signs the minutes with: personal (never the
    /// agency's device) and, when the user registered one, that one. Refusals recorded.
    async fn check_party_certificate(
        &self,
        user: &User,
        device: &Device,
        certificate: &Certificate,
    ) -> AppResult<()> {
        let event = |outcome| {
            AuditEvent::new(
                &user.name,
                AuditAction::HandoverSign,
                &device.serial,
                outcome,
            )
        };
        if device.certificate().ok().as_ref() == Some(certificate) {
            self.note(event(Outcome::Refused).with("reason", "device_not_personal"))
                .await?;
            return Err(AppError::invalid(
                "device_not_personal",
                "biên bản được ký bằng chứng thư số cá nhân, không phải thiết bị của cơ quan",
                "the minutes are signed with a personal certificate, not the agency's device",
            ));
        }
        if let Some(registered) = user.certificate()?
            && &registered != certificate
        {
            self.note(event(Outcome::Refused).with("reason", "not_registered_certificate"))
                .await?;
            return Err(AppError::new(
                Kind::Forbidden,
                "not_registered_certificate",
                format!(
                    "chứng thư số không phải chứng thư đã đăng ký của {}",
                    user.name
                ),
                format!(
                    "the certificate is not {}'s registered certificate",
                    user.name
                ),
            ));
        }
        Ok(())
    }

    /// The minutes as recorded, as a working copy to sign.
    fn minutes_working(&self, handover: &Handover) -> Working {
        Working {
            content: minutes_path(self.data(), handover),
            signature: None,
            sha: handover.minutes_sha256.clone().unwrap_or_default(),
        }
    }

    /// How a party's signature on the minutes looks: visible (the user's signature
    /// image at their name) when they registered an image; and the image.
    fn party_look(&self, who: MinutesSigner, user: &User) -> (PdfLook, Vec<u8>) {
        let image = fs::read(self.signature_image_path(&user.agency, &user.name)).ok();
        let role = if image.is_some() {
            PdfRole::Leader
        } else {
            PdfRole::Invisible
        };
        let reason = match who {
            MinutesSigner::Giver => "Bên giao ký biên bản bàn giao thiết bị chữ ký số",
            _ => "Bên nhận ký biên bản bàn giao thiết bị chữ ký số",
        };
        let look = PdfLook {
            role,
            anchor: Some(user.full_name.clone()),
            reason: reason.to_string(),
        };
        (look, image.unwrap_or_default())
    }

    /// A party's signature on the minutes: everything but the key.
    fn party_job(
        &self,
        handover: &Handover,
        who: MinutesSigner,
        user: &User,
        certificates: Vec<Certificate>,
        algorithm: kyso_signer::SignatureAlgorithm,
    ) -> SigningJob {
        let (look, image) = self.party_look(who, user);
        SigningJob {
            working: self.minutes_working(handover),
            look,
            certificates,
            image,
            time: self.now(),
            algorithm,
        }
    }

    /// Keeps a party's signature: the next version saved and recorded (the commit
    /// point), the event logged.
    async fn keep_party_signature(
        &self,
        handover: &Handover,
        who: MinutesSigner,
        user: User,
        certificate: &Certificate,
        signed: &[u8],
        warnings: Vec<String>,
    ) -> AppResult<MinutesSigned> {
        let (handover, path) = self.save_minutes(handover, who, signed).await?;
        self.note(
            AuditEvent::new(
                &user.name,
                AuditAction::HandoverSign,
                &handover.device,
                Outcome::Succeeded,
            )
            .with("as", party_key(who))
            .with("certificate_serial", certificate_serial(certificate))
            .with("sha256", sha256_hex(signed)),
        )
        .await?;
        Ok(MinutesSigned {
            handover,
            signer: user,
            path,
            warnings,
        })
    }

    /// A failed signing step of the minutes, recorded.
    async fn minutes_failed(
        &self,
        user: &str,
        action: AuditAction,
        serial: &str,
        e: AppError,
    ) -> AppResult<AppError> {
        self.note(
            AuditEvent::new(user, action, serial, Outcome::Failed).with("reason", e.code.clone()),
        )
        .await?;
        Ok(e)
    }

    /// A party signs the minutes of handover `id` with their personal key (`key`, or why
    /// it could not be opened), which must carry their registered certificate.
    pub async fn sign_minutes(
        &self,
        actor: &Actor,
        id: i64,
        who: MinutesSigner,
        key: Result<LocalKey<'_>, String>,
    ) -> AppResult<MinutesSigned> {
        let (handover, device) = self.check_minutes_signing(actor, id, who).await?;
        let user = person(actor)?.clone();
        let key = match key {
            Ok(key) => key,
            Err(error) => {
                let e = AppError::new(
                    Kind::Invalid,
                    "key_unavailable",
                    format!("không mở được khóa ký cá nhân: {error}"),
                    format!("cannot open the personal signing key: {error}"),
                );
                return Err(self
                    .minutes_failed(&user.name, AuditAction::HandoverSign, &device.serial, e)
                    .await?);
            }
        };
        let certificate = key
            .chain
            .first()
            .ok_or_else(|| AppError::internal("a signing key without a certificate"))?
            .clone();
        self.check_party_certificate(&user, &device, &certificate)
            .await?;
        let (chain, warnings) = self.full_chain(key.chain).await?;
        let job = self.party_job(&handover, who, &user, chain, key.signer.algorithm());
        let signed = match job.sign_with(key.signer) {
            Ok(crate::outgoing::Signed::Pdf(pdf)) => pdf,
            Ok(_) => return Err(AppError::internal("the minutes are a PDF")),
            Err(e) => {
                return Err(self
                    .minutes_failed(&user.name, AuditAction::HandoverSign, &device.serial, e)
                    .await?);
            }
        };
        self.keep_party_signature(&handover, who, user, &certificate, &signed, warnings)
            .await
    }

    fn minutes_sessions(&self, handover: &Handover) -> PathBuf {
        device_dir(self.data(), &handover.device).join("sessions")
    }

    /// Two-step signing of the minutes, step one: the party signing (the giver or the
    /// receiver, from who the actor is) hands in their certificate; the signature's PDF
    /// revision is prepared here and what their key must sign is returned. The key
    /// never comes to the server.
    pub async fn start_minutes_signing(
        &self,
        actor: &Actor,
        id: i64,
        start: MinutesSigningStart,
    ) -> AppResult<MinutesTicket> {
        let (handover, _) = self.load_handover(actor, id).await?;
        let who = party_of(actor, &handover);
        let (handover, device) = self.check_minutes_signing(actor, id, who).await?;
        let user = person(actor)?.clone();
        let given = parse_certificates(&start.certificates)?;
        self.check_party_certificate(&user, &device, &given[0])
            .await?;
        let algorithm = key_algorithm(&given[0], start.pss)?;
        let (chain, warnings) = self.full_chain(&given).await?;
        let job = self.party_job(&handover, who, &user, chain, algorithm);
        let to_sign = self
            .start_signing_session(
                job,
                &self.minutes_sessions(&handover),
                format!("handover:{id}"),
                actor,
                party_key(who),
                start.pss,
                None,
            )
            .await?;
        self.note(
            AuditEvent::new(
                &user.name,
                AuditAction::SigningStart,
                &handover.device,
                Outcome::Succeeded,
            )
            .with("handover", id.to_string())
            .with("as", party_key(who))
            .with("certificate", common_name(&given[0])),
        )
        .await?;
        Ok(MinutesTicket {
            handover: id,
            party: party_key(who),
            to_sign,
            warnings,
        })
    }

    /// Two-step signing of the minutes, step two: the raw signature value for the
    /// session's bytes. The signature is assembled, the signed minutes verified with the
    /// installation's trust (only a valid result is kept), and the party's signature
    /// recorded.
    pub async fn finish_minutes_signing(
        &self,
        actor: &Actor,
        id: i64,
        token: &str,
        signature: Vec<u8>,
    ) -> AppResult<MinutesSigned> {
        let (handover, _) = self.load_handover(actor, id).await?;
        let who = party_of(actor, &handover);
        let (handover, device) = self.check_minutes_signing(actor, id, who).await?;
        let user = person(actor)?.clone();
        let (session, path) = self.open_signing_session(
            &self.minutes_sessions(&handover),
            token,
            &format!("handover:{id}"),
            actor,
            &signature,
        )?;
        if session.role != party_key(who) {
            return Err(crate::outgoing::lapsed_session());
        }
        if handover.minutes_sha256.as_deref() != Some(session.base.as_str()) {
            return Err(AppError::new(
                Kind::Conflict,
                "document_changed",
                "biên bản đã thay đổi từ khi bắt đầu phiên ký: hãy ký lại",
                "the minutes changed since the signing session started: sign again",
            ));
        }
        // The look is the party's, as at step one; the image is the one kept then.
        let (look, _) = self.party_look(who, &user);
        let job = session.job(self.minutes_working(&handover), look)?;
        let certificate = job.certificates[0].clone();
        self.check_party_certificate(&user, &device, &certificate)
            .await?;
        let expected = session.to_be_signed.clone();
        let signed = tokio::task::spawn_blocking(move || job.finish(&expected, signature))
            .await
            .map_err(AppError::internal)?;
        let signed = match signed {
            Ok(signed) => signed,
            Err(e) if e.code == "signature_mismatch" => return Err(e),
            Err(e) => {
                return Err(self
                    .minutes_failed(&user.name, AuditAction::HandoverSign, &device.serial, e)
                    .await?);
            }
        };
        let (signed, problem) = self
            .verify_new_version(signed, minutes_path(self.data(), &handover))
            .await?;
        if let Some((verdict, reasons)) = problem {
            let e = AppError::new(
                Kind::Conflict,
                "signed_not_valid",
                format!(
                    "biên bản sau khi ký không được xác nhận hợp lệ ({verdict}: {reasons}); chữ ký không được lưu"
                ),
                format!(
                    "the signed minutes do not verify as valid ({verdict}: {reasons}); the signature was not kept"
                ),
            );
            return Err(self
                .minutes_failed(&user.name, AuditAction::HandoverSign, &device.serial, e)
                .await?);
        }
        let crate::outgoing::Signed::Pdf(signed) = signed else {
            return Err(AppError::internal("the minutes are a PDF"));
        };
        let kept = self
            .keep_party_signature(&handover, who, user, &certificate, &signed, Vec::new())
            .await?;
        let _ = fs::remove_file(&path);
        Ok(kept)
    }

    /// Before the device is opened: finishes an interrupted sealing (the sealed minutes
    /// not yet archived), or checks that the actor — the device's custodian, the
    /// handover's receiver — may seal the minutes now.
    pub async fn start_seal(&self, actor: &Actor, id: i64) -> AppResult<SealStart> {
        let (handover, device) = self.load_handover(actor, id).await?;
        if let Some(user) = actor.user()
            && handover.state == HandoverState::Completed
            && handover.receiver == user.name
        {
            let path = self.archive_minutes(&handover).await?;
            return Ok(SealStart {
                handover,
                device,
                sealed: Some(path),
            });
        }
        self.check_seal(actor, &handover, &device).await?;
        person(actor)?;
        Ok(SealStart {
            handover,
            device,
            sealed: None,
        })
    }

    async fn check_seal(
        &self,
        actor: &Actor,
        handover: &Handover,
        device: &Device,
    ) -> AppResult<()> {
        self.permit(
            actor,
            Action::SignMinutes(handover, MinutesSigner::Seal),
            &handover.device,
        )
        .await?;
        self.permit(actor, Action::SignWithDevice(device), &handover.device)
            .await?;
        self.read_minutes(handover)?;
        Ok(())
    }

    /// The seal on the minutes: everything but the device's key.
    fn seal_job(
        &self,
        handover: &Handover,
        device: &Device,
        chain: Vec<Certificate>,
        algorithm: kyso_signer::SignatureAlgorithm,
    ) -> SigningJob {
        let (look, image) = self.seal_look(handover, device);
        SigningJob {
            working: self.minutes_working(handover),
            look,
            certificates: chain,
            image,
            time: self.now(),
            algorithm,
        }
    }

    /// How the seal looks: the agency's seal image over the receiver's signature when
    /// both are registered, else invisible; and the image.
    fn seal_look(&self, handover: &Handover, device: &Device) -> (PdfLook, Vec<u8>) {
        let seal = fs::read(device_dir(self.data(), &device.serial).join("seal.png")).ok();
        let receiver_visible = self
            .signature_image_path(&handover.agency, &handover.receiver)
            .exists();
        let (role, image) = match seal {
            Some(image) if receiver_visible => (PdfRole::Seal, image),
            _ => (PdfRole::Invisible, Vec::new()),
        };
        let look = PdfLook {
            role,
            anchor: None,
            reason: "Đóng dấu (ký số của cơ quan) biên bản bàn giao thiết bị chữ ký số".to_string(),
        };
        (look, image)
    }

    /// Seals the minutes of handover `id` with the agency's device (`key`, or why the
    /// device could not be opened), completing the handover, and files them in the
    /// archive as the original of their register entry.
    pub async fn seal_minutes(
        &self,
        actor: &Actor,
        id: i64,
        key: Result<LocalKey<'_>, String>,
    ) -> AppResult<MinutesSealed> {
        let user = person(actor)?.clone();
        let (handover, device) = self.load_handover(actor, id).await?;
        self.check_seal(actor, &handover, &device).await?;
        let key = match key {
            Ok(key) => key,
            Err(error) => {
                let e = device_open_error(&device, error);
                return Err(self
                    .minutes_failed(&user.name, AuditAction::Sign, &device.serial, e)
                    .await?);
            }
        };
        if device.certificate().ok().as_ref() != key.chain.first() {
            self.note(
                AuditEvent::new(
                    &user.name,
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Refused,
                )
                .with("reason", "not_the_device"),
            )
            .await?;
            return Err(AppError::new(
                Kind::Forbidden,
                "not_the_device",
                format!(
                    "khóa đã mở không phải khóa của thiết bị {} đã đăng ký",
                    device.serial
                ),
                format!(
                    "the key opened is not the registered device {}'s key",
                    device.serial
                ),
            ));
        }
        let (chain, warnings) = self.full_chain(key.chain).await?;
        let job = self.seal_job(&handover, &device, chain, key.signer.algorithm());
        let signed = job.sign_with(key.signer);
        self.keep_seal(&user, handover, &device, signed, warnings)
            .await
    }

    /// Seals the minutes of handover `id` with the agency device attached to this
    /// machine (the server's PKCS#11 module), opened with the PIN given for this request
    /// only; then as [`App::seal_minutes`]. Run again after an interrupted archiving, it
    /// finishes that without touching the device.
    pub async fn seal_minutes_with_device(
        &self,
        actor: &Actor,
        id: i64,
        pin: DevicePin,
    ) -> AppResult<MinutesSealed> {
        let start = self.start_seal(actor, id).await?;
        if let Some(path) = start.sealed {
            return Ok(MinutesSealed {
                handover: start.handover,
                path,
                archive_error: None,
                warnings: Vec::new(),
            });
        }
        let user = person(actor)?.clone();
        let module = self.pkcs11_module().ok_or_else(no_device_module)?;
        let (handover, device) = (start.handover, start.device);
        let certificate = device.certificate()?;
        let (chain, warnings) = self.full_chain(std::slice::from_ref(&certificate)).await?;
        let (look, image) = self.seal_look(&handover, &device);
        let (working, time) = (self.minutes_working(&handover), self.now());
        let signed = {
            let device = device.clone();
            tokio::task::spawn_blocking(move || -> AppResult<crate::outgoing::Signed> {
                let module = kyso_pkcs11::Module::open(&module)
                    .map_err(|e| device_open_error(&device, e))?;
                let token = module
                    .find_token(Some(&device.serial), None)
                    .map_err(|e| device_open_error(&device, e))?;
                let session = module
                    .login(&token, &pin.pin, pin.allow_final_try)
                    .map_err(|e| device_open_error(&device, e))?;
                let key_id = hex::decode(&device.key_id).map_err(AppError::internal)?;
                let key = session
                    .key(
                        &kyso_pkcs11::KeySelector::Id(key_id),
                        Some(certificate),
                        false,
                    )
                    .map_err(|e| device_open_error(&device, e))?;
                let job = SigningJob {
                    working,
                    look,
                    certificates: chain,
                    image,
                    time,
                    algorithm: key.algorithm(),
                };
                job.sign_with(&key)
            })
            .await
            .map_err(AppError::internal)?
        };
        self.keep_seal(&user, handover, &device, signed, warnings)
            .await
    }

    /// After the device signed (or failed to): the sealed minutes kept, the handover
    /// completed, the minutes archived.
    async fn keep_seal(
        &self,
        user: &User,
        handover: Handover,
        device: &Device,
        signed: AppResult<crate::outgoing::Signed>,
        warnings: Vec<String>,
    ) -> AppResult<MinutesSealed> {
        let id = handover.id.unwrap_or_default();
        let signed = match signed {
            Ok(crate::outgoing::Signed::Pdf(pdf)) => pdf,
            Ok(_) => return Err(AppError::internal("the minutes are a PDF")),
            Err(e) => {
                return Err(self
                    .minutes_failed(&user.name, AuditAction::Sign, &device.serial, e)
                    .await?);
            }
        };
        let (handover, sealed) = self
            .save_minutes(&handover, MinutesSigner::Seal, &signed)
            .await?;
        self.note(
            AuditEvent::new(
                &user.name,
                AuditAction::Sign,
                &device.serial,
                Outcome::Succeeded,
            )
            .with(
                "document",
                handover.minutes_notation.clone().unwrap_or_default(),
            )
            .with("sha256", sha256_hex(&signed)),
        )
        .await?;
        let (path, archive_error) = match self.archive_minutes(&handover).await {
            Ok(path) => (path, None),
            Err(e) => (sealed, Some(e)),
        };
        self.note(
            AuditEvent::new(
                &user.name,
                AuditAction::HandoverSeal,
                &handover.device,
                Outcome::Succeeded,
            )
            .with("handover", id.to_string()),
        )
        .await?;
        Ok(MinutesSealed {
            handover,
            path,
            archive_error,
            warnings,
        })
    }

    /// The minutes of handover `id` as they stand (the parties, the agency's device
    /// custodians and administrators): the archived sealed original once the handover
    /// is complete, else the latest signed version. Returns the file and a name for it.
    pub async fn handover_minutes(&self, actor: &Actor, id: i64) -> AppResult<(PathBuf, String)> {
        let (handover, _) = self.load_handover(actor, id).await?;
        self.permit(actor, Action::ViewMinutes(&handover), &handover.device)
            .await?;
        let name = format!(
            "bien-ban-ban-giao-{id}{}.pdf",
            match handover.state {
                HandoverState::Completed => "",
                _ => "-chua-hoan-thanh",
            }
        );
        if handover.state == HandoverState::Completed {
            if let Some(doc) = handover.minutes_document
                && let Some(record) = self.archive().document(doc).await?
                && let Some(path) = self.archive().original_path(&record)
                && path.is_file()
            {
                return Ok((path, name));
            }
            let sealed = final_minutes_path(self.data(), &handover);
            if sealed.is_file() {
                return Ok((sealed, name));
            }
        } else if handover.minutes_sha256.is_some() {
            self.read_minutes(&handover)?;
            return Ok((minutes_path(self.data(), &handover), name));
        }
        Err(AppError::not_found(
            format!("việc bàn giao {id} chưa có biên bản"),
            format!("handover {id} has no minutes yet"),
        ))
    }

    /// Files the sealed minutes in the archive as the original of their register entry
    /// (verified with the installation's trust store, report kept beside it), moves the
    /// entry to `issued`, and returns where the original now lives. Idempotent.
    async fn archive_minutes(&self, handover: &Handover) -> AppResult<PathBuf> {
        let sealed = final_minutes_path(self.data(), handover);
        let Some(id) = handover.minutes_document else {
            return Ok(sealed);
        };
        let (now, today) = self.now_and_today();
        let mut record = self.archive().document(id).await?.ok_or_else(|| {
            AppError::not_found(
                format!("thiếu mục đăng ký {id} của biên bản"),
                format!("the minutes' register entry {id} is missing"),
            )
        })?;
        let note = format!("biên bản bàn giao {}", handover.id.unwrap_or_default());
        if record.archive_dir.is_none() {
            let verified = {
                let (app, sealed) = (self.clone(), sealed.clone());
                tokio::task::spawn_blocking(move || {
                    app.verify_and_capture(&sealed, true, None, false)
                })
                .await
                .map_err(AppError::internal)??
            };
            let (verified, material) = verified;
            let verification = verified.to_json();
            let verdict = verification["verdict"]
                .as_str()
                .unwrap_or("indeterminate")
                .to_string();
            let mut staged = self
                .archive()
                .stage(&sealed, None, Some(verification))
                .await?;
            staged.set_material(material);
            record = self
                .archive()
                .attach_original(id, staged, &note, now)
                .await?;
            self.note(
                AuditEvent::new(
                    &handover.receiver,
                    AuditAction::File,
                    format!("document:{id}"),
                    Outcome::Succeeded,
                )
                .with("verdict", verdict)
                .with(
                    "notation",
                    handover.minutes_notation.clone().unwrap_or_default(),
                ),
            )
            .await?;
        }
        for event in [DocEvent::SealSign, DocEvent::Issue] {
            let due = matches!(
                (event, record.state),
                (
                    DocEvent::SealSign,
                    DocState::Outgoing(OutgoingState::Numbered)
                ) | (
                    DocEvent::Issue,
                    DocState::Outgoing(OutgoingState::SealSigned)
                )
            );
            if due {
                record = self
                    .office()
                    .advance(
                        id,
                        Step {
                            event,
                            note: note.clone(),
                            template: None,
                            advisory_body: None,
                            at: now,
                            date: today,
                        },
                    )
                    .await?;
            }
        }
        let archived = self
            .archive()
            .original_path(&record)
            .ok_or_else(|| AppError::internal(format!("the archived minutes {id} have no path")))?;
        if archived.is_file() {
            let _ = fs::remove_file(&sealed);
        }
        Ok(archived)
    }

    // ------------------------------------------------------------------------------
    // Signing with the agency's device (`kyso sign`)
    // ------------------------------------------------------------------------------

    /// The registered agency device with this token serial, if it is one (of any
    /// agency hosted here): signing with it is under custody.
    pub async fn registered_device(&self, serial: &str) -> AppResult<Option<Device>> {
        Ok(self.archive().device(serial).await?)
    }

    /// Before the token is opened (before any PIN is tried): only the device's current
    /// custodian, signed in, may sign `file` with it. Every refusal is recorded.
    pub async fn permit_device_signing(
        &self,
        actor: Option<&Actor>,
        device: &Device,
        file: &Path,
    ) -> AppResult<DevicePermit> {
        let Some(actor) = actor.filter(|a| a.user().is_some()) else {
            self.note(
                AuditEvent::new(
                    "(unknown)",
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Refused,
                )
                .with("reason", "no_user"),
            )
            .await?;
            return Err(AppError::new(
                Kind::Unauthenticated,
                "no_user",
                format!(
                    "thiết bị {} là thiết bị ký số của cơ quan: người ký phải đăng nhập",
                    device.serial
                ),
                format!(
                    "{} is the agency's signing device: its custodian must sign in",
                    device.serial
                ),
            ));
        };
        if let Err(refusal) = authorize(actor, Action::SignWithDevice(device)) {
            self.note(
                AuditEvent::new(
                    actor.audit_name(),
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Refused,
                )
                .with("reason", refusal.code.clone())
                .with("file", file.display().to_string())
                .with("custodian", device.custodian.clone()),
            )
            .await?;
            return Err(refusal);
        }
        Ok(DevicePermit {
            actor: actor.clone(),
            device: device.clone(),
            file: file.to_path_buf(),
        })
    }

    /// The device did not open (wrong PIN, locked token): recorded.
    pub async fn device_key_failed(&self, permit: &DevicePermit, error: &str) -> AppResult<()> {
        self.note(
            AuditEvent::new(
                permit.actor.audit_name(),
                AuditAction::Sign,
                &permit.device.serial,
                Outcome::Failed,
            )
            .with("reason", "device_login_failed")
            .with("error", error),
        )
        .await
    }

    /// Records a signing with the agency's device under `permit` (the custodian's name,
    /// the device serial), signed by the key of `certificate`.
    pub async fn record_device_signing(
        &self,
        permit: &DevicePermit,
        certificate: &Certificate,
        succeeded: bool,
    ) -> AppResult<()> {
        self.record_signing(
            permit.actor.audit_name(),
            permit.device.serial.clone(),
            &permit.file,
            certificate,
            succeeded,
        )
        .await
    }

    /// Records a signing of `file` with a personal key (or an unregistered token), under
    /// its certificate's subject.
    pub async fn record_personal_signing(
        &self,
        file: &Path,
        certificate: &Certificate,
        succeeded: bool,
    ) -> AppResult<()> {
        self.record_signing(
            format!("certificate:{}", certificate.tbs_certificate().subject()),
            format!("key:{}", certificate_serial(certificate)),
            file,
            certificate,
            succeeded,
        )
        .await
    }

    /// A `sign` event: the file signed (with its SHA-256 when readable) and the
    /// certificate's serial.
    async fn record_signing(
        &self,
        actor: String,
        object: String,
        file: &Path,
        certificate: &Certificate,
        succeeded: bool,
    ) -> AppResult<()> {
        let outcome = if succeeded {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        let mut event = AuditEvent::new(actor, AuditAction::Sign, object, outcome)
            .with("file", file.display().to_string())
            .with("certificate_serial", certificate_serial(certificate));
        if let Ok(bytes) = fs::read(file) {
            event = event.with("sha256", sha256_hex(&bytes));
        }
        self.note(event).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_show_in_debug_output() {
        let new = super::NewUser {
            name: "an".into(),
            password: Some(zeroize::Zeroizing::new("mat-khau-bi-mat".into())),
            ..super::NewUser::default()
        };
        let change = super::UserChange {
            password: Some(zeroize::Zeroizing::new("mat-khau-moi".into())),
            ..super::UserChange::default()
        };
        let shown = format!("{new:?} {change:?}");
        assert!(!shown.contains("mat-khau"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }

    #[test]
    fn pins_never_show_in_debug_output() {
        let change = super::PinChange {
            old: super::Pin::new("Giao-PIN-5174".into()),
            new: zeroize::Zeroizing::new("Nhan-PIN-8326".into()),
        };
        let seal = super::DevicePin {
            pin: super::Pin::new("Nhan-PIN-8326".into()),
            allow_final_try: false,
        };
        let shown = format!("{change:?} {seal:?}");
        assert!(!shown.contains("PIN-"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
        assert_eq!(super::check_new_pin("12345").unwrap_err().code, "new_pin");
        assert!(super::check_new_pin("123456").is_ok());
    }

    use std::sync::Arc;

    use kyso_office::Role;
    use serde_json::Value;

    use super::*;
    use crate::{FixedClock, Offline};

    fn agency() -> AgencyId {
        AgencyId::parse_with("000.00.12.H13", kyso_model::AgencyIdFormat::Lenient).unwrap()
    }

    fn user(name: &str, roles: &[Role]) -> User {
        User::new(
            agency(),
            name,
            "Nguyễn Văn An",
            roles.iter().copied().collect(),
        )
        .unwrap()
    }

    async fn app(dir: &Path) -> App {
        let archive = kyso_store::Archive::open_data_dir(dir, None).await.unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        App::from_parts(archive, dir, Arc::new(FixedClock(now)), Arc::new(Offline))
    }

    /// Users an (custodian, holds the device) and binh (custodian); the device.
    async fn office(app: &App) -> (User, User, Device) {
        let now = app.now();
        let an = user("an", &[Role::Clerk, Role::Custodian]);
        let binh = user("binh", &[Role::Clerk, Role::Custodian, Role::Leader]);
        for u in [&an, &binh] {
            app.archive().create_user(u, now).await.unwrap();
        }
        let device = Device {
            agency: agency(),
            serial: "ABC123".into(),
            label: "CO QUAN".into(),
            manufacturer: String::new(),
            model: String::new(),
            slot: 0,
            key_id: "02".into(),
            certificate: String::new(),
            custodian: "an".into(),
            registered_at: now,
            registered_by: "admin".into(),
        };
        app.archive().register_device(&device).await.unwrap();
        (an, binh, device)
    }

    async fn entries(app: &App) -> Vec<Value> {
        app.archive()
            .audit_rows(0, None)
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str(&r.json).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn only_the_custodian_signs_with_the_device_and_refusals_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let (an, binh, device) = office(&app).await;
        let file = dir.path().join("cong-van.txt");

        let refused = app
            .permit_device_signing(Some(&Actor::User(binh)), &device, &file)
            .await
            .unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.kind),
            ("not_custodian", Kind::Forbidden)
        );
        // Neither anonymous nor the operator of the data directory signs with it.
        let anonymous = app
            .permit_device_signing(None, &device, &file)
            .await
            .unwrap_err();
        assert_eq!(anonymous.code, "no_user");
        let operator = Actor::operator(agency());
        assert_eq!(
            app.permit_device_signing(Some(&operator), &device, &file)
                .await
                .unwrap_err()
                .code,
            "no_user"
        );
        let permit = app
            .permit_device_signing(Some(&Actor::User(an)), &device, &file)
            .await
            .unwrap();
        assert_eq!(permit.device().serial, "ABC123");

        let entries = entries(&app).await;
        let refusal = entries
            .iter()
            .find(|e| e["actor"] == "binh" && e["action"] == "sign")
            .unwrap_or_else(|| panic!("{entries:#?}"));
        assert_eq!(refusal["outcome"], "refused");
        assert_eq!(refusal["object"], "ABC123");
        assert_eq!(refusal["details"]["reason"], "not_custodian");
        assert_eq!(refusal["details"]["custodian"], "an");
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["actor"] == "(unknown)" && e["details"]["reason"] == "no_user")
                .count(),
            2,
            "{entries:#?}"
        );
    }

    #[tokio::test]
    async fn only_the_custodian_requests_a_handover() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let (an, binh, device) = office(&app).await;
        let request = |to: &str| HandoverRequest {
            device: device.serial.clone(),
            receiver: to.into(),
            permission: "Giấy ủy quyền số 12/GUQ-STTTT".into(),
            witnesses: vec![],
            condition: "Hoạt động bình thường".into(),
        };
        let refused = app
            .request_handover(&Actor::User(binh.clone()), request("an"))
            .await
            .unwrap_err();
        assert_eq!(refused.code, "not_custodian");
        assert!(
            app.handovers(&Actor::User(an.clone()))
                .await
                .unwrap()
                .is_empty()
        );
        let entries = entries(&app).await;
        assert!(
            entries.iter().any(|e| e["actor"] == "binh"
                && e["action"] == "handover_request"
                && e["outcome"] == "refused"
                && e["details"]["reason"] == "not_custodian"
                && e["details"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())),
            "{entries:#?}"
        );
        // The custodian may; the approval is a leader's who is not a party.
        let requested = app
            .request_handover(&Actor::User(an.clone()), request("binh"))
            .await
            .unwrap();
        assert_eq!(requested.state, HandoverState::Requested);
        let id = requested.id.unwrap();
        assert_eq!(
            app.decide_handover(&Actor::User(binh), id, HandoverDecision::Approve, "")
                .await
                .unwrap_err()
                .code,
            "self_approval"
        );
        let cancelled = app
            .decide_handover(&Actor::User(an), id, HandoverDecision::Cancel, "nhầm")
            .await
            .unwrap();
        assert_eq!(cancelled.state, HandoverState::Cancelled);
    }
}
