//! A bundle's OCI image layout is exactly what its manifest says, and
//! nothing else: `oci-layout` as the format writes it; `index.json` equal,
//! byte for byte, to the index the manifest's images imply (each image, its
//! carried platform children and its evidence, annotated); every listed blob
//! reached from an image, a carried platform, a piece of evidence or an
//! SBOM, at the size its referrer gives; and `sboms.tar.gz` holding exactly
//! the SBOMs listed, under their names.
//!
//! The bundler writes `index.json` with [`index_json`] and the SBOM archive
//! from [`sbom_files`]; the verifier derives the same from the checked
//! manifest and requires it. One function each, so writer and reader cannot
//! drift.

use super::archive::{ArchiveReader, Compression};
use super::content::CheckedContent;
use super::manifest::{BundleManifest, EvidenceKind, ImageEntry, SbomEntry, SBOMS_PATH};
use crate::{ContentError, Error, Result};
use oci::{Descriptor, Digest, DigestReader, Manifest, RawManifest, MAX_MANIFEST_SIZE};
use std::collections::BTreeSet;
use std::io::{self, Read};

/// `dev.airlock.kind`.
pub const ANNOTATION_KIND: &str = "dev.airlock.kind";
/// `dev.airlock.subject`.
pub const ANNOTATION_SUBJECT: &str = "dev.airlock.subject";
/// `dev.airlock.reference`.
pub const ANNOTATION_REFERENCE: &str = "dev.airlock.reference";
/// The layout's index.
pub const INDEX_PATH: &str = "index.json";
/// The layout's marker file.
pub const OCI_LAYOUT_PATH: &str = "oci-layout";

/// `dev.airlock.kind`, in the order docs/bundle-format.md sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A requested image or index.
    Image,
    /// A child of a requested index.
    Platform,
    /// Evidence.
    Evidence(EvidenceKind),
}

impl EntryKind {
    /// The annotation value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Platform => "platform",
            Self::Evidence(kind) => kind.name(),
        }
    }
}

/// One `index.json` entry before it is annotated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexEntry {
    reference: String,
    kind: EntryKind,
    subject: Option<Digest>,
    descriptor: Descriptor,
}

/// The bytes of the `index.json` that `images` imply: each image, its
/// carried platform children (their descriptors as the image's index gives
/// them) and each evidence manifest (with its artifact type), sorted by
/// (reference, kind, subject, digest), annotated, with sorted keys, compact,
/// with a trailing newline. `manifest_of` gives a manifest by digest.
pub fn index_json(images: &[ImageEntry], manifest_of: &dyn Fn(&Digest) -> Result<RawManifest>) -> Result<Vec<u8>> {
    let mut entries = Vec::new();
    for image in images {
        entries.extend(image_entries(image, manifest_of)?);
    }
    Ok(render(entries))
}

fn image_entries(image: &ImageEntry, manifest_of: &dyn Fn(&Digest) -> Result<RawManifest>) -> Result<Vec<IndexEntry>> {
    let root = manifest_of(&image.digest)?;
    let entry = |kind, subject: Option<&Digest>, descriptor| IndexEntry {
        reference: image.reference.clone(),
        kind,
        subject: subject.cloned(),
        descriptor,
    };
    let mut entries = vec![entry(EntryKind::Image, None, Descriptor::new(image.media_type.clone(), image.digest.clone(), root.size()))];
    for platform in &image.platforms {
        let child = match root.manifest() {
            Manifest::Index(index) => index.manifests.iter().find(|c| c.digest == platform.digest),
            Manifest::Image(_) => None,
        };
        let child = child.ok_or_else(|| ContentError::NotAChild {
            reference: image.reference.clone(),
            platform: platform.platform.clone(),
            digest: platform.digest.clone(),
        })?;
        entries.push(entry(EntryKind::Platform, Some(&image.digest), child.clone()));
    }
    for evidence in &image.evidence {
        let mut descriptor = manifest_of(&evidence.manifest)?.descriptor();
        descriptor.artifact_type = evidence.artifact_type.clone();
        entries.push(entry(EntryKind::Evidence(evidence.kind), Some(&evidence.subject), descriptor));
    }
    Ok(entries)
}

fn render(mut entries: Vec<IndexEntry>) -> Vec<u8> {
    entries.sort_by(|a, b| {
        (&a.reference, a.kind, &a.subject, &a.descriptor.digest).cmp(&(&b.reference, b.kind, &b.subject, &b.descriptor.digest))
    });
    entries.dedup();
    let manifests: Vec<Descriptor> = entries
        .into_iter()
        .map(|e| {
            let mut d = e.descriptor;
            d.annotations.clear();
            if e.kind == EntryKind::Image {
                d.annotations.insert(oci::manifest::ANNOTATION_REF_NAME.into(), e.reference.clone());
            }
            d.annotations.insert(ANNOTATION_KIND.into(), e.kind.name().into());
            if let Some(subject) = e.subject {
                d.annotations.insert(ANNOTATION_SUBJECT.into(), subject.to_string());
            }
            d.annotations.insert(ANNOTATION_REFERENCE.into(), e.reference);
            d
        })
        .collect();
    let value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::manifest::media_type::OCI_INDEX,
        "manifests": manifests,
    });
    let mut bytes = serde_json::to_vec(&super::manifest::sort_keys(value)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The entries of `sboms.tar.gz` for `sboms`: each (file name, blob) once,
/// sorted by name.
pub fn sbom_files<'a>(sboms: impl IntoIterator<Item = &'a SbomEntry>) -> Vec<(String, Digest)> {
    let mut files: Vec<(String, Digest)> = sboms.into_iter().map(|s| (s.file.clone(), s.blob.clone())).collect();
    files.sort();
    files.dedup();
    files
}

/// Check checked content's layout against its manifest.
pub fn check(content: &CheckedContent) -> Result<()> {
    let oci_layout = content.read_file(OCI_LAYOUT_PATH, 4096)?;
    if oci_layout != oci::layout::OCI_LAYOUT.as_bytes() {
        return Err(ContentError::OciLayout {
            expected: oci::layout::OCI_LAYOUT.into(),
            found: String::from_utf8_lossy(&oci_layout[..oci_layout.len().min(200)]).into_owned(),
        }
        .into());
    }
    let manifest_of = |digest: &Digest| read_manifest(content, digest);
    let expected = index_json(&content.manifest.manifest.images, &manifest_of)?;
    let found = content.read_file(INDEX_PATH, super::manifest::MAX_MANIFEST_BYTES)?;
    if found != expected {
        return Err(ContentError::IndexMismatch { difference: index_difference(&expected, &found) }.into());
    }
    check_reachable(content)?;
    check_sbom_archive(content)
}

fn read_manifest(content: &CheckedContent, digest: &Digest) -> Result<RawManifest> {
    let bytes = content.read_blob(digest, MAX_MANIFEST_SIZE)?;
    RawManifest::from_bytes(&format!("blob {digest}"), bytes, None, Some(digest))
        .map_err(|source| ContentError::ImageManifest { digest: digest.clone(), source }.into())
}

/// The first way `found` differs from `expected`, for the operator.
fn index_difference(expected: &[u8], found: &[u8]) -> String {
    let Ok(found_value) = serde_json::from_slice::<serde_json::Value>(found) else {
        return "it is not JSON".into();
    };
    let expected_value: serde_json::Value = serde_json::from_slice(expected).expect("rendered by index_json");
    let entries = |v: &serde_json::Value| v["manifests"].as_array().cloned().unwrap_or_default();
    let (want, have) = (entries(&expected_value), entries(&found_value));
    let describe = |e: &serde_json::Value| {
        let kind = e["annotations"][ANNOTATION_KIND].as_str().unwrap_or("(no dev.airlock.kind)");
        let reference = e["annotations"][ANNOTATION_REFERENCE].as_str().unwrap_or("(no dev.airlock.reference)");
        format!("{} ({kind} of {reference})", e["digest"].as_str().unwrap_or("(no digest)"))
    };
    if let Some(missing) = want.iter().find(|e| !have.contains(e)) {
        return match have.iter().find(|h| h["digest"] == missing["digest"] && !want.contains(h)) {
            Some(changed) => format!("entry {} differs: the manifest implies {missing}, index.json has {changed}", describe(missing)),
            None => format!("entry {} is missing", describe(missing)),
        };
    }
    if let Some(extra) = have.iter().find(|e| !want.contains(e)) {
        return format!("entry {} is not implied by the bundle manifest", describe(extra));
    }
    if want.len() != have.len() {
        return "an entry is repeated".into();
    }
    if want != have {
        return "its entries are not in the format's order".into();
    }
    if expected_value != found_value {
        return "its fields other than manifests differ from the format's".into();
    }
    "it is not in the format's canonical form (sorted keys, no whitespace, a trailing newline)".into()
}

/// Every listed blob must be reached from an image (and its carried
/// platforms), a piece of evidence or an SBOM, at the size the manifest
/// that references it gives.
fn check_reachable(content: &CheckedContent) -> Result<()> {
    let manifest = &content.manifest.manifest;
    // A dropped child carried is named as such (its config and layers
    // would otherwise be reported first, as blobs nothing references).
    for image in &manifest.images {
        for platform in &image.dropped_platforms {
            if manifest.blob(&platform.digest).is_some_and(|b| b.carried) {
                return Err(ContentError::DroppedButCarried {
                    reference: image.reference.clone(),
                    platform: platform.platform.clone(),
                    digest: platform.digest.clone(),
                }
                .into());
            }
        }
    }
    let reached = reachable(manifest, &|digest| read_manifest(content, digest))?;
    match manifest.blobs.iter().find(|b| !reached.contains(&b.digest)) {
        Some(blob) => Err(ContentError::UnreferencedBlob { digest: blob.digest.clone(), size: blob.size, carried: blob.carried }.into()),
        None => Ok(()),
    }
}

/// Every blob `manifest`'s images reach: each image, the carried children
/// of an index (never a dropped one), each manifest's config and layers,
/// each evidence manifest and what it references, each SBOM. A reference
/// whose size differs from the size `blobs` lists is refused.
pub fn reachable(manifest: &BundleManifest, manifest_of: &dyn Fn(&Digest) -> Result<RawManifest>) -> Result<BTreeSet<Digest>> {
    let mut walk = Walk { manifest, manifest_of, reached: BTreeSet::new() };
    for image in &manifest.images {
        walk.reached.insert(image.digest.clone());
        match manifest_of(&image.digest)?.manifest() {
            Manifest::Index(index) => {
                for child in index.manifests.iter().filter(|c| image.platforms.iter().any(|p| p.digest == c.digest)) {
                    walk.descriptor(child, &image.digest)?;
                }
            }
            Manifest::Image(m) => walk.image(m, &image.digest)?,
        }
        for evidence in &image.evidence {
            walk.manifest(&evidence.manifest)?;
        }
        walk.reached.extend(image.sboms.iter().map(|s| s.blob.clone()));
    }
    Ok(walk.reached)
}

/// The blobs reached so far, and how to reach more.
struct Walk<'a> {
    manifest: &'a BundleManifest,
    manifest_of: &'a dyn Fn(&Digest) -> Result<RawManifest>,
    reached: BTreeSet<Digest>,
}

impl Walk<'_> {
    /// A descriptor in a manifest: its size must be the listed one; a
    /// manifest it names is walked in turn.
    fn descriptor(&mut self, descriptor: &Descriptor, referrer: &Digest) -> Result<()> {
        if let Some(listed) = self.manifest.blob(&descriptor.digest) {
            if listed.size != descriptor.size {
                return Err(ContentError::SizeMismatch {
                    digest: descriptor.digest.clone(),
                    referrer: referrer.clone(),
                    referenced: descriptor.size,
                    listed: listed.size,
                }
                .into());
            }
        }
        if oci::manifest::media_type::is_manifest(&descriptor.media_type) {
            self.manifest(&descriptor.digest)
        } else {
            self.reached.insert(descriptor.digest.clone());
            Ok(())
        }
    }

    fn manifest(&mut self, digest: &Digest) -> Result<()> {
        if !self.reached.insert(digest.clone()) {
            return Ok(());
        }
        match (self.manifest_of)(digest)?.manifest() {
            Manifest::Index(index) => index.manifests.iter().try_for_each(|child| self.descriptor(child, digest)),
            Manifest::Image(m) => self.image(m, digest),
        }
    }

    fn image(&mut self, image: &oci::ImageManifest, digest: &Digest) -> Result<()> {
        std::iter::once(&image.config).chain(&image.layers).try_for_each(|blob| self.descriptor(blob, digest))
    }
}

/// `sboms.tar.gz`, when listed, holds exactly [`sbom_files`] of the
/// manifest's SBOMs, each with its blob's bytes.
fn check_sbom_archive(content: &CheckedContent) -> Result<()> {
    let manifest = &content.manifest.manifest;
    if !manifest.files.iter().any(|f| f.path == SBOMS_PATH) {
        return Ok(());
    }
    let expected = sbom_files(manifest.images.iter().flat_map(|i| &i.sboms));
    let mismatch = |difference: String| Error::from(ContentError::SbomArchive { difference });
    let size_of = |blob: &Digest| manifest.blob(blob).map_or(0, |b| b.size);
    // A genuine archive holds the blobs and, per entry, a header and
    // padding (and a PAX header for a long name): nothing more is read.
    let bound = expected.iter().map(|(_, blob)| size_of(blob) + 3 * 512 + 4096).sum::<u64>() + 4096;
    let decoder = Compression::Gzip.raw_decoder(content.open_file(SBOMS_PATH)?)?.take(bound);
    let mut archive = ArchiveReader::new(decoder);
    for (name, blob) in &expected {
        let mut entry = archive.next_entry()?.ok_or_else(|| mismatch(format!("{name} is missing")))?;
        if entry.path != *name {
            return Err(mismatch(format!("found {} where {name} should be", entry.path)));
        }
        let size = size_of(blob);
        if entry.size != size {
            return Err(mismatch(format!("{name} is {} bytes, its blob {blob} {size}", entry.size)));
        }
        io::copy(&mut DigestReader::new(&mut entry, blob.clone(), size), &mut io::sink())
            .map_err(|e| mismatch(format!("{name} is not its blob {blob}: {e}")))?;
    }
    match archive.next_entry()? {
        Some(extra) => Err(mismatch(format!("{} is not an SBOM the manifest lists", extra.path))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, kind: EntryKind, subject: Option<&str>, content: &str) -> IndexEntry {
        IndexEntry {
            reference: reference.into(),
            kind,
            subject: subject.map(|s| Digest::sha256_of(s.as_bytes())),
            descriptor: Descriptor::new(oci::manifest::media_type::OCI_MANIFEST, Digest::sha256_of(content.as_bytes()), 3)
                .with_annotation("from.the.registry", "dropped"),
        }
    }

    #[test]
    fn index_is_sorted_annotated_and_canonical() {
        let entries = vec![
            entry("r.example/b:1", EntryKind::Image, None, "b"),
            entry("r.example/a:1", EntryKind::Evidence(EvidenceKind::CosignSignature), Some("a"), "sig"),
            entry("r.example/a:1", EntryKind::Platform, Some("a"), "child"),
            entry("r.example/a:1", EntryKind::Image, None, "a"),
            entry("r.example/a:1", EntryKind::Image, None, "a"),
        ];
        let bytes = render(entries.clone());
        assert!(bytes.ends_with(b"}\n"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let kinds: Vec<&str> = value["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"][ANNOTATION_KIND].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["image", "platform", "cosign-signature", "image"]);
        let first = &value["manifests"][0]["annotations"];
        assert_eq!(first[oci::manifest::ANNOTATION_REF_NAME], "r.example/a:1");
        assert!(first.get("from.the.registry").is_none());
        assert!(value["manifests"][1]["annotations"].get(oci::manifest::ANNOTATION_REF_NAME).is_none());
        assert_eq!(value["manifests"][1]["annotations"][ANNOTATION_SUBJECT], Digest::sha256_of(b"a").to_string());
        let mut reversed = entries;
        reversed.reverse();
        assert_eq!(render(reversed), bytes, "order of discovery does not matter");
        assert!(!String::from_utf8(bytes).unwrap().contains(": "), "no insignificant whitespace");
    }

    #[test]
    fn differences_are_named() {
        let expected = render(vec![entry("r.example/a:1", EntryKind::Image, None, "a"), entry("r.example/a:1", EntryKind::Platform, Some("a"), "child")]);
        let child = Digest::sha256_of(b"child").to_string();
        let value: serde_json::Value = serde_json::from_slice(&expected).unwrap();
        let mut dropped = value.clone();
        dropped["manifests"].as_array_mut().unwrap().pop();
        let diff = index_difference(&expected, &serde_json::to_vec(&dropped).unwrap());
        assert!(diff.contains(&format!("{child} (platform of r.example/a:1) is missing")), "{diff}");
        let mut relabelled = value.clone();
        relabelled["manifests"][1]["annotations"][ANNOTATION_KIND] = "cosign-signature".into();
        assert!(index_difference(&expected, &serde_json::to_vec(&relabelled).unwrap()).contains("differs"));
        let mut extra = value.clone();
        let mut smuggled = value["manifests"][1].clone();
        smuggled["digest"] = Digest::sha256_of(b"smuggled").to_string().into();
        extra["manifests"].as_array_mut().unwrap().push(smuggled);
        assert!(index_difference(&expected, &serde_json::to_vec(&extra).unwrap()).contains("not implied"));
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert!(index_difference(&expected, &pretty).contains("canonical form"));
        assert!(index_difference(&expected, b"nope").contains("not JSON"));
    }
}
