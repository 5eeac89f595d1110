//! `airlock key generate`.

use crate::cli::KeyGenerateArgs;
use crate::exit::Outcome;
use anyhow::{bail, Context};
use std::io::Write;
use keys::SigningKey;
use secrecy::ExposeSecret;

pub fn generate(args: KeyGenerateArgs) -> anyhow::Result<Outcome> {
    let prefix = args.output_key_prefix.as_os_str().to_string_lossy().into_owned();
    let key_path = std::path::PathBuf::from(format!("{prefix}.key"));
    let pub_path = std::path::PathBuf::from(format!("{prefix}.pub"));
    for path in [&key_path, &pub_path] {
        if path.exists() {
            bail!("{} exists; refusing to overwrite a key", path.display());
        }
    }
    let password = super::common::password("the new private key", true)?;
    let key = SigningKey::generate()?;
    let encrypted = key.to_encrypted_pem(&password)?;
    write_new(&key_path, encrypted.expose_secret().as_bytes(), 0o600)?;
    write_new(&pub_path, key.public_key_pem().as_bytes(), 0o644)?;
    eprintln!("Private key written to {}", key_path.display());
    eprintln!("Public key written to {}", pub_path.display());
    println!("{}", key.public_key().fingerprint());
    Ok(Outcome::Success)
}

/// Create `path` (never replacing a file) with `mode`, and write `bytes`.
fn write_new(path: &std::path::Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}
