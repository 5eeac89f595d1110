//! Issue 11 §6: a bundle made with `--platform` loads into a registry that
//! checks an index's children (Debian's docker-registry answers
//! MANIFEST_BLOB_UNKNOWN for the publisher's index, which lists children the
//! bundle left out). The site pushes an index of its own listing only the
//! carried children, tags and re-signs that, and reports it: what `skopeo`
//! pulls by the tag is what `verify-image` accepts and the mapping pins.

mod common;

use common::{admit_all, airlock, airlock_key, CliEnv, Env, Run};
use std::process::Command;
use testbed::SignMode;

#[test]
fn a_platform_subset_loads_into_distribution_and_pulls_and_verifies_by_the_sites_index() {
    let env = Env::start();
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    env.sign("test/multi", &multi.index, SignMode::Bundle);
    let arm64 = multi.children.iter().find(|(p, _)| p.starts_with("linux/arm64")).unwrap().1.clone();

    // Connected side: only linux/arm64.
    let bundle = env.path("bundle");
    let run = env.run(&[&env.reference("test/multi:v1"), "--platform", "linux/arm64", "--out", bundle.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Disconnected side: verify, then load re-signed into another registry.
    let site = env.path("site");
    std::fs::create_dir_all(&site).unwrap();
    let flags = admit_all(&site);
    let verify = Run::from_output(airlock().arg("verify").arg(&bundle).args(&flags).output().unwrap());
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let target = testbed::Registry::start();
    let host = target.host();
    let (key, public) = airlock_key(&site, "site", "pw");
    let mapping = site.join("mapping.txt");
    let load = Run::from_output(
        airlock()
            .arg("load")
            .arg(&bundle)
            .args(["--to", &format!("{host}/mirror"), "--insecure-registry", &host, "--output", "json", "--resign-key"])
            .arg(&key)
            .arg("--mapping")
            .arg(&mapping)
            .args(&flags)
            .env("COSIGN_PASSWORD", "pw")
            .env("DOCKER_CONFIG", "/nonexistent")
            .output()
            .unwrap(),
    );
    assert_eq!(load.code, 0, "load refused:\n{}\n{}", load.stdout, load.stderr);
    let loaded = &load.json()["report"]["images"][0];
    let pushed = loaded["digest"].as_str().unwrap().to_string();
    assert_ne!(pushed, multi.index, "the publisher's index lists a child the bundle left out: it cannot be pushed as it is");
    assert_eq!(loaded["filteredFrom"], multi.index.as_str(), "{loaded}");
    assert_eq!(loaded["platforms"], serde_json::json!([arm64]));
    let repository = loaded["repository"].as_str().unwrap();
    let mapped = std::fs::read_to_string(&mapping).unwrap();
    assert!(mapped.contains(&format!("{repository}:v1@{pushed}")), "the mapping pins the site's index: {mapped}");

    // What a workload pulls by the tag is the site's index, with the one child.
    let pulled = site.join("pulled");
    let copy = Command::new("skopeo")
        .args(["copy", "--all", "--src-tls-verify=false", &format!("docker://{repository}:v1")])
        .arg(format!("oci:{}:v1", pulled.display()))
        .output()
        .unwrap();
    assert!(copy.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&copy.stderr));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(pulled.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], pushed.as_str(), "skopeo pulled the site's index by the tag");
    let hex = pushed.strip_prefix("sha256:").unwrap();
    let site_index: serde_json::Value = serde_json::from_slice(&std::fs::read(pulled.join("blobs/sha256").join(hex)).unwrap()).unwrap();
    let children: Vec<&str> = site_index["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap()).collect();
    assert_eq!(children, vec![arm64.as_str()]);

    // The site's signature covers it (and the child); another key does not.
    for reference in [format!("{repository}@{pushed}"), format!("{repository}@{arm64}")] {
        let verified = Run::from_output(
            airlock().args(["verify-image", &reference, "--key"]).arg(&public).args(["--insecure-registry", &host]).output().unwrap(),
        );
        assert_eq!(verified.code, 0, "verify-image {reference}:\n{}\n{}", verified.stdout, verified.stderr);
    }
    let (_, stranger) = airlock_key(&site, "stranger", "pw");
    let refused = Run::from_output(
        airlock()
            .args(["verify-image", &format!("{repository}@{pushed}"), "--key"])
            .arg(&stranger)
            .args(["--insecure-registry", &host])
            .output()
            .unwrap(),
    );
    assert_ne!(refused.code, 0, "another key must not verify the site's index");
}
