//! What went wrong on the site's write side.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a load, a re-signature, a rewrite or an export could not be done.
/// None of these is a verdict on evidence (that was `verifier`'s): they are
/// the operator's input or the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked for something that cannot be done as asked (two
    /// images mapped to one repository and tag, an unparsable reference, a
    /// bad mapping line).
    #[error("{0}")]
    Invalid(String),
    /// Reading from or writing to an image store (a registry, a layout, the
    /// bundle) failed.
    #[error("{0}")]
    Store(#[from] oci::Error),
    /// The site's signing key could not be used.
    #[error("signing key: {0}")]
    Key(#[from] keys::KeyError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
