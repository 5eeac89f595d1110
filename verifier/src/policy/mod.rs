//! The import policy: which images need which evidence. Decides only.
//!
//! A policy file is YAML, one or more documents, each dispatched by its
//! `apiVersion` and `kind`:
//!
//! - `airlock.dev/v1alpha1` `ImportPolicy`: airlock's own format
//!   ([`native`], docs/policy.md);
//! - `policy.sigstore.dev/v1beta1` or `v1alpha1` `ClusterImagePolicy`:
//!   Sigstore policy-controller's format ([`cip`]), so a site can use the
//!   same policy at the import gate and in its clusters;
//! - `policy.sigstore.dev/v1alpha1` `TrustRoot`: the trust material a
//!   ClusterImagePolicy names by `trustRootRef` ([`trust_root`]), accepted
//!   when it is the trusted root airlock verifies with.
//!
//! All documents become one [`Policy`] ([`model`]). Loading is bounded
//! (1 MiB, the YAML parser's depth and alias limits), refuses unknown
//! fields with their path, and never panics. Evaluation against verified
//! evidence lives elsewhere; this module provides what it needs:
//! [`Policy::rules_for`], [`VerifyRule::candidates`] and
//! [`AttestationRule::check`].

pub mod cip;
pub mod eval;
mod error;
pub mod gate;
pub mod glob;
pub mod model;
pub mod native;
pub mod predicate;
pub mod trust_root;
pub mod refusal;
pub mod registries;
pub mod vulnerabilities;

pub use error::{Location, PolicyError, PolicyErrorKind};
pub use gate::{BreakGlass, BreakGlassError, BreakGlassPolicy, Gate, GateFailure, Waiver};
pub use vulnerabilities::VulnerabilityPolicy;
pub use glob::{ImageGlob, InvalidReference};
pub use registries::RegistryPattern;
pub use model::{
    AuthorityKind, AuthorityRule, Candidate, Evidence, IdentityRule, IncludedFile, Mode, Policy, PolicySource,
    PolicyWarning, Rule, RuleFormat, SignatureFormat, SignerRule, StaticAction, UnmatchedAction, VerifyRule,
};
pub use predicate::{
    AttestationOutcome, AttestationRule, PredicateConstraint, PredicatePath, PredicateRule, ValueMatcher,
};

use crate::check::identity::{IdentityPolicy, Matcher};
use keys::PublicKey;
use error::{conflict, duplicate, invalid, DocError, DocResult};
use serde_yaml_ng::Value;
use std::io::Read;
use std::path::Path;

/// Largest policy file read, in bytes.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// Largest public-key file read, in bytes.
pub const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

pub(crate) const SUPPORTED_DOCUMENTS: &str =
    "airlock.dev/v1alpha1 ImportPolicy, policy.sigstore.dev/v1beta1 or v1alpha1 ClusterImagePolicy and \
     policy.sigstore.dev/v1alpha1 TrustRoot";

impl Policy {
    /// Read and parse a policy file. Key files named in it are read
    /// relative to its directory.
    pub fn load(path: &Path) -> crate::Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_POLICY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| crate::Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let base = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        Ok(parse(&bytes, &path.display().to_string(), base)?)
    }

    /// Parse a policy from bytes. `description` names it in errors and
    /// reports. Key files (`file:` in a native policy) need a directory to
    /// be relative to and are refused here; use [`Policy::load`].
    pub fn from_yaml(bytes: &[u8], description: &str) -> crate::Result<Self> {
        Ok(parse(bytes, description, None)?)
    }
}

/// What one document contributes.
pub(crate) struct DocumentOutput {
    pub(crate) rules: Vec<Rule>,
    pub(crate) unmatched: Option<UnmatchedAction>,
    pub(crate) trust_root: Option<trust_root::NamedTrustRoot>,
    /// `spec.allowedRegistries`, when this document sets it.
    pub(crate) allowed_registries: Option<Vec<RegistryPattern>>,
    /// `spec.breakGlass`, when this document sets it.
    pub(crate) break_glass: Option<BreakGlassPolicy>,
    /// `spec.vulnerabilities`, when this document sets it.
    pub(crate) vulnerabilities: Option<VulnerabilityPolicy>,
}

/// Per-document state the converters share.
pub(crate) struct Context<'a> {
    pub(crate) document: usize,
    base_dir: Option<&'a Path>,
    included: Vec<IncludedFile>,
    warnings: Vec<PolicyWarning>,
    /// `(name, field)` of each `trustRootRef`, resolved once every
    /// document is read.
    trust_root_refs: Vec<(String, String)>,
}

impl Context<'_> {
    /// Note a `trustRootRef` at `at`, to be resolved against the file's
    /// TrustRoot documents.
    pub(crate) fn trust_root_ref(&mut self, name: &str, at: &str) {
        self.trust_root_refs.push((name.to_string(), at.to_string()));
    }

    pub(crate) fn warn(&mut self, rule: Option<&str>, authority: Option<&str>, message: &str) {
        self.warnings.push(PolicyWarning {
            document: self.document,
            rule: rule.map(str::to_string),
            authority: authority.map(str::to_string),
            message: message.to_string(),
        });
    }

    /// Read a public key from a file relative to the policy's directory.
    pub(crate) fn key_file(&mut self, file: &str, at: &str) -> DocResult<PublicKey> {
        let Some(base) = self.base_dir else {
            return Err(invalid(
                at,
                "key files are read relative to the policy file; load the policy from a file (or inline the key with `pem`)",
            ));
        };
        let path = base.join(file);
        let key_error = |source: std::io::Error| {
            DocError::new(PolicyErrorKind::KeyFile {
                path: path.clone(),
                source,
            })
            .at(at)
        };
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(key_error)?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(DocError::new(PolicyErrorKind::InvalidKey(format!(
                "{} is larger than {MAX_KEY_FILE_BYTES} bytes",
                path.display()
            )))
            .at(at));
        }
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| DocError::new(PolicyErrorKind::InvalidKey(format!("{} is not text", path.display()))).at(at))?;
        let key = public_key(&text, at)?;
        self.included.push(IncludedFile {
            path,
            sha256: oci::Digest::sha256_of(&bytes),
        });
        Ok(key)
    }
}

// The error is large, but this runs once per policy file and the public
// functions box it (crate::Error::Policy).
#[allow(clippy::result_large_err)]
fn parse(bytes: &[u8], description: &str, base_dir: Option<&Path>) -> Result<Policy, PolicyError> {
    let fail = |location: Location, kind: PolicyErrorKind, hint: Option<String>| PolicyError {
        source_name: description.to_string(),
        location,
        kind,
        hint,
    };
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        return Err(fail(Location::default(), PolicyErrorKind::TooLarge { limit: MAX_POLICY_BYTES }, None));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| fail(Location::default(), PolicyErrorKind::Syntax(format!("not UTF-8: {e}")), None))?;
    let mut rules: Vec<Rule> = Vec::new();
    let mut unmatched: Option<(UnmatchedAction, usize)> = None;
    let mut site = SiteSettings::default();
    let mut included = Vec::new();
    let mut warnings = Vec::new();
    let mut trust_root_refs = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let number = index + 1;
        let at_document = |e: DocError| {
            let parts = e.into_parts();
            let mut location = parts.location;
            location.document = Some(number);
            fail(location, parts.kind, parts.hint)
        };
        let value = <Value as serde::Deserialize>::deserialize(document).map_err(|e| {
            fail(
                Location {
                    document: Some(number),
                    ..Location::default()
                },
                PolicyErrorKind::Syntax(e.to_string()),
                None,
            )
        })?;
        if value.is_null() {
            continue; // an empty document, e.g. after a trailing `---`
        }
        let mut ctx = Context {
            document: number,
            base_dir,
            included: Vec::new(),
            warnings: Vec::new(),
            trust_root_refs: Vec::new(),
        };
        let mut output = dispatch(value, &mut ctx).map_err(at_document)?;
        site.take(&mut output, number).map_err(at_document)?;
        included.append(&mut ctx.included);
        warnings.append(&mut ctx.warnings);
        trust_root_refs.extend(ctx.trust_root_refs.into_iter().map(|(name, at)| (name, at, number)));
        if let Some(action) = output.unmatched {
            if let Some((earlier, at)) = unmatched {
                if earlier != action {
                    return Err(at_document(conflict(
                        "spec.unmatched",
                        format!("document {at} already set a different `unmatched`"),
                    )));
                }
            }
            unmatched = Some((action, number));
        }
        for rule in output.rules {
            if let Some(earlier) = rules.iter().find(|r| r.name == rule.name) {
                let location = Location {
                    document: Some(number),
                    rule: Some(rule.name.clone()),
                    ..Location::default()
                };
                return Err(fail(
                    location,
                    PolicyErrorKind::DuplicateName {
                        what: "rule",
                        name: rule.name.clone(),
                    },
                    Some(format!("document {} has a rule of the same name", earlier.document)),
                ));
            }
            rules.push(rule);
        }
    }
    if rules.is_empty() {
        return Err(fail(Location::default(), PolicyErrorKind::NoDocuments, None));
    }
    resolve_trust_root_refs(trust_root_refs, &site.trust_roots, description)?;
    Ok(Policy {
        source: PolicySource {
            description: description.to_string(),
            sha256: oci::Digest::sha256_of(bytes),
            included_files: included,
        },
        rules,
        unmatched: unmatched.map(|(a, _)| a).unwrap_or_default(),
        allowed_registries: site.allowed_registries.map(|(p, _)| p),
        break_glass: site.break_glass.map(|(b, _)| b).unwrap_or_default(),
        warnings,
        trust_roots: site.trust_roots,
        vulnerabilities: site.vulnerabilities.map(|(v, _)| v),
    })
}

/// A TrustRoot's name is unique in the file.
fn add_trust_root(roots: &mut Vec<trust_root::NamedTrustRoot>, root: trust_root::NamedTrustRoot) -> DocResult<()> {
    if roots.iter().any(|r| r.name == root.name) {
        return Err(duplicate("metadata.name", "TrustRoot", &root.name));
    }
    roots.push(root);
    Ok(())
}

/// Every `trustRootRef` (name, field, document) must name a TrustRoot
/// document of the file.
#[allow(clippy::result_large_err)] // as parse
fn resolve_trust_root_refs(
    refs: Vec<(String, String, usize)>,
    roots: &[trust_root::NamedTrustRoot],
    description: &str,
) -> Result<(), PolicyError> {
    match refs.into_iter().find(|(name, ..)| !roots.iter().any(|r| &r.name == name)) {
        None => Ok(()),
        Some((name, at, number)) => Err(PolicyError {
            source_name: description.to_string(),
            location: Location { document: Some(number), field: Some(at), ..Location::default() },
            kind: PolicyErrorKind::InvalidValue(format!("trustRootRef {name:?} names no TrustRoot document in this policy file")),
            hint: Some("add the TrustRoot resource policy-controller reads (spec.sigstoreKeys) as another document of the file".into()),
        }),
    }
}

/// Settings for the whole site, which one document may set, and the
/// TrustRoot documents of the file.
#[derive(Default)]
struct SiteSettings {
    allowed_registries: Option<(Vec<RegistryPattern>, usize)>,
    break_glass: Option<(BreakGlassPolicy, usize)>,
    vulnerabilities: Option<(VulnerabilityPolicy, usize)>,
    trust_roots: Vec<trust_root::NamedTrustRoot>,
}

impl SiteSettings {
    fn take(&mut self, output: &mut DocumentOutput, document: usize) -> DocResult<()> {
        once(&mut self.allowed_registries, output.allowed_registries.take(), "spec.allowedRegistries", document)?;
        once(&mut self.break_glass, output.break_glass.take(), "spec.breakGlass", document)?;
        once(&mut self.vulnerabilities, output.vulnerabilities.take(), "spec.vulnerabilities", document)?;
        match output.trust_root.take() {
            Some(root) => add_trust_root(&mut self.trust_roots, root),
            None => Ok(()),
        }
    }
}

/// Keep `value` in `slot` with its document, refusing a second document that sets `key`.
fn once<T>(slot: &mut Option<(T, usize)>, value: Option<T>, key: &str, document: usize) -> DocResult<()> {
    let Some(value) = value else { return Ok(()) };
    if let Some((_, at)) = slot {
        return Err(conflict(key, format!("document {at} already sets {key}; set it once")));
    }
    *slot = Some((value, document));
    Ok(())
}

fn dispatch(value: Value, ctx: &mut Context<'_>) -> DocResult<DocumentOutput> {
    let Value::Mapping(mut map) = value else {
        return Err(DocError::new(PolicyErrorKind::Schema(
            "a policy document must be a mapping with apiVersion and kind".into(),
        )));
    };
    let field = |name: &str| -> DocResult<String> {
        match map.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(DocError::new(PolicyErrorKind::Schema(format!("{name} must be a string"))).at(name)),
            None => Err(DocError::new(PolicyErrorKind::Schema(format!("missing field `{name}`"))).at(name)),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    // The formats' types describe the rest of the document.
    map.remove("apiVersion");
    map.remove("kind");
    let value = Value::Mapping(map);
    match (api_version.as_str(), kind.as_str()) {
        (native::API_VERSION, native::KIND) => native::parse(value, ctx),
        (v, cip::KIND) if cip::API_VERSIONS.contains(&v) => cip::parse(value, v, ctx),
        (trust_root::API_VERSION, trust_root::KIND) => trust_root::parse(value, ctx.document),
        _ => Err(DocError::new(PolicyErrorKind::UnknownDocument { api_version, kind })),
    }
}

/// Deserialize a document into its format's types, naming the path of any
/// field that is unknown, missing or of the wrong type.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> DocResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let mut error = DocError::new(PolicyErrorKind::Schema(e.into_inner().to_string()));
        if path != "." {
            error = error.at(path);
        }
        error
    })
}

pub(crate) fn compile_glob(glob: &str, at: &str) -> DocResult<ImageGlob> {
    ImageGlob::new(glob).map_err(|reason| {
        DocError::new(PolicyErrorKind::InvalidGlob {
            glob: glob.to_string(),
            reason,
        })
        .at(at)
    })
}

pub(crate) fn regex_matcher(pattern: &str, at: &str) -> DocResult<Matcher> {
    Matcher::regex(pattern).map_err(|e| {
        DocError::new(PolicyErrorKind::InvalidRegex {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })
        .at(at)
    })
}

/// `X` (exact) or `XRegExp` (regexp), not both; `None` when neither.
pub(crate) fn pair_matcher(
    exact: Option<String>,
    regexp: Option<String>,
    at: &str,
    name: &str,
) -> DocResult<Option<Matcher>> {
    match (exact, regexp) {
        (Some(_), Some(_)) => Err(conflict(at, format!("`{name}` and `{name}RegExp` exclude each other"))),
        (Some(value), None) => Ok(Some(Matcher::exact(value))),
        (None, Some(pattern)) => Ok(Some(regex_matcher(&pattern, &format!("{at}RegExp"))?)),
        (None, None) => Ok(None),
    }
}

/// Issuer and subject, each exact or regexp, both required.
pub(crate) fn identity_policy(
    issuer: (Option<String>, Option<String>),
    subject: (Option<String>, Option<String>),
    at: &str,
) -> DocResult<IdentityPolicy> {
    let issuer_field = format!("{at}.issuer");
    let subject_field = format!("{at}.subject");
    let issuer = pair_matcher(issuer.0.filter(|s| !s.is_empty()), issuer.1.filter(|s| !s.is_empty()), &issuer_field, "issuer")?;
    let subject =
        pair_matcher(subject.0.filter(|s| !s.is_empty()), subject.1.filter(|s| !s.is_empty()), &subject_field, "subject")?;
    match (issuer, subject) {
        (Some(issuer), Some(subject)) => Ok(IdentityPolicy { subject, issuer }),
        (None, _) => Err(conflict(issuer_field, "an identity needs `issuer` or `issuerRegExp`")
            .with_hint("use issuerRegExp: '.*' to accept any issuer explicitly")),
        (_, None) => Err(conflict(subject_field, "an identity needs `subject` or `subjectRegExp`")
            .with_hint("use subjectRegExp: '.*' to accept any subject explicitly")),
    }
}

pub(crate) fn public_key(pem: &str, at: &str) -> DocResult<PublicKey> {
    PublicKey::from_pem(pem).map_err(|e| DocError::new(PolicyErrorKind::InvalidKey(e.to_string())).at(at))
}

/// Exactly one of these fields must be present.
pub(crate) fn exactly_one(at: &str, fields: &[(bool, &str)]) -> DocResult<()> {
    let names: Vec<String> = fields.iter().map(|(_, n)| format!("`{n}`")).collect();
    match fields.iter().filter(|(present, _)| *present).count() {
        1 => Ok(()),
        0 => Err(conflict(at, format!("needs exactly one of {}", names.join(", ")))),
        _ => Err(conflict(at, format!("{} exclude each other", names.join(", ")))),
    }
}

/// Refuse the second use of a name; `field` gives the path of index `i`.
pub(crate) fn unique<'n>(
    names: impl Iterator<Item = &'n str>,
    what: &'static str,
    field: impl Fn(usize) -> String,
) -> DocResult<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(duplicate(field(i), what, name));
        }
    }
    Ok(())
}

/// A Kubernetes document (ClusterImagePolicy, TrustRoot) without
/// `apiVersion` and `kind`, which dispatch consumed.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeDocument<S> {
    metadata: KubeMetadata,
    spec: S,
    /// Written by the controller, not by the policy author: not policy.
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<serde::de::IgnoredAny>,
}

/// Kubernetes object metadata: only `name` means anything here; labels,
/// annotations, uid and the rest of what `kubectl get -o yaml` prints are
/// not policy.
#[derive(serde::Deserialize)]
pub(crate) struct KubeMetadata {
    name: Option<String>,
}
