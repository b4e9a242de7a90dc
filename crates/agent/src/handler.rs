//! One request, start to end: the page's origin checked against the allow-list, the
//! request parsed, both URLs checked, the document downloaded, the person asked (site,
//! action, document, both URLs, certificate), the PIN used for this one signing (the
//! token session closed after it), the document signed with kyso's signers (PAdES with
//! the Decree 30 appearance of the endpoint's role, or detached CAdES), uploaded, and
//! one JSON reply. Blocking: the server runs it on a blocking thread.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use der::Encode;
use kyso_app::signing::{PadesLevel, PdfSigning};
use kyso_pades::sign::{CopyForm, InfoLine, Placement, Role};
use kyso_pkcs11::{KeySelector, Module, Pin, Pkcs11Error, TokenKey};
use kyso_signer::{DigestAlgorithm, Signer};
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::config::{AgentConfig, ConfigError};
use crate::confirm::{Answer, Confirmer, Prompt};
use crate::protocol::{self, Endpoint, Failure, FileRequest, MsgRequest, Status};
use crate::transfer::{Credentials, Transfer, file_name_of};

/// At most this many requests wait for the person at once; more are answered Busy.
pub const MAX_WAITING: usize = 4;

/// The agent: configuration, token access, the person's confirmations.
pub struct Agent {
    config: AgentConfig,
    config_path: Option<std::path::PathBuf>,
    transfer: Transfer,
    /// Time-stamps and revocation data (one client for the agent's life).
    fetcher: kyso_net::Client,
    confirmer: Box<dyn Confirmer>,
    token: TokenAccess,
    leader_image: Option<Vec<u8>>,
    seal_image: Option<Vec<u8>>,
    chain: Vec<Certificate>,
    anchors: std::sync::Arc<kyso_pki::TrustAnchors>,
    own_anchors: usize,
    next_id: AtomicU64,
    waiting: AtomicUsize,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("port", &self.config.port)
            .field("allowed_origins", &self.config.allowed_origins)
            .finish()
    }
}

fn config_error(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(
        format!("không đọc được {}: {e}", path.display()),
        format!("cannot read {}: {e}", path.display()),
    )
}

impl Agent {
    /// An agent over `config`, asking the person through `confirmer`. Images, chain
    /// and trust anchors are read now (a wrong path is found at start, not at the
    /// first signing).
    pub fn new(
        config: AgentConfig,
        config_path: Option<std::path::PathBuf>,
        confirmer: Box<dyn Confirmer>,
    ) -> Result<Self, ConfigError> {
        let read = |p: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>, ConfigError> {
            p.as_ref()
                .map(|p| std::fs::read(p).map_err(|e| config_error(p, e)))
                .transpose()
        };
        let leader_image = read(&config.leader_image)?;
        let seal_image = read(&config.seal_image)?;
        let mut chain = Vec::new();
        let mut anchors = kyso_pki::TrustAnchors::new();
        let mut own = 0;
        for p in &config.trust {
            let text = std::fs::read_to_string(p).map_err(|e| config_error(p, e))?;
            own += kyso_pki::trust_list::add_pem(&mut anchors, &text, &p.display().to_string())
                .map_err(|e| config_error(p, e))?;
        }
        for p in &config.chain {
            let text = std::fs::read_to_string(p).map_err(|e| config_error(p, e))?;
            for der in kyso_app::trust::pem_blocks(&text, "CERTIFICATE") {
                chain.push(
                    <Certificate as der::Decode>::from_der(&der).map_err(|e| config_error(p, e))?,
                );
            }
        }
        kyso_pki::trust_list::add_vietnam(&mut anchors)
            .map_err(|e| config_error(Path::new("trust/vn"), e))?;
        let selector = match (&config.key_id, &config.key_label) {
            (Some(id), _) => KeySelector::Id(hex::decode(id).unwrap_or_default()),
            (None, Some(l)) => KeySelector::Label(l.clone()),
            _ => KeySelector::Only,
        };
        Ok(Self {
            transfer: Transfer::new(&config),
            fetcher: kyso_net::Client::default(),
            token: TokenAccess {
                module_path: config.pkcs11.clone(),
                module: Mutex::new(None),
                token_label: config.token_label.clone(),
                token_serial: config.token_serial.clone(),
                key_id: config.key_id.as_ref().and_then(|i| hex::decode(i).ok()),
                selector,
                lock: Mutex::new(()),
            },
            config,
            config_path,
            confirmer,
            leader_image,
            seal_image,
            chain,
            anchors: std::sync::Arc::new(anchors),
            own_anchors: own,
            next_id: AtomicU64::new(1),
            waiting: AtomicUsize::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Handle one frame from a page of `origin` sent to `endpoint` (`None`: an unknown
    /// path): the JSON reply. Logged on stderr: number, origin, endpoint, status —
    /// never the PIN, never the document.
    pub fn handle(
        &self,
        endpoint: Option<Endpoint>,
        path: &str,
        origin: &str,
        frame: &str,
    ) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let result = if !self.config.origin_allowed(origin) {
            Err(Failure::new(
                Status::OriginRefused,
                format!(
                    "Trang \"{origin}\" không có trong danh sách được phép dùng kyso agent trên máy này (allowed_origins)"
                ),
                format!("origin \"{origin}\" is not on this agent's allow-list (allowed_origins)"),
            ))
        } else {
            match endpoint {
                None => Err(Failure::new(
                    Status::Unsupported,
                    format!("kyso agent không có chức năng \"{path}\""),
                    format!("no such endpoint \"{path}\""),
                )),
                Some(e) => self.dispatch(id, e, origin, frame),
            }
        };
        let name = endpoint.map_or("?", name_of);
        match result {
            Ok(v) => {
                eprintln!("kyso agent #{id}: {origin} {name} → 0");
                v
            }
            Err(f) => {
                eprintln!(
                    "kyso agent #{id}: {origin} {name} → {} ({})",
                    f.status as i32, f.vi
                );
                f.reply()
            }
        }
    }

    fn dispatch(&self, id: u64, e: Endpoint, origin: &str, frame: &str) -> Result<Value, Failure> {
        match e {
            Endpoint::Config => Ok(json!({
                "Status": 0,
                "Message": match &self.config_path {
                    Some(p) => format!("Cấu hình của kyso agent nằm trong {}", p.display()),
                    None => "kyso agent chạy với cấu hình từ dòng lệnh".to_string(),
                },
            })),
            Endpoint::GetVersion => Ok(json!({
                "Status": 0,
                "Version": env!("CARGO_PKG_VERSION"),
                "Product": "kyso agent",
                "Message": format!("kyso agent {}", env!("CARGO_PKG_VERSION")),
            })),
            Endpoint::GetLicenseRequest => Ok(json!({
                "Status": 0,
                "LicenseRequest": "",
                "Error": "",
                "Message": "kyso agent là phần mềm mở, không cần giấy phép",
            })),
            Endpoint::GetCertInfo => {
                let cert = self.token.certificate()?;
                Ok(json!({
                    "Status": 0,
                    "CertInfo": cert_info(&cert),
                    "Message": "",
                }))
            }
            Endpoint::SignMsg => self.sign_msg(id, origin, frame),
            Endpoint::SignFiles => self.sign_files(id, origin, frame),
            Endpoint::VerifyPdf => self.verify_pdf(frame),
            Endpoint::Unsupported(name) => Err(Failure::new(
                Status::Unsupported,
                format!("kyso agent chưa hỗ trợ chức năng {name}"),
                format!("{name} is not supported by kyso agent"),
            )),
            file => self.sign_file(id, file, origin, frame),
        }
    }

    /// Asks the person, with at most [`MAX_WAITING`] requests waiting.
    fn ask(&self, prompt: &Prompt) -> Result<Zeroizing<String>, Failure> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Failure::new(
                Status::Busy,
                "kyso agent đang chờ người dùng xác nhận các yêu cầu khác; hãy thử lại sau",
                "too many requests wait for a confirmation",
            ));
        }
        let answer = self.confirmer.ask(prompt);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match answer {
            Answer::Sign(pin) => Ok(pin),
            Answer::Refuse => Err(Failure::new(
                Status::Cancelled,
                "Người dùng đã từ chối ký (hoặc không xác nhận kịp)",
                "the person refused (or did not answer in time)",
            )),
        }
    }

    fn sign_msg(&self, id: u64, origin: &str, frame: &str) -> Result<Value, Failure> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let request = protocol::msg_request(frame)?;
        let cert = self.token.certificate()?;
        check_validity(&cert)?;
        let shown = match &request {
            MsgRequest::Digest { alg, value } => {
                format!("giá trị băm {alg} {}", hex::encode(value))
            }
            MsgRequest::Data(d) => format!(
                "dữ liệu {} byte, SHA-256 {}",
                d.len(),
                hex::encode(DigestAlgorithm::Sha256.digest(d))
            ),
        };
        let pin = self.ask(&Prompt {
            id,
            origin: origin.into(),
            action: format!("SignMsg — {}", Endpoint::SignMsg.purpose()),
            documents: vec![shown],
            source: Vec::new(),
            destination: None,
            signer: subject(&cert),
        })?;
        let (signature, hash) = self.token.with_key(&pin, &cert, |key| match &request {
            MsgRequest::Digest { alg, value } => {
                let want = key.algorithm().digest();
                if !same_digest(alg, want) || value.len() != want.output_len() {
                    return Err(Failure::new(
                        Status::BadRequest,
                        format!(
                            "Yêu cầu không hợp lệ: khóa ký với {}, giá trị băm phải dài {} byte (nhận {alg}, {} byte)",
                            want.name(),
                            want.output_len(),
                            value.len()
                        ),
                        format!(
                            "the key signs with {}: the digest must be {} bytes (got {alg}, {} bytes)",
                            want.name(),
                            want.output_len(),
                            value.len()
                        ),
                    ));
                }
                let s = key.sign_digest(value).map_err(token_failure)?;
                Ok((s, value.clone()))
            }
            MsgRequest::Data(d) => {
                let s = key.sign(d).map_err(|e| signing_failure(e.to_string()))?;
                Ok((s, key.algorithm().digest().digest(d)))
            }
        })?;
        Ok(json!({
            "Status": 0,
            "Signature": b64.encode(signature),
            "CertBase64": b64.encode(cert.to_der().unwrap_or_default()),
            "HashValue": b64.encode(hash),
            "Message": "Ký số thành công",
        }))
    }

    fn sign_file(&self, id: u64, e: Endpoint, origin: &str, frame: &str) -> Result<Value, Failure> {
        let request = protocol::file_request(frame)?;
        self.transfer.check_url("tải về", &request.file)?;
        self.transfer.check_url("gửi lên", &request.upload)?;
        let cert = self.token.certificate()?;
        check_validity(&cert)?;
        let plan = self.plan(e, &request)?;
        let who = Credentials::new(&request.session_id, &request.jwt);
        let document = self.transfer.download(&request.file, &who)?;
        let pdf = kyso_app::verify::has_pdf_header(&document);
        if !pdf && e != Endpoint::SignFile {
            return Err(not_pdf(&request.file));
        }
        let name = file_name_of(&request.file);
        let pin = self.ask(&Prompt {
            id,
            origin: origin.into(),
            action: format!("{} — {}", name_of(e), e.purpose()),
            documents: vec![describe(&name, &document)],
            source: vec![request.file.clone()],
            destination: Some(request.upload.clone()),
            signer: subject(&cert),
        })?;
        let (bytes, out_name, content_type) = self.token.with_key(&pin, &cert, |key| {
            self.sign_document(key, &plan, document, pdf, &name)
        })?;
        let handler = self.transfer.upload(
            &request.upload,
            &who,
            &out_name,
            content_type,
            &bytes,
            &request.metadata,
        )?;
        if !protocol::handler_ok(&handler) {
            let said = handler
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            return Err(Failure::new(
                Status::HandlerRejected,
                format!("Máy chủ không nhận tệp đã ký: {said}"),
                format!("the upload handler refused the signed file: {said}"),
            ));
        }
        Ok(protocol::file_reply(&handler, &plan.number, &plan.date))
    }

    fn sign_files(&self, id: u64, origin: &str, frame: &str) -> Result<Value, Failure> {
        let request = protocol::batch_request(frame)?;
        self.transfer.check_url("gửi lên", &request.upload)?;
        for f in &request.files {
            self.transfer.check_url("tải về", &f.url)?;
        }
        let cert = self.token.certificate()?;
        check_validity(&cert)?;
        let who = Credentials::new(&request.session_id, &request.jwt);
        let plan = self.plan(Endpoint::SignFiles, &FileRequest::default())?;
        let mut docs = Vec::new();
        for f in &request.files {
            let bytes = self.transfer.download(&f.url, &who)?;
            let name = if f.name.trim().is_empty() {
                file_name_of(&f.url)
            } else {
                file_name_of(&f.name)
            };
            docs.push((name, bytes));
        }
        let pin = self.ask(&Prompt {
            id,
            origin: origin.into(),
            action: format!(
                "SignFiles — {} ({} tệp)",
                Endpoint::SignFiles.purpose(),
                docs.len()
            ),
            documents: docs.iter().map(|(n, b)| describe(n, b)).collect(),
            source: request.files.iter().map(|f| f.url.clone()).collect(),
            destination: Some(request.upload.clone()),
            signer: subject(&cert),
        })?;
        let signed = self.token.with_key(&pin, &cert, |key| {
            docs.into_iter()
                .map(|(name, bytes)| {
                    let pdf = kyso_app::verify::has_pdf_header(&bytes);
                    self.sign_document(key, &plan, bytes, pdf, &name)
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut files = Vec::new();
        for (f, (bytes, out_name, content_type)) in request.files.iter().zip(signed) {
            let handler = self.transfer.upload(
                &request.upload,
                &who,
                &out_name,
                content_type,
                &bytes,
                &[],
            )?;
            if !protocol::handler_ok(&handler) {
                return Err(Failure::new(
                    Status::HandlerRejected,
                    format!("Máy chủ không nhận tệp đã ký {out_name}"),
                    format!("the upload handler refused {out_name}"),
                ));
            }
            files.push(json!({
                "FileID": f.id,
                "FileSignedURL": handler.get("FileServer").cloned().unwrap_or(json!("")),
            }));
        }
        Ok(json!({
            "Status": 0,
            "Message": format!("Đã ký {} tệp", files.len()),
            "Files": files,
        }))
    }

    fn verify_pdf(&self, frame: &str) -> Result<Value, Failure> {
        let request = protocol::file_request(frame)?;
        let who = Credentials::new(&request.session_id, &request.jwt);
        let pdf = self.transfer.download(&request.file, &who)?;
        if !kyso_app::verify::has_pdf_header(&pdf) {
            return Err(not_pdf(&request.file));
        }
        let settings = kyso_app::verify::Settings::new(
            self.anchors.clone(),
            self.own_anchors,
            OffsetDateTime::now_utc(),
        );
        // Revocation data named inside the (untrusted) PDF is fetched over http(s) only:
        // never a file of this computer.
        let fetcher = kyso_app::ports::HttpOnly(&self.fetcher);
        let v = kyso_app::verify::verify_pdf(&fetcher, &pdf, &settings).map_err(|e| {
            Failure::new(
                Status::BadDocument,
                format!("Không kiểm tra được tệp PDF: {}", e.vi),
                format!("cannot verify the PDF: {}", e.en),
            )
        })?;
        let key = v.verdict_key();
        let text = match key.as_str() {
            "valid" => "Chữ ký số hợp lệ".to_string(),
            "valid_with_changes" => {
                "Chữ ký số hợp lệ; sau khi ký tệp có thay đổi được phép".to_string()
            }
            "unsigned" => "Tệp không có chữ ký số".to_string(),
            "indeterminate" => format!(
                "Chưa xác định được chữ ký ({})",
                kyso_app::verify::reason_summary(&v)
            ),
            _ => format!("KHÔNG HỢP LỆ ({})", kyso_app::verify::reason_summary(&v)),
        };
        eprintln!("kyso agent: VerifyPDF {}: {text}", request.file);
        Ok(json!({
            "Status": 0,
            "Message": text,
            "Verdict": key,
            "Report": v.to_json(),
        }))
    }

    /// How the endpoint signs: role, image, reason, number and date.
    fn plan(&self, e: Endpoint, r: &FileRequest) -> Result<Plan, Failure> {
        let now = OffsetDateTime::now_utc();
        let date = issued_date(&r.issued_date).unwrap_or(now);
        let date_text = vn_date(date);
        let need = |image: &Option<Vec<u8>>, what: &str, key: &str| {
            image.clone().ok_or_else(|| {
                Failure::new(
                    Status::NotConfigured,
                    format!("kyso agent chưa được cấu hình ảnh {what} ({key} trong agent.toml)"),
                    format!("no {key} configured"),
                )
            })
        };
        let number = r.doc_number.trim().to_string();
        let (role, image, reason, info) = match e {
            Endpoint::SignApproved => (
                Role::Leader,
                Some(need(&self.leader_image, "chữ ký", "leader_image")?),
                Some("Phê duyệt".to_string()),
                InfoLine::default(),
            ),
            Endpoint::SignIssued => (
                Role::Seal,
                Some(need(&self.seal_image, "con dấu", "seal_image")?),
                Some(if number.is_empty() {
                    format!("Phát hành văn bản, ngày {date_text}")
                } else {
                    format!("Phát hành văn bản số {number}, ngày {date_text}")
                }),
                InfoLine::default(),
            ),
            Endpoint::SignAppendix => {
                if number.is_empty() {
                    return Err(Failure::new(
                        Status::BadRequest,
                        "Yêu cầu không hợp lệ: ký tài liệu kèm theo cần DocNumber (số, ký hiệu của văn bản)",
                        "SignAppendix needs DocNumber",
                    ));
                }
                (
                    Role::Attachment,
                    None,
                    Some(format!("Kèm theo văn bản số {number}")),
                    InfoLine {
                        notation: Some(number.clone()),
                        ..InfoLine::default()
                    },
                )
            }
            Endpoint::SignCopy => (
                Role::Copy,
                None,
                Some("Sao y bản chính".to_string()),
                InfoLine {
                    notation: (!number.is_empty()).then(|| number.clone()),
                    copy_form: Some(CopyForm::SaoY),
                    ..InfoLine::default()
                },
            ),
            Endpoint::SignIncome => (
                Role::Invisible,
                None,
                Some("Văn bản đến".to_string()),
                InfoLine::default(),
            ),
            _ => (Role::Invisible, None, None, InfoLine::default()),
        };
        Ok(Plan {
            role,
            image,
            reason,
            info,
            number,
            date: if e == Endpoint::SignIssued {
                date_text
            } else {
                String::new()
            },
        })
    }

    /// Signs one document with the key: PDF as PAdES per the plan; anything else as a
    /// detached CAdES signature. (signed bytes, file name, content type).
    fn sign_document(
        &self,
        key: &TokenKey,
        plan: &Plan,
        mut document: Vec<u8>,
        pdf: bool,
        name: &str,
    ) -> Result<(Vec<u8>, String, &'static str), Failure> {
        let mut chain = vec![key.certificate().clone()];
        chain.extend(
            self.chain
                .iter()
                .filter(|c| *c != key.certificate())
                .cloned(),
        );
        let fetcher = &self.fetcher;
        let now = OffsetDateTime::now_utc();
        let tsa = self.config.tsa.as_deref();
        if pdf {
            let how = PdfSigning {
                level: if tsa.is_some() {
                    PadesLevel::BT
                } else {
                    PadesLevel::BB
                },
                tsa,
                role: Some(plan.role),
                image: plan.image.as_deref(),
                placement: Placement::default(),
                info: plan.info.clone(),
                reason: plan.reason.clone(),
                location: None,
            };
            kyso_app::signing::sign_pdf_bytes(key, &chain, &mut document, &how, fetcher, now)
                .map_err(|e| {
                    Failure::new(
                        if e.code == "cannot_sign" {
                            Status::BadDocument
                        } else {
                            Status::SigningFailed
                        },
                        format!("Không ký được tệp {name}: {}", e.vi),
                        format!("cannot sign {name}: {}", e.en),
                    )
                })?;
            Ok((document, name.to_string(), "application/pdf"))
        } else {
            let p7s =
                kyso_app::signing::sign_detached_bytes(key, &chain, &document, tsa, fetcher, now)
                    .map_err(|e| {
                    Failure::new(
                        Status::SigningFailed,
                        format!("Không ký được tệp {name}: {}", e.vi),
                        format!("cannot sign {name}: {}", e.en),
                    )
                })?;
            Ok((p7s, format!("{name}.p7s"), "application/pkcs7-signature"))
        }
    }
}

/// How a file endpoint signs.
#[derive(Debug, Clone)]
struct Plan {
    role: Role,
    image: Option<Vec<u8>>,
    reason: Option<String>,
    info: InfoLine,
    number: String,
    date: String,
}

fn name_of(e: Endpoint) -> &'static str {
    match e {
        Endpoint::Config => "Config",
        Endpoint::GetCertInfo => "GetCertInfo",
        Endpoint::GetVersion => "GetVersion",
        Endpoint::GetLicenseRequest => "GetLicenseRequest",
        Endpoint::SignMsg => "SignMsg",
        Endpoint::SignPdf => "SignPDF",
        Endpoint::SignFile => "SignFile",
        Endpoint::SignApproved => "SignApproved",
        Endpoint::SignIssued => "SignIssued",
        Endpoint::SignIncome => "SignIncome",
        Endpoint::SignAppendix => "SignAppendix",
        Endpoint::SignCopy => "SignCopy",
        Endpoint::SignFiles => "SignFiles",
        Endpoint::VerifyPdf => "VerifyPDF",
        Endpoint::Unsupported(n) => n,
    }
}

fn not_pdf(url: &str) -> Failure {
    Failure::new(
        Status::BadDocument,
        format!("Tài liệu tải từ {url} không phải tệp PDF"),
        format!("the document from {url} is not a PDF"),
    )
}

fn signing_failure(why: String) -> Failure {
    Failure::new(
        Status::SigningFailed,
        format!("Thiết bị ký không ký được: {why}"),
        format!("the token could not sign: {why}"),
    )
}

fn describe(name: &str, bytes: &[u8]) -> String {
    format!(
        "{name} — {} byte — SHA-256 {}",
        bytes.len(),
        hex::encode(DigestAlgorithm::Sha256.digest(bytes))
    )
}

fn same_digest(alg: &str, d: DigestAlgorithm) -> bool {
    let norm: String = alg
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    norm == d.name().replace('-', "").to_ascii_uppercase()
}

/// `2019-03-12T12:00:00+07:00`, `2019-03-12T05:00:00.000Z`, `2019-03-12`; empty → None.
fn issued_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    use time::format_description::well_known::Rfc3339;
    OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s, &fmt)
            .ok()
            .and_then(|d| d.with_hms(12, 0, 0).ok())
            .map(|d| d.assume_offset(kyso_app::VIETNAM))
    })
}

/// dd/mm/yyyy in +07:00.
fn vn_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(kyso_app::VIETNAM);
    format!("{:02}/{:02}/{:04}", t.day(), u8::from(t.month()), t.year())
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

fn time_of(t: &x509_cert::time::Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn check_validity(cert: &Certificate) -> Result<(), Failure> {
    let v = cert.tbs_certificate().validity();
    let now = OffsetDateTime::now_utc();
    let (from, to) = (time_of(&v.not_before), time_of(&v.not_after));
    if now < from || now > to {
        return Err(Failure::new(
            Status::CertificateInvalid,
            format!(
                "Chứng thư số không còn hiệu lực (hiệu lực từ {} đến {})",
                vn_date(from),
                vn_date(to)
            ),
            format!("the certificate is not valid now ({from} – {to})"),
        ));
    }
    // A signature its own verifiers would refuse is not made.
    match cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::KeyUsage>()
    {
        Ok(Some((_, ku))) if !(ku.digital_signature() || ku.non_repudiation()) => {
            Err(Failure::new(
                Status::CertificateInvalid,
                "Chứng thư số không cho phép ký số (thiếu digitalSignature/nonRepudiation)",
                "the certificate's key usage allows no digital signature",
            ))
        }
        Ok(_) => Ok(()),
        Err(_) => Err(Failure::new(
            Status::CertificateInvalid,
            "Chứng thư số có phần mở rộng keyUsage sai định dạng",
            "malformed keyUsage extension",
        )),
    }
}

/// `CertInfo` of GetCertInfo.
fn cert_info(cert: &Certificate) -> Value {
    use base64::Engine as _;
    let v = cert.tbs_certificate().validity();
    let fmt = kyso_app::vietnam_date_time;
    json!({
        "Subject": subject(cert),
        "Issuer": cert.tbs_certificate().issuer().to_string(),
        "SerialNumber": hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes()),
        "Base64Data": base64::engine::general_purpose::STANDARD.encode(cert.to_der().unwrap_or_default()),
        "ValidFrom": fmt(time_of(&v.not_before)),
        "ValidTo": fmt(time_of(&v.not_after)),
    })
}

fn token_failure(e: Pkcs11Error) -> Failure {
    match e {
        Pkcs11Error::WrongPin(after) => Failure::new(
            Status::WrongPin,
            if after.final_try {
                "Mã PIN sai. Chỉ còn một lần thử trước khi thiết bị bị khóa".to_string()
            } else {
                "Mã PIN sai".to_string()
            },
            "wrong PIN".to_string(),
        ),
        Pkcs11Error::PinLocked => Failure::new(
            Status::PinLocked,
            "Mã PIN của thiết bị ký đã bị khóa; hãy liên hệ người quản lý thiết bị",
            "the PIN is locked",
        ),
        Pkcs11Error::FinalTry => Failure::new(
            Status::PinLocked,
            "Chỉ còn một lần thử mã PIN: kyso agent không thử để tránh khóa thiết bị; hãy dùng công cụ của thiết bị",
            "only the final PIN try is left: not used by the agent",
        ),
        other => Failure::new(
            Status::NoToken,
            format!("Không dùng được thiết bị ký: {other}"),
            format!("token: {other}"),
        ),
    }
}

/// The token: the module loaded once, a session with a login per signing, one signing
/// at a time (a PKCS#11 login is shared by every session of the token, so the session
/// is closed — and the login with it — before the next request may log in).
struct TokenAccess {
    module_path: Option<std::path::PathBuf>,
    module: Mutex<Option<Module>>,
    token_label: Option<String>,
    token_serial: Option<String>,
    key_id: Option<Vec<u8>>,
    selector: KeySelector,
    lock: Mutex<()>,
}

impl TokenAccess {
    fn module(&self) -> Result<Module, Failure> {
        let Some(path) = &self.module_path else {
            return Err(Failure::new(
                Status::NotConfigured,
                "kyso agent chưa được cấu hình thư viện PKCS#11 của thiết bị ký (pkcs11 trong agent.toml hoặc --pkcs11)",
                "no PKCS#11 module configured (pkcs11 / --pkcs11)",
            ));
        };
        let mut m = self.module.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = &*m {
            return Ok(m.clone());
        }
        let opened = Module::open(path).map_err(token_failure)?;
        *m = Some(opened.clone());
        Ok(opened)
    }

    fn token(&self) -> Result<(Module, kyso_pkcs11::TokenInfo), Failure> {
        let module = self.module()?;
        let token = module
            .find_token(self.token_serial.as_deref(), self.token_label.as_deref())
            .map_err(|e| {
                Failure::new(
                    Status::NoToken,
                    format!("Không tìm thấy thiết bị ký (hãy cắm thiết bị): {e}"),
                    format!("no token: {e}"),
                )
            })?;
        Ok((module, token))
    }

    /// The signing certificate, read without a PIN.
    fn certificate(&self) -> Result<Certificate, Failure> {
        let (module, token) = self.token()?;
        let certs = module.certificates(&token).map_err(token_failure)?;
        let chosen: Vec<&Certificate> = match &self.key_id {
            Some(id) => certs
                .iter()
                .filter(|(i, _)| i == id)
                .map(|(_, c)| c)
                .collect(),
            None => certs
                .iter()
                .filter(|(_, c)| c.tbs_certificate().subject() != c.tbs_certificate().issuer())
                .map(|(_, c)| c)
                .collect(),
        };
        match chosen.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Failure::new(
                Status::NoToken,
                "Thiết bị ký không có chứng thư số phù hợp",
                "no matching certificate on the token",
            )),
            _ => Err(Failure::new(
                Status::NotConfigured,
                "Thiết bị ký có nhiều chứng thư số: hãy chọn một (key_id trong agent.toml)",
                "several certificates on the token: set key_id",
            )),
        }
    }

    /// Log in with `pin`, find the key whose certificate is `cert`, run `f`, close.
    fn with_key<T>(
        &self,
        pin: &Zeroizing<String>,
        cert: &Certificate,
        f: impl FnOnce(&TokenKey) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let (module, token) = self.token()?;
        let session = module
            .login(&token, &Pin::new(pin.as_str().to_string()), false)
            .map_err(token_failure)?;
        let key = session
            .key(&self.selector, None, false)
            .map_err(token_failure)?;
        if key.certificate() != cert {
            return Err(Failure::new(
                Status::NoToken,
                "Khóa ký trên thiết bị không khớp chứng thư số đã hiển thị; hãy kiểm tra cấu hình key_id",
                "the key's certificate is not the one shown",
            ));
        }
        let result = f(&key);
        drop(key);
        drop(session);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_dates_in_the_three_forms() {
        let d = |s| issued_date(s).map(vn_date);
        assert_eq!(
            d("2019-03-12T12:00:00+07:00").as_deref(),
            Some("12/03/2019")
        );
        // A JS Date serialised in UTC the evening before, Vietnamese morning.
        assert_eq!(d("2019-03-11T18:00:00.000Z").as_deref(), Some("12/03/2019"));
        assert_eq!(d("2019-03-12").as_deref(), Some("12/03/2019"));
        assert_eq!(d(""), None);
        assert_eq!(d("hôm nay"), None);
    }

    #[test]
    fn digest_names() {
        assert!(same_digest("SHA256", DigestAlgorithm::Sha256));
        assert!(same_digest("sha-256", DigestAlgorithm::Sha256));
        assert!(!same_digest("SHA1", DigestAlgorithm::Sha256));
    }
}
