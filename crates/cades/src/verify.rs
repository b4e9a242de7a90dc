//! Verifying CMS `SignedData` (detached CAdES, `openssl cms` and pyHanko output, and
//! RFC 3161 tokens) into a [`Report`].
//!
//! Order of checks for each `SignerInfo`: structure → signer certificate → content
//! digest against `messageDigest` → signature over the DER of the signed attributes →
//! ESS signing-certificate binding → signature time-stamp (its own integrity, imprint
//! and TSA path) → the signer's path to a trust anchor, key usage and revocation **at
//! the signing time**. The signing time is the time-stamp's when one verifies, else the
//! claimed `signingTime` (then the certificate must also still be valid now and not
//! revoked since, as nothing proves when the signature existed).
//!
//! Real-world input is accepted as CMS allows it: BER is normalised first
//! ([`crate::ber`]); a `SignerInfo` without signed attributes is verified over the
//! content digest (RFC 5652 §5.4) and reported as not baseline; every certificate the
//! signer identifier matches is tried (key rollover: same issuer name and serial). Weak
//! algorithms (SHA-1, RSA below 2048 bits) are verified and judged by the dated
//! [`AlgorithmPolicy`] at the proof-of-existence time (time-stamp, else validation
//! time).

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::revocation::RevocationInfoChoice;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode, Tagged};
use kyso_pki::AlgorithmPolicy;
use kyso_pki::path::{
    PathFailure, PathInput, PathPolicy, PathStatus, RevocationInfo, RevocationMode, TrustAnchors,
    validate_path,
};
use kyso_signer::DigestAlgorithm;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use crate::CadesError;
use crate::asn1::{
    ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_KP_TIME_STAMPING, ID_MESSAGE_DIGEST,
    ID_SIGNATURE_TIME_STAMP_TOKEN, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE,
    ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME, SigningCertificate, SigningCertificateV2,
};
use crate::report::{
    Check, Indication, Reason, Report, RevocationCheck, SignatureReport, SignerSummary,
    SubIndication, TimeSource, TimestampReport, Verdict, vietnam_time,
};

/// Limits on untrusted CMS input, and the algorithm policy applied to it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest CMS structure accepted, in bytes.
    pub max_size: usize,
    /// Most `SignerInfo`s processed.
    pub max_signers: usize,
    /// Most certificates considered.
    pub max_certificates: usize,
    /// The dated algorithm policy (cryptographic constraints): until when SHA-1 is
    /// acceptable. Weak algorithms are verified and reported, never "unsupported".
    pub algorithms: AlgorithmPolicy,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_size: 16 << 20,
            max_signers: 16,
            max_certificates: 256,
            algorithms: AlgorithmPolicy::default(),
        }
    }
}

/// What the verifier trusts and knows besides the signature itself.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// Trust anchors (roots).
    pub anchors: &'a TrustAnchors,
    /// More certificates (DER) to build paths with.
    pub extra_certificates: &'a [Vec<u8>],
    /// CRLs (DER) obtained outside the signature (fetched or given).
    pub extra_crls: &'a [Vec<u8>],
    /// OCSP responses (DER) obtained outside the signature.
    pub extra_ocsp: &'a [Vec<u8>],
    /// "Now" for the validation.
    pub validation_time: OffsetDateTime,
    /// Revocation policy.
    pub revocation: RevocationMode,
    /// Input limits.
    pub limits: Limits,
}

/// Decode a BER or DER `ContentInfo` holding `SignedData`.
pub(crate) fn decode_signed_data(der: &[u8]) -> Result<SignedData, CadesError> {
    decode_signed_data_raw(der).map(|(sd, _)| sd)
}

/// Each signer's signed attributes exactly as encoded (`None` without any).
type RawAttributes = Vec<Option<Vec<u8>>>;

/// [`decode_signed_data`], also returning each signer's signed attributes exactly as
/// encoded (after BER → DER normalisation of lengths and strings, order kept).
pub(crate) fn decode_signed_data_raw(
    input: &[u8],
) -> Result<(SignedData, RawAttributes), CadesError> {
    // CMS is BER (RFC 5652 §1): normalise before the DER-only decoder.
    let der = crate::ber::to_der_cow(input)
        .map_err(|e| CadesError::Malformed(format!("not a BER/DER CMS ContentInfo: {e}")))?;
    let raw = crate::ber::signed_attrs_raw(&der)
        .into_iter()
        .map(|a| a.map(<[u8]>::to_vec))
        .collect();
    let sd = decode_normalised(&der)?;
    Ok((sd, raw))
}

fn decode_normalised(der: &[u8]) -> Result<SignedData, CadesError> {
    let info = ContentInfo::from_der(der)
        .map_err(|e| CadesError::Malformed(format!("not a DER CMS ContentInfo: {e}")))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(CadesError::Malformed(format!(
            "CMS content type is {}, not signedData",
            info.content_type
        )));
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|e| CadesError::Malformed(format!("malformed SignedData: {e}")))
}

/// What the container around a CMS signature says about it, e.g. a PDF signature
/// dictionary's `/M` (PAdES puts the claimed signing time there, not in the CMS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerHints {
    /// The signer's claimed signing time, used when the CMS has no `signingTime`.
    pub claimed_time: Option<OffsetDateTime>,
}

/// Verify a detached signature over `content` (given as consecutive segments, e.g. the
/// two PDF byte ranges). With `content` = `None`, the encapsulated content is used.
pub fn verify_detached(
    cms_der: &[u8],
    content: Option<&[&[u8]]>,
    options: &VerifyOptions<'_>,
) -> Result<Report, CadesError> {
    verify_detached_with_hints(cms_der, content, options, &ContainerHints::default())
}

/// [`verify_detached`] with facts from the signature's container.
pub fn verify_detached_with_hints(
    cms_der: &[u8],
    content: Option<&[&[u8]]>,
    options: &VerifyOptions<'_>,
    hints: &ContainerHints,
) -> Result<Report, CadesError> {
    if cms_der.len() > options.limits.max_size {
        return Err(CadesError::Malformed(format!(
            "signature of {} bytes exceeds the {}-byte limit",
            cms_der.len(),
            options.limits.max_size
        )));
    }
    let (signed_data, raw_attrs) = decode_signed_data_raw(cms_der)?;
    let encapsulated = match &signed_data.encap_content_info.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|e| CadesError::Malformed(format!("encapsulated content: {e}")))?
                .as_bytes()
                .to_vec(),
        ),
        None => None,
    };
    let segments: Vec<&[u8]> = match (content, &encapsulated) {
        (Some(c), Some(e)) => {
            // Accepted when the given content is exactly the encapsulated one.
            if c.concat() != *e {
                return Err(CadesError::Malformed(
                    "the signature encapsulates a content that differs from the given file".into(),
                ));
            }
            vec![e.as_slice()]
        }
        (Some(c), None) => c.to_vec(),
        (None, Some(e)) => vec![e.as_slice()],
        (None, None) => {
            return Err(CadesError::Misuse(
                "detached signature: the signed file must be given".into(),
            ));
        }
    };
    let digest_of = |d: DigestAlgorithm| {
        let mut h = d.hasher();
        for s in &segments {
            h.update(s);
        }
        Some(h.finish())
    };
    verify_signers(&signed_data, &raw_attrs, options, hints, &digest_of)
}

/// Verify a detached signature given the content's digests instead of the content,
/// so that a caller can stream a large file once through every digest the signature
/// uses ([`digest_algorithms`]). A signer whose digest algorithm is missing from
/// `digests` fails with a hash failure.
pub fn verify_detached_digests(
    cms_der: &[u8],
    digests: &[(DigestAlgorithm, Vec<u8>)],
    options: &VerifyOptions<'_>,
) -> Result<Report, CadesError> {
    verify_detached_digests_with_hints(cms_der, digests, options, &ContainerHints::default())
}

/// [`verify_detached_digests`] with facts from the signature's container.
pub fn verify_detached_digests_with_hints(
    cms_der: &[u8],
    digests: &[(DigestAlgorithm, Vec<u8>)],
    options: &VerifyOptions<'_>,
    hints: &ContainerHints,
) -> Result<Report, CadesError> {
    if cms_der.len() > options.limits.max_size {
        return Err(CadesError::Malformed(format!(
            "signature of {} bytes exceeds the {}-byte limit",
            cms_der.len(),
            options.limits.max_size
        )));
    }
    let (signed_data, raw_attrs) = decode_signed_data_raw(cms_der)?;
    if let Some(econtent) = &signed_data.encap_content_info.econtent {
        // `openssl cms -sign -stream` encapsulates by default: accept the given file
        // when it is exactly the encapsulated content.
        let inner = econtent
            .decode_as::<OctetString>()
            .map_err(|e| CadesError::Malformed(format!("encapsulated content: {e}")))?;
        let same = !digests.is_empty()
            && digests
                .iter()
                .all(|(alg, value)| alg.digest(inner.as_bytes()) == *value);
        if !same {
            return Err(CadesError::Malformed(
                "the signature encapsulates a content that differs from the given file".into(),
            ));
        }
    }
    let digest_of = |d: DigestAlgorithm| {
        digests
            .iter()
            .find(|(alg, _)| *alg == d)
            .map(|(_, value)| value.clone())
    };
    verify_signers(&signed_data, &raw_attrs, options, hints, &digest_of)
}

/// The digest algorithms the signers of a CMS `SignedData` use over the content.
pub fn digest_algorithms(cms_der: &[u8]) -> Result<Vec<DigestAlgorithm>, CadesError> {
    let signed_data = decode_signed_data(cms_der)?;
    let mut out = Vec::new();
    for si in signed_data.signer_infos.0.iter() {
        if let Some(d) = DigestAlgorithm::from_oid(&si.digest_alg.oid)
            && !out.contains(&d)
        {
            out.push(d);
        }
    }
    Ok(out)
}

fn verify_signers(
    signed_data: &SignedData,
    raw_attrs: &[Option<Vec<u8>>],
    options: &VerifyOptions<'_>,
    hints: &ContainerHints,
    digest_of: &dyn Fn(DigestAlgorithm) -> Option<Vec<u8>>,
) -> Result<Report, CadesError> {
    let mut ctx = Context::new(signed_data, options)?;
    ctx.claimed_hint = hints.claimed_time;
    let mut signatures = Vec::new();
    for (index, si) in signed_data.signer_infos.0.iter().enumerate() {
        if index >= options.limits.max_signers {
            return Err(CadesError::Malformed(format!(
                "more than {} signers",
                options.limits.max_signers
            )));
        }
        let content_digest = DigestAlgorithm::from_oid(&si.digest_alg.oid).and_then(digest_of);
        signatures.push(ctx.verify_signer(
            index,
            si,
            raw_attrs.get(index).and_then(Option::as_deref),
            &signed_data.encap_content_info.econtent_type,
            content_digest.as_deref(),
        ));
    }
    let verdict = Verdict::from_indications(signatures.iter().map(|s| &s.indication));
    Ok(Report {
        verdict,
        format: "cades",
        validation_time: vietnam_time(options.validation_time),
        signatures,
    })
}

/// The encapsulated content of a DER CMS `SignedData`, `None` when it is detached.
pub fn encapsulated_content(cms_der: &[u8]) -> Result<Option<Vec<u8>>, CadesError> {
    let signed_data = decode_signed_data(cms_der)?;
    signed_data
        .encap_content_info
        .econtent
        .map(|any| {
            any.decode_as::<OctetString>()
                .map(|o| o.as_bytes().to_vec())
                .map_err(|e| CadesError::Malformed(format!("encapsulated content: {e}")))
        })
        .transpose()
}

/// Verify an RFC 3161 time-stamp token over `content` (consecutive segments) as a
/// signature of its own: a PDF document time-stamp (ETSI.RFC3161, PAdES B-LTA). Checks
/// the imprint over the content, the token's signature over its `TSTInfo`, the TSA
/// certificate (id-kp-timeStamping) and its path at genTime. The TSA certificate must
/// still be valid at the validation time, else nothing proves the token existed while
/// it was (`OUT_OF_BOUNDS_NO_POE`); a caller with a later time-stamp over this one
/// passes that time-stamp's time as the validation time.
pub fn verify_timestamp_token(
    token_der: &[u8],
    content: &[&[u8]],
    options: &VerifyOptions<'_>,
) -> Result<SignatureReport, CadesError> {
    let imprint_of = |d: DigestAlgorithm| {
        let mut hasher = d.hasher();
        for segment in content {
            hasher.update(segment);
        }
        Some(hasher.finish())
    };
    verify_token(token_der, &imprint_of, options)
}

/// [`verify_timestamp_token`] given the content's digests (see
/// [`verify_detached_digests`]); the token's imprint algorithm is
/// `tsp::parse_token(token).imprint_algorithm`.
pub fn verify_timestamp_token_digests(
    token_der: &[u8],
    digests: &[(DigestAlgorithm, Vec<u8>)],
    options: &VerifyOptions<'_>,
) -> Result<SignatureReport, CadesError> {
    let imprint_of = |d: DigestAlgorithm| {
        digests
            .iter()
            .find(|(alg, _)| *alg == d)
            .map(|(_, value)| value.clone())
    };
    verify_token(token_der, &imprint_of, options)
}

fn verify_token(
    token_der: &[u8],
    imprint_of: &dyn Fn(DigestAlgorithm) -> Option<Vec<u8>>,
    options: &VerifyOptions<'_>,
) -> Result<SignatureReport, CadesError> {
    if token_der.len() > options.limits.max_size {
        return Err(CadesError::Malformed(format!(
            "time-stamp token of {} bytes exceeds the {}-byte limit",
            token_der.len(),
            options.limits.max_size
        )));
    }
    let (signed_data, raw_attrs) = decode_signed_data_raw(token_der)?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(CadesError::Malformed(
            "not a time-stamp token (content is not id-ct-TSTInfo)".into(),
        ));
    }
    let info =
        crate::tsp::parse_token(token_der).map_err(|e| CadesError::Malformed(e.to_string()))?;
    let [si] = signed_data.signer_infos.0.as_slice() else {
        return Err(CadesError::Malformed(
            "a time-stamp token must have exactly one signer".into(),
        ));
    };
    let ctx = Context::new(&signed_data, options)?;
    let mut out = Partial {
        algorithm: algorithm_name(&si.signature_algorithm.oid),
        signing_time: Some(vietnam_time(info.gen_time)),
        signing_time_source: TimeSource::Timestamp,
        ..Partial::default()
    };
    let mut tsa = None;
    if imprint_of(info.imprint_algorithm).as_deref() != Some(info.imprint.as_slice()) {
        out.integrity = Check::Failed;
        out.fail(
            Indication::TotalFailed,
            SubIndication::HashFailure,
            Reason::new(
                "digest_mismatch",
                "the file has been changed after it was time-stamped (imprint mismatch)",
                "tệp đã bị thay đổi sau khi gắn dấu thời gian (giá trị băm không khớp)",
            ),
        );
    } else {
        let digest =
            DigestAlgorithm::from_oid(&si.digest_alg.oid).map(|d| d.digest(&info.tst_info_der));
        let raw = raw_attrs.first().and_then(Option::as_deref);
        if let Some(cert) =
            ctx.check_integrity(si, raw, &ID_CT_TST_INFO, digest.as_deref(), &mut out)
        {
            tsa = Some(kyso_pki::name::display(cert.tbs_certificate().subject()));
            let eku_ok = matches!(cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
                Ok(Some((_, eku))) if eku.0.contains(&ID_KP_TIME_STAMPING));
            if !eku_ok {
                out.fail(
                    Indication::TotalFailed,
                    SubIndication::ChainConstraintsFailure,
                    Reason::new(
                        "tsa_not_timestamping",
                        "the time-stamp certificate is not for time-stamping (no id-kp-timeStamping)",
                        "chứng thư số của dấu thời gian không dùng cho cấp dấu thời gian",
                    ),
                );
            }
            if out.integrity == Check::Passed {
                ctx.check_trust_tsa(cert, info.gen_time, &mut out);
                let not_after = cert
                    .tbs_certificate()
                    .validity()
                    .not_after
                    .to_unix_duration();
                if options.validation_time.unix_timestamp() > not_after.as_secs() as i64 {
                    out.fail(
                        Indication::Indeterminate,
                        SubIndication::OutOfBoundsNoPoe,
                        Reason::new(
                            "timestamp_expired_no_proof_of_time",
                            "the time-stamp authority's certificate has expired and no later time-stamp protects this one",
                            "chứng thư số của đơn vị cấp dấu thời gian đã hết hạn và không có dấu thời gian sau bảo vệ",
                        ),
                    );
                }
            }
        }
    }
    ctx.apply_algorithm_policy(options.validation_time, &mut out);
    out.timestamp = Some(TimestampReport {
        time: vietnam_time(info.gen_time),
        tsa,
        valid: out.indication == Indication::TotalPassed,
        reasons: Vec::new(),
    });
    Ok(out.finish(0))
}

/// What the verifier would like fetched before verifying (sans-I/O: the caller fetches
/// and passes the results as `extra_crls` / `extra_ocsp`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// A CRL from this distribution point URL.
    Crl(String),
    /// An OCSP response: POST `request` (DER, `application/ocsp-request`) to `url`.
    Ocsp {
        /// Responder URL from the certificate's authority information access.
        url: String,
        /// DER `OCSPRequest`.
        request: Vec<u8>,
    },
}

/// The CRL distribution points of every certificate embedded in the signature or its
/// time-stamps, and an OCSP request for each signing certificate (signers and TSAs)
/// whose certificate names a responder.
pub fn needs(cms_der: &[u8]) -> Result<Vec<Need>, CadesError> {
    let signed_data = decode_signed_data(cms_der)?;
    let mut certs: Vec<Certificate> = embedded_certificates(&signed_data);
    let mut signers: Vec<SignerIdentifier> = Vec::new();
    for si in signed_data.signer_infos.0.iter() {
        signers.push(si.sid.clone());
        if let Some(token) = timestamp_token(si)
            && let Ok(sd) = decode_signed_data(&token)
        {
            certs.extend(embedded_certificates(&sd));
            signers.extend(sd.signer_infos.0.iter().map(|t| t.sid.clone()));
        }
    }
    let mut out = Vec::new();
    let mut push = |need: Need| {
        if !out.contains(&need) {
            out.push(need);
        }
    };
    for cert in &certs {
        for url in kyso_pki::locations::crl_urls(cert) {
            push(Need::Crl(url));
        }
    }
    for sid in &signers {
        let Some(cert) = certs.iter().find(|c| matches_sid(c, sid)) else {
            continue;
        };
        let Some(issuer) = certs
            .iter()
            .find(|i| *i != cert && kyso_pki::locations::is_issuer_of(i, cert))
        else {
            continue;
        };
        for url in kyso_pki::locations::ocsp_urls(cert) {
            if let Ok(request) = kyso_pki::locations::ocsp_request(cert, issuer) {
                push(Need::Ocsp { url, request });
            }
        }
    }
    Ok(out)
}

/// CRL distribution point URIs of a certificate.
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    kyso_pki::locations::crl_urls(cert)
}

fn matches_sid(c: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            c.tbs_certificate().issuer() == &isn.issuer
                && c.tbs_certificate().serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(c.tbs_certificate().get_extension::<SubjectKeyIdentifier>(),
                Ok(Some((_, own))) if own == *ski)
        }
    }
}

fn embedded_certificates(sd: &SignedData) -> Vec<Certificate> {
    sd.certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn timestamp_token(si: &SignerInfo) -> Option<Vec<u8>> {
    let attrs = si.unsigned_attrs.as_ref()?;
    let attr = attrs
        .iter()
        .find(|a| a.oid == ID_SIGNATURE_TIME_STAMP_TOKEN)?;
    attr.values.iter().next().and_then(|v| v.to_der().ok())
}

struct Context<'a> {
    certificates: Vec<Certificate>,
    certificate_ders: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
    options: &'a VerifyOptions<'a>,
    claimed_hint: Option<OffsetDateTime>,
}

impl<'a> Context<'a> {
    fn new(sd: &SignedData, options: &'a VerifyOptions<'a>) -> Result<Self, CadesError> {
        let mut certificates = embedded_certificates(sd);
        for der in options.extra_certificates {
            if let Ok(c) = Certificate::from_der(der) {
                certificates.push(c);
            }
        }
        if certificates.len() > options.limits.max_certificates {
            return Err(CadesError::Malformed(format!(
                "more than {} certificates",
                options.limits.max_certificates
            )));
        }
        let certificate_ders = certificates
            .iter()
            .filter_map(|c| c.to_der().ok())
            .collect();
        let mut crls: Vec<Vec<u8>> = options.extra_crls.to_vec();
        let ocsp: Vec<Vec<u8>> = options.extra_ocsp.to_vec();
        if let Some(set) = &sd.crls {
            for choice in set.0.iter() {
                match choice {
                    RevocationInfoChoice::Crl(crl) => {
                        if let Ok(d) = crl.to_der() {
                            crls.push(d);
                        }
                    }
                    // Other formats (e.g. RFC 5940 OCSP) are not read: the `cms`
                    // crate models otherRevInfoFormat wrongly (as an
                    // AlgorithmIdentifier), so kyso neither writes nor trusts them.
                    RevocationInfoChoice::Other(_) => {}
                }
            }
        }
        Ok(Self {
            certificates,
            certificate_ders,
            crls,
            ocsp,
            options,
            claimed_hint: None,
        })
    }

    /// Every certificate the signer identifier could name: with issuer-and-serial, two
    /// CAs with the same name (key rollover) may have issued the same serial; with a
    /// subject key identifier, several certificates may share a key.
    fn find_signers(&self, sid: &SignerIdentifier) -> Vec<&Certificate> {
        let mut out: Vec<&Certificate> = Vec::new();
        for c in self
            .certificates
            .iter()
            .chain(self.options.anchors.certificates())
        {
            if matches_sid(c, sid) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Integrity of one SignerInfo: digest and signature. Returns the signer certificate:
    /// the first candidate whose key verifies the signature (and, with signed
    /// attributes, whose ESS signing-certificate binding matches).
    fn check_integrity<'c>(
        &'c self,
        si: &SignerInfo,
        raw_attrs: Option<&[u8]>,
        econtent_type: &ObjectIdentifier,
        content_digest: Option<&[u8]>,
        out: &mut Partial,
    ) -> Option<&'c Certificate> {
        let Some(digest) = DigestAlgorithm::from_oid(&si.digest_alg.oid) else {
            out.fail(
                Indication::Indeterminate,
                SubIndication::CryptoConstraintsFailure,
                Reason::new(
                    "unsupported_digest",
                    format!("unsupported digest algorithm {}", si.digest_alg.oid),
                    format!("thuật toán băm {} không được hỗ trợ", si.digest_alg.oid),
                ),
            );
            return None;
        };
        out.digest_algorithm = digest.name().to_string();
        let candidates = self.find_signers(&si.sid);
        let Some(first) = candidates.first().copied() else {
            out.fail(
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                Reason::new(
                    "signer_certificate_missing",
                    "the signer's certificate is neither in the signature nor provided",
                    "không tìm thấy chứng thư số của người ký trong chữ ký",
                ),
            );
            return None;
        };
        out.signer = Some(summary(first));
        out.algorithm = algorithm_name(&si.signature_algorithm.oid);
        let Some(attrs) = &si.signed_attrs else {
            return self.check_without_attributes(
                si,
                digest,
                &candidates,
                econtent_type,
                content_digest,
                out,
            );
        };
        // messageDigest and contentType: exactly one each (RFC 5652 §11).
        let single = |oid: ObjectIdentifier| {
            let found: Vec<_> = attrs.iter().filter(|a| a.oid == oid).collect();
            match found.as_slice() {
                [a] if a.values.len() == 1 => a.values.iter().next().cloned(),
                _ => None,
            }
        };
        let Some(md) = single(ID_MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok())
        else {
            out.fail(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Reason::new(
                    "message_digest_missing",
                    "the messageDigest attribute is missing or repeated",
                    "thiếu hoặc lặp thuộc tính messageDigest",
                ),
            );
            return Some(first);
        };
        match single(ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok()) {
            Some(ct) if ct == *econtent_type => {}
            _ => {
                out.fail(
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    Reason::new(
                        "content_type_mismatch",
                        "the contentType attribute is missing or differs from the content",
                        "thuộc tính contentType thiếu hoặc không khớp",
                    ),
                );
                return Some(first);
            }
        }
        let digest_matches = content_digest.is_some_and(|d| d == md.as_bytes());
        if !digest_matches {
            out.integrity = Check::Failed;
            out.fail(
                Indication::TotalFailed,
                SubIndication::HashFailure,
                Reason::new(
                    "digest_mismatch",
                    "the file has been changed after it was signed (digest mismatch)",
                    "tệp đã bị thay đổi sau khi ký (giá trị băm không khớp)",
                ),
            );
            return Some(first);
        }
        // RFC 5652 §5.4: the signature is over the DER encoding of SignedAttrs with an
        // EXPLICIT SET OF tag. First the attributes as received (lengths made DER by the
        // normaliser, order kept: some signers do not sort), then the sorted encoding.
        let mut messages: Vec<Vec<u8>> = Vec::new();
        if let Some(raw) = raw_attrs
            && raw.first() == Some(&0xa0)
        {
            let mut m = raw.to_vec();
            m[0] = 0x31;
            messages.push(m);
        }
        match attrs.to_der() {
            Ok(t) => {
                if !messages.contains(&t) {
                    messages.push(t);
                }
            }
            Err(e) if messages.is_empty() => {
                out.fail(
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    Reason::new(
                        "malformed",
                        format!("signed attributes cannot be encoded: {e}"),
                        "thuộc tính được ký bị lỗi định dạng",
                    ),
                );
                return Some(first);
            }
            Err(_) => {}
        }
        let mut verified: Vec<&Certificate> = Vec::new();
        let mut other_error: Option<kyso_signer::VerifyError> = None;
        for cert in &candidates {
            let spki = cert.tbs_certificate().subject_public_key_info();
            for tbs in &messages {
                match kyso_signer::verify_signature_with_digest(
                    spki,
                    &si.signature_algorithm,
                    Some(digest),
                    tbs,
                    si.signature.as_bytes(),
                ) {
                    Ok(()) => {
                        verified.push(cert);
                        break;
                    }
                    Err(kyso_signer::VerifyError::BadSignature) => {}
                    Err(e) => {
                        other_error.get_or_insert(e);
                    }
                }
            }
        }
        let Some(&signer) = verified
            .iter()
            .find(|c| signing_certificate_binding(attrs, c) != Binding::Mismatch)
            .or(verified.first())
        else {
            return Some(self.signature_failure(first, other_error, out));
        };
        out.signer = Some(summary(signer));
        out.integrity = Check::Passed;
        self.note_weak_signature(si, digest, signer, out);
        match signing_certificate_binding(attrs, signer) {
            Binding::Match => {}
            Binding::Mismatch => out.fail(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Reason::new(
                    "signing_certificate_mismatch",
                    "the signed signing-certificate attribute names a different certificate",
                    "thuộc tính signing-certificate không trỏ tới chứng thư số của người ký",
                ),
            ),
            Binding::Absent => out.warnings.push(Reason::new(
                "no_signing_certificate_attribute",
                "no signing-certificate attribute: the signature is plain CMS, not CAdES; the certificate is bound only by the unsigned signer identifier",
                "không có thuộc tính signing-certificate (CMS thường, không phải CAdES)",
            )),
        }
        Some(signer)
    }

    /// RFC 5652 §5.4 without signed attributes: the signature is over the content's
    /// digest itself (legacy adbe.pkcs7.detached, `openssl cms -sign -noattr`). Valid
    /// CMS, but not a PAdES/CAdES baseline signature: reported as a warning.
    fn check_without_attributes<'c>(
        &'c self,
        si: &SignerInfo,
        digest: DigestAlgorithm,
        candidates: &[&'c Certificate],
        econtent_type: &ObjectIdentifier,
        content_digest: Option<&[u8]>,
        out: &mut Partial,
    ) -> Option<&'c Certificate> {
        let first = candidates[0];
        if *econtent_type != crate::asn1::ID_DATA {
            // RFC 5652 §5.3: signedAttrs MUST be present when the content is not id-data.
            out.fail(
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Reason::new(
                    "no_signed_attributes",
                    "the signature has no signed attributes although its content is not id-data (RFC 5652 §5.3)",
                    "chữ ký không có thuộc tính được ký dù nội dung không phải id-data",
                ),
            );
            return Some(first);
        }
        let Some(hashed) = content_digest else {
            out.integrity = Check::Failed;
            out.fail(
                Indication::TotalFailed,
                SubIndication::HashFailure,
                Reason::new(
                    "digest_mismatch",
                    "the content's digest is not available for this signature's digest algorithm",
                    "không có giá trị băm của nội dung theo thuật toán của chữ ký",
                ),
            );
            return Some(first);
        };
        let mut other_error = None;
        for &cert in candidates {
            match kyso_signer::verify_prehashed(
                cert.tbs_certificate().subject_public_key_info(),
                &si.signature_algorithm,
                digest,
                hashed,
                si.signature.as_bytes(),
            ) {
                Ok(()) => {
                    out.signer = Some(summary(cert));
                    out.integrity = Check::Passed;
                    out.warnings.push(Reason::new(
                        "not_baseline",
                        "the signature has no signed attributes: valid CMS over the content, but not a PAdES/CAdES baseline signature (no signed signing time, no signing-certificate binding)",
                        "chữ ký không có thuộc tính được ký: CMS hợp lệ trên nội dung nhưng không phải chữ ký PAdES/CAdES cơ bản (không có thời điểm ký, không ràng buộc chứng thư số)",
                    ));
                    self.note_weak_signature(si, digest, cert, out);
                    return Some(cert);
                }
                Err(kyso_signer::VerifyError::BadSignature) => {}
                Err(e) => {
                    other_error.get_or_insert(e);
                }
            }
        }
        // A content digest mismatch and a bad signature look the same here.
        Some(self.signature_failure(first, other_error, out))
    }

    fn signature_failure<'c>(
        &self,
        first: &'c Certificate,
        other_error: Option<kyso_signer::VerifyError>,
        out: &mut Partial,
    ) -> &'c Certificate {
        match other_error {
            Some(e) => {
                out.integrity = Check::Indeterminate;
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::CryptoConstraintsFailure,
                    Reason::new(
                        "unsupported_algorithm",
                        e.to_string(),
                        format!("không kiểm tra được chữ ký: {e}"),
                    ),
                );
            }
            None => {
                out.integrity = Check::Failed;
                out.fail(
                    Indication::TotalFailed,
                    SubIndication::SigCryptoFailure,
                    Reason::new(
                        "bad_signature",
                        "the signature value does not match the signer's public key",
                        "giá trị chữ ký không khớp với khóa công khai của người ký",
                    ),
                );
            }
        }
        first
    }

    /// Remember the weak algorithms of the signature itself; the policy is applied once
    /// the time of proof of existence is known ([`Context::apply_algorithm_policy`]).
    fn note_weak_signature(
        &self,
        si: &SignerInfo,
        digest: DigestAlgorithm,
        signer: &Certificate,
        out: &mut Partial,
    ) {
        let policy = &self.options.limits.algorithms;
        if let Some(w) = policy.digest(digest) {
            out.weak.push(w);
        } else if let Some(w) = policy.signature_algorithm(&si.signature_algorithm.oid) {
            out.weak.push(w);
        }
        if let Some(w) = policy.key(signer.tbs_certificate().subject_public_key_info()) {
            out.weak.push(w);
        }
    }

    /// Apply the dated algorithm policy to what the signature and its path use, given
    /// the time the signature is proven to have existed.
    fn apply_algorithm_policy(&self, proof_of_existence: OffsetDateTime, out: &mut Partial) {
        let weak = std::mem::take(&mut out.weak);
        for w in weak {
            let what_en = match &w.certificate {
                None => "the signature".to_string(),
                Some(s) => format!("the certificate {s}"),
            };
            let what_vi = match &w.certificate {
                None => "chữ ký".to_string(),
                Some(s) => format!("chứng thư số {s}"),
            };
            let until = vietnam_time(w.until);
            if w.expired_at(proof_of_existence) {
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::CryptoConstraintsFailureNoPoe,
                    Reason::new(
                        "weak_algorithm_no_proof_of_time",
                        format!(
                            "{what_en} uses {}, acceptable only until {until} by the algorithm policy, and nothing proves it was made before then (a time-stamp, or --at, before that date)",
                            w.algorithm
                        ),
                        format!(
                            "{what_vi} dùng {}, theo chính sách thuật toán chỉ được chấp nhận đến {until}, và không có bằng chứng được tạo trước thời điểm đó",
                            w.algorithm
                        ),
                    ),
                );
            } else {
                out.warnings.push(Reason::new(
                    "weak_algorithm",
                    format!(
                        "{what_en} uses {}, acceptable until {until} by the algorithm policy",
                        w.algorithm
                    ),
                    format!(
                        "{what_vi} dùng {}, theo chính sách thuật toán chỉ được chấp nhận đến {until}",
                        w.algorithm
                    ),
                ));
            }
        }
    }

    fn verify_signer(
        &self,
        index: usize,
        si: &SignerInfo,
        raw_attrs: Option<&[u8]>,
        econtent_type: &ObjectIdentifier,
        content_digest: Option<&[u8]>,
    ) -> SignatureReport {
        let mut out = Partial {
            algorithm: algorithm_name(&si.signature_algorithm.oid),
            ..Partial::default()
        };
        let cert = self.check_integrity(si, raw_attrs, econtent_type, content_digest, &mut out);
        let claimed = si
            .signed_attrs
            .as_ref()
            .and_then(|a| a.iter().find(|a| a.oid == ID_SIGNING_TIME))
            .and_then(|a| a.values.iter().next())
            .and_then(|v| v.decode_as::<x509_cert::time::Time>().ok())
            .and_then(|t| {
                OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64).ok()
            })
            .or(self.claimed_hint);
        // Time-stamp over the signature value.
        let mut proven: Option<OffsetDateTime> = None;
        if let Some(token) = timestamp_token(si) {
            let (ts_report, time) = self.verify_timestamp(&token, si.signature.as_bytes());
            if !ts_report.valid {
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::TimestampFailure,
                    Reason::new(
                        "timestamp_invalid",
                        format!(
                            "the signature time-stamp is not valid: {}",
                            ts_report
                                .reasons
                                .iter()
                                .map(|r| r.en.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                        "dấu thời gian của chữ ký không hợp lệ",
                    ),
                );
            } else {
                proven = time;
            }
            out.timestamp = Some(ts_report);
        }
        let (signing_time, source) = match (proven, claimed) {
            (Some(t), _) => (t, TimeSource::Timestamp),
            (None, Some(c)) => (c, TimeSource::Claimed),
            (None, None) => (self.options.validation_time, TimeSource::None),
        };
        out.signing_time = Some(vietnam_time(signing_time));
        out.signing_time_source = source;
        if source == TimeSource::Claimed
            && signing_time
                > self
                    .options
                    .validation_time
                    .saturating_add(time::Duration::minutes(10))
        {
            out.warnings.push(Reason::new(
                "claimed_time_after_validation_time",
                "the claimed signing time is later than the validation time",
                "thời điểm ký tự khai muộn hơn thời điểm kiểm tra",
            ));
        }
        if let (Some(p), Some(c)) = (proven, claimed) {
            // The claimed time should not be after the time-stamp (allow clock skew).
            if c > p.saturating_add(time::Duration::minutes(10)) {
                out.warnings.push(Reason::new(
                    "claimed_time_after_timestamp",
                    "the claimed signing time is later than the time-stamp",
                    "thời điểm ký tự khai muộn hơn dấu thời gian",
                ));
            }
        }
        if let Some(cert) = cert
            && out.integrity == Check::Passed
        {
            self.check_trust(cert, signing_time, source, &mut out);
        }
        // Cryptographic constraints: the proof of existence is the time-stamp, else
        // the validation time.
        self.apply_algorithm_policy(proven.unwrap_or(self.options.validation_time), &mut out);
        out.finish(index)
    }

    fn check_trust(
        &self,
        cert: &Certificate,
        signing_time: OffsetDateTime,
        source: TimeSource,
        out: &mut Partial,
    ) {
        self.check_trust_for(cert, signing_time, source, Purpose::DocumentSigning, out);
    }

    fn check_trust_for(
        &self,
        cert: &Certificate,
        signing_time: OffsetDateTime,
        source: TimeSource,
        purpose: Purpose,
        out: &mut Partial,
    ) {
        let Ok(ee_der) = cert.to_der() else { return };
        check_key_usage(cert, purpose, out);
        let policy = PathPolicy {
            revocation: self.options.revocation,
            ..PathPolicy::default()
        };
        let input = PathInput {
            end_entity: &ee_der,
            intermediates: &self.certificate_ders,
            crls: &self.crls,
            ocsp_responses: &self.ocsp,
            time: signing_time,
        };
        let outcome = match validate_path(self.options.anchors, &input, &policy) {
            Ok(o) => o,
            Err(e) => {
                out.trust = Check::Indeterminate;
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::CertificateChainGeneralFailure,
                    Reason::new(
                        "path_error",
                        format!("path validation could not run: {e}"),
                        format!("không kiểm tra được chuỗi chứng thư: {e}"),
                    ),
                );
                return;
            }
        };
        out.chain = outcome
            .path
            .iter()
            .map(|c| kyso_pki::name::display(c.tbs_certificate().subject()))
            .collect();
        out.revocation = match (&self.options.revocation, &outcome.end_entity_revocation) {
            (RevocationMode::Skip, _) | (_, RevocationInfo::NotChecked) => {
                RevocationCheck::NotChecked
            }
            (_, RevocationInfo::Good { .. }) => RevocationCheck::Good,
            (_, RevocationInfo::Revoked { at, .. }) if *at > signing_time => {
                RevocationCheck::RevokedAfterSigning
            }
            (_, RevocationInfo::Revoked { .. }) => RevocationCheck::Revoked,
            (_, _) => RevocationCheck::Unknown,
        };
        if let Some(anchor) = outcome.path.last()
            && outcome.path.len() > 1
        {
            out.trust_anchor_source = self
                .options
                .anchors
                .source_of(anchor)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        match &outcome.status {
            PathStatus::Valid => {
                out.trust = Check::Passed;
                out.weak
                    .extend(self.options.limits.algorithms.path(&outcome.path));
                if source != TimeSource::Timestamp {
                    let not_before = cert
                        .tbs_certificate()
                        .validity()
                        .not_before
                        .to_unix_duration();
                    let now = self.options.validation_time.unix_timestamp();
                    if now < i64::try_from(not_before.as_secs()).unwrap_or(i64::MAX) {
                        out.fail(
                            Indication::Indeterminate,
                            SubIndication::NotYetValid,
                            Reason::new(
                                "not_yet_valid_at_validation_time",
                                "at the validation time the signer's certificate was not yet valid (validation time before its notBefore)",
                                "tại thời điểm kiểm tra, chứng thư số của người ký chưa có hiệu lực",
                            ),
                        );
                    }
                    let not_after = cert
                        .tbs_certificate()
                        .validity()
                        .not_after
                        .to_unix_duration();
                    let now = self.options.validation_time.unix_timestamp();
                    if now > not_after.as_secs() as i64 {
                        out.fail(
                            Indication::Indeterminate,
                            SubIndication::OutOfBoundsNoPoe,
                            Reason::new(
                                "expired_no_proof_of_time",
                                "the certificate has expired since, and no time-stamp proves the signature was made while it was valid",
                                "chứng thư số đã hết hạn và không có dấu thời gian chứng minh thời điểm ký",
                            ),
                        );
                    }
                    // A revocation dated after the validation time has not happened yet
                    // as of that time.
                    if let RevocationInfo::Revoked { at, .. } = &outcome.end_entity_revocation
                        && *at <= self.options.validation_time
                    {
                        out.fail(
                            Indication::Indeterminate,
                            SubIndication::RevokedNoPoe,
                            Reason::new(
                                "revoked_no_proof_of_time",
                                format!(
                                    "the certificate was revoked on {} and no time-stamp proves the signature is older",
                                    vietnam_time(*at)
                                ),
                                format!(
                                    "chứng thư số bị thu hồi lúc {} và không có dấu thời gian chứng minh chữ ký được tạo trước đó",
                                    vietnam_time(*at)
                                ),
                            ),
                        );
                    }
                } else if let RevocationInfo::Revoked { at, .. } = &outcome.end_entity_revocation {
                    out.warnings.push(Reason::new(
                        "revoked_after_signing",
                        format!("the certificate was revoked on {}, after the time-stamped signing time", vietnam_time(*at)),
                        format!("chứng thư số bị thu hồi lúc {}, sau thời điểm ký đã được gắn dấu thời gian", vietnam_time(*at)),
                    ));
                }
                if self.options.revocation == RevocationMode::Skip {
                    out.warnings.push(Reason::new(
                        "revocation_not_checked",
                        "revocation was not checked, by request",
                        "không kiểm tra tình trạng thu hồi (theo yêu cầu)",
                    ));
                }
            }
            PathStatus::Invalid(f) | PathStatus::Indeterminate(f) => {
                let definite = matches!(outcome.status, PathStatus::Invalid(_));
                let (mut indication, mut sub, reason) = path_failure(f, definite);
                // Without any signing time the path was validated at the validation
                // time: outside the signer's validity then proves nothing about when
                // the signature was made (EN 319 102-1: no proof of existence).
                if source == TimeSource::None {
                    match f {
                        PathFailure::Expired { .. } => {
                            indication = Indication::Indeterminate;
                            sub = SubIndication::OutOfBoundsNoPoe;
                        }
                        PathFailure::NotYetValid { .. } => {
                            indication = Indication::Indeterminate;
                        }
                        _ => {}
                    }
                }
                out.trust = if indication == Indication::TotalFailed {
                    Check::Failed
                } else {
                    Check::Indeterminate
                };
                out.fail(indication, sub, reason);
            }
            #[allow(unreachable_patterns)]
            _ => {
                out.trust = Check::Indeterminate;
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::CertificateChainGeneralFailure,
                    Reason::new(
                        "path_unknown",
                        "unknown path status",
                        "không rõ trạng thái chuỗi",
                    ),
                );
            }
        }
    }

    /// Verify an RFC 3161 token over `signature_value`; returns the report and genTime.
    fn verify_timestamp(
        &self,
        token_der: &[u8],
        signature_value: &[u8],
    ) -> (TimestampReport, Option<OffsetDateTime>) {
        self.verify_timestamp_over(token_der, &[signature_value])
    }

    /// Verify an RFC 3161 token over `content` (consecutive segments).
    fn verify_timestamp_over(
        &self,
        token_der: &[u8],
        content: &[&[u8]],
    ) -> (TimestampReport, Option<OffsetDateTime>) {
        let mut report = TimestampReport {
            time: String::new(),
            tsa: None,
            valid: false,
            reasons: Vec::new(),
        };
        let info = match crate::tsp::parse_token(token_der) {
            Ok(i) => i,
            Err(e) => {
                report.reasons.push(Reason::new(
                    "timestamp_malformed",
                    e.to_string(),
                    "dấu thời gian sai định dạng",
                ));
                return (report, None);
            }
        };
        report.time = vietnam_time(info.gen_time);
        let mut hasher = info.imprint_algorithm.hasher();
        for segment in content {
            hasher.update(segment);
        }
        if hasher.finish() != info.imprint {
            report.reasons.push(Reason::new(
                "timestamp_imprint_mismatch",
                "the time-stamp is not over this signature",
                "dấu thời gian không gắn với chữ ký này",
            ));
            return (report, None);
        }
        let Ok((sd, raw_attrs)) = decode_signed_data_raw(token_der) else {
            return (report, None);
        };
        let inner_options = VerifyOptions {
            validation_time: self.options.validation_time,
            ..self.options.clone()
        };
        let Ok(ctx) = Context::new(&sd, &inner_options) else {
            return (report, None);
        };
        // Certificates of the outer signature can complete the TSA chain too.
        let mut ctx = ctx;
        ctx.certificates.extend(self.certificates.iter().cloned());
        ctx.certificate_ders
            .extend(self.certificate_ders.iter().cloned());
        ctx.crls.extend(self.crls.iter().cloned());
        ctx.ocsp.extend(self.ocsp.iter().cloned());
        let Some(si) = sd.signer_infos.0.iter().next() else {
            return (report, None);
        };
        let digest =
            DigestAlgorithm::from_oid(&si.digest_alg.oid).map(|d| d.digest(&info.tst_info_der));
        let mut partial = Partial::default();
        let raw = raw_attrs.first().and_then(Option::as_deref);
        let cert = ctx.check_integrity(si, raw, &ID_CT_TST_INFO, digest.as_deref(), &mut partial);
        if let Some(cert) = cert {
            report.tsa = Some(kyso_pki::name::display(cert.tbs_certificate().subject()));
            let eku_ok = matches!(cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
                Ok(Some((_, eku))) if eku.0.contains(&ID_KP_TIME_STAMPING));
            if !eku_ok {
                partial.fail(
                    Indication::TotalFailed,
                    SubIndication::ChainConstraintsFailure,
                    Reason::new(
                        "tsa_not_timestamping",
                        "the time-stamp certificate is not for time-stamping (no id-kp-timeStamping)",
                        "chứng thư số của dấu thời gian không dùng cho cấp dấu thời gian",
                    ),
                );
            }
            if partial.integrity == Check::Passed {
                ctx.check_trust_tsa(cert, info.gen_time, &mut partial);
            }
        }
        ctx.apply_algorithm_policy(self.options.validation_time, &mut partial);
        report.valid = partial.indication == Indication::TotalPassed;
        report.reasons = partial.reasons;
        (report, Some(info.gen_time))
    }

    fn check_trust_tsa(&self, cert: &Certificate, at: OffsetDateTime, out: &mut Partial) {
        // The TSA path is validated at genTime; the TSA's own time is trusted for itself.
        self.check_trust_for(cert, at, TimeSource::Timestamp, Purpose::TimeStamping, out);
    }
}

/// What the ESS signing-certificate(-v2) attribute says about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Match,
    Mismatch,
    Absent,
}

fn signing_certificate_binding(attrs: &x509_cert::attr::Attributes, cert: &Certificate) -> Binding {
    let Ok(cert_der) = cert.to_der() else {
        return Binding::Mismatch;
    };
    if let Some(attr) = attrs.iter().find(|a| a.oid == ID_SIGNING_CERTIFICATE_V2) {
        let parsed = attr
            .values
            .iter()
            .next()
            .and_then(|v| v.decode_as::<SigningCertificateV2>().ok());
        let ok = parsed
            .as_ref()
            .and_then(|p| p.certs.first())
            .is_some_and(|id| {
                let alg = id
                    .hash_algorithm
                    .as_ref()
                    .map(|a| DigestAlgorithm::from_oid(&a.oid))
                    .unwrap_or(Some(DigestAlgorithm::Sha256));
                alg.is_some_and(|alg| alg.digest(&cert_der) == id.cert_hash.as_bytes())
            });
        if ok {
            Binding::Match
        } else {
            Binding::Mismatch
        }
    } else if let Some(attr) = attrs.iter().find(|a| a.oid == ID_SIGNING_CERTIFICATE) {
        let parsed = attr
            .values
            .iter()
            .next()
            .and_then(|v| v.decode_as::<SigningCertificate>().ok());
        let ok = parsed
            .as_ref()
            .and_then(|p| p.certs.first())
            .is_some_and(|id| DigestAlgorithm::Sha1.digest(&cert_der) == id.cert_hash.as_bytes());
        if ok {
            Binding::Match
        } else {
            Binding::Mismatch
        }
    } else {
        Binding::Absent
    }
}

/// Per-signature accumulator.
struct Partial {
    signer: Option<SignerSummary>,
    algorithm: String,
    digest_algorithm: String,
    signing_time: Option<String>,
    signing_time_source: TimeSource,
    integrity: Check,
    trust: Check,
    revocation: RevocationCheck,
    timestamp: Option<TimestampReport>,
    chain: Vec<String>,
    indication: Indication,
    sub_indication: Option<SubIndication>,
    reasons: Vec<Reason>,
    warnings: Vec<Reason>,
    /// Weak algorithms in use, judged once the proof-of-existence time is known.
    weak: Vec<kyso_pki::WeakAlgorithm>,
    /// The list the trust anchor of the validated path came from.
    trust_anchor_source: Option<String>,
}

impl Default for Partial {
    fn default() -> Self {
        Self {
            signer: None,
            algorithm: String::new(),
            digest_algorithm: String::new(),
            signing_time: None,
            signing_time_source: TimeSource::None,
            integrity: Check::NotChecked,
            trust: Check::NotChecked,
            revocation: RevocationCheck::NotChecked,
            timestamp: None,
            chain: Vec::new(),
            indication: Indication::TotalPassed,
            sub_indication: None,
            reasons: Vec::new(),
            warnings: Vec::new(),
            weak: Vec::new(),
            trust_anchor_source: None,
        }
    }
}

impl Partial {
    /// Record a failure; the first TOTAL_FAILED wins over INDETERMINATE.
    fn fail(&mut self, indication: Indication, sub: SubIndication, reason: Reason) {
        let replace = matches!(
            (self.indication, indication),
            (Indication::TotalPassed, _) | (Indication::Indeterminate, Indication::TotalFailed)
        );
        if replace {
            self.indication = indication;
            self.sub_indication = Some(sub);
        }
        self.reasons.push(reason);
    }

    fn finish(self, index: usize) -> SignatureReport {
        SignatureReport {
            index,
            signer: self.signer,
            algorithm: self.algorithm,
            digest_algorithm: self.digest_algorithm,
            signing_time: self.signing_time,
            signing_time_source: self.signing_time_source,
            integrity: self.integrity,
            trust: self.trust,
            revocation: self.revocation,
            timestamp: self.timestamp,
            chain: self.chain,
            indication: self.indication,
            sub_indication: self.sub_indication,
            reasons: self.reasons,
            warnings: self.warnings,
            trust_anchor_source: self.trust_anchor_source,
        }
    }
}

/// keyUsage must allow digitalSignature or nonRepudiation; an EKU, when present, must
/// allow document signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    DocumentSigning,
    /// The EKU (critical id-kp-timeStamping) is checked by the caller.
    TimeStamping,
}

fn check_key_usage(cert: &Certificate, purpose: Purpose, out: &mut Partial) {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => {
            if !(ku.digital_signature() || ku.non_repudiation()) {
                out.fail(
                    Indication::Indeterminate,
                    SubIndication::ChainConstraintsFailure,
                    Reason::new(
                        "key_usage",
                        "the signer's certificate does not allow digital signatures (key usage has neither digitalSignature nor nonRepudiation)",
                        "chứng thư số của người ký không cho phép ký số (thiếu digitalSignature/nonRepudiation)",
                    ),
                );
            }
        }
        Ok(None) => {}
        Err(_) => out.fail(
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Reason::new(
                "key_usage_malformed",
                "malformed keyUsage extension",
                "phần mở rộng keyUsage sai định dạng",
            ),
        ),
    }
    if purpose != Purpose::DocumentSigning {
        return;
    }
    if let Ok(Some((_, eku))) = tbs.get_extension::<ExtendedKeyUsage>() {
        const ALLOWED: [&str; 7] = [
            "2.5.29.37.0",             // anyExtendedKeyUsage
            "1.3.6.1.5.5.7.3.4",       // emailProtection
            "1.3.6.1.5.5.7.3.2",       // clientAuth (common on Vietnamese tokens)
            "1.3.6.1.5.5.7.3.36",      // id-kp-documentSigning (RFC 9336)
            "1.3.6.1.4.1.311.10.3.12", // Microsoft document signing
            "1.2.840.113583.1.1.5",    // Adobe authentic documents
            "1.3.6.1.4.1.311.10.3.1",  // Microsoft trust list signing (legacy CA practice)
        ];
        let ok = eku
            .0
            .iter()
            .any(|oid| ALLOWED.contains(&oid.to_string().as_str()));
        if !ok {
            out.fail(
                Indication::Indeterminate,
                SubIndication::ChainConstraintsFailure,
                Reason::new(
                    "extended_key_usage",
                    "the signer's certificate is restricted to other purposes (extended key usage)",
                    "chứng thư số của người ký chỉ dùng cho mục đích khác (extended key usage)",
                ),
            );
        }
    }
}

fn path_failure(f: &PathFailure, definite: bool) -> (Indication, SubIndication, Reason) {
    let en = f.to_string();
    let ind = |definite_ind| {
        if definite {
            definite_ind
        } else {
            Indication::Indeterminate
        }
    };
    match f {
        PathFailure::NoPathToTrustAnchor => (
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
            Reason::new(
                "untrusted",
                format!("the signer's certificate does not chain to a trusted root: {en}"),
                "chứng thư số của người ký không dẫn tới chứng thư gốc được tin cậy",
            ),
        ),
        PathFailure::Revoked { position, at, .. } => (
            Indication::TotalFailed,
            SubIndication::Revoked,
            Reason::new(
                "revoked",
                if *position == 0 {
                    format!(
                        "the signer's certificate was revoked on {}, before the signing time",
                        vietnam_time(*at)
                    )
                } else {
                    format!(
                        "a CA certificate in the path was revoked on {}",
                        vietnam_time(*at)
                    )
                },
                if *position == 0 {
                    format!(
                        "chứng thư số của người ký đã bị thu hồi lúc {}, trước thời điểm ký",
                        vietnam_time(*at)
                    )
                } else {
                    format!(
                        "chứng thư số của CA trong chuỗi đã bị thu hồi lúc {}",
                        vietnam_time(*at)
                    )
                },
            ),
        ),
        PathFailure::Expired {
            position,
            not_after,
        } => (
            if *position == 0 {
                Indication::TotalFailed
            } else {
                ind(Indication::TotalFailed)
            },
            SubIndication::Expired,
            Reason::new(
                "expired",
                if *position == 0 {
                    format!(
                        "the signer's certificate had expired ({}) at the signing time",
                        vietnam_time(*not_after)
                    )
                } else {
                    format!(
                        "a CA certificate in the path had expired ({}) at the signing time",
                        vietnam_time(*not_after)
                    )
                },
                format!(
                    "chứng thư số đã hết hạn ({}) tại thời điểm ký",
                    vietnam_time(*not_after)
                ),
            ),
        ),
        PathFailure::NotYetValid { .. } => (
            Indication::TotalFailed,
            SubIndication::NotYetValid,
            Reason::new(
                "not_yet_valid",
                en,
                "chứng thư số chưa có hiệu lực tại thời điểm ký",
            ),
        ),
        PathFailure::RevocationUnknown { .. } => (
            Indication::Indeterminate,
            SubIndication::TryLater,
            Reason::new(
                "revocation_unknown",
                format!("the revocation status could not be established: {en}"),
                "không xác định được tình trạng thu hồi của chứng thư số (thiếu CRL/OCSP)",
            ),
        ),
        PathFailure::UnsupportedAlgorithm { .. } => (
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            Reason::new("unsupported_algorithm", en, "thuật toán không được hỗ trợ"),
        ),
        // A name-matching CA whose key did not sign the certificate: no chain.
        PathFailure::BadSignature { .. } => (
            Indication::Indeterminate,
            SubIndication::CertificateChainGeneralFailure,
            Reason::new(
                "chain_signature",
                en,
                "chữ ký trên một chứng thư số trong chuỗi không hợp lệ",
            ),
        ),
        _ => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            Reason::new(
                "chain_constraints",
                en,
                "chuỗi chứng thư số không đáp ứng ràng buộc",
            ),
        ),
    }
}

fn summary(cert: &Certificate) -> SignerSummary {
    let tbs = cert.tbs_certificate();
    let attr = |oid: &str| -> Option<String> {
        for atv in tbs.subject().iter() {
            if atv.oid.to_string() == oid {
                return directory_string(&atv.value);
            }
        }
        None
    };
    let time = |t: &x509_cert::time::Time| {
        OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
            .map(vietnam_time)
            .unwrap_or_default()
    };
    SignerSummary {
        subject: kyso_pki::name::display(tbs.subject()),
        common_name: attr("2.5.4.3"),
        organization: attr("2.5.4.10"),
        uid: attr("0.9.2342.19200300.100.1.1"),
        issuer: kyso_pki::name::display(tbs.issuer()),
        serial: crate::tsp::hex_upper(tbs.serial_number().as_bytes()),
        not_before: time(&tbs.validity().not_before),
        not_after: time(&tbs.validity().not_after),
        certificate_sha256: cert
            .to_der()
            .map(|der| {
                DigestAlgorithm::Sha256
                    .digest(&der)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn directory_string(any: &der::Any) -> Option<String> {
    match any.tag() {
        der::Tag::Utf8String | der::Tag::PrintableString | der::Tag::Ia5String => {
            std::str::from_utf8(any.value()).ok().map(str::to_string)
        }
        der::Tag::BmpString => {
            let units: Vec<u16> = any
                .value()
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn algorithm_name(oid: &ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA-PKCS1v1.5".into(),
        "1.2.840.113549.1.1.5" => "RSA-PKCS1v1.5-SHA1".into(),
        "1.2.840.113549.1.1.11" => "RSA-PKCS1v1.5-SHA256".into(),
        "1.2.840.113549.1.1.12" => "RSA-PKCS1v1.5-SHA384".into(),
        "1.2.840.113549.1.1.13" => "RSA-PKCS1v1.5-SHA512".into(),
        "1.2.840.113549.1.1.10" => "RSA-PSS".into(),
        "1.2.840.10045.2.1" => "ECDSA".into(),
        "1.2.840.10045.4.3.2" => "ECDSA-SHA256".into(),
        "1.2.840.10045.4.3.3" => "ECDSA-SHA384".into(),
        "1.2.840.10045.4.3.4" => "ECDSA-SHA512".into(),
        "1.3.101.112" => "Ed25519".into(),
        other => other.to_string(),
    }
}
