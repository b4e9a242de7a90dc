//! Local plumbing: the data directory, passphrase prompts, the keystore (kept by
//! kyso-app: encrypted PKCS#8 + certificate chain), certificate files. Files are written
//! atomically (temporary file, fsync, rename) so a crash never leaves half a key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kyso_signer::keystore::ScryptCost;
use x509_cert::Certificate;
use zeroize::Zeroizing;

/// Resolve the data directory: `--data`, else `KYSO_DATA`, else `$XDG_DATA_HOME/kyso`,
/// else `~/.local/share/kyso`.
pub(crate) fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("KYSO_DATA").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(p).join("kyso");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/kyso")
}

/// Write a file atomically; `private` restricts it to the owner (0600).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    Ok(kyso_store::write_atomic(path, bytes, private)?)
}

/// Read certificates from PEM (one or more) or a single DER file.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Certificate>> {
    Ok(kyso_app::trust::read_certificates(path)?)
}

/// DER bytes of every PEM block with `label`.
pub(crate) fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    kyso_app::trust::pem_blocks(text, label)
}

pub(crate) fn certificates_to_pem(certs: &[Certificate]) -> Result<String> {
    Ok(kyso_app::signing::certificates_to_pem(certs)?)
}

/// Read a CRL file (DER or PEM) as DER.
pub(crate) fn read_crl(path: &Path) -> Result<Vec<u8>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"-----") {
        let text = std::str::from_utf8(&bytes).context("PEM file is not UTF-8")?;
        pem_blocks(text, "X509 CRL")
            .into_iter()
            .next()
            .with_context(|| format!("{} has no X509 CRL block", path.display()))
    } else {
        Ok(bytes)
    }
}

/// The passphrase for keys: `KYSO_PASSPHRASE`, else a prompt on the terminal.
pub(crate) fn passphrase(prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("KYSO_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let p = rpassword::prompt_password(prompt)
        .context("no KYSO_PASSPHRASE set and no terminal to ask for the passphrase")?;
    Ok(Zeroizing::new(p))
}

/// The keystore: `<data>/keys/<name>.key.pem` (encrypted) and `<name>.chain.pem`.
pub(crate) use kyso_app::signing::Keystore;

/// The CA's passphrase: `KYSO_CA_PASSPHRASE`, else a prompt on the terminal.
pub(crate) fn ca_passphrase() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("KYSO_CA_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    passphrase("Mật khẩu khóa của CA (CA passphrase): ")
}

static DEFAULT_LOG_N: std::sync::OnceLock<u8> = std::sync::OnceLock::new();

/// Lower the default scrypt cost for this process (the demo's throw-away keys).
pub(crate) fn set_default_scrypt_log_n(log_n: u8) {
    let _ = DEFAULT_LOG_N.set(log_n);
}

/// scrypt cost for new keystore entries: `KYSO_SCRYPT_LOG_N` (10..=20) may change it,
/// e.g. lower for tests; the default is [`ScryptCost::DEFAULT`].
pub(crate) fn scrypt_cost() -> ScryptCost {
    let chosen = std::env::var("KYSO_SCRYPT_LOG_N")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
        .or_else(|| DEFAULT_LOG_N.get().copied());
    match chosen {
        Some(log_n) if (10..=20).contains(&log_n) => ScryptCost {
            log_n,
            ..ScryptCost::DEFAULT
        },
        _ => ScryptCost::DEFAULT,
    }
}

/// Load trust anchors from files or directories of PEM/DER certificates.
pub(crate) fn load_anchors(paths: &[PathBuf]) -> Result<(kyso_pki::path::TrustAnchors, usize)> {
    Ok(kyso_app::trust::load_anchors(paths)?)
}
