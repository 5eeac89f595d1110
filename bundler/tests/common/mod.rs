//! Helpers for the bundler's tests: a real registry (Debian docker-registry)
//! and the sigstore-lab per test, evidence pushed the way cosign and
//! @sigstore/oci push it, and the verifier's reader run on every bundle.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use base64::Engine as _;
use bundler::{Created, Output, Request, TrustInput};
use oci::manifest::media_type;
use oci::remote::{Credentials, RemoteOptions, Repository};
use oci::{Descriptor, Digest, RawManifest, Store, Tag};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
pub use testbed::{realdata, runtime, Env, CREATED};
use testbed::{Registry, SignMode};

pub const IDENTITY: &str = "https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

pub fn remote(registry: &Registry) -> RemoteOptions {
    let mut options = RemoteOptions {
        insecure_hosts: vec![registry.host()],
        retry: oci::copy::RetryPolicy::none(),
        ..Default::default()
    };
    if let Some((user, password)) = registry.credentials() {
        let mut creds = Credentials::anonymous();
        creds.insert(
            &registry.host(),
            oci::remote::Auth::Basic {
                username: user.into(),
                password: password.into(),
            },
        );
        options.credentials = creds;
    }
    options
}

/// The bundler's verbs on the shared test environment ([`testbed::Env`]).
pub trait BundlerEnv {
    fn reference(&self, repo_tag: &str) -> oci::ImageRef;
    fn request(&self, images: &[&str], out: Output) -> Request;
    fn repo(&self, name: &str) -> Repository;
    fn signed_image(&self, repo_tag: &str, text: &str, mode: SignMode) -> Digest;
    fn sign_statement(&self, statement: &[u8]) -> Vec<u8>;
}

impl BundlerEnv for Env {
    fn reference(&self, repo_tag: &str) -> oci::ImageRef {
        format!("{}/{repo_tag}", self.registry.host()).parse().unwrap()
    }

    /// A request for `images` into `out`, trusting the lab (whose trusted
    /// root names its Rekor), with a pinned creation time.
    fn request(&self, images: &[&str], out: Output) -> Request {
        Request {
            images: images.iter().map(|i| self.reference(i)).collect(),
            output: out,
            platforms: Vec::new(),
            policy: None,
            sign_key: None,
            since: None,
            rekor_url: None,
            trust: TrustInput::TrustedRoot(self.trusted_root()),
            remote: remote(&self.registry),
            jobs: 4,
            created: Created::Pinned(CREATED.parse().unwrap()),
            sboms: Vec::new(),
            advisories: None,
            images_from_sbom: None,
            require_digest: false,
        }
    }

    fn repo(&self, name: &str) -> Repository {
        Repository::open(&self.reference(name), &remote(&self.registry)).unwrap()
    }

    /// Push a one-layer image and sign it with the lab.
    fn signed_image(&self, repo_tag: &str, text: &str, mode: SignMode) -> Digest {
        let digest = self.registry.push_image(repo_tag, text);
        let repo = repo_tag.split(':').next().unwrap();
        self.lab
            .sign_image(&format!("{}/{repo}@{digest}", self.registry.host()), mode, false);
        digest.parse().unwrap()
    }

    /// Sign an in-toto statement with the lab (sigstore-js, DSSE): the
    /// Sigstore bundle JSON.
    fn sign_statement(&self, statement: &[u8]) -> Vec<u8> {
        let input = self.path(&format!("statement-{}.json", Digest::sha256_of(statement).hex()));
        let output = input.with_extension("sigstore.json");
        std::fs::write(&input, statement).unwrap();
        testbed::run(
            Command::new("node")
                .arg(testbed::lab_dir().join("sign.js"))
                .current_dir(testbed::lab_dir())
                .args(["--url", self.lab.url(), "--kind", "dsse", "--identity", IDENTITY, "--issuer", ISSUER])
                .arg("--in")
                .arg(&input)
                .arg("--out")
                .arg(&output),
        );
        std::fs::read(output).unwrap()
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Run `bundler::create`.
pub fn create(request: &Request) -> bundler::Result<bundler::Report> {
    block_on(bundler::create(request, Arc::new(bundler::NoProgress)))
}

/// Open a bundle with the verifier's reader (its content check), optionally
/// requiring a transfer key.
pub fn open(path: &Path, key: Option<&keys::PublicKey>) -> verifier::Result<verifier::bundle::content::CheckedContent> {
    let work = tempfile::tempdir().unwrap().keep();
    let options = verifier::bundle::content::OpenOptions {
        transfer_key: key,
        jobs: 2,
        work_dir: &work.join("w"),
    };
    verifier::bundle::content::open(path, &options, &verifier::bundle::content::NoProgress)
}

/// An in-toto v1 statement about `subject`.
pub fn statement(subject: &Digest, predicate_type: &str, predicate: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "image", "digest": {"sha256": subject.hex()}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .unwrap()
}

async fn put_bytes(repo: &Repository, media: &str, bytes: &[u8]) -> Descriptor {
    let d = Descriptor::new(media, Digest::sha256_of(bytes), bytes.len() as u64);
    repo.put_blob(&d, std::io::Cursor::new(bytes.to_vec())).await.unwrap();
    d
}

/// A layer of a cosign `.sig`/`.att`/`.sbom` manifest.
#[derive(Debug, Clone)]
pub struct Layer {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// Push a cosign attachment manifest (`sha256-<hex>.<suffix>`) for
/// `subject` with `layers`, as cosign writes it; returns its digest.
pub fn push_cosign(repo: &Repository, subject: &Digest, suffix: &str, layers: &[Layer]) -> Digest {
    block_on(async {
        let mut descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        for layer in layers {
            let mut d = put_bytes(repo, &layer.media_type, &layer.bytes).await;
            d.annotations = layer.annotations.clone();
            diff_ids.push(d.digest.to_string());
            descriptors.push(d);
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
            "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}
        }))
        .unwrap();
        let config = put_bytes(repo, media_type::OCI_CONFIG, &config).await;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": config,
            "layers": descriptors,
        }))
        .unwrap();
        let raw = RawManifest::from_bytes("test", manifest, Some(media_type::OCI_MANIFEST), None).unwrap();
        let tag = Tag::cosign_for(subject, suffix).unwrap();
        repo.put_manifest(&raw, Some(&tag)).await.unwrap();
        raw.digest().clone()
    })
}

/// Push an OCI 1.1 artifact with `subject` (a referrer), maintaining the
/// tag-schema index as clients must on registries without the referrers
/// API; returns its digest.
pub fn push_referrer(repo: &Repository, subject: &Digest, artifact_type: &str, layers: &[Layer]) -> Digest {
    block_on(async {
        let subject_manifest = repo.get_manifest(subject).await.unwrap();
        let empty = put_bytes(repo, media_type::OCI_EMPTY, b"{}").await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let mut d = put_bytes(repo, &layer.media_type, &layer.bytes).await;
            d.annotations = layer.annotations.clone();
            descriptors.push(d);
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": empty,
            "layers": descriptors,
            "subject": subject_manifest.descriptor(),
        }))
        .unwrap();
        let raw = RawManifest::from_bytes("test", manifest, Some(media_type::OCI_MANIFEST), None).unwrap();
        oci::store::put_referrer(repo, &raw).await.unwrap();
        raw.digest().clone()
    })
}

/// A Sigstore bundle (DSSE) as a cosign `.att` layer: the envelope as the
/// layer, the certificate, chain and Rekor SET as cosign's annotations.
pub fn att_layer(bundle_json: &[u8], trusted_root: &Path) -> Layer {
    let bundle: serde_json::Value = serde_json::from_slice(bundle_json).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = |b64der: &str| {
        let der = b64.decode(b64der).unwrap();
        pem::encode(&pem::Pem::new("CERTIFICATE", der))
    };
    let material = &bundle["verificationMaterial"];
    let leaf = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .unwrap();
    let root: serde_json::Value = serde_json::from_slice(&std::fs::read(trusted_root).unwrap()).unwrap();
    let chain: String = root["certificateAuthorities"][0]["certChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| pem(c["rawBytes"].as_str().unwrap()))
        .collect();
    let entry = &material["tlogEntries"][0];
    let log_id = hex::encode(b64.decode(entry["logId"]["keyId"].as_str().unwrap()).unwrap());
    let set = serde_json::json!({
        "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": entry["integratedTime"].as_str().unwrap().parse::<i64>().unwrap(),
            "logIndex": entry["logIndex"].as_str().unwrap().parse::<i64>().unwrap(),
            "logID": log_id,
        }
    });
    let envelope = serde_json::to_vec(&bundle["dsseEnvelope"]).unwrap();
    let mut annotations = BTreeMap::new();
    annotations.insert("dev.cosignproject.cosign/signature".to_string(), String::new());
    annotations.insert("dev.sigstore.cosign/certificate".to_string(), pem(leaf));
    annotations.insert("dev.sigstore.cosign/chain".to_string(), chain);
    annotations.insert("dev.sigstore.cosign/bundle".to_string(), set.to_string());
    Layer {
        media_type: verifier::evidence::cosign::DSSE_MEDIA_TYPE.into(),
        bytes: envelope,
        annotations,
    }
}

/// The `.sig` layer the lab pushed for `image` (legacy mode).
pub fn sig_layer(repo: &Repository, image: &Digest) -> Layer {
    block_on(async {
        let tag = Tag::cosign_for(image, "sig").unwrap();
        let desc = repo.resolve_tag(&tag).await.unwrap();
        let manifest = repo.get_manifest(&desc.digest).await.unwrap();
        let oci::Manifest::Image(m) = manifest.manifest() else { panic!("not an image manifest") };
        let layer = &m.layers[0];
        let mut bytes = Vec::new();
        let mut reader = repo.open_blob(layer).await.unwrap();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes).await.unwrap();
        Layer {
            media_type: layer.media_type.clone(),
            bytes,
            annotations: layer.annotations.clone(),
        }
    })
}

/// sha256 of every file under `root`, by relative path: what "the same
/// bundle" means for a directory.
pub fn tree_digest(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, Digest::sha256_of(&std::fs::read(&path).unwrap()).to_string());
            }
        }
    }
    out
}

pub fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo").args(args).output().unwrap()
}

/// Pseudo-random bytes from `seed` (xorshift): layers that do not compress
/// and differ per seed.
pub fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// Write an OCI layout (tag `v1`) holding one image whose layers are
/// `noise(seed, size)` for each `(seed, size)`; returns its digest.
pub fn random_image(dir: &Path, layers: &[(u64, usize)]) -> Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write = |bytes: &[u8]| {
        let d = Digest::sha256_of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        d
    };
    let mut descriptors = Vec::new();
    for (seed, size) in layers {
        let bytes = noise(*seed, *size);
        let d = write(&bytes);
        descriptors.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size}));
    }
    let diff_ids: Vec<&serde_json::Value> = descriptors.iter().map(|d| &d["digest"]).collect();
    let config = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}})).unwrap();
    let config_digest = write(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let manifest_digest = write(&manifest);
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{
            "mediaType": media_type::OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    manifest_digest
}

/// Push a random image as `repo_tag`.
pub fn push_random(registry: &Registry, repo_tag: &str, layers: &[(u64, usize)]) -> Digest {
    let dir = tempfile::tempdir().unwrap();
    let digest = random_image(dir.path(), layers);
    registry.skopeo_push(&format!("oci:{}:v1", dir.path().display()), repo_tag);
    digest
}

/// The blob file of `digest` in a registry's filesystem storage.
pub fn registry_blob(registry: &Registry, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    registry
        .storage_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .join("data")
}
