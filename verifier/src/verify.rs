//! `airlock verify`: every check in the documented order, a report of all
//! of them, and — only when everything passed — a [`VerifiedBundle`], the
//! one thing `load` accepts.
//!
//! Order: transfer signature → bundle manifest → content (every blob and
//! file) → trust root (the carried TUF snapshot from the pinned root, at the
//! reference time) → each image against the policy → the incremental chain.
//! A failing image is recorded, not an abort: every image is evaluated.

use crate::bundle::content::{self, CheckedContent, OpenOptions, Progress, TransferSignature};
use crate::bundle::manifest::{ImageEntry, TrustMaterial};
use crate::check::signature::SignatureVerifier;
use keys::PublicKey;
use crate::image::read_image;
use crate::ledger::{ChainFacts, Ledger};
use crate::policy::eval::{self, ImageVerdict, Outcome};
use crate::policy::Policy;
use crate::report::{IncludedFile, PolicySummary, Report, StepOutcome, TrustSummary};
use crate::{Check, Error};
use std::path::Path;
use trust_roots::{PinnedRoot, TimePolicy, VerifiedTrustRoot};

/// Where trust comes from.
pub enum TrustChoice {
    /// The site's own trusted_root.json (`--trusted-root`), used whatever
    /// the bundle carries.
    SiteTrustedRoot(VerifiedTrustRoot),
    /// The bundle's TUF snapshot, verified from this pinned root with this
    /// time policy. A bundle carrying a bare trusted_root.json is accepted
    /// only when a pinned transfer key authenticated it.
    Tuf {
        /// The site's pinned TUF root.
        pinned: PinnedRoot,
        /// How to choose the reference time for expiry.
        time: TimePolicy,
        /// Options (the site's TUF state for rollback floors, limits).
        options: trust_roots::VerifyOptions,
    },
}

/// Everything `verify` needs.
pub struct VerifyOptions<'a> {
    /// The bundle: a directory, an archive, or a volume.
    pub input: &'a Path,
    /// The import policy.
    pub policy: &'a Policy,
    /// The site's pinned transfer key, if it requires signed bundles.
    pub transfer_key: Option<&'a PublicKey>,
    /// Where trust comes from.
    pub trust: TrustChoice,
    /// Parallel jobs (hashing, images).
    pub jobs: usize,
    /// airlock's private work directory for archives (empty or absent).
    pub work_dir: &'a Path,
    /// The site's state directory (import ledger), for incremental bundles.
    pub state_dir: Option<&'a Path>,
    /// The local clock, read by the caller.
    pub now: jiff::Timestamp,
    /// The airlock version, for the report.
    pub airlock_version: &'a str,
}

/// Content whose every image passed verification against the policy. Only
/// [`verify_bundle`] makes one.
#[derive(Debug)]
pub struct VerifiedBundle {
    content: std::sync::Arc<CheckedContent>,
    images: Vec<ImageEntry>,
}

impl VerifiedBundle {
    /// The checked content.
    pub fn content(&self) -> &CheckedContent {
        &self.content
    }

    /// The content, shared (for stores that serve it from several tasks).
    pub(crate) fn shared_content(&self) -> std::sync::Arc<CheckedContent> {
        self.content.clone()
    }

    /// The images that passed (all of the bundle's, unless partial).
    pub fn images(&self) -> &[ImageEntry] {
        &self.images
    }
}

/// The outcome of `verify`.
#[derive(Debug)]
pub struct Verification {
    /// The report, always.
    pub report: Report,
    /// The bundle, when every step and every image passed.
    pub verified: Option<VerifiedBundle>,
    /// When every step passed but some images failed: the images that
    /// passed, for an explicit `--partial` load.
    pub partial: Option<VerifiedBundle>,
}

/// Run every check and report.
pub fn verify_bundle(options: VerifyOptions<'_>, progress: &dyn Progress) -> Verification {
    let mut report = Report::new(options.airlock_version, options.now, &options.input.display().to_string());
    report.policy = Some(policy_summary(options.policy));
    let done = |report: Report| Verification { report, verified: None, partial: None };

    // 1-3: transfer signature, manifest, content.
    let opened = content::open(
        options.input,
        &OpenOptions { transfer_key: options.transfer_key, jobs: options.jobs, work_dir: options.work_dir },
        progress,
    );
    let content = match opened {
        Ok(content) => content,
        Err(e) => {
            let check = e.check().filter(|c| [Check::TransferSignature, Check::BundleManifest].contains(c)).unwrap_or(Check::Content);
            if check != Check::TransferSignature {
                let (outcome, detail) = match options.transfer_key {
                    Some(_) => (StepOutcome::Passed, "signed by the pinned transfer key"),
                    None => (StepOutcome::Skipped, "no transfer key is pinned: not checked"),
                };
                report.set(Check::TransferSignature, outcome, detail);
            }
            if check == Check::Content {
                report.set(Check::BundleManifest, StepOutcome::Passed, "the manifest parsed; its content did not verify");
            }
            report.set(check, StepOutcome::Failed, e.to_string());
            return done(report);
        }
    };
    record_content(&mut report, &content);

    // 4: trust.
    // A policy's TrustRoot documents must describe the trust established here.
    let established = establish_trust(options.trust, &content).and_then(|(trust, summary)| {
        options.policy.check_trust_roots(trust.trusted_root()).map_err(trust_error)?;
        Ok((trust, summary))
    });
    let trust = match established {
        Ok((trust, summary)) => {
            report.set(Check::TrustRoot, StepOutcome::Passed, summary.source.clone());
            report.trust = Some(summary);
            trust
        }
        Err(e) => {
            report.set(Check::TrustRoot, StepOutcome::Failed, e.to_string());
            return done(report);
        }
    };
    let verifier = match SignatureVerifier::new(&trust) {
        Ok(v) => v,
        Err(e) => {
            report.set(Check::TrustRoot, StepOutcome::Failed, e.to_string());
            return done(report);
        }
    };

    // 5: every image against the policy.
    let verdicts = evaluate_images(&content, options.policy, &verifier, options.jobs);
    let failed = verdicts.iter().filter(|v| v.outcome == Outcome::Failed).count();
    let total = verdicts.len();
    report.set(
        Check::Policy,
        if failed == 0 { StepOutcome::Passed } else { StepOutcome::Failed },
        if failed == 0 { format!("{total} image(s) passed") } else { format!("{failed} of {total} image(s) refused") },
    );
    report.images = verdicts;

    // 6: the incremental chain.
    let chain = check_chain(&content, options.state_dir);
    match &chain {
        Ok(facts) => {
            let detail = match facts {
                ChainFacts::Complete => "a complete bundle".to_string(),
                ChainFacts::Extends { bundle, inherited_blobs, .. } => format!("extends {bundle}, imported here; relies on {inherited_blobs} blob(s) the site holds"),
            };
            report.set(Check::IncrementalChain, StepOutcome::Passed, detail);
            report.bundle.chain = Some(facts.clone());
        }
        Err(e) => report.set(Check::IncrementalChain, StepOutcome::Failed, e.to_string()),
    }
    if chain.is_err() {
        return done(report);
    }

    let passed: Vec<ImageEntry> = content
        .manifest
        .manifest
        .images
        .iter()
        .filter(|i| report.images.iter().any(|v| v.digest == i.digest && v.reference == i.reference && v.outcome == Outcome::Passed))
        .cloned()
        .collect();
    if failed == 0 {
        report.verdict = Outcome::Passed;
        Verification { report, verified: Some(VerifiedBundle { content: content.into(), images: passed }), partial: None }
    } else {
        Verification { report, verified: None, partial: Some(VerifiedBundle { content: content.into(), images: passed }) }
    }
}

fn policy_summary(policy: &Policy) -> PolicySummary {
    PolicySummary {
        description: policy.source.description.clone(),
        sha256: policy.source.sha256.clone(),
        included_files: policy
            .source
            .included_files
            .iter()
            .map(|f| IncludedFile { path: f.path.display().to_string(), sha256: f.sha256.clone() })
            .collect(),
        warnings: policy.warnings.iter().map(ToString::to_string).collect(),
    }
}

fn record_content(report: &mut Report, content: &CheckedContent) {
    let (outcome, detail) = match &content.transfer_signature {
        TransferSignature::Verified { key } => (StepOutcome::Passed, format!("signed by the pinned transfer key {key}")),
        TransferSignature::NotChecked => (StepOutcome::Skipped, "signed, but no transfer key is pinned: not checked".to_string()),
        TransferSignature::Unsigned => (StepOutcome::Skipped, "not signed, and no transfer key is pinned".to_string()),
    };
    report.set(Check::TransferSignature, outcome, detail);
    let manifest = &content.manifest;
    report.set(Check::BundleManifest, StepOutcome::Passed, format!("bundle {} with {} image(s)", manifest.id, manifest.manifest.images.len()));
    let stats = content.stats;
    report.set(Check::Content, StepOutcome::Passed, format!("{} blob(s) and {} file(s), {} bytes, all match", stats.blobs, stats.files, stats.bytes));
    report.bundle.id = Some(manifest.id.clone());
    report.bundle.created = Some(manifest.manifest.created);
    report.bundle.tool = Some(format!("{} {}", manifest.manifest.tool.name, manifest.manifest.tool.version));
    report.bundle.transfer_signature = Some(content.transfer_signature.clone());
    report.bundle.content = Some(stats);
}

fn trust_error(reason: impl std::fmt::Display) -> Error {
    Error::failed(Check::TrustRoot, reason.to_string())
}

fn summary(trust: &VerifiedTrustRoot, reference_time: Option<String>, tuf: Option<serde_json::Value>) -> TrustSummary {
    TrustSummary { source: trust.source().to_string(), trusted_root: trust.digest(), reference_time, tuf }
}

fn establish_trust(choice: TrustChoice, content: &CheckedContent) -> crate::Result<(VerifiedTrustRoot, TrustSummary)> {
    match (choice, &content.manifest.manifest.trust) {
        (TrustChoice::SiteTrustedRoot(root), _) => {
            let s = summary(&root, None, None);
            Ok((root, s))
        }
        (TrustChoice::Tuf { pinned, time, options }, TrustMaterial::Tuf { path, .. }) => {
            let dir = content.root().join(path);
            let (root, tuf) = trust_roots::verify_snapshot_with(&dir, &pinned, time, &options).map_err(trust_error)?;
            let reference = tuf.reference_time_explained.clone();
            let value = serde_json::to_value(&tuf).ok();
            let s = summary(&root, Some(reference), value);
            Ok((root, s))
        }
        (TrustChoice::Tuf { .. }, TrustMaterial::TrustedRoot { path }) => {
            if !matches!(content.transfer_signature, TransferSignature::Verified { .. }) {
                return Err(trust_error(format!(
                    "the bundle carries a bare {path} (no TUF chain), which nothing this site pinned authenticates; \
                     verify with --trusted-root (the site's own copy) or require a transfer signature with --transfer-key"
                )));
            }
            let bytes = content.read_file(path, 4 * 1024 * 1024)?;
            let root = VerifiedTrustRoot::from_transfer_signed_bytes(&bytes, path).map_err(trust_error)?;
            let s = summary(&root, None, None);
            Ok((root, s))
        }
    }
}

/// Every image of checked content against the policy, `jobs` at a time, in
/// the manifest's order. `verify_bundle` uses it for the site's gate; the
/// bundler uses it to self-check a bundle before it is final.
pub fn evaluate_images(content: &CheckedContent, policy: &Policy, verifier: &SignatureVerifier, jobs: usize) -> Vec<ImageVerdict> {
    let images = &content.manifest.manifest.images;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(images.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, images.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(entry) = images.get(i) else { break };
                let verdict = match read_image(content, entry) {
                    Ok(image) => eval::evaluate(&image, policy, verifier),
                    Err(e) => unreadable(entry, &e),
                };
                results.lock().expect("lock").push((i, verdict));
            });
        }
    });
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, v)| v).collect()
}

fn unreadable(entry: &ImageEntry, error: &Error) -> ImageVerdict {
    ImageVerdict {
        reference: entry.reference.clone(),
        digest: entry.digest.clone(),
        outcome: Outcome::Failed,
        failure: Some(eval::Failure { check: error.check().map(Check::name), rule: None, reason: error.to_string() }),
        rules: Vec::new(),
        accepted: Vec::new(),
        warnings: Vec::new(),
    }
}

fn check_chain(content: &CheckedContent, state_dir: Option<&Path>) -> crate::Result<ChainFacts> {
    let manifest = &content.manifest.manifest;
    match state_dir {
        Some(dir) => Ledger::new(dir).check_chain(manifest),
        None if manifest.extends.is_none() && manifest.blobs.iter().all(|b| b.carried) => Ok(ChainFacts::Complete),
        None => Err(Error::failed(
            Check::IncrementalChain,
            "this is an incremental bundle; give --state (the site's import ledger) to check the chain",
        )),
    }
}
