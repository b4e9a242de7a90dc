//! The built-in certificate authority on disk (`kyso ca …`): creating it, issuing
//! end-entity certificates, revoking, publishing CRLs, and the answers of its HTTP
//! services (CRL and CA certificate files, OCSP, RFC 3161 time-stamps). The front end
//! asks for the passphrase and serves HTTP; everything else is here.
//!
//! Layout of a CA directory (readable with openssl):
//! ```text
//! state.json               issued certificates, revocations, CRL number
//! .lock                    held while a command changes the CA
//! root.crt.pem, root.key.pem          self-signed root (key encrypted)
//! issuing.crt.pem, issuing.key.pem    issuing CA, signs end entities and CRLs
//! ocsp.crt.pem, ocsp.key.pem          delegated OCSP responder
//! tsa.crt.pem, tsa.key.pem            RFC 3161 time-stamp authority
//! crl/root.crl, crl/issuing.crl       current CRLs (DER)
//! ca/root.crt, ca/issuing.crt         CA certificates (DER, for AIA caIssuers)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use der::Encode;
use kyso_cades::tsp::{DEFAULT_POLICY, Tsa};
use kyso_pki::ca::{
    IssueRequest, Issuer, OcspStatus, Profile, RevocationReason, RevokedEntry, SubjectName,
    build_crl, issue, respond_ocsp,
};
use kyso_signer::keystore::ScryptCost;
use kyso_signer::{KeyKind, Signer, SoftKey};
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::signing::{Keystore, certificates_to_pem, check_out, read_error, write_file};
use crate::{AppError, AppResult, Kind};

/// How long a published CRL is valid.
const CRL_VALIDITY: time::Duration = time::Duration::days(7);

/// How long an OCSP response is valid.
const OCSP_VALIDITY: time::Duration = time::Duration::hours(24);

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaState {
    /// The CA's organisation.
    pub name: String,
    /// Where its services are published (CRL DP, OCSP, AIA of what it issues).
    pub base_url: String,
    /// The number of the last CRLs published.
    pub crl_number: u64,
    /// Every certificate issued (except the root).
    pub issued: Vec<IssuedRecord>,
}

/// One issued certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedRecord {
    /// Serial, uppercase hex of the INTEGER content bytes.
    pub serial: String,
    /// Subject DN.
    pub subject: String,
    /// Profile (`person`, `seal`, `tsa`…).
    pub profile: String,
    /// "root" or "issuing".
    pub issuer: String,
    /// RFC 3339.
    pub not_after: String,
    /// RFC 3339, when revoked.
    pub revoked_at: Option<String>,
    /// Revocation reason (`key-compromise`…).
    pub reason: Option<String>,
}

/// The fields of an end-entity certificate besides its key.
#[derive(Debug, Clone)]
pub struct EndEntity {
    /// Profile (person, seal, TSA, OCSP, TLS).
    pub profile: Profile,
    /// Subject.
    pub subject: SubjectName,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// Days of validity (cut at the issuing CA's own end).
    pub days: u32,
    /// DNS names (TLS).
    pub dns_names: Vec<String>,
}

/// The key a new certificate certifies, and where the result goes.
#[derive(Debug)]
pub enum CertifiedKey<'a> {
    /// A fresh software key, saved with its chain as keystore entry `name` (encrypted
    /// with `passphrase`), and also as plain PEM `NAME.key.pem` / `NAME.crt.pem` in
    /// `export_plain` when given.
    Generate {
        /// Key type.
        kind: KeyKind,
        /// The keystore.
        keystore: &'a Keystore,
        /// Entry name.
        name: &'a str,
        /// The entry's passphrase.
        passphrase: &'a str,
        /// scrypt cost of the entry.
        cost: ScryptCost,
        /// Folder for an unencrypted copy.
        export_plain: Option<&'a Path>,
    },
    /// An existing public key (a token's): the chain is written as PEM to `cert_out`.
    Public {
        /// The key.
        public_key: SubjectPublicKeyInfoOwned,
        /// The certificate file written.
        cert_out: &'a Path,
    },
}

/// An opened CA directory, locked while open (concurrent `kyso ca` commands wait).
#[derive(Debug)]
pub struct Ca {
    dir: PathBuf,
    state: CaState,
    _lock: fs::File,
}

impl Ca {
    /// `--ca DIR`, else `<data>/ca`.
    pub fn dir_from(flag: Option<&Path>, data: &Path) -> PathBuf {
        flag.map(Path::to_path_buf)
            .unwrap_or_else(|| data.join("ca"))
    }

    /// Opens with an exclusive lock.
    pub fn open(dir: &Path) -> AppResult<Self> {
        let lock = lock(dir)?;
        let state = read_state(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            state,
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state.
    pub fn state(&self) -> &CaState {
        &self.state
    }

    fn save(&self) -> AppResult<()> {
        let json = serde_json::to_vec_pretty(&self.state).map_err(AppError::internal)?;
        write_file(&self.dir.join("state.json"), &json, false)
    }

    /// `root`, `issuing`, `ocsp` or `tsa`: the CA's certificate of that name.
    pub fn certificate(&self, which: &str) -> AppResult<Certificate> {
        certificate_in(&self.dir, which)
    }

    /// The CA's key of that name.
    pub fn key(&self, which: &str, passphrase: &str) -> AppResult<SoftKey> {
        key_in(&self.dir, which, passphrase).map(|(key, _)| key)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.state.base_url.trim_end_matches('/'))
    }

    /// Issues an end-entity certificate for `public_key` from the issuing CA and records
    /// it. Returns the certificate and its issuers (issuing CA, root).
    pub fn issue_end_entity(
        &mut self,
        passphrase: &str,
        fields: &EndEntity,
        public_key: SubjectPublicKeyInfoOwned,
    ) -> AppResult<(Certificate, Vec<Certificate>)> {
        let (cert, chain) = self.sign_end_entity(passphrase, fields, public_key)?;
        self.record(&cert, fields.profile, "issuing")?;
        Ok((cert, chain))
    }

    /// The certificate [`issue_end_entity`](Self::issue_end_entity) issues, not recorded
    /// yet: the caller records it once its key or file is safely written.
    fn sign_end_entity(
        &self,
        passphrase: &str,
        fields: &EndEntity,
        public_key: SubjectPublicKeyInfoOwned,
    ) -> AppResult<(Certificate, Vec<Certificate>)> {
        let issuing_cert = self.certificate("issuing")?;
        let root_cert = self.certificate("root")?;
        let issuing_key = self.key("issuing", passphrase)?;
        let issuer_not_after = time_of(&issuing_cert.tbs_certificate().validity().not_after);
        let not_after = later(
            fields.not_before,
            time::Duration::days(i64::from(fields.days)),
        )
        .min(issuer_not_after);
        let request = IssueRequest {
            profile: fields.profile,
            subject: fields.subject.clone(),
            public_key,
            not_before: fields.not_before,
            not_after,
            serial: rand::random(),
            crl_url: Some(self.url("crl/issuing.crl")),
            ocsp_url: Some(self.url("ocsp")),
            ca_issuers_url: Some(self.url("ca/issuing.crt")),
            dns_names: fields.dns_names.clone(),
            ip_addresses: Vec::new(),
            path_len: None,
        };
        let issuer = Issuer {
            certificate: &issuing_cert,
            key: &issuing_key,
        };
        let cert = issue(&request, Some(&issuer), None).map_err(ca_error)?;
        Ok((cert, vec![issuing_cert, root_cert]))
    }

    /// `kyso ca issue`: certifies a fresh software key (kept in a keystore) or an
    /// existing public key (certificate written to a file). Returns the certificate.
    ///
    /// Every check (the keystore name is free, the output folders exist) comes first, and
    /// the certificate enters the CA state only after its key and files are written: a
    /// refused or failed issue leaves no certificate on record whose key is lost.
    pub fn issue(
        &mut self,
        passphrase: &str,
        fields: &EndEntity,
        key: CertifiedKey<'_>,
    ) -> AppResult<Certificate> {
        match key {
            CertifiedKey::Generate {
                kind,
                keystore,
                name,
                passphrase: key_passphrase,
                cost,
                export_plain,
            } => {
                // Refused before anything is issued: no certificate without its key.
                keystore.check_new(name)?;
                if let Some(dir) = export_plain {
                    // The export folder (for unprotected keys) is made here, private;
                    // an existing one keeps its mode.
                    let mut folder = fs::DirBuilder::new();
                    folder.recursive(true);
                    #[cfg(unix)]
                    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
                    folder.create(dir).map_err(|e| {
                        AppError::new(
                            Kind::Unavailable,
                            "cannot_write",
                            format!("không tạo được {}: {e}", dir.display()),
                            format!("cannot create {}: {e}", dir.display()),
                        )
                    })?;
                    check_out(&dir.join(format!("{name}.key.pem")))?;
                    check_out(&dir.join(format!("{name}.crt.pem")))?;
                }
                let key = SoftKey::generate(kind).map_err(AppError::internal)?;
                let (cert, chain) =
                    self.sign_end_entity(passphrase, fields, key.public_key().clone())?;
                let mut full = vec![cert.clone()];
                full.extend(chain);
                keystore.save(name, &key.to_pkcs8_der(), &full, key_passphrase, cost)?;
                if let Some(dir) = export_plain {
                    let pem = der::pem::encode_string(
                        "PRIVATE KEY",
                        der::pem::LineEnding::LF,
                        &key.to_pkcs8_der(),
                    )
                    .map_err(AppError::internal)?;
                    write_file(&dir.join(format!("{name}.key.pem")), pem.as_bytes(), true)?;
                    write_file(
                        &dir.join(format!("{name}.crt.pem")),
                        certificates_to_pem(&full)?.as_bytes(),
                        false,
                    )?;
                }
                self.record(&cert, fields.profile, "issuing")?;
                Ok(cert)
            }
            CertifiedKey::Public {
                public_key,
                cert_out,
            } => {
                check_out(cert_out)?;
                let (cert, chain) = self.sign_end_entity(passphrase, fields, public_key)?;
                let mut full = vec![cert.clone()];
                full.extend(chain);
                write_file(cert_out, certificates_to_pem(&full)?.as_bytes(), false)?;
                self.record(&cert, fields.profile, "issuing")?;
                Ok(cert)
            }
        }
    }

    fn record(&mut self, cert: &Certificate, profile: Profile, issuer: &str) -> AppResult<()> {
        let tbs = cert.tbs_certificate();
        self.state.issued.push(IssuedRecord {
            serial: hex::encode_upper(tbs.serial_number().as_bytes()),
            subject: tbs.subject().to_string(),
            profile: format!("{profile:?}").to_lowercase(),
            issuer: issuer.to_string(),
            not_after: rfc3339(time_of(&tbs.validity().not_after)),
            revoked_at: None,
            reason: None,
        });
        self.save()
    }

    /// Revokes by serial (hex) and republishes the CRLs.
    pub fn revoke(
        &mut self,
        passphrase: &str,
        serial_hex: &str,
        reason: RevocationReason,
        at: OffsetDateTime,
    ) -> AppResult<IssuedRecord> {
        if at > LATEST {
            let at = rfc3339(at);
            return Err(AppError::invalid(
                "revocation_time",
                format!(
                    "thời điểm thu hồi {at} sau 9999-12-31T23:59:59Z, thời điểm cuối cùng CRL ghi được"
                ),
                format!(
                    "revocation time {at} is after 9999-12-31T23:59:59Z, the last time a CRL can carry"
                ),
            ));
        }
        let wanted = serial_hex.trim().trim_start_matches("0x").to_uppercase();
        let record = self
            .state
            .issued
            .iter_mut()
            .find(|r| r.serial.trim_start_matches('0') == wanted.trim_start_matches('0'))
            .ok_or_else(|| {
                AppError::not_found(
                    format!("CA này không cấp chứng thư số nào có số hiệu {serial_hex}"),
                    format!("this CA issued no certificate with serial {serial_hex}"),
                )
            })?;
        if record.revoked_at.is_some() {
            return Err(AppError::new(
                Kind::Conflict,
                "already_revoked",
                format!("chứng thư số {serial_hex} đã bị thu hồi"),
                format!("certificate {serial_hex} is already revoked"),
            ));
        }
        record.revoked_at = Some(rfc3339(at));
        record.reason = Some(reason_name(reason).to_string());
        let record = record.clone();
        self.save()?;
        // The CRL is dated at the revocation (or now), early enough that its nextUpdate
        // still fits before 9999-12-31T23:59:59Z.
        let crl_time = at.max(OffsetDateTime::now_utc()).min(LATEST - CRL_VALIDITY);
        self.publish_crls(passphrase, crl_time)?;
        Ok(record)
    }

    /// Builds and writes both CRLs, dated `now`.
    pub fn publish_crls(&mut self, passphrase: &str, now: OffsetDateTime) -> AppResult<()> {
        self.state.crl_number += 1;
        let number = self.state.crl_number;
        for which in ["root", "issuing"] {
            let cert = self.certificate(which)?;
            let key = self.key(which, passphrase)?;
            let entries: Vec<RevokedEntry> = self
                .state
                .issued
                .iter()
                .filter(|r| r.issuer == which)
                .filter_map(|r| {
                    let at = r.revoked_at.as_deref().and_then(|t| parse_time(t).ok())?;
                    Some(RevokedEntry {
                        serial: hex::decode(&r.serial).ok()?,
                        revoked_at: at,
                        reason: r.reason.as_deref().and_then(parse_reason),
                    })
                })
                .collect();
            let issuer = Issuer {
                certificate: &cert,
                key: &key,
            };
            let crl = build_crl(&issuer, &entries, now, later(now, CRL_VALIDITY), number)
                .map_err(ca_error)?;
            write_file(&self.dir.join(format!("crl/{which}.crl")), &crl, false)?;
        }
        self.save()
    }
}

fn ca_error(e: kyso_pki::ca::CaError) -> AppError {
    AppError::invalid(
        "ca",
        format!("CA không cấp được: {e}"),
        format!("the CA cannot issue: {e}"),
    )
}

fn certificate_in(dir: &Path, which: &str) -> AppResult<Certificate> {
    let path = dir.join(format!("{which}.crt.pem"));
    crate::trust::read_certificates(&path)?
        .into_iter()
        .next()
        .ok_or_else(|| read_error(&path, "empty certificate file"))
}

fn key_in(dir: &Path, which: &str, passphrase: &str) -> AppResult<(SoftKey, Vec<Certificate>)> {
    Keystore::at(dir.to_path_buf())
        .load(which, passphrase, None)
        .map_err(|e| AppError {
            vi: format!("không mở được khóa {which} của CA: {}", e.vi),
            en: format!("cannot open the CA's {which} key: {}", e.en),
            ..e
        })
}

/// The state of the CA in `dir`, read without the lock (the services re-read it on
/// every request so revocations show at once).
pub fn read_state(dir: &Path) -> AppResult<CaState> {
    let path = dir.join("state.json");
    let bytes = fs::read(&path).map_err(|_| {
        AppError::not_found(
            format!(
                "{} không phải thư mục CA của kyso (không có state.json); hãy chạy `kyso ca init`",
                dir.display()
            ),
            format!(
                "{} is not a kyso CA directory (no state.json); run `kyso ca init`",
                dir.display()
            ),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        AppError::new(
            Kind::Internal,
            "ca_state",
            format!("{} bị hỏng: {e}", path.display()),
            format!("{} is damaged: {e}", path.display()),
        )
    })
}

/// The OCSP status of `serial` (issued by the issuing CA).
pub fn status_in(state: &CaState, serial: &[u8]) -> OcspStatus {
    let hex = hex::encode_upper(serial);
    match state
        .issued
        .iter()
        .find(|r| r.issuer == "issuing" && r.serial == hex)
    {
        None => OcspStatus::Unknown,
        Some(r) => match r.revoked_at.as_deref().and_then(|t| parse_time(t).ok()) {
            Some(at) => OcspStatus::Revoked {
                at,
                reason: r.reason.as_deref().and_then(parse_reason),
            },
            None => OcspStatus::Good,
        },
    }
}

fn lock(dir: &Path) -> AppResult<fs::File> {
    let failed = |e: std::io::Error| {
        AppError::new(
            Kind::Unavailable,
            "ca_lock",
            format!("không khóa được {}: {e}", dir.display()),
            format!("cannot lock {}: {e}", dir.display()),
        )
    };
    fs::create_dir_all(dir).map_err(|e| {
        AppError::new(
            Kind::Unavailable,
            "cannot_write",
            format!("không tạo được {}: {e}", dir.display()),
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .map_err(failed)?;
    f.lock().map_err(failed)?;
    Ok(f)
}

/// A new CA.
#[derive(Debug, Clone)]
pub struct InitRequest<'a> {
    /// The organisation (in every subject).
    pub name: &'a str,
    /// Where the services will be (default: `file://` + the directory).
    pub base_url: Option<&'a str>,
    /// Key type of the root and issuing CA.
    pub key_kind: KeyKind,
    /// Years of the root (the issuing CA: two fewer, at least one).
    pub years: u16,
}

/// `kyso ca init`: root, issuing CA, OCSP responder and TSA, their keys encrypted
/// with `passphrase` at `cost`, and the first CRLs, dated `now`.
pub fn init(
    dir: &Path,
    request: &InitRequest<'_>,
    passphrase: &str,
    cost: ScryptCost,
    now: OffsetDateTime,
) -> AppResult<()> {
    if dir.join("state.json").exists() {
        return Err(AppError::new(
            Kind::Conflict,
            "ca_exists",
            format!("{} đã chứa một CA", dir.display()),
            format!("{} already holds a CA", dir.display()),
        ));
    }
    let lock = lock(dir)?;
    let dir_abs = fs::canonicalize(dir).map_err(|e| read_error(dir, e))?;
    let base_url = request
        .base_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("file://{}", dir_abs.display()));
    let url = |p: &str| format!("{}/{p}", base_url.trim_end_matches('/'));
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let not_before = now - time::Duration::minutes(5);
    let subject = |cn: &str| SubjectName {
        common_name: cn.to_string(),
        organization: Some(request.name.to_string()),
        organizational_unit: None,
        locality: None,
        state: None,
        country: "VN".into(),
        uid: None,
        email: None,
        title: None,
    };
    let root_key = SoftKey::generate(request.key_kind).map_err(AppError::internal)?;
    let root_req = IssueRequest {
        profile: Profile::RootCa,
        subject: subject("CA gốc"),
        public_key: root_key.public_key().clone(),
        not_before,
        not_after: later(now, time::Duration::days(365 * i64::from(request.years))),
        serial: rand::random(),
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: None,
    };
    let root = issue(&root_req, None, Some(&root_key)).map_err(ca_error)?;
    let issuing_key = SoftKey::generate(request.key_kind).map_err(AppError::internal)?;
    let issuing_req = IssueRequest {
        profile: Profile::IssuingCa,
        subject: subject("CA cấp dưới"),
        public_key: issuing_key.public_key().clone(),
        not_before,
        not_after: later(
            now,
            time::Duration::days(365 * i64::from(request.years.saturating_sub(2).max(1))),
        ),
        serial: rand::random(),
        crl_url: Some(url("crl/root.crl")),
        ocsp_url: None,
        ca_issuers_url: Some(url("ca/root.crt")),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: Some(0),
    };
    let root_issuer = Issuer {
        certificate: &root,
        key: &root_key,
    };
    let issuing = issue(&issuing_req, Some(&root_issuer), None).map_err(ca_error)?;
    let keys = Keystore::at(dir.to_path_buf());
    keys.save(
        "root",
        &root_key.to_pkcs8_der(),
        std::slice::from_ref(&root),
        passphrase,
        cost,
    )?;
    keys.save(
        "issuing",
        &issuing_key.to_pkcs8_der(),
        &[issuing.clone(), root.clone()],
        passphrase,
        cost,
    )?;
    write_file(
        &dir.join("root.crt.pem"),
        certificates_to_pem(std::slice::from_ref(&root))?.as_bytes(),
        false,
    )?;
    write_file(
        &dir.join("issuing.crt.pem"),
        certificates_to_pem(std::slice::from_ref(&issuing))?.as_bytes(),
        false,
    )?;
    write_file(
        &dir.join("ca/root.crt"),
        &root.to_der().map_err(AppError::internal)?,
        false,
    )?;
    write_file(
        &dir.join("ca/issuing.crt"),
        &issuing.to_der().map_err(AppError::internal)?,
        false,
    )?;

    let mut ca = Ca {
        dir: dir.to_path_buf(),
        state: CaState {
            name: request.name.to_string(),
            base_url: base_url.clone(),
            crl_number: 0,
            issued: Vec::new(),
        },
        _lock: lock,
    };
    ca.record(&issuing, Profile::IssuingCa, "root")?;
    // The CA's own OCSP responder and TSA.
    for (entry, profile, cn) in [
        ("ocsp", Profile::Ocsp, "Dịch vụ OCSP"),
        ("tsa", Profile::Tsa, "Dịch vụ cấp dấu thời gian"),
    ] {
        let key = SoftKey::generate(KeyKind::P256).map_err(AppError::internal)?;
        let fields = EndEntity {
            profile,
            subject: subject(cn),
            not_before,
            days: 365 * 5,
            dns_names: Vec::new(),
        };
        let (cert, chain) = ca.issue_end_entity(passphrase, &fields, key.public_key().clone())?;
        let mut full = vec![cert.clone()];
        full.extend(chain);
        keys.save(entry, &key.to_pkcs8_der(), &full, passphrase, cost)?;
        write_file(
            &dir.join(format!("{entry}.crt.pem")),
            certificates_to_pem(&[cert])?.as_bytes(),
            false,
        )?;
    }
    ca.publish_crls(passphrase, now)?;
    Ok(())
}

/// The CA's HTTP services without the HTTP: published files, OCSP answers and
/// time-stamps (`kyso ca serve`). Opened once with the passphrase; the state is read
/// again for every OCSP request.
#[derive(Debug)]
pub struct CaServices {
    dir: PathBuf,
    issuing: Certificate,
    ocsp_key: SoftKey,
    ocsp_cert: Certificate,
    tsa_key: SoftKey,
    tsa_chain: Vec<Certificate>,
}

impl CaServices {
    /// Opens the OCSP responder's and the TSA's keys of the CA in `dir`.
    pub fn open(dir: &Path, passphrase: &str) -> AppResult<Self> {
        let ca = Ca::open(dir)?;
        let (ocsp_key, ocsp_chain) = key_in(dir, "ocsp", passphrase)?;
        let (tsa_key, tsa_chain) = key_in(dir, "tsa", passphrase)?;
        let empty = |what: &str| {
            AppError::new(
                Kind::Internal,
                "ca_damaged",
                format!("chuỗi chứng thư số {what} của CA trống"),
                format!("empty {what} chain"),
            )
        };
        let ocsp_cert = ocsp_chain.first().cloned().ok_or_else(|| empty("OCSP"))?;
        if tsa_chain.is_empty() {
            return Err(empty("TSA"));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            issuing: ca.certificate("issuing")?,
            ocsp_cert,
            ocsp_key,
            tsa_key,
            tsa_chain,
        })
    }

    /// A published file by its URL path: `crl/root.crl`, `crl/issuing.crl`,
    /// `ca/root.crt`, `ca/issuing.crt` (DER). `None` for anything else or when missing.
    pub fn published(&self, path: &str) -> Option<Vec<u8>> {
        match path.trim_start_matches('/') {
            p @ ("crl/root.crl" | "crl/issuing.crl" | "ca/root.crt" | "ca/issuing.crt") => {
                fs::read(self.dir.join(p)).ok()
            }
            _ => None,
        }
    }

    /// The OCSP response to a DER `OCSPRequest`, from the current state (errors with
    /// code `ca_state` when the state cannot be read).
    pub fn ocsp(&self, request: &[u8], now: OffsetDateTime) -> AppResult<Vec<u8>> {
        let state = read_state(&self.dir)?;
        let status_of = |serial: &[u8]| status_in(&state, serial);
        let responder = Issuer {
            certificate: &self.ocsp_cert,
            key: &self.ocsp_key,
        };
        respond_ocsp(
            request,
            &self.issuing,
            &responder,
            &status_of,
            now,
            OCSP_VALIDITY,
        )
        .map_err(|e| {
            AppError::invalid(
                "ocsp",
                format!("không trả lời được yêu cầu OCSP: {e}"),
                format!("OCSP failed: {e}"),
            )
        })
    }

    /// The RFC 3161 response to a DER `TimeStampReq`.
    pub fn timestamp(&self, request: &[u8], now: OffsetDateTime) -> AppResult<Vec<u8>> {
        let tsa = Tsa {
            certificate: &self.tsa_chain[0],
            chain: &self.tsa_chain[1..],
            signer: &self.tsa_key,
            policy: DEFAULT_POLICY,
        };
        tsa.respond(request, rand::random(), now).map_err(|e| {
            AppError::invalid(
                "timestamp",
                format!("không cấp được dấu thời gian: {e}"),
                format!("time-stamping failed: {e}"),
            )
        })
    }
}

/// A certificate time as `OffsetDateTime`.
pub fn time_of(t: &x509_cert::time::Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The latest time a certificate or CRL can carry (RFC 5280 §4.1.2.5: 99991231235959Z).
pub const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// `t + d`, never past [`LATEST`] (no overflow panic near the year 9999).
pub fn later(t: OffsetDateTime, d: time::Duration) -> OffsetDateTime {
    t.checked_add(d).map_or(LATEST, |x| x.min(LATEST))
}

/// An RFC 3339 time.
pub fn parse_time(s: &str) -> AppResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| {
        AppError::invalid(
            "time",
            format!("{s:?} không phải thời điểm RFC 3339 (ví dụ 2026-11-26T09:30:00+07:00): {e}"),
            format!("{s:?} is not an RFC 3339 time (e.g. 2026-11-26T09:30:00+07:00): {e}"),
        )
    })
}

/// A revocation reason by its name (`key-compromise`…).
pub fn parse_reason(s: &str) -> Option<RevocationReason> {
    Some(match s {
        "unspecified" => RevocationReason::Unspecified,
        "key-compromise" => RevocationReason::KeyCompromise,
        "ca-compromise" => RevocationReason::CaCompromise,
        "affiliation-changed" => RevocationReason::AffiliationChanged,
        "superseded" => RevocationReason::Superseded,
        "cessation-of-operation" => RevocationReason::CessationOfOperation,
        "certificate-hold" => RevocationReason::CertificateHold,
        "privilege-withdrawn" => RevocationReason::PrivilegeWithdrawn,
        _ => return None,
    })
}

fn reason_name(r: RevocationReason) -> &'static str {
    match r {
        RevocationReason::KeyCompromise => "key-compromise",
        RevocationReason::CaCompromise => "ca-compromise",
        RevocationReason::AffiliationChanged => "affiliation-changed",
        RevocationReason::Superseded => "superseded",
        RevocationReason::CessationOfOperation => "cessation-of-operation",
        RevocationReason::CertificateHold => "certificate-hold",
        RevocationReason::PrivilegeWithdrawn => "privilege-withdrawn",
        _ => "unspecified",
    }
}

/// Serial of the (first) certificate in a file, uppercase hex.
pub fn serial_of(path: &Path) -> AppResult<String> {
    let cert = crate::trust::read_certificates(path)?
        .into_iter()
        .next()
        .ok_or_else(|| read_error(path, "no certificate"))?;
    Ok(hex::encode_upper(
        cert.tbs_certificate().serial_number().as_bytes(),
    ))
}

/// A public key (SubjectPublicKeyInfo) from a PEM or DER file.
pub fn read_public_key(path: &Path) -> AppResult<SubjectPublicKeyInfoOwned> {
    let bytes = fs::read(path).map_err(|e| read_error(path, e))?;
    let der = if bytes.starts_with(b"-----") {
        let text = std::str::from_utf8(&bytes).map_err(|_| read_error(path, "PEM is not UTF-8"))?;
        crate::trust::pem_blocks(text, "PUBLIC KEY")
            .into_iter()
            .next()
            .ok_or_else(|| {
                AppError::invalid(
                    "public_key",
                    format!("{} không có khối PUBLIC KEY", path.display()),
                    format!("{} has no PUBLIC KEY block", path.display()),
                )
            })?
    } else {
        bytes
    };
    <SubjectPublicKeyInfoOwned as der::Decode>::from_der(&der).map_err(|e| {
        AppError::invalid(
            "public_key",
            format!(
                "{} không phải khóa công khai (SubjectPublicKeyInfo): {e}",
                path.display()
            ),
            format!("{} is not a SubjectPublicKeyInfo: {e}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> ScryptCost {
        ScryptCost {
            log_n: 10,
            ..ScryptCost::DEFAULT
        }
    }

    /// The test CA: P-256, five years, services on an unused loopback port.
    fn test_ca() -> InitRequest<'static> {
        InitRequest {
            name: "Thử nghiệm",
            base_url: Some("http://127.0.0.1:1"),
            key_kind: KeyKind::P256,
            years: 5,
        }
    }

    /// A refused or failed issue records no certificate: the name is checked first, the
    /// output folders too, and the CA state is written only once the key is kept.
    #[test]
    fn refused_issue_leaves_no_certificate_on_record() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let now = OffsetDateTime::now_utc();
        let request = test_ca();
        init(&ca_dir, &request, "pw", cheap(), now).unwrap();
        let keystore = Keystore::new(dir.path());
        let fields = EndEntity {
            profile: Profile::Person,
            subject: SubjectName {
                common_name: "A".into(),
                country: "VN".into(),
                ..SubjectName::default()
            },
            not_before: now - time::Duration::minutes(1),
            days: 30,
            dns_names: Vec::new(),
        };
        let issue = |name: &str, export: Option<&Path>| {
            Ca::open(&ca_dir).unwrap().issue(
                "pw",
                &fields,
                CertifiedKey::Generate {
                    kind: KeyKind::P256,
                    keystore: &keystore,
                    name,
                    passphrase: "key-pw",
                    cost: cheap(),
                    export_plain: export,
                },
            )
        };
        let issued = || read_state(&ca_dir).unwrap().issued.len();
        let before = issued();
        issue("a", None).unwrap();
        assert_eq!(issued(), before + 1);
        // The same name again: refused, nothing issued.
        assert_eq!(issue("a", None).unwrap_err().code, "key_exists");
        assert_eq!(issued(), before + 1);
        // An export folder that cannot be made (a file is in the way): refused before
        // issuing, no key kept. (A missing export folder is made, private.)
        std::fs::write(dir.path().join("a-file"), b"x").unwrap();
        let blocked = dir.path().join("a-file/export");
        assert_eq!(issue("b", Some(&blocked)).unwrap_err().code, "cannot_write");
        assert_eq!(issued(), before + 1);
        assert!(keystore.check_new("b").is_ok());
        let missing = dir.path().join("no/such/folder");
        issue("c", Some(&missing)).unwrap();
        assert!(missing.join("c.key.pem").is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&missing).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert_eq!(issued(), before + 2);
        let missing = dir.path().join("no/other/folder");
        // A certificate file into a missing folder: refused, nothing recorded.
        let key = SoftKey::generate(KeyKind::P256).unwrap();
        let err = Ca::open(&ca_dir)
            .unwrap()
            .issue(
                "pw",
                &fields,
                CertifiedKey::Public {
                    public_key: key.public_key().clone(),
                    cert_out: &missing.join("c.pem"),
                },
            )
            .unwrap_err();
        assert_eq!(err.code, "bad_output");
        assert_eq!(issued(), before + 2);
    }

    #[test]
    fn init_issue_revoke_and_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let now = OffsetDateTime::now_utc();
        let request = test_ca();
        init(&ca_dir, &request, "pw", cheap(), now).unwrap();
        assert_eq!(
            init(&ca_dir, &request, "pw", cheap(), now)
                .unwrap_err()
                .code,
            "ca_exists"
        );
        let keystore = Keystore::new(dir.path());
        let fields = EndEntity {
            profile: Profile::Person,
            subject: SubjectName {
                common_name: "Trần Văn Bình".into(),
                country: "VN".into(),
                ..SubjectName::default()
            },
            not_before: now - time::Duration::minutes(1),
            days: 30,
            dns_names: Vec::new(),
        };
        let cert = {
            let mut ca = Ca::open(&ca_dir).unwrap();
            ca.issue(
                "pw",
                &fields,
                CertifiedKey::Generate {
                    kind: KeyKind::P256,
                    keystore: &keystore,
                    name: "binh",
                    passphrase: "key-pw",
                    cost: cheap(),
                    export_plain: None,
                },
            )
            .unwrap()
        };
        assert!(keystore.load("binh", "key-pw", None).is_ok());
        let serial = hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes());
        let state = read_state(&ca_dir).unwrap();
        assert!(matches!(
            status_in(&state, cert.tbs_certificate().serial_number().as_bytes()),
            OcspStatus::Good
        ));
        let mut ca = Ca::open(&ca_dir).unwrap();
        assert_eq!(
            ca.revoke(
                "pw",
                &serial,
                RevocationReason::Superseded,
                time::macros::datetime!(9999-12-31 23:59:59 -7),
            )
            .unwrap_err()
            .code,
            "revocation_time"
        );
        let record = ca
            .revoke("pw", &serial, RevocationReason::KeyCompromise, now)
            .unwrap();
        assert_eq!(record.reason.as_deref(), Some("key-compromise"));
        assert_eq!(
            ca.revoke("pw", &serial, RevocationReason::KeyCompromise, now)
                .unwrap_err()
                .code,
            "already_revoked"
        );
        drop(ca);
        let state = read_state(&ca_dir).unwrap();
        assert!(matches!(
            status_in(&state, cert.tbs_certificate().serial_number().as_bytes()),
            OcspStatus::Revoked { .. }
        ));
        let services = CaServices::open(&ca_dir, "pw").unwrap();
        assert!(services.published("/crl/issuing.crl").is_some());
        assert!(services.published("/state.json").is_none());
        let issuing = certificate_in(&ca_dir, "issuing").unwrap();
        let request = kyso_pki::locations::ocsp_request(&cert, &issuing).unwrap();
        assert!(!services.ocsp(&request, now).unwrap().is_empty());
        let imprint = kyso_signer::DigestAlgorithm::Sha256.digest(b"x");
        let tsq = kyso_cades::tsp::request(
            kyso_signer::DigestAlgorithm::Sha256,
            &imprint,
            Some(7),
            true,
        )
        .unwrap();
        let tsr = services.timestamp(&tsq, now).unwrap();
        assert!(kyso_cades::tsp::token_from_response(&tsr, &imprint, Some(7)).is_ok());
        assert_eq!(
            CaServices::open(&ca_dir, "wrong").unwrap_err().code,
            "cannot_open_key"
        );
    }
}
