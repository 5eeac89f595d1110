//! The site's import ledger: which bundles were imported, and which blobs
//! the site therefore holds. Incremental bundles leave out blobs an earlier
//! bundle carried; the ledger is how the verifier knows the site really
//! received that earlier bundle, so a lost increment is detected.
//!
//! The ledger is the site's own state (`--state DIR`), not part of any
//! bundle: `STATE/imported/<bundle id hex>.json` per imported bundle. This
//! module defines the record and reads it; `site::ledger` writes it after a
//! load.

use crate::bundle::manifest::BundleManifest;
use crate::{Check, Error, Result};
use oci::Digest;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Media type of a ledger record.
pub const RECORD_MEDIA_TYPE: &str = "application/vnd.airlock.import-record.v1+json";
/// A record lists digests; even a very large site stays far below this.
const MAX_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// One imported bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportRecord {
    /// Always [`RECORD_MEDIA_TYPE`].
    pub media_type: String,
    /// The bundle id.
    pub bundle: Digest,
    /// When the bundle was created.
    pub created: jiff::Timestamp,
    /// When it was imported.
    pub imported: jiff::Timestamp,
    /// The bundle it extended, if any.
    pub extends: Option<Digest>,
    /// Every blob the site holds once this bundle is imported: the ones it
    /// carried and the ones it inherited.
    pub blobs: BTreeSet<Digest>,
}

impl ImportRecord {
    /// The record of bundle `id` (with manifest `manifest`) imported at
    /// `imported`: every blob it carried or inherited is then at the site.
    pub fn new(id: &Digest, manifest: &BundleManifest, imported: jiff::Timestamp) -> Self {
        Self {
            media_type: RECORD_MEDIA_TYPE.into(),
            bundle: id.clone(),
            created: manifest.created,
            imported,
            extends: manifest.extends.as_ref().map(|e| e.bundle.clone()),
            blobs: manifest.blobs.iter().map(|b| b.digest.clone()).collect(),
        }
    }
}

/// What the incremental-chain check established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChainFacts {
    /// A complete bundle: nothing inherited.
    Complete,
    /// An increment over a bundle the site imported.
    Extends {
        /// The previous bundle.
        bundle: Digest,
        /// When the site imported it.
        imported: jiff::Timestamp,
        /// Blobs this bundle relies on the site already holding.
        inherited_blobs: usize,
    },
}

/// The site's ledger directory.
pub struct Ledger {
    dir: PathBuf,
}

impl Ledger {
    /// The ledger kept under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self { dir: state_dir.join("imported") }
    }

    /// Where the record of `bundle` lives.
    pub fn record_path(&self, bundle: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", bundle.hex()))
    }

    /// The record of `bundle`, if the site imported it.
    pub fn get(&self, bundle: &Digest) -> Result<Option<ImportRecord>> {
        let path = self.record_path(bundle);
        let bytes = match crate::evidence::read_bounded(&path, MAX_RECORD_BYTES) {
            Ok(bytes) => bytes,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let record: ImportRecord = serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(format!("import record {}", path.display()), e))?;
        if record.media_type != RECORD_MEDIA_TYPE || &record.bundle != bundle {
            return Err(Error::malformed(format!("import record {}", path.display()), "does not describe this bundle"));
        }
        Ok(Some(record))
    }

    /// Check an incremental bundle against the ledger: the bundle it extends
    /// must have been imported, and must account for every blob it leaves out.
    pub fn check_chain(&self, manifest: &BundleManifest) -> Result<ChainFacts> {
        let inherited: Vec<&Digest> = manifest.blobs.iter().filter(|b| !b.carried).map(|b| &b.digest).collect();
        let Some(extends) = &manifest.extends else {
            if let Some(blob) = inherited.first() {
                return Err(Error::failed(
                    Check::IncrementalChain,
                    format!("blob {blob} is not carried, but the bundle extends no earlier bundle"),
                ));
            }
            return Ok(ChainFacts::Complete);
        };
        let previous = self.get(&extends.bundle)?.ok_or_else(|| {
            Error::failed(
                Check::IncrementalChain,
                format!(
                    "this bundle extends bundle {}, which this site has not imported (a lost increment?); import it first",
                    extends.bundle
                ),
            )
        })?;
        if let Some(missing) = inherited.iter().find(|d| !previous.blobs.contains(**d)) {
            return Err(Error::failed(
                Check::IncrementalChain,
                format!("blob {missing} is left out, but bundle {} did not bring it to this site", extends.bundle),
            ));
        }
        Ok(ChainFacts::Extends { bundle: extends.bundle.clone(), imported: previous.imported, inherited_blobs: inherited.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::manifest::{BlobEntry, Extends, Tool, TrustMaterial, MEDIA_TYPE};

    fn manifest(blobs: &[(&str, bool)], extends: Option<Digest>) -> BundleManifest {
        let mut blobs: Vec<BlobEntry> = blobs
            .iter()
            .map(|(n, carried)| BlobEntry { digest: Digest::sha256_of(n.as_bytes()), size: 1, carried: *carried })
            .collect();
        blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
        BundleManifest {
            media_type: MEDIA_TYPE.into(),
            created: "2026-11-01T00:00:00Z".parse().unwrap(),
            tool: Tool { name: "airlock".into(), version: "t".into() },
            extends: extends.map(|bundle| Extends { bundle }),
            trust: TrustMaterial::TrustedRoot { path: "airlock/trust/trusted_root.json".into() },
            images: vec![],
            blobs,
            files: vec![],
            advisories: None,
        }
    }

    #[test]
    fn an_increment_needs_its_predecessor_imported_and_its_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let first = manifest(&[("base", true), ("app-v1", true)], None);
        let first_id = Digest::sha256_of(b"first");
        assert_eq!(ledger.check_chain(&first).unwrap(), ChainFacts::Complete);

        let second = manifest(&[("base", false), ("app-v2", true)], Some(first_id.clone()));
        let err = ledger.check_chain(&second).unwrap_err();
        assert_eq!(err.check(), Some(Check::IncrementalChain));
        assert!(err.to_string().contains("has not imported"), "{err}");

        // As site::ledger records an import.
        let record = ImportRecord::new(&first_id, &first, "2026-11-02T00:00:00Z".parse().unwrap());
        std::fs::create_dir_all(dir.path().join("imported")).unwrap();
        std::fs::write(ledger.record_path(&first_id), serde_json::to_vec(&record).unwrap()).unwrap();
        assert!(matches!(ledger.check_chain(&second).unwrap(), ChainFacts::Extends { inherited_blobs: 1, .. }));

        let greedy = manifest(&[("never-sent", false)], Some(first_id));
        assert!(ledger.check_chain(&greedy).unwrap_err().to_string().contains("did not bring it"));
        let orphan = manifest(&[("base", false)], None);
        assert!(ledger.check_chain(&orphan).unwrap_err().to_string().contains("extends no earlier bundle"));
    }
}
