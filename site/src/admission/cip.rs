//! policy-controller's `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`),
//! the fields airlock writes.

use super::{Document, IdentityRef, Metadata, MirrorPolicy};

#[derive(serde::Serialize)]
pub(super) struct Spec<'a> {
    mode: &'static str,
    images: Vec<ImageGlob>,
    authorities: Vec<Authority<'a>>,
}

#[derive(serde::Serialize)]
struct ImageGlob {
    glob: String,
}

/// One authority: the site's key, or a publisher's keyless identities.
#[derive(serde::Serialize)]
struct Authority<'a> {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Key<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyless: Option<Keyless<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Key<'a> {
    hash_algorithm: &'static str,
    data: &'a str,
}

#[derive(serde::Serialize)]
struct Keyless<'a> {
    identities: Vec<IdentityRef<'a>>,
}

/// Enforce: images under the mirror need the site key's signature (no
/// `ctlog`: re-signatures are not logged) or a listed publisher's.
pub(super) fn document(policy: &MirrorPolicy) -> Document<'_, Spec<'_>> {
    let site_key = Authority {
        name: "site-key".into(),
        key: Some(Key { hash_algorithm: "sha256", data: &policy.key_pem }),
        keyless: None,
    };
    let publishers = policy.identities.iter().enumerate().map(|(i, identity)| Authority {
        name: format!("publisher-{}", i + 1),
        key: None,
        keyless: Some(Keyless { identities: vec![identity.into()] }),
    });
    Document {
        api_version: "policy.sigstore.dev/v1beta1",
        kind: "ClusterImagePolicy",
        metadata: Metadata { name: &policy.name },
        spec: Spec {
            mode: "enforce",
            images: vec![ImageGlob { glob: format!("{}/**", policy.mirror) }],
            authorities: std::iter::once(site_key).chain(publishers).collect(),
        },
    }
}
