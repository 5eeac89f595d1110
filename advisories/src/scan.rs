//! Matching an SBOM's packages against a [`Database`]: for each package
//! URL, its OSV coordinates, the records that name it in the release it
//! belongs to, the OSV evaluation of each, and one finding per
//! vulnerability (records that are aliases of each other merged).

use crate::database::Database;
use crate::ecosystem::{coordinates, scheme_of, Coordinates, Unscannable};
use crate::osv::{Affected, Record};
use crate::range::{evaluate, Verdict};
use crate::severity::{assess, Rating, Severity};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// One package as an SBOM lists it (borrowed from the SBOM reader's own
/// package type).
#[derive(Debug, Clone, Copy)]
pub struct PackageRef<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its version, if listed.
    pub version: Option<&'a str>,
    /// Its package URL, if listed: what matching uses.
    pub purl: Option<&'a str>,
}

/// A vulnerability that affects a package.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The package URL as the SBOM gives it.
    pub purl: String,
    /// The OSV ecosystem string of the matching entry (`Debian:11`, `Maven`).
    pub ecosystem: String,
    /// The package name OSV uses.
    pub package: String,
    /// The installed version.
    pub version: String,
    /// Every record id of this vulnerability, sorted.
    pub ids: Vec<String>,
    /// Their aliases (CVE ids, …) that are not among `ids`.
    pub aliases: Vec<String>,
    /// Upstream vulnerabilities the records derive from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    /// A summary, from the first record that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The highest severity among the records.
    pub severity: Severity,
    /// Versions that fix it (empty: no fix known).
    pub fixed: Vec<String>,
}

impl Finding {
    /// Whether a fixed version is known.
    pub fn fix_available(&self) -> bool {
        !self.fixed.is_empty()
    }
}

/// A record that names a package but could not be evaluated for it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotEvaluated {
    /// The package URL.
    pub purl: String,
    /// The installed version.
    pub version: String,
    /// The record.
    pub id: String,
    /// Why, per range.
    pub reasons: Vec<String>,
}

/// A package that could not be matched at all.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unscanned {
    /// Its name.
    pub name: String,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Why.
    pub why: Unscannable,
}

/// The result of a scan: data for the text and JSON renderers.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// Packages listed.
    pub packages: usize,
    /// Distinct package URLs matched against the advisories.
    pub scanned: usize,
    /// Findings, by package URL then first id.
    pub findings: Vec<Finding>,
    /// (package, record) pairs that could not be evaluated.
    pub not_evaluated: Vec<NotEvaluated>,
    /// Packages that could not be matched, with why.
    pub unscanned: Vec<Unscanned>,
}

impl ScanReport {
    /// Findings per rating.
    pub fn counts(&self) -> BTreeMap<Rating, usize> {
        let mut counts = BTreeMap::new();
        for finding in &self.findings {
            *counts.entry(finding.severity.rating).or_default() += 1;
        }
        counts
    }
}

/// Match every package against the database.
pub fn scan<'a>(db: &Database, packages: impl IntoIterator<Item = PackageRef<'a>>) -> ScanReport {
    let mut report = ScanReport {
        packages: 0,
        scanned: 0,
        findings: Vec::new(),
        not_evaluated: Vec::new(),
        unscanned: Vec::new(),
    };
    let mut seen = HashSet::new();
    for package in packages {
        report.packages += 1;
        let unscanned = |why| Unscanned {
            name: package.name.into(),
            version: package.version.map(Into::into),
            purl: package.purl.map(Into::into),
            why,
        };
        let Some(purl) = package.purl else {
            report.unscanned.push(unscanned(Unscannable::NoPurl));
            continue;
        };
        if !seen.insert(purl) {
            continue;
        }
        match coordinates(purl) {
            Ok(c) if !db.covers(c.ecosystem) => report
                .unscanned
                .push(unscanned(Unscannable::NoAdvisoryData(c.ecosystem.into()))),
            Ok(c) => {
                report.scanned += 1;
                scan_package(db, purl, &c, &mut report);
            }
            Err(why) => report.unscanned.push(unscanned(why)),
        }
    }
    report
        .findings
        .sort_by(|a, b| (&a.purl, &a.ids).cmp(&(&b.purl, &b.ids)));
    report
}

/// One affected (record, entry) for a package.
struct Match<'r> {
    record: &'r Record,
    entry: &'r Affected,
    fixed: Vec<String>,
}

fn scan_package(db: &Database, purl: &str, c: &Coordinates, report: &mut ScanReport) {
    let Some(scheme) = scheme_of(c.ecosystem) else {
        return;
    };
    let mut matches: Vec<Match<'_>> = Vec::new();
    for (record, entry) in db.lookup(c.ecosystem, &c.name) {
        let in_scope = entry
            .package
            .as_ref()
            .is_some_and(|p| p.ecosystem.covers(c.release.as_deref()));
        if !in_scope {
            continue;
        }
        match evaluate(entry, scheme, &c.version) {
            // A record with several entries for one package matches once
            // (its entries are adjacent in the index).
            Verdict::Affected { fixed } => match matches.last_mut() {
                Some(last) if last.record.id == record.id => last.fixed.extend(fixed),
                _ => matches.push(Match {
                    record,
                    entry,
                    fixed,
                }),
            },
            Verdict::NotAffected => {}
            Verdict::NotEvaluated { reasons } => report.not_evaluated.push(NotEvaluated {
                purl: purl.into(),
                version: c.version.clone(),
                id: record.id.clone(),
                reasons,
            }),
        }
    }
    for group in alias_groups(matches) {
        report.findings.push(finding(purl, c, &group));
    }
}

/// Group matches whose ids and aliases meet (the schema: aliases are
/// symmetric and transitive).
fn alias_groups(matches: Vec<Match<'_>>) -> Vec<Vec<Match<'_>>> {
    let mut groups: Vec<(BTreeSet<&str>, Vec<Match<'_>>)> = Vec::new();
    for m in matches {
        let mut keys: BTreeSet<&str> = m.record.aliases.iter().map(String::as_str).collect();
        keys.insert(&m.record.id);
        let mut members = vec![m];
        let mut i = 0;
        while i < groups.len() {
            if groups[i].0.iter().any(|k| keys.contains(k)) {
                let (other_keys, other_members) = groups.swap_remove(i);
                keys.extend(other_keys);
                members.extend(other_members);
            } else {
                i += 1;
            }
        }
        groups.push((keys, members));
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

fn finding(purl: &str, c: &Coordinates, group: &[Match<'_>]) -> Finding {
    let ids: BTreeSet<String> = group.iter().map(|m| m.record.id.clone()).collect();
    let aliases: BTreeSet<String> = group
        .iter()
        .flat_map(|m| m.record.aliases.iter().cloned())
        .filter(|a| !ids.contains(a))
        .collect();
    let upstream: BTreeSet<String> = group
        .iter()
        .flat_map(|m| m.record.upstream.iter().cloned())
        .collect();
    let severity = group
        .iter()
        .map(|m| {
            let (entries, label) = if m.entry.severity.is_empty() {
                (
                    &m.record.severity,
                    m.entry
                        .source_severity
                        .as_deref()
                        .or(m.record.source_severity.as_deref()),
                )
            } else {
                (&m.entry.severity, m.entry.source_severity.as_deref())
            };
            assess(entries, label)
        })
        .reduce(Severity::max)
        .expect("a group has a member");
    let mut fixed: Vec<String> = group.iter().flat_map(|m| m.fixed.iter().cloned()).collect();
    fixed.sort();
    fixed.dedup();
    let first = group
        .iter()
        .min_by(|a, b| a.record.id.cmp(&b.record.id))
        .expect("a group has a member");
    Finding {
        purl: purl.to_string(),
        ecosystem: first
            .entry
            .package
            .as_ref()
            .map(|p| p.ecosystem.as_str().to_string())
            .unwrap_or_default(),
        package: c.name.clone(),
        version: c.version.clone(),
        ids: ids.into_iter().collect(),
        aliases: aliases.into_iter().collect(),
        upstream: upstream.into_iter().collect(),
        summary: group.iter().find_map(|m| m.record.summary.clone()),
        severity,
        fixed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, aliases: &[&str], vector: Option<&str>, fixed: &str) -> Record {
        let mut json = serde_json::json!({
            "id": id, "modified": "2024-01-01T00:00:00Z", "aliases": aliases,
            "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        });
        if let Some(v) = vector {
            json["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": v}]);
        }
        Record::parse(json.to_string().as_bytes(), id).unwrap()
    }

    #[test]
    fn records_that_are_aliases_of_each_other_make_one_finding() {
        let db = Database::new([
            record(
                "GHSA-a",
                &["CVE-1"],
                Some("CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:H/I:N/A:N"),
                "1.5.0",
            ),
            record(
                "OSV-b",
                &["CVE-1", "GHSA-a"],
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                "1.4.0",
            ),
            record("GHSA-c", &["CVE-2"], None, "2.0.0"),
        ]);
        let packages = [
            PackageRef {
                name: "left-pad",
                version: Some("1.3.0"),
                purl: Some("pkg:npm/left-pad@1.3.0"),
            },
            PackageRef {
                name: "left-pad",
                version: Some("1.3.0"),
                purl: Some("pkg:npm/left-pad@1.3.0"),
            },
            PackageRef {
                name: "no-purl",
                version: None,
                purl: None,
            },
        ];
        let report = scan(&db, packages);
        assert_eq!(
            (report.packages, report.scanned, report.unscanned.len()),
            (3, 1, 1)
        );
        let ids: Vec<&Vec<String>> = report.findings.iter().map(|f| &f.ids).collect();
        assert_eq!(
            ids,
            [
                &vec!["GHSA-a".to_string(), "OSV-b".to_string()],
                &vec!["GHSA-c".to_string()]
            ]
        );
        let merged = &report.findings[0];
        assert_eq!(merged.aliases, ["CVE-1"]);
        assert_eq!(
            (merged.severity.rating, merged.severity.score),
            (Rating::Critical, Some(9.8))
        );
        assert_eq!(merged.fixed, ["1.4.0", "1.5.0"]);
        assert_eq!(report.findings[1].severity.rating, Rating::Unknown);
    }
}
