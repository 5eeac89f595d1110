//! Packagist (Composer) versions, written here: Composer orders versions
//! with PHP's `version_compare`, and no Rust crate implements it.
//!
//! The PHP manual, `version_compare`: the function "first replaces `_`, `-`
//! and `+` with a dot `.` in the version strings and also inserts dots `.`
//! before and after any non number so that for example '4.3.2RC1' becomes
//! '4.3.2.RC.1'. Then it compares the parts starting from left to right. If
//! a part contains special version strings these are handled in the
//! following order: any string not found in this list < dev < alpha = a <
//! beta = b < RC = rc < # < pl = p." (`#` stands for any number.) The
//! details below follow php-src ext/standard/versioning.c: special strings
//! match by prefix, other punctuation is a separator too, runs of
//! separators collapse, and when one version has parts left over, a
//! leftover number makes it newer while a leftover word is weighed against
//! `#`. Composer strips a leading `v` before comparing (`v5.4.16` is
//! `5.4.16`), and so do we.

use std::cmp::Ordering;

/// The special forms in php-src's order, each with its weight.
const SPECIAL_FORMS: [(&str, i8); 10] = [
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
];

/// A version split into PHP's dot-separated parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagistVersion {
    parts: Vec<String>,
}

impl PackagistVersion {
    /// Canonicalise as PHP does (after Composer's `v` strip).
    pub fn parse(text: &str) -> Self {
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let mut canonical = String::with_capacity(text.len() * 2);
        let mut previous: Option<char> = None;
        for c in text.chars() {
            let separator = !c.is_ascii_alphanumeric();
            let boundary =
                previous.is_some_and(|p| p != '.' && p.is_ascii_digit() != c.is_ascii_digit());
            if (separator || boundary) && !canonical.is_empty() && !canonical.ends_with('.') {
                canonical.push('.');
            }
            if !separator {
                canonical.push(c);
            }
            previous = Some(if separator { '.' } else { c });
        }
        Self {
            parts: canonical
                .split('.')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

fn special_weight(form: &str) -> i8 {
    SPECIAL_FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map(|(_, w)| *w)
        .unwrap_or(-1)
}

fn is_number(part: &str) -> bool {
    part.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn compare_part(a: &str, b: &str) -> Ordering {
    match (is_number(a), is_number(b)) {
        (true, true) => {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (false, false) => special_weight(a).cmp(&special_weight(b)),
        (true, false) => special_weight("#").cmp(&special_weight(b)),
        (false, true) => special_weight(a).cmp(&special_weight("#")),
    }
}

fn compare_parts(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = compare_part(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater if is_number(&a[b.len()]) => Ordering::Greater,
        Ordering::Greater => compare_parts(&a[b.len()..], &["#".to_string()]),
        Ordering::Less if is_number(&b[a.len()]) => Ordering::Less,
        Ordering::Less => compare_parts(&["#".to_string()], &b[a.len()..]),
        Ordering::Equal => Ordering::Equal,
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_parts(&self.parts, &other.parts)
    }
}

impl PartialOrd for PackagistVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        PackagistVersion::parse(a).cmp(&PackagistVersion::parse(b))
    }

    /// The PHP manual's example canonicalisation and special-form order.
    #[test]
    fn examples_from_the_php_manual() {
        assert_eq!(
            PackagistVersion::parse("4.3.2RC1").parts,
            ["4", "3", "2", "RC", "1"]
        );
        let ascending = [
            "1.0-foo",
            "1.0-dev",
            "1.0-alpha",
            "1.0-beta",
            "1.0-RC1",
            "1.0.1",
            "1.0-pl1",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(cmp("1.0a1", "1.0alpha1"), Ordering::Equal);
        assert_eq!(cmp("1.0rc1", "1.0RC1"), Ordering::Equal);
        // The manual's own examples: version_compare('5.2', '5.2.0') is -1.
        assert_eq!(cmp("5.2", "5.2.0"), Ordering::Less);
        assert_eq!(cmp("1.0rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0pl1"), Ordering::Less);
    }

    #[test]
    fn composer_strips_a_leading_v() {
        assert_eq!(cmp("v5.4.16", "5.4.16"), Ordering::Equal);
        assert_eq!(cmp("v5.4.16", "5.4.20"), Ordering::Less);
    }
}
