//! Appending to the site's audit log (`STATE/audit.jsonl`): the write half
//! of `verifier::audit`, which defines the entry and checks the chain.
//!
//! An append holds an exclusive lock on `STATE/audit.lock`, chains the
//! entry to the head, appends one line (synced), then replaces the head
//! (written aside and renamed). A crash between the two leaves one entry
//! the head does not know: `airlock audit verify` reports it.

use crate::{Error, Result};
use std::io::Write;
use std::path::Path;
use verifier::audit::{read_head, AuditEntry, AuditHead, HEAD_FILE, LOG_FILE};

/// Chain `entry` to the log in `state` and append it; returns it as written.
pub fn append(state: &Path, mut entry: AuditEntry) -> Result<AuditEntry> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(state).map_err(io(state))?;
    let lock_path = state.join("audit.lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io(&lock_path))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).map_err(|e| Error::Io { path: lock_path.clone(), source: e.into() })?;
    let head = read_head(state).map_err(|e| Error::Invalid(format!("audit log: {e}; run `airlock audit verify`")))?.unwrap_or_else(AuditHead::genesis);
    entry.seq = head.seq + 1;
    entry.prev = head.sha256;
    let line = serde_json::to_vec(&entry).expect("an audit entry serialises");
    let log_path = state.join(LOG_FILE);
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(io(&log_path))?;
    log.write_all(&[line.as_slice(), b"\n"].concat()).and_then(|()| log.sync_data()).map_err(io(&log_path))?;
    let new_head = AuditHead { seq: entry.seq, sha256: oci::Digest::sha256_of(&line).to_string() };
    let head_path = state.join(HEAD_FILE);
    let partial = state.join(format!("{HEAD_FILE}.partial"));
    std::fs::write(&partial, serde_json::to_vec(&new_head).expect("a head serialises")).map_err(io(&partial))?;
    std::fs::rename(&partial, &head_path).map_err(io(&head_path))?;
    // The lock is released when `lock` is dropped.
    Ok(entry)
}
