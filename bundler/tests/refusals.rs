//! Every way `bundler::create` must refuse, each naming what it refused,
//! and never leaving a bundle that looks complete.

mod common;

use bundler::{Error, ErrorKind, Output};
use common::*;
use oci::Digest;
use testbed::SignMode;

fn no_manifest(env: &Env, name: &str) {
    assert!(!env.path(name).join("airlock/manifest.json").exists(), "a refused run leaves no manifest");
}

#[test]
fn an_unknown_image_is_named() {
    let env = Env::start();
    env.registry.push_image("test/app:v1", "app");
    let err = create(&env.request(&["test/app:v1", "test/app:nope"], Output::Directory(env.path("b")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
    let text = err.to_string();
    assert!(text.contains("test/app:nope") && text.contains("not found"), "{text}");
    no_manifest(&env, "b");
}

#[test]
fn an_unreachable_registry_is_named() {
    let env = Env::start();
    let port = testbed::free_port();
    let mut request = env.request(&["test/app:v1"], Output::Directory(env.path("b")));
    request.images = vec![format!("127.0.0.1:{port}/test/app:v1").parse().unwrap()];
    request.remote.insecure_hosts.push(format!("127.0.0.1:{port}"));
    let err = create(&request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}/test/app:v1")), "{text}");
    assert!(text.to_lowercase().contains("connect"), "{text}");
}

/// A signature whose bytes were changed after signing: the self-check
/// refuses the bundle, naming the image and the evidence.
#[test]
fn a_signature_that_does_not_verify_is_refused() {
    let env = Env::start();
    let app = env.signed_image("test/app:v1", "app", SignMode::Legacy);
    let other = env.signed_image("test/other:v1", "other", SignMode::Legacy);
    let repo = env.repo("test/app");
    let mut layer = sig_layer(&repo, &app);
    // Another genuine signature by the same lab, over another payload.
    let other_layer = sig_layer(&env.repo("test/other"), &other);
    layer.annotations.insert(
        "dev.cosignproject.cosign/signature".into(),
        other_layer.annotations["dev.cosignproject.cosign/signature"].clone(),
    );
    let tampered = push_cosign(&repo, &app, "sig", &[layer.clone()]);
    let err = create(&env.request(&["test/app:v1"], Output::Directory(env.path("b")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    match &err {
        Error::SelfCheck { at, kind, .. } => {
            assert!(at.image.ends_with("test/app:v1"));
            assert_eq!(at.evidence, tampered);
            assert_eq!(at.layer, Some(Digest::sha256_of(&layer.bytes)));
            assert_eq!(*kind, "cosign-signature");
        }
        other => panic!("expected a self-check refusal, got {other:?}"),
    }
    assert!(err.to_string().contains("does not verify"), "{err}");
    no_manifest(&env, "b");
}

/// A payload naming another image is refused even when nothing else could
/// be checked.
#[test]
fn a_signature_for_another_image_is_refused() {
    let env = Env::start();
    let app = env.signed_image("test/app:v1", "app", SignMode::Legacy);
    let other: Digest = env.registry.push_image("test/app:v2", "other").parse().unwrap();
    let layer = sig_layer(&env.repo("test/app"), &app);
    push_cosign(&env.repo("test/app"), &other, "sig", &[layer]);
    let err = create(&env.request(&["test/app:v2"], Output::Directory(env.path("b")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(err.to_string().contains("payload-digest"), "{err}");
}

/// A SET whose log index points at another entry: Rekor returns that
/// entry, whose body is not the one the SET signs.
#[test]
fn a_rekor_entry_whose_body_differs_from_the_set_is_refused() {
    let env = Env::start();
    let first = env.signed_image("test/first:v1", "first", SignMode::Legacy);
    let second = env.signed_image("test/second:v1", "second", SignMode::Legacy);
    let first_set: serde_json::Value = serde_json::from_str(&sig_layer(&env.repo("test/first"), &first).annotations["dev.sigstore.cosign/bundle"]).unwrap();
    let repo = env.repo("test/second");
    let mut layer = sig_layer(&repo, &second);
    let mut set: serde_json::Value = serde_json::from_str(&layer.annotations["dev.sigstore.cosign/bundle"]).unwrap();
    set["Payload"]["logIndex"] = first_set["Payload"]["logIndex"].clone();
    layer.annotations.insert("dev.sigstore.cosign/bundle".into(), set.to_string());
    let evidence = push_cosign(&repo, &second, "sig", &[layer.clone()]);
    let err = create(&env.request(&["test/second:v1"], Output::Directory(env.path("b")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    match &err {
        Error::RekorMismatch { at, field, .. } => {
            assert!(at.image.ends_with("test/second:v1"));
            assert_eq!(at.evidence, evidence);
            assert_eq!(at.layer, Some(Digest::sha256_of(&layer.bytes)));
            assert_eq!(*field, "body");
        }
        other => panic!("expected a Rekor mismatch, got {other:?}"),
    }
    no_manifest(&env, "b");
}

#[test]
fn an_unreachable_rekor_is_named() {
    let env = Env::start();
    env.signed_image("test/app:v1", "app", SignMode::Legacy);
    let mut request = env.request(&["test/app:v1"], Output::Directory(env.path("b")));
    // The operator's Rekor overrides the trust root's, which would answer.
    let dead = format!("http://127.0.0.1:{}", testbed::free_port());
    request.rekor_url = Some(dead.clone());
    let err = create(&request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Environment);
    assert!(matches!(err, Error::Rekor { .. }), "{err:?}");
    assert!(err.to_string().contains(&dead), "{err}");
}

#[test]
fn an_output_directory_that_is_not_a_bundle_is_left_alone() {
    let env = Env::start();
    env.registry.push_image("test/app:v1", "app");
    let out = env.path("home");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let err = create(&env.request(&["test/app:v1"], Output::Directory(out.clone()))).unwrap_err();
    assert!(err.to_string().contains("not an airlock bundle"), "{err}");
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn output_flags_must_agree() {
    let p = std::path::PathBuf::from;
    assert!(Output::new(p("b.tar.gz"), Some(bundler::Compression::Zstd), None).is_err());
    assert!(Output::new(p("b"), Some(bundler::Compression::Gzip), None).is_err());
    assert!(Output::new(p("b"), None, Some(1 << 20)).is_err());
    assert_eq!(
        Output::new(p("b.tar.zst"), None, None).unwrap(),
        Output::Archive { path: p("b.tar.zst"), compression: bundler::Compression::Zstd, split: None }
    );
    assert_eq!(Output::new(p("b"), Some(bundler::Compression::None), None).unwrap(), Output::Directory(p("b")));
    assert_eq!(Output::new(p(".tar"), None, None).unwrap(), Output::Directory(p(".tar")));
}

/// The self-check files evidence by content, exactly as `verify` does: a
/// genuine signature pushed under the `.att` tag, or a DSSE envelope under
/// the `.sig` tag, is refused by name before anything is written.
#[test]
fn evidence_under_the_wrong_cosign_tag_is_refused_by_name() {
    let env = Env::start();
    let app = env.signed_image("test/app:v1", "app", SignMode::Legacy);
    let repo = env.repo("test/app");
    let signature = sig_layer(&repo, &app);
    push_cosign(&repo, &app, "att", &[signature]);
    let err = create(&env.request(&["test/app:v1"], Output::Directory(env.path("b")))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    let text = err.to_string();
    assert!(text.contains("filed as cosign-attestation") && text.contains("simple-signing"), "{text}");
    no_manifest(&env, "b");

    let other = env.signed_image("test/other:v1", "other", SignMode::Legacy);
    let mut envelope = sig_layer(&env.repo("test/other"), &other);
    envelope.media_type = "application/vnd.dsse.envelope.v1+json".into();
    envelope.bytes = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}"#.to_vec();
    push_cosign(&env.repo("test/other"), &other, "sig", &[envelope]);
    let err = create(&env.request(&["test/other:v1"], Output::Directory(env.path("c")))).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("filed as cosign-signature") && text.contains("DSSE attestation"), "{text}");
}
