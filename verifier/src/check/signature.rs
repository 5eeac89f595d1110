//! Signature verification: the only caller of the `sigstore-verify` engine.
//!
//! The engine performs, in this order (its `Verifier::verify`): establish
//! verified signing times (RFC 3161 timestamps, Rekor SETs); verify the
//! certificate chain to a trusted Fulcio CA at *every* verified time; verify
//! the SCT; verify inclusion proofs and signed checkpoints; verify the
//! signature (DSSE over its PAE); check the artifact binding; and check that
//! each log entry describes this bundle (CVE-2022-36056). This module asks
//! it for cryptography only, then adds what it lacks: identity matching over
//! every SAN kind with regular expressions, and the optional requirement of
//! an RFC 3161 timestamp. Key-signed bundles with neither a log entry nor a
//! timestamp, which the engine refuses outright, are verified by
//! `unlogged` where the key authority waives the transparency log.

mod unlogged;

use super::identity::{self, IdentityPolicy, San, WorkflowClaims};
use crate::evidence::sigstore::{ContentKind, SigstoreBundle};
use crate::evidence::statement::{Statement, IN_TOTO_PAYLOAD_TYPE};
use crate::{Check, Error, Result, Verified};
use keys::PublicKey;
use sigstore_types::{ArtifactDigest, Bundle, HashAlgorithm};
use sigstore_verify::{Policy, PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult};
use trust_roots::VerifiedTrustRoot;

/// Who may have signed.
#[derive(Debug, Clone)]
pub enum Authority {
    /// A certificate from a trusted Fulcio CA, issued to this identity.
    Keyless(IdentityPolicy),
    /// A public key the site trusts.
    Key(PublicKey),
}

/// What must be present besides a valid signature. The default is strict;
/// relaxations are named `*_unsafe` and show up in [`SignatureFacts::checks`]
/// by their absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    transparency_log: bool,
    sct: bool,
    signed_timestamp: bool,
}

impl Default for Requirements {
    fn default() -> Self {
        Self {
            transparency_log: true,
            sct: true,
            signed_timestamp: false,
        }
    }
}

impl Requirements {
    /// Also require at least one RFC 3161 timestamp from a trusted TSA.
    pub fn require_signed_timestamp(mut self) -> Self {
        self.signed_timestamp = true;
        self
    }

    /// Accept signatures with no transparency-log inclusion proof. A SET
    /// that is present still has to verify before its time is used, but
    /// nothing proves the entry was ever logged.
    pub fn without_transparency_log_unsafe(mut self) -> Self {
        self.transparency_log = false;
        self
    }

    /// Accept certificates without a verifiable SCT (private CAs without a
    /// CT log, such as GitHub's private-repository instance).
    pub fn without_sct_unsafe(mut self) -> Self {
        self.sct = false;
        self
    }

    /// Whether a transparency-log proof is required.
    pub fn transparency_log(&self) -> bool {
        self.transparency_log
    }

    /// Whether a verifiable SCT is required (keyless signatures).
    pub fn sct(&self) -> bool {
        self.sct
    }

    /// Whether an RFC 3161 timestamp is required.
    pub fn signed_timestamp(&self) -> bool {
        self.signed_timestamp
    }
}

/// The artifact a signature must cover.
pub enum Artifact<'a> {
    /// Its bytes.
    Bytes(&'a [u8]),
    /// Its digest, when the bytes are elsewhere (an image manifest, say).
    Digest(oci::Digest),
    /// A stream read to its end in constant memory.
    Reader(Box<dyn std::io::Read + 'a>),
}

/// The verified signer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signer {
    /// A certificate holder.
    Certificate(Box<CertificateIdentity>),
    /// A key holder.
    Key {
        /// `sha256:<hex>` of the key's SubjectPublicKeyInfo.
        fingerprint: String,
    },
}

/// The identity in a verified signing certificate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateIdentity {
    /// The SAN that satisfied the policy.
    pub identity: San,
    /// The OIDC issuer Fulcio recorded.
    pub issuer: Option<String>,
    /// Every SAN in the certificate.
    pub subject_alternative_names: Vec<San>,
    /// CI workload claims (GitHub Actions and others), when present.
    pub workflow: WorkflowClaims,
    /// Certificate validity start.
    pub not_before: jiff::Timestamp,
    /// Certificate validity end.
    pub not_after: jiff::Timestamp,
}

/// A verified transparency-log entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryFacts {
    /// Index in the log.
    pub log_index: u64,
    /// The log's key ID, hex.
    pub log_id: String,
    /// Entry kind (`hashedrekord`, `dsse`, `intoto`).
    pub kind: &'static str,
    /// Entry version.
    pub version: &'static str,
    /// When the log integrated it (Rekor v1; SET-authenticated).
    pub integrated_time: Option<jiff::Timestamp>,
    /// Whether an inclusion proof with a signed checkpoint was verified.
    pub inclusion_proof_verified: bool,
    /// Whether a SET was present (and therefore verified).
    pub inclusion_promise: bool,
}

/// Where a verified signing time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// A Rekor integrated time authenticated by its SET.
    TransparencyLog,
    /// An RFC 3161 timestamp from a trusted TSA.
    TimestampAuthority,
}

impl TimeSource {
    /// The report name of this source.
    pub fn name(self) -> &'static str {
        match self {
            Self::TransparencyLog => "transparency-log",
            Self::TimestampAuthority => "timestamp-authority",
        }
    }
}

/// A verified time at which the signature existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTime {
    /// Its source.
    pub source: TimeSource,
    /// The time.
    pub time: jiff::Timestamp,
}

/// Everything a successful verification established.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureFacts {
    /// The Sigstore bundle media type (after normalisation, for cosign layers).
    pub media_type: &'static str,
    /// Message signature or DSSE envelope.
    pub content: ContentKind,
    /// Who signed.
    pub signer: Signer,
    /// Verified log entries.
    pub log_entries: Vec<LogEntryFacts>,
    /// Verified signing times.
    pub signed_times: Vec<SignedTime>,
    /// The in-toto statement, for DSSE attestations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Statement>,
    /// The checks that ran, in order.
    pub checks: Vec<Check>,
}

/// Verifies signatures against one trusted root. Build once, verify many:
/// construction parses and validates all trust material.
pub struct SignatureVerifier {
    engine: sigstore_verify::Verifier,
}

impl SignatureVerifier {
    /// Prepare a verifier for `trust`.
    pub fn new(trust: &VerifiedTrustRoot) -> Result<Self> {
        let engine =
            sigstore_verify::Verifier::new(trust.trusted_root()).map_err(Error::TrustRoot)?;
        Ok(Self { engine })
    }

    /// Verify `bundle` over `artifact`, signed by `authority`, with `requirements`.
    pub fn verify(
        &self,
        bundle: &SigstoreBundle,
        artifact: Artifact<'_>,
        authority: &Authority,
        requirements: &Requirements,
    ) -> Result<Verified<SignatureFacts>> {
        let inner = bundle.inner();
        if let Some((payload_type, _)) = bundle.dsse_payload() {
            // airlock accepts DSSE only as in-toto attestations; say so
            // rather than let the engine call the bundle "unsupported".
            if payload_type != IN_TOTO_PAYLOAD_TYPE {
                return Err(Error::failed(
                    Check::Statement,
                    format!("DSSE payload type is {payload_type:?}, not an in-toto statement ({IN_TOTO_PAYLOAD_TYPE})"),
                ));
            }
        }
        refuse_unsupported_algorithms(inner)?;
        let (signer, verified_times) = self.run_for(bundle, artifact, authority, requirements)?;
        let timestamps = inner
            .verification_material
            .timestamp_verification_data
            .rfc3161_timestamps
            .len();
        if requirements.signed_timestamp && timestamps == 0 {
            return Err(Error::failed(
                Check::TimestampAuthority,
                "an RFC 3161 timestamp is required, but the bundle has none",
            ));
        }
        let statement = bundle
            .dsse_payload()
            .map(|(payload_type, payload)| Statement::parse(payload_type, payload))
            .transpose()?;
        let keyless = matches!(authority, Authority::Keyless(_));
        let log_entries = log_entry_facts(inner, requirements.transparency_log);
        Ok(Verified::new(SignatureFacts {
            media_type: bundle.media_type(),
            content: bundle.content_kind(),
            signer,
            signed_times: signed_times(&verified_times, &log_entries, keyless || requirements.transparency_log),
            checks: checks_ran(keyless, requirements, timestamps > 0, &log_entries, statement.is_some()),
            log_entries,
            statement,
        }))
    }

    /// Run the checks `authority` calls for; returns who signed and the
    /// verified signing times.
    fn run_for(
        &self,
        bundle: &SigstoreBundle,
        artifact: Artifact<'_>,
        authority: &Authority,
        requirements: &Requirements,
    ) -> Result<(Signer, Vec<jiff::Timestamp>)> {
        let inner = bundle.inner();
        match authority {
            Authority::Keyless(identity) => {
                if !bundle.has_certificate() {
                    return Err(Error::failed(
                        Check::Identity,
                        "the bundle is signed with a bare key, but a keyless identity is required",
                    ));
                }
                let mut policy = VerificationPolicy::any_identity();
                if !requirements.transparency_log {
                    policy = policy.skip_tlog_unsafe();
                }
                if !requirements.sct {
                    policy = policy.skip_sct();
                }
                let result = self.run_engine(inner, artifact, &policy)?;
                let signer = Signer::Certificate(Box::new(certificate_identity(inner, &result, identity)?));
                Ok((signer, result.verified_timestamps().to_vec()))
            }
            Authority::Key(key) => {
                if bundle.has_certificate() {
                    return Err(Error::failed(
                        Check::Identity,
                        "the bundle is signed with a certificate, but a public key is required",
                    ));
                }
                let signer = Signer::Key {
                    fingerprint: key.fingerprint().to_string(),
                };
                if !unlogged::has_signing_time_evidence(inner) {
                    unlogged::verify(inner, artifact, key, requirements)?;
                    return Ok((signer, Vec::new()));
                }
                let mut policy = PublicKeyVerificationPolicy::new(key.der().clone());
                if !requirements.transparency_log {
                    policy = policy.skip_tlog_unsafe();
                }
                let result = self.run_engine(inner, artifact, &policy)?;
                Ok((signer, result.verified_timestamps().to_vec()))
            }
        }
    }

    fn run_engine(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &dyn Policy,
    ) -> Result<VerificationResult> {
        let result = match artifact {
            Artifact::Bytes(bytes) => self.engine.verify(bytes, bundle, policy),
            Artifact::Digest(digest) => {
                let algorithm = match digest.algorithm() {
                    oci::Algorithm::Sha256 => HashAlgorithm::Sha2256,
                    oci::Algorithm::Sha512 => HashAlgorithm::Sha2512,
                };
                let digest = ArtifactDigest::new(algorithm, digest.as_bytes().to_vec())
                    .map_err(|e| Error::malformed("artifact digest", e))?;
                self.engine.verify(digest, bundle, policy)
            }
            Artifact::Reader(reader) => self.engine.verify_reader(reader, bundle, policy),
        };
        result.map_err(Error::from_engine)
    }
}

/// The engine (sigstore-verify 0.15) cannot verify P-521 signing keys or
/// hashedrekord entries that log a non-SHA-256 digest. Name those limits
/// before it runs, instead of letting them surface as a failed check that
/// would suggest tampering.
fn refuse_unsupported_algorithms(bundle: &Bundle) -> Result<()> {
    const SECP521R1: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.3.132.0.35");
    if let Some(cert) = bundle.signing_certificate() {
        use der::Decode;
        if let Ok(cert) = x509_cert::Certificate::from_der(cert.as_bytes()) {
            let spki = &cert.tbs_certificate.subject_public_key_info;
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
            if curve == Some(SECP521R1) {
                return Err(Error::Unsupported(
                    "the signing certificate has a P-521 key, which this airlock version cannot verify".into(),
                ));
            }
        }
    }
    for entry in &bundle.verification_material.tlog_entries {
        if entry.kind_version != sigstore_types::KindVersion::HashedRekordV001 {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct Body {
            spec: Spec,
        }
        #[derive(serde::Deserialize)]
        struct Spec {
            data: Data,
        }
        #[derive(serde::Deserialize)]
        struct Data {
            hash: Hash,
        }
        #[derive(serde::Deserialize)]
        struct Hash {
            algorithm: String,
        }
        if let Ok(body) = serde_json::from_slice::<Body>(entry.canonicalized_body.as_bytes()) {
            if body.spec.data.hash.algorithm != "sha256" {
                return Err(Error::Unsupported(format!(
                    "the hashedrekord log entry records a {} digest; this airlock version verifies only sha256 hashedrekord entries",
                    body.spec.data.hash.algorithm
                )));
            }
        }
    }
    Ok(())
}

fn certificate_identity(
    bundle: &Bundle,
    result: &VerificationResult,
    policy: &IdentityPolicy,
) -> Result<CertificateIdentity> {
    let cert = bundle
        .signing_certificate()
        .ok_or_else(|| Error::failed(Check::Identity, "no signing certificate"))?;
    let info = result
        .certificate()
        .ok_or_else(|| Error::failed(Check::Identity, "engine returned no certificate"))?;
    let sans = identity::subject_alternative_names(cert.as_bytes())?;
    let matched = policy.check(&sans, result.issuer())?;
    Ok(CertificateIdentity {
        identity: matched,
        issuer: result.issuer().map(str::to_string),
        subject_alternative_names: sans,
        workflow: WorkflowClaims::from(&info.ci_claims),
        not_before: info.not_before,
        not_after: info.not_after,
    })
}

fn log_entry_facts(bundle: &Bundle, proofs_verified: bool) -> Vec<LogEntryFacts> {
    bundle
        .verification_material
        .tlog_entries
        .iter()
        .map(|entry| LogEntryFacts {
            log_index: entry.log_index.into(),
            log_id: hex::encode(entry.log_id.key_id.as_bytes()),
            kind: entry.kind_version.kind(),
            version: entry.kind_version.version(),
            integrated_time: entry.integrated_time,
            inclusion_proof_verified: proofs_verified && entry.inclusion_proof.is_some(),
            inclusion_promise: entry.inclusion_promise.is_some(),
        })
        .collect()
}

/// Attribute the engine's verified times to their sources: SET-backed
/// integrated times (verified whenever they are used, and on the key path
/// only with the log required) come from the log; the rest are TSA times.
fn signed_times(
    verified: &[jiff::Timestamp],
    entries: &[LogEntryFacts],
    sets_verified: bool,
) -> Vec<SignedTime> {
    let mut log_times: Vec<jiff::Timestamp> = entries
        .iter()
        .filter(|e| sets_verified && e.inclusion_promise)
        .filter_map(|e| e.integrated_time)
        .collect();
    let mut times = Vec::new();
    for &time in verified {
        let source = match log_times.iter().position(|t| *t == time) {
            Some(i) => {
                log_times.swap_remove(i);
                TimeSource::TransparencyLog
            }
            None => TimeSource::TimestampAuthority,
        };
        times.push(SignedTime { source, time });
    }
    times
}

fn checks_ran(
    keyless: bool,
    requirements: &Requirements,
    has_timestamps: bool,
    entries: &[LogEntryFacts],
    has_statement: bool,
) -> Vec<Check> {
    let mut checks = vec![Check::BundleFormat];
    if keyless {
        checks.push(Check::SignedTime);
    }
    if has_timestamps {
        checks.push(Check::TimestampAuthority);
    }
    if keyless {
        checks.push(Check::CertificateChain);
        if requirements.sct {
            checks.push(Check::CertificateTransparency);
        }
        checks.push(Check::Identity);
    }
    if requirements.transparency_log {
        checks.push(Check::TransparencyLog);
    }
    if entries.iter().any(|e| e.inclusion_promise) && (keyless || requirements.transparency_log) {
        checks.push(Check::InclusionPromise);
    }
    checks.push(Check::Signature);
    checks.push(Check::ArtifactBinding);
    if !entries.is_empty() {
        checks.push(Check::LogEntryConsistency);
    }
    if has_statement {
        checks.push(Check::Statement);
    }
    checks
}
