use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::{Any, Decode, Encode, asn1::Null};
use spki::AlgorithmIdentifierOwned;

/// A digest algorithm used for signing and for message digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1: accepted only when verifying legacy material, never produced.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => rfc5912::ID_SHA_1,
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// Recognise a digest OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|d| d.oid() == *oid)
    }

    /// The `AlgorithmIdentifier` with absent parameters (RFC 5754 §2: SHOULD omit).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Name as used in reports (`SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Digest `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut hasher = self.hasher();
        hasher.update(data);
        hasher.finish()
    }

    /// An incremental hasher.
    pub fn hasher(self) -> Hasher {
        use sha2::Digest;
        match self {
            Self::Sha1 => Hasher::Sha1(ring::digest::Context::new(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            )),
            Self::Sha256 => Hasher::Ring(ring::digest::Context::new(&ring::digest::SHA256)),
            Self::Sha384 => Hasher::Ring(ring::digest::Context::new(&ring::digest::SHA384)),
            Self::Sha512 => Hasher::Sha512(Box::new(sha2::Sha512::new())),
        }
    }
}

/// Incremental hashing (ring's assembly SHA-2 where it has it).
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub enum Hasher {
    #[doc(hidden)]
    Ring(ring::digest::Context),
    #[doc(hidden)]
    Sha1(ring::digest::Context),
    #[doc(hidden)]
    Sha512(Box<sha2::Sha512>),
}

impl Hasher {
    /// Feed bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Ring(c) | Self::Sha1(c) => c.update(data),
            Self::Sha512(h) => sha2::Digest::update(h.as_mut(), data),
        }
    }
    /// Finish and return the digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Ring(c) | Self::Sha1(c) => c.finish().as_ref().to_vec(),
            Self::Sha512(h) => sha2::Digest::finalize(*h).to_vec(),
        }
    }
}

/// The kind and size of a key, for generation and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA 2048-bit.
    Rsa2048,
    /// RSA 3072-bit.
    Rsa3072,
    /// RSA 4096-bit.
    Rsa4096,
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// Parse the names used on the command line (`rsa2048`, `p256`, …).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa-2048" | "rsa" => Self::Rsa2048,
            "rsa3072" | "rsa-3072" => Self::Rsa3072,
            "rsa4096" | "rsa-4096" => Self::Rsa4096,
            "p256" | "p-256" | "ecdsa-p256" | "ec" => Self::P256,
            "p384" | "p-384" | "ecdsa-p384" => Self::P384,
            "ed25519" => Self::Ed25519,
            _ => return None,
        })
    }

    /// The default signature algorithm for this key kind.
    pub fn default_algorithm(self) -> SignatureAlgorithm {
        match self {
            Self::Rsa2048 | Self::Rsa3072 => SignatureAlgorithm::RsaPkcs1Sha256,
            Self::Rsa4096 => SignatureAlgorithm::RsaPkcs1Sha384,
            Self::P256 => SignatureAlgorithm::EcdsaP256Sha256,
            Self::P384 => SignatureAlgorithm::EcdsaP384Sha384,
            Self::Ed25519 => SignatureAlgorithm::Ed25519,
        }
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }
}

/// A signature algorithm kyso can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384Sha384,
    /// Ed25519 (pure; CMS digests with SHA-512 per RFC 8419).
    Ed25519,
}

impl SignatureAlgorithm {
    /// kyso's default algorithm for a public key: RSA PKCS#1 v1.5 with SHA-256 (SHA-384
    /// from 4096 bits up), or PSS when `pss`; ECDSA with the curve's hash on P-256 and
    /// P-384; Ed25519. `None` for other keys (and `pss` with a key that is not RSA).
    pub fn for_public_key(key: &spki::SubjectPublicKeyInfoOwned, pss: bool) -> Option<Self> {
        let oid = key.algorithm.oid;
        let algorithm = if oid == rfc5912::RSA_ENCRYPTION {
            // The DER RSAPublicKey is ~270 bytes for RSA-2048, ~398 for 3072 and ~526
            // for 4096.
            let base = if key.subject_public_key.raw_bytes().len() >= 520 {
                Self::RsaPkcs1Sha384
            } else {
                Self::RsaPkcs1Sha256
            };
            if pss { base.to_pss() } else { base }
        } else if oid == rfc5912::ID_EC_PUBLIC_KEY {
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())?;
            if curve == rfc5912::SECP_256_R_1 {
                Self::EcdsaP256Sha256
            } else if curve == rfc5912::SECP_384_R_1 {
                Self::EcdsaP384Sha384
            } else {
                return None;
            }
        } else if oid == const_oid::db::rfc8410::ID_ED_25519 {
            Self::Ed25519
        } else {
            return None;
        };
        (!pss || algorithm.is_pss()).then_some(algorithm)
    }

    /// The digest used to hash the message before signing.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::RsaPkcs1Sha256 | Self::RsaPssSha256 | Self::EcdsaP256Sha256 => {
                DigestAlgorithm::Sha256
            }
            Self::RsaPkcs1Sha384 | Self::RsaPssSha384 | Self::EcdsaP384Sha384 => {
                DigestAlgorithm::Sha384
            }
            Self::RsaPkcs1Sha512 | Self::RsaPssSha512 | Self::Ed25519 => DigestAlgorithm::Sha512,
        }
    }

    /// Whether this is an RSA algorithm.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::RsaPkcs1Sha256
                | Self::RsaPkcs1Sha384
                | Self::RsaPkcs1Sha512
                | Self::RsaPssSha256
                | Self::RsaPssSha384
                | Self::RsaPssSha512
        )
    }

    /// Whether this is RSASSA-PSS.
    pub fn is_pss(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512
        )
    }

    /// The PSS variant of an RSA algorithm (same hash), or `self`.
    pub fn to_pss(self) -> Self {
        match self {
            Self::RsaPkcs1Sha256 => Self::RsaPssSha256,
            Self::RsaPkcs1Sha384 => Self::RsaPssSha384,
            Self::RsaPkcs1Sha512 => Self::RsaPssSha512,
            other => other,
        }
    }

    /// Short name for reports (`ECDSA-P256-SHA256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1Sha256 => "RSA-PKCS1v1.5-SHA256",
            Self::RsaPkcs1Sha384 => "RSA-PKCS1v1.5-SHA384",
            Self::RsaPkcs1Sha512 => "RSA-PKCS1v1.5-SHA512",
            Self::RsaPssSha256 => "RSA-PSS-SHA256",
            Self::RsaPssSha384 => "RSA-PSS-SHA384",
            Self::RsaPssSha512 => "RSA-PSS-SHA512",
            Self::EcdsaP256Sha256 => "ECDSA-P256-SHA256",
            Self::EcdsaP384Sha384 => "ECDSA-P384-SHA384",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// The `AlgorithmIdentifier` placed in certificates, CRLs, OCSP responses and
    /// CMS `SignerInfo.signatureAlgorithm`.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        let null = || Some(Any::from(Null));
        match self {
            Self::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: null(),
            },
            Self::RsaPkcs1Sha384 => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
                parameters: null(),
            },
            Self::RsaPkcs1Sha512 => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
                parameters: null(),
            },
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512 => {
                AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_RSASSA_PSS,
                    parameters: Some(pss_params(self.digest())),
                }
            }
            Self::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_256,
                parameters: None,
            },
            Self::EcdsaP384Sha384 => AlgorithmIdentifierOwned {
                oid: rfc5912::ECDSA_WITH_SHA_384,
                parameters: None,
            },
            Self::Ed25519 => AlgorithmIdentifierOwned {
                oid: ED25519,
                parameters: None,
            },
        }
    }
}

/// id-Ed25519 (RFC 8410).
pub(crate) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// RSASSA-PSS-params for a hash with MGF1 of the same hash and salt = hash length.
fn pss_params(digest: DigestAlgorithm) -> Any {
    use pkcs1::RsaPssParamsRef;
    let params: RsaPssParamsRef<'_> = match digest {
        DigestAlgorithm::Sha384 => RsaPssParamsRef::new::<sha2::Sha384>(48),
        DigestAlgorithm::Sha512 => RsaPssParamsRef::new::<sha2::Sha512>(64),
        _ => RsaPssParamsRef::new::<sha2::Sha256>(32),
    };
    // Invariant: these parameters are built from constants and always encode.
    let der = params.to_der().expect("constant PSS parameters encode");
    Any::from_der(&der).expect("freshly encoded DER decodes")
}
