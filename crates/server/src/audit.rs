//! The audit log over HTTP, for administrators: its entries, and a replay against its
//! signed heads (what `kyso audit verify` checks).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};

/// Which entries.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct EntriesParams {
    /// First sequence number (default 0).
    from: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u64>,
}

/// Entries of the tamper-evident audit log (administrators).
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "admin", params(EntriesParams),
    responses(
        (status = 200, description = "Entries: seq, time, actor, action, object, outcome, details", body = Vec<Object>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<EntriesParams>,
) -> ApiResult<Json<Value>> {
    let entries = state
        .app
        .audit_entries(&caller.actor, p.from.unwrap_or(0), p.limit.unwrap_or(100))
        .await?;
    crate::codec::json(&entries)
}

/// Replays the audit log against its signed tree heads and the log key: `intact`, and
/// every finding (deleted, modified, reordered, truncated entries; forged heads) in
/// Vietnamese and English (administrators).
#[utoipa::path(
    get, path = "/api/v1/audit/verify", tag = "admin",
    responses(
        (status = 200, description = "intact, entries, heads, covered, key_fingerprint, findings", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let check = state.app.audit_check(&caller.actor).await?;
    crate::codec::json(&check)
}
