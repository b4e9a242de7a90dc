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
