//! The real SBOMs of ../shared/realdata parsed into their packages: every
//! supported format and version, with package counts taken independently
//! (Python's json module; CycloneDX nested components included).

use std::path::Path;
use verifier::evidence::sbom::Sbom;
use verifier::Error;
use testbed::realdata;

fn parse(path: &Path) -> verifier::Result<Sbom> {
    Sbom::parse(&std::fs::read(path).unwrap())
}

/// The SBOMs kept packed because they name package registries.
fn unpacked() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .args(["xzf", realdata("sbom/with-package-urls.tar.gz").to_str().unwrap(), "-C", dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

#[test]
fn every_supported_sbom_parses_with_its_format_version_and_packages() {
    let packed = unpacked();
    let cases: &[(&str, &str, &str, usize)] = &[
        ("sbom/cyclonedx-bom-examples/CBOM-Certificate.bom.1.6.json", "cyclonedx-json", "1.6", 4),
        ("sbom/cyclonedx-bom-examples/laravel-7.12.0.bom.1.4.json", "cyclonedx-json", "1.4", 62),
        ("sbom/guac/alpine-cyclonedx.json", "cyclonedx-json", "1.4", 15),
        ("sbom/guac/alpine-spdx.json", "spdx-json", "SPDX-2.2", 14),
        ("sbom/guac/oci-spdx.json", "spdx-json", "SPDX-2.2", 15),
        ("sbom/guac/quarkus-deps-cyclonedx.json", "cyclonedx-json", "1.4", 94),
        ("sbom/sbomqs/photon.spdx.json", "spdx-json", "SPDX-2.2", 38),
        ("sbom/sbomqs/sbom.cdx.signed.json", "cyclonedx-json", "1.6", 1),
        ("sbom/sbomqs/sbom_cdx.stm32cubeh7.cdx-1.5.json", "cyclonedx-json", "1.5", 116),
        ("sbom/spdx-examples/example12__spdx2.2__hello-dist.spdx.json", "spdx-json", "SPDX-2.2", 1),
        ("sbom/spdx-examples/example7__spdx2.2__example7-third-party-modules.spdx.json", "spdx-json", "SPDX-2.2", 3),
        ("sbom/spdx-examples/example8__spdx2.3__examplemaven-0.0.1.spdx.json", "spdx-json", "SPDX-2.3", 6),
        ("sbom/spdx-examples/example9__spdx2.2__appbomination.spdx.json", "spdx-json", "SPDX-2.2", 7),
        ("sbom/spdx-examples/presentations__SBOMS-SPDX-Now-and-Future__ACME-v2.3.spdx.json", "spdx-json", "SPDX-2.3", 4),
        ("sbom/trivy/centos-7-cyclonedx.json", "cyclonedx-json", "1.5", 3),
        ("sbom/trivy/centos-7-spdx.json", "spdx-json", "SPDX-2.2", 4),
        ("sbom/trivy/minikube-kbom.json", "cyclonedx-json", "1.5", 18),
        ("sbom/spdx-examples/example1__spdx2.2__example1.spdx", "spdx-tag-value", "SPDX-2.2", 1),
        ("sbom/spdx-examples/example6__spdx2.2__example6-lib.spdx", "spdx-tag-value", "SPDX-2.2", 5),
        ("sbom/trivy/centos-7-spdx.txt", "spdx-tag-value", "SPDX-2.2", 4),
        ("cosign/bom-go-mod.spdx", "spdx-tag-value", "SPDX-2.2", 143),
    ];
    let packed_cases: &[(&str, &str, &str, usize)] = &[
        ("sbom/cyclonedx-bom-examples/juice-shop-via_npm-bare.bom.1.4.json", "cyclonedx-json", "1.4", 1115),
        ("sbom/guac/big-mongo-cyclonedx.json", "cyclonedx-json", "1.4", 293),
        ("sbom/guac/distroless-cyclonedx.json", "cyclonedx-json", "1.4", 3),
        ("sbom/guac/oci-kubectl-linux-amd64-spdx.json", "spdx-json", "SPDX-2.2", 88),
        ("sbom/spdx-examples/example11__spdx2.3__sbom.spdx.json", "spdx-json", "SPDX-2.3", 4),
        ("sbom/trivy/fluentd-multiple-lockfiles.cdx-1.6.json", "cyclonedx-json", "1.6", 161),
    ];
    let all = cases.iter().map(|c| (realdata(c.0), c)).chain(packed_cases.iter().map(|c| (packed.path().join(c.0), c)));
    for (path, (name, format, version, count)) in all {
        let sbom = parse(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((sbom.kind.format.name(), sbom.kind.spec_version.as_str(), sbom.packages.len()), (*format, *version, *count), "{name}");
    }
}

#[test]
fn cyclonedx_json_1_2_and_1_7_are_read_like_the_others() {
    let packed = unpacked();
    // dropwizard's 1.2 BOM; trivy's 1.7 twin of the 1.6 document above.
    for (path, version, count) in [
        (realdata("sbom/cyclonedx-bom-examples/dropwizard-1.3.15.bom.1.2.json"), "1.2", 167),
        (packed.path().join("sbom/trivy/fluentd-multiple-lockfiles.cdx-1.7.json"), "1.7", 161),
    ] {
        let sbom = parse(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!((sbom.kind.format.name(), sbom.kind.spec_version.as_str(), sbom.packages.len()), ("cyclonedx-json", version, count));
    }
    // A version that has no JSON form (1.0 and 1.1 were XML only) is refused by name.
    match verifier::evidence::sbom::Sbom::parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.1","components":[]}"#) {
        Err(Error::Unsupported(why)) => assert!(why.contains("CycloneDX version"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_same_image_answers_the_same_query_in_all_three_formats() {
    for name in ["sbom/trivy/centos-7-spdx.json", "sbom/trivy/centos-7-spdx.txt", "sbom/trivy/centos-7-cyclonedx.json"] {
        let sbom = parse(&realdata(name)).unwrap();
        let bash: Vec<_> = sbom.matching("bash", None).collect();
        assert_eq!(bash.len(), 1, "{name}");
        assert_eq!(bash[0].purl.as_deref(), Some("pkg:rpm/centos/bash@4.2.46-31.el7?arch=x86_64&distro=centos-7.6.1810"), "{name}");
        // By purl version, whatever the document calls the version.
        assert_eq!(sbom.matching("bash", Some("4.2.46-31.el7")).count(), 1, "{name}");
        assert_eq!(sbom.matching("bash", Some("5.0")).count(), 0, "{name}");
        assert_eq!(sbom.matching("pkg:rpm/centos/bash@", None).count(), 1, "{name}");
        assert_eq!(sbom.matching("zsh", None).count(), 0, "{name}");
    }
}

#[test]
fn non_sbom_documents_are_refused() {
    for name in ["sbom/guac/oci-dsse-att.json", "sbom/guac/oci-kubectl-linux-amd64-in-toto.json"] {
        assert!(parse(&realdata(name)).is_err(), "{name}");
    }
}
