//! The connected side: fetch OSV data over HTTP(S) and write a snapshot
//! (format in [`crate::snapshot`]).
//!
//! Each `--source` URL is one of:
//! - an archive (the path ends in `.zip`): OSV's per-ecosystem export,
//!   `https://osv-vulnerabilities.storage.googleapis.com/<ECOSYSTEM>/all.zip`;
//! - a directory (any other URL), tried in this order:
//!   1. `<dir>/all.zip`: OSV's bucket layout, `<ECOSYSTEM>/` given as base;
//!   2. `<dir>/modified_id.csv`: OSV's per-ecosystem listing
//!      (`<modified>,<ID>` per line), each record then fetched as
//!      `<dir>/<ID>.json`;
//!   3. `<dir>/` itself: a web server's directory listing, every link to a
//!      plain `<name>.json` in it fetched.
//!
//! Every response is bounded (an archive by [`Limits::max_download`], a
//! record by [`MAX_RECORD_BYTES`]) and every record is parsed before the
//! snapshot is written, so a source that is not OSV data is refused at
//! fetch time, named, and nothing is written. The snapshot appears whole
//! (one rename) or not at all.

use crate::error::{Error, Result};
use crate::osv::{Record, MAX_RECORD_BYTES};
use crate::snapshot::{
    hash_reader, read_zip, Counts, FileEntry, Index, Layout, Limits, SourceEntry, INDEX_FILE,
    INDEX_MEDIA_TYPE,
};
use jiff::Timestamp;
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A listing (modified_id.csv, a directory page) is never this large.
const MAX_LISTING_BYTES: u64 = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// What to fetch and where to put it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// Source URLs, in order.
    pub sources: Vec<String>,
    /// The snapshot directory to create (absent or empty).
    pub out: PathBuf,
    /// The wall clock when the fetch started (recorded in index.json).
    pub fetched_at: Timestamp,
    /// Size and count bounds.
    pub limits: Limits,
}

impl FetchOptions {
    /// Options with the default limits.
    pub fn new(sources: Vec<String>, out: &Path, fetched_at: Timestamp) -> Self {
        Self {
            sources,
            out: out.to_path_buf(),
            fetched_at,
            limits: Limits::default(),
        }
    }
}

/// What a fetch wrote.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FetchReport {
    /// The snapshot directory.
    pub out: PathBuf,
    /// How each source was read, in order (`all.zip`, `modified_id.csv`,
    /// `directory listing`).
    pub resolved: Vec<String>,
    /// The index written.
    pub index: Index,
}

/// Fetch every source and write the snapshot.
pub async fn fetch(options: &FetchOptions) -> Result<FetchReport> {
    if options.sources.is_empty() {
        return Err(Error::Usage("no source to fetch from".into()));
    }
    let http = Http::new()?;
    let mut writer = SnapshotWriter::new(&options.out)?;
    let mut resolved = Vec::new();
    for (i, url) in options.sources.iter().enumerate() {
        if options.sources[..i].contains(url) {
            return Err(Error::Usage(format!("source {url} is given twice")));
        }
        let (rel, dir) = writer.next_source_dir()?;
        let fetched = fetch_source(&http, url, &rel, &dir, &options.limits).await?;
        resolved.push(fetched.how.to_string());
        writer.add_source(url, fetched.layout, fetched.files, fetched.counts);
    }
    let index = writer.finish(options.fetched_at)?;
    Ok(FetchReport {
        out: options.out.clone(),
        resolved,
        index,
    })
}

struct Fetched {
    layout: Layout,
    files: Vec<FileEntry>,
    counts: Counts,
    how: &'static str,
}

async fn fetch_source(
    http: &Http,
    url: &str,
    rel: &str,
    dir: &Path,
    limits: &Limits,
) -> Result<Fetched> {
    let parsed = parse_url(url)?;
    if parsed.path().ends_with(".zip") {
        return fetch_zip(http, url, rel, dir, limits)
            .await?
            .ok_or_else(|| Error::Source {
                url: url.into(),
                reason: "not found".into(),
            });
    }
    let base = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    if let Some(fetched) = fetch_zip(http, &format!("{base}all.zip"), rel, dir, limits).await? {
        return Ok(fetched);
    }
    let names = match http
        .get_bytes(&format!("{base}modified_id.csv"), MAX_LISTING_BYTES)
        .await?
    {
        Some(csv) => (ids_from_csv(&csv, url)?, "modified_id.csv"),
        None => match http.get_bytes(&base, MAX_LISTING_BYTES).await? {
            Some(page) => (json_links(&page), "directory listing"),
            None => {
                return Err(Error::Source {
                    url: url.into(),
                    reason: "no all.zip, modified_id.csv or directory listing there".into(),
                })
            }
        },
    };
    let (names, how) = names;
    if names.is_empty() {
        return Err(Error::Source {
            url: url.into(),
            reason: format!("the {how} names no OSV records"),
        });
    }
    if names.len() as u64 > limits.max_files {
        return Err(Error::TooMany {
            what: url.into(),
            items: "records",
            limit: limits.max_files,
        });
    }
    let mut counts = Counts::default();
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let record_url = format!("{base}{name}");
        let bytes = http
            .get_bytes(&record_url, MAX_RECORD_BYTES as u64)
            .await?
            .ok_or_else(|| Error::Source {
                url: record_url.clone(),
                reason: format!("listed in the {how} but not found"),
            })?;
        counts.add(&Record::parse(&bytes, &record_url)?);
        let path = dir.join(&name);
        std::fs::write(&path, &bytes).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        files.push(FileEntry {
            path: format!("{rel}/{name}"),
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            size: bytes.len() as u64,
        });
    }
    Ok(Fetched {
        layout: Layout::OsvJson,
        files,
        counts,
        how,
    })
}

/// An OSV zip export, downloaded into the source's directory and every
/// record in it parsed; `None` when the server has no such file.
async fn fetch_zip(
    http: &Http,
    url: &str,
    rel: &str,
    dir: &Path,
    limits: &Limits,
) -> Result<Option<Fetched>> {
    let path = dir.join("all.zip");
    if !http.download(url, &path, limits.max_download).await? {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let mut counts = Counts::default();
    read_zip(file, url, limits, |record| counts.add(&record))?;
    if counts.records == 0 {
        return Err(Error::Source {
            url: url.into(),
            reason: "the archive holds no OSV records".into(),
        });
    }
    let files = vec![file_entry(format!("{rel}/all.zip"), &path)?];
    Ok(Some(Fetched {
        layout: Layout::OsvZip,
        files,
        counts,
        how: "all.zip",
    }))
}

/// Record ids from OSV's `modified_id.csv` (`<RFC 3339 time>,<ID>`), as
/// `<ID>.json` file names.
fn ids_from_csv(csv: &[u8], url: &str) -> Result<Vec<String>> {
    let text = std::str::from_utf8(csv).map_err(|_| Error::Source {
        url: url.into(),
        reason: "modified_id.csv is not UTF-8".into(),
    })?;
    let mut names = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        let bad = |why: &str| Error::Source {
            url: url.into(),
            reason: format!("modified_id.csv line {}: {why}", n + 1),
        };
        let (modified, id) = line
            .split_once(',')
            .ok_or_else(|| bad("not <modified>,<id>"))?;
        if modified.parse::<Timestamp>().is_err() {
            return Err(bad("the first field is not an RFC 3339 time"));
        }
        let name = format!("{id}.json");
        if !is_plain_name(&name) {
            return Err(bad("the id is not a plain file name"));
        }
        names.push(name);
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Links to `<name>.json` in a directory listing page: `href` values that
/// are plain file names. Anything else (parent links, subdirectories,
/// absolute URLs, queries) is not a record of this directory.
fn json_links(page: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(page);
    let mut names: Vec<String> = text
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.strip_prefix("./").unwrap_or(href).to_string())
        .filter(|name| name.ends_with(".json") && is_plain_name(name))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `[A-Za-z0-9._-]+`, not starting with `.`: safe as one file name and as
/// one URL path segment, as OSV ids are.
fn is_plain_name(name: &str) -> bool {
    !name.starts_with('.')
        && !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_url(url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::Usage(format!("invalid source URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(Error::Usage(format!(
            "source {url:?} is not an http(s) URL without query"
        )));
    }
    Ok(parsed)
}

struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport {
                url: String::new(),
                message: "cannot build an HTTP client".into(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self { client })
    }

    /// GET, `None` for 404/403 (what object stores answer for a missing
    /// key), the response otherwise, refused above `max` bytes by its
    /// declared length.
    async fn get(&self, url: &str, max: u64) -> Result<Option<reqwest::Response>> {
        let transport = |message: String, e: Option<reqwest::Error>| Error::Transport {
            url: url.into(),
            message,
            source: e.map(|e| Box::new(e) as _),
        };
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| transport("request failed".into(), Some(e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(transport(format!("HTTP status {status}"), None));
        }
        if response.content_length().is_some_and(|len| len > max) {
            return Err(Error::TooLarge {
                what: url.into(),
                limit: max,
            });
        }
        Ok(Some(response))
    }

    /// The body, at most `max` bytes, counted as it arrives.
    async fn get_bytes(&self, url: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Some(mut response) = self.get(url, max).await? else {
            return Ok(None);
        };
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk(&mut response, url).await? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(Error::TooLarge {
                    what: url.into(),
                    limit: max,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// Stream the body into `path`, at most `max` bytes; `false` when absent.
    async fn download(&self, url: &str, path: &Path, max: u64) -> Result<bool> {
        let Some(mut response) = self.get(url, max).await? else {
            return Ok(false);
        };
        let write_error = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::create(path).map_err(write_error)?;
        let mut written = 0u64;
        while let Some(chunk) = self.chunk(&mut response, url).await? {
            written += chunk.len() as u64;
            if written > max {
                return Err(Error::TooLarge {
                    what: url.into(),
                    limit: max,
                });
            }
            file.write_all(&chunk).map_err(write_error)?;
        }
        file.sync_all().map_err(write_error)?;
        Ok(true)
    }

    async fn chunk(
        &self,
        response: &mut reqwest::Response,
        url: &str,
    ) -> Result<Option<bytes::Bytes>> {
        response.chunk().await.map_err(|e| Error::Transport {
            url: url.into(),
            message: "reading the response failed".into(),
            source: Some(Box::new(e)),
        })
    }
}

/// Builds a snapshot directory beside its destination and moves it into
/// place whole (one rename), so a failed fetch leaves nothing behind.
struct SnapshotWriter {
    staging: tempfile::TempDir,
    out: PathBuf,
    sources: Vec<SourceEntry>,
    files: Vec<FileEntry>,
}

impl SnapshotWriter {
    /// Start a snapshot that will appear at `out` (absent or empty).
    fn new(out: &Path) -> Result<Self> {
        ensure_empty_or_absent(out)?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|source| Error::Write {
            path: parent.clone(),
            source,
        })?;
        let staging = tempfile::Builder::new()
            .prefix(".airlock-advisories-")
            .tempdir_in(&parent)
            .map_err(|source| Error::Write {
                path: parent.clone(),
                source,
            })?;
        Ok(Self {
            staging,
            out: out.to_path_buf(),
            sources: Vec::new(),
            files: Vec::new(),
        })
    }

    /// The directory of the next source (`sources/<N>`), created.
    fn next_source_dir(&self) -> Result<(String, PathBuf)> {
        let rel = format!("sources/{}", self.sources.len());
        let path = self.staging.path().join(&rel);
        std::fs::create_dir_all(&path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok((rel, path))
    }

    /// Record a source whose files are in `next_source_dir()`, with each
    /// file's digest and size and its records' counts.
    fn add_source(&mut self, url: &str, layout: Layout, files: Vec<FileEntry>, counts: Counts) {
        let path = format!("sources/{}", self.sources.len());
        self.files.extend(files);
        self.sources.push(SourceEntry {
            url: url.to_string(),
            layout,
            path,
            records: counts.records,
            withdrawn: counts.withdrawn,
            ecosystems: counts.ecosystems,
        });
    }

    /// Write index.json and move the snapshot into place.
    fn finish(self, fetched_at: Timestamp) -> Result<Index> {
        let index = Index {
            media_type: INDEX_MEDIA_TYPE.to_string(),
            airlock_version: env!("CARGO_PKG_VERSION").to_string(),
            fetched_at,
            sources: self.sources,
            files: self.files,
        };
        let json = serde_json::to_vec_pretty(&index)
            .map_err(|e| Error::Usage(format!("internal: index.json: {e}")))?;
        let index_path = self.staging.path().join(INDEX_FILE);
        std::fs::write(&index_path, json).map_err(|source| Error::Write {
            path: index_path,
            source,
        })?;
        let staged = self.staging.keep();
        if self.out.exists() {
            std::fs::remove_dir(&self.out).map_err(|source| Error::Write {
                path: self.out.clone(),
                source,
            })?;
        }
        std::fs::rename(&staged, &self.out).map_err(|source| Error::Write {
            path: self.out.clone(),
            source,
        })?;
        Ok(index)
    }
}

fn ensure_empty_or_absent(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(Error::OutputExists {
                path: out.to_path_buf(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Read {
            path: out.to_path_buf(),
            source,
        }),
    }
}

/// SHA-256 and size of a file written into a snapshot.
fn file_entry(rel: String, path: &Path) -> Result<FileEntry> {
    let mut file = std::fs::File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (size, sha256) = hash_reader(&mut file, path)?;
    Ok(FileEntry {
        path: rel,
        sha256,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_yield_plain_json_names_only() {
        let page = br#"<ul><li><a href="../">..</a></li><li><a href="GHSA-1.json">x</a></li>
            <li><a href="sub/">sub/</a></li><li><a href="/etc/x.json">x</a></li><li><a href="./PYSEC-2.json">y</a></li>
            <li><a href="a%2Fb.json">z</a></li><li><a href="http://h/x.json">w</a></li><li><a href="notes.txt">n</a></li>"#;
        assert_eq!(json_links(page), ["GHSA-1.json", "PYSEC-2.json"]);
    }

    #[test]
    fn modified_id_csv_names_records() {
        let csv = b"2024-05-01T00:00:00Z,GHSA-b\n2024-04-01T12:00:00.5Z,GHSA-a\n\n";
        assert_eq!(
            ids_from_csv(csv, "u").unwrap(),
            ["GHSA-a.json", "GHSA-b.json"]
        );
        assert!(ids_from_csv(b"yesterday,GHSA-a\n", "u").is_err());
        assert!(ids_from_csv(b"2024-05-01T00:00:00Z,../../etc/passwd\n", "u").is_err());
    }
}
