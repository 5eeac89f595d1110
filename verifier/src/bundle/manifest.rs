//! The bundle manifest, `airlock/manifest.json`: every image, piece of
//! evidence, blob and file in a bundle, by digest. Its sha256 is the bundle
//! id, and the transfer signature covers it.

use crate::evidence::rekor::FetchedLogEntry;
use crate::{Error, Result};
use oci::Digest;
use std::collections::BTreeSet;

/// Media type of a v1 bundle manifest.
pub const MEDIA_TYPE: &str = "application/vnd.airlock.bundle.manifest.v1+json";
/// Where the manifest lives in a bundle.
pub const PATH: &str = "airlock/manifest.json";
/// Where the optional transfer signature lives.
pub const SIGNATURE_PATH: &str = "airlock/manifest.json.sig";
/// Directory of the carried trust material.
pub const TRUST_DIR: &str = "airlock/trust";
/// The SBOM convenience archive.
pub const SBOMS_PATH: &str = "sboms.tar.gz";
/// Directory of the carried advisories snapshot (`bundle create --advisories`).
pub const ADVISORIES_DIR: &str = "airlock/advisories";
/// The release SBOM that named the bundle's images
/// (`bundle create --images-from-sbom`), carried as given.
pub const IMAGES_FROM_SBOM_PATH: &str = "airlock/images-from-sbom";

/// Thousands of images with their blobs fit in a few megabytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// The bundle manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleManifest {
    /// Always [`MEDIA_TYPE`].
    pub media_type: String,
    /// When the bundle was made.
    pub created: jiff::Timestamp,
    /// The airlock that wrote it.
    pub tool: Tool,
    /// The bundle this one extends, for incremental bundles.
    pub extends: Option<Extends>,
    /// The trust material carried in `airlock/trust/`.
    pub trust: TrustMaterial,
    /// One entry per requested reference, sorted by reference.
    pub images: Vec<ImageEntry>,
    /// Every blob the images and evidence need, sorted by digest.
    pub blobs: Vec<BlobEntry>,
    /// Every other file, sorted by path.
    pub files: Vec<FileEntry>,
    /// The advisories snapshot carried, if any (its files are in `files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<Advisories>,
}

/// An OSV advisories snapshot (written by `airlock advisories fetch`)
/// carried in [`ADVISORIES_DIR`]. Its files are listed in `files` like any
/// other, so the content check and the transfer signature cover them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Advisories {
    /// Its directory in the bundle: always [`ADVISORIES_DIR`].
    pub path: String,
}

/// The tool that wrote a bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `airlock`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The previous bundle in an incremental chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extends {
    /// Its bundle id (the sha256 of its manifest).
    pub bundle: Digest,
}

/// How the bundle carries trust material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TrustMaterial {
    /// A TUF snapshot written by `airlock trust fetch`.
    Tuf {
        /// Its directory in the bundle.
        path: String,
        /// The mirror it was fetched from (informational).
        mirror: String,
    },
    /// A hand-managed trusted_root.json, carried as is (no TUF chain).
    TrustedRoot {
        /// Its path in the bundle.
        path: String,
    },
}

/// One requested image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    /// The reference as the operator requested it.
    pub reference: String,
    /// What it resolved to at bundle time.
    pub digest: Digest,
    /// Media type of the manifest or index at `digest`.
    pub media_type: String,
    /// For an index: the children carried.
    #[serde(default)]
    pub platforms: Vec<PlatformEntry>,
    /// For an index: the children left out by a platform filter.
    #[serde(default)]
    pub dropped_platforms: Vec<PlatformEntry>,
    /// Every signature, attestation and referrer found.
    #[serde(default)]
    pub evidence: Vec<EvidenceEntry>,
    /// SBOMs for the image.
    #[serde(default)]
    pub sboms: Vec<SbomEntry>,
}

/// A platform child of an index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformEntry {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The child manifest.
    pub digest: Digest,
}

/// What kind of evidence a manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// cosign `sha256-<hex>.sig`.
    CosignSignature,
    /// cosign `sha256-<hex>.att`.
    CosignAttestation,
    /// cosign `sha256-<hex>.sbom`.
    CosignSbom,
    /// An OCI 1.1 referrer carrying a Sigstore bundle.
    SigstoreBundle,
    /// Any other referrer.
    Referrer,
}

impl EvidenceKind {
    /// The name used in index.json annotations and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::CosignSignature => "cosign-signature",
            Self::CosignAttestation => "cosign-attestation",
            Self::CosignSbom => "cosign-sbom",
            Self::SigstoreBundle => "sigstore-bundle",
            Self::Referrer => "referrer",
        }
    }
}

/// Where the bundler found a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    /// cosign's `sha256-<hex>.{sig,att,sbom}` tags.
    Tag,
    /// The registry's referrers API.
    ReferrersApi,
    /// The OCI 1.1 referrers tag-schema fallback.
    ReferrersTag,
}

/// One evidence manifest and what it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvidenceEntry {
    /// What it is.
    pub kind: EvidenceKind,
    /// The image, index or platform child it is attached to.
    pub subject: Digest,
    /// Its own manifest digest.
    pub manifest: Digest,
    /// Where it was found.
    pub source: EvidenceSource,
    /// For referrers: the artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Rekor entries fetched with fresh proofs for SET-only cosign layers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_entries: Vec<FetchedLogEntry>,
}

/// SBOM document formats (defined where SBOMs are parsed).
pub use crate::evidence::sbom::SbomFormat;

/// Where an SBOM came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomSource {
    /// The predicate of an SBOM attestation.
    Attestation,
    /// A cosign `.sbom` attachment.
    Attachment,
    /// An SBOM referrer.
    Referrer,
    /// Supplied by the operator with `--sbom FILE=IMAGE`.
    Operator,
}

impl SbomSource {
    /// The name used in the manifest and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Attestation => "attestation",
            Self::Attachment => "attachment",
            Self::Referrer => "referrer",
            Self::Operator => "operator",
        }
    }
}

/// One SBOM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbomEntry {
    /// Its format.
    pub format: SbomFormat,
    /// The image, index or platform child it describes.
    pub subject: Digest,
    /// Its blob.
    pub blob: Digest,
    /// Where it came from.
    pub source: SbomSource,
    /// Its name inside `sboms.tar.gz`.
    pub file: String,
}

/// One blob.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobEntry {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// `false` when left out of an incremental bundle.
    pub carried: bool,
}

/// One non-blob file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its path in the bundle.
    pub path: String,
    /// Its sha256.
    pub sha256: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A manifest as read from a bundle, with its id.
#[derive(Debug, Clone)]
pub struct ParsedManifest {
    /// The manifest.
    pub manifest: BundleManifest,
    /// Its bundle id: the sha256 of its bytes.
    pub id: Digest,
}

impl BundleManifest {
    /// Parse and structurally check manifest bytes.
    pub fn parse(bytes: &[u8]) -> Result<ParsedManifest> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                what: PATH.into(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| Error::malformed(PATH, e))?;
        manifest.check_structure()?;
        Ok(ParsedManifest {
            id: Digest::sha256_of(bytes),
            manifest,
        })
    }

    /// The canonical bytes: sorted keys, two-space indentation, trailing
    /// newline. Writers must use exactly these bytes.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("manifest serialises");
        let mut bytes = serde_json::to_vec_pretty(&sort_keys(value)).expect("value serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The blob entry for `digest`, if listed.
    pub fn blob(&self, digest: &Digest) -> Option<&BlobEntry> {
        self.blobs
            .binary_search_by(|b| b.digest.cmp(digest))
            .ok()
            .map(|i| &self.blobs[i])
    }

    fn check_structure(&self) -> Result<()> {
        if self.media_type != MEDIA_TYPE {
            return Err(Error::Unsupported(format!(
                "{PATH}: media type {:?} (this airlock reads {MEDIA_TYPE})",
                self.media_type
            )));
        }
        strictly_sorted(self.images.iter().map(|i| &i.reference), "images", "reference")?;
        strictly_sorted(self.blobs.iter().map(|b| &b.digest), "blobs", "digest")?;
        strictly_sorted(self.files.iter().map(|f| &f.path), "files", "path")?;
        for file in &self.files {
            check_file_path(&file.path)?;
        }
        for required in LAYOUT_FILES {
            if !self.files.iter().any(|f| f.path == required) {
                return Err(malformed(format!("{required} is not listed in files; every bundle is an OCI image layout and carries it")));
            }
        }
        self.check_advisories()?;
        self.check_trust_path()?;
        if self.images.is_empty() {
            return Err(malformed("the bundle carries no images".into()));
        }
        for image in &self.images {
            check_reference(image)?;
            self.check_image(image)?;
        }
        Ok(())
    }

    /// The trust material's path, component by component: a directory at
    /// or under [`TRUST_DIR`] holding listed files (TUF), or a listed file
    /// there (a trusted root). Nothing else is ever opened as trust.
    fn check_trust_path(&self) -> Result<()> {
        let (path, is_dir) = match &self.trust {
            TrustMaterial::Tuf { path, .. } => (path, true),
            TrustMaterial::TrustedRoot { path } => (path, false),
        };
        let under_trust = path == TRUST_DIR || path.starts_with(&format!("{TRUST_DIR}/"));
        if !under_trust || !super::confined::plain_components(path) {
            return Err(malformed(format!("trust path {path:?} is not a plain path at or under {TRUST_DIR}")));
        }
        let listed = if is_dir {
            let prefix = format!("{path}/");
            self.files.iter().any(|f| f.path.starts_with(&prefix))
        } else {
            self.files.iter().any(|f| &f.path == path)
        };
        if !listed {
            return Err(malformed(format!("trust path {path:?} names no file listed in files")));
        }
        Ok(())
    }

    fn check_image(&self, image: &ImageEntry) -> Result<()> {
        let context = |what: String| malformed(format!("image {}: {what}", image.reference));
        self.require_blob(&image.digest)
            .map_err(|_| context(format!("its manifest {} is not in blobs", image.digest)))?;
        let mut subjects: BTreeSet<&Digest> = BTreeSet::from([&image.digest]);
        for platform in &image.platforms {
            self.require_blob(&platform.digest)
                .map_err(|_| context(format!("platform {} ({}) is not in blobs", platform.platform, platform.digest)))?;
            if !subjects.insert(&platform.digest) {
                return Err(context(format!("platform {} ({}) is listed twice", platform.platform, platform.digest)));
            }
        }
        for dropped in &image.dropped_platforms {
            if subjects.contains(&dropped.digest) {
                return Err(context(format!("platform {} ({}) is listed as both carried and dropped", dropped.platform, dropped.digest)));
            }
        }
        for evidence in &image.evidence {
            if !subjects.contains(&evidence.subject) {
                return Err(context(format!(
                    "evidence {} is attached to {}, which is not this image or one of its carried platforms",
                    evidence.manifest, evidence.subject
                )));
            }
            self.require_blob(&evidence.manifest)
                .map_err(|_| context(format!("evidence manifest {} is not in blobs", evidence.manifest)))?;
        }
        for sbom in &image.sboms {
            if !subjects.contains(&sbom.subject) {
                return Err(context(format!("SBOM {} describes {}, not this image", sbom.blob, sbom.subject)));
            }
            self.require_blob(&sbom.blob)
                .map_err(|_| context(format!("SBOM blob {} is not in blobs", sbom.blob)))?;
            check_sbom_file_name(&sbom.file)?;
        }
        Ok(())
    }

    /// Advisories files only when the manifest says it carries a snapshot,
    /// and then at least its index.
    fn check_advisories(&self) -> Result<()> {
        let prefix = format!("{ADVISORIES_DIR}/");
        let carried = self.files.iter().any(|f| f.path.starts_with(&prefix));
        match &self.advisories {
            None if carried => Err(malformed(format!("files under {ADVISORIES_DIR} but no advisories entry"))),
            None => Ok(()),
            Some(a) if a.path != ADVISORIES_DIR => {
                Err(malformed(format!("advisories path {:?} is not {ADVISORIES_DIR}", a.path)))
            }
            Some(_) if !self.files.iter().any(|f| f.path == format!("{prefix}index.json")) => {
                Err(malformed(format!("advisories carried without {prefix}index.json")))
            }
            Some(_) => Ok(()),
        }
    }

    fn require_blob(&self, digest: &Digest) -> Result<()> {
        self.blob(digest).map(|_| ()).ok_or_else(|| malformed(format!("{digest} is not in blobs")))
    }
}

fn malformed(reason: String) -> Error {
    Error::malformed(PATH, reason)
}

/// An image's reference, parsed by the one rule every command uses
/// ([`oci::ImageRef`]), in the canonical form the bundler writes; a digest
/// it names must be the image's. What `verify` accepts, `load` can push.
fn check_reference(image: &ImageEntry) -> Result<()> {
    let context = |what: String| malformed(format!("image {:?}: {what}", image.reference));
    let parsed: oci::ImageRef = image.reference.parse().map_err(|e| context(format!("{e}")))?;
    if parsed.to_string() != image.reference {
        return Err(context(format!("the reference is not in canonical form (it reads as {parsed})")));
    }
    if let Some(named) = parsed.digest() {
        if *named != image.digest {
            return Err(context(format!("the reference names {named}, but the image is {}", image.digest)));
        }
    }
    Ok(())
}

fn strictly_sorted<'a, T: Ord + std::fmt::Display + 'a>(
    items: impl Iterator<Item = &'a T>,
    list: &str,
    key: &str,
) -> Result<()> {
    let mut previous: Option<&T> = None;
    for item in items {
        if let Some(p) = previous {
            if p >= item {
                return Err(malformed(format!(
                    "{list} must be sorted by {key} without duplicates ({item} after {p})"
                )));
            }
        }
        previous = Some(item);
    }
    Ok(())
}

/// The layout's own files, listed in `files` so the signature covers them.
pub const LAYOUT_FILES: [&str; 2] = ["index.json", "oci-layout"];

/// Non-blob files may only be the layout's own files, trust material, the
/// SBOM archive, the release SBOM or the advisories snapshot, at plain
/// relative paths.
fn check_file_path(path: &str) -> Result<()> {
    let allowed = LAYOUT_FILES.contains(&path)
        || path == SBOMS_PATH
        || path == IMAGES_FROM_SBOM_PATH
        || path.starts_with(&format!("{TRUST_DIR}/"))
        || path.starts_with(&format!("{ADVISORIES_DIR}/"));
    if allowed && super::confined::plain_components(path) {
        Ok(())
    } else {
        Err(malformed(format!("file path {path:?} is not allowed in a bundle")))
    }
}

fn check_sbom_file_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\');
    if plain {
        Ok(())
    } else {
        Err(malformed(format!("SBOM file name {name:?} is not a plain file name")))
    }
}

/// Rebuild every JSON object with its keys in sorted order, whatever map
/// type serde_json was built with. The bundle's canonical JSON files (this
/// manifest, and the layout's `index.json`) are written through it.
pub fn sort_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        Digest::sha256_of(s.as_bytes())
    }

    pub(crate) fn sample() -> BundleManifest {
        let mut blobs: Vec<BlobEntry> = ["image", "child", "sig", "layer", "sbom"]
            .iter()
            .map(|n| BlobEntry { digest: d(n), size: 10, carried: true })
            .collect();
        blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
        BundleManifest {
            media_type: MEDIA_TYPE.into(),
            created: "2026-11-23T10:00:00Z".parse().unwrap(),
            tool: Tool { name: "airlock".into(), version: "0.1.0".into() },
            extends: None,
            trust: TrustMaterial::TrustedRoot { path: "airlock/trust/trusted_root.json".into() },
            images: vec![ImageEntry {
                reference: "registry.example/app:v1".into(),
                digest: d("image"),
                media_type: "application/vnd.oci.image.index.v1+json".into(),
                platforms: vec![PlatformEntry { platform: "linux/amd64".into(), digest: d("child") }],
                dropped_platforms: vec![],
                evidence: vec![EvidenceEntry {
                    kind: EvidenceKind::CosignSignature,
                    subject: d("child"),
                    manifest: d("sig"),
                    source: EvidenceSource::Tag,
                    artifact_type: None,
                    log_entries: vec![],
                }],
                sboms: vec![SbomEntry {
                    format: SbomFormat::SpdxJson,
                    subject: d("image"),
                    blob: d("sbom"),
                    source: SbomSource::Operator,
                    file: "registry.example/app@sha256-x.spdx.json".replace('/', "_"),
                }],
            }],
            blobs,
            files: ["airlock/trust/trusted_root.json", "index.json", "oci-layout"]
                .map(|path| FileEntry { path: path.into(), sha256: d(path), size: 3 })
                .to_vec(),
            advisories: None,
        }
    }

    #[test]
    fn canonical_json_round_trips_with_sorted_keys() {
        let manifest = sample();
        let bytes = manifest.to_canonical_json();
        let parsed = BundleManifest::parse(&bytes).unwrap();
        assert_eq!(parsed.manifest, manifest);
        assert_eq!(parsed.id, Digest::sha256_of(&bytes));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.find("\"blobs\"").unwrap() < text.find("\"created\"").unwrap());
        assert!(text.ends_with("}\n"));
        assert_eq!(manifest.to_canonical_json(), text.into_bytes(), "deterministic");
    }

    fn refused(mutate: impl FnOnce(&mut BundleManifest)) -> String {
        let mut m = sample();
        mutate(&mut m);
        let bytes = m.to_canonical_json();
        BundleManifest::parse(&bytes).unwrap_err().to_string()
    }

    #[test]
    fn refuses_structural_errors() {
        assert!(refused(|m| m.media_type = "application/vnd.airlock.bundle.manifest.v9+json".into()).contains("unsupported"));
        assert!(refused(|m| m.blobs.reverse()).contains("sorted"));
        assert!(refused(|m| { let b = m.blobs[0].clone(); m.blobs.insert(0, b) }).contains("sorted"));
        assert!(refused(|m| m.images[0].evidence[0].subject = d("elsewhere")).contains("not this image"));
        assert!(refused(|m| m.images[0].evidence[0].manifest = d("missing")).contains("not in blobs"));
        assert!(refused(|m| m.images[0].digest = d("missing")).contains("not in blobs"));
        assert!(refused(|m| m.files[0].path = "airlock/trust/../../etc/passwd".into()).contains("not allowed"));
        assert!(refused(|m| m.files[0].path = "/etc/passwd".into()).contains("not allowed"));
        assert!(refused(|m| m.files[0].path = "blobs/extra".into()).contains("not allowed"));
        assert!(refused(|m| m.images[0].sboms[0].file = "../x".into()).contains("plain file name"));
        assert!(refused(|m| m.trust = TrustMaterial::TrustedRoot { path: "etc/root.json".into() }).contains("not a plain path at or under"));
        let advisories_file = |m: &mut BundleManifest| {
            m.files.insert(0, FileEntry { path: format!("{ADVISORIES_DIR}/sources/0/all.zip"), sha256: d("zip"), size: 1 })
        };
        assert!(refused(advisories_file).contains("no advisories entry"));
        assert!(refused(|m| {
            advisories_file(m);
            m.advisories = Some(Advisories { path: ADVISORIES_DIR.into() });
        })
        .contains("without airlock/advisories/index.json"));
        assert!(refused(|m| m.advisories = Some(Advisories { path: "airlock/trust".into() })).contains("is not airlock/advisories"));
    }

    #[test]
    fn refuses_trust_paths_that_leave_the_trust_directory() {
        for path in ["airlock/trust/../../../etc", "airlock/trust/..", "/airlock/trust", "airlock/trust//x", "airlock/trustee", "airlock/trust/./x"] {
            let err = refused(|m| m.trust = TrustMaterial::Tuf { path: path.into(), mirror: "m".into() });
            assert!(err.contains("not a plain path at or under"), "{path}: {err}");
        }
        assert!(refused(|m| m.trust = TrustMaterial::Tuf { path: "airlock/trust/elsewhere".into(), mirror: "m".into() }).contains("names no file"));
        assert!(refused(|m| m.trust = TrustMaterial::TrustedRoot { path: "airlock/trust/other.json".into() }).contains("names no file"));
        let mut m = sample();
        m.trust = TrustMaterial::Tuf { path: "airlock/trust".into(), mirror: "m".into() };
        BundleManifest::parse(&m.to_canonical_json()).unwrap();
    }

    #[test]
    fn refuses_a_bundle_without_images_or_its_layout_files() {
        assert!(refused(|m| m.images.clear()).contains("no images"));
        assert!(refused(|m| m.files.retain(|f| f.path != "index.json")).contains("index.json is not listed"));
        assert!(refused(|m| m.files.retain(|f| f.path != "oci-layout")).contains("oci-layout is not listed"));
    }

    #[test]
    fn refuses_references_load_would_refuse_or_read_differently() {
        for reference in ["registry.example/a/../b:v1", "registry.example//app:v1", "registry.example/app/:v1", "registry.example/App:v1", "registry.example/app:", ""] {
            let err = refused(|m| m.images[0].reference = reference.into());
            assert!(err.contains("image"), "{reference}: {err}");
        }
        // Parses, but means something else than it says.
        assert!(refused(|m| m.images[0].reference = "app:v1".into()).contains("canonical form (it reads as docker.io/library/app:v1)"));
        let other = d("other");
        assert!(refused(|m| m.images[0].reference = format!("registry.example/app@{other}")).contains("names"));
        let mut m = sample();
        m.images[0].reference = format!("registry.example/app:v1@{}", d("image"));
        BundleManifest::parse(&m.to_canonical_json()).unwrap();
    }

    #[test]
    fn refuses_a_platform_both_carried_and_dropped() {
        let err = refused(|m| m.images[0].dropped_platforms = vec![PlatformEntry { platform: "linux/amd64".into(), digest: d("child") }]);
        assert!(err.contains("both carried and dropped"), "{err}");
    }

    #[test]
    fn refuses_unknown_fields_and_garbage() {
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_canonical_json()).unwrap();
        value["surprise"] = serde_json::json!(1);
        let err = BundleManifest::parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(err.to_string().contains("surprise"), "{err}");
        assert!(BundleManifest::parse(b"[]").is_err());
        assert!(BundleManifest::parse(b"").is_err());
    }
}
