//! Whether a version is affected by one `affected` entry, exactly as the
//! OSV schema's "Evaluation" pseudocode says (`IsVulnerable`,
//! `IncludedInVersions`, `IncludedInRanges`, `BeforeLimits`), with the
//! events of each range sorted by the ecosystem's own ordering.
//!
//! What cannot be decided is said, never guessed: a `GIT` range without
//! the `versions` list the schema requires beside it (commits need the
//! repository's history), a range type airlock does not know, and a version
//! its scheme refuses make the answer "not evaluated" unless another range
//! or the `versions` list already shows the version affected.

use crate::osv::{Affected, Event, RangeKind};
use crate::version::{Scheme, Version};
use std::cmp::Ordering;

/// The answer for one (package version, affected entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Affected; `fixed` holds, per range, the first fix above the version.
    Affected {
        /// Versions that fix it (empty: no fix known).
        fixed: Vec<String>,
    },
    /// Not affected by any range or listed version.
    NotAffected,
    /// Some range could not be evaluated, and nothing evaluated showed the
    /// version affected.
    NotEvaluated {
        /// Why, one line per range.
        reasons: Vec<String>,
    },
}

/// An event bound, with the schema's special values.
enum Bound {
    /// `introduced: "0"`: before every version.
    Zero,
    Version(Version),
    /// A `limit` containing `*`: infinity.
    Infinity,
}

impl Bound {
    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::Infinity => Ordering::Greater,
            Bound::Version(b) => b.compare(v).unwrap_or(Ordering::Equal),
        }
    }

    fn cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
            (Bound::Version(a), Bound::Version(b)) => a.compare(b).unwrap_or(Ordering::Equal),
        }
    }
}

/// Evaluate `installed` (its text as the SBOM gives it) against one entry
/// whose `ECOSYSTEM` ranges use `scheme`.
pub fn evaluate(entry: &Affected, scheme: Scheme, installed: &str) -> Verdict {
    let mut reasons = Vec::new();
    let mut fixed = Vec::new();
    let mut affected = in_versions_list(&entry.versions, scheme, installed);
    for (i, range) in entry.ranges.iter().enumerate() {
        let range_scheme = match &range.kind {
            RangeKind::Ecosystem => scheme,
            // SEMVER ranges are SemVer 2.0 whatever the ecosystem; Go's `v`
            // prefix and +incompatible stay Go's.
            RangeKind::Semver => {
                if scheme == Scheme::Go {
                    Scheme::Go
                } else {
                    Scheme::SemVer
                }
            }
            // The schema: GIT ranges "cannot be answered without access to
            // a copy of the underlying Git repository", which is why they
            // must come with the enumerated `versions` list (checked above).
            // Without that list, the range is reported, not guessed.
            RangeKind::Git if !entry.versions.is_empty() => continue,
            RangeKind::Git => {
                reasons.push(format!("ranges[{i}] is a GIT range without a versions list: commits need the repository's history, not evaluated"));
                continue;
            }
            RangeKind::Other(kind) => {
                reasons.push(format!(
                    "ranges[{i}] has type {kind:?}, which airlock does not evaluate"
                ));
                continue;
            }
        };
        match included_in_range(&range.events, range_scheme, installed) {
            Ok(None) => {}
            Ok(Some(fix)) => {
                affected = true;
                fixed.extend(fix);
            }
            Err(why) => reasons.push(format!("ranges[{i}]: {why}")),
        }
    }
    if affected {
        fixed.dedup();
        Verdict::Affected { fixed }
    } else if reasons.is_empty() {
        Verdict::NotAffected
    } else {
        Verdict::NotEvaluated { reasons }
    }
}

/// `IncludedInVersions`: the exact string, or a listed version equal under
/// the scheme (Maven's `1.0` is `1.0.0`).
fn in_versions_list(versions: &[String], scheme: Scheme, installed: &str) -> bool {
    if versions.iter().any(|v| v == installed) {
        return true;
    }
    let Ok(v) = scheme.parse(installed) else {
        return false;
    };
    versions
        .iter()
        .filter_map(|listed| scheme.parse(listed).ok())
        .any(|listed| listed.compare(&v) == Some(Ordering::Equal))
}

/// One range: `Ok(Some(fix))` when affected (the first `fixed` above the
/// version, if any), `Ok(None)` when not, `Err` when it cannot be decided.
fn included_in_range(
    events: &[Event],
    scheme: Scheme,
    installed: &str,
) -> Result<Option<Option<String>>, String> {
    if !events.iter().any(|e| matches!(e, Event::Introduced(_))) {
        return Err("no introduced event (the schema requires one)".into());
    }
    let v = scheme.parse(installed).map_err(|e| e.to_string())?;
    let mut bounds = Vec::with_capacity(events.len());
    for event in events {
        let bound = match event {
            Event::Introduced(x) if x == "0" => Bound::Zero,
            Event::Limit(x) if x.contains('*') => Bound::Infinity,
            other => Bound::Version(
                scheme
                    .parse(other.version())
                    .map_err(|e| format!("event {e}"))?,
            ),
        };
        bounds.push((event, bound));
    }
    // "for evt in sorted(range.events)": stable, so equal versions keep the
    // record's order.
    bounds.sort_by(|a, b| a.1.cmp(&b.1));
    if !before_limits(&bounds, &v) {
        return Ok(None);
    }
    let mut vulnerable = false;
    for (event, bound) in &bounds {
        let order = bound.cmp_version(&v); // bound vs installed
        match event {
            Event::Introduced(_) if order != Ordering::Greater => vulnerable = true,
            Event::Fixed(_) if order != Ordering::Greater => vulnerable = false,
            Event::LastAffected(_) if order == Ordering::Less => vulnerable = false,
            _ => {}
        }
    }
    if !vulnerable {
        return Ok(None);
    }
    let fix = bounds
        .iter()
        .find(|(event, bound)| {
            matches!(event, Event::Fixed(_)) && bound.cmp_version(&v) == Ordering::Greater
        })
        .map(|(event, _)| event.version().to_string());
    Ok(Some(fix))
}

/// `BeforeLimits`: no limit events (an implicit `*`), or below one of them.
fn before_limits(bounds: &[(&Event, Bound)], v: &Version) -> bool {
    let mut limits = bounds
        .iter()
        .filter(|(e, _)| matches!(e, Event::Limit(_)))
        .peekable();
    limits.peek().is_none() || limits.any(|(_, bound)| bound.cmp_version(v) == Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Range;

    fn entry(kind: RangeKind, events: &[(&str, &str)], versions: &[&str]) -> Affected {
        let events = events
            .iter()
            .map(|(k, v)| match *k {
                "introduced" => Event::Introduced(v.to_string()),
                "fixed" => Event::Fixed(v.to_string()),
                "last_affected" => Event::LastAffected(v.to_string()),
                _ => Event::Limit(v.to_string()),
            })
            .collect();
        let json = serde_json::json!({"id": "T", "modified": "2024-01-01T00:00:00Z", "affected": [{"versions": versions}]});
        let mut record = crate::osv::Record::parse(json.to_string().as_bytes(), "test").unwrap();
        let mut affected = record.affected.remove(0);
        affected.ranges = vec![Range { kind, events }];
        affected
    }

    fn affected(e: &Affected, scheme: Scheme, v: &str) -> bool {
        matches!(evaluate(e, scheme, v), Verdict::Affected { .. })
    }

    /// The schema's examples: "every possible version is affected",
    /// "everything before 1.0.2", the multiple-range example.
    #[test]
    fn schema_examples() {
        let all = entry(RangeKind::Semver, &[("introduced", "0")], &[]);
        assert!(
            affected(&all, Scheme::SemVer, "0.0.1") && affected(&all, Scheme::SemVer, "99.0.0")
        );
        let before = entry(
            RangeKind::Semver,
            &[("introduced", "0"), ("fixed", "1.0.2")],
            &[],
        );
        assert!(affected(&before, Scheme::SemVer, "1.0.1"));
        assert!(!affected(&before, Scheme::SemVer, "1.0.2"));
        let multiple = entry(
            RangeKind::Semver,
            &[
                ("introduced", "1.0.0"),
                ("fixed", "1.0.2"),
                ("introduced", "3.0.0"),
                ("fixed", "3.2.5"),
            ],
            &[],
        );
        let cases = [
            ("0.9.0", false),
            ("1.0.0", true),
            ("1.0.2", false),
            ("2.0.0", false),
            ("3.1.0", true),
            ("3.2.5", false),
        ];
        for (v, expected) in cases {
            assert_eq!(affected(&multiple, Scheme::SemVer, v), expected, "{v}");
        }
        assert_eq!(
            evaluate(&multiple, Scheme::SemVer, "3.1.0"),
            Verdict::Affected {
                fixed: vec!["3.2.5".into()]
            }
        );
    }

    /// "`last_affected` vs `fixed`": 2.1.214 is affected under
    /// last_affected and not under fixed.
    #[test]
    fn last_affected_is_inclusive() {
        let last = entry(
            RangeKind::Ecosystem,
            &[("introduced", "0"), ("last_affected", "2.1.214")],
            &[],
        );
        assert!(affected(&last, Scheme::Maven, "2.1.214"));
        assert!(!affected(&last, Scheme::Maven, "2.1.215"));
        assert_eq!(
            evaluate(&last, Scheme::Maven, "2.1.214"),
            Verdict::Affected { fixed: vec![] }
        );
    }

    #[test]
    fn events_are_sorted_by_the_ecosystem_not_by_the_record() {
        let unsorted = entry(
            RangeKind::Ecosystem,
            &[("fixed", "1.10"), ("introduced", "1.9")],
            &[],
        );
        assert!(affected(&unsorted, Scheme::Maven, "1.9.5"));
        assert!(!affected(&unsorted, Scheme::Maven, "1.10"));
    }

    #[test]
    fn limits_bound_the_range() {
        let limited = entry(
            RangeKind::Ecosystem,
            &[("introduced", "1.0"), ("limit", "2.0")],
            &[],
        );
        assert!(affected(&limited, Scheme::Maven, "1.5"));
        assert!(!affected(&limited, Scheme::Maven, "2.0"));
        let star = entry(
            RangeKind::Ecosystem,
            &[("introduced", "1.0"), ("limit", "*")],
            &[],
        );
        assert!(affected(&star, Scheme::Maven, "99"));
    }

    #[test]
    fn versions_lists_count_on_their_own() {
        let listed = entry(
            RangeKind::Ecosystem,
            &[("introduced", "5.0")],
            &["1.6.1-brew"],
        );
        assert!(affected(&listed, Scheme::Maven, "1.6.1-brew"));
        assert!(!affected(&listed, Scheme::Maven, "1.6.1"));
    }

    #[test]
    fn what_cannot_be_decided_is_not_evaluated() {
        let git = entry(
            RangeKind::Git,
            &[("introduced", "abc"), ("fixed", "def")],
            &[],
        );
        assert!(matches!(
            evaluate(&git, Scheme::PyPI, "1.0"),
            Verdict::NotEvaluated { .. }
        ));
        let bad = entry(
            RangeKind::Ecosystem,
            &[("introduced", "0"), ("fixed", "1.0")],
            &[],
        );
        assert!(matches!(
            evaluate(&bad, Scheme::Alpine, "not-apk"),
            Verdict::NotEvaluated { .. }
        ));
        let no_introduced = entry(RangeKind::Ecosystem, &[("fixed", "1.0")], &[]);
        assert!(matches!(
            evaluate(&no_introduced, Scheme::Maven, "0.5"),
            Verdict::NotEvaluated { .. }
        ));
        // With the versions list the schema requires beside GIT ranges, the
        // list decides.
        let mut git_listed = git.clone();
        git_listed.versions = vec!["1.0".into()];
        assert!(affected(&git_listed, Scheme::PyPI, "1.0"));
        assert_eq!(
            evaluate(&git_listed, Scheme::PyPI, "1.1"),
            Verdict::NotAffected
        );
    }
}
