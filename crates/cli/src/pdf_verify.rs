//! `kyso verify FILE.pdf`: verify every signature of a PDF with the revision and
//! modification analysis of `kyso-pades`, or extract what a signature signed
//! (`--extract-signed N --out PATH`).

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kyso_cades::report::Reason;
use kyso_pades::verify::{
    ChangeClass, Coverage, Limits, PdfReport, Policy, SignatureKind, VerifyOptions,
};
use kyso_pki::path::RevocationMode;

use crate::args::{Lang, VerifyArgs};
use crate::verifying::{Inputs, fetch, render_signature, render_verdict};

/// Whether the file starts like a PDF.
pub(crate) fn is_pdf(path: &Path) -> Result<bool> {
    let mut head = [0u8; 5];
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        // Let the CMS path report a missing file the way it always has.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let n = f
        .read(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(n == 5 && &head == b"%PDF-")
}

/// Verify (or extract from) a PDF; the exit code follows the verdict.
pub(crate) fn run(a: &VerifyArgs, inputs: Inputs, net: &kyso_net::Client) -> Result<ExitCode> {
    if a.sig.is_some() {
        bail!("--sig is for detached .p7s signatures; a PDF carries its own signatures");
    }
    let pdf = fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let limits = Limits::default();
    if let (Some(n), Some(out)) = (a.extract_signed, &a.out) {
        let index = n.checked_sub(1).context("signatures are numbered from 1")?;
        let signed = kyso_pades::verify::signed_revision(&pdf, index, &limits)
            .with_context(|| format!("cannot extract signature {n}'s revision"))?;
        crate::store::write_atomic(out, signed, false)?;
        writeln!(
            std::io::stdout(),
            "Đã trích xuất / extracted: {} byte(s) signed by signature {n} → {}",
            signed.len(),
            out.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut notes = Vec::new();
    let mut crls = inputs.crls.clone();
    let mut ocsp = Vec::new();
    if !a.offline && inputs.revocation != RevocationMode::Skip {
        let list = kyso_pades::verify::needs(&pdf, &limits)?;
        fetch(list, net, &mut crls, &mut ocsp, &mut notes);
    }
    if inputs.anchors.is_empty() {
        notes.push("no trust anchors configured (use --trust or `kyso trust add`)".into());
    }
    let options = VerifyOptions {
        cades: kyso_cades::VerifyOptions {
            anchors: &inputs.anchors,
            extra_certificates: &inputs.certs,
            extra_crls: &crls,
            extra_ocsp: &ocsp,
            validation_time: inputs.at,
            revocation: inputs.revocation,
            limits: kyso_cades::Limits::default(),
        },
        limits,
        policy: Policy::default(),
    };
    let report = kyso_pades::verify::verify(&pdf, &options)
        .with_context(|| format!("cannot verify {}", a.file.display()))?;
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("notes".into(), serde_json::json!(notes));
        }
        writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        write!(stdout, "{}", render(&report, &a.file, a.lang, &notes))?;
    }
    Ok(if report.verdict.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Render a PDF report for people.
fn render(report: &PdfReport, file: &Path, lang: Lang, notes: &[String]) -> String {
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
    }
    if !report.unsigned_fields.is_empty() {
        out.push('\n');
        for f in &report.unsigned_fields {
            out.push_str(&format!(
                "{} “{}” ({})\n",
                t("Trường chữ ký chưa ký:", "Unsigned signature field:"),
                f.field,
                f.why
            ));
        }
    }
    for w in &report.warnings {
        out.push_str(&format!("{} {}\n", t("Lưu ý:", "Note:"), say(w)));
    }
    for n in notes {
        out.push_str(&format!("{} {n}\n", t("Ghi chú:", "Note:")));
    }
    out
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
