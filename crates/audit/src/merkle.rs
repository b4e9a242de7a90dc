//! RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs (SHA-256,
//! 0x00 leaf prefix, 0x01 node prefix), over the list of leaf hashes.

use kyso_signer::DigestAlgorithm;

use crate::AuditError;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = DigestAlgorithm::Sha256.hasher();
    for p in parts {
        h.update(p);
    }
    let v = h.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(&v);
    out
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

fn node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash of the leaves (`MTH`); the hash of the empty string for none.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The right edge of a Merkle tree: the roots of the perfect subtrees its leaves fall
/// into (sizes are the binary digits of the leaf count, largest first). Enough to
/// append a leaf and to compute [`root`] in O(log n), without the earlier leaves — what
/// an append-only log keeps between appends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (subtree size, subtree root), largest first.
    peaks: Vec<(u64, Hash)>,
}

impl Frontier {
    /// The frontier of a tree of `leaves`.
    pub fn of(leaves: &[Hash]) -> Self {
        let mut f = Self::default();
        for leaf in leaves {
            f.push(*leaf);
        }
        f
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.size += 1;
        self.peaks.push((1, leaf));
        while let [.., (left_size, left), (right_size, right)] = self.peaks[..] {
            if left_size != right_size {
                break;
            }
            self.peaks.truncate(self.peaks.len() - 2);
            self.peaks.push((left_size * 2, node(&left, &right)));
        }
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle tree hash ([`root`] of the same leaves).
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some((_, last)) = peaks.next() else {
            return sha256(&[]);
        };
        peaks.fold(*last, |acc, (_, left)| node(left, &acc))
    }
}

/// `PATH(m, D[n])`: the audit path of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, AuditError> {
    let m = usize::try_from(index).unwrap_or(usize::MAX);
    if m >= leaves.len() {
        return Err(AuditError::OutOfRange {
            index,
            size: leaves.len() as u64,
        });
    }
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(root(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(root(&d[..k]));
            p
        }
    }
    Ok(path(m, leaves))
}

/// RFC 9162 §2.1.3.2: verify that `leaf` is at `index` in the tree of `size` with
/// `root_hash`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root_hash: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root_hash
}

/// `PROOF(m, D[n])`: consistency between the first `old_size` leaves and all of them.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, AuditError> {
    let m = usize::try_from(old_size).unwrap_or(usize::MAX);
    if m > leaves.len() {
        return Err(AuditError::OutOfRange {
            index: old_size,
            size: leaves.len() as u64,
        });
    }
    fn subproof(m: usize, d: &[Hash], complete: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if complete { Vec::new() } else { vec![root(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], complete);
            p.push(root(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(root(&d[..k]));
            p
        }
    }
    if m == 0 || m == leaves.len() {
        return Ok(Vec::new());
    }
    Ok(subproof(m, leaves, true))
}

/// RFC 9162 §2.1.4.2: verify that the tree (`new_size`, `new_root`) extends
/// (`old_size`, `old_root`).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        proof.insert(0, *old_root);
    }
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &fr == old_root && &sr == new_root
}

#[cfg(test)]
mod tests {
    #[test]
    fn frontier_root_is_the_tree_root() {
        let leaves: Vec<Hash> = (0u32..130).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), root(&[]));
        for n in 1..=leaves.len() {
            f.push(leaves[n - 1]);
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), root(&leaves[..n]), "{n} leaves");
            assert_eq!(f, Frontier::of(&leaves[..n]));
        }
    }

    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn empty_and_single() {
        // RFC 9162: MTH({}) = SHA-256("").
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let l = leaves(1);
        assert_eq!(root(&l), l[0]);
    }

    #[test]
    fn every_inclusion_proof_verifies_and_wrong_ones_do_not() {
        for n in 1..=33 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i as u64).unwrap();
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &p, &r),
                    "n={n} i={i}"
                );
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_inclusion(&l[other], i as u64, n as u64, &p, &r));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_rewrites_do_not() {
        for n in 1..=33 {
            let l = leaves(n);
            for m in 1..=n {
                let p = consistency_proof(&l, m as u64).unwrap();
                assert!(
                    verify_consistency(m as u64, n as u64, &root(&l[..m]), &root(&l), &p),
                    "m={m} n={n}"
                );
                if m < n {
                    let mut rewritten = l.clone();
                    rewritten[0] = leaf_hash(b"rewritten");
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &root(&l[..m]),
                        &root(&rewritten),
                        &consistency_proof(&rewritten, m as u64).unwrap()
                    ));
                }
            }
        }
    }
}
