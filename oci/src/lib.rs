//! OCI content primitives shared by both sides of the air gap.
//!
//! Everything here is about *content addressing*: a [`Digest`] is parsed once
//! from its `algorithm:hex` form and never travels as a string again, and a
//! [`DigestReader`] checks a stream against the digest and size it claims while
//! it is read, failing at end of stream. Nothing in this crate decides whether
//! content is *trusted*; that is the verifier's job.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod digest;

pub use digest::{Algorithm, Digest, DigestError, DigestReader, Hasher};
