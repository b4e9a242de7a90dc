//! A client of `kyso agent` as `vgcaplugin.js` uses it: a new WebSocket over TLS per
//! call (trusting the agent's local root), one text frame, the first reply.

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

/// The TLS stream under a socket.
pub type Stream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;
/// An open WebSocket to the agent.
pub type Socket = tungstenite::WebSocket<Stream>;

/// Calls to an agent on 127.0.0.1:`port`.
#[derive(Debug, Clone)]
pub struct Client {
    port: u16,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    /// A client of the agent on `port` whose certificate chains to the PEM root at `root`.
    pub fn new(port: u16, root: &Path) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        let (_, der) = der::pem::decode_vec(&std::fs::read(root).unwrap()).unwrap();
        roots.add(der.into()).unwrap();
        let tls = Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        Self { port, tls }
    }

    /// A TLS connection (TCP_NODELAY).
    pub fn stream(&self) -> Stream {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        tcp.set_nodelay(true).unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        rustls::StreamOwned::new(
            rustls::ClientConnection::new(self.tls.clone(), name).unwrap(),
            tcp,
        )
    }

    /// A WebSocket to `path`, with `Origin: origin` when given.
    pub fn open(&self, path: &str, origin: Option<&str>) -> Socket {
        let mut request = tungstenite::http::Request::builder()
            .uri(format!("wss://127.0.0.1:{}{path}", self.port))
            .header("Host", format!("127.0.0.1:{}", self.port))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header(
                "Sec-WebSocket-Key",
                tungstenite::handshake::client::generate_key(),
            );
        if let Some(o) = origin {
            request = request.header("Origin", o);
        }
        tungstenite::client(request.body(()).unwrap(), self.stream())
            .unwrap()
            .0
    }

    /// One call as the plugin makes it: open, one frame, the first text reply, close.
    pub fn call(&self, path: &str, origin: Option<&str>, frame: &str) -> String {
        let mut socket = self.open(path, origin);
        socket
            .send(tungstenite::Message::Text(frame.to_string().into()))
            .unwrap();
        loop {
            match socket.read().unwrap() {
                tungstenite::Message::Text(t) => {
                    let _ = socket.close(None);
                    return t.to_string();
                }
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
