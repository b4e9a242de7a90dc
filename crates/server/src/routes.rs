//! The JSON API under `/api/v1`. Handlers parse, call one kyso-app use case and render;
//! the OpenAPI document is generated from the annotations below.

use std::time::Instant;

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kyso_app::documents::{Allocate, DocFields, FileRequest, Filed, NumberRequest, StepRequest};
use kyso_app::verify::{Content, Settings, looks_like_pdf};
use kyso_app::{AppError, Kind, Scope};
use kyso_model::AgencyId;
use kyso_office::{Direction, DocumentQuery, Event};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::upload::read_form;

/// The OpenAPI document of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kyso",
        description = "kyso agency node: Decree 30 documents, PAdES/CAdES signatures, registers, archive. Errors are `{code, vi, en}`. People authenticate with the session cookie from `POST /api/v1/sessions` (changes need the `X-CSRF-Token` header); machine clients with `Authorization: Bearer kyso_…` API tokens.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        verify, setup, login, logout, me, list_documents, file_document, show_document,
        original, evidence, advance, take_number, archive_tree, search, get_policy, set_policy,
        create_token, revoke_token, crate::outgoing::create_draft,
        crate::outgoing::start_signing, crate::outgoing::finish_signing, crate::outgoing::seal,
        crate::records::register, crate::records::files, crate::records::open_file,
        crate::records::add_to_file, crate::audit::entries, crate::audit::verify,
        crate::custody::challenge, crate::custody::certificate_login, crate::custody::users,
        crate::custody::add_user, crate::custody::change_user, crate::custody::devices,
        crate::custody::device, crate::custody::handovers, crate::custody::request_handover,
        crate::custody::decide_handover, crate::custody::accept_handover,
        crate::custody::start_minutes_signing, crate::custody::finish_minutes_signing,
        crate::custody::seal_minutes, crate::custody::minutes, crate::records::export_file
    ),
    components(schemas(
        ErrorBody, VerifyForm, SetupBody, LoginBody, SessionView, UserView, StepBody,
        NumberBody, PolicyBody, PolicyView, TokenBody, TokenCreated, UploadForm,
        crate::outgoing::DraftForm, crate::outgoing::SigningBody, crate::outgoing::SignatureBody,
        crate::outgoing::SealBody, crate::records::FileBody, crate::records::FileDocumentBody,
        crate::custody::ChallengeBody, crate::custody::ChallengeView,
        crate::custody::CertificateLoginBody, crate::custody::PersonView, crate::custody::UserBody,
        crate::custody::UserChangeBody, crate::custody::HandoverBody, crate::custody::DecisionBody,
        crate::custody::AcceptanceBody, crate::custody::MinutesSigningBody,
        crate::custody::MinutesSealBody
    )),
    tags((name = "public", description = "No login"), (name = "documents"), (name = "outgoing", description = "Drafts, two-step signing, the agency seal"), (name = "records", description = "Registers and records files"), (name = "custody", description = "The agency's signing devices and their handovers"), (name = "sessions"), (name = "admin"))
)]
#[derive(Debug)]
pub struct ApiDoc;

// ----------------------------------------------------------------------------------
// Public verification
// ----------------------------------------------------------------------------------

/// The form of `POST /api/v1/verify`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct VerifyForm {
    /// A PDF (its own signatures are verified), or any file with `signature`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The detached CMS/CAdES signature (`.p7s`, DER or PEM) of a non-PDF `file`.
    #[schema(value_type = Option<String>, format = Binary)]
    signature: Option<Vec<u8>>,
}

/// Verifies the signatures of an uploaded file: no login, nothing stored. The report is
/// the one `kyso verify --json` prints (`verdict`: valid, valid_with_changes, invalid,
/// modified, indeterminate, unsigned).
#[utoipa::path(
    post, path = "/api/v1/verify", tag = "public",
    request_body(content = inline(VerifyForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The verification report", body = Object),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 429, description = "Too many verifications from this address", body = ErrorBody)
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    multipart: Multipart,
) -> ApiResult<Json<Value>> {
    let (verification, _) = verify_upload(&state, addr.ip(), &headers, multipart).await?;
    Ok(Json(verification.to_json()))
}

/// The public verification of an upload (`file`, and `signature` for a non-PDF), shared
/// by `POST /api/v1/verify` and the page `/xac-minh`: per-address rate limit, size
/// limit, bounded concurrency, revocation fetched over http(s) only, nothing stored,
/// counted in the metrics. The verification and the file's name.
pub(crate) async fn verify_upload(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    multipart: Multipart,
) -> ApiResult<(kyso_app::verify::Verification, String)> {
    state.verify_rate.check(ip)?;
    let announced = crate::upload::check_length(headers, state.config.verify_limit)?;
    let mut form = read_form(
        multipart,
        &["file", "signature"],
        None,
        state.config.verify_limit,
        announced,
    )
    .await?;
    let (name, file) = form.buffers.remove("file").ok_or_else(|| {
        ApiError::bad_request(
            "missing_file",
            "thiếu trường `file` (tệp cần kiểm tra)",
            "the field `file` (the file to verify) is missing",
        )
    })?;
    let signature = form
        .buffers
        .remove("signature")
        .map(|(_, b)| b)
        .filter(|b| !b.is_empty());
    let permit = state
        .verify_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(AppError::internal)?;
    let app = state.app.clone();
    let anchors = state.anchors.clone();
    let started = Instant::now();
    let verification = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let settings = Settings::new(anchors.0, anchors.1, app.now());
        // Revocation data named in an uploaded certificate is fetched over HTTP(S)
        // only: never a `file://` path of this server.
        let fetcher = kyso_app::ports::HttpOnly(app.fetcher());
        if signature.is_none() && looks_like_pdf(&file) {
            kyso_app::verify::verify_pdf(&fetcher, &file, &settings)
        } else {
            kyso_app::verify::verify_detached(
                &fetcher,
                Content::Bytes(&file),
                signature.as_deref(),
                "signature",
                &settings,
            )
        }
    })
    .await
    .map_err(AppError::internal)??;
    state.metrics.verified(
        &verification.verdict_key(),
        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    Ok((verification, name))
}

// ----------------------------------------------------------------------------------
// Setup and sessions
// ----------------------------------------------------------------------------------

/// The first administrator, through the one-time setup link printed at start.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SetupBody {
    /// The token of the setup link.
    token: String,
    /// The agency's identifier (mã định danh, `000.00.00.H13`).
    agency_id: String,
    /// The agency's name (Ủy ban nhân dân thành phố Cần Thơ).
    agency_name: String,
    /// Login name (lowercase letters, digits, `.`, `_`, `-`).
    name: String,
    /// Full name.
    full_name: String,
    /// Password (at least 12 characters).
    password: String,
}

/// Creates the first administrator (only while the installation has none, only with the
/// setup token printed by `kyso serve`).
#[utoipa::path(
    post, path = "/api/v1/setup", tag = "admin", request_body = SetupBody,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn setup(
    State(state): State<AppState>,
    Json(body): Json<SetupBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let body_token = Zeroizing::new(body.token);
    if !state.setup.matches(&body_token) {
        return Err(ApiError(AppError::new(
            Kind::Forbidden,
            "bad_setup_token",
            "liên kết cài đặt không đúng hoặc đã dùng",
            "the setup link is wrong or was used already",
        )));
    }
    let agency = parse_agency(&body.agency_id)?;
    let user = state
        .app
        .create_first_administrator(
            &agency,
            &body.agency_name,
            &body.name,
            &body.full_name,
            Zeroizing::new(body.password),
        )
        .await?;
    state.setup.used();
    Ok((StatusCode::CREATED, Json(UserView::of(&user))))
}

/// Login.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    /// Login name.
    user: String,
    /// Password.
    password: String,
    /// The agency (needed only when several agencies on this node have the name).
    #[serde(default)]
    agency: Option<String>,
}

/// A user, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    /// `user` (a person) or `token` (a machine client).
    kind: String,
    agency: String,
    name: String,
    full_name: String,
    title: String,
    unit: String,
    roles: Vec<String>,
    /// A token's scopes (empty for people).
    scopes: Vec<String>,
}

impl UserView {
    fn of(u: &kyso_office::User) -> Self {
        Self {
            kind: "user".into(),
            agency: u.agency.to_string(),
            name: u.name.clone(),
            full_name: u.full_name.clone(),
            title: u.title.clone(),
            unit: u.unit.clone(),
            roles: u.roles.iter().map(|r| r.key().to_string()).collect(),
            scopes: Vec::new(),
        }
    }

    fn of_actor(actor: &kyso_app::Actor) -> Self {
        match actor {
            kyso_app::Actor::User(u) => Self::of(u),
            kyso_app::Actor::Token(t) => Self {
                kind: "token".into(),
                agency: t.agency.to_string(),
                name: t.name.clone(),
                full_name: format!("Mã truy cập {}", t.name),
                title: String::new(),
                unit: String::new(),
                roles: Vec::new(),
                scopes: t.scopes.iter().map(|s| s.key().to_string()).collect(),
            },
            kyso_app::Actor::Operator { name, agency } => Self {
                kind: "operator".into(),
                agency: agency.to_string(),
                name: name.clone(),
                full_name: name.clone(),
                title: String::new(),
                unit: String::new(),
                roles: Vec::new(),
                scopes: Vec::new(),
            },
        }
    }
}

/// A new session: the cookie is set; the CSRF token goes in `X-CSRF-Token` on changes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionView {
    user: UserView,
    csrf_token: String,
    /// RFC 3339.
    expires_at: String,
}

pub(crate) fn parse_agency(text: &str) -> ApiResult<AgencyId> {
    AgencyId::parse_with(text.trim(), kyso_model::AgencyIdFormat::Lenient).map_err(|e| {
        ApiError::bad_request(
            "bad_agency_id",
            format!("mã định danh cơ quan không hợp lệ: {e}"),
            format!("invalid agency identifier: {e}"),
        )
    })
}

/// Signs in with a password; sets the session cookie (HttpOnly, SameSite=Strict, Secure
/// under TLS).
#[utoipa::path(
    post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginBody,
    responses(
        (status = 201, description = "Signed in", body = SessionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Json(body): Json<LoginBody>,
) -> ApiResult<Response> {
    let agency = body.agency.as_deref().map(parse_agency).transpose()?;
    let addr = Some(peer.ip().to_string());
    let user = state
        .app
        .login_password(
            agency.as_ref(),
            &body.user,
            Zeroizing::new(body.password),
            addr.as_deref(),
        )
        .await?;
    web_session(&state, user).await
}

/// Starts a web session for `user`: the cookie (HttpOnly, SameSite=Strict, Secure under
/// TLS) and the CSRF token.
pub(crate) async fn web_session(state: &AppState, user: kyso_office::User) -> ApiResult<Response> {
    let (cookies, session) = session_cookie(state, user).await?;
    let view = SessionView {
        user: UserView::of(&session.user),
        csrf_token: session.csrf.to_string(),
        expires_at: session
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookies.session);
    Ok(response)
}

/// The cookies of a new session.
pub(crate) struct SessionCookies {
    /// `kyso_session`: the session token.
    pub(crate) session: HeaderValue,
    /// `kyso_csrf`: the session's CSRF token, for the server-rendered pages to put in
    /// their forms (HttpOnly too: only the server reads it; pages carry it in a meta tag
    /// that another site cannot read).
    pub(crate) csrf: HeaderValue,
}

/// Starts a session for `user` and makes its cookies.
pub(crate) async fn session_cookie(
    state: &AppState,
    user: kyso_office::User,
) -> Result<(SessionCookies, kyso_app::sessions::NewSession), AppError> {
    let session = state.app.start_session(user).await?;
    let max_age = (session.expires_at - state.app.now())
        .whole_seconds()
        .max(0);
    let secure = if state.config.tls { "; Secure" } else { "" };
    let make = |name: &str, value: &str| {
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .map_err(AppError::internal)
    };
    let cookies = SessionCookies {
        session: make(SESSION_COOKIE, session.token.as_str())?,
        csrf: make(crate::auth::CSRF_COOKIE, session.csrf.as_str())?,
    };
    Ok((cookies, session))
}

/// Signs out (the cookie is cleared).
#[utoipa::path(
    delete, path = "/api/v1/sessions/current", tag = "sessions",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let Some(session) = caller.session else {
        return Err(ApiError::bad_request(
            "not_a_session",
            "đăng xuất chỉ dành cho phiên đăng nhập bằng cookie",
            "only cookie sessions sign out",
        ));
    };
    state.app.logout(&session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kyso_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// Who is signed in.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "sessions",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody))
)]
pub(crate) async fn me(caller: Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::of_actor(&caller.actor)))
}

// ----------------------------------------------------------------------------------
// Documents
// ----------------------------------------------------------------------------------

/// Filters of the document list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListParams {
    /// Register year.
    year: Option<u16>,
    /// `incoming` or `outgoing`.
    direction: Option<String>,
    /// Type abbreviation (QĐ, CV…).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    doc_type: Option<String>,
}

/// The agency's documents.
#[utoipa::path(
    get, path = "/api/v1/documents", tag = "documents", params(ListParams),
    responses((status = 200, description = "Documents", body = Vec<Object>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn list_documents(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    let direction = match p.direction.as_deref() {
        None | Some("") => None,
        Some("incoming") => Some(Direction::Incoming),
        Some("outgoing") => Some(Direction::Outgoing),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_direction",
                format!("direction phải là incoming hoặc outgoing, không phải {other:?}"),
                format!("direction must be incoming or outgoing, not {other:?}"),
            ));
        }
    };
    let query = DocumentQuery {
        agency: None,
        year: p.year,
        direction,
        document_type: p
            .doc_type
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(kyso_app::documents::parse_type)
            .transpose()?,
        ..DocumentQuery::default()
    };
    let docs = state.app.documents(&caller.actor, query).await?;
    crate::codec::json(&docs)
}

/// The form of `POST /api/v1/documents`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The signed original (a PDF, or any file with `signature`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Its detached `.p7s`.
    #[schema(value_type = Option<String>, format = Binary)]
    signature: Option<Vec<u8>>,
    /// `true`: received from another agency (verified on receipt, gets số đến).
    incoming: Option<bool>,
    /// Type (QĐ, CV…); default: read from the first page.
    #[schema(rename = "type")]
    doc_type: Option<String>,
    /// Number and notation (`15/QĐ-UBND`); default: read from the first page.
    number: Option<String>,
    /// Document date (outgoing) or arrival date (incoming), YYYY-MM-DD.
    date: Option<String>,
    /// Summary (trích yếu).
    subject: Option<String>,
    /// Sender (incoming) or issuing agency name.
    from: Option<String>,
    /// Take the next register number with this issuer abbreviation (outgoing).
    allocate_issuer: Option<String>,
    /// Unit groups of the notation (a Công văn's drafting unit), comma-separated.
    allocate_units: Option<String>,
    /// `true`: keep it even when a signature is invalid.
    accept_invalid: Option<bool>,
    /// The reason to keep it even when its signatures cannot be verified
    /// (`indeterminate`, e.g. a CA not trusted here; `unsigned`): recorded with the
    /// caller in its history and the audit log. Without it such a document is refused
    /// (409 `unverified`), unless it is only received (`incoming`, `accept=false`).
    accept_unverified: Option<String>,
    /// Incoming: `false` only receives it (state `verified` when its signatures are
    /// valid, else `received`) for the clerk to accept with its arrival number or refuse
    /// with a reason; default `true`: accepted at once.
    accept: Option<bool>,
    /// `true`: do not fetch revocation data.
    offline: Option<bool>,
}

/// Files a signed original into the archive: verified first; incoming documents are
/// accepted with their arrival number. Refused: secret documents, duplicates of an
/// archived original, invalid signatures (unless `accept_invalid`), signatures not
/// verified (unless `accept_unverified` gives the reason).
#[utoipa::path(
    post, path = "/api/v1/documents", tag = "documents",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored: the record, duplicates and notes", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Not filed (already archived, unsigned, invalid signature; `unverified`: not verified and no `accept_unverified` reason)", body = ErrorBody),
        (status = 413, body = ErrorBody)
    )
)]
pub(crate) async fn file_document(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (mut form, file) = crate::upload::document_upload(
        &state,
        &caller.actor,
        &headers,
        multipart,
        &["file", "signature"],
    )
    .await?;
    let signature = form.files.remove("signature");
    let incoming = form.flag("incoming")?;
    // Accepting at once is the default; `accept=false` only receives it.
    let accept = form.text("accept").is_none() || form.flag("accept")?;
    let accept_unverified = form.text("accept_unverified").map(str::to_string);
    let agency_name = state.app.agency_name(caller.actor.agency()).await?;
    let request = FileRequest {
        file: file.file.path().to_path_buf(),
        shown_name: Some(file.name.clone()),
        // A detached signature makes it a CAdES original; else kyso-app looks at it.
        is_pdf: signature.is_some().then_some(false),
        signature: signature.as_ref().map(|s| s.file.path().to_path_buf()),
        doc_type: form
            .text("type")
            .map(kyso_app::documents::parse_type)
            .transpose()?,
        number: form.text("number").map(str::to_string),
        date: form
            .text("date")
            .map(kyso_app::documents::parse_date)
            .transpose()?,
        incoming,
        accept,
        offline: form.flag("offline")?,
        accept_invalid: form.flag("accept_invalid")?,
        fields: DocFields {
            subject: form.text("subject").map(str::to_string),
            ..DocFields::default()
        },
        from: form.text("from").map(str::to_string),
        agency_name,
        allocate: form.text("allocate_issuer").map(|issuer| Allocate {
            issuer: issuer.to_string(),
            units: form
                .text("allocate_units")
                .map(|u| {
                    u.split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            advisory: None,
        }),
    };
    match state
        .app
        .file_document_decided(&caller.actor, request, accept_unverified.as_deref())
        .await?
    {
        Filed::Stored(registered, notes) => Ok((
            StatusCode::CREATED,
            Json(json!({
                "record": registered.record,
                "duplicates": registered.duplicates,
                "notes": notes,
            })),
        )),
        Filed::Skipped(why) => Err(ApiError(why)),
    }
}

/// One document: record, history, where the original is, verification report.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = i64, Path, description = "Document id")),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn show_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let view = state.app.document(&caller.actor, id).await?;
    Ok(Json(kyso_app::documents::view_json(&view)))
}

/// The document's file: the archived original, byte-exact; before it is issued, the
/// current working copy of the outgoing flow (the draft, then each signed version).
#[utoipa::path(
    get, path = "/api/v1/documents/{id}/original", tag = "documents",
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The original", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn original(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (path, name) = state.app.current_file(&caller.actor, id).await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(AppError::internal)?;
    let content_type = if name.to_ascii_lowercase().ends_with(".pdf") {
        "application/pdf"
    } else {
        "application/octet-stream"
    };
    Ok(crate::records::download(file, &name, content_type))
}

/// When to verify an archived original.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct EvidenceParams {
    /// Validation time (RFC 3339); default now.
    at: Option<String>,
}

/// The archived original verified with its evidence record (RFC 4998,
/// docs/evidence.md): the record now (or `at`), the signatures as of its
/// proof-of-existence time with the material captured on archiving; without a record, the
/// ordinary verification. `{verdict, summary, summary_en, evidence, signatures,
/// reasons}`.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}/evidence", tag = "documents",
    params(("id" = i64, Path, description = "Document id"), EvidenceParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(p): Query<EvidenceParams>,
) -> ApiResult<Json<Value>> {
    let at = p.at.as_deref().map(kyso_app::ca::parse_time).transpose()?;
    let verified = state
        .app
        .verify_archived(&caller.actor, id, at, false)
        .await?;
    Ok(Json(verified.to_json()))
}

/// A lifecycle step.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct StepBody {
    /// leader_sign, number, seal_sign, issue, recall, verify, accept, refuse, assign,
    /// start_processing, complete.
    event: String,
    /// Reason (refuse), instruction or note.
    #[serde(default)]
    note: String,
    /// Issuer abbreviation, for `number`.
    #[serde(default)]
    issuer: Option<String>,
    /// Unit groups, for `number`.
    #[serde(default)]
    units: Vec<String>,
    /// Advisory body, for `number`.
    #[serde(default)]
    advisory: Option<String>,
}

/// Moves a document one step (accept with số đến, refuse with a reason, assign…).
#[utoipa::path(
    post, path = "/api/v1/documents/{id}/steps", tag = "documents",
    params(("id" = i64, Path, description = "Document id")), request_body = StepBody,
    responses(
        (status = 200, description = "The updated record", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<StepBody>,
) -> ApiResult<Json<Value>> {
    let event = Event::from_key(&body.event.replace('-', "_")).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_event",
            format!("bước không xác định {:?}", body.event),
            format!("unknown event {:?}", body.event),
        )
    })?;
    let record = state
        .app
        .advance(
            &caller.actor,
            id,
            event,
            StepRequest {
                note: body.note,
                issuer: body.issuer,
                units: body.units,
                advisory: body.advisory,
            },
        )
        .await?;
    crate::codec::json(&record)
}

/// A register number for a document kyso does not hold.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NumberBody {
    /// Type (QĐ, CV…).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    doc_type: String,
    /// Issuer abbreviation (UBND).
    issuer: String,
    /// Document date, YYYY-MM-DD (default today).
    #[serde(default)]
    date: Option<String>,
    /// Summary.
    #[serde(default)]
    subject: Option<String>,
    /// Unit groups.
    #[serde(default)]
    units: Vec<String>,
    /// Advisory body.
    #[serde(default)]
    advisory: Option<String>,
    /// A paper document.
    #[serde(default)]
    paper: bool,
}

/// Takes the next number of a register.
#[utoipa::path(
    post, path = "/api/v1/registers/numbers", tag = "documents", request_body = NumberBody,
    responses(
        (status = 201, description = "The numbered record", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn take_number(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NumberBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let agency_name = state.app.agency_name(caller.actor.agency()).await?;
    let registered = state
        .app
        .take_number(
            &caller.actor,
            NumberRequest {
                doc_type: kyso_app::documents::parse_type(&body.doc_type)?,
                date: body
                    .date
                    .as_deref()
                    .map(kyso_app::documents::parse_date)
                    .transpose()?,
                fields: DocFields {
                    subject: body.subject,
                    ..DocFields::default()
                },
                paper: body.paper,
                issuer: body.issuer,
                units: body.units,
                advisory: body.advisory,
                agency_name,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"record": registered.record, "duplicates": registered.duplicates})),
    ))
}

/// The archive tree: year → type → documents.
#[utoipa::path(
    get, path = "/api/v1/archive", tag = "documents",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn archive_tree(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let tree = state.app.tree(&caller.actor).await?;
    crate::codec::json(&tree)
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SearchParams {
    /// Words (accents optional), "a phrase", a number such as 12/QĐ-UBND, -word.
    q: Option<String>,
    /// Register year.
    year: Option<u16>,
    /// Type (QĐ, CV, quyết định…).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    doc_type: Option<String>,
    /// Results (at most 200).
    limit: Option<usize>,
    /// Results to skip.
    offset: Option<usize>,
}

/// Accent-insensitive search of the agency's archive, with facets and highlights.
#[utoipa::path(
    get, path = "/api/v1/search", tag = "documents", params(SearchParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<Value>> {
    let doc_type = match p.doc_type.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(
            kyso_search::resolve_type(t)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "unknown_type",
                        format!("không rõ loại văn bản {t:?}"),
                        format!("unknown or ambiguous document type {t:?}"),
                    )
                })?
                .to_owned(),
        ),
        None => None,
    };
    let query = kyso_search::Query {
        text: p.q.unwrap_or_default(),
        year: p.year,
        doc_type,
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0).min(10_000),
        facets: true,
        snippets: true,
        ..kyso_search::Query::default()
    };
    let results = state.app.search(&caller.actor, query).await?;
    crate::codec::json(&results)
}

/// The policy, as shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PolicyView {
    /// Type folders issued electronically.
    types: Vec<String>,
    /// Secret documents are never signed or sent electronically.
    secret_documents_electronic: bool,
}

/// The agency's electronic-issuing policy.
#[utoipa::path(
    get, path = "/api/v1/policy", tag = "admin",
    responses((status = 200, body = PolicyView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<PolicyView>> {
    let policy = state.app.policy(&caller.actor).await?;
    Ok(Json(policy_view(&policy)))
}

fn policy_view(policy: &kyso_office::ElectronicPolicy) -> PolicyView {
    PolicyView {
        types: policy
            .types()
            .map(|t| kyso_office::type_folder(t).to_string())
            .collect(),
        secret_documents_electronic: false,
    }
}

/// A new policy.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PolicyBody {
    /// Types issued electronically; `null` restores the default.
    types: Option<Vec<String>>,
}

/// Sets the policy (administrators).
#[utoipa::path(
    put, path = "/api/v1/policy", tag = "admin", request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub(crate) async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    let types = body
        .types
        .map(|list| {
            list.iter()
                .map(|t| kyso_app::documents::parse_type(t))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let policy = state.app.set_policy(&caller.actor, types).await?;
    Ok(Json(policy_view(&policy)))
}

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TokenBody {
    /// Name, unique in the agency.
    name: String,
    /// documents:read, documents:write, documents:advance.
    scopes: Vec<String>,
    /// Lifetime in days (1–3660).
    days: u32,
}

/// The token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenCreated {
    name: String,
    token: String,
    scopes: Vec<String>,
}

/// Creates an API token for a machine client (administrators).
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "admin", request_body = TokenBody,
    responses(
        (status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<TokenBody>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let scopes = body
        .scopes
        .iter()
        .map(|s| {
            Scope::from_key(s).ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_scope",
                    format!("quyền không xác định {s:?}"),
                    format!(
                        "unknown scope {s:?} (documents:read, documents:write, documents:advance)"
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let token = state
        .app
        .create_api_token(&caller.actor, &body.name, &scopes, body.days)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            name: body.name,
            token: token.to_string(),
            scopes: scopes.iter().map(|s| s.key().to_string()).collect(),
        }),
    ))
}

/// Revokes an API token (administrators).
#[utoipa::path(
    delete, path = "/api/v1/tokens/{name}", tag = "admin",
    params(("name" = String, Path, description = "Token name")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.app.revoke_api_token(&caller.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
