//! Command-line flags. Each flag is documented once, here; `--help` and
//! docs/commands.md are written from the same text.

use crate::output::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Carry container images into air-gapped networks and prove, offline, that
/// they are exactly what their publishers signed.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a Sigstore bundle against a file or digest, offline.
    ///
    /// Exit 0 only when the signature, its certificate chain at signing time,
    /// its transparency-log proof and the signer's identity all verify;
    /// exit 1 with the failed check named otherwise; exit 2 if it could not run.
    VerifyBlob(VerifyBlobArgs),

    /// Verify a bundle inside the air gap: transfer signature, manifest,
    /// every blob, the trust root, every image against the policy, the
    /// incremental chain. Exit 0 only if every image passes.
    Verify(VerifyArgs),

    /// Show what a bundle carries, WITHOUT verifying it.
    Inspect(InspectArgs),

    /// Query the SBOMs a bundle carries.
    #[command(subcommand)]
    Sbom(SbomCommand),

    /// Sigstore trust roots: fetch a TUF snapshot (connected side) and verify
    /// it offline (disconnected side).
    #[command(subcommand)]
    Trust(TrustCommand),

    /// OSV advisories: fetch a snapshot to carry across the air gap
    /// (connected side).
    #[command(subcommand)]
    Advisories(AdvisoriesCommand),

    /// Match SBOM packages against advisories, offline: every SBOM a
    /// bundle carries against the advisories it carries (BUNDLE), or one
    /// SBOM against a snapshot (--sbom FILE --advisories DIR).
    ///
    /// A bundle is verified first: with --policy exactly as `verify` does
    /// (the findings then carry spec.vulnerabilities' decisions), without
    /// it its transfer signature (with --transfer-key) and every digest.
    /// The snapshot is checked first (every file against its index); each
    /// package URL is matched by its ecosystem's own version rules. Exit 0
    /// when the scan ran and nothing was refused; 1 when the bundle, an
    /// image (with --policy), the snapshot or the SBOM was refused; 2 if it
    /// could not run.
    Scan(ScanArgs),

    /// Transfer bundles: images by digest with all their evidence.
    #[command(subcommand)]
    Bundle(BundleCommand),

    /// The site's audit log of verify/load decisions.
    #[command(subcommand)]
    Audit(AuditCommand),

    /// The site's signing keys (cosign's formats).
    #[command(subcommand)]
    Key(KeyCommand),

    /// Push a bundle's images into the site's registry (or a directory that
    /// `airlock serve` serves), with their evidence, re-signed by the site.
    ///
    /// The bundle's content is checked first (every blob against the bundle
    /// manifest) and every byte is hashed again while it is pushed. Order:
    /// blobs, manifests, evidence, re-signatures, tags last; a second run
    /// uploads nothing. Exit 0 when loaded, 1 when the bundle was refused,
    /// 2 if it could not run (registry unreachable, bad key, usage).
    Load(LoadArgs),

    /// Check that an image in a registry carries a cosign signature by a key
    /// (the site's re-signature), offline from any transparency log.
    ///
    /// Exit 0 only if a signature by that key covers that digest; 1 if none
    /// does (missing, another key, another digest); 2 if it could not run.
    VerifyImage(VerifyImageArgs),

    /// Admission policies for the site's clusters.
    #[command(subcommand)]
    Policy(PolicyCommand),

    /// Rewrite Kubernetes manifests and Helm values to the mirror's images,
    /// pinned by digest, from a `load --mapping` file.
    ///
    /// Exit 0 when every image reference was known; 1 when some were not (or
    /// a file is not YAML), naming them; 2 if it could not run.
    Pin(PinArgs),

    /// Serve a verified bundle, or a directory written by `load --to dir:`,
    /// as a read-only OCI registry.
    ///
    /// Pull by tag and digest, HEAD, tags list, referrers API, catalog;
    /// every push or delete is refused. Binds 127.0.0.1 unless --listen
    /// says otherwise, and then needs TLS or --insecure-http.
    Serve(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write images by digest, with every signature, attestation, SBOM,
    /// referrer, Rekor proof and the trust root, onto transfer media
    /// (connected side).
    ///
    /// Every tag is resolved to a digest once. Evidence is collected for the
    /// image, its index and each platform child (cosign .sig/.att/.sbom
    /// tags, OCI 1.1 referrers, Sigstore bundles, Notation signatures, SBOM
    /// artifacts); SET-only cosign signatures get a fresh Rekor inclusion
    /// proof. Every signature and proof is verified before anything is
    /// written. Exit 0 when written, 1 when evidence was refused (the image
    /// and evidence named), 2 if it could not run (usage, network, disk, or
    /// a build without `connected`).
    Create(BundleCreateArgs),
}

/// Compression of an archive bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressArg {
    /// A bare tar.
    None,
    /// gzip (fixed header, fixed level).
    Gzip,
    /// zstd (fixed level, one thread).
    Zstd,
}

#[derive(Debug, Args)]
pub struct BundleCreateArgs {
    /// Images to bundle: a tag, a digest, or both (registry/repo:tag@sha256:...).
    #[arg(value_name = "REF", required_unless_present_any = ["images", "images_from_sbom"], conflicts_with = "images")]
    pub refs: Vec<String>,

    /// Also bundle every image this release SBOM names (SPDX 2.x tag-value
    /// or JSON, CycloneDX JSON; see `airlock sbom images`). An image the
    /// SBOM pins must resolve to that digest (and its tag, when the SBOM
    /// gives one, must still point there), or it is refused by name. The
    /// bundle carries the SBOM as airlock/images-from-sbom.
    #[arg(long, value_name = "FILE")]
    pub images_from_sbom: Option<PathBuf>,

    /// Refuse references that name only a tag: every image must be given
    /// by digest (registry/repo[:tag]@sha256:...).
    #[arg(long)]
    pub require_digest: bool,

    /// A file listing the images, one reference per line (blank lines and
    /// lines starting with # are ignored).
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,

    /// Where to write: a directory, or an archive when the name ends in
    /// .tar, .tar.gz or .tar.zst. Re-running with the same --out resumes an
    /// interrupted run without downloading again.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Keep only this platform of multi-platform images (repeatable); the
    /// index is kept byte for byte and the others are named as dropped.
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,

    /// Check every image against the site's import policy before writing,
    /// exactly as `airlock verify` will: missing evidence is found here.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Sign the bundle manifest with this ECDSA P-256 key (PKCS#8 PEM, or
    /// cosign's encrypted key as `airlock key generate` writes it: password
    /// from COSIGN_PASSWORD or a prompt), in cosign sign-blob format, as
    /// airlock/manifest.json.sig.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,

    /// Archive compression; must agree with the --out name (implied by it).
    #[arg(long, value_enum, value_name = "none|gzip|zstd")]
    pub compress: Option<CompressArg>,

    /// Split the archive into volumes of at most SIZE (e.g. 4GiB, 700MB;
    /// at least 1MiB): PATH.001, PATH.002, ...
    #[arg(long, value_name = "SIZE")]
    pub split_size: Option<String>,

    /// Make an incremental bundle: leave out blobs the bundle with this
    /// manifest carried or inherited, and record that this one extends it.
    #[arg(long, value_name = "PREVIOUS_BUNDLE_MANIFEST")]
    pub since: Option<PathBuf>,

    /// Rekor, for the inclusion proofs of cosign signatures that carry only
    /// a SET (default: the log the trust root lists under the SET's log ID,
    /// `tlogs[].baseUrl`; so a private Sigstore's own trusted root needs no
    /// flag).
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,

    /// The TUF repository to fetch the trust root from (default: Sigstore
    /// public-good, https://tuf-repo-cdn.sigstore.dev).
    #[arg(long, value_name = "URL", conflicts_with = "trusted_root")]
    pub tuf_mirror: Option<String>,

    /// The pinned TUF root to start from (default: the Sigstore public-good
    /// root v15 embedded in airlock).
    #[arg(long, value_name = "PINNED_ROOT.json", requires = "tuf_mirror")]
    pub tuf_root: Option<PathBuf>,

    /// No TUF: carry this hand-managed trusted_root.json as is (reports
    /// state that no TUF chain was checked).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Requests in flight at once: fetches, and Rekor entries in the
    /// self-check (default: 8).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,

    /// Record this creation time (RFC 3339) instead of the clock's: the
    /// only input that varies, so two runs give byte-identical bundles.
    #[arg(long, value_name = "RFC3339")]
    pub created: Option<jiff::Timestamp>,

    /// Carry FILE as an SBOM of IMAGE (one of the requested references;
    /// repeatable). SPDX 2.2/2.3 (JSON or tag-value) or CycloneDX 1.2-1.7.
    #[arg(long = "sbom", value_name = "FILE=IMAGE")]
    pub sboms: Vec<String>,

    /// Carry this OSV advisories snapshot (written by `airlock advisories
    /// fetch`), checked first, in airlock/advisories/: the site scans and
    /// gates offline against it.
    #[arg(long, value_name = "DIR")]
    pub advisories: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Refresh a TUF repository over HTTP(S) and write a self-contained
    /// snapshot directory to carry across the air gap (connected side).
    ///
    /// Every root version in the chain, timestamp, snapshot, targets,
    /// delegated roles, the targets airlock needs (trusted_root.json,
    /// signing_config*.json) and an index.json of what was fetched and when.
    /// The snapshot is written only if it verified at the reference time.
    /// Exit 0 when written, 1 when the repository was refused, 2 if it could
    /// not run (network, disk, usage, or a build without `connected`).
    Fetch(TrustFetchArgs),

    /// Verify a TUF snapshot offline, from a pinned root, with no network.
    ///
    /// Pinned root → newest root → timestamp → snapshot → targets → target
    /// hashes, with expiry evaluated at the reference time: --at, or by
    /// default the snapshot's fetch time if it is within --max-age of the
    /// local clock and not after it. Exit 0 when verified, 1 when refused
    /// (with the role and check named), 2 if it could not run.
    Verify(TrustVerifyArgs),
}

#[derive(Debug, Args)]
pub struct TrustFetchArgs {
    /// The TUF repository's metadata base URL.
    #[arg(long, value_name = "URL", default_value = trust_roots::PUBLIC_GOOD_TUF_MIRROR)]
    pub mirror: String,

    /// Where the repository's targets are (default: <mirror>/targets/).
    #[arg(long, value_name = "URL")]
    pub targets_url: Option<String>,

    /// The pinned TUF root to start from (default: the Sigstore public-good
    /// root v15 embedded in airlock).
    #[arg(long, value_name = "PINNED_ROOT.json")]
    pub root: Option<PathBuf>,

    /// Evaluate expiry at this RFC 3339 instant instead of the local clock
    /// (for recorded repositories, e.g. 2026-08-22T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<jiff::Timestamp>,

    /// Also carry this target (repeatable); trusted_root.json and the
    /// top-level signing_config*.json are always carried.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// The snapshot directory to create (must be absent or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct TrustVerifyArgs {
    /// The snapshot directory written by `airlock trust fetch`.
    #[arg(value_name = "DIR", required_unless_present = "trusted_root")]
    pub dir: Option<PathBuf>,

    /// The pinned TUF root the chain must descend from (default: the
    /// Sigstore public-good root v15 embedded in airlock).
    #[arg(long, value_name = "PINNED_ROOT.json")]
    pub root: Option<PathBuf>,

    /// Evaluate expiry at this RFC 3339 instant (e.g. the local clock's now:
    /// the strictest choice) instead of the snapshot's fetch time.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<jiff::Timestamp>,

    /// How old the snapshot's fetch time may be, against the local clock,
    /// to serve as the default reference time (e.g. 30d, 72h, 2w).
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    pub max_age: jiff::SignedDuration,

    /// The site's trust state directory: refuse versions lower than those
    /// last accepted here (rollback), and record this snapshot's on success.
    #[arg(long, value_name = "DIR", conflicts_with = "trusted_root")]
    pub state: Option<PathBuf>,

    /// No TUF: check and report a hand-managed trusted_root.json (the report
    /// states that no TUF chain was checked).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dir", "root", "at", "state"])]
    pub trusted_root: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

fn parse_duration(text: &str) -> Result<jiff::SignedDuration, String> {
    trust_roots::parse_max_age(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The Sigstore bundle (v0.1, v0.2 or v0.3 JSON).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,

    /// The signing certificate's identity (email, URI or username SAN), exactly.
    #[arg(long, value_name = "ID", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,

    /// A regular expression the certificate identity must match (unanchored,
    /// as in cosign: use ^ and $ to match the whole identity).
    #[arg(long, value_name = "RE", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,

    /// The OIDC issuer recorded in the certificate, exactly.
    #[arg(long, value_name = "URL", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,

    /// A regular expression the OIDC issuer must match (unanchored).
    #[arg(long, value_name = "RE", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,

    /// Verify with this public key (PEM) instead of a keyless identity.
    #[arg(long, value_name = "PUBLIC_KEY.pem")]
    pub key: Option<PathBuf>,

    /// Trust this trusted_root.json as given (no TUF chain) instead of the
    /// Sigstore public-good root embedded in airlock.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Accept a signature without a transparency-log inclusion proof
    /// (UNSAFE: nothing proves it was ever logged; for private instances
    /// without a log).
    #[arg(long)]
    pub insecure_ignore_tlog: bool,

    /// Accept a certificate without a verifiable SCT (UNSAFE: for private
    /// CAs without a certificate-transparency log).
    #[arg(long)]
    pub insecure_ignore_sct: bool,

    /// Also require an RFC 3161 timestamp from a trusted timestamp authority.
    #[arg(long)]
    pub require_timestamp: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,

    /// The signed artifact: a file, or its digest as sha256:<64 hex> (or sha512:<128 hex>).
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
}

/// How `verify` (and the commands that verify first) check a bundle.
#[derive(Debug, Args, Clone)]
pub struct VerifyFlags {
    /// The import policy (airlock ImportPolicy and/or ClusterImagePolicy
    /// YAML). Required to verify.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Emergency: admit images that fail only policy gates (no rule
    /// matches, registry not allowed, missing signature/attestation/SBOM,
    /// vulnerabilities), as far as the policy's spec.breakGlass allows.
    /// Integrity and cryptographic failures are never waived. REASON, the
    /// operator, the time and each image's waived gates go into the report
    /// and the audit log; loaded images are re-signed with annotations
    /// saying so.
    #[arg(long, value_name = "REASON")]
    pub break_glass: Option<String>,

    /// Who breaks glass (default: $AIRLOCK_OPERATOR, else $USER).
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,

    /// Require the bundle manifest to be signed by this transfer key (PEM).
    #[arg(long, value_name = "PUB.pem")]
    pub transfer_key: Option<PathBuf>,

    /// Accept a bundle that no pinned transfer key vouches for. Its image
    /// names and tags are then vouched for by nothing; the report records
    /// the transfer-signature check as waived.
    #[arg(long)]
    pub allow_unsigned_bundle: bool,

    /// The pinned TUF root the bundle's trust snapshot must descend from
    /// (default: the Sigstore public-good root embedded in airlock).
    #[arg(long, value_name = "PINNED_ROOT.json")]
    pub tuf_root: Option<PathBuf>,

    /// Use the site's own trusted_root.json instead of the bundle's trust
    /// material (no TUF chain; reports say so).
    #[arg(long, value_name = "FILE", conflicts_with = "tuf_root")]
    pub trusted_root: Option<PathBuf>,

    /// Evaluate TUF expiry at this RFC 3339 instant instead of the snapshot's
    /// fetch time.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<jiff::Timestamp>,

    /// How old the snapshot's fetch time may be to serve as the reference
    /// time (e.g. 30d, 72h).
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    pub max_age: jiff::SignedDuration,

    /// The site's state directory: the import ledger (incremental bundles)
    /// and TUF rollback floors.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// Write the JSON report here (whatever the outcome).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Parallel jobs (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// airlock's private work directory for reading archives (default: a
    /// fresh temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// How long commands show progress on stderr.
#[derive(Debug, Clone, Copy, Args)]
pub struct ProgressArgs {
    /// No progress on stderr: no bars, no phase lines (errors and refusals
    /// are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle: a directory, a .tar/.tar.gz/.tar.zst archive, or any
    /// volume of a split set (the others are found beside it).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,

    #[command(flatten)]
    pub flags: VerifyFlags,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle (directory, archive or volume).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum SbomCommand {
    /// List the SBOMs a bundle carries, per image.
    List(SbomArgs),
    /// Which images contain package NAME (at VERSION)?
    Query(SbomQueryArgs),
    /// The image references a release SBOM names (SPDX 2.x tag-value or
    /// JSON, CycloneDX JSON), one per line, digest-pinned where the SBOM
    /// gives a digest. Exit 1 when the SBOM is refused (a truncated or
    /// disagreeing digest, an image with no registry), naming the package.
    Images(SbomImagesArgs),
}

#[derive(Debug, Args)]
pub struct SbomImagesArgs {
    /// The SBOM file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The bundle (directory, archive or volume).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,

    /// Read the SBOMs without verifying the bundle against a policy (their
    /// bytes are still checked against the bundle manifest). Without it,
    /// the bundle must verify first (give --policy).
    #[arg(long)]
    pub unverified: bool,

    #[command(flatten)]
    pub verify: VerifyFlags,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct SbomQueryArgs {
    #[command(flatten)]
    pub common: SbomArgs,

    /// A package name, a purl prefix (pkg:…), optionally @VERSION.
    #[arg(value_name = "NAME[@VERSION]")]
    pub package: String,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of STATE/audit.jsonl against STATE/audit.head.
    ///
    /// Exit 0 when every entry chains to the one before and the head names
    /// the last; 1 when an entry was edited, deleted or the log truncated
    /// (named by line number); 2 if the log could not be read.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The site's state directory (as given to verify/load --state).
    #[arg(value_name = "STATE")]
    pub state: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an ECDSA P-256 key pair: NAME.key in cosign's encrypted format
    /// (ENCRYPTED SIGSTORE PRIVATE KEY) and NAME.pub (PEM).
    ///
    /// The password comes from COSIGN_PASSWORD, or is asked for twice on
    /// the terminal. Existing files are never overwritten.
    Generate(KeyGenerateArgs),
}

#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Write NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME", default_value = "cosign")]
    pub output_key_prefix: PathBuf,
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Reach this registry (host[:port]) over plain HTTP (repeatable). Every
    /// other registry is HTTPS.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Registry credentials: a docker config.json (default:
    /// $DOCKER_CONFIG/config.json, else ~/.docker/config.json). Its
    /// credHelpers and credsStore run docker-credential-NAME helpers; auths
    /// entries give auth, username/password or identitytoken.
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,

    /// Also trust these CA certificates (PEM) for registries' HTTPS, beside
    /// the system's (repeatable; for a registry behind a private CA).
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub registry_cas: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The bundle: a directory, a tar / tar.gz / tar.zst, or the first
    /// volume of a split set.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,

    /// Where to: REGISTRY[/PREFIX] (e.g. registry.site:5000/mirror), or
    /// dir:PATH for an OCI layout that `airlock serve dir:PATH` serves.
    #[arg(long, value_name = "REGISTRY[/PREFIX]|dir:PATH")]
    pub to: String,

    /// Send repositories under FROM to TO instead of keeping their name
    /// (repeatable; the longest FROM wins; TO may be empty to strip FROM).
    #[arg(long = "repo-map", value_name = "FROM=TO")]
    pub repo_maps: Vec<String>,

    /// Re-sign every image and platform child with this key (PKCS#8 PEM, or
    /// cosign's encrypted key: password from COSIGN_PASSWORD or a prompt).
    #[arg(long, value_name = "KEY")]
    pub resign_key: Option<PathBuf>,

    /// The REGISTRY[/PREFIX] workloads pull the mirror by, if not the one
    /// given to --to: signatures then name it as their docker-reference.
    #[arg(long, value_name = "NAME", requires = "resign_key")]
    pub resign_identity: Option<String>,

    /// Write one line per image, `SOURCE_REF TARGET_REF@sha256:…`, for
    /// `airlock pin`.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// If some images fail verification, load the ones that passed anyway
    /// (they are reported as a partial load, and the bundle is not recorded
    /// in the import ledger). Without it, nothing is pushed unless every
    /// image passes.
    #[arg(long)]
    pub partial: bool,

    /// How the bundle is verified first, in this process (the same flags as
    /// `airlock verify`; `--state DIR` also records the bundle in the
    /// site's import ledger once it is loaded).
    #[command(flatten)]
    pub verify: VerifyFlags,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct VerifyImageArgs {
    /// The image, by digest: REGISTRY/REPOSITORY[:TAG]@sha256:…
    #[arg(value_name = "REF@DIGEST")]
    pub image: String,

    /// The public key (PEM) the signature must verify with.
    #[arg(long, value_name = "PUB.pem")]
    pub key: PathBuf,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a policy-controller ClusterImagePolicy and/or a Kyverno
    /// ClusterPolicy admitting exactly the mirror's images signed by the
    /// site's key (YAML on stdout).
    Export(PolicyExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PolicyFormat {
    /// policy-controller ClusterImagePolicy (policy.sigstore.dev/v1beta1).
    Cip,
    /// Kyverno ClusterPolicy (kyverno.io/v1) with verifyImages.
    Kyverno,
    /// Both, as two YAML documents.
    #[default]
    Both,
}

#[derive(Debug, Args)]
pub struct PolicyExportArgs {
    /// The site's public key (PEM).
    #[arg(long, value_name = "PUB.pem")]
    pub key: PathBuf,

    /// The mirror: REGISTRY[/PREFIX], as workloads pull it.
    #[arg(long, value_name = "REGISTRY[/PREFIX]")]
    pub registry: String,

    /// Also admit images signed keylessly by this publisher identity
    /// (repeatable; OIDC issuer URL = certificate identity).
    #[arg(long = "identity", value_name = "ISSUER=SUBJECT")]
    pub identities: Vec<String>,

    /// Which policy documents.
    #[arg(long, value_enum, default_value_t)]
    pub format: PolicyFormat,

    /// metadata.name of the policies.
    #[arg(long, value_name = "NAME", default_value = "airlock-mirror")]
    pub name: String,

    /// Refuse images `load` re-signed after break-glass (their site
    /// signature says dev.airlock.break-glass: "true"). Kyverno only:
    /// policy-controller cannot read signature annotations.
    #[arg(long, conflicts_with = "break_glass_namespaces")]
    pub refuse_break_glass: bool,

    /// Admit break-glass images only in this namespace (repeatable);
    /// elsewhere they are refused. Kyverno only.
    #[arg(long = "break-glass-namespace", value_name = "NAMESPACE")]
    pub break_glass_namespaces: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PinArgs {
    /// The mapping file written by `airlock load --mapping`.
    #[arg(long, value_name = "FILE")]
    pub mapping: PathBuf,

    /// YAML files, or directories searched for *.yaml / *.yml.
    #[arg(value_name = "FILE|DIR", required = true)]
    pub paths: Vec<PathBuf>,

    /// Rewrite the files in place.
    #[arg(long, conflicts_with = "output_dir")]
    pub in_place: bool,

    /// Write rewritten files under DIR (same relative paths).
    #[arg(long = "output", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Rewrite what is known even if some references are not (still listed).
    #[arg(long)]
    pub allow_unknown: bool,

    /// Report format (the report goes to stderr for text, stdout for json
    /// when files are written).
    #[arg(long = "report", value_enum, default_value_t)]
    pub report: Format,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A bundle (directory or archive; verified first), or dir:PATH, a
    /// layout written by `airlock load --to dir:PATH`.
    #[arg(value_name = "BUNDLE|dir:STORE")]
    pub source: String,

    /// Address to listen on (default 127.0.0.1 on a free port; the address
    /// is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,

    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Allow plain HTTP on a non-loopback address (UNSAFE: pulls and
    /// credentials travel in clear).
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_http: bool,

    /// Require HTTP basic auth from this htpasswd file (bcrypt entries only).
    #[arg(long, value_name = "FILE")]
    pub htpasswd: Option<PathBuf>,

    /// How a bundle is verified before it is served (the same flags as
    /// `airlock verify`; not used for dir:STORE).
    #[command(flatten)]
    pub verify: VerifyFlags,
}

#[derive(Debug, Subcommand)]
pub enum AdvisoriesCommand {
    /// Download OSV advisory data and write a snapshot directory: the files
    /// as fetched plus an index.json of sources, fetch time, record counts
    /// and every file's sha256 and size (connected side).
    ///
    /// Each --source is an OSV all.zip URL or a directory URL (tried as
    /// DIR/all.zip, then DIR/modified_id.csv, then DIR/'s listing). Every
    /// record is parsed before anything is written. Exit 0 when written, 1
    /// when a source was refused (not OSV data, too large), 2 if it could
    /// not run (network, disk, usage, or a build without `connected`).
    Fetch(AdvisoriesFetchArgs),
}

#[derive(Debug, Args)]
pub struct AdvisoriesFetchArgs {
    /// The snapshot directory to create (must be absent or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Where to fetch from (repeatable), e.g.
    /// https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip
    #[arg(long = "source", value_name = "URL", required = true)]
    pub sources: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The bundle to scan (directory, archive or volume), carrying
    /// advisories (`bundle create --advisories`).
    #[arg(value_name = "BUNDLE", conflicts_with_all = ["sbom", "advisories"], required_unless_present = "sbom")]
    pub bundle: Option<PathBuf>,

    /// One SBOM to scan (SPDX 2.2/2.3 JSON or tag-value, CycloneDX JSON).
    #[arg(long, value_name = "FILE", requires = "advisories")]
    pub sbom: Option<PathBuf>,

    /// The advisories snapshot for --sbom (written by `airlock advisories
    /// fetch`).
    #[arg(long, value_name = "DIR", requires = "sbom")]
    pub advisories: Option<PathBuf>,

    #[command(flatten)]
    pub verify: VerifyFlags,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Format,
}
