//! Operating the exchange, and edXML for other document systems.
//!
//! - **The outbox, seen and resent.** Everything this node must still deliver to other
//!   nodes is a row of the outbox ([`crate::exchange`]); its attempts and last error
//!   are shown with each delivery ([`App::delivery_transport`]), the node-wide list to
//!   administrators ([`App::outbox`]), and a row refused for good (e.g. while the other
//!   node's directory did not know this agency yet) or waiting out its backoff can be
//!   sent again at once ([`App::retry_outbox`]) by the clerk of the agency whose
//!   delivery it is, or an administrator.
//! - **edXML.** A delivery's package as the QCVN 102:2016 edXML envelope
//!   ([`App::package_edxml`]: for the sending or the receiving agency), its latest status
//!   as an edXML status ([`App::status_edxml`]), and a package received out of band as
//!   edXML (from another document system or the national axis) filed for the clerk's
//!   agency through the one receiving path ([`App::import_edxml`]: verified on receipt,
//!   status `01` in its timeline; the statuses are returned as edXML by the clerk, since
//!   no kyso node stands behind the sender).

use kyso_exchange::{Limits, StatusMessage};
use kyso_office::Action;
use kyso_store::{DeliveryRow, NewDelivery, OutboxRow};
use serde::Serialize;

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult, Kind};
use crate::exchange::{SendOutcome, exchange_error};

/// How many rows [`App::outbox`] lists at most.
const OUTBOX_PAGE: i64 = 500;

/// A row of the outbox, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxView {
    /// Id (for [`App::retry_outbox`]).
    pub id: i64,
    /// The delivery it belongs to.
    pub delivery: i64,
    /// `package` or `status`.
    pub kind: String,
    /// The agency it goes to.
    pub destination: String,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    /// 0 thường … 4 hỏa tốc hẹn giờ.
    pub priority: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// What the other node answered last, or why it could not be reached.
    pub last_error: Option<String>,
}

impl From<OutboxRow> for OutboxView {
    fn from(row: OutboxRow) -> Self {
        Self {
            id: row.id,
            delivery: row.delivery_id,
            kind: row.kind,
            destination: row.destination,
            state: row.state,
            priority: row.priority,
            attempts: row.attempts,
            last_error: row.last_error,
        }
    }
}

fn no_delivery(id: i64) -> AppError {
    AppError::not_found(
        format!("không có lượt gửi {id}"),
        format!("no delivery {id}"),
    )
}

impl App {
    /// The delivery `id` if the actor's agency is its sender or its recipient (else
    /// not found: other agencies' deliveries are not disclosed).
    async fn party_delivery(&self, actor: &Actor, id: i64) -> AppResult<DeliveryRow> {
        let delivery = self
            .archive()
            .delivery(id)
            .await?
            .ok_or_else(|| no_delivery(id))?;
        if &delivery.sender != actor.agency() && &delivery.recipient != actor.agency() {
            return Err(no_delivery(id));
        }
        Ok(delivery)
    }

    /// The outbox rows of delivery `id` (attempts and last error of the transport to
    /// another node), for its sender's or recipient's users.
    pub async fn delivery_transport(&self, actor: &Actor, id: i64) -> AppResult<Vec<OutboxView>> {
        self.allow(actor, Action::ViewDocuments, "outbox").await?;
        let delivery = self.party_delivery(actor, id).await?;
        Ok(self
            .archive()
            .outbox(delivery.id)
            .await?
            .into_iter()
            .map(OutboxView::from)
            .collect())
    }

    /// The node's outbox, newest first (administrator): all rows or those in `state`.
    pub async fn outbox(&self, actor: &Actor, state: Option<&str>) -> AppResult<Vec<OutboxView>> {
        self.allow(actor, Action::ManageAgencies, "outbox").await?;
        if let Some(state) = state
            && !matches!(state, "queued" | "sent" | "failed")
        {
            return Err(AppError::invalid(
                "outbox_state",
                format!(
                    "trạng thái không hợp lệ {state:?}: `queued` (đang chờ), `sent` (đã gửi) hoặc `failed` (bị từ chối)"
                ),
                format!("invalid state {state:?}: queued, sent or failed"),
            ));
        }
        Ok(self
            .archive()
            .outbox_rows(state, OUTBOX_PAGE)
            .await?
            .into_iter()
            .map(OutboxView::from)
            .collect())
    }

    /// Sends outbox row `id` again at once: the clerk of the agency whose delivery it
    /// is, or an administrator. A row already sent is a conflict.
    pub async fn retry_outbox(&self, actor: &Actor, id: i64) -> AppResult<OutboxView> {
        let target = format!("outbox:{id}");
        let missing = || {
            AppError::not_found(
                format!("không có mục {id} trong hàng đợi gửi"),
                format!("no outbox row {id}"),
            )
        };
        // Authorised before anything is looked up: an administrator, else a clerk.
        let administrator = crate::authorize(actor, Action::ManageAgencies).is_ok();
        if !administrator {
            self.allow(actor, Action::SendDocument, &target).await?;
        }
        let row = self.archive().outbox_row(id).await?.ok_or_else(missing)?;
        if !administrator {
            self.party_delivery(actor, row.delivery_id)
                .await
                .map_err(|_| missing())?;
        }
        let now = self.now();
        let millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        if !self.archive().retry_outbox(id, millis, now).await? {
            return Err(AppError::new(
                Kind::Conflict,
                "outbox_sent",
                format!("mục {id} đã được gửi xong, không gửi lại"),
                format!("row {id} was delivered already: nothing to resend"),
            ));
        }
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::ExchangeSend,
                target,
                kyso_audit::Outcome::Succeeded,
            )
            .with("retry", row.kind.clone())
            .with("destination", row.destination.clone()),
        )
        .await?;
        let row = self.archive().outbox_row(id).await?.ok_or_else(missing)?;
        Ok(row.into())
    }

    /// The package of delivery `id` as edXML (QCVN 102:2016), for its sender's or
    /// recipient's users.
    pub async fn package_edxml(&self, actor: &Actor, id: i64) -> AppResult<String> {
        self.allow(actor, Action::ViewDocuments, "edxml").await?;
        let delivery = self.party_delivery(actor, id).await?;
        let package = self.stored_package(&delivery.package_digest).await?;
        Ok(kyso_exchange::edxml::export_package(&package))
    }

    /// The latest status of delivery `id` as an edXML status message.
    pub async fn status_edxml(&self, actor: &Actor, id: i64) -> AppResult<String> {
        self.allow(actor, Action::ViewDocuments, "edxml").await?;
        let delivery = self.party_delivery(actor, id).await?;
        let latest = self
            .archive()
            .statuses(delivery.id)
            .await?
            .pop()
            .ok_or_else(|| {
                AppError::not_found(
                    format!("lượt gửi {id} chưa có trạng thái"),
                    format!("delivery {id} has no status yet"),
                )
            })?;
        let message = StatusMessage::from_json(latest.message_json.as_bytes(), &Limits::default())
            .map_err(|e| exchange_error(&e))?;
        kyso_exchange::edxml::export_status(&message).map_err(|e| exchange_error(&e))
    }

    /// Files a package received as edXML for the actor's agency (clerk): it must be
    /// addressed to that agency; its original is verified on receipt and filed as an
    /// incoming document through the one receiving path, with status `01`.
    pub async fn import_edxml(&self, actor: &Actor, xml: &[u8]) -> AppResult<SendOutcome> {
        let target = "edxml";
        self.allow(actor, Action::SendDocument, target).await?;
        let package = kyso_exchange::edxml::import_package(xml, &Limits::default())
            .map_err(|e| exchange_error(&e))?;
        let header = package.header().clone();
        if !header.to.iter().any(|t| &t.organ_id == actor.agency()) {
            return Err(AppError::invalid(
                "not_addressed_here",
                format!("gói tin edXML không gửi cho cơ quan {}", actor.agency()),
                format!(
                    "the edXML package is not addressed to agency {}",
                    actor.agency()
                ),
            ));
        }
        if &header.from.organ_id == actor.agency() {
            return Err(AppError::invalid(
                "self_recipient",
                "gói tin edXML do chính cơ quan mình gửi",
                "the edXML package was sent by this very agency",
            ));
        }
        let here = self
            .archive()
            .agency(actor.agency())
            .await?
            .ok_or_else(|| AppError::internal("the actor's agency is not in the directory"))?;
        let bytes = package.to_bytes();
        self.store_package(&package, &bytes).await?;
        let delivery = NewDelivery {
            document_id: header.document_id.to_string(),
            package_digest: package.digest().to_hex(),
            sender: header.from.organ_id.clone(),
            sender_document: None,
            recipient: here.id.clone(),
            at: self.now(),
        };
        let outcome = self
            .deliver_here(&actor.audit_name(), &package, &here, delivery, None)
            .await?;
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::ExchangeReceive,
                target,
                kyso_audit::Outcome::Succeeded,
            )
            .with("document_id", header.document_id.to_string())
            .with("sender", header.from.organ_id.to_string())
            .with("outcome", outcome.outcome),
        )
        .await?;
        Ok(outcome)
    }
}
