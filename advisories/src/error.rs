//! Errors of the advisories crate, one variant per way a snapshot or a
//! record is refused, carrying where (file, zip entry, record) and what
//! (expected and found). [`Error::kind`] groups them: the environment's
//! fault (could not run) or the data's (refused).

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why advisory data was refused, or why it could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- environment ----------------------------------------------------------
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output directory of a fetch already holds something.
    #[error("{} already exists and is not empty; refusing to overwrite it", path.display())]
    OutputExists {
        /// The directory.
        path: PathBuf,
    },
    /// A network request failed (connected side only).
    #[error("{url}: {message}")]
    Transport {
        /// What was requested.
        url: String,
        /// What went wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The caller asked for something this crate cannot do as asked.
    #[error("{0}")]
    Usage(String),

    // ---- the data -------------------------------------------------------------
    /// Input larger than any legitimate document of its kind.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// More items than the limit (zip entries, records, files).
    #[error("{what}: more than {limit} {items}")]
    TooMany {
        /// Where.
        what: String,
        /// What was counted.
        items: &'static str,
        /// The limit.
        limit: u64,
    },
    /// An OSV record that does not follow the OSV schema.
    #[error("{location}: not an OSV record: {reason}")]
    MalformedRecord {
        /// File (and zip entry) it came from.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// A zip archive that cannot be read.
    #[error("{location}: unreadable zip archive: {reason}")]
    Zip {
        /// The archive.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// A snapshot's index.json that cannot be used.
    #[error("{}: not an advisories snapshot index: {reason}", path.display())]
    MalformedIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file whose bytes are not those the index records.
    #[error("{}: {what} is {found}, the snapshot index says {expected}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// `sha256` or `size`.
        what: &'static str,
        /// What the index records.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A file the index lists that is not there.
    #[error("{}: listed in the snapshot index but missing", path.display())]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// A file in the snapshot that its index does not list.
    #[error("{}: in the snapshot directory but not in its index", path.display())]
    UnlistedFile {
        /// The file.
        path: PathBuf,
    },
    /// Record counts that differ from what the index records.
    #[error(
        "source {source_url}: index records {expected} {ecosystem} records, the files hold {found}"
    )]
    CountMismatch {
        /// The source.
        source_url: String,
        /// The ecosystem.
        ecosystem: String,
        /// What the index records.
        expected: u64,
        /// What was read.
        found: u64,
    },
    /// A source that does not serve OSV data in a layout airlock reads.
    #[error("{url}: {reason}")]
    Source {
        /// The source URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// I/O, network, usage: the work could not run.
    Environment,
    /// The data was refused.
    Refused,
}

impl Error {
    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Read { .. }
            | Self::Write { .. }
            | Self::OutputExists { .. }
            | Self::Transport { .. }
            | Self::Usage(_) => ErrorKind::Environment,
            _ => ErrorKind::Refused,
        }
    }

    pub(crate) fn malformed(location: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::MalformedRecord {
            location: location.into(),
            reason: reason.to_string(),
        }
    }
}
