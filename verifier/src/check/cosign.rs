//! cosign `.sig` and `.att` layers, verified through the same engine as
//! Sigstore bundles, plus the one check that is cosign's own: the payload
//! must name the image it is attached to.

use super::signature::{Artifact, Authority, Requirements, SignatureFacts, SignatureVerifier};
use crate::evidence::rekor::FetchedLogEntry;
use crate::evidence::cosign::{CosignLayer, CosignSignature, LayerKind, SimpleSigning};
use crate::{Check, Error, Result, Verified};

/// What a verified cosign layer established.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CosignFacts {
    /// The simple-signing payload, for signature layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<SimpleSigning>,
    /// The verified signature (with its in-toto statement, for attestations).
    pub signature: SignatureFacts,
}

impl Verified<CosignFacts> {
    /// The verified signature, keeping the proof of verification.
    pub fn into_signature(self) -> Verified<SignatureFacts> {
        Verified::new(self.into_inner().signature)
    }
}

/// Verify one cosign layer attached to the image manifest `image`.
///
/// A signature layer must sign a simple-signing payload whose
/// `critical.image.docker-manifest-digest` is `image`; an attestation layer
/// must be a DSSE in-toto statement with `image` among its subjects.
pub fn verify_layer(
    verifier: &SignatureVerifier,
    layer: &CosignLayer,
    image: &oci::Digest,
    authority: &Authority,
    requirements: &Requirements,
) -> Result<Verified<CosignFacts>> {
    verify_layer_with_log_entry(verifier, layer, None, image, authority, requirements)
}

/// [`verify_layer`] for a layer whose Rekor entry was fetched at bundle
/// time (a bundle manifest's `evidence[].logEntries[]`): the fetched entry
/// must be the one the layer's SET signs, and its inclusion proof and signed
/// checkpoint are verified with the SET.
pub fn verify_layer_with_log_entry(
    verifier: &SignatureVerifier,
    layer: &CosignLayer,
    log_entry: Option<&FetchedLogEntry>,
    image: &oci::Digest,
    authority: &Authority,
    requirements: &Requirements,
) -> Result<Verified<CosignFacts>> {
    let mut signature = CosignSignature::from_layer(layer)?;
    if let Some(entry) = log_entry {
        signature = signature.with_inclusion_proof(entry)?;
    }
    let payload = match signature.kind() {
        LayerKind::Signature => Some(signed_payload_for(&signature, image)?),
        LayerKind::Attestation => None,
    };
    let bundle = signature.to_sigstore_bundle()?;
    let artifact = match signature.kind() {
        LayerKind::Signature => Artifact::Bytes(signature.payload()),
        LayerKind::Attestation => Artifact::Digest(image.clone()),
    };
    let facts = verifier.verify(&bundle, artifact, authority, requirements)?;
    let mut signature_facts = facts.into_inner();
    if payload.is_some() {
        signature_facts.checks.push(Check::PayloadDigest);
    }
    Ok(Verified::new(CosignFacts {
        payload,
        signature: signature_facts,
    }))
}

/// The simple-signing payload of a signature layer, which must name the
/// image manifest `image`. Checkable without any key, so the bundler
/// refuses a signature for another image even where it cannot verify the
/// signature itself.
pub fn signed_payload_for(signature: &CosignSignature, image: &oci::Digest) -> Result<SimpleSigning> {
    let payload = SimpleSigning::parse(signature.payload())?;
    if &payload.manifest_digest != image {
        return Err(Error::PayloadDigest { expected: image.clone(), found: payload.manifest_digest });
    }
    Ok(payload)
}
