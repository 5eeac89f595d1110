//! `spec.allowedRegistries`: where images may come from at all.
//!
//! Each pattern is either
//!
//! - a registry host with an optional port and an optional repository
//!   prefix, without `*` (`registry.example.com`, `127.0.0.1:5000/team`):
//!   it admits every image of that registry whose repository is the prefix
//!   or lies under it (`team`, `team/app`, not `teamwork`); or
//! - an image glob with the `images` rules of [`super::glob`]
//!   (`registry.example.com/**`, `ghcr.io/org/**`).
//!
//! Docker Hub is `docker.io` (`index.docker.io` means the same registry).

use super::glob::ImageGlob;
use oci::ImageRef;

/// One `allowedRegistries` entry, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryPattern {
    /// A registry and a repository prefix (empty: the whole registry).
    Prefix {
        /// The registry host\[:port\], normalised as references are.
        registry: String,
        /// The repository prefix, without a trailing `/`.
        repository: String,
        /// As written.
        text: String,
    },
    /// An image glob.
    Glob(ImageGlob),
}

impl RegistryPattern {
    /// Compile one entry; the error says why it is not one.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.contains('*') {
            return ImageGlob::new(text).map(Self::Glob);
        }
        let trimmed = text.trim_end_matches('/');
        let (host, repository) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        if host.is_empty() {
            return Err("no registry host".into());
        }
        // Parse through an image reference, so the host and prefix are
        // normalised exactly as the images they are compared with.
        let probe = if repository.is_empty() { format!("{host}/probe") } else { format!("{host}/{repository}") };
        let parsed: ImageRef = probe.parse().map_err(|e: oci::Error| e.to_string())?;
        if parsed.registry() != host.to_ascii_lowercase() && !(host.ends_with("docker.io")) {
            return Err(format!("{host:?} is not a registry host (write host[:port], e.g. registry.example.com)"));
        }
        // The prefix as written: a one-component Docker Hub prefix
        // (`docker.io/library`) is a namespace, not `library/library`.
        let repository = repository.to_string();
        Ok(Self::Prefix { registry: parsed.registry().to_string(), repository, text: text.to_string() })
    }

    /// Whether `reference` (as written) comes from here. A reference that
    /// does not parse comes from nowhere allowed.
    pub fn admits(&self, reference: &str) -> bool {
        match self {
            Self::Glob(glob) => glob.matches(reference).unwrap_or(false),
            Self::Prefix { registry, repository, .. } => {
                let Ok(parsed) = reference.parse::<ImageRef>() else { return false };
                parsed.registry() == registry
                    && (repository.is_empty()
                        || parsed.repository() == repository
                        || parsed.repository().starts_with(&format!("{repository}/")))
            }
        }
    }
}

impl std::fmt::Display for RegistryPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Glob(glob) => write!(f, "{glob}"),
            Self::Prefix { text, .. } => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_globs() {
        let host = RegistryPattern::new("registry.example.com").unwrap();
        assert!(host.admits("registry.example.com/a/b:v1"));
        assert!(host.admits("REGISTRY.example.com/a@sha256:0000000000000000000000000000000000000000000000000000000000000000"));
        assert!(!host.admits("registry.example.com.evil.io/a:v1"));
        assert!(!host.admits("other.example.com/a:v1"));
        let port = RegistryPattern::new("127.0.0.1:5000/team").unwrap();
        assert!(port.admits("127.0.0.1:5000/team/app:v1"));
        assert!(port.admits("127.0.0.1:5000/team:v1"));
        assert!(!port.admits("127.0.0.1:5000/teamwork/app:v1"));
        assert!(!port.admits("127.0.0.1:5001/team/app:v1"));
        let hub = RegistryPattern::new("docker.io/library").unwrap();
        assert!(hub.admits("nginx:1.25"));
        assert!(hub.admits("index.docker.io/library/nginx"));
        let glob = RegistryPattern::new("ghcr.io/org/**").unwrap();
        assert!(glob.admits("ghcr.io/org/app:v1"));
        assert!(!glob.admits("ghcr.io/other/app:v1"));
        assert!(!glob.admits("not a reference"));
        assert!(RegistryPattern::new("").is_err());
        assert!(RegistryPattern::new("/x").is_err());
    }
}
