//! The built-in Vietnamese trust list: the public roots in the repository's `trust/vn/`
//! (see its README for provenance and fingerprints), compiled in so that `kyso verify`
//! recognises documents signed under any licensed public CA or the Government Cipher
//! Committee's PKI out of the box.
//!
//! Two "MIC National Root CA" certificates share a name (key rollover, attributes in a
//! different order) and differ in keys; both are loaded and path building tries both,
//! key identifiers first. Several are SHA-1 self-signed: a trust anchor's own signature
//! is not checked (the anchor is trusted as such), so that is no finding.
//!
//! The list is updatable without a release: `kyso verify --trust-list FILE` loads
//! another PEM bundle instead, `kyso trust add` adds roots to the local store.

use der::Decode;
use x509_cert::Certificate;

use crate::path::{PathError, TrustAnchors};

/// The name the built-in list is reported under.
pub const VIETNAM: &str = "vn";

/// One built-in root: its file name in `trust/vn/` and its PEM text.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinRoot {
    /// File name in the repository's `trust/vn/`.
    pub file: &'static str,
    /// PEM certificate.
    pub pem: &'static str,
}

/// The Vietnamese roots, from the repository's `trust/vn/`.
pub const VIETNAM_ROOTS: &[BuiltinRoot] = &[
    BuiltinRoot {
        file: "mic-national-root-ca-b703d458.pem",
        pem: include_str!("../../../trust/vn/mic-national-root-ca-b703d458.pem"),
    },
    BuiltinRoot {
        file: "mic-national-root-ca-ca918d63.pem",
        pem: include_str!("../../../trust/vn/mic-national-root-ca-ca918d63.pem"),
    },
    BuiltinRoot {
        file: "vgca-ca-phuc-vu-co-quan-nha-nuoc-g2.pem",
        pem: include_str!("../../../trust/vn/vgca-ca-phuc-vu-co-quan-nha-nuoc-g2.pem"),
    },
    BuiltinRoot {
        file: "vgca-rootca-chuyen-dung-chinh-phu-g2.pem",
        pem: include_str!("../../../trust/vn/vgca-rootca-chuyen-dung-chinh-phu-g2.pem"),
    },
    BuiltinRoot {
        file: "vietnam-national-root-ca.pem",
        pem: include_str!("../../../trust/vn/vietnam-national-root-ca.pem"),
    },
];

/// Every certificate (DER) of a PEM bundle; text outside `CERTIFICATE` blocks is
/// ignored.
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, PathError> {
    let invalid = |reason: String| PathError::InvalidCertificate {
        what: "trust list certificate",
        reason,
    };
    let mut out = Vec::new();
    for cert in Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| invalid(e.to_string()))? {
        out.push(der::Encode::to_der(&cert).map_err(|e| invalid(e.to_string()))?);
    }
    Ok(out)
}

/// Add every certificate of a PEM bundle to `anchors` under `source`; returns how many.
pub fn add_pem(anchors: &mut TrustAnchors, pem: &str, source: &str) -> Result<usize, PathError> {
    let certs = pem_certificates(pem)?;
    for der in &certs {
        anchors.add_der_from(der, source)?;
    }
    Ok(certs.len())
}

/// Add the built-in Vietnamese roots to `anchors` (source [`VIETNAM`]); returns how many.
pub fn add_vietnam(anchors: &mut TrustAnchors) -> Result<usize, PathError> {
    let mut n = 0;
    for root in VIETNAM_ROOTS {
        n += add_pem(anchors, root.pem, VIETNAM)?;
    }
    Ok(n)
}

/// The built-in Vietnamese roots, parsed.
pub fn vietnam_certificates() -> Result<Vec<Certificate>, PathError> {
    let mut out = Vec::new();
    for root in VIETNAM_ROOTS {
        for der in pem_certificates(root.pem)? {
            out.push(
                Certificate::from_der(&der).map_err(|e| PathError::InvalidCertificate {
                    what: "trust list certificate",
                    reason: e.to_string(),
                })?,
            );
        }
    }
    Ok(out)
}
