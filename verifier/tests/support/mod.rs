//! Test helper: writes valid bundle directories (docs/bundle-format.md)
//! through the `BundleManifest` types, from images made here, so the site
//! side can be tested before the real bundler lands. Shared by the library
//! tests, the CLI tests and the load benchmark (`examples/bench_bundle.rs`).
#![allow(dead_code)] // each user takes a different subset

use oci::manifest::{media_type, ImageIndex, ImageManifest};
use oci::{Descriptor, Digest, Layout, Platform, RawManifest, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{
    BlobEntry, BundleManifest, EvidenceEntry, EvidenceKind, EvidenceSource, FileEntry, ImageEntry, PlatformEntry, Tool,
    TrustMaterial, MEDIA_TYPE,
};
use verifier::evidence::cosign::{annotation, SIMPLE_SIGNING_MEDIA_TYPE};

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Deterministic pseudo-random bytes (the OCI test suite's generator).
pub fn noise(seed: u64, size: usize) -> Vec<u8> {
    oci::testsuite::bytes(&seed.to_string(), size)
}

/// A bundle being written.
pub struct BundleWriter {
    dir: PathBuf,
    layout: Layout,
    runtime: tokio::runtime::Runtime,
    images: Vec<ImageEntry>,
}

/// A made image manifest.
#[derive(Debug, Clone)]
pub struct Made {
    pub manifest: RawManifest,
    pub layers: Vec<Descriptor>,
}

impl Made {
    pub fn digest(&self) -> &Digest {
        self.manifest.digest()
    }
}

impl BundleWriter {
    pub fn new(dir: &Path) -> Self {
        let layout = Layout::create(dir).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Self { dir: dir.to_path_buf(), layout, runtime, images: Vec::new() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn put_blob(&self, media: &str, bytes: Vec<u8>) -> Descriptor {
        let desc = Descriptor::new(media, Digest::sha256_of(&bytes), bytes.len() as u64);
        self.runtime.block_on(self.layout.put_blob(&desc, std::io::Cursor::new(bytes))).unwrap();
        desc
    }

    pub fn put_manifest(&self, bytes: Vec<u8>) -> RawManifest {
        let raw = RawManifest::from_bytes("test", bytes, None, None).unwrap();
        self.runtime.block_on(self.layout.put_manifest(&raw, None)).unwrap();
        raw
    }

    /// An image manifest over `layers` (each a blob of its own).
    pub fn image(&self, name: &str, layers: Vec<Vec<u8>>) -> Made {
        let layers: Vec<Descriptor> = layers.into_iter().map(|l| self.put_blob(LAYER, l)).collect();
        let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Labels": {"test.name": name}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let config = self.put_blob(media_type::OCI_CONFIG, config);
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.into()),
            artifact_type: None,
            config,
            layers: layers.clone(),
            subject: None,
            annotations: BTreeMap::new(),
        };
        Made { manifest: self.put_manifest(serde_json::to_vec(&manifest).unwrap()), layers }
    }

    /// Carry a single-platform image as `reference`.
    pub fn add_image(&mut self, reference: &str, made: &Made) {
        self.add_entry(reference, made.manifest.clone(), Vec::new());
    }

    /// An index of `children` (platform, image), carried as `reference`.
    pub fn add_index(&mut self, reference: &str, children: &[(&str, &Made)]) -> RawManifest {
        let manifests = children
            .iter()
            .map(|(platform, made)| Descriptor {
                platform: Some(platform.parse::<Platform>().unwrap()),
                ..made.manifest.descriptor()
            })
            .collect();
        let index = ImageIndex { manifests, ..ImageIndex::empty() };
        let raw = self.put_manifest(index.to_bytes());
        let platforms = children
            .iter()
            .map(|(platform, made)| PlatformEntry { platform: platform.to_string(), digest: made.digest().clone() })
            .collect();
        self.add_entry(reference, raw.clone(), platforms);
        raw
    }

    fn add_entry(&mut self, reference: &str, raw: RawManifest, platforms: Vec<PlatformEntry>) {
        self.images.push(ImageEntry {
            reference: reference.to_string(),
            digest: raw.digest().clone(),
            media_type: raw.media_type().to_string(),
            platforms,
            dropped_platforms: Vec::new(),
            evidence: Vec::new(),
            sboms: Vec::new(),
        });
    }

    fn image_mut(&mut self, reference: &str) -> &mut ImageEntry {
        self.images.iter_mut().find(|i| i.reference == reference).expect("image added first")
    }

    /// A cosign `.sig` manifest for `subject` with one simple-signing layer
    /// signed by `key` as `docker_reference`, carried with `reference`.
    pub fn add_cosign_signature(&mut self, reference: &str, subject: &Digest, key: &keys::SigningKey, docker_reference: &str) -> RawManifest {
        use base64::Engine as _;
        let payload = verifier::evidence::cosign::SimpleSigning::payload(docker_reference, subject, &BTreeMap::new());
        let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(&payload).unwrap());
        let layer = self.put_blob(SIMPLE_SIGNING_MEDIA_TYPE, payload).with_annotation(annotation::SIGNATURE, signature);
        let config = self.put_blob(media_type::OCI_CONFIG, br#"{"architecture":"","os":""}"#.to_vec());
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.into()),
            artifact_type: None,
            config,
            layers: vec![layer],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let raw = self.put_manifest(serde_json::to_vec(&manifest).unwrap());
        self.add_evidence(reference, EvidenceKind::CosignSignature, subject, &raw, EvidenceSource::Tag, None);
        raw
    }

    /// An OCI 1.1 artifact referring to `subject`, carried with `reference`.
    pub fn add_referrer(&mut self, reference: &str, subject: &RawManifest, artifact_type: &str, content: &[u8]) -> RawManifest {
        let layer = self.put_blob("application/octet-stream", content.to_vec());
        let config = self.put_blob(media_type::OCI_EMPTY, b"{}".to_vec());
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.into()),
            artifact_type: Some(artifact_type.into()),
            config,
            layers: vec![layer],
            subject: Some(subject.descriptor()),
            annotations: BTreeMap::new(),
        };
        let raw = self.put_manifest(serde_json::to_vec(&manifest).unwrap());
        self.add_evidence(reference, EvidenceKind::Referrer, subject.digest(), &raw, EvidenceSource::ReferrersApi, Some(artifact_type));
        raw
    }

    fn add_evidence(&mut self, reference: &str, kind: EvidenceKind, subject: &Digest, raw: &RawManifest, source: EvidenceSource, artifact_type: Option<&str>) {
        self.image_mut(reference).evidence.push(EvidenceEntry {
            kind,
            subject: subject.clone(),
            manifest: raw.digest().clone(),
            source,
            artifact_type: artifact_type.map(String::from),
            log_entries: Vec::new(),
        });
    }

    /// Write index.json, the trust stub and the bundle manifest; returns
    /// the bundle directory. `not_carried` blobs are listed but removed, as
    /// an incremental bundle leaves them out.
    pub fn finish(mut self, not_carried: &[Digest]) -> PathBuf {
        self.images.sort_by(|a, b| a.reference.cmp(&b.reference));
        for image in &mut self.images {
            image.evidence.sort_by(|a, b| (&a.subject, a.kind, &a.manifest).cmp(&(&b.subject, b.kind, &b.manifest)));
        }
        // index.json exactly as the bundler writes it (and the verifier requires).
        let blobs_dir = self.dir.join("blobs/sha256");
        let manifest_of = |d: &Digest| Ok(RawManifest::from_bytes("test", std::fs::read(blobs_dir.join(d.hex())).unwrap(), None, Some(d))?);
        std::fs::write(self.dir.join("index.json"), verifier::bundle::layout::index_json(&self.images, &manifest_of).unwrap()).unwrap();
        let trust = self.dir.join("airlock/trust");
        std::fs::create_dir_all(&trust).unwrap();
        std::fs::write(trust.join("trusted_root.json"), b"{}\n").unwrap();
        let mut blobs = Vec::new();
        for entry in std::fs::read_dir(self.dir.join("blobs/sha256")).unwrap() {
            let entry = entry.unwrap();
            let digest: Digest = format!("sha256:{}", entry.file_name().to_string_lossy()).parse().unwrap();
            let size = entry.metadata().unwrap().len();
            let carried = !not_carried.contains(&digest);
            if !carried {
                std::fs::remove_file(entry.path()).unwrap();
            }
            blobs.push(BlobEntry { digest, size, carried });
        }
        blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
        let mut files = Vec::new();
        for path in ["airlock/trust/trusted_root.json", "index.json", "oci-layout"] {
            let bytes = std::fs::read(self.dir.join(path)).unwrap();
            files.push(FileEntry { path: path.into(), sha256: Digest::sha256_of(&bytes), size: bytes.len() as u64 });
        }
        let manifest = BundleManifest {
            media_type: MEDIA_TYPE.into(),
            created: "2026-11-23T10:00:00Z".parse().unwrap(),
            tool: Tool { name: "airlock-test".into(), version: "0".into() },
            extends: (!not_carried.is_empty()).then(|| verifier::bundle::manifest::Extends { bundle: Digest::sha256_of(b"previous") }),
            trust: TrustMaterial::TrustedRoot { path: "airlock/trust/trusted_root.json".into() },
            images: std::mem::take(&mut self.images),
            blobs,
            files,
            advisories: None,
        };
        std::fs::write(self.dir.join("airlock/manifest.json"), manifest.to_canonical_json()).unwrap();
        self.dir.clone()
    }
}

/// Verify a bundle directory the way `airlock load` does before pushing,
/// under a policy that admits every image (these tests are about pushing,
/// not about evidence) and the site's own trusted root. An incremental
/// bundle gets a ledger in which the bundle it extends brought every blob
/// it leaves out.
pub fn verified(dir: &Path) -> verifier::verify::VerifiedBundle {
    let scratch = tempfile::tempdir().unwrap().keep();
    let policy_path = scratch.join("policy.yaml");
    std::fs::write(&policy_path, "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: push-tests\n      images: ['**']\n      authorities:\n        - static: pass\n").unwrap();
    let policy = verifier::policy::Policy::load(&policy_path).unwrap();
    let manifest = BundleManifest::parse(&std::fs::read(dir.join("airlock/manifest.json")).unwrap()).unwrap().manifest;
    let state = scratch.join("state");
    if let Some(extends) = &manifest.extends {
        let record = verifier::ledger::ImportRecord {
            media_type: verifier::ledger::RECORD_MEDIA_TYPE.into(),
            bundle: extends.bundle.clone(),
            created: manifest.created,
            imported: manifest.created,
            extends: None,
            blobs: manifest.blobs.iter().filter(|b| !b.carried).map(|b| b.digest.clone()).collect(),
        };
        let imported = state.join("imported");
        std::fs::create_dir_all(&imported).unwrap();
        std::fs::write(imported.join(format!("{}.json", extends.bundle.hex())), serde_json::to_vec(&record).unwrap()).unwrap();
    }
    let verification = verifier::verify::verify_bundle(
        verifier::verify::VerifyOptions {
            input: dir,
            policy: &policy,
            transfer_key: None,
            // These bundles test loading, not whose names they carry.
            allow_unsigned_bundle: true,
            trust: verifier::verify::TrustChoice::SiteTrustedRoot(trust_roots::VerifiedTrustRoot::embedded_public_good().unwrap()),
            jobs: 2,
            work_dir: &scratch.join("work"),
            state_dir: Some(&state),
            now: "2026-11-23T12:00:00Z".parse().unwrap(),
            airlock_version: "test",
            break_glass: None,
        },
        &verifier::bundle::content::NoProgress,
    );
    verification.verified.unwrap_or_else(|| panic!("the test bundle did not verify: {}", verification.report.to_text()))
}
