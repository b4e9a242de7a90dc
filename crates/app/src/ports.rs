//! The ports of the application layer: what a use case needs from the world besides the
//! store, as traits, so tests (and replicas) can supply their own.

use std::fmt;

use time::OffsetDateTime;

/// The time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, UTC, whole seconds.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// A clock that always says the same time (tests, `--at`).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Fetches revocation material (CRLs by GET, OCSP by POST). Blocking: callers on an
/// async runtime run verification on a blocking thread.
pub trait Fetcher: Send + Sync + fmt::Debug {
    /// GET `url`.
    fn get(&self, url: &str) -> Result<Vec<u8>, String>;
    /// POST `body` to `url`.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String>;
}

impl Fetcher for kyso_net::Client {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        kyso_net::Client::get(self, url).map_err(|e| e.to_string())
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        kyso_net::Client::post(self, url, content_type, body).map_err(|e| e.to_string())
    }
}

/// Calls to other kyso nodes over the exchange's mutual TLS (`kyso_net::NodeClient`):
/// one attempt, the answer bounded. Blocking: callers on an async runtime call it on a
/// blocking thread.
pub trait NodeLink: Send + Sync + fmt::Debug {
    /// GET `url` (`https://…`): the HTTP status and the answer.
    fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String>;
}

impl NodeLink for kyso_net::NodeClient {
    fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        kyso_net::NodeClient::get(self, url).map_err(|e| e.to_string())
    }
}

/// A fetcher that fetches nothing (offline verification, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl Fetcher for Offline {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!("offline: not fetching {url}"))
    }

    fn post(&self, url: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, String> {
        Err(format!("offline: not asking {url}"))
    }
}

/// A fetcher that only fetches `http://` and `https://` URLs: for material named by
/// untrusted input (an uploaded certificate's CRL distribution point must not make the
/// server read its own files).
#[derive(Debug, Clone, Copy)]
pub struct HttpOnly<'a>(pub &'a dyn Fetcher);

fn http_url(url: &str) -> Result<(), String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "not fetching {url}: only http(s) URLs are followed"
        ))
    }
}

impl Fetcher for HttpOnly<'_> {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        http_url(url)?;
        self.0.get(url)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        http_url(url)?;
        self.0.post(url, content_type, body)
    }
}

/// The fetcher of a node (`kyso serve`): `http(s)://` URLs, and `file://` only inside
/// the node's own data directory (a CA kept there) — so that a URL inside uploaded
/// material (a certificate's CRL distribution point or AIA) never makes the server read
/// any other file of the machine.
#[derive(Debug, Clone)]
pub struct Confined {
    inner: std::sync::Arc<dyn Fetcher>,
    root: Option<std::path::PathBuf>,
}

impl Confined {
    /// `inner` confined to `root` for `file://` URLs.
    pub fn new(inner: std::sync::Arc<dyn Fetcher>, root: &std::path::Path) -> Self {
        Self {
            inner,
            root: std::fs::canonicalize(root).ok(),
        }
    }

    fn allowed(&self, url: &str) -> Result<(), String> {
        if http_url(url).is_ok() {
            return Ok(());
        }
        let inside = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
            .and_then(|_| std::fs::canonicalize(&url[7..]).ok())
            .zip(self.root.as_ref())
            .is_some_and(|(path, root)| path.starts_with(root));
        if inside {
            Ok(())
        } else {
            Err(format!(
                "not fetching {url}: only http(s) URLs and files of this node's data directory are followed"
            ))
        }
    }
}

impl Fetcher for Confined {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.allowed(url)?;
        self.inner.get(url)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        self.allowed(url)?;
        self.inner.post(url, content_type, body)
    }
}

/// A CRL kept by [`CrlCache`] and until when it may be answered.
type KeptCrl = (std::sync::Arc<Vec<u8>>, OffsetDateTime);

/// A fetcher that keeps the CRLs it fetched over HTTP(S) (`kyso serve`): a CRL is
/// answered from memory until its `nextUpdate`, and at most [`CrlCache::MAX_AGE`] after
/// it was fetched, so a node that verifies every received document does not fetch the
/// same CRL from the CA for each one (what validators such as EU DSS do too). Anything
/// else — OCSP (POST), certificates, `file://` URLs, an answer that is not a CRL, a CRL
/// already past its `nextUpdate` — is fetched every time. At most
/// [`CrlCache::MAX_ENTRIES`] CRLs are kept.
#[derive(Debug)]
pub struct CrlCache {
    inner: std::sync::Arc<dyn Fetcher>,
    kept: std::sync::Mutex<std::collections::HashMap<String, KeptCrl>>,
}

impl CrlCache {
    /// How long a CRL is kept at most.
    pub const MAX_AGE: time::Duration = time::Duration::minutes(10);
    /// How many CRLs are kept at most.
    pub const MAX_ENTRIES: usize = 512;

    /// `inner` with a CRL cache in front.
    pub fn new(inner: std::sync::Arc<dyn Fetcher>) -> Self {
        Self {
            inner,
            kept: std::sync::Mutex::default(),
        }
    }

    /// Until when `bytes`, fetched now, may be answered again (`None`: not a CRL, or
    /// no longer current).
    fn keep_until(bytes: &[u8], now: OffsetDateTime) -> Option<OffsetDateTime> {
        use der::Decode;
        let crl =
            x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(bytes)
                .ok()?;
        let next = crl.tbs_cert_list.next_update?.to_unix_duration();
        let next = OffsetDateTime::UNIX_EPOCH + time::Duration::try_from(next).ok()?;
        let until = next.min(now + Self::MAX_AGE);
        (until > now).then_some(until)
    }
}

impl Fetcher for CrlCache {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        if http_url(url).is_err() {
            return self.inner.get(url);
        }
        let now = OffsetDateTime::now_utc();
        let lock = || {
            self.kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((bytes, until)) = lock().get(url)
            && *until > now
        {
            return Ok(bytes.as_ref().clone());
        }
        let bytes = self.inner.get(url)?;
        if let Some(until) = Self::keep_until(&bytes, now) {
            let mut kept = lock();
            if kept.len() >= Self::MAX_ENTRIES {
                kept.retain(|_, (_, until)| *until > now);
                if kept.len() >= Self::MAX_ENTRIES {
                    kept.clear();
                }
            }
            kept.insert(url.to_string(), (std::sync::Arc::new(bytes.clone()), until));
        }
        Ok(bytes)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        self.inner.post(url, content_type, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every URL it is asked for.
    #[derive(Debug)]
    struct Echo;

    impl Fetcher for Echo {
        fn get(&self, url: &str) -> Result<Vec<u8>, String> {
            Ok(url.as_bytes().to_vec())
        }

        fn post(&self, url: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, String> {
            Ok(url.as_bytes().to_vec())
        }
    }

    #[test]
    fn a_node_reads_only_http_and_its_own_files() {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("ca/crl")).unwrap();
        std::fs::write(data.path().join("ca/crl/root.crl"), b"x").unwrap();
        let f = Confined::new(std::sync::Arc::new(Echo), data.path());
        assert!(f.get("http://ca.example/crl").is_ok());
        assert!(f.get("HTTPS://ca.example/crl").is_ok());
        let own = format!("file://{}/ca/crl/root.crl", data.path().display());
        assert!(f.get(&own).is_ok(), "{own}");
        // Climbing out of the data directory with `..`.
        let up = ["..", "..", "..", "..", ".."].join("/");
        let escape = format!("file://{}/ca/{up}/etc/passwd", data.path().display());
        assert!(f.get(&escape).is_err());
        assert!(f.get("file:///etc/passwd").is_err());
        assert!(f.get("ftp://ca.example/crl").is_err());
        assert!(f.post("file:///etc/hostname", "x", b"").is_err());
    }

    /// Counts the fetches that reach it; answers a PKITS CRL (next update 2030) for
    /// `/crl`, other bytes otherwise.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Fetcher for Counting {
        fn get(&self, url: &str) -> Result<Vec<u8>, String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if url.ends_with("/crl") {
                Ok(include_bytes!("../../../testdata/pkits/crls/TrustAnchorRootCRL.crl").to_vec())
            } else {
                Ok(b"not a CRL".to_vec())
            }
        }

        fn post(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Vec::new())
        }
    }

    #[test]
    fn crls_are_kept_until_their_next_update_and_nothing_else_is() {
        let inner = std::sync::Arc::new(Counting::default());
        let cache = CrlCache::new(inner.clone());
        let fetched = || inner.0.load(std::sync::atomic::Ordering::SeqCst);
        let first = cache.get("http://ca.example/crl").unwrap();
        assert_eq!(cache.get("http://ca.example/crl").unwrap(), first);
        assert_eq!(fetched(), 1, "the CRL was fetched again");
        cache.get("http://ca.example/other").unwrap();
        cache.get("http://ca.example/other").unwrap();
        assert_eq!(fetched(), 3, "an answer that is not a CRL was kept");
        cache.post("http://ca.example/ocsp", "x", b"").unwrap();
        cache.post("http://ca.example/ocsp", "x", b"").unwrap();
        assert_eq!(fetched(), 5, "OCSP was kept");
        let now = OffsetDateTime::now_utc();
        let until = CrlCache::keep_until(&first, now).unwrap();
        assert_eq!(until, now + CrlCache::MAX_AGE, "kept longer than MAX_AGE");
        // Past its next update (2030-12-31 08:30Z), a CRL is not kept.
        let late = time::macros::datetime!(2031-01-01 00:00 UTC);
        assert_eq!(CrlCache::keep_until(&first, late), None);
    }
}
