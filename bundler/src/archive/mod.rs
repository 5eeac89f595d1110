//! The last phase for an archive: the bundle as one deterministic tar
//! stream ([`tar`]: the format's entry order, gzip or zstd at fixed
//! settings), written in one pass as the image layers arrive. The manifest,
//! the layout's small files and every blob the work directory holds
//! (manifests, evidence, SBOMs, blobs recovered from an interrupted run)
//! are read from there; the other blobs (image configs and layers) are
//! fetched in the archive's order ([`oci::ordered`]: `jobs` requests in
//! flight, blobs ahead read ahead within a bounded budget) and written as
//! they arrive, never stored on disk first. Every entry is checked against
//! the manifest as it is written; a blob that does not match fails the run.
//!
//! The stream goes to `PATH.airlock-work/archive.partial` (or partial
//! volumes beside it, [`split`]) and is renamed into place only once it is
//! complete; an interrupted run's partial stream is where the next run
//! recovers blobs from ([`resume`]). Then the work directory is removed.

pub mod resume;
pub mod split;
pub mod tar;

use crate::error::{Error, Result};
use crate::fetch::{FetchStats, Payload};
use crate::progress::{Phase, Progress, Unit};
use crate::report::OutputReport;
use crate::write::Staged;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use verifier::bundle::archive::Compression;

/// Bytes read ahead of the archive writer, in all (see [`oci::ordered`]).
const READ_AHEAD_BUDGET: u64 = 64 << 20;

/// Where and how to write the archive.
#[derive(Debug, Clone)]
pub struct Target {
    /// `PATH`.
    pub path: PathBuf,
    /// Its compression.
    pub compression: Compression,
    /// Volume size, if split.
    pub split: Option<u64>,
}

/// Write the archive of `staged` (signed with `signature`, if any),
/// fetching the blobs of `payload` the work directory does not hold.
pub async fn write(
    target: &Target,
    staged: &Staged,
    signature: Option<&str>,
    payload: &Payload,
    jobs: usize,
    progress: Arc<dyn Progress>,
) -> Result<(OutputReport, FetchStats)> {
    let plan = tar::Plan::new(staged, signature, payload, target.compression)?;
    progress.start(Phase::Archive, plan.bytes(), Unit::Bytes);
    let stats = plan.fetch_stats(payload);
    let options = oci::ordered::Options { jobs, budget: READ_AHEAD_BUDGET, retry: oci::copy::RetryPolicy::default() };
    let (in_order, feed) = oci::ordered::fetch(payload.sources(&plan.fetched()), options, progress.clone());
    let feeding = tokio::spawn(feed);
    let (root, owned_target, writer_progress) = (staged.root.clone(), target.clone(), progress.clone());
    let written = tokio::task::spawn_blocking(move || {
        write_stream(&root, &owned_target, |sink| plan.write(&root, sink, in_order, &|n| writer_progress.advance(n)))
    })
    .await
    .map_err(|e| Error::Unsupported(format!("internal error: the archive writer stopped: {e}")));
    // The writer is done (or gave up): nothing more to fetch.
    feeding.abort();
    let files = written??;
    progress.finish(Phase::Archive);
    std::fs::remove_dir_all(&staged.root).map_err(|e| Error::io(&staged.root, "remove the work directory", e))?;
    let bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let form = if target.split.is_some() { "volumes" } else { "archive" };
    let report = OutputReport { form, path: target.path.clone(), compression: Some(target.compression), files, bytes };
    Ok((report, stats))
}

/// Run `fill` over the partial stream in the work directory `root`, then
/// move what it wrote into place: `PATH` (synced, then renamed), or the
/// volumes `PATH.001`, … (an earlier run's at either place removed).
fn write_stream(root: &Path, target: &Target, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<Vec<PathBuf>> {
    match target.split {
        None => {
            let partial = root.join(resume::PARTIAL_ARCHIVE);
            let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, "create", e))?;
            let mut file = oci::writeback::Writeback::new(file);
            fill(&mut file)?;
            file.finish().map_err(|e| Error::io(&partial, "sync", e))?;
            std::fs::rename(&partial, &target.path).map_err(|e| Error::io(&target.path, "rename into place", e))?;
            split::remove_stale(&target.path)?;
            Ok(vec![target.path.clone()])
        }
        Some(size) => {
            let mut volumes = split::writer(root, &target.path, size)?;
            fill(&mut volumes)?;
            let paths = split::finish(volumes, root, &target.path)?;
            match std::fs::remove_file(&target.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&target.path, "remove an old unsplit archive", e)),
            }
            Ok(paths)
        }
    }
}
