//! The data directory: keystore (encrypted PKCS#8 + certificate chain), trust store,
//! CA directory. Files are written atomically (temporary file, fsync, rename) so a
//! crash never leaves half a key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use der::Encode;
use kyso_signer::keystore::{self, ScryptCost};
use kyso_signer::{SignatureAlgorithm, SoftKey};
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
    let mut out = String::new();
    for c in certs {
        out.push_str(&der::pem::encode_string(
            "CERTIFICATE",
            der::pem::LineEnding::LF,
            &c.to_der()?,
        )?);
    }
    Ok(out)
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
#[derive(Debug, Clone)]
pub(crate) struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    pub(crate) fn new(data: &Path) -> Self {
        Self {
            dir: data.join("keys"),
        }
    }

    pub(crate) fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn paths(&self, name: &str) -> Result<(PathBuf, PathBuf)> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            bail!("keystore entry name {name:?} must use only letters, digits, '-', '_' and '.'");
        }
        Ok((
            self.dir.join(format!("{name}.key.pem")),
            self.dir.join(format!("{name}.chain.pem")),
        ))
    }

    pub(crate) fn save(
        &self,
        name: &str,
        pkcs8: &[u8],
        chain: &[Certificate],
        passphrase: &str,
        cost: ScryptCost,
    ) -> Result<()> {
        let (key_path, chain_path) = self.paths(name)?;
        if key_path.exists() {
            bail!(
                "keystore entry {name} already exists ({})",
                key_path.display()
            );
        }
        let pem = keystore::encrypt_pem(pkcs8, passphrase.as_bytes(), cost)?;
        write_atomic(&chain_path, certificates_to_pem(chain)?.as_bytes(), false)?;
        write_atomic(&key_path, pem.as_bytes(), true)?;
        Ok(())
    }

    pub(crate) fn load(
        &self,
        name: &str,
        passphrase: &str,
        algorithm: Option<SignatureAlgorithm>,
    ) -> Result<(SoftKey, Vec<Certificate>)> {
        let (key_path, chain_path) = self.paths(name)?;
        let encrypted = fs::read(&key_path)
            .with_context(|| format!("no keystore entry {name} ({})", key_path.display()))?;
        let pkcs8 = keystore::decrypt(&encrypted, passphrase.as_bytes())
            .with_context(|| format!("cannot open keystore entry {name}"))?;
        let key = SoftKey::from_pkcs8_der(&pkcs8, algorithm)?;
        let chain = read_certificates(&chain_path)?;
        Ok((key, chain))
    }

    pub(crate) fn chain(&self, name: &str) -> Result<Vec<Certificate>> {
        let (_, chain_path) = self.paths(name)?;
        read_certificates(&chain_path)
    }

    pub(crate) fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            if let Some(n) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".key.pem"))
            {
                out.push(n.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
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
