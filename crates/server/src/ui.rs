//! The staff's web pages, in Vietnamese: login, "việc của tôi", outgoing and incoming
//! documents, the document page, registers, the archive tree, search, signing devices,
//! the audit log and administration.
//!
//! Pages are rendered on the server (askama templates in `crates/server/templates/ui`,
//! compiled into the binary, escaped by default). Every page reads through kyso-app's
//! use cases, which authorise the actor, so a page a role may not see answers 403 on its
//! direct URL as the API does; the menu and each page's forms show only what
//! [`kyso_app::authorize`] allows (the same one decision). Changes are made by the
//! forms of the pages through the JSON API under `/api/v1` (`static/ui.js` sends them
//! with the session's CSRF token and shows the Vietnamese error): there is one handler
//! per use case, the API's. Only signing in and out are forms of their own here.
//!
//! Dates are dd/mm/yyyy, times hh:mm:ss (+07:00); lists of people, agencies and devices
//! are in Vietnamese alphabetical order ([`kyso_model::sort_vietnamese`]).

mod admin;
mod documents;
mod office;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kyso_app::sessions::Session;
use kyso_app::{Actor, AppError};
use kyso_office::Action;
use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{CSRF_COOKIE, SESSION_COOKIE, cookie};

/// The staff pages' routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(documents::dashboard))
        .route("/dang-nhap", get(login_page).post(login_submit))
        .route("/dang-xuat", post(logout))
        .route("/van-ban-di", get(documents::outgoing))
        .route("/van-ban-den", get(documents::incoming))
        .route("/van-ban/{id}", get(documents::document))
        .route("/so-van-ban", get(office::registers))
        .route("/luu-tru", get(office::archive))
        .route("/tim-kiem", get(office::search))
        .route("/thiet-bi", get(admin::devices))
        .route("/nhat-ky", get(admin::audit))
        .route("/quan-tri", get(admin::administration))
}

/// The pages' policy: their scripts and pdf.js from this server; WebSockets to
/// `kyso agent` on the person's own PC.
fn csp(agent_port: u16) -> String {
    format!(
        "default-src 'none'; script-src 'self'; worker-src 'self'; \
         connect-src 'self' wss://127.0.0.1:{agent_port}; img-src 'self' blob: data:; \
         font-src 'self' blob: data:; style-src 'unsafe-inline'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A rendered page with the pages' headers.
pub(crate) fn render(state: &AppState, status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&csp(state.config.agent_port)) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("template: {e}"),
        )
            .into_response(),
    }
}

// ----------------------------------------------------------------------------------
// Who is signed in
// ----------------------------------------------------------------------------------

/// A person signed in by the session cookie; without one, the page answers with the
/// login page's address (and comes back after).
pub(crate) struct Staff {
    pub(crate) actor: Actor,
    pub(crate) session: Session,
    /// The page's path, for the menu.
    pub(crate) path: String,
    /// The session's CSRF token (from its cookie), for the page's forms.
    pub(crate) csrf: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = parts.uri.path().to_string();
        let back = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let to_login = || {
            let next: String = form_urlencode(&back);
            Redirect::to(&format!("/dang-nhap?tiep={next}")).into_response()
        };
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let csrf = cookie(parts, CSRF_COOKIE).unwrap_or("").to_string();
        match state.app.session(token).await {
            Ok(session) => Ok(Staff {
                actor: session.actor.clone(),
                session,
                path,
                csrf,
            }),
            Err(_) => Err(to_login()),
        }
    }
}

/// `text` as one form value (`application/x-www-form-urlencoded`).
pub(crate) fn form_urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Where to go after signing in: a path of this site only.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

/// One item of the menu.
pub(crate) struct NavItem {
    pub(crate) href: &'static str,
    pub(crate) label: &'static str,
    pub(crate) current: bool,
}

/// What every signed-in page shows around its content.
pub(crate) struct Chrome {
    pub(crate) full_name: String,
    pub(crate) roles: String,
    pub(crate) agency: String,
    pub(crate) csrf: String,
    pub(crate) nav: Vec<NavItem>,
    pub(crate) agent_port: u16,
}

/// `true` when the actor may do `action` (the same decision the use case makes).
pub(crate) fn may(actor: &Actor, action: Action<'_>) -> bool {
    kyso_app::authorize(actor, action).is_ok()
}

impl Chrome {
    pub(crate) async fn of(state: &AppState, staff: &Staff) -> Chrome {
        let actor = &staff.actor;
        let items: [(&'static str, &'static str, bool); 9] = [
            ("/", "Việc của tôi", true),
            (
                "/van-ban-di",
                "Văn bản đi",
                may(actor, Action::ViewDocuments),
            ),
            (
                "/van-ban-den",
                "Văn bản đến",
                may(actor, Action::ViewDocuments),
            ),
            (
                "/so-van-ban",
                "Sổ văn bản",
                may(actor, Action::ViewDocuments),
            ),
            ("/luu-tru", "Lưu trữ", may(actor, Action::ViewDocuments)),
            ("/tim-kiem", "Tìm kiếm", may(actor, Action::ViewDocuments)),
            ("/thiet-bi", "Thiết bị ký số", true),
            ("/nhat-ky", "Nhật ký", may(actor, Action::ViewAudit)),
            ("/quan-tri", "Quản trị", may(actor, Action::ManageUsers)),
        ];
        let nav = items
            .into_iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(href, label, _)| NavItem {
                href,
                label,
                current: if href == "/" {
                    staff.path == "/"
                } else {
                    staff.path.starts_with(href)
                },
            })
            .collect();
        let (full_name, roles) = match actor.user() {
            Some(u) => (
                u.full_name.clone(),
                u.roles
                    .iter()
                    .map(|r| r.vietnamese())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => (actor.audit_name(), String::new()),
        };
        let agency = state
            .app
            .agency_name(actor.agency())
            .await
            .unwrap_or_else(|_| actor.agency().to_string());
        Chrome {
            full_name,
            roles,
            agency,
            csrf: staff.csrf.clone(),
            nav,
            agent_port: state.config.agent_port,
        }
    }
}

// ----------------------------------------------------------------------------------
// Errors as pages
// ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

/// The same, inside the signed-in pages' frame (menu, sign-out).
#[derive(Template)]
#[template(path = "ui/refused.html")]
struct RefusedPage {
    chrome: Chrome,
    title: &'static str,
    message: String,
}

/// A use case's refusal or failure as a page, with its HTTP status (403 for a role
/// that may not, 404 for what is not there or not this agency's).
pub(crate) async fn error_page(state: &AppState, staff: Option<&Staff>, e: AppError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match status.as_u16() {
        403 => "Không có quyền truy cập",
        404 => "Không tìm thấy",
        400 | 409 | 422 => "Không thực hiện được",
        _ => "Có lỗi xảy ra",
    };
    match staff {
        Some(s) => {
            let chrome = Chrome::of(state, s).await;
            render(
                state,
                status,
                &RefusedPage {
                    chrome,
                    title,
                    message: e.vi,
                },
            )
        }
        None => render(
            state,
            status,
            &ErrorPage {
                title,
                message: e.vi,
            },
        ),
    }
}

/// Renders `page` or the error page.
pub(crate) async fn page_or_error<T: Template>(
    state: &AppState,
    staff: &Staff,
    page: Result<T, AppError>,
) -> Response {
    match page {
        Ok(p) => render(state, StatusCode::OK, &p),
        Err(e) => error_page(state, Some(staff), e).await,
    }
}

// ----------------------------------------------------------------------------------
// Formatting shared by the pages
// ----------------------------------------------------------------------------------

/// `dd/mm/yyyy hh:mm:ss (+07:00)`.
pub(crate) fn when(t: OffsetDateTime) -> String {
    kyso_app::vietnam_date_time(t)
}

/// `dd/mm/yyyy`.
pub(crate) fn day(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

// ----------------------------------------------------------------------------------
// Signing in and out
// ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    next: String,
    user: String,
    agency: String,
    error: Option<String>,
    setup_pending: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextParams {
    tiep: Option<String>,
}

/// `GET /dang-nhap`.
async fn login_page(State(state): State<AppState>, Query(p): Query<NextParams>) -> Response {
    render(
        &state,
        StatusCode::OK,
        &LoginPage {
            next: safe_next(p.tiep.as_deref()),
            user: String::new(),
            agency: String::new(),
            error: None,
            setup_pending: state.setup.pending(),
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    ten_dang_nhap: String,
    mat_khau: String,
    #[serde(default)]
    co_quan: String,
    #[serde(default)]
    tiep: String,
}

/// A form posted from another site is refused (login CSRF). Browsers say where a
/// request comes from in `Sec-Fetch-Site` (`same-origin`; `none` when the person typed
/// it); older ones only in `Origin`, which must then be this host (`null` — what a
/// page under `Referrer-Policy: no-referrer` sends — says nothing and is let through
/// only when there is no `Sec-Fetch-Site`; the session cookie is SameSite=Strict anyway).
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text("origin").filter(|o| *o != "null") else {
        return true;
    };
    let host = text("host").unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn foreign_origin() -> AppError {
    AppError::new(
        kyso_app::Kind::Forbidden,
        "foreign_origin",
        "biểu mẫu được gửi từ một trang web khác",
        "the form was posted from another site",
    )
}

/// `POST /dang-nhap`: a password login; the session cookie, then the page asked for.
async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    axum::Form(mut form): axum::Form<LoginForm>,
) -> Response {
    // The password leaves the form at once, to be wiped after the check.
    let password = Zeroizing::new(std::mem::take(&mut form.mat_khau));
    let next = safe_next(Some(&form.tiep));
    let again = |e: AppError, form: &LoginForm| {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        render(
            &state,
            status,
            &LoginPage {
                next: next.clone(),
                user: form.ten_dang_nhap.clone(),
                agency: form.co_quan.clone(),
                error: Some(e.vi),
                setup_pending: state.setup.pending(),
            },
        )
    };
    if !same_origin(&headers) {
        return again(foreign_origin(), &form);
    }
    let agency = match form.co_quan.trim() {
        "" => None,
        text => match text.parse::<kyso_model::AgencyId>() {
            Ok(a) => Some(a),
            Err(e) => {
                return again(
                    AppError::invalid(
                        "bad_agency",
                        format!("mã định danh cơ quan không hợp lệ: {e}"),
                        format!("invalid agency id: {e}"),
                    ),
                    &form,
                );
            }
        },
    };
    let addr = peer.ip().to_string();
    let user = match state
        .app
        .login_password(
            agency.as_ref(),
            form.ten_dang_nhap.trim(),
            password,
            Some(&addr),
        )
        .await
    {
        Ok(user) => user,
        Err(e) => return again(e, &form),
    };
    match crate::routes::session_cookie(&state, user).await {
        Ok((cookies, _)) => {
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, cookies.session);
            h.append(header::SET_COOKIE, cookies.csrf);
            response
        }
        Err(e) => again(e, &form),
    }
}

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dang-xuat`: ends the session (the form carries its CSRF token).
async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LogoutForm>,
) -> Response {
    if !same_origin(&headers) {
        return error_page(&state, Some(&staff), foreign_origin()).await;
    }
    if let Err(e) = staff.session.check_csrf(Some(&form.csrf)) {
        return error_page(&state, Some(&staff), e).await;
    }
    if let Err(e) = state.app.logout(&staff.session).await {
        return error_page(&state, Some(&staff), e).await;
    }
    let mut response = Redirect::to("/dang-nhap").into_response();
    let h = response.headers_mut();
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        )) {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_after_login() {
        assert_eq!(safe_next(Some("/van-ban/3")), "/van-ban/3");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(form_urlencode("/tim-kiem?q=a b"), "%2Ftim-kiem%3Fq%3Da+b");
    }

    #[test]
    fn origin_must_be_this_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
    }
}
