//! Users, certificate login, the agency's devices and their handovers over HTTP.
//! Handlers parse, call one kyso-app use case and render. The token steps of a
//! handover use the device attached to the server (`--pkcs11`), with PINs given for one
//! request (zeroized, never logged or echoed); the parties sign the minutes two-step,
//! their personal keys staying with them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use der::Encode;
use kyso_app::custody::{
    CertificateChallenge, ChallengeSignature, HandoverRequest, NewUser, UserChange,
};
use kyso_app::{AppError, Kind};
use kyso_office::{Device, Handover, HandoverDecision, User};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::Caller;
use crate::codec;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// How long a certificate-login challenge may wait for its signature.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(120);
/// Most challenges waiting at once (beyond: the oldest are dropped).
const MAX_CHALLENGES: usize = 10_000;

/// Certificate-login challenges handed out and not yet answered, by id. Each is used
/// once. (Per process: with several replicas, a client answers the replica that asked.)
#[derive(Debug, Default)]
pub(crate) struct Challenges {
    pending: Mutex<HashMap<String, (CertificateChallenge, Instant)>>,
}

impl Challenges {
    fn put(&self, challenge: CertificateChallenge) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        pending.retain(|_, (_, at)| now.duration_since(*at) < CHALLENGE_LIFETIME);
        if pending.len() >= MAX_CHALLENGES
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(id.clone(), (challenge, now));
        id
    }

    fn take(&self, id: &str) -> Option<CertificateChallenge> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (challenge, at) = pending.remove(id)?;
        (at.elapsed() < CHALLENGE_LIFETIME).then_some(challenge)
    }
}

// ----------------------------------------------------------------------------------
// Certificate login
// ----------------------------------------------------------------------------------

/// Asking for a certificate-login challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChallengeBody {
    /// Login name.
    user: String,
    /// The agency (needed only when several agencies on this node have the name).
    #[serde(default)]
    agency: Option<String>,
}

/// What to sign.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChallengeView {
    /// Answer with it, within two minutes, once.
    challenge_id: String,
    /// The bytes to sign with the key of the user's registered certificate, base64.
    to_sign: String,
    /// The registered certificate (base64 DER), to find the key on the token.
    certificate: String,
}

/// Certificate login, step one: a fresh challenge for the user's registered certificate.
#[utoipa::path(
    post, path = "/api/v1/sessions/challenge", tag = "sessions", request_body = ChallengeBody,
    responses(
        (status = 201, description = "The challenge", body = ChallengeView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)
    )
)]
pub(crate) async fn challenge(
    State(state): State<AppState>,
    Json(body): Json<ChallengeBody>,
) -> ApiResult<(StatusCode, Json<ChallengeView>)> {
    let agency = match body.agency.as_deref() {
        Some(a) => crate::routes::parse_agency(a)?,
        None => state.app.agency_of_user(&body.user).await?,
    };
    let challenge = state.app.certificate_challenge(&agency, &body.user).await?;
    let view = ChallengeView {
        to_sign: codec::base64(challenge.bytes()),
        certificate: codec::base64(
            &challenge
                .certificate()
                .to_der()
                .map_err(AppError::internal)?,
        ),
        challenge_id: state.challenges.put(challenge),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Certificate login, step two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateLoginBody {
    /// From step one.
    challenge_id: String,
    /// The signature over `to_sign`, base64 (ECDSA: DER).
    signature: String,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    #[serde(default)]
    pss: bool,
}

/// Certificate login, step two: the challenge signed with the key of the registered
/// certificate (trusted and unrevoked now); sets the session cookie like a password
/// login. A failure is answered like a wrong password and recorded precisely.
#[utoipa::path(
    post, path = "/api/v1/sessions/certificate", tag = "sessions", request_body = CertificateLoginBody,
    responses(
        (status = 201, description = "Signed in", body = crate::routes::SessionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)
    )
)]
pub(crate) async fn certificate_login(
    State(state): State<AppState>,
    Json(body): Json<CertificateLoginBody>,
) -> ApiResult<Response> {
    let challenge = state.challenges.take(&body.challenge_id).ok_or_else(|| {
        ApiError(AppError::new(
            Kind::Unauthenticated,
            "challenge_expired",
            "thử thách đăng nhập không tồn tại hoặc đã hết hạn: hãy xin thử thách mới",
            "no such login challenge, or it expired: ask for a new one",
        ))
    })?;
    let signature = codec::base64_field("signature", &body.signature)?;
    let algorithm = kyso_signer::SignatureAlgorithm::for_public_key(
        challenge
            .certificate()
            .tbs_certificate()
            .subject_public_key_info(),
        body.pss,
    )
    .ok_or_else(|| {
        ApiError::bad_request(
            "unsupported_key",
            "khóa của chứng thư số không được hỗ trợ",
            "the certificate's key is not supported",
        )
    })?;
    let user = state
        .app
        .certificate_login(
            challenge,
            Ok(ChallengeSignature {
                algorithm: algorithm.algorithm_identifier(),
                signature,
            }),
        )
        .await?;
    crate::routes::web_session(&state, user).await
}

// ----------------------------------------------------------------------------------
// Users
// ----------------------------------------------------------------------------------

/// A user, as shown to the agency.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PersonView {
    name: String,
    full_name: String,
    title: String,
    unit: String,
    roles: Vec<String>,
    active: bool,
    /// Whether a personal certificate is registered (certificate login, minutes).
    has_certificate: bool,
}

impl PersonView {
    fn of(u: &User) -> Self {
        Self {
            name: u.name.clone(),
            full_name: u.full_name.clone(),
            title: u.title.clone(),
            unit: u.unit.clone(),
            roles: u.roles.iter().map(|r| r.key().to_string()).collect(),
            active: u.active,
            has_certificate: u.certificate.is_some(),
        }
    }
}

/// The agency's users (signed-in people).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = Vec<PersonView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PersonView>>> {
    let users = state.app.users(&caller.actor).await?;
    Ok(Json(users.iter().map(PersonView::of).collect()))
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    /// Login name.
    name: String,
    /// Full name as printed.
    full_name: String,
    /// `leader`, `clerk`, `officer`, `custodian`, `administrator`.
    roles: Vec<String>,
    /// Position (chức vụ).
    #[serde(default)]
    title: String,
    /// Unit (đơn vị).
    #[serde(default)]
    unit: String,
    /// Initial password.
    #[serde(default)]
    #[schema(format = Password)]
    password: Option<String>,
    /// Personal certificate, base64 DER or PEM.
    #[serde(default)]
    certificate: Option<String>,
    /// Handwritten signature, base64 PNG.
    #[serde(default)]
    signature_image: Option<String>,
}

/// Adds a user (administrators).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "admin", request_body = UserBody,
    responses(
        (status = 201, body = PersonView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<UserBody>,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    let password = b.password.map(Zeroizing::new);
    let user = state
        .app
        .add_user(
            &caller.actor,
            NewUser {
                name: b.name,
                full_name: b.full_name,
                roles: b.roles,
                title: b.title,
                unit: b.unit,
                password,
                certificate: b
                    .certificate
                    .as_deref()
                    .map(codec::certificate)
                    .transpose()?,
                signature_image: b
                    .signature_image
                    .as_deref()
                    .map(|i| codec::base64_field("signature_image", i))
                    .transpose()?,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(PersonView::of(&user))))
}

/// Changes to a user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChangeBody {
    /// Roles to add (administrators).
    #[serde(default)]
    add_roles: Vec<String>,
    /// Roles to remove (administrators).
    #[serde(default)]
    remove_roles: Vec<String>,
    /// A new password (the user themself, or an administrator).
    #[serde(default)]
    #[schema(format = Password)]
    password: Option<String>,
    /// A new personal certificate, base64 DER or PEM.
    #[serde(default)]
    certificate: Option<String>,
    /// A new signature image, base64 PNG.
    #[serde(default)]
    signature_image: Option<String>,
    /// `false` disables the account, `true` enables it and clears a lock
    /// (administrators).
    #[serde(default)]
    active: Option<bool>,
}

/// Changes a user: roles and status (administrators); password, certificate and
/// signature image (the user themself too). The user's sessions end.
#[utoipa::path(
    patch, path = "/api/v1/users/{name}", tag = "admin", request_body = UserChangeBody,
    params(("name" = String, Path, description = "Login name")),
    responses(
        (status = 200, body = PersonView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn change_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(b): Json<UserChangeBody>,
) -> ApiResult<Json<PersonView>> {
    let change = UserChange {
        add_roles: b.add_roles,
        remove_roles: b.remove_roles,
        password: b.password.map(Zeroizing::new),
        certificate: b
            .certificate
            .as_deref()
            .map(codec::certificate)
            .transpose()?,
        signature_image: b
            .signature_image
            .as_deref()
            .map(|i| codec::base64_field("signature_image", i))
            .transpose()?,
        disable: b.active == Some(false),
        enable: b.active == Some(true),
    };
    let (user, _) = state.app.change_user(&caller.actor, &name, change).await?;
    Ok(Json(PersonView::of(&user)))
}

// ----------------------------------------------------------------------------------
// Devices and handovers
// ----------------------------------------------------------------------------------

fn device_json(d: &Device) -> Value {
    let subject = d
        .certificate()
        .map(|c| c.tbs_certificate().subject().to_string())
        .unwrap_or_default();
    json!({
        "serial": d.serial,
        "label": d.label,
        "manufacturer": d.manufacturer,
        "model": d.model,
        "custodian": d.custodian,
        "certificate_subject": subject,
        "registered_at": d.registered_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "registered_by": d.registered_by,
    })
}

fn handover_json(h: &Handover) -> ApiResult<Value> {
    Ok(codec::json(h)?.0)
}

/// The agency's signing devices and their custodians.
#[utoipa::path(
    get, path = "/api/v1/devices", tag = "custody",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn devices(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let devices = state.app.devices(&caller.actor).await?;
    Ok(Json(Value::Array(
        devices.iter().map(device_json).collect(),
    )))
}

/// One device with its handovers, oldest first.
#[utoipa::path(
    get, path = "/api/v1/devices/{serial}", tag = "custody",
    params(("serial" = String, Path, description = "Token serial number")),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn device(
    State(state): State<AppState>,
    caller: Caller,
    Path(serial): Path<String>,
) -> ApiResult<Json<Value>> {
    let (device, handovers) = state.app.device_history(&caller.actor, &serial).await?;
    let handovers = handovers
        .iter()
        .map(handover_json)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(
        json!({"device": device_json(&device), "handovers": handovers}),
    ))
}

/// The agency's handovers.
#[utoipa::path(
    get, path = "/api/v1/handovers", tag = "custody",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn handovers(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let list = state.app.handovers(&caller.actor).await?;
    Ok(Json(Value::Array(
        list.iter().map(handover_json).collect::<ApiResult<_>>()?,
    )))
}

/// Asking to hand the device over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandoverBody {
    /// The device's serial.
    device: String,
    /// The receiver (login name).
    to: String,
    /// The head's written permission (number, date, author).
    permission: String,
    /// Witnesses.
    #[serde(default)]
    witnesses: Vec<String>,
    /// Condition of the device.
    #[serde(default)]
    condition: String,
}

/// Asks to hand the device over (its current custodian); a leader approves it next.
#[utoipa::path(
    post, path = "/api/v1/handovers", tag = "custody", request_body = HandoverBody,
    responses(
        (status = 201, body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn request_handover(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<HandoverBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let handover = state
        .app
        .request_handover(
            &caller.actor,
            HandoverRequest {
                device: b.device,
                receiver: b.to,
                permission: b.permission,
                witnesses: b.witnesses,
                condition: b.condition,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(handover_json(&handover)?)))
}

/// A decision on a handover.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    /// `approve` (a leader), `refuse` (a leader), `cancel` (the giver or an
    /// administrator).
    decision: String,
    /// The reason (required to refuse or cancel).
    #[serde(default)]
    reason: String,
}

/// Approves, refuses or cancels a handover.
#[utoipa::path(
    post, path = "/api/v1/handovers/{id}/decision", tag = "custody", request_body = DecisionBody,
    params(("id" = i64, Path, description = "Handover id")),
    responses(
        (status = 200, body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn decide_handover(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<DecisionBody>,
) -> ApiResult<Json<Value>> {
    let decision = match b.decision.as_str() {
        "approve" => HandoverDecision::Approve,
        "refuse" => HandoverDecision::Refuse,
        "cancel" => HandoverDecision::Cancel,
        other => {
            return Err(ApiError::bad_request(
                "unknown_decision",
                format!("quyết định không xác định {other:?} (approve, refuse, cancel)"),
                format!("unknown decision {other:?} (approve, refuse, cancel)"),
            ));
        }
    };
    let handover = state
        .app
        .decide_handover(&caller.actor, id, decision, &b.reason)
        .await?;
    Ok(Json(handover_json(&handover)?))
}

// ----------------------------------------------------------------------------------
// Acceptance, minutes, seal: the device attached to the server, the parties' keys
// with the parties
// ----------------------------------------------------------------------------------

/// Accepting a handover with the device attached to the server. (`Debug` never shows
/// the PINs.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptanceBody {
    /// The PIN the giver hands over: it must open the device. For this request only,
    /// never stored or logged.
    #[schema(format = Password)]
    giver_pin: String,
    /// The receiver's new PIN (at least 6 characters): the giver's stops working.
    #[schema(format = Password)]
    new_pin: String,
    /// The agency's abbreviation in notations (`STTTT` → `03/BB-STTTT`).
    issuer: String,
    /// Parent agency printed above the agency's name.
    #[serde(default)]
    parent_agency: Option<String>,
    /// Place name (địa danh) of the minutes.
    place: String,
    /// Where the handover happens (default: `Trụ sở cơ quan`).
    #[serde(default)]
    location: Option<String>,
}

impl std::fmt::Debug for AcceptanceBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptanceBody")
            .field("giver_pin", &"<hidden>")
            .field("new_pin", &"<hidden>")
            .field("issuer", &self.issuer)
            .field("place", &self.place)
            .finish()
    }
}

/// The receiver accepts the device attached to the server: the giver's PIN opens it,
/// the receiver's new PIN replaces it, custody moves, and the minutes are numbered and
/// drawn up (next: both parties sign them, then the receiver seals them).
#[utoipa::path(
    post, path = "/api/v1/handovers/{id}/acceptance", tag = "custody", request_body = AcceptanceBody,
    params(("id" = i64, Path, description = "Handover id")),
    responses(
        (status = 200, description = "Accepted: the handover, the device's custodian, the minutes' number", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn accept_handover(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<AcceptanceBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let b = codec::secret_json(body)?;
    let pins = kyso_app::custody::PinChange {
        old: codec::device_pin("giver_pin", b.giver_pin)?,
        new: codec::pin("new_pin", b.new_pin)?,
    };
    let options = kyso_app::custody::MinutesOptions {
        issuer: b.issuer,
        parent_agency: b.parent_agency,
        agency_name: state.app.agency_name(caller.actor.agency()).await?,
        place: b.place,
        location: b.location.unwrap_or_else(|| "Trụ sở cơ quan".into()),
    };
    let drawn = state
        .app
        .accept_handover_with_device(&caller.actor, id, pins, &options)
        .await?;
    Ok(Json(json!({
        "handover": handover_json(&drawn.handover)?,
        "custodian": drawn.device.custodian,
        "minutes_notation": drawn.notation,
    })))
}

/// Starting a party's two-step signature of the minutes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MinutesSigningBody {
    /// The party's personal certificate first, then its chain: base64 DER, or PEM.
    certificates: Vec<String>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    #[serde(default)]
    pss: bool,
}

/// Two-step signing of the minutes by a party (the giver or the receiver, from who is
/// signed in), step one: the server prepares the signature's PDF revision and returns
/// what the party's personal key must sign (`to_be_signed`, base64, and its digest).
/// The key never comes to the server; the session lasts 15 minutes.
#[utoipa::path(
    post, path = "/api/v1/handovers/{id}/minutes/signing-sessions", tag = "custody",
    params(("id" = i64, Path, description = "Handover id")), request_body = MinutesSigningBody,
    responses(
        (status = 201, description = "What to sign: session, party, to_be_signed, digest, algorithms, placement", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)
    )
)]
pub(crate) async fn start_minutes_signing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<MinutesSigningBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let start = kyso_app::custody::MinutesSigningStart {
        certificates: codec::certificate_chain(&b.certificates)?,
        pss: b.pss,
    };
    let ticket = state
        .app
        .start_minutes_signing(&caller.actor, id, start)
        .await?;
    Ok((StatusCode::CREATED, codec::json(&ticket)?))
}

/// Two-step signing of the minutes, step two: the server assembles the party's PAdES
/// signature, verifies the signed minutes, and only then keeps them.
#[utoipa::path(
    post, path = "/api/v1/handovers/{id}/minutes/signature", tag = "custody",
    params(("id" = i64, Path, description = "Handover id")), request_body = crate::outgoing::SignatureBody,
    responses(
        (status = 200, description = "The handover with the party's signature recorded", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn finish_minutes_signing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<crate::outgoing::SignatureBody>,
) -> ApiResult<Json<Value>> {
    let (session, signature) = body.decode()?;
    let signed = state
        .app
        .finish_minutes_signing(&caller.actor, id, &session, signature)
        .await?;
    Ok(Json(handover_json(&signed.handover)?))
}

/// Sealing the minutes with the device attached to the server. (`Debug` never shows
/// the PIN.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MinutesSealBody {
    /// The device's PIN (the receiver's, set at acceptance), for this request only
    /// (never stored or logged).
    #[schema(format = Password)]
    pin: String,
    /// Allow the last PIN attempt before the device locks itself.
    #[serde(default)]
    allow_final_try: bool,
}

impl std::fmt::Debug for MinutesSealBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinutesSealBody")
            .field("pin", &"<hidden>")
            .field("allow_final_try", &self.allow_final_try)
            .finish()
    }
}

/// The receiver, now the device's custodian, seals the minutes signed by both parties
/// with the device attached to the server: the handover is complete and the minutes
/// are filed in the archive as the original of their register entry.
#[utoipa::path(
    post, path = "/api/v1/handovers/{id}/minutes/seal", tag = "custody",
    params(("id" = i64, Path, description = "Handover id")), request_body = MinutesSealBody,
    responses(
        (status = 200, description = "Sealed: the completed handover; `archived` false when the filing must be retried (seal again)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn seal_minutes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<MinutesSealBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let b = codec::secret_json(body)?;
    let pin = kyso_app::custody::DevicePin {
        pin: codec::device_pin("pin", b.pin)?,
        allow_final_try: b.allow_final_try,
    };
    let sealed = state
        .app
        .seal_minutes_with_device(&caller.actor, id, pin)
        .await?;
    let archive_error = sealed
        .archive_error
        .as_ref()
        .map(|e| json!({"code": e.code, "vi": e.vi, "en": e.en}));
    Ok(Json(json!({
        "handover": handover_json(&sealed.handover)?,
        "archived": archive_error.is_none(),
        "archive_error": archive_error,
    })))
}

/// The minutes of a handover (its parties, the agency's device custodians and
/// administrators): the sealed, archived original once complete, else the latest
/// signed version.
#[utoipa::path(
    get, path = "/api/v1/handovers/{id}/minutes", tag = "custody",
    params(("id" = i64, Path, description = "Handover id")),
    responses(
        (status = 200, description = "The minutes", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn minutes(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (path, name) = state.app.handover_minutes(&caller.actor, id).await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(AppError::internal)?;
    Ok(crate::records::download(file, &name, "application/pdf"))
}
