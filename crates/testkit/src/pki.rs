//! The test PKI: root → issuing CA → a leader's personal certificate ("Nguyễn Văn
//! Hùng"), an agency seal and a TSA, built in-process with `kyso_pki::ca::issue`, exported
//! as PEM for pyHanko; an HTTP server on 127.0.0.1 serving the CRLs and an RFC 3161
//! time-stamp authority (`kyso_cades::tsp::Tsa`); pyHanko as the reference signer.
//!
//! pyHanko: `KYSO_PYHANKO` / `KYSO_PYTHON`, else `<workspace>/.venv/bin/…` (made by
//! `scripts/test.sh`). A missing peer fails the test with a message; it never skips.

use std::path::{Path, PathBuf};

use crate::workspace;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use der::Encode;
use kyso_cades::tsp::{self, Tsa};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, build_crl, issue};
use kyso_pki::path::TrustAnchors;
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

/// The PKI, its files and the server.
#[derive(Debug)]
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root_pem: PathBuf,
    pub chain_pem: PathBuf,
    pub key_pem: PathBuf,
    pub cert_pem: PathBuf,
    /// A second signer (another agency's seal) for co-signing.
    pub key2_pem: PathBuf,
    pub cert2_pem: PathBuf,
    pub root_der: Vec<u8>,
    /// The root's and the issuing CA's CRLs (what the server publishes).
    pub crls: Vec<Vec<u8>>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A short-lived personal certificate (valid from a day ago for two days) of the
    /// issuing CA, with its key and the issuing CA's certificate: archived signatures
    /// that outlive their certificate (evidence records).
    pub short_lived: ShortLived,
}

/// A signer whose certificate expires a day after the fixture is built.
#[derive(Debug)]
pub struct ShortLived {
    pub key: SoftKey,
    pub certificate: Certificate,
    pub issuing_ca: Certificate,
    issuing_key: SoftKey,
}

impl ShortLived {
    /// When the certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        let t = self
            .certificate
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration();
        OffsetDateTime::UNIX_EPOCH + Duration::try_from(t).unwrap()
    }

    /// A CRL of the issuing CA (DER) listing this certificate as revoked at
    /// `revoked_at` (key compromise), issued just after it.
    pub fn revoked_crl(&self, revoked_at: OffsetDateTime) -> Vec<u8> {
        let issuer = Issuer {
            certificate: &self.issuing_ca,
            key: &self.issuing_key,
        };
        build_crl(
            &issuer,
            &[kyso_pki::ca::RevokedEntry {
                serial: self
                    .certificate
                    .tbs_certificate()
                    .serial_number()
                    .as_bytes()
                    .to_vec(),
                revoked_at,
                reason: Some(kyso_pki::ca::RevocationReason::KeyCompromise),
            }],
            revoked_at + Duration::minutes(1),
            revoked_at + Duration::days(30),
            2,
        )
        .unwrap()
    }

    /// A detached CAdES signature (DER) of `content`, signed now, carrying the issuing
    /// CA's certificate.
    pub fn sign_detached(&self, content: &[u8]) -> Vec<u8> {
        let alg = kyso_cades::sign::digest_algorithm(self.key.algorithm());
        let digest = alg.digest(content);
        kyso_cades::sign::sign(
            &self.key,
            &kyso_cades::sign::SignRequest {
                message_digest: &digest,
                signer_certificate: &self.certificate,
                chain: std::slice::from_ref(&self.issuing_ca),
                signing_time: Some(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()),
                content_type: None,
                crls: &[],
                encapsulated: None,
            },
        )
        .unwrap()
    }
}

impl Fixture {
    pub fn tsa_url(&self) -> String {
        format!("{}/tsa", self.url)
    }

    pub fn anchors(&self) -> TrustAnchors {
        let mut a = TrustAnchors::new();
        a.add_der(&self.root_der).unwrap();
        a
    }

    /// A fresh scratch directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

fn subject(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: Some("Sở Thông tin và Truyền thông thành phố Cần Thơ".into()),
        country: "VN".into(),
        ..SubjectName::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    from: OffsetDateTime,
    to: OffsetDateTime,
    serial: u8,
    crl_url: Option<String>,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: subject(cn),
        public_key: key.public_key().clone(),
        not_before: from,
        not_after: to,
        serial: [serial; 16],
        crl_url,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: (profile == Profile::IssuingCa).then_some(0),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

fn build() -> Fixture {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let root_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root = issue(
        &request(
            Profile::RootCa,
            "CA gốc thử nghiệm kyso",
            &root_key,
            now - Duration::days(30),
            now + Duration::days(3650),
            1,
            None,
        ),
        None,
        Some(&root_key),
    )
    .unwrap();
    let sub_key = SoftKey::generate(KeyKind::P256).unwrap();
    let root_issuer = Issuer {
        certificate: &root,
        key: &root_key,
    };
    let sub = issue(
        &request(
            Profile::IssuingCa,
            "CA cấp dưới thử nghiệm kyso",
            &sub_key,
            now - Duration::days(30),
            now + Duration::days(3000),
            2,
            Some(format!("{url}/crl/root.crl")),
        ),
        Some(&root_issuer),
        None,
    )
    .unwrap();
    let sub_issuer = Issuer {
        certificate: &sub,
        key: &sub_key,
    };
    let leaf = |cn: &str, profile: Profile, serial: u8| {
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let mut req = request(
            profile,
            cn,
            &key,
            now - Duration::days(1),
            now + Duration::days(365),
            serial,
            Some(format!("{url}/crl/sub.crl")),
        );
        // As licensed CAs do: where the issuer's certificate is (AIA caIssuers), for
        // verifiers given only the end entity's certificate.
        req.ca_issuers_url = Some(format!("{url}/ca/sub.crt"));
        let cert = issue(&req, Some(&sub_issuer), None).unwrap();
        (key, cert)
    };
    let (key, cert) = leaf("Nguyễn Văn Hùng", Profile::Person, 10);
    let (key2, cert2) = leaf("Sở Thông tin và Truyền thông", Profile::Seal, 11);
    let (tsa_key, tsa_cert) = leaf("TSA thử nghiệm kyso", Profile::Tsa, 12);
    let short_key = SoftKey::generate(KeyKind::P256).unwrap();
    let mut short_req = request(
        Profile::Person,
        "Trần Thị Ngắn Hạn",
        &short_key,
        now - Duration::days(1),
        now + Duration::days(1),
        13,
        Some(format!("{url}/crl/sub.crl")),
    );
    short_req.ca_issuers_url = Some(format!("{url}/ca/sub.crt"));
    let short_cert = issue(&short_req, Some(&sub_issuer), None).unwrap();
    let short_lived = ShortLived {
        key: short_key,
        certificate: short_cert,
        issuing_ca: sub.clone(),
        issuing_key: SoftKey::from_pkcs8_der(&sub_key.to_pkcs8_der(), None).unwrap(),
    };
    let root_crl = build_crl(
        &root_issuer,
        &[],
        now - Duration::hours(1),
        now + Duration::days(30),
        1,
    )
    .unwrap();
    let sub_crl = build_crl(
        &sub_issuer,
        &[],
        now - Duration::hours(1),
        now + Duration::days(30),
        1,
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let root_pem = write("root.pem", pem("CERTIFICATE", &root.to_der().unwrap()));
    let chain_pem = write("chain.pem", pem("CERTIFICATE", &sub.to_der().unwrap()));
    let key_pem = write("signer.key.pem", pem("PRIVATE KEY", &key.to_pkcs8_der()));
    let cert_pem = write("signer.pem", pem("CERTIFICATE", &cert.to_der().unwrap()));
    let key2_pem = write("seal.key.pem", pem("PRIVATE KEY", &key2.to_pkcs8_der()));
    let cert2_pem = write("seal.pem", pem("CERTIFICATE", &cert2.to_der().unwrap()));
    let root_der = root.to_der().unwrap();
    let crls = vec![root_crl.clone(), sub_crl.clone()];

    std::thread::spawn(move || serve(server, tsa_cert, tsa_key, sub, root_crl, sub_crl));
    Fixture {
        dir,
        root_pem,
        chain_pem,
        key_pem,
        cert_pem,
        key2_pem,
        cert2_pem,
        root_der,
        crls,
        url,
        short_lived,
    }
}

fn serve(
    server: tiny_http::Server,
    tsa_cert: Certificate,
    tsa_key: SoftKey,
    sub: Certificate,
    root_crl: Vec<u8>,
    sub_crl: Vec<u8>,
) {
    let mut serial = 1u64;
    for mut req in server.incoming_requests() {
        let path = req.url().to_string();
        let body: Vec<u8> = match path.as_str() {
            "/crl/root.crl" => root_crl.clone(),
            "/crl/sub.crl" => sub_crl.clone(),
            "/ca/sub.crt" => sub.to_der().unwrap_or_default(),
            "/tsa" => {
                let mut q = Vec::new();
                let _ = std::io::Read::read_to_end(req.as_reader(), &mut q);
                serial += 1;
                let mut s = [0x11u8; 16];
                s[8..].copy_from_slice(&serial.to_be_bytes());
                let tsa = Tsa {
                    certificate: &tsa_cert,
                    chain: std::slice::from_ref(&sub),
                    signer: &tsa_key,
                    policy: tsp::DEFAULT_POLICY,
                };
                tsa.respond(&q, s, OffsetDateTime::now_utc())
                    .unwrap_or_default()
            }
            _ => {
                let _ = req.respond(tiny_http::Response::empty(404));
                continue;
            }
        };
        let kind = if path == "/tsa" {
            "application/timestamp-reply"
        } else {
            "application/pkix-crl"
        };
        let header = tiny_http::Header::from_bytes("Content-Type", kind).unwrap();
        let _ = req.respond(tiny_http::Response::from_data(body).with_header(header));
    }
}

// ---------------------------------------------------------------------------------
// pyHanko
// ---------------------------------------------------------------------------------

fn venv_tool(var: &str, name: &str, probe: &[&str], cell: &'static OnceLock<PathBuf>) -> Command {
    let path = cell.get_or_init(|| {
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join(".venv/bin").join(name));
        let out = Command::new(&path).args(probe).output().unwrap_or_else(|e| {
            panic!(
                "peer missing: cannot run {} ({e}); run scripts/test.sh once (it makes the pyHanko venv at .venv) or set {var}",
                path.display()
            )
        });
        assert!(out.status.success(), "peer unusable: {} {probe:?} failed", path.display());
        path
    });
    let mut c = Command::new(path);
    c.stdin(Stdio::null());
    c
}

/// The pyHanko CLI.
pub fn pyhanko() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    venv_tool("KYSO_PYHANKO", "pyhanko", &["--version"], &CHECKED)
}

/// The Python that has pyHanko.
pub fn python() -> Command {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    venv_tool(
        "KYSO_PYTHON",
        "python",
        &["-c", "import pyhanko.sign"],
        &CHECKED,
    )
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Runs `cmd`; fails the test with its output unless it succeeds.
pub fn check(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Which key signs.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    Leader,
    Seal,
}

/// `pyhanko sign addsig [extra] --field FIELD pemder …` from `input` to `output`.
pub fn sign_with(input: &Path, output: &Path, field: &str, who: Who, extra: &[&str]) {
    let f = fixture();
    let (key, cert) = match who {
        Who::Leader => (&f.key_pem, &f.cert_pem),
        Who::Seal => (&f.key2_pem, &f.cert2_pem),
    };
    check(
        pyhanko()
            .args(["sign", "addsig"])
            .args(extra)
            .args(["--field", field, "pemder", "--key"])
            .arg(key)
            .arg("--cert")
            .arg(cert)
            .arg("--chain")
            .arg(&f.chain_pem)
            .arg("--no-pass")
            .arg(input)
            .arg(output),
    );
}

/// Sign bytes with pyHanko; returns the signed bytes.
pub fn sign_bytes(input: &[u8], field: &str, who: Who, extra: &[&str]) -> Vec<u8> {
    let f = fixture();
    let dir = tempfile::tempdir_in(f.dir.path()).unwrap();
    let i = dir.path().join("in.pdf");
    let o = dir.path().join("out.pdf");
    std::fs::write(&i, input).unwrap();
    sign_with(&i, &o, field, who, extra);
    std::fs::read(&o).unwrap()
}

/// A certification signature with DocMDP permission `p` (pyHanko's Python API; the
/// CLI always uses P2).
pub fn certify_bytes(input: &[u8], field: &str, p: u8) -> Vec<u8> {
    let f = fixture();
    let dir = tempfile::tempdir_in(f.dir.path()).unwrap();
    let i = dir.path().join("in.pdf");
    let o = dir.path().join("out.pdf");
    std::fs::write(&i, input).unwrap();
    let script = r#"
import sys
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
key, cert, chain, inp, out, field, p = sys.argv[1:]
signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
with open(inp, 'rb') as fin:
    w = IncrementalPdfFileWriter(fin)
    meta = signers.PdfSignatureMetadata(field_name=field, certify=True, docmdp_permissions=MDPPerm(int(p)))
    with open(out, 'wb') as fout:
        signers.sign_pdf(w, meta, signer=signer, output=fout)
"#;
    check(
        python()
            .arg("-c")
            .arg(script)
            .arg(&f.key_pem)
            .arg(&f.cert_pem)
            .arg(&f.chain_pem)
            .arg(&i)
            .arg(&o)
            .arg(field)
            .arg(p.to_string()),
    );
    std::fs::read(&o).unwrap()
}
