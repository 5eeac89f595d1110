//! Helpers shared by the CLI integration tests: run the real `airlock`
//! binary the way an operator would and read its JSON output.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
pub use testbed::{lab_dir, realdata, tempdir, Env, Run, CREATED};
use testbed::SignMode;

/// The `airlock` binary built for this test run.
pub fn airlock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
}

/// `airlock verify-blob`, built up flag by flag.
pub struct VerifyBlob {
    args: Vec<OsString>,
}

impl VerifyBlob {
    pub fn new(bundle: impl Into<PathBuf>) -> Self {
        let bundle: PathBuf = bundle.into();
        Self {
            args: vec!["verify-blob".into(), "--bundle".into(), bundle.into()],
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn identity(self, identity: &str, issuer: &str) -> Self {
        self.arg("--certificate-identity")
            .arg(identity)
            .arg("--certificate-oidc-issuer")
            .arg(issuer)
    }

    pub fn identity_regexp(self, identity: &str, issuer: &str) -> Self {
        self.arg("--certificate-identity-regexp")
            .arg(identity)
            .arg("--certificate-oidc-issuer-regexp")
            .arg(issuer)
    }

    pub fn key(self, key: impl Into<OsString>) -> Self {
        self.arg("--key").arg(key)
    }

    pub fn trusted_root(self, root: impl Into<OsString>) -> Self {
        self.arg("--trusted-root").arg(root)
    }

    /// Run with `--output json` against `artifact` (a path or a digest).
    pub fn run(self, artifact: impl Into<OsString>) -> Run {
        let output = airlock()
            .args(&self.args)
            .arg("--output")
            .arg("json")
            .arg(artifact.into())
            .output()
            .expect("run airlock");
        Run::from_output(output)
    }

    /// Run and require success; returns the result document.
    pub fn verified(self, artifact: impl Into<OsString>) -> serde_json::Value {
        let run = self.run(artifact);
        let doc = run.json();
        assert_eq!(
            (run.code, &doc["verified"]),
            (0, &serde_json::Value::Bool(true)),
            "expected VALID, got exit {} error {}\nstderr: {}",
            run.code,
            doc["error"],
            run.stderr
        );
        doc
    }

    /// Run and require refusal by `check` (exit 1); returns the error text.
    pub fn refused_by(self, check: &str, artifact: impl Into<OsString>) -> String {
        let run = self.run(artifact);
        let doc = run.json();
        assert_eq!(run.code, 1, "expected exit 1 (refused), got {}: {}", run.code, run.stdout);
        assert_eq!(doc["verified"], false);
        let error = doc["error"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            doc["failedCheck"].as_str(),
            Some(check),
            "expected the {check} check to refuse; error was: {error}"
        );
        error
    }

    /// Run and require an `unsupported` refusal (exit 1, no check named).
    pub fn refused_as_unsupported(self, artifact: impl Into<OsString>) -> String {
        let run = self.run(artifact);
        let doc = run.json();
        assert_eq!(run.code, 1, "expected exit 1, got {}: {}", run.code, run.stdout);
        let error = doc["error"].as_str().unwrap_or_default().to_string();
        assert!(error.starts_with("unsupported:"), "expected an unsupported refusal, got: {error}");
        error
    }
}

/// `airlock verify BUNDLE --policy POLICY --trusted-root ROOT --output json`,
/// for tests of the evidence: the test bundles are not transfer-signed
/// ([`ALLOW_UNSIGNED`]).
pub fn verify_json(bundle: &Path, policy: &Path, trusted_root: &Path) -> Run {
    let output = airlock()
        .arg("verify")
        .arg(ALLOW_UNSIGNED)
        .arg(bundle)
        .arg("--policy")
        .arg(policy)
        .arg("--trusted-root")
        .arg(trusted_root)
        .args(["--output", "json"])
        .output()
        .expect("run airlock");
    Run::from_output(output)
}

/// Write line `n` (1-based) of a JSON-lines file to its own file in `dir`.
pub fn jsonl_line(file: &Path, n: usize, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().nth(n - 1).expect("line present");
    let out = dir.join(format!(
        "{}.line{n}.json",
        file.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&out, line).unwrap();
    out
}

/// The CLI's verbs on the shared test environment ([`testbed::Env`]).
pub trait CliEnv {
    fn reference(&self, repo_tag: &str) -> String;
    fn bundle(&self, args: &[&str]) -> Command;
    fn bundle_trusting(&self, trust: &[&str], args: &[&str]) -> Command;
    fn run(&self, args: &[&str]) -> Run;
    fn sign(&self, repo: &str, digest: &str, mode: SignMode);
}

impl CliEnv for Env {
    fn reference(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.registry.host())
    }

    /// `airlock bundle create` with this test bed's registry, lab and a
    /// pinned creation time, the lab's trusted root carried as is, plus
    /// `args`. No `--rekor-url`: the lab's trusted root names its Rekor.
    fn bundle(&self, args: &[&str]) -> Command {
        let root = self.trusted_root();
        self.bundle_trusting(&["--trusted-root", root.to_str().expect("utf-8 path")], args)
    }

    /// [`Self::bundle`] with other trust flags (`--tuf-mirror …`).
    fn bundle_trusting(&self, trust: &[&str], args: &[&str]) -> Command {
        let mut cmd = airlock();
        cmd.args(["bundle", "create", "--insecure-registry", &self.registry.host(), "--created", CREATED])
            .args(trust)
            .args(args)
            // No operator's docker config leaks into the test.
            .env("DOCKER_CONFIG", self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.bundle(args).output().unwrap())
    }

    fn sign(&self, repo: &str, digest: &str, mode: SignMode) {
        self.lab.sign_image(&format!("{}/{repo}@{digest}", self.registry.host()), mode, false);
    }
}

/// The lab's keyless signer (oci-sign.js defaults), as a site would pin it.
pub fn lab_policy(env: &Env) -> PathBuf {
    let path = env.path("policy.yaml");
    let policy = format!(
        "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: lab-images\n      images: ['{}/test/**']\n      authorities:\n        - name: lab-release\n          keyless:\n            - issuer: https://token.actions.githubusercontent.com\n              subjectRegExp: '^https://github.com/example/repo/'\n",
        env.registry.host()
    );
    std::fs::write(&path, policy).unwrap();
    path
}

/// The Sigstore public-good trusted root airlock embeds, as a site's own
/// `--trusted-root` file.
pub fn site_trusted_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("trust-roots/data/public-good-trusted_root.json")
}

/// Waives the transfer signature, for tests of what comes after it (the
/// test bundles are unsigned; the tests of the signature pin a key).
pub const ALLOW_UNSIGNED: &str = "--allow-unsigned-bundle";

/// `airlock load BUNDLE --to TO --resign-key KEY --output json` under
/// `policy` and `trusted_root` (plain HTTP to TO's host, no credentials),
/// which must succeed: every loaded image and platform child as
/// `REPOSITORY@DIGEST`, in bundle order.
pub fn load_resigned_images(bundle: &Path, to: &str, policy: &Path, trusted_root: &Path, key: &Path, password: &str) -> Vec<String> {
    let host = to.split('/').next().unwrap_or(to);
    let run = Run::from_output(
        airlock()
            .arg("load")
            .arg(bundle)
            .args(["--to", to, "--insecure-registry", host, "--output", "json"])
            .arg("--policy")
            .arg(policy)
            .arg("--trusted-root")
            .arg(trusted_root)
            .arg("--resign-key")
            .arg(key)
            .arg(ALLOW_UNSIGNED)
            .env("COSIGN_PASSWORD", password)
            .env("DOCKER_CONFIG", "/nonexistent")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "load refused:\n{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let mut loaded = Vec::new();
    for image in report["report"]["images"].as_array().unwrap() {
        let repository = image["repository"].as_str().unwrap();
        let children = image["platforms"].as_array().cloned().unwrap_or_default(); // absent when none
        let digests = std::iter::once(image["digest"].clone()).chain(children);
        loaded.extend(digests.map(|d| format!("{repository}@{}", d.as_str().unwrap())));
    }
    loaded
}

/// `airlock key generate --output-key-prefix DIR/NAME` with `password`:
/// `(DIR/NAME.key, DIR/NAME.pub)`.
pub fn airlock_key(dir: &Path, name: &str, password: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let run = Run::from_output(
        airlock().args(["key", "generate", "--output-key-prefix"]).arg(&prefix).env("COSIGN_PASSWORD", password).output().unwrap(),
    );
    assert_eq!(run.code, 0, "key generate: {}", run.stderr);
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// `verify`'s flags for tests about pushing and serving rather than
/// evidence: a policy that admits every image (written into `dir`), the
/// site's own trusted root, and the unsigned test bundle accepted
/// ([`ALLOW_UNSIGNED`]).
pub fn admit_all(dir: &Path) -> Vec<String> {
    let policy = dir.join("admit-all.yaml");
    std::fs::write(
        &policy,
        "apiVersion: airlock.dev/v1alpha1\nkind: ImportPolicy\nspec:\n  rules:\n    - name: push-tests\n      images: ['**']\n      authorities:\n        - static: pass\n",
    )
    .unwrap();
    vec![
        "--policy".into(),
        policy.display().to_string(),
        "--trusted-root".into(),
        site_trusted_root().display().to_string(),
        ALLOW_UNSIGNED.into(),
    ]
}

/// What an attacker who edited a bundle directory's manifest does next:
/// drop the blobs nothing references any more (from the manifest and the
/// directory), rewrite `index.json` to match (with airlock's own
/// derivation) and record its new digest, so the layout is consistent and
/// only the check under test can refuse the edit. The manifest is written
/// back in canonical form; nothing is signed.
pub fn reseal_layout(bundle: &Path) {
    use verifier::bundle::{layout, manifest::BundleManifest};
    let manifest_path = bundle.join("airlock/manifest.json");
    let mut manifest: BundleManifest = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let blobs = bundle.join("blobs/sha256");
    let manifest_of = |d: &oci::Digest| {
        let bytes = std::fs::read(blobs.join(d.hex())).map_err(|source| verifier::Error::Io { path: blobs.join(d.hex()), source })?;
        Ok(oci::RawManifest::from_bytes("bundle", bytes, None, Some(d))?)
    };
    let reached = layout::reachable(&manifest, &manifest_of).unwrap();
    for orphan in manifest.blobs.iter().filter(|b| !reached.contains(&b.digest)) {
        let _ = std::fs::remove_file(blobs.join(orphan.digest.hex()));
    }
    manifest.blobs.retain(|b| reached.contains(&b.digest));
    let index = layout::index_json(&manifest.images, &manifest_of).unwrap();
    std::fs::write(bundle.join(layout::INDEX_PATH), &index).unwrap();
    let entry = manifest.files.iter_mut().find(|f| f.path == layout::INDEX_PATH).expect("index.json is listed");
    entry.sha256 = oci::Digest::sha256_of(&index);
    entry.size = index.len() as u64;
    std::fs::write(&manifest_path, manifest.to_canonical_json()).unwrap();
}
