//! The field's own tools as peers: the Go programs
//! `scripts/install-peers.sh` builds (olareg, a registry with the OCI 1.1
//! referrers API, among them), and docker credential helpers as an
//! operator installs them (an executable on `PATH`).

use crate::{free_port, http_get, push_image_to, run, wait_until, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The peer `name` built by `scripts/install-peers.sh`, from its
/// `--bin-dir`. A missing peer is a test failure naming the command that
/// installs it.
pub fn peer(name: &str) -> PathBuf {
    let script = workspace_root().join("scripts/install-peers.sh");
    let dir = run(Command::new("bash").arg(&script).arg("--bin-dir"));
    let path = PathBuf::from(dir.trim()).join(name);
    assert!(path.is_file(), "{name} is not installed at {}: run scripts/install-peers.sh {name}", path.display());
    path
}

/// `olareg serve` on a free 127.0.0.1 port, in memory, garbage collection
/// off; killed on drop. It answers the referrers API and the
/// `OCI-Subject` header.
pub struct Olareg {
    child: Child,
    port: u16,
}

impl Olareg {
    /// Start one.
    pub fn start() -> Self {
        let binary = peer("olareg");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args(["serve", "--addr", "127.0.0.1", "--port", &port.to_string(), "--store-type", "mem", "--gc-frequency", "-1s"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
            if wait_until(&mut child, || matches!(http_get(port, "/v2/"), Some((200, _)))) {
                return Self { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("olareg did not become ready after 5 tries");
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Push a one-layer image whose file says `text` as `repo_tag`;
    /// returns its manifest digest.
    pub fn push_image(&self, repo_tag: &str, text: &str) -> String {
        push_image_to(&self.host(), &[], repo_tag, text)
    }

    /// What the referrers API lists for `digest` in `repo`: the digests,
    /// sorted. Panics unless it answers 200 with an image index.
    pub fn referrers(&self, repo: &str, digest: &str) -> Vec<String> {
        let (status, body) = http_get(self.port, &format!("/v2/{repo}/referrers/{digest}")).expect("olareg answers");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let index: serde_json::Value = serde_json::from_slice(&body).expect("referrers index");
        let mut digests: Vec<String> = index["manifests"]
            .as_array()
            .map(|m| m.iter().filter_map(|d| d["digest"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        digests.sort();
        digests
    }

    /// The tags of `repo`.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let (status, body) = http_get(self.port, &format!("/v2/{repo}/tags/list")).expect("olareg answers");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let list: serde_json::Value = serde_json::from_slice(&body).expect("tag list");
        list["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

impl Drop for Olareg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write `dir/docker-credential-NAME`, a helper as docker runs them: on
/// `get` it reads the server URL on standard input, appends it to
/// `dir/NAME.calls`, and answers `answers[server URL]` (the JSON it prints,
/// with exit 0), or docker-credential-helpers' "credentials not found"
/// message with exit 1. Put `dir` on `PATH`.
pub fn write_credential_helper(dir: &Path, name: &str, answers: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let mut cases = String::new();
    for (server, json) in answers {
        cases.push_str(&format!("  '{server}') printf '%s' '{json}' ;;\n"));
    }
    let calls = dir.join(format!("{name}.calls"));
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nserver=$(cat)\nprintf '%s\\n' \"$server\" >> '{}'\ncase \"$server\" in\n{cases}  *) printf 'credentials not found in native keychain'; exit 1 ;;\nesac\n",
        calls.display()
    );
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod helper");
    path
}

/// A policy-controller `TrustRoot` resource named `name` whose
/// `spec.sigstoreKeys` is the Sigstore `trusted_root.json` at `path`
/// rewritten as policy-controller reads it: base64 of PEM certificate
/// chains and public keys (docs/interop.md shows the same in Python).
pub fn trust_root_resource(path: &Path, name: &str) -> serde_json::Value {
    use crate::base64_lite::encode;
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let root: serde_json::Value = serde_json::from_slice(&text).expect("trusted_root.json");
    let pem = |kind: &str, der: &serde_json::Value| {
        format!("-----BEGIN {kind}-----\n{}\n-----END {kind}-----\n", der.as_str().expect("rawBytes"))
    };
    let authority = |c: &serde_json::Value| {
        let chain: String = c["certChain"]["certificates"].as_array().expect("certificates").iter().map(|x| pem("CERTIFICATE", &x["rawBytes"])).collect();
        serde_json::json!({"subject": c["subject"], "uri": c["uri"], "certChain": encode(chain.as_bytes())})
    };
    let log = |l: &serde_json::Value| {
        let key = pem("PUBLIC KEY", &l["publicKey"]["rawBytes"]);
        serde_json::json!({"baseURL": l["baseUrl"], "hashAlgorithm": "sha-256", "publicKey": encode(key.as_bytes())})
    };
    let list = |field: &str, f: &dyn Fn(&serde_json::Value) -> serde_json::Value| -> Vec<serde_json::Value> {
        root[field].as_array().map(|a| a.iter().map(f).collect()).unwrap_or_default()
    };
    serde_json::json!({
        "apiVersion": "policy.sigstore.dev/v1alpha1", "kind": "TrustRoot", "metadata": {"name": name},
        "spec": {"sigstoreKeys": {
            "certificateAuthorities": list("certificateAuthorities", &authority),
            "tLogs": list("tlogs", &log),
            "ctLogs": list("ctlogs", &log),
            "timestampAuthorities": list("timestampAuthorities", &authority),
        }}
    })
}
