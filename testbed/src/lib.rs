//! The real-registry test bed: Debian's `docker-registry` (CNCF distribution
//! 2.8) on a free 127.0.0.1 port with its own temporary storage, images made
//! with the sigstore-lab's `mkimage.py` and pushed with `skopeo`, and keyless
//! signatures made by the lab's local Sigstore (`mockserver.js`,
//! `oci-sign.js`). Real peers from `scripts/install-peers.sh`: [`Cosign`],
//! which signs keylessly against airlock's own [`LocalSigstore`].
//!
//! Dev-only (`publish = false`, used as a dev-dependency). Everything binds
//! to 127.0.0.1 and every process is killed when its handle is dropped.
//! Missing tools are a test **failure** with the install command, never a
//! skip: `scripts/install-deps.sh` installs them.
//!
//! ```no_run
//! let registry = testbed::Registry::start();
//! let digest = registry.push_image("test/app:v1", "hello");
//! assert!(digest.starts_with("sha256:"));
//! ```

pub mod cosign;
mod env;
pub mod sigstore_local;

pub use cosign::Cosign;
pub use env::{realdata, runtime, tempdir, Env, Run, CREATED};
pub use sigstore_local::LocalSigstore;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod peers;
mod proxy;
mod tls;
mod token;

pub use peers::{peer, trust_root_resource, write_credential_helper, Olareg};
pub use proxy::Proxy;
pub use tls::TestCa;
pub use token::{Grant, TokenRequest, TokenServer};

const INSTALL_HINT: &str =
    "run scripts/install-deps.sh (as root) to install docker-registry, skopeo, apache2-utils, openssl, tinyproxy and the sigstore-lab";

/// The workspace root (where `Cargo.toml` with `[workspace]` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testbed/ sits in the workspace")
        .to_path_buf()
}

/// `../shared/tools/sigstore-lab`, beside the workspace.
pub fn lab_dir() -> PathBuf {
    let dir = workspace_root().join("../shared/tools/sigstore-lab");
    assert!(
        dir.join("mkimage.py").exists(),
        "sigstore-lab not found at {}: the shared/ directory must sit beside the repository",
        dir.display()
    );
    dir
}

fn require(tool: &str) -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in candidates {
        let path = dir.join(tool);
        if path.is_file() {
            return path;
        }
    }
    panic!("{tool} is not installed: {INSTALL_HINT}");
}

/// A free TCP port on 127.0.0.1 (bound and released; the window in which
/// another process could take it is small).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Run a command, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A `docker-registry` process on 127.0.0.1, killed on drop.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    credentials: Option<(String, String)>,
    tls: bool,
}

/// How a [`Registry`] authenticates and serves: [`Registry::builder`].
#[derive(Default)]
pub struct RegistryBuilder<'a> {
    basic: Option<(String, String)>,
    token: Option<&'a TokenServer>,
    tls: Option<&'a TestCa>,
}

impl<'a> RegistryBuilder<'a> {
    /// Require HTTP basic auth (htpasswd, bcrypt).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic = Some((user.to_string(), password.to_string()));
        self
    }

    /// Require bearer tokens from `server` (distribution's `auth.token`);
    /// the test bed's own pushes use the server's basic credentials.
    pub fn token_auth(mut self, server: &'a TokenServer) -> Self {
        self.token = Some(server);
        self
    }

    /// Serve HTTPS with a certificate for 127.0.0.1 issued by `ca`.
    pub fn tls(mut self, ca: &'a TestCa) -> Self {
        self.tls = Some(ca);
        self
    }

    /// Start it.
    pub fn start(self) -> Registry {
        Registry::launch(self)
    }
}

impl Registry {
    /// Start an anonymous registry.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Start a registry that requires HTTP basic auth (htpasswd, bcrypt).
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::builder().basic_auth(user, password).start()
    }

    /// A registry with token auth, TLS or basic auth.
    pub fn builder<'a>() -> RegistryBuilder<'a> {
        RegistryBuilder::default()
    }

    /// The `auth:` and `http.tls` parts of the configuration, and the
    /// credentials the test bed pushes with.
    fn security(setup: &RegistryBuilder<'_>, dir: &Path) -> (String, String, Option<(String, String)>) {
        let mut auth = String::new();
        let mut credentials = setup.basic.clone();
        if let Some((user, password)) = &setup.basic {
            let htpasswd = require("htpasswd");
            let line = run(Command::new(htpasswd).args(["-nbB", "-C", "4", user, password]));
            let path = dir.join("htpasswd");
            std::fs::write(&path, line.trim()).expect("write htpasswd");
            auth = format!("auth:\n  htpasswd:\n    realm: airlock-test\n    path: {}\n", path.display());
        }
        if let Some(server) = setup.token {
            auth = format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                server.realm(),
                token::SERVICE,
                token::ISSUER,
                server.root_cert().display()
            );
            let (user, password) = server.credentials();
            credentials = Some((user.to_string(), password.to_string()));
        }
        let tls = match setup.tls {
            Some(ca) => {
                let (cert, key) = ca.issue_server_cert(dir, "127.0.0.1");
                format!("  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display())
            }
            None => String::new(),
        };
        (auth, tls, credentials)
    }

    fn launch(setup: RegistryBuilder<'_>) -> Self {
        let binary = require("docker-registry");
        let dir = tempfile::Builder::new().prefix("airlock-registry-").tempdir().expect("tempdir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let (auth, tls, credentials) = Self::security(&setup, dir.path());
        // A taken port (the free_port race) makes the registry exit; try
        // another.
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: airlock-testbed\n{tls}{auth}",
                storage.display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).expect("write registry config");
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).expect("log file");
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
            if wait_ready(&mut child, port) {
                return Self {
                    child,
                    port,
                    dir,
                    credentials,
                    tls: setup.tls.is_some(),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if !log.contains("address already in use") {
                panic!("docker-registry did not become ready on 127.0.0.1:{port}:\n{log}");
            }
        }
        panic!("docker-registry: no free port after 5 tries");
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// The registry's storage root (to assert it was left untouched).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The basic-auth credentials, if the registry has them.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Kill the registry process as a crash would, keeping its storage;
    /// [`restart`](Self::restart) brings it back.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start the registry again on the same port, with the same storage
    /// and configuration.
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .expect("log file");
        let mut child = Command::new(require("docker-registry"))
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("restart docker-registry");
        assert!(wait_ready(&mut child, self.port), "docker-registry did not restart:\n{}", self.log());
        self.child = child;
    }

    /// Write a docker `config.json` with this registry's credentials into
    /// `dir`; returns its path.
    pub fn write_docker_config(&self, dir: &Path) -> PathBuf {
        use base64_lite::encode;
        let path = dir.join("config.json");
        let auths = match &self.credentials {
            Some((u, p)) => format!(r#"{{"{}":{{"auth":"{}"}}}}"#, self.host(), encode(format!("{u}:{p}").as_bytes())),
            None => "{}".to_string(),
        };
        std::fs::write(&path, format!(r#"{{"auths":{auths}}}"#)).expect("write docker config");
        path
    }

    fn creds_args(&self, flag: &str) -> Vec<String> {
        match &self.credentials {
            Some((u, p)) => vec![format!("--{flag}-creds"), format!("{u}:{p}")],
            None => Vec::new(),
        }
    }

    /// `skopeo copy` from `src` (any transport) into this registry as
    /// `dest` (`repo:tag`), with `--all` for indexes. Returns nothing;
    /// panics with skopeo's output on failure.
    pub fn skopeo_push(&self, src: &str, dest: &str) {
        skopeo_push_to(&self.host(), &self.creds_args("dest"), src, dest);
    }

    /// `skopeo copy` from this registry's `src` (`repo:tag` or
    /// `repo@digest`) to `dest` (any transport).
    pub fn skopeo_pull(&self, src: &str, dest: &str) {
        let skopeo = require("skopeo");
        run(Command::new(skopeo)
            .args(["copy", "--all", "--quiet", "--src-tls-verify=false", "--preserve-digests"])
            .args(self.creds_args("src"))
            .arg(format!("docker://{}/{src}", self.host()))
            .arg(dest));
    }

    /// Make a one-layer image whose file says `text` and push it as
    /// `repo_tag` (`test/app:v1`). Returns the manifest digest.
    pub fn push_image(&self, repo_tag: &str, text: &str) -> String {
        push_image_to(&self.host(), &self.creds_args("dest"), repo_tag, text)
    }

    /// Push a single-platform image of `layers` pseudo-random
    /// (incompressible) layers of `size` bytes each as `repo_tag`; returns
    /// its manifest digest.
    pub fn push_large_image(&self, repo_tag: &str, layers: usize, size: usize) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let digest = make_large_image(dir.path(), layers, size);
        self.skopeo_push(&format!("oci:{}:v1", dir.path().display()), repo_tag);
        digest
    }

    /// Push a two-platform index (linux/amd64 and linux/arm64/v8, one tiny
    /// image each) as `repo_tag`.
    pub fn push_multiarch(&self, repo_tag: &str, text: &str) -> MultiArch {
        let dir = tempfile::tempdir().expect("tempdir");
        let multi = make_multiarch(dir.path(), text);
        self.skopeo_push(&format!("oci:{}:v1", dir.path().display()), repo_tag);
        multi
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `skopeo copy` from `src` (any transport) into the registry at `host` as
/// `dest` (`repo:tag`), with `--all` for indexes; `creds` are skopeo's
/// `--dest-creds` arguments, if any.
fn skopeo_push_to(host: &str, creds: &[String], src: &str, dest: &str) {
    run(Command::new(require("skopeo"))
        .args(["copy", "--all", "--quiet", "--dest-tls-verify=false", "--preserve-digests"])
        .args(creds)
        .arg(src)
        .arg(format!("docker://{host}/{dest}")));
}

/// Make a one-layer image whose file says `text` and push it to `host` as
/// `repo_tag`; returns the manifest digest.
fn push_image_to(host: &str, creds: &[String], repo_tag: &str, text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let digest = make_image(dir.path(), text);
    skopeo_push_to(host, creds, &format!("oci:{}:v1", dir.path().display()), repo_tag);
    digest
}

/// Minimal base64, so the test bed needs no crate for it.
mod base64_lite {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(input: &[u8]) -> String {
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// The URL-safe alphabet without padding (JWTs).
    pub fn encode_url(input: &[u8]) -> String {
        encode(input).trim_end_matches('=').replace('+', "-").replace('/', "_")
    }

    /// Standard alphabet, padded; `None` on anything else.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.trim_end_matches('=');
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in text.bytes() {
            acc = (acc << 6) | T.iter().position(|&t| t == c)? as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }
}

/// Poll `GET /v2/` until the registry answers (200, or 401 with auth; 400
/// from a TLS registry to plain HTTP).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    wait_until(child, || matches!(http_status(port, "/v2/"), Some(200 | 400 | 401)))
}

/// Poll `ready` for up to 15 s while `child` runs; false if it exits or
/// never gets ready (the caller then kills it and may try another port).
fn wait_until(child: &mut Child, ready: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `GET path` on 127.0.0.1:`port` (HTTP/1.0): status and body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer[split + 4..].to_vec()))
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Write a one-layer OCI layout (tag `v1`) with the lab's `mkimage.py`;
/// returns the manifest digest.
pub fn make_image(dir: &Path, text: &str) -> String {
    let out = run(Command::new("python3").arg(lab_dir().join("mkimage.py")).arg(dir).arg(text));
    out.trim().to_string()
}

/// A two-platform index and its children.
#[derive(Debug, Clone)]
pub struct MultiArch {
    /// The index digest.
    pub index: String,
    /// `(platform, manifest digest)` for each child, in index order.
    pub children: Vec<(String, String)>,
}

/// Write an OCI layout (tag `v1`) holding an index of two tiny images,
/// linux/amd64 and linux/arm64/v8, each made by `mkimage.py`.
pub fn make_multiarch(dir: &Path, text: &str) -> MultiArch {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs dir");
    let mut entries = Vec::new();
    let mut children = Vec::new();
    for (platform, os, arch, variant) in [("linux/amd64", "linux", "amd64", None), ("linux/arm64/v8", "linux", "arm64", Some("v8"))] {
        let part = tempfile::tempdir().expect("tempdir");
        let digest = make_image(part.path(), &format!("{text} for {platform}"));
        for entry in std::fs::read_dir(part.path().join("blobs/sha256")).expect("read blobs") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), blobs.join(entry.file_name())).expect("copy blob");
        }
        let size = std::fs::metadata(blobs.join(digest.trim_start_matches("sha256:"))).expect("manifest blob").len();
        let variant = variant.map(|v| format!(r#","variant":"{v}""#)).unwrap_or_default();
        entries.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"platform":{{"architecture":"{arch}","os":"{os}"{variant}}}}}"#
        ));
        children.push((platform.to_string(), digest));
    }
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        entries.join(",")
    );
    let index_digest = sha256_hex(index.as_bytes());
    std::fs::write(blobs.join(&index_digest), &index).expect("write index");
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:{index_digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}}]}}"#,
            index.len()
        ),
    )
    .expect("write index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("write oci-layout");
    MultiArch {
        index: format!("sha256:{index_digest}"),
        children,
    }
}

/// Hex SHA-256 via `sha256sum` (the test bed avoids crypto crates).
fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().expect("stdin").write_all(data).expect("write");
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read");
    child.wait().expect("wait");
    out.split_whitespace().next().expect("digest").to_string()
}

/// How the lab signs an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    /// cosign's legacy `sha256-<hex>.sig` tag.
    Legacy,
    /// A Sigstore v0.3 bundle attached as an OCI 1.1 referrer (tag-schema
    /// fallback on registries without the referrers API).
    Bundle,
}

/// The lab's local Sigstore (`node mockserver.js`), killed on drop.
pub struct Lab {
    _service: NodeService,
    url: String,
    dir: tempfile::TempDir,
}

/// A Node.js server started as `node SCRIPT --out DIR OPTIONS…` in `cwd`,
/// which prints one JSON ready line; killed on drop.
pub(crate) struct NodeService {
    child: Child,
    /// The ready line.
    pub(crate) ready: serde_json::Value,
    /// Kept open so a later write by the server never meets a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl NodeService {
    pub(crate) fn start(cwd: &Path, script: &str, out: &Path, options: &[&str]) -> Self {
        let mut child = Command::new(require("node"))
            .arg(cwd.join(script))
            .arg("--out")
            .arg(out)
            .args(options)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the ready line");
        let ready: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                panic!("{script} did not print its ready line ({e}): {line:?}");
            }
        };
        let url = ready["url"].as_str().unwrap_or_default();
        assert!(url.starts_with("http://127.0.0.1:"), "{script} must listen on loopback: {url}");
        Self { child, ready, _stdout: stdout }
    }
}

impl Drop for NodeService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Lab {
    /// Start the lab's services on a free 127.0.0.1 port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Start the lab's services with extra `mockserver.js` options, e.g.
    /// `["--tlog-noise", "3"]` so proofs fetched later differ from the ones
    /// made when signing.
    pub fn start_with(options: &[&str]) -> Self {
        let lab = lab_dir();
        assert!(lab.join("node_modules/@sigstore/mock").exists(), "sigstore-lab is not installed: {INSTALL_HINT}");
        let dir = tempfile::Builder::new().prefix("airlock-lab-").tempdir().expect("tempdir");
        let service = NodeService::start(&lab, "mockserver.js", dir.path(), options);
        let url = service.ready["url"].as_str().expect("url in ready line").to_string();
        Self { _service: service, url, dir }
    }

    /// The services' base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The directory holding `trusted_root.json` and friends.
    pub fn trust_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sign `image` (`127.0.0.1:PORT/repo@sha256:...`) keylessly; returns
    /// `oci-sign.js`'s JSON result. In bundle mode the lab attests SLSA
    /// provenance v1.
    pub fn sign_image(&self, image: &str, mode: SignMode, tsa: bool) -> serde_json::Value {
        self.sign_image_as(image, mode, tsa, None)
    }

    /// [`Self::sign_image`], choosing the in-toto predicate type of a bundle
    /// (e.g. cosign v3's `https://sigstore.dev/cosign/sign/v1`, which makes
    /// the bundle an image signature).
    pub fn sign_image_as(&self, image: &str, mode: SignMode, tsa: bool, predicate_type: Option<&str>) -> serde_json::Value {
        let mut cmd = Command::new(require("node"));
        cmd.arg(lab_dir().join("oci-sign.js"))
            .current_dir(lab_dir())
            .args(["--url", &self.url, "--image", image])
            .arg("--trust")
            .arg(self.dir.path())
            .args(["--mode", match mode {
                SignMode::Legacy => "legacy",
                SignMode::Bundle => "bundle",
            }]);
        if tsa {
            cmd.arg("--tsa");
        }
        if let Some(predicate_type) = predicate_type {
            cmd.args(["--predicate-type", predicate_type]);
        }
        let out = run(&mut cmd);
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("oci-sign.js output ({e}): {out}"))
    }
}

/// Peak resident memory of this process so far (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// An OCI layout in `dir` holding one image of `layers` pseudo-random
/// layers of `size` bytes, tagged `v1`; returns its manifest digest.
pub fn make_large_image(dir: &Path, layers: usize, size: usize) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let write = |bytes: &[u8]| {
        let hex = oci::Digest::sha256_of(bytes).hex();
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        format!("sha256:{hex}")
    };
    let mut descriptors = Vec::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..layers {
        let mut bytes = Vec::with_capacity(size);
        while bytes.len() < size {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        let digest = write(&bytes);
        descriptors.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size}));
    }
    let config = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})).unwrap();
    let config_digest = write(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let digest = write(&manifest);
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]})).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    digest
}
