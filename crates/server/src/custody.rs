//! Users, certificate login, the agency's devices and their handovers over HTTP.
//! Handlers parse, call one kyso-app use case and render. What needs the token itself
//! (accepting a handover with a new PIN, signing and sealing the minutes) stays with
//! `kyso device handover …` on the machine the token is plugged into.

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
    Ok(serde_json::to_value(h).map_err(AppError::internal)?)
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
