//! The disconnected build (`--no-default-features`), as a site installs it:
//! its connected-only commands (`bundle create`, `trust fetch`, `advisories
//! fetch`) refuse with a message naming the missing feature and exit 2,
//! writing nothing, while the site's own commands work: `verify` accepts a
//! bundle and refuses a tampered one, `load` writes the images into a
//! layout.
//!
//! The binary is built into `target/disconnected` (its own target
//! directory, so the default build the other tests run is not replaced);
//! `scripts/test.sh` builds it there first, so this build is a no-op in CI.

mod common;
#[path = "../verifier/tests/support/mod.rs"]
mod support;

use common::{admit_all, tempdir, Run};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{noise, BundleWriter};

/// `cargo build --no-default-features --bin airlock` into
/// `target/disconnected`; the binary's path.
fn disconnected_airlock() -> PathBuf {
    let target = testbed::workspace_root().join("target/disconnected");
    let build = Run::from_output(
        Command::new(env!("CARGO"))
            .args(["build", "--locked", "--no-default-features", "--bin", "airlock", "--target-dir"])
            .arg(&target)
            .current_dir(testbed::workspace_root())
            .output()
            .expect("run cargo"),
    );
    assert_eq!(build.code, 0, "the disconnected build failed:\n{}", build.stderr);
    target.join("debug/airlock")
}

fn run(binary: &Path, args: &[&str]) -> Run {
    Run::from_output(Command::new(binary).args(args).env("DOCKER_CONFIG", "/nonexistent").output().unwrap())
}

#[test]
fn the_disconnected_build_refuses_connected_commands_cleanly_and_verifies_and_loads() {
    let airlock = disconnected_airlock();
    let dir = tempdir();
    let out = |name: &str| dir.path().join(name).display().to_string();

    let (bundle_out, trust_out, osv_out) = (out("bundle-out"), out("trust-out"), out("osv-out"));
    let osv = "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip";
    let refusals = [
        ("bundle create", vec!["bundle", "create", "127.0.0.1:5000/app:v1", "--out", &bundle_out]),
        ("trust fetch", vec!["trust", "fetch", "--out", &trust_out]),
        ("advisories fetch", vec!["advisories", "fetch", "--source", osv, "--out", &osv_out]),
    ];
    for (command, args) in &refusals {
        let r = run(&airlock, args);
        assert_eq!(r.code, 2, "{command}: expected exit 2 (could not run):\n{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(command) && r.stderr.contains("built without the `connected` feature"),
            "{command}: the message must name the command and the missing feature:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    for written in ["bundle-out", "trust-out", "osv-out"] {
        assert!(!dir.path().join(written).exists(), "{written} was created");
    }

    // The site's side works in the same binary.
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let app = w.image("app", vec![noise(1, 20_000), noise(2, 3_000)]);
    w.add_image("ghcr.io/org/app:v1", &app);
    let bundle = w.finish(&[]);
    let flags = admit_all(dir.path());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let bundle_arg = bundle.display().to_string();
    let verify = run(&airlock, &[&["verify", &bundle_arg][..], &flags].concat());
    assert_eq!(verify.code, 0, "verify:\n{}\n{}", verify.stdout, verify.stderr);
    let layout = format!("dir:{}", out("layout"));
    let load = run(&airlock, &[&["load", &bundle_arg, "--to", &layout][..], &flags].concat());
    assert_eq!(load.code, 0, "load:\n{}\n{}", load.stdout, load.stderr);
    assert!(dir.path().join("layout/index.json").is_file());
    let blob = dir.path().join("bundle/blobs/sha256").join(app.layers[0].digest.hex());
    std::fs::write(&blob, b"tampered after bundling").unwrap();
    let refused = run(&airlock, &[&["verify", &bundle_arg][..], &flags].concat());
    assert_eq!(refused.code, 1, "a tampered bundle must be refused:\n{}\n{}", refused.stdout, refused.stderr);
}
