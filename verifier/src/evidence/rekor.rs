//! Rekor v1 log entries as the bundle carries them, parsed only:
//!
//! - [`FetchedLogEntry`]: the entry fetched on the connected side for a
//!   cosign layer that carries only a SET (no inclusion proof): its index
//!   and UUID and the proof and signed checkpoint Rekor returned.
//!   `check::cosign` verifies the proof against the trusted Rekor key.
//! - [`EntryBody`]: the canonicalized JSON a SET signs, reduced to the key
//!   the entry records for its signer. The bundler verifies a key-signed
//!   cosign layer's log entry with that key ("log-verified"): the entry
//!   proves which key signed, not whose key it is.

use crate::{Error, Result};
use base64::Engine as _;
use oci::Digest;

/// A Rekor entry fetched at bundle time for a cosign layer carrying only a SET.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchedLogEntry {
    /// The signature layer it belongs to.
    pub layer: Digest,
    /// Its global log index.
    pub log_index: u64,
    /// Rekor's entry UUID (hex).
    pub uuid: String,
    /// The inclusion proof and signed checkpoint Rekor returned.
    pub inclusion_proof: InclusionProofJson,
}

/// An inclusion proof as Rekor serves it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionProofJson {
    /// The shard-local index the proof is for.
    pub log_index: u64,
    /// Tree size the proof is against.
    pub tree_size: u64,
    /// Root hash at that size (hex).
    pub root_hash: String,
    /// Audit path (hex).
    pub hashes: Vec<String>,
    /// The signed checkpoint (a signed note).
    pub checkpoint: String,
}

/// What a log entry body says about its signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBody {
    /// The entry kind (`hashedrekord`, `dsse`, `intoto`).
    pub kind: String,
    /// The entry kind's version (`0.0.1`, `0.0.2`).
    pub api_version: String,
    /// The signer's public key (or certificate) as the entry records it,
    /// PEM; `None` for a kind and version that records none airlock reads.
    pub public_key_pem: Option<String>,
}

#[derive(serde::Deserialize)]
struct Head {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

/// `hashedrekord` 0.0.1: `spec.signature.publicKey.content`.
#[derive(serde::Deserialize)]
struct HashedRekord {
    spec: HashedRekordSpec,
}

#[derive(serde::Deserialize)]
struct HashedRekordSpec {
    signature: HashedRekordSignature,
}

#[derive(serde::Deserialize)]
struct HashedRekordSignature {
    #[serde(rename = "publicKey")]
    public_key: HashedRekordKey,
}

#[derive(serde::Deserialize)]
struct HashedRekordKey {
    content: String,
}

/// `dsse` 0.0.1: `spec.signatures[].verifier`.
#[derive(serde::Deserialize)]
struct Dsse {
    spec: DsseSpec,
}

#[derive(serde::Deserialize)]
struct DsseSpec {
    signatures: Vec<DsseSignature>,
}

#[derive(serde::Deserialize)]
struct DsseSignature {
    verifier: String,
}

/// `intoto` 0.0.2: `spec.content.envelope.signatures[].publicKey`.
#[derive(serde::Deserialize)]
struct Intoto {
    spec: IntotoSpec,
}

#[derive(serde::Deserialize)]
struct IntotoSpec {
    content: IntotoContent,
}

#[derive(serde::Deserialize)]
struct IntotoContent {
    envelope: IntotoEnvelope,
}

#[derive(serde::Deserialize)]
struct IntotoEnvelope {
    signatures: Vec<IntotoSignature>,
}

#[derive(serde::Deserialize)]
struct IntotoSignature {
    #[serde(rename = "publicKey")]
    public_key: String,
}

impl EntryBody {
    /// Parse an entry body by its kind and version.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let malformed = |e: serde_json::Error| Error::malformed("Rekor entry body", e);
        let head: Head = serde_json::from_slice(body).map_err(malformed)?;
        let encoded = match (head.kind.as_str(), head.api_version.as_str()) {
            ("hashedrekord", "0.0.1") => {
                let entry: HashedRekord = serde_json::from_slice(body).map_err(malformed)?;
                Some(entry.spec.signature.public_key.content)
            }
            ("dsse", "0.0.1") => {
                let entry: Dsse = serde_json::from_slice(body).map_err(malformed)?;
                entry.spec.signatures.into_iter().next().map(|s| s.verifier)
            }
            ("intoto", "0.0.2") => {
                let entry: Intoto = serde_json::from_slice(body).map_err(malformed)?;
                entry.spec.content.envelope.signatures.into_iter().next().map(|s| s.public_key)
            }
            _ => None,
        };
        let public_key_pem = encoded.map(|text| decode_pem(&text)).transpose()?;
        Ok(Self {
            kind: head.kind,
            api_version: head.api_version,
            public_key_pem,
        })
    }
}

/// Rekor records keys as base64 of their PEM text.
fn decode_pem(text: &str) -> Result<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::malformed("Rekor entry body", format!("the public key is not base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Error::malformed("Rekor entry body", "the public key is not PEM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn reads_the_key_each_kind_records() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        let bodies = [
            serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
                "spec": {"data": {}, "signature": {"content": "", "publicKey": {"content": encode(pem)}}}}),
            serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse",
                "spec": {"signatures": [{"signature": "", "verifier": encode(pem)}]}}),
            serde_json::json!({"apiVersion": "0.0.2", "kind": "intoto",
                "spec": {"content": {"envelope": {"signatures": [{"publicKey": encode(pem)}]}}}}),
        ];
        for body in bodies {
            let parsed = EntryBody::parse(body.to_string().as_bytes()).unwrap();
            assert_eq!(parsed.public_key_pem.as_deref(), Some(pem), "{body}");
        }
    }

    #[test]
    fn says_when_there_is_no_key_and_refuses_what_does_not_parse() {
        let other = serde_json::json!({"apiVersion": "0.0.1", "kind": "rekord", "spec": {}});
        assert_eq!(EntryBody::parse(other.to_string().as_bytes()).unwrap().public_key_pem, None);
        assert!(EntryBody::parse(b"{}").is_err());
        let not_base64 = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"signature": {"publicKey": {"content": "!!"}}}});
        assert!(EntryBody::parse(not_base64.to_string().as_bytes()).unwrap_err().to_string().contains("base64"));
        let shape = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {"signature": 1}});
        assert!(matches!(EntryBody::parse(shape.to_string().as_bytes()), Err(Error::Malformed { .. })));
    }
}
