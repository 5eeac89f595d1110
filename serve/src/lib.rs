//! A read-only OCI distribution registry in front of any [`oci::Store`]:
//! what `airlock serve` runs over a verified bundle or a layout written by
//! `airlock load --to dir:`.
//!
//! - Pull API (distribution spec): `GET/HEAD /v2/`, manifests by tag and by
//!   digest (`Content-Type` as stored, `Docker-Content-Digest`), blobs
//!   (streamed, re-verified while read: a blob that no longer matches its
//!   digest breaks the response instead of completing it), `tags/list`
//!   with `n`/`last` paging, `referrers/<digest>` with the `artifactType`
//!   filter, and `_catalog`.
//! - Everything else (pushes, deletes, uploads, any method but GET and
//!   HEAD) is refused with `405` and the spec's `UNSUPPORTED` error.
//! - Content is scoped per repository as a registry scopes it: a manifest
//!   or blob is served only under the repositories whose tags reach it
//!   ([`Catalog`]). Names are looked up, never used as paths.
//! - Optional HTTP basic auth against bcrypt `htpasswd` entries
//!   ([`Htpasswd`]); optional TLS (rustls). Whether plain HTTP may listen
//!   beyond loopback is the caller's decision, checked by [`check_listen`].
//!
//! The library never prints; the binary reports the address it listens on.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod catalog;
mod http;

pub use auth::Htpasswd;
pub use catalog::Catalog;
pub use http::{serve, ServeOptions};

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be read while building the catalog.
    #[error(transparent)]
    Store(#[from] oci::Error),
    /// An htpasswd file is unusable.
    #[error("htpasswd {path}: {reason}")]
    Htpasswd {
        /// The file.
        path: String,
        /// What is wrong (never the hash or a password).
        reason: String,
    },
    /// TLS material is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// Listening as asked would be unsafe.
    #[error("{0}")]
    Refused(String),
    /// Socket errors.
    #[error("{0}: {1}")]
    Io(&'static str, #[source] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Plain HTTP is only for loopback unless explicitly allowed.
pub fn check_listen(address: &std::net::SocketAddr, tls: bool, insecure_http: bool) -> Result<()> {
    if tls || insecure_http || address.ip().is_loopback() {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "listening on {address} beyond loopback needs TLS (--tls-cert and --tls-key), or --insecure-http to serve in clear"
        )))
    }
}

/// A rustls server configuration from PEM files (certificate chain, key).
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<std::sync::Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| Error::Tls(format!("{}: {e}", key.display())))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(std::sync::Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_beyond_loopback_needs_an_explicit_choice() {
        let lan: std::net::SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert!(check_listen(&lan, false, false).unwrap_err().to_string().contains("needs TLS"));
        assert!(check_listen(&lan, true, false).is_ok());
        assert!(check_listen(&lan, false, true).is_ok());
        assert!(check_listen(&"127.0.0.1:0".parse().unwrap(), false, false).is_ok());
        assert!(check_listen(&"[::1]:0".parse().unwrap(), false, false).is_ok());
    }
}
