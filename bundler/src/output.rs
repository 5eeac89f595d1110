//! The last phase: the bundle in the form asked for, once everything it
//! carries besides the image configs and layers (the [`Payload`]) has been
//! written, self-checked and, with `--policy`, evaluated. A directory gets
//! the payload fetched into its layout, then its manifest, which makes it a
//! bundle; an archive is written in one pass, the payload fetched into it
//! as it goes ([`crate::archive`]).

use crate::archive::{self, Target};
use crate::error::Result;
use crate::fetch::{FetchStats, Payload};
use crate::progress::Progress;
use crate::report::OutputReport;
use crate::write::{self, Staged};
use crate::Output;
use oci::Layout;
use std::sync::Arc;

/// Finish `staged` (in `layout`, with `signature`, if any) as `output`
/// asks, fetching `payload` `jobs` at a time; what was written, and what
/// fetching the payload did.
pub async fn write(
    output: &Output,
    layout: &Layout,
    staged: &Staged,
    signature: Option<&str>,
    payload: &Payload,
    jobs: usize,
    progress: Arc<dyn Progress>,
) -> Result<(OutputReport, FetchStats)> {
    match output {
        Output::Directory(path) => {
            let fetched = payload.into_layout(layout, jobs, &*progress).await?;
            write::finish(staged)?;
            let manifest = &staged.manifest;
            let bytes = manifest.blobs.iter().filter(|b| b.carried).map(|b| b.size).sum::<u64>()
                + manifest.files.iter().map(|f| f.size).sum::<u64>()
                + staged.bytes.len() as u64;
            let report = OutputReport { form: "directory", path: path.clone(), compression: None, files: Vec::new(), bytes };
            Ok((report, fetched))
        }
        Output::Archive { path, compression, split } => {
            let target = Target { path: path.clone(), compression: *compression, split: *split };
            archive::write(&target, staged, signature, payload, jobs, progress).await
        }
    }
}
