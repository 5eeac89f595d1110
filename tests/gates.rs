//! The site's policy gates, driven as an operator drives them:
//! `spec.allowedRegistries`, `--break-glass` with `--operator` (and what the
//! policy's `spec.breakGlass` allows), the break-glass re-signature
//! annotations read back from a real registry, and the audit log.

mod common;
#[path = "../verifier/tests/support/mod.rs"]
mod support;

use common::{airlock, site_trusted_root, tempdir, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{noise, BundleWriter};

/// A bundle with `ghcr.io/org/app:v1` and `docker.io/library/tool:2`, no
/// evidence at all.
fn bundle(dir: &Path) -> PathBuf {
    let mut w = BundleWriter::new(&dir.join("bundle"));
    let app = w.image("app", vec![noise(1, 20_000)]);
    let tool = w.image("tool", vec![noise(2, 10_000)]);
    w.add_image("ghcr.io/org/app:v1", &app);
    w.add_image("docker.io/library/tool:2", &tool);
    w.finish(&[])
}

fn policy(dir: &Path, name: &str, spec: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n{spec}")).unwrap();
    path
}

/// Every image needs a keyless signature by the org's release workflow.
const SIGNED_RULES: &str = "  rules:
    - name: org-release
      images: ['ghcr.io/org/**', 'index.docker.io/library/**']
      authorities:
        - keyless:
            - issuer: https://token.actions.githubusercontent.com
              subjectRegExp: '^https://github.com/org/'
";

fn verify(bundle: &Path, policy: &Path, extra: &[&str]) -> (Run, Value) {
    let run = Run::from_output(
        airlock()
            .arg("verify")
            .arg(bundle)
            .arg("--policy")
            .arg(policy)
            .arg("--trusted-root")
            .arg(site_trusted_root())
            .args(["--output", "json"])
            .args(extra)
            .env_remove("AIRLOCK_OPERATOR")
            .output()
            .unwrap(),
    );
    let report = run.json();
    (run, report)
}

fn image<'r>(report: &'r Value, reference: &str) -> &'r Value {
    report["images"].as_array().unwrap().iter().find(|i| i["reference"] == reference).unwrap()
}

#[test]
fn an_image_from_an_unlisted_registry_is_refused_by_name_whatever_rule_matches() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let spec = "  allowedRegistries: ['ghcr.io/org']\n  rules:\n    - name: everything\n      images: ['**']\n      authorities:\n        - static: pass\n";
    let (run, report) = verify(&bundle, &policy(dir.path(), "p.yaml", spec), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let tool = image(&report, "docker.io/library/tool:2");
    assert_eq!(tool["outcome"], "failed");
    assert!(tool["failure"]["reason"].as_str().unwrap().contains("docker.io/library/tool:2 is not from an allowed registry"), "{tool}");
    assert_eq!(tool["gates"][0]["gate"], "allowedRegistries");
    // Refused before any rule was looked at.
    assert!(tool["rules"].as_array().unwrap().is_empty(), "{tool}");
    assert_eq!(image(&report, "ghcr.io/org/app:v1")["outcome"], "passed");

    // A glob and a host:port allow both; a prefix is a path boundary.
    let spec = "  allowedRegistries: ['ghcr.io/org/**', 'docker.io']\n  rules:\n    - name: everything\n      images: ['**']\n      authorities:\n        - static: pass\n";
    assert_eq!(verify(&bundle, &policy(dir.path(), "q.yaml", spec), &[]).0.code, 0);
    let spec = "  allowedRegistries: ['ghcr.io/or', 'docker.io/library/tool']\n  rules:\n    - name: everything\n      images: ['**']\n      authorities:\n        - static: pass\n";
    let (run, report) = verify(&bundle, &policy(dir.path(), "r.yaml", spec), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(image(&report, "ghcr.io/org/app:v1")["gates"][0]["gate"], "allowedRegistries");
    assert_eq!(image(&report, "docker.io/library/tool:2")["outcome"], "passed");
}

#[test]
fn bad_allowed_registries_and_break_glass_keys_are_refused_with_their_path() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    for (spec, words) in [
        (format!("  allowedRegistries: []\n{SIGNED_RULES}"), "allowedRegistries"),
        (format!("  allowedRegistries: ['ghcr.io/@bad']\n{SIGNED_RULES}"), "allowedRegistries[0]"),
        (format!("  breakGlass: {{gates: [everything]}}\n{SIGNED_RULES}"), "breakGlass"),
        (format!("  breakGlass: {{rules: [no-such-rule]}}\n{SIGNED_RULES}"), "no-such-rule"),
        (format!("  breakGlass: {{allowed: false, gates: [missingSignature]}}\n{SIGNED_RULES}"), "breakGlass"),
    ] {
        let path = policy(dir.path(), "bad.yaml", &spec);
        let run = Run::from_output(airlock().arg("verify").arg(&bundle).arg("--policy").arg(&path).output().unwrap());
        assert_eq!(run.code, 2, "{spec}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{spec}: {}", run.stderr);
    }
}

#[test]
fn break_glass_admits_policy_gate_failures_and_records_who_why_when() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let signed = policy(dir.path(), "signed.yaml", SIGNED_RULES);
    let (run, report) = verify(&bundle, &signed, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(image(&report, "ghcr.io/org/app:v1")["gates"][0]["gate"], "missingSignature");

    // No operator: break-glass cannot run.
    let run = Run::from_output(
        airlock().arg("verify").arg(&bundle).arg("--policy").arg(&signed).arg("--trusted-root").arg(site_trusted_root())
            .args(["--break-glass", "outage"]).env_remove("AIRLOCK_OPERATOR").env_remove("USER").output().unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--operator"), "{}", run.stderr);

    let (run, report) = verify(&bundle, &signed, &["--break-glass", "INC-4711: registry outage", "--operator", "alice"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(report["verdict"], "passed");
    assert_eq!(report["breakGlass"]["reason"], "INC-4711: registry outage");
    assert_eq!(report["breakGlass"]["operator"], "alice");
    assert!(report["breakGlass"]["at"].as_str().unwrap().starts_with("20"), "{}", report["breakGlass"]);
    for reference in ["ghcr.io/org/app:v1", "docker.io/library/tool:2"] {
        let i = image(&report, reference);
        assert_eq!(i["outcome"], "passed");
        assert_eq!(i["breakGlass"]["waived"][0]["gate"], "missingSignature", "{i}");
        assert_eq!(i["breakGlass"]["waived"][0]["rule"], "org-release");
        assert_eq!(i["breakGlass"]["operator"], "alice");
    }
    // The operator from the environment, and the text report.
    let text = Run::from_output(
        airlock().arg("verify").arg(&bundle).arg("--policy").arg(&signed).arg("--trusted-root").arg(site_trusted_root())
            .args(["--break-glass", "outage"]).env("AIRLOCK_OPERATOR", "bob").output().unwrap(),
    );
    assert_eq!(text.code, 0, "{}", text.stdout);
    assert!(text.stdout.contains("BREAK-GLASS by bob"), "{}", text.stdout);
    assert!(text.stdout.contains("admitted by break-glass, waiving: missingSignature"), "{}", text.stdout);
}

#[test]
fn the_policy_can_forbid_break_glass_or_limit_it_to_gates_and_rules() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let bg = ["--break-glass", "outage", "--operator", "alice"];
    let forbidden = policy(dir.path(), "f.yaml", &format!("  breakGlass: {{allowed: false}}\n{SIGNED_RULES}"));
    let (run, report) = verify(&bundle, &forbidden, &bg);
    assert_eq!(run.code, 1);
    let app = image(&report, "ghcr.io/org/app:v1");
    assert!(app["breakGlass"].is_null());
    assert!(app["warnings"].to_string().contains("forbids break-glass"), "{app}");

    // Only the registry allowlist may be waived: tool (wrong registry) is
    // admitted; app (unsigned) is not.
    let limited = policy(
        dir.path(),
        "l.yaml",
        "  allowedRegistries: ['ghcr.io']\n  breakGlass: {gates: [allowedRegistries]}\n  rules:\n    - name: org\n      images: ['ghcr.io/**']\n      authorities:\n        - keyless:\n            - {issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github.com/org/'}\n    - name: hub\n      images: ['index.docker.io/**']\n      authorities:\n        - static: pass\n",
    );
    let (run, report) = verify(&bundle, &limited, &bg);
    assert_eq!(run.code, 1);
    assert_eq!(image(&report, "docker.io/library/tool:2")["breakGlass"]["waived"][0]["gate"], "allowedRegistries");
    assert_eq!(image(&report, "ghcr.io/org/app:v1")["outcome"], "failed");

    // Limited to a rule: failures under other rules stay refused; an
    // unmatched image is a gate no rule raises.
    let by_rule = policy(
        dir.path(),
        "r.yaml",
        "  breakGlass: {rules: [org]}\n  rules:\n    - name: org\n      images: ['ghcr.io/**']\n      authorities:\n        - keyless:\n            - {issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github.com/org/'}\n",
    );
    let (run, report) = verify(&bundle, &by_rule, &bg);
    assert_eq!(run.code, 0, "{report}");
    assert_eq!(image(&report, "docker.io/library/tool:2")["breakGlass"]["waived"][0]["gate"], "unmatchedImage");
}

#[test]
fn integrity_failures_are_never_waived() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let signed = policy(dir.path(), "signed.yaml", SIGNED_RULES);
    // One flipped byte in a layer: the content step fails, nothing is admitted.
    let manifest: Value = serde_json::from_slice(&std::fs::read(bundle.join("airlock/manifest.json")).unwrap()).unwrap();
    let blob = manifest["blobs"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let path = bundle.join("blobs/sha256").join(blob);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let (run, report) = verify(&bundle, &signed, &["--break-glass", "outage", "--operator", "alice"]);
    assert_eq!(run.code, 1);
    assert_eq!(report["verdict"], "failed");
    let content = report["steps"].as_array().unwrap().iter().find(|s| s["check"] == "content").unwrap();
    assert_eq!(content["outcome"], "failed");
}

fn site_key(dir: &Path) -> (PathBuf, PathBuf) {
    let prefix = dir.join("site");
    let r = Run::from_output(airlock().args(["key", "generate", "--output-key-prefix"]).arg(&prefix).env("COSIGN_PASSWORD", "pw").output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir.join("site.key"), dir.join("site.pub"))
}

/// The simple-signing payloads of the `.sig` tag of `reference@digest`.
fn signature_payloads(host: &str, repository: &str, digest: &str, scratch: &Path) -> Vec<Value> {
    let tag = oci::Tag::cosign_for(&digest.parse().unwrap(), "sig").unwrap();
    let layout = scratch.join(format!("sig-{}", &digest[7..19]));
    testbed::run(Command::new("skopeo").args(["copy", "--quiet", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{host}/{repository}:{tag}"))
        .arg(format!("oci:{}:sig", layout.display())));
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let blob = |d: &str| std::fs::read(layout.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let manifest: Value = serde_json::from_slice(&blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    manifest["layers"].as_array().unwrap().iter().map(|l| serde_json::from_slice(&blob(l["digest"].as_str().unwrap())).unwrap()).collect()
}

#[test]
fn images_loaded_by_break_glass_are_resigned_saying_so_and_why() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let (key, _) = site_key(dir.path());
    // app passes (static); tool needs a signature it does not have.
    let spec = "  rules:\n    - name: org\n      images: ['ghcr.io/org/**']\n      authorities:\n        - static: pass\n    - name: hub\n      images: ['index.docker.io/**']\n      authorities:\n        - keyless:\n            - {issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github.com/org/'}\n";
    let policy = policy(dir.path(), "p.yaml", spec);
    let registry = testbed::Registry::start();
    let host = registry.host();
    let state = dir.path().join("state");
    let run = Run::from_output(
        airlock().arg("load").arg(&bundle).args(["--to", &format!("{host}/mirror"), "--insecure-registry", &host])
            .arg("--policy").arg(&policy).arg("--trusted-root").arg(site_trusted_root())
            .arg("--resign-key").arg(&key).arg("--state").arg(&state)
            .args(["--break-glass", "INC-9: hotfix", "--operator", "carol", "--output", "json"])
            .env("COSIGN_PASSWORD", "pw").env("DOCKER_CONFIG", "/nonexistent").output().unwrap(),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let images = report["report"]["images"].as_array().unwrap();
    let digest = |source: &str| images.iter().find(|i| i["source"] == source).unwrap()["digest"].as_str().unwrap().to_string();
    let tool = signature_payloads(&host, "mirror/docker.io/library/tool", &digest("docker.io/library/tool:2"), dir.path());
    let optional = &tool[0]["optional"];
    assert_eq!(optional["dev.airlock.break-glass"], "true", "{optional}");
    assert_eq!(optional["dev.airlock.break-glass.reason"], "INC-9: hotfix");
    assert_eq!(optional["dev.airlock.break-glass.operator"], "carol");
    assert_eq!(optional["dev.airlock.break-glass.gates"], "missingSignature");
    let app = signature_payloads(&host, "mirror/ghcr.io/org/app", &digest("ghcr.io/org/app:v1"), dir.path());
    assert_eq!(app[0]["optional"]["dev.airlock.break-glass"], "false", "{}", app[0]);
    assert!(app[0]["optional"]["dev.airlock.break-glass.reason"].is_null());
}
