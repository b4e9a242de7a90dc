//! Encrypted test documents: qpdf encrypts (standard security handler, every revision
//! it writes), pyHanko signs and updates them through its Python API (which keeps the
//! file's encryption), and pyHanko's own verdict on them. Uses the shared fixture
//! (`fixture.rs`, declared next to this module).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::fixture::{fixture, python, run};

/// qpdf (`KYSO_QPDF`, else on the PATH).
pub(crate) fn qpdf() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    let path = P.get_or_init(|| {
        let path = std::env::var_os("KYSO_QPDF").map_or_else(|| PathBuf::from("qpdf"), PathBuf::from);
        let out = Command::new(&path).arg("--version").output().unwrap_or_else(|e| {
            panic!(
                "peer missing: cannot run {} ({e}); run scripts/test.sh (installs qpdf) or set KYSO_QPDF",
                path.display()
            )
        });
        assert!(out.status.success(), "peer unusable: {} --version", path.display());
        path
    });
    let mut c = Command::new(path);
    c.stdin(Stdio::null());
    c
}

fn check(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(fixture().dir.path()).unwrap()
}

/// `qpdf [before] --encrypt USER OWNER [how] -- in out`: e.g. `how` = `["256"]`,
/// `["128", "--use-aes=y"]`, `["128", "--use-aes=n"]`, `["40"]`.
pub(crate) fn encrypt(
    input: &[u8],
    user: &str,
    owner: &str,
    how: &[&str],
    before: &[&str],
) -> Vec<u8> {
    let dir = scratch();
    let i = dir.path().join("in.pdf");
    let o = dir.path().join("out.pdf");
    std::fs::write(&i, input).unwrap();
    check(
        qpdf()
            .arg("--allow-weak-crypto")
            .args(before)
            .args(["--encrypt", user, owner])
            .args(how)
            .arg("--")
            .arg(&i)
            .arg(&o),
    );
    std::fs::read(&o).unwrap()
}

/// Run a pyHanko Python script on `input` with `args` after `in out`; returns `out`.
fn pyhanko_script(script: &str, input: &[u8], args: &[&str]) -> Vec<u8> {
    let dir = scratch();
    let i = dir.path().join("in.pdf");
    let o = dir.path().join("out.pdf");
    std::fs::write(&i, input).unwrap();
    check(python().arg("-c").arg(script).arg(&i).arg(&o).args(args));
    std::fs::read(&o).unwrap()
}

/// Sign an encrypted document (the leader's key, invisible field `field`) with
/// pyHanko, authenticating with `password` (the update stays encrypted).
pub(crate) fn sign_encrypted(input: &[u8], password: &str, field: &str) -> Vec<u8> {
    let f = fixture();
    let script = r#"
import sys
from pyhanko.sign import signers
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
inp, out, pw, field, key, cert, chain = sys.argv[1:]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
with open(inp, 'rb') as fin:
    w = IncrementalPdfFileWriter(fin)
    w.encrypt(pw)
    meta = signers.PdfSignatureMetadata(field_name=field)
    with open(out, 'wb') as fout:
        signers.sign_pdf(w, meta, signer=signer, output=fout)
"#;
    pyhanko_script(
        script,
        input,
        &[
            password,
            field,
            f.key_pem.to_str().unwrap(),
            f.cert_pem.to_str().unwrap(),
            f.chain_pem.to_str().unwrap(),
        ],
    )
}

/// An incremental update (encrypted like the file) that paints a red box and the word
/// "Forged" on page 1: a new content stream appended to the page's /Contents.
pub(crate) fn change_page(input: &[u8], password: &str) -> Vec<u8> {
    let script = r#"
import sys
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
inp, out, pw = sys.argv[1:]
with open(inp, 'rb') as fin:
    w = IncrementalPdfFileWriter(fin)
    w.encrypt(pw)
    stream = generic.StreamObject(stream_data=b'q 1 0 0 rg 100 100 200 50 re f Q')
    w.add_stream_to_page(0, w.add_object(stream))
    with open(out, 'wb') as fout:
        w.write(fout)
"#;
    pyhanko_script(script, input, &[password])
}

/// pyHanko's verdict per signature, after `reader.decrypt(password)`, trusting the test
/// root, without revocation checks: `(field, bottom line, summary)`.
pub(crate) fn pyhanko_verdicts(pdf: &[u8], password: &str) -> Vec<(String, bool, String)> {
    let f = fixture();
    let dir = scratch();
    let p = dir.path().join("v.pdf");
    std::fs::write(&p, pdf).unwrap();
    let script = r#"
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko.keys import load_cert_from_pemder
root, path, pw = sys.argv[1:]
with open(path, 'rb') as f:
    r = PdfFileReader(f)
    r.decrypt(pw)
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(root)], allow_fetching=False, revocation_mode='soft-fail')
    for sig in r.embedded_signatures:
        st = validate_pdf_signature(sig, vc)
        print('%s|%s|%s' % (sig.field_name, st.bottom_line, st.summary()))
"#;
    let out = check(
        python()
            .arg("-c")
            .arg(script)
            .arg(&f.root_pem)
            .arg(&p)
            .arg(password),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '|');
            Some((
                parts.next()?.to_string(),
                parts.next()? == "True",
                parts.next()?.to_string(),
            ))
        })
        .collect()
}
