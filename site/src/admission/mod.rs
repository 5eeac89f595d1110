//! `airlock policy export`: admission policies that admit exactly the
//! mirror's images signed by the site's key, for the two admission
//! controllers that verify cosign signatures.
//!
//! - policy-controller `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`):
//!   one policy whose `spec.images[].glob` is `REGISTRY/PREFIX/**`, with a
//!   `key` authority holding the site's public key. No `ctlog` block: the
//!   re-signatures are not in any transparency log, and v1beta1's `TLog`
//!   has only `url` and `trustRootRef` (there is no `enabled` field to turn
//!   it off); a key authority without `ctlog` is checked against no log.
//!   Publisher identities become `keyless` authorities; a policy passes
//!   when any authority does. Images outside the glob are not matched by
//!   this policy: policy-controller admits unmatched images unless its
//!   `config-policy-controller` ConfigMap sets `no-match-policy: deny`.
//! - Kyverno `ClusterPolicy` (`kyverno.io/v1`): a `validate` rule refusing
//!   Pods whose containers, init containers or ephemeral containers use an
//!   image outside the mirror, and a `verifyImages` rule requiring, for the
//!   mirror's images, a signature by the site's key (`rekor.ignoreTlog` and
//!   `ctlog.ignoreSCT`: nothing is logged) or by a listed publisher
//!   identity, pinning the digest (`mutateDigest`, `verifyDigest`).
//!
//! Each policy is a set of serde structs ([`cip`], [`kyverno`]) written by
//! serde_yaml_ng, which quotes what needs quoting and writes the key as a
//! block literal; a comment header saying what the policy admits comes
//! first.

mod cip;
mod kyverno;

use crate::{Error, Result};
use keys::PublicKey;

/// A keyless publisher identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The OIDC issuer, exactly.
    pub issuer: String,
    /// The certificate identity (SAN), exactly.
    pub subject: String,
}

impl Identity {
    /// Parse `ISSUER=SUBJECT` (split at the first `=` after the issuer's
    /// scheme: issuer URLs do not contain `=`).
    pub fn parse(text: &str) -> Result<Self> {
        let (issuer, subject) = text
            .split_once('=')
            .filter(|(i, s)| !i.is_empty() && !s.is_empty())
            .ok_or_else(|| Error::Invalid(format!("identity {text:?} is not ISSUER=SUBJECT")))?;
        if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
            return Err(Error::Invalid(format!("identity issuer {issuer:?} is not a URL")));
        }
        Ok(Self { issuer: issuer.into(), subject: subject.into() })
    }
}

/// What the policies admit.
#[derive(Debug, Clone)]
pub struct MirrorPolicy {
    /// `metadata.name`.
    pub name: String,
    /// `REGISTRY[/PREFIX]` as workloads pull it.
    pub mirror: String,
    /// The site's public key, PEM.
    pub key_pem: String,
    /// The key's fingerprint, for comments.
    pub key_fingerprint: String,
    /// Publishers whose own keyless signatures are also accepted.
    pub identities: Vec<Identity>,
    /// What happens to images `load` re-signed after break-glass.
    pub break_glass: BreakGlassAdmission,
}

/// Whether admission lets in images break-glass admitted at the import
/// gate. They are told apart by the site re-signature's
/// `dev.airlock.break-glass` annotation, which Kyverno can match
/// (`attestors[].entries[].annotations`) and policy-controller cannot (its
/// authorities do not read signature annotations).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BreakGlassAdmission {
    /// No rule about them (the default).
    #[default]
    Allow,
    /// Refuse them everywhere.
    Refuse,
    /// Refuse them except in these namespaces.
    OnlyIn(Vec<String>),
}

/// The re-signature annotation admission rules match.
pub const BREAK_GLASS_ANNOTATION: &str = crate::load::BREAK_GLASS_ANNOTATION;

/// `apiVersion`, `kind`, `metadata.name` and a spec: every Kubernetes
/// object these policies are.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a, S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: S,
}

#[derive(serde::Serialize)]
struct Metadata<'a> {
    name: &'a str,
}

/// A publisher identity as both controllers spell it.
#[derive(serde::Serialize)]
struct IdentityRef<'a> {
    issuer: &'a str,
    subject: &'a str,
}

impl<'a> From<&'a Identity> for IdentityRef<'a> {
    fn from(identity: &'a Identity) -> Self {
        Self { issuer: &identity.issuer, subject: &identity.subject }
    }
}

/// `header` (comment lines) then `document` as YAML.
fn render<S: serde::Serialize>(header: &[String], document: &Document<'_, S>) -> String {
    let comments: String = header.iter().map(|line| format!("# {line}\n")).collect();
    // Only strings, booleans and integers under string keys: always serialisable.
    comments + &serde_yaml_ng::to_string(document).expect("policies serialise")
}

impl MirrorPolicy {
    /// Build from the site's key and the mirror's name; refuses names that
    /// are not a registry host with an optional path.
    pub fn new(name: &str, mirror: &str, key: &PublicKey, key_pem: &str, identities: Vec<Identity>) -> Result<Self> {
        let mirror = mirror.trim_end_matches('/').to_string();
        let (host, path) = mirror.split_once('/').unwrap_or((&mirror, ""));
        let probe = if path.is_empty() { "x".to_string() } else { format!("{path}/x") };
        oci::ImageRef::new(host, &probe, None, None)
            .map_err(|e| Error::Invalid(format!("mirror {mirror:?}: {e}")))?;
        if !host.contains(['.', ':']) && host != "localhost" {
            return Err(Error::Invalid(format!("mirror {mirror:?} must start with a registry host (with a dot or a port)")));
        }
        let valid_name = !name.is_empty()
            && name.len() <= 253
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_name {
            return Err(Error::Invalid(format!("policy name {name:?} is not a Kubernetes object name")));
        }
        Ok(Self {
            name: name.into(),
            mirror,
            key_pem: key_pem.trim().to_string() + "\n",
            key_fingerprint: key.fingerprint().to_string(),
            identities,
            break_glass: BreakGlassAdmission::Allow,
        })
    }

    /// Say what happens to break-glass images; refuses namespace names that
    /// are not Kubernetes names.
    pub fn with_break_glass(mut self, break_glass: BreakGlassAdmission) -> Result<Self> {
        if let BreakGlassAdmission::OnlyIn(namespaces) = &break_glass {
            let bad = namespaces.iter().find(|n| {
                n.is_empty()
                    || n.len() > 63
                    || !n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    || n.starts_with('-')
                    || n.ends_with('-')
            });
            if let Some(bad) = bad {
                return Err(Error::Invalid(format!("namespace {bad:?} is not a Kubernetes namespace name")));
            }
        }
        self.break_glass = break_glass;
        Ok(self)
    }

    /// The policy-controller `ClusterImagePolicy`. Refused when break-glass
    /// images are to be refused: policy-controller cannot tell them apart.
    pub fn cluster_image_policy(&self) -> Result<String> {
        if self.break_glass != BreakGlassAdmission::Allow {
            return Err(Error::Invalid(
                "policy-controller cannot refuse break-glass images: its authorities do not read signature \
                 annotations (dev.airlock.break-glass); use --format kyverno"
                    .into(),
            ));
        }
        let header = [
            format!("airlock policy export: admit images under {}/ only when signed by the", self.mirror),
            format!("site key {} (re-signatures are not logged: no ctlog).", self.key_fingerprint),
            "Set no-match-policy: deny in config-policy-controller to refuse other images.".to_string(),
        ];
        Ok(render(&header, &cip::document(self)))
    }

    /// The Kyverno `ClusterPolicy`.
    pub fn kyverno_policy(&self) -> String {
        let mut header = vec![
            format!("airlock policy export: Pods may only run images from {}/, and those", self.mirror),
            format!("must be signed by the site key {} (not logged: ignoreTlog, ignoreSCT).", self.key_fingerprint),
        ];
        match &self.break_glass {
            BreakGlassAdmission::Allow => {}
            BreakGlassAdmission::Refuse => header.push("Images admitted by break-glass at the import gate are refused.".into()),
            BreakGlassAdmission::OnlyIn(ns) => {
                header.push(format!("Images admitted by break-glass at the import gate run only in: {}.", ns.join(", ")));
            }
        }
        render(&header, &kyverno::document(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::{parse, Node};

    fn key() -> (PublicKey, String) {
        let key = keys::SigningKey::generate().unwrap();
        (key.public_key().clone(), key.public_key_pem())
    }

    fn policy(identities: Vec<Identity>) -> MirrorPolicy {
        let (key, pem) = key();
        MirrorPolicy::new("airlock-mirror", "registry.site:5000/mirror/", &key, &pem, identities).unwrap()
    }

    fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
        path.iter().fold(node, |n, step| match (n, step.parse::<usize>()) {
            (Node::Seq(items), Ok(i)) => &items[i],
            _ => n.get(step).unwrap_or_else(|| panic!("no {step} in {path:?}")),
        })
    }

    fn s<'a>(node: &'a Node, path: &[&str]) -> &'a str {
        at(node, path).scalar().unwrap_or_else(|| panic!("{path:?} is not a scalar"))
    }

    fn len(node: &Node, path: &[&str]) -> usize {
        match at(node, path) {
            Node::Seq(items) => items.len(),
            Node::Map(entries) => entries.len(),
            _ => panic!("{path:?} is a scalar"),
        }
    }

    /// Every key of a map, to catch fields the schema does not have.
    fn keys<'a>(node: &'a Node, path: &[&str]) -> Vec<&'a str> {
        match at(node, path) {
            Node::Map(entries) => entries.iter().map(|(k, _)| k.scalar().unwrap()).collect(),
            _ => panic!("{path:?} is not a map"),
        }
    }

    #[test]
    fn cluster_image_policy_fields() {
        let p = policy(vec![Identity::parse("https://token.actions.githubusercontent.com=https://github.com/org/app/.github/workflows/release.yml@refs/heads/main").unwrap()]);
        let docs = parse(&p.cluster_image_policy().unwrap()).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(keys(d, &[]), ["apiVersion", "kind", "metadata", "spec"]);
        assert_eq!(s(d, &["apiVersion"]), "policy.sigstore.dev/v1beta1");
        assert_eq!(s(d, &["kind"]), "ClusterImagePolicy");
        assert_eq!(s(d, &["metadata", "name"]), "airlock-mirror");
        assert_eq!(keys(d, &["spec"]), ["mode", "images", "authorities"]);
        assert_eq!(s(d, &["spec", "mode"]), "enforce");
        assert_eq!(len(d, &["spec", "images"]), 1);
        assert_eq!(s(d, &["spec", "images", "0", "glob"]), "registry.site:5000/mirror/**");
        assert_eq!(len(d, &["spec", "authorities"]), 2);
        assert_eq!(keys(d, &["spec", "authorities", "0"]), ["name", "key"]);
        assert_eq!(keys(d, &["spec", "authorities", "0", "key"]), ["hashAlgorithm", "data"]);
        assert_eq!(s(d, &["spec", "authorities", "0", "key", "data"]), p.key_pem);
        PublicKey::from_pem(s(d, &["spec", "authorities", "0", "key", "data"])).unwrap();
        let id = &["spec", "authorities", "1", "keyless", "identities", "0"];
        assert_eq!(s(d, &[id.as_slice(), &["issuer"]].concat()), "https://token.actions.githubusercontent.com");
        assert!(s(d, &[id.as_slice(), &["subject"]].concat()).ends_with("@refs/heads/main"));
    }

    #[test]
    fn kyverno_policy_fields() {
        let p = policy(vec![Identity::parse("https://accounts.google.com=alice@example.com").unwrap()]);
        let docs = parse(&p.kyverno_policy()).unwrap();
        let d = &docs[0];
        assert_eq!(s(d, &["apiVersion"]), "kyverno.io/v1");
        assert_eq!(s(d, &["kind"]), "ClusterPolicy");
        assert_eq!(s(d, &["spec", "validationFailureAction"]), "Enforce");
        assert_eq!(s(d, &["spec", "background"]), "false");
        let validate = &["spec", "rules", "0", "validate", "pattern", "spec"];
        for field in ["=(ephemeralContainers)", "=(initContainers)", "containers"] {
            assert_eq!(s(d, &[validate.as_slice(), &[field, "0", "image"]].concat()), "registry.site:5000/mirror/*");
        }
        let verify = ["spec", "rules", "1", "verifyImages", "0"];
        assert_eq!(s(d, &[verify.as_slice(), &["imageReferences", "0"]].concat()), "registry.site:5000/mirror/*");
        for flag in ["mutateDigest", "verifyDigest", "required"] {
            assert_eq!(s(d, &[verify.as_slice(), &[flag]].concat()), "true");
        }
        let entries = [verify.as_slice(), &["attestors", "0", "entries"]].concat();
        assert_eq!(s(d, &[entries.as_slice(), &["0", "keys", "rekor", "ignoreTlog"]].concat()), "true");
        assert_eq!(s(d, &[entries.as_slice(), &["0", "keys", "ctlog", "ignoreSCT"]].concat()), "true");
        let pem = s(d, &[entries.as_slice(), &["0", "keys", "publicKeys"]].concat());
        assert_eq!(pem, p.key_pem.trim_end(), "block literal with strip chomping");
        PublicKey::from_pem(pem).unwrap();
        assert_eq!(s(d, &[entries.as_slice(), &["1", "keyless", "subject"]].concat()), "alice@example.com");
        assert_eq!(s(d, &[verify.as_slice(), &["attestors", "0", "count"]].concat()), "1");
    }

    #[test]
    fn awkward_strings_stay_strings() {
        let p = policy(vec![Identity::parse("https://issuer.example=a \"quoted\": #not-a-comment").unwrap()]);
        let docs = parse(&p.kyverno_policy()).unwrap();
        let subject = ["spec", "rules", "1", "verifyImages", "0", "attestors", "0", "entries", "1", "keyless", "subject"];
        assert_eq!(s(&docs[0], &subject), "a \"quoted\": #not-a-comment");
    }

    #[test]
    fn refuses_bad_inputs() {
        let (key, pem) = key();
        assert!(MirrorPolicy::new("airlock", "not a host", &key, &pem, vec![]).is_err());
        assert!(MirrorPolicy::new("airlock", "mirror", &key, &pem, vec![]).is_err());
        assert!(MirrorPolicy::new("Bad_Name", "r.site/m", &key, &pem, vec![]).is_err());
        assert!(MirrorPolicy::new("airlock", "r.site/UPPER", &key, &pem, vec![]).is_err());
        assert!(Identity::parse("no-equals").is_err());
        assert!(Identity::parse("=subject").is_err());
        assert!(Identity::parse("issuer=subject").is_err());
    }
}
