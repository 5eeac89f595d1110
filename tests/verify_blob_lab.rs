//! Differential tests: fresh keyless bundles signed by sigstore-js and
//! sigstore-python against the lab's local Sigstore, verified offline by
//! both peers and by airlock. airlock must agree wherever the peers agree,
//! and refuse airlock's own extra tampered bundles.

mod common;

use common::{lab_dir, VerifyBlob};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Fixtures are made once per test binary (about 20 s) and shared.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let _ = lab_dir();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-fixtures");
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lab/make-fixtures.sh");
        let output = std::process::Command::new("bash")
            .arg(script)
            .arg(&dir)
            .output()
            .expect("run make-fixtures.sh");
        assert!(
            output.status.success(),
            "make-fixtures.sh failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
}

fn rows(file: &str) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(fixtures().join(file)).unwrap()).unwrap()
}

/// DSSE rows have no artifact file: their subject is artifact.txt's digest.
fn artifact_arg(row: &Value) -> String {
    let dir = fixtures();
    match row["artifact"].as_str().unwrap_or_default() {
        "" => {
            use sha2::Digest as _;
            let bytes = std::fs::read(dir.join("artifact.txt")).unwrap();
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
        }
        file => dir.join(file).display().to_string(),
    }
}

fn verify(row: &Value) -> common::Run {
    let dir = fixtures();
    VerifyBlob::new(dir.join(row["bundle"].as_str().unwrap()))
        .identity(row["identity"].as_str().unwrap(), row["issuer"].as_str().unwrap())
        .trusted_root(dir.join("trusted_root.json"))
        .run(artifact_arg(row))
}

#[test]
fn airlock_agrees_with_both_peers_on_every_lab_fixture() {
    let rows = rows("fixtures.json");
    assert!(rows.len() >= 14, "the lab produced only {} fixtures", rows.len());
    let mut compared = 0;
    let mut disagreements = Vec::new();
    for row in &rows {
        let (js, py) = (row["js"].as_str().unwrap(), row["py"].as_str().unwrap());
        if js != py {
            continue; // the peers disagree: no reference verdict
        }
        compared += 1;
        let run = verify(row);
        let airlock = if run.code == 0 { "ok" } else { "fail" };
        assert!(run.code <= 1, "could not run on {}: {}", row["bundle"], run.stderr);
        if airlock != js {
            disagreements.push(format!(
                "{} ({}): peers {js}, airlock {airlock}: {}",
                row["bundle"], row["identity"], run.json()["error"]
            ));
        }
    }
    assert!(compared >= 14, "only {compared} rows where the peers agree");
    assert!(disagreements.is_empty(), "airlock disagrees with both peers:\n{}", disagreements.join("\n"));
}

#[test]
fn lab_positives_report_identity_log_entry_and_times() {
    let dir = fixtures();
    let doc = VerifyBlob::new(dir.join("py-blob-tsa.json"))
        .identity("alice@example.com", "https://accounts.google.com")
        .trusted_root(dir.join("trusted_root.json"))
        .arg("--require-timestamp")
        .verified(dir.join("artifact.txt"));
    let result = &doc["result"];
    assert_eq!(result["signer"]["identity"]["kind"], "email");
    assert_eq!(result["logEntries"][0]["inclusionProofVerified"], true);
    let sources: Vec<_> = result["signedTimes"].as_array().unwrap().iter().map(|t| t["source"].clone()).collect();
    assert!(sources.contains(&Value::from("timestamp-authority")));
    assert!(sources.contains(&Value::from("transparency-log")));
    for check in ["certificate-chain", "certificate-transparency", "transparency-log", "inclusion-promise", "timestamp-authority", "log-entry-consistency"] {
        assert!(result["checks"].as_array().unwrap().contains(&Value::from(check)), "{check} did not run");
    }
}

fn negative(name: &str) -> Value {
    rows("negatives.json")
        .into_iter()
        .find(|r| r["bundle"] == name)
        .unwrap_or_else(|| panic!("negatives.json has no {name}"))
}

fn refused_by(name: &str, check: &str) {
    let row = negative(name);
    let dir = fixtures();
    VerifyBlob::new(dir.join(name))
        .identity(row["identity"].as_str().unwrap(), row["issuer"].as_str().unwrap())
        .trusted_root(dir.join("trusted_root.json"))
        .refused_by(check, artifact_arg(&row));
}

#[test]
fn inclusion_proof_for_another_leaf_is_refused() {
    refused_by("neg-proof-other-leaf.json", "transparency-log");
}

#[test]
fn set_over_another_body_is_refused() {
    refused_by("neg-set-other-body.json", "inclusion-promise");
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    refused_by("neg-checkpoint-other-key.json", "transparency-log");
}

#[test]
fn dsse_payload_type_swapped_is_refused() {
    refused_by("neg-dsse-payload-type.json", "statement");
}

#[test]
fn log_entry_body_of_another_signature_is_refused() {
    // The body is covered by the SET, so the SET check catches it first.
    refused_by("neg-body-other-entry.json", "inclusion-promise");
}

#[test]
fn certificate_expired_at_signing_time_is_refused() {
    let dir = fixtures().join("expired");
    let error = VerifyBlob::new(dir.join("bundle.json"))
        .identity("alice@example.com", "https://accounts.google.com")
        .trusted_root(dir.join("trusted_root.json"))
        .refused_by("certificate-chain", fixtures().join("artifact.txt"));
    assert!(error.contains("Expired"), "{error}");
}

#[test]
fn lab_bundle_is_refused_with_the_public_good_root() {
    let dir = fixtures();
    VerifyBlob::new(dir.join("js-blob-tsa.json"))
        .identity("https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main", "https://token.actions.githubusercontent.com")
        .refused_by("timestamp-authority", dir.join("artifact.txt"));
}
