//! The message catalogue: every error a person reads is built by a handful of
//! constructors taking the Vietnamese text and the English one (`AppError::new(kind,
//! code, vi, en)`, `AppError::invalid(code, vi, en)`, `AppError::not_found(vi, en)`,
//! the server's `ApiError::bad_request(code, vi, en)`, the CLI's `Said::new(vi, en)`).
//! They are spread over the front ends and kyso-app, so this test reads the sources of
//! the workspace, finds every call, takes its Vietnamese argument (a string literal, or
//! the first literal of a `format!`) and checks that it is there and Vietnamese: no
//! English word from a small list outside code (`…`), placeholders (`{…}`), options and
//! identifiers. Fix the text it names, not the list.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

/// Constructors and the index of their Vietnamese argument.
const CONSTRUCTORS: &[(&str, usize)] = &[
    ("AppError::new(", 2),
    ("AppError::invalid(", 1),
    ("AppError::not_found(", 0),
    ("ApiError::bad_request(", 1),
    ("Said::new(", 0),
];

/// English words that have no place in a Vietnamese message (none of them is a
/// Vietnamese word written without diacritics).
const ENGLISH: &[&str] = &[
    "the",
    "not",
    "file",
    "files",
    "error",
    "invalid",
    "failed",
    "cannot",
    "signature",
    "signatures",
    "missing",
    "unknown",
    "must",
    "should",
    "and",
    "is",
    "are",
    "of",
    "with",
    "please",
    "document",
    "found",
    "denied",
    "unreadable",
    "already",
    "expected",
    "wrong",
    "too",
    "only",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The top-level arguments of the call whose `(` is at `open` (its text up to the
/// matching `)`), split at commas outside strings, brackets and char literals.
fn arguments(text: &str, open: usize) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut i = open + 1;
    let chars: Vec<(usize, char)> = text[i..].char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (offset, c) = chars[k];
        i = open + 1 + offset;
        match c {
            '"' => {
                // A string literal (raw strings are not used for messages).
                current.push(c);
                k += 1;
                while k < chars.len() {
                    let (_, d) = chars[k];
                    current.push(d);
                    if d == '\\' {
                        k += 1;
                        if k < chars.len() {
                            current.push(chars[k].1);
                        }
                    } else if d == '"' {
                        break;
                    }
                    k += 1;
                }
            }
            '\'' if bytes.get(i + 2) == Some(&b'\'') || bytes.get(i + 3) == Some(&b'\'') => {
                // A char literal ('"', '\n'): copied as is.
                current.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' if depth == 0 => {
                args.push(current.trim().to_string());
                return args;
            }
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => {
                args.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
        k += 1;
    }
    args
}

/// The first string literal of an argument (the text itself, or a `format!`'s).
fn first_literal(arg: &str) -> Option<String> {
    let start = arg.find('"')?;
    let mut out = String::new();
    let mut chars = arg[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('\n') => {
                    // A line continuation: the next line's indentation is skipped.
                    let rest: String = chars.clone().collect();
                    let trimmed = rest.trim_start();
                    let skip = rest.chars().count() - trimmed.chars().count();
                    for _ in 0..skip {
                        chars.next();
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// The words of a Vietnamese message a person reads: code in backticks, placeholders,
/// quoted values, options (`--type`), identifiers (`toi_mat`), paths and file names
/// left out.
fn words(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut skip_until: Option<char> = None;
    for c in text.chars() {
        match skip_until {
            Some(end) if c == end => skip_until = None,
            Some(_) => {}
            None => match c {
                '`' => skip_until = Some('`'),
                '{' => skip_until = Some('}'),
                '"' => skip_until = Some('"'),
                c => plain.push(c),
            },
        }
    }
    plain
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '!' | '?'))
        .filter(|w| {
            !w.is_empty()
                && !w.starts_with('-')
                && !w.contains(['_', '/', '.', '=', '<', '>', '@', '\\'])
        })
        .map(str::to_lowercase)
        .collect()
}

#[test]
fn every_vietnamese_message_is_there_and_vietnamese() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut seen = 0;
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        if shown.ends_with("tests/messages.rs") {
            continue;
        }
        for (name, index) in CONSTRUCTORS {
            for (at, _) in text.match_indices(name) {
                // Not the definition (`pub fn new(`) nor a path ending in the name.
                let before = &text[..at];
                if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let open = at + name.len() - 1;
                let args = arguments(&text, open);
                let line = before.lines().count().max(1);
                let place = format!("{shown}:{line}");
                let Some(arg) = args.get(*index) else {
                    continue;
                };
                let Some(vi) = first_literal(arg) else {
                    // A variable (`&app.vi`, `vi`): checked where it is written.
                    continue;
                };
                seen += 1;
                if vi.trim().is_empty() {
                    problems.push(format!("{place}: empty Vietnamese text"));
                    continue;
                }
                let english: Vec<String> = words(&vi)
                    .into_iter()
                    .filter(|w| ENGLISH.contains(&w.as_str()))
                    .collect();
                if !english.is_empty() {
                    problems.push(format!("{place}: English {english:?} in {vi:?}"));
                }
            }
        }
    }
    assert!(
        seen > 200,
        "only {seen} messages found: is the scan broken?"
    );
    assert!(
        problems.is_empty(),
        "{} Vietnamese messages are not Vietnamese:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every string literal of a file, unescaped, with its line.
fn literals(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut consumed = 0;
    while let Some(start) = rest.find('"') {
        let before = &rest[..start];
        // Not a char literal ('"') nor the end of a raw string.
        if before.ends_with('\'') || before.ends_with('#') || before.ends_with('r') {
            consumed += start + 1;
            rest = &rest[start + 1..];
            continue;
        }
        let Some(lit) = first_literal(&rest[start..]) else {
            break;
        };
        // The literal's length in the source: find its closing quote.
        let bytes = rest.as_bytes();
        let mut end = start + 1;
        while end < bytes.len() {
            match bytes[end] {
                b'\\' => end += 2,
                b'"' => break,
                _ => end += 1,
            }
        }
        let line = text[..consumed + start].lines().count().max(1);
        out.push((line, lit));
        consumed += end + 1;
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out
}

/// Whether a text has Vietnamese letters (a diacritic or đ).
fn vietnamese(text: &str) -> bool {
    text.chars().any(|c| {
        "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
            .contains(c.to_lowercase().next().unwrap_or(c))
    })
}

/// Texts written `vi / en` in one literal (notes, office errors, CLI lines): the part
/// before ` / ` is Vietnamese too.
#[test]
fn every_vi_slash_en_text_starts_in_vietnamese() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut seen = 0;
    let mut problems = Vec::new();
    for file in &files {
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        if shown.contains("/tests/") || shown.ends_with("tests.rs") {
            continue;
        }
        let text = fs::read_to_string(file).unwrap();
        for (line, lit) in literals(&text) {
            let Some((vi, _)) = lit.split_once(" / ") else {
                continue;
            };
            if !vietnamese(vi) {
                continue;
            }
            seen += 1;
            let english: Vec<String> = words(vi)
                .into_iter()
                .filter(|w| ENGLISH.contains(&w.as_str()))
                .collect();
            if !english.is_empty() {
                problems.push(format!("{shown}:{line}: English {english:?} in {vi:?}"));
            }
        }
    }
    eprintln!("{seen} texts written `vi / en`");
    assert!(seen > 50, "only {seen} texts found: is the scan broken?");
    assert!(
        problems.is_empty(),
        "{} texts are not Vietnamese before ` / `:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_scan_reads_calls_as_written() {
    let text = r#"AppError::new(Kind::Conflict, "code", format!("chưa lưu {x}: `kyso trust add`", x = f(a, b)), "not archived")"#;
    let open = text.find('(').unwrap();
    let args = arguments(text, open);
    assert_eq!(args.len(), 4, "{args:?}");
    assert_eq!(
        first_literal(&args[2]).unwrap(),
        "chưa lưu {x}: `kyso trust add`"
    );
    assert_eq!(words("chưa lưu {x}: `kyso trust add`"), ["chưa", "lưu"]);
    let source = "let q = '\"';\nlet a = \"lỗi \\\"x\\\" / error\";\nlet b = \"tệp / file\";";
    assert_eq!(
        literals(source),
        [
            (2, "lỗi \"x\" / error".to_string()),
            (3, "tệp / file".to_string())
        ]
    );
    assert!(vietnamese("tệp") && !vietnamese("file"));
    assert_eq!(
        words("the file is not signed (--type, toi_mat)"),
        ["the", "file", "is", "not", "signed"]
    );
}
