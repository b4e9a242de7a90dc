use der::{Decode, Encode};
use kyso_signer::{DigestAlgorithm, Signer, verify_signature};
use serde::{Deserialize, Serialize};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::AuditError;
use crate::merkle::Hash;

/// A signed tree head: the agency's statement that its log had `size` entries with
/// Merkle root `root` at `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Number of entries covered.
    pub size: u64,
    /// Merkle tree hash, hex.
    pub root: String,
    /// When it was signed (RFC 3339, UTC).
    pub time: String,
    /// SHA-256 of the signing key's SubjectPublicKeyInfo, hex.
    pub key: String,
    /// DER `AlgorithmIdentifier` of the signature, hex.
    pub algorithm: String,
    /// Signature, hex.
    pub signature: String,
}

fn message(size: u64, root: &Hash, time: &str) -> Vec<u8> {
    let mut m = b"kyso-audit-tree-head-v1\n".to_vec();
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(root);
    m.extend_from_slice(time.as_bytes());
    m
}

/// The key fingerprint used in [`TreeHead::key`].
pub(crate) fn key_fingerprint(key: &SubjectPublicKeyInfoOwned) -> Result<String, AuditError> {
    let der = key
        .to_der()
        .map_err(|e| AuditError::Encoding(e.to_string()))?;
    Ok(hex::encode(DigestAlgorithm::Sha256.digest(&der)))
}

/// Sign a tree head with the log key.
pub fn sign_tree_head(
    signer: &dyn Signer,
    size: u64,
    root: &Hash,
    time: &str,
) -> Result<TreeHead, AuditError> {
    let signature = signer.sign(&message(size, root, time))?;
    Ok(TreeHead {
        size,
        root: hex::encode(root),
        time: time.to_string(),
        key: key_fingerprint(signer.public_key())?,
        algorithm: hex::encode(
            signer
                .algorithm()
                .algorithm_identifier()
                .to_der()
                .map_err(|e| AuditError::Encoding(e.to_string()))?,
        ),
        signature: hex::encode(signature),
    })
}

/// Check a tree head's signature with the log's public key.
pub fn verify_tree_head(
    head: &TreeHead,
    key: &SubjectPublicKeyInfoOwned,
) -> Result<(), AuditError> {
    let bad = |why: &str| AuditError::BadSignature(why.to_string());
    if head.key != key_fingerprint(key)? {
        return Err(bad("signed by another key"));
    }
    let root: Hash = hex::decode(&head.root)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("malformed root hash"))?;
    let algorithm = hex::decode(&head.algorithm)
        .ok()
        .and_then(|d| AlgorithmIdentifierOwned::from_der(&d).ok())
        .ok_or_else(|| bad("malformed algorithm"))?;
    let signature = hex::decode(&head.signature).map_err(|_| bad("malformed signature"))?;
    verify_signature(
        key,
        &algorithm,
        &message(head.size, &root, &head.time),
        &signature,
    )
    .map_err(|e| AuditError::BadSignature(e.to_string()))
}
