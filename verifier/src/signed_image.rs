//! `airlock verify-image`: find a cosign key signature (a site
//! re-signature) over one image in a registry, as `cosign verify --key KEY
//! --insecure-ignore-tlog` would. The signature is checked by the same
//! engine as every other; no transparency log is consulted, because site
//! re-signatures are not logged.

use crate::check::cosign::verify_layer;
use crate::check::signature::{Authority, Requirements, SignatureVerifier};
use crate::evidence::cosign::{CosignLayer, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::{Check, Error, Result, Verified};
use keys::PublicKey;
use oci::manifest::Manifest;
use oci::{Digest, Store, Tag};
use std::collections::BTreeMap;

/// A signature payload is a few hundred bytes; refuse to read large layers.
const MAX_PAYLOAD_BYTES: u64 = 1024 * 1024;

/// What `verify-image` established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSignature {
    /// The image digest the signature covers.
    pub digest: Digest,
    /// The cosign tag it was found under.
    pub tag: String,
    /// The signature manifest.
    pub manifest: Digest,
    /// The layer (payload) that verified.
    pub layer: Digest,
    /// The payload's `docker-reference`.
    pub docker_reference: String,
    /// The payload's `optional` annotations.
    pub optional: BTreeMap<String, serde_json::Value>,
    /// The key's fingerprint.
    pub key: String,
}

/// Why `verify-image` found no signature by the key, beyond what one
/// layer's verification says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteSignatureError {
    /// The image has no cosign signature tag.
    #[error("{location}@{digest}: no signature (tag {tag} does not exist)")]
    NoTag {
        /// The repository.
        location: String,
        /// The image.
        digest: Digest,
        /// The cosign tag looked for.
        tag: Tag,
    },
    /// The signature tag names an index.
    #[error("{location}:{tag} is an index, not a signature manifest")]
    NotASignatureManifest {
        /// The repository.
        location: String,
        /// The cosign tag.
        tag: Tag,
    },
    /// The signature manifest has no simple-signing layer.
    #[error("{location}:{tag} holds no cosign signature layer")]
    NoLayer {
        /// The repository.
        location: String,
        /// The cosign tag.
        tag: Tag,
    },
    /// A signature layer could not be read.
    #[error("signature layer {layer}: {source}")]
    Unreadable {
        /// The layer.
        layer: Digest,
        /// The read error.
        source: std::io::Error,
    },
    /// Several signatures, none by the key over this image.
    #[error("none of the {} signatures is by key {key} over {digest}: {}", reasons.len(), numbered(reasons))]
    NoneByKey {
        /// The key's fingerprint.
        key: String,
        /// The image.
        digest: Digest,
        /// Why each layer failed, in order.
        reasons: Vec<String>,
    },
}

impl SiteSignatureError {
    /// The check it belongs to.
    pub fn check(&self) -> Check {
        match self {
            Self::NotASignatureManifest { .. } => Check::BundleFormat,
            Self::Unreadable { .. } => Check::Content,
            Self::NoTag { .. } | Self::NoLayer { .. } | Self::NoneByKey { .. } => Check::Signature,
        }
    }
}

fn numbered(reasons: &[String]) -> String {
    reasons.iter().enumerate().map(|(i, r)| format!("layer {}: {r}", i + 1)).collect::<Vec<_>>().join("; ")
}

/// Find a signature by `key` over `digest` in the `sha256-<hex>.sig` tag of
/// `store`: a simple-signing layer whose payload names `digest` and whose
/// signature verifies with `key`. No transparency log is consulted (site
/// re-signatures are not logged).
pub async fn verify_image<S: Store>(store: &S, digest: &Digest, key: &PublicKey) -> Result<Verified<ImageSignature>> {
    let tag = Tag::cosign_for(digest, "sig")?;
    let manifest = oci::store::tagged_manifest(store, &tag).await?.ok_or_else(|| SiteSignatureError::NoTag {
        location: store.location(),
        digest: digest.clone(),
        tag: tag.clone(),
    })?;
    let Manifest::Image(image) = manifest.manifest() else {
        return Err(SiteSignatureError::NotASignatureManifest { location: store.location(), tag }.into());
    };
    let layers = &image.layers;
    // The engine needs a trusted root to be built; a key-only check with
    // the log waived never consults it.
    let trust = trust_roots::VerifiedTrustRoot::embedded_public_good().map_err(|e| Error::Unsupported(e.to_string()))?;
    let verifier = SignatureVerifier::new(&trust)?;
    let authority = Authority::Key(key.clone());
    let requirements = Requirements::default().without_transparency_log_unsafe();
    let mut failures: Vec<Error> = Vec::new();
    for layer in layers.iter().filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE) {
        if layer.size > MAX_PAYLOAD_BYTES {
            failures.push(Error::TooLarge { what: format!("signature layer {}", layer.digest), limit: MAX_PAYLOAD_BYTES });
            continue;
        }
        let mut bytes = Vec::new();
        let mut reader = store.open_blob(layer).await?;
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
            .await
            .map_err(|source| SiteSignatureError::Unreadable { layer: layer.digest.clone(), source })?;
        let cosign_layer = CosignLayer {
            media_type: layer.media_type.clone(),
            payload: bytes,
            annotations: layer.annotations.clone(),
        };
        match verify_layer(&verifier, &cosign_layer, digest, &authority, &requirements) {
            Ok(facts) => {
                let Some(payload) = facts.payload.clone() else {
                    failures.push(Error::NoSignedPayload { layer: layer.digest.clone() });
                    continue;
                };
                return Ok(Verified::new(ImageSignature {
                    digest: digest.clone(),
                    tag: tag.to_string(),
                    manifest: manifest.digest().clone(),
                    layer: layer.digest.clone(),
                    docker_reference: payload.docker_reference,
                    optional: payload.optional,
                    key: key.fingerprint().to_string(),
                }));
            }
            Err(e) => failures.push(e),
        }
    }
    match failures.len() {
        0 => Err(SiteSignatureError::NoLayer { location: store.location(), tag }.into()),
        1 => Err(failures.remove(0)),
        _ => Err(SiteSignatureError::NoneByKey {
            key: key.fingerprint().to_string(),
            digest: digest.clone(),
            reasons: failures.iter().map(ToString::to_string).collect(),
        }
        .into()),
    }
}
