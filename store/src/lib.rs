//! # keyroll-store
//!
//! Where a keyroll keyring lives on disk. The core ([`keyroll`](https://docs.rs/keyroll)) turns
//! a keyring into a sealed JSON document and back; this crate keeps that document safe as a
//! file, for the CLI and every native binding alike. It knows bytes, not keys: nothing here
//! can decrypt anything.
//!
//! - **Atomic writes** ([`write_atomic`]): a temporary file in the same directory, `fsync`,
//!   `rename` over the old file, `fsync` of the directory. A reader sees the old document or
//!   the new one, never a torn one, even across a power cut.
//! - **Mode 0600** for the keyring, its backups and the audit log; **0700** for the backup
//!   directory (on Unix).
//! - **An exclusive lock** ([`Store::lock`]) on a sidecar `<keyring>.lock` file held across
//!   read, change and write, so two processes rotating at once never lose a version.
//! - **Backups** of the sealed document before every change ([`Locked::write`]), named by
//!   time and SHA-256, checked against that hash before a [`Locked::restore`].
//! - **An audit log** ([`AuditLog`]) of JSON lines, appended and fsynced.
//!
//! ```
//! # fn main() -> Result<(), keyroll_store::Error> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let store = keyroll_store::Store::new(dir.path().join("keyring.json"));
//! let lock = store.lock()?;                 // exclusive, blocks until free
//! lock.create(b"{\"sealed\":1}")?;           // fails if a keyring is already there
//! let backup = lock.write(b"{\"sealed\":2}")?; // backs up version 1 first
//! assert!(backup.is_some());
//! drop(lock);
//! assert_eq!(store.read()?, b"{\"sealed\":2}");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod atomic;
mod audit;
mod backup;
mod error;
mod store;

pub use atomic::write_atomic;
pub use audit::{default_actor, AuditLog, AuditRecord};
pub use backup::Backup;
pub use error::{Error, Result};
pub use store::{Locked, Store};
