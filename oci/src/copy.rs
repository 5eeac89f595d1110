//! Copying an image or index, with everything it refers to, from one store
//! to another, written once over [`Store`].
//!
//! Order, so that every registry accepts it (ECR refuses a manifest whose
//! blobs are missing, distribution an index whose children are): all blobs,
//! then image manifests, then indexes (children before parents), then tags.
//!
//! Blobs are copied by one function, [`copy_blobs`], whether they are one
//! graph's ([`copy_graph`]) or a set gathered from several source
//! repositories (the bundler's images): each digest once; blobs already
//! present are skipped (checked first, so a second copy uploads nothing,
//! and a copy into a layout resumes where an interrupted one stopped); a
//! destination that can mount a blob from another repository does so; blob
//! copies run `jobs` at a time, each streamed through a digest check in
//! constant memory; transient failures are retried with exponential
//! backoff. The library never prints: bytes copied (and blobs found
//! present or mounted, counted whole) are reported to the caller's
//! [`Progress`] as they stream, retries and left-out platforms as notes;
//! the caller starts and finishes the phase.

use crate::digest::Digest;
use crate::error::{BlobCopyError, Error, Result};
use crate::manifest::{Descriptor, Platform};
use crate::reference::Tag;
use crate::store::{self, BlobReader, Graph, Store};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use progress::Progress;
use std::collections::BTreeSet;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How transient failures are retried: `attempts` tries in all, waiting
/// `initial`, then twice that, up to `max`, between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// First wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, waiting 0.5 s, 1 s, 2 s, 4 s.
    fn default() -> Self {
        Self {
            attempts: 5,
            initial: Duration::from_millis(500),
            max: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            initial: Duration::ZERO,
            max: Duration::ZERO,
        }
    }

    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Run `op` until it succeeds, fails permanently, or tries run out.
    /// `on_retry` hears each retry (attempt number, error, wait).
    pub async fn run<T, F, Fut>(&self, mut op: F, mut on_retry: impl FnMut(u32, &Error, Duration)) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && attempt < self.attempts.max(1) => {
                    let wait = self.delay(attempt - 1);
                    on_retry(attempt, &e, wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// How to copy.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Blob copies in flight at once (at least 1).
    pub jobs: usize,
    /// Platform filter for indexes (empty: all), see [`store::walk`].
    pub platforms: Vec<Platform>,
    /// Tags to set on the root in the destination, last.
    pub tags: Vec<Tag>,
    /// Retries for transient failures.
    pub retry: RetryPolicy,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            jobs: 4,
            platforms: Vec::new(),
            tags: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Blobs uploaded.
    pub blobs_copied: usize,
    /// Bytes uploaded.
    pub bytes_copied: u64,
    /// Blobs already present.
    pub blobs_present: usize,
    /// Bytes already present.
    pub bytes_present: u64,
    /// Blobs mounted from another repository.
    pub blobs_mounted: usize,
    /// Manifests put (every manifest of the graph, present or not: putting
    /// a manifest is idempotent and cheap).
    pub manifests_put: usize,
    /// Index entries left out by the platform filter.
    pub dropped: Vec<Descriptor>,
}

enum BlobOutcome {
    Present(u64),
    Mounted,
    Copied(u64),
}

/// Copy `root` and everything it refers to from `src` to `dst`.
pub async fn copy<S: Store, D: Store>(
    src: &S,
    dst: &D,
    root: &Descriptor,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let graph = store::walk(src, root, &options.platforms).await?;
    copy_graph(src, dst, &graph, options, progress).await
}

/// Copy an already walked graph (see [`store::walk`]).
pub async fn copy_graph<S: Store, D: Store>(
    src: &S,
    dst: &D,
    graph: &Graph,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    for d in &graph.dropped {
        let platform = d.platform.as_ref().map_or_else(|| "no platform".to_string(), |p| p.to_string());
        progress.note(&format!("{} ({platform}) left out by the platform filter", d.digest));
    }

    // 1. Blobs, `jobs` at a time.
    let blobs = graph.blobs.iter().map(|blob| (src, blob.clone()));
    let mut report = copy_blobs(blobs, dst, options.jobs, options.retry, progress)
        .await
        .map_err(|e| e.source)?;
    report.dropped = graph.dropped.clone();

    // 2. Manifests, children first (the walk's order: image manifests
    // before the indexes that list them, the root last).
    for manifest in &graph.manifests {
        let is_root = manifest.digest() == &graph.root.digest;
        options
            .retry
            .run(
                || async {
                    if is_root && manifest.manifest().subject().is_some() {
                        store::put_referrer(dst, manifest).await
                    } else {
                        dst.put_manifest(manifest, None).await
                    }
                },
                report_retry(progress, "put manifest", manifest.digest()),
            )
            .await?;
        report.manifests_put += 1;
    }

    // 3. Tags, last, so no tag ever points at something incomplete.
    if let Some(root) = graph.root_manifest() {
        for tag in &options.tags {
            options
                .retry
                .run(
                    || dst.put_manifest(root, Some(tag)),
                    report_retry(progress, "put tag", root.digest()),
                )
                .await?;
        }
    }
    Ok(report)
}

/// Copy a set of blobs into `dst`, each from the store it was found in:
/// the blobs of a graph, or of images in several repositories. Each digest
/// is copied once, from the first source that lists it. Blobs `dst` already
/// holds are reused, never fetched again (for a layout: blobs an earlier,
/// interrupted copy verified and stored). `jobs` copies run at once. The
/// first failure stops the copy and names its blob.
pub async fn copy_blobs<'a, S: Store + 'a, D: Store>(
    blobs: impl IntoIterator<Item = (&'a S, Descriptor)>,
    dst: &D,
    jobs: usize,
    retry: RetryPolicy,
    progress: &dyn Progress,
) -> std::result::Result<CopyReport, BlobCopyError> {
    let mut seen = BTreeSet::new();
    let unique: Vec<(&S, Descriptor)> = blobs.into_iter().filter(|(_, b)| seen.insert(b.digest.clone())).collect();
    let outcomes: Vec<BlobOutcome> = stream::iter(unique.iter())
        .map(|(src, blob)| async move {
            copy_blob(*src, dst, blob, retry, progress).await.map_err(|source| BlobCopyError {
                digest: blob.digest.clone(),
                source,
            })
        })
        .buffer_unordered(jobs.max(1))
        .try_collect()
        .await?;
    let mut report = CopyReport::default();
    for outcome in outcomes {
        match outcome {
            BlobOutcome::Present(n) => {
                report.blobs_present += 1;
                report.bytes_present += n;
            }
            BlobOutcome::Mounted => report.blobs_mounted += 1,
            BlobOutcome::Copied(n) => {
                report.blobs_copied += 1;
                report.bytes_copied += n;
            }
        }
    }
    Ok(report)
}

fn report_retry<'a>(
    progress: &'a dyn Progress,
    operation: &'static str,
    digest: &'a Digest,
) -> impl FnMut(u32, &Error, Duration) + 'a {
    move |attempt, error, wait| progress.note(&retry_note(operation, digest, attempt, error, wait))
}

/// The note a retry gets: what failed, why, and when the next try is.
pub fn retry_note(operation: &str, digest: &Digest, attempt: u32, error: &Error, wait: Duration) -> String {
    format!("{operation} {digest} failed ({error}); try {} in {:.1}s", attempt + 1, wait.as_secs_f64())
}

async fn copy_blob<S: Store, D: Store>(
    src: &S,
    dst: &D,
    blob: &Descriptor,
    retry: RetryPolicy,
    progress: &dyn Progress,
) -> Result<BlobOutcome> {
    let on_retry = |operation| report_retry(progress, operation, &blob.digest);
    if retry.run(|| dst.has_blob(blob), on_retry("check blob")).await? {
        progress.advance(blob.size);
        return Ok(BlobOutcome::Present(blob.size));
    }
    if dst.mount_blob(blob).await.unwrap_or(false) {
        progress.advance(blob.size);
        return Ok(BlobOutcome::Mounted);
    }
    // A stream cannot be replayed, so each try reopens the source.
    retry
        .run(
            || async {
                let (reader, mut counts) = Counted::new(src.open_blob(blob).await?);
                let report = async {
                    while let Some(bytes) = counts.recv().await {
                        progress.advance(bytes);
                    }
                };
                // The channel closes when the store drops the reader.
                tokio::join!(dst.put_verified_blob(blob, Box::pin(reader)), report).0
            },
            on_retry("copy blob"),
        )
        .await?;
    Ok(BlobOutcome::Copied(blob.size))
}

/// A blob reader that tells how many bytes went past. A store takes only
/// `'static` readers, so the counts travel over a channel to the copy,
/// which reports them.
struct Counted {
    inner: BlobReader,
    counts: tokio::sync::mpsc::UnboundedSender<u64>,
}

impl Counted {
    fn new(inner: BlobReader) -> (Self, tokio::sync::mpsc::UnboundedReceiver<u64>) {
        let (counts, receiver) = tokio::sync::mpsc::unbounded_channel();
        (Self { inner, counts }, receiver)
    }
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = self.inner.as_mut().poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            // Nobody listening (the copy gave up) is no reason to fail a read.
            let _ = self.counts.send(n as u64);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let p = RetryPolicy {
            attempts: 10,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(700),
        };
        let waits: Vec<u128> = (0..6).map(|i| p.delay(i).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 700, 700, 700]);
        assert_eq!(p.delay(u32::MAX).as_millis(), 700);
    }

    #[tokio::test]
    async fn retries_only_transient_errors() {
        let p = RetryPolicy {
            attempts: 3,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
        };
        let transient = || Error::Registry {
            registry: "r".into(),
            repository: "x".into(),
            operation: "test",
            status: Some(503),
            transient: true,
            message: "busy".into(),
        };
        let calls = std::sync::atomic::AtomicU32::new(0);
        let mut retries = 0;
        let r: Result<()> = p
            .run(
                || async {
                    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Err(transient())
                },
                |_, _, _| retries += 1,
            )
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(retries, 2);
        let calls = std::sync::atomic::AtomicU32::new(0);
        let r: Result<()> = p
            .run(
                || async {
                    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Err(Error::NotFound { location: "x".into(), what: "blob" })
                },
                |_, _, _| {},
            )
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
