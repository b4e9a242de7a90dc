//! The one error type of this crate.
//!
//! Every error says **what** is wrong, **where** (a field path such as `To[1].OrganName`,
//! an attachment index and name, or a byte offset into the input) and **why**. Errors
//! carry a stable machine [`code`](ExchangeError::code), an English message
//! (`Display`) and a Vietnamese one ([`vietnamese`](ExchangeError::vietnamese)), like
//! `kyso_office::Refusal` and `kyso_app::AppError`, so a front end can show both. Inputs
//! echoed back are cut to 80 characters.

use kyso_model::{ModelError, Secrecy};

/// How many characters of an offending input an error keeps.
const EXCERPT_CHARS: usize = 80;

/// Why a text field is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A required field is empty or absent.
    Missing,
    /// Longer than the edXML maximum (counted in characters).
    TooLong {
        /// The maximum, in characters.
        max: usize,
        /// The length found, in characters.
        found: usize,
    },
    /// A control character (or a character XML 1.0 cannot carry).
    ForbiddenCharacter {
        /// The character.
        character: char,
    },
    /// In a received kyso package: the text is not in normal form (NFC, trimmed, `\n`
    /// line ends), so it was not written by a conforming sender.
    NotNormalized,
    /// The value does not parse or breaks a rule of its own (a bad identifier, a
    /// business type without its reason…).
    Invalid {
        /// What was expected.
        expected: String,
    },
}

/// Why an attachment name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// Empty (after trimming).
    Empty,
    /// Longer than [`Limits::max_name_bytes`](crate::Limits::max_name_bytes) bytes.
    TooLong,
    /// Contains `/` or `\`.
    PathSeparator,
    /// Contains `..`.
    DotDot,
    /// Contains `:` (Windows drive letters and alternate data streams).
    Colon,
    /// Contains a control character or a bidirectional override (which can disguise
    /// `fdp.exe` as `exe.pdf`).
    ForbiddenCharacter,
    /// The same name (compared case-insensitively after NFC) as an earlier attachment.
    Duplicate,
    /// Not in NFC, or with leading/trailing whitespace (received kyso packages only).
    NotNormalized,
}

impl NameProblem {
    fn english(self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::TooLong => "is too long",
            Self::PathSeparator => "contains a path separator ('/' or '\\')",
            Self::DotDot => "contains '..'",
            Self::Colon => "contains ':'",
            Self::ForbiddenCharacter => "contains a control character or a bidirectional override",
            Self::Duplicate => {
                "is used by an earlier attachment (names compare case-insensitively)"
            }
            Self::NotNormalized => "is not in normal form (NFC, trimmed)",
        }
    }

    fn vietnamese(self) -> &'static str {
        match self {
            Self::Empty => "để trống",
            Self::TooLong => "quá dài",
            Self::PathSeparator => "chứa dấu phân cách đường dẫn ('/' hoặc '\\')",
            Self::DotDot => "chứa '..'",
            Self::Colon => "chứa dấu ':'",
            Self::ForbiddenCharacter => "chứa ký tự điều khiển hoặc ký tự đảo chiều văn bản",
            Self::Duplicate => {
                "trùng với tên một tệp đính kèm trước đó (không phân biệt hoa thường)"
            }
            Self::NotNormalized => "không ở dạng chuẩn (NFC, không có khoảng trắng đầu/cuối)",
        }
    }
}

/// A size or count limit of [`Limits`](crate::Limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The manifest (header + attachment list) frame.
    ManifestBytes,
    /// The trace frame.
    TraceBytes,
    /// Entries of the trace.
    TraceHops,
    /// Number of attachments.
    Attachments,
    /// One attachment's size.
    AttachmentBytes,
    /// Sum of all attachment sizes.
    TotalBytes,
    /// An edXML document's size.
    XmlBytes,
    /// Nesting depth of XML elements.
    XmlDepth,
    /// Number of XML elements.
    XmlElements,
    /// A JSON status message's size.
    StatusBytes,
}

impl Limit {
    fn english(self) -> &'static str {
        match self {
            Self::ManifestBytes => "manifest size in bytes",
            Self::TraceBytes => "trace size in bytes",
            Self::TraceHops => "trace entries",
            Self::Attachments => "number of attachments",
            Self::AttachmentBytes => "attachment size in bytes",
            Self::TotalBytes => "total attachment size in bytes",
            Self::XmlBytes => "edXML size in bytes",
            Self::XmlDepth => "XML nesting depth",
            Self::XmlElements => "number of XML elements",
            Self::StatusBytes => "status message size in bytes",
        }
    }

    fn vietnamese(self) -> &'static str {
        match self {
            Self::ManifestBytes => "kích thước phần kê khai (byte)",
            Self::TraceBytes => "kích thước phần vết chuyển (byte)",
            Self::TraceHops => "số bước chuyển",
            Self::Attachments => "số tệp đính kèm",
            Self::AttachmentBytes => "kích thước một tệp đính kèm (byte)",
            Self::TotalBytes => "tổng kích thước tệp đính kèm (byte)",
            Self::XmlBytes => "kích thước gói edXML (byte)",
            Self::XmlDepth => "độ sâu lồng nhau của XML",
            Self::XmlElements => "số phần tử XML",
            Self::StatusBytes => "kích thước thông điệp trạng thái (byte)",
        }
    }
}

/// Errors from building, encoding, parsing and importing packages and status messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    // ----- policy -----
    /// A secret document (Mật, Tối mật, Tuyệt mật) never travels electronically
    /// (Decision 28/2018 Art 1.2).
    #[error(
        "the document is secret ({secrecy}); secret documents are never sent electronically (Decision 28/2018 Art 1.2)",
        secrecy = .secrecy.english_label()
    )]
    SecretDocument {
        /// The document's secrecy level.
        secrecy: Secrecy,
    },

    // ----- content rules -----
    /// A header or status field breaks a rule.
    #[error("field {field}: {}", field_problem_en(.problem))]
    Field {
        /// Path of the field, edXML names (`From.OrganName`, `To[1].OrganId`).
        field: String,
        /// Why.
        problem: FieldProblem,
    },
    /// Two receivers with the same agency identifier.
    #[error("To[{index}]: agency {organ_id} is already a receiver")]
    DuplicateReceiver {
        /// Index of the second one.
        index: usize,
        /// The identifier.
        organ_id: String,
    },
    /// An attachment name is refused.
    #[error("attachment {index} name {name:?} {}", .problem.english())]
    AttachmentName {
        /// Index of the attachment (0-based).
        index: usize,
        /// The name (cut to 80 characters).
        name: String,
        /// Why.
        problem: NameProblem,
    },
    /// An attachment's content type is not `type/subtype` in ASCII token characters.
    #[error("attachment {index} content type {content_type:?} is not a MIME type (type/subtype)")]
    ContentType {
        /// Index of the attachment.
        index: usize,
        /// The value (cut to 80 characters).
        content_type: String,
    },

    // ----- kyso container -----
    /// The input does not start with the kyso package magic.
    #[error("not a kyso exchange package: expected the magic {expected:?} at byte 0")]
    BadMagic {
        /// The magic line expected.
        expected: &'static str,
    },
    /// The input ends before a part that must be there.
    #[error("truncated at byte {offset}: {what} needs {needed} more bytes, {available} present")]
    Truncated {
        /// Byte offset where the part starts.
        offset: u64,
        /// Which part.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// A limit of [`Limits`](crate::Limits) is exceeded.
    #[error("{} {found} exceeds the limit {limit}{}", .what.english(), at_offset(.offset))]
    LimitExceeded {
        /// Which limit.
        what: Limit,
        /// The limit.
        limit: u64,
        /// The value found (or a lower bound of it).
        found: u64,
        /// Where, when known.
        offset: Option<u64>,
    },
    /// A text part is not UTF-8.
    #[error("{what} is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// Which part.
        what: &'static str,
        /// Byte offset of the first bad byte (into the whole input).
        offset: u64,
    },
    /// A JSON part does not have the expected structure.
    #[error("{what}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Which part.
        what: &'static str,
        /// Line (1-based) within the part.
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A JSON part is valid but not in canonical form (whitespace, key order, escapes):
    /// the same package has exactly one encoding.
    #[error("{what} is not in canonical form (compact JSON, fields in the documented order)")]
    NotCanonical {
        /// Which part.
        what: &'static str,
    },
    /// The format named in the manifest is not one this version reads.
    #[error("unsupported format {found:?} (this version reads {expected:?})")]
    UnsupportedFormat {
        /// The format found (cut to 80 characters).
        found: String,
        /// The one supported.
        expected: &'static str,
    },
    /// An attachment's bytes do not match the SHA-256 of the manifest.
    #[error(
        "attachment {index} ({name:?}) at byte {offset}: SHA-256 {found} does not match the manifest's {expected}"
    )]
    AttachmentDigest {
        /// Index of the attachment.
        index: usize,
        /// Its name.
        name: String,
        /// Byte offset of its content.
        offset: u64,
        /// The manifest's digest (hex).
        expected: String,
        /// The digest of the bytes (hex).
        found: String,
    },
    /// The package digest written in the package is not the one recomputed.
    #[error("package digest at byte {offset}: written {written}, recomputed {computed}")]
    PackageDigest {
        /// Byte offset of the digest.
        offset: u64,
        /// The digest in the package (hex).
        written: String,
        /// The digest recomputed from the manifest (hex).
        computed: String,
    },
    /// Bytes after the end of the package.
    #[error("{length} bytes of trailing data after the end of the package at byte {offset}")]
    TrailingData {
        /// Where the package ends.
        offset: u64,
        /// How many bytes follow.
        length: u64,
    },

    // ----- edXML -----
    /// Not well-formed XML, or XML this reader does not take (another encoding, an
    /// undeclared prefix, an unclosed element).
    #[error("XML at byte {offset}: {message}")]
    Xml {
        /// Byte offset.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A document type declaration: refused, so no entity is ever defined or expanded.
    #[error("XML at byte {offset}: DOCTYPE is not allowed (no DTDs, no entity definitions)")]
    Doctype {
        /// Byte offset of the declaration.
        offset: u64,
    },
    /// An entity reference other than the five predefined ones and character references.
    #[error("XML at byte {offset}: unknown entity &{name};")]
    UnknownEntity {
        /// Byte offset.
        offset: u64,
        /// The entity name (cut to 80 characters).
        name: String,
    },
    /// An edXML element in another namespace than QCVN 102:2016's.
    #[error("element {element} at byte {offset} is in namespace {found:?}, expected {expected:?}")]
    WrongNamespace {
        /// The element's local name.
        element: String,
        /// Byte offset.
        offset: u64,
        /// Its namespace (empty when none).
        found: String,
        /// The edXML namespace.
        expected: &'static str,
    },
    /// A required element is absent.
    #[error("missing element {path}")]
    MissingElement {
        /// Path of the element (`edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From`).
        path: String,
    },
    /// An element's text does not parse.
    #[error("element {path} at byte {offset}: {value:?} is not {expected}")]
    InvalidValue {
        /// Path of the element.
        path: String,
        /// Byte offset.
        offset: u64,
        /// The value (cut to 80 characters).
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A manifest `Reference` whose attachment is not in `AttachmentEncoded`.
    #[error("edXMLManifest Reference {index} refers to {content_id:?}, which no Attachment has")]
    MissingAttachment {
        /// Index of the reference.
        index: usize,
        /// Its content identifier.
        content_id: String,
    },
}

impl ExchangeError {
    /// A stable machine key (`secret_document`, `limit_exceeded`, `doctype`…).
    pub fn code(&self) -> &'static str {
        match self {
            Self::SecretDocument { .. } => "secret_document",
            Self::Field { .. } => "invalid_field",
            Self::DuplicateReceiver { .. } => "duplicate_receiver",
            Self::AttachmentName { .. } => "attachment_name",
            Self::ContentType { .. } => "content_type",
            Self::BadMagic { .. } => "bad_magic",
            Self::Truncated { .. } => "truncated",
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::Json { .. } => "invalid_json",
            Self::NotCanonical { .. } => "not_canonical",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::AttachmentDigest { .. } => "attachment_digest",
            Self::PackageDigest { .. } => "package_digest",
            Self::TrailingData { .. } => "trailing_data",
            Self::Xml { .. } => "invalid_xml",
            Self::Doctype { .. } => "doctype",
            Self::UnknownEntity { .. } => "unknown_entity",
            Self::WrongNamespace { .. } => "wrong_namespace",
            Self::MissingElement { .. } => "missing_element",
            Self::InvalidValue { .. } => "invalid_value",
            Self::MissingAttachment { .. } => "missing_attachment",
        }
    }

    /// The message in Vietnamese, for agency staff (the English one is `Display`).
    pub fn vietnamese(&self) -> String {
        match self {
            Self::SecretDocument { secrecy } => format!(
                "văn bản có độ mật ({secrecy}); văn bản mật không được gửi qua mạng (Quyết định 28/2018 Điều 1.2)"
            ),
            Self::Field { field, problem } => {
                format!("trường {field}: {}", field_problem_vi(problem))
            }
            Self::DuplicateReceiver { index, organ_id } => {
                format!("To[{index}]: cơ quan {organ_id} đã có trong danh sách nơi nhận")
            }
            Self::AttachmentName {
                index,
                name,
                problem,
            } => format!(
                "tên tệp đính kèm thứ {index} {name:?} {}",
                problem.vietnamese()
            ),
            Self::ContentType {
                index,
                content_type,
            } => format!(
                "kiểu nội dung {content_type:?} của tệp đính kèm thứ {index} không phải kiểu MIME (type/subtype)"
            ),
            Self::BadMagic { expected } => format!(
                "không phải gói trao đổi của kyso: thiếu dấu hiệu nhận dạng {expected:?} ở byte 0"
            ),
            Self::Truncated {
                offset,
                what,
                needed,
                available,
            } => format!(
                "gói bị cắt cụt ở byte {offset}: phần {what} cần thêm {needed} byte, chỉ còn {available}"
            ),
            Self::LimitExceeded {
                what,
                limit,
                found,
                offset,
            } => format!(
                "{} là {found}, vượt giới hạn {limit}{}",
                what.vietnamese(),
                offset.map(|o| format!(" (byte {o})")).unwrap_or_default()
            ),
            Self::InvalidUtf8 { what, offset } => {
                format!("phần {what} không phải UTF-8 hợp lệ (byte lỗi đầu tiên ở vị trí {offset})")
            }
            Self::Json {
                what,
                line,
                column,
                message,
            } => format!("phần {what}: JSON không hợp lệ ở dòng {line}, cột {column}: {message}"),
            Self::NotCanonical { what } => {
                format!(
                    "phần {what} không ở dạng chuẩn tắc (JSON gọn, các trường theo thứ tự quy định)"
                )
            }
            Self::UnsupportedFormat { found, expected } => {
                format!("định dạng {found:?} không được hỗ trợ (phiên bản này đọc {expected:?})")
            }
            Self::AttachmentDigest {
                index,
                name,
                offset,
                expected,
                found,
            } => format!(
                "tệp đính kèm thứ {index} ({name:?}) ở byte {offset}: SHA-256 {found} không khớp với giá trị {expected} trong phần kê khai"
            ),
            Self::PackageDigest {
                offset,
                written,
                computed,
            } => format!(
                "mã băm của gói ở byte {offset}: ghi trong gói {written}, tính lại được {computed}"
            ),
            Self::TrailingData { offset, length } => {
                format!("có {length} byte thừa sau khi gói kết thúc ở byte {offset}")
            }
            Self::Xml { offset, message } => format!("XML lỗi ở byte {offset}: {message}"),
            Self::Doctype { offset } => format!(
                "XML ở byte {offset}: không chấp nhận khai báo DOCTYPE (không DTD, không định nghĩa thực thể)"
            ),
            Self::UnknownEntity { offset, name } => {
                format!("XML ở byte {offset}: thực thể không xác định &{name};")
            }
            Self::WrongNamespace {
                element,
                offset,
                found,
                expected,
            } => format!(
                "phần tử {element} ở byte {offset} thuộc không gian tên {found:?}, cần {expected:?}"
            ),
            Self::MissingElement { path } => format!("thiếu phần tử {path}"),
            Self::InvalidValue {
                path,
                offset,
                value,
                expected,
            } => format!(
                "phần tử {path} ở byte {offset}: giá trị {value:?} không hợp lệ, cần {expected}"
            ),
            Self::MissingAttachment { index, content_id } => format!(
                "tham chiếu thứ {index} trong edXMLManifest trỏ tới {content_id:?} nhưng không có tệp đính kèm nào mang định danh đó"
            ),
        }
    }

    /// A field error from a vocabulary error of `kyso_model`.
    pub(crate) fn from_model(field: impl Into<String>, error: &ModelError) -> Self {
        Self::Field {
            field: field.into(),
            problem: FieldProblem::Invalid {
                expected: error.to_string(),
            },
        }
    }

    pub(crate) fn field(field: impl Into<String>, problem: FieldProblem) -> Self {
        Self::Field {
            field: field.into(),
            problem,
        }
    }
}

fn field_problem_en(problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Missing => "is required".into(),
        FieldProblem::TooLong { max, found } => {
            format!("has {found} characters, at most {max} allowed")
        }
        FieldProblem::ForbiddenCharacter { character } => {
            format!("contains the forbidden character {character:?}")
        }
        FieldProblem::NotNormalized => "is not in normal form (NFC, trimmed, \\n line ends)".into(),
        FieldProblem::Invalid { expected } => format!("invalid: {expected}"),
    }
}

fn field_problem_vi(problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::Missing => "bắt buộc phải có".into(),
        FieldProblem::TooLong { max, found } => {
            format!("dài {found} ký tự, tối đa {max} ký tự")
        }
        FieldProblem::ForbiddenCharacter { character } => {
            format!("chứa ký tự không được phép {character:?}")
        }
        FieldProblem::NotNormalized => {
            "không ở dạng chuẩn (NFC, không khoảng trắng đầu/cuối, xuống dòng bằng \\n)".into()
        }
        FieldProblem::Invalid { expected } => format!("không hợp lệ: {expected}"),
    }
}

fn at_offset(offset: &Option<u64>) -> String {
    offset.map(|o| format!(" at byte {o}")).unwrap_or_default()
}

/// The first [`EXCERPT_CHARS`] characters of `input`, with an ellipsis when cut.
pub(crate) fn excerpt(input: &str) -> String {
    match input.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_refusal_is_bilingual() {
        let error = ExchangeError::SecretDocument {
            secrecy: Secrecy::ToiMat,
        };
        assert_eq!(error.code(), "secret_document");
        assert!(error.to_string().contains("secret"));
        assert!(
            error.vietnamese().contains("Tối mật"),
            "{}",
            error.vietnamese()
        );
    }

    #[test]
    fn excerpt_cuts_on_a_char_boundary() {
        let long = "ệ".repeat(100);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(excerpt("ngắn"), "ngắn");
    }
}
