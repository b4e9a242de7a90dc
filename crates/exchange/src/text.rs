//! Text normal form and the per-field rules (lengths of spec table 1.x, characters).

use unicode_normalization::UnicodeNormalization;

use crate::error::{ExchangeError, FieldProblem, NameProblem, excerpt};

/// How a text field is normalised and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// Maximum length in characters.
    pub max: usize,
    /// Whether an empty value is refused.
    pub required: bool,
    /// Whether `\n` may appear inside.
    pub multiline: bool,
}

impl Rule {
    pub(crate) const fn optional(max: usize) -> Self {
        Self {
            max,
            required: false,
            multiline: false,
        }
    }

    pub(crate) const fn required(max: usize) -> Self {
        Self {
            max,
            required: true,
            multiline: false,
        }
    }

    pub(crate) const fn multiline(max: usize, required: bool) -> Self {
        Self {
            max,
            required,
            multiline: true,
        }
    }
}

/// Whether a value is being normalised (building, importing) or must already be in
/// normal form (parsing a kyso package).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Normalize,
    Check,
}

/// The normal form: line ends as `\n`, NFC, surrounding whitespace removed.
pub(crate) fn normalize(text: &str) -> String {
    let unified = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    let composed: String = if unicode_normalization::is_nfc(&unified) {
        unified
    } else {
        unified.nfc().collect()
    };
    composed.trim().to_owned()
}

/// Characters that no text field may hold: controls (except `\n` where allowed) and the
/// two non-characters XML 1.0 cannot carry.
fn forbidden(character: char, multiline: bool) -> bool {
    (character.is_control() && !(multiline && character == '\n'))
        || matches!(character, '\u{FFFE}' | '\u{FFFF}')
}

/// Normalises (or checks the normal form of) `value`, then applies `rule`.
pub(crate) fn apply(
    field: &dyn Fn() -> String,
    value: &mut String,
    rule: Rule,
    mode: Mode,
) -> Result<(), ExchangeError> {
    let normal = normalize(value);
    if normal != *value {
        if mode == Mode::Check {
            return Err(ExchangeError::field(field(), FieldProblem::NotNormalized));
        }
        *value = normal;
    }
    if value.is_empty() {
        return if rule.required {
            Err(ExchangeError::field(field(), FieldProblem::Missing))
        } else {
            Ok(())
        };
    }
    if let Some(character) = value.chars().find(|&c| forbidden(c, rule.multiline)) {
        return Err(ExchangeError::field(
            field(),
            FieldProblem::ForbiddenCharacter { character },
        ));
    }
    let found = value.chars().count();
    if found > rule.max {
        return Err(ExchangeError::field(
            field(),
            FieldProblem::TooLong {
                max: rule.max,
                found,
            },
        ));
    }
    Ok(())
}

/// Bidirectional embedding/override/isolate controls, refused in names.
fn bidi_control(character: char) -> bool {
    matches!(character, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Normalises (or checks) an attachment name and applies the name rules; returns the key
/// used to find duplicates (lower-cased).
pub(crate) fn attachment_name(
    index: usize,
    name: &mut String,
    max_bytes: usize,
    mode: Mode,
) -> Result<String, ExchangeError> {
    let refuse = |name: &str, problem| ExchangeError::AttachmentName {
        index,
        name: excerpt(name),
        problem,
    };
    let normal = normalize(name);
    if normal != *name {
        if mode == Mode::Check {
            return Err(refuse(name, NameProblem::NotNormalized));
        }
        *name = normal;
    }
    let problem = if name.is_empty() {
        Some(NameProblem::Empty)
    } else if name.contains(['/', '\\']) {
        Some(NameProblem::PathSeparator)
    } else if name.contains("..") {
        Some(NameProblem::DotDot)
    } else if name.contains(':') {
        Some(NameProblem::Colon)
    } else if name.chars().any(|c| forbidden(c, false) || bidi_control(c)) {
        Some(NameProblem::ForbiddenCharacter)
    } else if name.len() > max_bytes {
        Some(NameProblem::TooLong)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(refuse(name, problem)),
        None => Ok(name.to_lowercase()),
    }
}

/// Whether `value` looks like a MIME type: `type/subtype`, RFC 2045 token characters,
/// at most 127 bytes, optional parameters not allowed.
pub(crate) fn is_content_type(value: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    value.len() <= 127
        && value
            .split_once('/')
            .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form() {
        let nfd: String = "Quyết định".nfd().collect();
        assert_eq!(normalize(&format!("  {nfd}\r\n")), "Quyết định");
        assert_eq!(normalize("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn names() {
        let check = |name: &str| {
            let mut name = name.to_owned();
            attachment_name(0, &mut name, 255, Mode::Normalize).map_err(|e| match e {
                ExchangeError::AttachmentName { problem, .. } => problem,
                other => panic!("{other}"),
            })
        };
        assert_eq!(check("Quyết định 05.pdf"), Ok("quyết định 05.pdf".into()));
        assert_eq!(check("../x"), Err(NameProblem::PathSeparator));
        assert_eq!(check(".."), Err(NameProblem::DotDot));
        assert_eq!(check("a..pdf"), Err(NameProblem::DotDot));
        assert_eq!(check("C:x"), Err(NameProblem::Colon));
        assert_eq!(
            check("a\u{202E}fdp.exe"),
            Err(NameProblem::ForbiddenCharacter)
        );
        assert_eq!(check("a\0b"), Err(NameProblem::ForbiddenCharacter));
        assert_eq!(check("  "), Err(NameProblem::Empty));
        assert_eq!(check(&"ệ".repeat(100)), Err(NameProblem::TooLong));
    }

    #[test]
    fn content_types() {
        assert!(is_content_type("application/pdf"));
        assert!(is_content_type(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ));
        assert!(!is_content_type("application"));
        assert!(!is_content_type("application/pdf; charset=x"));
        assert!(!is_content_type("/pdf"));
    }
}
