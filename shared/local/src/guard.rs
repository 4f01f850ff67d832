//! The file-system guard. Every path that outside input names (an archive's entry names, a bucket
//! name and object key, a pipeline's name in a log path) is reached through a [`Root`]: a handle on
//! a directory, below which a path is walked one segment at a time with `openat(O_NOFOLLOW |
//! O_DIRECTORY)`. No symbolic link is followed on the way — not one an archive made, not one a
//! concurrent action made between a check and a write — and no segment can be `..`. What is written
//! through a `Root` lands in the directory its handle is open on, whatever changes on disk meanwhile:
//! the kernel enforces it, not a check made before the write.
//!
//! [`segment`] turns any name into one path segment, reversibly, for names that are keys (CodePipeline
//! allows a pipeline named `.` or `..`) and must never be read as paths.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Why the guard refused or failed an access.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "`{segment}` cannot be a path segment below {root}: a segment is a name that is not empty, \
         `.` or `..`, and has no `/` or NUL"
    )]
    Segment { root: PathBuf, segment: String },
    #[error("{path} is a symbolic link or not a directory: nothing is read or written through it")]
    NotADirectory { path: PathBuf },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What a name in a [`Root`] is, without following it if it is a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// A symbolic link, a FIFO, a socket or a device.
    Other,
}

/// A handle on a directory that everything below it is reached through (see the module
/// documentation). The path is kept for messages only; no access goes through it.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

/// Numbers the temporary files of [`Root::write_file`] within this process.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

impl Root {
    /// Opens the directory at `path`, a path Sluice chose (the data directory, a workspace), not
    /// one outside input named; its last segment must not be a link.
    pub fn open(path: &Path) -> Result<Root, GuardError> {
        let fd = rustix::fs::openat(CWD, path, directory_flags(), Mode::empty())
            .map_err(|errno| open_error(path, errno))?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// [`Root::open`], creating the directory and its parents first if they are missing.
    pub fn create(path: &Path) -> Result<Root, GuardError> {
        std::fs::create_dir_all(path).map_err(|source| GuardError::Io {
            action: "create",
            path: path.to_path_buf(),
            source,
        })?;
        Root::open(path)
    }

    /// The path the handle was opened at (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory below this one at `segments`, which must exist and be directories, not links.
    pub fn dir<S: AsRef<str>>(&self, segments: &[S]) -> Result<Root, GuardError> {
        self.walk(segments, false)
    }

    /// [`Root::dir`], creating each missing directory on the way.
    pub fn create_dir<S: AsRef<str>>(&self, segments: &[S]) -> Result<Root, GuardError> {
        self.walk(segments, true)
    }

    fn walk<S: AsRef<str>>(&self, segments: &[S], create: bool) -> Result<Root, GuardError> {
        let mut path = self.path.clone();
        let mut fd: Option<OwnedFd> = None;
        for segment in segments {
            let segment = self.checked(segment.as_ref())?;
            path.push(segment);
            let parent = fd.as_ref().unwrap_or(&self.fd);
            if create {
                match rustix::fs::mkdirat(parent, segment, Mode::from_bits_truncate(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(errno) => return Err(io_error("create", &path, errno)),
                }
            }
            let next = rustix::fs::openat(parent, segment, directory_flags(), Mode::empty())
                .map_err(|errno| open_error(&path, errno))?;
            fd = Some(next);
        }
        let fd = match fd {
            Some(fd) => fd,
            None => self
                .fd
                .try_clone()
                .map_err(|source| io_error_std("open", &path, source))?,
        };
        Ok(Root { fd, path })
    }

    /// What `name` is in this directory, not following a link; `None` when nothing has that name.
    pub fn kind(&self, name: &str) -> Result<Option<EntryKind>, GuardError> {
        let name = self.checked(name)?;
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => EntryKind::Dir,
                FileType::RegularFile => EntryKind::File,
                _ => EntryKind::Other,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(io_error("inspect", &self.path.join(name), errno)),
        }
    }

    /// Opens the regular file `name` for reading; a link there is refused, not followed.
    pub fn open_file(&self, name: &str) -> Result<File, GuardError> {
        let name = self.checked(name)?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let path = self.path.join(name);
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())
            .map_err(|errno| io_error("open", &path, errno))?;
        let file = File::from(fd);
        let is_file = file
            .metadata()
            .map_err(|source| io_error_std("inspect", &path, source))?
            .is_file();
        if !is_file {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(io_error_std("open", &path, source));
        }
        Ok(file)
    }

    /// Writes `contents` as the file `name` with permission bits `mode` (or a new file's default),
    /// replacing whatever non-directory had that name (a link or a hard link is replaced, never
    /// written through). The bytes go to a temporary file in the same directory first, renamed over
    /// `name` at the end: a reader sees the old file or the new one, and two writers of one name
    /// leave one whole file. Returns the number of bytes written.
    pub fn write_file(
        &self,
        name: &str,
        mode: Option<u32>,
        contents: &mut dyn Read,
    ) -> Result<u64, GuardError> {
        let name = self.checked(name)?;
        let path = self.path.join(name);
        let temporary = format!(
            ".sluice-{}-{}.tmp",
            std::process::id(),
            TEMPORARY.fetch_add(1, Ordering::Relaxed)
        );
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, &temporary, flags, Mode::from_bits_truncate(0o666))
            .map_err(|errno| io_error("create", &path, errno))?;
        let mut file = File::from(fd);
        let written = io::copy(contents, &mut file)
            .map_err(|source| io_error_std("write", &path, source))
            .and_then(|written| {
                if let Some(mode) = mode {
                    rustix::fs::fchmod(&file, Mode::from_bits_truncate(mode))
                        .map_err(|errno| io_error("set the permissions of", &path, errno))?;
                }
                Ok(written)
            })
            .and_then(|written| {
                rustix::fs::renameat(&self.fd, &temporary, &self.fd, name)
                    .map_err(|errno| io_error("write", &path, errno))?;
                Ok(written)
            });
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &temporary, AtFlags::empty());
        }
        written
    }

    /// Moves the file at `from` (a path Sluice chose, on the same file system) to `name` in this
    /// directory, replacing whatever non-directory had that name, as [`Root::write_file`] does but
    /// without copying. On another file system the bytes are copied and `from` removed.
    pub fn move_into(&self, from: &Path, name: &str) -> Result<(), GuardError> {
        let name = self.checked(name)?;
        let path = self.path.join(name);
        match rustix::fs::renameat(CWD, from, &self.fd, name) {
            Ok(()) => Ok(()),
            Err(Errno::XDEV) => {
                let mut file =
                    File::open(from).map_err(|source| io_error_std("read", from, source))?;
                self.write_file(name, None, &mut file)?;
                std::fs::remove_file(from).map_err(|source| io_error_std("remove", from, source))
            }
            Err(errno) => Err(io_error("write", &path, errno)),
        }
    }

    /// Makes `name` a symbolic link to `target`, replacing a non-directory of that name. The
    /// target is not checked here: the caller decides which targets stay inside.
    pub fn symlink(&self, target: &str, name: &str) -> Result<(), GuardError> {
        let name = self.checked(name)?;
        let path = self.path.join(name);
        self.remove_non_dir(name, &path)?;
        rustix::fs::symlinkat(target, &self.fd, name)
            .map_err(|errno| io_error("create", &path, errno))
    }

    fn remove_non_dir(&self, name: &str, path: &Path) -> Result<(), GuardError> {
        match self.kind(name)? {
            Some(EntryKind::Dir) => {
                let source = io::Error::from(io::ErrorKind::IsADirectory);
                Err(io_error_std("replace", path, source))
            }
            Some(_) => match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(errno) => Err(io_error("replace", path, errno)),
            },
            None => Ok(()),
        }
    }

    /// A path that names the directory this handle is open on, through `/proc/self/fd`, for code
    /// that can only take a path and only reads (walking a tree to zip it). It stays valid while
    /// this `Root` lives, and names the same directory even if links have since changed.
    pub fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    fn checked<'a>(&self, segment: &'a str) -> Result<&'a str, GuardError> {
        if is_segment(segment) {
            Ok(segment)
        } else {
            Err(GuardError::Segment {
                root: self.path.clone(),
                segment: segment.to_owned(),
            })
        }
    }
}

/// Whether `name` can be one path segment: not empty, `.` or `..`, no `/` and no NUL.
pub fn is_segment(name: &str) -> bool {
    !matches!(name, "" | "." | "..") && !name.contains(['/', '\0'])
}

/// `name` as one path segment: `%`, `/` and NUL written as `%25`, `%2F` and `%00`, and the names
/// `.`, `..` and the empty name as `%2E`, `%2E%2E` and `%`. Different names give different segments.
pub fn segment(name: &str) -> Cow<'_, str> {
    match name {
        "" => return Cow::Borrowed("%"),
        "." => return Cow::Borrowed("%2E"),
        ".." => return Cow::Borrowed("%2E%2E"),
        _ => {}
    }
    if !name.contains(['%', '/', '\0']) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '\0' => out.push_str("%00"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn directory_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn open_error(path: &Path, errno: Errno) -> GuardError {
    match errno {
        Errno::LOOP | Errno::NOTDIR => GuardError::NotADirectory {
            path: path.to_path_buf(),
        },
        errno => io_error("open", path, errno),
    }
}

fn io_error(action: &'static str, path: &Path, errno: Errno) -> GuardError {
    io_error_std(action, path, errno.into())
}

fn io_error_std(action: &'static str, path: &Path, source: io::Error) -> GuardError {
    GuardError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_single_and_distinct() {
        let names = [
            "", ".", "..", "%", "%2E", "a/b", "a%2Fb", "a\0b", "...", "plain", "%25",
        ];
        let segments: Vec<String> = names.iter().map(|n| segment(n).into_owned()).collect();
        for (name, seg) in names.iter().zip(&segments) {
            assert!(is_segment(seg), "{name:?} gave {seg:?}");
        }
        let distinct: std::collections::HashSet<&String> = segments.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{segments:?}");
        assert_eq!(segment("plain"), "plain");
        assert_eq!(segment(".."), "%2E%2E");
    }

    #[test]
    fn no_link_is_followed_and_no_dot_segment_taken() {
        let tmp = tempfile::tempdir().expect("tmp");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).expect("outside");
        let root = Root::create(&tmp.path().join("root")).expect("root");
        std::os::unix::fs::symlink(&outside, root.path().join("up")).expect("a link");

        let through = root
            .create_dir(&["up", "x"])
            .expect_err("not through a link");
        assert!(
            matches!(through, GuardError::NotADirectory { .. }),
            "{through}"
        );
        for bad in ["..", ".", "", "a/b", "a\0b"] {
            let error = root.create_dir(&[bad]).expect_err("not a segment");
            assert!(matches!(error, GuardError::Segment { .. }), "{error}");
        }
        let write = root.dir(&["up"]);
        assert!(write.is_err(), "a link is not a directory to write in");
        assert_eq!(std::fs::read_dir(&outside).expect("read").count(), 0);
    }

    #[test]
    fn a_written_file_replaces_a_link_instead_of_writing_through_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("target.txt");
        std::fs::write(&target, "untouched").expect("target");
        let root = Root::create(&tmp.path().join("root")).expect("root");
        std::os::unix::fs::symlink(&target, root.path().join("name")).expect("a link");

        let written = root
            .write_file("name", Some(0o640), &mut &b"new"[..])
            .expect("written");

        assert_eq!(written, 3);
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched");
        assert_eq!(root.kind("name").expect("kind"), Some(EntryKind::File));
        assert_eq!(
            std::fs::read_to_string(root.path().join("name")).expect("read"),
            "new"
        );
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, ["name"], "no temporary file is left");
        assert!(root.open_file("missing").is_err());
        root.symlink("name", "alias").expect("a link");
        assert!(root.open_file("alias").is_err(), "a link is not opened");
    }

    #[test]
    fn a_moved_file_replaces_a_link_instead_of_writing_through_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("target.txt");
        std::fs::write(&target, "untouched").expect("target");
        let from = tmp.path().join("artifact.zip");
        std::fs::write(&from, "zip").expect("from");
        let root = Root::create(&tmp.path().join("root")).expect("root");
        std::os::unix::fs::symlink(&target, root.path().join("name")).expect("a link");

        root.move_into(&from, "name").expect("moved");

        assert!(!from.exists(), "moved, not copied");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched");
        assert_eq!(root.kind("name").expect("kind"), Some(EntryKind::File));
        assert!(root.move_into(&from, "..").is_err(), "not a segment");
    }
}
