//! `airlock sbom images FILE`: the images a release SBOM names, on the real
//! SBOMs in ../shared/realdata (release-sbom/ and sbom/), each at the list
//! SOURCES.md (sections 12 and 12.3) gives for it.

mod common;

use common::{airlock, realdata, tempdir, Run};
use std::path::Path;

fn images(file: &Path) -> Run {
    Run::from_output(airlock().args(["sbom", "images"]).arg(file).output().unwrap())
}

fn listed(file: &Path) -> Vec<String> {
    let run = images(file);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.lines().map(str::to_string).collect()
}

fn pinned(repository: &str, hexes: &[&str]) -> Vec<String> {
    hexes.iter().map(|h| format!("{repository}@sha256:{h}")).collect()
}

#[test]
fn kubernetes_bom_multi_arch_image_lists_its_index_and_eight_platform_images() {
    // Packed because it names Debian's package hosts.
    let dir = tempdir();
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(realdata("release-sbom/with-package-urls.tar.gz"))
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let file = dir.path().join("k8s-bom/nginx.spdx");
    // index.docker.io is Docker Hub, which airlock writes docker.io. The
    // index's purl has tag=nginx (the generator's name-as-tag): no tag.
    let expected = pinned(
        "docker.io/library/nginx",
        &[
            "4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a",
            "1a763cbd30ef4dbc7f8e3fa2e6670fd726f4bddb0ef58868a243c0cb8b35cde1",
            "bcba09dc6c6348bd02b48a0b7db7789442fba2d85d2ee2027883905a83e4617e",
            "b9b77ddc2088f5c308acc954196281784a907ec9be68eb548ef4cbf012ddc69e",
            "e62e73dd7f24578c82f40f15b3e6c40b49e33ccb86188f56472fd27b0621ec37",
            "526e1b9eb30aa78b3069d6c53952120388650d35f4d13f53035348e465fc0e78",
            "6716ae6fd89e7701869f78bb91ef18e469d1b4e76999a36414adca80d154fc45",
            "96e3b1302b0cd1e31416a878b5cbf96f11eedbb06b6402bc708a028f841af55f",
            "ca52df4856ccafd1f1fbaad4b2883c11bc428c0a6f1e968cda975a4efcc428e7",
        ],
    );
    assert_eq!(listed(&file), expected);
    let doc = Run::from_output(airlock().args(["sbom", "images", "--output", "json"]).arg(&file).output().unwrap()).json();
    assert_eq!(doc["kind"]["format"], "spdx-tag-value");
    let arches: Vec<_> = doc["images"].as_array().unwrap().iter().filter(|i| i["arch"] == "s390x").collect();
    assert_eq!(arches.len(), 1, "exactly one s390x image");
    assert!(doc["sha256"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn apko_image_is_one_image_and_its_os_layer_is_not_another() {
    let file = realdata("release-sbom/k8s-bom/images.spdx.json");
    assert_eq!(
        listed(&file),
        ["172.19.0.1:5000/apko-test:latest@sha256:f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38"]
    );
}

#[test]
fn an_image_named_by_package_name_and_checksum_and_the_empty_spdx_version_is_flagged() {
    let run = images(&realdata("release-sbom/k8s-bom/external-references.spdx.json"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        ["172.19.0.1:5000/test-nosbom2@sha256:af1c5f9673f78aa7a575d627cd8a210bf6a895b0065f719a098dc035eee55a58"]
    );
    assert!(run.stderr.contains("spdxVersion is empty"), "{}", run.stderr);
}

#[test]
fn red_hat_operator_index_and_its_platform_images_by_checksum() {
    let run = images(&realdata("release-sbom/redhat/release__kernel-module-management-operator-container-1.1.2-25.spdx.json"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = pinned(
        "registry.access.redhat.com/kmm/kernel-module-management-rhel9-operator:1.1.2-25",
        &[
            "d845f0bd93dad56c92c47e8c116a11a0cc5924c0b99aed912b4f8b54178efa98",
            "ed976a0ba418a498b05a56cb05afa0cb36a65e750771f3840b12e9bae3afb22d",
            "9e74a91f532b7550ee909c6ce1636122982a5c5e32859c40c3bfe68231d31100",
            "32a9929e6f11dfefb7a339d6767d1050cec2b24d397856cbd9b46a1bbc3f8827",
        ],
    );
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
    // The doubled algorithm in the platform purls is reported, not carried.
    assert_eq!(run.stderr.matches("sha256:sha256:").count(), 3, "{}", run.stderr);
}

#[test]
fn truncated_checksums_are_refused_by_package() {
    for (file, package) in [
        ("release__ubi9-micro-container-9.4-6.1716471860.spdx.json", "SPDXRef-ubi9-micro-container-ppc64le"),
        ("release__ubi9-micro-container-9.4-6.1716471860_amd64.spdx.json", "SPDXRef-ubi9-micro-container-amd64"),
    ] {
        let run = images(&realdata(&format!("release-sbom/redhat/{file}")));
        assert_eq!(run.code, 1, "{file}: {}", run.stdout);
        assert!(run.stdout.is_empty(), "{file}: nothing is listed: {}", run.stdout);
        assert!(run.stderr.contains(package) && run.stderr.contains("not 64 hex"), "{file}: {}", run.stderr);
    }
    // The build-time form gives no repository to pull from at all.
    let run = images(&realdata("release-sbom/redhat/build__ubi9-micro-container-9.4-6.1716471860.spdx.json"));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("SPDXRef-image-index") && run.stderr.contains("repository_url"), "{}", run.stderr);
}

#[test]
fn kubernetes_cluster_kbom_lists_the_six_control_plane_images() {
    let expected = [
        "registry.k8s.io/coredns/coredns@sha256:a0ead06651cf580044aeb0a0feba63591858fb2e43ade8c9dea45a6a89ae7e5e",
        "registry.k8s.io/etcd@sha256:51eae8381dcb1078289fa7b4f3df2630cdc18d09fb56f8e56b41c40e191d6c83",
        "registry.k8s.io/kube-apiserver@sha256:697cd88d94f7f2ef42144cb3072b016dcb2e9251f0e7d41a7fede557e555452d",
        "registry.k8s.io/kube-controller-manager@sha256:6286e500782ad6d0b37a1b8be57fc73f597dc931dfc73ff18ce534059803b265",
        "registry.k8s.io/kube-proxy@sha256:4bcb707da9898d2625f5d4edc6d0c96519a24f16db914fc673aa8f97e41dbabf",
        "registry.k8s.io/kube-scheduler@sha256:5897d7a97d23dce25cbf36fcd6e919180a8ef904bf5156583ffdb6a733ab04af",
    ];
    assert_eq!(listed(&realdata("sbom/trivy/minikube-kbom.json")), expected);
}

#[test]
fn sboms_of_software_name_no_images_and_garbage_is_refused() {
    for file in ["sbom/cyclonedx-bom-examples/dropwizard-1.3.15.bom.1.2.json", "sbom/spdx-examples/example7__spdx2.2__example7-golang.spdx.json"] {
        assert!(listed(&realdata(file)).is_empty(), "{file}");
    }
    let dir = tempdir();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"an sbom\"}").unwrap();
    assert_eq!(images(&junk).code, 1);
    assert_eq!(images(&dir.path().join("missing.json")).code, 2);
}
