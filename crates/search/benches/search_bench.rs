//! tantivy (kyso-search) against SQLite FTS5 on the same generated corpus, in one run.
//!
//! ```sh
//! cargo bench -p kyso-search --bench search_bench -- --docs 100000      # quick
//! cargo bench -p kyso-search --bench search_bench                       # 1,000,000 documents
//! ```
//!
//! Flags: `--docs N` (default 1,000,000), `--out DIR` (default target/search-bench),
//! `--seed N`, `--reps N` (timed runs per query, default 20), `--budget-secs S` (time cap per
//! engine and query class, default 90), `--writer-threads N`, `--heap-mb N`,
//! `--segments N` (merge tantivy into N segments after ingest; 0 = leave it to tantivy's
//! merge policy), `--reuse` (keep an existing index and database of the same size and skip
//! ingest), `--only tantivy|fts5`.
//!
//! Both engines ingest the same JSON-lines corpus (generated once into the output
//! directory, read and parsed inside the timed ingest for both), index the same text
//! folded the same way (kyso_model::fold), and answer the same queries. Results go to
//! stdout and to OUT/results.md.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use kyso_search::corpus::Corpus;
use kyso_search::{Index, IndexOptions, Phase, Query, SearchDoc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqliteConnection};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
struct Args {
    docs: u64,
    out: PathBuf,
    seed: u64,
    reps: usize,
    budget: Duration,
    writer_threads: usize,
    heap_mb: usize,
    segments: usize,
    reuse: bool,
    tantivy: bool,
    fts5: bool,
}

fn parse_args() -> Result<Args, BoxError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut a = Args {
        docs: 1_000_000,
        out: PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
            .join("search-bench"),
        seed: 2026,
        reps: 20,
        budget: Duration::from_secs(90),
        writer_threads: cores.clamp(1, 4),
        heap_mb: 256,
        segments: cores.clamp(1, 8),
        reuse: false,
        tantivy: true,
        fts5: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--docs" => a.docs = value()?.replace(['_', ','], "").parse()?,
            "--out" => a.out = PathBuf::from(value()?),
            "--seed" => a.seed = value()?.parse()?,
            "--reps" => a.reps = value()?.parse()?,
            "--budget-secs" => a.budget = Duration::from_secs(value()?.parse()?),
            "--writer-threads" => a.writer_threads = value()?.parse()?,
            "--heap-mb" => a.heap_mb = value()?.parse()?,
            "--segments" => a.segments = value()?.parse()?,
            "--reuse" => a.reuse = true,
            "--only" => match value()?.as_str() {
                "tantivy" => a.fts5 = false,
                "fts5" => a.tantivy = false,
                other => return Err(format!("--only tantivy|fts5, not {other}").into()),
            },
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(what.to_owned());
    pb
}

/// Documents read back from the corpus file.
fn read_corpus(path: &Path) -> Result<impl Iterator<Item = Result<SearchDoc, BoxError>>, BoxError> {
    let reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    Ok(reader.lines().map(|line| {
        let line = line?;
        Ok(serde_json::from_str::<SearchDoc>(&line)?)
    }))
}

fn ensure_corpus(a: &Args) -> Result<PathBuf, BoxError> {
    let path = a.out.join(format!("corpus-{}-{}.jsonl", a.docs, a.seed));
    if path.exists() {
        return Ok(path);
    }
    let tmp = path.with_extension("tmp");
    let started = Instant::now();
    let pb = bar(a.docs, "corpus");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    for (i, doc) in Corpus::new(a.seed, a.docs).enumerate() {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
        if i % 10_000 == 0 {
            pb.set_position(i as u64);
        }
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, &path)?;
    pb.finish_and_clear();
    eprintln!(
        "corpus: {} documents, {:.1} MB, generated in {:.1} s",
        a.docs,
        std::fs::metadata(&path)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(path)
}

fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| dir_size(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// Peak resident set of this process so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Debug, Clone, Default)]
struct Ingest {
    docs: u64,
    ingest: Duration,
    optimize: Duration,
    bytes: u64,
    note: String,
    peak_rss_mb: f64,
}

fn ingest_tantivy(a: &Args, corpus: &Path) -> Result<(Index, Option<Ingest>), BoxError> {
    let dir = a.out.join("tantivy");
    let options = IndexOptions {
        writer_threads: a.writer_threads,
        writer_heap_bytes: a.heap_mb << 20,
        search_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        segments_after_rebuild: (a.segments > 0).then_some(a.segments),
    };
    if a.reuse && dir.exists() {
        // An index of another schema version is rebuilt.
        if let Ok(index) = Index::open_with(&dir, options.clone())
            && index.num_docs() == a.docs
        {
            eprintln!("tantivy: reusing {} ({} docs)", dir.display(), a.docs);
            return Ok((index, None));
        }
    }
    let index = Index::recreate(&dir, options)?;
    let pb = bar(a.docs, "tantivy");
    let stats = index.try_rebuild(read_corpus(corpus)?, &mut |p| match p.phase {
        Phase::Indexing => pb.set_position(p.indexed),
        Phase::Committing => pb.set_message("commit"),
        Phase::Merging => pb.set_message("merging"),
        Phase::Done => pb.finish_and_clear(),
    })?;
    let ingest = Ingest {
        docs: stats.docs,
        ingest: stats.indexing + stats.commit,
        optimize: stats.merge,
        bytes: dir_size(&dir),
        note: format!(
            "{} writer threads, {} MB heap, {} segments after merge",
            a.writer_threads, a.heap_mb, stats.segments
        ),
        peak_rss_mb: peak_rss_mb(),
    };
    eprintln!("tantivy: {ingest:?}");
    Ok((index, Some(ingest)))
}

/// The text FTS5 indexes for a document: the same fields as kyso-search's combined
/// field (subject twice, notation, type name, issuer, signer, agency id, full text),
/// folded with kyso_model::fold (which maps đ → d; FTS5's remove_diacritics does not).
fn fts_body(d: &SearchDoc) -> String {
    let type_name = kyso_model::DocumentType::iter()
        .find(|t| kyso_search::type_code(*t) == d.doc_type)
        .map_or("", |t| t.vietnamese_name());
    let all = [
        d.subject.as_str(),
        &d.subject,
        &d.notation,
        type_name,
        &d.issuer,
        &d.signer,
        &d.agency_id,
        &d.full_text,
    ]
    .join("\n");
    kyso_model::fold(&all)
}

/// FTS5 token for a type code: unique after unicode61 folding (HĐ ≠ HD).
fn type_token(code: &str) -> String {
    format!("t{}", code.replace('Đ', "DD").replace('đ', "dd"))
}

fn fts_tags(d: &SearchDoc) -> String {
    format!("y{} {}", d.year, type_token(&d.doc_type))
}

async fn open_sqlite(path: &Path, create: bool) -> Result<SqliteConnection, BoxError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if create {
            SqliteSynchronous::Off
        } else {
            SqliteSynchronous::Normal
        })
        .pragma("cache_size", "-262144")
        .pragma("temp_store", "memory")
        .pragma("mmap_size", "17179869184")
        .statement_cache_capacity(256);
    Ok(SqliteConnection::connect_with(&options).await?)
}

const BATCH: usize = 500;

async fn ingest_fts5(
    a: &Args,
    corpus: &Path,
) -> Result<(SqliteConnection, Option<Ingest>), BoxError> {
    let path = a.out.join("fts5.db");
    if a.reuse && path.exists() {
        let mut conn = open_sqlite(&path, false).await?;
        let n: i64 = sqlx::query("SELECT count(*) FROM docs")
            .fetch_one(&mut conn)
            .await?
            .get(0);
        if n as u64 == a.docs {
            eprintln!("fts5: reusing {} ({n} docs)", path.display());
            return Ok((conn, None));
        }
        drop(conn);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut conn = open_sqlite(&path, true).await?;
    sqlx::raw_sql(
        "CREATE TABLE docs (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            agency_id TEXT NOT NULL,
            year INTEGER NOT NULL,
            doc_type TEXT NOT NULL,
            number INTEGER NOT NULL,
            notation TEXT NOT NULL,
            notation_key TEXT,
            notation_exact TEXT,
            issued_date TEXT NOT NULL,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            signer TEXT NOT NULL,
            full_text TEXT NOT NULL,
            path TEXT NOT NULL
         );
         CREATE VIRTUAL TABLE fts USING fts5(
            body, tags, content='', tokenize='unicode61 remove_diacritics 2'
         );",
    )
    .execute(&mut conn)
    .await?;

    let pb = bar(a.docs, "fts5");
    let started = Instant::now();
    let mut rowid: i64 = 0;
    let mut batch: Vec<SearchDoc> = Vec::with_capacity(BATCH);
    let mut tx = conn.begin().await?;
    let mut in_tx = 0usize;
    let mut docs = read_corpus(corpus)?;
    loop {
        let next = docs.next().transpose()?;
        let done = next.is_none();
        if let Some(d) = next {
            batch.push(d);
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            let first = rowid + 1;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO docs (rowid, id, agency_id, year, doc_type, number, notation, \
                 notation_key, notation_exact, issued_date, issuer, subject, signer, full_text, path) ",
            );
            let mut r = first;
            q.push_values(&batch, |mut b, d| {
                b.push_bind(r)
                    .push_bind(d.id.clone())
                    .push_bind(d.agency_id.clone())
                    .push_bind(i64::from(d.year))
                    .push_bind(d.doc_type.clone())
                    .push_bind(i64::from(d.number))
                    .push_bind(d.notation.clone())
                    .push_bind(kyso_search::notation_key(&d.notation))
                    .push_bind(kyso_search::notation_exact(&d.notation))
                    .push_bind(kyso_search::format_date(d.issued_date))
                    .push_bind(d.issuer.clone())
                    .push_bind(d.subject.clone())
                    .push_bind(d.signer.clone())
                    .push_bind(d.full_text.clone())
                    .push_bind(d.path.clone());
                r += 1;
            });
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO fts (rowid, body, tags) ");
            let mut r = first;
            q.push_values(&batch, |mut b, d| {
                b.push_bind(r).push_bind(fts_body(d)).push_bind(fts_tags(d));
                r += 1;
            });
            q.build().execute(&mut *tx).await?;
            rowid += batch.len() as i64;
            in_tx += batch.len();
            batch.clear();
            pb.set_position(rowid as u64);
            if in_tx >= 20_000 {
                tx.commit().await?;
                tx = conn.begin().await?;
                in_tx = 0;
            }
        }
        if done {
            break;
        }
    }
    tx.commit().await?;
    // Secondary indexes after the bulk load, as one would for a rebuild.
    sqlx::raw_sql(
        "CREATE INDEX docs_notation_key ON docs(notation_key);
         CREATE INDEX docs_year_type ON docs(year, doc_type);",
    )
    .execute(&mut conn)
    .await?;
    let ingest = started.elapsed();
    pb.set_message("optimize");
    let optimize_started = Instant::now();
    sqlx::query("INSERT INTO fts(fts) VALUES('optimize')")
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .execute(&mut conn)
        .await?;
    let optimize = optimize_started.elapsed();
    pb.finish_and_clear();
    let ingest = Ingest {
        docs: rowid as u64,
        ingest,
        optimize,
        bytes: dir_size(&path),
        note: format!(
            "1 connection, batches of {BATCH} rows, 20,000 rows per transaction, WAL, synchronous=OFF, 256 MB cache; 'optimize' + ANALYZE after"
        ),
        peak_rss_mb: peak_rss_mb(),
    };
    eprintln!("fts5: {ingest:?}");
    drop(conn);
    Ok((open_sqlite(&path, false).await?, Some(ingest)))
}

/// One benchmark query, as each engine runs it.
#[derive(Debug, Clone)]
struct BenchQuery {
    class: &'static str,
    text: String,
    year: Option<u16>,
    doc_type: Option<&'static str>,
}

fn queries() -> Vec<BenchQuery> {
    let q = |class, text: &str| BenchQuery {
        class,
        text: text.to_owned(),
        year: None,
        doc_type: None,
    };
    let f = |text: &str, year, doc_type| BenchQuery {
        class: "filtered (text + year + type)",
        text: text.to_owned(),
        year: Some(year),
        doc_type: Some(doc_type),
    };
    vec![
        q("common term, ranked top-20", "ủy ban"),
        q("common term, ranked top-20", "quyết định"),
        q("common term, ranked top-20", "thành phố"),
        q("common term, ranked top-20", "kế hoạch"),
        q("common term, ranked top-20", "báo cáo"),
        q("phrase", "\"kế hoạch phát triển\""),
        q("phrase", "\"cải cách hành chính\""),
        q("phrase", "\"chuyển đổi số\""),
        q("phrase", "\"phòng, chống thiên tai\""),
        q("phrase", "\"ủy ban nhân dân quận ninh kiều\""),
        q("accent-less words", "quyet dinh bo nhiem"),
        q("accent-less words", "ke hoach chuyen doi so"),
        q("accent-less words", "don kien nghi"),
        q("accent-less words", "bao cao tinh hinh thu ngan sach"),
        q("accent-less words", "phong chong tham nhung"),
        f("bổ nhiệm", 2024, "QĐ"),
        f("chuyển đổi số", 2025, "KH"),
        f("ủy ban", 2023, "CV"),
        f("tuyen dung vien chuc", 2022, "TB"),
        f("ngân sách", 2026, "BC"),
        q("number look-up", "15/QĐ-UBND"),
        q("number look-up", "số 120/UBND-VP"),
        q("number look-up", "07/KH-SNV"),
        q("number look-up", "1234/QĐ-UBND"),
        q("number look-up", "15/QD-UBND"),
    ]
}

const CLASSES: &[&str] = &[
    "common term, ranked top-20",
    "phrase",
    "accent-less words",
    "filtered (text + year + type)",
    "number look-up",
];

fn tantivy_query(b: &BenchQuery, facets: bool) -> Query {
    let mut q = Query::text(b.text.clone());
    q.year = b.year;
    q.doc_type = b.doc_type.map(str::to_owned);
    q.limit = 20;
    q.facets = facets;
    q.snippets = true;
    q
}

/// FTS5 MATCH expression for the query: folded words as quoted tokens (AND), a phrase as
/// one quoted string, filters as tokens of the tags column.
fn fts_match(b: &BenchQuery) -> String {
    let text = b.text.trim();
    let mut parts = Vec::new();
    if let Some(phrase) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        parts.push(format!("\"{}\"", kyso_search::words(phrase).join(" ")));
    } else {
        for w in kyso_search::words(text) {
            parts.push(format!("\"{w}\""));
        }
    }
    if let Some(year) = b.year {
        parts.push(format!("tags : \"y{year}\""));
    }
    if let Some(code) = b.doc_type {
        parts.push(format!("tags : \"{}\"", type_token(code).to_lowercase()));
    }
    parts.join(" AND ")
}

const FTS_TOP: &str = "SELECT d.id, d.notation, d.subject, d.issuer, d.issued_date, f.rank \
     FROM (SELECT rowid, rank FROM fts WHERE fts MATCH ?1 ORDER BY rank LIMIT 20) AS f \
     JOIN docs d ON d.rowid = f.rowid ORDER BY f.rank";

/// Runs one query on FTS5 and returns the number of rows.
async fn fts_run(conn: &mut SqliteConnection, b: &BenchQuery) -> Result<usize, BoxError> {
    if b.class == "number look-up" {
        let text = b.text.trim();
        let key = kyso_search::notation_key(text).ok_or("not a notation")?;
        let exact = kyso_search::notation_exact(text).ok_or("not a notation")?;
        let exact_rows = sqlx::query(
            "SELECT id, notation, subject, issuer, issued_date FROM docs \
             WHERE notation_key = ?1 ORDER BY (notation_exact = ?2) DESC, issued_date DESC LIMIT 20",
        )
        .bind(&key)
        .bind(&exact)
        .fetch_all(&mut *conn)
        .await?;
        let mut n = exact_rows.len();
        if n < 20 {
            let number_words =
                kyso_search::words(text.trim_start_matches(|c: char| !c.is_ascii_digit()));
            let phrase = format!("\"{}\"", number_words.join(" "));
            let quoting = sqlx::query(FTS_TOP)
                .bind(phrase)
                .fetch_all(&mut *conn)
                .await?;
            n += quoting.len().min(20 - n);
        }
        return Ok(n);
    }
    let rows = sqlx::query(FTS_TOP)
        .bind(fts_match(b))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.len())
}

async fn fts_count(conn: &mut SqliteConnection, b: &BenchQuery) -> Result<u64, BoxError> {
    if b.class == "number look-up" {
        return Ok(0);
    }
    let n: i64 = sqlx::query("SELECT count(*) FROM fts WHERE fts MATCH ?1")
        .bind(fts_match(b))
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    Ok(n as u64)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Debug, Default, Clone)]
struct ClassStats {
    samples: Vec<Duration>,
    capped: bool,
}

impl ClassStats {
    fn summary(&mut self) -> (Duration, Duration, usize) {
        self.samples.sort();
        (
            percentile(&self.samples, 50.0),
            percentile(&self.samples, 95.0),
            self.samples.len(),
        )
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn main() -> Result<(), BoxError> {
    let a = parse_args()?;
    std::fs::create_dir_all(&a.out)?;
    let corpus = ensure_corpus(&a)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut report = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1).map(|m| m.trim().to_owned()))
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln_md(
        &mut report,
        &format!(
            "Corpus: {} documents (seed {}), {:.0} MB of JSON lines; machine: {cores} cores, {cpu}.\n",
            a.docs,
            a.seed,
            std::fs::metadata(&corpus)?.len() as f64 / 1e6
        ),
    );

    // Parse-only pass: what reading the corpus costs both ingests.
    let started = Instant::now();
    let mut parsed = 0u64;
    for d in read_corpus(&corpus)? {
        d?;
        parsed += 1;
    }
    let parse_time = started.elapsed();
    eprintln!(
        "read+parse only: {parsed} docs in {:.1} s",
        parse_time.as_secs_f64()
    );

    let (index, t_ingest) = if a.tantivy {
        let (i, s) = ingest_tantivy(&a, &corpus)?;
        (Some(i), s)
    } else {
        (None, None)
    };
    let (mut conn, f_ingest) = if a.fts5 {
        let (c, s) = runtime.block_on(ingest_fts5(&a, &corpus))?;
        (Some(c), s)
    } else {
        (None, None)
    };

    let _ = writeln_md(
        &mut report,
        "| Ingest | Documents | Time | Rate | Merge / optimize | Size on disk | Peak RSS | Configuration |\n|---|---:|---:|---:|---:|---:|---:|---|",
    );
    for (name, ingest) in [("tantivy", &t_ingest), ("SQLite FTS5", &f_ingest)] {
        if let Some(i) = ingest {
            let _ = writeln_md(
                &mut report,
                &format!(
                    "| {name} | {} | {:.1} s | {:.0} docs/s | {:.1} s | {:.0} MB | {:.0} MB | {} |",
                    i.docs,
                    i.ingest.as_secs_f64(),
                    i.docs as f64 / i.ingest.as_secs_f64(),
                    i.optimize.as_secs_f64(),
                    i.bytes as f64 / 1e6,
                    i.peak_rss_mb,
                    i.note
                ),
            );
        }
    }
    let _ = writeln_md(
        &mut report,
        &format!(
            "\nReading and parsing the corpus alone: {:.1} s ({:.0} docs/s), included in both ingest times.\n",
            parse_time.as_secs_f64(),
            parsed as f64 / parse_time.as_secs_f64()
        ),
    );

    // Queries.
    let qs = queries();
    let mut tantivy_stats: Vec<ClassStats> = vec![ClassStats::default(); CLASSES.len()];
    let mut facet_stats = ClassStats::default();
    let mut fts_stats: Vec<ClassStats> = vec![ClassStats::default(); CLASSES.len()];
    let mut details = String::from(
        "| Query | Class | tantivy total | FTS5 count | tantivy p50 | FTS5 p50 |\n|---|---|---:|---:|---:|---:|\n",
    );
    let class_of = |b: &BenchQuery| CLASSES.iter().position(|c| *c == b.class).unwrap_or(0);
    let per_class = |class: usize| qs.iter().filter(|b| class_of(b) == class).count().max(1);
    for b in &qs {
        let class = class_of(b);
        let mut t_p50 = Duration::ZERO;
        let mut t_total = 0;
        if let Some(index) = &index {
            let q = tantivy_query(b, false);
            for _ in 0..3 {
                t_total = index.search(&q)?.total;
            }
            let mut samples = Vec::new();
            let started = Instant::now();
            let budget = a.budget / per_class(class) as u32;
            for _ in 0..a.reps {
                let t = Instant::now();
                let r = index.search(&q)?;
                samples.push(t.elapsed());
                std::hint::black_box(r);
                if started.elapsed() > budget {
                    tantivy_stats[class].capped = true;
                    break;
                }
            }
            samples.sort();
            t_p50 = percentile(&samples, 50.0);
            tantivy_stats[class].samples.extend(samples);
            if class == 0 {
                let qf = tantivy_query(b, true);
                index.search(&qf)?;
                for _ in 0..a.reps {
                    let t = Instant::now();
                    std::hint::black_box(index.search(&qf)?);
                    facet_stats.samples.push(t.elapsed());
                }
            }
        }
        let mut f_p50 = Duration::ZERO;
        let mut f_count = 0;
        if let Some(conn) = conn.as_mut() {
            f_count = runtime.block_on(fts_count(conn, b))?;
            let mut samples = Vec::new();
            let budget = a.budget / per_class(class) as u32;
            let started = Instant::now();
            for i in 0..a.reps + 2 {
                let t = Instant::now();
                let n = runtime.block_on(fts_run(conn, b))?;
                let elapsed = t.elapsed();
                std::hint::black_box(n);
                if i >= 2 {
                    samples.push(elapsed);
                }
                if started.elapsed() > budget && samples.len() >= 3 {
                    fts_stats[class].capped = true;
                    break;
                }
            }
            samples.sort();
            f_p50 = percentile(&samples, 50.0);
            fts_stats[class].samples.extend(samples);
        }
        eprintln!(
            "{:<45} tantivy {:>10} (total {t_total})  fts5 {:>10} (count {f_count})",
            b.text,
            ms(t_p50),
            ms(f_p50)
        );
        details.push_str(&format!(
            "| `{}`{} | {} | {} | {} | {} | {} |\n",
            b.text,
            match (b.year, b.doc_type) {
                (Some(y), Some(t)) => format!(" year {y} type {t}"),
                _ => String::new(),
            },
            b.class,
            t_total,
            if b.class == "number look-up" {
                "–".to_owned()
            } else {
                f_count.to_string()
            },
            ms(t_p50),
            ms(f_p50)
        ));
    }

    let _ = writeln_md(
        &mut report,
        "| Query class | tantivy p50 | tantivy p95 | FTS5 p50 | FTS5 p95 | FTS5 / tantivy (p50) | FTS5 / tantivy (p95) | samples (tantivy / FTS5) |\n|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (i, class) in CLASSES.iter().enumerate() {
        let (tp50, tp95, tn) = tantivy_stats[i].summary();
        let (fp50, fp95, fnn) = fts_stats[i].summary();
        let ratio = |f: Duration, t: Duration| {
            if t.is_zero() || f.is_zero() {
                "–".to_owned()
            } else {
                format!("{:.1}×", f.as_secs_f64() / t.as_secs_f64())
            }
        };
        let _ = writeln_md(
            &mut report,
            &format!(
                "| {class} | {} | {} | {} | {} | {} | {} | {tn}{} / {fnn}{} |",
                ms(tp50),
                ms(tp95),
                ms(fp50),
                ms(fp95),
                ratio(fp50, tp50),
                ratio(fp95, tp95),
                if tantivy_stats[i].capped {
                    " (capped)"
                } else {
                    ""
                },
                if fts_stats[i].capped { " (capped)" } else { "" },
            ),
        );
    }
    if !facet_stats.samples.is_empty() {
        let (p50, p95, n) = facet_stats.summary();
        let _ = writeln_md(
            &mut report,
            &format!(
                "| common term + year/type/issuer facets (tantivy only) | {} | {} | – | – | – | – | {n} / – |",
                ms(p50),
                ms(p95)
            ),
        );
    }
    let _ = writeln_md(&mut report, &format!("\nPer query:\n\n{details}"));
    println!("{report}");
    std::fs::write(a.out.join("results.md"), &report)?;
    eprintln!("written to {}", a.out.join("results.md").display());
    Ok(())
}

fn writeln_md(out: &mut String, line: &str) -> std::fmt::Result {
    use std::fmt::Write as _;
    writeln!(out, "{line}")
}
