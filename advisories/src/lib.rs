//! OSV advisories for airlock: a snapshot fetched on the connected side,
//! carried across the air gap, checked and matched offline against the
//! packages SBOMs list.
//!
//! - [`osv`]: OSV records parsed once into typed values (bounded, unknown
//!   fields tolerated as the schema allows, breaks named).
//! - [`version`]: each ecosystem's version ordering by its own rules.
//! - [`range`]: the OSV schema's evaluation of `affected` ranges, with
//!   `GIT` ranges and unorderable versions reported as not evaluated.
//! - [`severity`]: CVSS v3.x/v4.0 base scores from vectors, or the
//!   source's own rating.
//! - [`ecosystem`]: OSV ecosystems and package URLs in the same terms.
//! - [`snapshot`]: the on-disk format, read back with every file's digest
//!   checked; [`Database`] indexes its records; [`scan`] matches packages.
//! - `fetch` (cargo feature `fetch`): OSV's `all.zip` exports and plain
//!   directories of OSV JSON over HTTP(S), written as a snapshot. Without
//!   the feature the crate has no network code.
//!
//! What this crate does not do: decide (the gate is policy's), read SBOMs
//! (the verifier's SBOM reader does; [`PackageRef`] borrows its packages),
//! read the clock, or print. docs/scanning.md holds the rules and sources.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod database;
pub mod ecosystem;
mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod osv;
pub mod range;
mod scan;
pub mod severity;
pub mod snapshot;
pub mod version;

pub use database::Database;
pub use error::{Error, ErrorKind, Result};
pub use scan::{scan, Finding, NotEvaluated, PackageRef, ScanReport, Unscanned};
pub use severity::{Rating, Severity};
pub use snapshot::{open as open_snapshot, Limits, Snapshot};

/// Media type of a scan report (`airlock scan --output json`).
pub const SCAN_REPORT_MEDIA_TYPE: &str = "application/vnd.airlock.scan.report.v1+json";
