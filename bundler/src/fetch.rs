//! Fetching: bundling is `copy(registry -> layout)`, in two steps.
//!
//! 1. [`evidence`], before the self-check: every manifest of the images
//!    and their evidence is stored in the bundle's layout (the walk already
//!    fetched and checked them), and every evidence blob is copied with
//!    [`oci::copy::copy_blobs`]: what the self-check and `--policy` read.
//! 2. The [`Payload`], last, once everything it would be carried with has
//!    passed: the image configs and layers, each once, from the repository
//!    of the first image (in request order) that needs it. Into the layout
//!    for a directory bundle ([`Payload::into_layout`]); straight into the
//!    archive, as it arrives, for an archive (`archive`).
//!
//! Blobs are fetched `jobs` at a time, each hashed once as it streams
//! (constant memory); blobs already in the layout (an interrupted run's)
//! are reused. An increment (`--since`) leaves out image configs and layers
//! the site already has; evidence blobs are fetched whatever the site has,
//! because the self-check reads them.

use crate::collect::ImageEvidence;
use crate::error::{Error, Result};
use crate::incremental::Previous;
use crate::progress::{Phase, Progress, Unit};
use crate::sboms::BundleImage;
use oci::copy::{self, RetryPolicy};
use oci::remote::Repository;
use oci::store::Graph;
use oci::{Descriptor, Digest, ImageRef, Layout, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What fetching did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchStats {
    /// Blobs downloaded.
    pub downloaded: usize,
    /// Bytes downloaded.
    pub downloaded_bytes: u64,
    /// Blobs already in the layout (an earlier, interrupted run's), reused.
    pub reused: usize,
    /// Bytes reused.
    pub reused_bytes: u64,
}

impl std::ops::Add for FetchStats {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            downloaded: self.downloaded + other.downloaded,
            downloaded_bytes: self.downloaded_bytes + other.downloaded_bytes,
            reused: self.reused + other.reused,
            reused_bytes: self.reused_bytes + other.reused_bytes,
        }
    }
}

/// A blob to fetch: where from, and the image that needs it (for errors).
#[derive(Debug, Clone)]
struct Needed {
    blob: Descriptor,
    source: Repository,
    image: ImageRef,
}

/// Store every manifest of `images` and fetch every evidence blob into
/// `layout`: what the self-check reads.
pub async fn evidence(layout: &Layout, images: &[ImageEvidence], jobs: usize, progress: &dyn Progress) -> Result<FetchStats> {
    store_manifests(layout, images).await?;
    let needed = needed(images.iter().map(|i| (&i.image.reference, &i.image.repository, i.evidence.iter().map(|c| &c.graph))), |_| true);
    into_layout(layout, &needed, jobs, Phase::Evidence, progress).await
}

/// The image configs and layers a bundle carries (all of them, or those
/// an increment does not leave out), each once, with where to fetch it.
#[derive(Debug, Clone)]
pub struct Payload {
    blobs: BTreeMap<Digest, Needed>,
}

impl Payload {
    /// The payload of `images`, less what `previous` carried.
    pub fn of(images: &[BundleImage], previous: Option<&Previous>) -> Self {
        let graphs = images.iter().map(|i| (&i.image.reference, &i.image.repository, std::iter::once(&i.image.graph)));
        Self { blobs: needed(graphs, |d| !previous.is_some_and(|p| p.has(d))) }
    }

    /// Whether `digest` is payload.
    pub fn carries(&self, digest: &Digest) -> bool {
        self.blobs.contains_key(digest)
    }

    /// When `digest` is payload and `path` (where the work directory would
    /// hold it) does not hold it whole: what to fetch, and the image that
    /// needs it (for errors).
    pub fn to_fetch(&self, digest: &Digest, path: &Path) -> Option<(Descriptor, String)> {
        let needed = self.blobs.get(digest)?;
        let held = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == needed.blob.size);
        (!held).then(|| (needed.blob.clone(), needed.image.to_string()))
    }

    /// Where to fetch each of `blobs` from, in their order.
    pub fn sources(&self, blobs: &[Descriptor]) -> Vec<(Repository, Descriptor)> {
        blobs
            .iter()
            .filter_map(|b| self.blobs.get(&b.digest).map(|n| (n.source.clone(), b.clone())))
            .collect()
    }

    /// Fetch the payload into `layout` (a directory bundle).
    pub async fn into_layout(&self, layout: &Layout, jobs: usize, progress: &dyn Progress) -> Result<FetchStats> {
        into_layout(layout, &self.blobs, jobs, Phase::Fetch, progress).await
    }
}

/// `needed` into `layout`, as progress phase `phase`.
async fn into_layout(layout: &Layout, needed: &BTreeMap<Digest, Needed>, jobs: usize, phase: Phase, progress: &dyn Progress) -> Result<FetchStats> {
    progress.start(phase, needed.values().map(|n| n.blob.size).sum(), Unit::Bytes);
    let set = needed.values().map(|n| (&n.source, n.blob.clone()));
    // The bundler's own retries, whatever the registry options say.
    let copied = copy::copy_blobs(set, layout, jobs, RetryPolicy::default(), progress)
        .await
        .map_err(|e| {
            let image = needed.get(&e.digest).map_or_else(|| e.digest.to_string(), |n| n.image.to_string());
            Error::registry(&image, "fetch blob", e.source)
        })?;
    progress.finish(phase);
    let stats = FetchStats {
        downloaded: copied.blobs_copied,
        downloaded_bytes: copied.bytes_copied,
        reused: copied.blobs_present,
        reused_bytes: copied.bytes_present,
    };
    if stats.reused > 0 {
        progress.note(&format!("{} blob(s) already fetched by an earlier run were reused", stats.reused));
    }
    Ok(stats)
}

/// Manifests are in memory from the walk: each is stored once.
async fn store_manifests(layout: &Layout, images: &[ImageEvidence]) -> Result<()> {
    let mut stored = BTreeSet::new();
    for image in images {
        for (graph, _) in image.graphs() {
            for m in &graph.manifests {
                if stored.insert(m.digest().clone()) {
                    layout
                        .put_manifest(m, None)
                        .await
                        .map_err(|e| Error::registry(&image.image.reference, "store manifest", e))?;
                }
            }
        }
    }
    Ok(())
}

/// The blobs of each image's `graphs` that `wanted`, each once, from the
/// first image (in request order) that needs it.
fn needed<'a, G>(images: impl Iterator<Item = (&'a ImageRef, &'a Repository, G)>, wanted: impl Fn(&Digest) -> bool) -> BTreeMap<Digest, Needed>
where
    G: Iterator<Item = &'a Graph>,
{
    let mut needed = BTreeMap::new();
    for (image, source, graphs) in images {
        for blob in graphs.flat_map(|g| &g.blobs) {
            if wanted(&blob.digest) && !needed.contains_key(&blob.digest) {
                let entry = Needed { blob: blob.clone(), source: source.clone(), image: image.clone() };
                needed.insert(blob.digest.clone(), entry);
            }
        }
    }
    needed
}
