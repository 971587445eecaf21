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
//! - **Destroy reaches the backups** ([`Locked::purge_version_from_backups`]): a destroyed
//!   version's sealed material is re-sealed out of, or deleted with, every backup.
//! - **Generations**: a save must build on the stored document (`keyring_conflict`
//!   otherwise), and a document older than the newest one seen here is refused
//!   (`keyring_rollback`); see [`Store`].
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use keyroll::{Keyring, Protection, SecretKey, Unlock};
//! let dir = tempfile::tempdir()?;
//! let store = keyroll_store::Store::new(dir.path().join("keyring.json"));
//! let master = SecretKey::generate()?;
//! let mut ring = Keyring::generate(1_700_000_000)?;
//! let lock = store.lock()?;                 // exclusive, blocks until free
//! lock.create(&ring.to_document(Protection::MasterKey(&master))?)?; // generation 1
//! ring = Keyring::from_document(&lock.read()?.expect("written"), Unlock::MasterKey(&master))?;
//! ring.rotate(1_700_000_100)?;
//! let backup = lock.write(&ring.to_document(Protection::MasterKey(&master))?)?; // generation 2
//! assert!(backup.is_some());                // generation 1, backed up first
//! drop(lock);
//! assert_eq!(Keyring::document_generation(&store.read()?)?, 2);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod atomic;
mod audit;
#[cfg(feature = "aws")]
mod aws;
mod backup;
pub mod env;
mod error;
pub mod fleet;
#[cfg(feature = "aws")]
pub mod kms;
#[cfg(feature = "postgres")]
pub mod pgconn;
mod purge;
mod store;

pub use atomic::write_atomic;
pub use audit::{default_actor, AuditLog, AuditRecord};
pub use backup::Backup;
pub use error::{Error, Result};
pub use purge::{destroyed_since, PurgeReport};
pub use store::{Locked, Store};
