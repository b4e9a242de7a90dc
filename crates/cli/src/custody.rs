//! `kyso user …`, `kyso device …` and the custody check of `kyso sign`: agency users
//! and roles, the registry of the agency's signing devices, handovers with numbered,
//! signed and sealed minutes, and the rule that only the current custodian signs with
//! the agency's device. The use cases are kyso-app's (`kyso_app::custody`: they
//! authorise, act and record every attempt in the audit log); this module parses,
//! reads passwords and PINs (zeroized, never printed), opens tokens and keys, calls one
//! use case and prints.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use kyso_app::custody::{
    CertificateChallenge, ChallengeSignature, DevicePermit, DeviceRegistration, HandoverRequest,
    LocalKey, MinutesOptions, NewUser, TokenStep, UserChange, certificate_serial,
};
use kyso_app::{Actor, App, AppError, AppResult, Kind};
use kyso_office::{Device, Handover, HandoverDecision, LoginFailure, MinutesSigner, User};
use kyso_pkcs11::Pin;
use kyso_signer::Signer;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::args::OfficeArgs;
use crate::args::TokenArgs;
use crate::keys::{Identity, load_identity};
use crate::office::Ctx;
use crate::store::read_certificates;

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

/// A use case's error for the terminal: a refusal with its stable code (scripts and
/// tests look for it), anything else as its Vietnamese and English messages.
fn app_error(e: AppError) -> anyhow::Error {
    match e.kind {
        Kind::Forbidden => anyhow!("bị từ chối / refused ({}): {} / {}", e.code, e.vi, e.en),
        _ => anyhow!("{} / {}", e.vi, e.en),
    }
}

/// Runs one kyso-app use case.
fn call<T>(ctx: &Ctx, f: impl Future<Output = AppResult<T>>) -> Result<T> {
    ctx.block(f).map_err(app_error)
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

/// Authenticates the acting user (kyso-app records the login, succeeded or failed).
pub(crate) fn authenticate(ctx: &Ctx, auth: &AuthArgs) -> Result<User> {
    let name = auth
        .user
        .as_deref()
        .context("this action needs a logged-in user: give --user NAME")?;
    match &auth.login_module {
        // Password login: the same use case as `POST /api/v1/sessions`.
        None => {
            let password = secret_from_env("KYSO_PASSWORD", "Mật khẩu / password: ")?;
            call(
                ctx,
                ctx.app
                    .login_password(Some(&ctx.agency), name, password, None),
            )
        }
        Some(module) => {
            let challenge = call(ctx, ctx.app.certificate_challenge(&ctx.agency, name))?;
            let response = sign_challenge(&challenge, module, auth);
            call(ctx, ctx.app.certificate_login(challenge, response))
        }
    }
}

/// Signs a login challenge with the user's registered certificate's key on their own
/// token (PIN from `KYSO_LOGIN_PIN`, else a prompt).
fn sign_challenge(
    challenge: &CertificateChallenge,
    module: &Path,
    auth: &AuthArgs,
) -> Result<ChallengeSignature, LoginFailure> {
    let fail = |reason| LoginFailure { reason };
    let token = TokenArgs {
        module: Some(module.to_path_buf()),
        token_serial: auth.login_token_serial.clone(),
        token_label: None,
        key_id: None,
        key_label: None,
        cert_serial: Some(certificate_serial(challenge.certificate())),
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
    let signature = key
        .sign(challenge.bytes())
        .map_err(|_| fail("bad_signature"))?;
    Ok(ChallengeSignature {
        algorithm: key.algorithm().algorithm_identifier(),
        signature,
    })
}

fn single_certificate(path: &Path) -> Result<Certificate> {
    read_certificates(path)?
        .into_iter()
        .next()
        .with_context(|| format!("no certificate in {}", path.display()))
}

fn read_image(path: Option<&Path>) -> Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()
}

fn new_password(wanted: bool) -> Result<Option<Zeroizing<String>>> {
    wanted
        .then(|| new_secret("KYSO_NEW_PASSWORD", "Mật khẩu mới / new password: "))
        .transpose()
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
            for u in call(&ctx, ctx.app.users(&ctx.operator()))? {
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

fn user_add(data: &Path, a: UserAddArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    // The agency's first user (an administrator) is added by the operator of the data
    // directory without a login; later ones by a logged-in administrator.
    let actor = if call(&ctx, ctx.app.agency_has_users(&ctx.agency))? {
        Actor::User(authenticate(&ctx, &a.auth)?)
    } else {
        ctx.operator()
    };
    let new = NewUser {
        name: a.name.clone(),
        full_name: a.full_name.clone(),
        roles: a.roles.clone(),
        title: a.title.clone(),
        unit: a.unit.clone(),
        password: new_password(a.password)?,
        certificate: a
            .certificate
            .as_deref()
            .map(single_certificate)
            .transpose()?,
        signature_image: read_image(a.signature_image.as_deref())?,
    };
    let user = call(&ctx, ctx.app.add_user(&actor, new))?;
    let roles: Vec<&str> = user.roles.iter().map(|r| r.key()).collect();
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
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let change = UserChange {
        add_roles: a.add_roles.clone(),
        remove_roles: a.remove_roles.clone(),
        password: new_password(a.password)?,
        certificate: a
            .certificate
            .as_deref()
            .map(single_certificate)
            .transpose()?,
        signature_image: read_image(a.signature_image.as_deref())?,
        disable: a.disable,
        enable: a.enable,
    };
    let (user, changes) = call(&ctx, ctx.app.change_user(&actor, &a.name, change))?;
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
            for d in call(&ctx, ctx.app.devices(&ctx.operator()))? {
                let cert = d.certificate()?;
                println!(
                    "{}\t{}\tngười quản lý / custodian: {}\t{} (serial {})",
                    d.serial,
                    d.label,
                    d.custodian,
                    cert.tbs_certificate().subject(),
                    certificate_serial(&cert)
                );
            }
            Ok(true)
        }
        DeviceCommand::Show { office, serial } => {
            let ctx = Ctx::open(data, &office)?;
            let (d, handovers) = call(&ctx, ctx.app.device_history(&ctx.operator(), &serial))?;
            let cert = d.certificate()?;
            println!(
                "Thiết bị / device {} ({} {} {})\n  chứng thư số / certificate: {} serial {}\n  người quản lý hiện tại / current custodian: {}",
                d.serial,
                d.label,
                d.manufacturer,
                d.model,
                cert.tbs_certificate().subject(),
                certificate_serial(&cert),
                d.custodian
            );
            for h in handovers {
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
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    // Before the token is opened (before any PIN is tried).
    call(
        &ctx,
        ctx.app.check_device_registration(&actor, &a.custodian),
    )?;
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
    let registration = DeviceRegistration {
        serial: info.serial.clone(),
        label: info.label.clone(),
        manufacturer: info.manufacturer.clone(),
        model: info.model.clone(),
        slot: info.slot,
        key_id,
        certificate: certificate.clone(),
        custodian: a.custodian.clone(),
        seal_image: read_image(a.seal_image.as_deref())?,
    };
    let device = call(&ctx, ctx.app.register_device(&actor, registration))?;
    println!(
        "Đã đăng ký thiết bị / device registered: {} ({}), chứng thư số / certificate {} serial {}, người quản lý / custodian: {}",
        device.serial,
        device.label,
        certificate.tbs_certificate().subject(),
        certificate_serial(&certificate),
        device.custodian
    );
    Ok(true)
}

fn handover_command(data: &Path, command: HandoverCommand, net: &kyso_net::Client) -> Result<bool> {
    match command {
        HandoverCommand::Request(a) => handover_request(data, *a),
        HandoverCommand::Approve(a) => handover_decide(data, a, HandoverDecision::Approve),
        HandoverCommand::Refuse(a) => handover_decide(data, a, HandoverDecision::Refuse),
        HandoverCommand::Cancel(a) => handover_decide(data, a, HandoverDecision::Cancel),
        HandoverCommand::Accept(a) => handover_accept(data, *a),
        HandoverCommand::Sign(a) => minutes_sign(data, *a, net),
        HandoverCommand::Seal(a) => minutes_seal(data, *a),
        HandoverCommand::List { office } => {
            let ctx = Ctx::open(data, &office)?;
            for h in call(&ctx, ctx.app.handovers(&ctx.operator()))? {
                print_handover(&h);
            }
            Ok(true)
        }
    }
}

fn handover_request(data: &Path, a: RequestArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let request = HandoverRequest {
        device: a.device.clone(),
        receiver: a.to.clone(),
        permission: a.permission.clone(),
        witnesses: a.witnesses.clone(),
        condition: a.condition.clone(),
    };
    let stored = call(&ctx, ctx.app.request_handover(&actor, request))?;
    println!(
        "Đã đề nghị bàn giao / handover requested: số / id {}, thiết bị / device {} → {}",
        stored.id.unwrap_or_default(),
        stored.device,
        stored.receiver
    );
    Ok(true)
}

fn handover_decide(data: &Path, a: DecideArgs, decision: HandoverDecision) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let h = call(
        &ctx,
        ctx.app.decide_handover(&actor, a.id, decision, &a.reason),
    )?;
    println!(
        "Bàn giao / handover {}: {} ({})",
        a.id,
        h.state.vietnamese(),
        h.state.key()
    );
    Ok(true)
}

fn handover_accept(data: &Path, a: AcceptArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let options = MinutesOptions {
        issuer: a.issuer.clone(),
        parent_agency: a.parent_agency.clone(),
        agency_name: ctx.agency_name.clone(),
        place: a.place.clone(),
        location: a.location.clone(),
    };
    let start = call(&ctx, ctx.app.start_acceptance(&actor, a.id))?;
    let step = if start.resume {
        // Custody already moved but the minutes were not drawn up (a crash in between):
        // finish them, without touching the token again.
        eprintln!(
            "kyso: tiếp tục lập biên bản của việc bàn giao đã nhận / resuming the minutes of an accepted handover"
        );
        TokenStep::Skipped
    } else {
        change_device_pin(&ctx, &actor, &a, &start.device, &options)?
    };
    let drawn = match ctx.block(ctx.app.accept_handover(&actor, a.id, step, &options)) {
        Ok(drawn) => drawn,
        Err(e) => {
            if e.code == "acceptance_not_recorded" {
                eprintln!(
                    "kyso: MÃ PIN ĐÃ ĐỔI nhưng chưa ghi nhận được việc nhận bàn giao; chạy lại lệnh với KYSO_PIN là mã PIN mới / the PIN WAS CHANGED but the acceptance could not be recorded; run the command again with KYSO_PIN set to the new PIN"
                );
            }
            return Err(app_error(e));
        }
    };
    println!(
        "Đã nhận bàn giao / handover accepted: {} giữ thiết bị / now holds device {}; mã PIN đã đổi / PIN changed\n  biên bản / minutes: Số: {} → {}\n  tiếp theo / next: bên giao và bên nhận ký (kyso device handover sign {} --as giver|receiver), rồi đóng dấu (kyso device handover seal {})",
        drawn.device.custodian,
        drawn.device.serial,
        drawn.notation,
        drawn.path.display(),
        a.id,
        a.id
    );
    Ok(true)
}

/// The token step of an acceptance on this machine: the giver's PIN (`KYSO_PIN`)
/// opens the device and the receiver sets a new one (`KYSO_NEW_PIN`), through kyso-app's
/// one copy of that step (the server's acceptance runs the same).
fn change_device_pin(
    ctx: &Ctx,
    actor: &Actor,
    a: &AcceptArgs,
    device: &Device,
    options: &MinutesOptions,
) -> Result<TokenStep> {
    let new = new_secret("KYSO_NEW_PIN", "Mã PIN mới của thiết bị / new device PIN: ")?;
    kyso_app::custody::check_new_pin(&new).map_err(app_error)?;
    let module = kyso_pkcs11::Module::open(&a.module)?;
    let old = crate::token::pin()?;
    let step =
        kyso_app::custody::change_device_pin(&module, device, &old, &new).map_err(app_error)?;
    if let TokenStep::OldPinRejected(e) = &step {
        // Recorded by kyso-app, which answers with the refusal.
        call(
            ctx,
            ctx.app.accept_handover(actor, a.id, step.clone(), options),
        )?;
        bail!("the giver's PIN does not open the device: {e}");
    }
    Ok(step)
}

fn minutes_sign(data: &Path, a: MinutesSignArgs, net: &kyso_net::Client) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let who = match a.party {
        PartyArg::Giver => MinutesSigner::Giver,
        PartyArg::Receiver => MinutesSigner::Receiver,
    };
    // Before any key is opened.
    let (_, device) = call(&ctx, ctx.app.check_minutes_signing(&actor, a.id, who))?;
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
    let identity = load_identity(
        data,
        a.key.as_deref(),
        a.p12.as_deref(),
        &a.token,
        false,
        net,
    );
    let key = match &identity {
        Ok(i) => Ok(LocalKey {
            signer: i.key.as_ref(),
            chain: &i.chain,
        }),
        Err(e) => Err(format!("{e:#}")),
    };
    let signed = call(&ctx, ctx.app.sign_minutes(&actor, a.id, who, key))?;
    for w in &signed.warnings {
        eprintln!("kyso: lưu ý / note: {w}");
    }
    println!(
        "Đã ký biên bản / minutes signed by {} ({}) → {}",
        signed.signer.full_name,
        match who {
            MinutesSigner::Giver => "bên giao / giver",
            _ => "bên nhận / receiver",
        },
        signed.path.display()
    );
    Ok(true)
}

fn minutes_seal(data: &Path, a: SealArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let actor = Actor::User(authenticate(&ctx, &a.auth)?);
    let start = call(&ctx, ctx.app.start_seal(&actor, a.id))?;
    if let Some(path) = &start.sealed {
        // Sealed before; the archiving a failure interrupted is now done.
        println!(
            "Biên bản đã đóng dấu / the minutes are sealed: Số: {} → {}",
            start.handover.minutes_notation.clone().unwrap_or_default(),
            path.display()
        );
        return Ok(true);
    }
    let device = start.device;
    let token = TokenArgs {
        module: Some(a.module.clone()),
        token_serial: Some(device.serial.clone()),
        token_label: None,
        key_id: (!device.key_id.is_empty()).then(|| device.key_id.clone()),
        key_label: None,
        cert_serial: None,
        allow_final_pin_try: false,
    };
    let opened = crate::token::open_key(&token, false).map(|key| {
        let chain = vec![key.certificate().clone()];
        (key, chain)
    });
    let key = match &opened {
        Ok((key, chain)) => Ok(LocalKey { signer: key, chain }),
        Err(e) => Err(format!("{e:#}")),
    };
    let sealed = call(&ctx, ctx.app.seal_minutes(&actor, a.id, key))?;
    for w in &sealed.warnings {
        eprintln!("kyso: lưu ý / note: {w}");
    }
    if let Some(e) = &sealed.archive_error {
        eprintln!(
            "kyso: biên bản đã đóng dấu nhưng chưa vào kho lưu trữ; chạy lại lệnh seal / the minutes are sealed but not yet archived; run seal again: {e}"
        );
    }
    println!(
        "Đã đóng dấu biên bản / minutes sealed: Số: {} → {}\n  việc bàn giao đã hoàn thành / the handover is complete",
        sealed.handover.minutes_notation.clone().unwrap_or_default(),
        sealed.path.display()
    );
    Ok(true)
}

// ----------------------------------------------------------------------------------
// kyso sign with the agency's device
// ----------------------------------------------------------------------------------

/// The custody check around `kyso sign`: when the token is a registered agency
/// device, only its current custodian (logged in with `--user`) may sign, and every
/// attempt is recorded (kyso-app decides and records). Other keys sign unchecked; on an
/// office installation (a database in the data directory) their signatures are recorded
/// too.
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
    Device(Box<(Ctx, DevicePermit)>),
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
        let app = App::from_parts(
            archive,
            data,
            std::sync::Arc::new(kyso_app::SystemClock),
            std::sync::Arc::new(kyso_net::Client::default()),
        );
        let device = rt.block_on(app.registered_device(&info.serial));
        let Some(device) = device.map_err(app_error)? else {
            rt.block_on(app.archive().close());
            return Ok(Self(personal));
        };
        let agency = device.agency.clone();
        let ctx = Ctx::from_parts(
            rt,
            app.archive().clone(),
            agency.clone(),
            agency.to_string(),
            data,
        );
        let actor = match auth.user {
            None => None,
            Some(_) => Some(Actor::User(authenticate(&ctx, auth)?)),
        };
        let permit = ctx
            .block(ctx.app.permit_device_signing(actor.as_ref(), &device, file))
            .map_err(|e| {
                if e.code == "no_user" {
                    anyhow!(
                        "thiết bị {} là thiết bị ký số của cơ quan: người ký phải đăng nhập (--user) / {} is the agency's signing device: sign with --user NAME (its custodian)",
                        device.serial,
                        device.serial
                    )
                } else {
                    app_error(e)
                }
            })?;
        Ok(Self(Guard::Device(Box::new((ctx, permit)))))
    }

    /// After the key was opened: records a failure (wrong PIN, locked token).
    pub(crate) fn opened(&self, identity: Result<Identity>) -> Result<Identity> {
        if let (Guard::Device(g), Err(e)) = (&self.0, &identity) {
            let (ctx, permit) = g.as_ref();
            call(ctx, ctx.app.device_key_failed(permit, &format!("{e:#}")))
                .context("cannot write the audit log")?;
        }
        identity
    }

    /// After signing: records the outcome.
    pub(crate) fn finished(&self, identity: &Identity, result: &Result<ExitCode>) -> Result<()> {
        let cert = identity.certificate();
        match &self.0 {
            Guard::None => Ok(()),
            Guard::Device(g) => {
                let (ctx, permit) = g.as_ref();
                call(
                    ctx,
                    ctx.app.record_device_signing(permit, cert, result.is_ok()),
                )
                .context("cannot write the audit log")
            }
            Guard::Personal {
                data,
                database_url,
                file,
            } => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let app = App::open(data, database_url.as_deref()).await?;
                    let recorded = app
                        .record_personal_signing(file, cert, result.is_ok())
                        .await;
                    app.archive().close().await;
                    recorded
                })
                .map_err(app_error)
                .context("cannot write the audit log")
            }
        }
    }
}
