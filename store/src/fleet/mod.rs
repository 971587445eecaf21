//! Keyring stores: where the one keyring of a fleet of processes lives.
//!
//! A [`KeyringStore`] keeps one sealed keyring document and its generation, and changes it
//! only by compare-and-swap on that generation, so two operators or hosts can never lose each
//! other's change and no store ever goes back to a lower generation (anti-rollback). It also
//! keeps the audit trail of changes and, where it can, the check-ins of the readers that hold
//! the keyring (which generation and versions they hold, and when they last looked), so a
//! promote can wait until every reader holds the pending key.
//!
//! Stores know bytes, not keys: nothing here can open a document. A store URL chooses one
//! ([`open`]):
//!
//! | URL | store |
//! |---|---|
//! | `file:PATH` or a plain path | [`FileStore`]: the file with its lock, mark and backups |
//! | `postgres://…#NAME` (or `postgresql://`) | a row of the `keyroll_keyrings` table (feature `postgres`) |
//! | `aws-sm://NAME` | an AWS Secrets Manager secret (feature `aws`) |
//!
//! The interface is small on purpose (like tink's keyset reader/writer): each store is one
//! file, and the lifecycle rules stay in the core.

#[cfg(feature = "aws")]
pub mod aws_sm;
mod file;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod reload;
mod url;

pub use file::FileStore;
pub use url::{redact_password, StoreUrl};

use crate::{AuditRecord, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A keyring document as stored, with the generation it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Stored {
    /// The sealed document (JSON bytes).
    pub document: Vec<u8>,
    /// Its generation ([`keyroll::Keyring::document_generation`]).
    pub generation: u64,
}

impl core::fmt::Debug for Stored {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stored")
            .field("generation", &self.generation)
            .field("document_len", &self.document.len())
            .finish()
    }
}

/// One reader's check-in: which keyring it holds, recorded by its reload loop on every poll.
/// No key material: versions and generations only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCheckIn {
    /// A stable id of the reader process (host, pid and a random tag by default).
    pub reader: String,
    /// The generation of the keyring it holds.
    pub generation: u64,
    /// Every version it can decrypt with (pending, active, decrypt-only, compromised).
    pub versions: Vec<u32>,
    /// When it last checked the store, Unix seconds.
    pub checked_at: u64,
    /// Its poll interval in seconds: a reader is "live" while `checked_at` is within a few
    /// intervals of now.
    pub poll_interval: u64,
    /// The error code of its last failed reload, if the last one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where a keyring document lives. Every method is a complete, self-contained operation
/// (no lock is held across calls), so one store value serves many threads.
pub trait KeyringStore: Send + Sync + core::fmt::Debug {
    /// Where this store is, fit for messages and audit records: never a password or token.
    fn location(&self) -> String;

    /// The current document, `None` if there is no keyring yet. A document below the
    /// highest generation this store has ever held is refused (`keyring_rollback`).
    fn load(&self) -> Result<Option<Stored>>;

    /// The current generation alone (`None` if there is no keyring): cheap enough to poll.
    fn generation(&self) -> Result<Option<u64>>;

    /// Replaces the document if the stored generation is still `expected` (`None`: there is
    /// no keyring yet) and `document` is its successor ([`keyroll::Keyring::check_successor`]):
    /// `keyring_conflict` otherwise, and nothing is written. The replaced document is kept
    /// as a backup where the store keeps backups. A document at or below the highest
    /// generation ever stored is refused (`keyring_rollback`).
    fn compare_and_swap(&self, expected: Option<u64>, document: &[u8]) -> Result<()>;

    /// Appends an audit record where this store keeps them.
    fn audit(&self, record: &AuditRecord) -> Result<()>;

    /// Records a reader's check-in (replacing its previous one). Stores without a place for
    /// them return `store_unsupported`; see `docs/fleet.md` for the fallback.
    fn check_in(&self, reader: &ReaderCheckIn) -> Result<()>;

    /// Every reader check-in recorded, newest first.
    fn readers(&self) -> Result<Vec<ReaderCheckIn>>;

    /// Removes a destroyed `version`'s sealed key material from the backups this store keeps
    /// itself (call it after a save that destroyed it, see [`crate::destroyed_since`]):
    /// re-sealing a backup needs the keyring's credentials, which stores never hold. `None`
    /// where the store keeps no such backups, or the caller purges them another way (the
    /// file's backups: [`crate::Locked::purge_version_from_backups`]).
    fn purge_version(
        &self,
        version: u32,
        unlock: keyroll::Unlock<'_>,
        now: u64,
    ) -> Result<Option<crate::PurgeReport>> {
        let _ = (version, unlock, now);
        Ok(None)
    }
}

/// Opens the store a URL names (see the module docs). Connecting is lazy where it can be:
/// errors of reach come from the first call.
pub fn open(url: &str) -> Result<Arc<dyn KeyringStore>> {
    match StoreUrl::parse(url)? {
        StoreUrl::File(path) => Ok(Arc::new(FileStore::new(crate::Store::new(path)))),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres { url, name } => Ok(Arc::new(postgres::PgStore::connect(&url, &name)?)),
        #[cfg(feature = "aws")]
        StoreUrl::AwsSecretsManager { name } => Ok(Arc::new(aws_sm::SmStore::connect(&name)?)),
        #[allow(unreachable_patterns)]
        other => Err(crate::Error::Unsupported {
            location: other.location(),
            what: "this build has no support for this kind of store",
        }),
    }
}

/// The readers of `readers` that are live at `now` (checked in within three poll intervals)
/// and do not hold `version`: what a promote of `version` waits for.
pub fn readers_lacking(readers: &[ReaderCheckIn], version: u32, now: u64) -> Vec<ReaderCheckIn> {
    readers
        .iter()
        .filter(|r| now.saturating_sub(r.checked_at) <= 3 * r.poll_interval.max(1))
        .filter(|r| !r.versions.contains(&version))
        .cloned()
        .collect()
}
