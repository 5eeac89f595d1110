//! Trust material fetched over TUF into the bundle (`--tuf-mirror URL
//! --tuf-root ROOT`): a signed repository served on loopback by tuf-testgen
//! whose `trusted_root.json` target is the lab's, so the self-check verifies
//! the lab's signatures with TUF-delivered keys, and the site can verify the
//! carried snapshot offline.

mod common;

use bundler::{Output, TrustInput};
use common::*;
use testbed::SignMode;
use tuf_testgen::{KeyKind, Repo, Server};
use verifier::bundle::manifest::TrustMaterial;

#[test]
fn a_tuf_snapshot_is_fetched_into_the_bundle_and_verifies_offline() {
    let env = Env::start();
    let app = env.signed_image("test/app:v1", "app", SignMode::Legacy);
    let mut repo = Repo::new(KeyKind::EcdsaP256);
    repo.add_target("targets", "trusted_root.json", &std::fs::read(env.trusted_root()).unwrap());
    let mirror = env.path("mirror");
    repo.files().write_nested_mirror(&mirror);
    let server = Server::serve(&mirror);
    let pinned = env.path("pinned-root.json");
    std::fs::write(&pinned, &repo.published_roots[0]).unwrap();

    let out = env.path("bundle");
    let mut request = env.request(&["test/app:v1"], Output::Directory(out.clone()));
    let mirror_url = format!("{}/metadata", server.url);
    request.trust = TrustInput::Tuf { mirror: mirror_url.clone(), root: Some(pinned.clone()) };
    let report = create(&request).unwrap();
    assert_eq!(report.trust.kind, "tuf");
    assert!(report.trust.tuf_chain_checked);
    assert_eq!(report.images[0].digest, app);
    assert_eq!(report.images[0].self_check.verified, 1, "verified with the TUF-delivered trusted root");

    let checked = open(&out, None).unwrap();
    let manifest = &checked.manifest.manifest;
    assert_eq!(manifest.trust, TrustMaterial::Tuf { path: "airlock/trust".into(), mirror: mirror_url });
    let trust_files: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).filter(|p| p.starts_with("airlock/trust/")).collect();
    assert!(trust_files.contains(&"airlock/trust/index.json"), "{trust_files:?}");
    assert!(trust_files.contains(&"airlock/trust/targets/trusted_root.json"), "{trust_files:?}");
    assert!(trust_files.iter().any(|f| f.starts_with("airlock/trust/metadata/") && f.ends_with("root.json")));
    assert_eq!(report.trust.files.len(), trust_files.len());

    // The site verifies the carried snapshot from its pin, offline, at the
    // bundle's creation time (the fetch time it records).
    let pin = trust_roots::PinnedRoot::from_file(&pinned).unwrap();
    let time = trust_roots::ReferenceTime::operator(CREATED.parse().unwrap());
    let (root, _) = trust_roots::verify_snapshot(&out.join("airlock/trust"), &pin, trust_roots::TimePolicy::At(time)).unwrap();
    assert_eq!(root.digest(), report.trust.trusted_root_digest);

    // Two runs give the same snapshot bytes: its recorded fetch time is the
    // pinned creation time.
    let again = env.path("again");
    let mut request2 = env.request(&["test/app:v1"], Output::Directory(again.clone()));
    request2.trust = request.trust.clone();
    create(&request2).unwrap();
    assert_eq!(tree_digest(&out.join("airlock/trust")), tree_digest(&again.join("airlock/trust")));
}

#[test]
fn an_unreachable_tuf_mirror_stops_the_bundle() {
    let env = Env::start();
    env.registry.push_image("test/app:v1", "app");
    let mut request = env.request(&["test/app:v1"], Output::Directory(env.path("b")));
    request.trust = TrustInput::Tuf { mirror: format!("http://127.0.0.1:{}/metadata", testbed::free_port()), root: None };
    let err = create(&request).unwrap_err();
    assert_eq!(err.kind(), bundler::ErrorKind::Environment, "{err}");
    assert!(err.to_string().contains("trust material"), "{err}");
}
