//! A keyring file with its lock, backups and audit log.

use crate::atomic::{open_append_private, parent_dir, write_atomic};
use crate::audit::AuditLog;
use crate::backup::{self, Backup};
use crate::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A keyring document on disk, with its sidecar files:
///
/// | file | default |
/// |---|---|
/// | keyring | `PATH` (mode 0600) |
/// | lock | `PATH.lock` |
/// | backups | `PATH.backups/` (mode 0700) |
/// | audit log | `PATH.audit.jsonl` (mode 0600) |
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    lock_path: PathBuf,
    backup_dir: PathBuf,
    audit: AuditLog,
}

/// The exclusive lock on a [`Store`]: every change goes through it. Dropping it unlocks.
#[derive(Debug)]
pub struct Locked<'a> {
    store: &'a Store,
    _file: File,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    parent_dir(path).join(name)
}

impl Store {
    /// The keyring at `path`, with its sidecar files next to it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Store {
            lock_path: sibling(&path, ".lock"),
            backup_dir: sibling(&path, ".backups"),
            audit: AuditLog::new(sibling(&path, ".audit.jsonl")),
            path,
        }
    }

    /// Keeps backups in `dir` instead of `PATH.backups/`.
    pub fn with_backup_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.backup_dir = dir.into();
        self
    }

    /// Writes the audit log to `path` instead of `PATH.audit.jsonl`.
    pub fn with_audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit = AuditLog::new(path);
        self
    }

    /// The keyring file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backup directory.
    pub fn backup_dir(&self) -> &Path {
        &self.backup_dir
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Whether a keyring file exists.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Reads the sealed document. Needs no lock: writes are atomic renames, so a reader sees
    /// a whole document, old or new.
    pub fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(self.path.clone()),
            _ => Error::io("read", &self.path, e),
        })
    }

    fn open_lock_file(&self) -> Result<File> {
        open_append_private(&self.lock_path).map_err(|e| Error::io("open lock", &self.lock_path, e))
    }

    /// Takes the exclusive lock, waiting for another holder to finish.
    pub fn lock(&self) -> Result<Locked<'_>> {
        let file = self.open_lock_file()?;
        fs4::FileExt::lock(&file).map_err(|e| Error::io("lock", &self.lock_path, e))?;
        Ok(Locked {
            store: self,
            _file: file,
        })
    }

    /// Takes the exclusive lock if it is free; [`Error::Locked`] otherwise.
    pub fn try_lock(&self) -> Result<Locked<'_>> {
        let file = self.open_lock_file()?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Locked {
                store: self,
                _file: file,
            }),
            Err(fs4::TryLockError::WouldBlock) => Err(Error::Locked(self.path.clone())),
            Err(fs4::TryLockError::Error(e)) => Err(Error::io("lock", &self.lock_path, e)),
        }
    }

    /// Locks, backs up the current document (if any) and writes `document` atomically: the
    /// whole of a save for callers that hold no lock (e.g. a binding's `Keyring.save()`).
    pub fn save(&self, document: &[u8]) -> Result<Option<Backup>> {
        self.lock()?.write(document)
    }

    /// Every backup, oldest first.
    pub fn backups(&self) -> Result<Vec<Backup>> {
        backup::list(&self.backup_dir)
    }

    /// The backup with this file name (or unique SHA-256 prefix of at least 8 hex digits).
    pub fn find_backup(&self, name: &str) -> Result<Backup> {
        backup::find(&self.backup_dir, name)
    }

    /// Reads a backup, checking its content against the SHA-256 in its name.
    pub fn read_backup(&self, backup: &Backup) -> Result<Vec<u8>> {
        backup::read_verified(backup)
    }
}

impl Locked<'_> {
    /// The store this lock belongs to.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Reads the current document, `None` if there is none yet.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        match self.store.read() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the first document; [`Error::AlreadyExists`] if there is one.
    pub fn create(&self, document: &[u8]) -> Result<()> {
        if self.store.path.exists() {
            return Err(Error::AlreadyExists(self.store.path.clone()));
        }
        write_atomic(&self.store.path, document)
            .map_err(|e| Error::io("write", &self.store.path, e))
    }

    /// Backs up the current document (if any), then replaces it with `document` atomically.
    /// Returns the backup taken.
    pub fn write(&self, document: &[u8]) -> Result<Option<Backup>> {
        let backup = self.backup()?;
        write_atomic(&self.store.path, document)
            .map_err(|e| Error::io("write", &self.store.path, e))?;
        Ok(backup)
    }

    /// Copies the current document into the backup directory; `None` if there is none.
    pub fn backup(&self) -> Result<Option<Backup>> {
        match self.read()? {
            Some(current) => backup::take(&self.store.backup_dir, &current).map(Some),
            None => Ok(None),
        }
    }

    /// Checks `backup` against its SHA-256 and makes it the current document (backing up the
    /// one it replaces). Returns the restored bytes. Callers should also check that the bytes
    /// open as a keyring before calling this (the store cannot: it holds no keys).
    pub fn restore(&self, backup: &Backup) -> Result<Vec<u8>> {
        let bytes = backup::read_verified(backup)?;
        self.write(&bytes)?;
        Ok(bytes)
    }

    /// Deletes all but the newest `keep` backups; returns the deleted ones.
    pub fn prune(&self, keep: usize) -> Result<Vec<Backup>> {
        backup::prune(&self.store.backup_dir, keep)
    }
}
