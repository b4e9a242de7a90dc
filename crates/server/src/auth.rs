//! Who is calling: an API token (`Authorization: Bearer kyso_…`, machine clients) or a
//! session cookie (people). Cookie-authenticated changes must carry the session's CSRF
//! token in `X-CSRF-Token`. Authorisation itself is kyso-app's, per use case.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use kyso_app::sessions::Session;
use kyso_app::{Actor, AppError};

use crate::AppState;
use crate::error::ApiError;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "kyso_session";
/// The cookie carrying the session's CSRF token for the server-rendered pages.
pub(crate) const CSRF_COOKIE: &str = "kyso_csrf";
/// The header carrying the CSRF token.
const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// An authenticated caller.
#[derive(Debug)]
pub(crate) struct Caller {
    /// Who, for kyso-app.
    pub(crate) actor: Actor,
    /// The web session, when authenticated by cookie.
    pub(crate) session: Option<Session>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "bad_authorization",
                        "tiêu đề Authorization phải là \"Bearer <mã truy cập>\"",
                        "the Authorization header must be \"Bearer <token>\"",
                    )
                })?;
            let actor = state.app.token_client(token).await?;
            return Ok(Caller {
                actor,
                session: None,
            });
        }
        let token = cookie(parts, SESSION_COOKIE).ok_or_else(AppError::unauthenticated)?;
        let session = state.app.session(token).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            session.check_csrf(given)?;
        }
        Ok(Caller {
            actor: session.actor.clone(),
            session: Some(session),
        })
    }
}
