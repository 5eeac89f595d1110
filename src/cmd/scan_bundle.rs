//! `airlock scan BUNDLE`: every SBOM a bundle carries against the
//! advisories it carries, after the bundle is verified — with `--policy`
//! exactly as `verify` does (findings then carry `spec.vulnerabilities`'
//! decisions), without it its transfer signature and every digest.

use super::verify::{verify, Verified};
use crate::cli::ScanArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::Context;
use std::collections::BTreeMap;
use verifier::advisories::{AdvisoriesSummary, ImageVulnerabilities};
use verifier::bundle::content::{self, CheckedContent, NoProgress, OpenOptions};
use verifier::policy::eval::Outcome as Verdict;
use verifier::policy::{Policy, VulnerabilityPolicy};

/// Media type of `airlock scan BUNDLE --output json`.
const MEDIA_TYPE: &str = "application/vnd.airlock.scan.bundle.report.v1+json";

/// The bundle's checked content, and how far it was verified.
enum Checked {
    /// `verify` ran with the policy; every bundle-level step passed.
    Policy(Box<Verified>, Box<Policy>),
    /// Only the transfer signature (with --transfer-key) and every digest.
    Content { content: Box<CheckedContent>, _work: tempfile::TempDir },
}

impl Checked {
    fn content(&self) -> &CheckedContent {
        match self {
            Self::Policy(v, _) => {
                let v = &v.verification;
                v.verified.as_ref().or(v.partial.as_ref()).expect("checked in open").content()
            }
            Self::Content { content, .. } => content,
        }
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let bundle = args.bundle.as_deref().context("give a BUNDLE, or --sbom FILE with --advisories DIR")?;
    let checked = match open(bundle, &args)? {
        Ok(checked) => checked,
        Err(outcome) => return Ok(outcome),
    };
    let content = checked.content();
    let now = super::common::now();
    let carried = match verifier::advisories::open(content, now) {
        Ok(Some(carried)) => carried,
        Ok(None) => {
            eprintln!("airlock: scan: {} carries no advisories snapshot (make it with `airlock bundle create --advisories DIR`): nothing to scan against", bundle.display());
            return Ok(Outcome::Refused);
        }
        Err(e) => {
            eprintln!("airlock: scan: {}: {e}", bundle.display());
            return Ok(Outcome::for_error(&e));
        }
    };
    let (gate, verdicts) = match &checked {
        Checked::Policy(v, policy) => (policy.vulnerabilities.as_ref(), Some(&v.verification.report.images)),
        Checked::Content { .. } => (None, None),
    };
    let output = ScanOutput::new(bundle, content, &carried, gate, verdicts, now);
    match args.output {
        Format::Json => print_json(&output)?,
        Format::Text => render_text(&output),
    }
    let refused = output.images.iter().any(|i| i.outcome == Some(Verdict::Failed));
    Ok(if refused { Outcome::Refused } else { Outcome::Success })
}

/// Verify the bundle as far as the flags say; `Err(outcome)` when it is
/// refused (the report printed on stderr).
fn open(bundle: &std::path::Path, args: &ScanArgs) -> anyhow::Result<Result<Checked, Outcome>> {
    if let Some(policy_path) = &args.verify.policy {
        let verified = verify(bundle, &args.verify)?;
        let v = &verified.verification;
        if v.verified.is_none() && v.partial.is_none() {
            eprint!("{}", v.report.to_text());
            eprintln!("airlock: scan: {} did not verify: nothing was scanned", bundle.display());
            return Ok(Err(Outcome::Refused));
        }
        let policy = Policy::load(policy_path).with_context(|| format!("policy {}", policy_path.display()))?;
        return Ok(Ok(Checked::Policy(Box::new(verified), Box::new(policy))));
    }
    let transfer_key = args.verify.transfer_key.as_deref().map(super::common::public_key).transpose()?;
    let work = tempfile::Builder::new().prefix("airlock-work-").tempdir()?;
    let options = OpenOptions { transfer_key: transfer_key.as_ref(), jobs: super::common::jobs(args.verify.jobs), work_dir: &work.path().join("bundle") };
    match content::open(bundle, &options, &NoProgress) {
        Ok(content) => Ok(Ok(Checked::Content { content: Box::new(content), _work: work })),
        Err(e) => {
            eprintln!("airlock: scan: {}: {e}", bundle.display());
            Ok(Err(Outcome::for_error(&e)))
        }
    }
}

/// The `--output json` document.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScanOutput<'a> {
    media_type: &'static str,
    airlock_version: &'static str,
    bundle: BundleSummary,
    advisories: &'a AdvisoriesSummary,
    /// Findings per rating, over all images.
    summary: BTreeMap<advisories::Rating, usize>,
    images: Vec<ImageScan<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleSummary {
    input: String,
    id: oci::Digest,
    /// `policy` (verified as `verify` does) or `content` (transfer
    /// signature and digests only).
    verified: &'static str,
    /// What the transfer-signature check found: without `--policy` an
    /// unsigned bundle is still scanned, and this says so.
    transfer_signature: verifier::bundle::content::TransferSignature,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageScan<'a> {
    reference: &'a str,
    digest: &'a oci::Digest,
    /// With --policy: the image's verdict (the vulnerability gate's included).
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a verifier::policy::eval::Failure>,
    #[serde(flatten)]
    vulnerabilities: ImageVulnerabilities,
}

impl<'a> ScanOutput<'a> {
    fn new(
        bundle: &std::path::Path,
        content: &'a CheckedContent,
        carried: &'a verifier::advisories::Carried,
        gate: Option<&VulnerabilityPolicy>,
        verdicts: Option<&'a Vec<verifier::policy::eval::ImageVerdict>>,
        now: jiff::Timestamp,
    ) -> Self {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let database = &carried.snapshot.database;
        let images: Vec<ImageScan<'a>> = content
            .manifest
            .manifest
            .images
            .iter()
            .map(|entry| {
                let verdict = verdicts.and_then(|vs| vs.iter().find(|v| v.reference == entry.reference && v.digest == entry.digest));
                ImageScan {
                    reference: &entry.reference,
                    digest: &entry.digest,
                    outcome: verdict.map(|v| v.outcome),
                    failure: verdict.and_then(|v| v.failure.as_ref()),
                    vulnerabilities: verifier::advisories::assess(content, entry, database, gate, today),
                }
            })
            .collect();
        let mut summary = BTreeMap::new();
        for f in images.iter().flat_map(|i| &i.vulnerabilities.findings) {
            *summary.entry(f.finding.severity.rating).or_default() += 1;
        }
        Self {
            media_type: MEDIA_TYPE,
            airlock_version: env!("CARGO_PKG_VERSION"),
            bundle: BundleSummary {
                input: bundle.display().to_string(),
                id: content.manifest.id.clone(),
                verified: if verdicts.is_some() { "policy" } else { "content" },
                transfer_signature: content.transfer_signature.clone(),
            },
            advisories: &carried.summary,
            summary,
            images,
        }
    }
}

fn render_text(output: &ScanOutput<'_>) {
    use verifier::policy::vulnerabilities::Decision;
    let a = output.advisories;
    println!(
        "Scanned bundle {} ({}; verified: {}) against {} advisories fetched {} ({} day(s) old)",
        output.bundle.input, output.bundle.id, output.bundle.verified, a.records, a.fetched_at, a.age_days
    );
    for image in &output.images {
        let v = &image.vulnerabilities;
        let verdict = match image.outcome {
            Some(Verdict::Passed) => " [passed]",
            Some(Verdict::Failed) => " [REFUSED]",
            None => "",
        };
        println!("{} @ {}{verdict}: {} SBOM(s), {} package(s), {} finding(s)", image.reference, image.digest, v.sboms.len(), v.scanned, v.findings.len());
        for s in v.sboms.iter().filter(|s| s.error.is_some()) {
            println!("  SBOM {} unreadable: {}", s.file, s.error.as_deref().unwrap_or_default());
        }
        for f in &v.findings {
            let finding = &f.finding;
            let score = finding.severity.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
            let aliases = if finding.aliases.is_empty() { String::new() } else { format!(" ({})", finding.aliases.join(", ")) };
            let fix = if finding.fixed.is_empty() { "no fix known".to_string() } else { format!("fixed in {}", finding.fixed.join(", ")) };
            let gate = match &f.gate {
                Some(Decision::Denied) => "  DENIED".to_string(),
                Some(Decision::AllowExpired { allow }) => format!("  DENIED: allow entry expired {}", allow.until),
                Some(Decision::Allowed { allow }) => format!("  allowed until {}: {}", allow.until, allow.reason),
                Some(Decision::Reported) | None => String::new(),
            };
            println!("  {:<8}{score:<5} {}@{} {}{aliases}  {fix}{gate}", finding.severity.rating.name().to_uppercase(), finding.package, finding.version, finding.ids.join(", "));
        }
        if let Some(failure) = image.failure {
            println!("  refused: {}", failure.refusal);
        }
    }
    let counts: Vec<String> = output.summary.iter().rev().map(|(rating, n)| format!("{n} {}", rating.name())).collect();
    println!("{} finding(s){}", output.summary.values().sum::<usize>(), if counts.is_empty() { String::new() } else { format!(": {}", counts.join(", ")) });
}
