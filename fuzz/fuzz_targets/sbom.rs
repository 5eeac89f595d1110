//! The SBOM parsers (SPDX JSON and tag-value, CycloneDX JSON) on arbitrary
//! bytes, and package queries over whatever parses.

#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier::evidence::sbom::Sbom;

fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = Sbom::parse(data) {
        let _ = sbom.matching("bash", None).count();
        let _ = sbom.matching("pkg:rpm/", Some("1.0")).count();
        if let Some(first) = sbom.packages.first() {
            assert!(sbom.matching(&first.name, None).count() >= 1);
        }
    }
});
