//! Registries as operators have them, driven through `bundle create`,
//! `load` and `verify-image`: credentials from docker's config (credential
//! helpers, identity tokens), token authentication, HTTPS behind a private
//! CA, proxies from the environment. Real components on 127.0.0.1:
//! docker-registry with htpasswd, with a token server, with TLS; tinyproxy;
//! helper executables as docker runs them.

mod common;
#[path = "../verifier/tests/support/mod.rs"]
mod support;

use common::{admit_all, airlock, site_trusted_root, tempdir, Run, CREATED};
use std::path::{Path, PathBuf};
use std::process::Command;
use testbed::{write_credential_helper, Grant, Proxy, Registry, TestCa, TokenServer};

const KEY_PASSWORD: &str = "site-key-password";
const PROXY_VARIABLES: [&str; 8] = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"];

/// An `airlock` command with no docker config, proxy or CA from the
/// environment of whoever runs the tests.
fn clean_airlock() -> Command {
    let mut cmd = airlock();
    cmd.env("DOCKER_CONFIG", "/nonexistent").env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    for variable in PROXY_VARIABLES {
        cmd.env_remove(variable);
    }
    cmd
}

fn run(cmd: &mut Command) -> Run {
    Run::from_output(cmd.output().expect("run airlock"))
}

/// `airlock bundle create IMAGE --out OUT` with the public-good trusted
/// root (the images are unsigned: nothing to fetch from Rekor), plus `args`.
fn bundle_create(image: &str, out: &Path, args: &[&str]) -> Command {
    let mut cmd = clean_airlock();
    cmd.args(["bundle", "create", image, "--created", CREATED, "--output", "json", "--out"])
        .arg(out)
        .arg("--trusted-root")
        .arg(site_trusted_root())
        .args(args);
    cmd
}

/// `airlock load BUNDLE --to TO`, verified under a policy that admits every
/// image, re-signed with `key`, plus `args`.
fn load(bundle: &Path, to: &str, key: &Path, args: &[&str]) -> Command {
    let mut cmd = clean_airlock();
    cmd.arg("load")
        .arg(bundle)
        .args(["--to", to, "--output", "json", "--resign-key"])
        .arg(key)
        .args(admit_all(&tempdir().keep()))
        .args(args)
        .env("COSIGN_PASSWORD", KEY_PASSWORD);
    cmd
}

fn verify_image(reference: &str, public: &Path, args: &[&str]) -> Command {
    let mut cmd = clean_airlock();
    cmd.args(["verify-image", reference, "--key"]).arg(public).args(args);
    cmd
}

/// `airlock key generate` into `dir/site.{key,pub}`.
fn site_key(dir: &Path) -> (PathBuf, PathBuf) {
    let r = run(airlock().args(["key", "generate", "--output-key-prefix"]).arg(dir.join("site")).env("COSIGN_PASSWORD", KEY_PASSWORD));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir.join("site.key"), dir.join("site.pub"))
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `PATH` with `dir` first.
fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// The `TARGET@digest` a load mapping file gives for `source`.
fn mapped(mapping: &Path, source: &str) -> String {
    let text = std::fs::read_to_string(mapping).unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{source} "))).unwrap_or_else(|| panic!("{source} not in {text}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn credential_helpers_give_every_registry_command_its_credentials_and_their_output_never_shows() {
    let password = "Helper-S3cret-pass";
    let registry = Registry::start_with_basic_auth("operator", password);
    let host = registry.host();
    registry.push_image("test/app:v1", "app");
    let dir = tempdir();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let answer = format!(r#"{{"ServerURL":"{host}","Username":"operator","Secret":"{password}"}}"#);
    write_credential_helper(&bin, "airlock-test", &[(&host, &answer)]);
    let path = path_with(&bin);
    let image = format!("{host}/test/app:v1");
    let no_secret = |r: &Run| {
        assert!(!r.stdout.contains(password) && !r.stderr.contains(password), "a secret was printed:\n{}\n{}", r.stdout, r.stderr);
    };

    // credsStore: docker's config after `docker login` with a store; the
    // auths entry is the empty object docker writes beside it.
    let store = write(&dir.path().join("store.json"), &format!(r#"{{"auths":{{"{host}":{{}}}},"credsStore":"airlock-test"}}"#));
    let bundle = dir.path().join("bundle");
    let r = run(bundle_create(&image, &bundle, &["--insecure-registry", &host, "--registry-config", store.to_str().unwrap()]).env("PATH", &path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    no_secret(&r);
    // Asked once for the host, with the host as server URL, although the
    // run made many requests.
    assert_eq!(std::fs::read_to_string(bin.join("airlock-test.calls")).unwrap(), format!("{host}\n"));

    // credHelpers beat credsStore (here a helper that is not installed):
    // load pushes with them, verify-image reads with them.
    let helpers = write(
        &dir.path().join("helpers.json"),
        &format!(r#"{{"credsStore":"airlock-absent","credHelpers":{{"{host}":"airlock-test"}}}}"#),
    );
    let (key, public) = site_key(dir.path());
    let mapping = dir.path().join("mapping.txt");
    let config = ["--insecure-registry", &host, "--registry-config", helpers.to_str().unwrap()];
    let r = run(load(&bundle, &format!("{host}/mirror"), &key, &config).args(["--mapping", mapping.to_str().unwrap()]).env("PATH", &path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    no_secret(&r);
    let target = mapped(&mapping, &image);
    let r = run(verify_image(&target, &public, &config).env("PATH", &path));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // What cannot be used stops the command, naming the registry.
    // A helper that fails, printing a secret in its message.
    let broken = write_credential_helper(&bin, "airlock-broken", &[]);
    std::fs::write(broken, format!("#!/bin/sh\necho 'token {password} expired'\nexit 1\n")).unwrap();
    for (name, expect) in [("airlock-absent", "is not installed"), ("airlock-broken", "failed")] {
        let config = write(&dir.path().join(format!("{name}.json")), &format!(r#"{{"credHelpers":{{"{host}":"{name}"}}}}"#));
        for cmd in [
            bundle_create(&image, &dir.path().join(name), &["--insecure-registry", &host, "--registry-config", config.to_str().unwrap()]),
            verify_image(&target, &public, &["--insecure-registry", &host, "--registry-config", config.to_str().unwrap()]),
        ] {
            let mut cmd = cmd;
            let r = run(cmd.env("PATH", &path));
            assert_eq!(r.code, 2, "{name}: {}", r.stderr);
            assert!(r.stderr.contains(&format!("registry {host}")) && r.stderr.contains(&format!("docker-credential-{name}")), "{}", r.stderr);
            assert!(r.stderr.contains(expect), "{}", r.stderr);
            no_secret(&r);
        }
    }
    // A helper with nothing for the host: anonymous, as docker does, which
    // this registry refuses: no silent success.
    let other = write(&dir.path().join("other.json"), r#"{"credsStore":"airlock-test"}"#);
    write_credential_helper(&bin, "airlock-test", &[("elsewhere.example", &answer)]);
    let r = run(bundle_create(&image, &dir.path().join("anon"), &["--insecure-registry", &host, "--registry-config", other.to_str().unwrap()]).env("PATH", &path));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("401") || r.stderr.contains("authorized"), "{}", r.stderr);
    // An explicit --registry-config that does not exist is an error.
    let r = run(&mut bundle_create(&image, &dir.path().join("none"), &["--registry-config", "/nonexistent/config.json"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/nonexistent/config.json"), "{}", r.stderr);
}

#[test]
fn token_authentication_with_passwords_identity_tokens_and_mount_scopes() {
    let refresh = "Refresh-Tok3n-value";
    let tokens = TokenServer::start("tina", "T0ken-pass", refresh);
    let registry = Registry::builder().token_auth(&tokens).start();
    let host = registry.host();
    registry.push_image("test/app:v1", "app");
    let image = format!("{host}/test/app:v1");
    let dir = tempdir();
    let issued = |grant: Grant, scope: &str| {
        tokens.requests().iter().any(|r| r.issued && r.grant == grant && r.scopes.iter().any(|s| s == scope))
    };

    // auths with user:password: GET the realm with basic auth.
    let basic = write(&dir.path().join("basic.json"), &format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, base64("tina:T0ken-pass")));
    let r = run(&mut bundle_create(&image, &dir.path().join("b1"), &["--insecure-registry", &host, "--registry-config", basic.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(issued(Grant::Basic("tina".into()), "repository:test/app:pull"), "{:?}", tokens.requests());

    // auths with an identity token: the OAuth2 refresh-token POST.
    let identity = write(&dir.path().join("identity.json"), &format!(r#"{{"auths":{{"{host}":{{"identitytoken":"{refresh}"}}}}}}"#));
    let r = run(&mut bundle_create(&image, &dir.path().join("b2"), &["--insecure-registry", &host, "--registry-config", identity.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(issued(Grant::RefreshToken, "repository:test/app:pull"), "{:?}", tokens.requests());
    assert!(!r.stderr.contains(refresh) && !r.stdout.contains(refresh));

    // An identity token from a credential helper (user name <token>),
    // pushing: two images sharing a layer in two repositories, so the
    // second repository mounts it, with a token for both.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_credential_helper(&bin, "airlock-token", &[(&host, &format!(r#"{{"ServerURL":"{host}","Username":"<token>","Secret":"{refresh}"}}"#))]);
    let helper = write(&dir.path().join("helper.json"), r#"{"credsStore":"airlock-token"}"#);
    let mut writer = support::BundleWriter::new(&dir.path().join("shared"));
    let a = writer.image("a", vec![support::noise(1, 60_000)]);
    let b = writer.image("b", vec![support::noise(1, 60_000), support::noise(2, 1_000)]);
    writer.add_image("ghcr.io/org/a:v1", &a);
    writer.add_image("ghcr.io/org/b:v1", &b);
    let shared = writer.finish(&[]);
    let (key, _) = site_key(dir.path());
    let r = run(load(&shared, &format!("{host}/mirror"), &key, &["--insecure-registry", &host, "--registry-config", helper.to_str().unwrap()]).env("PATH", path_with(&bin)));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json()["report"]["totals"]["blobsMounted"].as_u64().unwrap_or(0) >= 1, "{}", r.stdout);
    let mounted = tokens.requests().iter().any(|t| {
        t.issued
            && t.grant == Grant::RefreshToken
            && t.scopes.iter().any(|s| s == "repository:mirror/ghcr.io/org/b:pull,push")
            && t.scopes.iter().any(|s| s == "repository:mirror/ghcr.io/org/a:pull")
    });
    assert!(mounted, "no token for the mount: {:?}", tokens.requests());

    // Without credentials: the token server's refusal, said so.
    let r = run(&mut bundle_create(&image, &dir.path().join("b3"), &["--insecure-registry", &host]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refused an anonymous token"), "{}", r.stderr);
    // A wrong identity token: refused, and not printed.
    let wrong = write(&dir.path().join("wrong.json"), &format!(r#"{{"auths":{{"{host}":{{"identitytoken":"Wrong-{refresh}"}}}}}}"#));
    let r = run(&mut bundle_create(&image, &dir.path().join("b4"), &["--insecure-registry", &host, "--registry-config", wrong.to_str().unwrap()]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refused a token for the configured identity token"), "{}", r.stderr);
    assert!(!r.stderr.contains(refresh), "{}", r.stderr);
}

#[test]
fn https_behind_a_private_ca_with_registry_ca_or_ssl_cert_file() {
    let ca = TestCa::new("airlock test private CA");
    let registry = Registry::builder().tls(&ca).start();
    let host = registry.host();
    registry.push_image("test/app:v1", "app");
    let image = format!("{host}/test/app:v1");
    let dir = tempdir();
    let ca_file = ca.cert();
    let ca_flag = ["--registry-ca", ca_file.to_str().unwrap()];

    // The system's trust anchors do not know the CA.
    let r = run(&mut bundle_create(&image, &dir.path().join("untrusted"), &[]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.to_lowercase().contains("certificate"), "{}", r.stderr);

    let bundle = dir.path().join("bundle");
    let r = run(&mut bundle_create(&image, &bundle, &ca_flag));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // SSL_CERT_FILE replaces the system's trust anchors, for every HTTPS
    // client airlock has.
    let r = run(bundle_create(&image, &dir.path().join("env"), &[]).env("SSL_CERT_FILE", &ca_file));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The site's registry behind the same CA: load, then verify-image.
    let (key, public) = site_key(dir.path());
    let mapping = dir.path().join("mapping.txt");
    let r = run(load(&bundle, &format!("{host}/mirror"), &key, &ca_flag).args(["--mapping", mapping.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&mut verify_image(&mapped(&mapping, &image), &public, &ca_flag));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A --registry-ca that holds no certificate: named, before any network.
    let junk = write(&dir.path().join("junk.pem"), "not a certificate\n");
    let r = run(&mut bundle_create(&image, &dir.path().join("junk"), &["--registry-ca", junk.to_str().unwrap()]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("junk.pem"), "{}", r.stderr);
}

#[test]
fn proxies_from_the_environment_carry_registry_traffic_unless_no_proxy_says_otherwise() {
    let proxy = Proxy::start();
    let ca = TestCa::new("airlock test proxy CA");
    let tls = Registry::builder().tls(&ca).start();
    let plain = Registry::start();
    tls.push_image("test/app:v1", "over https");
    plain.push_image("test/app:v1", "over http");
    let dir = tempdir();
    let ca_file = ca.cert();
    let create = |registry: &Registry, out: &str, env: &[(&str, &str)]| {
        let mut cmd = bundle_create(
            &format!("{}/test/app:v1", registry.host()),
            &dir.path().join(out),
            &["--registry-ca", ca_file.to_str().unwrap(), "--insecure-registry", &plain.host()],
        );
        cmd.envs(env.iter().copied());
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };

    // HTTPS: tunnelled with CONNECT.
    create(&tls, "https", &[("HTTPS_PROXY", &proxy.url())]);
    let tunnelled = proxy.requests_to(&tls.host());
    assert!(!tunnelled.is_empty() && tunnelled.iter().all(|r| r.starts_with("CONNECT ")), "{tunnelled:?}");
    // Plain HTTP: forwarded request by request.
    create(&plain, "http", &[("http_proxy", &proxy.url())]);
    let forwarded = proxy.requests_to(&plain.host());
    assert!(forwarded.iter().any(|r| r.starts_with(&format!("GET http://{}/v2/", plain.host()))), "{forwarded:?}");

    // NO_PROXY: straight to the registries.
    let all = [("HTTPS_PROXY", proxy.url()), ("HTTP_PROXY", proxy.url()), ("NO_PROXY", "127.0.0.1".to_string())];
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    create(&tls, "https-direct", &all);
    create(&plain, "http-direct", &all);
    assert_eq!(proxy.requests_to(&tls.host()).len(), tunnelled.len());
    assert_eq!(proxy.requests_to(&plain.host()).len(), forwarded.len());
}
