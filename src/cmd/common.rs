//! What several commands share: the environment and the terminal (which
//! only the CLI reads), registry settings, opening a bundle.

use crate::cli::RegistryArgs;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use trust_roots::{PinnedRoot, ReferenceTime, TimePolicy};
use keys::{Password, PublicKey, SigningKey};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

/// The password for an encrypted key: `COSIGN_PASSWORD` (as cosign reads
/// it, an empty value included), else a prompt on the terminal; `confirm`
/// asks twice.
pub fn password(purpose: &str, confirm: bool) -> anyhow::Result<Password> {
    if let Some(value) = std::env::var_os("COSIGN_PASSWORD") {
        let value = value.into_string().map_err(|_| anyhow::anyhow!("COSIGN_PASSWORD is not UTF-8"))?;
        return Ok(Password::from(value));
    }
    let first = SecretString::from(
        rpassword::prompt_password(format!("Enter password for {purpose}: "))
            .context("no COSIGN_PASSWORD and no terminal to ask for the key password on")?,
    );
    if confirm {
        let second = SecretString::from(
            rpassword::prompt_password(format!("Enter password for {purpose} again: ")).context("reading the password")?,
        );
        if first.expose_secret() != second.expose_secret() {
            bail!("the passwords do not match");
        }
    }
    Ok(first)
}

/// Read a signing key file, asking for its password only when it is
/// encrypted.
pub fn signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let bytes = SecretSlice::from(std::fs::read(path).with_context(|| format!("cannot read signing key {}", path.display()))?);
    let bytes = bytes.expose_secret();
    let encrypted = SigningKey::is_encrypted(bytes).with_context(|| format!("signing key {}", path.display()))?;
    let password = if encrypted { Some(password(&format!("key {}", path.display()), false)?) } else { None };
    SigningKey::from_pem(bytes, password.as_ref()).with_context(|| format!("signing key {}", path.display()))
}

/// A PEM public key file.
pub fn public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read public key {}", path.display()))?;
    PublicKey::from_pem(&pem).with_context(|| format!("public key {}", path.display()))
}

/// Registry client settings from the flags and the environment: the
/// docker config `--registry-config` names (which must exist), else
/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (either may
/// be absent: anonymous); `--registry-ca` files read now, so a bad one
/// fails before any network.
pub fn remote_options(args: &RegistryArgs) -> anyhow::Result<oci::remote::RemoteOptions> {
    let config = match &args.registry_config {
        Some(path) => {
            if !path.is_file() {
                bail!("--registry-config {}: no such file", path.display());
            }
            Some(path.clone())
        }
        None => std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))),
    };
    let credentials = match config {
        Some(path) => oci::remote::Credentials::from_docker_config(&path)?,
        None => oci::remote::Credentials::anonymous(),
    };
    let mut ca_certificates = oci::remote::CaCertificates::default();
    for path in &args.registry_cas {
        ca_certificates.extend(oci::remote::CaCertificates::from_pem_file(path).with_context(|| format!("--registry-ca {}", path.display()))?);
    }
    Ok(oci::remote::RemoteOptions {
        credentials,
        insecure_hosts: args.insecure_registries.clone(),
        ca_certificates,
        ..oci::remote::RemoteOptions::default()
    })
}

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// The local clock, to the second: the CLI reads it, libraries never do.
pub fn now() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now)
}

/// The pinned TUF root: the operator's file, or the embedded public-good root.
pub fn pinned_root(path: Option<&Path>) -> trust_roots::Result<PinnedRoot> {
    match path {
        Some(path) => PinnedRoot::from_file(path),
        None => PinnedRoot::public_good(),
    }
}

/// `--at` wins; otherwise the snapshot's fetch time, bounded by `max_age`.
pub fn time_policy(at: Option<jiff::Timestamp>, max_age: jiff::SignedDuration) -> TimePolicy {
    match at {
        Some(at) => TimePolicy::At(ReferenceTime::operator(at)),
        None => TimePolicy::FetchTime { local_clock: now(), max_age },
    }
}

/// `--jobs`, defaulting to the number of cores.
pub fn jobs(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1)
}
