//! `airlock bundle create --images-from-sbom FILE` and `--require-digest`
//! against a real registry on loopback: the SBOM chooses the image set, its
//! digests hold, and the bundle carries the SBOM under the manifest.

mod common;

use common::{CliEnv, Env, Run};

/// A CycloneDX release SBOM naming `app` by tag and digest (the Red Hat
/// spelling: repository_url ends with the name) and `multi` by digest only
/// (the kubernetes-sigs/bom spelling: repository_url without the name).
fn release_sbom(env: &Env, app: &str, multi: &str) -> std::path::PathBuf {
    let host = env.registry.host();
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "components": [
            {"type": "container", "name": "app", "purl": format!("pkg:oci/app@{}?repository_url={host}/test/app&tag=v1", app.replace(':', "%3A"))},
            {"type": "container", "name": "multi", "purl": format!("pkg:oci/multi@{}?repository_url={host}%2Ftest", multi.replace(':', "%3A"))},
            {"type": "library", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.3-r0"}
        ]
    });
    let path = env.path("release.cdx.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn bundles_exactly_the_sbom_images_with_explicit_refs_and_carries_the_sbom() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    let extra = env.registry.push_image("test/extra:v1", "extra");
    let sbom = release_sbom(&env, &app, &multi.index);
    let out = env.path("bundle");
    let extra_ref = format!("{}@{extra}", env.reference("test/extra:v1"));
    let run = env.run(&[
        "--images-from-sbom", sbom.to_str().unwrap(), &extra_ref, "--platform", "linux/amd64",
        "--require-digest", "--out", out.to_str().unwrap(), "--output", "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let sbom_sha = oci::Digest::sha256_of(&std::fs::read(&sbom).unwrap()).to_string();
    assert_eq!(report["imagesFromSbom"]["sha256"], sbom_sha);
    assert_eq!(report["imagesFromSbom"]["images"].as_array().unwrap().len(), 2);
    let digests: Vec<&str> = report["images"].as_array().unwrap().iter().map(|i| i["digest"].as_str().unwrap()).collect();
    assert_eq!(digests.len(), 3);
    for d in [app.as_str(), multi.index.as_str(), extra.as_str()] {
        assert!(digests.contains(&d), "{d} not bundled: {digests:?}");
    }
    // --platform applies to the SBOM's index too.
    let multi_report = report["images"].as_array().unwrap().iter().find(|i| i["digest"] == multi.index.as_str()).unwrap().clone();
    assert_eq!(multi_report["platforms"].as_array().unwrap().len(), 1, "{multi_report}");
    // The manifest lists the carried SBOM with its sha256: the transfer
    // signature over the manifest covers it.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("airlock/manifest.json")).unwrap()).unwrap();
    let entry = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == "airlock/images-from-sbom").expect("SBOM listed");
    assert_eq!(entry["sha256"], sbom_sha);
    assert_eq!(std::fs::read(out.join("airlock/images-from-sbom")).unwrap(), std::fs::read(&sbom).unwrap());

    // The site's report says which SBOM named the set; an edited carried
    // SBOM fails the content check.
    let policy = env.path("open.yaml");
    std::fs::write(&policy, "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: all\n      images: ['**']\n      authorities:\n        - static: pass\n").unwrap();
    let verify = || {
        Run::from_output(
            common::airlock().arg("verify").arg(common::ALLOW_UNSIGNED).arg(&out).arg("--policy").arg(&policy).arg("--trusted-root")
                .arg(env.lab.trust_dir().join("trusted_root.json")).args(["--output", "json"]).output().unwrap(),
        )
    };
    let run = verify();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["bundle"]["imagesFromSbom"], sbom_sha);
    std::fs::write(out.join("airlock/images-from-sbom"), b"{}").unwrap();
    let run = verify();
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["steps"].as_array().unwrap().iter().find(|s| s["check"] == "content").unwrap()["outcome"], "failed");
}

#[test]
fn an_sbom_digest_the_tag_no_longer_names_is_refused_by_name() {
    let env = Env::start();
    let old = env.registry.push_image("test/app:v0", "old app");
    env.registry.push_image("test/app:v1", "app");
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    // The SBOM says app:v1 is `old`; the registry's v1 is another image.
    let sbom = release_sbom(&env, &old, &multi.index);
    let run = env.run(&["--images-from-sbom", sbom.to_str().unwrap(), "--out", env.path("b").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{}:v1@{old}", env.reference("test/app"))), "{}", run.stderr);
    assert!(run.stderr.contains("the SBOM names"), "{}", run.stderr);
    assert!(!env.path("b").join("airlock/manifest.json").exists());
}

#[test]
fn require_digest_refuses_tag_only_references_and_bad_sboms_are_refused() {
    let env = Env::start();
    env.registry.push_image("test/app:v1", "app");
    let run = env.run(&["--require-digest", &env.reference("test/app:v1"), "--out", env.path("b").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--require-digest") && run.stderr.contains(&env.reference("test/app:v1")), "{}", run.stderr);
    // A truncated checksum in a real release SBOM: refused, naming the package.
    let ubi = common::realdata("release-sbom/redhat/release__ubi9-micro-container-9.4-6.1716471860_amd64.spdx.json");
    let run: Run = env.run(&["--images-from-sbom", ubi.to_str().unwrap(), "--out", env.path("c").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("SPDXRef-ubi9-micro-container-amd64"), "{}", run.stderr);
}
