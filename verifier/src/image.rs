//! One image of a checked bundle, and the evidence attached to it, read out
//! of blobs whose digests were already checked. This module parses; it
//! verifies no signature. It does refuse a bundle whose images are
//! structurally incomplete: a child of an index that is neither carried nor
//! declared dropped, a config or layer the manifest does not list, a
//! referrer whose `subject` names another image.

use crate::bundle::content::CheckedContent;
use crate::bundle::manifest::{EvidenceEntry, EvidenceKind, ImageEntry};
use crate::evidence::rekor::FetchedLogEntry;
use crate::evidence::cosign::{CosignLayer, LayerKind, DSSE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::evidence::sigstore::SigstoreBundle;
use crate::{Check, ContentError, Error, Result};
use oci::{Descriptor, Digest, Manifest, RawManifest};

/// Media type of a Sigstore bundle carried as an OCI artifact.
pub const SIGSTORE_BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The predicate type of cosign v3's image signatures (DSSE bundles).
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// Largest signature or attestation blob read into memory.
const MAX_EVIDENCE_BLOB_BYTES: u64 = 64 * 1024 * 1024;

/// A piece of evidence in a form the checker verifies.
#[derive(Debug, Clone)]
pub enum EvidenceForm {
    /// One layer of a cosign `.sig` or `.att` manifest.
    CosignLayer {
        /// The layer's digest.
        digest: Digest,
        /// The layer.
        layer: CosignLayer,
        /// The Rekor entry the bundler fetched for this layer's SET, with a
        /// fresh inclusion proof, if it carries one.
        log_entry: Option<Box<FetchedLogEntry>>,
    },
    /// A Sigstore bundle attached as an OCI referrer.
    SigstoreBundle(Box<SigstoreBundle>),
}

/// Evidence attached to one subject, ready to verify.
#[derive(Debug, Clone)]
pub struct EvidenceItem {
    /// The manifest entry it came from.
    pub entry: EvidenceEntry,
    /// Its content.
    pub form: EvidenceForm,
}

impl EvidenceItem {
    /// Whether this item signs its subject (rather than attesting to it).
    pub fn is_signature(&self) -> bool {
        match &self.form {
            // By content: a DSSE layer never signs, however it is filed.
            EvidenceForm::CosignLayer { layer, .. } => layer.kind() == Some(LayerKind::Signature),
            EvidenceForm::SigstoreBundle(bundle) => match bundle.dsse_payload() {
                None => true,
                Some((_, payload)) => statement_predicate(payload).as_deref() == Some(COSIGN_SIGN_PREDICATE),
            },
        }
    }

    /// Whether this item is an attestation (a DSSE in-toto statement).
    pub fn is_attestation(&self) -> bool {
        match &self.form {
            EvidenceForm::CosignLayer { layer, .. } => layer.kind() == Some(LayerKind::Attestation),
            EvidenceForm::SigstoreBundle(bundle) => bundle.dsse_payload().is_some() && !self.is_signature(),
        }
    }

    /// A short label for reports: `cosign-signature sha256:… layer sha256:…`.
    pub fn label(&self) -> String {
        match &self.form {
            EvidenceForm::CosignLayer { digest, .. } => {
                format!("{} {} layer {digest}", self.entry.kind.name(), self.entry.manifest)
            }
            EvidenceForm::SigstoreBundle(_) => format!("{} {}", self.entry.kind.name(), self.entry.manifest),
        }
    }
}

fn statement_predicate(payload: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "predicateType")]
        predicate_type: String,
    }
    serde_json::from_slice::<Head>(payload).ok().map(|h| h.predicate_type)
}

/// One image as the bundle carries it.
#[derive(Debug)]
pub struct ImageContent {
    /// The bundle manifest's entry for it.
    pub entry: ImageEntry,
    /// Its manifest or index, as carried.
    pub manifest: RawManifest,
    /// Verifiable evidence, for the image and each carried platform.
    pub evidence: Vec<EvidenceItem>,
    /// Evidence carried but not verifiable by airlock (cosign `.sbom`
    /// attachments, Notation signatures, other referrers), by manifest digest.
    pub unverifiable: Vec<EvidenceEntry>,
}

fn structure_error(image: &ImageEntry, reason: impl std::fmt::Display) -> Error {
    Error::failed(Check::BundleFormat, format!("image {}: {reason}", image.reference))
}

/// Read one image and its evidence from checked content.
pub fn read_image(content: &CheckedContent, entry: &ImageEntry) -> Result<ImageContent> {
    let manifest = read_manifest(content, &entry.digest, Some(&entry.media_type))
        .map_err(|e| structure_error(entry, e))?;
    check_image_blobs(content, entry, &manifest)?;
    let mut evidence = Vec::new();
    let mut unverifiable = Vec::new();
    for item in &entry.evidence {
        match item.kind {
            EvidenceKind::CosignSignature | EvidenceKind::CosignAttestation => {
                evidence.extend(cosign_layers(content, entry, item)?);
            }
            EvidenceKind::SigstoreBundle => evidence.push(sigstore_bundle(content, entry, item)?),
            EvidenceKind::CosignSbom => {
                check_filed_kinds(entry, item, &evidence_manifest(content, entry, item)?)?;
                unverifiable.push(item.clone());
            }
            EvidenceKind::Referrer => unverifiable.push(item.clone()),
        }
    }
    Ok(ImageContent { entry: entry.clone(), manifest, evidence, unverifiable })
}

fn read_manifest(content: &CheckedContent, digest: &Digest, declared: Option<&str>) -> Result<RawManifest> {
    if content.manifest.manifest.blob(digest).is_some_and(|b| !b.carried) {
        return Err(Error::failed(
            Check::BundleFormat,
            format!("manifest {digest} is left out, but a bundle must carry every manifest (only configs and layers may be inherited)"),
        ));
    }
    let bytes = content.read_blob(digest, oci::MAX_MANIFEST_SIZE)?;
    RawManifest::from_bytes(&format!("blob {digest}"), bytes, declared, Some(digest))
        .map_err(|e| Error::failed(Check::BundleFormat, e.to_string()))
}

/// Every child, config and layer of the image must be listed in the bundle
/// (carried, or inherited from an earlier bundle); every child of an index
/// must be either carried or declared dropped.
fn check_image_blobs(content: &CheckedContent, entry: &ImageEntry, manifest: &RawManifest) -> Result<()> {
    let listed = |d: &Digest| content.manifest.manifest.blob(d).is_some();
    let manifests: Vec<(RawManifest, Option<String>)> = match manifest.manifest() {
        Manifest::Image(_) => {
            if !entry.platforms.is_empty() {
                return Err(structure_error(entry, "platforms are listed for an image that is not an index"));
            }
            vec![(manifest.clone(), None)]
        }
        Manifest::Index(index) => {
            let mut children = Vec::new();
            for child in &index.manifests {
                let carried = entry.platforms.iter().any(|p| p.digest == child.digest);
                let dropped = entry.dropped_platforms.iter().any(|p| p.digest == child.digest);
                if !carried && !dropped {
                    return Err(structure_error(entry, format!("index child {} is neither carried nor declared dropped", child.digest)));
                }
                if carried {
                    let raw = read_manifest(content, &child.digest, Some(&child.media_type))
                        .map_err(|e| structure_error(entry, e))?;
                    children.push((raw, Some(child.digest.to_string())));
                }
            }
            for platform in &entry.platforms {
                if !index.manifests.iter().any(|c| c.digest == platform.digest) {
                    return Err(structure_error(entry, format!("platform {} ({}) is not a child of the index", platform.platform, platform.digest)));
                }
            }
            children
        }
    };
    for (raw, _) in &manifests {
        let Manifest::Image(image) = raw.manifest() else {
            return Err(structure_error(entry, format!("{} is a nested index, which airlock does not carry", raw.digest())));
        };
        for blob in std::iter::once(&image.config).chain(&image.layers) {
            if !listed(&blob.digest) {
                return Err(structure_error(entry, format!("{} of {} is not in the bundle", blob.digest, raw.digest())));
            }
        }
    }
    Ok(())
}

fn evidence_manifest(content: &CheckedContent, image: &ImageEntry, item: &EvidenceEntry) -> Result<oci::ImageManifest> {
    let raw = read_manifest(content, &item.manifest, None).map_err(|e| structure_error(image, e))?;
    match raw.manifest() {
        Manifest::Image(m) => {
            if let Some(subject) = &m.subject {
                if subject.digest != item.subject {
                    return Err(structure_error(
                        image,
                        format!("evidence {} names subject {}, but is filed under {}", item.manifest, subject.digest, item.subject),
                    ));
                }
            }
            Ok(m.clone())
        }
        Manifest::Index(_) => Err(structure_error(image, format!("evidence {} is an index", item.manifest))),
    }
}

fn layer_blob(content: &CheckedContent, image: &ImageEntry, layer: &Descriptor) -> Result<Vec<u8>> {
    if content.manifest.manifest.blob(&layer.digest).is_none() {
        return Err(structure_error(image, format!("evidence layer {} is not in the bundle", layer.digest)));
    }
    content.read_blob(&layer.digest, MAX_EVIDENCE_BLOB_BYTES)
}

/// What a layer filed as `kind` must be, by its media type: `None` when
/// the kind constrains nothing (a Sigstore bundle is found by its own media
/// type; a referrer is whatever its artifact type says).
pub fn filed_kind_mismatch(kind: EvidenceKind, media_type: &str) -> Option<String> {
    let describe = || match media_type {
        DSSE_MEDIA_TYPE => format!("a DSSE attestation ({DSSE_MEDIA_TYPE})"),
        SIMPLE_SIGNING_MEDIA_TYPE => format!("a simple-signing signature payload ({SIMPLE_SIGNING_MEDIA_TYPE})"),
        other => format!("of media type {other:?}"),
    };
    let fits = match kind {
        EvidenceKind::CosignSignature => media_type == SIMPLE_SIGNING_MEDIA_TYPE,
        EvidenceKind::CosignAttestation => media_type == DSSE_MEDIA_TYPE,
        EvidenceKind::CosignSbom => crate::evidence::sbom::is_sbom_media_type(media_type),
        EvidenceKind::SigstoreBundle | EvidenceKind::Referrer => true,
    };
    (!fits).then(describe)
}

/// Every layer of `manifest` is what `item` is filed as.
fn check_filed_kinds(image: &ImageEntry, item: &EvidenceEntry, manifest: &oci::ImageManifest) -> Result<()> {
    for layer in &manifest.layers {
        if let Some(found) = filed_kind_mismatch(item.kind, &layer.media_type) {
            return Err(ContentError::EvidenceKind {
                reference: image.reference.clone(),
                manifest: item.manifest.clone(),
                layer: layer.digest.clone(),
                filed: item.kind.name(),
                found,
            }
            .into());
        }
    }
    Ok(())
}

fn cosign_layers(content: &CheckedContent, image: &ImageEntry, item: &EvidenceEntry) -> Result<Vec<EvidenceItem>> {
    let manifest = evidence_manifest(content, image, item)?;
    check_filed_kinds(image, item, &manifest)?;
    manifest
        .layers
        .iter()
        .map(|layer| {
            Ok(EvidenceItem {
                entry: item.clone(),
                form: EvidenceForm::CosignLayer {
                    digest: layer.digest.clone(),
                    log_entry: item.log_entries.iter().find(|e| e.layer == layer.digest).cloned().map(Box::new),
                    layer: CosignLayer {
                        media_type: layer.media_type.clone(),
                        payload: layer_blob(content, image, layer)?,
                        annotations: layer.annotations.clone(),
                    },
                },
            })
        })
        .collect()
}

fn sigstore_bundle(content: &CheckedContent, image: &ImageEntry, item: &EvidenceEntry) -> Result<EvidenceItem> {
    let manifest = evidence_manifest(content, image, item)?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == SIGSTORE_BUNDLE_MEDIA_TYPE)
        .ok_or_else(|| structure_error(image, format!("referrer {} carries no {SIGSTORE_BUNDLE_MEDIA_TYPE} layer", item.manifest)))?;
    let bundle = SigstoreBundle::from_json(&layer_blob(content, image, layer)?)?;
    Ok(EvidenceItem { entry: item.clone(), form: EvidenceForm::SigstoreBundle(Box::new(bundle)) })
}
