//! OSV ecosystems (`affected[].package.ecosystem`) and the package URLs
//! that SBOMs give, brought to the same terms: ecosystem, release, name,
//! version.

use crate::version::Scheme;
use std::collections::HashMap;

const MAX_ECOSYSTEM_LEN: usize = 256;

/// An OSV ecosystem string: a name and an optional `:`-suffix (a release,
/// `Debian:12`, `Alpine:v3.16`; or a repository, `Maven:https://…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ecosystem {
    text: String,
    name_len: usize,
}

impl Ecosystem {
    /// Parse an ecosystem string.
    pub fn parse(text: &str) -> Result<Self, String> {
        let name_len = text.find(':').unwrap_or(text.len());
        if name_len == 0 || text.len() > MAX_ECOSYSTEM_LEN {
            return Err(format!(
                "ecosystem {:?} is empty or too long",
                text.chars().take(80).collect::<String>()
            ));
        }
        Ok(Self {
            text: text.to_string(),
            name_len,
        })
    }

    /// The whole string, as the record gives it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The ecosystem without its suffix: `Debian`, `Alpine`, `Maven`.
    pub fn name(&self) -> &str {
        &self.text[..self.name_len]
    }

    /// The suffix after the first `:`, if any.
    pub fn release(&self) -> Option<&str> {
        self.text.get(self.name_len + 1..)
    }

    /// The version ordering of its `ECOSYSTEM` ranges, if airlock knows it.
    pub fn scheme(&self) -> Option<Scheme> {
        scheme_of(self.name())
    }

    /// Whether a package of release `release` (from its purl) is in scope
    /// of this ecosystem string. No suffix: every release. A suffix: the
    /// package's release must be the suffix or one of its `:`-parts
    /// (`Ubuntu:22.04:LTS`, `Red Hat:enterprise_linux:9::baseos`); a
    /// package whose release is unknown matches none of them.
    pub fn covers(&self, release: Option<&str>) -> bool {
        match (self.release(), release) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(suffix), Some(release)) => {
                suffix == release || suffix.split(':').any(|part| part == release)
            }
        }
    }
}

/// The version ordering of an ecosystem, by its name.
pub fn scheme_of(name: &str) -> Option<Scheme> {
    Some(match name {
        "Debian" | "Ubuntu" => Scheme::Debian,
        "Alpine" | "Wolfi" | "Chainguard" => Scheme::Alpine,
        "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" | "Mageia" | "openEuler"
        | "Azure Linux" | "Photon OS" => Scheme::Rpm,
        "npm" | "crates.io" => Scheme::SemVer,
        "Go" => Scheme::Go,
        "PyPI" => Scheme::PyPI,
        "Maven" => Scheme::Maven,
        "Packagist" => Scheme::Packagist,
        _ => return None,
    })
}

/// The same name the way both sides are indexed: PyPI names by PEP 503
/// ("runs of -, _ and . become one -, lowercased"), npm names lowercased
/// (the registry refuses capitals in new names); others exactly.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match ecosystem {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            for part in name.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
                if !out.is_empty() {
                    out.push('-');
                }
                out.push_str(&part.to_ascii_lowercase());
            }
            out
        }
        "npm" => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

/// An SBOM package brought to OSV's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinates {
    /// OSV ecosystem name (`Debian`, `Maven`, …).
    pub ecosystem: &'static str,
    /// Release the package belongs to, in the ecosystem's suffix form
    /// (`12`, `v3.16`, `22.04`), when the purl says.
    pub release: Option<String>,
    /// The name OSV records use (Maven `group:artifact`, the source
    /// package of distribution packages, …).
    pub name: String,
    /// The installed version as the ecosystem writes it.
    pub version: String,
}

/// Why a package could not be matched against advisories.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason", content = "detail")]
#[non_exhaustive]
pub enum Unscannable {
    /// The SBOM gives no purl.
    NoPurl,
    /// The purl does not parse.
    BadPurl(String),
    /// The purl has no version.
    NoVersion,
    /// The purl's type (and namespace) has no OSV ecosystem airlock reads.
    UnsupportedType(String),
    /// A distribution package whose purl does not say which release it
    /// belongs to: advisories are per release, so none can be chosen.
    UnknownRelease(String),
    /// The snapshot holds no record of the package's ecosystem: nothing
    /// can be said about it (osv-scanner offline refuses to run then).
    NoAdvisoryData(String),
}

impl std::fmt::Display for Unscannable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoPurl => f.write_str("no package URL"),
            Self::BadPurl(why) => write!(f, "package URL does not parse: {why}"),
            Self::NoVersion => f.write_str("package URL has no version"),
            Self::UnsupportedType(t) => {
                write!(f, "no OSV ecosystem with version rules for purl type {t}")
            }
            Self::UnknownRelease(e) => {
                write!(f, "no distro qualifier: {e} advisories are per release")
            }
            Self::NoAdvisoryData(e) => {
                write!(f, "the advisories snapshot holds no {e} records")
            }
        }
    }
}

/// Map a purl (package-url/purl-spec, PURL-TYPES.rst) to OSV coordinates.
pub fn coordinates(purl: &str) -> Result<Coordinates, Unscannable> {
    let parsed: packageurl::PackageUrl<'_> = purl
        .parse()
        .map_err(|e: packageurl::Error| Unscannable::BadPurl(e.to_string()))?;
    let version = parsed.version().ok_or(Unscannable::NoVersion)?.to_string();
    let qualifiers: HashMap<&str, &str> = parsed
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    let namespace = parsed.namespace().unwrap_or("");
    let name = parsed.name();
    let distro = qualifiers.get("distro").copied();
    let source = |fallback: &str| {
        qualifiers
            .get("upstream")
            .map(|u| source_package(u))
            .unwrap_or(fallback)
            .to_string()
    };
    let unsupported = || Unscannable::UnsupportedType(format!("{}/{}", parsed.ty(), namespace));
    let (ecosystem, release, name, version) = match (parsed.ty(), namespace) {
        ("deb", "debian") => (
            "Debian",
            distro_release(distro, "debian-"),
            source(name),
            version,
        ),
        ("deb", "ubuntu") => (
            "Ubuntu",
            distro_release(distro, "ubuntu-"),
            source(name),
            version,
        ),
        ("apk" | "alpine", "alpine" | "") => {
            ("Alpine", alpine_release(distro), source(name), version)
        }
        ("apk", "wolfi") => ("Wolfi", None, source(name), version),
        ("apk", "chainguard") => ("Chainguard", None, source(name), version),
        ("rpm", ns) => {
            let (ecosystem, prefix) = rpm_ecosystem(ns).ok_or_else(unsupported)?;
            let epoch = qualifiers.get("epoch").filter(|e| **e != "0");
            let evr = epoch.map(|e| format!("{e}:{version}")).unwrap_or(version);
            (
                ecosystem,
                distro_major(distro, prefix),
                rpm_source(qualifiers.get("upstream").copied())
                    .unwrap_or(name)
                    .to_string(),
                evr,
            )
        }
        ("npm", ns) => ("npm", None, scoped(ns, name, "/"), version),
        ("pypi", _) => ("PyPI", None, name.to_string(), version),
        ("golang", ns) => go_coordinates(ns, name, version),
        ("cargo", _) => ("crates.io", None, name.to_string(), version),
        ("maven", ns) => ("Maven", None, scoped(ns, name, ":"), version),
        ("composer", ns) => ("Packagist", None, scoped(ns, name, "/"), version),
        _ => return Err(unsupported()),
    };
    if release.is_none() && is_per_release(ecosystem) {
        return Err(Unscannable::UnknownRelease(ecosystem.to_string()));
    }
    Ok(Coordinates {
        ecosystem,
        release,
        name,
        version,
    })
}

fn is_per_release(ecosystem: &str) -> bool {
    matches!(
        ecosystem,
        "Debian" | "Ubuntu" | "Alpine" | "Red Hat" | "Rocky Linux" | "AlmaLinux"
    )
}

fn scoped(namespace: &str, name: &str, separator: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}{separator}{name}")
    }
}

/// `upstream=openssl@1.1.1` (syft) or `upstream=openssl`: the source
/// package's name.
fn source_package(upstream: &str) -> &str {
    upstream.split(['@', ' ']).next().unwrap_or(upstream)
}

/// The source package of an rpm from `upstream=bash-4.2.46-31.el7.src.rpm`.
fn rpm_source(upstream: Option<&str>) -> Option<&str> {
    let stem = upstream?.strip_suffix(".src.rpm")?;
    let (name_version, _release) = stem.rsplit_once('-')?;
    name_version.rsplit_once('-').map(|(name, _)| name)
}

fn rpm_ecosystem(namespace: &str) -> Option<(&'static str, &'static str)> {
    Some(match namespace {
        "redhat" => ("Red Hat", "rhel-"),
        "rocky" | "rockylinux" => ("Rocky Linux", "rocky-"),
        "almalinux" => ("AlmaLinux", "almalinux-"),
        "opensuse" => ("openSUSE", "opensuse-"),
        "suse" => ("SUSE", "sles-"),
        _ => return None,
    })
}

/// `distro=debian-12.4` → `12`; `distro=ubuntu-22.04` → `22.04`.
fn distro_release(distro: Option<&str>, prefix: &str) -> Option<String> {
    let version = distro?.strip_prefix(prefix)?;
    let release = if prefix == "debian-" {
        version.split('.').next()?
    } else {
        version
    };
    (!release.is_empty()).then(|| release.to_string())
}

/// `distro=rhel-9.4` → `9`.
fn distro_major(distro: Option<&str>, prefix: &str) -> Option<String> {
    let major = distro?.strip_prefix(prefix)?.split('.').next()?;
    (!major.is_empty()).then(|| major.to_string())
}

/// `distro=alpine-3.16.2` → `v3.16` (OSV's Alpine suffix).
fn alpine_release(distro: Option<&str>) -> Option<String> {
    let version = distro?.strip_prefix("alpine-")?;
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    Some(format!("v{major}.{minor}"))
}

/// Go modules: the purl's namespace and name are the module path; the
/// standard library is `stdlib` at `go1.x.y`, which OSV writes `1.x.y`.
fn go_coordinates(
    namespace: &str,
    name: &str,
    version: String,
) -> (&'static str, Option<String>, String, String) {
    let path = scoped(namespace, name, "/");
    if path == "stdlib" {
        let bare = version
            .strip_prefix("go")
            .map(str::to_string)
            .unwrap_or(version);
        return ("Go", None, path, bare);
    }
    ("Go", None, path, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(purl: &str) -> (String, Option<String>, String, String) {
        let c = coordinates(purl).unwrap();
        (c.ecosystem.to_string(), c.release, c.name, c.version)
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn purls_from_real_sboms_map_to_osv_terms() {
        assert_eq!(
            c("pkg:alpine/musl-utils@1.2.3-r0?arch=x86_64&upstream=musl&distro=alpine-3.16.2"),
            (s("Alpine"), Some(s("v3.16")), s("musl"), s("1.2.3-r0"))
        );
        assert_eq!(
            c("pkg:deb/debian/tzdata@2021a-1+deb11u6?arch=all&distro=debian-11"),
            (
                s("Debian"),
                Some(s("11")),
                s("tzdata"),
                s("2021a-1+deb11u6")
            )
        );
        assert_eq!(
            c("pkg:deb/ubuntu/apt@2.0.9?arch=amd64&distro=ubuntu-20.04"),
            (s("Ubuntu"), Some(s("20.04")), s("apt"), s("2.0.9"))
        );
        assert_eq!(
            c("pkg:maven/junit/junit@4.12"),
            (s("Maven"), None, s("junit:junit"), s("4.12"))
        );
        assert_eq!(
            c("pkg:composer/symfony/http-kernel@v5.4.16"),
            (s("Packagist"), None, s("symfony/http-kernel"), s("v5.4.16"))
        );
        assert_eq!(
            c("pkg:golang/golang.org/x/sys@v0.10.0"),
            (s("Go"), None, s("golang.org/x/sys"), s("v0.10.0"))
        );
        assert_eq!(
            c("pkg:npm/%40angular/core@1.0.0"),
            (s("npm"), None, s("@angular/core"), s("1.0.0"))
        );
        assert_eq!(
            c("pkg:pypi/Django@4.2"),
            (s("PyPI"), None, s("django"), s("4.2"))
        );
        assert_eq!(
            c("pkg:rpm/redhat/bash@5.1.8-6.el9?epoch=1&distro=rhel-9.4&upstream=bash-5.1.8-6.el9.src.rpm"),
            (s("Red Hat"), Some(s("9")), s("bash"), s("1:5.1.8-6.el9"))
        );
    }

    #[test]
    fn what_cannot_be_scanned_says_why() {
        assert_eq!(
            coordinates("pkg:deb/debian/openssl@1.1.1k-1"),
            Err(Unscannable::UnknownRelease(s("Debian")))
        );
        assert_eq!(
            coordinates("pkg:maven/junit/junit"),
            Err(Unscannable::NoVersion)
        );
        assert!(matches!(
            coordinates("pkg:rpm/centos/bash@4.2"),
            Err(Unscannable::UnsupportedType(_))
        ));
        assert!(matches!(
            coordinates("pkg:gem/rack@2.0"),
            Err(Unscannable::UnsupportedType(_))
        ));
        assert!(matches!(
            coordinates("not a purl"),
            Err(Unscannable::BadPurl(_))
        ));
    }

    #[test]
    fn ecosystem_suffixes_scope_by_release() {
        let debian9 = Ecosystem::parse("Debian:9").unwrap();
        assert!(debian9.covers(Some("9")) && !debian9.covers(Some("11")) && !debian9.covers(None));
        assert!(Ecosystem::parse("Ubuntu:22.04:LTS")
            .unwrap()
            .covers(Some("22.04")));
        assert!(Ecosystem::parse("Maven").unwrap().covers(None));
        assert!(!Ecosystem::parse("Packagist:https://packages.drupal.org/8")
            .unwrap()
            .covers(None));
        assert_eq!(normalize_name("PyPI", "Foo.Bar__baz"), "foo-bar-baz");
    }
}
