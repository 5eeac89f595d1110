//! The trust material a bundle carries in `airlock/trust/`, and the
//! [`VerifiedTrustRoot`] the self-check verifies evidence with.
//!
//! Either a TUF snapshot fetched the way `airlock trust fetch` does (the
//! same code: `trust_roots::fetch`), verified from the pinned root, or a
//! hand-managed `trusted_root.json` carried byte for byte. The pipeline's
//! first phase: nothing is resolved until the material to check it with is
//! in hand.

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress, Unit};
use crate::Created;
use std::path::{Path, PathBuf};
use trust_roots::{PinnedRoot, ReferenceTime, TimePolicy, VerifiedTrustRoot};
use verifier::bundle::manifest::{TrustMaterial, TRUST_DIR};

/// Where trust comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustInput {
    /// Fetch a TUF snapshot from `mirror`, starting from `root` (default:
    /// the Sigstore public-good root embedded in airlock).
    Tuf {
        /// Metadata base URL.
        mirror: String,
        /// The pinned root file, if not the embedded one.
        root: Option<PathBuf>,
    },
    /// Carry this hand-managed `trusted_root.json` as is (no TUF chain).
    TrustedRoot(PathBuf),
}

impl Default for TrustInput {
    /// Sigstore public-good over TUF.
    fn default() -> Self {
        Self::Tuf {
            mirror: trust_roots::PUBLIC_GOOD_TUF_MIRROR.to_string(),
            root: None,
        }
    }
}

/// The trust material, written and verified.
#[derive(Debug, Clone)]
pub struct Trust {
    /// How the manifest records it.
    pub material: TrustMaterial,
    /// What the self-check verifies with.
    pub root: VerifiedTrustRoot,
}

/// Write the trust material into `dir` (the bundle's `airlock/trust`,
/// replaced if present) and verify it.
pub async fn prepare(input: &TrustInput, dir: &Path, created: &Created, progress: &dyn Progress) -> Result<Trust> {
    progress.start(Phase::Trust, 1, Unit::Items);
    let trust = write_and_verify(input, dir, created).await?;
    progress.advance(1);
    progress.finish(Phase::Trust);
    Ok(trust)
}

async fn write_and_verify(input: &TrustInput, dir: &Path, created: &Created) -> Result<Trust> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir, "remove stale trust material", e)),
    }
    match input {
        TrustInput::TrustedRoot(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            let target = dir.join("trusted_root.json");
            std::fs::write(&target, bytes).map_err(|e| Error::io(&target, "write", e))?;
            // Load the copy: the self-check trusts exactly the carried bytes.
            let root = VerifiedTrustRoot::from_hand_managed_file(&target).map_err(|source| Error::trust("read the trusted root", source))?;
            Ok(Trust {
                material: TrustMaterial::TrustedRoot {
                    path: format!("{TRUST_DIR}/trusted_root.json"),
                },
                root,
            })
        }
        TrustInput::Tuf { mirror, root } => {
            let pinned = match root {
                Some(path) => PinnedRoot::from_file(path),
                None => PinnedRoot::public_good(),
            }
            .map_err(|source| Error::trust("read the pinned TUF root", source))?;
            // The fetch time recorded in the snapshot is the bundle's
            // creation time, so a pinned --created gives the same bytes.
            let time = match created {
                Created::Clock(at) => ReferenceTime::local_clock(*at),
                Created::Pinned(at) => ReferenceTime::operator(*at),
            };
            let options = trust_roots::fetch::FetchOptions::new(mirror, dir, created.at(), time);
            // This phase's progress is the bundler's own (see `prepare`).
            trust_roots::fetch::fetch_snapshot(&pinned, &options, &progress::NoProgress)
                .await
                .map_err(|source| Error::trust("fetch the TUF snapshot", source))?;
            let (root, _) = trust_roots::verify_snapshot(dir, &pinned, TimePolicy::At(time)).map_err(|source| Error::trust("verify the fetched TUF snapshot", source))?;
            Ok(Trust {
                material: TrustMaterial::Tuf {
                    path: TRUST_DIR.to_string(),
                    mirror: mirror.clone(),
                },
                root,
            })
        }
    }
}
