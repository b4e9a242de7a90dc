//! Vietnamese alphabetical order, for the lists people read (users, agencies, devices,
//! recipients).
//!
//! The order of Vietnamese dictionaries: letters first — `a ă â b c d đ e ê g h i k l m
//! n o ô ơ p q r s t u ư v x y` (the foreign letters `f j w z` in their Latin places) —
//! then, between words that differ only there, the tones: none, huyền, hỏi, ngã, sắc,
//! nặng; then lower case before upper case. Digits come before letters, and spaces and
//! punctuation before both. `đ` is its own letter after `d`; `ă â ê ô ơ ư` are their own
//! letters after their base.

use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The letters in order (lower case).
const ALPHABET: &str = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz";

/// A sort key: compare keys to compare texts in Vietnamese order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CollationKey {
    letters: Vec<u32>,
    tones: Vec<u8>,
    case: Vec<u8>,
}

fn tone(mark: char) -> Option<u8> {
    match mark {
        '\u{300}' => Some(1), // huyền
        '\u{309}' => Some(2), // hỏi
        '\u{303}' => Some(3), // ngã
        '\u{301}' => Some(4), // sắc
        '\u{323}' => Some(5), // nặng
        _ => None,
    }
}

fn letter_rank(letter: char) -> Option<u32> {
    ALPHABET
        .chars()
        .position(|c| c == letter)
        .and_then(|p| u32::try_from(p).ok())
}

/// The Vietnamese sort key of `text`.
pub fn collation_key(text: &str) -> CollationKey {
    let mut key = CollationKey {
        letters: Vec::new(),
        tones: Vec::new(),
        case: Vec::new(),
    };
    let decomposed: Vec<char> = text.nfd().collect();
    let mut i = 0;
    while i < decomposed.len() {
        let base = decomposed[i];
        i += 1;
        let mut marks = Vec::new();
        while i < decomposed.len() && is_combining_mark(decomposed[i]) {
            marks.push(decomposed[i]);
            i += 1;
        }
        if is_combining_mark(base) {
            continue;
        }
        let lower = base.to_lowercase().next().unwrap_or(base);
        let mut letter = lower;
        let mut tone_rank = 0;
        for m in &marks {
            match (letter, *m) {
                ('a', '\u{306}') => letter = 'ă',
                ('a', '\u{302}') => letter = 'â',
                ('e', '\u{302}') => letter = 'ê',
                ('o', '\u{302}') => letter = 'ô',
                ('o', '\u{31b}') => letter = 'ơ',
                ('u', '\u{31b}') => letter = 'ư',
                _ => {
                    if let Some(t) = tone(*m) {
                        tone_rank = t;
                    }
                }
            }
        }
        let primary = if let Some(rank) = letter_rank(letter) {
            1000 + rank
        } else if let Some(d) = letter.to_digit(10) {
            100 + d
        } else if letter.is_whitespace() || letter.is_ascii_punctuation() {
            1
        } else {
            2000 + u32::from(letter)
        };
        key.letters.push(primary);
        key.tones.push(tone_rank);
        key.case.push(u8::from(lower != base));
    }
    key
}

/// Compares two texts in Vietnamese order.
pub fn compare_vietnamese(a: &str, b: &str) -> Ordering {
    collation_key(a).cmp(&collation_key(b))
}

/// Sorts `items` in Vietnamese order of `text(item)`.
pub fn sort_vietnamese<T>(items: &mut [T], text: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|item| collation_key(text(item)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(words: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        sort_vietnamese(&mut v, |s| s.as_str());
        v
    }

    #[test]
    fn letters_in_vietnamese_order() {
        // đ after d (byte order and accent folding both put it elsewhere); ă â after a;
        // ơ after ô after o; ư after u.
        assert_eq!(
            sorted(&[
                "Đức", "Dũng", "Ân", "An", "Ăn", "Ơn", "Ôn", "On", "Ưu", "Uy", "Bình"
            ]),
            [
                "An", "Ăn", "Ân", "Bình", "Dũng", "Đức", "On", "Ôn", "Ơn", "Uy", "Ưu"
            ]
        );
    }

    #[test]
    fn tones_break_ties_in_dictionary_order() {
        assert_eq!(
            sorted(&["má", "mạ", "mã", "mả", "mà", "ma"]),
            ["ma", "mà", "mả", "mã", "má", "mạ"]
        );
        // Letters decide before tones: "mạc" < "mai".
        assert_eq!(sorted(&["mai", "mạc"]), ["mạc", "mai"]);
    }

    #[test]
    fn names_and_case() {
        assert_eq!(
            sorted(&[
                "Trần Văn Bình",
                "Nguyễn Thị Hoa",
                "Lê Văn Chuyên",
                "nguyễn thị hoa"
            ]),
            [
                "Lê Văn Chuyên",
                "nguyễn thị hoa",
                "Nguyễn Thị Hoa",
                "Trần Văn Bình"
            ]
        );
        // Composed and decomposed input sort the same.
        assert_eq!(
            compare_vietnamese("Cần Thơ", "Ca\u{302}\u{300}n Tho\u{31b}"),
            Ordering::Equal
        );
        assert_eq!(sorted(&["Sở 2", "Sở 10", "Sở"]), ["Sở", "Sở 10", "Sở 2"]);
    }
}
