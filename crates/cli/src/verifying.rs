//! `kyso verify` for CMS: find the content and signature, gather trust anchors and
//! revocation data, run the verifier, render the report.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kyso_cades::report::{
    Check, Indication, Reason, Report, RevocationCheck, SignatureReport, SubIndication, TimeSource,
    Verdict, vietnam_time,
};
use kyso_cades::verify::{Limits, Need, VerifyOptions, needs};
use kyso_pki::AlgorithmPolicy;
use kyso_pki::path::{RevocationMode, TrustAnchors};
use time::OffsetDateTime;

use crate::args::{Lang, VerifyArgs};

/// Inputs of one verification, resolved.
pub(crate) struct VerifyJob {
    pub(crate) content: PathBuf,
    pub(crate) signature: PathBuf,
    pub(crate) anchors: TrustAnchors,
    pub(crate) extra_crls: Vec<Vec<u8>>,
    pub(crate) extra_certs: Vec<Vec<u8>>,
    pub(crate) at: OffsetDateTime,
    pub(crate) offline: bool,
    pub(crate) revocation: RevocationMode,
    pub(crate) algorithms: AlgorithmPolicy,
}

/// What every `kyso verify` needs besides the file: trust anchors, extra CRLs and
/// certificates, the validation time, the revocation mode and the algorithm policy.
pub(crate) struct Inputs {
    pub(crate) anchors: TrustAnchors,
    pub(crate) crls: Vec<Vec<u8>>,
    pub(crate) certs: Vec<Vec<u8>>,
    pub(crate) at: OffsetDateTime,
    pub(crate) revocation: RevocationMode,
    pub(crate) algorithms: AlgorithmPolicy,
    /// Anchors from --trust or the trust store (not counting --trust-list).
    pub(crate) own_anchors: usize,
}

/// The anchors of `--trust-list`: `vn` (built in), `none`, or a PEM file.
pub(crate) fn add_trust_list(anchors: &mut TrustAnchors, list: &str) -> Result<()> {
    match list {
        "none" => {}
        "vn" => {
            kyso_pki::trust_list::add_vietnam(anchors)
                .context("the built-in Vietnamese trust list does not load")?;
        }
        file => {
            let path = Path::new(file);
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read trust list {}", path.display()))?;
            let n = kyso_pki::trust_list::add_pem(anchors, &text, file)
                .with_context(|| format!("trust list {} is not usable", path.display()))?;
            if n == 0 {
                anyhow::bail!(
                    "trust list {} holds no PEM certificate (use vn, none or a PEM file)",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

impl Inputs {
    pub(crate) fn resolve(a: &VerifyArgs, data: &Path) -> Result<Self> {
        let trust_paths = if a.trust.is_empty() {
            let default = data.join("trust");
            if default.is_dir() {
                vec![default]
            } else {
                Vec::new()
            }
        } else {
            a.trust.clone()
        };
        let (mut anchors, own) = crate::store::load_anchors(&trust_paths)?;
        add_trust_list(&mut anchors, &a.trust_list)?;
        let algorithms = match &a.sha1_until {
            Some(t) => AlgorithmPolicy {
                sha1_until: crate::ca::parse_time(t)?,
                ..AlgorithmPolicy::default()
            },
            None => AlgorithmPolicy::default(),
        };
        let mut crls = Vec::new();
        for c in &a.crl {
            crls.push(crate::store::read_crl(c)?);
        }
        let mut certs = Vec::new();
        for c in &a.cert {
            for cert in crate::store::read_certificates(c)? {
                certs.push(der::Encode::to_der(&cert)?);
            }
        }
        let at = match &a.at {
            Some(t) => crate::ca::parse_time(t)?,
            None => OffsetDateTime::now_utc().replace_nanosecond(0)?,
        };
        Ok(Self {
            anchors,
            crls,
            certs,
            at,
            revocation: if a.no_revocation_check {
                RevocationMode::Skip
            } else {
                RevocationMode::Require
            },
            algorithms,
            own_anchors: own,
        })
    }
}

/// Work out which file is the content and which the signature.
pub(crate) fn locate(file: &Path, sig: Option<&Path>) -> (PathBuf, PathBuf) {
    if let Some(sig) = sig {
        return (file.to_path_buf(), sig.to_path_buf());
    }
    let name = file.to_string_lossy();
    if let Some(content) = name.strip_suffix(".p7s") {
        return (PathBuf::from(content), file.to_path_buf());
    }
    (file.to_path_buf(), PathBuf::from(format!("{name}.p7s")))
}

pub(crate) fn run(job: &VerifyJob, net: &kyso_net::Client) -> Result<(Report, Vec<Reason>)> {
    let mut notes = Vec::new();
    // Reading the content is "could not run" territory: missing file = exit 2, unless
    // the signature carries its content (`openssl cms -sign -stream`, -nodetach).
    let attached = match fs::metadata(&job.content) {
        Ok(meta) if meta.is_file() => false,
        Ok(_) => anyhow::bail!("{} is not a file", job.content.display()),
        Err(e) => {
            let encapsulated = fs::read(&job.signature).ok().and_then(|s| {
                kyso_cades::verify::encapsulated_content(&decode_pem_or_der(&s))
                    .ok()
                    .flatten()
            });
            if encapsulated.is_none() {
                return Err(e).with_context(|| format!("cannot read {}", job.content.display()));
            }
            notes.push(Reason::new(
                "encapsulated_content_verified",
                format!(
                    "{} does not exist: the content encapsulated in the signature was verified",
                    job.content.display()
                ),
                format!(
                    "không có tệp {}: đã kiểm tra nội dung đóng gói trong chữ ký",
                    job.content.display()
                ),
            ));
            true
        }
    };
    let signature = match fs::read(&job.signature) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((
                Report {
                    verdict: Verdict::Unsigned,
                    format: "cades",
                    validation_time: vietnam_time(job.at),
                    signatures: Vec::new(),
                },
                vec![Reason::new(
                    "no_signature_file",
                    format!("no signature file {}", job.signature.display()),
                    format!("không có tệp chữ ký {}", job.signature.display()),
                )],
            ));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", job.signature.display()));
        }
    };
    let signature = decode_pem_or_der(&signature);
    let mut crls = job.extra_crls.clone();
    let mut ocsp: Vec<Vec<u8>> = Vec::new();
    if !job.offline
        && job.revocation != RevocationMode::Skip
        && let Ok(list) = needs(&signature)
    {
        fetch(list, net, &mut crls, &mut ocsp, &mut notes);
    }
    if job.anchors.is_empty() {
        notes.push(no_trust_anchors());
    }
    let options = VerifyOptions {
        anchors: &job.anchors,
        extra_certificates: &job.extra_certs,
        extra_crls: &crls,
        extra_ocsp: &ocsp,
        validation_time: job.at,
        revocation: job.revocation,
        limits: Limits {
            algorithms: job.algorithms,
            ..Limits::default()
        },
    };
    // Stream the content once through every digest the signers use (no copy of the
    // file in memory).
    let digests = match kyso_cades::digest_algorithms(&signature) {
        Ok(_) if attached => Vec::new(),
        Ok(algorithms) => {
            let mut out = Vec::new();
            for alg in algorithms {
                out.push((alg, crate::signing::digest_file(&job.content, alg)?));
            }
            out
        }
        Err(_) => Vec::new(),
    };
    let result = if attached {
        kyso_cades::verify_detached(&signature, None, &options)
    } else {
        kyso_cades::verify_detached_digests(&signature, &digests, &options)
    };
    let report = match result {
        Ok(r) => r,
        Err(kyso_cades::CadesError::Malformed(why)) => malformed_report(&why, job.at),
        Err(e) => return Err(e.into()),
    };
    Ok((report, notes))
}

/// Fetch what the verifier asked for; failures become notes, in both languages (the
/// verdict then says what is missing).
pub(crate) fn fetch(
    list: Vec<Need>,
    net: &kyso_net::Client,
    crls: &mut Vec<Vec<u8>>,
    ocsp: &mut Vec<Vec<u8>>,
    notes: &mut Vec<Reason>,
) {
    for need in list {
        match need {
            Need::Crl(url) => match net.get(&url) {
                Ok(crl) => crls.push(crl),
                Err(e) => notes.push(Reason::new(
                    "crl_fetch_failed",
                    format!("could not fetch CRL {url}: {e}"),
                    format!("không tải được danh sách thu hồi (CRL) {url}: {e}"),
                )),
            },
            Need::Ocsp { url, request } if url.starts_with("http") => {
                match net.post(&url, "application/ocsp-request", &request) {
                    Ok(resp) => ocsp.push(resp),
                    Err(e) => notes.push(Reason::new(
                        "ocsp_failed",
                        format!("could not ask OCSP responder {url}: {e}"),
                        format!("không hỏi được dịch vụ OCSP {url}: {e}"),
                    )),
                }
            }
            _ => {}
        }
    }
}

/// The note for a verification without trust anchors.
pub(crate) fn no_trust_anchors() -> Reason {
    Reason::new(
        "no_trust_anchors",
        "no trust anchors configured (use --trust or `kyso trust add`)",
        "chưa cấu hình chứng thư gốc tin cậy (dùng --trust hoặc `kyso trust add`)",
    )
}

/// Only the built-in (or `--trust-list`) roots are trusted.
pub(crate) fn only_trust_list() -> Reason {
    Reason::new(
        "only_trust_list",
        "no trust anchors of your own configured: only the trust list (--trust-list) is used; add roots with --trust or `kyso trust add`",
        "chưa cấu hình chứng thư gốc tin cậy riêng: chỉ dùng danh sách tin cậy (--trust-list); thêm bằng --trust hoặc `kyso trust add`",
    )
}

/// A signature file that cannot be parsed is an invalid signature, not a crash.
fn malformed_report(why: &str, at: OffsetDateTime) -> Report {
    Report {
        verdict: Verdict::Invalid,
        format: "cades",
        validation_time: vietnam_time(at),
        signatures: vec![SignatureReport {
            index: 0,
            signer: None,
            algorithm: String::new(),
            digest_algorithm: String::new(),
            signing_time: None,
            signing_time_source: TimeSource::None,
            integrity: Check::Failed,
            trust: Check::NotChecked,
            revocation: RevocationCheck::NotChecked,
            timestamp: None,
            chain: Vec::new(),
            indication: Indication::TotalFailed,
            sub_indication: Some(SubIndication::FormatFailure),
            reasons: vec![Reason::new(
                "malformed",
                format!("the signature file is damaged or not a CMS signature: {why}"),
                format!("tệp chữ ký bị hỏng hoặc không phải chữ ký CMS: {why}"),
            )],
            warnings: Vec::new(),
            trust_anchor_source: None,
        }],
    }
}

fn decode_pem_or_der(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(b"-----BEGIN")
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        for label in ["CMS", "PKCS7"] {
            if let Some(d) = crate::store::pem_blocks(text, label).into_iter().next() {
                return d;
            }
        }
    }
    bytes.to_vec()
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
