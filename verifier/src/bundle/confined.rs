//! Opening what a bundle names without ever leaving the bundle.
//!
//! Every path taken from a bundle (a listed file, the trust directory, a
//! blob's digest path) is a plain relative path, checked component by
//! component ([`plain_components`]). It is then opened one component at a
//! time, each relative to the directory descriptor opened before it
//! (`openat` with `O_NOFOLLOW`), starting from a descriptor of the bundle's
//! root (or airlock's private work directory). A symbolic link anywhere on
//! the way, a FIFO, a device or a directory where a file should be is
//! refused, and because every step starts from an already-open directory,
//! replacing a directory with a symbolic link after a check changes nothing:
//! there is no window between checking a path and opening it.
//!
//! This is `openat` confinement through `rustix` (already built for
//! `tempfile`), rather than `cap-std`: cap-std follows symbolic links that
//! stay inside its root, and a bundle may hold none at all.

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Whether `path` is a plain relative path: not empty, no leading `/`, no
/// empty, `.` or `..` component, printable ASCII only. The one rule for
/// every path a bundle names (manifest entries, trust paths, archive names).
pub fn plain_components(path: &str) -> bool {
    !path.is_empty()
        && path.bytes().all(|b| b.is_ascii_graphic())
        && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A directory everything is opened beneath.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    path: PathBuf,
}

/// What a directory entry is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// Why a path was not opened; carried inside the `io::Error` so callers can
/// tell a refusal from an I/O failure ([`Refusal::within`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct Refusal {
    /// The path as given (relative to the root), or the component where
    /// opening stopped.
    pub path: String,
    /// Why.
    pub reason: &'static str,
}

impl Refusal {
    /// The refusal inside an I/O error from this module, if that is what it is.
    pub fn within(error: &io::Error) -> Option<&Self> {
        error.get_ref().and_then(|e| e.downcast_ref::<Self>())
    }
}

fn refused(path: &str, reason: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, Refusal { path: path.to_string(), reason })
}

/// A symbolic link met with `O_NOFOLLOW` fails with `ELOOP` (or, for
/// `O_DIRECTORY`, `ENOTDIR`): say what it was.
fn explain(path: &str, error: rustix::io::Errno) -> io::Error {
    match error {
        rustix::io::Errno::LOOP => refused(path, "a symbolic link (a bundle holds regular files only)"),
        rustix::io::Errno::NOTDIR => refused(path, "a symbolic link or file where a directory should be"),
        other => io::Error::from(other),
    }
}

impl Root {
    /// Open `path` (the operator's own choice of directory, followed if it
    /// is a link) as the root everything else is confined to.
    pub fn open(path: &Path) -> io::Result<Self> {
        let dir = rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Self { dir, path: path.to_path_buf() })
    }

    /// The root's path, for messages and for code that reads by path what
    /// airlock itself wrote.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open the regular file at `relative` beneath the root.
    pub fn open_file(&self, relative: &str) -> io::Result<File> {
        let (parent, name) = self.parent_of(relative)?;
        let parent = parent.as_ref().map_or(self.dir.as_fd(), AsFd::as_fd);
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(parent, name, flags, Mode::empty()).map_err(|e| explain(relative, e))?;
        let stat = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(refused(relative, "not a regular file"));
        }
        rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
        Ok(File::from(fd))
    }

    /// Open the directory at `relative` beneath the root, as a root of its own.
    pub fn open_dir(&self, relative: &str) -> io::Result<Root> {
        let (parent, name) = self.parent_of(relative)?;
        let parent = parent.as_ref().map_or(self.dir.as_fd(), AsFd::as_fd);
        let dir = open_subdir(parent, name, relative)?;
        Ok(Root { dir, path: self.path.join(relative) })
    }

    /// The entries of this directory (not `.` and `..`), by name, with what
    /// each is. A name that is not UTF-8 is refused: no bundle lists one.
    pub fn entries(&self) -> io::Result<Vec<(String, Kind)>> {
        let mut out = Vec::new();
        for entry in Dir::read_from(&self.dir)? {
            let entry = entry?;
            let raw: &CStr = entry.file_name();
            if matches!(raw.to_bytes(), b"." | b"..") {
                continue;
            }
            let name = raw
                .to_str()
                .map_err(|_| refused(&raw.to_string_lossy(), "a name that is not UTF-8"))?
                .to_string();
            let kind = match entry.file_type() {
                FileType::Unknown => rustix::fs::statat(&self.dir, raw, AtFlags::SYMLINK_NOFOLLOW)
                    .map(|s| FileType::from_raw_mode(s.st_mode))?,
                known => known,
            };
            out.push((name, kind_of(kind)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The directory holding the last component of `relative`, opened
    /// component by component, and that last component.
    fn parent_of<'p>(&self, relative: &'p str) -> io::Result<(Option<OwnedFd>, &'p str)> {
        if !plain_components(relative) {
            return Err(refused(relative, "not a plain relative path"));
        }
        let (dirs, name) = relative.rsplit_once('/').map_or(("", relative), |(d, n)| (d, n));
        let mut current: Option<OwnedFd> = None;
        let mut walked = String::new();
        for component in dirs.split('/').filter(|c| !c.is_empty()) {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(component);
            let from = current.as_ref().map_or(self.dir.as_fd(), AsFd::as_fd);
            current = Some(open_subdir(from, component, &walked)?);
        }
        Ok((current, name))
    }
}

fn open_subdir(parent: impl AsFd, name: &str, shown: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(parent, name, flags, Mode::empty()).map_err(|e| explain(shown, e))
}

fn kind_of(kind: FileType) -> Kind {
    match kind {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Directory,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// Open a file the operator pointed at (or one found beside it, such as the
/// next volume of a set) without following a symbolic link in its last
/// component, refusing anything but a regular file without blocking on a
/// FIFO.
pub fn open_regular_nofollow(path: &Path) -> io::Result<File> {
    let shown = path.display().to_string();
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| explain(&shown, e))?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(refused(&shown, "not a regular file"));
    }
    rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
    Ok(File::from(fd))
}

/// Bytes free for an unprivileged writer on the filesystem holding `path`.
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let stats = rustix::fs::statvfs(path)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
        let bundle = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(bundle.path().join("airlock/trust")).unwrap();
        std::fs::write(bundle.path().join("airlock/trust/root.json"), b"inside").unwrap();
        std::fs::write(outside.path().join("root.json"), b"outside").unwrap();
        (bundle, outside)
    }

    #[test]
    fn opens_plain_paths_beneath_the_root() {
        let (bundle, _outside) = tree();
        let root = Root::open(bundle.path()).unwrap();
        let mut text = String::new();
        root.open_file("airlock/trust/root.json").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "inside");
        let trust = root.open_dir("airlock/trust").unwrap();
        assert_eq!(trust.entries().unwrap(), [("root.json".to_string(), Kind::File)]);
    }

    #[test]
    fn refuses_traversal_absolute_paths_and_symlinks_anywhere() {
        let (bundle, outside) = tree();
        let root = Root::open(bundle.path()).unwrap();
        for path in ["../x", "/etc/passwd", "airlock/../airlock/trust/root.json", "airlock//trust", "airlock/./trust", ""] {
            assert!(root.open_file(path).unwrap_err().to_string().contains("plain relative path"), "{path}");
        }
        // A symlinked parent pointing outside, then a symlinked file.
        std::fs::rename(bundle.path().join("airlock/trust"), bundle.path().join("moved")).unwrap();
        symlink(outside.path(), bundle.path().join("airlock/trust")).unwrap();
        let err = root.open_file("airlock/trust/root.json").unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(root.open_dir("airlock/trust").is_err());
        symlink(outside.path().join("root.json"), bundle.path().join("airlock/link.json")).unwrap();
        assert!(root.open_file("airlock/link.json").unwrap_err().to_string().contains("symbolic link"));
        let kinds = root.open_dir("airlock").unwrap().entries().unwrap();
        assert!(kinds.contains(&("trust".to_string(), Kind::Symlink)), "{kinds:?}");
    }

    #[test]
    fn refuses_fifos_without_blocking_and_directories_as_files() {
        let (bundle, _outside) = tree();
        let fifo = bundle.path().join("airlock/fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let root = Root::open(bundle.path()).unwrap();
        assert!(root.open_file("airlock/fifo").unwrap_err().to_string().contains("not a regular file"));
        assert!(root.open_file("airlock/trust").unwrap_err().to_string().contains("not a regular file"));
        assert!(open_regular_nofollow(&fifo).unwrap_err().to_string().contains("not a regular file"));
        symlink(bundle.path().join("airlock/trust/root.json"), bundle.path().join("v.002")).unwrap();
        assert!(open_regular_nofollow(&bundle.path().join("v.002")).unwrap_err().to_string().contains("symbolic link"));
    }

    #[test]
    fn reports_free_space() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_bytes(dir.path()).unwrap() > 0);
        assert!(available_bytes(&dir.path().join("missing")).is_err());
    }
}
