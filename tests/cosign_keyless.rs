//! cosign v3 signing keylessly against airlock's own local Sigstore
//! (`scripts/sigstore-local`, what `scripts/quickstart.sh` signs against): a
//! signature and SLSA provenance in v3's bundle format, and cosign's classic
//! `.sig` with a timestamp, bundled with fresh Rekor proofs by `airlock
//! bundle create` (given only the instance's `--trusted-root`, no
//! `--rekor-url`: the proofs come from its `tlogs[].baseUrl`) and verified offline by `airlock verify` against the
//! instance's trusted root; another identity is refused. A CycloneDX SBOM
//! attestation rides along; after `airlock load --resign-key`, `cosign
//! verify` and `verify-attestation` still accept the publisher's evidence
//! in the site's registry.

mod common;

use common::{airlock, airlock_key, load_resigned_images, tempdir, verify_json, Run, CREATED};
use std::path::Path;
use testbed::{Cosign, LocalSigstore, Registry};

const IDENTITY: &str = "https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main";
const OTHER_IDENTITY: &str = "https://github.com/example/other/.github/workflows/x.yml@refs/heads/main";
/// The SBOM the publisher attests (CycloneDX 1.5, one npm package).
const CYCLONEDX: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"left-pad","version":"1.3.0","purl":"pkg:npm/left-pad@1.3.0"}]}"#;

fn write_policy(dir: &Path, host: &str, issuer: &str, subject: &str) -> std::path::PathBuf {
    let keyless = format!("          keyless:\n            - issuer: {issuer}\n              subject: '{subject}'\n          require: {{signedTimestamp: true}}\n");
    let text = format!(
        "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: release\n      images: ['{host}/demo/**']\n      authorities:\n        - name: ci\n{keyless}    - name: provenance\n      images: ['{host}/demo/worker*']\n      authorities:\n        - name: builder\n{keyless}          attestations:\n            - name: slsa\n              predicateType: slsaprovenance1\n              builderId: https://example.com/builder\n            - name: sbom\n              predicateType: cyclonedx\n"
    );
    let path = dir.join(format!("policy-{}.yaml", subject.len()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn cosign_v3_keyless_signatures_made_against_the_local_sigstore_are_bundled_and_verified_offline() {
    let registry = Registry::start();
    let sigstore = LocalSigstore::start();
    let cosign = Cosign::new();
    let dir = tempdir();
    let host = registry.host();
    let web = format!("{host}/demo/web@{}", registry.push_image("demo/web:v1", "web"));
    let worker = format!("{host}/demo/worker@{}", registry.push_image("demo/worker:v1", "worker"));
    let token = sigstore.token_file(IDENTITY, dir.path());
    let predicate = dir.path().join("provenance.json");
    std::fs::write(&predicate, r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#).unwrap();
    cosign.sign_keyless_legacy(&sigstore, &token, &web);
    cosign.sign_keyless(&sigstore, &token, &worker);
    cosign.attest_keyless(&sigstore, &token, &worker, "slsaprovenance1", &predicate);
    let sbom = dir.path().join("bom.cdx.json");
    std::fs::write(&sbom, CYCLONEDX).unwrap();
    cosign.attest_keyless(&sigstore, &token, &worker, "cyclonedx", &sbom);

    let policy = write_policy(dir.path(), &host, sigstore.issuer(), IDENTITY);
    let bundle = dir.path().join("bundle");
    let run = Run::from_output(
        airlock()
            .args(["bundle", "create", &format!("{host}/demo/web:v1"), &format!("{host}/demo/worker:v1")])
            .args(["--insecure-registry", &host, "--created", CREATED])
            .arg("--trusted-root")
            .arg(sigstore.trusted_root())
            .arg("--policy")
            .arg(&policy)
            .arg("--out")
            .arg(&bundle)
            .env("DOCKER_CONFIG", dir.path())
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "bundle create refused:\n{}", run.stderr);
    // The .sig carries only a SET: the bundler fetched its inclusion proof.
    let summary = format!("{}{}", run.stdout, run.stderr);
    assert!(summary.contains("fetched with a fresh proof"), "{summary}");

    let run = verify_json(&bundle, &policy, &sigstore.trusted_root());
    assert_eq!(run.code, 0, "verify refused:\n{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let mut roles = Vec::new();
    for image in report["images"].as_array().unwrap() {
        for accepted in image["accepted"].as_array().unwrap() {
            let facts = &accepted["facts"];
            assert_eq!(facts["signer"]["identity"]["value"], IDENTITY);
            assert_eq!(facts["signer"]["issuer"], sigstore.issuer());
            let entries = facts["logEntries"].as_array().unwrap();
            assert!(!entries.is_empty() && entries.iter().all(|e| e["inclusionProofVerified"] == true), "{facts}");
            let sources: Vec<&str> = facts["signedTimes"].as_array().unwrap().iter().filter_map(|t| t["source"].as_str()).collect();
            assert!(sources.contains(&"timestamp-authority"), "{sources:?}");
            roles.push(format!("{} {}", image["reference"].as_str().unwrap(), accepted["role"].as_str().unwrap()));
        }
    }
    for expected in [
        format!("{host}/demo/web:v1 signature"),
        format!("{host}/demo/worker:v1 signature"),
        format!("{host}/demo/worker:v1 attestation slsa"),
        format!("{host}/demo/worker:v1 attestation sbom"),
    ] {
        assert!(roles.contains(&expected), "{expected} not among {roles:?}");
    }

    let stranger = write_policy(dir.path(), &host, sigstore.issuer(), OTHER_IDENTITY);
    let run = verify_json(&bundle, &stranger, &sigstore.trusted_root());
    assert_eq!(run.code, 1, "another identity must be refused:\n{}", run.stdout);
    assert_eq!(run.json()["images"][0]["failure"]["check"], "identity");

    // Loaded (and re-signed by the site) into the site's registry, the
    // publisher's signatures and attestations still satisfy cosign there,
    // offline against the instance's trusted root.
    let (site_key, _) = airlock_key(dir.path(), "site", "site-password");
    let loaded = load_resigned_images(&bundle, &format!("{host}/site"), &policy, &sigstore.trusted_root(), &site_key, "site-password");
    let [site_web, site_worker] = loaded.as_slice() else { panic!("two images loaded: {loaded:?}") };
    assert!(site_web.starts_with(&format!("{host}/site/")) && site_web.contains("/demo/web@"), "{site_web}");
    for image in [site_web, site_worker] {
        let (ok, out) = outcome(cosign.verify_keyless(&sigstore, IDENTITY, image));
        assert!(ok, "cosign verify refused the publisher's signature of {image} after load:\n{out}");
        let (ok, out) = outcome(cosign.verify_keyless(&sigstore, OTHER_IDENTITY, image));
        assert!(!ok && out.contains("identit"), "cosign verify accepted another identity on {image}:\n{out}");
    }
    for predicate_type in ["slsaprovenance1", "cyclonedx"] {
        let (ok, out) = outcome(cosign.verify_attestation_keyless(&sigstore, IDENTITY, site_worker, predicate_type));
        assert!(ok, "cosign verify-attestation --type {predicate_type} refused after load:\n{out}");
    }
}

/// Whether a cosign run passed, and what it said.
fn outcome(out: std::process::Output) -> (bool, String) {
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
