//! What went wrong, and in which check.

use std::fmt;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A named verification step. Errors and reports use the same names, so an
/// operator can see which step refused a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Check {
    /// The bundle manifest is signed by the site's pinned transfer key.
    TransferSignature,
    /// The bundle manifest parses and is internally consistent.
    BundleManifest,
    /// Every blob and file is present, with the digest and size the
    /// manifest gives, and nothing else is.
    Content,
    /// The evidence parses and has the structure its format requires.
    BundleFormat,
    /// A trusted signing time exists (Rekor SET or RFC 3161 timestamp).
    SignedTime,
    /// Every RFC 3161 timestamp verifies against a trusted TSA.
    TimestampAuthority,
    /// The signing certificate chains to a trusted CA at the signing time.
    CertificateChain,
    /// The certificate's embedded SCT verifies against a trusted CT log.
    CertificateTransparency,
    /// The certificate's identity and issuer satisfy the policy.
    Identity,
    /// Rekor inclusion proof and signed checkpoint verify.
    TransparencyLog,
    /// The Rekor signed entry timestamp (SET) verifies.
    InclusionPromise,
    /// The log entry describes this signature, key and artifact.
    LogEntryConsistency,
    /// The signature verifies with the signer's key.
    Signature,
    /// The signed digest or attestation subject is the artifact's.
    ArtifactBinding,
    /// A cosign payload names the expected image manifest digest.
    PayloadDigest,
    /// A DSSE payload is a well-formed in-toto statement.
    Statement,
    /// An incremental bundle extends one the site imported.
    IncrementalChain,
    /// The image satisfies the import policy.
    Policy,
    /// The carried trust material verifies (TUF chain from the pinned root).
    TrustRoot,
}

impl Check {
    /// The report name of this check.
    pub fn name(self) -> &'static str {
        match self {
            Self::TransferSignature => "transfer-signature",
            Self::BundleManifest => "bundle-manifest",
            Self::Content => "content",
            Self::BundleFormat => "bundle-format",
            Self::SignedTime => "signed-time",
            Self::TimestampAuthority => "timestamp-authority",
            Self::CertificateChain => "certificate-chain",
            Self::CertificateTransparency => "certificate-transparency",
            Self::Identity => "identity",
            Self::TransparencyLog => "transparency-log",
            Self::InclusionPromise => "inclusion-promise",
            Self::LogEntryConsistency => "log-entry-consistency",
            Self::Signature => "signature",
            Self::ArtifactBinding => "artifact-binding",
            Self::PayloadDigest => "payload-digest",
            Self::Statement => "statement",
            Self::IncrementalChain => "incremental-chain",
            Self::Policy => "policy",
            Self::TrustRoot => "trust-root",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is at fault, for exit codes and report grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The evidence could not be parsed.
    Malformed,
    /// The evidence parsed but a check refused it.
    Refused,
    /// The evidence is genuine but does not satisfy the policy.
    PolicyNotMet,
    /// The evidence uses something airlock cannot verify, so it is refused.
    Unsupported,
    /// The environment (files, trust material) kept verification from running.
    Environment,
}

/// Why evidence was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Evidence that does not parse.
    #[error("{what} is malformed: {reason}")]
    Malformed {
        /// Which piece of evidence.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Evidence larger than any legitimate document of its kind.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge {
        /// Which piece of evidence.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The Sigstore engine refused the evidence in `check`.
    #[error("{check}: {source}")]
    Rejected {
        /// The step that failed.
        check: Check,
        /// The engine's reason.
        source: sigstore_verify::Error,
    },
    /// One of airlock's own checks refused the evidence.
    #[error("{check}: {reason}")]
    Failed {
        /// The step that failed.
        check: Check,
        /// Why.
        reason: String,
    },
    /// No certificate SAN satisfies the policy's subject.
    #[error("identity: certificate identity {} does not match {expected}", list(.actual))]
    IdentityMismatch {
        /// The policy's subject matcher.
        expected: String,
        /// Every SAN the certificate carries.
        actual: Vec<String>,
    },
    /// The certificate's OIDC issuer does not satisfy the policy.
    #[error("identity: certificate OIDC issuer {} does not match {expected}", actual.as_deref().unwrap_or("(none)"))]
    IssuerMismatch {
        /// The policy's issuer matcher.
        expected: String,
        /// The certificate's issuer claim.
        actual: Option<String>,
    },
    /// A CI claim in the certificate does not satisfy the policy.
    #[error("identity: certificate claim {claim} {} does not match {expected}", actual.as_deref().unwrap_or("(absent)"))]
    WorkflowClaimMismatch {
        /// The claim.
        claim: crate::check::identity::WorkflowClaim,
        /// The policy's matcher.
        expected: String,
        /// The certificate's value, when it has the claim.
        actual: Option<String>,
    },
    /// The import policy cannot be used.
    #[error(transparent)]
    Policy(#[from] Box<crate::policy::PolicyError>),
    /// Evidence that uses something airlock cannot verify.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The trust material cannot be used.
    #[error("trusted root cannot be used: {0}")]
    TrustRoot(#[source] sigstore_verify::Error),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Reading from an image store (the registry `verify-image` checks)
    /// failed.
    #[error("{0}")]
    Store(#[from] oci::Error),
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        "(none)".to_string()
    } else {
        values.join(", ")
    }
}

impl Error {
    pub(crate) fn malformed(what: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn failed(check: Check, reason: impl Into<String>) -> Self {
        Self::Failed {
            check,
            reason: reason.into(),
        }
    }

    /// Attribute an engine error to the step that raised it.
    pub(crate) fn from_engine(source: sigstore_verify::Error) -> Self {
        use sigstore_verify::{CertificateError, TimestampError, TransparencyLogError};
        use sigstore_verify::Error as E;
        let check = match &source {
            E::UnsupportedBundle(_) => return Self::Unsupported(source.to_string()),
            E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => {
                return Self::TrustRoot(source)
            }
            E::Certificate(CertificateError::Sct(_)) => Check::CertificateTransparency,
            E::Certificate(_) => Check::CertificateChain,
            E::TransparencyLog(TransparencyLogError::InclusionPromise(_)) => {
                Check::InclusionPromise
            }
            E::TransparencyLog(
                TransparencyLogError::EntryMismatch(_) | TransparencyLogError::MalformedEntry(_),
            ) => Check::LogEntryConsistency,
            E::TransparencyLog(_) => Check::TransparencyLog,
            E::Timestamp(TimestampError::NoVerifiedTimestamp(_)) => Check::SignedTime,
            E::Timestamp(_) => Check::TimestampAuthority,
            E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => Check::Identity,
            E::SignatureInvalid(_) | E::Crypto(_) => Check::Signature,
            // A digest of another algorithm than the one signed cannot
            // be the signed artifact: a binding failure, not a limitation.
            E::ArtifactMismatch(_) | E::ArtifactRead(_) | E::UnsupportedArtifact(_) => {
                Check::ArtifactBinding
            }
            _ => Check::BundleFormat,
        };
        Self::Rejected { check, source }
    }

    /// The check that failed, when one did.
    pub fn check(&self) -> Option<Check> {
        match self {
            Self::Rejected { check, .. } | Self::Failed { check, .. } => Some(*check),
            Self::Malformed { .. } | Self::TooLarge { .. } => Some(Check::BundleFormat),
            Self::IdentityMismatch { .. }
            | Self::IssuerMismatch { .. }
            | Self::WorkflowClaimMismatch { .. } => Some(Check::Identity),
            Self::Unsupported(_) | Self::TrustRoot(_) | Self::Io { .. } | Self::Policy(_) => None,
            Self::Store(_) => None,
        }
    }

    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } | Self::TooLarge { .. } => ErrorKind::Malformed,
            Self::Rejected { .. } | Self::Failed { .. } => ErrorKind::Refused,
            Self::IdentityMismatch { .. }
            | Self::IssuerMismatch { .. }
            | Self::WorkflowClaimMismatch { .. } => ErrorKind::PolicyNotMet,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            // A policy file that cannot be used keeps verification from
            // running, like unusable trust material.
            Self::TrustRoot(_) | Self::Io { .. } | Self::Policy(_) => ErrorKind::Environment,
            Self::Store(_) => ErrorKind::Environment,
        }
    }
}
