//! Prometheus metrics: requests by route and status, requests in flight, verifications
//! by verdict and their duration. Kept in the process (a scrape per replica).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    in_flight: AtomicI64,
    verifications: Mutex<BTreeMap<String, u64>>,
    verify_micros: AtomicU64,
    verify_count: AtomicU64,
}

impl Metrics {
    /// A request starts.
    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request ended with `status` on `route` (the matched pattern, not the path, so
    /// that ids do not explode the label set).
    pub(crate) fn end(&self, method: &str, route: &str, status: u16) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
    }

    /// A verification finished.
    pub(crate) fn verified(&self, verdict: &str, micros: u64) {
        if let Ok(mut map) = self.verifications.lock() {
            *map.entry(verdict.to_string()).or_default() += 1;
        }
        self.verify_micros.fetch_add(micros, Ordering::Relaxed);
        self.verify_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP kyso_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE kyso_http_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((method, route, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "kyso_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    route.replace('"', "")
                );
            }
        }
        out.push_str("# HELP kyso_http_requests_in_flight Requests being served.\n");
        out.push_str("# TYPE kyso_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "kyso_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str("# HELP kyso_verifications_total Public verifications by verdict.\n");
        out.push_str("# TYPE kyso_verifications_total counter\n");
        if let Ok(map) = self.verifications.lock() {
            for (verdict, n) in map.iter() {
                let _ = writeln!(out, "kyso_verifications_total{{verdict=\"{verdict}\"}} {n}");
            }
        }
        out.push_str("# HELP kyso_verification_seconds Time spent verifying.\n");
        out.push_str("# TYPE kyso_verification_seconds summary\n");
        let _ = writeln!(
            out,
            "kyso_verification_seconds_sum {:.6}",
            self.verify_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "kyso_verification_seconds_count {}",
            self.verify_count.load(Ordering::Relaxed)
        );
        out
    }
}
