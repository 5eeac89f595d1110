//! Maven versions, written here from Maven's own "Version Order
//! Specification" (maven.apache.org, POM Reference), the rules of
//! `org.apache.maven.artifact.versioning.ComparableVersion`. The one crate
//! that ports it (`maven-version` 0.1.0) has no repository or second
//! release, so it cannot be called maintained.
//!
//! The specification, step by step (each step is a function below):
//! 1. split into tokens at '.', '-' and digit/letter transitions (a
//!    transition counts as '-'); empty tokens are "0";
//! 2. trim trailing "null" tokens (0, "", final, ga, release), at the end
//!    and before each remaining '-';
//! 3. compare token by token, the shorter padded with nulls of the other's
//!    prefix; same prefix: numbers numerically, qualifiers in the order
//!    alpha < beta < milestone < rc = cr < snapshot < "" = final = ga =
//!    release < sp < (others, alphabetically), a number above a qualifier;
//!    different prefixes: .qualifier < -qualifier < -number < .number.

use std::cmp::Ordering;

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Dot,
    Dash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// Digits without leading zeros ("0" for zero).
    Number(String),
    /// A lowercased qualifier, aliases resolved.
    Qualifier(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    sep: Sep,
    value: Value,
}

/// A parsed Maven version. Every string is a Maven version; the ordering
/// is what makes one newer than another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenVersion {
    tokens: Vec<Token>,
}

impl MavenVersion {
    /// Parse `text` by the specification's splitting and trimming rules.
    pub fn parse(text: &str) -> Self {
        let mut tokens = tokenize(&text.to_ascii_lowercase());
        trim_nulls(&mut tokens);
        Self { tokens }
    }
}

fn is_null(value: &Value) -> bool {
    matches!(value, Value::Number(n) if n == "0")
        || matches!(value, Value::Qualifier(q) if q.is_empty())
}

/// Step 1: tokens with their separators.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut sep = Sep::Dot;
    let mut rest = text;
    loop {
        let end = rest.find(['.', '-']).unwrap_or(rest.len());
        push_segment(&mut tokens, sep, &rest[..end]);
        let Some(&next) = rest.as_bytes().get(end) else {
            break;
        };
        sep = if next == b'-' { Sep::Dash } else { Sep::Dot };
        rest = &rest[end + 1..];
    }
    tokens
}

fn push_segment(tokens: &mut Vec<Token>, sep: Sep, segment: &str) {
    if segment.is_empty() {
        tokens.push(Token {
            sep,
            value: Value::Number("0".into()),
        });
        return;
    }
    let pieces = split_transitions(segment);
    let count = pieces.len();
    for (j, piece) in pieces.into_iter().enumerate() {
        let piece_sep = if j == 0 { sep } else { Sep::Dash };
        tokens.push(Token {
            sep: piece_sep,
            value: value_of(piece, j + 1 < count),
        });
    }
}

/// Pieces of a segment at each digit/non-digit boundary.
fn split_transitions(segment: &str) -> Vec<&str> {
    let bytes = segment.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    for i in 1..bytes.len() {
        if bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
            pieces.push(&segment[start..i]);
            start = i;
        }
    }
    pieces.push(&segment[start..]);
    pieces
}

fn value_of(piece: &str, followed_by_digit: bool) -> Value {
    if piece.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = piece.trim_start_matches('0');
        return Value::Number(if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        });
    }
    let name = match piece {
        // "a", "b" and "m" are short for alpha, beta and milestone only
        // when a number follows directly (1.0a1, not 1.0a).
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "cr" => "rc",
        "ga" | "final" | "release" => "",
        other => other,
    };
    Value::Qualifier(name.to_string())
}

/// Step 2: drop trailing nulls, at the end and before each '-' (the first
/// token always stays).
fn trim_nulls(tokens: &mut Vec<Token>) {
    let mut i = tokens.len().saturating_sub(1);
    while i > 0 {
        if is_null(&tokens[i].value) {
            tokens.remove(i);
            i -= 1;
            continue;
        }
        // Skip back over this '-'-delimited group to the token before it.
        while i > 0 && tokens[i].sep != Sep::Dash {
            i -= 1;
        }
        i = i.saturating_sub(1);
    }
}

fn qualifier_rank(q: &str) -> usize {
    QUALIFIERS
        .iter()
        .position(|k| *k == q)
        .unwrap_or(QUALIFIERS.len())
}

fn compare_qualifiers(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (qualifier_rank(a), qualifier_rank(b));
    if ra == QUALIFIERS.len() && rb == QUALIFIERS.len() {
        return a.cmp(b);
    }
    ra.cmp(&rb)
}

fn compare_numbers(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The specification's prefix order for tokens of different separators.
fn prefix_rank(token: &Token) -> u8 {
    match (token.sep, &token.value) {
        (Sep::Dot, Value::Qualifier(_)) => 0,
        (Sep::Dash, Value::Qualifier(_)) => 1,
        (Sep::Dash, Value::Number(_)) => 2,
        (Sep::Dot, Value::Number(_)) => 3,
    }
}

/// Step 3 for one position; `None` is the padding null.
fn compare_tokens(a: Option<&Token>, b: Option<&Token>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if a.sep == b.sep => match (&a.value, &b.value) {
            (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
            (Value::Qualifier(x), Value::Qualifier(y)) => compare_qualifiers(x, y),
            (Value::Number(_), Value::Qualifier(_)) => Ordering::Greater,
            (Value::Qualifier(_), Value::Number(_)) => Ordering::Less,
        },
        (Some(a), Some(b)) => prefix_rank(a).cmp(&prefix_rank(b)),
        // A null takes the other's separator: 0 against a number, the
        // release qualifier "" against a qualifier.
        (None, Some(b)) => compare_tokens(Some(&null_like(b)), Some(b)),
        (Some(a), None) => compare_tokens(Some(a), Some(&null_like(a))),
        (None, None) => Ordering::Equal,
    }
}

fn null_like(token: &Token) -> Token {
    let value = match token.value {
        Value::Number(_) => Value::Number("0".into()),
        Value::Qualifier(_) => Value::Qualifier(String::new()),
    };
    Token {
        sep: token.sep,
        value,
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.tokens.len().max(other.tokens.len());
        (0..len)
            .map(|i| compare_tokens(self.tokens.get(i), other.tokens.get(i)))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        MavenVersion::parse(a).cmp(&MavenVersion::parse(b))
    }

    /// The POM Reference's "Trimming Examples": each trims to the same
    /// tokens as the shorter form.
    #[test]
    fn trimming_examples_from_the_pom_reference() {
        for (long, short) in [
            ("1.0.0", "1"),
            ("1.ga", "1"),
            ("1.final", "1"),
            ("1.0", "1"),
            ("1.", "1"),
            ("1-", "1"),
            ("1.0.0-foo.0.0", "1-foo"),
            ("1.0.0-0.0.0", "1"),
        ] {
            assert_eq!(
                MavenVersion::parse(long),
                MavenVersion::parse(short),
                "{long}"
            );
        }
    }

    /// The POM Reference's "Splitting and Replacing Examples".
    #[test]
    fn splitting_example_from_the_pom_reference() {
        assert_eq!(
            MavenVersion::parse("1-1.foo-bar1baz-.1"),
            MavenVersion::parse("1-1.foo-bar-1-baz-0.1")
        );
    }

    /// The POM Reference's qualifier order and its stated examples
    /// ("1-foo2" < "1-foo10", "1.foo" = "1-foo" < "1-1" < "1.1", ...).
    #[test]
    fn ordering_examples_from_the_pom_reference() {
        let ascending = [
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(cmp("1-foo2", "1-foo10"), Ordering::Less);
        assert_eq!(cmp("1-1", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.foo", "1-1"), Ordering::Less);
        assert_eq!(cmp("1-cr1", "1-rc1"), Ordering::Equal);
        assert_eq!(cmp("1-ga", "1-final"), Ordering::Equal);
        assert_eq!(cmp("1-a1", "1-alpha-1"), Ordering::Equal);
        assert_eq!(cmp("1-sp", "1-foo"), Ordering::Less);
    }
}
