//! `kyso serve`: parse, then hand over to kyso-server.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::args::ServeArgs;

/// `data_given`: whether `--data` was on the command line (it then overrides the
/// configuration file's `data`).
pub(crate) fn run(data: &Path, data_given: bool, a: ServeArgs) -> Result<ExitCode> {
    let mut config = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            kyso_server::Config::from_toml(&text)?
        }
        None => kyso_server::Config {
            data: data.to_path_buf(),
            ..kyso_server::Config::default()
        },
    };
    if data_given || config.data.as_os_str().is_empty() {
        config.data = data.to_path_buf();
    }
    if let Some(listen) = a.listen {
        config.listen = listen;
    }
    if a.database_url.is_some() {
        config.database_url = a.database_url.clone();
    }
    if a.tls_cert.is_some() {
        config.tls_cert = a.tls_cert.clone();
        config.tls_key = a.tls_key.clone();
    }
    if a.pkcs11_module.is_some() {
        config.pkcs11_module = a.pkcs11_module.clone();
    }
    if a.exchange_listen.is_some() {
        config.exchange_listen = a.exchange_listen;
        config.exchange_cert = a.exchange_cert.clone();
        config.exchange_key = a.exchange_key.clone();
        config.exchange_ca = a.exchange_ca.clone();
    }
    if let Some(n) = a.verify_rate_per_minute {
        config.verify_rate_per_minute = n;
    }
    kyso_server::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(kyso_server::run(config, |listening| {
        println!("kyso đang phục vụ tại {}", listening.url);
        println!("  (serving at {})", listening.url);
        println!(
            "  API: {0}/api/v1/openapi.json — kiểm tra chữ ký: POST {0}/api/v1/verify",
            listening.url
        );
        if let Some(exchange) = &listening.exchange_url {
            println!(
                "  Nhận văn bản từ các nút khác (mTLS) / exchange with other nodes: {exchange}"
            );
        }
        if let Some(link) = &listening.setup_link {
            println!("  Chưa có quản trị viên: mở liên kết cài đặt (chỉ dùng được một lần):");
            println!("  (no administrator yet: open the one-time setup link)");
            println!("  {link}");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("kyso: lỗi: {}", e.vi);
            eprintln!("kyso: error: {}", e.en);
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}
