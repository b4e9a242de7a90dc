//! The encrypted keystore format: PKCS#8 `EncryptedPrivateKeyInfo` (PBES2 with scrypt
//! and AES-256-CBC), PEM-armoured, readable by `openssl pkey`.
//!
//! The scrypt cost is explicit ([`ScryptCost`]) because the `pkcs8` crate's default
//! costs about 35 ms on a laptop, too cheap against offline guessing of a stolen file.

use der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use zeroize::Zeroizing;

use crate::SignerError;

/// scrypt cost parameters for keystore encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptCost {
    /// log2 of N.
    pub log_n: u8,
    /// Block size r.
    pub r: u32,
    /// Parallelism p.
    pub p: u32,
}

impl ScryptCost {
    /// The default for keys at rest: N = 2^17, r = 8, p = 1 (128 MiB, ~0.3 s here),
    /// as recommended for interactive logins by the scrypt paper's successors (OWASP).
    pub const DEFAULT: Self = Self {
        log_n: 17,
        r: 8,
        p: 1,
    };
    /// A cheap cost for tests and benchmarks only (N = 2^10).
    pub const TESTING: Self = Self {
        log_n: 10,
        r: 8,
        p: 1,
    };
}

impl Default for ScryptCost {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Encrypt an unencrypted PKCS#8 key with `passphrase`, returning PEM
/// (`-----BEGIN ENCRYPTED PRIVATE KEY-----`).
pub fn encrypt_pem(
    pkcs8_der: &[u8],
    passphrase: &[u8],
    cost: ScryptCost,
) -> Result<Zeroizing<String>, SignerError> {
    let info = PrivateKeyInfoRef::try_from(pkcs8_der).map_err(|e| SignerError::MalformedKey {
        reason: e.to_string(),
    })?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    getrandom(&mut salt)?;
    getrandom(&mut iv)?;
    let params = pkcs8::pkcs5::scrypt::Params::new(cost.log_n, cost.r, cost.p)
        .map_err(|e| SignerError::Signing(format!("scrypt parameters: {e}")))?;
    let pbes2 = pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(params, &salt, iv)
        .map_err(|e| SignerError::Signing(format!("PBES2 parameters: {e}")))?;
    let doc = info
        .encrypt_with_params(pbes2, passphrase)
        .map_err(|e| SignerError::Signing(format!("key encryption: {e}")))?;
    let pem = doc
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| SignerError::Signing(format!("PEM: {e}")))?;
    Ok(Zeroizing::new(pem.to_string()))
}

/// Decrypt a keystore entry (PEM or DER `EncryptedPrivateKeyInfo`).
pub fn decrypt(encrypted: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, SignerError> {
    let der_bytes: Vec<u8> = if encrypted.starts_with(b"-----") {
        let text = std::str::from_utf8(encrypted).map_err(|_| SignerError::MalformedKey {
            reason: "PEM is not UTF-8".into(),
        })?;
        let (label, der) =
            der::pem::decode_vec(text.as_bytes()).map_err(|e| SignerError::MalformedKey {
                reason: format!("PEM: {e}"),
            })?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(SignerError::MalformedKey {
                reason: format!("expected an ENCRYPTED PRIVATE KEY, found {label}"),
            });
        }
        der
    } else {
        encrypted.to_vec()
    };
    let info = EncryptedPrivateKeyInfoRef::try_from(der_bytes.as_slice()).map_err(|e| {
        SignerError::MalformedKey {
            reason: e.to_string(),
        }
    })?;
    let doc = info
        .decrypt(passphrase)
        .map_err(|_| SignerError::Decryption)?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

fn getrandom(buf: &mut [u8]) -> Result<(), SignerError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| SignerError::Signing("the operating system's random source failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyKind, SoftKey};

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let pem = encrypt_pem(&key.to_pkcs8_der(), b"m\xe1t kh\xe1u", ScryptCost::TESTING).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = decrypt(pem.as_bytes(), b"m\xe1t kh\xe1u").unwrap();
        assert_eq!(back.as_slice(), key.to_pkcs8_der().as_slice());
        assert!(matches!(
            decrypt(pem.as_bytes(), b"wrong"),
            Err(SignerError::Decryption)
        ));
    }
}
