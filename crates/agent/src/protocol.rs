//! The VGCA Sign Service wire protocol as pages speak it through `vgcaplugin.js`
//! (docs/agent.md has the reconstruction and its confidence): one WebSocket per call
//! to `wss://127.0.0.1:8987/<Endpoint>`, one text frame from the page — a JSON object,
//! or a bare word (`config`, `get_cert_info`, `request`, `GetVersion`), or raw base64
//! for the legacy `SignMsg` — and one JSON text frame back with an integer `Status`
//! (`0` = success) and a `Message` that pages show as is (Vietnamese).

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The endpoints (URL paths), matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Show the agent's settings (the reply only closes the socket).
    Config,
    /// The certificate of the signing key.
    GetCertInfo,
    /// Version of the helper (v2 pages).
    GetVersion,
    /// A licence request (VGCA needs none; kyso needs none).
    GetLicenseRequest,
    /// Sign a digest (`HashAlg`, `HashValue`) or, legacy, raw base64 data.
    SignMsg,
    /// Sign a PDF, generic.
    SignPdf,
    /// Sign any file: PDF as PAdES, anything else as detached CAdES.
    SignFile,
    /// The competent person's signature (Decree 30: signature image on the name line).
    SignApproved,
    /// The agency's seal at issuance, with the number and date.
    SignIssued,
    /// The clerk's agency signature on an incoming document.
    SignIncome,
    /// An attachment issued in a separate file (agency signature, information line).
    SignAppendix,
    /// An electronic copy (agency signature, copy line).
    SignCopy,
    /// A batch of files, one confirmation and one PIN.
    SignFiles,
    /// Verify a PDF's signatures.
    VerifyPdf,
    /// A path the pages know but whose payload is not public (or not for kyso).
    Unsupported(&'static str),
}

const UNSUPPORTED: &[&str] = &[
    "Auth",
    "VerifyMsg",
    "SignXML",
    "SignXMLP12",
    "VerifyXML",
    "SignPDFWP",
    "SignOffice",
    "VerifyOffice",
    "Comment",
    "SignJson",
    "VerifyJson",
    "SignRSAs",
    "Encrypt",
    "Decrypt",
    "SignTest",
];

impl Endpoint {
    /// The endpoint of a URL path (`/SignApproved`, any case); `None` for unknown paths.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.trim_matches('/');
        let known = [
            ("Config", Endpoint::Config),
            ("GetCertInfo", Endpoint::GetCertInfo),
            ("GetVersion", Endpoint::GetVersion),
            ("GetLicenseRequest", Endpoint::GetLicenseRequest),
            ("SignMsg", Endpoint::SignMsg),
            ("SignPDF", Endpoint::SignPdf),
            ("SignFile", Endpoint::SignFile),
            ("SignApproved", Endpoint::SignApproved),
            ("SignIssued", Endpoint::SignIssued),
            ("SignIncome", Endpoint::SignIncome),
            ("SignAppendix", Endpoint::SignAppendix),
            ("SignCopy", Endpoint::SignCopy),
            ("SignFiles", Endpoint::SignFiles),
            ("VerifyPDF", Endpoint::VerifyPdf),
        ];
        known
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, e)| *e)
            .or_else(|| {
                UNSUPPORTED
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(name))
                    .map(|n| Endpoint::Unsupported(n))
            })
    }

    /// What the endpoint is for, in Vietnamese (shown in the confirmation).
    pub fn purpose(self) -> &'static str {
        match self {
            Endpoint::Config => "cấu hình",
            Endpoint::GetCertInfo => "đọc thông tin chứng thư số",
            Endpoint::GetVersion => "phiên bản",
            Endpoint::GetLicenseRequest => "yêu cầu giấy phép",
            Endpoint::SignMsg => "ký một giá trị băm",
            Endpoint::SignPdf => "ký tệp PDF",
            Endpoint::SignFile => "ký tệp",
            Endpoint::SignApproved => "lãnh đạo ký phê duyệt (chữ ký cá nhân)",
            Endpoint::SignIssued => "văn thư ký phát hành (đóng dấu cơ quan)",
            Endpoint::SignIncome => "văn thư ký văn bản đến",
            Endpoint::SignAppendix => "ký tài liệu kèm theo / phụ lục",
            Endpoint::SignCopy => "ký bản sao điện tử",
            Endpoint::SignFiles => "ký nhiều tệp",
            Endpoint::VerifyPdf => "kiểm tra chữ ký PDF",
            Endpoint::Unsupported(_) => "không hỗ trợ",
        }
    }
}

/// Reply status codes. `0` is what pages test; the others are kyso's own (the real
/// service's non-zero codes are not public), stable, listed in docs/agent.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The request could not be understood.
    BadRequest = 1,
    /// The endpoint is known but not implemented.
    Unsupported = 2,
    /// The page's origin is not on the allow-list.
    OriginRefused = 3,
    /// A URL is not allowed (scheme, host).
    UrlRefused = 4,
    /// The document could not be downloaded.
    DownloadFailed = 5,
    /// The document is not a PDF that can be signed, or cannot be placed.
    BadDocument = 6,
    /// No token, no key or the module failed.
    NoToken = 7,
    /// Wrong PIN.
    WrongPin = 8,
    /// The PIN is locked (or only the final try is left).
    PinLocked = 9,
    /// The certificate cannot sign now (not yet or no longer valid, or its key usage
    /// allows no digital signature).
    CertificateInvalid = 10,
    /// The person refused (or did not answer).
    Cancelled = 11,
    /// Signing failed.
    SigningFailed = 12,
    /// The upload failed.
    UploadFailed = 13,
    /// The page's upload handler answered `Status: false`.
    HandlerRejected = 14,
    /// Too many requests wait for a confirmation.
    Busy = 15,
    /// The agent is not set up (no token module configured, no image).
    NotConfigured = 16,
}

/// A failure: status and the message in Vietnamese (pages show `Message` verbatim) with
/// the English for logs.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Status code.
    pub status: Status,
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
}

impl Failure {
    /// A failure.
    pub fn new(status: Status, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            status,
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The reply frame: the message in both `Message` and `Error` (callers read either).
    pub fn reply(&self) -> Value {
        json!({
            "Status": self.status as i32,
            "Message": self.vi,
            "Error": self.vi,
        })
    }
}

/// A `{Key, Value}` of `MetaData`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MetaItem {
    /// Name (sent to the upload handler as a form field).
    #[serde(rename = "Key", alias = "key")]
    pub key: String,
    /// Value.
    #[serde(rename = "Value", alias = "value", default)]
    pub value: String,
}

/// The common request of the file-signing endpoints.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct FileRequest {
    /// Where the signed file is POSTed (multipart, part `uploadfile`).
    #[serde(rename = "FileUploadHandler", default)]
    pub upload: String,
    /// URL of the document (GET). Empty = a local file chosen by the person (not
    /// supported: a page must name the document).
    #[serde(rename = "FileName", default)]
    pub file: String,
    /// Cookie value (sent as `Cookie` when not empty).
    #[serde(rename = "SessionId", default)]
    pub session_id: String,
    /// Bearer token (sent as `Authorization: Bearer` when not empty).
    #[serde(rename = "JWTToken", default)]
    pub jwt: String,
    /// Extra form fields for the upload handler.
    #[serde(rename = "MetaData", default, deserialize_with = "metadata")]
    pub metadata: Vec<MetaItem>,
    /// Number and notation (SignIssued, SignAppendix, SignCopy).
    #[serde(rename = "DocNumber", default, deserialize_with = "stringish")]
    pub doc_number: String,
    /// Issue date (SignIssued): `2019-03-12T12:00:00+07:00`, a JS date in UTC, or empty.
    #[serde(rename = "IssuedDate", default, deserialize_with = "stringish")]
    pub issued_date: String,
}

/// One file of a `SignFiles` batch.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchFile {
    /// The page's id, returned as is.
    #[serde(rename = "FileID", default)]
    pub id: Value,
    /// Display name.
    #[serde(rename = "FileName", default)]
    pub name: String,
    /// Download URL.
    #[serde(rename = "URL", default)]
    pub url: String,
}

/// `SignFiles`.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchRequest {
    /// Upload handler for every file.
    #[serde(rename = "FileUploadHandler", default)]
    pub upload: String,
    /// Cookie.
    #[serde(rename = "SessionId", default)]
    pub session_id: String,
    /// Bearer token.
    #[serde(rename = "JWTToken", default)]
    pub jwt: String,
    /// The files.
    #[serde(rename = "Files", default)]
    pub files: Vec<BatchFile>,
}

/// `SignMsg`: a digest to sign, or (legacy) data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgRequest {
    /// `{HashAlg, HashValue}`.
    Digest {
        /// `SHA256`, `SHA384`, `SHA512` (any case, with or without the dash).
        alg: String,
        /// The digest.
        value: Vec<u8>,
    },
    /// Raw base64 data (the legacy wrapper): signed as a message.
    Data(Vec<u8>),
}

fn metadata<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<MetaItem>, D::Error> {
    // Pages send an array, an empty string or null.
    let v = Value::deserialize(d)?;
    match v {
        Value::Array(_) => serde_json::from_value(v).map_err(serde::de::Error::custom),
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::String(s) => serde_json::from_str(&s).map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("MetaData must be an array")),
    }
}

fn stringish<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    })
}

/// The largest request frame accepted (a JSON request names URLs; a legacy SignMsg
/// carries data).
pub const MAX_FRAME: usize = 1 << 20;

fn bad(en: &str, vi: &str) -> Failure {
    Failure::new(
        Status::BadRequest,
        format!("Yêu cầu không hợp lệ: {vi}"),
        format!("bad request: {en}"),
    )
}

/// Parse a JSON object frame (pages send `JSON.stringify(obj)`; some send it twice
/// encoded, as a JSON string holding the object).
pub fn object(frame: &str) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_str::<Value>(frame.trim()) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(bad("not a JSON object", "không phải đối tượng JSON")),
        },
        Ok(_) => Err(bad("not a JSON object", "không phải đối tượng JSON")),
        Err(e) => Err(bad(&format!("JSON: {e}"), &format!("JSON sai: {e}"))),
    }
}

/// A file request.
pub fn file_request(frame: &str) -> Result<FileRequest, Failure> {
    serde_json::from_value(Value::Object(object(frame)?))
        .map_err(|e| bad(&e.to_string(), &e.to_string()))
}

/// A batch request.
pub fn batch_request(frame: &str) -> Result<BatchRequest, Failure> {
    let r: BatchRequest = serde_json::from_value(Value::Object(object(frame)?))
        .map_err(|e| bad(&e.to_string(), &e.to_string()))?;
    if r.files.is_empty() {
        return Err(bad("Files is empty", "danh sách Files rỗng"));
    }
    if r.files.len() > 100 {
        return Err(bad(
            "more than 100 files in one batch",
            "quá 100 tệp trong một lần ký",
        ));
    }
    Ok(r)
}

/// A `SignMsg` frame: `{HashAlg, HashValue}` or raw base64.
pub fn msg_request(frame: &str) -> Result<MsgRequest, Failure> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let t = frame.trim();
    if t.starts_with('{') || t.starts_with('"') {
        let m = object(t)?;
        let get = |k: &str| {
            m.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .and_then(|(_, v)| v.as_str())
        };
        let value = get("HashValue").ok_or_else(|| bad("no HashValue", "thiếu HashValue"))?;
        let value = b64
            .decode(value.trim())
            .map_err(|_| bad("HashValue is not base64", "HashValue không phải base64"))?;
        let alg = get("HashAlg").unwrap_or("SHA256").to_string();
        return Ok(MsgRequest::Digest { alg, value });
    }
    b64.decode(t).map(MsgRequest::Data).map_err(|_| {
        bad(
            "neither JSON nor base64",
            "không phải JSON cũng không phải base64",
        )
    })
}

/// The reply of a successful file call: the handler's fields verbatim (their JSON
/// types kept), then the document number and date.
pub fn file_reply(handler: &Map<String, Value>, number: &str, date: &str) -> Value {
    let mut out = Map::new();
    out.insert("Status".into(), json!(0));
    out.insert(
        "Message".into(),
        handler
            .get("Message")
            .cloned()
            .unwrap_or_else(|| json!("Ký số thành công")),
    );
    for k in ["FileName", "FileServer"] {
        out.insert(k.into(), handler.get(k).cloned().unwrap_or(json!("")));
    }
    let pick = |k: &str, ours: &str| match handler.get(k) {
        Some(v) if !v.is_null() && v != "" => v.clone(),
        _ => json!(ours),
    };
    out.insert("DocumentNumber".into(), pick("DocumentNumber", number));
    out.insert("DocumentDate".into(), pick("DocumentDate", date));
    Value::Object(out)
}

/// Whether an upload handler's `Status` means success: `true`, `"true"`, `0`, `"0"`;
/// no `Status` at all (a 2xx without JSON) counts as success.
pub fn handler_ok(reply: &Map<String, Value>) -> bool {
    match reply.get("Status") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => {
            let s = s.trim();
            s.eq_ignore_ascii_case("true") || s == "0"
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_any_case_and_unsupported() {
        assert_eq!(
            Endpoint::from_path("/SignApproved"),
            Some(Endpoint::SignApproved)
        );
        assert_eq!(
            Endpoint::from_path("/signapproved"),
            Some(Endpoint::SignApproved)
        );
        assert_eq!(Endpoint::from_path("/VerifyPDF"), Some(Endpoint::VerifyPdf));
        assert_eq!(
            Endpoint::from_path("/SignXML"),
            Some(Endpoint::Unsupported("SignXML"))
        );
        assert_eq!(Endpoint::from_path("/nothing"), None);
    }

    #[test]
    fn file_requests_as_pages_send_them() {
        let r = file_request(
            r#"{"FileUploadHandler":"https://a.vn/up?token=x","FileName":"https://a.vn/f/1",
               "SessionId":"","JWTToken":"","MetaData":[{"Key":"id","Value":"42"}],
               "DocNumber":79,"IssuedDate":""}"#,
        )
        .unwrap();
        assert_eq!(r.upload, "https://a.vn/up?token=x");
        assert_eq!(r.metadata[0].key, "id");
        assert_eq!(r.doc_number, "79");
        // Double-encoded, MetaData as an empty string.
        let r = file_request(r#""{\"FileName\":\"https://a.vn/f\",\"MetaData\":\"\"}""#).unwrap();
        assert_eq!(r.file, "https://a.vn/f");
        assert!(r.metadata.is_empty());
        assert_eq!(file_request("[1]").unwrap_err().status, Status::BadRequest);
        assert_eq!(file_request("{").unwrap_err().status, Status::BadRequest);
    }

    #[test]
    fn sign_msg_forms() {
        let m = msg_request(r#"{"HashAlg":"SHA256","HashValue":"AAEC","Encode":"RSA"}"#).unwrap();
        assert_eq!(
            m,
            MsgRequest::Digest {
                alg: "SHA256".into(),
                value: vec![0, 1, 2]
            }
        );
        assert_eq!(
            msg_request("AAEC").unwrap(),
            MsgRequest::Data(vec![0, 1, 2])
        );
        assert!(msg_request("{\"HashAlg\":\"SHA256\"}").is_err());
        assert!(msg_request("%%%").is_err());
    }

    #[test]
    fn handler_replies() {
        let m = |s: &str| object(s).unwrap();
        assert!(handler_ok(&m(r#"{"Status":true}"#)));
        assert!(handler_ok(&m(r#"{"Status":"0"}"#)));
        assert!(handler_ok(&m(r#"{"Status":0}"#)));
        assert!(!handler_ok(&m(r#"{"Status":false,"Message":"x"}"#)));
        assert!(!handler_ok(&m(r#"{"Status":1}"#)));
        let reply = file_reply(
            &m(r#"{"Status":true,"FileName":"a.pdf","FileServer":{"url":"u"}}"#),
            "15/QĐ-UBND",
            "07/12/2026",
        );
        assert_eq!(reply["Status"], 0);
        assert_eq!(reply["FileServer"]["url"], "u");
        assert_eq!(reply["DocumentNumber"], "15/QĐ-UBND");
    }
}
