//! The write phase: the bundle tree exactly as docs/bundle-format.md
//! specifies, through the reader's own types. The image layout and its
//! `index.json` ([`layout`]); the bundle manifest, listing every image,
//! blob and file, in canonical JSON ([`manifest`]). Anything an earlier run
//! left that the manifest does not list is removed. The manifest is made
//! here but written last ([`finish`], once a directory bundle holds every
//! blob; an archive carries it first), so a tree without one is an
//! unfinished run, never a bundle.

pub mod layout;
pub mod manifest;

use crate::error::Result;
use crate::incremental::Previous;
use crate::progress::Progress;
use crate::sboms::BundleImage;
use crate::trust::Trust;
use crate::Created;
use oci::{Digest, Layout};
use std::path::PathBuf;
use verifier::bundle::manifest::{self as format, BundleManifest, Extends, ImageEntry, Tool};

/// A bundle written, not yet signed or archived.
#[derive(Debug, Clone)]
pub struct Staged {
    /// Its root: the output directory, or the work directory beside an archive.
    pub root: PathBuf,
    /// The manifest.
    pub manifest: BundleManifest,
    /// The manifest's canonical bytes: what is signed.
    pub bytes: Vec<u8>,
    /// The bundle id: sha256 of those bytes.
    pub id: Digest,
    /// The trust files carried, by path (`airlock/trust/…`).
    pub trust_files: Vec<String>,
}

/// Write `index.json`, remove what the bundle does not list, and make the
/// manifest of `images` carrying `trust` (not written yet: see [`finish`]).
pub fn stage(
    layout: &Layout,
    images: &[BundleImage],
    trust: &Trust,
    previous: Option<&Previous>,
    release_sbom: Option<&crate::release_sbom::ReleaseSbom>,
    created: Created,
    progress: &dyn Progress,
) -> Result<Staged> {
    let root = layout.path().to_path_buf();
    let mut manifest_images: Vec<ImageEntry> = images.iter().map(manifest::image_entry).collect();
    manifest_images.sort_by(|a, b| a.reference.cmp(&b.reference));
    layout::write_atomic(&root.join(layout::INDEX_PATH), &layout::index_json(layout, &manifest_images)?)?;
    progress.advance(1);
    let blobs = manifest::blob_entries(images, previous);
    if let Some(sbom) = release_sbom {
        sbom.write(&root)?;
    }
    let (files, trust_files) = manifest::listed_files(&root, &blobs, release_sbom.is_some())?;
    // Named exactly when its files are listed: the directory holds what
    // `advisories::carry` just put there (or nothing).
    let advisories = files
        .iter()
        .any(|f| f.path.starts_with(&format!("{}/", format::ADVISORIES_DIR)))
        .then(|| format::Advisories { path: format::ADVISORIES_DIR.to_string() });
    let manifest = BundleManifest {
        media_type: format::MEDIA_TYPE.to_string(),
        created: created.at(),
        tool: Tool {
            name: "airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        extends: previous.map(|p| Extends { bundle: p.id.clone() }),
        trust: trust.material.clone(),
        images: manifest_images,
        blobs,
        files,
        advisories,
    };
    let (bytes, parsed) = manifest::canonical_bytes(&manifest)?;
    progress.advance(1);
    Ok(Staged {
        root,
        manifest,
        bytes,
        id: parsed.id,
        trust_files,
    })
}

/// Write the manifest of a directory bundle that now holds every blob it
/// lists: from here on it is a bundle.
pub fn finish(staged: &Staged) -> Result<()> {
    layout::write_atomic(&staged.root.join(format::PATH), &staged.bytes)
}
