//! Certificate profiles: which extensions each kind of certificate gets.

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::Encode;
use der::asn1::{Ia5String, Null, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};

use super::{CaError, IssueRequest};

const ID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const ID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const ID_KP_EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Microsoft "Document Signing" extended key usage (1.3.6.1.4.1.311.10.3.12), recognised by
/// Adobe Acrobat and Windows; put into personal and seal certificates.
pub const DOCUMENT_SIGNING_MS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.12");

/// id-kp-OCSPSigning, checked on delegated OCSP responders.
pub(super) const OCSP_SIGNING: ObjectIdentifier = ID_KP_OCSP_SIGNING;

/// The kind of certificate to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Profile {
    /// Self-signed root: basicConstraints critical CA:true (pathLen only if requested),
    /// keyUsage critical keyCertSign + cRLSign, SKI.
    RootCa,
    /// Subordinate (issuing) CA: as the root plus pathLen (default 0), AKI, CRL DP, AIA.
    IssuingCa,
    /// A leader's or civil servant's personal signing certificate: keyUsage critical
    /// digitalSignature + nonRepudiation, EKU emailProtection + document signing.
    Person,
    /// An agency's electronic seal (device certificate): as [`Profile::Person`].
    Seal,
    /// RFC 3161 time-stamping unit: keyUsage critical digitalSignature + nonRepudiation,
    /// EKU critical timeStamping only.
    Tsa,
    /// Delegated OCSP responder: keyUsage critical digitalSignature, EKU OCSPSigning,
    /// id-pkix-ocsp-nocheck.
    Ocsp,
    /// TLS server / client: keyUsage critical digitalSignature (+ keyEncipherment for RSA),
    /// EKU serverAuth + clientAuth, SAN with DNS names / IP addresses (required).
    Tls,
}

impl Profile {
    /// Whether the profile is a CA certificate.
    pub fn is_ca(self) -> bool {
        matches!(self, Self::RootCa | Self::IssuingCa)
    }
}

/// Build the extensions for `request`. `self_signed` is true for roots (no AKI needed
/// beyond the SKI, no CRL DP / AIA: nothing can revoke a trust anchor).
pub(super) fn extensions(
    request: &IssueRequest,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
    self_signed: bool,
) -> Result<Vec<Extension>, CaError> {
    let profile = request.profile;
    if !profile.is_ca() && request.path_len.is_some() {
        return Err(CaError::PathLenOnEndEntity(profile));
    }
    let mut out = Vec::new();

    // basicConstraints
    let basic = match profile {
        Profile::RootCa => BasicConstraints {
            ca: true,
            path_len_constraint: request.path_len,
        },
        Profile::IssuingCa => BasicConstraints {
            ca: true,
            path_len_constraint: Some(request.path_len.unwrap_or(0)),
        },
        _ => BasicConstraints {
            ca: false,
            path_len_constraint: None,
        },
    };
    out.push(ext(&basic, profile.is_ca())?);

    // keyUsage
    let rsa = request.public_key.algorithm.oid == RSA_ENCRYPTION;
    let usage = match profile {
        Profile::RootCa | Profile::IssuingCa => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
        Profile::Person | Profile::Seal | Profile::Tsa => {
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
        }
        Profile::Ocsp => KeyUsages::DigitalSignature.into(),
        Profile::Tls if rsa => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        Profile::Tls => KeyUsages::DigitalSignature.into(),
    };
    out.push(ext(&KeyUsage(usage), true)?);

    // extendedKeyUsage
    let eku = match profile {
        Profile::RootCa | Profile::IssuingCa => None,
        Profile::Person | Profile::Seal => {
            Some((vec![ID_KP_EMAIL_PROTECTION, DOCUMENT_SIGNING_MS], false))
        }
        // RFC 3161 §2.3: the only EKU, and critical.
        Profile::Tsa => Some((vec![ID_KP_TIME_STAMPING], true)),
        Profile::Ocsp => Some((vec![ID_KP_OCSP_SIGNING], false)),
        Profile::Tls => Some((vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH], false)),
    };
    if let Some((oids, critical)) = eku {
        out.push(ext(&ExtendedKeyUsage(oids), critical)?);
    }

    // subjectKeyIdentifier / authorityKeyIdentifier
    out.push(ext(
        &SubjectKeyIdentifier(OctetString::new(subject_key_id)?),
        false,
    )?);
    if !self_signed {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(authority_key_id)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        out.push(ext(&aki, false)?);
    }

    // subjectAltName
    let mut names = Vec::new();
    for dns in &request.dns_names {
        names.push(GeneralName::DnsName(dns_name(dns)?));
    }
    for ip in &request.ip_addresses {
        names.push(GeneralName::from(*ip));
    }
    if matches!(profile, Profile::Person | Profile::Seal)
        && let Some(email) = request.subject.email.as_deref().map(str::trim)
        && !email.is_empty()
    {
        super::name::check_email(email)?;
        names.push(GeneralName::Rfc822Name(ia5("e-mail address", email)?));
    }
    if profile == Profile::Tls && names.is_empty() {
        return Err(CaError::MissingSubjectAltName);
    }
    if !names.is_empty() {
        out.push(ext(&SubjectAltName(names), false)?);
    }

    // CRL distribution point and authority information access (not for roots).
    if !self_signed {
        if let Some(url) = &request.crl_url {
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(url_ia5(url)?),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            out.push(ext(&CrlDistributionPoints(vec![dp]), false)?);
        }
        let mut access = Vec::new();
        if let Some(url) = &request.ocsp_url {
            access.push(AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: GeneralName::UniformResourceIdentifier(url_ia5(url)?),
            });
        }
        if let Some(url) = &request.ca_issuers_url {
            access.push(AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: GeneralName::UniformResourceIdentifier(url_ia5(url)?),
            });
        }
        if !access.is_empty() {
            out.push(ext(&AuthorityInfoAccessSyntax(access), false)?);
        }
    }

    if profile == Profile::Ocsp {
        out.push(Extension {
            extn_id: ID_PKIX_OCSP_NOCHECK,
            critical: false,
            extn_value: OctetString::new(Null.to_der()?)?,
        });
    }
    Ok(out)
}

/// Wrap an extension value.
pub(super) fn ext<T: Encode + AssociatedOid>(
    value: &T,
    critical: bool,
) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn ia5(kind: &'static str, value: &str) -> Result<Ia5String, CaError> {
    Ia5String::new(value).map_err(|e| CaError::InvalidGeneralName {
        kind,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

/// An absolute ASCII URL with a scheme (`http://…`, `ldap://…`).
fn url_ia5(url: &str) -> Result<Ia5String, CaError> {
    let bad = |reason: &str| CaError::InvalidGeneralName {
        kind: "URL",
        value: url.to_string(),
        reason: reason.to_string(),
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("expected scheme://host/…"));
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        || rest.is_empty()
    {
        return Err(bad("expected scheme://host/…"));
    }
    if !url.is_ascii() || url.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(bad(
            "must be ASCII without spaces (percent-encode other characters)",
        ));
    }
    ia5("URL", url)
}

/// A DNS name (ASCII / punycode, optional leading `*.` wildcard label).
fn dns_name(name: &str) -> Result<Ia5String, CaError> {
    let bad = |reason: &str| CaError::InvalidGeneralName {
        kind: "DNS name",
        value: name.to_string(),
        reason: reason.to_string(),
    };
    let body = name.strip_prefix("*.").unwrap_or(name);
    if body.is_empty() || name.len() > 253 {
        return Err(bad("empty or longer than 253 characters"));
    }
    for label in body.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad(
                "labels must be 1–63 ASCII letters, digits or inner hyphens (use punycode for Vietnamese names)",
            ));
        }
    }
    ia5("DNS name", name)
}
