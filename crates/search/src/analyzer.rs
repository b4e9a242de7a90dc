//! Text analysis shared by indexing and querying: NFC, word splitting, and folding that is
//! exactly [`kyso_model::fold`] applied to each word.
//!
//! Why a tokenizer of our own instead of `SimpleTokenizer → LowerCaser → AsciiFoldingFilter`
//! (which the research spike found to work): the two must agree with `kyso_model::fold`
//! everywhere (the registers and name look-ups use it), and AsciiFoldingFilter folds some
//! characters differently (`ß` → `ss`, `æ` → `ae`, `ø` → `o` …) and splits words at
//! combining marks. Here a word is a maximal run of alphanumeric characters and combining
//! marks, and each character is folded with `kyso_model::fold`, through a table for the
//! Latin ranges (so indexing stays fast). A test checks the table against `fold` for every
//! character of the Basic Multilingual Plane.

use std::borrow::Cow;
use std::sync::OnceLock;

use tantivy::tokenizer::{RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Name under which the Vietnamese analyzer is registered in the index.
pub(crate) const VI: &str = "kyso_vi";

/// Words longer than this (in bytes, after folding) are not indexed (base64 blobs, runs of
/// digits): they would bloat the term dictionary and nobody searches for them.
const MAX_TOKEN_BYTES: usize = 64;

/// The analyzer used for every full-text field.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(VietnameseTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// NFC form of `text`, borrowing when it is NFC already (the common case).
pub fn nfc(text: &str) -> Cow<'_, str> {
    if unicode_normalization::is_nfc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// The folded words of `text`, as indexed and searched: `"Quyết định số 12/QĐ-UBND"` →
/// `["quyet", "dinh", "so", "12", "qd", "ubnd"]`.
///
/// Equal to splitting `kyso_model::fold(text)` into runs of alphanumeric characters.
pub fn words(text: &str) -> Vec<String> {
    let text = nfc(text);
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(&text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// Splits text into words (runs of alphanumeric characters and combining marks) and folds
/// each one like [`kyso_model::fold`]. Offsets point into the text as given, so snippets
/// highlight the original accented words.
#[derive(Clone, Debug, Default)]
pub(crate) struct VietnameseTokenizer {
    token: Token,
}

impl Tokenizer for VietnameseTokenizer {
    type TokenStream<'a> = VietnameseTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VietnameseTokenStream<'a> {
        self.token.reset();
        VietnameseTokenStream {
            text,
            cursor: 0,
            token: &mut self.token,
        }
    }
}

pub(crate) struct VietnameseTokenStream<'a> {
    text: &'a str,
    cursor: usize,
    token: &'a mut Token,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && is_combining_mark(c))
}

impl TokenStream for VietnameseTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let rest = &self.text[self.cursor..];
            let Some(start_rel) = rest.find(is_word_char) else {
                self.cursor = self.text.len();
                return false;
            };
            let start = self.cursor + start_rel;
            let word = &self.text[start..];
            let len = word.find(|c: char| !is_word_char(c)).unwrap_or(word.len());
            let end = start + len;
            self.cursor = end;
            self.token.text.clear();
            fold_into(&self.text[start..end], &mut self.token.text);
            if self.token.text.is_empty() {
                // Only combining marks: nothing to index.
                continue;
            }
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Folds `word` character by character into `out`. For NFC input this is exactly
/// `kyso_model::fold(word)`: fold lowercases, decomposes and drops marks per character, and
/// a character of NFC text is its own NFC.
pub(crate) fn fold_into(word: &str, out: &mut String) {
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match table_lookup(c) {
            Some(Folded::Empty) => {}
            Some(Folded::One(f)) => out.push(f),
            Some(Folded::Many) | None => {
                let mut buf = [0u8; 4];
                out.push_str(&kyso_model::fold(c.encode_utf8(&mut buf)));
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Folded {
    Empty,
    One(char),
    Many,
}

/// Latin-1 Supplement to Combining Diacritical Marks, and Latin Extended Additional (where
/// most precomposed Vietnamese letters live).
const LOW_RANGE: std::ops::Range<u32> = 0x80..0x370;
const VIET_RANGE: std::ops::Range<u32> = 0x1E00..0x1F00;

fn table_lookup(c: char) -> Option<Folded> {
    static TABLE: OnceLock<Vec<Folded>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        LOW_RANGE
            .chain(VIET_RANGE)
            .map(|cp| {
                let c = char::from_u32(cp).unwrap_or(' ');
                let mut buf = [0u8; 4];
                let folded = kyso_model::fold(c.encode_utf8(&mut buf));
                let mut chars = folded.chars();
                match (chars.next(), chars.next()) {
                    (None, _) => Folded::Empty,
                    (Some(f), None) => Folded::One(f),
                    _ => Folded::Many,
                }
            })
            .collect()
    });
    let cp = c as u32;
    if LOW_RANGE.contains(&cp) {
        table.get((cp - LOW_RANGE.start) as usize).copied()
    } else if VIET_RANGE.contains(&cp) {
        let index = (LOW_RANGE.end - LOW_RANGE.start) + (cp - VIET_RANGE.start);
        table.get(index as usize).copied()
    } else {
        None
    }
}

/// The exact-match key of a number and notation: the number without leading zeros, `/`,
/// then the folded notation (`"Số: 05/QĐ-UBND"`, `"5/qd-ubnd"` and `"05/QD-UBND"` all give
/// `"5/qd-ubnd"`). `None` when the text does not have the shape `<digits>/<notation>`.
///
/// Dash look-alikes (‐ ‑ ‒ – —) are read as `-`. Abbreviations that differ only by `Đ`
/// (`HĐ` contract, `HD` guidance) share a key; [`notation_exact`] tells them apart.
pub fn notation_key(text: &str) -> Option<String> {
    let (number, rest) = split_notation(text)?;
    Some(format!("{number}/{}", kyso_model::fold(&rest)))
}

/// Like [`notation_key`] but case- and accent-sensitive (NFC): `"5/QĐ-UBND"`.
pub fn notation_exact(text: &str) -> Option<String> {
    let (number, rest) = split_notation(text)?;
    Some(format!("{number}/{rest}"))
}

fn split_notation(text: &str) -> Option<(u64, String)> {
    let text = nfc(text.trim());
    let text = strip_so_prefix(&text);
    let (digits, rest) = text.split_once('/')?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    let rest: String = rest
        .trim_end_matches(['.', ',', ';', ')', ':'])
        .chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            c => c,
        })
        .collect();
    let valid = !rest.is_empty()
        && rest.split('-').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '/' || c == '.')
        });
    valid.then_some((number, rest))
}

/// Removes a leading `Số`, `So`, `số:` (any case and accents) followed by `:` or spaces.
pub(crate) fn strip_so_prefix(text: &str) -> &str {
    let mut chars = text.char_indices();
    let first = chars.next().map(|(_, c)| c);
    let second = chars.next();
    let (Some(first), Some((second_at, second))) = (first, second) else {
        return text;
    };
    if !matches!(first, 's' | 'S') {
        return text;
    }
    let mut buf = [0u8; 4];
    if kyso_model::fold(second.encode_utf8(&mut buf)) != "o" {
        return text;
    }
    let after = &text[second_at + second.len_utf8()..];
    let trimmed = after.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    if trimmed.len() == after.len() {
        // "sobo…": a word starting with "so", not the prefix.
        return text;
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded_words_by_model(text: &str) -> Vec<String> {
        kyso_model::fold(text)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn folds_vietnamese() {
        assert_eq!(
            words("Quyết định số 12/QĐ-UBND về Đơn của ông Cần Thơ"),
            [
                "quyet", "dinh", "so", "12", "qd", "ubnd", "ve", "don", "cua", "ong", "can", "tho"
            ]
        );
        assert_eq!(words("ĐƠN đơn Đơn"), ["don", "don", "don"]);
        assert_eq!(words("Hoả tốc, HỎA TỐC"), ["hoa", "toc", "hoa", "toc"]);
    }

    #[test]
    fn nfd_input_is_one_word_per_syllable() {
        let nfd: String = "Cộng hòa Xã hội".nfd().collect();
        assert_eq!(words(&nfd), ["cong", "hoa", "xa", "hoi"]);
    }

    #[test]
    fn table_agrees_with_model_fold_for_every_bmp_character() {
        for cp in 0x80u32..0x1_0000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let single = c.to_string();
            // `fold` NFC-normalises first; a character that is not its own NFC never
            // appears in the NFC text we tokenize.
            if nfc(&single) != single.as_str() {
                continue;
            }
            let mut ours = String::new();
            fold_into(&single, &mut ours);
            assert_eq!(ours, kyso_model::fold(&single), "U+{cp:04X}");
        }
    }

    #[test]
    fn words_agree_with_model_fold() {
        let samples = [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — Độc lập - Tự do - Hạnh phúc",
            "Ủy ban nhân dân thành phố Cần Thơ; Sở Nội vụ; Phường Hưng Lợi",
            "Nguyễn Thị Ánh Tuyết, Huỳnh Đức Lợi, Trương Quỳnh Như",
            "V/v triển khai Nghị định 30/2020/NĐ-CP (văn bản điện tử)",
            "Straße æøå İstanbul ǅemal ﬁ ½ ²",
        ];
        for s in samples {
            assert_eq!(words(s), folded_words_by_model(s), "{s}");
        }
    }

    #[test]
    fn offsets_point_at_original_text() {
        let text = "Ủy ban Đơn";
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut spans = Vec::new();
        while let Some(t) = stream.next() {
            spans.push((&text[t.offset_from..t.offset_to], t.position));
        }
        assert_eq!(spans, [("Ủy", 0), ("ban", 1), ("Đơn", 2)]);
    }

    #[test]
    fn notation_keys() {
        for text in [
            "12/QĐ-UBND",
            "12/QD-UBND",
            "số 12/QĐ-UBND",
            "Số: 12/QĐ-UBND",
            "so 12/qd-ubnd",
            "012/QĐ–UBND",
        ] {
            assert_eq!(notation_key(text).as_deref(), Some("12/qd-ubnd"), "{text}");
        }
        assert_eq!(notation_key("05/UBND-VP").as_deref(), Some("5/ubnd-vp"));
        assert_eq!(
            notation_exact("Số: 05/HĐ-UBND").as_deref(),
            Some("5/HĐ-UBND")
        );
        assert_eq!(notation_key("quyết định"), None);
        assert_eq!(notation_key("12/"), None);
        assert_eq!(notation_key("/QĐ"), None);
        assert_eq!(notation_key("a12/QĐ"), None);
        assert_eq!(notation_key("12/QĐ--UBND"), None);
    }

    #[test]
    fn so_prefix() {
        assert_eq!(strip_so_prefix("số 12"), "12");
        assert_eq!(strip_so_prefix("Số:12"), "12");
        assert_eq!(strip_so_prefix("SỐ: 12"), "12");
        assert_eq!(strip_so_prefix("sổ tay"), "tay");
        assert_eq!(strip_so_prefix("song"), "song");
        assert_eq!(strip_so_prefix("12"), "12");
    }
}
