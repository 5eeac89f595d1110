//! The bundle manifest, written only through `verifier::bundle::manifest`
//! (the reader's own types and canonical JSON). The transfer signature over
//! its exact bytes is made with a `keys::SigningKey`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{BundleManifest, FileEntry, ParsedManifest};

/// The manifest's canonical bytes, checked by the reader's own parser (a
/// bundle the reader would refuse is a bug here, not a file to write).
pub fn canonical_bytes(manifest: &BundleManifest) -> Result<(Vec<u8>, ParsedManifest)> {
    let bytes = manifest.to_canonical_json();
    let parsed = BundleManifest::parse(&bytes)
        .map_err(|e| Error::Unsupported(format!("internal error: the bundle manifest written would be refused: {e}")))?;
    Ok((bytes, parsed))
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
