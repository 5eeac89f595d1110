//! One repository of an OCI image layout that holds many, as a [`Store`]:
//! what `airlock load --to dir:PATH` writes and `airlock serve dir:PATH`
//! serves.

use super::Layout;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, RawManifest, ANNOTATION_REF_NAME};
use crate::reference::Tag;
use crate::store::{BlobReader, Root, Store};

/// One repository of an OCI image layout that holds many: its tags are
/// `index.json` entries whose `org.opencontainers.image.ref.name` is
/// `REPOSITORY:TAG`, the same form a bundle's `index.json` uses for its
/// images, so `airlock serve` reads both alike. Blobs are shared by every
/// repository of the layout.
#[derive(Clone, Debug)]
pub struct LayoutRepository {
    layout: Layout,
    name: String,
}

impl LayoutRepository {
    /// The repository `name` in `layout`.
    pub fn new(layout: Layout, name: impl Into<String>) -> Self {
        Self { layout, name: name.into() }
    }

    fn ref_name(&self, tag: &Tag) -> String {
        format!("{}:{tag}", self.name)
    }
}

/// Split a layout reference name `REPOSITORY:TAG` (the repository may hold a
/// registry port) into its parts; `None` for plain tags and other names.
fn split_ref_name(name: &str) -> Option<(&str, Tag)> {
    let slash = name.rfind('/')?;
    let colon = slash + name[slash..].find(':')?;
    let tag = name[colon + 1..].parse().ok()?;
    Some((&name[..colon], tag))
}

impl Store for LayoutRepository {
    fn location(&self) -> String {
        format!("{}#{}", self.layout.location(), self.name)
    }

    async fn resolve_tag(&self, tag: &Tag) -> Result<Descriptor> {
        let wanted = self.ref_name(tag);
        let entry = self
            .layout
            .entries()
            .into_iter()
            .find(|d| d.ref_name() == Some(wanted.as_str()))
            .ok_or_else(|| Error::NotFound { location: format!("{}:{tag}", self.location()), what: "tag" })?;
        Ok(Descriptor { annotations: Default::default(), ..entry })
    }

    async fn get_manifest(&self, digest: &Digest) -> Result<RawManifest> {
        self.layout.get_manifest(digest).await
    }

    async fn open_blob(&self, descriptor: &Descriptor) -> Result<BlobReader> {
        self.layout.open_blob(descriptor).await
    }

    async fn has_blob(&self, descriptor: &Descriptor) -> Result<bool> {
        self.layout.has_blob(descriptor).await
    }

    async fn put_blob<R>(&self, descriptor: &Descriptor, reader: R) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
    {
        self.layout.put_blob(descriptor, reader).await
    }

    async fn put_manifest(&self, manifest: &RawManifest, tag: Option<&Tag>) -> Result<()> {
        self.layout.put_manifest(manifest, None).await?;
        if let Some(tag) = tag {
            self.layout
                .add_descriptor(manifest.descriptor().with_annotation(ANNOTATION_REF_NAME, self.ref_name(tag)))?;
        }
        Ok(())
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        let mut tags: Vec<Tag> = self
            .layout
            .entries()
            .iter()
            .filter_map(|d| d.ref_name().and_then(split_ref_name))
            .filter(|(repo, _)| *repo == self.name)
            .map(|(_, tag)| tag)
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn referrers(&self, _: &Digest) -> Result<Vec<Descriptor>> {
        // The layout's own referrer scan spans every repository; this
        // repository's referrers are listed by the tag-schema index that
        // `put_referrer` maintains under its name.
        Ok(Vec::new())
    }

    fn indexes_referrers(&self) -> bool {
        false
    }
}

impl Layout {
    /// The repositories of a layout that holds many (what `load --to dir:PATH`
    /// writes): one root per `REPOSITORY:TAG` entry of its `index.json`.
    pub fn repository_roots(&self) -> Vec<Root> {
        self
            .entries()
            .into_iter()
            .filter_map(|d| {
                let (repository, tag) = d.ref_name().and_then(split_ref_name)?;
                let repository = repository.to_string();
                Some(Root { repository, tag: Some(tag), descriptor: Descriptor { annotations: Default::default(), ..d } })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_split_at_the_tag_colon() {
        let (repo, tag) = split_ref_name("127.0.0.1:5000/mirror/app:v1").unwrap();
        assert_eq!((repo, tag.as_str()), ("127.0.0.1:5000/mirror/app", "v1"));
        let (repo, tag) = split_ref_name("ghcr.io/org/app:sha256-abc.sig").unwrap();
        assert_eq!((repo, tag.as_str()), ("ghcr.io/org/app", "sha256-abc.sig"));
        assert!(split_ref_name("v1").is_none());
        assert!(split_ref_name("localhost:5000/app").is_none());
        assert!(split_ref_name("a/b:bad tag").is_none());
    }
}
