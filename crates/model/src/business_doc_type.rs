//! The edXML `Bussiness/BussinessDocType` code: what a sent package does to a document.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, excerpt};

/// What a package does (edXML `BussinessDocType`, spec §15.3): send a new document, or
/// recall, update or replace one sent before. Codes 0–3 on the wire. Serde uses the
/// snake_case [`key`](Self::key), not the code.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BusinessDocType {
    /// `0`: a new document.
    #[default]
    New,
    /// `1`: recall (thu hồi) a document sent before.
    Recall,
    /// `2`: update (cập nhật) a document sent before: its information or its receivers.
    Update,
    /// `3`: replace (thay thế) a document sent before.
    Replace,
}

impl BusinessDocType {
    /// All values in code order.
    pub const ALL: [BusinessDocType; 4] = [Self::New, Self::Recall, Self::Update, Self::Replace];

    /// The wire code, 0–3.
    pub fn code(self) -> u8 {
        match self {
            Self::New => 0,
            Self::Recall => 1,
            Self::Update => 2,
            Self::Replace => 3,
        }
    }

    /// The value with this code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.code() == code)
    }

    /// Reads the element text: one digit 0–3.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let code = match text.as_bytes() {
            [digit @ b'0'..=b'9'] => Some(digit - b'0'),
            _ => None,
        };
        code.and_then(Self::from_code)
            .ok_or_else(|| ModelError::UnknownCode {
                what: "edXML BussinessDocType",
                found: excerpt(text),
                known: "0, 1, 2, 3",
            })
    }

    /// Whether the package must carry a reason (`BussinessDocReason`) and the identifier
    /// of the earlier document: recall, update and replace.
    pub fn refers_to_earlier_document(self) -> bool {
        self != Self::New
    }

    /// The Vietnamese label.
    pub fn vietnamese_label(self) -> &'static str {
        match self {
            Self::New => "Văn bản mới",
            Self::Recall => "Thu hồi",
            Self::Update => "Cập nhật",
            Self::Replace => "Thay thế",
        }
    }

    /// The serde key: `"new"`, `"recall"`, `"update"`, `"replace"`.
    pub fn key(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Recall => "recall",
            Self::Update => "update",
            Self::Replace => "replace",
        }
    }
}

impl fmt::Display for BusinessDocType {
    /// Writes the wire code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_both_ways() {
        for (value, code) in BusinessDocType::ALL.into_iter().zip(0..) {
            assert_eq!(value.code(), code);
            assert_eq!(BusinessDocType::from_code(code), Some(value));
            assert_eq!(BusinessDocType::parse(&code.to_string()), Ok(value));
            assert_eq!(value.to_string(), code.to_string());
        }
        assert_eq!(BusinessDocType::from_code(4), None);
        assert_eq!(BusinessDocType::Recall.code(), 1);
        assert_eq!(BusinessDocType::Replace.code(), 3);
    }

    #[test]
    fn bad_codes_are_refused() {
        for text in ["", "4", "01", "x", " 0"] {
            assert!(
                matches!(
                    BusinessDocType::parse(text),
                    Err(ModelError::UnknownCode {
                        what: "edXML BussinessDocType",
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn labels_keys_and_reasons() {
        assert!(!BusinessDocType::New.refers_to_earlier_document());
        assert!(BusinessDocType::Recall.refers_to_earlier_document());
        assert_eq!(BusinessDocType::Recall.vietnamese_label(), "Thu hồi");
        for value in BusinessDocType::ALL {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.key()));
            assert_eq!(
                serde_json::from_str::<BusinessDocType>(&json).unwrap(),
                value
            );
        }
    }
}
