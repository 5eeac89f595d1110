//! An OCI image layout directory as a [`Store`].
//!
//! ```text
//! DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
//! DIR/index.json          the entry points, with their annotations
//! DIR/blobs/sha256/<hex>  every blob and manifest
//! ```
//!
//! Guarantees:
//! - A blob is written to a temporary file inside the layout, checked
//!   against its digest and size, synced, and only then renamed to
//!   `blobs/<alg>/<hex>`: an interrupted or wrong write never leaves
//!   content under a digest's name, and re-running a copy skips what is
//!   already there. A blob already present with the right size is taken as
//!   written (it was verified then); reading re-verifies it, so tampering
//!   after the fact is caught by whoever reads.
//! - Reading a blob verifies it while streaming.
//! - Paths are only ever built from parsed [`Digest`]s, never from strings
//!   found in the layout.
//! - `index.json` is written atomically, with entries sorted (by
//!   `org.opencontainers.image.ref.name`, then digest, then the rest), so
//!   the same content gives byte-identical files.
//!
//! Tags are `org.opencontainers.image.ref.name` annotations on `index.json`
//! entries, which is how skopeo's `oci:DIR:TAG` finds them. Entries may carry
//! any other annotations ([`Layout::add_descriptor`]).
//!
//! One writer at a time: concurrent processes writing the same layout may
//! lose each other's `index.json` entries (blobs stay correct).
//!
//! A layout may hold many repositories, with tags named `REPOSITORY:TAG`
//! ([`LayoutRepository`], [`Layout::repository_roots`]).

mod repository;

pub use repository::LayoutRepository;

use crate::digest::{AsyncDigestReader, Digest};
use crate::error::{from_read_error, Error, Result};
use crate::manifest::{media_type, Descriptor, ImageIndex, Manifest, RawManifest, ANNOTATION_REF_NAME, MAX_MANIFEST_SIZE};
use crate::reference::Tag;
use crate::store::{self, BlobReader, Store};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The `oci-layout` file's content, as this crate writes it.
pub const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
/// Largest `index.json` read.
const MAX_INDEX_SIZE: u64 = 64 * 1024 * 1024;
/// Where partial blobs are written, inside the layout (same filesystem, so
/// the final rename is atomic).
const INGEST_DIR: &str = ".airlock-ingest";

/// An OCI image layout directory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Layout {
    inner: Arc<Inner>,
}

/// Referrer descriptors by subject digest.
type ReferrerMap = Arc<HashMap<Digest, Vec<Descriptor>>>;

struct Inner {
    root: PathBuf,
    index: Mutex<ImageIndex>,
    counter: AtomicU64,
    /// Blob writes under way, so the ingest directory is tidied away only
    /// when none is.
    writing: AtomicU64,
    /// Bumped whenever what is reachable from index.json may change.
    generation: AtomicU64,
    /// subject digest -> referrer descriptors, for one generation.
    referrers: Mutex<Option<(u64, ReferrerMap)>>,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Layout({})", self.inner.root.display())
    }
}

impl Layout {
    /// Open the layout at `path`, creating it (and the directory) if it
    /// does not exist. An existing layout is opened as is.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        if root.join("oci-layout").exists() {
            return Self::open(root);
        }
        std::fs::create_dir_all(root.join("blobs")).map_err(|e| Error::io(&root, "create layout", e))?;
        write_atomically(&root, "oci-layout", OCI_LAYOUT.as_bytes())?;
        let layout = Self::from_index(root, ImageIndex::empty());
        layout.write_index()?;
        Ok(layout)
    }

    /// Open an existing layout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_path_buf();
        let bad = |reason: String| Error::Layout {
            path: root.clone(),
            reason,
        };
        let marker = read_bounded(&root.join("oci-layout"), 4096)?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Marker {
            image_layout_version: String,
        }
        let marker: Marker =
            serde_json::from_slice(&marker).map_err(|e| bad(format!("oci-layout: {e}")))?;
        if marker.image_layout_version != "1.0.0" {
            return Err(bad(format!(
                "oci-layout: unsupported imageLayoutVersion {:?}",
                marker.image_layout_version
            )));
        }
        let index_bytes = read_bounded(&root.join("index.json"), MAX_INDEX_SIZE)?;
        let index: ImageIndex =
            serde_json::from_slice(&index_bytes).map_err(|e| bad(format!("index.json: {e}")))?;
        if index.schema_version != 2 {
            return Err(bad(format!("index.json: schemaVersion {}", index.schema_version)));
        }
        Ok(Self::from_index(root, index))
    }

    fn from_index(root: PathBuf, index: ImageIndex) -> Self {
        Self {
            inner: Arc::new(Inner {
                root,
                index: Mutex::new(index),
                counter: AtomicU64::new(0),
                writing: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                referrers: Mutex::new(None),
            }),
        }
    }

    /// The layout directory.
    pub fn path(&self) -> &Path {
        &self.inner.root
    }

    /// Where the blob with `digest` lives (built from the parsed digest only).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.inner
            .root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// The `index.json` entries, in file order.
    pub fn entries(&self) -> Vec<Descriptor> {
        self.lock_index().manifests.clone()
    }

    /// Add an entry to `index.json`, with whatever annotations it carries.
    ///
    /// The manifest must already be stored (refused otherwise). An entry
    /// with an `org.opencontainers.image.ref.name` replaces any other entry
    /// with that name (a tag names one thing); an identical entry is not
    /// added twice. `index.json` is rewritten sorted and atomically.
    pub fn add_descriptor(&self, descriptor: Descriptor) -> Result<()> {
        let path = self.blob_path(&descriptor.digest);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == descriptor.size => {}
            Ok(m) => {
                return Err(Error::Content {
                    location: self.location_of(&descriptor.digest),
                    source: crate::DigestError::SizeMismatch {
                        digest: descriptor.digest.clone(),
                        expected: descriptor.size,
                        actual: m.len(),
                    },
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    location: self.location_of(&descriptor.digest),
                    what: "manifest",
                })
            }
            Err(e) => return Err(Error::io(path, "stat", e)),
        }
        {
            let mut index = self.lock_index();
            if let Some(name) = descriptor.ref_name() {
                let name = name.to_string();
                index.manifests.retain(|d| d.ref_name() != Some(name.as_str()));
            }
            index.manifests.retain(|d| *d != descriptor);
            index.manifests.push(descriptor);
            sort_entries(&mut index.manifests);
        }
        self.write_index()
    }

    /// Remove every `index.json` entry for which `remove` is true.
    pub fn remove_entries(&self, remove: impl Fn(&Descriptor) -> bool) -> Result<()> {
        self.lock_index().manifests.retain(|d| !remove(d));
        self.write_index()
    }

    /// Remove partial blobs left by interrupted writes. Call only while no
    /// other process writes to the layout.
    pub fn remove_partial_blobs(&self) -> Result<()> {
        let dir = self.inner.root.join(INGEST_DIR);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(dir, "remove partial blobs", e)),
        }
    }

    fn lock_index(&self) -> std::sync::MutexGuard<'_, ImageIndex> {
        // A panic while holding the lock cannot leave the index half
        // edited (each edit is one Vec operation); keep going.
        self.inner.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_index(&self) -> Result<()> {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        let bytes = self.lock_index().to_bytes();
        write_atomically(&self.inner.root, "index.json", &bytes)
    }

    fn location_of(&self, digest: &Digest) -> String {
        format!("oci:{}@{digest}", self.inner.root.display())
    }

    fn find_tag(&self, tag: &str) -> Result<Option<Descriptor>> {
        let index = self.lock_index();
        let mut matches = index.manifests.iter().filter(|d| d.ref_name() == Some(tag));
        let first = matches.next().cloned();
        if matches.next().is_some() {
            return Err(Error::Layout {
                path: self.inner.root.clone(),
                reason: format!("index.json names more than one manifest {tag:?}"),
            });
        }
        Ok(first)
    }

    async fn write_blob<R>(&self, descriptor: &Descriptor, reader: R) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin,
    {
        let final_path = self.blob_path(&descriptor.digest);
        if let Ok(m) = tokio::fs::metadata(&final_path).await {
            if m.len() == descriptor.size {
                return Ok(());
            }
        }
        let ingest = self.inner.root.join(INGEST_DIR);
        self.inner.writing.fetch_add(1, Ordering::SeqCst);
        let n = self.inner.counter.fetch_add(1, Ordering::Relaxed);
        let partial = ingest.join(format!("{}-{}-{n}.partial", descriptor.digest.hex(), std::process::id()));
        let result = self.write_partial(descriptor, reader, &partial, &final_path).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        // Tidy up when this was the last write under way. Another may start
        // meanwhile: removing a directory that is not empty fails
        // harmlessly, and a write that finds it gone makes it again.
        if self.inner.writing.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _ = tokio::fs::remove_dir(&ingest).await;
        }
        result
    }

    /// Write `reader` (already checked against the digest by the caller's
    /// wrapping, or by its source) to `partial`, then into place. The
    /// bytes go to the file straight from the task, 256 KiB at a time:
    /// a write into the page cache is a copy, and handing every chunk to
    /// tokio's blocking pool (tokio::fs) cost more in thread hand-offs than
    /// the copy itself. The slow calls (create, sync, rename) still go
    /// there.
    async fn write_partial<R>(&self, descriptor: &Descriptor, mut reader: R, partial: &Path, final_path: &Path) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin,
    {
        let location = self.location_of(&descriptor.digest);
        // Large blobs reach the disk while they arrive (see writeback).
        let mut file = crate::writeback::Writeback::new(create_partial(partial).await?);
        let mut buf = vec![0u8; WRITE_CHUNK];
        let mut written = 0u64;
        loop {
            let filled = fill(&mut reader, &mut buf)
                .await
                .map_err(|e| from_read_error(&location, partial.to_path_buf(), e))?;
            written += filled as u64;
            if written > descriptor.size {
                return Err(Error::Content {
                    location,
                    source: crate::DigestError::SizeMismatch { digest: descriptor.digest.clone(), expected: descriptor.size, actual: written },
                });
            }
            file.write_all(&buf[..filled]).map_err(|e| Error::io(partial, "write", e))?;
            if filled < buf.len() {
                break;
            }
        }
        if written != descriptor.size {
            return Err(Error::Content {
                location,
                source: crate::DigestError::SizeMismatch { digest: descriptor.digest.clone(), expected: descriptor.size, actual: written },
            });
        }
        tokio::task::spawn_blocking(move || file.finish())
            .await
            .map_err(|e| Error::io(partial, "sync", std::io::Error::other(e)))?
            .map_err(|e| Error::io(partial, "sync", e))?;
        if let Some(dir) = final_path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::io(dir, "create blob directory", e))?;
        }
        tokio::fs::rename(partial, final_path)
            .await
            .map_err(|e| Error::io(final_path, "rename into place", e))
    }

    /// Every manifest reachable from `index.json`, for the referrers scan.
    async fn reachable_manifests(&self) -> Result<Vec<RawManifest>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: Vec<(Descriptor, usize)> = self.entries().into_iter().map(|d| (d, 0)).collect();
        while let Some((desc, depth)) = queue.pop() {
            if !media_type::is_manifest(&desc.media_type) || !seen.insert(desc.digest.clone()) {
                continue;
            }
            if depth > store::MAX_DEPTH || seen.len() > store::MAX_MANIFESTS {
                return Err(Error::Limit {
                    location: format!("oci:{}", self.inner.root.display()),
                    reason: "too many or too deeply nested manifests".into(),
                });
            }
            let manifest = match self.get_manifest(&desc.digest).await {
                Ok(m) => m,
                // A dangling entry is the bundle verifier's to report; it
                // cannot refer to anything.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            if let Manifest::Index(index) = manifest.manifest() {
                queue.extend(index.manifests.iter().cloned().map(|d| (d, depth + 1)));
            }
            out.push(manifest);
        }
        Ok(out)
    }
}

fn sort_entries(entries: &mut [Descriptor]) {
    entries.sort_by_cached_key(|d| {
        (
            d.ref_name().map(String::from),
            d.digest.clone(),
            serde_json::to_string(d).unwrap_or_default(),
        )
    });
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::Layout {
            path: path.to_path_buf(),
            reason: format!("larger than {limit} bytes"),
        });
    }
    Ok(bytes)
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let target = dir.join(name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(target, "write", e)
    })
}

/// Bytes written to a blob file per call.
const WRITE_CHUNK: usize = 256 * 1024;

/// Create a partial blob file. The ingest directory is made on demand:
/// absent at first, and tidied away by the last write of a burst, possibly
/// while this one starts (and two writes may make it at once).
async fn create_partial(partial: &Path) -> Result<std::fs::File> {
    let mut attempt = 0;
    loop {
        match tokio::fs::File::create(partial).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 5 => {
                attempt += 1;
                if let Some(dir) = partial.parent() {
                    match tokio::fs::create_dir(dir).await {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(Error::io(dir, "create ingest directory", e)),
                        _ => {}
                    }
                }
            }
            Ok(file) => return Ok(file.into_std().await),
            Err(e) => return Err(Error::io(partial, "create", e)),
        }
    }
}

/// Read until `buf` is full or the stream ends; how much was read.
async fn fill<R: tokio::io::AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match tokio::io::AsyncReadExt::read(reader, &mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

impl Store for Layout {
    fn location(&self) -> String {
        format!("oci:{}", self.inner.root.display())
    }

    async fn resolve_tag(&self, tag: &Tag) -> Result<Descriptor> {
        let entry = self.find_tag(tag.as_str())?.ok_or_else(|| Error::NotFound {
            location: format!("{}:{tag}", self.location()),
            what: "tag",
        })?;
        // What a registry would answer: the entry's annotations are the
        // layout's own bookkeeping (see `entries`).
        Ok(Descriptor {
            annotations: Default::default(),
            ..entry
        })
    }

    async fn get_manifest(&self, digest: &Digest) -> Result<RawManifest> {
        let location = self.location_of(digest);
        let path = self.blob_path(digest);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { location, what: "manifest" })
            }
            Err(e) => return Err(Error::io(path, "open", e)),
        };
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::AsyncReadExt::take(file, MAX_MANIFEST_SIZE + 1), &mut bytes)
            .await
            .map_err(|e| Error::io(&path, "read", e))?;
        RawManifest::from_bytes(&location, bytes, None, Some(digest))
    }

    async fn open_blob(&self, descriptor: &Descriptor) -> Result<BlobReader> {
        let location = self.location_of(&descriptor.digest);
        let path = self.blob_path(&descriptor.digest);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { location, what: "blob" })
            }
            Err(e) => return Err(Error::io(path, "open", e)),
        };
        Ok(Box::pin(AsyncDigestReader::new(
            tokio::io::BufReader::with_capacity(256 * 1024, file),
            descriptor.digest.clone(),
            descriptor.size,
        )))
    }

    async fn has_blob(&self, descriptor: &Descriptor) -> Result<bool> {
        match tokio::fs::metadata(self.blob_path(&descriptor.digest)).await {
            Ok(m) => Ok(m.is_file() && m.len() == descriptor.size),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(self.blob_path(&descriptor.digest), "stat", e)),
        }
    }

    async fn put_blob<R>(&self, descriptor: &Descriptor, reader: R) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        self.write_blob(descriptor, AsyncDigestReader::new(reader, descriptor.digest.clone(), descriptor.size)).await
    }

    async fn put_verified_blob(&self, descriptor: &Descriptor, reader: BlobReader) -> Result<()> {
        // The reader checks the digest itself (and fails at its end
        // otherwise, before anything is renamed into place): hashing it
        // here too would hash every fetched byte twice.
        self.write_blob(descriptor, reader).await
    }

    async fn put_manifest(&self, manifest: &RawManifest, tag: Option<&Tag>) -> Result<()> {
        let descriptor = manifest.descriptor();
        // A RawManifest's digest was computed from its bytes.
        self.write_blob(&descriptor, manifest.bytes()).await?;
        // A manifest an index already listed may just have become readable.
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(tag) = tag {
            self.add_descriptor(descriptor.with_annotation(ANNOTATION_REF_NAME, tag.as_str()))?;
        }
        Ok(())
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        // Reference names that are not tags (full references some tools
        // write) are entries, not tags: see `entries`.
        let mut tags: Vec<Tag> = self
            .entries()
            .iter()
            .filter_map(|d| d.ref_name().and_then(|n| n.parse().ok()))
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn referrers(&self, digest: &Digest) -> Result<Vec<Descriptor>> {
        // One scan of the reachable manifests per change of the layout,
        // not one per question.
        let generation = self.inner.generation.load(Ordering::SeqCst);
        let cached = match self.inner.referrers.lock() {
            Ok(c) => c.as_ref().filter(|(g, _)| *g == generation).map(|(_, m)| m.clone()),
            Err(_) => None,
        };
        let by_subject = match cached {
            Some(m) => m,
            None => {
                let mut map: HashMap<Digest, Vec<Descriptor>> = HashMap::new();
                for m in self.reachable_manifests().await? {
                    if let Some(subject) = m.manifest().subject() {
                        map.entry(subject.digest.clone()).or_default().push(store::referrer_descriptor(&m));
                    }
                }
                for list in map.values_mut() {
                    list.sort_by(|a, b| a.digest.cmp(&b.digest));
                }
                let map = Arc::new(map);
                if let Ok(mut c) = self.inner.referrers.lock() {
                    *c = Some((generation, map.clone()));
                }
                map
            }
        };
        Ok(by_subject.get(digest).cloned().unwrap_or_default())
    }

    fn indexes_referrers(&self) -> bool {
        // Only manifests reachable from index.json are scanned; a referrer
        // put without an entry is found through the tag-schema index that
        // `put_referrer` then maintains.
        false
    }
}
