//! What waits for a person ("việc của tôi"): the documents each of their roles must act
//! on next, urgent first, and the device handovers waiting for them. Which queues a
//! person sees is decided by [`crate::authorize`] — the same decision the steps make —,
//! so no page offers work its reader may not do. One queue is narrower than what
//! `authorize` allows: documents being handled are the officers' (leaders may also start
//! and complete handling, but their queue is the assigning).

use kyso_office::{
    Action, DocState, DocumentQuery, DocumentRecord, Event, Handover, HandoverState, IncomingState,
    OutgoingState, Role,
};

use crate::App;
use crate::actor::{Actor, authorize};
use crate::error::AppResult;

/// A kind of waiting work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Drafts for a leader to sign.
    LeaderSign,
    /// Leader-signed documents for the clerk to number.
    Number,
    /// Numbered documents for the clerk holding the agency device to seal.
    Seal,
    /// Sealed documents to issue and send.
    Issue,
    /// Arrived documents to accept or refuse.
    Accept,
    /// Accepted documents to assign.
    Assign,
    /// Assigned documents being handled (officers).
    Handle,
}

impl Queue {
    /// Every queue, in the order a person reads them.
    pub const ALL: [Queue; 7] = [
        Queue::LeaderSign,
        Queue::Number,
        Queue::Seal,
        Queue::Issue,
        Queue::Accept,
        Queue::Assign,
        Queue::Handle,
    ];

    /// The states of the documents in the queue.
    pub fn states(self) -> Vec<DocState> {
        let (out, inc) = (DocState::Outgoing, DocState::Incoming);
        match self {
            Queue::LeaderSign => vec![out(OutgoingState::Draft)],
            Queue::Number => vec![out(OutgoingState::LeaderSigned)],
            Queue::Seal => vec![out(OutgoingState::Numbered)],
            Queue::Issue => vec![out(OutgoingState::SealSigned)],
            Queue::Accept => vec![inc(IncomingState::Received), inc(IncomingState::Verified)],
            Queue::Assign => vec![inc(IncomingState::Accepted)],
            Queue::Handle => vec![inc(IncomingState::Assigned), inc(IncomingState::Processing)],
        }
    }

    /// Whether `actor` works this queue.
    fn is_for(self, actor: &Actor) -> bool {
        let may = |e| authorize(actor, Action::Advance(e)).is_ok();
        match self {
            Queue::LeaderSign => may(Event::LeaderSign),
            Queue::Number => may(Event::Number),
            Queue::Seal => may(Event::SealSign),
            Queue::Issue => may(Event::Issue),
            Queue::Accept => may(Event::Accept),
            Queue::Assign => may(Event::Assign),
            Queue::Handle => {
                may(Event::StartProcessing)
                    && actor
                        .user()
                        .is_some_and(|u| u.roles.contains(&Role::Officer))
            }
        }
    }
}

/// The documents of one queue: urgent first (hỏa tốc, thượng khẩn, khẩn), then the
/// newest; at most [`WAITING`].
#[derive(Debug, Clone)]
pub struct WorkQueue {
    /// Which.
    pub queue: Queue,
    /// Its documents.
    pub documents: Vec<DocumentRecord>,
}

/// What waits for a person.
#[derive(Debug, Clone)]
pub struct Work {
    /// The queues of their roles (possibly empty).
    pub queues: Vec<WorkQueue>,
    /// Handovers of a signing device waiting for them (to decide, accept, sign, seal),
    /// newest first.
    pub handovers: Vec<Handover>,
}

/// How many documents of each queue are listed (the newest; the lists reach the rest).
pub const WAITING: u32 = 50;

impl App {
    /// What waits for `actor`: the queues of their roles and their handovers.
    pub async fn waiting_work(&self, actor: &Actor) -> AppResult<Work> {
        let mut queues = Vec::new();
        for queue in Queue::ALL.into_iter().filter(|q| q.is_for(actor)) {
            let mut documents = self
                .documents(
                    actor,
                    DocumentQuery {
                        states: queue.states(),
                        newest: Some(WAITING),
                        ..DocumentQuery::default()
                    },
                )
                .await?;
            documents.sort_by(|a, b| {
                b.urgency
                    .priority()
                    .cmp(&a.urgency.priority())
                    .then(b.id.cmp(&a.id))
            });
            queues.push(WorkQueue { queue, documents });
        }
        let me = actor.user().map(|u| u.name.clone()).unwrap_or_default();
        let mut handovers: Vec<Handover> = self
            .handovers(actor)
            .await?
            .into_iter()
            .filter(|h| match h.state {
                HandoverState::Requested => {
                    h.giver == me || authorize(actor, Action::DecideHandover(h)).is_ok()
                }
                HandoverState::Approved | HandoverState::Accepted => {
                    h.receiver == me || h.giver == me
                }
                _ => false,
            })
            .collect();
        handovers.sort_by_key(|h| std::cmp::Reverse(h.id));
        Ok(Work { queues, handovers })
    }
}
