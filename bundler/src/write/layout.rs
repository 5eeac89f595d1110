//! The bundle's OCI image layout: prepared for a run (an earlier run's
//! blobs kept, so a re-run resumes), `index.json` ordered and annotated as
//! docs/bundle-format.md says, and nothing else left in it.

use crate::error::{Error, Result};
use crate::sboms::BundleImage;
use oci::{Descriptor, Digest, Layout};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{self as format, EvidenceKind};

/// `dev.airlock.kind`.
pub const ANNOTATION_KIND: &str = "dev.airlock.kind";
/// `dev.airlock.subject`.
pub const ANNOTATION_SUBJECT: &str = "dev.airlock.subject";
/// `dev.airlock.reference`.
pub const ANNOTATION_REFERENCE: &str = "dev.airlock.reference";

/// Open (or create) the layout at `root` for a run. `root` must be absent,
/// empty, or what an earlier run left (a bundle, or an interrupted run: it
/// has an `airlock/` directory, made first): its verified blobs are reused,
/// and anything the new manifest does not list is removed at the end. Any
/// other directory, another tool's OCI layout included, is refused and left
/// alone. A manifest left by an earlier run is removed first, so a
/// half-rewritten bundle never looks complete.
pub fn prepare(root: &Path) -> Result<Layout> {
    match std::fs::read_dir(root) {
        Ok(mut entries) => {
            if entries.next().is_some() && !root.join("airlock").is_dir() {
                return Err(Error::Output {
                    path: root.to_path_buf(),
                    reason: "exists, is not empty, and is not an airlock bundle (no airlock/ directory); refusing to write into it".into(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(root, "open output directory", e)),
    }
    let marker = root.join("airlock");
    std::fs::create_dir_all(&marker).map_err(|e| Error::io(&marker, "create", e))?;
    for name in [format::SIGNATURE_PATH, format::PATH] {
        match std::fs::remove_file(root.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(root.join(name), "remove the previous manifest", e)),
        }
    }
    let layout = Layout::create(root).map_err(|e| Error::Output {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    layout.remove_partial_blobs().map_err(|e| Error::Output {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(layout)
}

/// One `index.json` entry: a manifest with what it is and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The reference as requested, of the image this entry belongs to.
    pub reference: String,
    /// What it is (`image` for a requested image).
    pub kind: EntryKind,
    /// What it belongs to (not for `image`).
    pub subject: Option<Digest>,
    /// The manifest's descriptor (platform, artifact type kept).
    pub descriptor: Descriptor,
}

/// `dev.airlock.kind`, in the order docs/bundle-format.md sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A requested image or index.
    Image,
    /// A child of a requested index.
    Platform,
    /// Evidence.
    Evidence(EvidenceKind),
}

impl EntryKind {
    fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Platform => "platform",
            Self::Evidence(kind) => kind.name(),
        }
    }
}

/// The `index.json` entries of `images`: each image, its carried platform
/// children, and each evidence manifest (with its artifact type).
pub fn index_entries(images: &[BundleImage]) -> Vec<IndexEntry> {
    let mut entries = Vec::new();
    for BundleImage { image, evidence, .. } in images {
        let reference = image.reference.to_string();
        let entry = |kind, subject: Option<&Digest>, descriptor: Descriptor| IndexEntry {
            reference: reference.clone(),
            kind,
            subject: subject.cloned(),
            descriptor,
        };
        entries.push(entry(EntryKind::Image, None, image.graph.root.clone()));
        for child in &image.platforms {
            entries.push(entry(EntryKind::Platform, Some(image.digest()), child.descriptor.clone()));
        }
        for e in evidence {
            let found = &e.collected.found;
            let mut descriptor = found.descriptor.clone();
            descriptor.artifact_type = found.artifact_type.clone();
            entries.push(entry(EntryKind::Evidence(found.kind), Some(&found.subject), descriptor));
        }
    }
    entries
}

/// The bytes of `index.json`: entries sorted by (reference, kind, subject,
/// digest), annotated, sorted keys, compact, with a trailing newline.
pub fn index_json(mut entries: Vec<IndexEntry>) -> Vec<u8> {
    entries.sort_by(|a, b| {
        (&a.reference, a.kind, &a.subject, &a.descriptor.digest).cmp(&(&b.reference, b.kind, &b.subject, &b.descriptor.digest))
    });
    entries.dedup();
    let manifests: Vec<Descriptor> = entries
        .into_iter()
        .map(|e| {
            let mut d = e.descriptor;
            d.annotations.clear();
            if e.kind == EntryKind::Image {
                d.annotations.insert(oci::manifest::ANNOTATION_REF_NAME.into(), e.reference.clone());
            }
            d.annotations.insert(ANNOTATION_KIND.into(), e.kind.name().into());
            if let Some(subject) = e.subject {
                d.annotations.insert(ANNOTATION_SUBJECT.into(), subject.to_string());
            }
            d.annotations.insert(ANNOTATION_REFERENCE.into(), e.reference);
            d
        })
        .collect();
    let value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::manifest::media_type::OCI_INDEX,
        "manifests": manifests,
    });
    let mut bytes = serde_json::to_vec(&format::sort_keys(value)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Write `bytes` to `path` atomically (temporary file, sync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create directory", e))?;
    }
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".airlock-tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "write", e)
    })
}

/// Remove every regular file under `root` that is not in `keep` (paths
/// relative to `root`), and directories left empty: blobs an earlier run
/// fetched that this bundle does not carry, partial writes, stale trust
/// files. The reader refuses any file the manifest does not list.
pub fn prune(root: &Path, keep: &BTreeSet<PathBuf>) -> Result<()> {
    fn walk(root: &Path, dir: &Path, keep: &BTreeSet<PathBuf>) -> Result<bool> {
        let mut empty = true;
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read directory", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, "read directory", e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, "stat", e))?;
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if kind.is_dir() {
                if walk(root, &path, keep)? {
                    std::fs::remove_dir(&path).map_err(|e| Error::io(&path, "remove empty directory", e))?;
                } else {
                    empty = false;
                }
            } else if keep.contains(&relative) {
                empty = false;
            } else {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, "remove a file the bundle does not list", e))?;
            }
        }
        Ok(empty)
    }
    walk(root, root, keep).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, kind: EntryKind, subject: Option<&str>, content: &str) -> IndexEntry {
        IndexEntry {
            reference: reference.into(),
            kind,
            subject: subject.map(|s| Digest::sha256_of(s.as_bytes())),
            descriptor: Descriptor::new(oci::manifest::media_type::OCI_MANIFEST, Digest::sha256_of(content.as_bytes()), 3),
        }
    }

    #[test]
    fn index_is_sorted_annotated_and_canonical() {
        let entries = vec![
            entry("r.example/b:1", EntryKind::Image, None, "b"),
            entry("r.example/a:1", EntryKind::Evidence(EvidenceKind::CosignSignature), Some("a"), "sig"),
            entry("r.example/a:1", EntryKind::Platform, Some("a"), "child"),
            entry("r.example/a:1", EntryKind::Image, None, "a"),
            entry("r.example/a:1", EntryKind::Image, None, "a"),
        ];
        let bytes = index_json(entries.clone());
        assert!(bytes.ends_with(b"}\n"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let kinds: Vec<&str> = value["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"][ANNOTATION_KIND].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["image", "platform", "cosign-signature", "image"]);
        let first = &value["manifests"][0]["annotations"];
        assert_eq!(first[oci::manifest::ANNOTATION_REF_NAME], "r.example/a:1");
        assert!(value["manifests"][1]["annotations"].get(oci::manifest::ANNOTATION_REF_NAME).is_none());
        assert_eq!(value["manifests"][1]["annotations"][ANNOTATION_SUBJECT], Digest::sha256_of(b"a").to_string());
        let mut reversed = entries;
        reversed.reverse();
        assert_eq!(index_json(reversed), bytes, "order of discovery does not matter");
        assert!(!String::from_utf8(bytes).unwrap().contains(": "), "no insignificant whitespace");
    }

    #[test]
    fn prune_keeps_only_listed_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::create_dir_all(root.join(".airlock-ingest")).unwrap();
        for f in ["blobs/sha256/keep", "blobs/sha256/stale", ".airlock-ingest/x.partial", "index.json"] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let keep: BTreeSet<PathBuf> = ["blobs/sha256/keep", "index.json"].iter().map(PathBuf::from).collect();
        prune(root, &keep).unwrap();
        assert!(root.join("blobs/sha256/keep").exists());
        assert!(!root.join("blobs/sha256/stale").exists());
        assert!(!root.join(".airlock-ingest").exists());
        assert!(root.join("index.json").exists());
    }

    #[test]
    fn refuses_a_directory_that_is_not_a_bundle() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), b"x").unwrap();
        let err = prepare(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not an airlock bundle"), "{err}");
        assert!(dir.path().join("precious.txt").exists());
        // Another tool's OCI layout is not ours to prune either.
        let layout = tempfile::tempdir().unwrap();
        std::fs::write(layout.path().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::write(layout.path().join("index.json"), br#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
        assert!(prepare(layout.path()).is_err());
        assert!(!layout.path().join("airlock").exists());
        // An empty directory, or an interrupted run's, is fine.
        let empty = tempfile::tempdir().unwrap();
        prepare(empty.path()).unwrap();
        assert!(empty.path().join("airlock").is_dir() && empty.path().join("oci-layout").is_file());
        prepare(empty.path()).unwrap();
    }
}
