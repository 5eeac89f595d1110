//! airlock's own local Sigstore (`scripts/sigstore-local`: Fulcio, Rekor v1,
//! a TSA and an OIDC issuer on one 127.0.0.1 port), killed on drop. What
//! `scripts/quickstart.sh` signs against with cosign v3.

use super::{workspace_root, NodeService};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

/// A running instance.
pub struct LocalSigstore {
    _service: NodeService,
    url: String,
    issuer: String,
    dir: tempfile::TempDir,
}

impl LocalSigstore {
    /// Start an instance on a free port; panics with the install command
    /// when its npm packages are missing.
    pub fn start() -> Self {
        let root = workspace_root().join("scripts/sigstore-local");
        assert!(
            root.join("node_modules/@sigstore/mock").exists(),
            "the local Sigstore is not installed: run scripts/sigstore-local/install.sh"
        );
        let dir = tempfile::Builder::new().prefix("airlock-sigstore-").tempdir().expect("tempdir");
        let service = NodeService::start(&root, "server.js", dir.path(), &[]);
        let field = |name: &str| service.ready[name].as_str().unwrap_or_else(|| panic!("{name} in the ready line")).to_string();
        let (url, issuer) = (field("url"), field("issuer"));
        Self { _service: service, url, issuer, dir }
    }

    /// The base URL of every service (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OIDC issuer certificates name (`URL/oidc`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its `trusted_root.json`.
    pub fn trusted_root(&self) -> PathBuf {
        self.dir.path().join("trusted_root.json")
    }

    /// Its SigningConfig v0.2 (`signing_config.json`).
    pub fn signing_config(&self) -> PathBuf {
        self.dir.path().join("signing_config.json")
    }

    /// An ID token for `subject` from the local issuer, written to a file in
    /// `dir` (cosign's `--identity-token` reads a long token from a file).
    pub fn token_file(&self, subject: &str, dir: &Path) -> PathBuf {
        let body = serde_json::json!({ "sub": subject }).to_string();
        let answer = post(&self.url, "/oidc/token", &body);
        let token = answer["id_token"].as_str().unwrap_or_else(|| panic!("no id_token in {answer}"));
        let path = dir.join("token");
        std::fs::write(&path, token).expect("write the token");
        path
    }
}

/// POST a JSON body over HTTP/1.0 and parse the JSON answer.
fn post(url: &str, path: &str, body: &str) -> serde_json::Value {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the answer");
    let (head, json) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not HTTP: {response:?}"));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "POST {path}: {head}\n{json}");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {json}"))
}
