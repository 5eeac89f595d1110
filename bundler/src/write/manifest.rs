//! The bundle manifest, written only through `verifier::bundle::manifest`
//! (the reader's own types and canonical JSON): its images, blobs and
//! files. The transfer signature over its exact bytes is made in `sign`
//! with a `keys::SigningKey`.

use crate::error::{Error, Result};
use crate::incremental::Previous;
use crate::resolve::Child;
use crate::sboms::BundleImage;
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
/// `sboms.tar.gz`, the trust material, the advisories snapshot), after removing everything under
/// `root` that neither they nor the carried `blobs` are: the reader refuses
/// any file the manifest does not list. Also the trust files, by path.
pub fn listed_files(root: &Path, blobs: &[BlobEntry], release_sbom: bool) -> Result<(Vec<FileEntry>, Vec<String>)> {
    let trust_files = files_under(root, format::TRUST_DIR)?;
    let mut paths: Vec<String> = vec!["index.json".into(), "oci-layout".into(), format::SBOMS_PATH.into()];
    if release_sbom {
        paths.push(crate::release_sbom::PATH.into());
    }
    paths.extend(trust_files.iter().cloned());
    paths.extend(files_under(root, format::ADVISORIES_DIR)?);
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

/// A path under a bundle root.
pub fn under(root: &Path, relative: &str) -> PathBuf {
    relative.split('/').fold(root.to_path_buf(), |p, c| p.join(c))
}
