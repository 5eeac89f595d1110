//! OCI content shared by both sides of the air gap.
//!
//! - [`Digest`] is parsed once from its `algorithm:hex` form and never
//!   travels as a string again; [`DigestReader`] (and its async twin
//!   [`AsyncDigestReader`]) checks a stream against the digest and size it
//!   claims while it is read, failing at end of stream.
//! - [`ImageRef`] and [`PinnedRef`] are image references parsed once from
//!   what an operator writes.
//! - [`RawManifest`] keeps manifest bytes as received, with a typed view.
//! - [`Store`] is the small set of operations a medium provides; [`Layout`]
//!   (an OCI image layout directory) and [`remote::Repository`] (a
//!   repository in a registry) implement it, and everything else (walking
//!   indexes, finding cosign tags and referrers, copying in push order) is
//!   written once over it in [`store`] and [`copy`]; [`ordered`] hands
//!   blobs from registries to a writer that needs them in a fixed order
//!   (an archive written as the bytes arrive).
//!
//! Nothing in this crate decides whether content is *trusted*; that is the
//! verifier's job. It never prints, reads environment variables, or reads
//! the clock to decide anything; progress reaches callers through
//! the `progress` crate's one interface. Two things it does on its users' behalf: it runs the
//! docker credential helpers a docker config names ([`remote::Credentials`]),
//! and its HTTP clients (reqwest's defaults) honour the proxy and
//! certificate variables of the environment; a monotonic clock times token
//! reuse and helper timeouts.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// `Serialize` as the `Display` string, `Deserialize` through `FromStr`:
/// values that have one canonical text form travel as it.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod copy;
mod digest;
mod error;
pub mod layout;
pub mod manifest;
pub mod ordered;
mod reference;
pub mod remote;
pub mod store;
pub mod writeback;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use digest::{Algorithm, AsyncDigestReader, Digest, DigestError, DigestReader, Hasher, IO_CHUNK};
pub use error::{error_chain, BlobCopyError, Error, Result};
pub use manifest::{Descriptor, ImageIndex, ImageManifest, Manifest, Platform, RawManifest, MAX_MANIFEST_SIZE};
pub use layout::Layout;
pub use reference::{ImageRef, PinnedRef, Tag, DOCKER_HUB};
pub use store::{BlobReader, Store};
