//! cosign's encrypted key file.
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

use crate::{KeyError, Password, Result};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox, SecretSlice};

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

fn derive_key(password: &Password, salt: &[u8], log_n: u8) -> Result<SecretBox<[u8; 32]>, KeyError> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P).map_err(|_| KeyError::Crypto("scrypt parameters"))?;
    let mut key = SecretBox::new(Box::new([0u8; 32]));
    scrypt::scrypt(password.expose_secret().as_bytes(), salt, &params, secrecy::ExposeSecretMut::expose_secret_mut(&mut key))
        .map_err(|_| KeyError::Crypto("scrypt failed"))?;
    Ok(key)
}

/// Open an encrypted key envelope (the PEM body) with `password`.
pub(crate) fn decrypt(envelope: &[u8], password: &Password) -> Result<SecretSlice<u8>> {
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
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.expose_secret()));
    let plaintext = cipher
        .decrypt(crypto_secretbox::Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassword)?;
    Ok(SecretSlice::from(plaintext))
}

/// Seal `plaintext` into an envelope with a fresh salt and nonce.
pub(crate) fn encrypt(plaintext: &[u8], password: &Password) -> Result<Vec<u8>> {
    seal(plaintext, password, WRITE_LOG_N)
}

fn seal(plaintext: &[u8], password: &Password, log_n: u8) -> Result<Vec<u8>> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyError::Crypto("random salt"))?;
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyError::Crypto("random nonce"))?;
    let key = derive_key(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(crypto_secretbox::Key::from_slice(key.expose_secret()));
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
        let password = Password::from("supersecret");
        for vector in GO_VECTORS {
            let plaintext = decrypt(vector.as_bytes(), &password).unwrap();
            let bytes: Vec<u8> = serde_json::from_slice::<String>(plaintext.expose_secret())
                .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
                .unwrap();
            assert_eq!(bytes, b"reallyimportant");
            assert_eq!(decrypt(vector.as_bytes(), &Password::from("supersecreT")).unwrap_err(), KeyError::WrongPassword);
        }
    }

    fn edited(vector: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_str(vector).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn refuses_other_kdfs_ciphers_and_parameters() {
        let password = Password::from("supersecret");
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
}
