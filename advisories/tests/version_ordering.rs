//! Every comparison in osv-scalibr's version-ordering fixtures (realdata
//! section 13.4: hand-written lines per ecosystem plus thousands generated
//! from real published versions), each asserted in both directions, as
//! osv-scalibr's own TestVersion_Compare_Ecosystems does.
//!
//! Lines our schemes refuse to parse are not skipped silently: each file's
//! refusals are listed below, with why, so a change in what we accept fails
//! here.

use advisories::version::Scheme;
use std::cmp::Ordering;

fn fixture(name: &str) -> String {
    let path = testbed::realdata("advisories/version-ordering").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("real test data missing: {}: {e}", path.display()))
}

struct Outcome {
    agreed: usize,
    refused: Vec<String>,
    disagreed: Vec<String>,
}

fn run(scheme: Scheme, file: &str) -> Outcome {
    let mut outcome = Outcome {
        agreed: 0,
        refused: Vec::new(),
        disagreed: Vec::new(),
    };
    for line in fixture(file).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("# ") || line.starts_with("// ") || line == "#" {
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = parts[..] else {
            panic!("{file}: malformed line {line:?}")
        };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}: operator in {line:?}"),
        };
        match (scheme.parse(a), scheme.parse(b)) {
            (Ok(x), Ok(y)) => {
                let forward = x.compare(&y).unwrap();
                let backward = y.compare(&x).unwrap();
                if forward == expected && backward == expected.reverse() {
                    outcome.agreed += 1;
                } else {
                    outcome.disagreed.push(format!("{line} (got {forward:?})"));
                }
            }
            _ => outcome.refused.push(line.to_string()),
        }
    }
    outcome
}

fn assert_all_agree(scheme: Scheme, file: &str, min_lines: usize, refused: &[&str]) {
    assert_agree_except(scheme, file, min_lines, refused, &[]);
}

/// As [`assert_all_agree`], where `diverging` lines are ones on which the
/// ecosystem's reference implementation and the fixture part ways and we
/// follow the reference (each explained at its call).
fn assert_agree_except(
    scheme: Scheme,
    file: &str,
    min_lines: usize,
    refused: &[&str],
    diverging: &[&str],
) {
    let outcome = run(scheme, file);
    assert_eq!(
        outcome.disagreed,
        diverging,
        "{file}: {} disagree",
        outcome.disagreed.len()
    );
    assert_eq!(outcome.refused, refused, "{file}: refused lines changed");
    assert!(
        outcome.agreed >= min_lines,
        "{file}: only {} lines compared",
        outcome.agreed
    );
}

#[test]
fn debian_dpkg_ordering() {
    assert_all_agree(Scheme::Debian, "debian-versions.txt", 25, &[]);
    assert_all_agree(Scheme::Debian, "debian-versions-generated.txt", 14_000, &[]);
}

#[test]
fn alpine_apk_ordering() {
    // What apk's tokenizer rejects, or an empty number after '.': the fixture
    // itself notes apk 2.x and 3.x order several of these differently.
    assert_all_agree(
        Scheme::Alpine,
        "alpine-versions.txt",
        700,
        ALPINE_OUTSIDE_THE_GRAMMAR,
    );
    assert_all_agree(Scheme::Alpine, "alpine-versions-generated.txt", 13_000, &[]);
}

#[test]
fn red_hat_rpm_ordering() {
    // "1-": an EVR with an empty release, which rpm never writes.
    assert_all_agree(
        Scheme::Rpm,
        "redhat-versions.txt",
        150,
        &["1 < 1-", "1- = 1-", "1 < 1-", "+2- > +1-", "+2-: > +1-:"],
    );
}

#[test]
fn semver_ordering() {
    // Not SemVer 2.0 (one component; five components).
    assert_all_agree(Scheme::SemVer, "semver-versions.txt", 80, SEMVER_NOT_SEMVER);
}

#[test]
fn pypi_pep440_ordering() {
    // Not PEP 440 (pre-PEP 440 "legacy" versions, which pip no longer orders).
    assert_all_agree(Scheme::PyPI, "pypi-versions.txt", 25, PYPI_NOT_PEP_440);
}

#[test]
fn maven_ordering() {
    assert_all_agree(Scheme::Maven, "maven-versions.txt", 100, &[]);
    assert_all_agree(Scheme::Maven, "maven-versions-generated.txt", 14_000, &[]);
}

#[test]
fn packagist_ordering() {
    // php-src's canonicalisation turns the `#` into a separator, leaving
    // "1.2.3." against "1.2.3.1", which PHP orders below (a leftover
    // number is newer); the fixture reads `#` as a number.
    assert_agree_except(
        Scheme::Packagist,
        "packagist-versions.txt",
        90,
        &[],
        &["1.2.3.# = 1.2.3.1 (got Less)"],
    );
    assert_all_agree(
        Scheme::Packagist,
        "packagist-versions-generated.txt",
        10_000,
        &[],
    );
}

const ALPINE_OUTSIDE_THE_GRAMMAR: &[&str] = &[
    "1-r = 1-r0",
    "1-r-0 < 1-r0",
    "1-r-1 < 1-r0",
    "0.r1 < 0r2",
    "0..1..0 < 0..1..1",
    "0...1...0 < 0...1...1",
    "0...1...0.r1 < 0...1...0.r2",
    "0...1...0r1 < 0...1...0r2",
    "0..8 = 0..8",
    "0..8 > 0...8",
    "0.8.21.r2 > 0.8.21.r1",
    "10.2.24.r0 > 10.2.22.r0",
    "0.8.21.r2 < 0.8.21r2",
    "1.2.0A < 1.2.0d",
    "1.2.0D < 1.2.0d",
    "1-r2 > 1-r-1",
    "1 > 1-ruff",
    "1-r0-1 = 1-r-2",
    "1-r0-1 = 1-r0-2",
    "1-ruff2 = 1-ruff1",
    "1-ruff2 = 1--ruff1",
    "1-r0-ruff2 = 1-r0-ruff1",
    "1.2 > 1.2_blah",
    "1.2_svn1 > 1.2_csv2",
    "1.2_cvs1 > 1.2_blah",
    "23_foo > 4_beta",
    "1.0 < 1.0bc",
];

const PYPI_NOT_PEP_440: &[&str] = &[
    "0.1-bulbasaur < 0.1-charmander",
    "0.1-charmander < 0.9-doduo",
    "0.9-doduo < 0.9-eevee",
    "0.9-eevee < 0.9-fearow",
    "0.9-fearow < 0.9-gyarados",
    "0.9-gyarados < 0.9-horsea",
    "0.9-horsea < 0.9-ivysaur",
    "0.9-ivysaur < 1.0",
    "-class.-jw.util.version.version-pre < 1.0",
    "-class.-jw.util.version.version-preview < 1.0",
    "-class.-jw.util.version.version-dev < 1.0",
];

const SEMVER_NOT_SEMVER: &[&str] = &[
        "999999999999999999999999999991 < 999999999999999999999999999999",
        "999999999999999999999999999991.999999999999999999999999999991.999999999999999999999999999991 < 999999999999999999999999999999.999999999999999999999999999991.999999999999999999999999999991",
        "1.1.3.4.5 = 1.1.3.4.5",
    ];
