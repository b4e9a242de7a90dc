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

/// A file as a download (streamed).
pub(crate) fn download(file: tokio::fs::File, name: &str, content_type: &'static str) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(file)));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Which year's file.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ExportParams {
    /// The year of a file given by its notation (default: this year).
    year: Option<u16>,
}

/// Exports a records file for handing over to the archive, as `kyso archive export`
/// writes it, in one tar archive: the folder `<file code>/` with its documents
/// (originals with their signatures) numbered in order, `ho-so.xml` (the file's and
/// each document's metadata) and `muc-luc.pdf` (the table of contents).
#[utoipa::path(
    get, path = "/api/v1/files/{code}/export", tag = "records",
    params(("code" = String, Path, description = "Full file code, or the notation of the year's file"), ExportParams),
    responses(
        (status = 200, description = "The exported file (tar)", content_type = "application/x-tar", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
pub(crate) async fn export_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    let code = state.app.file_code(&caller.actor, &code, p.year)?;
    // Written next to uploads (the same disk as the archive); cleared on start.
    let staging = state.config.data.join("staging");
    std::fs::create_dir_all(&staging).map_err(AppError::internal)?;
    let work = tempfile::Builder::new()
        .prefix(crate::EXPORT_PREFIX)
        .tempdir_in(&staging)
        .map_err(AppError::internal)?;
    let exported = state
        .app
        .export_record_file(&caller.actor, &code, work.path())
        .await?;
    let tar_path = work.path().join("export.tar");
    let folder = exported.folder.clone();
    let archive = tar_path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let name = folder
            .file_name()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "ho-so".into());
        let mut builder =
            tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(&archive)?));
        builder.append_dir_all(&name, &folder)?;
        let mut out = builder.into_inner()?;
        std::io::Write::flush(&mut out)?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    let file = tokio::fs::File::open(&tar_path)
        .await
        .map_err(AppError::internal)?;
    // The open file is read to its end after the folder is gone.
    drop(work);
    let name = format!("{}.tar", kyso_office::safe_segment(&code.to_string()));
    Ok(download(file, &name, "application/x-tar"))
}
