//! Certificate revocation lists (RFC 5280 §5), built by hand so that the authority key
//! identifier is the issuer's own subject key identifier (x509-cert's `CrlBuilder` copies
//! the issuer's AKI, which is wrong for sub-CAs).

use der::Encode;
use der::asn1::Uint;
use time::OffsetDateTime;
use x509_cert::certificate::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason, KeyUsage, KeyUsages};

use super::profile::ext;
use super::{CaError, Issuer, cert_key_identifier, check_key_matches, get_ext, sign, to_time};

/// Why a certificate was revoked (RFC 5280 §5.3.1 `CRLReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum RevocationReason {
    /// No reason given. Written to CRLs without a reason code extension (RFC 5280 §5.3.1:
    /// "SHOULD be absent").
    Unspecified,
    /// The subject's private key was compromised.
    KeyCompromise,
    /// The CA's key was compromised.
    CaCompromise,
    /// The subject's name or affiliation changed (e.g. a leader left the agency).
    AffiliationChanged,
    /// Replaced by a new certificate.
    Superseded,
    /// No longer needed.
    CessationOfOperation,
    /// Temporarily suspended.
    CertificateHold,
    /// A privilege was withdrawn.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// The ASN.1 `CRLReason` value.
    pub fn to_crl_reason(self) -> CrlReason {
        match self {
            Self::Unspecified => CrlReason::Unspecified,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::CaCompromise => CrlReason::CaCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::CertificateHold => CrlReason::CertificateHold,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        }
    }

    /// From an ASN.1 `CRLReason` (`None` for removeFromCRL and aACompromise, which this CA
    /// does not produce).
    pub fn from_crl_reason(reason: CrlReason) -> Option<Self> {
        Some(match reason {
            CrlReason::Unspecified => Self::Unspecified,
            CrlReason::KeyCompromise => Self::KeyCompromise,
            CrlReason::CaCompromise => Self::CaCompromise,
            CrlReason::AffiliationChanged => Self::AffiliationChanged,
            CrlReason::Superseded => Self::Superseded,
            CrlReason::CessationOfOperation => Self::CessationOfOperation,
            CrlReason::CertificateHold => Self::CertificateHold,
            CrlReason::PrivilegeWithdrawn => Self::PrivilegeWithdrawn,
            CrlReason::RemoveFromCRL | CrlReason::AaCompromise => return None,
        })
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number: the content bytes of its INTEGER, as
    /// `cert.tbs_certificate().serial_number().as_bytes()` returns them.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why, if known.
    pub reason: Option<RevocationReason>,
}

/// Build and sign a v2 CRL (DER `CertificateList`) for the certificates `issuer` issued.
///
/// Extensions: authority key identifier (the issuer certificate's SKI, or its computed
/// key id), CRL number; entries carry a reason code unless it is absent or unspecified.
pub fn build_crl(
    issuer: &Issuer<'_>,
    revoked: &[RevokedEntry],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
) -> Result<Vec<u8>, CaError> {
    if next_update <= this_update {
        return Err(CaError::InvalidValidity {
            not_before: this_update,
            not_after: next_update,
        });
    }
    check_key_matches(issuer)?;
    let cert = issuer.certificate;
    let issuer_name = cert.tbs_certificate().subject().clone();
    if let Some(ku) = get_ext::<KeyUsage>(cert)?
        && !ku.0.contains(KeyUsages::CRLSign)
    {
        return Err(CaError::IssuerNotAllowed {
            subject: issuer_name.to_string(),
            action: "sign CRLs",
            reason: "its key usage lacks cRLSign".into(),
        });
    }

    let mut entries: Vec<RevokedCert> = Vec::with_capacity(revoked.len());
    for entry in revoked {
        if entry.serial.iter().all(|b| *b == 0) {
            return Err(CaError::InvalidSerial(entry.serial.clone()));
        }
        let reason = entry
            .reason
            .filter(|r| *r != RevocationReason::Unspecified)
            .map(|r| ext(&r.to_crl_reason(), false))
            .transpose()?;
        entries.push(RevokedCert {
            serial_number: x509_cert::serial_number::SerialNumber::new(&entry.serial)?,
            revocation_date: to_time(entry.revoked_at)?,
            crl_entry_extensions: reason.map(|r| vec![r]),
        });
    }

    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(der::asn1::OctetString::new(cert_key_identifier(cert)?)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber(Uint::new(&crl_number.to_be_bytes())?);
    let signature_algorithm = issuer.key.algorithm().algorithm_identifier();
    let tbs_cert_list = TbsCertList {
        version: Version::V2,
        signature: signature_algorithm.clone(),
        issuer: issuer_name,
        this_update: to_time(this_update)?,
        next_update: Some(to_time(next_update)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![ext(&aki, false)?, ext(&number, false)?]),
    };
    let tbs = tbs_cert_list.to_der()?;
    let signature = sign(issuer.key, &tbs)?;
    let crl = CertificateList {
        tbs_cert_list,
        signature_algorithm,
        signature,
    };
    Ok(crl.to_der()?)
}
