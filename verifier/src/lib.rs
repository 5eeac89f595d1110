//! airlock's offline verifier.
//!
//! The pipeline reads like the spec it implements:
//!
//! - [`evidence`] turns untrusted bytes (Sigstore bundles, cosign signature
//!   layers, in-toto statements) into typed values. It parses; it decides
//!   nothing.
//! - [`check`] turns evidence plus a [`trust_roots::VerifiedTrustRoot`] into
//!   [`Verified`] facts, or an [`Error`] naming the [`Check`] that failed.
//!   `check::signature` is the only caller of the `sigstore-verify` engine.
//! - [`policy`] reads the import policy (airlock's own format and
//!   policy-controller ClusterImagePolicies) into one typed model that
//!   says which images need which evidence. It decides; it verifies nothing.
//! - [`advisories`] reads the OSV snapshot a bundle carries and matches
//!   each image's SBOM packages against it, for `spec.vulnerabilities`
//!   and `airlock scan BUNDLE`.
//! - [`verify`] runs every check over a transfer bundle in the documented
//!   order and, only when everything passed, returns a
//!   [`verify::VerifiedBundle`]; [`store::BundleStore`], made only from one,
//!   is what the site's tools (the `site` crate: load, re-sign) read images
//!   from. [`signed_image`] checks a site re-signature in a registry
//!   (`verify-image`); [`ledger`] reads the site's import ledger (`site`
//!   writes it).
//!
//! Nothing here touches the network, reads the clock for a decision other
//! than the engine's "not in the future" sanity checks, prints, or exits.
//! Certificates are checked at the *signing* time established by a Rekor SET
//! or an RFC 3161 timestamp, never at "now".

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod advisories;
pub mod audit;
pub mod bundle;
pub mod check;
mod error;
pub mod evidence;
pub mod image;
pub mod ledger;
pub mod policy;
pub mod report;
pub mod signed_image;
pub mod store;
pub mod verify;
mod verified;

pub use error::{Check, ContentError, Error, ErrorKind, ManifestError, Result, TransferError};
pub use verified::Verified;
