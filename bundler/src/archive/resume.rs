//! Resuming an archive: a run that is interrupted while it writes leaves
//! its partial archive (or partial volumes) in the work directory. The
//! next run with the same `--out` recovers every blob that partial stream
//! holds complete, each checked against the digest its name gives as it is
//! copied into the work layout, then removes the partial stream. Blobs
//! recovered are written into the new archive from there, not fetched
//! again. The new archive is written whole, so it is byte for byte what an
//! uninterrupted run would have written (the manifest may differ from the
//! interrupted run's: a fresh Rekor proof, another creation time).

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::Output;
use oci::{Digest, DigestReader, Layout};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use verifier::bundle::archive::{ArchiveReader, Compression};
use verifier::bundle::volumes::{self, HEADER_BYTES};

/// The partial archive stream, in the work directory.
pub const PARTIAL_ARCHIVE: &str = "archive.partial";
/// The partial volumes (`NAME.001`, …), in the work directory.
pub const PARTIAL_VOLUMES: &str = "volumes";
/// Where a blob being recovered is written before it is renamed into place.
const RECOVERING: &str = "recovering.partial";

/// What was recovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Blobs recovered.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Recover the blobs of an interrupted archive run into `layout` (the work
/// directory of `output`), then remove the partial stream. Nothing to do
/// for a directory, or when no run was interrupted.
pub fn recover(output: &Output, layout: &Layout, progress: &dyn Progress) -> Result<Recovered> {
    let Output::Archive { .. } = output else { return Ok(Recovered::default()) };
    let root = layout.path();
    let parts = partial_files(root)?;
    if parts.is_empty() {
        return Ok(Recovered::default());
    }
    // A stream cut anywhere ends the recovery there: what came before it
    // is kept, the blob it cut is fetched again.
    let recovered = match PartialStream::open(&parts) {
        Ok(stream) => extract(stream, layout).unwrap_or_else(|partly| partly),
        Err(_) => Recovered::default(),
    };
    for part in &parts {
        std::fs::remove_file(part).map_err(|e| Error::io(part, "remove the interrupted archive", e))?;
    }
    let _ = std::fs::remove_file(root.join(RECOVERING));
    if recovered.blobs > 0 {
        progress.note(&format!(
            "{} blob(s) ({} bytes) recovered from the archive an interrupted run left",
            recovered.blobs, recovered.bytes
        ));
    }
    Ok(recovered)
}

/// The partial archive, or the partial volumes in order.
fn partial_files(root: &Path) -> Result<Vec<PathBuf>> {
    let single = root.join(PARTIAL_ARCHIVE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let dir = root.join(PARTIAL_VOLUMES);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, "read the interrupted volumes", e)),
    };
    let mut volumes: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| volumes::base_of(p).is_some())
        .collect();
    volumes.sort();
    Ok(volumes)
}

/// Every complete blob entry of `stream` into `layout`; on the first error
/// (the cut), what was recovered until then, as the error value.
fn extract(stream: PartialStream, layout: &Layout) -> std::result::Result<Recovered, Recovered> {
    let mut done = Recovered::default();
    let mut buffered = BufReader::with_capacity(oci::IO_CHUNK, stream);
    let head = buffered.fill_buf().map_err(|_| done)?;
    let decoder = Compression::detect(head).decoder(buffered).map_err(|_| done)?;
    let mut archive = ArchiveReader::new(decoder);
    while let Some(mut entry) = archive.next_entry().map_err(|_| done)? {
        let Some(digest) = entry.path.strip_prefix("blobs/sha256/").and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok()) else {
            continue;
        };
        let path = layout.blob_path(&digest);
        if path.is_file() {
            continue;
        }
        let size = entry.size;
        recover_blob(&mut entry, &digest, size, layout.path(), &path).map_err(|_| done)?;
        done.blobs += 1;
        done.bytes += size;
    }
    Ok(done)
}

/// One blob, checked against its digest and size while copied, renamed
/// into place only once it matched.
fn recover_blob(entry: &mut impl Read, digest: &Digest, size: u64, root: &Path, path: &Path) -> io::Result<()> {
    let partial = root.join(RECOVERING);
    let mut file = File::create(&partial)?;
    io::copy(&mut DigestReader::new(entry, digest.clone(), size), &mut file)?;
    drop(file);
    std::fs::create_dir_all(path.parent().unwrap_or(root))?;
    std::fs::rename(&partial, path)
}

/// The partial stream: one file, or the payloads of partial volumes in
/// order (their headers were never written: each starts with a blank
/// header block).
struct PartialStream {
    parts: Vec<PathBuf>,
    next: usize,
    current: Option<BufReader<File>>,
}

impl PartialStream {
    fn open(parts: &[PathBuf]) -> io::Result<Self> {
        let mut stream = Self { parts: parts.to_vec(), next: 0, current: None };
        stream.advance()?;
        Ok(stream)
    }

    fn advance(&mut self) -> io::Result<bool> {
        let Some(path) = self.parts.get(self.next) else {
            self.current = None;
            return Ok(false);
        };
        let mut file = File::open(path)?;
        if volumes::base_of(path).is_some() {
            file.seek(SeekFrom::Start(HEADER_BYTES))?;
        }
        self.current = Some(BufReader::with_capacity(oci::IO_CHUNK, file));
        self.next += 1;
        Ok(true)
    }
}

impl Read for PartialStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(current) = &mut self.current else { return Ok(0) };
            let n = current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if !self.advance()? {
                return Ok(0);
            }
        }
    }
}
