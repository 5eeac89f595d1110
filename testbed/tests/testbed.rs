//! The test bed works: registries start, images go in, the lab signs.

use testbed::{Lab, Registry, SignMode};

#[test]
fn registry_with_pushed_and_signed_images() {
    let registry = Registry::start();
    let digest = registry.push_image("test/app:v1", "hello");
    assert!(digest.starts_with("sha256:"), "{digest}");
    let multi = registry.push_multiarch("test/multi:v1", "multi");
    assert_eq!(multi.children.len(), 2);
    // The index went in byte for byte (skopeo --preserve-digests).
    let out = tempfile::tempdir().unwrap();
    registry.skopeo_pull(&format!("test/multi@{}", multi.index), &format!("oci:{}:x", out.path().display()));
    assert!(out.path().join("blobs/sha256").join(multi.index.trim_start_matches("sha256:")).exists());

    let lab = Lab::start();
    let legacy = lab.sign_image(&format!("{}/test/app@{digest}", registry.host()), SignMode::Legacy, false);
    assert_eq!(legacy["mode"], "legacy", "{legacy}");
    let bundle = lab.sign_image(&format!("{}/test/app@{digest}", registry.host()), SignMode::Bundle, false);
    assert_eq!(bundle["mode"], "bundle", "{bundle}");
    assert!(lab.trust_dir().join("trusted_root.json").exists());
}

#[test]
fn registry_with_basic_auth_takes_pushes_with_credentials() {
    let registry = Registry::start_with_basic_auth("alice", "wonderland");
    let digest = registry.push_image("test/private:v1", "secret");
    assert!(digest.starts_with("sha256:"));
    let dir = tempfile::tempdir().unwrap();
    let config = registry.write_docker_config(dir.path());
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("YWxpY2U6d29uZGVybGFuZA=="), "{text}");
}

#[test]
fn registries_with_token_auth_and_tls_take_pushes() {
    let tokens = testbed::TokenServer::start("tina", "t0ken-pass", "refresh-me");
    let ca = testbed::TestCa::new("airlock test CA");
    let registry = Registry::builder().token_auth(&tokens).tls(&ca).start();
    assert!(registry.url().starts_with("https://"));
    let digest = registry.push_image("test/tokened:v1", "behind tokens");
    assert!(digest.starts_with("sha256:"));
    // skopeo went through the token server with basic credentials.
    let requests = tokens.requests();
    assert!(requests.iter().any(|r| r.issued && r.grant == testbed::Grant::Basic("tina".into())), "{requests:?}");
}

#[test]
fn olareg_lists_referrers_and_the_proxy_logs_what_it_forwards() {
    let olareg = testbed::Olareg::start();
    let digest = olareg.push_image("test/app:v1", "app");
    assert!(olareg.tags("test/app").contains(&"v1".to_string()));
    assert!(olareg.referrers("test/app", &digest).is_empty());
    let proxy = testbed::Proxy::start();
    // A forward-proxy request, as HTTP clients send them.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(proxy.url().trim_start_matches("http://")).unwrap();
    write!(stream, "GET http://{}/v2/ HTTP/1.0\r\n\r\n", olareg.host()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(proxy.requests_to(&olareg.host()).len(), 1, "{:?}", proxy.requests_to(&olareg.host()));
}
