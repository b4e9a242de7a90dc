//! RFC 5280 §6.1 processing of one candidate path (by `certval`), the revocation decision,
//! and the translation of `certval`'s verdicts into [`PathFailure`].

use std::cell::Cell;

use certval::{
    CertificateChain, CertificationPath, CertificationPathResults, CertificationPathSettings,
    Error as CvError, PDVCertificate, PDVTrustAnchorChoice, PathValidationStatus as Pvs,
    PkiEnvironment, TimeOfInterest,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_224, ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512,
    ID_EC_PUBLIC_KEY, ID_RSASSA_PSS, RSA_ENCRYPTION, SHA_1_WITH_RSA_ENCRYPTION,
    SHA_224_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use const_oid::db::rfc8410::ID_ED_25519;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::certificate::{CertificateInner, Raw};

use super::build::{Candidate, Pool, PoolCert};
use super::revocation::{self, Evidence, Verdict};
use super::{
    Anchor, PathError, PathFailure, PathOutcome, PathPolicy, PathStatus, RevocationInfo,
    RevocationMode, to_offset_date_time,
};

/// Everything shared by the candidate paths of one validation.
pub(super) struct Context<'a> {
    pub(super) env: &'a PkiEnvironment,
    pub(super) anchors: &'a [Anchor],
    pub(super) pool: &'a Pool,
    pub(super) evidence: &'a Evidence,
    pub(super) policy: &'a PathPolicy,
    pub(super) time: OffsetDateTime,
    pub(super) toi: TimeOfInterest,
    /// 0 for the path asked for; 1 while validating a CRL signer's own path, and so on.
    pub(super) depth: u8,
    /// Candidate paths that may still be evaluated (all depths together); bounds the work
    /// hostile input can cause.
    pub(super) budget: &'a Cell<u32>,
}

/// CRL signers other than the certificate's issuer are validated with a path of their own
/// (whose CRL may again be signed by another key, as in key rollover); this deep at most.
const MAX_DEPTH: u8 = 3;

/// At most this many candidate paths are evaluated per [`super::validate_path`] call.
pub(super) const MAX_EVALUATIONS: u32 = 256;

/// A certval environment with RustCrypto signature verification and no trust-anchor,
/// certificate or CRL sources (we hand everything over explicitly).
///
/// SHA-1 signatures (sha1WithRSAEncryption, ecdsa-with-SHA1) are verified too, by
/// `kyso-signer`: much of the Vietnamese national PKI is SHA-1. Whether a SHA-1
/// signature is still acceptable is a dated policy decision taken by the caller
/// ([`crate::policy::AlgorithmPolicy`]), never "unsupported".
pub(super) fn environment() -> PkiEnvironment {
    let mut pe = PkiEnvironment::new();
    pe.populate_5280_pki_environment();
    pe.clear_verify_signature_message_callbacks();
    pe.add_verify_signature_message_callback(verify_with_kyso_signer);
    pe.add_verify_signature_message_callback(certval::verify_signature_message_rust_crypto);
    pe.add_signature_cache(Box::new(SharedSignatureCache));
    pe
}

/// The signatures on certificates, CRLs and OCSP responses that verified, shared by
/// every validation in the process: the same CA certificates and CRLs come with
/// document after document, and each of their signatures costs a public-key operation
/// (most of the revocation check's time). certval keys an entry by the SHA-256 of the
/// algorithm, the signature and the signed bytes, beside the SHA-256 of the key, and
/// records successes only: an entry means "this exact signature verified under this
/// exact key", which no later input can change. Bounded: when full, it starts again.
struct SharedSignatureCache;

/// At most this many remembered signatures (≈ 150 bytes each).
const SIGNATURE_CACHE_CAP: usize = 16_384;

type SignatureKey = (Vec<u8>, Vec<u8>);

fn verified_signatures() -> &'static std::sync::Mutex<std::collections::HashSet<SignatureKey>> {
    static SET: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<SignatureKey>>> =
        std::sync::OnceLock::new();
    SET.get_or_init(Default::default)
}

impl certval::SignatureVerificationCache for SharedSignatureCache {
    fn is_verified(&self, signed_data_hash: &[u8], issuer_spki_hash: &[u8]) -> bool {
        let set = verified_signatures()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.contains(&(signed_data_hash.to_vec(), issuer_spki_hash.to_vec()))
    }

    fn add_verified(&self, signed_data_hash: &[u8], issuer_spki_hash: &[u8]) {
        let mut set = verified_signatures()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if set.len() >= SIGNATURE_CACHE_CAP {
            set.clear();
        }
        set.insert((signed_data_hash.to_vec(), issuer_spki_hash.to_vec()));
    }
}

/// ecdsa-with-SHA1 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA_1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// Verify SHA-1 signatures (which certval's own callback refuses) and ECDSA with
/// SHA-256/384 (kyso-signer's ring fast path, about 5× quicker for a valid P-256
/// signature: every certificate and CRL of a path); anything else is left to the next
/// callback.
fn verify_with_kyso_signer(
    _pe: &PkiEnvironment,
    message: &[u8],
    signature: &der::asn1::BitString,
    algorithm: &spki::AlgorithmIdentifierOwned,
    key: &spki::SubjectPublicKeyInfoOwned,
) -> certval::Result<()> {
    let ours = [
        SHA_1_WITH_RSA_ENCRYPTION,
        ECDSA_WITH_SHA_1,
        ECDSA_WITH_SHA_256,
        ECDSA_WITH_SHA_384,
    ];
    if !ours.contains(&algorithm.oid) {
        return Err(CvError::Unrecognized);
    }
    let Some(bytes) = signature.as_bytes() else {
        return Err(CvError::PathValidation(Pvs::EncodingError));
    };
    kyso_signer::verify_signature(key, algorithm, message, bytes)
        .map_err(|_| CvError::PathValidation(Pvs::SignatureVerificationFailure))
}

pub(super) fn time_of_interest(t: OffsetDateTime) -> Result<TimeOfInterest, PathError> {
    u64::try_from(t.unix_timestamp())
        .ok()
        .filter(|s| *s > 0)
        .and_then(|s| TimeOfInterest::from_unix_secs(s).ok())
        .ok_or(PathError::InvalidTime(t))
}

/// Settings for RFC 5280 processing (revocation is done separately).
fn settings(policy: &PathPolicy, toi: TimeOfInterest) -> CertificationPathSettings {
    let mut cps = CertificationPathSettings::new();
    cps.set_time_of_interest(toi);
    // RSA keys of 1024–2047 bits are verified; their acceptability is the dated
    // algorithm policy's decision (crate::policy::AlgorithmPolicy).
    cps.set_min_rsa_modulus_bits(1024);
    cps.set_require_ta_store(false);
    cps.set_check_revocation_status(false);
    cps.set_check_crls(false);
    cps.set_check_ocsp_from_aia(false);
    cps.set_check_crldp_http(false);
    cps.set_retrieve_from_aia_sia_http(false);
    cps.set_initial_explicit_policy_indicator(policy.initial_explicit_policy);
    cps.set_initial_policy_mapping_inhibit_indicator(policy.initial_policy_mapping_inhibit);
    cps.set_initial_inhibit_any_policy_indicator(policy.initial_any_policy_inhibit);
    if !policy.user_initial_policy_set.is_empty() {
        cps.set_initial_policy_set(
            policy
                .user_initial_policy_set
                .iter()
                .map(|o| o.to_string())
                .collect(),
        );
    }
    cps
}

/// Validate one candidate path, including revocation.
pub(super) fn evaluate(
    ctx: &Context<'_>,
    ee: &PDVCertificate,
    ee_cert: &Certificate,
    candidate: &Candidate,
) -> PathOutcome {
    let pool = ctx.pool;
    let anchor = &ctx.anchors[candidate.anchor];
    let remaining = ctx.budget.get();
    let chain: Vec<&PoolCert> = candidate.chain.iter().map(|&i| &pool.certs[i]).collect();

    let mut path = Vec::with_capacity(chain.len() + 2);
    path.push(ee_cert.clone());
    path.extend(chain.iter().map(|c| c.cert.clone()));
    path.push(anchor.certificate.clone());

    // EE first, anchor last: what `position` indexes.
    let mut raw: Vec<&CertificateInner<Raw>> = Vec::with_capacity(path.len());
    raw.push(ee.decoded());
    raw.extend(chain.iter().map(|c| c.pdv.decoded()));
    raw.push(anchor.cert.decoded());

    let ta_first: CertificateChain = chain.iter().rev().map(|c| c.pdv.clone()).collect();
    let cp = CertificationPath::new(anchor.ta.clone(), ta_first, ee.clone());
    if remaining == 0 {
        return PathOutcome {
            status: PathStatus::Indeterminate(PathFailure::Other(
                "too many candidate paths; path building gave up".to_owned(),
            )),
            path,
            end_entity_revocation: RevocationInfo::NotChecked,
        };
    }
    ctx.budget.set(remaining - 1);
    let cps = settings(ctx.policy, ctx.toi);
    let mut cpr = CertificationPathResults::new();
    if let Err(e) = ctx.env.validate_path(ctx.env, &cps, &cp, &mut cpr) {
        let failure = map_failure(e, &cpr, &raw);
        let status = match failure {
            PathFailure::UnsupportedAlgorithm { .. } => PathStatus::Indeterminate(failure),
            _ => PathStatus::Invalid(failure),
        };
        return PathOutcome {
            status,
            path,
            end_entity_revocation: RevocationInfo::NotChecked,
        };
    }

    if ctx.policy.revocation == RevocationMode::Skip {
        return PathOutcome {
            status: PathStatus::Valid,
            path,
            end_entity_revocation: RevocationInfo::NotChecked,
        };
    }

    // A CRL signed by another key of the issuing CA (separate CRL-signing key, key
    // rollover) is accepted when that key's certificate has a valid path of its own to the
    // same anchor at the CRL's time (RFC 5280 §6.3.3 (f)).
    let signer_policy = PathPolicy {
        revocation: ctx.policy.revocation,
        ..PathPolicy::default()
    };
    let validate_signer = |signer: &PoolCert, at: OffsetDateTime| -> bool {
        if ctx.depth >= MAX_DEPTH {
            return false;
        }
        let Ok(toi) = time_of_interest(at) else {
            return false;
        };
        let sub = Context {
            policy: &signer_policy,
            time: at,
            toi,
            depth: ctx.depth + 1,
            ..*ctx
        };
        super::run(
            &sub,
            Some(candidate.anchor),
            &signer.pdv,
            &signer.der,
            &signer.cert,
        )
        .status
        .is_valid()
    };

    // Revocation status of every certificate below the anchor, as of `time`.
    let anchor_position = path.len() - 1;
    let mut verdicts = Vec::with_capacity(anchor_position);
    for position in 0..anchor_position {
        let subject = if position == 0 {
            ee
        } else {
            &chain[position - 1].pdv
        };
        let (issuer, issuer_der) = if position + 1 == anchor_position {
            (Ok(anchor.ta.clone()), anchor.der.as_slice())
        } else {
            (
                PDVTrustAnchorChoice::try_from(chain[position].der.as_slice()),
                chain[position].der.as_slice(),
            )
        };
        let verdict = match issuer {
            Ok(issuer) => revocation::status_at(
                &revocation::Request {
                    env: ctx.env,
                    evidence: ctx.evidence,
                    pool,
                    time: ctx.time,
                    validate_signer: &validate_signer,
                },
                subject,
                &issuer,
                issuer_der,
                raw[position + 1],
            ),
            Err(e) => Verdict::Unknown {
                why: format!("issuer certificate could not be processed: {e}"),
            },
        };
        verdicts.push(verdict);
    }

    let end_entity_revocation = verdicts
        .first()
        .map(Verdict::to_info)
        .unwrap_or(RevocationInfo::NotChecked);

    // Report the problem closest to the anchor: revocation first, then unknown status.
    let revoked = verdicts
        .iter()
        .enumerate()
        .rev()
        .find_map(|(position, v)| match v {
            Verdict::Revoked { at, reason, .. } => Some(PathFailure::Revoked {
                position,
                at: *at,
                reason: reason.clone(),
            }),
            _ => None,
        });
    let status = if let Some(failure) = revoked {
        PathStatus::Invalid(failure)
    } else if ctx.policy.revocation == RevocationMode::Require
        && let Some(failure) = verdicts
            .iter()
            .enumerate()
            .rev()
            .find_map(|(position, v)| match v {
                Verdict::Unknown { why } => Some(PathFailure::RevocationUnknown {
                    position,
                    why: why.clone(),
                }),
                _ => None,
            })
    {
        PathStatus::Indeterminate(failure)
    } else {
        PathStatus::Valid
    };
    PathOutcome {
        status,
        path,
        end_entity_revocation,
    }
}

/// Translate a certval failure. `raw` is the path, end entity first, anchor last.
fn map_failure(
    error: CvError,
    cpr: &CertificationPathResults,
    raw: &[&CertificateInner<Raw>],
) -> PathFailure {
    let status = match error {
        CvError::PathValidation(status) => status,
        other => return PathFailure::Other(format!("path validation could not complete: {other}")),
    };
    // certval counts from the anchor (0) to the end entity (raw.len() - 1).
    let anchor_position = raw.len() - 1;
    let position = cpr
        .get_failure_index()
        .and_then(|i| usize::try_from(i).ok())
        .filter(|i| *i <= anchor_position)
        .map_or(0, |i| anchor_position - i);
    let cert = raw[position].tbs_certificate();
    let why = |s: &str| s.to_owned();
    match status {
        Pvs::SignatureVerificationFailure => {
            let issuer_key = raw
                .get(position + 1)
                .map(|c| c.tbs_certificate().subject_public_key_info());
            match unsupported_algorithm(&raw[position].signature_algorithm().oid, issuer_key) {
                Some(algorithm) => PathFailure::UnsupportedAlgorithm {
                    position,
                    algorithm,
                },
                None => PathFailure::BadSignature { position },
            }
        }
        Pvs::InvalidNotBeforeDate => PathFailure::NotYetValid {
            position,
            not_before: to_offset_date_time(cert.validity().not_before.to_unix_duration()),
        },
        Pvs::InvalidNotAfterDate => PathFailure::Expired {
            position,
            not_after: to_offset_date_time(cert.validity().not_after.to_unix_duration()),
        },
        Pvs::MissingBasicConstraints | Pvs::InvalidBasicConstraints => {
            PathFailure::BasicConstraints {
                position,
                why: why("it is used as a CA but basicConstraints does not assert cA"),
            }
        }
        Pvs::InvalidPathLength => PathFailure::BasicConstraints {
            position,
            why: why("a CA's path length constraint is exceeded"),
        },
        Pvs::InvalidKeyUsage => PathFailure::KeyUsage {
            position,
            why: if position == 0 {
                why("its key usage does not allow the required use")
            } else {
                why("the CA's key usage does not include keyCertSign")
            },
        },
        Pvs::NameConstraintsViolation => PathFailure::NameConstraints {
            position,
            why: why(
                "a subject name or alternative name is outside the permitted or inside the excluded names",
            ),
        },
        Pvs::NullPolicySet => PathFailure::Policy {
            position,
            why: why("no acceptable certificate policy is valid for the whole path"),
        },
        Pvs::InvalidPolicyMapping => PathFailure::Policy {
            position,
            why: why("a policy mapping maps to or from anyPolicy"),
        },
        Pvs::UnprocessedCriticalExtension => {
            let processed = cpr.get_processed_extensions();
            let oid = cert
                .extensions()
                .and_then(|exts| {
                    exts.iter()
                        .find(|e| {
                            e.critical
                                && (!processed.contains(&e.extn_id)
                                    || exts.iter().filter(|x| x.extn_id == e.extn_id).count() > 1)
                        })
                        .map(|e| e.extn_id.to_string())
                })
                .unwrap_or_else(|| "unknown".to_owned());
            PathFailure::UnknownCriticalExtension { position, oid }
        }
        Pvs::NameChainingFailure
        | Pvs::MissingTrustAnchor
        | Pvs::MissingTrustAnchorName
        | Pvs::NoPathsFound => PathFailure::NoPathToTrustAnchor,
        Pvs::InsufficientKeySize => PathFailure::Other(format!(
            "the RSA key of {} is shorter than 2048 bits",
            super::describe_position(position)
        )),
        Pvs::EncodingError => PathFailure::Other(format!(
            "{} is malformed (undecodable extension or mismatched signature algorithm fields)",
            super::describe_position(position)
        )),
        Pvs::SelfSignedEndIdentity => {
            PathFailure::Other("the end-entity certificate is self-signed".to_owned())
        }
        other => PathFailure::Other(format!(
            "path validation failed at {}: {other}",
            super::describe_position(position)
        )),
    }
}

/// `Some(name)` when the signature algorithm (or the issuer's key type) is not one we can
/// verify: RSA PKCS#1 v1.5 with SHA-1 or SHA-2, PSS, ECDSA with SHA-1 or SHA-2 on
/// P-256/384/521, Ed25519. (SHA-1 is verified; its acceptability is a dated policy.)
pub(super) fn unsupported_algorithm(
    signature_algorithm: &ObjectIdentifier,
    issuer_key: Option<&spki::SubjectPublicKeyInfoOwned>,
) -> Option<String> {
    const SIGNATURES: &[ObjectIdentifier] = &[
        SHA_1_WITH_RSA_ENCRYPTION,
        ECDSA_WITH_SHA_1,
        SHA_224_WITH_RSA_ENCRYPTION,
        SHA_256_WITH_RSA_ENCRYPTION,
        SHA_384_WITH_RSA_ENCRYPTION,
        SHA_512_WITH_RSA_ENCRYPTION,
        ID_RSASSA_PSS,
        ECDSA_WITH_SHA_224,
        ECDSA_WITH_SHA_256,
        ECDSA_WITH_SHA_384,
        ECDSA_WITH_SHA_512,
        ID_ED_25519,
    ];
    const KEYS: &[ObjectIdentifier] =
        &[RSA_ENCRYPTION, ID_RSASSA_PSS, ID_EC_PUBLIC_KEY, ID_ED_25519];
    if !SIGNATURES.contains(signature_algorithm) {
        return Some(oid_name(signature_algorithm));
    }
    match issuer_key {
        Some(key) if !KEYS.contains(&key.algorithm.oid) => {
            Some(format!("{} key", oid_name(&key.algorithm.oid)))
        }
        _ => None,
    }
}

fn oid_name(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}
