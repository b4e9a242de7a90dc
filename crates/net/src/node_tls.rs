//! The TLS of [`crate::NodeClient`]: a ureq connector that wraps the TCP connection in
//! rustls with kyso's own client configuration — this node's client certificate, the
//! server's certificate verified against the node CA only and, when CRLs are given,
//! refused when the node CA revoked it. ureq's own rustls connector builds its
//! configuration from a `TlsConfig` that has no place for CRLs or a custom verifier,
//! so the node client brings its own connector (ureq's `unversioned` transport API).

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use crate::NetError;

/// The certificates of a PEM text (at least one).
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NetError::Tls(format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(NetError::Tls(format!("{what}: no certificate")));
    }
    Ok(certs)
}

/// The rustls client configuration of a node client.
pub(crate) fn client_config(
    chain_pem: &[u8],
    key_pem: &[u8],
    ca_pem: &[u8],
    crls: &[Vec<u8>],
) -> Result<Arc<ClientConfig>, NetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(chain_pem, "node certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| NetError::Tls(format!("node key: {e}")))?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(ca_pem, "CA certificates")? {
        roots
            .add(ca)
            .map_err(|e| NetError::Tls(format!("CA certificates: {e}")))?;
    }
    let mut verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !crls.is_empty() {
        verifier = verifier
            .with_crls(
                crls.iter()
                    .map(|der| CertificateRevocationListDer::from(der.clone())),
            )
            .only_check_end_entity_revocation();
    }
    let verifier = verifier
        .build()
        .map_err(|e| NetError::Tls(format!("CA certificates or CRLs: {e}")))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| NetError::Tls(format!("node certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

/// Whether a ureq error is the server certificate refused as revoked.
pub(crate) fn is_revoked(e: &ureq::Error) -> bool {
    let revoked = |e: &rustls::Error| {
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
        )
    };
    match e {
        ureq::Error::Rustls(e) => revoked(e),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(revoked),
        _ => false,
    }
}

/// Wraps an `https` connection in TLS with the node client's configuration.
pub(crate) struct NodeTlsConnector {
    pub(crate) config: Arc<ClientConfig>,
}

impl fmt::Debug for NodeTlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeTlsConnector").finish()
    }
}

impl<In: Transport> Connector<In> for NodeTlsConnector {
    type Out = Either<In, NodeTlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("invalid server name for TLS"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(NodeTlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection to another node.
pub(crate) struct NodeTlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for NodeTlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeTlsTransport").finish()
    }
}

impl Transport for NodeTlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
