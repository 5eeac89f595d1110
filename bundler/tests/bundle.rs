//! `bundler::create` against a real registry and the sigstore-lab: every
//! kind of evidence, every output form, resume, dedupe, `--since`,
//! reproducibility and transfer signatures. Every bundle written is opened
//! with the verifier's reader.

mod common;

use bundler::selfcheck::Status;
use bundler::{Compression, Created, OperatorSbom, Output};
use common::*;
use oci::Digest;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use testbed::SignMode;
use verifier::bundle::manifest::{BundleManifest, EvidenceKind, EvidenceSource, SbomFormat, SbomSource};

fn manifest_of(dir: &Path) -> BundleManifest {
    BundleManifest::parse(&std::fs::read(dir.join("airlock/manifest.json")).unwrap()).unwrap().manifest
}

fn sbom_archive(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(dir.join("sboms.tar.gz")).unwrap();
    let decoder = Compression::Gzip.decoder(&bytes[..]).unwrap();
    let mut archive = verifier::bundle::archive::ArchiveReader::new(decoder);
    let mut out = BTreeMap::new();
    while let Some(mut entry) = archive.next_entry().unwrap() {
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.insert(entry.path.clone(), data);
    }
    out
}

/// The whole collection: a keyless legacy signature (SET only: its Rekor
/// entry is fetched with a fresh proof), a v0.3 bundle referrer, SBOM
/// attestations carrying real SBOMs (as a cosign `.att` and as a bundle
/// referrer), a tag-value SPDX `.sbom` attachment, a Notation-style
/// referrer, a multi-arch index signed per platform, an SBOM referrer on the
/// index, and an operator SBOM.
#[test]
fn bundles_every_kind_of_evidence_and_the_reader_accepts_it() {
    let env = Env::start();
    let app = env.signed_image("test/app:v1", "app", SignMode::Legacy);
    env.lab.sign_image(&format!("{}/test/app@{app}", env.registry.host()), SignMode::Bundle, false);
    let repo = env.repo("test/app");

    // SBOM attestations with real SBOMs, signed by the lab.
    let spdx = std::fs::read(realdata("sbom/guac/alpine-spdx.json")).unwrap();
    let spdx_value: serde_json::Value = serde_json::from_slice(&spdx).unwrap();
    let att = env.sign_statement(&statement(&app, "https://spdx.dev/Document", spdx_value.clone()));
    push_cosign(&repo, &app, "att", &[att_layer(&att, &env.trusted_root())]);
    let cdx: serde_json::Value = serde_json::from_slice(&std::fs::read(realdata("sbom/trivy/centos-7-cyclonedx.json")).unwrap()).unwrap();
    let cdx_bundle = env.sign_statement(&statement(&app, "https://cyclonedx.org/bom", cdx.clone()));
    let bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
    push_referrer(&repo, &app, bundle_type, &[Layer { media_type: bundle_type.into(), bytes: cdx_bundle, annotations: Default::default() }]);
    // A tag-value SPDX attached with cosign's .sbom convention.
    let tag_value = std::fs::read(realdata("sbom/trivy/centos-7-spdx.txt")).unwrap();
    push_cosign(&repo, &app, "sbom", &[Layer { media_type: "text/spdx".into(), bytes: tag_value.clone(), annotations: Default::default() }]);
    // A Notation signature: carried, named, not verified.
    let notation = push_referrer(
        &repo,
        &app,
        "application/vnd.cncf.notary.signature",
        &[Layer { media_type: "application/jose+json".into(), bytes: br#"{"payload":"x"}"#.to_vec(), annotations: Default::default() }],
    );

    // A multi-arch index: the index and each child signed.
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    let host = env.registry.host();
    env.lab.sign_image(&format!("{host}/test/multi@{}", multi.index), SignMode::Legacy, false);
    env.lab.sign_image(&format!("{host}/test/multi@{}", multi.children[0].1), SignMode::Legacy, false);
    env.lab.sign_image(&format!("{host}/test/multi@{}", multi.children[1].1), SignMode::Bundle, false);
    let index: Digest = multi.index.parse().unwrap();
    let alpine_cdx = std::fs::read(realdata("sbom/guac/alpine-cyclonedx.json")).unwrap();
    push_referrer(
        &env.repo("test/multi"),
        &index,
        "application/vnd.cyclonedx+json",
        &[Layer { media_type: "application/vnd.cyclonedx+json".into(), bytes: alpine_cdx.clone(), annotations: Default::default() }],
    );

    let out = env.path("bundle");
    let mut request = env.request(&["test/app:v1", "test/multi:v1"], Output::Directory(out.clone()));
    let operator = realdata("sbom/guac/oci-spdx.json");
    request.sboms = vec![OperatorSbom { file: operator.clone(), image: env.reference("test/multi:v1") }];
    let report = create(&request).unwrap();

    // The reader accepts the bundle, and its id is the report's.
    let checked = open(&out, None).unwrap();
    assert_eq!(checked.manifest.id, report.bundle_id);
    let manifest = checked.manifest.manifest.clone();
    assert_eq!(manifest.created, CREATED.parse::<jiff::Timestamp>().unwrap());
    assert!(matches!(manifest.trust, verifier::bundle::manifest::TrustMaterial::TrustedRoot { .. }));
    assert_eq!(
        std::fs::read(out.join("airlock/trust/trusted_root.json")).unwrap(),
        std::fs::read(env.trusted_root()).unwrap(),
        "the trusted root is carried as is"
    );

    // test/app: every kind, with sources.
    let app_entry = manifest.images.iter().find(|i| i.reference.ends_with("test/app:v1")).unwrap();
    assert_eq!(app_entry.digest, app);
    let kinds: Vec<(EvidenceKind, EvidenceSource)> = app_entry.evidence.iter().map(|e| (e.kind, e.source)).collect();
    for expected in [
        (EvidenceKind::CosignSignature, EvidenceSource::Tag),
        (EvidenceKind::CosignAttestation, EvidenceSource::Tag),
        (EvidenceKind::CosignSbom, EvidenceSource::Tag),
        (EvidenceKind::SigstoreBundle, EvidenceSource::ReferrersTag),
        (EvidenceKind::Referrer, EvidenceSource::ReferrersTag),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} missing from {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| k.0 == EvidenceKind::SigstoreBundle).count(), 2, "the lab's bundle and the CycloneDX attestation");
    let notation_entry = app_entry.evidence.iter().find(|e| e.manifest == notation).unwrap();
    assert_eq!(notation_entry.artifact_type.as_deref(), Some("application/vnd.cncf.notary.signature"));

    // The SET-only layers got Rekor entries with fresh proofs: the log grew
    // (the lab adds noise leaves after each entry) since they were signed.
    let sig = app_entry.evidence.iter().find(|e| e.kind == EvidenceKind::CosignSignature).unwrap();
    assert_eq!(sig.log_entries.len(), 1);
    let entry = &sig.log_entries[0];
    assert!(entry.inclusion_proof.tree_size > entry.inclusion_proof.log_index + 3, "{entry:?}");
    assert!(entry.inclusion_proof.checkpoint.contains('\u{2014}'), "a signed note");
    let att_entry = app_entry.evidence.iter().find(|e| e.kind == EvidenceKind::CosignAttestation).unwrap();
    assert_eq!(att_entry.log_entries.len(), 1);

    // The verifier re-verifies the carried signature with the carried proof.
    let sig_manifest: oci::ImageManifest = serde_json::from_slice(&checked.read_blob(&sig.manifest, 1 << 20).unwrap()).unwrap();
    let layer = &sig_manifest.layers[0];
    let cosign = verifier::evidence::cosign::CosignLayer {
        media_type: layer.media_type.clone(),
        payload: checked.read_blob(&layer.digest, 1 << 20).unwrap(),
        annotations: layer.annotations.clone(),
    };
    let root = trust_roots::VerifiedTrustRoot::from_hand_managed_file(&out.join("airlock/trust/trusted_root.json")).unwrap();
    let verifier = verifier::check::signature::SignatureVerifier::new(&root).unwrap();
    let authority = verifier::check::signature::Authority::Keyless(verifier::check::identity::IdentityPolicy {
        subject: verifier::check::identity::Matcher::exact(IDENTITY),
        issuer: verifier::check::identity::Matcher::exact(ISSUER),
    });
    let facts = verifier::check::cosign::verify_layer_with_log_entry(
        &verifier,
        &cosign,
        Some(entry),
        &app,
        &authority,
        &Default::default(),
    )
    .unwrap();
    assert!(facts.signature.log_entries[0].inclusion_proof_verified);
    assert!(facts.signature.checks.contains(&verifier::Check::TransparencyLog));
    // ... and refuses the same proof presented for another layer's SET.
    let mut wrong = entry.clone();
    wrong.uuid = "0".repeat(64);
    assert!(verifier::check::cosign::verify_layer_with_log_entry(&verifier, &cosign, Some(&wrong), &app, &authority, &Default::default()).is_err());

    // Self-check outcomes in the report.
    let app_report = report.images.iter().find(|i| i.digest == app).unwrap();
    assert_eq!(app_report.log_entries_fetched, 2);
    let status_of = |kind: &str| -> Vec<Status> {
        app_report.evidence.iter().filter(|e| e.kind == kind).flat_map(|e| e.layers.iter().map(|l| l.status)).collect()
    };
    assert_eq!(status_of("cosign-signature"), [Status::Verified]);
    assert_eq!(status_of("cosign-attestation"), [Status::Verified]);
    assert_eq!(status_of("sigstore-bundle"), [Status::Verified, Status::Verified]);
    assert_eq!(status_of("referrer"), [Status::NotChecked]);
    let signer = app_report.evidence.iter().find(|e| e.kind == "cosign-signature").unwrap().layers[0].signer.clone();
    assert_eq!(signer.as_deref(), Some(IDENTITY));

    // SBOMs: from the .att, the bundle referrer, and the .sbom attachment.
    let mut sources: Vec<(SbomSource, SbomFormat)> = app_entry.sboms.iter().map(|s| (s.source, s.format)).collect();
    sources.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        sources,
        [
            (SbomSource::Attachment, SbomFormat::SpdxTagValue),
            (SbomSource::Attestation, SbomFormat::CyclonedxJson),
            (SbomSource::Attestation, SbomFormat::SpdxJson),
        ]
    );
    let sboms = sbom_archive(&out);
    for s in &app_entry.sboms {
        let blob = checked.read_blob(&s.blob, 64 << 20).unwrap();
        assert_eq!(sboms[&s.file], blob, "{} is its blob", s.file);
        assert!(s.file.starts_with(&format!("{}_test_app@sha256-", env.registry.host())), "{}", s.file);
    }
    let spdx_sbom = app_entry.sboms.iter().find(|s| s.format == SbomFormat::SpdxJson).unwrap();
    let extracted: serde_json::Value = serde_json::from_slice(&sboms[&spdx_sbom.file]).unwrap();
    assert_eq!(extracted, spdx_value, "the attestation's predicate is the SBOM");
    let tv = app_entry.sboms.iter().find(|s| s.format == SbomFormat::SpdxTagValue).unwrap();
    assert!(tv.file.ends_with(".spdx"));
    assert_eq!(sboms[&tv.file], tag_value);

    // test/multi: index and both children carried, each with its evidence.
    let multi_entry = manifest.images.iter().find(|i| i.reference.ends_with("test/multi:v1")).unwrap();
    assert_eq!(multi_entry.digest, index);
    let platforms: Vec<&str> = multi_entry.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert!(multi_entry.dropped_platforms.is_empty());
    let subjects: Vec<(String, EvidenceKind)> = multi_entry.evidence.iter().map(|e| (e.subject.to_string(), e.kind)).collect();
    assert!(subjects.contains(&(multi.index.clone(), EvidenceKind::CosignSignature)));
    assert!(subjects.contains(&(multi.index.clone(), EvidenceKind::Referrer)));
    assert!(subjects.contains(&(multi.children[0].1.clone(), EvidenceKind::CosignSignature)));
    assert!(subjects.contains(&(multi.children[1].1.clone(), EvidenceKind::SigstoreBundle)));
    let mut multi_sboms: Vec<(SbomSource, SbomFormat)> = multi_entry.sboms.iter().map(|s| (s.source, s.format)).collect();
    multi_sboms.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(multi_sboms, [(SbomSource::Operator, SbomFormat::SpdxJson), (SbomSource::Referrer, SbomFormat::CyclonedxJson)]);
    let operator_sbom = multi_entry.sboms.iter().find(|s| s.source == SbomSource::Operator).unwrap();
    assert_eq!(sboms[&operator_sbom.file], std::fs::read(&operator).unwrap());

    // index.json: every manifest listed, annotated, in the format's order.
    let index_json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let entries = index_json["manifests"].as_array().unwrap();
    let evidence_count: usize = manifest.images.iter().map(|i| i.evidence.len()).sum();
    assert_eq!(entries.len(), 2 + 2 + evidence_count);
    let refs: Vec<&str> = entries.iter().filter_map(|e| e["annotations"]["org.opencontainers.image.ref.name"].as_str()).collect();
    assert_eq!(refs.len(), 2, "ref names on requested images only");
    for e in entries {
        let kind = e["annotations"]["dev.airlock.kind"].as_str().unwrap();
        assert_eq!(kind == "image", e["annotations"]["dev.airlock.subject"].is_null(), "{e}");
    }

    // OCI tools read the layout by reference name.
    let dir = out.display().to_string();
    for (reference, digest) in [(format!("{host}/test/app:v1"), &app), (format!("{host}/test/multi:v1"), &index)] {
        let inspected = skopeo(&["inspect", "--raw", &format!("oci:{dir}:{reference}")]);
        assert!(inspected.status.success(), "{}", String::from_utf8_lossy(&inspected.stderr));
        assert_eq!(Digest::sha256_of(&inspected.stdout), *digest);
    }
    let inspected = skopeo(&["inspect", &format!("oci:{dir}:{host}/test/app:v1")]);
    assert!(inspected.status.success(), "{}", String::from_utf8_lossy(&inspected.stderr));
    let copied = env.path("copied");
    let copy = skopeo(&["copy", "--all", "--preserve-digests", &format!("oci:{dir}:{host}/test/multi:v1"), &format!("oci:{}:x", copied.display())]);
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
}

#[test]
fn platform_filter_keeps_the_index_and_names_what_it_dropped() {
    let env = Env::start();
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    let host = env.registry.host();
    env.lab.sign_image(&format!("{host}/test/multi@{}", multi.children[1].1), SignMode::Legacy, false);
    let out = env.path("bundle");
    let mut request = env.request(&["test/multi:v1"], Output::Directory(out.clone()));
    request.platforms = vec!["linux/amd64".parse().unwrap()];
    let report = create(&request).unwrap();
    let manifest = open(&out, None).unwrap().manifest.manifest;
    let image = &manifest.images[0];
    assert_eq!(image.digest.to_string(), multi.index, "the index is kept byte for byte");
    assert_eq!(image.platforms.len(), 1);
    assert_eq!(image.platforms[0].platform, "linux/amd64");
    assert_eq!(image.dropped_platforms.len(), 1);
    assert_eq!(image.dropped_platforms[0].platform, "linux/arm64/v8");
    assert_eq!(image.dropped_platforms[0].digest.to_string(), multi.children[1].1);
    assert!(manifest.blob(&image.dropped_platforms[0].digest).is_none(), "the dropped child is not carried");
    assert!(image.evidence.is_empty(), "the dropped child's signature is not carried");
    assert_eq!(report.images[0].dropped_platforms[0].platform, "linux/arm64/v8");
    assert!(report.warnings.iter().any(|w| w.contains("no signatures")), "nothing found is said: {:?}", report.warnings);
}

#[test]
fn every_archive_form_carries_the_same_bundle() {
    let env = Env::start();
    push_random(&env.registry, "test/big:v1", &[(1, 1_500_000), (2, 900_000)]);
    let digest = env.signed_image("test/app:v1", "app", SignMode::Bundle);
    let _ = digest;
    let mut ids = Vec::new();
    let dir = env.path("dir");
    ids.push(create(&env.request(&["test/big:v1", "test/app:v1"], Output::Directory(dir.clone()))).unwrap().bundle_id);
    for (name, compression, split) in [
        ("b.tar", Compression::None, None),
        ("b.tar.gz", Compression::Gzip, None),
        ("b.tar.zst", Compression::Zstd, None),
        ("split.tar", Compression::None, Some(1 << 20)),
    ] {
        let path = env.path(name);
        let report = create(&env.request(&["test/big:v1", "test/app:v1"], Output::Archive { path: path.clone(), compression, split })).unwrap();
        assert!(!Path::new(&format!("{}.airlock-work", path.display())).exists(), "the work directory is removed");
        let opened = match split {
            None => {
                assert_eq!(report.output.files, std::slice::from_ref(&path));
                let head = std::fs::read(&path).unwrap();
                assert_eq!(Compression::detect(&head), compression);
                open(&path, None).unwrap()
            }
            Some(_) => {
                assert!(report.output.files.len() >= 3, "{:?}", report.output.files);
                assert!(!path.exists());
                for volume in &report.output.files {
                    assert!(std::fs::metadata(volume).unwrap().len() <= 1 << 20);
                    verifier::bundle::volumes::verify_volume(volume).unwrap();
                }
                // Reassembled through the verifier from any volume.
                open(&report.output.files[1], None).unwrap()
            }
        };
        assert_eq!(opened.manifest.id, report.bundle_id);
        ids.push(report.bundle_id);
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one manifest whatever the form: {ids:?}");

    // The plain tar starts with the manifest, then the layout, as the format says.
    let bytes = std::fs::read(env.path("b.tar")).unwrap();
    let mut archive = verifier::bundle::archive::ArchiveReader::new(&bytes[..]);
    let mut names = Vec::new();
    while let Some(e) = archive.next_entry().unwrap() {
        names.push(e.path.clone());
    }
    assert_eq!(&names[..3], ["airlock/manifest.json", "oci-layout", "index.json"]);
    assert_eq!(names.last().unwrap(), "sboms.tar.gz");
    let blobs: Vec<&String> = names.iter().filter(|n| n.starts_with("blobs/")).collect();
    let mut sorted = blobs.clone();
    sorted.sort();
    assert_eq!(blobs, sorted);
}

#[test]
fn shared_layers_are_fetched_and_stored_once() {
    let env = Env::start();
    let base = (100, 2_000_000);
    push_random(&env.registry, "test/one:v1", &[base, (1, 300_000)]);
    push_random(&env.registry, "test/two:v1", &[base, (2, 300_000)]);
    push_random(&env.registry, "test/three:v1", &[base, (1, 300_000), (3, 10_000)]);
    let out = env.path("bundle");
    let report = create(&env.request(&["test/one:v1", "test/two:v1", "test/three:v1"], Output::Directory(out.clone()))).unwrap();
    let manifest = open(&out, None).unwrap().manifest.manifest;
    let base_digest = Digest::sha256_of(&noise(base.0, base.1));
    assert_eq!(manifest.blobs.iter().filter(|b| b.digest == base_digest).count(), 1);
    assert!(out.join("blobs/sha256").join(base_digest.hex()).is_file());
    // 3 manifests + 3 configs + 4 distinct layers.
    assert_eq!(manifest.blobs.len(), 10);
    assert_eq!(report.blobs.fetch.downloaded, 7, "each config and layer fetched once (manifests come with the walk)");
    assert!(report.blobs.shared >= 2, "the base layer and layer 1 are shared: {:?}", report.blobs);
    let stored: u64 = std::fs::read_dir(out.join("blobs/sha256")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(stored < 2 * base.1 as u64 + 1_000_000, "the base layer is on disk once: {stored} bytes");
}

#[test]
fn a_rerun_resumes_without_downloading_again() {
    let env = Env::start();
    let layers = [(7, 3_000_000), (8, 2_000_000), (9, 1_000_000)];
    push_random(&env.registry, "test/big:v1", &layers);
    let out = env.path("bundle");
    let first = create(&env.request(&["test/big:v1"], Output::Directory(out.clone()))).unwrap();
    assert_eq!(first.blobs.fetch.downloaded, 4);

    // An interrupted run: no manifest yet, one layer missing, a partial
    // write left behind.
    std::fs::remove_file(out.join("airlock/manifest.json")).unwrap();
    let missing = Digest::sha256_of(&noise(9, 1_000_000));
    std::fs::remove_file(out.join("blobs/sha256").join(missing.hex())).unwrap();
    std::fs::create_dir_all(out.join(".airlock-ingest")).unwrap();
    std::fs::write(out.join(".airlock-ingest/junk.partial"), b"half a blob").unwrap();
    // The registry loses the two big layers: resuming must not need them.
    for (seed, size) in &layers[..2] {
        std::fs::remove_file(registry_blob(&env.registry, &Digest::sha256_of(&noise(*seed, *size)))).unwrap();
    }

    let second = create(&env.request(&["test/big:v1"], Output::Directory(out.clone()))).unwrap();
    assert_eq!(second.blobs.fetch.downloaded, 1, "{:?}", second.blobs.fetch);
    assert_eq!(second.blobs.fetch.reused, 3);
    assert_eq!(second.bundle_id, first.bundle_id, "the resumed bundle is the same bundle");
    open(&out, None).unwrap();
}

#[test]
fn since_leaves_out_what_the_previous_bundle_carried() {
    let env = Env::start();
    let base = (50, 1_000_000);
    push_random(&env.registry, "test/one:v1", &[base, (51, 200_000)]);
    push_random(&env.registry, "test/two:v1", &[base, (52, 300_000)]);
    let first = env.path("first");
    let first_report = create(&env.request(&["test/one:v1"], Output::Directory(first.clone()))).unwrap();

    let second = env.path("second");
    let mut request = env.request(&["test/one:v1", "test/two:v1"], Output::Directory(second.clone()));
    request.since = Some(first.join("airlock/manifest.json"));
    let report = create(&request).unwrap();
    assert_eq!(report.extends.as_ref(), Some(&first_report.bundle_id));
    let checked = open(&second, None).unwrap();
    let manifest = &checked.manifest.manifest;
    assert_eq!(manifest.extends.as_ref().map(|e| &e.bundle), Some(&first_report.bundle_id));
    let base_digest = Digest::sha256_of(&noise(base.0, base.1));
    let new_digest = Digest::sha256_of(&noise(52, 300_000));
    assert!(!manifest.blob(&base_digest).unwrap().carried);
    assert!(manifest.blob(&new_digest).unwrap().carried);
    assert!(!second.join("blobs/sha256").join(base_digest.hex()).exists(), "left out of the media");
    // Inherited: what the first bundle carried, except manifests (and
    // evidence), which every bundle carries so each image can be verified.
    let first_manifest = manifest_of(&first);
    let manifests: std::collections::BTreeSet<&Digest> = manifest
        .images
        .iter()
        .flat_map(|i| std::iter::once(&i.digest).chain(i.platforms.iter().map(|p| &p.digest)).chain(i.evidence.iter().map(|e| &e.manifest)))
        .collect();
    for b in &manifest.blobs {
        let inherited = first_manifest.blob(&b.digest).is_some() && !manifests.contains(&b.digest);
        assert_eq!(b.carried, !inherited, "{}", b.digest);
    }
    let one = &manifest.images.iter().find(|i| i.reference.ends_with("test/one:v1")).unwrap().digest;
    assert!(manifest.blob(one).unwrap().carried, "an inherited image's manifest is carried again");
    assert_eq!(report.blobs.not_carried, manifest.blobs.iter().filter(|b| !b.carried).count());
    assert_eq!(report.blobs.not_carried, first_manifest.blobs.len() - 1, "all of the first bundle but its one manifest");

    // A third increment inherits through the second (carried: false there
    // too), and the site's ledger detects a lost increment.
    let third = env.path("third");
    let mut request = env.request(&["test/one:v1", "test/two:v1"], Output::Directory(third.clone()));
    request.since = Some(second.join("airlock/manifest.json"));
    create(&request).unwrap();
    let third_manifest = manifest_of(&third);
    for b in &third_manifest.blobs {
        assert_eq!(b.carried, manifests.contains(&b.digest), "only manifests are carried again: {}", b.digest);
    }
    let state = env.path("state");
    let ledger = verifier::ledger::Ledger::new(&state);
    assert!(ledger.check_chain(manifest).is_err(), "the first bundle was never imported");
    // The site imports the first bundle (as site::ledger records it).
    let record = verifier::ledger::ImportRecord::new(&first_report.bundle_id, &first_manifest, "2026-11-23T11:00:00Z".parse().unwrap());
    let path = ledger.record_path(&first_report.bundle_id);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec(&record).unwrap()).unwrap();
    ledger.check_chain(manifest).unwrap();
}

#[test]
fn same_images_and_evidence_give_a_byte_identical_bundle() {
    let env = Env::start();
    env.signed_image("test/app:v1", "app", SignMode::Bundle);
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    env.lab.sign_image(&format!("{}/test/multi@{}", env.registry.host(), multi.index), SignMode::Bundle, false);
    let sbom = realdata("sbom/guac/alpine-spdx.json");
    let run = |name: &str, created: &str, output: fn(std::path::PathBuf) -> Output| {
        let path = env.path(name);
        let mut request = env.request(&["test/multi:v1", "test/app:v1"], output(path.clone()));
        request.created = Created::Pinned(created.parse().unwrap());
        request.sboms = vec![OperatorSbom { file: sbom.clone(), image: env.reference("test/app:v1") }];
        (create(&request).unwrap(), path)
    };
    let (a, a_dir) = run("a", CREATED, Output::Directory);
    let (b, b_dir) = run("b", CREATED, Output::Directory);
    assert_eq!(a.bundle_id, b.bundle_id);
    assert_eq!(tree_digest(&a_dir), tree_digest(&b_dir));
    let gz = |p: std::path::PathBuf| Output::Archive { path: p, compression: Compression::Gzip, split: None };
    let (c, c_path) = run("c.tar.gz", CREATED, gz);
    let (d, d_path) = run("d.tar.gz", CREATED, gz);
    assert_eq!(c.bundle_id, a.bundle_id);
    assert_eq!(std::fs::read(&c_path).unwrap(), std::fs::read(&d_path).unwrap(), "byte-identical archives");
    let zst = |p: std::path::PathBuf| Output::Archive { path: p, compression: Compression::Zstd, split: None };
    let (_, e_path) = run("e.tar.zst", CREATED, zst);
    let (_, f_path) = run("f.tar.zst", CREATED, zst);
    assert_eq!(std::fs::read(&e_path).unwrap(), std::fs::read(&f_path).unwrap());
    let _ = d;

    // Another creation time changes the manifest and nothing else.
    let (g, g_dir) = run("g", "2027-01-01T00:00:00Z", Output::Directory);
    assert_ne!(g.bundle_id, a.bundle_id);
    let (ta, tg) = (tree_digest(&a_dir), tree_digest(&g_dir));
    let differing: Vec<&String> = ta.keys().filter(|k| ta[*k] != tg[*k]).collect();
    assert_eq!(differing, ["airlock/manifest.json"]);
}

/// An unencrypted PKCS#8 key file (openssl's), read as the CLI reads it.
fn transfer_key(path: &std::path::Path) -> std::sync::Arc<keys::SigningKey> {
    std::sync::Arc::new(keys::SigningKey::from_pem(&std::fs::read(path).unwrap(), None).unwrap())
}

#[test]
fn a_signed_bundle_verifies_with_the_transfer_key_and_with_openssl() {
    let env = Env::start();
    env.signed_image("test/app:v1", "app", SignMode::Bundle);
    let key = env.path("transfer.key");
    let public = env.path("transfer.pub");
    testbed::run(std::process::Command::new("openssl").args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"]).arg(&key));
    testbed::run(std::process::Command::new("openssl").arg("pkey").arg("-in").arg(&key).arg("-pubout").arg("-out").arg(&public));
    let out = env.path("bundle");
    let mut request = env.request(&["test/app:v1"], Output::Directory(out.clone()));
    request.sign_key = Some(transfer_key(&key));
    let report = create(&request).unwrap();
    let pinned = keys::PublicKey::from_pem(&std::fs::read_to_string(&public).unwrap()).unwrap();
    assert_eq!(report.transfer_key.as_deref(), Some(pinned.fingerprint()));
    let checked = open(&out, Some(&pinned)).unwrap();
    assert!(matches!(checked.transfer_signature, verifier::bundle::content::TransferSignature::Verified { .. }));

    // cosign sign-blob's format: openssl checks it too.
    let sig = std::fs::read_to_string(out.join("airlock/manifest.json.sig")).unwrap();
    let der = env.path("sig.der");
    std::fs::write(&der, base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig.trim()).unwrap()).unwrap();
    let verified = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&der)
        .arg(out.join("airlock/manifest.json"))
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("Verified OK"));

    // Another key is refused; so is a manifest changed after signing.
    let other = env.path("other.key");
    testbed::run(std::process::Command::new("openssl").args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"]).arg(&other));
    let other_pub = String::from_utf8(testbed::run(std::process::Command::new("openssl").arg("pkey").arg("-in").arg(&other).arg("-pubout")).into_bytes()).unwrap();
    let other_pub = keys::PublicKey::from_pem(&other_pub).unwrap();
    assert!(open(&out, Some(&other_pub)).is_err());

    // The archive form puts the signature first.
    let tar = env.path("signed.tar");
    let mut request = env.request(&["test/app:v1"], Output::Archive { path: tar.clone(), compression: Compression::None, split: None });
    request.sign_key = Some(transfer_key(&key));
    create(&request).unwrap();
    let bytes = std::fs::read(&tar).unwrap();
    let mut archive = verifier::bundle::archive::ArchiveReader::new(&bytes[..]);
    assert_eq!(archive.next_entry().unwrap().unwrap().path, "airlock/manifest.json.sig");
    assert!(matches!(open(&tar, Some(&pinned)).unwrap().transfer_signature, verifier::bundle::content::TransferSignature::Verified { .. }));
}

#[test]
fn a_registry_with_basic_auth_is_read_with_the_operators_credentials() {
    let registry = testbed::Registry::start_with_basic_auth("alice", "s3cret-Pa55");
    let env = Env::with_registry(registry);
    env.signed_image_with_auth();
    let out = env.path("bundle");
    let report = create(&env.request(&["test/app:v1"], Output::Directory(out.clone()))).unwrap();
    assert_eq!(report.images[0].self_check.verified, 1);
    open(&out, None).unwrap();

    // Without credentials: refused by the registry, and no secret in the error.
    let mut request = env.request(&["test/app:v1"], Output::Directory(env.path("anon")));
    request.remote.credentials = oci::remote::Credentials::anonymous();
    let err = create(&request).unwrap_err().to_string();
    assert!(err.to_lowercase().contains("authorized"), "{err}");
    // With a wrong password: no secret in the error either.
    let mut request = env.request(&["test/app:v1"], Output::Directory(env.path("wrong")));
    let mut creds = oci::remote::Credentials::anonymous();
    creds.insert(&env.registry.host(), oci::remote::Auth::Basic { username: "alice".into(), password: "wrong-Pa55word".into() });
    request.remote.credentials = creds;
    let err = create(&request).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wrong-Pa55word") && !text.contains("s3cret-Pa55"), "{text}");
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("s3cret-Pa55"));
}

trait AuthPush {
    fn signed_image_with_auth(&self) -> Digest;
}

impl AuthPush for Env {
    /// The lab's oci-sign.js cannot log in, so the signature is made
    /// against the image's digest and pushed with our own client.
    fn signed_image_with_auth(&self) -> Digest {
        let digest: Digest = self.registry.push_image("test/app:v1", "app").parse().unwrap();
        let staging = testbed::Registry::start();
        let dir = tempfile::tempdir().unwrap();
        self.registry.skopeo_pull(&format!("test/app@{digest}"), &format!("oci:{}:v1", dir.path().display()));
        staging.skopeo_push(&format!("oci:{}:v1", dir.path().display()), "test/app:v1");
        self.lab.sign_image(&format!("{}/test/app@{digest}", staging.host()), SignMode::Legacy, false);
        let staged = oci::remote::Repository::open(&format!("{}/test/app", staging.host()).parse().unwrap(), &remote(&staging)).unwrap();
        let layer = sig_layer(&staged, &digest);
        push_cosign(&self.repo("test/app"), &digest, "sig", &[layer]);
        digest
    }
}

/// A signature made with a key and logged in Rekor (cosign sign --key with
/// the log on): whose key it is cannot be checked here, but the Rekor entry
/// and its fresh proof are, with the key the entry records.
#[test]
fn a_key_signed_and_logged_signature_gets_its_log_entry_verified() {
    let env = Env::start();
    let image: Digest = env.registry.push_image("test/app:v1", "app").parse().unwrap();
    let key = env.path("cosign.key");
    let public = env.path("cosign.pub");
    testbed::run(std::process::Command::new("openssl").args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"]).arg(&key));
    testbed::run(std::process::Command::new("openssl").arg("pkey").arg("-in").arg(&key).arg("-pubout").arg("-out").arg(&public));
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{}/test/app"}},"image":{{"docker-manifest-digest":"{image}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        env.registry.host()
    );
    let payload_file = env.path("payload.json");
    std::fs::write(&payload_file, &payload).unwrap();
    let signature = std::process::Command::new("openssl").args(["dgst", "-sha256", "-sign"]).arg(&key).arg(&payload_file).output().unwrap().stdout;
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    // Log it, as cosign does, in the lab's Rekor.
    let entry = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "signature": {"content": b64(&signature), "publicKey": {"content": b64(&std::fs::read(&public).unwrap())}},
        "data": {"hash": {"algorithm": "sha256", "value": Digest::sha256_of(payload.as_bytes()).hex()}}}});
    let created = testbed::run(std::process::Command::new("curl").args(["-sf", "-X", "POST", "-H", "Content-Type: application/json", "-d", &entry.to_string(), &format!("{}/api/v1/log/entries", env.lab.url())]));
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let (_, logged) = created.as_object().unwrap().iter().next().unwrap();
    let set = serde_json::json!({
        "SignedEntryTimestamp": logged["verification"]["signedEntryTimestamp"],
        "Payload": {"body": logged["body"], "integratedTime": logged["integratedTime"], "logIndex": logged["logIndex"], "logID": logged["logID"]},
    });
    let mut annotations = BTreeMap::new();
    annotations.insert("dev.cosignproject.cosign/signature".to_string(), b64(&signature));
    annotations.insert("dev.sigstore.cosign/bundle".to_string(), set.to_string());
    let layer = Layer { media_type: verifier::evidence::cosign::SIMPLE_SIGNING_MEDIA_TYPE.into(), bytes: payload.into_bytes(), annotations };
    push_cosign(&env.repo("test/app"), &image, "sig", std::slice::from_ref(&layer));

    let out = env.path("bundle");
    let report = create(&env.request(&["test/app:v1"], Output::Directory(out.clone()))).unwrap();
    let checked = &report.images[0].evidence[0].layers[0];
    assert_eq!(checked.status, Status::LogVerified, "{checked:?}");
    assert_eq!(checked.log_index, logged["logIndex"].as_u64());
    assert!(checked.reason.as_deref().unwrap().contains("whose key it is was not checked"));
    assert_eq!(report.images[0].self_check.log_verified, 1);

    // The site, which knows the key, verifies signature and fresh proof.
    let manifest = open(&out, None).unwrap().manifest.manifest;
    let fetched = &manifest.images[0].evidence[0].log_entries[0];
    let cosign = verifier::evidence::cosign::CosignLayer { media_type: layer.media_type.clone(), payload: layer.bytes.clone(), annotations: layer.annotations.clone() };
    let root = trust_roots::VerifiedTrustRoot::from_hand_managed_file(&env.trusted_root()).unwrap();
    let verifier = verifier::check::signature::SignatureVerifier::new(&root).unwrap();
    let pinned = keys::PublicKey::from_pem(&std::fs::read_to_string(&public).unwrap()).unwrap();
    let facts = verifier::check::cosign::verify_layer_with_log_entry(&verifier, &cosign, Some(fetched), &image, &verifier::check::signature::Authority::Key(pinned), &Default::default()).unwrap();
    assert!(facts.signature.log_entries[0].inclusion_proof_verified);
}
