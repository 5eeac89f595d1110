//! The SBOM parsers (SPDX JSON and tag-value, CycloneDX JSON) on arbitrary
//! bytes, and package queries over whatever parses; the image lister
//! (`sbom images`) on the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier::evidence::sbom::Sbom;
use verifier::evidence::sbom_images::{sbom_images, MAX_SBOM_IMAGES};

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = Sbom::parse(data) {
        let _ = sbom.matching("bash", None).count();
        let _ = sbom.matching("pkg:rpm/", Some("1.0")).count();
        if let Some(first) = sbom.packages.first() {
            assert!(sbom.matching(&first.name, None).count() >= 1);
        }
    }
    if let Ok(listed) = sbom_images(data) {
        assert!(listed.images.len() <= MAX_SBOM_IMAGES);
        for image in &listed.images {
            // Every listed reference is one airlock can parse back.
            let text = image.reference.to_string();
            assert_eq!(text.parse::<oci::ImageRef>().expect("a listed reference parses").to_string(), text);
        }
    }
});
