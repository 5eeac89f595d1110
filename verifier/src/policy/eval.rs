//! Decide: one image's evidence against the policy, with policy-controller's
//! semantics. Every matching rule must pass; a rule passes when any of its
//! authorities passes; an authority passes when the signature and/or each
//! attestation it requires verifies under one of its candidates (identity
//! or key) with its requirements, CI claims and predicate constraints. An
//! image no rule matches is rejected. A failing `warn` rule is reported and
//! does not refuse the image.
//!
//! Verification itself is [`crate::check`]'s; this module only chooses what
//! to verify with and records what happened.

use super::gate::{Gate, GateFailure, Waiver};
use super::model::{AuthorityKind, AuthorityRule, Candidate, Mode, NameBinding, Policy, Rule, StaticAction, VerifyRule};
use crate::evidence::cosign::SimpleSigning;
use super::predicate::AttestationRule;
use crate::check::cosign::verify_layer_with_log_entry;
use crate::check::signature::{Artifact, Requirements, SignatureFacts, SignatureVerifier};
use crate::image::{EvidenceForm, EvidenceItem, ImageContent};
use crate::{Check, Verified};
use oci::Digest;

/// How an image fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every enforced rule passed.
    Passed,
    /// Some enforced rule failed, or no rule matched.
    Failed,
}

/// Why an image failed: the first reason, for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The verification step that refused, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
    /// The rule that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
    /// The policy gate, when this is one (break-glass may waive it);
    /// `None` for an integrity or cryptographic failure, which nothing waives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

/// One authority's result within a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityResult {
    /// The authority's name.
    pub authority: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (its first reason), or how it passed.
    pub detail: String,
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    /// The rule's name.
    pub rule: String,
    /// Enforce or warn.
    pub mode: Mode,
    /// Whether it passed.
    pub passed: bool,
    /// Each authority tried, in order (stops at the first that passes).
    pub authorities: Vec<AuthorityResult>,
    /// Whether the rule's SBOM requirement was met, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<bool>,
    /// What met it (a verified SBOM attestation, or the unsigned SBOMs the
    /// policy accepts, by source: `operator` for `--sbom`), or what was
    /// found that could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom_evidence: Option<String>,
}

/// Evidence accepted for an image: the archivable record of who signed or
/// attested what, logged where and when.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The rule and authority it satisfied.
    pub rule: String,
    /// The authority.
    pub authority: String,
    /// `signature`, or `attestation <name>`.
    pub role: String,
    /// Which evidence it was.
    pub evidence: String,
    /// What its verification established.
    pub facts: SignatureFacts,
}

/// The verdict on one image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageVerdict {
    /// The reference as requested.
    pub reference: String,
    /// What it resolved to.
    pub digest: Digest,
    /// Passed or failed.
    pub outcome: Outcome,
    /// The first reason it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Every matching rule.
    pub rules: Vec<RuleResult>,
    /// The evidence each passing authority accepted.
    pub accepted: Vec<Accepted>,
    /// Failed `warn` rules and other things to look at.
    pub warnings: Vec<String>,
    /// With `spec.vulnerabilities`: every finding of the image's SBOMs,
    /// and which ones refuse it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<crate::advisories::ImageVulnerabilities>,
    /// Every policy gate the image failed (break-glass may waive them when
    /// nothing else failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateFailure>,
    /// Set when the image failed something that is not a gate: integrity,
    /// cryptography, a signer the policy does not name. Never waived.
    #[serde(skip)]
    pub(crate) ungated: bool,
    /// When break-glass admitted the image: who, why, when, and what it waived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<Waiver>,
}

/// Evaluate one image against the policy.
pub fn evaluate(image: &ImageContent, policy: &Policy, verifier: &SignatureVerifier) -> ImageVerdict {
    let reference = image.entry.reference.clone();
    let mut verdict = ImageVerdict {
        reference: reference.clone(),
        digest: image.entry.digest.clone(),
        outcome: Outcome::Passed,
        failure: None,
        rules: Vec::new(),
        accepted: Vec::new(),
        warnings: Vec::new(),
        vulnerabilities: None,
        gates: Vec::new(),
        ungated: false,
        break_glass: None,
    };
    // Before any signature work: where the image comes from.
    if let Some(reason) = policy.registry_refusal(&reference) {
        return verdict.fail(Failure { check: Some(Check::Policy.name()), rule: None, reason, gate: Some(Gate::AllowedRegistries) });
    }
    let rules = match policy.rules_for(&reference) {
        Ok(rules) => rules,
        Err(e) => {
            let reason = format!("reference {reference:?} cannot be matched: {e}");
            return verdict.fail(Failure { check: None, rule: None, reason, gate: None });
        }
    };
    if rules.is_empty() {
        let reason = format!("no policy rule matches {reference}; images no rule matches are rejected");
        return verdict.fail(Failure { check: Some(Check::Policy.name()), rule: None, reason, gate: Some(Gate::UnmatchedImage) });
    }
    for rule in rules {
        let (result, accepted, failure) = evaluate_rule(image, rule, verifier);
        if result.passed {
            verdict.accepted.extend(accepted);
        } else if rule.mode == Mode::Warn {
            let reason = failure.map_or_else(String::new, |f| f.reason);
            verdict.warnings.push(format!("warn-mode policy {:?} failed: {reason}", rule.name));
        } else {
            let failure = failure.unwrap_or(Failure { check: Some(Check::Policy.name()), rule: None, reason: "failed".into(), gate: None });
            verdict = verdict.fail(Failure { rule: Some(rule.name.clone()), ..failure });
        }
        verdict.rules.push(result);
    }
    verdict
}

impl ImageVerdict {
    /// Record a failure: the first one is the verdict's `failure`; a gate
    /// joins `gates`; anything else makes the verdict unwaivable. The
    /// vulnerability gate calls this with [`Gate::Vulnerabilities`].
    pub fn fail(mut self, failure: Failure) -> Self {
        self.outcome = Outcome::Failed;
        match failure.gate {
            Some(gate) => self.gates.push(GateFailure { gate, rule: failure.rule.clone(), reason: failure.reason.clone() }),
            None => self.ungated = true,
        }
        self.failure.get_or_insert(failure);
        self
    }

    /// Whether every failure is a policy gate, so break-glass may waive it.
    pub fn only_gates_failed(&self) -> bool {
        self.outcome == Outcome::Failed && !self.ungated && !self.gates.is_empty()
    }
}

fn evaluate_rule(image: &ImageContent, rule: &Rule, verifier: &SignatureVerifier) -> (RuleResult, Vec<Accepted>, Option<Failure>) {
    let mut result = RuleResult { rule: rule.name.clone(), mode: rule.mode, passed: false, authorities: Vec::new(), sbom: None, sbom_evidence: None };
    let mut first_failure: Option<Failure> = None;
    let mut all_gated = true;
    let mut accepted = Vec::new();
    for authority in &rule.authorities {
        match evaluate_authority(image, rule, authority, verifier) {
            Ok(found) => {
                result.authorities.push(AuthorityResult { authority: authority.name.clone(), passed: true, detail: describe(&found) });
                accepted = found;
                result.passed = true;
                break;
            }
            Err(failure) => {
                result.authorities.push(AuthorityResult { authority: authority.name.clone(), passed: false, detail: failure.reason.clone() });
                all_gated &= failure.gate.is_some();
                first_failure.get_or_insert(failure);
            }
        }
    }
    if rule.require_sbom {
        let (met, evidence) = sbom_requirement(image, rule, verifier);
        result.sbom = Some(met.is_ok());
        result.sbom_evidence = Some(evidence);
        if let (true, Err(reason)) = (result.passed, met) {
            result.passed = false;
            first_failure = Some(Failure { check: Some(Check::Policy.name()), rule: None, reason, gate: Some(Gate::MissingSbom) });
        }
    }
    // A rule is a waivable gate only when every authority failed for want
    // of evidence: one that found evidence and refused it was integrity.
    if let (Some(failure), false) = (&mut first_failure, all_gated) {
        failure.gate = None;
    }
    (result, accepted, first_failure)
}

/// Whether `rule`'s SBOM requirement is met, and by what. An SBOM counts
/// when a signature binds it to the image: an SBOM attestation on the image
/// that verifies under one of the rule's authorities. The SBOMs the bundle
/// merely lists (an operator's `--sbom`, unsigned attachments) count only
/// where the rule says `allowUnsignedSbom`, and are reported by source.
fn sbom_requirement(image: &ImageContent, rule: &Rule, verifier: &SignatureVerifier) -> (Result<(), String>, String) {
    let is_sbom = |facts: &Verified<SignatureFacts>| match &facts.statement {
        Some(s) if crate::evidence::sbom::is_sbom_predicate(&s.predicate_type) => Ok(()),
        _ => Err("not an SBOM attestation".to_string()),
    };
    for authority in &rule.authorities {
        if let AuthorityKind::Verify(verify) = &authority.kind {
            if let Ok((item, _)) = find(image, &image.entry.digest, verify, (EvidenceItem::is_attestation, Gate::MissingSbom), "SBOM attestation", |_, f| is_sbom(f), verifier) {
                return (Ok(()), format!("SBOM attestation {} verified under authority {:?}", item.label(), authority.name));
            }
        }
    }
    let mut sources: Vec<&str> = image.entry.sboms.iter().map(|s| s.source.name()).collect();
    sources.sort_unstable();
    sources.dedup();
    let listed = if sources.is_empty() { "none".to_string() } else { format!("unsigned SBOM(s) from {}", sources.join(", ")) };
    if rule.allow_unsigned_sbom && !sources.is_empty() {
        return (Ok(()), format!("{listed}, accepted unsigned (allowUnsignedSbom)"));
    }
    let reason = format!(
        "policy {:?} requires an SBOM bound to the image by a signature its authorities verify (an SBOM attestation); the bundle carries {listed}{}",
        rule.name,
        if sources.is_empty() { "" } else { " (set allowUnsignedSbom: true to accept unsigned SBOMs)" }
    );
    (Err(reason), format!("{listed}, not signed"))
}

fn describe(accepted: &[Accepted]) -> String {
    if accepted.is_empty() {
        return "passed statically".into();
    }
    accepted.iter().map(|a| format!("{} {}", a.role, a.evidence)).collect::<Vec<_>>().join("; ")
}

fn evaluate_authority(image: &ImageContent, rule: &Rule, authority: &AuthorityRule, verifier: &SignatureVerifier) -> Result<Vec<Accepted>, Failure> {
    let verify = match &authority.kind {
        AuthorityKind::Static(StaticAction::Pass) => return Ok(Vec::new()),
        AuthorityKind::Static(StaticAction::Fail { message }) => {
            let reason = message.clone().unwrap_or_else(|| "the policy's static authority fails every image".into());
            return Err(Failure { check: Some(Check::Policy.name()), rule: None, reason, gate: None });
        }
        AuthorityKind::Verify(verify) => verify,
    };
    let record = |role: String, item: &EvidenceItem, facts: Verified<SignatureFacts>| Accepted {
        rule: rule.name.clone(),
        authority: authority.name.clone(),
        role,
        evidence: item.label(),
        facts: facts.into_inner(),
    };
    let mut accepted = Vec::new();
    if verify.evidence.requires_signature() {
        let named = |item: &EvidenceItem, facts: &Verified<SignatureFacts>| match &rule.name_binding {
            Some(binding) => check_name(binding, &image.entry.reference, item, facts),
            None => Ok(()),
        };
        if rule.require_platform_signatures && !image.entry.platforms.is_empty() {
            // Every carried child signed; the index's own signature is then
            // recorded when present but not needed.
            for platform in &image.entry.platforms {
                let (item, facts) = find(image, &platform.digest, verify, (EvidenceItem::is_signature, Gate::MissingSignature), "signature", named, verifier)
                    .map_err(|f| Failure { reason: format!("platform {} ({}): {}", platform.platform, platform.digest, f.reason), ..f })?;
                accepted.push(record(format!("signature of platform {}", platform.platform), item, facts));
            }
            if let Ok((item, facts)) = find(image, &image.entry.digest, verify, (EvidenceItem::is_signature, Gate::MissingSignature), "signature", named, verifier) {
                accepted.push(record("signature".into(), item, facts));
            }
        } else {
            let (item, facts) = find(image, &image.entry.digest, verify, (EvidenceItem::is_signature, Gate::MissingSignature), "signature", named, verifier)?;
            accepted.push(record("signature".into(), item, facts));
        }
    }
    for attestation in verify.evidence.attestations() {
        let (item, facts) = find(image, &image.entry.digest, verify, (EvidenceItem::is_attestation, Gate::MissingAttestation), &format!("{} attestation", attestation.name), |_, f| check_predicate(attestation, f), verifier)?;
        accepted.push(record(format!("attestation {}", attestation.name), item, facts));
    }
    Ok(accepted)
}

/// The policy's name binding: the verified signature must name the image's
/// repository (see [`NameBinding`]).
fn check_name(binding: &NameBinding, reference: &str, item: &EvidenceItem, facts: &Verified<SignatureFacts>) -> Result<(), String> {
    let expected = binding
        .expected_repository(reference)
        .ok_or_else(|| format!("the reference {reference:?} does not parse, so no signature can name it"))?;
    let signed: Vec<String> = match (&item.form, &facts.statement) {
        (EvidenceForm::CosignLayer { layer, .. }, _) => {
            SimpleSigning::parse(&layer.payload).map(|p| vec![p.docker_reference]).unwrap_or_default()
        }
        (EvidenceForm::SigstoreBundle(_), Some(statement)) => statement.subject.iter().map(|s| s.name.clone()).collect(),
        (EvidenceForm::SigstoreBundle(_), None) => Vec::new(),
    };
    if signed.iter().any(|name| NameBinding::names(name, &expected)) {
        return Ok(());
    }
    Err(match signed.is_empty() {
        true => format!("the policy binds names to signatures, and this signature names no repository (the image is carried as {reference}, which must be signed as {expected})"),
        false => format!("the policy binds names to signatures: signed as {}, but carried as {reference}, which must be signed as {expected}", signed.join(", ")),
    })
}

fn check_predicate(rule: &AttestationRule, facts: &Verified<SignatureFacts>) -> Result<(), String> {
    let outcome = rule.check(facts);
    if outcome.is_satisfied() {
        Ok(())
    } else {
        Err(format!("attestation {:?}: {outcome}", rule.name))
    }
}

/// The first evidence item of the wanted kind, attached to the image itself,
/// that verifies under one of the rule's candidates and passes `extra`.
fn find<'i>(
    image: &'i ImageContent,
    subject: &Digest,
    verify: &VerifyRule,
    (wanted, missing): (fn(&EvidenceItem) -> bool, Gate),
    what: &str,
    extra: impl Fn(&EvidenceItem, &Verified<SignatureFacts>) -> Result<(), String>,
    verifier: &SignatureVerifier,
) -> Result<(&'i EvidenceItem, Verified<SignatureFacts>), Failure> {
    let items: Vec<&EvidenceItem> = image.evidence.iter().filter(|i| &i.entry.subject == subject && wanted(i)).collect();
    if items.is_empty() {
        return Err(Failure { check: Some(Check::Policy.name()), rule: None, reason: format!("no {what} for {subject} in the bundle"), gate: Some(missing) });
    }
    let candidates = verify.candidates();
    let mut first_error: Option<Failure> = None;
    for item in &items {
        for candidate in &candidates {
            let outcome = verify_item(item, subject, candidate, &verify.requirements, verifier)
                .and_then(|facts| candidate.check_claims(&facts).map(|()| facts));
            match outcome {
                Ok(facts) => match extra(item, &facts) {
                    Ok(()) => return Ok((item, facts)),
                    Err(reason) => {
                        first_error.get_or_insert(Failure { check: Some(Check::Policy.name()), rule: None, reason: format!("{}: {reason}", item.label()), gate: None });
                    }
                },
                Err(e) => {
                    first_error.get_or_insert(Failure { check: e.check().map(Check::name), rule: None, reason: format!("{}: {e}", item.label()), gate: None });
                }
            }
        }
    }
    let mut failure = first_error.expect("at least one item and candidate were tried");
    if items.len() * candidates.len() > 1 {
        failure.reason = format!("no {what} verified ({} tried); first: {}", items.len() * candidates.len(), failure.reason);
    }
    Err(failure)
}

fn verify_item(
    item: &EvidenceItem,
    subject: &Digest,
    candidate: &Candidate<'_>,
    requirements: &Requirements,
    verifier: &SignatureVerifier,
) -> crate::Result<Verified<SignatureFacts>> {
    match &item.form {
        EvidenceForm::CosignLayer { layer, log_entry, .. } => {
            verify_layer_with_log_entry(verifier, layer, log_entry.as_deref(), subject, &candidate.authority, requirements)
                .map(|facts| facts.into_signature())
        }
        EvidenceForm::SigstoreBundle(bundle) => {
            verifier.verify(bundle, Artifact::Digest(subject.clone()), &candidate.authority, requirements)
        }
    }
}
