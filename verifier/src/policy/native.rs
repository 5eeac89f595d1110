//! airlock's own policy format, `apiVersion: airlock.dev/v1alpha1`,
//! `kind: ImportPolicy` (documented in docs/policy.md).
//!
//! Parse, don't validate: the serde types below mirror the file exactly
//! (unknown fields refused, with their path); `convert` turns them into
//! the typed model or names the first problem.

use super::error::{conflict, empty, invalid, DocResult};
use super::model::{
    AuthorityKind, AuthorityRule, Evidence, IdentityRule, Mode, Rule, RuleFormat, SignerRule, StaticAction,
    UnmatchedAction, VerifyRule,
};
use super::predicate::{self, AttestationRule, PredicateConstraint, PredicatePath, PredicateRule, ValueMatcher};
use super::error::DocError;
use super::gate::{BreakGlassPolicy, Gate};
use super::registries::RegistryPattern;
use super::PolicyErrorKind;
use super::{compile_glob, exactly_one, identity_policy, pair_matcher, unique, Context, DocumentOutput};
use super::vulnerabilities::{AllowEntry, DenyRule, VulnerabilityPolicy};
use crate::check::identity::{WorkflowClaim, WorkflowClaimRule};
use advisories::Rating;
use crate::check::signature::Requirements;
use serde::Deserialize;

/// The native apiVersion.
pub const API_VERSION: &str = "airlock.dev/v1alpha1";
/// The native kind.
pub const KIND: &str = "ImportPolicy";

/// The document without `apiVersion` and `kind`, which dispatch consumed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<Metadata>,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[allow(dead_code)]
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    unmatched: Option<Unmatched>,
    allowed_registries: Option<Vec<String>>,
    break_glass: Option<NativeBreakGlass>,
    rules: Vec<NativeRule>,
    vulnerabilities: Option<NativeVulnerabilities>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeVulnerabilities {
    deny: Option<NativeDeny>,
    #[serde(default)]
    allow: Vec<NativeAllow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeDeny {
    min_severity: NativeSeverity,
    #[serde(default)]
    fix_available: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum NativeSeverity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeAllow {
    id: String,
    reason: String,
    until: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeBreakGlass {
    allowed: Option<bool>,
    gates: Option<Vec<Gate>>,
    rules: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Unmatched {
    Reject,
    Accept,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeRule {
    name: String,
    images: Vec<String>,
    #[serde(default)]
    mode: Option<NativeMode>,
    #[serde(default)]
    require_sbom: bool,
    #[serde(default)]
    allow_unsigned_sbom: bool,
    #[serde(default)]
    name_binding: Option<NativeNameBinding>,
    #[serde(default)]
    require_platform_signatures: bool,
    authorities: Vec<NativeAuthority>,
}

/// `nameBinding: {mirrors: [{from, to}]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeNameBinding {
    #[serde(default)]
    mirrors: Vec<NativeMirror>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeMirror {
    from: String,
    to: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum NativeMode {
    Enforce,
    Warn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeAuthority {
    name: Option<String>,
    keyless: Option<Vec<NativeIdentity>>,
    key: Option<Vec<NativeKey>>,
    #[serde(rename = "static")]
    static_action: Option<NativeStatic>,
    require: Option<NativeRequire>,
    attestations: Option<Vec<NativeAttestation>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum NativeStatic {
    Pass,
    Fail,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeIdentity {
    issuer: Option<String>,
    issuer_reg_exp: Option<String>,
    subject: Option<String>,
    subject_reg_exp: Option<String>,
    claims: Option<NativeClaims>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NativeClaims {
    #[serde(rename = "buildSignerURI")]
    build_signer_uri: Option<String>,
    #[serde(rename = "buildSignerURIRegExp")]
    build_signer_uri_re: Option<String>,
    #[serde(rename = "buildSignerDigest")]
    build_signer_digest: Option<String>,
    #[serde(rename = "buildSignerDigestRegExp")]
    build_signer_digest_re: Option<String>,
    #[serde(rename = "runnerEnvironment")]
    runner_environment: Option<String>,
    #[serde(rename = "runnerEnvironmentRegExp")]
    runner_environment_re: Option<String>,
    #[serde(rename = "sourceRepositoryURI")]
    source_repository_uri: Option<String>,
    #[serde(rename = "sourceRepositoryURIRegExp")]
    source_repository_uri_re: Option<String>,
    #[serde(rename = "sourceRepositoryDigest")]
    source_repository_digest: Option<String>,
    #[serde(rename = "sourceRepositoryDigestRegExp")]
    source_repository_digest_re: Option<String>,
    #[serde(rename = "sourceRepositoryRef")]
    source_repository_ref: Option<String>,
    #[serde(rename = "sourceRepositoryRefRegExp")]
    source_repository_ref_re: Option<String>,
    #[serde(rename = "buildTrigger")]
    build_trigger: Option<String>,
    #[serde(rename = "buildTriggerRegExp")]
    build_trigger_re: Option<String>,
    #[serde(rename = "runInvocationURI")]
    run_invocation_uri: Option<String>,
    #[serde(rename = "runInvocationURIRegExp")]
    run_invocation_uri_re: Option<String>,
}

impl NativeClaims {
    fn pairs(self) -> [(WorkflowClaim, Option<String>, Option<String>); 8] {
        [
            (WorkflowClaim::BuildSignerUri, self.build_signer_uri, self.build_signer_uri_re),
            (WorkflowClaim::BuildSignerDigest, self.build_signer_digest, self.build_signer_digest_re),
            (WorkflowClaim::RunnerEnvironment, self.runner_environment, self.runner_environment_re),
            (WorkflowClaim::SourceRepositoryUri, self.source_repository_uri, self.source_repository_uri_re),
            (
                WorkflowClaim::SourceRepositoryDigest,
                self.source_repository_digest,
                self.source_repository_digest_re,
            ),
            (WorkflowClaim::SourceRepositoryRef, self.source_repository_ref, self.source_repository_ref_re),
            (WorkflowClaim::BuildTrigger, self.build_trigger, self.build_trigger_re),
            (WorkflowClaim::RunInvocationUri, self.run_invocation_uri, self.run_invocation_uri_re),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeKey {
    file: Option<String>,
    pem: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeRequire {
    transparency_log: Option<bool>,
    signed_timestamp: Option<bool>,
    certificate_transparency: Option<bool>,
    signature: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NativeAttestation {
    name: String,
    predicate_type: Option<String>,
    predicate_types: Option<Vec<String>>,
    builder_id: Option<String>,
    builder_id_reg_exp: Option<String>,
    source_repository: Option<String>,
    source_repository_reg_exp: Option<String>,
    #[serde(default)]
    constraints: Vec<NativeConstraint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeConstraint {
    path: String,
    equals: Option<serde_json::Value>,
    regexp: Option<String>,
}

/// Parse one native document.
pub(crate) fn parse(value: serde_yaml_ng::Value, ctx: &mut Context<'_>) -> DocResult<DocumentOutput> {
    let doc: Document = super::typed(value)?;
    let unmatched = match doc.spec.unmatched {
        None => None,
        Some(Unmatched::Reject) => Some(UnmatchedAction::Reject),
        Some(Unmatched::Accept) => {
            return Err(invalid(
                "spec.unmatched",
                "`accept` is not offered: an import gate refuses what no rule covers. To admit some images \
                 without checks, write a rule for them with a `static: pass` authority, so reports name it",
            ))
        }
    };
    if doc.spec.rules.is_empty() {
        return Err(empty("spec.rules", "spec.rules"));
    }
    let mut rules = Vec::new();
    for (i, rule) in doc.spec.rules.into_iter().enumerate() {
        let at = format!("spec.rules[{i}]");
        let name = rule.name.clone();
        rules.push(convert_rule(rule, &at, ctx).map_err(|e| e.in_rule(&name))?);
    }
    unique(rules.iter().map(|r| r.name.as_str()), "rule", |i| format!("spec.rules[{i}].name"))?;
    let allowed_registries = doc.spec.allowed_registries.map(|p| registry_patterns(&p)).transpose()?;
    let break_glass = doc.spec.break_glass.map(|b| break_glass(b, &rules)).transpose()?;
    let vulnerabilities = doc.spec.vulnerabilities.map(convert_vulnerabilities).transpose()?;
    Ok(DocumentOutput { rules, unmatched, allowed_registries, break_glass, vulnerabilities, trust_root: None })
}

fn registry_patterns(patterns: &[String]) -> DocResult<Vec<RegistryPattern>> {
    if patterns.is_empty() {
        return Err(invalid(
            "spec.allowedRegistries",
            "an empty list would admit nothing; list the registries, or leave the key out to allow every registry",
        ));
    }
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            RegistryPattern::new(p).map_err(|reason| {
                DocError::new(PolicyErrorKind::InvalidGlob { glob: p.clone(), reason }).at(format!("spec.allowedRegistries[{i}]"))
            })
        })
        .collect()
}

fn break_glass(b: NativeBreakGlass, rules: &[Rule]) -> DocResult<BreakGlassPolicy> {
    if let Some((i, name)) = b.rules.iter().flatten().enumerate().find(|(_, n)| !rules.iter().any(|r| &r.name == *n)) {
        return Err(invalid(format!("spec.breakGlass.rules[{i}]"), format!("no rule is named {name:?} in this document")));
    }
    if b.allowed == Some(false) && (b.gates.is_some() || b.rules.is_some()) {
        return Err(conflict("spec.breakGlass", "`allowed: false` with `gates` or `rules` says two things; keep one"));
    }
    Ok(BreakGlassPolicy {
        allowed: b.allowed.unwrap_or(true),
        gates: b.gates.map(|g| g.into_iter().collect()),
        rules: b.rules.map(|r| r.into_iter().collect()),
    })
}

fn convert_vulnerabilities(v: NativeVulnerabilities) -> DocResult<VulnerabilityPolicy> {
    let deny = v.deny.map(|d| DenyRule {
        min_severity: match d.min_severity {
            NativeSeverity::Low => Rating::Low,
            NativeSeverity::Medium => Rating::Medium,
            NativeSeverity::High => Rating::High,
            NativeSeverity::Critical => Rating::Critical,
        },
        fix_available: d.fix_available,
    });
    let mut allow = Vec::new();
    for (i, a) in v.allow.into_iter().enumerate() {
        let at = format!("spec.vulnerabilities.allow[{i}]");
        if a.id.trim().is_empty() {
            return Err(invalid(format!("{at}.id"), "an allow entry names an advisory id or alias"));
        }
        if a.reason.trim().is_empty() {
            return Err(invalid(format!("{at}.reason"), "an allow entry says why it is accepted"));
        }
        let until = a.until.parse::<jiff::civil::Date>().map_err(|e| {
            invalid(format!("{at}.until"), format!("{:?} is not a date (YYYY-MM-DD): {e}", a.until))
        })?;
        allow.push(AllowEntry { id: a.id, reason: a.reason, until });
    }
    Ok(VulnerabilityPolicy { deny, allow })
}

fn convert_rule(rule: NativeRule, at: &str, ctx: &mut Context<'_>) -> DocResult<Rule> {
    if rule.name.trim().is_empty() {
        return Err(invalid(format!("{at}.name"), "a rule name must not be empty"));
    }
    if rule.images.is_empty() {
        return Err(empty(format!("{at}.images"), "images"));
    }
    let images = rule
        .images
        .iter()
        .enumerate()
        .map(|(i, g)| compile_glob(g, &format!("{at}.images[{i}]")))
        .collect::<DocResult<Vec<_>>>()?;
    if rule.authorities.is_empty() {
        return Err(empty(format!("{at}.authorities"), "authorities"));
    }
    let mode = match rule.mode {
        None | Some(NativeMode::Enforce) => Mode::Enforce,
        Some(NativeMode::Warn) => {
            ctx.warn(Some(&rule.name), None, "warn mode: images this rule refuses are still imported, with a warning");
            Mode::Warn
        }
    };
    let mut authorities = Vec::new();
    for (i, authority) in rule.authorities.into_iter().enumerate() {
        let name = authority.name.clone().unwrap_or_else(|| format!("authority-{i}"));
        let at = format!("{at}.authorities[{i}]");
        let converted = convert_authority(authority, &name, &at, &rule.name, ctx).map_err(|e| e.in_authority(&name))?;
        authorities.push(converted);
    }
    unique(authorities.iter().map(|a| a.name.as_str()), "authority", |i| {
        format!("{at}.authorities[{i}].name")
    })?;
    Ok(Rule {
        name: rule.name,
        format: RuleFormat::Native,
        document: ctx.document,
        images,
        mode,
        authorities,
        require_sbom: rule.require_sbom,
        allow_unsigned_sbom: rule.allow_unsigned_sbom,
        name_binding: rule.name_binding.map(|b| {
            let mut mirrors: Vec<(String, String)> = b.mirrors.into_iter().map(|m| (m.from, m.to)).collect();
            mirrors.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
            super::model::NameBinding { mirrors }
        }),
        require_platform_signatures: rule.require_platform_signatures,
    })
}

fn convert_authority(
    authority: NativeAuthority,
    name: &str,
    at: &str,
    rule: &str,
    ctx: &mut Context<'_>,
) -> DocResult<AuthorityRule> {
    exactly_one(
        at,
        &[
            (authority.keyless.is_some(), "keyless"),
            (authority.key.is_some(), "key"),
            (authority.static_action.is_some(), "static"),
        ],
    )?;
    if let Some(action) = &authority.static_action {
        let action = convert_static(action, &authority, name, at, rule, ctx)?;
        return Ok(AuthorityRule { name: name.to_string(), kind: AuthorityKind::Static(action) });
    }
    let keyless = authority.keyless.is_some();
    let signer = convert_signer(authority.keyless, authority.key, at, ctx)?;
    let require = authority.require.unwrap_or_default();
    let requirements = convert_requirements(&require, keyless, name, at, rule, ctx)?;
    let evidence = convert_evidence(authority.attestations, require.signature.unwrap_or(true), at)?;
    Ok(AuthorityRule {
        name: name.to_string(),
        kind: AuthorityKind::Verify(VerifyRule {
            signer,
            requirements,
            evidence,
            signature_sources: Vec::new(),
            signature_format: None,
        }),
    })
}

/// A static authority: pass or fail without evidence, and nothing to require.
fn convert_static(
    action: &NativeStatic,
    authority: &NativeAuthority,
    name: &str,
    at: &str,
    rule: &str,
    ctx: &mut Context<'_>,
) -> DocResult<StaticAction> {
    if authority.require.is_some() {
        return Err(conflict(format!("{at}.require"), "a static authority checks no evidence"));
    }
    if authority.attestations.is_some() {
        return Err(conflict(format!("{at}.attestations"), "a static authority checks no evidence"));
    }
    Ok(match action {
        NativeStatic::Pass => {
            ctx.warn(Some(rule), Some(name), "static pass: images this rule matches pass it without any evidence");
            StaticAction::Pass
        }
        NativeStatic::Fail => StaticAction::Fail { message: None },
    })
}

/// Who must have signed: keyless identities or public keys, never neither.
fn convert_signer(
    keyless: Option<Vec<NativeIdentity>>,
    key: Option<Vec<NativeKey>>,
    at: &str,
    ctx: &mut Context<'_>,
) -> DocResult<SignerRule> {
    if let Some(identities) = keyless {
        if identities.is_empty() {
            return Err(empty(format!("{at}.keyless"), "keyless identities"));
        }
        let identities = identities
            .into_iter()
            .enumerate()
            .map(|(i, id)| convert_identity(id, &format!("{at}.keyless[{i}]")))
            .collect::<DocResult<Vec<_>>>()?;
        Ok(SignerRule::Keyless(identities))
    } else {
        let keys = key.unwrap_or_default();
        if keys.is_empty() {
            return Err(empty(format!("{at}.key"), "keys"));
        }
        let keys = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let at = format!("{at}.key[{i}]");
                match (key.file, key.pem) {
                    (Some(file), None) => ctx.key_file(&file, &format!("{at}.file")),
                    (None, Some(pem)) => super::public_key(&pem, &format!("{at}.pem")),
                    (Some(_), Some(_)) => Err(conflict(at, "`file` and `pem` exclude each other")),
                    (None, None) => Err(conflict(at, "a key needs `file` or `pem`")),
                }
            })
            .collect::<DocResult<Vec<_>>>()?;
        Ok(SignerRule::Key(keys))
    }
}

/// What the signature's verification must include; each waiver is warned.
fn convert_requirements(
    require: &NativeRequire,
    keyless: bool,
    name: &str,
    at: &str,
    rule: &str,
    ctx: &mut Context<'_>,
) -> DocResult<Requirements> {
    let mut requirements = Requirements::default();
    if require.transparency_log == Some(false) {
        ctx.warn(
            Some(rule),
            Some(name),
            "transparency log not required: nothing proves these signatures were ever logged",
        );
        requirements = requirements.without_transparency_log_unsafe();
    }
    if require.signed_timestamp == Some(true) {
        requirements = requirements.require_signed_timestamp();
    }
    match require.certificate_transparency {
        Some(_) if !keyless => {
            return Err(conflict(
                format!("{at}.require.certificateTransparency"),
                "certificate transparency applies to keyless signatures only",
            ))
        }
        Some(false) => {
            ctx.warn(Some(rule), Some(name), "certificate transparency (SCT) not required");
            requirements = requirements.without_sct_unsafe();
        }
        _ => {}
    }
    Ok(requirements)
}

/// The evidence an authority needs: its signature, its attestations, or
/// both, and never nothing.
fn convert_evidence(attestations: Option<Vec<NativeAttestation>>, signature: bool, at: &str) -> DocResult<Evidence> {
    let converted = match attestations {
        None => Vec::new(),
        Some(list) if list.is_empty() => return Err(empty(format!("{at}.attestations"), "attestations")),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let name = a.name.clone();
                convert_attestation(a, &format!("{at}.attestations[{i}]")).map_err(|e| e.in_authority(&name))
            })
            .collect::<DocResult<Vec<_>>>()?,
    };
    unique(converted.iter().map(|a| a.name.as_str()), "attestation", |i| {
        format!("{at}.attestations[{i}].name")
    })?;
    Ok(match (signature, converted.is_empty()) {
        (true, true) => Evidence::Signature,
        (true, false) => Evidence::SignatureAndAttestations(converted),
        (false, false) => Evidence::Attestations(converted),
        (false, true) => {
            return Err(conflict(
                format!("{at}.require.signature"),
                "`signature: false` needs attestations, or the authority would check nothing",
            ))
        }
    })
}

fn convert_identity(id: NativeIdentity, at: &str) -> DocResult<IdentityRule> {
    let identity = identity_policy(
        (id.issuer, id.issuer_reg_exp),
        (id.subject, id.subject_reg_exp),
        at,
    )?;
    let mut claims = WorkflowClaimRule::default();
    for (claim, exact, regexp) in id.claims.unwrap_or_default().pairs() {
        let field = format!("{at}.claims.{}", claim.name());
        if let Some(matcher) = pair_matcher(exact, regexp, &field, claim.name())? {
            claims = claims.require(claim, matcher);
        }
    }
    Ok(IdentityRule { identity, claims })
}

fn convert_attestation(a: NativeAttestation, at: &str) -> DocResult<AttestationRule> {
    if a.name.trim().is_empty() {
        return Err(invalid(format!("{at}.name"), "an attestation name must not be empty"));
    }
    let (types, types_at): (Vec<String>, String) = match (a.predicate_type, a.predicate_types) {
        (Some(t), None) => (vec![t], format!("{at}.predicateType")),
        (None, Some(list)) if !list.is_empty() => (list, format!("{at}.predicateTypes")),
        (None, Some(_)) => return Err(empty(format!("{at}.predicateTypes"), "predicateTypes")),
        (Some(_), Some(_)) => return Err(conflict(at, "`predicateType` and `predicateTypes` exclude each other")),
        (None, None) => return Err(conflict(at, "an attestation needs `predicateType` or `predicateTypes`")),
    };
    let mut resolved = Vec::new();
    for (i, t) in types.iter().enumerate() {
        let url = predicate::resolve_predicate_type(t).map_err(|e| invalid(format!("{types_at}[{i}]"), e))?;
        if !resolved.contains(&url) {
            resolved.push(url);
        }
    }
    let builder = pair_matcher(a.builder_id, a.builder_id_reg_exp, &format!("{at}.builderId"), "builderId")?;
    let source = pair_matcher(
        a.source_repository,
        a.source_repository_reg_exp,
        &format!("{at}.sourceRepository"),
        "sourceRepository",
    )?;
    let mut generic = Vec::new();
    for (i, c) in a.constraints.into_iter().enumerate() {
        let at = format!("{at}.constraints[{i}]");
        let path = PredicatePath::parse(&c.path).map_err(|e| invalid(format!("{at}.path"), e))?;
        let expected = match (c.equals, c.regexp) {
            (Some(value), None) => ValueMatcher::Equals(value),
            (None, Some(re)) => ValueMatcher::String(super::regex_matcher(&re, &format!("{at}.regexp"))?),
            (Some(_), Some(_)) => return Err(conflict(at, "`equals` and `regexp` exclude each other")),
            (None, None) => return Err(conflict(at, "a constraint needs `equals` or `regexp`")),
        };
        generic.push(PredicateConstraint { path, expected });
    }
    let mut accepts = Vec::new();
    for predicate_type in resolved {
        let mut constraints = Vec::new();
        if let Some(m) = &builder {
            constraints.push(predicate::builder_id_constraint(&predicate_type, m).ok_or_else(|| {
                invalid(format!("{at}.builderId"), format!("builderId applies to SLSA provenance only, not {predicate_type}"))
            })?);
        }
        if let Some(m) = &source {
            constraints.push(predicate::source_repository_constraint(&predicate_type, m).ok_or_else(|| {
                invalid(
                    format!("{at}.sourceRepository"),
                    format!("sourceRepository applies to SLSA provenance only, not {predicate_type}"),
                )
            })?);
        }
        constraints.extend(generic.iter().cloned());
        accepts.push(PredicateRule {
            predicate_type,
            constraints,
        });
    }
    Ok(AttestationRule { name: a.name, accepts })
}
