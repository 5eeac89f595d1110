//! The HTTP side: routing the distribution spec's pull endpoints.

use crate::auth::Htpasswd;
use crate::catalog::{Catalog, Repository};
use crate::{Error, Result};
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use oci::{Descriptor, Digest, Store, Tag};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// How to serve.
#[derive(Default)]
pub struct ServeOptions {
    /// TLS, when given.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic auth, when given.
    pub htpasswd: Option<Htpasswd>,
}

struct State<S> {
    store: S,
    catalog: Catalog,
    htpasswd: Option<Arc<Htpasswd>>,
}

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 256;
/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// A TLS handshake must finish within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Page size when a client does not ask for one.
const DEFAULT_PAGE: usize = 1000;

/// Serve `catalog` from `store` on `listener` until the task is dropped.
pub async fn serve<S: Store + 'static>(listener: tokio::net::TcpListener, store: S, catalog: Catalog, options: ServeOptions) -> Result<()> {
    let state = Arc::new(State { store, catalog, htpasswd: options.htpasswd.map(Arc::new) });
    let tls = options.tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = permits.clone().acquire_owned().await.map_err(|_| Error::Refused("server closed".into()))?;
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // A client that vanished mid-accept, or descriptors running
            // out: keep serving the others.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        connection(state, stream).await;
                    }
                }
                None => connection(state, stream).await,
            }
        });
    }
}

async fn connection<S, I>(state: Arc<State<S>>, io: I)
where
    S: Store + 'static,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&state, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

fn base(status: StatusCode) -> http::response::Builder {
    Response::builder().status(status).header("Docker-Distribution-API-Version", "registry/2.0")
}

/// The spec's error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
    base(status)
        .header(CONTENT_TYPE, "application/json")
        .body(full(body))
        .unwrap_or_else(|_| Response::new(empty()))
}

async fn handle<S: Store>(state: &State<S>, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    if let Some(htpasswd) = &state.htpasswd {
        let header = request.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(SecretString::from);
        // bcrypt is slow by design: off the async workers.
        let htpasswd = htpasswd.clone();
        let ok = tokio::task::spawn_blocking(move || htpasswd.check(header.as_ref().map(|h| h.expose_secret()))).await.unwrap_or(false);
        if !ok {
            let mut response = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required");
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"airlock\""));
            return response;
        }
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "this registry is read-only");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let head = method == Method::HEAD;
    let path = request.uri().path().to_string();
    let query: Vec<(String, String)> = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let response = route(state, &path, &query, head).await;
    if head {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, empty());
    }
    response
}

async fn route<S: Store>(state: &State<S>, path: &str, query: &[(String, String)], head: bool) -> Response<Body> {
    let Some(rest) = path.strip_prefix("/v2/").or_else(|| (path == "/v2").then_some("")) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not a registry path");
    };
    if rest.is_empty() {
        return base(StatusCode::OK).header(CONTENT_TYPE, "application/json").body(full("{}")).unwrap_or_else(|_| Response::new(empty()));
    }
    if rest == "_catalog" {
        let names: Vec<&str> = state.catalog.repositories().collect();
        return paged(&names, query, "repositories", None, "/v2/_catalog");
    }
    let (name, endpoint, argument) = if let Some(name) = rest.strip_suffix("/tags/list") {
        (name, "tags", "")
    } else if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        (name, "manifests", reference)
    } else if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        (name, "blobs", digest)
    } else if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        (name, "referrers", digest)
    } else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown endpoint");
    };
    let Some(repo) = state.catalog.repositories.get(name) else {
        return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry");
    };
    match endpoint {
        "tags" => {
            let tags: Vec<&str> = repo.tags.keys().map(Tag::as_str).collect();
            paged(&tags, query, "tags", Some(name), &format!("/v2/{name}/tags/list"))
        }
        "manifests" => manifest(state, repo, argument, head).await,
        "blobs" => blob(state, repo, argument, head).await,
        _ => referrers(repo, argument, query),
    }
}

async fn manifest<S: Store>(state: &State<S>, repo: &Repository, reference: &str, head: bool) -> Response<Body> {
    let digest = match reference.parse::<Digest>() {
        Ok(d) => d,
        Err(_) => match reference.parse::<Tag>().ok().and_then(|t| repo.tags.get(&t)) {
            Some(d) => d.clone(),
            None => return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown"),
        },
    };
    let Some((media_type, size)) = repo.manifests.get(&digest) else {
        return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
    };
    let builder = base(StatusCode::OK)
        .header(CONTENT_TYPE, media_type.as_str())
        .header("Docker-Content-Digest", digest.to_string())
        .header(CONTENT_LENGTH, *size);
    if head {
        return builder.body(empty()).unwrap_or_else(|_| Response::new(empty()));
    }
    // Read whole and verified against its digest before a byte is sent.
    match state.store.get_manifest(&digest).await {
        Ok(m) => builder.body(full(Bytes::copy_from_slice(m.bytes()))).unwrap_or_else(|_| Response::new(empty())),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "the stored manifest cannot be read or no longer matches its digest"),
    }
}

async fn blob<S: Store>(state: &State<S>, repo: &Repository, digest: &str, head: bool) -> Response<Body> {
    let Ok(digest) = digest.parse::<Digest>() else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let size = match (repo.blobs.get(&digest), repo.manifests.get(&digest)) {
        (Some(size), _) | (None, Some((_, size))) => *size,
        _ => return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry"),
    };
    let builder = base(StatusCode::OK)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header("Docker-Content-Digest", digest.to_string())
        .header(CONTENT_LENGTH, size);
    if head {
        return builder.body(empty()).unwrap_or_else(|_| Response::new(empty()));
    }
    let descriptor = Descriptor::new("application/octet-stream", digest, size);
    match state.store.open_blob(&descriptor).await {
        // Verified while streaming: a mismatch fails the body at its end,
        // and the client sees a broken transfer, never a completed one.
        Ok(reader) => {
            let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).map_ok(Frame::data);
            builder.body(BodyExt::boxed_unsync(StreamBody::new(stream))).unwrap_or_else(|_| Response::new(empty()))
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "the stored blob cannot be read"),
    }
}

fn referrers(repo: &Repository, digest: &str, query: &[(String, String)]) -> Response<Body> {
    let Ok(digest) = digest.parse::<Digest>() else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let filter = query.iter().find(|(k, _)| k == "artifactType").map(|(_, v)| v.as_str());
    let manifests: Vec<&Descriptor> = repo
        .referrers
        .get(&digest)
        .into_iter()
        .flatten()
        .filter(|d| filter.is_none_or(|f| d.artifact_type.as_deref() == Some(f)))
        .collect();
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::manifest::media_type::OCI_INDEX,
        "manifests": manifests,
    });
    let mut builder = base(StatusCode::OK).header(CONTENT_TYPE, oci::manifest::media_type::OCI_INDEX);
    if filter.is_some() {
        builder = builder.header("OCI-Filters-Applied", "artifactType");
    }
    builder.body(full(body.to_string())).unwrap_or_else(|_| Response::new(empty()))
}

/// A sorted listing with the spec's `n`/`last` paging and `Link` header.
fn paged(items: &[&str], query: &[(String, String)], field: &str, name: Option<&str>, path: &str) -> Response<Body> {
    let n = match query.iter().find(|(k, _)| k == "n").map(|(_, v)| v.parse::<usize>()) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) => n.min(DEFAULT_PAGE * 10),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID", "invalid number of results requested"),
    };
    let last = query.iter().find(|(k, _)| k == "last").map(|(_, v)| v.as_str());
    let mut sorted: Vec<&str> = items.to_vec();
    sorted.sort_unstable();
    let page: Vec<&str> = sorted.into_iter().filter(|i| last.is_none_or(|l| *i > l)).take(n + 1).collect();
    let more = page.len() > n;
    let page = &page[..page.len().min(n)];
    let mut body = serde_json::Map::new();
    if let Some(name) = name {
        body.insert("name".into(), name.into());
    }
    body.insert(field.into(), page.iter().map(|s| serde_json::Value::from(*s)).collect());
    let mut builder = base(StatusCode::OK).header(CONTENT_TYPE, "application/json");
    if let (true, Some(last)) = (more, page.last()) {
        builder = builder.header("Link", format!("<{path}?n={n}&last={last}>; rel=\"next\""));
    }
    builder.body(full(serde_json::Value::Object(body).to_string())).unwrap_or_else(|_| Response::new(empty()))
}
