//! Documents: filing an original into the archive (outgoing, or incoming with
//! verification on receipt), lifecycle steps (number, accept with số đến, refuse,
//! assign…), register numbers, the electronic policy, reading the archive (list, one
//! document, the tree agency → year → type → document), search and the search index.
//!
//! Every function takes the [`Actor`] and authorises it first; every change is recorded
//! as a typed audit event.

use std::fs;
use std::path::{Path, PathBuf};

use kyso_audit::Outcome;
use kyso_model::{AgencyId, DocumentType, Notation, Secrecy, Urgency, fold};
use kyso_office::{
    Action, DocState, DocumentQuery, DocumentRecord, ElectronicPolicy, Event, IncomingRequest,
    IncomingState, Metadata, NotationTemplate, OutgoingNumber, OutgoingRequest, OutgoingState,
    Recipient, Registered, SignerInfo, Step, Store,
};
use kyso_store::Staged;
use serde::Serialize;
use serde_json::Value;
use time::Date;

use crate::App;
use crate::actor::{Actor, same_agency};
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult, Kind};
use crate::verify::{Content, Settings, Verification};

/// Descriptive fields a person gives when filing or numbering a document.
#[derive(Debug, Clone, Default)]
pub struct DocFields {
    /// Summary (trích yếu).
    pub subject: Option<String>,
    /// Secrecy: secret documents are refused for electronic handling.
    pub secrecy: Secrecy,
    /// Urgency.
    pub urgency: Urgency,
    /// Signer's full name.
    pub signer: Option<String>,
    /// Signer's position.
    pub signer_position: Option<String>,
    /// Recipients (outgoing).
    pub recipients: Vec<String>,
    /// Unit holding the file copy (outgoing) / receiving it (incoming).
    pub holder: Option<String>,
    /// Copies issued.
    pub copies: Option<u32>,
    /// Notes.
    pub note: Option<String>,
}

impl DocFields {
    pub(crate) fn metadata(&self, organ_name: String) -> Metadata {
        Metadata {
            subject: self.subject.clone().unwrap_or_default(),
            organ_name,
            description: self.note.clone(),
            signer_info: self
                .signer
                .as_ref()
                .map(|name| SignerInfo {
                    position: self.signer_position.clone().unwrap_or_default(),
                    full_name: name.clone(),
                })
                .into_iter()
                .collect(),
            to: self
                .recipients
                .iter()
                .map(|r| Recipient {
                    organ_id: None,
                    organ_name: r.clone(),
                })
                .collect(),
            to_places: self.holder.clone(),
            issued_amount: self.copies,
            ..Metadata::default()
        }
    }
}

/// Take the next number of the register while filing (outgoing, electronic).
#[derive(Debug, Clone)]
pub struct Allocate {
    /// Issuer abbreviation in the notation (UBND).
    pub issuer: String,
    /// Unit groups (a Công văn's drafting unit).
    pub units: Vec<String>,
    /// Advisory body with its own series.
    pub advisory: Option<String>,
}

/// An original to file held in memory (a package's attachment), with its SHA-256
/// (hex) and its detached signature: filed without a copy in a scratch file.
#[derive(Debug, Clone)]
pub(crate) struct InMemory {
    pub(crate) document: std::sync::Arc<[u8]>,
    pub(crate) sha256: String,
    pub(crate) signature: Option<std::sync::Arc<[u8]>>,
}

/// Filing one original into the archive.
#[derive(Debug, Clone)]
pub struct FileRequest {
    /// The original (a PDF, or any file with `signature`). The archive copies it.
    pub file: PathBuf,
    /// Shown in messages instead of `file` (an upload's name).
    pub shown_name: Option<String>,
    /// Whether `file` is a PDF (default: by its extension or its first bytes).
    pub is_pdf: Option<bool>,
    /// Its detached CAdES signature.
    pub signature: Option<PathBuf>,
    /// Type; default: read from the first page.
    pub doc_type: Option<DocumentType>,
    /// Number and notation already given; default: read from the first page.
    pub number: Option<String>,
    /// Document date (outgoing) / arrival date (incoming).
    pub date: Option<Date>,
    /// Received from another agency (gets the arrival number, số đến).
    pub incoming: bool,
    /// Incoming: accept it at once with its arrival number (false: only receive it —
    /// `verified` when its signatures are valid, else `received` — for the clerk to
    /// accept or refuse with a reason).
    pub accept: bool,
    /// Do not fetch revocation data.
    pub offline: bool,
    /// Keep it even when a signature is invalid (the report is kept with it).
    pub accept_invalid: bool,
    /// Descriptive fields.
    pub fields: DocFields,
    /// Sender (incoming) / issuing agency name.
    pub from: Option<String>,
    /// The agency's own name, for outgoing documents.
    pub agency_name: String,
    /// Take the next register number.
    pub allocate: Option<Allocate>,
}

impl FileRequest {
    /// The original's name in messages: the upload's name, else its path.
    fn shown(&self) -> String {
        self.shown_name
            .clone()
            .unwrap_or_else(|| self.file.display().to_string())
    }
}

/// What filing did.
#[derive(Debug, Clone)]
pub enum Filed {
    /// Stored, with notes for the clerk (what could not be read, a signature that is
    /// not plainly valid).
    Stored(Box<Registered>, Vec<String>),
    /// Not stored, and why (already archived; not signed; invalid signature; a number
    /// already taken), in both languages with a stable code.
    Skipped(AppError),
}

/// A document with what a reader of its page needs.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    /// The record.
    #[serde(flatten)]
    pub record: DocumentRecord,
    /// Its history, oldest first.
    pub history: Vec<kyso_office::HistoryEntry>,
    /// Where the original is, relative to the archive root.
    pub path: Option<PathBuf>,
    /// The verification report made on receipt or filing.
    pub verification: Value,
}

/// One folder of the archive tree: agency → year → type.
#[derive(Debug, Clone, Serialize)]
pub struct TreeYear {
    /// Register year.
    pub year: u16,
    /// Types with their documents.
    pub types: Vec<TreeType>,
}

/// The documents of one type in one year.
#[derive(Debug, Clone, Serialize)]
pub struct TreeType {
    /// The folder name (`QĐ`, `CV`…).
    pub folder: String,
    /// The type's Vietnamese name.
    pub name: String,
    /// Documents: id, number and notation, subject, archive folder.
    pub documents: Vec<TreeDocument>,
}

/// A leaf of the tree.
#[derive(Debug, Clone, Serialize)]
pub struct TreeDocument {
    /// Id.
    pub id: i64,
    /// `Số: 05/QĐ-UBND`, if numbered.
    pub number: Option<String>,
    /// Summary.
    pub subject: String,
    /// Folder under the archive root.
    pub folder: Option<String>,
}

/// A lifecycle step.
#[derive(Debug, Clone, Default)]
pub struct StepRequest {
    /// Reason (required to refuse), instruction or note.
    pub note: String,
    /// Issuer abbreviation, for `number`.
    pub issuer: Option<String>,
    /// Unit groups, for `number`.
    pub units: Vec<String>,
    /// Advisory body series, for `number`.
    pub advisory: Option<String>,
}

/// A register number taken outside a document's lifecycle.
#[derive(Debug, Clone)]
pub struct NumberRequest {
    /// Type.
    pub doc_type: DocumentType,
    /// Document date (default today).
    pub date: Option<Date>,
    /// Descriptive fields.
    pub fields: DocFields,
    /// A paper document (the policy for electronic issuing does not apply).
    pub paper: bool,
    /// Issuer abbreviation.
    pub issuer: String,
    /// Unit groups.
    pub units: Vec<String>,
    /// Advisory body series.
    pub advisory: Option<String>,
    /// The agency's name (organ name in the metadata).
    pub agency_name: String,
}

fn nfc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

fn folded_key(text: &str) -> String {
    fold(text.trim())
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// `thuong` / `mật` / `toi_mat` / `Tuyệt mật` → a secrecy level.
pub fn parse_secrecy(text: &str) -> AppResult<Secrecy> {
    Ok(match folded_key(text).as_str() {
        "" | "thuong" | "none" | "khong" => Secrecy::None,
        "mat" => Secrecy::Mat,
        "toi_mat" => Secrecy::ToiMat,
        "tuyet_mat" => Secrecy::TuyetMat,
        _ => {
            return Err(AppError::invalid(
                "bad_secrecy",
                format!("độ mật không xác định {text:?} (thuong, mat, toi_mat, tuyet_mat)"),
                format!("unknown secrecy {text:?} (thuong, mat, toi_mat, tuyet_mat)"),
            ));
        }
    })
}

/// `thuong` / `khẩn` / `thuong_khan` / `Hỏa tốc` → an urgency.
pub fn parse_urgency(text: &str) -> AppResult<Urgency> {
    Ok(match folded_key(text).as_str() {
        "" | "thuong" => Urgency::Thuong,
        "khan" => Urgency::Khan,
        "thuong_khan" => Urgency::ThuongKhan,
        "hoa_toc" => Urgency::HoaToc,
        "hoa_toc_hen_gio" => Urgency::HoaTocHenGio,
        _ => {
            return Err(AppError::invalid(
                "bad_urgency",
                format!("độ khẩn không xác định {text:?} (thuong, khan, thuong_khan, hoa_toc)"),
                format!("unknown urgency {text:?} (thuong, khan, thuong_khan, hoa_toc)"),
            ));
        }
    })
}

/// `QĐ`, `CV`, `quyet_dinh`, `Quyết định`, `quyet dinh` → a type.
pub fn parse_type(text: &str) -> AppResult<DocumentType> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("CV") {
        return Ok(DocumentType::CongVan);
    }
    let nfc: String = nfc(&t.split_whitespace().collect::<Vec<_>>().join(" "));
    DocumentType::from_abbreviation(&nfc)
        .or_else(|| DocumentType::from_key(&nfc))
        .or_else(|| DocumentType::from_vietnamese_name(&nfc))
        .or_else(|| {
            // Abbreviations typed without Đ or with other case: only when unambiguous.
            let folded = fold(&nfc);
            let matches: Vec<DocumentType> = DocumentType::iter()
                .filter(|d| d.abbreviation().is_some_and(|a| fold(a) == folded))
                .collect();
            (matches.len() == 1).then(|| matches[0])
        })
        .ok_or_else(|| {
            AppError::invalid(
                "unknown_type",
                format!("không rõ loại văn bản {text:?} (QĐ, CV, TB, BC, GM…)"),
                format!("unknown document type {text:?} (QĐ, CV, TB, BC, GM…)"),
            )
        })
}

/// `YYYY-MM-DD` → a date.
pub fn parse_date(text: &str) -> AppResult<Date> {
    kyso_office::date_opt::parse_date(text.trim()).map_err(|_| {
        AppError::invalid(
            "invalid_date",
            format!("ngày không hợp lệ {text:?} (YYYY-MM-DD)"),
            format!("invalid date {text:?} (YYYY-MM-DD)"),
        )
    })
}

/// The object name of a document in the audit log.
pub(crate) fn object(record: &DocumentRecord) -> String {
    format!("document:{}", record.id.unwrap_or_default())
}

/// The details every document event carries.
pub(crate) fn document_details(record: &DocumentRecord) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = vec![("agency".into(), record.agency.to_string())];
    if let (Some(n), Some(notation)) = (
        record.metadata.code_number.as_ref(),
        record.metadata.code_notation.as_ref(),
    ) {
        all.push(("notation".into(), format!("{n}/{notation}")));
    }
    if let (Some(series), Some(n)) = (record.series.as_ref(), record.series_number) {
        all.push(("series".into(), series.to_string()));
        all.push(("series_number".into(), n.to_string()));
    }
    all
}

/// Whether a file's first bytes are a PDF header (an upload staged without its name).
pub(crate) fn starts_like_pdf(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 5];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| crate::verify::looks_like_pdf(&head))
}

fn is_pdf_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
}

/// `valid` / `valid_with_changes`: the only verdicts an original is kept as valid on.
pub(crate) fn is_valid_verdict(verdict: &str) -> bool {
    matches!(verdict, "valid" | "valid_with_changes")
}

/// `invalid` / `modified`: a signature that does not verify.
pub(crate) fn is_invalid_verdict(verdict: &str) -> bool {
    matches!(verdict, "invalid" | "modified")
}

/// A verdict in Vietnamese words.
fn verdict_vi(verdict: &str) -> &'static str {
    match verdict {
        "valid" | "valid_with_changes" => "hợp lệ",
        "invalid" | "modified" => "không hợp lệ",
        "unsigned" => "không có chữ ký số",
        _ => "không xác định được",
    }
}

/// The refusal of an original whose signatures are not verified, without the clerk's
/// decision: what, which verdict, what to do.
fn unverified_error(shown: &str, verdict: &str, reasons: &str) -> AppError {
    let (why_vi, why_en) = if reasons.is_empty() {
        (String::new(), String::new())
    } else {
        (format!(": {reasons}"), format!(": {reasons}"))
    };
    AppError::new(
        Kind::Conflict,
        "unverified",
        format!(
            "chưa lưu {shown}: chữ ký số chưa được xác minh là hợp lệ (kết quả: {}, `{verdict}`{why_vi}). Văn bản chỉ được lưu như văn bản hợp lệ khi chữ ký hợp lệ. Hãy kiểm tra chứng thư số của người ký (thêm CA tin cậy bằng `kyso trust add`), hoặc nếu vẫn lưu thì ghi rõ lý do: `--accept-unverified \"lý do\"` (API: trường `accept_unverified`)",
            verdict_vi(verdict)
        ),
        format!(
            "{shown} not archived: its signature is not verified as valid (verdict `{verdict}`{why_en}). A document is archived as valid only on a valid signature. Check the signer's certificate (trust its CA with `kyso trust add`), or, to keep it anyway, give the reason: `--accept-unverified \"reason\"` (API: field `accept_unverified`)"
        ),
    )
}

// ----------------------------------------------------------------------------------
// First-page reading
// ----------------------------------------------------------------------------------

/// An original verified and staged, with what its first page says (see
/// `App::prepare_filing`).
pub(crate) struct Prepared {
    pub(crate) staged: Staged,
    pub(crate) verdict: String,
    pub(crate) sha: String,
    pub(crate) notes: Vec<String>,
    pub(crate) doc_type: DocumentType,
    pub(crate) number: Option<String>,
    pub(crate) date: Option<Date>,
    pub(crate) metadata: Metadata,
    /// Outgoing: the record of the number reserved with `register number` (no original
    /// yet) this original carries: the original is attached to it.
    pub(crate) reserved: Option<DocumentRecord>,
    /// The clerk's decision to keep an original whose signatures are not verified
    /// (`indeterminate`, `unsigned`), when it was needed: the verdict and the reason.
    pub(crate) unverified: Option<(String, String)>,
}

/// What the first page says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FirstPage {
    /// `15/QĐ-UBND`.
    pub number: Option<String>,
    /// The document date.
    pub date: Option<Date>,
    /// The type named in the title.
    pub doc_type: Option<DocumentType>,
    /// The summary line.
    pub subject: Option<String>,
    /// The issuer abbreviation of the notation.
    pub issuer: Option<String>,
}

fn first_page_lines(bytes: &[u8]) -> Option<Vec<String>> {
    let lines: Vec<String> = kyso_pades::sign::text_lines(bytes, 1)
        .ok()?
        .into_iter()
        .map(|l| l.text)
        .collect();
    (!lines.is_empty()).then_some(lines)
}

/// Reads number/notation (`Số: 15/QĐ-UBND`), date (`ngày 05 tháng 01 năm 2025`), type
/// (a title line naming an ND30 type) and summary (the line after it, or `V/v …`).
pub fn read_first_page(lines: &[String]) -> FirstPage {
    let mut out = FirstPage::default();
    let lines: Vec<String> = lines
        .iter()
        .map(|l| nfc(&l.split_whitespace().collect::<Vec<_>>().join(" ")))
        .filter(|l| !l.is_empty())
        .collect();
    for line in &lines {
        if out.number.is_none() {
            let folded = fold(line);
            if (folded.contains("so:") || folded.contains("so :"))
                && let Some((_, tail)) = line.split_once(':')
            {
                let token = tail.split_whitespace().next().unwrap_or_default();
                if token.contains('/') {
                    out.number = Some(match Notation::parse(token) {
                        Ok(n) => n.to_string(),
                        Err(_) => token.to_string(),
                    });
                }
            }
        }
        if out.date.is_none() {
            out.date = date_in(&fold(line));
        }
    }
    let mut title_index = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(t) = DocumentType::from_vietnamese_name(line) {
            out.doc_type = Some(t);
            title_index = Some(i);
            break;
        }
    }
    if out.doc_type.is_none()
        && let Some(n) = out.number.as_deref().and_then(|n| Notation::parse(n).ok())
    {
        out.doc_type = n.document_type();
    }
    if let Some(n) = out.number.as_deref().and_then(|n| Notation::parse(n).ok()) {
        out.issuer = Some(n.issuer().to_string());
    }
    out.subject = match title_index {
        Some(i) => lines.get(i + 1).cloned(),
        None => lines.iter().find(|l| fold(l).starts_with("v/v")).cloned(),
    };
    out
}

/// `ngay 05 thang 01 nam 2025` in folded text.
fn date_in(folded: &str) -> Option<Date> {
    let words: Vec<&str> = folded
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    for i in 0..words.len() {
        if words[i] == "ngay"
            && words.get(i + 2) == Some(&"thang")
            && words.get(i + 4) == Some(&"nam")
        {
            let day: u8 = words.get(i + 1)?.parse().ok()?;
            let month: u8 = words.get(i + 3)?.parse().ok()?;
            let year: i32 = words.get(i + 5)?.trim_end_matches('.').parse().ok()?;
            let month = time::Month::try_from(month).ok()?;
            return Date::from_calendar_date(year, month, day).ok();
        }
    }
    None
}

pub(crate) fn page_count(bytes: &[u8]) -> Option<u32> {
    u32::try_from(kyso_pades::sign::page_count(bytes).ok()?).ok()
}

/// The text of a PDF's first 50 pages, for the search index.
fn full_text(bytes: &[u8]) -> String {
    kyso_pades::sign::document_text(bytes, 50)
        .map(|lines| {
            lines
                .into_iter()
                .map(|l| l.text)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

impl App {
    // ------------------------------------------------------------------------------
    // Verification of an original
    // ------------------------------------------------------------------------------

    /// Verifies an original as stored (a PDF's own signatures, or a file and its
    /// `.p7s`) with the installation's trust store, now. Blocking (CPU and fetches).
    pub fn verify_original(
        &self,
        content: &Path,
        is_pdf: bool,
        signature: Option<&Path>,
        offline: bool,
    ) -> AppResult<Verification> {
        self.verify_original_with(self.fetcher(), content, is_pdf, signature, offline)
    }

    /// [`App::verify_original`] through `fetcher`.
    pub(crate) fn verify_original_with(
        &self,
        fetcher: &dyn crate::Fetcher,
        content: &Path,
        is_pdf: bool,
        signature: Option<&Path>,
        offline: bool,
    ) -> AppResult<Verification> {
        let mut settings = Settings::installation(self.data(), self.now())?;
        settings.fetch = !offline;
        match signature {
            Some(sig) => {
                let bytes = fs::read(sig).map_err(|e| {
                    AppError::invalid(
                        "unreadable_signature",
                        format!("không đọc được {}: {e}", sig.display()),
                        format!("cannot read {}: {e}", sig.display()),
                    )
                })?;
                crate::verify::verify_detached(
                    fetcher,
                    Content::File(content),
                    Some(&bytes),
                    &sig.display().to_string(),
                    &settings,
                )
            }
            None if is_pdf => {
                // The size limit before anything is read (a huge file is refused, not
                // loaded).
                let pdf = crate::verify::read_pdf_file(content, settings.max_size, 0)?;
                crate::verify::verify_pdf(fetcher, &pdf, &settings)
            }
            None => crate::verify::verify_detached(
                fetcher,
                Content::File(content),
                None,
                &format!("{}.p7s", content.display()),
                &settings,
            ),
        }
    }

    /// [`App::verify_original_with`] of an original held in memory (`shown` names it
    /// in the report).
    pub(crate) fn verify_in_memory_with(
        &self,
        fetcher: &dyn crate::Fetcher,
        shown: &Path,
        document: &[u8],
        signature: Option<&[u8]>,
        is_pdf: bool,
        offline: bool,
    ) -> AppResult<Verification> {
        let mut settings = Settings::installation(self.data(), self.now())?;
        settings.fetch = !offline;
        match (signature, is_pdf) {
            (None, true) => {
                crate::verify::check_pdf_bytes(shown, document, settings.max_size)?;
                crate::verify::verify_pdf(fetcher, document, &settings)
            }
            (signature, _) => crate::verify::verify_detached(
                fetcher,
                Content::Bytes(document),
                signature,
                &format!("{}.p7s", shown.display()),
                &settings,
            ),
        }
    }

    // ------------------------------------------------------------------------------
    // Filing
    // ------------------------------------------------------------------------------

    /// The common part of filing an original and of receiving one from another agency:
    /// secret documents refused before anything is touched, duplicates and unsigned
    /// non-PDFs skipped (`Err` with the reason), every signature verified (an invalid
    /// one skipped unless `accept_invalid`, a failed receipt logged), the first page
    /// read, the original staged with its verification report.
    pub(crate) async fn prepare_filing(
        &self,
        who: &str,
        agency: &AgencyId,
        job: &FileRequest,
        memory: Option<&InMemory>,
    ) -> AppResult<Result<Prepared, AppError>> {
        self.prepare_decided(who, agency, job, None, memory).await
    }

    /// [`App::prepare_filing`] with the clerk's decision on an original whose signatures
    /// are not verified (`accept_unverified`: the reason). The archive's acceptance
    /// policy: an original is kept as valid only on a `valid` / `valid_with_changes`
    /// verdict; `invalid` / `modified` only with `accept_invalid` (and an incoming one is
    /// then only received, never accepted: Decision 28); `indeterminate` / `unsigned`
    /// only with the decision — or, incoming and not accepted at once, received for the
    /// clerk to decide. Without it: `unverified`, audited as refused.
    async fn prepare_decided(
        &self,
        who: &str,
        agency: &AgencyId,
        job: &FileRequest,
        accept_unverified: Option<&str>,
        memory: Option<&InMemory>,
    ) -> AppResult<Result<Prepared, AppError>> {
        let shown = job.shown();
        let mut notes = Vec::new();
        if job.fields.secrecy.is_secret() {
            // Refuse before touching anything: secret originals never enter the system.
            kyso_office::check_not_secret(job.fields.secrecy)?;
        }
        let is_pdf = job
            .is_pdf
            .unwrap_or_else(|| is_pdf_name(&job.file) || starts_like_pdf(&job.file));
        let sha = match memory {
            Some(m) => m.sha256.clone(),
            None => kyso_store::sha256_file(&job.file)?.0,
        };
        if let Some(existing) = self.archive().by_sha256(agency, &sha).await? {
            let (id, dir) = (
                existing.id.unwrap_or_default(),
                existing.archive_dir.unwrap_or_default(),
            );
            return Ok(Err(AppError::new(
                Kind::Conflict,
                "already_archived",
                format!("đã lưu trữ là [{id}] {dir}"),
                format!("already archived as [{id}] {dir}"),
            )));
        }
        if !is_pdf && job.signature.is_none() {
            return Ok(Err(AppError::new(
                Kind::Conflict,
                "no_signature_file",
                "không phải PDF và không có chữ ký .p7s đi kèm",
                "not a PDF and no detached .p7s signature",
            )));
        }
        let verification = {
            let app = self.clone();
            let (file, sig, offline) = (job.file.clone(), job.signature.clone(), job.offline);
            let memory = memory.cloned();
            tokio::task::spawn_blocking(move || match memory {
                Some(m) => app.verify_and_capture_in_memory(
                    &file,
                    &m.document,
                    m.signature.as_deref(),
                    is_pdf,
                    offline,
                ),
                None => app.verify_and_capture(&file, is_pdf, sig.as_deref(), offline),
            })
            .await
            .map_err(AppError::internal)??
        };
        let (verification, material) = verification;
        let verdict = verification.verdict_key();
        let report = verification.to_json();
        if matches!(verdict.as_str(), "invalid" | "modified") && !job.accept_invalid {
            if job.incoming {
                self.record(AuditEvent {
                    actor: who.to_string(),
                    action: AuditAction::VerifyReceipt,
                    object: format!("file:{shown}"),
                    outcome: Outcome::Failed,
                    details: vec![
                        ("agency".into(), agency.to_string()),
                        ("verdict".into(), verdict.clone()),
                        ("sha256".into(), sha.clone()),
                        ("stored".into(), "false".into()),
                    ],
                })
                .await?;
            }
            return Ok(Err(AppError::new(
                Kind::Conflict,
                "invalid_signature",
                format!("chữ ký không hợp lệ ({verdict}), không lưu (--accept-invalid để vẫn lưu)"),
                format!("signature {verdict}: not archived (--accept-invalid to keep it anyway)"),
            )));
        }
        let unverified = !is_valid_verdict(&verdict) && !is_invalid_verdict(&verdict);
        // Only received (incoming, not accepted at once): the clerk decides later.
        let decision_needed = unverified && (!job.incoming || job.accept);
        let decision = match accept_unverified {
            Some(reason) if decision_needed => Some((verdict.clone(), reason.trim().to_string())),
            _ => None,
        };
        if decision_needed && decision.is_none() {
            let reasons = Some(crate::verify::reason_summary(&verification))
                .filter(|r| r != "-")
                .unwrap_or_default();
            let mut details = vec![
                ("agency".to_string(), agency.to_string()),
                ("verdict".to_string(), verdict.clone()),
                ("sha256".to_string(), sha.clone()),
                ("reason".to_string(), "unverified".to_string()),
            ];
            if !reasons.is_empty() {
                details.push(("reasons".into(), reasons.clone()));
            }
            self.record(AuditEvent {
                actor: who.to_string(),
                action: AuditAction::File,
                object: format!("file:{shown}"),
                outcome: Outcome::Refused,
                details,
            })
            .await?;
            return Err(unverified_error(&shown, &verdict, &reasons));
        }
        if let Some((verdict, reason)) = &decision {
            notes.push(format!(
                "lưu dù chữ ký chưa được xác minh ({verdict}), lý do: {reason} / kept although its signature is not verified ({verdict}); reason: {reason}"
            ));
        } else if !is_valid_verdict(&verdict) {
            notes.push(format!("chữ ký / signature: {verdict}"));
        }
        if job.incoming && job.accept && is_invalid_verdict(&verdict) {
            notes.push("chữ ký không hợp lệ: văn bản chỉ được tiếp nhận, không vào sổ văn bản đến; hãy trả lại (từ chối) kèm lý do / invalid signature: received only, not registered; return it (refuse) with a reason".into());
        }
        let (page, pages) = if is_pdf {
            let read;
            let bytes: &[u8] = match memory {
                Some(m) => &m.document,
                None => {
                    read = crate::verify::read_pdf_file(
                        &job.file,
                        crate::verify::DEFAULT_MAX_PDF_SIZE,
                        0,
                    )?;
                    &read
                }
            };
            (
                first_page_lines(bytes)
                    .map(|l| read_first_page(&l))
                    .unwrap_or_default(),
                page_count(bytes),
            )
        } else {
            (FirstPage::default(), None)
        };
        let doc_type = job.doc_type.or(page.doc_type).ok_or_else(|| {
            AppError::invalid(
                "type_unknown",
                "loại văn bản chưa rõ: hãy chỉ định loại (--type)",
                "the document type is unknown: give it (--type)",
            )
        })?;
        let number = job.number.clone().or_else(|| page.number.clone());
        if number.is_none() && job.allocate.is_none() {
            notes.push("không đọc được số, ký hiệu ở trang đầu / could not read the number and notation on the first page".into());
        }
        // Incoming: `date` is the arrival date; the document date comes from its page.
        let date = if job.incoming {
            page.date
        } else {
            job.date.or(page.date)
        };
        if date.is_none() && !job.incoming {
            notes.push("không đọc được ngày văn bản, dùng ngày hôm nay / could not read the document date; using today".into());
        }
        let organ_name = job
            .from
            .clone()
            .or_else(|| {
                if job.incoming {
                    page.issuer.clone()
                } else {
                    None
                }
            })
            .unwrap_or_else(|| {
                if job.incoming {
                    String::new()
                } else {
                    job.agency_name.clone()
                }
            });
        let mut metadata = job.fields.metadata(organ_name);
        if metadata.subject.is_empty() {
            metadata.subject = page.subject.clone().unwrap_or_default();
        }
        metadata.page_amount = pages;
        metadata.issued_date = date;
        let mut reserved = None;
        if !job.incoming && job.allocate.is_none() {
            if let Some(taken) = self
                .number_taken(agency, &metadata, date, number.as_deref())
                .await?
            {
                return Ok(Err(taken));
            }
            reserved = self
                .reserved_number(agency, &metadata, date, number.as_deref())
                .await?;
        }
        let mut staged: Staged = match memory {
            Some(m) => {
                let name = job.shown_name.clone().unwrap_or_else(|| job.shown());
                self.archive()
                    .stage_bytes(
                        &name,
                        m.document.clone(),
                        m.sha256.clone(),
                        m.signature.clone(),
                        Some(report),
                    )
                    .await?
            }
            None => {
                self.archive()
                    .stage(&job.file, job.signature.as_deref(), Some(report))
                    .await?
            }
        };
        staged.set_material(material);
        Ok(Ok(Prepared {
            staged,
            verdict,
            sha,
            notes,
            doc_type,
            number,
            date,
            metadata,
            reserved,
            unverified: decision,
        }))
    }

    /// The records holding `number` (issuer and year of `metadata`, `date`) in the
    /// agency's registers.
    async fn same_number(
        &self,
        agency: &AgencyId,
        metadata: &Metadata,
        date: Option<Date>,
        text: &str,
    ) -> AppResult<(i32, Vec<DocumentRecord>)> {
        let (code, notation) = kyso_office::split_number(text);
        let year = date.unwrap_or_else(|| self.now_and_today().1).year();
        let key = kyso_office::DuplicateKey::new(
            agency,
            &metadata.organ_name,
            u16::try_from(year).unwrap_or_default(),
            &code,
            notation.as_deref(),
        );
        Ok((year, self.archive().duplicates(&key).await?))
    }

    /// The record of a number reserved with `register number` (same number, notation,
    /// issuer and year; outgoing, numbered, no original yet) that an original filed with
    /// that number completes.
    async fn reserved_number(
        &self,
        agency: &AgencyId,
        metadata: &Metadata,
        date: Option<Date>,
        number: Option<&str>,
    ) -> AppResult<Option<DocumentRecord>> {
        let Some(text) = number.filter(|n| !n.trim().is_empty()) else {
            return Ok(None);
        };
        let (_, same) = self.same_number(agency, metadata, date, text).await?;
        Ok(same.into_iter().find(|d| {
            d.original.is_none()
                && d.archive_dir.is_none()
                && d.agency == *agency
                && d.state == DocState::Outgoing(OutgoingState::Numbered)
        }))
    }

    /// Why an outgoing original with `number` cannot be filed: its number, notation,
    /// issuer and year already belong to an archived document (a number is given once per
    /// register and year; the same file again is caught earlier by its SHA-256). A
    /// number only reserved (`register number`, no original yet) does not count.
    async fn number_taken(
        &self,
        agency: &AgencyId,
        metadata: &Metadata,
        date: Option<Date>,
        number: Option<&str>,
    ) -> AppResult<Option<AppError>> {
        let Some(text) = number.filter(|n| !n.trim().is_empty()) else {
            return Ok(None);
        };
        let (year, same) = self.same_number(agency, metadata, date, text).await?;
        let archived = same.into_iter().find(|d| {
            d.original.is_some() && d.state != DocState::Outgoing(OutgoingState::Recalled)
        });
        Ok(archived.map(|d| {
            let id = d.id.unwrap_or_default();
            let dir = d.archive_dir.unwrap_or_default();
            AppError::new(
                Kind::Conflict,
                "number_taken",
                format!(
                    "số {text} năm {year} đã thuộc văn bản [{id}] {dir}: mỗi số chỉ cấp một lần trong sổ của năm"
                ),
                format!(
                    "number {text} ({year}) already belongs to document [{id}] {dir}: a number is given once per register and year"
                ),
            )
        }))
    }

    /// Files an original into the archive: outgoing (issued with its number, or a
    /// draft; an original carrying a number reserved with `register number` completes
    /// that record), or incoming (verified on receipt, accepted with its arrival number).
    /// Refuses secret documents before touching anything; skips what is already
    /// archived, unsigned files that are not PDFs, and invalid signatures unless
    /// `accept_invalid`. An original whose signatures are not verified (`indeterminate`,
    /// `unsigned`) is refused (`unverified`) unless `accept_unverified` gives the
    /// clerk's reason — recorded in its history and the audit log — or it is only
    /// received (incoming, `accept` false).
    pub async fn file_document(&self, actor: &Actor, job: FileRequest) -> AppResult<Filed> {
        self.file_document_decided(actor, job, None).await
    }

    /// [`App::file_document`] with the clerk's decision to keep an original whose
    /// signatures are not verified: `accept_unverified` = the reason (not empty).
    pub async fn file_document_decided(
        &self,
        actor: &Actor,
        job: FileRequest,
        accept_unverified: Option<&str>,
    ) -> AppResult<Filed> {
        self.allow(actor, Action::FileDocument, "archive").await?;
        if let Some(number) = job.number.as_deref().filter(|n| !n.trim().is_empty()) {
            kyso_office::check_number(number)?;
        }
        if accept_unverified.is_some_and(|r| r.trim().is_empty()) {
            return Err(AppError::invalid(
                "unverified_reason",
                "quyết định lưu văn bản có chữ ký chưa được xác minh phải nêu lý do (--accept-unverified \"lý do\")",
                "keeping a document whose signature is not verified needs a reason (--accept-unverified \"reason\")",
            ));
        }
        let agency = actor.agency().clone();
        let Prepared {
            staged,
            verdict,
            sha,
            notes,
            doc_type,
            number,
            date,
            metadata,
            reserved,
            unverified,
        } = match self
            .prepare_decided(&actor.audit_name(), &agency, &job, accept_unverified, None)
            .await?
        {
            Ok(prepared) => prepared,
            Err(reason) => {
                // Every filing is an audit entry, the ones not stored too.
                let shown = job.shown();
                self.record(
                    AuditEvent::new(
                        actor.audit_name(),
                        AuditAction::File,
                        format!("file:{shown}"),
                        Outcome::Refused,
                    )
                    .with("agency", agency.to_string())
                    .with("code", reason.code.clone())
                    .with("reason", reason.en.clone())
                    .with("reason_vi", reason.vi.clone()),
                )
                .await?;
                return Ok(Filed::Skipped(reason));
            }
        };
        // The decision goes into the document's history with who made it.
        let history_note = unverified
            .as_ref()
            .map(|(verdict, reason)| {
                format!(
                    "lưu dù chữ ký chưa được xác minh ({verdict}); {} quyết định, lý do: {reason} / kept although its signature is not verified ({verdict}); decided by {}: {reason}",
                    actor.audit_name(),
                    actor.audit_name()
                )
            })
            .unwrap_or_default();
        let (now, today) = self.now_and_today();
        let original = Some(staged.original());
        let valid = is_valid_verdict(&verdict);
        let attached = reserved.is_some();
        let registered = if let Some(reserved) = reserved {
            // The number was reserved (`register number`): this is its original.
            let id = reserved.id.unwrap_or_default();
            let note = if history_note.is_empty() {
                format!("bản gốc của số đã giữ / original of the reserved number (sha256 {sha})")
            } else {
                history_note.clone()
            };
            let record = self
                .archive()
                .attach_original(id, staged, &note, now)
                .await?;
            let duplicates = match record.duplicate_key() {
                Some(key) => self
                    .archive()
                    .duplicates(&key)
                    .await?
                    .into_iter()
                    .filter(|d| d.id != record.id)
                    .collect(),
                None => Vec::new(),
            };
            Registered { record, duplicates }
        } else if job.incoming {
            self.office()
                .register_incoming_noted(
                    IncomingRequest {
                        agency: agency.clone(),
                        arrival_date: job.date.unwrap_or(today),
                        document_type: doc_type,
                        secrecy: job.fields.secrecy,
                        urgency: job.fields.urgency,
                        sender_number: number,
                        // Accepted (registered with số đến) only when its signatures are
                        // valid or the clerk decided to keep it unverified; an invalid one
                        // is only received, to be returned (Decision 28).
                        state: if job.accept && (valid || unverified.is_some()) {
                            IncomingState::Accepted
                        } else if valid {
                            IncomingState::Verified
                        } else {
                            IncomingState::Received
                        },
                        metadata,
                        original,
                    },
                    Some(staged),
                    now,
                    &history_note,
                )
                .await?
        } else {
            let (number, electronic) = match (&job.allocate, number) {
                (Some(a), _) => (
                    OutgoingNumber::Allocate {
                        issuer: a.issuer.clone(),
                        units: a.units.clone(),
                        advisory_body: a.advisory.clone(),
                    },
                    true,
                ),
                (None, Some(n)) if !n.is_empty() => (OutgoingNumber::Existing(n), false),
                (None, _) => (OutgoingNumber::None, false),
            };
            let state = if matches!(number, OutgoingNumber::None) {
                OutgoingState::Draft
            } else {
                OutgoingState::Issued
            };
            self.office()
                .register_outgoing_noted(
                    OutgoingRequest {
                        agency: agency.clone(),
                        date: date.unwrap_or(today),
                        document_type: doc_type,
                        secrecy: job.fields.secrecy,
                        urgency: job.fields.urgency,
                        electronic,
                        number,
                        state,
                        metadata,
                        original,
                    },
                    Some(staged),
                    now,
                    &history_note,
                )
                .await?
        };
        let record = &registered.record;
        let mut details = document_details(record);
        details.push(("verdict".into(), verdict.clone()));
        details.push(("sha256".into(), sha.clone()));
        if let Some((_, reason)) = &unverified {
            details.push(("accept_unverified".into(), reason.clone()));
        }
        if !registered.duplicates.is_empty() {
            let ids: Vec<String> = registered
                .duplicates
                .iter()
                .map(|d| d.id.unwrap_or_default().to_string())
                .collect();
            details.push(("same_number_as".into(), ids.join(",")));
        }
        self.record(AuditEvent {
            actor: actor.audit_name(),
            action: AuditAction::File,
            object: object(record),
            outcome: Outcome::Succeeded,
            details,
        })
        .await?;
        if job.incoming {
            let outcome = if valid {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            };
            let mut details = document_details(record);
            details.push(("verdict".into(), verdict.clone()));
            details.push(("sha256".into(), sha.clone()));
            self.record(AuditEvent {
                actor: actor.audit_name(),
                action: AuditAction::VerifyReceipt,
                object: object(record),
                outcome,
                details,
            })
            .await?;
        }
        // A reserved number was audited when it was taken.
        if record.series_number.is_some() && !attached {
            self.record(AuditEvent {
                actor: actor.audit_name(),
                action: AuditAction::Number,
                object: object(record),
                outcome: Outcome::Succeeded,
                details: document_details(record),
            })
            .await?;
        }
        self.index_documents(std::slice::from_ref(&registered.record));
        Ok(Filed::Stored(Box::new(registered), notes))
    }

    /// Records `action` on a document, with the document's details and `extra`.
    pub(crate) async fn record_on(
        &self,
        actor: &Actor,
        action: AuditAction,
        record: &DocumentRecord,
        outcome: Outcome,
        extra: Vec<(&str, String)>,
    ) -> AppResult<()> {
        let mut details = document_details(record);
        details.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        self.record(AuditEvent {
            actor: actor.audit_name(),
            action,
            object: object(record),
            outcome,
            details,
        })
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // Lifecycle and numbers
    // ------------------------------------------------------------------------------

    /// Moves a document one step through its lifecycle (`number`, `accept`, `refuse`,
    /// `assign`, `complete`…), as the actor.
    pub async fn advance(
        &self,
        actor: &Actor,
        id: i64,
        event: Event,
        request: StepRequest,
    ) -> AppResult<DocumentRecord> {
        let record = self.document_record(actor, id).await?;
        self.allow(actor, Action::Advance(event), &object(&record))
            .await?;
        if matches!(event, Event::LeaderSign | Event::SealSign) {
            // A signature step happens by signing, never by saying so.
            return Err(AppError::new(
                Kind::Conflict,
                "sign_to_advance",
                "bước ký chỉ hoàn thành bằng chữ ký số: dùng phiên ký (ký hai bước) hoặc ký bằng thiết bị của cơ quan trên máy chủ",
                "a signing step is done by signing: use a signing session (two-step) or the agency device on the server",
            ));
        }
        // Accepting is possible only from `verified` (the lifecycle says so otherwise).
        let unverified_accept = if event == Event::Accept
            && record.state == DocState::Incoming(IncomingState::Verified)
        {
            self.check_accept(actor, &record, &request).await?
        } else {
            None
        };
        let issuing = event == Event::Issue
            && record.electronic
            && record.state == DocState::Outgoing(OutgoingState::SealSigned);
        if issuing {
            self.archive_working_copy(&record).await?;
        }
        let (now, today) = self.now_and_today();
        let template = match (&request.issuer, event) {
            (Some(issuer), Event::Number) => {
                let units: Vec<&str> = request.units.iter().map(String::as_str).collect();
                Some(NotationTemplate::new(record.document_type, issuer, &units)?)
            }
            _ => None,
        };
        let step = Step {
            event,
            note: request.note.clone(),
            template,
            advisory_body: request.advisory.clone(),
            at: now,
            date: today,
        };
        let updated = match self.office().advance(id, step).await {
            Ok(updated) => updated,
            Err(e) => {
                if let kyso_office::OfficeError::Refused(refusal) = &e {
                    self.record_on(
                        actor,
                        AuditAction::Document(event),
                        &record,
                        Outcome::Refused,
                        vec![("reason", refusal.code.to_string())],
                    )
                    .await?;
                }
                return Err(e.into());
            }
        };
        let mut extra = vec![("note", request.note.clone())];
        if let Some(verdict) = unverified_accept {
            extra.push(("verdict", verdict));
            extra.push(("accept_unverified", request.note.trim().to_string()));
        }
        self.record_on(
            actor,
            AuditAction::Document(event),
            &updated,
            Outcome::Succeeded,
            extra,
        )
        .await?;
        // A document received from another agency reports the step to its sender.
        self.report_step(actor, &updated, event, &request.note)
            .await?;
        if issuing {
            self.drop_working_copies(id);
        }
        self.index_documents(std::slice::from_ref(&updated));
        Ok(updated)
    }

    /// Whether an incoming document may be accepted (registered with its arrival
    /// number) given the verification made on receipt: an invalid signature never
    /// (Decision 28: return it), a signature not verified (`indeterminate`, `unsigned`)
    /// only with the clerk's reason in the note. Refusals are audited. `Some(verdict)`:
    /// accepted on the clerk's decision.
    async fn check_accept(
        &self,
        actor: &Actor,
        record: &DocumentRecord,
        request: &StepRequest,
    ) -> AppResult<Option<String>> {
        let id = record.id.unwrap_or_default();
        if record.original.is_none() && record.archive_dir.is_none() {
            return Ok(None);
        }
        let verification = self.archive().verification(id).await?;
        let verdict = verification
            .as_ref()
            .and_then(|v| v.get("verdict").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "indeterminate".into());
        // Received from an agency whose signing certificates the directory lists, and
        // signed with none of them: not that agency's document, as far as kyso can tell.
        let foreign = verification
            .as_ref()
            .and_then(|v| v.pointer("/sender_certificate/matched"))
            == Some(&Value::Bool(false));
        if is_valid_verdict(&verdict) && !foreign {
            return Ok(None);
        }
        let refusal = if foreign && request.note.trim().is_empty() && !is_invalid_verdict(&verdict)
        {
            Some(AppError::new(
                Kind::Conflict,
                "unknown_signer",
                format!(
                    "chưa tiếp nhận văn bản {id}: không chữ ký nào được ký bằng chứng thư số mà danh bạ ghi cho cơ quan gửi. Muốn vẫn tiếp nhận thì ghi rõ lý do vào ghi chú (`--note \"lý do\"`; API: trường `note`), hoặc trả lại bằng bước `refuse`"
                ),
                format!(
                    "document {id} not accepted: none of its signatures is made with a certificate the directory records for the sending agency. To accept it anyway, give the reason in the note (`--note \"reason\"`; API: field `note`), or return it with the `refuse` step"
                ),
            ))
        } else if is_invalid_verdict(&verdict) {
            Some(AppError::new(
                Kind::Conflict,
                "invalid_signature",
                format!(
                    "không thể tiếp nhận văn bản {id} vào sổ: chữ ký số không hợp lệ (`{verdict}`). Văn bản đến có chữ ký không hợp lệ phải được trả lại: dùng bước `refuse` kèm lý do"
                ),
                format!(
                    "document {id} cannot be accepted: its signature is invalid (`{verdict}`). An incoming document with an invalid signature is returned: use the `refuse` step with a reason"
                ),
            ))
        } else if request.note.trim().is_empty() {
            Some(AppError::new(
                Kind::Conflict,
                "unverified",
                format!(
                    "chưa tiếp nhận văn bản {id}: chữ ký số chưa được xác minh là hợp lệ (kết quả: {}, `{verdict}`). Muốn vẫn tiếp nhận thì ghi rõ lý do vào ghi chú (`--note \"lý do\"`; API: trường `note`), hoặc trả lại bằng bước `refuse`",
                    verdict_vi(&verdict)
                ),
                format!(
                    "document {id} not accepted: its signature is not verified as valid (verdict `{verdict}`). To accept it anyway, give the reason in the note (`--note \"reason\"`; API: field `note`), or return it with the `refuse` step"
                ),
            ))
        } else {
            None
        };
        match refusal {
            Some(e) => {
                self.record_on(
                    actor,
                    AuditAction::Document(Event::Accept),
                    record,
                    Outcome::Refused,
                    vec![("reason", e.code.to_string()), ("verdict", verdict)],
                )
                .await?;
                Err(e)
            }
            None => Ok(Some(verdict)),
        }
    }

    /// Takes the next number of a register for a document kyso does not hold
    /// (`kyso register number`).
    pub async fn take_number(
        &self,
        actor: &Actor,
        request: NumberRequest,
    ) -> AppResult<Registered> {
        self.allow(actor, Action::TakeNumber, "register").await?;
        let (now, today) = self.now_and_today();
        let secret = request.fields.secrecy;
        let registered = self
            .office()
            .register_outgoing(
                OutgoingRequest {
                    agency: actor.agency().clone(),
                    date: request.date.unwrap_or(today),
                    document_type: request.doc_type,
                    secrecy: secret,
                    urgency: request.fields.urgency,
                    electronic: !request.paper && !secret.is_secret(),
                    number: OutgoingNumber::Allocate {
                        issuer: request.issuer.clone(),
                        units: request.units.clone(),
                        advisory_body: request.advisory.clone(),
                    },
                    state: OutgoingState::Numbered,
                    metadata: request.fields.metadata(request.agency_name.clone()),
                    original: None,
                },
                None,
                now,
            )
            .await?;
        self.record(AuditEvent {
            actor: actor.audit_name(),
            action: AuditAction::Number,
            object: object(&registered.record),
            outcome: Outcome::Succeeded,
            details: document_details(&registered.record),
        })
        .await?;
        Ok(registered)
    }

    /// The agency's electronic-issuing policy.
    pub async fn policy(&self, actor: &Actor) -> AppResult<ElectronicPolicy> {
        self.allow(actor, Action::ViewDocuments, "policy").await?;
        Ok(self.office().policy(actor.agency()).await?)
    }

    /// Sets the agency's electronic-issuing policy (`None`: back to the default).
    pub async fn set_policy(
        &self,
        actor: &Actor,
        types: Option<Vec<DocumentType>>,
    ) -> AppResult<ElectronicPolicy> {
        let agency = actor.agency().clone();
        self.allow(actor, Action::SetPolicy, &format!("policy:{agency}"))
            .await?;
        let policy = match &types {
            None => ElectronicPolicy::default(),
            Some(list) => ElectronicPolicy::new(list.clone()),
        };
        self.office()
            .set_policy(&agency, &policy, self.now())
            .await?;
        let listed = types
            .map(|t| {
                t.iter()
                    .map(|d| kyso_office::type_folder(*d))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_else(|| "default".into());
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::Permission,
                format!("policy:{agency}"),
                Outcome::Succeeded,
            )
            .with("electronic_types", listed),
        )
        .await?;
        Ok(self.office().policy(&agency).await?)
    }

    // ------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------

    pub(crate) async fn document_record(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<DocumentRecord> {
        let missing = || {
            AppError::not_found(
                format!("không có văn bản {id}"),
                format!("no document {id}"),
            )
        };
        let record = self.archive().document(id).await?.ok_or_else(missing)?;
        same_agency(actor, &record.agency, &format!("document {id}")).map_err(|_| missing())?;
        Ok(record)
    }

    /// The actor's agency's documents matching `query` (its agency is forced).
    pub async fn documents(
        &self,
        actor: &Actor,
        mut query: DocumentQuery,
    ) -> AppResult<Vec<DocumentRecord>> {
        self.allow(actor, Action::ViewDocuments, "documents")
            .await?;
        query.agency = Some(actor.agency().clone());
        Ok(self.archive().documents(&query).await?)
    }

    /// One document with its history, original's place and verification report.
    pub async fn document(&self, actor: &Actor, id: i64) -> AppResult<DocumentView> {
        self.allow(actor, Action::ViewDocuments, "documents")
            .await?;
        let record = self.document_record(actor, id).await?;
        let history = self.archive().history(id).await?;
        let path = self.archive().original_path(&record).and_then(|p| {
            p.strip_prefix(self.archive().root())
                .ok()
                .map(Path::to_path_buf)
        });
        let verification = self
            .archive()
            .verification(id)
            .await?
            .unwrap_or(Value::Null);
        Ok(DocumentView {
            record,
            history,
            path,
            verification,
        })
    }

    /// The original of a document: its path on disk and a download name.
    pub async fn original(&self, actor: &Actor, id: i64) -> AppResult<(PathBuf, String)> {
        self.allow(actor, Action::ViewDocuments, "documents")
            .await?;
        let record = self.document_record(actor, id).await?;
        let path = self.archive().original_path(&record).ok_or_else(|| {
            AppError::not_found(
                format!("văn bản {id} không có bản gốc điện tử"),
                format!("document {id} has no electronic original"),
            )
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document".into());
        Ok((path, name))
    }

    /// The archive's folders of the actor's agency: how many documents per year (newest
    /// first) and type — the tree without its documents, one grouped count however
    /// large the archive.
    pub async fn archive_counts(&self, actor: &Actor) -> AppResult<Vec<(u16, DocumentType, u64)>> {
        self.allow(actor, Action::ViewDocuments, "archive").await?;
        Ok(self.archive().document_counts(actor.agency()).await?)
    }

    /// The archive tree of the actor's agency: year (newest first) → type → documents.
    pub async fn tree(&self, actor: &Actor) -> AppResult<Vec<TreeYear>> {
        let docs = self.documents(actor, DocumentQuery::default()).await?;
        let mut years: std::collections::BTreeMap<
            u16,
            std::collections::BTreeMap<String, TreeType>,
        > = std::collections::BTreeMap::new();
        for d in docs {
            let folder = kyso_office::type_folder(d.document_type).to_string();
            let entry = years
                .entry(d.year)
                .or_default()
                .entry(folder.clone())
                .or_insert_with(|| TreeType {
                    folder,
                    name: d.document_type.vietnamese_name().to_string(),
                    documents: Vec::new(),
                });
            entry.documents.push(TreeDocument {
                id: d.id.unwrap_or_default(),
                number: d.metadata.number_notation(),
                subject: d.metadata.subject.clone(),
                folder: d.archive_dir.clone(),
            });
        }
        Ok(years
            .into_iter()
            .rev()
            .map(|(year, types)| TreeYear {
                year,
                types: types.into_values().collect(),
            })
            .collect())
    }

    // ------------------------------------------------------------------------------
    // Search
    // ------------------------------------------------------------------------------

    /// Where the search index lives.
    pub fn index_dir(&self) -> PathBuf {
        self.data().join("index")
    }

    /// Accent-insensitive search of the actor's agency's documents.
    pub async fn search(
        &self,
        actor: &Actor,
        mut query: kyso_search::Query,
    ) -> AppResult<kyso_search::Results> {
        self.allow(actor, Action::ViewDocuments, "search").await?;
        query.agency_id = Some(actor.agency().to_string());
        query.limit = query.limit.min(200);
        let dir = self.index_dir();
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            // What was just filed is found: queued records are written first.
            app.flush_index();
            if !dir.exists() {
                return Ok(kyso_search::Results {
                    total: 0,
                    hits: Vec::new(),
                    facets: None,
                });
            }
            let index = kyso_search::Index::open(&dir)?;
            index.search(&query)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(|e| {
            AppError::new(
                Kind::Unavailable,
                "search_index",
                format!("chỉ mục tìm kiếm không dùng được ({e}); chạy `kyso archive reindex`"),
                format!("the search index is unusable ({e}); run `kyso archive reindex`"),
            )
        })
    }

    /// The search document of a record (`None`: not searchable, e.g. recalled).
    pub fn search_doc(&self, d: &DocumentRecord) -> Option<kyso_search::SearchDoc> {
        let id = d.id?;
        if matches!(d.state, DocState::Incoming(IncomingState::Recalled)) {
            return None;
        }
        let full_text = self
            .archive()
            .original_path(d)
            .filter(|p| is_pdf_name(p))
            .and_then(|p| fs::read(p).ok())
            .map(|bytes| full_text(&bytes))
            .unwrap_or_default();
        Some(kyso_search::SearchDoc {
            id: id.to_string(),
            agency_id: d.agency.to_string(),
            year: d.year,
            doc_type: kyso_search::type_code(d.document_type).to_string(),
            number: d
                .metadata
                .code_number
                .as_deref()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            notation: d.metadata.number_notation().unwrap_or_default(),
            issued_date: d
                .metadata
                .issued_date
                .or(d.metadata.arrival_date)
                .unwrap_or_else(|| d.created_at.date()),
            issuer: d.metadata.organ_name.clone(),
            subject: d.metadata.subject.clone(),
            signer: d
                .metadata
                .signer_info
                .iter()
                .map(|s| s.full_name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            full_text,
            path: d.archive_dir.clone().unwrap_or_default(),
        })
    }

    /// The search documents of every non-secret document of the actor's agency (for a
    /// rebuild of the index).
    pub async fn search_docs(&self, actor: &Actor) -> AppResult<Vec<kyso_search::SearchDoc>> {
        let docs = self.documents(actor, DocumentQuery::default()).await?;
        Ok(docs
            .iter()
            .filter(|d| !d.secrecy.is_secret())
            .filter_map(|d| self.search_doc(d))
            .collect())
    }
}

/// A record's JSON with its history, path and verification (what `kyso archive show`
/// prints and `GET /api/v1/documents/{id}` answers).
pub fn view_json(view: &DocumentView) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrecy_and_urgency_parse_with_or_without_accents() {
        assert_eq!(parse_secrecy("Tuyệt mật").unwrap(), Secrecy::TuyetMat);
        assert_eq!(parse_secrecy("mat").unwrap(), Secrecy::Mat);
        assert_eq!(parse_secrecy("").unwrap(), Secrecy::None);
        assert_eq!(parse_urgency("Hỏa tốc").unwrap(), Urgency::HoaToc);
        assert_eq!(parse_urgency("thuong-khan").unwrap(), Urgency::ThuongKhan);
        assert_eq!(parse_urgency("gấp").unwrap_err().code, "bad_urgency");
    }

    #[test]
    fn reads_a_first_page() {
        let lines: Vec<String> = [
            "ỦY BAN NHÂN DÂN",
            "THÀNH PHỐ CẦN THƠ",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Số: 15/QĐ-UBND",
            "Cần Thơ, ngày 05 tháng 01 năm 2025",
            "QUYẾT ĐỊNH",
            "Về việc bổ nhiệm cán bộ",
        ]
        .map(String::from)
        .to_vec();
        let page = read_first_page(&lines);
        assert_eq!(page.number.as_deref(), Some("15/QĐ-UBND"));
        assert_eq!(page.date, Some(time::macros::date!(2025 - 01 - 05)));
        assert_eq!(page.doc_type, Some(DocumentType::QuyetDinh));
        assert_eq!(page.subject.as_deref(), Some("Về việc bổ nhiệm cán bộ"));
        let cv = read_first_page(&["Số: 120/SNV-VP".into(), "V/v báo cáo".into()]);
        assert_eq!(cv.doc_type, Some(DocumentType::CongVan));
        assert_eq!(cv.subject.as_deref(), Some("V/v báo cáo"));
        assert_eq!(
            read_first_page(&["nothing here".into()]),
            FirstPage::default()
        );
    }

    #[test]
    fn types_are_read_leniently() {
        assert_eq!(parse_type("QĐ").unwrap(), DocumentType::QuyetDinh);
        assert_eq!(parse_type("cv").unwrap(), DocumentType::CongVan);
        assert_eq!(parse_type("Quyết định").unwrap(), DocumentType::QuyetDinh);
        assert_eq!(parse_type("thong_bao").unwrap(), DocumentType::ThongBao);
        assert_eq!(parse_type("GM").unwrap(), DocumentType::GiayMoi);
        assert!(parse_type("XYZ").is_err());
    }
}
