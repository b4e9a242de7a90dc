#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on setup failure"
)]

//! Issue 9 with real tools: signatures as OpenSSL and pyHanko write them, verified by the
//! real `kyso` binary and compared with the peers' own verdicts on the same files.
//!
//! * `openssl cms -sign -stream` (BER, indefinite lengths, constructed OCTET STRING,
//!   content encapsulated), `-noattr`, `-keyid`, and a detached BER file;
//! * a CA key rollover: two roots with the same name and different keys, a signer
//!   under each with the same serial, in one `SignedData`;
//! * a SHA-1 chain (root, intermediate, end entity) and a `-md sha1 -noattr`
//!   signature: valid with a warning inside the algorithm policy, indeterminate outside;
//! * the built-in Vietnamese trust list, and a look-alike of one of its roots;
//! * dates up to 9999-12-31T23:59:59Z in `kyso verify`, `kyso ca revoke` and
//!   `kyso archive import`: verdicts or clear errors, never a panic.
//!
//! Certificates are made by `openssl ca` with fixed dates and every `kyso verify` runs
//! with a fixed `--at`, so verdicts never depend on the day the tests run (the
//! look-alike root is the exception: `openssl x509 -signkey` dates it "now", and the
//! test only relies on validity around now).

#[allow(dead_code)]
#[path = "peers/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{describe, kyso, openssl, pyhanko, python, run, success, workspace};

/// A working directory under the test target directory, fresh per test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("peers-real-world")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run a POSIX shell script in `dir` with `openssl` on the path; panics on failure.
fn sh(dir: &Path, script: &str) {
    let out = run(std::process::Command::new("sh")
        .current_dir(dir)
        .args(["-euc", script]));
    assert!(
        out.status.success(),
        "script failed:\n{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An OpenSSL CA configuration: `openssl ca -config ca-NAME.cnf` keeps its database in
/// `db-NAME/`. Extensions: `root`, `sub`, `ee`.
fn ca_config(dir: &Path, name: &str) {
    let db = dir.join(format!("db-{name}"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "01\n").unwrap();
    let db = db.display();
    std::fs::write(
        dir.join(format!("ca-{name}.cnf")),
        format!(
            "[ca]\ndefault_ca = ca\n[ca]\ndir = {db}\ndatabase = {db}/index.txt\n\
             new_certs_dir = {db}\nserial = {db}/serial\npolicy = any\ncopy_extensions = none\n\
             unique_subject = no\n[any]\ncommonName = supplied\norganizationName = optional\n\
             countryName = optional\n\
             [root]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n\
             [sub]\nbasicConstraints = critical,CA:true,pathlen:0\n\
             keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n\
             [ee]\nbasicConstraints = critical,CA:false\n\
             keyUsage = critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n"
        ),
    )
    .unwrap();
}

/// `kyso verify CONTENT --sig SIG --json --at AT --no-revocation-check --offline` with
/// an empty data directory and `extra` flags.
fn verify(dir: &Path, content: &str, sig: &str, at: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = kyso();
    cmd.current_dir(dir)
        .arg("--data")
        .arg(dir.join("kyso-data"))
        .args(["verify", content, "--sig", sig, "--json", "--at", at])
        .args(["--no-revocation-check", "--offline"])
        .args(extra);
    let out = run(&mut cmd);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", describe(&cmd, &out)));
    (out.status.code(), json)
}

fn codes(v: &Value) -> Vec<String> {
    v["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| {
            s["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(s["warnings"].as_array().into_iter().flatten())
        })
        .filter_map(|r| r["code"].as_str().map(str::to_string))
        .collect()
}

/// pyHanko's bottom line for a detached signature, trusting only `root`.
fn pyhanko_detached(dir: &Path, sig: &str, content: &str, root: &str) -> String {
    let out = run(pyhanko().current_dir(dir).args([
        "sign",
        "validate",
        "--pretty-print",
        "--trust",
        root,
        "--trust-replace",
        "--no-revocation-check",
        "--detached",
        sig,
        content,
    ]));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("The signature is judged VALID") {
        "VALID".into()
    } else {
        text
    }
}

/// `openssl cms -verify` (attached when `content` is `None`).
fn openssl_verifies(dir: &Path, sig: &str, content: Option<&str>, root: &str, at: &str) -> bool {
    let mut c = openssl();
    c.current_dir(dir).args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        sig,
        "-CAfile",
        root,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
        "-attime",
        at,
    ]);
    if let Some(content) = content {
        c.args(["-content", content]);
    }
    run(&mut c).status.success()
}

/// 2026-06-01T00:00:00Z, inside every certificate below; as Unix time for OpenSSL.
const AT: &str = "2026-06-01T00:00:00Z";
const AT_UNIX: &str = "1780272000";

/// A P-256 root and end entity with fixed dates (2020–2040).
fn p256_chain(dir: &Path) {
    ca_config(dir, "root");
    sh(
        dir,
        "for k in root ee; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key; done
         openssl req -new -key root.key -subj '/C=VN/O=Kyso peers/CN=Root BER' -out root.csr
         openssl ca -batch -config ca-root.cnf -notext -md sha256 -selfsign -keyfile root.key -in root.csr \
            -extensions root -startdate 20200101000000Z -enddate 20400101000000Z -out root.pem 2>/dev/null
         openssl req -new -key ee.key -subj '/C=VN/O=Kyso peers/CN=Nguyen Van BER' -out ee.csr
         openssl ca -batch -config ca-root.cnf -notext -md sha256 -cert root.pem -keyfile root.key -in ee.csr \
            -extensions ee -startdate 20200101000000Z -enddate 20400101000000Z -out ee.pem 2>/dev/null
         printf 'Cong van so 12/UBND-VP\\n' > doc.txt",
    );
}

/// Re-encode a DER file as BER the way streaming encoders do, in Python: indefinite
/// lengths on constructed values down to `depth` levels, and with `split`, OCTET
/// STRINGs in 4-byte segments (constructed) at those levels.
fn python_to_ber(dir: &Path, input: &str, output: &str, depth: usize, split: bool) {
    let script = r#"
import sys
def header(b, p):
    f = b[p + 1]
    if f < 0x80:
        return 2, f
    n = f & 0x7f
    return 2 + n, int.from_bytes(b[p + 2:p + 2 + n], 'big')
depth, split = int(sys.argv[3]), sys.argv[4] == '1'
def walk(b, d):
    out, p = bytearray(), 0
    while p < len(b):
        tag = b[p]
        h, n = header(b, p)
        c = b[p + h:p + h + n]
        if d >= depth:
            out += b[p:p + h + n]
        elif tag & 0x20:
            out += bytes([tag, 0x80]) + walk(c, d + 1) + b'\0\0'
        elif split and tag == 0x04 and n > 4:
            out += b'\x24\x80'
            for i in range(0, n, 4):
                seg = c[i:i + 4]
                out += bytes([4, len(seg)]) + seg
            out += b'\0\0'
        else:
            out += b[p:p + h + n]
        p += h + n
    return bytes(out)
data = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(walk(data, 0))
"#;
    let depth = depth.to_string();
    let split = if split { "1" } else { "0" };
    success(
        python()
            .current_dir(dir)
            .args(["-c", script, input, output, &depth, split]),
    );
}

#[test]
fn openssl_ber_noattr_keyid_signatures_are_valid() {
    let dir = scratch("ber-noattr-keyid");
    p256_chain(&dir);
    // (file, openssl flags, detached)
    let cases: [(&str, &str, bool); 5] = [
        ("stream.p7s", "-stream", false),
        ("noattr.p7s", "-noattr", true),
        ("keyid.p7s", "-keyid", true),
        ("stream-noattr-keyid.p7s", "-stream -noattr -keyid", false),
        ("noattr-keyid.p7s", "-noattr -keyid", true),
    ];
    for (file, flags, _) in &cases {
        sh(
            &dir,
            &format!(
                "openssl cms -sign -binary {flags} -md sha256 -signer ee.pem -inkey ee.key \
                 -outform DER -in doc.txt -out {file}"
            ),
        );
    }
    for (file, flags, detached) in cases {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        if flags.contains("-stream") {
            assert_eq!(&bytes[..2], &[0x30, 0x80], "{file}: BER, indefinite length");
        }
        // OpenSSL's own verdict.
        assert!(
            openssl_verifies(
                &dir,
                file,
                detached.then_some("doc.txt"),
                "root.pem",
                AT_UNIX
            ),
            "{file}: openssl"
        );
        // kyso, with the file given (encapsulated: it must be the same content).
        let (code, v) = verify(&dir, "doc.txt", file, AT, &["--trust", "root.pem"]);
        assert_eq!(v["verdict"], "valid", "{file}: {v:#}");
        assert_eq!(code, Some(0));
        let codes = codes(&v);
        assert_eq!(
            codes.contains(&"not_baseline".to_string()),
            flags.contains("-noattr"),
            "{file}: {codes:?}"
        );
        // pyHanko on the detached ones (it refuses encapsulated content with
        // --detached: "detached signatures should not have encapsulated data").
        if detached {
            assert_eq!(
                pyhanko_detached(&dir, file, "doc.txt", "root.pem"),
                "VALID",
                "{file}: pyHanko"
            );
        }
        // A changed file is never valid.
        std::fs::write(dir.join("other.txt"), "Cong van so 13/UBND-VP\n").unwrap();
        let (code, v) = verify(&dir, "other.txt", file, AT, &["--trust", "root.pem"]);
        assert_eq!(v["verdict"], "invalid", "{file}: {v:#}");
        assert_eq!(code, Some(1));
    }
    // An encapsulating signature verified alone (no content file next to it).
    let (code, v) = verify(
        &dir,
        "no-such-content",
        "stream.p7s",
        AT,
        &["--trust", "root.pem"],
    );
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v:#}"
    );
    // A detached BER file (Acrobat-style indefinite lengths everywhere), judged by
    // pyHanko and kyso on the same bytes.
    sh(
        &dir,
        "openssl cms -sign -binary -md sha256 -signer ee.pem -inkey ee.key -outform DER \
         -in doc.txt -out detached-der.p7s",
    );
    // Outer levels only (ContentInfo, SignedData and its fields; certificates and
    // signed attributes stay DER), as Acrobat writes: pyHanko and kyso both say valid.
    python_to_ber(&dir, "detached-der.p7s", "detached-ber.p7s", 4, false);
    let ber = std::fs::read(dir.join("detached-ber.p7s")).unwrap();
    assert_eq!(&ber[..2], &[0x30, 0x80]);
    assert_eq!(
        pyhanko_detached(&dir, "detached-ber.p7s", "doc.txt", "root.pem"),
        "VALID"
    );
    let (code, v) = verify(
        &dir,
        "doc.txt",
        "detached-ber.p7s",
        AT,
        &["--trust", "root.pem"],
    );
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v:#}"
    );
    // Every level, OCTET STRINGs segmented (inside the signed attributes too): kyso
    // checks the signature on the DER of the attributes (RFC 5652 §5.4) and says
    // valid; pyHanko 0.38 stops with "Generic processing error" (recorded only).
    python_to_ber(&dir, "detached-der.p7s", "deep-ber.p7s", 64, true);
    let (code, v) = verify(
        &dir,
        "doc.txt",
        "deep-ber.p7s",
        AT,
        &["--trust", "root.pem"],
    );
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v:#}"
    );
    let py = pyhanko_detached(&dir, "deep-ber.p7s", "doc.txt", "root.pem");
    eprintln!(
        "pyHanko on deep-ber.p7s: {}",
        py.lines().last().unwrap_or("")
    );
}

#[test]
fn ca_key_rollover_both_signers_are_valid() {
    let dir = scratch("rollover");
    // Two roots with the same name and different keys; each issues a signer; the two
    // signers get the same serial (02) from their CA's own database.
    ca_config(&dir, "old");
    ca_config(&dir, "new");
    sh(
        &dir,
        "for k in old new a b; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key; done
         for ca in old new; do
           openssl req -new -key $ca.key -subj '/C=VN/O=Kyso peers/CN=National Root CA' -out $ca.csr
           openssl ca -batch -config ca-$ca.cnf -notext -md sha256 -selfsign -keyfile $ca.key -in $ca.csr \
              -extensions root -startdate 20200101000000Z -enddate 20400101000000Z -out $ca.pem 2>/dev/null
         done
         openssl req -new -key a.key -subj '/C=VN/CN=Signer A' -out a.csr
         openssl ca -batch -config ca-old.cnf -notext -md sha256 -cert old.pem -keyfile old.key -in a.csr \
            -extensions ee -startdate 20210101000000Z -enddate 20310101000000Z -out a.pem 2>/dev/null
         openssl req -new -key b.key -subj '/C=VN/CN=Signer B' -out b.csr
         openssl ca -batch -config ca-new.cnf -notext -md sha256 -cert new.pem -keyfile new.key -in b.csr \
            -extensions ee -startdate 20210101000000Z -enddate 20310101000000Z -out b.pem 2>/dev/null
         cat old.pem new.pem > both-roots.pem
         printf 'Quyet dinh so 15/QD-UBND\\n' > doc.txt
         openssl cms -sign -binary -md sha256 -signer a.pem -inkey a.key -signer b.pem -inkey b.key \
            -outform DER -in doc.txt -out both.p7s",
    );
    let serial = |f: &str| {
        let out = run(openssl()
            .current_dir(&dir)
            .args(["x509", "-noout", "-serial", "-in", f]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        serial("a.pem"),
        serial("b.pem"),
        "same issuer name, same serial"
    );
    // OpenSSL 3.0 takes one certificate per issuer-and-serial and fails the other
    // signer ("CMS_SignerInfo_verify: verification failure"): recorded, not required.
    let openssl_ok = openssl_verifies(&dir, "both.p7s", Some("doc.txt"), "both-roots.pem", AT_UNIX);
    eprintln!("openssl cms -verify on the rollover file: success = {openssl_ok}");
    let (code, v) = verify(
        &dir,
        "doc.txt",
        "both.p7s",
        AT,
        &[
            "--trust",
            "old.pem",
            "--trust",
            "new.pem",
            "--trust-list",
            "none",
        ],
    );
    assert_eq!(v["verdict"], "valid", "{v:#}");
    assert_eq!(code, Some(0));
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2);
    for s in v["signatures"].as_array().unwrap() {
        assert_eq!(s["indication"], "TOTAL_PASSED", "{s:#}");
    }
    // Only the new root: signer A (old key) must not verify, signer B must.
    let (_, v) = verify(
        &dir,
        "doc.txt",
        "both.p7s",
        AT,
        &["--trust", "new.pem", "--trust-list", "none"],
    );
    let mut indications: Vec<(&str, &str)> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["signer"]["common_name"].as_str().unwrap(),
                s["indication"].as_str().unwrap(),
            )
        })
        .collect();
    indications.sort();
    assert_eq!(
        indications,
        [("Signer A", "INDETERMINATE"), ("Signer B", "TOTAL_PASSED")],
        "{v:#}"
    );
}

#[test]
fn sha1_chain_is_judged_by_the_dated_policy() {
    let dir = scratch("sha1");
    let script = workspace().join("crates/cades/tests/data/legacy/make.sh");
    sh(&dir, &format!("sh {}", script.display()));
    // OpenSSL's own verdict in 2015 (it accepts SHA-1 at security level 0 only).
    let openssl_2015 = run(openssl().current_dir(&dir).args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "sha1-noattr.p7s",
        "-content",
        "doc.txt",
        "-CAfile",
        "root.pem",
        "-purpose",
        "any",
        "-out",
        "/dev/null",
        "-attime",
        "1433116800",
    ]));
    assert!(openssl_2015.status.success(), "{openssl_2015:?}");
    let at_2015 = "2015-06-01T00:00:00Z";
    let at_2020 = "2020-06-01T00:00:00Z";
    let trust = ["--trust", "root.pem", "--trust-list", "none"];
    for sig in ["sha1-noattr.p7s", "sha1.p7s"] {
        let (code, v) = verify(&dir, "doc.txt", sig, at_2015, &trust);
        assert_eq!(
            (code, v["verdict"].as_str()),
            (Some(0), Some("valid")),
            "{sig}: {v:#}"
        );
        let codes = codes(&v);
        assert!(codes.contains(&"weak_algorithm".to_string()), "{codes:?}");
        let (code, v) = verify(&dir, "doc.txt", sig, at_2020, &trust);
        assert_eq!(code, Some(1));
        assert_eq!(v["verdict"], "indeterminate", "{sig}: {v:#}");
        assert_eq!(
            v["signatures"][0]["sub_indication"], "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            "{v:#}"
        );
        assert!(!codes.contains(&"unsupported_algorithm".to_string()));
        // A policy that accepts SHA-1 until 2030.
        let mut lenient = trust.to_vec();
        lenient.extend(["--sha1-until", "2030-01-01T00:00:00Z"]);
        let (code, v) = verify(&dir, "doc.txt", sig, at_2020, &lenient);
        assert_eq!(
            (code, v["verdict"].as_str()),
            (Some(0), Some("valid")),
            "{sig}: {v:#}"
        );
    }
    // pyHanko's verdict on the same SHA-1 signature (today's time, its own policy),
    // recorded for comparison: kyso says "indeterminate" today, never "invalid".
    let py = pyhanko_detached(&dir, "sha1-noattr.p7s", "doc.txt", "root.pem");
    eprintln!(
        "pyHanko on sha1-noattr.p7s: {}",
        py.lines().last().unwrap_or("")
    );
}

#[test]
fn builtin_trust_list_and_a_look_alike_root() {
    let dir = scratch("trust-list");
    let real = workspace().join("trust/vn/vietnam-national-root-ca.pem");
    ca_config(&dir, "fake");
    // The look-alike: the real root's name and key identifier, another key.
    sh(
        &dir,
        &format!(
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out fake.key
             openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ee.key
             openssl x509 -in {} -signkey fake.key -days 3650 -out fake.pem 2>/dev/null
             openssl req -new -key ee.key -subj '/C=VN/CN=Mao Danh' -out ee.csr
             openssl ca -batch -config ca-fake.cnf -notext -md sha256 -cert fake.pem -keyfile fake.key \
                -in ee.csr -extensions ee -days 365 -out ee.pem 2>/dev/null
             printf 'Van ban gia mao\\n' > doc.txt
             openssl cms -sign -binary -md sha256 -signer ee.pem -inkey ee.key -certfile fake.pem \
                -outform DER -in doc.txt -out doc.p7s
             cp fake.pem list.pem",
            real.display()
        ),
    );
    // Validity of the look-alike starts today: validate tomorrow.
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    // Default (built-in vn list, look-alike embedded in the signature): not valid.
    let (code, v) = verify(&dir, "doc.txt", "doc.p7s", &at, &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_ne!(v["verdict"], "valid", "{v:#}");
    // Trusted explicitly: valid, and the report says where the anchor came from.
    let (code, v) = verify(&dir, "doc.txt", "doc.p7s", &at, &["--trust", "fake.pem"]);
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v:#}"
    );
    assert_eq!(v["signatures"][0]["trust_anchor_source"], "fake.pem");
    // An updated list from a file replaces the built-in one.
    let (code, v) = verify(
        &dir,
        "doc.txt",
        "doc.p7s",
        &at,
        &["--trust-list", "list.pem"],
    );
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v:#}"
    );
    assert_eq!(v["signatures"][0]["trust_anchor_source"], "list.pem");
    let (code, _) = verify(&dir, "doc.txt", "doc.p7s", &at, &["--trust-list", "none"]);
    assert_eq!(code, Some(1));
    // A missing list file: could not run.
    let out = run(kyso()
        .current_dir(&dir)
        .arg("--data")
        .arg(dir.join("d"))
        .args([
            "verify",
            "doc.txt",
            "--sig",
            "doc.p7s",
            "--trust-list",
            "missing.pem",
        ]));
    assert_eq!(out.status.code(), Some(2));
    // The human report names the list.
    let out = run(kyso()
        .current_dir(&dir)
        .arg("--data")
        .arg(dir.join("d"))
        .args([
            "verify",
            "doc.txt",
            "--sig",
            "doc.p7s",
            "--trust",
            "fake.pem",
            "--no-revocation-check",
            "--offline",
            "--lang",
            "en",
            "--at",
            &at,
        ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Trust anchor:") && text.contains("fake.pem"),
        "{text}"
    );
}

#[test]
fn far_future_dates_give_verdicts_not_panics() {
    let dir = scratch("far-future");
    ca_config(&dir, "root");
    sh(
        &dir,
        "for k in root ee; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key; done
         openssl req -new -key root.key -subj '/C=VN/CN=Root 9999' -out root.csr
         openssl ca -batch -config ca-root.cnf -notext -md sha256 -selfsign -keyfile root.key -in root.csr \
            -extensions root -startdate 20200101000000Z -enddate 99991231235959Z -out root.pem 2>/dev/null
         openssl req -new -key ee.key -subj '/C=VN/CN=Signer 9999' -out ee.csr
         openssl ca -batch -config ca-root.cnf -notext -md sha256 -cert root.pem -keyfile root.key -in ee.csr \
            -extensions ee -startdate 20200101000000Z -enddate 99991231235959Z -out ee.pem 2>/dev/null
         mkdir -p import
         printf 'Cong van so 1/UBND\\n' > import/doc.txt
         openssl cms -sign -binary -md sha256 -signer ee.pem -inkey ee.key -outform DER \
            -in import/doc.txt -out import/doc.txt.p7s",
    );
    let trust = ["--trust", "root.pem", "--trust-list", "none"];
    for at in [AT, "9999-12-31T23:59:59Z", "2019-06-01T00:00:00Z"] {
        let (code, v) = verify(&dir, "import/doc.txt", "import/doc.txt.p7s", at, &trust);
        assert!(matches!(code, Some(0 | 1)), "{at}: {v:#}");
        if at == "2019-06-01T00:00:00Z" {
            // --at before the signer's notBefore: not valid.
            assert_ne!(v["verdict"], "valid", "{v:#}");
            assert!(
                codes(&v).iter().any(|c| c.starts_with("not_yet_valid")),
                "{v:#}"
            );
        } else {
            assert_eq!(v["verdict"], "valid", "{at}: {v:#}");
        }
    }
    // kyso's own CA: a revocation dated 9999-12-31T23:59:59Z.
    let data = dir.join("ca-data");
    success(
        kyso()
            .arg("--data")
            .arg(&data)
            .args(["ca", "init", "--name", "CA 9999"]),
    );
    success(
        kyso()
            .arg("--data")
            .arg(&data)
            .args([
                "ca",
                "issue",
                "--profile",
                "person",
                "--name",
                "far",
                "--cn",
                "Nguoi Ky",
                "--key-type",
                "p256",
                "--export-plain",
            ])
            .arg(dir.join("exp")),
    );
    let out = run(openssl()
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(dir.join("exp/far.crt.pem")));
    let serial = String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_string();
    let out = run(kyso().arg("--data").arg(&data).args([
        "ca",
        "revoke",
        "--serial",
        &serial,
        "--at",
        "9999-12-31T23:59:59Z",
    ]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Later than any CRL can say (year 10000 in UTC): a clear error.
    let out = run(kyso().arg("--data").arg(&data).args([
        "ca",
        "revoke",
        "--serial",
        &serial,
        "--at",
        "9999-12-31T23:59:59-07:00",
    ]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("after 9999-12-31T23:59:59Z"),
        "{out:?}"
    );
    // Archive import of a signature whose certificates end in 9999.
    let out = run(kyso()
        .arg("--data")
        .arg(dir.join("archive-data"))
        .env("KYSO_AGENCY_ID", "000.00.00.H13")
        .args(["archive", "import", "--offline", "--type", "CV"])
        .arg(dir.join("import")));
    assert!(out.status.code().is_some_and(|c| c <= 2), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
}

/// `kyso verify --extract-signed N --out X` never writes over its input (same path or
/// same inode through a link) and replaces another existing file only with `--force`.
#[test]
fn extract_signed_never_overwrites_its_input() {
    let dir = scratch("extract");
    let data = dir.join("data");
    success(
        kyso()
            .arg("--data")
            .arg(&data)
            .args(["ca", "init", "--name", "CA trích xuất"]),
    );
    success(kyso().arg("--data").arg(&data).args([
        "ca",
        "issue",
        "--profile",
        "person",
        "--name",
        "leader",
        "--cn",
        "Trần Văn Bình",
        "--key-type",
        "p256",
    ]));
    std::fs::copy(
        workspace().join("testdata/documents/cong-van.pdf"),
        dir.join("cong-van.pdf"),
    )
    .unwrap();
    success(kyso().current_dir(&dir).arg("--data").arg(&data).args([
        "sign",
        "cong-van.pdf",
        "--key",
        "leader",
        "--out",
        "signed.pdf",
        "--no-embed-revocation",
    ]));
    let original = std::fs::read(dir.join("signed.pdf")).unwrap();
    let extract = |out: &str, extra: &[&str]| {
        run(kyso()
            .current_dir(&dir)
            .arg("--data")
            .arg(&data)
            .args([
                "verify",
                "signed.pdf",
                "--extract-signed",
                "1",
                "--out",
                out,
            ])
            .args(extra))
    };
    // The input itself, by the same name, another spelling, and a hard link.
    std::fs::hard_link(dir.join("signed.pdf"), dir.join("link.pdf")).unwrap();
    for out in ["signed.pdf", "./signed.pdf", "link.pdf"] {
        for extra in [&[][..], &["--force"][..]] {
            let o = extract(out, extra);
            assert_eq!(o.status.code(), Some(2), "{out} {extra:?}: {o:?}");
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("input file"),
                "{o:?}"
            );
        }
    }
    assert_eq!(std::fs::read(dir.join("signed.pdf")).unwrap(), original);
    // A new file: written; again: refused; with --force: replaced.
    assert_eq!(extract("rev1.pdf", &[]).status.code(), Some(0));
    let o = extract("rev1.pdf", &[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--force"),
        "{o:?}"
    );
    std::fs::write(dir.join("rev1.pdf"), b"old").unwrap();
    assert_eq!(extract("rev1.pdf", &["--force"]).status.code(), Some(0));
    assert_ne!(std::fs::read(dir.join("rev1.pdf")).unwrap(), b"old");
}
