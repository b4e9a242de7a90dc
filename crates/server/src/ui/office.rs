//! Registers, the archive tree, and search.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kyso_app::AppError;
use kyso_office::Action;
use serde::Deserialize;

use super::{Chrome, Staff, day, may, page_or_error};
use crate::AppState;

// ----------------------------------------------------------------------------------
// Registers
// ----------------------------------------------------------------------------------

/// The registers a page offers: key, Vietnamese name.
const REGISTERS: [(&str, &str); 4] = [
    ("outgoing", "Sổ đăng ký văn bản đi"),
    ("incoming", "Sổ đăng ký văn bản đến"),
    ("copies", "Sổ đăng ký bản sao văn bản"),
    ("minutes", "Sổ biên bản"),
];

pub(crate) struct RegisterTab {
    key: &'static str,
    name: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "ui/registers.html")]
pub(crate) struct RegistersPage {
    chrome: Chrome,
    tabs: Vec<RegisterTab>,
    register: &'static str,
    year: u16,
    title: String,
    subtitle: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    can_export: bool,
    /// Entries in the register, the page shown (1-based) and how many pages.
    total: usize,
    page: usize,
    pages: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RegisterParams {
    so: Option<String>,
    nam: Option<u16>,
    trang: Option<usize>,
}

/// Register entries per page (the printable PDF and the CSV hold them all).
const REGISTER_PAGE: usize = 200;

/// `GET /so-van-ban?so=outgoing&nam=2026`: a register of a year, with its printable PDF
/// and CSV.
pub(crate) async fn registers(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<RegisterParams>,
) -> Response {
    let page = async {
        let actor = &staff.actor;
        let register = REGISTERS
            .iter()
            .map(|(k, _)| *k)
            .find(|k| Some(*k) == p.so.as_deref())
            .unwrap_or("outgoing");
        let year = p.nam.unwrap_or_else(|| state.app.this_year());
        let (sheet, _) = state
            .app
            .register_sheet(actor, Some(year), register)
            .await?;
        let pages = sheet.rows.len().div_ceil(REGISTER_PAGE).max(1);
        let page = p.trang.unwrap_or(1).clamp(1, pages);
        Ok::<_, AppError>(RegistersPage {
            chrome: Chrome::of(&state, &staff).await,
            tabs: REGISTERS
                .iter()
                .map(|(key, name)| RegisterTab {
                    key,
                    name,
                    current: *key == register,
                })
                .collect(),
            register,
            year,
            title: sheet.title.clone(),
            subtitle: sheet.subtitle.clone(),
            columns: sheet.columns.iter().map(|c| c.to_string()).collect(),
            total: sheet.rows.len(),
            pages,
            page,
            rows: sheet
                .rows
                .iter()
                .skip((page - 1) * REGISTER_PAGE)
                .take(REGISTER_PAGE)
                .cloned()
                .collect(),
            can_export: may(actor, Action::ExportRecords),
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}

// ----------------------------------------------------------------------------------
// The archive tree
// ----------------------------------------------------------------------------------

pub(crate) struct ArchiveDoc {
    id: i64,
    number: String,
    subject: String,
}

pub(crate) struct ArchiveType {
    folder: String,
    name: String,
    count: u64,
    documents: Vec<ArchiveDoc>,
}

pub(crate) struct ArchiveYear {
    year: u16,
    count: u64,
    current: bool,
}

#[derive(Template)]
#[template(path = "ui/archive.html")]
pub(crate) struct ArchivePage {
    chrome: Chrome,
    years: Vec<ArchiveYear>,
    year: u16,
    types: Vec<ArchiveType>,
    per_folder: u32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ArchiveParams {
    nam: Option<u16>,
}

/// How many documents of one type and year the page lists, newest first (search and the
/// registers reach the rest).
const PER_FOLDER: u32 = 100;

/// `GET /luu-tru?nam=…`: the archive by year → type → document: every year with its
/// count, and the chosen year's (default: the newest) type folders with their newest
/// documents.
pub(crate) async fn archive(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<ArchiveParams>,
) -> Response {
    let page = async {
        let actor = &staff.actor;
        let counts = state.app.archive_counts(actor).await?;
        let mut years: Vec<ArchiveYear> = Vec::new();
        for (year, _, n) in &counts {
            match years.last_mut() {
                Some(y) if y.year == *year => y.count += n,
                _ => years.push(ArchiveYear {
                    year: *year,
                    count: *n,
                    current: false,
                }),
            }
        }
        let year = p
            .nam
            .filter(|n| years.iter().any(|y| y.year == *n))
            .or_else(|| years.first().map(|y| y.year))
            .unwrap_or_else(|| state.app.this_year());
        for y in &mut years {
            y.current = y.year == year;
        }
        let mut types = Vec::new();
        for (_, doc_type, count) in counts.iter().filter(|(y, _, _)| *y == year) {
            let docs = state
                .app
                .documents(
                    actor,
                    kyso_office::DocumentQuery {
                        year: Some(year),
                        document_type: Some(*doc_type),
                        newest: Some(PER_FOLDER),
                        ..kyso_office::DocumentQuery::default()
                    },
                )
                .await?;
            types.push(ArchiveType {
                folder: kyso_office::type_folder(*doc_type).to_string(),
                name: doc_type.vietnamese_name().to_string(),
                count: *count,
                documents: docs
                    .iter()
                    .map(|d| ArchiveDoc {
                        id: d.id.unwrap_or_default(),
                        number: d.metadata.number_notation().unwrap_or_else(|| "—".into()),
                        subject: d.metadata.subject.clone(),
                    })
                    .collect(),
            });
        }
        kyso_model::sort_vietnamese(&mut types, |t| t.name.as_str());
        Ok::<_, AppError>(ArchivePage {
            chrome: Chrome::of(&state, &staff).await,
            years,
            year,
            types,
            per_folder: PER_FOLDER,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}

// ----------------------------------------------------------------------------------
// Search
// ----------------------------------------------------------------------------------

pub(crate) struct SearchHit {
    id: String,
    number: String,
    doc_type: String,
    date: String,
    issuer: String,
    /// Escaped HTML with `<b>` around the matches (kyso-search's `to_html`).
    subject_html: String,
    snippet_html: String,
}

pub(crate) struct Facet {
    label: String,
    count: u64,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "ui/search.html")]
pub(crate) struct SearchPage {
    chrome: Chrome,
    q: String,
    searched: bool,
    total: u64,
    hits: Vec<SearchHit>,
    years: Vec<Facet>,
    types: Vec<Facet>,
    issuers: Vec<Facet>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchParams {
    #[serde(default)]
    q: String,
    nam: Option<u16>,
    loai: Option<String>,
}

fn search_href(q: &str, year: Option<u16>, doc_type: Option<&str>) -> String {
    let mut href = format!("/tim-kiem?q={}", super::form_urlencode(q));
    if let Some(y) = year {
        href.push_str(&format!("&nam={y}"));
    }
    if let Some(t) = doc_type {
        href.push_str(&format!("&loai={}", super::form_urlencode(t)));
    }
    href
}

/// `GET /tim-kiem?q=…&nam=…&loai=…`: accent-insensitive search with facets and
/// highlighted snippets.
pub(crate) async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<SearchParams>,
) -> Response {
    let page = async {
        let searched = !p.q.trim().is_empty() || p.nam.is_some() || p.loai.is_some();
        let doc_type = p
            .loai
            .as_deref()
            .filter(|t| !t.is_empty())
            .and_then(kyso_search::resolve_type)
            .map(str::to_string);
        let results = if searched {
            Some(
                state
                    .app
                    .search(
                        &staff.actor,
                        kyso_search::Query {
                            text: p.q.clone(),
                            year: p.nam,
                            doc_type: doc_type.clone(),
                            limit: 50,
                            facets: true,
                            snippets: true,
                            ..kyso_search::Query::default()
                        },
                    )
                    .await?,
            )
        } else {
            None
        };
        let (total, hits, facets) = match results {
            Some(r) => (r.total, r.hits, r.facets),
            None => (0, Vec::new(), None),
        };
        let hits = hits
            .into_iter()
            .map(|h| SearchHit {
                number: if h.notation.is_empty() {
                    "—".into()
                } else {
                    h.notation.clone()
                },
                doc_type: h.doc_type.clone(),
                date: day(h.issued_date),
                issuer: h.issuer.clone(),
                subject_html: h.subject.to_html(),
                snippet_html: h.snippet.as_ref().map(|s| s.to_html()).unwrap_or_default(),
                id: h.id,
            })
            .collect();
        let (years, types, issuers) = match facets {
            Some(f) => (
                f.years
                    .iter()
                    .map(|c| Facet {
                        label: c.value.to_string(),
                        count: c.count,
                        href: search_href(&p.q, Some(c.value), doc_type.as_deref()),
                        current: p.nam == Some(c.value),
                    })
                    .collect(),
                f.types
                    .iter()
                    .map(|c| Facet {
                        label: c.value.clone(),
                        count: c.count,
                        href: search_href(&p.q, p.nam, Some(&c.value)),
                        current: doc_type.as_deref() == Some(c.value.as_str()),
                    })
                    .collect(),
                {
                    let mut list: Vec<Facet> = f
                        .issuers
                        .iter()
                        .map(|c| Facet {
                            label: c.value.clone(),
                            count: c.count,
                            href: search_href(&c.value, p.nam, doc_type.as_deref()),
                            current: false,
                        })
                        .collect();
                    kyso_model::sort_vietnamese(&mut list, |f| f.label.as_str());
                    list
                },
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        Ok::<_, AppError>(SearchPage {
            chrome: Chrome::of(&state, &staff).await,
            q: p.q.clone(),
            searched,
            total,
            hits,
            years,
            types,
            issuers,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}
