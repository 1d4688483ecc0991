//! The store's files: a directory of JSON records, written atomically under a file lock.
//!
//! Readers take a shared lock and writers an exclusive one on `.lock`, so concurrent
//! processes never interleave a read-modify-write. Every write goes to a temporary file in
//! the same directory, is fsynced, renamed over the target, and the directory is fsynced,
//! so a crash leaves either the old or the new file, never a torn one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

/// The store's settings and root key configuration.
pub(super) const STORE_FILE: &str = "store.json";
/// The alias table.
pub(super) const ALIASES_FILE: &str = "aliases.json";
/// The access keys of a served store, their secrets wrapped under the root key.
pub(super) const CREDENTIALS_FILE: &str = "credentials.json";
/// The directory of key records, one file per key.
pub(super) const KEYS_DIR: &str = "keys";

/// The record of key `key_id`.
pub(super) fn key_file(key_id: &str) -> String {
    format!("{KEYS_DIR}/{key_id}.json")
}

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
const LOCK_FILE: &str = ".lock";

/// The store directory.
#[derive(Debug, Clone)]
pub(super) struct Disk {
    dir: PathBuf,
}

/// Holds a shared lock: reads only.
pub(super) struct ReadTxn<'a> {
    disk: &'a Disk,
    _lock: File,
}

/// Holds the exclusive lock: reads and writes.
pub(super) struct WriteTxn<'a>(ReadTxn<'a>);

impl<'a> std::ops::Deref for WriteTxn<'a> {
    type Target = ReadTxn<'a>;
    fn deref(&self) -> &ReadTxn<'a> {
        &self.0
    }
}

impl Disk {
    /// Opens the store directory, creating it (and `sub_dirs`) with mode 0700 if missing,
    /// and refuses a directory that other users can read.
    pub(super) fn open(dir: &Path, sub_dirs: &[&str]) -> Result<Self, StoreError> {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(StoreError::io("create", parent))?;
        }
        let disk = Self { dir: dir.to_path_buf() };
        disk.make_dir(dir)?;
        check_private(dir, DIR_MODE)?;
        for sub in sub_dirs {
            disk.make_dir(&dir.join(sub))?;
        }
        Ok(disk)
    }

    fn make_dir(&self, dir: &Path) -> Result<(), StoreError> {
        match DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(e) => Err(StoreError::io("create", dir)(e)),
        }
    }

    /// The directory.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock_file(&self) -> Result<File, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(FILE_MODE)
            .open(&path)
            .map_err(StoreError::io("open", path))
    }

    /// Takes the shared lock.
    pub(super) fn read(&self) -> Result<ReadTxn<'_>, StoreError> {
        let lock = self.lock_file()?;
        lock.lock_shared().map_err(StoreError::io("lock", self.dir.join(LOCK_FILE)))?;
        Ok(ReadTxn { disk: self, _lock: lock })
    }

    /// Takes the exclusive lock.
    pub(super) fn write(&self) -> Result<WriteTxn<'_>, StoreError> {
        let lock = self.lock_file()?;
        lock.lock().map_err(StoreError::io("lock", self.dir.join(LOCK_FILE)))?;
        Ok(WriteTxn(ReadTxn { disk: self, _lock: lock }))
    }

    /// Takes the exclusive lock if nobody holds the lock now (this process included), else
    /// `None`: for work that may wait for the next call but must never wait for a lock.
    pub(super) fn try_write(&self) -> Result<Option<WriteTxn<'_>>, StoreError> {
        let lock = self.lock_file()?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(WriteTxn(ReadTxn { disk: self, _lock: lock }))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io("lock", self.dir.join(LOCK_FILE))(e)),
        }
    }
}

impl ReadTxn<'_> {
    /// The full path of a store file.
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.disk.dir.join(rel)
    }

    /// Reads a file, or `None` if it does not exist.
    pub(super) fn read_bytes(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", path)(e)),
        }
    }

    /// Reads and parses a JSON file, or `None` if it does not exist.
    pub(super) fn read_json<T: serde::de::DeserializeOwned>(&self, rel: &str) -> Result<Option<T>, StoreError> {
        match self.read_bytes(rel)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::corrupt(self.path(rel), e)),
        }
    }

    /// The names of the files in a sub-directory, skipping temporary files.
    pub(super) fn list(&self, sub: &str) -> Result<Vec<String>, StoreError> {
        let path = self.path(sub);
        let entries = fs::read_dir(&path).map_err(StoreError::io("list", &path))?;
        let mut names = Vec::new();
        for entry in entries {
            let name = entry.map_err(StoreError::io("list", &path))?.file_name();
            if let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

impl WriteTxn<'_> {
    /// Replaces a file atomically: temp file, fsync, rename, fsync of the directory.
    pub(super) fn write_bytes(&self, rel: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let target = self.path(rel);
        let dir = target.parent().expect("store files live in the store directory").to_path_buf();
        let name = target.file_name().and_then(|n| n.to_str()).expect("store file names are UTF-8");
        let suffix: [u8; 8] = crate::crypto::random_array();
        let temp = dir.join(format!(".{name}.tmp-{}", hex::encode(suffix)));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&temp)
                .map_err(StoreError::io("create", &temp))?;
            file.write_all(bytes).map_err(StoreError::io("write", &temp))?;
            file.sync_all().map_err(StoreError::io("sync", &temp))?;
            fs::rename(&temp, &target).map_err(StoreError::io("replace", &target))?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Serializes to JSON and writes atomically.
    pub(super) fn write_json<T: serde::Serialize>(&self, rel: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(value).expect("store records serialize");
        self.write_bytes(rel, &bytes)
    }

    /// Removes a file (durably); a missing file is not an error.
    pub(super) fn remove(&self, rel: &str) -> Result<(), StoreError> {
        let path = self.path(rel);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().expect("store files live in the store directory")),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", path)(e)),
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(StoreError::io("sync", dir))
}

/// Refuses a file or directory that grants any access to group or others.
pub(super) fn check_private(path: &Path, expected: u32) -> Result<(), StoreError> {
    let mode = fs::metadata(path).map_err(StoreError::io("inspect", path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::InsecurePermissions { path: path.to_path_buf(), mode, expected });
    }
    Ok(())
}

/// The mode store files are created with.
pub(super) const PRIVATE_FILE: u32 = FILE_MODE;
