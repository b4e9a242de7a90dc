//! Public-key infrastructure for kyso: a built-in certificate authority (certificate
//! profiles, CRLs, OCSP responses) and RFC 5280 path validation with revocation checking
//! at a given time.
//!
//! This crate does no I/O: certificates, CRLs, OCSP responses, keys (through
//! [`kyso_signer::Signer`]), the current time and random serials are all arguments.
//! Fetching CRLs/OCSP over the network is `kyso-net`'s job.

pub mod ca;
pub mod locations;
pub mod name;
pub mod path;
pub mod policy;
pub mod trust_list;

pub use der;
pub use x509_cert;

pub use policy::{AlgorithmPolicy, WeakAlgorithm};

pub use path::{
    PathError, PathFailure, PathInput, PathOutcome, PathPolicy, PathStatus, RevocationInfo,
    RevocationMode, RevocationSource, TrustAnchors, validate_path,
};
