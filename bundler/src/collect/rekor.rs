//! Rekor entries for cosign layers that carry only a SET (connected only).
//!
//! A legacy cosign signature carries Rekor's signed entry timestamp (SET)
//! and the entry it signs, but no inclusion proof. The bundler asks Rekor
//! for that entry (`GET /api/v1/log/entries?logIndex=N`, falling back to
//! `GET /api/v1/log/entries/<uuid>` by the leaf hash of the SET's body) and
//! keeps its fresh inclusion proof and signed checkpoint, so the disconnected
//! side can check that the entry really is in the log.
//!
//! Which Rekor is asked ([`Rekors`]): the operator's `--rekor-url` when
//! given, else the log the trust root lists under the SET's log ID
//! (`tlogs[].baseUrl`), so a private Sigstore's own trusted root is all a
//! bundle run needs.
//!
//! Here the answer is only compared with the SET: the same body, log index,
//! log ID and integrated time. The proof and checkpoint are verified by the
//! self-check through `verifier::check` before anything is stored.

use oci::Digest;
use std::collections::BTreeMap;
use std::time::Duration;
use trust_roots::VerifiedTrustRoot;
use verifier::evidence::rekor::{FetchedLogEntry, InclusionProofJson};
use verifier::evidence::cosign::{leaf_hash, SetEntry};

/// A Rekor entry with its proof is a few kilobytes; an intoto entry with a
/// large attestation stays far below this.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Why an entry could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Rekor does not have it (by index nor by UUID).
    NotFound,
    /// Rekor could not be reached, refused, or answered something unreadable.
    Transport(String),
    /// Rekor's entry is not the one the SET signs.
    Mismatch {
        /// `body`, `logIndex`, `logID` or `integratedTime`.
        field: &'static str,
        /// What the SET says.
        expected: String,
        /// What Rekor returned.
        found: String,
    },
}

/// The Rekor each SET's log is read from.
#[derive(Debug)]
pub struct Rekors {
    /// `--rekor-url`: every log is read there.
    operator: Option<RekorClient>,
    /// Hex log ID → the log's `baseUrl` in the trust root, or why it is
    /// not a URL airlock can read.
    by_log_id: BTreeMap<String, Result<RekorClient, NoRekor>>,
}

/// Why no Rekor can be asked for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRekor {
    /// The URL the trust root gives, if any.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl Rekors {
    /// The operator's Rekor for every log when `operator` is given, else
    /// each log at the URL `trust` lists for it.
    pub fn new(operator: Option<RekorClient>, trust: &VerifiedTrustRoot) -> Self {
        let by_log_id = trust
            .trusted_root()
            .tlogs
            .iter()
            .map(|log| {
                let client = RekorClient::new(&log.base_url).map_err(|e| NoRekor {
                    url: log.base_url.clone(),
                    reason: format!("the trust root's baseUrl for this log cannot be read: {e:?}"),
                });
                (hex::encode(log.log_id.key_id.as_bytes()), client)
            })
            .collect();
        Self { operator, by_log_id }
    }

    /// The Rekor to read the log with hex ID `log_id` from.
    pub fn for_log(&self, log_id: &str) -> Result<&RekorClient, NoRekor> {
        if let Some(operator) = &self.operator {
            return Ok(operator);
        }
        match self.by_log_id.get(&log_id.to_ascii_lowercase()) {
            Some(Ok(client)) => Ok(client),
            Some(Err(e)) => Err(e.clone()),
            None => Err(NoRekor {
                url: String::new(),
                reason: format!("log {log_id} is not in the trust root, and no --rekor-url was given"),
            }),
        }
    }
}

/// A Rekor v1 read-API client.
#[derive(Clone)]
pub struct RekorClient {
    base: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for RekorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RekorClient({})", self.base)
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEntry {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: String,
    log_index: i64,
    verification: Option<Verification>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    inclusion_proof: Option<WireProof>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProof {
    log_index: u64,
    tree_size: u64,
    root_hash: String,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: String,
}

impl RekorClient {
    /// A client for the Rekor at `url` (`https://rekor.sigstore.dev`; plain
    /// `http://` only for loopback test logs, which the caller chose).
    pub fn new(url: &str) -> Result<Self, FetchError> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(FetchError::Transport(format!("{url:?} is not an http(s) URL")));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(Self { base, http })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Fetch the entry `set` names and check it is that entry; returns it
    /// with its fresh inclusion proof and signed checkpoint, for `layer`.
    pub async fn fetch(&self, set: &SetEntry, layer: &Digest) -> Result<FetchedLogEntry, FetchError> {
        let by_index = format!("{}/api/v1/log/entries?logIndex={}", self.base, set.log_index);
        let (uuid, entry) = match self.get(&by_index).await? {
            Some(found) => found,
            None => {
                let by_uuid = format!("{}/api/v1/log/entries/{}", self.base, leaf_hash(&set.body).hex());
                self.get(&by_uuid).await?.ok_or(FetchError::NotFound)?
            }
        };
        let body = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, entry.body.trim())
            .map_err(|e| FetchError::Transport(format!("entry body is not base64: {e}")))?;
        if body != set.body {
            return Err(FetchError::Mismatch {
                field: "body",
                expected: format!("{} bytes, sha256 {}", set.body.len(), Digest::sha256_of(&set.body).hex()),
                found: format!("{} bytes, sha256 {}", body.len(), Digest::sha256_of(&body).hex()),
            });
        }
        if u64::try_from(entry.log_index).ok() != Some(set.log_index) {
            return Err(FetchError::Mismatch {
                field: "logIndex",
                expected: set.log_index.to_string(),
                found: entry.log_index.to_string(),
            });
        }
        if !entry.log_id.eq_ignore_ascii_case(&set.log_id) {
            return Err(FetchError::Mismatch {
                field: "logID",
                expected: set.log_id.clone(),
                found: entry.log_id,
            });
        }
        if let Some(time) = set.integrated_time {
            if time.as_second() != entry.integrated_time {
                return Err(FetchError::Mismatch {
                    field: "integratedTime",
                    expected: time.as_second().to_string(),
                    found: entry.integrated_time.to_string(),
                });
            }
        }
        let proof = entry
            .verification
            .and_then(|v| v.inclusion_proof)
            .ok_or_else(|| FetchError::Transport("Rekor returned the entry without an inclusion proof".into()))?;
        Ok(FetchedLogEntry {
            layer: layer.clone(),
            log_index: set.log_index,
            uuid: uuid.to_ascii_lowercase(),
            inclusion_proof: InclusionProofJson {
                log_index: proof.log_index,
                tree_size: proof.tree_size,
                root_hash: proof.root_hash.to_ascii_lowercase(),
                hashes: proof.hashes.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
                checkpoint: proof.checkpoint,
            },
        })
    }

    /// One `{uuid: entry}` answer; `None` on 404.
    async fn get(&self, url: &str) -> Result<Option<(String, WireEntry)>, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport(oci::error_chain(&e));
        let mut response = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::Transport(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(FetchError::Transport(format!("HTTP {status}: {text}")));
        }
        let mut entries: std::collections::BTreeMap<String, WireEntry> =
            serde_json::from_slice(&bytes).map_err(|e| FetchError::Transport(format!("answer is not a Rekor entry: {e}")))?;
        if entries.len() > 1 {
            return Err(FetchError::Transport(format!("{} entries in the answer, expected one", entries.len())));
        }
        Ok(entries.pop_first())
    }
}
