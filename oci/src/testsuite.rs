//! One suite of store tests that every medium must pass, as
//! go-containerregistry's `validate` package is run by both `remote` and
//! `layout` tests. Built only for tests (`cfg(test)` or the `testsuite`
//! feature, which dev-dependencies turn on).
//!
//! [`run`] exercises a store through the [`Store`] trait alone. `salt` makes
//! every blob, manifest and tag unique, so one registry can host several
//! runs. Functions panic with a message naming the medium on failure, as
//! test helpers do.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::copy::{self, CopyOptions};
use progress::{Event, NoProgress, Progress};
use crate::digest::Digest;
use crate::error::Error;
use crate::manifest::{media_type, Descriptor, RawManifest};
use crate::reference::Tag;
use crate::store::{self, Store};
use std::sync::Mutex;
use tokio::io::AsyncReadExt;

/// Deterministic pseudo-random bytes (xorshift), so blobs differ per salt
/// without a random number generator.
pub fn bytes(seed: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in seed.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A descriptor for `data` with `media_type`.
pub fn describe(media_type: &str, data: &[u8]) -> Descriptor {
    Descriptor::new(media_type, Digest::sha256_of(data), data.len() as u64)
}

/// An image manifest over `config` and `layers`, optionally with a
/// `subject` and an `artifactType`.
pub fn image_manifest(config: &Descriptor, layers: &[Descriptor], subject: Option<&Descriptor>, artifact_type: Option<&str>) -> RawManifest {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": config,
        "layers": layers,
    });
    if let Some(s) = subject {
        m["subject"] = serde_json::to_value(s).unwrap();
    }
    if let Some(a) = artifact_type {
        m["artifactType"] = serde_json::Value::String(a.to_string());
    }
    RawManifest::from_bytes("test", serde_json::to_vec(&m).unwrap(), None, None).unwrap()
}

/// An OCI index over `manifests`.
pub fn index_manifest(manifests: &[Descriptor]) -> RawManifest {
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": manifests,
    });
    RawManifest::from_bytes("test", serde_json::to_vec(&m).unwrap(), None, None).unwrap()
}

/// Put a small image (config + one layer of `layer_len` bytes) and its
/// manifest; returns the manifest.
pub async fn put_image<S: Store>(store: &S, salt: &str, layer_len: usize) -> RawManifest {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","salt":"{salt}"}}"#).into_bytes();
    let layer = bytes(salt, layer_len);
    let cd = describe(media_type::OCI_CONFIG, &config);
    let ld = describe("application/vnd.oci.image.layer.v1.tar", &layer);
    store.put_blob(&cd, std::io::Cursor::new(config)).await.unwrap();
    store.put_blob(&ld, std::io::Cursor::new(layer)).await.unwrap();
    let m = image_manifest(&cd, &[ld], None, None);
    store.put_manifest(&m, None).await.unwrap();
    m
}

async fn read_all(mut r: crate::store::BlobReader) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).await?;
    Ok(out)
}

/// Every check, in order.
pub async fn run<S: Store>(store: &S, salt: &str) {
    blobs_round_trip(store, salt).await;
    wrong_content_is_never_stored(store, salt).await;
    missing_things_are_not_found(store, salt).await;
    manifests_and_tags(store, salt).await;
    referrers_and_cosign_tags(store, salt).await;
    index_walk_with_platform_filter(store, salt).await;
}

pub async fn blobs_round_trip<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let data = bytes(&format!("{salt}/blob"), 300_000);
    let d = describe("application/octet-stream", &data);
    assert!(!store.has_blob(&d).await.unwrap(), "{loc}: blob present before put");
    store.put_blob(&d, std::io::Cursor::new(data.clone())).await.unwrap();
    assert!(store.has_blob(&d).await.unwrap(), "{loc}: blob missing after put");
    let back = read_all(store.open_blob(&d).await.unwrap()).await.unwrap();
    assert!(back == data, "{loc}: blob read back differs");
    // Putting it again is fine (idempotent).
    store.put_blob(&d, std::io::Cursor::new(data)).await.unwrap();
    // An empty blob (the OCI empty descriptor's cousin) round-trips too.
    let empty = describe(media_type::OCI_EMPTY, b"{}");
    store.put_blob(&empty, std::io::Cursor::new(b"{}".to_vec())).await.unwrap();
    assert_eq!(read_all(store.open_blob(&empty).await.unwrap()).await.unwrap(), b"{}");
}

pub async fn wrong_content_is_never_stored<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let claimed = bytes(&format!("{salt}/claimed"), 4096);
    let d = describe("application/octet-stream", &claimed);
    // Other bytes of the same length.
    let other = bytes(&format!("{salt}/other"), 4096);
    let e = store.put_blob(&d, std::io::Cursor::new(other)).await.unwrap_err();
    assert!(
        matches!(e, Error::Content { .. }) || matches!(e, Error::Registry { .. }),
        "{loc}: wrong content: {e}"
    );
    assert!(!store.has_blob(&d).await.unwrap(), "{loc}: wrong content stored under the digest");
    // Too short and too long.
    let e = store.put_blob(&d, std::io::Cursor::new(claimed[..4000].to_vec())).await.unwrap_err();
    assert!(e.to_string().contains("size") || matches!(e, Error::Registry { .. }), "{loc}: short: {e}");
    let mut long = claimed.clone();
    long.extend_from_slice(b"extra");
    let _ = store.put_blob(&d, std::io::Cursor::new(long)).await.unwrap_err();
    assert!(!store.has_blob(&d).await.unwrap(), "{loc}: wrong-size content stored");
}

pub async fn missing_things_are_not_found<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let absent = describe("application/octet-stream", format!("{salt}/absent").as_bytes());
    assert!(!store.has_blob(&absent).await.unwrap());
    let e = store.open_blob(&absent).await.err().expect("opening a missing blob fails");
    assert!(e.is_not_found(), "{loc}: missing blob: {e}");
    let e = store.get_manifest(&absent.digest).await.unwrap_err();
    assert!(e.is_not_found(), "{loc}: missing manifest: {e}");
    let tag: Tag = format!("absent-{salt}").parse().unwrap();
    let e = store.resolve_tag(&tag).await.unwrap_err();
    assert!(e.is_not_found(), "{loc}: missing tag: {e}");
    assert!(e.to_string().contains(tag.as_str()), "{loc}: error names the tag: {e}");
}

pub async fn manifests_and_tags<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let m = put_image(store, &format!("{salt}/tagged"), 1000).await;
    let tag: Tag = format!("v1-{salt}").parse().unwrap();
    store.put_manifest(&m, Some(&tag)).await.unwrap();
    let d = store.resolve_tag(&tag).await.unwrap();
    assert_eq!(d.digest, *m.digest(), "{loc}: tag resolves to the manifest");
    assert_eq!(d.size, m.size());
    assert_eq!(d.media_type, media_type::OCI_MANIFEST);
    let back = store.get_manifest(m.digest()).await.unwrap();
    assert_eq!(back.bytes(), m.bytes(), "{loc}: manifest bytes kept as they are");
    assert!(store.list_tags().await.unwrap().contains(&tag), "{loc}: tag listed");
    // Moving the tag.
    let m2 = put_image(store, &format!("{salt}/tagged2"), 10).await;
    store.put_manifest(&m2, Some(&tag)).await.unwrap();
    assert_eq!(store.resolve_tag(&tag).await.unwrap().digest, *m2.digest(), "{loc}: tag moved");
    // The image is walkable: every blob reads back verified.
    let graph = store::walk(store, &m.descriptor(), &[]).await.unwrap();
    assert_eq!(graph.blobs.len(), 2);
    for b in &graph.blobs {
        read_all(store.open_blob(b).await.unwrap()).await.unwrap();
    }
}

pub async fn referrers_and_cosign_tags<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let image = put_image(store, &format!("{salt}/signed"), 100).await;
    let subject = image.descriptor();
    // An OCI 1.1 referrer (a Sigstore bundle, say).
    let empty = describe(media_type::OCI_EMPTY, b"{}");
    store.put_blob(&empty, std::io::Cursor::new(b"{}".to_vec())).await.unwrap();
    let payload = format!(r#"{{"bundle":"{salt}"}}"#).into_bytes();
    let pd = describe("application/vnd.dev.sigstore.bundle.v0.3+json", &payload);
    store.put_blob(&pd, std::io::Cursor::new(payload)).await.unwrap();
    let referrer = image_manifest(&empty, &[pd], Some(&subject), Some("application/vnd.dev.sigstore.bundle.v0.3+json"));
    store::put_referrer(store, &referrer).await.unwrap();
    // Twice: same state.
    store::put_referrer(store, &referrer).await.unwrap();
    // A cosign legacy signature tag.
    let sig = put_image(store, &format!("{salt}/sig"), 50).await;
    let sig_tag = Tag::cosign_for(image.digest(), "sig").unwrap();
    store.put_manifest(&sig, Some(&sig_tag)).await.unwrap();

    let found = store::attachments(store, &[image.digest().clone()]).await.unwrap();
    let a = &found[image.digest()];
    assert_eq!(a.cosign.len(), 1, "{loc}: cosign tags {a:?}");
    assert_eq!(a.cosign[0].0, sig_tag);
    assert_eq!(a.cosign[0].1.digest, *sig.digest());
    assert_eq!(a.referrers.len(), 1, "{loc}: referrers {:?}", a.referrers);
    assert_eq!(a.referrers[0].digest, *referrer.digest());
    assert_eq!(
        a.referrers[0].artifact_type.as_deref(),
        Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
        "{loc}: artifact type listed"
    );
    assert_eq!(store::referrers(store, image.digest()).await.unwrap(), a.referrers, "{loc}");
    // Nothing attached to the signature itself.
    let none = store::attachments(store, &[sig.digest().clone()]).await.unwrap();
    assert!(none[sig.digest()].is_empty());
}

pub async fn index_walk_with_platform_filter<S: Store>(store: &S, salt: &str) {
    let loc = store.location();
    let amd = put_image(store, &format!("{salt}/amd64"), 100).await;
    let arm = put_image(store, &format!("{salt}/arm64"), 100).await;
    let mut amd_d = amd.descriptor();
    amd_d.platform = Some("linux/amd64".parse().unwrap());
    let mut arm_d = arm.descriptor();
    arm_d.platform = Some("linux/arm64/v8".parse().unwrap());
    // A buildx attestation manifest for the arm64 image.
    let att = put_image(store, &format!("{salt}/arm64-attestation"), 10).await;
    let mut att_d = att.descriptor();
    att_d.platform = Some(crate::Platform { os: "unknown".into(), architecture: "unknown".into(), ..Default::default() });
    att_d.annotations.insert("vnd.docker.reference.type".into(), "attestation-manifest".into());
    att_d.annotations.insert("vnd.docker.reference.digest".into(), arm.digest().to_string());
    let index = index_manifest(&[amd_d, arm_d.clone(), att_d]);
    store.put_manifest(&index, None).await.unwrap();
    let all = store::walk(store, &index.descriptor(), &[]).await.unwrap();
    assert_eq!(all.manifests.len(), 4, "{loc}");
    assert_eq!(all.manifests.last().unwrap().digest(), index.digest(), "{loc}: root last");
    assert_eq!(all.blobs.len(), 6);
    let arm_only = store::walk(store, &index.descriptor(), &["linux/arm64".parse().unwrap()]).await.unwrap();
    assert_eq!(arm_only.manifests.len(), 3, "{loc}: arm64 image, its attestation, the index");
    assert_eq!(arm_only.dropped.len(), 1);
    assert_eq!(arm_only.manifests[0].digest(), arm.digest());
    assert_eq!(arm_only.manifests[1].digest(), att.digest());
    let amd_only = store::walk(store, &index.descriptor(), &["linux/amd64".parse().unwrap()]).await.unwrap();
    assert_eq!(amd_only.dropped.len(), 2, "{loc}: the arm64 attestation goes with its image");
    // A descriptor that lies about the manifest's size is refused.
    let mut lying = index.descriptor();
    lying.size += 1;
    assert!(store::walk(store, &lying, &[]).await.is_err(), "{loc}: size lie accepted");
}

/// A [`Progress`] that records notes and adds up what advanced, for
/// assertions.
#[derive(Default)]
pub struct Recorder {
    notes: Mutex<Vec<String>>,
    advanced: std::sync::atomic::AtomicU64,
}

impl Recorder {
    /// The notes so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    /// How many notes contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.notes().iter().filter(|e| e.contains(text)).count()
    }

    /// The sum of every [`Event::Advance`].
    pub fn advanced(&self) -> u64 {
        self.advanced.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Progress for Recorder {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Advance(n) => {
                self.advanced.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            }
            Event::Note(note) => self.notes.lock().unwrap().push(note.to_string()),
            Event::Start { .. } | Event::Finish(_) => {}
        }
    }
}

/// Copy an index from `src` to `dst` twice: the first copy moves every
/// blob, the second none; the destination then holds the same bytes.
pub async fn copy_is_idempotent<S: Store, D: Store>(src: &S, dst: &D, salt: &str) {
    let amd = put_image(src, &format!("{salt}/c-amd64"), 200_000).await;
    let arm = put_image(src, &format!("{salt}/c-arm64"), 200_000).await;
    let mut a = amd.descriptor();
    a.platform = Some("linux/amd64".parse().unwrap());
    let mut b = arm.descriptor();
    b.platform = Some("linux/arm64".parse().unwrap());
    let index = index_manifest(&[a, b]);
    src.put_manifest(&index, None).await.unwrap();
    let tag: Tag = format!("copied-{salt}").parse().unwrap();
    let options = CopyOptions {
        tags: vec![tag.clone()],
        ..CopyOptions::default()
    };
    let first = Recorder::default();
    let r1 = copy::copy(src, dst, &index.descriptor(), &options, &first).await.unwrap();
    assert_eq!(r1.blobs_copied, 4, "{}: first copy {r1:?}", dst.location());
    assert_eq!(first.advanced(), r1.bytes_copied, "{}: every byte reported as it streamed", dst.location());
    let second = Recorder::default();
    let r2 = copy::copy(src, dst, &index.descriptor(), &options, &second).await.unwrap();
    assert_eq!(r2.blobs_copied, 0, "{}: second copy uploaded {r2:?}", dst.location());
    assert_eq!(r2.blobs_present, 4);
    assert_eq!(second.advanced(), r2.bytes_present, "{}: blobs present count whole", dst.location());
    assert_eq!(dst.resolve_tag(&tag).await.unwrap().digest, *index.digest());
    assert_eq!(dst.get_manifest(index.digest()).await.unwrap().bytes(), index.bytes());
}

/// Copy the blobs of two images, one in `a` and one in `b`, sharing a
/// layer, into `dst` with [`copy::copy_blobs`]: the shared layer once, every
/// byte reported as it streams; a second copy reuses everything; a blob no
/// source has fails the copy, naming its digest.
pub async fn copy_blobs_from_several_sources<S: Store, D: Store>(a: &S, b: &S, dst: &D, salt: &str) {
    let shared = bytes(&format!("{salt}/shared"), 300_000);
    let shared_d = describe("application/vnd.oci.image.layer.v1.tar", &shared);
    for store in [a, b] {
        store.put_blob(&shared_d, std::io::Cursor::new(shared.clone())).await.unwrap();
    }
    let own_a = put_image(a, &format!("{salt}/a"), 100_000).await;
    let own_b = put_image(b, &format!("{salt}/b"), 200_000).await;
    let blobs_of = |m: &RawManifest| match m.manifest() {
        crate::Manifest::Image(i) => std::iter::once(i.config.clone()).chain(i.layers.iter().cloned()).collect::<Vec<_>>(),
        crate::Manifest::Index(_) => unreachable!(),
    };
    let mut set: Vec<(&S, Descriptor)> = blobs_of(&own_a).into_iter().map(|d| (a, d)).collect();
    set.push((a, shared_d.clone()));
    set.extend(blobs_of(&own_b).into_iter().map(|d| (b, d)));
    set.push((b, shared_d.clone()));
    let total: u64 = {
        let mut unique: Vec<&Descriptor> = set.iter().map(|(_, d)| d).collect();
        unique.sort_by(|x, y| x.digest.cmp(&y.digest));
        unique.dedup_by(|x, y| x.digest == y.digest);
        unique.iter().map(|d| d.size).sum()
    };
    let counted = Recorder::default();
    let first = copy::copy_blobs(set.clone(), dst, 3, copy::RetryPolicy::none(), &counted).await.unwrap();
    let loc = dst.location();
    assert_eq!(first.blobs_copied, 5, "{loc}: two configs, two layers and the shared one, once: {first:?}");
    assert_eq!(first.bytes_copied, total, "{loc}");
    assert_eq!(counted.advanced(), total, "{loc}: every byte reported as it streamed");
    assert!(dst.has_blob(&shared_d).await.unwrap(), "{loc}");
    let second = copy::copy_blobs(set, dst, 3, copy::RetryPolicy::none(), &NoProgress).await.unwrap();
    assert_eq!((second.blobs_copied, second.blobs_present, second.bytes_present), (0, 5, total), "{loc}: {second:?}");
    let nowhere = describe("application/octet-stream", &bytes(&format!("{salt}/nowhere"), 10));
    let err = copy::copy_blobs([(a, nowhere.clone())], dst, 1, copy::RetryPolicy::none(), &NoProgress).await.unwrap_err();
    assert_eq!(err.digest, nowhere.digest, "{loc}");
    assert!(err.source.is_not_found(), "{loc}: {err}");
}
