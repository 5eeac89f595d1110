//! Bundle archives as streams: a minimal ustar reader and writer.
//!
//! The reader never extracts by archive paths. It yields one regular file at
//! a time with its name and size, and refuses everything else: links,
//! devices, FIFOs, global PAX headers, oversized or repeated extension
//! headers, bad checksums, and names that are not plain relative paths.
//! Extension headers (GNU long names, PAX `path`/`size`) are bounded, unlike
//! the `tar` crate's, which reads them into memory whatever their size.
//!
//! The writer produces the deterministic archive docs/bundle-format.md
//! specifies: ustar headers, mtime 0, uid/gid 0, mode 0644, names up to 255
//! bytes through the ustar prefix field, and sizes of 8 GiB or more in GNU
//! base-256 form.

use crate::{ContentError, Error, Result};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

const BLOCK: usize = 512;
/// Longest name a bundle uses is far below this.
const MAX_NAME_BYTES: u64 = 4096;
/// A PAX header for one entry is a few records.
const MAX_PAX_BYTES: u64 = 64 * 1024;

/// Compression of an archive stream, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// A bare tar stream.
    None,
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Recognise compression from the first bytes of a stream.
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }

    /// Wrap `inner` in the matching decoder, bounded: a compressed stream
    /// may not expand more than [`MAX_EXPANSION`]-fold (plus
    /// [`EXPANSION_ALLOWANCE`]), so a small archive cannot stand for
    /// gigabytes of work or disk ([`Expansion`] when it tries).
    pub fn decoder<'a>(self, inner: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
        if self == Self::None {
            return Ok(Box::new(inner));
        }
        let consumed = Rc::new(Cell::new(0u64));
        let decoder = self.raw_decoder(Counted { inner, consumed: consumed.clone() })?;
        Ok(Box::new(Bounded { decoder, consumed, expanded: 0 }))
    }

    /// Wrap `inner` in the matching decoder with no bound on expansion:
    /// only for a caller that bounds what it reads itself (to the sizes a
    /// manifest declares).
    pub fn raw_decoder<'a>(self, inner: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::None => Box::new(inner),
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::new(inner).map_err(|e| Error::malformed("zstd stream", e))?),
        })
    }
}

/// How many times its compressed size a bundle archive may expand to. A
/// bundle is mostly layers that are compressed already (a tar.zst of one
/// is about its content's size); JSON manifests and SBOMs compress 3 to 15
/// times. Zeros compress thousands of times: that is a decompression bomb.
pub const MAX_EXPANSION: u64 = 32;
/// Expansion allowed beyond [`MAX_EXPANSION`] times the compressed bytes
/// read, for the highly compressible manifest and trust files at the start.
pub const EXPANSION_ALLOWANCE: u64 = 4 << 20;

/// A compressed archive expanded beyond [`MAX_EXPANSION`]; carried inside
/// the `io::Error` of the read that crossed the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the archive expands more than {MAX_EXPANSION}-fold ({compressed} compressed bytes already gave {expanded}): \
     refused as a decompression bomb (a genuine bundle is mostly layers that are compressed already)"
)]
pub struct Expansion {
    /// Compressed bytes read so far.
    pub compressed: u64,
    /// Bytes they had expanded to when reading stopped.
    pub expanded: u64,
}

impl Expansion {
    /// The expansion inside an I/O error from a bounded decoder, if that is
    /// what it is.
    pub fn within(error: &io::Error) -> Option<Self> {
        error.get_ref().and_then(|e| e.downcast_ref::<Self>()).copied()
    }
}

/// Counts the compressed bytes a decoder reads.
struct Counted<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

/// Fails a read once the output outgrows the input read so far.
struct Bounded<'a> {
    decoder: Box<dyn Read + 'a>,
    consumed: Rc<Cell<u64>>,
    expanded: u64,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.expanded += n as u64;
        let compressed = self.consumed.get();
        if self.expanded > compressed.saturating_mul(MAX_EXPANSION).saturating_add(EXPANSION_ALLOWANCE) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, Expansion { compressed, expanded: self.expanded }));
        }
        Ok(n)
    }
}

fn malformed(reason: impl std::fmt::Display) -> Error {
    Error::malformed("bundle archive", reason)
}

/// A failed read of the archive: a decompression bomb by its own name,
/// anything else as a malformed archive.
fn read_error(context: &str, error: &io::Error) -> Error {
    match Expansion::within(error) {
        Some(expansion) => ContentError::Expansion(expansion).into(),
        None => malformed(format!("{context}: {error}")),
    }
}

/// One regular file in an archive.
pub struct Entry<'a, R: Read> {
    /// Its name: a plain relative path.
    pub path: String,
    /// Its size in bytes, as the header declares.
    pub size: u64,
    reader: &'a mut ArchiveReader<R>,
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let reader = &mut *self.reader;
        let want = buf.len().min(usize::try_from(reader.remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = reader.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "archive truncated inside an entry"));
        }
        reader.remaining -= n as u64;
        Ok(n)
    }
}

/// Reads a tar stream entry by entry.
pub struct ArchiveReader<R: Read> {
    inner: R,
    /// Unread bytes of the current entry, then its padding.
    remaining: u64,
    padding: u64,
    finished: bool,
}

impl<R: Read> ArchiveReader<R> {
    /// Read a bare (decompressed) tar stream.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            remaining: 0,
            padding: 0,
            finished: false,
        }
    }

    /// The next regular file, or `None` at the end-of-archive marker.
    ///
    /// Whatever the caller left unread of the previous entry is skipped.
    /// Directory entries are skipped too (they carry no content and nothing
    /// is created from them).
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>> {
        if self.finished {
            return Ok(None);
        }
        self.skip_rest()?;
        let mut long_name: Option<String> = None;
        let mut pax_path: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let mut header = [0u8; BLOCK];
            if !self.read_block(&mut header)? {
                return Err(malformed("archive ends without an end-of-archive marker (truncated?)"));
            }
            if header.iter().all(|&b| b == 0) {
                self.finished = true;
                return Ok(None);
            }
            verify_checksum(&header)?;
            let size = parse_size(&header[124..136])?;
            let typeflag = header[156];
            match typeflag {
                b'L' => {
                    reject_repeat(long_name.is_some(), "GNU long name")?;
                    long_name = Some(self.read_small(size, MAX_NAME_BYTES, "GNU long name")?.trim_end_matches('\0').to_string());
                }
                b'x' => {
                    reject_repeat(pax_path.is_some() || pax_size.is_some(), "PAX header")?;
                    let records = self.read_small(size, MAX_PAX_BYTES, "PAX header")?;
                    (pax_path, pax_size) = parse_pax(&records)?;
                }
                b'0' | b'\0' | b'5' => {
                    let name = pax_path.take().or(long_name.take()).unwrap_or_else(|| ustar_name(&header));
                    let size = pax_size.take().unwrap_or(size);
                    let path = plain_path(&name)?;
                    if typeflag == b'5' {
                        // Nothing is created from it; a size would be
                        // bytes read for nothing.
                        if size != 0 {
                            return Err(malformed(format!("directory entry {path:?} claims {size} bytes of content")));
                        }
                        continue;
                    }
                    self.begin(size);
                    return Ok(Some(Entry { path, size, reader: self }));
                }
                b'1' => return Err(malformed(format!("hard link {:?} refused", ustar_name(&header)))),
                b'2' => return Err(malformed(format!("symbolic link {:?} refused", ustar_name(&header)))),
                b'3' | b'4' | b'6' => {
                    return Err(malformed(format!("device or FIFO {:?} refused", ustar_name(&header))))
                }
                b'g' => return Err(malformed("global PAX headers are refused")),
                other => return Err(malformed(format!("entry type {:?} refused", other as char))),
            }
        }
    }

    fn begin(&mut self, size: u64) {
        self.remaining = size;
        self.padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
    }

    fn skip_rest(&mut self) -> Result<()> {
        let skip = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        let copied = io::copy(&mut (&mut self.inner).take(skip), &mut io::sink())
            .map_err(|e| read_error("reading archive", &e))?;
        if copied != skip {
            return Err(malformed("archive truncated inside an entry"));
        }
        Ok(())
    }

    /// Read one block; `false` at a clean end of stream.
    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool> {
        let mut filled = 0;
        while filled < BLOCK {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => return Err(malformed("archive truncated inside a header")),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error("reading archive", &e)),
            }
        }
        Ok(true)
    }

    fn read_small(&mut self, size: u64, limit: u64, what: &str) -> Result<String> {
        if size > limit {
            return Err(malformed(format!("{what} of {size} bytes exceeds the {limit}-byte limit")));
        }
        self.begin(size);
        let mut data = Vec::with_capacity(size as usize);
        (&mut self.inner)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| read_error(&format!("reading {what}"), &e))?;
        if data.len() as u64 != size {
            return Err(malformed(format!("archive truncated inside a {what}")));
        }
        self.remaining = 0;
        self.skip_rest()?;
        String::from_utf8(data).map_err(|_| malformed(format!("{what} is not UTF-8")))
    }
}

fn reject_repeat(already: bool, what: &str) -> Result<()> {
    if already {
        Err(malformed(format!("two {what}s for one entry")))
    } else {
        Ok(())
    }
}

fn verify_checksum(header: &[u8; BLOCK]) -> Result<()> {
    let stored = parse_octal(&header[148..156]).ok_or_else(|| malformed("header checksum field is not octal"))?;
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { u64::from(b' ') } else { u64::from(b) })
        .sum();
    if sum != stored {
        return Err(malformed("header checksum mismatch (corrupted archive?)"));
    }
    Ok(())
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// Octal, or GNU base-256 (high bit of the first byte set) for large sizes.
fn parse_size(field: &[u8]) -> Result<u64> {
    if field[0] & 0x80 != 0 {
        if field[0] != 0x80 || field[1..4].iter().any(|&b| b != 0) {
            return Err(malformed("size field out of range"));
        }
        return Ok(field[4..].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)));
    }
    parse_octal(field).ok_or_else(|| malformed("size field is not octal"))
}

fn ustar_name(header: &[u8; BLOCK]) -> String {
    let field = |range: std::ops::Range<usize>| {
        let bytes = &header[range];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    };
    let name = field(0..100);
    let prefix = if &header[257..263] == b"ustar\0" { field(345..500) } else { String::new() };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// PAX records `"<len> <key>=<value>\n"`; only `path` and `size` matter.
fn parse_pax(records: &str) -> Result<(Option<String>, Option<u64>)> {
    let (mut path, mut size) = (None, None);
    let mut rest = records;
    while !rest.is_empty() {
        let (len, _) = rest.split_once(' ').ok_or_else(|| malformed("malformed PAX record"))?;
        let len: usize = len.parse().map_err(|_| malformed("malformed PAX record length"))?;
        if len == 0 || len > rest.len() || !rest.is_char_boundary(len) {
            return Err(malformed("PAX record length out of range"));
        }
        let record = &rest[..len];
        rest = &rest[len..];
        let body = record
            .split_once(' ')
            .map(|(_, b)| b)
            .and_then(|b| b.strip_suffix('\n'))
            .ok_or_else(|| malformed("malformed PAX record"))?;
        let (key, value) = body.split_once('=').ok_or_else(|| malformed("malformed PAX record"))?;
        match key {
            "path" => path = Some(value.to_string()),
            "size" => size = Some(value.parse().map_err(|_| malformed("PAX size is not a number"))?),
            _ => {}
        }
    }
    Ok((path, size))
}

/// An archive name must be a plain relative path: no leading `/`, no `.`
/// or `..` components, no empty components, printable ASCII only.
fn plain_path(name: &str) -> Result<String> {
    let trimmed = name.strip_prefix("./").unwrap_or(name);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if super::confined::plain_components(trimmed) {
        Ok(trimmed.to_string())
    } else {
        Err(malformed(format!("entry name {name:?} is not a plain relative path")))
    }
}

/// Writes a deterministic tar stream.
pub struct ArchiveWriter<W: Write> {
    inner: W,
}

impl<W: Write> ArchiveWriter<W> {
    /// Start an archive on `inner` (already wrapped in a compressor, if any).
    pub fn new(inner: W) -> Self {
        Self { inner }
    }

    /// Append one regular file of `size` bytes read from `content`.
    ///
    /// A name that does not fit the ustar name and prefix fields (a long
    /// file name without a `/` to split at, such as an SBOM's in
    /// `sboms.tar.gz`) is carried in a PAX extended header (`path`), as the
    /// format allows; the ustar header then holds its first 100 bytes.
    pub fn append(&mut self, path: &str, size: u64, content: impl Read) -> io::Result<()> {
        let header = match ustar_header(path, size) {
            Ok(header) => header,
            Err(e) if e.kind() == io::ErrorKind::InvalidInput && plain_path(path).ok().as_deref() == Some(path) => {
                self.write_pax_path(path)?;
                let mut cut = 100.min(path.len());
                while !path.is_char_boundary(cut) {
                    cut -= 1;
                }
                ustar_header(&path[..cut], size)?
            }
            Err(e) => return Err(e),
        };
        self.inner.write_all(&header)?;
        let copied = io::copy(&mut content.take(size), &mut self.inner)?;
        if copied != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{path}: content shorter than {size} bytes")));
        }
        let padding = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        self.inner.write_all(&[0u8; BLOCK][..padding])
    }

    /// A PAX extended header (`x`) whose one record is `path`, with a fixed
    /// name and metadata so archives stay reproducible.
    fn write_pax_path(&mut self, path: &str) -> io::Result<()> {
        // "<len> path=<path>\n", where <len> counts its own digits.
        let body = format!(" path={path}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{body}");
        let mut header = ustar_header("PaxHeader", record.len() as u64)?;
        header[156] = b'x';
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        self.inner.write_all(&header)?;
        self.inner.write_all(record.as_bytes())?;
        let padding = (BLOCK - record.len() % BLOCK) % BLOCK;
        self.inner.write_all(&[0u8; BLOCK][..padding])
    }

    /// Write the end-of-archive marker and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; 2 * BLOCK])?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

fn ustar_header(path: &str, size: u64) -> io::Result<[u8; BLOCK]> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{path}: {why}"));
    if plain_path(path).ok().as_deref() != Some(path) {
        return Err(invalid("not a plain relative path"));
    }
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        // Split at a '/' so the name part fits in 100 bytes and the prefix in 155.
        let split = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| invalid("too long for a ustar name"))?;
        (&path[..split], &path[split + 1..])
    };
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < 0o77777777777 {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ArchiveWriter::new(Vec::new());
        for (path, data) in entries {
            w.append(path, data.len() as u64, *data).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
        let mut reader = ArchiveReader::new(bytes);
        let mut out = Vec::new();
        while let Some(mut entry) = reader.next_entry()? {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(malformed)?;
            out.push((entry.path.clone(), data));
        }
        Ok(out)
    }

    #[test]
    fn round_trips_including_long_names() {
        let long = format!("airlock/trust/targets/{}.trusted_root.json", "a".repeat(64));
        assert!(long.len() > 100);
        let bytes = archive(&[("airlock/manifest.json", b"{}"), (&long, b"root"), ("blobs/sha256/x", &[7u8; 1000])]);
        let entries = read_all(&bytes).unwrap();
        assert_eq!(entries[0], ("airlock/manifest.json".to_string(), b"{}".to_vec()));
        assert_eq!(entries[1].0, long);
        assert_eq!(entries[2].1, vec![7u8; 1000]);
        assert_eq!(bytes, archive(&[("airlock/manifest.json", b"{}"), (&long, b"root"), ("blobs/sha256/x", &[7u8; 1000])]));
    }

    #[test]
    fn long_names_without_a_slash_use_a_pax_header_gnu_tar_reads() {
        let long = format!("127.0.0.1:41657_test_app@sha256-{}.spdx.json", "b".repeat(64));
        assert!(long.len() > 100 && !long.contains('/'));
        let bytes = archive(&[(&long, b"sbom"), ("short", b"x")]);
        let entries = read_all(&bytes).unwrap();
        assert_eq!(entries[0], (long.clone(), b"sbom".to_vec()));
        assert_eq!(entries[1].0, "short");
        assert_eq!(bytes, archive(&[(&long, b"sbom"), ("short", b"x")]), "deterministic");
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("x.tar");
        std::fs::write(&tar, &bytes).unwrap();
        let out = std::process::Command::new("tar").arg("-tf").arg(&tar).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().collect::<Vec<_>>(), [long.as_str(), "short"]);
    }

    #[test]
    fn reads_what_gnu_tar_writes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(dir.path().join("blobs/sha256/abc"), b"hello").unwrap();
        let out = std::process::Command::new("tar")
            .args(["-C", dir.path().to_str().unwrap(), "-cf", "-", "blobs"])
            .output()
            .unwrap();
        let entries = read_all(&out.stdout).unwrap();
        assert_eq!(entries, vec![("blobs/sha256/abc".to_string(), b"hello".to_vec())]);
    }

    fn with_typeflag(flag: u8, name: &str) -> Vec<u8> {
        let mut h = ustar_header(name, 0).unwrap();
        h[156] = flag;
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut bytes = h.to_vec();
        bytes.extend_from_slice(&[0u8; 2 * BLOCK]);
        bytes
    }

    #[test]
    fn refuses_links_devices_and_global_headers() {
        for (flag, why) in [(b'1', "hard link"), (b'2', "symbolic link"), (b'3', "device"), (b'4', "device"), (b'6', "FIFO"), (b'g', "global PAX")] {
            let err = read_all(&with_typeflag(flag, "blobs/sha256/x")).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    fn raw_header(name: &[u8]) -> Vec<u8> {
        let mut h = ustar_header("placeholder", 3).unwrap();
        h[..100].fill(0);
        h[..name.len()].copy_from_slice(name);
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut bytes = h.to_vec();
        bytes.extend_from_slice(b"abc");
        bytes.resize(2 * BLOCK, 0);
        bytes.extend_from_slice(&[0u8; 2 * BLOCK]);
        bytes
    }

    #[test]
    fn refuses_traversal_and_absolute_names() {
        for name in [&b"../etc/passwd"[..], b"/etc/passwd", b"blobs/../../x", b"a//b", b"blobs/sha256/\xff"] {
            let err = read_all(&raw_header(name)).unwrap_err().to_string();
            assert!(err.contains("plain relative path"), "{name:?}: {err}");
        }
    }

    #[test]
    fn refuses_oversized_extension_headers_without_reading_them() {
        let mut h = ustar_header("x", 0).unwrap();
        h[156] = b'x';
        h[124] = 0x80;
        h[125..136].fill(0);
        h[128..136].copy_from_slice(&(8u64 << 40).to_be_bytes());
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let err = read_all(&h).unwrap_err().to_string();
        assert!(err.contains("exceeds"), "{err}");
    }

    #[test]
    fn refuses_truncation_and_corruption() {
        let bytes = archive(&[("blobs/sha256/x", &[1u8; 2000])]);
        for cut in [100, BLOCK + 10, bytes.len() - 2 * BLOCK] {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut corrupt = bytes.clone();
        corrupt[10] ^= 1;
        assert!(read_all(&corrupt).unwrap_err().to_string().contains("checksum"));
    }

    #[test]
    fn large_sizes_use_base_256() {
        let h = ustar_header("blobs/sha256/big", 9 << 30).unwrap();
        assert_eq!(parse_size(&h[124..136]).unwrap(), 9 << 30);
        let small = ustar_header("blobs/sha256/small", 1234).unwrap();
        assert_eq!(parse_size(&small[124..136]).unwrap(), 1234);
    }

    #[test]
    fn detects_compression() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(Compression::detect(b"airlock/"), Compression::None);
    }
}
