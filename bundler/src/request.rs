//! What `bundle create` is asked to do, as typed values ([`Request`]), and
//! what is read and checked from it before anything touches the network
//! ([`Inputs`]): a request that cannot work fails fast and offline.

use crate::collect::rekor::RekorClient;
use crate::error::{Error, Result};
use crate::incremental::Previous;
use crate::sboms::OperatorFile;
use crate::trust::TrustInput;
use keys::SigningKey;
use std::sync::Arc;
use oci::{ImageRef, Layout, Platform};
use std::path::{Path, PathBuf};
use verifier::bundle::archive::Compression;

/// When the bundle was made: the one input that varies between two runs
/// over the same images and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The local clock, read by the caller.
    Clock(jiff::Timestamp),
    /// Pinned by the operator (`--created`), for reproducible bundles.
    Pinned(jiff::Timestamp),
}

impl Created {
    /// The instant.
    pub fn at(&self) -> jiff::Timestamp {
        match self {
            Self::Clock(t) | Self::Pinned(t) => *t,
        }
    }
}

/// Where and in which form to write the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A directory (the OCI layout plus airlock's files).
    Directory(PathBuf),
    /// A tar archive, optionally compressed and split into volumes.
    Archive {
        /// `PATH.tar`, `PATH.tar.gz` or `PATH.tar.zst`.
        path: PathBuf,
        /// Its compression.
        compression: Compression,
        /// Volume size, if split.
        split: Option<u64>,
    },
}

impl Output {
    /// `--out PATH [--compress C] [--split-size S]`: a directory unless
    /// `PATH` ends in `.tar`, `.tar.gz` or `.tar.zst`, whose compression
    /// `--compress` must agree with (or is implied by).
    pub fn new(path: PathBuf, compress: Option<Compression>, split: Option<u64>) -> Result<Self> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let implied = [(".tar.gz", Compression::Gzip), (".tar.zst", Compression::Zstd), (".tar", Compression::None)]
            .into_iter()
            .find(|(suffix, _)| name.ends_with(suffix) && name.len() > suffix.len())
            .map(|(_, c)| c);
        match implied {
            Some(compression) => {
                if let Some(given) = compress {
                    if given != compression {
                        return Err(Error::Usage(format!(
                            "--compress {} contradicts --out {} (which means {}): name the archive .tar, .tar.gz or .tar.zst to match",
                            compression_name(given),
                            path.display(),
                            compression_name(compression)
                        )));
                    }
                }
                Ok(Self::Archive { path, compression, split })
            }
            None => {
                if compress.is_some_and(|c| c != Compression::None) {
                    return Err(Error::Usage(format!(
                        "--compress needs an archive: --out {} is a directory (name it PATH.tar.gz or PATH.tar.zst)",
                        path.display()
                    )));
                }
                if split.is_some() {
                    return Err(Error::Usage(format!(
                        "--split-size needs an archive: --out {} is a directory (name it PATH.tar, .tar.gz or .tar.zst)",
                        path.display()
                    )));
                }
                Ok(Self::Directory(path))
            }
        }
    }

    /// The `--out` path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Directory(p) | Self::Archive { path: p, .. } => p,
        }
    }

    /// Where the layout is assembled: the directory itself, or beside the
    /// archive (`PATH.airlock-work/`, kept if the run is interrupted so a
    /// re-run resumes, removed once the archive is complete).
    pub fn work_dir(&self) -> PathBuf {
        match self {
            Self::Directory(p) => p.clone(),
            Self::Archive { path, .. } => {
                let mut name = path.as_os_str().to_os_string();
                name.push(".airlock-work");
                PathBuf::from(name)
            }
        }
    }
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// An SBOM the operator supplies for one of the requested images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSbom {
    /// The SBOM file.
    pub file: PathBuf,
    /// The requested image it describes.
    pub image: ImageRef,
}

/// Everything `bundle create` needs, as typed values.
#[derive(Debug, Clone)]
pub struct Request {
    /// The images, as requested.
    pub images: Vec<ImageRef>,
    /// Where and how to write.
    pub output: Output,
    /// Keep only these platforms of indexes (all when empty).
    pub platforms: Vec<Platform>,
    /// `--policy FILE`: the site's policy, checked before the bundle is final.
    pub policy: Option<PathBuf>,
    /// `--sign-key KEY`: the transfer key, read (and decrypted) by the caller.
    pub sign_key: Option<Arc<SigningKey>>,
    /// `--since PREVIOUS/airlock/manifest.json`.
    pub since: Option<PathBuf>,
    /// `--rekor-url`: the Rekor for SET-only cosign layers, whatever their
    /// log; by default each log is read at the URL the trust root lists.
    pub rekor_url: Option<String>,
    /// The trust material to carry and check with.
    pub trust: TrustInput,
    /// Registry credentials, insecure hosts, retries.
    pub remote: oci::remote::RemoteOptions,
    /// Fetches in flight at once.
    pub jobs: usize,
    /// The creation time.
    pub created: Created,
    /// `--sbom FILE=IMAGE`.
    pub sboms: Vec<OperatorSbom>,
    /// `--advisories DIR`: an OSV snapshot to carry.
    pub advisories: Option<PathBuf>,
    /// `--images-from-sbom FILE`: also bundle the images this SBOM names.
    pub images_from_sbom: Option<PathBuf>,
    /// `--require-digest`: refuse references that name only a tag.
    pub require_digest: bool,
}

/// What `create` reads and checks before the network, in the order an
/// operator fixes them: the policy, the images, the signing key, the
/// bundle extended, the operator's SBOMs, Rekor's URL, the output.
pub(crate) struct Inputs {
    /// `--policy`, parsed.
    pub policy: Option<verifier::policy::Policy>,
    /// The requested images, each once.
    pub images: Vec<ImageRef>,
    /// `--sign-key`, read (and decrypted) by the caller.
    pub sign_key: Option<Arc<SigningKey>>,
    /// `--since`, read.
    pub previous: Option<Previous>,
    /// `--sbom FILE=IMAGE`, read and recognised.
    pub operator_sboms: Vec<OperatorFile>,
    /// `--images-from-sbom`, read and listed.
    pub release_sbom: Option<crate::release_sbom::ReleaseSbom>,
    /// `--rekor-url`, for SET-only cosign layers of every log.
    pub rekor: Option<RekorClient>,
    /// Where the bundle is assembled (the output directory, or the work
    /// directory beside an archive), ready for a run: an earlier run's
    /// blobs kept.
    pub layout: Layout,
    /// Fetches in flight at once (at least 1).
    pub jobs: usize,
    /// `--advisories`, read and checked.
    pub advisories: Option<crate::advisories::Checked>,
}

impl Inputs {
    /// Read and check everything in `request` that needs no network.
    pub fn read(request: &Request) -> Result<Self> {
        let policy = request.policy.as_deref().map(crate::selfcheck::load_policy).transpose()?;
        let release_sbom = request.images_from_sbom.as_deref().map(crate::release_sbom::ReleaseSbom::read).transpose()?;
        let requested: Vec<ImageRef> =
            request.images.iter().chain(release_sbom.iter().flat_map(|s| s.references())).cloned().collect();
        let images = unique_images(&requested)?;
        if request.require_digest {
            let tag_only: Vec<String> = images.iter().filter(|i| i.digest().is_none()).map(ToString::to_string).collect();
            if !tag_only.is_empty() {
                return Err(Error::TagOnly { images: tag_only });
            }
        }
        let sign_key = request.sign_key.clone();
        let previous = request.since.as_deref().map(Previous::read).transpose()?;
        let operator_sboms = OperatorFile::read_all(&request.sboms, &images)?;
        let advisories = request.advisories.as_deref().map(crate::advisories::check).transpose()?;
        let rekor = request
            .rekor_url
            .as_deref()
            .map(|url| RekorClient::new(url).map_err(|e| Error::Usage(format!("--rekor-url {url}: {e:?}"))))
            .transpose()?;
        if let Output::Archive { path, .. } = &request.output {
            if path.is_dir() {
                return Err(Error::Output {
                    path: path.clone(),
                    reason: "is a directory; an archive path must name a file".into(),
                });
            }
        }
        let layout = crate::write::layout::prepare(&request.output.work_dir())?;
        Ok(Self {
            policy,
            images,
            sign_key,
            previous,
            operator_sboms,
            release_sbom,
            rekor,
            layout,
            jobs: request.jobs.max(1),
            advisories,
        })
    }
}

/// Requested references, each once (as the manifest lists them by reference).
fn unique_images(images: &[ImageRef]) -> Result<Vec<ImageRef>> {
    if images.is_empty() {
        return Err(Error::Usage("no images requested".into()));
    }
    let mut unique: Vec<ImageRef> = Vec::new();
    for image in images {
        if !unique.contains(image) {
            unique.push(image.clone());
        }
    }
    Ok(unique)
}
