//! Test-only: generate signed TUF repositories and their attack variants,
//! and serve directories over loopback HTTP.
//!
//! [`Repo`] keeps each role's `signed` payload as JSON that tests mutate
//! freely (versions, expiries, keys, thresholds, meta entries), and signs on
//! [`Repo::files`], which computes snapshot and timestamp meta from the
//! targets roles it signs. Tests tamper with the resulting bytes to build
//! mix-and-match, rollback and endless-data cases. Keys are Ed25519 or ECDSA
//! P-256 (aws-lc-rs); signatures cover securesystemslib canonical JSON
//! (sigstore-tuf's encoder, so the generator agrees with every TUF client
//! on the signed bytes).
//!
//! [`Files::write_mirror`] lays out a published repository (consistent
//! snapshots: `N.snapshot.json`, `targets/<sha256>.<name>`);
//! [`Files::write_snapshot`] lays out airlock's snapshot directory, written
//! here independently of trust-roots so the tests check the format, not
//! the code that writes it. [`Server`] serves a directory on 127.0.0.1 and
//! logs the paths requested.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Far enough in the future for any test.
pub const FAR_FUTURE: &str = "2100-01-01T00:00:00Z";
/// Already past for any test.
pub const PAST: &str = "2001-01-01T00:00:00Z";

/// Key algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519 (`keytype` and `scheme` `ed25519`, hex public key).
    Ed25519,
    /// ECDSA P-256 (`ecdsa` / `ecdsa-sha2-nistp256`, PEM public key).
    EcdsaP256,
}

enum Secret {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// A signing key and its TUF public key object.
pub struct Signer {
    secret: Secret,
    /// The declared key ID.
    pub keyid: String,
    /// The TUF key object (`keytype`, `scheme`, `keyval`).
    pub public: Value,
}

impl Signer {
    /// A fresh key.
    pub fn generate(kind: KeyKind) -> Self {
        let (secret, public) = match kind {
            KeyKind::Ed25519 => {
                let key = Ed25519KeyPair::generate().expect("ed25519 key");
                let public = json!({
                    "keytype": "ed25519",
                    "scheme": "ed25519",
                    "keyval": {"public": hex::encode(key.public_key().as_ref())},
                });
                (Secret::Ed25519(key), public)
            }
            KeyKind::EcdsaP256 => {
                let key =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("p256 key");
                // SubjectPublicKeyInfo for id-ecPublicKey / prime256v1.
                let mut spki =
                    hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
                spki.extend_from_slice(key.public_key().as_ref());
                let public = json!({
                    "keytype": "ecdsa",
                    "scheme": "ecdsa-sha2-nistp256",
                    "keyval": {"public": pem("PUBLIC KEY", &spki)},
                });
                (Secret::Ecdsa(key), public)
            }
        };
        let keyid = hex::encode(Sha256::digest(canonical(&public)));
        Self {
            secret,
            keyid,
            public,
        }
    }

    /// Declare a different keytype/scheme for the same key material (the
    /// key ID stays): a wrong-key-type case.
    pub fn declared_as(mut self, keytype: &str, scheme: &str) -> Self {
        self.public["keytype"] = json!(keytype);
        self.public["scheme"] = json!(scheme);
        self
    }

    /// Sign bytes; hex signature.
    pub fn sign(&self, message: &[u8]) -> String {
        match &self.secret {
            Secret::Ed25519(key) => hex::encode(key.sign(message).as_ref()),
            Secret::Ecdsa(key) => hex::encode(
                key.sign(&SystemRandom::new(), message)
                    .expect("ecdsa signature")
                    .as_ref(),
            ),
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use std::fmt::Write as _;
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", std::str::from_utf8(line).unwrap());
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// securesystemslib canonical JSON (what TUF signatures cover).
pub fn canonical(value: &Value) -> Vec<u8> {
    sigstore_tuf::canonical_json::to_canonical_bytes(value).expect("canonical JSON")
}

/// Sign a `signed` payload with `signers`; pretty JSON bytes, as published.
pub fn sign(payload: &Value, signers: &[&Signer]) -> Vec<u8> {
    let message = canonical(payload);
    let signatures: Vec<Value> = signers
        .iter()
        .map(|s| json!({"keyid": s.keyid, "sig": s.sign(&message)}))
        .collect();
    serde_json::to_vec_pretty(&json!({"signed": payload, "signatures": signatures})).unwrap()
}

/// Percent-encode like python-tuf's `quote(name, "")`.
pub fn quote(name: &str) -> String {
    let mut out = String::new();
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A TUF repository under construction.
pub struct Repo {
    /// The current root's `signed` payload.
    pub root: Value,
    /// The timestamp payload (its snapshot meta is recomputed by `files`).
    pub timestamp: Value,
    /// The snapshot payload (its meta is recomputed by `files`).
    pub snapshot: Value,
    /// Targets payloads: `targets` and delegated roles, by name.
    pub targets: BTreeMap<String, Value>,
    /// Delegated roles in delegation order, with their delegator.
    pub delegations: Vec<(String, String)>,
    /// Signing keys by role (`root`, `timestamp`, … and delegated roles).
    pub signers: BTreeMap<String, Vec<Signer>>,
    /// Extra signers for the next root only (the previous root's keys
    /// during a rotation).
    pub next_root_cosigners: Vec<Signer>,
    /// Target bytes by path.
    pub artifacts: BTreeMap<String, Vec<u8>>,
    /// Every root version published, signed, in order.
    pub published_roots: Vec<Vec<u8>>,
    /// Whether snapshot and timestamp meta carry length and hashes.
    pub hashes_in_meta: bool,
}

impl Repo {
    /// A repository with one `kind` key per top-level role (threshold 1),
    /// consistent snapshots, root v1 published, everything else v1.
    pub fn new(kind: KeyKind) -> Self {
        let mut signers = BTreeMap::new();
        let mut keys = serde_json::Map::new();
        let mut roles = serde_json::Map::new();
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let signer = Signer::generate(kind);
            keys.insert(signer.keyid.clone(), signer.public.clone());
            roles.insert(
                role.into(),
                json!({"keyids": [signer.keyid], "threshold": 1}),
            );
            signers.insert(role.to_string(), vec![signer]);
        }
        let root = json!({
            "_type": "root", "spec_version": "1.0.31", "version": 1, "expires": FAR_FUTURE,
            "consistent_snapshot": true, "keys": keys, "roles": roles,
        });
        let mut targets = BTreeMap::new();
        targets.insert("targets".to_string(), targets_payload());
        let mut repo = Self {
            root,
            timestamp: json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
                              "expires": FAR_FUTURE, "meta": {}}),
            snapshot: json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
                             "expires": FAR_FUTURE, "meta": {}}),
            targets,
            delegations: Vec::new(),
            signers,
            next_root_cosigners: Vec::new(),
            artifacts: BTreeMap::new(),
            published_roots: Vec::new(),
            hashes_in_meta: false,
        };
        repo.sign_root();
        repo
    }

    fn sign_root(&mut self) {
        let mut signers: Vec<&Signer> = self.signers["root"].iter().collect();
        signers.extend(self.next_root_cosigners.iter());
        self.published_roots.push(sign(&self.root, &signers));
    }

    /// Publish the current root payload as the next version, signed by the
    /// root keys and any cosigners (the previous keys, after a rotation).
    pub fn publish_root(&mut self) {
        let next = self.published_roots.len() as u64 + 1;
        self.root["version"] = json!(next);
        self.sign_root();
        self.next_root_cosigners.clear();
    }

    /// Replace `role`'s keys in the root by one new key (threshold 1). For
    /// the root role the old keys cosign the next root, as rotation needs.
    pub fn rotate(&mut self, role: &str, kind: KeyKind) {
        let old = self.signers.remove(role).unwrap_or_default();
        let keys = self.root["keys"].as_object_mut().unwrap();
        for s in &old {
            keys.remove(&s.keyid);
        }
        if role == "root" {
            self.next_root_cosigners = old;
        }
        let signer = Signer::generate(kind);
        self.root["keys"][&signer.keyid] = signer.public.clone();
        self.root["roles"][role] = json!({"keyids": [signer.keyid], "threshold": 1});
        self.signers.insert(role.to_string(), vec![signer]);
    }

    /// Add a key to a top-level role in the root, returning its key ID.
    pub fn add_key(&mut self, role: &str, signer: Signer) -> String {
        let keyid = signer.keyid.clone();
        self.root["keys"][&keyid] = signer.public.clone();
        self.root["roles"][role]["keyids"]
            .as_array_mut()
            .unwrap()
            .push(json!(keyid));
        self.signers
            .entry(role.to_string())
            .or_default()
            .push(signer);
        keyid
    }

    /// List a target in `role` and keep its bytes.
    pub fn add_target(&mut self, role: &str, path: &str, bytes: &[u8]) {
        self.targets.get_mut(role).expect("role exists")["targets"][path] = json!({
            "length": bytes.len(),
            "hashes": {"sha256": hex::encode(Sha256::digest(bytes))},
        });
        self.artifacts.insert(path.to_string(), bytes.to_vec());
    }

    /// Delegate `paths` from `delegator` to a role with one `kind` key (a
    /// role delegated twice keeps its first key).
    pub fn delegate(
        &mut self,
        delegator: &str,
        role: &str,
        paths: &[&str],
        terminating: bool,
        kind: KeyKind,
    ) {
        let signers = self
            .signers
            .entry(role.to_string())
            .or_insert_with(|| vec![Signer::generate(kind)]);
        let (keyid, public) = (signers[0].keyid.clone(), signers[0].public.clone());
        let parent = self.targets.get_mut(delegator).expect("delegator exists");
        if parent.get("delegations").is_none() {
            parent["delegations"] = json!({"keys": {}, "roles": []});
        }
        parent["delegations"]["keys"][&keyid] = public;
        parent["delegations"]["roles"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "name": role, "keyids": [keyid], "threshold": 1,
                "terminating": terminating, "paths": paths,
            }));
        self.targets
            .entry(role.to_string())
            .or_insert_with(targets_payload);
        if !self.delegations.iter().any(|(r, _)| r == role) {
            self.delegations
                .push((role.to_string(), delegator.to_string()));
        }
    }

    /// Increase a role's version by one (`timestamp`, `snapshot`, or a
    /// targets role).
    pub fn bump(&mut self, role: &str) {
        let payload = self.payload_mut(role);
        let v = payload["version"].as_u64().unwrap();
        payload["version"] = json!(v + 1);
    }

    /// A role's payload, for tests to mutate.
    pub fn payload_mut(&mut self, role: &str) -> &mut Value {
        match role {
            "root" => &mut self.root,
            "timestamp" => &mut self.timestamp,
            "snapshot" => &mut self.snapshot,
            other => self.targets.get_mut(other).expect("role exists"),
        }
    }

    /// Sign a payload with a role's keys.
    pub fn sign_role(&self, role: &str, payload: &Value) -> Vec<u8> {
        let signers: Vec<&Signer> = self.signers[role].iter().collect();
        sign(payload, &signers)
    }

    fn consistent(&self) -> bool {
        self.root["consistent_snapshot"].as_bool().unwrap_or(false)
    }

    /// The file name a role is published under.
    pub fn published_name(&self, role: &str, version: u64) -> String {
        match (role, self.consistent()) {
            ("timestamp", _) => "timestamp.json".into(),
            (_, true) => format!("{version}.{}.json", quote(role)),
            (_, false) => format!("{}.json", quote(role)),
        }
    }

    fn meta_entry(&self, version: u64, bytes: &[u8]) -> Value {
        if self.hashes_in_meta {
            json!({"version": version, "length": bytes.len(),
                   "hashes": {"sha256": hex::encode(Sha256::digest(bytes))}})
        } else {
            json!({"version": version})
        }
    }

    /// Sign everything: targets roles, then a snapshot listing them, then a
    /// timestamp listing the snapshot.
    pub fn files(&mut self) -> Files {
        let mut metadata = BTreeMap::new();
        for (v, bytes) in self.published_roots.iter().enumerate() {
            metadata.insert(format!("{}.root.json", v + 1), bytes.clone());
        }
        let mut meta = serde_json::Map::new();
        for (role, payload) in &self.targets {
            let bytes = self.sign_role(role, payload);
            let version = payload["version"].as_u64().unwrap();
            meta.insert(format!("{role}.json"), self.meta_entry(version, &bytes));
            metadata.insert(self.published_name(role, version), bytes);
        }
        self.snapshot["meta"] = Value::Object(meta);
        let snapshot = self.sign_role("snapshot", &self.snapshot);
        let snapshot_version = self.snapshot["version"].as_u64().unwrap();
        self.timestamp["meta"] =
            json!({"snapshot.json": self.meta_entry(snapshot_version, &snapshot)});
        metadata.insert(self.published_name("snapshot", snapshot_version), snapshot);
        metadata.insert(
            "timestamp.json".into(),
            self.sign_role("timestamp", &self.timestamp),
        );
        Files {
            metadata,
            targets: self.artifacts.clone(),
            consistent: self.consistent(),
        }
    }
}

fn targets_payload() -> Value {
    json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
           "expires": FAR_FUTURE, "targets": {}})
}

/// A signed repository: metadata by published name, targets by path.
#[derive(Debug, Clone)]
pub struct Files {
    /// Metadata bytes by published file name.
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// Target bytes by target path.
    pub targets: BTreeMap<String, Vec<u8>>,
    /// Whether the repository uses consistent snapshots.
    pub consistent: bool,
}

impl Files {
    /// The published file name of the (only) snapshot.
    pub fn snapshot_name(&self) -> String {
        self.metadata
            .keys()
            .find(|n| n.ends_with("snapshot.json"))
            .cloned()
            .expect("a snapshot")
    }

    /// Write with targets under the metadata: `dir/metadata/…`,
    /// `dir/metadata/targets/…`, where the bundler (and `trust fetch`
    /// without `--targets-url`) looks for them. Serve `dir`, mirror
    /// `URL/metadata`.
    pub fn write_nested_mirror(&self, dir: &Path) {
        self.write_mirror(dir);
        std::fs::rename(dir.join("targets"), dir.join("metadata/targets")).unwrap();
    }

    /// Write as a published repository: `dir/metadata/…`, `dir/targets/…`.
    pub fn write_mirror(&self, dir: &Path) {
        for (name, bytes) in &self.metadata {
            write(&dir.join("metadata").join(name), bytes);
        }
        for (path, bytes) in &self.targets {
            let published = if self.consistent {
                let hash = hex::encode(Sha256::digest(bytes));
                match path.rsplit_once('/') {
                    Some((d, base)) => format!("{d}/{hash}.{base}"),
                    None => format!("{hash}.{path}"),
                }
            } else {
                path.clone()
            };
            // Stored as requested: each segment percent-encoded.
            let mut file = dir.join("targets");
            for segment in published.split('/') {
                file.push(quote(segment));
            }
            write(&file, bytes);
        }
    }

    /// Write as an airlock snapshot directory fetched at `checked_at`.
    pub fn write_snapshot(&self, dir: &Path, checked_at: &str) {
        for (name, bytes) in &self.metadata {
            write(&dir.join("metadata").join(name), bytes);
        }
        for (path, bytes) in &self.targets {
            write(&dir.join("targets").join(quote(path)), bytes);
        }
        let index = json!({
            "mediaType": "application/vnd.airlock.tuf-snapshot.index.v1+json",
            "mirror": "https://tuf-testgen.invalid/",
            "fetchedAt": checked_at,
            "checkedAt": checked_at,
        });
        write(
            &dir.join("index.json"),
            &serde_json::to_vec_pretty(&index).unwrap(),
        );
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Unpack a `.tar.gz` (the recorded Sigstore repository in shared/realdata)
/// into `dest` with the system `tar`.
pub fn untar_gz(archive: &Path, dest: &Path) {
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar xzf {}", archive.display());
}

/// A static file server on 127.0.0.1 for tests: GET only, 404 for anything
/// missing, every requested path logged. Stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serve `dir` on a free loopback port.
    pub fn serve(dir: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (root, thread_log, thread_stop) = (dir.to_path_buf(), log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = handle(stream, &root, &thread_log);
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            log,
            stop,
            port,
            thread: Some(thread),
        }
    }

    /// Paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Forget the requests logged so far.
    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    log.lock().unwrap().push(path.clone());
    let file = resolve(root, &path);
    let mut stream = stream;
    match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => {
            stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    stream.flush()
}

/// Map a URL path to a file under `root`, segment by segment and without
/// percent-decoding (the writers store names percent-encoded, as requested),
/// refusing anything that leaves `root`.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in url_path
        .split('?')
        .next()?
        .split('/')
        .filter(|p| !p.is_empty())
    {
        if part == ".." || part == "." {
            return None;
        }
        path.push(part);
    }
    path.is_file().then_some(path)
}
