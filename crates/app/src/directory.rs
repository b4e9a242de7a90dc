//! The directory pulled from a hub node.
//!
//! A node answers `GET /exchange/v1/directory` on its exchange listener (mutual TLS:
//! only nodes with a node-CA certificate read it) with [`DirectoryAnswer`]: the agencies
//! it hosts and, in hub mode, the agencies on other nodes it relays for — each with its
//! name, its signing certificates (SHA-256) and the SHA-256 of the certificate of the
//! node that *creates* its packages and statuses (this node for its own agencies, the
//! far node for the relayed ones).
//!
//! [`App::pull_directory`] (administrator) fetches a hub's answer and files every valid
//! entry as reached **through the hub** (`node_url` = the hub's exchange URL) with that
//! origin certificate as `node_certificate`. Transport and origin are two things: a
//! package goes to the hub, which relays it; what comes back from a far node through
//! the hub carries the far node's origin signature, and the receiver checks the origin
//! certificate against `node_certificate` (see [`crate::origin`]) — so the pulled entry
//! pins the far node, not the hub, and the hub cannot speak for the agencies it relays.
//!
//! Merging: an agency the directory lacks is added; one already reached through the
//! same hub (`node_url` = the hub's URL: the directory records no provenance, and an
//! entry routed through a hub is that hub's to keep current) is updated when the
//! answer differs; an agency hosted here, or reached through another node, is never
//! touched (skipped with the reason) — a hub cannot turn a hosted agency remote or
//! divert an agency the administrator routes elsewhere.

use std::collections::HashSet;

use kyso_audit::Outcome;
use kyso_office::Action;
use kyso_store::AgencyRow;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult, Kind};
use crate::exchange::{NewAgency, agency_row, parse_agency};

/// The format tag of a directory answer.
pub const DIRECTORY_FORMAT: &str = "kyso-directory/1";
/// The path of the directory on an exchange listener.
pub const DIRECTORY_PATH: &str = "/exchange/v1/directory";
/// At most this many entries in an answer.
pub const MAX_ENTRIES: usize = 5_000;
/// At most this many signing certificates per entry.
pub const MAX_SIGNING_CERTIFICATES: usize = 32;

/// A node's directory as other nodes read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAnswer {
    /// [`DIRECTORY_FORMAT`].
    pub format: String,
    /// The SHA-256 (hex) of the answering node's certificate.
    pub node_certificate: String,
    /// Whether the answering node relays (hub mode).
    pub relay: bool,
    /// The agencies reachable through the answering node.
    pub agencies: Vec<DirectoryEntry>,
}

/// One agency of a [`DirectoryAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// Mã định danh.
    pub id: String,
    /// Name.
    pub name: String,
    /// Hosted on the answering node (else relayed by it).
    pub hosted: bool,
    /// The SHA-256 (hex) of the certificate of the node that creates the agency's
    /// packages and statuses (their origin): the answering node's for its own agencies,
    /// the far node's for those it relays for.
    pub node_certificate: String,
    /// The SHA-256 (hex) of the certificates the agency signs with.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
}

/// An entry of a pulled directory that was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedEntry {
    /// The agency as the hub gave it.
    pub id: String,
    /// Why, as a code: `hosted_here`, `other_node`, `duplicate`, or the validation
    /// error's code.
    pub code: String,
    /// Why, in Vietnamese.
    pub reason: String,
    /// Why, in English.
    pub reason_en: String,
}

/// What [`App::pull_directory`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// The hub's exchange URL (what the pulled entries' `node_url` is).
    pub hub_url: String,
    /// The agencies added.
    pub added: Vec<String>,
    /// The agencies updated (name, node certificate or signing certificates changed).
    pub updated: Vec<String>,
    /// How many entries were already as the hub gives them.
    pub unchanged: usize,
    /// The entries not taken, and why.
    pub skipped: Vec<SkippedEntry>,
}

/// What to do with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Add(AgencyRow),
    Update(AgencyRow),
    Unchanged,
    Skip(SkippedEntry),
}

fn skipped(id: &str, error: &AppError) -> SkippedEntry {
    SkippedEntry {
        id: id.chars().take(64).collect(),
        code: error.code.clone(),
        reason: error.vi.clone(),
        reason_en: error.en.clone(),
    }
}

/// The hub's URL, checked and without a trailing `/`.
fn hub_url(text: &str) -> AppResult<String> {
    let url = text.trim().trim_end_matches('/');
    let host = url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            "hub_url",
            format!(
                "địa chỉ nút trục phải có dạng https://máy:cổng (bộ lắng nghe trao đổi): {text:?}"
            ),
            format!("the hub's URL must be https://host:port (its exchange listener): {text:?}"),
        ));
    }
    Ok(url.to_string())
}

/// One entry checked and compared with the directory.
fn step(existing: Option<&AgencyRow>, hub: &str, entry: &DirectoryEntry) -> Step {
    let id = match parse_agency(&entry.id) {
        Ok(id) => id,
        Err(e) => return Step::Skip(skipped(&entry.id, &e)),
    };
    if entry.signing_certificates.len() > MAX_SIGNING_CERTIFICATES {
        return Step::Skip(skipped(
            &entry.id,
            &AppError::invalid(
                "signing_certificate",
                format!("quá {MAX_SIGNING_CERTIFICATES} chứng thư ký cho một cơ quan"),
                format!("more than {MAX_SIGNING_CERTIFICATES} signing certificates for one agency"),
            ),
        ));
    }
    if entry.node_certificate.trim().is_empty() {
        return Step::Skip(skipped(
            &entry.id,
            &AppError::invalid(
                "node_certificate",
                "thiếu dấu vân tay chứng thư của nút tạo gói tin cho cơ quan",
                "the fingerprint of the node creating the agency's packages is missing",
            ),
        ));
    }
    let row = match agency_row(
        id,
        NewAgency {
            id: entry.id.clone(),
            name: entry.name.clone(),
            node_url: Some(hub.to_string()),
            node_certificate: Some(entry.node_certificate.clone()),
            signing_certificates: entry.signing_certificates.clone(),
        },
    ) {
        Ok(row) => row,
        Err(e) => return Step::Skip(skipped(&entry.id, &e)),
    };
    match existing {
        None => Step::Add(row),
        Some(old) if old.hosted => Step::Skip(skipped(
            &entry.id,
            &AppError::new(
                Kind::Conflict,
                "hosted_here",
                format!(
                    "cơ quan {} đặt trên nút này: không thay bằng mục của nút trục",
                    row.id
                ),
                format!(
                    "agency {} is hosted on this node: not replaced by the hub's entry",
                    row.id
                ),
            ),
        )),
        Some(old) if old.node_url.as_deref() != Some(hub) => Step::Skip(skipped(
            &entry.id,
            &AppError::new(
                Kind::Conflict,
                "other_node",
                format!(
                    "danh bạ đi đến cơ quan {} qua nút khác ({}): quản trị viên sửa mục đó nếu muốn đi qua nút trục",
                    row.id,
                    old.node_url.as_deref().unwrap_or("-")
                ),
                format!(
                    "the directory reaches agency {} through another node ({}): an administrator changes that entry to go through the hub",
                    row.id,
                    old.node_url.as_deref().unwrap_or("-")
                ),
            ),
        )),
        Some(old) if *old == row => Step::Unchanged,
        Some(_) => Step::Update(row),
    }
}

/// What to do with every entry of `answer`, given the directory `existing`.
fn plan(existing: &[AgencyRow], hub: &str, answer: &DirectoryAnswer) -> Vec<Step> {
    let mut seen = HashSet::new();
    answer
        .agencies
        .iter()
        .map(|entry| {
            let key = entry.id.trim().to_string();
            if !seen.insert(key) {
                return Step::Skip(skipped(
                    &entry.id,
                    &AppError::invalid(
                        "duplicate",
                        "cơ quan có hai lần trong danh bạ của nút trục",
                        "the agency is twice in the hub's directory",
                    ),
                ));
            }
            let old = parse_agency(&entry.id)
                .ok()
                .and_then(|id| existing.iter().find(|a| a.id == id));
            step(old, hub, entry)
        })
        .collect()
}

fn hub_error(
    code: &str,
    hub: &str,
    vi: impl std::fmt::Display,
    en: impl std::fmt::Display,
) -> AppError {
    AppError::new(
        Kind::Unavailable,
        code,
        format!("nút trục {hub}: {vi}"),
        format!("hub {hub}: {en}"),
    )
}

/// The answer of a hub, checked as a whole.
fn parse_answer(hub: &str, status: u16, body: &[u8]) -> AppResult<DirectoryAnswer> {
    if status != 200 {
        let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
        return Err(hub_error(
            "hub_refused",
            hub,
            format!("trả lời HTTP {status} khi đọc danh bạ: {text}"),
            format!("answered HTTP {status} to the directory request: {text}"),
        ));
    }
    let answer: DirectoryAnswer = serde_json::from_slice(body).map_err(|e| {
        hub_error(
            "hub_answer",
            hub,
            format!("danh bạ trả về không đọc được: {e}"),
            format!("its directory cannot be read: {e}"),
        )
    })?;
    if answer.format != DIRECTORY_FORMAT {
        return Err(hub_error(
            "hub_answer",
            hub,
            format!("định dạng danh bạ không hỗ trợ {:?}", answer.format),
            format!("unsupported directory format {:?}", answer.format),
        ));
    }
    if answer.agencies.len() > MAX_ENTRIES {
        return Err(hub_error(
            "hub_answer",
            hub,
            format!("danh bạ có quá {MAX_ENTRIES} cơ quan"),
            format!("the directory has more than {MAX_ENTRIES} agencies"),
        ));
    }
    Ok(answer)
}

impl App {
    /// This node's directory as other nodes read it (`GET /exchange/v1/directory` on
    /// the exchange listener; `peer`: the client certificate the TLS handshake
    /// verified). The agencies hosted here and, in hub mode, those on other nodes this
    /// node relays for (their node known with its certificate).
    pub async fn directory_answer(&self, peer: Option<&[u8]>) -> AppResult<DirectoryAnswer> {
        let Some(node) = self.node() else {
            return Err(not_configured());
        };
        if peer.is_none() {
            return Err(AppError::new(
                Kind::Unauthenticated,
                "no_client_certificate",
                "cần chứng thư của nút",
                "a node certificate is required",
            ));
        }
        let own = node.fingerprint();
        let agencies = self
            .archive()
            .agencies()
            .await?
            .into_iter()
            .filter_map(|a| {
                let node_certificate = if a.hosted {
                    own.clone()
                } else if node.relays() && a.node_url.is_some() {
                    a.node_certificate.clone()?
                } else {
                    return None;
                };
                Some(DirectoryEntry {
                    id: a.id.to_string(),
                    name: a.name,
                    hosted: a.hosted,
                    node_certificate,
                    signing_certificates: a.signing_certificates,
                })
            })
            .collect();
        Ok(DirectoryAnswer {
            format: DIRECTORY_FORMAT.to_string(),
            node_certificate: own,
            relay: node.relays(),
            agencies,
        })
    }

    /// Pulls the directory of the hub at `hub_url` (its exchange listener,
    /// `https://…`) and merges it (administrator): see the module documentation. Every
    /// entry added or changed is audited like [`App::add_agency`], and the pull itself
    /// with its counts.
    pub async fn pull_directory(&self, actor: &Actor, hub_url_text: &str) -> AppResult<PullReport> {
        self.allow(actor, Action::ManageAgencies, "directory:pull")
            .await?;
        let hub = hub_url(hub_url_text)?;
        let Some(link) = self.node_link() else {
            return Err(not_configured());
        };
        let url = format!("{hub}{DIRECTORY_PATH}");
        let fetched = tokio::task::spawn_blocking(move || link.get(&url))
            .await
            .map_err(AppError::internal)?;
        let answer = fetched
            .map_err(|e| {
                hub_error(
                    "hub_unreachable",
                    &hub,
                    format!("không kết nối được: {e}"),
                    format!("cannot be reached: {e}"),
                )
            })
            .and_then(|(status, body)| parse_answer(&hub, status, &body));
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                self.record(
                    AuditEvent::new(
                        actor.audit_name(),
                        AuditAction::AgencyDirectory,
                        "directory:pull",
                        Outcome::Failed,
                    )
                    .with("hub", hub.clone())
                    .with("reason", e.code.clone()),
                )
                .await?;
                return Err(e);
            }
        };
        let existing = self.archive().agencies().await?;
        let mut report = PullReport {
            hub_url: hub.clone(),
            added: Vec::new(),
            updated: Vec::new(),
            unchanged: 0,
            skipped: Vec::new(),
        };
        for step in plan(&existing, &hub, &answer) {
            let (row, change) = match step {
                Step::Add(row) => {
                    if let Err(e) = self.archive().add_agency(&row, self.now()).await {
                        // Added meanwhile by someone else: left as it is now.
                        let e: AppError = e.into();
                        report.skipped.push(skipped(row.id.as_ref(), &e));
                        continue;
                    }
                    report.added.push(row.id.to_string());
                    (row, "pull_add")
                }
                Step::Update(row) => {
                    if !self.archive().update_agency(&row).await? {
                        continue;
                    }
                    report.updated.push(row.id.to_string());
                    (row, "pull_update")
                }
                Step::Unchanged => {
                    report.unchanged += 1;
                    continue;
                }
                Step::Skip(entry) => {
                    report.skipped.push(entry);
                    continue;
                }
            };
            self.record(
                AuditEvent::new(
                    actor.audit_name(),
                    AuditAction::AgencyDirectory,
                    format!("agency:{}", row.id),
                    Outcome::Succeeded,
                )
                .with("change", change)
                .with("hub", hub.clone())
                .with("hosted", row.hosted.to_string())
                .with("node_url", row.node_url.clone().unwrap_or_default())
                .with(
                    "node_certificate",
                    row.node_certificate.clone().unwrap_or_default(),
                )
                .with("signing_certificates", row.signing_certificates.join(",")),
            )
            .await?;
        }
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::AgencyDirectory,
                "directory:pull",
                Outcome::Succeeded,
            )
            .with("hub", hub)
            .with("hub_certificate", answer.node_certificate.clone())
            .with("added", report.added.len().to_string())
            .with("updated", report.updated.len().to_string())
            .with("unchanged", report.unchanged.to_string())
            .with("skipped", report.skipped.len().to_string()),
        )
        .await?;
        Ok(report)
    }
}

fn not_configured() -> AppError {
    AppError::new(
        Kind::Conflict,
        "exchange_not_configured",
        "nút này chưa cấu hình trao đổi giữa các nút (--exchange-listen, --exchange-cert, --exchange-key, --exchange-ca)",
        "this node has no exchange between nodes configured (--exchange-listen, --exchange-cert, --exchange-key, --exchange-ca)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &str = "https://truc.example.gov.vn:8443";

    fn fp(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn row(id: &str, hosted: bool, node_url: Option<&str>) -> AgencyRow {
        AgencyRow {
            id: parse_agency(id).unwrap(),
            name: "Cơ quan".into(),
            hosted,
            node_url: node_url.map(str::to_string),
            node_certificate: (!hosted).then(|| fp('a')),
            signing_certificates: Vec::new(),
        }
    }

    fn entry(id: &str, name: &str) -> DirectoryEntry {
        DirectoryEntry {
            id: id.into(),
            name: name.into(),
            hosted: false,
            node_certificate: fp('a'),
            signing_certificates: vec![fp('b')],
        }
    }

    fn answer(agencies: Vec<DirectoryEntry>) -> DirectoryAnswer {
        DirectoryAnswer {
            format: DIRECTORY_FORMAT.into(),
            node_certificate: fp('c'),
            relay: true,
            agencies,
        }
    }

    #[test]
    fn merges_without_touching_hosted_or_other_nodes() {
        let existing = [
            row("000.00.00.H13", true, None),
            row("000.00.00.H41", false, Some("https://other.example.gov.vn")),
            row("000.00.00.H42", false, Some(HUB)),
        ];
        let mut same = entry("000.00.00.H43", "Sở Xây dựng");
        same.signing_certificates.clear();
        let mut existing = existing.to_vec();
        existing.push(AgencyRow {
            name: "Sở Xây dựng".into(),
            ..row("000.00.00.H43", false, Some(HUB))
        });
        let steps = plan(
            &existing,
            HUB,
            &answer(vec![
                entry("000.00.00.H13", "Tên khác"),
                entry("000.00.00.H41", "Văn phòng"),
                entry("000.00.00.H42", "Sở Tài chính"),
                same,
                entry("000.00.00.H44", "Sở Y tế"),
                entry("000.00.00.H44", "Sở Y tế"),
                entry("not an id", "?"),
                DirectoryEntry {
                    signing_certificates: vec!["xyz".into()],
                    ..entry("000.00.00.H45", "Sở Nội vụ")
                },
                DirectoryEntry {
                    node_certificate: String::new(),
                    ..entry("000.00.00.H46", "Sở Tư pháp")
                },
            ]),
        );
        let code = |s: &Step| match s {
            Step::Skip(e) => e.code.clone(),
            Step::Add(_) => "add".into(),
            Step::Update(_) => "update".into(),
            Step::Unchanged => "unchanged".into(),
        };
        let codes: Vec<String> = steps.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                "hosted_here",
                "other_node",
                "update",
                "unchanged",
                "add",
                "duplicate",
                "bad_agency_id",
                "signing_certificate",
                "node_certificate"
            ]
        );
        // A pulled entry goes through the hub and pins the origin node's certificate.
        let Step::Add(added) = &steps[4] else {
            panic!("{steps:?}")
        };
        assert!(!added.hosted);
        assert_eq!(added.node_url.as_deref(), Some(HUB));
        assert_eq!(added.node_certificate, Some(fp('a')));
        assert_eq!(added.signing_certificates, [fp('b')]);
    }

    #[test]
    fn hub_urls_and_answers_are_checked() {
        assert_eq!(
            hub_url(" https://truc:8443/ ").unwrap(),
            "https://truc:8443"
        );
        for bad in ["http://truc", "https://", "truc", "https://a b"] {
            assert_eq!(hub_url(bad).unwrap_err().code, "hub_url", "{bad}");
        }
        let body = serde_json::to_vec(&answer(vec![entry("000.00.00.H44", "Sở Y tế")])).unwrap();
        assert_eq!(parse_answer(HUB, 200, &body).unwrap().agencies.len(), 1);
        assert_eq!(
            parse_answer(HUB, 403, b"no").unwrap_err().code,
            "hub_refused"
        );
        assert_eq!(
            parse_answer(HUB, 200, b"[]").unwrap_err().code,
            "hub_answer"
        );
        let many = answer(vec![entry("000.00.00.H44", "x"); MAX_ENTRIES + 1]);
        let body = serde_json::to_vec(&many).unwrap();
        let e = parse_answer(HUB, 200, &body).unwrap_err();
        assert_eq!((e.code.as_str(), e.kind), ("hub_answer", Kind::Unavailable));
    }
}
