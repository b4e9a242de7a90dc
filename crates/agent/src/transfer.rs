//! Downloading the document the page names (`FileName`, GET) and uploading the signed
//! file to the page's handler (`FileUploadHandler`, multipart POST with the file in the
//! part `uploadfile` and `MetaData` as text fields). Both URLs are untrusted input:
//! `https:` only, `http:` only to loopback and private addresses (by policy), no other
//! scheme, a size limit, query strings kept as they are (deployments authenticate the
//! agent's calls with tokens in the URLs).

use axum::http::Uri;
use kyso_net::{Client, NetConfig, NetError};
use serde_json::{Map, Value};

use crate::config::{AgentConfig, is_private_host};
use crate::protocol::{Failure, MetaItem, Status};

/// The page's credentials for both calls.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `SessionId`: sent as the `Cookie` header (as is when it holds `=`, else as
    /// `SessionId=<value>`).
    pub session_id: String,
    /// `JWTToken`: sent as `Authorization: Bearer`.
    pub jwt: String,
}

impl Credentials {
    /// The page's `SessionId` and `JWTToken`.
    pub fn new(session_id: &str, jwt: &str) -> Self {
        Self {
            session_id: session_id.to_string(),
            jwt: jwt.to_string(),
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        let s = self.session_id.trim();
        if !s.is_empty() {
            h.push((
                "Cookie",
                if s.contains('=') {
                    s.to_string()
                } else {
                    format!("SessionId={s}")
                },
            ));
        }
        let j = self.jwt.trim();
        if !j.is_empty() {
            h.push(("Authorization", format!("Bearer {j}")));
        }
        h
    }
}

/// Downloads and uploads under the configured policy.
#[derive(Debug, Clone)]
pub struct Transfer {
    download: Client,
    upload: Client,
    allow_http_private: bool,
}

impl Transfer {
    /// Clients with the configured size limit (uploads are not retried: a handler that
    /// stored the file must not get it twice).
    pub fn new(config: &AgentConfig) -> Self {
        // Redirects are followed here, each target checked against the URL policy.
        let base = NetConfig {
            timeout: std::time::Duration::from_secs(120),
            max_response: config.max_document,
            retries: 2,
            max_redirects: 0,
        };
        Self {
            download: Client::new(base),
            upload: Client::new(NetConfig {
                max_response: 1 << 20,
                retries: 0,
                ..base
            }),
            allow_http_private: config.allow_http_private,
        }
    }

    /// Refuses a URL the policy does not allow.
    pub fn check_url(&self, what: &str, url: &str) -> Result<(), Failure> {
        let refuse = |why_vi: &str, why_en: &str| {
            Failure::new(
                Status::UrlRefused,
                format!("Địa chỉ {what} \"{url}\" không được phép: {why_vi}"),
                format!("{what} URL \"{url}\" is not allowed: {why_en}"),
            )
        };
        if url.trim().is_empty() {
            return Err(refuse(
                "trang phải chỉ rõ địa chỉ (chọn tệp trên máy chưa được hỗ trợ)",
                "the page must name it (picking a local file is not supported)",
            ));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| refuse("không phải URL", "not a URL"))?;
        let host = uri.host().unwrap_or_default();
        if host.is_empty() {
            return Err(refuse("thiếu máy chủ", "no host"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(refuse(
                "không nhận tên/mật khẩu trong URL",
                "no user name or password in the URL",
            ));
        }
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self.allow_http_private && is_private_host(host) => Ok(()),
            Some("http") => Err(refuse(
                "http chỉ dùng cho máy trong mạng nội bộ; hãy dùng https",
                "http only to loopback and private addresses; use https",
            )),
            _ => Err(refuse("chỉ nhận https", "only https")),
        }
    }

    /// GET the document, following at most [`MAX_REDIRECTS`] redirects whose targets the
    /// URL policy allows (the page's credentials are sent only to its own URL's host).
    pub fn download(&self, url: &str, who: &Credentials) -> Result<Vec<u8>, Failure> {
        self.check_url("tải về", url)?;
        let first_host = host_of(url);
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let headers = if host_of(&current) == first_host {
                who.headers()
            } else {
                Vec::new()
            };
            match self.download.get_with_headers(&current, &headers) {
                Ok(bytes) => return Ok(bytes),
                Err(NetError::Redirect { location, .. }) => {
                    let next = resolve(&current, &location);
                    self.check_url("chuyển hướng tới", &next)?;
                    current = next;
                }
                Err(e) => {
                    return Err(net_failure(
                        Status::DownloadFailed,
                        "tải tài liệu",
                        "download",
                        &e,
                    ));
                }
            }
        }
        Err(Failure::new(
            Status::DownloadFailed,
            format!("Không tải tài liệu được: quá {MAX_REDIRECTS} lần chuyển hướng"),
            format!("download failed: more than {MAX_REDIRECTS} redirects"),
        ))
    }

    /// POST the signed file; the handler's JSON reply (empty for a 2xx without JSON).
    pub fn upload(
        &self,
        url: &str,
        who: &Credentials,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
        metadata: &[MetaItem],
    ) -> Result<Map<String, Value>, Failure> {
        self.check_url("gửi lên", url)?;
        let (boundary, body) = multipart(file_name, content_type, bytes, metadata);
        let reply = self
            .upload
            .post_with_headers(
                url,
                &format!("multipart/form-data; boundary={boundary}"),
                &who.headers(),
                &body,
            )
            .map_err(|e| net_failure(Status::UploadFailed, "gửi tệp đã ký", "upload", &e))?;
        Ok(match serde_json::from_slice::<Value>(&reply) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        })
    }
}

fn net_failure(status: Status, vi: &str, en: &str, e: &NetError) -> Failure {
    let (why_vi, why_en) = match e {
        NetError::Status { status, .. } => (
            format!("máy chủ trả lời HTTP {status}"),
            format!("the server answered HTTP {status}"),
        ),
        NetError::TooLarge { limit, .. } => (
            format!("tệp lớn hơn {limit} byte"),
            format!("larger than {limit} bytes"),
        ),
        other => (format!("lỗi kết nối ({other})"), other.to_string()),
    };
    Failure::new(
        status,
        format!("Không {vi} được: {why_vi}"),
        format!("{en} failed: {why_en}"),
    )
}

/// Redirects followed on a download.
pub const MAX_REDIRECTS: usize = 5;

fn host_of(url: &str) -> Option<String> {
    url.parse::<Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_ascii_lowercase()))
}

/// `location` (absolute, `//host/…`, `/path` or relative) against `base`.
pub fn resolve(base: &str, location: &str) -> String {
    let location = location.trim();
    if location.contains("://") {
        return location.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_string();
    };
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{authority}{dir}{location}")
}

/// The last path segment of a URL, made safe as a file name (`document.pdf` when
/// there is none).
pub fn file_name_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !"\\/:*?\"<>|".contains(*c))
        .take(120)
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        "document.pdf".into()
    } else {
        clean
    }
}

fn quote(s: &str) -> String {
    s.replace(['"', '\r', '\n'], "_")
}

/// A multipart/form-data body: the metadata fields, then the file as `uploadfile`.
fn multipart(
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    metadata: &[MetaItem],
) -> (String, Vec<u8>) {
    let mut r = [0u8; 12];
    rand::fill(&mut r);
    let boundary = format!("----kyso-agent-{}", hex::encode(r));
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for m in metadata {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                quote(&m.key),
                m.value
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
            quote(file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer() -> Transfer {
        Transfer::new(&AgentConfig::default())
    }

    #[test]
    fn url_policy() {
        let t = transfer();
        for ok in [
            "https://eoffice.cantho.gov.vn/f?id=1&token=abc",
            "http://127.0.0.1:8080/f",
            "http://10.0.0.5/f",
        ] {
            assert!(t.check_url("x", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "file:///etc/passwd",
            "http://eoffice.cantho.gov.vn/f",
            "ftp://10.0.0.5/f",
            "https://user:pw@a.vn/f",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                t.check_url("x", bad).unwrap_err().status,
                Status::UrlRefused,
                "{bad}"
            );
        }
        let strict = Transfer::new(&AgentConfig {
            allow_http_private: false,
            ..AgentConfig::default()
        });
        assert!(strict.check_url("x", "http://127.0.0.1/f").is_err());
    }

    #[test]
    fn redirect_targets() {
        let b = "https://a.vn/van-ban/1/tai?x=1";
        assert_eq!(resolve(b, "https://b.vn/f"), "https://b.vn/f");
        assert_eq!(resolve(b, "//c.vn/f"), "https://c.vn/f");
        assert_eq!(resolve(b, "/tep/2.pdf"), "https://a.vn/tep/2.pdf");
        assert_eq!(resolve(b, "2.pdf?t=9"), "https://a.vn/van-ban/1/2.pdf?t=9");
        assert_eq!(resolve("https://a.vn", "f.pdf"), "https://a.vn/f.pdf");
        assert_eq!(resolve(b, "file:///etc/passwd"), "file:///etc/passwd");
    }

    #[test]
    fn names_and_multipart() {
        assert_eq!(file_name_of("https://a.vn/f/qd-15.pdf?x=1"), "qd-15.pdf");
        assert_eq!(file_name_of("https://a.vn/"), "document.pdf");
        assert_eq!(file_name_of("https://a.vn/..%2f"), "document.pdf");
        let (b, body) = multipart(
            "a\"b.pdf",
            "application/pdf",
            b"%PDF-1.7",
            &[MetaItem {
                key: "docId".into(),
                value: "42".into(),
            }],
        );
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("name=\"docId\"\r\n\r\n42\r\n"));
        assert!(text.contains("name=\"uploadfile\"; filename=\"a_b.pdf\""));
        assert!(text.ends_with(&format!("\r\n--{b}--\r\n")));
    }
}
