//! `site::load` against real registries (Debian's docker-registry,
//! distribution 2.8: no referrers API), read back with skopeo.

#[path = "../../verifier/tests/support/mod.rs"]
mod support;

use oci::copy::RetryPolicy;
use progress::{Event, NoProgress, Progress};
use oci::remote::{Auth, Credentials, Registry, RemoteOptions};
use oci::{Digest, Store, Tag};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use support::{noise, BundleWriter};
use verifier::bundle::content::CheckedContent;
use verifier::verify::VerifiedBundle;
use keys::SigningKey;
use oci::layout::LayoutRepository;
use site::load::{self, LoadOptions, LoadReport, RepositoryMapping, Resign, Target};
use verifier::signed_image::verify_image;
use verifier::store::BundleStore;

fn remote(registry: &testbed::Registry, credentials: Credentials) -> Registry {
    let options = RemoteOptions {
        credentials,
        insecure_hosts: vec![registry.host()],
        retry: RetryPolicy { attempts: 2, initial: Duration::from_millis(50), max: Duration::from_millis(100) },
        ..RemoteOptions::default()
    };
    Registry::new(&registry.host(), &options).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    bundle: std::path::PathBuf,
    app: support::Made,
    multi: oci::RawManifest,
    amd64: support::Made,
    arm64: support::Made,
    publisher: SigningKey,
}

/// A bundle with a single-platform image (signed by a publisher key, with
/// a referrer) and a two-platform index, sharing a base layer.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let base = noise(1, 300_000);
    let app = w.image("app", vec![base.clone(), noise(2, 50_000)]);
    let amd64 = w.image("multi-amd64", vec![base.clone(), noise(3, 20_000)]);
    let arm64 = w.image("multi-arm64", vec![base, noise(4, 20_000)]);
    w.add_image("ghcr.io/org/app:v1", &app);
    let multi = w.add_index("quay.io/team/multi:v2", &[("linux/amd64", &amd64), ("linux/arm64/v8", &arm64)]);
    let publisher = SigningKey::generate().unwrap();
    w.add_cosign_signature("ghcr.io/org/app:v1", app.digest(), &publisher, "ghcr.io/org/app");
    let app_raw = app.manifest.clone();
    w.add_referrer("ghcr.io/org/app:v1", &app_raw, "application/vnd.example.sbom+json", b"{\"sbom\":true}");
    let bundle = w.finish(&[]);
    Fixture { _dir: dir, bundle, app, multi, amd64, arm64, publisher }
}

fn do_load(rt: &tokio::runtime::Runtime, bundle: &VerifiedBundle, target: &Target, options: &LoadOptions<'_>, progress: &dyn Progress) -> site::Result<LoadReport> {
    let store = BundleStore::verified(bundle);
    rt.block_on(load::load(&store, target, options, progress))
}

fn skopeo_raw(registry: &testbed::Registry, reference: &str) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .args(registry.credentials().map(|(u, p)| format!("--creds={u}:{p}")))
        .arg(format!("docker://{}/{reference}", registry.host()))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo inspect {reference}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Every file under `dir` with its size: a registry's storage, to compare.
fn tree(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path().strip_prefix(dir).unwrap().display().to_string(), e.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn loads_byte_for_byte_with_evidence_and_resignatures_then_is_idempotent() {
    let f = fixture();
    let registry = testbed::Registry::start();
    let rt = testbed::runtime();
    let content = support::verified(&f.bundle);
    let target = Target::Registry(remote(&registry, Credentials::anonymous()));
    let site = SigningKey::generate().unwrap();
    let options = LoadOptions {
        mapping: RepositoryMapping::new("mirror").unwrap(),
        resign: Some(Resign { key: &site, identity: None }),
        ..LoadOptions::default()
    };
    let report = do_load(&rt, &content, &target, &options, &NoProgress).unwrap();
    let host = registry.host();

    // Byte for byte, by tag and by digest, read back by skopeo.
    let app_repo = "mirror/ghcr.io/org/app";
    let multi_repo = "mirror/quay.io/team/multi";
    assert_eq!(skopeo_raw(&registry, &format!("{app_repo}:v1")), f.app.manifest.bytes());
    assert_eq!(skopeo_raw(&registry, &format!("{multi_repo}:v2")), f.multi.bytes());
    assert_eq!(skopeo_raw(&registry, &format!("{multi_repo}@{}", f.arm64.digest())), f.arm64.manifest.bytes());
    let pulled = tempfile::tempdir().unwrap();
    registry.skopeo_pull(&format!("{multi_repo}:v2"), &format!("oci:{}:v2", pulled.path().display()));
    for layer in f.amd64.layers.iter().chain(&f.arm64.layers) {
        let ours = std::fs::read(f.bundle.join("blobs/sha256").join(layer.digest.hex())).unwrap();
        let theirs = std::fs::read(pulled.path().join("blobs/sha256").join(layer.digest.hex())).unwrap();
        assert!(ours == theirs, "layer {} differs", layer.digest);
    }

    // The mapping file names every image with its digest.
    let lines = report.mapping_lines();
    assert!(lines.contains(&format!("ghcr.io/org/app:v1 {host}/{app_repo}:v1@{}\n", f.app.digest())), "{lines}");
    assert!(lines.contains(&format!("quay.io/team/multi:v2 {host}/{multi_repo}:v2@{}\n", f.multi.digest())), "{lines}");
    // The shared base layer was uploaded once and mounted into the other repository.
    assert_eq!(report.totals.blobs_mounted, 1, "{:?}", report.totals);

    // Evidence where cosign and OCI 1.1 clients look.
    let app_store = oci::remote::Registry::repository(&remote(&registry, Credentials::anonymous()), app_repo).unwrap();
    let tags = rt.block_on(app_store.list_tags()).unwrap();
    let sig_tag = Tag::cosign_for(f.app.digest(), "sig").unwrap();
    let referrers_tag = Tag::referrers_for(f.app.digest()).unwrap();
    assert!(tags.contains(&sig_tag) && tags.contains(&referrers_tag), "{tags:?}");
    let referrers = rt.block_on(oci::store::referrers(&app_store, f.app.digest())).unwrap();
    // The carried SBOM referrer only: the image has no Sigstore bundle, so
    // the site's re-signature stays in the .sig tag, where cosign reads it.
    assert_eq!(referrers.len(), 1, "{referrers:?}");
    assert_eq!(referrers[0].artifact_type.as_deref(), Some("application/vnd.example.sbom+json"));
    // The .sig tag keeps the publisher's layer and adds the site's.
    let sig = rt.block_on(app_store.get_manifest(&rt.block_on(app_store.resolve_tag(&sig_tag)).unwrap().digest)).unwrap();
    let oci::Manifest::Image(sig) = sig.manifest() else { panic!("image manifest") };
    assert_eq!(sig.layers.len(), 2);
    // Both keys verify over the same digest; an unrelated key does not.
    rt.block_on(verify_image(&app_store, f.app.digest(), site.public_key())).unwrap();
    rt.block_on(verify_image(&app_store, f.app.digest(), f.publisher.public_key())).unwrap();
    let stranger = SigningKey::generate().unwrap();
    let e = rt.block_on(verify_image(&app_store, f.app.digest(), stranger.public_key())).unwrap_err();
    assert!(e.to_string().contains("none of the 2 signatures"), "{e}");
    // Each platform child is re-signed too, with the internal name.
    let multi_store = oci::remote::Registry::repository(&remote(&registry, Credentials::anonymous()), multi_repo).unwrap();
    for child in [f.amd64.digest(), f.arm64.digest(), f.multi.digest()] {
        let facts = rt.block_on(verify_image(&multi_store, child, site.public_key())).unwrap();
        assert_eq!(facts.docker_reference, format!("{host}/{multi_repo}"));
        assert_eq!(facts.optional["dev.airlock.source"], "quay.io/team/multi");
    }
    assert_eq!(report.totals.signatures_added, 4);

    // Idempotent: a second load uploads nothing, signs nothing, and leaves
    // the registry's storage as it was.
    let before = tree(&registry.storage_dir());
    let again = do_load(&rt, &content, &target, &options, &NoProgress).unwrap();
    assert_eq!((again.totals.blobs_uploaded, again.totals.bytes_uploaded, again.totals.signatures_added), (0, 0, 0), "{:?}", again.totals);
    assert_eq!(again.mapping_lines(), report.mapping_lines());
    assert_eq!(tree(&registry.storage_dir()), before);
}

/// Kills the registry once `after` bytes have been pushed.
struct KillAfter {
    registry: Mutex<Option<testbed::Registry>>,
    pushed: AtomicU64,
    after: u64,
}

impl Progress for KillAfter {
    fn event(&self, event: Event<'_>) {
        if let Event::Advance(n) = event {
            let before = self.pushed.fetch_add(n, Ordering::SeqCst);
            if before < self.after && before + n >= self.after {
                if let Some(r) = self.registry.lock().unwrap().as_mut() {
                    r.kill();
                }
            }
        }
    }
}

#[test]
fn a_load_interrupted_by_a_registry_crash_completes_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let signer = SigningKey::generate().unwrap();
    for i in 0..6u64 {
        let made = w.image(&format!("app{i}"), vec![noise(100, 2_000_000), noise(i * 10 + 1, 1_500_000), noise(i * 10 + 2, 1_000_000)]);
        let reference = format!("registry.example/crash/app{i}:v{i}");
        w.add_image(&reference, &made);
        w.add_cosign_signature(&reference, made.digest(), &signer, "registry.example/crash");
    }
    let bundle = w.finish(&[]);
    let content = support::verified(&bundle);
    let rt = testbed::runtime();
    let registry = testbed::Registry::start();
    let target = Target::Registry(remote(&registry, Credentials::anonymous()));
    let site = SigningKey::generate().unwrap();
    let options = LoadOptions {
        jobs: 2,
        retry: RetryPolicy { attempts: 2, initial: Duration::from_millis(20), max: Duration::from_millis(50) },
        resign: Some(Resign { key: &site, identity: None }),
        ..LoadOptions::default()
    };
    let killer = KillAfter { registry: Mutex::new(Some(registry)), pushed: AtomicU64::new(0), after: 5_000_000 };
    let err = do_load(&rt, &content, &target, &options, &killer).unwrap_err();
    assert!(!err.to_string().is_empty());
    let mut registry = killer.registry.lock().unwrap().take().unwrap();
    registry.restart();

    // What the crash left is consistent already: every tag resolves to a
    // complete graph (here: no tag was set yet).
    assert_consistent(&rt, &registry, content.content());
    let report = do_load(&rt, &content, &target, &options, &NoProgress).unwrap();
    assert_eq!(report.images.len(), 6);
    assert_consistent(&rt, &registry, content.content());
    for image in &report.images {
        let repo = image.repository.split_once('/').unwrap().1;
        let tag = image.tag.as_deref().unwrap();
        let store = oci::remote::Registry::repository(&remote(&registry, Credentials::anonymous()), repo).unwrap();
        let raw = skopeo_raw(&registry, &format!("{repo}:{tag}"));
        assert_eq!(Digest::sha256_of(&raw), image.digest);
        rt.block_on(verify_image(&store, &image.digest, site.public_key())).unwrap();
    }
    // Running once more changes nothing.
    let again = do_load(&rt, &content, &target, &options, &NoProgress).unwrap();
    assert_eq!((again.totals.blobs_uploaded, again.totals.signatures_added), (0, 0));
}

/// Every tag of every repository the bundle maps to points at a manifest
/// whose whole graph (children, configs, layers) is in the registry.
fn assert_consistent(rt: &tokio::runtime::Runtime, registry: &testbed::Registry, content: &CheckedContent) {
    let remote = remote(registry, Credentials::anonymous());
    for image in &content.manifest.manifest.images {
        let reference: oci::ImageRef = image.reference.parse().unwrap();
        let repo = RepositoryMapping::default().map(&reference).unwrap().repository;
        let store = oci::remote::Registry::repository(&remote, &repo).unwrap();
        for tag in rt.block_on(store.list_tags()).unwrap() {
            let root = rt.block_on(store.resolve_tag(&tag)).unwrap_or_else(|e| panic!("{repo}:{tag} dangles: {e}"));
            let graph = rt.block_on(oci::store::walk(&store, &root, &[])).unwrap_or_else(|e| panic!("{repo}:{tag}: {e}"));
            for blob in &graph.blobs {
                assert!(rt.block_on(store.has_blob(blob)).unwrap(), "{repo}:{tag} refers to missing blob {}", blob.digest);
            }
        }
    }
}

#[test]
fn loads_into_a_registry_with_basic_auth() {
    let f = fixture();
    let registry = testbed::Registry::start_with_basic_auth("site", "pw-for-test");
    let rt = testbed::runtime();
    let content = support::verified(&f.bundle);
    // Without credentials: refused, and the password never appears anywhere.
    let anonymous = Target::Registry(remote(&registry, Credentials::anonymous()));
    let e = do_load(&rt, &content, &anonymous, &LoadOptions::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("401") || e.to_string().to_lowercase().contains("unauthorized"), "{e}");
    let mut credentials = Credentials::anonymous();
    credentials.insert(&registry.host(), Auth::Basic { username: "site".into(), password: "pw-for-test".into() });
    let target = Target::Registry(remote(&registry, credentials));
    let report = do_load(&rt, &content, &target, &LoadOptions::default(), &NoProgress).unwrap();
    assert!(!format!("{report:?}").contains("pw-for-test"));
    assert_eq!(skopeo_raw(&registry, "ghcr.io/org/app:v1"), f.app.manifest.bytes());
}

#[test]
fn loads_into_a_layout_that_names_repositories_in_its_tags() {
    let f = fixture();
    let rt = testbed::runtime();
    let content = support::verified(&f.bundle);
    let out = tempfile::tempdir().unwrap();
    let layout = oci::Layout::create(out.path().join("store")).unwrap();
    let site = SigningKey::generate().unwrap();
    let options = LoadOptions { resign: Some(Resign { key: &site, identity: Some("registry.site:5000/mirror") }), ..LoadOptions::default() };
    let report = do_load(&rt, &content, &Target::Layout(layout.clone()), &options, &NoProgress).unwrap();
    assert!(report.mapping_lines().contains(&format!("ghcr.io/org/app:v1 ghcr.io/org/app:v1@{}", f.app.digest())));
    let names: Vec<String> = layout.entries().iter().filter_map(|d| d.ref_name().map(String::from)).collect();
    assert!(names.contains(&"ghcr.io/org/app:v1".to_string()), "{names:?}");
    assert!(names.contains(&format!("ghcr.io/org/app:{}", Tag::cosign_for(f.app.digest(), "sig").unwrap())), "{names:?}");
    assert!(names.contains(&format!("ghcr.io/org/app:{}", Tag::referrers_for(f.app.digest()).unwrap())), "{names:?}");
    // The identity option names the pull name in the signature.
    let repo = LayoutRepository::new(layout.clone(), "quay.io/team/multi");
    let facts = rt.block_on(verify_image(&repo, f.multi.digest(), site.public_key())).unwrap();
    assert_eq!(facts.docker_reference, "registry.site:5000/mirror/quay.io/team/multi");
    let roots = layout.repository_roots();
    assert!(roots.iter().any(|r| r.repository == "quay.io/team/multi" && r.tag.as_ref().map(Tag::as_str) == Some("v2")));
    // Idempotent here too.
    let index_before = std::fs::read(out.path().join("store/index.json")).unwrap();
    let again = do_load(&rt, &content, &Target::Layout(layout), &options, &NoProgress).unwrap();
    assert_eq!(again.totals.blobs_uploaded + again.totals.signatures_added, 0);
    assert_eq!(std::fs::read(out.path().join("store/index.json")).unwrap(), index_before);
}

#[test]
fn an_inherited_blob_missing_from_the_target_stops_the_load_before_any_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let made = w.image("inc", vec![noise(7, 10_000), noise(8, 10_000)]);
    w.add_image("registry.example/inc:v1", &made);
    let bundle = w.finish(&[made.layers[0].digest.clone()]);
    let content = support::verified(&bundle);
    let registry = testbed::Registry::start();
    let rt = testbed::runtime();
    let before = tree(&registry.storage_dir());
    let e = do_load(&rt, &content, &Target::Registry(remote(&registry, Credentials::anonymous())), &LoadOptions::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("not carried by this incremental bundle"), "{e}");
    assert_eq!(tree(&registry.storage_dir()), before);
}

#[test]
fn a_blob_changed_after_the_check_is_refused_while_pushing() {
    let f = fixture();
    let content = support::verified(&f.bundle);
    // Same size, one byte flipped, after content::open checked it.
    let path = f.bundle.join("blobs/sha256").join(f.app.layers[1].digest.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let registry = testbed::Registry::start();
    let rt = testbed::runtime();
    let target = Target::Registry(remote(&registry, Credentials::anonymous()));
    let e = do_load(&rt, &content, &target, &LoadOptions::default(), &NoProgress).unwrap_err();
    // Our re-hash fails the stream at its end; if the body was already
    // sent, the registry's own check refuses it: either way, refused.
    let text = e.to_string();
    assert!(text.contains("digest mismatch") || text.contains("DIGEST_INVALID"), "{text}");
    // Nothing refers to the tampered layer: no manifest, no tag.
    let store = oci::remote::Registry::repository(&remote(&registry, Credentials::anonymous()), "ghcr.io/org/app").unwrap();
    assert!(rt.block_on(store.list_tags()).unwrap().is_empty());
    assert!(!rt.block_on(store.has_blob(&f.app.layers[1])).unwrap());
}

#[test]
fn mapping_collisions_are_refused_before_any_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BundleWriter::new(&dir.path().join("bundle"));
    let a = w.image("a", vec![noise(20, 1000)]);
    let b = w.image("b", vec![noise(21, 1000)]);
    w.add_image("ghcr.io/one/app:v1", &a);
    w.add_image("ghcr.io/two/app:v1", &b);
    let content = support::verified(&w.finish(&[]));
    let out = tempfile::tempdir().unwrap();
    let layout = oci::Layout::create(out.path()).unwrap();
    let mapping = RepositoryMapping::new("").unwrap().with_rule_text("ghcr.io/one=app").unwrap().with_rule_text("ghcr.io/two=app").unwrap();
    let options = LoadOptions { mapping, ..LoadOptions::default() };
    let e = do_load(&testbed::runtime(), &content, &Target::Layout(layout.clone()), &options, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("would both be loaded into repository app/app"), "{e}");
    assert!(layout.entries().is_empty());
}
