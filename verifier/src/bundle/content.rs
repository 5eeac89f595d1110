//! Opening a bundle and checking its content, the first three steps of
//! `airlock verify`: transfer signature, manifest structure, then every blob
//! and file against the digest and size the manifest gives, with nothing
//! missing and nothing extra.
//!
//! A directory is checked in place, hashing files in parallel. An archive
//! (or a set of volumes) is read once as a stream into airlock's private
//! work directory: each blob is written under its digest only after its
//! digest and size have been checked, and nothing is ever created from an
//! archive path.

use super::archive::{ArchiveReader, Compression};
use super::manifest::{self, BundleManifest, ParsedManifest};
use super::{transfer, volumes};
use keys::PublicKey;
use crate::{Check, Error, Result};
use oci::{Digest, DigestReader};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Reports progress of long work. The library never prints; the CLI draws.
pub trait Progress: Sync {
    /// A phase starts, with its total size in bytes.
    fn start(&self, phase: &str, total_bytes: u64);
    /// `bytes` more are done.
    fn advance(&self, bytes: u64);
    /// The phase is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// How to open a bundle.
pub struct OpenOptions<'a> {
    /// The site's pinned transfer key; when given, the bundle must be signed by it.
    pub transfer_key: Option<&'a PublicKey>,
    /// Parallel hashing jobs for directory bundles.
    pub jobs: usize,
    /// airlock's private working directory, for archives. Must be empty or absent.
    pub work_dir: &'a Path,
}

/// What the transfer-signature step found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum TransferSignature {
    /// Signed by the pinned key.
    Verified {
        /// The key's fingerprint.
        key: String,
    },
    /// Signed, but no transfer key was pinned, so nothing was checked.
    NotChecked,
    /// Not signed (and no key was pinned).
    Unsigned,
}

/// Totals of the content check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentStats {
    /// Blobs checked.
    pub blobs: usize,
    /// Other files checked.
    pub files: usize,
    /// Bytes hashed.
    pub bytes: u64,
}

/// A bundle whose content has been checked against its manifest.
#[derive(Debug)]
pub struct CheckedContent {
    /// The manifest and bundle id.
    pub manifest: ParsedManifest,
    /// The transfer-signature outcome.
    pub transfer_signature: TransferSignature,
    /// What was checked.
    pub stats: ContentStats,
    root: PathBuf,
}

impl CheckedContent {
    /// Open a checked blob for reading. It is verified again while read, so
    /// a file changed since the check fails at end of stream.
    pub fn open_blob(&self, digest: &Digest) -> Result<DigestReader<BufReader<File>>> {
        let entry = self
            .manifest
            .manifest
            .blob(digest)
            .filter(|b| b.carried)
            .ok_or_else(|| Error::failed(Check::Content, format!("blob {digest} is not carried by this bundle")))?;
        let path = blob_path(&self.root, digest);
        let file = File::open(&path).map_err(|source| Error::Io { path, source })?;
        Ok(DigestReader::new(BufReader::with_capacity(oci::IO_CHUNK, file), digest.clone(), entry.size))
    }

    /// Read a checked blob of at most `limit` bytes into memory (manifests,
    /// signature payloads, attestations), verified again as it is read.
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let size = self.manifest.manifest.blob(digest).map_or(0, |b| b.size);
        if size > limit {
            return Err(Error::TooLarge { what: format!("blob {digest}"), limit });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.open_blob(digest)?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::failed(Check::Content, format!("blob {digest} changed after it was checked: {e}")))?;
        Ok(bytes)
    }

    /// Read a checked non-blob file (trust material, index.json), verified
    /// again as it is read.
    pub fn read_file(&self, path: &str, limit: u64) -> Result<Vec<u8>> {
        let entry = self
            .manifest
            .manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| Error::failed(Check::Content, format!("{path} is not listed in the bundle manifest")))?;
        if entry.size > limit {
            return Err(Error::TooLarge { what: path.into(), limit });
        }
        let full = self.root.join(path);
        let file = File::open(&full).map_err(|source| Error::Io { path: full, source })?;
        let mut bytes = Vec::new();
        DigestReader::new(file, entry.sha256.clone(), entry.size)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::failed(Check::Content, format!("{path} changed after it was checked: {e}")))?;
        Ok(bytes)
    }

    /// The directory holding the checked layout (the bundle itself, or the
    /// work directory an archive was read into).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs").join(digest.algorithm().name()).join(digest.hex())
}

/// Open a bundle in any form and check its content.
pub fn open(input: &Path, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let metadata = std::fs::metadata(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    if metadata.is_dir() {
        return check_directory(input, options, progress);
    }
    if volumes::base_of(input).is_some() && starts_with_volume_header(input)? {
        let set = volumes::VolumeSet::open(input)?;
        return check_stream(set.reader()?, options, progress);
    }
    let file = File::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    check_stream(file, options, progress)
}

/// Read a bundle's manifest without checking anything else (for `inspect`).
/// Nothing read this way is proven: callers must say so.
pub fn peek_manifest(input: &Path) -> Result<ParsedManifest> {
    let metadata = std::fs::metadata(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    if metadata.is_dir() {
        let bytes = read_bounded(&input.join(manifest::PATH), manifest::MAX_MANIFEST_BYTES)?
            .ok_or_else(|| Error::failed(Check::BundleManifest, format!("{} is missing", manifest::PATH)))?;
        return BundleManifest::parse(&bytes);
    }
    if volumes::base_of(input).is_some() && starts_with_volume_header(input)? {
        let set = volumes::VolumeSet::open(input)?;
        return peek_stream(set.reader()?);
    }
    let file = File::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    peek_stream(file)
}

fn peek_stream(raw: impl Read) -> Result<ParsedManifest> {
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let head = buffered.fill_buf().map_err(|e| content_error(format!("reading the archive: {e}")))?;
    let mut archive = ArchiveReader::new(Compression::detect(head).decoder(buffered)?);
    for _ in 0..2 {
        let Some(mut entry) = archive.next_entry()? else { break };
        if entry.path == manifest::PATH {
            return BundleManifest::parse(&read_entry(&mut entry, manifest::MAX_MANIFEST_BYTES)?);
        }
    }
    Err(Error::failed(Check::BundleManifest, "the archive does not start with a bundle manifest"))
}

fn starts_with_volume_header(path: &Path) -> Result<bool> {
    let mut head = [0u8; 32];
    let mut file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let n = file.read(&mut head).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(head[..n].starts_with(br#"{"format":"airlock-volume"#))
}

/// Steps 1 and 2: the transfer signature over the exact manifest bytes, then
/// the manifest's structure.
fn read_manifest(
    manifest_bytes: &[u8],
    signature: Option<&[u8]>,
    key: Option<&PublicKey>,
) -> Result<(ParsedManifest, TransferSignature)> {
    let transfer = match (key, signature) {
        (Some(key), Some(sig)) => {
            transfer::verify(manifest_bytes, sig, key)?;
            TransferSignature::Verified { key: key.fingerprint().to_string() }
        }
        (Some(key), None) => {
            return Err(Error::failed(
                Check::TransferSignature,
                format!("the bundle is not signed, but transfer key {} is required", key.fingerprint()),
            ))
        }
        (None, Some(_)) => TransferSignature::NotChecked,
        (None, None) => TransferSignature::Unsigned,
    };
    let manifest = BundleManifest::parse(manifest_bytes).map_err(|e| match e {
        Error::Malformed { reason, .. } => Error::failed(Check::BundleManifest, reason),
        other => other,
    })?;
    Ok((manifest, transfer))
}

fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    match File::open(path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
            if bytes.len() as u64 > limit {
                return Err(Error::TooLarge { what: path.display().to_string(), limit });
            }
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path: path.to_path_buf(), source }),
    }
}

fn content_error(reason: impl Into<String>) -> Error {
    Error::failed(Check::Content, reason)
}

// ------------------------------------------------------------- directories

/// What a file in a bundle directory must be checked against.
struct Expected {
    path: PathBuf,
    digest: Digest,
    size: u64,
}

fn check_directory(root: &Path, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let manifest_bytes = read_bounded(&root.join(manifest::PATH), manifest::MAX_MANIFEST_BYTES)?
        .ok_or_else(|| Error::failed(Check::BundleManifest, format!("{} is missing", manifest::PATH)))?;
    let signature = read_bounded(&root.join(manifest::SIGNATURE_PATH), transfer::MAX_SIGNATURE_BYTES as u64)?;
    let (parsed, transfer) = read_manifest(&manifest_bytes, signature.as_deref(), options.transfer_key)?;
    let expected = expected_files(root, &parsed.manifest);
    check_tree(root, &expected)?;
    let stats = hash_in_parallel(&expected, options.jobs.max(1), progress)?;
    Ok(CheckedContent { manifest: parsed, transfer_signature: transfer, stats, root: root.to_path_buf() })
}

fn expected_files(root: &Path, manifest: &BundleManifest) -> BTreeMap<PathBuf, Expected> {
    let blobs = manifest.blobs.iter().filter(|b| b.carried).map(|b| Expected {
        path: blob_path(root, &b.digest),
        digest: b.digest.clone(),
        size: b.size,
    });
    let files = manifest.files.iter().map(|f| Expected {
        path: root.join(&f.path),
        digest: f.sha256.clone(),
        size: f.size,
    });
    blobs.chain(files).map(|e| (e.path.clone(), e)).collect()
}

/// Every regular file under `root` must be expected (or the manifest and
/// its signature); every expected file must exist. No symlinks, devices or
/// other special files anywhere.
fn check_tree(root: &Path, expected: &BTreeMap<PathBuf, Expected>) -> Result<()> {
    let own = [root.join(manifest::PATH), root.join(manifest::SIGNATURE_PATH)];
    let mut seen = 0usize;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io { path: dir.clone(), source })?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| Error::Io { path: path.clone(), source })?;
            let shown = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            if kind.is_symlink() {
                return Err(content_error(format!("{shown} is a symbolic link; bundles hold regular files only")));
            } else if kind.is_dir() {
                stack.push(path);
            } else if !kind.is_file() {
                return Err(content_error(format!("{shown} is not a regular file")));
            } else if expected.contains_key(&path) {
                seen += 1;
            } else if !own.contains(&path) {
                return Err(content_error(format!("{shown} is not listed in the bundle manifest")));
            }
        }
    }
    if seen != expected.len() {
        let missing = expected.keys().find(|p| !p.exists()).map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string());
        return Err(content_error(format!("{} is missing", missing.unwrap_or_else(|| "a listed file".into()))));
    }
    Ok(())
}

/// Hash every expected file with `jobs` threads, largest first so the work
/// balances. Stops at the first mismatch.
fn hash_in_parallel(expected: &BTreeMap<PathBuf, Expected>, jobs: usize, progress: &dyn Progress) -> Result<ContentStats> {
    let mut work: Vec<&Expected> = expected.values().collect();
    work.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    let total: u64 = work.iter().map(|e| e.size).sum();
    progress.start("checking blobs", total);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(work.len()).max(1) {
            scope.spawn(|| {
                let mut buffer = vec![0u8; oci::IO_CHUNK];
                while !failed.load(Ordering::Relaxed) {
                    let Some(item) = work.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    if let Err(e) = verify_file(item, &mut buffer, progress) {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().expect("lock").get_or_insert(e);
                    }
                }
            });
        }
    });
    progress.finish();
    if let Some(e) = first_error.into_inner().expect("lock") {
        return Err(e);
    }
    let blobs = work.iter().filter(|e| e.path.components().any(|c| c.as_os_str() == "blobs")).count();
    Ok(ContentStats { blobs, files: work.len() - blobs, bytes: total })
}

fn verify_file(item: &Expected, buffer: &mut [u8], progress: &dyn Progress) -> Result<()> {
    let file = File::open(&item.path).map_err(|source| Error::Io { path: item.path.clone(), source })?;
    let actual = file.metadata().map_err(|source| Error::Io { path: item.path.clone(), source })?.len();
    if actual != item.size {
        return Err(content_error(format!(
            "{}: size {actual} bytes, the manifest says {}",
            item.path.display(),
            item.size
        )));
    }
    let mut reader = DigestReader::new(file, item.digest.clone(), item.size);
    loop {
        match reader.read(buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => progress.advance(n as u64),
            Err(e) => return Err(content_error(format!("{}: {}", item.path.display(), describe(&e)))),
        }
    }
}

/// The digest mismatch inside an I/O error, or the I/O error itself.
fn describe(error: &io::Error) -> String {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<oci::DigestError>())
        .map_or_else(|| error.to_string(), ToString::to_string)
}

// ------------------------------------------------------------- archives

fn check_stream(raw: impl Read, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let mut buffered = BufReader::with_capacity(oci::IO_CHUNK, raw);
    let head = buffered.fill_buf().map_err(|e| content_error(format!("reading the archive: {e}")))?;
    let compression = Compression::detect(head);
    let mut archive = ArchiveReader::new(compression.decoder(buffered)?);
    let work = prepare_work_dir(options.work_dir)?;

    // Steps 1 and 2: the signature (if any) and the manifest come first.
    let mut signature = None;
    let manifest_bytes = loop {
        // Until the manifest is read, a broken archive means no manifest.
        let mut entry = archive
            .next_entry()
            .map_err(|e| Error::failed(Check::BundleManifest, e.to_string()))?
            .ok_or_else(|| Error::failed(Check::BundleManifest, "the archive has no bundle manifest"))?;
        match entry.path.as_str() {
            manifest::SIGNATURE_PATH if signature.is_none() => {
                signature = Some(read_entry(&mut entry, transfer::MAX_SIGNATURE_BYTES as u64)?);
            }
            manifest::PATH => break read_entry(&mut entry, manifest::MAX_MANIFEST_BYTES)?,
            other => {
                return Err(Error::failed(
                    Check::BundleManifest,
                    format!("{other} comes before the bundle manifest; the manifest (and its signature) must come first"),
                ))
            }
        }
    };
    let (parsed, transfer) = read_manifest(&manifest_bytes, signature.as_deref(), options.transfer_key)?;
    write_new(&work.join(manifest::PATH), &manifest_bytes)?;
    if let Some(sig) = &signature {
        write_new(&work.join(manifest::SIGNATURE_PATH), sig)?;
    }

    // Step 3: every other entry must be a listed blob or file, once.
    let expected = expected_files(&work, &parsed.manifest);
    let by_name: BTreeMap<String, &Expected> = expected
        .values()
        .map(|e| (e.path.strip_prefix(&work).expect("under work").to_string_lossy().into_owned(), e))
        .collect();
    let total: u64 = expected.values().map(|e| e.size).sum();
    progress.start("checking blobs", total);
    let mut done = std::collections::BTreeSet::new();
    while let Some(mut entry) = archive.next_entry()? {
        let item = by_name
            .get(entry.path.as_str())
            .ok_or_else(|| content_error(format!("{} is not listed in the bundle manifest", entry.path)))?;
        if !done.insert(entry.path.clone()) {
            return Err(content_error(format!("{} appears twice in the archive", entry.path)));
        }
        if entry.size != item.size {
            return Err(content_error(format!(
                "{}: the archive says {} bytes, the manifest {}",
                entry.path, entry.size, item.size
            )));
        }
        let name = entry.path.clone();
        extract_verified(&mut entry, item, &name, progress)?;
    }
    progress.finish();
    if let Some(missing) = by_name.keys().find(|name| !done.contains(*name)) {
        return Err(content_error(format!("{missing} is missing from the archive")));
    }
    let blobs = parsed.manifest.blobs.iter().filter(|b| b.carried).count();
    let stats = ContentStats { blobs, files: expected.len() - blobs, bytes: total };
    Ok(CheckedContent { manifest: parsed, transfer_signature: transfer, stats, root: work })
}

fn read_entry(entry: &mut impl Read, limit: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| content_error(format!("reading the archive: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge { what: "archive entry".into(), limit });
    }
    Ok(bytes)
}

/// The work directory must be ours alone: created here, or empty.
fn prepare_work_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    let mut entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    if entries.next().is_some() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: io::Error::new(io::ErrorKind::AlreadyExists, "the work directory is not empty"),
        });
    }
    Ok(dir.to_path_buf())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_error = |source| Error::Io { path: path.to_path_buf(), source };
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(io_error)?;
    let mut file = File::options().write(true).create_new(true).open(path).map_err(io_error)?;
    file.write_all(bytes).map_err(io_error)
}

/// Stream one entry into the work directory through a digest check; the
/// file gets its final name only once its digest and size have matched.
fn extract_verified(entry: &mut impl Read, item: &Expected, name: &str, progress: &dyn Progress) -> Result<()> {
    let io_error = |source| Error::Io { path: item.path.clone(), source };
    std::fs::create_dir_all(item.path.parent().expect("has a parent")).map_err(io_error)?;
    let mut partial = item.path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut out = File::options().write(true).create_new(true).open(&partial).map_err(io_error)?;
    let mut reader = DigestReader::new(entry, item.digest.clone(), item.size);
    let mut buffer = vec![0u8; oci::IO_CHUNK];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                out.write_all(&buffer[..n]).map_err(io_error)?;
                progress.advance(n as u64);
            }
            Err(e) => {
                drop(out);
                let _ = std::fs::remove_file(&partial);
                return Err(content_error(format!("{name}: {}", describe(&e))));
            }
        }
    }
    out.flush().map_err(io_error)?;
    std::fs::rename(&partial, &item.path).map_err(io_error)
}
