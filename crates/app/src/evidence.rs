//! Evidence records of archived originals (RFC 4998, docs/evidence.md): archived
//! documents stay verifiable after their signers' certificates expire.
//!
//! - **Capture** ([`App::verify_and_capture`]): when an original is archived, the
//!   verification on receipt runs through a [`Recording`] fetcher; the CRLs and OCSP
//!   responses exactly as fetched, with the certificates the signatures carry, become
//!   `material.json` ([`Material`]), written beside the original by the store's filing
//!   protocol; the document then waits for its evidence record.
//! - **Sealing** ([`App::seal_evidence`]): every waiting document is one data object, a
//!   group of parts (original, its `.p7s` if any, `material.json`), hashed with SHA-256
//!   streaming; one hash tree, **one** time-stamp from the TSA
//!   ([`kyso_cades::ers::build`]), one `evidence.ers` per document.
//! - **Verification** ([`verify_with_evidence`], [`App::verify_archived`]): the record
//!   at the validation time, then the signatures at the record's proof-of-existence
//!   time with the captured material only.
//! - **Renewal** ([`App::renew_evidence`]): time-stamp renewal before the last TSA
//!   certificate expires, hash-tree renewal to a stronger algorithm.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use kyso_audit::Outcome;
use kyso_cades::ers::{self, DataObject, ErsReport, PartDigests};
use kyso_cades::report::{Reason, Verdict, vietnam_time};
use kyso_office::Action;
use kyso_pki::path::RevocationMode;
use kyso_signer::DigestAlgorithm;
use kyso_store::{EVIDENCE_FILE, EvidenceRow, MATERIAL_FILE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::{AppError, AppResult, Kind};
use crate::ports::Fetcher;
use crate::verify::{Settings, Verification};
use crate::{Actor, App, AuditAction, AuditEvent};

/// The `format` of `material.json`.
pub const MATERIAL_FORMAT: &str = "kyso-validation-material/1";

/// The validation material captured when an original is archived (`material.json`):
/// base64 DER lists, as fetched / as carried by the signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// [`MATERIAL_FORMAT`].
    pub format: String,
    /// When the material was captured (RFC 3339, UTC).
    pub captured_at: String,
    /// Certificates (DER, base64): those the signatures (and their time-stamps) carry,
    /// and any fetched.
    pub certificates: Vec<String>,
    /// CRLs (DER, base64), exactly as fetched.
    pub crls: Vec<String>,
    /// OCSP responses (DER, base64), exactly as received.
    pub ocsp: Vec<String>,
}

fn decode_all(list: &[String]) -> Vec<Vec<u8>> {
    list.iter()
        .filter_map(|b| STANDARD.decode(b).ok())
        .collect()
}

impl Material {
    /// The file's text (pretty JSON, one final newline).
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads `material.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let m: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if m.format != MATERIAL_FORMAT {
            return Err(format!("unknown format {:?}", m.format));
        }
        Ok(m)
    }

    /// Certificates (DER).
    pub fn certificates_der(&self) -> Vec<Vec<u8>> {
        decode_all(&self.certificates)
    }

    /// CRLs (DER).
    pub fn crls_der(&self) -> Vec<Vec<u8>> {
        decode_all(&self.crls)
    }

    /// OCSP responses (DER).
    pub fn ocsp_der(&self) -> Vec<Vec<u8>> {
        decode_all(&self.ocsp)
    }

    fn add(list: &mut Vec<String>, der: &[u8]) {
        let b = STANDARD.encode(der);
        if !list.contains(&b) {
            list.push(b);
        }
    }
}

/// A fetcher that keeps what it fetched: CRLs and certificates got, OCSP responses
/// posted for (the capture of an original's validation material).
#[derive(Debug)]
pub struct Recording<'a> {
    inner: &'a dyn Fetcher,
    kept: Mutex<Material>,
}

impl<'a> Recording<'a> {
    /// Records what `inner` fetches.
    pub fn new(inner: &'a dyn Fetcher) -> Self {
        Self {
            inner,
            kept: Mutex::default(),
        }
    }

    /// What was fetched.
    pub fn material(&self) -> Material {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, f: impl FnOnce(&mut Material)) {
        f(&mut self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

impl Fetcher for Recording<'_> {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let bytes = self.inner.get(url)?;
        if x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&bytes)
            .is_ok()
        {
            self.keep(|m| Material::add(&mut m.crls, &bytes));
        } else if x509_cert::Certificate::from_der(&bytes).is_ok() {
            self.keep(|m| Material::add(&mut m.certificates, &bytes));
        }
        Ok(bytes)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        let bytes = self.inner.post(url, content_type, body)?;
        if content_type == "application/ocsp-request" {
            self.keep(|m| Material::add(&mut m.ocsp, &bytes));
        }
        Ok(bytes)
    }
}

/// The certificates every signature of `pdf` carries, each once, added to `out`.
fn pdf_certificates(pdf: &[u8], out: &mut Vec<Vec<u8>>) {
    if let Ok(signatures) = kyso_pades::sign::embedded_signatures(pdf) {
        for s in signatures {
            for c in s.certificates {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
}

/// Every certificate a CMS `SignedData` carries (DER).
fn cms_certificates(cms_der: &[u8], out: &mut Vec<Vec<u8>>) {
    use der::Encode;
    let Ok(ci) = cms::content_info::ContentInfo::from_der(cms_der) else {
        return;
    };
    let Ok(sd) = ci.content.decode_as::<cms::signed_data::SignedData>() else {
        return;
    };
    if let Some(set) = &sd.certificates {
        for c in set.0.iter() {
            if let cms::cert::CertificateChoices::Certificate(cert) = c
                && let Ok(der) = cert.to_der()
                && !out.contains(&der)
            {
                out.push(der);
            }
        }
    }
}

/// Digests of a file with several algorithms, in one streaming pass.
fn digest_file(path: &Path, algorithms: &[DigestAlgorithm]) -> std::io::Result<PartDigests> {
    let mut f = fs::File::open(path)?;
    let mut hashers: Vec<_> = algorithms.iter().map(|a| a.hasher()).collect();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for h in &mut hashers {
            h.update(&buf[..n]);
        }
    }
    Ok(PartDigests {
        digests: algorithms
            .iter()
            .copied()
            .zip(hashers.into_iter().map(|h| h.finish()))
            .collect(),
    })
}

fn unreadable(path: &Path, e: &dyn std::fmt::Display) -> AppError {
    AppError::invalid(
        "unreadable_file",
        format!("không đọc được {}: {e}", path.display()),
        format!("cannot read {}: {e}", path.display()),
    )
}

fn ers_error(e: &ers::ErsError) -> AppError {
    AppError::new(
        Kind::Invalid,
        "evidence_malformed",
        format!("bằng chứng lưu trữ không đọc được: {e}"),
        format!("the evidence record cannot be read: {e}"),
    )
}

/// `dd/mm/yyyy hh:mm (+07:00)`.
pub fn vietnam_clock(t: OffsetDateTime) -> String {
    let t = t.to_offset(crate::VIETNAM);
    format!(
        "{:02}/{:02}/{} {:02}:{:02} (+07:00)",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// The parts of an archived original, in the order its record was built with.
#[derive(Debug, Clone)]
pub struct Parts {
    /// The original.
    pub original: PathBuf,
    /// Its detached signature.
    pub signature: Option<PathBuf>,
    /// Its captured validation material.
    pub material: Option<PathBuf>,
}

impl Parts {
    fn paths(&self) -> Vec<&Path> {
        std::iter::once(self.original.as_path())
            .chain(self.signature.as_deref())
            .chain(self.material.as_deref())
            .collect()
    }

    fn digests(&self, algorithms: &[DigestAlgorithm]) -> AppResult<Vec<PartDigests>> {
        self.paths()
            .into_iter()
            .map(|p| digest_file(p, algorithms).map_err(|e| unreadable(p, &e)))
            .collect()
    }

    fn of(row: &EvidenceRow) -> AppResult<Self> {
        let original = row.record.original.as_ref().ok_or_else(|| {
            AppError::not_found(
                format!("văn bản {} chưa có bản gốc", row.id),
                format!("document {} has no original", row.id),
            )
        })?;
        // Originals archived before evidence records have no captured material.
        let material = row
            .material
            .as_ref()
            .map(|_| row.folder.join(MATERIAL_FILE));
        Ok(Self {
            original: row.folder.join(&original.document.name),
            signature: original
                .signature
                .as_ref()
                .map(|s| row.folder.join(&s.name)),
            material,
        })
    }
}

/// An RFC 3161 token from the TSA at `url` through `fetcher`.
fn timestamp_from(
    fetcher: &dyn Fetcher,
    url: &str,
    alg: DigestAlgorithm,
    imprint: &[u8],
) -> Result<Vec<u8>, String> {
    let nonce: u64 = rand::random::<u64>() >> 1;
    let req =
        kyso_cades::tsp::request(alg, imprint, Some(nonce), true).map_err(|e| e.to_string())?;
    let resp = fetcher
        .post(url, "application/timestamp-query", &req)
        .map_err(|e| format!("time-stamp authority {url} did not answer: {e}"))?;
    kyso_cades::tsp::token_from_response(&resp, imprint, Some(nonce)).map_err(|e| e.to_string())
}

fn first_time(record: &[u8]) -> Option<OffsetDateTime> {
    let parsed = ers::EvidenceRecord::parse(record, &ers::Limits::default()).ok()?;
    let token = parsed.tokens().ok()?.into_iter().next()?;
    Some(kyso_cades::tsp::parse_token(&token).ok()?.gen_time)
}

/// The outcome of sealing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sealing {
    /// Documents sealed now.
    pub sealed: Vec<i64>,
    /// Documents whose record was already in place (a run interrupted after writing
    /// it): marked sealed.
    pub repaired: Vec<i64>,
    /// The time-stamp's time (proof of existence) of the documents sealed now.
    pub time: Option<String>,
    /// Things to act on (`vi / en`): a time-stamp this installation cannot verify.
    pub warnings: Vec<String>,
}

/// The outcome of a renewal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Renewal {
    /// Documents whose record was renewed.
    pub renewed: Vec<i64>,
    /// `timestamp` or `hash_tree` (with the new algorithm).
    pub kind: String,
}

/// What [`verify_with_evidence`] found.
#[derive(Debug, Clone)]
pub struct EvidenceVerification {
    /// The final verdict key (`valid`, `invalid`, `indeterminate`, …).
    pub verdict: String,
    /// The evidence record's report, when there is one.
    pub evidence: Option<ErsReport>,
    /// The signatures' verification (at the proof-of-existence time when the record
    /// holds; at the validation time without a record); `None` when the record fails.
    pub signatures: Option<Verification>,
    /// Why (bilingual), the proof first.
    pub reasons: Vec<Reason>,
}

impl EvidenceVerification {
    /// The proof-of-existence time, when the record holds.
    pub fn proof_of_existence(&self) -> Option<OffsetDateTime> {
        self.evidence.as_ref().and_then(|e| e.proof_of_existence)
    }

    /// The one-line summary in Vietnamese.
    pub fn summary_vi(&self) -> String {
        let verdict = verdict_vi(&self.verdict);
        match self.proof_of_existence() {
            Some(t) if self.evidence_holds() && self.signatures_valid() => format!(
                "{verdict} — được chứng minh tồn tại lúc {} bởi bằng chứng lưu trữ",
                vietnam_clock(t)
            ),
            Some(t) if self.evidence_holds() => format!(
                "{verdict} (kiểm tra tại thời điểm {} mà bằng chứng lưu trữ chứng minh)",
                vietnam_clock(t)
            ),
            _ => verdict.to_string(),
        }
    }

    /// The one-line summary in English.
    pub fn summary_en(&self) -> String {
        match self.proof_of_existence() {
            Some(t) if self.evidence_holds() && self.signatures_valid() => format!(
                "{} — proven to exist at {} by the evidence record",
                self.verdict,
                vietnam_time(t)
            ),
            Some(t) if self.evidence_holds() => format!(
                "{} (verified as of {}, proven by the evidence record)",
                self.verdict,
                vietnam_time(t)
            ),
            _ => self.verdict.clone(),
        }
    }

    fn evidence_holds(&self) -> bool {
        self.evidence.as_ref().is_some_and(ErsReport::is_valid)
    }

    fn signatures_valid(&self) -> bool {
        matches!(self.verdict.as_str(), "valid" | "valid_with_changes")
    }

    /// JSON for `--json` and the API.
    pub fn to_json(&self) -> Value {
        let evidence = self.evidence.as_ref().map(|e| {
            json!({
                "verdict": verdict_key(e.verdict),
                "proof_of_existence": e.proof_of_existence.map(vietnam_time),
                "stamps": e.stamps.iter().map(|s| json!({
                    "chain": s.chain,
                    "stamp": s.stamp,
                    "time": s.time.map(vietnam_time),
                    "tsa": s.tsa,
                    "algorithm": s.algorithm.map(DigestAlgorithm::name),
                    "covers": s.covers,
                })).collect::<Vec<_>>(),
                "failures": e.failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "warnings": e.warnings,
            })
        });
        json!({
            "verdict": self.verdict,
            "summary": self.summary_vi(),
            "summary_en": self.summary_en(),
            "evidence": evidence,
            "signatures": self.signatures.as_ref().map(Verification::to_json),
            "reasons": self.reasons,
        })
    }
}

fn verdict_key(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "indeterminate".into())
}

fn verdict_vi(key: &str) -> &'static str {
    match key {
        "valid" => "hợp lệ",
        "valid_with_changes" => "hợp lệ (có thay đổi được phép)",
        "invalid" => "KHÔNG HỢP LỆ",
        "modified" => "ĐÃ BỊ SỬA ĐỔI",
        "unsigned" => "không có chữ ký",
        _ => "CHƯA XÁC ĐỊNH ĐƯỢC",
    }
}

/// What [`verify_with_evidence`] verifies.
#[derive(Debug, Clone)]
pub struct EvidenceInput<'a> {
    /// The original, its signature and material (the record's parts, in order).
    pub parts: &'a Parts,
    /// Whether the original is a PDF (its signatures inside).
    pub is_pdf: bool,
    /// The evidence record (DER), when there is one.
    pub record: Option<&'a [u8]>,
}

/// Verifies an original with its evidence record (blocking: CPU and fetches).
///
/// With a record: the record at `s.at` (its time-stamps' revocation from the captured
/// material, plus what is fetched when `s.fetch`); when it holds, the signatures at its
/// proof-of-existence time with the captured material only (no fetching). Without a
/// record: the ordinary verification at `s.at`.
pub fn verify_with_evidence(
    fetcher: &dyn Fetcher,
    input: &EvidenceInput<'_>,
    s: &Settings,
) -> AppResult<EvidenceVerification> {
    let parts = input.parts;
    let material = match &parts.material {
        Some(path) => {
            let bytes = fs::read(path).map_err(|e| unreadable(path, &e))?;
            Some(Material::parse(&bytes).map_err(|e| {
                AppError::invalid(
                    "material_unreadable",
                    format!(
                        "tệp dữ liệu xác minh {} không đọc được: {e}",
                        path.display()
                    ),
                    format!(
                        "the validation material {} cannot be read: {e}",
                        path.display()
                    ),
                )
            }))
        }
        None => None,
    };
    let signatures_at = |at: OffsetDateTime, captured: Option<&Material>, fetch: bool| {
        let mut settings = Settings::new(s.anchors.clone(), s.own_anchors, at);
        settings.fetch = fetch;
        settings.revocation = s.revocation;
        settings.algorithms = s.algorithms;
        settings.max_size = s.max_size;
        settings.crls.clone_from(&s.crls);
        settings.certificates.clone_from(&s.certificates);
        if let Some(m) = captured {
            settings.crls.extend(m.crls_der());
            settings.ocsp.extend(m.ocsp_der());
            settings.certificates.extend(m.certificates_der());
        }
        verify_original_at(fetcher, parts, input.is_pdf, &settings)
    };
    let Some(record) = input.record else {
        let v = signatures_at(
            s.at,
            material.as_ref().and_then(|m| m.as_ref().ok()),
            s.fetch,
        )?;
        let verdict = v.verdict_key();
        let mut reasons = vec![Reason::new(
            "no_evidence_record",
            format!(
                "no evidence record: verified at {} (an expired certificate cannot be confirmed)",
                vietnam_time(s.at)
            ),
            format!(
                "chưa có bằng chứng lưu trữ: kiểm tra tại thời điểm {} (chứng thư đã hết hạn thì không xác nhận được)",
                vietnam_time(s.at)
            ),
        )];
        reasons.extend(v.notes.iter().cloned());
        reasons.extend(signature_reasons(&v));
        return Ok(EvidenceVerification {
            verdict,
            evidence: None,
            signatures: Some(v),
            reasons,
        });
    };
    let material = material.transpose()?;
    // The record at the validation time.
    let parsed =
        ers::EvidenceRecord::parse(record, &ers::Limits::default()).map_err(|e| ers_error(&e))?;
    let algorithms = parsed.digest_algorithms().map_err(|e| ers_error(&e))?;
    let digests = parts.digests(&algorithms)?;
    let mut crls = s.crls.clone();
    let mut ocsp = s.ocsp.clone();
    let mut certificates = s.certificates.clone();
    if let Some(m) = &material {
        crls.extend(m.crls_der());
        ocsp.extend(m.ocsp_der());
        certificates.extend(m.certificates_der());
    }
    let mut notes = Vec::new();
    if s.fetch && s.revocation != RevocationMode::Skip {
        for token in parsed.tokens().unwrap_or_default() {
            if let Ok(list) = kyso_cades::verify::needs(&token) {
                crate::verify::fetch(fetcher, list, &mut crls, &mut ocsp, &mut notes);
            }
        }
    }
    let options = kyso_cades::VerifyOptions {
        anchors: &s.anchors,
        extra_certificates: &certificates,
        extra_crls: &crls,
        extra_ocsp: &ocsp,
        validation_time: s.at,
        revocation: s.revocation,
        limits: kyso_cades::Limits {
            algorithms: s.algorithms,
            ..kyso_cades::Limits::default()
        },
    };
    let report = ers::Verifier::new(options, ers::Limits::default())
        .verify_record(&parsed, &digests)
        .map_err(|e| ers_error(&e))?;
    if !report.is_valid() {
        let mut reasons: Vec<Reason> = report
            .failures
            .iter()
            .map(|f| {
                let text = f.to_string();
                Reason::new(
                    "evidence_failed",
                    format!("the evidence record does not hold: {text}"),
                    format!("bằng chứng lưu trữ không đứng vững: {text}"),
                )
            })
            .collect();
        reasons.extend(notes);
        return Ok(EvidenceVerification {
            verdict: verdict_key(report.verdict),
            evidence: Some(report),
            signatures: None,
            reasons,
        });
    }
    let poe = report.proof_of_existence.unwrap_or(s.at);
    // The signatures as of the proof of existence, with the captured material only.
    let v = signatures_at(poe, material.as_ref(), false)?;
    let mut reasons = vec![Reason::new(
        "proven_by_evidence_record",
        format!(
            "proven to exist at {} by the evidence record (RFC 4998): the signatures were verified as of that time with the validation material captured on archiving",
            vietnam_time(poe)
        ),
        format!(
            "được chứng minh tồn tại lúc {} bởi bằng chứng lưu trữ (RFC 4998): chữ ký được kiểm tra tại thời điểm đó với dữ liệu xác minh thu thập khi lưu trữ",
            vietnam_clock(poe)
        ),
    )];
    reasons.extend(notes);
    reasons.extend(v.notes.iter().cloned());
    reasons.extend(signature_reasons(&v));
    Ok(EvidenceVerification {
        verdict: v.verdict_key(),
        evidence: Some(report),
        signatures: Some(v),
        reasons,
    })
}

/// The distinct reasons inside a signature report (`code: text`), both languages.
fn signature_reasons(v: &Verification) -> Vec<Reason> {
    fn walk(value: &Value, out: &mut Vec<(String, String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if key == "reasons"
                        && let Some(list) = item.as_array()
                    {
                        for r in list {
                            let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
                            let code = field("code").to_string();
                            if !code.is_empty() && !out.iter().any(|(c, _, _)| *c == code) {
                                out.push((code, field("en").into(), field("vi").into()));
                            }
                        }
                    }
                    walk(item, out);
                }
            }
            Value::Array(list) => list.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&v.to_json(), &mut found);
    found
        .into_iter()
        .map(|(code, en, vi)| {
            Reason::new(
                "signature",
                format!("signature ({code}): {en}"),
                format!("chữ ký ({code}): {vi}"),
            )
        })
        .collect()
}

/// The original's signatures under `s` (no capture).
fn verify_original_at(
    fetcher: &dyn Fetcher,
    parts: &Parts,
    is_pdf: bool,
    s: &Settings,
) -> AppResult<Verification> {
    match &parts.signature {
        Some(sig) => {
            let bytes = fs::read(sig).map_err(|e| unreadable(sig, &e))?;
            crate::verify::verify_detached(
                fetcher,
                crate::verify::Content::File(&parts.original),
                Some(&bytes),
                &sig.display().to_string(),
                s,
            )
        }
        None if is_pdf => {
            let pdf = crate::verify::read_pdf_file(&parts.original, s.max_size, 0)?;
            crate::verify::verify_pdf(fetcher, &pdf, s)
        }
        None => crate::verify::verify_detached(
            fetcher,
            crate::verify::Content::File(&parts.original),
            None,
            &crate::verify::p7s_beside(&parts.original)
                .display()
                .to_string(),
            s,
        ),
    }
}

/// Days before the expiry of a record's last TSA certificate at which the scheduled
/// renewal of `kyso serve` renews its time-stamp (the default of `kyso archive renew
/// --before`).
pub const RENEW_BEFORE_DAYS: i64 = 180;

impl App {
    /// [`App::verify_original`] recording what it fetches: the verification, and the
    /// validation material (`material.json` text) to keep beside the original.
    /// Blocking (CPU and fetches).
    pub fn verify_and_capture(
        &self,
        content: &Path,
        is_pdf: bool,
        signature: Option<&Path>,
        offline: bool,
    ) -> AppResult<(Verification, String)> {
        if is_pdf && signature.is_none() {
            // Read once, verified and searched for certificates in memory.
            let pdf =
                crate::verify::read_pdf_file(content, crate::verify::DEFAULT_MAX_PDF_SIZE, 0)?;
            return self.verify_and_capture_in_memory(content, &pdf, None, true, offline);
        }
        let recording = Recording::new(self.fetcher());
        let verification =
            self.verify_original_with(&recording, content, is_pdf, signature, offline)?;
        let mut certificates = Vec::new();
        if let Some(bytes) = signature.and_then(|sig| fs::read(sig).ok()) {
            cms_certificates(&crate::verify::decode_pem_or_der(&bytes), &mut certificates);
        }
        Ok((verification, self.material(recording, certificates)))
    }

    /// [`App::verify_and_capture`] of an original held in memory (`shown` names it).
    pub(crate) fn verify_and_capture_in_memory(
        &self,
        shown: &Path,
        document: &[u8],
        signature: Option<&[u8]>,
        is_pdf: bool,
        offline: bool,
    ) -> AppResult<(Verification, String)> {
        let recording = Recording::new(self.fetcher());
        let verification =
            self.verify_in_memory_with(&recording, shown, document, signature, is_pdf, offline)?;
        let mut certificates = Vec::new();
        match signature {
            Some(sig) => {
                cms_certificates(&crate::verify::decode_pem_or_der(sig), &mut certificates);
            }
            None if is_pdf => pdf_certificates(document, &mut certificates),
            None => {}
        }
        Ok((verification, self.material(recording, certificates)))
    }

    /// The `material.json` text: what `recording` fetched, and `certificates` (those the
    /// signatures carry) before the fetched ones.
    fn material(&self, recording: Recording<'_>, certificates: Vec<Vec<u8>>) -> String {
        let mut material = recording.material();
        material.format = MATERIAL_FORMAT.into();
        material.captured_at = self
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let fetched = std::mem::take(&mut material.certificates);
        for c in certificates {
            Material::add(&mut material.certificates, &c);
        }
        for c in fetched {
            if !material.certificates.contains(&c) {
                material.certificates.push(c);
            }
        }
        material.to_text()
    }

    /// Seals every archived original waiting for its evidence record: one hash tree,
    /// one time-stamp from the TSA at `tsa`, `evidence.ers` written atomically beside
    /// each, then the rows marked sealed. Idempotent: a run interrupted after writing a
    /// record finds it on the next run and only marks the row (when the record holds
    /// for the files); otherwise the document is sealed again.
    ///
    /// A person or token seals its own agency's documents; the operator of the data
    /// directory every agency's.
    pub async fn seal_evidence(&self, actor: &Actor, tsa: &str) -> AppResult<Sealing> {
        self.allow(actor, Action::SealEvidence, "evidence").await?;
        self.seal_waiting(&actor.audit_name(), scope(actor), tsa)
            .await
    }

    /// The scheduled sealing of `kyso serve` (every agency's documents), recorded as
    /// done by `kyso:serve`.
    pub async fn seal_evidence_scheduled(&self, tsa: &str) -> AppResult<Sealing> {
        self.seal_waiting("kyso:serve", None, tsa).await
    }

    async fn seal_waiting(
        &self,
        who: &str,
        agency: Option<String>,
        tsa: &str,
    ) -> AppResult<Sealing> {
        let waiting = self.archive().evidence_waiting(agency.as_deref()).await?;
        let mut outcome = Sealing::default();
        if waiting.is_empty() {
            return Ok(outcome);
        }
        let app = self.clone();
        let tsa = tsa.to_string();
        let (repaired, sealed) = tokio::task::spawn_blocking(move || -> AppResult<_> {
            let mut repaired = Vec::new();
            let mut todo = Vec::new();
            let settings = Settings::installation(app.data(), app.now())?;
            for row in waiting {
                let parts = Parts::of(&row)?;
                let path = row.folder.join(EVIDENCE_FILE);
                if let Ok(existing) = fs::read(&path) {
                    let mut s =
                        Settings::new(settings.anchors.clone(), settings.own_anchors, app.now());
                    s.fetch = false;
                    s.revocation = RevocationMode::Skip;
                    let input = EvidenceInput {
                        parts: &parts,
                        is_pdf: false,
                        record: Some(&existing),
                    };
                    // Only the record is checked here (the signatures do not matter).
                    let holds = verify_record_only(&input, &s);
                    if let Some(time) = holds {
                        repaired.push((row.id, time));
                        continue;
                    }
                }
                let digests = parts.digests(&[DigestAlgorithm::Sha256])?;
                let object = DataObject::group(
                    digests
                        .into_iter()
                        .flat_map(|d| d.digests.into_iter().map(|(_, d)| d))
                        .collect(),
                );
                todo.push((row, object));
            }
            if todo.is_empty() {
                return Ok((repaired, None));
            }
            let objects: Vec<DataObject> = todo.iter().map(|(_, o)| o.clone()).collect();
            let fetcher = app.fetcher_arc();
            let mut source =
                |alg, imprint: &[u8]| timestamp_from(fetcher.as_ref(), &tsa, alg, imprint);
            let records =
                ers::build(&objects, DigestAlgorithm::Sha256, &mut source).map_err(|e| {
                    AppError::new(
                        Kind::Unavailable,
                        "evidence_failed",
                        format!("không lập được bằng chứng lưu trữ: {e}"),
                        format!("cannot build the evidence records: {e}"),
                    )
                })?;
            let time = records.first().and_then(|r| first_time(r));
            // A record is worth keeping only if it can be verified here: its time-stamp
            // must chain to a trusted root (the TSA's root added with `kyso trust add`).
            let mut warnings = Vec::new();
            if let (Some((row, _)), Some(record)) = (todo.first(), records.first()) {
                let mut s = Settings::new(
                    settings.anchors.clone(),
                    settings.own_anchors,
                    app.now(),
                );
                s.fetch = false;
                s.revocation = RevocationMode::Skip;
                let parts = Parts::of(row)?;
                let input = EvidenceInput {
                    parts: &parts,
                    is_pdf: false,
                    record: Some(record),
                };
                if verify_record_only(&input, &s).is_none() {
                    warnings.push(format!(
                        "dấu thời gian của {tsa} không kiểm tra được bằng các chứng thư gốc tin cậy của kho này: hãy thêm chứng thư gốc của dịch vụ (kyso trust add) / the time-stamp of {tsa} does not verify against this installation's trust anchors: add the TSA's root (kyso trust add)"
                    ));
                }
            }
            let mut ids = Vec::new();
            for ((row, _), record) in todo.iter().zip(&records) {
                kyso_store::write_atomic(&row.folder.join(EVIDENCE_FILE), record, false)?;
                ids.push(row.id);
            }
            Ok((repaired, Some((ids, time, warnings))))
        })
        .await
        .map_err(AppError::internal)??;
        for (id, time) in &repaired {
            self.archive().mark_sealed(&[*id], *time).await?;
            outcome.repaired.push(*id);
        }
        if let Some((ids, time, warnings)) = sealed {
            outcome.warnings = warnings;
            let time = time.unwrap_or_else(|| self.now());
            self.archive().mark_sealed(&ids, time).await?;
            outcome.time = Some(vietnam_time(time));
            outcome.sealed = ids;
        }
        if !outcome.sealed.is_empty() || !outcome.repaired.is_empty() {
            let list = |ids: &[i64]| {
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let mut event = AuditEvent::new(
                who,
                AuditAction::Evidence,
                "evidence:seal",
                Outcome::Succeeded,
            )
            .with("documents", list(&outcome.sealed));
            if !outcome.repaired.is_empty() {
                event = event.with("repaired", list(&outcome.repaired));
            }
            if let Some(t) = &outcome.time {
                event = event.with("time", t.clone());
            }
            self.record(event).await?;
        }
        Ok(outcome)
    }

    /// Verifies an archived original with its evidence record (see
    /// [`verify_with_evidence`]) at `at` (default now); `offline`: nothing fetched.
    pub async fn verify_archived(
        &self,
        actor: &Actor,
        id: i64,
        at: Option<OffsetDateTime>,
        offline: bool,
    ) -> AppResult<EvidenceVerification> {
        self.allow(actor, Action::ViewDocuments, &format!("document:{id}"))
            .await?;
        // Another agency's document is not found.
        self.document_record(actor, id).await?;
        let row = self.archive().evidence(id).await?.ok_or_else(|| {
            AppError::not_found(
                format!("văn bản {id} chưa có bản gốc lưu trữ"),
                format!("document {id} has no archived original"),
            )
        })?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = Settings::installation(app.data(), at.unwrap_or_else(|| app.now()))?;
            s.fetch = !offline;
            let parts = Parts::of(&row)?;
            let is_pdf = crate::verify::sniff_pdf(&parts.original).unwrap_or(false);
            let path = row.folder.join(EVIDENCE_FILE);
            let record = match fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(_) if row.state.as_deref() == Some("sealed") => {
                    return Ok(EvidenceVerification {
                        verdict: "invalid".into(),
                        evidence: None,
                        signatures: None,
                        reasons: vec![Reason::new(
                            "evidence_missing",
                            format!("the evidence record {} is missing", path.display()),
                            format!("thiếu tệp bằng chứng lưu trữ {}", path.display()),
                        )],
                    });
                }
                Err(_) => None,
            };
            let mut out = verify_with_evidence(
                app.fetcher(),
                &EvidenceInput {
                    parts: &parts,
                    is_pdf,
                    record: record.as_deref(),
                },
                &s,
            )?;
            if record.is_some() && !out.evidence.as_ref().is_some_and(ErsReport::is_valid) {
                out.reasons.splice(0..0, which_part_changed(&row, &parts));
            }
            Ok(out)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Renews the evidence records of the sealed documents: a time-stamp renewal of the
    /// records whose last time-stamp's TSA certificate expires within `before` (or
    /// every record when `hash` names a stronger algorithm: a hash-tree renewal). The
    /// renewed record replaces `evidence.ers` atomically (it keeps every earlier
    /// time-stamp inside).
    pub async fn renew_evidence(
        &self,
        actor: &Actor,
        tsa: &str,
        before: time::Duration,
        hash: Option<DigestAlgorithm>,
    ) -> AppResult<Renewal> {
        self.allow(actor, Action::SealEvidence, "evidence").await?;
        self.renew_sealed(&actor.audit_name(), scope(actor), tsa, before, hash)
            .await
    }

    /// The scheduled renewal of `kyso serve` (every agency's records; time-stamp
    /// renewal of those whose last TSA certificate expires within `before`, by default
    /// [`RENEW_BEFORE_DAYS`] days), recorded as done by `kyso:serve`.
    pub async fn renew_evidence_scheduled(
        &self,
        tsa: &str,
        before: time::Duration,
    ) -> AppResult<Renewal> {
        self.renew_sealed("kyso:serve", None, tsa, before, None)
            .await
    }

    async fn renew_sealed(
        &self,
        who: &str,
        agency: Option<String>,
        tsa: &str,
        before: time::Duration,
        hash: Option<DigestAlgorithm>,
    ) -> AppResult<Renewal> {
        let sealed = self.archive().evidence_sealed(agency.as_deref()).await?;
        let app = self.clone();
        let tsa = tsa.to_string();
        let limit = self.now() + before;
        let renewal = tokio::task::spawn_blocking(move || -> AppResult<Renewal> {
            let mut chosen = Vec::new();
            for row in sealed {
                let path = row.folder.join(EVIDENCE_FILE);
                let bytes = fs::read(&path).map_err(|e| unreadable(&path, &e))?;
                let parsed = ers::EvidenceRecord::parse(&bytes, &ers::Limits::default())
                    .map_err(|e| ers_error(&e))?;
                let due = match hash {
                    Some(alg) => {
                        let last = parsed.archive_time_stamp_sequence.len().saturating_sub(1);
                        parsed.chain_algorithm(last).ok() != Some(alg)
                    }
                    None => last_tsa_expiry(&parsed).is_none_or(|t| t <= limit),
                };
                if due {
                    chosen.push((row, bytes));
                }
            }
            if chosen.is_empty() {
                return Ok(Renewal::default());
            }
            let fetcher = app.fetcher_arc();
            let mut source =
                |alg, imprint: &[u8]| timestamp_from(fetcher.as_ref(), &tsa, alg, imprint);
            let failed = |e: ers::ErsError| {
                AppError::new(
                    Kind::Unavailable,
                    "evidence_failed",
                    format!("không gia hạn được bằng chứng lưu trữ: {e}"),
                    format!("cannot renew the evidence records: {e}"),
                )
            };
            let (renewed, kind) = match hash {
                Some(alg) => {
                    let mut input = Vec::new();
                    for (row, bytes) in &chosen {
                        let parts = Parts::of(row)?;
                        let digests = parts.digests(&[alg])?;
                        let object = DataObject::group(
                            digests
                                .into_iter()
                                .flat_map(|d| d.digests.into_iter().map(|(_, d)| d))
                                .collect(),
                        );
                        input.push((bytes.clone(), object));
                    }
                    (
                        ers::renew_hash_trees(&input, alg, &ers::Limits::default(), &mut source)
                            .map_err(failed)?,
                        format!("hash_tree:{}", alg.name()),
                    )
                }
                None => {
                    let input: Vec<&Vec<u8>> = chosen.iter().map(|(_, b)| b).collect();
                    (
                        ers::renew_timestamps(&input, &ers::Limits::default(), &mut source)
                            .map_err(failed)?,
                        "timestamp".to_string(),
                    )
                }
            };
            let mut ids = Vec::new();
            for ((row, _), record) in chosen.iter().zip(&renewed) {
                kyso_store::write_atomic(&row.folder.join(EVIDENCE_FILE), record, false)?;
                ids.push(row.id);
            }
            Ok(Renewal { renewed: ids, kind })
        })
        .await
        .map_err(AppError::internal)??;
        if !renewal.renewed.is_empty() {
            self.record(
                AuditEvent::new(
                    who,
                    AuditAction::Evidence,
                    "evidence:renew",
                    Outcome::Succeeded,
                )
                .with(
                    "documents",
                    renewal
                        .renewed
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .with("kind", renewal.kind.clone()),
            )
            .await?;
        }
        Ok(renewal)
    }
}

/// The agency whose documents `actor` seals: its own, or every one for the operator.
fn scope(actor: &Actor) -> Option<String> {
    match actor {
        Actor::Operator { .. } => None,
        other => Some(other.agency().to_string()),
    }
}

/// The record alone against the parts (no signature verification): its proof of
/// existence when it holds.
fn verify_record_only(input: &EvidenceInput<'_>, s: &Settings) -> Option<OffsetDateTime> {
    let record = input.record?;
    let parsed = ers::EvidenceRecord::parse(record, &ers::Limits::default()).ok()?;
    let algorithms = parsed.digest_algorithms().ok()?;
    let digests = input.parts.digests(&algorithms).ok()?;
    let options = kyso_cades::VerifyOptions {
        anchors: &s.anchors,
        extra_certificates: &[],
        extra_crls: &[],
        extra_ocsp: &[],
        validation_time: s.at,
        revocation: s.revocation,
        limits: kyso_cades::Limits::default(),
    };
    let report = ers::Verifier::new(options, ers::Limits::default())
        .verify_record(&parsed, &digests)
        .ok()?;
    report.proof_of_existence.filter(|_| report.is_valid())
}

/// When the record's last time-stamp stops being verifiable: the earliest expiry among
/// the certificates its token carries (the TSA's and its chain's).
fn last_tsa_expiry(record: &ers::EvidenceRecord) -> Option<OffsetDateTime> {
    let token = record.tokens().ok()?.pop()?;
    let mut certs = Vec::new();
    cms_certificates(&token, &mut certs);
    certs
        .iter()
        .filter_map(|c| x509_cert::Certificate::from_der(c).ok())
        .map(|c| {
            let t = c.tbs_certificate().validity().not_after.to_unix_duration();
            OffsetDateTime::UNIX_EPOCH + time::Duration::try_from(t).unwrap_or_default()
        })
        .min()
}

/// Which part of an archived document differs from what was archived (original and
/// `.p7s` against the recorded SHA-256; the material against the database's copy).
fn which_part_changed(row: &EvidenceRow, parts: &Parts) -> Vec<Reason> {
    let mut out = Vec::new();
    if let Some(original) = &row.record.original {
        let files = std::iter::once((&original.document, &parts.original))
            .chain(original.signature.as_ref().zip(parts.signature.as_ref()));
        for (stored, path) in files {
            let sha = kyso_store::sha256_file(path).map(|(s, _)| s).ok();
            if sha.as_deref() != Some(stored.sha256.as_str()) {
                out.push(Reason::new(
                    "archived_file_changed",
                    format!(
                        "{} is not the archived file (SHA-256 differs): it was altered",
                        path.display()
                    ),
                    format!(
                        "{} không còn là tệp đã lưu trữ (SHA-256 khác): tệp đã bị sửa đổi",
                        path.display()
                    ),
                ));
            }
        }
    }
    if let (Some(kept), Some(path)) = (&row.material, &parts.material)
        && fs::read(path).ok().as_deref() != Some(kept.as_bytes())
    {
        out.push(Reason::new(
            "material_changed",
            format!(
                "{} is not the material captured on archiving: it was altered",
                path.display()
            ),
            format!(
                "{} không còn là dữ liệu xác minh thu thập khi lưu trữ: tệp đã bị sửa đổi",
                path.display()
            ),
        ));
    }
    if out.is_empty() {
        out.push(Reason::new(
            "evidence_record_changed",
            "the archived files are unchanged: the evidence record itself was altered or damaged",
            "các tệp lưu trữ không đổi: chính tệp bằng chứng lưu trữ đã bị sửa đổi hoặc hỏng",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers a PKITS CRL for `/crl`, a certificate for `/ca`, other bytes otherwise.
    #[derive(Debug)]
    struct Canned;

    impl Fetcher for Canned {
        fn get(&self, url: &str) -> Result<Vec<u8>, String> {
            Ok(if url.ends_with("/crl") {
                include_bytes!("../../../testdata/pkits/crls/TrustAnchorRootCRL.crl").to_vec()
            } else if url.ends_with("/ca") {
                include_bytes!("../../../testdata/pkits/certs/TrustAnchorRootCertificate.crt")
                    .to_vec()
            } else {
                b"not DER".to_vec()
            })
        }

        fn post(&self, _: &str, _: &str, body: &[u8]) -> Result<Vec<u8>, String> {
            Ok(body.iter().rev().copied().collect())
        }
    }

    #[test]
    fn the_recording_fetcher_keeps_what_was_fetched_byte_exact() {
        let recording = Recording::new(&Canned);
        let crl = recording.get("http://ca.example/crl").unwrap();
        recording.get("http://ca.example/crl").unwrap();
        let cert = recording.get("http://ca.example/ca").unwrap();
        recording.get("http://ca.example/other").unwrap();
        let ocsp = recording
            .post("http://ocsp.example", "application/ocsp-request", b"abc")
            .unwrap();
        recording
            .post("http://tsa.example", "application/timestamp-query", b"xyz")
            .unwrap();
        let mut m = recording.material();
        assert_eq!(m.crls_der(), vec![crl], "kept once, byte-exact");
        assert_eq!(m.certificates_der(), vec![cert]);
        assert_eq!(m.ocsp_der(), vec![ocsp], "only OCSP answers are material");
        m.format = MATERIAL_FORMAT.into();
        let text = m.to_text();
        assert_eq!(Material::parse(text.as_bytes()).unwrap(), m);
        assert!(Material::parse(b"{\"format\":\"other\"}").is_err());
    }

    #[test]
    fn times_for_clerks_are_vietnamese() {
        let t = time::macros::datetime!(2026-12-07 15:31:04 UTC);
        assert_eq!(vietnam_clock(t), "07/12/2026 22:31 (+07:00)");
    }
}
