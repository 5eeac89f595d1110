//! `airlock scan --sbom FILE --advisories DIR`: one SBOM's packages against
//! an advisories snapshot, offline. `airlock scan BUNDLE` is
//! [`super::scan_bundle`].

use crate::cli::ScanArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use advisories::{Limits, Rating, ScanReport, Snapshot, SCAN_REPORT_MEDIA_TYPE};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use verifier::evidence::sbom::{Sbom, MAX_SBOM_BYTES};

pub fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let (Some(sbom_path), Some(advisories_path)) = (&args.sbom, &args.advisories) else {
        return super::scan_bundle::run(args);
    };
    let sbom = match read_sbom(sbom_path) {
        Ok(sbom) => sbom,
        Err(outcome) => return Ok(outcome),
    };
    let snapshot = match advisories::open_snapshot(advisories_path, &Limits::default()) {
        Ok(snapshot) => snapshot,
        Err(error) => {
            eprintln!("airlock: scan: advisories {}: {}", advisories_path.display(), oci::error_chain(&error));
            return Ok(Outcome::for_advisories_error(&error));
        }
    };
    let packages = sbom.packages.iter().map(|p| advisories::PackageRef { name: &p.name, version: p.version.as_deref(), purl: p.purl.as_deref() });
    let report = advisories::scan(&snapshot.database, packages);
    let output = ScanOutput::new(sbom_path, advisories_path, &sbom, &snapshot, &report);
    match args.output {
        Format::Json => print_json(&output)?,
        Format::Text => render_text(&output),
    }
    Ok(Outcome::Success)
}

fn read_sbom(path: &Path) -> Result<Sbom, Outcome> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(MAX_SBOM_BYTES as u64 + 1).read_to_end(&mut bytes));
    if let Err(error) = read {
        eprintln!("airlock: scan: cannot read {}: {error}", path.display());
        return Err(Outcome::CouldNotRun);
    }
    Sbom::parse(&bytes).map_err(|error| {
        eprintln!("airlock: scan: {}: {}", path.display(), oci::error_chain(&error));
        Outcome::for_error(&error)
    })
}

/// The `--output json` document.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScanOutput<'a> {
    media_type: &'static str,
    airlock_version: &'static str,
    sbom: SbomSummary<'a>,
    advisories: AdvisoriesSummary<'a>,
    /// Findings per rating.
    summary: BTreeMap<Rating, usize>,
    #[serde(flatten)]
    report: &'a ScanReport,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SbomSummary<'a> {
    path: &'a Path,
    #[serde(flatten)]
    kind: &'a verifier::evidence::sbom::SbomKind,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AdvisoriesSummary<'a> {
    path: &'a Path,
    fetched_at: jiff::Timestamp,
    sources: Vec<&'a str>,
    /// Records matched against (withdrawn and duplicate ones left out).
    records: usize,
    withdrawn: usize,
}

impl<'a> ScanOutput<'a> {
    fn new(sbom_path: &'a Path, advisories_path: &'a Path, sbom: &'a Sbom, snapshot: &'a Snapshot, report: &'a ScanReport) -> Self {
        Self {
            media_type: SCAN_REPORT_MEDIA_TYPE,
            airlock_version: env!("CARGO_PKG_VERSION"),
            sbom: SbomSummary { path: sbom_path, kind: &sbom.kind },
            advisories: AdvisoriesSummary {
                path: advisories_path,
                fetched_at: snapshot.index.fetched_at,
                sources: snapshot.index.sources.iter().map(|s| s.url.as_str()).collect(),
                records: snapshot.database.len(),
                withdrawn: snapshot.database.withdrawn(),
            },
            summary: report.counts(),
            report,
        }
    }
}

fn render_text(output: &ScanOutput<'_>) {
    let report = output.report;
    println!(
        "Scanned {} ({} {}): {} packages, {} scanned against {} advisories fetched {}",
        output.sbom.path.display(),
        output.sbom.kind.format,
        output.sbom.kind.spec_version,
        report.packages,
        report.scanned,
        output.advisories.records,
        output.advisories.fetched_at,
    );
    for f in &report.findings {
        let score = f.severity.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
        let aliases = if f.aliases.is_empty() { String::new() } else { format!(" ({})", f.aliases.join(", ")) };
        let fix = if f.fixed.is_empty() { "no fix known".to_string() } else { format!("fixed in {}", f.fixed.join(", ")) };
        println!("  {:<8}{score:<5} {} {}  {}{aliases}  {fix}", f.severity.rating.name().to_uppercase(), f.purl, f.ecosystem, f.ids.join(", "));
    }
    let counts: Vec<String> = output.summary.iter().rev().map(|(rating, n)| format!("{n} {}", rating.name())).collect();
    println!("{} findings{}", report.findings.len(), if counts.is_empty() { String::new() } else { format!(": {}", counts.join(", ")) });
    if !report.not_evaluated.is_empty() {
        println!("{} (package, advisory) pairs not evaluated:", report.not_evaluated.len());
        for n in &report.not_evaluated {
            println!("  {} {}: {}", n.purl, n.id, n.reasons.join("; "));
        }
    }
    if !report.unscanned.is_empty() {
        let mut why: BTreeMap<String, usize> = BTreeMap::new();
        for u in &report.unscanned {
            *why.entry(u.why.to_string()).or_default() += 1;
        }
        println!("{} packages not scanned:", report.unscanned.len());
        for (reason, n) in why {
            println!("  {n} × {reason}");
        }
    }
}
