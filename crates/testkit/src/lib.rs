//! Shared test fixtures of kyso's crates (a dev-dependency only; never published):
//!
//! - [`pki`]: a test PKI (root → issuing CA → a leader's personal certificate, an
//!   agency seal and a TSA) built with kyso's own CA code, exported as PEM; an HTTP
//!   server on 127.0.0.1 publishing its CRLs and answering RFC 3161 time-stamp requests;
//!   pyHanko (the reference signer) driven on those keys;
//! - [`postgres`]: a fresh PostgreSQL database per test on the server `scripts/test.sh`
//!   starts (required, not skipped, under CI);
//! - [`cli`]: the `kyso` binary on a data directory, isolated from the environment;
//! - [`http`]: a small client for kyso's JSON API (cookies, CSRF header, multipart);
//! - [`serve`]: `kyso serve` as a child process (URL and setup link from its output);
//! - `node` (feature `node`): a node in the test process, kyso-server on a loopback
//!   socket over kyso-app (SQLite or PostgreSQL), its users and their logins.
//!
//! Peers are never optional: a missing one fails the test with a message saying how to
//! get it.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod cli;
pub mod http;
pub mod mtls;
#[cfg(feature = "node")]
pub mod node;
pub mod pki;
pub mod postgres;
pub mod serve;
pub mod softhsm;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A test document of `testdata/documents` (in the repository).
pub fn document(name: &str) -> PathBuf {
    let p = workspace().join("testdata/documents").join(name);
    assert!(p.is_file(), "test document missing: {}", p.display());
    p
}
