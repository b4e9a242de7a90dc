//! Building a detached CAdES signature (CMS `SignedData`, ETSI EN 319 122-1 baseline
//! B-B attributes) in two steps: [`prepare`] yields the to-be-signed bytes (the DER of
//! the signed attributes), any [`Signer`] signs them, [`PreparedSignature::assemble`]
//! builds the `ContentInfo`.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use kyso_signer::{DigestAlgorithm, SignatureAlgorithm, Signer};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attributes;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;

use crate::CadesError;
use crate::asn1::{
    EssCertIdV2, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
    ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME, IssuerSerial, SigningCertificateV2, attribute,
};

/// What to sign and what to embed.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// Digest of the content, computed with [`digest_algorithm`] of the signer's algorithm.
    pub message_digest: &'a [u8],
    /// The signer's certificate; its public key must be the signer's.
    pub signer_certificate: &'a Certificate,
    /// Further certificates to embed (intermediates, so a verifier holding only the
    /// root can build the path).
    pub chain: &'a [Certificate],
    /// The claimed signing time (`signingTime` attribute); `None` omits it.
    pub signing_time: Option<OffsetDateTime>,
    /// `eContentType`: id-data for files; id-ct-TSTInfo for time-stamp tokens.
    pub content_type: Option<ObjectIdentifier>,
    /// CRLs (DER) to embed in `SignedData.crls`.
    pub crls: &'a [Vec<u8>],
    /// Encapsulated content (for time-stamp tokens); `None` = detached.
    pub encapsulated: Option<&'a [u8]>,
}

/// The digest algorithm a signature algorithm uses for the content
/// (SHA-512 for Ed25519, RFC 8419).
pub fn digest_algorithm(algorithm: SignatureAlgorithm) -> DigestAlgorithm {
    algorithm.digest()
}

/// A signature waiting for its signature value.
#[derive(Debug, Clone)]
pub struct PreparedSignature {
    signed_data: SignedData,
    signer_info: SignerInfo,
    to_be_signed: Vec<u8>,
}

impl PreparedSignature {
    /// The bytes the key must sign: the DER encoding of the signed attributes.
    pub fn to_be_signed(&self) -> &[u8] {
        &self.to_be_signed
    }

    /// Insert the signature value and encode the `ContentInfo` (DER).
    pub fn assemble(self, signature: Vec<u8>) -> Result<Vec<u8>, CadesError> {
        let mut signer_info = self.signer_info;
        signer_info.signature = OctetString::new(signature).map_err(CadesError::encoding)?;
        let mut signed_data = self.signed_data;
        let mut infos = SetOfVec::new();
        infos.insert(signer_info).map_err(CadesError::encoding)?;
        signed_data.signer_infos = SignerInfos(infos);
        encode_content_info(&signed_data)
    }
}

/// Step one: build the signed attributes and the `SignedData` skeleton.
pub fn prepare(
    request: &SignRequest<'_>,
    algorithm: SignatureAlgorithm,
) -> Result<PreparedSignature, CadesError> {
    let digest = digest_algorithm(algorithm);
    if request.message_digest.len() != digest.output_len() {
        return Err(CadesError::Misuse(format!(
            "message digest is {} bytes, {} needs {}",
            request.message_digest.len(),
            digest.name(),
            digest.output_len()
        )));
    }
    let cert = request.signer_certificate;
    let content_type = request.content_type.unwrap_or(ID_DATA);

    let mut signed_attrs = Attributes::new();
    let insert = |attrs: &mut Attributes, oid, value: Any| -> Result<(), CadesError> {
        attrs
            .insert(attribute(oid, value).map_err(CadesError::encoding)?)
            .map_err(CadesError::encoding)
    };
    insert(&mut signed_attrs, ID_CONTENT_TYPE, Any::from(content_type))?;
    if let Some(at) = request.signing_time {
        insert(&mut signed_attrs, ID_SIGNING_TIME, encode_time(at)?)?;
    }
    insert(
        &mut signed_attrs,
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(request.message_digest).map_err(CadesError::encoding)?)
            .map_err(CadesError::encoding)?,
    )?;
    insert(
        &mut signed_attrs,
        ID_SIGNING_CERTIFICATE_V2,
        Any::encode_from(&signing_certificate_v2(cert)?).map_err(CadesError::encoding)?,
    )?;
    let to_be_signed = signed_attrs.to_der().map_err(CadesError::encoding)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate().issuer().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: digest.algorithm_identifier(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm.algorithm_identifier(),
        signature: OctetString::new(Vec::new()).map_err(CadesError::encoding)?,
        unsigned_attrs: None,
    };

    let mut certificates = SetOfVec::new();
    for c in std::iter::once(cert).chain(request.chain.iter()) {
        let choice = CertificateChoices::Certificate(c.clone());
        if !certificates.iter().any(|x| x == &choice) {
            certificates.insert(choice).map_err(CadesError::encoding)?;
        }
    }
    let mut revocation = SetOfVec::new();
    for crl in request.crls {
        let crl = CertificateList::from_der(crl)
            .map_err(|e| CadesError::Misuse(format!("CRL to embed is malformed: {e}")))?;
        revocation
            .insert(RevocationInfoChoice::Crl(crl))
            .map_err(CadesError::encoding)?;
    }

    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(digest.algorithm_identifier())
        .map_err(CadesError::encoding)?;
    let econtent = match request.encapsulated {
        Some(bytes) => Some(
            Any::encode_from(&OctetString::new(bytes).map_err(CadesError::encoding)?)
                .map_err(CadesError::encoding)?,
        ),
        None => None,
    };
    let signed_data = SignedData {
        version: if content_type == ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: if revocation.is_empty() {
            None
        } else {
            Some(RevocationInfoChoices(revocation))
        },
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    Ok(PreparedSignature {
        signed_data,
        signer_info,
        to_be_signed,
    })
}

/// One step: prepare, sign with `signer`, assemble. Refuses a certificate whose public
/// key is not the signer's.
pub fn sign(signer: &dyn Signer, request: &SignRequest<'_>) -> Result<Vec<u8>, CadesError> {
    let cert_key = request
        .signer_certificate
        .tbs_certificate()
        .subject_public_key_info();
    if cert_key.subject_public_key != signer.public_key().subject_public_key {
        return Err(CadesError::Misuse(
            "the certificate does not belong to the signing key".into(),
        ));
    }
    let prepared = prepare(request, signer.algorithm())?;
    let signature = signer.sign(prepared.to_be_signed())?;
    prepared.assemble(signature)
}

/// Attach a time-stamp token (DER `ContentInfo`) as the unsigned
/// `signature-time-stamp` attribute of the signer whose signature value is
/// `signature_value` (CAdES B-T). The token's imprint must be over that value.
pub fn add_signature_timestamp(
    cms_der: &[u8],
    signature_value: &[u8],
    token_der: &[u8],
) -> Result<Vec<u8>, CadesError> {
    let mut signed_data = crate::verify::decode_signed_data(cms_der)?;
    let token = Any::from_der(token_der)
        .map_err(|e| CadesError::Malformed(format!("time-stamp token: {e}")))?;
    let mut infos: Vec<SignerInfo> = signed_data.signer_infos.0.into_vec();
    let target = infos
        .iter_mut()
        .find(|si| si.signature.as_bytes() == signature_value)
        .ok_or_else(|| CadesError::Misuse("no signer with that signature value".into()))?;
    let mut unsigned = target.unsigned_attrs.take().unwrap_or_default();
    unsigned
        .insert(
            attribute(crate::asn1::ID_SIGNATURE_TIME_STAMP_TOKEN, token)
                .map_err(CadesError::encoding)?,
        )
        .map_err(CadesError::encoding)?;
    target.unsigned_attrs = Some(unsigned);
    signed_data.signer_infos =
        SignerInfos(SetOfVec::try_from(infos).map_err(CadesError::encoding)?);
    encode_content_info(&signed_data)
}

/// Add a parallel signer to an existing detached `SignedData` over the same content
/// (e.g. the agency seal after the leader's signature). The new signature must carry
/// the same message digest as the existing signers; certificates and CRLs are merged.
/// Returns the new `ContentInfo` and the new signature value.
pub fn cosign(
    existing_der: &[u8],
    signer: &dyn Signer,
    request: &SignRequest<'_>,
) -> Result<(Vec<u8>, Vec<u8>), CadesError> {
    let single = sign(signer, request)?;
    merge_signer(existing_der, &single)
}

/// Adds the only signer of `single_der` (a freshly made single-signer detached
/// `SignedData` over the same content, e.g. from two-step signing) to `existing_der`;
/// certificates and CRLs are merged. Returns the new `ContentInfo` and the added
/// signature value.
pub fn merge_signer(
    existing_der: &[u8],
    single_der: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), CadesError> {
    let mut existing = crate::verify::decode_signed_data(existing_der)?;
    if existing.encap_content_info.econtent.is_some() {
        return Err(CadesError::Misuse(
            "co-signing an attached (non-detached) signature is not supported".into(),
        ));
    }
    let new = crate::verify::decode_signed_data(single_der)?;
    let new_info = new
        .signer_infos
        .0
        .iter()
        .next()
        .cloned()
        .ok_or_else(|| CadesError::Encoding("no signer info built".into()))?;
    let signature = new_info.signature.as_bytes().to_vec();
    existing
        .signer_infos
        .0
        .insert(new_info)
        .map_err(CadesError::encoding)?;
    for alg in new.digest_algorithms.iter() {
        if !existing.digest_algorithms.iter().any(|a| a == alg) {
            existing
                .digest_algorithms
                .insert(alg.clone())
                .map_err(CadesError::encoding)?;
        }
    }
    if let Some(certs) = new.certificates {
        let set = existing
            .certificates
            .get_or_insert_with(|| CertificateSet(SetOfVec::new()));
        for c in certs.0.into_vec() {
            if !set.0.iter().any(|x| x == &c) {
                set.0.insert(c).map_err(CadesError::encoding)?;
            }
        }
    }
    if let Some(crls) = new.crls {
        let set = existing
            .crls
            .get_or_insert_with(|| RevocationInfoChoices(SetOfVec::new()));
        for c in crls.0.into_vec() {
            if !set.0.iter().any(|x| x == &c) {
                set.0.insert(c).map_err(CadesError::encoding)?;
            }
        }
    }
    Ok((encode_content_info(&existing)?, signature))
}

/// The signature value of the only signer of a freshly made single-signer `SignedData`.
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, CadesError> {
    let sd = crate::verify::decode_signed_data(cms_der)?;
    let mut infos = sd.signer_infos.0.iter();
    match (infos.next(), infos.next()) {
        (Some(si), None) => Ok(si.signature.as_bytes().to_vec()),
        _ => Err(CadesError::Misuse("expected exactly one signer".into())),
    }
}

pub(crate) fn encode_content_info(signed_data: &SignedData) -> Result<Vec<u8>, CadesError> {
    let info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(signed_data).map_err(CadesError::encoding)?,
    };
    info.to_der().map_err(CadesError::encoding)
}

/// `signingTime`: UTCTime until 2049, GeneralizedTime after (RFC 5652 §11.3).
fn encode_time(at: OffsetDateTime) -> Result<Any, CadesError> {
    let secs = u64::try_from(at.unix_timestamp())
        .map_err(|_| CadesError::Misuse("signing time before 1970".into()))?;
    let time = x509_cert::time::Time::try_from(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .map_err(CadesError::encoding)?;
    Any::encode_from(&time).map_err(CadesError::encoding)
}

pub(crate) fn signing_certificate_v2(
    cert: &Certificate,
) -> Result<SigningCertificateV2, CadesError> {
    let der = cert.to_der().map_err(CadesError::encoding)?;
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // DEFAULT id-sha256: omitted (DER).
            hash_algorithm: None,
            cert_hash: OctetString::new(DigestAlgorithm::Sha256.digest(&der))
                .map_err(CadesError::encoding)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate().issuer().clone(),
                )],
                serial_number: cert.tbs_certificate().serial_number().clone(),
            }),
        }],
        policies: None,
    })
}
