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
    /// The carried advisories snapshot reads back: every file matches its
    /// index, every record parses.
    Advisories,
    /// The image's SBOM packages pass the policy's `spec.vulnerabilities`.
    Vulnerabilities,
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
            Self::Advisories => "advisories",
            Self::Vulnerabilities => "vulnerabilities",
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
    /// The bundle's content is not what its manifest says.
    #[error("{0}")]
    Content(#[from] ContentError),
}

/// Why a bundle's content was refused: its files, its layout against its
/// manifest, or the archive it came in. Each variant names the file, blob
/// or entry, with what was expected and found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// A path in the bundle leads somewhere a bundle may not: a symbolic
    /// link, a special file, a name that is not a plain relative path.
    #[error("{path}: {reason}")]
    NotConfined {
        /// The path, relative to the bundle.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The work directory cannot hold what the archive declares.
    #[error(
        "the work directory {} has {} free, but this bundle needs {} to be read into it; \
         give --work-dir on a filesystem with room",
        work_dir.display(), human(*available), human(*needed)
    )]
    InsufficientSpace {
        /// The work directory.
        work_dir: PathBuf,
        /// Bytes the manifest declares (every carried blob and file).
        needed: u64,
        /// Bytes free there.
        available: u64,
    },
    /// A compressed archive expanded beyond the bound.
    #[error(transparent)]
    Expansion(crate::bundle::archive::Expansion),
    /// A file every bundle must have is not listed in its manifest.
    #[error("{path} is not listed in the bundle manifest; every bundle is an OCI image layout and must carry it")]
    MissingLayoutFile {
        /// `oci-layout` or `index.json`.
        path: &'static str,
    },
    /// `oci-layout` is not the one the format specifies.
    #[error("oci-layout is {found:?}, expected {expected:?}")]
    OciLayout {
        /// What the format specifies.
        expected: String,
        /// What the bundle carries (cut short).
        found: String,
    },
    /// `index.json` differs from the index the bundle manifest implies.
    #[error("index.json does not match the bundle manifest: {difference}")]
    IndexMismatch {
        /// The first difference: an entry missing, extra or changed.
        difference: String,
    },
    /// A blob is listed that no image, platform child, evidence or SBOM of
    /// the bundle reaches.
    #[error("blob {digest} ({size} bytes, {}) is listed but no image, platform, evidence or SBOM in the bundle refers to it", if *carried { "carried" } else { "left out" })]
    UnreferencedBlob {
        /// Its digest.
        digest: oci::Digest,
        /// Its declared size.
        size: u64,
        /// Whether it is carried.
        carried: bool,
    },
    /// A platform child declared dropped is carried all the same.
    #[error("image {reference}: platform {platform} ({digest}) is declared dropped, but the bundle carries it")]
    DroppedButCarried {
        /// The image.
        reference: String,
        /// `os/arch[/variant]`.
        platform: String,
        /// The child.
        digest: oci::Digest,
    },
    /// A platform the manifest lists is not a child of the image's index.
    #[error("image {reference}: platform {platform} ({digest}) is not a child of its index")]
    NotAChild {
        /// The image.
        reference: String,
        /// `os/arch[/variant]`.
        platform: String,
        /// The platform's digest.
        digest: oci::Digest,
    },
    /// A manifest gives a blob another size than the bundle manifest lists.
    #[error("blob {digest}: manifest {referrer} says {referenced} bytes, the bundle manifest lists {listed}")]
    SizeMismatch {
        /// The blob.
        digest: oci::Digest,
        /// The manifest or index that references it.
        referrer: oci::Digest,
        /// The size in that reference.
        referenced: u64,
        /// The size in `blobs`.
        listed: u64,
    },
    /// A layer of an evidence manifest is not the kind the bundle files the
    /// evidence as: a DSSE attestation filed as a signature (or the
    /// reverse), an SBOM attachment that carries no SBOM. Evidence is what
    /// its content is, never what its label says.
    #[error("image {reference}: evidence {manifest} is filed as {filed}, but its layer {layer} is {found}: refused (evidence counts for what its content is, never for its label)")]
    EvidenceKind {
        /// The image.
        reference: String,
        /// The evidence manifest.
        manifest: oci::Digest,
        /// The offending layer.
        layer: oci::Digest,
        /// The kind the bundle manifest (or the tag it came from) claims.
        filed: &'static str,
        /// What the layer is, by its media type.
        found: String,
    },
    /// `sboms.tar.gz` differs from the SBOMs the manifest lists.
    #[error("{} does not match the SBOMs the bundle manifest lists: {difference}", crate::bundle::manifest::SBOMS_PATH)]
    SbomArchive {
        /// The first difference.
        difference: String,
    },
}

/// Bytes for people: `1.5 GiB (1610612736 bytes)`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = "bytes";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if unit == "bytes" {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {unit} ({bytes} bytes)")
    }
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
            Self::Content(_) => Some(Check::Content),
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
            Self::Content(ContentError::InsufficientSpace { .. }) => ErrorKind::Environment,
            Self::Content(_) => ErrorKind::Refused,
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
