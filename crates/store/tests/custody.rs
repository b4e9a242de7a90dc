//! Users, devices and handovers on SQLite and PostgreSQL: records round-trip, one
//! handover in progress per device, state changes are compare-and-set, and of two
//! racing acceptances exactly one moves custody.

#![allow(clippy::unwrap_used)]

#[path = "support/backends.rs"]
mod backends;

use std::collections::BTreeSet;
use std::sync::Arc;

use backends::environments;
use kyso_model::AgencyId;
use kyso_office::{Device, Handover, HandoverState, Role, StoreError, User, hash_password};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-11-26 02:00 UTC);

fn agency() -> AgencyId {
    AgencyId::parse("000.00.12.H13").unwrap()
}

fn user(name: &str, roles: &[Role]) -> User {
    let roles: BTreeSet<Role> = roles.iter().copied().collect();
    User::new(agency(), name, &format!("Người dùng {name}"), roles).unwrap()
}

fn device(custodian: &str) -> Device {
    Device {
        agency: agency(),
        serial: "4519c57cbdaa2f0f".into(),
        label: "thiet-bi-co-quan".into(),
        manufacturer: "SoftHSM project".into(),
        model: "SoftHSM v2".into(),
        slot: 1,
        key_id: "02".into(),
        certificate: "3000".into(),
        custodian: custodian.into(),
        registered_at: AT,
        registered_by: "admin".into(),
    }
}

fn request(giver: &str, receiver: &str) -> Handover {
    Handover {
        id: None,
        agency: agency(),
        device: "4519c57cbdaa2f0f".into(),
        giver: giver.into(),
        receiver: receiver.into(),
        permission_reference: "Giấy ủy quyền số 12/GUQ-STTTT".into(),
        witnesses: vec!["Phạm Thị Hoa".into()],
        condition: "Hoạt động bình thường".into(),
        state: HandoverState::Requested,
        requested_at: AT,
        approver: None,
        decided_at: None,
        accepted_at: None,
        minutes_notation: None,
        minutes_document: None,
        minutes_signatures: Vec::new(),
        minutes_sha256: None,
        completed_at: None,
        note: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_devices_and_handovers() {
    for env in environments().await {
        let store = &env.archive;
        let name = env.name;
        let mut an = user("an", &[Role::Clerk, Role::Custodian]);
        an.password_hash = Some(hash_password("mật khẩu của An", &[3; 16]).unwrap());
        store.create_user(&an, AT).await.unwrap();
        store
            .create_user(&user("binh", &[Role::Custodian]), AT)
            .await
            .unwrap();
        assert!(
            matches!(
                store.create_user(&an, AT).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: duplicate user"
        );
        assert_eq!(store.user(&agency(), "an").await.unwrap().unwrap(), an);
        an.roles.insert(Role::Leader);
        store.update_user(&an, AT).await.unwrap();
        assert!(
            store
                .user(&agency(), "an")
                .await
                .unwrap()
                .unwrap()
                .has(Role::Leader)
        );
        assert_eq!(store.users(&agency()).await.unwrap().len(), 2);

        store.register_device(&device("an")).await.unwrap();
        assert!(matches!(
            store.register_device(&device("binh")).await,
            Err(StoreError::Conflict(_))
        ));
        let first = store.create_handover(&request("an", "binh")).await.unwrap();
        // One handover in progress per device.
        assert!(
            matches!(
                store.create_handover(&request("an", "binh")).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: second open handover"
        );
        // Approve with compare-and-set; a stale second approval loses.
        let mut approved = first.clone();
        approved.state = HandoverState::Approved;
        store
            .update_handover(&approved, HandoverState::Requested, AT)
            .await
            .unwrap();
        assert!(matches!(
            store
                .update_handover(&approved, HandoverState::Requested, AT)
                .await,
            Err(StoreError::StateChanged { .. })
        ));
        // Two acceptances race: exactly one moves custody.
        let mut accepted = approved.clone();
        accepted.state = HandoverState::Accepted;
        let shared = Arc::new(store.clone());
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let store = shared.clone();
                let h = accepted.clone();
                tokio::spawn(async move { store.accept_handover(&h, AT).await })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(d) => {
                    won += 1;
                    assert_eq!(d.custodian, "binh");
                }
                Err(StoreError::StateChanged { .. }) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert_eq!(won, 1, "{name}");
        let d = store.device("4519c57cbdaa2f0f").await.unwrap().unwrap();
        assert_eq!(d.custodian, "binh", "{name}");
        let stored = store.handover(first.id.unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.state, HandoverState::Accepted);
        // Custody moves only from the giver who still holds it.
        let mut completed = stored.clone();
        completed.state = HandoverState::Completed;
        store
            .update_handover(&completed, HandoverState::Accepted, AT)
            .await
            .unwrap();
        let mut stale = store.create_handover(&request("an", "binh")).await.unwrap();
        stale.state = HandoverState::Approved;
        store
            .update_handover(&stale, HandoverState::Requested, AT)
            .await
            .unwrap();
        stale.state = HandoverState::Accepted;
        assert!(
            matches!(
                store.accept_handover(&stale, AT).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: an is no longer the custodian"
        );
        assert_eq!(
            store
                .handover(stale.id.unwrap())
                .await
                .unwrap()
                .unwrap()
                .state,
            HandoverState::Approved,
            "{name}: the failed acceptance rolled back"
        );
        assert_eq!(
            store
                .handovers(&agency(), Some("4519c57cbdaa2f0f"))
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

/// Failed logins from one address at the same moment are all counted, none refused as
/// "database is locked" (SQLite) or as a duplicate row (PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_login_failures_are_all_counted() {
    for env in environments().await {
        let store = Arc::new(env.archive.clone());
        let window = time::Duration::minutes(15);
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(
                    async move { store.note_address_failure("203.0.113.7", AT, window).await },
                )
            })
            .collect();
        for t in tasks {
            t.await
                .unwrap()
                .unwrap_or_else(|e| panic!("[{}] {e}", env.name));
        }
        assert_eq!(
            store
                .address_failures("203.0.113.7", AT, window)
                .await
                .unwrap(),
            16,
            "[{}]",
            env.name
        );
        // A window later it starts again at one.
        assert_eq!(
            store
                .note_address_failure("203.0.113.7", AT + window, window)
                .await
                .unwrap(),
            1,
            "[{}]",
            env.name
        );
    }
}
