//! Typed inputs several commands build the same way.

use std::path::Path;
use trust_roots::{PinnedRoot, ReferenceTime, TimePolicy};

/// The local clock, to the second: the CLI reads it, libraries never do.
pub fn now() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now)
}

/// The pinned TUF root: the operator's file, or the embedded public-good root.
pub fn pinned_root(path: Option<&Path>) -> trust_roots::Result<PinnedRoot> {
    match path {
        Some(path) => PinnedRoot::from_file(path),
        None => PinnedRoot::public_good(),
    }
}

/// `--at` wins; otherwise the snapshot's fetch time, bounded by `max_age`.
pub fn time_policy(at: Option<jiff::Timestamp>, max_age: jiff::SignedDuration) -> TimePolicy {
    match at {
        Some(at) => TimePolicy::At(ReferenceTime::operator(at)),
        None => TimePolicy::FetchTime { local_clock: now(), max_age },
    }
}

/// `--jobs`, defaulting to the number of cores.
pub fn jobs(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1)
}

/// A public key file, for `--key` and `--transfer-key`.
pub fn public_key(path: &Path) -> anyhow::Result<verifier::check::signature::PublicKey> {
    use anyhow::Context;
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read public key {}", path.display()))?;
    verifier::check::signature::PublicKey::from_pem(&pem).with_context(|| format!("public key {}", path.display()))
}
