//! `kyso serve`: parse, then hand over to kyso-server. `kyso serve --demo` first seeds
//! a demo city into a new data directory (kyso-app `demo`) with its CA's CRL, OCSP and
//! time-stamp services on loopback (`serve.rs`), then serves it the same way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use kyso_app::demo::{DemoCity, DemoSetup};

use crate::args::ServeArgs;
use crate::store;

/// `data_given`: whether `--data` was on the command line (it then overrides the
/// configuration file's `data`).
pub(crate) fn run(data: &Path, data_given: bool, a: ServeArgs) -> Result<ExitCode> {
    if a.demo {
        return demo(data, data_given, a);
    }
    let config = config(data, data_given, &a)?;
    serve(config, |_| {})
}

/// The server's configuration from the flags (over the configuration file).
fn config(data: &Path, data_given: bool, a: &ServeArgs) -> Result<kyso_server::Config> {
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
    if a.exchange_relay {
        config.exchange_relay = true;
    }
    if a.exchange_crl.is_some() {
        config.exchange_crl = a.exchange_crl.clone();
    }
    if let Some(n) = a.verify_rate_per_minute {
        config.verify_rate_per_minute = n;
    }
    if a.evidence_tsa.is_some() {
        config.evidence_tsa = a.evidence_tsa.clone();
    }
    if let Some(hours) = a.evidence_every {
        config.evidence_every_hours = hours;
    }
    if let Some(days) = a.evidence_renew_before {
        config.evidence_renew_before_days = days;
    }
    if let Some(port) = a.agent_port {
        config.agent_port = port;
    }
    Ok(config)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Serves until SIGINT/SIGTERM; `more` prints after the URL.
fn serve(
    config: kyso_server::Config,
    more: impl FnOnce(&kyso_server::Listening),
) -> Result<ExitCode> {
    kyso_server::init_logging();
    let runtime = runtime()?;
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
        more(listening);
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

/// `kyso serve --demo`: a new data directory (`DATA/demo-<UTC time>`, or `--data` itself,
/// which must be new or empty), the city CA and its services on a loopback port of this
/// process, the city seeded through kyso-app, then served; the logins are printed once.
fn demo(data: &Path, data_given: bool, a: ServeArgs) -> Result<ExitCode> {
    if a.database_url.is_some() {
        anyhow::bail!(
            "--demo dùng cơ sở dữ liệu SQLite riêng trong thư mục trình diễn: bỏ --database-url / KYSO_DATABASE_URL \
             (--demo keeps its own SQLite database in its directory: drop --database-url / KYSO_DATABASE_URL)"
        );
    }
    let now = time::OffsetDateTime::now_utc();
    let dir: PathBuf = if data_given {
        data.to_path_buf()
    } else {
        data.join(format!(
            "demo-{:04}{:02}{:02}-{:02}{:02}{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        ))
    };
    kyso_app::demo::check_fresh(&dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir)?;
    // Demo keys: a lighter scrypt cost unless the caller chose one.
    if std::env::var_os("KYSO_SCRYPT_LOG_N").is_none() {
        store::set_default_scrypt_log_n(14);
    }
    println!(
        "kyso serve --demo: đang tạo thành phố thử nghiệm trong {} …",
        dir.display()
    );
    println!("  (creating a demo city in {})", dir.display());
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    let setup = DemoSetup {
        base_url: format!("http://{}", listener.local_addr()?),
        passphrase: kyso_app::demo::random_password(),
        cost: store::scrypt_cost(),
    };
    kyso_app::demo::create_ca(&dir, &setup, now)?;
    // The CA's CRL, OCSP and TSA answer on loopback as long as the node runs.
    let ca_services = crate::serve::start(
        &kyso_app::ca::Ca::dir_from(None, &dir),
        listener,
        &setup.passphrase,
    )?;
    let city = runtime()?.block_on(async {
        let app = kyso_app::App::open(&dir, None).await?;
        app.seed_demo(&setup).await
    })?;
    let mut config = config(&dir, true, &a)?;
    config.data = dir.clone();
    let result = serve(config, |listening| {
        print_city(&city, &setup, &dir, listening)
    });
    drop(ca_services);
    result
}

fn role_names(role: kyso_office::Role) -> (&'static str, &'static str) {
    use kyso_office::Role;
    match role {
        Role::Leader => ("lãnh đạo", "leader"),
        Role::Clerk => ("văn thư", "clerk"),
        Role::Officer => ("chuyên viên", "officer"),
        Role::Custodian => ("người quản lý thiết bị", "device custodian"),
        Role::Administrator => ("quản trị", "administrator"),
    }
}

fn reply_names(reply: &str) -> &'static str {
    match reply {
        "accepted" => "đã tiếp nhận (accepted)",
        "assigned" => "đã tiếp nhận, giao xử lý (accepted, assigned)",
        "refused" => "từ chối (refused)",
        _ => "đã nhận, chờ văn thư tiếp nhận (received, awaiting the clerk)",
    }
}

/// What `kyso serve --demo` prints after the URL: the city, its logins (the only time
/// the passwords are shown), its documents. The last line is `Dừng: Ctrl+C …`.
fn print_city(city: &DemoCity, setup: &DemoSetup, dir: &Path, listening: &kyso_server::Listening) {
    let name_of = |id: &kyso_model::AgencyId| {
        city.agencies
            .iter()
            .find(|a| &a.id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    println!();
    println!(
        "== Thành phố thử nghiệm (demo city) — dữ liệu / data: {} ==",
        dir.display()
    );
    println!(
        "CA thử nghiệm: CRL, OCSP, dấu thời gian tại {} (chỉ trong tiến trình này)",
        setup.base_url
    );
    println!(
        "  (demo CA: CRL, OCSP, time-stamps at {}, within this process; its root is a trust anchor: {})",
        setup.base_url,
        city.root_certificate.display()
    );
    println!(
        "Mật khẩu các khóa thử nghiệm (CA và khóa mềm trong {}) / passphrase of the demo keys: {}",
        dir.join("keys").display(),
        setup.passphrase.as_str()
    );
    println!();
    println!("Tài khoản đăng nhập — mật khẩu ngẫu nhiên, chỉ in MỘT lần:");
    println!("  (logins — random passwords, printed only ONCE)");
    for agency in &city.agencies {
        println!("  {} ({})", agency.name, agency.id);
        for login in &agency.logins {
            let (vi, en) = role_names(login.role);
            println!(
                "    {:<18} {}   {vi} / {en} — {}",
                login.name,
                login.password.as_str(),
                login.full_name
            );
        }
        println!(
            "    thiết bị / device {}: KHÓA MỀM thay cho token (a SOFTWARE KEY standing in for a token, keystore {}), người giữ / custodian {}",
            agency.device.serial, agency.keys[1], agency.device.custodian
        );
    }
    println!();
    println!("Văn bản đã gửi giữa các cơ quan (documents sent between the agencies):");
    for doc in &city.documents {
        println!(
            "  {} — {} ({})",
            doc.notation,
            doc.subject,
            name_of(&doc.sender)
        );
        for (to, reply) in &doc.recipients {
            println!("    → {}: {}", name_of(to), reply_names(reply));
        }
    }
    println!();
    println!("Mở trình duyệt và đăng nhập: {}/dang-nhap", listening.url);
    println!(
        "  (open it in a browser and sign in; the API: POST {}/api/v1/sessions {{\"user\": \"vanthu.ubnd\", \"password\": \"…\"}})",
        listening.url
    );
    println!("Dừng: Ctrl+C");
    println!("  (stop: Ctrl+C)");
}
