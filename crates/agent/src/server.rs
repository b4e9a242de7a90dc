//! The listener: TLS on 127.0.0.1 only, a WebSocket upgrade accepted on every path
//! (pages probe by opening a socket and closing it without a word), one reply per
//! text frame, pings while the person decides, a small HTTPS page at `/` (diagnostics,
//! and where a person can see that the browser trusts the agent).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{State, ws::rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::handler::Agent;
use crate::localtls::LocalTls;
use crate::protocol::{Endpoint, MAX_FRAME};

/// How often a socket waiting for the person is pinged.
const PING_EVERY: Duration = Duration::from_secs(15);

/// The router of the agent.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new().fallback(any).with_state(agent)
}

async fn any(
    State(agent): State<Arc<Agent>>,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let path = uri.path().to_string();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match ws {
        Ok(ws) => ws
            .max_message_size(MAX_FRAME)
            .max_frame_size(MAX_FRAME)
            .on_upgrade(move |socket| conversation(agent, socket, path, origin))
            .into_response(),
        Err(_) if path == "/" => Html(format!(
            "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>kyso agent</title>\
             <h1>kyso agent {}</h1><p>Phần mềm ký số cục bộ đang chạy. Trình duyệt đã tin cậy \
             kết nối này.</p>",
            env!("CARGO_PKG_VERSION")
        ))
        .into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "kyso agent: chỉ nhận kết nối WebSocket\n",
        )
            .into_response(),
    }
}

async fn conversation(agent: Arc<Agent>, mut socket: WebSocket, path: String, origin: String) {
    let endpoint = Endpoint::from_path(&path);
    while let Some(Ok(message)) = socket.recv().await {
        let frame = match message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => match String::from_utf8(b.to_vec()) {
                Ok(t) => t,
                Err(_) => continue,
            },
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let work = {
            let agent = agent.clone();
            let (path, origin) = (path.clone(), origin.clone());
            tokio::task::spawn_blocking(move || agent.handle(endpoint, &path, &origin, &frame))
        };
        tokio::pin!(work);
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let reply = loop {
            tokio::select! {
                done = &mut work => break done,
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        // The page went away; the work finishes and its reply is lost,
                        // as with the service (the upload, if any, has happened).
                        let _ = work.await;
                        return;
                    }
                }
            }
        };
        let reply = match reply {
            Ok(v) => v,
            Err(_) => serde_json::json!({
                "Status": crate::protocol::Status::SigningFailed as i32,
                "Message": "kyso agent gặp lỗi nội bộ khi xử lý yêu cầu",
            }),
        };
        if socket
            .send(Message::Text(reply.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
#[error("{vi}\n{en}")]
pub struct StartError {
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

/// Bind 127.0.0.1:`port` (IPv4 only, as pages use the literal address).
pub fn bind(port: u16) -> Result<std::net::TcpListener, StartError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = std::net::TcpListener::bind(addr).map_err(|e| StartError {
        vi: if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "cổng {port} đang được dùng (VGCA Sign Service hoặc một kyso agent khác đang chạy?): hãy tắt nó hoặc chọn --port"
            )
        } else {
            format!("không mở được cổng {addr}: {e}")
        },
        en: format!("cannot listen on {addr}: {e}"),
    })?;
    listener.set_nonblocking(true).map_err(|e| StartError {
        vi: format!("không mở được cổng {addr}: {e}"),
        en: format!("cannot listen on {addr}: {e}"),
    })?;
    Ok(listener)
}

/// Serve `agent` over TLS on `listener` until `shutdown` resolves.
pub async fn serve(
    agent: Arc<Agent>,
    tls: &LocalTls,
    listener: std::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| StartError {
            vi: format!(
                "không đọc được chứng thư TLS cục bộ {} ({e}): hãy chạy `kyso agent install-cert`",
                tls.cert.display()
            ),
            en: format!(
                "cannot read the local TLS certificate {}: {e}",
                tls.cert.display()
            ),
        })?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    // TCP_NODELAY: the small frames of a call (TLS session tickets, the upgrade, the
    // reply) must not wait for delayed ACKs (40 ms each on Linux).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    axum_server::from_tcp(listener)
        .map(|s| s.acceptor(acceptor))
        .map_err(|e| StartError {
            vi: format!("không mở được cổng: {e}"),
            en: format!("cannot listen: {e}"),
        })?
        .handle(handle)
        .serve(router(agent).into_make_service())
        .await
        .map_err(|e| StartError {
            vi: format!("kyso agent dừng vì lỗi: {e}"),
            en: format!("the agent stopped: {e}"),
        })
}
