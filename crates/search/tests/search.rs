//! Behaviour of the search index: accent-insensitive matching, number look-ups, ranking,
//! filters, facets, snippets, deletes, persistence and rebuilds.
#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

use kyso_search::corpus::Corpus;
use kyso_search::{Index, IndexOptions, Phase, Query, SearchDoc, SearchError, Sort, resolve_type};
use time::Date;
use time::macros::date;

#[allow(clippy::too_many_arguments)]
fn doc(
    id: &str,
    year: u16,
    doc_type: &str,
    notation: &str,
    issued: Date,
    issuer: &str,
    subject: &str,
    body: &str,
) -> SearchDoc {
    SearchDoc {
        id: id.into(),
        agency_id: if issuer.contains("Sở Nội vụ") {
            "000.00.10.H13".into()
        } else {
            "000.00.00.H13".into()
        },
        year,
        doc_type: doc_type.into(),
        number: notation
            .split('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        notation: notation.into(),
        issued_date: issued,
        issuer: issuer.into(),
        subject: subject.into(),
        signer: "Trần Văn Bình".into(),
        full_text: body.into(),
        path: format!("archive/{id}.pdf"),
    }
}

const UBND: &str = "Ủy ban nhân dân thành phố Cần Thơ";
const SNV: &str = "Sở Nội vụ thành phố Cần Thơ";
const FILLER: &str = "Các cơ quan, đơn vị tổ chức triển khai thực hiện nghiêm túc nội dung văn bản này, \
                      bảo đảm đúng tiến độ và chất lượng theo quy định hiện hành.";

fn sample() -> Index {
    let index = Index::create_in_ram().unwrap();
    let docs = [
        doc(
            "qd-12",
            2026,
            "QĐ",
            "12/QĐ-UBND",
            date!(2026 - 03 - 05),
            UBND,
            "Về việc bổ nhiệm Phó Giám đốc Sở Nội vụ",
            &format!("QUYẾT ĐỊNH Về việc bổ nhiệm Phó Giám đốc Sở Nội vụ. {FILLER}"),
        ),
        doc(
            "cv-15",
            2026,
            "CV",
            "15/UBND-VP",
            date!(2026 - 04 - 10),
            UBND,
            "V/v giải quyết Đơn kiến nghị của bà Lê Thị Hoa",
            &format!("Xét Đơn kiến nghị của bà Lê Thị Hoa ngụ tại quận Ninh Kiều. {FILLER}"),
        ),
        doc(
            "kh-07",
            2025,
            "KH",
            "07/KH-SNV",
            date!(2025 - 06 - 20),
            SNV,
            "Kế hoạch phát triển nguồn nhân lực giai đoạn 2025-2030",
            &format!(
                "Căn cứ Quyết định số 12/QĐ-UBND về việc bổ nhiệm. {FILLER} Thực hiện chuyển đổi số."
            ),
        ),
        doc(
            "bc-03",
            2025,
            "BC",
            "03/BC-SNV",
            date!(2025 - 01 - 15),
            SNV,
            "Tình hình thực hiện cải cách hành chính năm 2024",
            &format!("{FILLER} Kết quả chuyển đổi số và cải cách hành chính tại thành phố."),
        ),
        doc(
            "hd-12",
            2026,
            "HD",
            "12/HD-UBND",
            date!(2026 - 02 - 01),
            UBND,
            "Hướng dẫn thực hiện công tác văn thư",
            FILLER,
        ),
        doc(
            "hđ-12",
            2026,
            "HĐ",
            "12/HĐ-UBND",
            date!(2026 - 02 - 02),
            UBND,
            "Hợp đồng cung cấp dịch vụ lưu trữ",
            FILLER,
        ),
    ];
    for d in &docs {
        index.add(d).unwrap();
    }
    index.commit().unwrap();
    index
}

fn ids(index: &Index, query: &Query) -> Vec<String> {
    index
        .search(query)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn text_ids(index: &Index, text: &str) -> Vec<String> {
    ids(index, &Query::text(text))
}

#[test]
fn accentless_queries_find_accented_text() {
    let index = sample();
    assert_eq!(text_ids(&index, "quyet dinh bo nhiem")[0], "qd-12");
    assert_eq!(text_ids(&index, "QUYẾT ĐỊNH bổ nhiệm")[0], "qd-12");
    assert_eq!(text_ids(&index, "don kien nghi"), ["cv-15"]);
    // "Đơn" (application) ranks first; "đơn vị" (unit) in the other texts folds alike.
    assert_eq!(text_ids(&index, "ĐƠN")[0], "cv-15");
    // "Cần Thơ" is in every issuer name.
    assert_eq!(text_ids(&index, "Can Tho").len(), 6);
    assert_eq!(text_ids(&index, "cần thơ").len(), 6);
    // NFD input is read like NFC.
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Đơn kiến nghị").collect();
    assert_eq!(text_ids(&index, &nfd), ["cv-15"]);
    // "đơn vị" is found as "don vi".
    assert_eq!(text_ids(&index, "don vi").len(), 6);
}

#[test]
fn all_words_must_match() {
    let index = sample();
    assert!(text_ids(&index, "bổ nhiệm khen thưởng").is_empty());
    assert!(text_ids(&index, "xyzzy").is_empty());
}

#[test]
fn type_name_and_metadata_are_searchable() {
    let index = sample();
    // The type name of a QĐ is searchable even where the text does not say it.
    assert!(text_ids(&index, "hợp đồng").contains(&"hđ-12".to_owned()));
    // Signer, agency id and issuer.
    assert_eq!(text_ids(&index, "tran van binh").len(), 6);
    assert_eq!(text_ids(&index, "000.00.10.H13").len(), 2);
    assert_eq!(text_ids(&index, "so noi vu").len(), 3);
}

#[test]
fn number_lookups() {
    let index = sample();
    for text in [
        "so 12/QĐ-UBND",
        "số 12/QĐ-UBND",
        "Số: 12/QĐ-UBND",
        "12/QĐ-UBND",
        "12/QD-UBND",
        "12/qd-ubnd",
    ] {
        let found = text_ids(&index, text);
        assert_eq!(found[0], "qd-12", "{text}: {found:?}");
        // The plan quoting it comes after the document itself.
        assert!(found.contains(&"kh-07".to_owned()), "{text}: {found:?}");
    }
    // Leading zeros do not matter, for the document or for those quoting it.
    assert_eq!(text_ids(&index, "012/QĐ-UBND"), ["qd-12", "kh-07"]);
    // HĐ vs HD: both fold to "hd", the exactly typed one comes first.
    assert_eq!(text_ids(&index, "12/HĐ-UBND")[0], "hđ-12");
    assert_eq!(text_ids(&index, "12/HD-UBND")[0], "hd-12");
    assert_eq!(text_ids(&index, "15/UBND-VP"), ["cv-15"]);
    assert!(text_ids(&index, "99/QĐ-UBND").is_empty());
}

#[test]
fn subject_match_outranks_body_only_match() {
    let index = Index::create_in_ram().unwrap();
    let body_only = doc(
        "body",
        2026,
        "CV",
        "01/UBND-VP",
        date!(2026 - 01 - 05),
        UBND,
        "V/v tổ chức hội nghị",
        &format!("{FILLER} Nội dung có nhắc tới chuyển đổi số một lần. {FILLER}"),
    );
    let in_subject = doc(
        "subject",
        2026,
        "CV",
        "02/UBND-VP",
        date!(2026 - 01 - 06),
        UBND,
        "V/v đẩy mạnh chuyển đổi số",
        &format!("{FILLER} {FILLER}"),
    );
    // Added body-first so that doc order cannot explain the result.
    index.add(&body_only).unwrap();
    index.add(&in_subject).unwrap();
    index.commit().unwrap();
    let results = index.search(&Query::text("chuyen doi so")).unwrap();
    assert_eq!(
        results
            .hits
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        ["subject", "body"]
    );
    let scores: Vec<f32> = results.hits.iter().map(|h| h.score.unwrap()).collect();
    assert!(scores[0] > scores[1], "{scores:?}");
}

#[test]
fn filters_combine() {
    let index = sample();
    let q = |f: &dyn Fn(&mut Query)| {
        let mut q = Query::text("");
        f(&mut q);
        let mut found = ids(&index, &q);
        found.sort();
        found
    };
    assert_eq!(q(&|q| q.year = Some(2025)), ["bc-03", "kh-07"]);
    assert_eq!(q(&|q| q.doc_type = Some("QĐ".into())), ["qd-12"]);
    assert_eq!(q(&|q| q.doc_type = Some("HD".into())), ["hd-12"]);
    assert_eq!(
        q(&|q| q.issuer = Some("so noi vu".into())),
        ["bc-03", "kh-07"]
    );
    assert_eq!(
        q(&|q| {
            q.year = Some(2025);
            q.doc_type = Some("KH".into());
            q.issuer = Some("Sở Nội vụ".into());
            q.date_from = Some(date!(2025 - 06 - 01));
            q.date_to = Some(date!(2025 - 06 - 30));
        }),
        ["kh-07"]
    );
    // Same filters, a date range that excludes it.
    assert!(
        q(&|q| {
            q.year = Some(2025);
            q.doc_type = Some("KH".into());
            q.date_to = Some(date!(2025 - 06 - 19));
        })
        .is_empty()
    );
    // Date bounds are inclusive.
    assert_eq!(
        q(&|q| {
            q.date_from = Some(date!(2026 - 02 - 01));
            q.date_to = Some(date!(2026 - 02 - 02));
        }),
        ["hd-12", "hđ-12"]
    );
    // A phrase with filters.
    let mut phrase = Query::text("\"phát triển nguồn nhân lực\"");
    phrase.year = Some(2025);
    phrase.issuer = Some("so noi vu".into());
    phrase.date_to = Some(date!(2025 - 12 - 31));
    assert_eq!(ids(&index, &phrase), ["kh-07"]);
    phrase.year = Some(2026);
    assert!(ids(&index, &phrase).is_empty());
    // Text and filters together.
    let mut with_text = Query::text("chuyen doi so");
    with_text.year = Some(2025);
    with_text.doc_type = Some("BC".into());
    assert_eq!(ids(&index, &with_text), ["bc-03"]);
    with_text.agency_id = Some("000.00.00.H13".into());
    assert!(ids(&index, &with_text).is_empty());
    // User-typed types resolve to codes.
    assert_eq!(resolve_type("qd"), Some("QĐ"));
}

#[test]
fn facets_and_totals() {
    let index = sample();
    let results = index.search(&Query::text("Cần Thơ")).unwrap();
    assert_eq!(results.total, 6);
    let facets = results.facets.unwrap();
    let years: Vec<(u16, u64)> = facets.years.iter().map(|f| (f.value, f.count)).collect();
    assert_eq!(years, [(2026, 4), (2025, 2)]);
    let issuers: Vec<(&str, u64)> = facets
        .issuers
        .iter()
        .map(|f| (f.value.as_str(), f.count))
        .collect();
    assert_eq!(issuers, [(UBND, 4), (SNV, 2)]);
    assert_eq!(facets.types.len(), 6);
    assert!(facets.types.iter().all(|t| t.count == 1));

    // Paging: total stays, hits move.
    let mut page = Query::text("Cần Thơ");
    page.limit = 2;
    page.offset = 4;
    page.facets = false;
    let results = index.search(&page).unwrap();
    assert_eq!(results.total, 6);
    assert_eq!(results.hits.len(), 2);
    assert!(results.facets.is_none());
    page.limit = 0;
    assert!(index.search(&page).unwrap().hits.is_empty());
}

#[test]
fn sorting_by_date() {
    let index = sample();
    let mut q = Query::text("Cần Thơ");
    q.sort = Sort::Newest;
    let results = index.search(&q).unwrap();
    let dates: Vec<Date> = results.hits.iter().map(|h| h.issued_date).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    assert!(results.hits.iter().all(|h| h.score.is_none()));
    q.sort = Sort::Oldest;
    let first = &index.search(&q).unwrap().hits[0];
    assert_eq!(first.id, "bc-03");
    // Without text, relevance means newest first.
    assert_eq!(ids(&index, &Query::default())[0], "cv-15");
}

#[test]
fn hits_carry_fields_and_highlights() {
    let index = sample();
    let results = index.search(&Query::text("bo nhiem")).unwrap();
    let hit = results.hits.iter().find(|h| h.id == "qd-12").unwrap();
    assert_eq!(hit.notation, "12/QĐ-UBND");
    assert_eq!(hit.doc_type, "QĐ");
    assert_eq!(hit.number, 12);
    assert_eq!(hit.year, 2026);
    assert_eq!(hit.issued_date, date!(2026 - 03 - 05));
    assert_eq!(hit.issuer, UBND);
    assert_eq!(hit.signer, "Trần Văn Bình");
    assert_eq!(hit.path, "archive/qd-12.pdf");
    assert_eq!(
        hit.subject.render("[", "]"),
        "Về việc [bổ] [nhiệm] Phó Giám đốc Sở Nội vụ"
    );
    let snippet = hit.snippet.as_ref().unwrap();
    assert!(
        snippet.to_html().contains("<b>bổ</b> <b>nhiệm</b>"),
        "{snippet:?}"
    );
    for &(start, end) in &snippet.highlights {
        assert_eq!(
            kyso_model::fold(&snippet.text[start..end]),
            if &snippet.text[start..end] == "bổ" {
                "bo"
            } else {
                "nhiem"
            }
        );
    }
    // Snippets can be turned off.
    let mut q = Query::text("bo nhiem");
    q.snippets = false;
    assert!(
        index
            .search(&q)
            .unwrap()
            .hits
            .iter()
            .all(|h| h.snippet.is_none())
    );
}

#[test]
fn phrases_and_exclusions() {
    let index = sample();
    assert_eq!(text_ids(&index, "\"ke hoach phat trien\""), ["kh-07"]);
    // The words exist, but not as this phrase.
    assert!(text_ids(&index, "\"phat trien ke hoach\"").is_empty());
    let with_cchc = text_ids(&index, "chuyen doi so");
    assert_eq!(with_cchc.len(), 2);
    assert_eq!(text_ids(&index, "chuyen doi so -\"cải cách\""), ["kh-07"]);
    assert_eq!(text_ids(&index, "chuyen doi so -cai"), ["kh-07"]);
}

#[test]
fn dates_up_to_year_9999_read_back_filter_and_sort() {
    let index = sample();
    for (id, day) in [
        ("far", date!(9999 - 12 - 31)),
        ("past", date!(2262 - 04 - 12)),
        ("old", date!(1900 - 01 - 01)),
    ] {
        index
            .add(&doc(
                id,
                2026,
                "CV",
                "1/UBND-VP",
                day,
                UBND,
                "Lịch xa",
                FILLER,
            ))
            .unwrap();
    }
    index.commit().unwrap();
    let hits = index.search(&Query::text("lich xa")).unwrap().hits;
    let date_of = |id: &str| hits.iter().find(|h| h.id == id).unwrap().issued_date;
    assert_eq!(date_of("far"), date!(9999 - 12 - 31));
    assert_eq!(date_of("past"), date!(2262 - 04 - 12));
    assert_eq!(date_of("old"), date!(1900 - 01 - 01));
    let mut q = Query::text("lich xa");
    q.date_from = Some(date!(2263 - 01 - 01));
    assert_eq!(ids(&index, &q), ["far"]);
    q.date_from = None;
    q.date_to = Some(date!(1999 - 12 - 31));
    assert_eq!(ids(&index, &q), ["old"]);
    q.date_to = None;
    q.sort = Sort::Newest;
    assert_eq!(ids(&index, &q), ["far", "past", "old"]);
}

#[test]
fn delete_and_replace() {
    let index = sample();
    index.delete("cv-15").unwrap();
    // Not visible before the commit.
    assert_eq!(text_ids(&index, "don kien nghi"), ["cv-15"]);
    index.commit().unwrap();
    assert!(text_ids(&index, "don kien nghi").is_empty());
    assert_eq!(index.num_docs(), 5);

    // Adding an existing id replaces the document.
    let mut changed = doc(
        "qd-12",
        2026,
        "QĐ",
        "12/QĐ-UBND",
        date!(2026 - 03 - 05),
        UBND,
        "Về việc khen thưởng",
        FILLER,
    );
    index.add(&changed).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 5);
    assert!(text_ids(&index, "bo nhiem pho giam doc").is_empty());
    assert_eq!(text_ids(&index, "khen thuong"), ["qd-12"]);

    // Rollback forgets uncommitted changes.
    changed.subject = "Về việc kỷ luật".into();
    index.add(&changed).unwrap();
    index.rollback().unwrap();
    index.commit().unwrap();
    assert!(text_ids(&index, "ky luat").is_empty());

    assert!(matches!(
        index.add(&doc(
            "  ",
            2026,
            "CV",
            "",
            date!(2026 - 01 - 01),
            UBND,
            "",
            ""
        )),
        Err(SearchError::InvalidDocument(_))
    ));
}

#[test]
fn reopen_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    {
        let index = Index::open(&path).unwrap();
        index
            .add(&doc(
                "qd-12",
                2026,
                "QĐ",
                "12/QĐ-UBND",
                date!(2026 - 03 - 05),
                UBND,
                "Về việc bổ nhiệm Phó Giám đốc Sở Nội vụ",
                FILLER,
            ))
            .unwrap();
        index.commit().unwrap();
        // A second writer on the same directory is refused while this one lives.
        let other = Index::open(&path).unwrap();
        assert!(matches!(other.delete("x"), Err(SearchError::Locked(_))));
        // ... but a reader works, and sees the commit.
        assert_eq!(text_ids(&other, "bo nhiem"), ["qd-12"]);
    }
    let index = Index::open(&path).unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(text_ids(&index, "12/QD-UBND"), ["qd-12"]);
    assert!(index.size_on_disk() > 0);
}

#[test]
fn incompatible_index_is_refused_then_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    drop(Index::open(&path).unwrap());
    std::fs::write(path.join("kyso-search.version"), "0\n").unwrap();
    let err = Index::open(&path).unwrap_err();
    assert!(matches!(err, SearchError::Incompatible { .. }), "{err}");
    assert!(err.to_string().contains("kyso archive reindex"));
    let index = Index::recreate(&path, IndexOptions::default()).unwrap();
    assert_eq!(index.num_docs(), 0);
    drop(index);
    Index::open(&path).unwrap();

    // recreate refuses a directory that is not an index.
    let other = dir.path().join("documents");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("hop-dong.pdf"), b"%PDF").unwrap();
    assert!(Index::recreate(&other, IndexOptions::default()).is_err());
    assert!(other.join("hop-dong.pdf").exists());
}

#[test]
fn rebuild_replaces_everything_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        writer_threads: 2,
        writer_heap_bytes: 64 << 20,
        search_threads: 2,
        segments_after_rebuild: Some(1),
    };
    let index = Index::open_with(dir.path(), options).unwrap();
    index
        .add(&doc(
            "old",
            2019,
            "CV",
            "01/UBND-VP",
            date!(2019 - 01 - 02),
            UBND,
            "V/v cũ",
            FILLER,
        ))
        .unwrap();
    index.commit().unwrap();

    let mut phases = Vec::new();
    let mut last_indexed = 0;
    let stats = index
        .rebuild(Corpus::new(42, 3000), &mut |p| {
            if phases.last() != Some(&p.phase) {
                phases.push(p.phase);
            }
            assert_eq!(p.total, Some(3000));
            last_indexed = p.indexed;
        })
        .unwrap();
    assert_eq!(stats.docs, 3000);
    assert_eq!(last_indexed, 3000);
    assert_eq!(
        phases,
        [
            Phase::Indexing,
            Phase::Committing,
            Phase::Merging,
            Phase::Done
        ]
    );
    assert_eq!(index.num_docs(), 3000);
    assert_eq!(index.segments(), 1);
    let old = Query {
        year: Some(2019),
        ..Query::default()
    };
    assert!(ids(&index, &old).is_empty());

    // Generated documents are found by number, by accent-less words, with facets.
    let sample: Vec<SearchDoc> = Corpus::new(42, 3000).collect();
    let target = sample.iter().find(|d| d.doc_type == "QĐ").unwrap();
    let found = index.search(&Query::text(&target.notation)).unwrap();
    assert!(found.hits.iter().any(|h| h.id == target.id));
    let folded = kyso_model::fold(&target.notation);
    let found = index.search(&Query::text(format!("so {folded}"))).unwrap();
    assert!(found.hits.iter().any(|h| h.id == target.id));
    let mut q = Query::text("quyet dinh");
    q.doc_type = Some("QĐ".into());
    q.year = Some(2023);
    let results = index.search(&q).unwrap();
    let expected = sample
        .iter()
        .filter(|d| d.doc_type == "QĐ" && d.year == 2023)
        .count() as u64;
    assert_eq!(results.total, expected);
    assert_eq!(results.facets.unwrap().years.len(), 1);

    // A failing source abandons the rebuild and keeps the index.
    let failing = Corpus::new(1, 10)
        .map(Ok)
        .chain(std::iter::once(Err(std::io::Error::other("disk gone"))));
    let err = index.try_rebuild(failing, &mut |_| {}).unwrap_err();
    assert!(matches!(err, SearchError::Source(_)), "{err}");
    index.reload().unwrap();
    assert_eq!(index.num_docs(), 3000);
    // The writer is usable again afterwards.
    index.delete(&target.id).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 2999);
}
