//! Rekor entries fetched on the connected side for cosign layers that carry
//! only a SET (no inclusion proof): the entry's index and UUID and the
//! proof and signed checkpoint Rekor returned, as the bundle manifest
//! carries them. Parsed only; `check::cosign` verifies the proof against
//! the trusted Rekor key.
//!
//! A leaf module: the bundle manifest (which carries these) and the
//! evidence and checks (which use them) both depend on it, and it on
//! neither.

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
