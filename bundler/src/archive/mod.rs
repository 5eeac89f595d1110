//! The archive phase: the finished tree as one deterministic tar stream
//! ([`tar`]: the format's entry order, gzip or zstd at fixed settings),
//! written to `PATH` through a temporary file, or cut into volumes
//! ([`split`]). A directory bundle is already final. Once the archive is
//! complete the work directory is removed.

pub mod split;
pub mod tar;

use crate::error::{Error, Result};
use crate::progress::{Phase, Progress, Unit};
use crate::report::OutputReport;
use crate::write::Staged;
use crate::Output;
use std::path::{Path, PathBuf};
use verifier::bundle::archive::Compression;

/// Put `staged` into the form `output` asks for; `signed` when it has a
/// transfer signature.
pub fn write(output: &Output, staged: &Staged, signed: bool, progress: &dyn Progress) -> Result<OutputReport> {
    let manifest = &staged.manifest;
    let listed = manifest.blobs.iter().filter(|b| b.carried).map(|b| b.size).sum::<u64>()
        + manifest.files.iter().map(|f| f.size).sum::<u64>();
    let (path, compression, split) = match output {
        Output::Directory(path) => {
            return Ok(OutputReport {
                form: "directory",
                path: path.clone(),
                compression: None,
                files: Vec::new(),
                bytes: listed + staged.bytes.len() as u64,
            })
        }
        Output::Archive { path, compression, split } => (path, *compression, *split),
    };
    progress.start(Phase::Archive, listed, Unit::Bytes);
    let (form, files) = match split {
        None => ("archive", one_archive(staged, signed, path, compression, progress)?),
        Some(size) => ("volumes", volumes(staged, signed, path, size, compression, progress)?),
    };
    progress.finish(Phase::Archive);
    std::fs::remove_dir_all(&staged.root).map_err(|e| Error::io(&staged.root, "remove the work directory", e))?;
    let bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    Ok(OutputReport {
        form,
        path: path.clone(),
        compression: Some(compression),
        files,
        bytes,
    })
}

/// `PATH`, written beside itself and renamed into place when complete;
/// the volumes of an earlier split run removed.
fn one_archive(staged: &Staged, signed: bool, path: &Path, compression: Compression, progress: &dyn Progress) -> Result<Vec<PathBuf>> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".airlock-tmp");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "create", e))?;
    let file = tar::write(&staged.root, &staged.manifest, signed, file, compression, &|n| progress.advance(n))?;
    file.sync_all().map_err(|e| Error::io(&tmp, "sync", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "rename into place", e))?;
    split::remove_stale(path)?;
    Ok(vec![path.to_path_buf()])
}

/// `PATH.001`, `PATH.002`, …; an unsplit archive of an earlier run removed.
fn volumes(staged: &Staged, signed: bool, path: &Path, size: u64, compression: Compression, progress: &dyn Progress) -> Result<Vec<PathBuf>> {
    let volumes = split::writer(path, size)?;
    let volumes = tar::write(&staged.root, &staged.manifest, signed, volumes, compression, &|n| progress.advance(n))?;
    let paths = split::finish(volumes, path)?;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, "remove an old unsplit archive", e)),
    }
    Ok(paths)
}
