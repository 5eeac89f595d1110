//! `--advisories DIR`: an OSV snapshot (`airlock advisories fetch`) carried
//! in the bundle's `airlock/advisories/`. It is checked as the site will
//! read it before anything touches the network, then copied file by file
//! (`index.json` and exactly the files it lists); the manifest lists the
//! copies, so the content check and the transfer signature cover them.

use crate::error::{Error, Result};
use advisories::snapshot::{Index, INDEX_FILE};
use std::path::{Path, PathBuf};
use verifier::bundle::manifest::ADVISORIES_DIR;

/// A snapshot read and checked, ready to be carried.
#[derive(Debug)]
pub struct Checked {
    /// Where it is.
    pub dir: PathBuf,
    /// Its index.
    pub index: Index,
    /// Records matched against (withdrawn and duplicate ones left out).
    pub records: usize,
}

/// What the bundle carries, for the report.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Carried {
    /// Its directory in the bundle.
    pub path: &'static str,
    /// When it was fetched (the connected side's clock at fetch time).
    pub fetched_at: jiff::Timestamp,
    /// Its sources.
    pub sources: Vec<String>,
    /// Records matched against.
    pub records: usize,
    /// Files carried, index.json included.
    pub files: usize,
}

/// Read and check the snapshot in `dir`: every file against its index,
/// every record parsed.
pub fn check(dir: &Path) -> Result<Checked> {
    let snapshot = advisories::open_snapshot(dir, &advisories::Limits::default()).map_err(|source| Error::Advisories {
        path: dir.to_path_buf(),
        source: Box::new(source),
    })?;
    Ok(Checked { dir: dir.to_path_buf(), records: snapshot.database.len(), index: snapshot.index })
}

/// Replace `root/airlock/advisories` with a copy of `checked` (or remove
/// it, so a re-run without `--advisories` carries none).
pub fn carry(checked: Option<&Checked>, root: &Path) -> Result<Option<Carried>> {
    let target = crate::write::manifest::under(root, ADVISORIES_DIR);
    match std::fs::remove_dir_all(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&target, "remove stale advisories", e)),
    }
    let Some(checked) = checked else { return Ok(None) };
    let files = std::iter::once(INDEX_FILE).chain(checked.index.files.iter().map(|f| f.path.as_str()));
    let mut count = 0;
    for relative in files {
        let (from, to) = (crate::write::manifest::under(&checked.dir, relative), crate::write::manifest::under(&target, relative));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
        }
        std::fs::copy(&from, &to).map_err(|e| Error::io(&from, "copy into the bundle", e))?;
        count += 1;
    }
    Ok(Some(Carried {
        path: ADVISORIES_DIR,
        fetched_at: checked.index.fetched_at,
        sources: checked.index.sources.iter().map(|s| s.url.clone()).collect(),
        records: checked.records,
        files: count,
    }))
}
