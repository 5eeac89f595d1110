//! Split volumes: the (compressed) archive stream cut into `PATH.001`,
//! `PATH.002`, … by `verifier::bundle::volumes::VolumeWriter`, each with a
//! header naming its place in the set and the sha256 of its payload and of
//! the whole stream.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use verifier::bundle::volumes::{self, MIN_VOLUME_BYTES};

/// Parse a volume size: bytes, or a number with `K`, `M`, `G`, `T` (powers
/// of 1024, as `KiB`, `MiB`, … are also written) or `KB`, `MB`, `GB`, `TB`
/// (powers of 1000). At least 1 MiB.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is not a size (e.g. 4GiB, 700MB, 1048576)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    let bytes = number.checked_mul(factor).ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < MIN_VOLUME_BYTES {
        return Err(format!("volumes must be at least {MIN_VOLUME_BYTES} bytes (1MiB), {text:?} is {bytes}"));
    }
    Ok(bytes)
}

/// Remove the volumes of an earlier run at `base` (`base.001`, …), so a set
/// never mixes two runs (a stale `.005` after a 4-volume set would be read
/// as part of it).
pub fn remove_stale(base: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (base.parent(), base.file_name().and_then(|n| n.to_str())) else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, "read directory", e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "read directory", e))?;
        let path = entry.path();
        // Same directory (read above), so the set is named by its file name.
        if volumes::base_of(&path).is_some_and(|b| b.file_name() == Some(name.as_ref())) {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, "remove an old volume", e))?;
        }
    }
    Ok(())
}

/// Start a volume set in the work directory `root` (`root/volumes/NAME.001`,
/// …, for `--out …/NAME`), where an interrupted run's stay for the next
/// to recover from.
pub fn writer(root: &Path, base: &Path, volume_bytes: u64) -> Result<volumes::VolumeWriter> {
    let partial = partial_base(root, base)?;
    let dir = partial.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    remove_stale(&partial)?;
    volumes::VolumeWriter::new(&partial, volume_bytes).map_err(|e| Error::io(&partial, "start volumes", e))
}

/// Finish a set started with [`writer`] and move its volumes into place
/// at `base` (an earlier run's set there removed first): the volume paths.
pub fn finish(writer: volumes::VolumeWriter, root: &Path, base: &Path) -> Result<Vec<PathBuf>> {
    let partial = partial_base(root, base)?;
    let written = writer.finish().map_err(|e| Error::io(&partial, "finish volumes", e))?;
    remove_stale(base)?;
    let mut paths = Vec::with_capacity(written.len());
    for (i, from) in written.iter().enumerate() {
        let to = volumes::volume_path(base, i as u32 + 1);
        std::fs::rename(from, &to).map_err(|e| Error::io(&to, "move the volume into place", e))?;
        paths.push(to);
    }
    Ok(paths)
}

fn partial_base(root: &Path, base: &Path) -> Result<PathBuf> {
    let name = base.file_name().ok_or_else(|| Error::Output { path: base.to_path_buf(), reason: "names no file".into() })?;
    Ok(root.join(super::resume::PARTIAL_VOLUMES).join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("700MB").unwrap(), 700_000_000);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert!(parse_size("1KiB").unwrap_err().contains("at least"));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn removes_only_this_sets_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("b.tar");
        for n in ["b.tar.001", "b.tar.002", "b.tar.007", "other.tar.001", "b.tar"] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        remove_stale(&base).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["b.tar", "other.tar.001"]);
    }
}
