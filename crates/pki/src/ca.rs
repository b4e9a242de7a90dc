//! The built-in certificate authority: certificate profiles, issuance, CRLs and OCSP
//! responses.
//!
//! Everything signs in two steps through [`kyso_signer::Signer`]: the to-be-signed
//! structure is built with `x509-cert` / `certval::ocsp` types, DER-encoded, handed to the
//! signer, and the result is assembled. The module is sans-I/O: times and serial numbers
//! are arguments, nothing reads a clock or a random generator.
//!
//! ```text
//! root (RootCa, self-signed) ── issuing CA (IssuingCa) ──┬─ Person / Seal  (document signing)
//!                                                        ├─ Tsa            (RFC 3161)
//!                                                        ├─ Ocsp           (delegated responder)
//!                                                        └─ Tls            (server / client)
//! ```

mod crl;
mod name;
mod ocsp;
mod profile;

pub use crl::{RevocationReason, RevokedEntry, build_crl};
pub use name::SubjectName;
pub use ocsp::{OcspStatus, respond_ocsp};
pub use profile::{DOCUMENT_SIGNING_MS, Profile};

use der::asn1::{BitString, GeneralizedTime, UtcTime};
use der::{Any, DateTime, Decode, Encode};
use kyso_signer::{DigestAlgorithm, Signer, SignerError};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// Errors from the certificate authority.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// `not_after` is not after `not_before` (or `next_update` not after `this_update`).
    #[error("invalid validity period: {not_after} is not after {not_before}")]
    InvalidValidity {
        /// Start of the period.
        not_before: OffsetDateTime,
        /// End of the period.
        not_after: OffsetDateTime,
    },
    /// The requested validity is not inside the issuer certificate's validity.
    #[error(
        "validity {not_before} – {not_after} is outside the issuer's validity {issuer_not_before} – {issuer_not_after}"
    )]
    ValidityOutsideIssuer {
        /// Requested start.
        not_before: OffsetDateTime,
        /// Requested end.
        not_after: OffsetDateTime,
        /// Issuer's start.
        issuer_not_before: OffsetDateTime,
        /// Issuer's end.
        issuer_not_after: OffsetDateTime,
    },
    /// A time cannot be represented in a certificate (before 1950 or after 9999).
    #[error("time {time} cannot be encoded: {reason}")]
    InvalidTime {
        /// The time.
        time: OffsetDateTime,
        /// Why.
        reason: String,
    },
    /// Only a root CA may be self-signed, and a root CA must be.
    #[error("profile {profile:?} {reason}")]
    ProfileMismatch {
        /// The requested profile.
        profile: Profile,
        /// What is wrong (e.g. "cannot be self-signed").
        reason: &'static str,
    },
    /// A self-signed certificate was requested without the subject's own key.
    #[error("a self-signed certificate needs the subject's own key (`self_key`)")]
    MissingSelfKey,
    /// A key does not belong to the certificate or request it is used with.
    #[error("key mismatch: {0}")]
    KeyMismatch(&'static str),
    /// The issuer certificate may not issue certificates (or CRLs).
    #[error("issuer \"{subject}\" cannot {action}: {reason}")]
    IssuerNotAllowed {
        /// The issuer's subject.
        subject: String,
        /// What was attempted ("issue certificates", "sign CRLs").
        action: &'static str,
        /// Why not.
        reason: String,
    },
    /// The issuer's path length constraint forbids the requested sub-CA.
    #[error(
        "issuer path length constraint {issuer_path_len} does not allow a sub-CA with path length {requested}"
    )]
    PathLenExceeded {
        /// The issuer's pathLenConstraint.
        issuer_path_len: u8,
        /// The requested one for the new CA.
        requested: u8,
    },
    /// A path length was given for an end-entity profile.
    #[error("path length constraint given for end-entity profile {0:?}")]
    PathLenOnEndEntity(Profile),
    /// A TLS certificate needs at least one DNS name or IP address.
    #[error("a TLS certificate needs at least one DNS name or IP address")]
    MissingSubjectAltName,
    /// The common name is empty.
    #[error("the subject's common name (CN) is empty")]
    EmptyCommonName,
    /// A subject attribute is invalid.
    #[error("subject attribute {attribute}: {reason}")]
    InvalidName {
        /// The attribute (`C`, `CN`, `emailAddress`, …).
        attribute: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A subject attribute is longer than RFC 5280's upper bound.
    #[error("subject attribute {attribute} has {len} characters, at most {max} are allowed")]
    NameTooLong {
        /// The attribute.
        attribute: &'static str,
        /// Its length in characters (after NFC).
        len: usize,
        /// The RFC 5280 upper bound.
        max: usize,
    },
    /// A serial number is zero or empty.
    #[error("the serial number must be a positive integer (got {0:02x?})")]
    InvalidSerial(Vec<u8>),
    /// A DNS name, e-mail address or URL is not valid.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidGeneralName {
        /// "DNS name", "URL", "e-mail address".
        kind: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// A certificate given as input could not be understood.
    #[error("certificate \"{subject}\": {reason}")]
    InvalidCertificate {
        /// Its subject.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// The OCSP responder certificate is not authorised to answer for the CA.
    #[error("OCSP responder \"{subject}\" is not authorised for this CA: {reason}")]
    ResponderNotAuthorized {
        /// The responder's subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The OCSP response validity is zero or negative.
    #[error("OCSP response validity must be positive (got {0})")]
    InvalidOcspValidity(time::Duration),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[from] SignerError),
    /// ASN.1 encoding failed.
    #[error("ASN.1 encoding failed: {0}")]
    Encoding(#[from] der::Error),
}

/// A CA certificate together with the key that signs in its name.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The issuer certificate.
    pub certificate: &'a Certificate,
    /// Its private key (software, token or remote).
    pub key: &'a dyn Signer,
}

/// What to put into a new certificate.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The certificate profile (extensions, key usages).
    pub profile: Profile,
    /// The subject's distinguished name.
    pub subject: SubjectName,
    /// The subject's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity (must be after `not_before`, inside the issuer's validity).
    pub not_after: OffsetDateTime,
    /// Random bytes from the caller; encoded as a positive INTEGER (a leading zero octet
    /// is added when the high bit is set), so they must not be all zero.
    pub serial: [u8; 16],
    /// CRL distribution point (HTTP URL), not used for root CAs.
    pub crl_url: Option<String>,
    /// OCSP responder URL for the authority information access extension.
    pub ocsp_url: Option<String>,
    /// URL of the issuer certificate for the authority information access extension.
    pub ca_issuers_url: Option<String>,
    /// DNS names for the subject alternative name (ASCII / punycode).
    pub dns_names: Vec<String>,
    /// IP addresses for the subject alternative name.
    pub ip_addresses: Vec<std::net::IpAddr>,
    /// Path length constraint for CA profiles (issuing CAs default to 0, roots to none).
    pub path_len: Option<u8>,
}

/// Issue a certificate.
///
/// Self-signed when `issuer` is `None` (only for [`Profile::RootCa`]; `self_key` must then
/// be the subject's key, matching `request.public_key`). Otherwise `issuer` signs and must
/// be a CA certificate allowed to sign certificates; `self_key` is ignored.
pub fn issue(
    request: &IssueRequest,
    issuer: Option<&Issuer<'_>>,
    self_key: Option<&dyn Signer>,
) -> Result<Certificate, CaError> {
    if request.not_after <= request.not_before {
        return Err(CaError::InvalidValidity {
            not_before: request.not_before,
            not_after: request.not_after,
        });
    }
    let subject = request.subject.to_name()?;
    let serial = positive_serial(&request.serial)?;

    // Who signs, under which name, with which key identifier.
    let (signer, issuer_name, issuer_cert): (&dyn Signer, Name, Option<&Certificate>) = match issuer
    {
        None => {
            if request.profile != Profile::RootCa {
                return Err(CaError::ProfileMismatch {
                    profile: request.profile,
                    reason: "cannot be self-signed (only RootCa can)",
                });
            }
            let key = self_key.ok_or(CaError::MissingSelfKey)?;
            if !same_key(key.public_key(), &request.public_key)? {
                return Err(CaError::KeyMismatch(
                    "the self-signing key is not the request's public key",
                ));
            }
            (key, subject.clone(), None)
        }
        Some(issuer) => {
            if request.profile == Profile::RootCa {
                return Err(CaError::ProfileMismatch {
                    profile: request.profile,
                    reason: "must be self-signed (use IssuingCa for a certificate issued by another CA)",
                });
            }
            check_issuer(issuer, request)?;
            (
                issuer.key,
                issuer.certificate.tbs_certificate().subject().clone(),
                Some(issuer.certificate),
            )
        }
    };

    let subject_key_id = key_identifier(&request.public_key);
    let authority_key_id = match issuer_cert {
        Some(cert) => cert_key_identifier(cert)?,
        None => subject_key_id.clone(),
    };
    let extensions = profile::extensions(
        request,
        &subject_key_id,
        &authority_key_id,
        issuer.is_none(),
    )?;

    let signature_algorithm = signer.algorithm().algorithm_identifier();
    let tbs = RawTbsCertificate {
        version: Version::V3,
        serial_number: serial,
        signature: signature_algorithm.clone(),
        issuer: issuer_name,
        validity: Validity::new(to_time(request.not_before)?, to_time(request.not_after)?),
        subject,
        subject_public_key_info: request.public_key.clone(),
        extensions,
    };
    let tbs_der = tbs.to_der()?;
    let signature = sign(signer, &tbs_der)?;
    let raw = RawSigned {
        tbs: Any::from_der(&tbs_der)?,
        signature_algorithm,
        signature,
    };
    let certificate = Certificate::from_der(&raw.to_der()?)?;
    // The decoded certificate must re-encode to exactly the bytes that were signed.
    if certificate.tbs_certificate().to_der()? != tbs_der {
        return Err(CaError::Encoding(der::ErrorKind::Failed.into()));
    }
    Ok(certificate)
}

/// `TBSCertificate` with public fields (x509-cert keeps its own private); always v3 with
/// extensions.
#[derive(Debug, Clone, der::Sequence)]
struct RawTbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Extensions,
}

/// `SEQUENCE { tbs, signatureAlgorithm, signature }` around already-encoded TBS bytes.
#[derive(Debug, Clone, der::Sequence)]
struct RawSigned {
    tbs: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// Check that `issuer` may issue `request`.
fn check_issuer(issuer: &Issuer<'_>, request: &IssueRequest) -> Result<(), CaError> {
    let cert = issuer.certificate;
    let tbs = cert.tbs_certificate();
    check_key_matches(issuer)?;
    let not_allowed = |reason: String| CaError::IssuerNotAllowed {
        subject: tbs.subject().to_string(),
        action: "issue certificates",
        reason,
    };
    let bc = get_ext::<BasicConstraints>(cert)?;
    let Some(bc) = bc.filter(|bc| bc.ca) else {
        return Err(not_allowed(
            "it is not a CA (basicConstraints cA is not set)".into(),
        ));
    };
    if let Some(ku) = get_ext::<KeyUsage>(cert)?
        && !ku.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(not_allowed("its key usage lacks keyCertSign".into()));
    }
    if request.profile.is_ca()
        && let Some(limit) = bc.path_len_constraint
    {
        let requested = request.path_len.unwrap_or(0);
        if limit == 0 || requested >= limit {
            return Err(CaError::PathLenExceeded {
                issuer_path_len: limit,
                requested,
            });
        }
    }
    let issuer_not_before = from_time(&tbs.validity().not_before)?;
    let issuer_not_after = from_time(&tbs.validity().not_after)?;
    // Compare at the one-second resolution certificates have.
    let (not_before, not_after) = (
        whole_seconds(request.not_before),
        whole_seconds(request.not_after),
    );
    if not_before < issuer_not_before || not_after > issuer_not_after {
        return Err(CaError::ValidityOutsideIssuer {
            not_before: request.not_before,
            not_after: request.not_after,
            issuer_not_before,
            issuer_not_after,
        });
    }
    Ok(())
}

/// The issuer key must be the certificate's key.
fn check_key_matches(issuer: &Issuer<'_>) -> Result<(), CaError> {
    if same_key(
        issuer.key.public_key(),
        issuer
            .certificate
            .tbs_certificate()
            .subject_public_key_info(),
    )? {
        Ok(())
    } else {
        Err(CaError::KeyMismatch(
            "the issuer key does not belong to the issuer certificate",
        ))
    }
}

fn same_key(a: &SubjectPublicKeyInfoOwned, b: &SubjectPublicKeyInfoOwned) -> Result<bool, CaError> {
    Ok(a.to_der()? == b.to_der()?)
}

/// Decode one extension of `cert`, mapping errors to [`CaError::InvalidCertificate`].
fn get_ext<'a, T>(cert: &'a Certificate) -> Result<Option<T>, CaError>
where
    T: Decode<'a> + const_oid::AssociatedOid,
    <T as Decode<'a>>::Error: std::fmt::Display,
{
    cert.tbs_certificate()
        .get_extension::<T>()
        .map(|found| found.map(|(_, value)| value))
        .map_err(|e| CaError::InvalidCertificate {
            subject: cert.tbs_certificate().subject().to_string(),
            reason: format!("extension {}: {e}", T::OID),
        })
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    DigestAlgorithm::Sha1.digest(spki.subject_public_key.raw_bytes())
}

/// The key identifier of a CA certificate: its SKI if present, else computed.
fn cert_key_identifier(cert: &Certificate) -> Result<Vec<u8>, CaError> {
    Ok(match get_ext::<SubjectKeyIdentifier>(cert)? {
        Some(ski) => ski.0.as_bytes().to_vec(),
        None => key_identifier(cert.tbs_certificate().subject_public_key_info()),
    })
}

/// The serial as a positive INTEGER.
fn positive_serial(bytes: &[u8]) -> Result<SerialNumber, CaError> {
    if bytes.iter().all(|b| *b == 0) {
        return Err(CaError::InvalidSerial(bytes.to_vec()));
    }
    Ok(SerialNumber::new(bytes)?)
}

/// Sign `tbs` and return the signature as a BIT STRING.
fn sign(signer: &dyn Signer, tbs: &[u8]) -> Result<BitString, CaError> {
    let signature = signer.sign(tbs)?;
    Ok(BitString::from_bytes(&signature)?)
}

/// Whole seconds in UTC as a DER `DateTime`.
fn to_date_time(t: OffsetDateTime) -> Result<DateTime, CaError> {
    // 9999-12-31T23:59:59-07:00 is in the year 10000 in UTC: an error, not a panic.
    let t = t
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| CaError::InvalidTime {
            time: t,
            reason: "after 9999-12-31T23:59:59Z".into(),
        })?;
    let invalid = |reason: String| CaError::InvalidTime { time: t, reason };
    let year = u16::try_from(t.year()).map_err(|_| invalid("year before 0".into()))?;
    DateTime::new(
        year,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .map_err(|e| invalid(e.to_string()))
}

/// RFC 5280 §4.1.2.5: UTCTime up to 2049, GeneralizedTime from 2050.
fn to_time(t: OffsetDateTime) -> Result<Time, CaError> {
    let dt = to_date_time(t)?;
    if dt.year() < 2050 {
        let utc = UtcTime::from_date_time(dt).map_err(|e| CaError::InvalidTime {
            time: t,
            reason: e.to_string(),
        })?;
        Ok(Time::UtcTime(utc))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn to_generalized_time(t: OffsetDateTime) -> Result<GeneralizedTime, CaError> {
    Ok(GeneralizedTime::from_date_time(to_date_time(t)?))
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

fn from_time(t: &Time) -> Result<OffsetDateTime, CaError> {
    let secs = t.to_unix_duration().as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| CaError::Encoding(der::ErrorKind::DateTime.into()))
}
