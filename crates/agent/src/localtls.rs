//! The agent's local TLS: pages hard-code `wss://127.0.0.1:8987`, so the browser must
//! trust a certificate for 127.0.0.1. Each installation makes its own root and one
//! server certificate for `127.0.0.1` / `localhost` (kyso's own CA code), writes the
//! server key for the user only, and throws the root's key away at once: no key exists
//! that could make another certificate the browsers would trust, and nothing is shared
//! between installations.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use der::{Decode, Encode};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, issue};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

use crate::config::ConfigError;

/// The name under which the root is put in trust stores.
pub const TRUST_NAME: &str = "kyso-agent-local-root";

/// How long the local certificates last.
pub const VALIDITY_DAYS: i64 = 825;

/// The files of the local TLS in `dir`.
#[derive(Debug, Clone)]
pub struct LocalTls {
    /// Server certificate then root (PEM).
    pub cert: PathBuf,
    /// Server key (PKCS#8 PEM, 0600).
    pub key: PathBuf,
    /// The root alone (PEM): what trust stores get.
    pub root: PathBuf,
}

impl LocalTls {
    /// The file names in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            cert: dir.join("agent.crt.pem"),
            key: dir.join("agent.key.pem"),
            root: dir.join("root.crt.pem"),
        }
    }

    /// Whether the files exist.
    pub fn exists(&self) -> bool {
        self.cert.exists() && self.key.exists() && self.root.exists()
    }

    /// When the server certificate expires.
    pub fn not_after(&self) -> Result<OffsetDateTime, ConfigError> {
        let text = std::fs::read_to_string(&self.cert).map_err(|e| read(&self.cert, e))?;
        let (_, der) = der::pem::decode_vec(text.as_bytes()).map_err(|e| read(&self.cert, e))?;
        let c = Certificate::from_der(&der).map_err(|e| read(&self.cert, e))?;
        let t = c.tbs_certificate().validity().not_after.to_unix_duration();
        OffsetDateTime::from_unix_timestamp(t.as_secs() as i64).map_err(|e| read(&self.cert, e))
    }
}

fn read(p: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(
        format!("không đọc được {}: {e}", p.display()),
        format!("cannot read {}: {e}", p.display()),
    )
}

fn ca_error(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(
        format!("không tạo được chứng thư TLS cục bộ: {e}"),
        format!("cannot make the local TLS certificate: {e}"),
    )
}

fn request(profile: Profile, cn: &str, key: &dyn Signer, now: OffsetDateTime) -> IssueRequest {
    let mut serial = [0u8; 16];
    rand::fill(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    let tls = profile == Profile::Tls;
    IssueRequest {
        profile,
        subject: SubjectName {
            common_name: cn.into(),
            organization: Some("kyso agent (máy này)".into()),
            country: "VN".into(),
            ..SubjectName::default()
        },
        public_key: key.public_key().clone(),
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(VALIDITY_DAYS + if tls { 0 } else { 1 }),
        serial,
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: if tls {
            vec!["localhost".into()]
        } else {
            Vec::new()
        },
        ip_addresses: if tls {
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        } else {
            Vec::new()
        },
        path_len: if tls { None } else { Some(0) },
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// Makes a new root and server certificate in `dir` (replacing earlier ones); the
/// root's key never leaves this function.
pub fn create(dir: &Path, now: OffsetDateTime) -> Result<LocalTls, ConfigError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let files = LocalTls::in_dir(dir);
    std::fs::create_dir_all(dir).map_err(|e| read(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let root_key = SoftKey::generate(KeyKind::P256).map_err(ca_error)?;
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let root_cn = if host.is_empty() {
        "kyso agent — gốc cục bộ".to_string()
    } else {
        format!("kyso agent — gốc cục bộ {host}")
    };
    let root = issue(
        &request(Profile::RootCa, &root_cn, &root_key, now),
        None,
        Some(&root_key),
    )
    .map_err(ca_error)?;
    let key = SoftKey::generate(KeyKind::P256).map_err(ca_error)?;
    let leaf = issue(
        &request(Profile::Tls, "127.0.0.1", &key, now),
        Some(&Issuer {
            certificate: &root,
            key: &root_key,
        }),
        None,
    )
    .map_err(ca_error)?;
    drop(root_key);
    let root_der = root.to_der().map_err(ca_error)?;
    let leaf_der = leaf.to_der().map_err(ca_error)?;
    let write = |path: &Path, text: &str, private: bool| {
        kyso_store::write_atomic(path, text.as_bytes(), private).map_err(|e| {
            ConfigError::new(
                format!("không ghi được {}: {e}", path.display()),
                format!("cannot write {}: {e}", path.display()),
            )
        })
    };
    write(&files.key, &pem("PRIVATE KEY", &key.to_pkcs8_der()), true)?;
    write(
        &files.cert,
        &format!(
            "{}{}",
            pem("CERTIFICATE", &leaf_der),
            pem("CERTIFICATE", &root_der)
        ),
        false,
    )?;
    write(&files.root, &pem("CERTIFICATE", &root_der), false)?;
    Ok(files)
}
