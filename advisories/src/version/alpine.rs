//! Alpine's apk versions, written here: the one crate that compares them
//! (`apk-version`) compiles apk-tools' C through FFI and has no repository.
//!
//! apk-package(5) gives the shape, `number{.number}...{letter}
//! {_suffix{number}}...{~hash}{-r#}`; apk-tools' `apk_version_compare`
//! (src/version.c) gives the order, and accepts a little more (digits after
//! the letter, as in `5.1p1-r0`, which real Alpine packages use). Like apk,
//! a version is a stream of typed tokens: the first number, numbers after
//! `.`, a letter, digits after it, `_suffix` and its number, the `-r`
//! revision. Two versions are compared token by token while the token
//! types agree; at the first differing value the smaller value is older;
//! where the types part ways, the side at a pre-release suffix (`_alpha`,
//! `_beta`, `_pre`, `_rc`) is older, and otherwise the side whose next token
//! type comes later in that list (ending the version comes last) is older:
//! so `1.2 < 1.2.1 < 1.2a < 1.2_p1` and `1.2_rc1 < 1.2 < 1.2-r1`. A number
//! after `.` with leading zeros compares below one without, by the count
//! of zeros (`1.01 < 1.1`, `1.001 < 1.01`), and what follows the zeros is
//! a token of its own even when empty; like apk, that makes `1.0_rc1` newer
//! than a bare `1.0` (Alpine's versions always end in `-rN`, where the
//! order is the expected one). The `~hash` of a commit is not ordered. What
//! apk's tokenizer would reject is refused here.

use std::cmp::Ordering;

/// Pre-release suffixes sort before "no suffix", post-release ones after.
const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// apk's token types, in apk's order (the order decides when two versions'
/// token streams part ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A number after `.`.
    DigitOrZero,
    /// The first number, or digits after the letter or leading zeros.
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

/// A token's value: numbers as digit strings compared numerically; a
/// letter by its byte; a suffix by its rank; leading zeros by their
/// negated count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    /// Leading zeros of a number after `.`: more zeros, smaller.
    Zeros(std::cmp::Reverse<usize>),
    /// (length, digits) without leading zeros: numeric order.
    Number(usize, String),
    Byte(u8),
    Rank(i8),
}

/// A parsed apk version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion {
    tokens: Vec<(Kind, Value)>,
}

fn number(digits: &str) -> Value {
    let trimmed = digits.trim_start_matches('0');
    Value::Number(trimmed.len(), trimmed.to_string())
}

fn suffix_rank(rest: &str) -> Option<(i8, usize)> {
    // apk matches suffix names by prefix, pre-release names first.
    if let Some(i) = PRE_SUFFIXES.iter().position(|s| rest.starts_with(s)) {
        return Some((i as i8 - PRE_SUFFIXES.len() as i8, PRE_SUFFIXES[i].len()));
    }
    POST_SUFFIXES
        .iter()
        .position(|s| rest.starts_with(s))
        .map(|i| (i as i8, POST_SUFFIXES[i].len()))
}

impl ApkVersion {
    /// Parse `text`, or say why apk's tokenizer would reject it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err("empty".into());
        }
        let mut tokens = Vec::new();
        let mut kind = Kind::Digit;
        let mut i = 0;
        loop {
            let start = i;
            match kind {
                Kind::DigitOrZero if bytes.get(i) == Some(&b'0') => {
                    while bytes.get(i) == Some(&b'0') {
                        i += 1;
                    }
                    tokens.push((kind, Value::Zeros(std::cmp::Reverse(i - start))));
                    kind = Kind::Digit;
                    if i == bytes.len() {
                        break;
                    }
                    // As apk: what follows the zeros is read as a Digit token,
                    // empty if no digit follows (so "1.0.1" < "1.06-r1").
                    continue;
                }
                Kind::DigitOrZero | Kind::Digit | Kind::SuffixNo | Kind::RevisionNo => {
                    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    // apk-package(5): a number after each '.' (apk releases
                    // disagree on how to order "1..2" or "0.r1").
                    if kind == Kind::DigitOrZero && i == start {
                        return Err("'.' is not followed by a number".into());
                    }
                    tokens.push((kind, number(&text[start..i])));
                }
                Kind::Letter => {
                    tokens.push((kind, Value::Byte(bytes[i])));
                    i += 1;
                }
                Kind::Suffix => {
                    let (rank, len) = suffix_rank(&text[i..])
                        .ok_or_else(|| format!("unknown suffix at {:?}", &text[i - 1..]))?;
                    tokens.push((kind, Value::Rank(rank)));
                    i += len;
                }
                Kind::End => unreachable!("the loop stops at the end"),
            }
            if i == bytes.len() {
                break;
            }
            i = skip_hash(bytes, i);
            if i == bytes.len() {
                break;
            }
            let (next, width) = next_kind(kind, &bytes[i..])
                .ok_or_else(|| format!("unexpected {:?}", &text[i..]))?;
            kind = next;
            i += width;
            if i == bytes.len() {
                return Err("ends with a separator".into());
            }
        }
        Ok(Self { tokens })
    }
}

/// `~<hex>`: a commit hash, which apk does not order.
fn skip_hash(bytes: &[u8], mut i: usize) -> usize {
    if bytes.get(i) == Some(&b'~') {
        i += 1;
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            i += 1;
        }
    }
    i
}

/// The type of the token starting at `rest` after a token of type `kind`,
/// and how many separator bytes it consumes; `None` where apk's
/// `next_token` yields TOKEN_INVALID (a type going backwards, except a
/// number after `.` following a number, digits after the letter and a
/// suffix after a suffix number).
fn next_kind(kind: Kind, rest: &[u8]) -> Option<(Kind, usize)> {
    let c = rest[0];
    let (next, width) = if matches!(kind, Kind::Digit | Kind::DigitOrZero) && c.is_ascii_lowercase()
    {
        (Kind::Letter, 0)
    } else if kind == Kind::Letter && c.is_ascii_digit() {
        (Kind::Digit, 0)
    } else if kind == Kind::Suffix && c.is_ascii_digit() {
        (Kind::SuffixNo, 0)
    } else {
        match c {
            b'.' => (Kind::DigitOrZero, 1),
            b'_' => (Kind::Suffix, 1),
            b'-' if rest.get(1) == Some(&b'r') => (Kind::RevisionNo, 2),
            _ => return None,
        }
    };
    let allowed = next >= kind
        || (next == Kind::DigitOrZero && kind == Kind::Digit)
        || (next == Kind::Suffix && kind == Kind::SuffixNo)
        || (next == Kind::Digit && kind == Kind::Letter);
    allowed.then_some((next, width))
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let end = (Kind::End, Value::Rank(0));
        let at = |v: &ApkVersion, i: usize| v.tokens.get(i).cloned().unwrap_or(end.clone());
        let mut i = 0;
        loop {
            let ((ka, va), (kb, vb)) = (at(self, i), at(other, i));
            if ka != kb {
                // apk: a version at a pre-release suffix is older; otherwise
                // the one whose next token type is later is older.
                if ka == Kind::Suffix && matches!(va, Value::Rank(r) if r < 0) {
                    return Ordering::Less;
                }
                if kb == Kind::Suffix && matches!(vb, Value::Rank(r) if r < 0) {
                    return Ordering::Greater;
                }
                return kb.cmp(&ka);
            }
            if ka == Kind::End {
                return Ordering::Equal;
            }
            let order = va.cmp(&vb);
            if order != Ordering::Equal {
                return order;
            }
            i += 1;
        }
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
        ApkVersion::parse(a)
            .unwrap()
            .cmp(&ApkVersion::parse(b).unwrap())
    }

    /// apk-package(5): "The list of valid suffixes (and their sorting order)
    /// is: alpha, beta, pre, rc, <no suffix>, cvs, svn, git, hg, p".
    #[test]
    fn suffix_order_from_apk_package_5() {
        let order = [
            "1.1_alpha",
            "1.1_beta",
            "1.1_pre",
            "1.1_rc",
            "1.1",
            "1.1_cvs",
            "1.1_svn",
            "1.1_git",
            "1.1_hg",
            "1.1_p",
        ];
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
        assert_eq!(cmp("5.1_p1-r2", "5.1p1-r0"), Ordering::Less);
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("2.0_rc7-r0", "2.0-r0"), Ordering::Less);
        assert_eq!(cmp("1.0.1", "1.06-r1"), Ordering::Less);
    }

    #[test]
    fn refuses_what_apk_would_not_tokenize() {
        for bad in [
            "", "1.", "1_foo", "1-r", "1-rr", "1.2.0A", "1 2", "1.0bc", "1-r0-1",
        ] {
            assert!(ApkVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
