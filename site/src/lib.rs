//! What the site does with a bundle once `verifier` has accepted it.
//!
//! - [`load`]: push a verified bundle's images, with their evidence, into
//!   the site's registry or an OCI layout (plan, push, repository mapping),
//!   optionally re-signed;
//! - [`resign`]: cosign key signatures by the site's key, merged into what
//!   a `.sig` tag already holds, and the same as a key-signed Sigstore
//!   bundle referrer (what cosign v3 reads);
//! - [`pin`]: point Kubernetes manifests and Helm values at the mirror's
//!   images by digest, from the mapping `load` writes;
//! - [`admission`]: policy-controller and Kyverno policies that admit the
//!   mirror's images signed by the site's key (`airlock policy export`);
//! - [`ledger`]: the record of an import, written after a complete load;
//! - [`audit`]: the hash-chained log of every verify/load decision.
//!
//! This crate decides nothing about evidence: it reads images only through
//! `verifier`'s [`verifier::store::BundleStore`], which only a
//! [`verifier::verify::VerifiedBundle`] makes, and records only verified
//! bundles. Checking a re-signature again is `verifier::signed_image`;
//! reading the ledger is `verifier::ledger`. It never prints, prompts or
//! reads the environment or clock: the CLI passes keys, times and targets.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admission;
pub mod audit;
mod error;
pub mod ledger;
pub mod load;
pub mod pin;
pub mod resign;

pub use error::{Error, Result};
