//! In-process cost of one verification: parse the bundle and verify it, N
//! times, as `pyverify.py --n N` does for sigstore-python. Driven by
//! `scripts/bench.sh verify-blob`; prints one JSON line.
//!
//!     cargo bench --bench verify_blob -- TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER N

use trust_roots::VerifiedTrustRoot;
use verifier::check::identity::{IdentityPolicy, Matcher};
use verifier::check::signature::{Artifact, Authority, Requirements, SignatureVerifier};
use verifier::evidence::sigstore::SigstoreBundle;

/// CPU time of this thread, from the scheduler (nanosecond resolution).
fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    stat.split_whitespace().next().unwrap().parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [root, bundle, artifact, identity, issuer, n] = args.as_slice() else {
        eprintln!("usage: verify_blob TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER N");
        std::process::exit(2);
    };
    let n: u32 = n.parse().expect("N");
    let setup = std::time::Instant::now();
    let trust = VerifiedTrustRoot::from_hand_managed_file(root.as_ref()).unwrap();
    let verifier = SignatureVerifier::new(&trust).unwrap();
    let authority = Authority::Keyless(IdentityPolicy {
        subject: Matcher::exact(identity.as_str()),
        issuer: Matcher::exact(issuer.as_str()),
    });
    let json = std::fs::read(bundle).unwrap();
    let data = std::fs::read(artifact).unwrap();
    let setup_ms = setup.elapsed().as_secs_f64() * 1e3;

    let (wall, cpu) = (std::time::Instant::now(), thread_cpu_ns());
    for _ in 0..n {
        let bundle = SigstoreBundle::from_json(&json).unwrap();
        verifier
            .verify(&bundle, Artifact::Bytes(&data), &authority, &Requirements::default())
            .expect("verification failed");
    }
    let cpu_ms = (thread_cpu_ns() - cpu) as f64 / 1e6 / n as f64;
    let wall_ms = wall.elapsed().as_secs_f64() * 1e3 / n as f64;
    println!(r#"{{"ok": true, "n": {n}, "setup_ms": {setup_ms:.3}, "per_bundle_ms": {wall_ms:.4}, "per_bundle_cpu_ms": {cpu_ms:.4}}}"#);
}
