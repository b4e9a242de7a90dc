//! Every outbound call kyso makes: fetching CRLs, asking a time-stamp authority, asking
//! an OCSP responder. Each call has a timeout, a response-size limit and a bounded
//! number of retries with backoff; `file://` URLs are read locally (offline use).
//!
//! [`NodeClient`]: the calls of one kyso node to another (delivering packages and
//! status messages between agencies): HTTPS only, mutual TLS (the node's own
//! certificate, the other node's checked against the given CA and, with the node CA's
//! CRLs, refused when revoked), one attempt per call — the caller's outbox retries with
//! backoff.
//!
//! What this crate does not do: interpret what it fetches. Parsing and validation are
//! in `kyso-pki` and `kyso-cades`.

use std::io::Read;
use std::time::Duration;

mod node_tls;

/// Limits and timeouts for outbound calls.
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_response: u64,
    /// Retries after the first attempt, on connection errors and 5xx.
    pub retries: u32,
    /// Redirects followed; beyond them a redirect is [`NetError::Redirect`] (0: every
    /// redirect goes to the caller, who may check where it leads).
    pub max_redirects: u32,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            max_response: 32 << 20,
            retries: 2,
            max_redirects: 10,
        }
    }
}

/// An outbound call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The URL scheme is not http, https or file.
    #[error("unsupported URL {0} (only http, https and file are fetched)")]
    UnsupportedUrl(String),
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// URL.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// The response was larger than allowed.
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge {
        /// URL.
        url: String,
        /// Limit.
        limit: u64,
    },
    /// The TLS material of a node client could not be read.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The other node's server certificate is revoked: a CRL given to the node client
    /// lists it.
    #[error("{url}: the node's certificate is revoked (CRL of the node CA)")]
    Revoked {
        /// URL.
        url: String,
    },
    /// The server redirects, and the client follows no more redirects.
    #[error("{url} redirects to {location}")]
    Redirect {
        /// URL.
        url: String,
        /// Where it redirects (the `Location` header, as sent).
        location: String,
    },
    /// Transport failure (DNS, connect, TLS, timeout).
    #[error("{url}: {reason}")]
    Transport {
        /// URL.
        url: String,
        /// What happened.
        reason: String,
    },
}

/// A client with fixed limits.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    config: NetConfig,
}

impl Default for Client {
    fn default() -> Self {
        Self::new(NetConfig::default())
    }
}

impl Client {
    /// A client with these limits.
    pub fn new(config: NetConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(config.max_redirects)
            .max_redirects_will_error(false)
            .build()
            .into();
        Self { agent, config }
    }

    /// GET a URL (http, https or file) and return the body.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, NetError> {
        if let Some(path) = url.strip_prefix("file://") {
            return read_file(url, path, self.config.max_response);
        }
        self.get_with_headers(url, &[])
    }

    /// POST `body` with `content_type` (e.g. `application/timestamp-query`).
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, NetError> {
        self.post_with_headers(url, content_type, &[], body)
    }

    /// GET an http(s) URL with extra request headers (name, value) — a signing helper
    /// passing a page's cookie or bearer token; `file:` is refused.
    pub fn get_with_headers(
        &self,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Vec<u8>, NetError> {
        check_scheme(url)?;
        self.with_retries(url, || {
            let mut request = self.agent.get(url);
            for (name, value) in headers {
                request = request.header(*name, value.as_str());
            }
            request.call()
        })
    }

    /// POST with extra request headers (name, value); the body of a 2xx answer.
    pub fn post_with_headers(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Vec<u8>, NetError> {
        check_scheme(url)?;
        self.with_retries(url, || {
            let mut request = self.agent.post(url).header("Content-Type", content_type);
            for (name, value) in headers {
                request = request.header(*name, value.as_str());
            }
            request.send(body)
        })
    }

    fn with_retries(
        &self,
        url: &str,
        call: impl Fn() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, NetError> {
        let mut attempt = 0;
        loop {
            let result = call();
            let retryable = match &result {
                Ok(resp) => resp.status().is_server_error(),
                Err(ureq::Error::Timeout(_)) | Err(ureq::Error::Io(_)) => true,
                Err(_) => false,
            };
            if retryable && attempt < self.config.retries {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * u64::from(attempt * attempt)));
                continue;
            }
            let mut resp = result.map_err(|e| NetError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
            let status = resp.status().as_u16();
            if (300..400).contains(&status)
                && let Some(location) = resp.headers().get("location").and_then(|v| v.to_str().ok())
            {
                return Err(NetError::Redirect {
                    url: url.to_string(),
                    location: location.to_string(),
                });
            }
            if !(200..300).contains(&status) {
                return Err(NetError::Status {
                    url: url.to_string(),
                    status,
                });
            }
            return resp
                .body_mut()
                .with_config()
                .limit(self.config.max_response)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(_) => NetError::TooLarge {
                        url: url.to_string(),
                        limit: self.config.max_response,
                    },
                    other => NetError::Transport {
                        url: url.to_string(),
                        reason: other.to_string(),
                    },
                });
        }
    }
}

/// A client of other kyso nodes: HTTPS with this node's client certificate, the
/// server's certificate verified against the given CA certificates only (not the
/// system's roots) and, when CRLs are given, refused if the node CA revoked it.
#[derive(Debug, Clone)]
pub struct NodeClient {
    agent: ureq::Agent,
    max_response: u64,
}

impl NodeClient {
    /// From PEM texts: this node's certificate chain (leaf first), its private key
    /// (PKCS#8, SEC1 or PKCS#1) and the CA certificates that issue node certificates;
    /// `crls`: the node CA's CRLs (DER), empty for none — a server whose certificate
    /// one of them lists is refused at the handshake ([`NetError::Revoked`]).
    pub fn from_pem(
        chain_pem: &[u8],
        key_pem: &[u8],
        ca_pem: &[u8],
        crls: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Self, NetError> {
        use ureq::unversioned::resolver::DefaultResolver;
        use ureq::unversioned::transport::{ConnectProxyConnector, Connector as _, TcpConnector};
        let config = node_tls::client_config(chain_pem, key_pem, ca_pem, crls)?;
        // As ureq's default chain (an HTTP CONNECT proxy when configured, then TCP), with
        // kyso's TLS in place of ureq's.
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(node_tls::NodeTlsConnector { config });
        let agent_config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .https_only(true)
            .build();
        let agent = ureq::Agent::with_parts(agent_config, connector, DefaultResolver::default());
        Ok(Self {
            agent,
            max_response: 1 << 20,
        })
    }

    fn transport_error(url: &str, e: ureq::Error) -> NetError {
        if node_tls::is_revoked(&e) {
            NetError::Revoked {
                url: url.to_string(),
            }
        } else {
            NetError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            }
        }
    }

    /// POSTs `body` once; the status and (at most 1 MiB of) the answer.
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), NetError> {
        self.post_with_headers(url, content_type, &[], body)
    }

    /// [`Self::post`] with extra request headers (name, value).
    pub fn post_with_headers(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), NetError> {
        if !url.starts_with("https://") {
            return Err(NetError::UnsupportedUrl(url.to_string()));
        }
        let mut request = self.agent.post(url).header("Content-Type", content_type);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let resp = request
            .send(body)
            .map_err(|e| Self::transport_error(url, e))?;
        self.answer(url, resp)
    }

    /// GETs `url` once; the status and (at most 1 MiB of) the answer — larger is
    /// [`NetError::TooLarge`].
    pub fn get(&self, url: &str) -> Result<(u16, Vec<u8>), NetError> {
        if !url.starts_with("https://") {
            return Err(NetError::UnsupportedUrl(url.to_string()));
        }
        let resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| Self::transport_error(url, e))?;
        self.answer(url, resp)
    }

    fn answer(
        &self,
        url: &str,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> Result<(u16, Vec<u8>), NetError> {
        let status = resp.status().as_u16();
        let answer = resp
            .body_mut()
            .with_config()
            .limit(self.max_response)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => NetError::TooLarge {
                    url: url.to_string(),
                    limit: self.max_response,
                },
                other => Self::transport_error(url, other),
            })?;
        Ok((status, answer))
    }
}

fn check_scheme(url: &str) -> Result<(), NetError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(NetError::UnsupportedUrl(url.to_string()))
    }
}

fn read_file(url: &str, path: &str, limit: u64) -> Result<Vec<u8>, NetError> {
    let transport = |e: std::io::Error| NetError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(transport)?;
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(transport)?;
    if out.len() as u64 > limit {
        return Err(NetError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_other_schemes() {
        let c = Client::default();
        assert!(matches!(
            c.get("ftp://x/y"),
            Err(NetError::UnsupportedUrl(_))
        ));
        assert!(matches!(
            c.post("ldap://x", "a/b", b""),
            Err(NetError::UnsupportedUrl(_))
        ));
    }

    #[test]
    fn file_urls_respect_the_limit() {
        let dir = std::env::temp_dir().join(format!("kyso-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big");
        std::fs::write(&path, vec![1u8; 100]).unwrap();
        let c = Client::new(NetConfig {
            max_response: 50,
            ..NetConfig::default()
        });
        let url = format!("file://{}", path.display());
        assert!(matches!(c.get(&url), Err(NetError::TooLarge { .. })));
        let c = Client::default();
        assert_eq!(c.get(&url).unwrap().len(), 100);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn connection_refused_is_a_transport_error() {
        let c = Client::new(NetConfig {
            retries: 0,
            timeout: Duration::from_secs(2),
            ..NetConfig::default()
        });
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        assert!(matches!(
            c.get("http://127.0.0.1:9/crl"),
            Err(NetError::Transport { .. })
        ));
    }
}
