//! The fetch phase: bundling is `copy(registry -> layout)`. Every manifest
//! of the images and their evidence is stored in the layout (the walk
//! already fetched and checked them), and every blob is copied once with
//! [`oci::copy::copy_blobs`], from the repository of the first image that
//! needs it: `jobs` at a time, each streamed through a digest check to
//! disk (constant memory), blobs already in the layout (an interrupted
//! run's) reused.
//!
//! An increment (`--since`) leaves out image configs and layers the site
//! already has; evidence blobs are fetched whatever the site has, because
//! the self-check reads them.

use crate::collect::ImageEvidence;
use crate::error::{Error, Result};
use crate::incremental::Previous;
use crate::progress::{Phase, Progress, Unit};
use oci::copy::{self, Event, RetryPolicy};
use oci::remote::Repository;
use oci::{Descriptor, Digest, ImageRef, Layout, Store};
use std::collections::{BTreeMap, BTreeSet};

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

/// A blob to fetch: where from, and the image that needs it (for errors).
struct Needed<'a> {
    blob: Descriptor,
    source: &'a Repository,
    image: &'a ImageRef,
}

/// Store every manifest and fetch every needed blob of `images` into `layout`.
pub async fn blobs(
    layout: &Layout,
    images: &[ImageEvidence],
    previous: Option<&Previous>,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<FetchStats> {
    store_manifests(layout, images).await?;
    let needed = needed_blobs(images, previous);
    progress.start(Phase::Fetch, needed.values().map(|n| n.blob.size).sum(), Unit::Bytes);
    let set = needed.values().map(|n| (n.source, n.blob.clone()));
    // The bundler's own retries, whatever the registry options say: a
    // stream that breaks half way is worth another try.
    let copied = copy::copy_blobs(set, layout, jobs, RetryPolicy::default(), &Bytes(progress))
        .await
        .map_err(|e| {
            let image = needed.get(&e.digest).map_or_else(|| e.digest.to_string(), |n| n.image.to_string());
            Error::registry(&image, "fetch blob", e.source)
        })?;
    progress.finish(Phase::Fetch);
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

/// Each blob once, from the first image (in request order) that needs it.
fn needed_blobs<'a>(images: &'a [ImageEvidence], previous: Option<&Previous>) -> BTreeMap<Digest, Needed<'a>> {
    let mut needed = BTreeMap::new();
    for image in images {
        for (graph, is_evidence) in image.graphs() {
            for blob in &graph.blobs {
                if is_evidence || !previous.is_some_and(|p| p.has(&blob.digest)) {
                    needed.entry(blob.digest.clone()).or_insert_with(|| Needed {
                        blob: blob.clone(),
                        source: &image.image.repository,
                        image: &image.image.reference,
                    });
                }
            }
        }
    }
    needed
}

/// Hears a copy's bytes: fetched ones as they stream, reused ones at once.
struct Bytes<'a>(&'a dyn Progress);

impl copy::Progress for Bytes<'_> {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::BlobBytes { bytes, .. } => self.0.advance(*bytes),
            Event::BlobPresent(blob) | Event::BlobMounted(blob) => self.0.advance(blob.size),
            _ => {}
        }
    }
}
