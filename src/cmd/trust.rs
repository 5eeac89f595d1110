//! `airlock trust fetch` and `airlock trust verify`.

use crate::cli::{TrustFetchArgs, TrustVerifyArgs};
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use super::common::{pinned_root, time_policy};
use trust_roots::{SnapshotReport, TrustSource, VerifiedTrustRoot, VerifyOptions};

/// `trust verify`: a TUF snapshot offline, or (`--trusted-root`) a
/// hand-managed file with no TUF.
pub fn verify(args: TrustVerifyArgs) -> anyhow::Result<Outcome> {
    if let Some(file) = &args.trusted_root {
        return verify_hand_managed(file, args.output);
    }
    let dir = args
        .dir
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("give a snapshot directory, or --trusted-root"))?;
    let time = time_policy(args.at, args.max_age);
    let mut options = VerifyOptions::default();
    options.state = args.state.clone();
    let result = pinned_root(args.root.as_deref())
        .and_then(|pinned| trust_roots::verify_snapshot_with(dir, &pinned, time, &options));
    match result {
        Ok((root, report)) => {
            match args.output {
                Format::Json => print_json(&VerifyResult::ok(&root, &report))?,
                Format::Text => render_verified(&root, &report),
            }
            Ok(Outcome::Success)
        }
        Err(error) => refused("verify", &dir.display().to_string(), &error, args.output),
    }
}

fn verify_hand_managed(file: &std::path::Path, output: Format) -> anyhow::Result<Outcome> {
    match VerifiedTrustRoot::from_hand_managed_file(file) {
        Ok(root) => {
            match output {
                Format::Json => print_json(&serde_json::json!({
                    "mediaType": trust_roots::REPORT_MEDIA_TYPE,
                    "verified": true,
                    "tufChainChecked": false,
                    "trustSource": root.source(),
                    "trustSourceExplained": root.source().to_string(),
                    "trustedRootDigest": root.digest(),
                    "airlockVersion": env!("CARGO_PKG_VERSION"),
                }))?,
                Format::Text => {
                    println!(
                        "Trusted root loaded: {} ({})",
                        file.display(),
                        root.digest()
                    );
                    println!("  trust:    {}", root.source());
                    println!(
                        "  WARNING:  no TUF chain was checked: this file is trusted only \
                         because the operator gave it"
                    );
                }
            }
            Ok(Outcome::Success)
        }
        Err(error) => refused("verify", &file.display().to_string(), &error, output),
    }
}

/// The `--output json` document of `trust verify`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyResult<'a> {
    media_type: &'static str,
    verified: bool,
    tuf_chain_checked: bool,
    trust_source: &'a TrustSource,
    trusted_root_digest: String,
    #[serde(flatten)]
    report: &'a SnapshotReport,
    airlock_version: &'static str,
}

impl<'a> VerifyResult<'a> {
    fn ok(root: &'a VerifiedTrustRoot, report: &'a SnapshotReport) -> Self {
        Self {
            media_type: trust_roots::REPORT_MEDIA_TYPE,
            verified: true,
            tuf_chain_checked: true,
            trust_source: root.source(),
            trusted_root_digest: root.digest(),
            report,
            airlock_version: env!("CARGO_PKG_VERSION"),
        }
    }
}

fn render_verified(root: &VerifiedTrustRoot, report: &SnapshotReport) {
    let roles = &report.roles;
    println!("Verified OK: TUF snapshot {}", report.snapshot.display());
    println!(
        "  pinned root:    v{} {} ({})",
        report.pinned_root.version, report.pinned_root.digest, report.pinned_root.origin
    );
    let walked = match (report.roots_walked.first(), report.roots_walked.last()) {
        (Some(first), Some(last)) => format!("walked v{first}..v{last}"),
        _ => "no rotation since the pin".to_string(),
    };
    println!(
        "  root:           v{}, expires {} ({walked})",
        roles.root.version, roles.root.expires
    );
    for role in [&roles.timestamp, &roles.snapshot, &roles.targets] {
        println!(
            "  {:<15} v{}, expires {}",
            format!("{}:", role.name),
            role.version,
            role.expires
        );
    }
    for role in &roles.delegated {
        println!(
            "  delegated:      {} v{} (by {}), expires {}",
            role.name,
            role.version,
            role.delegator.as_deref().unwrap_or("?"),
            role.expires
        );
    }
    println!("  reference time: {}", report.reference_time_explained);
    for target in &report.targets {
        println!(
            "  target:         {} sha256:{} {} bytes (signed by {})",
            target.name, target.sha256, target.length, target.signed_by
        );
    }
    println!("  trusted root:   {}", root.digest());
    if let Some(index) = &report.unauthenticated_index {
        println!(
            "  index.json:     fetched from {} at {} (unauthenticated, for information)",
            index.mirror.as_deref().unwrap_or("?"),
            index
                .fetched_at
                .map(|t| t.to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
    if let Some(state) = &report.state {
        println!(
            "  state:          {} (rollback floors checked and updated)",
            state.display()
        );
    }
    for warning in &report.warnings {
        println!("  warning:        {warning}");
    }
}

/// Report a refusal (exit 1) or a failure to run (exit 2), in one line.
fn refused(
    command: &str,
    subject: &str,
    error: &trust_roots::Error,
    output: Format,
) -> anyhow::Result<Outcome> {
    let outcome = Outcome::for_trust_error(error);
    let verdict = match outcome {
        Outcome::CouldNotRun => "could not run",
        _ => "refused",
    };
    match output {
        Format::Json => print_json(&serde_json::json!({
            "mediaType": trust_roots::REPORT_MEDIA_TYPE,
            "verified": false,
            "subject": subject,
            "failedCheck": error.check(),
            "error": error.to_string(),
            "airlockVersion": env!("CARGO_PKG_VERSION"),
        }))?,
        Format::Text => eprintln!(
            "airlock: trust {command}: {subject}: {verdict} ({}): {error}",
            error.check()
        ),
    }
    Ok(outcome)
}

/// `trust fetch`, in a build with the `connected` feature.
#[cfg(feature = "connected")]
pub fn fetch(args: TrustFetchArgs) -> anyhow::Result<Outcome> {
    use super::common::now;
    use trust_roots::fetch::{fetch_snapshot, FetchOptions};
    use trust_roots::ReferenceTime;
    let now = now();
    let time = match args.at {
        Some(at) => ReferenceTime::operator(at),
        None => ReferenceTime::local_clock(now),
    };
    let mut options = FetchOptions::new(&args.mirror, &args.out, now, time);
    options.targets_url = args.targets_url.clone();
    options.extra_targets = args.targets.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let progress = crate::progress::CliProgress::new(args.progress.quiet);
    let result = pinned_root(args.root.as_deref())
        .and_then(|pinned| runtime.block_on(fetch_snapshot(&pinned, &options, &progress)));
    progress.end();
    let report = match result {
        Ok(report) => report,
        Err(error) => return refused("fetch", &args.mirror, &error, args.output),
    };
    match args.output {
        Format::Json => print_json(&serde_json::json!({
            "mediaType": "application/vnd.airlock.trust-fetch.report.v1+json",
            "fetched": true,
            "report": report,
            "airlockVersion": env!("CARGO_PKG_VERSION"),
        }))?,
        Format::Text => {
            println!("Fetched TUF snapshot into {}", report.out.display());
            println!(
                "  mirror:         {} (targets {})",
                report.mirror, report.targets_url
            );
            println!(
                "  pinned root:    v{} {} ({})",
                report.pinned_root.version, report.pinned_root.digest, report.pinned_root.origin
            );
            let carried: Vec<String> = report
                .roots_carried
                .iter()
                .map(|v| format!("v{v}"))
                .collect();
            println!("  roots carried:  {}", carried.join(" "));
            let v = report.versions;
            println!(
                "  final:          root v{}, timestamp v{}, snapshot v{}, targets v{}",
                v.root, v.timestamp, v.snapshot, v.targets
            );
            for role in &report.delegated_roles {
                println!("  delegated:      {role}");
            }
            println!("  reference time: {}", report.reference_time);
            for target in &report.targets {
                println!(
                    "  target:         {} sha256:{} {} bytes (signed by {})",
                    target.name, target.sha256, target.length, target.signed_by
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// `trust fetch` in a disconnected build: there is no network code to run.
#[cfg(not(feature = "connected"))]
pub fn fetch(args: TrustFetchArgs) -> anyhow::Result<Outcome> {
    let _ = args;
    eprintln!(
        "airlock: trust fetch: this airlock was built without the `connected` feature, so it \
         contains no network code; run `trust fetch` with a connected build and carry the \
         snapshot across"
    );
    Ok(Outcome::CouldNotRun)
}
