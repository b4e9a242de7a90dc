//! `kyso ca init | issue | revoke | crl`: the built-in certificate authority on disk
//! ([`kyso_app::ca`] keeps the directory: state, lock, keys, CRLs). Here: flags,
//! passphrases and the printed lines.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use kyso_app::ca::{self, Ca, CertifiedKey, EndEntity, InitRequest};
use kyso_pki::ca::{Profile, SubjectName};
use kyso_signer::KeyKind;
use time::OffsetDateTime;

use crate::args::{CaDirArgs, CaInitArgs, CaIssueArgs, CaRevokeArgs, ProfileArg};
use crate::store::{self, Keystore};

fn key_kind(name: &str) -> Result<KeyKind> {
    KeyKind::parse(name).with_context(|| format!("unknown key type {name}"))
}

/// `kyso ca init`.
pub(crate) fn init(data: &Path, a: &CaInitArgs) -> Result<ExitCode> {
    let dir = Ca::dir_from(a.dir.ca.as_deref(), data);
    let key_kind = key_kind(&a.key_type)?;
    ca::init(
        &dir,
        &InitRequest {
            name: &a.name,
            base_url: a.base_url.as_deref(),
            key_kind,
            years: a.years,
        },
        &store::ca_passphrase()?,
        store::scrypt_cost(),
        OffsetDateTime::now_utc(),
    )?;
    writeln!(
        std::io::stdout(),
        "Đã tạo CA / CA created: {}\n  CA gốc / root: {}",
        dir.display(),
        dir.join("root.crt.pem").display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `kyso ca issue`: a fresh key into the keystore, or a certificate for an existing
/// public key (`--public-key … --cert-out …`).
pub(crate) fn issue(data: &Path, a: &CaIssueArgs) -> Result<ExitCode> {
    let dir = Ca::dir_from(a.dir.ca.as_deref(), data);
    let passphrase = store::ca_passphrase()?;
    let public_key = match &a.public_key {
        Some(path) => Some(ca::read_public_key(path)?),
        None => None,
    };
    let kind = match public_key {
        Some(_) => None,
        None => Some(key_kind(&a.key_type)?),
    };
    let profile = match a.profile {
        ProfileArg::Person => Profile::Person,
        ProfileArg::Seal => Profile::Seal,
        ProfileArg::Tsa => Profile::Tsa,
        ProfileArg::Ocsp => Profile::Ocsp,
        ProfileArg::Tls => Profile::Tls,
    };
    let fields = EndEntity {
        profile,
        subject: SubjectName {
            common_name: a.cn.clone(),
            organization: a.org.clone(),
            organizational_unit: a.ou.clone(),
            locality: a.locality.clone(),
            state: a.state.clone(),
            country: "VN".into(),
            uid: a.uid.clone(),
            email: a.email.clone(),
            title: a.title.clone(),
        },
        not_before: match &a.not_before {
            Some(t) => ca::parse_time(t)?,
            None => OffsetDateTime::now_utc().replace_nanosecond(0)? - time::Duration::minutes(1),
        },
        days: a.days,
        dns_names: a.dns.clone(),
    };
    // The new key's passphrase: `KYSO_PASSPHRASE`, else the CA's.
    let key_passphrase = match std::env::var("KYSO_PASSPHRASE") {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(_) => passphrase.clone(),
    };
    let keystore = Keystore::new(data);
    let (key, destination) = match (kind, public_key, &a.cert_out) {
        (Some(kind), _, _) => (
            CertifiedKey::Generate {
                kind,
                keystore: &keystore,
                name: &a.name,
                passphrase: &key_passphrase,
                cost: store::scrypt_cost(),
                export_plain: a.export_plain.as_deref(),
            },
            format!("keystore entry {}", a.name),
        ),
        (None, Some(public_key), Some(path)) => (
            CertifiedKey::Public {
                public_key,
                cert_out: path,
            },
            path.display().to_string(),
        ),
        (None, _, _) => anyhow::bail!("--public-key needs --cert-out"),
    };
    let cert = Ca::open(&dir)?.issue(&passphrase, &fields, key)?;
    writeln!(
        std::io::stdout(),
        "Đã cấp / issued: {} serial {} → {destination}",
        cert.tbs_certificate().subject(),
        hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes()),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `kyso ca revoke`.
pub(crate) fn revoke(data: &Path, a: &CaRevokeArgs) -> Result<ExitCode> {
    let dir = Ca::dir_from(a.dir.ca.as_deref(), data);
    let serial = match (&a.serial, &a.cert) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => ca::serial_of(c)?,
        (None, None) => anyhow::bail!("give --serial or --cert"),
    };
    let reason =
        ca::parse_reason(&a.reason).with_context(|| format!("unknown reason {}", a.reason))?;
    let at = match &a.at {
        Some(t) => ca::parse_time(t)?,
        None => OffsetDateTime::now_utc(),
    };
    let record = Ca::open(&dir)?.revoke(&store::ca_passphrase()?, &serial, reason, at)?;
    writeln!(
        std::io::stdout(),
        "Đã thu hồi / revoked: {} ({})",
        record.subject,
        record.serial
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `kyso ca crl`.
pub(crate) fn crl(data: &Path, a: &CaDirArgs) -> Result<ExitCode> {
    let dir = Ca::dir_from(a.ca.as_deref(), data);
    Ca::open(&dir)?.publish_crls(&store::ca_passphrase()?, OffsetDateTime::now_utc())?;
    writeln!(
        std::io::stdout(),
        "Đã công bố CRL / CRLs published: {}",
        dir.join("crl").display()
    )?;
    Ok(ExitCode::SUCCESS)
}
