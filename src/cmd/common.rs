//! What several commands share: the environment and the terminal (which
//! only the CLI reads), registry settings, opening a bundle.

use crate::cli::RegistryArgs;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use verifier::keys::{Password, SigningKey};

/// The password for an encrypted key: `COSIGN_PASSWORD` (as cosign reads
/// it, an empty value included), else a prompt on the terminal; `confirm`
/// asks twice.
pub fn password(purpose: &str, confirm: bool) -> anyhow::Result<Password> {
    if let Some(value) = std::env::var_os("COSIGN_PASSWORD") {
        let value = value.into_string().map_err(|_| anyhow::anyhow!("COSIGN_PASSWORD is not UTF-8"))?;
        return Ok(Password::new(value));
    }
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password(format!("Enter password for {purpose}: "))
            .context("no COSIGN_PASSWORD and no terminal to ask for the key password on")?,
    );
    if confirm {
        let second = zeroize::Zeroizing::new(
            rpassword::prompt_password(format!("Enter password for {purpose} again: ")).context("reading the password")?,
        );
        if *first != *second {
            bail!("the passwords do not match");
        }
    }
    Ok(Password::new(first.as_bytes().to_vec()))
}

/// Read a signing key file, asking for its password only when it is
/// encrypted.
pub fn signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).with_context(|| format!("cannot read key {}", path.display()))?);
    let encrypted = SigningKey::is_encrypted(&bytes).with_context(|| format!("key {}", path.display()))?;
    let password = if encrypted { Some(password(&format!("key {}", path.display()), false)?) } else { None };
    SigningKey::from_pem(&bytes, password.as_ref()).with_context(|| format!("key {}", path.display()))
}

/// A PEM public key file.
pub fn public_key(path: &Path) -> anyhow::Result<verifier::check::signature::PublicKey> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read public key {}", path.display()))?;
    verifier::check::signature::PublicKey::from_pem(&pem).with_context(|| format!("public key {}", path.display()))
}

/// Registry client settings from the flags and the environment.
pub fn remote_options(args: &RegistryArgs) -> anyhow::Result<oci::remote::RemoteOptions> {
    let config = match &args.registry_config {
        Some(path) => Some(path.clone()),
        None => std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))),
    };
    let credentials = match config {
        Some(path) => oci::remote::Credentials::from_docker_config(&path)?,
        None => oci::remote::Credentials::anonymous(),
    };
    Ok(oci::remote::RemoteOptions {
        credentials,
        insecure_hosts: args.insecure_registries.clone(),
        ..oci::remote::RemoteOptions::default()
    })
}

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// Where an archive bundle is unpacked while it is checked: the operator's
/// directory, or a temporary one removed when this value is dropped.
pub enum WorkDir {
    Given(PathBuf),
    Temporary(tempfile::TempDir),
}

impl WorkDir {
    pub fn new(given: Option<&Path>) -> anyhow::Result<Self> {
        Ok(match given {
            Some(path) => Self::Given(path.to_path_buf()),
            None => Self::Temporary(tempfile::Builder::new().prefix("airlock-work-").tempdir()?),
        })
    }

    /// The directory `content::open` unpacks into: a fresh subdirectory of a
    /// temporary directory, since it must not exist yet or be empty.
    pub fn path(&self) -> PathBuf {
        match self {
            Self::Given(path) => path.clone(),
            Self::Temporary(dir) => dir.path().join("bundle"),
        }
    }
}

/// Open a bundle and check its content (transfer signature, manifest,
/// every blob). The full verification will sit here (the lead's
/// `verifier::verify`); until then, checked content is what is loaded.
pub fn open_bundle(
    bundle: &Path,
    transfer_key: Option<&Path>,
    work: &WorkDir,
    jobs: usize,
) -> verifier::Result<verifier::bundle::content::CheckedContent> {
    let key = match transfer_key {
        Some(path) => Some(public_key(path).map_err(|e| verifier::Error::Invalid(format!("{e:#}")))?),
        None => None,
    };
    let options = verifier::bundle::content::OpenOptions { transfer_key: key.as_ref(), jobs: jobs.max(1), work_dir: &work.path() };
    verifier::bundle::content::open(bundle, &options, &verifier::bundle::content::NoProgress)
}
