//! Urgency levels (độ khẩn) of documents and their edXML `Priority` codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, excerpt};
use crate::fold::name_key;

/// How urgently a document must be handled (ND30 App. I §III.2.b, Art 4.2.c), with the
/// edXML `OtherInfo/Priority` code (spec §8):
///
/// | Level | Priority |
/// |---|---|
/// | Thường (normal) | 0 |
/// | Khẩn | 1 |
/// | Thượng khẩn | 2 |
/// | Hỏa tốc | 3 |
/// | Hỏa tốc hẹn giờ (timed; no ND30 counterpart) | 4 |
///
/// Ordered by that code. Serde uses the snake_case [`key`](Self::key), not the code.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Urgency {
    /// Thường: normal handling.
    #[default]
    Thuong,
    /// Khẩn: urgent.
    Khan,
    /// Thượng khẩn: very urgent.
    ThuongKhan,
    /// Hỏa tốc: most urgent.
    HoaToc,
    /// Hỏa tốc hẹn giờ: most urgent, with a set time (edXML only).
    HoaTocHenGio,
}

impl Urgency {
    /// All levels in code order.
    pub const ALL: [Urgency; 5] = [
        Self::Thuong,
        Self::Khan,
        Self::ThuongKhan,
        Self::HoaToc,
        Self::HoaTocHenGio,
    ];

    /// The edXML `Priority` code, 0–4.
    pub fn priority(self) -> u8 {
        match self {
            Self::Thuong => 0,
            Self::Khan => 1,
            Self::ThuongKhan => 2,
            Self::HoaToc => 3,
            Self::HoaTocHenGio => 4,
        }
    }

    /// The level with this edXML `Priority` code.
    pub fn from_priority(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.priority() == code)
    }

    /// Reads an edXML `Priority` element's text: one digit 0–4.
    pub fn parse_priority(text: &str) -> Result<Self, ModelError> {
        let code = match text.as_bytes() {
            [digit @ b'0'..=b'9'] => Some(digit - b'0'),
            _ => None,
        };
        code.and_then(Self::from_priority)
            .ok_or_else(|| ModelError::UnknownCode {
                what: "edXML Priority",
                found: excerpt(text),
                known: "0, 1, 2, 3, 4",
            })
    }

    /// Whether the document needs immediate handling (anything above Thường).
    pub fn is_urgent(self) -> bool {
        self != Self::Thuong
    }

    /// The Vietnamese label: `"Thường"`, `"Khẩn"`, `"Thượng khẩn"`, `"Hỏa tốc"`,
    /// `"Hỏa tốc hẹn giờ"`.
    pub fn vietnamese_label(self) -> &'static str {
        match self {
            Self::Thuong => "Thường",
            Self::Khan => "Khẩn",
            Self::ThuongKhan => "Thượng khẩn",
            Self::HoaToc => "Hỏa tốc",
            Self::HoaTocHenGio => "Hỏa tốc hẹn giờ",
        }
    }

    /// An English label (informative).
    pub fn english_label(self) -> &'static str {
        match self {
            Self::Thuong => "Normal",
            Self::Khan => "Urgent",
            Self::ThuongKhan => "Very urgent",
            Self::HoaToc => "Flash",
            Self::HoaTocHenGio => "Flash, timed",
        }
    }

    /// The stamp text (box 10b, bold capitals in red), or `None` for Thường. The timed
    /// level has no ND30 stamp; `"HỎA TỐC HẸN GIỜ"` follows older practice (UNCONFIRMED).
    pub fn mark(self) -> Option<&'static str> {
        match self {
            Self::Thuong => None,
            Self::Khan => Some("KHẨN"),
            Self::ThuongKhan => Some("THƯỢNG KHẨN"),
            Self::HoaToc => Some("HỎA TỐC"),
            Self::HoaTocHenGio => Some("HỎA TỐC HẸN GIỜ"),
        }
    }

    /// The serde key: `"thuong"`, `"khan"`, `"thuong_khan"`, `"hoa_toc"`,
    /// `"hoa_toc_hen_gio"`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Thuong => "thuong",
            Self::Khan => "khan",
            Self::ThuongKhan => "thuong_khan",
            Self::HoaToc => "hoa_toc",
            Self::HoaTocHenGio => "hoa_toc_hen_gio",
        }
    }

    /// The level with this Vietnamese label or stamp, accent- and case-insensitively
    /// (`"hoả tốc"`, `"THUONG KHAN"`).
    pub fn from_vietnamese_label(label: &str) -> Option<Self> {
        let key = name_key(label);
        Self::ALL.into_iter().find(|level| level.key() == key)
    }
}

impl fmt::Display for Urgency {
    /// Writes the Vietnamese label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.vietnamese_label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_codes_both_ways() {
        for (level, code) in Urgency::ALL.into_iter().zip(0..) {
            assert_eq!(level.priority(), code);
            assert_eq!(Urgency::from_priority(code), Some(level));
            assert_eq!(Urgency::parse_priority(&code.to_string()), Ok(level));
        }
        assert_eq!(Urgency::from_priority(5), None);
        assert_eq!(Urgency::HoaToc.priority(), 3);
        assert_eq!(Urgency::HoaTocHenGio.priority(), 4);
    }

    #[test]
    fn bad_priority_text_is_refused() {
        for text in ["", "5", "9", "00", "-1", " 1", "khan", "１"] {
            assert!(
                matches!(
                    Urgency::parse_priority(text),
                    Err(ModelError::UnknownCode {
                        what: "edXML Priority",
                        ..
                    })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn labels_keys_and_marks() {
        assert_eq!(Urgency::HoaToc.to_string(), "Hỏa tốc");
        assert_eq!(Urgency::ThuongKhan.mark(), Some("THƯỢNG KHẨN"));
        assert_eq!(Urgency::Thuong.mark(), None);
        assert!(!Urgency::Thuong.is_urgent());
        assert!(Urgency::Khan.is_urgent());
        for level in Urgency::ALL {
            assert_eq!(name_key(level.vietnamese_label()), level.key());
            assert_eq!(
                Urgency::from_vietnamese_label(level.vietnamese_label()),
                Some(level)
            );
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.key()));
            assert_eq!(serde_json::from_str::<Urgency>(&json).unwrap(), level);
        }
        assert_eq!(
            Urgency::from_vietnamese_label("Hoả tốc"),
            Some(Urgency::HoaToc)
        );
        assert_eq!(
            Urgency::from_vietnamese_label("HỎA TỐC"),
            Some(Urgency::HoaToc)
        );
    }

    #[test]
    fn order_follows_the_code() {
        assert!(Urgency::Thuong < Urgency::Khan);
        assert!(Urgency::Khan < Urgency::ThuongKhan);
        assert!(Urgency::ThuongKhan < Urgency::HoaToc);
    }
}
