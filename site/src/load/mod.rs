//! Pushing a verified bundle's images into the site's registry (or an OCI
//! layout that `airlock serve` can serve), with their evidence where
//! admission controllers look for it, and optionally the site's own
//! re-signatures.
//!
//! Only verified content is pushed, by construction: [`load`] reads a
//! [`BundleStore`], which only `verifier` makes ([`BundleStore::verified`]),
//! from the [`verifier::verify::VerifiedBundle`] that `verify_bundle`
//! returns when every check passed. Nothing here decides anything about the
//! evidence. Every blob is hashed again while it is pushed, so a file
//! changed after verification fails the push.
//!
//! # Order
//!
//! Every step only starts when what it refers to is in place, so a load
//! interrupted anywhere leaves no tag pointing at something missing, and
//! running it again completes it:
//!
//! 0. blobs the bundle does not carry (an incremental bundle's inherited
//!    blobs) must already be in the target: checked first, nothing pushed
//!    otherwise;
//! 1. every other blob, each uploaded once (HEAD first: present blobs are
//!    skipped), `jobs` at a time across all images;
//! 2. every other repository that needs a blob gets it by cross-repository
//!    mount (or upload where the registry refuses mounts);
//! 3. image manifests, children before indexes, untagged ([`oci::copy`]);
//! 4. evidence: cosign `sha256-<hex>.sig/.att/.sbom` tags (merged into what
//!    the tag holds, never clobbered) and OCI 1.1 referrers (with the
//!    referrers tag-schema index, for registries without the referrers API);
//! 5. re-signatures of every image and platform child ([`crate::resign`]):
//!    a cosign `.sig` layer, and a key-signed Sigstore bundle referrer where
//!    the image has Sigstore bundles (what cosign v3 then reads);
//! 6. the images' tags, last.
//!
//! Manifests are pushed as carried, byte for byte, so digests are preserved.
//! A second load of the same bundle uploads no blob and changes nothing.

mod mapping;

pub use mapping::{Mapped, RepositoryMapping};

use crate::resign::{self, Resigned, TagUpdate};
use crate::{Error, Result};
use keys::SigningKey;
use oci::layout::LayoutRepository;
use verifier::bundle::manifest::{EvidenceEntry, EvidenceKind, ImageEntry};
use verifier::store::BundleStore;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use oci::copy::{self, CopyOptions, CopyReport, RetryPolicy};
use progress::{Phase, Progress, Unit};
use oci::store::{self, Graph, Root};
use oci::{Descriptor, Digest, ImageRef, Layout, Platform, Store, Tag};
use std::collections::{BTreeMap, BTreeSet};

/// Media type of the load report.
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.airlock.load.report.v1+json";

/// Where images go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A registry; repositories are created under the mapping's prefix.
    Registry(oci::remote::Registry),
    /// An OCI image layout directory holding every repository, tags named
    /// `REPOSITORY:TAG` ([`LayoutRepository`]).
    Layout(Layout),
}

impl Target {
    /// `registry.site:5000` or `dir:/path`.
    pub fn describe(&self) -> String {
        match self {
            Self::Registry(r) => r.host().to_string(),
            Self::Layout(l) => format!("dir:{}", l.path().display()),
        }
    }

    /// The name a repository is pulled by: `registry/repository` for a
    /// registry, the repository alone for a layout (whoever serves it names
    /// the host).
    pub fn full_name(&self, repository: &str) -> String {
        match self {
            Self::Registry(r) => format!("{}/{repository}", r.host()),
            Self::Layout(_) => repository.to_string(),
        }
    }
}

/// Re-signing settings.
#[derive(Debug, Clone, Copy)]
pub struct Resign<'a> {
    /// The site's key.
    pub key: &'a SigningKey,
    /// The `REGISTRY[/PREFIX]` workloads pull the mirror by, when it is not
    /// the name airlock pushes to (cosign's `--sign-container-identity`,
    /// applied to every image): signatures name `IDENTITY/<repository under
    /// the prefix>` as their `docker-reference`.
    pub identity: Option<&'a str>,
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    /// Source to target repository names.
    pub mapping: RepositoryMapping,
    /// Uploads in flight at once (at least 1).
    pub jobs: usize,
    /// Retries for transient failures.
    pub retry: RetryPolicy,
    /// Re-sign every image and platform child with the site's key.
    pub resign: Option<Resign<'a>>,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        Self { mapping: RepositoryMapping::default(), jobs: 4, retry: RetryPolicy::default(), resign: None }
    }
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// Always [`REPORT_MEDIA_TYPE`].
    pub media_type: &'static str,
    /// The bundle id.
    pub bundle: Digest,
    /// The target (`registry.site:5000`, `dir:/path`).
    pub target: String,
    /// Every image loaded, in bundle order.
    pub images: Vec<LoadedImage>,
    /// Totals.
    pub totals: Totals,
}

impl LoadReport {
    /// One line per image, `SOURCE_REF TARGET_REF@sha256:…`: the `--mapping`
    /// file `airlock pin` reads.
    pub fn mapping_lines(&self) -> String {
        self.images.iter().map(|i| format!("{} {}\n", i.source, i.target)).collect()
    }
}

/// One loaded image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedImage {
    /// The reference as the bundle carries it.
    pub source: String,
    /// Where it is now: `TARGET_REPOSITORY[:TAG]@DIGEST`.
    pub target: String,
    /// The target repository, as pulled (`registry/path`).
    pub repository: String,
    /// The image (or index) digest, unchanged.
    pub digest: Digest,
    /// The tag set, if the reference had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Platform children pushed with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Digest>,
    /// Evidence pushed next to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<PushedEvidence>,
    /// Re-signatures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Resigned>,
}

/// One piece of evidence pushed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushedEvidence {
    /// What it is.
    pub kind: EvidenceKind,
    /// What it is attached to.
    pub subject: Digest,
    /// Its manifest, as carried.
    pub manifest: Digest,
    /// The cosign tag it went to, for cosign evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What happened to the tag, for cosign evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<TagUpdate>,
}

/// Totals over a load.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Blobs uploaded.
    pub blobs_uploaded: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// Blobs the target already had.
    pub blobs_present: usize,
    /// Blobs mounted from another repository.
    pub blobs_mounted: usize,
    /// Manifests put (present or not).
    pub manifests_put: usize,
    /// Tags set.
    pub tags_set: usize,
    /// Signatures added (not counting ones already present).
    pub signatures_added: usize,
}

impl Totals {
    fn merge(&mut self, t: &Totals) {
        self.blobs_uploaded += t.blobs_uploaded;
        self.bytes_uploaded += t.bytes_uploaded;
        self.blobs_present += t.blobs_present;
        self.blobs_mounted += t.blobs_mounted;
        self.manifests_put += t.manifests_put;
        self.tags_set += t.tags_set;
        self.signatures_added += t.signatures_added;
    }

    fn add(&mut self, r: &CopyReport) {
        self.blobs_uploaded += r.blobs_copied;
        self.bytes_uploaded += r.bytes_copied;
        self.blobs_present += r.blobs_present;
        self.blobs_mounted += r.blobs_mounted;
        self.manifests_put += r.manifests_put;
    }
}

/// One image, planned.
struct Planned<'e> {
    entry: &'e ImageEntry,
    mapped: Mapped,
    tag: Option<Tag>,
    graph: Graph,
    evidence: Vec<(&'e EvidenceEntry, Graph)>,
}

impl Planned<'_> {
    fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.graph.blobs.iter().chain(self.evidence.iter().flat_map(|(_, g)| g.blobs.iter()))
    }
}

/// The stores of one target, by repository.
trait Destination: Sync {
    type Repo: Store;
    fn repository(&self, name: &str) -> Result<Self::Repo>;
}

impl Destination for oci::remote::Registry {
    type Repo = oci::remote::Repository;
    fn repository(&self, name: &str) -> Result<Self::Repo> {
        Ok(oci::remote::Registry::repository(self, name)?)
    }
}

impl Destination for Layout {
    type Repo = LayoutRepository;
    fn repository(&self, name: &str) -> Result<Self::Repo> {
        Ok(LayoutRepository::new(self.clone(), name))
    }
}

/// Push the images of a verified bundle (each with all its evidence) to
/// `target`. A [`BundleStore`] can only be made from a
/// [`verifier::verify::VerifiedBundle`], so nothing reaches a registry that
/// did not pass verification.
pub async fn load(
    source: &BundleStore,
    target: &Target,
    options: &LoadOptions<'_>,
    progress: &dyn Progress,
) -> Result<LoadReport> {
    let images: Vec<&ImageEntry> = source.images().iter().collect();
    let planned = plan(source, &images, &options.mapping).await?;
    let (loaded, totals) = match target {
        Target::Registry(registry) => push(source, registry, target, &planned, options, progress).await?,
        Target::Layout(layout) => push(source, layout, target, &planned, options, progress).await?,
    };
    Ok(LoadReport {
        media_type: REPORT_MEDIA_TYPE,
        bundle: source.content().manifest.id.clone(),
        target: target.describe(),
        images: loaded,
        totals,
    })
}

/// Walk every image and piece of evidence in the bundle, and map names;
/// refuse mappings that collide. No I/O outside the bundle.
async fn plan<'e>(source: &BundleStore, images: &[&'e ImageEntry], mapping: &RepositoryMapping) -> Result<Vec<Planned<'e>>> {
    let mut planned = Vec::new();
    let mut tags: BTreeMap<(String, Tag), &str> = BTreeMap::new();
    let mut repositories: BTreeMap<String, String> = BTreeMap::new();
    for &entry in images {
        let reference: ImageRef = entry
            .reference
            .parse()
            .map_err(|e| Error::Invalid(format!("image {}: {e}", entry.reference)))?;
        let mapped = mapping.map(&reference)?;
        if let Some(other) = repositories.insert(mapped.repository.clone(), reference.name()) {
            if other != reference.name() {
                return Err(Error::Invalid(format!(
                    "{other} and {} would both be loaded into repository {}; add a repository mapping to separate them",
                    reference.name(),
                    mapped.repository
                )));
            }
        }
        let tag = reference.tag().cloned();
        if let Some(tag) = &tag {
            if let Some(other) = tags.insert((mapped.repository.clone(), tag.clone()), &entry.reference) {
                return Err(Error::Invalid(format!(
                    "{other} and {} would both be tagged {}:{tag}",
                    entry.reference, mapped.repository
                )));
            }
        }
        let root = source.get_manifest(&entry.digest).await?.descriptor();
        let platforms = entry
            .platforms
            .iter()
            .map(|p| p.platform.parse::<Platform>())
            .collect::<oci::Result<Vec<_>>>()?;
        let graph = store::walk(source, &root, &platforms).await?;
        let carried: BTreeSet<&Digest> = graph.manifests.iter().map(|m| m.digest()).collect();
        if let Some(missing) = entry.platforms.iter().find(|p| !carried.contains(&p.digest)) {
            return Err(Error::Invalid(format!(
                "image {}: platform {} ({}) is not a child the index keeps",
                entry.reference, missing.platform, missing.digest
            )));
        }
        let mut evidence = Vec::new();
        for e in &entry.evidence {
            let desc = source.get_manifest(&e.manifest).await?.descriptor();
            evidence.push((e, store::walk(source, &desc, &[]).await?));
        }
        planned.push(Planned { entry, mapped, tag, graph, evidence });
    }
    Ok(planned)
}

fn options_for(options: &LoadOptions<'_>, tags: Vec<Tag>) -> CopyOptions {
    CopyOptions { jobs: options.jobs.max(1), platforms: Vec::new(), tags, retry: options.retry }
}

/// A graph of one blob, to copy it with [`copy::copy_graph`].
fn blob_graph(blob: &Descriptor) -> Graph {
    Graph { root: blob.clone(), manifests: Vec::new(), blobs: vec![blob.clone()], dropped: Vec::new() }
}

/// A graph without its blobs (already pushed): manifests and tags only.
fn manifests_only(graph: &Graph) -> Graph {
    Graph { blobs: Vec::new(), ..graph.clone() }
}

/// A blob to push to a repository (by name).
type BlobPush<'p> = (&'p str, &'p Descriptor);

/// Which repositories need which blobs: the first repository to need a
/// blob uploads it (first wave); every other repository that needs it gets
/// it in the second wave, by mount where the registry allows.
fn blob_waves<'p>(planned: &'p [Planned<'_>]) -> (Vec<BlobPush<'p>>, Vec<BlobPush<'p>>) {
    let mut first: BTreeMap<&Digest, BlobPush<'p>> = BTreeMap::new();
    let mut others: Vec<BlobPush<'p>> = Vec::new();
    let mut seen: BTreeSet<(&str, &Digest)> = BTreeSet::new();
    for p in planned {
        let name = p.mapped.repository.as_str();
        for blob in p.blobs() {
            if !seen.insert((name, &blob.digest)) {
                continue;
            }
            if first.contains_key(&blob.digest) {
                others.push((name, blob));
            } else {
                first.insert(&blob.digest, (name, blob));
            }
        }
    }
    (first.into_values().collect(), others)
}

async fn push<D: Destination>(
    source: &BundleStore,
    destination: &D,
    target: &Target,
    planned: &[Planned<'_>],
    options: &LoadOptions<'_>,
    progress: &dyn Progress,
) -> Result<(Vec<LoadedImage>, Totals)> {
    let mut totals = Totals::default();
    let repos: BTreeMap<&str, D::Repo> = planned
        .iter()
        .map(|p| Ok((p.mapped.repository.as_str(), destination.repository(&p.mapped.repository)?)))
        .collect::<Result<_>>()?;
    let repo = |name: &str| &repos[name];

    let (first, others) = blob_waves(planned);

    // 0. Inherited blobs must already be there: check before pushing anything.
    for (name, blob) in first.iter().chain(others.iter()) {
        let carried = source.content().manifest.manifest.blob(&blob.digest).is_some_and(|b| b.carried);
        if !carried && !repo(name).has_blob(blob).await? && !repo(name).mount_blob(blob).await.unwrap_or(false) {
            return Err(Error::Invalid(format!(
                "blob {} is not carried by this incremental bundle and is not in {}; load the bundle it extends first",
                blob.digest,
                target.full_name(name)
            )));
        }
    }

    // 1 and 2. Blobs: first copies in parallel, then the rest (mounts).
    // The push phase counts their bytes (those found present or mounted
    // whole); manifests, signatures and tags after them are small.
    progress.start(Phase::Push, first.iter().chain(others.iter()).map(|(_, b)| b.size).sum(), Unit::Bytes);
    let copy_options = options_for(options, Vec::new());
    for wave in [first, others] {
        let reports: Vec<CopyReport> = stream::iter(wave)
            .map(|(name, blob)| {
                let graph = blob_graph(blob);
                let copy_options = CopyOptions { jobs: 1, ..copy_options.clone() };
                async move { copy::copy_graph(source, repo(name), &graph, &copy_options, progress).await }
            })
            .buffer_unordered(options.jobs.max(1))
            .try_collect()
            .await?;
        reports.iter().for_each(|r| totals.add(r));
    }

    // 3 to 5, per image. Repositories proceed in parallel; the images of
    // one repository one after another, since they may share cosign tags.
    let mut groups: BTreeMap<&str, Vec<(usize, &Planned<'_>)>> = BTreeMap::new();
    for (i, p) in planned.iter().enumerate() {
        groups.entry(p.mapped.repository.as_str()).or_default().push((i, p));
    }
    let results: Vec<Vec<(usize, LoadedImage, Totals)>> = stream::iter(groups)
        .map(|(name, images)| async move {
            let mut out = Vec::new();
            for (i, p) in images {
                let (image, totals) = push_image(source, repo(name), target, p, options, progress).await?;
                out.push((i, image, totals));
            }
            Ok::<_, Error>(out)
        })
        .buffer_unordered(options.jobs.max(1))
        .try_collect()
        .await?;
    let mut loaded: Vec<(usize, LoadedImage)> = Vec::new();
    for (i, image, t) in results.into_iter().flatten() {
        totals.merge(&t);
        loaded.push((i, image));
    }
    loaded.sort_by_key(|(i, _)| *i);
    let loaded: Vec<LoadedImage> = loaded.into_iter().map(|(_, image)| image).collect();

    // 6. Tags, last.
    let tagged: Vec<(&Planned<'_>, &Tag, &oci::RawManifest)> = planned
        .iter()
        .filter_map(|p| Some((p, p.tag.as_ref()?, p.graph.root_manifest()?)))
        .collect();
    totals.tags_set += tagged.len();
    stream::iter(tagged)
        .map(|(p, tag, root)| async move {
            let dst = repo(&p.mapped.repository);
            options.retry.run(|| dst.put_manifest(root, Some(tag)), |_, _, _| {}).await?;
            Ok::<_, Error>(())
        })
        .buffer_unordered(options.jobs.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    progress.finish(Phase::Push);
    Ok((loaded, totals))
}

/// What a re-signature of an image break-glass admitted says, so that
/// admission rules (`policy export --break-glass …`) and people can tell.
/// Every re-signature carries `dev.airlock.break-glass` ("true" or "false").
pub fn break_glass_annotations(waiver: &verifier::policy::Waiver) -> [(String, String); 4] {
    [
        (BREAK_GLASS_ANNOTATION.to_string(), "true".to_string()),
        (format!("{BREAK_GLASS_ANNOTATION}.reason"), waiver.request.reason().to_string()),
        (format!("{BREAK_GLASS_ANNOTATION}.operator"), waiver.request.operator().to_string()),
        (format!("{BREAK_GLASS_ANNOTATION}.gates"), waiver.gate_names()),
    ]
}

/// The re-signature annotation that says whether break-glass admitted the image.
pub const BREAK_GLASS_ANNOTATION: &str = "dev.airlock.break-glass";

/// Steps 3 to 5 for one image: its manifests, its evidence, its
/// re-signatures. Its blobs are already in `dst`.
async fn push_image<R: Store>(
    source: &BundleStore,
    dst: &R,
    target: &Target,
    p: &Planned<'_>,
    options: &LoadOptions<'_>,
    progress: &dyn Progress,
) -> Result<(LoadedImage, Totals)> {
    let mut totals = Totals::default();
    let copy_options = options_for(options, Vec::new());
    // 3. Image manifests, untagged.
    totals.add(&copy::copy_graph(source, dst, &manifests_only(&p.graph), &copy_options, progress).await?);

    // 4. Evidence.
    let mut evidence = Vec::new();
    for (entry, graph) in &p.evidence {
        let (tag, update) = match cosign_suffix(entry.kind) {
            Some(suffix) => {
                // The carried manifest itself, by digest, then the tag.
                totals.add(&copy::copy_graph(source, dst, &manifests_only(graph), &copy_options, progress).await?);
                let tag = Tag::cosign_for(&entry.subject, suffix)?;
                let carried = graph.root_manifest().ok_or_else(|| Error::Invalid("empty evidence graph".into()))?;
                let update = if suffix == "sbom" {
                    dst.put_manifest(carried, Some(&tag)).await?;
                    TagUpdate::Created
                } else {
                    resign::put_cosign_manifest(dst, &tag, carried).await?.1
                };
                totals.tags_set += usize::from(update != TagUpdate::Unchanged);
                (Some(tag.to_string()), Some(update))
            }
            // A referrer: copy_graph puts a root with a subject through
            // put_referrer, which maintains the tag-schema index.
            None => {
                totals.add(&copy::copy_graph(source, dst, &manifests_only(graph), &copy_options, progress).await?);
                (None, None)
            }
        };
        evidence.push(PushedEvidence { kind: entry.kind, subject: entry.subject.clone(), manifest: entry.manifest.clone(), tag, update });
    }

    // 5. Re-signatures, of the image and each platform child.
    let mut signatures = Vec::new();
    if let Some(resign) = &options.resign {
        let identity = match resign.identity {
            Some(identity) => format!("{}/{}", identity.trim_end_matches('/'), p.mapped.relative),
            None => target.full_name(&p.mapped.repository),
        };
        let source_name: ImageRef = p.entry.reference.parse().map_err(|e: oci::Error| Error::Invalid(e.to_string()))?;
        let mut optional = BTreeMap::from([
            ("dev.airlock.source".to_string(), source_name.name()),
            (BREAK_GLASS_ANNOTATION.to_string(), "false".to_string()),
        ]);
        if let Some(waiver) = source.waiver(p.entry) {
            optional.extend(break_glass_annotations(waiver));
        }
        let digests = std::iter::once(&p.entry.digest).chain(p.entry.platforms.iter().map(|c| &c.digest));
        for digest in digests {
            let mut signed = resign::sign_image(dst, resign.key, digest, &identity, &optional).await?;
            let subject = dst.get_manifest(digest).await?.descriptor();
            let bundle = resign::sign_image_bundle(dst, resign.key, &subject, &optional).await?;
            totals.signatures_added += usize::from(signed.added || bundle.as_ref().is_some_and(|b| b.added));
            signed.bundle = bundle;
            signatures.push(signed);
        }
    }

    let name = target.full_name(&p.mapped.repository);
    let target_ref = match &p.tag {
        Some(tag) => format!("{name}:{tag}@{}", p.entry.digest),
        None => format!("{name}@{}", p.entry.digest),
    };
    let image = LoadedImage {
        source: p.entry.reference.clone(),
        target: target_ref,
        repository: name,
        digest: p.entry.digest.clone(),
        tag: p.tag.as_ref().map(ToString::to_string),
        platforms: p.entry.platforms.iter().map(|c| c.digest.clone()).collect(),
        evidence,
        signatures,
    };
    Ok((image, totals))
}

fn cosign_suffix(kind: EvidenceKind) -> Option<&'static str> {
    match kind {
        EvidenceKind::CosignSignature => Some("sig"),
        EvidenceKind::CosignAttestation => Some("att"),
        EvidenceKind::CosignSbom => Some("sbom"),
        EvidenceKind::SigstoreBundle | EvidenceKind::Referrer => None,
    }
}

/// The repositories of a checked bundle, as a registry would hold them
/// after loading it with no prefix: each image under its reference's
/// repository with its tag, and its evidence beside it (cosign evidence
/// under its `sha256-<hex>.sig/.att/.sbom` tag, referrers untagged, found
/// by their subject). What `airlock serve BUNDLE` serves.
pub async fn bundle_roots(source: &BundleStore) -> Result<Vec<Root>> {
    // The names load would give with no prefix: `127.0.0.1:5000/app` is
    // not a repository name a client can ask for, `127.0.0.1-5000/app` is.
    let mapping = RepositoryMapping::default();
    let mut roots = Vec::new();
    for image in source.images() {
        let reference: ImageRef = image
            .reference
            .parse()
            .map_err(|e| Error::Invalid(format!("image {}: {e}", image.reference)))?;
        let repository = mapping.map(&reference)?.repository;
        let descriptor = source.get_manifest(&image.digest).await?.descriptor();
        roots.push(Root { repository: repository.clone(), tag: reference.tag().cloned(), descriptor });
        for evidence in &image.evidence {
            let descriptor = source.get_manifest(&evidence.manifest).await?.descriptor();
            let tag = cosign_suffix(evidence.kind).map(|s| Tag::cosign_for(&evidence.subject, s)).transpose()?;
            roots.push(Root { repository: repository.clone(), tag, descriptor });
        }
    }
    Ok(roots)
}
