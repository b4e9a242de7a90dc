//! The archive tree on disk: staging, moving originals into place, sidecar files,
//! recovery after a crash, and the consistency check.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kyso_office::{DocumentRecord, Original, StoreError, StoredFile, original_name};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Archive, backend_error, io_error};

/// Staging directory under the archive root; never holds documents.
pub(crate) const STAGING: &str = ".staging";
/// Staged files of a dead process are swept after this long even where liveness of
/// the process cannot be told.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub(crate) struct StagedFile {
    pub(crate) staging_name: String,
    pub(crate) stored: StoredFile,
}

/// An original (and its detached signature) written and synced under
/// `archive/.staging/`, ready to become a document. Dropped without being stored, it
/// deletes its files.
#[derive(Debug)]
pub struct Staged {
    pub(crate) dir: PathBuf,
    pub(crate) document: StagedFile,
    pub(crate) signature: Option<StagedFile>,
    pub(crate) source_name: String,
    pub(crate) verification: Option<Value>,
    pub(crate) material: Option<String>,
    pub(crate) consumed: bool,
}

impl Staged {
    /// The hashes and names the document will have.
    pub fn original(&self) -> Original {
        Original {
            document: self.document.stored.clone(),
            signature: self.signature.as_ref().map(|s| s.stored.clone()),
            source_name: self.source_name.clone(),
        }
    }

    /// SHA-256 (hex) of the original.
    pub fn sha256(&self) -> &str {
        &self.document.stored.sha256
    }

    /// The verification report kept with the document.
    pub fn verification(&self) -> Option<&Value> {
        self.verification.as_ref()
    }

    /// Adds `key: value` to the verification report kept with the document (e.g. what
    /// the receiver found about the sender's certificates), before it is stored.
    pub fn annotate(&mut self, key: &str, value: Value) {
        if let Some(Value::Object(map)) = self.verification.as_mut() {
            map.insert(key.to_string(), value);
        }
    }

    /// Keeps `material` (the captured validation material, `material.json`, see
    /// docs/evidence.md) with the document, byte-exact; the document then waits for its
    /// evidence record.
    pub fn set_material(&mut self, material: String) {
        self.material = Some(material);
    }

    /// The captured validation material, when set.
    pub fn material(&self) -> Option<&str> {
        self.material.as_deref()
    }

    pub(crate) fn verification_json(&self) -> Option<String> {
        self.verification.as_ref().map(Value::to_string)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.consumed {
            for f in std::iter::once(&self.document).chain(self.signature.as_ref()) {
                let _ = fs::remove_file(self.dir.join(&f.staging_name));
            }
        }
    }
}

/// What [`Archive::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Documents whose files were completed.
    pub completed: Vec<i64>,
    /// Staged files of dead processes removed.
    pub swept: usize,
    /// Documents that could not be completed (their staged original is gone).
    pub failed: Vec<(i64, String)>,
}

fn random_hex() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

fn sync_dir(dir: &Path) {
    // Directory fsync makes the rename durable; not every platform allows it.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Every file and folder under the data directory `data` (itself included) that group or
/// others may read, write or enter, as one bilingual problem line each with its path:
/// kyso's data is for the account running it (folders 0700, files 0600). Symbolic links
/// are reported, never followed. Empty on platforms without Unix modes.
pub fn check_permissions(data: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut pending = vec![data.to_path_buf()];
        while let Some(path) = pending.pop() {
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(format!(
                        "không đọc được / cannot inspect {}: {e}",
                        path.display()
                    ));
                    continue;
                }
            };
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                let wanted = if meta.is_dir() { "0700" } else { "0600" };
                problems.push(format!(
                    "{}: quyền {mode:04o} cho nhóm/người khác truy cập, cần {wanted} / mode {mode:04o} lets group/others access it, should be {wanted}",
                    path.display()
                ));
            }
            if meta.is_dir() {
                match fs::read_dir(&path) {
                    Ok(entries) => pending.extend(entries.flatten().map(|e| e.path())),
                    Err(e) => problems.push(format!(
                        "không đọc được / cannot list {}: {e}",
                        path.display()
                    )),
                }
            }
        }
        problems.sort();
    }
    #[cfg(not(unix))]
    let _ = data;
    problems
}

/// Copies `source` into `dir/name`, hashing on the way, and syncs it.
/// What [`Archive::stage`] copies: a file, or bytes in memory with their SHA-256 (hex)
/// when the caller has it.
enum Source {
    File(PathBuf),
    Bytes(std::sync::Arc<[u8]>, Option<String>),
}

impl Source {
    /// Written as `dir/name` (new, 0600) and synced; its SHA-256 and size.
    fn write_synced(&self, dir: &Path, name: &str) -> Result<StoredFile, StoreError> {
        let (bytes, sha256) = match self {
            Source::File(path) => return copy_synced(path, dir, name),
            Source::Bytes(bytes, sha256) => (bytes, sha256),
        };
        let target = dir.join(name);
        let mut output =
            new_private_file(&target).map_err(|e| io_error("cannot write", &target, e))?;
        output
            .write_all(bytes)
            .and_then(|()| output.sync_all())
            .map_err(|e| io_error("cannot write", &target, e))?;
        Ok(StoredFile {
            name: String::new(),
            sha256: sha256
                .clone()
                .unwrap_or_else(|| hex::encode(Sha256::digest(bytes))),
            size: bytes.len() as u64,
        })
    }
}

/// A new file (never an existing one) readable by kyso alone.
fn new_private_file(target: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    // An archived original is for kyso alone (not the source file's mode, as fs::copy).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(target)
}

fn copy_synced(source: &Path, dir: &Path, name: &str) -> Result<StoredFile, StoreError> {
    let mut input = fs::File::open(source).map_err(|e| io_error("cannot read", source, e))?;
    let target = dir.join(name);
    let mut output = new_private_file(&target).map_err(|e| io_error("cannot write", &target, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = input
            .read(&mut buffer)
            .map_err(|e| io_error("cannot read", source, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        output
            .write_all(&buffer[..n])
            .map_err(|e| io_error("cannot write", &target, e))?;
        size += n as u64;
    }
    output
        .sync_all()
        .map_err(|e| io_error("cannot sync", &target, e))?;
    Ok(StoredFile {
        name: String::new(),
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// SHA-256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64), StoreError> {
    let mut input = fs::File::open(path).map_err(|e| io_error("cannot read", path, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = input
            .read(&mut buffer)
            .map_err(|e| io_error("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Writes an output file a person named (`--out PATH`) like [`write_atomic`], but never
/// creates folders: a missing folder is refused (a typing mistake must not leave a new
/// directory tree behind), and so is a folder at `path` itself. The error says why in
/// Vietnamese, then English.
pub fn write_out(path: &Path, bytes: &[u8], private: bool) -> Result<(), StoreError> {
    check_out(path)?;
    write_atomic(path, bytes, private)
}

/// What [`write_out`] checks before writing, for a caller that wants to refuse a bad
/// `--out` before doing the work (signing, say).
pub fn check_out(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(StoreError::Io(format!(
            "thư mục {} không tồn tại (kyso không tự tạo thư mục cho --out) / folder {} does not exist (kyso does not create folders for --out)",
            dir.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(StoreError::Io(format!(
            "{} là một thư mục, không phải tệp / {} is a folder, not a file",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a hidden temporary file in the same folder
/// (mode 0600 when `private`, else 0644), fsync, rename, then the folder is synced so
/// the rename survives a power cut. The folder is created if missing.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        random_hex()
    ));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if private { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts
            .open(&tmp)
            .map_err(|e| io_error("cannot write", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| io_error("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| io_error("cannot sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| io_error("cannot move into place", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        sync_dir(dir);
    }
    result
}

/// The metadata.json of a record: the ND30 App. VI fields at the top level, kyso's own
/// under `Kyso`.
pub fn metadata_json(record: &DocumentRecord) -> Value {
    let mut value = serde_json::to_value(&record.metadata).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert(
            "Kyso".into(),
            json!({
                "Id": record.id,
                "Direction": record.direction,
                "DocumentType": record.document_type,
                "Secrecy": record.secrecy,
                "Urgency": record.urgency,
                "Electronic": record.electronic,
                "State": record.state.key(),
                "Series": record.series,
                "SeriesNumber": record.series_number,
                "Original": record.original,
                "CreatedAt": record.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
            }),
        );
    }
    value
}

/// Removes `.NAME.tmp-<pid>-…` files of [`write_atomic`] left by dead processes.
fn remove_dead_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((_, rest)) = name.split_once(".tmp-") else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if name.starts_with('.')
            && pid.is_some_and(|p| p != std::process::id() && pid_is_dead(p).unwrap_or(false))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn pid_is_dead(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.is_dir().then(|| !proc.join(pid.to_string()).exists())
}

impl Archive {
    fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING)
    }

    /// Copies an original (and its detached signature) into the staging area and syncs
    /// it, hashing on the way. `verification` is kept with the document as
    /// `verification.json`. Never modifies the source.
    pub async fn stage(
        &self,
        document: &Path,
        signature: Option<&Path>,
        verification: Option<Value>,
    ) -> Result<Staged, StoreError> {
        let source_name = document
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.stage_from(
            source_name,
            Source::File(document.to_path_buf()),
            signature.map(|s| Source::File(s.to_path_buf())),
            verification,
        )
        .await
    }

    /// [`Archive::stage`] for an original held in memory (a package's attachment): its
    /// bytes written straight into the staging area, no copy in between. `sha256` is
    /// the SHA-256 (hex) the caller computed over `document` (a wrong one is reported by
    /// [`Archive::check`]); `source_name` is the original's file name.
    pub async fn stage_bytes(
        &self,
        source_name: &str,
        document: std::sync::Arc<[u8]>,
        sha256: String,
        signature: Option<std::sync::Arc<[u8]>>,
        verification: Option<Value>,
    ) -> Result<Staged, StoreError> {
        self.stage_from(
            source_name.to_string(),
            Source::Bytes(document, Some(sha256)),
            signature.map(|s| Source::Bytes(s, None)),
            verification,
        )
        .await
    }

    async fn stage_from(
        &self,
        source_name: String,
        document: Source,
        signature: Option<Source>,
        verification: Option<Value>,
    ) -> Result<Staged, StoreError> {
        let dir = self.staging_dir();
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, e))?;
            let token = format!("{}.{}", std::process::id(), random_hex());
            let mut staged = Staged {
                dir: dir.clone(),
                document: StagedFile {
                    staging_name: format!("{token}.document"),
                    stored: StoredFile {
                        name: original_name(&source_name),
                        sha256: String::new(),
                        size: 0,
                    },
                },
                signature: None,
                source_name,
                verification,
                material: None,
                // Nothing to clean up until the first file exists.
                consumed: true,
            };
            let written = document.write_synced(&dir, &staged.document.staging_name)?;
            staged.consumed = false;
            staged.document.stored.sha256 = written.sha256;
            staged.document.stored.size = written.size;
            if let Some(sig) = &signature {
                let staging_name = format!("{token}.signature");
                let written = sig.write_synced(&dir, &staging_name);
                staged.signature = Some(StagedFile {
                    staging_name,
                    stored: StoredFile {
                        name: format!("{}.p7s", staged.document.stored.name),
                        ..written?
                    },
                });
            }
            sync_dir(&dir);
            Ok(staged)
        })
        .await
        .map_err(|e| StoreError::Io(format!("staging task: {e}")))?
    }

    /// The path of a stored document's original.
    pub fn original_path(&self, record: &DocumentRecord) -> Option<PathBuf> {
        let dir = record.archive_dir.as_ref()?;
        let name = &record.original.as_ref()?.document.name;
        Some(self.root.join(dir).join(name))
    }

    /// The verification report kept with a document.
    pub async fn verification(&self, id: i64) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query("SELECT verification_json FROM document WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        let text: Option<String> = match row {
            Some(row) => row.try_get(0).map_err(backend_error)?,
            None => None,
        };
        text.map(|t: String| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    /// Brings the files of a pending document into place (idempotent; safe to run from
    /// two processes at once): staged files renamed into the folder, metadata.json and
    /// verification.json rewritten from the database, then the row marked `done`.
    pub(crate) async fn finalize(&self, id: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT sync_state, archive_dir, staging_document, staging_signature, record_json, verification_json, \
             material_json FROM document WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else { return Ok(false) };
        let state: String = row.try_get(0).map_err(backend_error)?;
        if state != "pending" {
            return Ok(false);
        }
        let archive_dir: Option<String> = row.try_get(1).map_err(backend_error)?;
        let staging_document: Option<String> = row.try_get(2).map_err(backend_error)?;
        let staging_signature: Option<String> = row.try_get(3).map_err(backend_error)?;
        let record_json: String = row.try_get(4).map_err(backend_error)?;
        let verification: Option<String> = row.try_get(5).map_err(backend_error)?;
        let material: Option<String> = row.try_get(6).map_err(backend_error)?;
        let mut record: DocumentRecord = serde_json::from_str(&record_json)
            .map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))?;
        record.id = Some(id);
        let root = self.root.clone();
        let staging = self.staging_dir();
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let Some(rel) = archive_dir else {
                return Ok(());
            };
            let dir = root.join(&rel);
            fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, e))?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent);
            }
            remove_dead_temporaries(&dir);
            let original = record.original.clone();
            let pairs = [
                (
                    staging_document,
                    original.as_ref().map(|o| o.document.clone()),
                ),
                (
                    staging_signature,
                    original.as_ref().and_then(|o| o.signature.clone()),
                ),
            ];
            for (staged_name, stored) in pairs {
                let (Some(staged_name), Some(stored)) = (staged_name, stored) else {
                    continue;
                };
                let from = staging.join(&staged_name);
                let to = dir.join(&stored.name);
                match fs::rename(&from, &to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        // Moved already (a crash after the rename, or another process).
                        let size = fs::metadata(&to).map(|m| m.len()).map_err(|_| {
                            StoreError::Io(format!(
                                "the staged original {} of document {id} is gone and {} is missing",
                                from.display(),
                                to.display()
                            ))
                        })?;
                        if size != stored.size {
                            return Err(StoreError::Io(format!(
                                "{} has {size} bytes, expected {}",
                                to.display(),
                                stored.size
                            )));
                        }
                    }
                    Err(e) => return Err(io_error("cannot move into place", &to, e)),
                }
            }
            sync_dir(&dir);
            let metadata = serde_json::to_vec_pretty(&metadata_json(&record))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            write_atomic(&dir.join("metadata.json"), &metadata, false)?;
            if let Some(v) = verification.map(String::into_bytes) {
                let pretty = serde_json::from_slice::<Value>(&v)
                    .and_then(|value| serde_json::to_vec_pretty(&value))
                    .unwrap_or(v);
                write_atomic(&dir.join("verification.json"), &pretty, false)?;
            }
            // Byte-exact: the evidence record covers these bytes.
            if let Some(m) = material {
                let path = dir.join(crate::MATERIAL_FILE);
                if fs::read(&path).ok().as_deref() != Some(m.as_bytes()) {
                    write_atomic(&path, m.as_bytes(), false)?;
                }
            }
            sync_dir(&dir);
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Io(format!("archive task: {e}")))??;
        sqlx::query(
            "UPDATE document SET sync_state = 'done', staging_document = NULL, staging_signature = NULL \
             WHERE id = $1 AND sync_state = 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(true)
    }

    /// Finishes every pending document and sweeps staged files left by dead processes.
    /// Runs on every [`Archive::open`].
    pub async fn recover(&self) -> Result<Recovery, StoreError> {
        let mut report = Recovery::default();
        let rows = sqlx::query("SELECT id FROM document WHERE sync_state = 'pending' ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
        for row in rows {
            let id: i64 = row.try_get(0).map_err(backend_error)?;
            match self.finalize(id).await {
                Ok(true) => report.completed.push(id),
                Ok(false) => {}
                Err(e) => report.failed.push((id, e.to_string())),
            }
        }
        // Staged files still referenced by a pending row are kept whatever their age.
        let referenced: std::collections::HashSet<String> = sqlx::query(
            "SELECT staging_document, staging_signature FROM document WHERE sync_state = 'pending'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .into_iter()
        .flat_map(|row| {
            [
                row.try_get::<Option<String>, _>(0).ok().flatten(),
                row.try_get::<Option<String>, _>(1).ok().flatten(),
            ]
        })
        .flatten()
        .collect();
        let staging = self.staging_dir();
        let me = std::process::id();
        report.swept = tokio::task::spawn_blocking(move || {
            let mut swept = 0;
            let Ok(entries) = fs::read_dir(&staging) else {
                return 0;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if referenced.contains(&name) {
                    continue;
                }
                let pid = name.split('.').next().and_then(|p| p.parse::<u32>().ok());
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > STALE_AFTER);
                let dead = match pid {
                    Some(pid) if pid == me => false,
                    Some(pid) => pid_is_dead(pid).unwrap_or(false),
                    None => true,
                };
                if (dead || old) && fs::remove_file(entry.path()).is_ok() {
                    swept += 1;
                }
            }
            swept
        })
        .await
        .unwrap_or(0);
        Ok(report)
    }

    /// Checks the archive against the database: every stored document has its files
    /// with the recorded SHA-256 and size, no row is left pending, no folder of the tree
    /// is unknown to the database, numbers of every series run 1..N without gap or
    /// duplicate. Returns the problems found (empty: consistent). Reads every original.
    pub async fn check(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let rows = sqlx::query(
            "SELECT id, sync_state, archive_dir, record_json, material_json, evidence_state \
             FROM document ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        let mut known_dirs = std::collections::HashSet::new();
        for row in rows {
            let id: i64 = row.try_get(0).map_err(backend_error)?;
            let state: String = row.try_get(1).map_err(backend_error)?;
            let dir: Option<String> = row.try_get(2).map_err(backend_error)?;
            let json: String = row.try_get(3).map_err(backend_error)?;
            let material: Option<String> = row.try_get(4).map_err(backend_error)?;
            let evidence: Option<String> = row.try_get(5).map_err(backend_error)?;
            if state == "pending" {
                problems.push(format!("document {id}: files still pending"));
            }
            let record: DocumentRecord = match serde_json::from_str(&json) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("document {id}: unreadable record: {e}"));
                    continue;
                }
            };
            let Some(dir) = dir else { continue };
            known_dirs.insert(dir.clone());
            let folder = self.root.join(&dir);
            let Some(original) = &record.original else {
                problems.push(format!(
                    "document {id}: folder {dir} but no original recorded"
                ));
                continue;
            };
            for stored in std::iter::once(&original.document).chain(original.signature.as_ref()) {
                let path = folder.join(&stored.name);
                let p = path.clone();
                match tokio::task::spawn_blocking(move || sha256_file(&p)).await {
                    Ok(Ok((sha, size))) if sha == stored.sha256 && size == stored.size => {}
                    Ok(Ok((sha, size))) => problems.push(format!(
                        "document {id}: {} has SHA-256 {sha} ({size} bytes), expected {} ({} bytes)",
                        path.display(),
                        stored.sha256,
                        stored.size
                    )),
                    Ok(Err(e)) => problems.push(format!("document {id}: {e}")),
                    Err(e) => problems.push(format!("document {id}: {e}")),
                }
            }
            if state != "pending"
                && let Some(material) = material
                && fs::read(folder.join(crate::MATERIAL_FILE)).ok().as_deref()
                    != Some(material.as_bytes())
            {
                problems.push(format!(
                    "document {id}: {dir}/{} is missing or not the material captured on archiving",
                    crate::MATERIAL_FILE
                ));
            }
            if evidence.as_deref() == Some("sealed") && !folder.join(crate::EVIDENCE_FILE).is_file()
            {
                problems.push(format!(
                    "document {id}: sealed but {dir}/{} is missing",
                    crate::EVIDENCE_FILE
                ));
            }
            if !folder.join("metadata.json").is_file() {
                problems.push(format!("document {id}: {dir}/metadata.json missing"));
            }
            let expected: Vec<&str> = std::iter::once(original.document.name.as_str())
                .chain(original.signature.as_ref().map(|s| s.name.as_str()))
                .chain([
                    "metadata.json",
                    "verification.json",
                    "attachments",
                    crate::MATERIAL_FILE,
                    crate::EVIDENCE_FILE,
                ])
                .collect();
            if let Ok(entries) = fs::read_dir(&folder) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !expected.contains(&name.as_str()) {
                        problems.push(format!("document {id}: stray file {dir}/{name}"));
                    }
                }
            }
        }
        // Folders at <OrganId>/<year>/<type>/<doc> depth unknown to the database.
        let root = self.root.clone();
        let on_disk = tokio::task::spawn_blocking(move || document_folders(&root))
            .await
            .unwrap_or_default();
        for dir in on_disk {
            if !known_dirs.contains(&dir) {
                problems.push(format!("folder {dir} is not a known document"));
            }
        }
        problems.extend(self.check_numbers().await?);
        problems.extend(self.check_duplicate_numbers().await?);
        Ok(problems)
    }

    async fn check_numbers(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let counters =
            sqlx::query("SELECT series, last_number FROM series_counter ORDER BY series")
                .fetch_all(&self.pool)
                .await
                .map_err(backend_error)?;
        for row in counters {
            let series: String = row.try_get(0).map_err(backend_error)?;
            let last: i64 = row.try_get(1).map_err(backend_error)?;
            let numbers: Vec<i64> = sqlx::query(
                "SELECT series_number FROM document WHERE series = $1 ORDER BY series_number",
            )
            .bind(series.clone())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .into_iter()
            .filter_map(|r| r.try_get::<i64, _>(0).ok())
            .collect();
            let expected: Vec<i64> = (1..=last).collect();
            if numbers != expected {
                problems.push(format!(
                    "series {series}: numbers {} are not 1..{last} without gap or duplicate",
                    summarize(&numbers)
                ));
            }
        }
        Ok(problems)
    }
}

impl Archive {
    /// Archived documents (with an original) of one agency sharing a number, notation,
    /// issuer and year (a number reserved with `register number` and then filed once is
    /// one document, not a duplicate).
    async fn check_duplicate_numbers(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT duplicate_key, id FROM document \
             WHERE duplicate_key IS NOT NULL AND sha256 IS NOT NULL \
             AND state NOT IN ('incoming:recalled', 'outgoing:recalled') \
             ORDER BY duplicate_key, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        let mut groups: Vec<(String, Vec<i64>)> = Vec::new();
        for row in rows {
            let key: String = row.try_get(0).map_err(backend_error)?;
            let id: i64 = row.try_get(1).map_err(backend_error)?;
            match groups.last_mut() {
                Some((k, ids)) if *k == key => ids.push(id),
                _ => groups.push((key, vec![id])),
            }
        }
        Ok(groups
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(key, ids)| {
                // agency|year|issuer|number|notation
                let parts: Vec<&str> = key.split('|').collect();
                let shown = match parts.as_slice() {
                    [_, year, _, number, ""] => format!("{number} ({year})"),
                    [_, year, _, number, notation] => format!("{number}/{notation} ({year})"),
                    _ => key.clone(),
                };
                let ids = summarize(&ids);
                format!(
                    "số {shown}: các văn bản {ids} cùng mang số này (mỗi số chỉ cấp một lần trong sổ của năm) / number {shown}: documents {ids} share it (a number is given once per register and year)"
                )
            })
            .collect())
    }
}

fn summarize(numbers: &[i64]) -> String {
    if numbers.len() <= 12 {
        format!("{numbers:?}")
    } else {
        format!(
            "[{} numbers from {:?} to {:?}]",
            numbers.len(),
            numbers.first(),
            numbers.last()
        )
    }
}

/// Relative paths of the document folders of the tree (four levels below the root,
/// hidden names skipped).
fn document_folders(root: &Path) -> Vec<String> {
    fn children(dir: &Path) -> Vec<(String, PathBuf)> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(name, _)| !name.starts_with('.'))
            .collect()
    }
    let mut out = Vec::new();
    for (organ, p1) in children(root) {
        for (year, p2) in children(&p1) {
            for (kind, p3) in children(&p2) {
                for (doc, _) in children(&p3) {
                    out.push(format!("{organ}/{year}/{kind}/{doc}"));
                }
            }
        }
    }
    out
}
