//! Users, signing devices and handovers in SQL (tables of `0003_custody.sql`). The
//! decisions are kyso-office's ([`kyso_office::authorize`]); this module only keeps the
//! records, with compare-and-set where two people could race: a handover changes state
//! only from the state its caller saw, and custody moves only from the custodian the
//! caller saw, in the same transaction as the handover's acceptance.

use kyso_model::AgencyId;
use kyso_office::{Device, Handover, HandoverState, StoreError, User};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Archive, backend_error};

fn now_text(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column).map_err(backend_error)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn handover_from(row: &AnyRow) -> Result<Handover, StoreError> {
    let mut h: Handover = parse(row, "handover_json")?;
    h.id = Some(row.try_get("id").map_err(backend_error)?);
    Ok(h)
}

impl Archive {
    // ---- users ---------------------------------------------------------------------

    /// Adds a user; `Conflict` if the name is taken in the agency.
    pub async fn create_user(&self, user: &User, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO app_user (agency, name, user_json, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.agency.to_string())
        .bind(user.name.clone())
        .bind(json(user)?)
        .bind(now_text(at))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// Replaces a user's record (roles, password, certificate, active).
    pub async fn update_user(&self, user: &User, at: OffsetDateTime) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE app_user SET user_json = $1, updated_at = $2 WHERE agency = $3 AND name = $4",
        )
        .bind(json(user)?)
        .bind(now_text(at))
        .bind(user.agency.to_string())
        .bind(user.name.clone())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {}", user.name)));
        }
        Ok(())
    }

    /// A user.
    pub async fn user(&self, agency: &AgencyId, name: &str) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT user_json FROM app_user WHERE agency = $1 AND name = $2")
            .bind(agency.to_string())
            .bind(name.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .map(|row| parse(&row, "user_json"))
            .transpose()
    }

    /// The agency's users, by name.
    pub async fn users(&self, agency: &AgencyId) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT user_json FROM app_user WHERE agency = $1 ORDER BY name")
            .bind(agency.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| parse(row, "user_json"))
            .collect()
    }

    // ---- devices -------------------------------------------------------------------

    /// Registers a device; `Conflict` if its serial is registered already.
    pub async fn register_device(&self, device: &Device) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_device (serial, agency, custodian, device_json, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(device.serial.clone())
        .bind(device.agency.to_string())
        .bind(device.custodian.clone())
        .bind(json(device)?)
        .bind(now_text(device.registered_at))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// A device by token serial.
    pub async fn device(&self, serial: &str) -> Result<Option<Device>, StoreError> {
        sqlx::query("SELECT device_json FROM signing_device WHERE serial = $1")
            .bind(serial.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .map(|row| parse(&row, "device_json"))
            .transpose()
    }

    /// The agency's devices.
    pub async fn devices(&self, agency: &AgencyId) -> Result<Vec<Device>, StoreError> {
        sqlx::query("SELECT device_json FROM signing_device WHERE agency = $1 ORDER BY serial")
            .bind(agency.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| parse(row, "device_json"))
            .collect()
    }

    // ---- handovers -----------------------------------------------------------------

    /// Records a new handover request; `Conflict` while another handover of the device
    /// is in progress. Returns it with its id.
    pub async fn create_handover(&self, handover: &Handover) -> Result<Handover, StoreError> {
        let row = sqlx::query(
            "INSERT INTO handover (agency, device, state, handover_json, updated_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(handover.agency.to_string())
        .bind(handover.device.clone())
        .bind(handover.state.key())
        .bind(json(handover)?)
        .bind(now_text(handover.requested_at))
        .fetch_one(&self.pool)
        .await
        .map_err(backend_error)?;
        let mut stored = handover.clone();
        stored.id = Some(row.try_get(0).map_err(backend_error)?);
        Ok(stored)
    }

    /// A handover.
    pub async fn handover(&self, id: i64) -> Result<Option<Handover>, StoreError> {
        sqlx::query("SELECT id, handover_json FROM handover WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?
            .map(|row| handover_from(&row))
            .transpose()
    }

    /// The handovers of an agency's devices (one device with `device`), oldest first.
    pub async fn handovers(
        &self,
        agency: &AgencyId,
        device: Option<&str>,
    ) -> Result<Vec<Handover>, StoreError> {
        let rows = match device {
            Some(serial) => {
                sqlx::query(
                    "SELECT id, handover_json FROM handover WHERE agency = $1 AND device = $2 \
                     ORDER BY id",
                )
                .bind(agency.to_string())
                .bind(serial.to_string())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT id, handover_json FROM handover WHERE agency = $1 ORDER BY id")
                    .bind(agency.to_string())
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend_error)?;
        rows.iter().map(handover_from).collect()
    }

    /// Saves `handover` if its stored state is still `from`; `StateChanged` otherwise.
    pub async fn update_handover(
        &self,
        handover: &Handover,
        from: HandoverState,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = handover
            .id
            .ok_or_else(|| StoreError::NotFound("handover without id".into()))?;
        let mut tx = self.begin_write().await?;
        Self::cas_handover(&mut tx, handover, id, from, at).await?;
        tx.commit().await.map_err(backend_error)
    }

    async fn cas_handover(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        handover: &Handover,
        id: i64,
        from: HandoverState,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE handover SET state = $1, handover_json = $2, updated_at = $3 \
             WHERE id = $4 AND state = $5",
        )
        .bind(handover.state.key())
        .bind(json(handover)?)
        .bind(now_text(at))
        .bind(id)
        .bind(from.key())
        .execute(&mut **tx)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            let found: Option<String> = sqlx::query("SELECT state FROM handover WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(backend_error)?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(backend_error)?;
            return match found {
                None => Err(StoreError::NotFound(format!("handover {id}"))),
                Some(found) => Err(StoreError::StateChanged {
                    id,
                    expected: from.key().into(),
                    found,
                }),
            };
        }
        Ok(())
    }

    /// Acceptance: in one transaction the handover goes from `approved` to the state in
    /// `handover` and the device's custody moves from the giver to the receiver — only
    /// if the giver still holds it.
    pub async fn accept_handover(
        &self,
        handover: &Handover,
        at: OffsetDateTime,
    ) -> Result<Device, StoreError> {
        let id = handover
            .id
            .ok_or_else(|| StoreError::NotFound("handover without id".into()))?;
        let mut tx = self.begin_write().await?;
        Self::cas_handover(&mut tx, handover, id, HandoverState::Approved, at).await?;
        let row = sqlx::query("SELECT device_json FROM signing_device WHERE serial = $1")
            .bind(handover.device.clone())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?
            .ok_or_else(|| StoreError::NotFound(format!("device {}", handover.device)))?;
        let mut device: Device = parse(&row, "device_json")?;
        device.custodian = handover.receiver.clone();
        let done = sqlx::query(
            "UPDATE signing_device SET custodian = $1, device_json = $2, updated_at = $3 \
             WHERE serial = $4 AND custodian = $5",
        )
        .bind(handover.receiver.clone())
        .bind(json(&device)?)
        .bind(now_text(at))
        .bind(handover.device.clone())
        .bind(handover.giver.clone())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "device {} is no longer held by {}",
                handover.device, handover.giver
            )));
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(device)
    }
}
