//! A verified bundle as a read-only [`Store`]: what the site's tools
//! (`site::load`, `airlock serve`) read images from. Only a
//! [`VerifiedBundle`] makes one, so nothing unverified is ever pushed or
//! served.

use crate::verify::VerifiedBundle;
use crate::bundle::manifest::ImageEntry;
use crate::bundle::content::CheckedContent;
use oci::manifest::MAX_MANIFEST_SIZE;
use oci::store::BlobReader;
use oci::{Descriptor, Digest, RawManifest, Store, Tag};
use std::io::Read;
use std::sync::Arc;

type OciResult<T> = oci::Result<T>;

/// A checked bundle, read as a [`Store`]: manifests and blobs come from
/// [`CheckedContent`], which re-hashes every byte while it is read, so what
/// is pushed is exactly what was checked. Read-only; it has no tags (images
/// are found through the bundle manifest, by digest).
#[derive(Clone)]
pub struct BundleStore {
    content: Arc<CheckedContent>,
    images: Vec<ImageEntry>,
    waivers: crate::verify::Waivers,
}

impl BundleStore {
    /// A verified bundle as a store: the only way to make one, so only
    /// verified content is ever loaded or served. It offers the images that
    /// passed verification (all of the bundle's, unless the verification was
    /// explicitly partial).
    pub fn verified(bundle: &VerifiedBundle) -> Self {
        Self { content: bundle.shared_content(), images: bundle.images().to_vec(), waivers: bundle.waivers() }
    }

    /// The break-glass record of an image break-glass admitted, which a
    /// re-signature must say.
    pub fn waiver(&self, image: &ImageEntry) -> Option<&crate::policy::Waiver> {
        crate::verify::waiver_of(&self.waivers, image)
    }

    /// The images this store may load: the ones that passed verification.
    pub fn images(&self) -> &[ImageEntry] {
        &self.images
    }

    /// The checked content.
    pub fn content(&self) -> &CheckedContent {
        &self.content
    }

    fn location_of(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.location())
    }

    fn read_only(&self, operation: &'static str) -> oci::Error {
        oci::Error::Io {
            path: self.content.root().to_path_buf(),
            operation,
            source: std::io::Error::new(std::io::ErrorKind::Unsupported, "a bundle is read-only"),
        }
    }

    /// The verifier's error for a blob, as the store error copy expects:
    /// "not found" when the bundle does not carry it, content otherwise.
    fn blob_error(&self, digest: &Digest, what: &'static str, e: crate::Error) -> oci::Error {
        match e {
            crate::Error::Io { path, source } => oci::Error::Io { path, operation: "read", source },
            crate::Error::Content(crate::ContentError::NotCarried { .. }) => {
                oci::Error::NotFound { location: self.location_of(digest), what }
            }
            other => oci::Error::Io {
                path: self.content.root().to_path_buf(),
                operation: "re-verify a bundle blob",
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
            },
        }
    }
}

/// Stream a blocking reader (the re-verifying bundle reader) of a blob of
/// `size` bytes to async code from a blocking thread, a megabyte at a time
/// at most: hashing stays off the async workers, and a read error (a digest
/// mismatch at end of stream) reaches the consumer as an I/O error. Buffers
/// are no larger than what is left of the blob: a load of thousands of
/// small blobs, `--jobs` at a time, would otherwise hold a megabyte for each
/// (the scale run's load peaked at 127 MiB RSS).
fn blocking_reader(mut reader: impl Read + Send + 'static, size: u64) -> BlobReader {
    const CHUNK: u64 = 1 << 20;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(2);
    tokio::task::spawn_blocking(move || {
        let mut handed = 0u64;
        loop {
            // One byte more than is left, so the end (or a blob longer
            // than listed, which the reader refuses) is read too.
            let want = size.saturating_sub(handed).saturating_add(1).min(CHUNK);
            let mut buffer = vec![0u8; want as usize];
            match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    buffer.truncate(n);
                    handed += n as u64;
                    if tx.blocking_send(Ok(bytes::Bytes::from(buffer))).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Box::pin(tokio_util::io::StreamReader::new(stream))
}

impl Store for BundleStore {
    fn location(&self) -> String {
        format!("bundle:{}", self.content.root().display())
    }

    async fn resolve_tag(&self, tag: &Tag) -> OciResult<Descriptor> {
        Err(oci::Error::NotFound { location: format!("{}:{tag}", self.location()), what: "tag" })
    }

    async fn get_manifest(&self, digest: &Digest) -> OciResult<RawManifest> {
        let content = self.content.clone();
        let d = digest.clone();
        let bytes = tokio::task::spawn_blocking(move || content.read_blob(&d, MAX_MANIFEST_SIZE))
            .await
            .map_err(|_| self.read_only("read manifest"))?
            .map_err(|e| self.blob_error(digest, "manifest", e))?;
        RawManifest::from_bytes(&self.location_of(digest), bytes, None, Some(digest))
    }

    async fn open_blob(&self, descriptor: &Descriptor) -> OciResult<BlobReader> {
        let entry = self.content.manifest.manifest.blob(&descriptor.digest);
        if let Some(entry) = entry.filter(|e| e.size != descriptor.size) {
            return Err(oci::Error::Content {
                location: self.location_of(&descriptor.digest),
                source: oci::DigestError::SizeMismatch {
                    digest: descriptor.digest.clone(),
                    expected: descriptor.size,
                    actual: entry.size,
                },
            });
        }
        let reader = self
            .content
            .open_blob(&descriptor.digest)
            .map_err(|e| self.blob_error(&descriptor.digest, "blob", e))?;
        Ok(blocking_reader(reader, descriptor.size))
    }

    async fn has_blob(&self, descriptor: &Descriptor) -> OciResult<bool> {
        Ok(self
            .content
            .manifest
            .manifest
            .blob(&descriptor.digest)
            .is_some_and(|b| b.carried && b.size == descriptor.size))
    }

    async fn put_blob<R>(&self, _: &Descriptor, _: R) -> OciResult<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        Err(self.read_only("put blob"))
    }

    async fn put_manifest(&self, _: &RawManifest, _: Option<&Tag>) -> OciResult<()> {
        Err(self.read_only("put manifest"))
    }

    async fn list_tags(&self) -> OciResult<Vec<Tag>> {
        Ok(Vec::new())
    }

    async fn referrers(&self, _: &Digest) -> OciResult<Vec<Descriptor>> {
        Ok(Vec::new())
    }

    fn indexes_referrers(&self) -> bool {
        true
    }
}
