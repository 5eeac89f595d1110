//! Opening a bundle and checking its content, the first three steps of
//! `airlock verify`: transfer signature, manifest structure, then every blob
//! and file against the digest and size the manifest gives, with nothing
//! missing and nothing extra; then the layout against the manifest
//! ([`super::layout`]).
//!
//! A directory is checked in place, hashing files in parallel; every file
//! is opened beneath the bundle's root, component by component, never
//! through a symbolic link ([`super::confined`]). An archive (or a set of
//! volumes) is read once as a stream into airlock's private work directory,
//! after checking the directory has room for everything the manifest
//! declares: each blob is written under its digest only after its digest
//! and size have been checked, an entry the manifest does not list (or
//! lists with another size) is refused before a byte of it is written, and
//! nothing is ever created from an archive path.

use super::archive::{self, ArchiveReader, Compression};
use super::confined::{self, Kind, Refusal, Root};
use super::manifest::{self, BundleManifest, ParsedManifest};
use super::{layout, transfer, volumes};
use crate::{ContentError, Error, ManifestError, Result, TransferError};
use keys::PublicKey;
use oci::{Digest, DigestReader};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

pub use progress::{NoProgress, Progress};
use progress::{Phase, Unit};

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
    /// Everything is opened beneath it, never by a path that could leave it.
    root: Root,
    /// Whether `root` is airlock's private work directory (an archive was
    /// read into it) rather than the bundle directory itself.
    private: bool,
}

/// Largest trust file copied out of a directory bundle; TUF metadata and
/// trusted roots are kilobytes.
const MAX_TRUST_FILE_BYTES: u64 = 32 * 1024 * 1024;

impl CheckedContent {
    /// Open a checked blob for reading. It is verified again while read, so
    /// a file changed since the check fails at end of stream.
    pub fn open_blob(&self, digest: &Digest) -> Result<DigestReader<BufReader<File>>> {
        let entry = self
            .manifest
            .manifest
            .blob(digest)
            .filter(|b| b.carried)
            .ok_or_else(|| ContentError::NotCarried { digest: digest.clone() })?;
        let file = open_beneath(&self.root, &blob_path(digest))?;
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
            .map_err(|source| ContentError::Changed { what: format!("blob {digest}"), source })?;
        Ok(bytes)
    }

    /// Open a checked non-blob file (the SBOM archive) for reading,
    /// verified again while read.
    pub fn open_file(&self, path: &str) -> Result<DigestReader<BufReader<File>>> {
        let entry = self.file_entry(path)?;
        let file = open_beneath(&self.root, path)?;
        Ok(DigestReader::new(BufReader::with_capacity(oci::IO_CHUNK, file), entry.sha256.clone(), entry.size))
    }

    /// Read a checked non-blob file (trust material, index.json), verified
    /// again as it is read.
    pub fn read_file(&self, path: &str, limit: u64) -> Result<Vec<u8>> {
        let size = self.file_entry(path)?.size;
        if size > limit {
            return Err(Error::TooLarge { what: path.into(), limit });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.open_file(path)?
            .read_to_end(&mut bytes)
            .map_err(|source| ContentError::Changed { what: path.to_string(), source })?;
        Ok(bytes)
    }

    fn file_entry(&self, path: &str) -> Result<&manifest::FileEntry> {
        self.manifest
            .manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| ContentError::NotListed { path: path.to_string() }.into())
    }

    /// The directory holding the checked layout (the bundle itself, or the
    /// work directory an archive was read into). For messages: read through
    /// [`Self::open_blob`] and [`Self::read_file`], which stay inside it.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The carried directory `path` (a TUF snapshot) where code that reads
    /// by path may read it: an archive's is in the private work directory
    /// already; a directory bundle's listed files under `path` are copied
    /// into `work_dir` (empty or absent) through confined, digest-checked
    /// reads, so nothing swapped into the bundle after its check, and
    /// nothing outside it, is ever read.
    pub fn private_dir(&self, path: &str, work_dir: &Path) -> Result<PathBuf> {
        if self.private {
            return Ok(self.root.path().join(path));
        }
        prepare_work_dir(work_dir)?;
        let prefix = format!("{path}/");
        for file in self.manifest.manifest.files.iter().filter(|f| f.path.starts_with(&prefix)) {
            write_new(&work_dir.join(&file.path), &self.read_file(&file.path, MAX_TRUST_FILE_BYTES)?)?;
        }
        Ok(work_dir.join(path))
    }
}

/// A blob's path in the layout, relative to its root.
fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// Open `relative` beneath `root`: a confinement refusal names the path, an
/// I/O failure says where.
fn open_beneath(root: &Root, relative: &str) -> Result<File> {
    root.open_file(relative).map_err(|e| opened(root, relative, e))
}

fn opened(root: &Root, relative: &str, source: io::Error) -> Error {
    match Refusal::within(&source) {
        Some(refusal) => ContentError::NotConfined { path: refusal.path.clone(), reason: refusal.reason.to_string() }.into(),
        None => Error::Io { path: root.path().join(relative), source },
    }
}

/// Open a bundle in any form and check its content.
pub fn open(input: &Path, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let content = match input_kind(input)? {
        Input::Directory => check_directory(input, options, progress)?,
        Input::Volumes => {
            let set = volumes::VolumeSet::open(input)?;
            let content = check_stream(set.reader()?, options, progress)?;
            content
        }
        Input::Archive => {
            let file = File::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
            check_stream(file, options, progress)?
        }
    };
    layout::check(&content)?;
    Ok(content)
}

/// What the operator pointed at.
enum Input {
    Directory,
    Volumes,
    Archive,
}

fn input_kind(input: &Path) -> Result<Input> {
    let metadata = std::fs::metadata(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    if metadata.is_dir() {
        Ok(Input::Directory)
    } else if !metadata.is_file() {
        Err(Error::Io {
            path: input.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a directory or a regular file"),
        })
    } else if volumes::base_of(input).is_some() && starts_with_volume_header(input)? {
        Ok(Input::Volumes)
    } else {
        Ok(Input::Archive)
    }
}

/// Open a bundle still being written, for the connected side's `--policy`
/// self-check: `manifest_bytes` (not on disk yet) parsed as any bundle's,
/// every listed file under `root` checked now, and blobs checked only as
/// they are read (every read is verified). Image configs and layers need
/// not be there yet (an archive gets them streamed into it later, each
/// checked as it arrives); evaluating a policy reads none of them, only
/// manifests and evidence. Nothing is signed yet, so no signature is
/// checked. The site never opens a bundle this way: [`open`] checks every
/// byte first.
pub fn open_staged(root: &Path, manifest_bytes: &[u8], jobs: usize) -> Result<CheckedContent> {
    let (parsed, transfer_signature) = read_manifest(manifest_bytes, None, None)?;
    let files: BTreeMap<String, Expected> = expected_files(&parsed.manifest).into_iter().filter(|(_, e)| !e.is_blob).collect();
    let root = Root::open(root).map_err(|source| Error::Io { path: root.to_path_buf(), source })?;
    let stats = hash_in_parallel(&root, &files, jobs.max(1), &NoProgress)?;
    Ok(CheckedContent { manifest: parsed, transfer_signature, stats, root, private: false })
}

/// Read a bundle's manifest without checking anything else (for `inspect`).
/// Nothing read this way is proven: callers must say so.
pub fn peek_manifest(input: &Path) -> Result<ParsedManifest> {
    match input_kind(input)? {
        Input::Directory => {
            let root = Root::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
            let bytes = read_bounded(&root, manifest::PATH, manifest::MAX_MANIFEST_BYTES)?
                .ok_or(ManifestError::Missing)?;
            BundleManifest::parse(&bytes)
        }
        Input::Volumes => peek_stream(volumes::VolumeSet::open(input)?.reader()?),
        Input::Archive => peek_stream(File::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?),
    }
}

fn peek_stream(raw: impl Read) -> Result<ParsedManifest> {
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let head = buffered.fill_buf().map_err(ContentError::Archive)?;
    let mut archive = ArchiveReader::new(Compression::detect(head).decoder(buffered)?);
    for _ in 0..2 {
        let Some(mut entry) = archive.next_entry()? else { break };
        if entry.path == manifest::PATH {
            return BundleManifest::parse(&read_entry(&mut entry, manifest::MAX_MANIFEST_BYTES)?);
        }
    }
    Err(ManifestError::NotAtStart.into())
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
            return Err(TransferError::Unsigned { key: key.fingerprint().to_string() }.into())
        }
        (None, Some(_)) => TransferSignature::NotChecked,
        (None, None) => TransferSignature::Unsigned,
    };
    let manifest = BundleManifest::parse(manifest_bytes).map_err(|e| match e {
        Error::Malformed { reason, .. } => ManifestError::Invalid { reason }.into(),
        other => other,
    })?;
    Ok((manifest, transfer))
}

/// Read `relative` beneath `root`, at most `limit` bytes; `None` when absent.
fn read_bounded(root: &Root, relative: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    match root.open_file(relative) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| opened(root, relative, e))?;
            if bytes.len() as u64 > limit {
                return Err(Error::TooLarge { what: relative.to_string(), limit });
            }
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(opened(root, relative, e)),
    }
}


// ------------------------------------------------------------- directories

/// What a file of a bundle must be checked against, by its path relative
/// to the bundle's root.
struct Expected {
    path: String,
    digest: Digest,
    size: u64,
    is_blob: bool,
}

fn check_directory(input: &Path, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let root = Root::open(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    let manifest_bytes = read_bounded(&root, manifest::PATH, manifest::MAX_MANIFEST_BYTES)?
        .ok_or(ManifestError::Missing)?;
    let signature = read_bounded(&root, manifest::SIGNATURE_PATH, transfer::MAX_SIGNATURE_BYTES as u64)?;
    let (parsed, transfer) = read_manifest(&manifest_bytes, signature.as_deref(), options.transfer_key)?;
    let expected = expected_files(&parsed.manifest);
    check_tree(&root, &expected)?;
    let stats = hash_in_parallel(&root, &expected, options.jobs.max(1), progress)?;
    Ok(CheckedContent { manifest: parsed, transfer_signature: transfer, stats, root, private: false })
}

fn expected_files(manifest: &BundleManifest) -> BTreeMap<String, Expected> {
    let blobs = manifest.blobs.iter().filter(|b| b.carried).map(|b| Expected {
        path: blob_path(&b.digest),
        digest: b.digest.clone(),
        size: b.size,
        is_blob: true,
    });
    let files = manifest.files.iter().map(|f| Expected {
        path: f.path.clone(),
        digest: f.sha256.clone(),
        size: f.size,
        is_blob: false,
    });
    blobs.chain(files).map(|e| (e.path.clone(), e)).collect()
}

/// Every regular file under `root` must be expected (or the manifest and
/// its signature); every expected file must exist; every directory must
/// lead to one. No symlinks, devices or other special files anywhere. The
/// walk opens each directory beneath the one before, never by path.
fn check_tree(root: &Root, expected: &BTreeMap<String, Expected>) -> Result<()> {
    let own = [manifest::PATH, manifest::SIGNATURE_PATH];
    let directories: BTreeSet<&str> = expected
        .keys()
        .map(String::as_str)
        .chain(own)
        .flat_map(|path| path.match_indices('/').map(move |(i, _)| &path[..i]))
        .collect();
    let mut seen = BTreeSet::new();
    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let listing = if dir.is_empty() { root.entries() } else { root.open_dir(&dir).and_then(|d| d.entries()) };
        for (name, kind) in listing.map_err(|e| opened(root, &dir, e))? {
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let refuse = |reason: &str| Err(ContentError::NotConfined { path: path.clone(), reason: reason.to_string() }.into());
            match kind {
                Kind::Symlink => return refuse("a symbolic link (a bundle holds regular files only)"),
                Kind::Other => return refuse("not a regular file"),
                Kind::Directory if directories.contains(path.as_str()) => stack.push(path),
                Kind::Directory => return refuse("a directory holding nothing the bundle manifest lists"),
                Kind::File if expected.contains_key(&path) => {
                    seen.insert(path);
                }
                Kind::File if own.contains(&path.as_str()) => {}
                Kind::File => return Err(ContentError::NotListed { path }.into()),
            }
        }
    }
    match expected.keys().find(|p| !seen.contains(*p)) {
        Some(missing) => Err(ContentError::Missing { path: missing.clone(), from_archive: false }.into()),
        None => Ok(()),
    }
}

/// Hash every expected file with `jobs` threads, largest first so the work
/// balances. Stops at the first mismatch.
fn hash_in_parallel(root: &Root, expected: &BTreeMap<String, Expected>, jobs: usize, progress: &dyn Progress) -> Result<ContentStats> {
    let mut work: Vec<&Expected> = expected.values().collect();
    work.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    let total: u64 = work.iter().map(|e| e.size).sum();
    progress.start(Phase::Check, total, Unit::Bytes);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(work.len()).max(1) {
            scope.spawn(|| {
                let mut buffer = vec![0u8; oci::IO_CHUNK];
                while !failed.load(Ordering::Relaxed) {
                    let Some(item) = work.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    if let Err(e) = verify_file(root, item, &mut buffer, progress) {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().expect("lock").get_or_insert(e);
                    }
                }
            });
        }
    });
    progress.finish(Phase::Check);
    if let Some(e) = first_error.into_inner().expect("lock") {
        return Err(e);
    }
    let blobs = work.iter().filter(|e| e.is_blob).count();
    Ok(ContentStats { blobs, files: work.len() - blobs, bytes: total })
}

fn verify_file(root: &Root, item: &Expected, buffer: &mut [u8], progress: &dyn Progress) -> Result<()> {
    let file = open_beneath(root, &item.path)?;
    let actual = file.metadata().map_err(|e| opened(root, &item.path, e))?.len();
    if actual != item.size {
        return Err(ContentError::WrongSize { path: item.path.clone(), expected: item.size, found: actual, from_archive: false }.into());
    }
    let mut reader = DigestReader::new(file, item.digest.clone(), item.size);
    loop {
        match reader.read(buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => progress.advance(n as u64),
            Err(e) => return Err(read_failure(&item.path, e).into()),
        }
    }
}

/// The digest mismatch inside an I/O error, or the I/O error itself.
fn read_failure(path: &str, error: io::Error) -> ContentError {
    match error.get_ref().and_then(|e| e.downcast_ref::<oci::DigestError>()) {
        Some(mismatch) => ContentError::Digest { path: path.to_string(), source: mismatch.clone() },
        None => ContentError::Unreadable { path: path.to_string(), source: error },
    }
}

// ------------------------------------------------------------- archives

fn check_stream(raw: impl Read, options: &OpenOptions<'_>, progress: &dyn Progress) -> Result<CheckedContent> {
    let mut buffered = BufReader::with_capacity(oci::IO_CHUNK, raw);
    let head = buffered.fill_buf().map_err(ContentError::Archive)?;
    let compression = Compression::detect(head);
    let mut archive = ArchiveReader::new(compression.decoder(buffered)?);
    let work = prepare_work_dir(options.work_dir)?;

    // Steps 1 and 2: the signature (if any) and the manifest come first.
    let mut signature = None;
    let manifest_bytes = loop {
        // Until the manifest is read, a broken archive means no manifest.
        let mut entry = archive
            .next_entry()
            .map_err(|e| ManifestError::Unreadable(Box::new(e)))?
            .ok_or(ManifestError::NotInArchive)?;
        match entry.path.as_str() {
            manifest::SIGNATURE_PATH if signature.is_none() => {
                signature = Some(read_entry(&mut entry, transfer::MAX_SIGNATURE_BYTES as u64)?);
            }
            manifest::PATH => break read_entry(&mut entry, manifest::MAX_MANIFEST_BYTES)?,
            other => {
                return Err(ManifestError::EntryBefore { path: other.to_string() }.into())
            }
        }
    };
    let (parsed, transfer) = read_manifest(&manifest_bytes, signature.as_deref(), options.transfer_key)?;
    let expected = expected_files(&parsed.manifest);
    let total: u64 = expected.values().map(|e| e.size).sum();
    require_space(&work, total + (manifest_bytes.len() + signature.as_ref().map_or(0, Vec::len)) as u64)?;
    write_new(&work.join(manifest::PATH), &manifest_bytes)?;
    if let Some(sig) = &signature {
        write_new(&work.join(manifest::SIGNATURE_PATH), sig)?;
    }

    // Step 3: every other entry must be a listed blob or file, once, of the
    // listed size: anything else is refused before a byte of it is written.
    progress.start(Phase::Check, total, Unit::Bytes);
    let mut done = BTreeSet::new();
    while let Some(mut entry) = archive.next_entry()? {
        let item = expected
            .get(entry.path.as_str())
            .ok_or_else(|| ContentError::NotListed { path: entry.path.clone() })?;
        if !done.insert(entry.path.clone()) {
            return Err(ContentError::Duplicate { path: entry.path.clone() }.into());
        }
        if entry.size != item.size {
            return Err(ContentError::WrongSize {
                path: entry.path.clone(),
                expected: item.size,
                found: entry.size,
                from_archive: true,
            }
            .into());
        }
        extract_verified(&mut entry, &work, item, progress)?;
    }
    progress.finish(Phase::Check);
    if let Some(missing) = expected.keys().find(|name| !done.contains(*name)) {
        return Err(ContentError::Missing { path: missing.to_string(), from_archive: true }.into());
    }
    let blobs = parsed.manifest.blobs.iter().filter(|b| b.carried).count();
    let stats = ContentStats { blobs, files: expected.len() - blobs, bytes: total };
    let root = Root::open(&work).map_err(|source| Error::Io { path: work.clone(), source })?;
    Ok(CheckedContent { manifest: parsed, transfer_signature: transfer, stats, root, private: true })
}

/// Refuse up front an archive whose declared content does not fit where
/// it would be written, naming the space it needs.
fn require_space(work_dir: &Path, needed: u64) -> Result<()> {
    let available = confined::available_bytes(work_dir).map_err(|source| Error::Io { path: work_dir.to_path_buf(), source })?;
    if needed > available {
        return Err(ContentError::InsufficientSpace { work_dir: work_dir.to_path_buf(), needed, available }.into());
    }
    Ok(())
}

fn read_entry(entry: &mut impl Read, limit: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ContentError::Archive)?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge { what: "archive entry".into(), limit });
    }
    Ok(bytes)
}

/// The work directory must be ours alone: created here (readable by no
/// one else), or empty.
fn prepare_work_dir(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
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
/// Nothing is created from the archive's path: `item.path` is the
/// manifest's, already checked to be plain.
fn extract_verified(entry: &mut impl Read, work: &Path, item: &Expected, progress: &dyn Progress) -> Result<()> {
    let path = work.join(&item.path);
    let io_error = |source| Error::Io { path: path.clone(), source };
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(io_error)?;
    let mut partial = path.clone().into_os_string();
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
                if let Some(expansion) = archive::Expansion::within(&e) {
                    return Err(ContentError::Expansion(expansion).into());
                }
                return Err(read_failure(&item.path, e).into());
            }
        }
    }
    out.flush().map_err(io_error)?;
    std::fs::rename(&partial, &path).map_err(io_error)
}
