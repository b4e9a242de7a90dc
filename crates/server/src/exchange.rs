//! Sending and receiving between agencies over HTTP: sending an issued document, the
//! recipients' status timelines, recall and its answer, the directory of agencies (kept
//! by the administrator, or pulled from a hub node).
//! Accepting (03, số đến) and refusing (02) a received document are the ordinary steps
//! (`POST /api/v1/documents/{id}/steps`). Each handler parses, calls one kyso-app use
//! case and renders.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kyso_app::AppError;
use kyso_app::exchange::NewAgency;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};

/// The OpenAPI paths of the exchange (merged into [`crate::ApiDoc`]'s document).
#[derive(OpenApi)]
#[openapi(
    paths(
        send, deliveries, recall, recall_reply, agencies, add_agency, update_agency,
        pull_agencies, transport, outbox, retry_outbox, package_edxml, status_edxml, import_edxml
    ),
    components(schemas(SendBody, RecallBody, RecallReplyBody, AgencyBody, AgencyUpdateBody, PullBody, OutboxQuery)),
    tags((name = "exchange", description = "Sending and receiving documents between agencies (Decision 28/2018, edXML statuses)"))
)]
#[derive(Debug)]
pub(crate) struct ExchangeDoc;

/// The routes, under `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/documents/{id}/sendings", post(send))
        .route("/documents/{id}/deliveries", get(deliveries))
        .route("/deliveries/{id}/recall", post(recall))
        .route("/deliveries/{id}/recall-reply", post(recall_reply))
        .route("/agencies", get(agencies).post(add_agency))
        .route("/agencies/pull", post(pull_agencies))
        .route("/agencies/{id}", put(update_agency))
        .route("/deliveries/{id}/transport", get(transport))
        .route("/deliveries/{id}/edxml", get(package_edxml))
        .route("/deliveries/{id}/edxml-status", get(status_edxml))
        .route("/outbox", get(outbox))
        .route("/outbox/{id}/retry", post(retry_outbox))
        .route(
            "/packages/edxml",
            post(import_edxml).layer(DefaultBodyLimit::max(
                kyso_exchange::Limits::default().max_xml_bytes,
            )),
        )
}

/// An XML answer, offered as a download named `name`.
fn xml(text: String, name: &str) -> Response {
    let mut response = Response::new(Body::from(text));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn json<T: serde::Serialize>(value: &T) -> ApiResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(value).map_err(AppError::internal)?,
    ))
}

/// Sending a document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendBody {
    /// Recipient agencies' identifiers (mã định danh, `000.00.00.H13`), from the
    /// directory.
    recipients: Vec<String>,
}

/// Sends an issued (agency-sealed), non-secret document of the caller's agency to other
/// agencies (clerk). Recipients hosted on this node receive it at once (verified on
/// receipt, status 01); others are queued for network delivery. Sending the same
/// document again to a recipient adds nothing (`already_sent`).
#[utoipa::path(
    post, path = "/api/v1/documents/{id}/sendings", tag = "exchange",
    params(("id" = i64, Path, description = "The sender's document id")), request_body = SendBody,
    responses(
        (status = 201, description = "Sent: the DocumentId, the package digest and what happened per recipient", body = Object),
        (status = 200, description = "Nothing new: every recipient had it already", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<SendBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let sent = state.app.send(&caller.actor, id, &body.recipients).await?;
    let status = if sent.created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, json(&sent)?))
}

/// The deliveries of a document with each recipient's status timeline (01 arrived, 02
/// refused, 03 accepted, 04 assigned, 05 processing, 06 completed, 13 recall asked, 15
/// recall agreed, 16 recall refused). For a received document: the delivery it came by.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}/deliveries", tag = "exchange",
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "Deliveries with their timelines", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    json(&state.app.deliveries(&caller.actor, id).await?)
}

/// A recall request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecallBody {
    /// Why the document is taken back (required).
    reason: String,
}

/// The sender asks a recipient to give the document back (status 13, clerk).
#[utoipa::path(
    post, path = "/api/v1/deliveries/{id}/recall", tag = "exchange",
    params(("id" = i64, Path, description = "Delivery id")), request_body = RecallBody,
    responses(
        (status = 200, description = "The delivery with its timeline", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn recall(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<RecallBody>,
) -> ApiResult<Json<Value>> {
    json(&state.app.recall(&caller.actor, id, &body.reason).await?)
}

/// The answer to a recall.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecallReplyBody {
    /// `true`: give it back (15; the received copy is marked recalled, kept for audit);
    /// `false`: refuse (16).
    agree: bool,
    /// The reason (required to refuse).
    #[serde(default)]
    reason: String,
}

/// The recipient's clerk answers a recall: agreed (15) or refused with a reason (16).
#[utoipa::path(
    post, path = "/api/v1/deliveries/{id}/recall-reply", tag = "exchange",
    params(("id" = i64, Path, description = "Delivery id")), request_body = RecallReplyBody,
    responses(
        (status = 200, description = "The delivery with its timeline", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn recall_reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<RecallReplyBody>,
) -> ApiResult<Json<Value>> {
    json(
        &state
            .app
            .recall_reply(&caller.actor, id, body.agree, &body.reason)
            .await?,
    )
}

/// The directory of agencies: those hosted on this node and those reached through other
/// nodes.
#[utoipa::path(
    get, path = "/api/v1/agencies", tag = "exchange",
    responses(
        (status = 200, description = "Agencies: id, name, hosted, node_url, node_certificate", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn agencies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    json(&state.app.agencies(&caller.actor).await?)
}

/// An agency to add to the directory.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgencyBody {
    /// Mã định danh (`000.00.00.H13`).
    id: String,
    /// Name.
    name: String,
    /// The node hosting it (`https://…`, its exchange listener); absent: hosted on
    /// this node.
    #[serde(default)]
    node_url: Option<String>,
    /// The SHA-256 (hex) of that node's TLS certificate: packages and statuses from
    /// the agency are accepted only from a node presenting it.
    #[serde(default)]
    node_certificate: Option<String>,
    /// The certificates the agency signs with (its seal, its leaders): SHA-256
    /// fingerprints (64 hex digits) or PEM certificates. A document received from the
    /// agency is recognised as its own only when one of its signatures is made with one
    /// of them (else it waits for the clerk, who accepts it only with a reason).
    #[serde(default)]
    signing_certificates: Vec<String>,
}

/// Adds an agency to the directory (administrator).
#[utoipa::path(
    post, path = "/api/v1/agencies", tag = "exchange", request_body = AgencyBody,
    responses(
        (status = 201, description = "The agency", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn add_agency(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<AgencyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let agency = state
        .app
        .add_agency(
            &caller.actor,
            NewAgency {
                id: body.id,
                name: body.name,
                node_url: body.node_url,
                node_certificate: body.node_certificate,
                signing_certificates: body.signing_certificates,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, json(&agency)?))
}

/// A changed directory entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgencyUpdateBody {
    /// Name.
    name: String,
    /// For an agency on another node: the node that speaks for it now (`https://…`,
    /// its exchange listener or a hub's). Absent for an agency hosted here.
    #[serde(default)]
    node_url: Option<String>,
    /// For an agency on another node: the SHA-256 (hex) of the certificate of the node
    /// that creates its packages and statuses (a renewed or replacing certificate).
    #[serde(default)]
    node_certificate: Option<String>,
    /// The certificates the agency signs with (fingerprints or PEM); replaces the list.
    #[serde(default)]
    signing_certificates: Vec<String>,
}

/// Changes a directory entry (administrator): the agency's name and signing
/// certificates and, for an agency on another node, its node — moved, its certificate
/// renewed, or revoked and replaced (what arrives under the old certificate is refused
/// from then on). An agency hosted here stays hosted.
#[utoipa::path(
    put, path = "/api/v1/agencies/{id}", tag = "exchange",
    params(("id" = String, Path, description = "Mã định danh")), request_body = AgencyUpdateBody,
    responses(
        (status = 200, description = "The agency", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn update_agency(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AgencyUpdateBody>,
) -> ApiResult<Json<Value>> {
    let agency = state
        .app
        .update_agency(
            &caller.actor,
            NewAgency {
                id,
                name: body.name,
                node_url: body.node_url,
                node_certificate: body.node_certificate,
                signing_certificates: body.signing_certificates,
            },
        )
        .await?;
    json(&agency)
}

/// Where to pull the directory from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullBody {
    /// The hub's exchange listener (`https://host:port`, as in a directory entry's
    /// `node_url`).
    hub_url: String,
}

/// Pulls the directory of a hub node (administrator): the hub's agencies and those it
/// relays for are added as reached through the hub (`node_url` = `hub_url`,
/// `node_certificate` = the certificate of the node that creates the agency's packages,
/// as the hub knows it); entries already reached through the same hub are updated when
/// they changed; an agency hosted here or reached through another node is never
/// touched. Read over mutual TLS (`GET /exchange/v1/directory` on the hub) with this
/// node's exchange certificate. Answers what was added, updated, unchanged and skipped
/// (with the reasons). 409: this node has no exchange configured; 503: the hub cannot be
/// reached, refused, or answered something that is not a directory.
#[utoipa::path(
    post, path = "/api/v1/agencies/pull", tag = "exchange", request_body = PullBody,
    responses(
        (status = 200, description = "The report: hub_url, added, updated, unchanged, skipped (id, code, reason, reason_en)", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)
    )
)]
pub(crate) async fn pull_agencies(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PullBody>,
) -> ApiResult<Json<Value>> {
    json(
        &state
            .app
            .pull_directory(&caller.actor, &body.hub_url)
            .await?,
    )
}

/// The transport of a delivery to or from another node: its outbox rows (package or
/// status, queued / sent / failed, attempts, the last error).
#[utoipa::path(
    get, path = "/api/v1/deliveries/{id}/transport", tag = "exchange",
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "Outbox rows", body = Vec<Object>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn transport(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    json(&state.app.delivery_transport(&caller.actor, id).await?)
}

/// Which outbox rows.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutboxQuery {
    /// `queued`, `sent` or `failed`; absent: all.
    #[serde(default)]
    state: Option<String>,
}

/// The node's outbox, newest first, at most 500 rows (administrator).
#[utoipa::path(
    get, path = "/api/v1/outbox", tag = "exchange", params(OutboxQuery),
    responses(
        (status = 200, description = "Outbox rows", body = Vec<Object>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn outbox(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<OutboxQuery>,
) -> ApiResult<Json<Value>> {
    json(
        &state
            .app
            .outbox(&caller.actor, query.state.as_deref())
            .await?,
    )
}

/// Sends an outbox row again at once (a failed row, or one waiting out its backoff):
/// the clerk of the agency whose delivery it is, or an administrator.
#[utoipa::path(
    post, path = "/api/v1/outbox/{id}/retry", tag = "exchange",
    params(("id" = i64, Path, description = "Outbox row id")),
    responses(
        (status = 200, description = "The row, queued and due now", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn retry_outbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    json(&state.app.retry_outbox(&caller.actor, id).await?)
}

/// A delivery's package as edXML (QCVN 102:2016 envelope, attachments base64), for
/// the sending or the receiving agency.
#[utoipa::path(
    get, path = "/api/v1/deliveries/{id}/edxml", tag = "exchange",
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The edXML package", content_type = "application/xml", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn package_edxml(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let text = state.app.package_edxml(&caller.actor, id).await?;
    Ok(xml(text, &format!("goi-tin-{id}.edxml")))
}

/// The latest status of a delivery as an edXML status message (to answer a document
/// system that sent the package as edXML).
#[utoipa::path(
    get, path = "/api/v1/deliveries/{id}/edxml-status", tag = "exchange",
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The edXML status", content_type = "application/xml", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn status_edxml(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let text = state.app.status_edxml(&caller.actor, id).await?;
    Ok(xml(text, &format!("trang-thai-{id}.edxml")))
}

/// Files a package received as edXML (from another document system or the national
/// axis) for the clerk's agency: body = the edXML document. It must be addressed to the
/// agency; the original is verified on receipt and filed as an incoming document with
/// status 01, like a package from a kyso node.
#[utoipa::path(
    post, path = "/api/v1/packages/edxml", tag = "exchange",
    request_body(content = String, content_type = "application/xml", description = "edXML package"),
    responses(
        (status = 201, description = "Delivered: the recipient's outcome, delivery and verdict", body = Object),
        (status = 200, description = "Delivered before: nothing added", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody)
    )
)]
pub(crate) async fn import_edxml(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let outcome = state.app.import_edxml(&caller.actor, &body).await?;
    let status = if outcome.outcome == "delivered" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, json(&outcome)?))
}
