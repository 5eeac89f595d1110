//! The TUF client workflow (spec §5.3 to §5.7) over any source of bytes.
//!
//! [`Updater`] drives a [`TrustedSet`] through root rotation, timestamp,
//! snapshot, targets and delegated targets, asking a [`Source`] for each
//! file by its published name and bounding every read. Three sources use
//! it: a snapshot directory (offline `trust verify`), an HTTP mirror
//! (`trust fetch`, feature `fetch`) and the tuf-conformance client, which
//! also keeps its trusted metadata in a [`LocalStore`].
//!
//! The workflow is `async` so an HTTP source can await; a snapshot
//! directory's futures are always ready, and [`run_ready`] polls them to
//! completion without an executor.

use crate::chain::{self, Accepted, Blob, Limits, TimestampUpdate, TrustedSet};
use crate::error::{Error, Result};
use crate::names;
use crate::time::ReferenceTime;
use sigstore_tuf::TargetFile;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where metadata and target bytes come from.
pub(crate) trait Source: Sync {
    /// A metadata file by published name (`2.root.json`, `timestamp.json`,
    /// `7.snapshot.json`, `3.role%2Fname.json`), at most `max_length` bytes;
    /// `Ok(None)` when absent.
    fn metadata(
        &self,
        name: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send;

    /// A target, at most `max_length` bytes. `name` is its TUF target path;
    /// `repo_path` its (URL-quoted, hash-prefixed when consistent) path on a
    /// mirror.
    fn target(
        &self,
        name: &str,
        repo_path: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send;
}

/// A client's trusted metadata on disk, under non-versioned names
/// (`root.json`, `timestamp.json`, `<quoted role>.json`).
///
/// A client's store writes as the workflow accepts each file (the TUF
/// client contract: a rotated root stays persisted even if a later step
/// fails), and a stored snapshot or targets role that still matches its pin
/// is used instead of downloading it again. A site's state for
/// `trust verify` is only a set of rollback floors: every file of the
/// snapshot is verified, and writes wait for [`LocalStore::commit`], after
/// every check has passed.
/// Files written only once every check has passed: (name, bytes).
type DeferredWrites = Mutex<Vec<(String, Vec<u8>)>>;

#[derive(Debug)]
pub(crate) struct LocalStore {
    dir: PathBuf,
    /// Site state: deferred writes, floors only.
    pending: Option<DeferredWrites>,
}

impl LocalStore {
    #[cfg(feature = "fetch")]
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            pending: None,
        }
    }

    pub fn site_state(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            pending: Some(Mutex::new(Vec::new())),
        }
    }

    /// Whether stored metadata may stand in for the source's.
    fn reuse(&self) -> bool {
        self.pending.is_none()
    }

    /// Write what a site state holds.
    pub fn commit(&self) -> Result<()> {
        if let Some(pending) = &self.pending {
            let pending = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
            for (name, bytes) in pending {
                crate::files::write_atomic(&self.dir.join(name), &bytes)?;
            }
        }
        Ok(())
    }

    /// A stored file, bounded; absent is `None`, unreadable is an error.
    pub fn load(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        if let Some(pending) = &self.pending {
            let pending = pending.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, bytes)) = pending.iter().rev().find(|(n, _)| n == name) {
                return Ok(Some(bytes.clone()));
            }
        }
        let path = self.dir.join(name);
        match crate::files::read_bounded(&path, limit) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Replace a stored file atomically (or queue it, when deferred).
    pub fn store(&self, name: &str, bytes: &[u8]) -> Result<()> {
        match &self.pending {
            Some(pending) => {
                let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.push((name.to_string(), bytes.to_vec()));
                Ok(())
            }
            None => crate::files::write_atomic(&self.dir.join(name), bytes),
        }
    }
}

/// One metadata file accepted from the source.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    /// Published file name.
    pub file: String,
    /// Role (`root`, `timestamp`, … or a delegated role's name).
    pub role: String,
    pub blob: Blob,
}

/// A target resolved through the delegation tree.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub info: TargetFile,
    /// The targets role that lists it.
    pub role: String,
}

/// The TUF client workflow over a source.
pub(crate) struct Updater<'a, S> {
    pub set: TrustedSet,
    source: &'a S,
    local: Option<&'a LocalStore>,
    limits: Limits,
    time: ReferenceTime,
    /// The trusted root when this update started, for the second opinion.
    start: (String, Vec<u8>),
    /// Every metadata file accepted from the source, in order.
    pub fetched: Vec<Fetched>,
    /// Delegated roles loaded, in order: (role, delegator).
    pub loaded_roles: Vec<(String, String)>,
}

impl<'a, S: Source> Updater<'a, S> {
    /// Start from a trusted root (a pin, or a client's stored root.json).
    pub fn new(
        root: &[u8],
        root_label: &str,
        source: &'a S,
        local: Option<&'a LocalStore>,
        limits: Limits,
        time: ReferenceTime,
    ) -> Result<Self> {
        Ok(Self {
            set: TrustedSet::from_pinned_root(root, root_label)?,
            source,
            local,
            limits,
            time,
            start: (root_label.to_string(), root.to_vec()),
            fetched: Vec::new(),
            loaded_roles: Vec::new(),
        })
    }

    pub fn time(&self) -> &ReferenceTime {
        &self.time
    }

    /// §5.3 to §5.6: walk the root chain, then timestamp, snapshot and
    /// top-level targets.
    pub async fn refresh(&mut self) -> Result<()> {
        self.update_roots().await?;
        // §5.3.10, after every new root has been persisted.
        self.set.check_root_fresh(&self.time)?;
        self.update_timestamp().await?;
        self.update_snapshot().await?;
        self.load_targets("targets", "root").await
    }

    fn accept(&mut self, file: String, role: &str, blob: Blob) {
        self.fetched.push(Fetched {
            file,
            role: role.to_string(),
            blob,
        });
    }

    fn persist(&self, name: &str, bytes: &[u8]) -> Result<()> {
        match self.local {
            Some(local) => local.store(name, bytes),
            None => Ok(()),
        }
    }

    /// Whether a stored copy that is still valid replaces a download.
    fn reuse_stored(&self) -> bool {
        self.local.is_some_and(LocalStore::reuse)
    }

    fn load_local(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        match self.local {
            Some(local) => local.load(name, limit),
            None => Ok(None),
        }
    }

    /// §5.3: versions N+1, N+2, … until the source has no next version.
    async fn update_roots(&mut self) -> Result<()> {
        for _ in 0..self.limits.max_root_rotations {
            let file = format!("{}.root.json", self.set.root().version + 1);
            let Some(blob) = self.source.metadata(&file, self.limits.root).await? else {
                return Ok(());
            };
            self.set.update_root(&blob.bytes, &file)?;
            self.persist("root.json", &blob.bytes)?;
            self.accept(file, "root", blob);
        }
        let file = format!("{}.root.json", self.set.root().version + 1);
        match self.source.metadata(&file, self.limits.root).await? {
            None => Ok(()),
            Some(_) => Err(Error::TooManyRootRotations {
                max: self.limits.max_root_rotations,
            }),
        }
    }

    /// §5.4. A stored timestamp, even expired, is the rollback floor; then
    /// the source's. An equal version keeps the stored copy.
    async fn update_timestamp(&mut self) -> Result<()> {
        if let Some(bytes) = self.load_local("timestamp.json", self.limits.timestamp)? {
            // Invalid or expired local copies are only floors, or nothing.
            let _ = self
                .set
                .update_timestamp(&bytes, "timestamp.json (stored)", &self.time);
        }
        let file = "timestamp.json".to_string();
        let blob = self
            .source
            .metadata(&file, self.limits.timestamp)
            .await?
            .ok_or_else(|| missing(&file, "the TUF update (every refresh starts from it)"))?;
        match self.set.update_timestamp(&blob.bytes, &file, &self.time)? {
            TimestampUpdate::Updated => {
                self.persist("timestamp.json", &blob.bytes)?;
                self.accept(file, "timestamp", blob);
            }
            // The same version: the stored copy stays trusted (§5.4.3); it is
            // the source's file too when the bytes are the same.
            TimestampUpdate::Unchanged => {
                if self
                    .set
                    .timestamp()
                    .is_some_and(|held| held.bytes == blob.bytes)
                {
                    self.accept(file, "timestamp", blob);
                }
            }
        }
        Ok(())
    }

    /// §5.5. A stored snapshot that still matches the timestamp is reused;
    /// otherwise it is the rollback reference for the source's.
    async fn update_snapshot(&mut self) -> Result<()> {
        if let Some(bytes) = self.load_local("snapshot.json", self.limits.snapshot)? {
            let stored =
                self.set
                    .update_snapshot(&bytes, "snapshot.json (stored)", &self.time, true);
            if stored.is_ok() && self.reuse_stored() {
                return Ok(());
            }
        }
        let pin = self.set.snapshot_pin()?.clone();
        let file = if self.set.root().consistent_snapshot {
            format!("{}.snapshot.json", pin.version)
        } else {
            "snapshot.json".to_string()
        };
        let limit = bounded(pin.length, self.limits.snapshot);
        let blob = self
            .source
            .metadata(&file, limit)
            .await?
            .ok_or_else(|| missing(&file, "timestamp"))?;
        self.set
            .update_snapshot(&blob.bytes, &file, &self.time, false)?;
        self.persist("snapshot.json", &blob.bytes)?;
        self.accept(file, "snapshot", blob);
        Ok(())
    }

    /// §5.6 / §5.7.2: load a targets role once; reached again through another
    /// delegator, it must satisfy that delegator's keys too.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<()> {
        if self.set.targets_role(role).is_some() {
            return self.set.reverify_targets(role, delegator, &self.time);
        }
        let stored = names::role_file(role, None);
        let local = match self.reuse_stored() {
            true => self.load_local(&stored, self.limits.targets)?,
            false => None,
        };
        if let Some(bytes) = local {
            let label = format!("{stored} (stored)");
            if self
                .set
                .update_targets(&bytes, role, delegator, &label, &self.time)
                .is_ok()
            {
                self.note_role(role, delegator);
                return Ok(());
            }
        }
        let pin = self.set.targets_pin(role, delegator)?.clone();
        let consistent = self.set.root().consistent_snapshot;
        let file = names::role_file(role, consistent.then_some(pin.version));
        let limit = bounded(pin.length, self.limits.targets);
        let blob = self
            .source
            .metadata(&file, limit)
            .await?
            .ok_or_else(|| missing(&file, "snapshot"))?;
        self.set
            .update_targets(&blob.bytes, role, delegator, &file, &self.time)?;
        self.persist(&stored, &blob.bytes)?;
        self.note_role(role, delegator);
        self.accept(file, role, blob);
        Ok(())
    }

    fn note_role(&mut self, role: &str, delegator: &str) {
        if role != "targets" {
            self.loaded_roles
                .push((role.to_string(), delegator.to_string()));
        }
    }

    /// §5.7.1 and §5.7.2: find a target by pre-order depth-first search of
    /// the delegation tree, honouring `terminating`, visiting each role once
    /// and at most `max_delegations` roles.
    pub async fn resolve(&mut self, target: &str) -> Result<Option<Resolved>> {
        let mut to_visit = vec![("targets".to_string(), "root".to_string())];
        let mut visited = BTreeSet::new();
        while visited.len() < self.limits.max_delegations as usize {
            let Some((role, delegator)) = to_visit.pop() else {
                break;
            };
            if visited.contains(&role) {
                continue;
            }
            self.load_targets(&role, &delegator).await?;
            let held = self.set.loaded_targets(&role)?;
            if let Some(info) = held.signed().target(target) {
                return Ok(Some(Resolved {
                    info: info.clone(),
                    role,
                }));
            }
            visited.insert(role.clone());
            let mut children = Vec::new();
            if let Some(delegations) = &held.signed().delegations {
                for child in &delegations.roles {
                    if chain::delegates(child, target, &role)? {
                        children.push((child.name.clone(), role.clone()));
                        if child.terminating {
                            to_visit.clear();
                            break;
                        }
                    }
                }
            }
            to_visit.extend(children.into_iter().rev());
        }
        Ok(None)
    }

    /// Load every delegated role reachable from `targets` (whatever its
    /// paths), depth first, so a snapshot carries and checks all of them.
    pub async fn load_all_roles(&mut self) -> Result<()> {
        let mut to_visit = vec![("targets".to_string(), "root".to_string())];
        let mut visited = BTreeSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if !visited.insert(role.clone()) {
                self.load_targets(&role, &delegator).await?;
                continue;
            }
            if visited.len() > self.limits.max_roles as usize + 1 {
                return Err(Error::TooManyDelegations {
                    max: self.limits.max_roles,
                });
            }
            self.load_targets(&role, &delegator).await?;
            let held = self.set.loaded_targets(&role)?;
            if let Some(delegations) = &held.signed().delegations {
                for child in delegations.roles.iter().rev() {
                    to_visit.push((child.name.clone(), role.clone()));
                }
            }
        }
        Ok(())
    }

    /// §5.7.3: download a resolved target within its pinned length and
    /// check its hashes.
    pub async fn fetch_target(&self, name: &str, resolved: &Resolved) -> Result<Blob> {
        let info = &resolved.info;
        if info.length > self.limits.target {
            return Err(Error::TooLarge {
                what: format!("target {name} (length pinned by {})", resolved.role),
                limit: self.limits.target,
            });
        }
        let hash = self.set.root().consistent_snapshot.then(|| {
            ["sha256", "sha512"]
                .iter()
                .find_map(|a| info.hashes.get(*a))
                .or_else(|| info.hashes.values().next())
                .map(String::as_str)
        });
        let repo_path = names::target_repo_path(name, hash.flatten());
        let blob = self
            .source
            .target(name, &repo_path, info.length)
            .await?
            .ok_or_else(|| missing(name, &resolved.role))?;
        chain::check_target(&blob, info, name, &resolved.role)?;
        Ok(blob)
    }

    /// Store the whole trusted set in the local store (a site's state after
    /// a verified snapshot), under non-versioned names.
    pub fn persist_trusted(&self) -> Result<()> {
        let set = &self.set;
        self.persist("root.json", set.root_bytes())?;
        if let Some(held) = set.timestamp() {
            self.persist("timestamp.json", &held.bytes)?;
        }
        if let Some(held) = set.snapshot() {
            self.persist("snapshot.json", &held.bytes)?;
        }
        let roles =
            std::iter::once("targets").chain(self.loaded_roles.iter().map(|(r, _)| r.as_str()));
        for role in roles {
            if let Some(held) = set.targets_role(role) {
                self.persist(&names::role_file(role, None), &held.bytes)?;
            }
        }
        Ok(())
    }

    /// Replay this update's accepted chain through sigstore-tuf.
    pub fn second_opinion(&self) -> Result<()> {
        let mut accepted = Accepted::default();
        accepted.roots.push((&self.start.0, &self.start.1));
        for f in self.fetched.iter().filter(|f| f.role == "root") {
            accepted.roots.push((&f.file, &f.blob.bytes));
        }
        let set = &self.set;
        accepted.timestamp = set.timestamp().map(|h| ("timestamp.json", &h.bytes[..]));
        accepted.snapshot = set.snapshot().map(|h| ("snapshot.json", &h.bytes[..]));
        accepted.targets = set
            .targets_role("targets")
            .map(|h| ("targets.json", &h.bytes[..]));
        for (role, delegator) in &self.loaded_roles {
            if let Some(held) = set.targets_role(role) {
                accepted
                    .delegated
                    .push((role, role, delegator, &held.bytes));
            }
        }
        chain::second_opinion(&accepted, &self.time)
    }
}

/// Read no more than the pinned length (when pinned), and never more than
/// the role's limit.
fn bounded(pinned: Option<u64>, limit: u64) -> u64 {
    pinned.map_or(limit, |l| l.min(limit))
}

fn missing(file: &str, needed_by: &str) -> Error {
    Error::MissingFile {
        file: file.to_string(),
        needed_by: needed_by.to_string(),
    }
}

/// Poll a future whose awaits are all on always-ready futures (a snapshot
/// directory source) to completion, without an executor.
pub(crate) fn run_ready<F: Future>(future: F) -> Result<F::Output> {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(value) => Ok(value),
        Poll::Pending => Err(Error::Usage(
            "internal: an offline source tried to wait for I/O".into(),
        )),
    }
}
