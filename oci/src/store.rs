//! The `Store` trait: the few operations a medium provides, and what is
//! written once over it.
//!
//! A medium (an OCI image layout directory, a repository in a registry)
//! implements only [`Store`]: resolve a tag, get a manifest, open, check and
//! put a blob, put a manifest, list tags, list referrers. Walking indexes
//! with their children ([`walk`]), finding the evidence attached to a digest
//! ([`attachments`]: cosign `sha256-<hex>.sig/.att/.sbom` tags and OCI 1.1
//! referrers, with the referrers tag-schema fallback) and pushing a referrer
//! so that registries without the referrers API can still list it
//! ([`put_referrer`]) are generic functions, as go-containerregistry's
//! `partial` package derives images from a minimal core. Copying lives in
//! [`crate::copy`].

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{media_type, Descriptor, ImageIndex, Manifest, Platform, RawManifest};
use crate::reference::{ImageRef, Tag};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use tokio::io::AsyncRead;

/// A blob being read. Already verified while streaming: it fails at end of
/// stream unless the content matched the descriptor's digest and size, and
/// never yields more than the declared size.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send + 'static>>;

/// How deep indexes may nest before a walk is refused.
pub const MAX_DEPTH: usize = 8;
/// How many manifests one walk visits at most.
pub const MAX_MANIFESTS: usize = 10_000;
/// Manifests a walk fetches at once.
const WALK_FETCHES: usize = 8;
/// How many tags a listing returns at most.
pub const MAX_TAGS: usize = 100_000;

/// The cosign attachment kinds, as tag suffixes.
pub const COSIGN_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// The operations a medium provides. Everything else is derived.
///
/// Both media are async (the registry side is), so callers run on tokio;
/// futures are `Send` so work can move between threads.
pub trait Store: Send + Sync {
    /// Where this store is, for messages: `127.0.0.1:5000/test/app` or
    /// `oci:/path/to/layout`.
    fn location(&self) -> String;

    /// The descriptor a tag points to.
    fn resolve_tag(&self, tag: &Tag) -> impl Future<Output = Result<Descriptor>> + Send;

    /// A manifest by digest, verified against it.
    fn get_manifest(&self, digest: &Digest) -> impl Future<Output = Result<RawManifest>> + Send;

    /// Open a blob for reading, verified while streaming against
    /// `descriptor`'s digest and size.
    fn open_blob(&self, descriptor: &Descriptor) -> impl Future<Output = Result<BlobReader>> + Send;

    /// Whether the store holds the blob.
    fn has_blob(&self, descriptor: &Descriptor) -> impl Future<Output = Result<bool>> + Send;

    /// Store a blob read from `reader`, verifying digest and size while it
    /// is written; content that does not match is never stored under the
    /// digest. Streams: a layer is never held in memory.
    fn put_blob<R>(&self, descriptor: &Descriptor, reader: R) -> impl Future<Output = Result<()>> + Send
    where
        R: AsyncRead + Send + Unpin + 'static;

    /// Store a manifest (bytes as they are), optionally under a tag. Every
    /// blob and child manifest it refers to must be stored first.
    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&Tag>) -> impl Future<Output = Result<()>> + Send;

    /// Every tag, sorted.
    fn list_tags(&self) -> impl Future<Output = Result<Vec<Tag>>> + Send;

    /// Manifests whose `subject` is `digest`, as the medium lists them
    /// natively (the registry's referrers API, or the layout's manifests).
    /// [`attachments`] adds the tag-schema fallback on top.
    fn referrers(&self, digest: &Digest) -> impl Future<Output = Result<Vec<Descriptor>>> + Send;

    /// Whether manifests with a `subject` are listed by
    /// [`referrers`](Self::referrers) once put. When not, [`put_referrer`]
    /// maintains the referrers tag-schema index as the distribution spec
    /// asks of clients.
    fn indexes_referrers(&self) -> bool;

    /// Try to make a blob present without uploading it (a registry's
    /// cross-repository mount). `Ok(false)` when not possible.
    fn mount_blob(&self, _descriptor: &Descriptor) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(false) }
    }

    /// Store a blob read from `reader`, one a [`Store::open_blob`]
    /// returned (so it checks digest and size itself, and fails at its end
    /// otherwise): a medium that would only hash it again may skip that.
    /// By default, [`Store::put_blob`].
    fn put_verified_blob(&self, descriptor: &Descriptor, reader: BlobReader) -> impl Future<Output = Result<()>> + Send {
        self.put_blob(descriptor, reader)
    }

    /// The manifest a tag points to. By default the tag is resolved and
    /// the manifest fetched by digest; a registry answers both with one
    /// request, which walking 1,000 images spares 1,000 times.
    fn get_tagged_manifest(&self, tag: &Tag) -> impl Future<Output = Result<RawManifest>> + Send {
        async move {
            let descriptor = self.resolve_tag(tag).await?;
            self.get_manifest(&descriptor.digest).await
        }
    }
}

/// Resolve what an operator wrote to a descriptor: by digest when the
/// reference has one (the tag is then only for people), else by tag
/// (`latest` when there is none, as docker does).
pub async fn resolve<S: Store>(store: &S, reference: &ImageRef) -> Result<Descriptor> {
    if let Some(digest) = reference.digest() {
        return Ok(store.get_manifest(digest).await?.descriptor());
    }
    let tag = match reference.tag() {
        Some(t) => t.clone(),
        None => "latest".parse()?,
    };
    store.resolve_tag(&tag).await
}

/// [`resolve`], keeping the manifest: by digest, or by tag in one request
/// where the medium answers both at once ([`Store::get_tagged_manifest`]).
pub async fn resolve_manifest<S: Store>(store: &S, reference: &ImageRef) -> Result<RawManifest> {
    if let Some(digest) = reference.digest() {
        return store.get_manifest(digest).await;
    }
    let tag = match reference.tag() {
        Some(t) => t.clone(),
        None => "latest".parse()?,
    };
    store.get_tagged_manifest(&tag).await
}

/// The manifest `tag` points to, or `None` when the tag does not exist
/// (any other failure is an error).
pub async fn tagged_manifest<S: Store>(store: &S, tag: &Tag) -> Result<Option<RawManifest>> {
    match store.get_tagged_manifest(tag).await {
        Ok(manifest) => Ok(Some(manifest)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// An image or index with everything it refers to.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The root's descriptor.
    pub root: Descriptor,
    /// Every manifest, children before the indexes that list them (the
    /// root last): the order to push them in.
    pub manifests: Vec<RawManifest>,
    /// Every blob (configs and layers), each once, in first-seen order.
    pub blobs: Vec<Descriptor>,
    /// Index entries left out by the platform filter.
    pub dropped: Vec<Descriptor>,
}

impl Graph {
    /// The root manifest.
    pub fn root_manifest(&self) -> Option<&RawManifest> {
        self.manifests.last()
    }

    /// Total size of the blobs, in bytes.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Where a repository's content starts: a manifest a repository serves and
/// the tag that names it, if any. What a server is given to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The repository name (`ghcr.io/org/app`).
    pub repository: String,
    /// The tag, for tagged roots.
    pub tag: Option<Tag>,
    /// The manifest.
    pub descriptor: Descriptor,
}

/// Walk `root` and everything it refers to.
///
/// With `platforms` non-empty, an index entry that declares a platform is
/// kept only when it satisfies one of them ([`Platform::satisfies`]);
/// entries without a platform (attestation manifests, nested indexes) are
/// always kept. Dropped entries are listed in [`Graph::dropped`]. The
/// manifests themselves are fetched and checked against their descriptors'
/// digest, size and media type.
pub async fn walk<S: Store>(store: &S, root: &Descriptor, platforms: &[Platform]) -> Result<Graph> {
    walk_with(store, root, None, platforms, Missing::Refuse).await
}

/// [`walk`] from a root manifest already fetched (by tag, say: see
/// [`resolve_manifest`]), which is not fetched again.
pub async fn walk_manifest<S: Store>(store: &S, root: RawManifest, platforms: &[Platform]) -> Result<Graph> {
    walk_with(store, &root.descriptor(), Some(root), platforms, Missing::Refuse).await
}

/// Walk `root` and the children `store` holds: an index entry the store
/// does not have (a platform a bundle left out) is listed in
/// [`Graph::dropped`], as a registry answers 404 for it, instead of failing
/// the walk. The root itself must be there. What a server walks to learn
/// what it can serve.
pub async fn walk_held<S: Store>(store: &S, root: &Descriptor) -> Result<Graph> {
    walk_with(store, root, None, &[], Missing::Skip).await
}

/// What a walk does with an index child the store does not hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    Refuse,
    Skip,
}

async fn walk_with<S: Store>(
    store: &S,
    root: &Descriptor,
    fetched_root: Option<RawManifest>,
    platforms: &[Platform],
    missing: Missing,
) -> Result<Graph> {
    let (nodes, absent) = fetch_nodes(store, root, fetched_root, platforms, missing).await?;
    let (manifests, blobs, mut dropped) = post_order(root, &nodes);
    dropped.extend(absent);
    Ok(Graph {
        root: root.clone(),
        manifests,
        blobs,
        dropped,
    })
}

/// A fetched manifest and its index entries, split by the platform filter.
struct Node {
    manifest: RawManifest,
    kept: Vec<Descriptor>,
    dropped: Vec<Descriptor>,
}

/// Fetch `root` and its children level by level, WALK_FETCHES manifests at
/// a time (see `fetch_level`); `fetched_root` is `root` already fetched,
/// not fetched again. Returns the nodes by digest and the children found absent (only
/// with [`Missing::Skip`]).
async fn fetch_nodes<S: Store>(
    store: &S,
    root: &Descriptor,
    fetched_root: Option<RawManifest>,
    platforms: &[Platform],
    missing: Missing,
) -> Result<(BTreeMap<Digest, Node>, Vec<Descriptor>)> {
    let location = format!("{}@{}", store.location(), root.digest);
    let limit = |reason: String| Error::Limit {
        location: location.clone(),
        reason,
    };
    let mut nodes: BTreeMap<Digest, Node> = BTreeMap::new();
    let mut absent: Vec<Descriptor> = Vec::new();
    let mut given = fetched_root.map(|m| vec![(root.clone(), Some(m))]);
    let mut frontier = vec![root.clone()];
    let mut depth = 0;
    while !frontier.is_empty() {
        if depth > MAX_DEPTH {
            return Err(limit(format!("indexes nested deeper than {MAX_DEPTH}")));
        }
        let fetched = match given.take() {
            Some(level) => level,
            None => fetch_level(store, frontier, root, missing).await?,
        };
        let mut next = Vec::new();
        let mut queued = BTreeSet::new();
        for (desc, manifest) in fetched {
            let Some(manifest) = manifest else {
                absent.push(desc);
                continue;
            };
            let (kept, dropped) = match manifest.manifest() {
                Manifest::Image(_) => (Vec::new(), Vec::new()),
                Manifest::Index(index) => filter_platforms(&index.manifests, platforms),
            };
            for child in &kept {
                if !media_type::is_manifest(&child.media_type) {
                    return Err(Error::UnsupportedMediaType {
                        location: format!("{}@{}", store.location(), child.digest),
                        media_type: child.media_type.clone(),
                    });
                }
                if !nodes.contains_key(&child.digest) && queued.insert(child.digest.clone()) {
                    next.push(child.clone());
                }
            }
            nodes.insert(desc.digest, Node { manifest, kept, dropped });
            if nodes.len() + next.len() > MAX_MANIFESTS {
                return Err(limit(format!("more than {MAX_MANIFESTS} manifests")));
            }
        }
        next.retain(|d| !nodes.contains_key(&d.digest));
        frontier = next;
        depth += 1;
    }
    Ok((nodes, absent))
}

/// Order the fetched nodes without I/O: depth-first post-order from the
/// root, children in index order, so children come before the indexes that
/// list them. Returns the manifests, the blobs (each once, first-seen
/// order) and the entries the platform filter dropped.
fn post_order(root: &Descriptor, nodes: &BTreeMap<Digest, Node>) -> (Vec<RawManifest>, Vec<Descriptor>, Vec<Descriptor>) {
    let mut manifests = Vec::new();
    let mut blobs = Vec::new();
    let mut seen_blobs = BTreeSet::new();
    let mut visited = BTreeSet::new();
    let mut dropped = Vec::new();
    let mut stack: Vec<(Digest, bool)> = vec![(root.digest.clone(), false)];
    while let Some((digest, expanded)) = stack.pop() {
        let Some(node) = nodes.get(&digest) else { continue };
        if expanded {
            manifests.push(node.manifest.clone());
            continue;
        }
        if !visited.insert(digest.clone()) {
            continue;
        }
        if let Manifest::Image(image) = node.manifest.manifest() {
            for blob in std::iter::once(&image.config).chain(&image.layers) {
                if seen_blobs.insert(blob.digest.clone()) {
                    blobs.push(blob.clone());
                }
            }
        }
        dropped.extend(node.dropped.iter().cloned());
        stack.push((digest, true));
        for child in node.kept.iter().rev() {
            stack.push((child.digest.clone(), false));
        }
    }
    (manifests, blobs, dropped)
}

/// One level of a walk: each manifest fetched and checked against its
/// descriptor, [`WALK_FETCHES`] at a time (a registry round trip per
/// manifest adds up on a many-platform index). A child the store does not
/// hold is `None` with [`Missing::Skip`]; the root must be there.
async fn fetch_level<S: Store>(
    store: &S,
    level: Vec<Descriptor>,
    root: &Descriptor,
    missing: Missing,
) -> Result<Vec<(Descriptor, Option<RawManifest>)>> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(level)
        .map(|desc| async move {
            let manifest = match store.get_manifest(&desc.digest).await {
                Ok(manifest) => manifest,
                Err(e) if e.is_not_found() && missing == Missing::Skip && desc.digest != root.digest => return Ok((desc, None)),
                Err(e) => return Err(e),
            };
            check_descriptor(store, &desc, &manifest)?;
            Ok::<_, Error>((desc, Some(manifest)))
        })
        .buffered(WALK_FETCHES)
        .try_collect()
        .await
}

/// Docker's annotation naming what an index entry is (buildx writes
/// `attestation-manifest` for the SBOM/provenance of a platform image).
const DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Docker's annotation naming the platform image an attestation is for.
const DOCKER_REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";

/// Split index entries into kept and dropped by platform. Entries without a
/// platform are kept; buildx attestation manifests (platform
/// `unknown/unknown`) follow the image they describe, so a filter never
/// separates an image from its evidence.
fn filter_platforms(entries: &[Descriptor], platforms: &[Platform]) -> (Vec<Descriptor>, Vec<Descriptor>) {
    if platforms.is_empty() {
        return (entries.to_vec(), Vec::new());
    }
    let is_attestation =
        |d: &Descriptor| d.annotations.get(DOCKER_REFERENCE_TYPE).map(String::as_str) == Some("attestation-manifest");
    let matches = |d: &Descriptor| {
        d.platform
            .as_ref()
            .is_none_or(|p| platforms.iter().any(|want| p.satisfies(want)))
    };
    let kept_images: BTreeSet<String> = entries
        .iter()
        .filter(|d| !is_attestation(d) && matches(d))
        .map(|d| d.digest.to_string())
        .collect();
    entries.iter().cloned().partition(|d| {
        if is_attestation(d) {
            d.annotations
                .get(DOCKER_REFERENCE_DIGEST)
                .is_some_and(|target| kept_images.contains(target))
        } else {
            matches(d)
        }
    })
}

fn check_descriptor<S: Store>(store: &S, desc: &Descriptor, manifest: &RawManifest) -> Result<()> {
    let location = format!("{}@{}", store.location(), desc.digest);
    if manifest.size() != desc.size {
        return Err(Error::Content {
            location,
            source: crate::DigestError::SizeMismatch {
                digest: desc.digest.clone(),
                expected: desc.size,
                actual: manifest.size(),
            },
        });
    }
    if manifest.media_type() != desc.media_type {
        return Err(Error::MalformedManifest {
            location,
            reason: format!(
                "descriptor says {:?} but the manifest is {:?}",
                desc.media_type,
                manifest.media_type()
            ),
        });
    }
    Ok(())
}

/// Evidence attached to one digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    /// cosign tags (`sha256-<hex>.sig`, `.att`, `.sbom`) and what they
    /// point to.
    pub cosign: Vec<(Tag, Descriptor)>,
    /// OCI 1.1 referrers: from the referrers API (or the layout) and the
    /// `sha256-<hex>` tag-schema index, merged, each once, sorted by digest.
    pub referrers: Vec<Descriptor>,
}

impl Attachments {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.cosign.is_empty() && self.referrers.is_empty()
    }
}

/// Find what is attached to each of `digests`: cosign tags and referrers.
///
/// Tags are listed once for all digests. Referrers are the union of the
/// store's native listing and the tag-schema index (`sha256-<hex>`), so a
/// registry that has the API but also holds a fallback index (pushed by a
/// client that could not tell) loses nothing. Any failure other than "not
/// there" is an error: evidence is never silently left behind.
pub async fn attachments<S: Store>(store: &S, digests: &[Digest]) -> Result<BTreeMap<Digest, Attachments>> {
    let tags: BTreeSet<Tag> = store.list_tags().await?.into_iter().collect();
    let mut out = BTreeMap::new();
    for digest in digests {
        let mut found = Attachments::default();
        for suffix in COSIGN_SUFFIXES {
            // A digest whose tag form is not a valid tag (sha512) cannot
            // have cosign tags.
            let Ok(tag) = Tag::cosign_for(digest, suffix) else { continue };
            if tags.contains(&tag) {
                let desc = store.resolve_tag(&tag).await?;
                found.cosign.push((tag, desc));
            }
        }
        let mut referrers: BTreeMap<Digest, Descriptor> = BTreeMap::new();
        for r in store.referrers(digest).await? {
            referrers.entry(r.digest.clone()).or_insert(r);
        }
        if let Ok(tag) = Tag::referrers_for(digest) {
            if tags.contains(&tag) {
                for r in tag_schema_index(store, &tag).await?.manifests {
                    referrers.entry(r.digest.clone()).or_insert(r);
                }
            }
        }
        found.referrers = referrers.into_values().collect();
        out.insert(digest.clone(), found);
    }
    Ok(out)
}

/// Referrers of `digest`: the store's native listing merged with the
/// referrers tag-schema index (`sha256-<hex>`) when one exists. Each once,
/// sorted by digest. Only "not found" counts as absence.
pub async fn referrers<S: Store>(store: &S, digest: &Digest) -> Result<Vec<Descriptor>> {
    let mut merged: BTreeMap<Digest, Descriptor> = BTreeMap::new();
    for r in store.referrers(digest).await? {
        merged.entry(r.digest.clone()).or_insert(r);
    }
    if let Ok(tag) = Tag::referrers_for(digest) {
        match tag_schema_index(store, &tag).await {
            Ok(index) => {
                for r in index.manifests {
                    merged.entry(r.digest.clone()).or_insert(r);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(merged.into_values().collect())
}

async fn tag_schema_index<S: Store>(store: &S, tag: &Tag) -> Result<ImageIndex> {
    let desc = store.resolve_tag(tag).await?;
    let manifest = store.get_manifest(&desc.digest).await?;
    match manifest.manifest() {
        Manifest::Index(index) => Ok(index.clone()),
        Manifest::Image(_) => Err(Error::MalformedManifest {
            location: format!("{}:{tag}", store.location()),
            reason: "the referrers tag-schema tag points to an image manifest, not an index".into(),
        }),
    }
}

/// The descriptor a referrers listing gives for `manifest`: media type,
/// digest, size, artifact type and the manifest's annotations.
pub fn referrer_descriptor(manifest: &RawManifest) -> Descriptor {
    let mut desc = manifest.descriptor();
    desc.artifact_type = manifest.manifest().artifact_type().map(String::from);
    desc.annotations = manifest.manifest().annotations().clone();
    desc
}

/// Put a manifest that has a `subject`, and make it discoverable: on a
/// store that does not list referrers itself, add it to the subject's
/// tag-schema index (`sha256-<hex>`), creating the index if needed. Putting
/// the same referrer twice leaves the same state.
pub async fn put_referrer<S: Store>(store: &S, manifest: &RawManifest) -> Result<()> {
    store.put_manifest(manifest, None).await?;
    let Some(subject) = manifest.manifest().subject() else {
        return Ok(());
    };
    if store.indexes_referrers() {
        return Ok(());
    }
    let tag = Tag::referrers_for(&subject.digest)?;
    let mut index = match tag_schema_index(store, &tag).await {
        Ok(index) => index,
        Err(e) if e.is_not_found() => ImageIndex::empty(),
        Err(e) => return Err(e),
    };
    if index.manifests.iter().any(|d| d.digest == *manifest.digest()) {
        return Ok(());
    }
    index.manifests.push(referrer_descriptor(manifest));
    index.manifests.sort_by(|a, b| a.digest.cmp(&b.digest));
    let raw = RawManifest::from_bytes(&store.location(), index.to_bytes(), Some(media_type::OCI_INDEX), None)?;
    store.put_manifest(&raw, Some(&tag)).await
}
