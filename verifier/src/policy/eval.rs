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
use super::refusal::Refusal;
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

/// Why an image failed: the first refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The rule that failed, when one did.
    pub rule: Option<String>,
    /// Why, as facts.
    pub refusal: Refusal,
    /// The policy gate, when this is one (break-glass may waive it);
    /// `None` for an integrity or cryptographic failure, which nothing waives.
    pub gate: Option<Gate>,
}

impl From<Refusal> for Failure {
    /// The refusal with its own gate, under no rule yet.
    fn from(refusal: Refusal) -> Self {
        Self { rule: None, gate: refusal.gate(), refusal }
    }
}

impl Failure {
    /// The verification step that refused, when one did: the refusal's.
    pub fn check(&self) -> Option<Check> {
        self.refusal.check()
    }
}

/// In the report a failure carries its refusal twice: `reason`, the
/// sentence people read, and `facts`, the same refusal as fields.
impl serde::Serialize for Failure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            check: Option<Check>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rule: Option<&'a str>,
            reason: String,
            facts: &'a Refusal,
            #[serde(skip_serializing_if = "Option::is_none")]
            gate: Option<Gate>,
        }
        Shape {
            check: self.check(),
            rule: self.rule.as_deref(),
            reason: self.refusal.to_string(),
            facts: &self.refusal,
            gate: self.gate,
        }
        .serialize(serializer)
    }
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
    if let Some(refusal) = policy.registry_refusal(&reference) {
        return verdict.fail(refusal.into());
    }
    let rules = match policy.rules_for(&reference) {
        Ok(rules) => rules,
        Err(e) => {
            return verdict.fail(Refusal::UnmatchableReference { reference, problem: e.to_string() }.into());
        }
    };
    if rules.is_empty() {
        return verdict.fail(Refusal::NoRuleMatches { reference }.into());
    }
    for rule in rules {
        let (result, accepted, failure) = evaluate_rule(image, rule, verifier);
        if result.passed {
            verdict.accepted.extend(accepted);
        } else if rule.mode == Mode::Warn {
            let reason = failure.map_or_else(String::new, |f| f.refusal.to_string());
            verdict.warnings.push(format!("warn-mode policy {:?} failed: {reason}", rule.name));
        } else {
            let failure = failure.unwrap_or_else(|| Refusal::NoAuthorities { rule: rule.name.clone() }.into());
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
            Some(gate) => self.gates.push(GateFailure { gate, rule: failure.rule.clone(), reason: failure.refusal.to_string() }),
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
                result.authorities.push(AuthorityResult { authority: authority.name.clone(), passed: false, detail: failure.refusal.to_string() });
                all_gated &= failure.gate.is_some();
                first_failure.get_or_insert(failure);
            }
        }
    }
    if rule.require_sbom {
        let (met, evidence) = sbom_requirement(image, rule, verifier);
        result.sbom = Some(met.is_ok());
        result.sbom_evidence = Some(evidence);
        if let (true, Err(refusal)) = (result.passed, met) {
            result.passed = false;
            first_failure = Some(refusal.into());
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
fn sbom_requirement(image: &ImageContent, rule: &Rule, verifier: &SignatureVerifier) -> (Result<(), Refusal>, String) {
    let is_sbom = |facts: &Verified<SignatureFacts>| match &facts.statement {
        Some(s) if crate::evidence::sbom::is_sbom_predicate(&s.predicate_type) => Ok(()),
        other => Err(Refusal::NotAnSbom { predicate_type: other.as_ref().map(|s| s.predicate_type.clone()) }),
    };
    for authority in &rule.authorities {
        if let AuthorityKind::Verify(verify) = &authority.kind {
            if let Ok((item, _)) = find(image, &image.entry.digest, verify, (EvidenceItem::is_attestation, Gate::MissingSbom), "SBOM attestation", |_, f| is_sbom(f), verifier) {
                return (Ok(()), format!("SBOM attestation {} verified under authority {:?}", item.label(), authority.name));
            }
        }
    }
    let mut sources: Vec<String> = image.entry.sboms.iter().map(|s| s.source.name().to_string()).collect();
    sources.sort_unstable();
    sources.dedup();
    let listed = super::refusal::unsigned_list(&sources);
    if rule.allow_unsigned_sbom && !sources.is_empty() {
        return (Ok(()), format!("{listed}, accepted unsigned (allowUnsignedSbom)"));
    }
    (Err(Refusal::SbomNotBound { rule: rule.name.clone(), unsigned_sources: sources }), format!("{listed}, not signed"))
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
            return Err(Refusal::StaticFail { message: message.clone() }.into());
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
                    .map_err(|f| Failure {
                        refusal: Refusal::Platform { platform: platform.platform.to_string(), digest: platform.digest.clone(), cause: Box::new(f.refusal) },
                        ..f
                    })?;
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
fn check_name(binding: &NameBinding, reference: &str, item: &EvidenceItem, facts: &Verified<SignatureFacts>) -> Result<(), Refusal> {
    let not_bound = |expected: Option<String>, signed: Vec<String>| Refusal::NameNotBound { reference: reference.to_string(), expected, signed };
    let expected = binding.expected_repository(reference).ok_or_else(|| not_bound(None, Vec::new()))?;
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
    Err(not_bound(Some(expected), signed))
}

fn check_predicate(rule: &AttestationRule, facts: &Verified<SignatureFacts>) -> Result<(), Refusal> {
    let outcome = rule.check(facts);
    if outcome.is_satisfied() {
        Ok(())
    } else {
        Err(Refusal::PredicateNotMet { attestation: rule.name.clone(), outcome: outcome.to_string() })
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
    extra: impl Fn(&EvidenceItem, &Verified<SignatureFacts>) -> Result<(), Refusal>,
    verifier: &SignatureVerifier,
) -> Result<(&'i EvidenceItem, Verified<SignatureFacts>), Failure> {
    let items: Vec<&EvidenceItem> = image.evidence.iter().filter(|i| &i.entry.subject == subject && wanted(i)).collect();
    if items.is_empty() {
        return Err(Refusal::NoEvidence { wanted: what.to_string(), subject: subject.clone(), gate: missing }.into());
    }
    let candidates = verify.candidates();
    let mut first_error: Option<Refusal> = None;
    for item in &items {
        for candidate in &candidates {
            let outcome = verify_item(item, subject, candidate, &verify.requirements, verifier)
                .and_then(|facts| candidate.check_claims(&facts).map(|()| facts));
            let refused = match outcome {
                Ok(facts) => match extra(item, &facts) {
                    Ok(()) => return Ok((item, facts)),
                    Err(refusal) => refusal,
                },
                Err(e) => Refusal::verification(&e),
            };
            first_error.get_or_insert_with(|| Refusal::Evidence { evidence: item.label(), cause: Box::new(refused) });
        }
    }
    let first = first_error.unwrap_or(Refusal::NoEvidence { wanted: what.to_string(), subject: subject.clone(), gate: missing });
    let tried = items.len() * candidates.len();
    let refusal = if tried > 1 { Refusal::NoneVerified { wanted: what.to_string(), tried, first: Box::new(first) } } else { first };
    Err(refusal.into())
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
