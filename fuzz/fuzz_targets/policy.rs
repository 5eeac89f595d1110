//! The import-policy parser on arbitrary bytes: any input must give a
//! `Policy` or a `PolicyError`, never a panic, a hang or unbounded memory.
//! When a policy parses, glob matching runs over a few references too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier::policy::Policy;

const REFERENCES: [&str; 6] = [
    "alpine",
    "docker.io/library/alpine:3.20",
    "ghcr.io/example/app:v1.2.3",
    "ghcr.io/example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "localhost:5000/a/b:c",
    "registry.k8s.io/pause:3.9",
];

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::from_yaml(data, "fuzz") {
        for reference in REFERENCES {
            let _ = policy.rules_for(reference);
        }
        for rule in &policy.rules {
            for authority in &rule.authorities {
                if let verifier::policy::AuthorityKind::Verify(v) = &authority.kind {
                    let _ = v.candidates();
                }
            }
        }
    }
    // Glob compilation and reference parsing on the raw input, too.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(glob) = verifier::policy::ImageGlob::new(text) {
            for reference in REFERENCES {
                let _ = glob.matches(reference);
            }
        }
        let _ = verifier::policy::ImageGlob::new("**").map(|g| g.matches(text));
    }
});
