//! The office: the operations clerks do, with the rules applied in one place.

use kyso_model::{AgencyId, DocumentType, Notation, RegisterKind, Secrecy, Urgency};
use time::{Date, OffsetDateTime};

use crate::error::{OfficeError, StoreError};
use crate::lifecycle::{DocState, Event, IncomingState, Lifecycle, OutgoingState};
use crate::policy::{ElectronicPolicy, check_not_secret};
use crate::record::{Direction, DocumentRecord, Metadata, Original};
use crate::register::{NotationTemplate, Numbering, outgoing_register, series};
use crate::store::{NewDocument, Store, Transition};

/// How an outgoing document gets its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingNumber {
    /// Not numbered yet (a draft).
    None,
    /// Take the next number of the register (the clerk numbering through kyso).
    Allocate {
        /// Issuer abbreviation in the notation (`UBND`, or the advisory body's).
        issuer: String,
        /// Unit groups (a Công văn's drafting unit).
        units: Vec<String>,
        /// The advisory body issuing it, for its own series.
        advisory_body: Option<String>,
    },
    /// Already numbered elsewhere (paper register, an older system, an import): the
    /// number and notation as written (`15/QĐ-UBND`); kept as text when it does not
    /// follow ND30 (`30/2020/NĐ-CP`).
    Existing(String),
    /// Take the next number of the agency's minutes register (biên bản kept apart, e.g.
    /// device handovers: `03/BB-STTTT`).
    Minutes {
        /// Issuer abbreviation in the notation.
        issuer: String,
    },
}

/// A request to register an outgoing document.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// The issuing agency (its archive and registers).
    pub agency: AgencyId,
    /// The document date (local); its year is the register year.
    pub date: Date,
    /// Type.
    pub document_type: DocumentType,
    /// Secrecy level.
    pub secrecy: Secrecy,
    /// Urgency.
    pub urgency: Urgency,
    /// Whether kyso signs and sends it electronically: then the agency's policy applies.
    pub electronic: bool,
    /// Numbering.
    pub number: OutgoingNumber,
    /// State it enters in (`draft` without a number; `numbered` or `issued` with one).
    pub state: OutgoingState,
    /// Metadata filled by the caller (subject, signers, recipients…). Type name, dates,
    /// number, notation and priority are filled in here.
    pub metadata: Metadata,
    /// The archived original (its hashes), when one is given to the store.
    pub original: Option<Original>,
}

/// A request to register an incoming document.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// The receiving agency.
    pub agency: AgencyId,
    /// The arrival date (local); its year is the register year.
    pub arrival_date: Date,
    /// Type.
    pub document_type: DocumentType,
    /// Secrecy level.
    pub secrecy: Secrecy,
    /// Urgency.
    pub urgency: Urgency,
    /// The sender's number and notation, as written.
    pub sender_number: Option<String>,
    /// `received`, `verified` or `accepted` (accepted takes the arrival number now).
    pub state: IncomingState,
    /// Metadata (sender name in `organ_name`, subject…).
    pub metadata: Metadata,
    /// The archived original (its hashes).
    pub original: Option<Original>,
}

/// A stored document and the alerts raised when storing it.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The stored record.
    pub record: DocumentRecord,
    /// Other documents with the same (number, notation, issuer) in the same year: the
    /// clerk is alerted (ND30 App. VI §III.1.h); storing is not blocked, because an
    /// incoming duplicate is evidence, not an error.
    pub duplicates: Vec<DocumentRecord>,
}

/// A lifecycle step asked for by a user.
#[derive(Debug, Clone)]
pub struct Step {
    /// The event.
    pub event: Event,
    /// Reason (required to refuse), instruction, or note.
    pub note: String,
    /// Notation template, for `number`.
    pub template: Option<NotationTemplate>,
    /// Advisory body whose series numbers it, for `number`.
    pub advisory_body: Option<String>,
    /// Now (UTC), for the history.
    pub at: OffsetDateTime,
    /// Today (local date), for the register year and dates.
    pub date: Date,
}

/// The clerk's office over a store.
#[derive(Debug)]
pub struct Office<S> {
    store: S,
}

fn year_of(date: Date) -> Result<u16, OfficeError> {
    u16::try_from(date.year())
        .ok()
        .filter(|y| (1000..=9999).contains(y))
        .ok_or_else(|| OfficeError::Invalid(format!("year {} out of range", date.year())))
}

/// Checks a number and notation given by a person or another system before it is
/// registered: an ND30 notation (`Số: 15/QĐ-UBND`, [`Notation::parse`]), or the looser
/// shapes older registers use (`15`, `15/2025/TT-BTC`): a number from 1 followed by
/// `/`- or `-`-separated parts, each made of letters, digits, `.` or `_` and not only dots.
/// Paths (`/etc/passwd`, `..`), whitespace inside, line breaks and control characters are
/// refused.
pub fn check_number(text: &str) -> Result<(), OfficeError> {
    let refuse = || {
        let shown: String = text.chars().take(60).flat_map(char::escape_debug).collect();
        OfficeError::Invalid(format!(
            "số, ký hiệu văn bản không hợp lệ: \"{shown}\" (ví dụ 15/QĐ-UBND) / invalid number and notation: \"{shown}\" (e.g. 15/QĐ-UBND)"
        ))
    };
    if text.chars().any(char::is_control) {
        return Err(refuse());
    }
    if Notation::parse(text).is_ok() {
        return Ok(());
    }
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_prefix("Số:")
        .or_else(|| trimmed.strip_prefix("Số"))
        .unwrap_or(trimmed)
        .trim();
    if trimmed.chars().count() > 100 {
        return Err(refuse());
    }
    let (number, rest) = match trimmed.split_once('/') {
        Some((n, rest)) => (n, Some(rest)),
        None => (trimmed, None),
    };
    let number_ok = !number.is_empty()
        && number.len() <= 9
        && number.bytes().all(|b| b.is_ascii_digit())
        && number.bytes().any(|b| b != b'0');
    let parts_ok = rest.is_none_or(|rest| {
        rest.split(['/', '-']).all(|part| {
            !part.is_empty()
                && !part.chars().all(|c| c == '.')
                && part
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '_')
        })
    });
    if number_ok && parts_ok {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// Splits `15/QĐ-UBND` into `("15", "QĐ-UBND")`; reads ND30 notations exactly and
/// keeps anything else as text at the first `/`.
pub fn split_number(text: &str) -> (String, Option<String>) {
    if let Ok(n) = Notation::parse(text) {
        return (n.code_number(), Some(n.code_notation()));
    }
    let text = text.trim();
    let text = text
        .strip_prefix("Số:")
        .or_else(|| text.strip_prefix("Số"))
        .unwrap_or(text)
        .trim();
    match text.split_once('/') {
        Some((n, rest)) => (n.trim().to_string(), Some(rest.trim().to_string())),
        None => (text.to_string(), None),
    }
}

impl<S: Store> Office<S> {
    /// An office over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The agency's electronic policy: the administrator's, else the default.
    pub async fn policy(&self, agency: &AgencyId) -> Result<ElectronicPolicy, OfficeError> {
        Ok(self.store.policy(agency).await?.unwrap_or_default())
    }

    /// Sets the agency's electronic policy (administrator).
    pub async fn set_policy(
        &self,
        agency: &AgencyId,
        policy: &ElectronicPolicy,
        at: OffsetDateTime,
    ) -> Result<(), OfficeError> {
        Ok(self.store.set_policy(agency, policy, at).await?)
    }

    async fn finish(&self, record: DocumentRecord) -> Result<Registered, OfficeError> {
        let duplicates = match record.duplicate_key() {
            Some(key) => self
                .store
                .duplicates(&key)
                .await?
                .into_iter()
                .filter(|d| d.id != record.id)
                .collect(),
            None => Vec::new(),
        };
        Ok(Registered { record, duplicates })
    }

    /// Registers an outgoing document, taking its number when asked.
    ///
    /// Refused: an original (electronic copy) of a secret document; electronic handling
    /// of a type the agency does not issue electronically, or of a secret document.
    pub async fn register_outgoing(
        &self,
        request: OutgoingRequest,
        staged: Option<S::Staged>,
        at: OffsetDateTime,
    ) -> Result<Registered, OfficeError> {
        self.register_outgoing_noted(request, staged, at, "").await
    }

    /// [`Self::register_outgoing`] with `note` on the first line of its history (e.g.
    /// why it was kept although its signature could not be verified, and who decided).
    pub async fn register_outgoing_noted(
        &self,
        request: OutgoingRequest,
        staged: Option<S::Staged>,
        at: OffsetDateTime,
        note: &str,
    ) -> Result<Registered, OfficeError> {
        if staged.is_some() || request.original.is_some() {
            check_not_secret(request.secrecy).map_err(OfficeError::Refused)?;
        }
        // The agency's electronic policy lists the types it *issues* electronically to
        // others; internal minutes (device handovers) are always electronic.
        if request.electronic && !matches!(request.number, OutgoingNumber::Minutes { .. }) {
            self.policy(&request.agency)
                .await?
                .check(request.document_type, request.secrecy)
                .map_err(OfficeError::Refused)?;
        }
        let numbered = !matches!(request.number, OutgoingNumber::None);
        if numbered == (request.state == OutgoingState::Draft)
            || matches!(
                request.state,
                OutgoingState::LeaderSigned | OutgoingState::Recalled
            )
        {
            return Err(OfficeError::Invalid(format!(
                "trạng thái ban đầu {} không phù hợp / initial state {} does not fit the numbering",
                request.state.key(),
                request.state.key()
            )));
        }
        let year = year_of(request.date)?;
        let mut metadata = request.metadata;
        metadata.organ_id = request.agency.to_string();
        metadata.type_name = request.document_type.vietnamese_name().to_string();
        metadata.priority = request.urgency.priority();
        if metadata.language.is_empty() {
            metadata.language = "vi".into();
        }
        if metadata.issued_date.is_none() {
            metadata.issued_date = Some(request.date);
        }
        let numbering = match &request.number {
            OutgoingNumber::None => None,
            OutgoingNumber::Existing(text) => {
                let (number, notation) = split_number(text);
                metadata.code_number = Some(number);
                metadata.code_notation = notation;
                None
            }
            OutgoingNumber::Allocate {
                issuer,
                units,
                advisory_body,
            } => {
                let units: Vec<&str> = units.iter().map(String::as_str).collect();
                let kind = outgoing_register(
                    request.document_type,
                    request.secrecy,
                    advisory_body.as_deref(),
                )?;
                Some(Numbering {
                    series: series(&request.agency, year, kind)?,
                    template: Some(NotationTemplate::new(
                        request.document_type,
                        issuer,
                        &units,
                    )?),
                    date: Some(request.date),
                })
            }
            OutgoingNumber::Minutes { issuer } => {
                check_not_secret(request.secrecy).map_err(OfficeError::Refused)?;
                Some(Numbering {
                    series: series(&request.agency, year, RegisterKind::Minutes)?,
                    template: Some(NotationTemplate::new(request.document_type, issuer, &[])?),
                    date: Some(request.date),
                })
            }
        };
        let record = DocumentRecord {
            id: None,
            direction: Direction::Outgoing,
            agency: request.agency,
            year,
            document_type: request.document_type,
            secrecy: request.secrecy,
            urgency: request.urgency,
            electronic: request.electronic,
            state: DocState::Outgoing(request.state),
            series: None,
            series_number: None,
            metadata,
            original: request.original,
            archive_dir: None,
            created_at: at,
        };
        let stored = self
            .store
            .insert(
                NewDocument {
                    record,
                    numbering,
                    note: note.to_string(),
                },
                staged,
            )
            .await?;
        self.finish(stored).await
    }

    /// Registers an incoming document; `accepted` takes the arrival number (số đến).
    pub async fn register_incoming(
        &self,
        request: IncomingRequest,
        staged: Option<S::Staged>,
        at: OffsetDateTime,
    ) -> Result<Registered, OfficeError> {
        self.register_incoming_noted(request, staged, at, "").await
    }

    /// [`Self::register_incoming`] with `note` on the first line of its history.
    pub async fn register_incoming_noted(
        &self,
        request: IncomingRequest,
        staged: Option<S::Staged>,
        at: OffsetDateTime,
        note: &str,
    ) -> Result<Registered, OfficeError> {
        let mut document = incoming_document(request, staged.is_some(), at)?;
        document.note = note.to_string();
        let stored = self.store.insert(document, staged).await?;
        self.finish(stored).await
    }

    /// Moves a document one step along its lifecycle.
    pub async fn advance(&self, id: i64, step: Step) -> Result<DocumentRecord, OfficeError> {
        let record = self
            .store
            .document(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
        let mut policy = self.policy(&record.agency).await?;
        // Internal minutes (numbered in the minutes register) are always electronic:
        // the list of types issued electronically to others does not govern them.
        if record
            .series
            .as_ref()
            .is_some_and(|s| *s.register() == RegisterKind::Minutes)
            && !policy.allows_type(record.document_type)
        {
            policy = ElectronicPolicy::new(policy.types().chain([record.document_type]));
        }
        let machine = Lifecycle {
            document_type: record.document_type,
            secrecy: record.secrecy,
            electronic: record.electronic,
            policy: &policy,
        };
        let to = machine.apply(record.state, step.event)?;
        if step.event == Event::Refuse && step.note.trim().is_empty() {
            return Err(OfficeError::Invalid(
                "từ chối cần nêu lý do / refusing needs a reason".into(),
            ));
        }
        let year = year_of(step.date)?;
        let numbering = match (to, step.event) {
            (DocState::Outgoing(_), Event::Number) => {
                let template = step.template.clone().ok_or_else(|| {
                    OfficeError::Invalid(
                        "cấp số cần ký hiệu cơ quan ban hành / numbering needs the issuer abbreviation"
                            .into(),
                    )
                })?;
                let kind = outgoing_register(
                    record.document_type,
                    record.secrecy,
                    step.advisory_body.as_deref(),
                )?;
                Some(Numbering {
                    series: series(&record.agency, year, kind)?,
                    template: Some(template),
                    date: Some(step.date),
                })
            }
            (DocState::Incoming(IncomingState::Accepted), Event::Accept) => Some(Numbering {
                series: series(&record.agency, year, RegisterKind::Incoming)?,
                template: None,
                date: Some(step.date),
            }),
            _ => None,
        };
        Ok(self
            .store
            .transition(Transition {
                id,
                from: record.state,
                to,
                event: step.event,
                numbering,
                note: step.note,
                at: step.at,
            })
            .await?)
    }
}

/// The document an incoming request registers (checked: no original of a secret
/// document, a valid initial state), for a store that inserts it — alone
/// ([`Office::register_incoming`]) or with other rows in one transaction (delivery of a
/// package between agencies of one node).
pub fn incoming_document(
    request: IncomingRequest,
    has_original: bool,
    at: OffsetDateTime,
) -> Result<NewDocument, OfficeError> {
    if has_original || request.original.is_some() {
        check_not_secret(request.secrecy).map_err(OfficeError::Refused)?;
    }
    if !matches!(
        request.state,
        IncomingState::Received | IncomingState::Verified | IncomingState::Accepted
    ) {
        return Err(OfficeError::Invalid(format!(
            "initial state {} is not received, verified or accepted",
            request.state.key()
        )));
    }
    let year = year_of(request.arrival_date)?;
    let mut metadata = request.metadata;
    metadata.organ_id = request.agency.to_string();
    metadata.type_name = request.document_type.vietnamese_name().to_string();
    metadata.priority = request.urgency.priority();
    metadata.arrival_date = Some(request.arrival_date);
    if metadata.language.is_empty() {
        metadata.language = "vi".into();
    }
    if let Some(text) = &request.sender_number {
        let (number, notation) = split_number(text);
        metadata.code_number = Some(number);
        metadata.code_notation = notation;
    }
    let numbering = if request.state == IncomingState::Accepted {
        Some(Numbering {
            series: series(&request.agency, year, RegisterKind::Incoming)?,
            template: None,
            date: Some(request.arrival_date),
        })
    } else {
        None
    };
    let record = DocumentRecord {
        id: None,
        direction: Direction::Incoming,
        agency: request.agency,
        year,
        document_type: request.document_type,
        secrecy: request.secrecy,
        urgency: request.urgency,
        electronic: !request.secrecy.is_secret(),
        state: DocState::Incoming(request.state),
        series: None,
        series_number: None,
        metadata,
        original: request.original,
        archive_dir: None,
        created_at: at,
    };
    Ok(NewDocument {
        record,
        numbering,
        note: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_are_paths_or_break_lines_are_refused() {
        for good in [
            "15/QĐ-UBND",
            "Số: 05/QĐ-UBND",
            "12/UBND-VP",
            "15/2025/TT-BTC",
            "123",
            "07/KH.SNV",
        ] {
            assert!(check_number(good).is_ok(), "{good}");
        }
        for bad in [
            "/etc/passwd",
            "..",
            "../..",
            "15/../x",
            "15/QĐ-UBND\nSố: 16/QĐ-UBND",
            "15/QĐ-UBND\r",
            "15/QĐ UBND",
            "0/QĐ-UBND",
            "15//UBND",
            "15/QĐ-",
            "15\\..\\x",
            "",
            "abc",
        ] {
            let err = check_number(bad).unwrap_err().to_string();
            assert!(
                err.contains("không hợp lệ") && err.contains("invalid number"),
                "{bad:?}: {err}"
            );
        }
    }
}
