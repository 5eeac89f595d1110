//! What every test suite of the workspace shares, defined once: the real
//! data beside the repository, scratch directories, the async runtime, the
//! fixed creation time of bundles, the result of running a CLI, and the
//! connected side's world (a registry, a keyless Sigstore lab and a scratch
//! directory). Each suite adds its own verbs to [`Env`] through a trait in
//! its `tests/common`.

use super::{workspace_root, Lab, Registry};
use std::path::PathBuf;
use std::process::Output;

/// The `--created` time tests pin bundles to, so their bytes repeat.
pub const CREATED: &str = "2026-11-23T10:00:00Z";

/// `../shared/realdata/<rel>` beside the checkout (CI has it too). Tests
/// read it in place and fail loudly if it is missing.
pub fn realdata(rel: &str) -> PathBuf {
    let path = workspace_root().join("../shared/realdata").join(rel);
    assert!(path.exists(), "real test data missing: {}", path.display());
    path
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("airlock-test-").tempdir().expect("tempdir")
}

/// The runtime library tests drive async code with: two workers, as on
/// the project's 2-core CI machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Run {
    /// From `Command::output()`.
    pub fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Standard output as JSON; panics with both streams when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

/// A registry and a keyless Sigstore lab on loopback, and a scratch
/// directory: the connected side's world for a test. The lab's log adds
/// unrelated leaves after each entry, so a proof fetched at bundle time
/// differs from the signing-time one.
pub struct Env {
    /// The source registry.
    pub registry: Registry,
    /// The keyless signer, its Rekor, Fulcio and TSA.
    pub lab: Lab,
    /// Scratch space, removed on drop.
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A fresh registry and lab.
    pub fn start() -> Self {
        Self::with_registry(Registry::start())
    }

    /// A lab beside `registry` (one with auth or TLS, say).
    pub fn with_registry(registry: Registry) -> Self {
        Self { registry, lab: Lab::start_with(&["--tlog-noise", "3"]), dir: tempdir() }
    }

    /// `name` in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The lab's `trusted_root.json`.
    pub fn trusted_root(&self) -> PathBuf {
        self.lab.trust_dir().join("trusted_root.json")
    }
}
