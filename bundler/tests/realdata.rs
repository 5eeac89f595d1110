//! Real cosign signatures (containers/image's fixtures) and a real
//! `cosign save` layout (slsa-verifier's), pushed into a registry and
//! bundled.
//!
//! The signed image manifests are real, but their config and layer blobs
//! are not in realdata (only the manifests were kept), and a registry
//! refuses a manifest whose blobs it does not have. So each missing blob is
//! made present as a placeholder written straight into the registry's
//! filesystem storage (data file plus the repository's link, the content
//! zeros of the right size): the registry accepts the manifest byte for
//! byte, and the signature still names its real digest. A placeholder
//! cannot match its digest, so the bundles are made `--since` a bundle
//! manifest listing those blobs, as an increment over a site that already
//! has the base layers: the bundler never downloads them.

mod common;

use bundler::selfcheck::Status;
use bundler::{ErrorKind, Output};
use common::*;
use oci::{Digest, RawManifest, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{self as format, BundleManifest, EvidenceKind};
use verifier::evidence::cosign::CosignLayer;

const COSIGN: &str = "containers-image-cosign";

/// A realdata signature file as the layer cosign pushed.
fn cosign_layer(rel: &str) -> Layer {
    let layer = CosignLayer::from_containers_image_file(&std::fs::read(realdata(&format!("{COSIGN}/{rel}"))).unwrap()).unwrap();
    Layer {
        media_type: layer.media_type,
        bytes: layer.payload,
        annotations: layer.annotations,
    }
}

/// Make `digest` present in `repo` without its content (see the module docs).
fn placeholder(env: &Env, repo: &str, digest: &Digest, size: u64) {
    let data = registry_blob(&env.registry, digest);
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, vec![0u8; size as usize]).unwrap();
    let link = env
        .registry
        .storage_dir()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_layers/sha256")
        .join(digest.hex())
        .join("link");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::fs::write(link, digest.to_string()).unwrap();
}

/// Push manifest bytes as they are, with every blob they reference present:
/// from `have` when we hold it, as a placeholder otherwise. Returns the
/// placeholders made, with their sizes.
fn push_manifest(env: &Env, repo: &str, bytes: &[u8], have: &BTreeMap<Digest, Vec<u8>>, tag: Option<&str>) -> Vec<(Digest, u64)> {
    let raw = RawManifest::from_bytes("realdata", bytes.to_vec(), None, None).unwrap();
    let repository = env.repo(repo);
    let mut placeholders = Vec::new();
    if let oci::Manifest::Image(m) = raw.manifest() {
        for blob in std::iter::once(&m.config).chain(&m.layers) {
            match have.get(&blob.digest) {
                Some(content) => block_on(repository.put_blob(blob, std::io::Cursor::new(content.clone()))).unwrap(),
                None => {
                    placeholder(env, repo, &blob.digest, blob.size);
                    placeholders.push((blob.digest.clone(), blob.size));
                }
            }
        }
    }
    let tag = tag.map(|t| t.parse().unwrap());
    block_on(repository.put_manifest(&raw, tag.as_ref())).unwrap();
    placeholders
}

/// A bundle manifest listing `blobs`, as if the site had imported them.
/// (A complete bundle's manifest: it names an image and the layout's files,
/// as every bundle does; `--since` reads only its blobs.)
fn previous_bundle(env: &Env, blobs: &[(Digest, u64)]) -> PathBuf {
    let image = Digest::sha256_of(b"the previous bundle's image");
    let mut entries: Vec<format::BlobEntry> = blobs
        .iter()
        .chain([(image.clone(), 2)].iter())
        .map(|(digest, size)| format::BlobEntry { digest: digest.clone(), size: *size, carried: true })
        .collect();
    entries.sort_by(|a, b| a.digest.cmp(&b.digest));
    entries.dedup();
    let files = ["airlock/trust/trusted_root.json", "index.json", "oci-layout"]
        .map(|path| format::FileEntry { path: path.into(), sha256: Digest::sha256_of(path.as_bytes()), size: 2 })
        .to_vec();
    let manifest = BundleManifest {
        media_type: format::MEDIA_TYPE.into(),
        created: "2026-11-01T00:00:00Z".parse().unwrap(),
        tool: format::Tool { name: "airlock".into(), version: "0.1.0".into() },
        extends: None,
        trust: format::TrustMaterial::TrustedRoot { path: "airlock/trust/trusted_root.json".into() },
        images: vec![format::ImageEntry {
            reference: "registry.example/previous:v1".into(),
            digest: image,
            media_type: oci::manifest::media_type::OCI_MANIFEST.into(),
            platforms: Vec::new(),
            dropped_platforms: Vec::new(),
            evidence: Vec::new(),
            sboms: Vec::new(),
        }],
        blobs: entries,
        files,
        advisories: None,
    };
    let path = env.path("previous-manifest.json");
    std::fs::write(&path, manifest.to_canonical_json()).unwrap();
    path
}

fn manifest_json(rel: &str) -> Vec<u8> {
    std::fs::read(realdata(&format!("{COSIGN}/{rel}"))).unwrap()
}

/// The real key-signed, private-PKI-signed and public-good keyless layers:
/// carried, and each honestly not checked (no key is known, the CA and the
/// log are not in the bundle's trust material).
#[test]
fn real_cosign_signatures_are_carried_and_what_cannot_be_checked_says_why() {
    let env = Env::start();
    let none = BTreeMap::new();
    let mut placeholders = Vec::new();

    let valid = manifest_json("dir-img-cosign-valid/manifest.json");
    let valid_digest = Digest::sha256_of(&valid);
    placeholders.extend(push_manifest(&env, "realdata/cosign", &valid, &none, Some("v1")));
    let mut layers = vec![
        cosign_layer("dir-img-cosign-valid/signature-1"),
        cosign_layer("dir-img-cosign-valid-2/signature-2"),
        cosign_layer("dir-img-cosign-mixed/signature-1"),
    ];
    layers.dedup_by(|a, b| a.bytes == b.bytes && a.annotations == b.annotations);
    let sig = push_cosign(&env.repo("realdata/cosign"), &valid_digest, "sig", &layers);

    let pki = manifest_json("dir-img-cosign-pki-valid/manifest.json");
    let pki_digest = Digest::sha256_of(&pki);
    placeholders.extend(push_manifest(&env, "realdata/pki", &pki, &none, Some("v1")));
    push_cosign(&env.repo("realdata/pki"), &pki_digest, "sig", &[cosign_layer("dir-img-cosign-pki-valid/signature-1")]);

    let rekor = manifest_json("dir-img-cosign-key-rekor-valid/manifest.json");
    let rekor_digest = Digest::sha256_of(&rekor);
    placeholders.extend(push_manifest(&env, "realdata/rekor", &rekor, &none, Some("v1")));
    push_cosign(
        &env.repo("realdata/rekor"),
        &rekor_digest,
        "sig",
        &[cosign_layer("dir-img-cosign-key-rekor-valid/signature-1"), cosign_layer("dir-img-cosign-fulcio-rekor-valid/signature-1")],
    );

    let out = env.path("bundle");
    let mut request = env.request(&["realdata/cosign:v1", "realdata/pki:v1", "realdata/rekor:v1"], Output::Directory(out.clone()));
    request.since = Some(previous_bundle(&env, &placeholders));
    let report = create(&request).unwrap();
    let checked = open(&out, None).unwrap();
    let manifest = &checked.manifest.manifest;

    let cosign = manifest.images.iter().find(|i| i.digest == valid_digest).unwrap();
    assert_eq!(cosign.evidence.len(), 1);
    assert_eq!(cosign.evidence[0].manifest, sig);
    assert_eq!(cosign.evidence[0].kind, EvidenceKind::CosignSignature);
    assert!(manifest.blob(&sig).unwrap().carried);
    for layer in &layers {
        assert!(manifest.blob(&Digest::sha256_of(&layer.bytes)).unwrap().carried, "every signature layer is carried");
    }
    for (digest, _) in &placeholders {
        assert!(!manifest.blob(digest).unwrap().carried, "the site has the base blobs");
    }

    let reasons = |digest: &Digest| -> Vec<(Status, String)> {
        let image = report.images.iter().find(|i| &i.digest == digest).unwrap();
        image.evidence.iter().flat_map(|e| e.layers.iter().map(|l| (l.status, l.reason.clone().unwrap_or_default()))).collect()
    };
    let cosign_reasons = reasons(&valid_digest);
    assert_eq!(cosign_reasons.len(), layers.len());
    assert!(cosign_reasons.iter().all(|(s, _)| *s == Status::NotChecked), "{cosign_reasons:?}");
    assert_eq!(cosign_reasons.iter().filter(|(_, r)| r.contains("signed with a key")).count(), layers.len());
    let pki_reasons = reasons(&pki_digest);
    assert!(pki_reasons[0].1.contains("a CA the bundle's trust material does not hold"), "{pki_reasons:?}");
    let rekor_reasons = reasons(&rekor_digest);
    assert!(rekor_reasons.iter().any(|(_, r)| r.contains("Rekor log c0d23d6a")), "{rekor_reasons:?}");
    assert!(rekor_reasons.iter().any(|(_, r)| r.contains("CA the bundle's trust material does not hold")), "{rekor_reasons:?}");
    assert!(report.warnings.iter().any(|w| w.contains("could be verified")), "{:?}", report.warnings);

    // The real manifest is carried byte for byte under its reference name.
    // (skopeo 1.9.3 reaches only OCI media types in a layout's index.json,
    // and this one is a Docker schema 2 manifest, kept as it was signed.)
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let reference = format!("{}/realdata/cosign:v1", env.registry.host());
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == reference.as_str())
        .unwrap();
    assert_eq!(entry["digest"], valid_digest.to_string());
    assert_eq!(entry["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(std::fs::read(out.join("blobs/sha256").join(valid_digest.hex())).unwrap(), valid);
}

#[test]
fn a_real_signature_over_another_manifest_is_refused() {
    let env = Env::start();
    let modified = manifest_json("dir-img-cosign-modified-manifest/manifest.json");
    let digest = Digest::sha256_of(&modified);
    let placeholders = push_manifest(&env, "realdata/modified", &modified, &BTreeMap::new(), Some("v1"));
    push_cosign(&env.repo("realdata/modified"), &digest, "sig", &[cosign_layer("dir-img-cosign-modified-manifest/signature-1")]);
    let mut request = env.request(&["realdata/modified:v1"], Output::Directory(env.path("b")));
    request.since = Some(previous_bundle(&env, &placeholders));
    let err = create(&request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    let text = err.to_string();
    assert!(text.contains("payload-digest") && text.contains(&digest.to_string()), "{text}");
}

/// containers/image's real "other attachment" (a `text/plain` layer under
/// the `.sig` tag) is not a signature: the bundle is refused, naming the
/// layer and what it is, never carried as one (SOURCES.md: FAIL, no
/// signatures).
#[test]
fn a_real_non_signature_attachment_under_sig_is_refused_by_name() {
    let env = Env::start();
    let image = manifest_json("dir-img-cosign-other-attachment/manifest.json");
    let digest = Digest::sha256_of(&image);
    let placeholders = push_manifest(&env, "realdata/other", &image, &BTreeMap::new(), Some("v1"));
    let layer = cosign_layer("dir-img-cosign-other-attachment/signature-1");
    let layer_digest = Digest::sha256_of(&layer.bytes);
    push_cosign(&env.repo("realdata/other"), &digest, "sig", &[layer]);
    let mut request = env.request(&["realdata/other:v1"], Output::Directory(env.path("b")));
    request.since = Some(previous_bundle(&env, &placeholders));
    let err = create(&request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    let text = err.to_string();
    assert!(text.contains(&layer_digest.to_string()) && text.contains("text/plain"), "{text}");
    assert!(!env.path("b").join("airlock/manifest.json").exists(), "no bundle is made");
}

/// With public-good trust material the real SETs are checkable, so their
/// entries are fetched from Rekor: the lab's log does not have them (and
/// the real one is out of reach here), which is refused, never skipped.
#[test]
fn real_public_good_sets_need_their_rekor_entry() {
    let env = Env::start();
    let rekor = manifest_json("dir-img-cosign-fulcio-rekor-valid/manifest.json");
    let digest = Digest::sha256_of(&rekor);
    let placeholders = push_manifest(&env, "realdata/rekor", &rekor, &BTreeMap::new(), Some("v1"));
    let evidence = push_cosign(&env.repo("realdata/rekor"), &digest, "sig", &[cosign_layer("dir-img-cosign-fulcio-rekor-valid/signature-1")]);
    let root = env.path("public-good.json");
    std::fs::write(&root, trust_roots::PUBLIC_GOOD_TRUSTED_ROOT_JSON).unwrap();
    let mut request = env.request(&["realdata/rekor:v1"], Output::Directory(env.path("b")));
    request.since = Some(previous_bundle(&env, &placeholders));
    request.trust = bundler::TrustInput::TrustedRoot(root);
    // The public-good root names rekor.sigstore.dev, out of reach here:
    // the operator's --rekor-url points at the lab's log instead.
    request.rekor_url = Some(env.lab.url().to_string());
    let err = create(&request).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, bundler::Error::Rekor { log_index: 11605770, .. }), "{err:?}");
    assert!(text.contains(&evidence.to_string()) && text.contains(env.lab.url()), "{text}");
}

/// slsa-verifier's `cosign save` layout: an index (an image and its BuildKit
/// attestation manifest) with a keyless cosign attestation tag.
#[test]
fn a_real_cosign_save_layout_is_bundled_with_its_attestation() {
    let env = Env::start();
    let dir = realdata("slsa-verifier/gha_generic_container/v2.1.0/container_workflow_dispatch");
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let have: BTreeMap<Digest, Vec<u8>> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            (Digest::sha256_of(&bytes), bytes)
        })
        .collect();
    let index_digest: Digest = std::fs::read_to_string(realdata("slsa-verifier/gha_generic_container/v2.1.0/container_workflow_dispatch.digest"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let index = blob(&index_digest.to_string());
    let oci::Manifest::Index(parsed) = RawManifest::from_bytes("x", index.clone(), None, None).unwrap().manifest().clone() else { panic!() };
    let mut placeholders = Vec::new();
    for child in &parsed.manifests {
        placeholders.extend(push_manifest(&env, "slsa/example", &blob(&child.digest.to_string()), &have, None));
    }
    push_manifest(&env, "slsa/example", &index, &have, Some("v2.1.0"));
    let att = "sha256:21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe";
    let att_tag = format!("{}.att", index_digest.tag_form());
    push_manifest(&env, "slsa/example", &blob(att), &have, Some(&att_tag));

    let out = env.path("bundle");
    let mut request = env.request(&["slsa/example:v2.1.0"], Output::Directory(out.clone()));
    request.since = Some(previous_bundle(&env, &placeholders));
    let report = create(&request).unwrap();
    let manifest = open(&out, None).unwrap().manifest.manifest;
    let image = &manifest.images[0];
    assert_eq!(image.digest, index_digest);
    let platforms: Vec<&str> = image.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "unknown/unknown"], "the BuildKit attestation manifest travels with its image");
    assert_eq!(image.evidence.len(), 1);
    assert_eq!(image.evidence[0].kind, EvidenceKind::CosignAttestation);
    assert_eq!(image.evidence[0].manifest.to_string(), att);
    assert_eq!(image.evidence[0].subject, index_digest);
    let layer = &report.images[0].evidence[0].layers[0];
    assert_eq!(layer.status, Status::NotChecked);
    assert!(layer.reason.as_deref().unwrap().contains("CA"), "{layer:?}");
    // The DSSE envelope is carried byte for byte.
    let envelope = Digest::sha256_of(&blob("sha256:e163b472f2e5d66e5a2a45e26e020c51a0d2da7dc8b567b31fc2ebfd33dbc33a"));
    assert!(manifest.blob(&envelope).unwrap().carried);
    assert!(Path::new(&out.join("blobs/sha256").join(envelope.hex())).is_file());
}
