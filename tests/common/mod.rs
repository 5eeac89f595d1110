//! Helpers shared by the CLI integration tests: run the real `airlock`
//! binary the way an operator would and read its JSON output.
#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/realdata` beside the checkout (CI has it too). Tests read it
/// in place and fail loudly if it is missing.
pub fn realdata(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realdata")
        .join(rel);
    assert!(path.exists(), "real test data missing: {}", path.display());
    path
}

/// `../shared/tools/sigstore-lab` beside the checkout.
pub fn lab_dir() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/sigstore-lab");
    assert!(path.exists(), "sigstore-lab missing: {}", path.display());
    path
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("airlock-test-").tempdir().unwrap()
}

/// The `airlock` binary built for this test run.
pub fn airlock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
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
