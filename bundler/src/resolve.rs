//! Tags to digests, once, and indexes to the children a bundle carries.

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress, Unit};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use oci::remote::{Registry, RemoteOptions, Repository};
use oci::store::{self, Graph};
use oci::{Descriptor, Digest, ImageRef, Manifest, Platform};
use std::collections::HashMap;
use std::sync::Mutex;
use verifier::bundle::manifest::PlatformEntry;

/// One HTTP client per registry host, shared by every repository on it.
pub struct Registries {
    options: RemoteOptions,
    by_host: Mutex<HashMap<String, Registry>>,
}

impl Registries {
    /// Clients built from `options` (credentials, insecure hosts, retries).
    pub fn new(options: RemoteOptions) -> Self {
        Self {
            options,
            by_host: Mutex::new(HashMap::new()),
        }
    }

    /// The repository `reference` names.
    pub fn repository(&self, reference: &ImageRef) -> Result<Repository> {
        let host = reference.registry().to_string();
        let registry = {
            let mut by_host = self.by_host.lock().unwrap_or_else(|p| p.into_inner());
            match by_host.get(&host) {
                Some(r) => r.clone(),
                None => {
                    let r = Registry::new(&host, &self.options)
                        .map_err(|e| Error::registry(reference, "connect", e))?;
                    by_host.insert(host, r.clone());
                    r
                }
            }
        };
        registry
            .repository(reference.repository())
            .map_err(|e| Error::registry(reference, "open repository", e))
    }
}

/// A child of a requested index: its platform (`os/arch[/variant]`, or
/// `unknown` when the index does not say) and descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The child manifest.
    pub descriptor: Descriptor,
}

impl Child {
    /// As the bundle manifest and the report list it.
    pub fn entry(&self) -> PlatformEntry {
        PlatformEntry {
            platform: self.platform.clone(),
            digest: self.descriptor.digest.clone(),
        }
    }

    fn of(descriptor: &Descriptor) -> Self {
        Self {
            platform: descriptor
                .platform
                .as_ref()
                .map_or_else(|| "unknown".to_string(), Platform::to_string),
            descriptor: descriptor.clone(),
        }
    }
}

/// A requested image, resolved once and walked.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The reference as requested.
    pub reference: ImageRef,
    /// The repository it lives in.
    pub repository: Repository,
    /// The image or index with every manifest and blob it carries.
    pub graph: Graph,
    /// For an index: the children carried, in index order.
    pub platforms: Vec<Child>,
    /// Children left out by the platform filter.
    pub dropped: Vec<Child>,
}

impl Resolved {
    /// The digest the reference resolved to.
    pub fn digest(&self) -> &Digest {
        &self.graph.root.digest
    }

    /// The image itself and each carried child: what evidence is collected for.
    pub fn subjects(&self) -> Vec<Digest> {
        std::iter::once(self.digest().clone())
            .chain(self.platforms.iter().map(|c| c.descriptor.digest.clone()))
            .collect()
    }
}

/// Resolve each of `images`, `jobs` at a time, with clients built from
/// `remote`; in request order.
pub async fn images(images: &[ImageRef], platforms: &[Platform], remote: &RemoteOptions, jobs: usize, progress: &dyn Progress) -> Result<Vec<Resolved>> {
    let registries = Registries::new(remote.clone());
    progress.start(Phase::Resolve, images.len() as u64, Unit::Items);
    let resolved = stream::iter(images)
        .map(|reference| {
            let registries = &registries;
            async move {
                // Each image's digest is in the report: a line per image
                // would bury what matters at a thousand images.
                let r = resolve(registries, reference, platforms).await?;
                progress.advance(1);
                Ok::<_, Error>(r)
            }
        })
        .buffered(jobs)
        .try_collect()
        .await?;
    progress.finish(Phase::Resolve);
    Ok(resolved)
}

/// Resolve `reference` to a digest (its tag, once; or the digest it names)
/// and walk it, keeping only `platforms` of an index (all when empty).
pub async fn resolve(registries: &Registries, reference: &ImageRef, platforms: &[Platform]) -> Result<Resolved> {
    let repository = registries.repository(reference)?;
    let root = store::resolve_manifest(&repository, reference)
        .await
        .map_err(|e| Error::registry(reference, "resolve", e))?;
    let graph = store::walk_manifest(&repository, root, platforms)
        .await
        .map_err(|e| Error::registry(reference, "walk", e))?;
    let mut kept = Vec::new();
    if let Some(Manifest::Index(index)) = graph.root_manifest().map(|m| m.manifest()) {
        let carried: std::collections::BTreeSet<&Digest> = graph.manifests.iter().map(|m| m.digest()).collect();
        for entry in &index.manifests {
            if carried.contains(&entry.digest) && !graph.dropped.contains(entry) && !kept.iter().any(|c: &Child| c.descriptor.digest == entry.digest) {
                kept.push(Child::of(entry));
            }
        }
    }
    let dropped = graph.dropped.iter().map(Child::of).collect();
    Ok(Resolved {
        reference: reference.clone(),
        repository,
        graph,
        platforms: kept,
        dropped,
    })
}
