//! Who signed: certificate subject alternative names and the OIDC issuer,
//! matched against what the operator expects.

use crate::{Check, Error, Result};
use der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Fulcio puts username identities (`user!host`) in an OtherName SAN of
/// this type (see Fulcio's oid-info.md, 1.3.6.1.4.1.57264.1.7).
const FULCIO_USERNAME_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// Longest pattern an operator can give; a policy is not a program.
const MAX_PATTERN_BYTES: usize = 4096;

/// The kind of a subject alternative name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanKind {
    /// rfc822Name: a person's email address.
    Email,
    /// uniformResourceIdentifier: usually a CI workflow.
    Uri,
    /// Fulcio's OtherName username (`user!host`).
    OtherName,
    /// dNSName (private PKI certificates).
    Dns,
}

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct San {
    /// Its kind.
    pub kind: SanKind,
    /// Its value.
    pub value: String,
}

/// Every SAN in a DER certificate that can name a signer.
pub fn subject_alternative_names(certificate_der: &[u8]) -> Result<Vec<San>> {
    let malformed = |e: der::Error| Error::failed(Check::CertificateChain, format!("malformed certificate: {e}"));
    let cert = Certificate::from_der(certificate_der).map_err(malformed)?;
    let Some((_, san)) = cert.tbs_certificate.get::<SubjectAltName>().map_err(malformed)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for name in san.0 {
        let (kind, value) = match name {
            GeneralName::Rfc822Name(v) => (SanKind::Email, v.to_string()),
            GeneralName::UniformResourceIdentifier(v) => (SanKind::Uri, v.to_string()),
            GeneralName::DnsName(v) => (SanKind::Dns, v.to_string()),
            GeneralName::OtherName(other) if other.type_id == FULCIO_USERNAME_OID => {
                let value = other
                    .value
                    .decode_as::<der::asn1::Utf8StringRef<'_>>()
                    .map_err(malformed)?;
                (SanKind::OtherName, value.as_str().to_string())
            }
            _ => continue,
        };
        names.push(San { kind, value });
    }
    Ok(names)
}

/// How an expected value is compared.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The value must equal this string.
    Exact(String),
    /// The value must match this regular expression. As in cosign and
    /// sigstore-go, the match is *unanchored*: write `^…$` to match the
    /// whole value.
    Regex(regex::Regex),
}

impl Matcher {
    /// Match exactly `value`.
    pub fn exact(value: impl Into<String>) -> Self {
        Self::Exact(value.into())
    }

    /// Match the regular expression `pattern` (RE2 syntax, linear time).
    pub fn regex(pattern: &str) -> std::result::Result<Self, regex::Error> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(regex::Error::CompiledTooBig(MAX_PATTERN_BYTES));
        }
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(Self::Regex)
    }

    /// Whether `value` satisfies this matcher.
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => value == expected,
            Self::Regex(re) => re.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "{v:?}"),
            Self::Regex(re) => write!(f, "regexp {:?}", re.as_str()),
        }
    }
}

/// Fulcio's CI claims (extensions 1.3.6.1.4.1.57264.1.9 onwards).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowClaims {
    /// Build config that requested the signature (with its ref).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_signer_uri: Option<String>,
    /// Commit of the build config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_signer_digest: Option<String>,
    /// `github-hosted` or `self-hosted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_environment: Option<String>,
    /// Repository the artifact was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_uri: Option<String>,
    /// Commit it was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_digest: Option<String>,
    /// Ref it was built from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository_ref: Option<String>,
    /// Event that triggered the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_trigger: Option<String>,
    /// The CI run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_invocation_uri: Option<String>,
}

impl From<&sigstore_crypto::FulcioCiClaims> for WorkflowClaims {
    fn from(c: &sigstore_crypto::FulcioCiClaims) -> Self {
        Self {
            build_signer_uri: c.build_signer_uri.clone(),
            build_signer_digest: c.build_signer_digest.clone(),
            runner_environment: c.runner_environment.clone(),
            source_repository_uri: c.source_repository_uri.clone(),
            source_repository_digest: c.source_repository_digest.clone(),
            source_repository_ref: c.source_repository_ref.clone(),
            build_trigger: c.build_trigger.clone(),
            run_invocation_uri: c.run_invocation_uri.clone(),
        }
    }
}

/// The signer a keyless signature must come from.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// The certificate identity (any SAN may match).
    pub subject: Matcher,
    /// The OIDC issuer recorded by Fulcio.
    pub issuer: Matcher,
}

impl IdentityPolicy {
    /// Check the certificate's SANs and issuer; returns the SAN that matched.
    pub(crate) fn check(&self, sans: &[San], issuer: Option<&str>) -> Result<San> {
        if !issuer.is_some_and(|i| self.issuer.is_match(i)) {
            return Err(Error::IssuerMismatch {
                expected: self.issuer.to_string(),
                actual: issuer.map(str::to_string),
            });
        }
        sans.iter()
            .find(|san| self.subject.is_match(&san.value))
            .cloned()
            .ok_or_else(|| Error::IdentityMismatch {
                expected: self.subject.to_string(),
                actual: sans.iter().map(|s| s.value.clone()).collect(),
            })
    }
}

/// One of Fulcio's CI claims (certificate extensions 1.3.6.1.4.1.57264.1.9
/// onwards, named as in Fulcio's oid-info.md), as far as
/// [`WorkflowClaims`] carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[non_exhaustive]
pub enum WorkflowClaim {
    /// Build Signer URI (.1.9): the build config that requested the signature, with its ref.
    BuildSignerUri,
    /// Build Signer Digest (.1.10): the commit of that build config.
    BuildSignerDigest,
    /// Runner Environment (.1.11): `github-hosted` or `self-hosted`.
    RunnerEnvironment,
    /// Source Repository URI (.1.12).
    SourceRepositoryUri,
    /// Source Repository Digest (.1.13): the commit built.
    SourceRepositoryDigest,
    /// Source Repository Ref (.1.14): the ref built.
    SourceRepositoryRef,
    /// Build Trigger (.1.20): the event that triggered the build.
    BuildTrigger,
    /// Run Invocation URI (.1.21): the CI run.
    RunInvocationUri,
}

impl WorkflowClaim {
    /// Every claim, in OID order.
    pub const ALL: [Self; 8] = [
        Self::BuildSignerUri,
        Self::BuildSignerDigest,
        Self::RunnerEnvironment,
        Self::SourceRepositoryUri,
        Self::SourceRepositoryDigest,
        Self::SourceRepositoryRef,
        Self::BuildTrigger,
        Self::RunInvocationUri,
    ];

    /// The claim's name in policies and reports (Fulcio's name, camelCase).
    pub fn name(self) -> &'static str {
        match self {
            Self::BuildSignerUri => "buildSignerURI",
            Self::BuildSignerDigest => "buildSignerDigest",
            Self::RunnerEnvironment => "runnerEnvironment",
            Self::SourceRepositoryUri => "sourceRepositoryURI",
            Self::SourceRepositoryDigest => "sourceRepositoryDigest",
            Self::SourceRepositoryRef => "sourceRepositoryRef",
            Self::BuildTrigger => "buildTrigger",
            Self::RunInvocationUri => "runInvocationURI",
        }
    }

    /// The certificate extension's OID.
    pub fn oid(self) -> &'static str {
        match self {
            Self::BuildSignerUri => "1.3.6.1.4.1.57264.1.9",
            Self::BuildSignerDigest => "1.3.6.1.4.1.57264.1.10",
            Self::RunnerEnvironment => "1.3.6.1.4.1.57264.1.11",
            Self::SourceRepositoryUri => "1.3.6.1.4.1.57264.1.12",
            Self::SourceRepositoryDigest => "1.3.6.1.4.1.57264.1.13",
            Self::SourceRepositoryRef => "1.3.6.1.4.1.57264.1.14",
            Self::BuildTrigger => "1.3.6.1.4.1.57264.1.20",
            Self::RunInvocationUri => "1.3.6.1.4.1.57264.1.21",
        }
    }

    /// This claim's value in a verified certificate's claims.
    pub fn value(self, claims: &WorkflowClaims) -> Option<&str> {
        let value = match self {
            Self::BuildSignerUri => &claims.build_signer_uri,
            Self::BuildSignerDigest => &claims.build_signer_digest,
            Self::RunnerEnvironment => &claims.runner_environment,
            Self::SourceRepositoryUri => &claims.source_repository_uri,
            Self::SourceRepositoryDigest => &claims.source_repository_digest,
            Self::SourceRepositoryRef => &claims.source_repository_ref,
            Self::BuildTrigger => &claims.build_trigger,
            Self::RunInvocationUri => &claims.run_invocation_uri,
        };
        value.as_deref()
    }
}

impl std::fmt::Display for WorkflowClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Expected values of CI claims in a keyless certificate, checked after
/// the signature and [`IdentityPolicy`] have been verified. Every listed
/// claim must be present and match; an empty rule accepts any claims.
#[derive(Debug, Clone, Default)]
pub struct WorkflowClaimRule {
    expected: Vec<(WorkflowClaim, Matcher)>,
}

impl WorkflowClaimRule {
    /// Also require `claim` to satisfy `matcher` (replacing an earlier
    /// matcher for the same claim).
    pub fn require(mut self, claim: WorkflowClaim, matcher: Matcher) -> Self {
        self.expected.retain(|(c, _)| *c != claim);
        self.expected.push((claim, matcher));
        self.expected.sort_by_key(|(c, _)| *c);
        self
    }

    /// Whether no claim is required.
    pub fn is_empty(&self) -> bool {
        self.expected.is_empty()
    }

    /// The required claims and their matchers, in OID order.
    pub fn iter(&self) -> impl Iterator<Item = (WorkflowClaim, &Matcher)> {
        self.expected.iter().map(|(c, m)| (*c, m))
    }

    /// Check a verified certificate's claims; the first claim that is
    /// absent or does not match is the error.
    pub fn check(&self, claims: &WorkflowClaims) -> Result<()> {
        for (claim, matcher) in &self.expected {
            let actual = claim.value(claims);
            if !actual.is_some_and(|v| matcher.is_match(v)) {
                return Err(Error::WorkflowClaimMismatch {
                    claim: *claim,
                    expected: matcher.to_string(),
                    actual: actual.map(str::to_string),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn san(kind: SanKind, value: &str) -> San {
        San {
            kind,
            value: value.into(),
        }
    }

    #[test]
    fn exact_and_regex_matchers() {
        assert!(Matcher::exact("a@b.c").is_match("a@b.c"));
        assert!(!Matcher::exact("a@b.c").is_match("a@b.cc"));
        let re = Matcher::regex("^https://github.com/org/").unwrap();
        assert!(re.is_match("https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main"));
        assert!(!re.is_match("https://github.com/evil/org/"));
        // Unanchored, as in cosign: a pattern without ^ matches anywhere.
        assert!(Matcher::regex("org").unwrap().is_match("https://github.com/org/"));
        assert!(Matcher::regex("(").is_err());
        assert!(Matcher::regex(&"a".repeat(MAX_PATTERN_BYTES + 1)).is_err());
    }

    #[test]
    fn policy_checks_issuer_then_any_san() {
        let policy = IdentityPolicy {
            subject: Matcher::exact("b@x"),
            issuer: Matcher::exact("https://issuer"),
        };
        let sans = [san(SanKind::Email, "a@x"), san(SanKind::Email, "b@x")];
        assert_eq!(policy.check(&sans, Some("https://issuer")).unwrap().value, "b@x");
        assert!(matches!(
            policy.check(&sans, Some("https://other")),
            Err(Error::IssuerMismatch { .. })
        ));
        assert!(matches!(policy.check(&sans, None), Err(Error::IssuerMismatch { .. })));
        assert!(matches!(
            policy.check(&sans[..1], Some("https://issuer")),
            Err(Error::IdentityMismatch { .. })
        ));
    }

    #[test]
    fn workflow_claim_rule_requires_every_listed_claim() {
        let claims = WorkflowClaims {
            source_repository_uri: Some("https://github.com/org/repo".into()),
            source_repository_ref: Some("refs/tags/v1.2.0".into()),
            runner_environment: Some("github-hosted".into()),
            ..WorkflowClaims::default()
        };
        assert!(WorkflowClaimRule::default().check(&claims).is_ok());
        let rule = WorkflowClaimRule::default()
            .require(WorkflowClaim::SourceRepositoryUri, Matcher::exact("https://github.com/org/repo"))
            .require(WorkflowClaim::SourceRepositoryRef, Matcher::regex("^refs/tags/v").unwrap());
        assert!(rule.check(&claims).is_ok());
        let wrong_ref = WorkflowClaims {
            source_repository_ref: Some("refs/heads/main".into()),
            ..claims.clone()
        };
        match rule.check(&wrong_ref) {
            Err(Error::WorkflowClaimMismatch { claim, actual, .. }) => {
                assert_eq!(claim, WorkflowClaim::SourceRepositoryRef);
                assert_eq!(actual.as_deref(), Some("refs/heads/main"));
            }
            other => panic!("expected a claim mismatch, got {other:?}"),
        }
        // An absent claim never matches, not even a regexp that matches "".
        let absent = WorkflowClaimRule::default().require(WorkflowClaim::BuildTrigger, Matcher::regex("").unwrap());
        let err = absent.check(&claims).unwrap_err();
        assert_eq!(err.check(), Some(Check::Identity));
        assert_eq!(err.kind(), crate::ErrorKind::PolicyNotMet);
        assert!(err.to_string().contains("buildTrigger"), "{err}");
    }

    #[test]
    fn workflow_claims_read_their_own_field() {
        let mut claims = WorkflowClaims::default();
        for (i, claim) in WorkflowClaim::ALL.iter().enumerate() {
            assert_eq!(claim.value(&claims), None);
            let value = format!("v{i}");
            match claim {
                WorkflowClaim::BuildSignerUri => claims.build_signer_uri = Some(value.clone()),
                WorkflowClaim::BuildSignerDigest => claims.build_signer_digest = Some(value.clone()),
                WorkflowClaim::RunnerEnvironment => claims.runner_environment = Some(value.clone()),
                WorkflowClaim::SourceRepositoryUri => claims.source_repository_uri = Some(value.clone()),
                WorkflowClaim::SourceRepositoryDigest => claims.source_repository_digest = Some(value.clone()),
                WorkflowClaim::SourceRepositoryRef => claims.source_repository_ref = Some(value.clone()),
                WorkflowClaim::BuildTrigger => claims.build_trigger = Some(value.clone()),
                WorkflowClaim::RunInvocationUri => claims.run_invocation_uri = Some(value.clone()),
            }
            assert_eq!(claim.value(&claims), Some(value.as_str()), "{claim}");
            assert!(claim.oid().starts_with("1.3.6.1.4.1.57264.1."));
        }
        // Later requirements for the same claim replace earlier ones.
        let rule = WorkflowClaimRule::default()
            .require(WorkflowClaim::BuildTrigger, Matcher::exact("a"))
            .require(WorkflowClaim::BuildTrigger, Matcher::exact("v6"));
        assert_eq!(rule.iter().count(), 1);
        assert!(rule.check(&claims).is_ok());
    }
}
