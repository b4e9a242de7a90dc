//! An agency office for the flows over HTTP: its device on SoftHSM2 (the agency's seal
//! key), a data directory trusting the kyso CA, the administrator and users added
//! through `kyso user add` (password `<name>-mat-khau`), personal keys only the test
//! holds, `kyso serve` with the device attached, logins, and two-step signatures made
//! with the test's keys.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use kyso_signer::{Signer, SoftKey};
use kyso_testkit::http::{Answer, Client};
use kyso_testkit::serve::Served;
use serde_json::{Value, json};

use crate::support::{success, verify_with};
use crate::token::{MODULE, SoftHsm};

pub(crate) const AGENCY: &str = "000.00.12.H13";

/// `kyso user add` of the administrator `admin` (its password from
/// `KYSO_NEW_PASSWORD`, `admin-mat-khau`).
pub(crate) const ADD_ADMIN: [&str; 8] = [
    "user",
    "add",
    "admin",
    "--full-name",
    "Quản Trị Viên",
    "--role",
    "administrator",
    "--password",
];

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A personal key issued by the office's CA and held by the test (never sent to the
/// server), its chain (PEM) and certificate file.
pub(crate) struct Personal {
    pub(crate) key: SoftKey,
    pub(crate) chain: Vec<String>,
    pub(crate) certificate: PathBuf,
}

pub(crate) struct Office {
    pub(crate) hsm: SoftHsm,
    pub(crate) database_url: Option<String>,
}

impl Office {
    /// The device `device` (PIN `pin`) with the agency's RSA-2048 seal key, the data
    /// directory trusting the CA root, the administrator `admin`.
    pub(crate) fn new(device: &str, pin: &str, database_url: Option<String>) -> Self {
        let hsm = crate::token::new_softhsm();
        seal_device(&hsm, device, pin);
        success(hsm.kyso().args(["trust", "add"]).arg(&hsm.root));
        let office = Office { hsm, database_url };
        let mut admin = office.as_user("admin", &ADD_ADMIN);
        admin.env("KYSO_NEW_PASSWORD", "admin-mat-khau");
        success(&mut admin);
        office
    }

    /// `kyso … --user user` on this office's data and database.
    pub(crate) fn as_user(&self, user: &str, args: &[&str]) -> Command {
        let mut c = in_agency(&self.hsm, user);
        if let Some(url) = &self.database_url {
            c.env("KYSO_DATABASE_URL", url);
        }
        c.args(args).args(["--user", user]);
        c
    }

    /// A personal key for `cn`, issued by the CA and exported as `name.key.pem` /
    /// `name.crt.pem`.
    pub(crate) fn personal(&self, name: &str, cn: &str) -> Personal {
        let export = issue_personal(&self.hsm, name, cn);
        let key_pem = std::fs::read_to_string(export.join(format!("{name}.key.pem"))).unwrap();
        let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes()).unwrap();
        let certificate = export.join(format!("{name}.crt.pem"));
        Personal {
            key: SoftKey::from_pkcs8_der(&key_der, None).unwrap(),
            chain: crate::support::pem_certificates(
                &std::fs::read_to_string(&certificate).unwrap(),
            ),
            certificate,
        }
    }

    /// The administrator adds the user `name` with `roles`; with a personal key, its
    /// certificate and a signature image are registered too.
    pub(crate) fn add_user(&self, name: &str, full: &str, roles: &[&str], key: Option<&Personal>) {
        let mut c = self.as_user("admin", &["user", "add", name, "--full-name", full]);
        c.env("KYSO_NEW_PASSWORD", format!("{name}-mat-khau"))
            .arg("--password");
        for r in roles {
            c.args(["--role", r]);
        }
        if let Some(key) = key {
            c.arg("--certificate")
                .arg(&key.certificate)
                .arg("--signature-image")
                .arg(images().join("signature-blue.png"));
        }
        success(&mut c);
    }

    /// The administrator registers the token `device` (opened with `pin`) as the agency
    /// device held by `custodian`.
    pub(crate) fn register_device(&self, device: &str, pin: &str, custodian: &str) {
        let mut register = self.as_user("admin", &["device", "register", "--pkcs11", MODULE]);
        register
            .env("KYSO_PIN", pin)
            .args([
                "--token-label",
                device,
                "--custodian",
                custodian,
                "--seal-image",
            ])
            .arg(images().join("seal-red.png"));
        success(&mut register);
    }

    /// The signed PDF at `url`, fetched by `client`: an incremental update of
    /// `unsigned`, plainly valid in `kyso verify` (trusting the CA root) with
    /// `signatures` signatures. Kept as `name` in the data directory for other
    /// verifiers: its path and bytes.
    pub(crate) fn signed_pdf(
        &self,
        client: &Client,
        url: &str,
        unsigned: &[u8],
        signatures: usize,
        name: &str,
    ) -> (PathBuf, Vec<u8>) {
        let (status, pdf) = client.get_bytes(url);
        assert_eq!(status, 200, "{url}");
        assert!(
            pdf.starts_with(unsigned),
            "signatures are incremental updates"
        );
        let file = self.hsm.data.join(name);
        std::fs::write(&file, &pdf).unwrap();
        let report = verify_with(&file, None, &self.hsm.root);
        assert_eq!(report.verdict(), "valid", "{:?}", report.json);
        assert_eq!(
            report.json["signatures"].as_array().map(Vec::len),
            Some(signatures),
            "{:?}",
            report.json
        );
        (file, pdf)
    }

    /// `kyso serve` on loopback with the device attached and no PIN in its environment;
    /// with `log`, everything it logs down to debug is written there.
    pub(crate) fn serve(&self, log: Option<&Path>) -> Served {
        self.serve_with(log, &[])
    }

    /// `kyso serve` with `extra` flags.
    pub(crate) fn serve_with(&self, log: Option<&Path>, extra: &[&str]) -> Served {
        let mut serve = crate::support::kyso();
        serve
            .env("SOFTHSM2_CONF", &self.hsm.conf)
            .env_remove("KYSO_PIN")
            .env_remove("KYSO_DATABASE_URL")
            .env(
                "RUST_LOG",
                if log.is_some() {
                    "debug,hyper=info,hyper_util=info,h2=info"
                } else {
                    "warn"
                },
            )
            .arg("--data")
            .arg(&self.hsm.data)
            .args(["serve", "--listen", "127.0.0.1:0", "--pkcs11", MODULE])
            .args(extra);
        if let Some(url) = &self.database_url {
            serve.args(["--database-url", url]);
        }
        match log {
            Some(log) => kyso_testkit::serve::spawn_logged(&mut serve, log),
            None => kyso_testkit::serve::spawn(&mut serve),
        }
    }
}

/// `kyso` on `hsm`'s data, in the agency, with the password of `user`
/// (`<user>-mat-khau`) and the data directory's own database.
pub(crate) fn in_agency(hsm: &SoftHsm, user: &str) -> Command {
    let mut c = hsm.kyso();
    c.env("KYSO_AGENCY_ID", AGENCY)
        .env("KYSO_AGENCY_NAME", "Sở Thông tin và Truyền thông")
        .env("KYSO_PASSWORD", format!("{user}-mat-khau"))
        .env_remove("KYSO_DATABASE_URL");
    c
}

/// A token `device` (PIN `pin`) holding the agency's seal: an RSA-2048 key (id 02)
/// certified by the CA with the seal profile.
pub(crate) fn seal_device(hsm: &SoftHsm, device: &str, pin: &str) {
    hsm.init_token(device, pin);
    hsm.token_key(
        device,
        pin,
        "02",
        "con-dau",
        "rsa:2048",
        "seal",
        "Sở Thông tin và Truyền thông thành phố Cần Thơ",
    );
}

/// `kyso ca issue --profile person` for `cn`, key and chain exported in plain PEM to
/// the folder `export` of the data directory (made if needed): that folder.
pub(crate) fn issue_personal(hsm: &SoftHsm, name: &str, cn: &str) -> PathBuf {
    let export = hsm.data.join("export");
    // Private, like every folder of the data directory.
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&export)
        .unwrap();
    success(
        hsm.kyso()
            .args([
                "ca",
                "issue",
                "--profile",
                "person",
                "--name",
                name,
                "--cn",
                cn,
                "--export-plain",
            ])
            .arg(&export),
    );
    export
}

/// The test images (signature, seal).
pub(crate) fn images() -> PathBuf {
    crate::support::workspace().join("testdata/images")
}

/// `flow` on SQLite, then on PostgreSQL when a test server is configured.
pub(crate) fn on_both_backends(flow: impl Fn(Option<String>)) {
    flow(None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(url) = rt.block_on(kyso_testkit::postgres::database()) {
        flow(Some(url));
    }
}

/// A client signed in as `user` (password `<user>-mat-khau`).
pub(crate) fn login(url: &str, user: &str) -> Client {
    let mut c = Client::new(url);
    let a = c.login(user, &format!("{user}-mat-khau"));
    assert_eq!(a.status, 201, "login {user}: {}", a.text);
    c
}

/// An error answer with `status` and `code`, explained in both languages.
pub(crate) fn refused(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert_eq!(a.json["code"], code, "{what}: {}", a.text);
    assert!(
        a.json["vi"].as_str().is_some_and(|t| !t.is_empty())
            && a.json["en"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {}",
        a.text
    );
}

/// The body of step two for a ticket of step one: its session and `key`'s signature
/// over its `to_be_signed`.
pub(crate) fn signature(ticket: &Answer, key: &impl Signer) -> Value {
    let tbs = B64
        .decode(ticket.json["to_be_signed"].as_str().unwrap())
        .unwrap();
    json!({
        "session": ticket.json["session"],
        "signature": B64.encode(key.sign(&tbs).unwrap()),
    })
}

/// A two-step signature of `what` (`/api/v1/documents/{id}`,
/// `/api/v1/handovers/{id}/minutes`) with a key the test holds: the ticket of
/// `…/signing-sessions` (asked with `start`, checked 201) and the answer of
/// `…/signature`.
pub(crate) fn sign_two_step(
    client: &Client,
    what: &str,
    start: &Value,
    key: &impl Signer,
) -> (Answer, Answer) {
    let ticket = client.post_json(&format!("{what}/signing-sessions"), start);
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    let signed = client.post_json(&format!("{what}/signature"), &signature(&ticket, key));
    (ticket, signed)
}
