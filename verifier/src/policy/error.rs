//! Why a policy file was refused, and where in it.

use std::fmt;
use std::path::PathBuf;

/// Where in a policy file an error was found. Every part is optional: a
/// file-level error (too large, no documents) has none of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// 1-based index of the YAML document in the file.
    pub document: Option<usize>,
    /// The rule: a native rule's `name`, or a ClusterImagePolicy's
    /// `metadata.name`.
    pub rule: Option<String>,
    /// The authority's name.
    pub authority: Option<String>,
    /// Path of the offending field inside the document, e.g.
    /// `spec.authorities[1].key.kms`.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(d) = self.document {
            parts.push(format!("document {d}"));
        }
        if let Some(r) = &self.rule {
            parts.push(format!("policy {r:?}"));
        }
        if let Some(a) = &self.authority {
            parts.push(format!("authority {a:?}"));
        }
        if let Some(p) = &self.field {
            parts.push(format!("field {p}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// What is wrong. Variants are stable names tests and reports can rely on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The file is larger than any legitimate policy.
    #[error("larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not well-formed YAML (or breaks the parser's depth and
    /// alias limits).
    #[error("not valid YAML: {0}")]
    Syntax(String),
    /// A field has the wrong type, is missing, or is not part of the format.
    #[error("{0}")]
    Schema(String),
    /// The file holds no document.
    #[error("no policy document (an ImportPolicy or a ClusterImagePolicy)")]
    NoDocuments,
    /// A document of a kind airlock does not read.
    #[error("unknown document apiVersion {api_version:?} kind {kind:?}; airlock reads {}", super::SUPPORTED_DOCUMENTS)]
    UnknownDocument {
        /// The document's apiVersion.
        api_version: String,
        /// The document's kind.
        kind: String,
    },
    /// An image glob that cannot be compiled.
    #[error("invalid image glob {glob:?}: {reason}")]
    InvalidGlob {
        /// The glob.
        glob: String,
        /// Why.
        reason: String,
    },
    /// A regular expression that does not compile (or is too large).
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern.
        pattern: String,
        /// The compiler's reason.
        reason: String,
    },
    /// A public key that cannot be used.
    #[error("invalid public key: {0}")]
    InvalidKey(String),
    /// A key file that cannot be read.
    #[error("cannot read key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Two rules, authorities or attestations with the same name.
    #[error("duplicate {what} name {name:?}")]
    DuplicateName {
        /// `rule`, `authority` or `attestation`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A list that must not be empty.
    #[error("{what} must not be empty")]
    Empty {
        /// What is empty.
        what: &'static str,
    },
    /// Fields that exclude each other, or a required choice not made.
    #[error("{0}")]
    Conflict(String),
    /// A value outside the allowed set.
    #[error("{0}")]
    InvalidValue(String),
    /// Something airlock will not evaluate offline: refused, never ignored.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("policy {source_name}{}: {kind}{}", location_suffix(.location), hint_suffix(.hint))]
pub struct PolicyError {
    /// The policy's description (usually its path).
    pub source_name: String,
    /// Where in the file.
    pub location: Location,
    /// What is wrong.
    pub kind: PolicyErrorKind,
    /// What to do about it, when there is more to say.
    pub hint: Option<String>,
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

fn location_suffix(location: &Location) -> String {
    let text = location.to_string();
    if text.is_empty() {
        text
    } else {
        format!(" ({text})")
    }
}

impl PolicyError {
    /// Whether this is a refusal of something airlock does not evaluate.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, PolicyErrorKind::Unsupported(_))
    }
}

impl From<PolicyError> for crate::Error {
    fn from(e: PolicyError) -> Self {
        crate::Error::Policy(Box::new(e))
    }
}

/// A document-relative error before the file name is known; `mod.rs`
/// attaches the source name and the document index. Boxed: results of
/// every conversion step carry it.
#[derive(Debug)]
pub(crate) struct DocError(Box<DocErrorParts>);

#[derive(Debug)]
pub(crate) struct DocErrorParts {
    pub(crate) location: Location,
    pub(crate) kind: PolicyErrorKind,
    pub(crate) hint: Option<String>,
}

impl DocError {
    pub(crate) fn new(kind: PolicyErrorKind) -> Self {
        Self(Box::new(DocErrorParts {
            location: Location::default(),
            kind,
            hint: None,
        }))
    }

    pub(crate) fn into_parts(self) -> DocErrorParts {
        *self.0
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    pub(crate) fn at(mut self, field: impl Into<String>) -> Self {
        if self.0.location.field.is_none() {
            self.0.location.field = Some(field.into());
        }
        self
    }

    pub(crate) fn in_rule(mut self, rule: &str) -> Self {
        if self.0.location.rule.is_none() {
            self.0.location.rule = Some(rule.to_string());
        }
        self
    }

    pub(crate) fn in_authority(mut self, authority: &str) -> Self {
        if self.0.location.authority.is_none() {
            self.0.location.authority = Some(authority.to_string());
        }
        self
    }
}

pub(crate) type DocResult<T> = std::result::Result<T, DocError>;

/// Shorthands for building [`DocError`]s at a field path.
pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DocError {
    DocError::new(PolicyErrorKind::InvalidValue(reason.into())).at(field)
}

pub(crate) fn conflict(field: impl Into<String>, reason: impl Into<String>) -> DocError {
    DocError::new(PolicyErrorKind::Conflict(reason.into())).at(field)
}

pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> DocError {
    DocError::new(PolicyErrorKind::Unsupported(reason.into())).at(field)
}

pub(crate) fn empty(field: impl Into<String>, what: &'static str) -> DocError {
    DocError::new(PolicyErrorKind::Empty { what }).at(field)
}

pub(crate) fn duplicate(field: impl Into<String>, what: &'static str, name: &str) -> DocError {
    DocError::new(PolicyErrorKind::DuplicateName {
        what,
        name: name.to_string(),
    })
    .at(field)
}
