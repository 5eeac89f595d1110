//! A file written in bulk and made durable once, at the end, without
//! waiting there for all of it to reach the disk.
//!
//! An archive or a volume is gigabytes written front to back and synced
//! before it is renamed into place. Synced only at the end, every byte is
//! still in the page cache then, and the writer waits for the disk to take
//! all of it: on the floor run that wait was a third of `bundle create`'s
//! wall time for a `.tar`. [`Writeback`] has a helper thread sync what was
//! written so far every [`SYNC_EVERY`] bytes while the writer goes on, so
//! the final sync finds only the tail left. Durability is unchanged: the
//! final [`Writeback::finish`] syncs everything, and reports a failure of
//! any earlier sync (a failed sync can leave pages marked clean that never
//! reached the disk, so a later sync succeeding proves nothing).

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// Bytes written between syncs the helper starts.
pub const SYNC_EVERY: u64 = 32 << 20;

/// A file whose writeback runs while it is written. Dropped unfinished
/// (an error elsewhere), its helper ends after the sync it is running.
pub struct Writeback {
    file: File,
    unsynced: u64,
    helper: Option<(SyncSender<()>, JoinHandle<io::Result<()>>)>,
}

impl Writeback {
    /// Write `file` with its writeback started as it grows. The helper
    /// thread starts with the first [`SYNC_EVERY`] bytes: a small file
    /// costs no thread.
    pub fn new(file: File) -> Self {
        Self { file, unsynced: 0, helper: None }
    }

    /// Sync everything written, after the helper's last sync: the file,
    /// durable, or the first sync that failed.
    pub fn finish(mut self) -> io::Result<File> {
        if let Some((requests, helper)) = self.helper.take() {
            drop(requests);
            helper.join().map_err(|_| io::Error::other("the writeback thread panicked"))??;
        }
        self.file.sync_all()?;
        Ok(self.file)
    }

    /// Ask the helper to sync what was written so far, starting it first
    /// if need be.
    fn request_sync(&mut self) -> io::Result<()> {
        if self.helper.is_none() {
            let shared = self.file.try_clone()?;
            // One request waiting at most: a sync asked for while one runs
            // covers everything written by the time it starts.
            let (requests, pending) = sync_channel::<()>(1);
            let helper = std::thread::Builder::new().name("airlock-writeback".into()).spawn(move || {
                for () in pending {
                    shared.sync_data()?;
                }
                Ok(())
            })?;
            self.helper = Some((requests, helper));
        }
        if let Some((requests, _)) = &self.helper {
            // Refused when full (a sync is waiting and will cover these
            // bytes) or disconnected (the helper's sync failed; finish
            // reports it): neither is this write's error.
            let _ = requests.try_send(());
        }
        Ok(())
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= SYNC_EVERY {
            self.unsynced = 0;
            self.request_sync()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_everything_and_finishes_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive");
        let mut out = Writeback::new(File::create(&path).unwrap());
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..(2 * SYNC_EVERY / chunk.len() as u64 + 3) {
            out.write_all(&chunk).unwrap();
        }
        out.finish().unwrap();
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back.len() as u64, 2 * SYNC_EVERY + 3 * (1 << 20));
        assert!(back.iter().all(|b| *b == 7));
    }
}
