//! The one-time setup link: a new installation has no administrator and no default
//! password; `kyso serve` prints `/setup?token=…` once, and whoever opens it on the
//! server's console creates the first administrator (and names the agency). The token
//! lives only in the process and dies with its first use.

use std::sync::Mutex;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::AppState;

/// The pending setup token.
#[derive(Debug)]
pub(crate) struct SetupLink {
    token: Mutex<Option<Zeroizing<String>>>,
}

/// A new random token.
pub(crate) fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

impl SetupLink {
    /// A link with `token` pending (or none).
    pub(crate) fn new(token: Option<String>) -> Self {
        Self {
            token: Mutex::new(token.map(Zeroizing::new)),
        }
    }

    /// Whether setup is still pending.
    pub(crate) fn pending(&self) -> bool {
        self.token.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Whether `given` is the pending token (constant time).
    pub(crate) fn matches(&self, given: &str) -> bool {
        let Ok(guard) = self.token.lock() else {
            return false;
        };
        let Some(token) = guard.as_ref() else {
            return false;
        };
        token.len() == given.len()
            && token
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The token was used.
    pub(crate) fn used(&self) {
        if let Ok(mut guard) = self.token.lock() {
            *guard = None;
        }
    }
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>kyso — cài đặt</title>\
         <style>body{{font-family:sans-serif;max-width:36em;margin:2em auto}}label{{display:block;margin:.6em 0}}input{{width:100%}}</style>\
         </head><body>{body}</body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `?token=…`
#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The setup form.
pub(crate) async fn page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    if !state.setup.matches(&q.token) {
        return html(
            StatusCode::FORBIDDEN,
            "<h1>Liên kết cài đặt không hợp lệ</h1><p>Liên kết sai hoặc đã được dùng. Khởi động lại <code>kyso serve</code> trên máy chủ nếu hệ thống chưa có quản trị viên.</p>",
        );
    }
    html(
        StatusCode::OK,
        &format!(
            "<h1>Cài đặt kyso</h1><p>Tạo tài khoản quản trị viên đầu tiên và khai báo cơ quan.</p>\
             <form method=\"post\" action=\"/setup\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <label>Mã định danh cơ quan <input name=\"agency_id\" required placeholder=\"000.00.00.H13\"></label>\
             <label>Tên cơ quan <input name=\"agency_name\" required placeholder=\"Ủy ban nhân dân thành phố Cần Thơ\"></label>\
             <label>Tên đăng nhập <input name=\"name\" required pattern=\"[a-z0-9][a-z0-9._-]*\"></label>\
             <label>Họ và tên <input name=\"full_name\" required></label>\
             <label>Mật khẩu (ít nhất 12 ký tự) <input name=\"password\" type=\"password\" required minlength=\"12\"></label>\
             <button type=\"submit\">Tạo quản trị viên</button></form>",
            escape(&q.token)
        ),
    )
}

/// The setup form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct SetupForm {
    token: String,
    agency_id: String,
    agency_name: String,
    name: String,
    full_name: String,
    password: String,
}

/// Creates the first administrator from the form.
pub(crate) async fn submit(State(state): State<AppState>, Form(form): Form<SetupForm>) -> Response {
    let password = Zeroizing::new(form.password);
    if !state.setup.matches(&form.token) {
        return html(
            StatusCode::FORBIDDEN,
            "<h1>Liên kết cài đặt không hợp lệ</h1><p>Liên kết sai hoặc đã được dùng.</p>",
        );
    }
    let agency = match kyso_model::AgencyId::parse_with(
        form.agency_id.trim(),
        kyso_model::AgencyIdFormat::Lenient,
    ) {
        Ok(a) => a,
        Err(e) => {
            return html(
                StatusCode::BAD_REQUEST,
                &format!(
                    "<h1>Mã định danh không hợp lệ</h1><p>{}</p><p><a href=\"/setup?token={}\">Quay lại</a></p>",
                    escape(&e.to_string()),
                    escape(&form.token)
                ),
            );
        }
    };
    match state
        .app
        .create_first_administrator(
            &agency,
            &form.agency_name,
            &form.name,
            &form.full_name,
            password,
        )
        .await
    {
        Ok(user) => {
            state.setup.used();
            html(
                StatusCode::CREATED,
                &format!(
                    "<h1>Đã tạo quản trị viên</h1><p>{} ({}) là quản trị viên của {}. Liên kết cài đặt không còn dùng được.</p>",
                    escape(&user.full_name),
                    escape(&user.name),
                    escape(form.agency_name.trim())
                ),
            )
        }
        Err(e) => html(
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            &format!(
                "<h1>Chưa tạo được quản trị viên</h1><p>{}</p><p><a href=\"/setup?token={}\">Quay lại</a></p>",
                escape(&e.vi),
                escape(&form.token)
            ),
        ),
    }
}
