//! The transfer signature: the bundle manifest signed with the connected
//! side's transfer key, checked against the key the site pinned before
//! anything else in the bundle is read.

use crate::{Result, TransferError};
use keys::PublicKey;

/// A signature file is one line of base64.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

/// Check `signature_file` (base64 DER ECDSA, as `cosign sign-blob` writes)
/// over the exact manifest bytes.
pub fn verify(manifest_bytes: &[u8], signature_file: &[u8], key: &PublicKey) -> Result<()> {
    if signature_file.len() > MAX_SIGNATURE_BYTES {
        return Err(TransferError::TooLarge { limit: MAX_SIGNATURE_BYTES }.into());
    }
    let text = std::str::from_utf8(signature_file)
        .map_err(|_| TransferError::NotText)?;
    key.verify_base64(manifest_bytes, text)
        .map_err(|source| TransferError::NotByKey { key: key.fingerprint().to_string(), source }.into())
}
