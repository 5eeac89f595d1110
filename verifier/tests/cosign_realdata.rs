//! cosign legacy signature layers from containers/image and slsa-verifier,
//! verified through `check::cosign::verify_layer` at the outcomes
//! SOURCES.md gives.

use std::path::PathBuf;
use trust_roots::VerifiedTrustRoot;
use verifier::check::cosign::verify_layer;
use verifier::check::identity::{IdentityPolicy, Matcher};
use keys::PublicKey;
use verifier::check::signature::{Authority, Requirements, SignatureVerifier};
use verifier::evidence::cosign::{annotation, CosignLayer};
use verifier::{Check, Error};
use testbed::realdata;

fn fixture(rel: &str) -> PathBuf {
    realdata(&format!("containers-image-cosign/{rel}"))
}

fn layer(rel: &str) -> CosignLayer {
    CosignLayer::from_containers_image_file(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

fn manifest_digest(dir: &str) -> oci::Digest {
    oci::Digest::sha256_of(&std::fs::read(fixture(&format!("{dir}/manifest.json"))).unwrap())
}

fn key(name: &str) -> Authority {
    Authority::Key(PublicKey::from_pem(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap())
}

fn keyless(identity: &str, issuer: &str) -> Authority {
    Authority::Keyless(IdentityPolicy {
        subject: Matcher::exact(identity),
        issuer: Matcher::exact(issuer),
    })
}

fn public_good() -> SignatureVerifier {
    SignatureVerifier::new(&VerifiedTrustRoot::embedded_public_good().unwrap()).unwrap()
}

fn staging() -> SignatureVerifier {
    let root = realdata("sigstore-python/store/staging/trusted_root.json");
    SignatureVerifier::new(&VerifiedTrustRoot::from_hand_managed_file(&root).unwrap()).unwrap()
}

fn without_log() -> Requirements {
    Requirements::default().without_transparency_log_unsafe()
}

fn failed_check(result: verifier::Result<impl std::fmt::Debug>) -> Check {
    let error = result.expect_err("expected a refusal");
    error.check().unwrap_or_else(|| panic!("no check named in {error}"))
}

const GH_OAUTH: &str = "https://github.com/login/oauth";

// ------------------------------------------------------------- key-signed

#[test]
fn key_signed_layer_is_valid_with_its_key_when_the_log_is_waived() {
    let facts = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-valid/signature-1"),
        &manifest_digest("dir-img-cosign-valid"),
        &key("cosign.pub"),
        &without_log(),
    )
    .unwrap();
    let payload = facts.payload.as_ref().unwrap();
    assert_eq!(payload.docker_reference, "192.168.64.2:5000/cosign-signed-single-sample");
    assert_eq!(facts.signature.checks, [Check::BundleFormat, Check::Signature, Check::ArtifactBinding, Check::PayloadDigest]);
}

#[test]
fn key_signed_layer_without_a_set_is_refused_when_the_log_is_required() {
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-valid/signature-1"),
        &manifest_digest("dir-img-cosign-valid"),
        &key("cosign.pub"),
        &Requirements::default(),
    );
    assert_eq!(failed_check(result), Check::TransparencyLog);
}

#[test]
fn key_signed_layer_is_refused_with_another_key() {
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-valid/signature-1"),
        &manifest_digest("dir-img-cosign-valid"),
        &key("cosign2.pub"),
        &without_log(),
    );
    assert_eq!(failed_check(result), Check::Signature);
}

#[test]
fn two_valid_signatures_both_verify() {
    for sig in ["signature-1", "signature-2"] {
        verify_layer(
            &public_good(),
            &layer(&format!("dir-img-cosign-valid-2/{sig}")),
            &manifest_digest("dir-img-cosign-valid-2"),
            &key("cosign.pub"),
            &without_log(),
        )
        .unwrap();
    }
}

#[test]
fn signature_with_a_tagged_reference_is_valid() {
    let facts = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-valid-with-tag/signature-1"),
        &manifest_digest("dir-img-cosign-valid-with-tag"),
        &key("cosign.pub"),
        &without_log(),
    )
    .unwrap();
    assert_eq!(facts.payload.as_ref().unwrap().docker_reference, "192.168.64.2:5000/skopeo-signed:tag");
}

#[test]
fn mixed_signatures_one_unknown_key_one_valid() {
    let image = manifest_digest("dir-img-cosign-mixed");
    let unknown = verify_layer(&public_good(), &layer("dir-img-cosign-mixed/signature-1"), &image, &key("cosign.pub"), &without_log());
    assert_eq!(failed_check(unknown), Check::Signature);
    verify_layer(&public_good(), &layer("dir-img-cosign-mixed/signature-2"), &image, &key("cosign.pub"), &without_log()).unwrap();
}

#[test]
fn signature_by_an_untrusted_key_is_refused() {
    let layer = layer("unknown-cosign-key.signature");
    let signed = verifier::evidence::cosign::SimpleSigning::parse(&layer.payload).unwrap();
    let result = verify_layer(&public_good(), &layer, &signed.manifest_digest, &key("cosign.pub"), &without_log());
    assert_eq!(failed_check(result), Check::Signature);
}

#[test]
fn signature_for_a_modified_manifest_is_refused() {
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-modified-manifest/signature-1"),
        &manifest_digest("dir-img-cosign-modified-manifest"),
        &key("cosign.pub"),
        &without_log(),
    );
    assert_eq!(failed_check(result), Check::PayloadDigest);
}

#[test]
fn signature_for_an_unhashable_schema1_manifest_is_refused() {
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-manifest-digest-error/signature-1"),
        &manifest_digest("dir-img-cosign-manifest-digest-error"),
        &key("cosign.pub"),
        &without_log(),
    );
    assert_eq!(failed_check(result), Check::PayloadDigest);
}

#[test]
fn a_non_signature_attachment_is_refused() {
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-other-attachment/signature-1"),
        &manifest_digest("dir-img-cosign-other-attachment"),
        &key("cosign.pub"),
        &without_log(),
    );
    assert!(matches!(result, Err(Error::Unsupported(_))), "{result:?}");
}

// ------------------------------------------------------------- key + Rekor

fn key_rekor() -> (CosignLayer, oci::Digest) {
    (layer("dir-img-cosign-key-rekor-valid/signature-1"), manifest_digest("dir-img-cosign-key-rekor-valid"))
}

#[test]
fn key_signed_layer_with_rekor_set_is_valid() {
    let (layer, image) = key_rekor();
    let facts = verify_layer(&public_good(), &layer, &image, &key("cosign2.pub"), &Requirements::default()).unwrap();
    let entry = &facts.signature.log_entries[0];
    assert_eq!((entry.log_index, entry.kind), (11608800, "hashedrekord"));
    assert_eq!(entry.integrated_time.unwrap().as_second(), 1674251859);
}

#[test]
fn key_rekor_layer_without_its_set_is_refused() {
    let (mut layer, image) = key_rekor();
    layer.annotations.remove(annotation::BUNDLE);
    let result = verify_layer(&public_good(), &layer, &image, &key("cosign2.pub"), &Requirements::default());
    assert_eq!(failed_check(result), Check::TransparencyLog);
}

#[test]
fn key_rekor_layer_with_a_garbage_set_is_refused() {
    let (mut layer, image) = key_rekor();
    layer.annotations.insert(annotation::BUNDLE.into(), "this is not a valid SET".into());
    let result = verify_layer(&public_good(), &layer, &image, &key("cosign2.pub"), &Requirements::default());
    assert!(matches!(result, Err(Error::Malformed { .. })), "{result:?}");
}

#[test]
fn key_rekor_layer_is_refused_without_the_rekor_key() {
    let (layer, image) = key_rekor();
    let result = verify_layer(&staging(), &layer, &image, &key("cosign2.pub"), &Requirements::default());
    assert_eq!(failed_check(result), Check::InclusionPromise);
}

#[test]
fn a_set_grafted_onto_another_signature_is_refused() {
    let (rekor_layer, _) = key_rekor();
    let mut grafted = layer("dir-img-cosign-valid/signature-1");
    grafted.annotations.insert(annotation::BUNDLE.into(), rekor_layer.annotations[annotation::BUNDLE].clone());
    let result = verify_layer(
        &public_good(),
        &grafted,
        &manifest_digest("dir-img-cosign-valid"),
        &key("cosign.pub"),
        &Requirements::default(),
    );
    assert_eq!(failed_check(result), Check::ArtifactBinding);
}

// ------------------------------------------------------------- keyless

fn fulcio_rekor() -> (CosignLayer, oci::Digest) {
    (layer("dir-img-cosign-fulcio-rekor-valid/signature-1"), manifest_digest("dir-img-cosign-fulcio-rekor-valid"))
}

#[test]
fn keyless_layer_with_fulcio_cert_and_rekor_set_is_valid() {
    let (layer, image) = fulcio_rekor();
    let facts = verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default()).unwrap();
    assert_eq!(facts.signature.log_entries[0].log_index, 11605770);
    assert_eq!(facts.signature.signed_times[0].time.as_second(), 1674247893);
    assert!(facts.signature.checks.contains(&Check::CertificateChain));
    assert!(facts.signature.checks.contains(&Check::PayloadDigest));
}

#[test]
fn keyless_layer_without_set_is_refused() {
    let (mut layer, image) = fulcio_rekor();
    layer.annotations.remove(annotation::BUNDLE);
    let result = verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default());
    assert_eq!(failed_check(result), Check::BundleFormat);
}

#[test]
fn keyless_layer_without_certificate_is_refused() {
    let (mut layer, image) = fulcio_rekor();
    layer.annotations.remove(annotation::CERTIFICATE);
    let result = verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default());
    assert_eq!(failed_check(result), Check::Identity);
}

#[test]
fn keyless_layer_without_chain_is_valid_when_the_root_trusts_the_intermediate() {
    // The public-good trusted root lists the Fulcio intermediate as a trust
    // anchor, so the chain annotation is not needed (containers/image:
    // "FAIL unless the intermediate is trusted directly").
    let (mut layer, image) = fulcio_rekor();
    layer.annotations.remove(annotation::CHAIN);
    verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default()).unwrap();
}

#[test]
fn keyless_layer_for_another_email_is_refused() {
    let (layer, image) = fulcio_rekor();
    let result = verify_layer(&public_good(), &layer, &image, &keyless("this-does-not-match@example.com", GH_OAUTH), &Requirements::default());
    assert_eq!(failed_check(result), Check::Identity);
}

#[test]
fn keyless_layer_with_an_invalid_certificate_is_refused() {
    let (mut layer, image) = fulcio_rekor();
    layer.annotations.insert(annotation::CERTIFICATE.into(), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into());
    let result = verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default());
    assert_eq!(failed_check(result), Check::CertificateChain);
}

#[test]
fn keyless_layer_is_refused_without_the_rekor_key() {
    let (layer, image) = fulcio_rekor();
    let result = verify_layer(&staging(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default());
    assert_eq!(failed_check(result), Check::InclusionPromise);
}

#[test]
fn private_pki_signature_is_refused_by_the_sigstore_trust_root() {
    // Its RSA signature annotation is base64 wrapped at 76 columns, which
    // Go's decoder (and therefore cosign) accepts; it must parse.
    verifier::evidence::cosign::CosignSignature::from_layer(&layer("dir-img-cosign-pki-valid/signature-1")).unwrap();
    // Signed by a private CA, with no log entry and no timestamp: nothing
    // says when it was signed and nothing in the Sigstore trust root vouches
    // for the CA.
    let result = verify_layer(
        &public_good(),
        &layer("dir-img-cosign-pki-valid/signature-1"),
        &manifest_digest("dir-img-cosign-pki-valid"),
        &keyless("qiwan@redhat.com", GH_OAUTH),
        &Requirements::default(),
    );
    assert_eq!(failed_check(result), Check::BundleFormat);
}

#[test]
fn rekor_set_fixture_verifies_with_its_integrated_time() {
    let payload = std::fs::read(fixture("rekor-payload")).unwrap();
    let layer = CosignLayer {
        media_type: verifier::evidence::cosign::SIMPLE_SIGNING_MEDIA_TYPE.into(),
        annotations: [
            (annotation::SIGNATURE, std::fs::read_to_string(fixture("rekor-sig")).unwrap()),
            (annotation::CERTIFICATE, std::fs::read_to_string(fixture("rekor-cert")).unwrap()),
            (annotation::BUNDLE, std::fs::read_to_string(fixture("rekor-set")).unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect(),
        payload,
    };
    let image = verifier::evidence::cosign::SimpleSigning::parse(&layer.payload).unwrap().manifest_digest;
    let facts = verify_layer(&public_good(), &layer, &image, &keyless("mitr@redhat.com", GH_OAUTH), &Requirements::default()).unwrap();
    assert_eq!(facts.signature.log_entries[0].integrated_time.unwrap().as_second(), 1670870899);
}

// ------------------------------------------------- slsa-verifier (cosign save)

#[test]
fn cosign_attestation_in_an_oci_layout_is_valid_and_exposes_its_statement() {
    let layout = realdata("slsa-verifier/gha_generic_container/v2.1.0/container_workflow_dispatch");
    let blob = |hex: &str| std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob("21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe")).unwrap();
    let descriptor = &manifest["layers"][0];
    let digest: oci::Digest = descriptor["digest"].as_str().unwrap().parse().unwrap();
    let layer = CosignLayer {
        media_type: descriptor["mediaType"].as_str().unwrap().into(),
        payload: blob(&digest.hex()),
        annotations: serde_json::from_value(descriptor["annotations"].clone()).unwrap(),
    };
    let image: oci::Digest = "sha256:234e2c830c2fb31ac5671789d22adfe44d30c3ee831d01beae5e237841a13122".parse().unwrap();
    let builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0";
    let facts = verify_layer(&public_good(), &layer, &image, &keyless(builder, "https://token.actions.githubusercontent.com"), &Requirements::default()).unwrap();
    let statement = facts.signature.statement.as_ref().unwrap();
    assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v0.2");
    assert_eq!(statement.predicate["builder"]["id"], builder);
    assert!(statement.has_subject(&image));
    assert_eq!(facts.signature.log_entries[0].log_index, 174304112);
    // The same attestation attached to another image is refused.
    let other = oci::Digest::sha256_of(b"another image");
    let result = verify_layer(&public_good(), &layer, &other, &keyless(builder, "https://token.actions.githubusercontent.com"), &Requirements::default());
    assert_eq!(failed_check(result), Check::ArtifactBinding);
}
