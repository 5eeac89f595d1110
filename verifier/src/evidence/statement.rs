//! in-toto statements (v0.1 and v1), the payload of DSSE attestations.

use crate::Result;
use std::collections::BTreeMap;

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

/// An in-toto statement: what was attested, about which artifacts.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Statement {
    /// The statement type URI.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the statement is about.
    pub subject: Vec<Subject>,
    /// What kind of predicate follows, e.g. `https://slsa.dev/provenance/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate itself, as JSON.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// One artifact a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Subject {
    /// The artifact's name (may be empty).
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm name (`sha256`, `sha512`, …), lowercase hex.
    pub digest: BTreeMap<String, String>,
}

/// Why a DSSE payload is not an in-toto statement airlock reads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The envelope's payload type is not in-toto's.
    #[error("DSSE payload type is {found:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}")]
    PayloadType {
        /// The envelope's payload type.
        found: String,
    },
    /// The payload does not parse as a statement.
    #[error("not an in-toto statement: {reason}")]
    NotAStatement {
        /// The parser's message.
        reason: String,
    },
    /// The statement's `_type` is not one airlock knows.
    #[error("unknown statement type {found:?}")]
    UnknownType {
        /// The statement's `_type`.
        found: String,
    },
    /// The statement is about nothing.
    #[error("statement has no subject")]
    NoSubject,
}

impl Statement {
    /// Parse a DSSE payload as an in-toto statement.
    pub fn parse(payload_type: &str, payload: &[u8]) -> Result<Self> {
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(StatementError::PayloadType { found: payload_type.to_string() }.into());
        }
        let statement: Self =
            serde_json::from_slice(payload).map_err(|e| StatementError::NotAStatement { reason: e.to_string() })?;
        if !STATEMENT_TYPES.contains(&statement.statement_type.as_str()) {
            return Err(StatementError::UnknownType { found: statement.statement_type }.into());
        }
        if statement.subject.is_empty() {
            return Err(StatementError::NoSubject.into());
        }
        Ok(statement)
    }

    /// Whether some subject carries `digest` (same algorithm, same value).
    pub fn has_subject(&self, digest: &oci::Digest) -> bool {
        let hex = digest.hex();
        self.subject.iter().any(|s| {
            s.digest
                .get(digest.algorithm().name())
                .is_some_and(|v| v.eq_ignore_ascii_case(&hex))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(subject_hex: &str) -> Vec<u8> {
        format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"a","digest":{{"sha256":"{subject_hex}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{"x":1}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn parses_and_matches_subjects() {
        let d = oci::Digest::sha256_of(b"a");
        let s = Statement::parse(IN_TOTO_PAYLOAD_TYPE, &statement(&d.hex())).unwrap();
        assert!(s.has_subject(&d));
        assert!(!s.has_subject(&oci::Digest::sha256_of(b"b")));
        assert_eq!(s.predicate["x"], 1);
    }

    #[test]
    fn refuses_wrong_payload_type_and_empty_subjects() {
        let d = oci::Digest::sha256_of(b"a");
        assert!(Statement::parse("text/plain", &statement(&d.hex())).is_err());
        let empty = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#;
        assert!(Statement::parse(IN_TOTO_PAYLOAD_TYPE, empty).is_err());
        let unknown = br#"{"_type":"https://example.com/x","subject":[{"digest":{"sha256":"00"}}],"predicateType":"p"}"#;
        assert!(Statement::parse(IN_TOTO_PAYLOAD_TYPE, unknown).is_err());
    }
}
