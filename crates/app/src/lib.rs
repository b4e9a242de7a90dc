//! kyso's application layer: every use case once, as an async function of [`App`].
//!
//! The CLI (`kyso …`) and the server (`kyso serve`) parse their input, build an
//! [`Actor`], call a use case and render its result or its [`AppError`]; neither holds
//! workflow code of its own. Each use case authorises its actor through
//! [`actor::authorize`] before acting and records what it did as a typed
//! [`audit::AuditEvent`].
//!
//! `App` is built from ports: the store ([`kyso_store::Archive`]: documents, registers,
//! custody, sessions, the audit log and the originals' tree), a [`ports::Clock`], a
//! [`ports::Fetcher`] for revocation data, a [`ports::NodeLink`] to other nodes (when the
//! exchange is configured), and the data directory (trust store, search
//! index, log key).

pub mod actor;
pub mod audit;
pub mod ca;
pub mod custody;
pub mod demo;
pub mod directory;
pub mod documents;
mod error;
pub mod evidence;
pub mod exchange;
mod indexing;
pub mod interop;
pub mod origin;
pub mod outgoing;
pub mod ports;
pub mod records;
pub mod sessions;
pub mod signing;
pub mod trust;
pub mod verify;
pub mod work;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_office::Office;
use kyso_store::Archive;
use time::OffsetDateTime;

pub use actor::{Actor, Scope, TokenClient, authorize};
pub use audit::{AuditAction, AuditEvent};
pub use error::{AppError, AppResult, Kind};
pub use ports::{Clock, Fetcher, FixedClock, Offline, SystemClock};

/// Vietnam's civil time (UTC+7), in which dates of documents are given.
pub const VIETNAM: time::UtcOffset = match time::UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => time::UtcOffset::UTC,
};

/// `dd/mm/yyyy hh:mm:ss (+07:00)`: a time as agency staff read it.
pub fn vietnam_date_time(t: time::OffsetDateTime) -> String {
    let t = t.checked_to_offset(VIETNAM).unwrap_or(t);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02} (+07:00)",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The application: the store and the ports.
#[derive(Debug, Clone)]
pub struct App {
    office: Arc<Office<Archive>>,
    data: PathBuf,
    clock: Arc<dyn Clock>,
    fetcher: Arc<dyn Fetcher>,
    pkcs11_module: Option<PathBuf>,
    node: Option<Arc<origin::NodeIdentity>>,
    node_link: Option<Arc<dyn ports::NodeLink>>,
    indexer: Arc<indexing::Indexer>,
}

impl App {
    /// Opens the installation in `data`: SQLite `<data>/kyso.db` by default, or the
    /// PostgreSQL database at `database_url`; the archive tree under `<data>/archive`.
    /// System clock; revocation data fetched with kyso-net's defaults.
    pub async fn open(data: &Path, database_url: Option<&str>) -> AppResult<Self> {
        let archive = Archive::open_data_dir(data, database_url)
            .await
            .map_err(|e| {
                AppError::new(
                    Kind::Unavailable,
                    "store",
                    format!("không mở được kho lưu trữ trong {}: {e}", data.display()),
                    format!("cannot open the archive in {}: {e}", data.display()),
                )
            })?;
        Ok(Self::from_parts(
            archive,
            data,
            Arc::new(SystemClock),
            Arc::new(kyso_net::Client::new(kyso_net::NetConfig::default())),
        ))
    }

    /// An application over an opened store and the given ports.
    pub fn from_parts(
        archive: Archive,
        data: &Path,
        clock: Arc<dyn Clock>,
        fetcher: Arc<dyn Fetcher>,
    ) -> Self {
        Self {
            office: Arc::new(Office::new(archive)),
            data: data.to_path_buf(),
            clock,
            fetcher,
            pkcs11_module: None,
            node: None,
            node_link: None,
            indexer: Arc::default(),
        }
    }

    /// The same application with the agency device's PKCS#11 module (the vendor's
    /// library) for signing on the server.
    pub fn with_pkcs11_module(mut self, module: Option<PathBuf>) -> Self {
        self.pkcs11_module = module;
        self
    }

    /// The same application speaking to other nodes as `node` (the exchange: this
    /// node's certificate and key sign the origin of what it sends; in hub mode it
    /// also relays packages and statuses between other nodes).
    pub fn with_node(mut self, node: origin::NodeIdentity) -> Self {
        self.node = Some(Arc::new(node));
        self
    }

    /// The same application able to call other nodes through `link` (the exchange's
    /// mutual-TLS client: pulling the directory from a hub).
    pub fn with_node_link(mut self, link: Arc<dyn ports::NodeLink>) -> Self {
        self.node_link = Some(link);
        self
    }

    /// The client of other nodes, when the exchange is configured.
    pub(crate) fn node_link(&self) -> Option<Arc<dyn ports::NodeLink>> {
        self.node_link.clone()
    }

    /// This node's identity towards other nodes, when the exchange is configured.
    pub fn node(&self) -> Option<&origin::NodeIdentity> {
        self.node.as_deref()
    }

    /// The PKCS#11 module of the devices attached to this machine.
    pub fn pkcs11_module(&self) -> Option<PathBuf> {
        self.pkcs11_module.clone()
    }

    /// The same application with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same application with another fetcher.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = fetcher;
        self
    }

    /// The store.
    pub fn archive(&self) -> &Archive {
        self.office.store()
    }

    /// The office rules over the store.
    pub fn office(&self) -> &Office<Archive> {
        &self.office
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The fetcher of revocation data.
    pub fn fetcher(&self) -> &dyn Fetcher {
        self.fetcher.as_ref()
    }

    /// The fetcher, shared (for blocking tasks).
    pub fn fetcher_arc(&self) -> Arc<dyn Fetcher> {
        Arc::clone(&self.fetcher)
    }

    /// Now (UTC, whole seconds).
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Now, and today's date in Vietnam.
    pub fn now_and_today(&self) -> (OffsetDateTime, time::Date) {
        let now = self.now();
        (now, now.to_offset(VIETNAM).date())
    }

    /// Records `event` in the audit log.
    pub async fn record(&self, event: AuditEvent) -> AppResult<kyso_audit::Entry> {
        audit::record(self.archive(), &self.data, event).await
    }

    /// Authorises `actor` for `action` on `object`; a refusal is recorded in the audit
    /// log (outcome `refused`, with its code) before it is returned.
    pub async fn allow(
        &self,
        actor: &Actor,
        action: kyso_office::Action<'_>,
        object: &str,
    ) -> AppResult<()> {
        match authorize(actor, action) {
            Ok(()) => Ok(()),
            Err(refusal) => {
                // Reading is not logged when refused: only changes and their refusals are
                // security events worth a log entry.
                if !matches!(action, kyso_office::Action::ViewDocuments) {
                    self.record(
                        AuditEvent::new(
                            actor.audit_name(),
                            AuditAction::of(&action),
                            object,
                            kyso_audit::Outcome::Refused,
                        )
                        .with("reason", refusal.code.clone()),
                    )
                    .await?;
                }
                Err(refusal)
            }
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ready(&self) -> AppResult<()> {
        Ok(self.archive().ping().await?)
    }
}
