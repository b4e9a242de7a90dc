//! `kyso search`: accent-insensitive search of the archive's search index (DATA/index),
//! and the progress-bar rebuild that `kyso archive reindex` uses.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use kyso_search::{Index, Query, SearchDoc, Sort};

/// `kyso search "quyet dinh bo nhiem" --year 2026 --type QĐ`
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// What to look for, accents and case optional: words (all must occur), "a phrase",
    /// a number such as 12/QĐ-UBND or "số 12/QD-UBND", -word to exclude.
    #[arg(value_name = "QUERY")]
    pub(crate) query: Vec<String>,
    /// Register year.
    #[arg(long)]
    pub(crate) year: Option<u16>,
    /// Document type: abbreviation (QĐ, QD, KH, TTr…), CV for Công văn, or the name
    /// ("quyết định").
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) doc_type: Option<String>,
    /// Issuing agency name (accent-insensitive, e.g. "so noi vu").
    #[arg(long, value_name = "NAME")]
    pub(crate) issuer: Option<String>,
    /// Issuing agency identifier (000.00.00.H13).
    #[arg(long, value_name = "ID")]
    pub(crate) agency: Option<String>,
    /// Documents dated on or after this day (YYYY-MM-DD or DD/MM/YYYY).
    #[arg(long, value_name = "DATE")]
    pub(crate) from: Option<String>,
    /// Documents dated on or before this day (YYYY-MM-DD or DD/MM/YYYY).
    #[arg(long, value_name = "DATE")]
    pub(crate) to: Option<String>,
    /// Order of the results.
    #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
    pub(crate) sort: SortArg,
    /// Number of results.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Results to skip (next pages).
    #[arg(long, default_value_t = 0)]
    pub(crate) offset: usize,
    /// Print one JSON object (total, hits with highlights, facets).
    #[arg(long)]
    pub(crate) json: bool,
    /// Replace the index with the documents of a JSON-lines file (one document per line,
    /// as written by `cargo run -p kyso-search --example gen_corpus`), then search. For
    /// demonstrations and load tests: `kyso archive reindex` rebuilds it from the archive.
    #[arg(long, value_name = "FILE.jsonl")]
    pub(crate) rebuild_from: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SortArg {
    /// Best match first (newest first when there is no query text).
    Relevance,
    /// Newest first.
    Date,
    /// Oldest first.
    Oldest,
}

fn parse_day(text: &str) -> Result<time::Date> {
    if let Some(date) = kyso_search::parse_date(text) {
        return Ok(date);
    }
    // Vietnamese order: DD/MM/YYYY.
    let parts: Vec<&str> = text.trim().split(['/', '-', '.']).collect();
    if let [d, m, y] = parts[..]
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u8>(), m.parse::<u8>(), y.parse::<i32>())
        && let Ok(month) = time::Month::try_from(m)
        && let Ok(date) = time::Date::from_calendar_date(y, month, d)
    {
        return Ok(date);
    }
    bail!("not a date: {text:?} (use YYYY-MM-DD or DD/MM/YYYY)")
}

fn build_query(a: &SearchArgs) -> Result<Query> {
    let doc_type = match &a.doc_type {
        Some(t) => Some(
            kyso_search::resolve_type(t)
                .with_context(|| {
                    format!("unknown or ambiguous document type {t:?} (use an abbreviation such as QĐ, KH, CV)")
                })?
                .to_owned(),
        ),
        None => None,
    };
    Ok(Query {
        text: a.query.join(" "),
        year: a.year,
        doc_type,
        issuer: a.issuer.clone(),
        agency_id: a.agency.clone(),
        date_from: a.from.as_deref().map(parse_day).transpose()?,
        date_to: a.to.as_deref().map(parse_day).transpose()?,
        sort: match a.sort {
            SortArg::Relevance => Sort::Relevance,
            SortArg::Date => Sort::Newest,
            SortArg::Oldest => Sort::Oldest,
        },
        limit: a.limit,
        offset: a.offset,
        facets: true,
        snippets: true,
    })
}

fn rebuild_from_file(data: &Path, file: &Path) -> Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let lines = std::io::BufReader::with_capacity(1 << 20, f).lines();
    let docs = lines.enumerate().map(|(i, line)| {
        let line = line?;
        serde_json::from_str::<SearchDoc>(&line)
            .map_err(|e| std::io::Error::other(format!("{}:{}: {e}", file.display(), i + 1)))
    });
    let stats = crate::office::rebuild_with_progress(data, docs)?;
    eprintln!(
        "Đã lập chỉ mục / indexed: {} văn bản / documents in {:.1} s (+ {:.1} s merging, {} segments)",
        stats.docs,
        (stats.indexing + stats.commit).as_secs_f64(),
        stats.merge.as_secs_f64(),
        stats.segments
    );
    Ok(())
}

/// Runs `kyso search`. Exit 0 when something was found, 1 when nothing was.
pub(crate) fn run(data: &Path, a: &SearchArgs) -> Result<ExitCode> {
    if let Some(file) = &a.rebuild_from {
        rebuild_from_file(data, file)?;
    }
    let query = build_query(a)?;
    let dir = crate::office::index_dir(data);
    if !dir.join("meta.json").exists() {
        bail!(
            "chưa có chỉ mục tìm kiếm / no search index in {} (kyso archive reindex builds it)",
            dir.display()
        );
    }
    let index = Index::open(&dir)?;
    let results = index.search(&query)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let value = serde_json::json!({
            "query": query,
            "total": results.total,
            "hits": results.hits,
            "facets": results.facets,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        let bold = std::io::stdout().is_terminal();
        write!(out, "{}", render(&results, query.offset, bold))?;
    }
    Ok(if results.total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn render(results: &kyso_search::Results, offset: usize, bold: bool) -> String {
    use std::fmt::Write as _;
    let (open, close) = if bold {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut s = String::new();
    if results.total == 0 {
        let _ = writeln!(s, "Không tìm thấy văn bản nào / no documents found.");
        return s;
    }
    let _ = writeln!(
        s,
        "Tìm thấy / found: {} văn bản / documents{}",
        results.total,
        if results.hits.is_empty() {
            String::new()
        } else {
            format!(" — {}–{}", offset + 1, offset + results.hits.len())
        }
    );
    for (i, hit) in results.hits.iter().enumerate() {
        let date = hit.issued_date;
        let _ = writeln!(
            s,
            "\n{:>3}. Số {} · ngày {:02}/{:02}/{} · {}",
            offset + i + 1,
            hit.notation,
            date.day(),
            u8::from(date.month()),
            date.year(),
            hit.issuer
        );
        let _ = writeln!(s, "     {}", hit.subject.render(open, close));
        if let Some(snippet) = &hit.snippet {
            let text = snippet.render(open, close).replace(['\n', '\r'], " ");
            let _ = writeln!(s, "     … {} …", text.trim());
        }
        let _ = writeln!(
            s,
            "     người ký / signer: {} · id: {}{}",
            hit.signer,
            hit.id,
            if hit.path.is_empty() {
                String::new()
            } else {
                format!(" · {}", hit.path)
            }
        );
    }
    if let Some(f) = &results.facets {
        let list = |items: Vec<String>| items.join(" · ");
        let _ = writeln!(
            s,
            "\nNăm / year: {}",
            list(
                f.years
                    .iter()
                    .map(|c| format!("{} ({})", c.value, c.count))
                    .collect()
            )
        );
        let _ = writeln!(
            s,
            "Loại / type: {}",
            list(
                f.types
                    .iter()
                    .map(|c| format!("{} ({})", c.value, c.count))
                    .collect()
            )
        );
        let more = f.issuers.len().saturating_sub(5);
        let _ = writeln!(
            s,
            "Cơ quan / issuer: {}{}",
            list(
                f.issuers
                    .iter()
                    .take(5)
                    .map(|c| format!("{} ({})", c.value, c.count))
                    .collect()
            ),
            if more > 0 {
                format!(" · … +{more}")
            } else {
                String::new()
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_both_orders() {
        let d = time::macros::date!(2026 - 03 - 05);
        assert_eq!(parse_day("2026-03-05").unwrap(), d);
        assert_eq!(parse_day("05/03/2026").unwrap(), d);
        assert_eq!(parse_day("5/3/2026").unwrap(), d);
        assert!(parse_day("31/02/2026").is_err());
        assert!(parse_day("hôm qua").is_err());
    }

    #[test]
    fn rebuild_then_search() {
        let data = tempfile::tempdir().unwrap();
        let docs: Vec<SearchDoc> = kyso_search::corpus::Corpus::new(3, 300).collect();
        let target = docs.iter().find(|d| d.doc_type == "QĐ").unwrap().clone();
        let stats = crate::office::rebuild_with_progress(
            data.path(),
            docs.into_iter().map(Ok::<_, std::io::Error>),
        )
        .unwrap();
        assert_eq!(stats.docs, 300);
        let args = SearchArgs {
            query: vec![kyso_model::fold(&target.notation)],
            year: Some(target.year),
            doc_type: Some("qd".into()),
            issuer: None,
            // Several agencies of the corpus share an issuer abbreviation (UBND), so the
            // same number/notation exists more than once per year: pin the agency.
            agency: Some(target.agency_id.clone()),
            from: None,
            to: None,
            sort: SortArg::Relevance,
            limit: 5,
            offset: 0,
            json: false,
            rebuild_from: None,
        };
        let query = build_query(&args).unwrap();
        assert_eq!(query.doc_type.as_deref(), Some("QĐ"));
        let index = Index::open(&crate::office::index_dir(data.path())).unwrap();
        let results = index.search(&query).unwrap();
        assert_eq!(results.hits[0].id, target.id);
        let text = render(&results, 0, false);
        assert!(text.contains(&format!("Số {}", target.notation)), "{text}");
        assert!(text.contains("Loại / type: QĐ"), "{text}");
    }
}
