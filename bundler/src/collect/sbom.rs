//! SBOMs: recognised with `verifier::evidence::sbom`, wherever they come
//! from (the predicate of a verified SBOM attestation, a cosign `.sbom`
//! attachment, an SBOM referrer, or the operator's `--sbom FILE=IMAGE`),
//! and named for `sboms.tar.gz`.

use oci::{Digest, ImageRef};
use verifier::bundle::manifest::SbomFormat;
use verifier::evidence::sbom::Sbom;

/// The format of an SBOM document, if it is one airlock reads.
pub fn format_of(bytes: &[u8]) -> Result<SbomFormat, String> {
    Ok(Sbom::parse(bytes).map_err(|e| e.to_string())?.kind.format)
}

/// Whether an in-toto predicate type is an SBOM (SPDX or CycloneDX, any
/// version, as `cosign attest --type spdxjson|cyclonedx` writes them).
pub fn is_sbom_predicate(predicate_type: &str) -> bool {
    predicate_type.starts_with("https://spdx.dev/Document") || predicate_type.starts_with("https://cyclonedx.org/bom")
}

/// The SBOM document inside an attestation's predicate: a JSON document is
/// written as compact JSON with sorted keys; a string predicate (a
/// tag-value SPDX, say) is taken as its text.
pub fn predicate_document(predicate: &serde_json::Value) -> Vec<u8> {
    match predicate {
        serde_json::Value::String(text) => text.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
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

    #[test]
    fn recognises_sbom_predicates() {
        assert!(is_sbom_predicate("https://spdx.dev/Document"));
        assert!(is_sbom_predicate("https://cyclonedx.org/bom/v1.5"));
        assert!(!is_sbom_predicate("https://slsa.dev/provenance/v1"));
        assert_eq!(predicate_document(&serde_json::json!("SPDXVersion: SPDX-2.2")), b"SPDXVersion: SPDX-2.2");
        assert_eq!(predicate_document(&serde_json::json!({"b": 1, "a": 2})), br#"{"a":2,"b":1}"#);
    }
}
