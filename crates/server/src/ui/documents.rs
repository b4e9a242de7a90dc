//! "Việc của tôi", the outgoing and incoming lists, and the document page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kyso_app::AppError;
use kyso_app::work::Queue;
use kyso_model::Urgency;
use kyso_office::{
    Action, DocState, DocumentQuery, DocumentRecord, Event, IncomingState, OutgoingState, Role,
};
use serde::Deserialize;

use super::{Chrome, Staff, day, may, page_or_error, when};
use crate::AppState;
use crate::web::ReportView;

/// The Vietnamese name of a state.
pub(crate) fn state_label(state: DocState) -> &'static str {
    match state {
        DocState::Outgoing(s) => match s {
            OutgoingState::Draft => "Dự thảo, chờ lãnh đạo ký",
            OutgoingState::LeaderSigned => "Lãnh đạo đã ký, chờ cấp số",
            OutgoingState::Numbered => "Đã cấp số, chờ ký số của cơ quan",
            OutgoingState::SealSigned => "Đã ký số của cơ quan, chờ phát hành",
            OutgoingState::Issued => "Đã phát hành",
            OutgoingState::Recalled => "Đã thu hồi",
        },
        DocState::Incoming(s) => match s {
            IncomingState::Received => "Mới đến, chờ tiếp nhận",
            IncomingState::Verified => "Chữ ký hợp lệ, chờ tiếp nhận",
            IncomingState::Accepted => "Đã tiếp nhận, chờ phân công",
            IncomingState::Refused => "Đã từ chối, trả lại nơi gửi",
            IncomingState::Assigned => "Đã giao xử lý",
            IncomingState::Processing => "Đang xử lý",
            IncomingState::Completed => "Đã xử lý xong",
            IncomingState::Recalled => "Đã hủy theo yêu cầu thu hồi",
        },
    }
}

/// The Vietnamese name of a history event key.
fn event_label(key: &str) -> String {
    match key {
        "register" | "registered" => "Vào sổ".into(),
        "draft" => "Tạo dự thảo".into(),
        "leader_sign" => "Lãnh đạo ký số".into(),
        "number" => "Cấp số, ký hiệu".into(),
        "seal_sign" => "Ký số của cơ quan".into(),
        "issue" => "Phát hành".into(),
        "recall" => "Thu hồi".into(),
        "verify" => "Kiểm tra chữ ký số".into(),
        "accept" => "Tiếp nhận, cấp số đến".into(),
        "refuse" => "Từ chối".into(),
        "assign" => "Giao xử lý".into(),
        "start_processing" => "Bắt đầu xử lý".into(),
        "complete" => "Hoàn thành xử lý".into(),
        "receive" | "received" => "Nhận văn bản".into(),
        "send" | "sent" => "Gửi văn bản".into(),
        other => other.replace('_', " "),
    }
}

fn urgency_class(u: Urgency) -> &'static str {
    match u {
        Urgency::Thuong => "",
        Urgency::Khan => "khan",
        _ => "hoa-toc",
    }
}

/// One document in a list.
pub(crate) struct DocRow {
    pub(crate) id: i64,
    pub(crate) number: String,
    pub(crate) type_name: String,
    pub(crate) subject: String,
    pub(crate) organ: String,
    pub(crate) state: &'static str,
    pub(crate) urgency: &'static str,
    pub(crate) urgency_class: &'static str,
    pub(crate) date: String,
}

impl DocRow {
    pub(crate) fn of(d: &DocumentRecord) -> DocRow {
        DocRow {
            id: d.id.unwrap_or_default(),
            number: d.metadata.number_notation().unwrap_or_else(|| "—".into()),
            type_name: d.document_type.vietnamese_name().to_string(),
            subject: d.metadata.subject.clone(),
            organ: d.metadata.organ_name.clone(),
            state: state_label(d.state),
            urgency: d.urgency.vietnamese_label(),
            urgency_class: urgency_class(d.urgency),
            date: d
                .metadata
                .issued_date
                .or(d.metadata.arrival_date)
                .map(day)
                .unwrap_or_else(|| day(d.created_at.to_offset(kyso_app::VIETNAM).date())),
        }
    }
}

/// A group of things waiting for the person.
pub(crate) struct Section {
    title: &'static str,
    hint: &'static str,
    rows: Vec<DocRow>,
}

/// A handover waiting for the person.
pub(crate) struct HandoverRow {
    id: i64,
    device: String,
    giver: String,
    receiver: String,
    state: &'static str,
    requested: String,
}

#[derive(Template)]
#[template(path = "ui/dashboard.html")]
pub(crate) struct Dashboard {
    chrome: Chrome,
    sections: Vec<Section>,
    handovers: Vec<HandoverRow>,
}

impl Dashboard {
    fn nothing_waiting(&self) -> bool {
        self.sections.iter().all(|s| s.rows.is_empty()) && self.handovers.is_empty()
    }
}

/// A queue's title and what to do, as the person reads them.
fn queue_text(queue: Queue) -> (&'static str, &'static str) {
    match queue {
        Queue::LeaderSign => (
            "Dự thảo chờ lãnh đạo ký số",
            "Mở văn bản, kiểm tra nội dung và ký số bằng thiết bị ký số của mình.",
        ),
        Queue::Number => (
            "Văn bản đi chờ cấp số",
            "Lãnh đạo đã ký; văn thư cấp số, ký hiệu từ sổ văn bản đi.",
        ),
        Queue::Seal => (
            "Văn bản đi chờ ký số của cơ quan",
            "Văn thư đang quản lý thiết bị ký số của cơ quan ký (đóng dấu) bằng thiết bị.",
        ),
        Queue::Issue => (
            "Văn bản đi chờ phát hành, gửi",
            "Phát hành văn bản đã ký số của cơ quan và gửi đến nơi nhận trong ngày.",
        ),
        Queue::Accept => (
            "Văn bản đến chờ tiếp nhận",
            "Xem kết quả kiểm tra chữ ký số, rồi tiếp nhận (cấp số đến) hoặc từ chối.",
        ),
        Queue::Assign => (
            "Văn bản đến chờ phân công",
            "Giao văn bản đã tiếp nhận cho đơn vị, cá nhân xử lý.",
        ),
        Queue::Handle => ("Văn bản đến đang xử lý", "Văn bản được giao xử lý."),
    }
}

/// `GET /`: what waits for the person (kyso-app's `waiting_work`).
pub(crate) async fn dashboard(State(state): State<AppState>, staff: Staff) -> Response {
    let page = async {
        let work = state.app.waiting_work(&staff.actor).await?;
        let sections = work
            .queues
            .iter()
            .map(|q| {
                let (title, hint) = queue_text(q.queue);
                Section {
                    title,
                    hint,
                    rows: q.documents.iter().map(DocRow::of).collect(),
                }
            })
            .collect();
        let handovers = work
            .handovers
            .iter()
            .map(|h| HandoverRow {
                id: h.id.unwrap_or_default(),
                device: h.device.clone(),
                giver: h.giver.clone(),
                receiver: h.receiver.clone(),
                state: h.state.vietnamese(),
                requested: when(h.requested_at),
            })
            .collect();
        Ok::<_, AppError>(Dashboard {
            chrome: Chrome::of(&state, &staff).await,
            sections,
            handovers,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}

// ----------------------------------------------------------------------------------
// Lists
// ----------------------------------------------------------------------------------

/// One choice of a `<select>`.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}

#[derive(Template)]
#[template(path = "ui/list.html")]
pub(crate) struct ListPage {
    chrome: Chrome,
    title: &'static str,
    rows: Vec<DocRow>,
    total: usize,
    year: String,
    can_draft: bool,
    types: Vec<Choice>,
    leaders: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListParams {
    nam: Option<u16>,
}

/// How many documents a list shows (the newest; the archive and search reach the rest).
const LIST_LIMIT: u32 = 200;

async fn list(state: &AppState, staff: &Staff, outgoing: bool, year: Option<u16>) -> Response {
    let page = async {
        let actor = &staff.actor;
        let docs = state
            .app
            .documents(
                actor,
                DocumentQuery {
                    direction: Some(if outgoing {
                        kyso_office::Direction::Outgoing
                    } else {
                        kyso_office::Direction::Incoming
                    }),
                    year,
                    newest: Some(LIST_LIMIT),
                    ..DocumentQuery::default()
                },
            )
            .await?;
        let rows: Vec<DocRow> = docs.iter().map(DocRow::of).collect();
        let can_draft = outgoing && may(actor, Action::FileDocument);
        // The types the agency issues electronically (its policy), Công văn first.
        let mut types: Vec<Choice> = if can_draft {
            state
                .app
                .policy(actor)
                .await?
                .types()
                .map(|t| Choice {
                    value: kyso_search::type_code(t).to_string(),
                    label: t.vietnamese_name().to_string(),
                })
                .collect()
        } else {
            Vec::new()
        };
        kyso_model::sort_vietnamese(&mut types, |c| c.label.as_str());
        let mut leaders: Vec<Choice> = if can_draft {
            state
                .app
                .users(actor)
                .await?
                .into_iter()
                .filter(|u| u.active && u.roles.contains(&Role::Leader))
                .map(|u| Choice {
                    value: if u.title.is_empty() {
                        u.full_name.clone()
                    } else {
                        format!("{}|{}", u.full_name, u.title)
                    },
                    label: if u.title.is_empty() {
                        u.full_name.clone()
                    } else {
                        format!("{} — {}", u.full_name, u.title)
                    },
                })
                .collect()
        } else {
            Vec::new()
        };
        kyso_model::sort_vietnamese(&mut leaders, |c| c.label.as_str());
        Ok(ListPage {
            chrome: Chrome::of(state, staff).await,
            title: if outgoing {
                "Văn bản đi"
            } else {
                "Văn bản đến"
            },
            total: rows.len(),
            rows,
            year: year.map(|y| y.to_string()).unwrap_or_default(),
            can_draft,
            types,
            leaders,
        })
    }
    .await;
    page_or_error(state, staff, page).await
}

/// `GET /van-ban-di`: outgoing documents, and the upload of a draft.
pub(crate) async fn outgoing(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<ListParams>,
) -> Response {
    list(&state, &staff, true, p.nam).await
}

/// `GET /van-ban-den`: incoming documents.
pub(crate) async fn incoming(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<ListParams>,
) -> Response {
    list(&state, &staff, false, p.nam).await
}

// ----------------------------------------------------------------------------------
// The document page
// ----------------------------------------------------------------------------------

struct HistoryRow {
    at: String,
    event: String,
    state: String,
    note: String,
}

struct StatusRow {
    code: String,
    label: String,
    at: String,
    description: String,
}

struct DeliveryRow {
    id: i64,
    /// Outgoing: the recipient; incoming: "Nơi gửi: …".
    title: String,
    state: String,
    statuses: Vec<StatusRow>,
    /// The sender may ask for it back (13).
    can_recall: bool,
    /// The recipient's clerk answers the sender's recall (15 / 16).
    can_answer_recall: bool,
}

/// What the person may do on this document now.
#[derive(Default)]
struct Actions {
    leader_sign: bool,
    number: bool,
    seal: bool,
    issue: bool,
    send: bool,
    accept: bool,
    refuse: bool,
    assign: bool,
    start_processing: bool,
    complete: bool,
}

impl Actions {
    fn any(&self) -> bool {
        self.leader_sign
            || self.number
            || self.seal
            || self.issue
            || self.send
            || self.accept
            || self.refuse
            || self.assign
            || self.start_processing
            || self.complete
    }
}

#[derive(Template)]
#[template(path = "ui/document.html")]
pub(crate) struct DocumentPage {
    chrome: Chrome,
    doc: DocRow,
    details: Vec<(&'static str, String)>,
    history: Vec<HistoryRow>,
    report: Option<ReportView>,
    has_file: bool,
    actions: Actions,
    recipients: Vec<Choice>,
    deliveries: Vec<DeliveryRow>,
}

/// `GET /van-ban/{id}`: the document with its rendered pages, its signature panel, its
/// history, the recipients' status timelines, and what the person may do next.
pub(crate) async fn document(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Response {
    let page = async {
        let actor = &staff.actor;
        let view = state.app.document(actor, id).await?;
        let d = &view.record;
        let m = &d.metadata;
        let mut details: Vec<(&'static str, String)> = vec![
            (
                "Số, ký hiệu",
                m.number_notation().unwrap_or_else(|| "—".into()),
            ),
            (
                "Loại văn bản",
                d.document_type.vietnamese_name().to_string(),
            ),
            ("Trích yếu", m.subject.clone()),
            ("Cơ quan ban hành", m.organ_name.clone()),
            ("Độ khẩn", d.urgency.vietnamese_label().to_string()),
            ("Độ mật", d.secrecy.vietnamese_label().to_string()),
            ("Trạng thái", state_label(d.state).to_string()),
            ("Năm, sổ", format!("{}", d.year)),
        ];
        if let Some(date) = m.issued_date {
            details.push(("Ngày ban hành", day(date)));
        }
        if let Some(n) = m.arrival_number {
            details.push(("Số đến", n.to_string()));
        }
        if let Some(date) = m.arrival_date {
            details.push(("Ngày đến", day(date)));
        }
        if !m.signer_info.is_empty() {
            details.push((
                "Người ký",
                m.signer_info
                    .iter()
                    .map(|s| s.full_name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if let Some(dir) = &d.archive_dir {
            details.push(("Thư mục lưu trữ", dir.clone()));
        }
        details.push(("Vào sổ lúc", when(d.created_at)));
        let history = view
            .history
            .iter()
            .map(|h| HistoryRow {
                at: when(h.at),
                event: event_label(&h.event),
                state: DocState::from_key(&h.state)
                    .map(state_label)
                    .map(str::to_string)
                    .unwrap_or_else(|| h.state.clone()),
                note: h.note.clone(),
            })
            .collect();
        let report = (!view.verification.is_null()).then(|| {
            let name = view
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("văn bản {id}"));
            crate::web::report_view(&view.verification, &name)
        });
        let is = |s: DocState| d.state == s;
        let step = |e: Event| may(actor, Action::Advance(e));
        let actions = Actions {
            leader_sign: is(DocState::Outgoing(OutgoingState::Draft)) && step(Event::LeaderSign),
            number: is(DocState::Outgoing(OutgoingState::LeaderSigned)) && step(Event::Number),
            seal: is(DocState::Outgoing(OutgoingState::Numbered)) && step(Event::SealSign),
            issue: is(DocState::Outgoing(OutgoingState::SealSigned)) && step(Event::Issue),
            send: is(DocState::Outgoing(OutgoingState::Issued)) && may(actor, Action::SendDocument),
            accept: (is(DocState::Incoming(IncomingState::Received))
                || is(DocState::Incoming(IncomingState::Verified)))
                && step(Event::Accept),
            refuse: (is(DocState::Incoming(IncomingState::Received))
                || is(DocState::Incoming(IncomingState::Verified)))
                && step(Event::Refuse),
            assign: is(DocState::Incoming(IncomingState::Accepted)) && step(Event::Assign),
            start_processing: is(DocState::Incoming(IncomingState::Assigned))
                && step(Event::StartProcessing),
            complete: is(DocState::Incoming(IncomingState::Processing)) && step(Event::Complete),
        };
        let mut recipients = Vec::new();
        if actions.send {
            recipients = state
                .app
                .agencies(actor)
                .await?
                .into_iter()
                .filter(|a| a.id != actor.agency().to_string())
                .map(|a| Choice {
                    label: format!("{} ({})", a.name, a.id),
                    value: a.id,
                })
                .collect();
            kyso_model::sort_vietnamese(&mut recipients, |c| c.label.as_str());
        }
        // Sent: one delivery per recipient (issued documents); received: the delivery it
        // came by, with the statuses sent back and the sender's recall, if any.
        let incoming = d.direction == kyso_office::Direction::Incoming;
        let deliveries = if incoming || is(DocState::Outgoing(OutgoingState::Issued)) {
            let may_recall = !incoming && may(actor, Action::SendDocument);
            let may_answer = incoming && may(actor, Action::AnswerRecall);
            let mut rows: Vec<DeliveryRow> = Vec::new();
            for v in state.app.deliveries(actor, id).await? {
                let title = if incoming {
                    let sender = match v.sender.parse::<kyso_model::AgencyId>() {
                        Ok(a) => state
                            .app
                            .agency_name(&a)
                            .await
                            .unwrap_or_else(|_| v.sender.clone()),
                        Err(_) => v.sender.clone(),
                    };
                    format!("Nơi gửi: {sender} ({})", v.sender)
                } else {
                    format!("{} ({})", v.recipient_name, v.recipient)
                };
                rows.push(DeliveryRow {
                    id: v.id,
                    title,
                    state: match (v.state.as_str(), v.recall.as_str(), incoming) {
                        (_, "requested", true) => "nơi gửi yêu cầu thu hồi văn bản này".into(),
                        (_, "requested", false) => "đã yêu cầu thu hồi".into(),
                        (_, "agreed", _) => "đã đồng ý thu hồi".into(),
                        (_, "refused", _) => "đã từ chối thu hồi".into(),
                        ("delivered", _, _) => "đã chuyển đến nơi nhận".into(),
                        ("queued", _, _) => "đang chờ gửi (sẽ gửi lại tự động)".into(),
                        (other, _, _) => other.to_string(),
                    },
                    can_recall: may_recall && v.recall == "none",
                    can_answer_recall: may_answer && v.recall == "requested",
                    statuses: v
                        .statuses
                        .into_iter()
                        .map(|s| StatusRow {
                            label: s.label_vi,
                            code: s.code,
                            at: crate::web::vietnam_time(&s.at),
                            description: s.description,
                        })
                        .collect(),
                });
            }
            kyso_model::sort_vietnamese(&mut rows, |r| r.title.as_str());
            rows
        } else {
            Vec::new()
        };
        Ok(DocumentPage {
            chrome: Chrome::of(&state, &staff).await,
            doc: DocRow::of(d),
            details,
            history,
            report,
            // The archived original, or the working copy of an electronic outgoing
            // document before it is issued.
            has_file: d.original.is_some()
                || matches!(
                    d.state,
                    DocState::Outgoing(
                        OutgoingState::Draft
                            | OutgoingState::LeaderSigned
                            | OutgoingState::Numbered
                            | OutgoingState::SealSigned
                    )
                ),
            actions,
            recipients,
            deliveries,
        })
    }
    .await;
    page_or_error(&state, &staff, page).await
}
