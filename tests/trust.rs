//! `airlock trust fetch` and `airlock trust verify`, driven as an operator
//! would: the real Sigstore repository served on 127.0.0.1, and generated
//! repositories (tuf-testgen) for every attack the verifier must refuse,
//! each with its named reason.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tuf_testgen::{Files, KeyKind, Repo, Server, Signer, PAST};

const AIRLOCK: &str = env!("CARGO_BIN_EXE_airlock");
const RECORDED: &str = "2026-08-22T00:00:00Z";
/// A fixed reference time for generated repositories.
const T: &str = "2030-01-01T00:00:00Z";

fn realdata() -> PathBuf {
    testbed::realdata("tuf")
}

fn trusted_root_json() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/trust-roots/data/public-good-trusted_root.json"
    ))
    .unwrap()
}

fn airlock(args: &[&str]) -> Output {
    Command::new(AIRLOCK)
        .args(args)
        .output()
        .expect("airlock runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- the real Sigstore production repository ----------------------------------

/// Unpack the recorded repository and serve it on loopback.
fn serve_real_repository(tmp: &Path) -> Server {
    tuf_testgen::untar_gz(&realdata().join("sigstore-public-good.tar.gz"), tmp);
    Server::serve(&tmp.join("sigstore-public-good"))
}

fn fetch_real(server: &Server, out: &Path, at: Option<&str>) -> Output {
    let mirror = format!("{}/metadata", server.url);
    let targets = format!("{}/targets", server.url);
    let mut args = vec![
        "trust",
        "fetch",
        "--mirror",
        &mirror,
        "--targets-url",
        &targets,
        "--target",
        "registry.npmjs.org/keys.json",
        "--out",
        s(out),
        "--output",
        "json",
    ];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    airlock(&args)
}

/// `trust fetch` reports through the one progress interface: without a
/// terminal, one `trust:` line (metadata and each target counted);
/// nothing with `--quiet`.
#[test]
fn trust_fetch_progress_is_one_line_without_a_terminal_and_none_when_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_real_repository(tmp.path());
    let out = fetch_real(&server, &tmp.path().join("loud"), Some(RECORDED));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<String> = stderr(&out).lines().filter(|l| l.starts_with("trust: ")).map(String::from).collect();
    // The metadata chain, then five targets (see the test below).
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    assert!(lines[0].starts_with("trust: 6 of 6 item(s) in "), "{}", lines[0]);
    let mirror = format!("{}/metadata", server.url);
    let targets = format!("{}/targets", server.url);
    let quiet = tmp.path().join("quiet");
    let out = airlock(&["trust", "fetch", "--mirror", &mirror, "--targets-url", &targets, "--out", s(&quiet), "--at", RECORDED, "-q"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn real_repository_fetches_and_verifies_offline_from_every_pin_v5_to_v15() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_real_repository(tmp.path());
    let snap = tmp.path().join("snapshot");
    let out = fetch_real(&server, &snap, Some(RECORDED));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = &json_of(&out)["report"];
    assert_eq!(
        report["versions"],
        json!({"root": 15, "timestamp": 762, "snapshot": 165, "targets": 14})
    );
    assert_eq!(
        report["rootsCarried"],
        json!([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    );
    assert_eq!(report["delegatedRoles"], json!(["registry.npmjs.org"]));
    let names: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "trusted_root.json",
            "signing_config.json",
            "signing_config.v0.2.json",
            "signing_config_rekor_v2.v0.2.json",
            "registry.npmjs.org/keys.json"
        ]
    );
    // Every file is in the snapshot, and the snapshot verifies with no server.
    drop(server);
    for version in 5..=15 {
        let root = realdata().join(format!("roots/{version}.root.json"));
        let out = airlock(&[
            "trust",
            "verify",
            s(&snap),
            "--root",
            s(&root),
            "--at",
            RECORDED,
            "--output",
            "json",
        ]);
        assert_eq!(
            code(&out),
            0,
            "pinned v{version}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let report = json_of(&out);
        assert_eq!(report["roles"]["root"]["version"], 15);
        assert_eq!(report["pinnedRoot"]["version"], version);
        assert_eq!(report["trustSource"]["kind"], "tuf");
        assert_eq!(
            report["trustedRootDigest"],
            "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
        );
        assert_eq!(report["referenceTime"]["reason"]["kind"], "operator");
    }
    // The embedded pin (v15) is the default.
    let out = airlock(&["trust", "verify", s(&snap), "--at", RECORDED]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Verified OK") && text.contains("embedded sigstore-public-good"),
        "{text}"
    );
}

#[test]
fn real_repository_is_refused_as_expired_after_its_recorded_week_and_today() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_real_repository(tmp.path());
    let snap = tmp.path().join("snapshot");
    assert_eq!(code(&fetch_real(&server, &snap, Some(RECORDED))), 0);
    let v5 = realdata().join("roots/5.root.json");
    for (at, role) in [
        ("2026-08-29T00:00:00Z", "timestamp"),
        ("2026-11-23T00:00:00Z", "root"),
    ] {
        let out = airlock(&["trust", "verify", s(&snap), "--root", s(&v5), "--at", at]);
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains(&format!("refused (expired): {role}: expired")),
            "{}",
            stderr(&out)
        );
    }
    // Fetching at the local clock (today) refuses too, and writes nothing.
    let today = tmp.path().join("today");
    let out = fetch_real(&server, &today, None);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json_of(&out)["failedCheck"], "expired");
    assert!(!today.exists());
}

#[test]
fn default_reference_time_is_the_fetch_time_within_max_age() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve_real_repository(tmp.path());
    let snap = tmp.path().join("snapshot");
    assert_eq!(code(&fetch_real(&server, &snap, Some(RECORDED))), 0);
    // Fetched (evaluated) at 2026-08-22: more than 30 days before the local
    // clock, so the default --max-age refuses it...
    let out = airlock(&["trust", "verify", s(&snap)]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("refused (reference-time)"),
        "{}",
        stderr(&out)
    );
    // ...and a longer one accepts it, saying why that time was used.
    let out = airlock(&[
        "trust",
        "verify",
        s(&snap),
        "--max-age",
        "3650d",
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let report = json_of(&out);
    assert_eq!(report["referenceTime"]["at"], RECORDED);
    assert_eq!(
        report["referenceTime"]["reason"]["kind"],
        "snapshot_fetch_time"
    );
    assert!(report["referenceTimeExplained"]
        .as_str()
        .unwrap()
        .contains("index.json"));
}

#[test]
fn fetch_refuses_to_overwrite_and_reports_transport_failures_as_could_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let out = airlock(&[
        "trust",
        "fetch",
        "--mirror",
        "http://127.0.0.1:9/",
        "--out",
        s(&full),
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // Nothing listens on the discard port: the fetch could not run.
    let out = airlock(&[
        "trust",
        "fetch",
        "--mirror",
        "http://127.0.0.1:9/",
        "--out",
        s(&tmp.path().join("o")),
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not run (transport)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hand_managed_trusted_root_says_no_tuf_chain_was_checked() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/trust-roots/data/public-good-trusted_root.json"
    );
    let out = airlock(&[
        "trust",
        "verify",
        "--trusted-root",
        path,
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0);
    let report = json_of(&out);
    assert_eq!(report["tufChainChecked"], false);
    assert_eq!(report["trustSource"]["kind"], "file");
    let out = airlock(&["trust", "verify", "--trusted-root", path]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no TUF chain was checked"));
}

// ---- generated repositories: every attack refused with its reason -------------

/// A valid repository carrying trusted_root.json.
fn repo(kind: KeyKind) -> Repo {
    let mut repo = Repo::new(kind);
    repo.add_target("targets", "trusted_root.json", &trusted_root_json());
    repo
}

struct Case {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    root: PathBuf,
}

/// Sign `repo` and write it as a snapshot fetched at T.
fn snap(repo: &mut Repo) -> Case {
    let files = repo.files();
    snapshot(repo, &files, T)
}

/// Write `files` as a snapshot fetched at `checked_at`, pinned at root v1.
fn snapshot(repo: &Repo, files: &Files, checked_at: &str) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snapshot");
    files.write_snapshot(&dir, checked_at);
    let root = tmp.path().join("pinned-root.json");
    std::fs::write(&root, &repo.published_roots[0]).unwrap();
    Case {
        _tmp: tmp,
        dir,
        root,
    }
}

fn verify(case: &Case, extra: &[&str]) -> Output {
    let mut args = vec![
        "trust",
        "verify",
        s(&case.dir),
        "--root",
        s(&case.root),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    airlock(&args)
}

/// Verify at T and expect a refusal naming `check` and mentioning `words`.
#[track_caller]
fn refused(case: &Case, check: &str, words: &str) {
    let out = verify(case, &["--at", T]);
    let result = json_of(&out);
    assert_eq!(code(&out), 1, "{result}");
    assert_eq!(result["failedCheck"], check, "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains(words), "expected {words:?} in: {error}");
}

#[test]
fn generated_repositories_verify_with_ed25519_and_ecdsa_keys() {
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
        let mut repo = repo(kind);
        repo.delegate("targets", "team", &["team/*"], false, kind);
        repo.add_target("team", "team/keys.json", b"{}");
        repo.hashes_in_meta = kind == KeyKind::EcdsaP256;
        let case = snap(&mut repo);
        let out = verify(&case, &["--at", T]);
        assert_eq!(
            code(&out),
            0,
            "{kind:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let report = json_of(&out);
        assert_eq!(report["roles"]["delegated"][0]["name"], "team");
        assert_eq!(report["targets"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn root_rollback_inside_a_snapshot_is_refused() {
    let mut repo = repo(KeyKind::Ed25519);
    repo.publish_root(); // v2
    repo.publish_root(); // v3
    let mut files = repo.files();
    // An old root served as the next version.
    files
        .metadata
        .insert("3.root.json".into(), repo.published_roots[1].clone());
    refused(
        &snapshot(&repo, &files, T),
        "rollback",
        "root: rollback refused: version 2",
    );
}

#[test]
fn a_root_version_that_skips_is_refused() {
    let mut repo = repo(KeyKind::Ed25519);
    repo.publish_root(); // v2
    let mut files = repo.files();
    repo.root["version"] = json!(3);
    let v3 = repo.sign_role("root", &repo.root);
    files.metadata.insert("2.root.json".into(), v3);
    refused(&snapshot(&repo, &files, T), "version", "requires version 2");
}

#[test]
fn freeze_expired_roles_are_refused() {
    for role in ["root", "timestamp", "snapshot", "targets", "team"] {
        let mut repo = repo(KeyKind::Ed25519);
        repo.delegate("targets", "team", &["team/*"], false, KeyKind::Ed25519);
        repo.payload_mut(role)["expires"] = json!(PAST);
        if role == "root" {
            repo.publish_root();
        }
        let case = snap(&mut repo);
        refused(&case, "expired", &format!("{role}: expired at {PAST}"));
    }
}

#[test]
fn mix_and_match_versions_are_refused() {
    // Timestamp pins snapshot v2; the v2 file holds snapshot v1.
    let mut repo = repo(KeyKind::Ed25519);
    let old_snapshot = {
        let files = repo.files();
        files.metadata["1.snapshot.json"].clone()
    };
    repo.bump("snapshot");
    let mut files = repo.files();
    files
        .metadata
        .insert("2.snapshot.json".into(), old_snapshot);
    files.metadata.remove("1.snapshot.json");
    refused(
        &snapshot(&repo, &files, T),
        "version",
        "2.snapshot.json: version 1, but timestamp requires version 2",
    );

    // Snapshot pins targets v2; the v2 file holds targets v1.
    let mut repo = self::repo(KeyKind::Ed25519);
    let old_targets = repo.files().metadata["1.targets.json"].clone();
    repo.bump("targets");
    let mut files = repo.files();
    files.metadata.insert("2.targets.json".into(), old_targets);
    refused(
        &snapshot(&repo, &files, T),
        "version",
        "2.targets.json: version 1, but snapshot requires version 2",
    );
}

#[test]
fn mix_and_match_hashes_and_lengths_are_refused() {
    // Same version, other content: the pinned hash catches it.
    let mut repo = repo(KeyKind::Ed25519);
    repo.hashes_in_meta = true;
    let mut files = repo.files();
    let mut other = repo.snapshot.clone();
    other["expires"] = json!("2100-01-02T00:00:00Z"); // same length
    files
        .metadata
        .insert("1.snapshot.json".into(), repo.sign_role("snapshot", &other));
    refused(
        &snapshot(&repo, &files, T),
        "hash",
        "1.snapshot.json: sha256 is",
    );

    // Shorter: the pinned length catches it before it is parsed (longer is
    // cut off at the pinned length: endless data, below).
    let mut files = repo.files();
    let mut other = repo.targets["targets"].clone();
    other["spec_version"] = json!("1.0");
    files
        .metadata
        .insert("1.targets.json".into(), repo.sign_role("targets", &other));
    refused(
        &snapshot(&repo, &files, T),
        "length",
        "1.targets.json: length",
    );
}

#[test]
fn threshold_failures_are_refused() {
    // Timestamp needs two signatures and has one.
    let mut repo = repo(KeyKind::EcdsaP256);
    repo.root["roles"]["timestamp"]["threshold"] = json!(2);
    repo.publish_root();
    refused(
        &snap(&mut repo),
        "threshold",
        "timestamp: signature threshold not met: 1 valid of 2",
    );

    // A new root not signed by the old root's keys.
    let mut repo = self::repo(KeyKind::Ed25519);
    repo.rotate("root", KeyKind::Ed25519);
    repo.next_root_cosigners.clear();
    repo.publish_root();
    refused(
        &snap(&mut repo),
        "threshold",
        "root (2.root.json): signature threshold not met: 0 valid of 1",
    );

    // One key listed under two key IDs does not make two signatures.
    let mut repo = self::repo(KeyKind::Ed25519);
    let twin = repo.signers["timestamp"][0].public.clone();
    repo.root["keys"]["twin"] = twin;
    repo.root["roles"]["timestamp"]["keyids"]
        .as_array_mut()
        .unwrap()
        .push(json!("twin"));
    repo.root["roles"]["timestamp"]["threshold"] = json!(2);
    repo.publish_root();
    let mut files = repo.files();
    let ts: Value = serde_json::from_slice(&files.metadata["timestamp.json"]).unwrap();
    let mut sigs = ts["signatures"].as_array().unwrap().clone();
    sigs.push(json!({"keyid": "twin", "sig": sigs[0]["sig"]}));
    let doubled = json!({"signed": ts["signed"], "signatures": sigs});
    files.metadata.insert(
        "timestamp.json".into(),
        serde_json::to_vec(&doubled).unwrap(),
    );
    refused(
        &snapshot(&repo, &files, T),
        "threshold",
        "timestamp: signature threshold not met: 1 valid of 2",
    );
}

#[test]
fn wrong_key_types_are_refused() {
    // An Ed25519 key declared with keytype ecdsa: sigstore-tuf alone would
    // accept it (it reads only the scheme); airlock refuses the pair.
    let mut repo = repo(KeyKind::Ed25519);
    let signer = Signer::generate(KeyKind::Ed25519).declared_as("ecdsa", "ed25519");
    replace_key(&mut repo, "timestamp", signer);
    refused(
        &snap(&mut repo),
        "key-type",
        "keytype \"ecdsa\", scheme \"ed25519\"",
    );

    // ECDSA key material declared as an Ed25519 key.
    let mut repo = self::repo(KeyKind::Ed25519);
    let signer = Signer::generate(KeyKind::EcdsaP256).declared_as("ed25519", "ed25519");
    replace_key(&mut repo, "snapshot", signer);
    refused(&snap(&mut repo), "key-type", "snapshot");
}

fn replace_key(repo: &mut Repo, role: &str, signer: Signer) {
    let old = repo.signers.remove(role).unwrap();
    repo.root["keys"]
        .as_object_mut()
        .unwrap()
        .remove(&old[0].keyid);
    repo.root["keys"][&signer.keyid] = signer.public.clone();
    repo.root["roles"][role]["keyids"] = json!([signer.keyid]);
    repo.signers.insert(role.into(), vec![signer]);
    repo.publish_root();
}

#[test]
fn endless_data_is_refused_at_the_size_limits() {
    // A timestamp beyond the 16 KiB timestamp limit, correctly signed.
    let mut repo = repo(KeyKind::Ed25519);
    repo.timestamp["padding"] = json!("x".repeat(20_000));
    refused(
        &snap(&mut repo),
        "size-limit",
        "timestamp.json is larger than the 16384-byte limit",
    );

    // A snapshot longer than the length its timestamp pins.
    let mut repo = self::repo(KeyKind::Ed25519);
    repo.hashes_in_meta = true;
    let mut files = repo.files();
    files
        .metadata
        .get_mut("1.snapshot.json")
        .unwrap()
        .extend_from_slice(&[b' '; 4096]);
    refused(&snapshot(&repo, &files, T), "size-limit", "1.snapshot.json");
}

#[test]
fn tampered_missing_and_unlisted_targets_are_refused() {
    let mut repo = repo(KeyKind::Ed25519);
    let files = repo.files();
    let case = snapshot(&repo, &files, T);
    let target = case.dir.join("targets/trusted_root.json");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&target, &bytes).unwrap();
    refused(&case, "hash", "trusted_root.json: sha256 is");
    bytes.push(b'\n');
    std::fs::write(&target, &bytes).unwrap();
    refused(&case, "size-limit", "targets/trusted_root.json");

    std::fs::remove_file(&target).unwrap();
    refused(
        &case,
        "missing",
        "targets/trusted_root.json: required by airlock",
    );

    let case = snapshot(&repo, &files, T);
    std::fs::write(case.dir.join("targets/extra.txt"), b"x").unwrap();
    refused(&case, "target-not-found", "\"extra.txt\" is not listed");
}

#[test]
fn malformed_metadata_is_refused_without_panicking() {
    let mut repo = repo(KeyKind::Ed25519);
    for garbage in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"signed\": 1, \"signatures\": []}",
        &[0xff, 0xfe],
    ] {
        let mut files = repo.files();
        files
            .metadata
            .insert("timestamp.json".into(), garbage.to_vec());
        refused(
            &snapshot(&repo, &files, T),
            "malformed",
            "timestamp.json: malformed TUF metadata",
        );
    }
}

#[test]
fn reference_time_from_index_is_bounded_by_the_local_clock() {
    let mut repo = repo(KeyKind::Ed25519);
    let files = repo.files();
    let now = jiff::Timestamp::now();
    let recent = (now - jiff::SignedDuration::from_hours(24)).to_string();
    let case = snapshot(&repo, &files, &recent);
    let out = verify(&case, &[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        json_of(&out)["referenceTime"]["reason"]["kind"],
        "snapshot_fetch_time"
    );

    let future = (now + jiff::SignedDuration::from_hours(24)).to_string();
    let out = verify(&snapshot(&repo, &files, &future), &[]);
    assert_eq!(code(&out), 1);
    assert!(json_of(&out)["error"]
        .as_str()
        .unwrap()
        .contains("in the future of the local clock"));

    let old = (now - jiff::SignedDuration::from_hours(24 * 31)).to_string();
    let case = snapshot(&repo, &files, &old);
    let out = verify(&case, &[]);
    assert_eq!(json_of(&out)["failedCheck"], "reference-time");
    assert_eq!(code(&verify(&case, &["--max-age", "32d"])), 0);

    std::fs::remove_file(case.dir.join("index.json")).unwrap();
    let out = verify(&case, &[]);
    assert_eq!(code(&out), 1);
    assert!(json_of(&out)["error"]
        .as_str()
        .unwrap()
        .contains("give --at"));
    assert_eq!(code(&verify(&case, &["--at", T])), 0);
}

// ---- rollback against a site's trust state -------------------------------------

fn verify_with_state(case: &Case, state: &Path) -> Output {
    verify(case, &["--at", T, "--state", s(state)])
}

#[test]
fn site_state_refuses_rollback_of_every_role() {
    type Step = fn(&mut Repo);
    let cases: [(&str, Step, Step, &str); 4] = [
        ("timestamp", |r| r.bump("timestamp"), |r| r.timestamp["version"] = json!(1), "timestamp: rollback refused: version 1 is lower than the trusted version 2"),
        ("snapshot", |r| { r.bump("snapshot"); r.bump("snapshot"); r.bump("timestamp") }, |r| { r.snapshot["version"] = json!(2); r.bump("timestamp") }, "snapshot (as pinned by timestamp): rollback refused: version 2 is lower than the trusted version 3"),
        ("targets", |r| { r.bump("targets"); r.bump("targets"); r.bump("snapshot"); r.bump("timestamp") }, |r| { r.targets.get_mut("targets").unwrap()["version"] = json!(2); r.bump("snapshot"); r.bump("timestamp") }, "targets: rollback refused: version 2 is lower than the trusted version 3"),
        ("root", |r| r.publish_root(), |_| {}, "root (against the site trust state): rollback refused: version 1 is lower than the trusted version 2"),
    ];
    for (role, newer, older, words) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let mut repo = repo(KeyKind::Ed25519);
        let first = repo.files();
        newer(&mut repo);
        let accepted = snap(&mut repo);
        let out = verify_with_state(&accepted, &state);
        assert_eq!(
            code(&out),
            0,
            "{role}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(state.join("timestamp.json").is_file() && state.join("root.json").is_file());
        older(&mut repo);
        let replayed = if role == "root" {
            // An older snapshot whose newest root is v1.
            snapshot(&repo, &first, T)
        } else {
            snap(&mut repo)
        };
        // Without the state the older snapshot is fine; with it, rollback.
        assert_eq!(code(&verify(&replayed, &["--at", T])), 0, "{role}");
        let out = verify_with_state(&replayed, &state);
        let result = json_of(&out);
        assert_eq!(code(&out), 1, "{role}: {result}");
        assert_eq!(result["failedCheck"], "rollback", "{role}: {result}");
        assert!(
            result["error"].as_str().unwrap().contains(words),
            "{role}: {result}"
        );
    }
}

#[test]
fn a_refused_snapshot_leaves_the_site_state_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let mut repo = repo(KeyKind::Ed25519);
    let good = snap(&mut repo);
    assert_eq!(code(&verify_with_state(&good, &state)), 0);
    let before = std::fs::read(state.join("timestamp.json")).unwrap();
    repo.bump("timestamp");
    repo.snapshot["expires"] = json!(PAST);
    repo.bump("snapshot");
    let bad = snap(&mut repo);
    assert_eq!(code(&verify_with_state(&bad, &state)), 1);
    assert_eq!(std::fs::read(state.join("timestamp.json")).unwrap(), before);
}

#[test]
fn fetch_then_verify_round_trips_on_a_generated_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = repo(KeyKind::EcdsaP256);
    repo.publish_root();
    repo.delegate("targets", "team", &["team/*"], true, KeyKind::Ed25519);
    repo.add_target("team", "team/a b.json", b"{\"a\":1}");
    repo.add_target("targets", "signing_config.v0.2.json", b"{}");
    repo.hashes_in_meta = true;
    let mirror = tmp.path().join("mirror");
    repo.files().write_mirror(&mirror);
    let server = Server::serve(&mirror);
    let snap = tmp.path().join("snap");
    let root = tmp.path().join("root.json");
    std::fs::write(&root, &repo.published_roots[0]).unwrap();
    let out = airlock(&[
        "trust",
        "fetch",
        "--mirror",
        &format!("{}/metadata/", server.url),
        "--targets-url",
        &format!("{}/targets", server.url),
        "--root",
        s(&root),
        "--target",
        "team/a b.json",
        "--out",
        s(&snap),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = airlock(&[
        "trust",
        "verify",
        s(&snap),
        "--root",
        s(&root),
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let report = json_of(&out);
    assert_eq!(
        report["referenceTime"]["reason"]["kind"],
        "snapshot_fetch_time"
    );
    let names: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "signing_config.v0.2.json",
            "team/a b.json",
            "trusted_root.json"
        ]
    );
    assert!(snap.join("targets/team%2Fa%20b.json").is_file());
}

#[test]
fn the_site_state_is_only_a_floor_every_snapshot_file_is_still_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let mut repo = repo(KeyKind::Ed25519);
    let case = snap(&mut repo);
    assert_eq!(code(&verify_with_state(&case, &state)), 0);
    // Verified again: nothing flagged, nothing taken from the state instead.
    let out = verify_with_state(&case, &state);
    assert_eq!(code(&out), 0);
    assert_eq!(json_of(&out)["warnings"], json!([]));
    // A snapshot file that differs from what the state holds (same version,
    // hashes not pinned) is checked in its own right, not replaced by the
    // state's copy.
    let mut other = repo.targets["targets"].clone();
    other["expires"] = json!(PAST);
    std::fs::write(
        case.dir.join("metadata/1.targets.json"),
        repo.sign_role("targets", &other),
    )
    .unwrap();
    let out = verify_with_state(&case, &state);
    assert_eq!(code(&out), 1);
    assert_eq!(json_of(&out)["failedCheck"], "expired");
}
