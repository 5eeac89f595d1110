//! The bundle manifest, written only through `verifier::bundle::manifest`
//! (the reader's own types and canonical JSON), and the transfer signature
//! over its exact bytes.

use crate::error::{Error, Result};
use base64::Engine as _;
use oci::Digest;
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::{BundleManifest, FileEntry, ParsedManifest};

/// The manifest's canonical bytes, checked by the reader's own parser (a
/// bundle the reader would refuse is a bug here, not a file to write).
pub fn canonical_bytes(manifest: &BundleManifest) -> Result<(Vec<u8>, ParsedManifest)> {
    let bytes = manifest.to_canonical_json();
    let parsed = BundleManifest::parse(&bytes)
        .map_err(|e| Error::Unsupported(format!("internal error: the bundle manifest written would be refused: {e}")))?;
    Ok((bytes, parsed))
}

/// `{"path", "sha256", "size"}` for `relative` under `root`, hashed while read.
pub fn file_entry(root: &Path, relative: &str) -> Result<FileEntry> {
    let path = root.join(relative);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, "open", e))?;
    let (sha256, size) = oci::Hasher::digest_reader(oci::Algorithm::Sha256, file).map_err(|e| Error::io(&path, "read", e))?;
    Ok(FileEntry {
        path: relative.to_string(),
        sha256,
        size,
    })
}

/// Every regular file under `root/dir`, as paths relative to `root`
/// (`/`-separated), sorted.
pub fn files_under(root: &Path, dir: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(current) = stack.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&current, "read directory", e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&current, "read directory", e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, "stat", e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let text = relative
                    .to_str()
                    .ok_or_else(|| Error::Output {
                        path: path.clone(),
                        reason: "file name is not UTF-8".into(),
                    })?
                    .replace(std::path::MAIN_SEPARATOR, "/");
                out.push(text);
            } else {
                return Err(Error::Output {
                    path,
                    reason: "not a regular file (bundles hold regular files only)".into(),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The transfer signing key: ECDSA P-256, PKCS#8 PEM. Its `Debug` shows
/// only the public key's fingerprint; no error ever contains key material.
pub struct SigningKey {
    pair: sigstore_crypto::KeyPair,
    fingerprint: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint)
    }
}

impl SigningKey {
    /// Read and check a key file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason: &str| Error::SignKey {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return Err(bad(&format!("cannot read it: {}", e.kind()))),
        };
        if bytes.len() > 64 * 1024 {
            return Err(bad("larger than 64 KiB: not a PEM private key"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad("not a PEM file"))?;
        Self::from_pem(text).map_err(|reason| bad(&reason))
    }

    /// Parse a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) ECDSA P-256 key.
    /// The error says what is wrong without repeating any of the key.
    pub fn from_pem(text: &str) -> std::result::Result<Self, String> {
        // pem's own errors name positions and tags only, never content.
        let block = pem::parse(text).map_err(|_| "not a PEM file".to_string())?;
        match block.tag() {
            "PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" | "ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY" => {
                return Err(format!(
                    "an encrypted key ({}): give an unencrypted PKCS#8 ECDSA P-256 key (\"PRIVATE KEY\")",
                    block.tag()
                ))
            }
            other => return Err(format!("a {other:?} PEM block, expected an unencrypted PKCS#8 \"PRIVATE KEY\"")),
        }
        let pair = sigstore_crypto::KeyPair::from_pkcs8_der(block.contents())
            .map_err(|_| "not a usable PKCS#8 ECDSA P-256 private key".to_string())?;
        if pair.algorithm() != sigstore_crypto::KeyAlgorithm::EcdsaP256 {
            return Err(format!("a {:?} key; transfer keys are ECDSA P-256", pair.algorithm()));
        }
        let public = pair.public_key_der().map_err(|_| "cannot derive the public key".to_string())?;
        let fingerprint = format!("sha256:{}", Digest::sha256_of(public.as_bytes()).hex());
        Ok(Self { pair, fingerprint })
    }

    /// `sha256:<hex>` of the public key (SubjectPublicKeyInfo DER), as the
    /// verifier reports a transfer key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key, PEM, for the site to pin.
    pub fn public_key_pem(&self) -> Result<String> {
        let der = self
            .pair
            .public_key_der()
            .map_err(|_| Error::Unsupported("cannot derive the transfer public key".into()))?;
        Ok(pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_bytes().to_vec())))
    }

    /// `cosign sign-blob --key` format: base64 of the ASN.1 DER ECDSA
    /// P-256/SHA-256 signature over exactly `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let signature = self
            .pair
            .sign(message)
            .map_err(|_| Error::Unsupported("signing the bundle manifest failed".into()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signature.as_bytes()))
    }
}

/// A path under a bundle root.
pub fn under(root: &Path, relative: &str) -> PathBuf {
    relative.split('/').fold(root.to_path_buf(), |p, c| p.join(c))
}
