//! PKCS#11 signing devices behind kyso's [`kyso_signer::Signer`] seam: the USB tokens
//! Vietnamese CAs issue (Viettel-CA, VNPT-CA, VGCA, …) and HSMs, through any vendor
//! module, and SoftHSM2 in tests.
//!
//! * Find keys robustly: by `CKA_ID`, by label, or by the certificate stored on the
//!   token (domestic tokens often carry keys without labels, or several certificates).
//! * Sign with RSA PKCS#1 v1.5, RSA-PSS and ECDSA: the message is hashed on the host and
//!   the digest sent to the token (`CKM_RSA_PKCS` with a DigestInfo, `CKM_RSA_PKCS_PSS`,
//!   `CKM_ECDSA`), which every token supports and keeps the device round-trip small.
//! * PINs are [`Pin`] (zeroized on drop, never printed); the token's remaining-attempt
//!   flags are shown and a locked PIN is never tried; the last attempt needs an explicit
//!   opt-in.
//!
//! What this crate does not do: decide who may use a device (custody and policy live in
//! the office core) or store PINs.

mod device;
mod error;
mod key;

pub use device::{KeyInfo, KeySelector, Module, PinStatus, TokenInfo, TokenSession};
pub use error::Pkcs11Error;
pub use key::TokenKey;

pub use cryptoki;

/// A user PIN, zeroized when dropped, never shown by `Debug`.
pub struct Pin(cryptoki::types::AuthPin);

impl Pin {
    /// Wrap a PIN (taken by value so the caller's copy moves in).
    pub fn new(pin: String) -> Self {
        Self(cryptoki::types::AuthPin::from(pin))
    }

    pub(crate) fn auth(&self) -> &cryptoki::types::AuthPin {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(***)")
    }
}
