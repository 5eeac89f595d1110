//! Registry credentials as docker keeps them: a `config.json` with
//! `auths` entries, a `credsStore` and per-registry `credHelpers`.
//!
//! Which source answers for a registry follows the docker CLI
//! (`configfile.GetCredentialsStore`): its `credHelpers` entry, else the
//! `credsStore`, else its `auths` entry. A helper is the external program
//! `docker-credential-NAME`, run with `get` ([`super::helper`]); when it
//! says it holds nothing for the registry, the registry is reached
//! anonymously, as docker does. Anything else that cannot be used — a
//! helper that is missing, fails, hangs or answers nonsense, an `auths`
//! entry that does not decode — is an error naming the registry, never an
//! anonymous pull.

use super::helper::{self, HelperAnswer};
use super::{normalise_host, Auth};
use secrecy::SecretString;
use crate::error::{Error, Result};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A docker config larger than this is refused.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Credentials per registry host.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// `auths` entries and [`insert`](Self::insert)ed credentials.
    by_host: BTreeMap<String, Auth>,
    /// `credHelpers`: host → helper name.
    helpers: BTreeMap<String, String>,
    /// `credsStore`: the helper for every other host.
    store: Option<String>,
    /// The file they came from, for messages.
    source: Option<PathBuf>,
    /// Helpers' answers, so each runs once per host per process.
    answered: Arc<Mutex<BTreeMap<String, Auth>>>,
}

impl Credentials {
    /// No credentials for any registry.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Add credentials for `host` (`registry.example:5000`).
    pub fn insert(&mut self, host: &str, auth: Auth) {
        self.by_host.insert(normalise_host(host), auth);
    }

    /// Read a docker `config.json`. A file that does not exist means no
    /// credentials (as docker treats its default file); a malformed one,
    /// or an `auths` entry that cannot be used, is an error. Helpers are
    /// not run here but when a registry is first reached
    /// ([`for_host`](Self::for_host)).
    pub fn from_docker_config(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Credentials {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = match std::fs::File::open(path) {
            Ok(file) => {
                use std::io::Read as _;
                let mut bytes = Vec::new();
                file.take(MAX_CONFIG_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(path, "read docker config", e))?;
                bytes
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, "read docker config", e)),
        };
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(bad(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        // Error messages from serde name positions, not values, so no
        // secret can appear in them.
        let config: DockerConfig =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a docker config: line {} column {}", e.line(), e.column())))?;
        let mut out = Self {
            source: Some(path.to_path_buf()),
            ..Self::default()
        };
        for (key, entry) in config.auths {
            if let Some(auth) = entry.auth(&key).map_err(&bad)? {
                out.by_host.insert(normalise_host(&key), auth);
            }
        }
        for (key, name) in config.cred_helpers {
            check_helper_name(&name).map_err(|reason| bad(format!("credHelpers.{key:?}: {reason}")))?;
            out.helpers.insert(normalise_host(&key), name);
        }
        if let Some(name) = config.creds_store.filter(|s| !s.is_empty()) {
            check_helper_name(&name).map_err(|reason| bad(format!("credsStore: {reason}")))?;
            out.store = Some(name);
        }
        Ok(out)
    }

    /// The credentials for `host`: from its credential helper (running it
    /// the first time), else its `auths` entry, else anonymous. A helper
    /// that cannot be run or fails is an error naming the host.
    pub fn for_host(&self, host: &str) -> Result<Auth> {
        let host = normalise_host(host);
        let helper = match self.helpers.get(&host) {
            Some(name) => Some((name, "credHelpers")),
            None => self.store.as_ref().map(|name| (name, "credsStore")),
        };
        let Some((name, key)) = helper else {
            return Ok(self.by_host.get(&host).cloned().unwrap_or_default());
        };
        let mut answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(auth) = answered.get(&host) {
            return Ok(auth.clone());
        }
        let auth = match helper::get(name, &server_url(&host)) {
            Ok(HelperAnswer::Found(auth)) => auth,
            Ok(HelperAnswer::NotFound) => Auth::Anonymous,
            Err(reason) => {
                let config = self.source.as_deref().map(|p| format!(" ({key} in {})", p.display())).unwrap_or_default();
                return Err(Error::CredentialHelper {
                    registry: host,
                    helper: format!("docker-credential-{name}{config}"),
                    reason,
                });
            }
        };
        answered.insert(host, auth.clone());
        Ok(auth)
    }
}

/// The server URL docker gives helpers: Docker Hub by its legacy index
/// URL, every other registry by its host.
fn server_url(host: &str) -> String {
    if host == crate::reference::DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    }
}

/// A helper name becomes part of a program name looked up on `PATH`: a
/// path in it would run an arbitrary file.
fn check_helper_name(name: &str) -> std::result::Result<(), String> {
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) && !name.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(format!("helper name {name:?} is not a plain name (letters, digits, '.', '_', '-')"))
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
    registrytoken: Option<String>,
}

impl AuthEntry {
    /// What the entry says, `None` for an empty one (docker writes `{}`
    /// for registries whose secrets live in a helper). Errors name the
    /// entry, never its values.
    fn auth(self, key: &str) -> std::result::Result<Option<Auth>, String> {
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        // An identity token is an OAuth2 refresh token; docker and
        // go-containerregistry prefer it to a password.
        if let Some(token) = non_empty(self.identitytoken) {
            return Ok(Some(Auth::IdentityToken { token: SecretString::from(token) }));
        }
        if let Some(encoded) = non_empty(self.auth) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| format!("auths.{key:?}.auth is not base64"))?;
            let decoded = String::from_utf8(decoded).map_err(|_| format!("auths.{key:?}.auth is not UTF-8"))?;
            let (user, pass) = decoded
                .split_once(':')
                .filter(|(user, _)| !user.is_empty())
                .ok_or_else(|| format!("auths.{key:?}.auth is not user:password"))?;
            return Ok(Some(Auth::Basic {
                username: user.to_string(),
                password: SecretString::from(pass.trim_end_matches('\0')),
            }));
        }
        match (non_empty(self.username), self.password) {
            (Some(username), Some(password)) => return Ok(Some(Auth::Basic { username, password: SecretString::from(password) })),
            (Some(_), None) => return Err(format!("auths.{key:?} has a username but no password")),
            (None, _) => {}
        }
        if non_empty(self.registrytoken).is_some() {
            return Err(format!("auths.{key:?}: registrytoken entries are not supported; use auth or identitytoken"));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use super::*;

    fn write(dir: &Path, json: &str) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn reads_auths_entries_of_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let path = write(
            dir.path(),
            &format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{encoded}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}},
                "ghcr.io":{{"identitytoken":"refresh-me"}},"empty.example":{{}}}}}}"#
            ),
        );
        let creds = Credentials::from_docker_config(&path).unwrap();
        let shown = |host: &str| match creds.for_host(host).unwrap() {
            Auth::Basic { username, password } => format!("basic {username}:{}", password.expose_secret()),
            Auth::IdentityToken { token } => format!("token {}", token.expose_secret()),
            Auth::Anonymous => "anonymous".to_string(),
        };
        assert_eq!(shown("docker.io"), "basic alice:s3cret");
        assert_eq!(shown("127.0.0.1:5000"), "basic bob:pw");
        assert_eq!(shown("ghcr.io"), "token refresh-me");
        assert_eq!(shown("empty.example"), "anonymous");
        assert_eq!(shown("quay.io"), "anonymous");
        let debug = format!("{creds:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("refresh-me"), "{debug}");
        // Missing file: anonymous.
        assert!(Credentials::from_docker_config(&dir.path().join("none.json")).is_ok());
    }

    #[test]
    fn entries_that_cannot_be_used_are_errors_without_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        for (json, expect) in [
            (format!(r#"{{"auths":{{"h":{{"auth":"{encoded}"#), "line 1"),
            (r#"{"auths":{"h":{"auth":"not base64!"}}}"#.to_string(), "not base64"),
            (format!(r#"{{"auths":{{"h":{{"auth":"{}"}}}}}}"#, base64::engine::general_purpose::STANDARD.encode("no-colon")), "user:password"),
            (r#"{"auths":{"h":{"username":"u"}}}"#.to_string(), "no password"),
            (r#"{"auths":{"h":{"registrytoken":"t0k"}}}"#.to_string(), "registrytoken"),
            (r#"{"credsStore":"../../bin/sh"}"#.to_string(), "plain name"),
            (r#"{"credHelpers":{"h":"a/b"}}"#.to_string(), "plain name"),
        ] {
            let e = Credentials::from_docker_config(&write(dir.path(), &json)).unwrap_err().to_string();
            assert!(e.contains(expect), "{e}");
            assert!(!e.contains(&encoded) && !e.contains("s3cret") && !e.contains("t0k"), "{e}");
        }
    }

    #[test]
    fn a_helper_that_is_not_installed_is_an_error_naming_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"auths":{"gcr.io":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"airlock-test-absent"},"credsStore":"airlock-test-absent-store"}"#,
        );
        let creds = Credentials::from_docker_config(&path).unwrap();
        // credHelpers wins over auths, credsStore covers the rest.
        let e = creds.for_host("gcr.io").unwrap_err().to_string();
        assert!(e.contains("gcr.io") && e.contains("docker-credential-airlock-test-absent ") && e.contains("credHelpers"), "{e}");
        let e = creds.for_host("quay.io").unwrap_err().to_string();
        assert!(e.contains("quay.io") && e.contains("docker-credential-airlock-test-absent-store") && e.contains("credsStore"), "{e}");
    }
}
