//! Artifacts are zip files: [`zip_dir`] writes one from a directory, the same bytes for the same
//! files, and [`unzip`] extracts one without letting any entry land outside its destination.
//!
//! Writing ([`zip_dir`]):
//! - Every file under the directory becomes an entry named by its path relative to the directory,
//!   with `/` separators. Entries are sorted by name (byte order), dated 1980-01-01 00:00:00 (the
//!   zip epoch) and deflated, so the same files always give the same archive.
//! - An entry keeps its file's unix permission bits (`mode & 0o777`): a build script stays
//!   executable.
//! - A symbolic link is stored as the file or directory it points to (followed, as `zip` does
//!   without `--symlinks`). A link that points nowhere (missing target, or a link to itself) is
//!   skipped; links that lead back to one of their own directories are an error, since following
//!   them never ends. Sockets, FIFOs and devices are skipped.
//! - A directory with nothing in it is stored as a directory entry; other directories are implied
//!   by the files in them.
//!
//! Extracting ([`unzip`], or [`Extraction`] in two steps):
//! - `\` in an entry name is read as `/`; empty and `.` segments are ignored. Refused: absolute
//!   names (`/etc/x`, `C:x`), any `..` segment, NUL characters.
//! - Refused too: FIFOs, sockets, devices and files of unknown type (by the entry's unix mode), and
//!   hard links (PKWARE's Unix extra field naming a linked file).
//! - A symbolic-link entry (as `git archive` writes them) becomes a link when its target is
//!   relative, has all its `..` segments first, and does not climb above the destination; any
//!   other target is refused.
//! - Every write goes through the file-system guard ([`crate::guard`]): each directory on an
//!   entry's path is opened from the destination's handle, one segment at a time, without following
//!   a link. No entry is written through a symbolic link, whether it came from the archive, was
//!   already there, or was made meanwhile by another action writing to the same place; a link is
//!   made only in a real directory at the depth its name says, so it resolves inside.
//! - Every entry is checked before anything is written: a refused archive leaves the destination as
//!   it was (short of a link made there by another writer during the extraction, which the guard
//!   refuses when it meets it).
//! - An existing file at an entry's path is replaced (the entry is written to a temporary file and
//!   renamed over it, so a link or hard link there is never written through); other files in the
//!   destination are left alone.
//! - A file gets its entry's permission bits plus owner read and write (so that a later extraction
//!   can replace it); an entry without unix permissions gets the default of a new file. Directory
//!   permissions are not applied.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::guard::{GuardError, Root};
use md5::Md5;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZIP64_BYTES_THR, ZipArchive, ZipWriter};

/// The longest symbolic-link target accepted from an archive, in bytes (Linux's PATH_MAX).
const MAX_LINK_TARGET: u64 = 4096;

/// Why an archive could not be written or extracted.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a zip archive that can be read: {source}")]
    ZipRead {
        path: PathBuf,
        #[source]
        source: ZipError,
    },
    #[error("could not write the zip archive {path}: {source}")]
    ZipWrite {
        path: PathBuf,
        #[source]
        source: ZipError,
    },
    #[error("could not extract entry `{entry}` of {zip}: {source}")]
    Extract {
        zip: PathBuf,
        entry: String,
        #[source]
        source: io::Error,
    },
    /// An entry breaks a rule of safe extraction; nothing of the archive was written.
    #[error("refused to extract {zip}: entry `{entry}` breaks the rule that {rule}")]
    UnsafeEntry {
        zip: PathBuf,
        entry: String,
        rule: EntryRule,
    },
    /// The guard refused a write (an entry's directory became a link meanwhile, say) or it failed.
    #[error("could not extract entry `{entry}` of {zip}: {source}")]
    Guard {
        zip: PathBuf,
        entry: String,
        #[source]
        source: GuardError,
    },
    #[error("{path} has a name that is not UTF-8, which a zip entry name must be")]
    NonUtf8Name { path: PathBuf },
    #[error(
        "{path} is a symbolic link back to {ancestor}, which contains it: following it never ends"
    )]
    SymlinkLoop { path: PathBuf, ancestor: PathBuf },
}

/// The rule of safe extraction an entry breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRule {
    /// `/etc/passwd`, `C:x`.
    AbsoluteName,
    /// `../x`, `a/../../x`, even `a/../b`.
    ParentSegment,
    NulCharacter,
    /// A file entry whose name is empty once empty and `.` segments are dropped.
    EmptyName,
    /// A symbolic link whose target is absolute, climbs above the destination, or has a `..`
    /// after a name.
    LinkTargetOutside {
        target: String,
    },
    /// An entry below a symbolic link (from the archive or already in the destination).
    ThroughLink {
        link: PathBuf,
    },
    /// A FIFO, socket or device entry (its unix mode says so).
    SpecialFile {
        kind: &'static str,
    },
    /// A hard link (PKWARE's Unix extra field names the file it links to).
    HardLink,
}

impl fmt::Display for EntryRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AbsoluteName => f.write_str("an entry name is relative, not an absolute path"),
            Self::ParentSegment => f.write_str("an entry name has no `..` segment"),
            Self::NulCharacter => f.write_str("an entry name has no NUL character"),
            Self::EmptyName => f.write_str("a file entry has a name"),
            Self::LinkTargetOutside { target } => write!(
                f,
                "a symbolic link points inside the destination, with a relative target whose `..` \
                 segments come first (its target is `{target}`)"
            ),
            Self::ThroughLink { link } => write!(
                f,
                "nothing is written through a symbolic link ({} is one)",
                link.display()
            ),
            Self::SpecialFile { kind } => write!(
                f,
                "an entry is a file, a directory or a symbolic link (this one is a {kind})"
            ),
            Self::HardLink => f.write_str("an entry is not a hard link"),
        }
    }
}

/// Zips every file under `dir` into `dest` (created, with its parent directories; replaced if it
/// exists). The rules are in the module documentation. If `dest` lies inside `dir`, it is not
/// archived into itself. On error no partial archive is left at `dest`.
pub fn zip_dir(dir: &Path, dest: &Path) -> Result<(), ArchiveError> {
    zip_dir_except(dir, dest, |_| false)
}

/// [`zip_dir`], leaving out every file and directory for which `skip` (given the path relative to
/// `dir`) is true; a skipped directory is not entered.
pub(crate) fn zip_dir_except(
    dir: &Path,
    dest: &Path,
    skip: impl Fn(&Path) -> bool,
) -> Result<(), ArchiveError> {
    let meta = fs::metadata(dir).map_err(|source| read_error(dir, source))?;
    if !meta.is_dir() {
        let source = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
        return Err(read_error(dir, source));
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| write_error(parent, source))?;
    }
    let file = File::create(dest).map_err(|source| write_error(dest, source))?;
    let result = file
        .metadata()
        .map_err(|source| write_error(dest, source))
        .and_then(|m| collect_sources(dir, (m.dev(), m.ino()), &skip))
        .and_then(|sources| write_zip(file, dest, &sources));
    if result.is_err() {
        let _ = fs::remove_file(dest);
    }
    result
}

/// A file or directory to archive.
struct Source {
    /// The entry name; a directory's ends with `/`.
    name: String,
    path: PathBuf,
    mode: u32,
    /// `None` for a directory.
    len: Option<u64>,
}

fn collect_sources(
    dir: &Path,
    dest_id: (u64, u64),
    skip: &impl Fn(&Path) -> bool,
) -> Result<Vec<Source>, ArchiveError> {
    let walk = WalkDir::new(dir)
        .follow_links(true)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.path().strip_prefix(dir).is_ok_and(skip));
    let mut sources = Vec::new();
    for item in walk {
        let entry = match item {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                if let Some(ancestor) = err.loop_ancestor() {
                    let ancestor = ancestor.to_path_buf();
                    return Err(ArchiveError::SymlinkLoop { path, ancestor });
                }
                if points_nowhere(&path, err.io_error()) {
                    continue;
                }
                return Err(read_error(&path, err.into()));
            }
        };
        let path = entry.path();
        let meta = entry.metadata().map_err(|e| read_error(path, e.into()))?;
        if (meta.dev(), meta.ino()) == dest_id {
            continue;
        }
        let mut name = entry_name(dir, path)?;
        let len = if meta.is_dir() {
            name.push('/');
            None
        } else if meta.is_file() {
            Some(meta.len())
        } else {
            continue;
        };
        let mode = meta.mode() & 0o777;
        sources.push(Source {
            name,
            path: path.to_path_buf(),
            mode,
            len,
        });
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    // Names under `a/` sort right after `a/`: a directory is empty when the next name is not
    // one of them.
    let empty_or_file: Vec<bool> = (0..sources.len())
        .map(|i| {
            sources[i].len.is_some()
                || sources
                    .get(i + 1)
                    .is_none_or(|next| !next.name.starts_with(&sources[i].name))
        })
        .collect();
    let mut keep = empty_or_file.into_iter();
    sources.retain(|_| keep.next().unwrap_or(true));
    Ok(sources)
}

/// A symbolic link whose target is missing or is a loop of links: skipped.
fn points_nowhere(path: &Path, error: Option<&io::Error>) -> bool {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let nowhere = error.is_some_and(|e| {
        e.kind() == io::ErrorKind::NotFound
            || e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32)
    });
    is_link && nowhere
}

fn entry_name(dir: &Path, path: &Path) -> Result<String, ArchiveError> {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let mut segments = Vec::new();
    for component in relative.components() {
        let segment = component.as_os_str().to_str();
        segments.push(segment.ok_or_else(|| ArchiveError::NonUtf8Name {
            path: path.to_path_buf(),
        })?);
    }
    Ok(segments.join("/"))
}

fn write_zip(file: File, dest: &Path, sources: &[Source]) -> Result<(), ArchiveError> {
    let zip_error = |source| ArchiveError::ZipWrite {
        path: dest.to_path_buf(),
        source,
    };
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let fixed = SimpleFileOptions::default()
        .system(System::Unix)
        .last_modified_time(DateTime::DEFAULT);
    for source in sources {
        let options = fixed.unix_permissions(source.mode);
        let Some(len) = source.len else {
            zip.add_directory(source.name.as_str(), options)
                .map_err(zip_error)?;
            continue;
        };
        let options = options
            .compression_method(CompressionMethod::Deflated)
            .large_file(len >= ZIP64_BYTES_THR);
        zip.start_file(source.name.as_str(), options)
            .map_err(zip_error)?;
        let mut input = File::open(&source.path).map_err(|e| read_error(&source.path, e))?;
        copy(&mut input, &source.path, &mut zip, dest)?;
    }
    let buffered = zip.finish().map_err(zip_error)?;
    buffered
        .into_inner()
        .map_err(|e| write_error(dest, e.into_error()))?;
    Ok(())
}

/// `io::copy`, telling a failed read from a failed write.
fn copy(
    input: &mut impl Read,
    input_path: &Path,
    output: &mut impl Write,
    output_path: &Path,
) -> Result<u64, ArchiveError> {
    let mut buffer = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(input_path, e)),
        };
        output
            .write_all(&buffer[..n])
            .map_err(|e| write_error(output_path, e))?;
        total += n as u64;
    }
}

/// Extracts `zip` into `dest` (created if missing) and returns the path of every entry written,
/// in archive order (directory entries included). The rules are in the module documentation.
pub fn unzip(zip: &Path, dest: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    let extraction = Extraction::plan(zip, dest)?;
    let root = Root::create(dest).map_err(|source| ArchiveError::Guard {
        zip: zip.to_path_buf(),
        entry: String::new(),
        source,
    })?;
    extraction.write_into(&root)
}

/// An archive whose entries have all been checked against the extraction rules, ready to be
/// written: [`unzip`] in two steps, for a caller that opens the destination itself.
pub struct Extraction {
    archive: Archive,
    zip: PathBuf,
    plan: Vec<Planned>,
}

impl Extraction {
    /// Reads and checks every entry of `zip`, for extraction into `dest` (which is looked at for
    /// links in the way, not written). A refused archive is refused here, before any write.
    pub fn plan(zip: &Path, dest: &Path) -> Result<Extraction, ArchiveError> {
        let (archive, plan) = open_and_plan(zip, dest)?;
        Ok(Extraction {
            archive,
            zip: zip.to_path_buf(),
            plan,
        })
    }

    /// Writes the entries into the directory `root` is open on, every one through the guard, and
    /// returns their paths as [`unzip`] does.
    pub fn write_into(mut self, root: &Root) -> Result<Vec<PathBuf>, ArchiveError> {
        extract(&mut self.archive, &self.zip, &self.plan, root)
    }
}

type Archive = ZipArchive<BufReader<File>>;

fn open_and_plan(zip: &Path, dest: &Path) -> Result<(Archive, Vec<Planned>), ArchiveError> {
    let file = File::open(zip).map_err(|source| read_error(zip, source))?;
    // Its own open file, not a clone of the reader's: a clone shares the file offset, which the
    // header reads below would move under the zip reader.
    let mut raw = File::open(zip).map_err(|source| read_error(zip, source))?;
    let mut archive =
        ZipArchive::new(BufReader::new(file)).map_err(|source| ArchiveError::ZipRead {
            path: zip.to_path_buf(),
            source,
        })?;
    let plan = plan_extraction(&mut archive, &mut raw, zip, dest)?;
    Ok((archive, plan))
}

/// Writes the planned entries below `root`. Each parent directory is walked from `root` without
/// following links (see [`crate::guard`]); the last one is kept open, since entries usually come
/// directory by directory.
fn extract(
    archive: &mut Archive,
    zip: &Path,
    plan: &[Planned],
    root: &Root,
) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut written = Vec::with_capacity(plan.len());
    let mut open_parent: Option<(&[String], Root)> = None;
    for planned in plan {
        let guard_error = |source| ArchiveError::Guard {
            zip: zip.to_path_buf(),
            entry: planned.entry.clone(),
            source,
        };
        let path = root.path().join(&planned.relative);
        if let Kind::Dir = planned.kind {
            root.create_dir(&planned.segments).map_err(guard_error)?;
            written.push(path);
            continue;
        }
        // The plan gives every file and link entry a name (EntryRule::EmptyName).
        let Some((name, parents)) = planned.segments.split_last() else {
            continue;
        };
        let parent = match open_parent.take() {
            Some((open, parent)) if open == parents => parent,
            _ => root.create_dir(parents).map_err(guard_error)?,
        };
        let parent = &open_parent.insert((parents, parent)).1;
        match &planned.kind {
            Kind::Link(target) => parent.symlink(target, name).map_err(guard_error)?,
            _ => {
                let mut entry =
                    archive
                        .by_index(planned.index)
                        .map_err(|source| ArchiveError::ZipRead {
                            path: zip.to_path_buf(),
                            source,
                        })?;
                let mode = planned.mode.map(|mode| (mode & 0o777) | 0o600);
                parent
                    .write_file(name, mode, &mut entry)
                    .map_err(guard_error)?;
            }
        }
        written.push(path);
    }
    Ok(written)
}

enum Kind {
    Dir,
    File,
    Link(String),
}

/// An accepted entry, waiting to be written.
struct Planned {
    index: usize,
    entry: String,
    segments: Vec<String>,
    relative: PathBuf,
    kind: Kind,
    mode: Option<u32>,
}

/// The file-type bits of a unix mode, and the types an entry may have.
const TYPE_MASK: u32 = 0o170000;
const TYPE_REGULAR: u32 = 0o100000;
const TYPE_DIRECTORY: u32 = 0o040000;
const TYPE_SYMLINK: u32 = 0o120000;

/// The kind of file a unix mode's type bits name, for an entry that is not a file, a directory or
/// a link.
fn special_type(mode: u32) -> Option<&'static str> {
    match mode & TYPE_MASK {
        0 | TYPE_REGULAR | TYPE_DIRECTORY | TYPE_SYMLINK => None,
        0o010000 => Some("FIFO"),
        0o020000 => Some("character device"),
        0o060000 => Some("block device"),
        0o140000 => Some("socket"),
        _ => Some("file of unknown type"),
    }
}

/// Checks every entry of the archive against the extraction rules, before anything is written.
fn plan_extraction(
    archive: &mut Archive,
    raw: &mut File,
    zip: &Path,
    dest: &Path,
) -> Result<Vec<Planned>, ArchiveError> {
    let zip_error = |source| ArchiveError::ZipRead {
        path: zip.to_path_buf(),
        source,
    };
    let mut plan = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(zip_error)?;
        let entry = file.name().map_err(zip_error)?.into_owned();
        let refuse = |rule| ArchiveError::UnsafeEntry {
            zip: zip.to_path_buf(),
            entry: entry.clone(),
            rule,
        };
        let segments = entry_segments(&entry).map_err(refuse)?;
        let mode = file.unix_mode();
        if let Some(kind) = mode.and_then(special_type) {
            return Err(refuse(EntryRule::SpecialFile { kind }));
        }
        let kind = if file.is_dir() {
            Kind::Dir
        } else if file.is_symlink() {
            let mut target = Vec::new();
            let read = file
                .by_ref()
                .take(MAX_LINK_TARGET + 1)
                .read_to_end(&mut target);
            read.map_err(|source| ArchiveError::Extract {
                zip: zip.to_path_buf(),
                entry: entry.clone(),
                source,
            })?;
            let target = String::from_utf8_lossy(&target).into_owned();
            let parent_depth = segments.len().saturating_sub(1);
            if target.len() as u64 > MAX_LINK_TARGET || !link_stays_inside(parent_depth, &target) {
                return Err(refuse(EntryRule::LinkTargetOutside { target }));
            }
            Kind::Link(target)
        } else {
            let headers = [
                (file.central_header_start(), true),
                (file.header_start(), false),
            ];
            for (offset, central) in headers {
                let names_a_link = names_linked_file(raw, offset, central).map_err(|source| {
                    ArchiveError::Extract {
                        zip: zip.to_path_buf(),
                        entry: entry.clone(),
                        source,
                    }
                })?;
                if names_a_link {
                    return Err(refuse(EntryRule::HardLink));
                }
            }
            Kind::File
        };
        if segments.is_empty() {
            match kind {
                Kind::Dir => continue,
                _ => return Err(refuse(EntryRule::EmptyName)),
            }
        }
        let relative: PathBuf = segments.iter().collect();
        plan.push(Planned {
            index,
            entry,
            segments,
            relative,
            kind,
            mode,
        });
    }
    refuse_writes_through_links(&plan, zip, dest)?;
    Ok(plan)
}

/// PKWARE's Unix extra field (tag 0x000d): access and modification times, uid and gid (12 bytes),
/// then, for a link, the name of the file linked to. The zip reader drops fields it does not know,
/// so the header is read here.
const PKWARE_UNIX_TAG: u16 = 0x000d;
const PKWARE_UNIX_FIXED: u16 = 12;

/// Whether the entry's central (or local) header carries a PKWARE Unix field naming a linked file:
/// for an entry that is not a symbolic link, that is a hard link.
fn names_linked_file(raw: &mut File, offset: u64, central: bool) -> io::Result<bool> {
    use std::io::Seek;
    let (fixed, lengths_at) = if central { (46, 28) } else { (30, 26) };
    let mut header = vec![0; fixed];
    raw.seek(io::SeekFrom::Start(offset))?;
    raw.read_exact(&mut header)?;
    let u16_at = |bytes: &[u8], at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let name_len = u16_at(&header, lengths_at);
    let extra_len = u16_at(&header, lengths_at + 2);
    raw.seek(io::SeekFrom::Current(i64::from(name_len)))?;
    let mut extra = vec![0; usize::from(extra_len)];
    raw.read_exact(&mut extra)?;
    let mut rest = extra.as_slice();
    while rest.len() >= 4 {
        let (tag, size) = (u16_at(rest, 0), u16_at(rest, 2));
        if tag == PKWARE_UNIX_TAG && size > PKWARE_UNIX_FIXED {
            return Ok(true);
        }
        rest = rest.get(4 + usize::from(size)..).unwrap_or_default();
    }
    Ok(false)
}

/// The segments an entry name is written to, or the rule it breaks.
fn entry_segments(name: &str) -> Result<Vec<String>, EntryRule> {
    if name.contains('\0') {
        return Err(EntryRule::NulCharacter);
    }
    let name = name.replace('\\', "/");
    if name.starts_with('/') || has_drive_prefix(&name) {
        return Err(EntryRule::AbsoluteName);
    }
    let mut segments = Vec::new();
    for segment in name.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(EntryRule::ParentSegment),
            s => segments.push(s.to_owned()),
        }
    }
    Ok(segments)
}

fn has_drive_prefix(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Whether a link at depth `parent_depth + 1` with this target resolves inside the destination:
/// relative, its `..` segments first, and no more of them than the directories above the link.
fn link_stays_inside(parent_depth: usize, target: &str) -> bool {
    if target.is_empty()
        || target.contains('\0')
        || target.starts_with('/')
        || has_drive_prefix(target)
    {
        return false;
    }
    let mut climbs = 0;
    let mut descended = false;
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." if descended => return false,
            ".." => climbs += 1,
            _ => descended = true,
        }
    }
    climbs <= parent_depth
}

/// Refuses an entry below a link, whether the link is an earlier entry or already on disk.
fn refuse_writes_through_links(
    plan: &[Planned],
    zip: &Path,
    dest: &Path,
) -> Result<(), ArchiveError> {
    let links: HashSet<&Path> = plan
        .iter()
        .filter(|p| matches!(p.kind, Kind::Link(_)))
        .map(|p| p.relative.as_path())
        .collect();
    let mut checked: HashSet<&Path> = HashSet::new();
    for planned in plan {
        for ancestor in planned.relative.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() || !checked.insert(ancestor) {
                continue;
            }
            let on_disk = dest.join(ancestor);
            let is_link = links.contains(ancestor)
                || fs::symlink_metadata(&on_disk).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                return Err(ArchiveError::UnsafeEntry {
                    zip: zip.to_path_buf(),
                    entry: planned.entry.clone(),
                    rule: EntryRule::ThroughLink { link: on_disk },
                });
            }
        }
    }
    Ok(())
}

/// Content digests of a file, in lowercase hex.
pub(crate) struct Digests {
    pub(crate) md5: String,
    pub(crate) sha256: String,
}

pub(crate) fn digests(path: &Path) -> Result<Digests, ArchiveError> {
    let mut file = File::open(path).map_err(|source| read_error(path, source))?;
    let mut md5 = Md5::new();
    let mut sha256 = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, e)),
        };
        md5.update(&buffer[..n]);
        sha256.update(&buffer[..n]);
    }
    Ok(Digests {
        md5: hex(&md5.finalize()),
        sha256: hex(&sha256.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn read_error(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_error(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    }
}
