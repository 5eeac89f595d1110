//! Manifests as received, and a typed view of them.
//!
//! A [`RawManifest`] keeps the bytes exactly as they came (we never
//! re-serialise what we did not write: the digest is of those bytes), their
//! media type and their digest, computed here and checked against the digest
//! they were asked for by. Parsing accepts OCI image manifests and indexes
//! and their Docker schema 2 equivalents; anything else (schema 1, unknown or
//! contradictory media types, more than [`MAX_MANIFEST_SIZE`] bytes) is
//! refused with an error naming where it came from.

use crate::digest::{Digest, DigestError};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Media types airlock reads and writes.
pub mod media_type {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list, schema 2.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// The OCI empty descriptor's media type (`{}`).
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// Every manifest media type, for `Accept` headers.
    pub const ALL_MANIFESTS: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

    /// Whether `media_type` names an index (OCI index or Docker list).
    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_LIST
    }

    /// Whether `media_type` names any manifest airlock reads.
    pub fn is_manifest(media_type: &str) -> bool {
        ALL_MANIFESTS.contains(&media_type)
    }
}

/// The largest manifest airlock accepts: 4 MiB, as containerd and
/// distribution do.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// Descriptor annotation naming a tag in an image layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Where else it may be fetched from (foreign layers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Annotations, sorted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Platform, for index entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Artifact type, for artifacts and referrers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor with just the three required fields.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.into(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }

    /// This descriptor with one more annotation.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The `org.opencontainers.image.ref.name` annotation, if any.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_REF_NAME).map(String::as_str)
    }
}

/// The platform an image runs on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// Operating system (`linux`, `windows`, ...).
    pub os: String,
    /// OS version (Windows).
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// OS features (Windows).
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant (`v7`, `v8`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// CPU features (reserved by the spec).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl Platform {
    /// Whether an image for `self` satisfies the requested platform `want`.
    ///
    /// As containerd and go-containerregistry do: OS and architecture are
    /// compared after normalisation (`x86_64` is `amd64`, `aarch64` is
    /// `arm64`, an `arm64` without variant is `arm64/v8`, an `arm` without
    /// variant is `arm/v7`); a variant or OS version set in `want` must
    /// equal ours; every OS feature in `want` must be among ours. Fields
    /// `want` leaves empty match anything.
    pub fn satisfies(&self, want: &Platform) -> bool {
        let (os, arch, variant) = normalise(&self.os, &self.architecture, self.variant.as_deref());
        let (want_os, want_arch, want_variant) =
            normalise(&want.os, &want.architecture, want.variant.as_deref());
        if !want_os.is_empty() && want_os != os {
            return false;
        }
        if !want_arch.is_empty() && want_arch != arch {
            return false;
        }
        if want.variant.is_some() && want_variant != variant {
            return false;
        }
        if let Some(v) = &want.os_version {
            if self.os_version.as_ref() != Some(v) {
                return false;
            }
        }
        want.os_features.iter().all(|f| self.os_features.contains(f))
    }
}

fn normalise(os: &str, arch: &str, variant: Option<&str>) -> (String, String, Option<String>) {
    let os = os.to_ascii_lowercase();
    let os = if os == "macos" { "darwin".to_string() } else { os };
    let arch = arch.to_ascii_lowercase();
    let variant = variant.map(str::to_ascii_lowercase);
    let (arch, variant) = match (arch.as_str(), variant.as_deref()) {
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64".to_string(), v.filter(|v| *v != "v1").map(String::from)),
        ("i386" | "386", v) => ("386".to_string(), v.map(String::from)),
        ("aarch64" | "arm64", None | Some("8" | "v8")) => ("arm64".to_string(), Some("v8".to_string())),
        ("aarch64" | "arm64", Some(v)) => ("arm64".to_string(), Some(v.to_string())),
        ("armhf" | "arm", None | Some("7")) => ("arm".to_string(), Some("v7".to_string())),
        ("armel", None) => ("arm".to_string(), Some("v6".to_string())),
        ("arm", Some(v @ ("5" | "6" | "8"))) => ("arm".to_string(), Some(format!("v{v}"))),
        (a, v) => (a.to_string(), v.map(String::from)),
    };
    (os, arch, variant)
}

impl FromStr for Platform {
    type Err = Error;

    /// Parse `os/arch[/variant]`.
    fn from_str(s: &str) -> Result<Self> {
        let err = |reason: &str| Error::Platform {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("expected os/arch or os/arch/variant"));
        }
        let valid = |p: &str| {
            !p.is_empty()
                && p.len() <= 64
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if !parts.iter().all(|p| valid(p)) {
            return Err(err("each part must be non-empty letters, digits, '_', '-' or '.'"));
        }
        Ok(Self {
            os: parts[0].to_ascii_lowercase(),
            architecture: parts[1].to_ascii_lowercase(),
            variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
            ..Self::default()
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// As written in the manifest, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// As written in the index, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests it lists.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index.
    pub fn empty() -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_string()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// Canonical bytes for an index airlock writes itself: compact JSON with
    /// fields in declaration order and sorted annotations.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs with String/BTreeMap fields into a Vec
        // cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The parsed view of a manifest.
// Held once per RawManifest behind an Arc; boxing would only cost
// ergonomics in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// An image manifest.
    Image(ImageManifest),
    /// An index.
    Index(ImageIndex),
}

impl Manifest {
    /// The `subject` of the manifest, if it refers to another.
    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Self::Image(m) => m.subject.as_ref(),
            Self::Index(i) => i.subject.as_ref(),
        }
    }

    /// The artifact type: `artifactType`, else (for image manifests) the
    /// config media type, as the referrers API reports it.
    pub fn artifact_type(&self) -> Option<&str> {
        match self {
            Self::Image(m) => m.artifact_type.as_deref().or(Some(m.config.media_type.as_str())),
            Self::Index(i) => i.artifact_type.as_deref(),
        }
    }

    /// Annotations of the manifest.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Image(m) => &m.annotations,
            Self::Index(i) => &i.annotations,
        }
    }
}

/// A manifest exactly as received, with its media type and digest.
///
/// Cheap to clone (the bytes are shared).
#[derive(Clone)]
pub struct RawManifest {
    bytes: Arc<[u8]>,
    media_type: String,
    digest: Digest,
    parsed: Arc<Manifest>,
}

impl RawManifest {
    /// Check and parse manifest bytes.
    ///
    /// - `location` names where they came from, for errors;
    /// - `declared` is the media type the source gave (a `Content-Type`
    ///   header or the descriptor that pointed here), if any;
    /// - `expected` is the digest they were asked for by, if any: a mismatch
    ///   is refused.
    ///
    /// The media type is the one declared or written in the manifest (they
    /// must agree); when neither says, it is inferred from the structure
    /// (`manifests` → index, `config` → image manifest), and a document with
    /// both or neither is refused as ambiguous.
    pub fn from_bytes(
        location: &str,
        bytes: impl Into<Arc<[u8]>>,
        declared: Option<&str>,
        expected: Option<&Digest>,
    ) -> Result<Self> {
        let bytes: Arc<[u8]> = bytes.into();
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(Error::ManifestTooLarge {
                location: location.to_string(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let algorithm = expected.map_or(crate::digest::Algorithm::Sha256, Digest::algorithm);
        let mut hasher = crate::digest::Hasher::new(algorithm);
        hasher.update(&bytes);
        let digest = hasher.finish();
        if let Some(expected) = expected {
            if *expected != digest {
                return Err(Error::Content {
                    location: location.to_string(),
                    source: DigestError::Mismatch {
                        expected: expected.clone(),
                        actual: digest,
                    },
                });
            }
        }
        let malformed = |reason: String| Error::MalformedManifest {
            location: location.to_string(),
            reason,
        };
        // A first, permissive pass for the fields that decide the type.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            schema_version: Option<serde_json::Value>,
            media_type: Option<serde_json::Value>,
            config: Option<serde_json::Value>,
            manifests: Option<serde_json::Value>,
            layers: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not a JSON object: {e}")))?;
        let unsupported = |media_type: &str| Error::UnsupportedMediaType {
            location: location.to_string(),
            media_type: media_type.to_string(),
        };
        match &probe.schema_version {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(2) => {}
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1) => {
                return Err(unsupported("application/vnd.docker.distribution.manifest.v1+json"));
            }
            other => return Err(malformed(format!("schemaVersion must be 2, found {other:?}"))),
        }
        let written = match &probe.media_type {
            None => None,
            Some(serde_json::Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(malformed(format!("mediaType is not a string: {other}"))),
        };
        let declared = declared.filter(|d| !d.is_empty());
        for mt in [written, declared].into_iter().flatten() {
            if !media_type::is_manifest(mt) {
                return Err(unsupported(mt));
            }
        }
        let media_type = match (written, declared) {
            (Some(w), Some(d)) if w != d => {
                return Err(malformed(format!("declared as {d:?} but says it is {w:?}")));
            }
            (Some(w), _) => w.to_string(),
            (None, Some(d)) => d.to_string(),
            (None, None) => match (probe.manifests.is_some(), probe.config.is_some() || probe.layers.is_some()) {
                (true, false) => media_type::OCI_INDEX.to_string(),
                (false, true) => media_type::OCI_MANIFEST.to_string(),
                _ => return Err(malformed("ambiguous: no mediaType, and not clearly an index or an image manifest".into())),
            },
        };
        let is_index = media_type::is_index(&media_type);
        // Structure must agree with the type (an index with `config` or an
        // image manifest with `manifests` could be read two ways).
        if is_index && (probe.config.is_some() || probe.layers.is_some()) {
            return Err(malformed(format!("{media_type} has config or layers")));
        }
        if !is_index && probe.manifests.is_some() {
            return Err(malformed(format!("{media_type} has manifests")));
        }
        let parsed = if is_index {
            Manifest::Index(serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?)
        } else {
            Manifest::Image(serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?)
        };
        Ok(Self {
            bytes,
            media_type,
            digest,
            parsed: Arc::new(parsed),
        })
    }

    /// The bytes as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, shared.
    pub fn shared_bytes(&self) -> Arc<[u8]> {
        self.bytes.clone()
    }

    /// The media type.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether this is an index.
    pub fn is_index(&self) -> bool {
        matches!(*self.parsed, Manifest::Index(_))
    }

    /// The parsed view.
    pub fn manifest(&self) -> &Manifest {
        &self.parsed
    }

    /// A descriptor for this manifest (media type, digest, size; plus
    /// artifact type, as a referrers list reports it).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size())
    }
}

impl fmt::Debug for RawManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawManifest")
            .field("media_type", &self.media_type)
            .field("digest", &self.digest)
            .field("size", &self.bytes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn image_json(media_type: Option<&str>) -> String {
        let mt = media_type.map(|m| format!(r#""mediaType":"{m}","#)).unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{LAYER}","size":5}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{LAYER}","size":5}}],"annotations":{{"b":"2","a":"1"}}}}"#
        )
    }

    fn index_json(media_type: Option<&str>) -> String {
        let mt = media_type.map(|m| format!(r#""mediaType":"{m}","#)).unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"manifests":[{{"mediaType":"{}","digest":"{LAYER}","size":5,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#,
            media_type::OCI_MANIFEST
        )
    }

    #[test]
    fn keeps_bytes_and_computes_digest() {
        let json = image_json(Some(media_type::OCI_MANIFEST));
        let m = RawManifest::from_bytes("test", json.as_bytes().to_vec(), None, None).unwrap();
        assert_eq!(m.bytes(), json.as_bytes());
        assert_eq!(m.digest(), &Digest::sha256_of(json.as_bytes()));
        assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
        let Manifest::Image(img) = m.manifest() else { panic!() };
        assert_eq!(img.layers.len(), 1);
        // The expected digest is checked.
        let wrong = Digest::sha256_of(b"other");
        let e = RawManifest::from_bytes("loc", json.as_bytes().to_vec(), None, Some(&wrong)).unwrap_err();
        assert!(matches!(e, Error::Content { .. }), "{e}");
        assert!(e.to_string().starts_with("loc: digest mismatch"), "{e}");
    }

    #[test]
    fn accepts_docker_schema2_and_infers_oci_types() {
        let m = RawManifest::from_bytes("t", image_json(Some(media_type::DOCKER_MANIFEST)).into_bytes(), None, None).unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_MANIFEST);
        let m = RawManifest::from_bytes("t", index_json(Some(media_type::DOCKER_LIST)).into_bytes(), None, None).unwrap();
        assert!(m.is_index());
        let m = RawManifest::from_bytes("t", image_json(None).into_bytes(), None, None).unwrap();
        assert_eq!(m.media_type(), media_type::OCI_MANIFEST);
        let m = RawManifest::from_bytes("t", index_json(None).into_bytes(), None, None).unwrap();
        assert_eq!(m.media_type(), media_type::OCI_INDEX);
        let m = RawManifest::from_bytes("t", index_json(None).into_bytes(), Some(media_type::DOCKER_LIST), None).unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_LIST);
    }

    #[test]
    fn refuses_unknown_ambiguous_and_contradictory_manifests() {
        let cases: Vec<(Vec<u8>, Option<&str>, &str)> = vec![
            (image_json(Some("application/vnd.example+json")).into_bytes(), None, "unsupported"),
            (image_json(None).into_bytes(), Some("text/plain"), "unsupported"),
            (image_json(Some(media_type::OCI_MANIFEST)).into_bytes(), Some(media_type::OCI_INDEX), "declared"),
            (br#"{"schemaVersion":2}"#.to_vec(), None, "ambiguous"),
            (br#"{"schemaVersion":2,"config":{},"manifests":[]}"#.to_vec(), None, "ambiguous"),
            (br#"{"schemaVersion":1,"fsLayers":[]}"#.to_vec(), None, "unsupported"),
            (br#"{"schemaVersion":3,"manifests":[]}"#.to_vec(), None, "schemaVersion"),
            (br#"{"schemaVersion":"2","manifests":[]}"#.to_vec(), None, "schemaVersion"),
            (br#"[1,2]"#.to_vec(), None, "JSON object"),
            (b"\xff\xfe".to_vec(), None, "JSON"),
            (br#"{"schemaVersion":2,"mediaType":5}"#.to_vec(), None, "not a string"),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[],"config":{{}}}}"#, media_type::OCI_INDEX).into_bytes(),
                None,
                "has config",
            ),
            (
                br#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:00","size":1}]}"#.to_vec(),
                None,
                "malformed",
            ),
            (
                format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"x","digest":"{LAYER}","size":-1}}]}}"#).into_bytes(),
                None,
                "malformed",
            ),
        ];
        for (bytes, declared, needle) in cases {
            let e = RawManifest::from_bytes("here", bytes.clone(), declared, None).unwrap_err().to_string();
            assert!(e.contains(needle), "{}: {e}", String::from_utf8_lossy(&bytes));
            assert!(e.starts_with("here: "), "{e}");
        }
    }

    #[test]
    fn refuses_oversized_manifests() {
        let mut big = image_json(None).into_bytes();
        big.resize(MAX_MANIFEST_SIZE as usize + 1, b' ');
        let e = RawManifest::from_bytes("big", big, None, None).unwrap_err();
        assert!(matches!(e, Error::ManifestTooLarge { .. }), "{e}");
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_manifests() {
        let json = index_json(None).into_bytes();
        for cut in 0..json.len() {
            let _ = RawManifest::from_bytes("t", json[..cut].to_vec(), None, None);
        }
        for i in 0..json.len() {
            for b in [b'"', b'{', b'}', b'0', b'-', 0xff] {
                let mut m = json.clone();
                m[i] = b;
                let _ = RawManifest::from_bytes("t", m, None, None);
            }
        }
    }

    #[test]
    fn platforms_parse_and_match() {
        let p: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        let arm64_v8 = Platform { os: "linux".into(), architecture: "arm64".into(), variant: Some("v8".into()), ..Default::default() };
        assert!(arm64_v8.satisfies(&p));
        assert!(arm64_v8.satisfies(&"linux/aarch64".parse().unwrap()));
        assert!(arm64_v8.satisfies(&"linux/arm64/v8".parse().unwrap()));
        assert!(!arm64_v8.satisfies(&"linux/amd64".parse().unwrap()));
        assert!(!arm64_v8.satisfies(&"windows/arm64".parse().unwrap()));
        let arm = Platform { os: "linux".into(), architecture: "arm".into(), variant: Some("v6".into()), ..Default::default() };
        assert!(arm.satisfies(&"linux/arm/v6".parse().unwrap()));
        assert!(!arm.satisfies(&"linux/arm/v7".parse().unwrap()));
        assert!(arm.satisfies(&Platform { os: "linux".into(), architecture: "arm".into(), ..Default::default() }));
        let amd = Platform { os: "linux".into(), architecture: "x86_64".into(), ..Default::default() };
        assert!(amd.satisfies(&"linux/amd64".parse().unwrap()));
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64", ""] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptors_serialise_deterministically() {
        let d = Descriptor::new(media_type::OCI_MANIFEST, LAYER.parse().unwrap(), 5)
            .with_annotation("z", "1")
            .with_annotation("a", "2");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"mediaType":"{}","digest":"{LAYER}","size":5,"annotations":{{"a":"2","z":"1"}}}}"#, media_type::OCI_MANIFEST)
        );
        assert_eq!(serde_json::from_str::<Descriptor>(&json).unwrap(), d);
    }
}
