//! `AppError` → HTTP: the status from its kind, the body `{code, vi, en}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kyso_app::{AppError, Kind};
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine key (`unauthenticated`, `missing_role`, `csrf`, `too_large`…).
    pub code: String,
    /// Vietnamese message, for agency staff.
    pub vi: String,
    /// English message.
    pub en: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl ApiError {
    /// A 400 with a code and both messages.
    pub fn bad_request(code: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self(AppError::invalid(code, vi, en))
    }

    /// A 413.
    pub fn too_large(limit: u64) -> Self {
        let mb = limit / (1024 * 1024);
        Self(AppError::new(
            Kind::TooLarge,
            "too_large",
            format!("tệp quá lớn: tối đa {mb} MB"),
            format!("too large: at most {mb} MB"),
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = %self.0.code, "{}", self.0.en);
        }
        let body = ErrorBody {
            code: self.0.code,
            vi: self.0.vi,
            en: self.0.en,
        };
        (status, Json(body)).into_response()
    }
}

/// Handler results.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
