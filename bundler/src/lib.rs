//! airlock's connected side: `airlock bundle create`, a sequence of
//! phases, each a module ([`create`] reads as the list). Before the first,
//! everything that can be refused without the network is: the policy, the
//! signing key, `--since`, the operator's SBOMs, the output path.
//!
//! 1. [`trust`]: the trust material, fetched over TUF (or a hand-managed
//!    `trusted_root.json`) into `airlock/trust/` and verified;
//! 2. [`resolve`]: each tag to a digest, once; indexes walked with an
//!    optional platform filter;
//! 3. [`collect`]: everything attached to each image, its index and each
//!    carried child: cosign `.sig/.att/.sbom` tags, OCI 1.1 referrers (API
//!    and tag-schema fallback), Sigstore bundles, Notation signatures, SBOM
//!    artifacts;
//! 4. [`fetch`]: every manifest, and every evidence blob (what the checks
//!    read), into the bundle's image layout through `oci::copy`
//!    (bundling is `copy(registry -> layout)`);
//! 5. [`selfcheck`]: every signature and proof verified with
//!    `verifier::check` against the bundle's own trust material, Rekor
//!    entries (with fresh inclusion proofs) fetched for SET-only cosign
//!    layers; evidence that fails is refused, naming the image and the
//!    evidence;
//! 6. [`sboms`]: the SBOMs found and the operator's, stored and named;
//!    [`advisories`](mod@advisories): the OSV snapshot (`--advisories`),
//!    checked before the network, copied in;
//! 7. [`write`](mod@write): the bundle exactly as docs/bundle-format.md specifies: the
//!    image layout, `index.json`, the bundle manifest (through
//!    `verifier::bundle::manifest`, the reader's own types) — with
//!    `--policy`, the staged bundle is then evaluated as the site will;
//! 8. [`sign`]: the optional transfer signature;
//! 9. [`output`]: the image configs and layers (the [`fetch::Payload`]),
//!    last: fetched into a directory, whose manifest is then written; or
//!    an [`archive`] written in one pass as they arrive, compressed, cut
//!    into volumes.
//!
//! Guarantees:
//! - **Nothing silently left behind**: any failure to list or read
//!   evidence is an error; what was found (or that nothing was) is in the
//!   [`Report`] per image.
//! - **Reproducible**: the same images and evidence give byte-identical
//!   bundles; the creation time is the only varying input ([`Created`]).
//!   Rekor proofs fetched fresh are evidence too: a log that grew between
//!   two runs gives two different (both valid) proofs.
//! - **Each blob once, streamed, resumable**: blobs shared between images
//!   are fetched and stored once, `jobs` at a time, hashed once while
//!   streamed to disk or into the archive (constant memory); a re-run with
//!   the same output reuses every blob an interrupted run verified and
//!   stored, or wrote into its unfinished archive
//!   ([`archive::resume`]).
//! - **Nothing fetched in bulk before it is known to be wanted**: the image
//!   layers come last, after every signature verified and the policy
//!   passed.
//!
//! With `--policy`, every image of the staged bundle is evaluated exactly
//! as the site will (`verifier::verify::evaluate_images`) before it is
//! signed; a refused image leaves no bundle manifest behind.
//!
//! Not done here: evidence stored in another repository
//! (`COSIGN_REPOSITORY`); evidence attached to evidence.
//!
//! The library never prints, reads the environment or the clock: the
//! caller passes credentials, the creation time and a [`Progress`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod advisories;
pub mod archive;
pub mod collect;
mod error;
pub mod fetch;
pub mod incremental;
pub mod output;
pub mod progress;
pub mod release_sbom;
pub mod report;
mod request;
pub mod resolve;
pub mod sboms;
pub mod selfcheck;
pub mod sign;
pub mod trust;
pub mod write;

pub use error::{At, Error, ErrorKind, Result};
pub use progress::{NoProgress, Phase, Progress, Unit};
pub use report::Report;
pub use request::{Created, OperatorSbom, Output, Request};
pub use trust::TrustInput;
pub use verifier::bundle::archive::Compression;

use request::Inputs;
use std::sync::Arc;
use verifier::bundle::manifest::TRUST_DIR;

/// Make a bundle. See the crate docs for what is guaranteed.
pub async fn create(request: &Request, progress: Arc<dyn Progress>) -> Result<Report> {
    let shared = progress.clone();
    let progress = &*progress;
    let inputs = Inputs::read(request)?;
    let (layout, jobs) = (&inputs.layout, inputs.jobs);
    archive::resume::recover(&request.output, layout, progress)?;
    let trust = trust::prepare(&request.trust, &layout.path().join(TRUST_DIR), &request.created, progress).await?;
    let images = resolve::images(&inputs.images, &request.platforms, &request.remote, jobs, progress).await?;
    if let Some(sbom) = &inputs.release_sbom {
        release_sbom::check_digests(sbom, &images, &request.remote).await?;
    }
    let images = collect::evidence(images, jobs, progress).await?;
    let evidence = fetch::evidence(layout, &images, jobs, progress).await?;
    let rekors = collect::rekor::Rekors::new(inputs.rekor.clone(), &trust.root);
    let images = selfcheck::images(images, &trust.root, &rekors, layout, jobs, progress).await?;
    progress.start(Phase::Write, 4, Unit::Items);
    let images = sboms::carry(images, &inputs.operator_sboms, layout, progress).await?;
    let advisories = advisories::carry(inputs.advisories.as_ref(), layout.path())?;
    let staged = write::stage(layout, &images, &trust, inputs.previous.as_ref(), inputs.release_sbom.as_ref(), request.created, progress)?;
    let policy = selfcheck::against_policy(&staged, inputs.policy.as_ref(), &trust.root, jobs)?;
    let signature = sign::manifest(&staged, inputs.sign_key.as_deref(), progress)?;
    // One progress phase covers SBOMs, the tree and the signature: each is quick.
    progress.finish(Phase::Write);
    let payload = fetch::Payload::of(&images, inputs.previous.as_ref());
    let (output, fetched) = output::write(&request.output, layout, &staged, signature.as_deref(), &payload, jobs, shared).await?;
    Ok(report::build(report::Outcome {
        inputs: &inputs,
        created: request.created,
        trust: &trust,
        images: &images,
        fetch: evidence + fetched,
        staged: &staged,
        policy,
        advisories,
        output,
    }))
}
