//! airlock's keys, in one place: the transfer key that signs a bundle on
//! the connected side, the site key that re-signs images, and the public
//! keys the verifier trusts.
//!
//! - [`SigningKey`]: ECDSA P-256, read from unencrypted PKCS#8 PEM
//!   (`PRIVATE KEY`) or from cosign's encrypted key files (`ENCRYPTED
//!   SIGSTORE PRIVATE KEY`, and older cosign's `ENCRYPTED COSIGN PRIVATE
//!   KEY`), written in cosign's format; signs as cosign does (ASN.1 DER
//!   ECDSA over SHA-256).
//! - [`PublicKey`]: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of any type
//!   the Sigstore engine verifies, with its `sha256:<hex>` fingerprint.
//! - [`Password`]: a [`secrecy::SecretString`]. Every secret airlock holds
//!   (key passwords, registry passwords, private key bytes) is a `secrecy`
//!   value: wiped from memory when dropped, `[REDACTED]` in `Debug`, no
//!   `Display`.
//!
//! This crate never prompts, reads the environment or prints: the CLI asks
//! for the password and passes it in. No error carries key material or a
//! password.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cosign;
mod error;
mod public;
mod signing;

pub use error::KeyError;
pub use public::PublicKey;
pub use signing::{SigningKey, ENCRYPTED_COSIGN_PEM_TYPE, ENCRYPTED_SIGSTORE_PEM_TYPE, MAX_KEY_FILE_BYTES, PKCS8_PEM_TYPE};

/// A key password (cosign's `COSIGN_PASSWORD`); an empty one is allowed, as
/// cosign allows it.
pub type Password = secrecy::SecretString;

/// `Result` with [`KeyError`].
pub type Result<T, E = KeyError> = std::result::Result<T, E>;
