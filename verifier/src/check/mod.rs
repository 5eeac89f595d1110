//! Evidence plus trust in, [`crate::Verified`] facts out.
//!
//! [`signature`] is the only module that calls the `sigstore-verify` engine;
//! [`cosign`] reuses it for cosign's legacy layers; [`identity`] adds what the
//! engine lacks (every SAN kind, including Fulcio's OtherName usernames, and
//! regular-expression matching).

pub mod cosign;
pub mod identity;
pub mod signature;
