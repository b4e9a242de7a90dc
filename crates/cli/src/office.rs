//! The office commands' context (`kyso archive`, `register`, `search`, `user`, `device`):
//! a runtime and the [`kyso_app::App`] of the data directory for one agency, and the
//! search index rebuilt with a progress bar. Plumbing only: every use case is kyso-app's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kyso_app::Actor;
use kyso_model::AgencyId;
use kyso_search::{Index, IndexOptions, Phase, RebuildStats, SearchDoc, SearchError};
use kyso_store::Archive;

use crate::args::OfficeArgs;

pub(crate) struct Ctx {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) app: kyso_app::App,
    pub(crate) agency: AgencyId,
    pub(crate) agency_name: String,
    pub(crate) data: PathBuf,
}

impl Ctx {
    pub(crate) fn open(data: &Path, args: &OfficeArgs) -> Result<Self> {
        let agency = AgencyId::parse_with(&args.agency_id, kyso_model::AgencyIdFormat::Lenient)
            .with_context(|| format!("invalid agency id {:?}", args.agency_id))?;
        let (rt, archive) = Self::open_archive(data, args.database_url.as_deref())?;
        let agency_name = args
            .agency_name
            .clone()
            .unwrap_or_else(|| agency.to_string());
        Ok(Self::from_parts(rt, archive, agency, agency_name, data))
    }

    /// The runtime and the store of a data directory, before the agency is known.
    pub(crate) fn open_archive(
        data: &Path,
        database_url: Option<&str>,
    ) -> Result<(tokio::runtime::Runtime, Archive)> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let archive = rt
            .block_on(Archive::open_data_dir(data, database_url))
            .with_context(|| format!("cannot open the archive in {}", data.display()))?;
        Ok((rt, archive))
    }

    /// A context over an opened store.
    pub(crate) fn from_parts(
        rt: tokio::runtime::Runtime,
        archive: Archive,
        agency: AgencyId,
        agency_name: String,
        data: &Path,
    ) -> Self {
        let app = kyso_app::App::from_parts(
            archive,
            data,
            std::sync::Arc::new(kyso_app::SystemClock),
            std::sync::Arc::new(kyso_net::Client::default()),
        );
        Self {
            rt,
            app,
            agency,
            agency_name,
            data: data.to_path_buf(),
        }
    }

    pub(crate) fn archive(&self) -> &Archive {
        self.app.archive()
    }

    pub(crate) fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The actor of office commands run on the data directory without a kyso login:
    /// the operating-system user (see [`kyso_app::Actor::Operator`]).
    pub(crate) fn operator(&self) -> Actor {
        Actor::operator(self.agency.clone())
    }
}

/// Where the search index lives (as [`kyso_app::App::index_dir`]).
pub(crate) fn index_dir(data: &Path) -> PathBuf {
    data.join("index")
}

/// Rebuilds the index in DATA/index from `docs`, with a progress bar on a terminal.
/// An index of another schema version is deleted and rebuilt.
pub(crate) fn rebuild_with_progress<I, E>(data: &Path, docs: I) -> Result<RebuildStats>
where
    I: IntoIterator<Item = Result<SearchDoc, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let dir = index_dir(data);
    let index = match Index::open(&dir) {
        Ok(index) => index,
        Err(SearchError::Incompatible { .. }) => Index::recreate(&dir, IndexOptions::default())?,
        Err(e) => return Err(e.into()),
    };
    let docs = docs.into_iter();
    let pb = match docs.size_hint() {
        (low, Some(high)) if low == high => ProgressBar::new(low as u64),
        _ => ProgressBar::new_spinner(),
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} chỉ mục / indexing [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stats = index.try_rebuild(docs, &mut |p| match p.phase {
        Phase::Indexing => pb.set_position(p.indexed),
        Phase::Committing => pb.set_message("ghi / committing"),
        Phase::Merging => pb.set_message("gộp phân đoạn / merging"),
        Phase::Done => pb.finish_and_clear(),
    });
    pb.finish_and_clear();
    Ok(stats?)
}
