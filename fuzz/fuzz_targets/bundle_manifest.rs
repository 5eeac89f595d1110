//! The bundle manifest parser on arbitrary bytes: a manifest that parses
//! must re-serialise canonically and parse again to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier::bundle::manifest::BundleManifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = BundleManifest::parse(data) {
        let canonical = parsed.manifest.to_canonical_json();
        let again = BundleManifest::parse(&canonical).expect("canonical form parses");
        assert_eq!(again.manifest, parsed.manifest);
    }
});
