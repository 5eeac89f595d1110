//! SBOM documents: SPDX 2.2/2.3 (JSON and tag-value) and CycloneDX
//! 1.2–1.7 (JSON), reduced to the packages they list, and where they are
//! found: the predicate of an SBOM attestation, an artifact whose media
//! type names an SBOM format. Parse only; what is trusted is decided by the
//! bundle verification that carried them.

use crate::evidence::statement::Statement;
use crate::{Error, Result};

/// SBOMs can be large (tens of megabytes for big images), never this large.
pub const MAX_SBOM_BYTES: usize = 256 * 1024 * 1024;
/// CycloneDX components nest; real SBOMs stay shallow.
const MAX_COMPONENT_DEPTH: usize = 64;

const SPDX_VERSIONS: [&str; 2] = ["SPDX-2.2", "SPDX-2.3"];
// CycloneDX JSON exists from 1.2 on (1.0 and 1.1 were XML only); every
// version since lists components with the same name, version and purl.
const CYCLONEDX_VERSIONS: [&str; 6] = ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

/// The predicate type of SPDX attestations (`cosign attest --type spdxjson`).
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// The predicate type of CycloneDX attestations (`cosign attest --type cyclonedx`).
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";

/// SBOM document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomFormat {
    /// SPDX 2.x JSON.
    SpdxJson,
    /// SPDX 2.x tag-value.
    SpdxTagValue,
    /// CycloneDX JSON.
    CyclonedxJson,
}

impl SbomFormat {
    /// `spdx-json`, `spdx-tag-value` or `cyclonedx-json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SpdxJson => "spdx-json",
            Self::SpdxTagValue => "spdx-tag-value",
            Self::CyclonedxJson => "cyclonedx-json",
        }
    }
}

impl std::fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an in-toto predicate type is an SBOM's: SPDX or CycloneDX, any
/// version (`https://cyclonedx.org/bom/v1.5` too).
pub fn is_sbom_predicate(predicate_type: &str) -> bool {
    predicate_type.starts_with(SPDX_PREDICATE) || predicate_type.starts_with(CYCLONEDX_PREDICATE)
}

/// Whether a media or artifact type names an SBOM format (SPDX or
/// CycloneDX, any encoding), as SBOM attachments and referrers declare.
pub fn is_sbom_media_type(media_type: &str) -> bool {
    let t = media_type.to_ascii_lowercase();
    t.contains("spdx") || t.contains("cyclonedx")
}

/// The SBOM document an SBOM attestation carries as its predicate, or
/// `None` when the statement is not an SBOM attestation. A JSON document
/// comes out as compact JSON with sorted keys; a string predicate (a
/// tag-value SPDX, say) as its text.
pub fn predicate_document(statement: &Statement) -> Option<Vec<u8>> {
    if !is_sbom_predicate(&statement.predicate_type) {
        return None;
    }
    Some(match &statement.predicate {
        serde_json::Value::String(text) => text.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    })
}

/// The format and version of an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomKind {
    /// Its format.
    pub format: SbomFormat,
    /// `SPDX-2.3`, `1.5`, ….
    pub spec_version: String,
}

/// One package an SBOM lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its version, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its package URL, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// An SBOM reduced to what queries need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sbom {
    /// Format and version.
    pub kind: SbomKind,
    /// Every package (SPDX) or component, nested ones included (CycloneDX).
    pub packages: Vec<Package>,
}

fn malformed(reason: impl std::fmt::Display) -> Error {
    Error::malformed("SBOM", reason)
}

impl Sbom {
    /// Parse an SBOM, recognising its format from its content.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_SBOM_BYTES {
            return Err(Error::TooLarge { what: "SBOM".into(), limit: MAX_SBOM_BYTES as u64 });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        if text.trim_start().starts_with('{') {
            let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
            if value.get("spdxVersion").is_some() {
                return spdx_json(value);
            }
            if value.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
                return cyclonedx_json(&value);
            }
            return Err(malformed("JSON that is neither SPDX (spdxVersion) nor CycloneDX (bomFormat)"));
        }
        spdx_tag_value(text)
    }

    /// Packages named `name`, or whose purl names it (or, when `name` is a
    /// `pkg:` prefix, starts with it), at `version` when one is given.
    pub fn matching<'a>(&'a self, name: &'a str, version: Option<&'a str>) -> impl Iterator<Item = &'a Package> + 'a {
        self.packages.iter().filter(move |p| {
            let by_purl = if name.starts_with("pkg:") {
                p.purl.as_deref().is_some_and(|purl| purl.starts_with(name))
            } else {
                p.purl.as_deref().and_then(purl_name) == Some(name)
            };
            let name_matches = p.name == name || by_purl;
            name_matches
                && version.is_none_or(|v| {
                    p.version.as_deref() == Some(v) || p.purl.as_deref().and_then(purl_version) == Some(v)
                })
        })
    }
}

/// The name segment of `pkg:type/namespace/name@version?qualifiers#subpath`.
fn purl_name(purl: &str) -> Option<&str> {
    let path = purl.strip_prefix("pkg:")?.split(['?', '#']).next()?;
    let path = path.split('@').next()?;
    path.rsplit('/').next()
}

fn purl_version(purl: &str) -> Option<&str> {
    let path = purl.strip_prefix("pkg:")?.split(['?', '#']).next()?;
    path.rsplit_once('@').map(|(_, v)| v)
}

fn check_version(known: &[&str], version: &str, what: &str) -> Result<()> {
    if known.contains(&version) {
        Ok(())
    } else {
        Err(Error::Unsupported(format!("{what} version {version:?} (airlock reads {})", known.join(", "))))
    }
}

fn spdx_json(value: serde_json::Value) -> Result<Sbom> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        spdx_version: String,
        #[serde(default)]
        packages: Vec<Pkg>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Pkg {
        name: String,
        version_info: Option<String>,
        #[serde(default)]
        external_refs: Vec<ExternalRef>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ExternalRef {
        reference_type: String,
        reference_locator: String,
    }
    let doc: Doc = serde_json::from_value(value).map_err(malformed)?;
    check_version(&SPDX_VERSIONS, &doc.spdx_version, "SPDX")?;
    let packages = doc
        .packages
        .into_iter()
        .map(|p| Package {
            purl: p.external_refs.into_iter().find(|r| r.reference_type == "purl").map(|r| r.reference_locator),
            name: p.name,
            version: p.version_info,
        })
        .collect();
    Ok(Sbom { kind: SbomKind { format: SbomFormat::SpdxJson, spec_version: doc.spdx_version }, packages })
}

/// The `(tag, value)` pairs of an SPDX tag-value document, values
/// trimmed; multi-line values (between `<text>` and `</text>`) are skipped.
pub(crate) fn tag_value_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut in_text = false;
    text.lines().filter_map(move |line| {
        if in_text {
            in_text = !line.contains("</text>");
            return None;
        }
        let (tag, value) = line.split_once(':')?;
        let value = value.trim();
        if value.starts_with("<text>") && !value.contains("</text>") {
            in_text = true;
        }
        Some((tag.trim(), value))
    })
}

fn spdx_tag_value(text: &str) -> Result<Sbom> {
    let mut version = None;
    let mut packages: Vec<Package> = Vec::new();
    for (tag, value) in tag_value_pairs(text) {
        match tag {
            "SPDXVersion" => version = Some(value.to_string()),
            "PackageName" => packages.push(Package { name: value.to_string(), version: None, purl: None }),
            "PackageVersion" => {
                if let Some(p) = packages.last_mut() {
                    p.version = Some(value.to_string());
                }
            }
            "ExternalRef" => {
                let mut parts = value.split_whitespace();
                let (_category, kind, locator) = (parts.next(), parts.next(), parts.next());
                if let (Some("purl"), Some(locator), Some(p)) = (kind, locator, packages.last_mut()) {
                    p.purl = Some(locator.to_string());
                }
            }
            _ => {}
        }
    }
    let version = version.ok_or_else(|| malformed("no SPDXVersion: not an SPDX tag-value document"))?;
    check_version(&SPDX_VERSIONS, &version, "SPDX")?;
    Ok(Sbom { kind: SbomKind { format: SbomFormat::SpdxTagValue, spec_version: version }, packages })
}

fn cyclonedx_json(value: &serde_json::Value) -> Result<Sbom> {
    let version = value
        .get("specVersion")
        .and_then(|v| v.as_str())
        .ok_or_else(|| malformed("CycloneDX document without specVersion"))?;
    check_version(&CYCLONEDX_VERSIONS, version, "CycloneDX")?;
    let mut packages = Vec::new();
    if let Some(components) = value.get("components") {
        collect_components(components, 0, &mut packages)?;
    }
    Ok(Sbom { kind: SbomKind { format: SbomFormat::CyclonedxJson, spec_version: version.to_string() }, packages })
}

fn collect_components(components: &serde_json::Value, depth: usize, out: &mut Vec<Package>) -> Result<()> {
    if depth > MAX_COMPONENT_DEPTH {
        return Err(malformed(format!("components nest deeper than {MAX_COMPONENT_DEPTH}")));
    }
    let list = components.as_array().ok_or_else(|| malformed("components is not a list"))?;
    for component in list {
        let text = |key: &str| component.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let name = text("name").ok_or_else(|| malformed("a component has no name"))?;
        out.push(Package { name, version: text("version"), purl: text("purl") });
        if let Some(nested) = component.get("components") {
            collect_components(nested, depth + 1, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_sbom_attestations_and_extracts_their_document() {
        assert!(is_sbom_predicate("https://spdx.dev/Document"));
        assert!(is_sbom_predicate("https://cyclonedx.org/bom/v1.5"));
        assert!(!is_sbom_predicate("https://slsa.dev/provenance/v1"));
        let statement = |predicate_type: &str, predicate: serde_json::Value| Statement {
            statement_type: "https://in-toto.io/Statement/v1".into(),
            subject: Vec::new(),
            predicate_type: predicate_type.into(),
            predicate,
        };
        let text = statement(SPDX_PREDICATE, serde_json::json!("SPDXVersion: SPDX-2.2"));
        assert_eq!(predicate_document(&text).unwrap(), b"SPDXVersion: SPDX-2.2");
        let json = statement(CYCLONEDX_PREDICATE, serde_json::json!({"b": 1, "a": 2}));
        assert_eq!(predicate_document(&json).unwrap(), br#"{"a":2,"b":1}"#);
        assert_eq!(predicate_document(&statement("https://slsa.dev/provenance/v1", serde_json::json!({}))), None);
        assert!(is_sbom_media_type("application/spdx+json") && is_sbom_media_type("application/vnd.CycloneDX+json"));
        assert!(!is_sbom_media_type("application/vnd.in-toto+json"));
    }

    #[test]
    fn formats_are_named_as_the_manifest_names_them() {
        for format in [SbomFormat::SpdxJson, SbomFormat::SpdxTagValue, SbomFormat::CyclonedxJson] {
            assert_eq!(serde_json::to_value(format).unwrap(), format.name());
        }
    }

    #[test]
    fn purl_parts() {
        let purl = "pkg:rpm/centos/bash@4.2.46-31.el7?arch=x86_64&distro=centos-7.6.1810";
        assert_eq!(purl_name(purl), Some("bash"));
        assert_eq!(purl_version(purl), Some("4.2.46-31.el7"));
        assert_eq!(purl_name("pkg:npm/%40angular/core@1.0.0"), Some("core"));
        assert_eq!(purl_name("not a purl"), None);
    }

    #[test]
    fn refuses_unknown_documents_and_versions() {
        assert!(Sbom::parse(b"{\"hello\":1}").is_err());
        assert!(matches!(Sbom::parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.1"}"#), Err(Error::Unsupported(_))));
        assert!(matches!(Sbom::parse(br#"{"spdxVersion":"SPDX-3.0"}"#), Err(Error::Unsupported(_))));
        assert!(Sbom::parse(b"just text").is_err());
        let nested = format!("{}[]{}", r#"[{"name":"a","components":"#.repeat(100), "}]".repeat(100));
        let deep = format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":{nested}}}"#);
        assert!(Sbom::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn a_package_is_found_by_its_exact_name_even_when_it_looks_like_a_purl() {
        // Found by fuzzing: a package named "pkg:…" without a purl.
        let sbom = Sbom::parse(b"SPDXVersion: SPDX-2.2\nPackageName: pkg:ssl-libs\n").unwrap();
        assert_eq!(sbom.matching("pkg:ssl-libs", None).count(), 1);
    }

    #[test]
    fn tag_value_skips_multi_line_text() {
        let doc = "SPDXVersion: SPDX-2.2\nPackageName: a\nPackageComment: <text>line one\nPackageName: not-a-package\n</text>\nPackageVersion: 1\n";
        let sbom = Sbom::parse(doc.as_bytes()).unwrap();
        assert_eq!(sbom.packages, vec![Package { name: "a".into(), version: Some("1".into()), purl: None }]);
    }
}
