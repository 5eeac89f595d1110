//! Trust material shipped inside the airlock binary.

/// The Sigstore public-good `trusted_root.json` this airlock release ships
/// with: the production TUF repository's target at root-signing commit
/// 60cf2ce8 (2026-08-21), sha256 `6494e21e…0b66`. Rekor v1 and v2
/// (log2025-1), both Fulcio CAs, two CT logs and the public-good TSA.
///
/// It is used when an operator gives no other trust material. Sites that
/// carry a TUF snapshot across the gap should prefer that: it can be newer
/// than this release, and its provenance is checked from a pinned root.
pub const PUBLIC_GOOD_TRUSTED_ROOT_JSON: &str =
    include_str!("../data/public-good-trusted_root.json");
