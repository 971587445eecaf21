//! The CLI's one error type: a stable code, an exit status, and a message with no secret in it.

use std::fmt;

/// Exit statuses (also listed in `keyroll --help`).
pub mod exit {
    /// Success (and `health`: OK).
    pub const OK: i32 = 0;
    /// `health`: WARNING (rotation coming up, compromised or pending versions).
    pub const WARNING: i32 = 1;
    /// `health`: CRITICAL (rotation overdue, no active key).
    pub const CRITICAL: i32 = 2;
    /// `migrate`: finished, but some rows failed and were left untouched.
    pub const PARTIAL: i32 = 3;
    /// The keyring could not be opened: wrong passphrase or master key, or none given.
    pub const UNLOCK: i32 = 4;
    /// The keyring file or a backup is damaged or missing, or the keyring was refused as it
    /// stands: changed by another process meanwhile (`keyring_conflict`) or older than one
    /// already seen (`keyring_rollback`). Nothing was written.
    pub const KEYRING: i32 = 5;
    /// The database failed: cannot connect, missing table or column, vanished mid-run; or the
    /// keyring store (PostgreSQL, Secrets Manager) could not be reached (`store_unavailable`).
    pub const DATABASE: i32 = 6;
    /// A file-system error (permissions, lock, disk).
    pub const IO: i32 = 7;
    /// Invalid input: bad key material, refused state change, bad argument.
    pub const INPUT: i32 = 8;
    /// The user declined a confirmation prompt (or none was possible without `--yes`).
    pub const ABORTED: i32 = 10;
    /// Command-line usage error.
    pub const USAGE: i32 = 64;
}

/// A failure of one command.
#[derive(Debug)]
pub struct CliError {
    /// Stable machine-readable code (a core or store code, or a CLI one).
    pub code: String,
    /// Process exit status.
    pub exit: i32,
    /// Human message (never key material).
    pub message: String,
}

/// Result alias of the CLI.
pub type Result<T, E = CliError> = core::result::Result<T, E>;

impl CliError {
    /// A new error.
    pub fn new(code: &str, exit: i32, message: impl Into<String>) -> Self {
        CliError {
            code: code.to_string(),
            exit,
            message: message.into(),
        }
    }

    /// Invalid input.
    pub fn input(message: impl Into<String>) -> Self {
        CliError::new("invalid_input", exit::INPUT, message)
    }

    /// A database failure.
    pub fn db(code: &str, message: impl Into<String>) -> Self {
        CliError::new(code, exit::DATABASE, message)
    }

    /// Declined confirmation.
    pub fn aborted(message: impl Into<String>) -> Self {
        CliError::new("aborted", exit::ABORTED, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<keyroll::Error> for CliError {
    fn from(e: keyroll::Error) -> Self {
        use keyroll::Error as E;
        let exit = match &e {
            E::BadPassphrase => exit::UNLOCK,
            E::KeyringCorrupt(_) | E::KeyringConflict { .. } | E::KeyringRollback { .. } => {
                exit::KEYRING
            }
            _ => exit::INPUT,
        };
        let message = match &e {
            E::BadPassphrase => {
                "wrong passphrase or master key: the keyring did not open (nothing was changed)"
                    .to_string()
            }
            E::KeyringCorrupt(_) => format!("{e}: the file is damaged or was altered; restore a backup (`keyroll backups`, `keyroll restore`)"),
            E::KeyringConflict { base, current } => format!(
                "another process changed the keyring while this command ran (it was loaded at generation {base}, the file is now at generation {current}): nothing was written; re-run the command to apply it to the current keyring"
            ),
            E::KeyringRollback { seen, found } => format!(
                "the keyring file is older than one already used here (generation {found}, but generation {seen} was seen): it was replaced by a backup or an old copy, which could bring back compromised or destroyed keys, so it is refused and nothing was changed. Put the newer file back, or go back on purpose with `keyroll restore <backup>` (see `keyroll backups`), which lists what it brings back and asks for confirmation"
            ),
            _ => e.to_string(),
        };
        CliError::new(e.code(), exit, message)
    }
}

impl From<keyroll_store::Error> for CliError {
    fn from(e: keyroll_store::Error) -> Self {
        use keyroll_store::Error as E;
        if let E::Keyring(core) = e {
            // The core's code, exit status and advice (conflict, rollback, corrupt document).
            return CliError::from(core);
        }
        let exit = match &e {
            E::NotFound(_)
            | E::BackupCorrupt(_)
            | E::BackupNotFound(_)
            | E::AuditCorrupt { .. }
            | E::GenerationUsed { .. } => exit::KEYRING,
            E::AlreadyExists(_)
            | E::InvalidStoreUrl(_)
            | E::InvalidStoreConfig { .. }
            | E::Unsupported { .. } => exit::INPUT,
            E::Unavailable { .. } => exit::DATABASE,
            _ => exit::IO,
        };
        let message = match &e {
            E::NotFound(p) => format!(
                "no keyring at {}: create one with `keyroll init` or pass --keyring / KEYROLL_KEYRING",
                p.display()
            ),
            _ => e.to_string(),
        };
        CliError::new(e.code(), exit, message)
    }
}

impl From<keyroll_store::env::EnvError> for CliError {
    fn from(e: keyroll_store::env::EnvError) -> Self {
        use keyroll_store::env::EnvError as E;
        let exit = match &e {
            E::InvalidMasterKey => exit::UNLOCK,
            _ => exit::INPUT,
        };
        CliError::new(e.code(), exit, e.to_string())
    }
}

impl From<rusqlite::Error> for CliError {
    fn from(e: rusqlite::Error) -> Self {
        CliError::db("database_error", format!("SQLite: {e}"))
    }
}

impl From<postgres::Error> for CliError {
    fn from(e: postgres::Error) -> Self {
        let detail = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        };
        CliError::db("database_error", format!("PostgreSQL: {detail}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new("io_error", exit::IO, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stale save (another process saved in between) cannot be raced deterministically from
    /// outside, since every CLI change holds the store lock; its mapping is checked here.
    #[test]
    fn keyring_conflict_from_the_store_is_a_keyring_error_that_says_re_run() {
        let e = CliError::from(keyroll_store::Error::Keyring(
            keyroll::Error::KeyringConflict {
                base: 3,
                current: 4,
            },
        ));
        assert_eq!(e.code, "keyring_conflict");
        assert_eq!(e.exit, exit::KEYRING);
        assert!(
            e.message.contains("another process changed the keyring"),
            "{e}"
        );
        assert!(e.message.contains("re-run the command"), "{e}");
        assert!(e.message.contains("nothing was written"), "{e}");
    }

    #[test]
    fn keyring_rollback_from_the_store_is_a_keyring_error_that_names_restore() {
        let e = CliError::from(keyroll_store::Error::Keyring(
            keyroll::Error::KeyringRollback { seen: 5, found: 2 },
        ));
        assert_eq!(e.code, "keyring_rollback");
        assert_eq!(e.exit, exit::KEYRING);
        assert!(e.message.contains("`keyroll restore"), "{e}");
    }

    #[test]
    fn other_store_errors_keep_their_status() {
        let e = CliError::from(keyroll_store::Error::Keyring(
            keyroll::Error::KeyringCorrupt("x"),
        ));
        assert_eq!(
            (e.code.as_str(), e.exit),
            ("keyring_corrupt", exit::KEYRING)
        );
        let e = CliError::from(keyroll_store::Error::Locked("k.json".into()));
        assert_eq!((e.code.as_str(), e.exit), ("keyring_locked", exit::IO));
    }
}
