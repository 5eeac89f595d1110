//! The crate's one error type.
//!
//! Variants are grouped by who is at fault, as rustls does: the input
//! (references, manifests, layouts), the content (digest and size checks),
//! the medium (a registry's or a filesystem's answers), and the caller's
//! configuration (credentials). Each names the thing it was about (a
//! `registry/repository@digest` or `oci:DIR` location) and the operation.

use crate::digest::DigestError;
use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference did not follow the docker reference grammar.
    #[error("invalid image reference {input:?}: {reason}")]
    Reference {
        /// What was written.
        input: String,
        /// Which rule it broke.
        reason: String,
    },

    /// A platform string or value was malformed.
    #[error("invalid platform {input:?}: {reason}")]
    Platform {
        /// What was written.
        input: String,
        /// Which rule it broke.
        reason: String,
    },

    /// A manifest was larger than airlock accepts.
    #[error("{location}: manifest of {size} bytes exceeds the {limit}-byte limit")]
    ManifestTooLarge {
        /// Where it came from.
        location: String,
        /// Its size (or the size at which reading stopped).
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// A manifest's media type is not one airlock reads.
    #[error("{location}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        /// Where it came from.
        location: String,
        /// The media type.
        media_type: String,
    },

    /// A manifest did not parse, or its structure contradicts its media type.
    #[error("{location}: malformed manifest: {reason}")]
    MalformedManifest {
        /// Where it came from.
        location: String,
        /// What was wrong.
        reason: String,
    },

    /// Content did not match the digest or size it was asked for by.
    #[error("{location}: {source}")]
    Content {
        /// Where it came from.
        location: String,
        /// The mismatch.
        #[source]
        source: DigestError,
    },

    /// A manifest, blob or tag does not exist in the store.
    #[error("{location}: {what} not found")]
    NotFound {
        /// Where it was looked for.
        location: String,
        /// `manifest`, `blob` or `tag`.
        what: &'static str,
    },

    /// A registry refused or failed an operation.
    ///
    /// The message comes from the registry client with every configured
    /// secret redacted; it is kept as text because the client's error type
    /// can carry request details we would rather not pass on unexamined.
    #[error("{registry}/{repository}: {operation}: {message}")]
    Registry {
        /// Registry host (and port).
        registry: String,
        /// Repository path.
        repository: String,
        /// What we were doing (`pull manifest`, `push blob`, ...).
        operation: &'static str,
        /// HTTP status, when the registry answered.
        status: Option<u16>,
        /// Whether retrying may help (connection failures, 5xx, 429).
        transient: bool,
        /// The client's message, secrets redacted.
        message: String,
    },

    /// The registry answered with something the protocol does not allow.
    #[error("{location}: {operation}: registry violated the protocol: {reason}")]
    Protocol {
        /// Where.
        location: String,
        /// What we were doing.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },

    /// A filesystem operation failed.
    #[error("{path}: {operation}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What we were doing.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// An OCI image layout is not well formed.
    #[error("oci:{path}: invalid image layout: {reason}")]
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// Credentials could not be read or are malformed. Never holds a secret.
    #[error("credentials {path}: {reason}")]
    Credentials {
        /// The docker config file.
        path: PathBuf,
        /// What was wrong (without the secret).
        reason: String,
    },

    /// A credential helper could not give the credentials for a registry.
    /// Never holds anything the helper printed.
    #[error("registry {registry}: credential helper {helper}: {reason}")]
    CredentialHelper {
        /// The registry host.
        registry: String,
        /// `docker-credential-NAME`, and where it was configured.
        helper: String,
        /// What went wrong.
        reason: String,
    },

    /// A file of CA certificates could not be used.
    #[error("CA certificates {path}: {reason}")]
    Certificates {
        /// The PEM file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// A graph of manifests is larger or deeper than airlock walks.
    #[error("{location}: {reason}")]
    Limit {
        /// The root being walked.
        location: String,
        /// Which limit was crossed.
        reason: String,
    },
}

/// A blob of a set ([`crate::copy::copy_blobs`]) that could not be copied:
/// which one, and why, so the caller can say which image needed it.
#[derive(Debug, thiserror::Error)]
#[error("blob {digest}: {source}")]
pub struct BlobCopyError {
    /// The blob.
    pub digest: crate::Digest,
    /// Why.
    #[source]
    pub source: Error,
}

impl Error {
    /// Whether the operation may succeed if retried: connection failures,
    /// server errors (5xx) and rate limiting (429).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Registry { transient, .. } => *transient,
            _ => false,
        }
    }

    /// Whether the error says the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Registry { status, .. } => *status == Some(404),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, operation: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            operation,
            source,
        }
    }
}

/// Turn an I/O error raised by a verifying reader back into the digest
/// mismatch it carries, or keep it as I/O.
pub(crate) fn from_read_error(location: &str, path: PathBuf, e: std::io::Error) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<DigestError>()) {
        Some(digest_error) => Error::Content {
            location: location.to_string(),
            source: digest_error.clone(),
        },
        None => Error::io(path, "read", e),
    }
}

/// An error and its sources as one line, each message once. HTTP clients
/// hide the useful part (the connection error) in the source chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
