//! Trust material for airlock.
//!
//! Signatures are only as good as the keys that check them. This crate is the
//! single place where airlock decides which Sigstore trust material (Fulcio
//! CAs, Rekor and CT log keys, timestamp authorities) it believes, and records
//! *why* in a [`TrustSource`]. The only way to obtain a [`VerifiedTrustRoot`]
//! is through this crate's constructors, so every verification in airlock
//! can say where its trust came from.
//!
//! Three paths:
//! - [`verify_snapshot`]: a TUF snapshot carried across the air gap,
//!   verified offline from a [`PinnedRoot`] at a [`ReferenceTime`]
//!   ([`TrustSource::Tuf`]);
//! - [`VerifiedTrustRoot::embedded_public_good`]: the trusted root shipped
//!   in this release ([`TrustSource::Embedded`]);
//! - [`VerifiedTrustRoot::from_hand_managed_file`]: a file believed as
//!   given, with no TUF chain behind it ([`TrustSource::File`]; reports say
//!   so).
//!
//! With the `fetch` feature, [`fetch`] refreshes a TUF repository over
//! HTTP(S) and writes such a snapshot, and [`client`] is a TUF client with a
//! local metadata store (the tuf-conformance client-under-test). Without
//! it, the crate has no network code.
//!
//! The TUF checks are airlock's own state machine ([`chain`'s
//! `TrustedSet`], spec §5.3 to §5.7) over sigstore-tuf's parsing and
//! signature verification, with sigstore-tuf's `TrustedMetadataSet` run as
//! a second opinion over every accepted chain. docs/trust.md records what we
//! rely on sigstore-tuf for and what we check ourselves. The library never
//! reads the clock: reference times are passed in.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chain;
mod error;
mod files;
mod names;
mod pinned;
mod refresh;
mod snapshot;
mod time;
mod verified;

#[cfg(feature = "fetch")]
pub mod client;
#[cfg(feature = "fetch")]
pub mod fetch;

pub use chain::Limits;
pub use error::{Error, ErrorKind, Result, UnusableKey};
pub use pinned::{
    PinOrigin, PinnedRoot, PUBLIC_GOOD_TRUSTED_ROOT_JSON, PUBLIC_GOOD_TUF_MIRROR,
    PUBLIC_GOOD_TUF_ROOT_JSON, TRUSTED_ROOT_TARGET,
};
pub use snapshot::{
    verify_snapshot, verify_snapshot_with, IndexClaims, PinnedSummary, RoleSummary, Roles,
    SnapshotReport, TargetSummary, TimePolicy, VerifyOptions, INDEX_MEDIA_TYPE, REPORT_MEDIA_TYPE,
};
pub use time::{parse_max_age, ReferenceTime, TimeReason, DEFAULT_MAX_AGE};
pub use verified::{TrustSource, VerifiedTrustRoot};
