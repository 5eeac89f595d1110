//! The site's commands driven as an operator would: `key generate`,
//! `load`, `verify-image`, against a real docker-registry, with skopeo
//! (containers/image) as the independent peer that reads back images and
//! checks the site's signatures.

mod common;
#[path = "../verifier/tests/support/mod.rs"]
mod support;

use common::{airlock, tempdir, Run};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{noise, BundleWriter};

const PASSWORD: &str = "site-key-password";

fn run(cmd: &mut Command) -> Run {
    Run::from_output(cmd.output().unwrap())
}

/// `airlock key generate` into `dir/site.{key,pub}`.
fn site_key(dir: &Path) -> (PathBuf, PathBuf) {
    let prefix = dir.join("site");
    let r = run(airlock().args(["key", "generate", "--output-key-prefix"]).arg(&prefix).env("COSIGN_PASSWORD", PASSWORD));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir.join("site.key"), dir.join("site.pub"))
}

/// A bundle with an image and a two-platform index.
fn bundle(dir: &Path) -> (PathBuf, oci::Digest, oci::Digest, Vec<oci::Digest>) {
    let mut w = BundleWriter::new(&dir.join("bundle"));
    let app = w.image("app", vec![noise(1, 200_000), noise(2, 30_000)]);
    let amd = w.image("amd", vec![noise(3, 10_000)]);
    let arm = w.image("arm", vec![noise(4, 10_000)]);
    w.add_image("ghcr.io/org/app:v1", &app);
    let index = w.add_index("docker.io/library/multi:2", &[("linux/amd64", &amd), ("linux/arm64/v8", &arm)]);
    let (app_digest, children) = (app.digest().clone(), vec![amd.digest().clone(), arm.digest().clone()]);
    (w.finish(&[]), app_digest, index.digest().clone(), children)
}

/// `airlock load`, verifying first under a policy that admits every image.
fn load(bundle: &Path, to: &str, insecure: &str, extra: &[&str]) -> Run {
    let scratch = tempdir().keep();
    run(airlock()
        .arg("load")
        .arg(bundle)
        .args(["--to", to, "--insecure-registry", insecure])
        .args(common::admit_all(&scratch))
        .args(extra)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("DOCKER_CONFIG", "/nonexistent"))
}

fn verify_image(reference: &str, key: &Path, insecure: &str) -> Run {
    run(airlock().args(["verify-image", reference, "--insecure-registry", insecure, "--key"]).arg(key).env("DOCKER_CONFIG", "/nonexistent"))
}

#[test]
fn key_generate_writes_cosigns_format_and_never_overwrites() {
    let dir = tempdir();
    let (key, public) = site_key(dir.path());
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"), "{text}");
    assert!(std::fs::read_to_string(&public).unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = run(airlock().args(["key", "generate", "--output-key-prefix"]).arg(dir.path().join("site")).env("COSIGN_PASSWORD", "x"));
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("refusing to overwrite"), "{}", again.stderr);
    // No password source at all (no env, no terminal): a clear error.
    let none = run(airlock().args(["key", "generate", "--output-key-prefix"]).arg(dir.path().join("other")).env_remove("COSIGN_PASSWORD").stdin(std::process::Stdio::null()));
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(!dir.path().join("other.key").exists());
}

#[test]
fn load_resigns_and_verify_image_checks_the_signature() {
    let dir = tempdir();
    let (key, public) = site_key(dir.path());
    let (bundle, app, index, children) = bundle(dir.path());
    let registry = testbed::Registry::start();
    let host = registry.host();
    let mapping = dir.path().join("mapping.txt");
    let r = load(&bundle, &format!("{host}/mirror"), &host, &["--resign-key", key.to_str().unwrap(), "--mapping", mapping.to_str().unwrap(), "--output", "json", "--state", dir.path().join("state").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["mediaType"], "application/vnd.airlock.load.result.v1+json", "{report}");
    assert_eq!((&report["loaded"], &report["partial"]), (&true.into(), &false.into()), "{report}");
    assert_eq!(report["report"]["mediaType"], "application/vnd.airlock.load.report.v1+json", "{report}");
    assert_eq!(report["verification"]["verdict"], "passed", "{report}");
    assert_eq!(report["report"]["totals"]["signaturesAdded"], 4, "{report}");
    let lines = std::fs::read_to_string(&mapping).unwrap();
    assert!(lines.contains(&format!("ghcr.io/org/app:v1 {host}/mirror/ghcr.io/org/app:v1@{app}")), "{lines}");
    assert!(lines.contains(&format!("docker.io/library/multi:2 {host}/mirror/docker.io/library/multi:2@{index}")), "{lines}");
    // The ledger recorded the import.
    assert_eq!(std::fs::read_dir(dir.path().join("state/imported")).unwrap().count(), 1);

    let app_ref = format!("{host}/mirror/ghcr.io/org/app@{app}");
    let ok = verify_image(&app_ref, &public, &host);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("Verified OK"), "{}", ok.stdout);
    for child in &children {
        let r = verify_image(&format!("{host}/mirror/docker.io/library/multi@{child}"), &public, &host);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    // Another key: refused.
    let (_, other_pub) = site_key(&dir.path().join("other").tap_mkdir());
    let r = verify_image(&app_ref, &other_pub, &host);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("signature"), "{}", r.stderr);
    // An image nobody signed: refused.
    let unsigned = registry.push_image("unsigned/app:v1", "unsigned");
    let r = verify_image(&format!("{host}/unsigned/app@{unsigned}"), &public, &host);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no signature"), "{}", r.stderr);
    // A signature for another digest, moved under this digest's tag: refused.
    let app_sig = format!("{host}/mirror/ghcr.io/org/app:{}", oci::Tag::cosign_for(&app, "sig").unwrap());
    let unsigned_digest: oci::Digest = unsigned.parse().unwrap();
    testbed::run(Command::new("skopeo").args(["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{app_sig}"))
        .arg(format!("docker://{host}/unsigned/app:{}", oci::Tag::cosign_for(&unsigned_digest, "sig").unwrap())));
    let r = verify_image(&format!("{host}/unsigned/app@{unsigned}"), &public, &host);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("payload-digest"), "{}", r.stderr);
    // A tag is not enough.
    let r = verify_image(&format!("{host}/mirror/ghcr.io/org/app:v1"), &public, &host);
    assert_eq!(r.code, 2);

    // OpenSSL, an independent implementation, verifies the re-signature in
    // the layout cosign reads it from: the payload blob of the .sig layer,
    // the base64 DER ECDSA signature in its annotation, the site's PEM key.
    // (containers/image would be the natural peer, but Debian's skopeo is
    // built with sigstore disabled: "Debian-local change: sigstore disabled".)
    let sig_dir = dir.path().join("sig");
    testbed::run(Command::new("skopeo").args(["copy", "--quiet", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{app_sig}"))
        .arg(format!("oci:{}:sig", sig_dir.display())));
    let sig_manifest: serde_json::Value = serde_json::from_slice(&Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false"]).arg(format!("docker://{app_sig}")).output().unwrap().stdout).unwrap();
    let site_layer = sig_manifest["layers"].as_array().unwrap().iter().find(|l| {
        let payload = std::fs::read(sig_dir.join("blobs/sha256").join(l["digest"].as_str().unwrap().trim_start_matches("sha256:"))).unwrap();
        String::from_utf8_lossy(&payload).contains(&format!("{host}/mirror/ghcr.io/org/app"))
    }).expect("the site's layer");
    let payload = sig_dir.join("blobs/sha256").join(site_layer["digest"].as_str().unwrap().trim_start_matches("sha256:"));
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD.decode(site_layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap()).unwrap();
    let sig_file = dir.path().join("sig.der");
    std::fs::write(&sig_file, der).unwrap();
    let openssl = |key: &Path| run(Command::new("openssl").args(["dgst", "-sha256", "-verify"]).arg(key).arg("-signature").arg(&sig_file).arg(&payload));
    let r = openssl(&public);
    assert!(r.code == 0 && r.stdout.contains("Verified OK"), "openssl: {}{}", r.stdout, r.stderr);
    assert_ne!(openssl(&other_pub).code, 0, "openssl accepted another key");
}

trait TapMkdir {
    fn tap_mkdir(self) -> PathBuf;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn a_bundle_that_fails_its_content_check_pushes_nothing() {
    let dir = tempdir();
    let (bundle, app, _, _) = bundle(dir.path());
    let layer = std::fs::read_dir(bundle.join("blobs/sha256")).unwrap().map(|e| e.unwrap().path()).max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let registry = testbed::Registry::start();
    let host = registry.host();
    let before = std::fs::read_dir(registry.storage_dir()).unwrap().count();
    let r = load(&bundle, &host, &host, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("content"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(registry.storage_dir()).unwrap().count(), before, "the registry's storage was touched");
    let _ = app;
}

#[test]
fn a_wrong_key_password_stops_the_load_before_the_bundle_is_read() {
    let dir = tempdir();
    let (key, _) = site_key(dir.path());
    let registry = testbed::Registry::start();
    let host = registry.host();
    let r = run(airlock().arg("load").arg(dir.path().join("no-bundle")).args(["--to", &host, "--insecure-registry", &host, "--resign-key"]).arg(&key).env("COSIGN_PASSWORD", "wrong-guess"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("wrong password"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-guess") && !r.stdout.contains("wrong-guess"));
}

#[test]
fn pin_rewrites_from_the_load_mapping_and_fails_closed_on_unknown_references() {
    let dir = tempdir();
    let d = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let mapping = dir.path().join("mapping.txt");
    std::fs::write(&mapping, format!("ghcr.io/org/app:v1 reg.site/mirror/ghcr.io/org/app:v1@{d}\n")).unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: x\nversion: 1.0.0\n").unwrap();
    std::fs::write(chart.join("templates/deploy.yaml"), "image: {{ .Values.image }}\n").unwrap();
    let values = "# values\nimage:\n  repository: ghcr.io/org/app  # app\n  tag: v1\n";
    std::fs::write(chart.join("values.yaml"), values).unwrap();
    let pod = dir.path().join("pod.yaml");
    std::fs::write(&pod, "kind: Pod\nspec:\n  containers:\n  - image: ghcr.io/org/app:v1 # main\n---\nkind: Pod\nspec:\n  containers:\n  - image: quay.io/other:1\n").unwrap();

    // An unknown reference: exit 1, named, nothing written.
    let r = run(airlock().args(["pin", "--in-place", "--mapping"]).arg(&mapping).arg(&chart).arg(&pod));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("UNKNOWN quay.io/other:1"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(chart.join("values.yaml")).unwrap(), values);

    // With --allow-unknown the known ones are written, comments kept; the
    // chart's templates are left alone.
    let r = run(airlock().args(["pin", "--in-place", "--allow-unknown", "--mapping"]).arg(&mapping).arg(&chart).arg(&pod));
    assert_eq!(r.code, 1);
    assert_eq!(
        std::fs::read_to_string(chart.join("values.yaml")).unwrap(),
        format!("# values\nimage:\n  repository: reg.site/mirror/ghcr.io/org/app  # app\n  tag: v1@{d}\n")
    );
    assert!(std::fs::read_to_string(&pod).unwrap().contains(&format!("  - image: reg.site/mirror/ghcr.io/org/app:v1@{d} # main\n")));
    assert_eq!(std::fs::read_to_string(chart.join("templates/deploy.yaml")).unwrap(), "image: {{ .Values.image }}\n");

    // One known file to stdout: exit 0.
    let single = dir.path().join("single.yaml");
    std::fs::write(&single, "image: ghcr.io/org/app:v1\n").unwrap();
    let r = run(airlock().args(["pin", "--mapping"]).arg(&mapping).arg(&single));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("image: reg.site/mirror/ghcr.io/org/app:v1@{d}\n"));
}

#[test]
fn policy_export_writes_both_policies_for_the_site_key() {
    let dir = tempdir();
    let (_, public) = site_key(dir.path());
    let r = run(airlock().args(["policy", "export", "--registry", "reg.site:5000/mirror", "--identity", "https://accounts.google.com=alice@example.com", "--key"]).arg(&public));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let documents: Vec<serde_yaml_ng::Value> =
        serde_yaml_ng::Deserializer::from_str(&r.stdout).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
    assert_eq!(documents.len(), 2, "{}", r.stdout);
    assert_eq!((documents[0]["kind"].as_str(), documents[1]["kind"].as_str()), (Some("ClusterImagePolicy"), Some("ClusterPolicy")));
    assert_eq!(documents[0]["spec"]["images"][0]["glob"].as_str(), Some("reg.site:5000/mirror/**"), "{}", r.stdout);
    let key = std::fs::read_to_string(&public).unwrap();
    assert_eq!(documents[0]["spec"]["authorities"][0]["key"]["data"].as_str(), Some(key.as_str()));
    let r = run(airlock().args(["policy", "export", "--registry", "not a registry", "--key"]).arg(&public));
    assert_eq!(r.code, 2);
}
