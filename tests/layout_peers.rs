//! A bundle's image store is a plain OCI layout, so the field's own tools
//! read it in place: oras fetches its manifests by digest and by reference
//! name and discovers the referrers it carries; crane pushes the whole
//! layout as one index and validates what it pushed. Peers are built by
//! scripts/install-peers.sh.

mod common;

use common::{CliEnv, Env};
use sha2::Digest as _;
use std::path::Path;
use std::process::Command;
use testbed::{peer, SignMode};

/// `PEER ARGS`; its standard output (a failure shows both streams).
fn peer_run(name: &str, args: &[&str]) -> String {
    testbed::run(Command::new(peer(name)).args(args))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The digests `oras discover` lists for `subject` in the layout at `dir`.
fn oras_discover(dir: &Path, subject: &str) -> Vec<String> {
    let out = peer_run("oras", &["discover", "--oci-layout", &format!("{}@{subject}", dir.display()), "--format", "json", "--depth", "1"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("oras discover ({e}): {out}"));
    let mut digests: Vec<String> =
        doc["referrers"].as_array().map(|r| r.iter().map(|r| r["digest"].as_str().unwrap().to_string()).collect()).unwrap_or_default();
    digests.sort();
    digests
}

#[test]
fn crane_and_oras_read_a_bundle_as_an_oci_layout() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    let multi = env.registry.push_multiarch("test/multi:v2", "multi");
    env.sign("test/app", &app, SignMode::Legacy);
    env.sign("test/app", &app, SignMode::Bundle);
    let bundle = env.path("bundle");
    let r = env.run(&[&env.reference("test/app:v1"), &env.reference("test/multi:v2"), "--output", "json", "--out", bundle.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    let app_report = report["images"].as_array().unwrap().iter().find(|i| i["digest"] == app.as_str()).expect("app in the report");
    let mut carried: Vec<String> = app_report["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sigstore-bundle")
        .map(|e| e["manifest"].as_str().unwrap().to_string())
        .collect();
    carried.sort();
    assert_eq!(carried.len(), 1, "{app_report}");

    // oras: every manifest by digest, byte for byte; the image by the name
    // the layout gives it; the referrers the bundle carries.
    let digests = [app.clone(), multi.index.clone()].into_iter().chain(multi.children.iter().map(|(_, d)| d.clone()));
    for digest in digests {
        let fetched = peer_run("oras", &["manifest", "fetch", "--oci-layout", &format!("{}@{digest}", bundle.display())]);
        assert_eq!(sha256(fetched.as_bytes()), digest, "oras manifest fetch {digest}");
    }
    let by_name = peer_run("oras", &["manifest", "fetch", "--descriptor", "--oci-layout-path", bundle.to_str().unwrap(), &env.reference("test/app:v1")]);
    let descriptor: serde_json::Value = serde_json::from_str(&by_name).unwrap();
    assert_eq!(descriptor["digest"], app.as_str(), "{descriptor}");
    assert_eq!(oras_discover(&bundle, &app), carried, "oras discover");
    assert!(oras_discover(&bundle, &multi.index).is_empty());

    // crane: the layout pushed as one index lists exactly the layout's
    // entries; each image validates (layers and config against the
    // manifest's digests and sizes), platform children included.
    let target = testbed::Registry::start();
    let t = target.host();
    peer_run("crane", &["push", "--insecure", "--index", bundle.to_str().unwrap(), &format!("{t}/bundle:all")]);
    let pushed: serde_json::Value = serde_json::from_str(&peer_run("crane", &["manifest", "--insecure", &format!("{t}/bundle:all")])).unwrap();
    let layout: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("index.json")).unwrap()).unwrap();
    let entry_digests = |index: &serde_json::Value| {
        let mut d: Vec<String> = index["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap().to_string()).collect();
        d.sort();
        d
    };
    assert_eq!(entry_digests(&pushed), entry_digests(&layout));
    // Each platform child on its own: the test bed's children both carry an
    // amd64 config (mkimage.py), so validating the index would fail on the
    // fixture's platform mismatch, not on anything airlock wrote.
    for digest in [&app].into_iter().chain(multi.children.iter().map(|(_, d)| d)) {
        let out = peer_run("crane", &["validate", "--insecure", "--remote", &format!("{t}/bundle@{digest}")]);
        assert!(out.starts_with("PASS"), "crane validate {digest}: {out}");
    }
}
