//! `kyso sign FILE.pdf`: PAdES signatures (B-B, B-T, B-LT, B-LTA) by incremental
//! update, with the Decree 30 appearances; and `kyso extend`, which raises a signed
//! PDF to B-LT (revocation data in the DSS) or B-LTA (plus a document time-stamp).
//!
//! The network is used here only: time-stamps from `--tsa`, CRLs from the
//! certificates' distribution points and OCSP responses from their responders, all
//! through `kyso_net`. The `kyso-pades` crate does the PDF work without I/O.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use der::Decode;
use kyso_cades::tsp;
use kyso_pades::sign::{
    self as pades, CopyForm, DocumentTimestampOptions, InfoLine, PdfSignRequest, Placement, Role,
    ValidationData,
};
use kyso_signer::DigestAlgorithm;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::args::{CopyFormArg, ExtendArgs, ExtendLevel, PadesLevel, RoleArg, SignArgs};
use crate::signing::Identity;
use crate::store;

/// Whether `path` is a PDF: by extension, else by its `%PDF-` header.
pub(crate) fn is_pdf(path: &Path) -> bool {
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    {
        return true;
    }
    let mut head = [0u8; 5];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"%PDF-"
}

/// Read a file into a buffer with room for the updates we append (no reallocation,
/// so a large PDF is held once).
fn read_pdf(path: &Path) -> Result<Vec<u8>> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut buf = Vec::with_capacity(len + (4 << 20));
    f.read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(buf)
}

/// `doc.pdf` → `doc.signed.pdf`.
fn default_out(input: &Path) -> PathBuf {
    let stem = match input.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("pdf") => input.with_extension(""),
        _ => input.to_path_buf(),
    };
    PathBuf::from(format!("{}.signed.pdf", stem.display()))
}

fn parse_rect(s: &str) -> Result<pades::Rect> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--rect {s:?}: expected x0,y0,x1,y1 in points"))?;
    let [x0, y0, x1, y1] = v[..] else {
        bail!("--rect {s:?}: expected four numbers x0,y0,x1,y1 (points, origin bottom-left)");
    };
    Ok([x0, y0, x1, y1])
}

/// A time-stamp callback posting RFC 3161 requests to `url`.
fn timestamper<'a>(
    net: &'a kyso_net::Client,
    url: &'a str,
) -> impl FnMut(DigestAlgorithm, &[u8]) -> Result<Vec<u8>, String> + 'a {
    move |alg, imprint| {
        let nonce: u64 = rand::random::<u64>() >> 1;
        let req = tsp::request(alg, imprint, Some(nonce), true).map_err(|e| e.to_string())?;
        let resp = net
            .post(url, "application/timestamp-query", &req)
            .map_err(|e| format!("time-stamp authority {url} did not answer: {e}"))?;
        tsp::token_from_response(&resp, imprint, Some(nonce)).map_err(|e| e.to_string())
    }
}

fn level_name(level: PadesLevel) -> &'static str {
    match level {
        PadesLevel::BB => "B-B",
        PadesLevel::BT => "B-T",
        PadesLevel::BLt => "B-LT",
        PadesLevel::BLta => "B-LTA",
    }
}

/// `kyso sign FILE.pdf …`.
pub(crate) fn sign(identity: &Identity, a: &SignArgs, net: &kyso_net::Client) -> Result<ExitCode> {
    if a.cosign.is_some() {
        bail!(
            "--cosign is for detached .p7s signatures; to add a signature to a PDF, sign the signed PDF again"
        );
    }
    let level = a.level.unwrap_or(if a.tsa.is_some() {
        PadesLevel::BT
    } else {
        PadesLevel::BB
    });
    let tsa = a.tsa.as_deref();
    if level != PadesLevel::BB && tsa.is_none() {
        bail!(
            "PAdES {} needs a time-stamp authority: give --tsa URL",
            level_name(level)
        );
    }
    let out = a.out.clone().unwrap_or_else(|| default_out(&a.file));
    let input_abs =
        fs::canonicalize(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    if fs::canonicalize(&out).ok().as_deref() == Some(input_abs.as_path()) {
        bail!("the output {} would overwrite the input", out.display());
    }
    if out.exists() && !a.force {
        bail!("{} exists; use --force to replace it", out.display());
    }
    let mut pdf = read_pdf(&a.file)?;
    let image = match &a.image {
        Some(p) => Some(fs::read(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let role = match a.role {
        Some(RoleArg::Leader) => Role::Leader,
        Some(RoleArg::Seal) => Role::Seal,
        Some(RoleArg::Attachment) => Role::Attachment,
        Some(RoleArg::Copy) => Role::Copy,
        Some(RoleArg::Invisible) => Role::Invisible,
        None if image.is_some() => Role::Leader,
        None => Role::Invisible,
    };
    if image.is_some() && !matches!(role, Role::Leader | Role::Seal) {
        bail!("--image is for --role leader or seal");
    }
    let copy_form = a.copy_form.map(|f| match f {
        CopyFormArg::SaoY => CopyForm::SaoY,
        CopyFormArg::SaoLuc => CopyForm::SaoLuc,
        CopyFormArg::TrichSao => CopyForm::TrichSao,
    });
    // The copying agency defaults to the certificate's organisation (or common name).
    let agency = a.agency.clone().or_else(|| {
        (role == Role::Copy).then(|| {
            let s = kyso_pki::ca::SubjectName::from_name(
                identity.certificate().tbs_certificate().subject(),
            );
            s.organization.unwrap_or(s.common_name)
        })
    });
    let signing_time = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let chain = &identity.chain[1..];
    let request = PdfSignRequest {
        chain,
        role,
        image: image.as_deref(),
        placement: Placement {
            page: a.page,
            rect: a.rect.as_deref().map(parse_rect).transpose()?,
            anchor: a.anchor.clone(),
        },
        info: InfoLine {
            notation: a.notation.clone(),
            copy_form,
            agency,
            format: a.info_format.clone(),
        },
        reason: a.reason.clone(),
        location: a.location.clone(),
        timestamp: level != PadesLevel::BB,
        ..PdfSignRequest::new(identity.certificate(), signing_time)
    };
    let signed = match tsa {
        Some(url) if level != PadesLevel::BB => {
            let mut ts = timestamper(net, url);
            pades::sign(&pdf, identity.key.as_ref(), &request, Some(&mut ts))?
        }
        _ => pades::sign(&pdf, identity.key.as_ref(), &request, None)?,
    };
    pdf.extend_from_slice(&signed.update);
    let mut notes = Vec::new();
    if matches!(level, PadesLevel::BLt | PadesLevel::BLta) {
        let ltv = add_validation_data(&mut pdf, net)?;
        notes.extend(ltv);
    }
    if level == PadesLevel::BLta
        && let Some(url) = tsa
    {
        add_document_timestamp(&mut pdf, net, url)?;
    }
    store::write_atomic(&out, &pdf, false)?;
    for n in &notes {
        eprintln!("kyso: lưu ý / note: {n}");
    }
    let p = &signed.placed;
    println!(
        "Đã ký / signed: {} → {}\n  người ký / signer: {}\n  thời điểm / time: {}\n  mức / level: PAdES {}\n  trường / field: {} (trang / page {}{})",
        a.file.display(),
        out.display(),
        identity.certificate().tbs_certificate().subject(),
        pades::vietnam_iso8601(signing_time),
        level_name(level),
        p.field_name,
        p.page,
        if p.rect == [0.0; 4] {
            ", không hiển thị / invisible".to_string()
        } else {
            format!(
                ", [{:.1} {:.1} {:.1} {:.1}]",
                p.rect[0], p.rect[1], p.rect[2], p.rect[3]
            )
        }
    );
    if let Some(text) = &p.info_text {
        println!("  dòng thông tin / info line: {text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `kyso extend FILE.pdf --level b-lt|b-lta`.
pub(crate) fn extend(a: &ExtendArgs, net: &kyso_net::Client) -> Result<ExitCode> {
    let out = a.out.clone().unwrap_or_else(|| a.file.clone());
    if out.exists() && out != a.file && !a.force {
        bail!("{} exists; use --force to replace it", out.display());
    }
    let mut pdf = read_pdf(&a.file)?;
    let signatures = pades::embedded_signatures(&pdf)?;
    if signatures.iter().all(|s| s.is_document_timestamp) {
        bail!("{} has no signatures to extend", a.file.display());
    }
    if a.level == ExtendLevel::BLt {
        let untimestamped: Vec<&str> = signatures
            .iter()
            .filter(|s| !s.is_document_timestamp && s.timestamp_tokens.is_empty())
            .map(|s| s.field_name.as_str())
            .collect();
        let has_doc_ts = signatures.iter().any(|s| s.is_document_timestamp);
        if !untimestamped.is_empty() && !has_doc_ts {
            bail!(
                "signature(s) {} have no signature time-stamp (B-B), and B-LT builds on B-T; use --level b-lta, which adds a document time-stamp",
                untimestamped.join(", ")
            );
        }
    }
    if a.level == ExtendLevel::BLta && a.tsa.is_none() {
        bail!("B-LTA needs a time-stamp authority: give --tsa URL");
    }
    let notes = add_validation_data(&mut pdf, net)?;
    if a.level == ExtendLevel::BLta
        && let Some(url) = &a.tsa
    {
        add_document_timestamp(&mut pdf, net, url)?;
    }
    store::write_atomic(&out, &pdf, false)?;
    for n in &notes {
        eprintln!("kyso: lưu ý / note: {n}");
    }
    println!(
        "Đã nâng mức / extended: {} → {} (PAdES {}, {} chữ ký / signatures)",
        a.file.display(),
        out.display(),
        match a.level {
            ExtendLevel::BLt => "B-LT",
            ExtendLevel::BLta => "B-LTA",
        },
        signatures
            .iter()
            .filter(|s| !s.is_document_timestamp)
            .count()
    );
    Ok(ExitCode::SUCCESS)
}

fn add_document_timestamp(pdf: &mut Vec<u8>, net: &kyso_net::Client, url: &str) -> Result<()> {
    let mut ts = timestamper(net, url);
    let update = pades::timestamp_document(pdf, &DocumentTimestampOptions::default(), &mut ts)?;
    pdf.extend_from_slice(&update);
    Ok(())
}

/// Fetch revocation data for every certificate of every signature and time-stamp in
/// the file and add a DSS. Each certificate that names a CRL distribution point or an
/// OCSP responder must get at least one answer; returns notes for those that name
/// neither.
fn add_validation_data(pdf: &mut Vec<u8>, net: &kyso_net::Client) -> Result<Vec<String>> {
    let signatures = pades::embedded_signatures(pdf)?;
    let mut cert_ders: Vec<Vec<u8>> = Vec::new();
    for s in &signatures {
        for c in &s.certificates {
            if !cert_ders.contains(c) {
                cert_ders.push(c.clone());
            }
        }
    }
    let certs: Vec<Certificate> = cert_ders
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut data = ValidationData {
        certificates: cert_ders,
        ..ValidationData::default()
    };
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    let mut fetched: Vec<(String, bool)> = Vec::new();
    for cert in &certs {
        let tbs = cert.tbs_certificate();
        if tbs.issuer() == tbs.subject() {
            continue; // a root: trusted as an anchor, no revocation data
        }
        let subject = tbs.subject().to_string();
        let crl_urls = kyso_pki::locations::crl_urls(cert);
        let ocsp_urls = kyso_pki::locations::ocsp_urls(cert);
        if crl_urls.is_empty() && ocsp_urls.is_empty() {
            notes.push(format!(
                "{subject}: the certificate names no CRL or OCSP location; no revocation data embedded"
            ));
            continue;
        }
        let mut ok = false;
        let mut errors = Vec::new();
        for url in &crl_urls {
            if let Some((_, good)) = fetched.iter().find(|(u, _)| u == url) {
                ok |= *good;
                continue;
            }
            match net.get(url) {
                Ok(crl) if is_crl(&crl) => {
                    if !data.crls.contains(&crl) {
                        data.crls.push(crl);
                    }
                    fetched.push((url.clone(), true));
                    ok = true;
                }
                Ok(_) => {
                    errors.push(format!("{url}: not a DER CRL"));
                    fetched.push((url.clone(), false));
                }
                Err(e) => {
                    errors.push(e.to_string());
                    fetched.push((url.clone(), false));
                }
            }
        }
        if let Some(issuer) = certs
            .iter()
            .find(|i| *i != cert && kyso_pki::locations::is_issuer_of(i, cert))
        {
            for url in &ocsp_urls {
                let Ok(request) = kyso_pki::locations::ocsp_request(cert, issuer) else {
                    continue;
                };
                match net.post(url, "application/ocsp-request", &request) {
                    Ok(resp) if ocsp_successful(&resp) => {
                        if !data.ocsps.contains(&resp) {
                            data.ocsps.push(resp);
                        }
                        ok = true;
                    }
                    Ok(_) => {
                        errors.push(format!("{url}: OCSP responder did not answer successfully"))
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        if !ok {
            failures.push(format!("{subject}: {}", errors.join("; ")));
        }
    }
    if !failures.is_empty() {
        bail!(
            "could not obtain revocation data for B-LT:\n  {}",
            failures.join("\n  ")
        );
    }
    let update = pades::add_validation_data(pdf, &data)?;
    pdf.extend_from_slice(&update);
    Ok(notes)
}

fn is_crl(der: &[u8]) -> bool {
    let parsed: Result<x509_cert::crl::CertificateList, _> = Decode::from_der(der);
    parsed.is_ok()
}

/// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, … }` with status 0
/// (successful) and a response body.
fn ocsp_successful(der: &[u8]) -> bool {
    // 30 len 0A 01 00 A0 …
    let body = match der {
        [0x30, l, rest @ ..] if *l < 0x80 => rest,
        [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, 0x82, _, _, rest @ ..] => rest,
        [0x30, 0x83, _, _, _, rest @ ..] => rest,
        _ => return false,
    };
    body.starts_with(&[0x0a, 0x01, 0x00, 0xa0])
}
