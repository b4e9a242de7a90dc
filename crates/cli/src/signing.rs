//! `kyso sign` for any file that is not a PDF: a detached CAdES `.p7s` (B-B; B-T with
//! `--tsa`), made by [`kyso_app::signing::sign_detached`] with the key [`crate::keys`]
//! opened.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use kyso_app::signing::DetachedRequest;
use time::OffsetDateTime;

use crate::args::SignArgs;
use crate::keys::Identity;

/// `kyso sign FILE` for a non-PDF file: detached CAdES.
pub(crate) fn sign_detached(
    identity: &Identity,
    a: &SignArgs,
    net: &kyso_net::Client,
) -> Result<ExitCode> {
    let signed = kyso_app::signing::sign_detached(
        identity.key.as_ref(),
        &identity.chain,
        &DetachedRequest {
            file: &a.file,
            out: a.out.clone(),
            cosign: a.cosign.as_deref(),
            tsa: a.tsa.as_deref(),
            embed_revocation: !a.no_embed_revocation,
            force: a.force,
        },
        net,
        OffsetDateTime::now_utc(),
    )?;
    for w in &signed.warnings {
        eprintln!("kyso: lưu ý / note: {w}");
    }
    writeln!(
        std::io::stdout(),
        "Đã ký / signed: {} → {}\n  người ký / signer: {}\n  thời điểm / time: {}{}\n  CRL đính kèm / embedded CRLs: {}",
        a.file.display(),
        signed.out.display(),
        identity.certificate().tbs_certificate().subject(),
        kyso_cades::report::vietnam_time(signed.signing_time),
        if signed.timestamped {
            " (dấu thời gian / time-stamped, B-T)"
        } else {
            " (B-B)"
        },
        signed.embedded_crls
    )?;
    Ok(ExitCode::SUCCESS)
}
