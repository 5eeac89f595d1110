//! `airlock-tuf-client`, the tuf-conformance client-under-test, driven
//! exactly as the suite drives it (CLIENT-CLI.md): init / refresh /
//! download against a repository served on 127.0.0.1, judged by exit code,
//! the metadata left in --metadata-dir, the files in --target-dir and the
//! requests made. The scenarios follow the suite's tests (basic, rollback,
//! expiration, keys, key rotations, file download, delegation graphs,
//! quoting); the suite itself is not on PyPI, so it could not be run here.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tuf_testgen::{quote, KeyKind, Repo, Server, Signer, PAST};

const CLIENT: &str = env!("CARGO_BIN_EXE_airlock-tuf-client");

struct Sim {
    repo: Repo,
    _tmp: tempfile::TempDir,
    mirror: PathBuf,
    metadata_dir: PathBuf,
    target_dir: PathBuf,
    server: Server,
}

impl Sim {
    fn new() -> Self {
        Self::with(Repo::new(KeyKind::Ed25519))
    }

    fn with(repo: Repo) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mirror = tmp.path().join("mirror");
        let metadata_dir = tmp.path().join("metadata");
        let target_dir = tmp.path().join("targets");
        std::fs::create_dir_all(&metadata_dir).unwrap();
        std::fs::create_dir_all(&target_dir).unwrap();
        std::fs::create_dir_all(&mirror).unwrap();
        let server = Server::serve(&mirror);
        let mut sim = Self {
            repo,
            _tmp: tmp,
            mirror,
            metadata_dir,
            target_dir,
            server,
        };
        sim.publish();
        sim
    }

    /// Sign the repository as it is now and serve it.
    fn publish(&mut self) {
        self.repo.files().write_mirror(&self.mirror);
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(CLIENT)
            .args(args)
            .output()
            .expect("client runs")
    }

    fn init(&self) -> i32 {
        let root = self.mirror.join("initial_root.json");
        std::fs::write(&root, &self.repo.published_roots[0]).unwrap();
        self.init_with(&root)
    }

    fn init_with(&self, root: &Path) -> i32 {
        let out = self.run(&["--metadata-dir", s(&self.metadata_dir), "init", s(root)]);
        code(&out)
    }

    fn refresh(&self) -> Output {
        let url = format!("{}/metadata", self.server.url);
        self.run(&[
            "--metadata-url",
            &url,
            "--metadata-dir",
            s(&self.metadata_dir),
            "refresh",
        ])
    }

    fn download(&self, target: &str) -> Output {
        let url = format!("{}/metadata", self.server.url);
        let targets = format!("{}/targets", self.server.url);
        self.run(&[
            "--metadata-url",
            &url,
            "--metadata-dir",
            s(&self.metadata_dir),
            "--target-name",
            target,
            "--target-dir",
            s(&self.target_dir),
            "--target-base-url",
            &targets,
            "download",
        ])
    }

    /// The version of a stored role.
    fn version(&self, role: &str) -> u64 {
        let bytes = std::fs::read(self.metadata_dir.join(format!("{role}.json"))).unwrap();
        let md: Value = serde_json::from_slice(&bytes).unwrap();
        md["signed"]["version"].as_u64().unwrap()
    }

    fn stored(&self, role: &str) -> Vec<u8> {
        std::fs::read(self.metadata_dir.join(format!("{role}.json"))).unwrap()
    }

    /// Metadata file names requested since the last call.
    fn metadata_requests(&self) -> Vec<String> {
        let requests = self.server.requests();
        self.server.clear_requests();
        requests
            .iter()
            .filter_map(|r| r.strip_prefix("/metadata/").map(str::to_string))
            .collect()
    }

    fn target_requests(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .filter(|r| r.starts_with("/targets/"))
            .cloned()
            .collect()
    }

    fn downloaded(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(&self.target_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

#[track_caller]
fn ok(out: Output) {
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}

#[track_caller]
fn fails(out: Output, words: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 1, "expected failure, got: {stderr}");
    assert!(stderr.contains(words), "expected {words:?} in: {stderr}");
}

// ---- basic ----------------------------------------------------------------------

#[test]
fn init_and_refresh_request_the_top_level_roles_in_order() {
    let sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    assert_eq!(
        sim.metadata_requests(),
        [
            "2.root.json",
            "timestamp.json",
            "1.snapshot.json",
            "1.targets.json"
        ]
    );
    for role in ["root", "timestamp", "snapshot", "targets"] {
        assert_eq!(sim.version(role), 1, "{role}");
    }
    // Nothing changed: only the root probe and the timestamp are fetched.
    ok(sim.refresh());
    assert_eq!(sim.metadata_requests(), ["2.root.json", "timestamp.json"]);
}

#[test]
fn invalid_or_unsigned_initial_root_fails_without_requests() {
    let sim = Sim::new();
    let mut root: Value = serde_json::from_slice(&sim.repo.published_roots[0]).unwrap();
    root["signatures"][0]["sig"] = json!("30450221".to_string() + &"00".repeat(66));
    let path = sim.mirror.join("bad_root.json");
    std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
    assert_eq!(sim.init_with(&path), 1);
    fails(sim.refresh(), "run init first");
    assert!(sim.metadata_requests().is_empty());
}

#[test]
fn usage_errors_exit_1_not_2() {
    let sim = Sim::new();
    assert_eq!(code(&sim.run(&["refresh"])), 1);
    assert_eq!(code(&sim.run(&["--bogus"])), 1);
    assert_eq!(code(&sim.run(&["--help"])), 0);
}

#[test]
fn equal_timestamp_version_keeps_the_stored_copy() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    let before = sim.stored("timestamp");
    sim.repo.timestamp["expires"] = json!("2099-01-01T00:00:00Z");
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.stored("timestamp"), before);
}

#[test]
fn custom_fields_are_signed_over_and_accepted() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    sim.repo.root["custom-field"] = json!("value");
    let keyid = sim.repo.signers["root"][0].keyid.clone();
    sim.repo.root["keys"][&keyid]["extra-field"] = json!({"a": 1, "b": 2});
    sim.repo.publish_root();
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.version("root"), 2);
}

// ---- rollback -----------------------------------------------------------------------

#[test]
fn timestamp_rollback_is_refused_and_the_stored_copy_kept() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    sim.repo.bump("timestamp");
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.version("timestamp"), 2);
    sim.repo.timestamp["version"] = json!(1);
    sim.publish();
    fails(sim.refresh(), "timestamp: rollback refused");
    assert_eq!(sim.version("timestamp"), 2);
    assert_eq!(sim.metadata_requests().last().unwrap(), "timestamp.json");
}

#[test]
fn snapshot_rollback_is_refused_with_and_without_hashes() {
    for hashes in [false, true] {
        let mut sim = Sim::new();
        sim.repo.hashes_in_meta = hashes;
        assert_eq!(sim.init(), 0);
        sim.repo.bump("snapshot");
        sim.repo.bump("timestamp");
        sim.publish();
        ok(sim.refresh());
        sim.repo.snapshot["version"] = json!(1);
        sim.repo.bump("timestamp");
        sim.publish();
        fails(sim.refresh(), "rollback refused");
        assert_eq!(sim.version("timestamp"), 2);
        assert_eq!(sim.version("snapshot"), 2);
        assert_eq!(sim.metadata_requests().last().unwrap(), "timestamp.json");
    }
}

#[test]
fn targets_rollback_is_refused_with_and_without_hashes() {
    for hashes in [false, true] {
        let mut sim = Sim::new();
        sim.repo.hashes_in_meta = hashes;
        assert_eq!(sim.init(), 0);
        sim.repo.targets.get_mut("targets").unwrap()["version"] = json!(3);
        sim.repo.bump("snapshot");
        sim.repo.bump("timestamp");
        sim.publish();
        ok(sim.refresh());
        sim.repo.targets.get_mut("targets").unwrap()["version"] = json!(1);
        sim.repo.bump("snapshot");
        sim.repo.bump("timestamp");
        sim.publish();
        fails(sim.refresh(), "targets: rollback refused");
        assert_eq!(sim.version("snapshot"), 2);
        assert_eq!(sim.version("targets"), 3);
    }
}

#[test]
fn fast_forward_recovery_after_timestamp_key_rotation() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    sim.repo.timestamp["version"] = json!(100);
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.version("timestamp"), 100);
    sim.repo.rotate("timestamp", KeyKind::Ed25519);
    sim.repo.publish_root();
    sim.repo.timestamp["version"] = json!(1);
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.version("timestamp"), 1);
}

#[test]
fn fast_forward_recovery_after_snapshot_key_rotation() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    sim.repo.targets.get_mut("targets").unwrap()["version"] = json!(100);
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    ok(sim.refresh());
    sim.repo.rotate("snapshot", KeyKind::EcdsaP256);
    sim.repo.publish_root();
    sim.repo.targets.get_mut("targets").unwrap()["version"] = json!(1);
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.version("targets"), 1);
}

// ---- expiration ---------------------------------------------------------------------

#[test]
fn expired_root_is_persisted_then_refused() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    sim.repo.root["expires"] = json!(PAST);
    sim.repo.publish_root();
    sim.repo.bump("targets");
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    fails(sim.refresh(), "root: expired");
    assert_eq!(sim.version("root"), 2, "the new root is kept (5.3.10)");
    assert_eq!(sim.version("timestamp"), 1);
    assert_eq!(sim.version("snapshot"), 1);
}

#[test]
fn expired_timestamp_snapshot_and_targets_are_not_stored() {
    for role in ["timestamp", "snapshot", "targets"] {
        let mut sim = Sim::new();
        assert_eq!(sim.init(), 0);
        ok(sim.refresh());
        sim.repo.payload_mut(role)["expires"] = json!(PAST);
        for r in ["targets", "snapshot", "timestamp"] {
            sim.repo.bump(r);
        }
        sim.publish();
        fails(sim.refresh(), &format!("{role}: expired"));
        assert_eq!(sim.version(role), 1, "{role}");
    }
}

// ---- keys and thresholds --------------------------------------------------------

#[test]
fn thresholds_key_types_and_duplicate_keys() {
    // Threshold above the keys that sign.
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    sim.repo.root["roles"]["snapshot"]["threshold"] = json!(2);
    sim.repo
        .add_key("snapshot", Signer::generate(KeyKind::EcdsaP256));
    sim.repo.signers.get_mut("snapshot").unwrap().pop(); // listed, never signs
    sim.repo.publish_root();
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    fails(sim.refresh(), "signature threshold not met: 1 valid of 2");
    assert_eq!(sim.version("root"), 2);
    assert_eq!(sim.version("snapshot"), 1);

    // A keytype/scheme pair that disagrees.
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    let signer = Signer::generate(KeyKind::Ed25519).declared_as("ecdsa", "ed25519");
    let old = sim.repo.signers.remove("timestamp").unwrap();
    sim.repo.root["keys"]
        .as_object_mut()
        .unwrap()
        .remove(&old[0].keyid);
    sim.repo.root["keys"][&signer.keyid] = signer.public.clone();
    sim.repo.root["roles"]["timestamp"]["keyids"] = json!([signer.keyid]);
    sim.repo.signers.insert("timestamp".into(), vec![signer]);
    sim.repo.publish_root();
    sim.publish();
    fails(sim.refresh(), "is unusable");

    // One key under ten key IDs is one signature (the suite's duplicate keys).
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    let public = sim.repo.signers["snapshot"][0].public.clone();
    for n in 0..9 {
        sim.repo.root["keys"][format!("dup{n}")] = public.clone();
        sim.repo.root["roles"]["snapshot"]["keyids"]
            .as_array_mut()
            .unwrap()
            .push(json!(format!("dup{n}")));
    }
    sim.repo.root["roles"]["snapshot"]["threshold"] = json!(6);
    sim.repo.publish_root();
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    assert_eq!(code(&sim.refresh()), 1);
    assert_eq!(sim.version("snapshot"), 1);
}

#[test]
fn root_rotations_keep_the_last_good_root() {
    // 1-of-1 rotation, cross-signed: accepted.
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    sim.repo.rotate("root", KeyKind::EcdsaP256);
    sim.repo.publish_root();
    sim.publish();
    ok(sim.refresh());
    assert_eq!(sim.stored("root"), sim.repo.published_roots[1]);

    // Not signed by the old key: refused, v1 stays.
    for cosign in [false, true] {
        let mut sim = Sim::new();
        assert_eq!(sim.init(), 0);
        sim.repo.rotate("root", KeyKind::Ed25519);
        if cosign {
            // Signed by the old key only (new key's signature missing).
            let old = std::mem::take(&mut sim.repo.next_root_cosigners);
            let new = std::mem::replace(sim.repo.signers.get_mut("root").unwrap(), old);
            sim.repo.publish_root();
            *sim.repo.signers.get_mut("root").unwrap() = new;
        } else {
            sim.repo.next_root_cosigners.clear();
            sim.repo.publish_root();
        }
        sim.publish();
        fails(
            sim.refresh(),
            "root (2.root.json): signature threshold not met",
        );
        assert_eq!(sim.stored("root"), sim.repo.published_roots[0]);
    }
}

#[test]
fn mix_and_match_and_endless_data_fail_the_refresh() {
    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    // The timestamp pins snapshot v2; only v1 content is served as v2.
    let v1 = std::fs::read(sim.mirror.join("metadata/1.snapshot.json")).unwrap();
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    std::fs::write(sim.mirror.join("metadata/2.snapshot.json"), v1).unwrap();
    fails(sim.refresh(), "version 1, but timestamp requires version 2");
    assert_eq!(sim.version("timestamp"), 2);

    let mut sim = Sim::new();
    assert_eq!(sim.init(), 0);
    sim.repo.timestamp["padding"] = json!("x".repeat(20_000));
    sim.publish();
    fails(sim.refresh(), "larger than the 16384-byte limit");
}

// ---- downloads ----------------------------------------------------------------------

#[test]
fn downloads_verify_cache_and_refuse_substitutes() {
    let mut sim = Sim::new();
    sim.repo
        .add_target("targets", "target_file.txt", b"target file contents");
    sim.repo
        .add_target("targets", "path/to/a/target_file.txt", b"nested contents");
    sim.repo
        .add_target("targets", "another_target_file.txt", b"content");
    sim.publish();
    assert_eq!(sim.init(), 0);
    ok(sim.refresh());
    assert!(sim.downloaded().is_empty());
    ok(sim.download("target_file.txt"));
    ok(sim.download("path/to/a/target_file.txt"));
    // Stored by percent-encoded name: path%2Fto%2F… sorts first.
    assert_eq!(
        sim.downloaded(),
        [
            b"nested contents".to_vec(),
            b"target file contents".to_vec()
        ]
    );
    let fetched = sim.target_requests().len();
    // Cached: asked again, nothing is downloaded.
    ok(sim.download("target_file.txt"));
    assert_eq!(sim.target_requests().len(), fetched);

    // The mirror swaps both files for malicious bytes.
    for entry in walk(&sim.mirror.join("targets")) {
        std::fs::write(entry, b"malicious data - should not download").unwrap();
    }
    let _ = sim.download("target_file.txt");
    fails(
        sim.download("another_target_file.txt"),
        "another_target_file.txt",
    );
    assert_eq!(sim.downloaded().len(), 2);
    assert!(!sim.target_dir.join("another_target_file.txt").exists());
    fails(sim.download("nonexistent artifact"), "is not listed");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_changed_target_replaces_the_cached_copy() {
    let mut sim = Sim::new();
    sim.repo.add_target("targets", "t.txt", b"one");
    sim.publish();
    assert_eq!(sim.init(), 0);
    ok(sim.download("t.txt"));
    sim.repo.add_target("targets", "t.txt", b"two!");
    sim.repo.bump("targets");
    sim.repo.bump("snapshot");
    sim.repo.bump("timestamp");
    sim.publish();
    ok(sim.download("t.txt"));
    assert_eq!(sim.downloaded(), [b"two!".to_vec()]);
}

// ---- delegations ----------------------------------------------------------------------

/// (delegator, role, paths, terminating)
type Graph<'a> = &'a [(&'a str, &'a str, &'a [&'a str], bool)];

fn delegated_requests(graph: Graph<'_>, target: &str) -> (i32, Vec<String>) {
    let mut repo = Repo::new(KeyKind::Ed25519);
    for (delegator, role, paths, terminating) in graph {
        repo.delegate(delegator, role, paths, *terminating, KeyKind::Ed25519);
    }
    let sim = Sim::with(repo);
    assert_eq!(sim.init(), 0);
    let out = sim.download(target);
    let requests = sim.metadata_requests();
    (code(&out), requests[4..].to_vec())
}

#[test]
fn delegations_are_searched_pre_order_depth_first() {
    let star: &[&str] = &["*"];
    let py: &[&str] = &["*.py"];
    let cases: &[(&str, Graph<'_>, &[&str])] = &[
        (
            "dfs",
            &[
                ("targets", "A", star, false),
                ("targets", "B", star, false),
                ("A", "C", star, false),
                ("A", "D", star, false),
            ],
            &["A", "C", "D", "B"],
        ),
        (
            "terminating",
            &[
                ("targets", "A", star, false),
                ("targets", "B", star, false),
                ("A", "C", star, true),
                ("A", "D", star, false),
            ],
            &["A", "C"],
        ),
        (
            "paths",
            &[
                ("targets", "A", py, false),
                ("targets", "B", star, false),
                ("A", "C", star, false),
            ],
            &["B"],
        ),
        (
            "cycle",
            &[
                ("targets", "A", star, false),
                ("targets", "B", star, false),
                ("B", "C", star, false),
                ("C", "D", star, false),
                ("D", "B", star, false),
            ],
            &["A", "B", "C", "D"],
        ),
        (
            "shared child",
            &[
                ("targets", "A", star, false),
                ("targets", "B", star, false),
                ("B", "C", star, false),
                ("A", "C", star, false),
            ],
            &["A", "C", "B"],
        ),
    ];
    for (name, graph, order) in cases {
        let (code, requests) = delegated_requests(graph, "missingpath");
        assert_eq!(code, 1, "{name}");
        let expected: Vec<String> = order.iter().map(|r| format!("1.{r}.json")).collect();
        assert_eq!(requests, expected, "{name}");
    }
}

#[test]
fn targets_are_found_through_matching_delegations_only() {
    let mut repo = Repo::new(KeyKind::Ed25519);
    repo.delegate("targets", "A", &["*.doc", "*.md"], false, KeyKind::Ed25519);
    repo.delegate("targets", "B", &["releases/*/*"], false, KeyKind::EcdsaP256);
    repo.delegate("B", "C", &["releases/x/*"], false, KeyKind::Ed25519);
    repo.delegate("B", "D", &["releases/y/*.zip"], false, KeyKind::Ed25519);
    repo.add_target("targets", "targetfile", b"targetfile content");
    repo.add_target("A", "README.md", b"README by A");
    repo.add_target("C", "releases/x/x_v1", b"x release by C");
    repo.add_target("D", "releases/y/y_v1.zip", b"y release by D");
    repo.add_target("D", "releases/z/z_v1.zip", b"z release by D");
    for (target, found, visited) in [
        ("targetfile", true, &[][..]),
        ("README.md", true, &["A"][..]),
        ("releases/x/x_v1", true, &["B", "C"][..]),
        ("releases/y/y_v1.zip", true, &["B", "D"][..]),
        ("releases/z/z_v1.zip", false, &["B"][..]),
    ] {
        let mut copy = Repo::new(KeyKind::Ed25519);
        std::mem::swap(&mut copy, &mut repo);
        let sim = Sim::with(copy);
        assert_eq!(sim.init(), 0);
        let out = sim.download(target);
        assert_eq!(
            code(&out) == 0,
            found,
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let requests = sim.metadata_requests();
        let expected: Vec<String> = visited.iter().map(|r| format!("1.{r}.json")).collect();
        assert_eq!(requests[4..], expected, "{target}");
        if found {
            assert_eq!(sim.downloaded(), [sim.repo.artifacts[target].clone()]);
        }
        let Sim { repo: back, .. } = sim;
        repo = back;
    }
}

#[test]
fn unusual_role_names_are_quoted_in_requests_and_file_names() {
    for role in ["?", "#", "/delegatedrole", "../delegatedrole"] {
        let mut repo = Repo::new(KeyKind::Ed25519);
        repo.delegate("targets", role, &["*"], false, KeyKind::Ed25519);
        let sim = Sim::with(repo);
        assert_eq!(sim.init(), 0);
        assert_eq!(code(&sim.download("nonexistent target")), 1);
        let requests = sim.metadata_requests();
        assert!(
            requests.contains(&format!("1.{}.json", quote(role))),
            "{role}: {requests:?}"
        );
        let stored: Vec<_> = std::fs::read_dir(&sim.metadata_dir).unwrap().collect();
        assert_eq!(stored.len(), 5, "{role}");
        assert!(sim
            .metadata_dir
            .join(format!("{}.json", quote(role)))
            .is_file());
    }
}
