//! A registry with the OCI 1.1 referrers API (olareg, built by
//! scripts/install-peers.sh) on both sides of the air gap: `bundle create`
//! finds referrers through the API (an image without any included: olareg
//! answers `"manifests": null`), and `load` pushes them so the target's API
//! lists every one, pushing no `sha256-<hex>` tag-schema index (on olareg
//! that index replaces the API's list). oras, a peer, lists them too. And
//! across kinds: from a tag-schema registry (Debian's distribution) into
//! olareg's API and into another tag-schema registry.

mod common;

use common::{airlock, tempdir, Run, CREATED};
use std::path::Path;
use std::process::Command;
use testbed::{peer, Lab, Olareg, Registry, SignMode};

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

/// `airlock bundle create REFS` (the lab's trusted root) into `out`; the report.
fn create(refs: &[&str], root: &Path, out: &Path) -> serde_json::Value {
    let hosts: Vec<&str> = refs.iter().map(|r| r.split('/').next().unwrap()).collect();
    let r = run(airlock()
        .args(["bundle", "create"])
        .args(refs)
        .args(["--insecure-registry", hosts[0], "--created", CREATED, "--output", "json", "--trusted-root"])
        .arg(root)
        .arg("--out")
        .arg(out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

/// The Sigstore bundles `bundle create` carried for `digest`, found through
/// `source` (`referrers-api` or `referrers-tag`): digests, sorted.
fn carried(report: &serde_json::Value, digest: &str, source: &str) -> Vec<String> {
    let image = report["images"].as_array().unwrap().iter().find(|i| i["digest"] == digest).expect("the image in the report");
    let mut carried: Vec<String> = image["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sigstore-bundle" && e["source"] == source)
        .map(|e| e["manifest"].as_str().unwrap().to_string())
        .collect();
    carried.sort();
    carried
}

/// `airlock load BUNDLE --to HOST/mirror` under `policy`; the repository
/// (under HOST) `reference` was loaded into.
fn load(bundle: &Path, host: &str, policy: &Path, root: &Path, reference: &str) -> String {
    let mapping = bundle.with_extension("mapping");
    let r = run(airlock()
        .arg("load")
        .arg(bundle)
        .args(["--to", &format!("{host}/mirror"), "--insecure-registry", host, "--policy"])
        .arg(policy)
        .arg("--trusted-root")
        .arg(root)
        .arg("--mapping")
        .arg(&mapping)
        .arg(common::ALLOW_UNSIGNED));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mapped = std::fs::read_to_string(&mapping).unwrap();
    let line = mapped.lines().find(|l| l.starts_with(&format!("{reference} "))).unwrap();
    let loaded = line.split_whitespace().nth(1).unwrap();
    loaded.strip_prefix(&format!("{host}/")).unwrap().split([':', '@']).next().unwrap().to_string()
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
    let report = create(&[&format!("{src}/test/app:v1"), &format!("{src}/test/plain:v1")], &root, &bundle);
    assert_eq!(carried(&report, &app, "referrers-api"), referrers, "{report}");
    let plain_report = report["images"].as_array().unwrap().iter().find(|i| i["digest"] == plain.as_str()).unwrap();
    assert!(plain_report["evidence"].as_array().unwrap().is_empty(), "{plain_report}");

    let target = Olareg::start();
    let policy = dir.path().join("policy.yaml");
    lab_policy(&policy, &src);
    let repo = load(&bundle, &target.host(), &policy, &root, &format!("{src}/test/app:v1"));
    assert_eq!(target.referrers(&repo, &app), referrers, "the target's referrers API");
    let fallback = oci::Tag::referrers_for(&app.parse().unwrap()).unwrap().to_string();
    assert!(!target.tags(&repo).contains(&fallback), "a tag-schema index was pushed: {:?}", target.tags(&repo));
    assert_eq!(oras_discover(&format!("{}/{repo}@{app}", target.host())), referrers, "oras discover");
}

/// Across registry kinds: Sigstore bundles a tag-schema registry (Debian's
/// distribution, no referrers API) holds under `sha256-<hex>` are
/// collected, and loaded so olareg's API lists them and, into another
/// tag-schema registry, so oras finds them through the tag.
#[test]
fn referrers_cross_between_the_tag_schema_and_the_api() {
    let lab = Lab::start();
    let source = Registry::start();
    let src = source.host();
    let app = source.push_image("test/app:v1", "app");
    let app_ref = format!("{src}/test/app@{app}");
    lab.sign_image_as(&app_ref, SignMode::Bundle, false, Some(COSIGN_SIGN));
    lab.sign_image(&app_ref, SignMode::Bundle, false);

    let dir = tempdir();
    let root = lab.trust_dir().join("trusted_root.json");
    let bundle = dir.path().join("bundle");
    let report = create(&[&format!("{src}/test/app:v1")], &root, &bundle);
    let referrers = carried(&report, &app, "referrers-tag");
    assert_eq!(referrers.len(), 2, "{report}");
    let policy = dir.path().join("policy.yaml");
    lab_policy(&policy, &src);

    let api = Olareg::start();
    let repo = load(&bundle, &api.host(), &policy, &root, &format!("{src}/test/app:v1"));
    assert_eq!(api.referrers(&repo, &app), referrers, "olareg's referrers API");
    assert_eq!(oras_discover(&format!("{}/{repo}@{app}", api.host())), referrers, "oras discover on olareg");

    let tags = Registry::start();
    let repo = load(&bundle, &tags.host(), &policy, &root, &format!("{src}/test/app:v1"));
    assert_eq!(oras_discover(&format!("{}/{repo}@{app}", tags.host())), referrers, "oras discover through the tag schema");
}
