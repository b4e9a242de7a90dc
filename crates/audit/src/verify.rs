use serde::Serialize;
use spki::SubjectPublicKeyInfoOwned;

use crate::entry::Entry;
use crate::head::{TreeHead, verify_tree_head};
use crate::merkle::{Hash, root};

/// Something wrong with a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// Entry at `position` has sequence number `found`: entries before it were deleted.
    Deleted {
        /// Position in the file.
        position: u64,
        /// Expected sequence number.
        expected: u64,
        /// Found sequence number.
        found: u64,
    },
    /// Entry at `position` has an earlier or repeated sequence number.
    Reordered {
        /// Position in the file.
        position: u64,
        /// Found sequence number.
        found: u64,
    },
    /// A signed head covers more entries than the log holds.
    Truncated {
        /// Entries the head covers.
        head_size: u64,
        /// Entries present.
        entries: u64,
    },
    /// The entries up to a signed head no longer hash to its root: some entry in
    /// `from..to` (0-based positions) was changed, inserted or removed.
    Modified {
        /// First position that may be affected (the previous head's size).
        from: u64,
        /// End of the range (this head's size).
        to: u64,
    },
    /// A tree head's signature does not verify with the log key.
    ForgedHead {
        /// Index of the head in the head list.
        head: usize,
        /// Why.
        reason: String,
    },
    /// Heads are not in increasing order of size and time.
    InconsistentHeads {
        /// Index of the head.
        head: usize,
    },
}

/// The result of replaying a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Entries read.
    pub entries: u64,
    /// Signed heads checked.
    pub heads: usize,
    /// Entries covered by the latest valid head.
    pub covered: u64,
    /// Root of the whole log now, hex.
    pub root: String,
    /// Everything found wrong; empty means intact.
    pub problems: Vec<Problem>,
}

impl AuditReport {
    /// No problem found.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Replay `entries` against the signed `heads` (oldest first) and the log key.
pub fn audit(
    entries: &[Entry],
    heads: &[TreeHead],
    key: &SubjectPublicKeyInfoOwned,
) -> AuditReport {
    let mut problems = Vec::new();
    for (position, e) in entries.iter().enumerate() {
        let position = position as u64;
        if e.seq > position {
            problems.push(Problem::Deleted {
                position,
                expected: position,
                found: e.seq,
            });
            break;
        }
        if e.seq < position {
            problems.push(Problem::Reordered {
                position,
                found: e.seq,
            });
            break;
        }
    }
    let leaves: Vec<Hash> = entries.iter().map(Entry::leaf_hash).collect();
    let mut covered = 0;
    let mut previous: Option<&TreeHead> = None;
    for (i, head) in heads.iter().enumerate() {
        if let Err(e) = verify_tree_head(head, key) {
            problems.push(Problem::ForgedHead {
                head: i,
                reason: e.to_string(),
            });
            continue;
        }
        if let Some(p) = previous
            && (head.size < p.size || head.time < p.time)
        {
            problems.push(Problem::InconsistentHeads { head: i });
        }
        let size = head.size;
        if size > leaves.len() as u64 {
            problems.push(Problem::Truncated {
                head_size: size,
                entries: leaves.len() as u64,
            });
        } else if hex::encode(root(&leaves[..size as usize])) != head.root {
            problems.push(Problem::Modified {
                from: previous.map(|p| p.size).unwrap_or(0).min(size),
                to: size,
            });
        } else {
            covered = covered.max(size);
        }
        previous = Some(head);
    }
    AuditReport {
        entries: entries.len() as u64,
        heads: heads.len(),
        covered,
        root: hex::encode(root(&leaves)),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kyso_signer::{KeyKind, Signer, SoftKey};

    use super::*;
    use crate::{Outcome, sign_tree_head};

    fn entry(seq: u64, action: &str) -> Entry {
        Entry {
            seq,
            time: format!("2026-11-26T10:{:02}:00Z", seq % 60),
            actor: "Nguyễn Thị Cúc (văn thư)".into(),
            action: action.into(),
            object: format!("000.00.00.H13/2026/{seq}"),
            outcome: Outcome::Succeeded,
            details: BTreeMap::from([("so".into(), format!("{seq:02}/QĐ-UBND"))]),
        }
    }

    /// A log of 10 entries with heads at 4, 7 and 10.
    fn log(key: &SoftKey) -> (Vec<Entry>, Vec<TreeHead>) {
        let entries: Vec<Entry> = (0..10).map(|i| entry(i, "sign")).collect();
        let leaves: Vec<Hash> = entries.iter().map(Entry::leaf_hash).collect();
        let heads = [4usize, 7, 10]
            .iter()
            .map(|&n| {
                sign_tree_head(
                    key,
                    n as u64,
                    &root(&leaves[..n]),
                    &format!("2026-11-26T11:{n:02}:00Z"),
                )
                .unwrap()
            })
            .collect();
        (entries, heads)
    }

    #[test]
    fn intact_log_passes() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let (entries, heads) = log(&key);
        let r = audit(&entries, &heads, key.public_key());
        assert!(r.is_intact(), "{r:?}");
        assert_eq!(r.covered, 10);
    }

    #[test]
    fn every_single_entry_change_is_detected() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let (entries, heads) = log(&key);
        for i in 0..entries.len() {
            let mut changed = entries.clone();
            changed[i].object.push('x');
            let r = audit(&changed, &heads, key.public_key());
            assert!(
                r.problems.iter().any(|p| matches!(p, Problem::Modified { from, to } if (*from as usize) <= i && i < *to as usize)),
                "change at {i}: {r:?}"
            );
        }
    }

    #[test]
    fn deletion_reordering_and_truncation_are_detected() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let (entries, heads) = log(&key);
        let mut deleted = entries.clone();
        deleted.remove(3);
        let r = audit(&deleted, &heads, key.public_key());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::Deleted { position: 3, .. })),
            "{r:?}"
        );

        let mut swapped = entries.clone();
        swapped.swap(2, 5);
        let r = audit(&swapped, &heads, key.public_key());
        assert!(!r.is_intact());

        // Renumbering after a deletion hides the gap but not from the heads.
        let mut renumbered = deleted.clone();
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as u64;
        }
        let r = audit(&renumbered, &heads, key.public_key());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::Modified { .. } | Problem::Truncated { .. })),
            "{r:?}"
        );

        let r = audit(&entries[..8], &heads, key.public_key());
        assert!(
            r.problems.iter().any(|p| matches!(
                p,
                Problem::Truncated {
                    head_size: 10,
                    entries: 8
                }
            )),
            "{r:?}"
        );
    }

    #[test]
    fn forged_or_foreign_heads_are_detected() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let other = SoftKey::generate(KeyKind::P256).unwrap();
        let (entries, mut heads) = log(&key);
        heads[1].size = 6;
        let r = audit(&entries, &heads, key.public_key());
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, Problem::ForgedHead { head: 1, .. })),
            "{r:?}"
        );
        let (_, heads) = log(&key);
        let r = audit(&entries, &heads, other.public_key());
        assert_eq!(r.problems.len(), 3);
    }
}
