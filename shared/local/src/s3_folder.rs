//! On one machine an S3 bucket is a folder: the object `s3://<bucket>/<key>` is the file
//! `<data_dir>/s3/<bucket>/<key>`. The S3 source action reads an object from it and the S3 deploy
//! action writes to it.
//!
//! Names follow S3's rules, so that a pipeline that runs here also runs on AWS, and so that no name
//! can reach outside `<data_dir>/s3`:
//! - a bucket name has 3 to 63 characters: lowercase letters, digits, `.` and `-`; it starts and
//!   ends with a letter or digit, has no `..`, is not an IPv4 address, and does not use a prefix or
//!   suffix S3 reserves (`xn--`, `sthree-`, `amzn-s3-demo-`, `-s3alias`, `--ol-s3`, `.mrap`,
//!   `--x-s3`, `--table-s3`);
//! - an object key has 1 to 1024 bytes, is not absolute, and has no NUL character, no `.` or `..`
//!   segment and no empty segment (`a//b`); one trailing `/` is allowed (a "folder" key). S3 itself
//!   accepts these; a folder cannot hold them.
//!
//! Revisions: an object's ETag is the hex MD5 of its bytes, as S3 computes it for an object put in
//! one part; its VersionId is the hex SHA-256 of its bytes, so the same content always has the
//! same version. For a directory zipped as a source, both are digests of the zip, which is the same
//! for the same files (see [`crate::archive`]).
//!
//! Every read and write below `<data_dir>/s3` goes through the file-system guard ([`crate::guard`]):
//! a symbolic link on a key's path is never followed, whoever made it and whenever.

use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::archive::{self, ArchiveError};
use crate::guard::{EntryKind, GuardError, Root};

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
const MAX_KEY_BYTES: usize = 1024;

/// The folder that holds every bucket: `<data_dir>/s3`.
#[derive(Debug, Clone)]
pub struct S3Folder {
    root: PathBuf,
    locks: PathBuf,
}

/// The revision of an object read by the S3 source action, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRevision {
    /// Hex MD5 of the artifact's bytes (S3's ETag of a single-part object), without quotes.
    pub etag: String,
    /// Hex SHA-256 of the artifact's bytes.
    pub version_id: String,
    /// The artifact zip written.
    pub zip: PathBuf,
}

/// The configuration field a name came from: the S3 source action's (`S3Bucket`, `S3ObjectKey`)
/// or the S3 deploy action's (`BucketName`, `ObjectKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    S3Bucket,
    S3ObjectKey,
    BucketName,
    ObjectKey,
}

impl fmt::Display for NameField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::S3Bucket => "S3Bucket",
            Self::S3ObjectKey => "S3ObjectKey",
            Self::BucketName => "BucketName",
            Self::ObjectKey => "ObjectKey",
        })
    }
}

/// The naming rule a bucket name or object key breaks; [`fmt::Display`] words it as "… must …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameRule {
    BucketLength,
    BucketCharacters,
    BucketEnds,
    BucketAdjacentPeriods,
    BucketIpAddress,
    BucketReserved {
        affix: &'static str,
    },
    KeyEmpty,
    KeyTooLong,
    KeyAbsolute,
    KeyNul,
    KeyDotSegment,
    KeyEmptySegment,
    /// A key ending with `/` given to a deploy without Extract: a folder key cannot hold the object.
    KeyFolderObject,
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BucketLength => f.write_str("a bucket name must be 3 to 63 characters long"),
            Self::BucketCharacters => f.write_str(
                "a bucket name must contain only lowercase letters, digits, periods (.) and hyphens (-)",
            ),
            Self::BucketEnds => {
                f.write_str("a bucket name must start and end with a letter or digit")
            }
            Self::BucketAdjacentPeriods => {
                f.write_str("a bucket name must not contain two adjacent periods")
            }
            Self::BucketIpAddress => {
                f.write_str("a bucket name must not be formatted as an IP address")
            }
            Self::BucketReserved { affix } => {
                write!(f, "a bucket name must not use `{affix}`, which S3 reserves")
            }
            Self::KeyEmpty => f.write_str("an object key must not be empty"),
            Self::KeyTooLong => write!(f, "an object key must be at most {MAX_KEY_BYTES} bytes"),
            Self::KeyAbsolute => f.write_str("an object key must not start with `/`"),
            Self::KeyNul => f.write_str("an object key must not contain a NUL character"),
            Self::KeyDotSegment => {
                f.write_str("an object key must not have a `.` or `..` segment")
            }
            Self::KeyEmptySegment => f.write_str(
                "an object key must not have an empty segment (`//`); only one trailing `/` is allowed",
            ),
            Self::KeyFolderObject => f.write_str(
                "an object key must not end with `/` when Extract is false: the artifact is one object, not a folder",
            ),
        }
    }
}

/// Why an S3 folder operation failed.
#[derive(Debug, thiserror::Error)]
pub enum S3FolderError {
    #[error("{field} `{value}` is not valid: {rule}")]
    InvalidName {
        field: NameField,
        value: String,
        rule: NameRule,
    },
    #[error(
        "the object s3://{bucket}/{key} does not exist: nothing at {path}. Put the file at {path} \
         (or a directory there, to have it zipped)"
    )]
    MissingObject {
        bucket: String,
        key: String,
        path: PathBuf,
    },
    #[error("the object s3://{bucket}/{key} at {path} is neither a file nor a directory")]
    UnsupportedObject {
        bucket: String,
        key: String,
        path: PathBuf,
    },
    #[error(
        "ObjectKey is required when Extract is false: it names the object the artifact is written to"
    )]
    MissingObjectKey,
    #[error("could not access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Guard(#[from] GuardError),
}

/// Checks a bucket name against S3's naming rules.
pub fn check_bucket_name(name: &str) -> Result<(), NameRule> {
    if !(3..=63).contains(&name.len()) {
        return Err(NameRule::BucketLength);
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    if !name.chars().all(allowed) {
        return Err(NameRule::BucketCharacters);
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(name.chars().next()) || !alphanumeric(name.chars().last()) {
        return Err(NameRule::BucketEnds);
    }
    if name.contains("..") {
        return Err(NameRule::BucketAdjacentPeriods);
    }
    if name.parse::<Ipv4Addr>().is_ok() {
        return Err(NameRule::BucketIpAddress);
    }
    let prefix = RESERVED_PREFIXES.into_iter().find(|p| name.starts_with(p));
    let suffix = RESERVED_SUFFIXES.into_iter().find(|s| name.ends_with(s));
    match prefix.or(suffix) {
        Some(affix) => Err(NameRule::BucketReserved { affix }),
        None => Ok(()),
    }
}

/// Checks an object key against the rules a key must follow to be a path inside its bucket.
pub fn check_object_key(key: &str) -> Result<(), NameRule> {
    if key.is_empty() {
        return Err(NameRule::KeyEmpty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(NameRule::KeyTooLong);
    }
    if key.starts_with('/') {
        return Err(NameRule::KeyAbsolute);
    }
    if key.contains('\0') {
        return Err(NameRule::KeyNul);
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    for segment in body.split('/') {
        match segment {
            "." | ".." => return Err(NameRule::KeyDotSegment),
            "" => return Err(NameRule::KeyEmptySegment),
            _ => {}
        }
    }
    Ok(())
}

impl S3Folder {
    /// The buckets of `data_dir`: `<data_dir>/s3`, with their deploy locks in `<data_dir>/locks`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("s3"),
            locks: data_dir.join("locks"),
        }
    }

    /// The folder that holds every bucket.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of an object, after checking both names. Errors name the fields `BucketName` and
    /// `ObjectKey`; [`Self::read_source`] names `S3Bucket` and `S3ObjectKey`. For messages and
    /// tests: reads and writes go through [`crate::guard`], never through this path.
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, S3FolderError> {
        check_names(bucket, key, NameField::BucketName, NameField::ObjectKey)?;
        Ok(self.root.join(bucket).join(key))
    }

    /// What the local S3 triggers watch, without reading the object: its size, modification time and
    /// inode (a directory's: the count, total size and newest time of its files). `None` when no
    /// object is at the key. A change of stamp is S3's "Object Created"; whether the content changed
    /// is [`S3Folder::read_source`]'s VersionId.
    pub fn object_stamp(&self, bucket: &str, key: &str) -> Result<Option<String>, S3FolderError> {
        use std::os::unix::fs::MetadataExt;
        check_names(bucket, key, NameField::S3Bucket, NameField::S3ObjectKey)?;
        let Some((folder, name)) = self.object_folder(bucket, key)? else {
            return Ok(None);
        };
        let stamp = |m: &fs::Metadata| {
            format!(
                "{}:{}:{}",
                m.len(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
                m.ino()
            )
        };
        match folder.kind(name)? {
            None | Some(EntryKind::Other) => Ok(None),
            Some(EntryKind::File) => {
                let file = folder.open_file(name)?;
                let metadata = file.metadata().map_err(|e| io_error(Path::new(key), e))?;
                Ok(Some(stamp(&metadata)))
            }
            Some(EntryKind::Dir) => {
                let dir = folder.dir(&[name])?;
                let (mut count, mut size, mut newest) = (0u64, 0u64, 0i64);
                for entry in walkdir::WalkDir::new(dir.proc_path()).into_iter().flatten() {
                    if let Ok(m) = entry.metadata() {
                        count += 1;
                        size += m.len();
                        newest = newest.max(m.mtime() * 1_000_000_000 + m.mtime_nsec());
                    }
                }
                Ok(Some(format!("dir:{count}:{size}:{newest}")))
            }
        }
    }

    /// The S3 source action: the object as an artifact at `dest_zip`. A file is copied as it is
    /// (normally a zip); a directory at that key is zipped (a local convenience). The revision's
    /// ETag and VersionId are digests of the bytes written (see the module documentation). A
    /// symbolic link on the key's path is not followed: the object is missing or refused.
    pub fn read_source(
        &self,
        bucket: &str,
        key: &str,
        dest_zip: &Path,
    ) -> Result<ObjectRevision, S3FolderError> {
        check_names(bucket, key, NameField::S3Bucket, NameField::S3ObjectKey)?;
        let path = self.root.join(bucket).join(key);
        let missing = || S3FolderError::MissingObject {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            path: path.clone(),
        };
        let Some((folder, name)) = self.object_folder(bucket, key)? else {
            return Err(missing());
        };
        match folder.kind(name)? {
            None => return Err(missing()),
            Some(EntryKind::Dir) => {
                let dir = folder.dir(&[name])?;
                archive::zip_dir(&dir.proc_path(), dest_zip)?;
            }
            Some(EntryKind::File) => {
                let mut object = folder.open_file(name)?;
                copy_to(&mut object, dest_zip)?;
            }
            Some(EntryKind::Other) => {
                return Err(S3FolderError::UnsupportedObject {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    path,
                });
            }
        }
        let digests = archive::digests(dest_zip)?;
        Ok(ObjectRevision {
            etag: digests.md5,
            version_id: digests.sha256,
            zip: dest_zip.to_path_buf(),
        })
    }

    /// The S3 deploy action. With `extract`, the artifact's files are unzipped into the bucket, at
    /// its root or under `object_key` as a prefix, replacing files of the same name and leaving
    /// the others, as S3 does. Without, the zip is written as the single object `object_key`, which
    /// is then required. The bucket folder is created if missing (on AWS the bucket must exist).
    /// Returns the paths of the files written (directories are not objects); an artifact with an
    /// entry that would land outside the bucket is refused before anything is written.
    ///
    /// Every write goes through [`crate::guard`], and deploys to one bucket take turns (a lock file
    /// per bucket under `<data_dir>/locks`), so that two deploys side by side neither escape the
    /// bucket nor interleave their files.
    pub fn deploy(
        &self,
        bucket: &str,
        object_key: Option<&str>,
        extract: bool,
        artifact_zip: &Path,
    ) -> Result<Vec<PathBuf>, S3FolderError> {
        if !extract {
            let key = object_key.ok_or(S3FolderError::MissingObjectKey)?;
            return Ok(vec![self.place_object(
                bucket,
                key,
                artifact_zip,
                Placement::Copy,
            )?]);
        }
        check_bucket_name(bucket).map_err(|rule| invalid(NameField::BucketName, bucket, rule))?;
        if let Some(key) = object_key {
            check_object_key(key).map_err(|rule| invalid(NameField::ObjectKey, key, rule))?;
        }
        let _turn = self.lock_bucket(bucket)?;
        let (name, mut prefix) = object_key.map(key_segments).unwrap_or_default();
        prefix.extend(name);
        let target_path = prefix.iter().fold(self.root.join(bucket), |p, s| p.join(s));
        let extraction = archive::Extraction::plan(artifact_zip, &target_path)?;
        let bucket_root = Root::create(&self.root)?.create_dir(&[bucket])?;
        let target = bucket_root.create_dir(&prefix)?;
        let written = extraction.write_into(&target)?;
        Ok(written.into_iter().filter(|p| !p.is_dir()).collect())
    }

    /// Writes the file `from` as the object `key` (checked like `ObjectKey`), through the guard and
    /// in the bucket's turn; returns the object's path. The local artifact store keeps artifacts so.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        from: &Path,
    ) -> Result<PathBuf, S3FolderError> {
        self.place_object(bucket, key, from, Placement::Copy)
    }

    /// [`Self::put_object`], moving the file `from` (Sluice's own, on the same file system) into
    /// place instead of copying it.
    pub fn move_object(
        &self,
        bucket: &str,
        key: &str,
        from: &Path,
    ) -> Result<PathBuf, S3FolderError> {
        self.place_object(bucket, key, from, Placement::Move)
    }

    /// The file `from` as the single object `key`: names checked (a key ending with `/` names a
    /// folder, not an object), the bucket's turn taken, and the file copied or moved through the guard.
    fn place_object(
        &self,
        bucket: &str,
        key: &str,
        from: &Path,
        placement: Placement,
    ) -> Result<PathBuf, S3FolderError> {
        check_names(bucket, key, NameField::BucketName, NameField::ObjectKey)?;
        let (name, parents) = key_segments(key);
        let Some(name) = name.filter(|_| !key.ends_with('/')) else {
            return Err(invalid(
                NameField::ObjectKey,
                key,
                NameRule::KeyFolderObject,
            ));
        };
        let _turn = self.lock_bucket(bucket)?;
        let folder = Root::create(&self.root)?
            .create_dir(&[bucket])?
            .create_dir(&parents)?;
        match placement {
            Placement::Copy => {
                let mut contents = fs::File::open(from).map_err(|e| io_error(from, e))?;
                folder.write_file(name, None, &mut contents)?;
            }
            Placement::Move => folder.move_into(from, name)?,
        }
        Ok(folder.path().join(name))
    }

    /// Copies the object `key` (a file; checked like `ObjectKey`) to `dest`, reading it through the
    /// guard. [`S3FolderError::MissingObject`] when there is none.
    pub fn get_object(&self, bucket: &str, key: &str, dest: &Path) -> Result<(), S3FolderError> {
        check_names(bucket, key, NameField::BucketName, NameField::ObjectKey)?;
        let missing = || S3FolderError::MissingObject {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            path: self.root.join(bucket).join(key),
        };
        let Some((folder, name)) = self.object_folder(bucket, key)? else {
            return Err(missing());
        };
        if folder.kind(name)? != Some(EntryKind::File) {
            return Err(missing());
        }
        let mut object = folder.open_file(name)?;
        copy_to(&mut object, dest)
    }

    /// The folder that holds the object at `key` (opened through the guard) and the object's name in it;
    /// `None` when the key names no object or a folder on the way is missing.
    fn object_folder<'k>(
        &self,
        bucket: &str,
        key: &'k str,
    ) -> Result<Option<(Root, &'k str)>, S3FolderError> {
        let (Some(name), parents) = key_segments(key) else {
            return Ok(None);
        };
        match Root::open(&self.root)
            .and_then(|buckets| buckets.dir(&[bucket]))
            .and_then(|bucket| bucket.dir(&parents))
        {
            Ok(folder) => Ok(Some((folder, name))),
            Err(GuardError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(error) => Err(S3FolderError::Guard(error)),
        }
    }

    /// Waits for, then holds until the returned file is dropped, the deploy lock of `bucket`.
    fn lock_bucket(&self, bucket: &str) -> Result<fs::File, S3FolderError> {
        fs::create_dir_all(&self.locks).map_err(|source| io_error(&self.locks, source))?;
        let path = self.locks.join(format!("s3-{bucket}.lock"));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| io_error(&path, source))?;
        file.lock().map_err(|source| io_error(&path, source))?;
        Ok(file)
    }
}

/// How [`S3Folder::place_object`] puts a file in place.
#[derive(Clone, Copy)]
enum Placement {
    Copy,
    Move,
}

/// A checked key's last segment and the segments before it (a trailing `/` is dropped: the key
/// `a/b/` names the folder `a/b`).
fn key_segments(key: &str) -> (Option<&str>, Vec<&str>) {
    let mut segments: Vec<&str> = key
        .strip_suffix('/')
        .unwrap_or(key)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let name = segments.pop();
    (name, segments)
}

/// Checks a bucket name and an object key, naming the fields they came from.
fn check_names(
    bucket: &str,
    key: &str,
    bucket_field: NameField,
    key_field: NameField,
) -> Result<(), S3FolderError> {
    check_bucket_name(bucket).map_err(|rule| invalid(bucket_field, bucket, rule))?;
    check_object_key(key).map_err(|rule| invalid(key_field, key, rule))
}

/// Copies `from` to the file `dest` (a path Sluice chose), creating its parent directories.
fn copy_to(from: &mut fs::File, dest: &Path) -> Result<(), S3FolderError> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    let mut out = fs::File::create(dest).map_err(|e| io_error(dest, e))?;
    io::copy(from, &mut out).map_err(|source| io_error(dest, source))?;
    Ok(())
}

fn invalid(field: NameField, value: &str, rule: NameRule) -> S3FolderError {
    S3FolderError::InvalidName {
        field,
        value: value.to_owned(),
        rule,
    }
}

fn io_error(path: &Path, source: io::Error) -> S3FolderError {
    S3FolderError::Io {
        path: path.to_path_buf(),
        source,
    }
}
