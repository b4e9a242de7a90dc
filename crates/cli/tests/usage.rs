//! Command-line mistakes are explained in Vietnamese first (then clap's English text
//! and usage), with exit code 2; help and version still print and exit 0.

use std::process::Command;

fn kyso(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("kyso: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_are_vietnamese_first() {
    for (args, vi) in [
        (&["sign", "--bogus"][..], "tham số không có trong lệnh này"),
        (&["archive", "timkiem"][..], "không có lệnh con này"),
        (&["sign"][..], "thiếu tham số bắt buộc"),
        (
            &["verify", "x.pdf", "--lang", "fr"][..],
            "giá trị của tham số không hợp lệ",
        ),
    ] {
        let (code, _, err) = kyso(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with("kyso: lỗi cú pháp lệnh / usage error: "),
            "{args:?}: {err}"
        );
        assert!(err.contains(vi), "{args:?}: {err}");
        assert!(
            err.contains("\nerror: "),
            "{args:?}: clap's explanation kept: {err}"
        );
    }
    let (code, out, _) = kyso(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage:"), "{out}");
    let (code, out, _) = kyso(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("kyso "), "{out}");
}
