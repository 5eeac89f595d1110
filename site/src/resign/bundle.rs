//! The site's re-signature in cosign v3's format: a key-signed Sigstore
//! bundle attached as an OCI 1.1 referrer, exactly as `cosign sign --key`
//! with a key-only signing config writes it.
//!
//! Why both formats: cosign v3's `verify` reads only the Sigstore bundle
//! referrers of an image that has any (`cmd/cosign/cli/verify/verify.go`:
//! `GetBundles`, then `VerifyImageAttestations`), and accepts when one of
//! them verifies. On an image that carries a publisher's keyless bundle, a
//! `.sig`-only re-signature is never looked at, and `cosign verify --key
//! site.pub` fails. policy-controller and Kyverno read the `.sig`, which
//! [`super::sign_image`] keeps writing.
//!
//! # What is written
//!
//! - a DSSE envelope over the in-toto statement
//!   `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":HEX},"annotations":{…}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
//!   signed over its PAE with the site's key; the subject annotations are
//!   the same `optional` ones the `.sig` payload carries;
//! - in a v0.3 bundle whose verification material is only the key's hint
//!   (base64 of the SHA-256 of its SubjectPublicKeyInfo), no log entry and
//!   no timestamp: verifiers skip the log (`--insecure-ignore-tlog`);
//! - as the single layer of an OCI manifest with the empty config,
//!   `artifactType` `application/vnd.dev.sigstore.bundle.v0.3+json`, cosign's
//!   two bundle annotations, and the image as `subject`; pushed through
//!   [`oci::store::put_referrer`], which maintains the `sha256-<hex>`
//!   tag-schema index on registries without the referrers API.
//!
//! Only where the image already has a Sigstore bundle referrer (a
//! publisher's): elsewhere cosign v3 reads the `.sig` tag, and a bundle of
//! ours would make it read bundles only, hiding the publishers' legacy
//! keyless `.sig` signatures from `cosign verify`.
//!
//! A referrer whose statement is this one and whose signature verifies with
//! this key is kept and nothing is written: a second load changes nothing.

use crate::Result;
use keys::{PublicKey, SigningKey};
use oci::manifest::{media_type, ImageManifest};
use oci::{Descriptor, Digest, RawManifest, Store};
use sigstore_types::bundle::{SignatureContent, VerificationMaterial, VerificationMaterialContent};
use sigstore_types::encoding::{KeyId, PayloadBytes};
use sigstore_types::{Bundle, DsseEnvelope, DsseSignature, MediaType, PublicKeyIdentifier, SignatureBytes};
use std::collections::BTreeMap;
use tokio::io::AsyncReadExt;

/// Sigstore bundle v0.3: the layer's media type and the manifest's
/// `artifactType`.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The predicate type of cosign v3's image signatures.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// Every Sigstore bundle media type (v0.1 and v0.2 carry a `+json;version=`
/// suffix instead) starts so.
const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// A key-signed bundle is a few hundred bytes; anything far larger under
/// our annotations is not ours and is not read.
const MAX_OWN_BUNDLE_BYTES: u64 = 64 * 1024;

/// What writing the bundle re-signature of one digest did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResignedBundle {
    /// The referrer manifest holding the bundle.
    pub manifest: Digest,
    /// `false` when this key had already signed this statement there.
    pub added: bool,
}

/// Sign the image `subject` (its manifest's descriptor in `store`) with
/// `key` as a Sigstore bundle referrer, where cosign v3 would look for one:
/// when `subject` already has a Sigstore bundle referrer (a publisher's).
/// Without one, cosign reads the `.sig` tag, where the publisher's legacy
/// signatures are too: a bundle of ours would hide those from it. `None`
/// when no bundle was needed; an existing one of ours is kept.
pub async fn sign_image_bundle<S: Store>(
    store: &S,
    key: &SigningKey,
    subject: &Descriptor,
    optional: &BTreeMap<String, String>,
) -> Result<Option<ResignedBundle>> {
    let statement = statement(&subject.digest, optional);
    let bundles: Vec<Descriptor> = oci::store::referrers(store, &subject.digest)
        .await?
        .into_iter()
        .filter(|r| r.artifact_type.as_deref().is_some_and(|t| t.starts_with(SIGSTORE_BUNDLE_PREFIX)))
        .collect();
    if bundles.is_empty() {
        return Ok(None);
    }
    if let Some(existing) = find_own(store, &bundles, &statement, key.public_key()).await? {
        return Ok(Some(ResignedBundle { manifest: existing, added: false }));
    }
    let bundle = signed_bundle(key, statement)?;
    let layer = Descriptor::new(BUNDLE_MEDIA_TYPE, Digest::sha256_of(&bundle), bundle.len() as u64);
    let empty = b"{}".to_vec();
    let config = Descriptor::new(media_type::OCI_EMPTY, Digest::sha256_of(&empty), empty.len() as u64);
    super::put_bytes(store, &layer, bundle).await?;
    super::put_bytes(store, &config, empty).await?;
    let manifest = referrer_manifest(&store.location(), config, layer, subject)?;
    oci::store::put_referrer(store, &manifest).await?;
    Ok(Some(ResignedBundle { manifest: manifest.digest().clone(), added: true }))
}

/// The in-toto statement cosign v3 signs for an image: the digest as the
/// only subject, no name, an empty predicate. Same inputs, same bytes.
fn statement(digest: &Digest, optional: &BTreeMap<String, String>) -> Vec<u8> {
    let algorithm = digest.algorithm().name();
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {algorithm: digest.hex()}, "annotations": optional}],
        "predicateType": COSIGN_SIGN_PREDICATE_TYPE,
        "predicate": {},
    }))
    .expect("statement serialises")
}

fn signed_bundle(key: &SigningKey, statement: Vec<u8>) -> Result<Vec<u8>> {
    let pae = sigstore_types::dsse::pae(IN_TOTO_PAYLOAD_TYPE, &statement);
    let signature = DsseSignature::new(SignatureBytes::new(key.sign(&pae)?), KeyId::new(""));
    let envelope = DsseEnvelope::new(IN_TOTO_PAYLOAD_TYPE, PayloadBytes::new(statement), signature);
    let material = VerificationMaterial::new(VerificationMaterialContent::PublicKey(PublicKeyIdentifier::new(hint(key.public_key()))));
    let bundle = Bundle::new(MediaType::Bundle0_3, material, SignatureContent::DsseEnvelope(envelope));
    Ok(bundle.to_json().expect("bundle serialises").into_bytes())
}

/// sigstore-go's key hint: base64 of the SHA-256 of the SubjectPublicKeyInfo.
fn hint(key: &PublicKey) -> String {
    use base64::Engine as _;
    let digest = Digest::sha256_of(key.der().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_bytes())
}

fn referrer_manifest(location: &str, config: Descriptor, layer: Descriptor, subject: &Descriptor) -> Result<RawManifest> {
    let mut config = config;
    config.artifact_type = Some(BUNDLE_MEDIA_TYPE.to_string());
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.into()),
        config,
        layers: vec![layer],
        subject: Some(Descriptor::new(subject.media_type.clone(), subject.digest.clone(), subject.size)),
        annotations: BTreeMap::from([
            (CONTENT_ANNOTATION.to_string(), "dsse-envelope".to_string()),
            (PREDICATE_TYPE_ANNOTATION.to_string(), COSIGN_SIGN_PREDICATE_TYPE.to_string()),
        ]),
    };
    let bytes = serde_json::to_vec(&manifest).expect("manifest serialises");
    Ok(RawManifest::from_bytes(location, bytes, Some(media_type::OCI_MANIFEST), None)?)
}

/// Among the bundle referrers `bundles`, one holding a bundle over
/// `statement` that `key` signed. Others are skipped, not errors: they are
/// the publishers' evidence.
async fn find_own<S: Store>(store: &S, bundles: &[Descriptor], statement: &[u8], key: &PublicKey) -> Result<Option<Digest>> {
    for referrer in bundles {
        let ours = referrer.artifact_type.as_deref() == Some(BUNDLE_MEDIA_TYPE)
            && referrer.annotations.get(PREDICATE_TYPE_ANNOTATION).map(String::as_str) == Some(COSIGN_SIGN_PREDICATE_TYPE);
        if !ours {
            continue;
        }
        let manifest = store.get_manifest(&referrer.digest).await?;
        let oci::Manifest::Image(image) = manifest.manifest() else { continue };
        let [layer] = image.layers.as_slice() else { continue };
        if layer.media_type != BUNDLE_MEDIA_TYPE || layer.size > MAX_OWN_BUNDLE_BYTES {
            continue;
        }
        let mut bytes = Vec::new();
        store.open_blob(layer).await?.read_to_end(&mut bytes).await.map_err(|source| read_error(store, source))?;
        if signed_by(&bytes, statement, key) {
            return Ok(Some(referrer.digest.clone()));
        }
    }
    Ok(None)
}

fn read_error<S: Store>(store: &S, source: std::io::Error) -> oci::Error {
    oci::Error::Io { path: store.location().into(), operation: "read a Sigstore bundle referrer", source }
}

fn signed_by(bundle: &[u8], statement: &[u8], key: &PublicKey) -> bool {
    let Some(bundle) = std::str::from_utf8(bundle).ok().and_then(|text| Bundle::from_json(text).ok()) else { return false };
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else { return false };
    envelope.payload.as_bytes() == statement && key.verify(&envelope.pae(), envelope.signature.sig.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_is_cosigns_and_the_bundle_verifies_with_the_key() {
        let d = Digest::sha256_of(b"image");
        let optional = BTreeMap::from([("dev.airlock.source".to_string(), "example.com/app".to_string())]);
        let text = String::from_utf8(statement(&d, &optional)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","predicate":{{}},"predicateType":"https://sigstore.dev/cosign/sign/v1","subject":[{{"annotations":{{"dev.airlock.source":"example.com/app"}},"digest":{{"sha256":"{}"}}}}]}}"#,
                d.hex()
            )
        );
        let key = SigningKey::generate().unwrap();
        let bundle = signed_bundle(&key, text.clone().into_bytes()).unwrap();
        assert!(signed_by(&bundle, text.as_bytes(), key.public_key()));
        assert!(!signed_by(&bundle, text.as_bytes(), SigningKey::generate().unwrap().public_key()), "another key");
        assert!(!signed_by(&bundle, b"{}", key.public_key()), "another statement");
        let value: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
        assert_eq!(value["mediaType"], BUNDLE_MEDIA_TYPE);
        assert_eq!(value["verificationMaterial"]["publicKey"]["hint"], hint(key.public_key()));
    }
}
