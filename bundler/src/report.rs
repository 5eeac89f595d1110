//! What `bundle create` did, as data: the CLI renders it as text or JSON.

use crate::selfcheck::{LayerCheck, Status};
use crate::write::layout::FetchStats;
use oci::Digest;
use std::path::PathBuf;
use verifier::bundle::archive::Compression;
use verifier::bundle::manifest::{EvidenceSource, SbomFormat, SbomSource};

/// Media type of the `--output json` report.
pub const MEDIA_TYPE: &str = "application/vnd.airlock.bundle-create.report.v1+json";

/// The result of `bundle create`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`MEDIA_TYPE`].
    pub media_type: &'static str,
    /// The bundle id: sha256 of `airlock/manifest.json`.
    pub bundle_id: Digest,
    /// Where the bundle was written.
    pub output: OutputReport,
    /// The creation time recorded.
    pub created: jiff::Timestamp,
    /// Whether `created` was pinned with `--created`.
    pub created_pinned: bool,
    /// The bundle this one extends (`--since`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<Digest>,
    /// The trust material carried.
    pub trust: TrustReport,
    /// The transfer key's fingerprint, when the manifest was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_key: Option<String>,
    /// One per requested reference, sorted by reference.
    pub images: Vec<ImageReport>,
    /// Blob totals.
    pub blobs: BlobReport,
    /// Things the operator should know.
    pub warnings: Vec<String>,
    /// With `--policy`: every image's verdict, evaluated as the site will.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Vec<verifier::policy::eval::ImageVerdict>>,
    /// The airlock that wrote it.
    pub airlock_version: &'static str,
}

/// Where the bundle is.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputReport {
    /// `directory`, `archive` or `volumes`.
    pub form: &'static str,
    /// The `--out` path.
    pub path: PathBuf,
    /// For archives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// The files written: the archive, or every volume.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PathBuf>,
    /// Total bytes written (the archive or volumes; the directory's files).
    pub bytes: u64,
}

/// The trust material.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustReport {
    /// `tuf` or `trusted-root`.
    pub kind: &'static str,
    /// The TUF mirror, for `tuf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Whether a TUF chain was checked (false for a hand-managed root).
    pub tuf_chain_checked: bool,
    /// sha256 of the trusted_root.json used.
    pub trusted_root_digest: String,
    /// In words.
    pub source: String,
    /// The files carried in `airlock/trust/`.
    pub files: Vec<String>,
}

/// One requested image.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    /// As requested.
    pub reference: String,
    /// What it resolved to.
    pub digest: Digest,
    /// Media type of the manifest or index.
    pub media_type: String,
    /// Children carried.
    pub platforms: Vec<PlatformReport>,
    /// Children left out by `--platform`.
    pub dropped_platforms: Vec<PlatformReport>,
    /// Every evidence manifest found, with its self-check.
    pub evidence: Vec<EvidenceReport>,
    /// SBOMs carried.
    pub sboms: Vec<SbomReport>,
    /// Rekor entries fetched (with fresh proofs).
    pub log_entries_fetched: usize,
    /// Self-check totals over every layer of every evidence manifest.
    pub self_check: SelfCheckSummary,
    /// Things the operator should know about this image (nothing found!).
    pub warnings: Vec<String>,
}

/// A platform child.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlatformReport {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Its digest.
    pub digest: Digest,
}

/// One evidence manifest.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceReport {
    /// `cosign-signature`, `cosign-attestation`, `cosign-sbom`,
    /// `sigstore-bundle`, `referrer`.
    pub kind: &'static str,
    /// What it is attached to.
    pub subject: Digest,
    /// Its manifest.
    pub manifest: Digest,
    /// Where it was found.
    pub source: EvidenceSource,
    /// For referrers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The self-check of each layer.
    pub layers: Vec<LayerCheck>,
}

/// One SBOM.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomReport {
    /// Its format.
    pub format: SbomFormat,
    /// What it describes.
    pub subject: Digest,
    /// Where it came from.
    pub source: SbomSource,
    /// Its blob.
    pub blob: Digest,
    /// Its name in `sboms.tar.gz`.
    pub file: String,
}

/// Self-check totals.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfCheckSummary {
    /// Layers fully verified.
    pub verified: usize,
    /// Key-signed layers whose Rekor entry verified.
    pub log_verified: usize,
    /// Layers not checked (see each layer's reason).
    pub not_checked: usize,
}

impl SelfCheckSummary {
    /// Count one layer.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Verified => self.verified += 1,
            Status::LogVerified => self.log_verified += 1,
            Status::NotChecked => self.not_checked += 1,
        }
    }
}

/// Blob totals.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobReport {
    /// Blobs listed in the manifest (each once).
    pub count: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Blobs carried in this bundle.
    pub carried: usize,
    /// Their bytes.
    pub carried_bytes: u64,
    /// Blobs left out because the bundle it extends has them.
    pub not_carried: usize,
    /// Blobs needed by more than one image, stored once.
    pub shared: usize,
    /// What fetching did (downloaded versus reused from an earlier run).
    pub fetch: FetchStats,
}
