//! HTTP basic auth against an htpasswd file with bcrypt entries only.

use crate::{Error, Result};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest as _;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

/// Verified credentials remembered, so bcrypt runs once per client, not
/// once per request. Only a hash of them is kept.
const CACHE_LIMIT: usize = 1024;

/// Users and their bcrypt hashes.
pub struct Htpasswd {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Htpasswd").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

impl Htpasswd {
    /// Parse htpasswd text (`user:$2y$...` per line; blank lines and `#`
    /// comments allowed). Any entry that is not bcrypt (`$2a$`, `$2b$`,
    /// `$2x$`, `$2y$`) is refused: MD5-crypt, SHA-1, crypt and plain text
    /// are too weak to guard a registry.
    pub fn parse(path: &str, text: &str) -> Result<Self> {
        let bad = |reason: String| Error::Htpasswd { path: path.to_string(), reason };
        let mut users = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line.split_once(':').ok_or_else(|| bad(format!("line {}: not user:hash", n + 1)))?;
            if user.is_empty() {
                return Err(bad(format!("line {}: empty user name", n + 1)));
            }
            let bcrypt = ["$2a$", "$2b$", "$2x$", "$2y$"].iter().any(|p| hash.starts_with(p)) && hash.len() == 60;
            if !bcrypt {
                return Err(bad(format!("line {} (user {user:?}): not a bcrypt hash; only bcrypt entries are accepted (htpasswd -B)", n + 1)));
            }
            if users.insert(user.to_string(), hash.to_string()).is_some() {
                return Err(bad(format!("line {}: user {user:?} appears twice", n + 1)));
            }
        }
        if users.is_empty() {
            return Err(bad("no users".into()));
        }
        Ok(Self { users, verified: Mutex::new(HashSet::new()) })
    }

    /// Read and parse an htpasswd file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Htpasswd { path: path.display().to_string(), reason: e.to_string() })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Whether an `Authorization` header value carries valid credentials.
    /// bcrypt is slow by design: call from a blocking-capable context.
    pub fn check(&self, header: Option<&str>) -> bool {
        let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic "))) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let Ok(decoded) = String::from_utf8(decoded).map(SecretString::from) else { return false };
        let Some((user, password)) = decoded.expose_secret().split_once(':') else { return false };
        let Some(hash) = self.users.get(user) else { return false };
        let key: [u8; 32] = sha2::Sha256::new().chain_update(user).chain_update([0]).chain_update(password).chain_update([0]).chain_update(hash).finalize().into();
        if self.verified.lock().map(|v| v.contains(&key)).unwrap_or(false) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            if let Ok(mut verified) = self.verified.lock() {
                if verified.len() >= CACHE_LIMIT {
                    verified.clear();
                }
                verified.insert(key);
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn bcrypt_entries_only() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let h = Htpasswd::parse("f", &format!("# users\nalice:{hash}\n\n")).unwrap();
        assert!(h.check(Some(&header("alice", "s3cret"))));
        assert!(h.check(Some(&header("alice", "s3cret"))), "cached");
        assert!(!h.check(Some(&header("alice", "wrong"))));
        assert!(!h.check(Some(&header("bob", "s3cret"))));
        assert!(!h.check(None));
        assert!(!h.check(Some("Bearer x")));
        assert!(!h.check(Some("Basic !!!")));
        assert!(!format!("{h:?}").contains(&hash));
        for weak in ["bob:$apr1$abc$def", "bob:{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=", "bob:plain", "bob:abcdefghijklm"] {
            let e = Htpasswd::parse("f", weak).unwrap_err().to_string();
            assert!(e.contains("only bcrypt"), "{e}");
            assert!(!e.contains(weak.split_once(':').unwrap().1), "the hash is not echoed: {e}");
        }
        assert!(Htpasswd::parse("f", &format!("a:{hash}\na:{hash}")).unwrap_err().to_string().contains("twice"));
        assert!(Htpasswd::parse("f", "").is_err());
        assert!(Htpasswd::parse("f", "nocolon").is_err());
        assert!(Htpasswd::parse("f", &format!(":{hash}")).is_err());
    }
}
