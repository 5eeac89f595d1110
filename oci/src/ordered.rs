//! Blobs fetched from registries and handed, one after another in an order
//! the caller fixes, to a synchronous writer: an archive whose format fixes
//! the order of its entries, written as the bytes arrive instead of from a
//! copy on disk.
//!
//! - `jobs` requests in flight, started in the given order, so the blob the
//!   writer waits for is always one of them.
//! - Blobs ahead of the one being written are read ahead into memory, each
//!   at most [`READ_AHEAD`] bytes and all of them within a byte budget:
//!   many small blobs arrive in parallel while a large one streams, and
//!   memory stays bounded whatever the blobs' number and sizes.
//! - Each byte is hashed once, as it arrives. A blob's reader fails at end
//!   of stream unless what it handed over matched the descriptor's digest
//!   and size, so a writer must hold what it wrote as unproven until then.
//! - A stream that breaks mid-blob is resumed where it stopped (a `Range`
//!   request for the rest; the whole blob again, with what was already
//!   handed over skipped, where the registry ignores ranges). The hash runs
//!   over exactly the bytes handed over, so a resumed blob is checked whole.

use crate::copy::{retry_note, RetryPolicy};
use progress::Progress;
use crate::digest::{DigestError, Hasher};
use crate::error::{BlobCopyError, Error, Result};
use crate::manifest::Descriptor;
use crate::remote::Repository;
use bytes::Bytes;
use futures_util::StreamExt;
use std::future::Future;
use std::io::{self, Read};
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// How much of one blob is read ahead of the writer at most.
pub const READ_AHEAD: u64 = 8 << 20;
/// Every blob read ahead holds at least this much of the budget, so the
/// number waiting stays bounded too.
const MIN_RESERVATION: u64 = 64 << 10;
/// Bytes travel to the writer in chunks of at most this size.
const CHUNK: usize = 64 << 10;

/// How to fetch.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Requests in flight at once (at least 1).
    pub jobs: usize,
    /// Bytes read ahead of the writer, in all (at least [`READ_AHEAD`]).
    pub budget: u64,
    /// Retries for transient failures, including a stream that breaks.
    pub retry: RetryPolicy,
}

enum Chunk {
    Data(Bytes),
    End,
    Failed(Error),
}

/// The blobs, in order, for a synchronous writer.
pub struct InOrder {
    queue: mpsc::UnboundedReceiver<IncomingBlob>,
}

impl InOrder {
    /// The next blob in the order given to [`fetch`]; `None` once every
    /// blob was handed over (or the fetch stopped). Blocks: call it where
    /// blocking is allowed, never from async code.
    pub fn next_blob(&mut self) -> Option<IncomingBlob> {
        self.queue.blocking_recv()
    }
}

/// One blob as it arrives: read it to the end, where it fails unless its
/// digest and size matched. Reads block (see [`InOrder::next_blob`]).
pub struct IncomingBlob {
    descriptor: Descriptor,
    chunks: mpsc::Receiver<Chunk>,
    current: Bytes,
    finished: bool,
    /// Its share of the read-ahead budget, given back when it is dropped.
    _reservation: OwnedSemaphorePermit,
}

impl IncomingBlob {
    /// What is arriving.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

impl Read for IncomingBlob {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            match self.chunks.blocking_recv() {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => self.finished = true,
                Some(Chunk::Failed(source)) => {
                    return Err(io::Error::other(BlobCopyError {
                        digest: self.descriptor.digest.clone(),
                        source,
                    }))
                }
                None => return Err(io::Error::other(format!("fetching {} stopped", self.descriptor.digest))),
            }
        }
    }
}

/// Fetch `blobs` (each from its repository), to be read in this order from
/// the returned [`InOrder`]. The future does the fetching: run it (spawn
/// it) while the writer reads; it ends once every blob is under way, or
/// when the writer drops the `InOrder`. Retries are notes to `progress`;
/// bytes are the writer's to count, as it writes them.
pub fn fetch(
    blobs: Vec<(Repository, Descriptor)>,
    options: Options,
    progress: Arc<dyn Progress>,
) -> (InOrder, impl Future<Output = ()> + Send + 'static) {
    let (queue, receiver) = mpsc::unbounded_channel();
    (InOrder { queue: receiver }, feed(blobs, options, progress, queue))
}

/// Start each blob in order once its share of the budget and a request
/// slot are free: the blob the writer waits for always got both first.
async fn feed(blobs: Vec<(Repository, Descriptor)>, options: Options, progress: Arc<dyn Progress>, queue: mpsc::UnboundedSender<IncomingBlob>) {
    let budget_bytes = options.budget.max(READ_AHEAD);
    let budget = Arc::new(Semaphore::new(usize::try_from(budget_bytes).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS)));
    let slots = Arc::new(Semaphore::new(options.jobs.max(1)));
    for (source, blob) in blobs {
        let share = blob.size.clamp(MIN_RESERVATION, READ_AHEAD);
        let Ok(reservation) = budget.clone().acquire_many_owned(share as u32).await else { return };
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (sender, chunks) = mpsc::channel((share as usize).div_ceil(CHUNK));
        let incoming = IncomingBlob {
            descriptor: blob.clone(),
            chunks,
            current: Bytes::new(),
            finished: false,
            _reservation: reservation,
        };
        if queue.send(incoming).is_err() {
            return; // The writer is gone.
        }
        tokio::spawn(produce(source, blob, sender, slot, options.retry, progress.clone()));
    }
}

/// Fetch one blob into its channel; the request slot is given back as soon
/// as the network is done with it.
async fn produce(source: Repository, blob: Descriptor, sender: mpsc::Sender<Chunk>, slot: OwnedSemaphorePermit, retry: RetryPolicy, progress: Arc<dyn Progress>) {
    let outcome = receive(&source, &blob, &sender, retry, &*progress).await;
    drop(slot);
    let last = match outcome {
        Ok(Passed::All) => Chunk::End,
        Ok(Passed::WriterGone) => return,
        Err(e) => Chunk::Failed(e),
    };
    let _ = sender.send(last).await;
}

enum Passed {
    All,
    WriterGone,
}

/// Every byte of `blob` to the writer, hashed on the way, resuming a
/// broken stream where it stopped; then the digest and size checked.
async fn receive(source: &Repository, blob: &Descriptor, sender: &mpsc::Sender<Chunk>, retry: RetryPolicy, progress: &dyn Progress) -> Result<Passed> {
    let mut hasher = Hasher::new(blob.digest.algorithm());
    let mut handed = 0u64;
    let mut attempt = 1;
    loop {
        match pass_on(source, blob, sender, &mut hasher, &mut handed).await {
            Ok(Passed::All) => break,
            Ok(Passed::WriterGone) => return Ok(Passed::WriterGone),
            Err(error) if error.is_transient() && attempt < retry.attempts.max(1) => {
                let wait = retry.delay(attempt - 1);
                progress.note(&retry_note("fetch blob", &blob.digest, attempt, &error, wait));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
    let content_error = |mismatch| Error::Content {
        location: format!("{}@{}", crate::store::Store::location(source), blob.digest),
        source: mismatch,
    };
    if handed != blob.size {
        return Err(content_error(DigestError::SizeMismatch {
            digest: blob.digest.clone(),
            expected: blob.size,
            actual: handed,
        }));
    }
    let actual = hasher.finish();
    if actual != blob.digest {
        return Err(content_error(DigestError::Mismatch {
            expected: blob.digest.clone(),
            actual,
        }));
    }
    Ok(Passed::All)
}

/// The rest of `blob` (from byte `handed` on) to the writer, in chunks.
async fn pass_on(
    source: &Repository,
    blob: &Descriptor,
    sender: &mpsc::Sender<Chunk>,
    hasher: &mut Hasher,
    handed: &mut u64,
) -> Result<Passed> {
    let mut stream = source.blob_stream_from(blob, *handed).await?;
    while let Some(piece) = stream.next().await {
        let mut piece = piece.map_err(|e| source.stream_error(blob, e))?;
        if *handed + piece.len() as u64 > blob.size {
            return Err(Error::Content {
                location: format!("{}@{}", crate::store::Store::location(source), blob.digest),
                source: DigestError::SizeMismatch {
                    digest: blob.digest.clone(),
                    expected: blob.size,
                    actual: *handed + piece.len() as u64,
                },
            });
        }
        while !piece.is_empty() {
            let part = piece.split_to(piece.len().min(CHUNK));
            hasher.update(&part);
            *handed += part.len() as u64;
            if sender.send(Chunk::Data(part)).await.is_err() {
                return Ok(Passed::WriterGone);
            }
        }
    }
    Ok(Passed::All)
}
