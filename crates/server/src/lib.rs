//! `kyso serve`: the HTTP front end of kyso-app.
//!
//! [`router`] builds the axum application over an [`AppState`]; [`run`] opens the
//! installation, binds, prints where it listens (and the one-time setup link of a new
//! installation) and serves until SIGINT/SIGTERM, finishing requests in flight.
//!
//! Every route is a thin handler over one kyso-app use case (`routes.rs`); authorisation
//! is the use case's. Layers here: body limits (per route), security headers, JSON errors
//! for every rejection, metrics, request logs.

mod audit;
mod auth;
mod codec;
mod custody;
mod error;
mod exchange;
mod metrics;
mod nodes;
mod outgoing;
mod records;
mod routes;
mod setup;
mod ui;
mod upload;
mod web;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use kyso_app::{App, AppError, Kind};
use serde::Deserialize;
use utoipa::OpenApi;

pub use error::{ApiError, ErrorBody};
pub use routes::ApiDoc;

/// The trust anchors loaded once at start, with how many are the installation's own.
pub type Anchors = (Arc<kyso_app::verify::TrustAnchors>, usize);

/// Settings of `kyso serve` (flags, or a TOML file with the same keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory (empty in a configuration file: the command's default).
    pub data: PathBuf,
    /// PostgreSQL URL; default SQLite in the data directory.
    pub database_url: Option<String>,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Largest upload of a document (bytes).
    pub upload_limit: u64,
    /// Largest file for public verification (bytes).
    pub verify_limit: u64,
    /// Public verifications per minute per client address (0: no limit).
    pub verify_rate_per_minute: u32,
    /// Verifications running at once (default: the number of CPUs).
    pub verify_concurrency: usize,
    /// The PKCS#11 module (the token vendor's library) of the agency devices attached
    /// to this machine, for the seal signature made on the server; none: devices sign
    /// only at the clerk's desk (two-step signing).
    pub pkcs11_module: Option<PathBuf>,
    /// Where other kyso nodes deliver packages and statuses (HTTPS, client
    /// certificate required); with it the outbox worker delivers this node's. Needs
    /// `exchange_cert`, `exchange_key` and `exchange_ca`.
    pub exchange_listen: Option<SocketAddr>,
    /// This node's certificate chain (PEM, TLS profile: server and client
    /// authentication), for both directions.
    pub exchange_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub exchange_key: Option<PathBuf>,
    /// The CA certificates (PEM) that issue node certificates: other nodes' client and
    /// server certificates are verified against these only.
    pub exchange_ca: Option<PathBuf>,
    /// Hub mode: packages and statuses for agencies this node does not host, but whose
    /// node its directory knows, are passed on (store and forward), as the national
    /// document axis does; the receiver checks the origin node's signature, so the hub
    /// cannot alter them.
    pub exchange_relay: bool,
    /// CRLs of the node CA (PEM or DER file): the exchange listener refuses a node
    /// whose certificate is revoked, at the handshake. Read at start.
    pub exchange_crl: Option<PathBuf>,
    /// The time-stamp authority (RFC 3161 over HTTP) that seals archived originals
    /// with evidence records (docs/evidence.md): at start, then every
    /// `evidence_every_hours`; none: no sealing by the server.
    pub evidence_tsa: Option<String>,
    /// Hours between two sealings (default 24, at least 1).
    pub evidence_every_hours: u64,
    /// Each sealing run also renews by time-stamp the records whose last TSA
    /// certificate expires within this many days (default
    /// [`kyso_app::evidence::RENEW_BEFORE_DAYS`]).
    pub evidence_renew_before_days: i64,
    /// The port of `kyso agent` on the staff's PCs: the web pages sign with a token
    /// through wss://127.0.0.1:PORT (default 8987, the VGCA Sign Service's port).
    pub agent_port: u16,
    /// Set from `tls_cert`: cookies get `Secure`, responses HSTS.
    #[serde(skip)]
    pub tls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::new(),
            database_url: None,
            tls_cert: None,
            tls_key: None,
            upload_limit: 200 * 1024 * 1024,
            verify_limit: 50 * 1024 * 1024,
            verify_rate_per_minute: 600,
            verify_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            pkcs11_module: None,
            exchange_listen: None,
            exchange_cert: None,
            exchange_key: None,
            exchange_ca: None,
            exchange_relay: false,
            exchange_crl: None,
            evidence_tsa: None,
            evidence_every_hours: 24,
            evidence_renew_before_days: kyso_app::evidence::RENEW_BEFORE_DAYS,
            agent_port: 8987,
            tls: false,
        }
    }
}

impl Config {
    /// Reads a TOML configuration file (unknown keys are an error).
    pub fn from_toml(text: &str) -> Result<Self, AppError> {
        toml::from_str(text).map_err(|e| {
            AppError::invalid(
                "bad_config",
                format!("tệp cấu hình không hợp lệ: {e}"),
                format!("invalid configuration file: {e}"),
            )
        })
    }
}

/// Per-address rate limit of public verification (a fixed one-minute window).
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip`; refuses past the limit.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut seen = self.seen.lock().map_err(AppError::internal)?;
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.per_minute {
            return Err(ApiError(AppError::new(
                Kind::TooMany,
                "rate_limited",
                format!(
                    "quá nhiều yêu cầu kiểm tra từ địa chỉ này (tối đa {} mỗi phút)",
                    self.per_minute
                ),
                format!(
                    "too many verifications from this address (at most {} a minute)",
                    self.per_minute
                ),
            )));
        }
        Ok(())
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// Settings.
    pub config: Arc<Config>,
    /// Trust anchors for public verification, loaded at start.
    pub anchors: Anchors,
    /// Bounds verifications running at once.
    pub verify_slots: Arc<tokio::sync::Semaphore>,
    /// Per-address limit of public verification.
    pub(crate) verify_rate: Arc<RateLimit>,
    /// Counters for `/metrics`.
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// The one-time setup link of a new installation.
    pub(crate) setup: Arc<setup::SetupLink>,
    /// Certificate-login challenges waiting for their signature.
    pub(crate) challenges: Arc<custody::Challenges>,
}

impl AppState {
    /// The state of a server over `app`; `setup_token` when the installation needs its
    /// first administrator.
    pub fn new(app: App, config: Config, setup_token: Option<String>) -> Result<Self, AppError> {
        let anchors = kyso_app::verify::installation_anchors(app.data())?;
        Ok(Self {
            verify_slots: Arc::new(tokio::sync::Semaphore::new(
                config.verify_concurrency.max(1),
            )),
            verify_rate: Arc::new(RateLimit::new(config.verify_rate_per_minute)),
            app,
            config: Arc::new(config),
            anchors: (Arc::new(anchors.0), anchors.1),
            metrics: Arc::new(metrics::Metrics::default()),
            setup: Arc::new(setup::SetupLink::new(setup_token)),
            challenges: Arc::new(custody::Challenges::default()),
        })
    }
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(exchange::ExchangeDoc::openapi());
    doc
}

/// The application's routes over `state`.
pub fn router(state: AppState) -> Router {
    let margin = 64 * 1024;
    let upload = usize::try_from(state.config.upload_limit + margin).unwrap_or(usize::MAX);
    let verify = usize::try_from(state.config.verify_limit + margin).unwrap_or(usize::MAX);
    let api = Router::new()
        .route(
            "/verify",
            post(routes::verify).layer(DefaultBodyLimit::max(verify)),
        )
        .route("/setup", post(routes::setup))
        .route("/sessions", post(routes::login))
        .route("/sessions/current", delete(routes::logout))
        .route("/sessions/challenge", post(custody::challenge))
        .route("/sessions/certificate", post(custody::certificate_login))
        .route("/users", get(custody::users).post(custody::add_user))
        .route("/users/{name}", patch(custody::change_user))
        .route("/devices", get(custody::devices))
        .route("/devices/{serial}", get(custody::device))
        .route(
            "/handovers",
            get(custody::handovers).post(custody::request_handover),
        )
        .route("/handovers/{id}/decision", post(custody::decide_handover))
        .route("/handovers/{id}/acceptance", post(custody::accept_handover))
        .route(
            "/handovers/{id}/minutes/signing-sessions",
            post(custody::start_minutes_signing).layer(DefaultBodyLimit::max(4 << 20)),
        )
        .route(
            "/handovers/{id}/minutes/signature",
            post(custody::finish_minutes_signing),
        )
        .route("/handovers/{id}/minutes/seal", post(custody::seal_minutes))
        .route("/handovers/{id}/minutes", get(custody::minutes))
        .route("/me", get(routes::me))
        .route(
            "/documents",
            get(routes::list_documents)
                .post(routes::file_document)
                .layer(DefaultBodyLimit::max(upload)),
        )
        .route("/documents/{id}", get(routes::show_document))
        .route(
            "/drafts",
            post(outgoing::create_draft).layer(DefaultBodyLimit::max(upload)),
        )
        .route("/documents/{id}/original", get(routes::original))
        .route("/documents/{id}/evidence", get(routes::evidence))
        .route("/documents/{id}/steps", post(routes::advance))
        .route(
            "/documents/{id}/signing-sessions",
            post(outgoing::start_signing).layer(DefaultBodyLimit::max(4 << 20)),
        )
        .route("/documents/{id}/signature", post(outgoing::finish_signing))
        .route("/documents/{id}/seal", post(outgoing::seal))
        .route("/registers/numbers", post(routes::take_number))
        .route("/registers/{register}", get(records::register))
        .route("/files", get(records::files).post(records::open_file))
        .route("/files/{code}/documents", post(records::add_to_file))
        .route("/files/{code}/export", get(records::export_file))
        .route("/audit", get(audit::entries))
        .route("/audit/verify", get(audit::verify))
        .route("/archive", get(routes::archive_tree))
        .route("/search", get(routes::search))
        .route("/policy", get(routes::get_policy).put(routes::set_policy))
        .route("/tokens", post(routes::create_token))
        .route("/tokens/{name}", delete(routes::revoke_token))
        .route("/openapi.json", get(openapi_json))
        .merge(exchange::routes());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/setup", get(setup::page).post(setup::submit))
        .route(
            "/xac-minh",
            get(web::verify_page)
                .post(web::verify_submit)
                .layer(DefaultBodyLimit::max(verify)),
        )
        .route("/static/{*file}", get(web::asset))
        .merge(ui::routes())
        .nest("/api/v1", api)
        .fallback(not_found)
        // JSON bodies and forms elsewhere: 1 MiB.
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(middleware::from_fn_with_state(state.clone(), frame))
        .with_state(state)
}

async fn openapi_json() -> Response {
    let doc = openapi();
    match doc.to_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => ApiError(AppError::internal(e)).into_response(),
    }
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.app.ready().await?;
    Ok("ready")
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError(AppError::not_found("không có địa chỉ này", "no such route"))
}

/// Around every request: metrics, security headers, and every error answered as JSON
/// `{code, vi, en}` (axum's own rejections — wrong content type, malformed JSON or
/// multipart, a path parameter that is not a number, a method not allowed, a body over
/// the limit — are plain text; they are rewritten here).
async fn frame(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    state.metrics.start();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    // A page's error is a page (in Vietnamese), the API's is JSON; axum's plain-text
    // rejections become JSON.
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let text = match axum::body::to_bytes(
            std::mem::replace(response.body_mut(), Body::empty()),
            64 * 1024,
        )
        .await
        {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => String::new(),
        };
        response = rejection(status, &text);
    }
    let headers = response.headers_mut();
    if response_status_closes(status) {
        // The body was not read to its end: this connection cannot carry another
        // request, and clients must not pool it.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A page that runs a script of its own (the verification page) sets its own policy.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if state.config.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    state
        .metrics
        .end(&method, &route, response.status().as_u16());
    tracing::info!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

fn response_status_closes(status: StatusCode) -> bool {
    status == StatusCode::PAYLOAD_TOO_LARGE
}

/// A plain-text rejection as a JSON error.
fn rejection(status: StatusCode, text: &str) -> Response {
    let (code, vi) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "dữ liệu gửi lên quá lớn"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "phương thức không được hỗ trợ ở địa chỉ này",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "kiểu nội dung không đúng (Content-Type)",
        ),
        StatusCode::NOT_FOUND => ("not_found", "không tìm thấy"),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("bad_request", "yêu cầu không hợp lệ")
        }
        s if s.is_server_error() => ("internal", "lỗi hệ thống"),
        _ => ("bad_request", "yêu cầu không hợp lệ"),
    };
    // Unprocessable JSON (a missing field, a wrong type) is a bad request for clients.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let en = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().chars().take(500).collect()
    };
    let body = ErrorBody {
        code: code.to_string(),
        vi: vi.to_string(),
        en,
    };
    (status, axum::Json(body)).into_response()
}

/// Structured logs on stderr (`RUST_LOG` filters; default `info` for kyso, `warn` else).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kyso_server=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// What `run` tells its caller once it listens.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The base URL.
    pub url: String,
    /// The one-time setup link, when the installation has no administrator yet.
    pub setup_link: Option<String>,
    /// The URL other nodes deliver to (`--exchange-listen`).
    pub exchange_url: Option<String>,
}

/// Opens the installation, listens, calls `on_listening` and serves until SIGINT or
/// SIGTERM (requests in flight finish).
pub async fn run(config: Config, on_listening: impl FnOnce(&Listening)) -> Result<(), AppError> {
    let mut config = config;
    config.tls = config.tls_cert.is_some();
    if config.tls_cert.is_some() != config.tls_key.is_some() {
        return Err(AppError::invalid(
            "tls_config",
            "cần cả --tls-cert và --tls-key",
            "give both --tls-cert and --tls-key",
        ));
    }
    let exchange = match (
        config.exchange_listen,
        &config.exchange_cert,
        &config.exchange_key,
        &config.exchange_ca,
    ) {
        (None, None, None, None) => None,
        (Some(listen), Some(cert), Some(key), Some(ca)) => Some(nodes::ExchangeTls {
            listen,
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
            relay: config.exchange_relay,
            crl: config.exchange_crl.clone(),
        }),
        _ => {
            return Err(AppError::invalid(
                "exchange_config",
                "cần đủ --exchange-listen, --exchange-cert, --exchange-key và --exchange-ca",
                "give all of --exchange-listen, --exchange-cert, --exchange-key and --exchange-ca",
            ));
        }
    };
    let app = App::open(&config.data, config.database_url.as_deref())
        .await?
        .with_pkcs11_module(config.pkcs11_module.clone());
    // URLs inside uploaded material never make the node read other files of the machine;
    // CRLs fetched over HTTP are kept until their next update (at most 10 minutes).
    let app = {
        let cached = Arc::new(kyso_app::ports::CrlCache::new(app.fetcher_arc()));
        let confined = kyso_app::ports::Confined::new(cached, &config.data);
        app.with_fetcher(Arc::new(confined))
    };
    clear_staging(&config.data);
    // The search index is written in batches by a background task (and what is still
    // queued when the server stops, below).
    app.index_in_background();
    let flush = app.clone();
    // Statuses a crash lost between a step and its status, in the background.
    {
        let app = app.clone();
        tokio::spawn(async move {
            match app.recover_statuses().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!("exchange: {n} statuses recovered after a crash"),
                Err(e) => tracing::error!("exchange: recovering statuses: {}", e.en),
            }
        });
    }
    // Evidence records: the originals waiting for theirs sealed at start, then
    // periodically (one time-stamp per run; an interrupted run is repaired by the next),
    // and the records whose last TSA certificate expires soon renewed.
    if let Some(tsa) = config.evidence_tsa.clone() {
        let app = app.clone();
        let every = Duration::from_secs(config.evidence_every_hours.max(1) * 3600);
        let renew_before = time::Duration::days(config.evidence_renew_before_days.max(0));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match app.seal_evidence_scheduled(&tsa).await {
                    Ok(s) => {
                        for w in &s.warnings {
                            tracing::warn!("evidence: {w}");
                        }
                        if !s.sealed.is_empty() || !s.repaired.is_empty() {
                            tracing::info!(
                                "evidence: sealed {:?} (time-stamp {}), repaired {:?}",
                                s.sealed,
                                s.time.unwrap_or_default(),
                                s.repaired
                            );
                        }
                    }
                    Err(e) => tracing::error!("evidence: sealing failed: {}", e.en),
                }
                match app.renew_evidence_scheduled(&tsa, renew_before).await {
                    Ok(r) if !r.renewed.is_empty() => {
                        tracing::info!("evidence: renewed {:?} ({})", r.renewed, r.kind);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!("evidence: renewal failed: {}", e.en),
                }
            }
        });
    }
    let setup_token = if app.needs_setup().await? {
        Some(setup::new_token())
    } else {
        None
    };
    let exchange_handle = axum_server::Handle::new();
    // The node client also serves the API: an administrator pulls a hub's directory.
    let (app, exchange_url) = match &exchange {
        Some(tls) => {
            let (url, client) = nodes::start(&app, tls, exchange_handle.clone())?;
            (app.with_node_link(Arc::new(client)), Some(url))
        }
        None => (app, None),
    };
    let listening = |url: &str| Listening {
        url: url.to_string(),
        setup_link: setup_token
            .as_deref()
            .map(|t| format!("{url}/setup?token={t}")),
        exchange_url: exchange_url.clone(),
    };
    let state = AppState::new(app, config.clone(), setup_token.clone())?;
    let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let io = |what: &str, e: std::io::Error| {
        AppError::new(
            Kind::Unavailable,
            "listen",
            format!("không {what} {}: {e}", config.listen),
            format!("cannot {what} {}: {e}", config.listen),
        )
    };
    let served = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| {
                    AppError::invalid(
                        "tls_files",
                        format!("không đọc được chứng thư/khóa TLS: {e}"),
                        format!("cannot load the TLS certificate/key: {e}"),
                    )
                })?;
            let listener = std::net::TcpListener::bind(config.listen)
                .map_err(|e| io("lắng nghe được trên", e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| io("lắng nghe được trên", e))?;
            let url = format!("https://{addr}");
            on_listening(&listening(&url));
            let handle = axum_server::Handle::new();
            let shutdown = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                shutdown.graceful_shutdown(Some(Duration::from_secs(30)));
                exchange_handle.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            // TCP_NODELAY (small responses must not wait for delayed ACKs).
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .acceptor(axum_server::accept::NoDelayAcceptor::new());
            axum_server::from_tcp(listener)
                .map_err(|e| io("lắng nghe được trên", e))?
                .acceptor(acceptor)
                .handle(handle)
                .serve(service)
                .await
                .map_err(|e| io("phục vụ được trên", e))
        }
        _ => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| io("lắng nghe được trên", e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| io("lắng nghe được trên", e))?;
            let url = format!("http://{addr}");
            on_listening(&listening(&url));
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    shutdown_signal().await;
                    exchange_handle.graceful_shutdown(Some(Duration::from_secs(30)));
                })
                .await
                .map_err(|e| io("phục vụ được trên", e))
        }
    };
    let _ = tokio::task::spawn_blocking(move || flush.flush_index()).await;
    served
}

/// The prefix of a records-file export being written in `<data>/staging`.
pub(crate) const EXPORT_PREFIX: &str = ".export-";

/// Removes uploads a killed process left half-written in `<data>/staging` (they were
/// never acknowledged; an acknowledged document is in the archive, not here), and
/// records-file exports it was writing.
fn clear_staging(data: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(data.join("staging")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".upload-") {
            let _ = std::fs::remove_file(entry.path());
        } else if name.starts_with(EXPORT_PREFIX) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Serves `state` on an already bound plain-HTTP listener until `shutdown` completes
/// (tests and embedders; `run` is the command's entry point).
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
