//! kyso's tamper-evident audit log, in the style of Certificate Transparency
//! (RFC 9162 §2): every security event (signing, verification on receipt, number
//! assignment, device handover, login, permission change, recall) is a leaf of a Merkle
//! tree; the agency periodically signs a *tree head* (size, root, time). Anyone holding
//! a tree head can check that an entry is in the log ([`inclusion_proof`]) and that a
//! later log extends an earlier one without rewriting it ([`consistency_proof`]).
//! [`audit`] replays a whole log against its signed heads and reports every modified,
//! deleted, reordered or truncated entry it can detect.
//!
//! What this crate does not do: store the log (the caller appends entries and heads
//! durably) or decide what is audited.

mod entry;
mod head;
mod merkle;
pub mod replay;
mod verify;

pub use entry::{Entry, Outcome};
pub use head::{TreeHead, sign_tree_head, verify_tree_head};
pub use merkle::{
    Frontier, Hash, consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency,
    verify_inclusion,
};
pub use verify::{AuditReport, Problem, audit};

/// Errors: bad input to the log functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A proof was asked for an index or size outside the log.
    #[error("index {index} is outside a log of {size} entries")]
    OutOfRange {
        /// Requested index or size.
        index: u64,
        /// Log size.
        size: u64,
    },
    /// Signing a tree head failed.
    #[error(transparent)]
    Signer(#[from] kyso_signer::SignerError),
    /// A tree head's signature is invalid.
    #[error("tree head signature: {0}")]
    BadSignature(String),
    /// Encoding failed.
    #[error("encoding: {0}")]
    Encoding(String),
}
