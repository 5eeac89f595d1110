//! `airlock audit verify STATE`, and the entry verify/load append.

use crate::cli::AuditVerifyArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::Context;
use std::path::Path;
use verifier::audit::{check, AuditEntry, AuditError};
use verifier::report::Report;

/// `audit verify`.
pub fn verify(args: AuditVerifyArgs) -> anyhow::Result<Outcome> {
    match check(&args.state) {
        Ok(summary) => {
            match args.output {
                Format::Json => print_json(&serde_json::json!({"intact": true, "summary": summary}))?,
                Format::Text => println!(
                    "audit log intact: {} entries ({} with break-glass); head entry {} {}",
                    summary.entries, summary.break_glass, summary.head.seq, summary.head.sha256
                ),
            }
            Ok(Outcome::Success)
        }
        Err(AuditError::Io { path, source }) => Err(source).with_context(|| format!("reading {}", path.display())),
        Err(broken) => {
            if args.output == Format::Json {
                print_json(&serde_json::json!({"intact": false, "error": broken.to_string()}))?;
            }
            eprintln!("airlock: audit log {}: {broken}", args.state.join(verifier::audit::LOG_FILE).display());
            Ok(Outcome::Refused)
        }
    }
}

/// Append the decision in `report` to the audit log in `state`.
pub fn record(state: &Path, command: &str, report: &Report, loaded: Option<bool>) -> anyhow::Result<()> {
    site::audit::append(state, AuditEntry::from_report(command, report, loaded))
        .with_context(|| format!("appending to the audit log in {}", state.display()))?;
    Ok(())
}
