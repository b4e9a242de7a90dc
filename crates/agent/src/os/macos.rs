//! macOS: `~/Library/Application Support`, osascript dialogs, the login keychain
//! (`security add-trusted-cert`), a LaunchAgent. Not built on the Linux machine the
//! project is tested on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{StoreResult, run};

/// `~/Library/Application Support`.
pub fn config_base() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
}

fn applescript_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn osascript(script: &str) -> Option<std::process::Output> {
    Command::new("osascript")
        .args(["-e", script])
        .stdin(Stdio::null())
        .output()
        .ok()
}

/// A dialog with "Từ chối" / "Ký".
pub fn dialog_confirm(text: &str) -> bool {
    let script = format!(
        "display dialog {} with title \"kyso agent\" buttons {{\"Từ chối\", \"Ký\"}} default button \"Từ chối\"",
        applescript_string(text)
    );
    osascript(&script)
        .is_some_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Ký"))
}

/// A hidden-answer dialog.
pub fn dialog_pin(text: &str) -> Option<Zeroizing<String>> {
    let script = format!(
        "text returned of (display dialog {} with title \"kyso agent\" default answer \"\" with hidden answer)",
        applescript_string(text)
    );
    let out = osascript(&script)?;
    let raw = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return None;
    }
    Some(Zeroizing::new(
        String::from_utf8_lossy(&raw).trim_end().to_string(),
    ))
}

/// Adds the root to the login keychain as trusted for SSL (Safari, Chrome; Firefox
/// reads it with `security.enterprise_roots.enabled`).
pub fn install_root(pem: &Path, _name: &str, system: bool) -> Vec<StoreResult> {
    let keychain = if system {
        "/Library/Keychains/System.keychain".to_string()
    } else {
        match std::env::var_os("HOME") {
            Some(h) => format!(
                "{}/Library/Keychains/login.keychain-db",
                PathBuf::from(h).display()
            ),
            None => {
                return vec![StoreResult {
                    store: "login keychain".into(),
                    result: Err("HOME is not set".into()),
                }];
            }
        }
    };
    let pem = pem.display().to_string();
    let mut args = vec![
        "add-trusted-cert",
        "-r",
        "trustRoot",
        "-p",
        "ssl",
        "-k",
        &keychain,
        &pem,
    ];
    if system {
        args.insert(1, "-d");
    }
    vec![StoreResult {
        store: keychain.clone(),
        result: run("security", &args).map(|_| ()),
    }]
}

/// `~/Library/LaunchAgents/vn.kyso.agent.plist`, loaded when `enable`.
pub fn install_autostart(exe: &Path, args: &[String], enable: bool) -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let dir = PathBuf::from(home).join("Library/LaunchAgents");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let plist = dir.join("vn.kyso.agent.plist");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut program = format!("<string>{}</string>", escape(&exe.display().to_string()));
    for a in args {
        program.push_str(&format!("<string>{}</string>", escape(a)));
    }
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\"><dict><key>Label</key><string>vn.kyso.agent</string><key>ProgramArguments</key><array>{program}</array><key>RunAtLoad</key><true/><key>KeepAlive</key><true/></dict></plist>\n"
    );
    std::fs::write(&plist, text).map_err(|e| format!("{}: {e}", plist.display()))?;
    if enable {
        let p = plist.display().to_string();
        run("launchctl", &["load", "-w", &p])?;
    }
    Ok(plist)
}
