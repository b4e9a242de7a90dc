//! Sending and receiving between agencies (migration `0005_exchange.sql`): the directory
//! of agencies, stored packages, deliveries (one per document and recipient) with their
//! status timeline, and the outbox of what must still travel to another node.
//!
//! A delivery to an agency hosted on this node is one transaction: the recipient's
//! incoming document (with its number-less register row, its staged original and
//! verification report), the delivery row and its first status (`01`) commit together
//! or not at all; a second delivery of the same `DocumentId` to the same recipient finds
//! the row and adds nothing. A delivery to another node is a `remote` row plus an outbox
//! row; the outbox worker claims due rows most urgent first ([`Archive::claim_outbox`]),
//! and a row is done only after the receiving node's 2xx ([`Archive::outbox_sent`]). A
//! package received from another node is delivered the same way as a local one, as an
//! `inbound` row whose statuses go back to the sender's node through the outbox.

use kyso_model::{AgencyId, AgencyIdFormat};
use kyso_office::{DocumentRecord, NewDocument, StoreError};
use sqlx::Row;
use sqlx::Transaction;
use sqlx::any::{Any, AnyRow};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::files::Staged;
use crate::{Archive, backend_error};

fn text(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn time_of(row: &AnyRow, column: &str) -> Result<OffsetDateTime, StoreError> {
    let t: String = row.try_get(column).map_err(backend_error)?;
    OffsetDateTime::parse(&t, &Rfc3339).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn agency_of(row: &AnyRow, column: &str) -> Result<AgencyId, StoreError> {
    let t: String = row.try_get(column).map_err(backend_error)?;
    AgencyId::parse_with(&t, AgencyIdFormat::Lenient)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// An agency of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyRow {
    /// Mã định danh.
    pub id: AgencyId,
    /// Name.
    pub name: String,
    /// Hosted on this node (its users, registers and archive are here).
    pub hosted: bool,
    /// The node hosting it, when it is elsewhere.
    pub node_url: Option<String>,
    /// The SHA-256 (hex) of that node's TLS client certificate: what it proves
    /// itself with when it delivers packages and statuses here.
    pub node_certificate: Option<String>,
    /// The SHA-256 fingerprints (lowercase hex) of the certificates the agency signs
    /// with (its seal, its leaders): a document received from it is its own only when
    /// one of its signatures is made with one of them. Empty: not checked.
    pub signing_certificates: Vec<String>,
}

/// A stored package.
#[derive(Debug, Clone)]
pub struct PackageRow {
    /// `Package::digest`, hex.
    pub digest: String,
    /// The edXML `DocumentId`.
    pub document_id: String,
    /// The sending agency.
    pub sender: AgencyId,
    /// The file, relative to `<data>/exchange`.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// The header as JSON.
    pub header_json: String,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// A delivery to record.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The edXML `DocumentId`.
    pub document_id: String,
    /// The package delivered.
    pub package_digest: String,
    /// The sending agency.
    pub sender: AgencyId,
    /// The sender's outgoing document (when sent from this node).
    pub sender_document: Option<i64>,
    /// The receiving agency.
    pub recipient: AgencyId,
    /// When.
    pub at: OffsetDateTime,
}

/// A status to add to a delivery's timeline.
#[derive(Debug, Clone)]
pub struct NewStatus {
    /// Two digits (`01`…`16`).
    pub code: String,
    /// Reason or note.
    pub description: String,
    /// Who (audit name).
    pub actor: String,
    /// The status message (kyso-exchange canonical JSON).
    pub message_json: String,
    /// When.
    pub at: OffsetDateTime,
}

/// A delivery and where it stands.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// Id.
    pub id: i64,
    /// The edXML `DocumentId`.
    pub document_id: String,
    /// The package.
    pub package_digest: String,
    /// The sending agency.
    pub sender: AgencyId,
    /// The sender's outgoing document.
    pub sender_document: Option<i64>,
    /// The receiving agency.
    pub recipient: AgencyId,
    /// `local` (both agencies hosted here), `remote` (to another node), `inbound`
    /// (from another node) or `relay` (passed on by this node in hub mode).
    pub route: String,
    /// `delivered` or `queued` (waiting for the outbox worker).
    pub state: String,
    /// The recipient's incoming document (local deliveries).
    pub received_document: Option<i64>,
    /// The latest status code.
    pub last_status: Option<String>,
    /// `none`, `requested`, `agreed` or `refused`.
    pub recall: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// One status of a timeline.
#[derive(Debug, Clone)]
pub struct StatusRow {
    /// Id.
    pub id: i64,
    /// The delivery.
    pub delivery_id: i64,
    /// Two digits.
    pub code: String,
    /// Reason or note.
    pub description: String,
    /// Who.
    pub actor: String,
    /// When.
    pub at: OffsetDateTime,
    /// The status message.
    pub message_json: String,
}

/// A row of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Id.
    pub id: i64,
    /// The delivery.
    pub delivery_id: i64,
    /// `package` or `status`.
    pub kind: String,
    /// The agency it goes to.
    pub destination: String,
    /// Its node.
    pub node_url: Option<String>,
    /// The package digest or the status id.
    pub payload: String,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    /// How urgent (the header's Priority: 0 thường … 4 hỏa tốc hẹn giờ).
    pub priority: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// `SELECT <every outbox column> FROM exchange_outbox <tail>`, a static string.
macro_rules! select_outbox {
    ($tail:literal) => {
        concat!(
            "SELECT id, delivery_id, kind, destination, node_url, payload, state, priority, attempts, \
             last_error FROM exchange_outbox ",
            $tail
        )
    };
}

fn outbox_from(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: row.try_get("id").map_err(backend_error)?,
        delivery_id: row.try_get("delivery_id").map_err(backend_error)?,
        kind: row.try_get("kind").map_err(backend_error)?,
        destination: row.try_get("destination").map_err(backend_error)?,
        node_url: row.try_get("node_url").map_err(backend_error)?,
        payload: row.try_get("payload").map_err(backend_error)?,
        state: row.try_get("state").map_err(backend_error)?,
        priority: row.try_get("priority").map_err(backend_error)?,
        attempts: row.try_get("attempts").map_err(backend_error)?,
        last_error: row.try_get("last_error").map_err(backend_error)?,
    })
}

/// `SELECT <every delivery column> FROM exchange_delivery <tail>`, a static string.
macro_rules! select_delivery {
    ($tail:literal) => {
        concat!(
            "SELECT id, document_id, package_digest, sender, sender_document, recipient, route, state, \
             received_document, last_status, recall, created_at, updated_at FROM exchange_delivery ",
            $tail
        )
    };
}

fn delivery_from(row: &AnyRow) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        id: row.try_get("id").map_err(backend_error)?,
        document_id: row.try_get("document_id").map_err(backend_error)?,
        package_digest: row.try_get("package_digest").map_err(backend_error)?,
        sender: agency_of(row, "sender")?,
        sender_document: row.try_get("sender_document").map_err(backend_error)?,
        recipient: agency_of(row, "recipient")?,
        route: row.try_get("route").map_err(backend_error)?,
        state: row.try_get("state").map_err(backend_error)?,
        received_document: row.try_get("received_document").map_err(backend_error)?,
        last_status: row.try_get("last_status").map_err(backend_error)?,
        recall: row.try_get("recall").map_err(backend_error)?,
        created_at: time_of(row, "created_at")?,
        updated_at: time_of(row, "updated_at")?,
    })
}

fn certificates_json(fingerprints: &[String]) -> String {
    serde_json::to_string(fingerprints).unwrap_or_else(|_| "[]".into())
}

fn agency_from(row: &AnyRow) -> Result<AgencyRow, StoreError> {
    let hosted: i64 = row.try_get("hosted").map_err(backend_error)?;
    Ok(AgencyRow {
        id: agency_of(row, "id")?,
        name: row.try_get("name").map_err(backend_error)?,
        hosted: hosted != 0,
        node_url: row.try_get("node_url").map_err(backend_error)?,
        node_certificate: row.try_get("node_certificate").map_err(backend_error)?,
        signing_certificates: {
            let json: String = row.try_get("signing_certificates").map_err(backend_error)?;
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("agency signing_certificates: {e}")))?
        },
    })
}

impl Archive {
    // ------------------------------------------------------------------------------
    // The directory
    // ------------------------------------------------------------------------------

    /// Every agency of the directory, by identifier.
    pub async fn agencies(&self) -> Result<Vec<AgencyRow>, StoreError> {
        sqlx::query(
            "SELECT id, name, hosted, node_url, node_certificate, signing_certificates \
             FROM agency ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(agency_from)
        .collect()
    }

    /// One agency of the directory.
    pub async fn agency(&self, id: &AgencyId) -> Result<Option<AgencyRow>, StoreError> {
        sqlx::query(
            "SELECT id, name, hosted, node_url, node_certificate, signing_certificates \
             FROM agency WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(agency_from)
        .transpose()
    }

    /// Adds an agency to the directory (`Conflict` if its identifier is there already).
    pub async fn add_agency(
        &self,
        agency: &AgencyRow,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agency (id, name, created_at, hosted, node_url, node_certificate, \
             signing_certificates) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(agency.id.to_string())
        .bind(agency.name.clone())
        .bind(text(at))
        .bind(i64::from(agency.hosted))
        .bind(agency.node_url.clone())
        .bind(agency.node_certificate.clone())
        .bind(certificates_json(&agency.signing_certificates))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// Changes an agency of the directory: its name and signing certificates and, for
    /// an agency of another node, its node URL and node certificate (a node moved, or
    /// its certificate was renewed or revoked). Whether it is hosted here does not
    /// change. `false` when there is no such agency (hosted here as `agency.hosted`
    /// says).
    pub async fn update_agency(&self, agency: &AgencyRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE agency SET name = $1, node_url = $2, node_certificate = $3, \
             signing_certificates = $4 WHERE id = $5 AND hosted = $6",
        )
        .bind(agency.name.clone())
        .bind(agency.node_url.clone())
        .bind(agency.node_certificate.clone())
        .bind(certificates_json(&agency.signing_certificates))
        .bind(agency.id.to_string())
        .bind(i64::from(agency.hosted))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(done.rows_affected() == 1)
    }

    // ------------------------------------------------------------------------------
    // Packages
    // ------------------------------------------------------------------------------

    /// Records a stored package (its file written and synced first). `false` when the
    /// same package (same digest) was recorded before.
    pub async fn put_package(&self, package: &PackageRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO exchange_package (digest, document_id, sender, file, size, header_json, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(package.digest.clone())
        .bind(package.document_id.clone())
        .bind(package.sender.to_string())
        .bind(package.file.clone())
        .bind(i64::try_from(package.size).unwrap_or(i64::MAX))
        .bind(package.header_json.clone())
        .bind(text(package.created_at))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(done.rows_affected() == 1)
    }

    /// A stored package's file (relative to `<data>/exchange`).
    pub async fn package_file(&self, digest: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT file FROM exchange_package WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.map(|r| r.try_get::<String, _>("file").map_err(backend_error))
            .transpose()
    }

    // ------------------------------------------------------------------------------
    // Deliveries
    // ------------------------------------------------------------------------------

    async fn delivery_in(
        tx: &mut Transaction<'static, Any>,
        document_id: &str,
        recipient: &AgencyId,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM exchange_delivery WHERE document_id = $1 AND recipient = $2",
        )
        .bind(document_id.to_string())
        .bind(recipient.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend_error)?;
        row.map(|r| r.try_get::<i64, _>("id").map_err(backend_error))
            .transpose()
    }

    async fn insert_delivery(
        tx: &mut Transaction<'static, Any>,
        delivery: &NewDelivery,
        route: &str,
        state: &str,
        received_document: Option<i64>,
        last_status: Option<&str>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO exchange_delivery (document_id, package_digest, sender, sender_document, recipient, \
             route, state, received_document, last_status, recall, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'none', $10, $10) RETURNING id",
        )
        .bind(delivery.document_id.clone())
        .bind(delivery.package_digest.clone())
        .bind(delivery.sender.to_string())
        .bind(delivery.sender_document)
        .bind(delivery.recipient.to_string())
        .bind(route.to_string())
        .bind(state.to_string())
        .bind(received_document)
        .bind(last_status.map(str::to_string))
        .bind(text(delivery.at))
        .fetch_one(&mut **tx)
        .await
        .map_err(backend_error)?;
        row.try_get(0).map_err(backend_error)
    }

    async fn insert_status(
        tx: &mut Transaction<'static, Any>,
        delivery_id: i64,
        status: &NewStatus,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO exchange_status (delivery_id, code, description, actor, at, message_json) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(delivery_id)
        .bind(status.code.clone())
        .bind(status.description.clone())
        .bind(status.actor.clone())
        .bind(text(status.at))
        .bind(status.message_json.clone())
        .fetch_one(&mut **tx)
        .await
        .map_err(backend_error)?;
        row.try_get(0).map_err(backend_error)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_outbox(
        tx: &mut Transaction<'static, Any>,
        delivery_id: i64,
        kind: &str,
        destination: &AgencyId,
        node_url: Option<&str>,
        payload: &str,
        priority: i64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO exchange_outbox (delivery_id, kind, destination, node_url, payload, state, attempts, \
             last_error, created_at, updated_at, priority, next_attempt) \
             VALUES ($1, $2, $3, $4, $5, 'queued', 0, NULL, $6, $6, $7, 0)",
        )
        .bind(delivery_id)
        .bind(kind.to_string())
        .bind(destination.to_string())
        .bind(node_url.map(str::to_string))
        .bind(payload.to_string())
        .bind(text(at))
        .bind(priority)
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// A write transaction holding the lock of `delivery` (its DocumentId ×
    /// recipient), or `None` when that delivery exists already.
    async fn begin_delivery(
        &self,
        delivery: &NewDelivery,
    ) -> Result<Option<Transaction<'static, Any>>, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock(
            &mut tx,
            &format!("exchange:{}:{}", delivery.document_id, delivery.recipient),
        )
        .await?;
        if Self::delivery_in(&mut tx, &delivery.document_id, &delivery.recipient)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        Ok(Some(tx))
    }

    /// The delivery row of a package received for an agency hosted here (route
    /// `inbound` when it came from another node, else `local`), its first status and,
    /// `inbound`, that status in the outbox back to the sender's node.
    async fn insert_received(
        tx: &mut Transaction<'static, Any>,
        delivery: &NewDelivery,
        received_document: Option<i64>,
        status: &NewStatus,
        inbound: Option<i64>,
    ) -> Result<i64, StoreError> {
        let delivery_id = Self::insert_delivery(
            tx,
            delivery,
            if inbound.is_some() {
                "inbound"
            } else {
                "local"
            },
            "delivered",
            received_document,
            Some(&status.code),
        )
        .await?;
        let status_id = Self::insert_status(tx, delivery_id, status).await?;
        if let Some(priority) = inbound {
            Self::insert_outbox(
                tx,
                delivery_id,
                "status",
                &delivery.sender,
                None,
                &status_id.to_string(),
                priority,
                status.at,
            )
            .await?;
        }
        Ok(delivery_id)
    }

    /// Delivers a package to an agency hosted here, in one transaction: the incoming
    /// `document` (its original staged, its verification report kept), the delivery row
    /// and its first status (`01`). `inbound` (the package came from another node): the
    /// delivery's route is `inbound` and the status goes into the outbox, back to the
    /// sender's node, in the same transaction. `None` when the same `DocumentId` was
    /// delivered to this recipient before: nothing is added and the staged files are
    /// removed.
    pub async fn deliver_local(
        &self,
        document: NewDocument,
        mut staged: Staged,
        delivery: &NewDelivery,
        status: &NewStatus,
        inbound: Option<i64>,
    ) -> Result<Option<(DocumentRecord, i64)>, StoreError> {
        let Some(mut tx) = self.begin_delivery(delivery).await? else {
            return Ok(None);
        };
        let record = self
            .insert_document_in(&mut tx, document, Some(&staged))
            .await?;
        let document_id = record.id.unwrap_or_default();
        let delivery_id =
            Self::insert_received(&mut tx, delivery, Some(document_id), status, inbound).await?;
        tx.commit().await.map_err(backend_error)?;
        self.outbox_signal.notify_one();
        // The row owns the staged files now; recovery finishes them after a crash.
        staged.consumed = true;
        self.finalize(document_id).await?;
        Ok(Some((record, delivery_id)))
    }

    /// Records a delivery that was refused on receipt without a document (the package
    /// could not be filed for the recipient: nothing addressed to it, no attachment, the
    /// same original already archived…): the delivery row with its status (`02` and the
    /// reason), and — `inbound` — the status in the outbox back to the sender's node, in
    /// one transaction. `None` when the same `DocumentId` was delivered to this recipient
    /// before.
    pub async fn refuse_on_receipt(
        &self,
        delivery: &NewDelivery,
        status: &NewStatus,
        inbound: Option<i64>,
    ) -> Result<Option<i64>, StoreError> {
        let Some(mut tx) = self.begin_delivery(delivery).await? else {
            return Ok(None);
        };
        let delivery_id = Self::insert_received(&mut tx, delivery, None, status, inbound).await?;
        tx.commit().await.map_err(backend_error)?;
        self.outbox_signal.notify_one();
        Ok(Some(delivery_id))
    }

    /// Records a delivery to an agency on another node, queued in the outbox with the
    /// package's `priority` (the outbox worker of `kyso serve` sends it). `None` when it
    /// was recorded before.
    pub async fn queue_remote(
        &self,
        delivery: &NewDelivery,
        node_url: Option<&str>,
        priority: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.queue_package(delivery, "remote", node_url, priority)
            .await
    }

    /// Records a package this node relays (hub mode) to `delivery.recipient` on another
    /// node, queued in the outbox like [`Self::queue_remote`]; the delivery's route is
    /// `relay`, so statuses about it are passed on between sender and recipient.
    /// `None` when it was recorded before.
    pub async fn queue_relay(
        &self,
        delivery: &NewDelivery,
        node_url: Option<&str>,
        priority: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.queue_package(delivery, "relay", node_url, priority)
            .await
    }

    async fn queue_package(
        &self,
        delivery: &NewDelivery,
        route: &str,
        node_url: Option<&str>,
        priority: i64,
    ) -> Result<Option<i64>, StoreError> {
        let Some(mut tx) = self.begin_delivery(delivery).await? else {
            return Ok(None);
        };
        let id = Self::insert_delivery(&mut tx, delivery, route, "queued", None, None).await?;
        Self::insert_outbox(
            &mut tx,
            id,
            "package",
            &delivery.recipient,
            node_url,
            &delivery.package_digest,
            priority,
            delivery.at,
        )
        .await?;
        tx.commit().await.map_err(backend_error)?;
        self.outbox_signal.notify_one();
        Ok(Some(id))
    }

    /// One delivery.
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        sqlx::query(select_delivery!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .as_ref()
            .map(delivery_from)
            .transpose()
    }

    /// The delivery of `document_id` to `recipient`.
    pub async fn delivery_to(
        &self,
        document_id: &str,
        recipient: &AgencyId,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        sqlx::query(select_delivery!(
            "WHERE document_id = $1 AND recipient = $2"
        ))
        .bind(document_id.to_string())
        .bind(recipient.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(delivery_from)
        .transpose()
    }

    /// The deliveries of a document: those it was sent by (sender's outgoing document)
    /// and the one it arrived by (recipient's incoming document).
    pub async fn deliveries_of(&self, document: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        sqlx::query(select_delivery!(
            "WHERE sender_document = $1 OR received_document = $1 ORDER BY id"
        ))
        .bind(document)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(delivery_from)
        .collect()
    }

    /// A delivery's timeline, oldest first.
    pub async fn statuses(&self, delivery_id: i64) -> Result<Vec<StatusRow>, StoreError> {
        sqlx::query(
            "SELECT id, delivery_id, code, description, actor, at, message_json FROM exchange_status \
             WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            Ok(StatusRow {
                id: row.try_get("id").map_err(backend_error)?,
                delivery_id: row.try_get("delivery_id").map_err(backend_error)?,
                code: row.try_get("code").map_err(backend_error)?,
                description: row.try_get("description").map_err(backend_error)?,
                actor: row.try_get("actor").map_err(backend_error)?,
                at: time_of(row, "at")?,
                message_json: row.try_get("message_json").map_err(backend_error)?,
            })
        })
        .collect()
    }

    /// What is waiting in the outbox for a delivery.
    pub async fn outbox(&self, delivery_id: i64) -> Result<Vec<OutboxRow>, StoreError> {
        sqlx::query(select_outbox!("WHERE delivery_id = $1 ORDER BY id"))
            .bind(delivery_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(outbox_from)
            .collect()
    }

    /// Adds a status to a delivery's timeline, in one transaction with the delivery's
    /// latest code and, when `recall` is given as `(allowed current values, new value)`,
    /// a compare-and-set of its recall state (`Conflict` if it is not one of them).
    /// A status of a delivery to another node (`remote`: to the recipient's node) or of
    /// one that came from another node (`inbound`: back to the sender's) also goes into
    /// the outbox.
    pub async fn add_status(
        &self,
        delivery_id: i64,
        status: &NewStatus,
        recall: Option<(&[&str], &str)>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT recall, route, sender, recipient FROM exchange_delivery WHERE id = $1",
        )
        .bind(delivery_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?
        .ok_or_else(|| StoreError::NotFound(format!("delivery {delivery_id}")))?;
        let current: String = row.try_get("recall").map_err(backend_error)?;
        let route: String = row.try_get("route").map_err(backend_error)?;
        let recipient = agency_of(&row, "recipient")?;
        let next = match recall {
            Some((allowed, next)) => {
                if !allowed.contains(&current.as_str()) {
                    return Err(StoreError::Conflict(format!(
                        "delivery {delivery_id}: recall is {current}"
                    )));
                }
                next.to_string()
            }
            None => current.clone(),
        };
        let done = sqlx::query(
            "UPDATE exchange_delivery SET last_status = $1, recall = $2, updated_at = $3 \
             WHERE id = $4 AND recall = $5",
        )
        .bind(status.code.clone())
        .bind(next)
        .bind(text(status.at))
        .bind(delivery_id)
        .bind(current.clone())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "delivery {delivery_id} changed meanwhile"
            )));
        }
        let id = Self::insert_status(&mut tx, delivery_id, status).await?;
        let destination = match route.as_str() {
            "remote" => Some(recipient),
            "inbound" => Some(agency_of(&row, "sender")?),
            _ => None,
        };
        if let Some(destination) = destination {
            Self::insert_outbox(
                &mut tx,
                delivery_id,
                "status",
                &destination,
                None,
                &id.to_string(),
                0,
                status.at,
            )
            .await?;
        }
        tx.commit().await.map_err(backend_error)?;
        self.outbox_signal.notify_one();
        Ok(id)
    }

    // ------------------------------------------------------------------------------
    // The outbox worker and statuses from other nodes
    // ------------------------------------------------------------------------------

    /// Claims the most urgent due row of the outbox (`next_attempt <= now_ms`; not one
    /// whose delivery has an earlier row still queued, so the rows of a delivery travel
    /// in order whatever the number of workers): in one
    /// write transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers
    /// take different rows) its attempt count goes up and its next attempt moves
    /// `lease_ms` ahead, so a worker that dies with it leaves it to be retried then.
    pub async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let select = match self.backend {
            crate::Backend::Postgres => select_outbox!(
                "WHERE state = 'queued' AND next_attempt <= $1 AND NOT EXISTS \
                 (SELECT 1 FROM exchange_outbox e WHERE e.delivery_id = exchange_outbox.delivery_id \
                 AND e.state = 'queued' AND e.id < exchange_outbox.id) \
                 ORDER BY priority DESC, next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ),
            crate::Backend::Sqlite => select_outbox!(
                "WHERE state = 'queued' AND next_attempt <= $1 AND NOT EXISTS \
                 (SELECT 1 FROM exchange_outbox e WHERE e.delivery_id = exchange_outbox.delivery_id \
                 AND e.state = 'queued' AND e.id < exchange_outbox.id) \
                 ORDER BY priority DESC, next_attempt, id LIMIT 1"
            ),
        };
        let Some(row) = sqlx::query(select)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?
        else {
            return Ok(None);
        };
        let mut job = outbox_from(&row)?;
        sqlx::query(
            "UPDATE exchange_outbox SET attempts = attempts + 1, next_attempt = $1 WHERE id = $2",
        )
        .bind(now_ms.saturating_add(lease_ms))
        .bind(job.id)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        tx.commit().await.map_err(backend_error)?;
        job.attempts += 1;
        Ok(Some(job))
    }

    /// When a worker starts: every queued row becomes due now (`next_attempt` no later
    /// than `now_ms`), so rows claimed by a worker that died, and rows waiting out a
    /// backoff, are tried at once. A row still in flight elsewhere (several processes on
    /// one PostgreSQL database) may then be sent twice, which receivers absorb
    /// (idempotent by `DocumentId` × recipient, statuses by message). How many rows.
    pub async fn resume_outbox(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE exchange_outbox SET next_attempt = $1 WHERE state = 'queued' AND next_attempt > $1",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(done.rows_affected())
    }

    /// The receiving node answered 2xx: the row is done and, for a package, the
    /// delivery is `delivered` (one transaction).
    pub async fn outbox_sent(&self, job: &OutboxRow, at: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE exchange_outbox SET state = 'sent', last_error = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(text(at))
        .bind(job.id)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if job.kind == "package" {
            sqlx::query(
                "UPDATE exchange_delivery SET state = 'delivered', updated_at = $1 \
                 WHERE id = $2 AND state = 'queued'",
            )
            .bind(text(at))
            .bind(job.delivery_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(())
    }

    /// An attempt failed: `error` recorded; tried again from `next_attempt_ms`, or never
    /// again when `permanent` (the receiving node refused it: state `failed`).
    pub async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_ms: i64,
        permanent: bool,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE exchange_outbox SET state = $1, last_error = $2, next_attempt = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(if permanent { "failed" } else { "queued" })
        .bind(error.chars().take(1000).collect::<String>())
        .bind(next_attempt_ms)
        .bind(text(at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// Rows of the outbox, newest first: all, or those in `state` (`queued`, `sent`,
    /// `failed`); at most `limit`.
    pub async fn outbox_rows(
        &self,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = match state {
            Some(state) => {
                sqlx::query(select_outbox!("WHERE state = $1 ORDER BY id DESC LIMIT $2"))
                    .bind(state.to_string())
                    .bind(limit)
            }
            None => sqlx::query(select_outbox!("ORDER BY id DESC LIMIT $1")).bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter().map(outbox_from).collect()
    }

    /// One row of the outbox.
    pub async fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        sqlx::query(select_outbox!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .as_ref()
            .map(outbox_from)
            .transpose()
    }

    /// Sends a row again: a `failed` row (refused by the other node, e.g. before its
    /// directory was set up) or a `queued` one waiting out its backoff becomes due at
    /// `now_ms`. `false` when the row is `sent` (or absent).
    pub async fn retry_outbox(
        &self,
        id: i64,
        now_ms: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE exchange_outbox SET state = 'queued', next_attempt = $1, updated_at = $2 \
             WHERE id = $3 AND state IN ('queued', 'failed')",
        )
        .bind(now_ms)
        .bind(text(at))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        self.outbox_signal.notify_one();
        Ok(done.rows_affected() == 1)
    }

    /// Notified (`notify_one`) each time this process commits a transaction that queued
    /// an outbox row or made one due, so an idle outbox worker starts at once instead of
    /// at its next poll. Rows queued by other processes (replicas) are found by polling.
    pub fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.outbox_signal.clone()
    }

    /// The status message (canonical JSON) of a status of a timeline.
    pub async fn status_message(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT message_json FROM exchange_status WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.map(|r| {
            r.try_get::<String, _>("message_json")
                .map_err(backend_error)
        })
        .transpose()
    }

    /// Appends a status reported by another node to a delivery's timeline, in one
    /// transaction with its latest code, its recall state (`recall`: set to the new
    /// value when the current one is among the allowed) and, for `01`, the delivery's
    /// state `delivered`. The same message received again (a retried delivery) adds
    /// nothing: `false`.
    ///
    /// `forward` (a delivery this node relays): the agency the status is passed on to —
    /// an outbox row in the same transaction.
    pub async fn add_remote_status(
        &self,
        delivery_id: i64,
        status: &NewStatus,
        recall: Option<(&[&str], &str)>,
        forward: Option<&AgencyId>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let seen = sqlx::query(
            "SELECT id FROM exchange_status WHERE delivery_id = $1 AND message_json = $2",
        )
        .bind(delivery_id)
        .bind(status.message_json.clone())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_error)?;
        if seen.is_some() {
            return Ok(false);
        }
        let row = sqlx::query("SELECT recall FROM exchange_delivery WHERE id = $1")
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?
            .ok_or_else(|| StoreError::NotFound(format!("delivery {delivery_id}")))?;
        let current: String = row.try_get("recall").map_err(backend_error)?;
        let next = match recall {
            Some((allowed, next)) if allowed.contains(&current.as_str()) => next.to_string(),
            _ => current,
        };
        sqlx::query(
            "UPDATE exchange_delivery SET last_status = $1, recall = $2, updated_at = $3, \
             state = CASE WHEN $4 = 1 THEN 'delivered' ELSE state END WHERE id = $5",
        )
        .bind(status.code.clone())
        .bind(next)
        .bind(text(status.at))
        .bind(i64::from(status.code == "01"))
        .bind(delivery_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        let id = Self::insert_status(&mut tx, delivery_id, status).await?;
        if let Some(destination) = forward {
            Self::insert_outbox(
                &mut tx,
                delivery_id,
                "status",
                destination,
                None,
                &id.to_string(),
                0,
                status.at,
            )
            .await?;
        }
        tx.commit().await.map_err(backend_error)?;
        self.outbox_signal.notify_one();
        Ok(true)
    }

    /// Deliveries received here whose document may still move on: a received document,
    /// no recall, and a latest status that is not final (`02` refused, `06` completed).
    /// For the recovery of statuses lost between a step and its status.
    pub async fn open_received_deliveries(&self) -> Result<Vec<DeliveryRow>, StoreError> {
        sqlx::query(select_delivery!(
            "WHERE received_document IS NOT NULL AND recall = 'none' \
             AND (last_status IS NULL OR last_status NOT IN ('02', '06')) ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(delivery_from)
        .collect()
    }

    /// The deliveries of `document_id` from `sender` that arrived here from its node:
    /// received for an agency hosted here (`inbound`) or passed on (`relay`).
    pub async fn inbound_deliveries(
        &self,
        document_id: &str,
        sender: &AgencyId,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        sqlx::query(select_delivery!(
            "WHERE document_id = $1 AND sender = $2 AND route IN ('inbound', 'relay') ORDER BY id"
        ))
        .bind(document_id.to_string())
        .bind(sender.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(delivery_from)
        .collect()
    }
}
