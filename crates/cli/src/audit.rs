//! `kyso audit …` and the recording of security events.
//!
//! Every security event is appended to the installation's tamper-evident log
//! (`kyso-audit`: a Merkle tree over the entries, RFC 9162 style) in the database, and
//! each append stores a tree head signed with the installation's **log key**,
//! `<data>/audit/log-key.pem` (P-256, unencrypted PKCS#8, mode 0600, created on first
//! use; its public half is `<data>/audit/log-key.pub.pem`). With PostgreSQL, every kyso
//! server writing to the same database must hold the same log key (copy the file).
//!
//! What this protects against: anyone who edits, deletes, reorders or truncates rows in
//! the database without the log key is detected by `kyso audit verify`. What it does not:
//! someone with root on the server holds the key too and can rewrite the log and re-sign
//! every head. The protection against that is an **external witness**: a signed head
//! printed by `kyso audit head` (or the `heads.jsonl` of an export) kept elsewhere — by
//! the inspector, on paper, in another agency's system. `kyso audit verify --witness
//! HEAD.json` then checks that the current log still extends that earlier head; a
//! rewrite or truncation behind the witness cannot be hidden, even with the key.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use der::{Decode, Encode};
use kyso_audit::{
    AuditReport, Entry, Hash, Outcome, Problem, TreeHead, consistency_proof, inclusion_proof, root,
    verify_consistency, verify_inclusion, verify_tree_head,
};
use kyso_signer::{DigestAlgorithm, Signer};
use kyso_store::{Archive, AuditDraft};
use serde_json::{Value, json};
use spki::SubjectPublicKeyInfoOwned;

use crate::store::write_atomic;

/// Print a line; a closed pipe becomes an error that `main` treats as success.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

use kyso_app::audit::{LOG_KEY, LOG_PUBLIC_KEY, audit_dir, public_key_pem, read_private_key};

/// The database of the log: per installation, not per agency.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// Database URL (postgres://…); default: SQLite in the data directory (kyso.db).
    #[arg(
        long,
        env = "KYSO_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
}

/// `kyso audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Replay the log against its signed tree heads and the log key; exit 1 when it is
    /// not intact. --witness checks it still extends an earlier head kept elsewhere;
    /// --export verifies an inspector's export offline.
    Verify(VerifyArgs),
    /// Print the latest signed tree head (JSON): keep it elsewhere as a witness.
    Head {
        #[command(flatten)]
        db: LogArgs,
    },
    /// List entries.
    List(ListArgs),
    /// Prove that an entry is in the log (--seq N), or that the log extends its earlier
    /// state of size M (--from-size M), against the latest signed head.
    Prove(ProveArgs),
    /// Export the log for an inspector: entries.jsonl, heads.jsonl, log-key.pub.pem,
    /// README.txt; verifiable with `kyso audit verify --export DIR`, no database needed.
    Export {
        #[command(flatten)]
        db: LogArgs,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Note a manual event in the log (operators; tests).
    #[command(hide = true)]
    Append(AppendArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) db: LogArgs,
    /// An earlier signed head (JSON from `kyso audit head`) the log must still extend.
    /// Repeatable.
    #[arg(long = "witness", value_name = "HEAD.json")]
    pub(crate) witnesses: Vec<PathBuf>,
    /// Verify an export directory instead of the database.
    #[arg(long, value_name = "DIR")]
    pub(crate) export: Option<PathBuf>,
    /// The log's public key (PEM) to verify with, instead of the installation's or the
    /// export's own copy.
    #[arg(long, value_name = "PEM")]
    pub(crate) key: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub(crate) db: LogArgs,
    /// First sequence number.
    #[arg(long, default_value_t = 0)]
    pub(crate) from: u64,
    /// At most this many entries.
    #[arg(long)]
    pub(crate) limit: Option<u64>,
    /// JSON (an array of entries).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    #[command(flatten)]
    pub(crate) db: LogArgs,
    /// Inclusion proof of this entry.
    #[arg(
        long,
        conflicts_with = "from_size",
        required_unless_present = "from_size"
    )]
    pub(crate) seq: Option<u64>,
    /// Consistency proof from the log's state at this size.
    #[arg(long, value_name = "M")]
    pub(crate) from_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutcomeArg {
    Succeeded,
    Refused,
    Failed,
}

#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    #[command(flatten)]
    pub(crate) db: LogArgs,
    /// Who.
    #[arg(long)]
    pub(crate) actor: String,
    /// What.
    #[arg(long)]
    pub(crate) action: String,
    /// On what.
    #[arg(long)]
    pub(crate) object: String,
    /// Result.
    #[arg(long, value_enum)]
    pub(crate) outcome: OutcomeArg,
    /// A further fact, KEY=VALUE. Repeatable.
    #[arg(long = "detail", value_name = "KEY=VALUE")]
    pub(crate) details: Vec<String>,
}

fn read_public_key(path: &Path) -> Result<SubjectPublicKeyInfoOwned> {
    let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (label, der) = der::pem::decode_vec(&text)
        .map_err(|_| anyhow!("{} is not a PEM public key", path.display()))?;
    if label != "PUBLIC KEY" {
        bail!(
            "{} is not a PEM public key (SubjectPublicKeyInfo)",
            path.display()
        );
    }
    SubjectPublicKeyInfoOwned::from_der(&der)
        .map_err(|e| anyhow!("{}: malformed public key: {e}", path.display()))
}

/// The log's public key of an installation, if it has one.
fn installation_public_key(data: &Path) -> Result<Option<SubjectPublicKeyInfoOwned>> {
    let dir = audit_dir(data);
    let public = dir.join(LOG_PUBLIC_KEY);
    if public.exists() {
        return read_public_key(&public).map(Some);
    }
    let private = dir.join(LOG_KEY);
    if private.exists() {
        return Ok(Some(read_private_key(&private)?.public_key().clone()));
    }
    Ok(None)
}

fn fingerprint(key: &SubjectPublicKeyInfoOwned) -> String {
    key.to_der()
        .map(|der| hex::encode(DigestAlgorithm::Sha256.digest(&der)))
        .unwrap_or_default()
}

// ----------------------------------------------------------------------------------
// Replay
// ----------------------------------------------------------------------------------

/// A log as read: each entry's stored text (with its position) and each head's.
struct RawLog {
    entries: Vec<(u64, String)>,
    heads: Vec<String>,
}

/// Something wrong, in both languages.
#[derive(Debug, Clone, serde::Serialize)]
struct Finding {
    kind: &'static str,
    vi: String,
    en: String,
    /// A consequence worth knowing, in both languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<(String, String)>,
}

impl Finding {
    fn new(kind: &'static str, vi: String, en: String) -> Self {
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

struct Replay {
    entries: Vec<Entry>,
    texts: Vec<String>,
    leaves: Vec<Hash>,
    heads: Vec<TreeHead>,
    report: AuditReport,
    findings: Vec<Finding>,
}

impl Replay {
    /// The latest head whose signature verifies.
    fn latest(&self, key: &SubjectPublicKeyInfoOwned) -> Option<&TreeHead> {
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

fn replay(raw: &RawLog, key: &SubjectPublicKeyInfoOwned) -> Replay {
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

    let report = kyso_audit::audit(&entries, &heads, key);
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
            other => findings.push(Finding::new(
                "other",
                "Vấn đề khác".into(),
                format!("{other:?}"),
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

fn parse_hash(hex_text: &str) -> Option<Hash> {
    hex::decode(hex_text).ok().and_then(|v| v.try_into().ok())
}

/// Checks that the log still extends `witness`.
fn check_witness(
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

fn read_witness(path: &Path) -> Result<TreeHead> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(text.trim())
        .with_context(|| format!("{} is not a signed tree head (JSON)", path.display()))
}

// ----------------------------------------------------------------------------------
// Commands
// ----------------------------------------------------------------------------------

struct Db {
    rt: tokio::runtime::Runtime,
    archive: Archive,
}

impl Db {
    fn open(data: &Path, args: &LogArgs) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let archive = rt
            .block_on(Archive::open_data_dir(data, args.database_url.as_deref()))
            .with_context(|| format!("cannot open the database of {}", data.display()))?;
        Ok(Self { rt, archive })
    }

    fn raw(&self) -> Result<RawLog> {
        let rows = self.rt.block_on(self.archive.audit_rows(0, None))?;
        let heads = self.rt.block_on(self.archive.audit_head_rows())?;
        Ok(RawLog {
            entries: rows.into_iter().map(|r| (r.position, r.json)).collect(),
            heads: heads.into_iter().map(|h| h.json).collect(),
        })
    }
}

const ENTRIES_FILE: &str = "entries.jsonl";
const HEADS_FILE: &str = "heads.jsonl";

fn jsonl(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(str::to_string).collect()
}

fn read_export(dir: &Path) -> Result<RawLog> {
    let read = |name: &str| {
        let path = dir.join(name);
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok(RawLog {
        entries: jsonl(&read(ENTRIES_FILE)?)
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i as u64, t))
            .collect(),
        heads: jsonl(&read(HEADS_FILE)?)
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect(),
    })
}

fn verify(data: &Path, a: &VerifyArgs) -> Result<bool> {
    let (raw, key) = match &a.export {
        Some(dir) => {
            let raw = read_export(dir)?;
            let key = match &a.key {
                Some(p) => read_public_key(p)?,
                None => read_public_key(&dir.join(LOG_PUBLIC_KEY))?,
            };
            (raw, key)
        }
        None => {
            let db = Db::open(data, &a.db)?;
            let raw = db.raw()?;
            db.rt.block_on(db.archive.close());
            let key = match &a.key {
                Some(p) => Some(read_public_key(p)?),
                None => installation_public_key(data)?,
            };
            let key = match key {
                Some(k) => k,
                None if raw.entries.is_empty() && raw.heads.is_empty() => {
                    if a.json {
                        out!(
                            "{}",
                            serde_json::to_string_pretty(&json!({
                                "intact": true, "entries": 0, "heads": 0,
                                "problems": [], "findings": [],
                            }))?
                        );
                    } else {
                        out!("Nhật ký kiểm toán trống / audit log empty: 0 entries");
                    }
                    return Ok(a.witnesses.is_empty());
                }
                None => bail!(
                    "không có khóa nhật ký / no log key in {} (log-key.pub.pem); use --key",
                    audit_dir(data).display()
                ),
            };
            (raw, key)
        }
    };
    let replay = replay(&raw, &key);
    let mut findings = replay.findings.clone();
    let mut witnesses = Vec::new();
    for path in &a.witnesses {
        let witness = read_witness(path)?;
        let name = path.display().to_string();
        let result = check_witness(&name, &witness, &key, &replay);
        witnesses.push(json!({
            "file": name,
            "size": witness.size,
            "root": witness.root,
            "consistent": result.is_ok(),
        }));
        if let Err(f) = result {
            findings.push(f);
        }
    }
    let intact = findings.is_empty();
    let r = &replay.report;
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "intact": intact,
                "entries": r.entries,
                "heads": r.heads,
                "covered": r.covered,
                "root": r.root,
                "key": fingerprint(&key),
                "problems": r.problems,
                "findings": findings,
                "witnesses": witnesses,
            }))?
        );
        return Ok(intact);
    }
    if intact {
        out!(
            "Nhật ký kiểm toán nguyên vẹn / audit log intact: {} entries, root {}",
            r.entries,
            r.root
        );
        out!(
            "{} đầu cây đã ký / signed heads; khóa nhật ký / log key SHA-256 {}",
            r.heads,
            fingerprint(&key)
        );
        for w in &witnesses {
            out!(
                "Nhân chứng / witness {}: nhất quán / consistent ({} entries)",
                w["file"].as_str().unwrap_or_default(),
                w["size"]
            );
        }
    } else {
        for f in &findings {
            out!("✗ {f}");
        }
        out!(
            "Nhật ký kiểm toán KHÔNG nguyên vẹn / audit log NOT intact: {} vấn đề / problems \
             ({} entries, root {})",
            findings.len(),
            r.entries,
            r.root
        );
    }
    Ok(intact)
}

fn latest_head_text(db: &Db) -> Result<String> {
    let heads = db.rt.block_on(db.archive.audit_head_rows())?;
    let last = heads
        .last()
        .ok_or_else(|| anyhow!("nhật ký kiểm toán trống / the audit log is empty"))?;
    Ok(last.json.clone())
}

fn prove(data: &Path, a: &ProveArgs) -> Result<()> {
    let db = Db::open(data, &a.db)?;
    let raw = db.raw()?;
    let key = installation_public_key(data)?
        .ok_or_else(|| anyhow!("không có khóa nhật ký / no log key"))?;
    let replay = replay(&raw, &key);
    let head = replay
        .latest(&key)
        .ok_or_else(|| anyhow!("không có đầu cây đã ký hợp lệ / no valid signed head"))?
        .clone();
    let changed = || {
        anyhow!(
            "nhật ký không khớp đầu cây đã ký mới nhất / the log does not match its latest \
             signed head: run kyso audit verify"
        )
    };
    if head.size > replay.leaves.len() as u64 {
        return Err(changed());
    }
    let leaves = &replay.leaves[..head.size as usize];
    let tree_root = parse_hash(&head.root).ok_or_else(changed)?;
    let hexes = |v: &[Hash]| v.iter().map(hex::encode).collect::<Vec<_>>();
    let value = match (a.seq, a.from_size) {
        (Some(seq), _) => {
            let index = replay
                .entries
                .iter()
                .position(|e| e.seq == seq)
                .ok_or_else(|| anyhow!("không có mục / no entry {seq}"))?;
            if index as u64 >= head.size {
                bail!("mục {seq} chưa có đầu cây đã ký / entry {seq} not covered by a signed head");
            }
            let path = inclusion_proof(leaves, index as u64)?;
            if !verify_inclusion(&leaves[index], index as u64, head.size, &path, &tree_root) {
                return Err(changed());
            }
            json!({
                "seq": seq,
                "entry_json": replay.texts[index],
                "leaf_hash": hex::encode(leaves[index]),
                "index": index,
                "tree_size": head.size,
                "root": head.root,
                "audit_path": hexes(&path),
                "head": head,
            })
        }
        (None, Some(m)) => {
            if m > head.size {
                bail!(
                    "cỡ {m} lớn hơn đầu cây mới nhất / size {m} exceeds the latest head ({})",
                    head.size
                );
            }
            let proof = consistency_proof(leaves, m)?;
            let old_root = root(&leaves[..m as usize]);
            if !verify_consistency(m, head.size, &old_root, &tree_root, &proof) {
                return Err(changed());
            }
            json!({
                "old_size": m,
                "old_root": hex::encode(old_root),
                "new_size": head.size,
                "new_root": head.root,
                "proof": hexes(&proof),
                "head": head,
            })
        }
        (None, None) => bail!("--seq or --from-size"),
    };
    out!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

const README: &str = "\
Nhật ký kiểm toán kyso — bản xuất cho thanh tra / kyso audit log — inspector export
==================================================================================

Files
-----
entries.jsonl    One line per log entry, in log order: the exact JSON text that was
                 hashed into the Merkle tree (leaf hash = SHA-256(0x00 || line bytes),
                 RFC 9162). Fields: seq, time, actor, action, object, outcome, details.
heads.jsonl      One line per signed tree head, smallest size first: size (entries
                 covered), root (Merkle tree hash, hex), time, key (SHA-256 of the log
                 key's SubjectPublicKeyInfo), algorithm (DER AlgorithmIdentifier, hex),
                 signature (hex) over \"kyso-audit-tree-head-v1\\n\" || size (8 bytes,
                 big-endian) || root (32 bytes) || time (UTF-8).
log-key.pub.pem  The installation's log public key (SubjectPublicKeyInfo, PEM).
README.txt       This file.

How to verify
-------------
    kyso audit verify --export THIS_DIRECTORY [--witness HEAD.json]... [--json]

No kyso database is needed. The check replays every entry, recomputes the Merkle root
at every signed head and verifies each head's signature: an entry edited, deleted,
reordered or inserted, a head forged or the log cut short behind a head is reported,
and the command exits with status 1.

Compare the printed log key fingerprint with one obtained independently of this
export (or pass --key FILE): whoever controls the server controls its key, and could
re-sign a rewritten log. The defence is a witness: a signed head (a line of an earlier
heads.jsonl, or the output of `kyso audit head`) kept outside the agency. Give it with
--witness; the log must still extend it (same first entries, consistency proof).
";

fn export(data: &Path, db_args: &LogArgs, out: &Path) -> Result<()> {
    let db = Db::open(data, db_args)?;
    let raw = db.raw()?;
    let key = installation_public_key(data)?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut entries = String::new();
    for (_, text) in &raw.entries {
        entries.push_str(text);
        entries.push('\n');
    }
    let mut heads = String::new();
    for text in &raw.heads {
        heads.push_str(text);
        heads.push('\n');
    }
    write_atomic(&out.join(ENTRIES_FILE), entries.as_bytes(), false)?;
    write_atomic(&out.join(HEADS_FILE), heads.as_bytes(), false)?;
    if let Some(key) = &key {
        write_atomic(
            &out.join(LOG_PUBLIC_KEY),
            public_key_pem(key)?.as_bytes(),
            false,
        )?;
    }
    write_atomic(&out.join("README.txt"), README.as_bytes(), false)?;
    out!(
        "Đã xuất / exported: {} entries, {} signed heads → {}",
        raw.entries.len(),
        raw.heads.len(),
        out.display()
    );
    if let Some(key) = &key {
        out!(
            "Khóa nhật ký / log key SHA-256 {} (gửi riêng cho thanh tra / give it to the \
             inspector separately)",
            fingerprint(key)
        );
    }
    Ok(())
}

fn list(data: &Path, a: &ListArgs) -> Result<()> {
    let db = Db::open(data, &a.db)?;
    let rows = db.rt.block_on(db.archive.audit_rows(a.from, a.limit))?;
    if a.json {
        let values: Vec<Value> = rows
            .iter()
            .map(|r| match r.entry() {
                Ok(e) => serde_json::to_value(e).unwrap_or(Value::Null),
                Err(err) => json!({
                    "position": r.position,
                    "unreadable": err.to_string(),
                    "stored": r.json,
                }),
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    for r in &rows {
        match r.entry() {
            Ok(e) => {
                let outcome = match e.outcome {
                    Outcome::Succeeded => "succeeded",
                    Outcome::Refused => "refused",
                    Outcome::Failed => "failed",
                };
                let details: Vec<String> =
                    e.details.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    e.seq,
                    e.time,
                    e.actor,
                    e.action,
                    e.object,
                    outcome,
                    details.join(" ")
                );
            }
            Err(_) => out!("{}\t(không đọc được / unreadable)\t{}", r.position, r.json),
        }
    }
    Ok(())
}

fn append(data: &Path, a: &AppendArgs) -> Result<()> {
    let mut details = Vec::new();
    for d in &a.details {
        let (k, v) = d
            .split_once('=')
            .ok_or_else(|| anyhow!("--detail {d:?}: KEY=VALUE expected"))?;
        details.push((k.to_string(), v.to_string()));
    }
    // A manual note is marked as such, with who typed it, so it cannot pass for an
    // event kyso recorded itself.
    details.push(("source".into(), "manual".into()));
    details.push(("recorded_by".into(), kyso_app::actor::os_user()));
    // The one place where a person names the action: a manual entry, not a typed event.
    let draft = AuditDraft {
        actor: a.actor.clone(),
        action: a.action.clone(),
        object: a.object.clone(),
        outcome: match a.outcome {
            OutcomeArg::Succeeded => Outcome::Succeeded,
            OutcomeArg::Refused => Outcome::Refused,
            OutcomeArg::Failed => Outcome::Failed,
        },
        details: details.into_iter().collect(),
    };
    let db = Db::open(data, &a.db)?;
    let key = kyso_app::audit::log_key(data)?;
    let (entry, _head) = db
        .rt
        .block_on(db.archive.audit_append(draft, &key))
        .context("không ghi được nhật ký kiểm toán / cannot append to the audit log")?;
    db.rt.block_on(db.archive.close());
    out!("Đã ghi mục / recorded entry {}", entry.seq);
    Ok(())
}

/// Run `kyso audit …`; `Ok(false)` when the log is not intact.
pub(crate) fn audit_command(data: &Path, command: AuditCommand) -> Result<bool> {
    match command {
        AuditCommand::Verify(a) => verify(data, &a),
        AuditCommand::Head { db } => {
            let db = Db::open(data, &db)?;
            out!("{}", latest_head_text(&db)?);
            Ok(true)
        }
        AuditCommand::List(a) => list(data, &a).map(|()| true),
        AuditCommand::Prove(a) => prove(data, &a).map(|()| true),
        AuditCommand::Export { db, out } => export(data, &db, &out).map(|()| true),
        AuditCommand::Append(a) => append(data, &a).map(|()| true),
    }
}
