//! cosign's legacy signatures and attestations: one layer of a
//! `sha256-<hex>.sig` or `.att` manifest, with its annotations.
//!
//! A layer is normalised into a [`SigstoreBundle`] so that one checker
//! verifies both encodings: the layer signature becomes a message signature
//! (or the layer is a DSSE envelope), `dev.sigstore.cosign/certificate` and
//! `/chain` become the certificate chain, `/bundle` (Rekor's SET payload)
//! becomes a transparency-log entry with its inclusion promise, and
//! `/rfc3161timestamp` becomes a signed timestamp.

use super::sigstore::SigstoreBundle;
use crate::evidence::rekor::FetchedLogEntry;
use crate::{Check, Error, Result};
use base64::Engine as _;
use sigstore_types::bundle::{
    CertificateContent, CheckpointData, InclusionPromise, InclusionProof, LogId, MediaType, MessageDigest, MessageSignature,
    PublicKeyIdentifier, Rfc3161Timestamp, SignatureContent, TimestampVerificationData,
    TransparencyLogEntry, VerificationMaterial, VerificationMaterialContent, X509Certificate,
};
use sigstore_types::{
    Bundle, CanonicalizedBody, DerCertificate, DigestBytes, DsseEnvelope, HashAlgorithm, KindVersion,
    LogIndex, LogKeyId, Sha256Hash, SignatureBytes, SignedTimestamp, TimestampToken,
};
use std::collections::BTreeMap;

/// Media type of a cosign simple-signing payload (a `.sig` layer).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Media type of a DSSE envelope layer (an `.att` layer).
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// The annotation keys cosign uses on signature layers.
pub mod annotation {
    /// Base64 signature over the layer payload (empty for DSSE layers).
    pub const SIGNATURE: &str = "dev.cosignproject.cosign/signature";
    /// PEM signing certificate.
    pub const CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
    /// PEM certificate chain (intermediates, then root).
    pub const CHAIN: &str = "dev.sigstore.cosign/chain";
    /// JSON Rekor bundle: the SET and the entry it signs.
    pub const BUNDLE: &str = "dev.sigstore.cosign/bundle";
    /// JSON holding a base64 RFC 3161 timestamp response.
    pub const RFC3161_TIMESTAMP: &str = "dev.sigstore.cosign/rfc3161timestamp";
}

/// A layer is a signature payload: a few kilobytes, or an attestation.
const MAX_LAYER_BYTES: usize = 64 * 1024 * 1024;

/// One layer of a cosign signature or attestation manifest, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignLayer {
    /// The layer's media type.
    pub media_type: String,
    /// The layer blob: a simple-signing payload or a DSSE envelope.
    pub payload: Vec<u8>,
    /// The layer's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What a cosign layer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A signature over a simple-signing payload.
    Signature,
    /// A DSSE attestation.
    Attestation,
}

impl CosignLayer {
    /// Parse containers/image's on-disk form of one layer:
    /// `\0sigstore-json\n` then `{"mimeType", "payload" (base64), "annotations"}`.
    pub fn from_containers_image_file(bytes: &[u8]) -> Result<Self> {
        const MAGIC: &[u8] = b"\x00sigstore-json\n";
        let what = "containers/image sigstore signature";
        let json = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| Error::malformed(what, "missing the \\0sigstore-json header"))?;
        #[derive(serde::Deserialize)]
        struct Wire {
            #[serde(rename = "mimeType")]
            mime_type: String,
            payload: String,
            #[serde(default)]
            annotations: BTreeMap<String, String>,
        }
        let wire: Wire = serde_json::from_slice(json).map_err(|e| Error::malformed(what, e))?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(wire.payload)
            .map_err(|e| Error::malformed(what, format!("payload is not base64: {e}")))?;
        Ok(Self {
            media_type: wire.mime_type,
            payload,
            annotations: wire.annotations,
        })
    }

    /// Whether this layer is a signature or an attestation; `None` for any
    /// other attachment (an SBOM, say), which is not evidence of signing.
    pub fn kind(&self) -> Option<LayerKind> {
        match self.media_type.as_str() {
            SIMPLE_SIGNING_MEDIA_TYPE => Some(LayerKind::Signature),
            DSSE_MEDIA_TYPE => Some(LayerKind::Attestation),
            _ => None,
        }
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// A cosign layer parsed into its parts (unverified).
#[derive(Debug, Clone)]
pub struct CosignSignature {
    kind: LayerKind,
    content: SignatureContent,
    payload: Vec<u8>,
    certificate_chain: Vec<DerCertificate>,
    log_entry: Option<TransparencyLogEntry>,
    timestamp: Option<TimestampToken>,
}

impl CosignSignature {
    /// Parse a layer and its annotations.
    pub fn from_layer(layer: &CosignLayer) -> Result<Self> {
        if layer.payload.len() > MAX_LAYER_BYTES {
            return Err(Error::TooLarge {
                what: "cosign signature layer".into(),
                limit: MAX_LAYER_BYTES as u64,
            });
        }
        let kind = layer.kind().ok_or_else(|| {
            Error::Unsupported(format!(
                "layer media type {:?} is not a cosign signature ({SIMPLE_SIGNING_MEDIA_TYPE}) or attestation ({DSSE_MEDIA_TYPE})",
                layer.media_type
            ))
        })?;
        let content = match kind {
            LayerKind::Signature => SignatureContent::MessageSignature(message_signature(layer)?),
            LayerKind::Attestation => SignatureContent::DsseEnvelope(
                serde_json::from_slice::<DsseEnvelope>(&layer.payload)
                    .map_err(|e| Error::malformed("cosign attestation DSSE envelope", e))?,
            ),
        };
        let mut certificate_chain = Vec::new();
        if let Some(pem) = layer.annotation(annotation::CERTIFICATE) {
            certificate_chain.extend(pem_certificates(annotation::CERTIFICATE, pem)?.into_iter().take(1));
            if let Some(chain) = layer.annotation(annotation::CHAIN) {
                certificate_chain.extend(pem_certificates(annotation::CHAIN, chain)?);
            }
        }
        let log_entry = layer
            .annotation(annotation::BUNDLE)
            .map(rekor_bundle_entry)
            .transpose()?;
        let timestamp = layer
            .annotation(annotation::RFC3161_TIMESTAMP)
            .map(rfc3161_token)
            .transpose()?;
        Ok(Self {
            kind,
            content,
            payload: layer.payload.clone(),
            certificate_chain,
            log_entry,
            timestamp,
        })
    }

    /// Signature or attestation.
    pub fn kind(&self) -> LayerKind {
        self.kind
    }

    /// The signed payload bytes (simple-signing JSON, or the DSSE envelope).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Whether the signer is identified by a certificate.
    pub fn has_certificate(&self) -> bool {
        !self.certificate_chain.is_empty()
    }

    /// The signing certificate (`dev.sigstore.cosign/certificate`), DER,
    /// unverified.
    pub fn signing_certificate(&self) -> Option<&[u8]> {
        self.certificate_chain.first().map(|c| c.as_bytes())
    }

    /// The Rekor entry the layer's SET (`dev.sigstore.cosign/bundle`) signs,
    /// when the layer carries one. cosign layers never carry an inclusion
    /// proof; the bundler fetches one for this entry from Rekor.
    pub fn set_entry(&self) -> Option<SetEntry> {
        let entry = self.log_entry.as_ref().filter(|e| e.inclusion_promise.is_some())?;
        Some(SetEntry {
            log_index: entry.log_index.get(),
            log_id: hex::encode(entry.log_id.key_id.as_bytes()),
            integrated_time: entry.integrated_time,
            body: entry.canonicalized_body.as_bytes().to_vec(),
        })
    }

    /// This signature with the inclusion proof and signed checkpoint of a
    /// Rekor entry fetched for it at bundle time, so that the proof is
    /// verified together with the SET.
    ///
    /// The fetched entry must be the one the SET signs: the same global log
    /// index, and an entry UUID whose leaf hash is the RFC 6962 leaf hash of
    /// the body the SET signs. The proof itself is not checked here (parse
    /// only); [`crate::check`] verifies it against the trusted Rekor key.
    pub fn with_inclusion_proof(&self, fetched: &FetchedLogEntry) -> Result<Self> {
        let refused = |reason: String| Error::failed(Check::TransparencyLog, reason);
        let malformed = |reason: String| Error::malformed("fetched Rekor entry", reason);
        let Some(entry) = self.log_entry.as_ref() else {
            return Err(refused(format!(
                "a Rekor entry ({}) was recorded for a layer that carries no Rekor bundle",
                fetched.log_index
            )));
        };
        if entry.log_index.get() != fetched.log_index {
            return Err(refused(format!(
                "the fetched entry has log index {}, but the SET signs entry {}",
                fetched.log_index,
                entry.log_index.get()
            )));
        }
        let leaf = leaf_hash(entry.canonicalized_body.as_bytes());
        let uuid = fetched.uuid.to_ascii_lowercase();
        let uuid_leaf = match uuid.len() {
            64 => uuid.as_str(),
            // Rekor's sharded form: a 16-hex tree ID, then the leaf hash.
            80 => &uuid[16..],
            n => return Err(malformed(format!("entry UUID has {n} characters, expected 64 or 80 hex"))),
        };
        if uuid_leaf != leaf.hex() {
            return Err(refused(format!(
                "the fetched entry {} is not the entry the SET signs (its leaf hash is {})",
                fetched.uuid,
                leaf.hex()
            )));
        }
        let proof = &fetched.inclusion_proof;
        let hash = |what: &str, h: &str| Sha256Hash::from_hex(h).map_err(|e| malformed(format!("{what}: {e}")));
        let hashes = proof
            .hashes
            .iter()
            .map(|h| hash("inclusion proof hash", h))
            .collect::<Result<Vec<_>>>()?;
        let checkpoint = CheckpointData::new(proof.checkpoint.as_str())
            .map_err(|e| malformed(format!("checkpoint: {e}")))?;
        let log_index = LogIndex::new(proof.log_index).map_err(|e| malformed(format!("proof log index: {e}")))?;
        let inclusion = InclusionProof::new(log_index, hash("root hash", &proof.root_hash)?, proof.tree_size, hashes, checkpoint);
        let mut upgraded = self.clone();
        upgraded.log_entry = Some(entry.clone().with_inclusion_proof(inclusion));
        Ok(upgraded)
    }

    /// The equivalent Sigstore bundle: v0.1 when a Rekor SET is present (the
    /// only version that accepts a SET without an inclusion proof), v0.2
    /// otherwise. Both allow a certificate chain, which cosign layers carry.
    pub fn to_sigstore_bundle(&self) -> Result<SigstoreBundle> {
        let material = if self.certificate_chain.is_empty() {
            VerificationMaterialContent::PublicKey(PublicKeyIdentifier::new(""))
        } else if self.certificate_chain.len() == 1 {
            VerificationMaterialContent::Certificate(CertificateContent::new(
                self.certificate_chain[0].clone(),
            ))
        } else {
            VerificationMaterialContent::X509CertificateChain {
                certificates: self
                    .certificate_chain
                    .iter()
                    .cloned()
                    .map(X509Certificate::new)
                    .collect(),
            }
        };
        let media_type = if self.log_entry.is_some() {
            MediaType::Bundle0_1
        } else {
            MediaType::Bundle0_2
        };
        let material = VerificationMaterial::new(material)
            .with_tlog_entries(self.log_entry.iter().cloned().collect())
            .with_timestamp_verification_data(TimestampVerificationData::new(
                self.timestamp
                    .iter()
                    .cloned()
                    .map(Rfc3161Timestamp::new)
                    .collect(),
            ));
        SigstoreBundle::from_parsed(Bundle::new(media_type, material, self.content.clone()))
    }
}

/// The Rekor entry a cosign layer's SET signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEntry {
    /// Its global log index.
    pub log_index: u64,
    /// The log's ID (hex of the SHA-256 of its public key).
    pub log_id: String,
    /// When the log says it integrated the entry.
    pub integrated_time: Option<jiff::Timestamp>,
    /// The canonicalized entry body (JSON) the SET signs.
    pub body: Vec<u8>,
}

/// RFC 6962 leaf hash: SHA-256 of 0x00 then the entry body. Rekor's entry
/// UUID ends with it.
pub fn leaf_hash(body: &[u8]) -> oci::Digest {
    let mut hasher = oci::Hasher::new(oci::Algorithm::Sha256);
    hasher.update(&[0u8]);
    hasher.update(body);
    hasher.finish()
}

fn message_signature(layer: &CosignLayer) -> Result<MessageSignature> {
    let b64 = layer.annotation(annotation::SIGNATURE).ok_or_else(|| {
        Error::malformed("cosign signature layer", format!("no {} annotation", annotation::SIGNATURE))
    })?;
    // Go's base64 decoder, which cosign and containers/image use, skips line
    // breaks, and RSA signatures are often written wrapped at 76 columns.
    let unwrapped: String = b64.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let signature = SignatureBytes::from_base64(&unwrapped)
        .map_err(|e| Error::malformed(annotation::SIGNATURE, e))?;
    let digest = oci::Digest::sha256_of(&layer.payload);
    Ok(MessageSignature::new(signature).with_message_digest(MessageDigest::new(
        HashAlgorithm::Sha2256,
        DigestBytes::new(digest.as_bytes().to_vec()),
    )))
}

fn pem_certificates(what: &str, text: &str) -> Result<Vec<DerCertificate>> {
    let blocks = pem::parse_many(text).map_err(|e| Error::malformed(what, e))?;
    let certs: Vec<_> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| DerCertificate::new(b.into_contents()))
        .collect();
    if certs.is_empty() {
        return Err(Error::malformed(what, "no PEM CERTIFICATE block"));
    }
    Ok(certs)
}

/// cosign's `dev.sigstore.cosign/bundle`: Rekor's SET and the entry it signs.
fn rekor_bundle_entry(json: &str) -> Result<TransparencyLogEntry> {
    let what = annotation::BUNDLE;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct RekorBundle {
        signed_entry_timestamp: String,
        payload: Payload,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        body: String,
        integrated_time: i64,
        log_index: i64,
        #[serde(rename = "logID")]
        log_id: String,
    }
    #[derive(serde::Deserialize)]
    struct BodyKind {
        kind: String,
        #[serde(rename = "apiVersion")]
        api_version: String,
    }
    let bundle: RekorBundle = serde_json::from_str(json).map_err(|e| Error::malformed(what, e))?;
    let body = CanonicalizedBody::from_base64(&bundle.payload.body)
        .map_err(|e| Error::malformed(what, format!("body: {e}")))?;
    let body_kind: BodyKind = serde_json::from_slice(body.as_bytes())
        .map_err(|e| Error::malformed(what, format!("body: {e}")))?;
    let kind_version: KindVersion = serde_json::from_value(serde_json::json!({
        "kind": body_kind.kind, "version": body_kind.api_version
    }))
    .map_err(|e| Error::Unsupported(format!("{what}: {e}")))?;
    let log_id = hex::decode(&bundle.payload.log_id)
        .map_err(|e| Error::malformed(what, format!("logID is not hex: {e}")))?;
    let log_index = LogIndex::try_from(bundle.payload.log_index)
        .map_err(|e| Error::malformed(what, format!("logIndex: {e}")))?;
    let integrated_time = jiff::Timestamp::from_second(bundle.payload.integrated_time)
        .map_err(|e| Error::malformed(what, format!("integratedTime: {e}")))?;
    let set = SignedTimestamp::from_base64(&bundle.signed_entry_timestamp)
        .map_err(|e| Error::malformed(what, format!("SignedEntryTimestamp: {e}")))?;
    Ok(
        TransparencyLogEntry::new(log_index, LogId::new(LogKeyId::new(log_id)), kind_version, body)
            .with_integrated_time(integrated_time)
            .with_inclusion_promise(InclusionPromise::new(set)),
    )
}

/// cosign's `dev.sigstore.cosign/rfc3161timestamp`: `{"SignedRFC3161Timestamp": base64}`.
fn rfc3161_token(json: &str) -> Result<TimestampToken> {
    let what = annotation::RFC3161_TIMESTAMP;
    #[derive(serde::Deserialize)]
    struct Wire {
        #[serde(rename = "SignedRFC3161Timestamp")]
        signed: String,
    }
    let wire: Wire = serde_json::from_str(json).map_err(|e| Error::malformed(what, e))?;
    TimestampToken::from_base64(&wire.signed).map_err(|e| Error::malformed(what, e))
}

/// cosign's simple-signing payload: what a `.sig` layer signs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleSigning {
    /// `critical.image.docker-manifest-digest`: the signed image manifest.
    pub manifest_digest: oci::Digest,
    /// `critical.identity.docker-reference`: the repository it was signed as.
    pub docker_reference: String,
    /// `optional`: signer-chosen annotations.
    pub optional: BTreeMap<String, serde_json::Value>,
}

impl SimpleSigning {
    /// The `critical.type` every cosign signature payload carries.
    pub const TYPE: &'static str = "cosign container image signature";

    /// The payload cosign signs for `digest` pulled as `docker_reference`,
    /// with signer annotations `optional` (`null` when empty, as cosign
    /// writes it), in cosign's key order. The same inputs always give the
    /// same bytes: what the site's re-signing signs.
    pub fn payload(docker_reference: &str, digest: &oci::Digest, optional: &BTreeMap<String, String>) -> Vec<u8> {
        let wire = SimpleSigningWire {
            critical: Critical {
                identity: Identity { docker_reference: docker_reference.to_string() },
                image: Image { docker_manifest_digest: digest.to_string() },
                kind: Self::TYPE.to_string(),
            },
            optional: (!optional.is_empty())
                .then(|| optional.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect()),
        };
        serde_json::to_vec(&wire).expect("payload serialises")
    }

    /// Parse a simple-signing payload.
    pub fn parse(payload: &[u8]) -> Result<Self> {
        let what = "cosign simple-signing payload";
        let wire: SimpleSigningWire = serde_json::from_slice(payload).map_err(|e| Error::malformed(what, e))?;
        if wire.critical.kind != Self::TYPE {
            return Err(Error::malformed(
                what,
                format!("critical.type is {:?}, expected {:?}", wire.critical.kind, Self::TYPE),
            ));
        }
        let manifest_digest = wire
            .critical
            .image
            .docker_manifest_digest
            .parse()
            .map_err(|e| Error::malformed(what, e))?;
        Ok(Self {
            manifest_digest,
            docker_reference: wire.critical.identity.docker_reference,
            optional: wire.optional.unwrap_or_default(),
        })
    }
}

/// The simple-signing payload as written, fields in cosign's order.
#[derive(serde::Serialize, serde::Deserialize)]
struct SimpleSigningWire {
    critical: Critical,
    #[serde(default)]
    optional: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_requires_the_cosign_type_and_a_digest() {
        let good = br#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},"type":"cosign container image signature"},"optional":null}"#;
        let parsed = SimpleSigning::parse(good).unwrap();
        assert_eq!(parsed.manifest_digest, oci::Digest::sha256_of(b"hello"));
        let wrong_type = String::from_utf8_lossy(good).replace("cosign container image signature", "x");
        assert!(SimpleSigning::parse(wrong_type.as_bytes()).is_err());
        let bad_digest = String::from_utf8_lossy(good).replace("sha256:2cf2", "sha256:XXXX");
        assert!(SimpleSigning::parse(bad_digest.as_bytes()).is_err());
    }

    #[test]
    fn payload_is_cosigns_shape_and_deterministic() {
        let d = oci::Digest::sha256_of(b"image");
        let p = SimpleSigning::payload("reg.site/mirror/app", &d, &BTreeMap::new());
        assert_eq!(
            String::from_utf8(p.clone()).unwrap(),
            format!(r#"{{"critical":{{"identity":{{"docker-reference":"reg.site/mirror/app"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#)
        );
        let parsed = SimpleSigning::parse(&p).unwrap();
        assert_eq!(parsed.manifest_digest, d);
        let optional = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())]);
        let with = String::from_utf8(SimpleSigning::payload("r", &d, &optional)).unwrap();
        assert!(with.ends_with(r#""optional":{"a":"1","b":"2"}}"#), "{with}");
        assert_eq!(SimpleSigning::payload("r", &d, &optional), SimpleSigning::payload("r", &d, &optional));
    }

    #[test]
    fn other_attachments_are_not_signatures() {
        let layer = CosignLayer {
            media_type: "text/plain".into(),
            payload: b"hi".to_vec(),
            annotations: BTreeMap::new(),
        };
        assert!(matches!(CosignSignature::from_layer(&layer), Err(Error::Unsupported(_))));
    }

    #[test]
    fn a_signature_layer_needs_its_signature_annotation() {
        let layer = CosignLayer {
            media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
            payload: b"{}".to_vec(),
            annotations: BTreeMap::new(),
        };
        assert!(matches!(CosignSignature::from_layer(&layer), Err(Error::Malformed { .. })));
    }
}
