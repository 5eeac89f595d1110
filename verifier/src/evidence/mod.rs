//! Untrusted bytes in, typed values out. Nothing in this module decides
//! whether evidence is genuine; [`crate::check`] does that.

pub mod cosign;
pub mod rekor;
pub mod sbom;
pub mod sbom_images;
pub mod sigstore;
pub mod statement;

/// Read at most `limit` bytes of a file, refusing anything larger.
pub(crate) fn read_bounded(path: &std::path::Path, limit: u64) -> crate::Result<Vec<u8>> {
    use std::io::Read;
    let io_error = |source| crate::Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(crate::Error::TooLarge {
            what: path.display().to_string(),
            limit,
        });
    }
    Ok(bytes)
}
