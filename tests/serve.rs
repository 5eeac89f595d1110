//! `airlock serve` driven as an operator would, with skopeo as the client,
//! and crane and oras (peers built by scripts/install-peers.sh) copying
//! images out of it.

mod common;
#[path = "../verifier/tests/support/mod.rs"]
mod support;

use common::{airlock, tempdir, Run};
use sha2::Digest as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::{noise, BundleWriter};

/// A running `airlock serve`, killed on drop.
struct Server {
    child: Child,
    address: String,
    /// The admit-all policy serve reads; removed with the server.
    _scratch: tempfile::TempDir,
}

impl Server {
    /// `airlock serve ARGS`; a bundle source is verified first under a
    /// policy that admits every image.
    fn start(args: &[&str]) -> Self {
        let scratch = tempdir();
        let verify = if args[0].starts_with("dir:") { Vec::new() } else { common::admit_all(scratch.path()) };
        let mut child = airlock().arg("serve").args(args).args(&verify).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if line.is_empty() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("airlock serve did not start: {stderr}");
        }
        let address = line.split("://").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        Self { child, address, _scratch: scratch }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request; returns (status, headers, body).
fn request(address: &str, method: &str, path: &str, auth: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = auth.map(|a| format!("Authorization: Basic {a}\r\n")).unwrap_or_default();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), response[split + 4..].to_vec())
}

fn skopeo(args: &[&str]) -> Run {
    Run::from_output(Command::new("skopeo").args(args).output().unwrap())
}

struct Fixture {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    app: support::Made,
    multi: oci::RawManifest,
    referrer: oci::RawManifest,
}

fn fixture() -> Fixture {
    let dir = tempdir();
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let app = w.image("app", vec![noise(1, 100_000), noise(2, 5_000)]);
    let amd = w.image("amd", vec![noise(3, 5_000)]);
    let arm = w.image("arm", vec![noise(4, 5_000)]);
    w.add_image("ghcr.io/org/app:v1", &app);
    // A registry with a port: its name has a colon no repository name may have.
    w.add_image("127.0.0.1:5000/team/tool:v3", &amd);
    let multi = w.add_index("quay.io/team/multi:v2", &[("linux/amd64", &amd), ("linux/arm64/v8", &arm)]);
    let publisher = keys::SigningKey::generate().unwrap();
    w.add_cosign_signature("ghcr.io/org/app:v1", app.digest(), &publisher, "ghcr.io/org/app");
    let app_raw = app.manifest.clone();
    let referrer = w.add_referrer("ghcr.io/org/app:v1", &app_raw, "application/vnd.example.sbom+json", b"{}");
    let bundle = w.finish(&[]);
    Fixture { _dir: dir, bundle, app, multi, referrer }
}

#[test]
fn skopeo_pulls_a_served_bundle_byte_for_byte_and_cannot_push() {
    let f = fixture();
    let server = Server::start(&[f.bundle.to_str().unwrap()]);
    let a = &server.address;
    assert!(a.starts_with("127.0.0.1:"), "{a}");

    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/ghcr.io/org/app:v1")]);
    assert_eq!(raw.code, 0, "{}", raw.stderr);
    assert_eq!(raw.stdout.as_bytes(), f.app.manifest.bytes());
    let out = tempdir();
    let r = skopeo(&["copy", "--all", "--quiet", "--src-tls-verify=false", "--preserve-digests", &format!("docker://{a}/quay.io/team/multi:v2"), &format!("oci:{}:v2", out.path().display())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for entry in std::fs::read_dir(out.path().join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let ours = std::fs::read(f.bundle.join("blobs/sha256").join(entry.file_name())).unwrap();
        assert!(ours == std::fs::read(entry.path()).unwrap(), "{:?} differs", entry.file_name());
    }
    // By digest, and the cosign signature where cosign looks.
    let by_digest = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/quay.io/team/multi@{}", f.multi.digest())]);
    assert_eq!(by_digest.stdout.as_bytes(), f.multi.bytes());
    let sig_tag = oci::Tag::cosign_for(f.app.digest(), "sig").unwrap();
    assert_eq!(skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/ghcr.io/org/app:{sig_tag}")]).code, 0);
    // Named as load names it with no prefix.
    let ported = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/127.0.0.1-5000/team/tool:v3")]);
    assert_eq!(ported.code, 0, "{}", ported.stderr);

    // Tags, catalog, HEAD, referrers with and without a filter.
    let (status, _, body) = request(a, "GET", "/v2/ghcr.io/org/app/tags/list", None);
    assert_eq!(status, 200);
    let tags: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tags["name"], "ghcr.io/org/app");
    assert_eq!(tags["tags"], serde_json::json!([sig_tag.as_str(), "v1"]));
    let (_, headers, body) = request(a, "GET", "/v2/ghcr.io/org/app/tags/list?n=1", None);
    assert!(headers.contains("link: </v2/ghcr.io/org/app/tags/list?n=1&last="), "{headers}");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["tags"].as_array().unwrap().len(), 1);
    let (_, _, body) = request(a, "GET", "/v2/_catalog", None);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["repositories"], serde_json::json!(["127.0.0.1-5000/team/tool", "ghcr.io/org/app", "quay.io/team/multi"]));
    let (status, headers, body) = request(a, "HEAD", "/v2/ghcr.io/org/app/manifests/v1", None);
    assert_eq!(status, 200);
    assert!(headers.contains(&format!("docker-content-digest: {}", f.app.digest())), "{headers}");
    assert!(headers.contains("content-type: application/vnd.oci.image.manifest.v1+json"), "{headers}");
    assert!(body.is_empty());
    let (status, headers, _) = request(a, "HEAD", &format!("/v2/ghcr.io/org/app/blobs/{}", f.app.layers[0].digest), None);
    assert_eq!(status, 200);
    assert!(headers.contains(&format!("content-length: {}", f.app.layers[0].size)), "{headers}");
    let (status, headers, body) = request(a, "GET", &format!("/v2/ghcr.io/org/app/referrers/{}", f.app.digest()), None);
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/vnd.oci.image.index.v1+json"));
    let index: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(index["manifests"][0]["digest"], f.referrer.digest().to_string());
    assert_eq!(index["manifests"][0]["artifactType"], "application/vnd.example.sbom+json");
    let (_, headers, body) = request(a, "GET", &format!("/v2/ghcr.io/org/app/referrers/{}?artifactType=application%2Fother", f.app.digest()), None);
    assert!(headers.contains("oci-filters-applied: artifacttype"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["manifests"], serde_json::json!([]));
    // The filter is percent-decoded (`%2F` is `/`, `%2B` is `+`) before it is compared.
    let (_, _, body) = request(a, "GET", &format!("/v2/ghcr.io/org/app/referrers/{}?artifactType=application%2Fvnd.example.sbom%2Bjson", f.app.digest()), None);
    let index: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(index["manifests"][0]["digest"], f.referrer.digest().to_string(), "{index}");

    // Scoped per repository; unknown names and digests are the spec's errors.
    let (status, _, body) = request(a, "GET", &format!("/v2/quay.io/team/multi/blobs/{}", f.app.layers[0].digest), None);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("BLOB_UNKNOWN"));
    let (status, _, body) = request(a, "GET", "/v2/nope/manifests/v1", None);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("NAME_UNKNOWN"));
    let (status, _, body) = request(a, "GET", "/v2/ghcr.io/org/app/blobs/sha256:xyz", None);
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("DIGEST_INVALID"));
    let (status, _, _) = request(a, "GET", "/v2/ghcr.io/org/app/manifests/../../../../etc/passwd", None);
    assert_eq!(status, 404);

    // Read-only: every write is refused, by the spec's error and by skopeo.
    for (method, path) in [("POST", "/v2/ghcr.io/org/app/blobs/uploads/"), ("PUT", "/v2/ghcr.io/org/app/manifests/v9"), ("DELETE", &format!("/v2/ghcr.io/org/app/manifests/{}", f.app.digest())), ("PATCH", "/v2/ghcr.io/org/app/blobs/uploads/x")] {
        let (status, headers, body) = request(a, method, path, None);
        assert_eq!(status, 405, "{method} {path}");
        assert!(String::from_utf8_lossy(&body).contains("UNSUPPORTED"));
        assert!(headers.contains("allow: get, head"));
    }
    let r = skopeo(&["copy", "--quiet", "--dest-tls-verify=false", &format!("oci:{}:v2", out.path().display()), &format!("docker://{a}/ghcr.io/org/app:pushed")]);
    assert_ne!(r.code, 0, "a push succeeded");
}

#[test]
fn basic_auth_requires_the_right_password() {
    let f = fixture();
    let dir = tempdir();
    let htpasswd = dir.path().join("htpasswd");
    let line = testbed::run(Command::new("htpasswd").args(["-nbB", "-C", "4", "reader", "pull-secret"]));
    std::fs::write(&htpasswd, line).unwrap();
    let server = Server::start(&[f.bundle.to_str().unwrap(), "--htpasswd", htpasswd.to_str().unwrap()]);
    let a = &server.address;
    let image = format!("docker://{a}/ghcr.io/org/app:v1");
    let (status, headers, _) = request(a, "GET", "/v2/", None);
    assert_eq!(status, 401);
    assert!(headers.contains("www-authenticate: basic realm=\"airlock\""), "{headers}");
    assert_ne!(skopeo(&["inspect", "--raw", "--tls-verify=false", &image]).code, 0);
    let wrong = skopeo(&["inspect", "--raw", "--tls-verify=false", "--creds", "reader:guess", &image]);
    assert_ne!(wrong.code, 0);
    let right = skopeo(&["inspect", "--raw", "--tls-verify=false", "--creds", "reader:pull-secret", &image]);
    assert_eq!(right.code, 0, "{}", right.stderr);
    assert_eq!(right.stdout.as_bytes(), f.app.manifest.bytes());

    // Anything but bcrypt is refused at startup.
    let weak = dir.path().join("weak");
    std::fs::write(&weak, testbed::run(Command::new("htpasswd").args(["-nbm", "reader", "pull-secret"]))).unwrap();
    let r = Run::from_output(airlock().arg("serve").arg(&f.bundle).arg("--htpasswd").arg(&weak).output().unwrap());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("only bcrypt"), "{}", r.stderr);
}

#[test]
fn tls_with_a_self_signed_certificate_and_no_plain_http_beyond_loopback() {
    let f = fixture();
    let dir = tempdir();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    testbed::run(Command::new("openssl").args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]).arg("-keyout").arg(&key).arg("-out").arg(&cert));
    let server = Server::start(&[f.bundle.to_str().unwrap(), "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&cert, certs.join("ca.crt")).unwrap();
    // Verified TLS: skopeo trusts only the test's certificate.
    let r = skopeo(&["inspect", "--raw", "--cert-dir", certs.to_str().unwrap(), &format!("docker://{}/ghcr.io/org/app:v1", server.address)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.as_bytes(), f.app.manifest.bytes());
    let untrusted = skopeo(&["inspect", "--raw", &format!("docker://{}/ghcr.io/org/app:v1", server.address)]);
    assert_ne!(untrusted.code, 0, "TLS was not verified");

    // Beyond loopback without TLS: refused before binding.
    let r = Run::from_output(airlock().arg("serve").arg(&f.bundle).args(["--listen", "0.0.0.0:0"]).args(common::admit_all(tempdir().path())).output().unwrap());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("needs TLS"), "{}", r.stderr);
}

#[test]
fn serves_a_store_written_by_load_and_refuses_a_tampered_bundle() {
    let f = fixture();
    let dir = tempdir();
    let store = dir.path().join("store");
    let r = Run::from_output(airlock().arg("load").arg(&f.bundle).arg("--to").arg(format!("dir:{}", store.display())).args(common::admit_all(dir.path())).output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let server = Server::start(&[&format!("dir:{}", store.display())]);
    let a = &server.address;
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/quay.io/team/multi:v2")]);
    assert_eq!(raw.stdout.as_bytes(), f.multi.bytes());
    let (_, _, body) = request(a, "GET", "/v2/ghcr.io/org/app/tags/list", None);
    let tags = String::from_utf8_lossy(&body).into_owned();
    assert!(tags.contains(&oci::Tag::referrers_for(f.app.digest()).unwrap().to_string()) && tags.contains("\"v1\""), "{tags}");
    let (_, _, body) = request(a, "GET", &format!("/v2/ghcr.io/org/app/referrers/{}", f.app.digest()), None);
    assert!(String::from_utf8_lossy(&body).contains(&f.referrer.digest().to_string()));
    drop(server);

    let tampered = f.bundle.join("blobs/sha256").join(f.app.layers[0].digest.hex());
    let mut bytes = std::fs::read(&tampered).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tampered, bytes).unwrap();
    let r = Run::from_output(airlock().arg("serve").arg(&f.bundle).args(common::admit_all(dir.path())).output().unwrap());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("did not verify: not served") && r.stderr.contains("digest mismatch"), "{}", r.stderr);
    let _ = Path::new("");
}

/// `PEER ARGS` (a peer from scripts/install-peers.sh); its standard output.
fn peer_run(name: &str, args: &[&str]) -> String {
    testbed::run(Command::new(testbed::peer(name)).args(args))
}

#[test]
fn crane_and_oras_copy_images_out_of_serve_digest_for_digest() {
    let f = fixture();
    let server = Server::start(&[f.bundle.to_str().unwrap()]);
    let a = &server.address;
    let target = testbed::Olareg::start();
    let t = target.host();
    let crane = |args: &[&str]| peer_run("crane", &[&["--insecure"], args].concat());
    let sig_tag = oci::Tag::cosign_for(f.app.digest(), "sig").unwrap();
    let served_sig = crane(&["digest", &format!("{a}/ghcr.io/org/app:{sig_tag}")]);
    for (served, copied, digest) in [
        ("ghcr.io/org/app:v1".to_string(), "crane/app:v1".to_string(), f.app.digest().to_string()),
        ("quay.io/team/multi:v2".into(), "crane/multi:v2".into(), f.multi.digest().to_string()),
        (format!("ghcr.io/org/app:{sig_tag}"), format!("crane/app:{sig_tag}"), served_sig.trim().to_string()),
    ] {
        crane(&["copy", &format!("{a}/{served}"), &format!("{t}/{copied}")]);
        assert_eq!(crane(&["digest", &format!("{t}/{copied}")]).trim(), digest, "crane copy {served}");
    }
    // Every platform child came along, whole.
    let index: serde_json::Value = serde_json::from_str(&crane(&["manifest", &format!("{t}/crane/multi:v2")])).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    // (`crane validate` would gunzip the fixture's layers, which are noise.)
    for child in index["manifests"].as_array().unwrap() {
        let manifest = crane(&["manifest", &format!("{t}/crane/multi@{}", child["digest"].as_str().unwrap())]);
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let blobs = manifest["layers"].as_array().unwrap().iter().chain([&manifest["config"]]);
        for blob in blobs.map(|b| b["digest"].as_str().unwrap()) {
            let out = Command::new(testbed::peer("crane")).args(["--insecure", "blob", &format!("{t}/crane/multi@{blob}")]).output().unwrap();
            assert!(out.status.success(), "crane blob {blob}: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))), blob, "crane blob");
        }
    }
    // A source registry with a port: served with `:` turned into `-`.
    let served_tool = crane(&["digest", &format!("{a}/127.0.0.1-5000/team/tool:v3")]);
    crane(&["copy", &format!("{a}/127.0.0.1-5000/team/tool:v3"), &format!("{t}/crane/tool:v3")]);
    assert_eq!(crane(&["digest", &format!("{t}/crane/tool:v3")]), served_tool, "crane copy of a port-named repository");
    assert_eq!(served_tool.trim(), index["manifests"][0]["digest"].as_str().unwrap(), "tool:v3 is the amd64 image");

    // oras copies the referrers too; the target's referrers API lists them.
    let oras_copied = format!("{t}/oras/app:v1");
    peer_run("oras", &["copy", "-r", "--from-plain-http", "--to-plain-http", &format!("{a}/ghcr.io/org/app:v1"), &oras_copied]);
    let fetched = peer_run("oras", &["manifest", "fetch", "--plain-http", &oras_copied]);
    assert_eq!(fetched.as_bytes(), f.app.manifest.bytes(), "oras manifest fetch");
    assert_eq!(target.referrers("oras/app", &f.app.digest().to_string()), vec![f.referrer.digest().to_string()]);
}
