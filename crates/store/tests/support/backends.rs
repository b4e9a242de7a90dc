//! The backends every store test runs on: SQLite always; PostgreSQL when
//! `KYSO_TEST_POSTGRES_URL` is set (scripts/test.sh starts a server on
//! 127.0.0.1:55432), each test in a fresh database. Without it the PostgreSQL half is
//! skipped with a note, unless `CI=true` or `KYSO_REQUIRE_POSTGRES=1`, where it fails.

use kyso_store::{Archive, Backend};
use tempfile::TempDir;

/// One opened store.
pub(crate) struct Env {
    pub(crate) name: &'static str,
    pub(crate) archive: Archive,
    /// The PostgreSQL URL (`None`: SQLite in `_dir`).
    #[allow(dead_code)]
    pub(crate) url: Option<String>,
    pub(crate) _dir: TempDir,
}

/// A fresh PostgreSQL database for the test (see `kyso_testkit::postgres`).
pub(crate) async fn postgres_database() -> Option<String> {
    kyso_testkit::postgres::database().await
}

pub(crate) async fn environments() -> Vec<Env> {
    let mut out = Vec::new();
    let dir = TempDir::new().unwrap();
    let archive = Archive::open_data_dir(dir.path(), None).await.unwrap();
    assert_eq!(archive.backend(), Backend::Sqlite);
    out.push(Env {
        name: "sqlite",
        archive,
        url: None,
        _dir: dir,
    });
    if let Some(url) = postgres_database().await {
        let dir = TempDir::new().unwrap();
        let archive = Archive::open_data_dir(dir.path(), Some(&url))
            .await
            .unwrap();
        assert_eq!(archive.backend(), Backend::Postgres);
        out.push(Env {
            name: "postgres",
            archive,
            url: Some(url),
            _dir: dir,
        });
    }
    out
}
