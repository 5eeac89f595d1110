//! The bundler's one error type.
//!
//! Every variant names what an operator needs to act: the image (as
//! requested), the evidence (its manifest digest, and the layer when one is
//! concerned), and the operation that failed. Variants are grouped by who
//! is at fault, as [`ErrorKind`] says: the operator's request, the evidence
//! (refused), or the environment (registries, Rekor, disk).

use oci::Digest;
use std::path::PathBuf;

/// `Result` with the bundler's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who is at fault, for exit codes: evidence refused (1) or could not run (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request itself is wrong (flags, files, references).
    Usage,
    /// Evidence was found and refused: the bundle would carry something
    /// that does not verify.
    Refused,
    /// Something airlock cannot do yet, refused rather than skipped.
    Unsupported,
    /// A registry, Rekor, the TUF mirror or the disk failed.
    Environment,
}

/// What went wrong, and with which image, evidence and operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is unusable (conflicting or malformed inputs).
    #[error("{0}")]
    Usage(String),

    /// Something airlock does not do yet; refused, never skipped.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A registry operation for an image failed (the image is unknown, the
    /// registry unreachable, a manifest malformed, content corrupt).
    #[error("image {image}: {operation}: {source}")]
    Registry {
        /// The image as requested.
        image: String,
        /// What was being done (`resolve`, `walk`, `list tags`, ...).
        operation: &'static str,
        /// The content layer's error (secrets already redacted).
        #[source]
        source: Box<oci::Error>,
    },

    /// A piece of evidence could not be read as what it claims to be.
    #[error("{at}: {reason}")]
    Evidence {
        /// The image, evidence and layer.
        at: Box<At>,
        /// What is wrong.
        reason: String,
    },

    /// A piece of evidence failed the self-check: the bundle would carry a
    /// signature, proof or attestation that does not verify.
    #[error("{at} ({kind}) does not verify: {source}")]
    SelfCheck {
        /// The image, evidence and layer.
        at: Box<At>,
        /// The evidence kind (`cosign-signature`, `sigstore-bundle`, ...).
        kind: &'static str,
        /// The verifier's reason, with the failed check named.
        #[source]
        source: Box<verifier::Error>,
    },

    /// With `--policy`: images that would not pass the site's policy. The
    /// bundle is not finished (its manifest is never written; fetched blobs stay
    /// for a re-run).
    #[error("{} image(s) would be refused by the policy: {}", failures.len(), failures.join("; "))]
    PolicyNotMet {
        /// `reference: [check] reason` for each refused image.
        failures: Vec<String>,
    },

    /// The policy file is unusable.
    #[error("--policy: {0}")]
    Policy(#[source] Box<verifier::Error>),

    /// Rekor could not be asked for an entry (unreachable, refused, or an
    /// answer that does not parse).
    #[error("{at}: Rekor {url}: log entry {log_index}: {reason}")]
    Rekor {
        /// The image, evidence and signature layer whose SET names the entry.
        at: Box<At>,
        /// The Rekor base URL.
        url: String,
        /// The entry's global log index.
        log_index: u64,
        /// What went wrong.
        reason: String,
    },

    /// Rekor answered with an entry that is not the one the layer's SET
    /// signs.
    #[error("{at}: Rekor entry {log_index} does not match the SET: {field} differs (SET: {}, Rekor: {})", .values.0, .values.1)]
    RekorMismatch {
        /// The image, evidence and signature layer.
        at: Box<At>,
        /// The entry's global log index.
        log_index: u64,
        /// Which field differs (`body`, `logID`, `integratedTime`, `logIndex`).
        field: &'static str,
        /// What the SET says, and what Rekor returned.
        values: Box<(String, String)>,
    },

    /// A required piece of evidence is missing (self-check with a policy).
    #[error("image {image}: {missing}")]
    Missing {
        /// The image as requested.
        image: String,
        /// What is missing.
        missing: String,
    },

    /// Trust material could not be fetched, read or verified.
    #[error("trust material: {operation}: {source}")]
    Trust {
        /// What was being done.
        operation: &'static str,
        /// Why.
        #[source]
        source: Box<trust_roots::Error>,
    },

    /// The advisories snapshot (`--advisories DIR`) is unusable.
    #[error("--advisories {}: {source}", path.display())]
    Advisories {
        /// The snapshot directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<advisories::Error>,
    },

    /// The previous bundle's manifest (`--since`) is unusable.
    #[error("--since {path}: {source}")]
    Since {
        /// The manifest file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<verifier::Error>,
    },

    /// An SBOM the operator gave (`--sbom FILE=IMAGE`) is unusable.
    #[error("SBOM {path}: {reason}")]
    Sbom {
        /// The SBOM file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The release SBOM (`--images-from-sbom`) was refused.
    #[error("--images-from-sbom {path}: {source}")]
    ReleaseSbom {
        /// The SBOM file.
        path: PathBuf,
        /// Why.
        #[source]
        source: verifier::evidence::sbom_images::SbomImageError,
    },

    /// An image the release SBOM pins resolved to another digest.
    #[error("image {image}: the SBOM names {sbom}, the registry gives {resolved}")]
    SbomDigestMismatch {
        /// The image as the SBOM names it.
        image: String,
        /// The digest the SBOM gives.
        sbom: Digest,
        /// The digest the registry resolved.
        resolved: Digest,
    },

    /// `--require-digest`, and these references name no digest.
    #[error("--require-digest: {} reference(s) name only a tag: {}", images.len(), images.join(", "))]
    TagOnly {
        /// The references.
        images: Vec<String>,
    },

    /// A file or directory operation failed.
    #[error("{path}: {operation}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The output path cannot be used.
    #[error("output {path}: {reason}")]
    Output {
        /// The output path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Which image, evidence manifest and layer an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The image as requested.
    pub image: String,
    /// The evidence manifest.
    pub evidence: Digest,
    /// The layer concerned, if one.
    pub layer: Option<Digest>,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "image {}: evidence {}", self.image, self.evidence)?;
        if let Some(layer) = &self.layer {
            write!(f, " layer {layer}")?;
        }
        Ok(())
    }
}

impl Error {
    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Usage(_) | Self::Since { .. } | Self::Sbom { .. } | Self::Output { .. } => {
                ErrorKind::Usage
            }
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::Policy(_) => ErrorKind::Usage,
            Self::Evidence { .. }
            | Self::SelfCheck { .. }
            | Self::RekorMismatch { .. }
            | Self::Missing { .. }
            | Self::PolicyNotMet { .. }
            | Self::ReleaseSbom { .. }
            | Self::SbomDigestMismatch { .. }
            | Self::TagOnly { .. } => {
                ErrorKind::Refused
            }
            Self::Advisories { source, .. } => match source.kind() {
                advisories::ErrorKind::Environment => ErrorKind::Usage,
                _ => ErrorKind::Refused,
            },
            Self::Trust { source, .. } => match source.kind() {
                trust_roots::ErrorKind::Environment => ErrorKind::Environment,
                _ => ErrorKind::Refused,
            },
            Self::Registry { source, .. } => match **source {
                oci::Error::Content { .. } | oci::Error::MalformedManifest { .. } => ErrorKind::Refused,
                _ => ErrorKind::Environment,
            },
            Self::Rekor { .. } | Self::Io { .. } => ErrorKind::Environment,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, operation: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            operation,
            source,
        }
    }

    pub(crate) fn registry(image: &impl std::fmt::Display, operation: &'static str, source: oci::Error) -> Self {
        Self::Registry {
            image: image.to_string(),
            operation,
            source: Box::new(source),
        }
    }

    pub(crate) fn trust(operation: &'static str, source: trust_roots::Error) -> Self {
        Self::Trust {
            operation,
            source: Box::new(source),
        }
    }
}
