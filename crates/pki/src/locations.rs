//! Where revocation data for a certificate lives, and the OCSP request to ask for it:
//! CRL distribution points, the AIA OCSP responder, and RFC 6960 requests with
//! SHA-1 `CertID`s (the profile every responder answers, RFC 5019).

use certval::ocsp::{CertId, OcspRequest, Request, TbsRequest};
use der::Encode;
use der::asn1::OctetString;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};

use crate::path::PathError;

/// id-ad-ocsp.
const ID_AD_OCSP: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");

/// The URIs of a certificate's CRL distribution points.
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, dps))) = cert
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
    {
        for dp in dps.0 {
            if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                for name in names {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        out.push(uri.to_string());
                    }
                }
            }
        }
    }
    out
}

/// The OCSP responder URIs named in a certificate's authority information access.
pub fn ocsp_urls(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, aia))) = cert
        .tbs_certificate()
        .get_extension::<AuthorityInfoAccessSyntax>()
    {
        for access in aia.0 {
            if access.access_method == ID_AD_OCSP
                && let GeneralName::UniformResourceIdentifier(uri) = access.access_location
            {
                out.push(uri.to_string());
            }
        }
    }
    out
}

/// id-ad-caIssuers.
const ID_AD_CA_ISSUERS: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// The URIs where the certificate's issuer certificate can be fetched (AIA caIssuers).
pub fn ca_issuers_urls(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, aia))) = cert
        .tbs_certificate()
        .get_extension::<AuthorityInfoAccessSyntax>()
    {
        for access in aia.0 {
            if access.access_method == ID_AD_CA_ISSUERS
                && let GeneralName::UniformResourceIdentifier(uri) = access.access_location
            {
                out.push(uri.to_string());
            }
        }
    }
    out
}

/// Whether `issuer` plausibly issued `cert` (names chain; the signature is checked by
/// path validation, not here).
pub fn is_issuer_of(issuer: &Certificate, cert: &Certificate) -> bool {
    issuer.tbs_certificate().subject() == cert.tbs_certificate().issuer()
}

/// A DER `OCSPRequest` for `cert` issued by `issuer`, without nonce (so responses can
/// be cached and pre-produced, RFC 5019).
pub fn ocsp_request(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, PathError> {
    use sha1::Digest;
    let invalid = |reason: String| PathError::InvalidCertificate {
        what: "OCSP request",
        reason,
    };
    let name_der = issuer
        .tbs_certificate()
        .subject()
        .to_der()
        .map_err(|e| invalid(e.to_string()))?;
    let key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let cert_id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_1,
            parameters: Some(der::Any::from(der::asn1::Null)),
        },
        issuer_name_hash: OctetString::new(sha1::Sha1::digest(&name_der).to_vec())
            .map_err(|e| invalid(e.to_string()))?,
        issuer_key_hash: OctetString::new(sha1::Sha1::digest(key).to_vec())
            .map_err(|e| invalid(e.to_string()))?,
        serial_number: cert.tbs_certificate().serial_number().clone(),
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    request.to_der().map_err(|e| invalid(e.to_string()))
}
