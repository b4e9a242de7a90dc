//! `kyso ca`: the built-in certificate authority on disk.
//!
//! Layout of a CA directory (readable with openssl):
//! ```text
//! state.json               issued certificates, revocations, CRL number
//! root.crt.pem, root.key.pem          self-signed root (key encrypted)
//! issuing.crt.pem, issuing.key.pem    issuing CA, signs end entities and CRLs
//! ocsp.crt.pem, ocsp.key.pem          delegated OCSP responder
//! tsa.crt.pem, tsa.key.pem            RFC 3161 time-stamp authority
//! crl/root.crl, crl/issuing.crl       current CRLs (DER)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use der::Encode;
use kyso_pki::ca::{
    IssueRequest, Issuer, OcspStatus, Profile, RevocationReason, RevokedEntry, SubjectName,
    build_crl, issue,
};
use kyso_signer::{KeyKind, Signer, SoftKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::store::{self, Keystore, certificates_to_pem, write_atomic};

/// How long a published CRL is valid.
const CRL_VALIDITY: time::Duration = time::Duration::days(7);

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CaState {
    pub(crate) name: String,
    pub(crate) base_url: String,
    pub(crate) crl_number: u64,
    pub(crate) issued: Vec<IssuedRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IssuedRecord {
    /// Serial, uppercase hex of the INTEGER content bytes.
    pub(crate) serial: String,
    pub(crate) subject: String,
    pub(crate) profile: String,
    /// "root" or "issuing".
    pub(crate) issuer: String,
    pub(crate) not_after: String,
    pub(crate) revoked_at: Option<String>,
    pub(crate) reason: Option<String>,
}

/// An opened CA directory.
pub(crate) struct Ca {
    pub(crate) dir: PathBuf,
    pub(crate) state: CaState,
    _lock: fs::File,
}

impl Ca {
    pub(crate) fn dir_from(flag: Option<&Path>, data: &Path) -> PathBuf {
        flag.map(Path::to_path_buf)
            .unwrap_or_else(|| data.join("ca"))
    }

    /// Open with an exclusive lock (concurrent `kyso ca` commands wait).
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let state_path = dir.join("state.json");
        let lock = lock(dir)?;
        let state: CaState = serde_json::from_slice(&fs::read(&state_path).with_context(|| {
            format!(
                "{} is not a kyso CA directory (no state.json); run `kyso ca init`",
                dir.display()
            )
        })?)
        .with_context(|| format!("{} is damaged", state_path.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            state,
            _lock: lock,
        })
    }

    fn save(&self) -> Result<()> {
        write_atomic(
            &self.dir.join("state.json"),
            &serde_json::to_vec_pretty(&self.state)?,
            false,
        )
    }

    pub(crate) fn certificate(&self, which: &str) -> Result<Certificate> {
        store::read_certificates(&self.dir.join(format!("{which}.crt.pem")))?
            .into_iter()
            .next()
            .context("empty certificate file")
    }

    pub(crate) fn key(&self, which: &str, passphrase: &str) -> Result<SoftKey> {
        let (key, _) = Keystore::at(self.dir.clone())
            .load(which, passphrase, None)
            .with_context(|| format!("cannot open the CA's {which} key"))?;
        Ok(key)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.state.base_url.trim_end_matches('/'))
    }

    /// Issue an end-entity certificate from the issuing CA.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call per certificate field group"
    )]
    pub(crate) fn issue_end_entity(
        &mut self,
        passphrase: &str,
        profile: Profile,
        subject: SubjectName,
        public_key: spki::SubjectPublicKeyInfoOwned,
        not_before: OffsetDateTime,
        days: u32,
        dns_names: Vec<String>,
    ) -> Result<(Certificate, Vec<Certificate>)> {
        let issuing_cert = self.certificate("issuing")?;
        let root_cert = self.certificate("root")?;
        let issuing_key = self.key("issuing", passphrase)?;
        let issuer_not_after = time_of(&issuing_cert.tbs_certificate().validity().not_after);
        let not_after =
            later(not_before, time::Duration::days(i64::from(days))).min(issuer_not_after);
        let request = IssueRequest {
            profile,
            subject,
            public_key,
            not_before,
            not_after,
            serial: rand::random(),
            crl_url: Some(self.url("crl/issuing.crl")),
            ocsp_url: Some(self.url("ocsp")),
            ca_issuers_url: Some(self.url("ca/issuing.crt")),
            dns_names,
            ip_addresses: Vec::new(),
            path_len: None,
        };
        let issuer = Issuer {
            certificate: &issuing_cert,
            key: &issuing_key,
        };
        let cert = issue(&request, Some(&issuer), None)?;
        self.record(&cert, profile, "issuing")?;
        Ok((cert, vec![issuing_cert, root_cert]))
    }

    fn record(&mut self, cert: &Certificate, profile: Profile, issuer: &str) -> Result<()> {
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

    /// Revoke by serial (hex) and republish the CRLs.
    pub(crate) fn revoke(
        &mut self,
        passphrase: &str,
        serial_hex: &str,
        reason: RevocationReason,
        at: OffsetDateTime,
    ) -> Result<IssuedRecord> {
        if at > LATEST {
            bail!(
                "revocation time {} is after 9999-12-31T23:59:59Z, the last time a CRL can carry",
                rfc3339(at)
            );
        }
        let wanted = serial_hex.trim().trim_start_matches("0x").to_uppercase();
        let record = self
            .state
            .issued
            .iter_mut()
            .find(|r| r.serial.trim_start_matches('0') == wanted.trim_start_matches('0'))
            .with_context(|| format!("this CA issued no certificate with serial {serial_hex}"))?;
        if record.revoked_at.is_some() {
            bail!("certificate {serial_hex} is already revoked");
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

    /// Build and write both CRLs.
    pub(crate) fn publish_crls(&mut self, passphrase: &str, now: OffsetDateTime) -> Result<()> {
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
            let crl = build_crl(&issuer, &entries, now, later(now, CRL_VALIDITY), number)?;
            write_atomic(&self.dir.join(format!("crl/{which}.crl")), &crl, false)?;
        }
        self.save()
    }
}

/// Status lookup for OCSP.
pub(crate) fn status_in(state: &CaState, serial: &[u8]) -> OcspStatus {
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

fn lock(dir: &Path) -> Result<fs::File> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .with_context(|| format!("cannot lock {}", dir.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;
    Ok(f)
}

/// `kyso ca init`.
pub(crate) fn init(
    dir: &Path,
    name: &str,
    base_url: Option<&str>,
    key_kind: KeyKind,
    years: u16,
    passphrase: &str,
) -> Result<()> {
    if dir.join("state.json").exists() {
        bail!("{} already holds a CA", dir.display());
    }
    let _lock = lock(dir)?;
    let dir_abs = fs::canonicalize(dir)?;
    let base_url = base_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("file://{}", dir_abs.display()));
    let url = |p: &str| format!("{}/{p}", base_url.trim_end_matches('/'));
    let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let not_before = now - time::Duration::minutes(5);
    let root_key = SoftKey::generate(key_kind)?;
    let subject = |cn: &str| SubjectName {
        common_name: cn.to_string(),
        organization: Some(name.to_string()),
        organizational_unit: None,
        locality: None,
        state: None,
        country: "VN".into(),
        uid: None,
        email: None,
        title: None,
    };
    let root_req = IssueRequest {
        profile: Profile::RootCa,
        subject: subject("CA gốc"),
        public_key: root_key.public_key().clone(),
        not_before,
        not_after: later(now, time::Duration::days(365 * i64::from(years))),
        serial: rand::random(),
        crl_url: None,
        ocsp_url: None,
        ca_issuers_url: None,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        path_len: None,
    };
    let root = issue(&root_req, None, Some(&root_key))?;
    let issuing_key = SoftKey::generate(key_kind)?;
    let issuing_req = IssueRequest {
        profile: Profile::IssuingCa,
        subject: subject("CA cấp dưới"),
        public_key: issuing_key.public_key().clone(),
        not_before,
        not_after: later(
            now,
            time::Duration::days(365 * i64::from(years.saturating_sub(2).max(1))),
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
    let issuing = issue(&issuing_req, Some(&root_issuer), None)?;
    let keys = Keystore::at(dir.to_path_buf());
    let cost = store::scrypt_cost();
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
    write_atomic(
        &dir.join("root.crt.pem"),
        certificates_to_pem(std::slice::from_ref(&root))?.as_bytes(),
        false,
    )?;
    write_atomic(
        &dir.join("issuing.crt.pem"),
        certificates_to_pem(std::slice::from_ref(&issuing))?.as_bytes(),
        false,
    )?;
    write_atomic(&dir.join("ca/root.crt"), &root.to_der()?, false)?;
    write_atomic(&dir.join("ca/issuing.crt"), &issuing.to_der()?, false)?;

    let mut ca = Ca {
        dir: dir.to_path_buf(),
        state: CaState {
            name: name.to_string(),
            base_url,
            crl_number: 0,
            issued: Vec::new(),
        },
        _lock,
    };
    ca.record(&issuing, Profile::IssuingCa, "root")?;
    // The CA's own OCSP responder and TSA.
    for (entry, profile, cn) in [
        ("ocsp", Profile::Ocsp, "Dịch vụ OCSP".to_string()),
        ("tsa", Profile::Tsa, "Dịch vụ cấp dấu thời gian".to_string()),
    ] {
        let key = SoftKey::generate(KeyKind::P256)?;
        let (cert, chain) = ca.issue_end_entity(
            passphrase,
            profile,
            subject(&cn),
            key.public_key().clone(),
            not_before,
            365 * 5,
            Vec::new(),
        )?;
        let mut full = vec![cert.clone()];
        full.extend(chain);
        keys.save(entry, &key.to_pkcs8_der(), &full, passphrase, cost)?;
        write_atomic(
            &dir.join(format!("{entry}.crt.pem")),
            certificates_to_pem(&[cert])?.as_bytes(),
            false,
        )?;
    }
    ca.publish_crls(passphrase, now)?;
    Ok(())
}

pub(crate) fn time_of(t: &x509_cert::time::Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The latest time a certificate or CRL can carry (RFC 5280 §4.1.2.5: 99991231235959Z).
pub(crate) const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// `t + d`, never past [`LATEST`] (no overflow panic near the year 9999).
pub(crate) fn later(t: OffsetDateTime, d: time::Duration) -> OffsetDateTime {
    t.checked_add(d).map_or(LATEST, |x| x.min(LATEST))
}

pub(crate) fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC 3339 time (e.g. 2026-11-26T09:30:00+07:00)"))
}

pub(crate) fn parse_reason(s: &str) -> Option<RevocationReason> {
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

/// Serial of a certificate file, hex.
pub(crate) fn serial_of(path: &Path) -> Result<String> {
    let cert = store::read_certificates(path)?
        .into_iter()
        .next()
        .context("no certificate")?;
    Ok(hex::encode_upper(
        cert.tbs_certificate().serial_number().as_bytes(),
    ))
}
