//! `airlock verify`: the import gate.

use super::common::{jobs, now, pinned_root, public_key, time_policy};
use crate::cli::{VerifyArgs, VerifyFlags};
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use crate::progress::CliProgress;
use anyhow::Context;
use std::path::{Path, PathBuf};
use trust_roots::VerifiedTrustRoot;
use verifier::policy::eval::Outcome as Verdict;
use verifier::policy::{BreakGlass, Policy};
use verifier::verify::{verify_bundle, TrustChoice, Verification, VerifyOptions};

/// A verification and the work directory its content may live in (an
/// archive is read into it); the directory goes away with the value.
pub struct Verified {
    pub verification: Verification,
    _work: Option<tempfile::TempDir>,
}

/// Run the full verification of `bundle` with `flags`, writing `--report`.
pub fn verify(bundle: &Path, flags: &VerifyFlags) -> anyhow::Result<Verified> {
    let Some(policy_path) = &flags.policy else {
        anyhow::bail!("--policy is required: nothing is verified without an import policy");
    };
    // A bundle that is not there is the operator's mistake, not a refusal.
    std::fs::metadata(bundle).with_context(|| format!("cannot read the bundle {}", bundle.display()))?;
    let policy = Policy::load(policy_path).with_context(|| format!("policy {}", policy_path.display()))?;
    let break_glass = break_glass_request(flags)?;
    let transfer_key = flags.transfer_key.as_deref().map(public_key).transpose()?;
    let trust = match &flags.trusted_root {
        Some(file) => TrustChoice::SiteTrustedRoot(VerifiedTrustRoot::from_hand_managed_file(file)?),
        None => {
            let mut options = trust_roots::VerifyOptions::default();
            options.state = flags.state.as_ref().map(|s| s.join("tuf"));
            TrustChoice::Tuf { pinned: pinned_root(flags.tuf_root.as_deref())?, time: time_policy(flags.at, flags.max_age), options }
        }
    };
    let (work_dir, work): (PathBuf, Option<tempfile::TempDir>) = match &flags.work_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new().prefix("airlock-work-").tempdir().context("creating a work directory")?;
            (temp.path().join("bundle"), Some(temp))
        }
    };
    let verification = verify_bundle(
        VerifyOptions {
            input: bundle,
            policy: &policy,
            transfer_key: transfer_key.as_ref(),
            allow_unsigned_bundle: flags.allow_unsigned_bundle,
            trust,
            jobs: jobs(flags.jobs),
            work_dir: &work_dir,
            state_dir: flags.state.as_deref(),
            now: now(),
            airlock_version: env!("CARGO_PKG_VERSION"),
            break_glass: break_glass.as_ref(),
        },
        &CliProgress::new(flags.progress.quiet),
    );
    if let Some(path) = &flags.report {
        let json = serde_json::to_vec_pretty(&verification.report)?;
        std::fs::write(path, json).with_context(|| format!("writing the report to {}", path.display()))?;
    }
    Ok(Verified { verification, _work: work })
}

/// `--break-glass REASON` with `--operator`, else $AIRLOCK_OPERATOR, else $USER.
fn break_glass_request(flags: &VerifyFlags) -> anyhow::Result<Option<BreakGlass>> {
    let Some(reason) = &flags.break_glass else {
        if flags.operator.is_some() {
            anyhow::bail!("--operator names who breaks glass; it needs --break-glass REASON");
        }
        return Ok(None);
    };
    if flags.state.is_none() {
        anyhow::bail!("--break-glass needs --state: the decision must go into the site's audit log");
    }
    let operator = flags
        .operator
        .clone()
        .or_else(|| std::env::var("AIRLOCK_OPERATOR").ok().filter(|o| !o.is_empty()))
        .or_else(|| std::env::var("USER").ok().filter(|o| !o.is_empty()))
        .context("--break-glass needs to know who: give --operator NAME (or set AIRLOCK_OPERATOR)")?;
    Ok(Some(BreakGlass::new(reason, &operator, now()).context("--break-glass")?))
}

pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let verified = verify(&args.bundle, &args.flags)?;
    let report = &verified.verification.report;
    if let Some(state) = &args.flags.state {
        super::audit::record(state, "verify", report, None)?;
    }
    match args.output {
        Format::Json => print_json(report)?,
        Format::Text => print!("{}", report.to_text()),
    }
    Ok(match report.verdict {
        Verdict::Passed => Outcome::Success,
        Verdict::Failed => Outcome::Refused,
    })
}
