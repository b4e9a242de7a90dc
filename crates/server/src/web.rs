//! The public verification page, server-rendered in Vietnamese (askama templates in
//! `crates/server/templates`, compiled into the binary and escaped by default), the
//! report's rendering shared with the staff's document page ([`crate::ui`]), and the
//! static files (the pages' scripts and pdf.js, under their own CSP).
//!
//! `/xac-minh`: the public verification page — no login, nothing stored. A PDF, or a
//! file and its `.p7s`, goes through the same use case as `POST /api/v1/verify`
//! ([`crate::routes::verify_upload`]: rate limit, size limit, bounded concurrency,
//! revocation over http(s) only), and the report is rendered in plain Vietnamese: the
//! verdict, then each signature's status, signer, agency, time (dd/mm/yyyy hh:mm:ss,
//! +07:00), coverage, reasons and any later change.

use askama::Template;
use axum::extract::{ConnectInfo, Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;

/// The verification page, with a report or an error when there is one.
#[derive(Template)]
#[template(path = "xac_minh.html")]
struct VerifyPage {
    limit_mb: u64,
    error: Option<String>,
    report: Option<ReportView>,
}

/// A report as read by a person.
#[derive(Debug, Clone)]
pub(crate) struct ReportView {
    pub(crate) file_name: String,
    /// `ok`, `bad` or `unknown` (the banner's colour).
    pub(crate) class: &'static str,
    pub(crate) headline: &'static str,
    pub(crate) summary: String,
    pub(crate) reasons: Vec<String>,
    pub(crate) validation_time: String,
    pub(crate) signatures: Vec<SignatureView>,
}

/// One signature as read by a person.
#[derive(Debug, Clone)]
pub(crate) struct SignatureView {
    pub(crate) field: String,
    pub(crate) class: &'static str,
    pub(crate) status: String,
    pub(crate) signer: String,
    pub(crate) organization: String,
    pub(crate) time: String,
    pub(crate) coverage: String,
    pub(crate) issuer: String,
    pub(crate) reasons: Vec<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) changes: Vec<String>,
    /// Page of the visible appearance (none: invisible or not found).
    pub(crate) page: Option<usize>,
    /// Its rectangle, `x0 y0 x1 y1` in points (for the page view).
    pub(crate) rect: String,
    /// Where it is, in words.
    pub(crate) position: String,
}

/// The verification page's policy: its own script and pdf.js (module and worker) from
/// this server, nothing else; no eval (pdf.js runs with `isEvalSupported: false`).
const VERIFY_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; font-src 'self' blob: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode, page: &VerifyPage) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, VERIFY_PAGE_CSP),
            ],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("template: {e}"),
        )
            .into_response(),
    }
}

fn limit_mb(state: &AppState) -> u64 {
    state.config.verify_limit.div_ceil(1024 * 1024)
}

/// The files under `/static/`, compiled into the binary: the pages' scripts and pdf.js
/// (Apache-2.0, vendored from the npm package pdfjs-dist 5.6.205: `static/vendor/pdfjs`).
pub(crate) async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    const JS: &str = "text/javascript; charset=utf-8";
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "xac-minh.js" => (include_bytes!("../static/xac-minh.js"), JS),
        "trang.js" => (include_bytes!("../static/trang.js"), JS),
        "ui.js" => (include_bytes!("../static/ui.js"), JS),
        "van-ban.js" => (include_bytes!("../static/van-ban.js"), JS),
        "pdfjs/pdf.min.mjs" => (include_bytes!("../static/vendor/pdfjs/pdf.min.mjs"), JS),
        "pdfjs/pdf.worker.min.mjs" => (
            include_bytes!("../static/vendor/pdfjs/pdf.worker.min.mjs"),
            JS,
        ),
        "pdfjs/LICENSE" => (
            include_bytes!("../static/vendor/pdfjs/LICENSE"),
            "text/plain; charset=utf-8",
        ),
        _ => {
            return crate::error::ApiError(kyso_app::AppError::not_found(
                "không có tệp này",
                "no such file",
            ))
            .into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// `GET /xac-minh`.
pub(crate) async fn verify_page(State(state): State<AppState>) -> Response {
    html(
        StatusCode::OK,
        &VerifyPage {
            limit_mb: limit_mb(&state),
            error: None,
            report: None,
        },
    )
}

/// `POST /xac-minh`: the report, or the page with the reason it could not be made
/// (the HTTP status of the same error in the API).
pub(crate) async fn verify_submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let limit_mb = limit_mb(&state);
    match crate::routes::verify_upload(&state, addr.ip(), &headers, multipart).await {
        Ok((verification, name)) => html(
            StatusCode::OK,
            &VerifyPage {
                limit_mb,
                error: None,
                report: Some(report_view(&verification.to_json(), &name)),
            },
        ),
        Err(e) => {
            let status = StatusCode::from_u16(e.0.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            html(
                status,
                &VerifyPage {
                    limit_mb,
                    error: Some(e.0.vi.clone()),
                    report: None,
                },
            )
        }
    }
}

/// `2026-12-07T02:00:00Z` → `07/12/2026 09:00:00 (+07:00)`; anything else as given.
pub(crate) fn vietnam_time(text: &str) -> String {
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => kyso_app::vietnam_date_time(t),
        Err(_) => text.to_string(),
    }
}

fn vi_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| r["vi"].as_str().or_else(|| r["en"].as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn change_class(class: &str) -> &'static str {
    match class {
        "metadata" => "thông tin mô tả tài liệu",
        "dss" => "dữ liệu kiểm tra chữ ký (DSS)",
        "document_timestamp" => "dấu thời gian tài liệu",
        "signature" => "thêm chữ ký",
        "form_fill" => "điền biểu mẫu",
        "annotation" => "thêm hoặc sửa chú thích",
        _ => "thay đổi nội dung hoặc cấu trúc",
    }
}

/// The report of `kyso verify --json` as a person reads it.
pub(crate) fn report_view(v: &Value, file_name: &str) -> ReportView {
    let verdict = v["verdict"].as_str().unwrap_or("indeterminate");
    let (class, headline, summary) = match verdict {
        "valid" => ("ok", "HỢP LỆ", "Mọi chữ ký số trên tệp đều hợp lệ."),
        "valid_with_changes" => (
            "ok",
            "HỢP LỆ",
            "Mọi chữ ký số hợp lệ; sau khi ký, tệp chỉ có những thay đổi được phép.",
        ),
        "modified" => (
            "bad",
            "KHÔNG HỢP LỆ",
            "Tệp đã bị sửa đổi sau khi ký bằng thay đổi không được phép.",
        ),
        "invalid" => (
            "bad",
            "KHÔNG HỢP LỆ",
            "Có chữ ký số không hợp lệ: tệp đã bị thay đổi hoặc chữ ký không đúng.",
        ),
        "unsigned" => (
            "unknown",
            "KHÔNG CÓ CHỮ KÝ SỐ",
            "Không tìm thấy chữ ký số nào.",
        ),
        _ => (
            "unknown",
            "CHƯA XÁC ĐỊNH",
            "Chưa đủ căn cứ để kết luận chữ ký hợp lệ hay không (xem lý do).",
        ),
    };
    let signatures = v["signatures"]
        .as_array()
        .map(|list| list.iter().map(signature_view).collect())
        .unwrap_or_default();
    let mut reasons = vi_list(&v["reasons"]);
    for n in vi_list(&v["notes"]) {
        if !reasons.contains(&n) {
            reasons.push(n);
        }
    }
    ReportView {
        file_name: file_name.to_string(),
        class,
        headline,
        summary: summary.to_string(),
        reasons,
        validation_time: vietnam_time(v["validation_time"].as_str().unwrap_or("")),
        signatures,
    }
}

fn signature_view(s: &Value) -> SignatureView {
    let indication = s["indication"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace('-', "_");
    let (class, status) = match indication.as_str() {
        "total_passed" => ("status-ok", "Hợp lệ"),
        "total_failed" => ("status-bad", "Không hợp lệ"),
        _ => ("status-unknown", "Chưa xác định"),
    };
    let mut status = status.to_string();
    if s["modification_level"]
        .as_str()
        .is_some_and(|l| l != "none")
        && s["modifications"]
            .as_array()
            .is_some_and(|m| m.iter().any(|c| c["allowed"] == false))
    {
        status = "Không hợp lệ: tệp bị sửa đổi sau khi ký".into();
    }
    let signer = &s["signer"];
    let coverage = match s["coverage"].as_str() {
        Some("entire_file") => "toàn bộ tệp",
        Some("entire_revision") => "toàn bộ phiên bản được ký; có phiên bản sau",
        Some("contiguous_block_from_start") => "một phần tệp từ đầu (không trọn phiên bản)",
        Some(_) => "không xác định được phạm vi",
        None => "tệp được ký (chữ ký tách rời)",
    };
    let changes = s["modifications"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    format!(
                        "phiên bản {}: {} — {}",
                        m["revision"],
                        change_class(m["class"].as_str().unwrap_or("")),
                        if m["allowed"] == true {
                            "được phép"
                        } else {
                            "KHÔNG được phép"
                        }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let page = s["appearance"]["page"].as_u64().map(|p| p as usize);
    let rect = s["appearance"]["rect"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|v| format!("{:.2}", v.as_f64().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let position = match (page, s["appearance"].is_null()) {
        (Some(p), _) => format!("trang {p}"),
        (None, false) => "hiển thị, không xác định được trang".to_string(),
        (None, true) if s["field"].is_null() => "chữ ký tách rời (tệp .p7s)".to_string(),
        (None, true) => "không hiển thị trên trang (chữ ký ẩn)".to_string(),
    };
    SignatureView {
        page,
        rect,
        position,
        field: text(&s["field"]),
        class,
        status,
        signer: signer["common_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| text(&signer["subject"])),
        organization: signer["organization"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "—".into()),
        time: s["signing_time"]
            .as_str()
            .map(vietnam_time)
            .unwrap_or_else(|| "không rõ".into()),
        coverage: coverage.to_string(),
        issuer: text(&signer["issuer"]),
        reasons: vi_list(&s["reasons"]),
        warnings: vi_list(&s["warnings"]),
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_vietnam() {
        assert_eq!(
            vietnam_time("2026-12-07T02:03:04Z"),
            "07/12/2026 09:03:04 (+07:00)"
        );
        assert_eq!(vietnam_time("không rõ"), "không rõ");
    }

    #[test]
    fn verdicts_and_signatures_read_in_vietnamese() {
        let v = serde_json::json!({
            "verdict": "invalid",
            "validation_time": "2026-12-07T00:00:00Z",
            "reasons": [],
            "signatures": [{
                "field": "Signature1",
                "indication": "TOTAL_FAILED",
                "signer": {"common_name": "Nguyễn Văn Hùng", "organization": "UBND", "issuer": "CN=CA"},
                "signing_time": "2026-12-06T17:30:00Z",
                "coverage": "entire_file",
                "reasons": [{"code": "digest_mismatch", "en": "digest", "vi": "giá trị băm không khớp"}],
                "warnings": [],
                "modifications": []
            }]
        });
        let r = report_view(&v, "qd.pdf");
        assert_eq!((r.class, r.headline), ("bad", "KHÔNG HỢP LỆ"));
        let s = &r.signatures[0];
        assert_eq!(s.status, "Không hợp lệ");
        assert_eq!(s.time, "07/12/2026 00:30:00 (+07:00)");
        assert_eq!(s.reasons, ["giá trị băm không khớp"]);
        let page = VerifyPage {
            limit_mb: 64,
            error: None,
            report: Some(r),
        }
        .render()
        .unwrap();
        assert!(page.contains("KHÔNG HỢP LỆ") && page.contains("Nguyễn Văn Hùng"));
        // Escaped: a name cannot inject markup.
        let v = serde_json::json!({"verdict": "unsigned", "signatures": []});
        let page = VerifyPage {
            limit_mb: 64,
            error: None,
            report: Some(report_view(&v, "<script>x</script>.pdf")),
        }
        .render()
        .unwrap();
        assert!(!page.contains("<script>x"), "{page}");
        assert!(
            page.contains("&#60;script&#62;x") || page.contains("&lt;script&gt;x"),
            "{page}"
        );
    }
}
