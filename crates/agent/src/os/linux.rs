//! Linux: XDG folders, zenity windows, NSS databases (Chromium's `~/.pki/nssdb`, the
//! Firefox profiles) and the system store (`update-ca-certificates`, as root), a
//! systemd user unit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{StoreResult, run};

/// `$XDG_CONFIG_HOME` or `~/.config`.
pub fn config_base() -> Option<PathBuf> {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")),
    }
}

/// A zenity question; `false` when refused, closed or zenity is missing.
pub fn dialog_confirm(text: &str) -> bool {
    Command::new("zenity")
        .args([
            "--question",
            "--title=kyso agent",
            "--width=640",
            "--ok-label=Ký",
            "--cancel-label=Từ chối",
            "--no-markup",
        ])
        .arg(format!("--text={text}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A zenity hidden entry.
pub fn dialog_pin(text: &str) -> Option<Zeroizing<String>> {
    let out = Command::new("zenity")
        .args(["--entry", "--hide-text", "--title=kyso agent"])
        .arg(format!("--text={text}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let mut raw = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return None;
    }
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    String::from_utf8(std::mem::take(&mut *raw))
        .ok()
        .map(Zeroizing::new)
}

fn nss_databases(home: &Path) -> Vec<PathBuf> {
    let mut dbs = vec![home.join(".pki/nssdb")];
    for base in [
        home.join(".mozilla/firefox"),
        home.join("snap/firefox/common/.mozilla/firefox"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let p = e.path();
                if p.join("cert9.db").exists() {
                    dbs.push(p);
                }
            }
        }
    }
    dbs
}

fn nss_install(db: &Path, name: &str, pem: &Path) -> Result<(), String> {
    let sql = format!("sql:{}", db.display());
    if !db.join("cert9.db").exists() {
        std::fs::create_dir_all(db).map_err(|e| format!("{}: {e}", db.display()))?;
        run("certutil", &["-d", &sql, "-N", "--empty-password"])?;
    }
    // Replace an earlier root of the agent.
    let _ = run("certutil", &["-d", &sql, "-D", "-n", name]);
    let pem = pem.display().to_string();
    run(
        "certutil",
        &["-d", &sql, "-A", "-t", "C,,", "-n", name, "-i", &pem],
    )
    .map(|_| ())
    .map_err(|e| format!("{e} (apt-get install libnss3-tools)"))
}

/// Adds `pem` (the agent's root) as `name` to the user's NSS databases and, with
/// `system` (root only), to the system store.
pub fn install_root(pem: &Path, name: &str, system: bool) -> Vec<StoreResult> {
    let mut out = Vec::new();
    match std::env::var_os("HOME") {
        Some(home) => {
            for db in nss_databases(Path::new(&home)) {
                out.push(StoreResult {
                    store: format!("NSS {}", db.display()),
                    result: nss_install(&db, name, pem),
                });
            }
        }
        None => out.push(StoreResult {
            store: "NSS ~/.pki/nssdb".into(),
            result: Err("HOME is not set".into()),
        }),
    }
    if system {
        let target = PathBuf::from("/usr/local/share/ca-certificates").join(format!("{name}.crt"));
        let result = std::fs::create_dir_all("/usr/local/share/ca-certificates")
            .and_then(|_| std::fs::copy(pem, &target))
            .map_err(|e| format!("{}: {e} (run as root)", target.display()))
            .and_then(|_| run("update-ca-certificates", &[]).map(|_| ()));
        out.push(StoreResult {
            store: format!("system {}", target.display()),
            result,
        });
    }
    out
}

/// A systemd user unit starting the agent with the session; enabled and started when
/// `enable` (through `systemctl --user`).
pub fn install_autostart(exe: &Path, args: &[String], enable: bool) -> Result<PathBuf, String> {
    let base = config_base().ok_or("HOME is not set")?;
    let dir = base.join("systemd/user");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let unit = dir.join("kyso-agent.service");
    let mut command = shell_quote(&exe.display().to_string());
    for a in args {
        command.push(' ');
        command.push_str(&shell_quote(a));
    }
    let text = format!(
        "[Unit]\n\
         Description=kyso agent: local signing helper (VGCA Sign Service protocol)\n\
         After=graphical-session.target\n\
         PartOf=graphical-session.target\n\n\
         [Service]\n\
         ExecStart={command}\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         NoNewPrivileges=true\n\
         PrivateTmp=true\n\n\
         [Install]\n\
         WantedBy=graphical-session.target\n"
    );
    std::fs::write(&unit, text).map_err(|e| format!("{}: {e}", unit.display()))?;
    if enable {
        run("systemctl", &["--user", "daemon-reload"])?;
        run(
            "systemctl",
            &["--user", "enable", "--now", "kyso-agent.service"],
        )?;
    }
    Ok(unit)
}

/// systemd's quoting: double quotes, backslash and dollar escaped.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.=:,+@".contains(c))
    {
        return s.to_string();
    }
    let mut q = String::from('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '$' => q.push_str("$$"),
            '%' => q.push_str("%%"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn unit_arguments_are_quoted() {
        assert_eq!(shell_quote("/usr/bin/kyso"), "/usr/bin/kyso");
        assert_eq!(shell_quote("a b"), "\"a b\"");
        assert_eq!(shell_quote("$HOME%i\""), "\"$$HOME%%i\\\"\"");
    }
}
