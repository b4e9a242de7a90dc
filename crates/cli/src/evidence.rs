//! Evidence records (RFC 4998, docs/evidence.md): `kyso archive evidence|verify|renew`
//! over the archive, `kyso evidence verify` for a file outside any archive. Each parses,
//! calls one kyso-app use case and prints.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use kyso_app::evidence::{EvidenceInput, EvidenceVerification, Parts};
use kyso_signer::DigestAlgorithm;

use crate::args::OfficeArgs;
use crate::office::Ctx;

/// `kyso archive evidence`.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// The time-stamp authority (RFC 3161 over HTTP), e.g. the CA's `kyso ca serve`
    /// …/tsa.
    #[arg(long, value_name = "URL", env = "KYSO_TSA")]
    pub(crate) tsa: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `kyso archive verify`.
#[derive(Debug, Args)]
pub(crate) struct ArchiveVerifyArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// Document id.
    pub(crate) id: i64,
    /// Verify as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Fetch nothing (the time-stamps' revocation from the captured material only).
    #[arg(long)]
    pub(crate) offline: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `kyso archive renew`.
#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    #[command(flatten)]
    pub(crate) office: OfficeArgs,
    /// The time-stamp authority (RFC 3161 over HTTP).
    #[arg(long, value_name = "URL", env = "KYSO_TSA")]
    pub(crate) tsa: String,
    /// Renew the records whose last time-stamp's TSA certificate expires within this
    /// many days.
    #[arg(long, value_name = "DAYS", default_value_t = kyso_app::evidence::RENEW_BEFORE_DAYS)]
    pub(crate) before: i64,
    /// Hash-tree renewal to this algorithm (sha256, sha384, sha512) for every record
    /// whose last chain uses another.
    #[arg(long, value_name = "ALG")]
    pub(crate) hash: Option<String>,
}

/// `kyso evidence …`.
#[derive(Debug, Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Verify a file outside any archive with its evidence record (.ers), its detached
    /// signature and its captured validation material.
    Verify(StandaloneArgs),
}

/// `kyso evidence verify`.
#[derive(Debug, Args)]
pub(crate) struct StandaloneArgs {
    /// The original.
    pub(crate) file: PathBuf,
    /// Its detached signature, when the record covers one.
    #[arg(long, value_name = "SIG")]
    pub(crate) p7s: Option<PathBuf>,
    /// Its captured validation material (material.json), when the record covers it.
    #[arg(long, value_name = "FILE")]
    pub(crate) material: Option<PathBuf>,
    /// The evidence record (RFC 4998, DER).
    #[arg(long, value_name = "FILE")]
    pub(crate) ers: PathBuf,
    /// Trust anchors (PEM/DER files or folders); default: the data directory's.
    #[arg(long, value_name = "PATH")]
    pub(crate) trust: Vec<PathBuf>,
    /// More CRLs (DER or PEM files), e.g. one published since.
    #[arg(long, value_name = "FILE")]
    pub(crate) crl: Vec<PathBuf>,
    /// Verify as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Fetch nothing.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

fn parse_at(at: Option<&str>) -> Result<Option<time::OffsetDateTime>> {
    Ok(at.map(kyso_app::ca::parse_time).transpose()?)
}

/// `kyso archive evidence`.
pub(crate) fn seal(data: &Path, a: &SealArgs) -> Result<bool> {
    let ctx = Ctx::open(data, &a.office)?;
    let sealing = ctx.block(ctx.app.seal_evidence(&ctx.operator(), &a.tsa))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&sealing)?);
        return Ok(true);
    }
    if sealing.sealed.is_empty() && sealing.repaired.is_empty() {
        println!("Không có văn bản nào chờ niêm phong bằng chứng lưu trữ.");
        println!("No document waits for its evidence record.");
    }
    if !sealing.sealed.is_empty() {
        let time = sealing.time.clone().unwrap_or_default();
        println!(
            "Đã niêm phong bằng chứng lưu trữ cho {} văn bản {:?}, dấu thời gian lúc {time}.",
            sealing.sealed.len(),
            sealing.sealed,
        );
        println!(
            "Sealed {} documents with one time-stamp at {time}.",
            sealing.sealed.len()
        );
    }
    for w in &sealing.warnings {
        eprintln!("kyso: cảnh báo: {w}");
    }
    if !sealing.repaired.is_empty() {
        println!("Đã hoàn tất niêm phong dở dang của {:?}.", sealing.repaired);
        println!(
            "Completed an interrupted sealing of {:?}.",
            sealing.repaired
        );
    }
    Ok(true)
}

/// `kyso archive renew`.
pub(crate) fn renew(data: &Path, a: &RenewArgs) -> Result<bool> {
    let hash = match a.hash.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("sha256" | "sha-256") => Some(DigestAlgorithm::Sha256),
        Some("sha384" | "sha-384") => Some(DigestAlgorithm::Sha384),
        Some("sha512" | "sha-512") => Some(DigestAlgorithm::Sha512),
        Some(other) => bail!(
            "thuật toán băm không hỗ trợ {other:?} (sha256, sha384, sha512) / unsupported hash {other:?}"
        ),
    };
    let ctx = Ctx::open(data, &a.office)?;
    let renewal = ctx.block(ctx.app.renew_evidence(
        &ctx.operator(),
        &a.tsa,
        time::Duration::days(a.before),
        hash,
    ))?;
    if renewal.renewed.is_empty() {
        println!("Không có bằng chứng lưu trữ nào cần gia hạn.");
        println!("No evidence record is due for renewal.");
    } else {
        println!(
            "Đã gia hạn bằng chứng lưu trữ ({}) của {} văn bản {:?}.",
            renewal.kind,
            renewal.renewed.len(),
            renewal.renewed,
        );
        println!(
            "Renewed {} evidence records ({}).",
            renewal.renewed.len(),
            renewal.kind
        );
    }
    Ok(true)
}

fn print(out: &EvidenceVerification, title: &str, json: bool) -> Result<bool> {
    let mut stdout = std::io::stdout().lock();
    if json {
        let mut value = out.to_json();
        value["object"] = title.into();
        writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(stdout, "{title}")?;
        writeln!(stdout, "Kết luận: {}", out.summary_vi())?;
        writeln!(stdout, "Verdict: {}", out.summary_en())?;
        for r in &out.reasons {
            writeln!(stdout, "  - {}", r.vi)?;
            writeln!(stdout, "    ({})", r.en)?;
        }
    }
    Ok(matches!(
        out.verdict.as_str(),
        "valid" | "valid_with_changes"
    ))
}

/// `kyso archive verify`.
pub(crate) fn verify_archived(data: &Path, a: &ArchiveVerifyArgs) -> Result<bool> {
    let at = parse_at(a.at.as_deref())?;
    let ctx = Ctx::open(data, &a.office)?;
    let out = ctx.block(
        ctx.app
            .verify_archived(&ctx.operator(), a.id, at, a.offline),
    )?;
    print(&out, &format!("Văn bản / document [{}]", a.id), a.json)
}

/// `kyso evidence verify`.
pub(crate) fn verify_standalone(data: &Path, a: &StandaloneArgs) -> Result<bool> {
    let mut s = crate::verifying::base_settings(&a.trust, "vn", a.at.as_deref(), data)?;
    s.fetch = !a.offline;
    for c in &a.crl {
        s.crls.push(crate::store::read_crl(c)?);
    }
    let record = std::fs::read(&a.ers).map_err(|e| {
        anyhow::anyhow!(
            "không đọc được {} / cannot read {}: {e}",
            a.ers.display(),
            a.ers.display()
        )
    })?;
    let parts = Parts {
        original: a.file.clone(),
        signature: a.p7s.clone(),
        material: a.material.clone(),
    };
    let is_pdf = kyso_app::verify::sniff_pdf(&a.file).unwrap_or(false);
    let net = kyso_net::Client::default();
    let out = kyso_app::evidence::verify_with_evidence(
        &net,
        &EvidenceInput {
            parts: &parts,
            is_pdf,
            record: Some(&record),
        },
        &s,
    )?;
    print(&out, &a.file.display().to_string(), a.json)
}
