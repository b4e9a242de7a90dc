//! Windows: `%APPDATA%`, PowerShell windows, the user's root store (`certutil -user`),
//! the `Run` key of the user. Not built on the Linux machine the project is tested on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{StoreResult, run};

/// `%APPDATA%`.
pub fn config_base() -> Option<PathBuf> {
    std::env::var_os("APPDATA").map(PathBuf::from)
}

fn powershell(script: &str) -> Option<std::process::Output> {
    Command::new("powershell")
        .args(["-NoProfile", "-NonInteractive", "-Command", script])
        .stdin(Stdio::null())
        .output()
        .ok()
}

fn ps_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Yes/No message box.
pub fn dialog_confirm(text: &str) -> bool {
    let script = format!(
        "Add-Type -AssemblyName PresentationFramework; [System.Windows.MessageBox]::Show({}, 'kyso agent', 'YesNo', 'Question')",
        ps_string(text)
    );
    powershell(&script)
        .is_some_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "Yes")
}

/// A masked input box.
pub fn dialog_pin(text: &str) -> Option<Zeroizing<String>> {
    let script = format!(
        "$c = Get-Credential -UserName 'PIN' -Message {}; if ($c) {{ $c.GetNetworkCredential().Password }}",
        ps_string(text)
    );
    let out = powershell(&script)?;
    let raw = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&raw).trim_end().to_string();
    Some(Zeroizing::new(s))
}

/// Adds the root to the current user's Root store (Chrome and Edge read it; Firefox
/// with `security.enterprise_roots.enabled`, its default on Windows).
pub fn install_root(pem: &Path, _name: &str, system: bool) -> Vec<StoreResult> {
    let pem = pem.display().to_string();
    let mut args = vec!["-addstore", "-f", "Root", &pem];
    if !system {
        args.insert(0, "-user");
    }
    vec![StoreResult {
        store: if system {
            "Windows LocalMachine\\Root"
        } else {
            "Windows CurrentUser\\Root"
        }
        .into(),
        result: run("certutil", &args).map(|_| ()),
    }]
}

/// `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\kyso-agent`.
pub fn install_autostart(exe: &Path, args: &[String], _enable: bool) -> Result<PathBuf, String> {
    let mut command = format!("\"{}\"", exe.display());
    for a in args {
        command.push_str(&format!(" \"{a}\""));
    }
    let key = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
    run(
        "reg",
        &[
            "add",
            key,
            "/v",
            "kyso-agent",
            "/t",
            "REG_SZ",
            "/d",
            &command,
            "/f",
        ],
    )?;
    Ok(PathBuf::from(format!("{key}\\kyso-agent")))
}
