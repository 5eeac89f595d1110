//! The transfer signature: the bundle manifest signed with the connected
//! side's transfer key, checked against the key the site pinned before
//! anything else in the bundle is read.

use crate::{Check, Error, Result};
use keys::PublicKey;

/// A signature file is one line of base64.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

/// Check `signature_file` (base64 DER ECDSA, as `cosign sign-blob` writes)
/// over the exact manifest bytes.
pub fn verify(manifest_bytes: &[u8], signature_file: &[u8], key: &PublicKey) -> Result<()> {
    if signature_file.len() > MAX_SIGNATURE_BYTES {
        return Err(Error::failed(Check::TransferSignature, "signature file is too large"));
    }
    let text = std::str::from_utf8(signature_file)
        .map_err(|_| Error::failed(Check::TransferSignature, "signature file is not text"))?;
    key.verify_base64(manifest_bytes, text).map_err(|e| {
        Error::failed(
            Check::TransferSignature,
            format!("the bundle manifest is not signed by transfer key {}: {e}", key.fingerprint()),
        )
    })
}
