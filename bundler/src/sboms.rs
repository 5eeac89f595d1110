//! The SBOMs phase: every SBOM the self-check found (the predicate of a
//! verified SBOM attestation, a cosign `.sbom` attachment, an SBOM
//! referrer) and the operator's `--sbom FILE=IMAGE` files, stored as blobs
//! of the layout, each (subject, blob) once, named, and packed into
//! `sboms.tar.gz`. Formats are recognised by `verifier::evidence::sbom`.

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::request::OperatorSbom;
use crate::resolve::Resolved;
use crate::selfcheck::{CheckedEvidence, CheckedImage, SbomBlob};
use oci::{Descriptor, Digest, ImageRef, Layout, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use verifier::bundle::manifest::{self as format, SbomEntry, SbomFormat, SbomSource};
use verifier::evidence::sbom::Sbom;

/// An operator's SBOM, read and recognised before the network.
#[derive(Debug, Clone)]
pub struct OperatorFile {
    /// The requested image it describes.
    pub image: ImageRef,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: SbomFormat,
}

impl OperatorFile {
    /// Read and recognise each `--sbom FILE=IMAGE`; `IMAGE` must be one of
    /// the requested `images`.
    pub fn read_all(sboms: &[OperatorSbom], images: &[ImageRef]) -> Result<Vec<Self>> {
        sboms
            .iter()
            .map(|s| {
                let bad = |reason: String| Error::Sbom {
                    path: s.file.clone(),
                    reason,
                };
                if !images.contains(&s.image) {
                    return Err(bad(format!("{} is not one of the requested images", s.image)));
                }
                let bytes = std::fs::read(&s.file).map_err(|e| Error::io(&s.file, "read SBOM", e))?;
                let format = Sbom::parse(&bytes).map_err(|e| bad(e.to_string()))?.kind.format;
                Ok(Self {
                    image: s.image.clone(),
                    bytes,
                    format,
                })
            })
            .collect()
    }
}

/// An SBOM a bundle carries: its manifest entry and its blob's size.
#[derive(Debug, Clone)]
pub struct CarriedSbom {
    /// As the manifest lists it.
    pub entry: SbomEntry,
    /// Its blob's size.
    pub size: u64,
}

/// An image as the bundle carries it: resolved, its evidence checked, its
/// SBOMs stored and named.
#[derive(Debug, Clone)]
pub struct BundleImage {
    /// The image.
    pub image: Resolved,
    /// Its evidence, checked.
    pub evidence: Vec<CheckedEvidence>,
    /// Its SBOMs.
    pub sboms: Vec<CarriedSbom>,
}

impl BundleImage {
    /// The image's graph, then each evidence graph, each with whether it
    /// is evidence.
    pub fn graphs(&self) -> impl Iterator<Item = (&oci::store::Graph, bool)> {
        std::iter::once((&self.image.graph, false)).chain(self.evidence.iter().map(|e| (&e.collected.graph, true)))
    }
}

/// An SBOM before it is named: what it describes, its format and source,
/// and its blob.
struct Unnamed {
    subject: Digest,
    format: SbomFormat,
    source: SbomSource,
    blob: Descriptor,
}

/// The SBOMs of every image into `layout`, and `sboms.tar.gz` beside them.
pub async fn carry(images: Vec<CheckedImage>, operator: &[OperatorFile], layout: &Layout, progress: &dyn Progress) -> Result<Vec<BundleImage>> {
    let mut carried = Vec::with_capacity(images.len());
    for CheckedImage { image, evidence } in images {
        let found = found_in(&image, &evidence, operator, layout).await?;
        let sboms = named(&image.reference, found);
        carried.push(BundleImage { image, evidence, sboms });
    }
    // Exactly the files the verifier requires (two images may carry the
    // same SBOM under the same name: one file).
    let files: Vec<(String, PathBuf)> = verifier::bundle::layout::sbom_files(carried.iter().flat_map(|b| b.sboms.iter().map(|s| &s.entry)))
        .into_iter()
        .map(|(name, blob)| (name, layout.blob_path(&blob)))
        .collect();
    crate::archive::tar::sboms_tar_gz(&files, &layout.path().join(format::SBOMS_PATH))?;
    progress.advance(1);
    Ok(carried)
}

/// Every SBOM of one image, stored as a blob: the evidence's, then the
/// operator's.
async fn found_in(image: &Resolved, evidence: &[CheckedEvidence], operator: &[OperatorFile], layout: &Layout) -> Result<Vec<Unnamed>> {
    let mut found = Vec::new();
    for s in evidence.iter().flat_map(|e| &e.check.sboms) {
        let blob = match &s.blob {
            SbomBlob::Layer(d) => (**d).clone(),
            SbomBlob::Extracted(bytes) => store_bytes(layout, &image.reference, bytes).await?,
        };
        found.push(Unnamed {
            subject: s.subject.clone(),
            format: s.format,
            source: s.source,
            blob,
        });
    }
    for file in operator.iter().filter(|f| f.image == image.reference) {
        found.push(Unnamed {
            subject: image.digest().clone(),
            format: file.format,
            source: SbomSource::Operator,
            blob: store_bytes(layout, &image.reference, &file.bytes).await?,
        });
    }
    Ok(found)
}

/// Each (subject, blob) once, from its first source in the format's order,
/// named for `sboms.tar.gz`.
fn named(image: &ImageRef, mut found: Vec<Unnamed>) -> Vec<CarriedSbom> {
    found.sort_by(|a, b| (&a.subject, &a.blob.digest, source_rank(a.source)).cmp(&(&b.subject, &b.blob.digest, source_rank(b.source))));
    found.dedup_by(|a, b| a.subject == b.subject && a.blob.digest == b.blob.digest);
    let mut seen: BTreeMap<(Digest, &'static str), usize> = BTreeMap::new();
    found
        .into_iter()
        .map(|s| {
            let n = seen.entry((s.subject.clone(), extension(s.format))).or_insert(0);
            *n += 1;
            CarriedSbom {
                entry: SbomEntry {
                    file: file_name(image, &s.subject, s.format, *n),
                    format: s.format,
                    subject: s.subject,
                    blob: s.blob.digest,
                    source: s.source,
                },
                size: s.blob.size,
            }
        })
        .collect()
}

fn source_rank(source: SbomSource) -> u8 {
    match source {
        SbomSource::Attestation => 0,
        SbomSource::Attachment => 1,
        SbomSource::Referrer => 2,
        SbomSource::Operator => 3,
    }
}

/// Store bytes as a blob of the layout; returns its descriptor.
async fn store_bytes(layout: &Layout, image: &ImageRef, bytes: &[u8]) -> Result<Descriptor> {
    let descriptor = Descriptor::new("application/octet-stream", Digest::sha256_of(bytes), bytes.len() as u64);
    layout
        .put_blob(&descriptor, std::io::Cursor::new(bytes.to_vec()))
        .await
        .map_err(|e| Error::registry(image, "store SBOM", e))?;
    Ok(descriptor)
}

/// The file extension for `format` in `sboms.tar.gz`.
pub fn extension(format: SbomFormat) -> &'static str {
    match format {
        SbomFormat::SpdxJson => "spdx.json",
        SbomFormat::SpdxTagValue => "spdx",
        SbomFormat::CyclonedxJson => "cdx.json",
    }
}

/// `<registry>_<repository>@sha256-<hex>.<ext>`: the repository with `/`
/// written as `_` (a file name has no directories), the subject's digest in
/// tag form, and `.N` before the extension for the N-th (N >= 2) SBOM of the
/// same subject and format.
pub fn file_name(image: &ImageRef, subject: &Digest, format: SbomFormat, n: usize) -> String {
    let name = image.name().replace('/', "_");
    let number = if n >= 2 { format!(".{n}") } else { String::new() };
    format!("{name}@{}{number}.{}", subject.tag_form(), extension(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_files() {
        let image: ImageRef = "127.0.0.1:5000/test/app:v1".parse().unwrap();
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            file_name(&image, &d, SbomFormat::SpdxJson, 1),
            format!("127.0.0.1:5000_test_app@sha256-{}.spdx.json", d.hex())
        );
        assert!(file_name(&image, &d, SbomFormat::CyclonedxJson, 2).ends_with(".2.cdx.json"));
        assert!(file_name(&image, &d, SbomFormat::SpdxTagValue, 1).ends_with(".spdx"));
    }
}
