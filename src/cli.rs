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
