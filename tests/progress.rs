//! Progress as an operator's logs see it: with stderr not a terminal (a
//! pipe here, as in CI), `bundle create`, `verify` and `load` write one
//! line per phase; with `--quiet` (or `-q`) nothing at all on success.

mod common;

use common::{airlock, CliEnv, Env, Run};
use testbed::SignMode;
use std::collections::BTreeMap;
use std::path::Path;

/// Lines of `stderr` that are a phase's progress (`name: ...`), counted by
/// phase name.
fn phase_lines(stderr: &str, phases: &[&str]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in stderr.lines() {
        if let Some((name, _)) = line.split_once(": ") {
            if phases.contains(&name) {
                *counts.entry(name.to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn once_each(phases: &[&str]) -> BTreeMap<String, usize> {
    phases.iter().map(|p| (p.to_string(), 1)).collect()
}

const ALL_PHASES: &[&str] = &["trust", "resolve", "collect", "evidence", "fetch", "verify", "write", "archive", "check", "push"];

fn verify(bundle: &Path, flags: &[String], extra: &[&str]) -> Run {
    Run::from_output(airlock().arg("verify").arg(bundle).args(flags).args(extra).output().unwrap())
}

fn load(env: &Env, bundle: &Path, flags: &[String], extra: &[&str]) -> Run {
    let host = env.registry.host();
    Run::from_output(
        airlock()
            .arg("load")
            .arg(bundle)
            .args(["--to", &format!("{host}/site"), "--insecure-registry", &host])
            .args(flags)
            .args(extra)
            .env("DOCKER_CONFIG", env.dir.path())
            .output()
            .unwrap(),
    )
}

#[test]
fn without_a_terminal_each_phase_is_one_line_and_quiet_prints_nothing() {
    let env = Env::start();
    let app = env.registry.push_image("test/app:v1", "app");
    env.sign("test/app", &app, SignMode::Legacy);
    let reference = env.reference("test/app:v1");

    // bundle create: a directory, then a .tar.zst (written in one pass).
    let dir = env.path("bundle");
    let run = env.run(&[&reference, "--out", dir.to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let phases = ["trust", "resolve", "collect", "evidence", "verify", "write", "fetch"];
    assert_eq!(phase_lines(&run.stderr, ALL_PHASES), once_each(&phases), "{}", run.stderr);
    // Each line says how much and how long.
    let fetch = run.stderr.lines().find(|l| l.starts_with("fetch: ")).unwrap();
    assert!(fetch.contains("B of ") && fetch.ends_with('s'), "{fetch}");

    let archive = env.path("bundle.tar.zst");
    let run = env.run(&[&reference, "--out", archive.to_str().unwrap(), "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let phases = ["trust", "resolve", "collect", "evidence", "verify", "write", "archive"];
    assert_eq!(phase_lines(&run.stderr, ALL_PHASES), once_each(&phases), "{}", run.stderr);

    for quiet in ["--quiet", "-q"] {
        let out = env.path(&format!("quiet{quiet}"));
        let run = env.run(&[&reference, "--out", out.to_str().unwrap(), "--output", "json", quiet]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr, "", "{quiet}");
        assert!(run.json()["bundleId"].is_string(), "the report still goes to stdout");
    }

    // verify: one `check` line (hashing every blob), then nothing with -q.
    let flags = common::admit_all(env.dir.path());
    let run = verify(&dir, &flags, &["--output", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(phase_lines(&run.stderr, ALL_PHASES), once_each(&["check"]), "{}", run.stderr);
    let run = verify(&dir, &flags, &["--output", "json", "--quiet"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));

    // load: `check`, then `push` (the push phase reports through the same
    // interface); nothing with --quiet, text output included.
    let run = load(&env, &dir, &flags, &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(phase_lines(&run.stderr, ALL_PHASES), once_each(&["check", "push"]), "{}", run.stderr);
    let push = run.stderr.lines().find(|l| l.starts_with("push: ")).unwrap();
    assert!(push.contains("B of "), "{push}");
    let run = load(&env, &archive, &flags, &["--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.contains("site"), "the text report still goes to stdout: {}", run.stdout);

    // A failure is still reported under --quiet.
    let missing = env.path("no-such-bundle");
    let run = verify(&missing, &flags, &["--quiet"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no-such-bundle"), "{}", run.stderr);
}
