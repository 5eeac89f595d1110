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
    let mut args = vec!["verify", bundle.to_str().unwrap(), "--output", "json"];
    if !extra.contains(&"--policy") {
        args.extend(["--policy", policy.to_str().unwrap()]);
    }
    if !extra.contains(&"--no-site-root") {
        args.extend(["--trusted-root", root.to_str().unwrap()]);
    }
    args.extend(extra.iter().filter(|a| **a != "--no-site-root" && **a != "--no-waiver"));
    // Tests of what comes after the transfer signature waive it for the
    // unsigned fixture bundles; those that pin a key (or say --no-waiver) don't.
    if !extra.contains(&"--transfer-key") && !extra.contains(&"--no-waiver") {
        args.push(common::ALLOW_UNSIGNED);
    }
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

/// Edit the manifest of a bundle directory, then make its layout agree
/// (as an attacker would), so only the check under test can refuse it.
fn edit_manifest(bundle: &Path, edit: impl FnOnce(&mut Value)) {
    edit_manifest_only(bundle, edit);
    common::reseal_layout(bundle);
}

/// Edit the manifest and nothing else.
fn edit_manifest_only(bundle: &Path, edit: impl FnOnce(&mut Value)) {
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
        // The transfer signature waived (--allow-unsigned-bundle), no advisories carried (skipped).
        assert_eq!(outcomes, ["waived", "passed", "passed", "passed", "skipped", "passed", "passed"], "{name}");
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
            .arg(common::ALLOW_UNSIGNED)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("VERIFIED: "), "{}", run.stdout);
    for check in ["transfer-signature", "bundle-manifest", "content", "trust-root", "policy", "incremental-chain"] {
        assert!(run.stdout.contains(check), "{check} missing:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("signature by https://github.com/example/repo/"), "{}", run.stdout);
    assert!(run.stdout.contains("[WAIVED] transfer-signature") && run.stdout.contains("--allow-unsigned-bundle"), "{}", run.stdout);
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
    let verify_with = |extra: &[&str]| {
        Run::from_output(
            airlock()
                .args(["verify", f.path("dir").to_str().unwrap(), "--output", "json", "--policy", policy.to_str().unwrap()])
                .args(extra)
                .arg("--trusted-root")
                .arg(f.path("root.json"))
                .arg(common::ALLOW_UNSIGNED)
                .output()
                .unwrap(),
        )
    };
    let run = verify_with(&[]);
    let report = run.json();
    refused_at(&run, &report, "policy", "3 of 3 image(s) refused");
    assert_eq!(image(&report, &f.app)["failure"]["check"], "identity");

    // A signature that is there and names someone else is not a missing
    // one: break-glass does not waive it.
    let state = common::tempdir();
    let run = verify_with(&["--break-glass", "outage", "--operator", "alice", "--state", state.path().to_str().unwrap()]);
    let report = run.json();
    refused_at(&run, &report, "policy", "3 of 3 image(s) refused");
    let app = image(&report, &f.app);
    assert!(app["breakGlass"].is_null(), "{app}");
    assert!(app["warnings"].to_string().contains("break-glass does not apply"), "{app}");
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
            .arg(common::ALLOW_UNSIGNED)
            .output()
            .unwrap(),
    );
    let report = run.json();
    refused_at(&run, &report, "policy", "3 of 3 image(s) refused");
    assert!(image(&report, &f.multi)["failure"]["reason"].as_str().unwrap().contains("no policy rule matches"));
    assert_eq!(image(&report, &f.multi)["failure"]["facts"]["kind"], "noRuleMatches");
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
                .args(["--tuf-root", pin.to_str().unwrap(), "--at", at, common::ALLOW_UNSIGNED])
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
            .args(["--policy", f.path("policy.yaml").to_str().unwrap(), "--trusted-root", f.path("root.json").to_str().unwrap(), common::ALLOW_UNSIGNED])
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
    assert_eq!(run.code, 3, "a partial load has its own exit code: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["partial"], true);
    let left_out: Vec<(String, String)> = out["leftOut"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["reference"].as_str().unwrap().to_string(), i["check"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(left_out, [(format!("{}/test/app:v1", f.host), "policy".to_string()), (format!("{}/test/big:v1", f.host), "payload-digest".to_string())], "{out:#}");
    assert!(run.stderr.contains(&format!("{}/test/app:v1 ({})", f.host, f.app)), "the text names each image left out: {}", run.stderr);
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
        ["--policy", policy.to_str().unwrap(), "--trusted-root", root.to_str().unwrap(), "--state", state.to_str().unwrap(), common::ALLOW_UNSIGNED]
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

// ------------------------------------------- evidence is what its content is

/// Put `bytes` into the bundle as a blob and list it; returns its digest.
fn add_blob(bundle: &Path, manifest: &mut Value, bytes: &[u8]) -> String {
    let digest = oci::Digest::sha256_of(bytes);
    std::fs::write(blob(bundle, &digest.to_string()), bytes).unwrap();
    let blobs = manifest["blobs"].as_array_mut().unwrap();
    blobs.push(serde_json::json!({ "digest": digest.to_string(), "size": bytes.len(), "carried": true }));
    blobs.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    blobs.dedup();
    digest.to_string()
}

/// The multi-platform image's Sigstore-bundle referrers, split by whether
/// their in-toto predicate is cosign's image signature: (signatures, others).
fn multi_referrers(bundle: &Path, manifest: &Value, multi: &str) -> (Vec<Value>, Vec<(Value, Value)>) {
    let image = manifest["images"].as_array().unwrap().iter().find(|i| i["digest"] == multi).unwrap();
    let (mut signatures, mut others) = (Vec::new(), Vec::new());
    for e in image["evidence"].as_array().unwrap().iter().filter(|e| e["kind"] == "sigstore-bundle") {
        let evidence: Value = serde_json::from_slice(&std::fs::read(blob(bundle, e["manifest"].as_str().unwrap())).unwrap()).unwrap();
        let layer = evidence["layers"][0]["digest"].as_str().unwrap();
        let sigstore: Value = serde_json::from_slice(&std::fs::read(blob(bundle, layer)).unwrap()).unwrap();
        let payload = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sigstore["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        if statement["predicateType"] == COSIGN_SIGN {
            signatures.push(e.clone());
        } else {
            others.push((e.clone(), sigstore));
        }
    }
    (signatures, others)
}

/// cosign's legacy `.att` form of a keyless DSSE attestation made as a
/// Sigstore bundle: the envelope as the layer, the certificate, chain and
/// SET as annotations, and the bundle's inclusion proof as the Rekor entry
/// the bundler would have fetched. Filed as `kind`; returns the entry.
fn as_cosign_layer(bundle: &Path, manifest: &mut Value, sigstore: &Value, root: &Value, subject: &str, kind: &str) -> Value {
    let b64 = |s: &Value| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s.as_str().unwrap()).unwrap();
    let pem = |der: &Value| {
        let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b64(der));
        let lines: Vec<&str> = text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    };
    let material = &sigstore["verificationMaterial"];
    let leaf = material["certificate"]["rawBytes"].clone();
    let chain: String = root["certificateAuthorities"][0]["certChain"]["certificates"].as_array().unwrap().iter().map(|c| pem(&c["rawBytes"])).collect();
    let tle = &material["tlogEntries"][0];
    let log_index: u64 = tle["logIndex"].as_str().unwrap().parse().unwrap();
    let set = serde_json::json!({
        "SignedEntryTimestamp": tle["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": tle["canonicalizedBody"],
            "integratedTime": tle["integratedTime"].as_str().unwrap().parse::<i64>().unwrap(),
            "logIndex": log_index,
            "logID": hex::encode(b64(&tle["logId"]["keyId"])),
        },
    });
    let envelope = serde_json::to_vec(&sigstore["dsseEnvelope"]).unwrap();
    let layer = add_blob(bundle, manifest, &envelope);
    let config = add_blob(bundle, manifest, br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#);
    let evidence = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 80 },
        "layers": [{
            "mediaType": "application/vnd.dsse.envelope.v1+json",
            "digest": layer,
            "size": envelope.len(),
            "annotations": {
                "dev.cosignproject.cosign/signature": "",
                "dev.sigstore.cosign/certificate": pem(&leaf),
                "dev.sigstore.cosign/chain": chain,
                "dev.sigstore.cosign/bundle": set.to_string(),
            },
        }],
    }))
    .unwrap();
    let manifest_digest = add_blob(bundle, manifest, &evidence);
    let proof = &tle["inclusionProof"];
    let leaf_hash = verifier::evidence::cosign::leaf_hash(&b64(&tle["canonicalizedBody"]));
    serde_json::json!({
        "kind": kind,
        "subject": subject,
        "manifest": manifest_digest,
        "source": "tag",
        "logEntries": [{
            "layer": layer,
            "logIndex": log_index,
            "uuid": leaf_hash.hex(),
            "inclusionProof": {
                "logIndex": proof["logIndex"].as_str().unwrap().parse::<u64>().unwrap(),
                "treeSize": proof["treeSize"].as_str().unwrap().parse::<u64>().unwrap(),
                "rootHash": hex::encode(b64(&proof["rootHash"])),
                "hashes": proof["hashes"].as_array().unwrap().iter().map(|h| hex::encode(b64(h))).collect::<Vec<_>>(),
                "checkpoint": proof["checkpoint"]["envelope"],
            },
        }],
    })
}

/// A bundle where the multi-platform image's only evidence is its SLSA
/// provenance attestation, in cosign's legacy `.att` form, filed as `kind`
/// (and, for contrast, kept as the Sigstore-bundle referrer it was).
fn attestation_only(name: &str, kind: &str) -> PathBuf {
    let f = fixture();
    let bundle = copy("dir", name);
    let root: Value = serde_json::from_slice(&std::fs::read(f.path("root.json")).unwrap()).unwrap();
    edit_manifest(&bundle, |m| {
        let (signatures, others) = multi_referrers(&bundle, m, &f.multi);
        assert!(!signatures.is_empty() && !others.is_empty(), "the fixture signs and attests the multi-platform image");
        let (_, provenance) = &others[0];
        let filed = as_cosign_layer(&bundle, m, provenance, &root, &f.multi, kind);
        let evidence = manifest_image(m, &f.multi)["evidence"].as_array_mut().unwrap();
        evidence.retain(|e| !signatures.contains(e));
        evidence.push(filed);
        evidence.sort_by(|a, b| {
            (a["subject"].as_str(), a["kind"].as_str(), a["manifest"].as_str()).cmp(&(b["subject"].as_str(), b["kind"].as_str(), b["manifest"].as_str()))
        });
    });
    bundle
}

#[test]
fn an_attestation_never_satisfies_a_signature_requirement_however_it_is_filed() {
    let f = fixture();
    // Filed honestly, as cosign files it: the attestation verifies (the
    // provenance rule passes on it) but the image has no signature.
    let (run, report) = verify(&attestation_only("att-as-att", "cosign-attestation"), &[]);
    refused_at(&run, &report, "policy", "1 of 3 image(s) refused");
    let multi = image(&report, &f.multi);
    assert!(multi["failure"]["reason"].as_str().unwrap().contains("no signature"), "{multi:#}");
    assert!(multi["rules"].as_array().unwrap().iter().any(|r| r["rule"] == "multi-provenance" && r["passed"] == true), "{multi:#}");

    // Relabelled as a signature (in the manifest and index.json alike):
    // refused by name, never counted as the signature.
    let (run, report) = verify(&attestation_only("att-as-sig", "cosign-signature"), &[]);
    refused_at(&run, &report, "policy", "1 of 3 image(s) refused");
    let multi = image(&report, &f.multi);
    let reason = multi["failure"]["reason"].as_str().unwrap();
    assert_eq!(multi["failure"]["check"], "content", "{multi:#}");
    assert!(reason.contains("filed as cosign-signature") && reason.contains("DSSE attestation"), "{reason}");
    assert!(multi["accepted"].as_array().unwrap().is_empty(), "{multi:#}");
    assert_eq!(image(&report, &f.app)["outcome"], "passed");
}

#[test]
fn a_signature_filed_as_an_attestation_is_refused_by_name() {
    let f = fixture();
    let bundle = copy("dir", "sig-as-att");
    edit_manifest(&bundle, |m| {
        for e in manifest_image(m, &f.app)["evidence"].as_array_mut().unwrap() {
            e["kind"] = Value::from("cosign-attestation");
        }
    });
    let (run, report) = verify(&bundle, &[]);
    refused_at(&run, &report, "policy", "1 of 3 image(s) refused");
    let reason = image(&report, &f.app)["failure"]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("filed as cosign-attestation") && reason.contains("simple-signing"), "{reason}");
}

// ------------------------------------------- names are authenticated by default

#[test]
fn an_unsigned_bundle_is_refused_by_verify_load_and_serve_unless_waived_by_name() {
    let f = fixture();
    let (run, report) = verify(&f.path("dir"), &["--no-waiver"]);
    refused_at(&run, &report, "transfer-signature", "not signed with a transfer key");
    assert!(step(&report, "transfer-signature")["detail"].as_str().unwrap().contains("--allow-unsigned-bundle"));
    assert_eq!(step(&report, "trust-root")["outcome"], "not-reached");
    // Signed, but no key pinned to check it with: no better.
    let (run, report) = verify(&f.path("signed"), &["--no-waiver"]);
    refused_at(&run, &report, "transfer-signature", "no transfer key is pinned");

    let (run, report) = verify(&f.path("dir"), &[]);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    let waived = step(&report, "transfer-signature");
    assert_eq!(waived["outcome"], "waived", "{report:#}");
    assert!(waived["detail"].as_str().unwrap().contains("waived by --allow-unsigned-bundle"), "{waived}");

    let target = testbed::Registry::start();
    let policy = f.path("policy.yaml");
    let root = f.path("root.json");
    let run = Run::from_output(
        airlock()
            .args(["load", f.path("dir").to_str().unwrap(), "--to", &format!("{}/mirror", target.host()), "--insecure-registry", &target.host()])
            .args(["--policy", policy.to_str().unwrap(), "--trusted-root", root.to_str().unwrap()])
            .env("DOCKER_CONFIG", "/nonexistent")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was pushed") && run.stderr.contains("--allow-unsigned-bundle"), "{}", run.stderr);
    assert!(storage(&target).is_empty(), "nothing reaches the registry");

    let run = Run::from_output(
        airlock()
            .args(["serve", f.path("dir").to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(["--policy", policy.to_str().unwrap(), "--trusted-root", root.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("did not verify: not served") && run.stderr.contains("transfer-signature"), "{}", run.stderr);
}

// ------------------------------------ the layout is exactly what the manifest says

/// The first failed step's detail (any step): for refusals whose step
/// depends on where the check sits, with `words` in it and exit 1.
fn refused_with(run: &Run, report: &Value, words: &str) -> String {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let failed = report["steps"].as_array().unwrap().iter().find(|s| s["outcome"] == "failed").unwrap_or_else(|| panic!("no failed step: {report:#}"));
    let detail = failed["detail"].as_str().unwrap().to_string();
    assert!(detail.contains(words), "expected {words:?} in {detail}");
    detail
}

#[test]
fn a_layout_that_is_not_exactly_what_the_manifest_says_is_refused() {
    let f = fixture();
    // A blob listed and carried that nothing references.
    let bundle = copy("dir", "smuggled");
    edit_manifest_only(&bundle, |m| {
        add_blob(&bundle, m, b"smuggled payload");
    });
    let (run, report) = verify(&bundle, &[]);
    refused_with(&run, &report, "no image, platform, evidence or SBOM in the bundle refers to it");

    // A platform child declared dropped but carried all the same.
    let bundle = copy("dir", "dropped-carried");
    edit_manifest_only(&bundle, |m| {
        let multi = manifest_image(m, &f.multi);
        let carried = multi["platforms"].as_array_mut().unwrap().pop().unwrap();
        multi["droppedPlatforms"].as_array_mut().unwrap().push(carried);
    });
    reindex(&bundle);
    let (run, report) = verify(&bundle, &[]);
    refused_with(&run, &report, "declared dropped, but the bundle carries it");

    // index.json missing from the manifest (and the bundle), or no images.
    let bundle = copy("dir", "no-index");
    edit_manifest_only(&bundle, |m| m["files"].as_array_mut().unwrap().retain(|f| f["path"] != "index.json"));
    std::fs::remove_file(bundle.join("index.json")).unwrap();
    let (run, report) = verify(&bundle, &[]);
    refused_with(&run, &report, "index.json is not listed");
    let bundle = copy("dir", "no-images");
    edit_manifest(&bundle, |m| m["images"] = Value::Array(vec![]));
    let (run, report) = verify(&bundle, &[]);
    refused_with(&run, &report, "carries no images");
}

/// Rewrite `index.json` from the manifest (airlock's own derivation) and
/// nothing else: every blob stays.
fn reindex(bundle: &Path) {
    use verifier::bundle::{layout, manifest::BundleManifest};
    let path = bundle.join("airlock/manifest.json");
    let mut manifest: BundleManifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let manifest_of = |d: &oci::Digest| Ok(oci::RawManifest::from_bytes("bundle", std::fs::read(blob(bundle, &d.to_string())).unwrap(), None, Some(d))?);
    let index = layout::index_json(&manifest.images, &manifest_of).unwrap();
    std::fs::write(bundle.join(layout::INDEX_PATH), &index).unwrap();
    let entry = manifest.files.iter_mut().find(|f| f.path == layout::INDEX_PATH).unwrap();
    entry.sha256 = oci::Digest::sha256_of(&index);
    entry.size = index.len() as u64;
    std::fs::write(&path, manifest.to_canonical_json()).unwrap();
}

#[test]
fn verify_refuses_every_reference_load_would_refuse() {
    let f = fixture();
    for bad in [format!("{}/test/../app:v1", f.host), format!("{}/test//app:v1", f.host), format!("{}/test/app/:v1", f.host)] {
        let bundle = copy("dir", "bad-name");
        edit_manifest(&bundle, |m| manifest_image(m, &f.app)["reference"] = Value::from(bad.as_str()));
        let (run, report) = verify(&bundle, &[]);
        let detail = refused_with(&run, &report, "image");
        assert!(detail.contains(&format!("{bad:?}")), "{bad}: {detail}");
        std::fs::remove_dir_all(&bundle).unwrap();
    }
}

// ------------------------------------------------- bounded work, confined paths

#[test]
fn a_tiny_compressed_archive_cannot_fill_the_work_directory() {
    // The fixture's tar, with a 1 GiB entry of zeros after the manifest,
    // compressed: about a megabyte on the medium.
    let dir = common::tempdir().keep();
    let bomb = dir.join("bomb.tar.zst");
    let script = r#"
import sys, tarfile
src, dst = sys.argv[1:3]
class Zeros:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n); self.n -= k; return b"\0" * k
with tarfile.open(src) as tin, tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.GNU_FORMAT) as tout:
    for member in tin.getmembers():
        tout.addfile(member, tin.extractfile(member))
        if member.name == "airlock/manifest.json":
            bomb = tarfile.TarInfo("blobs/sha256/" + "0" * 64); bomb.size = 1 << 30
            tout.addfile(bomb, Zeros(bomb.size))
"#;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("python3 -c '{script}' {} /dev/stdout | zstd -q -3 -o {}", fixture().path("b.tar").display(), bomb.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 8 << 20, "the bomb is small");
    let work = dir.join("work");
    let (run, report) = verify(&bomb, &["--work-dir", work.to_str().unwrap()]);
    refused_with(&run, &report, "not listed");
    let written: u64 = walk_sizes(&work);
    assert!(written < 16 << 20, "{written} bytes written to the work directory");
}

fn walk_sizes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.file_type().unwrap().is_dir() { walk_sizes(&e.path()) } else { e.metadata().unwrap().len() }).sum()
}

#[test]
fn an_archive_that_needs_more_space_than_the_work_directory_has_is_refused_up_front() {
    let f = fixture();
    let bundle = copy("dir", "enormous");
    edit_manifest_only(&bundle, |m| {
        let blob = m["blobs"].as_array_mut().unwrap().iter_mut().find(|b| b["digest"] != f.app.as_str()).unwrap();
        blob["size"] = Value::from(1u64 << 50);
    });
    let tar = bundle.with_extension("tar");
    let status = std::process::Command::new("tar").arg("-cf").arg(&tar).arg("-C").arg(&bundle).args(["airlock", "oci-layout", "index.json", "blobs"]).status().unwrap();
    assert!(status.success());
    let (run, report) = verify(&tar, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = report["steps"].as_array().unwrap().iter().find(|s| s["outcome"] == "failed").unwrap();
    let detail = failed["detail"].as_str().unwrap();
    assert!(detail.contains("free, but this bundle needs") && detail.contains("--work-dir"), "{detail}");
}

#[test]
fn nothing_outside_the_bundle_is_opened_through_links_or_dot_dot() {
    // A symlinked parent directory: the blobs are the bundle's own, but
    // reached through a link.
    let bundle = copy("dir", "linked-parent");
    let elsewhere = common::tempdir().keep().join("blobs");
    std::fs::rename(bundle.join("blobs"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, bundle.join("blobs")).unwrap();
    let (run, report) = verify(&bundle, &[]);
    refused_with(&run, &report, "symbolic link");

    // The trust path leaving the trust directory.
    for path in ["airlock/trust/../../../etc", "/etc/ssl", "airlock/trust/./x"] {
        let bundle = copy("dir", "trust-path");
        edit_manifest_only(&bundle, |m| m["trust"]["path"] = Value::from(path));
        let (run, report) = verify(&bundle, &["--no-site-root"]);
        refused_with(&run, &report, "not a plain path at or under airlock/trust");
        std::fs::remove_dir_all(&bundle).unwrap();
    }
}

/// The fixture's policy with every rule for `{host}/**` and the lab's
/// signatures bound to names (`nameBinding`, with `mirrors`).
fn name_bound_policy(mirrors: &str) -> PathBuf {
    let f = fixture();
    let path = common::tempdir().keep().join("bound.yaml");
    let policy = format!(
        "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: lab-signed\n      images: ['{host}/**']\n      nameBinding:\n        mirrors: {mirrors}\n      authorities:\n        - name: lab-release\n          keyless:\n            - issuer: https://token.actions.githubusercontent.com\n              subjectRegExp: '^https://github.com/example/repo/'\n",
        host = f.host
    );
    std::fs::write(&path, policy).unwrap();
    path
}

#[test]
fn a_policy_can_bind_names_to_signatures_with_a_mirror_rule() {
    let f = fixture();
    let renamed = |name: &str, to: String| {
        let bundle = copy("dir", name);
        edit_manifest(&bundle, |m| manifest_image(m, &f.app)["reference"] = Value::from(to.as_str()));
        bundle
    };
    // The app's genuine signature, carried under another image's name.
    let swapped = renamed("swapped", format!("{}/test/admin:v1", f.host)); // sorts where the app did
    let (run, report) = verify(&swapped, &[]);
    assert_eq!(run.code, 0, "without binding, a digest signature says nothing of names: {}", step_summary(&report));

    let bound = name_bound_policy("[]");
    let (run, report) = verify(&swapped, &["--policy", bound.to_str().unwrap()]);
    refused_at(&run, &report, "policy", "1 of 3 image(s) refused");
    let reason = image(&report, &f.app)["failure"]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains(&format!("signed as {}/test/app", f.host)) && reason.contains("test/admin:v1"), "{reason}");

    // Honest names pass, and a mirror prefix stands for the publisher's.
    let (run, report) = verify(&f.path("dir"), &["--policy", bound.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
    let mirrored = renamed("mirrored", format!("{}/mirror/test/app:v1", f.host));
    let (run, _) = verify(&mirrored, &["--policy", bound.to_str().unwrap()]);
    assert_eq!(run.code, 1, "a mirror is not the publisher's repository without the rule");
    let rule = name_bound_policy(&format!("[{{from: '{host}/mirror', to: '{host}'}}]", host = f.host));
    let (run, report) = verify(&mirrored, &["--policy", rule.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", step_summary(&report));
}

// ------------------------------------------- per-platform evidence, per-platform verdicts

#[test]
fn a_policy_can_require_every_carried_platform_signed_and_names_the_child_that_is_not() {
    let env = Env::start();
    let host = env.registry.host();
    let signed = env.registry.push_multiarch("test/each:v1", "each");
    for (_, child) in &signed.children {
        env.sign("test/each", child, SignMode::Legacy);
    }
    let half = env.registry.push_multiarch("test/half:v1", "half");
    env.sign("test/half", &half.children[0].1, SignMode::Legacy);
    let bundle = env.path("bundle");
    let run = Run::from_output(env.bundle(&[&format!("{host}/test/each:v1"), &format!("{host}/test/half:v1"), "--out", bundle.to_str().unwrap()]).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let policy = env.path("platforms.yaml");
    let write = |per_platform: bool| {
        std::fs::write(
            &policy,
            format!(
                "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: lab-signed\n      images: ['{host}/test/**']\n      requirePlatformSignatures: {per_platform}\n      authorities:\n        - name: lab-release\n          keyless:\n            - issuer: https://token.actions.githubusercontent.com\n              subjectRegExp: '^https://github.com/example/repo/'\n"
            ),
        )
        .unwrap();
    };
    let root = env.lab.trust_dir().join("trusted_root.json");
    let verify = || {
        let run = Run::from_output(
            airlock()
                .args(["verify", bundle.to_str().unwrap(), "--output", "json", "--policy", policy.to_str().unwrap(), "--trusted-root", root.to_str().unwrap(), common::ALLOW_UNSIGNED])
                .output()
                .unwrap(),
        );
        let report = run.json();
        (run, report)
    };
    // The index-level rule finds no signature on either index.
    write(false);
    let (run, report) = verify();
    refused_at(&run, &report, "policy", "2 of 2 image(s) refused");

    // Per platform: every child of `each` is signed; `half` names its unsigned child.
    write(true);
    let (run, report) = verify();
    refused_at(&run, &report, "policy", "1 of 2 image(s) refused");
    let each = image(&report, &signed.index);
    assert_eq!(each["outcome"], "passed", "{each:#}");
    let roles: Vec<&str> = each["accepted"].as_array().unwrap().iter().map(|a| a["role"].as_str().unwrap()).collect();
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert!(roles.iter().all(|r| r.starts_with("signature of platform linux/")), "{roles:?}");
    let (platform, child) = &half.children[1];
    let reason = image(&report, &half.index)["failure"]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains(&format!("platform {platform}")) && reason.contains(child.as_str()), "{reason}");
}
