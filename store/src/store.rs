//! A keyring file with its lock, backups and audit log.

use crate::atomic::{open_append_private, parent_dir, read_no_follow, write_atomic};
use crate::audit::AuditLog;
use crate::backup::{self, Backup};
use crate::{Error, Result};
use keyroll::Keyring;
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
/// | generation mark | `PATH.generation` (mode 0600) |
///
/// Every save must build on the stored document (its generation plus one, see
/// [`Keyring::check_successor`]), so a process holding an old copy cannot undo a rotation
/// made since (`keyring_conflict`). The highest generation ever written is kept in the mark
/// file, outside the document, and a lower document is refused on every read and write
/// (`keyring_rollback`): a backup or old copy put in place cannot quietly re-activate a
/// compromised key. Only [`Locked::restore`] replaces a newer keyring with older content, and
/// then under a generation above every one seen.
///
/// The directory holding the keyring must not be writable by group or others
/// (`unsafe_directory`), and the store's own files are never opened through a symlink
/// (`symlink_refused`).
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    lock_path: PathBuf,
    generation_path: PathBuf,
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
            generation_path: sibling(&path, ".generation"),
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
    /// a whole document, old or new. A document older than the highest generation recorded
    /// here is refused (`keyring_rollback`); one that is not a keyring document at all is
    /// returned as it is, for the core to report.
    pub fn read(&self) -> Result<Vec<u8>> {
        self.check_directory()?;
        let bytes = self.read_raw()?;
        if Keyring::document_generation(&bytes).is_ok() {
            Keyring::check_not_rolled_back(&bytes, self.highest_generation()?)?;
        }
        Ok(bytes)
    }

    /// Reads the document without the rollback check: only to show what a restore would
    /// replace, or to diagnose a refused file. Never open a keyring to use from this.
    pub fn read_unchecked(&self) -> Result<Vec<u8>> {
        self.check_directory()?;
        self.read_raw()
    }

    fn read_raw(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(self.path.clone()),
            _ => Error::io("read", &self.path, e),
        })
    }

    /// The highest generation this store has written or restored (0 if it never has), kept
    /// in `PATH.generation`.
    pub fn highest_generation(&self) -> Result<u64> {
        let p = &self.generation_path;
        match read_no_follow(p) {
            Ok(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| {
                    Error::io(
                        "read generation mark",
                        p,
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "not a generation number",
                        ),
                    )
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(Error::io("read generation mark", p, e)),
        }
    }

    /// Refuses a keyring directory that group or others may write: they could swap the
    /// keyring for an old copy, or plant symlinks where the lock and audit log go.
    fn check_directory(&self) -> Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = parent_dir(&self.path);
            let meta = std::fs::metadata(dir).map_err(|e| Error::io("stat", dir, e))?;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o022 != 0 {
                return Err(Error::UnsafeDirectory {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
        }
        Ok(())
    }

    fn open_lock_file(&self) -> Result<File> {
        self.check_directory()?;
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

    /// Locks, checks that `document` builds on the stored one, backs that up and writes
    /// `document` atomically: the whole of a save for callers that hold no lock (e.g. a
    /// binding's `Keyring.save()`). `keyring_conflict` if the file changed since the keyring
    /// was loaded; nothing is written then. Returns the backup taken and the generation saved
    /// (give it to [`Keyring::mark_saved`] so the next save builds on this one).
    pub fn save(&self, document: &[u8]) -> Result<(Option<Backup>, u64)> {
        let lock = self.lock()?;
        let backup = lock.write(document)?;
        Ok((backup, Keyring::document_generation(document)?))
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
    ///
    /// The generation mark only ever rises: if a keyring was written here before (and deleted
    /// since), `document` must be sealed above the mark (see [`Locked::create_base`]), else
    /// [`Error::GenerationUsed`] (`keyring_rollback`) and nothing is written. Otherwise
    /// deleting the keyring and creating it again from an old copy would undo a compromise or
    /// a destroy; putting older content back is [`Locked::restore`]'s job.
    pub fn create(&self, document: &[u8]) -> Result<()> {
        if self.store.path.exists() {
            return Err(Error::AlreadyExists(self.store.path.clone()));
        }
        let generation = self.check_above_mark(document)?;
        write_atomic(&self.store.path, document)
            .map_err(|e| Error::io("write", &self.store.path, e))?;
        self.raise_mark(generation)
    }

    /// The generation a new keyring created here must be sealed on top of (give it to
    /// [`Keyring::mark_saved`] before sealing): the mark, 0 where no keyring was ever written.
    pub fn create_base(&self) -> Result<u64> {
        self.store.highest_generation()
    }

    /// With no keyring file: `document`'s generation if it is above every generation written
    /// here, [`Error::GenerationUsed`] otherwise. The mark's own generation is refused too:
    /// it was used by a document that is gone, and a different document at that generation
    /// is built on an older one.
    fn check_above_mark(&self, document: &[u8]) -> Result<u64> {
        let generation = Keyring::document_generation(document)?;
        let seen = self.store.highest_generation()?;
        if seen > 0 && generation <= seen {
            return Err(Error::GenerationUsed {
                path: self.store.path.clone(),
                seen,
                found: generation,
            });
        }
        Ok(generation)
    }

    /// Backs up the current document (if any), then replaces it with `document` atomically.
    /// Returns the backup taken.
    ///
    /// `document` must be the successor of the current one (sealed from a keyring loaded at
    /// its generation), else `keyring_conflict`; with no current document it must be above
    /// the mark (as for [`Locked::create`]), else `keyring_rollback`. Either way nothing is
    /// written.
    pub fn write(&self, document: &[u8]) -> Result<Option<Backup>> {
        let current = self.read()?;
        let generation = Keyring::check_successor(current.as_deref(), document)?;
        if current.is_none() {
            self.check_above_mark(document)?;
        }
        self.replace(current.as_deref(), document, generation)
    }

    fn replace(
        &self,
        current: Option<&[u8]>,
        document: &[u8],
        generation: u64,
    ) -> Result<Option<Backup>> {
        let backup = match current {
            Some(current) => Some(backup::take(&self.store.backup_dir, current)?),
            None => None,
        };
        write_atomic(&self.store.path, document)
            .map_err(|e| Error::io("write", &self.store.path, e))?;
        // After the keyring: a crash in between leaves the mark one behind (harmless), never
        // ahead of the file (which would refuse it).
        self.raise_mark(generation)?;
        Ok(backup)
    }

    /// Records `generation` as the highest written here, unless a higher one is recorded: the
    /// mark never goes down.
    fn raise_mark(&self, generation: u64) -> Result<()> {
        if generation <= self.store.highest_generation()? {
            return Ok(());
        }
        let p = &self.store.generation_path;
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Symlink(p.clone()));
        }
        write_atomic(p, format!("{generation}\n").as_bytes())
            .map_err(|e| Error::io("write generation mark", p, e))
    }

    /// The generation a restored keyring must be sealed on top of: the newest of the current
    /// document and the mark (also when the current file was itself rolled back). Give it to
    /// [`Keyring::mark_saved`] before sealing the keyring to restore.
    pub fn restore_base(&self) -> Result<u64> {
        let current = match self.store.read_raw() {
            Ok(bytes) => Keyring::document_generation(&bytes).unwrap_or(0),
            Err(Error::NotFound(_)) => 0,
            Err(e) => return Err(e),
        };
        Ok(current.max(self.store.highest_generation()?))
    }

    /// Copies the current document into the backup directory; `None` if there is none.
    pub fn backup(&self) -> Result<Option<Backup>> {
        match self.read()? {
            Some(current) => backup::take(&self.store.backup_dir, &current).map(Some),
            None => Ok(None),
        }
    }

    /// Puts older content back on purpose: `document` (a backup's keyring, re-sealed after
    /// [`Keyring::mark_saved`]`(`[`Locked::restore_base`]`)`) replaces the current document,
    /// which is backed up first, even if that one was itself rolled back. Its generation must
    /// be above every one seen (`keyring_conflict` otherwise), so the mark only ever rises and
    /// every process still holding the replaced keyring gets `keyring_conflict` on save.
    /// Callers open the document and confirm with the operator first (the store holds no
    /// keys).
    pub fn restore(&self, document: &[u8]) -> Result<Option<Backup>> {
        let base = self.restore_base()?;
        let generation = Keyring::document_generation(document)?;
        if generation <= base {
            return Err(keyroll::Error::KeyringConflict {
                base: generation.saturating_sub(1),
                current: base,
            }
            .into());
        }
        let current = match self.store.read_raw() {
            Ok(bytes) => Some(bytes),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.replace(current.as_deref(), document, generation)
    }

    /// Replaces `backup` with `document` (e.g. re-sealed without a destroyed key's
    /// material), keeping its time; the old file is deleted. Returns the new backup.
    pub fn replace_backup(&self, backup: &Backup, document: &[u8]) -> Result<Backup> {
        backup::replace(&self.store.backup_dir, backup, document)
    }

    /// Deletes one backup.
    pub fn delete_backup(&self, backup: &Backup) -> Result<()> {
        backup::delete(&self.store.backup_dir, backup)
    }

    /// Deletes all but the newest `keep` backups; returns the deleted ones.
    pub fn prune(&self, keep: usize) -> Result<Vec<Backup>> {
        backup::prune(&self.store.backup_dir, keep)
    }
}
