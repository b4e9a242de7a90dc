//! Users, roles and the custody of the agency's signing device (ND30 Art 32–33).
//!
//! Everything here is a pure decision over records: the storage adapter keeps users,
//! devices and handovers, the front ends (CLI, web) authenticate and call these checks
//! before acting, and record every attempt in the audit log. The rules:
//!
//! - A **device** (the agency's USB token, used like its seal) has exactly one current
//!   custodian. Only that user may sign with it ([`authorize`] with
//!   [`Action::SignWithDevice`]).
//! - A **handover** is requested by the current custodian, citing the head's written
//!   permission; approved by a leader who is neither party; accepted by the receiver,
//!   who sets a new token PIN at that moment. The minutes (biên bản) are then signed by
//!   giver and receiver and sealed with the device by its new custodian.
//! - **Users** authenticate with a password (Argon2id, PHC string) or with their
//!   personal certificate (a challenge signed on their own token).

use std::collections::BTreeSet;
use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, ParamsBuilder};
use der::{Decode, Encode};
use kyso_model::AgencyId;
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::error::{OfficeError, Refusal};

/// What a user may do in the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Lãnh đạo: signs as the competent person, approves handovers.
    Leader,
    /// Văn thư: registers, numbers, seals and sends documents.
    Clerk,
    /// Chuyên viên: drafts and processes documents.
    Officer,
    /// May keep the agency's signing device (người được giao quản lý thiết bị).
    Custodian,
    /// Quản trị: manages users, roles and devices.
    Administrator,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 5] = [
        Role::Leader,
        Role::Clerk,
        Role::Officer,
        Role::Custodian,
        Role::Administrator,
    ];

    /// Stable key (`leader`, `clerk`…).
    pub fn key(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Clerk => "clerk",
            Role::Officer => "officer",
            Role::Custodian => "custodian",
            Role::Administrator => "administrator",
        }
    }

    /// Vietnamese name shown to staff.
    pub fn vietnamese(self) -> &'static str {
        match self {
            Role::Leader => "Lãnh đạo",
            Role::Clerk => "Văn thư",
            Role::Officer => "Chuyên viên",
            Role::Custodian => "Người quản lý thiết bị ký số",
            Role::Administrator => "Quản trị hệ thống",
        }
    }

    /// Parses a key.
    pub fn parse(text: &str) -> Result<Self, OfficeError> {
        Role::ALL
            .into_iter()
            .find(|r| r.key() == text.trim())
            .ok_or_else(|| {
                OfficeError::Invalid(format!(
                    "vai trò không hợp lệ {text:?} / unknown role {text:?} (leader, clerk, officer, custodian, administrator)"
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Longest user name (login).
pub const MAX_USER_NAME: usize = 64;

/// A user of an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The agency.
    pub agency: AgencyId,
    /// Login name: lowercase ASCII letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Full name as printed (Nguyễn Văn An).
    pub full_name: String,
    /// Position (chức vụ).
    #[serde(default)]
    pub title: String,
    /// Unit (đơn vị).
    #[serde(default)]
    pub unit: String,
    /// Roles.
    pub roles: BTreeSet<Role>,
    /// Argon2id PHC string, when the user has a password.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// The personal certificate (DER, hex) for certificate login.
    #[serde(default)]
    pub certificate: Option<String>,
    /// Disabled users can do nothing.
    pub active: bool,
    /// Consecutive failed logins since the last success or lock.
    #[serde(default)]
    pub failed_logins: u32,
    /// Logins are refused until then, after [`MAX_FAILED_LOGINS`] failures in a row.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
}

/// Failed logins in a row that lock an account for [`LOCK_MINUTES`].
pub const MAX_FAILED_LOGINS: u32 = 5;

/// How long an account stays locked after too many failed logins.
pub const LOCK_MINUTES: i64 = 15;

/// Checks a login name.
pub fn check_user_name(name: &str) -> Result<(), OfficeError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_USER_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(OfficeError::Invalid(format!(
            "tên đăng nhập không hợp lệ {name:?} / invalid user name {name:?}: 1–{MAX_USER_NAME} lowercase ASCII letters, digits, '.', '_', '-', starting with a letter or digit"
        )))
    }
}

impl User {
    /// A new active user without credentials.
    pub fn new(
        agency: AgencyId,
        name: &str,
        full_name: &str,
        roles: BTreeSet<Role>,
    ) -> Result<Self, OfficeError> {
        check_user_name(name)?;
        if full_name.trim().is_empty() {
            return Err(OfficeError::Invalid(
                "thiếu họ tên / the full name is missing".into(),
            ));
        }
        Ok(Self {
            agency,
            name: name.to_string(),
            full_name: full_name.trim().to_string(),
            title: String::new(),
            unit: String::new(),
            roles,
            password_hash: None,
            certificate: None,
            active: true,
            failed_logins: 0,
            locked_until: None,
        })
    }

    /// Whether logins are refused at `now` after repeated failures.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// Counts a login attempt: a success clears the counter; the
    /// [`MAX_FAILED_LOGINS`]th failure in a row locks the account for
    /// [`LOCK_MINUTES`]. Returns whether this attempt locked it.
    pub fn note_login(&mut self, succeeded: bool, now: OffsetDateTime) -> bool {
        if succeeded {
            self.failed_logins = 0;
            self.locked_until = None;
            return false;
        }
        self.failed_logins = self.failed_logins.saturating_add(1);
        if self.failed_logins >= MAX_FAILED_LOGINS {
            self.failed_logins = 0;
            self.locked_until = Some(now + time::Duration::minutes(LOCK_MINUTES));
            return true;
        }
        false
    }

    /// Has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The registered personal certificate.
    pub fn certificate(&self) -> Result<Option<Certificate>, OfficeError> {
        self.certificate
            .as_deref()
            .map(|h| {
                hex::decode(h)
                    .ok()
                    .and_then(|d| Certificate::from_der(&d).ok())
                    .ok_or_else(|| {
                        OfficeError::Invalid(format!(
                            "stored certificate of user {} is unreadable",
                            self.name
                        ))
                    })
            })
            .transpose()
    }

    /// Registers the personal certificate.
    pub fn set_certificate(&mut self, certificate: &Certificate) -> Result<(), OfficeError> {
        let der = certificate
            .to_der()
            .map_err(|e| OfficeError::Invalid(format!("certificate: {e}")))?;
        self.certificate = Some(hex::encode(der));
        Ok(())
    }
}

// ----------------------------------------------------------------------------------
// Authentication
// ----------------------------------------------------------------------------------

/// Why a login failed. Deliberately vague towards the user (no "unknown user" vs
/// "wrong password" distinction); the audit log records the precise reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    /// Precise reason for the audit log (`unknown_user`, `wrong_password`,
    /// `no_password`, `inactive`, `bad_signature`, `no_certificate`,
    /// `certificate_mismatch`, `stale_challenge`).
    pub reason: &'static str,
}

impl fmt::Display for LoginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "đăng nhập không thành công: sai tên đăng nhập hoặc thông tin xác thực / login failed: wrong user name or credentials",
        )
    }
}

impl std::error::Error for LoginFailure {}

/// Shortest password accepted when setting one.
pub const MIN_PASSWORD_CHARS: usize = 10;

fn argon2() -> Argon2<'static> {
    // OWASP (2023): Argon2id, 19 MiB, 2 iterations, 1 lane.
    let params = ParamsBuilder::new()
        .m_cost(19 * 1024)
        .t_cost(2)
        .p_cost(1)
        .build()
        .unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes a new password with a caller-supplied random salt (16 bytes from the OS
/// generator; this crate does no I/O). Refuses passwords shorter than
/// [`MIN_PASSWORD_CHARS`].
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, OfficeError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(OfficeError::Invalid(format!(
            "mật khẩu phải có ít nhất {MIN_PASSWORD_CHARS} ký tự / the password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt =
        SaltString::encode_b64(salt).map_err(|e| OfficeError::Invalid(format!("salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| OfficeError::Invalid(format!("password hashing: {e}")))
}

/// Checks a password login. `user` is `None` when the name is unknown: a dummy hash
/// is still computed so that the time taken does not reveal which names exist.
pub fn check_password(user: Option<&User>, password: &str) -> Result<(), LoginFailure> {
    // An unknown name still costs one Argon2 verification, so timing does not reveal
    // which names exist.
    let dummy;
    let hash = match user.and_then(|u| u.password_hash.as_deref()) {
        Some(h) => h,
        None => {
            dummy = hash_password("kyso-dummy-password", &[0; 16]).unwrap_or_default();
            &dummy
        }
    };
    let matches = PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    let Some(user) = user else {
        return Err(LoginFailure {
            reason: "unknown_user",
        });
    };
    if user.password_hash.is_none() {
        return Err(LoginFailure {
            reason: "no_password",
        });
    }
    if !matches {
        return Err(LoginFailure {
            reason: "wrong_password",
        });
    }
    if !user.active {
        return Err(LoginFailure { reason: "inactive" });
    }
    Ok(())
}

/// How long a login challenge stays valid.
pub const CHALLENGE_SECONDS: i64 = 300;

/// The bytes a user signs on their token to log in with their certificate: a fixed
/// context string, the agency, the user, a random nonce from the server and the time it
/// was issued, so a signature is good for one login only.
pub fn login_challenge(agency: &AgencyId, user: &str, nonce: &[u8], issued: i64) -> Vec<u8> {
    let mut m = b"kyso-login-v1\n".to_vec();
    m.extend_from_slice(agency.to_string().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(user.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hex::encode(nonce).as_bytes());
    m.push(b'\n');
    m.extend_from_slice(issued.to_string().as_bytes());
    m
}

/// Checks a certificate login: the challenge (issued at `issued`, Unix seconds, less
/// than [`CHALLENGE_SECONDS`] before `now`) was signed with the key of the user's
/// registered certificate, and that certificate is within its validity at `now`.
/// (Path and revocation checks of the certificate are the caller's, with its trust
/// anchors.)
pub fn check_certificate_login(
    user: Option<&User>,
    challenge: &[u8],
    issued: i64,
    algorithm: &AlgorithmIdentifierOwned,
    signature: &[u8],
    now: OffsetDateTime,
) -> Result<(), LoginFailure> {
    let user = user.ok_or(LoginFailure {
        reason: "unknown_user",
    })?;
    let age = now.unix_timestamp() - issued;
    if !(0..CHALLENGE_SECONDS).contains(&age) {
        return Err(LoginFailure {
            reason: "stale_challenge",
        });
    }
    let cert = user.certificate().ok().flatten().ok_or(LoginFailure {
        reason: "no_certificate",
    })?;
    let validity = cert.tbs_certificate().validity();
    let from = validity.not_before.to_unix_duration().as_secs();
    let to = validity.not_after.to_unix_duration().as_secs();
    let t = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    if t < from || t > to {
        return Err(LoginFailure {
            reason: "certificate_expired",
        });
    }
    kyso_signer::verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        algorithm,
        challenge,
        signature,
    )
    .map_err(|_| LoginFailure {
        reason: "bad_signature",
    })?;
    if !user.active {
        return Err(LoginFailure { reason: "inactive" });
    }
    Ok(())
}

// ----------------------------------------------------------------------------------
// Devices and handovers
// ----------------------------------------------------------------------------------

/// The agency's signing device: a token holding the agency's key and certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The agency.
    pub agency: AgencyId,
    /// Token serial number (CK_TOKEN_INFO.serialNumber): the device's identity.
    pub serial: String,
    /// Token label.
    pub label: String,
    /// Manufacturer.
    #[serde(default)]
    pub manufacturer: String,
    /// Model.
    #[serde(default)]
    pub model: String,
    /// Slot it was seen in when registered (informative; slots move).
    #[serde(default)]
    pub slot: u64,
    /// CKA_ID of the agency key, hex.
    pub key_id: String,
    /// The agency certificate on the token (DER, hex).
    pub certificate: String,
    /// Current custodian (user name). Exactly one.
    pub custodian: String,
    /// When registered (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// By whom.
    pub registered_by: String,
}

impl Device {
    /// The agency certificate.
    pub fn certificate(&self) -> Result<Certificate, OfficeError> {
        hex::decode(&self.certificate)
            .ok()
            .and_then(|d| Certificate::from_der(&d).ok())
            .ok_or_else(|| {
                OfficeError::Invalid(format!(
                    "stored certificate of device {} is unreadable",
                    self.serial
                ))
            })
    }
}

/// Where a handover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverState {
    /// Asked for by the custodian.
    Requested,
    /// Approved by a leader.
    Approved,
    /// Accepted by the receiver: custody and PIN changed, minutes numbered.
    Accepted,
    /// Minutes signed by both parties and sealed.
    Completed,
    /// Refused by the leader.
    Refused,
    /// Withdrawn by the giver before acceptance.
    Cancelled,
}

impl HandoverState {
    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            HandoverState::Requested => "requested",
            HandoverState::Approved => "approved",
            HandoverState::Accepted => "accepted",
            HandoverState::Completed => "completed",
            HandoverState::Refused => "refused",
            HandoverState::Cancelled => "cancelled",
        }
    }

    /// Vietnamese label.
    pub fn vietnamese(self) -> &'static str {
        match self {
            HandoverState::Requested => "đã đề nghị",
            HandoverState::Approved => "đã được phê duyệt",
            HandoverState::Accepted => "đã nhận bàn giao",
            HandoverState::Completed => "đã hoàn thành (biên bản đã ký)",
            HandoverState::Refused => "bị từ chối",
            HandoverState::Cancelled => "đã hủy",
        }
    }

    /// Still in progress (blocks another handover of the same device).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            HandoverState::Requested | HandoverState::Approved | HandoverState::Accepted
        )
    }
}

/// A signature on the minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinutesSigner {
    /// Bên giao.
    Giver,
    /// Bên nhận.
    Receiver,
    /// The agency's seal (the device itself).
    Seal,
}

/// One handover of a device from one custodian to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// Assigned by the store.
    pub id: Option<i64>,
    /// The agency.
    pub agency: AgencyId,
    /// Device serial.
    pub device: String,
    /// Giver (custodian when requested).
    pub giver: String,
    /// Receiver.
    pub receiver: String,
    /// The head's written permission (number, date, author).
    pub permission_reference: String,
    /// Witnesses (user names or names as written).
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// Condition of the device.
    pub condition: String,
    /// State.
    pub state: HandoverState,
    /// Requested at (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// Approver (leader).
    #[serde(default)]
    pub approver: Option<String>,
    /// Approval or refusal time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Acceptance time: custody moved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// The minutes' number and notation (`03/BB-STTTT`).
    #[serde(default)]
    pub minutes_notation: Option<String>,
    /// The minutes' document id in the register.
    #[serde(default)]
    pub minutes_document: Option<i64>,
    /// Signatures on the minutes so far, in order.
    #[serde(default)]
    pub minutes_signatures: Vec<MinutesSigner>,
    /// SHA-256 of the current minutes PDF.
    #[serde(default)]
    pub minutes_sha256: Option<String>,
    /// Completion time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Refusal or cancellation reason.
    #[serde(default)]
    pub note: String,
}

/// Something a user asks to do that needs authorisation.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Add or change users and roles.
    ManageUsers,
    /// Register a device.
    RegisterDevice,
    /// Sign with the agency's device.
    SignWithDevice(&'a Device),
    /// Ask to hand the device to `receiver`.
    RequestHandover {
        /// The device.
        device: &'a Device,
        /// The intended receiver.
        receiver: &'a User,
    },
    /// Approve or refuse a handover.
    DecideHandover(&'a Handover),
    /// Withdraw a handover.
    CancelHandover(&'a Handover),
    /// Accept a handover (receiver).
    AcceptHandover(&'a Handover),
    /// Sign the minutes as giver or receiver.
    SignMinutes(&'a Handover, MinutesSigner),
    /// Read a handover's minutes (its parties, device custodians, administrators).
    ViewMinutes(&'a Handover),
    /// Read the agency's documents, registers, archive tree and search.
    ViewDocuments,
    /// Upload a draft, add or import a document into the archive, open records files.
    FileDocument,
    /// Take a register number outside a document's lifecycle (`register number`).
    TakeNumber,
    /// Move a document through its lifecycle (leader signature, number, seal, issue,
    /// recall, accept, refuse, assign, processing).
    Advance(crate::Event),
    /// Export registers and records files.
    ExportRecords,
    /// Change the agency's electronic-issuing policy.
    SetPolicy,
    /// Read the audit log.
    ViewAudit,
    /// Send an issued document to other agencies, or ask one for it back (recall 13).
    SendDocument,
    /// Answer another agency's recall of a document this agency received (15 / 16).
    AnswerRecall,
    /// Add agencies to the node's directory (hosted here, or on another node).
    ManageAgencies,
    /// Seal archived originals with evidence records (RFC 4998) and renew them.
    SealEvidence,
}

impl Action<'_> {
    /// Audit key of the action.
    pub fn key(&self) -> &'static str {
        match self {
            Action::ManageUsers => "permission",
            Action::RegisterDevice => "device_register",
            Action::SignWithDevice(_) => "sign",
            Action::RequestHandover { .. } => "handover_request",
            Action::DecideHandover(_) => "handover_decide",
            Action::CancelHandover(_) => "handover_cancel",
            Action::AcceptHandover(_) => "handover_accept",
            Action::SignMinutes(..) => "handover_sign",
            Action::ViewMinutes(_) => "view",
            Action::ViewDocuments => "view",
            Action::FileDocument => "file",
            Action::TakeNumber => "number",
            Action::Advance(event) => event.key(),
            Action::ExportRecords => "export",
            Action::SetPolicy => "permission",
            Action::ViewAudit => "audit_view",
            Action::SendDocument => "exchange_send",
            Action::AnswerRecall => "exchange_recall_reply",
            Action::ManageAgencies => "agency_directory",
            Action::SealEvidence => "evidence",
        }
    }
}

fn refuse(code: &'static str, vi: String, en: String) -> Refusal {
    Refusal { code, vi, en }
}

fn need_role(user: &User, role: Role) -> Result<(), Refusal> {
    if user.has(role) {
        Ok(())
    } else {
        Err(refuse(
            "missing_role",
            format!(
                "{} không có vai trò {}",
                user.name,
                role.vietnamese().to_lowercase()
            ),
            format!("{} does not have the {} role", user.name, role.key()),
        ))
    }
}

/// At least one of `roles` (a document action several roles may take).
fn need_any(user: &User, roles: &[Role]) -> Result<(), Refusal> {
    if roles.iter().any(|r| user.has(*r)) {
        return Ok(());
    }
    let vi: Vec<String> = roles
        .iter()
        .map(|r| r.vietnamese().to_lowercase())
        .collect();
    let en: Vec<&str> = roles.iter().map(|r| r.key()).collect();
    Err(refuse(
        "missing_role",
        format!("{} cần một trong các vai trò: {}", user.name, vi.join(", ")),
        format!("{} needs one of the roles {}", user.name, en.join(", ")),
    ))
}

/// The roles that may take a lifecycle step (Decree 30 Art. 15–24; Decision 28): the
/// leader signs and assigns, the clerk (văn thư) numbers, seals, issues, receives and
/// registers, the officer (chuyên viên) handles.
pub fn roles_for(event: crate::Event) -> &'static [Role] {
    use crate::Event as E;
    match event {
        E::LeaderSign => &[Role::Leader],
        E::Number | E::SealSign | E::Issue | E::Verify | E::Accept | E::Refuse => &[Role::Clerk],
        E::Recall => &[Role::Clerk, Role::Leader],
        E::Assign => &[Role::Leader, Role::Clerk],
        E::StartProcessing | E::Complete => &[Role::Officer, Role::Leader],
    }
}

fn need_state(handover: &Handover, state: HandoverState) -> Result<(), Refusal> {
    if handover.state == state {
        Ok(())
    } else {
        Err(refuse(
            "handover_state",
            format!(
                "việc bàn giao {} đang ở trạng thái \"{}\", không phải \"{}\"",
                handover.id.unwrap_or_default(),
                handover.state.vietnamese(),
                state.vietnamese()
            ),
            format!(
                "handover {} is {}, not {}",
                handover.id.unwrap_or_default(),
                handover.state.key(),
                state.key()
            ),
        ))
    }
}

/// Decides whether `user` may do `action`. Every front end calls this on the server
/// side before acting, and records the decision in the audit log.
pub fn authorize(user: &User, action: Action<'_>) -> Result<(), Refusal> {
    if !user.active {
        return Err(refuse(
            "inactive_user",
            format!("tài khoản {} đã bị khóa", user.name),
            format!("user {} is disabled", user.name),
        ));
    }
    match action {
        Action::ManageUsers | Action::RegisterDevice | Action::SetPolicy | Action::ViewAudit => {
            need_role(user, Role::Administrator)
        }
        // Every active user of the agency reads its documents (the caller checks the
        // agency); what a role may *change* is below.
        Action::ViewDocuments => Ok(()),
        Action::FileDocument => need_any(user, &[Role::Clerk, Role::Officer, Role::Leader]),
        Action::TakeNumber | Action::ExportRecords => need_role(user, Role::Clerk),
        // The clerk (văn thư) sends, recalls and answers recalls (QĐ28 Art 8–9).
        Action::SendDocument | Action::AnswerRecall => need_role(user, Role::Clerk),
        Action::ManageAgencies | Action::SealEvidence => need_role(user, Role::Administrator),
        Action::Advance(event) => need_any(user, roles_for(event)),
        Action::SignWithDevice(device) => {
            if device.agency != user.agency || device.custodian != user.name {
                return Err(refuse(
                    "not_custodian",
                    format!(
                        "{} không phải người đang quản lý thiết bị ký số {} của cơ quan (người quản lý hiện tại: {}); chỉ người quản lý mới được ký bằng thiết bị này",
                        user.name, device.serial, device.custodian
                    ),
                    format!(
                        "{} is not the current custodian of the agency's signing device {} (custodian: {}); only the custodian may sign with it",
                        user.name, device.serial, device.custodian
                    ),
                ));
            }
            Ok(())
        }
        Action::RequestHandover { device, receiver } => {
            if device.custodian != user.name {
                return Err(refuse(
                    "not_custodian",
                    format!(
                        "chỉ người đang quản lý thiết bị ({}) mới được đề nghị bàn giao",
                        device.custodian
                    ),
                    format!(
                        "only the current custodian ({}) may request a handover",
                        device.custodian
                    ),
                ));
            }
            if receiver.name == user.name {
                return Err(refuse(
                    "same_person",
                    "không thể bàn giao cho chính mình".into(),
                    "cannot hand the device over to oneself".into(),
                ));
            }
            if !receiver.active || receiver.agency != device.agency {
                return Err(refuse(
                    "receiver_invalid",
                    format!(
                        "người nhận {} không phải người dùng đang hoạt động của cơ quan",
                        receiver.name
                    ),
                    format!(
                        "receiver {} is not an active user of the agency",
                        receiver.name
                    ),
                ));
            }
            need_role(receiver, Role::Custodian)
        }
        Action::DecideHandover(h) => {
            need_role(user, Role::Leader)?;
            if user.name == h.giver || user.name == h.receiver {
                return Err(refuse(
                    "self_approval",
                    "bên giao hoặc bên nhận không được tự phê duyệt việc bàn giao".into(),
                    "the giver or receiver cannot approve their own handover".into(),
                ));
            }
            need_state(h, HandoverState::Requested)
        }
        Action::CancelHandover(h) => {
            if user.name != h.giver && !user.has(Role::Administrator) {
                return Err(refuse(
                    "not_giver",
                    "chỉ bên giao hoặc quản trị mới được hủy đề nghị bàn giao".into(),
                    "only the giver or an administrator may cancel a handover".into(),
                ));
            }
            if !matches!(h.state, HandoverState::Requested | HandoverState::Approved) {
                return need_state(h, HandoverState::Requested);
            }
            Ok(())
        }
        Action::AcceptHandover(h) => {
            if user.name != h.receiver {
                return Err(refuse(
                    "not_receiver",
                    format!("chỉ người nhận ({}) mới được nhận bàn giao", h.receiver),
                    format!("only the receiver ({}) may accept the handover", h.receiver),
                ));
            }
            need_role(user, Role::Custodian)?;
            need_state(h, HandoverState::Approved)
        }
        Action::ViewMinutes(h) => {
            if user.agency == h.agency
                && (user.name == h.giver
                    || user.name == h.receiver
                    || user.has(Role::Custodian)
                    || user.has(Role::Administrator))
            {
                return Ok(());
            }
            Err(refuse(
                "not_party",
                format!(
                    "{} không phải bên giao, bên nhận, người quản lý thiết bị ký số hay quản trị: không được xem biên bản bàn giao",
                    user.name
                ),
                format!(
                    "{} is neither a party, a device custodian nor an administrator: may not read the handover minutes",
                    user.name
                ),
            ))
        }
        Action::SignMinutes(h, who) => {
            let expected = match who {
                MinutesSigner::Giver => &h.giver,
                MinutesSigner::Receiver => &h.receiver,
                MinutesSigner::Seal => &h.receiver,
            };
            if &user.name != expected {
                return Err(refuse(
                    "not_party",
                    format!("{} không phải bên ký này của biên bản", user.name),
                    format!("{} is not this signer of the minutes", user.name),
                ));
            }
            need_state(h, HandoverState::Accepted)?;
            if h.minutes_signatures.contains(&who) {
                return Err(refuse(
                    "already_signed",
                    "bên này đã ký biên bản".into(),
                    "this party has already signed the minutes".into(),
                ));
            }
            if who == MinutesSigner::Seal
                && !(h.minutes_signatures.contains(&MinutesSigner::Giver)
                    && h.minutes_signatures.contains(&MinutesSigner::Receiver))
            {
                return Err(refuse(
                    "minutes_unsigned",
                    "chỉ đóng dấu sau khi bên giao và bên nhận đã ký biên bản".into(),
                    "seal only after giver and receiver have signed the minutes".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Checks the text fields of a handover request.
pub fn check_handover_request(handover: &Handover) -> Result<(), OfficeError> {
    let missing =
        |vi: &str, en: &str| OfficeError::Invalid(format!("thiếu {vi} / the {en} is missing"));
    if handover.permission_reference.trim().is_empty() {
        return Err(missing(
            "căn cứ văn bản cho phép của thủ trưởng",
            "reference of the head's written permission",
        ));
    }
    if handover.condition.trim().is_empty() {
        return Err(missing("tình trạng thiết bị", "device condition"));
    }
    for text in [&handover.permission_reference, &handover.condition] {
        if text.chars().count() > 1000 {
            return Err(OfficeError::Invalid(
                "nội dung quá dài (tối đa 1000 ký tự) / text too long (1000 characters at most)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// A decision on a requested handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoverDecision {
    /// A leader approves it.
    Approve,
    /// A leader refuses it (with a reason).
    Refuse,
    /// The giver or an administrator withdraws it (with a reason).
    Cancel,
}

impl HandoverDecision {
    /// The state the handover goes to.
    pub fn state(self) -> HandoverState {
        match self {
            HandoverDecision::Approve => HandoverState::Approved,
            HandoverDecision::Refuse => HandoverState::Refused,
            HandoverDecision::Cancel => HandoverState::Cancelled,
        }
    }
}

impl Handover {
    /// A new request by the device's custodian `giver` to hand `device` to `receiver`,
    /// citing the head's written permission; its text fields checked
    /// ([`check_handover_request`]). Who may ask is [`authorize`]'s decision
    /// ([`Action::RequestHandover`]).
    pub fn request(
        device: &Device,
        giver: &User,
        receiver: &User,
        permission_reference: &str,
        witnesses: Vec<String>,
        condition: &str,
        at: OffsetDateTime,
    ) -> Result<Self, OfficeError> {
        let handover = Self {
            id: None,
            agency: device.agency.clone(),
            device: device.serial.clone(),
            giver: giver.name.clone(),
            receiver: receiver.name.clone(),
            permission_reference: permission_reference.trim().to_string(),
            witnesses,
            condition: condition.trim().to_string(),
            state: HandoverState::Requested,
            requested_at: at,
            approver: None,
            decided_at: None,
            accepted_at: None,
            minutes_notation: None,
            minutes_document: None,
            minutes_signatures: Vec::new(),
            minutes_sha256: None,
            completed_at: None,
            note: String::new(),
        };
        check_handover_request(&handover)?;
        Ok(handover)
    }

    /// Applies `decision`, taken by `by` at `at`: approving or refusing a requested
    /// handover, or withdrawing one not yet accepted. A refusal or a withdrawal needs its
    /// reason. Returns the state it left (for the store's compare-and-set).
    pub fn decide(
        &mut self,
        decision: HandoverDecision,
        by: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<HandoverState, OfficeError> {
        let from = self.state;
        match decision {
            HandoverDecision::Approve | HandoverDecision::Refuse => {
                need_state(self, HandoverState::Requested).map_err(OfficeError::Refused)?;
            }
            HandoverDecision::Cancel => {
                if !matches!(from, HandoverState::Requested | HandoverState::Approved) {
                    need_state(self, HandoverState::Requested).map_err(OfficeError::Refused)?;
                }
            }
        }
        if decision != HandoverDecision::Approve && reason.trim().is_empty() {
            return Err(OfficeError::Invalid(
                "cần nêu lý do từ chối hoặc hủy / give the reason for refusing or cancelling"
                    .into(),
            ));
        }
        self.state = decision.state();
        self.note = reason.trim().to_string();
        if decision != HandoverDecision::Cancel {
            self.approver = Some(by.to_string());
            self.decided_at = Some(at);
        }
        Ok(from)
    }

    /// The receiver accepts an approved handover at `at`: custody moves (the store
    /// moves it with the handover, compare-and-set from `approved`).
    pub fn accept(&mut self, at: OffsetDateTime) -> Result<(), OfficeError> {
        need_state(self, HandoverState::Approved).map_err(OfficeError::Refused)?;
        self.state = HandoverState::Accepted;
        self.accepted_at = Some(at);
        Ok(())
    }

    /// Custody moved but the minutes are not drawn up yet (a step interrupted).
    pub fn needs_minutes(&self) -> bool {
        self.state == HandoverState::Accepted && self.minutes_notation.is_none()
    }

    /// The minutes were numbered (`notation`, register entry `document`) and drawn up
    /// (`sha256` of the PDF).
    pub fn minutes_drawn_up(&mut self, notation: String, document: Option<i64>, sha256: String) {
        self.minutes_notation = Some(notation);
        self.minutes_document = document;
        self.minutes_sha256 = Some(sha256);
    }

    /// The handover after `signer` signed the minutes (new PDF with SHA-256 `sha256`) at
    /// `at`; the seal completes it. Who may sign, and in which order, is [`authorize`]'s
    /// decision ([`Action::SignMinutes`]).
    pub fn minutes_signed(
        &self,
        signer: MinutesSigner,
        sha256: String,
        at: OffsetDateTime,
    ) -> Result<Self, OfficeError> {
        need_state(self, HandoverState::Accepted).map_err(OfficeError::Refused)?;
        let mut next = self.clone();
        next.minutes_signatures.push(signer);
        next.minutes_sha256 = Some(sha256);
        if signer == MinutesSigner::Seal {
            next.state = HandoverState::Completed;
            next.completed_at = Some(at);
        }
        Ok(next)
    }
}

/// Encodes an algorithm identifier for transport (challenge responses).
pub fn algorithm_der(algorithm: &AlgorithmIdentifierOwned) -> Result<Vec<u8>, OfficeError> {
    algorithm
        .to_der()
        .map_err(|e| OfficeError::Invalid(format!("algorithm: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency() -> AgencyId {
        AgencyId::parse_with("000.00.00.H13", kyso_model::AgencyIdFormat::Lenient).unwrap()
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

    fn device(custodian: &str) -> Device {
        Device {
            agency: agency(),
            serial: "ABC123".into(),
            label: "CO QUAN".into(),
            manufacturer: String::new(),
            model: String::new(),
            slot: 0,
            key_id: "01".into(),
            certificate: String::new(),
            custodian: custodian.into(),
            registered_at: OffsetDateTime::UNIX_EPOCH,
            registered_by: "admin".into(),
        }
    }

    #[test]
    fn repeated_failures_lock_the_account() {
        let mut u = user("an", &[Role::Clerk]);
        let t = OffsetDateTime::UNIX_EPOCH;
        for _ in 1..MAX_FAILED_LOGINS {
            assert!(!u.note_login(false, t));
        }
        assert!(!u.is_locked(t));
        assert!(u.note_login(false, t));
        assert!(u.is_locked(t + time::Duration::minutes(LOCK_MINUTES - 1)));
        assert!(!u.is_locked(t + time::Duration::minutes(LOCK_MINUTES)));
        u.note_login(false, t);
        u.note_login(true, t);
        assert_eq!(u.failed_logins, 0);
        assert!(!u.is_locked(t));
    }

    fn handover(state: HandoverState) -> Handover {
        Handover {
            id: Some(1),
            agency: agency(),
            device: "ABC123".into(),
            giver: "an".into(),
            receiver: "binh".into(),
            permission_reference: "Giấy ủy quyền số 1".into(),
            witnesses: vec![],
            condition: "Hoạt động bình thường".into(),
            state,
            requested_at: OffsetDateTime::UNIX_EPOCH,
            approver: None,
            decided_at: None,
            accepted_at: None,
            minutes_notation: None,
            minutes_document: None,
            minutes_signatures: vec![],
            minutes_sha256: None,
            completed_at: None,
            note: String::new(),
        }
    }

    #[test]
    fn only_the_custodian_signs_with_the_device() {
        let d = device("an");
        assert!(authorize(&user("an", &[Role::Clerk]), Action::SignWithDevice(&d)).is_ok());
        let refused = authorize(
            &user("binh", &[Role::Custodian, Role::Leader]),
            Action::SignWithDevice(&d),
        )
        .unwrap_err();
        assert_eq!(refused.code, "not_custodian");
        let mut inactive = user("an", &[Role::Clerk]);
        inactive.active = false;
        assert_eq!(
            authorize(&inactive, Action::SignWithDevice(&d))
                .unwrap_err()
                .code,
            "inactive_user"
        );
    }

    #[test]
    fn handover_roles() {
        let d = device("an");
        let giver = user("an", &[Role::Custodian]);
        let receiver = user("binh", &[Role::Custodian]);
        let officer = user("cuong", &[Role::Officer]);
        assert!(
            authorize(
                &giver,
                Action::RequestHandover {
                    device: &d,
                    receiver: &receiver
                }
            )
            .is_ok()
        );
        assert_eq!(
            authorize(
                &receiver,
                Action::RequestHandover {
                    device: &d,
                    receiver: &giver
                }
            )
            .unwrap_err()
            .code,
            "not_custodian"
        );
        assert_eq!(
            authorize(
                &giver,
                Action::RequestHandover {
                    device: &d,
                    receiver: &officer
                }
            )
            .unwrap_err()
            .code,
            "missing_role"
        );
        let h = handover(HandoverState::Requested);
        let leader = user("dung", &[Role::Leader]);
        assert!(authorize(&leader, Action::DecideHandover(&h)).is_ok());
        let self_approving = user("binh", &[Role::Leader, Role::Custodian]);
        assert_eq!(
            authorize(&self_approving, Action::DecideHandover(&h))
                .unwrap_err()
                .code,
            "self_approval"
        );
        assert_eq!(
            authorize(&receiver, Action::AcceptHandover(&h))
                .unwrap_err()
                .code,
            "handover_state"
        );
        let approved = handover(HandoverState::Approved);
        assert!(authorize(&receiver, Action::AcceptHandover(&approved)).is_ok());
        assert_eq!(
            authorize(&giver, Action::AcceptHandover(&approved))
                .unwrap_err()
                .code,
            "not_receiver"
        );
        let mut accepted = handover(HandoverState::Accepted);
        assert_eq!(
            authorize(
                &receiver,
                Action::SignMinutes(&accepted, MinutesSigner::Seal)
            )
            .unwrap_err()
            .code,
            "minutes_unsigned"
        );
        accepted.minutes_signatures = vec![MinutesSigner::Giver, MinutesSigner::Receiver];
        assert!(
            authorize(
                &receiver,
                Action::SignMinutes(&accepted, MinutesSigner::Seal)
            )
            .is_ok()
        );
        assert_eq!(
            authorize(&giver, Action::SignMinutes(&accepted, MinutesSigner::Giver))
                .unwrap_err()
                .code,
            "already_signed"
        );
    }

    #[test]
    fn handover_steps() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let mut h = handover(HandoverState::Requested);
        assert!(h.decide(HandoverDecision::Refuse, "dung", " ", t).is_err());
        assert_eq!(
            h.decide(HandoverDecision::Approve, "dung", "", t).unwrap(),
            HandoverState::Requested
        );
        assert_eq!(
            (h.state, h.approver.as_deref()),
            (HandoverState::Approved, Some("dung"))
        );
        assert!(h.decide(HandoverDecision::Approve, "dung", "", t).is_err());
        let mut cancelled = h.clone();
        cancelled
            .decide(HandoverDecision::Cancel, "an", "nhầm người nhận", t)
            .unwrap();
        assert_eq!(cancelled.state, HandoverState::Cancelled);
        assert!(cancelled.accept(t).is_err());
        h.accept(t).unwrap();
        assert!(h.needs_minutes());
        h.minutes_drawn_up("01/BB-STTTT".into(), Some(7), "00".into());
        assert!(!h.needs_minutes());
        let signed = h
            .minutes_signed(MinutesSigner::Giver, "11".into(), t)
            .unwrap();
        assert_eq!(signed.minutes_signatures, [MinutesSigner::Giver]);
        let sealed = signed
            .minutes_signed(MinutesSigner::Seal, "22".into(), t)
            .unwrap();
        assert_eq!(sealed.state, HandoverState::Completed);
        assert!(
            sealed
                .minutes_signed(MinutesSigner::Receiver, "33".into(), t)
                .is_err()
        );
    }

    #[test]
    fn passwords() {
        let mut u = user("an", &[Role::Clerk]);
        assert!(hash_password("short", &[7; 16]).is_err());
        u.password_hash = Some(hash_password("mật khẩu đủ dài", &[7; 16]).unwrap());
        assert!(
            u.password_hash
                .as_deref()
                .unwrap()
                .starts_with("$argon2id$")
        );
        assert!(check_password(Some(&u), "mật khẩu đủ dài").is_ok());
        assert_eq!(
            check_password(Some(&u), "mat khau du dai")
                .unwrap_err()
                .reason,
            "wrong_password"
        );
        assert_eq!(
            check_password(None, "anything").unwrap_err().reason,
            "unknown_user"
        );
        u.active = false;
        assert_eq!(
            check_password(Some(&u), "mật khẩu đủ dài")
                .unwrap_err()
                .reason,
            "inactive"
        );
    }

    #[test]
    fn user_names() {
        assert!(check_user_name("nguyen.van-an_2").is_ok());
        for bad in ["", "An", "-a", "a b", "nguyễn", &"a".repeat(65)] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
    }
}
