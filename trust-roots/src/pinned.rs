//! Trust anchors: what ships inside the airlock binary, and a site's own pin.

use crate::chain::{Limits, TrustedSet};
use crate::error::Result;
use crate::files::read_bounded;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// The Sigstore public-good `trusted_root.json` this airlock release ships
/// with: the production TUF repository's target at root-signing commit
/// 60cf2ce8 (2026-08-21), sha256 `6494e21e…0b66`. Rekor v1 and v2
/// (log2025-1), both Fulcio CAs, two CT logs and the public-good TSA.
///
/// It is used when an operator gives no other trust material. Sites that
/// carry a TUF snapshot across the gap should prefer that: it can be newer
/// than this release, and its provenance is checked from a pinned root.
pub const PUBLIC_GOOD_TRUSTED_ROOT_JSON: &str =
    include_str!("../data/public-good-trusted_root.json");

/// The Sigstore public-good TUF root this release pins: root v15
/// (root-signing, 2026-08), sha256 `73747011…9ca8`, byte-identical to
/// `metadata/15.root.json` of the production repository.
///
/// Why v15: it is the newest root, so a refresh walks the fewest rotations
/// and trusts the fewest retired keys (sigstore-python also ships v15;
/// sigstore-go v14, sigstore-rs v12). An expired pinned root is fine: only
/// the *final* root of a chain must be unexpired.
pub const PUBLIC_GOOD_TUF_ROOT_JSON: &[u8] = include_bytes!("../data/public-good-tuf-root.15.json");

/// The Sigstore public-good TUF mirror.
pub const PUBLIC_GOOD_TUF_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The name of the trusted-root target in Sigstore TUF repositories.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// A TUF root a site trusts on first use: the start of every chain.
#[derive(Debug, Clone)]
pub struct PinnedRoot {
    bytes: Vec<u8>,
    version: u64,
    sha256: [u8; 32],
    origin: PinOrigin,
}

/// Where a [`PinnedRoot`] came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PinOrigin {
    /// Shipped inside the airlock binary.
    Embedded {
        /// Which deployment.
        name: &'static str,
    },
    /// A site's root file (`--root`).
    File {
        /// The path it was read from.
        path: PathBuf,
    },
}

impl std::fmt::Display for PinOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded { name } => write!(f, "embedded {name} TUF root"),
            Self::File { path } => write!(f, "{}", path.display()),
        }
    }
}

impl PinnedRoot {
    /// The Sigstore public-good root embedded in this binary.
    pub fn public_good() -> Result<Self> {
        Self::from_bytes(
            PUBLIC_GOOD_TUF_ROOT_JSON.to_vec(),
            PinOrigin::Embedded {
                name: "sigstore-public-good",
            },
        )
    }

    /// A site's pinned root file (any TUF repository: a private Sigstore
    /// deployment pins its own).
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = read_bounded(path, Limits::default().root)?;
        Self::from_bytes(
            bytes,
            PinOrigin::File {
                path: path.to_path_buf(),
            },
        )
    }

    /// A pinned root from bytes. It must parse and be signed to threshold by
    /// its own root keys; its expiry is not checked (only a chain's final
    /// root must be unexpired).
    pub fn from_bytes(bytes: Vec<u8>, origin: PinOrigin) -> Result<Self> {
        let set = TrustedSet::from_pinned_root(&bytes, &origin.to_string())?;
        Ok(Self {
            version: set.root().version,
            sha256: Sha256::digest(&bytes).into(),
            bytes,
            origin,
        })
    }

    /// The root JSON as pinned.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Its version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// `sha256:<hex>` of its bytes.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.sha256))
    }

    /// Where it came from.
    pub fn origin(&self) -> &PinOrigin {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_public_good_root_is_v15_and_self_signed() {
        let pin = PinnedRoot::public_good().unwrap();
        assert_eq!(pin.version(), 15);
        assert_eq!(
            pin.digest(),
            "sha256:73747011d0857ada15479a16c4cae0f3ed03aac698b523b97e1de314ac9d9ca8"
        );
    }

    #[test]
    fn a_tampered_pin_is_refused() {
        let text = std::str::from_utf8(PUBLIC_GOOD_TUF_ROOT_JSON).unwrap();
        let tampered = text.replacen("\"version\": 15", "\"version\": 16", 1);
        assert_ne!(text, tampered);
        let err = PinnedRoot::from_bytes(tampered.into_bytes(), PinOrigin::Embedded { name: "t" })
            .unwrap_err();
        assert_eq!(err.check(), "threshold", "{err}");
    }
}
