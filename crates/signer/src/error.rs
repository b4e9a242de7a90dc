/// Errors from key handling and signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key bytes could not be parsed as the expected format.
    #[error("the private key could not be read: {reason}")]
    MalformedKey {
        /// What was wrong.
        reason: String,
    },
    /// The key type or size is not supported.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The requested signature algorithm does not fit the key.
    #[error("signature algorithm {algorithm} cannot be used with a {key} key")]
    AlgorithmMismatch {
        /// Requested algorithm.
        algorithm: &'static str,
        /// Key kind.
        key: &'static str,
    },
    /// Decryption of an encrypted key failed: wrong passphrase or corrupted file.
    #[error("wrong passphrase, or the encrypted key is damaged")]
    Decryption,
    /// The underlying crypto provider refused to sign.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A PKCS#12 file could not be imported.
    #[error("PKCS#12 file: {0}")]
    Pkcs12(String),
    /// A device (token, HSM) error.
    #[error("signing device: {0}")]
    Device(String),
}
