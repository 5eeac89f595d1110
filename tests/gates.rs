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
            .arg(common::ALLOW_UNSIGNED)
            .arg(bundle)
            .arg("--policy")
            .arg(policy)
            .arg("--trusted-root")
            .arg(site_trusted_root())
            .args(["--output", "json"])
            .arg("--state")
            .arg(state_of(bundle))
            .args(extra)
            .env_remove("AIRLOCK_OPERATOR")
            .output()
            .unwrap(),
    );
    let report = run.json();
    (run, report)
}

/// The site's state directory beside `bundle`.
fn state_of(bundle: &Path) -> PathBuf {
    bundle.parent().unwrap().join("state")
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
    // The same refusal as facts a program can read.
    let facts = &tool["failure"]["facts"];
    assert_eq!(facts["kind"], "registryNotAllowed", "{tool}");
    assert_eq!(facts["reference"], "docker.io/library/tool:2", "{tool}");
    assert_eq!(facts["allowed"], serde_json::json!(["ghcr.io/org"]), "{tool}");
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
        let run = Run::from_output(airlock().arg("verify").arg(common::ALLOW_UNSIGNED).arg(&bundle).arg("--policy").arg(&path).output().unwrap());
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
        airlock().arg("verify").arg(common::ALLOW_UNSIGNED).arg(&bundle).arg("--policy").arg(&signed).arg("--trusted-root").arg(site_trusted_root())
            .arg("--state").arg(state_of(&bundle))
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
        airlock().arg("verify").arg(common::ALLOW_UNSIGNED).arg(&bundle).arg("--policy").arg(&signed).arg("--trusted-root").arg(site_trusted_root())
            .arg("--state").arg(state_of(&bundle))
            .args(["--break-glass", "outage"]).env("AIRLOCK_OPERATOR", "bob").output().unwrap(),
    );
    assert_eq!(text.code, 0, "{}", text.stdout);
    assert!(text.stdout.contains("BREAK-GLASS by bob"), "{}", text.stdout);
    assert!(text.stdout.contains("admitted by break-glass, waiving: missingSignature"), "{}", text.stdout);

    // Without a state directory there is no audit log: refused.
    let run = Run::from_output(
        airlock().arg("verify").arg(common::ALLOW_UNSIGNED).arg(&bundle).arg("--policy").arg(&signed).arg("--trusted-root").arg(site_trusted_root())
            .args(["--break-glass", "outage", "--operator", "alice"]).output().unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--state"), "{}", run.stderr);
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
        airlock().arg("load").arg(common::ALLOW_UNSIGNED).arg(&bundle).args(["--to", &format!("{host}/mirror"), "--insecure-registry", &host])
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

    // The load is in the audit log, with who broke glass for which image.
    let log = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(entry["command"], "load");
    assert_eq!(entry["loaded"], true);
    assert_eq!(entry["breakGlass"]["operator"], "carol");
    let tool = entry["images"].as_array().unwrap().iter().find(|i| i["reference"] == "docker.io/library/tool:2").unwrap();
    assert_eq!(tool["breakGlass"], true);
    assert_eq!(tool["gates"][0], "missingSignature");
}

fn audit_verify(state: &Path) -> Run {
    Run::from_output(airlock().args(["audit", "verify"]).arg(state).output().unwrap())
}

/// A copy of `state` whose log lines went through `edit`.
fn tampered(state: &Path, name: &str, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
    let copy = state.parent().unwrap().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(state.join("audit.head"), copy.join("audit.head")).unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(state.join("audit.jsonl")).unwrap().lines().map(String::from).collect();
    edit(&mut lines);
    std::fs::write(copy.join("audit.jsonl"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    copy
}

#[test]
fn every_decision_is_in_a_hash_chained_audit_log_and_tampering_is_found_by_line() {
    let dir = tempdir();
    let bundle = bundle(dir.path());
    let state = state_of(&bundle);
    let signed = policy(dir.path(), "signed.yaml", SIGNED_RULES);
    let open = policy(dir.path(), "open.yaml", "  rules:\n    - name: all\n      images: ['**']\n      authorities:\n        - static: pass\n");
    // An empty state: an intact, empty log.
    assert_eq!(audit_verify(&dir.path().join("nothing-yet")).code, 0);
    assert_eq!(verify(&bundle, &signed, &[]).0.code, 1);
    assert_eq!(verify(&bundle, &open, &[]).0.code, 0);
    assert_eq!(verify(&bundle, &signed, &["--break-glass", "INC-1", "--operator", "dave"]).0.code, 0);
    assert_eq!(verify(&bundle, &open, &[]).0.code, 0);
    let good = audit_verify(&state);
    assert_eq!(good.code, 0, "{}", good.stderr);
    assert!(good.stdout.contains("audit log intact: 4 entries (1 with break-glass)"), "{}", good.stdout);
    let json = Run::from_output(airlock().args(["audit", "verify", "--output", "json"]).arg(&state).output().unwrap()).json();
    assert_eq!(json["summary"]["entries"], 4);
    let lines: Vec<Value> = std::fs::read_to_string(state.join("audit.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["verdict"], "failed");
    assert_eq!(lines[0]["images"][0]["gates"][0], "missingSignature");
    assert_eq!(lines[2]["breakGlass"]["reason"], "INC-1");
    assert_eq!(lines[1]["prev"], oci::Digest::sha256_of(std::fs::read_to_string(state.join("audit.jsonl")).unwrap().lines().next().unwrap().as_bytes()).to_string());

    let refused = |copy: PathBuf, words: &[&str]| {
        let run = audit_verify(&copy);
        assert_eq!(run.code, 1, "{}: {}", copy.display(), run.stdout);
        for w in words {
            assert!(run.stderr.contains(w), "{}: {w:?} not in {}", copy.display(), run.stderr);
        }
    };
    // Edit an entry (still valid JSON): the next entry's hash gives it away.
    refused(tampered(&state, "edited", |l| l[1] = l[1].replace("\"verdict\":\"passed\"", "\"verdict\":\"failed\"")), &["line 2: edited", "line 3 records"]);
    // Edit the break-glass reason of entry 3.
    refused(tampered(&state, "reason", |l| l[2] = l[2].replace("INC-1", "INC-2")), &["line 3: edited"]);
    // Edit the last entry: the head gives it away.
    refused(tampered(&state, "last", |l| l[3] = l[3].replace("\"verdict\":\"passed\"", "\"verdict\":\"failed\"")), &["line 4: edited"]);
    // Delete an entry.
    refused(tampered(&state, "deleted", |l| { l.remove(1); }), &["line 2", "entry 2 was deleted"]);
    // Remove the last entries.
    refused(tampered(&state, "truncated", |l| l.truncate(2)), &["truncated", "entries 3..=4"]);
    // Cut the last line short.
    let cut = tampered(&state, "cut", |_| {});
    let bytes = std::fs::read(cut.join("audit.jsonl")).unwrap();
    std::fs::write(cut.join("audit.jsonl"), &bytes[..bytes.len() - 20]).unwrap();
    refused(cut, &["line 4"]);
    // The log goes on intact after all that (the originals were not touched).
    assert_eq!(audit_verify(&state).code, 0);
}

#[test]
fn policy_export_refuses_break_glass_images_or_confines_them_to_namespaces() {
    let dir = tempdir();
    let (_, public) = site_key(dir.path());
    let export = |extra: &[&str]| {
        Run::from_output(airlock().args(["policy", "export", "--registry", "reg.site:5000/mirror", "--key"]).arg(&public).args(extra).output().unwrap())
    };
    let yaml = |run: &Run| -> Value { serde_yaml_ng::from_str(&run.stdout).unwrap() };
    let site_attestor = |doc: &Value, rule: usize| doc["spec"]["rules"][rule]["verifyImages"][0]["attestors"][0]["entries"][0].clone();

    // Default: no break-glass rule; digests required either way.
    let plain = yaml(&export(&["--format", "kyverno"]));
    assert!(site_attestor(&plain, 1)["annotations"].is_null());
    assert_eq!(plain["spec"]["rules"][1]["verifyImages"][0]["verifyDigest"], true);
    assert_eq!(plain["spec"]["rules"][1]["verifyImages"][0]["mutateDigest"], true);

    let refuse = export(&["--format", "kyverno", "--refuse-break-glass"]);
    assert_eq!(refuse.code, 0, "{}", refuse.stderr);
    let doc = yaml(&refuse);
    assert_eq!(site_attestor(&doc, 1)["annotations"]["dev.airlock.break-glass"], "false", "{}", refuse.stdout);
    assert_eq!(doc["spec"]["rules"].as_array().unwrap().len(), 2);

    let confined = export(&["--format", "kyverno", "--break-glass-namespace", "incident", "--break-glass-namespace", "hotfix"]);
    assert_eq!(confined.code, 0, "{}", confined.stderr);
    let doc = yaml(&confined);
    let rules = doc["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3, "{}", confined.stdout);
    assert_eq!(rules[1]["exclude"]["any"][0]["resources"]["namespaces"], serde_json::json!(["incident", "hotfix"]));
    assert_eq!(site_attestor(&doc, 1)["annotations"]["dev.airlock.break-glass"], "false");
    assert_eq!(rules[2]["match"]["any"][0]["resources"]["namespaces"], serde_json::json!(["incident", "hotfix"]));
    assert!(site_attestor(&doc, 2)["annotations"].is_null());

    // policy-controller cannot read signature annotations: refused, not silently weaker.
    for format in ["cip", "both"] {
        let run = export(&["--format", format, "--refuse-break-glass"]);
        assert_eq!(run.code, 2, "{format}");
        assert!(run.stderr.contains("policy-controller cannot refuse break-glass images"), "{}", run.stderr);
    }
    assert_eq!(export(&["--format", "kyverno", "--break-glass-namespace", "Bad_NS"]).code, 2);
}
