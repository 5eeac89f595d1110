//! The bundle manifest, written only through `verifier::bundle::manifest`
//! (the reader's own types and canonical JSON): its images, blobs and
//! files; and the transfer signing key that signs its exact bytes.

use crate::error::{Error, Result};
use crate::incremental::Previous;
use crate::resolve::Child;
use crate::sboms::BundleImage;
use base64::Engine as _;
use oci::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{
    self as format, BlobEntry, BundleManifest, EvidenceEntry, FileEntry, ImageEntry, ParsedManifest,
};

/// The manifest's canonical bytes, checked by the reader's own parser (a
/// bundle the reader would refuse is a bug here, not a file to write).
pub fn canonical_bytes(manifest: &BundleManifest) -> Result<(Vec<u8>, ParsedManifest)> {
    let bytes = manifest.to_canonical_json();
    let parsed = BundleManifest::parse(&bytes)
        .map_err(|e| Error::Unsupported(format!("internal error: the bundle manifest written would be refused: {e}")))?;
    Ok((bytes, parsed))
}

/// The manifest's entry for one image: its platforms, its evidence (with
/// the Rekor entries fetched for it) and its SBOMs, each sorted as the
/// format says.
pub fn image_entry(image: &BundleImage) -> ImageEntry {
    let r = &image.image;
    let mut evidence: Vec<EvidenceEntry> = image
        .evidence
        .iter()
        .map(|e| {
            let found = &e.collected.found;
            let mut log_entries = e.check.log_entries.clone();
            log_entries.sort_by(|a, b| a.layer.cmp(&b.layer));
            EvidenceEntry {
                kind: found.kind,
                subject: found.subject.clone(),
                manifest: found.descriptor.digest.clone(),
                source: found.source,
                artifact_type: found.artifact_type.clone(),
                log_entries,
            }
        })
        .collect();
    evidence.sort_by(|a, b| (&a.subject, a.kind, &a.manifest).cmp(&(&b.subject, b.kind, &b.manifest)));
    let mut sboms: Vec<_> = image.sboms.iter().map(|s| s.entry.clone()).collect();
    sboms.sort_by(|a, b| a.file.cmp(&b.file));
    ImageEntry {
        reference: r.reference.to_string(),
        digest: r.digest().clone(),
        media_type: r.graph.root.media_type.clone(),
        platforms: r.platforms.iter().map(Child::entry).collect(),
        dropped_platforms: r.dropped.iter().map(Child::entry).collect(),
        evidence,
        sboms,
    }
}

/// Every manifest and blob of `images`, each once, by digest. An increment
/// leaves out only image configs and layers the site already received:
/// manifests, indexes, evidence and SBOMs are always carried (they are
/// small), so every image in an increment can be verified on its own.
pub fn blob_entries(images: &[BundleImage], previous: Option<&Previous>) -> Vec<BlobEntry> {
    let mut sizes: BTreeMap<Digest, u64> = BTreeMap::new();
    let mut always_carried: BTreeSet<Digest> = BTreeSet::new();
    for image in images {
        for (graph, is_evidence) in image.graphs() {
            for m in &graph.manifests {
                sizes.entry(m.digest().clone()).or_insert(m.size());
                always_carried.insert(m.digest().clone());
            }
            for b in &graph.blobs {
                sizes.entry(b.digest.clone()).or_insert(b.size);
                if is_evidence {
                    always_carried.insert(b.digest.clone());
                }
            }
        }
        for s in &image.sboms {
            sizes.entry(s.entry.blob.clone()).or_insert(s.size);
            always_carried.insert(s.entry.blob.clone());
        }
    }
    sizes
        .into_iter()
        .map(|(digest, size)| BlobEntry {
            carried: always_carried.contains(&digest) || !previous.is_some_and(|p| p.has(&digest)),
            digest,
            size,
        })
        .collect()
}

/// The files the manifest lists (`index.json`, `oci-layout`,
/// `sboms.tar.gz`, the trust material), after removing everything under
/// `root` that neither they nor the carried `blobs` are: the reader refuses
/// any file the manifest does not list. Also the trust files, by path.
pub fn listed_files(root: &Path, blobs: &[BlobEntry]) -> Result<(Vec<FileEntry>, Vec<String>)> {
    let trust_files = files_under(root, format::TRUST_DIR)?;
    let mut paths: Vec<String> = vec!["index.json".into(), "oci-layout".into(), format::SBOMS_PATH.into()];
    paths.extend(trust_files.iter().cloned());
    paths.sort();
    let mut keep: BTreeSet<PathBuf> = paths.iter().map(|p| under(Path::new(""), p)).collect();
    for b in blobs.iter().filter(|b| b.carried) {
        keep.insert(Path::new("blobs").join(b.digest.algorithm().name()).join(b.digest.hex()));
    }
    crate::write::layout::prune(root, &keep)?;
    let files = paths.iter().map(|p| file_entry(root, p)).collect::<Result<Vec<_>>>()?;
    Ok((files, trust_files))
}

/// `{"path", "sha256", "size"}` for `relative` under `root`, hashed while read.
pub fn file_entry(root: &Path, relative: &str) -> Result<FileEntry> {
    let path = root.join(relative);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, "open", e))?;
    let (sha256, size) = oci::Hasher::digest_reader(oci::Algorithm::Sha256, file).map_err(|e| Error::io(&path, "read", e))?;
    Ok(FileEntry {
        path: relative.to_string(),
        sha256,
        size,
    })
}

/// Every regular file under `root/dir`, as paths relative to `root`
/// (`/`-separated), sorted.
pub fn files_under(root: &Path, dir: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(current) = stack.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&current, "read directory", e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&current, "read directory", e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, "stat", e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let text = relative
                    .to_str()
                    .ok_or_else(|| Error::Output {
                        path: path.clone(),
                        reason: "file name is not UTF-8".into(),
                    })?
                    .replace(std::path::MAIN_SEPARATOR, "/");
                out.push(text);
            } else {
                return Err(Error::Output {
                    path,
                    reason: "not a regular file (bundles hold regular files only)".into(),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The transfer signing key: ECDSA P-256, PKCS#8 PEM. Its `Debug` shows
/// only the public key's fingerprint; no error ever contains key material.
pub struct SigningKey {
    pair: sigstore_crypto::KeyPair,
    fingerprint: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint)
    }
}

impl SigningKey {
    /// Read and check a key file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason: &str| Error::SignKey {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return Err(bad(&format!("cannot read it: {}", e.kind()))),
        };
        if bytes.len() > 64 * 1024 {
            return Err(bad("larger than 64 KiB: not a PEM private key"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("not a PEM file"))?;
        Self::from_pem(text).map_err(|reason| bad(&reason))
    }

    /// Parse a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) ECDSA P-256 key.
    /// The error says what is wrong without repeating any of the key.
    pub fn from_pem(text: &str) -> std::result::Result<Self, String> {
        // pem's own errors name positions and tags only, never content.
        let block = pem::parse(text).map_err(|_| "not a PEM file".to_string())?;
        match block.tag() {
            "PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" | "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                return Err(format!(
                    "an encrypted key ({}): give an unencrypted PKCS#8 ECDSA P-256 key (\"PRIVATE KEY\")",
                    block.tag()
                ))
            }
            other => return Err(format!("a {other:?} PEM block, expected an unencrypted PKCS#8 \"PRIVATE KEY\"")),
        }
        let pair = sigstore_crypto::KeyPair::from_pkcs8_der(block.contents())
            .map_err(|_| "not a usable PKCS#8 ECDSA P-256 private key".to_string())?;
        if pair.algorithm() != sigstore_crypto::KeyAlgorithm::EcdsaP256 {
            return Err(format!("a {:?} key; transfer keys are ECDSA P-256", pair.algorithm()));
        }
        let public = pair.public_key_der().map_err(|_| "cannot derive the public key".to_string())?;
        let fingerprint = format!("sha256:{}", Digest::sha256_of(public.as_bytes()).hex());
        Ok(Self { pair, fingerprint })
    }

    /// `sha256:<hex>` of the public key (SubjectPublicKeyInfo DER), as the
    /// verifier reports a transfer key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key, PEM, for the site to pin.
    pub fn public_key_pem(&self) -> Result<String> {
        let der = self
            .pair
            .public_key_der()
            .map_err(|_| Error::Unsupported("cannot derive the transfer public key".into()))?;
        Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_bytes().to_vec())))
    }

    /// `cosign sign-blob --key` format: base64 of the ASN.1 DER ECDSA
    /// P-256/SHA-256 signature over exactly `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let signature = self
            .pair
            .sign(message)
            .map_err(|_| Error::Unsupported("signing the bundle manifest failed".into()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signature.as_bytes()))
    }
}

/// A path under a bundle root.
pub fn under(root: &Path, relative: &str) -> PathBuf {
    relative.split('/').fold(root.to_path_buf(), |p, c| p.join(c))
}
