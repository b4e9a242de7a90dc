//! Certificates and trust anchors from files: PEM (one or more blocks) or DER.

use std::fs;
use std::path::{Path, PathBuf};

use der::{Decode, Encode};
use kyso_pki::path::TrustAnchors;
use x509_cert::Certificate;

use crate::error::{AppError, AppResult};

fn bad(what: String) -> AppError {
    let (vi, en) = crate::error::split_bilingual(&what);
    AppError::invalid("certificate_file", vi, en)
}

/// DER bytes of every PEM block with `label`.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start..];
        let Some(stop) = after.find(&end) else { break };
        let block = &after[..stop + end.len()];
        if let Ok((_, der)) = der::pem::decode_vec(block.as_bytes()) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// Certificates of a PEM (one or more) or single-DER file's bytes.
pub fn parse_certificates(bytes: &[u8]) -> AppResult<Vec<Certificate>> {
    if bytes.starts_with(b"-----") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| bad("tệp PEM không phải UTF-8 / the PEM file is not UTF-8".into()))?;
        let mut out = Vec::new();
        for block in pem_blocks(text, "CERTIFICATE") {
            out.push(Certificate::from_der(&block).map_err(|e| {
                bad(format!(
                    "chứng thư trong PEM bị hỏng / malformed certificate in PEM: {e}"
                ))
            })?);
        }
        if out.is_empty() {
            return Err(bad(
                "không có khối CERTIFICATE / no CERTIFICATE block".into()
            ));
        }
        Ok(out)
    } else {
        Ok(vec![Certificate::from_der(bytes).map_err(|e| {
            bad(format!(
                "không phải chứng thư DER / not a DER certificate: {e}"
            ))
        })?])
    }
}

/// Certificates of a file.
pub fn read_certificates(path: &Path) -> AppResult<Vec<Certificate>> {
    let bytes = fs::read(path).map_err(|e| {
        bad(format!(
            "không đọc được {0} / cannot read {0}: {e}",
            path.display()
        ))
    })?;
    parse_certificates(&bytes).map_err(|e| {
        bad(format!(
            "{0} không chứa chứng thư đọc được / {0} holds no readable certificate: {1}",
            path.display(),
            e.en
        ))
    })
}

/// Trust anchors from files or directories of PEM/DER certificates (`.pem`, `.crt`,
/// `.cer`, `.der`); also returns how many were added.
pub fn load_anchors(paths: &[PathBuf]) -> AppResult<(TrustAnchors, usize)> {
    let mut anchors = TrustAnchors::new();
    let mut count = 0;
    for p in paths {
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut v: Vec<PathBuf> = fs::read_dir(p)
                .map_err(|e| {
                    bad(format!(
                        "không đọc được thư mục tin cậy {0} / cannot read trust directory {0}: {e}",
                        p.display()
                    ))
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "pem" | "crt" | "cer" | "der"))
                })
                .collect();
            v.sort();
            v
        } else {
            vec![p.clone()]
        };
        for f in files {
            for cert in read_certificates(&f)? {
                let der = cert
                    .to_der()
                    .map_err(|e| AppError::internal(format!("cannot encode a certificate: {e}")))?;
                anchors
                    .add_der_from(&der, &f.display().to_string())
                    .map_err(|e| {
                        bad(format!(
                            "{0} không dùng được làm chứng thư gốc / {0} is not a usable trust anchor: {e}",
                            f.display()
                        ))
                    })?;
                count += 1;
            }
        }
    }
    Ok((anchors, count))
}

/// The anchors of a trust list name: `vn` (built in), `none`, or a PEM file.
pub fn add_trust_list(anchors: &mut TrustAnchors, list: &str) -> AppResult<()> {
    match list {
        "none" => {}
        "vn" => {
            kyso_pki::trust_list::add_vietnam(anchors).map_err(|e| {
                AppError::internal(format!(
                    "the built-in Vietnamese trust list does not load: {e}"
                ))
            })?;
        }
        file => {
            let path = Path::new(file);
            let text = fs::read_to_string(path).map_err(|e| {
                bad(format!(
                    "không đọc được danh sách tin cậy {0} / cannot read trust list {0}: {e}",
                    path.display()
                ))
            })?;
            let n = kyso_pki::trust_list::add_pem(anchors, &text, file).map_err(|e| {
                bad(format!(
                    "danh sách tin cậy {0} không dùng được / trust list {0} is not usable: {e}",
                    path.display()
                ))
            })?;
            if n == 0 {
                return Err(bad(format!(
                    "danh sách tin cậy {0} không có chứng thư PEM nào / trust list {0} holds no PEM certificate (use vn, none or a PEM file)",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Completes a chain up to a self-issued certificate by following the AIA caIssuers
/// locations (tokens often hold only the signer's certificate), so that a verifier
/// holding only the root can build the path. Returns warnings.
pub fn complete_chain(chain: &mut Vec<Certificate>, fetcher: &dyn crate::Fetcher) -> Vec<String> {
    let mut warnings = Vec::new();
    for _ in 0..4 {
        let Some(last) = chain.last() else { break };
        if last.tbs_certificate().issuer() == last.tbs_certificate().subject() {
            break;
        }
        if chain
            .iter()
            .any(|c| kyso_pki::locations::is_issuer_of(c, last) && c != last)
        {
            break;
        }
        let mut found = None;
        for url in kyso_pki::locations::ca_issuers_urls(last) {
            match fetcher.get(&url) {
                Ok(bytes) => match parse_certificates(&bytes) {
                    Ok(certs) => {
                        found = certs
                            .into_iter()
                            .find(|c| kyso_pki::locations::is_issuer_of(c, last));
                        if found.is_some() {
                            break;
                        }
                    }
                    Err(e) => warnings.push(format!("{url}: {}", e.en)),
                },
                Err(e) => {
                    warnings.push(format!("could not fetch the issuer certificate {url}: {e}"))
                }
            }
        }
        match found {
            Some(c) => chain.push(c),
            None => break,
        }
    }
    warnings
}
