//! The admission controllers a site runs, as peers: policy-controller's
//! `tester` and the Kyverno CLI (built by scripts/install-peers.sh), on
//! images in loopback registries. airlock's import verdict for a
//! ClusterImagePolicy must be the tester's; the policies `airlock policy
//! export` writes must admit what `airlock load --resign-key` loaded, in
//! pods `airlock pin` rewrote, and refuse what another key signed.

mod common;

use common::{airlock, CliEnv, Env, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testbed::{peer, SignMode};

const PASSWORD: &str = "admission-test";
const LAB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn run(cmd: &mut Command) -> Run {
    Run::from_output(cmd.env("COSIGN_PASSWORD", PASSWORD).env("DOCKER_CONFIG", "/nonexistent").output().expect("run"))
}

/// `airlock key generate` into `dir/NAME.{key,pub}`.
fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let r = run(airlock().args(["key", "generate", "--output-key-prefix"]).arg(&prefix));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")))
}

/// `cosign sign --key`, cosign's legacy `.sig` and no transparency log:
/// how a site or publisher without a Sigstore signs.
fn cosign_sign(reference: &str, key: &Path) {
    let r = run(Command::new(peer("cosign"))
        .args(["sign", "--yes", "--use-signing-config=false", "--tlog-upload=false", "--new-bundle-format=false", "--key"])
        .arg(key)
        .arg(reference));
    assert_eq!(r.code, 0, "cosign sign {reference}: {}", r.stderr);
}

/// The tester's verdict on `image`: admitted (exit 0) or refused (exit 1,
/// with its reasons).
fn tester(cip: &Path, image: &str, trust_root: Option<&Path>) -> Result<(), String> {
    let mut cmd = Command::new(peer("tester"));
    cmd.arg("-policy").arg(cip).args(["-image", image, "-log-level", "error"]);
    if let Some(trust_root) = trust_root {
        cmd.arg("-trustroot").arg(trust_root);
    }
    let r = run(&mut cmd);
    match r.code {
        0 => Ok(()),
        1 => Err(r.stdout),
        code => panic!("tester exited {code}: {}{}", r.stdout, r.stderr),
    }
}

/// `airlock verify BUNDLE --policy POLICY`: each image's verdict, by digest.
fn airlock_verdicts(bundle: &Path, policy: &Path, trusted_root: &Path) -> BTreeMap<String, bool> {
    let r = run(airlock().arg("verify").arg(bundle).arg("--policy").arg(policy).arg("--trusted-root").arg(trusted_root).args(["--output", "json", common::ALLOW_UNSIGNED]));
    assert!(r.code == 0 || r.code == 1, "airlock verify exited {}: {}", r.code, r.stderr);
    let report = r.json();
    let images = report["images"].as_array().unwrap_or_else(|| panic!("no verdicts: {report}"));
    images.iter().map(|i| (i["digest"].as_str().unwrap().to_string(), i["outcome"] == "passed")).collect()
}

/// A ClusterImagePolicy for `glob` with one authority (YAML lines at the
/// authority's indentation).
fn cip(name: &str, glob: &str, authority: &str) -> String {
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: {name}\nspec:\n  images:\n  - glob: \"{glob}\"\n  authorities:\n  - name: {name}\n{authority}"
    )
}

fn key_authority(public: &Path) -> String {
    let pem = std::fs::read_to_string(public).unwrap();
    format!("    key:\n      data: |\n{}", pem.lines().map(|l| format!("        {l}\n")).collect::<String>())
}

/// The lab's keyless signer, its Sigstore named by `trustRootRef: lab`.
fn keyless_authority(subject_regexp: &str, extra: &str) -> String {
    format!(
        "    keyless:\n      trustRootRef: lab\n      identities:\n      - issuer: {LAB_ISSUER}\n        subjectRegExp: '{subject_regexp}'\n    ctlog:\n      trustRootRef: lab\n{extra}"
    )
}

/// Write `document` (one CIP) for the tester, and the policy airlock reads:
/// the same CIP followed by the TrustRoot its `trustRootRef`s name (the
/// tester takes that with `-trustroot`). Returns (tester's, airlock's).
fn policy_files(env: &Env, name: &str, document: &str, trust_root: Option<&Path>) -> (PathBuf, PathBuf) {
    let cip_file = env.path(&format!("{name}.yaml"));
    std::fs::write(&cip_file, document).unwrap();
    let policy = env.path(&format!("{name}-airlock.yaml"));
    let trust_root = trust_root.map(|t| format!("---\n{}\n", std::fs::read_to_string(t).unwrap())).unwrap_or_default();
    std::fs::write(&policy, format!("{document}{trust_root}")).unwrap();
    (cip_file, policy)
}

#[test]
fn the_tester_and_airlock_give_the_same_verdicts_for_the_same_cluster_image_policies() {
    let env = Env::start();
    let host = env.registry.host();
    let dir = env.dir.path();
    let (a_key, a_pub) = key_pair(dir, "a");
    let (_, b_pub) = key_pair(dir, "b");
    let keyed = env.registry.push_image("test/keyed:v1", "signed with key a");
    cosign_sign(&format!("{host}/test/keyed@{keyed}"), &a_key);
    let keyless = env.registry.push_image("test/keyless:v1", "signed by the lab");
    env.sign("test/keyless", &keyless, SignMode::Legacy);
    // A Sigstore-bundle SLSA provenance attestation, as a build system attaches it.
    env.sign("test/keyless", &keyless, SignMode::Bundle);
    let plain = env.registry.push_image("test/plain:v1", "nobody signed this");
    let bundle = env.path("bundle");
    let refs = ["test/keyed:v1", "test/keyless:v1", "test/plain:v1"].map(|r| env.reference(r));
    let r = env.run(&[&refs[0], &refs[1], &refs[2], "--out", bundle.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let root = env.lab.trust_dir().join("trusted_root.json");
    let trust_root = env.path("trustroot.json");
    std::fs::write(&trust_root, testbed::trust_root_resource(&root, "lab").to_string()).unwrap();

    let glob = format!("{host}/test/**");
    let sbom = "    attestations:\n    - name: sbom\n      predicateType: cyclonedx\n";
    // (name, authority, keyless, the images both must admit)
    let cases = [
        ("key-a", key_authority(&a_pub), false, vec![&keyed]),
        ("key-b", key_authority(&b_pub), false, vec![]),
        ("lab", keyless_authority("^https://github.com/example/repo/", ""), true, vec![&keyless]),
        ("not-lab", keyless_authority("^https://github.com/other/", ""), true, vec![]),
        ("lab-sbom", keyless_authority("^https://github.com/example/repo/", sbom), true, vec![]),
    ];
    for (name, authority, keyless_case, admitted) in cases {
        let (cip_file, policy) = policy_files(&env, name, &cip(name, &glob, &authority), keyless_case.then_some(trust_root.as_path()));
        let ours = airlock_verdicts(&bundle, &policy, &root);
        for (repo, digest) in [("test/keyed", &keyed), ("test/keyless", &keyless), ("test/plain", &plain)] {
            let expected = admitted.contains(&digest);
            let theirs = tester(&cip_file, &format!("{host}/{repo}@{digest}"), keyless_case.then_some(trust_root.as_path()));
            assert_eq!(theirs.is_ok(), expected, "tester, policy {name}, image {digest}: {theirs:?}");
            assert_eq!(ours.get(digest.as_str()), Some(&expected), "airlock, policy {name}, image {digest}: {ours:?}");
        }
    }

    // The one disagreement, the tester's: it cannot verify a keyless
    // Sigstore-bundle attestation against a sigstoreKeys TrustRoot, because
    // policy-controller v0.13.1 gives such a log the ID hex(sha256(key)) as
    // text where the bundle carries the raw bytes (ConvertTransparencyLogInstance
    // in pkg/apis/config/sigstore_keys.go), so no log entry matches.
    let slsa = "    signatureFormat: bundle\n    attestations:\n    - name: provenance\n      predicateType: https://slsa.dev/provenance/v1\n";
    let document = cip("lab-slsa", &glob, &keyless_authority("^https://github.com/example/repo/", slsa));
    let (cip_file, policy) = policy_files(&env, "lab-slsa", &document, Some(&trust_root));
    assert_eq!(airlock_verdicts(&bundle, &policy, &root).get(keyless.as_str()), Some(&true), "airlock, SLSA provenance");
    let theirs = tester(&cip_file, &format!("{host}/test/keyless@{keyless}"), Some(&trust_root)).unwrap_err();
    assert!(theirs.contains("not enough verified log entries from transparency log: 0"), "the tester's log-ID bug is gone? {theirs}");

    // A TrustRoot that is not airlock's trusted root (its CT log left out)
    // decides nothing: verify stops at the trust root, bundle create
    // --policy writes no bundle.
    let mut short = testbed::trust_root_resource(&root, "lab");
    short["spec"]["sigstoreKeys"]["ctLogs"] = serde_json::json!([]);
    let short_file = env.path("short-trustroot.json");
    std::fs::write(&short_file, short.to_string()).unwrap();
    let document = cip("lab", &glob, &keyless_authority("^https://github.com/example/repo/", ""));
    let (_, policy) = policy_files(&env, "lab-short", &document, Some(&short_file));
    let r = run(airlock().arg("verify").arg(&bundle).arg("--policy").arg(&policy).arg("--trusted-root").arg(&root).arg(common::ALLOW_UNSIGNED));
    assert_ne!(r.code, 0, "verify accepted a TrustRoot that is not its trusted root");
    assert!(r.stdout.contains("does not name the trust material airlock verifies with: ctLogs"), "{}{}", r.stdout, r.stderr);
    let refused = env.path("refused");
    let r = env.run(&[&refs[1], "--policy", policy.to_str().unwrap(), "--out", refused.to_str().unwrap()]);
    assert_ne!(r.code, 0, "bundle create --policy accepted a TrustRoot that is not its trusted root");
    assert!(r.stderr.contains("does not name the trust material airlock verifies with: ctLogs"), "{}", r.stderr);
    assert!(!refused.join("airlock/manifest.json").exists(), "a refused bundle must not be finished");
}


/// `kyverno apply POLICY --resource POD`: exit 0 with the rule counts when
/// every rule passed, exit 1 with the failures otherwise.
fn kyverno_apply(policy: &Path, pod: &Path) -> Result<String, String> {
    let r = run(Command::new(peer("kyverno")).arg("apply").arg(policy).arg("--resource").arg(pod));
    assert!(r.stdout.contains("error: 0"), "kyverno could not apply {}: {}{}", policy.display(), r.stdout, r.stderr);
    match r.code {
        0 => Ok(r.stdout),
        1 => Err(r.stdout),
        code => panic!("kyverno exited {code}: {}{}", r.stdout, r.stderr),
    }
}

fn pod(path: &Path, name: &str, image: &str) {
    std::fs::write(path, format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: {name}\n    image: {image}\n")).unwrap();
}

#[test]
fn exported_policies_admit_what_load_resigned_and_refuse_another_key() {
    let env = Env::start();
    let dir = env.dir.path();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    let multi = env.registry.push_multiarch("test/multi:v2", "multi");
    env.sign("test/multi", &multi.index, SignMode::Legacy);
    let bundle = env.path("bundle");
    let r = env.run(&[&env.reference("test/app:v1"), &env.reference("test/multi:v2"), "--out", bundle.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The site: its key, its registry, the load that re-signs.
    let (site_key, site_pub) = key_pair(dir, "site");
    let site = testbed::Registry::start();
    let mirror = format!("{}/mirror", site.host());
    let mapping = env.path("mapping.txt");
    let r = run(airlock()
        .arg("load")
        .arg(&bundle)
        .args(["--to", &mirror, "--insecure-registry", &site.host(), "--resign-key"])
        .arg(&site_key)
        .arg("--policy")
        .arg(common::lab_policy(&env))
        .arg("--trusted-root")
        .arg(env.lab.trust_dir().join("trusted_root.json"))
        .arg("--mapping")
        .arg(&mapping)
        .arg(common::ALLOW_UNSIGNED));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let export = |format: &str| {
        let r = run(airlock().args(["policy", "export", "--registry", &mirror, "--format", format, "--key"]).arg(&site_pub));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let path = env.path(&format!("export-{format}.yaml"));
        std::fs::write(&path, r.stdout).unwrap();
        path
    };
    let (cip, kyverno) = (export("cip"), export("kyverno"));

    // A pod as a chart renders it, pinned by `airlock pin` to what load pushed.
    let web = env.path("web.yaml");
    pod(&web, "web", &env.reference("test/app:v1"));
    let r = run(airlock().arg("pin").arg("--in-place").arg("--mapping").arg(&mapping).arg(&web));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pinned = std::fs::read_to_string(&web).unwrap();
    let loaded = format!("{mirror}/{}/test/app", env.registry.host().replace(':', "-"));
    assert!(pinned.contains(&format!("image: {loaded}:v1@{app}")), "{pinned}");

    // In the mirror, signed by another key; outside the mirror.
    let (rogue_key, _) = key_pair(dir, "rogue");
    let rogue = site.push_image("mirror/rogue:v1", "not from the bundle");
    cosign_sign(&format!("{mirror}/rogue@{rogue}"), &rogue_key);
    let outside = site.push_image("elsewhere/app:v1", "outside the mirror");

    // policy-controller: every loaded image and platform child admitted.
    let multi_loaded = format!("{mirror}/{}/test/multi", env.registry.host().replace(':', "-"));
    let mut admitted = vec![format!("{loaded}@{app}"), format!("{multi_loaded}@{}", multi.index)];
    admitted.extend(multi.children.iter().map(|(_, child)| format!("{multi_loaded}@{child}")));
    for image in &admitted {
        tester(&cip, image, None).unwrap_or_else(|e| panic!("tester refused {image}: {e}"));
    }
    let refused = tester(&cip, &format!("{mirror}/rogue@{rogue}"), None).unwrap_err();
    assert!(refused.contains("no matching signatures"), "{refused}");
    let refused = tester(&cip, &format!("{}/elsewhere/app@{outside}", site.host()), None).unwrap_err();
    assert!(refused.contains("uncovered by policy"), "{refused}");

    // Kyverno: the pinned pod passes both rules; the mirror's tag alone
    // passes too (Kyverno resolves it and verifies the digest it finds);
    // another key's image and an image outside the mirror fail.
    let out = kyverno_apply(&kyverno, &web).unwrap_or_else(|e| panic!("kyverno refused the pinned pod: {e}"));
    assert!(out.contains("fail: 0"), "{out}");
    let tag_only = env.path("tag-only.yaml");
    pod(&tag_only, "tag-only", &format!("{loaded}:v1"));
    kyverno_apply(&kyverno, &tag_only).unwrap_or_else(|e| panic!("kyverno refused the tag-only pod: {e}"));
    let rogue_pod = env.path("rogue.yaml");
    pod(&rogue_pod, "rogue", &format!("{mirror}/rogue:v1@{rogue}"));
    let refused = kyverno_apply(&kyverno, &rogue_pod).unwrap_err();
    assert!(refused.contains("mirror-images-signed") && refused.contains("no matching signatures"), "{refused}");
    let foreign = env.path("foreign.yaml");
    pod(&foreign, "foreign", &format!("{}@{app}", env.reference("test/app")));
    let refused = kyverno_apply(&kyverno, &foreign).unwrap_err();
    assert!(refused.contains("only-mirror-images"), "{refused}");

    // The same expectations as a `kyverno test` suite an operator keeps.
    let suite = kyverno_suite(&env, &kyverno, &[(&web, "web", "pass"), (&rogue_pod, "rogue", "fail"), (&foreign, "foreign", "fail")]);
    let r = run(Command::new(peer("kyverno")).arg("test").arg(&suite));
    assert_eq!(r.code, 0, "kyverno test: {}{}", r.stdout, r.stderr);
    // Kyverno counts each expectation once per image check it runs (six
    // rows for three); what matters is that none failed.
    assert!(r.stdout.contains("tests passed and 0 tests failed") && !r.stdout.contains(": 0 tests passed"), "{}", r.stdout);
}

/// A `kyverno test` directory: the policy, the pods, and for each pod the
/// result expected of the rule that decides it (`mirror-images-signed` for
/// a mirror image, `only-mirror-images` for one outside).
fn kyverno_suite(env: &Env, policy: &Path, pods: &[(&Path, &str, &str)]) -> PathBuf {
    let dir = env.path("kyverno-suite");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(policy, dir.join("policy.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(policy).unwrap()).unwrap();
    let name = doc["metadata"]["name"].as_str().expect("the policy's name");
    let mut resources = Vec::new();
    let mut results = String::new();
    for (path, pod, result) in pods {
        std::fs::copy(path, dir.join(format!("{pod}.yaml"))).unwrap();
        resources.push(format!("{pod}.yaml"));
        let rule = if *pod == "foreign" { "only-mirror-images" } else { "mirror-images-signed" };
        results.push_str(&format!("- {{policy: {name}, rule: {rule}, kind: Pod, resources: [{pod}], result: {result}}}\n"));
    }
    let test = format!(
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {{name: airlock-mirror}}\npolicies: [policy.yaml]\nresources: [{}]\nresults:\n{results}",
        resources.join(", ")
    );
    std::fs::write(dir.join("kyverno-test.yaml"), test).unwrap();
    dir
}
