//! The site's signing keys: ECDSA P-256, read from PKCS#8 PEM or from
//! cosign's own encrypted key files, and written in cosign's format.
//!
//! # cosign's encrypted key file
//!
//! `cosign generate-key-pair` writes a PEM block of type
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE
//! KEY`) whose body is not DER but a JSON document, the format of
//! go-securesystemslib's `encrypted` package that sigstore's `cryptoutils`
//! uses:
//!
//! ```json
//! {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": "<base64>"},
//!  "cipher": {"name": "nacl/secretbox", "nonce": "<base64, 24 bytes>"},
//!  "ciphertext": "<base64>"}
//! ```
//!
//! The key is scrypt(password, salt, N, r, p) with a 32-byte output; the
//! ciphertext is NaCl `secretbox` (XSalsa20-Poly1305) of the PKCS#8 DER of
//! the private key. Only the three parameter sets go-securesystemslib writes
//! are accepted (N = 2^15, 2^16 or 2^17 with r = 8, p = 1), as it does
//! itself: parameters are read from the file, and a file must not be able to
//! make airlock spend gigabytes or hours deriving a key. New files are
//! written with N = 2^16 (go-securesystemslib's current default).
//!
//! # Secrets
//!
//! Passwords are [`Password`]s and private key material lives in
//! [`zeroize::Zeroizing`] buffers or inside aws-lc; none of them is ever in a
//! `Debug`/`Display` output or an error message. This module never prompts
//! or reads the environment: the CLI does and passes the password in.

use crate::check::signature::PublicKey;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::Engine as _;
use std::fmt;
use zeroize::Zeroizing;

/// PEM type of an unencrypted PKCS#8 private key.
pub const PKCS8_PEM_TYPE: &str = "PRIVATE KEY";
/// PEM type cosign writes for encrypted keys today.
pub const ENCRYPTED_SIGSTORE_PEM_TYPE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM type older cosign versions wrote for encrypted keys.
pub const ENCRYPTED_COSIGN_PEM_TYPE: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// A key file is a few hundred bytes; refuse anything much larger before parsing.
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// log2(N) of the parameter sets go-securesystemslib writes: legacy,
/// standard (its default, and ours), OWASP.
const ACCEPTED_LOG_N: [u8; 3] = [15, 16, 17];
const WRITE_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// A key password. `Debug` and `Display` print `<redacted>`; the bytes are
/// wiped from memory when it is dropped.
#[derive(Clone)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Wrap a password (cosign passwords are arbitrary bytes; an empty one is
    /// allowed, as cosign allows it).
    pub fn new(password: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a signing key could not be read. Never carries key material or a
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not PEM, or not exactly one PEM block.
    #[error("not a PEM private key file: {0}")]
    NotPem(String),
    /// A PEM block of a type airlock does not read.
    #[error("PEM type {0:?} is not supported (expected PRIVATE KEY, ENCRYPTED SIGSTORE PRIVATE KEY or ENCRYPTED COSIGN PRIVATE KEY)")]
    UnsupportedPemType(String),
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
    #[error("not an ECDSA P-256 PKCS#8 private key (airlock signs with P-256 only)")]
    UnsupportedKey,
    /// The platform's random number generator or the crypto library failed.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
}

/// An ECDSA P-256 signing key. `Debug` shows only the public key's
/// fingerprint.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
    public_pem: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("public", &self.public.fingerprint()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| KeyError::Crypto("key generation failed"))?;
        let der = Zeroizing::new(document.as_ref().to_vec());
        Self::from_pkcs8_der(&der)
    }

    /// Read a key file: PKCS#8 PEM (`PRIVATE KEY`), or cosign's encrypted
    /// format (`ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE
    /// KEY`), which needs `password`.
    pub fn from_pem(text: &[u8], password: Option<&Password>) -> Result<Self, KeyError> {
        let block = pem_block(text)?;
        match block.tag() {
            PKCS8_PEM_TYPE => Self::from_pkcs8_der(block.contents()),
            ENCRYPTED_SIGSTORE_PEM_TYPE | ENCRYPTED_COSIGN_PEM_TYPE => {
                let password = password.ok_or(KeyError::PasswordRequired)?;
                let der = decrypt(block.contents(), password)?;
                Self::from_pkcs8_der(&der)
            }
            other => Err(KeyError::UnsupportedPemType(other.to_string())),
        }
    }

    /// Whether a key file needs a password (so the CLI knows whether to ask).
    pub fn is_encrypted(text: &[u8]) -> Result<bool, KeyError> {
        let block = pem_block(text)?;
        Ok(matches!(block.tag(), ENCRYPTED_SIGSTORE_PEM_TYPE | ENCRYPTED_COSIGN_PEM_TYPE))
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).map_err(|_| KeyError::UnsupportedKey)?;
        let spki = pair.public_key().as_der().map_err(|_| KeyError::Crypto("public key encoding failed"))?;
        let public_pem = pem::encode_config(
            &pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        );
        let public = PublicKey::from_pem(&public_pem).map_err(|_| KeyError::UnsupportedKey)?;
        Ok(Self { pair, public, public_pem })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key as PEM (`PUBLIC KEY`, SubjectPublicKeyInfo), as
    /// cosign writes `cosign.pub`.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// ECDSA P-256 with SHA-256 over `message`, ASN.1 DER encoded: what
    /// cosign puts, base64 encoded, in `dev.cosignproject.cosign/signature`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let signature = self
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
            .map_err(|_| KeyError::Crypto("signing failed"))?;
        Ok(signature.as_ref().to_vec())
    }

    /// The private key in cosign's encrypted format (`ENCRYPTED SIGSTORE
    /// PRIVATE KEY`), as `cosign generate-key-pair` writes `cosign.key`.
    pub fn to_encrypted_pem(&self, password: &Password) -> Result<Zeroizing<String>, KeyError> {
        let der = self.pkcs8_der()?;
        let envelope = encrypt(&der, password, WRITE_LOG_N)?;
        Ok(Zeroizing::new(pem::encode_config(
            &pem::Pem::new(ENCRYPTED_SIGSTORE_PEM_TYPE, envelope),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )))
    }

    /// The private key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.pkcs8_der()?;
        Ok(Zeroizing::new(pem::encode_config(
            &pem::Pem::new(PKCS8_PEM_TYPE, der.to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )))
    }

    fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let document = self.pair.to_pkcs8v1().map_err(|_| KeyError::Crypto("key serialisation failed"))?;
        Ok(Zeroizing::new(document.as_ref().to_vec()))
    }
}

fn pem_block(text: &[u8]) -> Result<pem::Pem, KeyError> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyError::NotPem(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    let blocks = pem::parse_many(text).map_err(|e| KeyError::NotPem(e.to_string()))?;
    let mut blocks = blocks.into_iter();
    match (blocks.next(), blocks.next()) {
        (Some(block), None) => Ok(block),
        (None, _) => Err(KeyError::NotPem("no PEM block".into())),
        (Some(_), Some(_)) => Err(KeyError::NotPem("more than one PEM block".into())),
    }
}

/// The JSON envelope of an encrypted key.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    nonce: String,
}

fn b64_decode(field: &str, value: &str) -> Result<Vec<u8>, KeyError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| KeyError::MalformedEnvelope(format!("{field} is not base64")))
}

fn derive_key(password: &Password, salt: &[u8], log_n: u8) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P).map_err(|_| KeyError::Crypto("scrypt parameters"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.bytes(), salt, &params, key.as_mut()).map_err(|_| KeyError::Crypto("scrypt failed"))?;
    Ok(key)
}

/// Open an encrypted key envelope (the PEM body) with `password`.
fn decrypt(envelope: &[u8], password: &Password) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    // serde's messages name the field and position, never the values.
    let envelope: Envelope = serde_json::from_slice(envelope).map_err(|e| KeyError::MalformedEnvelope(e.to_string()))?;
    if envelope.kdf.name != KDF_NAME {
        return Err(KeyError::UnsupportedEnvelope(format!("key derivation {:?} (only scrypt)", envelope.kdf.name)));
    }
    if envelope.cipher.name != CIPHER_NAME {
        return Err(KeyError::UnsupportedEnvelope(format!("cipher {:?} (only nacl/secretbox)", envelope.cipher.name)));
    }
    let KdfParams { n, r, p } = envelope.kdf.params;
    let log_n = ACCEPTED_LOG_N
        .into_iter()
        .find(|log_n| 1u64 << log_n == n && r == u64::from(SCRYPT_R) && p == u64::from(SCRYPT_P))
        .ok_or_else(|| {
            KeyError::UnsupportedEnvelope(format!(
                "scrypt parameters N={n} r={r} p={p} (accepted: N=32768, 65536 or 131072 with r=8, p=1)"
            ))
        })?;
    let salt = b64_decode("kdf.salt", &envelope.kdf.salt)?;
    if salt.is_empty() || salt.len() > 1024 {
        return Err(KeyError::MalformedEnvelope(format!("kdf.salt is {} bytes", salt.len())));
    }
    let nonce = b64_decode("cipher.nonce", &envelope.cipher.nonce)?;
    if nonce.len() != NONCE_LEN {
        return Err(KeyError::MalformedEnvelope(format!("cipher.nonce is {} bytes, not {NONCE_LEN}", nonce.len())));
    }
    let ciphertext = b64_decode("ciphertext", &envelope.ciphertext)?;
    let key = derive_key(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_ref()));
    let plaintext = cipher
        .decrypt(crypto_secretbox::Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassword)?;
    Ok(Zeroizing::new(plaintext))
}

/// Seal `plaintext` into an envelope with a fresh salt and nonce.
fn encrypt(plaintext: &[u8], password: &Password, log_n: u8) -> Result<Vec<u8>, KeyError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyError::Crypto("random salt"))?;
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyError::Crypto("random nonce"))?;
    let key = derive_key(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.as_ref()));
    let ciphertext = cipher
        .encrypt(crypto_secretbox::Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| KeyError::Crypto("encryption failed"))?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: KdfParams { n: 1u64 << log_n, r: SCRYPT_R.into(), p: SCRYPT_P.into() },
            salt: b64(&salt),
        },
        cipher: Cipher { name: CIPHER_NAME.into(), nonce: b64(&nonce) },
        ciphertext: b64(&ciphertext),
    };
    Ok(serde_json::to_vec(&envelope).expect("envelope serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-securesystemslib's own test vectors (encrypted/encrypted_test.go,
    /// made with its `Marshal`, so the plaintext is the JSON encoding of
    /// the bytes "reallyimportant") under "supersecret", one per accepted
    /// parameter set. Decrypting them checks our scrypt + secretbox against
    /// the Go implementation cosign uses.
    const GO_VECTORS: [&str; 3] = [
        r#"{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA="},"cipher":{"name":"nacl/secretbox","nonce":"tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX"},"ciphertext":"08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw="}"#,
        r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs="},"cipher":{"name":"nacl/secretbox","nonce":"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE"},"ciphertext":"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8="}"#,
        r#"{"kdf":{"name":"scrypt","params":{"N":131072,"r":8,"p":1},"salt":"m38E3kouJTtiheLQN22NQ8DTito5hrjpUIskqcd375k="},"cipher":{"name":"nacl/secretbox","nonce":"Y6PM13yA+o44pE/W1ZBwczeGnTV/m9Zc"},"ciphertext":"6H8sqj1K6B6yDjtH5AQ6lbFigg/C2yDDJc4rYJ79w9aVPImFIPI="}"#,
    ];

    #[test]
    fn decrypts_go_securesystemslib_vectors() {
        let password = Password::new("supersecret");
        for vector in GO_VECTORS {
            let plaintext = decrypt(vector.as_bytes(), &password).unwrap();
            let bytes: Vec<u8> = serde_json::from_slice::<String>(&plaintext)
                .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
                .unwrap();
            assert_eq!(bytes, b"reallyimportant");
            assert_eq!(decrypt(vector.as_bytes(), &Password::new("supersecreT")).unwrap_err(), KeyError::WrongPassword);
        }
    }

    fn edited(vector: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_str(vector).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn refuses_other_kdfs_ciphers_and_parameters() {
        let password = Password::new("supersecret");
        let v = GO_VECTORS[0];
        let refuse = |bytes: Vec<u8>| decrypt(&bytes, &password).unwrap_err();
        // Costly parameters a tampered file could ask for are refused
        // before any work is done.
        let e = refuse(edited(v, |j| j["kdf"]["params"]["N"] = (1u64 << 30).into()));
        assert!(matches!(e, KeyError::UnsupportedEnvelope(ref m) if m.contains("N=1073741824")), "{e}");
        assert!(matches!(refuse(edited(v, |j| j["kdf"]["params"]["r"] = 64.into())), KeyError::UnsupportedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["kdf"]["params"]["p"] = 16.into())), KeyError::UnsupportedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["kdf"]["name"] = "pbkdf2".into())), KeyError::UnsupportedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["cipher"]["name"] = "aes-gcm".into())), KeyError::UnsupportedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["cipher"]["nonce"] = "AAAA".into())), KeyError::MalformedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["kdf"]["salt"] = "".into())), KeyError::MalformedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["ciphertext"] = "!!".into())), KeyError::MalformedEnvelope(_)));
        assert!(matches!(refuse(edited(v, |j| j["extra"] = 1.into())), KeyError::MalformedEnvelope(_)));
        assert!(matches!(refuse(b"not json".to_vec()), KeyError::MalformedEnvelope(_)));
        // A flipped ciphertext byte fails authentication like a wrong password.
        let flipped = edited(v, |j| {
            let mut c = base64::engine::general_purpose::STANDARD.decode(j["ciphertext"].as_str().unwrap()).unwrap();
            c[0] ^= 1;
            j["ciphertext"] = base64::engine::general_purpose::STANDARD.encode(c).into();
        });
        assert_eq!(refuse(flipped), KeyError::WrongPassword);
    }

    #[test]
    fn generated_keys_round_trip_and_sign() {
        let key = SigningKey::generate().unwrap();
        let password = Password::new("correct horse");
        let encrypted = key.to_encrypted_pem(&password).unwrap();
        assert!(encrypted.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(SigningKey::is_encrypted(encrypted.as_bytes()).unwrap());
        let body = pem::parse(encrypted.as_bytes()).unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(body.contents()).unwrap();
        assert_eq!(envelope["kdf"]["params"], serde_json::json!({"N": 65536, "r": 8, "p": 1}));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(envelope["cipher"]["nonce"].as_str().unwrap()).unwrap().len(), 24);

        let reread = SigningKey::from_pem(encrypted.as_bytes(), Some(&password)).unwrap();
        assert_eq!(reread.public_key_pem(), key.public_key_pem());
        assert_eq!(
            SigningKey::from_pem(encrypted.as_bytes(), Some(&Password::new("wrong"))).unwrap_err(),
            KeyError::WrongPassword
        );
        assert_eq!(SigningKey::from_pem(encrypted.as_bytes(), None).unwrap_err(), KeyError::PasswordRequired);

        // The older PEM type is read the same way.
        let legacy = encrypted.replace("SIGSTORE", "COSIGN");
        assert!(SigningKey::from_pem(legacy.as_bytes(), Some(&password)).is_ok());

        let plain = key.to_pkcs8_pem().unwrap();
        let from_plain = SigningKey::from_pem(plain.as_bytes(), None).unwrap();
        assert_eq!(from_plain.public_key(), key.public_key());

        let signature = key.sign(b"payload").unwrap();
        let signature = sigstore_types::SignatureBytes::new(signature);
        assert!(key.public_key().verify_message(b"payload", &signature).is_ok());
        assert!(key.public_key().verify_message(b"other", &signature).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let password = Password::new("hunter2");
        assert_eq!(format!("{password} {password:?}"), "<redacted> <redacted>");
        let key = SigningKey::generate().unwrap();
        let pkcs8 = key.to_pkcs8_pem().unwrap();
        let der_b64: String = pkcs8.lines().filter(|l| !l.starts_with("-----")).collect();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.public_key().fingerprint()) && !shown.contains(&der_b64[..16]), "{shown}");
        let e = SigningKey::from_pem(key.to_encrypted_pem(&password).unwrap().as_bytes(), Some(&Password::new("s3cr3t-guess"))).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t-guess") && !format!("{e:?}").contains("s3cr3t-guess"));
    }

    #[test]
    fn refuses_malformed_files_and_other_keys() {
        assert!(matches!(SigningKey::from_pem(b"", None), Err(KeyError::NotPem(_))));
        assert!(matches!(SigningKey::from_pem(b"garbage", None), Err(KeyError::NotPem(_))));
        assert!(matches!(SigningKey::from_pem(&vec![b'a'; MAX_KEY_FILE_BYTES + 1], None), Err(KeyError::NotPem(_))));
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(rsa.as_bytes(), None).unwrap_err(), KeyError::UnsupportedPemType("RSA PRIVATE KEY".into()));
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(junk.as_bytes(), None).unwrap_err(), KeyError::UnsupportedKey);
        let key = SigningKey::generate().unwrap();
        let two = format!("{}{}", &*key.to_pkcs8_pem().unwrap(), &*key.to_pkcs8_pem().unwrap());
        assert!(matches!(SigningKey::from_pem(two.as_bytes(), None), Err(KeyError::NotPem(_))));
        // A P-384 key (made by aws-lc) is refused: re-signatures are P-256.
        let p384 = EcdsaKeyPair::generate_pkcs8(&aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let p384 = pem::encode(&pem::Pem::new("PRIVATE KEY", p384.as_ref().to_vec()));
        assert_eq!(SigningKey::from_pem(p384.as_bytes(), None).unwrap_err(), KeyError::UnsupportedKey);
        // The encrypted body must be the JSON envelope.
        let bogus = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(bogus.as_bytes(), Some(&Password::new(""))), Err(KeyError::MalformedEnvelope(_))));
    }
}
