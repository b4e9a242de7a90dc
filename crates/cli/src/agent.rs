//! `kyso agent`: the local signing helper (kyso-agent) — flags over `agent.toml`, the
//! local TLS certificate and its trust stores, autostart with the session.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use kyso_agent::{Agent, AgentConfig, ConfirmMode, LocalTls};

/// `kyso agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(subcommand)]
    pub(crate) command: Option<AgentCommand>,
    #[command(flatten)]
    pub(crate) run: AgentRunArgs,
}

/// What `kyso agent` can do besides running.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Make this computer's local root and the agent's certificate for 127.0.0.1, and
    /// add the root to the trust stores browsers read (Linux: NSS ~/.pki/nssdb and
    /// Firefox profiles; --system also the system store, as root).
    InstallCert(InstallCertArgs),
    /// Start the agent with the desktop session (Linux: a systemd user unit; Windows:
    /// the Run key; macOS: a LaunchAgent), confirming in a window (--confirm dialog).
    InstallAutostart(InstallAutostartArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InstallCertArgs {
    /// Also the system-wide store (needs root / administrator).
    #[arg(long)]
    system: bool,
    /// Folder of the local TLS certificate (default: tls/ in the configuration folder).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// Configuration file (default: agent.toml in the user's configuration folder).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InstallAutostartArgs {
    /// Write the unit but do not enable and start it.
    #[arg(long)]
    no_enable: bool,
    /// Configuration file the started agent reads.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Flags over the configuration file.
#[derive(Debug, Args)]
pub(crate) struct AgentRunArgs {
    /// Configuration file (default: agent.toml in the user's configuration folder).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Port on 127.0.0.1 (default 8987, the VGCA Sign Service's).
    #[arg(long)]
    port: Option<u16>,
    /// An origin whose pages may ask for signatures (repeatable), e.g.
    /// https://eoffice.cantho.gov.vn.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// The token's PKCS#11 module.
    #[arg(long = "pkcs11", value_name = "MODULE")]
    pkcs11: Option<PathBuf>,
    /// Token label.
    #[arg(long)]
    token_label: Option<String>,
    /// Key by CKA_ID (hex).
    #[arg(long)]
    key_id: Option<String>,
    /// Key by CKA_LABEL.
    #[arg(long)]
    key_label: Option<String>,
    /// PNG of the signature (SignApproved).
    #[arg(long, value_name = "PNG")]
    leader_image: Option<PathBuf>,
    /// PNG of the seal (SignIssued).
    #[arg(long, value_name = "PNG")]
    seal_image: Option<PathBuf>,
    /// Certificates to embed after the signer's (PEM; repeatable).
    #[arg(long, value_name = "PEM")]
    chain: Vec<PathBuf>,
    /// Time-stamp authority (B-T signatures).
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// How signings are confirmed: terminal (default) or dialog.
    #[arg(long, value_enum)]
    confirm: Option<ConfirmArg>,
    /// Folder of the local TLS certificate (default: tls/ in the configuration folder).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ConfirmArg {
    Terminal,
    Dialog,
}

fn config_path(given: Option<&PathBuf>) -> Result<(PathBuf, PathBuf)> {
    let dir = kyso_agent::config::config_dir().map_err(|e| anyhow!("{e}"))?;
    let path = given.cloned().unwrap_or_else(|| dir.join("agent.toml"));
    Ok((dir, path))
}

fn load(a: &AgentRunArgs) -> Result<(AgentConfig, PathBuf, PathBuf)> {
    let (dir, path) = config_path(a.config.as_ref())?;
    let mut c = AgentConfig::load(&path).map_err(|e| anyhow!("{e}"))?;
    if let Some(p) = a.port {
        c.port = p;
    }
    c.allowed_origins.extend(a.allow_origin.iter().cloned());
    let set = |slot: &mut Option<PathBuf>, v: &Option<PathBuf>| {
        if v.is_some() {
            slot.clone_from(v);
        }
    };
    set(&mut c.pkcs11, &a.pkcs11);
    set(&mut c.leader_image, &a.leader_image);
    set(&mut c.seal_image, &a.seal_image);
    set(&mut c.tls_dir, &a.tls_dir);
    for (slot, v) in [
        (&mut c.token_label, &a.token_label),
        (&mut c.key_id, &a.key_id),
        (&mut c.key_label, &a.key_label),
        (&mut c.tsa, &a.tsa),
    ] {
        if v.is_some() {
            slot.clone_from(v);
        }
    }
    c.chain.extend(a.chain.iter().cloned());
    if let Some(m) = a.confirm {
        c.confirm = match m {
            ConfirmArg::Terminal => ConfirmMode::Terminal,
            ConfirmArg::Dialog => ConfirmMode::Dialog,
        };
    }
    c.check().map_err(|e| anyhow!("{e}"))?;
    Ok((c, dir, path))
}

pub(crate) fn run(a: AgentArgs) -> Result<ExitCode> {
    match a.command {
        Some(AgentCommand::InstallCert(i)) => install_cert(&a.run, &i),
        Some(AgentCommand::InstallAutostart(i)) => install_autostart(&a.run, &i),
        None => serve(&a.run),
    }
}

fn install_cert(a: &AgentRunArgs, i: &InstallCertArgs) -> Result<ExitCode> {
    let given = i.config.as_ref().or(a.config.as_ref());
    let (dir, path) = config_path(given)?;
    let config = AgentConfig::load(&path).map_err(|e| anyhow!("{e}"))?;
    let tls_dir = i
        .tls_dir
        .clone()
        .or_else(|| a.tls_dir.clone())
        .unwrap_or_else(|| config.tls_dir(&dir));
    let files = kyso_agent::localtls::create(&tls_dir, time::OffsetDateTime::now_utc())
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "Đã tạo chứng thư TLS cục bộ: {}\nLocal TLS certificate: {}",
        files.cert.display(),
        files.cert.display()
    );
    println!(
        "Gốc cục bộ: {} (khóa của gốc đã bị hủy)\nLocal root: {} (its key was destroyed)",
        files.root.display(),
        files.root.display()
    );
    let mut failed = false;
    for r in kyso_agent::os::install_root(&files.root, kyso_agent::localtls::TRUST_NAME, i.system) {
        match r.result {
            Ok(()) => println!("  Đã tin cậy trong {}\n  Trusted in {}", r.store, r.store),
            Err(why) => {
                failed = true;
                eprintln!(
                    "  KHÔNG thêm được vào {}: {why}\n  NOT added to {}",
                    r.store, r.store
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn install_autostart(a: &AgentRunArgs, i: &InstallAutostartArgs) -> Result<ExitCode> {
    let given = i.config.as_ref().or(a.config.as_ref());
    let (_, path) = config_path(given)?;
    let exe = std::env::current_exe()?;
    let args = vec![
        "agent".to_string(),
        "--config".to_string(),
        path.display().to_string(),
        "--confirm".to_string(),
        "dialog".to_string(),
    ];
    let unit = kyso_agent::os::install_autostart(&exe, &args, !i.no_enable)
        .map_err(|e| anyhow!("không cài được tự khởi động: {e}\ncannot install autostart"))?;
    println!(
        "kyso agent sẽ chạy khi đăng nhập: {}\nkyso agent starts with the session: {}",
        unit.display(),
        unit.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(a: &AgentRunArgs) -> Result<ExitCode> {
    let (config, dir, path) = load(a)?;
    let tls = LocalTls::in_dir(&config.tls_dir(&dir));
    if !tls.exists() {
        return Err(anyhow!(
            "chưa có chứng thư TLS cục bộ trong {}: hãy chạy `kyso agent install-cert`\nno local TLS certificate: run `kyso agent install-cert`",
            tls.cert.display()
        ));
    }
    if let Ok(t) = tls.not_after()
        && t < time::OffsetDateTime::now_utc()
    {
        return Err(anyhow!(
            "chứng thư TLS cục bộ đã hết hạn: hãy chạy lại `kyso agent install-cert`\nthe local TLS certificate expired: run `kyso agent install-cert` again"
        ));
    }
    if config.allowed_origins.is_empty() {
        eprintln!(
            "kyso agent: chưa có trang nào được phép (allowed_origins, --allow-origin): mọi yêu cầu sẽ bị từ chối\nkyso agent: no allowed origin: every request is refused"
        );
    }
    let confirmer = kyso_agent::confirm::confirmer(config.confirm);
    let port = config.port;
    let origins = config.allowed_origins.join(", ");
    let agent = Arc::new(
        Agent::new(config, path.exists().then_some(path), confirmer).map_err(|e| anyhow!("{e}"))?,
    );
    let listener = kyso_agent::server::bind(port).map_err(|e| anyhow!("{e}"))?;
    let local = listener.local_addr()?;
    println!("kyso agent: wss://{local} (trang được phép: {origins})");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(kyso_agent::server::serve(agent, &tls, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    }))
    .map_err(|e| anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}
