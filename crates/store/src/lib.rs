#![doc = include_str!("../README.md")]

//! kyso-store: the storage adapter of the clerk's office. It implements
//! [`kyso_office::Store`] with `sqlx` on **SQLite** (default: one file `kyso.db` in the
//! data directory, WAL, zero set-up) or **PostgreSQL** (for many agencies and replicas),
//! chosen by URL, with the same SQL and separate migration directories per backend; and
//! it keeps the **archive tree** of originals on disk, byte-exact and readable without
//! kyso.
//!
//! Crash safety (docs/ARCHITECTURE.md "Archive"): an original is written to
//! `archive/.staging/`, synced, and only then is the document row committed — with its
//! number, in one transaction — as `sync_state = 'pending'` naming the staged file; the
//! file is then renamed into its folder, `metadata.json` and `verification.json` are
//! written atomically, and the row becomes `done`. Every open finishes pending rows
//! ([`Archive::recover`]), so a kill at any point leaves either nothing (number given
//! back) or a document that completes.

mod audit;
mod custody;
mod evidence;
mod exchange;
mod files;
mod sessions;
mod sql;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use audit::{AuditDraft, AuditHeadRow, AuditRow, audit_time};
pub use evidence::{EVIDENCE_FILE, EvidenceRow, MATERIAL_FILE};
pub use exchange::{
    AgencyRow, DeliveryRow, NewDelivery, NewStatus, OutboxRow, PackageRow, StatusRow,
};
pub use files::{
    Recovery, Staged, check_out, check_permissions, metadata_json, sha256_file, write_atomic,
    write_out,
};
pub use kyso_office::StoreError;
pub use sessions::{ApiTokenRow, SessionRow};
/// The sqlx of [`Archive::pool`], for tools and tests that query the database directly.
pub use sqlx;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

/// The database behind an [`Archive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, one file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The office's storage: database plus archive tree.
#[derive(Debug, Clone)]
pub struct Archive {
    pool: AnyPool,
    backend: Backend,
    root: PathBuf,
    /// The audit log as this process last verified and extended it (see
    /// [`Archive::audit_append`]).
    audit: std::sync::Arc<std::sync::Mutex<Option<audit::Verified>>>,
    /// Notified when a committed transaction queued an outbox row (see
    /// [`Archive::outbox_signal`]).
    outbox_signal: std::sync::Arc<tokio::sync::Notify>,
}

/// Name of the SQLite database file inside the data directory.
pub const SQLITE_FILE: &str = "kyso.db";

pub(crate) fn backend_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        return StoreError::Conflict(db.message().to_string());
    }
    StoreError::Backend(error.to_string())
}

pub(crate) fn io_error(what: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {error}", path.display()))
}

/// A `sqlite://` URL for a path (percent-encoding what a URL cannot hold).
pub fn sqlite_url(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::from("sqlite://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out.push_str("?mode=rwc");
    out
}

/// Creates the data directory (and missing parents) for this account alone: 0700.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("cannot create", dir, e))?;
    // An existing, empty directory given as the data directory (`mktemp -d`, a fresh
    // `mkdir`) is made private too; one already holding data is left as it is, for
    // `kyso archive check` to report.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(|e| io_error("cannot inspect", dir, e))?;
        let empty = std::fs::read_dir(dir)
            .map_err(|e| io_error("cannot list", dir, e))?
            .next()
            .is_none();
        if empty && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error("cannot make private", dir, e))?;
        }
    }
    Ok(())
}

/// Creates an empty file readable by this account alone (0600) unless it exists: the
/// SQLite database, before SQLite creates it with the default mode (its `-wal` and `-shm`
/// files take the database's mode).
fn create_private_file(file: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(file)
        .map(drop)
        .map_err(|e| io_error("cannot create", file, e))
}

/// How long a PostgreSQL connection is waited for (an unreachable server included).
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Archive {
    /// Opens the default store of a data directory: `<data>/kyso.db` (created on first
    /// use) and the archive tree `<data>/archive`; or, when `database_url` is given
    /// (`postgres://…`), that database with the same archive tree.
    pub async fn open_data_dir(
        data: &Path,
        database_url: Option<&str>,
    ) -> Result<Self, StoreError> {
        create_private_dir(data)?;
        let url = match database_url {
            Some(url) => url.to_string(),
            None => {
                let file = data.join(SQLITE_FILE);
                create_private_file(&file)?;
                sqlite_url(&file)
            }
        };
        Self::open(&url, &data.join("archive")).await
    }

    /// Opens (and migrates) the database at `url` — `sqlite://PATH?mode=rwc` or
    /// `postgres://…` — with the archive tree at `root`, then finishes any document
    /// left pending by a crash ([`Archive::recover`]).
    pub async fn open(url: &str, root: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL (sqlite:// or postgres://): {}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        // PostgreSQL: an unreachable server fails within seconds, not after a minute of
        // retries. SQLite: writers queue behind `BEGIN IMMEDIATE`, so waiting is normal.
        let acquire = match backend {
            Backend::Sqlite => Duration::from_secs(60),
            Backend::Postgres => POSTGRES_ACQUIRE_TIMEOUT,
        };
        let mut options = AnyPoolOptions::new()
            .acquire_timeout(acquire)
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            });
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL: readers never block the writer; FULL: a committed number
                    // survives power loss; writers wait instead of failing at once.
                    sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 60000;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await.map_err(|e| match (backend, e) {
            (Backend::Postgres, e @ (sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))) => {
                StoreError::Backend(format!(
                    "không kết nối được cơ sở dữ liệu PostgreSQL sau {} giây / cannot reach the PostgreSQL database within {} s: {e}",
                    POSTGRES_ACQUIRE_TIMEOUT.as_secs(),
                    POSTGRES_ACQUIRE_TIMEOUT.as_secs()
                ))
            }
            (_, e) => backend_error(e),
        })?;
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration: {e}")))?;
        let archive = Self {
            pool,
            backend,
            root: root.to_path_buf(),
            audit: std::sync::Arc::default(),
            outbox_signal: std::sync::Arc::default(),
        };
        archive.recover().await?;
        Ok(archive)
    }

    /// Which database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The archive tree root (`<data>/archive`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The connection pool (for tools and tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
