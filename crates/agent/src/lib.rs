//! `kyso agent`: an open, cross-platform local signing helper that speaks the
//! protocol of "VGCA Sign Service" — what Vietnamese e-office pages use today through
//! `vgcaplugin.js` — so that existing pages sign with it unchanged, and kyso's own web
//! interface signs through it (`SignMsg`: the server prepares the digest, the agent
//! signs it on the token, the server assembles).
//!
//! Safety first, because any web page could otherwise make a helper sign: only origins
//! on the allow-list are served; nothing is signed before the person at the computer
//! has confirmed locally, reading the requesting site, the document and both URLs; the
//! PIN is typed locally for one signing, zeroized, never logged, never sent to the page;
//! the local TLS root's key is thrown away as soon as the agent's certificate exists.
//!
//! Layers: L4 like `kyso serve` — the signing itself is kyso-app's
//! (`signing::sign_pdf_bytes`, `sign_detached_bytes`) on kyso-pkcs11's token keys; the
//! protocol, the confirmation and the OS glue are here. Documentation: docs/agent.md.

pub mod config;
pub mod confirm;
pub mod handler;
pub mod localtls;
pub mod os;
pub mod protocol;
pub mod server;
pub mod transfer;

pub use config::{AgentConfig, ConfigError, ConfirmMode};
pub use handler::Agent;
pub use localtls::LocalTls;
