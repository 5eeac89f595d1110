//! Errors of the trust-roots crate.
//!
//! One variant per way trust material is refused, carrying the facts an
//! operator needs (role, file, versions, times). Grouped by who is at fault
//! through [`Error::kind`]: the evidence (refused) or the environment (could
//! not run).

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why trust material was refused, or why it could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- environment: the check could not run -------------------------------
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

    // ---- malformed input ----------------------------------------------------
    /// Input larger than any legitimate document of its kind (endless data).
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
    /// TUF metadata that does not parse or breaks a structural rule.
    #[error("{file}: malformed TUF metadata: {reason}")]
    MalformedMetadata {
        /// The metadata file, as published (e.g. `3.snapshot.json`).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot's `index.json` that cannot be used for its fetch time.
    #[error("{}: {reason}", path.display())]
    MalformedIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A name (role or target path) that cannot be mapped safely to a file.
    #[error("unsafe {what} name {name:?}: {reason}")]
    UnsafeName {
        /// `role` or `target`.
        what: &'static str,
        /// The name as found.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },

    // ---- evidence refused: the TUF checks -----------------------------------
    /// Rollback: a version lower than one already trusted (TUF §5.3.5,
    /// §5.4.3, §5.5.5).
    #[error("{role}: rollback refused: version {new} is lower than the trusted version {trusted}")]
    Rollback {
        /// The role whose version went backwards.
        role: String,
        /// The version already trusted.
        trusted: u64,
        /// The version offered.
        new: u64,
    },
    /// Freeze: metadata expired at the reference time (TUF §5.3.10, §5.4.4,
    /// §5.5.6, §5.6.5).
    #[error("{role}: expired at {expires}, before the reference time {reference_time}")]
    Expired {
        /// The role.
        role: String,
        /// Its declared expiry.
        expires: jiff::Timestamp,
        /// The reference time it was evaluated at.
        reference_time: jiff::Timestamp,
    },
    /// Fewer valid signatures from distinct keys than the role requires.
    #[error("{role}: signature threshold not met: {valid} valid of {threshold} required")]
    ThresholdNotMet {
        /// The role whose metadata was checked (the file is named in
        /// the role for delegated roles).
        role: String,
        /// Distinct valid signatures found.
        valid: usize,
        /// The threshold.
        threshold: usize,
    },
    /// The threshold was missed because a key authorised for the role has a
    /// type this client refuses (keytype/scheme mismatch, unsupported scheme,
    /// or key material that is not what the scheme says).
    #[error("{0}")]
    KeyType(Box<UnusableKey>),
    /// Mix-and-match: a file's hash is not the one its parent role pinned.
    #[error("{file}: {algorithm} is {actual}, but {pinned_by} pins {expected}")]
    HashMismatch {
        /// The file (metadata file or target name).
        file: String,
        /// Which role pinned it (`timestamp`, `snapshot`, or a targets role).
        pinned_by: String,
        /// `sha256` or `sha512`.
        algorithm: String,
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the bytes found (hex).
        actual: String,
    },
    /// Mix-and-match: a file's length is not the one its parent role pinned.
    #[error("{file}: length {actual} bytes, but {pinned_by} pins {expected}")]
    LengthMismatch {
        /// The file.
        file: String,
        /// Which role pinned it.
        pinned_by: String,
        /// Pinned length.
        expected: u64,
        /// Length found (or read so far, when it overran).
        actual: u64,
    },
    /// Mix-and-match: a metadata version is not the one its parent pinned
    /// (TUF §5.5.4, §5.6.4), or a root file's version skips (§5.3.5).
    #[error("{file}: version {found}, but {pinned_by} requires version {expected}")]
    VersionMismatch {
        /// The file.
        file: String,
        /// Which role (or rule) set the expectation.
        pinned_by: String,
        /// The version required.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// The parent pins no hash this client can check.
    #[error("{file}: {pinned_by} pins no supported hash (sha256 or sha512)")]
    NoSupportedHash {
        /// The file.
        file: String,
        /// The pinning role.
        pinned_by: String,
    },
    /// A file the TUF chain needs is not in the snapshot (or not on the
    /// mirror).
    #[error("{file}: required by {needed_by} but not present")]
    MissingFile {
        /// The file.
        file: String,
        /// Why it is needed.
        needed_by: String,
    },
    /// A delegated role that the snapshot does not list.
    #[error("{role}: delegated by {delegator} but not listed in snapshot")]
    NotInSnapshot {
        /// The delegated role.
        role: String,
        /// Its delegator.
        delegator: String,
    },
    /// No trusted targets role lists the target.
    #[error("target {name:?} is not listed by any trusted targets role")]
    TargetNotFound {
        /// The target path.
        name: String,
    },
    /// More root versions than the configured bound.
    #[error("more than {max} root rotations in one update; refusing to walk further")]
    TooManyRootRotations {
        /// The bound.
        max: u32,
    },
    /// More delegated roles than the configured bound.
    #[error("more than {max} delegated targets roles; refusing to walk further")]
    TooManyDelegations {
        /// The bound.
        max: u32,
    },
    /// sigstore-tuf's own state machine, run over the bytes airlock accepted,
    /// disagreed. It should never fire: it means one of airlock's checks is
    /// weaker than the library's.
    #[error("{file}: sigstore-tuf refuses what airlock accepted: {source}")]
    SecondOpinion {
        /// The file being checked when sigstore-tuf refused.
        file: String,
        /// sigstore-tuf's error.
        source: sigstore_tuf::Error,
    },

    // ---- evidence refused: the reference time -------------------------------
    /// The snapshot's fetch time is older than the operator's `--max-age`.
    #[error(
        "snapshot fetched at {fetched_at} is older than the maximum age {age} \
         (local clock {now}); carry a fresh snapshot or give --at",
        age = crate::time::human(*max_age)
    )]
    SnapshotTooOld {
        /// The fetch time from index.json.
        fetched_at: jiff::Timestamp,
        /// The local clock.
        now: jiff::Timestamp,
        /// The allowed age.
        max_age: jiff::SignedDuration,
    },
    /// The snapshot claims to have been fetched after the local clock's now.
    #[error(
        "snapshot fetch time {fetched_at} is in the future of the local clock {now}; \
         check the clock or give --at"
    )]
    FetchTimeInFuture {
        /// The fetch time from index.json.
        fetched_at: jiff::Timestamp,
        /// The local clock.
        now: jiff::Timestamp,
    },
}

/// Who is at fault, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The trust material was refused (exit 1).
    Refused,
    /// The check could not run: I/O, network, usage (exit 2).
    Environment,
}

impl Error {
    /// Whether the material was refused or the check could not run.
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

    /// A short stable name for the failed check, for reports and tests
    /// (`rollback`, `expired`, `threshold`, …).
    pub fn check(&self) -> &'static str {
        match self {
            Self::Read { .. } | Self::Write { .. } | Self::OutputExists { .. } => "io",
            Self::Transport { .. } => "transport",
            Self::Usage(_) => "usage",
            Self::TooLarge { .. } => "size-limit",
            Self::NotUtf8 { .. }
            | Self::MalformedTrustedRoot { .. }
            | Self::MalformedMetadata { .. }
            | Self::MalformedIndex { .. }
            | Self::UnsafeName { .. } => "malformed",
            Self::Rollback { .. } => "rollback",
            Self::Expired { .. } => "expired",
            Self::ThresholdNotMet { .. } => "threshold",
            Self::KeyType(_) => "key-type",
            Self::HashMismatch { .. } => "hash",
            Self::LengthMismatch { .. } => "length",
            Self::VersionMismatch { .. } => "version",
            Self::NoSupportedHash { .. } => "hash",
            Self::MissingFile { .. } | Self::NotInSnapshot { .. } => "missing",
            Self::TargetNotFound { .. } => "target-not-found",
            Self::TooManyRootRotations { .. } | Self::TooManyDelegations { .. } => "limit",
            Self::SecondOpinion { .. } => "second-opinion",
            Self::SnapshotTooOld { .. } | Self::FetchTimeInFuture { .. } => "reference-time",
        }
    }

    pub(crate) fn malformed(file: &str, reason: impl std::fmt::Display) -> Self {
        Self::MalformedMetadata {
            file: file.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// A threshold missed because a key could not be used: the details of
/// [`Error::KeyType`], boxed so every `Result` in the crate stays small.
#[derive(Debug, thiserror::Error)]
#[error(
    "{role}: signature threshold not met ({valid} valid of {threshold}): key {key_id} \
     (keytype {keytype:?}, scheme {scheme:?}) is unusable: {reason}"
)]
pub struct UnusableKey {
    /// The role.
    pub role: String,
    /// The first unusable key's declared ID.
    pub key_id: String,
    /// Its declared `keytype`.
    pub keytype: String,
    /// Its declared `scheme`.
    pub scheme: String,
    /// Why it is unusable.
    pub reason: String,
    /// Distinct valid signatures from usable keys.
    pub valid: usize,
    /// The threshold.
    pub threshold: usize,
}
