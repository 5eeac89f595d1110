//! `airlock advisories fetch`: OSV data into a snapshot directory.

use crate::cli::AdvisoriesFetchArgs;
use crate::exit::Outcome;
#[cfg(feature = "connected")]
use crate::output::{print_json, Format};

/// `advisories fetch`, in a build with the `connected` feature.
#[cfg(feature = "connected")]
pub fn fetch(args: AdvisoriesFetchArgs) -> anyhow::Result<Outcome> {
    use advisories::fetch::{fetch, FetchOptions};
    let options = FetchOptions::new(args.sources.clone(), &args.out, super::common::now());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = match runtime.block_on(fetch(&options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("airlock: advisories fetch: {}", oci::error_chain(&error));
            return Ok(Outcome::for_advisories_error(&error));
        }
    };
    match args.output {
        Format::Json => print_json(&serde_json::json!({
            "mediaType": "application/vnd.airlock.advisories-fetch.report.v1+json",
            "fetched": true,
            "report": report,
            "airlockVersion": env!("CARGO_PKG_VERSION"),
        }))?,
        Format::Text => {
            println!("Fetched OSV advisories into {}", report.out.display());
            for (source, how) in report.index.sources.iter().zip(&report.resolved) {
                let per: Vec<String> = source.ecosystems.iter().map(|(e, n)| format!("{e} {n}")).collect();
                println!("  {} ({how}): {} records, {} withdrawn [{}]", source.url, source.records, source.withdrawn, per.join(", "));
            }
            let bytes: u64 = report.index.files.iter().map(|f| f.size).sum();
            println!("  {} files, {bytes} bytes, fetched at {}", report.index.files.len(), report.index.fetched_at);
        }
    }
    Ok(Outcome::Success)
}

/// `advisories fetch` in a disconnected build: there is no network code.
#[cfg(not(feature = "connected"))]
pub fn fetch(args: AdvisoriesFetchArgs) -> anyhow::Result<Outcome> {
    let _ = args;
    eprintln!(
        "airlock: advisories fetch: this airlock was built without the `connected` feature, so it \
         contains no network code; fetch with a connected build and carry the snapshot across"
    );
    Ok(Outcome::CouldNotRun)
}
