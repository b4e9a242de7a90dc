//! Secrecy levels (độ mật) of documents, ND30 App. I §III.2.a.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fold::name_key;

/// The secrecy level of a document under the Law on Protection of State Secrets.
///
/// A secret document (anything but [`Secrecy::None`]) is outside Decision 28/2018 (Art
/// 1.2): it must never be signed or sent electronically, and it is numbered in its own
/// series (ND30 Art 15.2). Ordered from least to most secret. Serde uses the snake_case
/// [`key`](Self::key).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Secrecy {
    /// Not secret (no mark).
    #[default]
    None,
    /// Mật: confidential.
    Mat,
    /// Tối mật: secret.
    ToiMat,
    /// Tuyệt mật: top secret.
    TuyetMat,
}

impl Secrecy {
    /// All levels, least secret first.
    pub const ALL: [Secrecy; 4] = [Self::None, Self::Mat, Self::ToiMat, Self::TuyetMat];

    /// Whether the document is secret (Mật, Tối mật or Tuyệt mật), and so must stay out of
    /// electronic signing and sending.
    pub fn is_secret(self) -> bool {
        self != Self::None
    }

    /// The Vietnamese label: `"Không mật"`, `"Mật"`, `"Tối mật"`, `"Tuyệt mật"`.
    pub fn vietnamese_label(self) -> &'static str {
        match self {
            Self::None => "Không mật",
            Self::Mat => "Mật",
            Self::ToiMat => "Tối mật",
            Self::TuyetMat => "Tuyệt mật",
        }
    }

    /// An English label (informative).
    pub fn english_label(self) -> &'static str {
        match self {
            Self::None => "Unclassified",
            Self::Mat => "Confidential",
            Self::ToiMat => "Secret",
            Self::TuyetMat => "Top secret",
        }
    }

    /// The mark stamped on the document (box 10a), or `None` when not secret.
    pub fn mark(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Mat => Some("MẬT"),
            Self::ToiMat => Some("TỐI MẬT"),
            Self::TuyetMat => Some("TUYỆT MẬT"),
        }
    }

    /// The serde key: `"none"`, `"mat"`, `"toi_mat"`, `"tuyet_mat"`.
    pub fn key(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Mat => "mat",
            Self::ToiMat => "toi_mat",
            Self::TuyetMat => "tuyet_mat",
        }
    }

    /// The level with this Vietnamese label or mark, accent- and case-insensitively
    /// (`"tối mật"`, `"TOI MAT"`).
    pub fn from_vietnamese_label(label: &str) -> Option<Self> {
        let key = name_key(label);
        Self::ALL
            .into_iter()
            .find(|level| name_key(level.vietnamese_label()) == key)
    }
}

impl fmt::Display for Secrecy {
    /// Writes the Vietnamese label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.vietnamese_label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_none_is_not_secret() {
        assert!(!Secrecy::None.is_secret());
        assert!(Secrecy::Mat.is_secret());
        assert!(Secrecy::ToiMat.is_secret());
        assert!(Secrecy::TuyetMat.is_secret());
        assert_eq!(Secrecy::default(), Secrecy::None);
    }

    #[test]
    fn levels_are_ordered() {
        assert!(Secrecy::None < Secrecy::Mat);
        assert!(Secrecy::Mat < Secrecy::ToiMat);
        assert!(Secrecy::ToiMat < Secrecy::TuyetMat);
    }

    #[test]
    fn labels_and_marks() {
        assert_eq!(Secrecy::TuyetMat.to_string(), "Tuyệt mật");
        assert_eq!(Secrecy::ToiMat.mark(), Some("TỐI MẬT"));
        assert_eq!(Secrecy::None.mark(), None);
        for level in Secrecy::ALL {
            assert_eq!(
                Secrecy::from_vietnamese_label(level.vietnamese_label()),
                Some(level)
            );
            if let Some(mark) = level.mark() {
                assert_eq!(Secrecy::from_vietnamese_label(mark), Some(level));
            }
        }
        assert_eq!(
            Secrecy::from_vietnamese_label("toi mat"),
            Some(Secrecy::ToiMat)
        );
        assert_eq!(Secrecy::from_vietnamese_label("mật mã"), None);
    }

    #[test]
    fn serde_uses_the_key() {
        for level in Secrecy::ALL {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.key()));
            assert_eq!(serde_json::from_str::<Secrecy>(&json).unwrap(), level);
        }
    }
}
