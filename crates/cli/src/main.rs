//! The `kyso` command. Exit codes: 0 success / valid; 1 invalid, indeterminate or
//! unsigned; 2 could not run (bad arguments, unreadable input, failing environment).

mod agent;
mod archive;
mod args;
mod audit;
mod ca;
mod custody;
mod demo;
mod evidence;
mod keys;
mod office;
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
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use kyso_signer::SoftKey;

use crate::args::{CaCommand, Cli, Command, KeyCommand, TrustCommand};

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

fn main() -> ExitCode {
    // Everything kyso writes (database, originals, keys, index) is for this account
    // alone: folders 0700, files 0600, whatever the shell's umask.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
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

/// A command line kyso cannot read: what is wrong in Vietnamese first, then clap's own
/// explanation and usage (English); help and version are printed as asked.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    let vi = match e.kind() {
        K::DisplayHelp | K::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        K::DisplayHelpOnMissingArgumentOrSubcommand | K::MissingSubcommand => {
            "thiếu lệnh con (xem danh sách bên dưới)"
        }
        K::UnknownArgument => "tham số không có trong lệnh này",
        K::InvalidSubcommand => "không có lệnh con này",
        K::MissingRequiredArgument => "thiếu tham số bắt buộc",
        K::InvalidValue | K::ValueValidation => "giá trị của tham số không hợp lệ",
        K::ArgumentConflict => "các tham số này không dùng cùng nhau được",
        K::TooManyValues | K::TooFewValues | K::WrongNumberOfValues => {
            "số giá trị của tham số không đúng"
        }
        K::NoEquals => "tham số này cần dạng --tên=giá-trị",
        K::InvalidUtf8 => "tham số không phải văn bản UTF-8",
        _ => "dòng lệnh không hợp lệ",
    };
    let _ = writeln!(
        std::io::stderr(),
        "kyso: lỗi cú pháp lệnh / usage error: {vi} (kyso --help)\n{}",
        e.render()
    );
    ExitCode::from(2)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let data = store::data_dir(cli.data.as_deref());
    let net = kyso_net::Client::default();
    match cli.command {
        Command::Serve(a) => server::run(&data, cli.data.is_some(), a),
        Command::Agent(a) => agent::run(a),
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
            let identity = guard.opened(keys::load_identity(
                &data,
                a.key.as_deref(),
                a.p12.as_deref(),
                &a.token,
                a.pss,
                &net,
            ))?;
            let result = if kyso_app::signing::is_pdf(&a.file) {
                pdf_sign::sign(identity.key.as_ref(), &identity.chain, &a, &net)
            } else {
                signing::sign_detached(&identity, &a, &net)
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
        Command::Ca(CaCommand::Init(a)) => ca::init(&data, &a),
        Command::Ca(CaCommand::Issue(a)) => ca::issue(&data, &a),
        Command::Ca(CaCommand::Revoke(a)) => ca::revoke(&data, &a),
        Command::Ca(CaCommand::Crl(a)) => ca::crl(&data, &a),
        Command::Ca(CaCommand::Serve(a)) => serve::run(&data, &a),
        Command::Archive(c) => Ok(exit_ok(archive::archive_command(&data, c)?)),
        Command::Evidence(evidence::EvidenceCommand::Verify(a)) => {
            Ok(exit_ok(evidence::verify_standalone(&data, &a)?))
        }
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

/// Exit 0 when done, 1 when something was not (an import with failures, an
/// inconsistent archive).
fn exit_ok(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
