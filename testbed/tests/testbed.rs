//! The test bed works: registries start, images go in, the lab signs.

use testbed::{Lab, Registry, SignMode};

#[test]
fn registry_with_pushed_and_signed_images() {
    let registry = Registry::start();
    let digest = registry.push_image("test/app:v1", "hello");
    assert!(digest.starts_with("sha256:"), "{digest}");
    let multi = registry.push_multiarch("test/multi:v1", "multi");
    assert_eq!(multi.children.len(), 2);
    // The index went in byte for byte (skopeo --preserve-digests).
    let out = tempfile::tempdir().unwrap();
    registry.skopeo_pull(&format!("test/multi@{}", multi.index), &format!("oci:{}:x", out.path().display()));
    assert!(out.path().join("blobs/sha256").join(multi.index.trim_start_matches("sha256:")).exists());

    let lab = Lab::start();
    let legacy = lab.sign_image(&format!("{}/test/app@{digest}", registry.host()), SignMode::Legacy, false);
    assert_eq!(legacy["mode"], "legacy", "{legacy}");
    let bundle = lab.sign_image(&format!("{}/test/app@{digest}", registry.host()), SignMode::Bundle, false);
    assert_eq!(bundle["mode"], "bundle", "{bundle}");
    assert!(lab.trust_dir().join("trusted_root.json").exists());
}

#[test]
fn registry_with_basic_auth_takes_pushes_with_credentials() {
    let registry = Registry::start_with_basic_auth("alice", "wonderland");
    let digest = registry.push_image("test/private:v1", "secret");
    assert!(digest.starts_with("sha256:"));
    let dir = tempfile::tempdir().unwrap();
    let config = registry.write_docker_config(dir.path());
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("YWxpY2U6d29uZGVybGFuZA=="), "{text}");
}
