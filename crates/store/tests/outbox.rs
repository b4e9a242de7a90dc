//! The exchange outbox on SQLite and PostgreSQL: rows claimed most urgent first, a
//! claimed row left alone for its lease, a failure retried only from its next attempt
//! (attempts and last error kept) or when a worker starts again, a refusal never
//! retried, a package's delivery `delivered` only once its row is sent; a status
//! reported by another node appended once however often it is delivered.

#![allow(clippy::unwrap_used)]

use kyso_model::{AgencyId, AgencyIdFormat};
use kyso_store::{Archive, NewDelivery, NewStatus, PackageRow};
use tempfile::TempDir;
use time::OffsetDateTime;

fn agency(id: &str) -> AgencyId {
    AgencyId::parse_with(id, AgencyIdFormat::Lenient).unwrap()
}

async fn queue(archive: &Archive, n: u8, priority: i64, at: OffsetDateTime) -> i64 {
    let digest = hex::encode([n; 32]);
    let document_id = format!("000.00.00.H13,2026,{n}");
    archive
        .put_package(&PackageRow {
            digest: digest.clone(),
            document_id: document_id.clone(),
            sender: agency("000.00.00.H13"),
            file: format!("packages/{digest}.kyso"),
            size: 1,
            header_json: "{}".into(),
            created_at: at,
        })
        .await
        .unwrap();
    archive
        .queue_remote(
            &NewDelivery {
                document_id,
                package_digest: digest,
                sender: agency("000.00.00.H13"),
                sender_document: None,
                recipient: agency("000.00.00.G22"),
                at,
            },
            Some("https://truc.example.gov.vn"),
            priority,
        )
        .await
        .unwrap()
        .unwrap()
}

async fn outbox_flow(archive: &Archive) {
    let at = OffsetDateTime::now_utc();
    let now = 1_000_000_i64;
    // Thường, hỏa tốc, khẩn, thượng khẩn: claimed 3, 2, 1, 0.
    let normal = queue(archive, 1, 0, at).await;
    let flash = queue(archive, 2, 3, at).await;
    let urgent = queue(archive, 3, 1, at).await;
    let very = queue(archive, 4, 2, at).await;
    let mut order = Vec::new();
    while let Some(job) = archive.claim_outbox(now, 60_000).await.unwrap() {
        assert_eq!(job.attempts, 1);
        order.push(job);
    }
    assert_eq!(
        order.iter().map(|j| j.delivery_id).collect::<Vec<_>>(),
        [flash, very, urgent, normal]
    );
    // Claimed rows are left to their worker until the lease ends.
    assert!(
        archive
            .claim_outbox(now + 59_999, 60_000)
            .await
            .unwrap()
            .is_none()
    );

    // Sent: the delivery is delivered. Failed: retried from its next attempt only.
    // Refused: never again.
    archive.outbox_sent(&order[0], at).await.unwrap();
    assert_eq!(
        archive.delivery(flash).await.unwrap().unwrap().state,
        "delivered"
    );
    archive
        .outbox_failed(order[1].id, "connection refused", now + 5_000, false, at)
        .await
        .unwrap();
    archive
        .outbox_failed(order[2].id, "HTTP 400: package_digest", now, true, at)
        .await
        .unwrap();
    archive
        .outbox_failed(order[3].id, "timeout", now + 10_000, false, at)
        .await
        .unwrap();
    assert!(
        archive
            .claim_outbox(now + 4_999, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    let again = archive
        .claim_outbox(now + 5_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.delivery_id, again.attempts), (very, 2));
    assert_eq!(again.last_error.as_deref(), Some("connection refused"));
    assert_eq!(
        archive.delivery(very).await.unwrap().unwrap().state,
        "queued"
    );
    let rows = archive.outbox(urgent).await.unwrap();
    assert_eq!(rows[0].state, "failed");
    let last = archive
        .claim_outbox(now + 10_000, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.delivery_id, normal);
    assert!(
        archive
            .claim_outbox(now + 10_000, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    // A worker starting again takes what was in flight at once (not the refused row,
    // nor the sent one).
    assert_eq!(archive.resume_outbox(now + 10_000).await.unwrap(), 2);
    let mut resumed = Vec::new();
    while let Some(job) = archive.claim_outbox(now + 10_000, 60_000).await.unwrap() {
        resumed.push(job.delivery_id);
    }
    assert_eq!(resumed, [very, normal]);

    // A status from the recipient's node: appended once, `01` marks the delivery.
    let status = NewStatus {
        code: "01".into(),
        description: String::new(),
        actor: "node:000.00.00.G22".into(),
        message_json: "{\"status_code\":\"01\"}".into(),
        at,
    };
    assert!(
        archive
            .add_remote_status(normal, &status, None, None)
            .await
            .unwrap()
    );
    assert!(
        !archive
            .add_remote_status(normal, &status, None, None)
            .await
            .unwrap()
    );
    let delivery = archive.delivery(normal).await.unwrap().unwrap();
    assert_eq!(delivery.state, "delivered");
    assert_eq!(delivery.last_status.as_deref(), Some("01"));
    assert_eq!(archive.statuses(normal).await.unwrap().len(), 1);
}

#[test]
fn outbox_claims_most_urgent_first_and_backs_off() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = TempDir::new().unwrap();
        let archive = Archive::open_data_dir(dir.path(), None).await.unwrap();
        outbox_flow(&archive).await;
        if let Some(url) = kyso_testkit::postgres::database().await {
            let dir = TempDir::new().unwrap();
            let archive = Archive::open_data_dir(dir.path(), Some(&url))
                .await
                .unwrap();
            outbox_flow(&archive).await;
        }
    });
}
