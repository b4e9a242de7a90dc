//! Who a package or a status message comes from when it passes through other nodes.
//!
//! Between two nodes, mutual TLS says who is at the other end of the connection. A hub
//! (a node in relay mode, like the national document axis) stands between them: the
//! receiver talks to the hub, not to the sender. So the node that creates a package or
//! a status signs its **origin** with its node key: a signature over
//!
//! ```text
//! kyso-origin/1 \n package \n <package digest, hex>      (a package: the digest pins
//!                                                       the header and every attachment)
//! kyso-origin/1 \n status \n <SHA-256 of the JSON, hex>  (a status message)
//! ```
//!
//! sent beside the body as two HTTP headers, `Kyso-Origin-Certificate` (the node's
//! certificate, DER, base64) and `Kyso-Origin-Signature` (base64). A hub keeps both
//! with what it relays and passes them on unchanged; it cannot make new ones for
//! another node. The receiver accepts the origin only if the certificate is the one its
//! directory records for the sending agency (SHA-256 fingerprint) and the signature
//! verifies — so a hub that changes one byte of a package (and recomputes the digest)
//! or of a status is refused, while the document's own signatures are verified on
//! receipt as always.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use kyso_signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SoftKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult, Kind};

/// The HTTP header carrying the origin node's certificate (DER, base64).
pub const CERTIFICATE_HEADER: &str = "kyso-origin-certificate";
/// The HTTP header carrying the origin signature (base64).
pub const SIGNATURE_HEADER: &str = "kyso-origin-signature";

/// What an origin signature is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A package, by its digest (hex).
    Package(&'a str),
    /// A status message, by its bytes.
    Status(&'a [u8]),
}

impl Subject<'_> {
    /// The bytes signed.
    pub fn message(&self) -> Vec<u8> {
        let (kind, hash) = match self {
            Subject::Package(digest) => ("package", digest.to_string()),
            Subject::Status(json) => ("status", hex::encode(DigestAlgorithm::Sha256.digest(json))),
        };
        format!("kyso-origin/1\n{kind}\n{hash}").into_bytes()
    }

    /// The key under which a relay keeps the origin of what it passes on.
    pub fn key(&self) -> String {
        match self {
            Subject::Package(digest) => format!("package-{digest}"),
            Subject::Status(json) => format!(
                "status-{}",
                hex::encode(DigestAlgorithm::Sha256.digest(json))
            ),
        }
    }
}

/// An origin: the certificate of the node that created something and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The node certificate, DER (base64 in JSON).
    #[serde(with = "b64")]
    pub certificate: Vec<u8>,
    /// The signature over [`Subject::message`] (base64 in JSON).
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

fn bad_origin(why: impl std::fmt::Display) -> AppError {
    AppError::new(
        Kind::Forbidden,
        "bad_origin",
        format!("chữ ký nguồn gốc của nút gửi không hợp lệ: {why}"),
        format!("the sending node's origin signature is not valid: {why}"),
    )
}

/// At most this many bytes of certificate in a header.
const MAX_CERTIFICATE: usize = 16 * 1024;
/// At most this many bytes of signature in a header.
const MAX_SIGNATURE: usize = 2048;

impl Origin {
    /// The two headers as sent.
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            (CERTIFICATE_HEADER, STANDARD.encode(&self.certificate)),
            (SIGNATURE_HEADER, STANDARD.encode(&self.signature)),
        ]
    }

    /// From the two headers as received: both or neither.
    pub fn from_headers(
        certificate: Option<&str>,
        signature: Option<&str>,
    ) -> AppResult<Option<Self>> {
        let (certificate, signature) = match (certificate, signature) {
            (None, None) => return Ok(None),
            (Some(c), Some(s)) => (c, s),
            _ => return Err(bad_origin("only one of the two origin headers")),
        };
        if certificate.len() > MAX_CERTIFICATE * 2 || signature.len() > MAX_SIGNATURE * 2 {
            return Err(bad_origin("origin header too long"));
        }
        let decode = |text: &str, what: &str| {
            STANDARD
                .decode(text.trim())
                .map_err(|e| bad_origin(format!("{what}: {e}")))
        };
        Ok(Some(Self {
            certificate: decode(certificate, "certificate")?,
            signature: decode(signature, "signature")?,
        }))
    }

    /// The refusal of something that must come with an origin and did not.
    pub fn missing() -> AppError {
        bad_origin("a relayed message needs an origin signature (Kyso-Origin-* headers)")
    }

    /// The SHA-256 fingerprint (hex) of the origin node's certificate.
    pub fn fingerprint(&self) -> String {
        hex::encode(DigestAlgorithm::Sha256.digest(&self.certificate))
    }

    /// Checks the signature over `subject` with the certificate's key.
    pub fn verify(&self, subject: Subject<'_>) -> AppResult<()> {
        let certificate = x509_cert::Certificate::from_der(&self.certificate)
            .map_err(|e| bad_origin(format!("certificate: {e}")))?;
        let key = &certificate.tbs_certificate().subject_public_key_info();
        let algorithm = SignatureAlgorithm::for_public_key(key, false)
            .ok_or_else(|| bad_origin("unsupported key type"))?;
        kyso_signer::verify_signature(
            key,
            &algorithm.algorithm_identifier(),
            &subject.message(),
            &self.signature,
        )
        .map_err(|e| bad_origin(format!("signature: {e}")))
    }
}

/// This node towards other nodes: its certificate and key (the TLS client certificate
/// of `--exchange-cert` / `--exchange-key`) and whether it relays (hub mode).
#[derive(Debug)]
pub struct NodeIdentity {
    certificate: Vec<u8>,
    key: SoftKey,
    relay: bool,
}

fn identity_error(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::invalid(
        "node_identity",
        format!("không dùng được {what} của nút: {e}"),
        format!("cannot use the node's {what}: {e}"),
    )
}

impl NodeIdentity {
    /// From PEM texts: the certificate (the first one of the chain) and its private
    /// key (PKCS#8 `PRIVATE KEY`, RSA or ECDSA P-256/P-384).
    pub fn from_pem(certificate_pem: &[u8], key_pem: &[u8], relay: bool) -> AppResult<Self> {
        let text =
            std::str::from_utf8(certificate_pem).map_err(|e| identity_error("certificate", e))?;
        let begin = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| identity_error("certificate", "no PEM certificate"))?;
        let end = text[begin..]
            .find("-----END CERTIFICATE-----")
            .map(|e| begin + e + "-----END CERTIFICATE-----".len())
            .ok_or_else(|| identity_error("certificate", "unterminated PEM certificate"))?;
        let (label, certificate) = der::pem::decode_vec(&text.as_bytes()[begin..end])
            .map_err(|e| identity_error("certificate", e))?;
        if label != "CERTIFICATE" {
            return Err(identity_error("certificate", label));
        }
        let parsed = x509_cert::Certificate::from_der(&certificate)
            .map_err(|e| identity_error("certificate", e))?;
        let key_text = Zeroizing::new(
            std::str::from_utf8(key_pem)
                .map_err(|e| identity_error("key", e))?
                .to_string(),
        );
        let (label, der) = der::pem::decode_vec(key_text.trim().as_bytes())
            .map_err(|e| identity_error("key", e))?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(identity_error(
                "key",
                format!("{label}: a PKCS#8 key (BEGIN PRIVATE KEY) is needed"),
            ));
        }
        let key = SoftKey::from_pkcs8_der(&der, None).map_err(|e| identity_error("key", e))?;
        let matches = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .ok()
            == key.public_key().to_der().ok();
        if !matches {
            return Err(identity_error(
                "key",
                "the key does not belong to the certificate",
            ));
        }
        Ok(Self {
            certificate,
            key,
            relay,
        })
    }

    /// Whether this node relays packages and statuses for agencies it does not host.
    pub fn relays(&self) -> bool {
        self.relay
    }

    /// The SHA-256 fingerprint (hex) of this node's certificate.
    pub fn fingerprint(&self) -> String {
        hex::encode(DigestAlgorithm::Sha256.digest(&self.certificate))
    }

    /// This node's origin for `subject`.
    pub fn sign(&self, subject: Subject<'_>) -> AppResult<Origin> {
        let signature = self
            .key
            .sign(&subject.message())
            .map_err(|e| AppError::internal(format!("origin signature: {e}")))?;
        Ok(Origin {
            certificate: self.certificate.clone(),
            signature,
        })
    }
}
