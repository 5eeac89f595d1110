//! The normalised import policy every source format becomes.
//!
//! Semantics (policy-controller's, for both formats):
//!
//! - An image is checked against every [`Rule`] whose globs match its
//!   original reference ([`Policy::rules_for`]). **Every** matching rule
//!   must pass; no matching rule means [`UnmatchedAction`].
//! - A rule passes when **any** of its authorities passes. A rule in
//!   [`Mode::Warn`] that fails is reported and does not refuse the image.
//! - A verifying authority passes when a signature (or the attestations it
//!   requires, see [`Evidence`]) verifies for one of its signers with its
//!   [`Requirements`]; a static authority passes or fails by itself.

use super::glob::{ImageGlob, InvalidReference, NormalisedReference};
use super::predicate::AttestationRule;
use crate::check::identity::{IdentityPolicy, WorkflowClaimRule};
use crate::check::signature::{Authority, Requirements, SignatureFacts};
use keys::PublicKey;
use std::fmt;

/// A parsed, checked import policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it came from, and its hash for reports.
    pub source: PolicySource,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// What happens to an image no rule matches.
    pub unmatched: UnmatchedAction,
    /// `spec.allowedRegistries`: images from anywhere else are refused
    /// before any rule is looked at. `None`: every registry.
    pub allowed_registries: Option<Vec<super::RegistryPattern>>,
    /// `spec.breakGlass`: whether and for what an operator may break glass.
    pub break_glass: super::BreakGlassPolicy,
    /// Things an operator should know about this policy: relaxed
    /// requirements, warn-mode rules, differences from policy-controller.
    /// Reports should print them.
    pub warnings: Vec<PolicyWarning>,
    /// `spec.vulnerabilities` (native policies only): the gate on the
    /// advisories the bundle carries.
    pub vulnerabilities: Option<super::VulnerabilityPolicy>,
    /// policy-controller TrustRoot documents the file carries for its
    /// ClusterImagePolicies' `trustRootRef`s; each must describe the
    /// trusted root airlock verifies with ([`Policy::check_trust_roots`]).
    pub trust_roots: Vec<super::trust_root::NamedTrustRoot>,
}

impl Policy {
    /// Refuse a TrustRoot in the policy that names other trust material
    /// than `root`, the trusted root the evidence is verified against.
    pub fn check_trust_roots(
        &self,
        root: &sigstore_verify::trust_root::TrustedRoot,
    ) -> Result<(), super::trust_root::TrustRootMismatch> {
        self.trust_roots.iter().try_for_each(|r| r.check(root))
    }
}

/// The policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// How the caller described it (usually its path).
    pub description: String,
    /// sha256 of the policy file's bytes.
    pub sha256: oci::Digest,
    /// Files the policy pulled in (public keys), with their sha256: the
    /// policy's hash alone does not cover them.
    pub included_files: Vec<IncludedFile>,
}

/// A file a policy refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedFile {
    /// As resolved (relative to the policy file).
    pub path: std::path::PathBuf,
    /// sha256 of its bytes.
    pub sha256: oci::Digest,
}

/// Something about the policy worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    /// 1-based document index.
    pub document: usize,
    /// The rule, when the warning is about one.
    pub rule: Option<String>,
    /// The authority, when the warning is about one.
    pub authority: Option<String>,
    /// What to know.
    pub message: String,
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(r) = &self.rule {
            write!(f, ", policy {r:?}")?;
        }
        if let Some(a) = &self.authority {
            write!(f, ", authority {a:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What happens to an image that no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnmatchedAction {
    /// Refuse it. The only choice: to admit images without checks, write
    /// a rule with a static `pass` authority, which reports show by name.
    #[default]
    Reject,
}

/// Which format a rule was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFormat {
    /// airlock's `ImportPolicy`.
    Native,
    /// A policy-controller `ClusterImagePolicy` of this apiVersion.
    ClusterImagePolicy {
        /// `policy.sigstore.dev/v1beta1` or `policy.sigstore.dev/v1alpha1`.
        api_version: String,
    },
}

/// Images, and what they need.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique in the policy (a native rule's name, a CIP's metadata.name).
    pub name: String,
    /// The format and document the rule came from.
    pub format: RuleFormat,
    /// 1-based document index in the policy file.
    pub document: usize,
    /// The rule applies to images whose original reference matches any
    /// of these. Never empty.
    pub images: Vec<ImageGlob>,
    /// Whether a failure refuses the image.
    pub mode: Mode,
    /// The rule passes when any of these passes. Never empty.
    pub authorities: Vec<AuthorityRule>,
    /// Whether an SBOM for the image must be in the bundle, bound to it by
    /// a signature one of the rule's authorities verifies (an SBOM
    /// attestation).
    pub require_sbom: bool,
    /// Whether an unsigned SBOM (an operator's `--sbom`, an unsigned `.sbom`
    /// attachment or referrer) meets `require_sbom` too.
    pub allow_unsigned_sbom: bool,
    /// When set, the accepted signature must also name the image's
    /// repository (for sites without a transfer key, whose names nothing
    /// else vouches for).
    pub name_binding: Option<NameBinding>,
    /// For a multi-platform image: every carried platform child must carry
    /// a signature the rule's authorities verify (an index signed only per
    /// platform then passes; a failing child is named with its platform).
    pub require_platform_signatures: bool,
}

/// The rule binding an image's name to its signature: the repository a
/// signature names (cosign's simple-signing `docker-reference`, or the
/// in-toto subject name of cosign's signing predicate) must be the image's
/// repository, after the one documented mirror rewrite: a repository
/// carried under a mirror prefix `from` stands for the publisher's `to`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameBinding {
    /// (mirror prefix as carried, prefix the publisher signed), longest
    /// `from` first.
    pub mirrors: Vec<(String, String)>,
}

impl NameBinding {
    /// The repository (`registry/path`) a signature must name for an image
    /// carried as `reference`; `None` when it does not parse.
    pub fn expected_repository(&self, reference: &str) -> Option<String> {
        let parsed: oci::ImageRef = reference.parse().ok()?;
        let repository = format!("{}/{}", parsed.registry(), parsed.repository());
        for (from, to) in &self.mirrors {
            if let Some(rest) = repository.strip_prefix(from.as_str()) {
                if rest.is_empty() || rest.starts_with('/') {
                    return Some(format!("{to}{rest}"));
                }
            }
        }
        Some(repository)
    }

    /// Whether a signature naming `signed` (a reference or repository, as
    /// written in the payload) names `expected`.
    pub fn names(signed: &str, expected: &str) -> bool {
        match signed.parse::<oci::ImageRef>() {
            Ok(r) => format!("{}/{}", r.registry(), r.repository()) == expected,
            Err(_) => false,
        }
    }
}

impl Rule {
    /// Whether the rule applies to `reference`.
    pub fn matches(&self, reference: &str) -> Result<bool, InvalidReference> {
        let reference = NormalisedReference::parse(reference)?;
        Ok(self.matches_normalised(&reference))
    }

    fn matches_normalised(&self, reference: &NormalisedReference) -> bool {
        self.images.iter().any(|g| g.matches_normalised(reference))
    }
}

/// Whether a failing rule refuses the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A failure refuses the image (the default).
    #[default]
    Enforce,
    /// A failure is reported as a warning; the image is not refused by
    /// this rule.
    Warn,
}

/// One way to satisfy a rule.
#[derive(Debug, Clone)]
pub struct AuthorityRule {
    /// Unique in its rule (`authority-<index>` when the file gave none).
    pub name: String,
    /// What it checks.
    pub kind: AuthorityKind,
}

/// Verify signatures, or decide statically.
#[derive(Debug, Clone)]
pub enum AuthorityKind {
    /// Verify evidence against signers.
    Verify(VerifyRule),
    /// No evidence is looked at.
    Static(StaticAction),
}

/// policy-controller's `static` authorities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticAction {
    /// The authority passes.
    Pass,
    /// The authority fails.
    Fail {
        /// The policy's message, if any.
        message: Option<String>,
    },
}

/// Signers, requirements and required evidence.
#[derive(Debug, Clone)]
pub struct VerifyRule {
    /// Who may have signed.
    pub signer: SignerRule,
    /// What each signature must carry besides itself.
    pub requirements: Requirements,
    /// Signature, attestations, or both.
    pub evidence: Evidence,
    /// Where a ClusterImagePolicy says signatures live (`source[].oci`):
    /// for the connected side's collection; verification does not depend
    /// on where evidence was found.
    pub signature_sources: Vec<String>,
    /// A ClusterImagePolicy's `signatureFormat`, when given.
    pub signature_format: Option<SignatureFormat>,
}

/// policy-controller's `signatureFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// cosign's tag-based `.sig`/`.att` layers.
    Legacy,
    /// Sigstore bundles as OCI referrers.
    Bundle,
}

/// Who may have signed.
#[derive(Debug, Clone)]
pub enum SignerRule {
    /// A Fulcio certificate whose identity matches any of these. Never empty.
    Keyless(Vec<IdentityRule>),
    /// Any of these keys. Never empty.
    Key(Vec<PublicKey>),
}

/// A keyless identity: issuer and subject, and optional CI claims.
#[derive(Debug, Clone)]
pub struct IdentityRule {
    /// Issuer and subject (any SAN) matchers.
    pub identity: IdentityPolicy,
    /// CI claims that must also match (may be empty).
    pub claims: WorkflowClaimRule,
}

/// What a verifying authority requires.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// A signature over the image.
    Signature,
    /// Attestations about the image (each rule satisfied by some verified
    /// statement). No plain signature is needed: policy-controller's
    /// meaning of an authority with `attestations`. Never empty.
    Attestations(Vec<AttestationRule>),
    /// A signature over the image and these attestations. Never empty.
    SignatureAndAttestations(Vec<AttestationRule>),
}

impl Evidence {
    /// Whether a signature over the image is required.
    pub fn requires_signature(&self) -> bool {
        matches!(self, Self::Signature | Self::SignatureAndAttestations(_))
    }

    /// The required attestations (possibly none).
    pub fn attestations(&self) -> &[AttestationRule] {
        match self {
            Self::Signature => &[],
            Self::Attestations(a) | Self::SignatureAndAttestations(a) => a,
        }
    }
}

/// One engine authority to verify with, and the claims to check after.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Pass to [`crate::check::signature::SignatureVerifier::verify`] with
    /// the rule's [`VerifyRule::requirements`].
    pub authority: Authority,
    claims: Option<&'a WorkflowClaimRule>,
}

impl Candidate<'_> {
    /// After verification under [`Self::authority`] succeeded: check what
    /// the engine does not (the identity rule's CI claims).
    pub fn check_claims(&self, facts: &SignatureFacts) -> crate::Result<()> {
        match (self.claims, &facts.signer) {
            (Some(rule), crate::check::signature::Signer::Certificate(cert)) => rule.check(&cert.workflow),
            (Some(rule), crate::check::signature::Signer::Key { .. }) if !rule.is_empty() => Err(
                crate::Error::failed(crate::Check::Identity, "CI claims are required, but the signature is by a key"),
            ),
            _ => Ok(()),
        }
    }
}

impl VerifyRule {
    /// Everything a signature may be verified against: one engine
    /// authority per identity or key. A signature satisfies the signer when
    /// it verifies under one candidate and that candidate's
    /// [`Candidate::check_claims`] passes.
    pub fn candidates(&self) -> Vec<Candidate<'_>> {
        match &self.signer {
            SignerRule::Keyless(identities) => identities
                .iter()
                .map(|id| Candidate {
                    authority: Authority::Keyless(id.identity.clone()),
                    claims: Some(&id.claims),
                })
                .collect(),
            SignerRule::Key(keys) => keys
                .iter()
                .map(|key| Candidate {
                    authority: Authority::Key(key.clone()),
                    claims: None,
                })
                .collect(),
        }
    }
}

impl Policy {
    /// `None` when `reference` comes from an allowed registry (or the policy
    /// allows every registry); else the patterns it matched none of.
    pub fn registry_refusal(&self, reference: &str) -> Option<super::refusal::Refusal> {
        let patterns = self.allowed_registries.as_ref()?;
        if patterns.iter().any(|p| p.admits(reference)) {
            return None;
        }
        Some(super::refusal::Refusal::RegistryNotAllowed {
            reference: reference.to_string(),
            allowed: patterns.iter().map(ToString::to_string).collect(),
        })
    }

    /// The rules that apply to an image, by its original reference as an
    /// operator wrote it (see [`super::glob`] for the matching). Every
    /// returned rule must pass; none means [`Policy::unmatched`] applies.
    pub fn rules_for(&self, original_reference: &str) -> Result<Vec<&Rule>, InvalidReference> {
        let reference = NormalisedReference::parse(original_reference)?;
        Ok(self
            .rules
            .iter()
            .filter(|r| r.matches_normalised(&reference))
            .collect())
    }

    /// The rule with this name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::identity::{Matcher, San, SanKind, WorkflowClaim};
    use crate::check::identity::WorkflowClaims;
    use crate::check::signature::{CertificateIdentity, Signer};
    use crate::evidence::sigstore::ContentKind;
    use crate::evidence::statement::Statement;
    use crate::policy::predicate::{PredicateRule, SLSA_PROVENANCE_V1};
    use crate::Verified;

    fn facts(signer: Signer, statement: Option<Statement>) -> Verified<SignatureFacts> {
        Verified::new(SignatureFacts {
            media_type: "application/vnd.dev.sigstore.bundle.v0.3+json",
            content: ContentKind::DsseEnvelope,
            signer,
            log_entries: Vec::new(),
            signed_times: Vec::new(),
            statement,
            checks: Vec::new(),
        })
    }

    fn certificate(repository: &str) -> Signer {
        let san = San {
            kind: SanKind::Uri,
            value: "https://github.com/org/repo/.github/workflows/r.yml@refs/tags/v1".into(),
        };
        Signer::Certificate(Box::new(CertificateIdentity {
            identity: san.clone(),
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            subject_alternative_names: vec![san],
            workflow: WorkflowClaims {
                source_repository_uri: Some(repository.into()),
                ..WorkflowClaims::default()
            },
            not_before: jiff::Timestamp::UNIX_EPOCH,
            not_after: jiff::Timestamp::UNIX_EPOCH,
        }))
    }

    fn keyless_rule(claims: WorkflowClaimRule) -> VerifyRule {
        VerifyRule {
            signer: SignerRule::Keyless(vec![IdentityRule {
                identity: IdentityPolicy {
                    subject: Matcher::regex("^https://github.com/org/repo/").unwrap(),
                    issuer: Matcher::exact("https://token.actions.githubusercontent.com"),
                },
                claims,
            }]),
            requirements: Requirements::default(),
            evidence: Evidence::Signature,
            signature_sources: Vec::new(),
            signature_format: None,
        }
    }

    #[test]
    fn candidates_check_claims_after_the_engine() {
        let claims = WorkflowClaimRule::default()
            .require(WorkflowClaim::SourceRepositoryUri, Matcher::exact("https://github.com/org/repo"));
        let rule = keyless_rule(claims);
        let candidates = rule.candidates();
        assert_eq!(candidates.len(), 1);
        assert!(matches!(candidates[0].authority, Authority::Keyless(_)));
        let good = facts(certificate("https://github.com/org/repo"), None);
        assert!(candidates[0].check_claims(&good).is_ok());
        let fork = facts(certificate("https://github.com/fork/repo"), None);
        assert!(matches!(
            candidates[0].check_claims(&fork),
            Err(crate::Error::WorkflowClaimMismatch { claim: WorkflowClaim::SourceRepositoryUri, .. })
        ));
        // A key signature cannot satisfy required claims.
        let by_key = facts(Signer::Key { fingerprint: "sha256:00".into() }, None);
        assert!(candidates[0].check_claims(&by_key).is_err());
        // Without claims, anything the engine accepted passes.
        let plain = keyless_rule(WorkflowClaimRule::default());
        assert!(plain.candidates()[0].check_claims(&by_key).is_ok());
    }

    #[test]
    fn attestation_check_reads_the_verified_statement() {
        let rule = AttestationRule {
            name: "p".into(),
            accepts: vec![PredicateRule {
                predicate_type: SLSA_PROVENANCE_V1.into(),
                constraints: Vec::new(),
            }],
        };
        assert_eq!(
            rule.check(&facts(certificate("r"), None)),
            crate::policy::AttestationOutcome::NotAnAttestation
        );
        let statement = Statement {
            statement_type: "https://in-toto.io/Statement/v1".into(),
            subject: Vec::new(),
            predicate_type: SLSA_PROVENANCE_V1.into(),
            predicate: serde_json::json!({}),
        };
        assert!(rule.check(&facts(certificate("r"), Some(statement))).is_satisfied());
    }

    #[test]
    fn evidence_accessors() {
        assert!(Evidence::Signature.requires_signature());
        assert!(Evidence::Signature.attestations().is_empty());
        let one = vec![AttestationRule {
            name: "a".into(),
            accepts: Vec::new(),
        }];
        assert!(!Evidence::Attestations(one.clone()).requires_signature());
        assert_eq!(Evidence::SignatureAndAttestations(one).attestations().len(), 1);
    }
}
