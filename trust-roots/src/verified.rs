//! The one type verifiers accept as trust material.

use crate::error::{Error, Result};
use crate::time::ReferenceTime;
use sha2::{Digest as _, Sha256};
use sigstore_trust_root::TrustedRoot;
use std::path::{Path, PathBuf};

/// A trusted_root.json is a few kilobytes; anything near this is hostile.
const MAX_TRUSTED_ROOT_BYTES: u64 = 4 * 1024 * 1024;

/// Where a [`VerifiedTrustRoot`] came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TrustSource {
    /// Shipped inside the airlock binary.
    Embedded {
        /// Which deployment, e.g. `sigstore-public-good`.
        name: &'static str,
    },
    /// A trusted_root.json an operator supplied by hand. No TUF chain was
    /// checked: the file is trusted because the operator said so.
    File {
        /// The path it was read from.
        path: PathBuf,
    },
    /// A trusted_root.json carried inside an airlock bundle whose manifest
    /// was signed by the site's pinned transfer key. No TUF chain was
    /// checked: the file is trusted because the transfer key vouches for it.
    TransferSigned {
        /// Its path inside the bundle.
        path: String,
    },
    /// The `trusted_root.json` target of a TUF snapshot, verified offline
    /// from a pinned root through every root version, the timestamp, the
    /// snapshot, the targets and the target's hashes, at `reference_time`.
    Tuf {
        /// The snapshot directory.
        snapshot: PathBuf,
        /// The version of the pinned root the chain started from.
        pinned_root_version: u64,
        /// `sha256:<hex>` of the pinned root's bytes.
        pinned_root_digest: String,
        /// The final root's version.
        root_version: u64,
        /// The timestamp's version.
        timestamp_version: u64,
        /// The snapshot role's version.
        snapshot_version: u64,
        /// The top-level targets' version.
        targets_version: u64,
        /// When expiry was evaluated, and why that instant.
        reference_time: ReferenceTime,
    },
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded { name } => write!(f, "embedded {name} trusted root"),
            Self::File { path } => write!(
                f,
                "trusted root file {} (hand-managed: no TUF chain checked)",
                path.display()
            ),
            Self::TransferSigned { path } => write!(
                f,
                "trusted root {path} carried in the bundle, authenticated by the pinned transfer key (no TUF chain checked)"
            ),
            Self::Tuf {
                snapshot,
                pinned_root_version,
                pinned_root_digest,
                root_version,
                timestamp_version,
                snapshot_version,
                targets_version,
                reference_time,
            } => write!(
                f,
                "TUF snapshot {}: root v{root_version} from pinned root v{pinned_root_version} \
                 ({pinned_root_digest}), timestamp v{timestamp_version}, snapshot \
                 v{snapshot_version}, targets v{targets_version}, at {reference_time}",
                snapshot.display()
            ),
        }
    }
}

/// Sigstore trust material whose provenance airlock has established.
///
/// Fields are private and every constructor lives in this crate, so holding
/// one means it came through one of the paths below, each recorded in
/// [`Self::source`].
#[derive(Debug, Clone)]
pub struct VerifiedTrustRoot {
    root: TrustedRoot,
    source: TrustSource,
    sha256: [u8; 32],
}

impl VerifiedTrustRoot {
    /// The Sigstore public-good trusted root embedded in this binary.
    pub fn embedded_public_good() -> Result<Self> {
        Self::parse(
            crate::PUBLIC_GOOD_TRUSTED_ROOT_JSON.as_bytes(),
            TrustSource::Embedded {
                name: "sigstore-public-good",
            },
        )
    }

    /// A trusted_root.json managed by hand, trusted as given (no TUF).
    ///
    /// For private Sigstore deployments without a TUF repository. The
    /// returned root's [`TrustSource::File`] makes reports say that no TUF
    /// chain was checked.
    pub fn from_hand_managed_file(path: &Path) -> Result<Self> {
        let bytes = crate::files::read_bounded(path, MAX_TRUSTED_ROOT_BYTES)?;
        Self::parse(
            &bytes,
            TrustSource::File {
                path: path.to_path_buf(),
            },
        )
    }

    /// A trusted_root.json carried in a bundle that the site's pinned
    /// transfer key signed. The caller must have verified that signature
    /// over the bundle manifest that lists this file by digest.
    pub fn from_transfer_signed_bytes(json: &[u8], path: &str) -> Result<Self> {
        Self::parse(json, TrustSource::TransferSigned { path: path.to_string() })
    }

    /// The verified `trusted_root.json` target of a TUF snapshot. Only
    /// `snapshot.rs` calls this, after the whole chain has verified.
    pub(crate) fn from_tuf_target(json: &[u8], source: TrustSource) -> Result<Self> {
        Self::parse(json, source)
    }

    fn parse(json: &[u8], source: TrustSource) -> Result<Self> {
        let text = std::str::from_utf8(json).map_err(|_| Error::NotUtf8 {
            what: source.to_string(),
        })?;
        let root = TrustedRoot::from_json(text).map_err(|e| Error::MalformedTrustedRoot {
            origin: source.to_string(),
            source: e,
        })?;
        Ok(Self {
            root,
            sha256: Sha256::digest(json).into(),
            source,
        })
    }

    /// The parsed trust material.
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.root
    }

    /// Where it came from.
    pub fn source(&self) -> &TrustSource {
        &self.source
    }

    /// `sha256:<hex>` of the trusted_root.json bytes, for reports.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_public_good_root_parses_and_has_the_expected_logs() {
        let root = VerifiedTrustRoot::embedded_public_good().unwrap();
        assert_eq!(root.trusted_root().tlogs.len(), 2, "Rekor v1 and v2");
        assert!(!root.trusted_root().timestamp_authorities.is_empty());
        assert_eq!(
            root.digest(),
            "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
        );
    }

    #[test]
    fn hand_managed_file_is_recorded_as_such() {
        let dir = std::env::temp_dir().join(format!("airlock-tr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trusted_root.json");
        std::fs::write(&path, crate::PUBLIC_GOOD_TRUSTED_ROOT_JSON).unwrap();
        let root = VerifiedTrustRoot::from_hand_managed_file(&path).unwrap();
        assert!(matches!(root.source(), TrustSource::File { .. }));
        assert!(root.source().to_string().contains("no TUF chain"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_and_oversized_roots_are_refused() {
        let err = VerifiedTrustRoot::parse(b"{not json", TrustSource::Embedded { name: "t" });
        assert!(matches!(err, Err(Error::MalformedTrustedRoot { .. })));
        let dir = std::env::temp_dir().join(format!("airlock-tr-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.json");
        std::fs::write(&path, vec![b' '; (MAX_TRUSTED_ROOT_BYTES + 1) as usize]).unwrap();
        let err = VerifiedTrustRoot::from_hand_managed_file(&path);
        assert!(matches!(err, Err(Error::TooLarge { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
