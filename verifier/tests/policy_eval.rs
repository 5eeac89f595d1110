//! Evaluating real cosign evidence (containers/image and slsa-verifier
//! fixtures) against import policies: policy-controller's semantics, with
//! the failing check and rule named.

use trust_roots::VerifiedTrustRoot;
use verifier::bundle::manifest::{EvidenceEntry, EvidenceKind, EvidenceSource, ImageEntry, SbomEntry, SbomFormat, SbomSource};
use verifier::check::signature::SignatureVerifier;
use verifier::evidence::cosign::CosignLayer;
use verifier::image::{EvidenceForm, EvidenceItem, ImageContent};
use verifier::policy::eval::{evaluate, ImageVerdict, Outcome};
use verifier::policy::Policy;
use testbed::realdata;

/// An image from a containers/image fixture directory: its manifest.json
/// and its signature-N layers.
fn cosign_image(dir: &str, reference: &str) -> ImageContent {
    let base = realdata(&format!("containers-image-cosign/{dir}"));
    let manifest_bytes = std::fs::read(base.join("manifest.json")).unwrap();
    let digest = oci::Digest::sha256_of(&manifest_bytes);
    let manifest = oci::RawManifest::from_bytes("fixture", manifest_bytes, None, Some(&digest)).unwrap();
    let mut evidence = Vec::new();
    for n in 1.. {
        let Ok(bytes) = std::fs::read(base.join(format!("signature-{n}"))) else { break };
        let layer = CosignLayer::from_containers_image_file(&bytes).unwrap();
        evidence.push(EvidenceItem {
            entry: EvidenceEntry {
                kind: EvidenceKind::CosignSignature,
                subject: digest.clone(),
                manifest: oci::Digest::sha256_of(format!("{dir} sig manifest").as_bytes()),
                source: EvidenceSource::Tag,
                artifact_type: None,
                log_entries: vec![],
            },
            form: EvidenceForm::CosignLayer { digest: oci::Digest::sha256_of(&layer.payload), layer, log_entry: None },
        });
    }
    ImageContent {
        entry: ImageEntry {
            reference: reference.into(),
            digest,
            media_type: manifest.media_type().into(),
            platforms: vec![],
            dropped_platforms: vec![],
            evidence: evidence.iter().map(|e| e.entry.clone()).collect(),
            sboms: vec![],
        },
        manifest,
        evidence,
        unverifiable: vec![],
    }
}

fn policy(yaml: &str) -> Policy {
    let dir = realdata("containers-image-cosign");
    // Keys are referenced relative to the policy file: write it beside them
    // in a temp copy of the key files.
    let tmp = tempfile::tempdir().unwrap();
    for key in ["cosign.pub", "cosign2.pub"] {
        std::fs::copy(dir.join(key), tmp.path().join(key)).unwrap();
    }
    let path = tmp.path().join("policy.yaml");
    std::fs::write(&path, yaml).unwrap();
    Policy::load(&path).unwrap_or_else(|e| panic!("policy: {e}"))
}

fn verifier() -> SignatureVerifier {
    SignatureVerifier::new(&VerifiedTrustRoot::embedded_public_good().unwrap()).unwrap()
}

fn rules(body: &str) -> String {
    format!("apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n{body}")
}

fn failed(verdict: &ImageVerdict) -> (String, String) {
    assert_eq!(verdict.outcome, Outcome::Failed, "expected a refusal: {verdict:#?}");
    let failure = verdict.failure.as_ref().unwrap();
    (failure.check().map_or_else(|| "-".to_string(), |c| c.to_string()), failure.refusal.to_string())
}

const KEY_REKOR: &str = "192.168.64.2:5000/cosign-signed/key-1:v1";

#[test]
fn key_signed_image_with_rekor_passes_under_its_key() {
    let image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let p = policy(&rules("    - name: key1\n      images: ['192.168.64.2:5000/cosign-signed/**']\n      authorities:\n        - name: k\n          key: [{file: cosign2.pub}]\n"));
    let verdict = evaluate(&image, &p, &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed, "{verdict:#?}");
    let accepted = &verdict.accepted[0];
    assert_eq!((accepted.rule.as_str(), accepted.authority.as_str(), accepted.role.as_str()), ("key1", "k", "signature"));
    assert_eq!(accepted.facts.log_entries[0].log_index, 11608800);
}

#[test]
fn key_signed_image_is_refused_under_another_key_naming_the_check() {
    let image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let p = policy(&rules("    - name: key1\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - name: k\n          key: [{file: cosign.pub}]\n"));
    let verdict = evaluate(&image, &p, &verifier());
    let (check, reason) = failed(&verdict);
    assert_eq!(verdict.failure.as_ref().unwrap().rule.as_deref(), Some("key1"));
    assert!(check == "signature" || check == "artifact-binding", "{check}: {reason}");
}

#[test]
fn an_image_no_rule_matches_is_rejected() {
    let image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let p = policy(&rules("    - name: other\n      images: ['ghcr.io/**']\n      authorities:\n        - static: pass\n"));
    let (check, reason) = failed(&evaluate(&image, &p, &verifier()));
    assert_eq!(check, "policy");
    assert!(reason.contains("no policy rule matches"), "{reason}");
}

#[test]
fn every_matching_rule_must_pass_and_any_authority_suffices() {
    let image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let two_authorities = "    - name: either\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - name: wrong\n          key: [{file: cosign.pub}]\n        - name: right\n          key: [{file: cosign2.pub}]\n";
    let verdict = evaluate(&image, &policy(&rules(two_authorities)), &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed, "{verdict:#?}");
    assert_eq!(verdict.rules[0].authorities.len(), 2);
    assert!(!verdict.rules[0].authorities[0].passed);

    let plus_failing = format!("{two_authorities}    - name: also\n      images: ['192.168.64.2:5000/cosign-signed/*']\n      authorities:\n        - static: fail\n");
    let verdict = evaluate(&image, &policy(&rules(&plus_failing)), &verifier());
    failed(&verdict);
    assert_eq!(verdict.failure.as_ref().unwrap().rule.as_deref(), Some("also"));
}

#[test]
fn a_failing_warn_rule_is_a_warning_not_a_refusal() {
    let image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let p = policy(&rules("    - name: trial\n      mode: warn\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - key: [{file: cosign.pub}]\n"));
    let verdict = evaluate(&image, &p, &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed, "{verdict:#?}");
    assert!(verdict.warnings[0].contains("trial"), "{:?}", verdict.warnings);
}

#[test]
fn keyless_image_passes_for_its_signer_and_not_another() {
    let image = cosign_image("dir-img-cosign-fulcio-rekor-valid", "192.168.64.2:5000/cosign-signed/fulcio-rekor-1:latest");
    let rule = |email: &str| rules(&format!("    - name: mitr\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - keyless:\n            - issuer: https://github.com/login/oauth\n              subject: {email}\n"));
    let verdict = evaluate(&image, &policy(&rule("mitr@redhat.com")), &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed, "{verdict:#?}");
    let (check, _) = failed(&evaluate(&image, &policy(&rule("someone@example.com")), &verifier()));
    assert_eq!(check, "identity");
}

#[test]
fn a_key_signature_without_a_log_entry_needs_the_log_waived() {
    let image = cosign_image("dir-img-cosign-valid", "192.168.64.2:5000/cosign-signed-single-sample:v1");
    let strict = rules("    - name: plain\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - key: [{file: cosign.pub}]\n          require: {transparencyLog: true}\n");
    let (check, _) = failed(&evaluate(&image, &policy(&strict), &verifier()));
    assert_eq!(check, "transparency-log");
    let waived = strict.replace("transparencyLog: true", "transparencyLog: false");
    assert_eq!(evaluate(&image, &policy(&waived), &verifier()).outcome, Outcome::Passed);
}

#[test]
fn a_required_sbom_must_be_carried() {
    let mut image = cosign_image("dir-img-cosign-key-rekor-valid", KEY_REKOR);
    let p = policy(&rules("    - name: key1\n      requireSbom: true\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - key: [{file: cosign2.pub}]\n"));
    let (_, reason) = failed(&evaluate(&image, &p, &verifier()));
    assert!(reason.contains("SBOM"), "{reason}");
    image.entry.sboms.push(SbomEntry {
        format: SbomFormat::SpdxJson,
        subject: image.entry.digest.clone(),
        blob: oci::Digest::sha256_of(b"sbom"),
        source: SbomSource::Operator,
        file: "x.spdx.json".into(),
    });
    // An operator's SBOM is not bound to the image by any signature.
    let (_, reason) = failed(&evaluate(&image, &p, &verifier()));
    assert!(reason.contains("bound to the image by a signature") && reason.contains("unsigned SBOM(s) from operator"), "{reason}");
    let lenient = policy(&rules("    - name: key1\n      requireSbom: true\n      allowUnsignedSbom: true\n      images: ['192.168.64.2:5000/**']\n      authorities:\n        - key: [{file: cosign2.pub}]\n"));
    let verdict = evaluate(&image, &lenient, &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed);
    let evidence = verdict.rules[0].sbom_evidence.as_deref().unwrap();
    assert!(evidence.contains("operator") && evidence.contains("accepted unsigned"), "{evidence}");
}

/// The slsa-verifier `cosign save` layout: an image index with a keyless
/// SLSA provenance attestation (no .sig).
fn slsa_image() -> ImageContent {
    let layout = realdata("slsa-verifier/gha_generic_container/v2.1.0/container_workflow_dispatch");
    let blob = |hex: &str| std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap();
    let index_hex = "234e2c830c2fb31ac5671789d22adfe44d30c3ee831d01beae5e237841a13122";
    let digest: oci::Digest = format!("sha256:{index_hex}").parse().unwrap();
    let manifest = oci::RawManifest::from_bytes("fixture", blob(index_hex), None, Some(&digest)).unwrap();
    let att: serde_json::Value = serde_json::from_slice(&blob("21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe")).unwrap();
    let d = &att["layers"][0];
    let layer_digest: oci::Digest = d["digest"].as_str().unwrap().parse().unwrap();
    let entry = EvidenceEntry {
        kind: EvidenceKind::CosignAttestation,
        subject: digest.clone(),
        manifest: "sha256:21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe".parse().unwrap(),
        source: EvidenceSource::Tag,
        artifact_type: None,
        log_entries: vec![],
    };
    let layer = CosignLayer {
        media_type: d["mediaType"].as_str().unwrap().into(),
        payload: blob(&layer_digest.hex()),
        annotations: serde_json::from_value(d["annotations"].clone()).unwrap(),
    };
    ImageContent {
        entry: ImageEntry {
            reference: "ghcr.io/slsa-framework/example-package.verifier-e2e.all.tag.main.default.slsa3:main".into(),
            digest,
            media_type: manifest.media_type().into(),
            platforms: vec![],
            dropped_platforms: vec![],
            evidence: vec![entry.clone()],
            sboms: vec![],
        },
        manifest,
        evidence: vec![EvidenceItem { entry, form: EvidenceForm::CosignLayer { digest: layer_digest, layer, log_entry: None } }],
        unverifiable: vec![],
    }
}

fn provenance_policy(builder: &str, source: &str) -> Policy {
    policy(&rules(&format!(
        "    - name: slsa\n      images: ['ghcr.io/slsa-framework/**']\n      authorities:\n        - name: generator\n          keyless:\n            - issuer: https://token.actions.githubusercontent.com\n              subjectRegExp: '^https://github.com/slsa-framework/slsa-github-generator/'\n          require: {{signature: false}}\n          attestations:\n            - name: provenance\n              predicateType: slsaprovenance\n              builderIdRegExp: '{builder}'\n              sourceRepositoryRegExp: '{source}'\n"
    )))
}

#[test]
fn provenance_attestation_satisfies_builder_and_source_constraints() {
    let image = slsa_image();
    let good = provenance_policy(
        "^https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0$",
        "^git\\+https://github.com/slsa-framework/example-package@",
    );
    let verdict = evaluate(&image, &good, &verifier());
    assert_eq!(verdict.outcome, Outcome::Passed, "{verdict:#?}");
    assert_eq!(verdict.accepted[0].role, "attestation provenance");
    assert_eq!(verdict.accepted[0].facts.log_entries[0].log_index, 174304112);

    for (builder, source) in [
        ("not-trusted.yml", "^git\\+https://github.com/slsa-framework/example-package@"),
        ("^https://github.com/slsa-framework/", "example-packageA"),
    ] {
        let (check, reason) = failed(&evaluate(&image, &provenance_policy(builder, source), &verifier()));
        assert_eq!(check, "policy", "{reason}");
        assert!(reason.contains("provenance"), "{reason}");
    }
}
