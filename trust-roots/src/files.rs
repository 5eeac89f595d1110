//! Reading and writing the files of trust state: regular files only,
//! bounded, hashed while read; written atomically. A leaf module: the pinned
//! root, the snapshot directory, the refresh workflow and the TUF client all
//! use it.

use crate::chain::{Blob, BlobWriter};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Read a stream into a [`Blob`], hashing as it goes and refusing more than
/// `limit` bytes.
pub(crate) fn read_blob(
    mut reader: impl Read,
    path: &Path,
    what: String,
    limit: u64,
) -> Result<Blob> {
    let mut writer = BlobWriter::new(what, limit);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            return Ok(writer.finish());
        }
        writer.push(&buf[..n])?;
    }
}

/// Open a regular file (following symlinks), refusing FIFOs, devices and
/// directories before opening: a FIFO planted in a snapshot would
/// otherwise block the open forever.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    std::fs::File::open(path)
}

/// Read a whole regular file, refusing one larger than `limit`.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = open_regular(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read_blob(file, path, path.display().to_string(), limit).map(|blob| blob.bytes)
}

/// Write a file atomically: a temporary file in the same directory, then a
/// rename, so a reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(write_error)?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(write_error)?;
    tmp.write_all(bytes).map_err(write_error)?;
    tmp.as_file().sync_all().map_err(write_error)?;
    tmp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reads_refuse_one_byte_too_many() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 4, .. }), "{err}");
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("timestamp.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_bounded(&fifo, 10).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        let err = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
