//! Sessions: password login (Argon2id, per-account lock after repeated failures,
//! per-address throttling), web sessions with a CSRF token, API tokens for machine
//! clients, and the first administrator of a new installation.
//!
//! Secrets (session tokens, CSRF tokens, API tokens) are random 256-bit values shown once
//! to their holder; the database keeps only their SHA-256.

use std::collections::BTreeSet;

use base64::Engine;
use kyso_audit::Outcome;
use kyso_model::AgencyId;
use kyso_office::{Action, Role, User};
use kyso_signer::DigestAlgorithm;
use kyso_store::{ApiTokenRow, SessionRow};
use time::Duration;
use zeroize::Zeroizing;

use crate::App;
use crate::actor::{Actor, Scope, TokenClient};
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult, Kind};

/// How long a web session lasts (a working day and a little more).
pub const SESSION_HOURS: i64 = 10;
/// Failed logins from one address within [`ADDRESS_WINDOW_MINUTES`] before that address
/// is refused for the rest of the window.
pub const ADDRESS_MAX_FAILURES: u32 = 20;
/// The per-address window.
pub const ADDRESS_WINDOW_MINUTES: i64 = 15;
/// Prefix of API tokens (so that leaked ones are recognisable by secret scanners).
pub const API_TOKEN_PREFIX: &str = "kyso_";

/// A new random secret: 32 bytes, base64url.
pub(crate) fn secret() -> Zeroizing<String> {
    let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// SHA-256 (hex) of a secret, as stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(DigestAlgorithm::Sha256.digest(secret.as_bytes()))
}

/// Constant-time comparison of two hex hashes.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A session just created: the secrets go to the client once (cookie + page), never
/// into a log.
#[derive(Debug)]
pub struct NewSession {
    /// The session token (the cookie's value).
    pub token: Zeroizing<String>,
    /// The CSRF token the client sends back in `X-CSRF-Token` on changes.
    pub csrf: Zeroizing<String>,
    /// When it expires.
    pub expires_at: time::OffsetDateTime,
    /// Who.
    pub user: User,
}

/// A session found by its token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signed-in user, as the database has them now (roles, active).
    pub actor: Actor,
    /// The stored row (for the CSRF check).
    pub row: SessionRow,
}

impl Session {
    /// Checks the CSRF token of a cookie-authenticated change.
    pub fn check_csrf(&self, given: Option<&str>) -> AppResult<()> {
        match given {
            Some(token) if same_hash(&secret_hash(token), &self.row.csrf_hash) => Ok(()),
            _ => Err(AppError::new(
                Kind::Forbidden,
                "csrf",
                "thiếu hoặc sai mã chống giả mạo yêu cầu (X-CSRF-Token); hãy tải lại trang",
                "missing or wrong anti-forgery token (X-CSRF-Token); reload the page",
            )),
        }
    }
}

fn login_refused() -> AppError {
    AppError::new(
        Kind::Unauthenticated,
        "login_failed",
        "đăng nhập không thành công: sai tên đăng nhập hoặc thông tin xác thực",
        "login failed: wrong user name or credentials",
    )
}

impl App {
    /// The user signing in as `name`: in `agency`, or the only one of that name on this
    /// node.
    pub async fn find_login_user(
        &self,
        agency: Option<&AgencyId>,
        name: &str,
    ) -> AppResult<Option<User>> {
        match agency {
            Some(agency) => Ok(self.archive().user(agency, name).await?),
            None => {
                let mut found: Vec<User> = self
                    .archive()
                    .all_users()
                    .await?
                    .into_iter()
                    .filter(|u| u.name == name)
                    .collect();
                if found.len() > 1 {
                    return Err(AppError::invalid(
                        "agency_required",
                        "có nhiều cơ quan có người dùng tên này: hãy chọn cơ quan",
                        "several agencies have a user of this name: give the agency",
                    ));
                }
                Ok(found.pop())
            }
        }
    }

    /// The agency of the only user called `name` on this node; an unknown name fails
    /// like a wrong password.
    pub async fn agency_of_user(&self, name: &str) -> AppResult<AgencyId> {
        match self.find_login_user(None, name).await? {
            Some(u) => Ok(u.agency),
            None => {
                self.record(
                    AuditEvent::new(name, AuditAction::Login, name, Outcome::Failed)
                        .with("reason", "unknown_user")
                        .with("method", "certificate"),
                )
                .await?;
                Err(login_refused())
            }
        }
    }

    /// Password login. Counts failures on the account (the fifth in a row locks it for
    /// 15 minutes) and on the client address (`address`, when known); records every
    /// attempt in the audit log. The same answer for an unknown user and a wrong
    /// password, at the same cost.
    /// Without `agency`, the one agency on this node that has a user of that name is
    /// meant (several: the client must say which).
    pub async fn login_password(
        &self,
        agency: Option<&AgencyId>,
        name: &str,
        password: Zeroizing<String>,
        address: Option<&str>,
    ) -> AppResult<User> {
        let now = self.now();
        let window = Duration::minutes(ADDRESS_WINDOW_MINUTES);
        if let Some(addr) = address
            && self.archive().address_failures(addr, now, window).await? >= ADDRESS_MAX_FAILURES
        {
            self.record(
                AuditEvent::new(name, AuditAction::Login, name, Outcome::Refused)
                    .with("reason", "address_throttled")
                    .with("address", addr),
            )
            .await?;
            return Err(AppError::new(
                Kind::TooMany,
                "too_many_attempts",
                format!(
                    "quá nhiều lần đăng nhập sai từ địa chỉ này; thử lại sau {ADDRESS_WINDOW_MINUTES} phút"
                ),
                format!(
                    "too many failed logins from this address; try again in {ADDRESS_WINDOW_MINUTES} minutes"
                ),
            ));
        }
        let user = self.find_login_user(agency, name).await?;
        self.refuse_if_locked(name, user.as_ref()).await?;
        // Argon2id costs tens of milliseconds of CPU: off the async threads.
        let checked = {
            let candidate = user.clone();
            tokio::task::spawn_blocking(move || {
                kyso_office::check_password(candidate.as_ref(), &password)
            })
            .await
            .map_err(AppError::internal)?
        };
        let result = self.finish_login(name, user, checked, "password").await;
        match (&result, address) {
            (Ok(_), Some(addr)) => self.archive().clear_address_failures(addr).await?,
            (Err(_), Some(addr)) => {
                self.archive()
                    .note_address_failure(addr, now, window)
                    .await?;
            }
            _ => {}
        }
        result
    }

    /// The end of every login, whatever the method: counts the attempt on the account
    /// (the fifth failure in a row locks it for 15 minutes) and records it (and a lock)
    /// in the audit log. A failure is answered like a wrong password.
    pub async fn finish_login(
        &self,
        name: &str,
        mut user: Option<User>,
        checked: Result<(), kyso_office::LoginFailure>,
        method: &str,
    ) -> AppResult<User> {
        let now = self.now();
        let mut locked = false;
        if let Some(u) = user.as_mut() {
            let before = (u.failed_logins, u.locked_until);
            locked = u.note_login(checked.is_ok(), now);
            if (u.failed_logins, u.locked_until) != before {
                self.archive().update_user(u, now).await?;
            }
        }
        match checked {
            Ok(()) => {
                self.record(
                    AuditEvent::new(name, AuditAction::Login, name, Outcome::Succeeded)
                        .with("method", method),
                )
                .await?;
                user.ok_or_else(|| AppError::internal("a login succeeded without a user"))
            }
            Err(failure) => {
                self.record(
                    AuditEvent::new(name, AuditAction::Login, name, Outcome::Failed)
                        .with("method", method)
                        .with("reason", failure.reason),
                )
                .await?;
                if locked {
                    self.record(
                        AuditEvent::new(name, AuditAction::LoginLock, name, Outcome::Succeeded)
                            .with("minutes", kyso_office::LOCK_MINUTES.to_string()),
                    )
                    .await?;
                }
                Err(login_refused())
            }
        }
    }

    /// Refuses a login to a locked account (recorded), or says nothing.
    pub async fn refuse_if_locked(&self, name: &str, user: Option<&User>) -> AppResult<()> {
        let now = self.now();
        if let Some(u) = user.filter(|u| u.is_locked(now)) {
            self.record(
                AuditEvent::new(name, AuditAction::Login, name, Outcome::Refused)
                    .with("reason", "locked"),
            )
            .await?;
            let until = kyso_cades::report::vietnam_time(u.locked_until.unwrap_or(now));
            return Err(AppError::new(
                Kind::TooMany,
                "account_locked",
                format!("tài khoản {name} tạm khóa đến {until} do đăng nhập sai nhiều lần"),
                format!("account {name} is locked until {until} after repeated failed logins"),
            ));
        }
        Ok(())
    }

    /// Starts a web session for a user who just logged in.
    pub async fn start_session(&self, user: User) -> AppResult<NewSession> {
        let now = self.now();
        let token = secret();
        let csrf = secret();
        let expires_at = now + Duration::hours(SESSION_HOURS);
        self.archive().purge_sessions(now).await?;
        self.archive()
            .create_session(&SessionRow {
                token_hash: secret_hash(&token),
                agency: user.agency.clone(),
                user_name: user.name.clone(),
                csrf_hash: secret_hash(&csrf),
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(NewSession {
            token,
            csrf,
            expires_at,
            user,
        })
    }

    /// The session of a cookie's token: `Unauthenticated` when unknown, expired, or its
    /// user has since been disabled or removed.
    pub async fn session(&self, token: &str) -> AppResult<Session> {
        let row = self
            .archive()
            .session(&secret_hash(token), self.now())
            .await?
            .ok_or_else(AppError::unauthenticated)?;
        let user = self
            .archive()
            .user(&row.agency, &row.user_name)
            .await?
            .filter(|u| u.active)
            .ok_or_else(AppError::unauthenticated)?;
        Ok(Session {
            actor: Actor::User(user),
            row,
        })
    }

    /// Ends a session.
    pub async fn logout(&self, session: &Session) -> AppResult<()> {
        self.archive()
            .delete_session(&session.row.token_hash)
            .await?;
        let name = session.actor.audit_name();
        self.record(AuditEvent::new(
            name.clone(),
            AuditAction::Logout,
            name,
            Outcome::Succeeded,
        ))
        .await?;
        Ok(())
    }

    /// The client of an API token (`Authorization: Bearer kyso_…`).
    pub async fn token_client(&self, token: &str) -> AppResult<Actor> {
        let row = self
            .archive()
            .api_token(&secret_hash(token))
            .await?
            .filter(|t| !t.revoked && t.expires_at > self.now())
            .ok_or_else(|| {
                AppError::new(
                    Kind::Unauthenticated,
                    "bad_token",
                    "mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi",
                    "the API token is unknown, expired or revoked",
                )
            })?;
        Ok(Actor::Token(TokenClient {
            agency: row.agency,
            name: row.name,
            scopes: row
                .scopes
                .iter()
                .filter_map(|s| Scope::from_key(s))
                .collect(),
        }))
    }

    /// Creates an API token for a machine client of the actor's agency (administrators
    /// only); the token is returned once.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
        days: u32,
    ) -> AppResult<Zeroizing<String>> {
        self.allow(actor, Action::ManageUsers, &format!("token:{name}"))
            .await?;
        kyso_office::check_user_name(name).map_err(|_| {
            AppError::invalid(
                "token_name",
                "tên mã truy cập chỉ gồm chữ thường, số, '.', '_', '-'",
                "a token name is lowercase letters, digits, '.', '_', '-'",
            )
        })?;
        if scopes.is_empty() || days == 0 || days > 3660 {
            return Err(AppError::invalid(
                "token_request",
                "cần ít nhất một quyền và thời hạn từ 1 đến 3660 ngày",
                "give at least one scope and a lifetime of 1 to 3660 days",
            ));
        }
        let token = Zeroizing::new(format!("{API_TOKEN_PREFIX}{}", secret().as_str()));
        let now = self.now();
        let keys: BTreeSet<&str> = scopes.iter().map(|s| s.key()).collect();
        self.archive()
            .create_api_token(&ApiTokenRow {
                token_hash: secret_hash(&token),
                agency: actor.agency().clone(),
                name: name.to_string(),
                scopes: keys.iter().map(|s| s.to_string()).collect(),
                created_by: actor.audit_name(),
                created_at: now,
                expires_at: now + Duration::days(i64::from(days)),
                revoked: false,
            })
            .await
            .map_err(|e| match e {
                kyso_office::StoreError::Backend(_) => AppError::new(
                    Kind::Conflict,
                    "token_exists",
                    format!("đã có mã truy cập tên {name}"),
                    format!("a token named {name} exists"),
                ),
                other => other.into(),
            })?;
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::Permission,
                format!("token:{name}"),
                Outcome::Succeeded,
            )
            .with("scopes", keys.into_iter().collect::<Vec<_>>().join(" "))
            .with("days", days.to_string()),
        )
        .await?;
        Ok(token)
    }

    /// Revokes an API token of the actor's agency.
    pub async fn revoke_api_token(&self, actor: &Actor, name: &str) -> AppResult<()> {
        self.allow(actor, Action::ManageUsers, &format!("token:{name}"))
            .await?;
        if !self
            .archive()
            .revoke_api_token(actor.agency(), name)
            .await?
        {
            return Err(AppError::not_found(
                format!("không có mã truy cập {name}"),
                format!("no API token {name}"),
            ));
        }
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::Permission,
                format!("token:{name}"),
                Outcome::Succeeded,
            )
            .with("revoked", "true"),
        )
        .await?;
        Ok(())
    }

    /// Whether the installation still needs its first administrator (no user of any
    /// agency has the role).
    pub async fn needs_setup(&self) -> AppResult<bool> {
        let users = self.archive().all_users().await?;
        Ok(!users.iter().any(|u| u.has(Role::Administrator)))
    }

    /// The name of an agency hosted here (its identifier when none was recorded).
    pub async fn agency_name(&self, agency: &AgencyId) -> AppResult<String> {
        Ok(self
            .archive()
            .agency_name(agency)
            .await?
            .unwrap_or_else(|| agency.to_string()))
    }

    /// Creates the first administrator of the installation and records its agency (the
    /// one-time setup link of `kyso serve`). Refused once any administrator exists.
    pub async fn create_first_administrator(
        &self,
        agency: &AgencyId,
        agency_name: &str,
        name: &str,
        full_name: &str,
        password: Zeroizing<String>,
    ) -> AppResult<User> {
        if !self.needs_setup().await? {
            return Err(AppError::new(
                Kind::Conflict,
                "already_set_up",
                "hệ thống đã có quản trị viên; liên hệ quản trị viên để được cấp tài khoản",
                "the installation already has an administrator; ask them for an account",
            ));
        }
        if agency_name.trim().is_empty() || full_name.trim().is_empty() {
            return Err(AppError::invalid(
                "setup_fields",
                "cần tên cơ quan và họ tên quản trị viên",
                "the agency's name and the administrator's full name are required",
            ));
        }
        let mut user = User::new(
            agency.clone(),
            name,
            full_name,
            [Role::Administrator].into_iter().collect(),
        )?;
        let salt = rand::random::<[u8; 16]>();
        let hash =
            tokio::task::spawn_blocking(move || kyso_office::hash_password(&password, &salt))
                .await
                .map_err(AppError::internal)??;
        user.password_hash = Some(hash);
        let now = self.now();
        self.archive()
            .put_agency(agency, agency_name.trim(), now)
            .await?;
        self.archive().create_user(&user, now).await?;
        self.record(
            AuditEvent::new(
                format!("setup:{name}"),
                AuditAction::Setup,
                name,
                Outcome::Succeeded,
            )
            .with("roles", "administrator"),
        )
        .await?;
        Ok(user)
    }
}
