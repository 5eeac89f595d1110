//! Where each source repository goes in the site's registry.
//!
//! The rules, in order:
//!
//! 1. The source reference is normalised as docker does (`alpine` is
//!    `docker.io/library/alpine`) and written `REGISTRY/REPOSITORY`
//!    (`ghcr.io/org/app`).
//! 2. The `FROM=TO` rule whose `FROM` is the longest prefix of that name, on
//!    `/` boundaries, replaces `FROM` by `TO` (`ghcr.io/org=apps` sends
//!    `ghcr.io/org/app` to `apps/app`; `TO` may be empty to strip `FROM`).
//!    Without a matching rule the whole name is kept.
//! 3. The result goes under the target's `PREFIX`, with `:` (registry
//!    ports) written `-` and `[`/`]` (IPv6 hosts) dropped, lowercased, as
//!    skopeo and zarf write mirrored names.
//!
//! Two images that would land in the same repository under the same tag, or
//! a result that is not a valid repository name, are refused when the load
//! is planned, before anything is pushed.

use crate::{Error, Result};
use oci::ImageRef;

/// A source-to-target repository mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryMapping {
    prefix: String,
    rules: Vec<(String, String)>,
}

/// Where one source repository goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The repository path under the target's prefix (`ghcr.io/org/app`).
    pub relative: String,
    /// The full repository path, prefix included (`mirror/ghcr.io/org/app`).
    pub repository: String,
}

/// Any valid registry host, to validate repository paths with.
const PROBE_REGISTRY: &str = "registry.invalid";

fn invalid(reason: String) -> Error {
    Error::Invalid(reason)
}

fn clean_path(text: &str) -> String {
    text.trim_matches('/').replace(':', "-").replace(['[', ']'], "").to_ascii_lowercase()
}

fn join(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("/")
}

impl RepositoryMapping {
    /// Images go under `prefix` (empty for none), names kept.
    pub fn new(prefix: &str) -> Result<Self> {
        let prefix = clean_path(prefix);
        if !prefix.is_empty() {
            ImageRef::new(PROBE_REGISTRY, &prefix, None, None)
                .map_err(|e| invalid(format!("target prefix {prefix:?}: {e}")))?;
        }
        Ok(Self { prefix, rules: Vec::new() })
    }

    /// The target's prefix (empty for none).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Add a rule written `FROM=TO`.
    pub fn with_rule_text(self, rule: &str) -> Result<Self> {
        let (from, to) = rule
            .split_once('=')
            .ok_or_else(|| invalid(format!("repository mapping {rule:?} is not FROM=TO")))?;
        self.with_rule(from, to)
    }

    /// Send repositories named `from` or under `from/` to `to` (under the
    /// prefix). The longest matching `from` wins.
    pub fn with_rule(mut self, from: &str, to: &str) -> Result<Self> {
        let from = from.trim_matches('/').to_ascii_lowercase();
        if from.is_empty() || from.split('/').any(str::is_empty) {
            return Err(invalid(format!("repository mapping: FROM {from:?} must be a registry or repository prefix")));
        }
        if self.rules.iter().any(|(f, _)| *f == from) {
            return Err(invalid(format!("repository mapping: {from:?} is mapped twice")));
        }
        let to = clean_path(to);
        if !to.is_empty() {
            ImageRef::new(PROBE_REGISTRY, &to, None, None)
                .map_err(|e| invalid(format!("repository mapping {from}={to}: {e}")))?;
        }
        self.rules.push((from, to));
        Ok(self)
    }

    /// The target repository for `source`.
    pub fn map(&self, source: &ImageRef) -> Result<Mapped> {
        let name = source.name();
        let rule = self
            .rules
            .iter()
            .filter(|(from, _)| name == *from || name.starts_with(&format!("{from}/")))
            .max_by_key(|(from, _)| from.len());
        let relative = match rule {
            Some((from, to)) => join(&[to, &clean_path(&name[from.len()..])]),
            None => clean_path(&name),
        };
        let repository = join(&[&self.prefix, &relative]);
        if repository.is_empty() {
            return Err(invalid(format!("{source}: the mapping leaves no repository name")));
        }
        ImageRef::new(PROBE_REGISTRY, &repository, None, None)
            .map_err(|e| invalid(format!("{source}: mapped to {repository:?}, which is not a repository name: {e}")))?;
        Ok(Mapped { relative, repository })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(m: &RepositoryMapping, source: &str) -> String {
        m.map(&source.parse().unwrap()).unwrap().repository
    }

    #[test]
    fn default_keeps_the_source_name_under_the_prefix() {
        let m = RepositoryMapping::new("mirror").unwrap();
        assert_eq!(map(&m, "ghcr.io/org/app:v1"), "mirror/ghcr.io/org/app");
        assert_eq!(map(&m, "alpine"), "mirror/docker.io/library/alpine");
        assert_eq!(map(&m, "localhost:5000/x/y@sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"), "mirror/localhost-5000/x/y");
        assert_eq!(map(&RepositoryMapping::new("").unwrap(), "quay.io/a/b"), "quay.io/a/b");
        assert_eq!(map(&RepositoryMapping::new("/Site/Mirror/").unwrap(), "quay.io/a/b"), "site/mirror/quay.io/a/b");
    }

    #[test]
    fn the_longest_rule_on_component_boundaries_wins() {
        let m = RepositoryMapping::new("m")
            .unwrap()
            .with_rule_text("ghcr.io/org=apps")
            .unwrap()
            .with_rule_text("ghcr.io/org/special=vip")
            .unwrap()
            .with_rule_text("docker.io/library=")
            .unwrap();
        assert_eq!(map(&m, "ghcr.io/org/app"), "m/apps/app");
        assert_eq!(map(&m, "ghcr.io/org/special/x"), "m/vip/x");
        assert_eq!(map(&m, "ghcr.io/org/special"), "m/vip");
        assert_eq!(map(&m, "ghcr.io/organisation/app"), "m/ghcr.io/organisation/app");
        assert_eq!(map(&m, "nginx:1.25"), "m/nginx");
    }

    #[test]
    fn refuses_bad_rules_and_results() {
        assert!(RepositoryMapping::new("UP PER").is_err());
        let m = RepositoryMapping::new("").unwrap();
        assert!(m.clone().with_rule_text("no-equals").is_err());
        assert!(m.clone().with_rule_text("=x").is_err());
        assert!(m.clone().with_rule_text("a//b=x").is_err());
        assert!(m.clone().with_rule_text("a=Bad Name").is_err());
        assert!(m.clone().with_rule_text("a=x").unwrap().with_rule_text("a=y").is_err());
        let strip_all = m.with_rule_text("quay.io/a/b=").unwrap();
        assert!(strip_all.map(&"quay.io/a/b".parse().unwrap()).is_err());
    }
}
