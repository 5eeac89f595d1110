//! The OCI image layout store: the shared suite, plus what only a
//! directory can show (atomic writes, tampering on disk, determinism).

use oci::copy::{self, CopyOptions};
use oci::manifest::{media_type, Descriptor, ANNOTATION_REF_NAME};
use oci::testsuite::{self, bytes, describe};
use oci::{Error, Layout, Store, Tag};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_passes_the_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    testsuite::run(&layout, "layout").await;
    // And the result is still a valid layout when reopened.
    let reopened = Layout::open(layout.path()).unwrap();
    assert_eq!(reopened.entries(), layout.entries());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_between_layouts_is_idempotent_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    testsuite::copy_is_idempotent(&src, &dst, "l2l").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_set_from_two_layouts_is_copied_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let a = Layout::create(dir.path().join("a")).unwrap();
    let b = Layout::create(dir.path().join("b")).unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    testsuite::copy_blobs_from_several_sources(&a, &b, &dst, "set").await;
}

/// A reader that yields `good` bytes and then fails, like a connection
/// dropping mid-blob.
struct Interrupted {
    data: Vec<u8>,
    pos: usize,
    fail_at: usize,
}

impl AsyncRead for Interrupted {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.pos >= self.fail_at {
            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")));
        }
        let end = (self.pos + buf.remaining()).min(self.fail_at).min(self.data.len());
        let start = self.pos;
        buf.put_slice(&self.data[start..end]);
        self.pos = end;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_writes_leave_nothing_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let data = bytes("interrupted", 1_000_000);
    let d = describe("application/octet-stream", &data);
    let reader = Interrupted { data: data.clone(), pos: 0, fail_at: 600_000 };
    let e = layout.put_blob(&d, reader).await.unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(!layout.blob_path(&d.digest).exists(), "partial blob under its digest name");
    assert!(!layout.has_blob(&d).await.unwrap());
    assert!(!dir.path().join(".airlock-ingest").exists(), "partial file left behind");
    // Re-running completes it; running again skips it.
    layout.put_blob(&d, std::io::Cursor::new(data.clone())).await.unwrap();
    assert!(layout.has_blob(&d).await.unwrap());
    let reader = Interrupted { data, pos: 0, fail_at: 0 };
    layout.put_blob(&d, reader).await.unwrap();
}

/// A stream of writes, a few at a time, so that one often starts as the
/// last other one ends: the ingest directory is made and tidied away by
/// whichever write starts or ends, and none may trip over another doing it
/// (found bundling 1,000 images: "create ingest directory: File exists").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_the_ingest_directory() {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    for burst in 0..4 {
        let blobs: Vec<(Descriptor, Vec<u8>)> = (0..500)
            .map(|i| {
                let data = bytes(&format!("burst {burst} blob {i}"), 1 + i * 97);
                (describe("application/octet-stream", &data), data)
            })
            .collect();
        stream::iter(&blobs)
            .map(|(d, data)| layout.put_blob(d, std::io::Cursor::new(data.clone())))
            .buffer_unordered(3)
            .try_collect::<Vec<()>>()
            .await
            .unwrap();
        for (d, _) in &blobs {
            assert!(layout.has_blob(d).await.unwrap());
        }
    }
    assert!(!dir.path().join(".airlock-ingest").exists(), "ingest directory left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blobs_are_refused_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let data = bytes("tamper", 2_000_000);
    let d = describe("application/octet-stream", &data);
    layout.put_blob(&d, std::io::Cursor::new(data.clone())).await.unwrap();
    let mut flipped = data.clone();
    flipped[1_999_000] ^= 1;
    std::fs::write(layout.blob_path(&d.digest), &flipped).unwrap();
    let mut out = Vec::new();
    let e = layout.open_blob(&d).await.unwrap().read_to_end(&mut out).await.unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    // A truncated or extended file too.
    std::fs::write(layout.blob_path(&d.digest), &data[..10]).unwrap();
    let e = layout.open_blob(&d).await.unwrap().read_to_end(&mut Vec::new()).await.unwrap_err();
    assert!(e.to_string().contains("size mismatch"), "{e}");
    // A tampered manifest is refused by digest.
    let m = testsuite::put_image(&layout, "tm", 10).await;
    let mut bytes = m.bytes().to_vec();
    bytes[10] = b' ';
    std::fs::write(layout.blob_path(m.digest()), bytes).unwrap();
    let e = layout.get_manifest(m.digest()).await.unwrap_err();
    assert!(matches!(e, Error::Content { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_manifests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let mut big = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
    big.resize(4 * 1024 * 1024 + 1, b' ');
    let d = describe(media_type::OCI_INDEX, &big);
    layout.put_blob(&d, std::io::Cursor::new(big)).await.unwrap();
    let e = layout.get_manifest(&d.digest).await.unwrap_err();
    assert!(matches!(e, Error::ManifestTooLarge { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_json_is_sorted_and_byte_identical_whatever_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = Layout::create(dir.path().join("a")).unwrap();
    let b = Layout::create(dir.path().join("b")).unwrap();
    let mut descs = Vec::new();
    for (i, name) in ["zeta", "alpha", "mid"].iter().enumerate() {
        let ma = testsuite::put_image(&a, name, 10 + i).await;
        let mb = testsuite::put_image(&b, name, 10 + i).await;
        assert_eq!(ma.digest(), mb.digest());
        descs.push(
            ma.descriptor()
                .with_annotation(ANNOTATION_REF_NAME, format!("example.com/{name}:v1"))
                .with_annotation("dev.airlock.kind", "image"),
        );
    }
    // An entry without a name, and a duplicate that must not be added twice.
    descs.push(descs[0].clone());
    let unnamed = Descriptor::new(descs[1].media_type.clone(), descs[1].digest.clone(), descs[1].size)
        .with_annotation("dev.airlock.belongs-to", "x");
    descs.push(unnamed);
    for d in &descs {
        a.add_descriptor(d.clone()).unwrap();
    }
    for d in descs.iter().rev() {
        b.add_descriptor(d.clone()).unwrap();
    }
    let ia = std::fs::read(a.path().join("index.json")).unwrap();
    let ib = std::fs::read(b.path().join("index.json")).unwrap();
    assert_eq!(ia, ib);
    assert_eq!(a.entries().len(), 4);
    assert_eq!(a.entries()[0].ref_name(), None, "unnamed entries sort first");
    // A name names one thing: re-adding a ref name moves it.
    let moved = Descriptor::new(descs[2].media_type.clone(), descs[2].digest.clone(), descs[2].size)
        .with_annotation(ANNOTATION_REF_NAME, "example.com/zeta:v1");
    a.add_descriptor(moved).unwrap();
    assert_eq!(a.entries().iter().filter(|d| d.ref_name() == Some("example.com/zeta:v1")).count(), 1);
    // A descriptor whose manifest is not stored is refused.
    let absent = describe(media_type::OCI_MANIFEST, b"absent");
    assert!(a.add_descriptor(absent).unwrap_err().is_not_found());
    // Names that are not tags are entries but not tags.
    let tags = a.list_tags().await.unwrap();
    assert!(tags.is_empty(), "{tags:?}");
}

#[test]
fn malformed_layouts_are_refused_and_paths_come_from_digests() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    assert!(Layout::open(p).is_err(), "no oci-layout");
    std::fs::write(p.join("oci-layout"), r#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
    std::fs::write(p.join("index.json"), r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    assert!(matches!(Layout::open(p).unwrap_err(), Error::Layout { .. }));
    std::fs::write(p.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    for bad in [
        r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../../etc/passwd","size":1}]}"#,
        r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:ABCD","size":1}]}"#,
        r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"md5:00","size":1}]}"#,
        r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","size":-1}]}"#,
        r#"{"schemaVersion":3,"manifests":[]}"#,
        r#"not json"#,
    ] {
        std::fs::write(p.join("index.json"), bad).unwrap();
        let e = Layout::open(p).unwrap_err();
        assert!(matches!(e, Error::Layout { .. }), "{bad}: {e}");
    }
    std::fs::write(p.join("index.json"), r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    let layout = Layout::open(p).unwrap();
    let d: oci::Digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".parse().unwrap();
    assert_eq!(layout.blob_path(&d), p.join("blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_with_copy_options_end_up_in_index_json() {
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("s")).unwrap();
    let dst = Layout::create(dir.path().join("d")).unwrap();
    let m = testsuite::put_image(&src, "tagged", 100).await;
    let options = CopyOptions { tags: vec!["v9".parse::<Tag>().unwrap()], ..Default::default() };
    copy::copy(&src, &dst, &m.descriptor(), &options, &progress::NoProgress).await.unwrap();
    let entries = dst.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].ref_name(), Some("v9"));
    assert_eq!(entries[0].digest, *m.digest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_refuse_deep_nesting_and_non_manifest_children() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = testsuite::put_image(&layout, "deep", 10).await;
    let mut top = image.descriptor();
    let mut depth_ok = None;
    for level in 0..10 {
        let index = testsuite::index_manifest(&[top.clone()]);
        layout.put_manifest(&index, None).await.unwrap();
        top = index.descriptor();
        if level == 7 {
            depth_ok = Some(top.clone());
        }
    }
    // Eight levels of index above the image are walked...
    let graph = oci::store::walk(&layout, &depth_ok.unwrap(), &[]).await.unwrap();
    assert_eq!(graph.manifests.len(), 9);
    assert_eq!(graph.manifests[0].digest(), image.digest(), "deepest first");
    // ...ten are refused.
    let e = oci::store::walk(&layout, &top, &[]).await.unwrap_err();
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    // An index listing a layer as if it were a manifest is refused.
    let layer = testsuite::describe("application/vnd.oci.image.layer.v1.tar", b"x");
    layout.put_blob(&layer, std::io::Cursor::new(b"x".to_vec())).await.unwrap();
    let bad = testsuite::index_manifest(&[layer]);
    layout.put_manifest(&bad, None).await.unwrap();
    let e = oci::store::walk(&layout, &bad.descriptor(), &[]).await.unwrap_err();
    assert!(matches!(e, Error::UnsupportedMediaType { .. }), "{e}");
}
