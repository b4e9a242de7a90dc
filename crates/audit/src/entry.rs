use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, leaf_hash};

/// What happened to an attempted action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Succeeded,
    /// Refused by policy or authorisation (every refused attempt is recorded too).
    Refused,
    /// Attempted and failed (e.g. wrong PIN, invalid signature).
    Failed,
}

/// One security event. The leaf data is the entry's canonical JSON (fixed field
/// order, details sorted by key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 0; part of the signed data, so reordering shows.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who (user name or certificate subject).
    pub actor: String,
    /// What: `sign`, `verify_receipt`, `number`, `handover`, `login`, `permission`,
    /// `recall`, …
    pub action: String,
    /// On what (document id, device serial, user).
    pub object: String,
    /// Result.
    pub outcome: Outcome,
    /// Further facts (reason, certificate serial, register number, …).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

impl Entry {
    /// The bytes hashed into the tree.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        // Invariant: a struct of strings, integers and a string map always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `SHA-256(0x00 || leaf_bytes)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.leaf_bytes())
    }
}
