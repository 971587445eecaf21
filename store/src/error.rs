//! The store's error type. Messages name files, never their contents.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while keeping a keyring on disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("read", "write", "lock", …).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// There is no keyring file at this path.
    #[error("no keyring at {0}")]
    NotFound(PathBuf),
    /// A keyring already exists where a new one was to be created.
    #[error("a keyring already exists at {0}")]
    AlreadyExists(PathBuf),
    /// Another process holds the keyring lock (only from [`crate::Store::try_lock`]).
    #[error("the keyring {0} is locked by another process")]
    Locked(PathBuf),
    /// No backup has this name.
    #[error("no backup named {0}")]
    BackupNotFound(String),
    /// A backup's content does not match the SHA-256 in its name (damaged or altered).
    #[error("backup {0} is damaged: its content does not match its checksum")]
    BackupCorrupt(String),
    /// A symlink stands where the store keeps a file of its own (lock, audit log, backup,
    /// generation mark): following it would let whoever planted it choose the file written or
    /// read. Nothing was changed.
    #[error(
        "{0} is a symlink: refusing to follow it (remove it; keyroll creates the file itself)"
    )]
    Symlink(PathBuf),
    /// The keyring's directory (or the backup directory) can be written by other users, who
    /// could then replace the keyring or plant files beside it.
    #[error("{path} is writable by group or others (mode {mode:o}): run `chmod 700 {path}` (or 755) before keeping a keyring there", path = .path.display())]
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The keyring document was refused: a save that would undo someone else's change
    /// (`keyring_conflict`), an older document than one already seen (`keyring_rollback`), or a
    /// document that is not a keyring (`keyring_corrupt`). Nothing was written.
    #[error(transparent)]
    Keyring(#[from] keyroll::Error),
    /// There is no keyring file, but one at this generation or above was already written
    /// here (the mark beside it says so): a document at or below it is an old copy, or one
    /// built on an old copy, and could re-activate a compromised or destroyed key
    /// (`keyring_rollback`). Nothing was written.
    #[error("a keyring at generation {seen} was already written at {path} (it is gone now): refusing a document at generation {found}, which could be an old copy; restore a backup on purpose with `keyroll restore`, or seal a new keyring above generation {seen} (`keyroll init` does)", path = .path.display())]
    GenerationUsed {
        /// The keyring file.
        path: PathBuf,
        /// The highest generation recorded for it.
        seen: u64,
        /// The generation of the document refused.
        found: u64,
    },
    /// A keyring store URL that names no store keyroll knows (the message says which forms
    /// are accepted).
    #[error("invalid keyring store URL: {0}")]
    InvalidStoreUrl(&'static str),
    /// A store URL's settings are wrong (an unknown `sslmode`, an unreadable CA file, a
    /// variable such as `PGSSLMODE` that is not UTF-8): nothing was tried.
    #[error("{location}: {message}")]
    InvalidStoreConfig {
        /// The store, without credentials.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The store cannot do this (e.g. reader check-ins in a store without a place for them,
    /// or a store kind left out of this build).
    #[error("{location}: {what}")]
    Unsupported {
        /// The store, without credentials.
        location: String,
        /// What it cannot do.
        what: &'static str,
    },
    /// The store could not be reached or refused the request (network, server, permissions):
    /// nothing was changed by this call. The message names the store, never a credential.
    #[error("{location}: {op} failed: {message}")]
    Unavailable {
        /// The store, without credentials.
        location: String,
        /// What was being done.
        op: &'static str,
        /// The server's or client's message, credentials removed.
        message: String,
    },
    /// An audit log line is not a valid record.
    #[error("audit log {path} line {line} is not a valid record")]
    AuditCorrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

impl Error {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io_error",
            Error::NotFound(_) => "keyring_not_found",
            Error::AlreadyExists(_) => "keyring_exists",
            Error::Locked(_) => "keyring_locked",
            Error::BackupNotFound(_) => "backup_not_found",
            Error::BackupCorrupt(_) => "backup_corrupt",
            Error::AuditCorrupt { .. } => "audit_corrupt",
            Error::Keyring(e) => e.code(),
            Error::Symlink(_) => "symlink_refused",
            Error::UnsafeDirectory { .. } => "unsafe_directory",
            Error::GenerationUsed { .. } => "keyring_rollback",
            Error::InvalidStoreUrl(_) | Error::InvalidStoreConfig { .. } => "invalid_store_url",
            Error::Unsupported { .. } => "store_unsupported",
            Error::Unavailable { .. } => "store_unavailable",
        }
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        if crate::atomic::is_symlink_error(&source) {
            return Error::Symlink(path.to_path_buf());
        }
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
