//! `kyso user …`, `kyso device …` and the custody check of `kyso sign`: agency users
//! and roles, the registry of the agency's signing devices, handovers with numbered,
//! signed and sealed minutes, and the rule that only the current custodian signs with
//! the agency's device. Decisions are kyso-office's ([`kyso_office::authorize`]); this
//! module authenticates, acts, and records every attempt in the audit log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use der::Encode;
use kyso_app::outgoing::{device_dir, user_dir};
use kyso_audit::Outcome;
use kyso_model::{DocumentType, Secrecy, Urgency};
use kyso_office::{
    Action, CertificateFacts, Device, DeviceFacts, DocState, DocumentQuery, Event as DocEvent,
    Handover, HandoverMinutes, HandoverState, Metadata, MinutesParty, MinutesSigner,
    OutgoingNumber, OutgoingRequest, OutgoingState, Role, Step, Store, User, authorize,
    check_certificate_login, check_handover_request, hash_password, login_challenge, minutes_pdf,
};
use kyso_pades::sign::{self as pades, PdfSignRequest, Role as PdfRole};
use kyso_pkcs11::Pin;
use kyso_signer::Signer;
use kyso_store::Archive;
use time::OffsetDateTime;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::archive::{Ctx, OfficeArgs, vietnam_now};
use crate::args::TokenArgs;
use crate::signing::{Identity, load_identity};
use crate::store::{read_certificates, write_atomic};
use kyso_app::{AuditAction, AuditEvent as Event};

/// Who is acting: `--user NAME` with a password (`KYSO_PASSWORD`, else a prompt), or
/// with a challenge signed on their own token (`--login-pkcs11 MODULE`, PIN from
/// `KYSO_LOGIN_PIN`, else a prompt).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct AuthArgs {
    /// The acting user's login name.
    #[arg(long = "user", value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Log in with the personal certificate on this PKCS#11 token module instead of a
    /// password.
    #[arg(long = "login-pkcs11", value_name = "MODULE")]
    pub(crate) login_module: Option<PathBuf>,
    /// Serial of the personal token (when several are plugged in).
    #[arg(long = "login-token-serial", value_name = "SERIAL")]
    pub(crate) login_token_serial: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user (administrator; the agency's first user must be an administrator and
    /// needs no login). New password from `KYSO_NEW_PASSWORD`, else a prompt.
    Add(Box<UserAddArgs>),
    /// Change a user: roles, password, certificate, signature image, enable/disable
    /// (administrator; anyone may change their own password, certificate and image).
    Set(Box<UserSetArgs>),
    /// List the agency's users.
    List {
        #[command(flatten)]
        office: OfficeArgs,
    },
    /// Check a login (recorded in the audit log).
    Login {
        #[command(flatten)]
        office: OfficeArgs,
        #[command(flatten)]
        auth: AuthArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct UserAddArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Login name (lowercase ASCII).
    name: String,
    /// Full name as printed, with diacritics.
    #[arg(long)]
    full_name: String,
    /// Role (repeat): leader, clerk, officer, custodian, administrator.
    #[arg(long = "role", value_name = "ROLE", required = true)]
    roles: Vec<String>,
    /// Position (chức vụ).
    #[arg(long, default_value = "")]
    title: String,
    /// Unit (đơn vị).
    #[arg(long, default_value = "")]
    unit: String,
    /// Set a password.
    #[arg(long)]
    password: bool,
    /// The personal certificate (PEM/DER) for certificate login and minutes signing.
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// PNG of the handwritten signature, shown where the user signs.
    #[arg(long, value_name = "PNG")]
    signature_image: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct UserSetArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// The user to change.
    name: String,
    #[arg(long = "add-role", value_name = "ROLE")]
    add_roles: Vec<String>,
    #[arg(long = "remove-role", value_name = "ROLE")]
    remove_roles: Vec<String>,
    /// Set a new password (`KYSO_NEW_PASSWORD`, else a prompt).
    #[arg(long)]
    password: bool,
    #[arg(long, value_name = "FILE")]
    certificate: Option<PathBuf>,
    #[arg(long, value_name = "PNG")]
    signature_image: Option<PathBuf>,
    #[arg(long, conflicts_with = "enable")]
    disable: bool,
    #[arg(long)]
    enable: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// Register the agency's signing device (administrator): reads the token's serial,
    /// the agency key and its certificate (PIN from `KYSO_PIN`), and names its first
    /// custodian.
    Register(Box<DeviceRegisterArgs>),
    /// The agency's devices and their custodians.
    List {
        #[command(flatten)]
        office: OfficeArgs,
    },
    /// One device with its handover history.
    Show {
        #[command(flatten)]
        office: OfficeArgs,
        /// Token serial.
        serial: String,
    },
    /// Hand the device to another person, with the head's permission and minutes.
    #[command(subcommand)]
    Handover(HandoverCommand),
}

#[derive(Debug, Args)]
pub(crate) struct DeviceRegisterArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// The first custodian (a user with the custodian role).
    #[arg(long, value_name = "USER")]
    custodian: String,
    /// PNG of the agency's seal, shown where the device seals minutes.
    #[arg(long, value_name = "PNG")]
    seal_image: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HandoverCommand {
    /// Ask to hand the device over (its current custodian).
    Request(Box<RequestArgs>),
    /// Approve a request (a leader who is neither party).
    Approve(DecideArgs),
    /// Refuse a request (a leader), with the reason.
    Refuse(DecideArgs),
    /// Withdraw a request (the giver or an administrator).
    Cancel(DecideArgs),
    /// Accept the device (the receiver): log in to the token with the PIN the giver
    /// hands over (`KYSO_PIN`), set a new PIN (`KYSO_NEW_PIN`, else a prompt), take
    /// custody, and number and draw up the minutes.
    Accept(Box<AcceptArgs>),
    /// Sign the minutes as giver or receiver with one's personal certificate.
    Sign(Box<MinutesSignArgs>),
    /// Seal the minutes with the device (its new custodian), after both signatures.
    Seal(Box<SealArgs>),
    /// Handovers of the agency.
    List {
        #[command(flatten)]
        office: OfficeArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Token serial of the device.
    #[arg(long, value_name = "SERIAL")]
    device: String,
    /// The receiver (user name).
    #[arg(long, value_name = "USER")]
    to: String,
    /// The head's written permission: number, date, author.
    #[arg(long, value_name = "TEXT")]
    permission: String,
    /// Witness (user name or a name as written; repeat).
    #[arg(long = "witness", value_name = "NAME")]
    witnesses: Vec<String>,
    /// Condition of the device.
    #[arg(
        long,
        default_value = "Thiết bị hoạt động bình thường, không có hư hỏng."
    )]
    condition: String,
}

#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Handover id.
    id: i64,
    /// Reason (required to refuse or cancel).
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Debug, Args)]
pub(crate) struct AcceptArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Handover id.
    id: i64,
    /// The device's PKCS#11 module.
    #[arg(long = "pkcs11", value_name = "MODULE")]
    module: PathBuf,
    /// The agency's abbreviation in notations (`STTTT` → `03/BB-STTTT`).
    #[arg(long, env = "KYSO_AGENCY_ABBR", value_name = "ABBR")]
    issuer: String,
    /// Parent agency printed above the agency's name.
    #[arg(long, env = "KYSO_PARENT_AGENCY", value_name = "NAME")]
    parent_agency: Option<String>,
    /// Place name (địa danh) of the minutes.
    #[arg(long, env = "KYSO_PLACE", default_value = "Cần Thơ")]
    place: String,
    /// Where the handover happens.
    #[arg(long, default_value = "Trụ sở cơ quan")]
    location: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PartyArg {
    Giver,
    Receiver,
}

#[derive(Debug, Args)]
pub(crate) struct MinutesSignArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Handover id.
    id: i64,
    /// Which party signs.
    #[arg(long = "as", value_enum)]
    party: PartyArg,
    /// Personal key in the keystore.
    #[arg(long, value_name = "NAME")]
    key: Option<String>,
    /// Personal key in a PKCS#12 file.
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    /// Personal token.
    #[command(flatten)]
    token: TokenArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    office: OfficeArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Handover id.
    id: i64,
    /// The device's PKCS#11 module (PIN from `KYSO_PIN`).
    #[arg(long = "pkcs11", value_name = "MODULE")]
    module: PathBuf,
}

// ----------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------

fn event(actor: &str, action: AuditAction, object: &str, outcome: Outcome) -> Event {
    Event::new(actor, action, object, outcome)
}

fn with(mut e: Event, key: &str, value: impl Into<String>) -> Event {
    e.details.push((key.to_string(), value.into()));
    e
}

impl Ctx {
    /// Records a security event; failing to record fails the command (an action that
    /// cannot be audited is not done).
    pub(crate) fn audit(&self, event: Event) -> Result<()> {
        self.block(self.app.record(event))
            .context("cannot write the audit log")?;
        Ok(())
    }
}

fn secret_from_env(var: &str, prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(v) = std::env::var(var) {
        return Ok(Zeroizing::new(v));
    }
    let v = rpassword::prompt_password(prompt)
        .with_context(|| format!("no {var} set and no terminal to ask"))?;
    Ok(Zeroizing::new(v))
}

fn new_secret(var: &str, prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(v) = std::env::var(var) {
        return Ok(Zeroizing::new(v));
    }
    let ask = |p: &str| -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(rpassword::prompt_password(p).with_context(
            || format!("no {var} set and no terminal to ask"),
        )?))
    };
    let a = ask(prompt)?;
    let b = ask("Nhập lại / again: ")?;
    if *a != *b {
        bail!("hai lần nhập không khớp / the two entries differ");
    }
    Ok(a)
}

fn refusal_error(refusal: &kyso_office::Refusal) -> anyhow::Error {
    anyhow::anyhow!("bị từ chối / refused ({}): {refusal}", refusal.code)
}

/// Authenticates the acting user; records the login (succeeded or failed).
pub(crate) fn authenticate(ctx: &Ctx, auth: &AuthArgs) -> Result<User> {
    let name = auth
        .user
        .as_deref()
        .context("this action needs a logged-in user: give --user NAME")?;
    if auth.login_module.is_none() {
        // Password login: kyso-app's use case (the same as `POST /api/v1/sessions`).
        let password = secret_from_env("KYSO_PASSWORD", "Mật khẩu / password: ")?;
        return Ok(ctx.block(
            ctx.app
                .login_password(Some(&ctx.agency), name, password, None),
        )?);
    }
    let user = ctx.block(ctx.archive().user(&ctx.agency, name))?;
    ctx.block(ctx.app.refuse_if_locked(name, user.as_ref()))?;
    let Some(module) = &auth.login_module else {
        bail!("unreachable: no login module");
    };
    let checked = certificate_login(ctx, user.as_ref(), module, auth);
    Ok(ctx.block(ctx.app.finish_login(name, user, checked, "certificate"))?)
}

fn certificate_login(
    ctx: &Ctx,
    user: Option<&User>,
    module: &Path,
    auth: &AuthArgs,
) -> Result<(), kyso_office::LoginFailure> {
    let fail = |reason| kyso_office::LoginFailure { reason };
    let user = user.ok_or(fail("unknown_user"))?;
    let cert = user
        .certificate()
        .ok()
        .flatten()
        .ok_or(fail("no_certificate"))?;
    let serial = hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes());
    let token = TokenArgs {
        module: Some(module.to_path_buf()),
        token_serial: auth.login_token_serial.clone(),
        token_label: None,
        key_id: None,
        key_label: None,
        cert_serial: Some(serial),
        allow_final_pin_try: false,
    };
    let open = || -> Result<kyso_pkcs11::TokenKey> {
        let module = crate::token::module(&token)?;
        let info = module.find_token(token.token_serial.as_deref(), None)?;
        let pin = Pin::new(
            secret_from_env(
                "KYSO_LOGIN_PIN",
                "Mã PIN thiết bị cá nhân / personal token PIN: ",
            )?
            .to_string(),
        );
        let session = module.login(&info, &pin, false)?;
        Ok(session.key(&crate::token::selector(&token)?, None, false)?)
    };
    let key = open().map_err(|e| {
        eprintln!("kyso: {e:#}");
        fail("token_login_failed")
    })?;
    let (now, _) = vietnam_now();
    certificate_trusted(&ctx.data, &cert, now).map_err(|e| {
        eprintln!("kyso: {e:#}");
        fail("certificate_untrusted")
    })?;
    let nonce: [u8; 32] = rand::random();
    let issued = now.unix_timestamp();
    let challenge = login_challenge(&ctx.agency, &user.name, &nonce, issued);
    let signature = key.sign(&challenge).map_err(|_| fail("bad_signature"))?;
    check_certificate_login(
        Some(user),
        &challenge,
        issued,
        &key.algorithm().algorithm_identifier(),
        &signature,
        now,
    )
}

/// When the data directory has a trust store (`kyso trust add`), a login certificate
/// must chain to one of its roots and be unrevoked now (CRLs fetched from the chain's
/// distribution points). Without a trust store the administrator's registration of the
/// certificate is the only trust decision.
fn certificate_trusted(data: &Path, cert: &Certificate, now: OffsetDateTime) -> Result<()> {
    let trust = data.join("trust");
    if !trust.is_dir() {
        return Ok(());
    }
    let (anchors, count) = crate::store::load_anchors(&[trust])?;
    if count == 0 {
        return Ok(());
    }
    let net = kyso_net::Client::default();
    let mut chain = vec![cert.clone()];
    let _ = crate::signing::complete_chain(&mut chain, &net);
    // Unreachable CRLs show as an indeterminate path below.
    let crls = crate::signing::fetch_crls(&chain, &net, &mut Vec::new());
    let intermediates = chain[1..]
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = kyso_pki::validate_path(
        &anchors,
        &kyso_pki::path::PathInput {
            end_entity: &cert.to_der()?,
            intermediates: &intermediates,
            crls: &crls,
            ocsp_responses: &[],
            time: now,
        },
        &kyso_pki::path::PathPolicy::default(),
    )?;
    if !outcome.status.is_valid() {
        bail!(
            "chứng thư số đăng nhập không hợp lệ / the login certificate is not valid: {:?}",
            outcome.status
        );
    }
    if matches!(
        outcome.end_entity_revocation,
        kyso_pki::path::RevocationInfo::Revoked { .. }
    ) {
        bail!("chứng thư số đăng nhập đã bị thu hồi / the login certificate is revoked");
    }
    Ok(())
}

/// Checks `action` for `user`; records a refusal and returns it as an error.
fn allow(ctx: &Ctx, user: &User, action: Action<'_>, object: &str) -> Result<()> {
    if let Err(refusal) = authorize(user, action) {
        ctx.audit(with(
            with(
                event(
                    &user.name,
                    AuditAction::of(&action),
                    object,
                    Outcome::Refused,
                ),
                "reason",
                refusal.code,
            ),
            "message",
            refusal.en.clone(),
        ))?;
        return Err(refusal_error(&refusal));
    }
    Ok(())
}

fn roles_of(keys: &[String]) -> Result<BTreeSet<Role>> {
    keys.iter()
        .map(|k| Role::parse(k).map_err(anyhow::Error::from))
        .collect()
}

/// The minutes as they stand: `handover-<id>-minutes-<n>.pdf` with `n` signatures. Each
/// signature writes the next file first and only then records it (with its SHA-256) in
/// the handover row, the commit point; so a crash leaves the recorded file intact.
fn minutes_path(data: &Path, handover: &Handover) -> PathBuf {
    device_dir(data, &handover.device).join(format!(
        "handover-{}-minutes-{}.pdf",
        handover.id.unwrap_or_default(),
        handover.minutes_signatures.len()
    ))
}

/// The sealed minutes: `handover-<id>-minutes.pdf`.
fn final_minutes_path(data: &Path, handover: &Handover) -> PathBuf {
    device_dir(data, &handover.device).join(format!(
        "handover-{}-minutes.pdf",
        handover.id.unwrap_or_default()
    ))
}

/// Saves the next version of the minutes and records it in the handover row
/// (compare-and-set from `accepted`), then removes the previous version.
fn save_minutes(
    ctx: &Ctx,
    data: &Path,
    h: &mut Handover,
    signer: MinutesSigner,
    signed: &[u8],
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let previous = minutes_path(data, h);
    let mut next = h.clone();
    next.minutes_signatures.push(signer);
    next.minutes_sha256 = Some(sha256_hex(signed));
    if signer == MinutesSigner::Seal {
        next.state = HandoverState::Completed;
        next.completed_at = Some(now);
    }
    let path = if signer == MinutesSigner::Seal {
        final_minutes_path(data, &next)
    } else {
        minutes_path(data, &next)
    };
    write_atomic(&path, signed, false)?;
    ctx.block(
        ctx.archive()
            .update_handover(&next, HandoverState::Accepted, now),
    )?;
    *h = next;
    let _ = std::fs::remove_file(previous);
    Ok(path)
}

fn copy_png(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        bail!("{} is not a PNG image", from.display());
    }
    write_atomic(to, &bytes, false)
}

fn single_certificate(path: &Path) -> Result<Certificate> {
    read_certificates(path)?
        .into_iter()
        .next()
        .with_context(|| format!("no certificate in {}", path.display()))
}

fn cert_serial(cert: &Certificate) -> String {
    hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(bytes))
}

// ----------------------------------------------------------------------------------
// kyso user
// ----------------------------------------------------------------------------------

/// `kyso user …`.
pub(crate) fn user_command(data: &Path, command: UserCommand) -> Result<bool> {
    match command {
        UserCommand::Add(a) => user_add(data, *a),
        UserCommand::Set(a) => user_set(data, *a),
        UserCommand::List { office } => {
            let ctx = Ctx::open(data, &office)?;
            for u in ctx.block(ctx.archive().users(&ctx.agency))? {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.key()).collect();
                println!(
                    "{}\t{}\t{}\t{}{}",
                    u.name,
                    u.full_name,
                    roles.join(","),
                    if u.certificate.is_some() {
                        "chứng thư số / certificate"
                    } else {
                        "-"
                    },
                    if u.active {
                        ""
                    } else {
                        "\tĐÃ KHÓA / disabled"
                    }
                );
            }
            Ok(true)
        }
        UserCommand::Login { office, auth } => {
            let ctx = Ctx::open(data, &office)?;
            let user = authenticate(&ctx, &auth)?;
            println!(
                "Đăng nhập thành công / logged in: {} ({})",
                user.full_name, user.name
            );
            Ok(true)
        }
    }
}

fn set_password(user: &mut User) -> Result<()> {
    let password = new_secret("KYSO_NEW_PASSWORD", "Mật khẩu mới / new password: ")?;
    let salt: [u8; 16] = rand::random();
    user.password_hash = Some(hash_password(&password, &salt)?);
    Ok(())
}

fn user_add(data: &Path, a: UserAddArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let roles = roles_of(&a.roles)?;
    let existing = ctx.block(ctx.archive().users(&ctx.agency))?;
    let actor = if existing.is_empty() {
        if !roles.contains(&Role::Administrator) {
            bail!(
                "người dùng đầu tiên của cơ quan phải có vai trò administrator / the agency's first user must be an administrator"
            );
        }
        a.name.clone()
    } else {
        let admin = authenticate(&ctx, &a.auth)?;
        allow(&ctx, &admin, Action::ManageUsers, &a.name)?;
        admin.name
    };
    let mut user = User::new(ctx.agency.clone(), &a.name, &a.full_name, roles)?;
    user.title = a.title.trim().to_string();
    user.unit = a.unit.trim().to_string();
    if a.password {
        set_password(&mut user)?;
    }
    if let Some(path) = &a.certificate {
        user.set_certificate(&single_certificate(path)?)?;
    }
    if let Some(png) = &a.signature_image {
        copy_png(
            png,
            &user_dir(data, &ctx.agency, &user.name).join("signature.png"),
        )?;
    }
    ctx.block(ctx.archive().create_user(&user, now))
        .with_context(|| format!("cannot add user {}", user.name))?;
    let roles: Vec<&str> = user.roles.iter().map(|r| r.key()).collect();
    ctx.audit(with(
        with(
            event(
                &actor,
                AuditAction::Permission,
                &user.name,
                Outcome::Succeeded,
            ),
            "change",
            "user_added",
        ),
        "roles",
        roles.join(","),
    ))?;
    println!(
        "Đã thêm người dùng / user added: {} ({}) — {}",
        user.full_name,
        user.name,
        roles.join(", ")
    );
    Ok(true)
}

fn user_set(data: &Path, a: UserSetArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let actor = authenticate(&ctx, &a.auth)?;
    let mut user = ctx
        .block(ctx.archive().user(&ctx.agency, &a.name))?
        .with_context(|| format!("no user {} in the agency", a.name))?;
    let admin_change =
        !a.add_roles.is_empty() || !a.remove_roles.is_empty() || a.disable || a.enable;
    if admin_change || actor.name != user.name {
        allow(&ctx, &actor, Action::ManageUsers, &user.name)?;
    }
    let mut changes = Vec::new();
    for r in roles_of(&a.add_roles)? {
        if user.roles.insert(r) {
            changes.push(format!("+{r}"));
        }
    }
    for r in roles_of(&a.remove_roles)? {
        if user.roles.remove(&r) {
            changes.push(format!("-{r}"));
        }
    }
    if a.disable {
        user.active = false;
        changes.push("disabled".into());
    }
    if a.enable {
        user.active = true;
        user.failed_logins = 0;
        user.locked_until = None;
        changes.push("enabled".into());
    }
    if a.password {
        set_password(&mut user)?;
        changes.push("password".into());
    }
    if let Some(path) = &a.certificate {
        let cert = single_certificate(path)?;
        changes.push(format!("certificate {}", cert_serial(&cert)));
        user.set_certificate(&cert)?;
    }
    if let Some(png) = &a.signature_image {
        copy_png(
            png,
            &user_dir(data, &ctx.agency, &user.name).join("signature.png"),
        )?;
        changes.push("signature_image".into());
    }
    ctx.block(ctx.archive().update_user(&user, now))?;
    // Roles, password or status changed: the user's web sessions end (next request: 401).
    ctx.block(ctx.archive().delete_user_sessions(&user.agency, &user.name))?;
    ctx.audit(with(
        event(
            &actor.name,
            AuditAction::Permission,
            &user.name,
            Outcome::Succeeded,
        ),
        "change",
        changes.join(" "),
    ))?;
    println!(
        "Đã cập nhật / updated {}: {}",
        user.name,
        if changes.is_empty() {
            "không có thay đổi / nothing".to_string()
        } else {
            changes.join(", ")
        }
    );
    Ok(true)
}

// ----------------------------------------------------------------------------------
// kyso device
// ----------------------------------------------------------------------------------

/// `kyso device …`.
pub(crate) fn device_command(
    data: &Path,
    command: DeviceCommand,
    net: &kyso_net::Client,
) -> Result<bool> {
    match command {
        DeviceCommand::Register(a) => device_register(data, *a),
        DeviceCommand::List { office } => {
            let ctx = Ctx::open(data, &office)?;
            for d in ctx.block(ctx.archive().devices(&ctx.agency))? {
                let cert = d.certificate()?;
                println!(
                    "{}\t{}\tngười quản lý / custodian: {}\t{} (serial {})",
                    d.serial,
                    d.label,
                    d.custodian,
                    cert.tbs_certificate().subject(),
                    cert_serial(&cert)
                );
            }
            Ok(true)
        }
        DeviceCommand::Show { office, serial } => {
            let ctx = Ctx::open(data, &office)?;
            let d = ctx
                .block(ctx.archive().device(&serial))?
                .with_context(|| format!("no device {serial}"))?;
            let cert = d.certificate()?;
            println!(
                "Thiết bị / device {} ({} {} {})\n  chứng thư số / certificate: {} serial {}\n  người quản lý hiện tại / current custodian: {}",
                d.serial,
                d.label,
                d.manufacturer,
                d.model,
                cert.tbs_certificate().subject(),
                cert_serial(&cert),
                d.custodian
            );
            for h in ctx.block(ctx.archive().handovers(&ctx.agency, Some(&serial)))? {
                print_handover(&h);
            }
            Ok(true)
        }
        DeviceCommand::Handover(c) => handover_command(data, c, net),
    }
}

fn print_handover(h: &Handover) {
    println!(
        "  bàn giao / handover {}: {} → {}, {} ({}){}",
        h.id.unwrap_or_default(),
        h.giver,
        h.receiver,
        h.state.vietnamese(),
        h.state.key(),
        h.minutes_notation
            .as_ref()
            .map(|n| format!(", biên bản / minutes Số: {n}"))
            .unwrap_or_default()
    );
}

fn device_register(data: &Path, a: DeviceRegisterArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let admin = authenticate(&ctx, &a.auth)?;
    allow(&ctx, &admin, Action::RegisterDevice, "device")?;
    let custodian = ctx
        .block(ctx.archive().user(&ctx.agency, &a.custodian))?
        .with_context(|| format!("no user {} in the agency", a.custodian))?;
    if !custodian.has(Role::Custodian) || !custodian.active {
        bail!(
            "{} không có vai trò custodian / {} does not have the custodian role",
            custodian.name,
            custodian.name
        );
    }
    let module = crate::token::module(&a.token)?;
    let info = module.find_token(
        a.token.token_serial.as_deref(),
        a.token.token_label.as_deref(),
    )?;
    let pin = crate::token::pin()?;
    let session = module.login(&info, &pin, a.token.allow_final_pin_try)?;
    let key = session.key(&crate::token::selector(&a.token)?, None, false)?;
    let certificate = key.certificate().clone();
    let key_id = session
        .keys()?
        .into_iter()
        .find(|k| k.certificate.as_ref() == Some(&certificate))
        .map(|k| hex::encode_upper(&k.id))
        .unwrap_or_default();
    let device = Device {
        agency: ctx.agency.clone(),
        serial: info.serial.clone(),
        label: info.label.clone(),
        manufacturer: info.manufacturer.clone(),
        model: info.model.clone(),
        slot: info.slot,
        key_id,
        certificate: hex::encode(certificate.to_der()?),
        custodian: custodian.name.clone(),
        registered_at: now,
        registered_by: admin.name.clone(),
    };
    if let Some(png) = &a.seal_image {
        copy_png(png, &device_dir(data, &device.serial).join("seal.png"))?;
    }
    ctx.block(ctx.archive().register_device(&device))
        .with_context(|| format!("cannot register device {}", device.serial))?;
    ctx.audit(with(
        with(
            event(
                &admin.name,
                AuditAction::DeviceRegister,
                &device.serial,
                Outcome::Succeeded,
            ),
            "custodian",
            device.custodian.clone(),
        ),
        "certificate_serial",
        cert_serial(&certificate),
    ))?;
    println!(
        "Đã đăng ký thiết bị / device registered: {} ({}), chứng thư số / certificate {} serial {}, người quản lý / custodian: {}",
        device.serial,
        device.label,
        certificate.tbs_certificate().subject(),
        cert_serial(&certificate),
        device.custodian
    );
    Ok(true)
}

fn handover_command(data: &Path, command: HandoverCommand, net: &kyso_net::Client) -> Result<bool> {
    match command {
        HandoverCommand::Request(a) => handover_request(data, *a),
        HandoverCommand::Approve(a) => handover_decide(data, a, Decision::Approve),
        HandoverCommand::Refuse(a) => handover_decide(data, a, Decision::Refuse),
        HandoverCommand::Cancel(a) => handover_decide(data, a, Decision::Cancel),
        HandoverCommand::Accept(a) => handover_accept(data, *a),
        HandoverCommand::Sign(a) => minutes_sign(data, *a, net),
        HandoverCommand::Seal(a) => minutes_seal(data, *a, net),
        HandoverCommand::List { office } => {
            let ctx = Ctx::open(data, &office)?;
            for h in ctx.block(ctx.archive().handovers(&ctx.agency, None))? {
                print_handover(&h);
            }
            Ok(true)
        }
    }
}

fn load_handover(ctx: &Ctx, id: i64) -> Result<(Handover, Device)> {
    let h = ctx
        .block(ctx.archive().handover(id))?
        .filter(|h| h.agency == ctx.agency)
        .with_context(|| format!("no handover {id} in the agency"))?;
    let d = ctx
        .block(ctx.archive().device(&h.device))?
        .with_context(|| format!("device {} is not registered", h.device))?;
    Ok((h, d))
}

fn handover_request(data: &Path, a: RequestArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let giver = authenticate(&ctx, &a.auth)?;
    let device = ctx
        .block(ctx.archive().device(&a.device))?
        .filter(|d| d.agency == ctx.agency)
        .with_context(|| format!("device {} is not registered in the agency", a.device))?;
    let receiver = ctx
        .block(ctx.archive().user(&ctx.agency, &a.to))?
        .with_context(|| format!("no user {} in the agency", a.to))?;
    allow(
        &ctx,
        &giver,
        Action::RequestHandover {
            device: &device,
            receiver: &receiver,
        },
        &device.serial,
    )?;
    let handover = Handover {
        id: None,
        agency: ctx.agency.clone(),
        device: device.serial.clone(),
        giver: giver.name.clone(),
        receiver: receiver.name.clone(),
        permission_reference: a.permission.trim().to_string(),
        witnesses: a.witnesses.clone(),
        condition: a.condition.trim().to_string(),
        state: HandoverState::Requested,
        requested_at: now,
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
    let stored = ctx
        .block(ctx.archive().create_handover(&handover))
        .context("cannot record the request (another handover of this device in progress?)")?;
    let id = stored.id.unwrap_or_default();
    ctx.audit(with(
        with(
            event(
                &giver.name,
                AuditAction::HandoverRequest,
                &device.serial,
                Outcome::Succeeded,
            ),
            "handover",
            id.to_string(),
        ),
        "receiver",
        receiver.name.clone(),
    ))?;
    println!(
        "Đã đề nghị bàn giao / handover requested: số / id {id}, thiết bị / device {} → {}",
        device.serial, receiver.name
    );
    Ok(true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Refuse,
    Cancel,
}

fn handover_decide(data: &Path, a: DecideArgs, decision: Decision) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let actor = authenticate(&ctx, &a.auth)?;
    let (mut h, _) = load_handover(&ctx, a.id)?;
    let from = h.state;
    let (action, state, key) = match decision {
        Decision::Approve => (
            Action::DecideHandover(&h),
            HandoverState::Approved,
            AuditAction::HandoverApprove,
        ),
        Decision::Refuse => (
            Action::DecideHandover(&h),
            HandoverState::Refused,
            AuditAction::HandoverRefuse,
        ),
        Decision::Cancel => (
            Action::CancelHandover(&h),
            HandoverState::Cancelled,
            AuditAction::HandoverCancel,
        ),
    };
    allow(&ctx, &actor, action, &h.device)?;
    if decision != Decision::Approve && a.reason.trim().is_empty() {
        bail!("cần nêu lý do (--reason) / give the reason with --reason");
    }
    h.state = state;
    h.note = a.reason.trim().to_string();
    if decision != Decision::Cancel {
        h.approver = Some(actor.name.clone());
        h.decided_at = Some(now);
    }
    ctx.block(ctx.archive().update_handover(&h, from, now))?;
    ctx.audit(with(
        event(&actor.name, key, &h.device, Outcome::Succeeded),
        "handover",
        a.id.to_string(),
    ))?;
    println!(
        "Bàn giao / handover {}: {} ({})",
        a.id,
        state.vietnamese(),
        state.key()
    );
    Ok(true)
}

fn party(user: &User) -> MinutesParty {
    MinutesParty {
        full_name: user.full_name.clone(),
        title: user.title.clone(),
        unit: user.unit.clone(),
    }
}

fn handover_accept(data: &Path, a: AcceptArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let receiver = authenticate(&ctx, &a.auth)?;
    let (mut h, device) = load_handover(&ctx, a.id)?;
    // Custody already moved but the minutes were not drawn up (a crash in between):
    // finish them, without touching the token again.
    if h.state == HandoverState::Accepted
        && h.minutes_notation.is_none()
        && h.receiver == receiver.name
    {
        eprintln!(
            "kyso: tiếp tục lập biên bản của việc bàn giao đã nhận / resuming the minutes of an accepted handover"
        );
        return draw_up_minutes(&ctx, data, &a, &mut h, &device, &receiver);
    }
    allow(&ctx, &receiver, Action::AcceptHandover(&h), &h.device)?;
    let new = new_secret("KYSO_NEW_PIN", "Mã PIN mới của thiết bị / new device PIN: ")?;
    if new.chars().count() < 6 {
        bail!("mã PIN mới phải có ít nhất 6 ký tự / the new PIN needs at least 6 characters");
    }

    // 1. The token in hand is the registered device, and the giver's PIN opens it.
    let token = TokenArgs {
        module: Some(a.module.clone()),
        token_serial: Some(device.serial.clone()),
        token_label: None,
        key_id: None,
        key_label: None,
        cert_serial: None,
        allow_final_pin_try: false,
    };
    let module = crate::token::module(&token)?;
    let info = module
        .find_token(Some(&device.serial), None)
        .with_context(|| format!("the device {} is not plugged in", device.serial))?;
    let old = crate::token::pin()?;
    let session = match module.login(&info, &old, false) {
        Ok(s) => s,
        Err(e) => {
            ctx.audit(with(
                with(
                    event(
                        &receiver.name,
                        AuditAction::HandoverAccept,
                        &h.device,
                        Outcome::Failed,
                    ),
                    "reason",
                    "old_pin_rejected",
                ),
                "handover",
                a.id.to_string(),
            ))?;
            return Err(anyhow::Error::from(e)
                .context("mã PIN bên giao cung cấp không mở được thiết bị / the giver's PIN does not open the device"));
        }
    };
    // 2. The receiver sets a new PIN: the previous holder's stops working.
    let new = Pin::new(new.to_string());
    session
        .change_pin(&old, &new)
        .context("không đổi được mã PIN / cannot change the PIN")?;
    drop(session);

    // 3. Custody moves (compare-and-set on the handover and on the custodian).
    h.state = HandoverState::Accepted;
    h.accepted_at = Some(now);
    let accepted = ctx.block(ctx.archive().accept_handover(&h, now));
    if let Err(e) = accepted {
        ctx.audit(with(
            with(
                event(
                    &receiver.name,
                    AuditAction::HandoverAccept,
                    &h.device,
                    Outcome::Failed,
                ),
                "reason",
                format!("pin_changed_but_not_recorded: {e}"),
            ),
            "handover",
            a.id.to_string(),
        ))?;
        eprintln!(
            "kyso: MÃ PIN ĐÃ ĐỔI nhưng chưa ghi nhận được việc nhận bàn giao; chạy lại lệnh với KYSO_PIN là mã PIN mới / the PIN WAS CHANGED but the acceptance could not be recorded; run the command again with KYSO_PIN set to the new PIN"
        );
        return Err(e.into());
    }
    ctx.audit(with(
        with(
            with(
                event(
                    &receiver.name,
                    AuditAction::HandoverAccept,
                    &h.device,
                    Outcome::Succeeded,
                ),
                "handover",
                a.id.to_string(),
            ),
            "from",
            h.giver.clone(),
        ),
        "pin_changed",
        "true",
    ))?;

    draw_up_minutes(&ctx, data, &a, &mut h, &device, &receiver)
}

/// The text that links a minutes register entry to its handover (its notes field).
fn minutes_link(id: i64) -> String {
    format!("kyso-handover:{id}")
}

/// Steps after custody moved: number the minutes (once, even across a crash: an entry
/// already linked to this handover is reused) and render them.
fn draw_up_minutes(
    ctx: &Ctx,
    data: &Path,
    a: &AcceptArgs,
    h: &mut Handover,
    device: &Device,
    receiver: &User,
) -> Result<bool> {
    let (now, today) = vietnam_now();
    // 4. The minutes take the next number of the minutes register (…/BB-<agency>).
    let giver = ctx
        .block(ctx.archive().user(&ctx.agency, &h.giver))?
        .with_context(|| format!("no user {}", h.giver))?;
    let approver = match &h.approver {
        Some(name) => ctx.block(ctx.archive().user(&ctx.agency, name))?,
        None => None,
    }
    .context("the handover has no approver")?;
    let mut witnesses = Vec::new();
    for w in &h.witnesses {
        witnesses.push(match ctx.block(ctx.archive().user(&ctx.agency, w))? {
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
    let link = minutes_link(a.id);
    let existing = ctx
        .block(ctx.archive().documents(&DocumentQuery {
            agency: Some(ctx.agency.clone()),
            document_type: Some(DocumentType::BienBan),
            ..DocumentQuery::default()
        }))?
        .into_iter()
        .find(|d| d.metadata.description.as_deref() == Some(link.as_str()));
    let record = match existing {
        Some(record) => record,
        None => number_minutes(ctx, a, &subject, &link, now, today, &receiver.name)?,
    };
    let notation = format!(
        "{}/{}",
        record.metadata.code_number.clone().unwrap_or_default(),
        record.metadata.code_notation.clone().unwrap_or_default()
    );
    // 5. Draw up the minutes.
    let cert = device.certificate()?;
    let validity = cert.tbs_certificate().validity();
    let minutes = HandoverMinutes {
        parent_agency: a.parent_agency.clone(),
        agency_name: ctx.agency_name.to_uppercase(),
        notation: notation.clone(),
        place: a.place.clone(),
        time: now,
        end_time: None,
        location: a.location.clone(),
        permission_reference: h.permission_reference.clone(),
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
            serial: cert_serial(&cert),
            subject: cert.tbs_certificate().subject().to_string(),
            issuer: cert.tbs_certificate().issuer().to_string(),
            not_before: crate::ca::time_of(&validity.not_before),
            not_after: crate::ca::time_of(&validity.not_after),
        },
        condition: h.condition.clone(),
    };
    let pdf = minutes_pdf(&minutes)?;
    let path = minutes_path(data, h);
    write_atomic(&path, &pdf, false)?;
    h.minutes_notation = Some(notation.clone());
    h.minutes_document = record.id;
    h.minutes_sha256 = Some(sha256_hex(&pdf));
    ctx.block(
        ctx.archive()
            .update_handover(h, HandoverState::Accepted, now),
    )?;
    println!(
        "Đã nhận bàn giao / handover accepted: {} giữ thiết bị / now holds device {}; mã PIN đã đổi / PIN changed\n  biên bản / minutes: Số: {notation} → {}\n  tiếp theo / next: bên giao và bên nhận ký (kyso device handover sign {} --as giver|receiver), rồi đóng dấu (kyso device handover seal {})",
        receiver.name,
        device.serial,
        path.display(),
        a.id,
        a.id
    );
    Ok(true)
}

/// Takes the next number of the agency's minutes register for a handover's minutes.
#[allow(clippy::too_many_arguments, reason = "one call site, all named")]
fn number_minutes(
    ctx: &Ctx,
    a: &AcceptArgs,
    subject: &str,
    link: &str,
    now: OffsetDateTime,
    today: time::Date,
    actor: &str,
) -> Result<kyso_office::DocumentRecord> {
    let registered = ctx.block(ctx.app.office().register_outgoing(
        OutgoingRequest {
            agency: ctx.agency.clone(),
            date: today,
            document_type: DocumentType::BienBan,
            secrecy: Secrecy::None,
            urgency: Urgency::Thuong,
            // Signed electronically; as internal minutes the agency's list of types
            // issued electronically does not apply (kyso-office).
            electronic: true,
            number: OutgoingNumber::Minutes {
                issuer: a.issuer.clone(),
            },
            state: OutgoingState::Numbered,
            metadata: Metadata {
                organ_name: ctx.agency_name.clone(),
                subject: subject.to_string(),
                description: Some(link.to_string()),
                ..Metadata::default()
            },
            original: None,
        },
        None,
        now,
    ))?;
    let record = registered.record;
    ctx.audit(with(
        with(
            event(
                actor,
                AuditAction::Number,
                &record.id.unwrap_or_default().to_string(),
                Outcome::Succeeded,
            ),
            "notation",
            format!(
                "{}/{}",
                record.metadata.code_number.clone().unwrap_or_default(),
                record.metadata.code_notation.clone().unwrap_or_default()
            ),
        ),
        "register",
        "minutes",
    ))?;
    Ok(record)
}

/// Adds one PAdES signature to the minutes and saves them.
fn sign_minutes(
    pdf: &[u8],
    identity: &Identity,
    role: PdfRole,
    image: Option<&[u8]>,
    anchor: Option<String>,
    reason: &str,
) -> Result<Vec<u8>> {
    let (now, _) = vietnam_now();
    let mut request = PdfSignRequest::new(identity.certificate(), now);
    request.chain = &identity.chain[1..];
    request.role = role;
    request.image = image;
    request.placement.anchor = anchor;
    request.reason = Some(reason.to_string());
    let signed = pades::sign(pdf, identity.key.as_ref(), &request, None)
        .context("cannot sign the minutes")?;
    let mut out = pdf.to_vec();
    out.extend_from_slice(&signed.update);
    Ok(out)
}

fn read_minutes(data: &Path, h: &Handover) -> Result<Vec<u8>> {
    let path = minutes_path(data, h);
    let pdf = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if h.minutes_sha256.as_deref() != Some(sha256_hex(&pdf).as_str()) {
        bail!(
            "biên bản {} đã bị thay đổi ngoài kyso / the minutes file {} was changed outside kyso",
            path.display(),
            path.display()
        );
    }
    Ok(pdf)
}

fn minutes_sign(data: &Path, a: MinutesSignArgs, net: &kyso_net::Client) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let user = authenticate(&ctx, &a.auth)?;
    let (mut h, device) = load_handover(&ctx, a.id)?;
    let who = match a.party {
        PartyArg::Giver => MinutesSigner::Giver,
        PartyArg::Receiver => MinutesSigner::Receiver,
    };
    allow(&ctx, &user, Action::SignMinutes(&h, who), &h.device)?;
    let pdf = read_minutes(data, &h)?;
    // A personal signature: never the agency's device.
    if a.token.module.is_some() {
        let module = crate::token::module(&a.token)?;
        let info = module.find_token(
            a.token.token_serial.as_deref(),
            a.token.token_label.as_deref(),
        )?;
        if info.serial == device.serial {
            bail!(
                "biên bản được ký bằng chứng thư số cá nhân, không phải thiết bị của cơ quan / the minutes are signed with a personal certificate, not the agency's device"
            );
        }
    }
    let identity = match load_identity(
        data,
        a.key.as_deref(),
        a.p12.as_deref(),
        &a.token,
        false,
        net,
    ) {
        Ok(i) => i,
        Err(e) => {
            ctx.audit(with(
                event(
                    &user.name,
                    AuditAction::HandoverSign,
                    &h.device,
                    Outcome::Failed,
                ),
                "reason",
                "key_unavailable",
            ))?;
            return Err(e);
        }
    };
    if let Some(registered) = user.certificate()?
        && &registered != identity.certificate()
    {
        ctx.audit(with(
            event(
                &user.name,
                AuditAction::HandoverSign,
                &h.device,
                Outcome::Refused,
            ),
            "reason",
            "not_registered_certificate",
        ))?;
        bail!(
            "chứng thư số không phải chứng thư đã đăng ký của {} / the certificate is not {}'s registered certificate",
            user.name,
            user.name
        );
    }
    let image = std::fs::read(user_dir(data, &ctx.agency, &user.name).join("signature.png")).ok();
    let role = if image.is_some() {
        PdfRole::Leader
    } else {
        PdfRole::Invisible
    };
    let reason = match who {
        MinutesSigner::Giver => "Bên giao ký biên bản bàn giao thiết bị chữ ký số",
        _ => "Bên nhận ký biên bản bàn giao thiết bị chữ ký số",
    };
    let signed = match sign_minutes(
        &pdf,
        &identity,
        role,
        image.as_deref(),
        Some(user.full_name.clone()),
        reason,
    ) {
        Ok(s) => s,
        Err(e) => {
            ctx.audit(with(
                event(
                    &user.name,
                    AuditAction::HandoverSign,
                    &h.device,
                    Outcome::Failed,
                ),
                "reason",
                "signing_failed",
            ))?;
            return Err(e);
        }
    };
    let path = save_minutes(&ctx, data, &mut h, who, &signed, now)?;
    ctx.audit(with(
        with(
            event(
                &user.name,
                AuditAction::HandoverSign,
                &h.device,
                Outcome::Succeeded,
            ),
            "as",
            format!("{:?}", who).to_lowercase(),
        ),
        "certificate_serial",
        cert_serial(identity.certificate()),
    ))?;
    println!(
        "Đã ký biên bản / minutes signed by {} ({}) → {}",
        user.full_name,
        match who {
            MinutesSigner::Giver => "bên giao / giver",
            _ => "bên nhận / receiver",
        },
        path.display()
    );
    Ok(true)
}

fn minutes_seal(data: &Path, a: SealArgs, net: &kyso_net::Client) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let (now, _) = vietnam_now();
    let user = authenticate(&ctx, &a.auth)?;
    let (mut h, device) = load_handover(&ctx, a.id)?;
    if h.state == HandoverState::Completed && h.receiver == user.name {
        // Sealed before; finish archiving if a failure interrupted it.
        let path = archive_minutes(&ctx, data, &h)?;
        println!(
            "Biên bản đã đóng dấu / the minutes are sealed: Số: {} → {}",
            h.minutes_notation.clone().unwrap_or_default(),
            path.display()
        );
        return Ok(true);
    }
    allow(
        &ctx,
        &user,
        Action::SignMinutes(&h, MinutesSigner::Seal),
        &h.device,
    )?;
    allow(&ctx, &user, Action::SignWithDevice(&device), &h.device)?;
    let pdf = read_minutes(data, &h)?;
    let token = TokenArgs {
        module: Some(a.module.clone()),
        token_serial: Some(device.serial.clone()),
        token_label: None,
        key_id: (!device.key_id.is_empty()).then(|| device.key_id.clone()),
        key_label: None,
        cert_serial: None,
        allow_final_pin_try: false,
    };
    let key = match crate::token::open_key(&token, false) {
        Ok(k) => k,
        Err(e) => {
            ctx.audit(with(
                event(
                    &user.name,
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Failed,
                ),
                "reason",
                "device_login_failed",
            ))?;
            return Err(e);
        }
    };
    let mut chain = vec![key.certificate().clone()];
    for w in crate::signing::complete_chain(&mut chain, net) {
        eprintln!("kyso: lưu ý / note: {w}");
    }
    let identity = Identity::from_signer(Box::new(key), chain);
    let seal = std::fs::read(device_dir(data, &device.serial).join("seal.png")).ok();
    let receiver_visible = user_dir(data, &ctx.agency, &h.receiver)
        .join("signature.png")
        .exists();
    let (role, image) = match seal {
        Some(img) if receiver_visible => (PdfRole::Seal, Some(img)),
        _ => (PdfRole::Invisible, None),
    };
    let signed = match sign_minutes(
        &pdf,
        &identity,
        role,
        image.as_deref(),
        None,
        "Đóng dấu (ký số của cơ quan) biên bản bàn giao thiết bị chữ ký số",
    ) {
        Ok(s) => s,
        Err(e) => {
            ctx.audit(with(
                event(
                    &user.name,
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Failed,
                ),
                "reason",
                "signing_failed",
            ))?;
            return Err(e);
        }
    };
    let path = save_minutes(&ctx, data, &mut h, MinutesSigner::Seal, &signed, now)?;
    ctx.audit(with(
        with(
            event(
                &user.name,
                AuditAction::Sign,
                &device.serial,
                Outcome::Succeeded,
            ),
            "document",
            h.minutes_notation.clone().unwrap_or_default(),
        ),
        "sha256",
        sha256_hex(&signed),
    ))?;
    let path = archive_minutes(&ctx, data, &h).unwrap_or_else(|e| {
        eprintln!(
            "kyso: biên bản đã đóng dấu nhưng chưa vào kho lưu trữ; chạy lại lệnh seal / the minutes are sealed but not yet archived; run seal again: {e:#}"
        );
        path
    });
    ctx.audit(with(
        event(
            &user.name,
            AuditAction::HandoverSeal,
            &h.device,
            Outcome::Succeeded,
        ),
        "handover",
        a.id.to_string(),
    ))?;
    println!(
        "Đã đóng dấu biên bản / minutes sealed: Số: {} → {}\n  việc bàn giao đã hoàn thành / the handover is complete",
        h.minutes_notation.clone().unwrap_or_default(),
        path.display()
    );
    Ok(true)
}

/// Files the sealed minutes in the archive as the original of their register entry
/// (verified with the data directory's trust store, report kept beside it), moves the
/// entry to `issued`, and returns where the original now lives. Idempotent.
fn archive_minutes(ctx: &Ctx, data: &Path, h: &Handover) -> Result<PathBuf> {
    let sealed = final_minutes_path(data, h);
    let Some(id) = h.minutes_document else {
        return Ok(sealed);
    };
    let (now, today) = vietnam_now();
    let mut record = ctx
        .block(ctx.archive().document(id))?
        .with_context(|| format!("the minutes' register entry {id} is missing"))?;
    let note = format!("biên bản bàn giao {}", h.id.unwrap_or_default());
    if record.archive_dir.is_none() {
        let sealed_copy = sealed.clone();
        let app = ctx.app.clone();
        let verified = ctx
            .block(async move {
                tokio::task::spawn_blocking(move || {
                    app.verify_original(&sealed_copy, true, None, false)
                })
                .await
            })
            .context("verification stopped")??;
        let verification = verified.to_json();
        let verdict = verification["verdict"]
            .as_str()
            .unwrap_or("indeterminate")
            .to_string();
        let staged = ctx.block(ctx.archive().stage(&sealed, None, Some(verification)))?;
        record = ctx.block(ctx.archive().attach_original(id, staged, &note, now))?;
        ctx.audit(with(
            with(
                event(
                    &h.receiver,
                    AuditAction::File,
                    &format!("document:{id}"),
                    Outcome::Succeeded,
                ),
                "verdict",
                verdict,
            ),
            "notation",
            h.minutes_notation.clone().unwrap_or_default(),
        ))?;
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
            record = ctx.block(ctx.app.office().advance(
                id,
                Step {
                    event,
                    note: note.clone(),
                    template: None,
                    advisory_body: None,
                    at: now,
                    date: today,
                },
            ))?;
        }
    }
    let archived = ctx
        .archive()
        .original_path(&record)
        .context("the archived minutes have no path")?;
    if archived.is_file() {
        let _ = std::fs::remove_file(&sealed);
    }
    Ok(archived)
}

// ----------------------------------------------------------------------------------
// kyso sign with the agency's device
// ----------------------------------------------------------------------------------

struct Guarded {
    ctx: Ctx,
    user: User,
    device: Device,
    file: PathBuf,
}

/// The custody check around `kyso sign`: when the token is a registered agency
/// device, only its current custodian (logged in with `--user`) may sign, and every
/// attempt is recorded. Other keys sign unchecked; on an office installation (a
/// database in the data directory) their signatures are recorded too.
pub(crate) struct DeviceGuard(Guard);

enum Guard {
    /// No office database here: nothing to check or record.
    None,
    /// A personal key or an unregistered token on an office installation.
    Personal {
        data: PathBuf,
        database_url: Option<String>,
        file: PathBuf,
    },
    /// The agency's device.
    Device(Box<Guarded>),
}

impl DeviceGuard {
    /// Checks before the token is opened (before any PIN is tried).
    pub(crate) fn check(
        data: &Path,
        token: &TokenArgs,
        auth: &AuthArgs,
        file: &Path,
    ) -> Result<Self> {
        let database_url = std::env::var("KYSO_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty());
        if database_url.is_none() && !data.join(kyso_store::SQLITE_FILE).exists() {
            return Ok(Self(Guard::None));
        }
        let personal = Guard::Personal {
            data: data.to_path_buf(),
            database_url: database_url.clone(),
            file: file.to_path_buf(),
        };
        if token.module.is_none() {
            return Ok(Self(personal));
        }
        let module = crate::token::module(token)?;
        let info =
            module.find_token(token.token_serial.as_deref(), token.token_label.as_deref())?;
        let (rt, archive) = Ctx::open_archive(data, database_url.as_deref())?;
        let Some(device) = rt.block_on(archive.device(&info.serial))? else {
            rt.block_on(archive.close());
            return Ok(Self(personal));
        };
        let agency = device.agency.clone();
        let ctx = Ctx::from_parts(rt, archive, agency.clone(), agency.to_string(), data);
        if auth.user.is_none() {
            ctx.audit(with(
                event(
                    "(unknown)",
                    AuditAction::Sign,
                    &device.serial,
                    Outcome::Refused,
                ),
                "reason",
                "no_user",
            ))?;
            bail!(
                "thiết bị {} là thiết bị ký số của cơ quan: người ký phải đăng nhập (--user) / {} is the agency's signing device: sign with --user NAME (its custodian)",
                device.serial,
                device.serial
            );
        }
        let user = authenticate(&ctx, auth)?;
        if let Err(refusal) = authorize(&user, Action::SignWithDevice(&device)) {
            ctx.audit(with(
                with(
                    with(
                        event(
                            &user.name,
                            AuditAction::Sign,
                            &device.serial,
                            Outcome::Refused,
                        ),
                        "reason",
                        refusal.code,
                    ),
                    "file",
                    file.display().to_string(),
                ),
                "custodian",
                device.custodian.clone(),
            ))?;
            return Err(refusal_error(&refusal));
        }
        Ok(Self(Guard::Device(Box::new(Guarded {
            ctx,
            user,
            device,
            file: file.to_path_buf(),
        }))))
    }

    /// After the key was opened: records a failure (wrong PIN, locked token).
    pub(crate) fn opened(&self, identity: Result<Identity>) -> Result<Identity> {
        if let (Guard::Device(g), Err(e)) = (&self.0, &identity) {
            g.ctx.audit(with(
                with(
                    event(
                        &g.user.name,
                        AuditAction::Sign,
                        &g.device.serial,
                        Outcome::Failed,
                    ),
                    "reason",
                    "device_login_failed",
                ),
                "error",
                format!("{e:#}"),
            ))?;
        }
        identity
    }

    /// After signing: records the outcome.
    pub(crate) fn finished(&self, identity: &Identity, result: &Result<ExitCode>) -> Result<()> {
        let outcome = if result.is_ok() {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        let cert = identity.certificate();
        let signed = |actor: &str, object: &str, file: &Path| {
            let mut e = with(
                with(
                    event(actor, AuditAction::Sign, object, outcome),
                    "file",
                    file.display().to_string(),
                ),
                "certificate_serial",
                cert_serial(cert),
            );
            if let Ok(bytes) = std::fs::read(file) {
                e = with(e, "sha256", sha256_hex(&bytes));
            }
            e
        };
        match &self.0 {
            Guard::None => Ok(()),
            Guard::Device(g) => g.ctx.audit(signed(&g.user.name, &g.device.serial, &g.file)),
            Guard::Personal {
                data,
                database_url,
                file,
            } => {
                let subject = cert.tbs_certificate().subject().to_string();
                let e = signed(
                    &format!("certificate:{subject}"),
                    &format!("key:{}", cert_serial(cert)),
                    file,
                );
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let archive = Archive::open_data_dir(data, database_url.as_deref()).await?;
                    let r = kyso_app::audit::record(&archive, data, e).await;
                    archive.close().await;
                    r.map(|_| ()).map_err(anyhow::Error::from)
                })
            }
        }
    }
}
