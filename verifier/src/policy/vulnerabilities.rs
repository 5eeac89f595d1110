//! `spec.vulnerabilities`: the gate on what an image's SBOM packages are
//! known to be vulnerable to. Decides only: the findings come from
//! [`crate::advisories`], the date from the caller's clock.
//!
//! ```yaml
//! vulnerabilities:
//!   deny: {minSeverity: critical, fixAvailable: true}   # low|medium|high|critical
//!   allow:
//!     - {id: CVE-2024-12345, reason: "not reachable in our build", until: "2027-03-01"}
//! ```
//!
//! A finding is denied when its rating is at least `minSeverity` (a
//! finding with no rating — no vector and no source label — never is) and,
//! with `fixAvailable: true`, a fixed version is known; unless an allow
//! entry names one of its ids or aliases and `until` has not passed (the
//! entry holds through that day, UTC).

use advisories::{Finding, Rating};
use jiff::civil::Date;

/// The policy's `spec.vulnerabilities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnerabilityPolicy {
    /// The deny rule; without one nothing is denied (findings are still
    /// scanned and reported).
    pub deny: Option<DenyRule>,
    /// Advisories accepted for a while, with why.
    pub allow: Vec<AllowEntry>,
}

/// Which findings refuse an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyRule {
    /// The lowest rating that counts.
    pub min_severity: Rating,
    /// Count only findings with a fixed version known.
    pub fix_available: bool,
}

/// One accepted advisory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AllowEntry {
    /// An advisory id or alias (`CVE-…`, `GHSA-…`).
    pub id: String,
    /// Why it is accepted.
    pub reason: String,
    /// The last day it is accepted (UTC).
    pub until: Date,
}

/// What the gate made of one finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// The deny rule does not catch it.
    Reported,
    /// The deny rule catches it: the image is refused.
    Denied,
    /// The deny rule catches it, but an allow entry accepts it.
    Allowed {
        /// The entry.
        allow: AllowEntry,
    },
    /// The deny rule catches it, and the allow entry that named it has
    /// expired: the image is refused.
    AllowExpired {
        /// The entry.
        allow: AllowEntry,
    },
}

impl Decision {
    /// Whether this finding refuses the image.
    pub fn gates(&self) -> bool {
        matches!(self, Self::Denied | Self::AllowExpired { .. })
    }
}

impl VulnerabilityPolicy {
    /// The decision on `finding` on `today`.
    pub fn decide(&self, finding: &Finding, today: Date) -> Decision {
        let Some(deny) = &self.deny else { return Decision::Reported };
        let rated = finding.severity.rating != Rating::Unknown && finding.severity.rating >= deny.min_severity;
        if !rated || (deny.fix_available && !finding.fix_available()) {
            return Decision::Reported;
        }
        let named = |a: &&AllowEntry| finding.ids.iter().chain(&finding.aliases).any(|id| id.eq_ignore_ascii_case(&a.id));
        let entries: Vec<&AllowEntry> = self.allow.iter().filter(named).collect();
        match entries.iter().find(|a| today <= a.until) {
            Some(valid) => Decision::Allowed { allow: (*valid).clone() },
            None => match entries.first() {
                Some(expired) => Decision::AllowExpired { allow: (*expired).clone() },
                None => Decision::Denied,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use advisories::Severity;

    fn finding(id: &str, alias: &str, rating: Rating, fixed: &[&str]) -> Finding {
        Finding {
            purl: "pkg:maven/a/b@1".into(),
            ecosystem: "Maven".into(),
            package: "a:b".into(),
            version: "1".into(),
            ids: vec![id.into()],
            aliases: vec![alias.into()],
            upstream: vec![],
            summary: None,
            severity: Severity { rating, score: None, vector: None, source_rating: None, unscored: vec![] },
            fixed: fixed.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn deny_threshold_fix_and_allow_expiry() {
        let policy = VulnerabilityPolicy {
            deny: Some(DenyRule { min_severity: Rating::High, fix_available: true }),
            allow: vec![
                AllowEntry { id: "CVE-1".into(), reason: "unreachable".into(), until: date("2027-03-01") },
                AllowEntry { id: "GHSA-old".into(), reason: "was fine".into(), until: date("2025-01-01") },
            ],
        };
        let today = date("2027-03-01");
        assert_eq!(policy.decide(&finding("GHSA-a", "CVE-9", Rating::Critical, &["2"]), today), Decision::Denied);
        assert_eq!(policy.decide(&finding("GHSA-a", "CVE-9", Rating::Critical, &[]), today), Decision::Reported);
        assert_eq!(policy.decide(&finding("GHSA-a", "CVE-9", Rating::Medium, &["2"]), today), Decision::Reported);
        assert_eq!(policy.decide(&finding("GHSA-a", "CVE-9", Rating::Unknown, &["2"]), today), Decision::Reported);
        assert!(matches!(policy.decide(&finding("GHSA-a", "cve-1", Rating::High, &["2"]), today), Decision::Allowed { .. }));
        let expired = policy.decide(&finding("GHSA-a", "CVE-1", Rating::High, &["2"]), date("2027-03-02"));
        assert!(matches!(expired, Decision::AllowExpired { .. }) && expired.gates());
        assert!(policy.decide(&finding("GHSA-old", "CVE-8", Rating::High, &["2"]), today).gates());
    }
}
