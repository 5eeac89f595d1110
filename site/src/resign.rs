//! Re-signing for the site's own admission: cosign key signatures on the
//! images a load pushed. `verifier::signed_image` is the check that finds
//! them again (`airlock verify-image`).
//!
//! # What is written
//!
//! For an image digest `D` in repository `R`, a layer in the
//! `sha256-<hex of D>.sig` manifest of `R`, exactly as `cosign sign --key
//! KEY --tlog-upload=false` writes it:
//!
//! - the layer blob is cosign's simple-signing payload
//!   `{"critical":{"identity":{"docker-reference":"R"},"image":{"docker-manifest-digest":"D"},"type":"cosign container image signature"},"optional":{…}}`;
//! - its `dev.cosignproject.cosign/signature` annotation is the base64 of an
//!   ASN.1 DER ECDSA P-256 SHA-256 signature over the payload bytes;
//! - there is no certificate, no Rekor bundle and no timestamp: nothing is
//!   logged, so verifiers must be told to skip the transparency log
//!   (cosign `--insecure-ignore-tlog`, Kyverno `rekor.ignoreTlog`).
//!
//! `docker-reference` is the repository the image is pulled from inside the
//! site, as cosign writes it (`ref.Context().Name()`); containers/image's
//! `matchRepository` identity check compares it with the pulled name.
//!
//! On an image that has Sigstore bundle referrers, the same signature is
//! also written as a key-signed bundle referrer ([`sign_image_bundle`]):
//! cosign v3 then reads only bundles.
//!
//! # Merging, not clobbering
//!
//! A `.sig` (or `.att`) tag may already hold layers: the publisher's
//! signatures carried in the bundle, an earlier re-signature. New layers are
//! appended to the existing ones, in order, and the manifest is rebuilt in
//! cosign's shape (config listing the layers as `diff_ids`); a layer that is
//! already there is not added again, and a payload this key has already
//! signed is not signed again. ECDSA signatures are randomised, so this
//! check is what makes a second load leave the registry as it was.

mod bundle;

pub use bundle::{sign_image_bundle, ResignedBundle, BUNDLE_MEDIA_TYPE, COSIGN_SIGN_PREDICATE_TYPE};

use crate::{Error, Result};
use keys::{PublicKey, SigningKey};
use oci::manifest::{media_type, ImageManifest, Manifest};
use verifier::evidence::cosign::{annotation, SimpleSigning, SIMPLE_SIGNING_MEDIA_TYPE};
use oci::{Descriptor, Digest, RawManifest, Store, Tag};
use std::collections::BTreeMap;

/// What cosign writes in `created` fields of signature configs.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// What re-signing one digest did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resigned {
    /// The signed image (or platform child) digest.
    pub digest: Digest,
    /// The cosign tag holding the signature.
    pub tag: String,
    /// The signature manifest the tag points to afterwards.
    pub manifest: Digest,
    /// `false` when this key had already signed this payload there.
    pub added: bool,
    /// The same signature in cosign v3's format, a Sigstore bundle
    /// referrer ([`sign_image_bundle`]), where the image has Sigstore
    /// bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<ResignedBundle>,
}

/// What merging layers into a cosign tag did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagUpdate {
    /// The tag did not exist and now points at the manifest as given.
    Created,
    /// The tag already held every layer; nothing changed.
    Unchanged,
    /// New layers were appended to the manifest the tag held.
    Merged,
}

/// Sign `digest` with `key` as `docker_reference` and add the signature to
/// the `sha256-<hex>.sig` tag of `store`, keeping every layer already there.
pub async fn sign_image<S: Store>(
    store: &S,
    key: &SigningKey,
    digest: &Digest,
    docker_reference: &str,
    optional: &BTreeMap<String, String>,
) -> Result<Resigned> {
    let tag = Tag::cosign_for(digest, "sig")?;
    let payload = SimpleSigning::payload(docker_reference, digest, optional);
    let payload_digest = Digest::sha256_of(&payload);
    let existing = oci::store::tagged_manifest(store, &tag).await?;
    if let Some(existing) = &existing {
        if let Some(layers) = cosign_layers(existing) {
            let signed = layers
                .iter()
                .filter(|l| l.digest == payload_digest)
                .any(|l| signature_verifies(l, &payload, key.public_key()));
            if signed {
                return Ok(Resigned { digest: digest.clone(), tag: tag.to_string(), manifest: existing.digest().clone(), added: false, bundle: None });
            }
        }
    }
    let signature = key.sign_base64(&payload)?;
    let layer = Descriptor::new(SIMPLE_SIGNING_MEDIA_TYPE, payload_digest, payload.len() as u64)
        .with_annotation(annotation::SIGNATURE, signature);
    put_bytes(store, &layer, payload).await?;
    let (manifest, _) = merge_layers(store, &tag, existing, std::slice::from_ref(&layer)).await?;
    Ok(Resigned { digest: digest.clone(), tag: tag.to_string(), manifest, added: true, bundle: None })
}

fn signature_verifies(layer: &Descriptor, payload: &[u8], key: &PublicKey) -> bool {
    let Some(b64) = layer.annotations.get(annotation::SIGNATURE) else { return false };
    key.verify_base64(payload, b64).is_ok()
}

fn cosign_layers(manifest: &RawManifest) -> Option<&[Descriptor]> {
    match manifest.manifest() {
        Manifest::Image(image) => Some(&image.layers),
        Manifest::Index(_) => None,
    }
}

async fn put_bytes<S: Store>(store: &S, descriptor: &Descriptor, bytes: Vec<u8>) -> Result<()> {
    if !store.has_blob(descriptor).await? {
        store.put_blob(descriptor, std::io::Cursor::new(bytes)).await?;
    }
    Ok(())
}

/// Put the carried cosign manifest `carried` under `tag`: as is when the
/// tag does not exist, otherwise by appending its layers to the manifest
/// the tag holds. Every blob `carried` refers to must already be stored.
pub(crate) async fn put_cosign_manifest<S: Store>(store: &S, tag: &Tag, carried: &RawManifest) -> Result<(Digest, TagUpdate)> {
    let existing = oci::store::tagged_manifest(store, tag).await?;
    match existing {
        None => {
            store.put_manifest(carried, Some(tag)).await?;
            Ok((carried.digest().clone(), TagUpdate::Created))
        }
        Some(existing) if existing.digest() == carried.digest() => Ok((existing.digest().clone(), TagUpdate::Unchanged)),
        Some(existing) => {
            let layers = cosign_layers(carried).ok_or_else(|| not_cosign(store, tag))?.to_vec();
            merge_layers(store, tag, Some(existing), &layers).await
        }
    }
}

fn not_cosign<S: Store>(store: &S, tag: &Tag) -> Error {
    Error::Invalid(format!("{}:{tag} holds an index, not a cosign signature manifest; refusing to replace it", store.location()))
}

/// Append `layers` to what `tag` holds (or start from nothing), rebuild the
/// manifest in cosign's shape and point the tag at it.
async fn merge_layers<S: Store>(
    store: &S,
    tag: &Tag,
    existing: Option<RawManifest>,
    layers: &[Descriptor],
) -> Result<(Digest, TagUpdate)> {
    let mut merged: Vec<Descriptor> = match &existing {
        Some(m) => cosign_layers(m).ok_or_else(|| not_cosign(store, tag))?.to_vec(),
        None => Vec::new(),
    };
    let before = merged.len();
    for layer in layers {
        if !merged.contains(layer) {
            merged.push(layer.clone());
        }
    }
    if let Some(existing) = &existing {
        if merged.len() == before {
            return Ok((existing.digest().clone(), TagUpdate::Unchanged));
        }
    }
    let (config, manifest) = cosign_manifest(&store.location(), &merged)?;
    put_bytes(store, &config.0, config.1).await?;
    store.put_manifest(&manifest, Some(tag)).await?;
    let update = if existing.is_some() { TagUpdate::Merged } else { TagUpdate::Created };
    Ok((manifest.digest().clone(), update))
}

/// A signature manifest as cosign builds one: an OCI image manifest whose
/// config lists the layers as `diff_ids`, times at Go's zero time.
fn cosign_manifest(location: &str, layers: &[Descriptor]) -> Result<((Descriptor, Vec<u8>), RawManifest)> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "config": {},
        "created": ZERO_TIME,
        "history": [{"created": ZERO_TIME}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("config serialises");
    let config_desc = Descriptor::new(media_type::OCI_CONFIG, Digest::sha256_of(&config), config.len() as u64);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: None,
        config: config_desc.clone(),
        layers: layers.to_vec(),
        subject: None,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest serialises");
    let raw = RawManifest::from_bytes(location, bytes, Some(media_type::OCI_MANIFEST), None)?;
    Ok(((config_desc, config), raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_manifests_list_their_layers_as_diff_ids() {
        let layer = Descriptor::new(SIMPLE_SIGNING_MEDIA_TYPE, Digest::sha256_of(b"p"), 1).with_annotation(annotation::SIGNATURE, "MEUC");
        let ((config, bytes), manifest) = cosign_manifest("test", std::slice::from_ref(&layer)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["rootfs"]["diff_ids"][0], layer.digest.to_string());
        assert_eq!(config.digest, Digest::sha256_of(&bytes));
        let Manifest::Image(image) = manifest.manifest() else { panic!("image manifest") };
        assert_eq!(image.layers, vec![layer.clone()]);
        assert_eq!(cosign_manifest("test", &[layer]).unwrap().1.digest(), manifest.digest(), "deterministic");
    }
}
