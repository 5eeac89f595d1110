//! OSV records (ossf/osv-schema, docs/schema.md) parsed once into typed
//! values: what matching needs, nothing else. Fields the schema leaves open
//! (`database_specific`, `ecosystem_specific`, future fields) are tolerated
//! and skipped without being built; what matching relies on is checked, and
//! a record that breaks the schema there is refused by name.

use crate::ecosystem::Ecosystem;
use crate::error::{Error, Result};
use jiff::Timestamp;

/// No OSV record is this large (the largest real ones, Linux kernel
/// records with long `versions` lists, are a few MiB).
pub const MAX_RECORD_BYTES: usize = 32 * 1024 * 1024;
/// Ids are short (`GHSA-xxxx-xxxx-xxxx`, `CVE-2024-12345`, …).
const MAX_ID_LEN: usize = 256;

/// One OSV record.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Record {
    /// `id`.
    pub id: String,
    /// `modified`.
    pub modified: Timestamp,
    /// `withdrawn`, when the record was withdrawn (it then matches nothing).
    pub withdrawn: Option<Timestamp>,
    /// `aliases`: the same vulnerability in other databases.
    pub aliases: Vec<String>,
    /// `upstream`: vulnerabilities this one derives from (a distribution's
    /// record of an upstream CVE). Shown, never merged on.
    pub upstream: Vec<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// Top-level `severity`.
    pub severity: Vec<SeverityEntry>,
    /// `database_specific.severity`, the source's own rating (GHSA's
    /// `CRITICAL`, `MODERATE`, …).
    pub source_severity: Option<String>,
    /// `affected`.
    pub affected: Vec<Affected>,
}

/// One `affected` entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Affected {
    /// `package`; absent in records that describe only git commits.
    pub package: Option<Package>,
    /// `affected[].severity`, which replaces the top-level one for this
    /// package.
    pub severity: Vec<SeverityEntry>,
    /// `ecosystem_specific.severity` or `database_specific.severity` of this
    /// entry.
    pub source_severity: Option<String>,
    /// `ranges`.
    pub ranges: Vec<Range>,
    /// `versions`: affected versions listed one by one.
    pub versions: Vec<String>,
}

/// `affected[].package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// `ecosystem`, parsed.
    pub ecosystem: Ecosystem,
    /// `name`.
    pub name: String,
    /// `purl`, if given.
    pub purl: Option<String>,
}

/// One `ranges` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// `type`.
    pub kind: RangeKind,
    /// `events`, in the record's order.
    pub events: Vec<Event>,
}

/// `ranges[].type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeKind {
    /// `SEMVER`: SemVer 2.0 precedence.
    Semver,
    /// `ECOSYSTEM`: the ecosystem's own ordering.
    Ecosystem,
    /// `GIT`: commit hashes; needs the repository's history.
    Git,
    /// A type this version of airlock does not know.
    Other(String),
}

/// One event of a range: exactly one of the four kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `introduced` (`"0"`: before every version).
    Introduced(String),
    /// `fixed`.
    Fixed(String),
    /// `last_affected` (inclusive).
    LastAffected(String),
    /// `limit` (`"*"`: infinity).
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }
}

/// One `severity` entry: a type and its score string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeverityEntry {
    /// `type`: `CVSS_V3`, `CVSS_V4`, `CVSS_V2`, `Ubuntu`, ….
    #[serde(rename = "type")]
    pub kind: String,
    /// `score`: a CVSS vector, or the type's own value.
    pub score: String,
}

mod raw {
    use serde::Deserialize;

    fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: serde::Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }

    #[derive(Deserialize)]
    pub struct Record {
        pub id: String,
        pub modified: String,
        pub withdrawn: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub aliases: Vec<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub upstream: Vec<String>,
        pub summary: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        pub severity: Vec<Severity>,
        #[serde(default, deserialize_with = "nullable")]
        pub affected: Vec<Affected>,
        pub database_specific: Option<Specific>,
    }

    #[derive(Deserialize)]
    pub struct Severity {
        #[serde(rename = "type")]
        pub kind: String,
        pub score: String,
    }

    /// Only `severity` is read from the open-ended `*_specific` objects.
    #[derive(Deserialize)]
    pub struct Specific {
        pub severity: Option<serde_json::Value>,
    }

    #[derive(Deserialize)]
    pub struct Affected {
        pub package: Option<Package>,
        #[serde(default, deserialize_with = "nullable")]
        pub severity: Vec<Severity>,
        #[serde(default, deserialize_with = "nullable")]
        pub ranges: Vec<Range>,
        #[serde(default, deserialize_with = "nullable")]
        pub versions: Vec<String>,
        pub ecosystem_specific: Option<Specific>,
        pub database_specific: Option<Specific>,
    }

    #[derive(Deserialize)]
    pub struct Package {
        pub ecosystem: String,
        pub name: String,
        pub purl: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Range {
        #[serde(rename = "type")]
        pub kind: String,
        #[serde(default, deserialize_with = "nullable")]
        pub events: Vec<Event>,
    }

    #[derive(Deserialize)]
    pub struct Event {
        pub introduced: Option<String>,
        pub fixed: Option<String>,
        pub last_affected: Option<String>,
        pub limit: Option<String>,
    }
}

impl Record {
    /// Parse one OSV record; `location` names where it came from in errors.
    pub fn parse(bytes: &[u8], location: &str) -> Result<Self> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                what: location.to_string(),
                limit: MAX_RECORD_BYTES as u64,
            });
        }
        let raw: raw::Record =
            serde_json::from_slice(bytes).map_err(|e| Error::malformed(location, e))?;
        let at = |what: &str| format!("{location} ({}) {what}", raw.id);
        if raw.id.is_empty()
            || raw.id.len() > MAX_ID_LEN
            || raw.id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::malformed(
                location,
                format!(
                    "id {:?} is empty, too long or has blanks",
                    truncated(&raw.id)
                ),
            ));
        }
        let modified = timestamp(&raw.modified).map_err(|e| Error::malformed(at("modified"), e))?;
        let withdrawn = match &raw.withdrawn {
            Some(w) => Some(timestamp(w).map_err(|e| Error::malformed(at("withdrawn"), e))?),
            None => None,
        };
        let affected = raw
            .affected
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                affected(a).map_err(|e| Error::malformed(at(&format!("affected[{i}]")), e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            id: raw.id,
            modified,
            withdrawn,
            aliases: raw.aliases,
            upstream: raw.upstream,
            summary: raw.summary,
            severity: raw.severity.into_iter().map(severity_entry).collect(),
            source_severity: raw.database_specific.and_then(specific_severity),
            affected,
        })
    }

    /// The ecosystems this record names (an ecosystem counts once).
    pub fn ecosystems(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| p.ecosystem.name())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn truncated(text: &str) -> String {
    text.chars().take(80).collect()
}

fn timestamp(text: &str) -> std::result::Result<Timestamp, String> {
    text.parse::<Timestamp>()
        .map_err(|e| format!("{:?} is not an RFC 3339 time: {e}", truncated(text)))
}

fn severity_entry(raw: raw::Severity) -> SeverityEntry {
    SeverityEntry {
        kind: raw.kind,
        score: raw.score,
    }
}

fn specific_severity(specific: raw::Specific) -> Option<String> {
    match specific.severity {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn affected(raw: raw::Affected) -> std::result::Result<Affected, String> {
    let package = match raw.package {
        Some(p) => {
            if p.name.is_empty() {
                return Err("package.name is empty".into());
            }
            Some(Package {
                ecosystem: Ecosystem::parse(&p.ecosystem)?,
                name: p.name,
                purl: p.purl,
            })
        }
        None => None,
    };
    let ranges = raw
        .ranges
        .into_iter()
        .enumerate()
        .map(|(i, r)| range(r).map_err(|e| format!("ranges[{i}]: {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let source_severity = raw
        .ecosystem_specific
        .and_then(specific_severity)
        .or_else(|| raw.database_specific.and_then(specific_severity));
    Ok(Affected {
        package,
        severity: raw.severity.into_iter().map(severity_entry).collect(),
        source_severity,
        ranges,
        versions: raw.versions,
    })
}

fn range(raw: raw::Range) -> std::result::Result<Range, String> {
    let kind = match raw.kind.as_str() {
        "SEMVER" => RangeKind::Semver,
        "ECOSYSTEM" => RangeKind::Ecosystem,
        "GIT" => RangeKind::Git,
        other => RangeKind::Other(truncated(other)),
    };
    let events = raw
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| event(e).map_err(|e| format!("events[{i}]: {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Range { kind, events })
}

/// Schema, "Requirements": "Only a single type (either introduced, fixed,
/// last_affected, limit) is allowed in each event object."
fn event(raw: raw::Event) -> std::result::Result<Event, String> {
    let present = [
        raw.introduced.map(Event::Introduced),
        raw.fixed.map(Event::Fixed),
        raw.last_affected.map(Event::LastAffected),
        raw.limit.map(Event::Limit),
    ];
    let mut events = present.into_iter().flatten();
    match (events.next(), events.next()) {
        (Some(event), None) => Ok(event),
        (None, _) => Err("none of introduced, fixed, last_affected, limit".into()),
        (Some(_), Some(_)) => {
            Err("more than one of introduced, fixed, last_affected, limit".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_matching_needs_and_skips_the_rest() {
        let record = Record::parse(
            br#"{"id":"X-1","modified":"2024-01-02T03:04:05.123456789Z","aliases":["CVE-1"],"future_field":{"a":[1]},
                "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"versions":["1"],
                  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2"}],"database_specific":{}}],
                  "ecosystem_specific":{"severity":"high"}}],
                "database_specific":{"severity":"CRITICAL","other":[]}}"#,
            "test",
        )
        .unwrap();
        assert_eq!(record.aliases, ["CVE-1"]);
        assert_eq!(record.source_severity.as_deref(), Some("CRITICAL"));
        let affected = &record.affected[0];
        let package = affected.package.as_ref().unwrap();
        assert_eq!(
            (package.ecosystem.name(), package.ecosystem.release()),
            ("Debian", Some("12"))
        );
        assert_eq!(
            affected.ranges[0].events,
            [Event::Introduced("0".into()), Event::Fixed("2".into())]
        );
        assert_eq!(affected.source_severity.as_deref(), Some("high"));
    }

    #[test]
    fn refuses_what_breaks_the_schema_by_name() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"modified":"2024-01-01T00:00:00Z"}"#,
                "missing field `id`",
            ),
            (r#"{"id":"X","modified":"yesterday"}"#, "modified"),
            (r#"{"id":"","modified":"2024-01-01T00:00:00Z"}"#, "id"),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}"#,
                "more than one",
            ),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[{"type":"SEMVER","events":[{}]}]}]}"#,
                "none of",
            ),
            (
                r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"","name":"a"}}]}"#,
                "ecosystem",
            ),
            (r#"[]"#, "not an OSV record"),
        ];
        for (json, expected) in cases {
            let error = Record::parse(json.as_bytes(), "case")
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }
}
