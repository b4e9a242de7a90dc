//! The `kyso` binary in tests: one data directory, nothing inherited from the
//! environment that would change where it works or as whom, no terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The agency of the tests' offices.
pub const AGENCY: &str = "000.00.00.H13";
/// Its name.
pub const AGENCY_NAME: &str = "UBND thành phố Cần Thơ";

/// `bin` (`env!("CARGO_BIN_EXE_kyso")`) on the data directory `data`, with none of the
/// variables that choose a database, a data home, an agency, passphrases or limits.
pub fn command(bin: &str, data: &Path) -> Command {
    let mut c = Command::new(bin);
    c.arg("--data").arg(data).stdin(Stdio::null());
    for var in [
        "KYSO_DATABASE_URL",
        "KYSO_DATA",
        "XDG_DATA_HOME",
        "KYSO_AGENCY_ID",
        "KYSO_AGENCY_NAME",
        "KYSO_PASSPHRASE",
        "KYSO_CA_PASSPHRASE",
        "KYSO_AUDIT_KEY_PASSPHRASE",
        "KYSO_AUDIT_KEY_PASSPHRASE_FILE",
        "KYSO_MAX_PDF_SIZE",
    ] {
        c.env_remove(var);
    }
    c
}

/// [`command`] for the office of [`AGENCY`].
pub fn office(bin: &str, data: &Path) -> Command {
    let mut c = command(bin, data);
    c.env("KYSO_AGENCY_ID", AGENCY)
        .env("KYSO_AGENCY_NAME", AGENCY_NAME);
    c
}

/// A finished command's status and both streams, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stdout and stderr together (what a person reads).
pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, which must succeed; its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}\n{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
