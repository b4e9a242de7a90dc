//! Which documents may be signed and sent electronically.
//!
//! Two rules, both in the core so no front end can skip them:
//!
//! 1. **Secret documents never go electronic** (QD28 Art 1.2, spec §8): a document with
//!    any secrecy level (Mật, Tối mật, Tuyệt mật) is refused for electronic signing and
//!    sending, whatever the agency's settings. It may still be registered, in the secret
//!    series, as metadata only.
//! 2. **Which other types an agency issues electronically** is a per-agency policy set by
//!    the administrator. The default is the list the project started from: công văn,
//!    báo cáo, giấy mời, thông báo (under which agencies issue the lịch làm việc).

use std::collections::BTreeSet;

use kyso_model::{DocumentType, Secrecy};
use serde::{Deserialize, Serialize};

use crate::error::Refusal;

/// The document types an agency issues electronically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectronicPolicy {
    types: BTreeSet<DocumentType>,
}

impl Default for ElectronicPolicy {
    /// Công văn, báo cáo, giấy mời, thông báo (lịch làm việc is issued as a thông báo).
    fn default() -> Self {
        Self::new(Self::DEFAULT_TYPES)
    }
}

impl ElectronicPolicy {
    /// The default list.
    pub const DEFAULT_TYPES: [DocumentType; 4] = [
        DocumentType::CongVan,
        DocumentType::BaoCao,
        DocumentType::GiayMoi,
        DocumentType::ThongBao,
    ];

    /// A policy allowing exactly `types`.
    pub fn new(types: impl IntoIterator<Item = DocumentType>) -> Self {
        Self {
            types: types.into_iter().collect(),
        }
    }

    /// The allowed types, in declaration order.
    pub fn types(&self) -> impl Iterator<Item = DocumentType> + '_ {
        self.types.iter().copied()
    }

    /// Whether `document_type` is issued electronically (ignoring secrecy).
    pub fn allows_type(&self, document_type: DocumentType) -> bool {
        self.types.contains(&document_type)
    }

    /// Checks that a document may be signed and sent electronically.
    pub fn check(&self, document_type: DocumentType, secrecy: Secrecy) -> Result<(), Refusal> {
        check_not_secret(secrecy)?;
        if !self.allows_type(document_type) {
            return Err(Refusal {
                code: "type_not_electronic",
                vi: format!(
                    "cơ quan chưa cho phép ký số và gửi điện tử loại văn bản {} (quản trị viên cấu hình danh sách này)",
                    document_type.vietnamese_name()
                ),
                en: format!(
                    "this agency does not issue {} documents electronically (the administrator sets this list)",
                    document_type.english_name()
                ),
            });
        }
        Ok(())
    }
}

/// Refuses any secrecy level for electronic signing or sending.
pub fn check_not_secret(secrecy: Secrecy) -> Result<(), Refusal> {
    if secrecy.is_secret() {
        return Err(Refusal {
            code: "secret_document",
            vi: format!(
                "văn bản có độ mật ({}) không được ký số, gửi hoặc lưu bản điện tử qua hệ thống; chỉ được đăng ký vào sổ văn bản mật (Quyết định 28/2018, Điều 1.2)",
                secrecy.vietnamese_label()
            ),
            en: format!(
                "a document classified {} must not be signed, sent or stored electronically; it may only be registered in the secret register (Decision 28/2018 Art 1.2)",
                secrecy.english_label()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_always_refused() {
        let everything = ElectronicPolicy::new(DocumentType::iter());
        for secrecy in [Secrecy::Mat, Secrecy::ToiMat, Secrecy::TuyetMat] {
            let refusal = everything
                .check(DocumentType::CongVan, secrecy)
                .unwrap_err();
            assert_eq!(refusal.code, "secret_document");
            assert!(refusal.vi.contains("độ mật"), "{}", refusal.vi);
            assert!(refusal.en.contains("must not be signed"), "{}", refusal.en);
        }
        assert!(
            everything
                .check(DocumentType::QuyetDinh, Secrecy::None)
                .is_ok()
        );
    }

    #[test]
    fn default_list_and_administrator_choice() {
        let policy = ElectronicPolicy::default();
        for t in ElectronicPolicy::DEFAULT_TYPES {
            assert!(policy.check(t, Secrecy::None).is_ok());
        }
        let refusal = policy
            .check(DocumentType::QuyetDinh, Secrecy::None)
            .unwrap_err();
        assert_eq!(refusal.code, "type_not_electronic");
        assert!(refusal.to_string().contains("Quyết định"));
        let wider = ElectronicPolicy::new([DocumentType::QuyetDinh]);
        assert!(wider.check(DocumentType::QuyetDinh, Secrecy::None).is_ok());
        assert!(wider.check(DocumentType::CongVan, Secrecy::None).is_err());
        let json = serde_json::to_string(&wider).unwrap();
        assert_eq!(json, r#"{"types":["quyet_dinh"]}"#);
        assert_eq!(
            serde_json::from_str::<ElectronicPolicy>(&json).unwrap(),
            wider
        );
    }
}
