//! Errors of the trust-roots crate.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why trust material was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Input larger than any legitimate document of its kind.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A JSON document that is not UTF-8.
    #[error("{what} is not UTF-8")]
    NotUtf8 {
        /// What was being read.
        what: String,
    },
    /// A trusted_root.json that does not parse or holds unusable material.
    #[error("trusted root {origin} is malformed: {source}")]
    MalformedTrustedRoot {
        /// Where it came from.
        origin: String,
        /// The parser's complaint.
        source: sigstore_trust_root::Error,
    },
}
