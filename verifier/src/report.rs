//! The verification report: an archivable record of what `airlock verify`
//! checked, in order, and what it found. One value, two renderings (JSON
//! for tools and archives, text for people). The JSON schema is documented
//! in docs/report.md.

use crate::bundle::content::{ContentStats, TransferSignature};
use crate::ledger::ChainFacts;
use crate::policy::eval::{ImageVerdict, Outcome};
use crate::Check;
use oci::Digest;
use std::fmt::Write as _;

/// Media type (and schema version) of the report.
pub const MEDIA_TYPE: &str = "application/vnd.airlock.verify.report.v1+json";

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// It ran and passed.
    Passed,
    /// It ran and refused.
    Failed,
    /// It did not apply.
    Skipped,
    /// It would have refused, and the operator waived it by name (e.g. an
    /// unsigned bundle with `--allow-unsigned-bundle`).
    Waived,
    /// An earlier step failed, so it did not run.
    NotReached,
}

/// One step of the verification, in the documented order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The check's name.
    pub check: &'static str,
    /// How it ended.
    pub outcome: StepOutcome,
    /// What it found, or why it failed.
    pub detail: String,
}

/// The bundle as identified.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSummary {
    /// The path given.
    pub input: String,
    /// The bundle id (sha256 of its manifest), once read.
    pub id: Option<Digest>,
    /// When it was made.
    pub created: Option<jiff::Timestamp>,
    /// The airlock that made it.
    pub tool: Option<String>,
    /// The transfer-signature outcome.
    pub transfer_signature: Option<TransferSignature>,
    /// What the content check covered.
    pub content: Option<ContentStats>,
    /// The incremental chain, once checked.
    pub chain: Option<ChainFacts>,
    /// sha256 of the release SBOM that named the images
    /// (`airlock/images-from-sbom`), when the bundle carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_from_sbom: Option<Digest>,
}

/// The policy applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySummary {
    /// Its description (usually its path).
    pub description: String,
    /// sha256 of its bytes.
    pub sha256: Digest,
    /// Files it read (keys), with their sha256.
    pub included_files: Vec<IncludedFile>,
    /// Relaxations and other things the policy itself warns about.
    pub warnings: Vec<String>,
}

/// A file the policy read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IncludedFile {
    /// Its path.
    pub path: String,
    /// Its sha256.
    pub sha256: Digest,
}

/// The trust material used.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustSummary {
    /// Where it came from, in words.
    pub source: String,
    /// sha256 of the trusted_root.json used.
    pub trusted_root: String,
    /// The reference time TUF expiry was evaluated at, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_time: Option<String>,
    /// The TUF snapshot's report, when a TUF chain was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuf: Option<serde_json::Value>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`MEDIA_TYPE`].
    pub media_type: &'static str,
    /// The airlock that produced it.
    pub airlock_version: String,
    /// When (the local clock, as read by the caller).
    pub generated_at: jiff::Timestamp,
    /// `passed` only when every step and every image passed.
    pub verdict: Outcome,
    /// The bundle.
    pub bundle: BundleSummary,
    /// The policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySummary>,
    /// The trust material.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustSummary>,
    /// The advisories snapshot carried, and its age.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisories: Option<crate::advisories::AdvisoriesSummary>,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Every image, with each rule's outcome and the first reason it failed.
    pub images: Vec<ImageVerdict>,
    /// `--break-glass`: the operator's request (reason, operator, time);
    /// each image it admitted carries its own record of the gates waived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<crate::policy::BreakGlass>,
}

/// The steps, in the order `airlock verify` runs them.
pub const STEP_ORDER: [Check; 7] = [
    Check::TransferSignature,
    Check::BundleManifest,
    Check::Content,
    Check::TrustRoot,
    Check::Advisories,
    Check::Policy,
    Check::IncrementalChain,
];

impl Report {
    /// A report with every step not yet reached.
    pub fn new(airlock_version: &str, generated_at: jiff::Timestamp, input: &str) -> Self {
        Self {
            media_type: MEDIA_TYPE,
            airlock_version: airlock_version.into(),
            generated_at,
            verdict: Outcome::Failed,
            bundle: BundleSummary { input: input.into(), ..BundleSummary::default() },
            policy: None,
            trust: None,
            advisories: None,
            break_glass: None,
            steps: STEP_ORDER
                .iter()
                .map(|c| Step { check: c.name(), outcome: StepOutcome::NotReached, detail: String::new() })
                .collect(),
            images: Vec::new(),
        }
    }

    /// Record a step's outcome.
    pub fn set(&mut self, check: Check, outcome: StepOutcome, detail: impl Into<String>) {
        if let Some(step) = self.steps.iter_mut().find(|s| s.check == check.name()) {
            step.outcome = outcome;
            step.detail = detail.into();
        }
    }

    /// The first failed step, if any.
    pub fn first_failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.outcome == StepOutcome::Failed)
    }

    /// The text summary for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let verdict = match self.verdict {
            Outcome::Passed => "VERIFIED",
            Outcome::Failed => "REFUSED",
        };
        let _ = writeln!(out, "{verdict}: {}", self.bundle.input);
        if let Some(id) = &self.bundle.id {
            let _ = writeln!(out, "  bundle:  {id}{}", self.bundle.created.map(|c| format!(" (created {c})")).unwrap_or_default());
        }
        if let Some(policy) = &self.policy {
            let _ = writeln!(out, "  policy:  {} ({})", policy.description, policy.sha256);
        }
        if let Some(request) = &self.break_glass {
            let _ = writeln!(out, "  BREAK-GLASS by {} at {}: {}", request.operator(), request.at(), request.reason());
        }
        if let Some(trust) = &self.trust {
            let _ = writeln!(out, "  trust:   {}", trust.source);
            if let Some(time) = &trust.reference_time {
                let _ = writeln!(out, "           reference time {time}");
            }
        }
        if let Some(a) = &self.advisories {
            let _ = writeln!(out, "  advisories: {} record(s), fetched {} ({} day(s) old)", a.records, a.fetched_at, a.age_days);
        }
        for step in &self.steps {
            let mark = match step.outcome {
                StepOutcome::Passed => "ok  ",
                StepOutcome::Failed => "FAIL",
                StepOutcome::Skipped => "skip",
                StepOutcome::Waived => "WAIVED",
                StepOutcome::NotReached => "  - ",
            };
            let _ = writeln!(out, "  [{mark}] {:<20} {}", step.check, step.detail);
        }
        for image in &self.images {
            let mark = match (image.outcome, &image.break_glass) {
                (Outcome::Passed, Some(_)) => "BG  ",
                (Outcome::Passed, None) => "ok  ",
                (Outcome::Failed, _) => "FAIL",
            };
            let _ = writeln!(out, "  [{mark}] {} @ {}", image.reference, image.digest);
            if let Some(waiver) = &image.break_glass {
                let _ = writeln!(out, "           admitted by break-glass, waiving: {}", waiver.gate_names());
            }
            for accepted in &image.accepted {
                let _ = writeln!(out, "           {} by {}: {}", accepted.role, signer(&accepted.facts), accepted.evidence);
            }
            if let Some(failure) = &image.failure {
                let _ = writeln!(out, "           {}{}", failure.check().map(|c| format!("{c}: ")).unwrap_or_default(), failure.refusal);
            }
            for warning in &image.warnings {
                let _ = writeln!(out, "           warning: {warning}");
            }
            if let Some(v) = &image.vulnerabilities {
                vulnerabilities_text(&mut out, v);
            }
        }
        if let Some(policy) = &self.policy {
            for warning in &policy.warnings {
                let _ = writeln!(out, "  policy warning: {warning}");
            }
        }
        out
    }
}

fn vulnerabilities_text(out: &mut String, v: &crate::advisories::ImageVulnerabilities) {
    use crate::policy::vulnerabilities::Decision;
    let _ = writeln!(out, "           vulnerabilities: {} finding(s) in {} package(s), {} gated", v.findings.len(), v.scanned, v.gated.len());
    for f in &v.findings {
        let mark = match &f.gate {
            Some(Decision::Denied) => "DENIED ".to_string(),
            Some(Decision::AllowExpired { allow }) => format!("DENIED (allow expired {}) ", allow.until),
            Some(Decision::Allowed { allow }) => format!("allowed until {} ", allow.until),
            Some(Decision::Reported) | None => String::new(),
        };
        let finding = &f.finding;
        let score = finding.severity.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
        let _ = writeln!(out, "             {mark}{}{score} {} {} {}", finding.severity.rating.name(), finding.ids.join(","), finding.purl, if finding.fixed.is_empty() { "no fix".to_string() } else { format!("fixed in {}", finding.fixed.join(", ")) });
    }
}

fn signer(facts: &crate::check::signature::SignatureFacts) -> String {
    match &facts.signer {
        crate::check::signature::Signer::Certificate(c) => format!("{} ({})", c.identity.value, c.issuer.as_deref().unwrap_or("no issuer")),
        crate::check::signature::Signer::Key { fingerprint } => format!("key {fingerprint}"),
    }
}
