//! `kyso verify FILE.pdf`: verify every signature of a PDF with the revision and
//! modification analysis of `kyso-pades`, or extract what a signature signed
//! (`--extract-signed N --out PATH`).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kyso_app::verify::{Settings, Verified};
use kyso_cades::report::Reason;
use kyso_pades::verify::{
    ChangeClass, Coverage, Covers, Limits, Overlap, OverlapKind, PdfReport, SignatureKind,
};

use crate::args::{Lang, VerifyArgs};
use crate::verifying::{render_signature, render_verdict};

/// Whether the file has a `%PDF-` header within its first 1024 bytes (only those are
/// read).
pub(crate) fn is_pdf(path: &Path) -> Result<bool> {
    match kyso_app::verify::sniff_pdf(path) {
        Ok(yes) => Ok(yes),
        // Let the CMS path report a missing file the way it always has.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `--max-size SIZE` of `kyso sign`, `kyso extend` and `kyso verify`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MaxSize {
    /// The largest PDF (or .p7s signature file) read, which is held whole in memory:
    /// bytes, or with K, M, G (KiB, MiB, GiB). A larger file is refused before it is
    /// read. The content under a detached .p7s is streamed and has no limit.
    #[arg(
        long = "max-size",
        value_name = "SIZE",
        env = "KYSO_MAX_PDF_SIZE",
        default_value = "256M",
        value_parser = parse_size
    )]
    pub(crate) max_size: u64,
}

/// `1048576`, `900K`, `256M`, `2G` (binary units; `MiB`, `KB`… accepted too).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 256M, 2G or 1048576"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("{s:?}: the unit is K, M or G")),
    };
    n.checked_mul(1 << shift)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{s:?}: out of range"))
}

/// Verify (or extract from) a PDF; the exit code follows the verdict.
pub(crate) fn run(a: &VerifyArgs, settings: Settings, net: &kyso_net::Client) -> Result<ExitCode> {
    if a.sig.is_some() {
        bail!("--sig is for detached .p7s signatures; a PDF carries its own signatures");
    }
    // Header and size checked before the file is read (a PDF is held in memory).
    let pdf = kyso_app::verify::read_pdf_file(&a.file, settings.max_size, 0)?;
    let limits = Limits::default();
    if let (Some(n), Some(out)) = (a.extract_signed, &a.out) {
        let index = n.checked_sub(1).context("signatures are numbered from 1")?;
        let signed = kyso_pades::verify::signed_revision(&pdf, index, &limits)
            .with_context(|| format!("cannot extract signature {n}'s revision"))?;
        refuse_overwrite(&a.file, out, a.force)?;
        kyso_store::write_out(out, signed, false)?;
        writeln!(
            std::io::stdout(),
            "Đã trích xuất / extracted: {} byte(s) signed by signature {n} → {}",
            signed.len(),
            out.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let verification = kyso_app::verify::verify_pdf(net, &pdf, &settings)
        .with_context(|| format!("cannot verify {}", a.file.display()))?;
    let notes = verification.notes.clone();
    let Verified::Pdf(report) = &verification.report else {
        bail!("a PDF verification produced a CMS report");
    };
    let mut stdout = std::io::stdout().lock();
    if a.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&verification.to_json())?
        )?;
    } else {
        write!(stdout, "{}", render(report, &a.file, a.lang, &notes))?;
    }
    Ok(if report.verdict.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Render a PDF report for people.
fn render(report: &PdfReport, file: &Path, lang: Lang, notes: &[Reason]) -> String {
    let vi = lang == Lang::Vi;
    let t = |v: &str, e: &str| if vi { v.to_string() } else { e.to_string() };
    let say = |r: &Reason| if vi { r.vi.clone() } else { r.en.clone() };
    let mut out = String::new();
    out.push_str(&format!("{} {}\n", t("Tệp:", "File:"), file.display()));
    out.push_str(&render_verdict(report.verdict, lang));
    for r in &report.reasons {
        out.push_str(&format!("{} {}\n", t("Lý do:", "Reason:"), say(r)));
    }
    out.push_str(&format!(
        "{} {}\n",
        t("Số phiên bản:", "Revisions:"),
        report.revisions.len()
    ));
    for s in &report.signatures {
        let kind = match s.kind {
            SignatureKind::Approval => t("chữ ký", "signature"),
            SignatureKind::Certification => t("chữ ký chứng nhận", "certification signature"),
            SignatureKind::DocumentTimestamp => t("dấu thời gian tài liệu", "document time-stamp"),
        };
        out.push_str(&format!(
            "\n{} {} ({kind}, {} “{}”):\n",
            t("Chữ ký", "Signature"),
            s.cms.index + 1,
            t("trường", "field"),
            s.field
        ));
        out.push_str(&render_signature(&s.cms, lang));
        let coverage = match (s.coverage, s.signed_revision) {
            (Coverage::EntireFile, _) => t("toàn bộ tệp", "the entire file"),
            (Coverage::EntireRevision, Some(r)) => {
                format!("{} {r}", t("toàn bộ phiên bản", "the entire revision"))
            }
            (Coverage::ContiguousBlockFromStart, _) => t(
                "một đoạn từ đầu tệp, KHÔNG phải một phiên bản trọn vẹn",
                "a block from the start, NOT a complete revision",
            ),
            _ => t("không xác định", "unclear"),
        };
        out.push_str(&format!(
            "  {} {coverage}{}\n",
            t("Phạm vi ký:", "Covers:"),
            s.byte_range
                .as_ref()
                .map(|b| format!(" (ByteRange {b:?})"))
                .unwrap_or_default()
        ));
        if let Some(p) = s.docmdp {
            out.push_str(&format!("  DocMDP: P{p}\n"));
        }
        for m in &s.modifications {
            let class = class_text(m.class, vi);
            out.push_str(&format!(
                "  {} {}: {class} — {}\n",
                t("Thay đổi sau khi ký, phiên bản", "Later change, revision"),
                m.revision,
                if m.allowed {
                    t("được phép", "allowed")
                } else {
                    t("KHÔNG được phép", "NOT allowed")
                }
            ));
        }
        for o in &s.overlaps {
            out.push_str(&format!(
                "  {} {}\n",
                t("Che phủ:", "Overlay:"),
                overlap_text(o, vi)
            ));
        }
    }
    if !report.unsigned_fields.is_empty() {
        out.push('\n');
        for f in &report.unsigned_fields {
            let why = match (f.why.as_str(), vi) {
                ("empty", true) => "trống".to_string(),
                (_, true) => "giá trị /V không phải chữ ký".to_string(),
                (w, false) => w.to_string(),
            };
            out.push_str(&format!(
                "{} “{}” ({why})\n",
                t("Trường chữ ký chưa ký:", "Unsigned signature field:"),
                f.field,
            ));
        }
    }
    for w in &report.warnings {
        out.push_str(&format!("{} {}\n", t("Lưu ý:", "Note:"), say(w)));
    }
    for n in notes {
        out.push_str(&format!("{} {}\n", t("Ghi chú:", "Note:"), say(n)));
    }
    out
}

/// One overlay line: what, where, and what it covers.
fn overlap_text(o: &Overlap, vi: bool) -> String {
    let what = match (o.kind, &o.field, vi) {
        (OverlapKind::Widget, Some(f), true) => format!("trường “{f}”"),
        (OverlapKind::Widget, Some(f), false) => format!("the widget of field “{f}”"),
        (OverlapKind::Widget, None, true) => "một trường biểu mẫu".to_string(),
        (OverlapKind::Widget, None, false) => "a form widget".to_string(),
        (OverlapKind::Annotation, _, true) => format!("chú thích /{}", o.subtype),
        (OverlapKind::Annotation, _, false) => format!("a /{} annotation", o.subtype),
    };
    let page = match (o.page, vi) {
        (Some(p), true) => format!(" trên trang {p}"),
        (Some(p), false) => format!(" on page {p}"),
        (None, _) => String::new(),
    };
    let [x0, y0, x1, y1] = o.rect;
    let covers = match (o.covers, vi) {
        (Covers::Text, true) => "che lên chữ của trang đã ký".to_string(),
        (Covers::Text, false) => "covers signed page text".to_string(),
        (Covers::Content, true) => "che lên nội dung trang đã ký".to_string(),
        (Covers::Content, false) => "covers signed page content".to_string(),
        (Covers::SignatureAppearance, true) => format!(
            "che lên hình chữ ký “{}”",
            o.signature.as_deref().unwrap_or("?")
        ),
        (Covers::SignatureAppearance, false) => format!(
            "covers the appearance of signature “{}”",
            o.signature.as_deref().unwrap_or("?")
        ),
    };
    let expected = match (o.expected, vi) {
        (true, true) => " (bình thường: chữ ký, con dấu sau đặt lên chữ ký trước)",
        (true, false) => " (expected: a later signature or seal placed on an earlier one)",
        (false, _) => "",
    };
    format!(
        "{} {}: {what}{page} [{x0} {y0} {x1} {y1}] {covers}{expected}",
        if vi { "phiên bản" } else { "revision" },
        o.revision
    )
}

fn class_text(c: ChangeClass, vi: bool) -> String {
    let (v, e) = match c {
        ChangeClass::Metadata => ("siêu dữ liệu", "metadata"),
        ChangeClass::Dss => ("dữ liệu xác thực (DSS)", "validation data (DSS)"),
        ChangeClass::DocumentTimestamp => ("dấu thời gian tài liệu", "document time-stamp"),
        ChangeClass::Signature => ("chữ ký", "signature"),
        ChangeClass::FormFill => ("điền biểu mẫu", "form filling"),
        ChangeClass::Annotation => ("chú thích", "annotation"),
        ChangeClass::Other => (
            "thay đổi khác (nội dung, cấu trúc)",
            "other (content, structure)",
        ),
    };
    if vi { v.into() } else { e.into() }
}

/// `--extract-signed` never replaces its input (same file, by path or by inode), and
/// replaces another existing file only with `--force`.
fn refuse_overwrite(input: &std::path::Path, out: &std::path::Path, force: bool) -> Result<()> {
    let Ok(out_meta) = fs::metadata(out) else {
        return Ok(());
    };
    let same = match (fs::canonicalize(input), fs::canonicalize(out)) {
        (Ok(a), Ok(b)) if a == b => true,
        _ => same_inode(input, &out_meta),
    };
    if same {
        bail!(
            "--out {} is the input file; refusing to overwrite what is being verified",
            out.display()
        );
    }
    if !force {
        bail!("--out {} exists; use --force to replace it", out.display());
    }
    Ok(())
}

#[cfg(unix)]
fn same_inode(input: &std::path::Path, out_meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(input).is_ok_and(|m| m.dev() == out_meta.dev() && m.ino() == out_meta.ino())
}

#[cfg(not(unix))]
fn same_inode(_: &std::path::Path, _: &fs::Metadata) -> bool {
    false
}
