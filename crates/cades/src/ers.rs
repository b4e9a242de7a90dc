//! RFC 4998 Evidence Records (ERS): one RFC 3161 time-stamp over a hash tree of many
//! archived data objects, renewed before it weakens, kept beside each object.
//!
//! No I/O here: the data objects come as digests (so callers hash big files streaming),
//! time-stamps come from a caller-supplied closure (`kyso-net` asks the TSA), and the
//! validation time is an argument.
//!
//! - [`build`]: N data objects (each a group of one or more parts, e.g. the archived
//!   original and its captured validation material) → one hash tree, **one** time-stamp
//!   over its root, one self-contained [`EvidenceRecord`] (DER) per object.
//! - [`renew_timestamps`] (RFC 4998 §5.2, time-stamp renewal): one new time-stamp over a
//!   hash tree of the distinct last time-stamps of many records; each record gets a new
//!   `ArchiveTimeStamp` appended to its last chain.
//! - [`renew_hash_trees`] (§5.2, hash-tree renewal): a new digest algorithm, the parts'
//!   digests with it, one time-stamp for many records; each record gets a new
//!   `ArchiveTimeStampChain`.
//! - [`verify`] / [`Verifier`] (§5.3): every reduced hash tree, every imprint, every
//!   renewal's coverage, and every time-stamp token through
//!   [`crate::verify_timestamp_token_digests`], each validated at the time of the next
//!   time-stamp that covers it (the last one at the caller's validation time).
//!
//! Records produced together share a time-stamp token but are independent files: each
//! carries the token and its own reduced hash tree.
//!
//! # The ASN.1 (RFC 4998 Appendix A, `DEFINITIONS IMPLICIT TAGS`)
//!
//! ```text
//! EvidenceRecord ::= SEQUENCE {
//!     version                   INTEGER { v1(1) } ,
//!     digestAlgorithms          SEQUENCE OF AlgorithmIdentifier,
//!     cryptoInfos               [0] CryptoInfos OPTIONAL,
//!     encryptionInfo            [1] EncryptionInfo OPTIONAL,
//!     archiveTimeStampSequence  ArchiveTimeStampSequence }
//! CryptoInfos ::= SEQUENCE SIZE (1..MAX) OF Attribute
//! EncryptionInfo ::= SEQUENCE {
//!     encryptionInfoType   OBJECT IDENTIFIER,
//!     encryptionInfoValue  ANY DEFINED BY encryptionInfoType }
//! ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain
//! ArchiveTimeStampChain    ::= SEQUENCE OF ArchiveTimeStamp
//! ArchiveTimeStamp ::= SEQUENCE {
//!     digestAlgorithm [0] AlgorithmIdentifier OPTIONAL,
//!     attributes      [1] Attributes OPTIONAL,
//!     reducedHashtree [2] SEQUENCE OF PartialHashtree OPTIONAL,
//!     timeStamp       ContentInfo }
//! PartialHashtree ::= SEQUENCE OF OCTET STRING
//! Attributes ::= SET SIZE (1..MAX) OF Attribute
//! ```
//!
//! The module is IMPLICIT: `[0]`, `[1]`, `[2]` replace the tag of the type they mark
//! (as Bouncy Castle and EU DSS read and write them). `cryptoInfos` and
//! `encryptionInfo` are parsed and kept unchanged through renewals; kyso writes
//! neither. A record with `encryptionInfo` is verified against the parts as given, with
//! a warning (the caller must pass the digests of the data as it was time-stamped).
//!
//! # Choices and the RFC's ambiguities, resolved
//!
//! - **Tree shape.** Binary, leaves in input order, pairs hashed as
//!   `H(binary ascending sort of the two, concatenated)` (§4.2 step 4); an odd last node
//!   is carried up unchanged (never hashed alone), as Bouncy Castle's
//!   `BinaryTreeRootCalculator` does. Building is O(N) hashes, each record's reduced
//!   tree O(log N).
//! - **Leaves.** A data object of one part: its digest is the leaf. A group of two or
//!   more parts (§4.2 step 3, "for each data group containing more than one document"):
//!   the leaf is `H(sorted concatenation of the parts' digests)`. A group of one part
//!   is therefore exactly a plain data object: the group hash never wraps a single hash.
//! - **Reduced hash tree shape and one-value lists.** The RFC hashes "the actual
//!   list" at every step (§4.3), which read literally would turn a list of one value
//!   into `H(h)`; Bouncy Castle, EU DSS and the XMLERS rule (RFC 6283) take a one-value
//!   list as that value, and so does kyso. kyso writes, as Bouncy Castle does: the first
//!   list = a single object's hash alone (`[h]`), or a group's parts' hashes; then each
//!   sibling on the way up as a list of its own (`[s1]`, `[s2]`, …), into which the value
//!   computed so far is inserted before hashing (§4.3 step 4: "h' MUST become a member
//!   of the next higher list"). So a first list of several values is always a data
//!   group, and a group verified without one of its parts fails
//!   ([`ErsFailure::MissingParts`]) rather than proving the parts given. Records that
//!   put a single object's first sibling in its first list (RFC 4998 Figure 3 style,
//!   `[h1, h2abc]`) are read with [`Verifier::accept_sibling_in_first_list`]. A first
//!   list holding a group's hash (a tree whose leaves are group hashes) also covers
//!   the group.
//! - **One object in the batch.** No reduced hash tree (the time-stamp's imprint is the
//!   object's digest, §4.2); a group of N = 1 gets `[[parts]]`, imprint = group hash.
//! - **Time-stamp renewal input** (§5.2): the leaf is `H(DER of the previous
//!   ArchiveTimeStamp's timeStamp field)` (the whole `ContentInfo`, as DSS), with the
//!   chain's digest algorithm; all stamps of a chain use the same algorithm (checked).
//! - **Hash-tree renewal input** (§5.2 steps 4–6): `ha = H'(DER of the
//!   ArchiveTimeStampSequence holding every earlier chain)` — one `SEQUENCE OF`
//!   with its own tag and length, as DSS and Bouncy Castle compute it — and for each part
//!   `h' = H'(h || ha)`, the part's digest first, **not** sorted (§5.2 text; Figure 4's
//!   "binary sorted" is a known erratum, see EU DSS and BSI's ERVerifyTool issue 2).
//! - **Imprint.** The TSA is asked for an imprint equal to the root with the tree's
//!   algorithm; an `ArchiveTimeStamp` always carries `digestAlgorithm` explicitly, and a
//!   token whose imprint algorithm differs from it is refused.

use std::collections::HashMap;
use std::fmt;

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode, Sequence};
use kyso_signer::DigestAlgorithm;
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::{Attribute, Attributes};

use crate::asn1::ID_SIGNED_DATA;
use crate::report::{Indication, Reason, SignatureReport, SubIndication, Verdict, vietnam_time};
use crate::verify::VerifyOptions;

// ---------------------------------------------------------------------------------
// ASN.1
// ---------------------------------------------------------------------------------

/// `EvidenceRecord` (RFC 4998 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EvidenceRecord {
    /// `version INTEGER { v1(1) }`: always 1.
    pub version: u8,
    /// Every digest algorithm used by the record's archive time-stamps.
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// `cryptoInfos [0]`: validation material kept for the time-stamps (kept as read).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub crypto_infos: Option<Vec<Attribute>>,
    /// `encryptionInfo [1]`: how the data was encrypted when time-stamped (kept as read).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub encryption_info: Option<EncryptionInfo>,
    /// The chains, oldest first; a new chain starts at each hash-tree renewal.
    pub archive_time_stamp_sequence: Vec<ArchiveTimeStampChain>,
}

/// `EncryptionInfo` (RFC 4998 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EncryptionInfo {
    /// `encryptionInfoType`.
    pub encryption_info_type: ObjectIdentifier,
    /// `encryptionInfoValue`.
    pub encryption_info_value: Any,
}

/// `ArchiveTimeStampChain ::= SEQUENCE OF ArchiveTimeStamp`: time-stamp renewals of one
/// hash tree, oldest first.
pub type ArchiveTimeStampChain = Vec<ArchiveTimeStamp>;

/// `PartialHashtree ::= SEQUENCE OF OCTET STRING`.
pub type PartialHashtree = Vec<OctetString>;

/// `ArchiveTimeStamp` (RFC 4998 §4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ArchiveTimeStamp {
    /// `digestAlgorithm [0]`: the hash tree's algorithm; absent = the token's imprint
    /// algorithm.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub digest_algorithm: Option<AlgorithmIdentifierOwned>,
    /// `attributes [1]`.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub attributes: Option<Attributes>,
    /// `reducedHashtree [2]`: the path from the object to the root; absent when the
    /// time-stamp is directly over the object's hash.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub reduced_hashtree: Option<Vec<PartialHashtree>>,
    /// The RFC 3161 time-stamp token.
    pub time_stamp: ContentInfo,
}

// ---------------------------------------------------------------------------------
// Limits and errors
// ---------------------------------------------------------------------------------

/// Limits on untrusted evidence records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest record accepted, in bytes.
    pub max_record_size: usize,
    /// Most `ArchiveTimeStampChain`s (hash-tree renewals + 1).
    pub max_chains: usize,
    /// Most `ArchiveTimeStamp`s in one chain (time-stamp renewals + 1).
    pub max_stamps_per_chain: usize,
    /// Most `PartialHashtree`s in one reduced hash tree (the tree's height).
    pub max_partial_trees: usize,
    /// Most hash values in one `PartialHashtree` (a group's parts, or a node's fan-out).
    pub max_hashes_per_partial_tree: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_size: 4 << 20,
            max_chains: 64,
            max_stamps_per_chain: 256,
            max_partial_trees: 64,
            max_hashes_per_partial_tree: 1024,
        }
    }
}

/// Errors: the operation could not run (a record that does not verify is an
/// [`ErsReport`], not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErsError {
    /// The record is larger than [`Limits::max_record_size`].
    #[error("evidence record of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The record is not DER of the RFC 4998 syntax, or breaks one of its rules.
    #[error("malformed evidence record ({at}): {reason}")]
    Malformed {
        /// Where (`EvidenceRecord`, `chain 2 stamp 1`, …).
        at: String,
        /// Why.
        reason: String,
    },
    /// The record has more of something than the [`Limits`] allow.
    #[error("evidence record ({at}) has {count} {what}, more than the limit of {limit}")]
    LimitExceeded {
        /// Where.
        at: String,
        /// What is counted.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Something kyso does not support (version, algorithm).
    #[error("unsupported evidence record ({at}): {reason}")]
    Unsupported {
        /// Where.
        at: String,
        /// What.
        reason: String,
    },
    /// The caller passed inconsistent arguments.
    #[error("{0}")]
    Misuse(String),
    /// The caller's time-stamp source failed.
    #[error("the time-stamp source failed: {0}")]
    TimestampSource(String),
    /// The token returned by the time-stamp source is unusable.
    #[error("time-stamp token refused: {0}")]
    Timestamp(String),
    /// Encoding failed (should not happen).
    #[error("DER encoding failed: {0}")]
    Encoding(String),
}

fn encoding(e: der::Error) -> ErsError {
    ErsError::Encoding(e.to_string())
}

// ---------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------

impl EvidenceRecord {
    /// Parse a DER record within `limits`, checking the structure RFC 4998 requires
    /// (version 1, at least one chain, no empty chain, tokens are CMS `SignedData`).
    pub fn parse(der: &[u8], limits: &Limits) -> Result<Self, ErsError> {
        if der.len() > limits.max_record_size {
            return Err(ErsError::TooLarge {
                size: der.len(),
                limit: limits.max_record_size,
            });
        }
        let record = Self::from_der(der).map_err(|e| ErsError::Malformed {
            at: "EvidenceRecord".into(),
            reason: format!("not DER of the RFC 4998 syntax: {e}"),
        })?;
        record.check(limits)?;
        Ok(record)
    }

    /// The record as DER.
    pub fn encode(&self) -> Result<Vec<u8>, ErsError> {
        self.to_der().map_err(encoding)
    }

    fn check(&self, limits: &Limits) -> Result<(), ErsError> {
        if self.version != 1 {
            return Err(ErsError::Unsupported {
                at: "EvidenceRecord.version".into(),
                reason: format!("version {} (only v1(1) is defined)", self.version),
            });
        }
        let chains = &self.archive_time_stamp_sequence;
        if chains.is_empty() {
            return Err(ErsError::Malformed {
                at: "archiveTimeStampSequence".into(),
                reason: "no ArchiveTimeStampChain".into(),
            });
        }
        if chains.len() > limits.max_chains {
            return Err(ErsError::LimitExceeded {
                at: "archiveTimeStampSequence".into(),
                what: "ArchiveTimeStampChains",
                count: chains.len(),
                limit: limits.max_chains,
            });
        }
        for (c, chain) in chains.iter().enumerate() {
            let at = format!("chain {}", c + 1);
            if chain.is_empty() {
                return Err(ErsError::Malformed {
                    at,
                    reason: "empty ArchiveTimeStampChain".into(),
                });
            }
            if chain.len() > limits.max_stamps_per_chain {
                return Err(ErsError::LimitExceeded {
                    at,
                    what: "ArchiveTimeStamps",
                    count: chain.len(),
                    limit: limits.max_stamps_per_chain,
                });
            }
            for (s, ats) in chain.iter().enumerate() {
                let at = format!("chain {} stamp {}", c + 1, s + 1);
                if ats.time_stamp.content_type != ID_SIGNED_DATA {
                    return Err(ErsError::Malformed {
                        at,
                        reason: format!(
                            "timeStamp content type is {}, not an RFC 3161 token (signedData)",
                            ats.time_stamp.content_type
                        ),
                    });
                }
                let Some(tree) = &ats.reduced_hashtree else {
                    continue;
                };
                if tree.len() > limits.max_partial_trees {
                    return Err(ErsError::LimitExceeded {
                        at,
                        what: "PartialHashtrees",
                        count: tree.len(),
                        limit: limits.max_partial_trees,
                    });
                }
                if let Some((p, pht)) = tree
                    .iter()
                    .enumerate()
                    .find(|(_, p)| p.len() > limits.max_hashes_per_partial_tree)
                {
                    return Err(ErsError::LimitExceeded {
                        at: format!("{at} partial hash tree {}", p + 1),
                        what: "hash values",
                        count: pht.len(),
                        limit: limits.max_hashes_per_partial_tree,
                    });
                }
            }
        }
        Ok(())
    }

    /// The digest algorithm of each chain, oldest first: the caller hashes the data
    /// object's parts with each of these before [`verify`] (duplicates removed).
    pub fn digest_algorithms(&self) -> Result<Vec<DigestAlgorithm>, ErsError> {
        let mut out = Vec::new();
        for c in 0..self.archive_time_stamp_sequence.len() {
            let alg = self.chain_algorithm(c)?;
            if !out.contains(&alg) {
                out.push(alg);
            }
        }
        Ok(out)
    }

    /// The digest algorithm of chain `chain` (0-based): that of its first stamp.
    pub fn chain_algorithm(&self, chain: usize) -> Result<DigestAlgorithm, ErsError> {
        let ats = self
            .archive_time_stamp_sequence
            .get(chain)
            .and_then(|c| c.first())
            .ok_or_else(|| ErsError::Misuse(format!("the record has no chain {}", chain + 1)))?;
        stamp_algorithm(ats).map_err(|reason| ErsError::Unsupported {
            at: format!("chain {} stamp 1", chain + 1),
            reason,
        })
    }

    /// The record's time-stamp tokens (DER), in order: chain by chain, stamp by stamp.
    pub fn tokens(&self) -> Result<Vec<Vec<u8>>, ErsError> {
        self.archive_time_stamp_sequence
            .iter()
            .flatten()
            .map(|ats| ats.time_stamp.to_der().map_err(encoding))
            .collect()
    }

    fn list_algorithm(&mut self, alg: DigestAlgorithm) {
        if !self
            .digest_algorithms
            .iter()
            .any(|a| DigestAlgorithm::from_oid(&a.oid) == Some(alg))
        {
            self.digest_algorithms.push(alg.algorithm_identifier());
        }
    }
}

/// The hash-tree algorithm of one stamp: `digestAlgorithm`, else the token's imprint
/// algorithm.
fn stamp_algorithm(ats: &ArchiveTimeStamp) -> Result<DigestAlgorithm, String> {
    match &ats.digest_algorithm {
        Some(a) => DigestAlgorithm::from_oid(&a.oid)
            .ok_or_else(|| format!("unsupported digest algorithm {}", a.oid)),
        None => {
            let der = ats.time_stamp.to_der().map_err(|e| e.to_string())?;
            crate::tsp::parse_token(&der)
                .map(|t| t.imprint_algorithm)
                .map_err(|e| e.to_string())
        }
    }
}

// ---------------------------------------------------------------------------------
// Hashing and the tree
// ---------------------------------------------------------------------------------

/// `H(concatenation of items in binary ascending order)`.
fn hash_sorted(alg: DigestAlgorithm, items: &mut [&[u8]]) -> Vec<u8> {
    items.sort_unstable();
    let mut hasher = alg.hasher();
    for item in items.iter() {
        hasher.update(item);
    }
    hasher.finish()
}

/// `H(a || b)`, in that order.
fn hash_pair(alg: DigestAlgorithm, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut hasher = alg.hasher();
    hasher.update(a);
    hasher.update(b);
    hasher.finish()
}

/// A binary hash tree: `levels[0]` are the leaves, the last level is the root.
struct Tree {
    levels: Vec<Vec<Vec<u8>>>,
}

impl Tree {
    fn new(alg: DigestAlgorithm, leaves: Vec<Vec<u8>>) -> Self {
        let mut levels = vec![leaves];
        while let Some(current) = levels.last().filter(|l| l.len() > 1) {
            let next = current
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_sorted(alg, &mut [a, b]),
                    // The odd last node is carried up unchanged.
                    [a] => a.clone(),
                    _ => Vec::new(),
                })
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    fn root(&self) -> Option<&[u8]> {
        self.levels.last()?.first().map(Vec::as_slice)
    }

    /// The sibling of leaf `index` at each level where it has one, bottom-up.
    fn siblings(&self, mut index: usize) -> Vec<&[u8]> {
        let mut out = Vec::new();
        for level in self.levels.iter().take(self.levels.len().saturating_sub(1)) {
            if let Some(sibling) = level.get(index ^ 1) {
                out.push(sibling.as_slice());
            }
            index /= 2;
        }
        out
    }
}

fn octets(bytes: &[u8]) -> Result<OctetString, ErsError> {
    OctetString::new(bytes).map_err(encoding)
}

/// The reduced hash tree of one leaf (see the module docs for its shape): a group's
/// first list holds its parts, a single hash's first list holds it alone; each sibling
/// on the way up follows as a list of its own. `None` for a tree of one leaf that is
/// not a group.
fn reduced_tree(
    parts: &[Vec<u8>],
    leaf: &[u8],
    siblings: &[&[u8]],
) -> Result<Option<Vec<PartialHashtree>>, ErsError> {
    if parts.len() <= 1 && siblings.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(siblings.len() + 1);
    if parts.len() > 1 {
        out.push(parts.iter().map(|p| octets(p)).collect::<Result<_, _>>()?);
    } else {
        out.push(vec![octets(leaf)?]);
    }
    for s in siblings {
        out.push(vec![octets(s)?]);
    }
    Ok(Some(out))
}

/// What the first list must hold.
enum Leaf<'a> {
    /// The data object's parts as given (one or more).
    Object(&'a [Vec<u8>]),
    /// The hash of the previous time-stamp (a time-stamp renewal).
    Renewal(&'a [u8]),
}

enum Coverage {
    Root(Vec<u8>),
    NotCovered,
    /// Every given part is in the first list, which holds more: parts are missing.
    MissingParts {
        listed: usize,
    },
    Malformed(String),
}

/// Recompute the root from a leaf and a reduced hash tree (RFC 4998 §4.3).
/// `sibling_in_first`: accept a single part among other values of the first list.
fn compute_root(
    alg: DigestAlgorithm,
    leaf: &Leaf<'_>,
    tree: Option<&[PartialHashtree]>,
    sibling_in_first: bool,
) -> Coverage {
    let Some(tree) = tree else {
        return Coverage::Root(match leaf {
            Leaf::Renewal(h) => h.to_vec(),
            Leaf::Object([h]) => h.clone(),
            Leaf::Object(parts) => hash_sorted(
                alg,
                &mut parts.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            ),
        });
    };
    let Some((first, higher)) = tree.split_first() else {
        return Coverage::Malformed("empty reducedHashtree".into());
    };
    let len = alg.output_len();
    for (i, pht) in tree.iter().enumerate() {
        if pht.is_empty() {
            return Coverage::Malformed(format!("partial hash tree {} is empty", i + 1));
        }
        if let Some(bad) = pht.iter().find(|v| v.as_bytes().len() != len) {
            return Coverage::Malformed(format!(
                "partial hash tree {} holds a {}-byte value where {} gives {len} bytes",
                i + 1,
                bad.as_bytes().len(),
                alg.name()
            ));
        }
    }
    let mut first: Vec<&[u8]> = first.iter().map(OctetString::as_bytes).collect();
    first.sort_unstable();
    // A one-value list is that value (Bouncy Castle, DSS, RFC 6283); longer lists hash.
    let value_of = |list: &[&[u8]]| match list {
        [one] => one.to_vec(),
        more => hash_sorted(alg, &mut more.to_vec()),
    };
    let mut current = match leaf {
        Leaf::Renewal(h) => {
            if !first.contains(h) {
                return Coverage::NotCovered;
            }
            value_of(&first)
        }
        Leaf::Object(parts) => {
            let mut given: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            given.sort_unstable();
            if given == first {
                value_of(&first)
            } else if given.len() > 1
                && first.contains(&hash_sorted(alg, &mut given.clone()).as_slice())
            {
                // A tree whose leaves are group hashes holds the group hash itself.
                value_of(&first)
            } else if given.iter().all(|g| first.contains(g)) {
                if given.len() == 1 && sibling_in_first {
                    value_of(&first)
                } else {
                    return Coverage::MissingParts {
                        listed: first.len(),
                    };
                }
            } else {
                return Coverage::NotCovered;
            }
        }
    };
    for pht in higher {
        let mut items: Vec<&[u8]> = pht.iter().map(OctetString::as_bytes).collect();
        items.push(&current);
        current = hash_sorted(alg, &mut items);
    }
    Coverage::Root(current)
}

// ---------------------------------------------------------------------------------
// Building and renewing
// ---------------------------------------------------------------------------------

/// One data object to archive: the digests of its parts, all with the batch's
/// algorithm (one part: a plain data object; several: an RFC 4998 data group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    /// The parts' digests.
    pub parts: Vec<Vec<u8>>,
}

impl DataObject {
    /// A data object of one part.
    pub fn single(digest: Vec<u8>) -> Self {
        Self {
            parts: vec![digest],
        }
    }

    /// A data group (e.g. the original and its captured validation material).
    pub fn group(parts: Vec<Vec<u8>>) -> Self {
        Self { parts }
    }

    /// Hash each part (in memory) with `alg`; big files are better hashed streaming
    /// by the caller.
    pub fn of_parts(alg: DigestAlgorithm, parts: &[&[u8]]) -> Self {
        Self {
            parts: parts.iter().map(|p| alg.digest(p)).collect(),
        }
    }

    fn check(&self, alg: DigestAlgorithm, index: usize) -> Result<(), ErsError> {
        if self.parts.is_empty() {
            return Err(ErsError::Misuse(format!(
                "data object {} has no parts",
                index + 1
            )));
        }
        if let Some(p) = self.parts.iter().position(|p| p.len() != alg.output_len()) {
            return Err(ErsError::Misuse(format!(
                "data object {} part {}: a {}-byte digest is not {} ({} bytes)",
                index + 1,
                p + 1,
                self.parts[p].len(),
                alg.name(),
                alg.output_len()
            )));
        }
        Ok(())
    }

    /// The tree leaf: the digest of a single part, the group hash of several.
    fn leaf(&self, alg: DigestAlgorithm) -> Vec<u8> {
        match self.parts.as_slice() {
            [one] => one.clone(),
            parts => hash_sorted(
                alg,
                &mut parts.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            ),
        }
    }
}

/// The caller's time-stamp source: asked for a DER RFC 3161 token (`ContentInfo`)
/// whose imprint is the given hash with the given algorithm.
pub type TimestampSource<'a, E> = &'a mut dyn FnMut(DigestAlgorithm, &[u8]) -> Result<Vec<u8>, E>;

fn check_algorithm(alg: DigestAlgorithm) -> Result<(), ErsError> {
    if alg == DigestAlgorithm::Sha1 {
        return Err(ErsError::Misuse(
            "SHA-1 is never used for new evidence records".into(),
        ));
    }
    Ok(())
}

/// Ask the source once for a token over `root`, check it covers `root`, keep it as DER.
fn obtain<E: fmt::Display>(
    alg: DigestAlgorithm,
    root: &[u8],
    timestamp: TimestampSource<'_, E>,
) -> Result<ContentInfo, ErsError> {
    let token = timestamp(alg, root).map_err(|e| ErsError::TimestampSource(e.to_string()))?;
    if token.len() > crate::tsp::MAX_TOKEN_SIZE {
        return Err(ErsError::Timestamp(format!(
            "a token of {} bytes exceeds the {}-byte limit",
            token.len(),
            crate::tsp::MAX_TOKEN_SIZE
        )));
    }
    // An evidence record is DER; a BER token is normalised (its signature is over the
    // DER of the signed attributes and the TSTInfo octets, both unchanged).
    let token = crate::ber::to_der_cow(&token)
        .map_err(|e| ErsError::Timestamp(format!("not a BER/DER token: {e}")))?;
    let info = crate::tsp::parse_token(&token).map_err(|e| ErsError::Timestamp(e.to_string()))?;
    if info.imprint_algorithm != alg || info.imprint != root {
        return Err(ErsError::Timestamp(format!(
            "the token's imprint ({} {}) is not the hash tree's root ({} {})",
            info.imprint_algorithm.name(),
            hex(&info.imprint),
            alg.name(),
            hex(root)
        )));
    }
    ContentInfo::from_der(&token).map_err(|e| ErsError::Timestamp(format!("token: {e}")))
}

/// Build one hash tree over `objects`, time-stamp its root once through `timestamp`,
/// and return one DER [`EvidenceRecord`] per object, in order.
///
/// `algorithm` is the tree's (SHA-256 by default in kyso; SHA-384 and SHA-512 too;
/// SHA-1 is refused), and every part digest must be of it.
pub fn build<E: fmt::Display>(
    objects: &[DataObject],
    algorithm: DigestAlgorithm,
    timestamp: TimestampSource<'_, E>,
) -> Result<Vec<Vec<u8>>, ErsError> {
    check_algorithm(algorithm)?;
    if objects.is_empty() {
        return Err(ErsError::Misuse("no data object to archive".into()));
    }
    for (i, o) in objects.iter().enumerate() {
        o.check(algorithm, i)?;
    }
    let leaves: Vec<Vec<u8>> = objects.iter().map(|o| o.leaf(algorithm)).collect();
    let tree = Tree::new(algorithm, leaves);
    let root = tree
        .root()
        .ok_or_else(|| ErsError::Misuse("empty hash tree".into()))?;
    let token = obtain(algorithm, root, timestamp)?;
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let leaf = &tree.levels[0][i];
            let ats = ArchiveTimeStamp {
                digest_algorithm: Some(algorithm.algorithm_identifier()),
                attributes: None,
                reduced_hashtree: reduced_tree(&o.parts, leaf, &tree.siblings(i))?,
                time_stamp: token.clone(),
            };
            EvidenceRecord {
                version: 1,
                digest_algorithms: vec![algorithm.algorithm_identifier()],
                crypto_infos: None,
                encryption_info: None,
                archive_time_stamp_sequence: vec![vec![ats]],
            }
            .encode()
        })
        .collect()
}

/// Time-stamp renewal (RFC 4998 §5.2) of many records at once: a hash tree over the
/// distinct last time-stamps (`H(DER of the last timeStamp)` with the last chain's
/// algorithm), one new time-stamp over its root, and a new `ArchiveTimeStamp` appended
/// to each record's last chain. Records whose last chains use different algorithms get
/// one time-stamp per algorithm. Returns the renewed records (DER), in order.
pub fn renew_timestamps<R: AsRef<[u8]>, E: fmt::Display>(
    records: &[R],
    limits: &Limits,
    timestamp: TimestampSource<'_, E>,
) -> Result<Vec<Vec<u8>>, ErsError> {
    let mut parsed = Vec::with_capacity(records.len());
    // (algorithm, leaf of each record)
    let mut leaves = Vec::with_capacity(records.len());
    for (i, der) in records.iter().enumerate() {
        let record = EvidenceRecord::parse(der.as_ref(), limits).map_err(|e| at_record(i, e))?;
        let last = record.archive_time_stamp_sequence.len() - 1;
        let alg = record.chain_algorithm(last).map_err(|e| at_record(i, e))?;
        let chain = &record.archive_time_stamp_sequence[last];
        if chain.len() >= limits.max_stamps_per_chain {
            return Err(at_record(
                i,
                ErsError::LimitExceeded {
                    at: format!("chain {}", last + 1),
                    what: "ArchiveTimeStamps (after renewal)",
                    count: chain.len() + 1,
                    limit: limits.max_stamps_per_chain,
                },
            ));
        }
        let previous = chain
            .last()
            .map(|ats| ats.time_stamp.to_der())
            .transpose()
            .map_err(encoding)?
            .unwrap_or_default();
        leaves.push((alg, alg.digest(&previous)));
        parsed.push(record);
    }
    let mut algorithms: Vec<DigestAlgorithm> = Vec::new();
    for (alg, _) in &leaves {
        if !algorithms.contains(alg) {
            algorithms.push(*alg);
        }
    }
    for alg in algorithms {
        check_algorithm(alg)?;
        // Distinct last time-stamps: records sharing one share a leaf.
        let mut index: HashMap<&[u8], usize> = HashMap::new();
        let mut distinct: Vec<Vec<u8>> = Vec::new();
        for (a, leaf) in &leaves {
            if *a == alg && !index.contains_key(leaf.as_slice()) {
                index.insert(leaf, distinct.len());
                distinct.push(leaf.clone());
            }
        }
        let tree = Tree::new(alg, distinct);
        let root = tree
            .root()
            .ok_or_else(|| ErsError::Misuse("empty hash tree".into()))?;
        let token = obtain(alg, root, timestamp)?;
        for (record, (a, leaf)) in parsed.iter_mut().zip(&leaves) {
            if *a != alg {
                continue;
            }
            let position = index.get(leaf.as_slice()).copied().unwrap_or_default();
            let ats = ArchiveTimeStamp {
                digest_algorithm: Some(alg.algorithm_identifier()),
                attributes: None,
                reduced_hashtree: reduced_tree(
                    std::slice::from_ref(leaf),
                    leaf,
                    &tree.siblings(position),
                )?,
                time_stamp: token.clone(),
            };
            if let Some(chain) = record.archive_time_stamp_sequence.last_mut() {
                chain.push(ats);
            }
        }
    }
    parsed.iter().map(EvidenceRecord::encode).collect()
}

/// Hash-tree renewal (RFC 4998 §5.2) of many records at once, to `algorithm`: each
/// record comes with its data object's parts hashed with `algorithm` (the same parts
/// as when it was built, in any order). For each part `h' = H(h || H(DER of the record's
/// ArchiveTimeStampSequence))`; one hash tree over all records, one time-stamp, and a
/// new `ArchiveTimeStampChain` appended to each record. Returns the renewed records
/// (DER), in order.
pub fn renew_hash_trees<R: AsRef<[u8]>, E: fmt::Display>(
    records: &[(R, DataObject)],
    algorithm: DigestAlgorithm,
    limits: &Limits,
    timestamp: TimestampSource<'_, E>,
) -> Result<Vec<Vec<u8>>, ErsError> {
    check_algorithm(algorithm)?;
    if records.is_empty() {
        return Err(ErsError::Misuse("no evidence record to renew".into()));
    }
    let mut parsed = Vec::with_capacity(records.len());
    let mut renewed_parts = Vec::with_capacity(records.len());
    for (i, (der, object)) in records.iter().enumerate() {
        object.check(algorithm, i)?;
        let record = EvidenceRecord::parse(der.as_ref(), limits).map_err(|e| at_record(i, e))?;
        if record.archive_time_stamp_sequence.len() >= limits.max_chains {
            return Err(at_record(
                i,
                ErsError::LimitExceeded {
                    at: "archiveTimeStampSequence".into(),
                    what: "ArchiveTimeStampChains (after renewal)",
                    count: record.archive_time_stamp_sequence.len() + 1,
                    limit: limits.max_chains,
                },
            ));
        }
        let sequence = record
            .archive_time_stamp_sequence
            .to_der()
            .map_err(encoding)?;
        let ha = algorithm.digest(&sequence);
        renewed_parts.push(DataObject {
            parts: object
                .parts
                .iter()
                .map(|h| hash_pair(algorithm, h, &ha))
                .collect(),
        });
        parsed.push(record);
    }
    let leaves = renewed_parts.iter().map(|o| o.leaf(algorithm)).collect();
    let tree = Tree::new(algorithm, leaves);
    let root = tree
        .root()
        .ok_or_else(|| ErsError::Misuse("empty hash tree".into()))?;
    let token = obtain(algorithm, root, timestamp)?;
    for (i, (record, object)) in parsed.iter_mut().zip(&renewed_parts).enumerate() {
        let ats = ArchiveTimeStamp {
            digest_algorithm: Some(algorithm.algorithm_identifier()),
            attributes: None,
            reduced_hashtree: reduced_tree(&object.parts, &tree.levels[0][i], &tree.siblings(i))?,
            time_stamp: token.clone(),
        };
        record.archive_time_stamp_sequence.push(vec![ats]);
        record.list_algorithm(algorithm);
    }
    parsed.iter().map(EvidenceRecord::encode).collect()
}

fn at_record(index: usize, e: ErsError) -> ErsError {
    match e {
        ErsError::Malformed { at, reason } => ErsError::Malformed {
            at: format!("record {} {at}", index + 1),
            reason,
        },
        ErsError::LimitExceeded {
            at,
            what,
            count,
            limit,
        } => ErsError::LimitExceeded {
            at: format!("record {} {at}", index + 1),
            what,
            count,
            limit,
        },
        ErsError::Unsupported { at, reason } => ErsError::Unsupported {
            at: format!("record {} {at}", index + 1),
            reason,
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------

/// One part of the data object as the verifier knows it: its digest with each
/// algorithm the record uses ([`EvidenceRecord::digest_algorithms`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartDigests {
    /// `(algorithm, digest)` pairs.
    pub digests: Vec<(DigestAlgorithm, Vec<u8>)>,
}

impl PartDigests {
    /// Hash `data` with every algorithm of `algorithms` (in memory; hash big files
    /// streaming and use [`PartDigests::with`]).
    pub fn of(data: &[u8], algorithms: &[DigestAlgorithm]) -> Self {
        Self {
            digests: algorithms.iter().map(|a| (*a, a.digest(data))).collect(),
        }
    }

    /// Add the digest with `algorithm`.
    #[must_use]
    pub fn with(mut self, algorithm: DigestAlgorithm, digest: Vec<u8>) -> Self {
        self.digests.push((algorithm, digest));
        self
    }

    fn get(&self, algorithm: DigestAlgorithm) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, d)| d.as_slice())
    }
}

/// Why a record does not prove what it should. Chains and stamps are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErsFailure {
    /// The caller gave no digest of a part with an algorithm the record needs.
    #[error(
        "no {} digest of part {part} of the data object was given (the record needs it)", algorithm.name()
    )]
    MissingDigest {
        /// The algorithm.
        algorithm: DigestAlgorithm,
        /// The part (1-based).
        part: usize,
    },
    /// A given digest has the wrong length for its algorithm.
    #[error("the {} digest given for part {part} has the wrong length", algorithm.name())]
    BadDigest {
        /// The algorithm.
        algorithm: DigestAlgorithm,
        /// The part (1-based).
        part: usize,
    },
    /// The first chain's first time-stamp does not cover the data object.
    #[error("data object not covered by the record (chain {chain} stamp {stamp})")]
    DataNotCovered {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
    },
    /// Every part given is in the record's first hash list, which holds more: the data
    /// object (a data group) has parts that were not given.
    #[error(
        "chain {chain} stamp {stamp}: the data object has {listed} parts in the record but {given} were given (a part is missing)"
    )]
    MissingParts {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// Parts given.
        given: usize,
        /// Values of the record's first hash list.
        listed: usize,
    },
    /// A hash-tree renewal does not cover the data object with the earlier chains.
    #[error(
        "chain {chain} stamp 1 does not cover the data object together with the previous chains (hash-tree renewal)"
    )]
    PreviousChainsNotCovered {
        /// Chain.
        chain: usize,
    },
    /// A time-stamp renewal does not cover the previous time-stamp.
    #[error("chain {chain} stamp {stamp} does not cover the previous time-stamp")]
    PreviousTimeStampNotCovered {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
    },
    /// The reduced hash tree does not lead to the time-stamp's imprint.
    #[error(
        "chain {chain} stamp {stamp}: the reduced hash tree does not lead to the time-stamp's imprint"
    )]
    HashTreeMismatch {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
    },
    /// The reduced hash tree is unusable.
    #[error("chain {chain} stamp {stamp}: malformed reduced hash tree: {detail}")]
    MalformedHashTree {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// What is wrong.
        detail: String,
    },
    /// A digest algorithm kyso does not know.
    #[error("chain {chain} stamp {stamp}: {detail}")]
    UnsupportedAlgorithm {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// Which.
        detail: String,
    },
    /// A time-stamp renewal changed the chain's hash algorithm.
    #[error(
        "chain {chain} stamp {stamp} uses {} but its chain uses {} (a time-stamp renewal keeps the algorithm)",
        found.name(),
        expected.name()
    )]
    AlgorithmChanged {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// The chain's algorithm.
        expected: DigestAlgorithm,
        /// The stamp's.
        found: DigestAlgorithm,
    },
    /// The token's imprint algorithm is not the hash tree's.
    #[error(
        "chain {chain} stamp {stamp}: the time-stamp imprint is {}, the hash tree {}",
        imprint.name(),
        tree.name()
    )]
    ImprintAlgorithm {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// The tree's algorithm.
        tree: DigestAlgorithm,
        /// The token's imprint algorithm.
        imprint: DigestAlgorithm,
    },
    /// `digestAlgorithms` does not list an algorithm the record uses.
    #[error("digestAlgorithms does not list {}, used by chain {chain}", algorithm.name())]
    AlgorithmNotListed {
        /// The algorithm.
        algorithm: DigestAlgorithm,
        /// Chain.
        chain: usize,
    },
    /// The time-stamp token cannot be read.
    #[error("chain {chain} stamp {stamp}: malformed time-stamp token: {detail}")]
    MalformedTimeStamp {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// Why.
        detail: String,
    },
    /// The time-stamp token does not validate (signature, TSA certificate, path…).
    #[error("chain {chain} stamp {stamp}: time-stamp token not valid at {at}: {reason}")]
    TimeStampNotValid {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
        /// The time it was validated at (RFC 3339, +07:00).
        at: String,
        /// ETSI indication (`TotalFailed` or `Indeterminate`).
        indication: Indication,
        /// ETSI sub-indication.
        sub_indication: Option<SubIndication>,
        /// The token report's first reason code (`signature_invalid`,
        /// `timestamp_expired_no_proof_of_time`, …).
        code: &'static str,
        /// The reasons, in English.
        reason: String,
    },
    /// A renewal is dated before what it renews.
    #[error("chain {chain} stamp {stamp} is dated before the previous time-stamp")]
    TimeOrder {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
    },
    /// A time-stamp is dated after the validation time.
    #[error("chain {chain} stamp {stamp} is dated after the validation time")]
    Future {
        /// Chain.
        chain: usize,
        /// Stamp.
        stamp: usize,
    },
}

impl ErsFailure {
    /// Whether this failure leaves the record undecided (indeterminate) rather than
    /// invalid: a token that could not be confirmed (expired TSA certificate without a
    /// later time-stamp, missing chain, unknown revocation), a digest not given.
    pub fn is_indeterminate(&self) -> bool {
        matches!(
            self,
            Self::TimeStampNotValid {
                indication: Indication::Indeterminate,
                ..
            } | Self::MissingDigest { .. }
        )
    }
}

/// One time-stamp of the record, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampReport {
    /// Chain (1-based).
    pub chain: usize,
    /// Stamp in its chain (1-based).
    pub stamp: usize,
    /// genTime, when the token could be read.
    pub time: Option<OffsetDateTime>,
    /// The TSA certificate's subject, when found.
    pub tsa: Option<String>,
    /// The hash tree's digest algorithm.
    pub algorithm: Option<DigestAlgorithm>,
    /// The time the token was validated at: the next time-stamp's, or the validation
    /// time for the last one.
    pub validated_at: OffsetDateTime,
    /// Whether the reduced hash tree covers what it must and leads to the imprint.
    pub covers: bool,
    /// The token's ETSI indication.
    pub indication: Indication,
    /// The token's ETSI sub-indication.
    pub sub_indication: Option<SubIndication>,
    /// The token report's reasons.
    pub reasons: Vec<Reason>,
}

/// The outcome of verifying one evidence record against one data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErsReport {
    /// `Valid` when everything holds; `Invalid` when something fails for certain;
    /// `Indeterminate` when a time-stamp could not be confirmed either way.
    pub verdict: Verdict,
    /// The proof-of-existence time (genTime of the first time-stamp of the first
    /// chain), only when the verdict is `Valid`.
    pub proof_of_existence: Option<OffsetDateTime>,
    /// Every time-stamp, chain by chain.
    pub stamps: Vec<StampReport>,
    /// Why not valid (empty when valid).
    pub failures: Vec<ErsFailure>,
    /// Things worth knowing that do not change the verdict.
    pub warnings: Vec<String>,
}

impl ErsReport {
    /// Whether the record proves the data object existed at
    /// [`ErsReport::proof_of_existence`].
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }
}

/// Verify a DER record against its data object's parts (one [`PartDigests`] per part,
/// in the order the record was built with). See [`Verifier`] to verify many records
/// sharing time-stamps.
pub fn verify(
    record_der: &[u8],
    parts: &[PartDigests],
    options: &VerifyOptions<'_>,
    limits: &Limits,
) -> Result<ErsReport, ErsError> {
    Verifier::new(options.clone(), *limits).verify(record_der, parts)
}

/// Verifies evidence records, remembering each token's validation at each time (the
/// records of one batch share their tokens: a token is verified once per validation
/// time, not once per record).
#[derive(Debug)]
pub struct Verifier<'a> {
    options: VerifyOptions<'a>,
    limits: Limits,
    sibling_in_first: bool,
    cache: HashMap<(Vec<u8>, i128), Result<SignatureReport, String>>,
}

struct Stamp<'r> {
    chain: usize,
    stamp: usize,
    ats: &'r ArchiveTimeStamp,
    token: Vec<u8>,
    info: Option<crate::tsp::TokenInfo>,
}

impl<'a> Verifier<'a> {
    /// A verifier with these options (trust anchors, revocation material, the
    /// validation time for the last time-stamp) and record limits.
    pub fn new(options: VerifyOptions<'a>, limits: Limits) -> Self {
        Self {
            options,
            limits,
            sibling_in_first: false,
            cache: HashMap::new(),
        }
    }

    /// Accept a one-part data object whose hash shares the first hash list with other
    /// values, as records written after RFC 4998's Figure 3 put a single object's first
    /// sibling there (`[h1, h2abc]`). Off by default: kyso (like Bouncy Castle) writes a
    /// single object's hash alone in its first list, so that a first list of several
    /// values is always a data group, and a group given without one of its parts
    /// fails ([`ErsFailure::MissingParts`]) instead of proving the parts given.
    #[must_use]
    pub fn accept_sibling_in_first_list(mut self, accept: bool) -> Self {
        self.sibling_in_first = accept;
        self
    }

    /// Verify a DER record against its data object's parts. `Err` only when the record
    /// cannot be read (malformed, over the limits) or no part is given.
    pub fn verify(
        &mut self,
        record_der: &[u8],
        parts: &[PartDigests],
    ) -> Result<ErsReport, ErsError> {
        let record = EvidenceRecord::parse(record_der, &self.limits)?;
        self.verify_record(&record, parts)
    }

    /// Verify a parsed record (see [`Verifier::verify`]).
    pub fn verify_record(
        &mut self,
        record: &EvidenceRecord,
        parts: &[PartDigests],
    ) -> Result<ErsReport, ErsError> {
        if parts.is_empty() {
            return Err(ErsError::Misuse(
                "verifying an evidence record needs the data object's parts".into(),
            ));
        }
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        if record.encryption_info.is_some() {
            warnings.push(
                "the record carries encryptionInfo: it was verified against the parts as given"
                    .into(),
            );
        }
        let mut stamps = Vec::new();
        for (c, chain) in record.archive_time_stamp_sequence.iter().enumerate() {
            for (s, ats) in chain.iter().enumerate() {
                let token = ats.time_stamp.to_der().map_err(encoding)?;
                let info = match crate::tsp::parse_token(&token) {
                    Ok(info) => Some(info),
                    Err(e) => {
                        failures.push(ErsFailure::MalformedTimeStamp {
                            chain: c + 1,
                            stamp: s + 1,
                            detail: e.to_string(),
                        });
                        None
                    }
                };
                stamps.push(Stamp {
                    chain: c + 1,
                    stamp: s + 1,
                    ats,
                    token,
                    info,
                });
            }
        }
        let mut covers = vec![false; stamps.len()];
        let mut algorithms = vec![None; stamps.len()];
        let mut k = 0;
        for (c, chain) in record.archive_time_stamp_sequence.iter().enumerate() {
            let first = k;
            let chain_alg = self.chain_coverage(
                record,
                c,
                &stamps[first..first + chain.len()],
                parts,
                &mut failures,
                &mut covers[first..first + chain.len()],
                &mut algorithms[first..first + chain.len()],
            )?;
            if let Some(alg) = chain_alg
                && !record
                    .digest_algorithms
                    .iter()
                    .any(|a| DigestAlgorithm::from_oid(&a.oid) == Some(alg))
            {
                failures.push(ErsFailure::AlgorithmNotListed {
                    algorithm: alg,
                    chain: c + 1,
                });
            }
            k += chain.len();
        }
        // Each token at the time of the next time-stamp covering it.
        let mut reports = Vec::with_capacity(stamps.len());
        for (i, stamp) in stamps.iter().enumerate() {
            let next_time = stamps
                .get(i + 1)
                .and_then(|n| n.info.as_ref())
                .map(|n| n.gen_time);
            let at = next_time.unwrap_or(self.options.validation_time);
            let time = stamp.info.as_ref().map(|n| n.gen_time);
            if let (Some(t), Some(prev)) = (
                time,
                i.checked_sub(1)
                    .and_then(|p| stamps[p].info.as_ref())
                    .map(|n| n.gen_time),
            ) && t < prev
            {
                failures.push(ErsFailure::TimeOrder {
                    chain: stamp.chain,
                    stamp: stamp.stamp,
                });
            }
            if time.is_some_and(|t| t > self.options.validation_time) {
                failures.push(ErsFailure::Future {
                    chain: stamp.chain,
                    stamp: stamp.stamp,
                });
            }
            let mut report = StampReport {
                chain: stamp.chain,
                stamp: stamp.stamp,
                time,
                tsa: None,
                algorithm: algorithms[i],
                validated_at: at,
                covers: covers[i],
                indication: Indication::TotalFailed,
                sub_indication: Some(SubIndication::FormatFailure),
                reasons: Vec::new(),
            };
            if let Some(info) = &stamp.info {
                match self.token_report(&stamp.token, info, at) {
                    Ok(r) => {
                        report.tsa = r
                            .timestamp
                            .as_ref()
                            .and_then(|t| t.tsa.clone())
                            .or_else(|| r.signer.as_ref().map(|s| s.subject.clone()));
                        report.indication = r.indication;
                        report.sub_indication = r.sub_indication;
                        report.reasons = r.reasons.clone();
                        if r.indication != Indication::TotalPassed {
                            failures.push(ErsFailure::TimeStampNotValid {
                                chain: stamp.chain,
                                stamp: stamp.stamp,
                                at: vietnam_time(at),
                                indication: r.indication,
                                sub_indication: r.sub_indication,
                                code: r.reasons.first().map_or("timestamp_invalid", |r| r.code),
                                reason: r
                                    .reasons
                                    .iter()
                                    .map(|r| r.en.as_str())
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            });
                        }
                    }
                    Err(detail) => failures.push(ErsFailure::MalformedTimeStamp {
                        chain: stamp.chain,
                        stamp: stamp.stamp,
                        detail,
                    }),
                }
            }
            reports.push(report);
        }
        let verdict = if failures.is_empty() {
            Verdict::Valid
        } else if failures.iter().all(ErsFailure::is_indeterminate) {
            Verdict::Indeterminate
        } else {
            Verdict::Invalid
        };
        let proof_of_existence = if verdict == Verdict::Valid {
            stamps
                .first()
                .and_then(|s| s.info.as_ref())
                .map(|i| i.gen_time)
        } else {
            None
        };
        Ok(ErsReport {
            verdict,
            proof_of_existence,
            stamps: reports,
            failures,
            warnings,
        })
    }

    /// Check what each stamp of chain `c` covers; returns the chain's algorithm.
    #[allow(clippy::too_many_arguments)]
    fn chain_coverage(
        &self,
        record: &EvidenceRecord,
        c: usize,
        stamps: &[Stamp<'_>],
        parts: &[PartDigests],
        failures: &mut Vec<ErsFailure>,
        covers: &mut [bool],
        algorithms: &mut [Option<DigestAlgorithm>],
    ) -> Result<Option<DigestAlgorithm>, ErsError> {
        let mut chain_alg = None;
        for (s, stamp) in stamps.iter().enumerate() {
            let (chain, number) = (stamp.chain, stamp.stamp);
            let alg = match &stamp.ats.digest_algorithm {
                Some(a) => match DigestAlgorithm::from_oid(&a.oid) {
                    Some(alg) => alg,
                    None => {
                        failures.push(ErsFailure::UnsupportedAlgorithm {
                            chain,
                            stamp: number,
                            detail: format!("unsupported digest algorithm {}", a.oid),
                        });
                        return Ok(None);
                    }
                },
                None => match &stamp.info {
                    Some(info) => info.imprint_algorithm,
                    None => return Ok(None),
                },
            };
            algorithms[s] = Some(alg);
            let expected = *chain_alg.get_or_insert(alg);
            if alg != expected {
                failures.push(ErsFailure::AlgorithmChanged {
                    chain,
                    stamp: number,
                    expected,
                    found: alg,
                });
                continue;
            }
            let Some(info) = &stamp.info else { continue };
            if info.imprint_algorithm != alg {
                failures.push(ErsFailure::ImprintAlgorithm {
                    chain,
                    stamp: number,
                    tree: alg,
                    imprint: info.imprint_algorithm,
                });
                continue;
            }
            let tree = stamp.ats.reduced_hashtree.as_deref();
            let coverage = if s == 0 {
                let Some(hashes) = part_hashes(record, c, alg, parts, failures)? else {
                    continue;
                };
                let coverage =
                    compute_root(alg, &Leaf::Object(&hashes), tree, self.sibling_in_first);
                if let Coverage::MissingParts { listed } = coverage {
                    failures.push(ErsFailure::MissingParts {
                        chain,
                        stamp: number,
                        given: hashes.len(),
                        listed,
                    });
                    continue;
                }
                coverage
            } else {
                let previous = stamps[s - 1].ats.time_stamp.to_der().map_err(encoding)?;
                let h = alg.digest(&previous);
                compute_root(alg, &Leaf::Renewal(&h), tree, true)
            };
            // Without a reduced hash tree the imprint is the hash itself: a mismatch
            // means the data (or the previous time-stamp) is not what was time-stamped.
            let coverage = match coverage {
                Coverage::Root(root) if tree.is_none() && root != info.imprint => {
                    Coverage::NotCovered
                }
                other => other,
            };
            match coverage {
                Coverage::Root(root) if root == info.imprint => covers[s] = true,
                Coverage::Root(_) => failures.push(ErsFailure::HashTreeMismatch {
                    chain,
                    stamp: number,
                }),
                Coverage::MissingParts { listed } => failures.push(ErsFailure::MissingParts {
                    chain,
                    stamp: number,
                    given: parts.len(),
                    listed,
                }),
                Coverage::NotCovered => failures.push(match (s, c) {
                    (0, 0) => ErsFailure::DataNotCovered {
                        chain,
                        stamp: number,
                    },
                    (0, _) => ErsFailure::PreviousChainsNotCovered { chain },
                    _ => ErsFailure::PreviousTimeStampNotCovered {
                        chain,
                        stamp: number,
                    },
                }),
                Coverage::Malformed(detail) => failures.push(ErsFailure::MalformedHashTree {
                    chain,
                    stamp: number,
                    detail,
                }),
            }
        }
        Ok(chain_alg)
    }

    fn token_report(
        &mut self,
        token: &[u8],
        info: &crate::tsp::TokenInfo,
        at: OffsetDateTime,
    ) -> Result<SignatureReport, String> {
        let key = (
            DigestAlgorithm::Sha256.digest(token),
            at.unix_timestamp_nanos(),
        );
        if let Some(cached) = self.cache.get(&key) {
            return cached.clone();
        }
        let options = VerifyOptions {
            validation_time: at,
            ..self.options.clone()
        };
        // Coverage is checked above; here the token itself: signature over its
        // TSTInfo, TSA certificate and path at genTime, still valid at `at`.
        let result = crate::verify::verify_timestamp_token_digests(
            token,
            &[(info.imprint_algorithm, info.imprint.clone())],
            &options,
        )
        .map_err(|e| e.to_string());
        self.cache.insert(key, result.clone());
        result
    }
}

/// The data object's part hashes for chain `c` with `alg`: the given digests, and for
/// a hash-tree renewal (`c > 0`) `H(h || H(DER of chains 1..c))`. `None` (with a
/// failure recorded) when a digest is missing or wrong.
fn part_hashes(
    record: &EvidenceRecord,
    c: usize,
    alg: DigestAlgorithm,
    parts: &[PartDigests],
    failures: &mut Vec<ErsFailure>,
) -> Result<Option<Vec<Vec<u8>>>, ErsError> {
    let mut hashes = Vec::with_capacity(parts.len());
    for (p, part) in parts.iter().enumerate() {
        match part.get(alg) {
            None => {
                failures.push(ErsFailure::MissingDigest {
                    algorithm: alg,
                    part: p + 1,
                });
                return Ok(None);
            }
            Some(d) if d.len() != alg.output_len() => {
                failures.push(ErsFailure::BadDigest {
                    algorithm: alg,
                    part: p + 1,
                });
                return Ok(None);
            }
            Some(d) => hashes.push(d.to_vec()),
        }
    }
    if c > 0 {
        let earlier = record.archive_time_stamp_sequence[..c]
            .to_vec()
            .to_der()
            .map_err(encoding)?;
        let ha = alg.digest(&earlier);
        for h in &mut hashes {
            *h = hash_pair(alg, h, &ha);
        }
    }
    Ok(Some(hashes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(alg: DigestAlgorithm, n: u32) -> Vec<u8> {
        alg.digest(&n.to_be_bytes())
    }

    /// Every leaf's reduced tree leads to the root, for every tree size up to 40.
    #[test]
    fn reduced_trees_lead_to_the_root() {
        let alg = DigestAlgorithm::Sha256;
        for n in 1..=40u32 {
            let objects: Vec<DataObject> = (0..n)
                .map(|i| {
                    if i % 3 == 1 {
                        DataObject::group(vec![h(alg, i), h(alg, i + 1000)])
                    } else {
                        DataObject::single(h(alg, i))
                    }
                })
                .collect();
            let tree = Tree::new(alg, objects.iter().map(|o| o.leaf(alg)).collect());
            let root = tree.root().map(<[u8]>::to_vec);
            for (i, o) in objects.iter().enumerate() {
                let reduced = reduced_tree(&o.parts, &tree.levels[0][i], &tree.siblings(i))
                    .ok()
                    .flatten();
                match compute_root(alg, &Leaf::Object(&o.parts), reduced.as_deref(), false) {
                    Coverage::Root(r) => assert_eq!(Some(r), root, "n={n} i={i}"),
                    _ => panic!("n={n} i={i}: not covered"),
                }
                if let Some(list) = &reduced {
                    // A single object's hash alone in its first list, a group's parts
                    // together; every higher list is one sibling.
                    assert_eq!(list[0].len(), o.parts.len(), "n={n} i={i}");
                    assert!(list[1..].iter().all(|p| p.len() == 1));
                }
                // One part of a group alone is refused.
                if o.parts.len() > 1 {
                    assert!(matches!(
                        compute_root(alg, &Leaf::Object(&o.parts[..1]), reduced.as_deref(), false),
                        Coverage::MissingParts { listed: 2 }
                    ));
                }
            }
        }
    }
}
