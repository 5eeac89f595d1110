//! Why the policy refused an image, as facts: which reference, rule,
//! evidence, platform or finding, and what was expected and found. The
//! report carries both the facts (`failure.facts`) and their text
//! (`failure.reason`), so a person reads the sentence and a program the
//! fields, and the two cannot disagree.

use super::gate::Gate;
use crate::Check;
use oci::Digest;

/// One reason the policy refused an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum Refusal {
    /// `spec.allowedRegistries` admits no registry the image is from.
    #[error("{reference} is not from an allowed registry (spec.allowedRegistries: {})", allowed.join(", "))]
    RegistryNotAllowed {
        /// The image as requested.
        reference: String,
        /// The patterns the policy allows.
        allowed: Vec<String>,
    },
    /// The reference cannot be matched against the policy's globs.
    #[error("reference {reference:?} cannot be matched: {problem}")]
    UnmatchableReference {
        /// The image as requested.
        reference: String,
        /// Why it does not parse.
        problem: String,
    },
    /// No rule of the policy matches the image.
    #[error("no policy rule matches {reference}; images no rule matches are rejected")]
    NoRuleMatches {
        /// The image as requested.
        reference: String,
    },
    /// A rule with no authority: nothing can satisfy it. (The policy
    /// parsers refuse such rules; this keeps evaluation total.)
    #[error("policy {rule:?} has no authority, so nothing satisfies it")]
    NoAuthorities {
        /// The rule.
        rule: String,
    },
    /// A `static: {action: fail}` authority.
    #[error("{}", message.as_deref().unwrap_or("the policy's static authority fails every image"))]
    StaticFail {
        /// The policy's message, when it gives one.
        message: Option<String>,
    },
    /// The bundle carries no evidence of the kind a rule requires.
    #[error("no {wanted} for {subject} in the bundle")]
    NoEvidence {
        /// `signature`, `NAME attestation` or `SBOM attestation`.
        wanted: String,
        /// The manifest the evidence must be attached to.
        subject: Digest,
        /// The gate this absence is.
        gate: Gate,
    },
    /// One piece of evidence was refused.
    #[error("{evidence}: {cause}")]
    Evidence {
        /// Which evidence (manifest and layer, or bundle).
        evidence: String,
        /// Why.
        cause: Box<Refusal>,
    },
    /// A verification step refused the evidence.
    #[error("{reason}")]
    Verification {
        /// The step, when one is named.
        check: Option<Check>,
        /// The verifier's message, with its facts.
        reason: String,
    },
    /// The verified signature names another repository than the one the
    /// image is carried as (`nameBinding`).
    #[error("{}", name_not_bound(reference, expected.as_deref(), signed))]
    NameNotBound {
        /// The image as carried.
        reference: String,
        /// The repository the signature must name; `None` when the
        /// reference does not parse.
        expected: Option<String>,
        /// The names the signature carries.
        signed: Vec<String>,
    },
    /// A verified attestation's predicate does not satisfy the rule.
    #[error("attestation {attestation:?}: {outcome}")]
    PredicateNotMet {
        /// The rule's attestation name.
        attestation: String,
        /// What the predicate check found.
        outcome: String,
    },
    /// A verified attestation that was wanted as an SBOM is not one.
    #[error("not an SBOM attestation (predicate type {})", predicate_type.as_deref().unwrap_or("none"))]
    NotAnSbom {
        /// The attestation's predicate type, when it has a statement.
        predicate_type: Option<String>,
    },
    /// Evidence of the wanted kind exists, but none verified.
    #[error("no {wanted} verified ({tried} tried); first: {first}")]
    NoneVerified {
        /// `signature`, `NAME attestation`.
        wanted: String,
        /// Evidence items times candidates tried.
        tried: usize,
        /// The first refusal.
        first: Box<Refusal>,
    },
    /// A platform child of the image failed (`requirePlatformSignatures`).
    #[error("platform {platform} ({digest}): {cause}")]
    Platform {
        /// `os/arch[/variant]`.
        platform: String,
        /// The child.
        digest: Digest,
        /// Why.
        cause: Box<Refusal>,
    },
    /// A rule requires an SBOM bound by a signature, and none is.
    #[error(
        "policy {rule:?} requires an SBOM bound to the image by a signature its authorities verify (an SBOM attestation); the bundle carries {}{}",
        unsigned_list(unsigned_sources),
        if unsigned_sources.is_empty() { "" } else { " (set allowUnsignedSbom: true to accept unsigned SBOMs)" }
    )]
    SbomNotBound {
        /// The rule.
        rule: String,
        /// Where the unsigned SBOMs the bundle lists come from.
        unsigned_sources: Vec<String>,
    },
    /// `spec.vulnerabilities` has no SBOM to scan.
    #[error("the bundle carries no SBOM for this image: spec.vulnerabilities cannot tell what it contains")]
    NoSbomToScan,
    /// `spec.vulnerabilities` cannot read an SBOM.
    #[error("SBOM {file} cannot be read, so spec.vulnerabilities cannot scan it: {problem}")]
    SbomUnreadable {
        /// The SBOM's path in the bundle.
        file: String,
        /// Why.
        problem: String,
    },
    /// `spec.vulnerabilities` denies findings.
    #[error("spec.vulnerabilities denies {} finding(s): {}", findings.len(), findings.join("; "))]
    VulnerabilitiesDenied {
        /// Each denied finding: id, aliases, score, package.
        findings: Vec<String>,
    },
    /// The image's evidence could not be read at all.
    #[error("{reason}")]
    Unreadable {
        /// The step that refused it, when one did.
        check: Option<Check>,
        /// The verifier's message.
        reason: String,
    },
}

impl Refusal {
    /// A verifier error, with its check.
    pub fn verification(error: &crate::Error) -> Self {
        Self::Verification { check: error.check(), reason: error.to_string() }
    }

    /// The verification step this refusal belongs to: the verifier's own
    /// for a refused signature, `vulnerabilities` for the CVE gate,
    /// `policy` for the rest; none for a reference that cannot be matched.
    pub fn check(&self) -> Option<Check> {
        match self {
            Self::Verification { check, .. } | Self::Unreadable { check, .. } => *check,
            Self::Evidence { cause, .. } | Self::Platform { cause, .. } => cause.check(),
            Self::NoneVerified { first, .. } => first.check(),
            Self::NoSbomToScan | Self::SbomUnreadable { .. } | Self::VulnerabilitiesDenied { .. } => {
                Some(Check::Vulnerabilities)
            }
            Self::UnmatchableReference { .. } => None,
            _ => Some(Check::Policy),
        }
    }

    /// The policy gate this refusal is, when break-glass may waive it.
    /// Evidence that was found and refused is never a gate.
    pub fn gate(&self) -> Option<Gate> {
        match self {
            Self::RegistryNotAllowed { .. } => Some(Gate::AllowedRegistries),
            Self::NoRuleMatches { .. } => Some(Gate::UnmatchedImage),
            Self::NoEvidence { gate, .. } => Some(*gate),
            Self::Platform { cause, .. } => cause.gate(),
            Self::SbomNotBound { .. } => Some(Gate::MissingSbom),
            Self::NoSbomToScan | Self::SbomUnreadable { .. } | Self::VulnerabilitiesDenied { .. } => {
                Some(Gate::Vulnerabilities)
            }
            _ => None,
        }
    }
}

fn name_not_bound(reference: &str, expected: Option<&str>, signed: &[String]) -> String {
    match (expected, signed.is_empty()) {
        (None, _) => format!("the reference {reference:?} does not parse, so no signature can name it"),
        (Some(expected), true) => format!(
            "the policy binds names to signatures, and this signature names no repository (the image is carried as {reference}, which must be signed as {expected})"
        ),
        (Some(expected), false) => format!(
            "the policy binds names to signatures: signed as {}, but carried as {reference}, which must be signed as {expected}",
            signed.join(", ")
        ),
    }
}

pub(super) fn unsigned_list(sources: &[String]) -> String {
    if sources.is_empty() {
        "none".to_string()
    } else {
        format!("unsigned SBOM(s) from {}", sources.join(", "))
    }
}
