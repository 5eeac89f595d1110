//! Image globs with Sigstore policy-controller's semantics.
//!
//! policy-controller (`pkg/apis/glob`) matches a glob against an image
//! reference like this, and so does airlock:
//!
//! 1. The glob may only use `A-Z a-z 0-9 - _ : / * .`; `*` alone means
//!    `index.docker.io/library/*` and `*/*` means `index.docker.io/*/*`.
//! 2. It becomes an anchored regular expression: `.` is literal, `**`
//!    matches any characters including `/`, `*` any characters except `/`
//!    (so `*` crosses `:` and `@`: a tag or digest is not a separator).
//! 3. The reference is parsed the way go-containerregistry's
//!    `name.ParseReference` parses it with weak validation, and the glob is
//!    matched against its fully qualified name: Docker Hub's `docker.io`
//!    becomes `index.docker.io`, one-component Docker Hub repositories get
//!    `library/`, a missing tag becomes `:latest`, and a reference with both
//!    a tag and a digest keeps only the digest (`repo@sha256:…`).
//! 4. If that fails and the qualified name differs from the reference as
//!    written, the glob is also matched against the reference as written
//!    (a fallback policy-controller keeps for unqualified globs).
//!
//! A reference that does not parse matches nothing and is an error.

use std::fmt;

const DOCKER_HUB: &str = "index.docker.io";
const DOCKER_HUB_ALIAS: &str = "docker.io";
const DEFAULT_TAG: &str = "latest";
/// Longest glob accepted; image references are at most a few hundred bytes.
const MAX_GLOB_BYTES: usize = 1024;

/// A compiled image glob.
#[derive(Clone)]
pub struct ImageGlob {
    glob: String,
    regex: regex::Regex,
}

impl fmt::Debug for ImageGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageGlob({:?})", self.glob)
    }
}

impl fmt::Display for ImageGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.glob)
    }
}

impl PartialEq for ImageGlob {
    fn eq(&self, other: &Self) -> bool {
        self.glob == other.glob
    }
}

impl Eq for ImageGlob {}

impl ImageGlob {
    /// Compile `glob`; the error says why it is not a valid glob.
    pub fn new(glob: &str) -> Result<Self, String> {
        if glob.is_empty() {
            return Err("the glob is empty".into());
        }
        if glob.len() > MAX_GLOB_BYTES {
            return Err(format!("longer than {MAX_GLOB_BYTES} bytes"));
        }
        if let Some(c) = glob
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_:/*.".contains(*c)))
        {
            return Err(format!(
                "character {c:?} is not allowed (a glob may use letters, digits, `-_:/.` and `*`)"
            ));
        }
        let effective = match glob {
            "*" => "index.docker.io/library/*",
            "*/*" => "index.docker.io/*/*",
            other => other,
        };
        let mut pattern = String::from("^");
        let mut rest = effective;
        while !rest.is_empty() {
            if let Some(tail) = rest.strip_prefix("**") {
                pattern.push_str(".*");
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix('*') {
                pattern.push_str("[^/]*");
                rest = tail;
            } else {
                let end = rest.find('*').unwrap_or(rest.len());
                pattern.push_str(&regex::escape(&rest[..end]));
                rest = &rest[end..];
            }
        }
        pattern.push('$');
        let regex = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
        Ok(Self {
            glob: glob.to_string(),
            regex,
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.glob
    }

    /// Whether `reference` (as an operator wrote it) matches.
    pub fn matches(&self, reference: &str) -> Result<bool, InvalidReference> {
        Ok(self.matches_normalised(&NormalisedReference::parse(reference)?))
    }

    pub(crate) fn matches_normalised(&self, reference: &NormalisedReference) -> bool {
        self.regex.is_match(&reference.name)
            || (reference.name != reference.original && self.regex.is_match(&reference.original))
    }
}

/// An image reference that go-containerregistry (and therefore
/// policy-controller) would not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct InvalidReference {
    /// The reference.
    pub reference: String,
    /// Why.
    pub reason: String,
}

/// A reference and its fully qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormalisedReference {
    pub(crate) original: String,
    pub(crate) name: String,
}

impl NormalisedReference {
    /// `name.ParseReference(s, name.WeakValidation)` followed by `Name()`:
    /// a tag reference first, then a digest reference.
    pub(crate) fn parse(reference: &str) -> Result<Self, InvalidReference> {
        let fail = |reason: String| InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        if reference.starts_with("http://") || reference.starts_with("https://") {
            return Err(fail("an image reference has no URL scheme".into()));
        }
        let name = match tag_name(reference) {
            Ok(name) => name,
            Err(tag_error) => digest_name(reference).map_err(|digest_error| {
                if reference.contains('@') {
                    fail(digest_error)
                } else {
                    fail(tag_error)
                }
            })?,
        };
        Ok(Self {
            original: reference.to_string(),
            name,
        })
    }
}

/// `NewTag(s).Name()`: `registry/repository:tag`, tag defaulting to latest.
fn tag_name(s: &str) -> Result<String, String> {
    let (repository, tag) = split_tag(s);
    if let Some(tag) = tag {
        check_element("tag", tag, |c| c.is_ascii_alphanumeric() || "_-.".contains(c), 1, 127)?;
    }
    Ok(format!("{}:{}", repository_name(repository)?, tag.unwrap_or(DEFAULT_TAG)))
}

/// Split at the last `:` unless what follows it contains a `/` (then the
/// colon belongs to a registry port).
fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => (base, (!tag.is_empty()).then_some(tag)),
        _ => (s, None),
    }
}

/// `NewDigest(s).Name()`: `registry/repository@sha256:<hex>`; a tag before
/// the digest is dropped.
fn digest_name(s: &str) -> Result<String, String> {
    let mut parts = s.split('@');
    let (Some(base), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("a digest reference must contain exactly one '@'".into());
    };
    check_element(
        "digest",
        digest,
        |c| "sh:0123456789abcdef".contains(c),
        7 + 64,
        7 + 64,
    )?;
    let repository = match split_tag(base) {
        (repository, Some(tag))
            if check_element("tag", tag, |c| c.is_ascii_alphanumeric() || "_-.".contains(c), 1, 127)
                .is_ok()
                && repository_name(repository).is_ok() =>
        {
            repository
        }
        _ => base,
    };
    Ok(format!("{}@{digest}", repository_name(repository)?))
}

/// `NewRepository(s).Name()`.
fn repository_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a repository name must be specified".into());
    }
    let (registry, repository) = match s.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') => (first, rest),
        _ => ("", s),
    };
    let repo_chars = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-./".contains(c);
    check_element("repository", repository, repo_chars, 2, 255)?;
    check_registry(registry)?;
    let registry = match registry {
        "" | DOCKER_HUB_ALIAS => DOCKER_HUB,
        other => other,
    };
    let repository = if registry == DOCKER_HUB && !repository.contains('/') {
        let qualified = format!("library/{repository}");
        check_element("repository", &qualified, repo_chars, 2, 255)?;
        qualified
    } else {
        repository.to_string()
    };
    Ok(format!("{registry}/{repository}"))
}

/// A registry must be a URI authority (host and optional port) with
/// nothing else: Go's `url.Parse("//" + name).Host == name`.
fn check_registry(registry: &str) -> Result<(), String> {
    if registry.is_empty() {
        return Ok(());
    }
    let bad = || Err(format!("registries must be valid URI authorities: {registry}"));
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return bad();
        };
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return bad();
        }
        match after {
            "" => (inside, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (inside, Some(port)),
                None => return bad(),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:".contains(c));
    let port_ok = port.is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        bad()
    }
}

fn check_element(
    what: &str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    min: usize,
    max: usize,
) -> Result<(), String> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(format!("{what} must be between {min} and {max} characters in length: {value}"));
    }
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!("{what} contains the character {c:?}: {value}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn name(reference: &str) -> String {
        NormalisedReference::parse(reference).unwrap().name
    }

    fn m(glob: &str, image: &str) -> bool {
        ImageGlob::new(glob).unwrap().matches(image).unwrap()
    }

    #[test]
    fn docker_hub_normalisation() {
        assert_eq!(name("alpine"), "index.docker.io/library/alpine:latest");
        assert_eq!(name("alpine:3.20"), "index.docker.io/library/alpine:3.20");
        assert_eq!(name("docker.io/library/alpine"), "index.docker.io/library/alpine:latest");
        assert_eq!(name("docker.io/alpine"), "index.docker.io/library/alpine:latest");
        assert_eq!(name("index.docker.io/library/alpine"), "index.docker.io/library/alpine:latest");
        assert_eq!(name("myuser/myapp"), "index.docker.io/myuser/myapp:latest");
        assert_eq!(name("ghcr.io/org/app"), "ghcr.io/org/app:latest");
        assert_eq!(name("localhost:5000/app:v1"), "localhost:5000/app:v1");
        // "localhost" without a port has no '.' or ':': it is a Docker Hub
        // namespace, as in go-containerregistry.
        assert_eq!(name("localhost/app"), "index.docker.io/localhost/app:latest");
        assert_eq!(name("[::1]:5000/app"), "[::1]:5000/app:latest");
    }

    #[test]
    fn digests_drop_the_tag() {
        assert_eq!(name(&format!("alpine@{DIGEST}")), format!("index.docker.io/library/alpine@{DIGEST}"));
        assert_eq!(
            name(&format!("ghcr.io/org/app:v1@{DIGEST}")),
            format!("ghcr.io/org/app@{DIGEST}")
        );
        assert_eq!(
            name(&format!("localhost:5000/app:v1@{DIGEST}")),
            format!("localhost:5000/app@{DIGEST}")
        );
    }

    #[test]
    fn invalid_references_are_errors() {
        for bad in [
            "",
            "UPPER/case",
            "ghcr.io/Org/app",
            "https://ghcr.io/org/app",
            "app:bad tag",
            "a",
            "ghcr.io/org/app@sha256:abc",
            "ghcr.io/org/app@sha512:0123",
            "ghcr.io/org/app@@x",
            "invalid&name",
            "ghcr.io:port/app",
            "user@ghcr.io/app",
        ] {
            assert!(NormalisedReference::parse(bad).is_err(), "{bad:?} should not parse");
            assert!(ImageGlob::new("**").unwrap().matches(bad).is_err());
        }
    }

    #[test]
    fn policy_controller_glob_cases() {
        // The cases policy-controller's own glob tests pin, rewritten.
        for (image, glob, want) in [
            ("foo", "index.docker.io/library/foo:latest", true),
            ("foo", "index.docker.io/library/foo:*", true),
            ("foo", "index.docker.io/library/*", true),
            ("foo", "index.docker.io/library/*:latest", true),
            ("foo", "index.docker.io/*/*", true),
            ("foo", "index.docker.io/**", true),
            ("foo", "index.docker.**", true),
            ("foo", "inde**", true),
            ("foo", "**", true),
            ("foo", "foo", true), // the unqualified fallback
            ("foo", "foo*", true),
            ("foo", "*", true),
            ("myuser/myapp", "index.docker.io/myuser/*", true),
            ("myuser/myapp", "myuser/myapp", true),
            ("myuser/myapp", "*/*", true),
            ("ghcr.io/foo/bar", "ghcr.io/*/*", true),
            ("ghcr.io/foo/bar", "ghcr.io/**", true),
            ("ghcr.io/foo", "ghcr.io/*/*", false),
            ("ghcr.io/foo", "*/**", true),
            ("prefix-ghcr.io/foo", "ghcr.io/foo", false),
            ("ghcr.io/foo-suffix", "ghcr.io/foo", false),
            ("ghcrxio/foo", "ghcr.io/**", false),
        ] {
            assert_eq!(m(glob, image), want, "glob {glob:?} on {image:?}");
        }
    }

    #[test]
    fn star_does_not_cross_slashes_but_crosses_tags_and_digests() {
        assert!(m("ghcr.io/org/*", "ghcr.io/org/app:v1"));
        assert!(m("ghcr.io/org/*", &format!("ghcr.io/org/app@{DIGEST}")));
        assert!(!m("ghcr.io/org/*", "ghcr.io/org/team/app:v1"));
        assert!(m("ghcr.io/org/**", "ghcr.io/org/team/app:v1"));
        // A glob without a tag matches the tagless reference as written
        // (fallback), but not once a tag is given.
        assert!(m("ghcr.io/org/app", "ghcr.io/org/app"));
        assert!(!m("ghcr.io/org/app", "ghcr.io/org/app:v1"));
        assert!(m("ghcr.io/org/app:*", "ghcr.io/org/app:v1"));
        assert!(m("ghcr.io/org/app*", "ghcr.io/org/app:v1"));
        // The tag is gone from a tag+digest reference's qualified name, but
        // the reference as written still matches through the fallback.
        assert!(m("ghcr.io/org/app:v1*", &format!("ghcr.io/org/app:v1@{DIGEST}")));
        assert!(!m("ghcr.io/org/app:v2*", &format!("ghcr.io/org/app:v1@{DIGEST}")));
        assert!(!m("index.docker.io/library/alpine:3*", &format!("alpine:3.20@{DIGEST}")));
        assert!(m("alpine:3*", &format!("alpine:3.20@{DIGEST}")));
        assert!(m("ghcr.io/org/app*", &format!("ghcr.io/org/app:v1@{DIGEST}")));
        // An empty tag is no tag, as in go-containerregistry.
        assert_eq!(name("app:"), "index.docker.io/library/app:latest");
    }

    #[test]
    fn docker_hub_globs() {
        for image in ["alpine", "docker.io/library/alpine", "index.docker.io/library/alpine", "alpine:3.20"] {
            assert!(m("index.docker.io/library/alpine*", image), "{image}");
            assert!(m("*", image), "{image}");
        }
        assert!(!m("docker.io/library/alpine*", "alpine"));
        // A glob written with docker.io matches only references written that way.
        assert!(m("docker.io/library/alpine", "docker.io/library/alpine"));
        assert!(!m("docker.io/library/alpine:*", "alpine:3.20"));
        assert!(!m("*", "ghcr.io/org/app"));
        assert!(!m("*/*", "ghcr.io/org"));
    }

    #[test]
    fn invalid_globs() {
        for bad in ["", ".+", "[a-z]*", "ghcr.io/org/app@sha256:*", "a b", "ä"] {
            assert!(ImageGlob::new(bad).is_err(), "{bad:?}");
        }
        assert!(ImageGlob::new(&"a".repeat(MAX_GLOB_BYTES + 1)).is_err());
        // Dots are literal, `***` is `**` then `*`.
        assert!(ImageGlob::new("***").unwrap().matches("ghcr.io/a/b").unwrap());
    }
}
