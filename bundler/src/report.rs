//! What `bundle create` did, as data: the CLI renders it as text or JSON.

use crate::fetch::FetchStats;
use crate::request::{Created, Inputs};
use crate::resolve::Child;
use crate::sboms::BundleImage;
use crate::selfcheck::{LayerCheck, Status};
use crate::trust::Trust;
use crate::write::Staged;
use oci::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use verifier::bundle::archive::Compression;
use verifier::bundle::manifest::{EvidenceSource, PlatformEntry, SbomFormat, SbomSource, TrustMaterial};
use verifier::policy::eval::ImageVerdict;

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
    /// With `--images-from-sbom`: the SBOM that named the image set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_from_sbom: Option<ImagesFromSbom>,
    /// With `--policy`: every image's verdict, evaluated as the site will.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Vec<verifier::policy::eval::ImageVerdict>>,
    /// With `--advisories`: the snapshot carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisories: Option<crate::advisories::Carried>,
    /// The airlock that wrote it.
    pub airlock_version: &'static str,
}

/// The release SBOM that named the image set, and where the bundle carries it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagesFromSbom {
    /// The file as given.
    pub file: PathBuf,
    /// sha256 of its bytes (also in the bundle manifest's file list).
    pub sha256: Digest,
    /// Its path in the bundle.
    pub carried_as: &'static str,
    /// The references it named.
    pub images: Vec<String>,
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
    pub platforms: Vec<PlatformEntry>,
    /// Children left out by `--platform`.
    pub dropped_platforms: Vec<PlatformEntry>,
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

/// What the phases produced, for the report.
pub(crate) struct Outcome<'a> {
    /// The request's inputs, read (the signing key, the bundle extended).
    pub inputs: &'a Inputs,
    /// The creation time.
    pub created: Created,
    /// The trust material carried.
    pub trust: &'a Trust,
    /// Every image as carried.
    pub images: &'a [BundleImage],
    /// What fetching did.
    pub fetch: FetchStats,
    /// The bundle written.
    pub staged: &'a Staged,
    /// With `--policy`: every image's verdict.
    pub policy: Option<Vec<ImageVerdict>>,
    /// With `--advisories`: the snapshot carried.
    pub advisories: Option<crate::advisories::Carried>,
    /// Where it went.
    pub output: OutputReport,
}

/// The report of a finished bundle.
pub(crate) fn build(outcome: Outcome<'_>) -> Report {
    let mut warnings = Vec::new();
    let mut images: Vec<ImageReport> = outcome.images.iter().map(|image| image_report(image, &mut warnings)).collect();
    images.sort_by(|a, b| a.reference.cmp(&b.reference));
    Report {
        media_type: MEDIA_TYPE,
        bundle_id: outcome.staged.id.clone(),
        output: outcome.output,
        created: outcome.created.at(),
        created_pinned: matches!(outcome.created, Created::Pinned(_)),
        extends: outcome.inputs.previous.as_ref().map(|p| p.id.clone()),
        trust: trust_report(outcome.trust, outcome.staged.trust_files.clone()),
        transfer_key: outcome.inputs.sign_key.as_ref().map(|k| k.fingerprint().to_string()),
        images,
        blobs: blob_report(outcome.images, outcome.staged, outcome.fetch),
        warnings,
        images_from_sbom: outcome.inputs.release_sbom.as_ref().map(|s| ImagesFromSbom {
            file: s.path.clone(),
            sha256: s.listed.sha256.clone(),
            carried_as: crate::release_sbom::PATH,
            images: s.references().map(ToString::to_string).collect(),
        }),
        policy: outcome.policy,
        advisories: outcome.advisories,
        airlock_version: env!("CARGO_PKG_VERSION"),
    }
}

/// One image, with its warnings (also added to `all`, prefixed with the
/// reference): nothing found, or nothing that could be verified.
fn image_report(image: &BundleImage, all: &mut Vec<String>) -> ImageReport {
    let r = &image.image;
    let mut summary = SelfCheckSummary::default();
    let mut warnings = Vec::new();
    let evidence: Vec<EvidenceReport> = image
        .evidence
        .iter()
        .map(|e| {
            e.check.layers.iter().for_each(|layer| summary.add(layer.status));
            warnings.extend(e.check.warnings.iter().cloned());
            let found = &e.collected.found;
            EvidenceReport {
                kind: found.kind.name(),
                subject: found.subject.clone(),
                manifest: found.descriptor.digest.clone(),
                source: found.source,
                artifact_type: found.artifact_type.clone(),
                layers: e.check.layers.clone(),
            }
        })
        .collect();
    if evidence.is_empty() {
        warnings.push(format!(
            "no signatures, attestations, SBOMs or referrers were found for {} ({}){}: the bundle carries the image without evidence",
            r.reference,
            r.digest(),
            if r.platforms.is_empty() { "" } else { " or any of its platforms" }
        ));
    } else if summary.verified + summary.log_verified == 0 {
        warnings.push(format!("no signature of {} could be verified on this side (see each layer's reason)", r.reference));
    }
    all.extend(warnings.iter().map(|w| format!("{}: {w}", r.reference)));
    ImageReport {
        reference: r.reference.to_string(),
        digest: r.digest().clone(),
        media_type: r.graph.root.media_type.clone(),
        platforms: r.platforms.iter().map(Child::entry).collect(),
        dropped_platforms: r.dropped.iter().map(Child::entry).collect(),
        log_entries_fetched: image.evidence.iter().map(|e| e.check.log_entries.len()).sum(),
        evidence,
        sboms: image.sboms.iter().map(|s| SbomReport::from(&s.entry)).collect(),
        self_check: summary,
        warnings,
    }
}

impl From<&verifier::bundle::manifest::SbomEntry> for SbomReport {
    fn from(s: &verifier::bundle::manifest::SbomEntry) -> Self {
        Self {
            format: s.format,
            subject: s.subject.clone(),
            source: s.source,
            blob: s.blob.clone(),
            file: s.file.clone(),
        }
    }
}

/// Blob totals; `shared` counts the blobs (and manifests) more than one
/// image needs.
fn blob_report(images: &[BundleImage], staged: &Staged, fetch: FetchStats) -> BlobReport {
    let mut users: BTreeMap<&Digest, BTreeSet<usize>> = BTreeMap::new();
    for (i, image) in images.iter().enumerate() {
        let graphs = image.graphs().flat_map(|(g, _)| g.manifests.iter().map(|m| m.digest()).chain(g.blobs.iter().map(|b| &b.digest)));
        for digest in graphs.chain(image.sboms.iter().map(|s| &s.entry.blob)) {
            users.entry(digest).or_default().insert(i);
        }
    }
    let blobs = &staged.manifest.blobs;
    let carried: Vec<_> = blobs.iter().filter(|b| b.carried).collect();
    BlobReport {
        count: blobs.len(),
        bytes: blobs.iter().map(|b| b.size).sum(),
        carried: carried.len(),
        carried_bytes: carried.iter().map(|b| b.size).sum(),
        not_carried: blobs.len() - carried.len(),
        shared: users.values().filter(|u| u.len() > 1).count(),
        fetch,
    }
}

fn trust_report(trust: &Trust, files: Vec<String>) -> TrustReport {
    let (kind, mirror, source) = match &trust.material {
        TrustMaterial::Tuf { mirror, .. } => ("tuf", Some(mirror.clone()), "TUF snapshot verified from the pinned root at fetch time"),
        _ => ("trusted-root", None, "hand-managed trusted_root.json carried as is: no TUF chain was checked"),
    };
    TrustReport {
        kind,
        mirror,
        tuf_chain_checked: kind == "tuf",
        trusted_root_digest: trust.root.digest(),
        source: source.to_string(),
        files,
    }
}
