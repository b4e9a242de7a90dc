//! `kyso archive …` and `kyso register …`: the clerk's office on the command line.
//!
//! Resolution: the data directory (`--data`, `KYSO_DATA`, default), the agency
//! (`--agency-id` / `KYSO_AGENCY_ID`, name `--agency-name` / `KYSO_AGENCY_NAME`) and the
//! database (`--database-url` / `KYSO_DATABASE_URL`, default SQLite `<data>/kyso.db`).
//! The rules live in `kyso-office`, storage in `kyso-store`; this module parses,
//! verifies originals, reads numbers from first pages, and prints.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use kyso_app::documents::{
    self, Allocate, DocFields, FileRequest, Filed, NumberRequest, StepRequest,
};
use kyso_app::records::NewRecordFile;
use kyso_model::{DocumentType, Secrecy, Urgency};
use kyso_office::{DocumentQuery, DocumentRecord, Event, OfficeError, Store as _, to_csv, to_pdf};
use serde_json::{Value, json};
use time::Date;

use crate::args::{Lang, OfficeArgs};
use crate::office::Ctx;

#[derive(Debug, Subcommand)]
pub(crate) enum ArchiveCommand {
    /// Archive one signed original (PDF, or any file with its detached .p7s).
    Add(Box<AddArgs>),
    /// Ingest a folder of existing signed PDFs / .p7s: verify each, read number, notation,
    /// date and type from the first page, archive; originals are never modified.
    Import(ImportArgs),
    /// List archived documents.
    List(ListArgs),
    /// Show one document with its history.
    Show {
        #[command(flatten)]
        office: OfficeArgs,
        /// Document id.
        id: i64,
    },
    /// Move a document along its lifecycle (leader-sign, number, seal-sign, issue,
    /// recall; verify, accept, refuse, assign, start-processing, complete).
    Step(StepArgs),
    /// Records files (hồ sơ).
    #[command(subcommand)]
    File(FileCommand),
    /// The file list (danh mục hồ sơ) of a year.
    Files(FilesArgs),
    /// Export a file's documents and metadata, in chronological order, as the originals
    /// plus a PDF document list and an XML description.
    Export(ExportArgs),
    /// Check the archive: every document's files present with their SHA-256, nothing
    /// pending, numbers without gap or duplicate.
    Check {
        #[command(flatten)]
        office: OfficeArgs,
        /// Language of the findings (Vietnamese by default).
        #[arg(long, value_enum, default_value_t = Lang::Vi)]
        lang: Lang,
    },
    /// Rebuild the full-text search index from the archive.
    Reindex {
        #[command(flatten)]
        office: OfficeArgs,
    },
    /// Seal the originals waiting for their evidence record (RFC 4998): one time-stamp
    /// from the TSA over all of them, evidence.ers beside each.
    Evidence(crate::evidence::SealArgs),
    /// Verify an archived original with its evidence record: the record now (or --at),
    /// the signatures as of its proof-of-existence time with the captured material.
    Verify(crate::evidence::ArchiveVerifyArgs),
    /// Renew evidence records: a new time-stamp before the last TSA certificate
    /// expires (--before DAYS), or a new hash tree (--hash sha512).
    Renew(crate::evidence::RenewArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SecrecyArg {
    Mat,
    ToiMat,
    TuyetMat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UrgencyArg {
    Thuong,
    Khan,
    ThuongKhan,
    HoaToc,
}

fn secrecy(arg: Option<SecrecyArg>) -> Secrecy {
    match arg {
        None => Secrecy::None,
        Some(SecrecyArg::Mat) => Secrecy::Mat,
        Some(SecrecyArg::ToiMat) => Secrecy::ToiMat,
        Some(SecrecyArg::TuyetMat) => Secrecy::TuyetMat,
    }
}

fn urgency(arg: Option<UrgencyArg>) -> Urgency {
    match arg {
        None | Some(UrgencyArg::Thuong) => Urgency::Thuong,
        Some(UrgencyArg::Khan) => Urgency::Khan,
        Some(UrgencyArg::ThuongKhan) => Urgency::ThuongKhan,
        Some(UrgencyArg::HoaToc) => Urgency::HoaToc,
    }
}

/// Metadata options shared by `archive add` and `register number`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DocArgs {
    /// Document type: abbreviation (QĐ, CV, TB, BC…), or name ("Quyết định").
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) doc_type: Option<String>,
    /// Document date YYYY-MM-DD (default: today in Vietnam; incoming: arrival date).
    #[arg(long, value_name = "DATE")]
    pub(crate) date: Option<String>,
    /// Summary (trích yếu).
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Secrecy level: such documents are registered in the secret series, metadata only.
    #[arg(long, value_enum)]
    pub(crate) secrecy: Option<SecrecyArg>,
    /// Urgency.
    #[arg(long, value_enum)]
    pub(crate) urgency: Option<UrgencyArg>,
    /// Signer's full name.
    #[arg(long)]
    pub(crate) signer: Option<String>,
    /// Signer's position.
    #[arg(long)]
    pub(crate) signer_position: Option<String>,
    /// Recipient agency (outgoing). Repeatable.
    #[arg(long = "recipient", value_name = "NAME")]
    pub(crate) recipients: Vec<String>,
    /// Unit or person holding the file copy (outgoing) / receiving it (incoming).
    #[arg(long, value_name = "UNIT")]
    pub(crate) holder: Option<String>,
    /// Number of copies issued.
    #[arg(long)]
    pub(crate) copies: Option<u32>,
    /// Notes.
    #[arg(long)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    #[command(flatten)]
    pub(crate) doc: DocArgs,
    /// The signed original.
    pub(crate) file: PathBuf,
    /// Its detached CAdES signature (default: FILE.p7s when it exists; required for a
    /// file that is not a PDF).
    #[arg(long, value_name = "P7S")]
    pub(crate) sig: Option<PathBuf>,
    /// Number and notation already assigned (15/QĐ-UBND); default: read from the first
    /// page of a PDF.
    #[arg(long, value_name = "NUMBER", conflicts_with = "allocate")]
    pub(crate) number: Option<String>,
    /// Take the next number of the register (outgoing, electronic).
    #[arg(long, requires = "issuer")]
    pub(crate) allocate: bool,
    /// Issuer abbreviation in the notation (UBND), with --allocate.
    #[arg(long)]
    pub(crate) issuer: Option<String>,
    /// Unit group of the notation (a Công văn's drafting unit). Repeatable.
    #[arg(long = "unit")]
    pub(crate) units: Vec<String>,
    /// Number in this advisory body's own series.
    #[arg(long, value_name = "NAME")]
    pub(crate) advisory: Option<String>,
    /// An incoming document (it gets the arrival number, số đến).
    #[arg(long)]
    pub(crate) incoming: bool,
    /// Sender agency name (incoming) / issuing agency name.
    #[arg(long = "from", value_name = "AGENCY")]
    pub(crate) from: Option<String>,
    /// Put it into this records file (hồ sơ) code.
    #[arg(long, value_name = "FILECODE")]
    pub(crate) file_code: Option<String>,
    /// Do not fetch revocation data while verifying.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Archive even when the signature is invalid (the report is kept).
    #[arg(long)]
    pub(crate) accept_invalid: bool,
    /// Archive even when the signature cannot be verified (indeterminate: e.g. a CA not
    /// trusted here; or unsigned), for this reason, recorded with your name in the
    /// document's history and the audit log (the report is kept).
    #[arg(long, value_name = "REASON")]
    pub(crate) accept_unverified: Option<String>,
    /// Print the stored record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// The folder (searched recursively).
    pub(crate) dir: PathBuf,
    /// The documents were received (each gets an arrival number).
    #[arg(long)]
    pub(crate) incoming: bool,
    /// Do not fetch revocation data while verifying.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Type to use when the first page does not tell.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) doc_type: Option<String>,
    /// Archive even documents whose signature is invalid (the report is kept).
    #[arg(long)]
    pub(crate) accept_invalid: bool,
    /// Archive even documents whose signature cannot be verified (indeterminate, or
    /// unsigned PDFs), for this reason, recorded in each one's history and the audit log.
    #[arg(long, value_name = "REASON")]
    pub(crate) accept_unverified: Option<String>,
    /// Follow symbolic links, only to files and folders inside DIR (by default links are
    /// skipped).
    #[arg(long)]
    pub(crate) follow_symlinks: bool,
    /// One JSON object: every file with its outcome (stored / skipped / failed) and why.
    #[arg(long)]
    pub(crate) json: bool,
    /// Language of the lines (Vietnamese by default).
    #[arg(long, value_enum, default_value_t = Lang::Vi)]
    pub(crate) lang: Lang,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// Year.
    #[arg(long)]
    pub(crate) year: Option<u16>,
    /// Type.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) doc_type: Option<String>,
    /// Only incoming documents.
    #[arg(long, conflicts_with = "outgoing")]
    pub(crate) incoming: bool,
    /// Only outgoing documents.
    #[arg(long)]
    pub(crate) outgoing: bool,
    /// One JSON array.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StepArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// Document id.
    pub(crate) id: i64,
    /// Event: leader-sign, number, seal-sign, issue, recall, verify, accept, refuse,
    /// assign, start-processing, complete.
    pub(crate) event: String,
    /// Reason (refuse; accepting an incoming document whose signature is not
    /// verified), instruction or note.
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    /// Issuer abbreviation, for `number`.
    #[arg(long)]
    pub(crate) issuer: Option<String>,
    /// Unit groups, for `number`.
    #[arg(long = "unit")]
    pub(crate) units: Vec<String>,
    /// Advisory body series, for `number`.
    #[arg(long)]
    pub(crate) advisory: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FileCommand {
    /// Open a records file.
    Create(FileCreateArgs),
    /// Put a document into a file.
    Add {
        #[command(flatten)]
        office: OfficeArgs,
        /// File code (000.00.00.H13.2025.01.TCCB) or, with --year, the notation (01.TCCB).
        code: String,
        /// Document id.
        id: i64,
        /// Year, when CODE is only the notation.
        #[arg(long)]
        year: Option<u16>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FileCreateArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// File notation (01.TCCB) or full file code.
    pub(crate) code: String,
    /// Year the file is opened (default: this year).
    #[arg(long)]
    pub(crate) year: Option<u16>,
    /// Title.
    #[arg(long)]
    pub(crate) title: String,
    /// Heading of the file list (I. Tổ chức cán bộ).
    #[arg(long, default_value = "")]
    pub(crate) heading: String,
    /// Retention: "Vĩnh viễn" or a number of years.
    #[arg(long, default_value = "Vĩnh viễn")]
    pub(crate) maintenance: String,
    /// Creator (unit or person).
    #[arg(long, default_value = "")]
    pub(crate) creator: String,
    /// Access regime.
    #[arg(long, default_value = "")]
    pub(crate) rights: String,
    /// Notes.
    #[arg(long, default_value = "")]
    pub(crate) note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Text,
    Csv,
    Pdf,
}

#[derive(Debug, Args)]
pub(crate) struct FilesArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// Year (default: this year).
    #[arg(long)]
    pub(crate) year: Option<u16>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub(crate) format: ListFormat,
    /// Write to this file instead of standard output (required for pdf).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// File code (000.00.00.H13.2025.01.TCCB).
    pub(crate) code: String,
    /// Output folder (a sub-folder named after the file code is created in it).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegisterCommand {
    /// Take the next number of a register for a document (metadata only; archive the
    /// signed original later with `kyso archive add --number`).
    Number(Box<NumberArgs>),
    /// Print a register of a year as CSV or PDF (ND30 App. IV columns).
    Print(PrintArgs),
    /// Show or set which document types the agency issues electronically.
    Policy(PolicyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NumberArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    #[command(flatten)]
    pub(crate) doc: DocArgs,
    /// Issuer abbreviation in the notation (UBND).
    #[arg(long)]
    pub(crate) issuer: String,
    /// Unit group of the notation (a Công văn's drafting unit). Repeatable.
    #[arg(long = "unit")]
    pub(crate) units: Vec<String>,
    /// Number in this advisory body's own series.
    #[arg(long, value_name = "NAME")]
    pub(crate) advisory: Option<String>,
    /// A paper document: the electronic policy does not apply.
    #[arg(long)]
    pub(crate) paper: bool,
    /// Print the stored record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PrintArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// Year (default: this year).
    #[arg(long)]
    pub(crate) year: Option<u16>,
    /// Register: outgoing, incoming, secret, copies, minutes, advisory/<name>.
    #[arg(long, default_value = "outgoing")]
    pub(crate) register: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PrintFormat::Csv)]
    pub(crate) format: PrintFormat,
    /// Write to this file (required for pdf; default for csv: standard output).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrintFormat {
    Csv,
    Pdf,
}

#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// The types issued electronically, comma-separated (CV,BC,GM,TB,QĐ).
    #[arg(long, value_name = "TYPES", conflicts_with = "reset")]
    pub(crate) set: Option<String>,
    /// Back to the default list (công văn, báo cáo, giấy mời, thông báo).
    #[arg(long)]
    pub(crate) reset: bool,
}

fn parse_date(text: &str) -> Result<Date> {
    Ok(documents::parse_date(text)?)
}

fn parse_type(text: &str) -> Result<DocumentType> {
    Ok(documents::parse_type(text)?)
}

fn office_error(e: OfficeError) -> anyhow::Error {
    match e {
        OfficeError::Refused(r) => anyhow!("{} / {}", r.vi, r.en),
        other => anyhow!(other),
    }
}

impl DocArgs {
    fn fields(&self) -> DocFields {
        DocFields {
            subject: self.subject.clone(),
            secrecy: secrecy(self.secrecy),
            urgency: urgency(self.urgency),
            signer: self.signer.clone(),
            signer_position: self.signer_position.clone(),
            recipients: self.recipients.clone(),
            holder: self.holder.clone(),
            copies: self.copies,
            note: self.note.clone(),
        }
    }
}

fn print_record(
    record: &DocumentRecord,
    duplicates: &[DocumentRecord],
    json_out: bool,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(record)?)?;
    } else {
        writeln!(out, "{}", summary(record))?;
        if let Some(dir) = &record.archive_dir {
            writeln!(out, "  lưu tại / stored at: archive/{dir}")?;
        }
    }
    for d in duplicates {
        eprintln!(
            "kyso: CẢNH BÁO trùng số, ký hiệu, cơ quan ban hành / WARNING duplicate number, notation and issuer: {} (id {})",
            d.metadata.number_notation().unwrap_or_default(),
            d.id.unwrap_or_default()
        );
    }
    Ok(())
}

fn summary(d: &DocumentRecord) -> String {
    let number = d
        .metadata
        .number_notation()
        .map(|n| format!("Số: {n}"))
        .unwrap_or_else(|| "(chưa có số / no number)".into());
    let arrival = d
        .metadata
        .arrival_number
        .map(|n| format!(" — số đến / arrival no. {n:02}"))
        .unwrap_or_default();
    format!(
        "[{}] {} {} — {}{} — {} ({})",
        d.id.unwrap_or_default(),
        d.metadata.type_name,
        number,
        d.metadata
            .issued_date
            .map(kyso_office::date_opt::format_date)
            .unwrap_or_default(),
        arrival,
        d.metadata.subject,
        d.state
    )
}

// ----------------------------------------------------------------------------------
// add / import
// ----------------------------------------------------------------------------------

/// One original to file, as the command line gives it.
struct Ingest<'a> {
    file: &'a Path,
    signature: Option<PathBuf>,
    doc_type: Option<DocumentType>,
    number: Option<String>,
    date: Option<Date>,
    incoming: bool,
    offline: bool,
    accept_invalid: bool,
    accept_unverified: Option<String>,
    fields: DocFields,
    from: Option<String>,
    allocate: Option<Allocate>,
}

fn ingest(ctx: &Ctx, job: Ingest<'_>) -> Result<Filed> {
    let request = FileRequest {
        file: job.file.to_path_buf(),
        shown_name: None,
        is_pdf: None,
        signature: job.signature,
        doc_type: job.doc_type,
        number: job.number,
        date: job.date,
        incoming: job.incoming,
        accept: true,
        offline: job.offline,
        accept_invalid: job.accept_invalid,
        fields: job.fields,
        from: job.from,
        agency_name: ctx.agency_name.clone(),
        allocate: job.allocate,
    };
    Ok(ctx.block(ctx.app.file_document_decided(
        &ctx.operator(),
        request,
        job.accept_unverified.as_deref(),
    ))?)
}

fn signature_for(file: &Path, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(g) = given {
        return Some(g.to_path_buf());
    }
    let candidate = kyso_app::verify::p7s_beside(file);
    candidate.is_file().then_some(candidate)
}

fn add(ctx: &Ctx, a: &AddArgs) -> Result<()> {
    if let Some(number) = &a.number {
        kyso_office::check_number(number).map_err(office_error)?;
    }
    let doc_type = a.doc.doc_type.as_deref().map(parse_type).transpose()?;
    let date = a.doc.date.as_deref().map(parse_date).transpose()?;
    let outcome = ingest(
        ctx,
        Ingest {
            file: &a.file,
            signature: signature_for(&a.file, a.sig.as_deref()),
            doc_type,
            number: a.number.clone(),
            date,
            incoming: a.incoming,
            offline: a.offline,
            accept_invalid: a.accept_invalid,
            accept_unverified: a.accept_unverified.clone(),
            fields: a.doc.fields(),
            from: a.from.clone(),
            allocate: a.allocate.then(|| Allocate {
                issuer: a.issuer.clone().unwrap_or_default(),
                units: a.units.clone(),
                advisory: a.advisory.clone(),
            }),
        },
    )?;
    match outcome {
        Filed::Stored(registered, notes) => {
            for n in notes {
                eprintln!("kyso: lưu ý / note: {n}");
            }
            if let (Some(code), Some(id)) = (&a.file_code, registered.record.id) {
                let actor = ctx.operator();
                let code = ctx.app.file_code(&actor, code, None)?;
                let ordinal = ctx.block(ctx.app.add_to_record_file(&actor, &code, id))?;
                eprintln!("kyso: vào hồ sơ / filed in {code} as no. {ordinal}");
            }
            print_record(&registered.record, &registered.duplicates, a.json)
        }
        Filed::Skipped(why) => bail!("{}: {} / {}", a.file.display(), why.vi, why.en),
    }
}

/// A text in both languages (`vi / en` as kyso-app writes them).
#[derive(Debug, Clone)]
struct Said {
    vi: String,
    en: String,
}

impl Said {
    fn new(vi: &str, en: &str) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// `vi / en` split at the first ` / ` (both sides the whole text when there is none).
    fn split(text: &str) -> Self {
        match text.split_once(" / ") {
            Some((vi, en)) => Self::new(vi, en),
            None => Self::new(text, text),
        }
    }

    /// An error as kyso-app reports it (its two messages), else its text.
    fn of_error(e: &anyhow::Error) -> Self {
        match e.downcast_ref::<kyso_app::AppError>() {
            Some(app) => Self::new(&app.vi, &app.en),
            None => Self::split(&format!("{e:#}")),
        }
    }

    fn pick(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }

    fn json(&self) -> Value {
        json!({"vi": self.vi, "en": self.en})
    }
}

/// A finding of `kyso archive check` in both languages. kyso-store writes some as
/// `vi / en` and the others in English only; those are put into Vietnamese here.
fn check_finding(text: &str) -> Said {
    // `không đọc được / cannot inspect PATH: ERROR` (the permissions walk).
    if let Some(rest) = text.strip_prefix("không đọc được / ") {
        let what = rest
            .strip_prefix("cannot inspect ")
            .or_else(|| rest.strip_prefix("cannot list "))
            .unwrap_or(rest);
        return Said::new(&format!("không đọc được {what}"), rest);
    }
    // `PATH: quyền … / mode …` (the permissions walk): the path goes with both.
    if let Some((vi, en)) = text.split_once(" / mode ")
        && let Some((path, _)) = vi.split_once(": quyền ")
    {
        return Said::new(vi, &format!("{path}: mode {en}"));
    }
    if let Some(rest) = text.strip_prefix("document ")
        && let Some((id, what)) = rest.split_once(": ")
        && id.bytes().all(|b| b.is_ascii_digit())
    {
        let vi = if what == "files still pending" {
            "các tệp vẫn đang chờ đưa vào kho (chưa hoàn tất)".to_string()
        } else if let Some(e) = what.strip_prefix("unreadable record: ") {
            format!("không đọc được bản ghi: {e}")
        } else if let Some(dir) = what
            .strip_prefix("folder ")
            .and_then(|w| w.strip_suffix(" but no original recorded"))
        {
            format!("có thư mục {dir} nhưng không ghi nhận bản gốc")
        } else if let Some(file) = what.strip_prefix("stray file ") {
            format!("tệp lạ {file}")
        } else if let Some(dir) = what.strip_suffix("/metadata.json missing") {
            format!("thiếu {dir}/metadata.json")
        } else if let Some(path) =
            what.strip_suffix(" is missing or not the material captured on archiving")
        {
            format!("thiếu {path} hoặc không còn là dữ liệu xác minh thu thập khi lưu trữ")
        } else if let Some(path) = what
            .strip_prefix("sealed but ")
            .and_then(|w| w.strip_suffix(" is missing"))
        {
            format!("đã niêm phong nhưng thiếu bằng chứng lưu trữ {path}")
        } else if let Some((path, tail)) = what.split_once(" has SHA-256 ") {
            let tail = tail
                .replace(" bytes)", " byte)")
                .replace(", expected ", ", lẽ ra là ");
            format!("{path} có SHA-256 {tail}")
        } else {
            format!("sự cố khi đọc: {what}")
        };
        return Said::new(&format!("văn bản {id}: {vi}"), text);
    }
    if let Some(dir) = text
        .strip_prefix("folder ")
        .and_then(|t| t.strip_suffix(" is not a known document"))
    {
        return Said::new(
            &format!("thư mục {dir} không thuộc văn bản nào đã đăng ký"),
            text,
        );
    }
    if let Some(rest) = text.strip_prefix("series ")
        && let Some((series, tail)) = rest.split_once(": numbers ")
        && let Some((numbers, last)) = tail
            .strip_suffix(" without gap or duplicate")
            .and_then(|t| t.rsplit_once(" are not 1.."))
    {
        let numbers = numbers
            .replace(" numbers from ", " số, từ ")
            .replace(" to ", " đến ");
        return Said::new(
            &format!(
                "sổ {series}: các số {numbers} không liền mạch từ 1 đến {last} (có số bị thiếu hoặc trùng)"
            ),
            text,
        );
    }
    Said::split(text)
}

/// One entry of a folder to import.
enum Candidate {
    /// A file to file, with its detached signature when there is one.
    File(PathBuf, Option<PathBuf>),
    /// An entry not imported, and why.
    Skip(PathBuf, Said),
}

/// Entries of a folder to import: PDFs (with their .p7s if present) and other files that
/// have a detached .p7s; sorted, recursive, hidden entries left out. A symbolic link is
/// not followed (reported as skipped) unless `follow`, and even then never to anything
/// outside `dir`.
fn import_candidates(dir: &Path, follow: bool) -> Result<Vec<Candidate>> {
    let root = fs::canonicalize(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut files = Vec::new();
    let mut skips = Vec::new();
    let mut visited = std::collections::HashSet::from([root.clone()]);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                if !follow {
                    skips.push(Candidate::Skip(
                        path,
                        Said::new(
                            "liên kết tượng trưng, không theo (--follow-symlinks để theo các liên kết trong thư mục)",
                            "symbolic link, not followed (--follow-symlinks follows links within the folder)",
                        ),
                    ));
                    continue;
                }
                let target = match fs::canonicalize(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        skips.push(Candidate::Skip(
                            path,
                            Said::new(
                                &format!("liên kết hỏng: {e}"),
                                &format!("broken symbolic link: {e}"),
                            ),
                        ));
                        continue;
                    }
                };
                if !target.starts_with(&root) {
                    skips.push(Candidate::Skip(
                        path,
                        Said::new(
                            &format!(
                                "liên kết trỏ ra ngoài thư mục nhập ({}), không theo",
                                target.display()
                            ),
                            &format!(
                                "symbolic link to {} outside the imported folder, not followed",
                                target.display()
                            ),
                        ),
                    ));
                    continue;
                }
                if target.is_dir() {
                    // Each folder once: links may form loops.
                    if visited.insert(target) {
                        stack.push(path);
                    }
                } else {
                    files.push(path);
                }
            } else if kind.is_dir() {
                if visited.insert(fs::canonicalize(&path).unwrap_or_else(|_| path.clone())) {
                    stack.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let set: std::collections::HashSet<PathBuf> = files.iter().cloned().collect();
    let mut out = Vec::new();
    for f in &files {
        // Names as bytes: a name that is not UTF-8 keeps its own `.p7s`.
        if f.extension().is_some_and(|e| e == "p7s") {
            let content = f.with_extension("");
            if !set.contains(&content) {
                out.push(Candidate::Skip(
                    f.clone(),
                    Said::new(
                        "chữ ký thiếu tệp nội dung",
                        "signature without its content file",
                    ),
                ));
            }
            continue;
        }
        let sig = kyso_app::verify::p7s_beside(f);
        let sig = set.contains(&sig).then_some(sig);
        out.push(Candidate::File(f.clone(), sig));
    }
    out.extend(skips);
    out.sort_by(|a, b| {
        let path = |c: &Candidate| match c {
            Candidate::File(p, _) | Candidate::Skip(p, _) => p.clone(),
        };
        path(a).cmp(&path(b))
    });
    Ok(out)
}

/// A PDF by its name or its first bytes (as kyso-app decides).
fn looks_like_pdf(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
    {
        return true;
    }
    let mut head = [0u8; 5];
    fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"%PDF-"
}

/// What happened to one entry: `stored`, `skipped` (already archived, or not something
/// to import) or `failed` (refused or an error), and why.
struct Imported {
    file: String,
    outcome: &'static str,
    record: Option<DocumentRecord>,
    duplicate: bool,
    notes: Vec<Said>,
    reason: Option<Said>,
}

impl Imported {
    fn json(&self) -> Value {
        let mut v = json!({"file": self.file, "outcome": self.outcome});
        if let Some(r) = &self.record {
            v["id"] = json!(r.id);
            v["number"] = json!(r.metadata.number_notation());
            v["arrival_number"] = json!(r.metadata.arrival_number);
            v["archive_dir"] = json!(r.archive_dir);
            v["duplicate_number"] = json!(self.duplicate);
        }
        if !self.notes.is_empty() {
            v["notes"] = Value::Array(self.notes.iter().map(Said::json).collect());
        }
        if let Some(reason) = &self.reason {
            v["reason"] = reason.json();
        }
        v
    }

    fn line(&self, lang: Lang) -> String {
        let vi = lang == Lang::Vi;
        let mut line = match (&self.record, &self.reason) {
            (Some(r), _) => format!(
                "✓ {}: {} {}",
                self.file,
                if vi { "đã lưu" } else { "stored" },
                summary(r)
            ),
            (None, reason) => format!(
                "{} {}: {}: {}",
                if self.outcome == "failed" {
                    "✗"
                } else {
                    "–"
                },
                self.file,
                match (self.outcome, vi) {
                    ("failed", true) => "lỗi",
                    ("failed", false) => "failed",
                    (_, true) => "bỏ qua",
                    (_, false) => "skipped",
                },
                reason.as_ref().map(|r| r.pick(lang)).unwrap_or_default()
            ),
        };
        for n in &self.notes {
            line.push_str(&format!(
                "\n    {}: {}",
                if vi { "lưu ý" } else { "note" },
                n.pick(lang)
            ));
        }
        if self.duplicate {
            line.push_str(if vi {
                "\n    CẢNH BÁO: trùng số"
            } else {
                "\n    WARNING: duplicate number"
            });
        }
        line
    }
}

/// Why one file was not filed.
enum NotFiled {
    /// Not for filing (already archived, not a PDF and no .p7s).
    Skipped(Said),
    /// An error.
    Failed(anyhow::Error),
}

/// Files one candidate of `kyso archive import`.
fn import_one(
    ctx: &Ctx,
    a: &ImportArgs,
    default_type: Option<DocumentType>,
    file: &Path,
    signature: Option<PathBuf>,
) -> Result<Filed, NotFiled> {
    if signature.is_none() && !looks_like_pdf(file) {
        return Err(NotFiled::Skipped(Said::new(
            "không phải PDF và không có chữ ký .p7s đi kèm",
            "not a PDF and no detached .p7s signature",
        )));
    }
    let (sha, _) = kyso_store::sha256_file(file).map_err(|e| NotFiled::Failed(e.into()))?;
    if let Some(existing) = ctx
        .block(ctx.archive().by_sha256(&ctx.agency, &sha))
        .map_err(|e| NotFiled::Failed(e.into()))?
    {
        let at = format!(
            "[{}] {}",
            existing.id.unwrap_or_default(),
            existing.archive_dir.unwrap_or_default()
        );
        return Err(NotFiled::Skipped(Said::new(
            &format!("đã lưu trữ: {at}"),
            &format!("already archived as {at}"),
        )));
    }
    let job = |doc_type| Ingest {
        file,
        signature: signature.clone(),
        doc_type,
        number: None,
        date: None,
        incoming: a.incoming,
        offline: a.offline,
        accept_invalid: a.accept_invalid,
        accept_unverified: a.accept_unverified.clone(),
        fields: DocFields::default(),
        from: None,
        allocate: None,
    };
    match ingest(ctx, job(None)) {
        // Retry with the default type when only the type was missing.
        Err(e)
            if default_type.is_some()
                && e.downcast_ref::<kyso_app::AppError>()
                    .is_some_and(|app| app.code == "type_unknown") =>
        {
            ingest(ctx, job(default_type)).map_err(NotFiled::Failed)
        }
        other => other.map_err(NotFiled::Failed),
    }
}

fn shown_in(dir: &Path, file: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).display().to_string()
}

fn import(ctx: &Ctx, a: &ImportArgs) -> Result<bool> {
    let default_type = a.doc_type.as_deref().map(parse_type).transpose()?;
    let candidates = import_candidates(&a.dir, a.follow_symlinks)?;
    // The bar goes to standard error, and only on a terminal; the lines go to stdout.
    let bar = indicatif::ProgressBar::new(candidates.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut results = Vec::new();
    for candidate in candidates {
        let outcome = match candidate {
            Candidate::Skip(file, reason) => (file, Err(NotFiled::Skipped(reason))),
            Candidate::File(file, signature) => {
                bar.set_message(
                    file.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                let result = import_one(ctx, a, default_type, &file, signature);
                (file, result)
            }
        };
        let (file, result) = outcome;
        let file = shown_in(&a.dir, &file);
        let entry = match result {
            Ok(Filed::Stored(r, notes)) => Imported {
                file,
                outcome: "stored",
                duplicate: !r.duplicates.is_empty(),
                record: Some(r.record),
                // Notes are written in both languages already.
                notes: notes.iter().map(|n| Said::new(n, n)).collect(),
                reason: None,
            },
            // kyso-app refused it (not signed, invalid signature): not archived.
            Ok(Filed::Skipped(why)) => Imported {
                file,
                outcome: "failed",
                record: None,
                duplicate: false,
                notes: Vec::new(),
                reason: Some(Said::new(&why.vi, &why.en)),
            },
            Err(NotFiled::Skipped(reason)) => Imported {
                file,
                outcome: "skipped",
                record: None,
                duplicate: false,
                notes: Vec::new(),
                reason: Some(reason),
            },
            Err(NotFiled::Failed(e)) => Imported {
                file,
                outcome: "failed",
                record: None,
                duplicate: false,
                notes: Vec::new(),
                reason: Some(Said::of_error(&e)),
            },
        };
        if !a.json {
            bar.suspend(|| println!("{}", entry.line(a.lang)));
        }
        results.push(entry);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
    let (stored, skipped, failed) = (count("stored"), count("skipped"), count("failed"));
    if a.json {
        let v = json!({
            "files": results.iter().map(Imported::json).collect::<Vec<_>>(),
            "stored": stored,
            "skipped": skipped,
            "failed": failed,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        match a.lang {
            Lang::Vi => println!("Đã lưu: {stored}; bỏ qua: {skipped}; lỗi: {failed}"),
            Lang::En => println!("Stored: {stored}; skipped: {skipped}; failed: {failed}"),
        }
    }
    Ok(failed == 0)
}

// ----------------------------------------------------------------------------------
// files, export, registers
// ----------------------------------------------------------------------------------

fn write_output(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(path) => Ok(kyso_store::write_out(path, bytes, false)?),
        None => {
            std::io::stdout().lock().write_all(bytes)?;
            Ok(())
        }
    }
}

fn print_register(ctx: &Ctx, a: &PrintArgs) -> Result<()> {
    let (sheet, entries) =
        ctx.block(ctx.app.register_sheet(&ctx.operator(), a.year, &a.register))?;
    match a.format {
        PrintFormat::Csv => write_output(a.out.as_deref(), to_csv(&sheet).as_bytes()),
        PrintFormat::Pdf => {
            let out = a.out.as_deref().context("--out FILE is required for pdf")?;
            write_output(Some(out), &to_pdf(&sheet).map_err(office_error)?)?;
            eprintln!("{entries} mục / entries → {}", out.display());
            Ok(())
        }
    }
}

fn number(ctx: &Ctx, a: &NumberArgs) -> Result<()> {
    let doc_type = parse_type(a.doc.doc_type.as_deref().context("--type is required")?)?;
    let registered = ctx.block(ctx.app.take_number(
        &ctx.operator(),
        NumberRequest {
            doc_type,
            date: a.doc.date.as_deref().map(parse_date).transpose()?,
            fields: a.doc.fields(),
            paper: a.paper,
            issuer: a.issuer.clone(),
            units: a.units.clone(),
            advisory: a.advisory.clone(),
            agency_name: ctx.agency_name.clone(),
        },
    ))?;
    print_record(&registered.record, &registered.duplicates, a.json)
}

fn policy(ctx: &Ctx, a: &PolicyArgs) -> Result<()> {
    let actor = ctx.operator();
    let current = if a.reset {
        ctx.block(ctx.app.set_policy(&actor, None))?
    } else if let Some(list) = &a.set {
        let types = list
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(parse_type)
            .collect::<Result<Vec<_>>>()?;
        ctx.block(ctx.app.set_policy(&actor, Some(types)))?
    } else {
        ctx.block(ctx.app.policy(&actor))?
    };
    println!(
        "Loại văn bản ký số và gửi điện tử / types issued electronically ({}):",
        ctx.agency
    );
    for t in current.types() {
        println!(
            "  {} — {}",
            kyso_office::type_folder(t),
            t.vietnamese_name()
        );
    }
    println!("Văn bản mật không bao giờ được ký số, gửi điện tử / secret documents never are.");
    Ok(())
}

fn step(ctx: &Ctx, a: &StepArgs) -> Result<()> {
    let key = a.event.replace('-', "_");
    let event = Event::from_key(&key).ok_or_else(|| anyhow!("unknown event {:?}", a.event))?;
    let updated = ctx.block(ctx.app.advance(
        &ctx.operator(),
        a.id,
        event,
        StepRequest {
            note: a.note.clone(),
            issuer: a.issuer.clone(),
            units: a.units.clone(),
            advisory: a.advisory.clone(),
        },
    ))?;
    println!("{}", summary(&updated));
    Ok(())
}

fn reindex(ctx: &Ctx) -> Result<()> {
    let docs = ctx.block(ctx.app.search_docs(&ctx.operator()))?;
    let count = docs.len();
    let search_docs: Vec<Result<kyso_search::SearchDoc, std::io::Error>> =
        docs.into_iter().map(Ok).collect();
    crate::office::rebuild_with_progress(&ctx.data, search_docs)?;
    println!("Đã lập lại chỉ mục tìm kiếm / search index rebuilt: {count} văn bản / documents");
    Ok(())
}

// ----------------------------------------------------------------------------------
// entry points
// ----------------------------------------------------------------------------------

/// `kyso archive …`. Returns false when something was not done (exit 1).
pub(crate) fn archive_command(data: &Path, command: ArchiveCommand) -> Result<bool> {
    match command {
        ArchiveCommand::Add(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            add(&ctx, &a)?;
            Ok(true)
        }
        ArchiveCommand::Import(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            import(&ctx, &a)
        }
        ArchiveCommand::List(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            let docs = ctx.block(ctx.app.documents(
                &ctx.operator(),
                DocumentQuery {
                    agency: None,
                    year: a.year,
                    direction: if a.incoming {
                        Some(kyso_office::Direction::Incoming)
                    } else if a.outgoing {
                        Some(kyso_office::Direction::Outgoing)
                    } else {
                        None
                    },
                    document_type: a.doc_type.as_deref().map(parse_type).transpose()?,
                    ..DocumentQuery::default()
                },
            ))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in &docs {
                    println!("{}", summary(d));
                }
            }
            Ok(true)
        }
        ArchiveCommand::Show { office, id } => {
            let ctx = Ctx::open(data, &office)?;
            let view = ctx.block(ctx.app.document(&ctx.operator(), id))?;
            let mut value = documents::view_json(&view);
            // The CLI shows the original's full path.
            if let (Value::Object(map), Some(path)) =
                (&mut value, ctx.archive().original_path(&view.record))
            {
                map.insert("path".into(), json!(path));
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(true)
        }
        ArchiveCommand::Step(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            step(&ctx, &a)?;
            Ok(true)
        }
        ArchiveCommand::File(FileCommand::Create(a)) => {
            let ctx = Ctx::open(data, &a.office)?;
            let file = ctx.block(ctx.app.open_record_file(
                &ctx.operator(),
                NewRecordFile {
                    code: a.code.clone(),
                    year: a.year,
                    title: a.title.clone(),
                    heading: a.heading.clone(),
                    maintenance: a.maintenance.clone(),
                    creator: a.creator.clone(),
                    rights: a.rights.clone(),
                    note: a.note.clone(),
                },
            ))?;
            println!(
                "Đã lập hồ sơ / file opened: {} — {}",
                file.file_code, file.title
            );
            Ok(true)
        }
        ArchiveCommand::File(FileCommand::Add {
            office,
            code,
            id,
            year,
        }) => {
            let ctx = Ctx::open(data, &office)?;
            let actor = ctx.operator();
            let code = ctx.app.file_code(&actor, &code, year)?;
            let ordinal = ctx.block(ctx.app.add_to_record_file(&actor, &code, id))?;
            println!("Văn bản {id} → hồ sơ / file {code}, thứ tự / no. {ordinal}");
            Ok(true)
        }
        ArchiveCommand::Files(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            let (_, sheet) = ctx.block(ctx.app.record_files(&ctx.operator(), a.year))?;
            match a.format {
                ListFormat::Text => {
                    let mut text = format!("{}\n{}\n", sheet.title, sheet.subtitle);
                    for row in &sheet.rows {
                        text.push_str(&format!("{}\n", row.join("\t").trim_end()));
                    }
                    write_output(a.out.as_deref(), text.as_bytes())?;
                }
                ListFormat::Csv => write_output(a.out.as_deref(), to_csv(&sheet).as_bytes())?,
                ListFormat::Pdf => {
                    let out = a.out.as_deref().context("--out FILE is required for pdf")?;
                    write_output(Some(out), &to_pdf(&sheet).map_err(office_error)?)?;
                }
            }
            Ok(true)
        }
        ArchiveCommand::Export(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            let actor = ctx.operator();
            let code = ctx.app.file_code(&actor, &a.code, None)?;
            let exported = ctx.block(ctx.app.export_record_file(&actor, &code, &a.out))?;
            println!(
                "Đã xuất hồ sơ / exported {}: {} văn bản / documents → {}",
                exported.code,
                exported.documents,
                exported.folder.display()
            );
            Ok(true)
        }
        ArchiveCommand::Check { office, lang } => {
            let ctx = Ctx::open(data, &office)?;
            let mut problems = ctx.block(ctx.archive().check())?;
            problems.extend(kyso_store::check_permissions(data));
            if problems.is_empty() {
                println!(
                    "{}",
                    Said::new("Kho lưu trữ nhất quán", "The archive is consistent").pick(lang)
                );
                Ok(true)
            } else {
                for p in &problems {
                    println!("✗ {}", check_finding(p).pick(lang));
                }
                Ok(false)
            }
        }
        ArchiveCommand::Reindex { office } => {
            let ctx = Ctx::open(data, &office)?;
            reindex(&ctx)?;
            Ok(true)
        }
        ArchiveCommand::Evidence(a) => crate::evidence::seal(data, &a),
        ArchiveCommand::Verify(a) => crate::evidence::verify_archived(data, &a),
        ArchiveCommand::Renew(a) => crate::evidence::renew(data, &a),
    }
}

/// `kyso register …`.
pub(crate) fn register_command(data: &Path, command: RegisterCommand) -> Result<bool> {
    match command {
        RegisterCommand::Number(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            number(&ctx, &a)?;
            Ok(true)
        }
        RegisterCommand::Print(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            print_register(&ctx, &a)?;
            Ok(true)
        }
        RegisterCommand::Policy(a) => {
            let ctx = Ctx::open(data, &a.office)?;
            policy(&ctx, &a)?;
            Ok(true)
        }
    }
}
