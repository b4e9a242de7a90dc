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
use kyso_office::{DocumentQuery, DocumentRecord, Event, OfficeError, to_csv, to_pdf};
use serde_json::{Value, json};
use time::Date;

use crate::args::OfficeArgs;
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
    },
    /// Rebuild the full-text search index from the archive.
    Reindex {
        #[command(flatten)]
        office: OfficeArgs,
    },
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
    /// Reason (refuse), instruction or note.
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
    Ok(ctx.block(ctx.app.file_document(&ctx.operator(), request))?)
}

fn signature_for(file: &Path, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(g) = given {
        return Some(g.to_path_buf());
    }
    let candidate = PathBuf::from(format!("{}.p7s", file.display()));
    candidate.is_file().then_some(candidate)
}

fn add(ctx: &Ctx, a: &AddArgs) -> Result<()> {
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
        Filed::Skipped(why) => bail!("{}: {why}", a.file.display()),
    }
}

/// Files of a folder to import: PDFs (with their .p7s if present) and other files that
/// have a detached .p7s; sorted, recursive, hidden entries skipped.
fn import_candidates(dir: &Path) -> Result<Vec<(PathBuf, Option<PathBuf>)>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let set: std::collections::HashSet<PathBuf> = files.iter().cloned().collect();
    let mut out = Vec::new();
    for f in &files {
        let name = f.to_string_lossy();
        if name.ends_with(".p7s") {
            let content = PathBuf::from(name.trim_end_matches(".p7s"));
            if !set.contains(&content) {
                out.push((f.clone(), None));
            }
            continue;
        }
        let sig = PathBuf::from(format!("{name}.p7s"));
        let sig = set.contains(&sig).then_some(sig);
        out.push((f.clone(), sig));
    }
    Ok(out)
}

fn import(ctx: &Ctx, a: &ImportArgs) -> Result<bool> {
    let default_type = a.doc_type.as_deref().map(parse_type).transpose()?;
    let candidates = import_candidates(&a.dir)?;
    let bar = indicatif::ProgressBar::new(candidates.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut stored, mut skipped, mut failed) = (0usize, 0usize, 0usize);
    for (file, signature) in candidates {
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let shown = file
            .strip_prefix(&a.dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        if file.to_string_lossy().ends_with(".p7s") {
            bar.println(format!(
                "– {shown}: chữ ký thiếu tệp nội dung / signature without its content file"
            ));
            skipped += 1;
            bar.inc(1);
            continue;
        }
        let result = ingest(
            ctx,
            Ingest {
                file: &file,
                signature,
                doc_type: None,
                number: None,
                date: None,
                incoming: a.incoming,
                offline: a.offline,
                accept_invalid: a.accept_invalid,
                fields: DocFields::default(),
                from: None,
                allocate: None,
            },
        )
        .or_else(|e| {
            // Retry with the default type when only the type was missing.
            match default_type {
                Some(t) if e.to_string().contains("--type") => ingest(
                    ctx,
                    Ingest {
                        file: &file,
                        signature: signature_for(&file, None),
                        doc_type: Some(t),
                        number: None,
                        date: None,
                        incoming: a.incoming,
                        offline: a.offline,
                        accept_invalid: a.accept_invalid,
                        fields: DocFields::default(),
                        from: None,
                        allocate: None,
                    },
                ),
                _ => Err(e),
            }
        });
        match result {
            Ok(Filed::Stored(r, notes)) => {
                stored += 1;
                let mut line = format!("✓ {shown} → {}", summary(&r.record));
                for n in notes {
                    line.push_str(&format!("\n    lưu ý / note: {n}"));
                }
                if !r.duplicates.is_empty() {
                    line.push_str("\n    CẢNH BÁO trùng số / WARNING duplicate number");
                }
                bar.println(line);
            }
            Ok(Filed::Skipped(why)) => {
                skipped += 1;
                bar.println(format!("– {shown}: {why}"));
            }
            Err(e) => {
                failed += 1;
                bar.println(format!("✗ {shown}: {e:#}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("Đã lưu / stored: {stored}; bỏ qua / skipped: {skipped}; lỗi / failed: {failed}");
    Ok(failed == 0)
}

// ----------------------------------------------------------------------------------
// files, export, registers
// ----------------------------------------------------------------------------------

fn write_output(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(path) => crate::store::write_atomic(path, bytes, false),
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
                    series: None,
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
        ArchiveCommand::Check { office } => {
            let ctx = Ctx::open(data, &office)?;
            let problems = ctx.block(ctx.archive().check())?;
            if problems.is_empty() {
                println!("Kho lưu trữ nhất quán / archive consistent");
                Ok(true)
            } else {
                for p in &problems {
                    println!("✗ {p}");
                }
                Ok(false)
            }
        }
        ArchiveCommand::Reindex { office } => {
            let ctx = Ctx::open(data, &office)?;
            reindex(&ctx)?;
            Ok(true)
        }
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
