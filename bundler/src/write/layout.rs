//! The bundle's OCI image layout: prepared for a run (an earlier run's
//! blobs kept, so a re-run resumes), `index.json` ordered and annotated as
//! docs/bundle-format.md says, and nothing else left in it.

use crate::error::{Error, Result};
use oci::{Digest, Layout, RawManifest};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{self as format, ImageEntry};

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

pub use verifier::bundle::layout::INDEX_PATH;

/// The bytes of `index.json` for `images` (the manifest's entries): the
/// verifier's own derivation ([`verifier::bundle::layout::index_json`]),
/// from the manifests stored in `layout`, so what is written is exactly
/// what the site will require.
pub fn index_json(layout: &Layout, images: &[ImageEntry]) -> Result<Vec<u8>> {
    let stored = |digest: &Digest| -> verifier::Result<RawManifest> {
        let path = layout.blob_path(digest);
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(oci::MAX_MANIFEST_SIZE + 1).read_to_end(&mut bytes))
            .map_err(|source| verifier::Error::Io { path, source })?;
        RawManifest::from_bytes(&format!("blob {digest}"), bytes, None, Some(digest)).map_err(verifier::Error::from)
    };
    verifier::bundle::layout::index_json(images, &stored)
        .map_err(|e| Error::Unsupported(format!("internal error: index.json cannot be derived from the bundle manifest: {e}")))
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
