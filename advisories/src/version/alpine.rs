//! Alpine's apk versions, written here: the one crate that compares them
//! (`apk-version`) compiles apk-tools' C through FFI and has no repository.
//!
//! The grammar is apk-package(5), "pkgver": `number{.number}...{letter}
//! {_suffix{number}}...{~hash}{-r#}`; the ordering is apk-tools'
//! `apk_version_compare` (src/version.c): number components compared in
//! turn (after the first, a component with a leading zero compares as a
//! string, like a decimal fraction), a version with more number components
//! is newer, then the letter, then the suffixes in the order
//! `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`,
//! then the `-r` revision. The `~hash` commit is not ordered (apk-tools 2
//! has no notion of it). Anything outside the grammar is refused rather than
//! ordered the way one apk release happened to.

use std::cmp::Ordering;

/// Suffixes in apk's order; "no suffix" sits between `rc` and `cvs`.
const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// A parsed apk version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion {
    numbers: Vec<String>,
    letter: Option<u8>,
    /// (weight, number): weight < 0 for pre-release suffixes, > 0 after.
    suffixes: Vec<(i8, Option<Digits>)>,
    revision: Option<Digits>,
}

/// A run of digits compared as an arbitrarily large number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digits(String);

impl Digits {
    fn new(text: &str) -> Self {
        let trimmed = text.trim_start_matches('0');
        Self(if trimmed.is_empty() { "0".into() } else { trimmed.into() })
    }
}

impl Ord for Digits {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Digits {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Split off the leading run of bytes matching `pred`.
fn take_while(text: &str, pred: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = text.bytes().position(|b| !pred(b)).unwrap_or(text.len());
    text.split_at(end)
}

impl ApkVersion {
    /// Parse `text`, or say why it is not an apk version.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut numbers = Vec::new();
        let mut rest = text;
        loop {
            let (digits, after) = take_while(rest, |b| b.is_ascii_digit());
            if digits.is_empty() {
                return Err("a number is expected at the start and after each '.'".into());
            }
            numbers.push(digits.to_string());
            rest = after;
            match rest.strip_prefix('.') {
                Some(after_dot) => rest = after_dot,
                None => break,
            }
        }
        let letter = match rest.as_bytes().first() {
            Some(b) if b.is_ascii_lowercase() => {
                rest = &rest[1..];
                Some(*b)
            }
            _ => None,
        };
        let mut suffixes = Vec::new();
        while let Some(after) = rest.strip_prefix('_') {
            let (name, after_name) = take_while(after, |b| b.is_ascii_lowercase());
            let weight = suffix_weight(name).ok_or_else(|| format!("unknown suffix _{name}"))?;
            let (digits, after_digits) = take_while(after_name, |b| b.is_ascii_digit());
            suffixes.push((weight, (!digits.is_empty()).then(|| Digits::new(digits))));
            rest = after_digits;
        }
        if let Some(after) = rest.strip_prefix('~') {
            let (hash, after_hash) = take_while(after, |b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            if hash.is_empty() {
                return Err("'~' is not followed by a commit hash".into());
            }
            rest = after_hash;
        }
        let revision = match rest.strip_prefix("-r") {
            Some(after) => {
                let (digits, after_digits) = take_while(after, |b| b.is_ascii_digit());
                if digits.is_empty() {
                    return Err("'-r' is not followed by a number".into());
                }
                rest = after_digits;
                Some(Digits::new(digits))
            }
            None => None,
        };
        if !rest.is_empty() {
            return Err(format!("unexpected {rest:?}"));
        }
        Ok(Self { numbers, letter, suffixes, revision })
    }
}

fn suffix_weight(name: &str) -> Option<i8> {
    if let Some(i) = PRE_SUFFIXES.iter().position(|s| *s == name) {
        return Some(i as i8 - PRE_SUFFIXES.len() as i8);
    }
    POST_SUFFIXES.iter().position(|s| *s == name).map(|i| i as i8 + 1)
}

/// apk's number components: the first numerically; later ones with a
/// leading zero as strings ("1.01" < "1.1", as apk-tools' DIGIT_OR_ZERO).
fn compare_number(index: usize, a: &str, b: &str) -> Ordering {
    if index > 0 && (a.starts_with('0') || b.starts_with('0')) {
        return a.cmp(b);
    }
    Digits::new(a).cmp(&Digits::new(b))
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (i, (a, b)) in self.numbers.iter().zip(&other.numbers).enumerate() {
            let order = compare_number(i, a, b);
            if order != Ordering::Equal {
                return order;
            }
        }
        // apk: "the non-terminating version is greater".
        let by_count = self.numbers.len().cmp(&other.numbers.len());
        if by_count != Ordering::Equal {
            return by_count;
        }
        let by_letter = self.letter.cmp(&other.letter);
        if by_letter != Ordering::Equal {
            return by_letter;
        }
        let len = self.suffixes.len().max(other.suffixes.len());
        for i in 0..len {
            // A missing suffix is "no suffix": weight 0, between rc and cvs.
            let a = self.suffixes.get(i).cloned().unwrap_or((0, None));
            let b = other.suffixes.get(i).cloned().unwrap_or((0, None));
            let order = a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
            if order != Ordering::Equal {
                return order;
            }
        }
        self.revision.cmp(&other.revision)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        ApkVersion::parse(a).unwrap().cmp(&ApkVersion::parse(b).unwrap())
    }

    /// apk-package(5): "The list of valid suffixes (and their sorting order)
    /// is: alpha, beta, pre, rc, <no suffix>, cvs, svn, git, hg, p".
    #[test]
    fn suffix_order_from_apk_package_5() {
        let order = ["1.0_alpha", "1.0_beta", "1.0_pre", "1.0_rc", "1.0", "1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p"];
        for pair in order.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    /// apk-tools test/version.data (lines kept by osv-scalibr's
    /// alpine-versions.txt): letters, revisions, numbers and suffix numbers.
    #[test]
    fn examples_from_apk_tools_version_data() {
        assert_eq!(cmp("1.2.3b", "1.2.0d"), Ordering::Greater);
        assert_eq!(cmp("1-r1", "1-r01"), Ordering::Equal);
        assert_eq!(cmp("2.2.39-r1", "1.0.4-r3"), Ordering::Greater);
        assert_eq!(cmp("0.8_beta4", "4.8-r1"), Ordering::Less);
        assert_eq!(cmp("1.2", "1.2_git1"), Ordering::Less);
        assert_eq!(cmp("1.2_svn2", "1.2_git1"), Ordering::Less);
        assert_eq!(cmp("006", "1.0.0"), Ordering::Greater);
        assert_eq!(cmp("1.2.2-r1", "1.2.2"), Ordering::Greater);
    }

    #[test]
    fn refuses_what_is_not_an_apk_version() {
        for bad in ["", "a", "1.", "1_foo", "1-r", "1-rr", "1.2.0A", "1 2"] {
            assert!(ApkVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
