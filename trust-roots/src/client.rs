//! A TUF client with a local metadata directory: the full client workflow
//! (spec §5), with the trusted metadata kept under non-versioned names
//! (`root.json`, `timestamp.json`, `snapshot.json`, `targets.json`,
//! `<quoted role>.json`) and targets cached by hash.
//!
//! This is what `airlock-tuf-client` (the tuf-conformance client-under-test)
//! drives. It uses the same workflow and checks as `trust fetch` and
//! `trust verify`; what it adds is the stored state: each accepted file is
//! persisted as soon as it is accepted (so a rotated root survives a later
//! failure), and stored timestamp/snapshot/targets are rollback floors for
//! the next refresh.

use crate::chain::{self, Limits, TrustedSet};
use crate::error::{Error, Result};
use crate::fetch::HttpSource;
use crate::names;
use crate::refresh::{LocalStore, Updater};
use crate::files::{read_blob, read_bounded, write_atomic};
use crate::time::ReferenceTime;
use std::path::{Path, PathBuf};

/// `init`: trust `root_file` on first use. It must parse and be signed by
/// its own root keys; it is stored as `root.json` in `metadata_dir`.
pub fn init(metadata_dir: &Path, root_file: &Path) -> Result<()> {
    let limits = Limits::default();
    let bytes = read_bounded(root_file, limits.root)?;
    TrustedSet::from_pinned_root(&bytes, &root_file.display().to_string())?;
    write_atomic(&metadata_dir.join("root.json"), &bytes)
}

/// A TUF client over an HTTP(S) repository with a local metadata directory.
#[derive(Debug, Clone)]
pub struct TufClient {
    metadata_dir: PathBuf,
    metadata_url: String,
    target_base_url: Option<String>,
    limits: Limits,
}

impl TufClient {
    /// A client for `metadata_url`, keeping its trusted metadata in
    /// `metadata_dir` (which `init` has seeded with a root.json).
    pub fn new(metadata_dir: &Path, metadata_url: &str) -> Self {
        Self {
            metadata_dir: metadata_dir.to_path_buf(),
            metadata_url: metadata_url.to_string(),
            target_base_url: None,
            limits: Limits::default(),
        }
    }

    /// Where targets are downloaded from (default `<metadata_url>/targets/`).
    pub fn with_target_base_url(mut self, url: &str) -> Self {
        self.target_base_url = Some(url.to_string());
        self
    }

    /// Override the size and count bounds.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// `refresh`: update the top-level metadata (§5.3 to §5.6) at `time`.
    pub async fn refresh(&self, time: ReferenceTime) -> Result<()> {
        let store = LocalStore::new(&self.metadata_dir);
        let http = HttpSource::new(&self.metadata_url, self.target_base_url.as_deref())?;
        let root = self.trusted_root(&store)?;
        let mut updater = Updater::new(&root, "root.json", &http, Some(&store), self.limits, time)?;
        updater.refresh().await?;
        updater.second_opinion()
    }

    /// `download`: refresh, then resolve each target through the delegation
    /// tree (§5.7), download it within its signed length, check its hashes
    /// and store it in `target_dir` under its percent-encoded name. A target
    /// already there with the signed length and hashes is not downloaded
    /// again.
    pub async fn download(
        &self,
        targets: &[String],
        target_dir: &Path,
        time: ReferenceTime,
    ) -> Result<()> {
        let store = LocalStore::new(&self.metadata_dir);
        let http = HttpSource::new(&self.metadata_url, self.target_base_url.as_deref())?;
        let root = self.trusted_root(&store)?;
        let mut updater = Updater::new(&root, "root.json", &http, Some(&store), self.limits, time)?;
        updater.refresh().await?;
        for name in targets {
            let resolved = updater
                .resolve(name)
                .await?
                .ok_or_else(|| Error::TargetNotFound { name: name.clone() })?;
            let path = target_dir.join(names::target_file(name)?);
            if cached(&path, name, &resolved) {
                continue;
            }
            let blob = updater.fetch_target(name, &resolved).await?;
            updater.second_opinion()?;
            write_atomic(&path, &blob.bytes)?;
        }
        updater.second_opinion()
    }

    fn trusted_root(&self, store: &LocalStore) -> Result<Vec<u8>> {
        store
            .load("root.json", self.limits.root)?
            .ok_or_else(|| Error::MissingFile {
                file: self.metadata_dir.join("root.json").display().to_string(),
                needed_by: "the client (run init first)".into(),
            })
    }
}

/// Whether `path` already holds the target with its signed length and
/// hashes.
fn cached(path: &Path, name: &str, resolved: &crate::refresh::Resolved) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    read_blob(file, path, name.to_string(), resolved.info.length)
        .and_then(|blob| chain::check_target(&blob, &resolved.info, name, &resolved.role))
        .is_ok()
}
