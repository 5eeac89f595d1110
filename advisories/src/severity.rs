//! Severity: CVSS base scores computed from the vector (RustSec's `cvss`
//! crate: v3.0 and v3.1 with each version's rounding, v4.0 by FIRST's
//! MacroVector tables), rated by FIRST's qualitative scale; the source's
//! own rating when a record has no vector.

use crate::osv::SeverityEntry;

/// FIRST's qualitative rating (CVSS v3.1 specification §5, v4.0 §2):
/// None 0.0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0;
/// `Unknown` when neither a vector nor the source says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// No rating available.
    Unknown,
    /// 0.0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl Rating {
    /// Lowercase name, as the policy spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// A source's own label: GHSA's `CRITICAL`/`HIGH`/`MODERATE`/`LOW`, Red
    /// Hat's `Important`, Ubuntu's priorities, Debian's urgencies.
    pub fn from_label(label: &str) -> Self {
        match label.to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "moderate" | "medium" => Self::Medium,
            "low" | "negligible" | "unimportant" => Self::Low,
            "none" => Self::None,
            _ => Self::Unknown,
        }
    }
}

impl From<cvss::Severity> for Rating {
    fn from(s: cvss::Severity) -> Self {
        match s {
            cvss::Severity::None => Self::None,
            cvss::Severity::Low => Self::Low,
            cvss::Severity::Medium => Self::Medium,
            cvss::Severity::High => Self::High,
            cvss::Severity::Critical => Self::Critical,
        }
    }
}

/// A severity and what it rests on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Severity {
    /// The rating.
    pub rating: Rating,
    /// The CVSS base score, when computed from a vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The vector the score was computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The source's own rating, when that is what the rating rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_rating: Option<String>,
    /// Vectors that could not be scored, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unscored: Vec<String>,
}

impl Severity {
    fn unknown() -> Self {
        Self {
            rating: Rating::Unknown,
            score: None,
            vector: None,
            source_rating: None,
            unscored: Vec::new(),
        }
    }

    /// The more severe of two (by rating, then score): merged findings and
    /// gates never under-count.
    pub fn max(self, other: Self) -> Self {
        let key = |s: &Self| (s.rating, s.score.map(|x| (x * 10.0) as i64));
        if key(&other) > key(&self) {
            other
        } else {
            self
        }
    }
}

/// The severity of one record for one package: the package's own
/// `affected[].severity` if it has one, else the record's; the highest
/// rated CVSS v3.x/v4.0 vector (v2 only when there is nothing newer); with
/// no vector, the source's label.
pub fn assess(entries: &[SeverityEntry], source_label: Option<&str>) -> Severity {
    let mut best: Option<Severity> = None;
    let mut fallback_v2: Option<Severity> = None;
    let mut unscored = Vec::new();
    for entry in entries.iter().filter(|e| e.kind.starts_with("CVSS_")) {
        match entry.score.parse::<cvss::Cvss>() {
            Ok(vector) => {
                let scored = Severity {
                    rating: vector.severity().into(),
                    score: Some(vector.score()),
                    vector: Some(entry.score.clone()),
                    source_rating: None,
                    unscored: Vec::new(),
                };
                let slot = if matches!(vector, cvss::Cvss::CvssV20(_)) {
                    &mut fallback_v2
                } else {
                    &mut best
                };
                *slot = Some(match slot.take() {
                    Some(current) => current.max(scored),
                    None => scored,
                });
            }
            Err(e) => unscored.push(format!("{}: {e}", entry.score)),
        }
    }
    let label = source_label.or_else(|| {
        entries
            .iter()
            .find(|e| e.kind == "Ubuntu")
            .map(|e| e.score.as_str())
    });
    let mut severity = best.or(fallback_v2).unwrap_or_else(|| match label {
        Some(label) => Severity {
            rating: Rating::from_label(label),
            source_rating: Some(label.to_string()),
            ..Severity::unknown()
        },
        None => Severity::unknown(),
    });
    severity.unscored = unscored;
    severity
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, score: &str) -> SeverityEntry {
        SeverityEntry {
            kind: kind.into(),
            score: score.into(),
        }
    }

    fn scored(vector: &str) -> (Rating, f64) {
        let kind = if vector.starts_with("CVSS:4") {
            "CVSS_V4"
        } else {
            "CVSS_V3"
        };
        let s = assess(&[entry(kind, vector)], None);
        (s.rating, s.score.unwrap())
    }

    /// FIRST's CVSS v3.1 specification, §7.4 examples and the calculator:
    /// AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H is 9.8 Critical; v3.0 rounds
    /// with plain ceiling, 3.1 with the Roundup function (same here).
    #[test]
    fn cvss_v3_base_scores() {
        assert_eq!(
            scored("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            (Rating::Critical, 9.8)
        );
        assert_eq!(
            scored("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            (Rating::Critical, 9.8)
        );
        assert_eq!(
            scored("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H"),
            (Rating::High, 7.0)
        );
        assert_eq!(
            scored("CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:H/I:N/A:N"),
            (Rating::Medium, 4.4)
        );
        assert_eq!(
            scored("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"),
            (Rating::High, 8.6)
        );
    }

    /// FIRST's CVSS v4.0 calculator / specification examples.
    #[test]
    fn cvss_v4_base_scores() {
        assert_eq!(
            scored("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            (Rating::Critical, 9.3)
        );
        assert_eq!(
            scored("CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"),
            (Rating::Medium, 5.1)
        );
    }

    #[test]
    fn the_higher_vector_wins_and_labels_fill_in() {
        let both = assess(
            &[
                entry("CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:H/I:N/A:N"),
                entry(
                    "CVSS_V4",
                    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                ),
            ],
            Some("LOW"),
        );
        assert_eq!((both.rating, both.score), (Rating::Critical, Some(9.3)));
        let label = assess(&[], Some("MODERATE"));
        assert_eq!(
            (label.rating, label.score, label.source_rating.as_deref()),
            (Rating::Medium, None, Some("MODERATE"))
        );
        assert_eq!(assess(&[], None).rating, Rating::Unknown);
        let bad = assess(&[entry("CVSS_V3", "CVSS:3.1/AV:X")], Some("HIGH"));
        assert_eq!((bad.rating, bad.unscored.len()), (Rating::High, 1));
    }
}
