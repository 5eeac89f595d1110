//! Re-signing for the site's own admission: cosign key signatures on the
//! images a load pushed, and the check that finds them again
//! (`airlock verify-image`).
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
//! # Merging, not clobbering
//!
//! A `.sig` (or `.att`) tag may already hold layers: the publisher's
//! signatures carried in the bundle, an earlier re-signature. New layers are
//! appended to the existing ones, in order, and the manifest is rebuilt in
//! cosign's shape (config listing the layers as `diff_ids`); a layer that is
//! already there is not added again, and a payload this key has already
//! signed is not signed again. ECDSA signatures are randomised, so this
//! check is what makes a second load leave the registry as it was.

use crate::check::cosign::verify_layer;
use crate::check::signature::{Authority, Requirements, SignatureVerifier};
use keys::PublicKey;
use crate::evidence::cosign::{annotation, CosignLayer, SimpleSigning, SIMPLE_SIGNING_MEDIA_TYPE};
use keys::SigningKey;
use crate::{Check, Error, Result, Verified};
use oci::manifest::{media_type, ImageManifest, Manifest};
use oci::{Descriptor, Digest, RawManifest, Store, Tag};
use std::collections::BTreeMap;

/// A signature payload is a few hundred bytes; refuse to read large layers.
const MAX_PAYLOAD_BYTES: u64 = 1024 * 1024;
/// What cosign writes in `created` fields of signature configs.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// cosign's simple-signing payload, in the key order cosign writes.
#[derive(serde::Serialize)]
struct Payload<'a> {
    critical: Critical<'a>,
    optional: Option<&'a BTreeMap<String, String>>,
}

#[derive(serde::Serialize)]
struct Critical<'a> {
    identity: Identity<'a>,
    image: Image,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(serde::Serialize)]
struct Identity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(serde::Serialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// The simple-signing payload for `digest` pulled as `docker_reference`,
/// with signer annotations `optional` (`null` when empty, as cosign writes
/// it). The same inputs always give the same bytes.
pub fn payload(docker_reference: &str, digest: &Digest, optional: &BTreeMap<String, String>) -> Vec<u8> {
    let value = Payload {
        critical: Critical {
            identity: Identity { docker_reference },
            image: Image { digest: digest.to_string() },
            kind: SimpleSigning::TYPE,
        },
        optional: (!optional.is_empty()).then_some(optional),
    };
    serde_json::to_vec(&value).expect("payload serialises")
}

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
    let payload = payload(docker_reference, digest, optional);
    let payload_digest = Digest::sha256_of(&payload);
    let existing = current_manifest(store, &tag).await?;
    if let Some(existing) = &existing {
        if let Some(layers) = cosign_layers(existing) {
            let signed = layers
                .iter()
                .filter(|l| l.digest == payload_digest)
                .any(|l| signature_verifies(l, &payload, key.public_key()));
            if signed {
                return Ok(Resigned { digest: digest.clone(), tag: tag.to_string(), manifest: existing.digest().clone(), added: false });
            }
        }
    }
    let signature = key.sign_base64(&payload)?;
    let layer = Descriptor::new(SIMPLE_SIGNING_MEDIA_TYPE, payload_digest, payload.len() as u64)
        .with_annotation(annotation::SIGNATURE, signature);
    put_bytes(store, &layer, payload).await?;
    let (manifest, _) = merge_layers(store, &tag, existing, std::slice::from_ref(&layer)).await?;
    Ok(Resigned { digest: digest.clone(), tag: tag.to_string(), manifest, added: true })
}

fn signature_verifies(layer: &Descriptor, payload: &[u8], key: &PublicKey) -> bool {
    let Some(b64) = layer.annotations.get(annotation::SIGNATURE) else { return false };
    key.verify_base64(payload, b64).is_ok()
}

/// The manifest `tag` points to, if the tag exists.
async fn current_manifest<S: Store>(store: &S, tag: &Tag) -> Result<Option<RawManifest>> {
    match store.resolve_tag(tag).await {
        Ok(desc) => Ok(Some(store.get_manifest(&desc.digest).await?)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
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
    let existing = current_manifest(store, tag).await?;
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

/// Find a signature by `key` over `digest` in the `sha256-<hex>.sig` tag of
/// `store`: a simple-signing layer whose payload names `digest` and whose
/// signature verifies with `key`. No transparency log is consulted (site
/// re-signatures are not logged).
pub async fn verify_image<S: Store>(store: &S, digest: &Digest, key: &PublicKey) -> Result<Verified<ImageSignature>> {
    let tag = Tag::cosign_for(digest, "sig")?;
    let manifest = current_manifest(store, &tag).await?.ok_or_else(|| {
        Error::failed(Check::Signature, format!("{}@{digest}: no signature (tag {tag} does not exist)", store.location()))
    })?;
    let layers = cosign_layers(&manifest).ok_or_else(|| {
        Error::failed(Check::BundleFormat, format!("{}:{tag} is an index, not a signature manifest", store.location()))
    })?;
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
            .map_err(|e| Error::failed(Check::Content, format!("signature layer {}: {e}", layer.digest)))?;
        let cosign_layer = CosignLayer {
            media_type: layer.media_type.clone(),
            payload: bytes,
            annotations: layer.annotations.clone(),
        };
        match verify_layer(&verifier, &cosign_layer, digest, &authority, &requirements) {
            Ok(facts) => {
                let Some(payload) = facts.payload.clone() else {
                    failures.push(Error::failed(Check::PayloadDigest, format!("layer {} has no signed payload", layer.digest)));
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
        0 => Err(Error::failed(Check::Signature, format!("{}:{tag} holds no cosign signature layer", store.location()))),
        1 => Err(failures.remove(0)),
        n => {
            let reasons: Vec<String> = failures.iter().enumerate().map(|(i, e)| format!("layer {}: {e}", i + 1)).collect();
            Err(Error::failed(
                Check::Signature,
                format!("none of the {n} signatures is by key {} over {digest}: {}", key.fingerprint(), reasons.join("; ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_cosigns_shape_and_deterministic() {
        let d = Digest::sha256_of(b"image");
        let p = payload("reg.site/mirror/app", &d, &BTreeMap::new());
        assert_eq!(
            String::from_utf8(p.clone()).unwrap(),
            format!(r#"{{"critical":{{"identity":{{"docker-reference":"reg.site/mirror/app"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#)
        );
        let parsed = SimpleSigning::parse(&p).unwrap();
        assert_eq!(parsed.manifest_digest, d);
        let optional = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())]);
        let with = String::from_utf8(payload("r", &d, &optional)).unwrap();
        assert!(with.ends_with(r#""optional":{"a":"1","b":"2"}}"#), "{with}");
        assert_eq!(payload("r", &d, &optional), payload("r", &d, &optional));
    }

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
