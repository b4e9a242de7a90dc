//! Multipart uploads, streamed: file parts go chunk by chunk to a staging file under
//! `<data>/staging` (removed when dropped), or to a bounded buffer; a part or a body over
//! the limit is refused with 413 as soon as the limit is crossed, never after reading the
//! whole thing. Text parts are small and bounded too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use tempfile::NamedTempFile;

use crate::error::{ApiError, ApiResult};

/// The largest text part (a subject, a note).
const MAX_TEXT: usize = 64 * 1024;
/// At most this many parts.
const MAX_PARTS: usize = 32;

/// A file part, staged on disk.
#[derive(Debug)]
pub(crate) struct StagedFile {
    /// The staging file (deleted on drop).
    pub(crate) file: NamedTempFile,
    /// The client's file name, reduced to a safe last component.
    pub(crate) name: String,
}

/// The parts of a multipart form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    /// File parts by field name.
    pub(crate) files: BTreeMap<String, StagedFile>,
    /// In-memory file parts by field name (public verification).
    pub(crate) buffers: BTreeMap<String, (String, Vec<u8>)>,
    /// Text parts by field name.
    pub(crate) texts: BTreeMap<String, String>,
}

impl Form {
    /// A text field, trimmed; `None` when absent or empty.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.texts
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// A yes/no field (`true`/`1`/`yes`/`on`).
    pub(crate) fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.text(name) {
            None => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ApiError::bad_request(
                "bad_field",
                format!("trường {name} phải là true hoặc false, không phải {other:?}"),
                format!("field {name} must be true or false, not {other:?}"),
            )),
        }
    }
}

/// The last path component of a client's file name, without control characters; `..`,
/// separators and empty names become `upload`.
pub(crate) fn safe_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean
    }
}

/// Refuses a body whose announced length (`Content-Length`) is over `limit` (plus room
/// for the form's boundaries) before a byte of it is read: a client that sent
/// `Expect: 100-continue` then never sends it.
pub(crate) fn check_length(headers: &axum::http::HeaderMap, limit: u64) -> ApiResult<Option<u64>> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match announced {
        Some(n) if n > limit.saturating_add(64 * 1024) => Err(ApiError::too_large(limit)),
        _ => Ok(announced),
    }
}

fn multipart_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "bad_multipart",
        format!("dữ liệu multipart/form-data không đọc được: {e}"),
        format!("unreadable multipart/form-data body: {e}"),
    )
}

async fn next_chunk(field: &mut Field<'_>, limit: u64) -> ApiResult<Option<axum::body::Bytes>> {
    match field.chunk().await {
        Ok(c) => Ok(c),
        Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::too_large(limit))
        }
        Err(e) => Err(multipart_error(e.body_text())),
    }
}

/// Reads a form: the parts named in `file_fields` as files (to `staging` when given,
/// else into memory), the others as text; `limit` bounds every file and the total.
/// `announced` is the request's Content-Length (already checked against `limit`): a
/// file read into memory gets its buffer at once instead of growing it copy by copy.
pub(crate) async fn read_form(
    mut multipart: Multipart,
    file_fields: &[&str],
    staging: Option<&Path>,
    limit: u64,
    announced: Option<u64>,
) -> ApiResult<Form> {
    let mut form = Form::default();
    let mut total: u64 = 0;
    let mut parts = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::too_large(limit));
            }
            Err(e) => return Err(multipart_error(e.body_text())),
        };
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::bad_request(
                "too_many_parts",
                format!("quá nhiều trường (tối đa {MAX_PARTS})"),
                format!("too many parts (at most {MAX_PARTS})"),
            ));
        }
        let mut field = field;
        let name = field.name().unwrap_or_default().to_string();
        if file_fields.contains(&name.as_str()) {
            if form.files.contains_key(&name) || form.buffers.contains_key(&name) {
                return Err(ApiError::bad_request(
                    "duplicate_field",
                    format!("trường {name} xuất hiện hai lần"),
                    format!("field {name} appears twice"),
                ));
            }
            let file_name = safe_name(field.file_name().unwrap_or("upload"));
            match staging {
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(kyso_app::AppError::internal)?;
                    let mut tmp = tempfile::Builder::new()
                        .prefix(".upload-")
                        .tempfile_in(dir)
                        .map_err(kyso_app::AppError::internal)?;
                    let mut size = 0u64;
                    while let Some(chunk) = next_chunk(&mut field, limit).await? {
                        size += chunk.len() as u64;
                        total += chunk.len() as u64;
                        if size > limit || total > limit {
                            return Err(ApiError::too_large(limit));
                        }
                        tmp.write_all(&chunk)
                            .map_err(kyso_app::AppError::internal)?;
                    }
                    tmp.as_file()
                        .sync_all()
                        .map_err(kyso_app::AppError::internal)?;
                    form.files.insert(
                        name,
                        StagedFile {
                            file: tmp,
                            name: file_name,
                        },
                    );
                }
                None => {
                    // At most 16 MiB ahead of the data: an announced length is a
                    // claim, not bytes received.
                    let capacity = announced
                        .unwrap_or(0)
                        .min(limit)
                        .min(16 << 20)
                        .saturating_sub(total);
                    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
                    while let Some(chunk) = next_chunk(&mut field, limit).await? {
                        total += chunk.len() as u64;
                        if buf.len() as u64 + chunk.len() as u64 > limit || total > limit {
                            return Err(ApiError::too_large(limit));
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    form.buffers.insert(name, (file_name, buf));
                }
            }
        } else {
            let mut buf = Vec::new();
            while let Some(chunk) = next_chunk(&mut field, limit).await? {
                if buf.len() + chunk.len() > MAX_TEXT {
                    return Err(ApiError::bad_request(
                        "field_too_long",
                        format!("trường {name} quá dài (tối đa {MAX_TEXT} byte)"),
                        format!("field {name} is too long (at most {MAX_TEXT} bytes)"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(buf).map_err(|_| {
                ApiError::bad_request(
                    "bad_field",
                    format!("trường {name} không phải văn bản UTF-8"),
                    format!("field {name} is not UTF-8 text"),
                )
            })?;
            form.texts.insert(name, text);
        }
    }
    Ok(form)
}

/// A document upload: authorises filing (before reading a possibly large body), checks
/// the announced size, streams the form's `files` to `<data>/staging`, and returns the
/// form with its required `file` part taken out.
pub(crate) async fn document_upload(
    state: &crate::AppState,
    actor: &kyso_app::Actor,
    headers: &axum::http::HeaderMap,
    multipart: axum::extract::Multipart,
    files: &[&str],
) -> ApiResult<(Form, StagedFile)> {
    kyso_app::authorize(actor, kyso_office::Action::FileDocument)?;
    let announced = check_length(headers, state.config.upload_limit)?;
    let staging = state.app.data().join("staging");
    let mut form = read_form(
        multipart,
        files,
        Some(&staging),
        state.config.upload_limit,
        announced,
    )
    .await?;
    let file = form.files.remove("file").ok_or_else(|| {
        crate::error::ApiError::bad_request(
            "missing_file",
            "thiếu trường `file` (tệp văn bản)",
            "the field `file` is missing",
        )
    })?;
    Ok((form, file))
}
