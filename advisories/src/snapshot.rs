//! The advisories snapshot that crosses the air gap, and reading it back.
//!
//! Written by [`crate::fetch`]; read back here.
//!
//! ```text
//! DIR/index.json            sources, fetch time, record counts, every file's sha256 and size
//! DIR/sources/<N>/all.zip   an OSV per-ecosystem export, as fetched
//! DIR/sources/<N>/<ID>.json OSV records, as fetched from a plain directory
//! ```
//!
//! Reading a snapshot checks every file against the index (size and
//! sha256, hashed from the same open file that is then parsed), refuses
//! files the index does not list, parses every record (a zip's entries
//! bounded in count and size), and checks the record counts per source and
//! ecosystem against the index. Nothing is matched until all of that holds.
//! The index itself is not signed: inside the air gap the transfer bundle's
//! signature covers it once bundles carry snapshots.

use crate::database::Database;
use crate::error::{Error, Result};
use crate::osv::{Record, MAX_RECORD_BYTES};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Component, Path};

/// Media type of a snapshot's index.json.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.airlock.advisories.snapshot.v1+json";
/// The index file's name.
pub const INDEX_FILE: &str = "index.json";

const INDEX_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Bounds on what a snapshot may hold.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Limits {
    /// Files in the snapshot.
    pub max_files: u64,
    /// Entries in one zip archive.
    pub max_zip_entries: u64,
    /// Uncompressed bytes of one zip archive, all entries together.
    pub max_zip_uncompressed: u64,
    /// Bytes of one downloaded file (an all.zip) before it is unpacked.
    pub max_download: u64,
}

impl Default for Limits {
    /// OSV's largest per-ecosystem exports hold a few hundred thousand
    /// records and a few GiB of JSON; these leave room and stop bombs.
    fn default() -> Self {
        Self {
            max_files: 2_000_000,
            max_zip_entries: 2_000_000,
            max_zip_uncompressed: 32 << 30,
            max_download: 8 << 30,
        }
    }
}

/// How a source's files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One zip archive of OSV records (OSV's `<ECOSYSTEM>/all.zip`).
    OsvZip,
    /// OSV records, one JSON file each.
    OsvJson,
}

/// One source in the index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceEntry {
    /// The URL it was fetched from.
    pub url: String,
    /// How its files are laid out.
    pub layout: Layout,
    /// Its directory inside the snapshot (`sources/0`).
    pub path: String,
    /// Records it holds.
    pub records: u64,
    /// Of those, withdrawn.
    pub withdrawn: u64,
    /// Records per ecosystem name (a record naming two ecosystems counts in
    /// both).
    pub ecosystems: BTreeMap<String, u64>,
}

/// One file in the index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the snapshot directory, `/`-separated.
    pub path: String,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// index.json.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Index {
    /// [`INDEX_MEDIA_TYPE`].
    pub media_type: String,
    /// The airlock that wrote it.
    pub airlock_version: String,
    /// When the fetch started (the connected side's clock).
    pub fetched_at: Timestamp,
    /// Sources, in the order given.
    pub sources: Vec<SourceEntry>,
    /// Every file besides index.json.
    pub files: Vec<FileEntry>,
}

/// A snapshot read back and checked.
#[derive(Debug)]
#[non_exhaustive]
pub struct Snapshot {
    /// Its index (every file checked against it).
    pub index: Index,
    /// Its records, indexed for matching.
    pub database: Database,
}

/// Read and check the snapshot in `dir`.
pub fn open(dir: &Path, limits: &Limits) -> Result<Snapshot> {
    let index = read_index(dir)?;
    check_listing(dir, &index, limits)?;
    let mut records = Vec::new();
    for source in &index.sources {
        let mut counts = Counts::default();
        for file in index
            .files
            .iter()
            .filter(|f| in_source(&f.path, &source.path))
        {
            let read = read_checked(dir, file, source.layout, limits)?;
            for record in read {
                counts.add(&record);
                records.push(record);
            }
        }
        counts.check(source)?;
    }
    Ok(Snapshot {
        index,
        database: Database::new(records),
    })
}

fn in_source(file: &str, source_dir: &str) -> bool {
    file.strip_prefix(source_dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

fn read_index(dir: &Path) -> Result<Index> {
    let path = dir.join(INDEX_FILE);
    let file = File::open(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(INDEX_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
    if bytes.len() as u64 > INDEX_MAX_BYTES {
        return Err(Error::TooLarge {
            what: path.display().to_string(),
            limit: INDEX_MAX_BYTES,
        });
    }
    let bad = |reason: String| Error::MalformedIndex {
        path: path.clone(),
        reason,
    };
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if index.media_type != INDEX_MEDIA_TYPE {
        return Err(bad(format!(
            "mediaType {:?}, expected {INDEX_MEDIA_TYPE}",
            index.media_type
        )));
    }
    if index.sources.is_empty() {
        return Err(bad(
            "no sources: a snapshot without advisories cannot vouch for anything".into(),
        ));
    }
    for source in &index.sources {
        safe_relative(&source.path)
            .map_err(|e| bad(format!("source path {:?}: {e}", source.path)))?;
    }
    for file in &index.files {
        safe_relative(&file.path).map_err(|e| bad(format!("file path {:?}: {e}", file.path)))?;
        if !index.sources.iter().any(|s| in_source(&file.path, &s.path)) {
            return Err(bad(format!("file {} belongs to no source", file.path)));
        }
        if file.sha256.len() != 64
            || !file
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(format!(
                "file {}: sha256 is not 64 lowercase hex digits",
                file.path
            )));
        }
    }
    Ok(index)
}

/// A `/`-separated relative path with no `.`, `..`, empty or absolute part.
pub(crate) fn safe_relative(path: &str) -> std::result::Result<(), &'static str> {
    if path.is_empty()
        || path.contains('\\')
        || path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err("not a plain relative path");
    }
    if Path::new(path)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err("not a plain relative path");
    }
    Ok(())
}

/// Every file present is index.json or listed; every listed file exists.
fn check_listing(dir: &Path, index: &Index, limits: &Limits) -> Result<()> {
    let listed: std::collections::HashSet<&str> =
        index.files.iter().map(|f| f.path.as_str()).collect();
    let mut present = 0u64;
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let entries = std::fs::read_dir(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type().map_err(|source| Error::Read {
                path: entry.path(),
                source,
            })?;
            if kind.is_dir() {
                stack.push((entry.path(), child_rel));
            } else if child_rel != INDEX_FILE && !listed.contains(child_rel.as_str()) {
                return Err(Error::UnlistedFile { path: entry.path() });
            }
            present += 1;
            if present > limits.max_files {
                return Err(Error::TooMany {
                    what: dir.display().to_string(),
                    items: "files",
                    limit: limits.max_files,
                });
            }
        }
    }
    Ok(())
}

/// Open a listed file, check its size and digest, and parse its records.
fn read_checked(
    dir: &Path,
    entry: &FileEntry,
    layout: Layout,
    limits: &Limits,
) -> Result<Vec<Record>> {
    let path = dir.join(&entry.path);
    let mut file = File::open(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::MissingFile { path: path.clone() },
        _ => Error::Read {
            path: path.clone(),
            source,
        },
    })?;
    let is_zip = entry.path.ends_with(".zip");
    // A JSON record is hashed from the bytes that are parsed; a zip is
    // hashed from the open file, then read from the same handle.
    let mut bytes = Vec::new();
    let (size, digest) = if is_zip {
        hash_reader(&mut file, &path)?
    } else {
        (&mut file)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
        (bytes.len() as u64, hex::encode(Sha256::digest(&bytes)))
    };
    if size != entry.size {
        return Err(Error::Mismatch {
            path,
            what: "size",
            expected: entry.size.to_string(),
            found: size.to_string(),
        });
    }
    if digest != entry.sha256 {
        return Err(Error::Mismatch {
            path,
            what: "sha256",
            expected: entry.sha256.clone(),
            found: digest,
        });
    }
    match (layout, is_zip) {
        (Layout::OsvZip, true) => {
            file.rewind().map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let mut records = Vec::new();
            read_zip(file, &entry.path, limits, |record| records.push(record))?;
            Ok(records)
        }
        (Layout::OsvJson, false) if entry.path.ends_with(".json") => {
            Ok(vec![Record::parse(&bytes, &entry.path)?])
        }
        _ => Err(Error::MalformedRecord {
            location: entry.path.clone(),
            reason: format!("not a file a {layout:?} source holds"),
        }),
    }
}

pub(crate) fn hash_reader(reader: &mut impl Read, path: &Path) -> Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buffer).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Every record in an OSV zip export, bounded: entry count, each entry's
/// size (declared and actual), the total uncompressed size.
pub(crate) fn read_zip<R: Read + Seek>(
    reader: R,
    location: &str,
    limits: &Limits,
    mut each: impl FnMut(Record),
) -> Result<()> {
    let zip_error = |e: zip::result::ZipError| Error::Zip {
        location: location.to_string(),
        reason: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    if archive.len() as u64 > limits.max_zip_entries {
        return Err(Error::TooMany {
            what: location.to_string(),
            items: "zip entries",
            limit: limits.max_zip_entries,
        });
    }
    let mut total = 0u64;
    let mut bytes = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(zip_error)?;
        let name = file.name().to_string();
        let at = format!("{location}: {name}");
        if file.is_dir() {
            continue;
        }
        if !name.ends_with(".json") {
            return Err(Error::MalformedRecord {
                location: at,
                reason: "an OSV export holds only .json records".into(),
            });
        }
        if file.size() > MAX_RECORD_BYTES as u64 {
            return Err(Error::TooLarge {
                what: at,
                limit: MAX_RECORD_BYTES as u64,
            });
        }
        bytes.clear();
        (&mut file)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Zip {
                location: at.clone(),
                reason: e.to_string(),
            })?;
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                what: at,
                limit: MAX_RECORD_BYTES as u64,
            });
        }
        total += bytes.len() as u64;
        if total > limits.max_zip_uncompressed {
            return Err(Error::TooLarge {
                what: format!("{location} (uncompressed)"),
                limit: limits.max_zip_uncompressed,
            });
        }
        each(Record::parse(&bytes, &at)?);
    }
    Ok(())
}

/// Record counts of one source, as the index records them.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub records: u64,
    pub withdrawn: u64,
    pub ecosystems: BTreeMap<String, u64>,
}

impl Counts {
    pub(crate) fn add(&mut self, record: &Record) {
        self.records += 1;
        self.withdrawn += u64::from(record.withdrawn.is_some());
        for ecosystem in record.ecosystems() {
            *self.ecosystems.entry(ecosystem.to_string()).or_default() += 1;
        }
    }

    fn check(&self, source: &SourceEntry) -> Result<()> {
        let mismatch = |ecosystem: &str, expected: u64, found: u64| Error::CountMismatch {
            source_url: source.url.clone(),
            ecosystem: ecosystem.to_string(),
            expected,
            found,
        };
        if self.records != source.records {
            return Err(mismatch("(all)", source.records, self.records));
        }
        if self.withdrawn != source.withdrawn {
            return Err(mismatch("withdrawn", source.withdrawn, self.withdrawn));
        }
        let names: std::collections::BTreeSet<&String> = self
            .ecosystems
            .keys()
            .chain(source.ecosystems.keys())
            .collect();
        for name in names {
            let (expected, found) = (
                source.ecosystems.get(name).copied().unwrap_or(0),
                self.ecosystems.get(name).copied().unwrap_or(0),
            );
            if expected != found {
                return Err(mismatch(name, expected, found));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_must_stay_inside_the_snapshot() {
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert!(safe_relative("sources/0/all.zip").is_ok());
    }
}
