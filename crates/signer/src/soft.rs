use der::asn1::BitString;
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfoRef;
use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::algorithm::ED25519;
use crate::{KeyKind, SignatureAlgorithm, Signer, SignerError};

/// A private key held in memory, signing through `ring`.
///
/// The PKCS#8 encoding is kept (zeroized on drop) so that the key can be written back
/// to an encrypted keystore; it is never printed by `Debug`.
pub struct SoftKey {
    kind: KeyKind,
    algorithm: SignatureAlgorithm,
    inner: Inner,
    public_key: SubjectPublicKeyInfoOwned,
    pkcs8: Zeroizing<Vec<u8>>,
    rng: SystemRandom,
}

enum Inner {
    Ecdsa(rs::EcdsaKeyPair),
    Rsa(rs::RsaKeyPair),
    Ed25519(rs::Ed25519KeyPair),
}

impl std::fmt::Debug for SoftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftKey")
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SoftKey {
    /// Generate a fresh key of the given kind.
    pub fn generate(kind: KeyKind) -> Result<Self, SignerError> {
        let rng = SystemRandom::new();
        let pkcs8: Zeroizing<Vec<u8>> = match kind {
            KeyKind::P256 => Zeroizing::new(
                rs::EcdsaKeyPair::generate_pkcs8(&rs::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|_| SignerError::Signing("P-256 key generation failed".into()))?
                    .as_ref()
                    .to_vec(),
            ),
            KeyKind::P384 => Zeroizing::new(
                rs::EcdsaKeyPair::generate_pkcs8(&rs::ECDSA_P384_SHA384_ASN1_SIGNING, &rng)
                    .map_err(|_| SignerError::Signing("P-384 key generation failed".into()))?
                    .as_ref()
                    .to_vec(),
            ),
            KeyKind::Ed25519 => {
                // ring emits PKCS#8 v2 (with the public key), which OpenSSL 3.0 cannot
                // read; re-encode as v1 for interoperability.
                let v2 = rs::Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| SignerError::Signing("Ed25519 key generation failed".into()))?;
                let info = PrivateKeyInfoRef::from_der(v2.as_ref())
                    .map_err(|e| malformed(format!("{e}")))?;
                let v1 = pkcs8::PrivateKeyInfoRef {
                    algorithm: info.algorithm,
                    private_key: info.private_key,
                    public_key: None,
                };
                Zeroizing::new(v1.to_der().map_err(|e| malformed(format!("{e}")))?)
            }
            KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => {
                use rsa::pkcs8::EncodePrivateKey;
                let bits = match kind {
                    KeyKind::Rsa2048 => 2048,
                    KeyKind::Rsa3072 => 3072,
                    _ => 4096,
                };
                // Key generation is a one-off local operation; the timing advisory on
                // the `rsa` crate concerns decryption and signing, which ring does.
                let mut rng = rand::rng();
                let key = rsa::RsaPrivateKey::new(&mut rng, bits)
                    .map_err(|e| SignerError::Signing(format!("RSA key generation: {e}")))?;
                let doc = key
                    .to_pkcs8_der()
                    .map_err(|e| SignerError::Signing(format!("RSA key encoding: {e}")))?;
                Zeroizing::new(doc.as_bytes().to_vec())
            }
        };
        Self::from_pkcs8_der(&pkcs8, None)
    }

    /// Load an unencrypted PKCS#8 `PrivateKeyInfo`. `algorithm` chooses e.g. PSS for an
    /// RSA key; `None` picks the kind's default.
    pub fn from_pkcs8_der(
        der: &[u8],
        algorithm: Option<SignatureAlgorithm>,
    ) -> Result<Self, SignerError> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| malformed(format!("{e}")))?;
        let oid = info.algorithm.oid;
        let rng = SystemRandom::new();
        let (kind, inner) = if oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| malformed("EC key without a named curve".into()))?;
            if curve == const_oid::db::rfc5912::SECP_256_R_1 {
                let kp =
                    rs::EcdsaKeyPair::from_pkcs8(&rs::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                        .map_err(|e| malformed(format!("P-256 key rejected: {e}")))?;
                (KeyKind::P256, Inner::Ecdsa(kp))
            } else if curve == const_oid::db::rfc5912::SECP_384_R_1 {
                let kp =
                    rs::EcdsaKeyPair::from_pkcs8(&rs::ECDSA_P384_SHA384_ASN1_SIGNING, der, &rng)
                        .map_err(|e| malformed(format!("P-384 key rejected: {e}")))?;
                (KeyKind::P384, Inner::Ecdsa(kp))
            } else {
                return Err(SignerError::UnsupportedKey(format!(
                    "elliptic curve {curve}"
                )));
            }
        } else if oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
            let kp = rs::RsaKeyPair::from_pkcs8(der)
                .map_err(|e| malformed(format!("RSA key rejected: {e}")))?;
            let kind = match kp.public().modulus_len() * 8 {
                2048 => KeyKind::Rsa2048,
                3072 => KeyKind::Rsa3072,
                4096 => KeyKind::Rsa4096,
                bits => return Err(SignerError::UnsupportedKey(format!("RSA-{bits}"))),
            };
            (kind, Inner::Rsa(kp))
        } else if oid == ED25519 {
            let kp = rs::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| malformed(format!("Ed25519 key rejected: {e}")))?;
            (KeyKind::Ed25519, Inner::Ed25519(kp))
        } else {
            return Err(SignerError::UnsupportedKey(format!("key algorithm {oid}")));
        };
        let algorithm = algorithm.unwrap_or(kind.default_algorithm());
        check_fit(kind, algorithm)?;
        let public_key = public_key_info(&inner, &info)?;
        Ok(Self {
            kind,
            algorithm,
            inner,
            public_key,
            pkcs8: Zeroizing::new(der.to_vec()),
            rng,
        })
    }

    /// The same key with another signature algorithm (e.g. RSA-PSS).
    pub fn with_algorithm(mut self, algorithm: SignatureAlgorithm) -> Result<Self, SignerError> {
        check_fit(self.kind, algorithm)?;
        self.algorithm = algorithm;
        Ok(self)
    }

    /// The key kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The unencrypted PKCS#8 encoding (zeroized when dropped).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }
}

impl Signer for SoftKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let failed = |_| SignerError::Signing(format!("{} signing failed", self.algorithm.name()));
        match &self.inner {
            Inner::Ecdsa(kp) => Ok(kp
                .sign(&self.rng, message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(kp) => Ok(kp.sign(message).as_ref().to_vec()),
            Inner::Rsa(kp) => {
                let padding: &'static dyn rs::RsaEncoding = match self.algorithm {
                    SignatureAlgorithm::RsaPkcs1Sha256 => &rs::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaPkcs1Sha384 => &rs::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaPkcs1Sha512 => &rs::RSA_PKCS1_SHA512,
                    SignatureAlgorithm::RsaPssSha256 => &rs::RSA_PSS_SHA256,
                    SignatureAlgorithm::RsaPssSha384 => &rs::RSA_PSS_SHA384,
                    SignatureAlgorithm::RsaPssSha512 => &rs::RSA_PSS_SHA512,
                    other => {
                        return Err(SignerError::AlgorithmMismatch {
                            algorithm: other.name(),
                            key: "RSA",
                        });
                    }
                };
                let mut out = vec![0u8; kp.public().modulus_len()];
                kp.sign(padding, &self.rng, message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
        }
    }
}

fn check_fit(kind: KeyKind, algorithm: SignatureAlgorithm) -> Result<(), SignerError> {
    let fits = match kind {
        KeyKind::P256 => algorithm == SignatureAlgorithm::EcdsaP256Sha256,
        KeyKind::P384 => algorithm == SignatureAlgorithm::EcdsaP384Sha384,
        KeyKind::Ed25519 => algorithm == SignatureAlgorithm::Ed25519,
        KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => algorithm.is_rsa(),
    };
    if fits {
        Ok(())
    } else {
        Err(SignerError::AlgorithmMismatch {
            algorithm: algorithm.name(),
            key: match kind {
                KeyKind::P256 => "P-256",
                KeyKind::P384 => "P-384",
                KeyKind::Ed25519 => "Ed25519",
                _ => "RSA",
            },
        })
    }
}

fn public_key_info(
    inner: &Inner,
    info: &PrivateKeyInfoRef<'_>,
) -> Result<SubjectPublicKeyInfoOwned, SignerError> {
    let (algorithm, bits) = match inner {
        Inner::Ecdsa(kp) => (
            AlgorithmIdentifierOwned {
                oid: info.algorithm.oid,
                parameters: info.algorithm.parameters.map(der::Any::from),
            },
            kp.public_key().as_ref().to_vec(),
        ),
        Inner::Rsa(kp) => (
            AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
                parameters: Some(der::Any::from(der::asn1::Null)),
            },
            kp.public().as_ref().to_vec(),
        ),
        Inner::Ed25519(kp) => (
            AlgorithmIdentifierOwned {
                oid: ED25519,
                parameters: None,
            },
            kp.public_key().as_ref().to_vec(),
        ),
    };
    let subject_public_key =
        BitString::from_bytes(&bits).map_err(|e| malformed(format!("public key: {e}")))?;
    Ok(SubjectPublicKeyInfoOwned {
        algorithm,
        subject_public_key,
    })
}

fn malformed(reason: String) -> SignerError {
    SignerError::MalformedKey { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify_signature;

    #[test]
    fn every_kind_signs_and_verifies() {
        for kind in [
            KeyKind::P256,
            KeyKind::P384,
            KeyKind::Ed25519,
            KeyKind::Rsa2048,
        ] {
            let key = SoftKey::generate(kind).unwrap();
            let algs: Vec<SignatureAlgorithm> = if kind.is_rsa() {
                vec![
                    SignatureAlgorithm::RsaPkcs1Sha256,
                    SignatureAlgorithm::RsaPssSha256,
                    SignatureAlgorithm::RsaPssSha384,
                ]
            } else {
                vec![kind.default_algorithm()]
            };
            for alg in algs {
                let der = key.to_pkcs8_der();
                let key = SoftKey::from_pkcs8_der(&der, Some(alg)).unwrap();
                let sig = key.sign(b"hello").unwrap();
                verify_signature(
                    key.public_key(),
                    &alg.algorithm_identifier(),
                    b"hello",
                    &sig,
                )
                .unwrap();
                assert!(
                    verify_signature(
                        key.public_key(),
                        &alg.algorithm_identifier(),
                        b"hellO",
                        &sig
                    )
                    .is_err(),
                    "{alg:?} accepted a changed message"
                );
            }
        }
    }

    #[test]
    fn mismatched_algorithm_is_refused() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        assert!(matches!(
            key.with_algorithm(SignatureAlgorithm::RsaPssSha256),
            Err(SignerError::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("pkcs8"), "{shown}");
    }
}
