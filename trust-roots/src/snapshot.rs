//! The on-disk TUF snapshot that crosses the air gap, and its offline check.
//!
//! ```text
//! DIR/index.json                   what was fetched, from where, when (unauthenticated)
//! DIR/metadata/<N>.root.json       every root version carried, as published
//! DIR/metadata/timestamp.json
//! DIR/metadata/<V>.snapshot.json   (snapshot.json without consistent snapshots)
//! DIR/metadata/<V>.targets.json    (targets.json …)
//! DIR/metadata/<V>.<role>.json     delegated targets roles, role name percent-encoded
//! DIR/targets/<name>               targets, name percent-encoded into one file name
//! ```
//!
//! `metadata/` uses the published names, so verifying a snapshot is a TUF
//! refresh against the directory as if it were a mirror. Nothing in
//! `index.json` is trusted except, by default, its fetch time as the
//! reference time (bounded by `--max-age` and the local clock).

use crate::chain::{Blob, Held, Limits};
use crate::files::{open_regular, read_blob, read_bounded};
use crate::error::{Error, Result};
use crate::names;
use crate::pinned::{PinOrigin, PinnedRoot, TRUSTED_ROOT_TARGET};
use crate::refresh::{run_ready, LocalStore, Source, Updater};
use crate::time::ReferenceTime;
use crate::verified::{TrustSource, VerifiedTrustRoot};
use jiff::{SignedDuration, Timestamp};
use sigstore_tuf::Role;
use std::collections::BTreeSet;
use std::future::{ready, Future};
use std::path::{Path, PathBuf};

/// Media type of a snapshot's `index.json`.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.airlock.tuf-snapshot.index.v1+json";
/// Media type of a verification report.
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.airlock.trust-verify.report.v1+json";

const INDEX_MAX_BYTES: u64 = 1024 * 1024;
const MAX_TARGET_FILES: usize = 10_000;

/// How `verify` picks its reference time.
#[derive(Debug, Clone, Copy)]
pub enum TimePolicy {
    /// This instant (the operator's `--at`, or the local clock).
    At(ReferenceTime),
    /// The snapshot's fetch time from its index.json, accepted only within
    /// `max_age` of the local clock and not after it.
    FetchTime {
        /// The local clock, read by the caller.
        local_clock: Timestamp,
        /// The largest accepted age.
        max_age: SignedDuration,
    },
}

/// Options for [`verify_snapshot_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// A site's trust state: the metadata it last accepted (`root.json`,
    /// `timestamp.json`, …). Versions below it are refused as rollback; on
    /// success it is updated to this snapshot's metadata.
    pub state: Option<PathBuf>,
    /// Size and count bounds.
    pub limits: Limits,
    /// The target that holds the Sigstore trusted root.
    pub trusted_root_target: String,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            state: None,
            limits: Limits::default(),
            trusted_root_target: TRUSTED_ROOT_TARGET.to_string(),
        }
    }
}

/// What a verification proved: data for text and JSON renderers.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SnapshotReport {
    /// [`REPORT_MEDIA_TYPE`].
    pub media_type: &'static str,
    /// The snapshot directory.
    pub snapshot: PathBuf,
    /// The root the chain started from.
    pub pinned_root: PinnedSummary,
    /// Root versions walked after the pin, in order.
    pub roots_walked: Vec<u64>,
    /// The final root, timestamp, snapshot and targets.
    pub roles: Roles,
    /// The instant expiry was evaluated at, and why.
    pub reference_time: ReferenceTime,
    /// The same, in words.
    pub reference_time_explained: String,
    /// Every target carried, each checked against its signed length and
    /// hashes.
    pub targets: Vec<TargetSummary>,
    /// What index.json claims: shown, never trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unauthenticated_index: Option<IndexClaims>,
    /// The site trust state used for rollback floors (and updated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<PathBuf>,
    /// Things worth a look that did not fail the check.
    pub warnings: Vec<String>,
}

/// The pinned root.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedSummary {
    /// Its version.
    pub version: u64,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Where it came from.
    pub origin: PinOrigin,
}

/// One role's final version and expiry.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleSummary {
    /// Role name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Expiry.
    pub expires: Timestamp,
    /// For delegated roles, the delegating role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegator: Option<String>,
}

/// The verified roles.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Roles {
    /// Final root.
    pub root: RoleSummary,
    /// Timestamp.
    pub timestamp: RoleSummary,
    /// Snapshot.
    pub snapshot: RoleSummary,
    /// Top-level targets.
    pub targets: RoleSummary,
    /// Delegated targets roles.
    pub delegated: Vec<RoleSummary>,
}

/// A verified target.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSummary {
    /// Target path.
    pub name: String,
    /// sha256 of the bytes (hex).
    pub sha256: String,
    /// Length in bytes.
    pub length: u64,
    /// The targets role that lists it.
    pub signed_by: String,
}

/// Unauthenticated claims from index.json.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexClaims {
    /// The mirror it says it was fetched from.
    #[serde(default)]
    pub mirror: Option<String>,
    /// The wall-clock time it says the fetch ran.
    #[serde(default)]
    pub fetched_at: Option<Timestamp>,
    /// The instant the fetch evaluated expiry at (its wall clock, or its
    /// `--at`): `verify`'s default reference time.
    pub checked_at: Timestamp,
}

/// Verify a carried TUF snapshot from a pinned root, offline, and return
/// the Sigstore trusted root it delivers.
///
/// The whole chain is checked: pinned root → newest root → timestamp →
/// snapshot → targets → delegated roles → every carried target's length and
/// hashes, with expiry at the reference time. The trusted root is the
/// `trusted_root.json` target.
pub fn verify_snapshot(
    dir: &Path,
    pinned: &PinnedRoot,
    time: TimePolicy,
) -> Result<(VerifiedTrustRoot, SnapshotReport)> {
    verify_snapshot_with(dir, pinned, time, &VerifyOptions::default())
}

/// [`verify_snapshot`] with options (a site trust state, limits).
pub fn verify_snapshot_with(
    dir: &Path,
    pinned: &PinnedRoot,
    time: TimePolicy,
    options: &VerifyOptions,
) -> Result<(VerifiedTrustRoot, SnapshotReport)> {
    let metadata_dir = dir.join("metadata");
    if !metadata_dir.is_dir() {
        return Err(Error::Read {
            path: metadata_dir,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a TUF snapshot directory (no metadata/)",
            ),
        });
    }
    let time = reference_time(dir, time)?;
    let limits = options.limits;
    let state = options.state.as_deref().map(LocalStore::site_state);
    let floor = match &state {
        Some(state) => state_root_version(state, &limits)?,
        None => None,
    };

    let source = DirSource {
        dir: dir.to_path_buf(),
    };
    let label = format!("pinned root ({})", pinned.origin());
    let mut updater = Updater::new(
        pinned.bytes(),
        &label,
        &source,
        state.as_ref(),
        limits,
        time,
    )?;
    let targets = run_ready(async {
        updater.refresh().await?;
        updater.load_all_roles().await?;
        let mut verified = Vec::new();
        for name in carried_targets(dir)? {
            let resolved = updater
                .resolve(&name)
                .await?
                .ok_or_else(|| Error::TargetNotFound { name: name.clone() })?;
            let blob = updater.fetch_target(&name, &resolved).await?;
            verified.push((name, resolved.role, blob));
        }
        Ok::<_, Error>(verified)
    })??;
    refuse_below_floor(updater.set.root().version, floor)?;
    updater.second_opinion()?;

    let wanted = &options.trusted_root_target;
    let Some((_, _, trusted_root)) = targets.iter().find(|(name, _, _)| name == wanted) else {
        return Err(Error::MissingFile {
            file: format!("targets/{wanted}"),
            needed_by: "airlock (the Sigstore trusted root)".into(),
        });
    };
    let report = build_report(
        dir,
        pinned,
        &updater,
        &targets,
        read_index(dir).ok(),
        options,
    )?;
    let source = TrustSource::Tuf {
        snapshot: dir.to_path_buf(),
        pinned_root_version: pinned.version(),
        pinned_root_digest: pinned.digest(),
        root_version: report.roles.root.version,
        timestamp_version: report.roles.timestamp.version,
        snapshot_version: report.roles.snapshot.version,
        targets_version: report.roles.targets.version,
        reference_time: time,
    };
    let root = VerifiedTrustRoot::from_tuf_target(&trusted_root.bytes, source)?;
    if let Some(state) = &state {
        updater.persist_trusted()?;
        state.commit()?;
    }
    Ok((root, report))
}

/// The time the snapshot's metadata is checked at: the operator's, or the
/// fetch time the snapshot's index claims, bounded by the local clock.
fn reference_time(dir: &Path, time: TimePolicy) -> Result<ReferenceTime> {
    match time {
        TimePolicy::At(t) => Ok(t),
        TimePolicy::FetchTime { local_clock, max_age } => {
            let claims = read_index(dir).map_err(no_fetch_time)?;
            ReferenceTime::snapshot_fetch_time(claims.checked_at, local_clock, max_age)
        }
    }
}

/// A root older than the one the site's trust state already accepted is a
/// rollback, whatever the snapshot says.
fn refuse_below_floor(version: u64, floor: Option<u64>) -> Result<()> {
    match floor {
        Some(floor) if version < floor => Err(Error::Rollback {
            role: "root (against the site trust state)".into(),
            trusted: floor,
            new: version,
        }),
        _ => Ok(()),
    }
}

fn build_report<S: Source>(
    dir: &Path,
    pinned: &PinnedRoot,
    updater: &Updater<'_, S>,
    targets: &[(String, String, Blob)],
    index: Option<IndexClaims>,
    options: &VerifyOptions,
) -> Result<SnapshotReport> {
    let set = &updater.set;
    let summary =
        |name: &str, version: u64, expires: Timestamp, delegator: Option<&str>| RoleSummary {
            name: name.to_string(),
            version,
            expires,
            delegator: delegator.map(str::to_string),
        };
    let (ts, snap, top) = set.final_roles()?;
    let root = set.root();
    let delegated = updater
        .loaded_roles
        .iter()
        .filter_map(|(role, delegator)| {
            let held: &Held<_> = set.targets_role(role)?;
            let s: &sigstore_tuf::Targets = held.signed();
            Some(summary(role, s.version, s.expires, Some(delegator)))
        })
        .collect();
    let used: BTreeSet<&str> = updater.fetched.iter().map(|f| f.file.as_str()).collect();
    let mut warnings = Vec::new();
    for file in list_files(&dir.join("metadata"))? {
        if !used.contains(file.as_str()) && !is_older_root(&file, pinned.version()) {
            warnings.push(format!(
                "metadata/{file} is not part of the verified chain; ignored"
            ));
        }
    }
    Ok(SnapshotReport {
        media_type: REPORT_MEDIA_TYPE,
        snapshot: dir.to_path_buf(),
        pinned_root: PinnedSummary {
            version: pinned.version(),
            digest: pinned.digest(),
            origin: pinned.origin().clone(),
        },
        roots_walked: updater
            .fetched
            .iter()
            .filter(|f| f.role == "root")
            .filter_map(|f| f.file.split('.').next()?.parse().ok())
            .collect(),
        roles: Roles {
            root: summary("root", root.version, root.expires, None),
            timestamp: summary("timestamp", ts.version, ts.expires(), None),
            snapshot: summary("snapshot", snap.version, snap.expires(), None),
            targets: summary("targets", top.version, top.expires(), None),
            delegated,
        },
        reference_time: *updater.time(),
        reference_time_explained: updater.time().to_string(),
        targets: target_summaries(targets),
        unauthenticated_index: index,
        state: options.state.clone(),
        warnings,
    })
}

/// Verified targets (name, signing role, bytes) for reports.
pub(crate) fn target_summaries(targets: &[(String, String, Blob)]) -> Vec<TargetSummary> {
    targets
        .iter()
        .map(|(name, role, blob)| TargetSummary {
            name: name.clone(),
            sha256: blob.sha256_hex(),
            length: blob.bytes.len() as u64,
            signed_by: role.clone(),
        })
        .collect()
}

/// Roots older than the pin are carried for sites pinned further back.
fn is_older_root(file: &str, pinned: u64) -> bool {
    file.strip_suffix(".root.json")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|v| v <= pinned)
}

/// The version of a site state's root.json: rollback floor for the root.
fn state_root_version(state: &LocalStore, limits: &Limits) -> Result<Option<u64>> {
    let Some(bytes) = state.load("root.json", limits.root)? else {
        return Ok(None);
    };
    let set = crate::chain::TrustedSet::from_pinned_root(&bytes, "root.json (site trust state)")?;
    Ok(Some(set.root().version))
}

/// The targets carried in `DIR/targets/`, by TUF target path.
fn carried_targets(dir: &Path) -> Result<Vec<String>> {
    let targets_dir = dir.join("targets");
    if !targets_dir.exists() {
        return Ok(Vec::new());
    }
    list_files(&targets_dir)?
        .iter()
        .map(|file| names::unquote(file))
        .collect()
}

/// Regular files in a directory, sorted; anything else is refused.
fn list_files(dir: &Path) -> Result<Vec<String>> {
    let read_error = |source| Error::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|raw| Error::UnsafeName {
                what: "target",
                name: raw.to_string_lossy().into_owned(),
                reason: "not UTF-8",
            })?;
        if !entry.file_type().map_err(read_error)?.is_file() {
            return Err(Error::UnsafeName {
                what: "target",
                name: format!("{}/{name}", dir.display()),
                reason: "not a regular file",
            });
        }
        files.push(name);
        if files.len() > MAX_TARGET_FILES {
            return Err(Error::TooLarge {
                what: format!("{} (file count)", dir.display()),
                limit: MAX_TARGET_FILES as u64,
            });
        }
    }
    files.sort();
    Ok(files)
}

fn read_index(dir: &Path) -> Result<IndexClaims> {
    let path = dir.join("index.json");
    let bytes = read_bounded(&path, INDEX_MAX_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::MalformedIndex {
        path,
        reason: e.to_string(),
    })
}

/// Without a readable index there is no fetch time to default to.
fn no_fetch_time(e: Error) -> Error {
    match e {
        Error::Read { path, source } => Error::MalformedIndex {
            path,
            reason: format!(
                "cannot read it ({source}), so the snapshot has no fetch time; give --at"
            ),
        },
        Error::MalformedIndex { path, reason } => Error::MalformedIndex {
            path,
            reason: format!("{reason}; give --at"),
        },
        other => other,
    }
}

/// A snapshot directory as a TUF source: `metadata/<name>` and
/// `targets/<quoted name>`, every read bounded.
struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    fn read(&self, path: PathBuf, what: String, limit: u64) -> Result<Option<Blob>> {
        let file = match open_regular(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Read { path, source }),
        };
        read_blob(file, &path, what, limit).map(Some)
    }
}

impl Source for DirSource {
    fn metadata(
        &self,
        name: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send {
        let result = if matches!(name, "" | "." | "..") || name.contains(['/', '\\', '\0']) {
            Err(Error::UnsafeName {
                what: "role",
                name: name.to_string(),
                reason: "not a single file name",
            })
        } else {
            let path = self.dir.join("metadata").join(name);
            self.read(path, format!("metadata/{name}"), max_length)
        };
        ready(result)
    }

    fn target(
        &self,
        name: &str,
        _repo_path: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send {
        let result = names::target_file(name).and_then(|file| {
            let path = self.dir.join("targets").join(&file);
            self.read(path, format!("targets/{file}"), max_length)
        });
        ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_source_refuses_names_that_leave_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let source = DirSource {
            dir: dir.path().to_path_buf(),
        };
        for bad in ["../index.json", "a/b.json", "..", "", "a\\b"] {
            let err = run_ready(source.metadata(bad, 10)).unwrap().unwrap_err();
            assert_eq!(err.check(), "malformed", "{bad}: {err}");
        }
        assert!(run_ready(source.metadata("1.root.json", 10))
            .unwrap()
            .unwrap()
            .is_none());
    }
}
