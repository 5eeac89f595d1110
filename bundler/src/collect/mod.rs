//! Finding the evidence attached to an image, its index and each carried
//! platform child, one file per source:
//!
//! - [`cosign_tags`]: cosign's `sha256-<hex>.sig`, `.att` and `.sbom` tags;
//! - [`referrers`]: OCI 1.1 referrers, through the registry's referrers API
//!   and the `sha256-<hex>` tag-schema fallback, classified as Sigstore
//!   bundles or other referrers (Notation signatures, SBOM artifacts);
//! - [`rekor`]: Rekor entries, with fresh inclusion proofs, for cosign
//!   layers that carry only a SET (asked for by the self-check, which
//!   reads the layers).
//!
//! Anything other than "not there" is an error: evidence is never silently
//! left behind.

pub mod cosign_tags;
pub mod referrers;
pub mod rekor;

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress, Unit};
use crate::resolve::Resolved;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use oci::remote::Repository;
use oci::store::{self, Graph};
use oci::{Descriptor, Digest, ImageRef, RawManifest, Store, Tag};
use std::collections::BTreeSet;
use verifier::bundle::manifest::{EvidenceKind, EvidenceSource};

/// One evidence manifest found for a subject.
#[derive(Debug, Clone)]
pub struct Found {
    /// What it is.
    pub kind: EvidenceKind,
    /// The image, index or platform child it is attached to.
    pub subject: Digest,
    /// Where it was found.
    pub source: EvidenceSource,
    /// Its manifest's descriptor.
    pub descriptor: Descriptor,
    /// For referrers: the artifact type.
    pub artifact_type: Option<String>,
}

/// Evidence found for one subject, with its manifests and blobs walked.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Where and what.
    pub found: Found,
    /// The evidence manifest (and, for an index, its children) and blobs.
    pub graph: Graph,
}

/// A resolved image and every piece of evidence found for it.
#[derive(Debug, Clone)]
pub struct ImageEvidence {
    /// The image.
    pub image: Resolved,
    /// Its evidence, and its children's, in the manifest's order.
    pub evidence: Vec<Collected>,
}

impl ImageEvidence {
    /// The image's graph, then each evidence graph, each with whether it
    /// is evidence.
    pub fn graphs(&self) -> impl Iterator<Item = (&Graph, bool)> {
        std::iter::once((&self.image.graph, false)).chain(self.evidence.iter().map(|c| (&c.graph, true)))
    }
}

/// The evidence of each image, `jobs` images at a time; in request order.
pub async fn evidence(images: Vec<Resolved>, jobs: usize, progress: &dyn Progress) -> Result<Vec<ImageEvidence>> {
    progress.start(Phase::Collect, images.len() as u64, Unit::Items);
    let collected = stream::iter(images)
        .map(|image| async move {
            // What was found is in the report, per image (and a warning
            // for an image with none).
            let evidence = for_image(&image.reference, &image.repository, &image.subjects()).await?;
            progress.advance(1);
            Ok::<_, Error>(ImageEvidence { image, evidence })
        })
        .buffered(jobs)
        .try_collect()
        .await?;
    progress.finish(Phase::Collect);
    Ok(collected)
}

/// Every piece of evidence for `subjects` (an image and its carried
/// children) in `repository`. Tags are listed once.
pub async fn for_image(image: &ImageRef, repository: &Repository, subjects: &[Digest]) -> Result<Vec<Collected>> {
    let tags: BTreeSet<Tag> = repository
        .list_tags()
        .await
        .map_err(|e| Error::registry(image, "list tags", e))?
        .into_iter()
        .collect();
    // Cosign tags come with their manifest (fetched by tag); referrers are
    // listed by descriptor.
    let mut found: Vec<(Found, Option<RawManifest>)> = Vec::new();
    for subject in subjects {
        let tagged = cosign_tags::find(repository, &tags, subject)
            .await
            .map_err(|e| Error::registry(image, "read cosign tags", e))?;
        found.extend(tagged.into_iter().map(|(f, m)| (f, Some(m))));
        let referring = referrers::find(repository, &tags, subject)
            .await
            .map_err(|e| Error::registry(image, "list referrers", e))?;
        found.extend(referring.into_iter().map(|f| (f, None)));
    }
    // One entry per (subject, kind, manifest), in the manifest's order.
    let key = |f: &Found| (f.subject.clone(), f.kind, f.descriptor.digest.clone());
    found.sort_by_key(|(f, _)| key(f));
    found.dedup_by(|a, b| key(&a.0) == key(&b.0));

    let mut collected = Vec::with_capacity(found.len());
    for (mut f, manifest) in found {
        let graph = match manifest {
            Some(manifest) => store::walk_manifest(repository, manifest, &[]).await,
            None => store::walk(repository, &f.descriptor, &[]).await,
        }
        .map_err(|e| Error::registry(image, "read evidence", e))?;
        if matches!(f.source, EvidenceSource::ReferrersApi | EvidenceSource::ReferrersTag) {
            // The manifest, not the listing, says what it is.
            f.artifact_type = graph.root_manifest().and_then(|m| m.manifest().artifact_type().map(String::from));
            f.kind = referrers::classify(f.artifact_type.as_deref());
            let subject = graph.root_manifest().and_then(|m| m.manifest().subject().map(|s| s.digest.clone()));
            if subject.as_ref() != Some(&f.subject) {
                return Err(Error::Evidence {
                    at: Box::new(crate::At {
                        image: image.to_string(),
                        evidence: f.descriptor.digest.clone(),
                        layer: None,
                    }),
                    reason: format!(
                        "listed as a referrer of {}, but its subject is {}",
                        f.subject,
                        subject.map_or_else(|| "absent".to_string(), |s| s.to_string())
                    ),
                });
            }
        }
        collected.push(Collected { found: f, graph });
    }
    Ok(collected)
}
