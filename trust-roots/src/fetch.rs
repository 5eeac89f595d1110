//! The connected side: refresh a TUF repository over HTTP(S) and write a
//! self-contained snapshot directory (format in [`crate::verify_snapshot`]'s
//! module docs and docs/trust.md).
//!
//! The fetch runs the same workflow and checks as the offline verify, at a
//! reference time the caller passes (the wall clock, or `--at` for a
//! recorded repository), so a snapshot is written only if it verified when
//! fetched. Every response is bounded (metadata by its role's limit or the
//! length its parent pins, targets by their signed length) and hashed as it
//! streams. Nothing is written until everything verified; the directory
//! appears whole, by one rename.

use crate::chain::{Blob, BlobWriter, Limits, TrustedSet};
use crate::error::{Error, Result};
use crate::names;
use crate::pinned::{PinnedRoot, TRUSTED_ROOT_TARGET};
use crate::refresh::{Source, Updater};
use crate::files::write_atomic;
use crate::snapshot::{target_summaries, IndexClaims, PinnedSummary, TargetSummary, INDEX_MEDIA_TYPE};
use crate::time::ReferenceTime;
use jiff::Timestamp;
use progress::{Phase, Progress, Unit};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to fetch and where to put it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// Base URL of the repository's metadata (`<mirror>/<N>.root.json`).
    pub mirror: String,
    /// Base URL of its targets; default `<mirror>/targets/`.
    pub targets_url: Option<String>,
    /// The snapshot directory to create (absent or empty).
    pub out: PathBuf,
    /// Targets to carry besides `trusted_root.json` and the top-level
    /// `signing_config*.json`.
    pub extra_targets: Vec<String>,
    /// Size and count bounds.
    pub limits: Limits,
    /// The wall clock when the fetch started (recorded in index.json).
    pub fetched_at: Timestamp,
    /// The instant expiry is evaluated at: normally `fetched_at`, or an
    /// operator's `--at` for a recorded repository.
    pub time: ReferenceTime,
}

impl FetchOptions {
    /// Options with the default limits and targets.
    pub fn new(mirror: &str, out: &Path, fetched_at: Timestamp, time: ReferenceTime) -> Self {
        Self {
            mirror: mirror.to_string(),
            targets_url: None,
            out: out.to_path_buf(),
            extra_targets: Vec::new(),
            limits: Limits::default(),
            fetched_at,
            time,
        }
    }
}

/// What a fetch wrote.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FetchReport {
    /// The snapshot directory.
    pub out: PathBuf,
    /// Metadata base URL.
    pub mirror: String,
    /// Targets base URL.
    pub targets_url: String,
    /// Wall clock at the start of the fetch.
    pub fetched_at: Timestamp,
    /// The instant expiry was evaluated at, and why.
    pub reference_time: ReferenceTime,
    /// The root the chain started from.
    pub pinned_root: PinnedSummary,
    /// Root versions carried (older than the pin ones for sites pinned
    /// further back, each authenticated by its successor).
    pub roots_carried: Vec<u64>,
    /// Final versions: root, timestamp, snapshot, targets.
    pub versions: Versions,
    /// Delegated roles carried.
    pub delegated_roles: Vec<String>,
    /// Targets carried.
    pub targets: Vec<TargetSummary>,
}

/// Final role versions.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Versions {
    /// Root.
    pub root: u64,
    /// Timestamp.
    pub timestamp: u64,
    /// Snapshot.
    pub snapshot: u64,
    /// Targets.
    pub targets: u64,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Index<'a> {
    media_type: &'static str,
    airlock_version: &'static str,
    #[serde(flatten)]
    claims: IndexClaims,
    targets_url: &'a str,
    reference_time: ReferenceTime,
    pinned_root: &'a PinnedSummary,
    versions: Versions,
    files: Vec<IndexFile>,
}

#[derive(serde::Serialize)]
struct IndexFile {
    path: String,
    sha256: String,
    length: u64,
}

/// Refresh the repository from `pinned` and write the snapshot. Progress
/// is one [`Phase::Trust`] phase counting items: the verified metadata
/// chain as one, then each target.
pub async fn fetch_snapshot(pinned: &PinnedRoot, options: &FetchOptions, progress: &dyn Progress) -> Result<FetchReport> {
    ensure_empty_or_absent(&options.out)?;
    let http = HttpSource::new(&options.mirror, options.targets_url.as_deref())?;
    let label = format!("pinned root ({})", pinned.origin());
    let mut updater = Updater::new(pinned.bytes(), &label, &http, None, options.limits, options.time)?;
    let targets = verified_targets(&mut updater, &options.extra_targets, progress).await?;
    let older = older_roots(&http, pinned, &options.limits).await?;

    // Everything verified: lay the directory out beside its destination,
    // then move it into place.
    let parent = absolute_parent(&options.out)?;
    let staging = tempfile::Builder::new()
        .prefix(".airlock-trust-fetch-")
        .tempdir_in(&parent)
        .map_err(|source| Error::Write { path: parent.clone(), source })?;
    let (files, roots_carried) = write_files(staging.path(), pinned, &older, &updater, &targets)?;
    let (ts, snap, top) = updater.set.final_roles()?;
    let versions = Versions {
        root: updater.set.root().version,
        timestamp: ts.version,
        snapshot: snap.version,
        targets: top.version,
    };
    let pinned_summary = PinnedSummary {
        version: pinned.version(),
        digest: pinned.digest(),
        origin: pinned.origin().clone(),
    };
    let index = Index {
        media_type: INDEX_MEDIA_TYPE,
        airlock_version: env!("CARGO_PKG_VERSION"),
        claims: IndexClaims {
            mirror: Some(http.metadata_base.clone()),
            fetched_at: Some(options.fetched_at),
            checked_at: options.time.at(),
        },
        targets_url: &http.targets_base,
        reference_time: options.time,
        pinned_root: &pinned_summary,
        versions,
        files,
    };
    let index_json = serde_json::to_vec_pretty(&index).map_err(|e| Error::Usage(format!("internal: index.json: {e}")))?;
    write_atomic(&staging.path().join("index.json"), &index_json)?;
    move_into_place(staging, &options.out)?;
    progress.finish(Phase::Trust);
    Ok(FetchReport {
        out: options.out.clone(),
        mirror: http.metadata_base.clone(),
        targets_url: http.targets_base.clone(),
        fetched_at: options.fetched_at,
        reference_time: options.time,
        pinned_root: pinned_summary,
        roots_carried,
        versions,
        delegated_roles: updater.loaded_roles.iter().map(|(r, _)| r.clone()).collect(),
        targets: target_summaries(&targets),
    })
}

/// A target as fetched: its name, the role that signed it, its bytes.
type FetchedTarget = (String, String, Blob);

/// Refresh the metadata chain, then fetch and check every wanted target
/// against the role that lists it.
async fn verified_targets<S: Source>(updater: &mut Updater<'_, S>, extra: &[String], progress: &dyn Progress) -> Result<Vec<FetchedTarget>> {
    updater.refresh().await?;
    updater.load_all_roles().await?;
    // Only the metadata says how many targets there are: the phase starts
    // once it is verified, with that done.
    let wanted = wanted_targets(&updater.set, extra);
    progress.start(Phase::Trust, 1 + wanted.len() as u64, Unit::Items);
    progress.advance(1);
    let mut targets = Vec::new();
    for name in wanted {
        let resolved = updater.resolve(&name).await?.ok_or_else(|| Error::TargetNotFound { name: name.clone() })?;
        let blob = updater.fetch_target(&name, &resolved).await?;
        targets.push((name, resolved.role, blob));
        progress.advance(1);
    }
    updater.second_opinion()?;
    Ok(targets)
}

/// Write every root version carried, the fetched metadata and the targets
/// under `staging`; the index's file list and the root versions carried.
fn write_files(
    staging: &Path,
    pinned: &PinnedRoot,
    older: &[(u64, Vec<u8>)],
    updater: &Updater<'_, impl Source>,
    targets: &[FetchedTarget],
) -> Result<(Vec<IndexFile>, Vec<u64>)> {
    let mut files = Vec::new();
    let mut put = |path: String, bytes: &[u8]| -> Result<()> {
        write_atomic(&staging.join(&path), bytes)?;
        let blob = Blob::from_bytes(&path, bytes, u64::MAX)?;
        files.push(IndexFile { sha256: blob.sha256_hex(), length: bytes.len() as u64, path });
        Ok(())
    };
    let mut roots_carried = Vec::new();
    for (version, bytes) in older.iter().rev() {
        put(format!("metadata/{version}.root.json"), bytes)?;
        roots_carried.push(*version);
    }
    put(format!("metadata/{}.root.json", pinned.version()), pinned.bytes())?;
    roots_carried.push(pinned.version());
    for fetched in &updater.fetched {
        put(format!("metadata/{}", fetched.file), &fetched.blob.bytes)?;
        if fetched.role == "root" {
            if let Some(v) = fetched.file.split('.').next().and_then(|v| v.parse().ok()) {
                roots_carried.push(v);
            }
        }
    }
    for (name, _, blob) in targets {
        put(format!("targets/{}", names::target_file(name)?), &blob.bytes)?;
    }
    Ok((files, roots_carried))
}

/// Rename the staged snapshot to `out` (checked empty or absent before).
fn move_into_place(staging: tempfile::TempDir, out: &Path) -> Result<()> {
    let staged = staging.keep();
    if out.exists() {
        // Checked empty above; a directory that filled meanwhile stays.
        std::fs::remove_dir(out).map_err(|source| Error::Write { path: out.to_path_buf(), source })?;
    }
    std::fs::rename(&staged, out).map_err(|source| Error::Write { path: out.to_path_buf(), source })
}

/// `trusted_root.json`, every top-level `signing_config*.json`, then the
/// operator's extras, without duplicates.
fn wanted_targets(set: &TrustedSet, extra: &[String]) -> Vec<String> {
    let mut wanted = vec![TRUSTED_ROOT_TARGET.to_string()];
    if let Some(top) = set.targets_role("targets") {
        for name in top.signed().targets.keys() {
            if name.starts_with("signing_config") && name.ends_with(".json") {
                wanted.push(name.clone());
            }
        }
    }
    for name in extra {
        if !wanted.contains(name) {
            wanted.push(name.clone());
        }
    }
    wanted
}

/// Roots older than the pin, newest first, for sites pinned further back.
/// Each is kept only if it authenticates its successor (its root keys sign
/// the successor to its threshold, and it is signed by its own): walking
/// back stops at the first that does not (Sigstore's v1 to v4, whose hex
/// keys sigstore-tuf cannot use) or is absent.
async fn older_roots<S: Source>(
    source: &S,
    pinned: &PinnedRoot,
    limits: &Limits,
) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut older = Vec::new();
    let mut successor = pinned.bytes().to_vec();
    let mut version = pinned.version();
    while version > 1 && older.len() < limits.max_root_rotations as usize {
        let file = format!("{}.root.json", version - 1);
        let Some(blob) = source.metadata(&file, limits.root).await? else {
            break;
        };
        let authentic = TrustedSet::from_pinned_root(&blob.bytes, &file)
            .and_then(|mut set| set.update_root(&successor, "successor"));
        if authentic.is_err() {
            break;
        }
        version -= 1;
        successor = blob.bytes.clone();
        older.push((version, blob.bytes));
    }
    Ok(older)
}

fn ensure_empty_or_absent(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(Error::OutputExists {
                path: out.to_path_buf(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() => Err(Error::OutputExists {
            path: out.to_path_buf(),
        }),
        Err(source) => Err(Error::Read {
            path: out.to_path_buf(),
            source,
        }),
    }
}

fn absolute_parent(out: &Path) -> Result<PathBuf> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| Error::Write {
        path: parent.clone(),
        source,
    })?;
    Ok(parent)
}

/// A TUF repository over HTTP(S).
pub(crate) struct HttpSource {
    client: reqwest::Client,
    metadata_base: String,
    targets_base: String,
}

/// Timeouts against slow-retrieval attacks (TUF §1.5.2): a stalled mirror
/// cannot hang a fetch.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

impl HttpSource {
    pub fn new(mirror: &str, targets_url: Option<&str>) -> Result<Self> {
        let metadata_base = base_url(mirror)?;
        let targets_base = match targets_url {
            Some(url) => base_url(url)?,
            None => format!("{metadata_base}targets/"),
        };
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport {
                url: metadata_base.clone(),
                message: "cannot build an HTTP client".into(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            client,
            metadata_base,
            targets_base,
        })
    }

    /// GET within `max_length` bytes, hashing as it streams. 404 and 403
    /// (what object stores answer for a missing key) are "absent".
    async fn get(&self, url: String, max_length: u64) -> Result<Option<Blob>> {
        let transport = |message: String, e: Option<reqwest::Error>| Error::Transport {
            url: url.clone(),
            message,
            source: e.map(|e| Box::new(e) as _),
        };
        let mut response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| transport("request failed".into(), Some(e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(transport(format!("HTTP status {status}"), None));
        }
        if response
            .content_length()
            .is_some_and(|len| len > max_length)
        {
            return Err(Error::TooLarge {
                what: url.clone(),
                limit: max_length,
            });
        }
        let mut writer = BlobWriter::new(url.clone(), max_length);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport("reading the response failed".into(), Some(e)))?
        {
            writer.push(&chunk)?;
        }
        Ok(Some(writer.finish()))
    }
}

impl Source for HttpSource {
    fn metadata(
        &self,
        name: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send {
        self.get(format!("{}{name}", self.metadata_base), max_length)
    }

    fn target(
        &self,
        _name: &str,
        repo_path: &str,
        max_length: u64,
    ) -> impl Future<Output = Result<Option<Blob>>> + Send {
        self.get(format!("{}{repo_path}", self.targets_base), max_length)
    }
}

/// An http(s) base URL ending in `/`.
fn base_url(url: &str) -> Result<String> {
    let url = url.trim();
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Error::Usage(format!("invalid URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
        return Err(Error::Usage(format!("{url:?} is not an http(s) base URL")));
    }
    Ok(if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    })
}
