//! The Secrets port on one machine: one file per secret under a directory (`<data_dir>/secrets` in the
//! runtime), the directory private to its owner (0700) and each file too (0600). A file holds the value's
//! bytes as they are: the protection is the file permissions, as for `~/.aws/credentials` — there is no
//! key to encrypt with on a machine that has no KMS.
//!
//! A write goes to a temporary file in the same directory, is flushed to disk and renamed over the old
//! one, so a reader sees the old value or the new one, never part of either, and a crash leaves no torn
//! secret.
//!
//! File names: a secret name (`A-Za-z0-9/_+=.@-`, checked first) keeps its letters, digits, `-` and `_`;
//! every other byte becomes `%XX`, so `/` cannot make folders and `.`/`..` cannot name one. A name whose
//! encoding is longer than 200 bytes (file names stop at 255) is `~` and the hex SHA-256 of the name
//! instead. Neither form can start with `.`, which temporary files do.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use sluice_core::port::{Ids, SecretError, SecretValue, Secrets, check_name, check_value};
use sluice_core::system::RandomIds;

use crate::private::private_dir;

/// The longest encoded name kept readable; longer ones are hashed.
const MAX_READABLE_FILE_NAME: usize = 200;

/// Secrets as private files.
#[derive(Debug, Clone)]
pub struct FileSecrets {
    dir: PathBuf,
}

impl FileSecrets {
    /// Secrets in `dir`, created (0700) on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The runtime's secrets: `<data_dir>/secrets`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join("secrets"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the secret `name` (which must already be checked).
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(file_name(name))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> Result<T, SecretError> {
        let backend =
            |message: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
                SecretError::Backend {
                    name: name.to_string(),
                    message,
                    source,
                }
            };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| backend(format!("the file work stopped: {e}"), None))?
            .map_err(|e| {
                backend(
                    format!("cannot use {}: {e}", self.path_of(name).display()),
                    Some(Box::new(e)),
                )
            })
    }
}

/// The file name of a secret: readable when short, hashed when long (see the module's notes).
fn file_name(name: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    if encoded.len() <= MAX_READABLE_FILE_NAME {
        return encoded;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("~{hex}")
}

/// Temporary file, flush, rename, then flush the directory so the rename itself survives a crash.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    private_dir(dir)?;
    let temporary = dir.join(format!(".tmp-{}", RandomIds.uuid()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

impl Secrets for FileSecrets {
    async fn put_secret(&self, name: &str, value: &SecretValue) -> Result<(), SecretError> {
        check_name(name)?;
        check_value(value)?;
        let (dir, path) = (self.dir.clone(), self.path_of(name));
        // The blocking work gets its own copy; SecretValue zeroes it when dropped.
        let value = value.clone();
        self.blocking(name, move || write_atomically(&dir, &path, value.expose()))
            .await
    }

    async fn secret(&self, name: &str) -> Result<Option<SecretValue>, SecretError> {
        check_name(name)?;
        let path = self.path_of(name);
        self.blocking(name, move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(SecretValue::new(bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn delete_secret(&self, name: &str) -> Result<(), SecretError> {
        check_name(name)?;
        let path = self.path_of(name);
        self.blocking(name, move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_distinct_flat_file_names() {
        assert_eq!(file_name("webhook/Pipe-1_a"), "webhook%2FPipe-1_a");
        assert_eq!(file_name("."), "%2E");
        assert_eq!(file_name(".."), "%2E%2E");
        assert_eq!(file_name("a+b=c@d"), "a%2Bb%3Dc%40d");
        let long = file_name(&"a/".repeat(100));
        assert!(long.starts_with('~') && long.len() == 65, "{long}");
        assert_ne!(long, file_name(&"b/".repeat(100)));
        assert_eq!(file_name(&"a".repeat(200)), "a".repeat(200));
    }
}
