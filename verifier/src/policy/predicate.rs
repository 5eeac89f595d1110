//! Required attestations: predicate types, paths into a predicate, and the
//! pure check of a verified in-toto statement against an [`AttestationRule`].

use crate::check::identity::Matcher;
use crate::check::signature::SignatureFacts;
use crate::evidence::sbom::{CYCLONEDX_PREDICATE, SPDX_PREDICATE};
use crate::evidence::statement::Statement;
use crate::Verified;
use std::fmt;

/// SLSA provenance v0.2.
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// cosign's `--type` short names and the predicate types they stand for
/// (cosign `cmd/cosign/cli/options/predicate.go`, `PredicateTypeMap`),
/// which policy-controller resolves the same way.
pub const SHORT_NAMES: [(&str, &str); 10] = [
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
    ("slsaprovenance", SLSA_PROVENANCE_V02),
    ("slsaprovenance02", SLSA_PROVENANCE_V02),
    ("slsaprovenance1", SLSA_PROVENANCE_V1),
    ("spdx", SPDX_PREDICATE),
    ("spdxjson", SPDX_PREDICATE),
    ("cyclonedx", CYCLONEDX_PREDICATE),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
];

/// Resolve a short name or check a URI; the error lists what is accepted.
pub fn resolve_predicate_type(value: &str) -> Result<String, String> {
    if let Some((_, url)) = SHORT_NAMES.iter().find(|(short, _)| *short == value) {
        return Ok((*url).to_string());
    }
    // An absolute URI: scheme ":" something, no whitespace (cosign accepts
    // what Go's url.ParseRequestURI accepts; a bare host/path is refused).
    let valid_scheme = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if valid_scheme && !value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Ok(value.to_string());
    }
    let names: Vec<&str> = SHORT_NAMES.iter().map(|(s, _)| *s).collect();
    Err(format!(
        "predicate type {value:?} is neither a known short name ({}) nor an absolute URI",
        names.join(", ")
    ))
}

/// A path to a value inside a predicate.
///
/// Two spellings: a JSON Pointer (RFC 6901) when it starts with `/`
/// (`/buildDefinition/externalParameters/workflow/repository`), otherwise
/// dot-separated keys (`builder.id`). In both, a segment indexes an array
/// when the value there is an array and the segment is a decimal number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicatePath {
    text: String,
    segments: Vec<String>,
}

impl PredicatePath {
    /// Parse a path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        let segments: Vec<String> = if let Some(pointer) = text.strip_prefix('/') {
            pointer
                .split('/')
                .map(|s| {
                    if s.contains('~') && !valid_pointer_escapes(s) {
                        Err(format!("invalid JSON Pointer escape in {s:?} (use ~0 for ~ and ~1 for /)"))
                    } else {
                        Ok(s.replace("~1", "/").replace("~0", "~"))
                    }
                })
                .collect::<Result<_, _>>()?
        } else {
            let segments: Vec<String> = text.split('.').map(str::to_string).collect();
            if segments.iter().any(String::is_empty) {
                return Err(format!("path {text:?} has an empty segment (write a JSON Pointer, /a/b, for keys with dots)"));
            }
            segments
        };
        if segments.len() > 64 {
            return Err("the path is deeper than 64 segments".into());
        }
        Ok(Self {
            text: text.to_string(),
            segments,
        })
    }

    /// The value at this path, if there is one.
    pub fn lookup<'v>(&self, root: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        let mut value = root;
        for segment in &self.segments {
            value = match value {
                serde_json::Value::Object(map) => map.get(segment)?,
                serde_json::Value::Array(items) => {
                    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    items.get(segment.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(value)
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn valid_pointer_escapes(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b != b'~' || matches!(bytes.get(i + 1), Some(b'0' | b'1')))
}

impl fmt::Display for PredicatePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the value at a path must be.
#[derive(Debug, Clone)]
pub enum ValueMatcher {
    /// Equal (as JSON) to this value.
    Equals(serde_json::Value),
    /// A string satisfying this matcher (unanchored regexp, as everywhere).
    String(Matcher),
}

impl fmt::Display for ValueMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Equals(v) => write!(f, "{v}"),
            Self::String(m) => write!(f, "{m}"),
        }
    }
}

/// One condition on a predicate.
#[derive(Debug, Clone)]
pub struct PredicateConstraint {
    /// Where the value is.
    pub path: PredicatePath,
    /// What it must be.
    pub expected: ValueMatcher,
}

impl PredicateConstraint {
    /// `None` when the predicate satisfies the constraint, otherwise why not.
    fn violation(&self, predicate: &serde_json::Value) -> Option<String> {
        let Some(actual) = self.path.lookup(predicate) else {
            return Some(format!("{} is absent, expected {}", self.path, self.expected));
        };
        let ok = match &self.expected {
            ValueMatcher::Equals(expected) => actual == expected,
            ValueMatcher::String(matcher) => actual.as_str().is_some_and(|s| matcher.is_match(s)),
        };
        (!ok).then(|| format!("{} is {}, expected {}", self.path, truncate(&actual.to_string()), self.expected))
    }
}

fn truncate(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// One acceptable predicate type and the constraints its predicate must meet.
#[derive(Debug, Clone)]
pub struct PredicateRule {
    /// The resolved predicate type URI.
    pub predicate_type: String,
    /// Every constraint must hold.
    pub constraints: Vec<PredicateConstraint>,
}

/// An attestation the signer must have made about the image.
#[derive(Debug, Clone)]
pub struct AttestationRule {
    /// The attestation's name (for reports).
    pub name: String,
    /// A statement satisfies the rule when its predicate type is one of
    /// these and that entry's constraints hold. Never empty.
    pub accepts: Vec<PredicateRule>,
}

/// The result of checking one verified statement against a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationOutcome {
    /// The statement satisfies the rule.
    Satisfied {
        /// Its predicate type.
        predicate_type: String,
    },
    /// The signature is not over an in-toto statement.
    NotAnAttestation,
    /// The statement is of another predicate type.
    OtherPredicateType {
        /// The types the rule accepts.
        expected: Vec<String>,
        /// The statement's.
        actual: String,
    },
    /// The predicate type matches but a constraint does not hold.
    ConstraintFailed {
        /// The predicate type.
        predicate_type: String,
        /// The first constraint that failed, and how.
        reason: String,
    },
}

impl AttestationOutcome {
    /// Whether the rule is satisfied.
    pub fn is_satisfied(&self) -> bool {
        matches!(self, Self::Satisfied { .. })
    }
}

impl fmt::Display for AttestationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Satisfied { predicate_type } => write!(f, "satisfied by a {predicate_type} statement"),
            Self::NotAnAttestation => f.write_str("the signature is not over an in-toto statement"),
            Self::OtherPredicateType { expected, actual } => {
                write!(f, "predicate type is {actual}, expected {}", expected.join(" or "))
            }
            Self::ConstraintFailed { predicate_type, reason } => write!(f, "{predicate_type} predicate: {reason}"),
        }
    }
}

impl AttestationRule {
    /// Check a verified attestation. The signature, its signer and the
    /// statement's subject (the image digest) have been verified by
    /// [`crate::check`]; this only looks at the predicate.
    pub fn check(&self, facts: &Verified<SignatureFacts>) -> AttestationOutcome {
        match &facts.statement {
            Some(statement) => self.check_statement(statement),
            None => AttestationOutcome::NotAnAttestation,
        }
    }

    /// The predicate check itself, on a statement already verified.
    pub(crate) fn check_statement(&self, statement: &Statement) -> AttestationOutcome {
        let Some(rule) = self
            .accepts
            .iter()
            .find(|r| r.predicate_type == statement.predicate_type)
        else {
            return AttestationOutcome::OtherPredicateType {
                expected: self.accepts.iter().map(|r| r.predicate_type.clone()).collect(),
                actual: statement.predicate_type.clone(),
            };
        };
        match rule.constraints.iter().find_map(|c| c.violation(&statement.predicate)) {
            Some(reason) => AttestationOutcome::ConstraintFailed {
                predicate_type: rule.predicate_type.clone(),
                reason,
            },
            None => AttestationOutcome::Satisfied {
                predicate_type: rule.predicate_type.clone(),
            },
        }
    }
}

/// Expand the native `builderId` shorthand for a SLSA provenance type:
/// `builder.id` in v0.2, `runDetails.builder.id` in v1.
pub(crate) fn builder_id_constraint(predicate_type: &str, expected: &Matcher) -> Option<PredicateConstraint> {
    let path = match predicate_type {
        SLSA_PROVENANCE_V02 => "builder.id",
        SLSA_PROVENANCE_V1 => "runDetails.builder.id",
        _ => return None,
    };
    Some(PredicateConstraint {
        path: PredicatePath::parse(path).ok()?,
        expected: ValueMatcher::String(expected.clone()),
    })
}

/// Expand the native `sourceRepository` shorthand for a SLSA provenance
/// type, in the layouts GitHub Actions builders write:
/// v1 `buildDefinition.externalParameters.workflow.repository` (the
/// GitHub workflow build type of actions/attest-build-provenance and
/// slsa-github-generator), v0.2 `invocation.configSource.uri`, which reads
/// `git+<repository>@<ref>`: an exact repository becomes the anchored
/// regexp `^(git\+)?<repository>(@|$)` there; a regexp is applied as is.
pub(crate) fn source_repository_constraint(
    predicate_type: &str,
    expected: &Matcher,
) -> Option<PredicateConstraint> {
    let (path, matcher) = match predicate_type {
        SLSA_PROVENANCE_V1 => ("buildDefinition.externalParameters.workflow.repository", expected.clone()),
        SLSA_PROVENANCE_V02 => {
            let matcher = match expected {
                Matcher::Exact(repo) => Matcher::regex(&format!("^(git\\+)?{}(@|$)", regex::escape(repo))).ok()?,
                regexp @ Matcher::Regex(_) => regexp.clone(),
            };
            ("invocation.configSource.uri", matcher)
        }
        _ => return None,
    };
    Some(PredicateConstraint {
        path: PredicatePath::parse(path).ok()?,
        expected: ValueMatcher::String(matcher),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statement(predicate_type: &str, predicate: serde_json::Value) -> Statement {
        Statement {
            statement_type: "https://in-toto.io/Statement/v1".into(),
            subject: vec![],
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    #[test]
    fn short_names_and_uris() {
        assert_eq!(resolve_predicate_type("slsaprovenance").unwrap(), SLSA_PROVENANCE_V02);
        assert_eq!(resolve_predicate_type("slsaprovenance02").unwrap(), SLSA_PROVENANCE_V02);
        assert_eq!(resolve_predicate_type("slsaprovenance1").unwrap(), SLSA_PROVENANCE_V1);
        assert_eq!(resolve_predicate_type("spdxjson").unwrap(), "https://spdx.dev/Document");
        assert_eq!(resolve_predicate_type("custom").unwrap(), "https://cosign.sigstore.dev/attestation/v1");
        assert_eq!(resolve_predicate_type("https://example.com/p/v1").unwrap(), "https://example.com/p/v1");
        assert_eq!(resolve_predicate_type("urn:example:p").unwrap(), "urn:example:p");
        for bad in ["", "slsa", "SLSAPROVENANCE", "cosign.sigstore.dev/attestation/v1", "https://a b", "1http://x", "http:"] {
            assert!(resolve_predicate_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_dotted_and_pointer() {
        let v = json!({"a": {"b.c": [ {"d": "x"} ], "e": {"0": "zero"}}, "t~/": 1});
        assert_eq!(PredicatePath::parse("a.e.0").unwrap().lookup(&v), Some(&json!("zero")));
        assert_eq!(PredicatePath::parse("/a/b.c/0/d").unwrap().lookup(&v), Some(&json!("x")));
        assert_eq!(PredicatePath::parse("/t~0~1").unwrap().lookup(&v), Some(&json!(1)));
        assert_eq!(PredicatePath::parse("/a/b.c/1/d").unwrap().lookup(&v), None);
        assert_eq!(PredicatePath::parse("/a/b.c/x").unwrap().lookup(&v), None);
        assert_eq!(PredicatePath::parse("a.b").unwrap().lookup(&v), None);
        assert_eq!(PredicatePath::parse("a.e.0.z").unwrap().lookup(&v), None);
        for bad in ["", "a..b", ".a", "a.", "/a~2", "/~"] {
            assert!(PredicatePath::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PredicatePath::parse(&vec!["a"; 65].join(".")).is_err());
    }

    #[test]
    fn check_outcomes() {
        let rule = AttestationRule {
            name: "provenance".into(),
            accepts: vec![PredicateRule {
                predicate_type: SLSA_PROVENANCE_V1.into(),
                constraints: vec![
                    builder_id_constraint(SLSA_PROVENANCE_V1, &Matcher::exact("https://builder")).unwrap(),
                    PredicateConstraint {
                        path: PredicatePath::parse("runDetails.metadata.invocationId").unwrap(),
                        expected: ValueMatcher::String(Matcher::regex("^https://github.com/").unwrap()),
                    },
                ],
            }],
        };
        let good = json!({"runDetails": {"builder": {"id": "https://builder"}, "metadata": {"invocationId": "https://github.com/o/r/actions/runs/1"}}});
        assert!(rule.check_statement(&statement(SLSA_PROVENANCE_V1, good.clone())).is_satisfied());
        let other = rule.check_statement(&statement(SLSA_PROVENANCE_V02, good));
        assert!(matches!(other, AttestationOutcome::OtherPredicateType { ref actual, .. } if actual == SLSA_PROVENANCE_V02));
        let wrong = json!({"runDetails": {"builder": {"id": "https://evil"}}});
        match rule.check_statement(&statement(SLSA_PROVENANCE_V1, wrong)) {
            AttestationOutcome::ConstraintFailed { reason, .. } => assert!(reason.contains("runDetails.builder.id is \"https://evil\""), "{reason}"),
            other => panic!("{other:?}"),
        }
        let absent = json!({"runDetails": {"builder": {"id": "https://builder"}}});
        match rule.check_statement(&statement(SLSA_PROVENANCE_V1, absent)) {
            AttestationOutcome::ConstraintFailed { reason, .. } => assert!(reason.contains("absent"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // A regexp never matches a non-string.
        let number = json!({"runDetails": {"builder": {"id": "https://builder"}, "metadata": {"invocationId": 7}}});
        assert!(!rule.check_statement(&statement(SLSA_PROVENANCE_V1, number)).is_satisfied());
    }

    #[test]
    fn equals_compares_json_values() {
        let c = PredicateConstraint {
            path: PredicatePath::parse("metadata.completeness.parameters").unwrap(),
            expected: ValueMatcher::Equals(json!(true)),
        };
        assert!(c.violation(&json!({"metadata": {"completeness": {"parameters": true}}})).is_none());
        assert!(c.violation(&json!({"metadata": {"completeness": {"parameters": "true"}}})).is_some());
        let long = "x".repeat(1000);
        let msg = c.violation(&json!({"metadata": {"completeness": {"parameters": long}}})).unwrap();
        assert!(msg.len() < 400, "{msg}");
    }

    #[test]
    fn source_repository_layouts() {
        let repo = Matcher::exact("https://github.com/org/repo");
        let v1 = source_repository_constraint(SLSA_PROVENANCE_V1, &repo).unwrap();
        assert!(v1
            .violation(&json!({"buildDefinition": {"externalParameters": {"workflow": {"repository": "https://github.com/org/repo"}}}}))
            .is_none());
        let v02 = source_repository_constraint(SLSA_PROVENANCE_V02, &repo).unwrap();
        let uri = |u: &str| json!({"invocation": {"configSource": {"uri": u}}});
        assert!(v02.violation(&uri("git+https://github.com/org/repo@refs/tags/v1")).is_none());
        assert!(v02.violation(&uri("https://github.com/org/repo")).is_none());
        assert!(v02.violation(&uri("git+https://github.com/org/repo-evil@refs/tags/v1")).is_some());
        assert!(v02.violation(&uri("git+https://github.com/org/repo.evil@x")).is_some());
        assert!(v02.violation(&uri("git+https://github.com/org/repoXevil")).is_some());
        assert!(source_repository_constraint("https://spdx.dev/Document", &repo).is_none());
        assert!(builder_id_constraint("https://spdx.dev/Document", &repo).is_none());
    }
}
