//! Public keys the site trusts: transfer keys, publisher keys in policies,
//! the site's own re-signing key.

use crate::{KeyError, Result};

/// A trusted public key (PEM `PUBLIC KEY`, i.e. SubjectPublicKeyInfo), of
/// any type the Sigstore engine verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    der: sigstore_types::DerPublicKey,
    fingerprint: String,
}

impl PublicKey {
    /// Parse a PEM public key; refuses key types the engine cannot verify.
    pub fn from_pem(text: &str) -> Result<Self> {
        let der = sigstore_types::DerPublicKey::from_pem(text).map_err(|e| KeyError::MalformedPublicKey(e.to_string()))?;
        Self::from_der(der)
    }

    pub(crate) fn from_der(der: sigstore_types::DerPublicKey) -> Result<Self> {
        sigstore_crypto::KeyAlgorithm::from_spki(&der).map_err(|e| KeyError::UnsupportedPublicKey(e.to_string()))?;
        use sha2::Digest as _;
        let fingerprint = format!("sha256:{}", hex::encode(sha2::Sha256::digest(der.as_bytes())));
        Ok(Self { der, fingerprint })
    }

    /// `sha256:<hex>` of the DER SubjectPublicKeyInfo: how reports name a key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The DER SubjectPublicKeyInfo, as the Sigstore engine takes it.
    pub fn der(&self) -> &sigstore_types::DerPublicKey {
        &self.der
    }

    /// The key as PEM (`PUBLIC KEY`), as cosign writes `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new("PUBLIC KEY", self.der.as_bytes().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// Verify a raw signature (ASN.1 DER for ECDSA) over `message` with this
    /// key's default scheme (ECDSA with SHA-256 for P-256, as cosign signs).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let scheme = sigstore_crypto::KeyAlgorithm::from_spki(&self.der)
            .map_err(|e| KeyError::UnsupportedPublicKey(e.to_string()))?
            .default_signing_scheme();
        let signature = sigstore_types::SignatureBytes::new(signature.to_vec());
        sigstore_crypto::verify_signature(&self.der, message, &signature, scheme).map_err(|e| KeyError::BadSignature(e.to_string()))
    }

    /// Verify a base64 signature (cosign's `sign-blob` output and
    /// `dev.cosignproject.cosign/signature` annotation); whitespace around
    /// and inside the base64 is ignored, as a signature file ends in a
    /// newline.
    pub fn verify_base64(&self, message: &[u8], signature: &str) -> Result<()> {
        use base64::Engine as _;
        let b64: String = signature.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| KeyError::BadSignature(format!("signature is not base64: {e}")))?;
        self.verify(message, &der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_malformed_and_unverifiable_keys() {
        assert!(matches!(PublicKey::from_pem("nonsense"), Err(KeyError::MalformedPublicKey(_))));
        // An X25519 SPKI is well-formed but not a signing key.
        let x25519 = pem::encode(&pem::Pem::new(
            "PUBLIC KEY",
            hex::decode("302a300506032b656e032100e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c").unwrap(),
        ));
        assert!(matches!(PublicKey::from_pem(&x25519), Err(KeyError::UnsupportedPublicKey(_))));
    }
}
