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

use std::fmt;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::archive::{self, ArchiveError};

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
const MAX_KEY_BYTES: usize = 1024;

/// The folder that holds every bucket: `<data_dir>/s3`.
#[derive(Debug, Clone)]
pub struct S3Folder {
    root: PathBuf,
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
    BucketReserved { affix: &'static str },
    KeyEmpty,
    KeyTooLong,
    KeyAbsolute,
    KeyNul,
    KeyDotSegment,
    KeyEmptySegment,
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
    /// The buckets of `data_dir`: `<data_dir>/s3`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("s3"),
        }
    }

    /// The folder that holds every bucket.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of an object, after checking both names. Errors name the fields `BucketName` and
    /// `ObjectKey`; [`Self::read_source`] names `S3Bucket` and `S3ObjectKey`.
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, S3FolderError> {
        self.checked_path(bucket, key, NameField::BucketName, NameField::ObjectKey)
    }

    fn bucket_path(&self, bucket: &str, field: NameField) -> Result<PathBuf, S3FolderError> {
        check_bucket_name(bucket).map_err(|rule| invalid(field, bucket, rule))?;
        Ok(self.root.join(bucket))
    }

    fn checked_path(
        &self,
        bucket: &str,
        key: &str,
        bucket_field: NameField,
        key_field: NameField,
    ) -> Result<PathBuf, S3FolderError> {
        let bucket_path = self.bucket_path(bucket, bucket_field)?;
        check_object_key(key).map_err(|rule| invalid(key_field, key, rule))?;
        Ok(bucket_path.join(key))
    }

    /// The S3 source action: the object as an artifact at `dest_zip`. A file is copied as it is
    /// (normally a zip); a directory at that key is zipped (a local convenience). The revision's
    /// ETag and VersionId are digests of the bytes written (see the module documentation).
    pub fn read_source(
        &self,
        bucket: &str,
        key: &str,
        dest_zip: &Path,
    ) -> Result<ObjectRevision, S3FolderError> {
        let path = self.checked_path(bucket, key, NameField::S3Bucket, NameField::S3ObjectKey)?;
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(S3FolderError::MissingObject {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    path,
                });
            }
            Err(source) => return Err(S3FolderError::Io { path, source }),
        };
        if meta.is_dir() {
            archive::zip_dir(&path, dest_zip)?;
        } else if meta.is_file() {
            if let Some(parent) = dest_zip.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
            }
            fs::copy(&path, dest_zip).map_err(|source| io_error(dest_zip, source))?;
        } else {
            return Err(S3FolderError::UnsupportedObject {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                path,
            });
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
    /// the others, as S3 does. Without, the zip is copied as the single object `object_key`, which
    /// is then required. The bucket folder is created if missing (on AWS the bucket must exist).
    /// Returns the paths of the files written (directories are not objects); an artifact with an
    /// entry that would land outside the bucket is refused before anything is written.
    pub fn deploy(
        &self,
        bucket: &str,
        object_key: Option<&str>,
        extract: bool,
        artifact_zip: &Path,
    ) -> Result<Vec<PathBuf>, S3FolderError> {
        let target = match object_key {
            Some(key) => self.object_path(bucket, key)?,
            None => self.bucket_path(bucket, NameField::BucketName)?,
        };
        if extract {
            let written = archive::unzip(artifact_zip, &target)?;
            return Ok(written.into_iter().filter(|p| !p.is_dir()).collect());
        }
        if object_key.is_none() {
            return Err(S3FolderError::MissingObjectKey);
        }
        let mut artifact = fs::File::open(artifact_zip).map_err(|e| io_error(artifact_zip, e))?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        // Replaced, not written through: an existing link or hard link at the key is not followed.
        if fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&target).map_err(|source| io_error(&target, source))?;
        }
        let mut object = fs::File::create_new(&target).map_err(|e| io_error(&target, e))?;
        io::copy(&mut artifact, &mut object).map_err(|source| io_error(&target, source))?;
        Ok(vec![target])
    }
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
