//! Who signed: certificate subject alternative names and the OIDC issuer,
//! matched against what the operator expects.

use crate::{Check, Error, Result};
use der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// Fulcio puts username identities (`user!host`) in an OtherName SAN of
/// this type (see Fulcio's oid-info.md, 1.3.6.1.4.1.57264.1.7).
const FULCIO_USERNAME_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// Longest pattern an operator can give; a policy is not a program.
const MAX_PATTERN_BYTES: usize = 4096;

/// The kind of a subject alternative name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanKind {
    /// rfc822Name: a person's email address.
    Email,
    /// uniformResourceIdentifier: usually a CI workflow.
    Uri,
    /// Fulcio's OtherName username (`user!host`).
    OtherName,
    /// dNSName (private PKI certificates).
    Dns,
}

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct San {
    /// Its kind.
    pub kind: SanKind,
    /// Its value.
    pub value: String,
}

/// Every SAN in a DER certificate that can name a signer.
pub fn subject_alternative_names(certificate_der: &[u8]) -> Result<Vec<San>> {
    let malformed = |e: der::Error| Error::failed(Check::CertificateChain, format!("malformed certificate: {e}"));
    let cert = Certificate::from_der(certificate_der).map_err(malformed)?;
    let Some((_, san)) = cert.tbs_certificate.get::<SubjectAltName>().map_err(malformed)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for name in san.0 {
        let (kind, value) = match name {
            GeneralName::Rfc822Name(v) => (SanKind::Email, v.to_string()),
            GeneralName::UniformResourceIdentifier(v) => (SanKind::Uri, v.to_string()),
            GeneralName::DnsName(v) => (SanKind::Dns, v.to_string()),
            GeneralName::OtherName(other) if other.type_id == FULCIO_USERNAME_OID => {
                let value = other
                    .value
                    .decode_as::<der::asn1::Utf8StringRef<'_>>()
                    .map_err(malformed)?;
                (SanKind::OtherName, value.as_str().to_string())
            }
            _ => continue,
        };
        names.push(San { kind, value });
    }
    Ok(names)
}

/// How an expected value is compared.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The value must equal this string.
    Exact(String),
    /// The value must match this regular expression. As in cosign and
    /// sigstore-go, the match is *unanchored*: write `^…$` to match the
    /// whole value.
    Regex(regex::Regex),
}

impl Matcher {
    /// Match exactly `value`.
    pub fn exact(value: impl Into<String>) -> Self {
        Self::Exact(value.into())
    }

    /// Match the regular expression `pattern` (RE2 syntax, linear time).
    pub fn regex(pattern: &str) -> std::result::Result<Self, regex::Error> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(regex::Error::CompiledTooBig(MAX_PATTERN_BYTES));
        }
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(Self::Regex)
    }

    /// Whether `value` satisfies this matcher.
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => value == expected,
            Self::Regex(re) => re.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "{v:?}"),
            Self::Regex(re) => write!(f, "regexp {:?}", re.as_str()),
        }
    }
}

/// The signer a keyless signature must come from.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// The certificate identity (any SAN may match).
    pub subject: Matcher,
    /// The OIDC issuer recorded by Fulcio.
    pub issuer: Matcher,
}

impl IdentityPolicy {
    /// Check the certificate's SANs and issuer; returns the SAN that matched.
    pub(crate) fn check(&self, sans: &[San], issuer: Option<&str>) -> Result<San> {
        if !issuer.is_some_and(|i| self.issuer.is_match(i)) {
            return Err(Error::IssuerMismatch {
                expected: self.issuer.to_string(),
                actual: issuer.map(str::to_string),
            });
        }
        sans.iter()
            .find(|san| self.subject.is_match(&san.value))
            .cloned()
            .ok_or_else(|| Error::IdentityMismatch {
                expected: self.subject.to_string(),
                actual: sans.iter().map(|s| s.value.clone()).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn san(kind: SanKind, value: &str) -> San {
        San {
            kind,
            value: value.into(),
        }
    }

    #[test]
    fn exact_and_regex_matchers() {
        assert!(Matcher::exact("a@b.c").is_match("a@b.c"));
        assert!(!Matcher::exact("a@b.c").is_match("a@b.cc"));
        let re = Matcher::regex("^https://github.com/org/").unwrap();
        assert!(re.is_match("https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main"));
        assert!(!re.is_match("https://github.com/evil/org/"));
        // Unanchored, as in cosign: a pattern without ^ matches anywhere.
        assert!(Matcher::regex("org").unwrap().is_match("https://github.com/org/"));
        assert!(Matcher::regex("(").is_err());
        assert!(Matcher::regex(&"a".repeat(MAX_PATTERN_BYTES + 1)).is_err());
    }

    #[test]
    fn policy_checks_issuer_then_any_san() {
        let policy = IdentityPolicy {
            subject: Matcher::exact("b@x"),
            issuer: Matcher::exact("https://issuer"),
        };
        let sans = [san(SanKind::Email, "a@x"), san(SanKind::Email, "b@x")];
        assert_eq!(policy.check(&sans, Some("https://issuer")).unwrap().value, "b@x");
        assert!(matches!(
            policy.check(&sans, Some("https://other")),
            Err(Error::IssuerMismatch { .. })
        ));
        assert!(matches!(policy.check(&sans, None), Err(Error::IssuerMismatch { .. })));
        assert!(matches!(
            policy.check(&sans[..1], Some("https://issuer")),
            Err(Error::IdentityMismatch { .. })
        ));
    }
}
