//! Why a key could not be read or used.

/// Why a key could not be read, written or used. Never carries key
/// material or a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not PEM, or not exactly one PEM block.
    #[error("not a PEM private key file: {0}")]
    NotPem(String),
    /// A PEM block of a type airlock does not read.
    #[error("PEM type {0:?} is not supported (expected PRIVATE KEY, ENCRYPTED SIGSTORE PRIVATE KEY or ENCRYPTED COSIGN PRIVATE KEY)")]
    UnsupportedPemType(String),
    /// A PKCS#8 key encrypted with a PBE scheme (`ENCRYPTED PRIVATE KEY`, as
    /// openssl writes with a cipher), which airlock does not decrypt.
    #[error("an encrypted PKCS#8 key (ENCRYPTED PRIVATE KEY) is not supported: give an unencrypted PKCS#8 key or a cosign key (airlock key generate)")]
    EncryptedPkcs8,
    /// The key is encrypted and no password was given.
    #[error("the key is encrypted and needs a password")]
    PasswordRequired,
    /// Decryption failed: the password is wrong, or the file was altered.
    #[error("cannot decrypt the key: wrong password, or the key file is corrupted")]
    WrongPassword,
    /// The encrypted key's JSON envelope is malformed.
    #[error("malformed encrypted key: {0}")]
    MalformedEnvelope(String),
    /// The encrypted key uses a KDF, cipher or parameters airlock refuses.
    #[error("unsupported encrypted key: {0}")]
    UnsupportedEnvelope(String),
    /// The (decrypted) key is not an ECDSA P-256 PKCS#8 private key.
    #[error("not a usable PKCS#8 private key: airlock signs with ECDSA P-256 only")]
    UnsupportedKey,
    /// A public key that does not parse.
    #[error("public key is malformed: {0}")]
    MalformedPublicKey(String),
    /// A public key of a type the Sigstore engine cannot verify.
    #[error("unsupported public key: {0}")]
    UnsupportedPublicKey(String),
    /// A signature that does not verify with the key.
    #[error("{0}")]
    BadSignature(String),
    /// The platform's random number generator or the crypto library failed.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}
