//! Candidate path building: depth-first search from the end entity through the untrusted
//! intermediates to a trust anchor, by name chaining, preferring issuers whose subject key
//! identifier matches the child's authority key identifier.
//!
//! Nothing is verified here; every candidate is validated afterwards and the first valid
//! one wins, so a wrong guess costs time, never correctness.

use certval::{ExtensionProcessing, PDVCertificate, PDVExtension, compare_names};
use const_oid::db::rfc5280::{ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_SUBJECT_KEY_IDENTIFIER};
use der::Decode;
use x509_cert::Certificate;

use super::Anchor;

/// At most this many intermediates in a path.
const MAX_DEPTH: usize = 10;
/// At most this many candidate paths are tried.
const MAX_CANDIDATES: usize = 32;

/// The usable intermediates, parsed once.
pub(super) struct Pool {
    pub(super) certs: Vec<PoolCert>,
}

/// One intermediate.
pub(super) struct PoolCert {
    pub(super) der: Vec<u8>,
    pub(super) pdv: PDVCertificate,
    pub(super) cert: Certificate,
}

impl Pool {
    /// Parse `intermediates`, dropping unparseable ones, duplicates and copies of trust
    /// anchors.
    pub(super) fn new(intermediates: &[Vec<u8>], anchors: &[Anchor]) -> Self {
        let mut certs: Vec<PoolCert> = Vec::new();
        for der in intermediates {
            if anchors.iter().any(|a| a.der == *der) || certs.iter().any(|c| c.der == *der) {
                continue;
            }
            let (Ok(pdv), Ok(cert)) = (
                PDVCertificate::try_from(der.as_slice()),
                Certificate::from_der(der),
            ) else {
                continue;
            };
            certs.push(PoolCert {
                der: der.clone(),
                pdv,
                cert,
            });
        }
        Self { certs }
    }
}

/// A candidate path: `chain` lists pool indices from the end entity's issuer upwards; the
/// last one (or the end entity, if `chain` is empty) is issued by `anchors[anchor]`.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) anchor: usize,
    pub(super) chain: Vec<usize>,
}

/// All candidate paths, most plausible first (shorter paths and key-identifier matches
/// first at each level).
pub(super) fn candidate_paths(
    ee: &PDVCertificate,
    ee_der: &[u8],
    pool: &Pool,
    anchors: &[Anchor],
) -> Vec<Candidate> {
    let mut out = Vec::new();
    // The end entity never appears again as its own ancestor.
    let mut chain: Vec<usize> = Vec::new();
    let excluded: Vec<usize> = pool
        .certs
        .iter()
        .enumerate()
        .filter(|(_, c)| c.der == ee_der)
        .map(|(i, _)| i)
        .collect();
    extend(ee, pool, anchors, &excluded, &mut chain, &mut out);
    out
}

fn extend(
    cert: &PDVCertificate,
    pool: &Pool,
    anchors: &[Anchor],
    excluded: &[usize],
    chain: &mut Vec<usize>,
    out: &mut Vec<Candidate>,
) {
    let issuer = cert.decoded().tbs_certificate().issuer();
    let aki = authority_key_id(cert);

    let mut tas: Vec<(u8, usize)> = anchors
        .iter()
        .enumerate()
        .filter(|(_, a)| compare_names(a.cert.decoded().tbs_certificate().subject(), issuer))
        .map(|(i, a)| (key_id_rank(aki, &a.cert), i))
        .collect();
    tas.sort();
    for (_, anchor) in tas {
        if out.len() >= MAX_CANDIDATES {
            return;
        }
        out.push(Candidate {
            anchor,
            chain: chain.clone(),
        });
    }

    if chain.len() >= MAX_DEPTH {
        return;
    }
    let mut cas: Vec<(u8, usize)> = pool
        .certs
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !chain.contains(i)
                && !excluded.contains(i)
                && compare_names(c.pdv.decoded().tbs_certificate().subject(), issuer)
        })
        .map(|(i, c)| (key_id_rank(aki, &c.pdv), i))
        .collect();
    cas.sort();
    for (_, next) in cas {
        if out.len() >= MAX_CANDIDATES {
            return;
        }
        chain.push(next);
        extend(&pool.certs[next].pdv, pool, anchors, excluded, chain, out);
        chain.pop();
    }
}

/// 0: key identifiers match, 1: cannot tell, 2: they differ.
fn key_id_rank(aki: Option<&[u8]>, issuer: &PDVCertificate) -> u8 {
    match (aki, subject_key_id(issuer)) {
        (Some(a), Some(s)) if a == s => 0,
        (Some(_), Some(_)) => 2,
        _ => 1,
    }
}

fn authority_key_id(cert: &PDVCertificate) -> Option<&[u8]> {
    match cert.get_extension(&ID_CE_AUTHORITY_KEY_IDENTIFIER) {
        Ok(Some(PDVExtension::AuthorityKeyIdentifier(aki))) => {
            aki.key_identifier.as_ref().map(|k| k.as_bytes())
        }
        _ => None,
    }
}

fn subject_key_id(cert: &PDVCertificate) -> Option<&[u8]> {
    match cert.get_extension(&ID_CE_SUBJECT_KEY_IDENTIFIER) {
        Ok(Some(PDVExtension::SubjectKeyIdentifier(ski))) => Some(ski.0.as_bytes()),
        _ => None,
    }
}
