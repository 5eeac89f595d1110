//! `airlock verify-blob`: one Sigstore bundle against one artifact.

use crate::cli::VerifyBlobArgs;
use crate::exit::Outcome;
use crate::output::{print_json, Format};
use anyhow::{bail, Context};
use verifier::check::identity::{IdentityPolicy, Matcher};
use verifier::check::signature::{
    Artifact, Authority, Requirements, SignatureFacts, SignatureVerifier, Signer,
};
use verifier::evidence::sigstore::SigstoreBundle;
use trust_roots::VerifiedTrustRoot;

/// Media type of the `--output json` document.
const RESULT_MEDIA_TYPE: &str = "application/vnd.airlock.verify-blob.result.v1+json";

pub fn run(args: VerifyBlobArgs) -> anyhow::Result<Outcome> {
    let authority = authority(&args)?;
    let requirements = requirements(&args);
    let trust = match &args.trusted_root {
        Some(path) => VerifiedTrustRoot::from_hand_managed_file(path)?,
        None => VerifiedTrustRoot::embedded_public_good()?,
    };
    let verifier = SignatureVerifier::new(&trust)?;
    let artifact_label = args.artifact.clone();
    let result = SigstoreBundle::from_file(&args.bundle).and_then(|bundle| {
        let file;
        let artifact = match parse_artifact_digest(&args.artifact)? {
            Some(digest) => Artifact::Digest(digest),
            None => {
                file = std::fs::File::open(&args.artifact).map_err(|source| verifier::Error::Io {
                    path: args.artifact.clone().into(),
                    source,
                })?;
                Artifact::Reader(Box::new(std::io::BufReader::with_capacity(oci::IO_CHUNK, file)))
            }
        };
        verifier.verify(&bundle, artifact, &authority, &requirements)
    });
    let report = Report {
        media_type: RESULT_MEDIA_TYPE,
        verified: result.is_ok(),
        bundle: args.bundle.display().to_string(),
        artifact: artifact_label,
        trusted_root: TrustSummary {
            source: trust.source().to_string(),
            digest: trust.digest(),
        },
        relaxations: relaxations(&args),
        failed_check: result.as_ref().err().and_then(verifier::Error::check),
        error: result.as_ref().err().map(ToString::to_string),
        result: result.as_ref().ok().map(|facts| &**facts),
        airlock_version: env!("CARGO_PKG_VERSION"),
    };
    match args.output {
        Format::Json => print_json(&report)?,
        Format::Text => render_text(&report),
    }
    Ok(match &result {
        Ok(_) => Outcome::Success,
        Err(e) => Outcome::for_error(e),
    })
}

fn authority(args: &VerifyBlobArgs) -> anyhow::Result<Authority> {
    if let Some(path) = &args.key {
        return Ok(Authority::Key(super::common::public_key(path)?));
    }
    let subject = match (&args.certificate_identity, &args.certificate_identity_regexp) {
        (Some(id), None) => Matcher::exact(id),
        (None, Some(re)) => Matcher::regex(re).context("--certificate-identity-regexp")?,
        _ => bail!("give --certificate-identity or --certificate-identity-regexp (keyless), or --key"),
    };
    let issuer = match (&args.certificate_oidc_issuer, &args.certificate_oidc_issuer_regexp) {
        (Some(iss), None) => Matcher::exact(iss),
        (None, Some(re)) => Matcher::regex(re).context("--certificate-oidc-issuer-regexp")?,
        _ => bail!("keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp"),
    };
    Ok(Authority::Keyless(IdentityPolicy { subject, issuer }))
}

fn requirements(args: &VerifyBlobArgs) -> Requirements {
    let mut requirements = Requirements::default();
    if args.insecure_ignore_tlog {
        requirements = requirements.without_transparency_log_unsafe();
    }
    if args.insecure_ignore_sct {
        requirements = requirements.without_sct_unsafe();
    }
    if args.require_timestamp {
        requirements = requirements.require_signed_timestamp();
    }
    requirements
}

fn relaxations(args: &VerifyBlobArgs) -> Vec<&'static str> {
    let mut waived = Vec::new();
    if args.insecure_ignore_tlog {
        waived.push("transparency-log");
    }
    if args.insecure_ignore_sct {
        waived.push("certificate-transparency");
    }
    waived
}

/// `sha256:…`/`sha512:…` is a digest (and must be well formed); anything
/// else names a file.
fn parse_artifact_digest(arg: &str) -> verifier::Result<Option<oci::Digest>> {
    if !(arg.starts_with("sha256:") || arg.starts_with("sha512:")) {
        return Ok(None);
    }
    arg.parse::<oci::Digest>()
        .map(Some)
        .map_err(|e| verifier::Error::Malformed {
            what: "artifact digest".into(),
            reason: e.to_string(),
        })
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    media_type: &'static str,
    verified: bool,
    bundle: String,
    artifact: String,
    trusted_root: TrustSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relaxations: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_check: Option<verifier::Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a SignatureFacts>,
    airlock_version: &'static str,
}

#[derive(serde::Serialize)]
struct TrustSummary {
    source: String,
    digest: String,
}

fn render_text(report: &Report<'_>) {
    let Some(facts) = report.result else {
        eprintln!(
            "airlock: verify-blob: {} refused: {}",
            report.bundle,
            report.error.as_deref().unwrap_or("unknown error")
        );
        return;
    };
    println!("Verified OK: {} signs {}", report.bundle, report.artifact);
    match &facts.signer {
        Signer::Certificate(cert) => println!(
            "  signer:   {} (issuer {})",
            cert.identity.value,
            cert.issuer.as_deref().unwrap_or("none")
        ),
        Signer::Key { fingerprint } => println!("  signer:   key {fingerprint}"),
    }
    for entry in &facts.log_entries {
        println!(
            "  log:      index {} ({} {}){}",
            entry.log_index,
            entry.kind,
            entry.version,
            entry
                .integrated_time
                .map(|t| format!(", integrated {t}"))
                .unwrap_or_default()
        );
    }
    for time in &facts.signed_times {
        println!("  signed:   {} ({})", time.time, time.source.name());
    }
    if let Some(statement) = &facts.statement {
        println!("  predicate: {}", statement.predicate_type);
    }
    let checks: Vec<_> = facts.checks.iter().map(|c| c.name()).collect();
    println!("  checks:   {}", checks.join(", "));
    println!("  trust:    {}", report.trusted_root.source);
    for waived in &report.relaxations {
        println!("  WARNING:  {waived} check waived by an --insecure flag");
    }
}
