//! `kyso verify` for CMS: find the content and signature, gather trust anchors and
//! revocation data, run the verifier, render the report.

use std::path::{Path, PathBuf};

use anyhow::Result;
use kyso_app::verify::{Content, RevocationMode, Settings, Verified};
use kyso_cades::report::{
    Check, Reason, Report, RevocationCheck, SignatureReport, TimeSource, Verdict,
};
use kyso_pades::verify::Policy;
use kyso_pki::AlgorithmPolicy;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::args::{Lang, PdfPolicy, VerifyArgs};

/// The verification settings every verifying command starts from: anchors from `trust`
/// (default: the data directory's trust store) plus the `trust_list`, at `at` (RFC 3339;
/// default now, to the second).
pub(crate) fn base_settings(
    trust: &[PathBuf],
    trust_list: &str,
    at: Option<&str>,
    data: &Path,
) -> Result<Settings> {
    let trust_paths = if trust.is_empty() {
        let default = data.join("trust");
        if default.is_dir() {
            vec![default]
        } else {
            Vec::new()
        }
    } else {
        trust.to_vec()
    };
    let (mut anchors, own) = kyso_app::trust::load_anchors(&trust_paths)?;
    kyso_app::trust::add_trust_list(&mut anchors, trust_list)?;
    let at = match at {
        Some(t) => kyso_app::ca::parse_time(t)?,
        None => OffsetDateTime::now_utc().replace_nanosecond(0)?,
    };
    Ok(Settings::new(anchors, own, at))
}

/// One detached-signature verification from the command line.
pub(crate) struct VerifyJob {
    pub(crate) content: PathBuf,
    pub(crate) signature: PathBuf,
    pub(crate) settings: Settings,
}

/// The settings of `kyso verify` from its arguments: anchors from --trust (default the
/// data directory's trust store) plus --trust-list, extra CRLs and certificates, --at,
/// --no-revocation-check, --offline, --sha1-until, --policy, --password.
pub(crate) fn settings(a: &VerifyArgs, data: &Path) -> Result<Settings> {
    let mut s = base_settings(&a.trust, &a.trust_list, a.at.as_deref(), data)?;
    if let Some(t) = &a.sha1_until {
        s.algorithms = AlgorithmPolicy {
            sha1_until: kyso_app::ca::parse_time(t)?,
            ..AlgorithmPolicy::default()
        };
    }
    for c in &a.crl {
        s.crls.push(crate::store::read_crl(c)?);
    }
    for c in &a.cert {
        for cert in crate::store::read_certificates(c)? {
            s.certificates.push(der::Encode::to_der(&cert)?);
        }
    }
    if a.no_revocation_check {
        s.revocation = RevocationMode::Skip;
    }
    s.fetch = !a.offline;
    s.policy = match a.policy {
        PdfPolicy::Standard => Policy::standard(),
        PdfPolicy::Strict => Policy::strict(),
    };
    s.password = a.password.clone().map(Zeroizing::new);
    s.max_size = a.limit.max_size;
    Ok(s)
}

/// Verifies a detached signature (kyso-app's use case); a missing signature file is
/// an unsigned report, an unreadable one an error.
pub(crate) fn run(job: &VerifyJob, net: &kyso_net::Client) -> Result<(Report, Vec<Reason>)> {
    // The signature is read whole (size checked first); the content is streamed.
    let signature = kyso_app::verify::read_signature_file(&job.signature, job.settings.max_size)?;
    let verification = kyso_app::verify::verify_detached(
        net,
        Content::File(&job.content),
        signature.as_deref(),
        &job.signature.display().to_string(),
        &job.settings,
    )?;
    match verification.report {
        Verified::Cms(report) => Ok((report, verification.notes)),
        Verified::Pdf(_) => anyhow::bail!("a detached verification produced a PDF report"),
    }
}

/// Render a report for people.
pub(crate) fn render(report: &Report, content: &Path, lang: Lang, notes: &[Reason]) -> String {
    let vi = lang == Lang::Vi;
    let t = |v: &str, e: &str| if vi { v.to_string() } else { e.to_string() };
    let mut out = String::new();
    out.push_str(&format!("{} {}\n", t("Tệp:", "File:"), content.display()));
    out.push_str(&render_verdict(report.verdict, lang));
    for s in &report.signatures {
        out.push_str(&format!(
            "\n{} {}:\n",
            t("Chữ ký", "Signature"),
            s.index + 1
        ));
        out.push_str(&render_signature(s, lang));
    }
    for n in notes {
        out.push_str(&format!(
            "{} {}\n",
            t("Ghi chú:", "Note:"),
            if vi { &n.vi } else { &n.en }
        ));
    }
    out
}

/// The verdict line.
pub(crate) fn render_verdict(verdict: Verdict, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let t = |v: &str, e: &str| if vi { v.to_string() } else { e.to_string() };
    let verdict_text = match verdict {
        Verdict::Valid => t("HỢP LỆ ✓", "VALID ✓"),
        Verdict::ValidWithChanges => t(
            "HỢP LỆ, có thay đổi được phép sau khi ký",
            "VALID, with permitted later changes",
        ),
        Verdict::Modified => t("ĐÃ BỊ SỬA ĐỔI sau khi ký ✗", "MODIFIED after signing ✗"),
        Verdict::Invalid => t("KHÔNG HỢP LỆ ✗", "INVALID ✗"),
        Verdict::Indeterminate => t("CHƯA XÁC ĐỊNH ĐƯỢC ?", "INDETERMINATE ?"),
        Verdict::Unsigned => t("CHƯA ĐƯỢC KÝ", "NOT SIGNED"),
        _ => format!("{verdict:?}"),
    };
    format!("{} {}\n", t("Kết luận:", "Verdict:"), verdict_text)
}

/// One signature's lines (signer, time, checks, indication, reasons), indented.
pub(crate) fn render_signature(s: &SignatureReport, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    let t = |v: &str, e: &str| if vi { v.to_string() } else { e.to_string() };
    let mut out = String::new();
    {
        if let Some(signer) = &s.signer {
            let name = signer
                .common_name
                .clone()
                .unwrap_or_else(|| signer.subject.clone());
            let uid = signer
                .uid
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default();
            out.push_str(&format!("  {} {name}{uid}\n", t("Người ký:", "Signer:")));
            if let Some(org) = &signer.organization {
                out.push_str(&format!("  {} {org}\n", t("Cơ quan:", "Agency:")));
            }
            out.push_str(&format!(
                "  {} {} — {} {} {} {}\n",
                t("Chứng thư số:", "Certificate:"),
                signer.serial,
                t("hiệu lực", "valid"),
                signer.not_before,
                t("đến", "to"),
                signer.not_after
            ));
            out.push_str(&format!(
                "  {} {}\n",
                t("Cấp bởi:", "Issued by:"),
                signer.issuer
            ));
        }
        let source = match s.signing_time_source {
            TimeSource::Timestamp => t("theo dấu thời gian", "from a time-stamp"),
            TimeSource::Claimed => t(
                "do người ký tự khai, chưa được chứng thực",
                "claimed by the signer, not proven",
            ),
            TimeSource::None => t(
                "không có, kiểm tra tại thời điểm hiện tại",
                "none; checked at the validation time",
            ),
        };
        if let Some(time) = &s.signing_time {
            out.push_str(&format!(
                "  {} {time} ({source})\n",
                t("Thời điểm ký:", "Signing time:")
            ));
        }
        let check = |c: Check| match c {
            Check::Passed => t("đạt", "passed"),
            Check::Failed => t("KHÔNG ĐẠT", "FAILED"),
            Check::Indeterminate => t("chưa xác định", "indeterminate"),
            Check::NotChecked => t("không kiểm tra", "not checked"),
        };
        let revocation = match s.revocation {
            RevocationCheck::Good => t(
                "chưa bị thu hồi tại thời điểm ký",
                "not revoked at signing time",
            ),
            RevocationCheck::Revoked => t("ĐÃ BỊ THU HỒI", "REVOKED"),
            RevocationCheck::RevokedAfterSigning => t(
                "bị thu hồi sau thời điểm ký",
                "revoked after the signing time",
            ),
            RevocationCheck::Unknown => t("không xác định", "unknown"),
            RevocationCheck::NotChecked => t("không kiểm tra", "not checked"),
        };
        out.push_str(&format!(
            "  {} {}; {} {}; {} {}\n",
            t("Toàn vẹn:", "Integrity:"),
            check(s.integrity),
            t("Tin cậy:", "Trust:"),
            check(s.trust),
            t("Thu hồi:", "Revocation:"),
            revocation
        ));
        out.push_str(&format!(
            "  {} {} / {}\n",
            t("Thuật toán:", "Algorithm:"),
            s.algorithm,
            s.digest_algorithm
        ));
        if let (Some(list), Some(root)) = (&s.trust_anchor_source, s.chain.last()) {
            let list = if list == kyso_pki::trust_list::VIETNAM {
                t(
                    "danh sách tin cậy Việt Nam tích hợp (vn)",
                    "the built-in Vietnamese trust list (vn)",
                )
            } else {
                list.clone()
            };
            out.push_str(&format!(
                "  {} {root} — {list}\n",
                t("Chứng thư gốc tin cậy:", "Trust anchor:")
            ));
        }
        if let Some(ts) = &s.timestamp {
            out.push_str(&format!(
                "  {} {} ({})\n",
                t("Dấu thời gian:", "Time-stamp:"),
                ts.time,
                if ts.valid {
                    t("hợp lệ", "valid")
                } else {
                    t("KHÔNG hợp lệ", "NOT valid")
                }
            ));
        }
        let indication = format!(
            "{}{}",
            etsi_name(&s.indication),
            s.sub_indication
                .map(|x| format!(" / {}", etsi_name(&x)))
                .unwrap_or_default()
        );
        out.push_str(&format!(
            "  {} {indication}\n",
            t("Chỉ dẫn ETSI:", "ETSI indication:")
        ));
        for r in &s.reasons {
            out.push_str(&format!(
                "  {} {}\n",
                t("Lý do:", "Reason:"),
                if vi { &r.vi } else { &r.en }
            ));
        }
        for w in &s.warnings {
            out.push_str(&format!(
                "  {} {}\n",
                t("Lưu ý:", "Note:"),
                if vi { &w.vi } else { &w.en }
            ));
        }
    }
    out
}

/// The ETSI spelling (`TOTAL_PASSED`, `HASH_FAILURE`) of an indication, as in the JSON.
fn etsi_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
