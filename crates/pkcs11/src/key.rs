use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use der::Encode;
use kyso_signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SignerError};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::Pkcs11Error;
use crate::device::{KeyInfo, TokenSession};

/// A private key on a token, usable wherever kyso signs (CAdES, PAdES, certificates).
///
/// The message is hashed on the host; only the digest travels to the device.
pub struct TokenKey {
    session: TokenSession,
    key: KeyInfo,
    certificate: Certificate,
    public_key: SubjectPublicKeyInfoOwned,
    algorithm: SignatureAlgorithm,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("token", &self.session.token().serial)
            .field("key_id", &crate::device::hex_upper(&self.key.id))
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl TokenKey {
    pub(crate) fn new(
        session: TokenSession,
        key: KeyInfo,
        certificate: Certificate,
        pss: bool,
    ) -> Result<Self, Pkcs11Error> {
        let public_key = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .clone();
        if !matches!(key.key_type.as_str(), "RSA" | "EC") {
            return Err(Pkcs11Error::Unsupported(format!(
                "key type {}",
                key.key_type
            )));
        }
        if pss && key.key_type != "RSA" {
            return Err(Pkcs11Error::Unsupported("PSS needs an RSA key".into()));
        }
        let algorithm = SignatureAlgorithm::for_public_key(&public_key, pss).ok_or_else(|| {
            Pkcs11Error::Unsupported(format!(
                "{} key {:?}",
                key.key_type, public_key.algorithm.parameters
            ))
        })?;
        Ok(Self {
            session,
            key,
            certificate,
            public_key,
            algorithm,
        })
    }

    /// The certificate of this key.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The token's serial number.
    pub fn token_serial(&self) -> &str {
        &self.session.token().serial
    }

    /// Sign a digest already computed with [`SignatureAlgorithm::digest`] (used by
    /// benchmarks and by callers that stream large inputs).
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let alg = self.algorithm;
        let (mechanism, input) = match alg {
            SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::EcdsaP384Sha384 => {
                (Mechanism::Ecdsa, digest.to_vec())
            }
            SignatureAlgorithm::RsaPkcs1Sha256
            | SignatureAlgorithm::RsaPkcs1Sha384
            | SignatureAlgorithm::RsaPkcs1Sha512 => {
                let mut info = digest_info_prefix(alg.digest()).to_vec();
                info.extend_from_slice(digest);
                (Mechanism::RsaPkcs, info)
            }
            SignatureAlgorithm::RsaPssSha256
            | SignatureAlgorithm::RsaPssSha384
            | SignatureAlgorithm::RsaPssSha512 => {
                let (hash_alg, mgf) = match alg.digest() {
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                    _ => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                };
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (alg.digest().output_len() as u64).into(),
                };
                (Mechanism::RsaPkcsPss(params), digest.to_vec())
            }
            other => return Err(Pkcs11Error::Unsupported(other.name().into())),
        };
        let raw = self
            .session
            .lock()?
            .sign(&mechanism, self.key.handle, &input)?;
        if alg.is_rsa() {
            Ok(raw)
        } else {
            ecdsa_raw_to_der(&raw)
        }
    }
}

impl Signer for TokenKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let digest = self.algorithm.digest().digest(message);
        Ok(self.sign_digest(&digest)?)
    }
}

/// DER `DigestInfo` prefixes (RFC 8017 §9.2 note 1).
fn digest_info_prefix(digest: DigestAlgorithm) -> &'static [u8] {
    match digest {
        DigestAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        DigestAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        _ => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    }
}

/// PKCS#11 returns ECDSA signatures as r ‖ s; X.509 and CMS carry `Ecdsa-Sig-Value`.
fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Pkcs11Error::Device(format!(
            "ECDSA signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    #[derive(der::Sequence)]
    struct EcdsaSigValue {
        r: der::asn1::Uint,
        s: der::asn1::Uint,
    }
    let value = EcdsaSigValue {
        r: der::asn1::Uint::new(r).map_err(|e| Pkcs11Error::Device(e.to_string()))?,
        s: der::asn1::Uint::new(s).map_err(|e| Pkcs11Error::Device(e.to_string()))?,
    };
    value
        .to_der()
        .map_err(|e| Pkcs11Error::Device(e.to_string()))
}
