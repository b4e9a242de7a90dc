//! Sending and receiving between agencies over HTTP: sending an issued document, the
//! recipients' status timelines, recall and its answer, the directory of agencies.
//! Accepting (03, số đến) and refusing (02) a received document are the ordinary steps
//! (`POST /api/v1/documents/{id}/steps`). Each handler parses, calls one kyso-app use
//! case and renders.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
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
    paths(send, deliveries, recall, recall_reply, agencies, add_agency),
    components(schemas(SendBody, RecallBody, RecallReplyBody, AgencyBody)),
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
            },
        )
        .await?;
    Ok((StatusCode::CREATED, json(&agency)?))
}
