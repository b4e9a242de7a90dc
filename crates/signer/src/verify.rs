use const_oid::db::rfc5912;
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::DigestAlgorithm;
use crate::algorithm::ED25519;

/// Why a raw signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature does not match the message and key.
    #[error("the signature value does not match the signed data and the public key")]
    BadSignature,
    /// The algorithm is not supported (reported, never treated as valid).
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The algorithm does not fit the key (e.g. ECDSA on an RSA key).
    #[error("signature algorithm {algorithm} does not fit the {key} public key")]
    KeyMismatch {
        /// Signature algorithm OID.
        algorithm: String,
        /// Key algorithm.
        key: String,
    },
    /// The public key could not be parsed.
    #[error("malformed public key: {0}")]
    MalformedKey(String),
    /// RSA keys below 1024 bits are never verified.
    #[error("RSA key of {0} bits is below the 1024-bit minimum")]
    WeakKey(usize),
}

/// Verify `signature` over `message` with the public key and the signature
/// `AlgorithmIdentifier` as found in a certificate, CRL, OCSP response or CMS
/// `SignerInfo`. For ECDSA, the signature is DER `Ecdsa-Sig-Value`.
///
/// `digest_hint` covers CMS, where `signatureAlgorithm` may be the bare key algorithm
/// (`rsaEncryption`, `id-ecPublicKey`) and the hash is named by `digestAlgorithm`.
pub fn verify_signature_with_digest(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    verify_inner(
        key,
        algorithm,
        digest_hint,
        Input::Message(message),
        signature,
    )
}

/// Verify `signature` over a message of which only the digest `hashed` (computed with
/// `digest`) is known: CMS without signed attributes signs the content's digest (RFC
/// 5652 §5.4). RSA PKCS#1 v1.5, RSA-PSS and ECDSA; Ed25519 signs the message itself
/// and is refused here (`UnsupportedAlgorithm`).
pub fn verify_prehashed(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    verify_inner(
        key,
        algorithm,
        Some(digest),
        Input::Prehashed(digest, hashed),
        signature,
    )
}

/// What was signed: the message, or its digest.
#[derive(Clone, Copy)]
enum Input<'a> {
    Message(&'a [u8]),
    Prehashed(DigestAlgorithm, &'a [u8]),
}

impl Input<'_> {
    fn hashed(self, digest: DigestAlgorithm) -> Result<Vec<u8>, VerifyError> {
        match self {
            Input::Message(m) => Ok(digest.digest(m)),
            Input::Prehashed(d, h) if d == digest => Ok(h.to_vec()),
            Input::Prehashed(d, _) => Err(VerifyError::UnsupportedAlgorithm(format!(
                "the signature algorithm uses {} but the content digest is {}",
                digest.name(),
                d.name()
            ))),
        }
    }
}

fn verify_inner(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    input: Input<'_>,
    signature: &[u8],
) -> Result<(), VerifyError> {
    let key_oid = key.algorithm.oid;
    let oid = algorithm.oid;
    let key_bytes = key.subject_public_key.raw_bytes();
    let mismatch = || VerifyError::KeyMismatch {
        algorithm: oid.to_string(),
        key: key_oid.to_string(),
    };

    // RSA PKCS#1 v1.5
    let pkcs1_digest = match oid {
        o if o == rfc5912::SHA_1_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha1),
        o if o == rfc5912::SHA_256_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha256),
        o if o == rfc5912::SHA_384_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha384),
        o if o == rfc5912::SHA_512_WITH_RSA_ENCRYPTION => Some(DigestAlgorithm::Sha512),
        o if o == rfc5912::RSA_ENCRYPTION => digest_hint,
        _ => None,
    };
    if let Some(digest) = pkcs1_digest {
        if key_oid != rfc5912::RSA_ENCRYPTION {
            return Err(mismatch());
        }
        let public = rsa_key(key_bytes)?;
        let hashed = input.hashed(digest)?;
        let scheme = match digest {
            DigestAlgorithm::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            DigestAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            DigestAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            DigestAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        return public
            .verify(scheme, &hashed, signature)
            .map_err(|_| VerifyError::BadSignature);
    }
    if oid == rfc5912::RSA_ENCRYPTION {
        return Err(VerifyError::UnsupportedAlgorithm(
            "rsaEncryption without a digest algorithm".into(),
        ));
    }

    // RSASSA-PSS
    if oid == rfc5912::ID_RSASSA_PSS {
        if key_oid != rfc5912::RSA_ENCRYPTION && key_oid != rfc5912::ID_RSASSA_PSS {
            return Err(mismatch());
        }
        let params = algorithm.parameters.as_ref().ok_or_else(|| {
            VerifyError::UnsupportedAlgorithm("RSA-PSS without parameters".into())
        })?;
        let params_der = params
            .to_der()
            .map_err(|e| VerifyError::UnsupportedAlgorithm(format!("RSA-PSS parameters: {e}")))?;
        let params = PssParams::from_der(&params_der)
            .map_err(|e| VerifyError::UnsupportedAlgorithm(format!("RSA-PSS parameters: {e}")))?;
        let hash_oid = params
            .hash
            .as_ref()
            .map(|h| h.oid)
            .unwrap_or(rfc5912::ID_SHA_1);
        let digest = DigestAlgorithm::from_oid(&hash_oid)
            .ok_or_else(|| VerifyError::UnsupportedAlgorithm(format!("RSA-PSS hash {hash_oid}")))?;
        let mgf_oid = params
            .mask_gen
            .as_ref()
            .map(|m| m.oid)
            .unwrap_or(rfc5912::ID_MGF_1);
        let mgf_hash = params
            .mask_gen
            .as_ref()
            .and_then(|m| m.parameters.as_ref())
            .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
            .map(|a| a.oid)
            .unwrap_or(rfc5912::ID_SHA_1);
        if mgf_oid != rfc5912::ID_MGF_1 || mgf_hash != digest.oid() {
            return Err(VerifyError::UnsupportedAlgorithm(
                "RSA-PSS with a mask generation function other than MGF1 with the same hash".into(),
            ));
        }
        if params.trailer_field.unwrap_or(1) != 1 {
            return Err(VerifyError::UnsupportedAlgorithm(
                "RSA-PSS with a trailer field other than 0xBC".into(),
            ));
        }
        let public = rsa_key(key_bytes)?;
        let hashed = input.hashed(digest)?;
        let salt = usize::try_from(params.salt_len.unwrap_or(20))
            .map_err(|_| VerifyError::UnsupportedAlgorithm("RSA-PSS salt length".into()))?;
        let result = match digest {
            DigestAlgorithm::Sha256 => public.verify(
                rsa::Pss::<sha2::Sha256>::new_with_salt(salt),
                &hashed,
                signature,
            ),
            DigestAlgorithm::Sha384 => public.verify(
                rsa::Pss::<sha2::Sha384>::new_with_salt(salt),
                &hashed,
                signature,
            ),
            DigestAlgorithm::Sha512 => public.verify(
                rsa::Pss::<sha2::Sha512>::new_with_salt(salt),
                &hashed,
                signature,
            ),
            DigestAlgorithm::Sha1 => public.verify(
                rsa::Pss::<sha1::Sha1>::new_with_salt(salt),
                &hashed,
                signature,
            ),
        };
        return result.map_err(|_| VerifyError::BadSignature);
    }

    // ECDSA
    let ecdsa_digest = match oid {
        o if o == ECDSA_WITH_SHA_1 => Some(DigestAlgorithm::Sha1),
        o if o == rfc5912::ECDSA_WITH_SHA_256 => Some(DigestAlgorithm::Sha256),
        o if o == rfc5912::ECDSA_WITH_SHA_384 => Some(DigestAlgorithm::Sha384),
        o if o == rfc5912::ECDSA_WITH_SHA_512 => Some(DigestAlgorithm::Sha512),
        o if o == rfc5912::ID_EC_PUBLIC_KEY => digest_hint,
        _ => None,
    };
    if let Some(digest) = ecdsa_digest {
        if key_oid != rfc5912::ID_EC_PUBLIC_KEY {
            return Err(mismatch());
        }
        let curve = key
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
            .ok_or_else(|| VerifyError::MalformedKey("EC key without a named curve".into()))?;
        // Fast path: ring verifies a valid P-256 signature about 5× faster than
        // RustCrypto. Only an acceptance is taken from it; anything it refuses (an
        // invalid signature, or an encoding it is stricter about) is decided by
        // RustCrypto below, so the verdicts are exactly RustCrypto's.
        if let Input::Message(message) = input
            && let Some(alg) = ring_ecdsa(curve, digest)
            && ring::signature::UnparsedPublicKey::new(alg, key_bytes)
                .verify(message, signature)
                .is_ok()
        {
            return Ok(());
        }
        let hashed = input.hashed(digest)?;
        use signature::hazmat::PrehashVerifier;
        if curve == rfc5912::SECP_256_R_1 {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|e| VerifyError::MalformedKey(format!("P-256 point: {e}")))?;
            let sig = p256::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            let sig =
                p256::ecdsa::Signature::try_from(sig).map_err(|_| VerifyError::BadSignature)?;
            return vk
                .verify_prehash(&hashed, &sig)
                .map_err(|_| VerifyError::BadSignature);
        }
        if curve == rfc5912::SECP_384_R_1 {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|e| VerifyError::MalformedKey(format!("P-384 point: {e}")))?;
            let sig = p384::ecdsa::DerSignature::from_bytes(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            let sig =
                p384::ecdsa::Signature::try_from(sig).map_err(|_| VerifyError::BadSignature)?;
            return vk
                .verify_prehash(&hashed, &sig)
                .map_err(|_| VerifyError::BadSignature);
        }
        return Err(VerifyError::UnsupportedAlgorithm(format!(
            "ECDSA on curve {curve}"
        )));
    }

    if oid == ED25519 {
        if key_oid != ED25519 {
            return Err(mismatch());
        }
        let bytes: [u8; 32] = key_bytes
            .try_into()
            .map_err(|_| VerifyError::MalformedKey("Ed25519 key is not 32 bytes".into()))?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|e| VerifyError::MalformedKey(format!("Ed25519 key: {e}")))?;
        let sig = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let Input::Message(message) = input else {
            return Err(VerifyError::UnsupportedAlgorithm(
                "Ed25519 over a content digest (Ed25519 signs the message itself)".into(),
            ));
        };
        return vk
            .verify_strict(message, &sig)
            .map_err(|_| VerifyError::BadSignature);
    }

    Err(VerifyError::UnsupportedAlgorithm(describe(oid)))
}

/// ring's ECDSA verification for a named curve and hash (DER `Ecdsa-Sig-Value`).
fn ring_ecdsa(
    curve: const_oid::ObjectIdentifier,
    digest: DigestAlgorithm,
) -> Option<&'static ring::signature::EcdsaVerificationAlgorithm> {
    use ring::signature as r;
    match (curve, digest) {
        (c, DigestAlgorithm::Sha256) if c == rfc5912::SECP_256_R_1 => {
            Some(&r::ECDSA_P256_SHA256_ASN1)
        }
        (c, DigestAlgorithm::Sha384) if c == rfc5912::SECP_256_R_1 => {
            Some(&r::ECDSA_P256_SHA384_ASN1)
        }
        (c, DigestAlgorithm::Sha256) if c == rfc5912::SECP_384_R_1 => {
            Some(&r::ECDSA_P384_SHA256_ASN1)
        }
        (c, DigestAlgorithm::Sha384) if c == rfc5912::SECP_384_R_1 => {
            Some(&r::ECDSA_P384_SHA384_ASN1)
        }
        _ => None,
    }
}

/// [`verify_signature_with_digest`] for algorithm identifiers that name their hash.
pub fn verify_signature(
    key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    verify_signature_with_digest(key, algorithm, None, message, signature)
}

/// Shortest RSA modulus verified at all.
const MIN_RSA_BITS: usize = 1024;

fn rsa_key(bytes: &[u8]) -> Result<rsa::RsaPublicKey, VerifyError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_pkcs1_der(bytes)
        .map_err(|e| VerifyError::MalformedKey(format!("RSA key: {e}")))?;
    let bits = key.n().bit_width() as usize;
    // Keys of 1024 to 2047 bits are verified: old Vietnamese certificates use them, and
    // their acceptability is a dated policy decision of the caller (kyso-pki
    // `AlgorithmPolicy`; Vietnamese draft Circular 15/2025 requires 2048 bits for new
    // keys). Below 1024 bits nothing is verified.
    if bits < MIN_RSA_BITS {
        return Err(VerifyError::WeakKey(bits));
    }
    Ok(key)
}

fn describe(oid: const_oid::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10040.4.3" | "2.16.840.1.101.3.4.3.2" => format!("DSA ({oid})"),
        "1.2.840.113549.1.1.4" => format!("MD5 with RSA ({oid}), refused"),
        "1.2.840.113549.1.1.2" => format!("MD2 with RSA ({oid}), refused"),
        _ => oid.to_string(),
    }
}

/// ecdsa-with-SHA1 (RFC 5758), accepted only for legacy material.
const ECDSA_WITH_SHA_1: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// RFC 4055 `RSASSA-PSS-params`, with a salt length wider than one byte (OpenSSL and
/// pyHanko use the maximum salt, 350 bytes for RSA-3072 with SHA-256; the `pkcs1`
/// crate's type stops at 255).
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}
