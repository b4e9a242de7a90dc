//! Test support for PAdES signing: an in-process PKI (root, issuing CA, TSA, a leader
//! with RSA and P-256 keys, an agency seal) with CRLs, a time-stamp callback backed by
//! `kyso_cades::tsp::Tsa`, the shared test documents and images, and the peers
//! (pyHanko, qpdf, pdfsig, pdftoppm, pdftotext). A missing peer fails the test.

#![allow(dead_code, reason = "each test binary uses part of the support")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use der::Encode;
use kyso_cades::tsp::{self, Tsa};
use kyso_pki::ca::{IssueRequest, Issuer, Profile, SubjectName, build_crl, issue};
use kyso_signer::{DigestAlgorithm, KeyKind, Signer, SoftKey};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

pub(crate) const LEADER_CN: &str = "Nguyễn Văn Hùng";
pub(crate) const AGENCY: &str = "Sở Thông tin và Truyền thông thành phố Cần Thơ";

/// The repository's test data (`testdata/` at the workspace root).
pub(crate) fn testdata() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"));
    assert!(
        dir.join("documents/layout.json").is_file(),
        "test documents not found at {} (it is part of the repository: testdata/, see testdata/README.md)",
        dir.display()
    );
    dir
}

pub(crate) fn document(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("documents").join(name)).unwrap()
}

pub(crate) fn image(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("images").join(name)).unwrap()
}

pub(crate) fn layout() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(testdata().join("documents/layout.json")).unwrap())
        .unwrap()
}

/// `[x0, y0, x1, y1]` of a mark in layout.json, and its page.
pub(crate) fn mark(doc: &str, name: &str) -> (usize, [f64; 4]) {
    let l = layout();
    let m = &l["documents"][doc]["marks"][name];
    let b = m["bbox"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}: no mark {name}"));
    let v: Vec<f64> = b.iter().map(|x| x.as_f64().unwrap()).collect();
    (
        m["page"].as_u64().unwrap() as usize,
        [v[0], v[1], v[2], v[3]],
    )
}

/// A key and its certificate.
pub(crate) struct Identity {
    pub(crate) key: SoftKey,
    pub(crate) cert: Certificate,
}

/// The test PKI.
pub(crate) struct Pki {
    pub(crate) root: Certificate,
    pub(crate) issuing: Certificate,
    issuing_key: SoftKey,
    root_key: SoftKey,
    pub(crate) tsa: Identity,
    pub(crate) leader_rsa: Identity,
    pub(crate) leader_p256: Identity,
    pub(crate) seal: Identity,
    pub(crate) now: OffsetDateTime,
    pub(crate) dir: PathBuf,
}

fn subject(cn: &str) -> SubjectName {
    SubjectName {
        common_name: cn.into(),
        organization: Some(AGENCY.into()),
        country: "VN".into(),
        ..SubjectName::default()
    }
}

fn request(
    profile: Profile,
    cn: &str,
    key: &dyn Signer,
    from: OffsetDateTime,
    serial: u8,
    crl: Option<&str>,
) -> IssueRequest {
    IssueRequest {
        profile,
        subject: subject(cn),
        public_key: key.public_key().clone(),
        not_before: from,
        not_after: from
            + Duration::days(if profile == Profile::RootCa {
                3650
            } else {
                700
            }),
        serial: [serial; 16],
        crl_url: crl.map(String::from),
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: (profile == Profile::IssuingCa).then_some(0),
    }
}

pub(crate) fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(Pki::create)
}

impl Pki {
    fn create() -> Self {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let from = now - Duration::days(2);
        let root_key = SoftKey::generate(KeyKind::P256).unwrap();
        let root = issue(
            &request(
                Profile::RootCa,
                "CA gốc thử nghiệm kyso",
                &root_key,
                from,
                1,
                None,
            ),
            None,
            Some(&root_key),
        )
        .unwrap();
        let issuing_key = SoftKey::generate(KeyKind::P256).unwrap();
        let by_root = Issuer {
            certificate: &root,
            key: &root_key,
        };
        let issuing = issue(
            &request(
                Profile::IssuingCa,
                "CA cấp dưới thử nghiệm kyso",
                &issuing_key,
                from,
                2,
                Some("http://pki.kyso.invalid/root.crl"),
            ),
            Some(&by_root),
            None,
        )
        .unwrap();
        let leaf = |profile: Profile, cn: &str, kind: KeyKind, serial: u8| {
            let key = SoftKey::generate(kind).unwrap();
            let cert = issue(
                &request(
                    profile,
                    cn,
                    &key,
                    from,
                    serial,
                    Some("http://pki.kyso.invalid/issuing.crl"),
                ),
                Some(&Issuer {
                    certificate: &issuing,
                    key: &issuing_key,
                }),
                None,
            )
            .unwrap();
            Identity { key, cert }
        };
        let tsa = leaf(
            Profile::Tsa,
            "Dịch vụ cấp dấu thời gian thử nghiệm",
            KeyKind::P256,
            3,
        );
        let leader_rsa = leaf(Profile::Person, LEADER_CN, KeyKind::Rsa2048, 4);
        let leader_p256 = leaf(Profile::Person, LEADER_CN, KeyKind::P256, 5);
        let seal = leaf(Profile::Seal, AGENCY, KeyKind::P256, 6);
        let dir = tempfile::Builder::new()
            .prefix("kyso-pades-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let pki = Self {
            root,
            issuing,
            issuing_key,
            root_key,
            tsa,
            leader_rsa,
            leader_p256,
            seal,
            now,
            dir,
        };
        std::fs::write(pki.root_pem(), pem(&pki.root)).unwrap();
        pki
    }

    pub(crate) fn root_pem(&self) -> PathBuf {
        self.dir.join("root.pem")
    }

    /// The certificate chain to embed (issuing CA).
    pub(crate) fn chain(&self) -> Vec<Certificate> {
        vec![self.issuing.clone()]
    }

    /// CRLs of the issuing CA and the root, fresh now.
    pub(crate) fn crls(&self) -> Vec<Vec<u8>> {
        let this = self.now - Duration::hours(1);
        let next = self.now + Duration::days(7);
        vec![
            build_crl(
                &Issuer {
                    certificate: &self.issuing,
                    key: &self.issuing_key,
                },
                &[],
                this,
                next,
                1,
            )
            .unwrap(),
            build_crl(
                &Issuer {
                    certificate: &self.root,
                    key: &self.root_key,
                },
                &[],
                this,
                next,
                1,
            )
            .unwrap(),
        ]
    }

    /// A time-stamp token over `imprint` from the test TSA.
    pub(crate) fn timestamp(
        &self,
        alg: DigestAlgorithm,
        imprint: &[u8],
    ) -> Result<Vec<u8>, String> {
        let tsa = Tsa {
            certificate: &self.tsa.cert,
            chain: std::slice::from_ref(&self.issuing),
            signer: &self.tsa.key,
            policy: tsp::DEFAULT_POLICY,
        };
        let nonce = u64::from_be_bytes(imprint[..8].try_into().unwrap()) >> 1;
        let req = tsp::request(alg, imprint, Some(nonce), true).map_err(|e| e.to_string())?;
        let mut serial = [0u8; 16];
        serial[..8].copy_from_slice(&imprint[..8]);
        serial[0] |= 1;
        let resp = tsa
            .respond(&req, serial, OffsetDateTime::now_utc())
            .map_err(|e| e.to_string())?;
        tsp::token_from_response(&resp, imprint, Some(nonce)).map_err(|e| e.to_string())
    }

    /// Every certificate for the DSS: TSA, issuing CA, root.
    pub(crate) fn dss_certs(&self) -> Vec<Vec<u8>> {
        [&self.tsa.cert, &self.issuing, &self.root]
            .iter()
            .map(|c| c.to_der().unwrap())
            .collect()
    }
}

pub(crate) fn pem(cert: &Certificate) -> String {
    der::pem::encode_string(
        "CERTIFICATE",
        der::pem::LineEnding::LF,
        &cert.to_der().unwrap(),
    )
    .unwrap()
}

// ----------------------------------------------------------------------------------
// Peers
// ----------------------------------------------------------------------------------

fn peer(var: &str, default: &str, probe: &[&str], cell: &'static OnceLock<PathBuf>) -> Command {
    let path = cell.get_or_init(|| {
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default));
        let out = Command::new(&path).args(probe).output().unwrap_or_else(|e| {
            panic!(
                "peer missing: cannot run {} ({e}); run scripts/test.sh (installs poppler-utils, qpdf and the pyHanko venv) or set {var}",
                path.display()
            )
        });
        assert!(
            out.status.success() || !out.stdout.is_empty() || !out.stderr.is_empty(),
            "peer unusable: {} {probe:?}",
            path.display()
        );
        path
    });
    let mut c = Command::new(path);
    c.stdin(Stdio::null());
    c
}

pub(crate) fn pyhanko() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/pyhanko");
    peer("KYSO_PYHANKO", default, &["--version"], &P)
}

pub(crate) fn qpdf() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    peer("KYSO_QPDF", "qpdf", &["--version"], &P)
}

pub(crate) fn pdfsig() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    peer("KYSO_PDFSIG", "pdfsig", &["-v"], &P)
}

pub(crate) fn pdftoppm() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    peer("KYSO_PDFTOPPM", "pdftoppm", &["-v"], &P)
}

pub(crate) fn pdftotext() -> Command {
    static P: OnceLock<PathBuf> = OnceLock::new();
    peer("KYSO_PDFTOTEXT", "pdftotext", &["-v"], &P)
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

pub(crate) fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\n  status: {}\n  stdout:\n{}\n  stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Write `bytes` to `dir/name`, return the path.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `pyhanko sign validate` (strict, no revocation check): every signature must be
/// intact, trusted and valid. Returns the report.
pub(crate) fn pyhanko_validate(pdf: &Path, root: &Path) -> String {
    pyhanko_validate_with(pdf, root, true)
}

/// As [`pyhanko_validate`], optionally with `--no-strict-syntax` (for inputs whose
/// original bytes pyHanko's strict reader refuses).
pub(crate) fn pyhanko_validate_with(pdf: &Path, root: &Path, strict: bool) -> String {
    let mut cmd = pyhanko();
    cmd.args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check"]);
    if !strict {
        cmd.arg("--no-strict-syntax");
    }
    cmd.arg(pdf);
    let out = run(&mut cmd);
    let text = describe(&cmd, &out);
    assert!(
        out.status.success(),
        "pyHanko rejected {}: {text}",
        pdf.display()
    );
    text
}

/// The whole-line markers of a valid pyHanko report, per signature.
pub(crate) fn assert_pyhanko_report_valid(report: &str, signatures: usize) {
    let count = |needle: &str| report.lines().filter(|l| l.trim() == needle).count();
    assert!(
        count("The signature is judged VALID.") >= signatures,
        "expected {signatures} VALID signatures: {report}"
    );
}

/// `qpdf --check` must be clean.
pub(crate) fn qpdf_check(pdf: &Path) {
    let mut cmd = qpdf();
    cmd.arg("--check").arg(pdf);
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("No syntax or stream encoding errors found")
            && out.stderr.is_empty(),
        "qpdf --check: {}",
        describe(&cmd, &out)
    );
}

/// `pdfsig`: every (CMS) signature "Signature is Valid.".
pub(crate) fn pdfsig_valid(pdf: &Path, signatures: usize) {
    let mut cmd = pdfsig();
    cmd.arg(pdf);
    let out = run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    let valid = text
        .matches("Signature Validation: Signature is Valid.")
        .count();
    assert!(
        valid >= signatures,
        "pdfsig found {valid} valid signatures, expected {signatures}: {}",
        describe(&cmd, &out)
    );
}

/// Render page `page` at 100 dpi and decode it: (width, height, RGB pixels).
pub(crate) fn render(pdf: &Path, page: usize) -> (u32, u32, Vec<u8>) {
    let prefix = pdf.with_extension(format!("p{page}"));
    let mut cmd = pdftoppm();
    cmd.args(["-r", "100", "-png", "-singlefile", "-f"])
        .arg(page.to_string())
        .arg("-l")
        .arg(page.to_string())
        .arg(pdf)
        .arg(&prefix);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", describe(&cmd, &out));
    let png_path = prefix.with_extension(format!("p{page}.png"));
    let png_path = if png_path.exists() {
        png_path
    } else {
        PathBuf::from(format!("{}.png", prefix.display()))
    };
    let file = std::io::BufReader::new(std::fs::File::open(&png_path).unwrap());
    let mut dec = png::Decoder::new(file);
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let mut rgb = Vec::with_capacity((info.width * info.height * 3) as usize);
    for px in buf[..info.buffer_size()].chunks(ch) {
        rgb.extend_from_slice(&px[..3]);
    }
    (info.width, info.height, rgb)
}

/// Pixels in the PDF box `rect` (points) of a rendered page matching `pred`.
pub(crate) fn count_pixels(
    page: &(u32, u32, Vec<u8>),
    page_height_pt: f64,
    rect: [f64; 4],
    pred: impl Fn(u8, u8, u8) -> bool,
) -> usize {
    let (w, h, rgb) = page;
    let s = 100.0 / 72.0;
    let x0 = ((rect[0] * s).floor().max(0.0) as u32).min(*w);
    let x1 = ((rect[2] * s).ceil().max(0.0) as u32).min(*w);
    let y0 = (((page_height_pt - rect[3]) * s).floor().max(0.0) as u32).min(*h);
    let y1 = (((page_height_pt - rect[1]) * s).ceil().max(0.0) as u32).min(*h);
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 3) as usize;
            if pred(rgb[i], rgb[i + 1], rgb[i + 2]) {
                n += 1;
            }
        }
    }
    n
}

pub(crate) fn is_blue(r: u8, g: u8, b: u8) -> bool {
    b > 120 && i32::from(b) - i32::from(r) > 50 && i32::from(b) - i32::from(g) > 30
}

pub(crate) fn is_red(r: u8, g: u8, b: u8) -> bool {
    r > 120 && i32::from(r) - i32::from(g) > 60 && i32::from(r) - i32::from(b) > 60
}

pub(crate) fn is_black(r: u8, g: u8, b: u8) -> bool {
    r < 90 && g < 90 && b < 90
}

/// `pdftotext -f P -l P FILE -` (raw order, UTF-8).
pub(crate) fn text_of(pdf: &Path, page: usize) -> String {
    let mut cmd = pdftotext();
    cmd.args(["-enc", "UTF-8", "-f"])
        .arg(page.to_string())
        .arg("-l")
        .arg(page.to_string())
        .arg(pdf)
        .arg("-");
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", describe(&cmd, &out));
    String::from_utf8(out.stdout).unwrap()
}
