//! `kyso sign FILE.pdf`: PAdES signatures (B-B, B-T, B-LT, B-LTA) by incremental
//! update, with the Decree 30 appearances; and `kyso extend`, which raises a signed
//! PDF to B-LT (revocation data in the DSS) or B-LTA (plus a document time-stamp).
//! The flags become a [`kyso_app::signing::PdfRequest`] / `ExtendRequest`; kyso-app
//! signs, fetches (time-stamps, CRLs, OCSP) and writes; this prints.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kyso_app::signing::{self as app, ExtendRequest, PadesLevel, PdfRequest};
use kyso_pades::sign::{self as pades, CopyForm, InfoLine, Placement, Role};
use kyso_signer::Signer;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::args::{self, CopyFormArg, ExtendArgs, ExtendLevel, RoleArg, SignArgs};

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

fn level(level: args::PadesLevel) -> PadesLevel {
    match level {
        args::PadesLevel::BB => PadesLevel::BB,
        args::PadesLevel::BT => PadesLevel::BT,
        args::PadesLevel::BLt => PadesLevel::BLt,
        args::PadesLevel::BLta => PadesLevel::BLta,
    }
}

fn note(notes: &[String]) {
    for n in notes {
        eprintln!("kyso: lưu ý / note: {n}");
    }
}

/// `kyso sign FILE.pdf …` with `signer`, whose certificate is `chain[0]`.
pub(crate) fn sign(
    signer: &dyn Signer,
    chain: &[Certificate],
    a: &SignArgs,
    net: &kyso_net::Client,
) -> Result<ExitCode> {
    if a.cosign.is_some() {
        bail!(
            "--cosign is for detached .p7s signatures; to add a signature to a PDF, sign the signed PDF again"
        );
    }
    let request = PdfRequest {
        file: &a.file,
        out: a.out.clone(),
        level: a.level.map(level),
        tsa: a.tsa.as_deref(),
        role: a.role.map(|r| match r {
            RoleArg::Leader => Role::Leader,
            RoleArg::Seal => Role::Seal,
            RoleArg::Attachment => Role::Attachment,
            RoleArg::Copy => Role::Copy,
            RoleArg::Invisible => Role::Invisible,
        }),
        image: a.image.as_deref(),
        placement: Placement {
            page: a.page,
            rect: a.rect.as_deref().map(parse_rect).transpose()?,
            anchor: a.anchor.clone(),
        },
        info: InfoLine {
            notation: a.notation.clone(),
            copy_form: a.copy_form.map(|f| match f {
                CopyFormArg::SaoY => CopyForm::SaoY,
                CopyFormArg::SaoLuc => CopyForm::SaoLuc,
                CopyFormArg::TrichSao => CopyForm::TrichSao,
            }),
            agency: a.agency.clone(),
            format: a.info_format.clone(),
        },
        reason: a.reason.clone(),
        location: a.location.clone(),
        force: a.force,
        max_size: a.limit.max_size,
    };
    let signed = app::sign_pdf(signer, chain, &request, net, OffsetDateTime::now_utc())?;
    note(&signed.notes);
    let p = &signed.placed;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "Đã ký / signed: {} → {}\n  người ký / signer: {}\n  thời điểm / time: {}\n  mức / level: PAdES {}\n  trường / field: {} (trang / page {}{})",
        a.file.display(),
        signed.out.display(),
        chain[0].tbs_certificate().subject(),
        pades::vietnam_iso8601(signed.signing_time),
        signed.level.name(),
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
    )?;
    if let Some(text) = &p.info_text {
        writeln!(stdout, "  dòng thông tin / info line: {text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `kyso extend FILE.pdf --level b-lt|b-lta`.
pub(crate) fn extend(a: &ExtendArgs, net: &kyso_net::Client) -> Result<ExitCode> {
    let level = match a.level {
        ExtendLevel::BLt => PadesLevel::BLt,
        ExtendLevel::BLta => PadesLevel::BLta,
    };
    let extended = app::extend_pdf(
        &ExtendRequest {
            file: &a.file,
            out: a.out.clone(),
            level,
            tsa: a.tsa.as_deref(),
            force: a.force,
            max_size: a.limit.max_size,
        },
        net,
    )?;
    note(&extended.notes);
    writeln!(
        std::io::stdout(),
        "Đã nâng mức / extended: {} → {} (PAdES {}, {} chữ ký / signatures)",
        a.file.display(),
        extended.out.display(),
        level.name(),
        extended.signatures
    )?;
    Ok(ExitCode::SUCCESS)
}
