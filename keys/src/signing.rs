//! The signing key: ECDSA P-256, read from PKCS#8 PEM or cosign's
//! encrypted key files, written in cosign's format.

use crate::{cosign, KeyError, Password, PublicKey, Result};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use std::fmt;

/// PEM type of an unencrypted PKCS#8 private key.
pub const PKCS8_PEM_TYPE: &str = "PRIVATE KEY";
/// PEM type cosign writes for encrypted keys today.
pub const ENCRYPTED_SIGSTORE_PEM_TYPE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM type older cosign versions wrote for encrypted keys.
pub const ENCRYPTED_COSIGN_PEM_TYPE: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// PEM type of a PBE-encrypted PKCS#8 key (openssl with a cipher).
const ENCRYPTED_PKCS8_PEM_TYPE: &str = "ENCRYPTED PRIVATE KEY";

/// A key file is a few hundred bytes; refuse anything much larger before parsing.
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;

/// An ECDSA P-256 signing key. `Debug` shows only the public key's
/// fingerprint; the private key lives inside aws-lc and, when serialised,
/// in `secrecy` buffers.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("public", &self.public.fingerprint()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<Self> {
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| KeyError::Crypto("key generation failed"))?;
        let der = SecretSlice::from(document.as_ref().to_vec());
        Self::from_pkcs8_der(der.expose_secret())
    }

    /// Read a key file: PKCS#8 PEM (`PRIVATE KEY`), or cosign's encrypted
    /// format (`ENCRYPTED SIGSTORE PRIVATE KEY` / `ENCRYPTED COSIGN PRIVATE
    /// KEY`), which needs `password`.
    pub fn from_pem(text: &[u8], password: Option<&Password>) -> Result<Self> {
        let block = pem_block(text)?;
        match block.tag() {
            PKCS8_PEM_TYPE => {
                let der = SecretSlice::from(block.into_contents());
                Self::from_pkcs8_der(der.expose_secret())
            }
            ENCRYPTED_SIGSTORE_PEM_TYPE | ENCRYPTED_COSIGN_PEM_TYPE => {
                let password = password.ok_or(KeyError::PasswordRequired)?;
                let der = cosign::decrypt(block.contents(), password)?;
                Self::from_pkcs8_der(der.expose_secret())
            }
            ENCRYPTED_PKCS8_PEM_TYPE => Err(KeyError::EncryptedPkcs8),
            other => Err(KeyError::UnsupportedPemType(other.to_string())),
        }
    }

    /// Whether a key file needs a password (so the CLI knows whether to ask).
    pub fn is_encrypted(text: &[u8]) -> Result<bool> {
        let block = pem_block(text)?;
        Ok(matches!(block.tag(), ENCRYPTED_SIGSTORE_PEM_TYPE | ENCRYPTED_COSIGN_PEM_TYPE))
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).map_err(|_| KeyError::UnsupportedKey)?;
        let spki = pair.public_key().as_der().map_err(|_| KeyError::Crypto("public key encoding failed"))?;
        let public = PublicKey::from_der(sigstore_types::DerPublicKey::new(spki.as_ref().to_vec())).map_err(|_| KeyError::UnsupportedKey)?;
        Ok(Self { pair, public })
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// `sha256:<hex>` of the public key: how reports name a key.
    pub fn fingerprint(&self) -> &str {
        self.public.fingerprint()
    }

    /// The public key as PEM (`PUBLIC KEY`, SubjectPublicKeyInfo), as
    /// cosign writes `cosign.pub`.
    pub fn public_key_pem(&self) -> String {
        self.public.to_pem()
    }

    /// ECDSA P-256 with SHA-256 over `message`, ASN.1 DER encoded.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature = self
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
            .map_err(|_| KeyError::Crypto("signing failed"))?;
        Ok(signature.as_ref().to_vec())
    }

    /// [`sign`](Self::sign), base64 encoded: what `cosign sign-blob --key`
    /// writes and what cosign puts in `dev.cosignproject.cosign/signature`.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.sign(message)?))
    }

    /// The private key in cosign's encrypted format (`ENCRYPTED SIGSTORE
    /// PRIVATE KEY`), as `cosign generate-key-pair` writes `cosign.key`.
    pub fn to_encrypted_pem(&self, password: &Password) -> Result<SecretString> {
        let der = self.pkcs8_der()?;
        let envelope = cosign::encrypt(der.expose_secret(), password)?;
        Ok(encode_pem(ENCRYPTED_SIGSTORE_PEM_TYPE, envelope))
    }

    /// The private key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<SecretString> {
        let der = self.pkcs8_der()?;
        Ok(encode_pem(PKCS8_PEM_TYPE, der.expose_secret().to_vec()))
    }

    fn pkcs8_der(&self) -> Result<SecretSlice<u8>> {
        let document = self.pair.to_pkcs8v1().map_err(|_| KeyError::Crypto("key serialisation failed"))?;
        Ok(SecretSlice::from(document.as_ref().to_vec()))
    }
}

fn encode_pem(tag: &str, contents: Vec<u8>) -> SecretString {
    let block = pem::Pem::new(tag, contents);
    SecretString::from(pem::encode_config(&block, pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF)))
}

fn pem_block(text: &[u8]) -> Result<pem::Pem> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyError::NotPem(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    // pem's own errors name positions and tags only, never content.
    let blocks = pem::parse_many(text).map_err(|e| KeyError::NotPem(e.to_string()))?;
    let mut blocks = blocks.into_iter();
    match (blocks.next(), blocks.next()) {
        (Some(block), None) => Ok(block),
        (None, _) => Err(KeyError::NotPem("no PEM block".into())),
        (Some(_), Some(_)) => Err(KeyError::NotPem("more than one PEM block".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::from(text)
    }

    #[test]
    fn generated_keys_round_trip_and_sign() {
        let key = SigningKey::generate().unwrap();
        let password = password("correct horse");
        let encrypted = key.to_encrypted_pem(&password).unwrap();
        let encrypted = encrypted.expose_secret();
        assert!(encrypted.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(SigningKey::is_encrypted(encrypted.as_bytes()).unwrap());
        let body = pem::parse(encrypted.as_bytes()).unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(body.contents()).unwrap();
        assert_eq!(envelope["kdf"]["params"], serde_json::json!({"N": 65536, "r": 8, "p": 1}));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(envelope["cipher"]["nonce"].as_str().unwrap()).unwrap().len(), 24);

        let reread = SigningKey::from_pem(encrypted.as_bytes(), Some(&password)).unwrap();
        assert_eq!(reread.public_key_pem(), key.public_key_pem());
        assert_eq!(SigningKey::from_pem(encrypted.as_bytes(), Some(&self::password("wrong"))).unwrap_err(), KeyError::WrongPassword);
        assert_eq!(SigningKey::from_pem(encrypted.as_bytes(), None).unwrap_err(), KeyError::PasswordRequired);

        // The older PEM type is read the same way.
        let legacy = encrypted.replace("SIGSTORE", "COSIGN");
        assert!(SigningKey::from_pem(legacy.as_bytes(), Some(&password)).is_ok());

        let plain = key.to_pkcs8_pem().unwrap();
        let from_plain = SigningKey::from_pem(plain.expose_secret().as_bytes(), None).unwrap();
        assert_eq!(from_plain.public_key(), key.public_key());
        assert_eq!(PublicKey::from_pem(&key.public_key_pem()).unwrap(), *key.public_key());

        let signature = key.sign(b"payload").unwrap();
        assert!(key.public_key().verify(b"payload", &signature).is_ok());
        assert!(matches!(key.public_key().verify(b"other", &signature), Err(KeyError::BadSignature(_))));
        let b64 = key.sign_base64(b"payload").unwrap();
        assert!(key.public_key().verify_base64(b"payload", &format!("{b64}\n")).is_ok());
        assert!(key.public_key().verify_base64(b"other", &b64).is_err());
        assert!(key.public_key().verify_base64(b"payload", "!!").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let password = password("hunter2");
        assert!(!format!("{password:?}").contains("hunter2"));
        let key = SigningKey::generate().unwrap();
        let pkcs8 = key.to_pkcs8_pem().unwrap();
        assert!(!format!("{pkcs8:?}").contains("PRIVATE"));
        let der_b64: String = pkcs8.expose_secret().lines().filter(|l| !l.starts_with("-----")).collect();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.fingerprint()) && !shown.contains(&der_b64[..16]), "{shown}");
        let encrypted = key.to_encrypted_pem(&password).unwrap();
        let e = SigningKey::from_pem(encrypted.expose_secret().as_bytes(), Some(&self::password("s3cr3t-guess"))).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t-guess") && !format!("{e:?}").contains("s3cr3t-guess"));
    }

    #[test]
    fn refuses_malformed_files_and_other_keys() {
        assert!(matches!(SigningKey::from_pem(b"", None), Err(KeyError::NotPem(_))));
        assert!(matches!(SigningKey::from_pem(b"garbage", None), Err(KeyError::NotPem(_))));
        assert!(matches!(SigningKey::from_pem(&vec![b'a'; MAX_KEY_FILE_BYTES + 1], None), Err(KeyError::NotPem(_))));
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(rsa.as_bytes(), None).unwrap_err(), KeyError::UnsupportedPemType("RSA PRIVATE KEY".into()));
        let pbe = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(pbe.as_bytes(), None).unwrap_err(), KeyError::EncryptedPkcs8);
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(junk.as_bytes(), None).unwrap_err(), KeyError::UnsupportedKey);
        let key = SigningKey::generate().unwrap();
        let one = key.to_pkcs8_pem().unwrap();
        let two = format!("{}{}", one.expose_secret(), one.expose_secret());
        assert!(matches!(SigningKey::from_pem(two.as_bytes(), None), Err(KeyError::NotPem(_))));
        // A P-384 key (made by aws-lc) is refused: airlock signs with P-256.
        let p384 = EcdsaKeyPair::generate_pkcs8(&aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let p384 = pem::encode(&pem::Pem::new("PRIVATE KEY", p384.as_ref().to_vec()));
        assert_eq!(SigningKey::from_pem(p384.as_bytes(), None).unwrap_err(), KeyError::UnsupportedKey);
        // The encrypted body must be the JSON envelope.
        let bogus = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(bogus.as_bytes(), Some(&password(""))), Err(KeyError::MalformedEnvelope(_))));
    }
}
