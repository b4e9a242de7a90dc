//! Page timings of the staff's web interface with a large archive (tracker issue 13):
//! "việc của tôi", the document page, the incoming list, the archive tree and the search
//! results page, each requested
//! `--requests` times from a signed-in clerk of a `kyso serve` (release build) whose
//! agency holds `--docs` archived documents (default 100,000), with the JSON API's
//! answers for the same data measured in the same run beside them (the same use case
//! without the page around it).
//!
//! ```sh
//! cargo build --release --locked -p kyso-cli --bin kyso --example bench_pages
//! target/release/examples/bench_pages --kyso target/release/kyso \
//!     [--docs 100000] [--requests 300] [--data DIR]
//! ```
//!
//! The archive is built once in `--data` (default `$TMPDIR/kyso-bench-pages-<docs>`)
//! and reused by later runs: the documents of kyso-search's deterministic corpus
//! generator (realistic types, numbers, issuers, subjects and full texts over
//! 2020–2026) registered as incoming documents of one agency through kyso-office
//! (`register_incoming`, the same store as filing: SQLite, one transaction each), 99.9 %
//! accepted with their arrival number, the rest waiting for the clerk, one in twenty
//! urgent; then the search index built from the same documents with their full text.
//! No originals: the pages read the database and the index, not the files (the
//! document page's PDF is fetched by the browser afterwards, and is not timed here).
//!
//! Timings are wall-clock from the client's request to the last byte of the answer on
//! loopback, so they include HTTP and the client; requests are sequential (one at a
//! time), the documents and search words drawn at random with a fixed seed. Medians and
//! p95 per page are printed as a Markdown table.

#![allow(clippy::unwrap_used, reason = "benchmark tool")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kyso_app::{Actor, App};
use kyso_model::{AgencyId, Secrecy, Urgency};
use kyso_office::{IncomingRequest, IncomingState, Metadata};
use kyso_search::corpus::{Corpus, Rng};
use kyso_search::{Index, IndexOptions, SearchDoc};
use kyso_testkit::http::Client;
use zeroize::Zeroizing;

const AGENCY: &str = "000.00.00.H13";
const AGENCY_NAME: &str = "Ủy ban nhân dân thành phố Cần Thơ";
const SEED: u64 = 20_261_207;
const PASSWORD: &str = "mat-khau-do-hieu-nang";
/// Search words a clerk types (folded and not), drawn at random.
const WORDS: [&str; 12] = [
    "ngân sách",
    "ngan sach",
    "ky so",
    "quyết định",
    "bao cao",
    "tuyen dung",
    "đất đai",
    "y te",
    "giáo dục",
    "phong chong",
    "kế hoạch",
    "thong bao",
];

struct Args {
    kyso: PathBuf,
    docs: u64,
    requests: usize,
    data: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        kyso: PathBuf::from("target/release/kyso"),
        docs: 100_000,
        requests: 300,
        data: PathBuf::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--kyso" => a.kyso = PathBuf::from(value()),
            "--docs" => a.docs = value().parse().unwrap(),
            "--requests" => a.requests = value().parse().unwrap(),
            "--data" => a.data = PathBuf::from(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    if a.data.as_os_str().is_empty() {
        a.data = std::env::temp_dir().join(format!("kyso-bench-pages-{}", a.docs));
    }
    a
}

/// One corpus document as an incoming document of the agency.
fn request(doc: &SearchDoc, agency: &AgencyId, waiting: bool, urgent: bool) -> IncomingRequest {
    let document_type = kyso_app::documents::parse_type(&doc.doc_type).unwrap();
    let (number, notation) = match doc.notation.split_once('/') {
        Some((n, t)) => (Some(n.to_string()), Some(t.to_string())),
        None => (Some(doc.number.to_string()), None),
    };
    IncomingRequest {
        agency: agency.clone(),
        arrival_date: doc.issued_date,
        document_type,
        secrecy: Secrecy::default(),
        urgency: if urgent {
            Urgency::Khan
        } else {
            Urgency::Thuong
        },
        sender_number: Some(doc.notation.clone()),
        state: if waiting {
            IncomingState::Verified
        } else {
            IncomingState::Accepted
        },
        metadata: Metadata {
            type_name: document_type.vietnamese_name().to_string(),
            code_number: number,
            code_notation: notation,
            issued_date: Some(doc.issued_date),
            organ_name: doc.issuer.clone(),
            subject: doc.subject.clone(),
            ..Metadata::default()
        },
        original: None,
    }
}

/// Builds the archive in `data` unless a previous run did.
fn build(data: &Path, docs: u64) {
    let done = data.join("bench-corpus-ready");
    if done.exists() {
        println!("archive: reusing {}", data.display());
        return;
    }
    if data.exists() {
        std::fs::remove_dir_all(data).unwrap();
    }
    std::fs::create_dir_all(data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agency: AgencyId = AGENCY.parse().unwrap();
    let started = Instant::now();
    let ids = rt.block_on(async {
        let app = App::open(data, None).await.unwrap();
        app.create_first_administrator(
            &agency,
            AGENCY_NAME,
            "quantri",
            "Võ Quốc Huy",
            Zeroizing::new(PASSWORD.to_string()),
        )
        .await
        .unwrap();
        let operator = Actor::operator(agency.clone());
        app.add_user(
            &operator,
            kyso_app::custody::NewUser {
                name: "vanthu".into(),
                full_name: "Nguyễn Thị Lan".into(),
                roles: vec!["clerk".into()],
                title: String::new(),
                unit: String::new(),
                password: Some(Zeroizing::new(PASSWORD.to_string())),
                certificate: None,
                signature_image: None,
            },
        )
        .await
        .unwrap();
        let mut rng = Rng::new(SEED);
        let mut ids = Vec::with_capacity(usize::try_from(docs).unwrap());
        for (i, doc) in Corpus::new(SEED, docs).enumerate() {
            let waiting = rng.chance(1) && rng.chance(10);
            let urgent = rng.chance(5);
            let registered = app
                .office()
                .register_incoming(request(&doc, &agency, waiting, urgent), None, app.now())
                .await
                .unwrap();
            ids.push(registered.record.id.unwrap());
            if (i + 1) % 10_000 == 0 {
                println!(
                    "archive: {} documents registered ({:.0}/s)",
                    i + 1,
                    (i + 1) as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        ids
    });
    let index = Index::recreate(&data.join("index"), IndexOptions::default()).unwrap();
    let docs_with_ids = Corpus::new(SEED, docs).zip(ids).map(|(mut doc, id)| {
        doc.id = id.to_string();
        doc.agency_id = AGENCY.to_string();
        Ok::<_, std::convert::Infallible>(doc)
    });
    index.try_rebuild(docs_with_ids, &mut |_| {}).unwrap();
    std::fs::write(&done, b"ok").unwrap();
    println!(
        "archive: {docs} documents and their index built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Percentile `p` (0–100) of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Times `requests` GETs of `path(i)`; each must answer 200 with a body containing
/// `expect`.
fn time(
    client: &Client,
    requests: usize,
    expect: &str,
    mut path: impl FnMut(usize) -> String,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let p = path(i);
        let t = Instant::now();
        let (status, body) = client.get_bytes(&p);
        times.push(t.elapsed());
        assert_eq!(status, 200, "GET {p}: {}", String::from_utf8_lossy(&body));
        assert!(
            String::from_utf8_lossy(&body).contains(expect),
            "GET {p} lacks {expect:?}"
        );
    }
    times.sort();
    times
}

fn main() {
    let a = args();
    build(&a.data, a.docs);
    let mut serve = Command::new(&a.kyso);
    serve
        .env("RUST_LOG", "warn")
        .env_remove("KYSO_DATABASE_URL")
        .arg("--data")
        .arg(&a.data)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let served = kyso_testkit::serve::spawn(&mut serve);
    let mut clerk = Client::new(&served.url);
    let login = clerk.login("vanthu", PASSWORD);
    assert_eq!(login.status, 201, "{}", login.text);
    let docs = usize::try_from(a.docs).unwrap();
    let mut rng = Rng::new(SEED + 1);
    let mut ids: Vec<usize> = (0..a.requests).map(|_| 1 + rng.below(docs)).collect();
    let mut words: Vec<&str> = (0..a.requests).map(|_| *rng.pick(&WORDS)).collect();
    let query = |w: &str| w.replace(' ', "+");
    // Warm-up: the first search opens the index, the first pages fill the caches.
    for path in [
        "/",
        "/van-ban/1",
        "/tim-kiem?q=ngan+sach",
        "/api/v1/search?q=ky+so",
    ] {
        clerk.get_bytes(path);
    }
    let rows = [
        (
            "GET / (việc của tôi)",
            time(&clerk, a.requests, "Việc của tôi", |_| "/".into()),
        ),
        (
            "GET /van-ban/{id} (document page)",
            time(&clerk, a.requests, "Thông tin văn bản", |i| {
                format!("/van-ban/{}", ids[i])
            }),
        ),
        (
            "GET /api/v1/documents/{id} (JSON, same record)",
            time(&clerk, a.requests, "\"Subject\"", |i| {
                format!("/api/v1/documents/{}", ids[i])
            }),
        ),
        (
            "GET /van-ban-den (incoming list, newest 200)",
            time(&clerk, a.requests, "Văn bản đến", |_| {
                "/van-ban-den".into()
            }),
        ),
        (
            "GET /luu-tru (archive: years, the newest year's folders, 100 newest each)",
            time(&clerk, a.requests, "Lưu trữ", |_| "/luu-tru".into()),
        ),
        (
            "GET /tim-kiem?q=… (search results page, facets, snippets)",
            time(&clerk, a.requests, "Tìm thấy", |i| {
                format!("/tim-kiem?q={}", query(words[i]))
            }),
        ),
        (
            "GET /api/v1/search?q=…&limit=50 (JSON, same query)",
            time(&clerk, a.requests, "\"total\"", |i| {
                format!("/api/v1/search?q={}&limit=50", query(words[i]))
            }),
        ),
    ];
    ids.clear();
    words.clear();
    println!(
        "\n{} archived documents, {} sequential requests per row, clerk signed in, loopback:\n",
        a.docs, a.requests
    );
    println!("| Request | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (name, times) in &rows {
        println!(
            "| {name} | {} | {} | {} |",
            ms(percentile(times, 50.0)),
            ms(percentile(times, 95.0)),
            ms(*times.last().unwrap())
        );
    }
}
