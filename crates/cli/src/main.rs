//! The `kyso` command. Exit codes: 0 success / valid; 1 invalid, indeterminate or
//! unsigned; 2 could not run (bad arguments, unreadable input, failing environment).

mod archive;
mod args;
mod audit;
mod ca;
mod custody;
mod demo;
mod pdf_sign;
mod pdf_verify;
mod search;
mod serve;
mod server;
mod signing;
mod store;
mod token;
mod verifying;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use kyso_pki::ca::{Profile, SubjectName};
use kyso_signer::{KeyKind, Signer, SoftKey};
use time::OffsetDateTime;

use crate::args::{CaCommand, Cli, Command, KeyCommand, ProfileArg, TrustCommand};

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (e.g. `kyso verify … | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "kyso: lỗi / error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let data = store::data_dir(cli.data.as_deref());
    let net = kyso_net::Client::default();
    match cli.command {
        Command::Serve(a) => server::run(&data, cli.data.is_some(), a),
        Command::Demo(a) => {
            let ok = demo::demo(&data, a.dir.as_deref(), a.lang)?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Sign(a) => {
            let guard = custody::DeviceGuard::check(&data, &a.token, &a.auth, &a.file)?;
            let identity = guard.opened(signing::load_identity(
                &data,
                a.key.as_deref(),
                a.p12.as_deref(),
                &a.token,
                a.pss,
                &net,
            ))?;
            let result = if pdf_sign::is_pdf(&a.file) {
                pdf_sign::sign(&identity, &a, &net)
            } else {
                sign_detached(&identity, &a, &net)
            };
            guard.finished(&identity, &result)?;
            result
        }
        Command::Verify(a) => {
            let settings = verifying::settings(&a, &data)?;
            if pdf_verify::is_pdf(&a.file)? {
                return pdf_verify::run(&a, settings, &net);
            }
            let (content, signature) = kyso_app::verify::locate(&a.file, a.sig.as_deref());
            let job = verifying::VerifyJob {
                content: content.clone(),
                signature,
                settings,
            };
            let (report, notes) = verifying::run(&job, &net)?;
            let mut stdout = std::io::stdout().lock();
            if a.json {
                let mut value = serde_json::to_value(&report)?;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("notes".into(), serde_json::json!(notes));
                }
                writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
            } else {
                write!(
                    stdout,
                    "{}",
                    verifying::render(&report, &content, a.lang, &notes)
                )?;
            }
            Ok(if report.verdict.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Extend(a) => pdf_sign::extend(&a, &net),
        Command::Ca(c) => ca_command(&data, c),
        Command::Archive(c) => Ok(exit_ok(archive::archive_command(&data, c)?)),
        Command::Register(c) => Ok(exit_ok(archive::register_command(&data, c)?)),
        Command::Search(a) => search::run(&data, &a),
        Command::User(c) => Ok(exit_ok(custody::user_command(&data, c)?)),
        Command::Device(c) => Ok(exit_ok(custody::device_command(&data, c, &net)?)),
        Command::Audit(c) => Ok(exit_ok(audit::audit_command(&data, c)?)),
        Command::Token(args::TokenCommand::List { token, keys }) => {
            out!("{}", token::list(&token, keys)?.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Import(a)) => {
            let pass = store::passphrase("Mật khẩu tệp .p12 và khóa (passphrase): ")?;
            let bytes = std::fs::read(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            let contents = kyso_signer::pkcs12::parse(&bytes, pass.as_bytes())
                .with_context(|| format!("cannot open {}", a.file.display()))?;
            let key = SoftKey::from_pkcs8_der(&contents.private_key, None)?;
            let cert_der = contents
                .certificate
                .context("the .p12 holds no certificate for its key")?;
            let mut chain: Vec<x509_cert::Certificate> = vec![der::Decode::from_der(&cert_der)?];
            for o in &contents.other_certificates {
                chain.push(der::Decode::from_der(o)?);
            }
            store::Keystore::new(&data).save(
                &a.name,
                &key.to_pkcs8_der(),
                &chain,
                &pass,
                store::scrypt_cost(),
            )?;
            out!(
                "Đã nhập / imported: {} → {} ({})",
                a.file.display(),
                a.name,
                chain[0].tbs_certificate().subject()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::List) => {
            let ks = store::Keystore::new(&data);
            for name in ks.list()? {
                let subject = ks
                    .chain(&name)
                    .ok()
                    .and_then(|c| c.first().map(|c| c.tbs_certificate().subject().to_string()))
                    .unwrap_or_default();
                out!("{name}\t{subject}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Trust(TrustCommand::Add { file }) => {
            let certs = store::read_certificates(&file)?;
            let dir = data.join("trust");
            for cert in certs {
                let der = der::Encode::to_der(&cert)?;
                let mut probe = kyso_pki::path::TrustAnchors::new();
                probe
                    .add_der(&der)
                    .with_context(|| format!("{} is not a usable trust anchor", file.display()))?;
                let name = hex::encode(&kyso_signer::DigestAlgorithm::Sha256.digest(&der)[..8]);
                store::write_atomic(
                    &dir.join(format!("{name}.pem")),
                    store::certificates_to_pem(std::slice::from_ref(&cert))?.as_bytes(),
                    false,
                )?;
                out!(
                    "Đã thêm / added: {} ({name})",
                    cert.tbs_certificate().subject()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Trust(TrustCommand::List) => {
            let (anchors, _) = store::load_anchors(&[data.join("trust")]).unwrap_or_default();
            for c in anchors.certificates() {
                out!("{}", c.tbs_certificate().subject());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn ca_command(data: &std::path::Path, command: CaCommand) -> Result<ExitCode> {
    let pass = || -> Result<zeroize::Zeroizing<String>> {
        if let Ok(p) = std::env::var("KYSO_CA_PASSPHRASE") {
            return Ok(zeroize::Zeroizing::new(p));
        }
        store::passphrase("Mật khẩu khóa của CA (CA passphrase): ")
    };
    match command {
        CaCommand::Init(a) => {
            let dir = ca::Ca::dir_from(a.dir.ca.as_deref(), data);
            let kind = KeyKind::parse(&a.key_type)
                .with_context(|| format!("unknown key type {}", a.key_type))?;
            ca::init(
                &dir,
                &a.name,
                a.base_url.as_deref(),
                kind,
                a.years,
                &pass()?,
            )?;
            out!(
                "Đã tạo CA / CA created: {}\n  CA gốc / root: {}",
                dir.display(),
                dir.join("root.crt.pem").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Issue(a) => {
            let dir = ca::Ca::dir_from(a.dir.ca.as_deref(), data);
            let passphrase = pass()?;
            // Either a fresh software key, or an existing public key (a token's).
            let key = match &a.public_key {
                Some(_) => None,
                None => {
                    let kind = KeyKind::parse(&a.key_type)
                        .with_context(|| format!("unknown key type {}", a.key_type))?;
                    Some(SoftKey::generate(kind)?)
                }
            };
            let public_key = match (&key, &a.public_key) {
                (Some(k), _) => k.public_key().clone(),
                (None, Some(path)) => read_public_key(path)?,
                (None, None) => bail!("no key to certify"),
            };
            let profile = match a.profile {
                ProfileArg::Person => Profile::Person,
                ProfileArg::Seal => Profile::Seal,
                ProfileArg::Tsa => Profile::Tsa,
                ProfileArg::Ocsp => Profile::Ocsp,
                ProfileArg::Tls => Profile::Tls,
            };
            let subject = SubjectName {
                common_name: a.cn.clone(),
                organization: a.org.clone(),
                organizational_unit: a.ou.clone(),
                locality: a.locality.clone(),
                state: a.state.clone(),
                country: "VN".into(),
                uid: a.uid.clone(),
                email: a.email.clone(),
                title: a.title.clone(),
            };
            let not_before = match &a.not_before {
                Some(t) => ca::parse_time(t)?,
                None => {
                    OffsetDateTime::now_utc().replace_nanosecond(0)? - time::Duration::minutes(1)
                }
            };
            let mut authority = ca::Ca::open(&dir)?;
            let (cert, chain) = authority.issue_end_entity(
                &passphrase,
                profile,
                subject,
                public_key,
                not_before,
                a.days,
                a.dns.clone(),
            )?;
            let mut full = vec![cert.clone()];
            full.extend(chain);
            let destination = match (&key, &a.cert_out) {
                (Some(key), _) => {
                    let key_pass = match std::env::var("KYSO_PASSPHRASE") {
                        Ok(p) => zeroize::Zeroizing::new(p),
                        Err(_) => passphrase.clone(),
                    };
                    store::Keystore::new(data).save(
                        &a.name,
                        &key.to_pkcs8_der(),
                        &full,
                        &key_pass,
                        store::scrypt_cost(),
                    )?;
                    if let Some(dir) = &a.export_plain {
                        let pem = der::pem::encode_string(
                            "PRIVATE KEY",
                            der::pem::LineEnding::LF,
                            &key.to_pkcs8_der(),
                        )?;
                        store::write_atomic(
                            &dir.join(format!("{}.key.pem", a.name)),
                            pem.as_bytes(),
                            true,
                        )?;
                        store::write_atomic(
                            &dir.join(format!("{}.crt.pem", a.name)),
                            store::certificates_to_pem(&full)?.as_bytes(),
                            false,
                        )?;
                    }
                    format!("keystore entry {}", a.name)
                }
                (None, Some(path)) => {
                    store::write_atomic(
                        path,
                        store::certificates_to_pem(&full)?.as_bytes(),
                        false,
                    )?;
                    path.display().to_string()
                }
                (None, None) => bail!("--public-key needs --cert-out"),
            };
            out!(
                "Đã cấp / issued: {} serial {} → {destination}",
                cert.tbs_certificate().subject(),
                hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes()),
            );
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Revoke(a) => {
            let dir = ca::Ca::dir_from(a.dir.ca.as_deref(), data);
            let serial = match (&a.serial, &a.cert) {
                (Some(s), _) => s.clone(),
                (None, Some(c)) => ca::serial_of(c)?,
                (None, None) => bail!("give --serial or --cert"),
            };
            let reason = ca::parse_reason(&a.reason)
                .with_context(|| format!("unknown reason {}", a.reason))?;
            let at = match &a.at {
                Some(t) => ca::parse_time(t)?,
                None => OffsetDateTime::now_utc(),
            };
            let record = ca::Ca::open(&dir)?.revoke(&pass()?, &serial, reason, at)?;
            out!(
                "Đã thu hồi / revoked: {} ({})",
                record.subject,
                record.serial
            );
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Crl(a) => {
            let dir = ca::Ca::dir_from(a.ca.as_deref(), data);
            ca::Ca::open(&dir)?.publish_crls(&pass()?, OffsetDateTime::now_utc())?;
            out!(
                "Đã công bố CRL / CRLs published: {}",
                dir.join("crl").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Serve(a) => {
            let dir = ca::Ca::dir_from(a.dir.ca.as_deref(), data);
            let listener = std::net::TcpListener::bind(&a.listen)
                .with_context(|| format!("cannot listen on {}", a.listen))?;
            let running = serve::start(&dir, listener, &pass()?)?;
            out!(
                "kyso ca serve: http://{} (/crl/issuing.crl, /crl/root.crl, /ocsp, /tsa)",
                running.addr
            );
            running.join();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A public key (SubjectPublicKeyInfo) from a PEM or DER file.
fn read_public_key(path: &std::path::Path) -> Result<spki::SubjectPublicKeyInfoOwned> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = if bytes.starts_with(b"-----") {
        let text = std::str::from_utf8(&bytes).context("PEM is not UTF-8")?;
        store::pem_blocks(text, "PUBLIC KEY")
            .into_iter()
            .next()
            .with_context(|| format!("{} has no PUBLIC KEY block", path.display()))?
    } else {
        bytes
    };
    <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(&der)
        .with_context(|| format!("{} is not a SubjectPublicKeyInfo", path.display()))
}

/// Exit 0 when done, 1 when something was not (an import with failures, an
/// inconsistent archive).
fn exit_ok(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `kyso sign FILE` for a non-PDF file: detached CAdES.
fn sign_detached(
    identity: &signing::Identity,
    a: &args::SignArgs,
    net: &kyso_net::Client,
) -> Result<ExitCode> {
    let out = a
        .out
        .clone()
        .or_else(|| a.cosign.clone())
        .unwrap_or_else(|| PathBuf::from(format!("{}.p7s", a.file.display())));
    let signed = signing::sign_file(
        identity,
        &signing::SignJob {
            file: &a.file,
            out,
            cosign: a.cosign.as_deref(),
            tsa: a.tsa.as_deref(),
            embed_revocation: !a.no_embed_revocation,
            force: a.force,
        },
        net,
    )?;
    for w in &signed.warnings {
        eprintln!("kyso: lưu ý / note: {w}");
    }
    let subject = identity
        .certificate()
        .tbs_certificate()
        .subject()
        .to_string();
    out!(
        "Đã ký / signed: {} → {}\n  người ký / signer: {subject}\n  thời điểm / time: {}{}\n  CRL đính kèm / embedded CRLs: {}",
        a.file.display(),
        signed.out.display(),
        kyso_cades::report::vietnam_time(signed.signing_time),
        if signed.timestamped {
            " (dấu thời gian / time-stamped, B-T)"
        } else {
            " (B-B)"
        },
        signed.embedded_crls
    );
    Ok(ExitCode::SUCCESS)
}
