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
    /// The bundle manifest is absent, out of place or inconsistent.
    #[error("bundle-manifest: {0}")]
    Manifest(#[from] ManifestError),
    /// The transfer signature over the bundle manifest does not verify.
    #[error("transfer-signature: {0}")]
    Transfer(#[from] TransferError),
    /// A cosign simple-signing payload names another image than the one
    /// it is attached to.
    #[error("payload-digest: the signed payload names manifest {found}, not this image {expected}")]
    PayloadDigest {
        /// The image the signature is attached to.
        expected: oci::Digest,
        /// The manifest digest the signed payload names.
        found: oci::Digest,
    },
    /// `verify-image` found no signature by the key.
    #[error("{}: {}", .0.check(), .0)]
    SiteSignature(#[from] crate::signed_image::SiteSignatureError),
    /// A DSSE payload is not an in-toto statement airlock reads.
    #[error("statement: {0}")]
    Statement(#[from] crate::evidence::statement::StatementError),
    /// A signature layer verified but carries no simple-signing payload,
    /// so nothing binds it to the image.
    #[error("payload-digest: layer {layer} has no signed payload")]
    NoSignedPayload {
        /// The signature layer.
        layer: oci::Digest,
    },
}

/// Why the bundle manifest (`airlock-bundle.json`) was refused, before
/// anything it lists is read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A bundle directory without a manifest.
    #[error("{} is missing", crate::bundle::manifest::PATH)]
    Missing,
    /// An archive that ends before any manifest.
    #[error("the archive has no bundle manifest")]
    NotInArchive,
    /// An archive whose first entries are not the manifest (and its
    /// signature), so nothing could be checked before it is written.
    #[error("the archive does not start with a bundle manifest")]
    NotAtStart,
    /// An entry other than the signature comes before the manifest.
    #[error("{path} comes before the bundle manifest; the manifest (and its signature) must come first")]
    EntryBefore {
        /// The entry found first.
        path: String,
    },
    /// The archive could not be read as far as the manifest.
    #[error("{0}")]
    Unreadable(#[source] Box<Error>),
    /// The manifest does not parse, or contradicts itself.
    #[error("{reason}")]
    Invalid {
        /// The first inconsistency.
        reason: String,
    },
}

/// Why the transfer signature was refused. Each variant names the pinned
/// key by its fingerprint where one is involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The signature file is larger than any one-line signature.
    #[error("signature file is larger than {limit} bytes")]
    TooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// The signature file is not UTF-8 text.
    #[error("signature file is not text")]
    NotText,
    /// A transfer key is pinned but the bundle carries no signature.
    #[error("the bundle is not signed, but transfer key {key} is required")]
    Unsigned {
        /// The pinned key's fingerprint.
        key: String,
    },
    /// The signature is not by the pinned key over these manifest bytes.
    #[error("the bundle manifest is not signed by transfer key {key}: {source}")]
    NotByKey {
        /// The pinned key's fingerprint.
        key: String,
        /// Why the signature did not verify.
        source: keys::KeyError,
    },
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
    /// A blob the bundle does not carry was asked for.
    #[error("blob {digest} is not carried by this bundle")]
    NotCarried {
        /// The blob.
        digest: oci::Digest,
    },
    /// A file the bundle manifest does not list: asked for, or present.
    #[error("{path} is not listed in the bundle manifest")]
    NotListed {
        /// The path, relative to the bundle.
        path: String,
    },
    /// A file the bundle manifest lists is absent.
    #[error("{path} is missing{}", if *from_archive { " from the archive" } else { "" })]
    Missing {
        /// The path, relative to the bundle.
        path: String,
        /// Whether the bundle is an archive (else a directory).
        from_archive: bool,
    },
    /// An archive entry appears more than once.
    #[error("{path} appears twice in the archive")]
    Duplicate {
        /// The entry's path.
        path: String,
    },
    /// A file's size differs from the one the manifest lists.
    #[error("{path}: {} {found} bytes, the manifest {expected}", if *from_archive { "the archive says" } else { "size" })]
    WrongSize {
        /// The path, relative to the bundle.
        path: String,
        /// The size the manifest lists.
        expected: u64,
        /// The size on disk, or the archive header's size.
        found: u64,
        /// Whether `found` comes from an archive header.
        from_archive: bool,
    },
    /// A file's content does not hash to the digest the manifest lists.
    #[error("{path}: {source}")]
    Digest {
        /// The path, relative to the bundle.
        path: String,
        /// Expected and found digest (or size).
        source: oci::DigestError,
    },
    /// A file could not be read while it was being checked.
    #[error("{path}: {source}")]
    Unreadable {
        /// The path, relative to the bundle.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The archive itself could not be read.
    #[error("reading the archive: {0}")]
    Archive(#[source] std::io::Error),
    /// A checked file differs when read again (replaced after the check).
    #[error("{what} changed after it was checked: {source}")]
    Changed {
        /// `blob <digest>` or the file's path.
        what: String,
        /// The re-verification error (digest or size mismatch).
        source: std::io::Error,
    },
    /// A carried image manifest or index does not parse.
    #[error("{source}")]
    ImageManifest {
        /// The blob.
        digest: oci::Digest,
        /// Why it does not parse.
        source: oci::Error,
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
            Self::Manifest(_) => Some(Check::BundleManifest),
            Self::Transfer(_) => Some(Check::TransferSignature),
            Self::PayloadDigest { .. } | Self::NoSignedPayload { .. } => Some(Check::PayloadDigest),
            Self::Statement(_) => Some(Check::Statement),
            Self::SiteSignature(e) => Some(e.check()),
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
            Self::Content(_)
            | Self::Transfer(_)
            | Self::PayloadDigest { .. }
            | Self::NoSignedPayload { .. }
            | Self::Statement(_)
            | Self::SiteSignature(_) => ErrorKind::Refused,
            Self::Manifest(ManifestError::Unreadable(inner)) => inner.kind(),
            Self::Manifest(_) => ErrorKind::Refused,
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
