//! What a request to one registry carries: the registry's challenge,
//! learned once from `GET /v2/`, answered with the credentials airlock
//! has for it.
//!
//! - `200` (no challenge): nothing.
//! - `Basic`: the user name and password, on every request.
//! - `Bearer realm=…,service=…`: the token flow of the distribution spec
//!   (Docker Hub, GHCR, Harbor, distribution's `auth.token`). A token per
//!   set of scopes comes from the realm: `GET ?service=…&scope=…` with the
//!   basic credentials (or none, for an anonymous token), or, for an
//!   identity token, the OAuth2 `POST` (`grant_type=refresh_token`) as
//!   docker and go-containerregistry send it. A token is reused until
//!   shortly before its `expires_in` runs out. A cross-repository mount
//!   asks for `pull` on the source repository beside `pull,push` on the
//!   target, so registries can mount instead of taking an upload.
//!
//! oci-client 0.18 has a token flow of its own, but without identity
//! tokens or extra scopes, and it drops token errors (the request then
//! goes anonymously and fails with a bare 401); this one reports them.

use super::Auth;
use secrecy::{ExposeSecret, SecretString};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The OAuth2 client ID sent with identity tokens.
const CLIENT_ID: &str = "airlock";
/// A token answer is a few kilobytes; a JWT with many grants stays far below.
const MAX_TOKEN_ANSWER_BYTES: usize = 1024 * 1024;
/// A token is renewed this long before it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(30);
/// The distribution spec's default for a token without `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// What a registry asked for on `GET /v2/`.
#[derive(Debug, Clone)]
enum Challenge {
    Open,
    Basic,
    Bearer { realm: reqwest::Url, service: Option<String> },
}

/// What a request is for, which decides the token's scopes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Access<'a> {
    /// Read.
    Pull,
    /// Write (and read).
    Push,
    /// Write, mounting blobs from the repository `from`.
    Mount { from: &'a str },
}

impl Access<'_> {
    /// oci-client's name for it, under which it caches tokens.
    pub(super) fn operation(self) -> oci_client::RegistryOperation {
        match self {
            Access::Pull => oci_client::RegistryOperation::Pull,
            Access::Push | Access::Mount { .. } => oci_client::RegistryOperation::Push,
        }
    }

    fn scopes(self, repository: &str) -> Vec<String> {
        match self {
            Access::Pull => vec![format!("repository:{repository}:pull")],
            Access::Push => vec![format!("repository:{repository}:pull,push")],
            Access::Mount { from } => vec![format!("repository:{repository}:pull,push"), format!("repository:{from}:pull")],
        }
    }
}

/// The credentials one request carries.
#[derive(Debug, Clone)]
pub(super) enum Authorization {
    /// None.
    Anonymous,
    /// HTTP basic auth.
    Basic { username: String, password: SecretString },
    /// A bearer token from the registry's token server.
    Bearer(SecretString),
}

impl Authorization {
    /// `request` with these credentials.
    pub(super) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Authorization::Anonymous => request,
            Authorization::Basic { username, password } => request.basic_auth(username, Some(password.expose_secret())),
            Authorization::Bearer(token) => request.bearer_auth(token.expose_secret()),
        }
    }
}

#[derive(Clone)]
struct Token {
    value: SecretString,
    renew_at: Instant,
}

/// One registry's challenge, credentials and tokens.
pub(super) struct Authenticator {
    http: reqwest::Client,
    /// `http(s)://host[:port]`, the registry's API base.
    base: String,
    host: String,
    credential: Auth,
    challenge: tokio::sync::OnceCell<Challenge>,
    /// Held while a token is fetched, so concurrent requests wait for one
    /// answer instead of each asking.
    fetching: tokio::sync::Mutex<()>,
    /// Scopes (joined) → token. Never held across an await.
    tokens: Mutex<HashMap<String, Token>>,
}

impl Authenticator {
    pub(super) fn new(http: reqwest::Client, base: String, host: String, credential: Auth) -> Self {
        Self {
            http,
            base,
            host,
            credential,
            challenge: tokio::sync::OnceCell::new(),
            fetching: tokio::sync::Mutex::new(()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The HTTP client, for requests oci-client cannot make.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The registry's API base URL.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// `message` with every secret this registry knows replaced: the
    /// password, the identity token, the basic header, the tokens.
    pub(super) fn redact(&self, message: &str) -> String {
        let mut secrets: Vec<String> = match &self.credential {
            Auth::Anonymous => Vec::new(),
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let pair = format!("{username}:{}", password.expose_secret());
                vec![password.expose_secret().to_string(), base64::engine::general_purpose::STANDARD.encode(pair)]
            }
            Auth::IdentityToken { token } => vec![token.expose_secret().to_string()],
        };
        if let Ok(tokens) = self.tokens.lock() {
            secrets.extend(tokens.values().map(|t| t.value.expose_secret().to_string()));
        }
        let mut out = message.to_string();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(secret.as_str(), "<redacted>");
        }
        out
    }

    /// The credentials a request to `repository` for `access` carries.
    pub(super) async fn authorization(&self, repository: &str, access: Access<'_>) -> Result<Authorization> {
        let challenge = self.challenge.get_or_try_init(|| self.discover(repository)).await?;
        match (challenge, &self.credential) {
            (Challenge::Open, _) | (Challenge::Basic, Auth::Anonymous) => Ok(Authorization::Anonymous),
            (Challenge::Basic, Auth::Basic { username, password }) => Ok(Authorization::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            (Challenge::Basic, Auth::IdentityToken { .. }) => Err(self.refused(
                repository,
                Some(401),
                "the registry asks for basic auth, and the configured identity token can only be exchanged at a token server".into(),
            )),
            (Challenge::Bearer { realm, service }, _) => {
                let token = self.token(repository, realm, service.as_deref(), access.scopes(repository)).await?;
                Ok(Authorization::Bearer(token))
            }
        }
    }

    async fn discover(&self, repository: &str) -> Result<Challenge> {
        let url = format!("{}/v2/", self.base);
        let response = self.http.get(&url).send().await.map_err(|e| self.transport(repository, "connect", e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Challenge::Open);
        }
        if status != reqwest::StatusCode::UNAUTHORIZED {
            return Err(self.status_error(repository, status, format!("GET {url} answered {status}")));
        }
        let mut basic = false;
        for value in response.headers().get_all(reqwest::header::WWW_AUTHENTICATE) {
            let Ok(value) = value.to_str() else { continue };
            let Ok(challenges) = http_auth::parse_challenges(value) else { continue };
            for challenge in challenges {
                if challenge.scheme.eq_ignore_ascii_case("bearer") {
                    return self.bearer(repository, &challenge);
                }
                basic |= challenge.scheme.eq_ignore_ascii_case("basic");
            }
        }
        if basic {
            return Ok(Challenge::Basic);
        }
        Err(self.protocol(repository, "answered 401 without a Basic or Bearer challenge airlock can answer".into()))
    }

    fn bearer(&self, repository: &str, challenge: &http_auth::ChallengeRef<'_>) -> Result<Challenge> {
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        let realm = param("realm").ok_or_else(|| self.protocol(repository, "Bearer challenge without a realm".into()))?;
        let realm = reqwest::Url::parse(&realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| self.protocol(repository, format!("Bearer realm {realm:?} is not an http(s) URL")))?;
        Ok(Challenge::Bearer {
            realm,
            service: param("service"),
        })
    }

    async fn token(&self, repository: &str, realm: &reqwest::Url, service: Option<&str>, scopes: Vec<String>) -> Result<SecretString> {
        let key = scopes.join(" ");
        let cached = || {
            let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            tokens.get(&key).filter(|t| Instant::now() < t.renew_at).map(|t| t.value.clone())
        };
        if let Some(token) = cached() {
            return Ok(token);
        }
        let _one_at_a_time = self.fetching.lock().await;
        if let Some(token) = cached() {
            return Ok(token);
        }
        let token = self.fetch(repository, realm, service, &scopes).await?;
        let value = token.value.clone();
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(key, token);
        Ok(value)
    }

    async fn fetch(&self, repository: &str, realm: &reqwest::Url, service: Option<&str>, scopes: &[String]) -> Result<Token> {
        let request = match &self.credential {
            Auth::IdentityToken { token } => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", token.expose_secret())
                    .append_pair("client_id", CLIENT_ID)
                    .append_pair("scope", &scopes.join(" "));
                if let Some(service) = service {
                    form.append_pair("service", service);
                }
                self.http
                    .post(realm.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            credential => {
                let mut url = realm.clone();
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    for scope in scopes {
                        query.append_pair("scope", scope);
                    }
                }
                let request = self.http.get(url);
                match credential {
                    Auth::Basic { username, password } => request.basic_auth(username, Some(password.expose_secret())),
                    _ => request,
                }
            }
        };
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| self.transport(repository, "authenticate", e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(repository, "authenticate", e))? {
            if body.len() + chunk.len() > MAX_TOKEN_ANSWER_BYTES {
                return Err(self.protocol(repository, format!("token server answered more than {MAX_TOKEN_ANSWER_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let realm_shown = format!("{}{}", realm.origin().ascii_serialization(), realm.path());
        if !status.is_success() {
            let who = match &self.credential {
                Auth::Anonymous => "an anonymous token (no credentials are configured for this registry)",
                Auth::Basic { .. } => "a token for the configured user name and password",
                Auth::IdentityToken { .. } => "a token for the configured identity token",
            };
            return Err(self.status_error(repository, status, format!("token server {realm_shown} refused {who} for {scopes:?}: HTTP {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|_| self.protocol(repository, format!("token server {realm_shown} answered something other than a token")))?;
        let value = answer
            .token
            .filter(|t| !t.is_empty())
            .or(answer.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| self.protocol(repository, format!("token server {realm_shown} answered without a token")))?;
        if reqwest::header::HeaderValue::from_str(&format!("Bearer {value}")).is_err() {
            return Err(self.protocol(repository, format!("token server {realm_shown} answered a token that is not a valid header value")));
        }
        let lifetime = answer.expires_in.map_or(DEFAULT_LIFETIME, |s| Duration::from_secs(s.min(24 * 3600)));
        Ok(Token {
            value: SecretString::from(value),
            renew_at: started + lifetime.saturating_sub(RENEW_MARGIN),
        })
    }

    fn transport(&self, repository: &str, operation: &'static str, e: reqwest::Error) -> Error {
        Error::Registry {
            registry: self.host.clone(),
            repository: repository.to_string(),
            operation,
            status: e.status().map(|s| s.as_u16()),
            transient: e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            message: self.redact(&crate::error_chain(&e)),
        }
    }

    fn status_error(&self, repository: &str, status: reqwest::StatusCode, message: String) -> Error {
        let code = status.as_u16();
        Error::Registry {
            registry: self.host.clone(),
            repository: repository.to_string(),
            operation: "authenticate",
            status: Some(code),
            transient: code >= 500 || code == 429,
            message: self.redact(&message),
        }
    }

    fn refused(&self, repository: &str, status: Option<u16>, message: String) -> Error {
        Error::Registry {
            registry: self.host.clone(),
            repository: repository.to_string(),
            operation: "authenticate",
            status,
            transient: false,
            message,
        }
    }

    fn protocol(&self, repository: &str, reason: String) -> Error {
        Error::Protocol {
            location: format!("{}/{repository}", self.host),
            operation: "authenticate",
            reason: self.redact(&reason),
        }
    }
}
