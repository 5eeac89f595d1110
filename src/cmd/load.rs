//! `airlock load`: a bundle into the site's registry.

use crate::cli::LoadArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::Context;
use std::sync::Arc;
use verifier::load::{self, BundleStore, LoadOptions, LoadReport, RepositoryMapping, Resign, Target};

pub fn run(args: LoadArgs) -> anyhow::Result<Outcome> {
    // Typed inputs first: nothing is opened or pushed with a bad flag.
    let (target, prefix) = target(&args)?;
    let mut mapping = RepositoryMapping::new(&prefix)?;
    for rule in &args.repo_maps {
        mapping = mapping.with_rule_text(rule)?;
    }
    let key = args.resign_key.as_deref().map(super::common::signing_key).transpose()?;
    let work = super::common::WorkDir::new(args.work_dir.as_deref())?;

    // The bundle's content, checked. (The lead's full verification goes
    // here, in the same process, before anything is pushed.)
    let content = match super::common::open_bundle(&args.bundle, args.transfer_key.as_deref(), &work, args.jobs) {
        Ok(content) => Arc::new(content),
        Err(e) => {
            eprintln!("airlock: load: {} refused: {e}", args.bundle.display());
            return Ok(Outcome::for_error(&e));
        }
    };
    let store = BundleStore::new(content.clone());
    let images: Vec<_> = content.manifest.manifest.images.iter().collect();
    let options = LoadOptions {
        mapping,
        jobs: args.jobs.max(1),
        resign: key.as_ref().map(|key| Resign { key, identity: args.resign_identity.as_deref() }),
        ..LoadOptions::default()
    };
    let started = std::time::Instant::now();
    let result = super::common::runtime()?.block_on(load::load(&store, &images, &target, &options, &oci::copy::NoProgress));
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("airlock: load: {e}");
            return Ok(Outcome::for_error(&e));
        }
    };
    let elapsed = started.elapsed();
    if let Some(path) = &args.mapping {
        std::fs::write(path, report.mapping_lines()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(state) = &args.state {
        let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now());
        verifier::ledger::Ledger::new(state)
            .record(&content.manifest.id, &content.manifest.manifest, now)
            .context("recording the import in the ledger")?;
    }
    match args.output {
        Format::Json => print_json(&serde_json::json!({
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
