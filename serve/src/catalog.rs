//! What each repository holds: built once, at startup, by walking from the
//! repository's roots through the store with `oci::store`'s walker.

use crate::Result;
use oci::store::Root;
use oci::{Descriptor, Digest, Store, Tag};
use std::collections::{BTreeMap, HashMap};

/// Manifests one catalog holds at most (each root's walk has its own,
/// smaller limit: [`oci::store::MAX_MANIFESTS`]).
const MAX_MANIFESTS: usize = 200_000;

/// One repository's content.
#[derive(Debug, Default)]
pub struct Repository {
    pub(crate) tags: BTreeMap<Tag, Digest>,
    /// Manifests: media type and size.
    pub(crate) manifests: HashMap<Digest, (String, u64)>,
    /// Blobs: size.
    pub(crate) blobs: HashMap<Digest, u64>,
    /// Referrers by subject.
    pub(crate) referrers: HashMap<Digest, Vec<Descriptor>>,
}

impl Repository {
    /// Everything a walked graph holds: its manifests (with referrers
    /// indexed by subject) and its blobs.
    fn add(&mut self, graph: &oci::store::Graph) {
        for manifest in &graph.manifests {
            self.manifests.insert(manifest.digest().clone(), (manifest.media_type().to_string(), manifest.size()));
            if let Some(subject) = manifest.manifest().subject() {
                let list = self.referrers.entry(subject.digest.clone()).or_default();
                list.push(oci::store::referrer_descriptor(manifest));
                list.sort_by(|a, b| a.digest.cmp(&b.digest));
                list.dedup_by(|a, b| a.digest == b.digest);
            }
        }
        for blob in &graph.blobs {
            self.blobs.insert(blob.digest.clone(), blob.size);
        }
    }
}

/// Every repository a server serves.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(crate) repositories: BTreeMap<String, Repository>,
}

impl Catalog {
    /// Walk every root through `store` ([`oci::store::walk_held`]). Index
    /// children the store does not hold (platforms a bundle left out) are
    /// skipped, as a registry would answer 404 for them; anything else that
    /// fails stops the build.
    pub async fn build<S: Store>(store: &S, roots: &[Root]) -> Result<Self> {
        let mut catalog = Catalog::default();
        let mut visited = 0usize;
        for root in roots {
            let repo = catalog.repositories.entry(root.repository.clone()).or_default();
            if let Some(tag) = &root.tag {
                repo.tags.insert(tag.clone(), root.descriptor.digest.clone());
            }
            if repo.manifests.contains_key(&root.descriptor.digest) {
                continue;
            }
            let graph = oci::store::walk_held(store, &root.descriptor).await?;
            visited += graph.manifests.len();
            if visited > MAX_MANIFESTS {
                return Err(oci::Error::Limit { location: store.location(), reason: format!("more than {MAX_MANIFESTS} manifests") }.into());
            }
            repo.add(&graph);
        }
        Ok(catalog)
    }

    /// Repository names, sorted.
    pub fn repositories(&self) -> impl Iterator<Item = &str> {
        self.repositories.keys().map(String::as_str)
    }
}
