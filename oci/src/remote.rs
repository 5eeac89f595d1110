//! A repository in an OCI registry as a [`Store`], over `oci-client`.
//!
//! - **Credentials** ([`Credentials`]): anonymous, or from a docker
//!   `config.json` whose path the caller passes: `credHelpers` and
//!   `credsStore` run the `docker-credential-NAME` helper protocol;
//!   `auths` entries give `auth` (base64 `user:pass`), `username` /
//!   `password` or an `identitytoken`. An entry airlock cannot use is an
//!   error naming the registry, never an anonymous pull.
//! - **Authentication** (`auth`): the registry's challenge is answered
//!   with basic auth, or with a bearer token from its token server (basic
//!   credentials, an identity token as OAuth2 refresh token, or anonymous).
//! - **Secrets** live in [`secrecy::SecretString`] (wiped on drop,
//!   `[REDACTED]` in `Debug`, no `Display`),
//!   and every registry message is scrubbed of them (and of tokens) before
//!   it becomes an [`Error`]. A credential helper's output never reaches
//!   a message.
//! - **Transport** (`transport`): HTTPS with the system's trust anchors
//!   plus [`CaCertificates`], except for hosts the caller lists as
//!   insecure (plain HTTP, e.g. `127.0.0.1:5000` test registries); proxies
//!   from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
//! - **Streaming**: blobs are pulled and pushed as streams, hashed once
//!   while they pass; pushes are one monolithic `PUT` with a streaming body.
//! - **Round trips**: on a registry open to anonymous access (its challenge
//!   asked once), manifest, blob and push requests go out bare, never
//!   preceded by a `GET /v2/` (oci-client asks before every request it holds no token
//!   for, and an open registry gives none).
//! - **Push economy**: [`Store::has_blob`] (HEAD) before upload;
//!   cross-repository mount from a repository of the same registry where this
//!   process has already seen the blob.
//! - **Retries** with exponential backoff on transient errors (connection
//!   refused or reset, timeouts, 5xx, 429).
//! - **Referrers**: the referrers API (an absent or `null` list is empty,
//!   pages followed, each bounded), falling back to the tag schema on
//!   registries without it (distribution 2.x). Whether a registry indexes
//!   referrers itself is probed once per repository after the first push
//!   of a manifest with a subject; only where it does not is the
//!   tag-schema index maintained.
//!
//! Manifests are read by this crate's own requests, bounded by the 4 MiB
//! manifest limit as they arrive. Limits: `oci-client` reads tag-list
//! bodies whole before this crate can check their size. The registries airlock pulls from are chosen by the operator.

use crate::copy::RetryPolicy;
use crate::digest::{AsyncDigestReader, Digest, DigestError};
use crate::error::{Error, Result};
use crate::manifest::{media_type, Descriptor, RawManifest, MAX_MANIFEST_SIZE};
use crate::reference::{ImageRef, Tag};
use crate::store::{BlobReader, Store, MAX_TAGS};
use auth::{Access, Authenticator, Authorization};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::BlobResponse;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod auth;
mod credentials;
mod helper;
mod transport;

pub use credentials::Credentials;
pub use transport::CaCertificates;

/// How to authenticate to one registry.
#[derive(Clone, Debug, Default)]
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
        password: SecretString,
    },
    /// An identity token (docker's `identitytoken`, or a helper's answer
    /// with the user name `<token>`): an OAuth2 refresh token exchanged at
    /// the registry's token server.
    IdentityToken {
        /// The token.
        token: SecretString,
    },
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://h:5000/x` → `h:5000`.
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
    /// Trust anchors for registries' TLS certificates beside the system's
    /// (a private CA).
    pub ca_certificates: CaCertificates,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            credentials: Credentials::anonymous(),
            insecure_hosts: Vec::new(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            ca_certificates: CaCertificates::default(),
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
    /// A client never given credentials, for content requests (blobs,
    /// pushes) to a registry that needs none: oci-client then sends them
    /// without asking `GET /v2/` first (see [`Repository::guarded`]).
    bare: oci_client::Client,
    /// Challenge, credentials and tokens; the HTTP client for what
    /// oci-client cannot do.
    access: Authenticator,
    retry: RetryPolicy,
    /// Where this process has seen each blob, for cross-repository mounts.
    known_blobs: Mutex<HashMap<Digest, String>>,
    /// Per repository: whether the registry lists referrers itself.
    referrers_api: Mutex<HashMap<String, bool>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("host", &self.inner.host).finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for `host` (`ghcr.io`, `127.0.0.1:5000`). Its credentials
    /// are resolved now (a credential helper runs here), so a registry
    /// whose credentials cannot be had fails before any request.
    pub fn new(host: &str, options: &RemoteOptions) -> Result<Self> {
        // Validate the host with the reference grammar.
        let probe = ImageRef::new(host, "x", None, None)?;
        let host = probe.registry().to_string();
        let credential = options.credentials.for_host(&host)?;
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
        let client_error = |message: String| Error::Registry {
            registry: host.clone(),
            repository: String::new(),
            operation: "create client",
            status: None,
            transient: false,
            message,
        };
        let api_host = Reference::with_tag(host.clone(), "x".into(), "latest".into()).resolve_registry().to_string();
        let base = format!("{}://{api_host}", transport::scheme(&api_host, &insecure));
        let http = transport::http_client(options).map_err(|e| client_error(crate::error_chain(&e)))?;
        let make_client = || oci_client::Client::try_from(transport::oci_client_config(options, insecure.clone())).map_err(|e| client_error(e.to_string()));
        let (client, bare) = (make_client()?, make_client()?);
        Ok(Self {
            inner: Arc::new(RegistryInner {
                access: Authenticator::new(http, base, host.clone(), credential),
                host,
                client,
                bare,
                retry: options.retry,
                known_blobs: Mutex::new(HashMap::new()),
                referrers_api: Mutex::new(HashMap::new()),
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

    fn redact(&self, message: &str) -> String {
        self.inner.access.redact(message)
    }
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

/// One operation on a repository: what it needs the registry to allow,
/// and its names for messages.
struct Op<'a> {
    access: Access<'a>,
    /// `pull manifest`, `push blob`, ...
    operation: &'static str,
    /// `manifest`, `blob`, ... (what a 404 did not find).
    what: &'static str,
    /// `:tag` or `@digest`, after the repository in messages.
    at: &'a str,
    /// A manifest or tag read: oci-client registers the credentials passed
    /// to these calls itself, so they cannot go through the bare client.
    catalog: bool,
}

impl<'a> Op<'a> {
    fn pull(operation: &'static str, what: &'static str, at: &'a str) -> Self {
        Self { access: Access::Pull, operation, what, at, catalog: false }
    }

    fn push(operation: &'static str, what: &'static str, at: &'a str) -> Self {
        Self { access: Access::Push, operation, what, at, catalog: false }
    }

    fn catalog(operation: &'static str, what: &'static str, at: &'a str) -> Self {
        Self { catalog: true, ..Self::pull(operation, what, at) }
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

    /// Run one oci-client call on its own task, with the credentials `op`
    /// needs registered first: basic credentials as the client's own, a
    /// bearer token placed in its token cache for this repository and
    /// operation; no credentials at all for content requests to an open
    /// registry, through the bare client (with anonymous credentials
    /// registered, oci-client would ask `GET /v2/` before each one: two
    /// round trips per blob). oci-client 0.18 can panic on a hostile
    /// answer; on its own task that panic becomes an error here instead of
    /// bringing the caller down.
    async fn guarded<T, F, Fut>(&self, op: &Op<'_>, reference: &Reference, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(oci_client::Client, Reference, RegistryAuth) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>> + Send + 'static,
    {
        let inner = &self.registry.inner;
        // For a token registry the client's own credentials stay anonymous:
        // should it ever miss the seeded token (a token whose `exp` our clock
        // has passed), its fallback is an anonymous token for this very
        // repository, never another repository's or a password.
        let authorization = inner.access.authorization(&self.name, op.access).await?;
        let bare = matches!(authorization, Authorization::Anonymous) && !op.catalog;
        let (stored, token) = match authorization {
            Authorization::Anonymous => (RegistryAuth::Anonymous, None),
            Authorization::Basic { username, password } => (RegistryAuth::Basic(username, password.expose_secret().to_string()), None),
            Authorization::Bearer(token) => (RegistryAuth::Anonymous, Some(RegistryAuth::Bearer(token.expose_secret().to_string()))),
        };
        let client = if bare { inner.bare.clone() } else { inner.client.clone() };
        let registry = reference.resolve_registry().to_string();
        let fut = f(client.clone(), reference.clone(), stored.clone());
        let (reference, operation) = (reference.clone(), op.access.operation());
        let joined = tokio::spawn(async move {
            if !bare {
                client.store_auth_if_needed(&registry, &stored).await;
            }
            if let Some(token) = token {
                // A bearer token is cached without a request; this cannot fail.
                let _ = client.auth(&reference, &token, operation).await;
            }
            fut.await
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|e| self.error(op.operation, op.what, op.at, e)),
            Err(_) => Err(Error::Protocol {
                location: format!("{}{}", self.location(), op.at),
                operation: op.operation,
                reason: "the registry client failed on the registry's answer (panicked)".into(),
            }),
        }
    }

    /// One registry call, retried with backoff on transient failures. `f`
    /// gets the client, the reference and the credentials, owned.
    async fn call<T, F, Fut>(&self, op: Op<'_>, reference: &Reference, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(oci_client::Client, Reference, RegistryAuth) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, OciDistributionError>> + Send + 'static,
    {
        self.registry.inner.retry.run(|| self.guarded(&op, reference, &f), |_, _, _| {}).await
    }

    /// `GET /v2/<name>/manifests/<tag or digest>`, by our own request:
    /// one round trip (oci-client asks `GET /v2/` first each time on a
    /// registry open to anonymous access), the body read bounded by
    /// [`MAX_MANIFEST_SIZE`] as it arrives.
    async fn pull_manifest(&self, reference: &str, expected: Option<&Digest>, what: &'static str, at: &str) -> Result<RawManifest> {
        let inner = &self.registry.inner;
        let op = Op::pull("pull manifest", what, at);
        let location = format!("{}{at}", self.location());
        let url = format!("{}/v2/{}/manifests/{reference}", inner.access.base(), self.name);
        let (header, bytes) = inner
            .retry
            .run(
                || async {
                    let authorization = inner.access.authorization(&self.name, op.access).await?;
                    let request = inner.access.http().get(&url).header(http::header::ACCEPT, media_type::ALL_MANIFESTS.join(", "));
                    let response = authorization.apply(request).send().await.map_err(|e| self.http_error(&op, e))?;
                    let status = response.status();
                    if status == http::StatusCode::NOT_FOUND {
                        return Err(Error::NotFound { location: location.clone(), what });
                    }
                    let header = response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(String::from);
                    let body = self.bounded_body(&op, response, MAX_MANIFEST_SIZE).await?;
                    if !status.is_success() {
                        return Err(self.status_error(&op, status, &body));
                    }
                    Ok((header, body))
                },
                |_, _, _| {},
            )
            .await?;
        let manifest = RawManifest::from_bytes(&location, bytes, None, expected)?;
        // The registry's Docker-Content-Digest, when it sends one, must
        // agree with the content.
        if let Some(header) = header.filter(|h| h.parse::<Digest>().ok().as_ref() != Some(manifest.digest())) {
            return Err(Error::Protocol {
                location,
                operation: "pull manifest",
                reason: format!("registry says {header}, content hashes to {}", manifest.digest()),
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
            .call(Op::pull("pull blob", "blob", &at), &reference, |c, r, _| {
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
        self.guarded(&Op::push("push blob", "blob", &at), &reference, |client, reference, _| async move {
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
        self.pull_manifest(tag.as_str(), None, "tag", &format!(":{tag}")).await
    }

    async fn get_manifest(&self, digest: &Digest) -> Result<RawManifest> {
        self.pull_manifest(&digest.to_string(), Some(digest), "manifest", &format!("@{digest}")).await
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
            .call(Op::pull("check blob", "blob", &at), &reference, |c, r, _| {
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
        let from = Reference::with_digest(self.registry.inner.host.clone(), source.clone(), descriptor.digest.to_string());
        // A registry that cannot mount answers 202 and opens an upload;
        // oci-client reports that as an error, and we upload instead.
        let digest = descriptor.digest.to_string();
        let at = format!("@{digest}");
        let op = Op {
            access: Access::Mount { from: &source },
            operation: "mount blob",
            what: "blob",
            at: &at,
            catalog: false,
        };
        let mounted = self
            .guarded(&op, &target, |client, target, _| async move { client.mount_blob(&target, &from, &digest).await })
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
        self.call(Op::push("push manifest", "manifest", &at), &reference, |c, r, _| {
            let (bytes, content_type) = (bytes.clone(), content_type.clone());
            async move { c.push_manifest_raw(&r, bytes, content_type).await }
        })
        .await?;
        if let Some(subject) = manifest.manifest().subject() {
            self.learn_referrers_api(&subject.digest).await?;
        }
        Ok(())
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        const PAGE: usize = 1000;
        let reference = self.reference_tag("latest");
        let mut tags = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .call(Op::catalog("list tags", "repository", ""), &reference, |c, r, auth| {
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
        let at = format!("@{digest}");
        let op = Op::pull("list referrers", "referrers", &at);
        let mut url = format!("{}/v2/{}/referrers/{digest}", self.registry.inner.access.base(), self.name);
        let mut found: BTreeMap<Digest, Descriptor> = BTreeMap::new();
        for _ in 0..MAX_REFERRER_PAGES {
            // 404: no referrers API (distribution 2.x); the tag-schema
            // fallback is store::attachments' to read.
            let Some((headers, listing)) = self.get_referrers_page(&op, &url).await? else {
                return Ok(Vec::new());
            };
            for desc in listing.manifests.unwrap_or_default() {
                found.entry(desc.digest.clone()).or_insert(desc);
            }
            if found.len() > MAX_REFERRERS {
                return Err(Error::Limit {
                    location: format!("{}{at}", self.location()),
                    reason: format!("more than {MAX_REFERRERS} referrers"),
                });
            }
            match self.next_page(&op, &headers)? {
                Some(next) => url = next,
                None => return Ok(found.into_values().collect()),
            }
        }
        Err(Error::Limit {
            location: format!("{}{at}", self.location()),
            reason: format!("more than {MAX_REFERRER_PAGES} pages of referrers"),
        })
    }

    fn indexes_referrers(&self) -> bool {
        // Learnt by put_manifest when it pushed a manifest with a subject,
        // which put_referrer does before asking; unknown means no.
        let known = self.registry.inner.referrers_api.lock().unwrap_or_else(|p| p.into_inner());
        known.get(&self.name).copied().unwrap_or(false)
    }
}

/// Pages of a referrers listing followed at most.
const MAX_REFERRER_PAGES: usize = 100;
/// Referrers of one subject accepted at most.
const MAX_REFERRERS: usize = 10_000;

/// A referrers API answer: an image index whose `manifests` olareg sends
/// as `null` when there are none.
#[derive(serde::Deserialize)]
struct ReferrersListing {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Repository {
    /// One page of `GET /v2/<name>/referrers/<digest>`, bounded like a
    /// manifest; `None` when the registry has no referrers API (404).
    async fn get_referrers_page(&self, op: &Op<'_>, url: &str) -> Result<Option<(http::HeaderMap, ReferrersListing)>> {
        let inner = &self.registry.inner;
        let location = format!("{}{}", self.location(), op.at);
        let fetched = inner
            .retry
            .run(
                || async {
                    let authorization = inner.access.authorization(&self.name, op.access).await?;
                    let request = inner.access.http().get(url).header(http::header::ACCEPT, media_type::OCI_INDEX);
                    let response = authorization.apply(request).send().await.map_err(|e| self.http_error(op, e))?;
                    let status = response.status();
                    if status == http::StatusCode::NOT_FOUND {
                        return Ok(None);
                    }
                    let headers = response.headers().clone();
                    let body = self.bounded_body(op, response, MAX_MANIFEST_SIZE).await?;
                    if !status.is_success() {
                        return Err(self.status_error(op, status, &body));
                    }
                    Ok(Some((headers, body)))
                },
                |_, _, _| {},
            )
            .await?;
        let Some((headers, body)) = fetched else { return Ok(None) };
        let listing = serde_json::from_slice(&body).map_err(|e| Error::Protocol {
            location,
            operation: op.operation,
            reason: format!("the referrers listing is not an image index: {e}"),
        })?;
        Ok(Some((headers, listing)))
    }

    /// The `Link: <…>; rel="next"` of a paginated listing, on this
    /// registry only: the request carries its credentials.
    fn next_page(&self, op: &Op<'_>, headers: &http::HeaderMap) -> Result<Option<String>> {
        let base = self.registry.inner.access.base();
        for value in headers.get_all(http::header::LINK) {
            let Ok(value) = value.to_str() else { continue };
            for link in value.split(',') {
                let Some((target, params)) = link.trim().strip_prefix('<').and_then(|l| l.split_once('>')) else { continue };
                if !params.split(';').any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next")) {
                    continue;
                }
                if target.starts_with('/') {
                    return Ok(Some(format!("{base}{target}")));
                }
                if target.strip_prefix(base).is_some_and(|rest| rest.starts_with('/')) {
                    return Ok(Some(target.to_string()));
                }
                return Err(Error::Protocol {
                    location: format!("{}{}", self.location(), op.at),
                    operation: op.operation,
                    reason: format!("the next page of referrers is on another server ({target:?})"),
                });
            }
        }
        Ok(None)
    }

    /// After pushing a manifest with `subject`: does the registry list it
    /// through the referrers API? Asked once per repository (a 200 with an
    /// image index: yes; 404: no), as the `OCI-Subject` header that would
    /// say so per push is hidden by oci-client.
    async fn learn_referrers_api(&self, subject: &Digest) -> Result<()> {
        let known = |name: &str| {
            let known = self.registry.inner.referrers_api.lock().unwrap_or_else(|p| p.into_inner());
            known.contains_key(name)
        };
        if known(&self.name) {
            return Ok(());
        }
        let at = format!("@{subject}");
        let op = Op::pull("probe referrers API", "referrers", &at);
        let url = format!("{}/v2/{}/referrers/{subject}", self.registry.inner.access.base(), self.name);
        let supported = self.get_referrers_page(&op, &url).await?.is_some();
        let mut known = self.registry.inner.referrers_api.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(self.name.clone(), supported);
        Ok(())
    }

    async fn bounded_body(&self, op: &Op<'_>, mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.http_error(op, e))? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(Error::ManifestTooLarge {
                    location: format!("{}{}", self.location(), op.at),
                    size: (body.len() + chunk.len()) as u64,
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn http_error(&self, op: &Op<'_>, e: reqwest::Error) -> Error {
        Error::Registry {
            registry: self.registry.inner.host.clone(),
            repository: self.name.clone(),
            operation: op.operation,
            status: e.status().map(|s| s.as_u16()),
            transient: e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            message: self.registry.redact(&crate::error_chain(&e)),
        }
    }

    fn status_error(&self, op: &Op<'_>, status: http::StatusCode, body: &[u8]) -> Error {
        let code = status.as_u16();
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Error::Registry {
            registry: self.registry.inner.host.clone(),
            repository: self.name.clone(),
            operation: op.operation,
            status: Some(code),
            transient: code >= 500 || code == 429,
            message: self.registry.redact(&format!("HTTP {status}: {}", text.trim())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let auth = Auth::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
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
