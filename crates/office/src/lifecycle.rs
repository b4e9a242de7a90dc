//! Document lifecycles as explicit state machines (DESIGN "The flows", spec §6–§7).
//!
//! Outgoing, electronic: `draft → leader_signed → numbered → seal_signed → issued →
//! recalled`. Outgoing on paper (including every secret document, which never goes
//! electronic): `draft → numbered → issued → recalled`; kyso only registers it.
//!
//! Incoming: `received → verified → accepted | refused`, then `accepted → assigned →
//! processing → completed`; an issuer's recall moves any non-refused incoming document to
//! `recalled` (frozen, ND30 App. VI §III.8). A document whose signature did not verify is
//! refused, never accepted (spec §19.3).
//!
//! The machines are pure: [`Lifecycle::apply`] says which state an event leads to, or
//! why not. Policy guards (secrecy, the agency's electronic types) are checked here too,
//! so no caller can sign a secret document by skipping a step.

use std::fmt;

use kyso_model::{DocumentType, Secrecy, StatusCode};
use serde::{Deserialize, Serialize};

use crate::error::OfficeError;
use crate::policy::ElectronicPolicy;

/// States of an outgoing document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingState {
    /// Being drafted.
    Draft,
    /// Signed by the competent leader (personal certificate).
    LeaderSigned,
    /// Number and notation assigned from the register.
    Numbered,
    /// Signed with the agency device (seal signature).
    SealSigned,
    /// Issued (sent) to its recipients.
    Issued,
    /// Recalled by the issuer: frozen with its metadata.
    Recalled,
}

/// States of an incoming document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingState {
    /// Arrived; status 01 goes back to the sender.
    Received,
    /// Every signature verified.
    Verified,
    /// Accepted and registered with its arrival number; status 03.
    Accepted,
    /// Returned to the sender with a reason; status 02.
    Refused,
    /// Assigned to a handling unit; status 04.
    Assigned,
    /// Being handled; status 05.
    Processing,
    /// Handling completed; status 06.
    Completed,
    /// Cancelled on the issuer's recall order.
    Recalled,
}

/// The state of a document of either direction. Written as `outgoing:issued`,
/// `incoming:accepted` in storage ([`DocState::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocState {
    /// An outgoing document.
    Outgoing(OutgoingState),
    /// An incoming document.
    Incoming(IncomingState),
}

/// What can happen to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The leader signs (electronic outgoing).
    LeaderSign,
    /// The clerk assigns the number.
    Number,
    /// The clerk signs with the agency device.
    SealSign,
    /// The clerk issues (sends) the document.
    Issue,
    /// The issuer recalls an outgoing document, or orders an incoming one cancelled.
    Recall,
    /// Incoming signatures verified valid.
    Verify,
    /// The clerk accepts an incoming document (it gets its arrival number).
    Accept,
    /// The clerk refuses an incoming document (reason required by the caller).
    Refuse,
    /// The leader assigns it to a handling unit.
    Assign,
    /// Handling starts.
    StartProcessing,
    /// Handling ends.
    Complete,
}

impl Event {
    /// Stable key, as stored in the history.
    pub fn key(self) -> &'static str {
        match self {
            Self::LeaderSign => "leader_sign",
            Self::Number => "number",
            Self::SealSign => "seal_sign",
            Self::Issue => "issue",
            Self::Recall => "recall",
            Self::Verify => "verify",
            Self::Accept => "accept",
            Self::Refuse => "refuse",
            Self::Assign => "assign",
            Self::StartProcessing => "start_processing",
            Self::Complete => "complete",
        }
    }

    /// Reads [`Event::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        [
            Self::LeaderSign,
            Self::Number,
            Self::SealSign,
            Self::Issue,
            Self::Recall,
            Self::Verify,
            Self::Accept,
            Self::Refuse,
            Self::Assign,
            Self::StartProcessing,
            Self::Complete,
        ]
        .into_iter()
        .find(|event| event.key() == key)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl OutgoingState {
    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::LeaderSigned => "leader_signed",
            Self::Numbered => "numbered",
            Self::SealSigned => "seal_signed",
            Self::Issued => "issued",
            Self::Recalled => "recalled",
        }
    }
}

impl IncomingState {
    /// Stable key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Verified => "verified",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Assigned => "assigned",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Recalled => "recalled",
        }
    }

    /// The edXML status this state reports to the sender, if any.
    pub fn status_code(self) -> Option<StatusCode> {
        Some(match self {
            Self::Received | Self::Verified => StatusCode::Arrived,
            Self::Refused => StatusCode::Refused,
            Self::Accepted => StatusCode::Accepted,
            Self::Assigned => StatusCode::Assigned,
            Self::Processing => StatusCode::Processing,
            Self::Completed => StatusCode::Completed,
            Self::Recalled => return None,
        })
    }
}

const OUTGOING: [OutgoingState; 6] = [
    OutgoingState::Draft,
    OutgoingState::LeaderSigned,
    OutgoingState::Numbered,
    OutgoingState::SealSigned,
    OutgoingState::Issued,
    OutgoingState::Recalled,
];

const INCOMING: [IncomingState; 8] = [
    IncomingState::Received,
    IncomingState::Verified,
    IncomingState::Accepted,
    IncomingState::Refused,
    IncomingState::Assigned,
    IncomingState::Processing,
    IncomingState::Completed,
    IncomingState::Recalled,
];

impl DocState {
    /// `outgoing:<state>` or `incoming:<state>`.
    pub fn key(self) -> String {
        match self {
            Self::Outgoing(s) => format!("outgoing:{}", s.key()),
            Self::Incoming(s) => format!("incoming:{}", s.key()),
        }
    }

    /// Reads [`DocState::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        if let Some(rest) = key.strip_prefix("outgoing:") {
            OUTGOING
                .into_iter()
                .find(|s| s.key() == rest)
                .map(Self::Outgoing)
        } else if let Some(rest) = key.strip_prefix("incoming:") {
            INCOMING
                .into_iter()
                .find(|s| s.key() == rest)
                .map(Self::Incoming)
        } else {
            None
        }
    }
}

impl fmt::Display for DocState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// What the machine needs to know about the document to decide.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle<'a> {
    /// Its type.
    pub document_type: DocumentType,
    /// Its secrecy level.
    pub secrecy: Secrecy,
    /// Whether it goes through the electronic flow (false: paper, registered only).
    pub electronic: bool,
    /// The issuing agency's policy.
    pub policy: &'a ElectronicPolicy,
}

impl Lifecycle<'_> {
    /// The state `event` leads to from `state`, or why it may not happen.
    pub fn apply(&self, state: DocState, event: Event) -> Result<DocState, OfficeError> {
        use DocState::{Incoming as In, Outgoing as Out};
        use IncomingState as I;
        use OutgoingState as O;
        let invalid = || OfficeError::InvalidTransition {
            state: state.key(),
            event: event.key().into(),
        };
        let electronic_step = |next: OutgoingState| -> Result<DocState, OfficeError> {
            if !self.electronic {
                // A secret document is never in the electronic flow; say why.
                crate::policy::check_not_secret(self.secrecy).map_err(OfficeError::Refused)?;
                return Err(invalid());
            }
            self.policy
                .check(self.document_type, self.secrecy)
                .map_err(OfficeError::Refused)?;
            Ok(Out(next))
        };
        match (state, event) {
            (Out(O::Draft), Event::LeaderSign) => electronic_step(O::LeaderSigned),
            (Out(O::Draft), Event::Number) if !self.electronic => Ok(Out(O::Numbered)),
            (Out(O::LeaderSigned), Event::Number) if self.electronic => Ok(Out(O::Numbered)),
            (Out(O::Numbered), Event::SealSign) => electronic_step(O::SealSigned),
            (Out(O::SealSigned), Event::Issue) => electronic_step(O::Issued),
            (Out(O::Numbered), Event::Issue) if !self.electronic => Ok(Out(O::Issued)),
            (Out(O::Issued), Event::Recall) => Ok(Out(O::Recalled)),
            (In(I::Received), Event::Verify) => Ok(In(I::Verified)),
            (In(I::Verified), Event::Accept) => Ok(In(I::Accepted)),
            (In(I::Received | I::Verified), Event::Refuse) => Ok(In(I::Refused)),
            (In(I::Accepted), Event::Assign) => Ok(In(I::Assigned)),
            (In(I::Assigned), Event::StartProcessing) => Ok(In(I::Processing)),
            (In(I::Processing), Event::Complete) => Ok(In(I::Completed)),
            (
                In(
                    I::Received
                    | I::Verified
                    | I::Accepted
                    | I::Assigned
                    | I::Processing
                    | I::Completed,
                ),
                Event::Recall,
            ) => Ok(In(I::Recalled)),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(policy: &ElectronicPolicy, secrecy: Secrecy, electronic: bool) -> Lifecycle<'_> {
        Lifecycle {
            document_type: DocumentType::CongVan,
            secrecy,
            electronic,
            policy,
        }
    }

    #[test]
    fn electronic_outgoing_flow() {
        let policy = ElectronicPolicy::default();
        let m = machine(&policy, Secrecy::None, true);
        let mut state = DocState::Outgoing(OutgoingState::Draft);
        for (event, expected) in [
            (Event::LeaderSign, OutgoingState::LeaderSigned),
            (Event::Number, OutgoingState::Numbered),
            (Event::SealSign, OutgoingState::SealSigned),
            (Event::Issue, OutgoingState::Issued),
            (Event::Recall, OutgoingState::Recalled),
        ] {
            state = m.apply(state, event).unwrap();
            assert_eq!(state, DocState::Outgoing(expected));
        }
        // Frozen after recall.
        for event in [Event::Issue, Event::Recall, Event::Number] {
            assert!(matches!(
                m.apply(state, event),
                Err(OfficeError::InvalidTransition { .. })
            ));
        }
        // No skipping: a draft cannot be sealed or issued.
        let draft = DocState::Outgoing(OutgoingState::Draft);
        assert!(m.apply(draft, Event::SealSign).is_err());
        assert!(m.apply(draft, Event::Issue).is_err());
        assert!(m.apply(draft, Event::Number).is_err());
    }

    #[test]
    fn secret_documents_are_refused_electronic_steps() {
        let policy = ElectronicPolicy::new(DocumentType::iter());
        for electronic in [true, false] {
            let m = machine(&policy, Secrecy::Mat, electronic);
            let draft = DocState::Outgoing(OutgoingState::Draft);
            match m.apply(draft, Event::LeaderSign) {
                Err(OfficeError::Refused(r)) => assert_eq!(r.code, "secret_document"),
                other => panic!("{other:?}"),
            }
        }
        // The paper flow still registers it.
        let m = machine(&policy, Secrecy::TuyetMat, false);
        let numbered = m
            .apply(DocState::Outgoing(OutgoingState::Draft), Event::Number)
            .unwrap();
        assert_eq!(
            m.apply(numbered, Event::Issue).unwrap(),
            DocState::Outgoing(OutgoingState::Issued)
        );
        match m.apply(numbered, Event::SealSign) {
            Err(OfficeError::Refused(r)) => assert_eq!(r.code, "secret_document"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn type_policy_guards_signing() {
        let policy = ElectronicPolicy::default();
        let m = Lifecycle {
            document_type: DocumentType::QuyetDinh,
            secrecy: Secrecy::None,
            electronic: true,
            policy: &policy,
        };
        match m.apply(DocState::Outgoing(OutgoingState::Draft), Event::LeaderSign) {
            Err(OfficeError::Refused(r)) => assert_eq!(r.code, "type_not_electronic"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn incoming_flow() {
        let policy = ElectronicPolicy::default();
        let m = machine(&policy, Secrecy::None, true);
        let mut state = DocState::Incoming(IncomingState::Received);
        for (event, expected) in [
            (Event::Verify, IncomingState::Verified),
            (Event::Accept, IncomingState::Accepted),
            (Event::Assign, IncomingState::Assigned),
            (Event::StartProcessing, IncomingState::Processing),
            (Event::Complete, IncomingState::Completed),
        ] {
            state = m.apply(state, event).unwrap();
            assert_eq!(state, DocState::Incoming(expected));
        }
        // Unverified documents are never accepted.
        let received = DocState::Incoming(IncomingState::Received);
        assert!(m.apply(received, Event::Accept).is_err());
        let refused = m.apply(received, Event::Refuse).unwrap();
        assert!(m.apply(refused, Event::Accept).is_err());
        assert!(m.apply(refused, Event::Recall).is_err());
        assert_eq!(
            IncomingState::Accepted.status_code(),
            Some(StatusCode::Accepted)
        );
    }

    #[test]
    fn keys_round_trip() {
        for s in OUTGOING
            .map(DocState::Outgoing)
            .into_iter()
            .chain(INCOMING.map(DocState::Incoming))
        {
            assert_eq!(DocState::from_key(&s.key()), Some(s));
        }
        assert_eq!(DocState::from_key("outgoing:nope"), None);
        assert_eq!(Event::from_key("seal_sign"), Some(Event::SealSign));
    }
}
