//! A registry with the OCI 1.1 referrers API (olareg, built by
//! scripts/install-peers.sh) on both sides of the air gap: `bundle create`
//! finds referrers through the API (an image without any included: olareg
//! answers `"manifests": null`), and `load` pushes them so the target's API
//! lists every one, pushing no `sha256-<hex>` tag-schema index (on olareg
//! that index replaces the API's list). oras, a peer, lists them too.

mod common;

use common::{airlock, tempdir, Run, CREATED};
use std::path::Path;
use std::process::Command;
use testbed::{peer, Lab, Olareg, SignMode};

const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";

fn run(cmd: &mut Command) -> Run {
    Run::from_output(cmd.env("DOCKER_CONFIG", "/nonexistent").output().expect("run airlock"))
}

/// The site's policy: the lab's keyless signer for `host`'s test/app, and
/// test/plain admitted as it is.
fn lab_policy(path: &Path, host: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: lab\n      images: ['{host}/test/app:*']\n      authorities:\n        - name: lab\n          keyless:\n            - issuer: https://token.actions.githubusercontent.com\n              subjectRegExp: '^https://github.com/example/repo/'\n    - name: plain\n      images: ['{host}/test/plain:*']\n      authorities:\n        - static: pass\n"
        ),
    )
    .unwrap();
}

/// The referrers oras discovers for `reference` (plain HTTP): digests, sorted.
fn oras_discover(reference: &str) -> Vec<String> {
    let out = testbed::run(Command::new(peer("oras")).args(["discover", "--plain-http", "--format", "json", "--depth", "1", reference]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("oras discover output ({e}): {out}"));
    let mut digests: Vec<String> = doc["referrers"]
        .as_array()
        .unwrap_or_else(|| panic!("no referrers in {doc}"))
        .iter()
        .map(|r| r["digest"].as_str().unwrap().to_string())
        .collect();
    digests.sort();
    digests
}

#[test]
fn referrers_are_collected_through_the_api_and_loaded_so_the_api_lists_them() {
    let lab = Lab::start();
    let source = Olareg::start();
    let src = source.host();
    let app = source.push_image("test/app:v1", "app");
    let plain = source.push_image("test/plain:v1", "nothing attached");
    // Two Sigstore bundles as referrers, pushed by @sigstore/oci, which
    // uses the API on a registry that has it.
    let app_ref = format!("{src}/test/app@{app}");
    lab.sign_image_as(&app_ref, SignMode::Bundle, false, Some(COSIGN_SIGN));
    lab.sign_image(&app_ref, SignMode::Bundle, false);
    let referrers = source.referrers("test/app", &app);
    assert_eq!(referrers.len(), 2, "{referrers:?}");
    assert!(source.referrers("test/plain", &plain).is_empty());

    let dir = tempdir();
    let root = lab.trust_dir().join("trusted_root.json");
    let bundle = dir.path().join("bundle");
    let r = run(airlock()
        .args(["bundle", "create", &format!("{src}/test/app:v1"), &format!("{src}/test/plain:v1"), "--insecure-registry", &src])
        .args(["--created", CREATED, "--output", "json", "--trusted-root"])
        .arg(&root)
        .arg("--out")
        .arg(&bundle));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    let images = report["images"].as_array().unwrap();
    let app_report = images.iter().find(|i| i["digest"] == app.as_str()).unwrap();
    let mut carried: Vec<String> = app_report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sigstore-bundle" && e["source"] == "referrers-api")
        .map(|e| e["manifest"].as_str().unwrap().to_string())
        .collect();
    carried.sort();
    assert_eq!(carried, referrers, "{app_report}");
    let plain_report = images.iter().find(|i| i["digest"] == plain.as_str()).unwrap();
    assert!(plain_report["evidence"].as_array().unwrap().is_empty(), "{plain_report}");

    let target = Olareg::start();
    let policy = dir.path().join("policy.yaml");
    lab_policy(&policy, &src);
    let mapping = dir.path().join("mapping.txt");
    let r = run(airlock()
        .arg("load")
        .arg(&bundle)
        .args(["--to", &format!("{}/mirror", target.host()), "--insecure-registry", &target.host(), "--policy"])
        .arg(&policy)
        .arg("--trusted-root")
        .arg(&root)
        .arg("--mapping")
        .arg(&mapping));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mapped = std::fs::read_to_string(&mapping).unwrap();
    let line = mapped.lines().find(|l| l.starts_with(&format!("{src}/test/app:v1 "))).unwrap();
    let loaded = line.split_whitespace().nth(1).unwrap();
    let repo = loaded.strip_prefix(&format!("{}/", target.host())).unwrap().split([':', '@']).next().unwrap();
    assert_eq!(target.referrers(repo, &app), referrers, "the target's referrers API");
    let fallback = oci::Tag::referrers_for(&app.parse().unwrap()).unwrap().to_string();
    assert!(!target.tags(repo).contains(&fallback), "a tag-schema index was pushed: {:?}", target.tags(repo));
    assert_eq!(oras_discover(&format!("{}/{repo}@{app}", target.host())), referrers, "oras discover");
}
