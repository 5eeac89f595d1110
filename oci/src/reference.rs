//! Image references, parsed once from what an operator writes.
//!
//! The grammar is docker's (`distribution/reference`):
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [domain "/"] path-component ("/" path-component)*
//! domain     := host [":" port]          host := dns-name | IPv4 | "[" IPv6 "]"
//! path-comp  := [a-z0-9]+ (separator [a-z0-9]+)*   separator := "." | "_" | "__" | "-"+
//! tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! ```
//!
//! The first component is a registry when it contains `.` or `:`, is
//! `localhost`, or has an upper-case letter; otherwise the registry is
//! `docker.io`, and a single-component Docker Hub name gets `library/`.
//! Values are normalised (`index.docker.io` is `docker.io`), so
//! [`ImageRef`]'s `Display` is its canonical form and parses back to an equal
//! value.

use crate::digest::Digest;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";

/// Longest repository name docker accepts (including the registry).
const MAX_NAME_LEN: usize = 255;

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The referrers tag-schema tag for `digest` (`sha256-<hex>`).
    ///
    /// Fails for digests whose tag form is longer than a tag may be
    /// (SHA-512).
    pub fn referrers_for(digest: &Digest) -> Result<Self> {
        digest.tag_form().parse()
    }

    /// A cosign attachment tag for `digest`: `sha256-<hex>.<suffix>`
    /// (`sig`, `att`, `sbom`).
    pub fn cosign_for(digest: &Digest, suffix: &str) -> Result<Self> {
        format!("{}.{suffix}", digest.tag_form()).parse()
    }
}

impl FromStr for Tag {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let err = |reason: &str| Error::Reference {
            input: s.to_string(),
            reason: format!("tag: {reason}"),
        };
        let mut bytes = s.bytes();
        match bytes.next() {
            None => return Err(err("empty")),
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
            Some(_) => return Err(err("must start with a letter, digit or '_'")),
        }
        if s.len() > 128 {
            return Err(err("longer than 128 characters"));
        }
        if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            return Err(err("may contain only letters, digits, '_', '.' and '-'"));
        }
        Ok(Self(s.to_string()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

/// An image reference as an operator wrote it: a repository in a registry,
/// with a tag, a digest, both, or neither (then `latest` is implied when it
/// is resolved, as docker does).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<Tag>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Build a reference from parts, validating each.
    pub fn new(registry: &str, repository: &str, tag: Option<Tag>, digest: Option<Digest>) -> Result<Self> {
        let input = format!("{registry}/{repository}");
        validate_registry(registry).map_err(|reason| Error::Reference {
            input: input.clone(),
            reason,
        })?;
        validate_repository(repository).map_err(|reason| Error::Reference {
            input: input.clone(),
            reason,
        })?;
        let registry = normalise_registry(registry);
        let repository = normalise_repository(&registry, repository);
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(Error::Reference {
                input,
                reason: format!("name longer than {MAX_NAME_LEN} characters"),
            });
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The fully qualified name Sigstore policy-controller matches image
    /// globs against (go-containerregistry's `Reference.Name()`):
    /// `index.docker.io` for Docker Hub, `library/` for its one-component
    /// repositories, `:latest` when there is no tag, and only the digest
    /// when there are both. A first component with neither `.` nor `:`
    /// (`localhost`) names a Docker Hub namespace there, not a registry.
    pub fn policy_name(&self) -> String {
        let name = if self.registry == DOCKER_HUB {
            format!("index.docker.io/{}", self.repository)
        } else if self.registry.contains(['.', ':']) {
            format!("{}/{}", self.registry, self.repository)
        } else {
            format!("index.docker.io/{}/{}", self.registry, self.repository)
        };
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{name}@{digest}"),
            (None, Some(tag)) => format!("{name}:{tag}"),
            (None, None) => format!("{name}:latest"),
        }
    }

    /// The registry host, with its port if one was given (`docker.io`,
    /// `127.0.0.1:5000`, `[::1]:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry (`library/alpine`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if one was written.
    pub fn tag(&self) -> Option<&Tag> {
        self.tag.as_ref()
    }

    /// The digest, if one was written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: Tag) -> Self {
        Self {
            tag: Some(tag),
            digest: None,
            ..self.clone()
        }
    }

    /// Pin this reference to `digest`, keeping the tag as written.
    pub fn pin(&self, digest: Digest) -> PinnedRef {
        PinnedRef {
            original: Self {
                digest: None,
                ..self.clone()
            },
            digest,
        }
    }

    /// The same repository in another registry, under `prefix` (empty for
    /// none): `ghcr.io/org/app` with `registry.site:5000` and `mirror`
    /// becomes `registry.site:5000/mirror/ghcr.io/org/app`.
    pub fn mirrored(&self, registry: &str, prefix: &str) -> Result<Self> {
        let mut repository = String::new();
        for part in [prefix.trim_matches('/'), &self.registry, &self.repository] {
            if part.is_empty() {
                continue;
            }
            if !repository.is_empty() {
                repository.push('/');
            }
            // Registry hosts may hold ':' or '[' which path components may
            // not; write them the way skopeo and zarf do.
            repository.push_str(&part.replace(':', "-").replace(['[', ']'], ""));
        }
        Self::new(registry, &repository.to_ascii_lowercase(), self.tag.clone(), self.digest.clone())
    }
}

impl FromStr for ImageRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let err = |reason: String| Error::Reference {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(err("empty".into()));
        }
        if s.len() > 4096 {
            return Err(err("longer than 4096 characters".into()));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(format!("contains {c:?}")));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest: Digest = d.parse().map_err(|e| err(format!("digest: {e}")))?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        // A tag follows the last ':' that comes after the last '/', so a
        // registry port is not mistaken for one.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag: Tag = rest[at + 1..].parse().map_err(|e: Error| match e {
                    Error::Reference { reason, .. } => err(reason),
                    other => other,
                })?;
                (&rest[..at], Some(tag))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(err("no repository name".into()));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, remainder)) if looks_like_registry(first) => (first, remainder),
            _ => (DOCKER_HUB, name),
        };
        if registry.is_empty() {
            return Err(err("empty registry".into()));
        }
        Self::new(registry, repository, tag, digest).map_err(|e| match e {
            Error::Reference { reason, .. } => err(reason),
            other => other,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageRef({self})")
    }
}

serde_via_str!(ImageRef);

/// A reference that always has a digest, keeping the tag it was resolved
/// from (if any) for people and for policy globs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PinnedRef {
    /// The reference as written, without a digest.
    original: ImageRef,
    digest: Digest,
}

impl PinnedRef {
    /// The digest this reference is pinned to.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The pinned reference as one value (`registry/repo[:tag]@digest`).
    pub fn reference(&self) -> ImageRef {
        ImageRef {
            digest: Some(self.digest.clone()),
            ..self.original.clone()
        }
    }

    /// The reference as written, without the digest it was pinned to.
    pub fn original(&self) -> &ImageRef {
        &self.original
    }

    /// `registry/repository@digest`: what to pull.
    pub fn by_digest(&self) -> ImageRef {
        ImageRef {
            tag: None,
            digest: Some(self.digest.clone()),
            ..self.original.clone()
        }
    }

    /// Registry host.
    pub fn registry(&self) -> &str {
        &self.original.registry
    }

    /// Repository path.
    pub fn repository(&self) -> &str {
        &self.original.repository
    }

    /// Tag, if the reference was resolved from one.
    pub fn tag(&self) -> Option<&Tag> {
        self.original.tag.as_ref()
    }
}

impl TryFrom<ImageRef> for PinnedRef {
    type Error = Error;

    fn try_from(mut reference: ImageRef) -> Result<Self> {
        match reference.digest.take() {
            Some(digest) => Ok(Self {
                original: reference,
                digest,
            }),
            None => Err(Error::Reference {
                input: reference.to_string(),
                reason: "a digest (@sha256:...) is required".into(),
            }),
        }
    }
}

impl FromStr for PinnedRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        s.parse::<ImageRef>()?.try_into()
    }
}

impl fmt::Display for PinnedRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.reference(), f)
    }
}

impl fmt::Debug for PinnedRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinnedRef({self})")
    }
}

serde_via_str!(PinnedRef);

fn looks_like_registry(first: &str) -> bool {
    first.contains(['.', ':', '['])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

fn normalise_registry(registry: &str) -> String {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        other => other.to_ascii_lowercase(),
    }
}

fn normalise_repository(registry: &str, repository: &str) -> String {
    if registry == DOCKER_HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_string()
    }
}

fn validate_registry(registry: &str) -> std::result::Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("registry {registry:?}: unclosed '['"))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("registry {registry:?}: invalid IPv6 address"));
        }
        match after {
            "" => (None, None),
            p => match p.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("registry {registry:?}: junk after ']'")),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !ok {
            return Err(format!("registry {registry:?}: invalid host name"));
        }
    }
    // A one-label host is a registry only when it says so (a port, or
    // `localhost`): lower-cased, as every reference is, `Team/app` would
    // print as `team/app`, which every tool reads as a Docker Hub namespace.
    if port.is_none() && host.is_some_and(|h| !h.contains('.') && !h.eq_ignore_ascii_case("localhost")) {
        return Err(format!("registry {registry:?}: a host without a '.', a port or 'localhost' reads as a Docker Hub namespace"));
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0);
        if !valid {
            return Err(format!("registry {registry:?}: invalid port"));
        }
    }
    Ok(())
}

fn validate_repository(repository: &str) -> std::result::Result<(), String> {
    if repository.is_empty() {
        return Err("empty repository".into());
    }
    for component in repository.split('/') {
        validate_path_component(component)
            .map_err(|why| format!("repository component {component:?}: {why}"))?;
    }
    Ok(())
}

/// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`
fn validate_path_component(c: &str) -> std::result::Result<(), &'static str> {
    if c.is_empty() {
        return Err("empty");
    }
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        // A separator run: "." | "_" | "__" | "-"+
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !ok {
            return Err("only lowercase letters, digits and the separators '.', '_', '__', '-' are allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r: ImageRef = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            r.registry().to_string(),
            r.repository().to_string(),
            r.tag().map(|t| t.to_string()),
            r.digest().map(|d| d.to_string()),
        )
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(parts("alpine"), ("docker.io".into(), "library/alpine".into(), None, None));
        assert_eq!(
            parts("alpine:3.19"),
            ("docker.io".into(), "library/alpine".into(), Some("3.19".into()), None)
        );
        assert_eq!(parts("org/app").1, "org/app");
        assert_eq!(parts("docker.io/alpine").1, "library/alpine");
        assert_eq!(parts("index.docker.io/alpine").0, "docker.io");
        assert_eq!(parts("a/b/c").0, "docker.io");
        // As docker reads it: a lone dotted name is a Docker Hub repository.
        assert_eq!(parts("ghcr.io").1, "library/ghcr.io");
    }

    #[test]
    fn registries_with_ports_and_loopback() {
        assert_eq!(
            parts("localhost/app"),
            ("localhost".into(), "app".into(), None, None)
        );
        assert_eq!(
            parts("localhost:5000/app:v1"),
            ("localhost:5000".into(), "app".into(), Some("v1".into()), None)
        );
        assert_eq!(
            parts(&format!("127.0.0.1:41234/test/app:v1@{D}")),
            ("127.0.0.1:41234".into(), "test/app".into(), Some("v1".into()), Some(D.into()))
        );
        assert_eq!(parts("[::1]:5000/app").0, "[::1]:5000");
        assert_eq!(parts("ghcr.io/sigstore/cosign/cosign:v2.4.1").1, "sigstore/cosign/cosign");
        // Docker reads upper case as marking a registry, but lower-cased
        // (as airlock prints every reference) `registry/app` would mean
        // docker.io/registry/app: refused rather than printed ambiguously.
        assert!("Registry/app".parse::<ImageRef>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "alpine",
            "alpine:3.19",
            "org/app:v1",
            "ghcr.io/org/app",
            "localhost:5000/a/b/c:tag_1.0-x",
            &format!("127.0.0.1:5000/test/app@{D}"),
            &format!("quay.io/a/b:t@{D}"),
            "[::1]:5000/x__y.z--w",
        ] {
            let r: ImageRef = s.parse().unwrap();
            let again: ImageRef = r.to_string().parse().unwrap();
            assert_eq!(r, again, "{s}");
            assert_eq!(r.to_string(), again.to_string());
        }
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            ":tag",
            "@sha256:abc",
            "UPPER",
            "org/UPPER",
            "app:",
            "app:-tag",
            "app:tag with space",
            "app@sha256:short",
            "app@md5:00",
            "a//b",
            "a/b/",
            "/a",
            "a..b",
            "a._b",
            "-a",
            "a-",
            "host:99999/app",
            "host:0/app",
            "host:/app",
            "bad_host.io/app",
            "[::1/app",
            "[zz]:5000/app",
            "exa mple.com/app",
            "a\u{0}b",
            "ghcr.io/",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad:?} accepted");
        }
        let long_tag = format!("app:{}", "a".repeat(129));
        assert!(long_tag.parse::<ImageRef>().is_err());
        let long_name = format!("example.com/{}", "a".repeat(250));
        assert!(long_name.parse::<ImageRef>().is_err());
    }

    #[test]
    fn errors_name_the_input() {
        let e = "org/UPPER:v1".parse::<ImageRef>().unwrap_err().to_string();
        assert!(e.contains("org/UPPER:v1"), "{e}");
        assert!(e.contains("UPPER"), "{e}");
    }

    #[test]
    fn generated_references_round_trip() {
        // Property-ish: every combination of these parts parses and
        // round-trips, and the parts come back as given.
        let registries = ["", "localhost", "localhost:5000", "127.0.0.1:1", "r.example.com", "[::1]:65535"];
        let repos = ["a", "a/b", "a_b/c.d/e-f", "x__y/z---w", "0/1/2/3"];
        let tags = [None, Some("t"), Some("v1.2.3-rc_1"), Some("sha256-abc.sig")];
        let digests = [None, Some(D)];
        for reg in registries {
            for repo in repos {
                for tag in tags {
                    for digest in digests {
                        let mut s = if reg.is_empty() { repo.to_string() } else { format!("{reg}/{repo}") };
                        if let Some(t) = tag {
                            s = format!("{s}:{t}");
                        }
                        if let Some(d) = digest {
                            s = format!("{s}@{d}");
                        }
                        let r: ImageRef = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
                        assert_eq!(r.tag().map(Tag::as_str), tag, "{s}");
                        assert_eq!(r.digest().map(|d| d.to_string()).as_deref(), digest, "{s}");
                        if !reg.is_empty() {
                            assert_eq!(r.registry(), reg);
                            assert_eq!(r.repository(), repo);
                        }
                        assert_eq!(r.to_string().parse::<ImageRef>().unwrap(), r);
                    }
                }
            }
        }
    }

    #[test]
    fn parsing_never_panics_on_junk() {
        // Every short string over an alphabet of the grammar's special
        // characters: parse must return, never panic.
        let alphabet = ['a', 'A', '0', ':', '/', '@', '.', '_', '-', '[', ']'];
        let mut inputs = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for s in &inputs {
                for c in alphabet {
                    next.push(format!("{s}{c}"));
                }
            }
            for s in &next {
                let _ = s.parse::<ImageRef>();
                let _ = s.parse::<Tag>();
            }
            inputs = next;
        }
    }

    #[test]
    fn pinned_refs_keep_the_tag_and_require_a_digest() {
        let r: ImageRef = "ghcr.io/org/app:v1".parse().unwrap();
        assert!(PinnedRef::try_from(r.clone()).is_err());
        let p = r.pin(D.parse().unwrap());
        assert_eq!(p.to_string(), format!("ghcr.io/org/app:v1@{D}"));
        assert_eq!(p.original(), &r);
        assert_eq!(p.by_digest().to_string(), format!("ghcr.io/org/app@{D}"));
        assert_eq!(p.to_string().parse::<PinnedRef>().unwrap(), p);
        assert!("ghcr.io/org/app:v1".parse::<PinnedRef>().is_err());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<PinnedRef>(&json).unwrap(), p);
    }

    #[test]
    fn mirrored_names() {
        let r: ImageRef = "ghcr.io/org/app:v1".parse().unwrap();
        let m = r.mirrored("127.0.0.1:5000", "mirror").unwrap();
        assert_eq!(m.to_string(), "127.0.0.1:5000/mirror/ghcr.io/org/app:v1");
        let r: ImageRef = "localhost:5000/app".parse().unwrap();
        assert_eq!(r.mirrored("site.example", "").unwrap().to_string(), "site.example/localhost-5000/app");
    }

    #[test]
    fn cosign_and_referrers_tags() {
        let d: Digest = D.parse().unwrap();
        assert_eq!(Tag::cosign_for(&d, "sig").unwrap().as_str(), format!("{}.sig", D.replace(':', "-")));
        assert_eq!(Tag::referrers_for(&d).unwrap().as_str(), D.replace(':', "-"));
    }
}
