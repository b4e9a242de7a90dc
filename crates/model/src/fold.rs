//! Accent- and case-insensitive text folding, for search and name look-ups.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds Vietnamese text for accent- and case-insensitive comparison.
///
/// Steps: NFC, then lowercase, then strip diacritics (decompose and drop combining
/// marks), then `đ` → `d` (`Đ` has already become `đ`; neither has a Unicode
/// decomposition, so stripping marks alone would keep it). Whitespace and punctuation are
/// kept as they are.
///
/// ```
/// assert_eq!(kyso_model::fold("Quyết định Đơn Cần Thơ"), "quyet dinh don can tho");
/// ```
pub fn fold(text: &str) -> String {
    text.nfc()
        .flat_map(char::to_lowercase)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// NFC form of `text`, without allocating when it is NFC already.
pub(crate) fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    if unicode_normalization::is_nfc(text) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfc().collect())
    }
}

/// A stable ASCII key for a name: folded, every run of characters other than ASCII
/// letters and digits replaced by one `_`, no `_` at either end.
///
/// `"Bản thỏa thuận"` → `"ban_thoa_thuan"`. Two names with the same key are the same
/// name for look-ups ("Quyết  định", "QUYẾT ĐỊNH" and "quyet-dinh" all give `quyet_dinh`).
pub(crate) fn name_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    let mut pending_separator = false;
    for c in fold(text).chars() {
        if c.is_ascii_alphanumeric() {
            if pending_separator && !key.is_empty() {
                key.push('_');
            }
            pending_separator = false;
            key.push(c);
        } else {
            pending_separator = true;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_strips_tones_marks_and_case() {
        assert_eq!(fold("Quyết định Đơn Cần Thơ"), "quyet dinh don can tho");
        assert_eq!(fold("HỎA TỐC"), "hoa toc");
        assert_eq!(fold("Hoả tốc"), "hoa toc");
        assert_eq!(fold("đ Đ"), "d d");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn fold_treats_nfd_and_nfc_alike() {
        let nfd: String = "Tuyệt mật".nfd().collect();
        assert_ne!(nfd, "Tuyệt mật");
        assert_eq!(fold(&nfd), fold("Tuyệt mật"));
        assert_eq!(fold(&nfd), "tuyet mat");
    }

    #[test]
    fn fold_keeps_punctuation_and_spacing() {
        assert_eq!(fold("Số: 05/QĐ-UBND"), "so: 05/qd-ubnd");
        assert_eq!(fold("a  b"), "a  b");
    }

    #[test]
    fn nfc_borrows_when_already_normalised() {
        assert!(matches!(nfc("Quyết định"), std::borrow::Cow::Borrowed(_)));
        let nfd: String = "Quyết định".nfd().collect();
        assert_eq!(nfc(&nfd), "Quyết định");
    }

    #[test]
    fn name_key_collapses_separators() {
        assert_eq!(name_key("Bản thỏa thuận"), "ban_thoa_thuan");
        assert_eq!(name_key("  Quyết  định "), "quyet_dinh");
        assert_eq!(name_key("QUYẾT-ĐỊNH"), "quyet_dinh");
        assert_eq!(name_key("(lịch) làm việc!"), "lich_lam_viec");
        assert_eq!(name_key("—"), "");
    }
}
