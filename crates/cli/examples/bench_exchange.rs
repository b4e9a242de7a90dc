//! Load benchmark of delivery between two nodes (tracker issue 12): two `kyso serve`
//! processes (release build) with their own data directories and node certificates on
//! loopback, agency A on node A sending distinct sealed 1 MB PDFs to agency B on node B
//! at a fixed offered rate (and as fast as possible), each observed until A's timeline
//! shows B's status `01` (received and verified on receipt at B).
//!
//! ```sh
//! cargo build --release --locked -p kyso-cli --bin kyso --example bench_exchange
//! target/release/examples/bench_exchange --kyso target/release/kyso \
//!     [--docs 1000] [--rates 100,0] [--runs 3] [--senders 8] [--max-seconds 120] [--out DIR]
//!     [--postgres URL]
//! ```
//!
//! `scripts/bench-exchange.sh` runs it. Per run: a fresh node CA (kyso-testkit `mtls`),
//! two nodes set up over the JSON API (administrators, A's clerk, each agency in the
//! other's directory with its node URL and certificate); per rate, `--docs` documents
//! prepared before any timing: a generated 1 MB PDF (four pages, a 250 kB
//! incompressible image each, distinct bytes per document) signed in process by the
//! test PKI's leader (visible, PAdES B-B) and sealed over it by its agency seal
//! (kyso-pades, the keys of kyso-testkit `pki`), filed at A as an issued outgoing
//! document (`POST /api/v1/documents`, verified on filing). The timed phase: `--senders`
//! threads post `POST /api/v1/documents/{id}/sendings` (recipient B) on the schedule
//! `t0 + i / rate` (rate 0: as fast as they can); an observer polls
//! `GET /api/v1/documents/{id}/deliveries` of the oldest sent documents whose `01` has
//! not been seen (two at a time, every 20 ms when none changed) and records when it
//! appears. Latency = from the start of the sending request to the answer that first
//! shows `01` (polled every 20 ms while waiting, so up to ~20 ms late); documents/s = documents whose `01`
//! was seen ÷ (last `01` seen − first sending started). Peak RSS = VmHWM of both
//! servers, reset through `/proc/PID/clear_refs` before the phase; CPU per document =
//! user + system time of each server during the phase (`/proc/PID/stat`) ÷ documents. Revocation: B-B
//! signatures name the test PKI's CRLs, which both nodes fetch from its HTTP server in
//! this process (as the integration test `exchange_nodes` does); nodes on SQLite, or with
//! `--postgres URL` (a PostgreSQL server) each node on a fresh database of that server.

#![allow(clippy::unwrap_used, reason = "benchmark tool")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use der::DecodePem;
use kyso_pades::sign::{PdfSignRequest, Placement, Role, sign};
use kyso_signer::SoftKey;
use kyso_testkit::http::{Client, Multipart};
use kyso_testkit::mtls::{NodeCa, NodeCert, free_port};
use kyso_testkit::pki::fixture;
use kyso_testkit::serve::{
    PASSWORD, Served, add_remote_agency as add_agency, login, set_up, trusting_data_dir as data_dir,
};
use serde_json::json;
use x509_cert::Certificate;

const A: &str = "000.00.00.H13";
const B: &str = "000.00.00.H41";

struct Args {
    kyso: PathBuf,
    docs: usize,
    rates: Vec<f64>,
    runs: usize,
    senders: usize,
    max_seconds: u64,
    out: Option<PathBuf>,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        kyso: kyso_testkit::workspace().join("target/release/kyso"),
        docs: 1000,
        rates: vec![100.0, 0.0],
        runs: 3,
        senders: 8,
        max_seconds: 120,
        out: None,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--kyso" => a.kyso = value().into(),
            "--docs" => a.docs = value().parse().unwrap(),
            "--rates" => a.rates = value().split(',').map(|r| r.parse().unwrap()).collect(),
            "--runs" => a.runs = value().parse().unwrap(),
            "--senders" => a.senders = value().parse().unwrap(),
            "--max-seconds" => a.max_seconds = value().parse().unwrap(),
            "--out" => a.out = Some(value().into()),
            "--postgres" => a.postgres = Some(value()),
            other => panic!("unknown argument {other} (see the header of bench_exchange.rs)"),
        }
    }
    assert!(
        a.docs > 0 && a.runs > 0 && a.senders > 0,
        "counts must be positive"
    );
    a
}

// ----------------------------------------------------------------------------------
// Documents
// ----------------------------------------------------------------------------------

/// The test PKI's leader and seal (keys, certificates, the issuing CA) and the images.
struct Signers {
    leader: (SoftKey, Certificate),
    seal: (SoftKey, Certificate),
    chain: Vec<Certificate>,
    leader_png: Vec<u8>,
    seal_png: Vec<u8>,
}

fn key(path: &Path) -> SoftKey {
    let (_, der) = der::pem::decode_vec(&std::fs::read(path).unwrap()).unwrap();
    SoftKey::from_pkcs8_der(&der, None).unwrap()
}

fn certificate(path: &Path) -> Certificate {
    Certificate::from_pem(std::fs::read(path).unwrap()).unwrap()
}

impl Signers {
    fn load() -> Self {
        let f = fixture();
        let images = kyso_testkit::workspace().join("testdata/images");
        Self {
            leader: (key(&f.key_pem), certificate(&f.cert_pem)),
            seal: (key(&f.key2_pem), certificate(&f.cert2_pem)),
            chain: vec![certificate(&f.chain_pem)],
            leader_png: std::fs::read(images.join("signature-blue.png")).unwrap(),
            seal_png: std::fs::read(images.join("seal-red.png")).unwrap(),
        }
    }

    /// Document `seed` signed by the leader (visible) and sealed over it, PAdES B-B.
    fn sealed(&self, seed: u64) -> Vec<u8> {
        let now = time::OffsetDateTime::now_utc();
        let mut doc = kyso_testkit::large_pdf(seed);
        let mut leader = PdfSignRequest::new(&self.leader.1, now);
        leader.chain = &self.chain;
        leader.role = Role::Leader;
        leader.image = Some(&self.leader_png);
        leader.placement = Placement {
            page: Some(1),
            rect: Some([300.0, 150.0, 500.0, 250.0]),
            anchor: None,
        };
        leader.field_name = Some("LeaderSignature".into());
        let signed = sign(&doc, &self.leader.0, &leader, None).unwrap();
        doc.extend_from_slice(&signed.update);
        let mut seal = PdfSignRequest::new(&self.seal.1, now);
        seal.chain = &self.chain;
        seal.role = Role::Seal;
        seal.image = Some(&self.seal_png);
        seal.field_name = Some("SealSignature".into());
        let signed = sign(&doc, &self.seal.0, &seal, None).unwrap();
        doc.extend_from_slice(&signed.update);
        doc
    }
}

// ----------------------------------------------------------------------------------
// Nodes
// ----------------------------------------------------------------------------------

fn serve(
    kyso: &Path,
    (data, database): (&Path, Option<&str>),
    port: u16,
    cert: &NodeCert,
    ca: &Path,
    log: &Path,
) -> Served {
    let mut command = Command::new(kyso);
    command.env_remove("KYSO_DATABASE_URL");
    if let Some(url) = database {
        command.env("KYSO_DATABASE_URL", url);
    }
    kyso_testkit::serve::spawn_logged(
        command
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--exchange-listen", &format!("127.0.0.1:{port}")])
            .arg("--exchange-cert")
            .arg(&cert.cert_pem)
            .arg("--exchange-key")
            .arg(&cert.key_pem)
            .arg("--exchange-ca")
            .arg(ca)
            .env_remove("KYSO_DATA")
            .env("RUST_LOG", "warn"),
        log,
    )
}

fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) of a process so far, in seconds (clock ticks of 10 ms).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

struct Pair {
    _tmp: tempfile::TempDir,
    node_a: Served,
    node_b: Served,
    clerk_a: Client,
    data_b: PathBuf,
}

fn nodes(kyso: &Path, logs: &Path, run: usize, postgres: Option<&str>) -> Pair {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut ca = NodeCa::new(&tmp.path().join("node-ca"));
    let (cert_a, cert_b) = (ca.node("a"), ca.node("b"));
    let (port_a, port_b) = (free_port(), free_port());
    let (data_a, data_b) = (data_dir(tmp.path(), "a"), data_dir(tmp.path(), "b"));
    let (db_a, db_b) = match postgres {
        Some(server) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let fresh = || runtime.block_on(kyso_testkit::postgres::fresh_database(server));
            (Some(fresh()), Some(fresh()))
        }
        None => (None, None),
    };
    let node_a = serve(
        kyso,
        (&data_a, db_a.as_deref()),
        port_a,
        &cert_a,
        &ca.ca_pem,
        &logs.join(format!("node-a-run{run}.log")),
    );
    let node_b = serve(
        kyso,
        (&data_b, db_b.as_deref()),
        port_b,
        &cert_b,
        &ca.ca_pem,
        &logs.join(format!("node-b-run{run}.log")),
    );
    let admin_a = set_up(&node_a, A, "So%20Thong%20tin%20va%20Truyen%20thong");
    let added = admin_a.post_json(
        "/api/v1/users",
        &json!({"name": "vanthu_a", "full_name": "vanthu_a", "roles": ["clerk"], "password": PASSWORD}),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    add_agency(&admin_a, B, "Văn phòng UBND tỉnh", port_b, &cert_b);
    let admin_b = set_up(&node_b, B, "Van%20phong%20UBND%20tinh");
    add_agency(&admin_b, A, "Sở Thông tin và Truyền thông", port_a, &cert_a);
    let clerk_a = login(&node_a, "vanthu_a");
    Pair {
        _tmp: tmp,
        node_a,
        node_b,
        clerk_a,
        data_b,
    }
}

/// Signs and files `count` distinct documents at A (two threads); their ids.
fn prepare(signers: &Signers, clerk: &Client, first_seed: u64, count: usize) -> Vec<i64> {
    let next = AtomicUsize::new(0);
    let ids = Mutex::new(vec![0i64; count]);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let sealed = signers.sealed(first_seed + i as u64);
                    let filed = clerk.post_form(
                        "/api/v1/documents",
                        &Multipart::new()
                            .file("file", "cong-van.pdf", &sealed)
                            .text("type", "CV")
                            .text("subject", &format!("Về việc thử tải trao đổi, văn bản {i}"))
                            .text("urgency", "khan")
                            .text("allocate_issuer", "STTTT")
                            .text("allocate_units", "VP"),
                    );
                    assert_eq!(filed.status, 201, "{}", filed.text);
                    assert_eq!(
                        filed.json["verification"]["verdict"]
                            .as_str()
                            .unwrap_or("valid"),
                        "valid",
                        "{}",
                        filed.text
                    );
                    ids.lock().unwrap()[i] = filed.json["record"]["id"].as_i64().unwrap();
                }
            });
        }
    });
    ids.into_inner().unwrap()
}

/// What one timed phase measured.
#[derive(Debug, Clone, Default)]
struct Phase {
    rate: f64,
    docs: usize,
    done: usize,
    docs_per_s: f64,
    offered_per_s: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    send_p50_ms: f64,
    send_p99_ms: f64,
    max_lag_ms: f64,
    rss_a_kib: u64,
    rss_b_kib: u64,
    reset: bool,
    load: String,
    cpu_a_ms: f64,
    cpu_b_ms: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn has_01(clerk: &Client, id: i64) -> bool {
    let t = clerk.get(&format!("/api/v1/documents/{id}/deliveries"));
    assert_eq!(t.status, 200, "{}", t.text);
    t.json.as_array().into_iter().flatten().any(|d| {
        d["recipient"] == B
            && d["statuses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["code"] == "01")
    })
}

fn timed(pair: &Pair, ids: &[i64], rate: f64, senders: usize, max: Duration) -> Phase {
    let n = ids.len();
    let (pid_a, pid_b) = (pair.node_a.child.id(), pair.node_b.child.id());
    let reset = reset_peak(pid_a) & reset_peak(pid_b);
    let cpu = (cpu_seconds(pid_a), cpu_seconds(pid_b));
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    // Per document: scheduled, request started, request answered (since t0).
    let sent: Mutex<Vec<Option<(Duration, Duration, Duration)>>> = Mutex::new(vec![None; n]);
    let seen: Mutex<Vec<Option<Duration>>> = Mutex::new(vec![None; n]);
    let next = AtomicUsize::new(0);
    let t0 = Instant::now() + Duration::from_millis(50);
    let deadline = t0 + max;
    std::thread::scope(|s| {
        for _ in 0..senders {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || Instant::now() > deadline {
                        break;
                    }
                    let at = if rate > 0.0 {
                        Duration::from_secs_f64(i as f64 / rate)
                    } else {
                        Duration::ZERO
                    };
                    let when = t0 + at;
                    let now = Instant::now();
                    if when > now {
                        std::thread::sleep(when - now);
                    }
                    let start = Instant::now();
                    let answer = pair.clerk_a.post_json(
                        &format!("/api/v1/documents/{}/sendings", ids[i]),
                        &json!({"recipients": [B]}),
                    );
                    let end = Instant::now();
                    assert_eq!(answer.status, 201, "{}", answer.text);
                    assert_eq!(
                        answer.json["recipients"][0]["outcome"], "queued",
                        "{}",
                        answer.text
                    );
                    sent.lock().unwrap()[i] = Some((at, start - t0, end - t0));
                }
            });
        }
        // The observer: the oldest sent documents without 01, two at a time, again
        // after 20 ms when neither had it (≤ 100 requests/s to A while waiting).
        s.spawn(|| {
            let mut pending: Vec<usize> = (0..n).collect();
            while !pending.is_empty() && Instant::now() < deadline + Duration::from_secs(5) {
                let ready: Vec<usize> = {
                    let sent = sent.lock().unwrap();
                    pending
                        .iter()
                        .copied()
                        .filter(|&i| sent[i].is_some())
                        .take(2)
                        .collect()
                };
                let mut changed = false;
                for i in ready {
                    if has_01(&pair.clerk_a, ids[i]) {
                        seen.lock().unwrap()[i] = Some(Instant::now() - t0);
                        pending.retain(|&p| p != i);
                        changed = true;
                    }
                }
                if !changed {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
    });
    let cpu = (cpu_seconds(pid_a) - cpu.0, cpu_seconds(pid_b) - cpu.1);
    let sent = sent.into_inner().unwrap();
    let seen = seen.into_inner().unwrap();
    let mut latency = Vec::new();
    let mut send = Vec::new();
    let mut lag: f64 = 0.0;
    let mut first_start = Duration::MAX;
    let mut last_start = Duration::ZERO;
    let mut last_seen = Duration::ZERO;
    for (s, o) in sent.iter().zip(&seen) {
        if let Some((at, start, end)) = s {
            first_start = first_start.min(*start);
            last_start = last_start.max(*start);
            send.push((*end - *start).as_secs_f64() * 1e3);
            lag = lag.max(start.saturating_sub(*at).as_secs_f64() * 1e3);
            if let Some(o) = o {
                latency.push((*o - *start).as_secs_f64() * 1e3);
                last_seen = last_seen.max(*o);
            }
        }
    }
    latency.sort_by(f64::total_cmp);
    send.sort_by(f64::total_cmp);
    let done = latency.len();
    Phase {
        rate,
        docs: n,
        done,
        docs_per_s: done as f64 / (last_seen.saturating_sub(first_start)).as_secs_f64(),
        offered_per_s: (send.len().saturating_sub(1)) as f64
            / (last_start.saturating_sub(first_start)).as_secs_f64(),
        p50_ms: quantile(&latency, 0.5),
        p90_ms: quantile(&latency, 0.9),
        p99_ms: quantile(&latency, 0.99),
        max_ms: latency.last().copied().unwrap_or(f64::NAN),
        send_p50_ms: quantile(&send, 0.5),
        send_p99_ms: quantile(&send, 0.99),
        max_lag_ms: lag,
        rss_a_kib: kib(pid_a, "VmHWM:"),
        rss_b_kib: kib(pid_b, "VmHWM:"),
        reset,
        load,
        cpu_a_ms: cpu.0 * 1e3 / done.max(1) as f64,
        cpu_b_ms: cpu.1 * 1e3 / done.max(1) as f64,
    }
}

fn rate_name(rate: f64) -> String {
    if rate > 0.0 {
        format!("{rate}/s offered")
    } else {
        "as fast as possible".into()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let args = args();
    assert!(
        args.kyso.is_file(),
        "no kyso binary at {}",
        args.kyso.display()
    );
    let logs = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("kyso-bench-exchange"));
    std::fs::create_dir_all(&logs).unwrap();
    let signers = Signers::load();
    let t = Instant::now();
    let probe = signers.sealed(u64::MAX);
    std::fs::write(logs.join("sample-sealed.pdf"), &probe).unwrap();
    println!(
        "store: {}",
        if args.postgres.is_some() {
            "PostgreSQL (a fresh database per node and run)"
        } else {
            "SQLite (in each node's data directory)"
        }
    );
    println!(
        "document: {} bytes, sealed in process in {:.1} ms (leader visible + seal, PAdES B-B)",
        probe.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut phases: Vec<(usize, Phase)> = Vec::new();
    let mut seed = 0u64;
    for run in 1..=args.runs {
        let pair = nodes(&args.kyso, &logs, run, args.postgres.as_deref());
        let idle = (
            kib(pair.node_a.child.id(), "VmRSS:"),
            kib(pair.node_b.child.id(), "VmRSS:"),
        );
        println!(
            "== run {run}/{}: node A {} (pid {}), node B {} (pid {}), idle RSS {} / {} KiB",
            args.runs,
            pair.node_a.url,
            pair.node_a.child.id(),
            pair.node_b.url,
            pair.node_b.child.id(),
            idle.0,
            idle.1
        );
        for &rate in &args.rates {
            let t = Instant::now();
            let ids = prepare(&signers, &pair.clerk_a, seed, args.docs);
            seed += args.docs as u64;
            println!(
                "   prepared {} sealed documents at A in {:.1} s",
                ids.len(),
                t.elapsed().as_secs_f64()
            );
            std::thread::sleep(Duration::from_secs(2));
            let p = timed(
                &pair,
                &ids,
                rate,
                args.senders,
                Duration::from_secs(args.max_seconds),
            );
            println!(
                "KYSO_BENCH_EXCHANGE run={run} rate={} docs={} done={} docs_per_s={:.1} offered_per_s={:.1} p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1} send_p50_ms={:.1} send_p99_ms={:.1} max_lag_ms={:.1} rss_a_kib={} rss_b_kib={} hwm_reset={} cpu_a_ms_per_doc={:.1} cpu_b_ms_per_doc={:.1} load=\"{}\"",
                p.rate,
                p.docs,
                p.done,
                p.docs_per_s,
                p.offered_per_s,
                p.p50_ms,
                p.p90_ms,
                p.p99_ms,
                p.max_ms,
                p.send_p50_ms,
                p.send_p99_ms,
                p.max_lag_ms,
                p.rss_a_kib,
                p.rss_b_kib,
                p.reset,
                p.cpu_a_ms,
                p.cpu_b_ms,
                p.load
            );
            phases.push((run, p));
        }
        let received = std::fs::read_dir(pair.data_b.join("exchange/packages"))
            .map(|d| d.count())
            .unwrap_or(0);
        println!("   packages stored at B: {received}");
    }
    // The report.
    println!();
    println!(
        "| rate | run | docs with 01 / sent | documents/s (sustained) | offered (sends/s) | p50 | p90 | p99 | max | sending request p50 / p99 | peak RSS A / B | CPU per document A / B | load average at start |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &rate in &args.rates {
        let of: Vec<&Phase> = phases
            .iter()
            .filter(|(_, p)| p.rate == rate)
            .map(|(_, p)| p)
            .collect();
        for (run, p) in phases.iter().filter(|(_, p)| p.rate == rate) {
            println!(
                "| {} | {run} | {} / {} | {:.1} | {:.1} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} / {:.0} ms | {:.0} / {:.0} MiB{} | {:.0} / {:.0} ms | {} |",
                rate_name(rate),
                p.done,
                p.docs,
                p.docs_per_s,
                p.offered_per_s,
                p.p50_ms,
                p.p90_ms,
                p.p99_ms,
                p.max_ms,
                p.send_p50_ms,
                p.send_p99_ms,
                p.rss_a_kib as f64 / 1024.0,
                p.rss_b_kib as f64 / 1024.0,
                if p.reset { "" } else { " (since start)" },
                p.cpu_a_ms,
                p.cpu_b_ms,
                p.load
            );
        }
        let m = |f: fn(&Phase) -> f64| median(of.iter().map(|p| f(p)).collect());
        println!(
            "| **{}** | **median** | | **{:.1}** | {:.1} | **{:.0} ms** | {:.0} ms | **{:.0} ms** | {:.0} ms | {:.0} / {:.0} ms | {:.0} / {:.0} MiB | {:.0} / {:.0} ms | |",
            rate_name(rate),
            m(|p| p.docs_per_s),
            m(|p| p.offered_per_s),
            m(|p| p.p50_ms),
            m(|p| p.p90_ms),
            m(|p| p.p99_ms),
            m(|p| p.max_ms),
            m(|p| p.send_p50_ms),
            m(|p| p.send_p99_ms),
            m(|p| p.rss_a_kib as f64) / 1024.0,
            m(|p| p.rss_b_kib as f64) / 1024.0,
            m(|p| p.cpu_a_ms),
            m(|p| p.cpu_b_ms),
        );
    }
}
