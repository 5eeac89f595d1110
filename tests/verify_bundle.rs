//! `airlock verify`, driven as a site's security officer drives it: on
//! bundles made by `airlock bundle create` from a real registry and the
//! sigstore-lab, and on hand-broken copies of them. Every refusal names its
//! step and reason; nothing verifies that should not.

mod common;

use common::{airlock, CliEnv, Env, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use testbed::SignMode;

const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";

/// Bundles made once per test binary. The registry and the lab are gone
/// by the time tests run: verification needs neither.
struct Fixture {
    dir: PathBuf,
    host: String,
    app: String,
    multi: String,
    big: String,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let env = Env::start();
        let host = env.registry.host();
        let app = env.registry.push_image("test/app:v1", "app");
        env.sign("test/app", &app, SignMode::Legacy);
        let multi = env.registry.push_multiarch("test/multi:v1", "multi").index;
        let multi_ref = format!("{host}/test/multi@{multi}");
        env.lab.sign_image_as(&multi_ref, SignMode::Bundle, true, Some(COSIGN_SIGN));
        env.lab.sign_image(&multi_ref, SignMode::Bundle, false);
        let big = env.registry.push_large_image("test/big:v1", 3, 1 << 20);
        env.sign("test/big", &big, SignMode::Legacy);

        let dir = common::tempdir().keep();
        std::fs::copy(env.lab.trust_dir().join("trusted_root.json"), dir.join("root.json")).unwrap();
        write_policy(&dir.join("policy.yaml"), &host, "^https://github.com/example/repo/");
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"], &dir.join("transfer.key"));
        openssl(&["pkey", "-pubout", "-in", dir.join("transfer.key").to_str().unwrap(), "-out"], &dir.join("transfer.pub"));
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"], &dir.join("other.key"));
        openssl(&["pkey", "-pubout", "-in", dir.join("other.key").to_str().unwrap(), "-out"], &dir.join("other.pub"));

        let refs = [format!("{host}/test/app:v1"), format!("{host}/test/multi:v1"), format!("{host}/test/big:v1")];
        let bundle = |out: &str, extra: &[&str]| {
            let run = Run::from_output(
                env.bundle(&refs.iter().map(String::as_str).chain(["--out", dir.join(out).to_str().unwrap()]).chain(extra.iter().copied()).collect::<Vec<_>>())
                    .output()
                    .unwrap(),
            );
            assert_eq!(run.code, 0, "bundle create {out}: {}", run.stderr);
        };
        bundle("dir", &[]);
        bundle("b.tar", &[]);
        bundle("b.tar.gz", &[]);
        bundle("b.tar.zst", &[]);
        bundle("v.tar", &["--split-size", "1MiB"]);
        bundle("signed", &["--sign-key", dir.join("transfer.key").to_str().unwrap()]);
        Fixture { dir, host, app, multi, big }
    })
}

fn openssl(args: &[&str], out: &Path) {
    let status = std::process::Command::new("openssl").args(args).arg(out).status().unwrap();
    assert!(status.success(), "openssl {args:?}");
}

/// The site's policy: the lab's keyless signer for every test image, and
/// SLSA provenance from the lab's builder for the multi-platform one.
fn write_policy(path: &Path, host: &str, subject: &str) {
    let policy = format!(
        r#"apiVersion: airlock.dev/v1alpha1
kind: ImportPolicy
spec:
  rules:
    - name: lab-signed
      images: ['{host}/test/**']
      authorities:
        - name: lab-release
          keyless:
            - issuer: https://token.actions.githubusercontent.com
              subjectRegExp: '{subject}'
    - name: multi-provenance
      images: ['{host}/test/multi*']
      authorities:
        - name: lab-builder
          keyless:
            - issuer: https://token.actions.githubusercontent.com
              subjectRegExp: '{subject}'
          require:
            signature: false
          attestations:
            - name: provenance
              predicateType: slsaprovenance1
              builderId: https://example.com/builder
"#
    );
    std::fs::write(path, policy).unwrap();
}

/// `airlock verify BUNDLE --policy … --trusted-root (the site's copy of the
/// lab root) --output json`, plus `extra`.
fn verify(bundle: &Path, extra: &[&str]) -> (Run, Value) {
    let f = fixture();
    let policy = f.path("policy.yaml");
    let root = f.path("root.json");
    let mut args = vec!["verify", bundle.to_str().unwrap(), "--policy", policy.to_str().unwrap(), "--output", "json"];
    if !extra.contains(&"--no-site-root") {
        args.extend(["--trusted-root", root.to_str().unwrap()]);
    }
    args.extend(extra.iter().filter(|a| **a != "--no-site-root"));
    let run = Run::from_output(airlock().args(&args).output().unwrap());
    let report = run.json();
    (run, report)
}

fn step<'r>(report: &'r Value, check: &str) -> &'r Value {
    report["steps"].as_array().unwrap().iter().find(|s| s["check"] == check).unwrap()
}

fn image<'r>(report: &'r Value, digest: &str) -> &'r Value {
    report["images"].as_array().unwrap().iter().find(|i| i["digest"] == digest).unwrap_or_else(|| panic!("no image {digest} in {report:#}"))
}

/// A refusal at `check`: exit 1, verdict failed, that step failed with
/// `words` in its detail, and every later step not reached.
fn refused_at(run: &Run, report: &Value, check: &str, words: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(report["verdict"], "failed");
    let failed = step(report, check);
    assert_eq!(failed["outcome"], "failed", "{report:#}");
    assert!(failed["detail"].as_str().unwrap().contains(words), "expected {words:?} in {}", failed["detail"]);
}

fn copy(name: &str, to: &str) -> PathBuf {
    let target = common::tempdir().keep().join(to);
    let status = std::process::Command::new("cp").arg("-a").arg(fixture().path(name)).arg(&target).status().unwrap();
    assert!(status.success());
    target
}

fn blob(bundle: &Path, digest: &str) -> PathBuf {
    bundle.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn flip_first_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

fn edit_manifest(bundle: &Path, edit: impl FnOnce(&mut Value)) {
    let path = bundle.join("airlock/manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

fn manifest_image<'m>(manifest: &'m mut Value, digest: &str) -> &'m mut Value {
    manifest["images"].as_array_mut().unwrap().iter_mut().find(|i| i["digest"] == digest).unwrap()
}

// ------------------------------------------------------------- good bundles

#[test]
fn every_form_of_a_good_bundle_verifies() {
    let f = fixture();
    for name in ["dir", "b.tar", "b.tar.gz", "b.tar.zst", "v.tar.001"] {
        let (run, report) = verify(&f.path(name), &[]);
        assert_eq!(run.code, 0, "{name}: {}", step_summary(&report));
        assert_eq!(report["verdict"], "passed", "{name}");
        let outcomes: Vec<_> = report["steps"].as_array().unwrap().iter().map(|s| s["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["skipped", "passed", "passed", "passed", "passed", "passed"], "{name}");
        assert_eq!(report["images"].as_array().unwrap().len(), 3, "{name}");
    }
}

fn step_summary(report: &Value) -> String {
    serde_json::to_string_pretty(&report["steps"]).unwrap() + &serde_json::to_string_pretty(&report["images"]).unwrap()
}

#[test]
fn the_report_records_who_signed_what_logged_where() {
    let f = fixture();
    let (_, report) = verify(&f.path("dir"), &[]);
    let app = image(&report, &f.app);
    assert_eq!(app["reference"], format!("{}/test/app:v1", f.host));
    let accepted = &app["accepted"][0];
    assert_eq!((accepted["rule"].as_str(), accepted["role"].as_str()), (Some("lab-signed"), Some("signature")));
    let facts = &accepted["facts"];
    assert_eq!(facts["signer"]["issuer"], "https://token.actions.githubusercontent.com");
    // The SET-only legacy signature was given a fresh inclusion proof at
    // bundle time, and the site verified it.
    assert_eq!(facts["logEntries"][0]["inclusionProofVerified"], true);
    assert!(facts["checks"].as_array().unwrap().contains(&Value::from("payload-digest")));

    let multi = image(&report, &f.multi);
    let roles: Vec<_> = multi["accepted"].as_array().unwrap().iter().map(|a| a["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"signature") && roles.contains(&"attestation provenance"), "{roles:?}");
    let signature = multi["accepted"].as_array().unwrap().iter().find(|a| a["role"] == "signature").unwrap();
    let sources: Vec<_> = signature["facts"]["signedTimes"].as_array().unwrap().iter().map(|t| t["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"timestamp-authority"), "{sources:?}");

    assert_eq!(report["bundle"]["id"].as_str().map(|s| s.starts_with("sha256:")), Some(true));
    assert_eq!(report["policy"]["sha256"].as_str().map(|s| s.starts_with("sha256:")), Some(true));
    assert!(report["trust"]["source"].as_str().unwrap().contains("no TUF chain"));
    assert_eq!(report["mediaType"], "application/vnd.airlock.verify.report.v1+json");
}

#[test]
fn verifying_twice_gives_the_same_result_and_writes_nothing() {
    let f = fixture();
    let before = tree_digest(&f.path("dir"));
    let (_, mut first) = verify(&f.path("dir"), &[]);
    let (_, mut second) = verify(&f.path("dir"), &[]);
    first["generatedAt"] = Value::Null;
    second["generatedAt"] = Value::Null;
    assert_eq!(first, second);
    assert_eq!(tree_digest(&f.path("dir")), before, "verification wrote into the bundle");
}

fn tree_digest(dir: &Path) -> String {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("cd {} && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum", dir.display()))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_text_report_names_the_verdict_and_each_step() {
    let f = fixture();
    let run = Run::from_output(
        airlock()
            .args(["verify", f.path("dir").to_str().unwrap(), "--policy", f.path("policy.yaml").to_str().unwrap()])
            .arg("--trusted-root")
            .arg(f.path("root.json"))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("VERIFIED: "), "{}", run.stdout);
    for check in ["transfer-signature", "bundle-manifest", "content", "trust-root", "policy", "incremental-chain"] {
        assert!(run.stdout.contains(check), "{check} missing:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("signature by https://github.com/example/repo/"), "{}", run.stdout);
}

// ------------------------------------------------------------- content

#[test]
fn a_flipped_byte_in_a_layer_config_or_manifest_is_refused() {
    let f = fixture();
    let manifest: Value = serde_json::from_slice(&std::fs::read(blob(&f.path("dir"), &f.big)).unwrap()).unwrap();
    for (what, digest) in [
        ("layer", manifest["layers"][1]["digest"].as_str().unwrap().to_string()),
        ("config", manifest["config"]["digest"].as_str().unwrap().to_string()),
        ("manifest", f.big.clone()),
    ] {
        let bundle = copy("dir", what);
        flip_first_byte(&blob(&bundle, &digest));
        let (run, report) = verify(&bundle, &[]);
        refused_at(&run, &report, "content", "digest mismatch");
        assert!(step(&report, "content")["detail"].as_str().unwrap().contains(digest.trim_start_matches("sha256:")), "{what}");
        assert_eq!(step(&report, "trust-root")["outcome"], "not-reached", "{what}");
    }
}

#[test]
fn a_removed_or_added_blob_is_refused() {
    let f = fixture();
    let removed = copy("dir", "removed");
    std::fs::remove_file(blob(&removed, &f.app)).unwrap();
    let (run, report) = verify(&removed, &[]);
    refused_at(&run, &report, "content", "missing");

    let added = copy("dir", "added");
    let extra = oci::Digest::sha256_of(b"smuggled");
    std::fs::write(blob(&added, &extra.to_string()), b"smuggled").unwrap();
    let (run, report) = verify(&added, &[]);
    refused_at(&run, &report, "content", "not listed in the bundle manifest");
}

#[test]
fn an_edited_index_json_is_refused() {
    let bundle = copy("dir", "index");
    let path = bundle.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    index["manifests"].as_array_mut().unwrap().pop();
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    let (run, report) = verify(&bundle, &[]);
    refused_at(&run, &report, "content", "index.json");
}

// ------------------------------------------------------------- evidence

#[test]
fn a_signature_moved_to_another_image_is_refused() {
    let f = fixture();
    let bundle = copy("dir", "moved");
    edit_manifest(&bundle, |m| {
        let mut evidence = manifest_image(m, &f.app)["evidence"].take();
        for e in evidence.as_array_mut().unwrap() {
            e["subject"] = Value::from(f.big.as_str());
        }
        manifest_image(m, &f.big)["evidence"] = evidence;
        manifest_image(m, &f.app)["evidence"] = Value::Array(vec![]);
    });
    let (run, report) = verify(&bundle, &[]);
    refused_at(&run, &report, "policy", "2 of 3 image(s) refused");
    let big = image(&report, &f.big);
    assert_eq!(big["failure"]["check"], "payload-digest", "{big:#}");
    let app = image(&report, &f.app);
    assert!(app["failure"]["reason"].as_str().unwrap().contains("no signature"), "{app:#}");
    assert_eq!(image(&report, &f.multi)["outcome"], "passed");
}

#[test]
fn an_attestation_filed_under_another_image_is_refused() {
    let f = fixture();
    let bundle = copy("dir", "filed");
    edit_manifest(&bundle, |m| {
        let moved: Vec<Value> = manifest_image(m, &f.multi)["evidence"].as_array().unwrap().to_vec();
        let app = manifest_image(m, &f.app);
        for mut e in moved {
            e["subject"] = Value::from(f.app.as_str());
            app["evidence"].as_array_mut().unwrap().push(e);
        }
    });
    let (run, report) = verify(&bundle, &[]);
    refused_at(&run, &report, "policy", "image(s) refused");
    let app = image(&report, &f.app);
    assert_eq!(app["failure"]["check"], "bundle-format", "{app:#}");
    assert!(app["failure"]["reason"].as_str().unwrap().contains("names subject"), "{app:#}");
}

#[test]
fn a_replaced_inclusion_proof_is_refused() {
    let f = fixture();
    let bundle = copy("dir", "proof");
    edit_manifest(&bundle, |m| {
        let proof = &mut manifest_image(m, &f.app)["evidence"][0]["logEntries"][0]["inclusionProof"];
        let first = proof["hashes"][0].as_str().unwrap().to_string();
        let flipped = format!("{}{}", if first.starts_with('0') { "1" } else { "0" }, &first[1..]);
        proof["hashes"][0] = Value::from(flipped);
    });
    let (run, report) = verify(&bundle, &[]);
    refused_at(&run, &report, "policy", "1 of 3 image(s) refused");
    let app = image(&report, &f.app);
    assert_eq!(app["failure"]["check"], "transparency-log", "{app:#}");
}

#[test]
fn a_certificate_identity_not_in_the_policy_is_refused() {
    let f = fixture();
    let policy = f.path("other-signer.yaml");
    write_policy(&policy, &f.host, "^https://github.com/someone-else/");
    let run = Run::from_output(
        airlock()
            .args(["verify", f.path("dir").to_str().unwrap(), "--output", "json", "--policy", policy.to_str().unwrap()])
            .arg("--trusted-root")
            .arg(f.path("root.json"))
            .output()
            .unwrap(),
    );
    let report = run.json();
    refused_at(&run, &report, "policy", "3 of 3 image(s) refused");
    assert_eq!(image(&report, &f.app)["failure"]["check"], "identity");
}

#[test]
fn a_policy_that_matches_nothing_rejects_every_image() {
    let f = fixture();
    let policy = f.path("elsewhere.yaml");
    std::fs::write(&policy, "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: elsewhere\n      images: ['ghcr.io/**']\n      authorities:\n        - static: pass\n").unwrap();
    let run = Run::from_output(
        airlock()
            .args(["verify", f.path("dir").to_str().unwrap(), "--output", "json", "--policy", policy.to_str().unwrap()])
            .arg("--trusted-root")
            .arg(f.path("root.json"))
            .output()
            .unwrap(),
    );
    let report = run.json();
    refused_at(&run, &report, "policy", "3 of 3 image(s) refused");
    assert!(image(&report, &f.multi)["failure"]["reason"].as_str().unwrap().contains("no policy rule matches"));
}

// ------------------------------------------------------------- archives

#[test]
fn a_missing_volume_is_refused() {
    let f = fixture();
    let dir = common::tempdir().keep();
    let mut volumes = Vec::new();
    for n in 1.. {
        let name = format!("v.tar.{n:03}");
        if !f.path(&name).exists() {
            break;
        }
        std::fs::copy(f.path(&name), dir.join(&name)).unwrap();
        volumes.push(dir.join(&name));
    }
    assert!(volumes.len() >= 3, "the fixture should span several volumes, got {}", volumes.len());
    std::fs::remove_file(&volumes[1]).unwrap();
    let (run, report) = verify(&volumes[0], &[]);
    refused_at(&run, &report, "content", "volume 2 of");
}

/// Rewrite the fixture's plain tar with Python's tarfile, inserting one
/// hostile member right after the manifest.
fn hostile_tar(kind: &str) -> PathBuf {
    let out = common::tempdir().keep().join(format!("{kind}.tar"));
    let script = r#"
import io, sys, tarfile
src, dst, kind = sys.argv[1:4]
with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tout:
    for i, member in enumerate(tin.getmembers()):
        tout.addfile(member, tin.extractfile(member))
        if member.name == "airlock/manifest.json":
            evil = tarfile.TarInfo({"traversal": "../../etc/evil", "absolute": "/etc/evil",
                                    "symlink": "blobs/sha256/link", "hardlink": "blobs/sha256/hard",
                                    "huge": "oci-layout"}[kind])
            data = b"evil"
            if kind == "symlink":
                evil.type, evil.linkname, data = tarfile.SYMTYPE, "/etc/passwd", b""
            elif kind == "hardlink":
                evil.type, evil.linkname, data = tarfile.LNKTYPE, "airlock/manifest.json", b""
            evil.size = len(data)
            if kind == "huge":
                evil.size = 1 << 40   # claims a terabyte; only a few bytes follow
                tout.fileobj.write(evil.tobuf(tarfile.GNU_FORMAT)); tout.fileobj.write(data.ljust(512, b"\0"))
                tout.offset += 1024
            else:
                tout.addfile(evil, io.BytesIO(data))
"#;
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(fixture().path("b.tar"))
        .arg(&out)
        .arg(kind)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn hostile_archive_entries_are_refused() {
    for (kind, words) in [
        ("traversal", "not a plain relative path"),
        ("absolute", "not a plain relative path"),
        ("symlink", "symbolic link"),
        ("hardlink", "hard link"),
        ("huge", "the archive says 1099511627776 bytes"),
    ] {
        let (run, report) = verify(&hostile_tar(kind), &[]);
        assert_eq!(run.code, 1, "{kind}: {}", run.stderr);
        let failed = report["steps"].as_array().unwrap().iter().find(|s| s["outcome"] == "failed").unwrap();
        assert!(failed["detail"].as_str().unwrap().contains(words), "{kind}: {}", failed["detail"]);
    }
}

#[test]
fn a_hostile_entry_before_the_manifest_fails_the_manifest_step() {
    // A tar of the bundle directory made by another tool: "./" first.
    let f = fixture();
    let out = common::tempdir().keep().join("retarred.tar");
    let status = std::process::Command::new("tar").arg("-cf").arg(&out).arg("-C").arg(f.path("dir")).arg(".").status().unwrap();
    assert!(status.success());
    let (run, report) = verify(&out, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(step(&report, "bundle-manifest")["outcome"], "failed", "{}", step_summary(&report));
    assert!(step(&report, "bundle-manifest")["detail"].as_str().unwrap().contains("not a plain relative path"));
    assert_ne!(step(&report, "content")["outcome"], "passed");
}

#[test]
fn a_truncated_archive_is_refused() {
    let f = fixture();
    let bytes = std::fs::read(f.path("b.tar")).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 1024] {
        let path = common::tempdir().keep().join("cut.tar");
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let (run, report) = verify(&path, &[]);
        assert_eq!(run.code, 1, "cut at {cut}: {}", run.stderr);
        assert_eq!(step(&report, "content")["outcome"], "failed", "cut at {cut}");
    }
}

// ------------------------------------------------------------- transfer signature and trust

#[test]
fn the_transfer_signature_is_checked_before_anything_else() {
    let f = fixture();
    let key = f.path("transfer.pub");
    let (run, report) = verify(&f.path("signed"), &["--transfer-key", key.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    assert_eq!(step(&report, "transfer-signature")["outcome"], "passed");

    let other = f.path("other.pub");
    let (run, report) = verify(&f.path("signed"), &["--transfer-key", other.to_str().unwrap()]);
    refused_at(&run, &report, "transfer-signature", "not signed by transfer key");
    assert_eq!(step(&report, "bundle-manifest")["outcome"], "not-reached");
    assert_eq!(step(&report, "content")["outcome"], "not-reached");

    let (run, report) = verify(&f.path("dir"), &["--transfer-key", key.to_str().unwrap()]);
    refused_at(&run, &report, "transfer-signature", "not signed");

    let edited = copy("signed", "edited");
    edit_manifest(&edited, |m| m["created"] = Value::from("2020-01-01T00:00:00Z"));
    let (run, report) = verify(&edited, &["--transfer-key", key.to_str().unwrap()]);
    refused_at(&run, &report, "transfer-signature", "not signed by transfer key");
}

#[test]
fn a_carried_trusted_root_is_used_only_when_the_transfer_key_vouches_for_it() {
    let f = fixture();
    let key = f.path("transfer.pub");
    let (run, report) = verify(&f.path("signed"), &["--no-site-root", "--transfer-key", key.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    assert!(report["trust"]["source"].as_str().unwrap().contains("authenticated by the pinned transfer key"));

    let (run, report) = verify(&f.path("signed"), &["--no-site-root"]);
    refused_at(&run, &report, "trust-root", "nothing this site pinned authenticates");
}

#[test]
fn the_report_file_is_written_whatever_the_outcome() {
    let f = fixture();
    let report_path = common::tempdir().keep().join("report.json");
    let other = f.path("other.pub");
    let (run, _) = verify(&f.path("signed"), &["--transfer-key", other.to_str().unwrap(), "--report", report_path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let written: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(written["verdict"], "failed");
    assert_eq!(step(&written, "transfer-signature")["outcome"], "failed");
}

#[test]
fn unusable_inputs_are_could_not_run() {
    let f = fixture();
    let run = Run::from_output(airlock().args(["verify", f.path("dir").to_str().unwrap()]).output().unwrap());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--policy is required"));
    let run = Run::from_output(
        airlock().args(["verify", f.path("dir").to_str().unwrap(), "--policy", "/nonexistent/policy.yaml"]).output().unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let policy = f.path("policy.yaml");
    let run = Run::from_output(airlock().args(["verify", "/nonexistent/bundle.tar", "--policy", policy.to_str().unwrap()]).output().unwrap());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/bundle.tar"), "{}", run.stderr);
}

// ------------------------------------------------------------- TUF trust carried in the bundle

#[test]
fn a_carried_tuf_snapshot_verifies_from_the_sites_pin_and_is_refused_when_rolled_back_frozen_or_foreign() {
    use tuf_testgen::{KeyKind, Repo, Server};
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);

    // A private TUF repository whose trusted_root.json target is the lab's;
    // its timestamp expires at the end of 2026.
    let mut repo = Repo::new(KeyKind::EcdsaP256);
    repo.add_target("targets", "trusted_root.json", &std::fs::read(env.lab.trust_dir().join("trusted_root.json")).unwrap());
    repo.payload_mut("timestamp")["expires"] = Value::from("2026-12-31T00:00:00Z");
    let mirror = env.path("mirror");
    repo.files().write_nested_mirror(&mirror);
    let server = Server::serve(&mirror);
    let pinned = env.path("pinned-root.json");
    std::fs::write(&pinned, &repo.published_roots[0]).unwrap();

    let bundle_from = |server: &Server, out: &Path| {
        let mirror_url = format!("{}/metadata", server.url);
        let run = Run::from_output(
            env.bundle_trusting(&["--tuf-mirror", &mirror_url, "--tuf-root", pinned.to_str().unwrap()], &[&format!("{}/test/app:v1", env.registry.host()), "--out", out.to_str().unwrap()])
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    let out = env.path("bundle");
    bundle_from(&server, &out);
    drop(server);
    let policy = env.path("policy.yaml");
    write_policy(&policy, &env.registry.host(), "^https://github.com/example/repo/");

    let verify_with = |bundle: &Path, pin: &Path, at: &str, extra: &[&str]| {
        let run = Run::from_output(
            airlock()
                .args(["verify", bundle.to_str().unwrap(), "--output", "json", "--policy", policy.to_str().unwrap()])
                .args(["--tuf-root", pin.to_str().unwrap(), "--at", at])
                .args(extra)
                .output()
                .unwrap(),
        );
        let report = run.json();
        (run, report)
    };
    let verify_at = |pin: &Path, at: &str| verify_with(&out, pin, at, &[]);
    let (run, report) = verify_at(&pinned, common::CREATED);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    let source = report["trust"]["source"].as_str().unwrap();
    assert!(source.starts_with("TUF snapshot") && source.contains("from pinned root v1"), "{source}");
    assert!(report["trust"]["referenceTime"].as_str().unwrap().contains("2026-11-23"), "{}", report["trust"]["referenceTime"]);

    // Rolled back: once the site has accepted a newer snapshot (its
    // --state keeps the floor), a bundle carrying the older one is refused.
    repo.bump("timestamp");
    repo.bump("snapshot");
    let newer_mirror = env.path("mirror-newer");
    repo.files().write_nested_mirror(&newer_mirror);
    let server = Server::serve(&newer_mirror);
    let newer = env.path("bundle-newer");
    bundle_from(&server, &newer);
    drop(server);
    let state = env.path("state");
    let state_flags = ["--state", state.to_str().unwrap()];
    let (run, report) = verify_with(&newer, &pinned, common::CREATED, &state_flags);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    let (run, report) = verify_with(&out, &pinned, common::CREATED, &state_flags);
    refused_at(&run, &report, "trust-root", "rollback");

    // Frozen: evaluated after the timestamp expired.
    let (run, report) = verify_at(&pinned, "2027-02-01T00:00:00Z");
    refused_at(&run, &report, "trust-root", "expired");
    assert_eq!(step(&report, "policy")["outcome"], "not-reached");

    // Another deployment's root: the chain does not descend from the pin.
    let foreign = env.path("foreign-root.json");
    std::fs::write(&foreign, &Repo::new(KeyKind::EcdsaP256).published_roots[0]).unwrap();
    let (run, report) = verify_at(&foreign, common::CREATED);
    refused_at(&run, &report, "trust-root", "signature threshold not met");
}

// ------------------------------------------------------------- the load gate

/// Every file under a registry's storage, with its size.
fn storage(registry: &testbed::Registry) -> Vec<(String, u64)> {
    let root = registry.storage_dir();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path().strip_prefix(&root).unwrap().display().to_string(), e.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

fn load(bundle: &Path, target: &testbed::Registry, extra: &[&str]) -> Run {
    let f = fixture();
    Run::from_output(
        airlock()
            .args(["load", bundle.to_str().unwrap(), "--to", &format!("{}/mirror", target.host()), "--insecure-registry", &target.host()])
            .args(["--policy", f.path("policy.yaml").to_str().unwrap(), "--trusted-root", f.path("root.json").to_str().unwrap()])
            .args(extra)
            .env("DOCKER_CONFIG", "/nonexistent")
            .output()
            .unwrap(),
    )
}

/// The fixture's directory bundle with the app's signature moved to the
/// big image: the app and the big image fail, the multi image passes.
fn broken_bundle() -> PathBuf {
    let f = fixture();
    let bundle = copy("dir", "broken");
    edit_manifest(&bundle, |m| {
        let mut evidence = manifest_image(m, &f.app)["evidence"].take();
        for e in evidence.as_array_mut().unwrap() {
            e["subject"] = Value::from(f.big.as_str());
        }
        manifest_image(m, &f.big)["evidence"] = evidence;
        manifest_image(m, &f.app)["evidence"] = Value::Array(vec![]);
    });
    bundle
}

#[test]
fn a_bundle_that_fails_verification_pushes_nothing() {
    let target = testbed::Registry::start();
    let before = storage(&target);
    let run = load(&broken_bundle(), &target, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("did not verify: nothing was pushed"), "{}", run.stderr);
    assert!(run.stderr.contains("REFUSED"), "the verification report is shown: {}", run.stderr);
    assert_eq!(storage(&target), before, "the registry's storage changed");
}

#[test]
fn partial_loads_only_the_images_that_passed_and_records_no_import() {
    let f = fixture();
    let target = testbed::Registry::start();
    let state = common::tempdir().keep();
    let run = load(&broken_bundle(), &target, &["--partial", "--output", "json", "--state", state.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.json();
    assert_eq!(out["partial"], true);
    let loaded: Vec<_> = out["report"]["images"].as_array().unwrap().iter().map(|i| i["source"].as_str().unwrap().to_string()).collect();
    assert_eq!(loaded, [format!("{}/test/multi:v1", f.host)], "only the passing image is loaded");
    assert!(run.stderr.contains("PARTIAL"), "{}", run.stderr);
    assert!(!state.join("imported").exists(), "a partial load is not recorded as an import");
}

#[test]
fn an_increment_verifies_only_after_its_predecessor_was_loaded() {
    let env = Env::start();
    let host = env.registry.host();
    let v1 = env.registry.push_image("test/app:v1", "first");
    env.sign("test/app", &v1, SignMode::Legacy);
    let first = env.path("first");
    let run = Run::from_output(env.bundle(&[&format!("{host}/test/app:v1"), "--out", first.to_str().unwrap()]).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v2 = env.registry.push_image("test/app:v2", "second");
    env.sign("test/app", &v2, SignMode::Legacy);
    let second = env.path("second");
    let since = first.join("airlock/manifest.json");
    let run = Run::from_output(
        env.bundle(&[&format!("{host}/test/app:v1"), &format!("{host}/test/app:v2"), "--out", second.to_str().unwrap(), "--since", since.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let policy = env.path("policy.yaml");
    write_policy(&policy, &host, "^https://github.com/example/repo/");
    let root = env.lab.trust_dir().join("trusted_root.json");
    let flags = |state: &Path| -> Vec<String> {
        ["--policy", policy.to_str().unwrap(), "--trusted-root", root.to_str().unwrap(), "--state", state.to_str().unwrap()]
            .map(String::from)
            .to_vec()
    };

    // The site never received the first bundle: the increment is refused.
    let empty = env.path("empty-state");
    let run = Run::from_output(airlock().arg("verify").arg(&second).args(flags(&empty)).args(["--output", "json"]).output().unwrap());
    let report = run.json();
    refused_at(&run, &report, "incremental-chain", "has not imported");

    // Load the first bundle (recorded in the ledger), then the increment verifies and loads.
    let target = testbed::Registry::start();
    let state = env.path("state");
    let to = format!("{}/mirror", target.host());
    let run = Run::from_output(
        airlock().arg("load").arg(&first).args(["--to", &to, "--insecure-registry", &target.host()]).args(flags(&state)).env("DOCKER_CONFIG", "/nonexistent").output().unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = Run::from_output(airlock().arg("verify").arg(&second).args(flags(&state)).args(["--output", "json"]).output().unwrap());
    let report = run.json();
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    assert_eq!(report["bundle"]["chain"]["kind"], "extends");
    let run = Run::from_output(
        airlock().arg("load").arg(&second).args(["--to", &to, "--insecure-registry", &target.host()]).args(flags(&state)).env("DOCKER_CONFIG", "/nonexistent").output().unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}
