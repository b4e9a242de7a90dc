//! The dated algorithm policy (cryptographic constraints, ETSI EN 319 102-1 §5.2.8,
//! with ETSI TS 119 312 as the reference for the dates).
//!
//! Every algorithm in use in Vietnam is *verified*; an algorithm that is no longer
//! considered strong is a policy finding with a cut-off date, never "unsupported". The
//! caller compares the cut-off with the time the signature is proven to have existed
//! (a trusted time-stamp, else the validation time): before the cut-off the signature
//! is acceptable with a warning; after it, the result is INDETERMINATE /
//! CRYPTO_CONSTRAINTS_FAILURE_NO_POE (nothing proves the signature was made while the
//! algorithm was still reliable).
//!
//! Defaults (kyso's reading of ETSI TS 119 312 and its predecessor TS 102 176-1, which
//! withdrew SHA-1 for the creation of signatures and certificate signatures; SOG-IS
//! lists it as legacy only): **SHA-1 in any signature (message digest, signed
//! attributes, certificate / CRL / OCSP signatures) is reliable until
//! 2016-01-01T00:00:00Z**; **RSA keys of 1024–2047 bits until 2014-01-01T00:00:00Z**
//! (1024-bit RSA left TS 119 312's lists; NIST SP 800-131A disallowed it for signatures
//! after 2013). Shorter RSA keys are not verified at all. The self-signature of a trust anchor is not an algorithm in
//! use (the anchor is trusted as such) and is never a finding.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_1, SHA_1_WITH_RSA_ENCRYPTION};
use kyso_signer::DigestAlgorithm;
use spki::SubjectPublicKeyInfoOwned;
use time::OffsetDateTime;
use time::macros::datetime;
use x509_cert::Certificate;

/// RSA modulus length in bits, for an RSA key.
fn rsa_bits(key: &SubjectPublicKeyInfoOwned) -> Option<usize> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    if key.algorithm.oid != const_oid::db::rfc5912::RSA_ENCRYPTION {
        return None;
    }
    let key = rsa::RsaPublicKey::from_pkcs1_der(key.subject_public_key.raw_bytes()).ok()?;
    Some(key.n().bit_width() as usize)
}

/// ecdsa-with-SHA1 (RFC 5758).
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// Until when each weak algorithm is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    /// SHA-1 as the hash of any signature is reliable strictly before this time.
    pub sha1_until: OffsetDateTime,
    /// RSA keys of 1024 to 2047 bits are reliable strictly before this time (shorter
    /// keys are never verified).
    pub rsa_below_2048_until: OffsetDateTime,
}

impl AlgorithmPolicy {
    /// The default cut-off for SHA-1 (see the module documentation).
    pub const DEFAULT_SHA1_UNTIL: OffsetDateTime = datetime!(2016-01-01 00:00 UTC);
    /// The default cut-off for RSA keys shorter than 2048 bits.
    pub const DEFAULT_RSA_BELOW_2048_UNTIL: OffsetDateTime = datetime!(2014-01-01 00:00 UTC);
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            sha1_until: Self::DEFAULT_SHA1_UNTIL,
            rsa_below_2048_until: Self::DEFAULT_RSA_BELOW_2048_UNTIL,
        }
    }
}

/// One use of a weak algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakAlgorithm {
    /// The algorithm ("SHA-1", "sha1WithRSAEncryption").
    pub algorithm: &'static str,
    /// Where it is used: `None` for the signature itself, else the subject of the
    /// certificate whose issuer signature uses it.
    pub certificate: Option<String>,
    /// Acceptable strictly before this time.
    pub until: OffsetDateTime,
}

impl WeakAlgorithm {
    /// True when nothing proves use before the cut-off: `proof_of_existence` is at or
    /// after it.
    pub fn expired_at(&self, proof_of_existence: OffsetDateTime) -> bool {
        proof_of_existence >= self.until
    }
}

impl AlgorithmPolicy {
    /// The cut-off for a digest algorithm, when it is weak.
    pub fn digest(&self, digest: DigestAlgorithm) -> Option<WeakAlgorithm> {
        (digest == DigestAlgorithm::Sha1).then_some(WeakAlgorithm {
            algorithm: "SHA-1",
            certificate: None,
            until: self.sha1_until,
        })
    }

    /// The cut-off for a signature algorithm identifier, when it is weak.
    pub fn signature_algorithm(&self, oid: &ObjectIdentifier) -> Option<WeakAlgorithm> {
        let name = match *oid {
            o if o == SHA_1_WITH_RSA_ENCRYPTION => "sha1WithRSAEncryption",
            o if o == ECDSA_WITH_SHA_1 => "ecdsa-with-SHA1",
            o if o == ID_SHA_1 => "SHA-1",
            _ => return None,
        };
        Some(WeakAlgorithm {
            algorithm: name,
            certificate: None,
            until: self.sha1_until,
        })
    }

    /// The cut-off for a public key that verifies signatures, when it is weak (RSA
    /// shorter than 2048 bits).
    pub fn key(&self, key: &SubjectPublicKeyInfoOwned) -> Option<WeakAlgorithm> {
        let bits = rsa_bits(key)?;
        (bits < 2048).then_some(WeakAlgorithm {
            algorithm: if bits <= 1024 {
                "RSA-1024"
            } else {
                "RSA shorter than 2048 bits"
            },
            certificate: None,
            until: self.rsa_below_2048_until,
        })
    }

    /// The weak issuer signatures on a validated path (end entity first, anchor last):
    /// their algorithm and the issuer's key. The anchor's own self-signature is not
    /// checked.
    pub fn path(&self, path: &[Certificate]) -> Vec<WeakAlgorithm> {
        let mut out = Vec::new();
        for (i, c) in path.iter().enumerate().take(path.len().saturating_sub(1)) {
            let subject = crate::name::display(c.tbs_certificate().subject());
            let issuer_key = path[i + 1].tbs_certificate().subject_public_key_info();
            for w in [
                self.signature_algorithm(&c.signature_algorithm().oid),
                self.key(issuer_key),
            ]
            .into_iter()
            .flatten()
            {
                out.push(WeakAlgorithm {
                    certificate: Some(subject.clone()),
                    ..w
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_weak_from_the_cut_off() {
        let p = AlgorithmPolicy::default();
        let w = p.digest(DigestAlgorithm::Sha1).unwrap();
        assert!(!w.expired_at(datetime!(2015-12-31 23:59:59 UTC)));
        assert!(w.expired_at(datetime!(2016-01-01 00:00 UTC)));
        assert!(p.digest(DigestAlgorithm::Sha256).is_none());
        assert!(p.signature_algorithm(&SHA_1_WITH_RSA_ENCRYPTION).is_some());
        assert!(
            p.signature_algorithm(&const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION)
                .is_none()
        );
    }
}
