//! `--images-from-sbom FILE`: the image set a release SBOM names, held to
//! the digests it gives, and carried in the bundle as the record of which
//! SBOM chose the set.
//!
//! The SBOM is carried at [`PATH`], listed in the bundle manifest with its
//! sha256 like every file, so the transfer signature covers it.

use crate::error::{Error, Result};
use crate::resolve::{Registries, Resolved};
use oci::remote::RemoteOptions;
use oci::{Digest, ImageRef};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use verifier::evidence::sbom::MAX_SBOM_BYTES;
use verifier::evidence::sbom_images::{sbom_images, SbomImages};

/// Where the bundle carries the SBOM that named its images.
pub use verifier::bundle::manifest::IMAGES_FROM_SBOM_PATH as PATH;

/// A release SBOM, read and listed.
#[derive(Debug, Clone)]
pub struct ReleaseSbom {
    /// The file as given.
    pub path: PathBuf,
    /// Its bytes, carried as they are.
    pub bytes: Vec<u8>,
    /// The images it names (and its sha256).
    pub listed: SbomImages,
}

impl ReleaseSbom {
    /// Read and list `path`; an SBOM that names no image is refused too.
    pub fn read(path: &Path) -> Result<Self> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| std::io::Read::take(f, MAX_SBOM_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io(path, "read SBOM", e))?;
        let listed = sbom_images(&bytes).map_err(|source| Error::ReleaseSbom { path: path.to_path_buf(), source })?;
        if listed.images.is_empty() {
            return Err(Error::Sbom { path: path.to_path_buf(), reason: "names no container image".into() });
        }
        Ok(Self { path: path.to_path_buf(), bytes, listed })
    }

    /// The references to request.
    pub fn references(&self) -> impl Iterator<Item = &ImageRef> {
        self.listed.images.iter().map(|i| &i.reference)
    }

    /// Write the SBOM where the bundle carries it.
    pub fn write(&self, root: &Path) -> Result<()> {
        crate::write::layout::write_atomic(&root.join(PATH), &self.bytes)
    }
}

/// Every image the SBOM pins must be the image the registry gives: the
/// resolved digest equals the SBOM's, and where the SBOM also names a tag,
/// that tag still points at it. Refuses the first that differs, by name.
pub async fn check_digests(sbom: &ReleaseSbom, resolved: &[Resolved], remote: &RemoteOptions) -> Result<()> {
    let registries = Registries::new(remote.clone());
    for image in &sbom.listed.images {
        let Some(expected) = image.reference.digest() else { continue };
        if let Some(r) = resolved.iter().find(|r| r.reference == image.reference) {
            mismatch(&image.reference, expected, r.digest())?;
        }
        if let Some(tag) = image.reference.tag() {
            let by_tag = ImageRef::new(image.reference.registry(), image.reference.repository(), Some(tag.clone()), None)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let repository = registries.repository(&by_tag)?;
            let found = oci::store::resolve(&repository, &by_tag)
                .await
                .map_err(|e| Error::registry(&by_tag, "resolve the SBOM's tag", e))?;
            mismatch(&image.reference, expected, &found.digest)?;
        }
    }
    Ok(())
}

fn mismatch(image: &ImageRef, expected: &Digest, found: &Digest) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(Error::SbomDigestMismatch { image: image.to_string(), sbom: expected.clone(), resolved: found.clone() })
}
