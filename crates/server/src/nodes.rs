//! Delivery between nodes (`--exchange-listen`): the listener other kyso nodes deliver
//! packages and status messages to, over HTTPS with mutual TLS, and the outbox worker
//! that delivers this node's.
//!
//! - The listener requires a client certificate issued by the node CA
//!   (`--exchange-ca`): a client without one fails the TLS handshake. Its routes,
//!   `POST /exchange/v1/packages` (kyso's package format, body limit = the package
//!   limits) and `POST /exchange/v1/statuses` (a status message, canonical JSON), hand
//!   the bytes and the client certificate to one kyso-app use case each, which matches
//!   the certificate against the directory entry of the sending agency.
//!   `GET /exchange/v1/directory` answers this node's directory for other nodes (its
//!   agencies and, in hub mode, those it relays for: `kyso_app::directory`).
//! - `--exchange-crl` serves both directions: the listener refuses a revoked client
//!   certificate, and the node client (outbox, directory pull) a revoked server one.
//! - Four workers take due rows of the outbox (most urgent first; the rows of one
//!   delivery in order), POST them to the destination's node with this node's
//!   certificate (`--exchange-cert/--exchange-key`), and record the answer: done after a 2xx only; a refusal (400, 404, 413) for good;
//!   anything else retried with exponential backoff (1 s doubling, at most 10 minutes).
//!   A row claimed by a worker that dies is taken again when its lease ends, or at once
//!   when the worker starts again (every queued row is made due then).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use axum_server::tls::TlsInfo;
use kyso_app::exchange::{Attempt, OutboxJob};
use kyso_app::origin::{NodeIdentity, Origin};
use kyso_app::{App, AppError, Kind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::{ApiError, ApiResult};

/// Where the node listens for other nodes and the TLS material it uses both ways.
#[derive(Debug, Clone)]
pub(crate) struct ExchangeTls {
    pub(crate) listen: SocketAddr,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) ca: PathBuf,
    /// Hub mode (`--exchange-relay`).
    pub(crate) relay: bool,
    /// CRLs of the node CA (PEM or DER): a revoked node certificate fails the
    /// handshake of the exchange listener.
    pub(crate) crl: Option<PathBuf>,
}

fn tls_error(what: &str, path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::invalid(
        "exchange_tls",
        format!("không đọc được {what} {}: {e}", path.display()),
        format!("cannot load the {what} {}: {e}", path.display()),
    )
}

fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, AppError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(what, path, e))?;
    if certs.is_empty() {
        return Err(tls_error(what, path, "no certificate"));
    }
    Ok(certs)
}

/// The CRLs in `path`: PEM (`X509 CRL`, one or several) or one DER CRL.
fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, AppError> {
    let what = "danh sách thu hồi / CRL";
    let bytes = std::fs::read(path).map_err(|e| tls_error(what, path, e))?;
    let list = if bytes.starts_with(b"-----") || bytes.iter().take(64).all(u8::is_ascii) {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_error(what, path, e))?
    } else {
        vec![CertificateRevocationListDer::from(bytes)]
    };
    if list.is_empty() {
        return Err(tls_error(what, path, "no CRL"));
    }
    Ok(list)
}

/// The server side: this node's certificate, client certificates required and verified
/// against the node CA.
fn server_config(tls: &ExchangeTls) -> Result<rustls::ServerConfig, AppError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let chain = certificates(&tls.cert, "chứng thư của nút / node certificate")?;
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| tls_error("khóa của nút / node key", &tls.key, e))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates(&tls.ca, "CA của các nút / node CA")? {
        roots
            .add(ca)
            .map_err(|e| tls_error("CA của các nút / node CA", &tls.ca, e))?;
    }
    let mut builder = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots));
    if let Some(path) = &tls.crl {
        builder = builder
            .with_crls(crls(path)?)
            .only_check_end_entity_revocation();
    }
    let verifier = builder
        .build()
        .map_err(|e| tls_error("CA của các nút / node CA", &tls.ca, e))?;
    let mut config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls_error("chứng thư của nút / node certificate", &tls.cert, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side, for the outbox worker and directory pulls: the same CRLs as the
/// listener's, so a node whose certificate is revoked is refused both ways.
fn client(tls: &ExchangeTls) -> Result<kyso_net::NodeClient, AppError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| tls_error("tệp / file", p, e));
    let crls: Vec<Vec<u8>> = match &tls.crl {
        Some(path) => crls(path)?.iter().map(|c| c.as_ref().to_vec()).collect(),
        None => Vec::new(),
    };
    kyso_net::NodeClient::from_pem(
        &read(&tls.cert)?,
        &read(&tls.key)?,
        &read(&tls.ca)?,
        &crls,
        Duration::from_secs(120),
    )
    .map_err(|e| tls_error("TLS", &tls.cert, e))
}

/// The routes other nodes call.
fn router(app: App) -> Router {
    let limit =
        usize::try_from(kyso_exchange::Limits::default().max_package_bytes()).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/exchange/v1/packages",
            post(receive_package).layer(DefaultBodyLimit::max(limit)),
        )
        .route(
            "/exchange/v1/statuses",
            post(receive_status).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route(kyso_app::directory::DIRECTORY_PATH, get(directory))
        .fallback(|| async {
            ApiError(AppError::not_found("không có địa chỉ này", "no such route"))
        })
        .with_state(app)
}

fn peer(info: &TlsInfo) -> Option<&[u8]> {
    info.peer_certificates.first().map(Vec::as_slice)
}

/// The origin signature sent with a package or status (`Kyso-Origin-*` headers).
fn origin(headers: &HeaderMap) -> Result<Option<Origin>, AppError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    Origin::from_headers(
        text(kyso_app::origin::CERTIFICATE_HEADER),
        text(kyso_app::origin::SIGNATURE_HEADER),
    )
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> ApiResult<Response> {
    let body = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A package from another node: stored, then filed for the agencies hosted here.
async fn receive_package(
    State(app): State<App>,
    Extension(info): Extension<Arc<TlsInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let outcomes = app
        .receive_package(peer(&info), origin(&headers)?, &body)
        .await?;
    let created = outcomes.iter().any(|o| o.outcome == "delivered");
    json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &serde_json::json!({ "recipients": outcomes }),
    )
}

/// A status message from another node: appended to the timeline it concerns.
async fn receive_status(
    State(app): State<App>,
    Extension(info): Extension<Arc<TlsInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let changed = app
        .receive_status(peer(&info), origin(&headers)?, &body)
        .await?;
    Ok(Json(serde_json::json!({ "changed": changed })))
}

/// This node's directory for another node (the agencies hosted here and, in hub mode,
/// those it relays for): what `kyso_app::App::pull_directory` reads.
async fn directory(
    State(app): State<App>,
    Extension(info): Extension<Arc<TlsInfo>>,
) -> ApiResult<Response> {
    json(StatusCode::OK, &app.directory_answer(peer(&info)).await?)
}

/// Binds the exchange listener and starts it and the outbox worker; returns the
/// listener's URL and the node client (for the API's directory pull). Both stop with
/// `handle`'s graceful shutdown / the runtime.
pub(crate) fn start(
    app: &App,
    tls: &ExchangeTls,
    handle: axum_server::Handle<SocketAddr>,
) -> Result<(String, kyso_net::NodeClient), AppError> {
    let config = server_config(tls)?;
    let node_client = client(tls)?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| tls_error("tệp / file", p, e));
    let identity = NodeIdentity::from_pem(&read(&tls.cert)?, &read(&tls.key)?, tls.relay)?;
    let app = &app.clone().with_node(identity);
    let listener = std::net::TcpListener::bind(tls.listen).map_err(|e| {
        AppError::new(
            Kind::Unavailable,
            "listen",
            format!("không lắng nghe được trên {}: {e}", tls.listen),
            format!("cannot listen on {}: {e}", tls.listen),
        )
    })?;
    let addr = listener.local_addr().map_err(AppError::internal)?;
    // TCP_NODELAY: a package's small writes (session tickets, headers, the receipt) must
    // not wait for a delayed ACK.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
    )
    .acceptor(axum_server::accept::NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener)
        .map_err(AppError::internal)?
        .acceptor(acceptor)
        .handle(handle);
    let service = router(app.clone()).into_make_service();
    tokio::spawn(async move {
        if let Err(e) = server.serve(service).await {
            tracing::error!("exchange listener: {e}");
        }
    });
    let (app, client) = (app.clone(), Arc::new(node_client.clone()));
    tokio::spawn(async move {
        match app.resume_outbox().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("outbox: {n} rows to deliver"),
            Err(e) => tracing::error!("outbox: {}", e.en),
        }
        for _ in 0..WORKERS {
            tokio::spawn(worker(app.clone(), client.clone()));
        }
    });
    Ok((format!("https://{addr}"), node_client))
}

/// How many deliveries to other nodes are in flight at once. Rows of one delivery go
/// in order (a row is not claimed while an earlier row of its delivery is queued), so
/// a status never overtakes its package.
const WORKERS: usize = 4;
/// How long an idle worker waits before it looks at the outbox again, unless this
/// process queues a row before ([`App::outbox_signal`]).
const IDLE: Duration = Duration::from_millis(250);

/// An outbox worker: the most urgent due row at a time; idle, it looks again when a row
/// is queued here, at the latest after [`IDLE`].
async fn worker(app: App, client: Arc<kyso_net::NodeClient>) {
    let signal = app.outbox_signal();
    loop {
        match app.claim_outbox().await {
            Ok(Some(job)) => {
                let attempt = deliver(&client, &job).await;
                if let Attempt::Failed(e) | Attempt::Refused(e) = &attempt {
                    tracing::warn!(outbox = job.row.id, url = %job.url, "delivery failed: {e}");
                }
                if let Err(e) = app.outbox_result(&job, attempt).await {
                    tracing::error!(outbox = job.row.id, "outbox: {}", e.en);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = signal.notified() => {}
                    () = tokio::time::sleep(IDLE) => {}
                }
            }
            Err(e) => {
                tracing::error!("outbox: {}", e.en);
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// One attempt: POST and classify the answer.
async fn deliver(client: &Arc<kyso_net::NodeClient>, job: &OutboxJob) -> Attempt {
    let (client, url, content_type, body) = (
        client.clone(),
        job.url.clone(),
        job.content_type,
        job.body.clone(),
    );
    let headers: Vec<(&str, String)> = job
        .origin
        .as_ref()
        .map(|o| o.headers().to_vec())
        .unwrap_or_default();
    let answer = tokio::task::spawn_blocking(move || {
        client.post_with_headers(&url, content_type, &headers, &body)
    })
    .await;
    match answer {
        Ok(Ok((status, _))) if (200..300).contains(&status) => Attempt::Delivered,
        Ok(Ok((status, text))) => {
            let text = String::from_utf8_lossy(&text)
                .chars()
                .take(500)
                .collect::<String>();
            let error = format!("HTTP {status}: {text}");
            if matches!(status, 400 | 404 | 413) {
                Attempt::Refused(error)
            } else {
                Attempt::Failed(error)
            }
        }
        Ok(Err(e)) => Attempt::Failed(e.to_string()),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}
