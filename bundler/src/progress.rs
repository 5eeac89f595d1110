//! Progress, reported through a callback: the library never prints. The CLI
//! draws a bar per phase on a terminal and plain lines otherwise.

use std::fmt;

/// The phases of `bundle create`, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Fetching (or reading) the trust material.
    Trust,
    /// Resolving every reference to a digest and walking indexes.
    Resolve,
    /// Finding signatures, attestations, SBOMs and referrers.
    Collect,
    /// Copying evidence blobs (what the self-check reads) into the layout.
    Evidence,
    /// Copying image configs and layers into a directory bundle.
    Fetch,
    /// Fetching Rekor entries and verifying every signature and proof.
    Verify,
    /// Writing index.json, SBOMs, the manifest and its signature.
    Write,
    /// Writing the archive (and volumes), fetching image configs and
    /// layers as it goes.
    Archive,
}

impl Phase {
    /// The phase's name in progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Resolve => "resolve",
            Self::Collect => "collect",
            Self::Evidence => "evidence",
            Self::Fetch => "fetch",
            Self::Verify => "verify",
            Self::Write => "write",
            Self::Archive => "archive",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The unit a phase counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Items (images, manifests, signatures).
    Items,
    /// Bytes.
    Bytes,
}

/// Hears what `bundle create` does. Implementations must be cheap, must
/// not block, and are called from several tasks at once.
pub trait Progress: Send + Sync {
    /// A phase starts; `total` is how much work it has, in `unit`.
    fn start(&self, phase: Phase, total: u64, unit: Unit);
    /// `amount` more of the current phase is done.
    fn advance(&self, amount: u64);
    /// Something worth a line (an image resolved, a blob reused, ...).
    fn note(&self, message: &str);
    /// The current phase is over.
    fn finish(&self, phase: Phase);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Phase, _: u64, _: Unit) {}
    fn advance(&self, _: u64) {}
    fn note(&self, _: &str) {}
    fn finish(&self, _: Phase) {}
}
