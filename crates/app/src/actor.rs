//! Who acts, and the one authorisation function every use case calls.

use kyso_model::AgencyId;
use kyso_office::{Action, User};
use serde::Serialize;

use crate::error::{AppError, AppResult, Kind};

/// What a machine client's API token may do. A token never manages users, devices,
/// policy or the audit log, and never signs with the agency's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Scope {
    /// Read documents, registers, the archive tree, search.
    #[serde(rename = "documents:read")]
    DocumentsRead,
    /// Upload drafts, file documents into the archive.
    #[serde(rename = "documents:write")]
    DocumentsWrite,
    /// Take register numbers and move documents through their lifecycle.
    #[serde(rename = "documents:advance")]
    DocumentsAdvance,
}

impl Scope {
    /// All scopes.
    pub const ALL: [Scope; 3] = [
        Scope::DocumentsRead,
        Scope::DocumentsWrite,
        Scope::DocumentsAdvance,
    ];

    /// Stable key, as stored and as given on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Scope::DocumentsRead => "documents:read",
            Scope::DocumentsWrite => "documents:write",
            Scope::DocumentsAdvance => "documents:advance",
        }
    }

    /// The scope of a key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The scope an action needs, or `None` when no token may do it.
    pub fn needed_for(action: &Action<'_>) -> Option<Scope> {
        match action {
            Action::ViewDocuments => Some(Scope::DocumentsRead),
            Action::FileDocument => Some(Scope::DocumentsWrite),
            // A signature of the flow is a person's act (the leader; the device's
            // custodian), never a machine client's.
            Action::Advance(kyso_office::Event::LeaderSign | kyso_office::Event::SealSign) => None,
            // A document-management system drives the exchange as it drives the steps.
            Action::TakeNumber
            | Action::Advance(_)
            | Action::ExportRecords
            | Action::SendDocument
            | Action::AnswerRecall => Some(Scope::DocumentsAdvance),
            _ => None,
        }
    }
}

/// A machine client, authenticated by its API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClient {
    /// The agency it acts for.
    pub agency: AgencyId,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

/// `os:NAME` of the operating-system user running this process.
pub fn os_user() -> String {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("os:{name}")
}

/// Who asks a use case to act.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A signed-in person (password or certificate login; a web session).
    User(User),
    /// A machine client with an API token.
    Token(TokenClient),
    /// The operating-system account that owns the data directory, running `kyso` on the
    /// server itself without `--user`: it can read and write every file of the
    /// installation anyway, so it may do what the files allow; every change it makes is
    /// recorded as `os:NAME`. Never created by the server.
    Operator {
        /// `os:NAME`.
        name: String,
        /// The agency it works on.
        agency: AgencyId,
    },
}

impl Actor {
    /// The operating-system user running this process.
    pub fn operator(agency: AgencyId) -> Self {
        Actor::Operator {
            name: os_user(),
            agency,
        }
    }

    /// The agency the actor belongs to; every use case works inside it.
    pub fn agency(&self) -> &AgencyId {
        match self {
            Actor::User(u) => &u.agency,
            Actor::Token(t) => &t.agency,
            Actor::Operator { agency, .. } => agency,
        }
    }

    /// The name written in the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::User(u) => u.name.clone(),
            Actor::Token(t) => format!("token:{}", t.name),
            Actor::Operator { name, .. } => name.clone(),
        }
    }

    /// The signed-in person, if the actor is one.
    pub fn user(&self) -> Option<&User> {
        match self {
            Actor::User(u) => Some(u),
            _ => None,
        }
    }
}

/// Decides whether `actor` may do `action`: people by their roles
/// ([`kyso_office::authorize`]), tokens by their scopes, the operator always. The one
/// authorisation function of kyso; use cases call it before acting.
pub fn authorize(actor: &Actor, action: Action<'_>) -> AppResult<()> {
    match actor {
        Actor::Operator { .. } => Ok(()),
        Actor::User(user) => Ok(kyso_office::authorize(user, action)?),
        Actor::Token(token) => match Scope::needed_for(&action) {
            Some(scope) if token.scopes.contains(&scope) => Ok(()),
            Some(scope) => Err(AppError::new(
                Kind::Forbidden,
                "missing_scope",
                format!("mã truy cập {} không có quyền {}", token.name, scope.key()),
                format!("API token {} lacks the scope {}", token.name, scope.key()),
            )),
            None => Err(AppError::new(
                Kind::Forbidden,
                "not_for_tokens",
                format!(
                    "mã truy cập {} không được làm việc này ({}); cần người dùng đăng nhập",
                    token.name,
                    action.key()
                ),
                format!(
                    "API token {} may not do this ({}); a signed-in person must",
                    token.name,
                    action.key()
                ),
            )),
        },
    }
}

/// Refuses access to another agency's data (the same answer as a missing document, so
/// that ids of other agencies do not leak).
pub fn same_agency(actor: &Actor, agency: &AgencyId, what: &str) -> AppResult<()> {
    if actor.agency() == agency {
        Ok(())
    } else {
        Err(AppError::not_found(
            format!("không tìm thấy {what}"),
            format!("not found: {what}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency() -> AgencyId {
        AgencyId::parse_with("000.00.00.H13", kyso_model::AgencyIdFormat::Lenient).unwrap()
    }

    #[test]
    fn tokens_act_only_within_their_scopes() {
        let token = Actor::Token(TokenClient {
            agency: agency(),
            name: "dms".into(),
            scopes: vec![Scope::DocumentsRead],
        });
        assert!(authorize(&token, Action::ViewDocuments).is_ok());
        let e = authorize(&token, Action::FileDocument).unwrap_err();
        assert_eq!((e.code.as_str(), e.http_status()), ("missing_scope", 403));
        // Never user management or the audit log, whatever the scopes.
        let all = Actor::Token(TokenClient {
            agency: agency(),
            name: "all".into(),
            scopes: Scope::ALL.to_vec(),
        });
        assert_eq!(
            authorize(&all, Action::ManageUsers).unwrap_err().code,
            "not_for_tokens"
        );
        assert_eq!(
            authorize(&all, Action::ViewAudit).unwrap_err().code,
            "not_for_tokens"
        );
        // Nor a signature of the flow: the leader's and the seal are people's acts.
        for event in [kyso_office::Event::LeaderSign, kyso_office::Event::SealSign] {
            assert_eq!(
                authorize(&all, Action::Advance(event)).unwrap_err().code,
                "not_for_tokens"
            );
        }
        assert!(authorize(&all, Action::Advance(kyso_office::Event::Accept)).is_ok());
    }

    #[test]
    fn people_act_by_role() {
        let clerk = User::new(
            agency(),
            "vanthu",
            "Lê Văn Thư",
            [kyso_office::Role::Clerk].into(),
        )
        .unwrap();
        let actor = Actor::User(clerk);
        assert!(authorize(&actor, Action::Advance(kyso_office::Event::Accept)).is_ok());
        let e = authorize(&actor, Action::Advance(kyso_office::Event::LeaderSign)).unwrap_err();
        assert_eq!((e.code.as_str(), e.exit_code()), ("missing_role", 3));
        assert!(authorize(&actor, Action::SetPolicy).is_err());
    }

    #[test]
    fn only_the_administrator_and_the_operator_seal_evidence() {
        let person =
            |role| Actor::User(User::new(agency(), "nguoi", "Người Thử", [role].into()).unwrap());
        assert!(
            authorize(
                &person(kyso_office::Role::Administrator),
                Action::SealEvidence
            )
            .is_ok()
        );
        for role in [kyso_office::Role::Clerk, kyso_office::Role::Leader] {
            let e = authorize(&person(role), Action::SealEvidence).unwrap_err();
            assert_eq!(e.code, "missing_role");
        }
        assert!(authorize(&Actor::operator(agency()), Action::SealEvidence).is_ok());
        let all = Actor::Token(TokenClient {
            agency: agency(),
            name: "all".into(),
            scopes: Scope::ALL.to_vec(),
        });
        assert_eq!(
            authorize(&all, Action::SealEvidence).unwrap_err().code,
            "not_for_tokens"
        );
    }
}
