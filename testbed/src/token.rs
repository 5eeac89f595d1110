//! A registry token server on 127.0.0.1, the other half of distribution's
//! `auth.token` (what Docker Hub, GHCR and Harbor put in front of their
//! registries): it issues JWTs signed (RS256, `openssl dgst`) by a key
//! whose self-signed certificate is the registry's `rootcertbundle`, with
//! the certificate in the token's `x5c` header.
//!
//! It grants whatever repository scopes are asked for, to
//! - `GET /token?service=…&scope=…` with the right basic credentials, and
//! - `POST /token` with `grant_type=refresh_token` and the right refresh
//!   token (the OAuth2 form docker sends for identity tokens),
//!
//! and answers 401 to anything else, anonymous requests included. Every
//! request is recorded ([`TokenServer::requests`]).

use crate::{base64_lite, require, run};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `service` the registry and the token server agree on.
pub const SERVICE: &str = "airlock-test-registry";
/// The `iss` of the tokens.
pub const ISSUER: &str = "airlock-test-token-issuer";

/// How a token request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// No credentials.
    Anonymous,
    /// HTTP basic auth with this user name (`GET`).
    Basic(String),
    /// `grant_type=refresh_token` (`POST`).
    RefreshToken,
    /// Something else (a `POST` with another grant type).
    Other(String),
}

/// One request the token server answered.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// How it authenticated.
    pub grant: Grant,
    /// The scopes asked for, each `repository:NAME:ACTIONS`.
    pub scopes: Vec<String>,
    /// Whether a token was issued.
    pub issued: bool,
}

struct Config {
    user: String,
    password: String,
    refresh_token: String,
    key: PathBuf,
    cert_der: Vec<u8>,
    requests: Mutex<Vec<TokenRequest>>,
    serial: AtomicU64,
}

/// The token server, stopped on drop.
pub struct TokenServer {
    port: u16,
    dir: tempfile::TempDir,
    config: Arc<Config>,
    stop: Arc<AtomicBool>,
}

impl TokenServer {
    /// Start a token server granting `user`/`password` (basic) and
    /// `refresh_token` (an identity token).
    pub fn start(user: &str, password: &str, refresh_token: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("airlock-token-").tempdir().expect("tempdir");
        let (key, cert) = (dir.path().join("token.key"), dir.path().join("token.pem"));
        run(Command::new(require("openssl"))
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
            .args(["-subj", &format!("/CN={ISSUER}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = Command::new(require("openssl")).args(["x509", "-outform", "DER", "-in"]).arg(&cert).output().expect("openssl x509");
        assert!(der.status.success(), "openssl x509 -outform DER failed");
        let config = Arc::new(Config {
            user: user.to_string(),
            password: password.to_string(),
            refresh_token: refresh_token.to_string(),
            key,
            cert_der: der.stdout,
            requests: Mutex::new(Vec::new()),
            serial: AtomicU64::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token server");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&config), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    let _ = serve(&shared, stream);
                }
            }
        });
        Self { port, dir, config, stop }
    }

    /// The realm: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The certificate the registry trusts tokens by (`rootcertbundle`).
    pub fn root_cert(&self) -> PathBuf {
        self.dir.path().join("token.pem")
    }

    /// The basic credentials it grants.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.config.user, &self.config.password)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.config.requests.lock().expect("requests").clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(config: &Config, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let (mut authorization, mut length) = (None, 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_string()),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default());
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let (grant, scopes) = if method == "POST" {
        let form = parse_form(&String::from_utf8_lossy(&body));
        let grant = match form.iter().find(|(k, _)| k == "grant_type").map(|(_, v)| v.as_str()) {
            Some("refresh_token") if form.iter().any(|(k, v)| k == "refresh_token" && *v == config.refresh_token) => Grant::RefreshToken,
            other => Grant::Other(other.unwrap_or_default().to_string()),
        };
        (grant, scopes_of(&form))
    } else {
        let grant = match authorization.as_deref().and_then(|a| a.strip_prefix("Basic ")).and_then(|b| base64_lite::decode(b.trim())) {
            Some(pair) if pair == format!("{}:{}", config.user, config.password).into_bytes() => Grant::Basic(config.user.clone()),
            Some(_) => Grant::Other("wrong basic credentials".into()),
            None => Grant::Anonymous,
        };
        (grant, scopes_of(&parse_form(query)))
    };
    let issued = matches!(grant, Grant::Basic(_) | Grant::RefreshToken);
    config.requests.lock().expect("requests").push(TokenRequest {
        method,
        grant: grant.clone(),
        scopes: scopes.clone(),
        issued,
    });
    let mut stream = stream;
    if !issued {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        return write!(stream, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    }
    let subject = match grant {
        Grant::Basic(user) => user,
        _ => "identity-token-holder".to_string(),
    };
    let token = sign_token(config, &subject, &scopes);
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// `scope` values, each possibly a space-separated list.
fn scopes_of(form: &[(String, String)]) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn parse_form(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

/// A JWT granting `scopes` to `subject`, as distribution 2.8 checks it:
/// issuer, audience (the service), not-before and expiry, the signature by
/// the key of the certificate in `x5c`, which must chain to the registry's
/// `rootcertbundle`.
fn sign_token(config: &Config, subject: &str, scopes: &[String]) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(2, ':');
            let kind = parts.next()?;
            let (name, actions) = parts.next()?.rsplit_once(':')?;
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [base64_lite::encode(&config.cert_der)]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("airlock-{}", config.serial.fetch_add(1, Ordering::SeqCst)),
        "access": access,
    });
    let input = format!("{}.{}", base64_lite::encode_url(header.to_string().as_bytes()), base64_lite::encode_url(claims.to_string().as_bytes()));
    let mut child = Command::new(require("openssl"))
        .args(["dgst", "-sha256", "-sign"])
        .arg(&config.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let mut signature = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut signature).expect("read");
    assert!(child.wait().expect("wait").success(), "openssl dgst -sign failed");
    format!("{input}.{}", base64_lite::encode_url(&signature))
}
