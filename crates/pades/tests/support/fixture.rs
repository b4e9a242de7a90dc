//! Shared fixture of the verifier's tests: the test PKI, its CRL/TSA server on loopback
//! and pyHanko as the reference signer come from `kyso-testkit` (shared with the other
//! crates' tests); this file adds pyHanko as the reference validator and kyso's verifier.
//!
//! pyHanko: `KYSO_PYHANKO` / `KYSO_PYTHON`, else `<workspace>/.venv/bin/…` (made by
//! `scripts/test.sh`). A missing peer fails the test with a message; it never skips.

#![allow(dead_code, unused_imports)]

pub(crate) use kyso_testkit::pki::{
    Fixture, Who, certify_bytes, check, fixture, pyhanko, python, run, sign_bytes, sign_with,
};
pub(crate) use kyso_testkit::{document, workspace};

use std::sync::OnceLock;

use kyso_pades::verify::{PdfReport, Policy, VerifyOptions};
use kyso_pki::path::RevocationMode;
use kyso_signer::{Signer, SoftKey};
use time::OffsetDateTime;
use x509_cert::Certificate;

/// pyHanko's executive summary per field: `(field, bottom line)`, e.g. `("Sig1",
/// "VALID")`, trusting the test root, without revocation checks.
pub(crate) fn pyhanko_validate(pdf: &[u8]) -> Vec<(String, String)> {
    pyhanko_validate_with(pdf, &[])
}

/// [`pyhanko_validate`] with extra options (e.g. `--no-strict-syntax`).
pub(crate) fn pyhanko_validate_with(pdf: &[u8], extra: &[&str]) -> Vec<(String, String)> {
    let f = fixture();
    let dir = tempfile::tempdir_in(f.dir.path()).unwrap();
    let p = dir.path().join("v.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = run(pyhanko()
        .args(["sign", "validate", "--executive-summary"])
        .args(extra)
        .arg("--trust")
        .arg(&f.root_pem)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&p));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(':');
            let field = parts.next()?.to_string();
            let _hash = parts.next()?;
            let verdict = parts.collect::<Vec<_>>().join(":");
            (!verdict.is_empty()).then_some((field, verdict))
        })
        .collect();
    lines
}

/// `pyhanko sign adesverify --pretty-print` (LTV validation with the DSS and document
/// time-stamps), trusting the test root; the text and whether it exited 0.
pub(crate) fn pyhanko_adesverify(pdf: &[u8]) -> (String, bool) {
    let f = fixture();
    let dir = tempfile::tempdir_in(f.dir.path()).unwrap();
    let p = dir.path().join("v.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = run(pyhanko()
        .args(["sign", "adesverify", "--pretty-print", "--trust"])
        .arg(&f.root_pem)
        .arg("--trust-replace")
        .arg(&p));
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.success(),
    )
}

// ---------------------------------------------------------------------------------
// kyso
// ---------------------------------------------------------------------------------

/// Verify with the test root, without revocation checks, kyso's default policy.
pub(crate) fn verify(pdf: &[u8]) -> PdfReport {
    verify_with(pdf, RevocationMode::Skip, Policy::default())
}

pub(crate) fn verify_with(pdf: &[u8], revocation: RevocationMode, policy: Policy) -> PdfReport {
    verify_full(pdf, revocation, policy, &[])
}

/// [`verify`], returning the error instead of panicking on it.
pub(crate) fn verify_result(pdf: &[u8]) -> Result<PdfReport, kyso_pades::verify::PdfError> {
    try_verify(pdf, RevocationMode::Skip, Policy::default(), &[], None)
}

/// Verify with extra CRLs (as `kyso verify` would fetch them).
pub(crate) fn verify_full(
    pdf: &[u8],
    revocation: RevocationMode,
    policy: Policy,
    crls: &[Vec<u8>],
) -> PdfReport {
    try_verify(pdf, revocation, policy, crls, None).unwrap()
}

/// The one place the tests build `VerifyOptions`: the test root as the only anchor,
/// validation now, `password` for encrypted files (`None`: the empty password).
pub(crate) fn try_verify(
    pdf: &[u8],
    revocation: RevocationMode,
    policy: Policy,
    crls: &[Vec<u8>],
    password: Option<&str>,
) -> Result<PdfReport, kyso_pades::verify::PdfError> {
    let f = fixture();
    let anchors = f.anchors();
    let options = VerifyOptions {
        cades: kyso_cades::VerifyOptions {
            anchors: &anchors,
            extra_certificates: &[],
            extra_crls: crls,
            extra_ocsp: &[],
            validation_time: OffsetDateTime::now_utc(),
            revocation,
            limits: kyso_cades::Limits::default(),
        },
        limits: kyso_pades::verify::Limits::default(),
        policy,
        password,
    };
    kyso_pades::verify::verify(pdf, &options)
}

/// Every reason code in a report: document level, per signature, per modification.
pub(crate) fn codes(r: &PdfReport) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = r.reasons.iter().map(|x| x.code).collect();
    for s in &r.signatures {
        out.extend(s.cms.reasons.iter().map(|x| x.code));
        for m in &s.modifications {
            out.extend(m.details.iter().map(|x| x.code));
        }
    }
    out.extend(r.warnings.iter().map(|x| x.code));
    out
}

// ---------------------------------------------------------------------------------
// Signed base documents (made once per test binary)
// ---------------------------------------------------------------------------------

fn cached(cell: &'static OnceLock<Vec<u8>>, make: impl FnOnce() -> Vec<u8>) -> &'static [u8] {
    cell.get_or_init(make)
}

/// quyet-dinh.pdf (xref table) signed invisibly in field Sig1.
pub(crate) fn signed_table() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&C, || {
        sign_bytes(
            &std::fs::read(document("quyet-dinh.pdf")).unwrap(),
            "Sig1",
            Who::Leader,
            &[],
        )
    })
}

/// quyet-dinh-objstm.pdf (xref stream, object streams) signed invisibly.
pub(crate) fn signed_stream() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&C, || {
        sign_bytes(
            &std::fs::read(document("quyet-dinh-objstm.pdf")).unwrap(),
            "Sig1",
            Who::Leader,
            &[],
        )
    })
}

/// The signature area of quyet-dinh.pdf (page 1), from documents/README.md.
pub(crate) const SIGNATURE_AREA: [f64; 4] = [297.64, 142.49, 552.76, 221.86];
/// The "KT. GIÁM ĐỐC" line of quyet-dinh.pdf.
pub(crate) const AUTHORITY_LINE: [f64; 4] = [374.45, 238.99, 475.95, 251.49];
/// The signer's name line of quyet-dinh.pdf.
pub(crate) const NAME_LINE: [f64; 4] = [369.57, 126.59, 480.82, 139.09];

pub(crate) fn field_spec(name: &str, r: [f64; 4]) -> String {
    format!(
        "1/{},{},{},{}/{name}",
        r[0] as i64, r[1] as i64, r[2] as i64, r[3] as i64
    )
}

/// quyet-dinh.pdf with a visible signature in the signature area.
pub(crate) fn signed_visible() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    cached(&C, || {
        sign_bytes(
            &std::fs::read(document("quyet-dinh.pdf")).unwrap(),
            &field_spec("Sig1", SIGNATURE_AREA),
            Who::Leader,
            &[],
        )
    })
}

/// quyet-dinh.pdf certified with DocMDP `p`.
pub(crate) fn certified(p: u8) -> &'static [u8] {
    static C: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    cached(&C[usize::from(p - 1)], || {
        certify_bytes(
            &std::fs::read(document("quyet-dinh.pdf")).unwrap(),
            "Cert",
            p,
        )
    })
}

/// The leader's key and certificate and the issuing CA, loaded from the fixture's PEM
/// files (for CMS made by the tests themselves).
pub(crate) fn leader() -> (SoftKey, Certificate, Certificate) {
    use der::DecodePem;
    let f = fixture();
    let key_pem = std::fs::read_to_string(&f.key_pem).unwrap();
    let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
    let key = SoftKey::from_pkcs8_der(&key_der, None).unwrap();
    let cert = Certificate::from_pem(std::fs::read(&f.cert_pem).unwrap()).unwrap();
    let sub = Certificate::from_pem(std::fs::read(&f.chain_pem).unwrap()).unwrap();
    (key, cert, sub)
}

/// A CAdES signature by the leader over `segments` (detached), or encapsulating them.
pub(crate) fn cms_over(segments: &[&[u8]], encapsulate: bool) -> Vec<u8> {
    let (key, cert, sub) = leader();
    let mut h = key.algorithm().digest().hasher();
    for s in segments {
        h.update(s);
    }
    let digest = h.finish();
    let content = segments.concat();
    kyso_cades::sign(
        &key,
        &kyso_cades::SignRequest {
            message_digest: &digest,
            signer_certificate: &cert,
            chain: std::slice::from_ref(&sub),
            signing_time: Some(OffsetDateTime::now_utc()),
            content_type: None,
            crls: &[],
            encapsulated: encapsulate.then_some(content.as_slice()),
        },
    )
    .unwrap()
}
