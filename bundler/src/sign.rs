//! The sign phase: the transfer signature over the manifest's exact bytes
//! (`airlock/manifest.json.sig`, `cosign sign-blob` format), with the key
//! read from `--sign-key` (and decrypted) by the caller before the network. Without a key the bundle is
//! unsigned and the site relies on how the media travelled.

use crate::error::{Error, Result};
use crate::progress::Progress;
use keys::SigningKey;
use crate::write::{layout, Staged};
use verifier::bundle::manifest as format;

/// Sign `staged` with `key`, if one was given; the signature written.
pub fn manifest(staged: &Staged, key: Option<&SigningKey>, progress: &dyn Progress) -> Result<Option<String>> {
    let signature = key
        .map(|k| k.sign_base64(&staged.bytes))
        .transpose()
        .map_err(|e| Error::Unsupported(format!("signing the bundle manifest failed: {e}")))?;
    if let Some(signature) = &signature {
        layout::write_atomic(&staged.root.join(format::SIGNATURE_PATH), signature.as_bytes())?;
    }
    progress.advance(1);
    Ok(signature)
}
