//! The archive form: the bundle as one deterministic ustar stream
//! (`verifier::bundle::archive::ArchiveWriter`), entries in the order the
//! format gives (signature and manifest first, so a streaming reader can
//! check each blob as it passes), optionally compressed: gzip with a fixed
//! header (no name, mtime 0) at a fixed level, or zstd at a fixed level on
//! one thread. [`Plan`] says where each entry's bytes come from; the same
//! SBOM writer makes `sboms.tar.gz`.

use crate::error::{Error, Result};
use crate::fetch::{FetchStats, Payload};
use crate::write::manifest::under;
use crate::write::Staged;
use oci::ordered::InOrder;
use oci::{BlobCopyError, Descriptor, Digest};
use std::io::{self, Write};
use std::path::Path;
use verifier::bundle::archive::{ArchiveWriter, Compression};
use verifier::bundle::manifest::{self as format, BundleManifest};

/// gzip level: the default, fixed so output is reproducible.
const GZIP_LEVEL: u32 = 6;
/// zstd level: the default, fixed.
const ZSTD_LEVEL: i32 = 3;

/// A stream compressed (or not) as the bundle asks.
pub enum Compressor<W: Write> {
    /// No compression.
    None(W),
    /// gzip, fixed header.
    Gzip(flate2::write::GzEncoder<W>),
    /// zstd, one thread.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    /// Start compressing onto `inner`.
    pub fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::None(inner),
            Compression::Gzip => Self::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(255)
                    .write(inner, flate2::Compression::new(GZIP_LEVEL)),
            ),
            Compression::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(inner, ZSTD_LEVEL)?),
        })
    }

    /// Finish the stream and return the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Self::None(w) => Ok(w),
            Self::Gzip(g) => g.finish(),
            Self::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::None(w) => w.write(buf),
            Self::Gzip(g) => g.write(buf),
            Self::Zstd(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::None(w) => w.flush(),
            Self::Gzip(g) => g.flush(),
            Self::Zstd(z) => z.flush(),
        }
    }
}

/// Every archive entry, in the format's order: `airlock/manifest.json.sig`
/// (if any), `airlock/manifest.json`, `oci-layout`, `index.json`,
/// `airlock/trust/…` (sorted), `blobs/sha256/…` (carried, by digest),
/// `sboms.tar.gz`.
pub fn entry_order(manifest: &BundleManifest, signed: bool) -> Vec<String> {
    let mut order = Vec::new();
    if signed {
        order.push(format::SIGNATURE_PATH.to_string());
    }
    order.push(format::PATH.to_string());
    let listed = |path: &str| manifest.files.iter().any(|f| f.path == path);
    for path in ["oci-layout", "index.json"] {
        if listed(path) {
            order.push(path.to_string());
        }
    }
    let mut trust: Vec<String> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{}/", format::TRUST_DIR)))
        .map(|f| f.path.clone())
        .collect();
    trust.sort();
    order.extend(trust);
    order.extend(manifest.blobs.iter().filter(|b| b.carried).map(|b| blob_name(&b.digest)));
    if listed(format::SBOMS_PATH) {
        order.push(format::SBOMS_PATH.to_string());
    }
    order
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// Where an entry's bytes come from.
enum Source {
    /// Held in memory: the manifest and its signature.
    Memory(Vec<u8>),
    /// A file in the work directory, checked while read against the digest
    /// and size the manifest lists.
    File(Digest),
    /// Fetched from the registry, in archive order, checked as it arrives;
    /// the image that needs it, for errors.
    Fetched(Box<Descriptor>, String),
}

struct Entry {
    name: String,
    size: u64,
    source: Source,
}

/// The archive's entries, each with where its bytes come from: everything
/// the work directory holds is read from there, the rest of the payload is
/// fetched.
pub struct Plan {
    entries: Vec<Entry>,
    compression: Compression,
}

impl Plan {
    /// The plan for `staged` (with `signature`, if any) in `compression`.
    pub fn new(staged: &Staged, signature: Option<&str>, payload: &Payload, compression: Compression) -> Result<Self> {
        let manifest = &staged.manifest;
        let mut listed: std::collections::BTreeMap<String, (Digest, u64)> =
            manifest.files.iter().map(|f| (f.path.clone(), (f.sha256.clone(), f.size))).collect();
        listed.extend(manifest.blobs.iter().filter(|b| b.carried).map(|b| (blob_name(&b.digest), (b.digest.clone(), b.size))));
        let mut entries = Vec::new();
        for name in entry_order(manifest, signature.is_some()) {
            let (size, source) = match (name.as_str(), listed.remove(&name)) {
                (format::SIGNATURE_PATH, _) => memory(signature.unwrap_or_default().as_bytes()),
                (format::PATH, _) => memory(&staged.bytes),
                (_, Some((digest, size))) => match payload.to_fetch(&digest, &under(&staged.root, &name)) {
                    Some((descriptor, image)) => (size, Source::Fetched(Box::new(descriptor), image)),
                    None => (size, Source::File(digest)),
                },
                (_, None) => return Err(Error::Unsupported(format!("internal error: {name} is in the archive order but not listed"))),
            };
            entries.push(Entry { name, size, source });
        }
        Ok(Self { entries, compression })
    }

    /// Bytes of all entries.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// The blobs to fetch, in archive order.
    pub fn fetched(&self) -> Vec<Descriptor> {
        self.entries
            .iter()
            .filter_map(|e| match &e.source {
                Source::Fetched(d, _) => Some((**d).clone()),
                _ => None,
            })
            .collect()
    }

    /// What this archive fetches, and what of the payload the work
    /// directory already held (an interrupted run's).
    pub fn fetch_stats(&self, payload: &Payload) -> FetchStats {
        let mut stats = FetchStats::default();
        for e in &self.entries {
            match &e.source {
                Source::Fetched(..) => {
                    stats.downloaded += 1;
                    stats.downloaded_bytes += e.size;
                }
                Source::File(digest) if payload.carries(digest) => {
                    stats.reused += 1;
                    stats.reused_bytes += e.size;
                }
                _ => {}
            }
        }
        stats
    }

    /// Write every entry onto `sink`, blobs to fetch taken from `in_order`
    /// (which yields them in this plan's order); `advance` hears each
    /// entry's bytes once written.
    pub fn write(&self, root: &Path, sink: &mut dyn Write, mut in_order: InOrder, advance: &dyn Fn(u64)) -> Result<()> {
        let io_error = |e| Error::io(root, "write the archive", e);
        let compressor = Compressor::new(sink, self.compression).map_err(io_error)?;
        let mut archive = ArchiveWriter::new(io::BufWriter::with_capacity(1 << 20, compressor));
        for entry in &self.entries {
            let (name, size) = (entry.name.as_str(), entry.size);
            match &entry.source {
                Source::Memory(bytes) => archive.append(name, size, &bytes[..]).map_err(io_error)?,
                Source::File(digest) => append_file(&mut archive, root, name, digest, size)?,
                Source::Fetched(descriptor, image) => {
                    let blob = in_order.next_blob().filter(|b| b.descriptor().digest == descriptor.digest);
                    let blob = blob.ok_or_else(|| Error::Unsupported(format!("internal error: {} was not fetched in order", descriptor.digest)))?;
                    archive.append(name, size, ToEnd::new(blob, size)).map_err(|e| fetch_error(root, image, e))?;
                }
            }
            advance(size);
        }
        let buffered = archive.finish().map_err(io_error)?;
        let compressor = buffered.into_inner().map_err(|e| io_error(e.into_error()))?;
        compressor.finish().map_err(io_error)?;
        Ok(())
    }
}

fn memory(bytes: &[u8]) -> (u64, Source) {
    (bytes.len() as u64, Source::Memory(bytes.to_vec()))
}

/// A file of the work directory, checked against the manifest as it is
/// written: a blob corrupted there since it was fetched never reaches the
/// media.
fn append_file<W: Write>(archive: &mut ArchiveWriter<W>, root: &Path, name: &str, digest: &Digest, listed: u64) -> Result<()> {
    let path = under(root, name);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, "open", e))?;
    let size = file.metadata().map_err(|e| Error::io(&path, "stat", e))?.len();
    let result = if size == listed {
        let reader = io::BufReader::with_capacity(oci::IO_CHUNK, file);
        archive.append(name, size, ToEnd::new(oci::DigestReader::new(reader, digest.clone(), size), size))
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidData, format!("{size} bytes on disk, the manifest lists {listed}")))
    };
    result.map_err(|e| Error::io(&path, "archive", e))
}

/// A fetched blob that failed (content that did not match, a registry
/// that gave up) as the registry error it is, naming the image; or the
/// archive's own write failing.
fn fetch_error(root: &Path, image: &str, e: io::Error) -> Error {
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<BlobCopyError>()) {
        Some(Ok(copy)) => Error::registry(&image, "fetch blob", copy.source),
        Some(Err(other)) => Error::io(root, "write the archive", io::Error::new(kind, other)),
        None => Error::io(root, "write the archive", io::Error::from(kind)),
    }
}

/// Reads exactly `size` bytes, then reads on to the end of the stream so
/// a verifying reader gets to check what it saw (the archive writer stops
/// at the entry's size and would never ask).
struct ToEnd<R> {
    inner: R,
    remaining: u64,
}

impl<R: io::Read> ToEnd<R> {
    fn new(inner: R, size: u64) -> Self {
        Self { inner, remaining: size }
    }
}

impl<R: io::Read> io::Read for ToEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "shorter than listed"));
        }
        self.remaining -= n as u64;
        if self.remaining == 0 && self.inner.read(&mut [0u8; 1])? != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "longer than listed"));
        }
        Ok(n)
    }
}

/// `sboms.tar.gz`: one regular file per SBOM, `(name, path of its bytes)`,
/// sorted by name, fixed metadata, gzip with a fixed header.
pub fn sboms_tar_gz(files: &[(String, std::path::PathBuf)], dest: &Path) -> Result<()> {
    let mut sorted: Vec<&(String, std::path::PathBuf)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let io_error = |e| Error::io(dest, "write", e);
    let mut bytes = Vec::new();
    {
        let compressor = Compressor::new(&mut bytes, Compression::Gzip).map_err(io_error)?;
        let mut archive = ArchiveWriter::new(compressor);
        for (name, path) in sorted {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
            let size = file.metadata().map_err(|e| Error::io(path, "stat", e))?.len();
            archive.append(name, size, io::BufReader::new(file)).map_err(io_error)?;
        }
        archive.finish().map_err(io_error)?.finish().map_err(io_error)?;
    }
    crate::write::layout::write_atomic(dest, &bytes)
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compression_is_deterministic_and_readable() {
        let data = b"airlock ".repeat(10_000);
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let once = |_: ()| {
                let mut c = Compressor::new(Vec::new(), compression).unwrap();
                c.write_all(&data).unwrap();
                c.finish().unwrap()
            };
            let (a, b) = (once(()), once(()));
            assert_eq!(a, b, "{compression:?}");
            assert_eq!(Compression::detect(&a), compression);
            let mut back = Vec::new();
            compression.decoder(&a[..]).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
        }
        // gzip header: no name, mtime 0.
        let mut c = Compressor::new(Vec::new(), Compression::Gzip).unwrap();
        c.write_all(b"x").unwrap();
        let gz = c.finish().unwrap();
        assert_eq!(gz[3], 0, "no FNAME flag");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
    }
}
