//! airlock's connected side: `airlock bundle create`.
//!
//! Images are resolved by tag to a digest once ([`resolve`]), walked with
//! an optional platform filter, and everything attached to the image, its
//! index and each carried child is collected ([`collect`]): cosign
//! `.sig/.att/.sbom` tags, OCI 1.1 referrers (API and tag-schema
//! fallback), Sigstore bundles, Notation signatures, SBOM artifacts.
//! Legacy cosign layers carrying only a Rekor SET get their entry fetched
//! with a fresh inclusion proof and signed checkpoint. Before anything is
//! written, every signature and proof is verified with `verifier::check`
//! against the bundle's own trust material ([`selfcheck`]); evidence that
//! fails is refused, naming the image and the evidence. Then the bundle is
//! written exactly as docs/bundle-format.md specifies ([`write`]): an OCI
//! image layout, the bundle manifest (through `verifier::bundle::manifest`,
//! the reader's own types), the trust material, `sboms.tar.gz`, an optional
//! transfer signature, and optionally an archive cut into volumes.
//!
//! Guarantees:
//! - **Nothing silently left behind**: any failure to list or read
//!   evidence is an error; what was found (or that nothing was) is in the
//!   [`Report`] per image.
//! - **Reproducible**: the same images and evidence give byte-identical
//!   bundles; the creation time is the only varying input ([`Created`]).
//!   Rekor proofs fetched fresh are evidence too: a log that grew between
//!   two runs gives two different (both valid) proofs.
//! - **Each blob once, streamed, resumable**: blobs shared between images
//!   are fetched and stored once, `jobs` at a time, hashed while streamed to
//!   disk (constant memory); a re-run with the same output reuses every
//!   blob an interrupted run verified and stored.
//!
//! With `--policy`, every image of the staged bundle is evaluated exactly
//! as the site will (`verifier::verify::evaluate_images`) before the bundle
//! is final; a refused image leaves no bundle manifest behind.
//!
//! Not done here: evidence stored in another repository
//! (`COSIGN_REPOSITORY`); evidence attached to evidence.
//!
//! The library never prints, reads the environment or the clock: the
//! caller passes credentials, the creation time and a [`Progress`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod collect;
mod error;
pub mod incremental;
pub mod progress;
pub mod report;
pub mod resolve;
pub mod selfcheck;
pub mod trust;
pub mod write;

pub use error::{At, Error, ErrorKind, Result};
pub use progress::{NoProgress, Phase, Progress, Unit};
pub use report::Report;
pub use trust::TrustInput;
pub use verifier::bundle::archive::Compression;

use collect::Collected;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use incremental::Previous;
use keys::SigningKey;
use oci::{Descriptor, Digest, ImageRef, Layout, Platform, Store};
use report::{BlobReport, EvidenceReport, ImageReport, OutputReport, PlatformReport, SbomReport, SelfCheckSummary, TrustReport};
use resolve::{Registries, Resolved};
use selfcheck::{EvidenceCheck, SbomBlob};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use verifier::bundle::manifest::{
    self as format, BlobEntry, BundleManifest, EvidenceEntry, Extends, ImageEntry, PlatformEntry, SbomEntry, SbomSource, Tool,
};
use write::layout::{BlobJob, EntryKind, IndexEntry};

/// When the bundle was made: the one input that varies between two runs
/// over the same images and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The local clock, read by the caller.
    Clock(jiff::Timestamp),
    /// Pinned by the operator (`--created`), for reproducible bundles.
    Pinned(jiff::Timestamp),
}

impl Created {
    /// The instant.
    pub fn at(&self) -> jiff::Timestamp {
        match self {
            Self::Clock(t) | Self::Pinned(t) => *t,
        }
    }
}

/// Where and in which form to write the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A directory (the OCI layout plus airlock's files).
    Directory(PathBuf),
    /// A tar archive, optionally compressed and split into volumes.
    Archive {
        /// `PATH.tar`, `PATH.tar.gz` or `PATH.tar.zst`.
        path: PathBuf,
        /// Its compression.
        compression: Compression,
        /// Volume size, if split.
        split: Option<u64>,
    },
}

impl Output {
    /// `--out PATH [--compress C] [--split-size S]`: a directory unless
    /// `PATH` ends in `.tar`, `.tar.gz` or `.tar.zst`, whose compression
    /// `--compress` must agree with (or is implied by).
    pub fn new(path: PathBuf, compress: Option<Compression>, split: Option<u64>) -> Result<Self> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let implied = [(".tar.gz", Compression::Gzip), (".tar.zst", Compression::Zstd), (".tar", Compression::None)]
            .into_iter()
            .find(|(suffix, _)| name.ends_with(suffix) && name.len() > suffix.len())
            .map(|(_, c)| c);
        match implied {
            Some(compression) => {
                if let Some(given) = compress {
                    if given != compression {
                        return Err(Error::Usage(format!(
                            "--compress {} contradicts --out {} (which means {}): name the archive .tar, .tar.gz or .tar.zst to match",
                            compression_name(given),
                            path.display(),
                            compression_name(compression)
                        )));
                    }
                }
                Ok(Self::Archive { path, compression, split })
            }
            None => {
                if compress.is_some_and(|c| c != Compression::None) {
                    return Err(Error::Usage(format!(
                        "--compress needs an archive: --out {} is a directory (name it PATH.tar.gz or PATH.tar.zst)",
                        path.display()
                    )));
                }
                if split.is_some() {
                    return Err(Error::Usage(format!(
                        "--split-size needs an archive: --out {} is a directory (name it PATH.tar, .tar.gz or .tar.zst)",
                        path.display()
                    )));
                }
                Ok(Self::Directory(path))
            }
        }
    }

    /// The `--out` path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Directory(p) | Self::Archive { path: p, .. } => p,
        }
    }

    /// Where the layout is assembled: the directory itself, or beside the
    /// archive (`PATH.airlock-work/`, kept if the run is interrupted so a
    /// re-run resumes, removed once the archive is complete).
    pub fn work_dir(&self) -> PathBuf {
        match self {
            Self::Directory(p) => p.clone(),
            Self::Archive { path, .. } => {
                let mut name = path.as_os_str().to_os_string();
                name.push(".airlock-work");
                PathBuf::from(name)
            }
        }
    }
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// An SBOM the operator supplies for one of the requested images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSbom {
    /// The SBOM file.
    pub file: PathBuf,
    /// The requested image it describes.
    pub image: ImageRef,
}

/// Everything `bundle create` needs, as typed values.
#[derive(Debug, Clone)]
pub struct Request {
    /// The images, as requested.
    pub images: Vec<ImageRef>,
    /// Where and how to write.
    pub output: Output,
    /// Keep only these platforms of indexes (all when empty).
    pub platforms: Vec<Platform>,
    /// `--policy FILE`: the site's policy, checked before the bundle is final.
    pub policy: Option<PathBuf>,
    /// `--sign-key KEY`: the transfer key, read (and decrypted) by the caller.
    pub sign_key: Option<Arc<SigningKey>>,
    /// `--since PREVIOUS/airlock/manifest.json`.
    pub since: Option<PathBuf>,
    /// Rekor's base URL, for SET-only cosign layers.
    pub rekor_url: String,
    /// The trust material to carry and check with.
    pub trust: TrustInput,
    /// Registry credentials, insecure hosts, retries.
    pub remote: oci::remote::RemoteOptions,
    /// Fetches in flight at once.
    pub jobs: usize,
    /// The creation time.
    pub created: Created,
    /// `--sbom FILE=IMAGE`.
    pub sboms: Vec<OperatorSbom>,
}

/// One requested image and its evidence, as the pipeline carries it.
struct Image {
    resolved: Resolved,
    evidence: Vec<(Collected, EvidenceCheck)>,
    sboms: Vec<SbomEntry>,
}

/// Make a bundle. See the crate docs for what is guaranteed.
pub async fn create(request: &Request, progress: Arc<dyn Progress>) -> Result<Report> {
    // Everything that can be refused without the network, first.
    let policy = request.policy.as_deref().map(selfcheck::load_policy).transpose()?;
    let images = unique_images(&request.images)?;
    let sign_key = request.sign_key.as_deref();
    let previous = request.since.as_deref().map(Previous::read).transpose()?;
    let operator_sboms = read_operator_sboms(&request.sboms, &images)?;
    let rekor = collect::rekor::RekorClient::new(&request.rekor_url)
        .map_err(|e| Error::Usage(format!("--rekor-url {}: {e:?}", request.rekor_url)))?;
    let work = request.output.work_dir();
    if let Output::Archive { path, .. } = &request.output {
        if path.is_dir() {
            return Err(Error::Output {
                path: path.clone(),
                reason: "is a directory; an archive path must name a file".into(),
            });
        }
    }
    let layout = write::layout::prepare(&work)?;
    let jobs = request.jobs.max(1);

    // Trust material: fetched (TUF) or copied, then verified.
    progress.start(Phase::Trust, 1, Unit::Items);
    let trust = trust::prepare(&request.trust, &work.join(format::TRUST_DIR), &request.created).await?;
    progress.advance(1);
    progress.finish(Phase::Trust);

    // Resolve each tag once, walk indexes.
    let registries = Registries::new(request.remote.clone());
    progress.start(Phase::Resolve, images.len() as u64, Unit::Items);
    let resolved: Vec<Resolved> = stream::iter(images.iter())
        .map(|reference| {
            let (registries, progress) = (&registries, progress.clone());
            async move {
                let r = resolve::resolve(registries, reference, &request.platforms).await?;
                progress.note(&format!("{reference} resolved to {}", r.digest()));
                progress.advance(1);
                Ok::<_, Error>(r)
            }
        })
        .buffered(jobs)
        .try_collect()
        .await?;
    progress.finish(Phase::Resolve);

    // Evidence for each image, its index and each carried child.
    progress.start(Phase::Collect, resolved.len() as u64, Unit::Items);
    let collected: Vec<Vec<Collected>> = stream::iter(resolved.iter())
        .map(|r| {
            let progress = progress.clone();
            async move {
                let found = collect::evidence(&r.reference, &r.repository, &r.subjects()).await?;
                progress.note(&format!("{}: {} evidence manifest(s) found", r.reference, found.len()));
                progress.advance(1);
                Ok::<_, Error>(found)
            }
        })
        .buffered(jobs)
        .try_collect()
        .await?;
    progress.finish(Phase::Collect);

    // Manifests are in memory already; blobs are fetched once each.
    let mut manifests_written = BTreeSet::new();
    let mut jobs_by_digest: BTreeMap<Digest, BlobJob> = BTreeMap::new();
    let mut users: BTreeMap<Digest, BTreeSet<usize>> = BTreeMap::new();
    for (i, (r, evidence)) in resolved.iter().zip(&collected).enumerate() {
        let graphs = std::iter::once((&r.graph, false)).chain(evidence.iter().map(|c| (&c.graph, true)));
        for (graph, is_evidence) in graphs {
            for m in &graph.manifests {
                users.entry(m.digest().clone()).or_default().insert(i);
                if manifests_written.insert(m.digest().clone()) {
                    layout
                        .put_manifest(m, None)
                        .await
                        .map_err(|e| Error::registry(&r.reference, "store manifest", e))?;
                }
            }
            for blob in &graph.blobs {
                users.entry(blob.digest.clone()).or_default().insert(i);
                // Evidence blobs are read by the self-check, so they are
                // fetched even when the site already has them.
                let needed = is_evidence || !previous.as_ref().is_some_and(|p| p.has(&blob.digest));
                if needed && !jobs_by_digest.contains_key(&blob.digest) {
                    jobs_by_digest.insert(
                        blob.digest.clone(),
                        BlobJob {
                            descriptor: blob.clone(),
                            source: r.repository.clone(),
                            image: r.reference.to_string(),
                        },
                    );
                }
            }
        }
    }
    let fetch_jobs: Vec<BlobJob> = jobs_by_digest.into_values().collect();
    let fetch_bytes = fetch_jobs.iter().map(|j| j.descriptor.size).sum();
    progress.start(Phase::Fetch, fetch_bytes, Unit::Bytes);
    let fetch = write::layout::fetch_blobs(&layout, fetch_jobs, jobs, progress.clone()).await?;
    progress.finish(Phase::Fetch);
    if fetch.reused > 0 {
        progress.note(&format!("{} blob(s) already fetched by an earlier run were reused", fetch.reused));
    }

    // Rekor entries for SET-only layers, then every signature and proof.
    let total_evidence: usize = collected.iter().map(Vec::len).sum();
    progress.start(Phase::Verify, total_evidence as u64, Unit::Items);
    let checker = selfcheck::Checker::new(&trust.root, &rekor, &layout)?;
    let mut bundle_images = Vec::new();
    for (r, evidence) in resolved.into_iter().zip(collected) {
        let mut checked = Vec::new();
        for c in evidence {
            let check = checker.check(&r.reference, &c).await?;
            progress.advance(1);
            checked.push((c, check));
        }
        bundle_images.push(Image {
            resolved: r,
            evidence: checked,
            sboms: Vec::new(),
        });
    }
    progress.finish(Phase::Verify);

    // SBOMs: stored as blobs, named for sboms.tar.gz.
    progress.start(Phase::Write, 4, Unit::Items);
    let mut sbom_blobs: BTreeMap<Digest, u64> = BTreeMap::new();
    let mut sbom_files: Vec<(String, PathBuf)> = Vec::new();
    for (i, image) in bundle_images.iter_mut().enumerate() {
        let mut found: Vec<(Digest, format::SbomFormat, SbomSource, Descriptor)> = Vec::new();
        for (_, check) in &image.evidence {
            for s in &check.sboms {
                let descriptor = match &s.blob {
                    SbomBlob::Layer(d) => (**d).clone(),
                    SbomBlob::Extracted(bytes) => store_bytes(&layout, &image.resolved.reference, bytes).await?,
                };
                found.push((s.subject.clone(), s.format, s.source, descriptor));
            }
        }
        for (_, image_index, bytes, sbom_format) in &operator_sboms {
            if *image_index == i {
                let descriptor = store_bytes(&layout, &image.resolved.reference, bytes).await?;
                found.push((image.resolved.digest().clone(), *sbom_format, SbomSource::Operator, descriptor));
            }
        }
        // Each (subject, blob) once, from its first source in the format's order.
        found.sort_by(|a, b| (&a.0, &a.3.digest, source_rank(a.2)).cmp(&(&b.0, &b.3.digest, source_rank(b.2))));
        found.dedup_by(|a, b| a.0 == b.0 && a.3.digest == b.3.digest);
        let mut seen: BTreeMap<(Digest, &'static str), usize> = BTreeMap::new();
        for (subject, sbom_format, source, descriptor) in found {
            let n = seen.entry((subject.clone(), collect::sbom::extension(sbom_format))).or_insert(0);
            *n += 1;
            let file = collect::sbom::file_name(&image.resolved.reference, &subject, sbom_format, *n);
            users.entry(descriptor.digest.clone()).or_default().insert(i);
            sbom_blobs.insert(descriptor.digest.clone(), descriptor.size);
            sbom_files.push((file.clone(), layout.blob_path(&descriptor.digest)));
            image.sboms.push(SbomEntry {
                format: sbom_format,
                subject,
                blob: descriptor.digest,
                source,
                file,
            });
        }
    }
    // Two images may carry the same SBOM under the same name: one file.
    sbom_files.sort();
    sbom_files.dedup();
    write::archive::sboms_tar_gz(&sbom_files, &work.join(format::SBOMS_PATH))?;
    progress.advance(1);

    // Blobs: every manifest and blob, each once. An increment leaves out
    // only image configs and layers the site already received: manifests,
    // indexes, evidence and SBOMs are always carried (they are small), so
    // every image in an increment can be verified on its own.
    let mut blob_sizes: BTreeMap<Digest, u64> = BTreeMap::new();
    let mut always_carried: BTreeSet<Digest> = BTreeSet::new();
    for image in &bundle_images {
        let graphs = std::iter::once((&image.resolved.graph, false)).chain(image.evidence.iter().map(|(c, _)| (&c.graph, true)));
        for (graph, is_evidence) in graphs {
            for m in &graph.manifests {
                blob_sizes.entry(m.digest().clone()).or_insert(m.size());
                always_carried.insert(m.digest().clone());
            }
            for b in &graph.blobs {
                blob_sizes.entry(b.digest.clone()).or_insert(b.size);
                if is_evidence {
                    always_carried.insert(b.digest.clone());
                }
            }
        }
    }
    for (d, size) in &sbom_blobs {
        blob_sizes.entry(d.clone()).or_insert(*size);
        always_carried.insert(d.clone());
    }
    let blobs: Vec<BlobEntry> = blob_sizes
        .iter()
        .map(|(digest, size)| BlobEntry {
            digest: digest.clone(),
            size: *size,
            carried: always_carried.contains(digest) || !previous.as_ref().is_some_and(|p| p.has(digest)),
        })
        .collect();

    // index.json, in the format's order.
    let mut entries = Vec::new();
    for image in &bundle_images {
        let reference = image.resolved.reference.to_string();
        entries.push(IndexEntry {
            reference: reference.clone(),
            kind: EntryKind::Image,
            subject: None,
            descriptor: image.resolved.graph.root.clone(),
        });
        for child in &image.resolved.platforms {
            entries.push(IndexEntry {
                reference: reference.clone(),
                kind: EntryKind::Platform,
                subject: Some(image.resolved.digest().clone()),
                descriptor: child.descriptor.clone(),
            });
        }
        for (c, _) in &image.evidence {
            let mut descriptor = c.found.descriptor.clone();
            descriptor.artifact_type = c.found.artifact_type.clone();
            entries.push(IndexEntry {
                reference: reference.clone(),
                kind: EntryKind::Evidence(c.found.kind),
                subject: Some(c.found.subject.clone()),
                descriptor,
            });
        }
    }
    write::layout::write_atomic(&work.join("index.json"), &write::layout::index_json(entries))?;
    progress.advance(1);

    // Nothing in the tree but what the manifest lists.
    let trust_files = write::manifest::files_under(&work, format::TRUST_DIR)?;
    let mut file_paths: Vec<String> = vec!["index.json".into(), "oci-layout".into(), format::SBOMS_PATH.into()];
    file_paths.extend(trust_files.iter().cloned());
    file_paths.sort();
    let mut keep: BTreeSet<PathBuf> = file_paths.iter().map(|p| write::manifest::under(Path::new(""), p)).collect();
    for b in blobs.iter().filter(|b| b.carried) {
        keep.insert(Path::new("blobs").join(b.digest.algorithm().name()).join(b.digest.hex()));
    }
    write::layout::prune(&work, &keep)?;
    let files = file_paths
        .iter()
        .map(|p| write::manifest::file_entry(&work, p))
        .collect::<Result<Vec<_>>>()?;

    // The manifest, through the reader's own types, then its signature.
    let mut manifest_images: Vec<ImageEntry> = bundle_images.iter().map(image_entry).collect();
    manifest_images.sort_by(|a, b| a.reference.cmp(&b.reference));
    let manifest = BundleManifest {
        media_type: format::MEDIA_TYPE.to_string(),
        created: request.created.at(),
        tool: Tool {
            name: "airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        extends: previous.as_ref().map(|p| Extends { bundle: p.id.clone() }),
        trust: trust.material.clone(),
        images: manifest_images,
        blobs,
        files,
    };
    let (manifest_bytes, parsed) = write::manifest::canonical_bytes(&manifest)?;
    write::layout::write_atomic(&work.join(format::PATH), &manifest_bytes)?;
    let policy_verdicts = match &policy {
        Some(policy) => match selfcheck::against_policy(&work, policy, &trust.root, jobs) {
            Ok(verdicts) => Some(verdicts),
            Err(e) => {
                // Not a bundle until every image passes; blobs stay for a re-run.
                let _ = std::fs::remove_file(work.join(format::PATH));
                return Err(e);
            }
        },
        None => None,
    };
    let signature = sign_key
        .map(|k| k.sign_base64(&manifest_bytes))
        .transpose()
        .map_err(|e| Error::Unsupported(format!("signing the bundle manifest failed: {e}")))?;
    if let Some(sig) = &signature {
        write::layout::write_atomic(&work.join(format::SIGNATURE_PATH), sig.as_bytes())?;
    }
    progress.advance(2);
    progress.finish(Phase::Write);

    // The archive (and volumes), from the finished tree.
    let output = match &request.output {
        Output::Directory(path) => {
            let bytes = manifest.blobs.iter().filter(|b| b.carried).map(|b| b.size).sum::<u64>()
                + manifest.files.iter().map(|f| f.size).sum::<u64>()
                + manifest_bytes.len() as u64;
            OutputReport {
                form: "directory",
                path: path.clone(),
                compression: None,
                files: Vec::new(),
                bytes,
            }
        }
        Output::Archive { path, compression, split } => {
            let total = manifest.blobs.iter().filter(|b| b.carried).map(|b| b.size).sum::<u64>()
                + manifest.files.iter().map(|f| f.size).sum::<u64>();
            progress.start(Phase::Archive, total, Unit::Bytes);
            let advance = |n: u64| progress.advance(n);
            let signed = signature.is_some();
            let (form, files) = match split {
                None => {
                    let mut tmp = path.as_os_str().to_os_string();
                    tmp.push(".airlock-tmp");
                    let tmp = PathBuf::from(tmp);
                    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "create", e))?;
                    let file = write::archive::write(&work, &manifest, signed, file, *compression, &advance)?;
                    file.sync_all().map_err(|e| Error::io(&tmp, "sync", e))?;
                    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "rename into place", e))?;
                    write::split::remove_stale(path)?;
                    ("archive", vec![path.clone()])
                }
                Some(size) => {
                    let volumes = write::split::writer(path, *size)?;
                    let volumes = write::archive::write(&work, &manifest, signed, volumes, *compression, &advance)?;
                    let paths = write::split::finish(volumes, path)?;
                    match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(path, "remove an old unsplit archive", e)),
                    }
                    ("volumes", paths)
                }
            };
            progress.finish(Phase::Archive);
            std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, "remove the work directory", e))?;
            let bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
            OutputReport {
                form,
                path: path.clone(),
                compression: Some(*compression),
                files,
                bytes,
            }
        }
    };

    let mut report = report(
        &parsed.id,
        output,
        request,
        &trust,
        trust_files,
        sign_key,
        &previous,
        &bundle_images,
        &manifest,
        &users,
        fetch,
    );
    report.policy = policy_verdicts;
    Ok(report)
}

/// Requested references, each once (as the manifest lists them by reference).
fn unique_images(images: &[ImageRef]) -> Result<Vec<ImageRef>> {
    if images.is_empty() {
        return Err(Error::Usage("no images requested".into()));
    }
    let mut unique: Vec<ImageRef> = Vec::new();
    for image in images {
        if !unique.contains(image) {
            unique.push(image.clone());
        }
    }
    Ok(unique)
}

/// An operator's SBOM, read: the request, the index of its image among
/// the requested ones, its bytes and format.
type ReadSbom = (OperatorSbom, usize, Vec<u8>, format::SbomFormat);

/// Read and recognise `--sbom FILE=IMAGE` files.
fn read_operator_sboms(sboms: &[OperatorSbom], images: &[ImageRef]) -> Result<Vec<ReadSbom>> {
    sboms
        .iter()
        .map(|s| {
            let bad = |reason: String| Error::Sbom {
                path: s.file.clone(),
                reason,
            };
            let index = images
                .iter()
                .position(|i| i == &s.image)
                .ok_or_else(|| bad(format!("{} is not one of the requested images", s.image)))?;
            let bytes = std::fs::read(&s.file).map_err(|e| Error::io(&s.file, "read SBOM", e))?;
            let format = collect::sbom::format_of(&bytes).map_err(bad)?;
            Ok((s.clone(), index, bytes, format))
        })
        .collect()
}

fn source_rank(source: SbomSource) -> u8 {
    match source {
        SbomSource::Attestation => 0,
        SbomSource::Attachment => 1,
        SbomSource::Referrer => 2,
        SbomSource::Operator => 3,
    }
}

/// Store bytes as a blob of the layout; returns its descriptor.
async fn store_bytes(layout: &Layout, image: &ImageRef, bytes: &[u8]) -> Result<Descriptor> {
    let descriptor = Descriptor::new("application/octet-stream", Digest::sha256_of(bytes), bytes.len() as u64);
    layout
        .put_blob(&descriptor, std::io::Cursor::new(bytes.to_vec()))
        .await
        .map_err(|e| Error::registry(image, "store SBOM", e))?;
    Ok(descriptor)
}

fn image_entry(image: &Image) -> ImageEntry {
    let r = &image.resolved;
    let mut evidence: Vec<EvidenceEntry> = image
        .evidence
        .iter()
        .map(|(c, check)| {
            let mut log_entries = check.log_entries.clone();
            log_entries.sort_by(|a, b| a.layer.cmp(&b.layer));
            EvidenceEntry {
                kind: c.found.kind,
                subject: c.found.subject.clone(),
                manifest: c.found.descriptor.digest.clone(),
                source: c.found.source,
                artifact_type: c.found.artifact_type.clone(),
                log_entries,
            }
        })
        .collect();
    evidence.sort_by(|a, b| (&a.subject, a.kind, &a.manifest).cmp(&(&b.subject, b.kind, &b.manifest)));
    let mut sboms = image.sboms.clone();
    sboms.sort_by(|a, b| a.file.cmp(&b.file));
    ImageEntry {
        reference: r.reference.to_string(),
        digest: r.digest().clone(),
        media_type: r.graph.root.media_type.clone(),
        platforms: r
            .platforms
            .iter()
            .map(|c| PlatformEntry {
                platform: c.platform.clone(),
                digest: c.descriptor.digest.clone(),
            })
            .collect(),
        dropped_platforms: r
            .dropped
            .iter()
            .map(|c| PlatformEntry {
                platform: c.platform.clone(),
                digest: c.descriptor.digest.clone(),
            })
            .collect(),
        evidence,
        sboms,
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    id: &Digest,
    output: OutputReport,
    request: &Request,
    trust: &trust::Trust,
    trust_files: Vec<String>,
    sign_key: Option<&SigningKey>,
    previous: &Option<Previous>,
    images: &[Image],
    manifest: &BundleManifest,
    users: &BTreeMap<Digest, BTreeSet<usize>>,
    fetch: write::layout::FetchStats,
) -> Report {
    let mut warnings = Vec::new();
    let mut image_reports: Vec<ImageReport> = images
        .iter()
        .map(|image| {
            let r = &image.resolved;
            let mut summary = SelfCheckSummary::default();
            let mut image_warnings = Vec::new();
            let evidence: Vec<EvidenceReport> = image
                .evidence
                .iter()
                .map(|(c, check)| {
                    for layer in &check.layers {
                        summary.add(layer.status);
                    }
                    image_warnings.extend(check.warnings.iter().cloned());
                    EvidenceReport {
                        kind: c.found.kind.name(),
                        subject: c.found.subject.clone(),
                        manifest: c.found.descriptor.digest.clone(),
                        source: c.found.source,
                        artifact_type: c.found.artifact_type.clone(),
                        layers: check.layers.clone(),
                    }
                })
                .collect();
            if evidence.is_empty() {
                image_warnings.push(format!(
                    "no signatures, attestations, SBOMs or referrers were found for {} ({}){}: the bundle carries the image without evidence",
                    r.reference,
                    r.digest(),
                    if r.platforms.is_empty() { "" } else { " or any of its platforms" }
                ));
            } else if summary.verified + summary.log_verified == 0 {
                image_warnings.push(format!(
                    "no signature of {} could be verified on this side (see each layer's reason)",
                    r.reference
                ));
            }
            for w in &image_warnings {
                warnings.push(format!("{}: {w}", r.reference));
            }
            ImageReport {
                reference: r.reference.to_string(),
                digest: r.digest().clone(),
                media_type: r.graph.root.media_type.clone(),
                platforms: r.platforms.iter().map(|c| PlatformReport { platform: c.platform.clone(), digest: c.descriptor.digest.clone() }).collect(),
                dropped_platforms: r.dropped.iter().map(|c| PlatformReport { platform: c.platform.clone(), digest: c.descriptor.digest.clone() }).collect(),
                log_entries_fetched: image.evidence.iter().map(|(_, c)| c.log_entries.len()).sum(),
                evidence,
                sboms: image
                    .sboms
                    .iter()
                    .map(|s| SbomReport { format: s.format, subject: s.subject.clone(), source: s.source, blob: s.blob.clone(), file: s.file.clone() })
                    .collect(),
                self_check: summary,
                warnings: image_warnings,
            }
        })
        .collect();
    image_reports.sort_by(|a, b| a.reference.cmp(&b.reference));
    let carried: Vec<&BlobEntry> = manifest.blobs.iter().filter(|b| b.carried).collect();
    let blobs = BlobReport {
        count: manifest.blobs.len(),
        bytes: manifest.blobs.iter().map(|b| b.size).sum(),
        carried: carried.len(),
        carried_bytes: carried.iter().map(|b| b.size).sum(),
        not_carried: manifest.blobs.len() - carried.len(),
        shared: users.values().filter(|u| u.len() > 1).count(),
        fetch,
    };
    let tuf = matches!(trust.material, format::TrustMaterial::Tuf { .. });
    Report {
        media_type: report::MEDIA_TYPE,
        bundle_id: id.clone(),
        output,
        created: request.created.at(),
        created_pinned: matches!(request.created, Created::Pinned(_)),
        extends: previous.as_ref().map(|p| p.id.clone()),
        trust: TrustReport {
            kind: if tuf { "tuf" } else { "trusted-root" },
            mirror: match &trust.material {
                format::TrustMaterial::Tuf { mirror, .. } => Some(mirror.clone()),
                _ => None,
            },
            tuf_chain_checked: tuf,
            trusted_root_digest: trust.root.digest(),
            source: if tuf {
                "TUF snapshot verified from the pinned root at fetch time".to_string()
            } else {
                "hand-managed trusted_root.json carried as is: no TUF chain was checked".to_string()
            },
            files: trust_files,
        },
        transfer_key: sign_key.map(|k| k.fingerprint().to_string()),
        images: image_reports,
        blobs,
        warnings,
        policy: None,
        airlock_version: env!("CARGO_PKG_VERSION"),
    }
}
