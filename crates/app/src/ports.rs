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
