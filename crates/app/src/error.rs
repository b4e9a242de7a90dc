//! One error type for every use case. Each error carries a stable `code`, a Vietnamese
//! and an English message, and a [`Kind`] that the CLI maps to an exit code and the
//! server to an HTTP status — so both front ends say the same thing about the same
//! failure.

use std::fmt;

use serde::Serialize;

/// What kind of failure, for the front end's mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The request is malformed or inconsistent (400 / exit 2).
    Invalid,
    /// Nobody is signed in, or the credentials are wrong (401 / exit 3).
    Unauthenticated,
    /// Signed in, but not allowed; or refused by policy (403 / exit 3).
    Forbidden,
    /// The thing asked for does not exist (404 / exit 2).
    NotFound,
    /// The state does not allow it (a number taken, a step out of order) (409 / exit 1).
    Conflict,
    /// Too large (413 / exit 2).
    TooLarge,
    /// Too many attempts: wait (429 / exit 3).
    TooMany,
    /// The database or another dependency is unavailable (503 / exit 2).
    Unavailable,
    /// A bug or an unexpected I/O failure (500 / exit 2).
    Internal,
}

impl Kind {
    /// The HTTP status the server answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Kind::Invalid => 400,
            Kind::Unauthenticated => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::Conflict => 409,
            Kind::TooLarge => 413,
            Kind::TooMany => 429,
            Kind::Unavailable => 503,
            Kind::Internal => 500,
        }
    }

    /// The exit code of the `kyso` command (1 = done but refused/not valid, 2 = could
    /// not run, 3 = not allowed).
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Conflict => 1,
            Kind::Unauthenticated | Kind::Forbidden | Kind::TooMany => 3,
            Kind::Invalid
            | Kind::NotFound
            | Kind::TooLarge
            | Kind::Unavailable
            | Kind::Internal => 2,
        }
    }
}

/// A use case's failure: `{code, vi, en}` as the API's JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppError {
    /// For the mapping to exit codes and HTTP statuses (not serialised).
    #[serde(skip)]
    pub kind: Kind,
    /// Stable machine key (`not_found`, `missing_role`, `secret_document`…).
    pub code: String,
    /// Vietnamese message, for agency staff.
    pub vi: String,
    /// English message.
    pub en: String,
}

impl AppError {
    /// An error of `kind`.
    pub fn new(
        kind: Kind,
        code: impl Into<String>,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code: code.into(),
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// A malformed request.
    pub fn invalid(code: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, vi, en)
    }

    /// Something that does not exist.
    pub fn not_found(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, "not_found", vi, en)
    }

    /// Not signed in.
    pub fn unauthenticated() -> Self {
        Self::new(
            Kind::Unauthenticated,
            "unauthenticated",
            "cần đăng nhập",
            "sign in first",
        )
    }

    /// An internal failure; the detail goes to the English text (and the server log),
    /// never a secret.
    pub fn internal(what: impl fmt::Display) -> Self {
        Self::new(
            Kind::Internal,
            "internal",
            "lỗi hệ thống (chi tiết trong nhật ký máy chủ)",
            format!("internal error: {what}"),
        )
    }

    /// The exit code for the CLI.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// The HTTP status for the server.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.vi, self.en)
    }
}

impl std::error::Error for AppError {}

impl From<kyso_office::Refusal> for AppError {
    fn from(r: kyso_office::Refusal) -> Self {
        Self::new(Kind::Forbidden, r.code, r.vi, r.en)
    }
}

impl From<kyso_office::StoreError> for AppError {
    fn from(e: kyso_office::StoreError) -> Self {
        use kyso_office::StoreError as S;
        match e {
            S::NotFound(what) => Self::not_found(
                format!("không tìm thấy {what}"),
                format!("not found: {what}"),
            ),
            S::Conflict(what) => Self::new(
                Kind::Conflict,
                "conflict",
                format!("xung đột dữ liệu: {what}"),
                format!("conflict: {what}"),
            ),
            changed @ S::StateChanged { .. } => Self::new(
                Kind::Conflict,
                "changed_concurrently",
                format!("văn bản vừa được người khác thay đổi, hãy tải lại: {changed}"),
                format!("changed concurrently, reload: {changed}"),
            ),
            other => Self::new(
                Kind::Unavailable,
                "store",
                "không truy cập được cơ sở dữ liệu hoặc kho lưu trữ",
                format!("the database or the archive is unavailable: {other}"),
            ),
        }
    }
}

impl From<kyso_office::OfficeError> for AppError {
    fn from(e: kyso_office::OfficeError) -> Self {
        use kyso_office::OfficeError as O;
        match e {
            O::Refused(r) => r.into(),
            O::Store(s) => s.into(),
            O::InvalidTransition { .. } => {
                let text = e.to_string();
                let (vi, en) = split_bilingual(&text);
                Self::new(Kind::Conflict, "invalid_transition", vi, en)
            }
            other => {
                let text = other.to_string();
                let (vi, en) = split_bilingual(&text);
                Self::new(Kind::Invalid, "invalid", vi, en)
            }
        }
    }
}

/// `"vi text / en text"` → both halves (or the whole text twice).
pub(crate) fn split_bilingual(text: &str) -> (String, String) {
    match text.split_once(" / ") {
        Some((vi, en)) => (vi.to_string(), en.to_string()),
        None => (text.to_string(), text.to_string()),
    }
}

/// Shorthand for use-case results.
pub type AppResult<T> = Result<T, AppError>;
