//! CMS `SignedData` with CAdES baseline attributes (ETSI EN 319 122-1): detached
//! signatures over any file, RFC 3161 signature time-stamps, a time-stamp authority
//! core, verification into ETSI-style reports, and RFC 4998 evidence records for the
//! archive ([`ers`]).
//!
//! Signing is two-step ([`sign::prepare`] → any [`kyso_signer::Signer`] →
//! [`sign::PreparedSignature::assemble`]) so tokens and remote keys plug in unchanged.
//!
//! This crate does no I/O: fetching time-stamps, CRLs or OCSP responses is the caller's
//! (`kyso-net`); [`verify::needs`] says what to fetch.

mod asn1;
pub mod ber;
pub mod ers;
pub mod report;
pub mod sign;
pub mod tsp;
pub mod verify;

pub use kyso_pki::AlgorithmPolicy;
pub use report::{Report, SignatureReport, Verdict};
pub use sign::{SignRequest, sign};
pub use verify::{
    ContainerHints, Limits, VerifyOptions, digest_algorithms, verify_detached,
    verify_detached_digests, verify_detached_digests_with_hints, verify_detached_with_hints,
    verify_timestamp_token, verify_timestamp_token_digests,
};

/// Entry points for the fuzz targets (`fuzz/`) and their stable replay test; not API.
#[doc(hidden)]
pub mod fuzzing {
    /// Feed arbitrary bytes to the CMS parser and verifier as a detached signature over
    /// a fixed content, as an encapsulated one, and as a time-stamp token.
    pub fn signed_data(data: &[u8]) {
        let anchors = kyso_pki::path::TrustAnchors::new();
        let at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let options = crate::VerifyOptions {
            anchors: &anchors,
            extra_certificates: &[],
            extra_crls: &[],
            extra_ocsp: &[],
            validation_time: at,
            revocation: kyso_pki::path::RevocationMode::Skip,
            limits: crate::Limits::default(),
        };
        let content: &[&[u8]] = &[b"kyso", b" fuzz"];
        let _ = crate::verify_detached(data, Some(content), &options);
        let _ = crate::verify_detached(data, None, &options);
        let _ = crate::verify_timestamp_token(data, content, &options);
        let _ = crate::verify::needs(data);
        let _ = crate::verify::encapsulated_content(data);
        let _ = crate::tsp::parse_token(data);
    }
}

/// Errors: the operation could not run. A signature that does not validate is a
/// [`Report`], not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CadesError {
    /// The input is not a CMS structure kyso can read.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The caller passed inconsistent arguments.
    #[error("{0}")]
    Misuse(String),
    /// Encoding failed (should not happen with valid inputs).
    #[error("DER encoding failed: {0}")]
    Encoding(String),
    /// A time-stamp response was refused or did not match.
    #[error("time-stamp: {0}")]
    Timestamp(String),
    /// The key refused to sign.
    #[error(transparent)]
    Signer(#[from] kyso_signer::SignerError),
}

impl CadesError {
    pub(crate) fn encoding(e: der::Error) -> Self {
        Self::Encoding(e.to_string())
    }
}
