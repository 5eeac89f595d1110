//! OCI 1.1 referrers: through the registry's referrers API and through the
//! `sha256-<hex>` tag-schema index that clients maintain where the API is
//! missing.
//!
//! A registry without the API (404) lists nothing through it; one with it
//! may still hold a tag-schema index some client pushed. The source recorded
//! is `referrers-tag` for every referrer listed in the tag-schema index,
//! `referrers-api` for the others.

use super::Found;
use oci::{Descriptor, Digest, ImageIndex, Manifest, Store, Tag};
use std::collections::{BTreeMap, BTreeSet};
use verifier::bundle::manifest::{EvidenceKind, EvidenceSource};
use verifier::evidence::sigstore::is_bundle_media_type;

/// The evidence kind of a referrer with `artifact_type`.
pub fn classify(artifact_type: Option<&str>) -> EvidenceKind {
    match artifact_type {
        Some(t) if is_bundle_media_type(t) => EvidenceKind::SigstoreBundle,
        _ => EvidenceKind::Referrer,
    }
}

/// Every referrer of `subject`.
pub async fn find<S: Store>(store: &S, tags: &BTreeSet<Tag>, subject: &Digest) -> oci::Result<Vec<Found>> {
    let mut listed: BTreeMap<Digest, (Descriptor, EvidenceSource)> = BTreeMap::new();
    if let Ok(tag) = Tag::referrers_for(subject) {
        if tags.contains(&tag) {
            for d in tag_index(store, &tag).await?.manifests {
                listed.entry(d.digest.clone()).or_insert((d, EvidenceSource::ReferrersTag));
            }
        }
    }
    match store.referrers(subject).await {
        Ok(api) => {
            for d in api {
                listed.entry(d.digest.clone()).or_insert((d, EvidenceSource::ReferrersApi));
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    Ok(listed
        .into_values()
        .map(|(descriptor, source)| {
            let artifact_type = descriptor.artifact_type.clone();
            Found {
                kind: classify(artifact_type.as_deref()),
                subject: subject.clone(),
                source,
                descriptor,
                artifact_type,
            }
        })
        .collect())
}

async fn tag_index<S: Store>(store: &S, tag: &Tag) -> oci::Result<ImageIndex> {
    let manifest = store.get_tagged_manifest(tag).await?;
    match manifest.manifest() {
        Manifest::Index(index) => Ok(index.clone()),
        Manifest::Image(_) => Err(oci::Error::MalformedManifest {
            location: format!("{}:{tag}", store.location()),
            reason: "the referrers tag-schema tag points to an image manifest, not an index".into(),
        }),
    }
}
