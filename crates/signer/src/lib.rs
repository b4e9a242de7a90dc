//! The key seam of kyso: signature algorithms, the [`Signer`] trait, software keys,
//! the encrypted keystore format, PKCS#12 import and raw signature verification.
//!
//! Every higher layer (certificate issuance, CMS, PDF, exchange receipts) signs in two
//! steps: it builds the to-be-signed bytes, hands them to any [`Signer`] and assembles
//! the result. Whether the key is a file, a PKCS#11 token or a remote service is
//! invisible above this crate.
//!
//! Software RSA signing uses `ring` (constant-time, blinded), not the `rsa` crate,
//! because of RUSTSEC-2023-0071; the `rsa` crate is used only for key generation and
//! verification, which the advisory does not affect.
//!
//! This crate does no file or network I/O: keys come in and go out as bytes.

mod algorithm;
mod error;
pub mod keystore;
pub mod pkcs12;
mod soft;
mod verify;

pub use algorithm::{DigestAlgorithm, Hasher, KeyKind, SignatureAlgorithm};
pub use error::SignerError;
pub use soft::SoftKey;
pub use verify::{VerifyError, verify_prehashed, verify_signature, verify_signature_with_digest};

pub use der;
pub use spki;
pub use zeroize;

use spki::SubjectPublicKeyInfoOwned;

/// A private key that can sign, wherever it lives.
///
/// `sign` receives the complete to-be-signed message (for CMS: the DER of the signed
/// attributes; for X.509: the DER of the `TBSCertificate`) and hashes it with
/// [`SignatureAlgorithm::digest`] itself, as tokens expect either the message or its
/// digest depending on the mechanism. ECDSA signatures are returned DER-encoded
/// (`Ecdsa-Sig-Value`), as X.509 and CMS carry them.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The algorithm this key signs with.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// The subject public key info matching the private key.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Sign `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

impl<T: Signer + ?Sized> Signer for &T {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(message)
    }
}

impl<T: Signer + ?Sized> Signer for Box<T> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(message)
    }
}

impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(message)
    }
}
