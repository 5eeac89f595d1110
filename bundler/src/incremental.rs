//! Incremental bundles (`--since PREVIOUS/airlock/manifest.json`): blobs the
//! previous bundle carried, or itself inherited, are listed with
//! `carried: false` and left out; the manifest records which bundle it
//! extends, so the site's import ledger detects a lost increment.

use crate::error::{Error, Result};
use oci::Digest;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{BundleManifest, MAX_MANIFEST_BYTES};

/// The bundle an incremental bundle extends.
#[derive(Debug, Clone)]
pub struct Previous {
    /// Its manifest file.
    pub path: PathBuf,
    /// Its bundle id.
    pub id: Digest,
    /// Every blob it lists, carried or inherited: the site has them all
    /// once it imported it.
    pub blobs: BTreeSet<Digest>,
}

impl Previous {
    /// Read a previous bundle's `airlock/manifest.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "read the previous bundle manifest", e))?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, "read the previous bundle manifest", e))?;
        let parsed = BundleManifest::parse(&bytes).map_err(|source| Error::Since {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            id: parsed.id,
            blobs: parsed.manifest.blobs.iter().map(|b| b.digest.clone()).collect(),
        })
    }

    /// Whether the site already has `digest`.
    pub fn has(&self, digest: &Digest) -> bool {
        self.blobs.contains(digest)
    }
}
