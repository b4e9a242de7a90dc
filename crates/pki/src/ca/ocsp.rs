//! OCSP responses (RFC 6960), using the `certval::ocsp` types.

use certval::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use kyso_signer::DigestAlgorithm;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::crl::RevocationReason;
use super::profile::OCSP_SIGNING;
use super::{CaError, Issuer, check_key_matches, get_ext, key_identifier, sign};

/// id-pkix-ocsp-nonce.
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// The status of one certificate, as the CA's database knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When.
        at: OffsetDateTime,
        /// Why, if known (`Unspecified` is written without a reason, as in CRLs).
        reason: Option<RevocationReason>,
    },
    /// Not known to this CA (never issued).
    Unknown,
}

/// Answer a DER `OCSPRequest` for certificates issued by `ca_certificate`.
///
/// `responder` signs: either the CA itself, or a delegated responder whose certificate was
/// issued by `ca_certificate` and carries id-kp-OCSPSigning (it is then included in the
/// response). `status_of` receives each requested serial number (the INTEGER content
/// bytes, as in [`super::RevokedEntry::serial`]).
///
/// Returns a DER `OCSPResponse`: `successful` with one `SingleResponse` per request
/// (responderID byKey, producedAt = thisUpdate = `now`, nextUpdate = `now + validity`,
/// the request's nonce extension echoed); `malformedRequest` when the request does not
/// parse or is empty; `unauthorized` when any request names another issuer or uses an
/// unsupported CertID hash. An `Err` means the responder itself is misconfigured (key or
/// certificate not valid for this CA) or signing failed.
pub fn respond_ocsp(
    request_der: &[u8],
    ca_certificate: &Certificate,
    responder: &Issuer<'_>,
    status_of: &dyn Fn(&[u8]) -> OcspStatus,
    now: OffsetDateTime,
    validity: time::Duration,
) -> Result<Vec<u8>, CaError> {
    if !validity.is_positive() {
        return Err(CaError::InvalidOcspValidity(validity));
    }
    let delegated = check_responder(ca_certificate, responder)?;

    let request = match OcspRequest::from_der(request_der) {
        Ok(request) if !request.tbs_request.request_list.is_empty() => request,
        _ => return Ok(OcspResponse::malformed_request().to_der()?),
    };

    let ca = ca_certificate.tbs_certificate();
    let issuer_name_der = ca.subject().to_der()?;
    let issuer_key = ca.subject_public_key_info().subject_public_key.raw_bytes();
    let this_update = OcspGeneralizedTime(super::to_generalized_time(now)?);
    let next_update = OcspGeneralizedTime(super::to_generalized_time(now + validity)?);

    let mut responses = Vec::with_capacity(request.tbs_request.request_list.len());
    for single in &request.tbs_request.request_list {
        let cert_id: &CertId = &single.req_cert;
        if !is_about(cert_id, &issuer_name_der, issuer_key) {
            return Ok(OcspResponse::unauthorized().to_der()?);
        }
        let cert_status = match status_of(cert_id.serial_number.as_bytes()) {
            OcspStatus::Good => CertStatus::good(),
            OcspStatus::Unknown => CertStatus::unknown(),
            OcspStatus::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                revocation_time: OcspGeneralizedTime(super::to_generalized_time(at)?),
                revocation_reason: reason
                    .filter(|r| *r != RevocationReason::Unspecified)
                    .map(RevocationReason::to_crl_reason),
            }),
        };
        responses.push(SingleResponse {
            cert_id: cert_id.clone(),
            cert_status,
            this_update,
            next_update: Some(next_update),
            single_extensions: None,
        });
    }

    let nonce: Vec<_> = request
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == ID_PKIX_OCSP_NONCE)
        .take(1)
        .map(|e| x509_cert::ext::Extension {
            critical: false,
            ..e.clone()
        })
        .collect();

    let responder_key = responder
        .certificate
        .tbs_certificate()
        .subject_public_key_info();
    let tbs_response_data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_identifier(responder_key))?),
        produced_at: this_update,
        responses,
        response_extensions: (!nonce.is_empty()).then_some(nonce),
    };
    let signature_algorithm = responder.key.algorithm().algorithm_identifier();
    let signature = sign(responder.key, &tbs_response_data.to_der()?)?;
    let basic = BasicOcspResponse {
        tbs_response_data,
        signature_algorithm,
        signature,
        certs: delegated.then(|| vec![responder.certificate.clone()]),
    };
    Ok(OcspResponse::successful(basic)?.to_der()?)
}

/// Check that `responder` may answer for `ca`; returns whether it is delegated.
fn check_responder(ca: &Certificate, responder: &Issuer<'_>) -> Result<bool, CaError> {
    check_key_matches(responder)?;
    let cert = responder.certificate;
    if cert.to_der()? == ca.to_der()? {
        return Ok(false);
    }
    let refuse = |reason: String| CaError::ResponderNotAuthorized {
        subject: cert.tbs_certificate().subject().to_string(),
        reason,
    };
    if cert.tbs_certificate().issuer() != ca.tbs_certificate().subject() {
        return Err(refuse(format!(
            "issued by \"{}\", not by the CA \"{}\"",
            cert.tbs_certificate().issuer(),
            ca.tbs_certificate().subject()
        )));
    }
    kyso_signer::verify_signature(
        ca.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        &cert.tbs_certificate().to_der()?,
        cert.signature().raw_bytes(),
    )
    .map_err(|e| {
        refuse(format!(
            "its signature does not verify with the CA key: {e}"
        ))
    })?;
    let eku = get_ext::<ExtendedKeyUsage>(cert)?;
    if !eku.is_some_and(|eku| eku.0.contains(&OCSP_SIGNING)) {
        return Err(refuse(
            "it lacks the id-kp-OCSPSigning extended key usage".into(),
        ));
    }
    Ok(true)
}

/// Whether `cert_id` names the CA with this name and key.
fn is_about(cert_id: &CertId, issuer_name_der: &[u8], issuer_key: &[u8]) -> bool {
    let Some(digest) = DigestAlgorithm::from_oid(&cert_id.hash_algorithm.oid) else {
        return false;
    };
    cert_id.issuer_name_hash.as_bytes() == digest.digest(issuer_name_der).as_slice()
        && cert_id.issuer_key_hash.as_bytes() == digest.digest(issuer_key).as_slice()
}
