//! `airlock bundle create`, driven as an operator drives it: a real
//! registry, images signed by the sigstore-lab, flags, exit codes, the
//! JSON and text reports, and the bundle checked by the verifier's reader.

mod common;

use common::{lab_policy, CliEnv, Env, Run};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use testbed::{Registry, SignMode};

fn open(path: &Path) -> verifier::bundle::content::CheckedContent {
    // Kept: an archive's checked content lives in the work directory.
    let work = common::tempdir().keep();
    let options = verifier::bundle::content::OpenOptions {
        transfer_key: None,
        jobs: 2,
        work_dir: &work.join("w"),
    };
    verifier::bundle::content::open(path, &options, &verifier::bundle::content::NoProgress).unwrap()
}

#[test]
fn bundles_into_a_directory_and_reports_what_it_carried() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    env.sign("test/multi", &multi.children[0].1, SignMode::Bundle);
    let out = env.path("bundle");
    let run = env.run(&[&env.reference("test/app:v1"), &env.reference("test/multi:v1"), "--out", out.to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["mediaType"], "application/vnd.airlock.bundle-create.report.v1+json");
    let checked = open(&out);
    assert_eq!(report["bundleId"], checked.manifest.id.to_string());
    assert_eq!(report["output"]["form"], "directory");
    assert_eq!(report["trust"]["kind"], "trusted-root");
    assert_eq!(report["trust"]["tufChainChecked"], false);
    let images = report["images"].as_array().unwrap();
    let app_report = images.iter().find(|i| i["digest"] == app.as_str()).unwrap();
    assert_eq!(app_report["reference"], env.reference("test/app:v1"));
    assert_eq!(app_report["logEntriesFetched"], 1);
    assert_eq!(app_report["evidence"][0]["kind"], "cosign-signature");
    assert_eq!(app_report["evidence"][0]["source"], "tag");
    assert_eq!(app_report["evidence"][0]["layers"][0]["status"], "verified");
    assert_eq!(app_report["selfCheck"]["verified"], 1);
    let multi_report = images.iter().find(|i| i["digest"] == multi.index.as_str()).unwrap();
    assert_eq!(multi_report["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(multi_report["evidence"][0]["kind"], "sigstore-bundle");
    assert_eq!(multi_report["evidence"][0]["subject"], multi.children[0].1.as_str());
    // Progress: plain lines per phase when stderr is not a terminal.
    for phase in ["trust:", "resolve:", "collect:", "fetch:", "verify:", "write:"] {
        assert!(run.stderr.contains(phase), "{phase} missing from:\n{}", run.stderr);
    }

    // The text report, for people, over the same bundle resumed. (Its id
    // changes: Rekor signs a fresh checkpoint for the fresh proof.)
    let text = env.run(&[&env.reference("test/app:v1"), &env.reference("test/multi:v1"), "--out", out.to_str().unwrap()]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("Bundle written:"), "{}", text.stdout);
    assert!(text.stdout.contains(&format!("bundle id:  {}", open(&out).manifest.id)), "{}", text.stdout);
    assert!(text.stdout.contains("reused from an earlier run"), "{}", text.stdout);
    assert!(text.stdout.contains("verified: signer https://github.com/example/repo/"), "{}", text.stdout);
    assert!(text.stdout.contains("no TUF chain was checked"), "{}", text.stdout);
}

#[test]
fn images_file_platforms_sboms_and_split_archives() {
    let env = Env::start();
    let multi = env.registry.push_multiarch("test/multi:v1", "multi");
    env.sign("test/multi", &multi.index, SignMode::Bundle);
    let app = env.registry.push_image("test/app:v1", "app");
    let list = env.path("images.txt");
    std::fs::write(
        &list,
        format!("# what the site needs\n{}\n\n{}\n", env.reference("test/multi:v1"), env.reference("test/app:v1")),
    )
    .unwrap();
    let sbom = common::realdata("sbom/trivy/centos-7-spdx.json");
    let out = env.path("bundle.tar.zst");
    let run = env.run(&[
        "--images",
        list.to_str().unwrap(),
        "--platform",
        "linux/arm64",
        "--sbom",
        &format!("{}={}", sbom.display(), env.reference("test/app:v1")),
        "--split-size",
        "1MiB",
        "--out",
        out.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["output"]["form"], "volumes");
    assert_eq!(report["output"]["compression"], "zstd");
    let volumes = report["output"]["files"].as_array().unwrap();
    assert!(!volumes.is_empty());
    let first = PathBuf::from(volumes[0].as_str().unwrap());
    assert!(first.to_string_lossy().ends_with("bundle.tar.zst.001"));
    let checked = open(&first);
    let manifest = &checked.manifest.manifest;
    let multi_entry = manifest.images.iter().find(|i| i.digest.to_string() == multi.index).unwrap();
    assert_eq!(multi_entry.platforms.len(), 1);
    assert_eq!(multi_entry.platforms[0].platform, "linux/arm64/v8");
    assert_eq!(multi_entry.dropped_platforms[0].platform, "linux/amd64");
    let app_entry = manifest.images.iter().find(|i| i.digest.to_string() == app).unwrap();
    assert_eq!(app_entry.sboms.len(), 1);
    assert_eq!(checked.read_blob(&app_entry.sboms[0].blob, 1 << 24).unwrap(), std::fs::read(&sbom).unwrap());
    let images = report["images"].as_array().unwrap();
    let app_report = images.iter().find(|i| i["digest"] == app.as_str()).unwrap();
    assert!(
        app_report["warnings"][0].as_str().unwrap().contains("no signatures"),
        "an image without evidence is said so: {app_report}"
    );
}

#[test]
fn a_registry_with_basic_auth_is_read_through_the_docker_config_and_the_password_never_shows() {
    let password = "Tr0ub4dor-and-3";
    let env = Env::with_registry(Registry::start_with_basic_auth("operator", password));
    env.registry.push_image("test/app:v1", "app");
    let config_dir = env.path("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    env.registry.write_docker_config(&config_dir);
    let out = env.path("bundle");
    let mut cmd = env.bundle(&[&env.reference("test/app:v1"), "--out", out.to_str().unwrap(), "--output", "json"]);
    cmd.env("DOCKER_CONFIG", &config_dir);
    let run = Run::from_output(cmd.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    open(&out);
    assert!(!run.stdout.contains(password) && !run.stderr.contains(password));

    // A wrong password: could not run, and neither password is printed.
    let wrong = "Wr0ng-h0rse-battery";
    let encoded = base64_encode(&format!("operator:{wrong}"));
    std::fs::write(
        config_dir.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{encoded}"}}}}}}"#, env.registry.host()),
    )
    .unwrap();
    for format in ["text", "json"] {
        let mut cmd = env.bundle(&[&env.reference("test/app:v1"), "--out", env.path("wrong").to_str().unwrap(), "--output", format]);
        cmd.env("DOCKER_CONFIG", &config_dir);
        let run = Run::from_output(cmd.output().unwrap());
        assert_eq!(run.code, 2, "{}", run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains("authorized"), "{all}");
        for secret in [wrong, password, encoded.as_str()] {
            assert!(!all.contains(secret), "secret in the output: {all}");
        }
    }
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn refusals_and_failures_have_their_exit_codes() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    let other = env.registry.push_image("test/app:v2", "other");
    env.sign("test/app", &app, SignMode::Legacy);
    // v2 carries v1's signature: its payload names another image.
    let host = env.registry.host();
    env.registry.skopeo_pull(&format!("test/app:{}.sig", app.replace(':', "-")), &format!("oci:{}:sig", env.path("sig").display()));
    env.registry.skopeo_push(&format!("oci:{}:sig", env.path("sig").display()), &format!("test/app:{}.sig", other.replace(':', "-")));
    let out = env.path("b");
    let out = out.to_str().unwrap();

    let refused = env.run(&[&env.reference("test/app:v2"), "--out", out, "--output", "json"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(refused.json()["mediaType"], "application/vnd.airlock.bundle-create.error.v1+json");
    assert_eq!(refused.json()["created"], false);
    assert_eq!(refused.json()["errorKind"], "refused");
    assert!(refused.stderr.contains("refused") && refused.stderr.contains("payload-digest"), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("{host}/test/app:v2")), "{}", refused.stderr);
    assert!(!Path::new(out).join("airlock/manifest.json").exists());

    let unknown = env.run(&[&env.reference("test/app:nope"), "--out", out]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("test/app:nope") && unknown.stderr.contains("not found"), "{}", unknown.stderr);

    let mismatch = env.run(&[&env.reference("test/app:v1"), "--out", env.path("b.tar.zst").to_str().unwrap(), "--compress", "gzip"]);
    assert_eq!(mismatch.code, 2);
    assert!(mismatch.stderr.contains("--compress gzip contradicts"), "{}", mismatch.stderr);

    let policy = env.run(&[&env.reference("test/app:v1"), "--out", out, "--policy", "no-such-policy.yaml"]);
    assert_eq!(policy.code, 2);
    assert!(policy.stderr.contains("--policy") && policy.stderr.contains("no-such-policy.yaml"), "{}", policy.stderr);

    let nothing = env.run(&["--out", out]);
    assert_eq!(nothing.code, 2, "clap refuses a missing image list: {}", nothing.stderr);

    let bad_key = env.path("key.pem");
    std::fs::write(&bad_key, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n").unwrap();
    let key = env.run(&[&env.reference("test/app:v1"), "--out", out, "--sign-key", bad_key.to_str().unwrap()]);
    assert_eq!(key.code, 2);
    assert!(key.stderr.contains("signing key") && !key.stderr.contains("c2VjcmV0"), "{}", key.stderr);
}

/// Kill a run while it fetches, then run again with the same --out: the
/// blobs the first run verified and stored are reused, not downloaded.
#[test]
fn a_killed_run_resumes_where_it_stopped() {
    let env = Env::start();
    let layers = 12;
    let layer_size = 12 << 20;
    env.registry.push_large_image("test/big:v1", layers, layer_size);
    let out = env.path("bundle");
    let mut child = env
        .bundle(&[&env.reference("test/big:v1"), "--out", out.to_str().unwrap(), "--jobs", "1", "--output", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let blobs = out.join("blobs/sha256");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stored = 0;
    while Instant::now() < deadline {
        stored = std::fs::read_dir(&blobs)
            .map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.metadata().is_ok_and(|m| m.len() == layer_size as u64))).count())
            .unwrap_or(0);
        if stored >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(stored >= 2, "the first run never stored two layers");
    assert!(!out.join("airlock/manifest.json").exists(), "killed before it finished (make the image larger if this fails)");

    let run = env.run(&[&env.reference("test/big:v1"), "--out", out.to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let fetch = &run.json()["blobs"]["fetch"];
    let reused = fetch["reused"].as_u64().unwrap();
    let downloaded = fetch["downloaded"].as_u64().unwrap();
    assert!(reused >= stored as u64, "{fetch}");
    assert_eq!(reused + downloaded, layers as u64 + 1, "every layer and the config, once: {fetch}");
    assert!(run.stderr.contains("reused"), "{}", run.stderr);
    open(&out);
}

/// Kill a run while it writes an archive (in one pass: image layers go
/// from the registry straight into it, never to disk first), then run
/// again with the same --out: the blobs the partial archive (or partial
/// volumes) holds whole are recovered and checked, not downloaded again,
/// and the archive is byte for byte what an uninterrupted run writes.
#[test]
fn a_killed_archive_run_resumes_from_what_it_wrote() {
    let env = Env::start();
    let (layers, layer_size) = (12, 12 << 20);
    env.registry.push_large_image("test/big:v1", layers, layer_size);
    let image = env.reference("test/big:v1");
    for (name, split) in [("b.tar", None), ("v.tar.zst", Some("5MiB"))] {
        let out = env.path(name);
        let work = PathBuf::from(format!("{}.airlock-work", out.display()));
        let mut args = vec![image.as_str(), "--out", out.to_str().unwrap(), "--jobs", "1", "--output", "json"];
        if let Some(size) = split {
            args.extend(["--split-size", size]);
        }
        let mut child = env.bundle(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut written = 0;
        while Instant::now() < deadline && written < 3 * layer_size as u64 {
            written = files_under(&work).iter().filter(|(p, _)| !p.contains("/blobs/")).map(|(_, size)| size).sum();
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(written >= 3 * layer_size as u64, "{name}: the first run never wrote three layers");
        assert!(!out.exists() && !env.path(&format!("{name}.001")).exists(), "{name}: killed before it finished (make the image larger if this fails)");
        let stored = files_under(&work).iter().filter(|(p, size)| p.contains("/blobs/") && *size == layer_size as u64).count();
        assert_eq!(stored, 0, "{name}: layers went into the archive, not to disk first");

        let run = env.run(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let fetch = &run.json()["blobs"]["fetch"];
        let (reused, downloaded) = (fetch["reused"].as_u64().unwrap(), fetch["downloaded"].as_u64().unwrap());
        assert!(reused >= 2, "{name}: {fetch}");
        assert_eq!(reused + downloaded, layers as u64 + 1, "{name}: every layer and the config, once: {fetch}");
        assert!(run.stderr.contains("recovered"), "{}", run.stderr);
        assert!(!work.exists(), "{name}: the work directory is removed");

        let fresh = env.path(&format!("fresh-{name}"));
        let mut again = vec![image.as_str(), "--out", fresh.to_str().unwrap(), "--output", "json"];
        if let Some(size) = split {
            again.extend(["--split-size", size]);
        }
        assert_eq!(env.run(&again).code, 0);
        let files = |run: &serde_json::Value| -> Vec<Vec<u8>> {
            run["output"]["files"].as_array().unwrap().iter().map(|f| std::fs::read(f.as_str().unwrap()).unwrap()).collect()
        };
        assert!(files(&run.json()) == files(&env.run(&again).json()), "{name}: a resumed archive is the archive");
        open(&out_or_first_volume(&out));
    }
}

/// Every file under `dir`, as (path, size).
fn files_under(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => out.push((entry.path().to_string_lossy().into_owned(), m.len())),
                Err(_) => {}
            }
        }
    }
    out
}

fn out_or_first_volume(out: &Path) -> PathBuf {
    if out.exists() {
        out.to_path_buf()
    } else {
        PathBuf::from(format!("{}.001", out.display()))
    }
}

/// An OCI layout with `layers` layers of incompressible bytes.

#[test]
fn with_a_policy_every_image_is_checked_as_the_site_will_before_the_bundle_is_final() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    env.registry.push_image("test/unsigned:v1", "unsigned");
    let policy = lab_policy(&env);
    let out = env.path("bundle");

    let passed = env.run(&[&env.reference("test/app:v1"), "--out", out.to_str().unwrap(), "--policy", policy.to_str().unwrap(), "--output", "json"]);
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    let verdict = &passed.json()["policy"][0];
    assert_eq!(verdict["outcome"], "passed");
    assert_eq!(verdict["accepted"][0]["role"], "signature");
    assert_eq!(verdict["accepted"][0]["rule"], "lab-images");

    let refused_out = env.path("refused");
    let refused = env.run(&[&env.reference("test/app:v1"), &env.reference("test/unsigned:v1"), "--out", refused_out.to_str().unwrap(), "--policy", policy.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let error = refused.stderr.lines().find(|l| l.starts_with("airlock:")).unwrap_or_default();
    assert!(error.contains("1 image(s) would be refused"), "{error}");
    assert!(error.contains("test/unsigned:v1") && error.contains("no signature"), "{error}");
    assert!(!error.contains("test/app:v1"), "the passing image is not named as refused: {error}");
    assert!(!refused_out.join("airlock/manifest.json").exists(), "a refused bundle must not be finished");
}

const KEY_PASSWORD: &str = "transfer-key-pw";

/// `airlock key generate --output-key-prefix DIR/NAME`: the key, the public
/// key, and the fingerprint it prints.
fn generate_key(env: &Env, name: &str) -> (PathBuf, PathBuf, String) {
    let prefix = env.path(name);
    let run = Run::from_output(
        common::airlock().args(["key", "generate", "--output-key-prefix"]).arg(&prefix).env("COSIGN_PASSWORD", KEY_PASSWORD).output().unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    (env.path(&format!("{name}.key")), env.path(&format!("{name}.pub")), run.stdout.trim().to_string())
}

/// `airlock verify BUNDLE --transfer-key PUBLIC` under the lab's policy
/// and trusted root: the exit code and the transfer-signature step.
fn verify_transfer(env: &Env, bundle: &Path, public: &Path) -> (i32, serde_json::Value) {
    let root = env.lab.trust_dir().join("trusted_root.json");
    let run = Run::from_output(
        common::airlock()
            .arg("verify")
            .arg(bundle)
            .arg("--transfer-key")
            .arg(public)
            .arg("--policy")
            .arg(lab_policy(env))
            .arg("--trusted-root")
            .arg(root)
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    let report = run.json();
    let step = report["steps"].as_array().unwrap().iter().find(|s| s["check"] == "transfer-signature").unwrap().clone();
    (run.code, step)
}

/// A test bed with `test/app:v1` pushed and signed by the lab.
fn env_with_signed_app() -> Env {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    env
}

/// The site's key and the transfer key are one kind of key: what `key
/// generate` writes (cosign's encrypted format) signs a bundle, with the
/// password from COSIGN_PASSWORD, and `verify` accepts the bundle with its
/// public key and with no other.
#[test]
fn a_generated_key_signs_bundles_that_verify_accepts_only_with_its_public_key() {
    let env = env_with_signed_app();
    let (key, public, fingerprint) = generate_key(&env, "transfer");
    let (_, other_public, _) = generate_key(&env, "other");
    let out = env.path("signed");
    let sign = |password: &str| {
        let args = [&env.reference("test/app:v1"), "--out", out.to_str().unwrap(), "--sign-key", key.to_str().unwrap(), "--output", "json"];
        Run::from_output(env.bundle(&args).env("COSIGN_PASSWORD", password).output().unwrap())
    };
    let run = sign(KEY_PASSWORD);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["transferKey"], fingerprint.as_str());

    let (code, step) = verify_transfer(&env, &out, &public);
    assert_eq!((code, step["outcome"].as_str()), (0, Some("passed")), "{step}");
    let (code, step) = verify_transfer(&env, &out, &other_public);
    assert_eq!((code, step["outcome"].as_str()), (1, Some("failed")), "{step}");
    assert!(step["detail"].as_str().unwrap().contains("not signed by transfer key"), "{step}");

    // A wrong password stops the run before anything is fetched, and is never shown.
    let wrong = sign("not-the-password");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    let all = format!("{}{}", wrong.stdout, wrong.stderr);
    assert!(all.contains("wrong password") && !all.contains("not-the-password"), "{all}");
}

/// Without COSIGN_PASSWORD the password is asked for on the terminal, as
/// `load --resign-key` asks (one code path); with no terminal the command
/// says so instead of signing with nothing.
#[test]
fn the_transfer_key_password_is_asked_on_the_terminal() {
    let env = env_with_signed_app();
    let (key, public, _) = generate_key(&env, "transfer");
    let out = env.path("signed");
    let args = [&env.reference("test/app:v1"), "--out", out.to_str().unwrap(), "--sign-key", key.to_str().unwrap()];

    let no_tty = Run::from_output(env.bundle(&args).env_remove("COSIGN_PASSWORD").stdin(Stdio::null()).output().unwrap());
    assert_eq!(no_tty.code, 2, "{}", no_tty.stderr);
    assert!(no_tty.stderr.contains("no COSIGN_PASSWORD and no terminal"), "{}", no_tty.stderr);

    // script(1) gives the command a terminal; the password is typed into it.
    let command = env.bundle(&args);
    let line: Vec<String> = std::iter::once(command.get_program()).chain(command.get_args()).map(|a| shell_quote(&a.to_string_lossy())).collect();
    let mut script = std::process::Command::new("script");
    script.args(["-q", "-e", "-c", &line.join(" "), "/dev/null"]).env_remove("COSIGN_PASSWORD").env("DOCKER_CONFIG", env.dir.path());
    let mut child = script.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let typed = std::thread::spawn(move || {
        // Typed once the prompt is up, as a person would.
        std::thread::sleep(Duration::from_secs(2));
        std::io::Write::write_all(&mut stdin, format!("{KEY_PASSWORD}\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_secs(60));
    });
    let output = child.wait_with_output().unwrap();
    drop(typed);
    let run = Run::from_output(output);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Enter password for key"), "{}", run.stdout);
    let (code, step) = verify_transfer(&env, &out, &public);
    assert_eq!((code, step["outcome"].as_str()), (0, Some("passed")), "{step}");
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Keys airlock cannot sign with are refused with what is wrong, before
/// any registry is contacted, and nothing of the key or a password shows.
#[test]
fn an_unusable_sign_key_is_refused_before_any_network_and_never_shown() {
    let env = Env::start();
    let dir = env.dir.path();
    let openssl = |args: &[&str], out: &Path| {
        let status = std::process::Command::new("openssl").args(args).arg(out).status().unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let sec1 = dir.join("sec1.pem");
    openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out"], &sec1);
    let p384 = dir.join("p384.pem");
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out"], &p384);
    let encrypted = dir.join("encrypted.pem");
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-128-cbc", "-pass", "pass:hunter2", "-out"], &encrypted);
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n").unwrap();
    let missing = dir.join("missing.pem");
    // An unreachable registry: the key must be refused before it matters.
    let unreachable = format!("127.0.0.1:{}/x:v1", testbed::free_port());
    for (key, says) in [
        (&sec1, "EC PRIVATE KEY"),
        (&p384, "P-256"),
        (&encrypted, "encrypted PKCS#8"),
        (&garbage, "not a usable PKCS#8"),
        (&missing, "cannot read"),
    ] {
        let run = env.run(&[&unreachable, "--out", env.path("b").to_str().unwrap(), "--sign-key", key.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("signing key") && run.stderr.contains(says), "{says}: {}", run.stderr);
        assert!(!run.stderr.contains("127.0.0.1"), "the registry was contacted: {}", run.stderr);
        if let Ok(pem) = std::fs::read_to_string(key) {
            for line in pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 8) {
                assert!(!run.stderr.contains(line), "key material in the error: {}", run.stderr);
            }
        }
        assert!(!run.stderr.contains("hunter2"));
    }
}

#[test]
fn set_only_signatures_get_their_proofs_from_the_log_the_trusted_root_names_unless_rekor_url_overrides_it() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    // The lab's trusted_root.json lists its own Rekor as tlogs[].baseUrl;
    // no --rekor-url is given (Env never passes one).
    let trusted = std::fs::read_to_string(env.lab.trust_dir().join("trusted_root.json")).unwrap();
    assert!(trusted.contains(env.lab.url()), "{trusted}");
    let run = env.run(&[&env.reference("test/app:v1"), "--out", env.path("b").to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["images"][0]["logEntriesFetched"], 1, "{}", run.stdout);
    // --rekor-url wins over the trusted root, for every log.
    let dead = format!("http://127.0.0.1:{}", testbed::free_port());
    let run = env.run(&[&env.reference("test/app:v1"), "--out", env.path("c").to_str().unwrap(), "--rekor-url", &dead]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&dead), "{}", run.stderr);
}
