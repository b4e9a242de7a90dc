//! RFC 5280 certification path validation with revocation checking, as of a given time.
//!
//! [`validate_path`] builds candidate paths from the end-entity certificate through the
//! supplied intermediates to one of the [`TrustAnchors`], runs RFC 5280 §6.1 processing on
//! each (signatures, validity, basic constraints, key usage, name constraints, policies,
//! critical extensions; done by `certval`), then determines the revocation status of every
//! certificate in the path from the supplied CRLs and OCSP responses.
//!
//! Everything is evaluated at [`PathInput::time`], the time the signature is asserted to
//! have been made ("status at signing time", Decree 68/2024 Art 31, Circular 41/2017 Art 8):
//!
//! * a certificate revoked at or before `time` makes the path [`PathStatus::Invalid`];
//! * a certificate revoked strictly after `time` does not fail the path, but for the end
//!   entity the revocation is reported in [`PathOutcome::end_entity_revocation`] so that the
//!   caller can decide (it should only rely on this when `time` is proven by a time-stamp);
//! * a CRL is usable when it is signed by the certificate's issuer, names that issuer, and
//!   either `thisUpdate <= time <= nextUpdate`, or `thisUpdate > time` (issued after signing:
//!   authoritative about every revocation before it). An OCSP response likewise, with
//!   `thisUpdate`/`producedAt`;
//! * revocation data issued after the certificate expired cannot prove it good (CAs drop
//!   expired certificates from CRLs), but is believed when it says "revoked".
//!
//! Unsupported features fail closed, never [`PathStatus::Valid`]: delta CRLs, indirect CRLs
//! and separate CRL-signing keys, CRLs partitioned by `onlySomeReasons`, DSA signatures.
//! SHA-1 certificate, CRL and OCSP signatures are verified; whether they are still
//! acceptable is the caller's dated decision ([`crate::policy::AlgorithmPolicy`]).
//!
//! Several CA certificates with the same name (key rollover, cross-certificates) are all
//! tried, key identifiers first (AKI ↔ SKI), among the intermediates and the anchors.
//!
//! `Err(PathError)` means validation could not run (e.g. the end-entity certificate does not
//! parse). A failed validation is data: [`PathOutcome::status`].

mod build;
mod revocation;
mod verify;

use std::fmt;

use certval::{PDVCertificate, PDVTrustAnchorChoice};
use const_oid::ObjectIdentifier;
use der::Decode;
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Errors meaning "validation could not run". A failed validation is not an error: see
/// [`PathOutcome::status`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// A certificate that must be understood (end entity, trust anchor) does not parse.
    #[error("{what}: not a valid X.509 certificate: {reason}")]
    InvalidCertificate {
        /// Which certificate ("end-entity certificate", "trust anchor").
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// The validation time cannot be used (before 1970).
    #[error("validation time {0} is out of range (must be 1970 or later)")]
    InvalidTime(OffsetDateTime),
}

/// A set of trusted root (or otherwise trusted CA) certificates.
#[derive(Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
    certificates: Vec<Certificate>,
}

/// One trust anchor in the forms the validator needs.
#[derive(Clone)]
struct Anchor {
    der: Vec<u8>,
    /// Where it came from ("vn" for the built-in Vietnamese list, a file name, …).
    source: String,
    ta: PDVTrustAnchorChoice,
    cert: PDVCertificate,
    certificate: Certificate,
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.certificates
                    .iter()
                    .map(|c| crate::name::display(c.tbs_certificate().subject())),
            )
            .finish()
    }
}

impl TrustAnchors {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a DER-encoded certificate as a trust anchor. Adding the same certificate twice
    /// is a no-op.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), PathError> {
        self.add_der_from(der, "")
    }

    /// [`TrustAnchors::add_der`], remembering which list the anchor came from (shown in
    /// reports: [`TrustAnchors::source_of`]). The first source of a duplicate is kept.
    pub fn add_der_from(&mut self, der: &[u8], source: &str) -> Result<(), PathError> {
        let invalid = |e: der::Error| PathError::InvalidCertificate {
            what: "trust anchor",
            reason: e.to_string(),
        };
        let certificate = Certificate::from_der(der).map_err(invalid)?;
        if self.anchors.iter().any(|a| a.der == der) {
            return Ok(());
        }
        let ta = PDVTrustAnchorChoice::try_from(der).map_err(invalid)?;
        let cert = PDVCertificate::try_from(der).map_err(invalid)?;
        self.anchors.push(Anchor {
            der: der.to_vec(),
            source: source.to_owned(),
            ta,
            cert,
            certificate: certificate.clone(),
        });
        self.certificates.push(certificate);
        Ok(())
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// True when there is no anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchor certificates, in the order they were added.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The source given when `certificate` was added as an anchor (`Some("")` when
    /// none was given), `None` when it is not an anchor.
    pub fn source_of(&self, certificate: &Certificate) -> Option<&str> {
        let i = self.certificates.iter().position(|c| c == certificate)?;
        Some(self.anchors[i].source.as_str())
    }
}

/// How revocation status is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RevocationMode {
    /// Every certificate in the path (except the anchor) must have a usable CRL or OCSP
    /// response; missing or unusable revocation information makes the path
    /// [`PathStatus::Indeterminate`].
    #[default]
    Require,
    /// Use CRLs and OCSP responses when they are present and usable; a revocation found
    /// fails the path, missing information does not.
    IfAvailable,
    /// Do not check revocation at all.
    Skip,
}

/// RFC 5280 §6.1.1 initial inputs and the revocation mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPolicy {
    /// How revocation is checked.
    pub revocation: RevocationMode,
    /// Acceptable certificate policies; empty means anyPolicy.
    pub user_initial_policy_set: Vec<ObjectIdentifier>,
    /// The path must be valid for at least one policy in the user-initial-policy-set.
    pub initial_explicit_policy: bool,
    /// Policy mapping is not permitted.
    pub initial_policy_mapping_inhibit: bool,
    /// anyPolicy is not matched when asserted in a certificate.
    pub initial_any_policy_inhibit: bool,
}

impl Default for PathPolicy {
    fn default() -> Self {
        Self {
            revocation: RevocationMode::Require,
            user_initial_policy_set: Vec::new(),
            initial_explicit_policy: false,
            initial_policy_mapping_inhibit: false,
            initial_any_policy_inhibit: false,
        }
    }
}

/// What to validate.
#[derive(Debug, Clone)]
pub struct PathInput<'a> {
    /// The DER certificate to validate (e.g. the signer's certificate).
    pub end_entity: &'a [u8],
    /// Untrusted DER certificates that may help to build the path (e.g. from the signature).
    pub intermediates: &'a [Vec<u8>],
    /// DER CRLs (embedded in the signature or fetched by the caller).
    pub crls: &'a [Vec<u8>],
    /// DER `OCSPResponse`s.
    pub ocsp_responses: &'a [Vec<u8>],
    /// The time at which the certificates must be valid: the (asserted) signing time.
    pub time: OffsetDateTime,
}

/// The result of [`validate_path`].
#[derive(Debug, Clone)]
pub struct PathOutcome {
    /// Valid, invalid or indeterminate, with the reason.
    pub status: PathStatus,
    /// The path that was validated (or the most relevant candidate when none is valid): the
    /// end entity first, then the CAs, up to and including the trust anchor. Only the end
    /// entity when no path to an anchor was found.
    pub path: Vec<Certificate>,
    /// The end entity's revocation status as of the validation time; a revocation dated
    /// after the validation time is reported here (`Revoked`) while the path stays valid.
    pub end_entity_revocation: RevocationInfo,
}

/// Overall verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathStatus {
    /// The path is valid at the validation time.
    Valid,
    /// The path is definitely not valid.
    Invalid(PathFailure),
    /// Validity could not be established (missing or unusable revocation information,
    /// unsupported algorithm).
    Indeterminate(PathFailure),
}

impl PathStatus {
    /// True for [`PathStatus::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, PathStatus::Valid)
    }

    /// The failure, if not valid.
    pub fn failure(&self) -> Option<&PathFailure> {
        match self {
            PathStatus::Valid => None,
            PathStatus::Invalid(f) | PathStatus::Indeterminate(f) => Some(f),
        }
    }
}

impl fmt::Display for PathStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathStatus::Valid => f.write_str("valid"),
            PathStatus::Invalid(why) => write!(f, "invalid: {why}"),
            PathStatus::Indeterminate(why) => write!(f, "indeterminate: {why}"),
        }
    }
}

/// Why a path is not valid. `position` counts from the end entity (0) towards the trust
/// anchor (the last certificate of [`PathOutcome::path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathFailure {
    /// No chain of certificates leads to a trust anchor.
    NoPathToTrustAnchor,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature {
        /// The certificate whose signature is bad.
        position: usize,
    },
    /// A certificate had expired at the validation time.
    Expired {
        /// The certificate.
        position: usize,
        /// Its notAfter.
        not_after: OffsetDateTime,
    },
    /// A certificate was not yet valid at the validation time.
    NotYetValid {
        /// The certificate.
        position: usize,
        /// Its notBefore.
        not_before: OffsetDateTime,
    },
    /// A certificate was revoked at or before the validation time.
    Revoked {
        /// The certificate.
        position: usize,
        /// The revocation date.
        at: OffsetDateTime,
        /// The CRL/OCSP reason code, when given (e.g. "keyCompromise").
        reason: Option<String>,
    },
    /// The revocation status of a certificate could not be determined.
    RevocationUnknown {
        /// The certificate.
        position: usize,
        /// Why (no CRL, stale CRL, bad CRL signature, unsupported CRL kind, …).
        why: String,
    },
    /// A signature or key algorithm is not supported (e.g. DSA, MD5).
    UnsupportedAlgorithm {
        /// The certificate whose signature could not be checked.
        position: usize,
        /// The algorithm.
        algorithm: String,
    },
    /// basicConstraints violated (not a CA, path length exceeded).
    BasicConstraints {
        /// The offending certificate.
        position: usize,
        /// Details.
        why: String,
    },
    /// keyUsage violated (e.g. a CA without keyCertSign).
    KeyUsage {
        /// The offending certificate.
        position: usize,
        /// Details.
        why: String,
    },
    /// A name is outside a CA's permitted subtrees or inside its excluded subtrees.
    NameConstraints {
        /// The offending certificate.
        position: usize,
        /// Details.
        why: String,
    },
    /// Certificate policy processing failed (no acceptable policy, bad mapping).
    Policy {
        /// The certificate at which processing failed.
        position: usize,
        /// Details.
        why: String,
    },
    /// A certificate has a critical extension the validator does not process.
    UnknownCriticalExtension {
        /// The certificate.
        position: usize,
        /// The extension's OID.
        oid: String,
    },
    /// Anything else.
    Other(String),
}

/// "the end-entity certificate" / "the CA certificate at position 2".
fn describe_position(position: usize) -> String {
    if position == 0 {
        "the end-entity certificate".to_owned()
    } else {
        format!("the CA certificate at position {position} of the chain")
    }
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl fmt::Display for PathFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathFailure::NoPathToTrustAnchor => {
                f.write_str("no chain of certificates leads from the certificate to a trusted root")
            }
            PathFailure::BadSignature { position } => write!(
                f,
                "the issuer's signature on {} does not verify",
                describe_position(*position)
            ),
            PathFailure::Expired {
                position,
                not_after,
            } => write!(
                f,
                "{} had expired (valid until {})",
                describe_position(*position),
                format_time(*not_after)
            ),
            PathFailure::NotYetValid {
                position,
                not_before,
            } => write!(
                f,
                "{} was not yet valid (valid from {})",
                describe_position(*position),
                format_time(*not_before)
            ),
            PathFailure::Revoked {
                position,
                at,
                reason,
            } => {
                write!(
                    f,
                    "{} was revoked on {}",
                    describe_position(*position),
                    format_time(*at)
                )?;
                if let Some(reason) = reason {
                    write!(f, " (reason: {reason})")?;
                }
                Ok(())
            }
            PathFailure::RevocationUnknown { position, why } => write!(
                f,
                "the revocation status of {} could not be determined: {why}",
                describe_position(*position)
            ),
            PathFailure::UnsupportedAlgorithm {
                position,
                algorithm,
            } => write!(
                f,
                "the signature on {} uses an unsupported algorithm ({algorithm})",
                describe_position(*position)
            ),
            PathFailure::BasicConstraints { position, why } => write!(
                f,
                "{} violates basic constraints: {why}",
                describe_position(*position)
            ),
            PathFailure::KeyUsage { position, why } => write!(
                f,
                "{} violates key usage: {why}",
                describe_position(*position)
            ),
            PathFailure::NameConstraints { position, why } => write!(
                f,
                "{} violates name constraints: {why}",
                describe_position(*position)
            ),
            PathFailure::Policy { position, why } => write!(
                f,
                "certificate policy check failed at {}: {why}",
                describe_position(*position)
            ),
            PathFailure::UnknownCriticalExtension { position, oid } => write!(
                f,
                "{} has an unsupported critical extension ({oid})",
                describe_position(*position)
            ),
            PathFailure::Other(why) => f.write_str(why),
        }
    }
}

/// Revocation status of one certificate as of the validation time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationInfo {
    /// Revocation was not checked (mode [`RevocationMode::Skip`], or the path failed before).
    NotChecked,
    /// Not revoked at the validation time.
    Good {
        /// Where the answer came from.
        source: RevocationSource,
        /// thisUpdate of the CRL / OCSP single response used.
        this_update: OffsetDateTime,
        /// Its nextUpdate.
        next_update: Option<OffsetDateTime>,
    },
    /// Revoked. If `at` is after the validation time the path is still valid.
    Revoked {
        /// Where the answer came from.
        source: RevocationSource,
        /// The revocation date.
        at: OffsetDateTime,
        /// The reason code, when given.
        reason: Option<String>,
    },
    /// No usable revocation information.
    Unknown {
        /// Why.
        why: String,
    },
}

/// Where revocation information came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationSource {
    /// A certificate revocation list.
    Crl,
    /// An OCSP response.
    Ocsp,
}

/// Validate `input.end_entity` against `anchors` as of `input.time`.
///
/// Returns `Err` only when validation cannot run (unparseable end-entity certificate,
/// validation time before 1970). Unparseable intermediates, CRLs and OCSP responses are
/// ignored (they cannot make anything valid).
pub fn validate_path(
    anchors: &TrustAnchors,
    input: &PathInput<'_>,
    policy: &PathPolicy,
) -> Result<PathOutcome, PathError> {
    let toi = verify::time_of_interest(input.time)?;
    let invalid_ee = |e: der::Error| PathError::InvalidCertificate {
        what: "end-entity certificate",
        reason: e.to_string(),
    };
    let ee_cert = Certificate::from_der(input.end_entity).map_err(invalid_ee)?;
    let ee = PDVCertificate::try_from(input.end_entity).map_err(invalid_ee)?;

    // A trust anchor is trusted as such.
    if anchors.anchors.iter().any(|a| a.der == input.end_entity) {
        return Ok(PathOutcome {
            status: PathStatus::Valid,
            path: vec![ee_cert],
            end_entity_revocation: RevocationInfo::NotChecked,
        });
    }

    let pool = build::Pool::new(input.intermediates, &anchors.anchors);
    let env = verify::environment();
    let evidence = revocation::Evidence::parse(input.crls, input.ocsp_responses);
    let ctx = verify::Context {
        env: &env,
        anchors: &anchors.anchors,
        pool: &pool,
        evidence: &evidence,
        policy,
        time: input.time,
        toi,
        depth: 0,
        budget: &std::cell::Cell::new(verify::MAX_EVALUATIONS),
    };
    Ok(run(&ctx, None, &ee, input.end_entity, &ee_cert))
}

/// Try the candidate paths for `ee` (to any anchor, or only to `anchors[only_anchor]`);
/// the first valid one wins, otherwise the failure of the candidate that got furthest.
fn run(
    ctx: &verify::Context<'_>,
    only_anchor: Option<usize>,
    ee: &PDVCertificate,
    ee_der: &[u8],
    ee_cert: &Certificate,
) -> PathOutcome {
    let candidates: Vec<build::Candidate> =
        build::candidate_paths(ee, ee_der, ctx.pool, ctx.anchors)
            .into_iter()
            .filter(|c| only_anchor.is_none_or(|a| a == c.anchor))
            .collect();
    let mut best: Option<(u8, PathOutcome)> = None;
    for candidate in &candidates {
        let outcome = verify::evaluate(ctx, ee, ee_cert, candidate);
        if outcome.status.is_valid() {
            return outcome;
        }
        let rank = failure_rank(&outcome.status);
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, outcome));
        }
    }
    best.map(|(_, o)| o).unwrap_or_else(|| PathOutcome {
        status: PathStatus::Invalid(PathFailure::NoPathToTrustAnchor),
        path: vec![ee_cert.clone()],
        end_entity_revocation: RevocationInfo::NotChecked,
    })
}

/// Which failing candidate path to report: the one that got furthest.
fn failure_rank(status: &PathStatus) -> u8 {
    match status.failure() {
        None => u8::MAX,
        Some(PathFailure::Revoked { .. }) => 5,
        Some(PathFailure::RevocationUnknown { .. }) => 4,
        Some(PathFailure::UnsupportedAlgorithm { .. }) => 3,
        Some(PathFailure::BadSignature { .. }) | Some(PathFailure::NoPathToTrustAnchor) => 1,
        Some(_) => 2,
    }
}

/// Seconds since the epoch (as `der` gives them; `der` cannot represent times before 1970)
/// to `OffsetDateTime`.
fn to_offset_date_time(duration_since_epoch: std::time::Duration) -> OffsetDateTime {
    i64::try_from(duration_since_epoch.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
