//! The advisories a bundle carries (`bundle create --advisories`), read
//! back after the content check, and each image's SBOM packages matched
//! against them; with the policy's `spec.vulnerabilities`, the gate's
//! decision on every finding. Scanning is the `advisories` crate's, the
//! decision [`crate::policy::vulnerabilities`]'s; this module joins them
//! to a bundle's images.

use crate::bundle::content::CheckedContent;
use crate::bundle::manifest::ImageEntry;
use crate::evidence::sbom::{Sbom, MAX_SBOM_BYTES};
use crate::policy::eval::Failure;
use crate::policy::refusal::Refusal;
use crate::policy::vulnerabilities::{Decision, VulnerabilityPolicy};
use crate::{Check, Error, Result};
use advisories::{Database, Finding, PackageRef, Snapshot};
use oci::Digest;

/// The snapshot a bundle carries, read back and checked.
#[derive(Debug)]
pub struct Carried {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// What the report says of it.
    pub summary: AdvisoriesSummary,
}

/// The carried snapshot, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvisoriesSummary {
    /// Its directory in the bundle.
    pub path: String,
    /// When it was fetched, by the connected side's clock.
    pub fetched_at: jiff::Timestamp,
    /// Its age at verification time, in whole days (negative when the
    /// fetch time is after the local clock).
    pub age_days: i64,
    /// Where it was fetched from.
    pub sources: Vec<String>,
    /// Records matched against (withdrawn and duplicate ones left out).
    pub records: usize,
    /// Withdrawn records left out.
    pub withdrawn: usize,
}

/// Read the snapshot checked content carries, if any: every file against
/// the snapshot's index, every record parsed.
pub fn open(content: &CheckedContent, now: jiff::Timestamp) -> Result<Option<Carried>> {
    let Some(carried) = &content.manifest.manifest.advisories else { return Ok(None) };
    let dir = content.root().join(&carried.path);
    let snapshot = advisories::open_snapshot(&dir, &advisories::Limits::default())
        .map_err(|e| Error::failed(Check::Advisories, format!("{}: {}", carried.path, oci::error_chain(&e))))?;
    let fetched_at = snapshot.index.fetched_at;
    let summary = AdvisoriesSummary {
        path: carried.path.clone(),
        fetched_at,
        age_days: now.duration_since(fetched_at).as_secs() / 86_400,
        sources: snapshot.index.sources.iter().map(|s| s.url.clone()).collect(),
        records: snapshot.database.len(),
        withdrawn: snapshot.database.withdrawn(),
    };
    Ok(Some(Carried { snapshot, summary }))
}

/// One SBOM of an image, as scanned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomScanned {
    /// Its name in `sboms.tar.gz`.
    pub file: String,
    /// What it describes (the image or one of its platforms).
    pub subject: Digest,
    /// Packages it lists.
    pub packages: usize,
    /// Why it could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A finding and, with a gate, the gate's decision on it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The gate's decision (absent without `spec.vulnerabilities`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Decision>,
}

/// An image's SBOMs against the carried advisories.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageVulnerabilities {
    /// Every SBOM of the image.
    pub sboms: Vec<SbomScanned>,
    /// Packages listed, over all its SBOMs.
    pub packages: usize,
    /// Distinct package URLs matched.
    pub scanned: usize,
    /// Every finding.
    pub findings: Vec<ImageFinding>,
    /// The first id of each finding the gate refuses the image for.
    pub gated: Vec<String>,
    /// (package, advisory) pairs that could not be evaluated.
    pub not_evaluated: usize,
    /// Packages that could not be matched (no purl, unknown ecosystem).
    pub unscanned: usize,
}

impl ImageVulnerabilities {
    /// Why the gate refuses the image, if it does: it has no SBOM, an SBOM
    /// could not be read (nothing can vouch for what it contains), or
    /// findings the deny rule catches.
    pub fn refusal(&self) -> Option<Failure> {
        let refusal = if self.sboms.is_empty() {
            Refusal::NoSbomToScan
        } else if let Some(bad) = self.sboms.iter().find(|s| s.error.is_some()) {
            Refusal::SbomUnreadable { file: bad.file.clone(), problem: bad.error.clone().unwrap_or_default() }
        } else if !self.gated.is_empty() {
            let findings = self.findings.iter().filter(|f| f.gate.as_ref().is_some_and(Decision::gates)).map(describe).collect();
            Refusal::VulnerabilitiesDenied { findings }
        } else {
            return None;
        };
        Some(refusal.into())
    }
}

fn describe(f: &ImageFinding) -> String {
    let finding = &f.finding;
    let aliases = if finding.aliases.is_empty() { String::new() } else { format!(" ({})", finding.aliases.join(", ")) };
    let score = finding.severity.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
    let expired = match &f.gate {
        Some(Decision::AllowExpired { allow }) => format!(", allow entry expired {}", allow.until),
        _ => String::new(),
    };
    format!(
        "{}{aliases} {}{score} in {} {}, fixed in {}{expired}",
        finding.ids.join(", "),
        finding.severity.rating.name(),
        finding.purl,
        finding.version,
        if finding.fixed.is_empty() { "no known version".to_string() } else { finding.fixed.join(", ") },
    )
}

/// Scan every SBOM of `entry` against `database`; with `gate`, decide each
/// finding as of `today`.
pub fn assess(
    content: &CheckedContent,
    entry: &ImageEntry,
    database: &Database,
    gate: Option<&VulnerabilityPolicy>,
    today: jiff::civil::Date,
) -> ImageVulnerabilities {
    let mut sboms = Vec::new();
    let mut parsed = Vec::new();
    for sbom in &entry.sboms {
        let read = content.read_blob(&sbom.blob, MAX_SBOM_BYTES as u64).and_then(|bytes| Sbom::parse(&bytes));
        let (packages, error) = match read {
            Ok(doc) => {
                let n = doc.packages.len();
                parsed.push(doc);
                (n, None)
            }
            Err(e) => (0, Some(e.to_string())),
        };
        sboms.push(SbomScanned { file: sbom.file.clone(), subject: sbom.subject.clone(), packages, error });
    }
    let packages = parsed
        .iter()
        .flat_map(|s| &s.packages)
        .map(|p| PackageRef { name: &p.name, version: p.version.as_deref(), purl: p.purl.as_deref() });
    let report = advisories::scan(database, packages);
    let findings: Vec<ImageFinding> = report
        .findings
        .into_iter()
        .map(|finding| ImageFinding { gate: gate.map(|g| g.decide(&finding, today)), finding })
        .collect();
    let gated = findings.iter().filter(|f| f.gate.as_ref().is_some_and(Decision::gates)).map(|f| f.finding.ids[0].clone()).collect();
    ImageVulnerabilities {
        sboms,
        packages: report.packages,
        scanned: report.scanned,
        findings,
        gated,
        not_evaluated: report.not_evaluated.len(),
        unscanned: report.unscanned.len(),
    }
}
