//! The container images a release SBOM names ("which images to carry").
//!
//! Parse only. SPDX 2.x (JSON and tag-value) and CycloneDX JSON become a
//! list of [`SbomImage`]s, each an image reference digest-pinned where the
//! SBOM gives a digest:
//!
//! - a package (SPDX) or component (CycloneDX) with a `pkg:oci` or
//!   `pkg:docker` package URL is an image; the repository comes from the
//!   `repository_url` qualifier (with or without the image name at its end:
//!   both spellings are in use), the tag from `tag`, the digest from the
//!   version or, failing that, the package's SHA256 checksum;
//! - an SPDX package without such a purl is an image when its name (or its
//!   download location) is a registry reference with a tag or digest, as in
//!   the Kubernetes release SBOM (`registry.k8s.io/kube-apiserver-amd64:v1.27.3`);
//! - a CycloneDX `container` component without a purl is an image when its
//!   name is a reference (its version may carry the digest);
//! - not images: SPDX packages that are build inputs of another
//!   (`BUILD_TOOL_OF`, `BUILD_DEPENDENCY_OF`, …: a parent image), and
//!   `pkg:oci` packages *contained* in a single-platform image (one whose
//!   purl has `arch`): those are its layers (apko's "operating system layer").
//!
//! Refused, naming the package: a checksum that is not a 64-hex SHA256 (a
//! truncated digest must not be carried as if it were one), a checksum that
//! disagrees with the purl's digest, an image purl with no repository to
//! pull from. Bounded: the document size, CycloneDX nesting, the number of
//! images.

use super::sbom::{SbomFormat, SbomKind, MAX_SBOM_BYTES};
use oci::{Digest, ImageRef};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Most images one SBOM may name.
pub const MAX_SBOM_IMAGES: usize = 10_000;
const MAX_COMPONENT_DEPTH: usize = 64;
/// SPDX relationships that make their source a build input of the target,
/// not something the release ships.
const BUILD_INPUT: [&str; 6] =
    ["BUILD_TOOL_OF", "BUILD_DEPENDENCY_OF", "DEV_TOOL_OF", "DEV_DEPENDENCY_OF", "TEST_TOOL_OF", "TEST_DEPENDENCY_OF"];

/// Why an SBOM's image list was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomImageError {
    /// Larger than [`MAX_SBOM_BYTES`].
    #[error("the SBOM is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not an SBOM airlock reads.
    #[error("the SBOM is malformed: {0}")]
    Malformed(String),
    /// One package cannot be turned into an image reference.
    #[error("SBOM package {package:?}: {reason}")]
    Package {
        /// The SPDX id, bom-ref or name.
        package: String,
        /// What is wrong.
        reason: String,
    },
    /// More than [`MAX_SBOM_IMAGES`].
    #[error("the SBOM names more than {limit} images")]
    TooMany {
        /// The limit.
        limit: usize,
    },
}

type Result<T> = std::result::Result<T, SbomImageError>;

/// One image the SBOM names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomImage {
    /// The reference: registry, repository, the tag when given, the digest
    /// when given.
    #[serde(serialize_with = "display")]
    pub reference: ImageRef,
    /// The package (SPDX id) or component (bom-ref, else name) that names it.
    pub package: String,
    /// The purl's `arch` qualifier, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
}

fn display<S: serde::Serializer>(value: &ImageRef, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// The images of one SBOM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomImages {
    /// Format and version.
    pub kind: SbomKind,
    /// sha256 of the document's bytes.
    pub sha256: Digest,
    /// Each image once, in document order.
    pub images: Vec<SbomImage>,
    /// Defects that did not stop the listing (an empty SPDX version, a
    /// doubled `sha256:` in a purl).
    pub warnings: Vec<String>,
}

/// An SBOM element that may be an image, before the decision.
#[derive(Default)]
struct Element {
    id: String,
    names: Vec<String>,
    purls: Vec<String>,
    sha256: Option<String>,
    container: bool,
}

/// Elements and SPDX relationships `(from, type, to)`.
#[derive(Default)]
struct Document {
    elements: Vec<Element>,
    relationships: Vec<(String, String, String)>,
    warnings: Vec<String>,
}

/// The images an SBOM names. `bytes` is the whole document.
pub fn sbom_images(bytes: &[u8]) -> Result<SbomImages> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(SbomImageError::TooLarge { limit: MAX_SBOM_BYTES });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let (kind, mut document) = if text.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        if value.get("spdxVersion").is_some() {
            spdx_json(value)?
        } else if value.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
            cyclonedx_json(&value)?
        } else {
            return Err(malformed("JSON that is neither SPDX (spdxVersion) nor CycloneDX (bomFormat)"));
        }
    } else {
        spdx_tag_value(text)?
    };
    let images = decide(&mut document)?;
    Ok(SbomImages { kind, sha256: Digest::sha256_of(bytes), images, warnings: document.warnings })
}

fn malformed(reason: impl std::fmt::Display) -> SbomImageError {
    SbomImageError::Malformed(reason.to_string())
}

fn spdx_version(version: &str, warnings: &mut Vec<String>) -> Result<String> {
    match version {
        "SPDX-2.2" | "SPDX-2.3" => Ok(version.to_string()),
        // kubernetes-sigs/bom writes "" for documents with external
        // references; everything else about them is SPDX 2.x.
        "" => {
            warnings.push("spdxVersion is empty; read as SPDX 2.x".into());
            Ok(String::new())
        }
        other => Err(malformed(format!("SPDX version {other:?} (airlock reads SPDX-2.2 and SPDX-2.3)"))),
    }
}

fn spdx_json(value: serde_json::Value) -> Result<(SbomKind, Document)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        spdx_version: String,
        #[serde(default)]
        packages: Vec<Pkg>,
        #[serde(default)]
        relationships: Vec<Rel>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Pkg {
        #[serde(rename = "SPDXID")]
        spdx_id: String,
        name: String,
        download_location: Option<String>,
        #[serde(default)]
        checksums: Vec<Checksum>,
        #[serde(default)]
        external_refs: Vec<ExternalRef>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Checksum {
        algorithm: String,
        checksum_value: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ExternalRef {
        reference_type: String,
        reference_locator: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Rel {
        spdx_element_id: String,
        relationship_type: String,
        related_spdx_element: String,
    }
    let doc: Doc = serde_json::from_value(value).map_err(malformed)?;
    let mut document = Document::default();
    let version = spdx_version(&doc.spdx_version, &mut document.warnings)?;
    for p in doc.packages {
        let mut names = vec![p.name];
        names.extend(p.download_location);
        document.elements.push(Element {
            id: p.spdx_id,
            names,
            purls: p.external_refs.into_iter().filter(|r| r.reference_type == "purl").map(|r| r.reference_locator).collect(),
            sha256: p.checksums.into_iter().find(|c| c.algorithm == "SHA256").map(|c| c.checksum_value),
            container: false,
        });
    }
    document.relationships =
        doc.relationships.into_iter().map(|r| (r.spdx_element_id, r.relationship_type, r.related_spdx_element)).collect();
    Ok((SbomKind { format: SbomFormat::SpdxJson, spec_version: version }, document))
}

fn spdx_tag_value(text: &str) -> Result<(SbomKind, Document)> {
    let mut version = None;
    let mut document = Document::default();
    for (tag, value) in super::sbom::tag_value_pairs(text) {
        let current = document.elements.last_mut();
        match (tag, current) {
            ("SPDXVersion", _) => version = Some(value.to_string()),
            ("PackageName", _) => document.elements.push(Element { names: vec![value.to_string()], ..Element::default() }),
            ("SPDXID", Some(p)) if p.id.is_empty() => p.id = value.to_string(),
            ("PackageDownloadLocation", Some(p)) => p.names.push(value.to_string()),
            ("PackageChecksum", Some(p)) => {
                if let Some(("SHA256", sum)) = value.split_once(':').map(|(a, s)| (a.trim(), s.trim())) {
                    p.sha256 = Some(sum.to_string());
                }
            }
            ("ExternalRef", Some(p)) => {
                if let [_, "purl", locator] = value.split_whitespace().collect::<Vec<_>>()[..] {
                    p.purls.push(locator.to_string());
                }
            }
            ("Relationship", _) => {
                if let [from, kind, to] = value.split_whitespace().collect::<Vec<_>>()[..] {
                    document.relationships.push((from.into(), kind.into(), to.into()));
                }
            }
            _ => {}
        }
    }
    let version = version.ok_or_else(|| malformed("no SPDXVersion: not an SPDX tag-value document"))?;
    let version = spdx_version(&version, &mut document.warnings)?;
    Ok((SbomKind { format: SbomFormat::SpdxTagValue, spec_version: version }, document))
}

fn cyclonedx_json(value: &serde_json::Value) -> Result<(SbomKind, Document)> {
    let version = value
        .get("specVersion")
        .and_then(|v| v.as_str())
        .ok_or_else(|| malformed("CycloneDX document without specVersion"))?;
    let mut document = Document::default();
    if let Some(component) = value.get("metadata").and_then(|m| m.get("component")) {
        cyclonedx_component(component, 0, &mut document)?;
    }
    if let Some(components) = value.get("components") {
        let list = components.as_array().ok_or_else(|| malformed("components is not a list"))?;
        for component in list {
            cyclonedx_component(component, 0, &mut document)?;
        }
    }
    Ok((SbomKind { format: SbomFormat::CyclonedxJson, spec_version: version.to_string() }, document))
}

fn cyclonedx_component(component: &serde_json::Value, depth: usize, document: &mut Document) -> Result<()> {
    if depth > MAX_COMPONENT_DEPTH {
        return Err(malformed(format!("components nest deeper than {MAX_COMPONENT_DEPTH}")));
    }
    let text = |key: &str| component.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let name = text("name").ok_or_else(|| malformed("a component has no name"))?;
    let container = text("type").as_deref() == Some("container");
    // A container's version is often its digest (trivy's KBOM).
    let digest_version = text("version").filter(|v| container && v.parse::<Digest>().is_ok());
    document.elements.push(Element {
        id: text("bom-ref").unwrap_or_else(|| name.clone()),
        names: vec![match digest_version {
            Some(digest) if !name.contains('@') => format!("{name}@{digest}"),
            _ => name,
        }],
        purls: text("purl").into_iter().collect(),
        sha256: None,
        container,
    });
    if let Some(nested) = component.get("components") {
        let list = nested.as_array().ok_or_else(|| malformed("components is not a list"))?;
        for child in list {
            cyclonedx_component(child, depth + 1, document)?;
        }
    }
    Ok(())
}

/// Which elements are images, and their references.
fn decide(document: &mut Document) -> Result<Vec<SbomImage>> {
    let excluded = excluded(document);
    let mut seen = BTreeSet::new();
    let mut images = Vec::new();
    for element in &document.elements {
        if excluded.contains(element.id.as_str()) {
            continue;
        }
        for image in element_images(element, &mut document.warnings)? {
            if seen.insert(image.reference.to_string()) {
                if images.len() == MAX_SBOM_IMAGES {
                    return Err(SbomImageError::TooMany { limit: MAX_SBOM_IMAGES });
                }
                images.push(image);
            }
        }
    }
    Ok(images)
}

/// SPDX ids that are build inputs or layers of a single-platform image.
fn excluded(document: &Document) -> HashSet<String> {
    let single_platform: HashMap<&str, bool> = document
        .elements
        .iter()
        .map(|e| (e.id.as_str(), e.purls.iter().filter_map(|p| image_purl(p)?.ok()).any(|p| p.arch.is_some())))
        .collect();
    let mut out = HashSet::new();
    for (from, kind, to) in &document.relationships {
        if BUILD_INPUT.contains(&kind.as_str()) {
            out.insert(from.clone());
        }
        let layer = match kind.as_str() {
            "CONTAINS" => Some((from, to)),
            "CONTAINED_BY" => Some((to, from)),
            _ => None,
        };
        if let Some((image, part)) = layer {
            if single_platform.get(image.as_str()) == Some(&true) {
                out.insert(part.clone());
            }
        }
    }
    out
}

fn element_images(element: &Element, warnings: &mut Vec<String>) -> Result<Vec<SbomImage>> {
    let fail = |reason: String| SbomImageError::Package { package: element.id.clone(), reason };
    let checksum = match &element.sha256 {
        Some(hex) => Some(format!("sha256:{hex}").parse::<Digest>().map_err(|_| {
            fail(format!("its SHA256 checksum {hex:?} is not 64 hex digits; a truncated digest is not carried"))
        })?),
        None => None,
    };
    let purls: Vec<ImagePurl> = element.purls.iter().filter_map(|p| image_purl(p)).collect();
    let mut out = Vec::new();
    for purl in purls {
        let purl = purl.map_err(fail)?;
        if purl.doubled_algorithm {
            warnings.push(format!("SBOM package {:?}: its purl writes the digest as sha256:sha256:…", element.id));
        }
        let digest = match (purl.digest, &checksum) {
            (Some(d), Some(c)) if &d != c => {
                return Err(fail(format!("its purl names digest {d} but its checksum is {c}")));
            }
            (Some(d), _) => Some(d),
            (None, c) => c.clone(),
        };
        let tag = purl.tag.map(|t| t.parse()).transpose().map_err(|e: oci::Error| fail(e.to_string()))?;
        // Through the one reference parser, so a `repository_url` whose
        // first part is not a registry host (`team/app`) means what its
        // printed form means to every tool: a Docker Hub repository.
        let name: ImageRef = format!("{}/{}", purl.registry, purl.repository).parse().map_err(|e: oci::Error| fail(e.to_string()))?;
        let reference = ImageRef::new(name.registry(), name.repository(), tag, digest).map_err(|e| fail(e.to_string()))?;
        out.push(SbomImage { reference, package: element.id.clone(), arch: purl.arch });
    }
    if out.is_empty() && (element.container || element.purls.is_empty()) {
        out.extend(named_image(element, checksum.as_ref()).map_err(fail)?);
    }
    Ok(out)
}

/// An image named by a package's name or download location, when one of
/// them is a registry reference with a tag or digest.
fn named_image(element: &Element, checksum: Option<&Digest>) -> std::result::Result<Option<SbomImage>, String> {
    for name in &element.names {
        let name = name.strip_prefix("oci://").or_else(|| name.strip_prefix("docker://")).unwrap_or(name);
        let Some((host, _)) = name.split_once('/') else { continue };
        let looks_like_host = host.contains('.') || host.contains(':') || host == "localhost";
        let Ok(reference) = name.parse::<ImageRef>() else { continue };
        if !looks_like_host || (reference.tag().is_none() && reference.digest().is_none() && checksum.is_none()) {
            continue;
        }
        let reference = match (reference.digest(), checksum) {
            (Some(d), Some(c)) if d != c => return Err(format!("its name names digest {d} but its checksum is {c}")),
            (None, Some(c)) => ImageRef::new(reference.registry(), reference.repository(), reference.tag().cloned(), Some(c.clone()))
                .map_err(|e| e.to_string())?,
            _ => reference,
        };
        return Ok(Some(SbomImage { reference, package: element.id.clone(), arch: None }));
    }
    Ok(None)
}

/// The parts of a `pkg:oci` or `pkg:docker` purl.
struct ImagePurlParts {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
    arch: Option<String>,
    doubled_algorithm: bool,
}

type ImagePurl = std::result::Result<ImagePurlParts, String>;

/// `None` for purls of other types; `Some(Err)` for an image purl that
/// cannot name an image.
fn image_purl(text: &str) -> Option<ImagePurl> {
    let purl: packageurl::PackageUrl<'_> = text.parse().ok()?;
    let ty = purl.ty().to_ascii_lowercase();
    if ty != "oci" && ty != "docker" {
        return None;
    }
    Some(image_purl_parts(&purl, ty == "docker").map_err(|reason| format!("purl {text}: {reason}")))
}

fn image_purl_parts(purl: &packageurl::PackageUrl<'_>, docker: bool) -> ImagePurl {
    let qualifier = |key: &str| purl.qualifiers().get(key).map(|v| v.to_string());
    let name = match (docker, purl.namespace()) {
        (true, Some(namespace)) => format!("{namespace}/{}", purl.name()),
        _ => purl.name().to_string(),
    };
    let location = match (qualifier("repository_url"), docker) {
        // Both spellings are in use: with the image name at the end
        // (the purl spec's example, Red Hat) and without (kubernetes-sigs/bom).
        (Some(url), _) => {
            let url = url.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/').to_string();
            if url.ends_with(&format!("/{name}")) { url } else { format!("{url}/{name}") }
        }
        (None, true) => format!("docker.io/{name}"),
        (None, false) if name.contains('/') => name.clone(),
        (None, false) => return Err("no repository_url: the SBOM does not say where to pull the image from".into()),
    };
    let (registry, repository) =
        location.split_once('/').ok_or_else(|| format!("repository {location:?} names no registry"))?;
    let mut version = purl.version().map(str::to_string);
    let doubled_algorithm = version.as_deref().is_some_and(|v| v.starts_with("sha256:sha256:"));
    if doubled_algorithm {
        version = version.map(|v| v["sha256:".len()..].to_string());
    }
    let (digest, version_tag) = match version {
        Some(v) if v.contains(':') => (Some(v.parse::<Digest>().map_err(|e| format!("digest {v:?}: {e}"))?), None),
        Some(v) => (None, Some(v)),
        None => (None, None),
    };
    // kubernetes-sigs/bom writes the image's name as its `tag` (`nginx`
    // for nginx's index); with a digest to pull by, that is no tag at all.
    let tag = qualifier("tag").filter(|t| digest.is_none() || t != purl.name());
    Ok(ImagePurlParts {
        registry: registry.to_string(),
        repository: repository.to_string(),
        tag: tag.or(version_tag),
        digest,
        arch: qualifier("arch"),
        doubled_algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(doc: &str) -> Vec<String> {
        sbom_images(doc.as_bytes()).unwrap().images.iter().map(|i| i.reference.to_string()).collect()
    }

    const D: &str = "sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a";

    #[test]
    fn purl_spellings() {
        let doc = |purl: &str| {
            format!("SPDXVersion: SPDX-2.3\nPackageName: x\nSPDXID: SPDXRef-x\nExternalRef: PACKAGE-MANAGER purl {purl}\n")
        };
        let enc = D.replace(':', "%3A");
        assert_eq!(references(&doc(&format!("pkg:oci/app@{enc}?repository_url=r.example%2Forg"))), [format!("r.example/org/app@{D}")]);
        assert_eq!(references(&doc(&format!("pkg:oci/app@{enc}?repository_url=r.example/org/app&tag=v1"))), [format!("r.example/org/app:v1@{D}")]);
        assert_eq!(references(&doc("pkg:docker/library/debian@bookworm")), ["docker.io/library/debian:bookworm"]);
        assert_eq!(references(&doc("pkg:docker/org/app@v2?repository_url=ghcr.io")), ["ghcr.io/org/app:v2"]);
        // A repository_url without a registry host is a Docker Hub
        // repository, as its printed form reads (fuzz finding, sbom target):
        // every listed reference parses back to itself.
        let listed = references(&doc(&format!("pkg:oci/etcd@{enc}?repository_url=re%2Fetcd")));
        assert_eq!(listed, [format!("docker.io/re/etcd@{D}")]);
        assert_eq!(listed[0].parse::<ImageRef>().unwrap().to_string(), listed[0]);
        assert!(matches!(sbom_images(doc(&format!("pkg:oci/app@{enc}")).as_bytes()), Err(SbomImageError::Package { .. })));
        assert!(references(&doc("pkg:deb/debian/libc6@2.36")).is_empty());
    }

    #[test]
    fn checksums_must_be_whole_and_agree() {
        let doc = |sum: &str| format!(
            "SPDXVersion: SPDX-2.3\nPackageName: x\nSPDXID: SPDXRef-x\nPackageChecksum: SHA256: {sum}\nExternalRef: PACKAGE-MANAGER purl pkg:oci/app?repository_url=r.example/app\n"
        );
        assert_eq!(references(&doc(&D[7..])), [format!("r.example/app@{D}")]);
        assert!(sbom_images(doc(&D[8..]).as_bytes()).is_err());
    }

    #[test]
    fn images_named_by_package_name_as_in_the_kubernetes_release_sbom() {
        // The layout the Kubernetes docs describe (no copy of a real one is
        // available): image packages named by reference; Go modules are not images.
        let doc = "SPDXVersion: SPDX-2.3\n\
            PackageName: registry.k8s.io/kube-apiserver-amd64:v1.27.3\nSPDXID: SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.27.3\n\
            PackageName: github.com/spf13/cobra\nSPDXID: SPDXRef-Package-cobra\n\
            PackageName: golang.org/x/sys\nSPDXID: SPDXRef-Package-sys\nPackageVersion: v0.10.0\n\
            PackageName: parent\nSPDXID: SPDXRef-parent\nPackageDownloadLocation: oci://registry.k8s.io/build-image/debian-base:v2.0.0\n\
            Relationship: SPDXRef-parent BUILD_TOOL_OF SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.27.3\n";
        assert_eq!(references(doc), ["registry.k8s.io/kube-apiserver-amd64:v1.27.3"]);
    }

    #[test]
    fn hostile_input_is_bounded() {
        let nested = format!("{}[]{}", r#"[{"name":"a","components":"#.repeat(100), "}]".repeat(100));
        let deep = format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":{nested}}}"#);
        assert!(sbom_images(deep.as_bytes()).is_err());
        assert!(sbom_images(b"\xff").is_err());
        assert!(sbom_images(br#"{"spdxVersion":"SPDX-3.0"}"#).is_err());
        assert!(sbom_images(b"PackageName: x\n").is_err());
    }
}
