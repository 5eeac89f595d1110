//! cosign's attachment tags: `sha256-<hex>.sig` (signatures), `.att`
//! (attestations) and `.sbom` (SBOM attachments) next to the image.

use super::Found;
use oci::{Digest, RawManifest, Store, Tag};
use std::collections::BTreeSet;
use verifier::bundle::manifest::{EvidenceKind, EvidenceSource};

/// The evidence kind of each cosign tag suffix.
pub const SUFFIXES: [(&str, EvidenceKind); 3] = [
    ("sig", EvidenceKind::CosignSignature),
    ("att", EvidenceKind::CosignAttestation),
    ("sbom", EvidenceKind::CosignSbom),
];

/// The cosign attachments of `subject` among `tags`, each with its
/// manifest (fetched by tag, once).
pub async fn find<S: Store>(store: &S, tags: &BTreeSet<Tag>, subject: &Digest) -> oci::Result<Vec<(Found, RawManifest)>> {
    let mut found = Vec::new();
    for (suffix, kind) in SUFFIXES {
        // A digest whose tag form is no valid tag (sha512) has no cosign tags.
        let Ok(tag) = Tag::cosign_for(subject, suffix) else { continue };
        if !tags.contains(&tag) {
            continue;
        }
        let manifest = store.get_tagged_manifest(&tag).await?;
        let evidence = Found {
            kind,
            subject: subject.clone(),
            source: EvidenceSource::Tag,
            descriptor: manifest.descriptor(),
            artifact_type: None,
        };
        found.push((evidence, manifest));
    }
    Ok(found)
}
