//! The self-check: before a bundle is written, every signature, attestation
//! and proof it would carry is verified with `verifier::check`, against the
//! bundle's own trust material, so a bundle that the site would refuse is
//! refused here, on the connected side, naming the image and the evidence.
//!
//! Without a policy the identity is not constrained (keyless: any SAN, any
//! issuer), but everything else is: certificate chain at signing time, SCT,
//! Rekor SET, the fresh inclusion proof and signed checkpoint, the
//! signature, the artifact binding (cosign payload digest, in-toto subject).
//!
//! What cannot be checked is recorded as `not-checked` with the reason,
//! never as verified:
//! - signatures made with a key (no key is known on the connected side),
//!   except that their Rekor entry, when they have one, is verified with
//!   the key recorded in the log (`log-verified`);
//! - certificates from a CA, or SETs from a log, that the bundle's trust
//!   material does not hold (a private PKI, another Sigstore instance);
//! - attachments that are not signatures (SBOMs, Notation signatures,
//!   other referrers).
//!
//! A cosign payload that names another image is refused whether or not the
//! signature can be checked.
//!
//! Every piece of evidence is read through `verifier::evidence` (cosign
//! layers, Sigstore bundles, in-toto statements, Rekor entry bodies, SBOMs)
//! and checked through `verifier::check`: the self-check decides only what
//! cannot be checked here, never how a check goes. With `--policy`, the
//! staged bundle is then evaluated as the site will ([`against_policy`]).

mod policy;

pub use policy::{against_policy, load_policy};

use crate::collect::rekor::{FetchError, Rekors};
use crate::collect::{Collected, ImageEvidence};
use crate::error::{Error, Result};
use crate::progress::{Phase, Progress, Unit};
use crate::resolve::Resolved;
use oci::{Descriptor, Digest, ImageRef, Layout, Manifest, Store};
use trust_roots::VerifiedTrustRoot;
use keys::PublicKey;
use verifier::bundle::manifest::{EvidenceKind, SbomFormat, SbomSource};
use verifier::check::cosign::{signed_payload_for, verify_layer_with_log_entry};
use verifier::check::identity::{IdentityPolicy, Matcher};
use verifier::check::signature::{Artifact, Authority, Requirements, SignatureFacts, SignatureVerifier, Signer};
use verifier::evidence::cosign::{CosignLayer, CosignSignature, LayerKind, SetEntry};
use verifier::evidence::rekor::{EntryBody, FetchedLogEntry};
use verifier::evidence::sbom::{is_sbom_media_type, predicate_document, Sbom};
use verifier::evidence::sigstore::{is_bundle_media_type, SigstoreBundle};
use verifier::evidence::statement::Statement;

/// A signature, attestation or bundle layer is at most this large.
const MAX_SIGNATURE_LAYER: u64 = 64 * 1024 * 1024;
/// An SBOM layer is at most this large (as `verifier::evidence::sbom`).
const MAX_SBOM_LAYER: u64 = verifier::evidence::sbom::MAX_SBOM_BYTES as u64;

/// What the self-check concluded about one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every check passed (keyless, any identity).
    Verified,
    /// The Rekor entry (SET, fresh inclusion proof, checkpoint) verified and
    /// the signature is consistent with the key it records; who holds that
    /// key was not checked.
    LogVerified,
    /// Not checked; `reason` says why.
    NotChecked,
}

/// The self-check of one layer of an evidence manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerCheck {
    /// The layer.
    pub layer: Digest,
    /// Its media type.
    pub media_type: String,
    /// The outcome.
    pub status: Status,
    /// Why it was not (fully) checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The certificate identity that signed (any SAN was accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The OIDC issuer recorded in the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// For attestations: the predicate type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The checks that passed, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<&'static str>,
    /// The Rekor entry fetched for it, by global log index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

impl LayerCheck {
    fn new(layer: &Descriptor, status: Status) -> Self {
        Self {
            layer: layer.digest.clone(),
            media_type: layer.media_type.clone(),
            status,
            reason: None,
            signer: None,
            issuer: None,
            predicate_type: None,
            checks: Vec::new(),
            log_index: None,
        }
    }

    fn not_checked(layer: &Descriptor, reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::new(layer, Status::NotChecked)
        }
    }

    fn verified(layer: &Descriptor, status: Status, facts: &SignatureFacts) -> Self {
        let mut check = Self::new(layer, status);
        if let Signer::Certificate(identity) = &facts.signer {
            check.signer = Some(identity.identity.value.clone());
            check.issuer = identity.issuer.clone();
        }
        check.predicate_type = facts.statement.as_ref().map(|s| s.predicate_type.clone());
        check.checks = facts.checks.iter().map(|c| c.name()).collect();
        check
    }
}

/// Where an SBOM's bytes are.
#[derive(Debug, Clone)]
pub enum SbomBlob {
    /// A blob the evidence already carries (an attachment or referrer layer).
    Layer(Box<Descriptor>),
    /// Bytes extracted from an attestation, to be stored as a new blob.
    Extracted(Vec<u8>),
}

/// An SBOM found in evidence.
#[derive(Debug, Clone)]
pub struct FoundSbom {
    /// What it describes.
    pub subject: Digest,
    /// Its format.
    pub format: SbomFormat,
    /// Where it came from.
    pub source: SbomSource,
    /// Its bytes.
    pub blob: SbomBlob,
}

/// The self-check of one evidence manifest.
#[derive(Debug, Clone, Default)]
pub struct EvidenceCheck {
    /// One per layer.
    pub layers: Vec<LayerCheck>,
    /// Rekor entries fetched and verified, to record in the manifest.
    pub log_entries: Vec<FetchedLogEntry>,
    /// SBOMs the evidence carries.
    pub sboms: Vec<FoundSbom>,
    /// Things the operator should know (an SBOM attestation whose SBOM was
    /// not extracted, a layer that is not an SBOM).
    pub warnings: Vec<String>,
}

/// One piece of evidence and its self-check.
#[derive(Debug, Clone)]
pub struct CheckedEvidence {
    /// The evidence, as collected.
    pub collected: Collected,
    /// What the self-check found.
    pub check: EvidenceCheck,
}

/// An image whose evidence all passed the self-check (or says why it could
/// not be checked).
#[derive(Debug, Clone)]
pub struct CheckedImage {
    /// The image.
    pub image: Resolved,
    /// Its evidence, checked, in the order collected.
    pub evidence: Vec<CheckedEvidence>,
}

/// The self-check phase: every piece of evidence of every image, Rekor
/// entries fetched for SET-only layers, against `trust`, reading blobs
/// from `layout`; `jobs` images at a time (each Rekor fetch is a round
/// trip), results in request order. The first piece that does not verify
/// stops the bundle.
pub async fn images(
    images: Vec<ImageEvidence>,
    trust: &VerifiedTrustRoot,
    rekor: &Rekors,
    layout: &Layout,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Vec<CheckedImage>> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let total: usize = images.iter().map(|i| i.evidence.len()).sum();
    progress.start(Phase::Verify, total as u64, Unit::Items);
    let checker = &Checker::new(trust, rekor, layout)?;
    let checked = stream::iter(images)
        .map(|ImageEvidence { image, evidence }| async move {
            let mut pieces = Vec::with_capacity(evidence.len());
            for collected in evidence {
                let check = checker.check(&image.reference, &collected).await?;
                progress.advance(1);
                pieces.push(CheckedEvidence { collected, check });
            }
            Ok::<_, Error>(CheckedImage { image, evidence: pieces })
        })
        .buffered(jobs.max(1))
        .try_collect()
        .await?;
    progress.finish(Phase::Verify);
    Ok(checked)
}

/// What the self-check verifies with.
pub struct Checker<'a> {
    trust: &'a VerifiedTrustRoot,
    verifier: SignatureVerifier,
    rekor: &'a Rekors,
    layout: &'a Layout,
}

impl<'a> Checker<'a> {
    /// A checker over `trust`, fetching Rekor entries from `rekor` and
    /// reading evidence blobs from `layout`.
    pub fn new(trust: &'a VerifiedTrustRoot, rekor: &'a Rekors, layout: &'a Layout) -> Result<Self> {
        let verifier = SignatureVerifier::new(trust).map_err(|e| Error::Usage(format!("the bundle's trust material cannot verify: {e}")))?;
        Ok(Self { trust, verifier, rekor, layout })
    }

    /// Check one piece of evidence of `image`.
    pub async fn check(&self, image: &ImageRef, evidence: &Collected) -> Result<EvidenceCheck> {
        let mut out = EvidenceCheck::default();
        let Some(root) = evidence.graph.root_manifest() else { return Ok(out) };
        let layers = match root.manifest() {
            Manifest::Image(m) => m.layers.clone(),
            Manifest::Index(_) => {
                out.warnings.push(format!("evidence {} is an index; its manifests are carried but not checked", root.digest()));
                return Ok(out);
            }
        };
        let ctx = Context {
            image,
            evidence: root.digest(),
            kind: evidence.found.kind,
            subject: &evidence.found.subject,
        };
        for layer in &layers {
            // The verifier's rule, applied before anything is written: a
            // layer is what its content is, never what its tag says.
            if let Some(found) = verifier::image::filed_kind_mismatch(ctx.kind, &layer.media_type) {
                let mismatch = verifier::ContentError::EvidenceKind {
                    reference: image.to_string(),
                    manifest: root.digest().clone(),
                    layer: layer.digest.clone(),
                    filed: ctx.kind.name(),
                    found,
                };
                return Err(ctx.refused(Some(layer), mismatch.into()));
            }
            let check = match evidence.found.kind {
                EvidenceKind::CosignSignature | EvidenceKind::CosignAttestation => self.cosign_layer(&ctx, layer, &mut out).await?,
                EvidenceKind::SigstoreBundle => self.bundle_layer(&ctx, layer, &mut out).await?,
                EvidenceKind::CosignSbom => self.sbom_layer(&ctx, layer, SbomSource::Attachment, &mut out).await?,
                EvidenceKind::Referrer => self.referrer_layer(&ctx, evidence, layer, &mut out).await?,
            };
            out.layers.push(check);
        }
        Ok(out)
    }

    async fn read(&self, ctx: &Context<'_>, layer: &Descriptor, limit: u64) -> Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        if layer.size > limit {
            return Err(ctx.evidence_error(layer, format!("layer of {} bytes exceeds the {limit}-byte limit", layer.size)));
        }
        let reader = self
            .layout
            .open_blob(layer)
            .await
            .map_err(|e| Error::registry(ctx.image, "read evidence", e))?;
        let mut bytes = Vec::with_capacity(layer.size as usize);
        reader
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ctx.evidence_error(layer, format!("reading the layer: {e}")))?;
        Ok(bytes)
    }

    async fn cosign_layer(&self, ctx: &Context<'_>, layer: &Descriptor, out: &mut EvidenceCheck) -> Result<LayerCheck> {
        let cosign = CosignLayer {
            media_type: layer.media_type.clone(),
            payload: self.read(ctx, layer, MAX_SIGNATURE_LAYER).await?,
            annotations: layer.annotations.clone(),
        };
        let Some(kind) = cosign.kind() else {
            return Ok(LayerCheck::not_checked(
                layer,
                format!("media type {:?} is not a cosign signature or attestation", layer.media_type),
            ));
        };
        let refused = |source| ctx.refused(Some(layer), source);
        let signature = CosignSignature::from_layer(&cosign).map_err(refused)?;
        if kind == LayerKind::Signature {
            // Checkable without any key: the payload must name this image.
            signed_payload_for(&signature, ctx.subject).map_err(refused)?;
        }
        if let Some(issuer) = signature.signing_certificate().and_then(|leaf| self.unknown_issuer(leaf)) {
            return Ok(LayerCheck::not_checked(
                layer,
                format!("the certificate was issued by {issuer}, a CA the bundle's trust material does not hold (its Rekor entry was not fetched)"),
            ));
        }
        let set = signature.set_entry();
        if let Some(set) = &set {
            if !self.log_known(&set.log_id) {
                return Ok(LayerCheck::not_checked(
                    layer,
                    format!("its SET is from Rekor log {}, which the bundle's trust material does not hold (entry not fetched)", set.log_id),
                ));
            }
        }
        let fetched = match &set {
            Some(set) => Some(self.fetch(ctx, layer, set).await?),
            None => None,
        };
        let checked = if signature.has_certificate() {
            let facts = verify_layer_with_log_entry(&self.verifier, &cosign, fetched.as_ref(), ctx.subject, &any_identity(), &Requirements::default())
                .map_err(refused)?;
            let mut check = LayerCheck::verified(layer, Status::Verified, &facts.signature);
            if kind == LayerKind::Attestation {
                if let Some(statement) = &facts.signature.statement {
                    self.attestation_sbom(ctx, statement, out);
                }
            }
            check.log_index = fetched.as_ref().map(|f| f.log_index);
            check
        } else if let (Some(entry), Some(set)) = (&fetched, &set) {
            let key = logged_key(set).map_err(|reason| ctx.evidence_error(layer, reason))?;
            let facts = verify_layer_with_log_entry(&self.verifier, &cosign, Some(entry), ctx.subject, &Authority::Key(key), &Requirements::default())
                .map_err(refused)?;
            let mut check = LayerCheck::verified(layer, Status::LogVerified, &facts.signature);
            check.reason = Some("signed with a key: the Rekor entry and its fresh inclusion proof verified, and the signature verifies with the key the entry records; whose key it is was not checked".into());
            check.log_index = Some(entry.log_index);
            check
        } else {
            LayerCheck::not_checked(layer, "signed with a key and not logged in Rekor: a key signature cannot be checked without the key")
        };
        if let Some(entry) = fetched {
            out.log_entries.push(entry);
        }
        Ok(checked)
    }

    async fn bundle_layer(&self, ctx: &Context<'_>, layer: &Descriptor, out: &mut EvidenceCheck) -> Result<LayerCheck> {
        if !is_bundle_media_type(&layer.media_type) {
            return Ok(LayerCheck::not_checked(layer, format!("media type {:?} is not a Sigstore bundle", layer.media_type)));
        }
        let bytes = self.read(ctx, layer, MAX_SIGNATURE_LAYER).await?;
        let refused = |source| ctx.refused(Some(layer), source);
        let bundle = SigstoreBundle::from_json(&bytes).map_err(refused)?;
        if !bundle.has_certificate() {
            return Ok(LayerCheck::not_checked(layer, "a Sigstore bundle signed with a key: it cannot be checked without the key"));
        }
        if let Some(issuer) = bundle.signing_certificate().and_then(|leaf| self.unknown_issuer(leaf)) {
            return Ok(LayerCheck::not_checked(
                layer,
                format!("the certificate was issued by {issuer}, a CA the bundle's trust material does not hold"),
            ));
        }
        let facts = self
            .verifier
            .verify(&bundle, Artifact::Digest(ctx.subject.clone()), &any_identity(), &Requirements::default())
            .map_err(refused)?;
        if let Some(statement) = &facts.statement {
            self.attestation_sbom(ctx, statement, out);
        }
        Ok(LayerCheck::verified(layer, Status::Verified, &facts))
    }

    async fn sbom_layer(&self, ctx: &Context<'_>, layer: &Descriptor, source: SbomSource, out: &mut EvidenceCheck) -> Result<LayerCheck> {
        let bytes = self.read(ctx, layer, MAX_SBOM_LAYER).await?;
        match Sbom::parse(&bytes) {
            Ok(sbom) => out.sboms.push(FoundSbom {
                subject: ctx.subject.clone(),
                format: sbom.kind.format,
                source,
                blob: SbomBlob::Layer(Box::new(layer.clone())),
            }),
            Err(reason) => out
                .warnings
                .push(format!("evidence {} layer {} is carried but is not an SBOM airlock reads: {reason}", ctx.evidence, layer.digest)),
        }
        Ok(LayerCheck::not_checked(layer, "an SBOM, not a signature"))
    }

    async fn referrer_layer(&self, ctx: &Context<'_>, evidence: &Collected, layer: &Descriptor, out: &mut EvidenceCheck) -> Result<LayerCheck> {
        let artifact_type = evidence.found.artifact_type.as_deref().unwrap_or("");
        if artifact_type.starts_with("application/vnd.cncf.notary") {
            return Ok(LayerCheck::not_checked(layer, "a Notation signature: carried, not verified by airlock"));
        }
        if is_sbom_media_type(artifact_type) || is_sbom_media_type(&layer.media_type) {
            return self.sbom_layer(ctx, layer, SbomSource::Referrer, out).await;
        }
        Ok(LayerCheck::not_checked(layer, format!("a referrer of artifact type {artifact_type:?}: carried, not verified by airlock")))
    }

    /// The SBOM in a verified SBOM attestation.
    fn attestation_sbom(&self, ctx: &Context<'_>, statement: &Statement, out: &mut EvidenceCheck) {
        let Some(document) = predicate_document(statement) else { return };
        match Sbom::parse(&document) {
            Ok(sbom) => out.sboms.push(FoundSbom {
                subject: ctx.subject.clone(),
                format: sbom.kind.format,
                source: SbomSource::Attestation,
                blob: SbomBlob::Extracted(document),
            }),
            Err(reason) => out.warnings.push(format!(
                "evidence {}: the {} attestation's predicate is not an SBOM airlock reads: {reason}",
                ctx.evidence, statement.predicate_type
            )),
        }
    }

    async fn fetch(&self, ctx: &Context<'_>, layer: &Descriptor, set: &SetEntry) -> Result<FetchedLogEntry> {
        let at = || ctx.at(Some(layer));
        let rekor = self.rekor.for_log(&set.log_id).map_err(|e| Error::Rekor {
            at: at(),
            url: e.url,
            log_index: set.log_index,
            reason: e.reason,
        })?;
        rekor.fetch(set, &layer.digest).await.map_err(|e| match e {
            FetchError::Mismatch { field, expected, found } => Error::RekorMismatch {
                at: at(),
                log_index: set.log_index,
                field,
                values: Box::new((expected, found)),
            },
            FetchError::NotFound => Error::Rekor {
                at: at(),
                url: rekor.url().to_string(),
                log_index: set.log_index,
                reason: "Rekor has no such entry (by log index nor by UUID)".into(),
            },
            FetchError::Transport(reason) => Error::Rekor {
                at: at(),
                url: rekor.url().to_string(),
                log_index: set.log_index,
                reason,
            },
        })
    }

    /// The issuer of `leaf` when no CA in the trust material has that
    /// subject (`None` when one does, or the certificate does not parse:
    /// then the engine says what is wrong).
    fn unknown_issuer(&self, leaf: &[u8]) -> Option<String> {
        use der::{Decode, Encode};
        let cert = x509_cert::Certificate::from_der(leaf).ok()?;
        let issuer = cert.tbs_certificate.issuer.to_der().ok()?;
        let known = self.trust.trusted_root().certificate_authorities.iter().any(|ca| {
            ca.cert_chain.certificates.iter().any(|c| {
                x509_cert::Certificate::from_der(c.raw_bytes.as_bytes())
                    .ok()
                    .and_then(|c| c.tbs_certificate.subject.to_der().ok())
                    .is_some_and(|subject| subject == issuer)
            })
        });
        (!known).then(|| format!("{:?}", cert.tbs_certificate.issuer.to_string()))
    }

    fn log_known(&self, log_id_hex: &str) -> bool {
        self.trust
            .trusted_root()
            .tlogs
            .iter()
            .any(|log| hex::encode(log.log_id.key_id.as_bytes()).eq_ignore_ascii_case(log_id_hex))
    }
}

struct Context<'a> {
    image: &'a ImageRef,
    evidence: &'a Digest,
    kind: EvidenceKind,
    subject: &'a Digest,
}

impl Context<'_> {
    fn at(&self, layer: Option<&Descriptor>) -> Box<crate::At> {
        Box::new(crate::At {
            image: self.image.to_string(),
            evidence: self.evidence.clone(),
            layer: layer.map(|l| l.digest.clone()),
        })
    }

    fn refused(&self, layer: Option<&Descriptor>, source: verifier::Error) -> Error {
        Error::SelfCheck {
            at: self.at(layer),
            kind: self.kind.name(),
            source: Box::new(source),
        }
    }

    fn evidence_error(&self, layer: &Descriptor, reason: String) -> Error {
        Error::Evidence {
            at: self.at(Some(layer)),
            reason,
        }
    }
}

fn any_identity() -> Authority {
    let any = || Matcher::regex(".*").expect("a valid pattern");
    Authority::Keyless(IdentityPolicy {
        subject: any(),
        issuer: any(),
    })
}

/// The public key the Rekor entry a SET signs records for its signer.
fn logged_key(set: &SetEntry) -> std::result::Result<PublicKey, String> {
    let body = EntryBody::parse(&set.body).map_err(|e| e.to_string())?;
    let pem = body.public_key_pem.ok_or("the Rekor entry records no public key")?;
    PublicKey::from_pem(&pem).map_err(|e| format!("the Rekor entry's public key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_over(body: serde_json::Value) -> SetEntry {
        SetEntry {
            log_index: 1,
            log_id: String::new(),
            integrated_time: None,
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn reads_the_key_a_hashedrekord_entry_records() {
        let root = testbed::realdata("containers-image-cosign");
        let pem = std::fs::read_to_string(root.join("cosign.pub")).expect("realdata beside the checkout");
        let encode = |text: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text);
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"signature": {"content": "", "publicKey": {"content": encode(&pem)}}}});
        assert_eq!(logged_key(&set_over(body)).unwrap(), PublicKey::from_pem(&pem).unwrap());
        let keyless_kind = serde_json::json!({"apiVersion": "0.0.1", "kind": "rekord", "spec": {}});
        assert_eq!(logged_key(&set_over(keyless_kind)).unwrap_err(), "the Rekor entry records no public key");
        let not_pem = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"signature": {"publicKey": {"content": encode("hello")}}}});
        assert!(logged_key(&set_over(not_pem)).unwrap_err().contains("public key"));
    }
}
