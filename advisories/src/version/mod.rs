//! Version ordering per ecosystem, each by its own rules.
//!
//! | scheme | ecosystems | implementation |
//! |---|---|---|
//! | [`Scheme::Debian`] | Debian, Ubuntu | `debversion` (dpkg's algorithm: epochs, `~`) |
//! | [`Scheme::Alpine`] | Alpine, Wolfi, Chainguard | ours, [`alpine`] (apk-tools' rules) |
//! | [`Scheme::Rpm`] | Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, … | `rpm-version` (rpmvercmp, epochs, `~`, `^`) |
//! | [`Scheme::SemVer`] | npm, crates.io, Hex, and every `SEMVER` range | `semver` (precedence of SemVer 2.0 §11) |
//! | [`Scheme::Go`] | Go | `semver` after Go's `v` prefix; `+incompatible` ignored |
//! | [`Scheme::PyPI`] | PyPI | `pep440_rs` (PEP 440) |
//! | [`Scheme::Maven`] | Maven | ours, [`maven`] (Maven's version order specification) |
//! | [`Scheme::Packagist`] | Packagist | ours, [`packagist`] (PHP's `version_compare`) |
//!
//! docs/scanning.md says why each crate was chosen and cites each rule.

mod alpine;
mod maven;
mod packagist;

pub use alpine::ApkVersion;
pub use maven::MavenVersion;
pub use packagist::PackagistVersion;

use std::cmp::Ordering;
use std::str::FromStr;

/// No ecosystem's version is this long; longer strings are refused before
/// any comparison runs (digit runs are compared as big numbers).
pub const MAX_VERSION_LEN: usize = 512;

/// A version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Scheme {
    /// dpkg's ordering.
    Debian,
    /// apk's ordering.
    Alpine,
    /// rpm's `rpmvercmp` with epochs.
    Rpm,
    /// SemVer 2.0 precedence (a leading `v` tolerated, as node-semver does).
    SemVer,
    /// Go module versions: SemVer with the mandatory `v`, build metadata
    /// (`+incompatible`) ignored, as Go's `semver.Compare` does.
    Go,
    /// PEP 440.
    PyPI,
    /// Maven's ComparableVersion.
    Maven,
    /// PHP's `version_compare`, as Composer uses it.
    Packagist,
}

impl Scheme {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Debian => "dpkg",
            Self::Alpine => "apk",
            Self::Rpm => "rpm",
            Self::SemVer => "semver",
            Self::Go => "go",
            Self::PyPI => "pep440",
            Self::Maven => "maven",
            Self::Packagist => "php",
        }
    }

    /// Parse `text` under this scheme.
    pub fn parse(self, text: &str) -> Result<Version, VersionError> {
        let refuse = |reason: String| VersionError {
            scheme: self,
            version: text.chars().take(80).collect(),
            reason,
        };
        if text.is_empty() || text.len() > MAX_VERSION_LEN {
            return Err(refuse(format!(
                "empty or longer than {MAX_VERSION_LEN} bytes"
            )));
        }
        Ok(match self {
            Self::Debian => Version::Debian(
                debversion::Version::parse_lenient(text).map_err(|e| refuse(e.to_string()))?,
            ),
            Self::Alpine => Version::Alpine(ApkVersion::parse(text).map_err(refuse)?),
            Self::Rpm => Version::Rpm(check_evr(text).map_err(|e| refuse(e.into()))?),
            Self::SemVer | Self::Go => {
                let bare = text.strip_prefix('v').unwrap_or(text);
                let mut version =
                    semver::Version::parse(bare).map_err(|e| refuse(e.to_string()))?;
                // Precedence ignores build metadata (SemVer §11; Go's
                // semver.Compare); the semver crate would use it as a tiebreak.
                version.build = semver::BuildMetadata::EMPTY;
                Version::SemVer(version)
            }
            Self::PyPI => Version::PyPI(
                pep440_rs::Version::from_str(text).map_err(|e| refuse(e.to_string()))?,
            ),
            Self::Maven => Version::Maven(MavenVersion::parse(text)),
            Self::Packagist => Version::Packagist(PackagistVersion::parse(text)),
        })
    }
}

/// `[epoch:]version[-release]` with no part empty: an EVR with a dangling
/// `-` or `:` is not one rpm produces.
fn check_evr(text: &str) -> Result<String, &'static str> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace");
    }
    let (epoch, rest) = text.split_once(':').unwrap_or(("0", text));
    let (version, release) = rest.split_once('-').unwrap_or((rest, "0"));
    if epoch.is_empty() || version.is_empty() || release.is_empty() {
        return Err("empty epoch, version or release");
    }
    Ok(text.to_string())
}

/// A version that its scheme refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{version:?} is not a {} version: {reason}", scheme.name())]
pub struct VersionError {
    /// The scheme.
    pub scheme: Scheme,
    /// The version (at most 80 characters of it).
    pub version: String,
    /// Why.
    pub reason: String,
}

/// A version parsed under one scheme.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Version {
    /// dpkg.
    Debian(debversion::Version),
    /// apk.
    Alpine(ApkVersion),
    /// rpm: EVR compared by `rpm-version`.
    Rpm(String),
    /// SemVer (and Go), build metadata cleared.
    SemVer(semver::Version),
    /// PEP 440.
    PyPI(pep440_rs::Version),
    /// Maven.
    Maven(MavenVersion),
    /// Packagist.
    Packagist(PackagistVersion),
}

impl Version {
    /// The order of two versions of the same scheme; `None` across schemes.
    pub fn compare(&self, other: &Self) -> Option<Ordering> {
        Some(match (self, other) {
            (Self::Debian(a), Self::Debian(b)) => a.cmp(b),
            (Self::Alpine(a), Self::Alpine(b)) => a.cmp(b),
            (Self::Rpm(a), Self::Rpm(b)) => rpm_version::rpm_evr_compare(a, b),
            (Self::SemVer(a), Self::SemVer(b)) => a.cmp(b),
            (Self::PyPI(a), Self::PyPI(b)) => a.cmp(b),
            (Self::Maven(a), Self::Maven(b)) => a.cmp(b),
            (Self::Packagist(a), Self::Packagist(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
        scheme
            .parse(a)
            .unwrap()
            .compare(&scheme.parse(b).unwrap())
            .unwrap()
    }

    fn ascending(scheme: Scheme, versions: &[&str]) {
        for pair in versions.windows(2) {
            assert_eq!(
                cmp(scheme, pair[0], pair[1]),
                Ordering::Less,
                "{scheme:?} {pair:?}"
            );
        }
    }

    /// Debian Policy §5.6.12 "Version": "~~, ~~a, ~, the empty part, a";
    /// epochs override everything; a missing epoch is 0.
    #[test]
    fn debian_policy_examples() {
        ascending(Scheme::Debian, &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"]);
        ascending(Scheme::Debian, &["9.9-1", "1:0.1-1"]);
        assert_eq!(cmp(Scheme::Debian, "0:1.2-3", "1.2-3"), Ordering::Equal);
        // Policy: "1.0~rc1 < 1.0", the reason `~` exists.
        ascending(Scheme::Debian, &["1.0~rc1", "1.0", "1.0+deb9u1"]);
    }

    /// rpm's tests/rpmvercmp.at (the `RPMVERCMP(...)` cases) and the
    /// packaging guidelines' `~` (pre-release) and `^` (snapshot) rules.
    #[test]
    fn rpm_rpmvercmp_examples() {
        assert_eq!(cmp(Scheme::Rpm, "1.0", "1.0"), Ordering::Equal);
        ascending(Scheme::Rpm, &["1.0", "2.0"]);
        ascending(Scheme::Rpm, &["2.0", "2.0.1"]);
        ascending(Scheme::Rpm, &["2.0.1", "2.0.1a"]);
        ascending(Scheme::Rpm, &["5.5p1", "5.5p2", "5.5p10"]);
        ascending(Scheme::Rpm, &["xyz.4", "8"]);
        ascending(Scheme::Rpm, &["1.0~rc1", "1.0"]);
        ascending(Scheme::Rpm, &["1.0~rc1", "1.0~rc2"]);
        ascending(Scheme::Rpm, &["1.0", "1.0^", "1.0^git1", "1.01"]);
        ascending(Scheme::Rpm, &["1.0^git1~pre", "1.0^git1"]);
        ascending(Scheme::Rpm, &["9:1.0-1", "10:0.1-1"]);
        assert_eq!(cmp(Scheme::Rpm, "0:1.0-1", "1.0-1"), Ordering::Equal);
    }

    /// semver.org §11: "1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta <
    /// 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0", and
    /// §10: build metadata does not figure in precedence.
    #[test]
    fn semver_spec_examples() {
        ascending(
            Scheme::SemVer,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
        ascending(Scheme::SemVer, &["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        assert_eq!(
            cmp(
                Scheme::SemVer,
                "1.0.0+20130313144700",
                "1.0.0+exp.sha.5114f85"
            ),
            Ordering::Equal
        );
        assert!(Scheme::SemVer.parse("1.2").is_err());
    }

    /// go.dev/ref/mod, "Versions" and "Pseudo-versions": the `v` prefix, a
    /// pseudo-version sorts before the tagged release it precedes, and
    /// "+incompatible" does not change precedence.
    #[test]
    fn go_module_examples() {
        ascending(
            Scheme::Go,
            &["v0.0.0-20191109021931-daa7c04131f5", "v0.1.0"],
        );
        ascending(
            Scheme::Go,
            &["v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"],
        );
        assert_eq!(
            cmp(Scheme::Go, "v2.0.0+incompatible", "2.0.0"),
            Ordering::Equal
        );
        ascending(
            Scheme::Go,
            &[
                "v0.0.0-20210817142637-7d9622a276b7",
                "0.0.0-20220412211240-33da011f77ad",
                "v0.0.0-20220520151302-bc2c85ada10a",
            ],
        );
    }

    /// PEP 440, "Summary of permitted suffixes and relative ordering":
    /// 1.dev0 < 1.0.dev456 < 1.0a1 < ... < 1.0 < 1.0+abc.5 < 1.0.post456.dev34
    /// < 1.0.post456 < 1.1.dev1.
    #[test]
    fn pep_440_example_order() {
        ascending(
            Scheme::PyPI,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
        ascending(Scheme::PyPI, &["1.0", "1!0.1"]);
    }

    #[test]
    fn overlong_versions_are_refused() {
        let long = "1".repeat(MAX_VERSION_LEN + 1);
        for scheme in [
            Scheme::Debian,
            Scheme::Alpine,
            Scheme::Rpm,
            Scheme::SemVer,
            Scheme::PyPI,
            Scheme::Maven,
            Scheme::Packagist,
        ] {
            assert!(scheme.parse(&long).is_err(), "{scheme:?}");
        }
        assert!(Scheme::Maven.parse("").is_err());
    }
}
