//! The site's own index for an image bundled with `--platform`.
//!
//! The bundle carries the publisher's index byte for byte (its signature
//! covers those bytes) but only the children the operator asked for. A
//! registry that checks an index's children (CNCF distribution, as Debian
//! ships it) refuses that index: it lists manifests the site does not have.
//! So load pushes, under the image's tag, an index of the site's own that
//! lists exactly the carried children (every other field kept), annotated
//! with the publisher's index it was cut from. The site re-signs that index,
//! pins workloads to it and reports it; the publisher's index stays the
//! evidence the import was judged on (see docs/bundle-format.md).

use crate::{Error, Result};
use oci::{Descriptor, Manifest, RawManifest};
use std::collections::BTreeSet;

/// The annotation naming the publisher's index a site index was cut from.
pub const FILTERED_FROM_ANNOTATION: &str = "dev.airlock.filtered-from";

/// `index` without the entries in `dropped`, annotated with
/// [`FILTERED_FROM_ANNOTATION`]; an error if `index` is not an index.
pub fn site_index(index: &RawManifest, dropped: &[Descriptor]) -> Result<RawManifest> {
    let Manifest::Index(parsed) = index.manifest() else {
        return Err(Error::Invalid(format!("{}: platforms were left out of a manifest that is not an index", index.digest())));
    };
    let left_out: BTreeSet<_> = dropped.iter().map(|d| &d.digest).collect();
    let mut filtered = parsed.clone();
    filtered.manifests.retain(|m| !left_out.contains(&m.digest));
    filtered.annotations.insert(FILTERED_FROM_ANNOTATION.to_string(), index.digest().to_string());
    let bytes = serde_json::to_vec(&filtered).map_err(|e| Error::Invalid(format!("the site index for {}: {e}", index.digest())))?;
    RawManifest::from_bytes("the site's index", bytes, Some(index.media_type()), None).map_err(Into::into)
}
