//! Sigstore bundles (`application/vnd.dev.sigstore.bundle…`), v0.1 to v0.3.

use crate::{Error, Result};
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, SignatureContent};
use std::path::Path;

/// A bundle carries one signature and its proofs; even one wrapping a large
/// SBOM attestation stays far below this.
pub const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

/// What every Sigstore bundle media type starts with
/// (`application/vnd.dev.sigstore.bundle+json;version=0.1`, `….v0.3+json`).
const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";

/// Whether a media or artifact type is a Sigstore bundle's, any version.
pub fn is_bundle_media_type(media_type: &str) -> bool {
    media_type.starts_with(MEDIA_TYPE_PREFIX)
}

/// A parsed, structurally sound, *unverified* Sigstore bundle.
#[derive(Debug, Clone)]
pub struct SigstoreBundle {
    inner: Bundle,
}

/// What a bundle signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentKind {
    /// A signature over an artifact digest.
    MessageSignature,
    /// A DSSE envelope (usually an in-toto attestation).
    DsseEnvelope,
}

impl SigstoreBundle {
    /// Parse bundle JSON (any of the v0.1–v0.3 media types).
    pub fn from_json(json: &[u8]) -> Result<Self> {
        if json.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(Error::TooLarge {
                what: "Sigstore bundle".into(),
                limit: MAX_BUNDLE_BYTES,
            });
        }
        let text = std::str::from_utf8(json)
            .map_err(|_| Error::malformed("Sigstore bundle", "not UTF-8"))?;
        let inner =
            Bundle::from_json(text).map_err(|e| Error::malformed("Sigstore bundle", e))?;
        Self::from_parsed(inner)
    }

    /// Read and parse a bundle file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = super::read_bounded(path, MAX_BUNDLE_BYTES)?;
        Self::from_json(&bytes).map_err(|e| match e {
            Error::Malformed { reason, .. } => Error::Malformed {
                what: format!("Sigstore bundle {}", path.display()),
                reason,
            },
            other => other,
        })
    }

    /// Wrap a bundle built in this crate (cosign normalisation), applying
    /// the same structural rules as parsed JSON.
    pub(crate) fn from_parsed(inner: Bundle) -> Result<Self> {
        check_structure(&inner)?;
        Ok(Self { inner })
    }

    /// The engine's view, for [`crate::check`].
    pub(crate) fn inner(&self) -> &Bundle {
        &self.inner
    }

    /// The bundle's media type string.
    pub fn media_type(&self) -> &'static str {
        self.inner.media_type.as_str()
    }

    /// Message signature or DSSE envelope.
    pub fn content_kind(&self) -> ContentKind {
        match &self.inner.content {
            SignatureContent::DsseEnvelope(_) => ContentKind::DsseEnvelope,
            _ => ContentKind::MessageSignature,
        }
    }

    /// The DSSE payload type and payload bytes, for DSSE bundles.
    pub fn dsse_payload(&self) -> Option<(&str, &[u8])> {
        match &self.inner.content {
            SignatureContent::DsseEnvelope(env) => {
                Some((env.payload_type.as_str(), env.payload.as_bytes()))
            }
            _ => None,
        }
    }

    /// Whether the signer is identified by a certificate (keyless or PKI)
    /// rather than a bare public key.
    pub fn has_certificate(&self) -> bool {
        self.inner.signing_certificate().is_some()
    }

    /// The signing certificate, DER (v0.3's `certificate`, or the first of
    /// a v0.1/v0.2 chain), unverified.
    pub fn signing_certificate(&self) -> Option<&[u8]> {
        self.inner.signing_certificate().map(|c| c.as_bytes())
    }

    /// Serialise back to bundle JSON (for bundles airlock built itself).
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_json()
            .map_err(|e| Error::malformed("Sigstore bundle", e))
    }
}

/// Structural rules the engine leaves to callers, checked before any
/// cryptography so the error names the real problem.
fn check_structure(bundle: &Bundle) -> Result<()> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { certificates } if certificates.is_empty() => {
            return Err(Error::malformed(
                "Sigstore bundle",
                "verification material has an empty certificate chain",
            ));
        }
        _ => {}
    }
    if let SignatureContent::MessageSignature(sig) = &bundle.content {
        if sig.signature.as_bytes().is_empty() {
            return Err(Error::malformed("Sigstore bundle", "message signature is empty"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_json_and_wrong_media_type() {
        assert!(matches!(
            SigstoreBundle::from_json(b"{"),
            Err(Error::Malformed { .. })
        ));
        let wrong = br#"{"mediaType":"this is completely wrong","verificationMaterial":{},"messageSignature":{"signature":"AA=="}}"#;
        assert!(matches!(
            SigstoreBundle::from_json(wrong),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            SigstoreBundle::from_json(&[0xff, 0xfe]),
            Err(Error::Malformed { .. })
        ));
    }
}
