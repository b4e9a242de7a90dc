//! Validation reports: data, not errors. A signature that fails validation is a
//! [`SignatureReport`] with an [`Indication`]; `Err` means validation could not run.
//!
//! Vocabulary follows ETSI EN 319 102-1 (TOTAL_PASSED / TOTAL_FAILED / INDETERMINATE
//! with a sub-indication) so reports compare directly with EU DSS and pyHanko.

use serde::Serialize;

/// The verdict over a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Every signature passed.
    Valid,
    /// Every signature passed; later changes are all permitted ones (PDF only).
    ValidWithChanges,
    /// Signatures intact but a later revision makes a disallowed change (PDF only).
    Modified,
    /// At least one signature failed for certain.
    Invalid,
    /// A signature could not be confirmed either way (missing chain, revocation…).
    Indeterminate,
    /// No signature found.
    Unsigned,
}

impl Verdict {
    /// Combine per-signature indications into a file verdict.
    pub fn from_indications<'a>(indications: impl IntoIterator<Item = &'a Indication>) -> Self {
        let mut any = false;
        let mut worst = Verdict::Valid;
        for i in indications {
            any = true;
            match i {
                Indication::TotalFailed => return Verdict::Invalid,
                Indication::Indeterminate => worst = Verdict::Indeterminate,
                Indication::TotalPassed => {}
            }
        }
        if any { worst } else { Verdict::Unsigned }
    }

    /// Whether the process exit code is 0.
    pub fn is_success(self) -> bool {
        matches!(self, Verdict::Valid | Verdict::ValidWithChanges)
    }
}

/// ETSI EN 319 102-1 main indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    /// TOTAL_PASSED.
    TotalPassed,
    /// TOTAL_FAILED.
    TotalFailed,
    /// INDETERMINATE.
    Indeterminate,
}

/// ETSI EN 319 102-1 sub-indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SubIndication {
    /// The signature's format is broken.
    FormatFailure,
    /// The signed data's digest does not match.
    HashFailure,
    /// The signature value does not verify.
    SigCryptoFailure,
    /// The signing certificate was revoked at signing time.
    Revoked,
    /// The signing certificate had expired at signing time.
    Expired,
    /// The signing certificate was not yet valid at signing time.
    NotYetValid,
    /// Revoked, and no proof of existence before the revocation.
    RevokedNoPoe,
    /// Outside validity now, and no proof of existence inside it.
    OutOfBoundsNoPoe,
    /// No chain to a trust anchor.
    NoCertificateChainFound,
    /// Revocation status could not be obtained.
    TryLater,
    /// Key usage or policy constraints not met.
    ChainConstraintsFailure,
    /// An algorithm is unsupported or too weak.
    CryptoConstraintsFailure,
    /// An algorithm is no longer acceptable by the algorithm policy and nothing proves
    /// the signature existed before its cut-off date.
    CryptoConstraintsFailureNoPoe,
    /// The signer certificate is not in the signature nor provided.
    NoSigningCertificateFound,
    /// Other chain failure.
    CertificateChainGeneralFailure,
    /// The time-stamp is invalid.
    TimestampFailure,
}

/// One check's outcome, as shown in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// Could not be decided.
    Indeterminate,
    /// Not performed (by request or not applicable).
    NotChecked,
}

/// Revocation outcome for the signing certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCheck {
    /// Not revoked at signing time.
    Good,
    /// Revoked at or before signing time.
    Revoked,
    /// Revoked after the (proven) signing time: the signature stays valid.
    RevokedAfterSigning,
    /// Status unknown.
    Unknown,
    /// Not checked (`--no-revocation-check`).
    NotChecked,
}

/// Where the signing time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// A verified RFC 3161 time-stamp over the signature.
    Timestamp,
    /// The signer's own `signingTime` attribute (not proven).
    Claimed,
    /// No time in the signature: validated at the validation time.
    None,
}

/// A reason, with a stable code and text in English and Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable machine code (`digest_mismatch`, `revoked`, …).
    pub code: &'static str,
    /// English.
    pub en: String,
    /// Vietnamese.
    pub vi: String,
}

impl Reason {
    /// Build a reason.
    pub fn new(code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self {
            code,
            en: en.into(),
            vi: vi.into(),
        }
    }
}

/// Who signed, from the signing certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignerSummary {
    /// Subject DN, RFC 4514 style.
    pub subject: String,
    /// Common name.
    pub common_name: Option<String>,
    /// Organisation (the agency).
    pub organization: Option<String>,
    /// UID attribute (MST:/CCCD:/CMND:…).
    pub uid: Option<String>,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Validity start, RFC 3339 with +07:00.
    pub not_before: String,
    /// Validity end, RFC 3339 with +07:00.
    pub not_after: String,
    /// SHA-256 of the certificate (DER), lowercase hex: what a directory of agencies
    /// records to recognise an agency's signing certificate.
    pub certificate_sha256: String,
}

/// The signature time-stamp, when present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampReport {
    /// genTime, RFC 3339 with +07:00.
    pub time: String,
    /// TSA certificate subject.
    pub tsa: Option<String>,
    /// Whether the token verified (integrity, imprint, TSA chain).
    pub valid: bool,
    /// Why not, when not.
    pub reasons: Vec<Reason>,
}

/// The report for one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// Position in the file (0-based).
    pub index: usize,
    /// The signer.
    pub signer: Option<SignerSummary>,
    /// Signature algorithm.
    pub algorithm: String,
    /// Digest algorithm.
    pub digest_algorithm: String,
    /// Signing time, RFC 3339 with +07:00.
    pub signing_time: Option<String>,
    /// Where the signing time comes from.
    pub signing_time_source: TimeSource,
    /// Digest and signature value.
    pub integrity: Check,
    /// Path to a trust anchor and certificate constraints.
    pub trust: Check,
    /// Revocation of the signing certificate at signing time.
    pub revocation: RevocationCheck,
    /// Signature time-stamp.
    pub timestamp: Option<TimestampReport>,
    /// Certificates of the path, signer first, as subject DNs.
    pub chain: Vec<String>,
    /// ETSI indication.
    pub indication: Indication,
    /// ETSI sub-indication.
    pub sub_indication: Option<SubIndication>,
    /// Why it is not TOTAL_PASSED (empty when it is), then warnings.
    pub reasons: Vec<Reason>,
    /// Things worth knowing that do not change the indication.
    pub warnings: Vec<Reason>,
    /// The trust list the path's anchor came from ("vn" for the built-in Vietnamese
    /// list, else the file or store it was loaded from), when a path was built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor_source: Option<String>,
}

/// The report for a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// File verdict.
    pub verdict: Verdict,
    /// Kind of signature container (`cades`, `pades`).
    pub format: &'static str,
    /// Validation time, RFC 3339 with +07:00.
    pub validation_time: String,
    /// Per-signature reports.
    pub signatures: Vec<SignatureReport>,
}

/// Format a time as RFC 3339 in Vietnam time (+07:00), as Decree 30 displays it.
pub fn vietnam_time(at: time::OffsetDateTime) -> String {
    let offset = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    // 9999-12-31T23:59:59Z is year 10000 in Vietnam: keep UTC then.
    let local = at.checked_to_offset(offset).unwrap_or(at);
    local
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| local.to_string())
}
