//! Sigstore policy-controller `ClusterImagePolicy` documents
//! (`policy.sigstore.dev/v1beta1` and `v1alpha1`, which share the fields
//! airlock reads), mapped onto the model with policy-controller's meaning.
//!
//! Every field of the schema is named below. Fields airlock cannot evaluate
//! offline are refused with an error naming the policy, the authority and
//! the field; none is silently dropped. The decisions, field by field, are
//! in docs/policy.md ("ClusterImagePolicy").

use super::error::{conflict, empty, invalid, unsupported, DocResult};
use super::model::{
    AuthorityKind, AuthorityRule, Evidence, IdentityRule, Mode, Rule, RuleFormat, SignatureFormat, SignerRule,
    StaticAction, VerifyRule,
};
use super::predicate::{self, AttestationRule, PredicateRule};
use super::{compile_glob, exactly_one, identity_policy, unique, Context, DocumentOutput};
use crate::check::identity::WorkflowClaimRule;
use crate::check::signature::Requirements;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// The API group.
pub const GROUP: &str = "policy.sigstore.dev";
/// The apiVersions read.
pub const API_VERSIONS: [&str; 2] = ["policy.sigstore.dev/v1beta1", "policy.sigstore.dev/v1alpha1"];
/// The kind.
pub const KIND: &str = "ClusterImagePolicy";

/// The public-good instances, which name the same trust airlock's default
/// trusted root holds. Any other instance is trust material the policy
/// would choose, which airlock does not let a policy do.
const PUBLIC_FULCIO: &str = "https://fulcio.sigstore.dev";
const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";

/// policy-controller's own admission check accepts only these predicate
/// types (pkg/apis/policy/common: ValidPredicateTypes).
const POLICY_CONTROLLER_PREDICATE_TYPES: [&str; 7] =
    ["custom", "slsaprovenance", "spdx", "spdxjson", "cyclonedx", "link", "vuln"];

/// The document without `apiVersion` and `kind`, which dispatch consumed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    metadata: Metadata,
    spec: Spec,
    /// Written by the controller, not by the policy author: not policy.
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<serde::de::IgnoredAny>,
}

/// Kubernetes object metadata: only `name` means anything here; labels,
/// annotations, uid and the rest of what `kubectl get -o yaml` prints are
/// not policy.
#[derive(Deserialize)]
struct Metadata {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    images: Vec<ImagePattern>,
    #[serde(default)]
    authorities: Vec<Authority>,
    policy: Option<Value>,
    mode: Option<String>,
    #[serde(rename = "match")]
    match_resources: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagePattern {
    glob: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Authority {
    name: Option<String>,
    key: Option<KeyRef>,
    keyless: Option<KeylessRef>,
    #[serde(rename = "static")]
    static_ref: Option<StaticRef>,
    source: Option<Vec<Source>>,
    ctlog: Option<TLog>,
    attestations: Option<Vec<Attestation>>,
    #[serde(rename = "rfc3161timestamp")]
    rfc3161_timestamp: Option<Rfc3161Timestamp>,
    signature_format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeyRef {
    data: Option<String>,
    secret_ref: Option<Value>,
    kms: Option<String>,
    hash_algorithm: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeylessRef {
    url: Option<String>,
    identities: Option<Vec<Identity>>,
    #[serde(rename = "ca-cert")]
    ca_cert: Option<Value>,
    trust_root_ref: Option<String>,
    #[serde(rename = "insecureIgnoreSCT")]
    insecure_ignore_sct: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Identity {
    issuer: Option<String>,
    subject: Option<String>,
    issuer_reg_exp: Option<String>,
    subject_reg_exp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticRef {
    action: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Source {
    oci: Option<String>,
    signature_pull_secrets: Option<Value>,
    tag_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TLog {
    url: Option<String>,
    trust_root_ref: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attestation {
    name: Option<String>,
    #[serde(rename = "predicateType")]
    predicate_type: Option<String>,
    policy: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Rfc3161Timestamp {
    trust_root_ref: Option<String>,
}

/// Parse one ClusterImagePolicy.
pub(crate) fn parse(value: Value, api_version: &str, ctx: &mut Context<'_>) -> DocResult<DocumentOutput> {
    let doc: Document = super::typed(value)?;
    let name = match doc.metadata.name {
        Some(n) if !n.trim().is_empty() => n,
        _ => return Err(invalid("metadata.name", "a ClusterImagePolicy needs metadata.name")),
    };
    let rule = convert(doc.spec, &name, api_version, ctx).map_err(|e| e.in_rule(&name))?;
    Ok(DocumentOutput {
        rules: vec![rule],
        unmatched: None,
        trust_root: None,
        vulnerabilities: None,
        allowed_registries: None,
        break_glass: None,
    })
}

fn convert(spec: Spec, name: &str, api_version: &str, ctx: &mut Context<'_>) -> DocResult<Rule> {
    if spec.policy.is_some() {
        return Err(unsupported(
            "spec.policy",
            "CUE/Rego policies are not evaluated by airlock; express the checks as attestation constraints in an \
             airlock ImportPolicy",
        ));
    }
    if spec.match_resources.is_some() {
        return Err(unsupported(
            "spec.match",
            "`match` selects Kubernetes resources, and there are none at the import gate",
        ));
    }
    let mode = match spec.mode.as_deref() {
        None | Some("enforce") => Mode::Enforce,
        Some("warn") => {
            ctx.warn(Some(name), None, "mode warn: images this policy refuses are still imported, with a warning");
            Mode::Warn
        }
        Some(other) => return Err(invalid("spec.mode", format!("unsupported mode {other:?} (enforce or warn)"))),
    };
    if spec.images.is_empty() {
        return Err(empty("spec.images", "spec.images"));
    }
    let images = spec
        .images
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("spec.images[{i}].glob");
            match &p.glob {
                Some(g) if !g.is_empty() => compile_glob(g, &at),
                _ => Err(invalid(at, "missing glob")),
            }
        })
        .collect::<DocResult<Vec<_>>>()?;
    if spec.authorities.is_empty() {
        return Err(empty("spec.authorities", "spec.authorities"));
    }
    let mut authorities = Vec::new();
    for (i, authority) in spec.authorities.into_iter().enumerate() {
        let authority_name = match &authority.name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("authority-{i}"),
        };
        let at = format!("spec.authorities[{i}]");
        let converted = convert_authority(authority, &authority_name, &at, name, ctx)
            .map_err(|e| e.in_authority(&authority_name))?;
        authorities.push(converted);
    }
    unique(authorities.iter().map(|a| a.name.as_str()), "authority", |i| {
        format!("spec.authorities[{i}].name")
    })?;
    Ok(Rule {
        name: name.to_string(),
        format: RuleFormat::ClusterImagePolicy {
            api_version: api_version.to_string(),
        },
        document: ctx.document,
        images,
        mode,
        authorities,
        require_sbom: false,
        allow_unsigned_sbom: false,
        name_binding: None,
        require_platform_signatures: false,
    })
}

fn same_url(url: &str, expected: &str) -> bool {
    url.trim_end_matches('/') == expected
}

/// Where an authority is written: its name, its field path and the policy
/// (CIP) it belongs to, for errors and warnings.
#[derive(Clone, Copy)]
struct AuthorityAt<'a> {
    name: &'a str,
    at: &'a str,
    policy: &'a str,
}

fn convert_authority(a: Authority, name: &str, at: &str, policy: &str, ctx: &mut Context<'_>) -> DocResult<AuthorityRule> {
    exactly_one(
        at,
        &[(a.key.is_some(), "key"), (a.keyless.is_some(), "keyless"), (a.static_ref.is_some(), "static")],
    )?;
    let w = AuthorityAt { name, at, policy };
    if let Some(s) = &a.static_ref {
        return convert_static(s, &a, w, ctx);
    }
    let keyless = a.keyless.is_some();
    let mut requirements = Requirements::default();
    let signer = match (a.keyless, a.key) {
        (Some(k), _) => keyless_signer(k, w, &mut requirements, ctx)?,
        (None, Some(k)) => key_signer(k, at)?,
        (None, None) => return Err(conflict(at, "an authority needs exactly one of `key`, `keyless` or `static`")),
    };
    requirements = log_requirements(a.ctlog.as_ref(), keyless, requirements, w, ctx)?;
    if let Some(ts) = &a.rfc3161_timestamp {
        if let Some(ref_name) = &ts.trust_root_ref {
            ctx.trust_root_ref(ref_name, &format!("{at}.rfc3161timestamp.trustRootRef"));
        }
        requirements = requirements.require_signed_timestamp();
    }
    Ok(AuthorityRule {
        name: name.to_string(),
        kind: AuthorityKind::Verify(VerifyRule {
            signer,
            requirements,
            evidence: evidence(a.attestations, w, ctx)?,
            signature_sources: signature_sources(a.source.unwrap_or_default(), at)?,
            signature_format: signature_format(a.signature_format.as_deref(), at)?,
        }),
    })
}

/// A `static` authority: pass or fail, with nothing else beside it.
fn convert_static(s: &StaticRef, a: &Authority, w: AuthorityAt<'_>, ctx: &mut Context<'_>) -> DocResult<AuthorityRule> {
    let at = w.at;
    for (present, field) in [
        (a.attestations.is_some(), "attestations"),
        (a.source.is_some(), "source"),
        (a.ctlog.is_some(), "ctlog"),
        (a.rfc3161_timestamp.is_some(), "rfc3161timestamp"),
        (a.signature_format.is_some(), "signatureFormat"),
    ] {
        if present {
            return Err(conflict(format!("{at}.{field}"), format!("`static` and `{field}` exclude each other")));
        }
    }
    let action = match s.action.as_deref() {
        Some("pass") => {
            ctx.warn(Some(w.policy), Some(w.name), "static pass: images this policy matches pass it without any evidence");
            StaticAction::Pass
        }
        Some("fail") => StaticAction::Fail { message: s.message.clone() },
        Some(other) => {
            return Err(invalid(format!("{at}.static.action"), format!("unsupported action {other:?} (pass or fail)")))
        }
        None => return Err(invalid(format!("{at}.static.action"), "missing action (pass or fail)")),
    };
    Ok(AuthorityRule {
        name: w.name.to_string(),
        kind: AuthorityKind::Static(action),
    })
}

/// A `keyless` authority's signer: Fulcio identities, chained to airlock's
/// trusted root (or a TrustRoot that describes it).
fn keyless_signer(
    k: KeylessRef,
    w: AuthorityAt<'_>,
    requirements: &mut Requirements,
    ctx: &mut Context<'_>,
) -> DocResult<SignerRule> {
    let at = w.at;
    if k.ca_cert.is_some() {
        return Err(unsupported(
            format!("{at}.keyless.ca-cert"),
            "a CA pinned in the policy cannot be honoured: airlock chains certificates to its trusted root \
             (--trusted-root or the TUF snapshot); remove ca-cert and give that root instead",
        ));
    }
    // A TrustRoot the file carries and airlock checks against its own
    // trusted root (trust_root.rs) stands for the Fulcio instance: the
    // url then only says where certificates were issued.
    match (&k.trust_root_ref, &k.url) {
        (Some(name), _) => ctx.trust_root_ref(name, &format!("{at}.keyless.trustRootRef")),
        (None, Some(url)) if !same_url(url, PUBLIC_FULCIO) => {
            return Err(unsupported(
                format!("{at}.keyless.url"),
                format!(
                    "Fulcio instance {url:?} would choose trust material from the policy; airlock trusts the CAs \
                     of its trusted root (--trusted-root) and accepts only {PUBLIC_FULCIO} (or no url) here, or \
                     a trustRootRef to a TrustRoot document that describes that trusted root"
                ),
            ));
        }
        (None, _) => {}
    }
    if k.insecure_ignore_sct == Some(true) {
        ctx.warn(Some(w.policy), Some(w.name), "insecureIgnoreSCT: certificate transparency (SCT) not required");
        *requirements = requirements.without_sct_unsafe();
    }
    let identities = k.identities.unwrap_or_default();
    if identities.is_empty() {
        return Err(empty(format!("{at}.keyless.identities"), "keyless.identities").with_hint(
            "without identities any Fulcio certificate would pass; policy-controller only warns, airlock refuses \
             (write subjectRegExp: '.*' and an issuer to accept any subject explicitly)",
        ));
    }
    let identities = identities
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let at = format!("{at}.keyless.identities[{i}]");
            Ok(IdentityRule {
                identity: identity_policy((id.issuer, id.issuer_reg_exp), (id.subject, id.subject_reg_exp), &at)?,
                claims: WorkflowClaimRule::default(),
            })
        })
        .collect::<DocResult<Vec<_>>>()?;
    Ok(SignerRule::Keyless(identities))
}

/// A `key` authority's signer: the PEM key in `data`, nothing fetched.
fn key_signer(k: KeyRef, at: &str) -> DocResult<SignerRule> {
    if k.kms.is_some() {
        return Err(unsupported(
            format!("{at}.key.kms"),
            "KMS keys cannot be fetched offline; export the public key and put it in key.data",
        ));
    }
    if k.secret_ref.is_some() {
        return Err(unsupported(
            format!("{at}.key.secretRef"),
            "Kubernetes secrets cannot be read at the import gate; put the public key in key.data",
        ));
    }
    match k.hash_algorithm.as_deref() {
        None | Some("sha256") => {}
        Some(other) => {
            return Err(unsupported(
                format!("{at}.key.hashAlgorithm"),
                format!("hash algorithm {other:?}: airlock verifies with the key's default scheme (sha256 for the supported keys)"),
            ))
        }
    }
    let Some(data) = k.data else {
        return Err(conflict(format!("{at}.key"), "a key needs `data` (kms and secretRef are not supported)"));
    };
    Ok(SignerRule::Key(vec![super::public_key(&data, &format!("{at}.key.data"))?]))
}

/// The transparency log, as policy-controller decides it (webhook
/// checkOptsFromAuthority / rekorClientAndKeysFromAuthority): keyless
/// without ctlog verifies against the public Rekor keys; a key authority
/// without ctlog, and `ctlog: {}`, skip the log.
fn log_requirements(
    ctlog: Option<&TLog>,
    keyless: bool,
    requirements: Requirements,
    w: AuthorityAt<'_>,
    ctx: &mut Context<'_>,
) -> DocResult<Requirements> {
    let at = w.at;
    match ctlog {
        Some(TLog { trust_root_ref: Some(ref_name), .. }) => ctx.trust_root_ref(ref_name, &format!("{at}.ctlog.trustRootRef")),
        Some(TLog { url: Some(url), .. }) if !same_url(url, PUBLIC_REKOR) => {
            return Err(unsupported(
                format!("{at}.ctlog.url"),
                format!(
                    "Rekor instance {url:?} would choose trust material from the policy; airlock verifies log proofs \
                     against its trusted root and accepts only {PUBLIC_REKOR} (or no url) here"
                ),
            ))
        }
        Some(TLog { url: Some(_), .. }) => {}
        Some(TLog { url: None, .. }) => {
            ctx.warn(Some(w.policy), Some(w.name), "`ctlog: {}` disables transparency-log verification, as in policy-controller");
            return Ok(requirements.without_transparency_log_unsafe());
        }
        None if !keyless => {
            ctx.warn(
                Some(w.policy),
                Some(w.name),
                "key authority without ctlog: policy-controller does not verify the transparency log for it, and \
                 neither does airlock; add `ctlog: {url: https://rekor.sigstore.dev}` to require it",
            );
            return Ok(requirements.without_transparency_log_unsafe());
        }
        None => {}
    }
    Ok(requirements)
}

/// `source[].oci`: other repositories to look for signatures in.
fn signature_sources(sources: Vec<Source>, at: &str) -> DocResult<Vec<String>> {
    let mut found = Vec::new();
    for (i, source) in sources.into_iter().enumerate() {
        let at = format!("{at}.source[{i}]");
        if source.signature_pull_secrets.is_some() {
            return Err(unsupported(
                format!("{at}.signaturePullSecrets"),
                "pull secrets are Kubernetes credentials; the connected side uses its own registry credentials",
            ));
        }
        if source.tag_prefix.is_some() {
            return Err(unsupported(format!("{at}.tagPrefix"), "signature tag prefixes are not supported"));
        }
        match source.oci {
            Some(oci) if !oci.is_empty() => found.push(oci),
            _ => return Err(invalid(format!("{at}.oci"), "missing oci")),
        }
    }
    Ok(found)
}

fn signature_format(format: Option<&str>, at: &str) -> DocResult<Option<SignatureFormat>> {
    match format {
        None => Ok(None),
        Some("legacy") => Ok(Some(SignatureFormat::Legacy)),
        Some("bundle") => Ok(Some(SignatureFormat::Bundle)),
        Some(other) => Err(invalid(format!("{at}.signatureFormat"), format!("unsupported format {other:?} (legacy or bundle)"))),
    }
}

/// policy-controller verifies either signatures or, when attestations are
/// listed, attestations only (webhook ValidatePolicy).
fn evidence(attestations: Option<Vec<Attestation>>, w: AuthorityAt<'_>, ctx: &mut Context<'_>) -> DocResult<Evidence> {
    let at = w.at;
    let attestations = attestations
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, att)| convert_attestation(att, &format!("{at}.attestations[{i}]"), w.policy, w.name, ctx))
        .collect::<DocResult<Vec<_>>>()?;
    unique(attestations.iter().map(|a| a.name.as_str()), "attestation", |i| {
        format!("{at}.attestations[{i}].name")
    })?;
    Ok(if attestations.is_empty() { Evidence::Signature } else { Evidence::Attestations(attestations) })
}

fn convert_attestation(
    att: Attestation,
    at: &str,
    policy: &str,
    authority: &str,
    ctx: &mut Context<'_>,
) -> DocResult<AttestationRule> {
    let name = match att.name {
        Some(n) if !n.is_empty() => n,
        _ => return Err(invalid(format!("{at}.name"), "an attestation needs a name")),
    };
    if att.policy.is_some() {
        return Err(unsupported(
            format!("{at}.policy"),
            format!(
                "attestation {name:?}: CUE/Rego policies are not evaluated by airlock; express the checks as \
                 attestation constraints in an airlock ImportPolicy"
            ),
        ));
    }
    let Some(predicate_type) = att.predicate_type.filter(|t| !t.is_empty()) else {
        return Err(invalid(format!("{at}.predicateType"), "missing predicateType"));
    };
    let url = predicate::resolve_predicate_type(&predicate_type).map_err(|e| invalid(format!("{at}.predicateType"), e))?;
    if !POLICY_CONTROLLER_PREDICATE_TYPES.contains(&predicate_type.as_str()) {
        ctx.warn(
            Some(policy),
            Some(authority),
            &format!(
                "attestation {name:?}: predicateType {predicate_type:?} is accepted by airlock (as by cosign) but \
                 policy-controller's admission validation accepts only {}",
                POLICY_CONTROLLER_PREDICATE_TYPES.join(", ")
            ),
        );
    }
    Ok(AttestationRule {
        name,
        accepts: vec![PredicateRule {
            predicate_type: url,
            constraints: Vec::new(),
        }],
    })
}
