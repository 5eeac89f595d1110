//! The real Sigstore production TUF repository (shared/realdata, section 1
//! of SOURCES.md), converted from its published layout to a snapshot
//! directory and verified offline from every supported pinned root.

use std::path::{Path, PathBuf};
use trust_roots::{verify_snapshot, PinnedRoot, ReferenceTime, TimePolicy};

fn realdata() -> PathBuf {
    testbed::realdata("tuf")
}

/// Unpack the repository and lay it out as a snapshot: metadata as
/// published, targets under their plain names.
fn snapshot_of_real_repository(tmp: &Path) -> PathBuf {
    tuf_testgen::untar_gz(&realdata().join("sigstore-public-good.tar.gz"), tmp);
    let repo = tmp.join("sigstore-public-good");
    let snap = tmp.join("snapshot");
    std::fs::create_dir_all(snap.join("metadata")).unwrap();
    std::fs::create_dir_all(snap.join("targets")).unwrap();
    for entry in std::fs::read_dir(repo.join("metadata")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name != "root.json" {
            std::fs::copy(entry.path(), snap.join("metadata").join(name)).unwrap();
        }
    }
    for (published, name) in [
        ("6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json", "trusted_root.json"),
        ("9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c.signing_config.v0.2.json", "signing_config.v0.2.json"),
    ] {
        std::fs::copy(repo.join("targets").join(published), snap.join("targets").join(name)).unwrap();
    }
    snap
}

fn pin(version: u64) -> PinnedRoot {
    PinnedRoot::from_file(&realdata().join(format!("roots/{version}.root.json"))).unwrap()
}

fn at(s: &str) -> TimePolicy {
    TimePolicy::At(ReferenceTime::operator(s.parse().unwrap()))
}

#[test]
fn real_chain_verifies_from_every_pin_from_v5_to_v15() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = snapshot_of_real_repository(tmp.path());
    for version in 5..=15 {
        let (root, report) = verify_snapshot(&snap, &pin(version), at("2026-08-22T00:00:00Z"))
            .unwrap_or_else(|e| panic!("pinned v{version}: {e}"));
        assert_eq!(report.roles.root.version, 15);
        assert_eq!(report.roles.timestamp.version, 762);
        assert_eq!(report.roles.snapshot.version, 165);
        assert_eq!(report.roles.targets.version, 14);
        assert_eq!(
            report.roots_walked,
            ((version + 1)..=15).collect::<Vec<_>>()
        );
        assert_eq!(report.roles.delegated.len(), 1, "the npm delegated role");
        assert_eq!(
            root.digest(),
            "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
        );
    }
}

#[test]
fn real_chain_is_expired_after_the_recorded_week_and_today() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = snapshot_of_real_repository(tmp.path());
    let err = verify_snapshot(&snap, &pin(5), at("2026-08-29T00:00:00Z")).unwrap_err();
    assert!(
        matches!(&err, trust_roots::Error::Expired { role, .. } if role == "timestamp"),
        "{err}"
    );
    let err = verify_snapshot(&snap, &pin(5), at("2026-11-23T00:00:00Z")).unwrap_err();
    assert!(
        matches!(&err, trust_roots::Error::Expired { role, .. } if role == "root"),
        "{err}"
    );
}
