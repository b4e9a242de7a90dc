//! The backends every store test runs on: SQLite always; PostgreSQL when
//! `KYSO_TEST_POSTGRES_URL` is set (scripts/test.sh starts a server on
//! 127.0.0.1:55432), each test in a fresh database. Without it the PostgreSQL half is
//! skipped with a note, unless `CI=true` or `KYSO_REQUIRE_POSTGRES=1`, where it fails.

use kyso_store::{Archive, Backend};
use sqlx::Executor;
use tempfile::TempDir;

/// One opened store.
pub(crate) struct Env {
    pub(crate) name: &'static str,
    pub(crate) archive: Archive,
    pub(crate) _dir: TempDir,
}

pub(crate) fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("KYSO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A fresh database on the test server, named for the test.
pub(crate) async fn postgres_database() -> Option<String> {
    let url = match std::env::var("KYSO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                !postgres_required(),
                "KYSO_TEST_POSTGRES_URL is not set but CI=true or KYSO_REQUIRE_POSTGRES=1: \
                 the PostgreSQL tests must run (scripts/test.sh starts the server)"
            );
            eprintln!("note: KYSO_TEST_POSTGRES_URL not set; PostgreSQL half skipped");
            return None;
        }
    };
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&url)
        .await
        .expect("connect to KYSO_TEST_POSTGRES_URL");
    let name = format!("kyso_test_{}", hex::encode(rand::random::<[u8; 8]>()));
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    admin.close().await;
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (url.clone(), String::new()),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(&base);
    Some(format!("{prefix}/{name}{query}"))
}

pub(crate) async fn environments() -> Vec<Env> {
    let mut out = Vec::new();
    let dir = TempDir::new().unwrap();
    let archive = Archive::open_data_dir(dir.path(), None).await.unwrap();
    assert_eq!(archive.backend(), Backend::Sqlite);
    out.push(Env {
        name: "sqlite",
        archive,
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
            _dir: dir,
        });
    }
    out
}
