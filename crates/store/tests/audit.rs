//! The audit log in the database, on SQLite and on PostgreSQL: concurrent appenders get
//! gapless unique sequence numbers, every entry is covered by a signed head, the stored
//! text is exactly what was hashed, and the replay is intact.
//!
//! PostgreSQL: set `KYSO_TEST_POSTGRES_URL` (scripts/test.sh starts a server on
//! 127.0.0.1:55432); each test gets a fresh database. Without it the PostgreSQL half is
//! skipped with a note, unless `CI=true` or `KYSO_REQUIRE_POSTGRES=1`, where it fails.

#![allow(clippy::unwrap_used)]

#[path = "support/backends.rs"]
mod backends;

use std::collections::BTreeMap;
use std::sync::Arc;

use backends::environments;
use kyso_audit::{Entry, Outcome, TreeHead, audit, leaf_hash};
use kyso_signer::{KeyKind, Signer, SoftKey};
use kyso_store::sqlx::Executor;
use kyso_store::{Archive, AuditDraft};
use time::macros::datetime;

fn draft(actor: &str, n: usize) -> AuditDraft {
    AuditDraft {
        actor: actor.into(),
        action: "sign".into(),
        object: format!("000.00.00.H13/2026/{n}"),
        outcome: Outcome::Succeeded,
        details: BTreeMap::from([("so".into(), format!("{n:02}/QĐ-UBND"))]),
    }
}

async fn log(archive: &Archive) -> (Vec<Entry>, Vec<TreeHead>) {
    let rows = archive.audit_rows(0, None).await.unwrap();
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| {
            let e = r.entry().unwrap();
            // The stored text is exactly the canonical bytes hashed into the tree.
            assert_eq!(r.json.as_bytes(), e.leaf_bytes().as_slice());
            assert_eq!(r.leaf_hash, hex::encode(leaf_hash(r.json.as_bytes())));
            assert_eq!(r.position, e.seq);
            e
        })
        .collect();
    let heads = archive
        .audit_head_rows()
        .await
        .unwrap()
        .iter()
        .map(|h| {
            let head = h.head().unwrap();
            assert_eq!(head.size, h.size);
            head
        })
        .collect();
    (entries, heads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_gapless_and_every_entry_is_covered() {
    let key = Arc::new(SoftKey::generate(KeyKind::P256).unwrap());
    for env in environments().await {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let archive = env.archive.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for n in 0..25 {
                    let (entry, head) = archive
                        .audit_append(draft(&format!("task {t}"), n), key.as_ref())
                        .await
                        .unwrap();
                    assert_eq!(head.size, entry.seq + 1);
                    seqs.push(entry.seq);
                }
                seqs
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.extend(t.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (0..100).collect::<Vec<u64>>(), "{}", env.name);

        let (entries, heads) = log(&env.archive).await;
        assert_eq!(entries.len(), 100, "{}", env.name);
        assert_eq!(heads.len(), 100, "{}", env.name);
        assert_eq!(
            heads.iter().map(|h| h.size).collect::<Vec<_>>(),
            (1..=100).collect::<Vec<u64>>(),
            "{}",
            env.name
        );
        let report = audit(&entries, &heads, key.public_key());
        assert!(report.is_intact(), "{}: {report:?}", env.name);
        assert_eq!(report.covered, 100, "{}", env.name);
        assert_eq!(report.root, heads[99].root, "{}", env.name);

        // Paging.
        let page = env.archive.audit_rows(40, Some(5)).await.unwrap();
        assert_eq!(
            page.iter().map(|r| r.position).collect::<Vec<_>>(),
            vec![40, 41, 42, 43, 44],
            "{}",
            env.name
        );
        env.archive.close().await;
    }
}

/// Two processes on one database (replicas, or `kyso serve` beside a CLI command):
/// each extends the tree it verified with what the other appended, so every head
/// covers every entry, in order.
#[tokio::test]
async fn two_processes_append_to_one_log() {
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    for env in environments().await {
        let other = Archive::open_data_dir(env._dir.path(), env.url.as_deref())
            .await
            .unwrap();
        let order = [0, 0, 1, 1, 0, 1, 0, 0, 0, 1];
        for (n, &who) in order.iter().enumerate() {
            let archive = if who == 0 { &env.archive } else { &other };
            let (entry, head) = archive
                .audit_append(draft(&format!("process {who}"), n), &key)
                .await
                .unwrap();
            assert_eq!(
                (entry.seq, head.size),
                (n as u64, n as u64 + 1),
                "{}",
                env.name
            );
        }
        let (entries, heads) = log(&env.archive).await;
        let report = audit(&entries, &heads, key.public_key());
        assert!(report.is_intact(), "{}: {report:?}", env.name);
        assert_eq!(report.covered, order.len() as u64, "{}", env.name);
        // A row re-hashed behind both processes' backs: a process that reads the log
        // afresh refuses to append.
        env.archive
            .pool()
            .execute(sqlx::AssertSqlSafe(format!(
                "UPDATE audit_entry SET leaf_hash = '{}' WHERE position = 3",
                "0".repeat(64)
            )))
            .await
            .unwrap();
        let third = Archive::open_data_dir(env._dir.path(), env.url.as_deref())
            .await
            .unwrap();
        let refused = third.audit_append(draft("third", 99), &key).await;
        assert!(
            matches!(refused, Err(kyso_store::StoreError::Corrupt(_))),
            "{}: {refused:?}",
            env.name
        );
        other.close().await;
        third.close().await;
        env.archive.close().await;
    }
}

#[tokio::test]
async fn head_times_never_go_back_and_tampering_shows() {
    let key = SoftKey::generate(KeyKind::P256).unwrap();
    for env in environments().await {
        let a = &env.archive;
        let (e0, h0) = a
            .audit_append_at(draft("a", 0), &key, datetime!(2026-11-26 10:00 UTC))
            .await
            .unwrap();
        assert_eq!(e0.time, "2026-11-26T10:00:00.000000Z");
        assert_eq!(h0.time, e0.time);
        // The clock stepped back: the entry keeps the latest head's time.
        let (e1, _) = a
            .audit_append_at(draft("b", 1), &key, datetime!(2026-11-26 09:00 UTC))
            .await
            .unwrap();
        assert_eq!(e1.time, "2026-11-26T10:00:00.000000Z");
        a.audit_append_at(draft("c", 2), &key, datetime!(2026-11-26 10:00:01.5 UTC))
            .await
            .unwrap();
        let (entries, heads) = log(a).await;
        assert!(audit(&entries, &heads, key.public_key()).is_intact());

        // An edited row: the replay reports it against the signed heads.
        a.pool()
            .execute(
                "UPDATE audit_entry SET entry_json = REPLACE(entry_json, '\"actor\":\"b\"', '\"actor\":\"x\"') WHERE position = 1",
            )
            .await
            .unwrap();
        let rows = a.audit_rows(0, None).await.unwrap();
        let entries: Vec<Entry> = rows.iter().map(|r| r.entry().unwrap()).collect();
        assert_eq!(entries[1].actor, "x", "{}", env.name);
        let report = audit(&entries, &heads, key.public_key());
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, kyso_audit::Problem::Modified { from: 1, to: 2 })),
            "{}: {report:?}",
            env.name
        );
        // Appending goes on after a deletion without reusing a position.
        a.pool()
            .execute("DELETE FROM audit_entry WHERE position = 2")
            .await
            .unwrap();
        a.pool()
            .execute("DELETE FROM audit_head WHERE size = 3")
            .await
            .unwrap();
        let (e, h) = a.audit_append(draft("d", 3), &key).await.unwrap();
        assert_eq!((e.seq, h.size), (2, 3), "{}", env.name);
        // kyso never signs a head over tampered leaves: a re-hashed row, a removed
        // head or another key stops the log (fail closed) until it is examined.
        let other = SoftKey::generate(KeyKind::P256).unwrap();
        assert!(
            matches!(
                a.audit_append(draft("e", 4), &other).await,
                Err(kyso_store::StoreError::Corrupt(_))
            ),
            "{}: another key",
            env.name
        );
        a.pool()
            .execute("DELETE FROM audit_head WHERE size = 3")
            .await
            .unwrap();
        assert!(
            matches!(
                a.audit_append(draft("e", 4), &key).await,
                Err(kyso_store::StoreError::Corrupt(_))
            ),
            "{}: a removed head",
            env.name
        );
        a.pool()
            .execute(sqlx::AssertSqlSafe(format!(
                "UPDATE audit_entry SET leaf_hash = '{}' WHERE position = 0",
                "0".repeat(64)
            )))
            .await
            .unwrap();
        let refused = a.audit_append(draft("e", 4), &key).await;
        assert!(
            matches!(refused, Err(kyso_store::StoreError::Corrupt(_))),
            "{}: {refused:?}",
            env.name
        );
        assert_eq!(
            a.audit_rows(0, None).await.unwrap().len(),
            3,
            "{}",
            env.name
        );
        env.archive.close().await;
    }
}
