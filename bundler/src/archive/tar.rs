//! The archive form: the bundle tree as one deterministic ustar stream
//! (`verifier::bundle::archive::ArchiveWriter`), entries in the order the
//! format gives (signature and manifest first, so a streaming reader can
//! check each blob as it passes), optionally compressed: gzip with a fixed
//! header (no name, mtime 0) at a fixed level, or zstd at a fixed level on
//! one thread. The same SBOM writer makes `sboms.tar.gz`.

use crate::error::{Error, Result};
use crate::write::manifest::under;
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
    order.extend(
        manifest
            .blobs
            .iter()
            .filter(|b| b.carried)
            .map(|b| format!("blobs/{}/{}", b.digest.algorithm().name(), b.digest.hex())),
    );
    if listed(format::SBOMS_PATH) {
        order.push(format::SBOMS_PATH.to_string());
    }
    order
}

/// Write the tree at `root` as an archive onto `sink`; `advance` hears the
/// bytes of each entry as it is written.
pub fn write<W: Write>(
    root: &Path,
    manifest: &BundleManifest,
    signed: bool,
    sink: W,
    compression: Compression,
    advance: &dyn Fn(u64),
) -> Result<W> {
    let io_error = |e| Error::io(root, "write the archive", e);
    let compressor = Compressor::new(sink, compression).map_err(io_error)?;
    let mut archive = ArchiveWriter::new(io::BufWriter::with_capacity(1 << 20, compressor));
    // What each entry must hash to: the archive is checked as it is
    // written, so a blob corrupted in the work directory since it was
    // fetched never reaches the media.
    let mut expected: std::collections::BTreeMap<String, (oci::Digest, u64)> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), (f.sha256.clone(), f.size)))
        .collect();
    for blob in manifest.blobs.iter().filter(|b| b.carried) {
        let name = format!("blobs/{}/{}", blob.digest.algorithm().name(), blob.digest.hex());
        expected.insert(name, (blob.digest.clone(), blob.size));
    }
    for name in entry_order(manifest, signed) {
        let path = under(root, &name);
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, "open", e))?;
        let size = file.metadata().map_err(|e| Error::io(&path, "stat", e))?.len();
        let reader = io::BufReader::with_capacity(oci::IO_CHUNK, file);
        let result = match expected.get(&name) {
            Some((digest, listed)) if *listed == size => {
                archive.append(&name, size, ToEnd::new(oci::DigestReader::new(reader, digest.clone(), size), size))
            }
            Some((_, listed)) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{size} bytes on disk, the manifest lists {listed}"),
            )),
            None => archive.append(&name, size, reader),
        };
        result.map_err(|e| Error::io(&path, "archive", e))?;
        advance(size);
    }
    let buffered = archive.finish().map_err(io_error)?;
    let compressor = buffered.into_inner().map_err(|e| io_error(e.into_error()))?;
    compressor.finish().map_err(io_error)
}

/// Reads exactly `size` bytes, then reads on to the end of the stream so
/// a [`oci::DigestReader`] gets to check what it saw (the archive writer
/// stops at the entry's size and would never ask).
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
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than listed"));
        }
        self.remaining -= n as u64;
        if self.remaining == 0 && self.inner.read(&mut [0u8; 1])? != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file longer than listed"));
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
