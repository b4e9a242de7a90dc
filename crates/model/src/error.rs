//! The one error type of this crate.
//!
//! Every variant is caused by the values handed in (untrusted text or a caller's
//! arguments); this crate has no environment that could fail. Positions are **byte
//! offsets** into the NFC-normalised input (for the usual NFC input: into the input as
//! given). Inputs echoed back in errors are cut to [`EXCERPT_CHARS`] characters.

/// How many characters of an offending input an error keeps.
pub(crate) const EXCERPT_CHARS: usize = 80;

/// Errors from parsing or building the vocabulary types of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    // ----- number and notation (số, ký hiệu) -----
    /// The notation text is empty (or only whitespace, or only the `Số:` prefix).
    #[error("number/notation is empty")]
    EmptyNotation,
    /// Whitespace inside a number/notation, which ND30 writes without spaces.
    #[error(
        "number/notation: unexpected whitespace at byte {offset} (ND30 writes \"05/QĐ-UBND\" without spaces)"
    )]
    UnexpectedWhitespace {
        /// Byte offset of the whitespace character.
        offset: usize,
    },
    /// A character that cannot appear in a number/notation (control character, comma,
    /// or a dash look-alike instead of the ASCII hyphen `-`).
    #[error("number/notation: character {character:?} at byte {offset} is not allowed{hint}", hint = character_hint(.character))]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// Nothing before the `/`: the document number is missing.
    #[error("number/notation: the number is missing before '/' at byte {offset}")]
    MissingNumber {
        /// Byte offset of the `/`.
        offset: usize,
    },
    /// The number part contains something other than ASCII digits.
    #[error(
        "number/notation: the number {found:?} is not made of digits 0-9 (first bad character at byte {offset})"
    )]
    InvalidNumber {
        /// The number part as found.
        found: String,
        /// Byte offset of the first non-digit.
        offset: usize,
    },
    /// The number is zero; numbering starts at 01 on 1 January (ND30 Art 15.1).
    #[error("number/notation: the number at byte {offset} is zero; numbers start at 01")]
    NumberZero {
        /// Byte offset of the number.
        offset: usize,
    },
    /// The number does not fit in 32 bits.
    #[error("number/notation: the number {found:?} at byte {offset} is too large")]
    NumberTooLarge {
        /// The number part as found.
        found: String,
        /// Byte offset of the number.
        offset: usize,
    },
    /// No `/` between the number and the notation.
    #[error("number/notation: expected '/' after the number at byte {offset}")]
    MissingSlash {
        /// Byte offset where the `/` was expected.
        offset: usize,
    },
    /// A second `/`: normative legal documents (`30/2020/NĐ-CP`) use a shape with the
    /// year, which is out of scope.
    #[error(
        "number/notation: second '/' at byte {offset}; only the administrative shape \"05/QĐ-UBND\" is supported, not the normative \"30/2020/NĐ-CP\""
    )]
    ExtraSlash {
        /// Byte offset of the second `/`.
        offset: usize,
    },
    /// Nothing after the `/`.
    #[error("number/notation: the notation after '/' is missing at byte {offset}")]
    MissingNotation {
        /// Byte offset where the notation should start.
        offset: usize,
    },
    /// An empty group between hyphens, or before/after one (`05/QĐ-`, `05/-UBND`).
    #[error("number/notation: segment {segment} after '/' is empty (byte {offset})")]
    EmptySegment {
        /// 1-based index of the segment after the `/`.
        segment: usize,
        /// Byte offset where the empty segment is.
        offset: usize,
    },
    /// A type abbreviation with no issuing-agency abbreviation after it (`05/QĐ`).
    #[error(
        "number/notation: type {type_abbreviation:?} is not followed by '-' and the issuing agency's abbreviation (byte {offset})"
    )]
    MissingIssuer {
        /// The type abbreviation found.
        type_abbreviation: String,
        /// Byte offset where the issuer was expected.
        offset: usize,
    },
    /// A part handed to a notation constructor is not valid.
    #[error("notation {part}: {value:?} {reason}")]
    InvalidNotationPart {
        /// Which part: "number", "type", "issuer" or "unit".
        part: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },

    // ----- document types and their registry -----
    /// A custom document type name is empty or has no letters or digits.
    #[error("document type name {name:?} {reason}")]
    InvalidTypeName {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A custom type abbreviation is not usable in a notation.
    #[error("document type abbreviation {abbreviation:?} {reason}")]
    InvalidTypeAbbreviation {
        /// The abbreviation given.
        abbreviation: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The abbreviation is already used by another type in the registry.
    #[error("document type abbreviation {abbreviation:?} is already used by {existing:?}")]
    DuplicateTypeAbbreviation {
        /// The abbreviation given.
        abbreviation: String,
        /// Vietnamese name of the type that has it.
        existing: String,
    },
    /// The name (compared accent- and case-insensitively) is already in the registry.
    #[error("document type name {name:?} is already registered as {existing:?}")]
    DuplicateTypeName {
        /// The name given.
        name: String,
        /// Vietnamese name of the type it clashes with.
        existing: String,
    },
    /// A serialised document-type key that the registry does not know.
    #[error("unknown document type key {key:?}")]
    UnknownTypeKey {
        /// The key found.
        key: String,
    },

    // ----- identifiers -----
    /// An agency identifier (mã định danh) does not have the expected shape.
    #[error("agency identifier {input:?}: expected {expected} at byte {offset}")]
    InvalidAgencyId {
        /// The input (cut to 80 characters).
        input: String,
        /// Byte offset of the first problem.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A document identifier does not have one of the accepted shapes.
    #[error("document identifier {input:?}: expected {expected} at byte {offset}")]
    InvalidDocumentId {
        /// The input (cut to 80 characters).
        input: String,
        /// Byte offset of the first problem.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A year that cannot be written with four digits.
    #[error("year {year} is outside 1000-9999")]
    InvalidYear {
        /// The year given.
        year: i64,
    },
    /// A sequence number of zero; sequences start at 1.
    #[error("{what}: sequence number 0; sequences start at 1")]
    ZeroSequence {
        /// What the sequence belongs to.
        what: &'static str,
    },

    // ----- codes -----
    /// A code that the named code list does not define.
    #[error("{what}: unknown code {found:?} (known: {known})")]
    UnknownCode {
        /// The code list, e.g. "edXML StatusCode".
        what: &'static str,
        /// The code found (cut to 80 characters).
        found: String,
        /// The valid codes, for the message.
        known: &'static str,
    },

    // ----- numbering series -----
    /// An advisory-body series name that cannot be used in a series key.
    #[error("series name {name:?} {reason}")]
    InvalidSeriesName {
        /// The name given (cut to 80 characters).
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A series key that does not have the shape `<OrganId>/<year>/<register>`.
    #[error("series key {input:?}: expected {expected} at byte {offset}")]
    InvalidSeriesKey {
        /// The input (cut to 80 characters).
        input: String,
        /// Byte offset of the first problem.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
}

/// Extra advice for characters that are easy to type by mistake.
fn character_hint(character: &char) -> &'static str {
    match *character {
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
            " (use the ASCII hyphen '-')"
        }
        ',' => " (commas separate the parts of a document identifier)",
        _ => "",
    }
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
    fn excerpt_cuts_long_input_on_a_char_boundary() {
        let long = "Đ".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }

    #[test]
    fn dash_look_alikes_get_a_hint() {
        let error = ModelError::InvalidCharacter {
            character: '–',
            offset: 5,
        };
        assert!(error.to_string().contains("ASCII hyphen"));
    }
}
