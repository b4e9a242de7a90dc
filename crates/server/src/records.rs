//! Registers and records files over HTTP: the register of a year (JSON, CSV or PDF),
//! records files opened and filled, and the file list. Handlers parse, call one
//! kyso-app use case and render.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kyso_app::AppError;
use kyso_app::records::NewRecordFile;
use kyso_office::RegisterSheet;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// Which year and how.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SheetParams {
    /// Year (default: this year).
    year: Option<u16>,
    /// `json` (default), `csv` or `pdf`.
    format: Option<String>,
}

fn render(sheet: &RegisterSheet, format: Option<&str>, name: &str) -> ApiResult<Response> {
    let (bytes, content_type, ext) = match format.unwrap_or("json") {
        "json" => {
            let value = json!({
                "title": sheet.title,
                "subtitle": sheet.subtitle,
                "columns": sheet.columns,
                "rows": sheet.rows,
            });
            return Ok(Json(value).into_response());
        }
        "csv" => (
            kyso_office::to_csv(sheet).into_bytes(),
            "text/csv; charset=utf-8",
            "csv",
        ),
        "pdf" => (
            kyso_office::to_pdf(sheet).map_err(AppError::from)?,
            "application/pdf",
            "pdf",
        ),
        other => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("định dạng không hỗ trợ {other:?} (json, csv, pdf)"),
                format!("unsupported format {other:?} (json, csv, pdf)"),
            ));
        }
    };
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A register of a year (Decree 30 App. IV columns): `outgoing`, `incoming`, `secret`,
/// `copies`, `minutes` or `advisory/<name>`; as JSON, CSV or a printable PDF.
#[utoipa::path(
    get, path = "/api/v1/registers/{register}", tag = "records",
    params(("register" = String, Path, description = "outgoing, incoming, secret, copies, minutes"), SheetParams),
    responses(
        (status = 200, description = "The register", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/pdf")
        )),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(register): Path<String>,
    Query(p): Query<SheetParams>,
) -> ApiResult<Response> {
    let (sheet, _) = state
        .app
        .register_sheet(&caller.actor, p.year, &register)
        .await?;
    let name = format!(
        "so-{}-{}",
        kyso_office::safe_segment(&register),
        p.year.unwrap_or_else(|| state.app.this_year())
    );
    render(&sheet, p.format.as_deref(), &name)
}

/// The records files of a year: the list (danh mục hồ sơ) as JSON (with the files),
/// CSV or PDF.
#[utoipa::path(
    get, path = "/api/v1/files", tag = "records", params(SheetParams),
    responses(
        (status = 200, description = "The file list", content(
            (Object = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/pdf")
        )),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    )
)]
pub(crate) async fn files(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SheetParams>,
) -> ApiResult<Response> {
    let (files, sheet) = state.app.record_files(&caller.actor, p.year).await?;
    if p.format.as_deref().unwrap_or("json") == "json" {
        let files: Vec<Value> = files
            .iter()
            .map(|f| {
                json!({
                    "code": f.file_code.to_string(),
                    "title": f.title,
                    "heading": f.heading,
                    "maintenance": f.maintenance,
                    "creator": f.creator,
                    "note": f.description,
                })
            })
            .collect();
        return Ok(Json(json!({"title": sheet.title, "files": files})).into_response());
    }
    render(&sheet, p.format.as_deref(), "danh-muc-ho-so")
}

/// A records file to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileBody {
    /// File notation (`01.TCCB`) or full file code (`000.00.00.H13.2026.01.TCCB`).
    code: String,
    /// Year (default: this year).
    #[serde(default)]
    year: Option<u16>,
    /// Title.
    title: String,
    /// Heading of the file list (`I. Tổ chức cán bộ`).
    #[serde(default)]
    heading: String,
    /// Retention: `Vĩnh viễn` (default) or a number of years.
    #[serde(default)]
    maintenance: String,
    /// Creator (unit or person).
    #[serde(default)]
    creator: String,
    /// Access regime.
    #[serde(default)]
    rights: String,
    /// Notes.
    #[serde(default)]
    note: String,
}

/// Opens a records file (hồ sơ).
#[utoipa::path(
    post, path = "/api/v1/files", tag = "records", request_body = FileBody,
    responses(
        (status = 201, description = "Opened", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn open_file(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<FileBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let file = state
        .app
        .open_record_file(
            &caller.actor,
            NewRecordFile {
                code: b.code,
                year: b.year,
                title: b.title,
                heading: b.heading,
                maintenance: b.maintenance,
                creator: b.creator,
                rights: b.rights,
                note: b.note,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"code": file.file_code.to_string(), "title": file.title})),
    ))
}

/// A document to put into a file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDocumentBody {
    /// Document id.
    id: i64,
}

/// Puts a document into a records file; answers its ordinal in the file.
#[utoipa::path(
    post, path = "/api/v1/files/{code}/documents", tag = "records",
    params(("code" = String, Path, description = "Full file code, or the notation of this year's file")),
    request_body = FileDocumentBody,
    responses(
        (status = 200, description = "Its ordinal in the file", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
pub(crate) async fn add_to_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(b): Json<FileDocumentBody>,
) -> ApiResult<Json<Value>> {
    let code = state.app.file_code(&caller.actor, &code, None)?;
    let ordinal = state
        .app
        .add_to_record_file(&caller.actor, &code, b.id)
        .await?;
    Ok(Json(json!({"code": code.to_string(), "ordinal": ordinal})))
}
