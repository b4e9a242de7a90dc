//! The agent's configuration: a TOML file in the user's configuration folder
//! (`agent.toml`), flags of `kyso agent` over it.
//!
//! ```toml
//! port = 8987
//! allowed_origins = ["https://eoffice.cantho.gov.vn"]
//! pkcs11 = "/usr/lib/libeToken.so"
//! token_label = "VGCA"          # optional: the only token otherwise
//! key_label = "chu-ky"          # optional: key_id = "01", or the only key
//! leader_image = "chu-ky.png"   # SignApproved: the signature image
//! seal_image = "con-dau.png"    # SignIssued: the seal image
//! tsa = "http://tsa.ca.gov.vn"  # optional: PAdES B-T / CAdES B-T
//! confirm = "terminal"          # or "dialog" (a window of the desktop session)
//! allow_http_private = true     # http: only to loopback and private addresses
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The VGCA Sign Service's port, hard-coded in every page's `vgcaplugin.js`.
pub const DEFAULT_PORT: u16 = 8987;

/// The largest document downloaded (the server's PDF limit).
pub const DEFAULT_MAX_DOCUMENT: u64 = 256 << 20;

/// How the person confirms a signing and enters the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmMode {
    /// On the terminal the agent runs in (questions on stderr, answers on stdin).
    #[default]
    Terminal,
    /// A window of the desktop session (Linux: zenity; macOS: osascript; Windows:
    /// PowerShell) — what the autostarted agent uses.
    Dialog,
}

/// Everything the agent needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Port on 127.0.0.1.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Origins (`scheme://host[:port]`) whose pages may ask for signatures; nothing
    /// else is served.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The token vendor's PKCS#11 module.
    #[serde(default)]
    pub pkcs11: Option<PathBuf>,
    /// Token label (when several tokens are plugged in).
    #[serde(default)]
    pub token_label: Option<String>,
    /// Token serial number.
    #[serde(default)]
    pub token_serial: Option<String>,
    /// Key by `CKA_LABEL`.
    #[serde(default)]
    pub key_label: Option<String>,
    /// Key by `CKA_ID` (hex).
    #[serde(default)]
    pub key_id: Option<String>,
    /// PNG of the person's signature (SignApproved).
    #[serde(default)]
    pub leader_image: Option<PathBuf>,
    /// PNG of the agency's seal (SignIssued).
    #[serde(default)]
    pub seal_image: Option<PathBuf>,
    /// Time-stamp authority (signatures become B-T).
    #[serde(default)]
    pub tsa: Option<String>,
    /// How signings are confirmed.
    #[serde(default)]
    pub confirm: ConfirmMode,
    /// Allow `http:` downloads and uploads to loopback and private (RFC 1918, ULA)
    /// addresses — agency intranets; `https:` is always allowed.
    #[serde(default = "yes")]
    pub allow_http_private: bool,
    /// Largest document downloaded, in bytes.
    #[serde(default = "default_max")]
    pub max_document: u64,
    /// Certificates to embed after the signer's (the issuing CA's, PEM files).
    #[serde(default)]
    pub chain: Vec<PathBuf>,
    /// Extra trust anchors (PEM files) for VerifyPDF, beside the built-in Vietnamese
    /// trust list.
    #[serde(default)]
    pub trust: Vec<PathBuf>,
    /// Folder of the local TLS certificate (`kyso agent install-cert`); default: the
    /// configuration folder.
    #[serde(default)]
    pub tls_dir: Option<PathBuf>,
}

fn default_port() -> u16 {
    DEFAULT_PORT
}
fn yes() -> bool {
    true
}
fn default_max() -> u64 {
    DEFAULT_MAX_DOCUMENT
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            allowed_origins: Vec::new(),
            pkcs11: None,
            token_label: None,
            token_serial: None,
            key_label: None,
            key_id: None,
            leader_image: None,
            seal_image: None,
            tsa: None,
            confirm: ConfirmMode::Terminal,
            allow_http_private: true,
            max_document: DEFAULT_MAX_DOCUMENT,
            chain: Vec::new(),
            trust: Vec::new(),
            tls_dir: None,
        }
    }
}

/// The configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{vi}\n{en}")]
pub struct ConfigError {
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

impl ConfigError {
    pub(crate) fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }
}

impl AgentConfig {
    /// Read `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(ConfigError::new(
                    format!("không đọc được {}: {e}", path.display()),
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        let mut config: Self = toml::from_str(&text).map_err(|e| {
            ConfigError::new(
                format!("tệp cấu hình {} sai: {e}", path.display()),
                format!("configuration file {} is wrong: {e}", path.display()),
            )
        })?;
        // Relative paths are relative to the file (a bare module name is left to the
        // dynamic loader).
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(m) = &mut config.pkcs11
            && m.is_relative()
            && m.components().count() > 1
        {
            *m = base.join(&*m);
        }
        for p in [
            &mut config.leader_image,
            &mut config.seal_image,
            &mut config.tls_dir,
        ]
        .into_iter()
        .flatten()
        .chain(config.trust.iter_mut())
        .chain(config.chain.iter_mut())
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        config.check()?;
        Ok(config)
    }

    /// Checks the values that can be checked without the token.
    pub fn check(&mut self) -> Result<(), ConfigError> {
        let mut origins = Vec::new();
        for o in &self.allowed_origins {
            origins.push(normalise_origin(o).ok_or_else(|| {
                ConfigError::new(
                    format!(
                        "nguồn được phép \"{o}\" không hợp lệ: cần dạng https://máy-chủ[:cổng]"
                    ),
                    format!("allowed origin \"{o}\" is not valid: use https://host[:port]"),
                )
            })?);
        }
        self.allowed_origins = origins;
        if let Some(id) = &self.key_id
            && hex::decode(id).is_err()
        {
            return Err(ConfigError::new(
                format!("key_id \"{id}\" phải là số hex"),
                format!("key_id \"{id}\" must be hex"),
            ));
        }
        Ok(())
    }

    /// Whether a page of `origin` may use the agent.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        normalise_origin(origin).is_some_and(|o| self.allowed_origins.contains(&o))
    }

    /// Where the local TLS certificate and key are.
    pub fn tls_dir(&self, config_dir: &Path) -> PathBuf {
        self.tls_dir
            .clone()
            .unwrap_or_else(|| config_dir.join("tls"))
    }
}

/// `HTTPS://Host:443/` → `https://host`; `None` for anything that is not an origin.
pub fn normalise_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/');
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let rest = rest.to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    let rest = rest.strip_suffix(default).unwrap_or(&rest);
    Some(format!("{scheme}://{rest}"))
}

/// Whether `host` (a URL's host, IPv6 in brackets) is loopback or private.
pub fn is_private_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00 // fc00::/7
        }
        Err(_) => false,
    }
}

/// The user's configuration folder of the agent: `$XDG_CONFIG_HOME/kyso-agent`,
/// `~/.config/kyso-agent` (Linux), `%APPDATA%\kyso-agent` (Windows),
/// `~/Library/Application Support/kyso-agent` (macOS).
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    crate::os::config_base()
        .map(|b| b.join("kyso-agent"))
        .ok_or_else(|| {
            ConfigError::new(
                "không tìm thấy thư mục cấu hình của người dùng (HOME chưa đặt)",
                "cannot find the user's configuration folder (HOME is not set)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_normalised() {
        let mut c = AgentConfig {
            allowed_origins: vec!["HTTPS://EOffice.CanTho.gov.vn:443/".into()],
            ..AgentConfig::default()
        };
        c.check().unwrap();
        assert!(c.origin_allowed("https://eoffice.cantho.gov.vn"));
        assert!(!c.origin_allowed("https://eoffice.cantho.gov.vn.evil.example"));
        assert!(!c.origin_allowed("http://eoffice.cantho.gov.vn"));
        assert!(!c.origin_allowed("null"));
        assert!(!c.origin_allowed(""));
        let mut bad = AgentConfig {
            allowed_origins: vec!["https://a.vn/path".into()],
            ..AgentConfig::default()
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn private_hosts() {
        for h in [
            "127.0.0.1",
            "localhost",
            "10.1.2.3",
            "192.168.1.1",
            "[::1]",
            "[fd00::1]",
        ] {
            assert!(is_private_host(h), "{h}");
        }
        for h in [
            "8.8.8.8",
            "eoffice.cantho.gov.vn",
            "[2001:db8::1]",
            "172.32.0.1",
        ] {
            assert!(!is_private_host(h), "{h}");
        }
    }
}
