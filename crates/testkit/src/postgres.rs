//! PostgreSQL for tests: `KYSO_TEST_POSTGRES_URL` names a server (scripts/test.sh starts
//! one on 127.0.0.1:55432); each test gets a fresh database. Without it the PostgreSQL
//! half of a test is skipped with a note, unless `CI=true` or `KYSO_REQUIRE_POSTGRES=1`,
//! where it fails.

use sqlx::Executor;

/// Whether PostgreSQL tests must run.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("KYSO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The URL of a fresh database on the test server, or `None` (with a note) when no
/// server is configured and none is required.
pub async fn database() -> Option<String> {
    let url = match std::env::var("KYSO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                !required(),
                "KYSO_TEST_POSTGRES_URL is not set but CI=true or KYSO_REQUIRE_POSTGRES=1: \
                 the PostgreSQL tests must run (scripts/test.sh starts the server)"
            );
            eprintln!("note: KYSO_TEST_POSTGRES_URL not set; PostgreSQL half skipped");
            return None;
        }
    };
    Some(fresh_database(&url).await)
}

/// Creates a new, empty database (random name) on the PostgreSQL server at `server` (a
/// URL naming any database of it) and returns its URL.
pub async fn fresh_database(server: &str) -> String {
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(server)
        .await
        .expect("connect to the PostgreSQL server");
    let name = format!("kyso_test_{}", hex::encode(rand::random::<[u8; 8]>()));
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    admin.close().await;
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (server.to_string(), String::new()),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(&base);
    format!("{prefix}/{name}{query}")
}
