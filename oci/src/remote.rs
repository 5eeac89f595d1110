//! A repository in an OCI registry as a [`Store`], over `oci-client`.
//!
//! - **Auth**: anonymous, or from a docker `config.json` whose path the
//!   caller passes ([`Credentials::from_docker_config`]): `auths.<host>.auth`
//!   (base64 `user:pass`) or `username`/`password`. Basic credentials are
//!   sent as is to registries that ask for basic auth, or exchanged for a
//!   bearer token when the registry's challenge says so (oci-client's token
//!   flow). On a registry open to anonymous access (no challenge at all),
//!   blob and referrer requests and pushes go out bare: the registry is
//!   asked once whether it challenges, not before every such request
//!   (oci-client caches only challenges that yield a token). Credential helpers and identity tokens are not run or used; a
//!   host configured only through a helper is an error, not a silent
//!   anonymous pull.
//! - **Secrets** live in [`Secret`], whose `Debug` and `Display` redact,
//!   and every registry message is scrubbed of them before it becomes an
//!   [`Error`].
//! - **Transport**: HTTPS, except for hosts the caller lists as insecure
//!   (plain HTTP, e.g. `127.0.0.1:5000` test registries).
//! - **Streaming**: blobs are pulled and pushed as streams, hashed while
//!   they pass; pushes are one monolithic `PUT` with a streaming body.
//! - **Push economy**: [`Store::has_blob`] (HEAD) before upload;
//!   cross-repository mount from a repository of the same registry where this
//!   process has already seen the blob.
//! - **Retries** with exponential backoff on transient errors (connection
//!   refused or reset, timeouts, 5xx, 429).
//! - **Referrers**: the referrers API, falling back to the tag schema on
//!   registries without it (distribution 2.x).
//!
//! Limits: `oci-client` reads manifest and tag-list bodies whole before this
//! crate can check their size; the 4 MiB manifest limit is enforced after
//! download. The registries airlock pulls from are chosen by the operator.

use crate::copy::RetryPolicy;
use crate::digest::{AsyncDigestReader, Digest, DigestError};
use crate::error::{Error, Result};
use crate::manifest::{media_type, Descriptor, RawManifest};
use crate::reference::{ImageRef, Tag};
use crate::store::{BlobReader, Store, MAX_TAGS};
use base64::Engine as _;
use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::{BlobResponse, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::RegistryOperation;
use oci_client::Reference;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A secret string. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to authenticate to one registry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials.
    #[default]
    Anonymous,
    /// A user name and password (basic auth, or exchanged for a token).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
}

/// Credentials per registry host.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, Auth>,
    helpers: BTreeMap<String, String>,
    /// The file they came from, for messages.
    source: Option<std::path::PathBuf>,
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
    /// credentials (as docker treats it); a malformed one is an error.
    pub fn from_docker_config(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Credentials {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, "read docker config", e)),
        };
        if bytes.len() > 1024 * 1024 {
            return Err(bad("larger than 1 MiB".into()));
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Config {
            #[serde(default)]
            auths: BTreeMap<String, Entry>,
            #[serde(default)]
            cred_helpers: BTreeMap<String, String>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
            identitytoken: Option<String>,
        }
        // Error messages from serde name positions, not values, so no
        // secret can appear in them.
        let config: Config = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON: line {} column {}", e.line(), e.column())))?;
        let mut out = Self {
            source: Some(path.to_path_buf()),
            ..Self::default()
        };
        for (key, entry) in config.auths {
            let host = normalise_host(&key);
            let auth = match (entry.auth.filter(|a| !a.is_empty()), entry.username, entry.password) {
                (Some(encoded), _, _) => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .map_err(|_| bad(format!("auths.{key:?}.auth is not base64")))?;
                    let decoded = String::from_utf8(decoded).map_err(|_| bad(format!("auths.{key:?}.auth is not UTF-8")))?;
                    let (user, pass) = decoded
                        .split_once(':')
                        .ok_or_else(|| bad(format!("auths.{key:?}.auth is not user:password")))?;
                    Auth::Basic {
                        username: user.to_string(),
                        password: Secret::new(pass),
                    }
                }
                (None, Some(username), Some(password)) if !username.is_empty() => Auth::Basic {
                    username,
                    password: Secret::new(password),
                },
                _ if entry.identitytoken.is_some() => {
                    return Err(bad(format!("auths.{key:?}: identity tokens are not supported")));
                }
                _ => continue,
            };
            out.by_host.insert(host, auth);
        }
        for (host, helper) in config.cred_helpers {
            out.helpers.insert(normalise_host(&host), helper);
        }
        Ok(out)
    }

    /// The credentials for `host`; anonymous when none are configured.
    /// Fails when the host is configured only through a credential helper,
    /// which airlock does not run.
    pub fn for_host(&self, host: &str) -> Result<Auth> {
        let host = normalise_host(host);
        if let Some(auth) = self.by_host.get(&host) {
            return Ok(auth.clone());
        }
        if let Some(helper) = self.helpers.get(&host) {
            return Err(Error::Credentials {
                path: self.source.clone().unwrap_or_default(),
                reason: format!(
                    "{host} uses credential helper docker-credential-{helper}, which airlock does not run; add an auths entry"
                ),
            });
        }
        Ok(Auth::Anonymous)
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://h:5000/x` → `h:5000`.
/// The client configuration: plain HTTP to `insecure` hosts, monolithic
/// pushes, the caller's timeouts.
fn client_config(options: &RemoteOptions, insecure: &[String]) -> ClientConfig {
    ClientConfig {
        protocol: ClientProtocol::HttpsExcept(insecure.to_vec()),
        use_monolithic_push: true,
        platform_resolver: None,
        connect_timeout: Some(options.connect_timeout),
        read_timeout: Some(options.read_timeout),
        ..ClientConfig::default()
    }
}

fn normalise_host(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => crate::reference::DOCKER_HUB.to_string(),
        _ => host,
    }
}

/// Settings for talking to registries.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// Credentials per host.
    pub credentials: Credentials,
    /// Hosts (`host[:port]`, as written in references) reached over plain
    /// HTTP. Every other host is HTTPS.
    pub insecure_hosts: Vec<String>,
    /// Retries for transient failures.
    pub retry: RetryPolicy,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            credentials: Credentials::anonymous(),
            insecure_hosts: Vec::new(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
        }
    }
}

/// A registry: one HTTP client and one set of credentials, shared by the
/// [`Repository`] handles made from it. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegistryInner>,
}

struct RegistryInner {
    host: String,
    client: oci_client::Client,
    auth: RegistryAuth,
    secrets: Vec<String>,
    retry: RetryPolicy,
    /// For anonymous access only: a client with no credentials registered,
    /// for [`Via::Content`] calls to a registry found open.
    bare: Option<oci_client::Client>,
    /// Whether the registry is open to anonymous access (see
    /// [`Registry::client`]), asked once.
    open: tokio::sync::OnceCell<bool>,
    /// Where this process has seen each blob, for cross-repository mounts.
    known_blobs: Mutex<HashMap<Digest, String>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("host", &self.inner.host).finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for `host` (`ghcr.io`, `127.0.0.1:5000`).
    pub fn new(host: &str, options: &RemoteOptions) -> Result<Self> {
        // Validate the host with the reference grammar.
        let probe = ImageRef::new(host, "x", None, None)?;
        let host = probe.registry().to_string();
        let auth = options.credentials.for_host(&host)?;
        let (auth, secrets) = match auth {
            Auth::Anonymous => (RegistryAuth::Anonymous, Vec::new()),
            Auth::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
                let secrets = vec![password.expose().to_string(), encoded]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect();
                (RegistryAuth::Basic(username, password.expose().to_string()), secrets)
            }
        };
        let insecure: Vec<String> = options
            .insecure_hosts
            .iter()
            .flat_map(|h| {
                let h = normalise_host(h);
                // oci-client names Docker Hub index.docker.io.
                if h == crate::reference::DOCKER_HUB {
                    vec![h, "index.docker.io".to_string()]
                } else {
                    vec![h]
                }
            })
            .collect();
        let make_client = |config: ClientConfig| {
            oci_client::Client::try_from(config).map_err(|e| Error::Registry {
                registry: host.clone(),
                repository: String::new(),
                operation: "create client",
                status: None,
                transient: false,
                message: e.to_string(),
            })
        };
        let bare = match auth {
            RegistryAuth::Anonymous => Some(make_client(client_config(options, &insecure))?),
            _ => None,
        };
        let client = make_client(client_config(options, &insecure))?;
        Ok(Self {
            inner: Arc::new(RegistryInner {
                host,
                client,
                auth,
                secrets,
                retry: options.retry,
                bare,
                open: tokio::sync::OnceCell::new(),
                known_blobs: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// A handle on one repository (`org/app`).
    pub fn repository(&self, name: &str) -> Result<Repository> {
        let probe = ImageRef::new(&self.inner.host, name, None, None)?;
        Ok(Repository {
            registry: self.clone(),
            name: probe.repository().to_string(),
        })
    }

    /// The client a call goes through, and whether credentials must be
    /// registered with it first. oci-client asks the registry whether it
    /// challenges (`GET /v2/`) before every request it holds no token for,
    /// and it holds tokens only for challenges that yield one: on a
    /// registry open to anonymous access every request cost two round
    /// trips. So anonymous [`Via::Content`] calls to a registry found open
    /// (asked once; one that cannot be asked counts as challenging) go
    /// through a client that never has credentials registered, and never
    /// asks. Catalog reads register them whatever is passed (oci-client's
    /// manifest and tag calls do it themselves), so they keep asking.
    async fn client(&self, via: Via, reference: &Reference) -> (oci_client::Client, bool) {
        let inner = &self.inner;
        match (&inner.bare, via) {
            (Some(bare), Via::Content) if self.is_open(reference).await => (bare.clone(), false),
            _ => (inner.client.clone(), true),
        }
    }

    async fn is_open(&self, reference: &Reference) -> bool {
        *self
            .inner
            .open
            .get_or_init(|| async {
                let (client, reference) = (self.inner.client.clone(), reference.clone());
                // On its own task, like every oci-client call (see `guarded`).
                let asked = tokio::spawn(async move { client.auth(&reference, &RegistryAuth::Anonymous, RegistryOperation::Pull).await }).await;
                matches!(asked, Ok(Ok(None)))
            })
            .await
    }

    fn redact(&self, message: &str) -> String {
        let mut out = message.to_string();
        for secret in &self.inner.secrets {
            out = out.replace(secret.as_str(), "<redacted>");
        }
        out
    }
}

/// Which of a registry's clients a call goes through (see
/// [`Registry::client`]).
#[derive(Debug, Clone, Copy)]
enum Via {
    /// Manifest and tag reads, for which oci-client registers credentials
    /// itself.
    Catalog,
    /// Blobs, referrers and pushes.
    Content,
}

/// One repository in a registry: the registry side's [`Store`].
#[derive(Clone)]
pub struct Repository {
    registry: Registry,
    name: String,
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repository({}/{})", self.registry.inner.host, self.name)
    }
}

impl Repository {
    /// A handle on the repository `reference` names (its tag and digest are
    /// ignored).
    pub fn open(reference: &ImageRef, options: &RemoteOptions) -> Result<Self> {
        Registry::new(reference.registry(), options)?.repository(reference.repository())
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The repository path.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn reference_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(self.registry.inner.host.clone(), self.name.clone(), tag.to_string())
    }

    fn reference_digest(&self, digest: &Digest) -> Reference {
        Reference::with_digest(self.registry.inner.host.clone(), self.name.clone(), digest.to_string())
    }

    fn remember(&self, digest: &Digest) {
        if let Ok(mut known) = self.registry.inner.known_blobs.lock() {
            known.entry(digest.clone()).or_insert_with(|| self.name.clone());
        }
    }

    /// Turn an oci-client error into ours: digest mismatches raised by our
    /// own verifying readers come back as [`Error::Content`], 404s as
    /// [`Error::NotFound`], everything else as [`Error::Registry`] with the
    /// secrets scrubbed from the message.
    fn error(&self, operation: &'static str, what: &'static str, at: &str, e: OciDistributionError) -> Error {
        let location = format!("{}/{}{at}", self.registry.inner.host, self.name);
        // Our own verification failures, wrapped by the client.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(d) = s.downcast_ref::<DigestError>() {
                return Error::Content {
                    location,
                    source: d.clone(),
                };
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if let Some(d) = io.get_ref().and_then(|i| i.downcast_ref::<DigestError>()) {
                    return Error::Content {
                        location,
                        source: d.clone(),
                    };
                }
            }
            source = s.source();
        }
        if let OciDistributionError::DigestError(d) = &e {
            return Error::Protocol {
                location,
                operation,
                reason: self.registry.redact(&d.to_string()),
            };
        }
        let (status, mut transient) = match &e {
            OciDistributionError::ServerError { code, .. } => (Some(*code), false),
            OciDistributionError::UnauthorizedError { .. } => (Some(401), false),
            OciDistributionError::AuthenticationFailure(_) => (Some(401), false),
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.iter().find_map(|err| match err.code {
                    OciErrorCode::BlobUnknown
                    | OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::NotFound => Some(404),
                    OciErrorCode::Unauthorized => Some(401),
                    OciErrorCode::Denied => Some(403),
                    OciErrorCode::Toomanyrequests => Some(429),
                    _ => None,
                });
                (code, false)
            }
            OciDistributionError::RequestError(r) => (
                r.status().map(|s| s.as_u16()),
                r.is_connect() || r.is_timeout() || r.is_request() || r.is_body(),
            ),
            OciDistributionError::IoError(_) => (None, true),
            _ => (None, false),
        };
        if let Some(code) = status {
            transient |= code >= 500 || code == 429;
        }
        if status == Some(404) {
            return Error::NotFound { location, what };
        }
        let message = crate::error_chain(&e);
        Error::Registry {
            registry: self.registry.inner.host.clone(),
            repository: self.name.clone(),
            operation,
            status,
            transient,
            message: self.registry.redact(&message),
        }
    }

    /// Run one oci-client call on its own task, credentials registered
    /// first where they are needed. oci-client 0.18 can panic on a hostile
    /// answer (a bearer token that is not a valid header value, for one);
    /// on its own task that panic becomes an error here instead of bringing
    /// the caller down. `make` builds the call on the client chosen.
    async fn guarded<T, F, Fut>(&self, via: Via, operation: &'static str, what: &'static str, at: &str, make: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(oci_client::Client) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>> + Send + 'static,
    {
        let inner = &self.registry.inner;
        let auth = inner.auth.clone();
        let reference = Reference::with_tag(inner.host.clone(), self.name.clone(), "latest".into());
        let registry = reference.resolve_registry().to_string();
        let (client, register) = self.registry.client(via, &reference).await;
        let fut = make(client.clone());
        let joined = tokio::spawn(async move {
            if register {
                client.store_auth_if_needed(&registry, &auth).await;
            }
            fut.await
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|e| self.error(operation, what, at, e)),
            Err(_) => Err(Error::Protocol {
                location: format!("{}{at}", self.location()),
                operation,
                reason: "the registry client failed on the registry's answer (panicked)".into(),
            }),
        }
    }

    /// One registry call, retried with backoff on transient failures. `f`
    /// gets the client, the reference and the credentials, owned.
    async fn call<T, F, Fut>(&self, via: Via, reference: &Reference, operation: &'static str, what: &'static str, at: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(oci_client::Client, Reference, RegistryAuth) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>> + Send + 'static,
    {
        let inner = &self.registry.inner;
        inner
            .retry
            .run(
                || self.guarded(via, operation, what, at, |client| f(client, reference.clone(), inner.auth.clone())),
                |_, _, _| {},
            )
            .await
    }

    async fn pull_manifest(&self, reference: &Reference, expected: Option<&Digest>, what: &'static str, at: &str) -> Result<RawManifest> {
        let (bytes, digest) = self
            .call(Via::Catalog, reference, "pull manifest", what, at, |c, r, auth| async move {
                c.pull_manifest_raw(&r, &auth, &media_type::ALL_MANIFESTS).await
            })
            .await?;
        let location = format!("{}/{}{at}", self.registry.inner.host, self.name);
        let manifest = RawManifest::from_bytes(&location, bytes.to_vec(), None, expected)?;
        // oci-client checked the body against the registry's
        // Docker-Content-Digest header; check it agrees with ours too.
        if digest.parse::<Digest>().ok().as_ref() != Some(manifest.digest()) && expected.is_none() {
            return Err(Error::Protocol {
                location,
                operation: "pull manifest",
                reason: format!("registry says {digest}, content hashes to {}", manifest.digest()),
            });
        }
        Ok(manifest)
    }
}

impl Repository {
    /// A blob's bytes from `offset` on, as the registry sends them, not
    /// verified here: callers hash what they read, once ([`Store::open_blob`]
    /// through an [`AsyncDigestReader`]; [`crate::ordered`] over a stream it
    /// resumes after a break). Asked for with a `Range` request, which also
    /// keeps oci-client from hashing the stream a second time; a registry
    /// that ignores ranges sends the whole blob (oci-client then verifies
    /// it as it passes), whose first `offset` bytes are skipped. Nothing is
    /// asked for past the end (an empty blob is not fetched). Errors in
    /// the stream are I/O errors carrying a [`DigestError`] for content
    /// that did not match (see [`Repository::stream_error`]).
    pub(crate) async fn blob_stream_from(&self, descriptor: &Descriptor, offset: u64) -> Result<BlobStream> {
        if offset >= descriptor.size {
            // Nothing left to ask for (registries answer a range past the
            // end, `bytes=0-` of an empty blob included, with 416); the
            // caller's digest check covers the empty rest.
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let reference = self.reference_digest(&descriptor.digest);
        let at = format!("@{}", descriptor.digest);
        let oci = oci_descriptor(descriptor);
        let response = self
            .call(Via::Content, &reference, "pull blob", "blob", &at, |c, r, _| {
                let oci = oci.clone();
                async move { c.pull_blob_stream_partial(&r, &oci, offset, None).await }
            })
            .await?;
        // Where the body starts in the blob.
        let (sized, starts_at) = match response {
            BlobResponse::Partial(sized) => (sized, offset),
            BlobResponse::Full(sized) => (sized, 0),
        };
        if let Some(len) = sized.content_length {
            if starts_at + len != descriptor.size {
                return Err(Error::Content {
                    location: format!("{}{at}", self.location()),
                    source: DigestError::SizeMismatch {
                        digest: descriptor.digest.clone(),
                        expected: descriptor.size,
                        actual: starts_at + len,
                    },
                });
            }
        }
        self.remember(&descriptor.digest);
        let expected = descriptor.digest.clone();
        let mut skip = offset - starts_at;
        Ok(Box::pin(sized.stream.map(move |piece| {
            // oci-client verifies a whole-blob answer too and may notice a
            // mismatch first: report it as the content error ours would be.
            let mut bytes = piece.map_err(|e| client_digest_error(e, &expected))?;
            let cut = usize::try_from(skip).unwrap_or(usize::MAX).min(bytes.len());
            skip -= cut as u64;
            Ok(bytes.split_off(cut))
        })))
    }

    /// One monolithic PUT with a streaming body: constant memory, one
    /// request. A body that fails (a reader that checks the digest fails
    /// at its end) aborts the request, and the registry checks the digest
    /// again before committing.
    async fn push_blob<R>(&self, descriptor: &Descriptor, reader: R) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        let reference = self.reference_digest(&descriptor.digest);
        let at = format!("@{}", descriptor.digest);
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).map_err(OciDistributionError::IoError);
        let (digest, size) = (descriptor.digest.to_string(), descriptor.size);
        self.guarded(Via::Content, "push blob", "blob", &at, |client| async move {
            client.push_blob_stream(&reference, stream, &digest, Some(size)).await
        })
        .await?;
        self.remember(&descriptor.digest);
        Ok(())
    }

    /// An error from a [`Repository::blob_stream_from`] stream: a content
    /// mismatch, or a broken stream (transient: worth resuming).
    pub(crate) fn stream_error(&self, descriptor: &Descriptor, e: std::io::Error) -> Error {
        let location = format!("{}@{}", self.location(), descriptor.digest);
        match e.get_ref().and_then(|inner| inner.downcast_ref::<DigestError>()) {
            Some(digest_error) => Error::Content { location, source: digest_error.clone() },
            None => Error::Registry {
                registry: self.registry.inner.host.clone(),
                repository: self.name.clone(),
                operation: "pull blob",
                status: None,
                transient: true,
                message: self.registry.redact(&crate::error_chain(&e)),
            },
        }
    }
}

/// A blob's bytes as they arrive (see [`Repository::blob_stream_from`]).
pub(crate) type BlobStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send>>;

fn client_digest_error(e: std::io::Error, expected: &Digest) -> std::io::Error {
    use oci_client::errors::DigestError as ClientDigestError;
    let actual = match e.get_ref().and_then(|i| i.downcast_ref::<ClientDigestError>()) {
        Some(ClientDigestError::VerificationError { actual, .. }) => actual.parse::<Digest>().ok(),
        _ => None,
    };
    match actual {
        Some(actual) => std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            DigestError::Mismatch {
                expected: expected.clone(),
                actual,
            },
        ),
        None => e,
    }
}

fn oci_descriptor(d: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.to_string(),
        size: i64::try_from(d.size).unwrap_or(i64::MAX),
        ..OciDescriptor::default()
    }
}

impl Store for Repository {
    fn location(&self) -> String {
        format!("{}/{}", self.registry.inner.host, self.name)
    }

    async fn resolve_tag(&self, tag: &Tag) -> Result<Descriptor> {
        Ok(self.get_tagged_manifest(tag).await?.descriptor())
    }

    async fn get_tagged_manifest(&self, tag: &Tag) -> Result<RawManifest> {
        let reference = self.reference_tag(tag.as_str());
        let at = format!(":{tag}");
        self.pull_manifest(&reference, None, "tag", &at).await
    }

    async fn get_manifest(&self, digest: &Digest) -> Result<RawManifest> {
        let reference = self.reference_digest(digest);
        self.pull_manifest(&reference, Some(digest), "manifest", &format!("@{digest}")).await
    }

    async fn open_blob(&self, descriptor: &Descriptor) -> Result<BlobReader> {
        let stream = self.blob_stream_from(descriptor, 0).await?;
        let reader = tokio_util::io::StreamReader::new(stream);
        Ok(Box::pin(AsyncDigestReader::new(reader, descriptor.digest.clone(), descriptor.size)))
    }

    async fn has_blob(&self, descriptor: &Descriptor) -> Result<bool> {
        let reference = self.reference_digest(&descriptor.digest);
        let digest = descriptor.digest.to_string();
        let at = format!("@{digest}");
        let present = self
            .call(Via::Content, &reference, "check blob", "blob", &at, |c, r, _| {
                let digest = digest.clone();
                async move { c.blob_exists(&r, &digest).await }
            })
            .await?;
        if present {
            self.remember(&descriptor.digest);
        }
        Ok(present)
    }

    async fn put_blob<R>(&self, descriptor: &Descriptor, reader: R) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        self.push_blob(descriptor, AsyncDigestReader::new(reader, descriptor.digest.clone(), descriptor.size)).await
    }

    async fn put_verified_blob(&self, descriptor: &Descriptor, reader: BlobReader) -> Result<()> {
        // The reader checks itself (a blob that does not match fails the
        // stream, which aborts the upload); the registry checks again.
        self.push_blob(descriptor, reader).await
    }

    async fn mount_blob(&self, descriptor: &Descriptor) -> Result<bool> {
        let source = match self.registry.inner.known_blobs.lock() {
            Ok(known) => known.get(&descriptor.digest).cloned(),
            Err(_) => None,
        };
        let Some(source) = source.filter(|s| *s != self.name) else {
            return Ok(false);
        };
        let target = self.reference_digest(&descriptor.digest);
        let from = Reference::with_digest(self.registry.inner.host.clone(), source, descriptor.digest.to_string());
        // A registry that cannot mount answers 202 and opens an upload;
        // oci-client reports that as an error, and we upload instead.
        let digest = descriptor.digest.to_string();
        let at = format!("@{digest}");
        let mounted = self
            .guarded(Via::Content, "mount blob", "blob", &at, |client| async move { client.mount_blob(&target, &from, &digest).await })
            .await;
        Ok(mounted.is_ok())
    }

    async fn put_manifest(&self, manifest: &RawManifest, tag: Option<&Tag>) -> Result<()> {
        // By digest, the digest goes where the tag would: oci-client 0.18
        // panics when a registry (ECR, for one) answers a manifest PUT
        // without a Location header and the URL does not end with the tag
        // (`push_manifest_raw`'s workaround). The URL is the same.
        let reference = match tag {
            Some(tag) => self.reference_tag(tag.as_str()),
            None => self.reference_tag(&manifest.digest().to_string()),
        };
        let at = match tag {
            Some(tag) => format!(":{tag}"),
            None => format!("@{}", manifest.digest()),
        };
        let content_type = http::HeaderValue::from_str(manifest.media_type()).map_err(|_| Error::UnsupportedMediaType {
            location: format!("{}{at}", self.location()),
            media_type: manifest.media_type().to_string(),
        })?;
        let bytes = bytes::Bytes::copy_from_slice(manifest.bytes());
        self.call(Via::Content, &reference, "push manifest", "manifest", &at, |c, r, _| {
            let (bytes, content_type) = (bytes.clone(), content_type.clone());
            async move { c.push_manifest_raw(&r, bytes, content_type).await }
        })
        .await?;
        Ok(())
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        const PAGE: usize = 1000;
        let reference = self.reference_tag("latest");
        let mut tags = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .call(Via::Catalog, &reference, "list tags", "repository", "", |c, r, auth| {
                    let last = last.clone();
                    async move { c.list_tags(&r, &auth, Some(PAGE), last.as_deref()).await }
                })
                .await;
            let page = match page {
                Ok(p) => p,
                // A repository that does not exist has no tags.
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e),
            };
            let n = page.tags.len();
            for t in page.tags {
                let tag: Tag = t.parse().map_err(|_| Error::Protocol {
                    location: self.location(),
                    operation: "list tags",
                    reason: format!("invalid tag {t:?} in the tag list"),
                })?;
                tags.push(tag);
            }
            if tags.len() > MAX_TAGS {
                return Err(Error::Limit {
                    location: self.location(),
                    reason: format!("more than {MAX_TAGS} tags"),
                });
            }
            let next = tags.last().map(|t| t.as_str().to_string());
            // A registry that ignores `n` returns everything at once; one
            // that repeats the same page would loop forever.
            if n < PAGE || next == last {
                break;
            }
            last = next;
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn referrers(&self, digest: &Digest) -> Result<Vec<Descriptor>> {
        let reference = self.reference_digest(digest);
        let at = format!("@{digest}");
        let index = self
            .call(Via::Content, &reference, "list referrers", "manifest", &at, |c, r, _| async move {
                c.pull_referrers(&r, None).await
            })
            .await?;
        let mut out = Vec::new();
        for entry in index.manifests {
            // Through JSON into our Descriptor, which validates the digest.
            let value = serde_json::to_value(&entry).map_err(|e| Error::Protocol {
                location: format!("{}{at}", self.location()),
                operation: "list referrers",
                reason: e.to_string(),
            })?;
            let desc: Descriptor = serde_json::from_value(value).map_err(|e| Error::Protocol {
                location: format!("{}{at}", self.location()),
                operation: "list referrers",
                reason: format!("malformed referrer descriptor: {e}"),
            })?;
            out.push(desc);
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    fn indexes_referrers(&self) -> bool {
        // oci-client does not show us the OCI-Subject header by which a
        // registry says it indexed the subject, so act as the spec asks of
        // clients when it is absent: maintain the tag-schema index.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        let auth = Auth::Basic {
            username: "u".into(),
            password: s,
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn reads_docker_config_auths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{encoded}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}},"empty.example":{{}}}},"credHelpers":{{"gcr.io":"gcloud"}}}}"#
            ),
        )
        .unwrap();
        let creds = Credentials::from_docker_config(&path).unwrap();
        assert_eq!(
            creds.for_host("docker.io").unwrap(),
            Auth::Basic { username: "alice".into(), password: Secret::new("s3cret") }
        );
        assert_eq!(
            creds.for_host("127.0.0.1:5000").unwrap(),
            Auth::Basic { username: "bob".into(), password: Secret::new("pw") }
        );
        assert_eq!(creds.for_host("empty.example").unwrap(), Auth::Anonymous);
        assert_eq!(creds.for_host("quay.io").unwrap(), Auth::Anonymous);
        let e = creds.for_host("gcr.io").unwrap_err().to_string();
        assert!(e.contains("credential helper"), "{e}");
        assert!(!format!("{creds:?}").contains("s3cret"));
        // Missing file: anonymous. Malformed: an error without the secret.
        assert!(Credentials::from_docker_config(&dir.path().join("none.json")).is_ok());
        std::fs::write(&path, format!(r#"{{"auths":{{"h":{{"auth":"{encoded}"#)).unwrap();
        let e = Credentials::from_docker_config(&path).unwrap_err().to_string();
        assert!(!e.contains(&encoded) && !e.contains("s3cret"), "{e}");
        std::fs::write(&path, r#"{"auths":{"h":{"auth":"not base64!"}}}"#).unwrap();
        assert!(Credentials::from_docker_config(&path).is_err());
    }

    #[test]
    fn registry_names_are_validated() {
        let o = RemoteOptions::default();
        assert!(Registry::new("bad host", &o).is_err());
        let r = Registry::new("127.0.0.1:5000", &o).unwrap();
        assert!(r.repository("UPPER").is_err());
        assert_eq!(r.repository("a/b").unwrap().location(), "127.0.0.1:5000/a/b");
    }
}
