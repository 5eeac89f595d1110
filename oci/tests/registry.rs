//! The registry store against a real registry (Debian's docker-registry,
//! CNCF distribution 2.8), with skopeo and the sigstore-lab as peers.
//! Each test starts its own loopback registry (about 0.1 s).

use oci::copy::{self, CopyOptions, RetryPolicy};
use oci::manifest::{media_type, Manifest};
use oci::remote::{Credentials, RemoteOptions, Repository};
use oci::store::{self, Store};
use oci::testsuite::{self, Recorder};
use oci::{Digest, Error, ImageRef, Layout, Tag};
use std::process::Command;
use std::time::{Duration, Instant};
use testbed::{Lab, Registry, SignMode};
use tokio::io::AsyncReadExt;

fn options(registry: &Registry) -> RemoteOptions {
    RemoteOptions {
        insecure_hosts: vec![registry.host()],
        retry: RetryPolicy { attempts: 3, initial: Duration::from_millis(20), max: Duration::from_millis(100) },
        ..RemoteOptions::default()
    }
}

fn repo(registry: &Registry, name: &str, options: &RemoteOptions) -> Repository {
    let r: ImageRef = format!("{}/{name}", registry.host()).parse().unwrap();
    Repository::open(&r, options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_passes_the_store_suite() {
    let registry = Registry::start();
    let o = options(&registry);
    testsuite::run(&repo(&registry, "suite/plain", &o), "plain").await;
    // Copy between two repositories of the same registry: the second
    // repository's blobs are mounted, not uploaded.
    let src = repo(&registry, "copy/src", &o);
    let dst = repo(&registry, "copy/dst", &o);
    testsuite::copy_is_idempotent(&src, &dst, "r2r").await;
}

/// What bundling does: blobs of images in two repositories, into a layout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_set_from_two_repositories_is_copied_into_a_layout() {
    let registry = Registry::start();
    let o = options(&registry);
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("bundle")).unwrap();
    testsuite::copy_blobs_from_several_sources(&repo(&registry, "set/a", &o), &repo(&registry, "set/b", &o), &layout, "set").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_with_basic_auth_passes_the_suite_and_never_leaks_secrets() {
    let registry = Registry::start_with_basic_auth("alice", "correct-horse-battery");
    let dir = tempfile::tempdir().unwrap();
    let config = registry.write_docker_config(dir.path());
    let mut o = options(&registry);
    o.credentials = Credentials::from_docker_config(&config).unwrap();
    testsuite::run(&repo(&registry, "suite/auth", &o), "auth").await;
    assert!(!format!("{o:?}").contains("correct-horse"), "Debug shows the password");

    // Anonymous: refused, with a 401 named.
    let anon = repo(&registry, "suite/auth", &options(&registry));
    let e = anon.list_tags().await.unwrap_err();
    assert!(matches!(e, Error::Registry { status: Some(401), .. }), "{e}");
    // A wrong password: refused, and neither it nor its base64 form appears
    // in the error or its Debug form.
    let mut wrong = options(&registry);
    let mut creds = Credentials::anonymous();
    creds.insert(
        &registry.host(),
        oci::remote::Auth::Basic { username: "alice".into(), password: "wrong-secret-xyz".into() },
    );
    wrong.credentials = creds;
    let r = repo(&registry, "suite/auth", &wrong);
    let data = b"blob".to_vec();
    let d = testsuite::describe("application/octet-stream", &data);
    let errors = vec![
        r.list_tags().await.unwrap_err(),
        r.put_blob(&d, std::io::Cursor::new(data)).await.unwrap_err(),
        r.get_manifest(&d.digest).await.unwrap_err(),
        r.resolve_tag(&"v1".parse().unwrap()).await.unwrap_err(),
    ];
    for e in errors {
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains("wrong-secret-xyz"), "{shown}");
            assert!(!shown.contains("d3Jvbmctc2VjcmV0LXh5eg"), "{shown}");
            assert!(!shown.contains("YWxpY2U6d3Jvbmct"), "{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_layouts_and_ours_interoperate_byte_for_byte() {
    let registry = Registry::start();
    let o = options(&registry);
    let multi = registry.push_multiarch("interop/multi:v1", "interop");

    // skopeo writes a layout; we read and verify all of it.
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs");
    registry.skopeo_pull("interop/multi:v1", &format!("oci:{}:v1", theirs.display()));
    let layout = Layout::open(&theirs).unwrap();
    let root = layout.resolve_tag(&"v1".parse().unwrap()).await.unwrap();
    assert_eq!(root.digest.to_string(), multi.index);
    let graph = store::walk(&layout, &root, &[]).await.unwrap();
    assert_eq!(graph.manifests.len(), 3);
    for b in &graph.blobs {
        layout.open_blob(b).await.unwrap().read_to_end(&mut Vec::new()).await.unwrap();
    }

    // We write a layout from the registry; skopeo reads it and copies it
    // to another repository; the registry then holds the same bytes.
    let ours = Layout::create(dir.path().join("ours")).unwrap();
    let src = repo(&registry, "interop/multi", &o);
    let resolved = store::resolve(&src, &format!("{}/interop/multi:v1", registry.host()).parse().unwrap()).await.unwrap();
    let options = CopyOptions { tags: vec!["v1".parse().unwrap()], ..Default::default() };
    copy::copy(&src, &ours, &resolved, &options, &progress::NoProgress).await.unwrap();
    let skopeo_raw = Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:v1", ours.path().display()))
        .output()
        .unwrap();
    assert!(skopeo_raw.status.success(), "{}", String::from_utf8_lossy(&skopeo_raw.stderr));
    let index_bytes = src.get_manifest(&resolved.digest).await.unwrap();
    assert_eq!(skopeo_raw.stdout, index_bytes.bytes(), "skopeo reads our index byte for byte");
    registry.skopeo_push(&format!("oci:{}:v1", ours.path().display()), "interop/copied:v2");
    let copied = repo(&registry, "interop/copied", &o);
    let d = copied.resolve_tag(&"v2".parse().unwrap()).await.unwrap();
    assert_eq!(d.digest, resolved.digest);
    for (_, child) in &multi.children {
        let child: Digest = child.parse().unwrap();
        let a = src.get_manifest(&child).await.unwrap();
        let b = copied.get_manifest(&child).await.unwrap();
        assert_eq!(a.bytes(), b.bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_signatures_are_found_through_cosign_tags_and_the_referrers_fallback() {
    let registry = Registry::start();
    let o = options(&registry);
    let digest = registry.push_image("signed/app:v1", "signed");
    let lab = Lab::start();
    let image = format!("{}/signed/app@{digest}", registry.host());
    let legacy = lab.sign_image(&image, SignMode::Legacy, false);
    let bundle = lab.sign_image(&image, SignMode::Bundle, true);

    let r = repo(&registry, "signed/app", &o);
    let digest: Digest = digest.parse().unwrap();
    // distribution 2.8 has no referrers API: this goes through the fallback.
    let found = store::attachments(&r, std::slice::from_ref(&digest)).await.unwrap();
    let a = &found[&digest];
    assert_eq!(a.cosign.len(), 1, "{a:?}");
    assert_eq!(a.cosign[0].0.as_str(), format!("{}.sig", digest.tag_form()));
    assert_eq!(a.cosign[0].1.digest.to_string(), legacy["signatureManifest"].as_str().unwrap());
    assert_eq!(a.referrers.len(), 1, "{a:?}");
    assert_eq!(a.referrers[0].digest.to_string(), bundle["referrer"]["digest"].as_str().unwrap());
    assert_eq!(a.referrers[0].artifact_type.as_deref(), Some("application/vnd.dev.sigstore.bundle.v0.3+json"));
    // The signature manifest carries cosign's annotations on its layer.
    let sig = r.get_manifest(&a.cosign[0].1.digest).await.unwrap();
    let Manifest::Image(sig) = sig.manifest() else { panic!("signature is an image manifest") };
    assert!(sig.layers[0].annotations.contains_key("dev.cosignproject.cosign/signature"));
    // The referrer's subject is the image.
    let referrer = r.get_manifest(&a.referrers[0].digest).await.unwrap();
    assert_eq!(referrer.manifest().subject().unwrap().digest, digest);

    // Copied into a layout with the same generic code, the evidence is
    // found there too.
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let sig_desc = a.cosign[0].1.clone();
    copy::copy(&r, &layout, &sig_desc, &CopyOptions { tags: vec![a.cosign[0].0.clone()], ..Default::default() }, &progress::NoProgress)
        .await
        .unwrap();
    copy::copy(&r, &layout, &a.referrers[0], &CopyOptions::default(), &progress::NoProgress).await.unwrap();
    let in_layout = store::attachments(&layout, std::slice::from_ref(&digest)).await.unwrap();
    assert_eq!(in_layout[&digest], *a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_arch_indexes_walk_and_copy_with_a_platform_filter() {
    let registry = Registry::start();
    let o = options(&registry);
    let multi = registry.push_multiarch("multi/app:v1", "multi");
    let r = repo(&registry, "multi/app", &o);
    let root = r.resolve_tag(&"v1".parse().unwrap()).await.unwrap();
    assert_eq!(root.media_type, media_type::OCI_INDEX);
    let arm = store::walk(&r, &root, &["linux/arm64".parse().unwrap()]).await.unwrap();
    assert_eq!(arm.manifests.len(), 2);
    assert_eq!(arm.manifests[0].digest().to_string(), multi.children[1].1);
    assert_eq!(arm.dropped.len(), 1);
    assert_eq!(arm.dropped[0].digest.to_string(), multi.children[0].1);

    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let recorder = Recorder::default();
    let options = CopyOptions { platforms: vec!["linux/arm64/v8".parse().unwrap()], ..Default::default() };
    let report = copy::copy(&r, &layout, &root, &options, &recorder).await.unwrap();
    assert_eq!(report.blobs_copied, 2);
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(recorder.count("left out by the platform filter"), 1, "{:?}", recorder.notes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_registry_storage_is_refused_while_streaming() {
    let registry = Registry::start();
    let o = options(&registry);
    let r = repo(&registry, "tamper/app", &o);
    let data = testsuite::bytes("tamper", 1_000_000);
    let d = testsuite::describe("application/octet-stream", &data);
    r.put_blob(&d, std::io::Cursor::new(data.clone())).await.unwrap();
    let hex = d.digest.hex();
    let path = registry.storage_dir().join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]));
    let mut flipped = data;
    flipped[999_999] ^= 0xff;
    std::fs::write(&path, flipped).unwrap();
    let mut reader = r.open_blob(&d).await.unwrap();
    let e = reader.read_to_end(&mut Vec::new()).await.unwrap_err();
    assert!(e.to_string().contains("mismatch"), "{e}");
    // Copying it anywhere fails, and nothing lands under the digest.
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let e = layout.put_blob(&d, r.open_blob(&d).await.unwrap()).await.unwrap_err();
    assert!(matches!(e, Error::Content { .. }), "{e}");
    assert!(!layout.has_blob(&d).await.unwrap());
}

/// A fake registry on loopback for behaviour distribution will not show:
/// `respond(request line)` gives status line, extra headers and body.
/// Serves `connections` connections, one request each.
fn fake_registry(connections: usize, respond: impl Fn(&str, &str) -> (&'static str, String, Vec<u8>) + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let me = host.clone();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.by_ref().take(length as u64).read_to_end(&mut Vec::new());
            let (status, headers, body) = respond(&me, &request_line);
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    host
}

/// Serves a manifest of `size` bytes for any manifest request.
fn hostile_registry(size: usize, connections: usize) -> String {
    fake_registry(connections, move |_, request_line| {
        if request_line.contains("/manifests/") {
            let mut m = format!(r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[],"annotations":{{"pad":""#, media_type::OCI_INDEX).into_bytes();
            m.resize(size - 3, b'x');
            m.extend_from_slice(b"\"}}");
            ("200 OK", format!("Content-Type: {}\r\n", media_type::OCI_INDEX), m)
        } else {
            ("200 OK", String::new(), b"{}".to_vec())
        }
    })
}

/// A registry open to anyone (no challenge) is asked once whether it
/// challenges, not before every blob request: oci-client would otherwise
/// send `GET /v2/` ahead of each one, doubling the round trips of a bundle
/// of many small blobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_registry_is_probed_once_for_blobs() {
    let probes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = probes.clone();
    let blob = b"a small blob".to_vec();
    let d = testsuite::describe("application/octet-stream", &blob);
    let host = fake_registry(32, move |_, request_line| {
        if request_line.starts_with("GET /v2/ ") {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ("200 OK", String::new(), b"{}".to_vec())
        } else {
            ("200 OK", String::new(), blob.clone())
        }
    });
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let registry = oci::remote::Registry::new(&host, &o).unwrap();
    for name in ["open/app", "open/other", "open/app"] {
        let r = registry.repository(name).unwrap();
        for _ in 0..3 {
            let mut bytes = Vec::new();
            r.open_blob(&d).await.unwrap().read_to_end(&mut bytes).await.unwrap();
            assert_eq!(bytes, b"a small blob");
        }
    }
    assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 1, "nine blob requests, one probe");
}

/// Resolving a tag and walking what it names asks for the manifest once:
/// at 1,000 images, a second request per image (and per cosign tag) is
/// a thousand round trips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_is_resolved_and_walked_with_one_manifest_request() {
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = requests.clone();
    let config = testsuite::describe(media_type::OCI_CONFIG, b"{}");
    let manifest = testsuite::image_manifest(&config, &[], None, None);
    let (body, digest) = (manifest.bytes().to_vec(), manifest.digest().to_string());
    let host = fake_registry(8, move |_, request_line| {
        if request_line.contains("/manifests/") {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ("200 OK", format!("Content-Type: {}\r\nDocker-Content-Digest: {digest}\r\n", media_type::OCI_MANIFEST), body.clone())
        } else {
            ("200 OK", String::new(), b"{}".to_vec())
        }
    });
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let reference: ImageRef = format!("{host}/walk/app:v1").parse().unwrap();
    let r = Repository::open(&reference, &o).unwrap();
    let root = store::resolve_manifest(&r, &reference).await.unwrap();
    let graph = store::walk_manifest(&r, root, &[]).await.unwrap();
    assert_eq!(graph.root.digest, *manifest.digest());
    assert_eq!(graph.blobs, [config]);
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_pushes_survive_registries_that_send_no_location() {
    // ECR-like: 201 Created without a Location header. Five requests:
    // airlock's GET /v2/ (the challenge), and oci-client's GET /v2/ before
    // each PUT.
    let host = fake_registry(5, |_, request_line| {
        if request_line.starts_with("PUT ") {
            ("201 Created", String::new(), Vec::new())
        } else {
            ("200 OK", String::new(), b"{}".to_vec())
        }
    });
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let r = Repository::open(&format!("{host}/ecr/app").parse().unwrap(), &o).unwrap();
    let m = testsuite::index_manifest(&[]);
    r.put_manifest(&m, None).await.unwrap();
    r.put_manifest(&m, Some(&"v1".parse().unwrap())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_token_server_gives_an_error_not_a_crash() {
    // The bearer token flow with a token that is not a valid header value:
    // oci-client 0.18 panics building the header; we report an error.
    let host = fake_registry(16, |me, request_line| {
        if request_line.starts_with("GET /token") {
            ("200 OK", "Content-Type: application/json\r\n".into(), br#"{"token":"bad\nvalue"}"#.to_vec())
        } else {
            ("401 Unauthorized", format!("WWW-Authenticate: Bearer realm=\"http://{me}/token\",service=\"fake\"\r\n"), Vec::new())
        }
    });
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let r = Repository::open(&format!("{host}/token/app").parse().unwrap(), &o).unwrap();
    let e = r.resolve_tag(&"v1".parse().unwrap()).await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_listings_may_be_null_or_paged_and_are_bounded() {
    let subject = |n: u8| Digest::sha256_of(&[n]);
    let referrer = |n: u8| {
        format!(
            r#"{{"mediaType":"{}","digest":"{}","size":2,"artifactType":"application/example"}}"#,
            media_type::OCI_MANIFEST,
            Digest::sha256_of(&[100 + n])
        )
    };
    let index = |entries: &str| format!(r#"{{"schemaVersion":2,"mediaType":"{}","manifests":{entries}}}"#, media_type::OCI_INDEX).into_bytes();
    let (paged, null, huge, elsewhere, missing) = (subject(1), subject(2), subject(3), subject(4), subject(5));
    let (r1, r2) = (referrer(1), referrer(2));
    let answers = (paged.clone(), null.clone(), huge.clone(), elsewhere.clone(), missing.clone());
    let host = fake_registry(16, move |_, line| {
        let (paged, null, huge, elsewhere, missing) = &answers;
        let json = format!("Content-Type: {}\r\n", media_type::OCI_INDEX);
        if line.contains(&format!("/referrers/{paged}?last=")) {
            ("200 OK", json, index(&format!("[{r2}]")))
        } else if line.contains(&format!("/referrers/{paged}")) {
            let link = format!("Link: </v2/page/app/referrers/{paged}?last=1>; rel=\"next\"\r\n");
            ("200 OK", format!("{json}{link}"), index(&format!("[{r1}]")))
        } else if line.contains(&format!("/referrers/{null}")) {
            ("200 OK", json, index("null"))
        } else if line.contains(&format!("/referrers/{huge}")) {
            let mut body = index(&format!("[{r1}]"));
            body.resize(5 * 1024 * 1024, b' ');
            ("200 OK", json, body)
        } else if line.contains(&format!("/referrers/{elsewhere}")) {
            let link = format!("Link: <http://198.51.100.7/v2/page/app/referrers/{elsewhere}?last=1>; rel=\"next\"\r\n");
            ("200 OK", format!("{json}{link}"), index(&format!("[{r1}]")))
        } else if line.contains(&format!("/referrers/{missing}")) {
            ("404 Not Found", String::new(), Vec::new())
        } else {
            ("200 OK", String::new(), b"{}".to_vec())
        }
    });
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let r = Repository::open(&format!("{host}/page/app").parse().unwrap(), &o).unwrap();
    // Two pages, merged.
    let listed: Vec<String> = r.referrers(&paged).await.unwrap().iter().map(|d| d.digest.to_string()).collect();
    let mut want = vec![Digest::sha256_of(&[101]).to_string(), Digest::sha256_of(&[102]).to_string()];
    want.sort();
    assert_eq!(listed, want);
    // olareg's "manifests": null, and a registry without the API: nothing.
    assert!(r.referrers(&null).await.unwrap().is_empty());
    assert!(r.referrers(&missing).await.unwrap().is_empty());
    // A page larger than a manifest may be, and a next page on another
    // server (which would get our credentials): refused.
    let e = r.referrers(&huge).await.unwrap_err();
    assert!(matches!(e, Error::ManifestTooLarge { .. }), "{e}");
    let e = r.referrers(&elsewhere).await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }) && e.to_string().contains("another server"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_manifests_from_a_registry_are_refused() {
    // distribution 2.8.2 itself refuses manifests over 4 MiB, so a hostile
    // server plays the registry.
    let host = hostile_registry(5 * 1024 * 1024, 8);
    let o = RemoteOptions { insecure_hosts: vec![host.clone()], retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let r = Repository::open(&format!("{host}/big/app").parse().unwrap(), &o).unwrap();
    let e = r.resolve_tag(&"huge".parse().unwrap()).await.unwrap_err();
    assert!(matches!(e, Error::ManifestTooLarge { .. }), "{e}");
    assert!(e.to_string().contains(&host), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_to_registry_copy_pushes_in_order_and_only_once() {
    let registry = Registry::start();
    let o = options(&registry);
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let dst = repo(&registry, "load/app", &o);
    testsuite::copy_is_idempotent(&layout, &dst, "load").await;
    // A referrer copied to a registry without the referrers API is listed
    // in the tag-schema index so others can find it.
    let image = testsuite::put_image(&layout, "with-referrer", 10).await;
    let empty = testsuite::describe(media_type::OCI_EMPTY, b"{}");
    layout.put_blob(&empty, std::io::Cursor::new(b"{}".to_vec())).await.unwrap();
    let referrer = testsuite::image_manifest(&empty, std::slice::from_ref(&empty), Some(&image.descriptor()), Some("application/example"));
    layout.put_manifest(&referrer, None).await.unwrap();
    copy::copy(&layout, &dst, &image.descriptor(), &CopyOptions::default(), &progress::NoProgress).await.unwrap();
    copy::copy(&layout, &dst, &referrer.descriptor(), &CopyOptions::default(), &progress::NoProgress).await.unwrap();
    let tags = dst.list_tags().await.unwrap();
    assert!(tags.contains(&Tag::referrers_for(image.digest()).unwrap()), "{tags:?}");
    let found = store::attachments(&dst, &[image.digest().clone()]).await.unwrap();
    assert_eq!(found[image.digest()].referrers.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_failures_are_retried_with_backoff_then_reported() {
    // Nothing listens on this port.
    let port = testbed::free_port();
    let host = format!("127.0.0.1:{port}");
    let o = RemoteOptions {
        insecure_hosts: vec![host.clone()],
        retry: RetryPolicy { attempts: 3, initial: Duration::from_millis(50), max: Duration::from_millis(200) },
        ..RemoteOptions::default()
    };
    let r = Repository::open(&format!("{host}/x/y").parse().unwrap(), &o).unwrap();
    let start = Instant::now();
    let e = r.list_tags().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains(&host), "{e}");
    // Waited 50 ms then 100 ms between the three tries.
    assert!(start.elapsed() >= Duration::from_millis(150), "{:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_used_unless_a_host_is_listed_as_insecure() {
    let registry = Registry::start();
    let o = RemoteOptions { retry: RetryPolicy::none(), ..RemoteOptions::default() };
    let r = Repository::open(&format!("{}/x/y", registry.host()).parse().unwrap(), &o).unwrap();
    // The registry speaks plain HTTP; an HTTPS client must fail.
    assert!(r.list_tags().await.is_err());
    let r = repo(&registry, "x/y", &options(&registry));
    assert!(r.list_tags().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_seen_in_one_repository_are_mounted_into_another() {
    let registry = Registry::start();
    let o = options(&registry);
    let remote = oci::remote::Registry::new(&registry.host(), &o).unwrap();
    let a = remote.repository("mount/a").unwrap();
    let b = remote.repository("mount/b").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = testsuite::put_image(&layout, "mount", 100_000).await;
    let first = copy::copy(&layout, &a, &image.descriptor(), &CopyOptions::default(), &progress::NoProgress).await.unwrap();
    assert_eq!(first.blobs_copied, 2);
    let second = copy::copy(&a, &b, &image.descriptor(), &CopyOptions::default(), &progress::NoProgress).await.unwrap();
    assert_eq!((second.blobs_mounted, second.blobs_copied), (2, 0), "{second:?}");
    assert_eq!(b.get_manifest(image.digest()).await.unwrap().bytes(), image.bytes());
}
