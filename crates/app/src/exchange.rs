//! Sending and receiving documents between agencies (Decision 28/2018/QĐ-TTg; the
//! package and status formats of kyso-exchange).
//!
//! A node hosts one or many agencies; the **directory** (`agency` table) lists them and
//! the agencies reached through other nodes. [`App::send`]: the clerk of the sending
//! agency sends an issued (agency-sealed), non-secret document: a [`Package`] is built
//! from the document record (edXML header fields) with the original and its `.p7s`,
//! written under `<data>/exchange/packages/<digest>.kyso` and recorded before anything
//! is delivered; then, per recipient, either
//!
//! - **hosted here**: the package is read back as a receiver reads it, its attachments
//!   filed through the receiving code of [`App::file_document`] (every signature verified
//!   on receipt, the report kept with the document) and, in **one transaction**, the
//!   recipient's incoming document, the delivery row and status `01` are stored; or
//! - **on another node**: a delivery row `queued` and an outbox row, in one transaction;
//!   the outbox worker of `kyso serve` (`--exchange-listen`) POSTs the package to that
//!   node over mutual TLS ([`App::claim_outbox`], [`App::outbox_result`]) and the
//!   delivery becomes `delivered` on its 2xx. That node receives it with
//!   [`App::receive_package`] — the same receiving path as a recipient hosted here —
//!   and its statuses travel back through its outbox to [`App::receive_status`].
//!
//! Idempotent by `DocumentId`: a second sending to the same recipient adds nothing.
//! The recipient's steps report back through [`App::advance`] (`03` accepted with its
//! arrival number, `02` refused with the reason, `04` assigned, `05` processing, `06`
//! completed). Recall: the sender asks (`13`, [`App::recall`]); the recipient's clerk
//! agrees (`15`: its copy is marked recalled — kept, never deleted, out of the active
//! registers and the search index) or refuses (`16`, with a reason) — [`App::recall_reply`].

use std::path::{Path, PathBuf};

use kyso_audit::Outcome;
use kyso_exchange::{
    Attachment, Code, ExchangeError, Header, Hop, Limits, Organization, Package, PromulgationInfo,
    ResponseFor, SignerInfo, StatusMessage, VnDateTime,
};
use kyso_model::{AgencyId, AgencyIdFormat, DocumentId, DocumentType, Notation, StatusCode};
use kyso_office::{
    Action, DocState, DocumentRecord, Event, IncomingRequest, IncomingState, OutgoingState, Step,
    Store,
};
use kyso_store::{AgencyRow, DeliveryRow, NewDelivery, NewStatus, OutboxRow};
use serde::Serialize;

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::documents::{DocFields, FileRequest, InMemory, Prepared, object};
use crate::error::{AppError, AppResult, Kind};
use crate::origin::{Origin, Subject};

/// The folder of the exchange under the data directory.
pub const EXCHANGE_DIR: &str = "exchange";

/// An agency of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyView {
    /// Mã định danh (`000.00.00.H13`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Hosted on this node.
    pub hosted: bool,
    /// The node hosting it, when elsewhere.
    pub node_url: Option<String>,
    /// The SHA-256 (hex) of that node's TLS client certificate.
    pub node_certificate: Option<String>,
    /// The SHA-256 (hex) of the certificates the agency signs with.
    pub signing_certificates: Vec<String>,
}

impl From<AgencyRow> for AgencyView {
    fn from(row: AgencyRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name,
            hosted: row.hosted,
            node_url: row.node_url,
            node_certificate: row.node_certificate,
            signing_certificates: row.signing_certificates,
        }
    }
}

/// An agency to add to the directory.
#[derive(Debug, Clone)]
pub struct NewAgency {
    /// Mã định danh.
    pub id: String,
    /// Name.
    pub name: String,
    /// The node hosting it (`https://…`); `None`: hosted on this node.
    pub node_url: Option<String>,
    /// The SHA-256 (hex, 64 digits) of that node's TLS client certificate: packages and
    /// statuses from the agency are accepted only from a node proving this certificate.
    pub node_certificate: Option<String>,
    /// The certificates the agency signs with (its seal, its leaders): each a SHA-256
    /// fingerprint (64 hex digits) or a PEM certificate. A document received from the
    /// agency is recognised as its own only when one of its signatures is made with one
    /// of them; empty: not checked.
    pub signing_certificates: Vec<String>,
}

/// What happened for one recipient of a sending.
#[derive(Debug, Clone, Serialize)]
pub struct SendOutcome {
    /// The recipient's identifier.
    pub recipient: String,
    /// Its name.
    pub name: String,
    /// `delivered` (hosted here, filed and verified), `queued` (another node: waiting
    /// for network delivery), `already_sent` (the same document sent before: nothing
    /// added), `not_delivered` (see `note`).
    pub outcome: &'static str,
    /// The delivery, whose timeline `GET /documents/{id}/deliveries` shows.
    pub delivery: Option<i64>,
    /// The verdict of the verification on receipt (delivered here).
    pub verdict: Option<String>,
    /// Why it was not delivered (Vietnamese).
    pub note: Option<String>,
    /// The same in English.
    pub note_en: Option<String>,
}

impl SendOutcome {
    /// `already_sent` to `target`, until the delivery says otherwise.
    fn to(target: &AgencyRow) -> Self {
        SendOutcome {
            recipient: target.id.to_string(),
            name: target.name.clone(),
            outcome: "already_sent",
            delivery: None,
            verdict: None,
            note: None,
            note_en: None,
        }
    }

    /// `not_delivered`, and why.
    fn not_delivered(mut self, why: &AppError) -> Self {
        self.outcome = "not_delivered";
        self.note = Some(why.vi.clone());
        self.note_en = Some(why.en.clone());
        self
    }
}

/// The result of [`App::send`].
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// The edXML `DocumentId`.
    pub document_id: String,
    /// The package digest (hex).
    pub package: String,
    /// Per recipient.
    pub recipients: Vec<SendOutcome>,
}

impl Sent {
    /// Whether anything new was delivered or queued.
    pub fn created(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| matches!(r.outcome, "delivered" | "queued"))
    }
}

/// One status of a delivery's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// Two digits (`01`…`16`).
    pub code: String,
    /// Vietnamese label.
    pub label_vi: String,
    /// English label.
    pub label_en: String,
    /// Reason or note.
    pub description: String,
    /// Who.
    pub actor: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// A delivery and its timeline.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// Id.
    pub id: i64,
    /// The edXML `DocumentId`.
    pub document_id: String,
    /// The package digest.
    pub package: String,
    /// Sending agency.
    pub sender: String,
    /// Receiving agency.
    pub recipient: String,
    /// Its name.
    pub recipient_name: String,
    /// `local` (both agencies here), `remote` (sent to another node) or `inbound`
    /// (received from another node).
    pub route: String,
    /// `delivered` or `queued`.
    pub state: String,
    /// `none`, `requested`, `agreed`, `refused`.
    pub recall: String,
    /// The latest status code.
    pub last_status: Option<String>,
    /// The recipient's incoming document (shown to the recipient only).
    pub received_document: Option<i64>,
    /// The timeline, oldest first.
    pub statuses: Vec<StatusView>,
}

pub(crate) fn exchange_error(e: &ExchangeError) -> AppError {
    let kind = if matches!(e, ExchangeError::SecretDocument { .. }) {
        Kind::Forbidden
    } else {
        Kind::Invalid
    };
    AppError::new(kind, e.code(), e.vietnamese(), e.to_string())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn parse_agency(text: &str) -> AppResult<AgencyId> {
    AgencyId::parse_with(text.trim(), AgencyIdFormat::Lenient).map_err(|e| {
        AppError::invalid(
            "bad_agency_id",
            format!("mã định danh cơ quan không hợp lệ {text:?}: {e}"),
            format!("invalid agency identifier {text:?}: {e}"),
        )
    })
}

/// A directory entry from what an administrator gave, checked.
pub(crate) fn agency_row(id: AgencyId, agency: NewAgency) -> AppResult<AgencyRow> {
    let name = agency.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid(
            "agency_name",
            "tên cơ quan bắt buộc, tối đa 200 ký tự",
            "the agency's name is required, at most 200 characters",
        ));
    }
    let node_url = agency
        .node_url
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty());
    if let Some(url) = &node_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(AppError::invalid(
            "node_url",
            format!("địa chỉ nút phải là http(s)://…: {url}"),
            format!("the node URL must be http(s)://…: {url}"),
        ));
    }
    let node_certificate = agency
        .node_certificate
        .map(|f| f.trim().replace(':', "").to_ascii_lowercase())
        .filter(|f| !f.is_empty());
    if let Some(fingerprint) = &node_certificate
        && (fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AppError::invalid(
            "node_certificate",
            "dấu vân tay chứng thư của nút phải là SHA-256 (64 chữ số hex)",
            "the node certificate fingerprint must be a SHA-256 (64 hex digits)",
        ));
    }
    let mut signing_certificates = Vec::new();
    for given in &agency.signing_certificates {
        for fingerprint in signing_fingerprints(given)? {
            if !signing_certificates.contains(&fingerprint) {
                signing_certificates.push(fingerprint);
            }
        }
    }
    let row = AgencyRow {
        id: id.clone(),
        name,
        hosted: node_url.is_none(),
        node_url,
        node_certificate,
        signing_certificates,
    };
    Ok(row)
}

/// The SHA-256 fingerprints of a signing certificate as given: a fingerprint (64 hex
/// digits, colons allowed) or PEM certificates.
fn signing_fingerprints(given: &str) -> AppResult<Vec<String>> {
    let given = given.trim();
    if given.contains("-----BEGIN CERTIFICATE-----") {
        let blocks = crate::trust::pem_blocks(given, "CERTIFICATE");
        if blocks.is_empty() {
            return Err(AppError::invalid(
                "signing_certificate",
                "không đọc được chứng thư PEM của cơ quan",
                "cannot read the agency's PEM certificate",
            ));
        }
        return Ok(blocks
            .iter()
            .map(|der| hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(der)))
            .collect());
    }
    let fingerprint = given.replace(':', "").to_ascii_lowercase();
    if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::invalid(
            "signing_certificate",
            "chứng thư ký của cơ quan: cần dấu vân tay SHA-256 (64 chữ số hex) hoặc chứng thư PEM",
            "an agency's signing certificate: a SHA-256 fingerprint (64 hex digits) or a PEM certificate",
        ));
    }
    Ok(vec![fingerprint])
}

fn delivery_missing(id: i64) -> AppError {
    AppError::not_found(
        format!("không có lượt gửi {id}"),
        format!("no delivery {id}"),
    )
}

fn status_json(message: &StatusMessage) -> AppResult<String> {
    let bytes = message.to_json().map_err(|e| exchange_error(&e))?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// The `ResponseFor` of the document a delivery carries (from the package's header).
fn response_for(header: &Header) -> ResponseFor {
    let mut r = ResponseFor::new(header.from.organ_id.clone(), header.document_id.clone());
    r.code = format!("{}/{}", header.code.code_number, header.code.code_notation);
    r.promulgation_date = Some(header.promulgation.promulgation_date);
    r
}

impl App {
    fn exchange_dir(&self) -> PathBuf {
        self.data().join(EXCHANGE_DIR)
    }

    // ------------------------------------------------------------------------------
    // The directory
    // ------------------------------------------------------------------------------

    /// The directory of agencies (every signed-in user reads it).
    pub async fn agencies(&self, actor: &Actor) -> AppResult<Vec<AgencyView>> {
        self.allow(actor, Action::ViewDocuments, "agencies").await?;
        Ok(self
            .archive()
            .agencies()
            .await?
            .into_iter()
            .map(AgencyView::from)
            .collect())
    }

    /// Adds an agency to the directory (administrator): hosted here when `node_url` is
    /// `None`, else reached through that node.
    pub async fn add_agency(&self, actor: &Actor, agency: NewAgency) -> AppResult<AgencyView> {
        let id = parse_agency(&agency.id)?;
        self.allow(actor, Action::ManageAgencies, &format!("agency:{id}"))
            .await?;
        let row = agency_row(id.clone(), agency)?;
        self.archive()
            .add_agency(&row, self.now())
            .await
            .map_err(|e| match e {
                kyso_office::StoreError::Conflict(_) => AppError::new(
                    Kind::Conflict,
                    "agency_exists",
                    format!("cơ quan {id} đã có trong danh bạ"),
                    format!("agency {id} is in the directory already"),
                ),
                other => other.into(),
            })?;
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::AgencyDirectory,
                format!("agency:{id}"),
                Outcome::Succeeded,
            )
            .with("hosted", row.hosted.to_string())
            .with("node_url", row.node_url.clone().unwrap_or_default()),
        )
        .await?;
        Ok(row.into())
    }

    /// Changes a directory entry (administrator): the agency's name and signing
    /// certificates and, for an agency on another node, the node that speaks for it and
    /// that node's certificate — a node moved, its certificate was renewed, or it was
    /// revoked and replaced (what arrives with the old certificate is refused from then
    /// on). An agency hosted here stays hosted (no node URL), one elsewhere stays
    /// elsewhere.
    pub async fn update_agency(&self, actor: &Actor, agency: NewAgency) -> AppResult<AgencyView> {
        let id = parse_agency(&agency.id)?;
        let target = format!("agency:{id}");
        self.allow(actor, Action::ManageAgencies, &target).await?;
        let row = agency_row(id.clone(), agency)?;
        if !self.archive().update_agency(&row).await? {
            return Err(AppError::not_found(
                format!(
                    "không có cơ quan {id} {} trong danh bạ",
                    if row.hosted {
                        "đặt trên nút này"
                    } else {
                        "ở nút khác"
                    }
                ),
                format!(
                    "no agency {id} {} in the directory",
                    if row.hosted {
                        "hosted here"
                    } else {
                        "on another node"
                    }
                ),
            ));
        }
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::AgencyDirectory,
                target,
                Outcome::Succeeded,
            )
            .with("change", "update")
            .with("node_url", row.node_url.clone().unwrap_or_default())
            .with(
                "node_certificate",
                row.node_certificate.clone().unwrap_or_default(),
            )
            .with("signing_certificates", row.signing_certificates.join(",")),
        )
        .await?;
        Ok(row.into())
    }

    async fn directory_entry(&self, id: &AgencyId) -> AppResult<AgencyRow> {
        self.archive().agency(id).await?.ok_or_else(|| {
            AppError::invalid(
                "unknown_agency",
                format!("cơ quan {id} không có trong danh bạ; quản trị viên thêm vào trước"),
                format!("agency {id} is not in the directory; an administrator adds it first"),
            )
        })
    }

    // ------------------------------------------------------------------------------
    // Sending
    // ------------------------------------------------------------------------------

    /// Sends the issued document `id` of the actor's agency to `recipients` (agency
    /// identifiers of the directory). See the module documentation.
    pub async fn send(&self, actor: &Actor, id: i64, recipients: &[String]) -> AppResult<Sent> {
        let target = format!("document:{id}");
        self.allow(actor, Action::SendDocument, &target).await?;
        let record = self.archive().document(id).await?.ok_or_else(|| {
            AppError::not_found(
                format!("không có văn bản {id}"),
                format!("no document {id}"),
            )
        })?;
        if &record.agency != actor.agency() {
            let refusal = AppError::new(
                Kind::Forbidden,
                "other_agency",
                format!(
                    "văn bản {id} không phải của cơ quan {}: chỉ văn thư cơ quan ban hành mới được gửi",
                    actor.agency()
                ),
                format!(
                    "document {id} is not of agency {}: only the issuing agency's clerk sends it",
                    actor.agency()
                ),
            );
            self.refused(actor, AuditAction::ExchangeSend, &target, &refusal)
                .await?;
            return Err(refusal);
        }
        if let Err(refusal) = kyso_office::check_not_secret(record.secrecy) {
            // QĐ28 Art 1.2: secret documents never travel electronically.
            let refusal: AppError = refusal.into();
            self.refused(actor, AuditAction::ExchangeSend, &target, &refusal)
                .await?;
            return Err(refusal);
        }
        if record.state != DocState::Outgoing(OutgoingState::Issued)
            || !record.electronic
            || record.original.is_none()
        {
            return Err(AppError::new(
                Kind::Conflict,
                "not_issued",
                format!(
                    "văn bản {id} chưa được ban hành điện tử (ký, đóng dấu số, ban hành): trạng thái {}",
                    record.state
                ),
                format!(
                    "document {id} is not issued electronically (signed, sealed, issued): state {}",
                    record.state
                ),
            ));
        }
        // Recipients: known to the directory, not the sender, each once.
        let mut targets: Vec<AgencyRow> = Vec::new();
        for text in recipients {
            let agency = parse_agency(text)?;
            if &agency == actor.agency() {
                return Err(AppError::invalid(
                    "self_recipient",
                    "không gửi văn bản cho chính cơ quan mình",
                    "an agency does not send a document to itself",
                ));
            }
            if !targets.iter().any(|t| t.id == agency) {
                targets.push(self.directory_entry(&agency).await?);
            }
        }
        if targets.is_empty() {
            return Err(AppError::invalid(
                "no_recipients",
                "cần ít nhất một cơ quan nhận",
                "at least one recipient agency is required",
            ));
        }
        let (package, bytes) = self.build_package(&record, &targets).await?;
        let header = package.header().clone();
        let digest = package.digest().to_hex();
        let document_id = header.document_id.to_string();
        self.store_package(&package, &bytes).await?;
        let now = self.now();
        let mut outcomes = Vec::new();
        for target in &targets {
            let delivery = NewDelivery {
                document_id: document_id.clone(),
                package_digest: digest.clone(),
                sender: record.agency.clone(),
                sender_document: Some(id),
                recipient: target.id.clone(),
                at: now,
            };
            let outcome = if target.hosted {
                // One recipient's failure does not stop the others.
                match self
                    .deliver_here(&actor.audit_name(), &package, target, delivery, None)
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(e) => SendOutcome::to(target).not_delivered(&e),
                }
            } else {
                let mut outcome = SendOutcome::to(target);
                if let Some(existing) = self.earlier_delivery(&delivery).await? {
                    outcome.delivery = Some(existing);
                } else if let Some(queued) = self
                    .archive()
                    .queue_remote(
                        &delivery,
                        target.node_url.as_deref(),
                        i64::from(header.priority.priority()),
                    )
                    .await?
                {
                    outcome.outcome = "queued";
                    outcome.delivery = Some(queued);
                }
                outcome
            };
            outcomes.push(outcome);
        }
        let summary = outcomes
            .iter()
            .map(|o| format!("{}={}", o.recipient, o.outcome))
            .collect::<Vec<_>>()
            .join(",");
        self.record_on(
            actor,
            AuditAction::ExchangeSend,
            &record,
            Outcome::Succeeded,
            vec![
                ("document_id", document_id.clone()),
                ("package", digest.clone()),
                ("recipients", summary),
            ],
        )
        .await?;
        Ok(Sent {
            document_id,
            package: digest,
            recipients: outcomes,
        })
    }

    /// The delivery of the same document to the same recipient made earlier, if any
    /// (sending is idempotent by DocumentId × recipient).
    async fn earlier_delivery(&self, delivery: &NewDelivery) -> AppResult<Option<i64>> {
        Ok(self
            .archive()
            .delivery_to(&delivery.document_id, &delivery.recipient)
            .await?
            .map(|d| d.id))
    }

    /// Delivers a package to an agency hosted on this node — sent from here or received
    /// from another node — unless it already was: verified on receipt and filed
    /// ([`Self::receive_local`]).
    pub(crate) async fn deliver_here(
        &self,
        who: &str,
        package: &Package,
        target: &AgencyRow,
        delivery: NewDelivery,
        inbound: Option<i64>,
    ) -> AppResult<SendOutcome> {
        let mut outcome = SendOutcome::to(target);
        if let Some(existing) = self.earlier_delivery(&delivery).await? {
            outcome.delivery = Some(existing);
            return Ok(outcome);
        }
        match self
            .receive_local(who, package, target, &delivery, inbound)
            .await?
        {
            Received::Delivered { delivery, verdict } => {
                outcome.outcome = "delivered";
                outcome.delivery = Some(delivery);
                outcome.verdict = Some(verdict);
            }
            Received::Again => {}
            Received::Skipped(reason) => {
                // Answered all the same (QĐ28: the receiver always answers): refused on
                // receipt, 02 with the reason in the sender's timeline.
                outcome = outcome.not_delivered(&reason);
                outcome.delivery = self
                    .refuse_on_receipt(who, package, target, &delivery, inbound, &reason)
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// Records `delivery` as refused on receipt (`02`, `reason`), its status going back
    /// to the sender's node when it came from one; the delivery, unless it existed.
    async fn refuse_on_receipt(
        &self,
        who: &str,
        package: &Package,
        target: &AgencyRow,
        delivery: &NewDelivery,
        inbound: Option<i64>,
        reason: &AppError,
    ) -> AppResult<Option<i64>> {
        let now = self.now();
        let mut message = StatusMessage::new(
            response_for(package.header()),
            Organization::new(target.id.clone(), target.name.clone()),
            StatusCode::Refused,
            VnDateTime::from_offset(now),
        );
        // The status goes to another agency: in Vietnamese, its language of record.
        message.description = reason.vi.chars().take(500).collect();
        message.normalize().map_err(|e| exchange_error(&e))?;
        let status = NewStatus {
            code: StatusCode::Refused.code().to_string(),
            description: message.description.clone(),
            actor: "system".into(),
            message_json: status_json(&message)?,
            at: now,
        };
        let id = self
            .archive()
            .refuse_on_receipt(delivery, &status, inbound)
            .await?;
        if let Some(id) = id {
            self.record(
                AuditEvent::new(
                    who,
                    AuditAction::ExchangeReceive,
                    format!("delivery:{id}"),
                    Outcome::Refused,
                )
                .with("document_id", delivery.document_id.clone())
                .with("recipient", target.id.to_string())
                .with("status", "02")
                .with("reason", reason.code.clone())
                .with("detail", reason.en.clone()),
            )
            .await?;
        }
        Ok(id)
    }

    async fn refused(
        &self,
        actor: &Actor,
        action: AuditAction,
        object: &str,
        error: &AppError,
    ) -> AppResult<()> {
        self.record(
            AuditEvent::new(actor.audit_name(), action, object, Outcome::Refused)
                .with("reason", error.code.clone()),
        )
        .await?;
        Ok(())
    }

    /// The package of an issued document for `recipients`, and its bytes (with this
    /// node's hop).
    async fn build_package(
        &self,
        record: &DocumentRecord,
        recipients: &[AgencyRow],
    ) -> AppResult<(Package, Vec<u8>)> {
        let id = record.id.unwrap_or_default();
        let m = &record.metadata;
        let (Some(number), Some(notation)) = (m.code_number.clone(), m.code_notation.clone())
        else {
            return Err(AppError::new(
                Kind::Conflict,
                "not_numbered",
                format!("văn bản {id} chưa có số, ký hiệu"),
                format!("document {id} has no number and notation"),
            ));
        };
        let issued = m
            .issued_date
            .unwrap_or_else(|| record.created_at.to_offset(crate::VIETNAM).date());
        let document_id = Notation::parse(&format!("{number}/{notation}"))
            .ok()
            .and_then(|n| DocumentId::from_notation(record.agency.clone(), issued, &n).ok())
            .map_or_else(
                || {
                    DocumentId::new(
                        record.agency.clone(),
                        record.year,
                        u32::try_from(id).unwrap_or(u32::MAX),
                    )
                },
                Ok,
            )
            .map_err(|e| AppError::internal(format!("document identifier: {e}")))?;
        let sender_name = self.agency_name(&record.agency).await?;
        let to = recipients
            .iter()
            .map(|r| Organization::new(r.id.clone(), r.name.clone()))
            .collect();
        let subject = if m.subject.trim().is_empty() {
            record.document_type.vietnamese_name().to_string()
        } else {
            m.subject.clone()
        };
        let mut header = Header::new(
            Organization::new(record.agency.clone(), sender_name),
            to,
            Code {
                code_number: number,
                code_notation: notation,
            },
            PromulgationInfo {
                place: String::new(),
                promulgation_date: issued,
            },
            record.document_type.vietnamese_name(),
            subject,
            document_id,
        );
        if let Some(signer) = m.signer_info.first() {
            header.signer = SignerInfo {
                competence: String::new(),
                position: signer.position.clone(),
                full_name: signer.full_name.clone(),
            };
        }
        header.priority = record.urgency;
        header.due_date = m.due_date;
        header.other.page_amount = m.page_amount;
        header.other.promulgation_amount = m.issued_amount;
        header.secrecy = record.secrecy;
        // The attachments: the archived original and its detached signature.
        let original = record
            .original
            .as_ref()
            .ok_or_else(|| AppError::internal("issued document without original"))?;
        let path = self.archive().original_path(record).ok_or_else(|| {
            AppError::internal(format!("document {id}: the original is not in place"))
        })?;
        let read = |p: &Path| {
            std::fs::read(p)
                .map_err(|e| AppError::internal(format!("cannot read {}: {e}", p.display())))
        };
        let is_pdf = original
            .document
            .name
            .to_ascii_lowercase()
            .ends_with(".pdf");
        let mut attachments = vec![Attachment::new(
            original.document.name.clone(),
            if is_pdf {
                "application/pdf"
            } else {
                "application/octet-stream"
            },
            read(&path)?,
        )];
        if let Some(sig) = &original.signature
            && let Some(dir) = path.parent()
        {
            attachments.push(Attachment::new(
                sig.name.clone(),
                "application/pkcs7-signature",
                read(&dir.join(&sig.name))?,
            ));
        }
        let package = Package::new(header, attachments).map_err(|e| exchange_error(&e))?;
        let package = package.with_hop(Hop {
            organ_id: record.agency.clone(),
            timestamp: VnDateTime::from_offset(self.now()),
        });
        let bytes = package.to_bytes();
        Ok((package, bytes))
    }

    /// The package `digest` (hex) as stored here.
    pub(crate) async fn stored_package(&self, digest: &str) -> AppResult<Package> {
        let file = self
            .archive()
            .package_file(digest)
            .await?
            .ok_or_else(|| AppError::internal(format!("package {digest} missing")))?;
        let path = self.exchange_dir().join(&file);
        let bytes = std::fs::read(&path)
            .map_err(|e| AppError::internal(format!("cannot read {}: {e}", path.display())))?;
        Package::parse(&bytes, &Limits::default()).map_err(|e| exchange_error(&e))
    }

    /// Writes the package under `<data>/exchange/packages/` (synced) and records it,
    /// before any recipient is told.
    pub(crate) async fn store_package(&self, package: &Package, bytes: &[u8]) -> AppResult<()> {
        let digest = package.digest().to_hex();
        let relative = format!("packages/{digest}.kyso");
        let path = self.exchange_dir().join(&relative);
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    AppError::internal(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            kyso_store::write_atomic(&path, bytes, false)?;
        }
        let header_json = serde_json::to_string(package.header()).map_err(AppError::internal)?;
        self.archive()
            .put_package(&kyso_store::PackageRow {
                digest,
                document_id: package.header().document_id.to_string(),
                sender: package.header().from.organ_id.clone(),
                file: relative,
                size: bytes.len() as u64,
                header_json,
                created_at: self.now(),
            })
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // Receiving (an agency hosted here)
    // ------------------------------------------------------------------------------

    /// Receives `bytes` (a package in kyso's format) for the hosted agency `recipient`:
    /// read and checked as any receiver does, the attachments unpacked, the original
    /// verified and filed as an incoming document (state `verified`, or `received`
    /// when a signature is not valid: the clerk can then only refuse it), the delivery
    /// and status `01` stored with it in one transaction. The one receiving path, for a
    /// sending on this node ([`App::send`]) and one from another node
    /// ([`App::receive_package`]: `inbound` = the priority its status `01` travels back
    /// with). `who`: the audit name of whoever delivers.
    async fn receive_local(
        &self,
        who: &str,
        package: &Package,
        recipient: &AgencyRow,
        delivery: &NewDelivery,
        inbound: Option<i64>,
    ) -> AppResult<Received> {
        let header = package.header().clone();
        if !header.to.iter().any(|o| o.organ_id == recipient.id) {
            return Ok(Received::Skipped(AppError::invalid(
                "not_addressed_here",
                format!("gói tin không gửi cho {}", recipient.id),
                format!("the package is not addressed to {}", recipient.id),
            )));
        }
        let Some(first) = package.attachments().first() else {
            return Ok(Received::Skipped(AppError::invalid(
                "no_attachment",
                "gói tin không có tệp đính kèm",
                "the package has no attachment",
            )));
        };
        // Filed from memory: the attachments' bytes go straight into the archive's
        // staging area (the package itself is already stored).
        let signature_name = format!("{}.p7s", first.name).to_lowercase();
        let signature = package
            .attachments()
            .iter()
            .skip(1)
            .find(|a| a.name.to_lowercase() == signature_name);
        let memory = InMemory {
            document: std::sync::Arc::from(first.content.as_slice()),
            sha256: package
                .attachment_digest(0)
                .unwrap_or_else(|| first.sha256())
                .to_hex(),
            signature: signature.map(|a| std::sync::Arc::from(a.content.as_slice())),
        };
        self.receive_unpacked(
            who, package, &header, first, &memory, recipient, delivery, inbound,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn receive_unpacked(
        &self,
        who: &str,
        package: &Package,
        header: &Header,
        first: &Attachment,
        memory: &InMemory,
        recipient: &AgencyRow,
        delivery: &NewDelivery,
        inbound: Option<i64>,
    ) -> AppResult<Received> {
        // Names were checked by the package reader: plain file names, unique. The paths
        // only name the files in messages and reports.
        let file = PathBuf::from(&first.name);
        let signature = memory
            .signature
            .as_ref()
            .map(|_| PathBuf::from(format!("{}.p7s", first.name)));
        let (now, today) = self.now_and_today();
        let job = FileRequest {
            file,
            shown_name: Some(first.name.clone()),
            is_pdf: Some(
                first.content_type == "application/pdf"
                    || first.name.to_ascii_lowercase().ends_with(".pdf"),
            ),
            signature,
            doc_type: DocumentType::from_vietnamese_name(&header.document_type.type_name),
            number: Some(format!(
                "{}/{}",
                header.code.code_number, header.code.code_notation
            )),
            date: Some(today),
            incoming: true,
            accept: false,
            offline: false,
            // Kept whatever the verdict: the report goes with it and the clerk refuses it
            // (a document whose signature does not verify is never accepted).
            accept_invalid: true,
            fields: DocFields {
                subject: Some(header.subject.clone()),
                secrecy: header.secrecy,
                urgency: header.priority,
                signer: Some(header.signer.full_name.clone()).filter(|s| !s.is_empty()),
                signer_position: Some(header.signer.position.clone()).filter(|s| !s.is_empty()),
                ..DocFields::default()
            },
            from: Some(header.from.organ_name.clone()),
            agency_name: recipient.name.clone(),
            allocate: None,
        };
        let Prepared {
            mut staged,
            verdict,
            sha,
            doc_type,
            number,
            date,
            mut metadata,
            ..
        } = match self
            .prepare_filing(who, &recipient.id, &job, Some(memory))
            .await?
        {
            Ok(prepared) => prepared,
            Err(reason) => return Ok(Received::Skipped(reason)),
        };
        let own = self.sender_signed(&delivery.sender, &mut staged).await?;
        metadata.issued_date = date.or(Some(header.promulgation.promulgation_date));
        metadata.due_date = header.due_date;
        metadata.trace_header_list = serde_json::to_string(package.trace()).ok();
        let valid = (verdict == "valid" || verdict == "valid_with_changes") && own;
        let original = Some(staged.original());
        let document = kyso_office::incoming_document(
            IncomingRequest {
                agency: recipient.id.clone(),
                arrival_date: today,
                document_type: doc_type,
                secrecy: header.secrecy,
                urgency: header.priority,
                sender_number: number,
                state: if valid {
                    IncomingState::Verified
                } else {
                    IncomingState::Received
                },
                metadata,
                original,
            },
            true,
            now,
        )?;
        let message = StatusMessage::new(
            response_for(header),
            Organization::new(recipient.id.clone(), recipient.name.clone()),
            StatusCode::Arrived,
            VnDateTime::from_offset(now),
        );
        let status = NewStatus {
            code: StatusCode::Arrived.code().to_string(),
            description: String::new(),
            actor: "system".into(),
            message_json: status_json(&message)?,
            at: now,
        };
        let Some((record, delivery_id)) = self
            .archive()
            .deliver_local(document, staged, delivery, &status, inbound)
            .await?
        else {
            return Ok(Received::Again);
        };
        let mut details = crate::documents::document_details(&record);
        details.push(("verdict".into(), verdict.clone()));
        details.push(("sha256".into(), sha));
        self.record(AuditEvent {
            actor: who.to_string(),
            action: AuditAction::VerifyReceipt,
            object: object(&record),
            outcome: if valid {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            },
            details,
        })
        .await?;
        let mut details = crate::documents::document_details(&record);
        details.extend([
            ("document_id".to_string(), delivery.document_id.clone()),
            ("sender".to_string(), delivery.sender.to_string()),
            ("delivery".to_string(), delivery_id.to_string()),
            ("status".to_string(), "01".to_string()),
        ]);
        self.record(AuditEvent {
            actor: who.to_string(),
            action: AuditAction::ExchangeReceive,
            object: object(&record),
            outcome: Outcome::Succeeded,
            details,
        })
        .await?;
        self.index_documents(std::slice::from_ref(&record));
        Ok(Received::Delivered {
            delivery: delivery_id,
            verdict,
        })
    }

    /// Whether the document received from `sender` is signed with one of the signing
    /// certificates the directory records for it (`true` when it records none); the
    /// finding is kept in the verification report (`sender_certificate`), which the
    /// acceptance step reads.
    async fn sender_signed(
        &self,
        sender: &AgencyId,
        staged: &mut kyso_store::Staged,
    ) -> AppResult<bool> {
        let Some(row) = self.archive().agency(sender).await? else {
            return Ok(true);
        };
        if row.signing_certificates.is_empty() {
            return Ok(true);
        }
        let used: Vec<String> = staged
            .verification()
            .and_then(|v| v.get("signatures"))
            .and_then(serde_json::Value::as_array)
            .map(|signatures| {
                signatures
                    .iter()
                    .filter_map(|s| s.pointer("/signer/certificate_sha256"))
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let matched = used.iter().any(|f| row.signing_certificates.contains(f));
        let (vi, en) = if matched {
            (
                format!("có chữ ký bằng chứng thư số của cơ quan gửi {sender} (theo danh bạ)"),
                format!(
                    "signed with a certificate of the sending agency {sender} (as the directory records)"
                ),
            )
        } else {
            (
                format!(
                    "không chữ ký nào được ký bằng chứng thư số mà danh bạ ghi cho cơ quan gửi {sender}"
                ),
                format!(
                    "none of the signatures is made with a certificate the directory records for the sending agency {sender}"
                ),
            )
        };
        staged.annotate(
            "sender_certificate",
            serde_json::json!({"agency": sender.to_string(), "matched": matched, "vi": vi, "en": en}),
        );
        Ok(matched)
    }

    // ------------------------------------------------------------------------------
    // Statuses
    // ------------------------------------------------------------------------------

    /// After a step of an incoming document that arrived by a delivery: its status
    /// (`02`, `03`…`06`) goes into the sender's timeline.
    pub(crate) async fn report_step(
        &self,
        actor: &Actor,
        record: &DocumentRecord,
        event: Event,
        note: &str,
    ) -> AppResult<()> {
        let DocState::Incoming(state) = record.state else {
            return Ok(());
        };
        if !matches!(
            event,
            Event::Accept
                | Event::Refuse
                | Event::Assign
                | Event::StartProcessing
                | Event::Complete
        ) {
            return Ok(());
        }
        let Some(code) = state.status_code() else {
            return Ok(());
        };
        let Some(id) = record.id else { return Ok(()) };
        for delivery in self.archive().deliveries_of(id).await? {
            if delivery.received_document != Some(id) {
                continue;
            }
            let description = match (event, record.metadata.arrival_number) {
                (Event::Accept, Some(n)) if note.trim().is_empty() => format!("Số đến: {n}"),
                (Event::Accept, Some(n)) => format!("Số đến: {n}. {}", note.trim()),
                _ => note.trim().to_string(),
            };
            self.add_status(actor, &delivery, code, &description, None)
                .await?;
        }
        Ok(())
    }

    /// Recovers statuses lost between a step and its status. A step of a received
    /// document (accept, refuse, assign, processing, complete) and the status it sends
    /// back are two transactions: a crash between them leaves the step done and the
    /// sender without its status. This walks the deliveries received here that are still
    /// open, and adds — in the order of the document's history, described as
    /// [`App::report_step`] would have — every status whose step is in the history but
    /// not in the timeline. Run when `kyso serve` starts; how many statuses were added.
    pub async fn recover_statuses(&self) -> AppResult<usize> {
        let mut added = 0;
        for delivery in self.archive().open_received_deliveries().await? {
            let Some(id) = delivery.received_document else {
                continue;
            };
            let Some(record) = self.archive().document(id).await? else {
                continue;
            };
            let DocState::Incoming(state) = record.state else {
                continue;
            };
            if state.status_code().map(|c| c.code()) == delivery.last_status.as_deref() {
                continue;
            }
            let mut present: Vec<String> = self
                .archive()
                .statuses(delivery.id)
                .await?
                .into_iter()
                .map(|s| s.code)
                .collect();
            let actor = Actor::operator(delivery.recipient.clone());
            for entry in &self.archive().history(id).await? {
                let code = match entry.event.as_str() {
                    "accept" => StatusCode::Accepted,
                    "refuse" => StatusCode::Refused,
                    "assign" => StatusCode::Assigned,
                    "start_processing" => StatusCode::Processing,
                    "complete" => StatusCode::Completed,
                    _ => continue,
                };
                if present.iter().any(|c| c == code.code()) {
                    continue;
                }
                let note = entry.note.trim();
                let description = match (code, record.metadata.arrival_number) {
                    (StatusCode::Accepted, Some(n)) if note.is_empty() => format!("Số đến: {n}"),
                    (StatusCode::Accepted, Some(n)) => format!("Số đến: {n}. {note}"),
                    _ => note.to_string(),
                };
                let current = self
                    .archive()
                    .delivery(delivery.id)
                    .await?
                    .ok_or_else(|| delivery_missing(delivery.id))?;
                self.add_status(&actor, &current, code, &description, None)
                    .await?;
                present.push(code.code().to_string());
                added += 1;
            }
        }
        Ok(added)
    }

    /// Adds a status to a delivery (with a recall compare-and-set) and logs it.
    async fn add_status(
        &self,
        actor: &Actor,
        delivery: &DeliveryRow,
        code: StatusCode,
        description: &str,
        recall: Option<(&[&str], &str)>,
    ) -> AppResult<()> {
        let header = self.delivery_header(delivery).await?;
        let now = self.now();
        // The sender speaks for 13; the recipient for every other code.
        let from = if code == StatusCode::RecallRequested {
            Organization::new(header.from.organ_id.clone(), header.from.organ_name.clone())
        } else {
            header
                .to
                .iter()
                .find(|o| o.organ_id == delivery.recipient)
                .cloned()
                .unwrap_or_else(|| {
                    Organization::new(delivery.recipient.clone(), delivery.recipient.to_string())
                })
        };
        let mut message = StatusMessage::new(
            response_for(&header),
            from,
            code,
            VnDateTime::from_offset(now),
        );
        message.description = description.to_string();
        message.normalize().map_err(|e| exchange_error(&e))?;
        let status = NewStatus {
            code: code.code().to_string(),
            description: message.description.clone(),
            actor: actor.audit_name(),
            message_json: status_json(&message)?,
            at: now,
        };
        self.archive()
            .add_status(delivery.id, &status, recall)
            .await
            .map_err(|e| match e {
                kyso_office::StoreError::Conflict(_) => AppError::new(
                    Kind::Conflict,
                    "recall_state",
                    format!(
                        "lượt gửi {} không ở trạng thái cho phép việc này (thu hồi: {})",
                        delivery.id, delivery.recall
                    ),
                    format!(
                        "delivery {} is not in a state that allows this (recall: {})",
                        delivery.id, delivery.recall
                    ),
                ),
                other => other.into(),
            })?;
        let action = match code {
            StatusCode::RecallRequested => AuditAction::ExchangeRecall,
            StatusCode::RecallAgreed | StatusCode::RecallRefused => {
                AuditAction::ExchangeRecallReply
            }
            _ => AuditAction::ExchangeStatus,
        };
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                action,
                format!("delivery:{}", delivery.id),
                Outcome::Succeeded,
            )
            .with("document_id", delivery.document_id.clone())
            .with("recipient", delivery.recipient.to_string())
            .with("status", code.code()),
        )
        .await?;
        Ok(())
    }

    /// The header of the package a delivery carries.
    async fn delivery_header(&self, delivery: &DeliveryRow) -> AppResult<Header> {
        let file = self
            .archive()
            .package_file(&delivery.package_digest)
            .await?
            .ok_or_else(|| {
                AppError::internal(format!("package {} missing", delivery.package_digest))
            })?;
        // Only the manifest is needed: magic, length, manifest, digest — never the bodies.
        let limits = Limits::default();
        let most = kyso_exchange::MAGIC.len() + 4 + limits.max_manifest_bytes as usize + 32;
        let mut prefix = Vec::new();
        let path = self.exchange_dir().join(&file);
        std::fs::File::open(&path)
            .and_then(|f| {
                std::io::Read::read_to_end(&mut std::io::Read::take(f, most as u64), &mut prefix)
            })
            .map_err(|e| AppError::internal(format!("cannot read package {file}: {e}")))?;
        let manifest =
            kyso_exchange::Manifest::read(&prefix, &limits).map_err(|e| exchange_error(&e))?;
        Ok(manifest.header)
    }

    // ------------------------------------------------------------------------------
    // Timelines
    // ------------------------------------------------------------------------------

    /// The deliveries of a document of the actor's agency with their timelines: for a
    /// sent document, one per recipient; for a received one, the delivery it came by.
    pub async fn deliveries(&self, actor: &Actor, id: i64) -> AppResult<Vec<DeliveryView>> {
        self.allow(actor, Action::ViewDocuments, "deliveries")
            .await?;
        self.document_record(actor, id).await?;
        let mut out = Vec::new();
        for d in self.archive().deliveries_of(id).await? {
            if &d.sender == actor.agency() || &d.recipient == actor.agency() {
                out.push(self.delivery_view(actor, d).await?);
            }
        }
        Ok(out)
    }

    async fn delivery_view(&self, actor: &Actor, d: DeliveryRow) -> AppResult<DeliveryView> {
        let statuses = self
            .archive()
            .statuses(d.id)
            .await?
            .into_iter()
            .map(|s| {
                let code = StatusCode::parse(&s.code).ok();
                StatusView {
                    label_vi: code
                        .map(|c| c.vietnamese_label().to_string())
                        .unwrap_or_default(),
                    label_en: code
                        .map(|c| c.english_label().to_string())
                        .unwrap_or_default(),
                    code: s.code,
                    description: s.description,
                    actor: s.actor,
                    at: rfc3339(s.at),
                }
            })
            .collect();
        let recipient_name = self
            .archive()
            .agency_name(&d.recipient)
            .await?
            .unwrap_or_else(|| d.recipient.to_string());
        Ok(DeliveryView {
            id: d.id,
            document_id: d.document_id,
            package: d.package_digest,
            sender: d.sender.to_string(),
            received_document: if &d.recipient == actor.agency() {
                d.received_document
            } else {
                None
            },
            recipient: d.recipient.to_string(),
            recipient_name,
            route: d.route,
            state: d.state,
            recall: d.recall,
            last_status: d.last_status,
            statuses,
        })
    }

    // ------------------------------------------------------------------------------
    // Recall
    // ------------------------------------------------------------------------------

    /// The sender asks a recipient to give a document back (`13`, with a reason).
    pub async fn recall(
        &self,
        actor: &Actor,
        delivery_id: i64,
        reason: &str,
    ) -> AppResult<DeliveryView> {
        let target = format!("delivery:{delivery_id}");
        self.allow(actor, Action::SendDocument, &target).await?;
        let delivery = self
            .archive()
            .delivery(delivery_id)
            .await?
            .filter(|d| &d.sender == actor.agency())
            .ok_or_else(|| delivery_missing(delivery_id))?;
        if reason.trim().is_empty() {
            return Err(AppError::invalid(
                "reason_required",
                "yêu cầu thu hồi cần nêu lý do",
                "a recall needs a reason",
            ));
        }
        if delivery.last_status.as_deref() == Some(StatusCode::Refused.code()) {
            return Err(AppError::new(
                Kind::Conflict,
                "refused_delivery",
                "cơ quan nhận đã từ chối văn bản này, không cần thu hồi",
                "the recipient refused this document; there is nothing to recall",
            ));
        }
        self.add_status(
            actor,
            &delivery,
            StatusCode::RecallRequested,
            reason,
            Some((&["none", "refused"], "requested")),
        )
        .await?;
        let updated = self
            .archive()
            .delivery(delivery_id)
            .await?
            .ok_or_else(|| delivery_missing(delivery_id))?;
        self.delivery_view(actor, updated).await
    }

    /// The recipient's clerk answers a recall: agreed (`15`: the received copy is marked
    /// recalled — kept for audit, no longer active in the registers nor searchable) or
    /// refused (`16`, with a reason).
    pub async fn recall_reply(
        &self,
        actor: &Actor,
        delivery_id: i64,
        agree: bool,
        reason: &str,
    ) -> AppResult<DeliveryView> {
        let target = format!("delivery:{delivery_id}");
        self.allow(actor, Action::AnswerRecall, &target).await?;
        let delivery = self
            .archive()
            .delivery(delivery_id)
            .await?
            .filter(|d| &d.recipient == actor.agency())
            .ok_or_else(|| delivery_missing(delivery_id))?;
        if delivery.recall != "requested" {
            return Err(AppError::new(
                Kind::Conflict,
                "no_recall_requested",
                format!("cơ quan gửi chưa yêu cầu thu hồi lượt gửi {delivery_id}"),
                format!("the sender has not asked to recall delivery {delivery_id}"),
            ));
        }
        if !agree && reason.trim().is_empty() {
            return Err(AppError::invalid(
                "reason_required",
                "từ chối thu hồi cần nêu lý do",
                "refusing a recall needs a reason",
            ));
        }
        if agree && let Some(received) = delivery.received_document {
            let record = self.archive().document(received).await?.ok_or_else(|| {
                AppError::internal(format!("received document {received} missing"))
            })?;
            if record.state != DocState::Incoming(IncomingState::Recalled) {
                let (now, today) = self.now_and_today();
                let note = if reason.trim().is_empty() {
                    format!("Thu hồi theo yêu cầu của {}", delivery.sender)
                } else {
                    reason.trim().to_string()
                };
                let updated = self
                    .office()
                    .advance(
                        received,
                        Step {
                            event: Event::Recall,
                            note: note.clone(),
                            template: None,
                            advisory_body: None,
                            at: now,
                            date: today,
                        },
                    )
                    .await?;
                self.record_on(
                    actor,
                    AuditAction::Document(Event::Recall),
                    &updated,
                    Outcome::Succeeded,
                    vec![("note", note), ("delivery", delivery_id.to_string())],
                )
                .await?;
                // Out of the search index (derived data); the record and its original stay.
                self.index_documents(std::slice::from_ref(&updated));
            }
        }
        let (code, next) = if agree {
            (StatusCode::RecallAgreed, "agreed")
        } else {
            (StatusCode::RecallRefused, "refused")
        };
        self.add_status(actor, &delivery, code, reason, Some((&["requested"], next)))
            .await?;
        let updated = self
            .archive()
            .delivery(delivery_id)
            .await?
            .ok_or_else(|| delivery_missing(delivery_id))?;
        self.delivery_view(actor, updated).await
    }
}

/// A row of the outbox made ready to travel: where, and what (see
/// [`App::claim_outbox`]).
#[derive(Debug, Clone)]
pub struct OutboxJob {
    /// The outbox row.
    pub row: OutboxRow,
    /// `https://node/exchange/v1/packages` or `…/statuses`.
    pub url: String,
    /// `application/vnd.kyso.exchange` or `application/json`.
    pub content_type: &'static str,
    /// The package bytes or the status message.
    pub body: Vec<u8>,
    /// Its origin (sent as [`crate::origin::CERTIFICATE_HEADER`] and
    /// [`crate::origin::SIGNATURE_HEADER`]): the origin received with it when this node
    /// relays it, else this node's own (none when no node identity is configured).
    pub origin: Option<Origin>,
}

/// What the receiving node answered to one attempt.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// 2xx: done.
    Delivered,
    /// Refused for good (400, 404, 413: a corrupt or oversized package, a status
    /// concerning no delivery there): not retried.
    Refused(String),
    /// Not reachable, 5xx, a timeout: retried after the backoff.
    Failed(String),
}

/// How long a claimed row is left to its worker before another may take it.
const OUTBOX_LEASE_MS: i64 = 5 * 60 * 1000;
/// The first retry delay; it doubles with every failed attempt, up to the maximum.
const RETRY_FIRST_MS: i64 = 1000;
/// The longest wait between two attempts.
const RETRY_MAX_MS: i64 = 10 * 60 * 1000;

/// The delay before attempt `attempts + 1` (after `attempts` failures): 1 s, 2 s, 4 s…
/// at most 10 minutes.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    RETRY_FIRST_MS
        .saturating_mul(1_i64 << doublings)
        .min(RETRY_MAX_MS)
}

/// Unix milliseconds of `t`.
fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The content type of kyso's package format on the wire.
pub const PACKAGE_CONTENT_TYPE: &str = "application/vnd.kyso.exchange";

impl App {
    // ------------------------------------------------------------------------------
    // Between nodes
    // ------------------------------------------------------------------------------

    /// The directory entry of `agency` as the sender of something that arrived over a
    /// connection authenticated with the client certificate `peer` (DER): an agency of
    /// another node whose recorded certificate fingerprint is `peer`'s.
    ///
    /// With an `origin` (the node that created the message signed `subject`, see
    /// [`crate::origin`]): the origin's certificate must be the one the directory records
    /// for the agency and its signature must verify — whichever node (a hub) delivered it
    /// over TLS. Without one, the connection's certificate must be that one.
    async fn peer_agency(
        &self,
        agency: &AgencyId,
        peer: Option<&[u8]>,
        origin: Option<&Origin>,
        subject: Subject<'_>,
    ) -> AppResult<AgencyRow> {
        let refused = || {
            AppError::new(
                Kind::Forbidden,
                "unknown_node",
                format!(
                    "nút gửi không được danh bạ ghi nhận cho cơ quan {agency} (chứng thư TLS của nút khác với chứng thư đã đăng ký)"
                ),
                format!(
                    "the sending node is not the one the directory records for agency {agency} (its TLS certificate differs from the registered one)"
                ),
            )
        };
        let fingerprint = match (origin, peer) {
            (Some(origin), Some(_)) => origin.fingerprint(),
            (None, Some(der)) => hex::encode(kyso_signer::DigestAlgorithm::Sha256.digest(der)),
            (_, None) => String::new(),
        };
        let checked = match self.archive().agency(agency).await? {
            Some(row)
                if !row.hosted
                    && !fingerprint.is_empty()
                    && row.node_certificate.as_deref() == Some(fingerprint.as_str()) =>
            {
                origin.map_or(Ok(()), |o| o.verify(subject)).map(|()| row)
            }
            _ => Err(refused()),
        };
        if let Err(refusal) = &checked {
            // Logged: who tried to speak for the agency (the certificate's hash).
            self.record(
                AuditEvent::new(
                    format!("node-certificate:{fingerprint}"),
                    AuditAction::ExchangeReceive,
                    format!("agency:{agency}"),
                    Outcome::Refused,
                )
                .with("reason", refusal.code.clone()),
            )
            .await?;
        }
        checked
    }

    /// Receives a package sent by another node (`POST /exchange/v1/packages`): parsed
    /// and checked (digest, limits, normal form), the sender's node authenticated
    /// (`peer`: its TLS client certificate, matched against the directory entry of the
    /// package's `From`), the package stored durably (file synced, row), then filed for
    /// each addressee hosted here through the receiving path of [`App::send`] (verified on
    /// receipt, status `01` queued back to the sender's node). Idempotent by
    /// `DocumentId` and recipient: a package delivered again answers what exists.
    ///
    /// `origin`: the origin signature that came with it (see [`crate::origin`]). In hub
    /// mode ([`crate::origin::NodeIdentity::relays`]) the addressees this node does not
    /// host but whose node the directory knows are passed on: the package (with this
    /// node's hop in its trace — outside the digest) and its origin are kept, and a
    /// `relay` delivery is queued in the outbox; the statuses about it are passed back
    /// the same way ([`App::receive_status`]). A package without an origin signature is
    /// not relayed: the next node could not tell who made it.
    pub async fn receive_package(
        &self,
        peer: Option<&[u8]>,
        origin: Option<Origin>,
        bytes: &[u8],
    ) -> AppResult<Vec<SendOutcome>> {
        let package = Package::parse(bytes, &Limits::default()).map_err(|e| exchange_error(&e))?;
        let header = package.header().clone();
        let digest = package.digest().to_hex();
        let sender = self
            .peer_agency(
                &header.from.organ_id,
                peer,
                origin.as_ref(),
                Subject::Package(&digest),
            )
            .await?;
        let relays = self.node().is_some_and(|n| n.relays());
        let mut targets = Vec::new();
        let mut onward = Vec::new();
        for to in &header.to {
            match self.archive().agency(&to.organ_id).await? {
                Some(row) if row.hosted => targets.push(row),
                Some(row) if relays && row.node_url.is_some() && row.id != sender.id => {
                    onward.push(row);
                }
                _ => {}
            }
        }
        if targets.is_empty() && onward.is_empty() {
            return Err(AppError::invalid(
                "not_addressed_here",
                "gói tin không gửi cho cơ quan nào trên nút này",
                "the package is addressed to no agency hosted on this node",
            ));
        }
        let who = format!("node:{}", sender.id);
        let document_id = header.document_id.to_string();
        let mut outcomes = Vec::new();
        if onward.is_empty() {
            self.store_package(&package, bytes).await?;
        } else {
            let relayed = match self.hosted_agency().await? {
                Some(here) => package.clone().with_hop(Hop {
                    organ_id: here,
                    timestamp: VnDateTime::from_offset(self.now()),
                }),
                None => package.clone(),
            };
            self.store_package(&relayed, &relayed.to_bytes()).await?;
            let priority = i64::from(header.priority.priority());
            for target in &onward {
                let mut outcome = SendOutcome::to(target);
                let Some(origin) = &origin else {
                    outcomes.push(outcome.not_delivered(&crate::origin::Origin::missing()));
                    continue;
                };
                self.keep_origin(Subject::Package(&digest), origin)?;
                let delivery = NewDelivery {
                    document_id: document_id.clone(),
                    package_digest: digest.clone(),
                    sender: sender.id.clone(),
                    sender_document: None,
                    recipient: target.id.clone(),
                    at: self.now(),
                };
                if let Some(existing) = self.earlier_delivery(&delivery).await? {
                    outcome.delivery = Some(existing);
                } else if let Some(queued) = self
                    .archive()
                    .queue_relay(&delivery, target.node_url.as_deref(), priority)
                    .await?
                {
                    outcome.outcome = "queued";
                    outcome.delivery = Some(queued);
                    self.record(
                        AuditEvent::new(
                            who.clone(),
                            AuditAction::ExchangeReceive,
                            format!("delivery:{queued}"),
                            Outcome::Succeeded,
                        )
                        .with("document_id", document_id.clone())
                        .with("relay_to", target.id.to_string())
                        .with("package", digest.clone()),
                    )
                    .await?;
                }
                outcomes.push(outcome);
            }
        }
        for target in &targets {
            let delivery = NewDelivery {
                document_id: document_id.clone(),
                package_digest: digest.clone(),
                sender: sender.id.clone(),
                sender_document: None,
                recipient: target.id.clone(),
                at: self.now(),
            };
            let inbound = Some(i64::from(header.priority.priority()));
            outcomes.push(
                self.deliver_here(&who, &package, target, delivery, inbound)
                    .await?,
            );
        }
        Ok(outcomes)
    }

    /// Receives a status message from another node (`POST /exchange/v1/statuses`): its
    /// reporting agency's node authenticated as for packages, then appended to the
    /// timeline it concerns — a recipient's status (`01`…`06`, `15`, `16`) to the
    /// delivery this node sent it, a sender's recall request (`13`) to the deliveries
    /// that came from it. The same message again adds nothing. Returns how many
    /// timelines changed.
    ///
    /// A status about a delivery this node relays (hub mode) is kept in that delivery's
    /// timeline and passed on — to the recipient's node for a recall request, to the
    /// sender's otherwise — with the origin it came with.
    pub async fn receive_status(
        &self,
        peer: Option<&[u8]>,
        origin: Option<Origin>,
        json: &[u8],
    ) -> AppResult<usize> {
        let message =
            StatusMessage::from_json(json, &Limits::default()).map_err(|e| exchange_error(&e))?;
        let reporter = self
            .peer_agency(
                &message.from.organ_id,
                peer,
                origin.as_ref(),
                Subject::Status(json),
            )
            .await?;
        let document_id = message.response_for.document_id.to_string();
        let code = message.status_code;
        let (deliveries, recall): (Vec<DeliveryRow>, Option<(&[&str], &str)>) = match code {
            StatusCode::RecallRequested => (
                self.archive()
                    .inbound_deliveries(&document_id, &reporter.id)
                    .await?,
                Some((&["none", "refused"], "requested")),
            ),
            _ => (
                self.archive()
                    .delivery_to(&document_id, &reporter.id)
                    .await?
                    .filter(|d| d.route == "remote" || d.route == "relay")
                    .into_iter()
                    .collect(),
                match code {
                    StatusCode::RecallAgreed => Some((&["requested"], "agreed")),
                    StatusCode::RecallRefused => Some((&["requested"], "refused")),
                    _ => None,
                },
            ),
        };
        if deliveries.is_empty() {
            return Err(AppError::not_found(
                format!(
                    "không có lượt gửi văn bản {document_id} liên quan đến {}",
                    reporter.id
                ),
                format!(
                    "no delivery of document {document_id} concerns {}",
                    reporter.id
                ),
            ));
        }
        let status = NewStatus {
            code: code.code().to_string(),
            description: message.description.clone(),
            actor: format!("node:{}", reporter.id),
            message_json: status_json(&message)?,
            at: message.timestamp.instant(),
        };
        let mut changed = 0;
        for delivery in deliveries {
            let forward = if delivery.route == "relay" {
                let Some(origin) = &origin else {
                    return Err(crate::origin::Origin::missing());
                };
                self.keep_origin(Subject::Status(status.message_json.as_bytes()), origin)?;
                Some(if code == StatusCode::RecallRequested {
                    delivery.recipient.clone()
                } else {
                    delivery.sender.clone()
                })
            } else {
                None
            };
            if self
                .archive()
                .add_remote_status(delivery.id, &status, recall, forward.as_ref())
                .await?
            {
                changed += 1;
                self.record(
                    AuditEvent::new(
                        status.actor.clone(),
                        AuditAction::ExchangeStatus,
                        format!("delivery:{}", delivery.id),
                        Outcome::Succeeded,
                    )
                    .with("document_id", delivery.document_id.clone())
                    .with("recipient", delivery.recipient.to_string())
                    .with("status", code.code()),
                )
                .await?;
            }
        }
        Ok(changed)
    }

    /// Makes every queued row of the outbox due now (when a worker starts: a restart
    /// resumes at once what was in flight or backing off). How many rows.
    pub async fn resume_outbox(&self) -> AppResult<u64> {
        Ok(self.archive().resume_outbox(millis(self.now())).await?)
    }

    /// Notified when this process queues an outbox row or makes one due: an idle outbox
    /// worker waits on it (and polls, for rows queued by other processes).
    pub fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.archive().outbox_signal()
    }

    /// Takes the most urgent due row of the outbox for a worker, with what to send and
    /// where. A row whose destination has no node URL fails for good.
    pub async fn claim_outbox(&self) -> AppResult<Option<OutboxJob>> {
        loop {
            let now = self.now();
            let Some(row) = self
                .archive()
                .claim_outbox(millis(now), OUTBOX_LEASE_MS)
                .await?
            else {
                return Ok(None);
            };
            match self.outbox_payload(&row).await {
                Ok(Some((url, content_type, body))) => {
                    let origin = if row.kind == "package" {
                        self.origin_of(Subject::Package(&row.payload))?
                    } else {
                        self.origin_of(Subject::Status(&body))?
                    };
                    return Ok(Some(OutboxJob {
                        row,
                        url,
                        content_type,
                        body,
                        origin,
                    }));
                }
                Ok(None) => {
                    self.archive()
                        .outbox_failed(row.id, "no node URL", millis(now), true, now)
                        .await?;
                }
                Err(e) => {
                    self.archive()
                        .outbox_failed(row.id, &e.en, millis(now), true, now)
                        .await?;
                }
            }
        }
    }

    /// Keeps the origin of something this node relays, under
    /// `<data>/exchange/origins/` (synced), before the outbox row that passes it on.
    fn keep_origin(&self, subject: Subject<'_>, origin: &Origin) -> AppResult<()> {
        let path = self
            .exchange_dir()
            .join("origins")
            .join(format!("{}.json", subject.key()));
        if path.exists() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let json = serde_json::to_vec(origin).map_err(AppError::internal)?;
        kyso_store::write_atomic(&path, &json, false)?;
        Ok(())
    }

    /// The origin to send with `subject`: the one kept when this node relays it, else
    /// this node's own signature (none without a node identity).
    fn origin_of(&self, subject: Subject<'_>) -> AppResult<Option<Origin>> {
        let path = self
            .exchange_dir()
            .join("origins")
            .join(format!("{}.json", subject.key()));
        match std::fs::read(&path) {
            Ok(json) => {
                let origin = serde_json::from_slice(&json)
                    .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
                Ok(Some(origin))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.node().map(|n| n.sign(subject)).transpose()
            }
            Err(e) => Err(AppError::internal(format!("{}: {e}", path.display()))),
        }
    }

    /// The first agency hosted here (the organisation of this node's hop when it relays).
    async fn hosted_agency(&self) -> AppResult<Option<AgencyId>> {
        Ok(self
            .archive()
            .agencies()
            .await?
            .into_iter()
            .find(|a| a.hosted)
            .map(|a| a.id))
    }

    /// The URL, content type and body of an outbox row; `None` when its destination
    /// has no node URL.
    async fn outbox_payload(
        &self,
        row: &OutboxRow,
    ) -> AppResult<Option<(String, &'static str, Vec<u8>)>> {
        let destination = parse_agency(&row.destination)?;
        let node = match self.archive().agency(&destination).await? {
            Some(entry) => entry.node_url.or_else(|| row.node_url.clone()),
            None => row.node_url.clone(),
        };
        let Some(node) = node else { return Ok(None) };
        let node = node.trim_end_matches('/');
        if row.kind == "package" {
            let file = self
                .archive()
                .package_file(&row.payload)
                .await?
                .ok_or_else(|| AppError::internal(format!("package {} missing", row.payload)))?;
            let path = self.exchange_dir().join(&file);
            let bytes = std::fs::read(&path)
                .map_err(|e| AppError::internal(format!("cannot read {}: {e}", path.display())))?;
            Ok(Some((
                format!("{node}/exchange/v1/packages"),
                PACKAGE_CONTENT_TYPE,
                bytes,
            )))
        } else {
            let id: i64 = row
                .payload
                .parse()
                .map_err(|_| AppError::internal(format!("outbox {}: bad status id", row.id)))?;
            let json = self
                .archive()
                .status_message(id)
                .await?
                .ok_or_else(|| AppError::internal(format!("status {id} missing")))?;
            Ok(Some((
                format!("{node}/exchange/v1/statuses"),
                "application/json",
                json.into_bytes(),
            )))
        }
    }

    /// Records what the receiving node answered to `job`: done (a package's delivery
    /// becomes `delivered`), refused for good, or retried after the backoff
    /// ([`retry_delay_ms`]). A row is done only after the receiver's 2xx.
    pub async fn outbox_result(&self, job: &OutboxJob, attempt: Attempt) -> AppResult<()> {
        let now = self.now();
        match attempt {
            Attempt::Delivered => self.archive().outbox_sent(&job.row, now).await?,
            Attempt::Refused(error) => {
                self.archive()
                    .outbox_failed(job.row.id, &error, millis(now), true, now)
                    .await?;
            }
            Attempt::Failed(error) => {
                let next = millis(now).saturating_add(retry_delay_ms(job.row.attempts));
                self.archive()
                    .outbox_failed(job.row.id, &error, next, false, now)
                    .await?;
            }
        }
        Ok(())
    }
}

/// What receiving did.
enum Received {
    /// Filed and delivered.
    Delivered {
        /// The delivery.
        delivery: i64,
        /// The verdict on receipt.
        verdict: String,
    },
    /// Delivered before (a concurrent sending won).
    Again,
    /// Not filed, and why (the same original already in the recipient's archive…).
    Skipped(AppError),
}

#[cfg(test)]
mod tests {
    use super::retry_delay_ms;

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        let delays: Vec<i64> = (1..=6).map(retry_delay_ms).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
        assert_eq!(retry_delay_ms(10), 512_000);
        assert_eq!(retry_delay_ms(11), 600_000);
        assert_eq!(retry_delay_ms(1_000_000), 600_000);
        assert_eq!(retry_delay_ms(0), 1_000);
    }
}
