use crate::PinStatus;

/// Errors from a PKCS#11 device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module (shared library) could not be loaded or initialised.
    #[error("cannot load PKCS#11 module {path}: {reason}")]
    Module {
        /// Module path.
        path: String,
        /// Why.
        reason: String,
    },
    /// No token matches.
    #[error("no token found{0}")]
    NoToken(String),
    /// Several tokens match; say which.
    #[error(
        "several tokens are present ({0}); choose one by --slot, --token-label or --token-serial"
    )]
    AmbiguousToken(String),
    /// The user PIN is locked on the device.
    #[error(
        "the token's user PIN is locked (too many wrong attempts); the security officer must unblock it / mã PIN đã bị khóa"
    )]
    PinLocked,
    /// One attempt remains and the caller did not allow using it.
    #[error(
        "only one PIN attempt remains before the token locks; retry with the final attempt explicitly allowed / chỉ còn một lần nhập PIN"
    )]
    FinalTry,
    /// Wrong PIN; the token's flags after the attempt.
    #[error("wrong PIN / sai mã PIN{}", .0.describe())]
    WrongPin(PinStatus),
    /// No key matches the selector.
    #[error("no signing key on the token matches {0}")]
    NoKey(String),
    /// Several keys match; say which.
    #[error("several signing keys match ({0}); choose one by --key-id, --key-label or --cert")]
    AmbiguousKey(String),
    /// The key type or mechanism is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Any other PKCS#11 failure.
    #[error("PKCS#11: {0}")]
    Device(String),
}

impl From<cryptoki::error::Error> for Pkcs11Error {
    fn from(e: cryptoki::error::Error) -> Self {
        Self::Device(e.to_string())
    }
}

impl From<Pkcs11Error> for kyso_signer::SignerError {
    fn from(e: Pkcs11Error) -> Self {
        kyso_signer::SignerError::Device(e.to_string())
    }
}
