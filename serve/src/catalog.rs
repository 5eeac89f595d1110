//! What each repository holds: built once, at startup, by walking from the
//! repository's roots through the store.

use crate::Result;
use oci::manifest::{media_type, Manifest};
use oci::{Descriptor, Digest, Store, Tag};
use std::collections::{BTreeMap, HashMap};

/// Manifests one catalog holds at most.
const MAX_MANIFESTS: usize = 200_000;
/// How deep indexes may nest.
const MAX_DEPTH: usize = 8;

pub use verifier::load::Root;

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

/// Every repository a server serves.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(crate) repositories: BTreeMap<String, Repository>,
}

impl Catalog {
    /// Walk every root through `store`. Index children the store does not
    /// hold (platforms a bundle left out) are skipped, as a registry would
    /// answer 404 for them; anything else that fails stops the build.
    pub async fn build<S: Store>(store: &S, roots: &[Root]) -> Result<Self> {
        let mut catalog = Catalog::default();
        let mut visited = 0usize;
        for root in roots {
            let repo = catalog.repositories.entry(root.repository.clone()).or_default();
            if let Some(tag) = &root.tag {
                repo.tags.insert(tag.clone(), root.descriptor.digest.clone());
            }
            let mut stack = vec![(root.descriptor.digest.clone(), 0usize)];
            while let Some((digest, depth)) = stack.pop() {
                if repo.manifests.contains_key(&digest) {
                    continue;
                }
                let manifest = match store.get_manifest(&digest).await {
                    Ok(m) => m,
                    Err(e) if e.is_not_found() && depth > 0 => continue,
                    Err(e) => return Err(e.into()),
                };
                visited += 1;
                if visited > MAX_MANIFESTS || depth > MAX_DEPTH {
                    return Err(oci::Error::Limit {
                        location: store.location(),
                        reason: format!("more than {MAX_MANIFESTS} manifests, or indexes nested deeper than {MAX_DEPTH}"),
                    }
                    .into());
                }
                repo.manifests.insert(digest.clone(), (manifest.media_type().to_string(), manifest.size()));
                if let Some(subject) = manifest.manifest().subject() {
                    let list = repo.referrers.entry(subject.digest.clone()).or_default();
                    list.push(oci::store::referrer_descriptor(&manifest));
                    list.sort_by(|a, b| a.digest.cmp(&b.digest));
                    list.dedup_by(|a, b| a.digest == b.digest);
                }
                match manifest.manifest() {
                    Manifest::Image(image) => {
                        for blob in std::iter::once(&image.config).chain(&image.layers) {
                            repo.blobs.insert(blob.digest.clone(), blob.size);
                        }
                    }
                    Manifest::Index(index) => {
                        for child in index.manifests.iter().filter(|c| media_type::is_manifest(&c.media_type)) {
                            stack.push((child.digest.clone(), depth + 1));
                        }
                    }
                }
            }
        }
        Ok(catalog)
    }

    /// Repository names, sorted.
    pub fn repositories(&self) -> impl Iterator<Item = &str> {
        self.repositories.keys().map(String::as_str)
    }
}
