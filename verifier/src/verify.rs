//! `airlock verify`: every check in the documented order, a report of all
//! of them, and — only when everything passed — a [`VerifiedBundle`], the
//! one thing `load` accepts.
//!
//! Order: transfer signature → bundle manifest → content (every blob and
//! file) → trust root (the carried TUF snapshot from the pinned root, at the
//! reference time) → the carried advisories (required when the policy sets
//! `spec.vulnerabilities`) → each image against the policy, then the
//! vulnerability gate → the incremental chain.
//! A failing image is recorded, not an abort: every image is evaluated.

use crate::bundle::content::{self, CheckedContent, OpenOptions, Progress, TransferSignature};
use crate::bundle::manifest::{ImageEntry, TrustMaterial, IMAGES_FROM_SBOM_PATH};
use crate::check::signature::SignatureVerifier;
use keys::PublicKey;
use crate::image::read_image;
use crate::ledger::{ChainFacts, Ledger};
use crate::policy::eval::{self, ImageVerdict, Outcome};
use crate::advisories::Carried;
use crate::policy::{BreakGlass, Policy, VulnerabilityPolicy, Waiver};
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
    /// The site's pinned transfer key. Without one, a bundle is refused
    /// unless `allow_unsigned_bundle`: nothing else vouches for its names.
    pub transfer_key: Option<&'a PublicKey>,
    /// Accept a bundle no pinned transfer key vouches for, recorded in the
    /// report as a waived check (`--allow-unsigned-bundle`).
    pub allow_unsigned_bundle: bool,
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
    /// `--break-glass`: admit images that fail only policy gates, as far as
    /// the policy's `spec.breakGlass` lets it.
    pub break_glass: Option<&'a BreakGlass>,
}

/// Content whose every image passed verification against the policy. Only
/// [`verify_bundle`] makes one.
#[derive(Debug)]
pub struct VerifiedBundle {
    content: std::sync::Arc<CheckedContent>,
    images: Vec<ImageEntry>,
    waivers: Waivers,
}

/// The images break-glass admitted, by reference and digest.
pub type Waivers = std::sync::Arc<Vec<(String, oci::Digest, Waiver)>>;

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

    /// The break-glass record of an image break-glass admitted.
    pub fn waiver(&self, image: &ImageEntry) -> Option<&Waiver> {
        waiver_of(&self.waivers, image)
    }

    pub(crate) fn waivers(&self) -> Waivers {
        self.waivers.clone()
    }
}

pub(crate) fn waiver_of<'w>(waivers: &'w Waivers, image: &ImageEntry) -> Option<&'w Waiver> {
    waivers.iter().find(|(r, d, _)| r == &image.reference && d == &image.digest).map(|(_, _, w)| w)
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
    report.break_glass = options.break_glass.cloned();
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
            record_open_failure(&mut report, &e, options.transfer_key.is_some());
            return done(report);
        }
    };
    record_content(&mut report, &content);
    if !transfer_vouched(&mut report, &content.transfer_signature, options.allow_unsigned_bundle) {
        return done(report);
    }

    // 4: trust.
    // A policy's TrustRoot documents must describe the trust established here.
    let established = establish_trust(options.trust, &content, options.work_dir).and_then(|(trust, summary)| {
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

    // 5: the carried advisories (required by spec.vulnerabilities).
    let carried = match advisories_step(&mut report, &content, options.policy, options.now) {
        Ok(carried) => carried,
        Err(()) => return done(report),
    };

    // 6: every image against the policy and the vulnerability gate (and
    // break-glass, if asked).
    let judging = Judging { policy: options.policy, jobs: options.jobs, break_glass: options.break_glass, now: options.now };
    let failed = judge_images(&mut report, &content, &verifier, carried.as_ref(), &judging);

    // 7: the incremental chain.
    if !chain_step(&mut report, &content, options.state_dir) {
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
    let bundle = VerifiedBundle { content: content.into(), images: passed, waivers: waivers(&report) };
    if failed == 0 {
        report.verdict = Outcome::Passed;
        Verification { report, verified: Some(bundle), partial: None }
    } else {
        Verification { report, verified: None, partial: Some(bundle) }
    }
}

/// Steps 1-3 when opening the bundle failed: the step that failed, and
/// what the steps before it established.
fn record_open_failure(report: &mut Report, e: &Error, transfer_key_pinned: bool) {
    let check = e.check().filter(|c| [Check::TransferSignature, Check::BundleManifest].contains(c)).unwrap_or(Check::Content);
    if check != Check::TransferSignature {
        let (outcome, detail) = if transfer_key_pinned {
            (StepOutcome::Passed, "signed by the pinned transfer key")
        } else {
            (StepOutcome::Skipped, "no transfer key is pinned: not checked")
        };
        report.set(Check::TransferSignature, outcome, detail);
    }
    if check == Check::Content {
        report.set(Check::BundleManifest, StepOutcome::Passed, "the manifest parsed; its content did not verify");
    }
    report.set(check, StepOutcome::Failed, e.to_string());
}

/// Step 7: an incremental bundle's predecessor must be recorded in the
/// site's ledger. Whether the step passed.
fn chain_step(report: &mut Report, content: &CheckedContent, state_dir: Option<&Path>) -> bool {
    match check_chain(content, state_dir) {
        Ok(facts) => {
            let detail = match &facts {
                ChainFacts::Complete => "a complete bundle".to_string(),
                ChainFacts::Extends { bundle, inherited_blobs, .. } => format!("extends {bundle}, imported here; relies on {inherited_blobs} blob(s) the site holds"),
            };
            report.set(Check::IncrementalChain, StepOutcome::Passed, detail);
            report.bundle.chain = Some(facts);
            true
        }
        Err(e) => {
            report.set(Check::IncrementalChain, StepOutcome::Failed, e.to_string());
            false
        }
    }
}

/// What judging the images needs from [`VerifyOptions`].
struct Judging<'a> {
    policy: &'a Policy,
    jobs: usize,
    break_glass: Option<&'a BreakGlass>,
    now: jiff::Timestamp,
}

/// Every image against the policy, then the vulnerability gate, then
/// break-glass; the policy step and the verdicts go into `report`. Returns
/// how many images are refused.
fn judge_images(report: &mut Report, content: &CheckedContent, verifier: &SignatureVerifier, carried: Option<&Carried>, judging: &Judging<'_>) -> usize {
    let policy = judging.policy;
    let mut verdicts = evaluate_images(content, policy, verifier, judging.jobs);
    if let (Some(gate), Some(carried)) = (&policy.vulnerabilities, carried) {
        verdicts = gate_images(verdicts, content, &carried.snapshot.database, gate, judging.now);
    }
    if let Some(request) = judging.break_glass {
        break_glass(&mut verdicts, policy, request);
    }
    let failed = verdicts.iter().filter(|v| v.outcome == Outcome::Failed).count();
    let total = verdicts.len();
    report.set(
        Check::Policy,
        if failed == 0 { StepOutcome::Passed } else { StepOutcome::Failed },
        if failed == 0 { format!("{total} image(s) passed") } else { format!("{failed} of {total} image(s) refused") },
    );
    report.images = verdicts;
    failed
}

fn waivers(report: &Report) -> Waivers {
    std::sync::Arc::new(
        report.images.iter().filter_map(|v| v.break_glass.clone().map(|w| (v.reference.clone(), v.digest.clone(), w))).collect(),
    )
}

/// Admit each image that failed only policy gates the policy lets
/// break-glass waive; note why the others stay refused.
fn break_glass(verdicts: &mut [ImageVerdict], policy: &Policy, request: &BreakGlass) {
    for verdict in verdicts.iter_mut().filter(|v| v.outcome == Outcome::Failed) {
        if !verdict.only_gates_failed() {
            verdict.warnings.push("break-glass does not apply: the image failed an integrity or signature check".into());
            continue;
        }
        if let Some(reason) = verdict.gates.iter().find_map(|g| policy.break_glass.forbids(g)) {
            verdict.warnings.push(format!("break-glass refused: {reason}"));
            continue;
        }
        verdict.outcome = Outcome::Passed;
        verdict.break_glass = Some(Waiver { request: request.clone(), waived: verdict.gates.clone() });
    }
}

/// Read the carried advisories and record the step; `Err` when the bundle
/// is refused (a snapshot that does not read back, or none where the
/// policy's vulnerability gate needs one: fail closed).
fn advisories_step(report: &mut Report, content: &CheckedContent, policy: &Policy, now: jiff::Timestamp) -> Result<Option<Carried>, ()> {
    match crate::advisories::open(content, now) {
        Ok(Some(carried)) => {
            let s = &carried.summary;
            let detail = format!("{} record(s) from {} source(s), fetched {} ({} day(s) old)", s.records, s.sources.len(), s.fetched_at, s.age_days);
            report.set(Check::Advisories, StepOutcome::Passed, detail);
            report.advisories = Some(carried.summary.clone());
            Ok(Some(carried))
        }
        Ok(None) if policy.vulnerabilities.is_some() => {
            let reason = "the policy sets spec.vulnerabilities, but the bundle carries no advisories snapshot \
                          (make it with `airlock bundle create --advisories DIR`): nothing can vouch for its images";
            report.set(Check::Advisories, StepOutcome::Failed, reason);
            Err(())
        }
        Ok(None) => {
            report.set(Check::Advisories, StepOutcome::Skipped, "the bundle carries no advisories");
            Ok(None)
        }
        Err(e) => {
            report.set(Check::Advisories, StepOutcome::Failed, e.to_string());
            Err(())
        }
    }
}

/// The vulnerability gate on every image, as of `now`'s UTC date: its
/// findings recorded, and an image the gate refuses failed by the gate
/// [`crate::policy::Gate::Vulnerabilities`] (beside any earlier failure).
fn gate_images(verdicts: Vec<ImageVerdict>, content: &CheckedContent, database: &advisories::Database, gate: &VulnerabilityPolicy, now: jiff::Timestamp) -> Vec<ImageVerdict> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let images = &content.manifest.manifest.images;
    verdicts
        .into_iter()
        .map(|mut verdict| {
            let Some(entry) = images.iter().find(|i| i.reference == verdict.reference && i.digest == verdict.digest) else { return verdict };
            let assessed = crate::advisories::assess(content, entry, database, Some(gate), today);
            let refusal = assessed.refusal();
            verdict.vulnerabilities = Some(assessed);
            match refusal {
                Some(failure) => verdict.fail(failure),
                None => verdict,
            }
        })
        .collect()
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

/// Whether the bundle's names may be believed: only a transfer signature by
/// the pinned key vouches for the references and tags a bundle claims (the
/// evidence proves digests, not names). Anything less refuses, unless the
/// operator waived the check by name, which the report records.
fn transfer_vouched(report: &mut Report, signature: &TransferSignature, allow_unsigned: bool) -> bool {
    let why = match signature {
        TransferSignature::Verified { .. } => return true,
        TransferSignature::NotChecked => "the bundle is signed, but no transfer key is pinned (--transfer-key)",
        TransferSignature::Unsigned => "the bundle is not signed with a transfer key",
    };
    if allow_unsigned {
        report.set(
            Check::TransferSignature,
            StepOutcome::Waived,
            format!("{why}; waived by --allow-unsigned-bundle: nothing vouches for the bundle's image names and tags"),
        );
        true
    } else {
        report.set(
            Check::TransferSignature,
            StepOutcome::Failed,
            format!("{why}: only a transfer signature vouches for a bundle's image names and tags; pin the key with --transfer-key, or waive this check with --allow-unsigned-bundle"),
        );
        false
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
    report.bundle.images_from_sbom =
        manifest.manifest.files.iter().find(|f| f.path == IMAGES_FROM_SBOM_PATH).map(|f| f.sha256.clone());
}

fn trust_error(reason: impl std::fmt::Display) -> Error {
    Error::failed(Check::TrustRoot, reason.to_string())
}

fn summary(trust: &VerifiedTrustRoot, reference_time: Option<String>, tuf: Option<serde_json::Value>) -> TrustSummary {
    TrustSummary { source: trust.source().to_string(), trusted_root: trust.digest(), reference_time, tuf }
}

fn establish_trust(choice: TrustChoice, content: &CheckedContent, work_dir: &Path) -> crate::Result<(VerifiedTrustRoot, TrustSummary)> {
    match (choice, &content.manifest.manifest.trust) {
        (TrustChoice::SiteTrustedRoot(root), _) => {
            let s = summary(&root, None, None);
            Ok((root, s))
        }
        (TrustChoice::Tuf { pinned, time, options }, TrustMaterial::Tuf { path, .. }) => {
            // trust-roots reads by path: give it a private, checked copy.
            let dir = content.private_dir(path, work_dir)?;
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
        failure: Some(crate::policy::refusal::Refusal::Unreadable { check: error.check(), reason: error.to_string() }.into()),
        rules: Vec::new(),
        accepted: Vec::new(),
        warnings: Vec::new(),
        gates: Vec::new(),
        ungated: true,
        break_glass: None,
        vulnerabilities: None,
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
