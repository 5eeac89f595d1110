//! Trust material for airlock.
//!
//! Signatures are only as good as the keys that check them. This crate is the
//! single place where airlock decides which Sigstore trust material (Fulcio
//! CAs, Rekor and CT log keys, timestamp authorities) it believes, and records
//! *why* in a [`TrustSource`]. The only way to obtain a [`VerifiedTrustRoot`]
//! is through this crate's constructors, so every verification in airlock
//! can say where its trust came from.
//!
//! What this crate guarantees: the trusted root parsed and its provenance is
//! recorded. What it does not: a hand-managed file ([`TrustSource::File`]) is
//! believed as given, with no TUF chain behind it; reports say so.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod pinned;
mod verified;

pub use error::{Error, Result};
pub use pinned::PUBLIC_GOOD_TRUSTED_ROOT_JSON;
pub use verified::{TrustSource, VerifiedTrustRoot};
