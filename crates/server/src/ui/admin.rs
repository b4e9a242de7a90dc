//! Signing devices and their handovers, the audit log, and administration.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use kyso_app::AppError;
use kyso_office::{Action, HandoverState, MinutesSigner, Role};

use super::documents::Choice;
use super::{Chrome, Staff, may, page_or_error, when};
use crate::AppState;

// ----------------------------------------------------------------------------------
// Devices
// ----------------------------------------------------------------------------------

pub(crate) struct DeviceRow {
    serial: String,
    label: String,
    model: String,
    custodian: String,
    registered: String,
    mine: bool,
}

pub(crate) struct HandoverView {
    id: i64,
    device: String,
    giver: String,
    receiver: String,
    permission: String,
    state: &'static str,
    requested: String,
    can_decide: bool,
    can_accept: bool,
    /// The person is a party whose signature the minutes still need.
    can_sign_minutes: bool,
    /// Both parties signed: the receiver seals with the device.
    can_seal_minutes: bool,
    has_minutes: bool,
}

#[derive(Template)]
#[template(path = "ui/devices.html")]
pub(crate) struct DevicesPage {
    chrome: Chrome,
    devices: Vec<DeviceRow>,
    handovers: Vec<HandoverView>,
    can_request: bool,
    my_devices: Vec<Choice>,
    people: Vec<Choice>,
}

/// `GET /thiet-bi`: the agency's signing devices, their custodians and handovers (start,
/// approve, accept; the minutes).
pub(crate) async fn devices(State(state): State<AppState>, staff: Staff) -> Response {
    let page = async {
        let actor = &staff.actor;
        let me = actor.user().map(|u| u.name.clone()).unwrap_or_default();
        let users = state.app.users(actor).await?;
        let full_name = |name: &str| {
            users
                .iter()
                .find(|u| u.name == name)
                .map(|u| format!("{} ({name})", u.full_name))
                .unwrap_or_else(|| name.to_string())
        };
        let mut devices: Vec<DeviceRow> = state
            .app
            .devices(actor)
            .await?
            .into_iter()
            .map(|d| DeviceRow {
                mine: d.custodian == me,
                custodian: full_name(&d.custodian),
                serial: d.serial,
                label: d.label,
                model: format!("{} {}", d.manufacturer, d.model).trim().to_string(),
                registered: when(d.registered_at),
            })
            .collect();
        kyso_model::sort_vietnamese(&mut devices, |d| d.label.as_str());
        let mut handovers: Vec<HandoverView> = state
            .app
            .handovers(actor)
            .await?
            .into_iter()
            .map(|h| HandoverView {
                // The steps offered are the ones `authorize` allows (who, in which
                // state and order), as the use cases will check them.
                can_sign_minutes: may(actor, Action::SignMinutes(&h, MinutesSigner::Giver))
                    || may(actor, Action::SignMinutes(&h, MinutesSigner::Receiver)),
                can_seal_minutes: may(actor, Action::SignMinutes(&h, MinutesSigner::Seal)),
                id: h.id.unwrap_or_default(),
                can_decide: h.state == HandoverState::Requested
                    && may(actor, Action::DecideHandover(&h)),
                can_accept: may(actor, Action::AcceptHandover(&h)),
                has_minutes: h.minutes_document.is_some(),
                device: h.device.clone(),
                giver: full_name(&h.giver),
                receiver: full_name(&h.receiver),
                permission: h.permission_reference.clone(),
                state: h.state.vietnamese(),
                requested: when(h.requested_at),
            })
            .collect();
        handovers.sort_by_key(|h| std::cmp::Reverse(h.id));
        let my_devices: Vec<Choice> = devices
            .iter()
            .filter(|d| d.mine)
            .map(|d| Choice {
                value: d.serial.clone(),
                label: format!("{} ({})", d.label, d.serial),
            })
            .collect();
        let mut people: Vec<Choice> = users
            .iter()
            .filter(|u| u.active && u.name != me)
            .map(|u| Choice {
                value: u.name.clone(),
                label: format!("{} ({})", u.full_name, u.name),
            })
            .collect();
        kyso_model::sort_vietnamese(&mut people, |c| c.label.as_str());
        Ok::<_, AppError>(DevicesPage {
            chrome: Chrome::of(&state, &staff).await,
            can_request: !my_devices.is_empty(),
            devices,
            handovers,
            my_devices,
            people,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}

// ----------------------------------------------------------------------------------
// Audit log
// ----------------------------------------------------------------------------------

pub(crate) struct AuditRow {
    seq: u64,
    time: String,
    actor: String,
    action: String,
    object: String,
    outcome: String,
    refused: bool,
}

#[derive(Template)]
#[template(path = "ui/audit.html")]
pub(crate) struct AuditPage {
    chrome: Chrome,
    intact: bool,
    entries: u64,
    heads: usize,
    covered: u64,
    key_fingerprint: String,
    findings: Vec<String>,
    rows: Vec<AuditRow>,
}

/// How many of the latest entries the page shows.
const AUDIT_ROWS: u64 = 200;

/// `GET /nhat-ky`: the audit log's verification state and its latest entries
/// (administrators).
pub(crate) async fn audit(State(state): State<AppState>, staff: Staff) -> Response {
    let page = async {
        let actor = &staff.actor;
        let check = state.app.audit_check(actor).await?;
        let from = check.entries.saturating_sub(AUDIT_ROWS);
        let entries = state.app.audit_entries(actor, from, AUDIT_ROWS).await?;
        let rows = entries
            .into_iter()
            .rev()
            .map(|e| {
                let outcome = serde_json::to_value(e.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                AuditRow {
                    seq: e.seq,
                    time: crate::web::vietnam_time(&e.time),
                    actor: e.actor,
                    action: e.action,
                    object: e.object,
                    refused: outcome != "succeeded",
                    outcome: match outcome.as_str() {
                        "succeeded" => "thành công".into(),
                        "refused" => "bị từ chối".into(),
                        "failed" => "thất bại".into(),
                        other => other.to_string(),
                    },
                }
            })
            .collect();
        Ok::<_, AppError>(AuditPage {
            chrome: Chrome::of(&state, &staff).await,
            intact: check.intact,
            entries: check.entries,
            heads: check.heads,
            covered: check.covered,
            key_fingerprint: check.key_fingerprint,
            findings: check.findings.into_iter().map(|f| f.vi).collect(),
            rows,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}

// ----------------------------------------------------------------------------------
// Administration
// ----------------------------------------------------------------------------------

pub(crate) struct UserRow {
    name: String,
    full_name: String,
    title: String,
    roles: String,
    active: bool,
}

pub(crate) struct AgencyRow {
    id: String,
    name: String,
    place: String,
}

pub(crate) struct AnchorRow {
    subject: String,
    source: String,
}

#[derive(Template)]
#[template(path = "ui/admin.html")]
pub(crate) struct AdminPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<Choice>,
    agencies: Vec<AgencyRow>,
    can_manage_agencies: bool,
    policy_types: Vec<String>,
    /// Every type, ticked when the policy lists it (the policy form).
    policy_choices: Vec<(Choice, bool)>,
    anchors: Vec<AnchorRow>,
}

/// `GET /quan-tri`: users and roles, the agency directory, the trust anchors and the
/// electronic-issuing policy (administrators).
pub(crate) async fn administration(State(state): State<AppState>, staff: Staff) -> Response {
    let page = async {
        let actor = &staff.actor;
        state
            .app
            .allow(actor, Action::ManageUsers, "administration")
            .await?;
        let mut users: Vec<UserRow> = state
            .app
            .users(actor)
            .await?
            .into_iter()
            .map(|u| UserRow {
                roles: u
                    .roles
                    .iter()
                    .map(|r| r.vietnamese())
                    .collect::<Vec<_>>()
                    .join(", "),
                name: u.name,
                full_name: u.full_name,
                title: u.title,
                active: u.active,
            })
            .collect();
        kyso_model::sort_vietnamese(&mut users, |u| u.full_name.as_str());
        let roles = [
            Role::Clerk,
            Role::Leader,
            Role::Officer,
            Role::Custodian,
            Role::Administrator,
        ]
        .into_iter()
        .map(|r| Choice {
            value: r.key().to_string(),
            label: r.vietnamese().to_string(),
        })
        .collect();
        let mut agencies: Vec<AgencyRow> = state
            .app
            .agencies(actor)
            .await?
            .into_iter()
            .map(|a| AgencyRow {
                place: if a.hosted {
                    "trên nút này".to_string()
                } else {
                    a.node_url
                        .clone()
                        .unwrap_or_else(|| "nút khác (chưa có địa chỉ)".into())
                },
                id: a.id,
                name: a.name,
            })
            .collect();
        kyso_model::sort_vietnamese(&mut agencies, |a| a.name.as_str());
        let policy = state.app.policy(actor).await?;
        let policy_types = policy
            .types()
            .map(|t| t.vietnamese_name().to_string())
            .collect();
        let mut policy_choices: Vec<(Choice, bool)> = kyso_model::DocumentType::ALL
            .iter()
            .filter(|t| !t.is_copy())
            .map(|t| {
                (
                    Choice {
                        value: kyso_search::type_code(*t).to_string(),
                        label: t.vietnamese_name().to_string(),
                    },
                    policy.allows_type(*t),
                )
            })
            .collect();
        kyso_model::sort_vietnamese(&mut policy_choices, |(c, _)| c.label.as_str());
        let data = state.app.data().to_path_buf();
        let anchors = tokio::task::spawn_blocking(move || {
            kyso_app::verify::installation_anchors(&data).map(|(anchors, _)| {
                let mut rows: Vec<AnchorRow> = anchors
                    .certificates()
                    .iter()
                    .map(|c| AnchorRow {
                        subject: c.tbs_certificate().subject().to_string(),
                        source: anchors
                            .source_of(c)
                            .map(str::to_string)
                            .unwrap_or_else(|| "—".into()),
                    })
                    .collect();
                kyso_model::sort_vietnamese(&mut rows, |r| r.subject.as_str());
                rows
            })
        })
        .await
        .map_err(AppError::internal)??;
        Ok::<_, AppError>(AdminPage {
            chrome: Chrome::of(&state, &staff).await,
            users,
            roles,
            agencies,
            can_manage_agencies: may(actor, Action::ManageAgencies),
            policy_types,
            policy_choices,
            anchors,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}
