//! policy-controller `TrustRoot` documents (`policy.sigstore.dev/v1alpha1`),
//! the trust material a ClusterImagePolicy names by `trustRootRef`.
//!
//! A policy never chooses airlock's trust: airlock verifies against its own
//! trusted root (`--trusted-root`, the TUF snapshot or the bundle's). A
//! TrustRoot in the policy file is the same material written the way
//! policy-controller reads it, so one CIP file serves the cluster and the
//! import gate. It is accepted only when it names exactly the certificate
//! authorities, logs and timestamp authorities of the trusted root airlock
//! verifies with ([`NamedTrustRoot::check`]), so both tools decide with the
//! same keys. Only `spec.sigstoreKeys` is read: `remote` and `repository`
//! are fetched or unpacked by policy-controller, and are refused here.

use super::error::{invalid, unsupported, DocResult};
use super::DocumentOutput;
use serde::Deserialize;
use serde_yaml_ng::Value;
use sigstore_verify::trust_root::trusted_root::CertChain;
use sigstore_verify::trust_root::TrustedRoot;
use std::collections::BTreeSet;

/// The apiVersion read.
pub const API_VERSION: &str = "policy.sigstore.dev/v1alpha1";
/// The kind.
pub const KIND: &str = "TrustRoot";

/// The DER bytes of every key and certificate in a set of trust material,
/// by role: what two descriptions of it must agree on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Material {
    certificate_authorities: BTreeSet<Vec<u8>>,
    transparency_logs: BTreeSet<Vec<u8>>,
    ct_logs: BTreeSet<Vec<u8>>,
    timestamp_authorities: BTreeSet<Vec<u8>>,
}

/// A TrustRoot document: its name and the material it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTrustRoot {
    /// `metadata.name`, what `trustRootRef` names.
    pub name: String,
    /// 1-based document index in the policy file.
    pub document: usize,
    material: Material,
}

/// Why a TrustRoot does not describe the trusted root airlock verifies with.
#[derive(Debug, thiserror::Error)]
#[error(
    "TrustRoot {name:?} (policy document {document}) does not name the trust material airlock verifies with: {role}: \
     {detail}; write the TrustRoot from the same trusted_root.json (docs/interop.md)"
)]
pub struct TrustRootMismatch {
    /// The TrustRoot's name.
    pub name: String,
    /// Its document index.
    pub document: usize,
    /// Which part differs.
    pub role: &'static str,
    /// How.
    pub detail: String,
}

impl NamedTrustRoot {
    /// Refuse unless this TrustRoot names exactly `root`'s certificate
    /// authorities, transparency logs, CT logs and timestamp authorities.
    pub fn check(&self, root: &TrustedRoot) -> Result<(), TrustRootMismatch> {
        let ours = Material::of(root);
        let roles = [
            ("certificateAuthorities", &self.material.certificate_authorities, &ours.certificate_authorities),
            ("tLogs", &self.material.transparency_logs, &ours.transparency_logs),
            ("ctLogs", &self.material.ct_logs, &ours.ct_logs),
            ("timestampAuthorities", &self.material.timestamp_authorities, &ours.timestamp_authorities),
        ];
        for (role, theirs, ours) in roles {
            let extra = theirs.difference(ours).count();
            let missing = ours.difference(theirs).count();
            if extra + missing > 0 {
                return Err(TrustRootMismatch {
                    name: self.name.clone(),
                    document: self.document,
                    role,
                    detail: format!(
                        "{extra} key(s) or certificate(s) not in airlock's trusted root, {missing} of the trusted root's missing"
                    ),
                });
            }
        }
        Ok(())
    }
}

impl Material {
    fn of(root: &TrustedRoot) -> Self {
        let chains = |chains: Vec<&CertChain>| {
            chains.into_iter().flat_map(|c| c.certificates.iter().map(|e| e.raw_bytes.as_bytes().to_vec())).collect()
        };
        Self {
            certificate_authorities: chains(root.certificate_authorities.iter().map(|c| &c.cert_chain).collect()),
            transparency_logs: root.tlogs.iter().map(|l| l.public_key.raw_bytes.as_bytes().to_vec()).collect(),
            ct_logs: root.ctlogs.iter().map(|l| l.public_key.raw_bytes.as_bytes().to_vec()).collect(),
            timestamp_authorities: chains(root.timestamp_authorities.iter().map(|c| &c.cert_chain).collect()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    metadata: Metadata,
    spec: Spec,
    /// Written by the controller: not trust material.
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Metadata {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    sigstore_keys: Option<SigstoreKeys>,
    remote: Option<Value>,
    repository: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SigstoreKeys {
    certificate_authorities: Vec<Authority>,
    #[serde(default, rename = "tLogs")]
    t_logs: Vec<Log>,
    #[serde(default, rename = "ctLogs")]
    ct_logs: Vec<Log>,
    #[serde(default)]
    timestamp_authorities: Vec<Authority>,
}

/// A CA or TSA: `certChain` is base64 of the chain's PEM certificates.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Authority {
    #[allow(dead_code)]
    subject: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    uri: Option<serde::de::IgnoredAny>,
    cert_chain: String,
}

/// A log: `publicKey` is base64 of a PEM public key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Log {
    #[serde(rename = "baseURL")]
    #[allow(dead_code)]
    base_url: Option<serde::de::IgnoredAny>,
    hash_algorithm: Option<String>,
    public_key: String,
}

/// Parse one TrustRoot document.
pub(crate) fn parse(value: Value, document: usize) -> DocResult<DocumentOutput> {
    let doc: Document = super::typed(value)?;
    let name = match doc.metadata.name {
        Some(n) if !n.trim().is_empty() => n,
        _ => return Err(invalid("metadata.name", "a TrustRoot needs metadata.name")),
    };
    for (present, field) in [(doc.spec.remote.is_some(), "remote"), (doc.spec.repository.is_some(), "repository")] {
        if present {
            return Err(unsupported(
                format!("spec.{field}"),
                "a TrustRoot is read from spec.sigstoreKeys only: airlock fetches and unpacks no TUF repository a policy \
                 names; give it the trusted root with --trusted-root and write sigstoreKeys from it",
            ));
        }
    }
    let Some(keys) = doc.spec.sigstore_keys else {
        return Err(invalid("spec.sigstoreKeys", "a TrustRoot needs spec.sigstoreKeys"));
    };
    let material = Material {
        certificate_authorities: authorities(&keys.certificate_authorities, "spec.sigstoreKeys.certificateAuthorities")?,
        transparency_logs: logs(&keys.t_logs, "spec.sigstoreKeys.tLogs")?,
        ct_logs: logs(&keys.ct_logs, "spec.sigstoreKeys.ctLogs")?,
        timestamp_authorities: authorities(&keys.timestamp_authorities, "spec.sigstoreKeys.timestampAuthorities")?,
    };
    Ok(DocumentOutput {
        rules: Vec::new(),
        unmatched: None,
        allowed_registries: None,
        break_glass: None,
        vulnerabilities: None,
        trust_root: Some(NamedTrustRoot { name, document, material }),
    })
}

fn authorities(list: &[Authority], at: &str) -> DocResult<BTreeSet<Vec<u8>>> {
    let mut ders = BTreeSet::new();
    for (i, authority) in list.iter().enumerate() {
        ders.extend(pem_blocks(&authority.cert_chain, "CERTIFICATE", &format!("{at}[{i}].certChain"))?);
    }
    Ok(ders)
}

fn logs(list: &[Log], at: &str) -> DocResult<BTreeSet<Vec<u8>>> {
    let mut ders = BTreeSet::new();
    for (i, log) in list.iter().enumerate() {
        let at = format!("{at}[{i}]");
        match log.hash_algorithm.as_deref() {
            None | Some("sha-256" | "sha256") => {}
            Some(other) => return Err(invalid(format!("{at}.hashAlgorithm"), format!("unsupported hash algorithm {other:?} (sha-256)"))),
        }
        let keys = pem_blocks(&log.public_key, "PUBLIC KEY", &format!("{at}.publicKey"))?;
        if keys.len() != 1 {
            return Err(invalid(format!("{at}.publicKey"), format!("needs exactly one PEM public key, found {}", keys.len())));
        }
        ders.extend(keys);
    }
    Ok(ders)
}

/// The DER contents of the PEM blocks (all of `tag`) in base64 `field`.
fn pem_blocks(field: &str, tag: &str, at: &str) -> DocResult<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD
        .decode(field.trim())
        .map_err(|e| invalid(at, format!("not base64: {e}")))?;
    let blocks = pem::parse_many(&text).map_err(|e| invalid(at, format!("not PEM: {e}")))?;
    if blocks.is_empty() {
        return Err(invalid(at, format!("no PEM {tag} block")));
    }
    blocks
        .into_iter()
        .map(|b| if b.tag() == tag { Ok(b.into_contents()) } else { Err(invalid(at, format!("a PEM {} block where {tag} belongs", b.tag()))) })
        .collect()
}
