//! What differs between operating systems, behind one small interface: the user's
//! configuration folder, the confirmation window and PIN entry of the desktop session,
//! adding the agent's local root certificate to the trust stores browsers read, and
//! starting the agent with the session. One module per OS; only Linux is built and
//! tested here (the Windows and macOS modules use the systems' own command-line tools
//! and need no other change to build there).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "windows")]
mod windows;
#[cfg(target_os = "windows")]
pub use windows::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::*;

/// The outcome of adding the root to one trust store.
#[derive(Debug, Clone)]
pub struct StoreResult {
    /// The store (e.g. `NSS ~/.pki/nssdb`).
    pub store: String,
    /// `Ok(())`, or why not (with what to do).
    pub result: Result<(), String>,
}

/// Run a program; its stderr (or the spawn error) on failure.
#[allow(dead_code, reason = "used by the OS modules")]
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
