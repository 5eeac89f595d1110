//! `airlock load`: a bundle into the site's registry.

use crate::cli::LoadArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::Context;
use site::load::{self, LoadOptions, LoadReport, RepositoryMapping, Resign, Target};
use verifier::store::BundleStore;

pub fn run(args: LoadArgs) -> anyhow::Result<Outcome> {
    // Typed inputs first: nothing is opened or pushed with a bad flag.
    let (target, prefix) = target(&args)?;
    let mut mapping = RepositoryMapping::new(&prefix)?;
    for rule in &args.repo_maps {
        mapping = mapping.with_rule_text(rule)?;
    }
    let key = args.resign_key.as_deref().map(super::common::signing_key).transpose()?;

    // The full verification, in this process, before anything is pushed.
    let verified = super::verify::verify(&args.bundle, &args.verify)?;
    let verification = &verified.verification;
    if args.output == Format::Text && !args.verify.progress.quiet {
        eprint!("{}", verification.report.to_text());
    }
    let (bundle, partial) = match (&verification.verified, &verification.partial) {
        (Some(bundle), _) => (bundle, false),
        (None, Some(passed)) if args.partial && !passed.images().is_empty() => (passed, true),
        _ => {
            if let Some(state) = &args.verify.state {
                super::audit::record(state, "load", &verification.report, Some(false))?;
            }
            eprintln!("airlock: load: {} did not verify: nothing was pushed", args.bundle.display());
            if args.output == Format::Json {
                print_json(&LoadResult::nothing_loaded(&verification.report))?;
            }
            return Ok(Outcome::Refused);
        }
    };
    let left_out = left_out(verification);
    if partial {
        eprintln!(
            "airlock: load: PARTIAL: loading the {} of {} image(s) that passed; left out:",
            bundle.images().len(),
            verification.report.images.len()
        );
        for image in &left_out {
            eprintln!("  {} ({}): {}", image.reference, image.digest, image.reason);
        }
    }
    let store = BundleStore::verified(bundle);
    let options = LoadOptions {
        mapping,
        jobs: super::common::jobs(args.verify.jobs),
        resign: key.as_ref().map(|key| Resign { key, identity: args.resign_identity.as_deref() }),
        ..LoadOptions::default()
    };
    let started = std::time::Instant::now();
    let progress = crate::progress::CliProgress::new(args.verify.progress.quiet);
    let result = super::common::runtime()?.block_on(load::load(&store, &target, &options, &progress));
    progress.end();
    let report = match result {
        Ok(report) => report,
        // The bundle verified; what fails now is the target, the mapping or
        // the key: the command could not run.
        Err(e) => {
            if let Some(state) = &args.verify.state {
                super::audit::record(state, "load", &verification.report, Some(false))?;
            }
            eprintln!("airlock: load: {e}");
            return Ok(Outcome::CouldNotRun);
        }
    };
    if let Some(state) = &args.verify.state {
        super::audit::record(state, "load", &verification.report, Some(true))?;
    }
    let elapsed = started.elapsed();
    if let Some(path) = &args.mapping {
        std::fs::write(path, report.mapping_lines()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Only a complete import is recorded: a later increment may rely on
    // every blob of this bundle being at the site.
    if let (Some(state), false) = (&args.verify.state, partial) {
        site::ledger::record(&verifier::ledger::Ledger::new(state), bundle, super::common::now())
            .context("recording the import in the ledger")?;
    }
    match args.output {
        Format::Json => print_json(&LoadResult {
            loaded: true,
            partial,
            left_out,
            report: Some(&report),
            push_seconds: Some(elapsed.as_secs_f64()),
            ..LoadResult::nothing_loaded(&verification.report)
        })?,
        Format::Text => render_text(&report, elapsed),
    }
    Ok(if partial { Outcome::Partial } else { Outcome::Success })
}

/// Media type of `load --output json`.
const RESULT_MEDIA_TYPE: &str = "application/vnd.airlock.load.result.v1+json";

/// `load --output json`: whether anything was loaded, the verification
/// that decided it, and what the push did (docs/report.md).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadResult<'a> {
    media_type: &'static str,
    loaded: bool,
    partial: bool,
    left_out: Vec<LeftOut>,
    verification: &'a verifier::report::Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a LoadReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push_seconds: Option<f64>,
    airlock_version: &'static str,
}

impl<'a> LoadResult<'a> {
    /// Nothing loaded (yet): the result of a bundle that did not verify,
    /// and what a load's result starts from.
    fn nothing_loaded(verification: &'a verifier::report::Report) -> Self {
        Self {
            media_type: RESULT_MEDIA_TYPE,
            loaded: false,
            partial: false,
            left_out: Vec::new(),
            verification,
            report: None,
            push_seconds: None,
            airlock_version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// An image `load --partial` left out, and why.
#[derive(serde::Serialize)]
struct LeftOut {
    reference: String,
    digest: oci::Digest,
    /// The check that refused it (`policy`, `identity`, …), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<verifier::Check>,
    reason: String,
}

fn left_out(verification: &verifier::verify::Verification) -> Vec<LeftOut> {
    verification
        .report
        .images
        .iter()
        .filter(|i| i.outcome == verifier::policy::eval::Outcome::Failed)
        .map(|i| LeftOut {
            reference: i.reference.clone(),
            digest: i.digest.clone(),
            check: i.failure.as_ref().and_then(verifier::policy::eval::Failure::check),
            reason: i.failure.as_ref().map_or_else(|| "refused".to_string(), |f| f.refusal.to_string()),
        })
        .collect()
}

/// `dir:PATH`, or `REGISTRY[/PREFIX]`; returns the target and the prefix.
fn target(args: &LoadArgs) -> anyhow::Result<(Target, String)> {
    if let Some(path) = args.to.strip_prefix("dir:") {
        let layout = oci::Layout::create(path).with_context(|| format!("--to {}", args.to))?;
        return Ok((Target::Layout(layout), String::new()));
    }
    let (host, prefix) = args.to.split_once('/').unwrap_or((&args.to, ""));
    let options = super::common::remote_options(&args.registry)?;
    let registry = oci::remote::Registry::new(host, &options).with_context(|| format!("--to {}", args.to))?;
    Ok((Target::Registry(registry), prefix.to_string()))
}

fn render_text(report: &LoadReport, elapsed: std::time::Duration) {
    for image in &report.images {
        let signed = if image.signatures.is_empty() { String::new() } else { format!(", {} signed", image.signatures.len()) };
        let evidence = if image.evidence.is_empty() { String::new() } else { format!(", {} evidence", image.evidence.len()) };
        println!("loaded {} -> {}{evidence}{signed}", image.source, image.target);
    }
    let t = &report.totals;
    println!(
        "{} images into {} in {:.1}s: {} blobs uploaded ({} bytes), {} present, {} mounted; {} manifests, {} tags, {} signatures added",
        report.images.len(),
        report.target,
        elapsed.as_secs_f64(),
        t.blobs_uploaded,
        t.bytes_uploaded,
        t.blobs_present,
        t.blobs_mounted,
        t.manifests_put,
        t.tags_set,
        t.signatures_added
    );
}
