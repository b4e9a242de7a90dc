//! A kyso node in the test process (feature `node`): kyso-server's router on a
//! loopback TCP socket over kyso-app, its data directory in a temporary folder whose
//! trust anchor is the test PKI's root, on SQLite or on a fresh PostgreSQL database;
//! users created with one known password, logged in through the API.

use std::net::SocketAddr;
use std::path::PathBuf;

use kyso_app::App;
use kyso_model::{AgencyId, AgencyIdFormat};
use kyso_office::{Role, User};
use kyso_server::{AppState, Config};
use tempfile::TempDir;

use crate::http::Client;
use crate::pki::fixture;

/// The password of every user a test creates with [`Node::user`].
pub const PASSWORD: &str = "mat-khau-thu-nghiem-2026";

/// The token of the one-time setup link of every node [`start`]ed.
pub const SETUP_TOKEN: &str = "token-of-the-setup-link-for-tests";

/// The backends a test runs on (PostgreSQL where [`crate::postgres::database`] gives
/// one).
pub const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// An agency id in the lenient form the tests write.
pub fn agency(id: &str) -> AgencyId {
    AgencyId::parse_with(id, AgencyIdFormat::Lenient).unwrap()
}

/// One node: its data directory, runtime, use cases and server (stopped on drop).
#[derive(Debug)]
pub struct Node {
    /// The data directory.
    pub dir: TempDir,
    /// The runtime the server runs on; tests drive `app` with `rt.block_on`.
    pub rt: tokio::runtime::Runtime,
    /// The node's use cases, as the server has them.
    pub app: App,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A node on `backend` (`sqlite`, or `postgres`: `None` when no PostgreSQL server is
/// configured outside CI) with the default configuration.
pub fn start(backend: &'static str) -> Option<Node> {
    start_with(backend, |_| {})
}

/// As [`start`], with the configuration changed by `tweak` first (its data directory
/// already set).
pub fn start_with(backend: &'static str, tweak: impl FnOnce(&mut Config)) -> Option<Node> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = match backend {
        "sqlite" => None,
        _ => Some(rt.block_on(crate::postgres::database())?),
    };
    let dir = TempDir::new().unwrap();
    // The test PKI's root is the node's own trust anchor.
    let trust = dir.path().join("trust");
    std::fs::create_dir_all(&trust).unwrap();
    std::fs::copy(&fixture().root_pem, trust.join("test-root.pem")).unwrap();
    let app = rt.block_on(App::open(dir.path(), url.as_deref())).unwrap();
    let mut config = Config {
        data: dir.path().to_path_buf(),
        ..Config::default()
    };
    tweak(&mut config);
    let state = AppState::new(app.clone(), config, Some(SETUP_TOKEN.to_string())).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(kyso_server::serve_listener(listener, state, async move {
        let _ = stopped.await;
    }));
    Some(Node {
        dir,
        rt,
        app,
        base,
        backend,
        stop: Some(stop),
    })
}

impl Node {
    /// A client with no session.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A user `name` of the agency `agency_id` with `roles`, its full name `name`, its
    /// password [`PASSWORD`].
    pub fn user(&self, agency_id: &str, name: &str, roles: &[Role]) {
        self.person(agency_id, name, name, roles);
    }

    /// As [`Node::user`], with a full name (as printed in signature blocks).
    pub fn person(&self, agency_id: &str, name: &str, full_name: &str, roles: &[Role]) {
        let mut user = User::new(
            agency(agency_id),
            name,
            full_name,
            roles.iter().copied().collect(),
        )
        .unwrap();
        user.password_hash = Some(kyso_office::hash_password(PASSWORD, &[7u8; 16]).unwrap());
        self.rt
            .block_on(self.app.archive().create_user(&user, self.app.now()))
            .unwrap();
    }

    /// A client signed in as `name` (password [`PASSWORD`]).
    pub fn login(&self, name: &str) -> Client {
        let mut c = self.client();
        let a = c.login(name, PASSWORD);
        assert_eq!(a.status, 201, "login {name}: {}", a.text);
        c
    }

    /// The number a `SELECT COUNT(*) …` gives on the node's database.
    pub fn count(&self, sql: &'static str) -> i64 {
        let pool = self.app.archive().pool().clone();
        self.rt.block_on(async move {
            let row = sqlx::query(sql).fetch_one(&pool).await.unwrap();
            sqlx::Row::try_get(&row, 0).unwrap()
        })
    }
}
