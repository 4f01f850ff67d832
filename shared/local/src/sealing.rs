//! Sealing records at rest: the store's records that can hold secrets (pipeline declarations with their
//! OAuth tokens and secret configuration values, webhooks with their `SecretToken`s, custom jobs with the
//! configuration their worker is given) are kept encrypted, XChaCha20-Poly1305 under a key of 32 random
//! bytes in a file beside the database (`sluice.db` → `sluice.key`, 0600, made at the first open).
//!
//! A sealed record is text: [`SEALED_PREFIX`], then base64 of a random 24-byte nonce followed by the
//! ciphertext and its tag. The associated data names the record's row (table and key), so a sealed
//! record moved to another row does not open. Random 192-bit nonces cannot repeat in practice, which is
//! why the extended-nonce variant is used.
//!
//! The same kind of key file holds the key approval links are signed with ([`approval_key`]).
//!
//! The key protects copies of the database — a backup, a file attached to a bug report — not the
//! machine: whoever can read the data directory as the server's user can read the key too.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use sluice_core::approval::link::ApprovalKey;

use crate::private::tighten;

/// What a sealed record starts with; the version names the cipher and layout.
pub const SEALED_PREFIX: &str = "sealed:v1:";

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the {what} {}: {source}", path.display())]
    KeyFile {
        /// Which key: the store key, the approval link key.
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the {what} {} holds {found} bytes; a key is {KEY_BYTES} bytes (the file is damaged, or is not a Sluice {what})",
        path.display()
    )]
    KeyLength {
        what: &'static str,
        path: PathBuf,
        found: usize,
    },
    #[error(
        "the store key {} is missing, and the store holds records sealed with it: restore the key file from where the database came from",
        path.display()
    )]
    KeyMissing { path: PathBuf },
    #[error(
        "the record {row} cannot be opened: it was sealed with another key, or altered ({rule})"
    )]
    Open { row: String, rule: &'static str },
    #[error("no randomness for the store key or a nonce: {0}")]
    Random(getrandom::Error),
}

/// The store's key. Its bytes are never shown (`Debug` prints `StoreKey(redacted)`).
#[derive(Clone)]
pub struct StoreKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(redacted)")
    }
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(SealError::Random)?;
    Ok(bytes)
}

impl StoreKey {
    /// A new key that lives only in memory (an in-memory store's).
    pub fn random() -> Result<StoreKey, SealError> {
        Ok(Self::from_bytes(&random::<KEY_BYTES>()?))
    }

    fn from_bytes(bytes: &[u8; KEY_BYTES]) -> StoreKey {
        StoreKey {
            cipher: XChaCha20Poly1305::new(&(*bytes).into()),
        }
    }

    /// The key file of the database `database`: the same name with the extension `key`.
    pub fn path_for(database: &Path) -> PathBuf {
        database.with_extension("key")
    }

    /// The key in `path`, made private if it was not; `None` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<StoreKey>, SealError> {
        Ok(load_key(path, STORE_KEY)?.map(|bytes| Self::from_bytes(&bytes)))
    }

    /// Makes a new key file (0600) at `path`, or reads the one another process made first.
    pub fn create(path: &Path) -> Result<StoreKey, SealError> {
        Ok(Self::from_bytes(&create_key(path, STORE_KEY)?))
    }

    /// `record` sealed for the row `row`.
    pub fn seal(&self, record: &str, row: &str) -> Result<String, SealError> {
        let nonce = random::<NONCE_BYTES>()?;
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: record.as_bytes(),
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open {
                row: row.to_string(),
                rule: "the cipher refused the record",
            })?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// The record `text` sealed for the row `row`, opened.
    pub fn open(&self, text: &str, row: &str) -> Result<String, SealError> {
        let refuse = |rule| SealError::Open {
            row: row.to_string(),
            rule,
        };
        let encoded = text
            .strip_prefix(SEALED_PREFIX)
            .ok_or_else(|| refuse("it is not sealed"))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| refuse("it is not base64"))?;
        if bytes.len() < NONCE_BYTES {
            return Err(refuse("it is shorter than a nonce"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| refuse("no nonce"))?;
        let opened = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| refuse("its tag does not match"))?;
        String::from_utf8(opened).map_err(|_| refuse("it is not text"))
    }
}

const STORE_KEY: &str = "store key";
const APPROVAL_KEY: &str = "approval link key";

/// The key approval links and their forms are signed with (`sluice_core::approval::link`):
/// `<data-dir>/approval.key`, 32 random bytes, 0600, made at the first use and kept, so links sent
/// before a restart still open.
pub fn approval_key(data_dir: &Path) -> Result<ApprovalKey, SealError> {
    let path = data_dir.join("approval.key");
    let bytes = match load_key(&path, APPROVAL_KEY)? {
        Some(bytes) => bytes,
        None => create_key(&path, APPROVAL_KEY)?,
    };
    ApprovalKey::new(bytes.to_vec()).map_err(|short| SealError::KeyLength {
        what: APPROVAL_KEY,
        path,
        found: short.0,
    })
}

/// The key file `path` (the `what`), made private if it was not; `None` when there is no such file.
fn load_key(path: &Path, what: &'static str) -> Result<Option<[u8; KEY_BYTES]>, SealError> {
    let key_error = |source| SealError::KeyFile {
        what,
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(key_error(error)),
    };
    tighten(path).map_err(key_error)?;
    let mut bytes = Vec::new();
    file.take(KEY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(key_error)?;
    let key: [u8; KEY_BYTES] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SealError::KeyLength {
            what,
            path: path.to_path_buf(),
            found: bytes.len(),
        })?;
    Ok(Some(key))
}

/// Makes a new key file (0600) at `path`, or reads the one another process made first. The key is
/// written whole to a temporary file and then linked into place, so a reader never sees part of one.
fn create_key(path: &Path, what: &'static str) -> Result<[u8; KEY_BYTES], SealError> {
    let key_error = |source| SealError::KeyFile {
        what,
        path: path.to_path_buf(),
        source,
    };
    let bytes = random::<KEY_BYTES>()?;
    let suffix = u64::from_le_bytes(random::<8>()?);
    let temporary = path.with_extension(format!("key.tmp-{suffix:016x}"));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&temporary, path)
    })();
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => Ok(bytes),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            load_key(path, what)?.ok_or_else(|| key_error(io::Error::from(io::ErrorKind::NotFound)))
        }
        Err(error) => Err(key_error(error)),
    }
}

/// Whether `text` is a sealed record.
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_for_its_row() {
        let key = StoreKey::random().unwrap();
        let sealed = key.seal("{\"OAuthToken\":\"ghp_x\"}", "row/a").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("ghp_x"));
        assert_eq!(
            key.open(&sealed, "row/a").unwrap(),
            "{\"OAuthToken\":\"ghp_x\"}"
        );
        // Sealing twice gives two texts (fresh nonces).
        assert_ne!(
            sealed,
            key.seal("{\"OAuthToken\":\"ghp_x\"}", "row/a").unwrap()
        );
        assert!(key.open(&sealed, "row/b").is_err(), "moved to another row");
        let other = StoreKey::random().unwrap();
        assert!(other.open(&sealed, "row/a").is_err(), "another key");
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(key.open(&altered, "row/a").is_err(), "altered");
        for bad in ["{}", "sealed:v1:!!", "sealed:v1:AAAA"] {
            assert!(key.open(bad, "row/a").is_err(), "{bad}");
        }
        assert_eq!(format!("{key:?}"), "StoreKey(redacted)");
    }

    #[test]
    fn the_key_file_is_made_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = StoreKey::path_for(&dir.path().join("sluice.db"));
        assert_eq!(path, dir.path().join("sluice.key"));
        assert!(StoreKey::load(&path).unwrap().is_none());
        let made = StoreKey::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_BYTES);
        let sealed = made.seal("record", "r").unwrap();
        // A second create (another process first) reads the existing key.
        let again = StoreKey::create(&path).unwrap();
        assert_eq!(again.open(&sealed, "r").unwrap(), "record");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = StoreKey::load(&path).unwrap().unwrap();
        assert_eq!(loaded.open(&sealed, "r").unwrap(), "record");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "tightened when read");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left");

        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            StoreKey::load(&path),
            Err(SealError::KeyLength { found: 5, .. })
        ));
    }

    #[test]
    fn the_approval_key_is_made_once_0600_and_kept() {
        use sluice_core::approval::link::{ApprovalAttempt, sign};
        use sluice_core::time::Timestamp;
        let dir = tempfile::tempdir().unwrap();
        let attempt = ApprovalAttempt {
            pipeline: "P",
            stage: "S",
            action: "A",
            execution_id: "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f",
            token: "1a2b3c4d-573f-4ea7-a67e-000000000000",
        };
        let at = Timestamp::from_epoch_millis(1);
        let first = sign(&approval_key(dir.path()).unwrap(), &attempt, at);
        let path = dir.path().join("approval.key");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_BYTES);
        // Read back (a restart): the links it signed still verify.
        assert_eq!(
            sign(&approval_key(dir.path()).unwrap(), &attempt, at),
            first
        );
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            sign(&approval_key(other.path()).unwrap(), &attempt, at),
            first
        );
        std::fs::write(&path, b"short").unwrap();
        let error = approval_key(dir.path()).unwrap_err();
        assert!(
            error.to_string().starts_with("the approval link key "),
            "{error}"
        );
    }
}
