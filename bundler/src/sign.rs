//! The sign phase: the transfer signature over the manifest's exact bytes
//! (`airlock/manifest.json.sig`, `cosign sign-blob` format), with the key
//! read from `--sign-key` before the network. Without a key the bundle is
//! unsigned and the site relies on how the media travelled.

use crate::error::Result;
use crate::progress::Progress;
use crate::write::manifest::SigningKey;
use crate::write::{layout, Staged};
use verifier::bundle::manifest as format;

/// Sign `staged` with `key`, if one was given; the signature written.
pub fn manifest(staged: &Staged, key: Option<&SigningKey>, progress: &dyn Progress) -> Result<Option<String>> {
    let signature = key.map(|k| k.sign(&staged.bytes)).transpose()?;
    if let Some(signature) = &signature {
        layout::write_atomic(&staged.root.join(format::SIGNATURE_PATH), signature.as_bytes())?;
    }
    progress.advance(1);
    Ok(signature)
}
