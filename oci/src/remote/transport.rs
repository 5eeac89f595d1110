//! How airlock reaches a registry: HTTPS with the system's trust anchors
//! plus an operator's private CA, plain HTTP only for hosts listed as
//! insecure, proxies from the environment.
//!
//! Both HTTP clients of a [`super::Registry`] — oci-client's and the one
//! for token servers and the referrers API — are built from the same
//! [`super::RemoteOptions`] here, so they trust the same CAs and honour
//! the same proxies.
//!
//! - **Trust anchors**: the platform's (on Linux, `SSL_CERT_FILE` /
//!   `SSL_CERT_DIR` when set, else the system store, as
//!   rustls-native-certs reads them), plus [`CaCertificates`].
//! - **Proxies**: reqwest reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`
//!   and `NO_PROXY` (and their lower-case forms) as curl does; neither
//!   client overrides them. A registry on an address `NO_PROXY` names is
//!   reached directly.

use crate::error::{Error, Result};
use std::path::Path;

/// A private CA bundle is a few certificates; this is generous.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Extra trust anchors for registries' TLS certificates (a private CA),
/// trusted beside the system's.
#[derive(Clone, Debug, Default)]
pub struct CaCertificates {
    der: Vec<Vec<u8>>,
}

impl CaCertificates {
    /// Every `CERTIFICATE` in a PEM file. A file that cannot be read,
    /// holds no certificate or a certificate that does not parse is an
    /// error naming it.
    pub fn from_pem_file(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Certificates {
            path: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "read CA certificates", e))?;
        if meta.len() > MAX_CA_FILE_BYTES {
            return Err(bad(format!("larger than {MAX_CA_FILE_BYTES} bytes")));
        }
        let text = std::fs::read(path).map_err(|e| Error::io(path, "read CA certificates", e))?;
        let blocks = pem::parse_many(&text).map_err(|e| bad(format!("not PEM: {e}")))?;
        let mut der = Vec::new();
        for (i, block) in blocks.into_iter().enumerate() {
            if block.tag() != "CERTIFICATE" {
                continue;
            }
            reqwest::Certificate::from_der(block.contents()).map_err(|e| bad(format!("certificate {}: {e}", i + 1)))?;
            der.push(block.into_contents());
        }
        if der.is_empty() {
            return Err(bad("holds no PEM CERTIFICATE".into()));
        }
        Ok(Self { der })
    }

    /// Add `other`'s certificates.
    pub fn extend(&mut self, other: CaCertificates) {
        self.der.extend(other.der);
    }

    /// How many certificates.
    pub fn len(&self) -> usize {
        self.der.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.der.is_empty()
    }

    fn for_oci_client(&self) -> Vec<oci_client::client::Certificate> {
        self.der
            .iter()
            .map(|der| oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Der,
                data: der.clone(),
            })
            .collect()
    }
}

/// The scheme for `registry` (oci-client's name for the host).
pub(super) fn scheme(registry: &str, insecure: &[String]) -> &'static str {
    if insecure.iter().any(|h| h == registry) {
        "http"
    } else {
        "https"
    }
}

/// oci-client's configuration.
pub(super) fn oci_client_config(options: &super::RemoteOptions, insecure: Vec<String>) -> oci_client::client::ClientConfig {
    use oci_client::client::{ClientConfig, ClientProtocol};
    ClientConfig {
        protocol: ClientProtocol::HttpsExcept(insecure),
        use_monolithic_push: true,
        platform_resolver: None,
        connect_timeout: Some(options.connect_timeout),
        read_timeout: Some(options.read_timeout),
        extra_root_certificates: options.ca_certificates.for_oci_client(),
        ..ClientConfig::default()
    }
}

/// The client for token servers and the requests oci-client cannot make.
pub(super) fn http_client(options: &super::RemoteOptions) -> std::result::Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")));
    for der in &options.ca_certificates.der {
        builder = builder.tls_certs_merge([reqwest::Certificate::from_der(der)?]);
    }
    builder.build()
}

