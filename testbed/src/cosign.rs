//! cosign v3, the publishers' tool, as a real peer: the binary
//! `scripts/install-peers.sh cosign` builds. A missing binary fails the test
//! with that command.

use super::{run, workspace_root, LocalSigstore};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The password of every key a [`Cosign`] generates.
pub const KEY_PASSWORD: &str = "testbed";

/// The directory `scripts/install-peers.sh` links the peers into.
pub fn peers_bin_dir() -> PathBuf {
    let script = workspace_root().join("scripts/install-peers.sh");
    PathBuf::from(run(Command::new(script).arg("--bin-dir")).trim())
}

/// A cosign runner with its own scratch directory: keys, signing configs,
/// and a docker config of its own (no operator's credentials leak in).
pub struct Cosign {
    binary: PathBuf,
    dir: tempfile::TempDir,
}

impl Cosign {
    /// The pinned cosign build; panics with the install command if missing.
    pub fn new() -> Self {
        let binary = peers_bin_dir().join("cosign");
        assert!(
            binary.is_file(),
            "cosign is not installed at {}: run scripts/install-peers.sh cosign",
            binary.display()
        );
        let dir = tempfile::Builder::new().prefix("airlock-cosign-").tempdir().expect("tempdir");
        Self { binary, dir }
    }

    /// `cosign ARGS`, with the key password and the scratch docker config set.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env("COSIGN_PASSWORD", KEY_PASSWORD)
            .env("DOCKER_CONFIG", self.dir.path())
            .env("HOME", self.dir.path());
        cmd
    }

    /// Run `cosign ARGS`, panicking with its output when it fails.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        run(self.command().args(args))
    }

    /// `cosign generate-key-pair`: `(private key, public key)` named `prefix`.
    pub fn generate_key_pair(&self, prefix: &str) -> (PathBuf, PathBuf) {
        let prefix = self.dir.path().join(prefix);
        self.run(&["generate-key-pair", "--output-key-prefix", path(&prefix)]);
        (prefix.with_extension("key"), prefix.with_extension("pub"))
    }

    /// A signing config that names no service: cosign v3 then signs with a
    /// key and uploads nothing (`cosign signing-config create`).
    pub fn key_only_signing_config(&self) -> PathBuf {
        let out = self.dir.path().join("key-only.json");
        if !out.exists() {
            self.run(&["signing-config", "create", "--out", path(&out)]);
        }
        out
    }

    /// `cosign sign --key` as v3 does by default: a Sigstore bundle with a
    /// public-key hint, no log entry, attached as an OCI referrer (the
    /// `sha256-<hex>` referrers tag on a registry without the API).
    /// `image` is `HOST/REPO@sha256:…`.
    pub fn sign_key_only(&self, key: &Path, image: &str) {
        let config = self.key_only_signing_config();
        let trusted_root = offline_trusted_root();
        self.run(&[
            "sign", "--yes", "--key", path(key), "--signing-config", path(&config), "--trusted-root", path(&trusted_root),
            image,
        ]);
    }

    /// `cosign attest --key` as v3 does by default: a DSSE in-toto statement
    /// in a Sigstore bundle with a public-key hint, no log entry, attached
    /// as an OCI referrer.
    pub fn attest_key_only(&self, key: &Path, image: &str, predicate_type: &str, predicate: &Path) {
        let config = self.key_only_signing_config();
        let trusted_root = offline_trusted_root();
        self.run(&[
            "attest", "--yes", "--key", path(key), "--signing-config", path(&config), "--trusted-root", path(&trusted_root),
            "--type", predicate_type, "--predicate", path(predicate), image,
        ]);
    }

    /// `cosign sign-blob --key --bundle OUT` with a key-only signing config:
    /// a message-signature Sigstore bundle with no log entry.
    pub fn sign_blob_key_only(&self, key: &Path, file: &Path, bundle: &Path) {
        let config = self.key_only_signing_config();
        let trusted_root = offline_trusted_root();
        self.run(&[
            "sign-blob", "--yes", "--key", path(key), "--signing-config", path(&config), "--trusted-root",
            path(&trusted_root), "--bundle", path(bundle), path(file),
        ]);
    }

    /// `cosign attest --key --new-bundle-format=false` with no log: cosign's
    /// legacy `sha256-<hex>.att` tag holding a DSSE envelope.
    pub fn attest_legacy_key_only(&self, key: &Path, image: &str, predicate_type: &str, predicate: &Path) {
        self.run(&[
            "attest", "--yes", "--key", path(key), "--use-signing-config=false", "--tlog-upload=false",
            "--new-bundle-format=false", "--type", predicate_type, "--predicate", path(predicate), image,
        ]);
    }
}

/// Verifying with a key and no transparency log, as an operator checks the
/// site's re-signatures. These return the output instead of panicking:
/// tests expect refusals too.
impl Cosign {
    /// `cosign verify --key PUB --insecure-ignore-tlog IMAGE`; `legacy`
    /// adds `--new-bundle-format=false`, which reads only the `.sig` tag
    /// (where policy-controller and Kyverno look) even when the image has
    /// Sigstore bundle referrers.
    pub fn verify_key_only(&self, public_key: &Path, image: &str, legacy: bool) -> Output {
        let mut cmd = self.command();
        cmd.args(["verify", "--key", path(public_key), "--insecure-ignore-tlog", "--allow-http-registry"]);
        if legacy {
            cmd.arg("--new-bundle-format=false");
        }
        cmd.arg(image).output().expect("run cosign")
    }

    /// `cosign verify-attestation --key PUB --insecure-ignore-tlog --type T
    /// IMAGE`; `legacy` as for [`Cosign::verify_key_only`] (the `.att` tag).
    pub fn verify_attestation_key_only(&self, public_key: &Path, image: &str, predicate_type: &str, legacy: bool) -> Output {
        let mut cmd = self.command();
        cmd.args(["verify-attestation", "--key", path(public_key), "--insecure-ignore-tlog", "--allow-http-registry"]);
        if legacy {
            cmd.arg("--new-bundle-format=false");
        }
        cmd.args(["--type", predicate_type, image]).output().expect("run cosign")
    }

    /// `cosign verify` of a keyless signature by `identity`, offline
    /// against the instance's trusted root.
    pub fn verify_keyless(&self, sigstore: &LocalSigstore, identity: &str, image: &str) -> Output {
        let mut cmd = self.command();
        cmd.arg("verify").args(keyless_identity(sigstore, identity)).arg(image).output().expect("run cosign")
    }

    /// `cosign verify-attestation --type T` of a keyless attestation by
    /// `identity`, offline against the instance's trusted root.
    pub fn verify_attestation_keyless(&self, sigstore: &LocalSigstore, identity: &str, image: &str, predicate_type: &str) -> Output {
        let mut cmd = self.command();
        cmd.args(["verify-attestation", "--type", predicate_type]).args(keyless_identity(sigstore, identity));
        cmd.arg(image).output().expect("run cosign")
    }
}

/// What cosign needs to check a keyless signature from a [`LocalSigstore`]
/// without network: its trusted root and the expected identity.
fn keyless_identity(sigstore: &LocalSigstore, identity: &str) -> Vec<String> {
    args(&[
        "--trusted-root", path(&sigstore.trusted_root()), "--certificate-identity", identity,
        "--certificate-oidc-issuer", sigstore.issuer(), "--allow-http-registry",
    ])
}

/// Keyless signing against a [`LocalSigstore`]: Fulcio certifies the
/// identity of the token, Rekor logs, the TSA timestamps.
impl Cosign {
    /// `cosign sign` in v3's format: a Sigstore bundle (certificate, Rekor
    /// entry with inclusion proof, timestamp) attached as an OCI referrer.
    pub fn sign_keyless(&self, sigstore: &LocalSigstore, token: &Path, image: &str) {
        self.run(&[args(&["sign", "--yes"]), keyless(sigstore, token), args(&[image])].concat());
    }

    /// `cosign attest` in v3's format: a DSSE in-toto statement in a Sigstore
    /// bundle, attached as an OCI referrer.
    pub fn attest_keyless(&self, sigstore: &LocalSigstore, token: &Path, image: &str, predicate_type: &str, predicate: &Path) {
        let attest = args(&["attest", "--yes", "--type", predicate_type, "--predicate", path(predicate)]);
        self.run(&[attest, keyless(sigstore, token), args(&[image])].concat());
    }

    /// `cosign sign --new-bundle-format=false`: cosign's classic
    /// `sha256-<hex>.sig` tag with the certificate, the Rekor SET and an
    /// RFC 3161 timestamp as annotations.
    pub fn sign_keyless_legacy(&self, sigstore: &LocalSigstore, token: &Path, image: &str) {
        let tsa = format!("{}/api/v1/timestamp", sigstore.url());
        let trusted_root = sigstore.trusted_root();
        self.run(&[
            "sign", "--yes", "--new-bundle-format=false", "--use-signing-config=false", "--fulcio-url", sigstore.url(),
            "--rekor-url", sigstore.url(), "--timestamp-server-url", &tsa, "--trusted-root", path(&trusted_root),
            "--identity-token", path(token), image,
        ]);
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Where cosign v3 finds the instance's services and trust, and the token.
fn keyless(sigstore: &LocalSigstore, token: &Path) -> Vec<String> {
    args(&[
        "--signing-config", path(&sigstore.signing_config()), "--trusted-root", path(&sigstore.trusted_root()),
        "--identity-token", path(token),
    ])
}

impl Default for Cosign {
    fn default() -> Self {
        Self::new()
    }
}

/// A trusted root for commands that load one even when nothing they do
/// needs it (signing with a key and a signing config), so cosign never
/// reaches for the public-good TUF repository.
fn offline_trusted_root() -> PathBuf {
    workspace_root().join("trust-roots/data/public-good-trusted_root.json")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}
