//! Web sessions, API tokens and per-address login throttling (tables of
//! `0004_sessions.sql`). Secrets never reach the database: callers pass the SHA-256 of a
//! token, and look it up by the same hash. The rules (lifetimes, scopes, limits) are
//! kyso-app's; this module keeps the rows.

use kyso_model::AgencyId;
use kyso_office::StoreError;
use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Archive, backend_error};

fn text(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn time_of(value: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("time {value:?}: {e}")))
}

fn agency_of(value: &str) -> Result<AgencyId, StoreError> {
    AgencyId::parse_with(value, kyso_model::AgencyIdFormat::Lenient)
        .map_err(|e| StoreError::Corrupt(format!("agency {value:?}: {e}")))
}

/// A signed-in person's session (the cookie holds the token, the row its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 (hex) of the session token.
    pub token_hash: String,
    /// The user's agency.
    pub agency: AgencyId,
    /// The user's login name.
    pub user_name: String,
    /// SHA-256 (hex) of the CSRF token bound to the session.
    pub csrf_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// A machine client's token (a document-management system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// The agency it acts for.
    pub agency: AgencyId,
    /// A name unique in the agency (`dms`, `qlvb-2026`).
    pub name: String,
    /// Scope keys, space-separated in the database.
    pub scopes: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// Revoked tokens are kept (the audit log names them) but refused.
    pub revoked: bool,
}

impl Archive {
    // ---- sessions ------------------------------------------------------------------

    /// Stores a new session.
    pub async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO web_session (token_hash, agency, user_name, csrf_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.token_hash.clone())
        .bind(s.agency.to_string())
        .bind(s.user_name.clone())
        .bind(s.csrf_hash.clone())
        .bind(text(s.created_at))
        .bind(text(s.expires_at))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// The session with this token hash, if it exists and has not expired at `now`.
    pub async fn session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash, agency, user_name, csrf_hash, created_at, expires_at \
             FROM web_session WHERE token_hash = $1",
        )
        .bind(token_hash.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else { return Ok(None) };
        let get = |c: &str| -> Result<String, StoreError> { row.try_get(c).map_err(backend_error) };
        let s = SessionRow {
            token_hash: get("token_hash")?,
            agency: agency_of(&get("agency")?)?,
            user_name: get("user_name")?,
            csrf_hash: get("csrf_hash")?,
            created_at: time_of(&get("created_at")?)?,
            expires_at: time_of(&get("expires_at")?)?,
        };
        Ok((s.expires_at > now).then_some(s))
    }

    /// Ends a session (logout). Ending one that does not exist is not an error.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_session WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    /// Ends every session of a user (password change, account disabled).
    pub async fn delete_user_sessions(
        &self,
        agency: &AgencyId,
        user_name: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM web_session WHERE agency = $1 AND user_name = $2")
            .bind(agency.to_string())
            .bind(user_name.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(done.rows_affected())
    }

    /// Removes sessions expired at `now`.
    pub async fn purge_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM web_session WHERE expires_at <= $1")
            .bind(text(now))
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(done.rows_affected())
    }

    // ---- API tokens ------------------------------------------------------------------

    /// Stores a new API token; `Conflict`-like backend error if the name is taken.
    pub async fn create_api_token(&self, t: &ApiTokenRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_token (token_hash, agency, name, scopes, created_by, created_at, expires_at, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(t.token_hash.clone())
        .bind(t.agency.to_string())
        .bind(t.name.clone())
        .bind(t.scopes.join(" "))
        .bind(t.created_by.clone())
        .bind(text(t.created_at))
        .bind(text(t.expires_at))
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// The token with this hash (revoked and expired ones too: the caller decides).
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash, agency, name, scopes, created_by, created_at, expires_at, revoked \
             FROM api_token WHERE token_hash = $1",
        )
        .bind(token_hash.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else { return Ok(None) };
        let get = |c: &str| -> Result<String, StoreError> { row.try_get(c).map_err(backend_error) };
        let revoked: i64 = row.try_get("revoked").map_err(backend_error)?;
        Ok(Some(ApiTokenRow {
            token_hash: get("token_hash")?,
            agency: agency_of(&get("agency")?)?,
            name: get("name")?,
            scopes: get("scopes")?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            created_by: get("created_by")?,
            created_at: time_of(&get("created_at")?)?,
            expires_at: time_of(&get("expires_at")?)?,
            revoked: revoked != 0,
        }))
    }

    /// Revokes an agency's token by name; false if there is none.
    pub async fn revoke_api_token(
        &self,
        agency: &AgencyId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_token SET revoked = 1 WHERE agency = $1 AND name = $2")
            .bind(agency.to_string())
            .bind(name.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(done.rows_affected() > 0)
    }

    // ---- login throttling per address ------------------------------------------------

    /// Counts a failed login from `address`; returns the failures in the current window
    /// (a window older than `window` starts again at one).
    pub async fn note_address_failure(
        &self,
        address: &str,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<u32, StoreError> {
        // A write transaction from the start (SQLite: BEGIN IMMEDIATE — a read that later
        // writes would fail with "database is locked" when two logins fail at once), the
        // row present before it is read (PostgreSQL: locked by `FOR UPDATE`), so two
        // concurrent failures are both counted.
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO login_throttle (address, failures, window_start) VALUES ($1, 0, $2) \
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(address.to_string())
        .bind(text(now))
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        let select = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT failures, window_start FROM login_throttle WHERE address = $1"
            }
            crate::Backend::Postgres => {
                "SELECT failures, window_start FROM login_throttle WHERE address = $1 FOR UPDATE"
            }
        };
        let row = sqlx::query(select)
            .bind(address.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend_error)?;
        let start: String = row.try_get("window_start").map_err(backend_error)?;
        let count: i64 = row.try_get("failures").map_err(backend_error)?;
        let (count, start) = if time_of(&start)? + window <= now {
            (1, now)
        } else {
            (count + 1, time_of(&start)?)
        };
        sqlx::query(
            "UPDATE login_throttle SET failures = $1, window_start = $2 WHERE address = $3",
        )
        .bind(count)
        .bind(text(start))
        .bind(address.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        let failures = u32::try_from(count).unwrap_or(u32::MAX);
        tx.commit().await.map_err(backend_error)?;
        Ok(failures)
    }

    /// Failures from `address` in the current window (0 when the window has passed).
    pub async fn address_failures(
        &self,
        address: &str,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<u32, StoreError> {
        let row =
            sqlx::query("SELECT failures, window_start FROM login_throttle WHERE address = $1")
                .bind(address.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
        let Some(row) = row else { return Ok(0) };
        let start: String = row.try_get("window_start").map_err(backend_error)?;
        if time_of(&start)? + window <= now {
            return Ok(0);
        }
        let count: i64 = row.try_get("failures").map_err(backend_error)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Forgets an address's failures (after a successful login from it).
    pub async fn clear_address_failures(&self, address: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE address = $1")
            .bind(address.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    // ---- agencies and users across them ------------------------------------------------

    /// Records an agency hosted by this node (or renames it).
    pub async fn put_agency(
        &self,
        id: &AgencyId,
        name: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE agency SET name = $1 WHERE id = $2")
            .bind(name.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        if done.rows_affected() == 0 {
            sqlx::query("INSERT INTO agency (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(id.to_string())
                .bind(name.to_string())
                .bind(text(at))
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(())
    }

    /// The name of a hosted agency.
    pub async fn agency_name(&self, id: &AgencyId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT name FROM agency WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.map(|r| r.try_get::<String, _>("name").map_err(backend_error))
            .transpose()
    }

    /// Every user of every agency on this node.
    pub async fn all_users(&self) -> Result<Vec<kyso_office::User>, StoreError> {
        sqlx::query("SELECT user_json FROM app_user ORDER BY agency, name")
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| {
                let text: String = row.try_get("user_json").map_err(backend_error)?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("user_json: {e}")))
            })
            .collect()
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}
