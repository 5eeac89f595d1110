//! Split volumes: an archive stream cut into `PATH.001`, `PATH.002`, …, each
//! starting with a 4096-byte JSON header saying which volume of how many it
//! is, the sha256 of its payload, and the set's digest: the sha256 of every
//! payload's digest in order, which fixes the whole stream without hashing
//! it a second time (v1 hashed the stream itself: one more pass over every
//! byte, when writing and when reading).
//!
//! Headers let an operator check each volume as it arrives and let the
//! reader name a missing, repeated or foreign volume. They are not what
//! security rests on: the reassembled archive is verified like any other.

use crate::{Error, Result};
use oci::writeback::Writeback;
use oci::{Algorithm, Digest, DigestReader, Hasher};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Size of the header block at the start of each volume.
pub const HEADER_BYTES: u64 = 4096;
/// The header format this version reads and writes.
pub const FORMAT: &str = "airlock-volume/v2";
/// The smallest volume `--split-size` accepts.
pub const MIN_VOLUME_BYTES: u64 = 1024 * 1024;

/// A volume's header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// 1-based position in the set.
    pub index: u32,
    /// Number of volumes in the set.
    pub count: u32,
    /// The whole archive stream.
    pub stream: Span,
    /// This volume's slice of it.
    pub payload: Payload,
}

/// The whole stream a set of volumes carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// The set's digest: [`set_digest`] of every volume's payload digest.
    pub payloads: Digest,
    /// Its length.
    pub size: u64,
}

/// The set's digest: sha256 over the payload digests in volume order, each
/// written `sha256:HEX` and a newline. With each payload checked against
/// its own digest, it fixes the stream the set reassembles.
pub fn set_digest<'a>(payloads: impl IntoIterator<Item = &'a Digest>) -> Digest {
    let mut hasher = Hasher::new(Algorithm::Sha256);
    for digest in payloads {
        hasher.update(format!("{digest}\n").as_bytes());
    }
    hasher.finish()
}

/// One volume's slice of the stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Where the slice starts in the stream.
    pub offset: u64,
    /// Its length.
    pub size: u64,
    /// sha256 of the slice.
    pub sha256: Digest,
}

fn malformed(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::malformed(format!("volume {}", path.display()), reason)
}

/// The path of volume `index` of the set whose first volume path ends in `.001`.
pub fn volume_path(base: &Path, index: u32) -> PathBuf {
    let mut name = base.as_os_str().to_os_string();
    name.push(format!(".{index:03}"));
    PathBuf::from(name)
}

/// The set's base path, if `path` names a volume (`…​.NNN`).
pub fn base_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (stem, number) = name.rsplit_once('.')?;
    (number.len() >= 3 && number.bytes().all(|b| b.is_ascii_digit()) && !stem.is_empty())
        .then(|| path.with_file_name(stem))
}

/// Read and parse a volume's header.
pub fn read_header(path: &Path, file: &mut impl Read) -> Result<VolumeHeader> {
    let mut block = vec![0u8; HEADER_BYTES as usize];
    file.read_exact(&mut block)
        .map_err(|e| malformed(path, format!("no complete header: {e}")))?;
    if block.last() != Some(&b'\n') {
        return Err(malformed(path, "header does not end in a newline"));
    }
    let json = block.trim_ascii_end();
    // The format first, alone: another version's fields are not this
    // one's, and the operator should read "another format", not "damaged".
    #[derive(serde::Deserialize)]
    struct Format {
        format: String,
    }
    let format: Format = serde_json::from_slice(json).map_err(|e| malformed(path, format!("header: {e}")))?;
    if format.format != FORMAT {
        return Err(Error::Unsupported(format!(
            "volume {}: format {:?} (this airlock reads {FORMAT})",
            path.display(),
            format.format
        )));
    }
    let header: VolumeHeader = serde_json::from_slice(json).map_err(|e| malformed(path, format!("header: {e}")))?;
    let consistent = header.index >= 1
        && header.index <= header.count
        && header.payload.offset.checked_add(header.payload.size).is_some_and(|end| end <= header.stream.size);
    if !consistent {
        return Err(malformed(path, "header fields are inconsistent"));
    }
    Ok(header)
}

/// Check one volume on arrival: its header, and its payload against it.
pub fn verify_volume(path: &Path) -> Result<VolumeHeader> {
    let mut file = open(path)?;
    let header = read_header(path, &mut file)?;
    let mut payload = DigestReader::new(file, header.payload.sha256.clone(), header.payload.size);
    io::copy(&mut payload, &mut io::sink()).map_err(|e| malformed(path, e))?;
    Ok(header)
}

/// Volumes are found by name beside the one the operator gave: each must
/// be a regular file itself, not a link to something elsewhere.
fn open(path: &Path) -> Result<BufReader<File>> {
    super::confined::open_regular_nofollow(path)
        .map(|f| BufReader::with_capacity(256 * 1024, f))
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// A complete, consistent set of volumes, ready to be read as one stream.
#[derive(Debug)]
pub struct VolumeSet {
    paths: Vec<PathBuf>,
    headers: Vec<VolumeHeader>,
}

impl VolumeSet {
    /// Open the set that `first` (or any volume of it) belongs to, finding
    /// the other volumes beside it.
    pub fn open(any: &Path) -> Result<Self> {
        let base = base_of(any).ok_or_else(|| malformed(any, "name does not end in .NNN"))?;
        let first_path = volume_path(&base, 1);
        let first = read_header(&first_path, &mut open(&first_path)?)?;
        let mut paths = Vec::new();
        let mut headers = Vec::new();
        for index in 1..=first.count {
            let path = volume_path(&base, index);
            if std::fs::symlink_metadata(&path).is_err() {
                return Err(Error::failed(
                    crate::Check::BundleFormat,
                    format!("volume {index} of {} is missing: {}", first.count, path.display()),
                ));
            }
            let header = read_header(&path, &mut open(&path)?)?;
            if header.stream != first.stream || header.count != first.count {
                return Err(malformed(&path, "belongs to another set of volumes"));
            }
            if header.index != index {
                return Err(malformed(
                    &path,
                    format!("is volume {} (a repeat), where volume {index} should be", header.index),
                ));
            }
            let expected_offset = headers.last().map_or(0, |h: &VolumeHeader| h.payload.offset + h.payload.size);
            if header.payload.offset != expected_offset {
                return Err(malformed(&path, "payload does not continue the previous volume"));
            }
            paths.push(path);
            headers.push(header);
        }
        let extra = volume_path(&base, first.count + 1);
        if extra.exists() {
            return Err(malformed(&extra, format!("is beyond the {} volumes of the set", first.count)));
        }
        let last = headers.last().expect("count >= 1");
        if last.payload.offset + last.payload.size != first.stream.size {
            return Err(malformed(&paths[paths.len() - 1], "the volumes do not add up to the stream"));
        }
        if set_digest(headers.iter().map(|h| &h.payload.sha256)) != first.stream.payloads {
            return Err(malformed(&first_path, "the volumes' payload digests are not the ones the set names"));
        }
        Ok(Self { paths, headers })
    }

    /// The volume files, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The reassembled stream. Each payload is checked against its header as
    /// it is read; [`VolumeSet::open`] checked the headers against the set's
    /// digest, so the payloads in order are the stream.
    pub fn reader(&self) -> Result<impl Read + '_> {
        Ok(ChainedPayloads { set: self, next: 0, current: None })
    }
}

struct ChainedPayloads<'a> {
    set: &'a VolumeSet,
    next: usize,
    current: Option<DigestReader<BufReader<File>>>,
}

impl Read for ChainedPayloads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &mut self.current {
                let n = current.read(buf).map_err(|e| {
                    io::Error::new(e.kind(), format!("volume {}: {e}", self.set.paths[self.next - 1].display()))
                })?;
                if n > 0 {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(path) = self.set.paths.get(self.next) else {
                return Ok(0);
            };
            let mut file = super::confined::open_regular_nofollow(path)?;
            file.seek(SeekFrom::Start(HEADER_BYTES))?;
            let payload = &self.set.headers[self.next].payload;
            self.current = Some(DigestReader::new(
                BufReader::with_capacity(256 * 1024, file),
                payload.sha256.clone(),
                payload.size,
            ));
            self.next += 1;
        }
    }
}

/// Cuts a stream into volumes of at most `volume_bytes` each (header
/// included). Headers are written when the stream is complete.
pub struct VolumeWriter {
    base: PathBuf,
    payload_limit: u64,
    files: Vec<(File, Payload)>,
    current: Option<(Writeback, Hasher, u64, u64)>,
    written: u64,
}

impl VolumeWriter {
    /// Start writing volumes `base.001`, `base.002`, ….
    pub fn new(base: &Path, volume_bytes: u64) -> io::Result<Self> {
        if volume_bytes < MIN_VOLUME_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("volumes must be at least {MIN_VOLUME_BYTES} bytes"),
            ));
        }
        Ok(Self {
            base: base.to_path_buf(),
            payload_limit: volume_bytes - HEADER_BYTES,
            files: Vec::new(),
            current: None,
            written: 0,
        })
    }

    /// The volume's payload, synced: only its header is written later.
    fn close_current(&mut self) -> io::Result<()> {
        if let Some((file, hasher, offset, size)) = self.current.take() {
            self.files.push((file.finish()?, Payload { offset, size, sha256: hasher.finish() }));
        }
        Ok(())
    }

    /// Write every header and return the volume paths.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        self.close_current()?;
        if self.files.is_empty() {
            self.start_volume()?;
            self.close_current()?;
        }
        let count = u32::try_from(self.files.len()).map_err(|_| io::Error::other("too many volumes"))?;
        let stream = Span { payloads: set_digest(self.files.iter().map(|(_, p)| &p.sha256)), size: self.written };
        let mut paths = Vec::new();
        for (i, (mut file, payload)) in self.files.into_iter().enumerate() {
            let header = VolumeHeader {
                format: FORMAT.into(),
                index: i as u32 + 1,
                count,
                stream: stream.clone(),
                payload,
            };
            let mut block = serde_json::to_vec(&header).map_err(io::Error::other)?;
            if block.len() as u64 >= HEADER_BYTES {
                return Err(io::Error::other("volume header does not fit its block"));
            }
            block.resize(HEADER_BYTES as usize - 1, b' ');
            block.push(b'\n');
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&block)?;
            file.sync_all()?;
            paths.push(volume_path(&self.base, i as u32 + 1));
        }
        Ok(paths)
    }

    fn start_volume(&mut self) -> io::Result<()> {
        let path = volume_path(&self.base, self.files.len() as u32 + 1);
        let mut file = Writeback::new(File::create(&path)?);
        file.write_all(&[b' '; HEADER_BYTES as usize])?;
        self.current = Some((file, Hasher::new(Algorithm::Sha256), self.written, 0));
        Ok(())
    }
}

impl Write for VolumeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.current.as_ref().is_some_and(|c| c.3 == self.payload_limit) {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.start_volume()?;
        }
        let (file, hasher, _, size) = self.current.as_mut().expect("a volume is open");
        let room = usize::try_from(self.payload_limit - *size).unwrap_or(usize::MAX);
        let n = file.write(&buf[..buf.len().min(room)])?;
        hasher.update(&buf[..n]);
        *size += n as u64;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some((file, ..)) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_set(dir: &Path, data: &[u8], volume: u64) -> (PathBuf, Vec<PathBuf>) {
        let base = dir.join("bundle.tar");
        let mut w = VolumeWriter::new(&base, volume).unwrap();
        for chunk in data.chunks(7919) {
            w.write_all(chunk).unwrap();
        }
        (base, w.finish().unwrap())
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn reassemble(any: &Path) -> Result<Vec<u8>> {
        let set = VolumeSet::open(any)?;
        let mut out = Vec::new();
        set.reader()?.read_to_end(&mut out).map_err(|e| Error::malformed("volumes", e))?;
        Ok(out)
    }

    #[test]
    fn round_trips_and_each_volume_verifies_alone() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(3 * 1024 * 1024 + 17);
        let (_, paths) = write_set(dir.path(), &bytes, MIN_VOLUME_BYTES);
        assert_eq!(paths.len(), 4);
        for (i, p) in paths.iter().enumerate() {
            let h = verify_volume(p).unwrap();
            assert_eq!((h.index, h.count), (i as u32 + 1, 4));
            assert!(std::fs::metadata(p).unwrap().len() <= MIN_VOLUME_BYTES);
        }
        assert_eq!(reassemble(&paths[2]).unwrap(), bytes);
    }

    #[test]
    fn names_missing_repeated_foreign_and_corrupt_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(3 * 1024 * 1024);
        let (base, paths) = write_set(dir.path(), &bytes, MIN_VOLUME_BYTES);

        std::fs::rename(&paths[1], dir.path().join("aside")).unwrap();
        let err = reassemble(&paths[0]).unwrap_err().to_string();
        assert!(err.contains("volume 2 of 4 is missing"), "{err}");

        std::fs::copy(&paths[0], &paths[1]).unwrap();
        let err = reassemble(&paths[0]).unwrap_err().to_string();
        assert!(err.contains("is volume 1 (a repeat)"), "{err}");
        std::fs::rename(dir.path().join("aside"), &paths[1]).unwrap();

        let other = tempfile::tempdir().unwrap();
        let (_, foreign) = write_set(other.path(), &data(3 * 1024 * 1024 + 1), MIN_VOLUME_BYTES);
        std::fs::copy(&foreign[2], &paths[2]).unwrap();
        assert!(reassemble(&paths[0]).unwrap_err().to_string().contains("another set"));

        // A volume whose payload and header were both replaced (so it
        // verifies alone) is not the one the set names.
        let (_, paths) = write_set(dir.path(), &bytes, MIN_VOLUME_BYTES);
        let mut swapped = data(MIN_VOLUME_BYTES as usize);
        swapped[0] ^= 1;
        let header = read_header(&paths[1], &mut std::fs::File::open(&paths[1]).unwrap()).unwrap();
        let payload = &swapped[..header.payload.size as usize];
        let forged = VolumeHeader {
            payload: Payload { sha256: Digest::sha256_of(payload), ..header.payload.clone() },
            ..header
        };
        let mut block = serde_json::to_vec(&forged).unwrap();
        block.resize(HEADER_BYTES as usize - 1, b' ');
        block.push(b'\n');
        block.extend_from_slice(payload);
        std::fs::write(&paths[1], block).unwrap();
        assert!(verify_volume(&paths[1]).is_ok(), "the forged volume checks alone");
        let err = reassemble(&paths[0]).unwrap_err().to_string();
        assert!(err.contains("payload digests are not the ones the set names"), "{err}");

        let (_, paths) = write_set(dir.path(), &bytes, MIN_VOLUME_BYTES);
        let mut corrupt = std::fs::read(&paths[1]).unwrap();
        corrupt[HEADER_BYTES as usize + 100] ^= 1;
        std::fs::write(&paths[1], corrupt).unwrap();
        assert!(verify_volume(&paths[1]).is_err());
        assert!(reassemble(&paths[0]).is_err());
        let _ = base;
    }

    /// Volumes written before v2 carry the stream's own sha256; they are
    /// refused as unsupported, naming both formats, not read as damaged.
    #[test]
    fn a_v1_volume_is_refused_as_unsupported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.tar.001");
        let zero = format!("sha256:{}", "0".repeat(64));
        let mut block = format!(
            r#"{{"format":"airlock-volume/v1","index":1,"count":1,"stream":{{"sha256":"{zero}","size":1}},"payload":{{"offset":0,"size":1,"sha256":"{zero}"}}}}"#
        )
        .into_bytes();
        block.resize(HEADER_BYTES as usize - 1, b' ');
        block.push(b'\n');
        block.push(b'x');
        std::fs::write(&path, block).unwrap();
        let err = verify_volume(&path).unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("airlock-volume/v1") && text.contains(FORMAT), "{text}");
        assert!(VolumeSet::open(&path).is_err());
    }

    #[test]
    fn recognises_volume_names() {
        assert_eq!(base_of(Path::new("/m/b.tar.zst.001")), Some(PathBuf::from("/m/b.tar.zst")));
        assert_eq!(base_of(Path::new("/m/b.tar")), None);
        assert_eq!(base_of(Path::new("/m/b.01")), None);
    }
}
