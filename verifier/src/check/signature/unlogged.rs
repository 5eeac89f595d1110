//! Key-signed bundles with neither a transparency-log entry nor an RFC 3161
//! timestamp: what `cosign sign --key` and `cosign attest --key` write when
//! their signing config names no log (cosign v3's key-only signing, and
//! `--tlog-upload=false` before it).
//!
//! The engine refuses these during structural validation ("bundle must have
//! at least one tlog entry or timestamp verification data") whatever the
//! policy says: it needs a signing time to check a certificate against. A
//! bare key has no certificate and no validity period, so nothing here
//! depends on the time. cosign accepts them with `--insecure-ignore-tlog`,
//! policy-controller for a key authority without `ctlog`; airlock accepts
//! them exactly where the key authority waives the transparency log, and
//! checks what the engine would have: the signature, with the trusted key,
//! over what was signed (a DSSE envelope's PAE, or the artifact), and that
//! what was signed is this artifact (an in-toto subject, or the message
//! digest).

use super::{Artifact, PublicKey, Requirements};
use crate::evidence::statement::Statement;
use crate::{Check, Error, Result};
use sigstore_crypto::KeyAlgorithm;
use sigstore_types::bundle::MessageSignature;
use sigstore_types::{Bundle, DsseEnvelope, HashAlgorithm, SignatureContent};

/// Whether `bundle` says when it was signed: a log entry or a timestamp.
pub(super) fn has_signing_time_evidence(bundle: &Bundle) -> bool {
    let material = &bundle.verification_material;
    !material.tlog_entries.is_empty() || !material.timestamp_verification_data.rfc3161_timestamps.is_empty()
}

/// Verify a key-signed bundle that has no log entry and no timestamp.
pub(super) fn verify(bundle: &Bundle, artifact: Artifact<'_>, key: &PublicKey, requirements: &Requirements) -> Result<()> {
    if requirements.transparency_log() {
        return Err(Error::failed(
            Check::TransparencyLog,
            format!(
                "the signature carries no transparency-log entry and no timestamp (made with a key, never logged), \
                 and a transparency-log entry is required for key {}; to accept it, waive the log for that key as \
                 `cosign verify --insecure-ignore-tlog` does (`require: {{transparencyLog: false}}` in an \
                 ImportPolicy, a ClusterImagePolicy key authority without `ctlog`, `--insecure-ignore-tlog` for \
                 verify-blob)",
                key.fingerprint()
            ),
        ));
    }
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => verify_envelope(envelope, artifact, key),
        SignatureContent::MessageSignature(signature) => verify_message(signature, artifact, key),
        _ => Err(Error::Unsupported("a bundle whose content is neither a message signature nor a DSSE envelope".into())),
    }
}

/// DSSE: the signature over the envelope's PAE, then the in-toto statement
/// must name the artifact among its subjects.
fn verify_envelope(envelope: &DsseEnvelope, artifact: Artifact<'_>, key: &PublicKey) -> Result<()> {
    key.verify(&envelope.pae(), envelope.signature.sig.as_bytes()).map_err(|e| bad_signature(key, e))?;
    let statement = Statement::parse(&envelope.payload_type, envelope.payload.as_bytes())?;
    let digest = artifact_digest(artifact, oci::Algorithm::Sha256)?.0;
    if !statement.has_subject(&digest) {
        return Err(Error::failed(
            Check::ArtifactBinding,
            format!("the signed in-toto statement is about other artifacts: no subject is {digest}"),
        ));
    }
    Ok(())
}

/// A message signature: the bundle's message digest, when it has one, must
/// be the artifact's, and the signature must verify over the artifact (over
/// its digest, prehashed, when only the digest or a stream is at hand).
fn verify_message(signature: &MessageSignature, artifact: Artifact<'_>, key: &PublicKey) -> Result<()> {
    let unsupported = |e: sigstore_crypto::Error| Error::Unsupported(format!("key {}: {e}", key.fingerprint()));
    let key_algorithm = KeyAlgorithm::from_spki(key.der()).map_err(unsupported)?;
    let declared = signature.message_digest.as_ref();
    let scheme = match declared {
        Some(digest) => key_algorithm.resolve_signing_scheme(digest.algorithm).map_err(unsupported)?,
        None => key_algorithm.default_signing_scheme(),
    };
    let hash = scheme
        .hash_algorithm()
        .or(declared.map(|d| d.algorithm))
        .unwrap_or(HashAlgorithm::Sha2256);
    let algorithm = match hash {
        HashAlgorithm::Sha2256 => oci::Algorithm::Sha256,
        HashAlgorithm::Sha2512 => oci::Algorithm::Sha512,
        other => return Err(Error::Unsupported(format!("a message signature over a {other:?} digest"))),
    };
    let (digest, bytes) = artifact_digest(artifact, algorithm)?;
    if declared.is_some_and(|d| d.digest.as_bytes() != digest.as_bytes()) {
        return Err(Error::failed(
            Check::ArtifactBinding,
            format!("the bundle's message digest is not the artifact's ({digest})"),
        ));
    }
    let verified = match bytes {
        Some(bytes) => sigstore_crypto::verify_signature(key.der(), bytes, &signature.signature, scheme),
        None if scheme.supports_prehashed() => {
            sigstore_crypto::verify_signature_prehashed(key.der(), digest.as_bytes(), &signature.signature, scheme)
        }
        None => {
            return Err(Error::Unsupported(format!(
                "a {} signature can only be verified over the artifact's bytes, not its digest",
                scheme.name()
            )))
        }
    };
    verified.map_err(|e| bad_signature(key, e))
}

/// The artifact's digest with `algorithm` (hashing bytes or a stream), and
/// its bytes when they are at hand.
fn artifact_digest(artifact: Artifact<'_>, algorithm: oci::Algorithm) -> Result<(oci::Digest, Option<&[u8]>)> {
    let (digest, bytes) = match artifact {
        Artifact::Bytes(bytes) => {
            let mut hasher = oci::Hasher::new(algorithm);
            hasher.update(bytes);
            (hasher.finish(), Some(bytes))
        }
        Artifact::Digest(digest) => (digest, None),
        Artifact::Reader(reader) => {
            let (digest, _) = oci::Hasher::digest_reader(algorithm, reader)
                .map_err(|e| Error::failed(Check::ArtifactBinding, format!("reading the artifact: {e}")))?;
            (digest, None)
        }
    };
    // As the engine does: a digest of another algorithm than the one
    // signed cannot be the signed artifact.
    if digest.algorithm() != algorithm {
        return Err(Error::failed(
            Check::ArtifactBinding,
            format!("the artifact is given as a {} digest, but the signature covers its {} digest", digest.algorithm().name(), algorithm.name()),
        ));
    }
    Ok((digest, bytes))
}

fn bad_signature(key: &PublicKey, reason: impl std::fmt::Display) -> Error {
    Error::failed(Check::Signature, format!("signature does not verify with key {}: {reason}", key.fingerprint()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use sigstore_crypto::KeyPair;

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    fn keys() -> (KeyPair, PublicKey) {
        let pair = KeyPair::generate_ecdsa_p256().unwrap();
        let key = PublicKey::from_pem(&pair.public_key_der().unwrap().to_pem()).unwrap();
        (pair, key)
    }

    fn statement_about(digest: &oci::Digest) -> Vec<u8> {
        format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{}"}}}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{{}}}}"#,
            digest.hex()
        )
        .into_bytes()
    }

    /// A bundle as `cosign sign --key` writes it with a key-only signing config.
    fn dsse_bundle(signer: &KeyPair, payload: &[u8]) -> Bundle {
        let pae = sigstore_types::dsse::pae("application/vnd.in-toto+json", payload);
        let sig = signer.sign(&pae).unwrap();
        Bundle::from_json(&format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"k"}}}},"dsseEnvelope":{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[{{"sig":"{}"}}]}}}}"#,
            B64.encode(payload),
            B64.encode(sig.as_bytes())
        ))
        .unwrap()
    }

    /// A bundle as `cosign sign-blob --key --bundle` writes it without a log.
    fn message_bundle(signer: &KeyPair, message: &[u8], digest_of: &[u8]) -> Bundle {
        let sig = signer.sign(message).unwrap();
        Bundle::from_json(&format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"k"}}}},"messageSignature":{{"messageDigest":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":"{}"}}}}"#,
            B64.encode(oci::Digest::sha256_of(digest_of).as_bytes()),
            B64.encode(sig.as_bytes())
        ))
        .unwrap()
    }

    fn waived() -> Requirements {
        Requirements::default().without_transparency_log_unsafe()
    }

    fn refused_by(result: Result<()>) -> Check {
        result.expect_err("expected a refusal").check().expect("a named check")
    }

    #[test]
    fn a_dsse_bundle_verifies_with_its_key_and_names_its_subject() {
        let (pair, key) = keys();
        let image = oci::Digest::sha256_of(b"manifest");
        let bundle = dsse_bundle(&pair, &statement_about(&image));
        assert!(!has_signing_time_evidence(&bundle));
        verify(&bundle, Artifact::Digest(image.clone()), &key, &waived()).unwrap();

        let other = oci::Digest::sha256_of(b"another manifest");
        assert_eq!(refused_by(verify(&bundle, Artifact::Digest(other), &key, &waived())), Check::ArtifactBinding);
        let (_, stranger) = keys();
        assert_eq!(refused_by(verify(&bundle, Artifact::Digest(image.clone()), &stranger, &waived())), Check::Signature);
        let required = Requirements::default();
        let error = verify(&bundle, Artifact::Digest(image), &key, &required).unwrap_err();
        assert_eq!(error.check(), Some(Check::TransparencyLog));
        assert!(error.to_string().contains("transparencyLog: false"), "{error}");
    }

    #[test]
    fn a_message_signature_verifies_over_bytes_digest_or_stream() {
        let (pair, key) = keys();
        let blob = b"an artifact".as_slice();
        let bundle = message_bundle(&pair, blob, blob);
        verify(&bundle, Artifact::Bytes(blob), &key, &waived()).unwrap();
        verify(&bundle, Artifact::Digest(oci::Digest::sha256_of(blob)), &key, &waived()).unwrap();
        verify(&bundle, Artifact::Reader(Box::new(blob)), &key, &waived()).unwrap();

        let other = b"another artifact".as_slice();
        assert_eq!(refused_by(verify(&bundle, Artifact::Bytes(other), &key, &waived())), Check::ArtifactBinding);
        // The digest matches, the signature was made over something else.
        let forged = message_bundle(&pair, other, blob);
        assert_eq!(refused_by(verify(&forged, Artifact::Bytes(blob), &key, &waived())), Check::Signature);
        assert_eq!(refused_by(verify(&forged, Artifact::Reader(Box::new(blob)), &key, &waived())), Check::Signature);
    }
}
