//! The site's audit log: every `verify` and `load` decision, break-glass or
//! not, as hash-chained JSON lines in the state directory (`--state DIR`).
//!
//! - `STATE/audit.jsonl`: one [`AuditEntry`] per line, compact JSON as
//!   serde writes it. Entry `n` (1-based, = its line number) records in
//!   `prev` the sha256 of line `n-1`'s bytes (without the newline); the
//!   first records [`GENESIS`].
//! - `STATE/audit.head`: the number and sha256 of the last entry, replaced
//!   atomically after each append, so removing entries from the end is
//!   detected too.
//!
//! This module defines the entry and checks the chain ([`check`]);
//! `site::audit` appends. The log is tamper-*evident* for whoever keeps
//! the head (or a copy of it) out of an attacker's reach: someone who can
//! rewrite both files can rewrite history, which is why the head's hash is
//! also printed by `airlock audit verify` for the operator to record.

use crate::policy::eval::Outcome;
use crate::policy::{BreakGlass, Gate};
use crate::report::Report;
use oci::Digest;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The log file in the state directory.
pub const LOG_FILE: &str = "audit.jsonl";
/// The head file in the state directory.
pub const HEAD_FILE: &str = "audit.head";
/// `prev` of the first entry.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// Media type of an entry.
pub const ENTRY_MEDIA_TYPE: &str = "application/vnd.airlock.audit-entry.v1+json";
/// Longest line read back; an entry lists a bundle's images.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditEntry {
    /// Always [`ENTRY_MEDIA_TYPE`].
    pub media_type: String,
    /// 1-based; equals the entry's line number.
    pub seq: u64,
    /// sha256 of the previous line's bytes, or [`GENESIS`].
    pub prev: String,
    /// When the decision was made (the report's time).
    pub time: jiff::Timestamp,
    /// `verify` or `load`.
    pub command: String,
    /// The bundle as given on the command line.
    pub input: String,
    /// The bundle id, when the manifest was read.
    pub bundle: Option<Digest>,
    /// sha256 of the policy file.
    pub policy: Option<Digest>,
    /// `passed` or `failed`: the verification's verdict.
    pub verdict: Outcome,
    /// For `load`: whether anything was pushed.
    pub loaded: Option<bool>,
    /// The break-glass request, when there was one.
    pub break_glass: Option<BreakGlass>,
    /// Every image and its outcome.
    pub images: Vec<AuditImage>,
}

/// One image's decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditImage {
    /// As the bundle names it.
    pub reference: String,
    /// Its digest.
    pub digest: Digest,
    /// `passed` or `failed`.
    pub outcome: Outcome,
    /// The first reason it failed.
    pub failure: Option<String>,
    /// The policy gates it failed.
    pub gates: Vec<Gate>,
    /// Whether break-glass admitted it (its gates were waived).
    pub break_glass: bool,
}

impl AuditEntry {
    /// The entry for a verification `report`, before it is chained (`seq`
    /// and `prev` are set by the writer).
    pub fn from_report(command: &str, report: &Report, loaded: Option<bool>) -> Self {
        Self {
            media_type: ENTRY_MEDIA_TYPE.into(),
            seq: 0,
            prev: String::new(),
            time: report.generated_at,
            command: command.into(),
            input: report.bundle.input.clone(),
            bundle: report.bundle.id.clone(),
            policy: report.policy.as_ref().map(|p| p.sha256.clone()),
            verdict: report.verdict,
            loaded,
            break_glass: report.break_glass.clone(),
            images: report
                .images
                .iter()
                .map(|v| AuditImage {
                    reference: v.reference.clone(),
                    digest: v.digest.clone(),
                    outcome: v.outcome,
                    failure: v.failure.as_ref().map(|f| f.refusal.to_string()),
                    gates: v.gates.iter().map(|g| g.gate).collect(),
                    break_glass: v.break_glass.is_some(),
                })
                .collect(),
        }
    }
}

/// The head: the last entry's number and hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditHead {
    /// The last entry's `seq` (0: empty log).
    pub seq: u64,
    /// sha256 of its line, or [`GENESIS`].
    pub sha256: String,
}

impl AuditHead {
    /// The head of an empty log.
    pub fn genesis() -> Self {
        Self { seq: 0, sha256: GENESIS.into() }
    }
}

/// Where the chain breaks, by line number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an entry (edited into garbage, or cut short).
    #[error("line {line}: not an audit entry ({reason}): the line was edited or cut short")]
    Malformed {
        /// 1-based.
        line: u64,
        /// The parser's reason.
        reason: String,
    },
    /// An entry's number is not its line number.
    #[error("line {line}: holds entry {found}, expected entry {line}: entry {line} was deleted (or entries reordered)")]
    Sequence {
        /// 1-based.
        line: u64,
        /// The `seq` found.
        found: u64,
    },
    /// An entry's `prev` is not the hash of the line before it.
    #[error("line {edited}: edited: its sha256 is {actual}, but line {next} records {recorded}")]
    Edited {
        /// The line whose bytes changed.
        edited: u64,
        /// The line that records its hash.
        next: u64,
        /// What the line hashes to now.
        actual: String,
        /// What was recorded.
        recorded: String,
    },
    /// The log ends before the head says it does.
    #[error("the log ends at entry {last}, but the head records entry {head}: entries {first_missing}..={head} were removed (truncated)")]
    Truncated {
        /// The last entry present.
        last: u64,
        /// The first missing.
        first_missing: u64,
        /// The head's entry.
        head: u64,
    },
    /// The last entry is not the one the head records.
    #[error("line {line}: edited: the head records sha256 {recorded} for entry {line}, the line hashes to {actual}")]
    HeadMismatch {
        /// The last line.
        line: u64,
        /// The head's hash.
        recorded: String,
        /// The line's hash.
        actual: String,
    },
    /// The log has entries the head does not know, or the head is missing.
    #[error("the head ({head}) does not match the log's {entries} entries")]
    Head {
        /// The head, described.
        head: String,
        /// Entries in the log.
        entries: u64,
    },
}

/// What a good chain holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSummary {
    /// Entries checked.
    pub entries: u64,
    /// The head (the last entry's hash): record it elsewhere to make later
    /// rewrites evident.
    pub head: AuditHead,
    /// Entries with a break-glass request.
    pub break_glass: u64,
}

/// Read the head file; `None` when there is none.
pub fn read_head(state: &Path) -> Result<Option<AuditHead>, AuditError> {
    let path = state.join(HEAD_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuditError::Head { head: format!("{HEAD_FILE} unreadable: {e}"), entries: 0 }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuditError::Io { path, source }),
    }
}

/// Check the whole chain, line by line, and the head.
pub fn check(state: &Path) -> Result<AuditSummary, AuditError> {
    let path = state.join(LOG_FILE);
    let io = |source| AuditError::Io { path: path.clone(), source };
    let file = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    let mut last = AuditHead::genesis();
    let mut break_glass = 0;
    if let Some(file) = file {
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            let number = last.seq + 1;
            let Some(bytes) = line.strip_suffix(b"\n") else {
                return Err(AuditError::Malformed { line: number, reason: "no newline at its end".into() });
            };
            let entry: AuditEntry = serde_json::from_slice(bytes)
                .map_err(|e| AuditError::Malformed { line: number, reason: e.to_string() })?;
            if entry.seq != number {
                return Err(AuditError::Sequence { line: number, found: entry.seq });
            }
            if entry.prev != last.sha256 {
                // The first entry's `prev` is fixed: if it differs, line 1 itself changed.
                let edited = last.seq.max(1);
                return Err(AuditError::Edited { edited, next: number, actual: last.sha256, recorded: entry.prev });
            }
            break_glass += u64::from(entry.break_glass.is_some());
            last = AuditHead { seq: number, sha256: Digest::sha256_of(bytes).to_string() };
        }
    }
    check_head(read_head(state)?, &last)?;
    Ok(AuditSummary { entries: last.seq, head: last, break_glass })
}

fn check_head(head: Option<AuditHead>, last: &AuditHead) -> Result<(), AuditError> {
    let Some(head) = head else {
        return match last.seq {
            0 => Ok(()),
            n => Err(AuditError::Head { head: format!("no {HEAD_FILE}"), entries: n }),
        };
    };
    if head.seq > last.seq {
        return Err(AuditError::Truncated { last: last.seq, first_missing: last.seq + 1, head: head.seq });
    }
    if head.seq < last.seq {
        return Err(AuditError::Head { head: format!("entry {}", head.seq), entries: last.seq });
    }
    if head.sha256 != last.sha256 {
        return Err(AuditError::HeadMismatch { line: last.seq, recorded: head.sha256, actual: last.sha256.clone() });
    }
    Ok(())
}
