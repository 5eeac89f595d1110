//! Kyverno's `ClusterPolicy` (`kyverno.io/v1`), the fields airlock writes.

use super::{BreakGlassAdmission, Document, IdentityRef, Metadata, MirrorPolicy};

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Spec<'a> {
    validation_failure_action: &'static str,
    background: bool,
    webhook_timeout_seconds: u32,
    rules: Vec<Rule<'a>>,
}

/// A rule matching Pods, with either a `validate` or a `verifyImages` part.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    name: &'static str,
    #[serde(rename = "match")]
    match_pods: Match,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclude: Option<Match>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validate: Option<Validate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_images: Option<Vec<VerifyImages<'a>>>,
}

#[derive(serde::Serialize)]
struct Match {
    any: Vec<ResourceFilter>,
}

#[derive(serde::Serialize)]
struct ResourceFilter {
    resources: Resources,
}

#[derive(serde::Serialize)]
struct Resources {
    kinds: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<Vec<String>>,
}

#[derive(serde::Serialize)]
struct Validate {
    message: String,
    pattern: PodPattern,
}

#[derive(serde::Serialize)]
struct PodPattern {
    spec: ContainersPattern,
}

/// Every container list a Pod has; `=(…)` makes a list optional.
#[derive(serde::Serialize)]
struct ContainersPattern {
    #[serde(rename = "=(ephemeralContainers)")]
    ephemeral_containers: Vec<ImagePattern>,
    #[serde(rename = "=(initContainers)")]
    init_containers: Vec<ImagePattern>,
    containers: Vec<ImagePattern>,
}

#[derive(serde::Serialize)]
struct ImagePattern {
    image: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyImages<'a> {
    image_references: Vec<String>,
    mutate_digest: bool,
    verify_digest: bool,
    required: bool,
    attestors: Vec<AttestorSet<'a>>,
}

#[derive(serde::Serialize)]
struct AttestorSet<'a> {
    count: u32,
    entries: Vec<Attestor<'a>>,
}

/// One attestor: the site's key, or a publisher's keyless identity.
#[derive(serde::Serialize)]
struct Attestor<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<Keys<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyless: Option<IdentityRef<'a>>,
    /// Signature annotations that must match (the site key's
    /// `dev.airlock.break-glass: "false"` when break-glass images are refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<std::collections::BTreeMap<&'static str, &'static str>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Keys<'a> {
    public_keys: &'a str,
    signature_algorithm: &'static str,
    rekor: Rekor,
    ctlog: Ctlog,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Rekor {
    ignore_tlog: bool,
}

#[derive(serde::Serialize)]
struct Ctlog {
    #[serde(rename = "ignoreSCT")]
    ignore_sct: bool,
}

fn pods() -> Match {
    pods_in(None)
}

fn pods_in(namespaces: Option<&[String]>) -> Match {
    Match { any: vec![ResourceFilter { resources: Resources { kinds: vec!["Pod"], namespaces: namespaces.map(<[String]>::to_vec) } }] }
}

/// Enforce: Pods run only images from the mirror, and those must be signed
/// by the site key (nothing is logged: `ignoreTlog`, `ignoreSCT`) or a
/// listed publisher, pinned by digest.
pub(super) fn document(policy: &MirrorPolicy) -> Document<'_, Spec<'_>> {
    let pattern = format!("{}/*", policy.mirror);
    let image = || vec![ImagePattern { image: pattern.clone() }];
    let only_mirror = Rule {
        name: "only-mirror-images",
        match_pods: pods(),
        exclude: None,
        validate: Some(Validate {
            message: format!("images must come from the internal mirror {}/", policy.mirror),
            pattern: PodPattern { spec: ContainersPattern { ephemeral_containers: image(), init_containers: image(), containers: image() } },
        }),
        verify_images: None,
    };
    let mut rules = vec![only_mirror];
    match &policy.break_glass {
        BreakGlassAdmission::Allow => rules.push(signed(policy, "mirror-images-signed", &pattern, pods(), None, false)),
        BreakGlassAdmission::Refuse => rules.push(signed(policy, "mirror-images-signed", &pattern, pods(), None, true)),
        BreakGlassAdmission::OnlyIn(namespaces) => {
            let elsewhere = Some(pods_in(Some(namespaces)));
            rules.push(signed(policy, "mirror-images-signed", &pattern, pods(), elsewhere, true));
            rules.push(signed(policy, "break-glass-namespaces", &pattern, pods_in(Some(namespaces)), None, false));
        }
    }
    Document {
        api_version: "kyverno.io/v1",
        kind: "ClusterPolicy",
        metadata: Metadata { name: &policy.name },
        spec: Spec { validation_failure_action: "Enforce", background: false, webhook_timeout_seconds: 30, rules },
    }
}

/// The `verifyImages` rule: the site key (which must say the image was not
/// admitted by break-glass, when `refuse_break_glass`) or a publisher.
fn signed<'a>(policy: &'a MirrorPolicy, name: &'static str, pattern: &str, match_pods: Match, exclude: Option<Match>, refuse_break_glass: bool) -> Rule<'a> {
    let site_key = Attestor {
        keys: Some(Keys {
            public_keys: policy.key_pem.trim_end(),
            signature_algorithm: "sha256",
            rekor: Rekor { ignore_tlog: true },
            ctlog: Ctlog { ignore_sct: true },
        }),
        keyless: None,
        annotations: refuse_break_glass.then(|| [(super::BREAK_GLASS_ANNOTATION, "false")].into()),
    };
    let publishers = policy.identities.iter().map(|identity| Attestor { keys: None, keyless: Some(identity.into()), annotations: None });
    Rule {
        name,
        match_pods,
        exclude,
        validate: None,
        verify_images: Some(vec![VerifyImages {
            image_references: vec![pattern.to_string()],
            mutate_digest: true,
            verify_digest: true,
            required: true,
            attestors: vec![AttestorSet { count: 1, entries: std::iter::once(site_key).chain(publishers).collect() }],
        }]),
    }
}
