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
    if args.output == Format::Text {
        eprint!("{}", verification.report.to_text());
    }
    let (bundle, partial) = match (&verification.verified, &verification.partial) {
        (Some(bundle), _) => (bundle, false),
        (None, Some(passed)) if args.partial && !passed.images().is_empty() => (passed, true),
        _ => {
            eprintln!("airlock: load: {} did not verify: nothing was pushed", args.bundle.display());
            if args.output == Format::Json {
                print_json(&serde_json::json!({ "loaded": false, "verification": verification.report }))?;
            }
            return Ok(Outcome::Refused);
        }
    };
    if partial {
        eprintln!(
            "airlock: load: PARTIAL: loading the {} of {} image(s) that passed; the others were refused",
            bundle.images().len(),
            verification.report.images.len()
        );
    }
    let store = BundleStore::verified(bundle);
    let options = LoadOptions {
        mapping,
        jobs: super::common::jobs(args.verify.jobs),
        resign: key.as_ref().map(|key| Resign { key, identity: args.resign_identity.as_deref() }),
        ..LoadOptions::default()
    };
    let started = std::time::Instant::now();
    let result = super::common::runtime()?.block_on(load::load(&store, &target, &options, &oci::copy::NoProgress));
    let report = match result {
        Ok(report) => report,
        // The bundle verified; what fails now is the target, the mapping or
        // the key: the command could not run.
        Err(e) => {
            eprintln!("airlock: load: {e}");
            return Ok(Outcome::CouldNotRun);
        }
    };
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
        Format::Json => print_json(&serde_json::json!({
            "loaded": true,
            "partial": partial,
            "verification": verification.report,
            "report": report,
            "pushSeconds": elapsed.as_secs_f64(),
            "airlockVersion": env!("CARGO_PKG_VERSION"),
        }))?,
        Format::Text => render_text(&report, elapsed),
    }
    Ok(Outcome::Success)
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
