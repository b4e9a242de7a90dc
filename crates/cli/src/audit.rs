//! `kyso audit …` and the recording of security events.
//!
//! Every security event is appended to the installation's tamper-evident log
//! (`kyso-audit`: a Merkle tree over the entries, RFC 9162 style) in the database, and
//! each append stores a tree head signed with the installation's **log key**,
//! `<data>/audit/log-key.pem` (P-256 PKCS#8, mode 0600, created on first use; its
//! public half is `<data>/audit/log-key.pub.pem`). With PostgreSQL, every kyso server
//! writing to the same database must hold the same log key (copy the file).
//!
//! The key is protected by its file permissions, and optionally by a passphrase (kyso's
//! keystore format, scrypt): `KYSO_AUDIT_KEY_PASSPHRASE`, or a file named by
//! `KYSO_AUDIT_KEY_PASSPHRASE_FILE` (a systemd credential), set for every kyso process
//! of the installation. `kyso audit protect-key` encrypts an existing plain key; a key
//! created while a passphrase is set is encrypted from the start (kyso_app::audit).
//!
//! What this protects against: anyone who edits, deletes, reorders or truncates rows in
//! the database without the log key is detected by `kyso audit verify`. What it does not:
//! someone with root on the server holds the key too and can rewrite the log and re-sign
//! every head. The protection against that is an **external witness**: a signed head
//! printed by `kyso audit head` (or the `heads.jsonl` of an export) kept elsewhere — by
//! the inspector, on paper, in another agency's system. `kyso audit verify --witness
//! HEAD.json` then checks that the current log still extends that earlier head; a
//! rewrite or truncation behind the witness cannot be hidden, even with the key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use der::{Decode, Encode};
use kyso_audit::replay::{RawLog, check_witness, parse_hash, replay};
use kyso_audit::{
    Hash, Outcome, TreeHead, consistency_proof, inclusion_proof, root, verify_consistency,
    verify_inclusion,
};
use kyso_signer::DigestAlgorithm;
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

use kyso_app::audit::{LOG_PUBLIC_KEY, audit_dir, public_key_pem};

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
    /// Encrypt the log key with a passphrase (kyso's keystore format, scrypt), in place:
    /// from KYSO_AUDIT_KEY_PASSPHRASE, the file named by KYSO_AUDIT_KEY_PASSPHRASE_FILE,
    /// else asked twice on the terminal. Afterwards every kyso process of the
    /// installation needs one of those variables set to record events.
    ProtectKey,
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
    Ok(kyso_app::audit::installation_public_key(data)?)
}

fn fingerprint(key: &SubjectPublicKeyInfoOwned) -> String {
    key.to_der()
        .map(|der| hex::encode(DigestAlgorithm::Sha256.digest(&der)))
        .unwrap_or_default()
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
        let (rt, archive) = crate::office::Ctx::open_archive(data, args.database_url.as_deref())?;
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
        AuditCommand::ProtectKey => protect_key(data).map(|()| true),
    }
}

/// `kyso audit protect-key`.
fn protect_key(data: &Path) -> Result<()> {
    use kyso_app::audit::{PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, Protected};
    let passphrase = match kyso_app::audit::configured_passphrase()? {
        Some(p) => p,
        None => {
            let first = zeroize::Zeroizing::new(
                rpassword::prompt_password(
                    "Mật khẩu mới cho khóa nhật ký kiểm toán / new audit log key passphrase: ",
                )
                .with_context(|| {
                    format!(
                        "chưa đặt {PASSPHRASE_ENV} hoặc {PASSPHRASE_FILE_ENV} và không có terminal để hỏi mật khẩu / no {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV} set and no terminal to ask for the passphrase"
                    )
                })?,
            );
            let again = zeroize::Zeroizing::new(rpassword::prompt_password("Nhập lại / again: ")?);
            if first != again {
                bail!("hai lần nhập mật khẩu khác nhau / the passphrases differ");
            }
            first
        }
    };
    let done = kyso_app::audit::protect_log_key(data, &passphrase)?;
    let path = audit_dir(data).join(kyso_app::audit::LOG_KEY);
    match done {
        Protected::Encrypted => out!(
            "Đã mã hóa khóa nhật ký / log key encrypted: {}",
            path.display()
        ),
        Protected::Created => out!(
            "Đã tạo khóa nhật ký đã mã hóa / encrypted log key created: {}",
            path.display()
        ),
    }
    out!(
        "Từ nay mọi tiến trình kyso của cài đặt này cần {PASSPHRASE_ENV} hoặc {PASSPHRASE_FILE_ENV} để ghi nhật ký / from now on every kyso process of this installation needs {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV} to record events"
    );
    Ok(())
}
