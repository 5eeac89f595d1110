//! The docker credential helper protocol, `get` only: run
//! `docker-credential-NAME get`, write the server URL on its standard
//! input, read `{"ServerURL", "Username", "Secret"}` from its standard
//! output. A `Username` of `<token>` means `Secret` is an identity token.
//!
//! What a helper prints is treated as secret whatever it is: its answer
//! holds the credentials, and its error message may too. Neither ever
//! reaches an error message; its standard error is discarded.

use super::Auth;
use secrecy::SecretString;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A helper that has not answered by then is killed: a prompt nobody sees
/// must not hang a bundle run forever.
const TIMEOUT: Duration = Duration::from_secs(60);
/// More than any credentials take.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;
/// What docker-credential-helpers print when they hold nothing for a
/// server (`credentials.ErrCredentialsNotFound`).
const NOT_FOUND: &str = "credentials not found in native keychain";
/// The `Username` by which a helper says `Secret` is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// What a helper said.
#[derive(Debug)]
pub(super) enum HelperAnswer {
    /// Credentials for the server.
    Found(Auth),
    /// The helper holds none for it.
    NotFound,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Run `docker-credential-NAME get` for `server_url`. The error is a
/// reason without anything the helper printed.
pub(super) fn get(name: &str, server_url: &str) -> Result<HelperAnswer, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{program} is not installed (not found on PATH)"),
            _ => format!("{program} could not be started: {e}"),
        })?;
    // A helper that exits without reading its input closes the pipe; its
    // exit status then says what happened.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server_url.as_bytes());
    }
    let mut stdout = child.stdout.take().ok_or_else(|| "no standard output".to_string())?;
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = (&mut stdout).take(MAX_ANSWER_BYTES + 1).read_to_end(&mut bytes);
        read.map(|_| bytes)
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not answer within {} s (killed)", TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("waiting for it failed: {e}")),
        }
    };
    let bytes = reader
        .join()
        .map_err(|_| "reading its answer failed".to_string())?
        .map_err(|e| format!("reading its answer failed: {e}"))?;
    if bytes.len() as u64 > MAX_ANSWER_BYTES {
        return Err(format!("answered more than {MAX_ANSWER_BYTES} bytes"));
    }
    if !status.success() {
        if String::from_utf8_lossy(&bytes).trim() == NOT_FOUND {
            return Ok(HelperAnswer::NotFound);
        }
        return Err(format!(
            "`{program} get` failed ({status}); its output is not shown as it may hold secrets: run `printf %s {server_url} | {program} get` to see it"
        ));
    }
    let answer: Answer = serde_json::from_slice(&bytes).map_err(|_| "answered something other than its JSON credentials (not shown)".to_string())?;
    Ok(match (answer.username.as_str(), answer.secret) {
        // docker reads an empty answer as no credentials.
        ("", secret) if secret.is_empty() => HelperAnswer::NotFound,
        ("", _) => return Err("answered a secret without a username".into()),
        (TOKEN_USERNAME, secret) if secret.is_empty() => return Err("answered an empty identity token".into()),
        (TOKEN_USERNAME, secret) => HelperAnswer::Found(Auth::IdentityToken { token: SecretString::from(secret) }),
        (username, secret) => HelperAnswer::Found(Auth::Basic {
            username: username.to_string(),
            password: SecretString::from(secret),
        }),
    })
}
