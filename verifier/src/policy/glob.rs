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
//! 3. The reference is parsed by `oci`'s reference type (airlock's one
//!    reference parser: the docker grammar, which go-containerregistry's
//!    `name.ParseReference` agrees with on every reference a registry
//!    serves), and the glob is matched against its fully qualified name as
//!    policy-controller computes it: Docker Hub's `docker.io`
//!    becomes `index.docker.io`, one-component Docker Hub repositories get
//!    `library/`, a missing tag becomes `:latest`, and a reference with both
//!    a tag and a digest keeps only the digest (`repo@sha256:…`).
//! 4. If that fails and the qualified name differs from the reference as
//!    written, the glob is also matched against the reference as written
//!    (a fallback policy-controller keeps for unqualified globs).
//!
//! A reference that does not parse matches nothing and is an error.

use std::fmt;

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
    /// The reference parsed by [`oci::ImageRef`] (airlock's one reference
    /// parser), named as policy-controller names it
    /// ([`oci::ImageRef::policy_name`]).
    pub(crate) fn parse(reference: &str) -> Result<Self, InvalidReference> {
        let fail = |reason: String| InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        if reference.starts_with("http://") || reference.starts_with("https://") {
            return Err(fail("an image reference has no URL scheme".into()));
        }
        // go-containerregistry reads a first component without `.` or `:`
        // as part of the repository, where capitals are not allowed; the
        // docker grammar would read a capitalised one as a registry.
        if let Some((first, _)) = reference.split_once('/') {
            if !first.contains(['.', ':', '[']) && first.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(fail(format!("repository contains capitals: {first}")));
            }
        }
        let parsed: oci::ImageRef = reference.parse().map_err(|e| match e {
            oci::Error::Reference { reason, .. } => fail(reason),
            other => fail(other.to_string()),
        })?;
        Ok(Self {
            original: reference.to_string(),
            name: parsed.policy_name(),
        })
    }
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
            // An empty tag: go-containerregistry reads it as no tag; the
            // docker grammar (and so airlock) refuses it.
            "app:",
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
        // A one-letter repository is a name the docker grammar (and Docker
        // Hub) accepts, though go-containerregistry wants two characters.
        assert_eq!(name("a"), "index.docker.io/library/a:latest");
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
