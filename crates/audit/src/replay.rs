//! Replaying a stored log: its entries as stored (text) and its signed heads, checked
//! against the log key, with every problem named precisely in Vietnamese and English —
//! what `kyso audit verify` reports. No I/O: the caller reads the database or an export.

use std::collections::BTreeMap;

use kyso_signer::DigestAlgorithm;
use spki::SubjectPublicKeyInfoOwned;

use crate::{
    AuditReport, Entry, Hash, Outcome, Problem, TreeHead, consistency_proof, root,
    verify_consistency, verify_tree_head,
};

/// A log as read: each entry's stored text (with its position) and each head's.
#[derive(Debug, Clone, Default)]
pub struct RawLog {
    /// (position, stored text) of every entry, in storage order.
    pub entries: Vec<(u64, String)>,
    /// The stored text of every signed tree head.
    pub heads: Vec<String>,
}

/// Something wrong, in both languages.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// Stable key (`deleted`, `modified`, `truncated`, `forged_head`, `witness_rewritten`…).
    pub kind: &'static str,
    /// Vietnamese.
    pub vi: String,
    /// English.
    pub en: String,
    /// A consequence worth knowing, in both languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<(String, String)>,
}

impl Finding {
    /// A finding without a note.
    pub fn new(kind: &'static str, vi: String, en: String) -> Self {
        Self {
            kind,
            vi,
            en,
            note: None,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.vi, self.en)?;
        if let Some((vi, en)) = &self.note {
            write!(f, " ({vi} / {en})")?;
        }
        Ok(())
    }
}

/// A log replayed against its signed heads.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The entries (an unreadable one replaced by a stand-in that hashes differently).
    pub entries: Vec<Entry>,
    /// Their stored texts.
    pub texts: Vec<String>,
    /// Their leaf hashes.
    pub leaves: Vec<Hash>,
    /// The readable heads.
    pub heads: Vec<TreeHead>,
    /// The replay's report.
    pub report: AuditReport,
    /// What is wrong, precisely, in both languages.
    pub findings: Vec<Finding>,
}

impl Replay {
    /// The latest head whose signature verifies.
    pub fn latest(&self, key: &SubjectPublicKeyInfoOwned) -> Option<&TreeHead> {
        self.heads
            .iter()
            .filter(|h| verify_tree_head(h, key).is_ok())
            .max_by_key(|h| h.size)
    }
}

fn ranges(values: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let start = values[i];
        let mut end = start;
        while i + 1 < values.len() && values[i + 1] == end + 1 {
            i += 1;
            end = values[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    out.join(", ")
}

/// Deleted, duplicated or reordered entries, from their sequence numbers.
fn sequence_findings(entries: &[Entry]) -> Vec<Finding> {
    let mut out = Vec::new();
    if entries.iter().enumerate().all(|(i, e)| e.seq == i as u64) {
        return out;
    }
    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for e in entries {
        *count.entry(e.seq).or_default() += 1;
    }
    let max = count.keys().next_back().copied().unwrap_or(0);
    let missing: Vec<u64> = (0..=max).filter(|s| !count.contains_key(s)).collect();
    let duplicated: Vec<(u64, usize)> = count
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(s, c)| (*s, *c))
        .collect();
    if !missing.is_empty() {
        let list = ranges(&missing);
        let (vi, en) = if missing.len() == 1 {
            (
                format!("Mục {list} đã bị xóa"),
                format!("entry {list} deleted"),
            )
        } else {
            (
                format!("Các mục {list} đã bị xóa"),
                format!("entries {list} deleted"),
            )
        };
        out.push(Finding::new("deleted", vi, en));
    }
    for (s, c) in &duplicated {
        out.push(Finding::new(
            "duplicated",
            format!("Mục {s} xuất hiện {c} lần"),
            format!("entry {s} appears {c} times"),
        ));
    }
    if missing.is_empty() && duplicated.is_empty() {
        let displaced: Vec<String> = entries
            .iter()
            .enumerate()
            .filter(|(i, e)| e.seq != *i as u64)
            .map(|(_, e)| e.seq.to_string())
            .collect();
        let list = displaced.join(", ");
        out.push(Finding::new(
            "reordered",
            format!("Thứ tự bị đảo: mục {list} không ở đúng vị trí"),
            format!("entries reordered: {list} out of place"),
        ));
    }
    out
}

/// Replays a stored log against its signed heads and the log key: deleted, duplicated,
/// reordered, modified or unreadable entries, truncation, forged or inconsistent heads.
pub fn replay(raw: &RawLog, key: &SubjectPublicKeyInfoOwned) -> Replay {
    let mut findings = Vec::new();
    let mut entries = Vec::with_capacity(raw.entries.len());
    let mut texts = Vec::with_capacity(raw.entries.len());
    for (i, (position, text)) in raw.entries.iter().enumerate() {
        match serde_json::from_str::<Entry>(text) {
            Ok(e) => {
                if e.leaf_bytes() != text.as_bytes() {
                    findings.push(Finding::new(
                        "not_canonical",
                        format!(
                            "Mục {} đã bị sửa (văn bản lưu không còn ở dạng chuẩn)",
                            e.seq
                        ),
                        format!(
                            "entry {} modified (stored text is not its canonical form)",
                            e.seq
                        ),
                    ));
                }
                entries.push(e);
            }
            Err(err) => {
                findings.push(Finding::new(
                    "unreadable",
                    format!("Mục ở vị trí {position} không đọc được (JSON hỏng: {err})"),
                    format!("entry at position {position} unreadable (malformed JSON: {err})"),
                ));
                // A stand-in that hashes differently from any real entry, so the heads
                // covering it report the change too.
                entries.push(Entry {
                    seq: i as u64,
                    time: String::new(),
                    actor: String::new(),
                    action: "(unreadable)".into(),
                    object: String::new(),
                    outcome: Outcome::Failed,
                    details: BTreeMap::from([(
                        "stored_sha256".into(),
                        hex::encode(DigestAlgorithm::Sha256.digest(text.as_bytes())),
                    )]),
                });
            }
        }
        texts.push(text.clone());
    }
    let mut heads = Vec::with_capacity(raw.heads.len());
    for (i, text) in raw.heads.iter().enumerate() {
        match serde_json::from_str::<TreeHead>(text) {
            Ok(h) => heads.push(h),
            Err(err) => findings.push(Finding::new(
                "unreadable_head",
                format!("Đầu cây đã ký thứ {i} không đọc được ({err})"),
                format!("signed head {i} unreadable ({err})"),
            )),
        }
    }
    let structural = sequence_findings(&entries);
    let has_structural = !structural.is_empty();
    findings.extend(structural);

    let report = crate::audit(&entries, &heads, key);
    let mut modified: Option<(u64, u64)> = None;
    let mut later_modified = 0usize;
    let mut truncated: Option<(u64, u64)> = None;
    let mut truncated_heads = 0usize;
    for p in &report.problems {
        match p {
            // Reported from the sequence numbers above, more precisely.
            Problem::Deleted { .. } | Problem::Reordered { .. } => {
                if !has_structural {
                    findings.push(Finding::new(
                        "reordered",
                        "Số thứ tự các mục không liên tục".into(),
                        format!("sequence numbers broken: {p:?}"),
                    ));
                }
            }
            Problem::Truncated { head_size, entries } => {
                truncated_heads += 1;
                let t = truncated.get_or_insert((*head_size, *entries));
                t.0 = t.0.max(*head_size);
            }
            Problem::Modified { from, to } => {
                if modified.is_none() {
                    modified = Some((*from, *to));
                } else {
                    later_modified += 1;
                }
            }
            Problem::ForgedHead { head, reason } => {
                let size = heads.get(*head).map(|h| h.size).unwrap_or_default();
                findings.push(Finding::new(
                    "forged_head",
                    format!("Đầu cây đã ký thứ {head} (cỡ {size}) bị giả mạo: {reason}"),
                    format!("signed head {head} (size {size}) forged: {reason}"),
                ));
            }
            Problem::InconsistentHeads { head } => findings.push(Finding::new(
                "inconsistent_heads",
                format!("Đầu cây đã ký thứ {head} sai thứ tự (cỡ hoặc thời gian lùi lại)"),
                format!("signed head {head} out of order (size or time goes back)"),
            )),
        }
    }
    if let Some((from, to)) = modified {
        let note = (later_modified > 0).then(|| {
            (
                format!("{later_modified} đầu cây đã ký sau đó cũng không còn khớp"),
                format!("{later_modified} later signed heads no longer match either"),
            )
        });
        let (vi, en) = if has_structural {
            (
                format!("Đầu cây đã ký cỡ {to} không còn khớp các mục"),
                format!("signed head of size {to} no longer matches the entries"),
            )
        } else if to == from + 1 {
            (
                format!("Mục {from} đã bị sửa"),
                format!("entry {from} modified"),
            )
        } else {
            (
                format!("Một mục trong khoảng {from}–{} đã bị sửa", to - 1),
                format!("an entry in {from}–{} was modified", to - 1),
            )
        };
        findings.push(Finding {
            note,
            ..Finding::new("modified", vi, en)
        });
    }
    if let Some((head_size, present)) = truncated {
        findings.push(Finding::new(
            "truncated",
            format!(
                "Nhật ký bị cắt: đầu cây đã ký bao phủ {head_size} mục, chỉ còn {present} \
                 ({truncated_heads} đầu cây)"
            ),
            format!(
                "log truncated: a signed head covers {head_size} entries, only {present} \
                 present ({truncated_heads} heads)"
            ),
        ));
    }
    if findings.is_empty() && report.covered < report.entries {
        findings.push(Finding::new(
            "uncovered",
            format!(
                "Các mục {}–{} không có đầu cây đã ký nào bao phủ (được chèn không qua khóa nhật ký?)",
                report.covered,
                report.entries - 1
            ),
            format!(
                "entries {}–{} are covered by no signed head (inserted without the log key?)",
                report.covered,
                report.entries - 1
            ),
        ));
    }
    let leaves = entries.iter().map(Entry::leaf_hash).collect();
    Replay {
        entries,
        texts,
        leaves,
        heads,
        report,
        findings,
    }
}

/// A hash from its hex form.
pub fn parse_hash(hex_text: &str) -> Option<Hash> {
    hex::decode(hex_text).ok().and_then(|v| v.try_into().ok())
}

/// Checks that the log still extends `witness` (an earlier signed head kept elsewhere).
pub fn check_witness(
    name: &str,
    witness: &TreeHead,
    key: &SubjectPublicKeyInfoOwned,
    replay: &Replay,
) -> Result<(), Finding> {
    if let Err(e) = verify_tree_head(witness, key) {
        return Err(Finding::new(
            "witness_forged",
            format!("Nhân chứng {name}: chữ ký không hợp lệ với khóa nhật ký ({e})"),
            format!("witness {name}: signature invalid with the log key ({e})"),
        ));
    }
    let size = witness.size;
    let n = replay.leaves.len() as u64;
    if size > n {
        return Err(Finding::new(
            "witness_truncated",
            format!("Nhật ký bị cắt: nhân chứng {name} có {size} mục, nay chỉ còn {n}"),
            format!("log truncated: witness {name} covers {size} entries, only {n} present"),
        ));
    }
    let rewritten = || {
        Finding::new(
            "witness_rewritten",
            format!("Nhật ký bị viết lại: {size} mục đầu không còn khớp nhân chứng {name}"),
            format!("log rewritten: the first {size} entries no longer match witness {name}"),
        )
    };
    let old_root = parse_hash(&witness.root).ok_or_else(rewritten)?;
    if root(&replay.leaves[..size as usize]) != old_root {
        return Err(rewritten());
    }
    // The latest signed head must extend the witness too (RFC 9162 consistency proof).
    if let Some(latest) = replay.latest(key) {
        if latest.size < size {
            return Err(Finding::new(
                "witness_truncated",
                format!(
                    "Nhật ký bị cắt: đầu cây đã ký mới nhất có {} mục, nhân chứng {name} có {size}",
                    latest.size
                ),
                format!(
                    "log truncated: the latest signed head covers {} entries, witness {name} {size}",
                    latest.size
                ),
            ));
        }
        if latest.size <= n {
            let new_root = parse_hash(&latest.root).ok_or_else(rewritten)?;
            let proof = consistency_proof(&replay.leaves[..latest.size as usize], size)
                .map_err(|_| rewritten())?;
            if !verify_consistency(size, latest.size, &old_root, &new_root, &proof) {
                return Err(rewritten());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sign_tree_head;
    use kyso_signer::{KeyKind, Signer, SoftKey};

    fn entry(seq: u64) -> Entry {
        Entry {
            seq,
            time: "2026-12-07T00:00:00Z".into(),
            actor: "vanthu".into(),
            action: "number".into(),
            object: format!("document:{seq}"),
            outcome: Outcome::Succeeded,
            details: BTreeMap::new(),
        }
    }

    /// Five entries with one signed head over all of them.
    fn log(key: &SoftKey) -> RawLog {
        let entries: Vec<Entry> = (0..5).map(entry).collect();
        let leaves: Vec<Hash> = entries.iter().map(Entry::leaf_hash).collect();
        let head = sign_tree_head(key, 5, &root(&leaves), "2026-12-07T00:00:01Z").unwrap();
        RawLog {
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, e)| (i as u64, String::from_utf8(e.leaf_bytes()).unwrap()))
                .collect(),
            heads: vec![serde_json::to_string(&head).unwrap()],
        }
    }

    fn kinds(r: &Replay) -> Vec<&'static str> {
        r.findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn an_intact_log_has_no_findings_and_tampering_is_named() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let spki = key.public_key().clone();
        let intact = log(&key);
        assert!(replay(&intact, &spki).findings.is_empty());

        let mut deleted = intact.clone();
        deleted.entries.remove(2);
        let r = replay(&deleted, &spki);
        assert!(kinds(&r).contains(&"deleted"), "{:?}", r.findings);
        assert!(r.findings[0].vi.contains("Mục 2"), "{:?}", r.findings);

        let mut modified = intact.clone();
        modified.entries[3].1 = modified.entries[3].1.replace("vanthu", "lanhdao");
        assert!(kinds(&replay(&modified, &spki)).contains(&"modified"));

        let mut truncated = intact.clone();
        truncated.entries.truncate(3);
        assert!(kinds(&replay(&truncated, &spki)).contains(&"truncated"));

        let other = SoftKey::generate(KeyKind::P256).unwrap();
        assert!(kinds(&replay(&intact, other.public_key())).contains(&"forged_head"));
    }

    #[test]
    fn a_witness_must_still_be_extended() {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let spki = key.public_key().clone();
        let raw = log(&key);
        let full = replay(&raw, &spki);
        let leaves = &full.leaves[..3];
        let witness = sign_tree_head(&key, 3, &root(leaves), "2026-12-07T00:00:00Z").unwrap();
        assert!(check_witness("w", &witness, &spki, &full).is_ok());
        let mut rewritten = raw.clone();
        rewritten.entries[1].1 = rewritten.entries[1].1.replace("number", "sign");
        let r = replay(&rewritten, &spki);
        let err = check_witness("w", &witness, &spki, &r).unwrap_err();
        assert_eq!(err.kind, "witness_rewritten");
    }
}
