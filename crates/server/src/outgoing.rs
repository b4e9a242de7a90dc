//! The outgoing flow over HTTP: drafts, two-step signing (the key stays with its
//! owner), and the agency seal made with the device attached to the server. Each
//! handler parses, calls one kyso-app use case and renders.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use kyso_app::documents::DocFields;
use kyso_app::outgoing::{DraftRequest, SealRequest, SigningRole, SigningStart};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::codec;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// The form of `POST /api/v1/drafts`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct DraftForm {
    /// The draft (PDF).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Type (QĐ, CV, TB…).
    #[schema(rename = "type")]
    doc_type: String,
    /// Summary (trích yếu).
    subject: Option<String>,
    /// Document date, YYYY-MM-DD (default: today).
    date: Option<String>,
    /// The signer's full name and position.
    signer: Option<String>,
    /// The signer's position (Chủ tịch, Giám đốc…).
    signer_position: Option<String>,
    /// Recipients, one per line.
    recipients: Option<String>,
    /// Urgency: thuong, khan, thuong_khan, hoa_toc.
    urgency: Option<String>,
    /// Secrecy: always refused when not `thuong` (secret documents never go through
    /// electronic signing).
    secrecy: Option<String>,
}

/// Uploads the draft of an outgoing document (PDF) for electronic signing: it is
/// registered without a number, in state `draft`.
#[utoipa::path(
    post, path = "/api/v1/drafts", tag = "outgoing",
    request_body(content = inline(DraftForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The draft's record", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody)
    )
)]
pub(crate) async fn create_draft(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (form, file) =
        crate::upload::document_upload(&state, &caller.actor, &headers, multipart, &["file"])
            .await?;
    let doc_type = form
        .text("type")
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_type",
                "thiếu loại văn bản (type)",
                "the field `type` is missing",
            )
        })
        .and_then(|t| Ok(kyso_app::documents::parse_type(t)?))?;
    let text = |field: &str| form.text(field).map(str::to_string);
    let fields = DocFields {
        subject: text("subject"),
        secrecy: form
            .text("secrecy")
            .map(kyso_app::documents::parse_secrecy)
            .transpose()?
            .unwrap_or_default(),
        urgency: form
            .text("urgency")
            .map(kyso_app::documents::parse_urgency)
            .transpose()?
            .unwrap_or_default(),
        signer: text("signer"),
        signer_position: text("signer_position"),
        recipients: form
            .text("recipients")
            .map(|r| {
                r.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        ..DocFields::default()
    };
    let request = DraftRequest {
        file: file.file.path().to_path_buf(),
        shown_name: Some(file.name.clone()),
        doc_type,
        date: form
            .text("date")
            .map(kyso_app::documents::parse_date)
            .transpose()?,
        fields,
        agency_name: state.app.agency_name(caller.actor.agency()).await?,
    };
    let record = state.app.create_draft(&caller.actor, request).await?;
    Ok((StatusCode::CREATED, codec::json(&record)?))
}

/// Starting a two-step signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigningBody {
    /// `leader` (the competent leader's signature on a draft) or `seal` (the agency's
    /// seal signature on a numbered document, with the agency device at the clerk's desk).
    role: String,
    /// The signer's certificate first, then its chain: base64 DER, or PEM.
    certificates: Vec<String>,
    /// The signature or seal image, base64 PNG (default: the registered one).
    #[serde(default)]
    image: Option<String>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    #[serde(default)]
    pss: bool,
}

/// Two-step signing, step one: the server prepares the signature's PDF revision (kept
/// server-side) and returns what the signer's key must sign — the DER of the CMS signed
/// attributes (`to_be_signed`, base64) and its digest. The session lasts 15 minutes.
#[utoipa::path(
    post, path = "/api/v1/documents/{id}/signing-sessions", tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")), request_body = SigningBody,
    responses(
        (status = 201, description = "What to sign: session, to_be_signed, digest, algorithms, placement", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)
    )
)]
pub(crate) async fn start_signing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<SigningBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = SigningRole::from_key(&body.role).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_role",
            format!("vai trò ký không xác định {:?} (leader, seal)", body.role),
            format!("unknown signing role {:?} (leader, seal)", body.role),
        )
    })?;
    let start = SigningStart {
        role,
        certificates: codec::certificate_chain(&body.certificates)?,
        image: body
            .image
            .as_deref()
            .map(|i| codec::base64_field("image", i))
            .transpose()?,
        pss: body.pss,
    };
    let ticket = state.app.start_signing(&caller.actor, id, start).await?;
    Ok((StatusCode::CREATED, codec::json(&ticket)?))
}

/// Two-step signing, step two (of a document or of handover minutes).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignatureBody {
    /// The session token from step one.
    session: String,
    /// The raw signature value over `to_be_signed`, base64 (ECDSA: DER `Ecdsa-Sig-Value`).
    signature: String,
}

impl SignatureBody {
    /// The session token and the decoded signature value.
    pub(crate) fn decode(self) -> ApiResult<(String, Vec<u8>)> {
        let signature = codec::base64_field("signature", &self.signature)?;
        Ok((self.session, signature))
    }
}

/// Two-step signing, step two: the server assembles the PAdES signature, verifies the
/// signed document, and only then keeps it; the document moves on (leader signed /
/// seal signed).
#[utoipa::path(
    post, path = "/api/v1/documents/{id}/signature", tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")), request_body = SignatureBody,
    responses(
        (status = 200, description = "The updated record", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn finish_signing(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<SignatureBody>,
) -> ApiResult<Json<Value>> {
    let (session, signature) = body.decode()?;
    let record = state
        .app
        .finish_signing(&caller.actor, id, &session, signature)
        .await?;
    codec::json(&record)
}

/// The seal made on the server.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SealBody {
    /// The device's PIN, for this request only (never stored or logged).
    #[schema(format = Password)]
    pin: String,
    /// The device's serial (default: the agency's only device).
    #[serde(default)]
    device: Option<String>,
    /// Allow the last PIN attempt before the device locks itself.
    #[serde(default)]
    allow_final_try: bool,
}

/// The agency's seal signature on a numbered document, made with the agency device
/// attached to the server: only its current custodian, with the PIN given here.
#[utoipa::path(
    post, path = "/api/v1/documents/{id}/seal", tag = "outgoing",
    params(("id" = i64, Path, description = "Document id")), request_body = SealBody,
    responses(
        (status = 200, description = "The updated record (seal signed)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<SealBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body = codec::secret_json(body)?;
    let request = SealRequest {
        pin: codec::device_pin("pin", body.pin)?,
        device: body.device,
        allow_final_try: body.allow_final_try,
    };
    let record = state.app.seal(&caller.actor, id, request).await?;
    codec::json(&record)
}
