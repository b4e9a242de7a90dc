//! `kyso serve` as a child process: started from a prepared command, its URL and
//! one-time setup link read from its stdout, its log (stderr) inherited or kept in a
//! file, killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `kyso serve`.
#[derive(Debug)]
pub struct Served {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The one-time setup link, when the installation has no administrator.
    pub setup_link: Option<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (the `kyso` binary with `serve` and its flags) and waits, at most
/// a minute, until it prints the URL it serves at.
pub fn spawn(command: &mut Command) -> Served {
    start(command, Stdio::inherit())
}

/// As [`spawn`], with the server's log (its stderr) written to the file `log`, for a
/// test to read what the server logged.
pub fn spawn_logged(command: &mut Command, log: &std::path::Path) -> Served {
    let file = std::fs::File::create(log).expect("create the server log");
    start(command, Stdio::from(file))
}

fn start(command: &mut Command, stderr: Stdio) -> Served {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start kyso serve");
    // Lines arrive through a thread, so that waiting for one never blocks forever and
    // the server never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut url = None;
    let mut setup_link = None;
    let mut deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some(rest) = line.split("đang phục vụ tại ").nth(1) {
            url = Some(rest.trim().to_string());
            // What follows the URL comes at once.
            deadline = Instant::now() + Duration::from_secs(2);
        }
        if line.trim_start().starts_with("http") && line.contains("/setup?token=") {
            setup_link = Some(line.trim().to_string());
            break;
        }
    }
    let Some(url) = url else {
        let _ = child.kill();
        let status = child.wait();
        panic!("kyso serve printed no URL within a minute ({status:?})");
    };
    Served {
        child,
        url,
        setup_link,
    }
}

/// The password of the users the helpers below create.
pub const PASSWORD: &str = "mat-khau-thu-nghiem-2026";

/// A data directory `parent/name` whose trust anchor is the test PKI's root.
pub fn trusting_data_dir(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let data = parent.join(name);
    std::fs::create_dir_all(data.join("trust")).unwrap();
    std::fs::copy(
        &crate::pki::fixture().root_pem,
        data.join("trust/test-root.pem"),
    )
    .unwrap();
    data
}

/// `name` (password [`PASSWORD`]) signed in on `served`.
pub fn login(served: &Served, name: &str) -> crate::http::Client {
    let mut c = crate::http::Client::new(&served.url);
    let a = c.login(name, PASSWORD);
    assert_eq!(a.status, 201, "login {name}: {}", a.text);
    c
}

/// The first administrator (`quantri`) of `agency` through the setup link of a new
/// installation, signed in. `agency_name` is form-encoded.
pub fn set_up(served: &Served, agency: &str, agency_name: &str) -> crate::http::Client {
    let link = served.setup_link.clone().expect("a setup link");
    let token = link.split("token=").nth(1).unwrap();
    let form = format!(
        "token={token}&agency_id={agency}&agency_name={agency_name}&name=quantri&full_name=Tran&password={PASSWORD}"
    );
    let created = crate::http::Client::new(&served.url).post_raw(
        "/setup",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    login(served, "quantri")
}

/// A user of the administrator's agency with one role, password [`PASSWORD`].
pub fn add_user(admin: &crate::http::Client, name: &str, role: &str) {
    let added = admin.post_json(
        "/api/v1/users",
        &serde_json::json!({"name": name, "full_name": name, "roles": [role], "password": PASSWORD}),
    );
    assert_eq!(added.status, 201, "{}", added.text);
}

/// Adds agency `id` to the directory as reached through the node listening on loopback
/// `port` (its own, or a hub relaying to it), whose node certificate is `cert`.
pub fn add_remote_agency(
    admin: &crate::http::Client,
    id: &str,
    name: &str,
    port: u16,
    cert: &crate::mtls::NodeCert,
) {
    let added = admin.post_json(
        "/api/v1/agencies",
        &serde_json::json!({"id": id, "name": name, "node_url": format!("https://127.0.0.1:{port}"),
                "node_certificate": cert.fingerprint}),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["hosted"], false, "{}", added.text);
}
