//! Revocation status of one certificate as of the validation time, from CRLs and OCSP
//! responses.
//!
//! Each CRL / OCSP response is handed to `certval` on its own (a one-certificate path whose
//! "anchor" is the certificate's issuer), which checks the signature, the issuer's right to
//! sign CRLs, issuer name, distribution point / issuing distribution point scope, critical
//! extensions, OCSP CertID and responder authorisation. We choose the time `certval` judges
//! freshness at, and compare revocation dates with the validation time ourselves, because
//! `certval` treats any listed certificate as revoked and ignores data issued after its time
//! of interest, whereas signatures need "status at signing time":
//!
//! * `thisUpdate <= time <= nextUpdate`: current at `time`, judged at `time`;
//! * `thisUpdate > time`: issued after signing, authoritative about revocations before it,
//!   judged at its own issue time; but if it was issued after the certificate expired, an
//!   absent entry proves nothing (CAs drop expired certificates) unless the CRL carries
//!   ExpiredCertsOnCRL;
//! * revocation date `<= time`: revoked; `> time`: good at `time`, reported.

use certval::ocsp::{
    BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, SingleResponse,
};
use certval::{
    CertificationPath, CertificationPathResults, CertificationPathSettings, DeferDecodeSigned,
    Error as CvError, ExtensionProcessing, PDVCertificate, PDVExtension, PDVTrustAnchorChoice,
    PathValidationStatus as Pvs, PkiEnvironment, SubjectNameAndKey, TimeOfInterest, cert_id_match,
    compare_names,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_CRL_REASONS, ID_CE_DELTA_CRL_INDICATOR,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_BASIC;
use der::Decode;
use time::OffsetDateTime;
use x509_cert::certificate::{CertificateInner, Raw};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::name::Name;

use super::build::{Pool, PoolCert};
use super::verify::unsupported_algorithm;
use super::{RevocationInfo, RevocationSource, format_time, to_offset_date_time};

/// id-ce-expiredCertsOnCRL (RFC 5280 §5.2.7 / X.509 2016).
const ID_CE_EXPIRED_CERTS_ON_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.60");

/// certval accepts OCSP times up to this far after its time of interest.
const OCSP_SKEW: time::Duration = time::Duration::minutes(5);

/// The supplied CRLs and OCSP responses, parsed once.
pub(super) struct Evidence {
    crls: Vec<Crl>,
    ocsp: Vec<Ocsp>,
}

struct Crl {
    der: Vec<u8>,
    issuer: Name,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    delta: bool,
    expired_certs_on_crl: bool,
    /// serial (INTEGER value octets), revocation date, reason
    entries: Vec<(Vec<u8>, OffsetDateTime, Option<String>)>,
}

struct Ocsp {
    der: Vec<u8>,
    produced_at: OffsetDateTime,
    responses: Vec<SingleResponse>,
}

impl Evidence {
    /// Parse; anything that does not parse is dropped (it could only ever be "unusable").
    pub(super) fn parse(crls: &[Vec<u8>], ocsp_responses: &[Vec<u8>]) -> Self {
        Self {
            crls: crls.iter().filter_map(|der| parse_crl(der)).collect(),
            ocsp: ocsp_responses
                .iter()
                .filter_map(|der| parse_ocsp(der))
                .collect(),
        }
    }
}

fn parse_crl(der: &[u8]) -> Option<Crl> {
    let crl = CertificateList::<Raw>::from_der(der).ok()?;
    let tbs = &crl.tbs_cert_list;
    let exts = tbs.crl_extensions.as_deref().unwrap_or_default();
    let entries = tbs
        .revoked_certificates
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|rc| {
            let reason = rc
                .crl_entry_extensions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find(|e| e.extn_id == ID_CE_CRL_REASONS)
                .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok())
                .map(reason_name);
            (
                rc.serial_number.as_bytes().to_vec(),
                to_offset_date_time(rc.revocation_date.to_unix_duration()),
                reason,
            )
        })
        .collect();
    Some(Crl {
        der: der.to_vec(),
        issuer: tbs.issuer.clone(),
        this_update: to_offset_date_time(tbs.this_update.to_unix_duration()),
        next_update: tbs
            .next_update
            .map(|t| to_offset_date_time(t.to_unix_duration())),
        delta: exts.iter().any(|e| e.extn_id == ID_CE_DELTA_CRL_INDICATOR),
        expired_certs_on_crl: exts.iter().any(|e| e.extn_id == ID_CE_EXPIRED_CERTS_ON_CRL),
        entries,
    })
}

fn parse_ocsp(der: &[u8]) -> Option<Ocsp> {
    let response = OcspResponse::from_der(der).ok()?;
    if response.response_status != OcspResponseStatus::Successful {
        return None;
    }
    let bytes = response.response_bytes?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return None;
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).ok()?;
    Some(Ocsp {
        der: der.to_vec(),
        produced_at: to_offset_date_time(basic.tbs_response_data.produced_at.0.to_unix_duration()),
        responses: basic.tbs_response_data.responses,
    })
}

fn reason_name(reason: CrlReason) -> String {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
    .to_owned()
}

/// The revocation status of one certificate at the validation time.
#[derive(Debug, Clone)]
pub(super) enum Verdict {
    /// Not revoked at the validation time (perhaps revoked later: `revoked_later`).
    Good {
        source: RevocationSource,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
        revoked_later: Option<(RevocationSource, OffsetDateTime, Option<String>)>,
    },
    /// Revoked at or before the validation time.
    Revoked {
        source: RevocationSource,
        at: OffsetDateTime,
        reason: Option<String>,
    },
    /// Undetermined.
    Unknown { why: String },
}

impl Verdict {
    pub(super) fn to_info(&self) -> RevocationInfo {
        match self {
            Verdict::Good {
                revoked_later: Some((source, at, reason)),
                ..
            }
            | Verdict::Revoked { source, at, reason } => RevocationInfo::Revoked {
                source: *source,
                at: *at,
                reason: reason.clone(),
            },
            Verdict::Good {
                source,
                this_update,
                next_update,
                revoked_later: None,
            } => RevocationInfo::Good {
                source: *source,
                this_update: *this_update,
                next_update: *next_update,
            },
            Verdict::Unknown { why } => RevocationInfo::Unknown { why: why.clone() },
        }
    }
}

/// What certval made of one CRL / OCSP response.
enum Answer {
    Good,
    Revoked,
    Unusable,
}

/// A good answer: source, thisUpdate, nextUpdate.
type GoodAnswer = (RevocationSource, OffsetDateTime, Option<OffsetDateTime>);

/// What [`status_at`] works with.
pub(super) struct Request<'a> {
    pub(super) env: &'a PkiEnvironment,
    pub(super) evidence: &'a Evidence,
    /// Candidates for CRL signers other than the issuer.
    pub(super) pool: &'a Pool,
    /// The validation time.
    pub(super) time: OffsetDateTime,
    /// Does this certificate have a valid path to the same anchor at this time?
    pub(super) validate_signer: &'a dyn Fn(&PoolCert, OffsetDateTime) -> bool,
}

/// Status of `subject` (issued by `issuer`, whose certificate is `issuer_der` /
/// `issuer_cert`) at `req.time`.
pub(super) fn status_at(
    req: &Request<'_>,
    subject: &PDVCertificate,
    issuer: &PDVTrustAnchorChoice,
    issuer_der: &[u8],
    issuer_cert: &CertificateInner<Raw>,
) -> Verdict {
    let (env, evidence, time) = (req.env, req.evidence, req.time);
    let tbs = subject.decoded().tbs_certificate();
    let serial = tbs.serial_number();
    let not_after = to_offset_date_time(tbs.validity().not_after.to_unix_duration());

    let mut good_crl: Option<GoodAnswer> = None;
    let mut good_ocsp: Option<GoodAnswer> = None;
    let mut revoked_later: Option<(RevocationSource, OffsetDateTime, Option<String>)> = None;
    let mut problems: Vec<String> = Vec::new();
    let mut crls_seen = 0usize;
    let delta_seen = evidence
        .crls
        .iter()
        .any(|c| c.delta && compare_names(&c.issuer, tbs.issuer()));

    for crl in evidence
        .crls
        .iter()
        .filter(|c| compare_names(&c.issuer, tbs.issuer()))
    {
        crls_seen += 1;
        if crl.delta {
            continue;
        }
        let judge_at = match judging_time(crl.this_update, crl.next_update, time, "CRL") {
            Ok(t) => t,
            Err(why) => {
                problems.push(why);
                continue;
            }
        };
        let mut cp = CertificationPath::new(issuer.clone(), Vec::new(), subject.clone());
        cp.crls[0] = Some(crl.der.clone());
        let mut answer = ask_certval(env, judge_at, &cp);
        let mut diagnosis = None;
        if matches!(answer, Answer::Unusable) {
            let why = diagnose_crl(env, crl, issuer);
            if why.1 {
                // Not signed by the issuer's key: perhaps by another key of the same CA.
                answer = ask_other_signers(req, crl, subject, issuer_der, judge_at);
            }
            diagnosis = Some(why.0);
        }
        match answer {
            Answer::Good => {
                if crl.this_update > not_after && !crl.expired_certs_on_crl {
                    problems.push(format!(
                        "the CRL of {} was issued after the certificate expired ({}), so the absence of an entry proves nothing",
                        format_time(crl.this_update),
                        format_time(not_after)
                    ));
                } else {
                    good_crl.get_or_insert((
                        RevocationSource::Crl,
                        crl.this_update,
                        crl.next_update,
                    ));
                }
            }
            Answer::Revoked => {
                let Some((_, at, reason)) = crl
                    .entries
                    .iter()
                    .find(|(s, _, _)| s.as_slice() == serial.as_bytes())
                else {
                    problems.push("the CRL entry could not be read".to_owned());
                    continue;
                };
                if delta_seen && reason.as_deref() == Some("certificateHold") {
                    problems.push(
                        "the certificate is on hold in the base CRL and a delta CRL (not supported) may release it".to_owned(),
                    );
                    continue;
                }
                if *at <= time {
                    return Verdict::Revoked {
                        source: RevocationSource::Crl,
                        at: *at,
                        reason: reason.clone(),
                    };
                }
                revoked_later.get_or_insert((RevocationSource::Crl, *at, reason.clone()));
                good_crl.get_or_insert((RevocationSource::Crl, crl.this_update, crl.next_update));
            }
            Answer::Unusable => problems.push(diagnosis.unwrap_or_default()),
        }
    }

    for ocsp in &evidence.ocsp {
        let Some(single) = ocsp
            .responses
            .iter()
            .find(|sr| cert_id_match(&sr.cert_id, serial, issuer.decoded()))
        else {
            continue;
        };
        let this_update = to_offset_date_time(single.this_update.0.to_unix_duration());
        let next_update = single
            .next_update
            .map(|t| to_offset_date_time(t.0.to_unix_duration()));
        let judge_at = match judging_time(this_update, next_update, time, "OCSP response") {
            // certval also wants producedAt no later than its time of interest (+5 min).
            Ok(t) if ocsp.produced_at > t.saturating_add(OCSP_SKEW) => ocsp.produced_at,
            Ok(t) => t,
            Err(why) => {
                problems.push(why);
                continue;
            }
        };
        let mut cp = CertificationPath::new(issuer.clone(), Vec::new(), subject.clone());
        cp.ocsp_responses[0] = Some(ocsp.der.clone());
        match ask_certval(env, judge_at, &cp) {
            Answer::Good => {
                if this_update > not_after {
                    problems.push(format!(
                        "the OCSP response of {} was produced after the certificate expired ({}), so it proves nothing",
                        format_time(this_update),
                        format_time(not_after)
                    ));
                } else {
                    good_ocsp.get_or_insert((RevocationSource::Ocsp, this_update, next_update));
                }
            }
            Answer::Revoked => {
                let CertStatus::Revoked(info) = single.cert_status else {
                    problems.push("inconsistent OCSP response".to_owned());
                    continue;
                };
                let at = to_offset_date_time(info.revocation_time.0.to_unix_duration());
                let reason = info.revocation_reason.map(reason_name);
                if at <= time {
                    return Verdict::Revoked {
                        source: RevocationSource::Ocsp,
                        at,
                        reason,
                    };
                }
                revoked_later.get_or_insert((RevocationSource::Ocsp, at, reason));
                good_ocsp.get_or_insert((RevocationSource::Ocsp, this_update, next_update));
            }
            Answer::Unusable => problems.push(match single.cert_status {
                CertStatus::Unknown(_) => "the OCSP responder answered \"unknown\"".to_owned(),
                _ => format!(
                    "the OCSP response could not be used (signature, responder authorisation or time check failed; {})",
                    algorithm_note(&ocsp.der, issuer_cert)
                ),
            }),
        }
    }

    if delta_seen && good_crl.is_some() && good_ocsp.is_none() {
        problems.push(
            "a delta CRL was supplied, and delta CRLs are not supported: the base CRL alone cannot prove the certificate good".to_owned(),
        );
        good_crl = None;
    }
    if let Some((source, this_update, next_update)) = good_ocsp.or(good_crl) {
        return Verdict::Good {
            source,
            this_update,
            next_update,
            revoked_later,
        };
    }
    if problems.is_empty() {
        problems.push(no_evidence_reason(subject, crls_seen));
    }
    Verdict::Unknown {
        why: problems.join("; "),
    }
}

/// The time at which a CRL / OCSP response issued at `issued` is judged, or why it is not
/// usable for `time`.
fn judging_time(
    issued: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    time: OffsetDateTime,
    what: &str,
) -> Result<OffsetDateTime, String> {
    if issued > time {
        // Issued after the validation time: authoritative about revocations before it.
        return Ok(issued);
    }
    match next_update {
        Some(next) if next < time => Err(format!(
            "the {what} issued {} was already stale at the validation time (next update {})",
            format_time(issued),
            format_time(next)
        )),
        Some(_) => Ok(time),
        None => Err(format!(
            "the {what} issued {} has no next-update time, so it cannot vouch for a later time",
            format_time(issued)
        )),
    }
}

fn ask_certval(env: &PkiEnvironment, at: OffsetDateTime, cp: &CertificationPath) -> Answer {
    let Some(toi) = u64::try_from(at.unix_timestamp())
        .ok()
        .and_then(|s| TimeOfInterest::from_unix_secs(s).ok())
    else {
        return Answer::Unusable;
    };
    let mut cps = CertificationPathSettings::new();
    cps.set_time_of_interest(toi);
    cps.set_check_revocation_status(true);
    cps.set_check_crls(false);
    cps.set_check_ocsp_from_aia(false);
    cps.set_check_crldp_http(false);
    let mut cpr = CertificationPathResults::new();
    match certval::check_revocation_local(env, &cps, cp, &mut cpr) {
        Ok(()) => Answer::Good,
        Err(CvError::PathValidation(
            Pvs::CertificateRevoked
            | Pvs::CertificateRevokedEndEntity
            | Pvs::CertificateRevokedIntermediateCa,
        )) => Answer::Revoked,
        Err(_) => Answer::Unusable,
    }
}

/// Why certval refused a CRL, as far as we can tell cheaply; `true` when the reason is that
/// the issuer's key does not verify the CRL's signature.
fn diagnose_crl(env: &PkiEnvironment, crl: &Crl, issuer: &PDVTrustAnchorChoice) -> (String, bool) {
    let issued = format_time(crl.this_update);
    let Ok(signed) = DeferDecodeSigned::from_der(&crl.der) else {
        return (format!("the CRL issued {issued} is malformed"), false);
    };
    let spki = issuer.decoded().spki();
    if let Some(algorithm) = unsupported_algorithm(&signed.signature_algorithm.oid, Some(spki)) {
        return (
            format!(
                "the CRL issued {issued} is signed with an unsupported algorithm ({algorithm})"
            ),
            false,
        );
    }
    if !signature_verifies(env, &signed, spki) {
        return (
            format!(
                "the CRL issued {issued} is not signed by the issuing CA, nor by another validated key of it (bad signature, or an indirect CRL, which is not supported)"
            ),
            true,
        );
    }
    (
        format!(
            "the CRL issued {issued} cannot be used for this certificate (the issuer may not sign CRLs, the CRL's scope or distribution point does not cover it, it is partitioned by reason or indirect, or it has an unsupported critical extension)"
        ),
        false,
    )
}

fn signature_verifies(
    env: &PkiEnvironment,
    signed: &DeferDecodeSigned,
    spki: &spki::SubjectPublicKeyInfoOwned,
) -> bool {
    env.verify_signature_message(
        env,
        &signed.tbs_field,
        &signed.signature,
        &signed.signature_algorithm,
        spki,
    )
    .is_ok()
}

/// Try the CRL with other certificates of the CA (same subject name as the CRL issuer,
/// whose key verifies the CRL) whose own path validates to the same anchor.
fn ask_other_signers(
    req: &Request<'_>,
    crl: &Crl,
    subject: &PDVCertificate,
    issuer_der: &[u8],
    judge_at: OffsetDateTime,
) -> Answer {
    let Ok(signed) = DeferDecodeSigned::from_der(&crl.der) else {
        return Answer::Unusable;
    };
    for signer in req.pool.certs.iter().filter(|c| {
        c.der != issuer_der
            && compare_names(c.pdv.decoded().tbs_certificate().subject(), &crl.issuer)
            && signature_verifies(
                req.env,
                &signed,
                c.pdv.decoded().tbs_certificate().subject_public_key_info(),
            )
    }) {
        if !(req.validate_signer)(signer, judge_at) {
            continue;
        }
        let Ok(ta) = PDVTrustAnchorChoice::try_from(signer.der.as_slice()) else {
            continue;
        };
        let mut cp = CertificationPath::new(ta, Vec::new(), subject.clone());
        cp.crls[0] = Some(crl.der.clone());
        match ask_certval(req.env, judge_at, &cp) {
            Answer::Unusable => continue,
            answer => return answer,
        }
    }
    Answer::Unusable
}

fn algorithm_note(der: &[u8], issuer_cert: &CertificateInner<Raw>) -> String {
    let algorithm = OcspResponse::from_der(der)
        .ok()
        .and_then(|r| r.response_bytes)
        .and_then(|b| BasicOcspResponse::from_der(b.response.as_bytes()).ok())
        .and_then(|b| {
            unsupported_algorithm(
                &b.signature_algorithm.oid,
                Some(issuer_cert.tbs_certificate().subject_public_key_info()),
            )
        });
    match algorithm {
        Some(a) => format!("unsupported algorithm {a}"),
        None => "responder not authorised or signature invalid".to_owned(),
    }
}

fn no_evidence_reason(subject: &PDVCertificate, crls_seen: usize) -> String {
    if crls_seen > 0 {
        return "no usable CRL or OCSP response".to_owned();
    }
    let indirect = matches!(
        subject.get_extension(&ID_CE_CRL_DISTRIBUTION_POINTS),
        Ok(Some(PDVExtension::CrlDistributionPoints(dps)))
            if dps.0.iter().any(|dp| dp.crl_issuer.is_some())
    );
    if indirect {
        "the certificate's CRLs are issued by a separate CRL issuer (indirect CRL), which is not supported".to_owned()
    } else {
        "no CRL or OCSP response from the issuer was supplied".to_owned()
    }
}
