//! A live keyring: the one a long-running process holds while its store moves on.
//!
//! A [`KeyringHandle`] holds the current [`Keyring`] behind an `Arc` that a reload swaps in
//! one step, so encrypt and decrypt never wait on a reload: the lock is held only to clone or
//! replace the pointer (never while a document is fetched, unsealed or a message is opened),
//! and a caller that started on the old keyring finishes on it. The handle itself does no I/O
//! and reads no clock (it compiles to wasm32 like the rest of core); whoever fetches
//! documents (the store crate's `Reloader`, a browser's own fetch) offers each new keyring
//! with [`KeyringHandle::offer`] and reports failed reloads with
//! [`KeyringHandle::record_failure`], handing in the time.
//!
//! Two rules make a fleet safe:
//! - a handle never swaps to a lower generation (`keyring_rollback`): an old copy put back in
//!   a store, or a stale replica, cannot bring back a compromised or destroyed key;
//! - a failed reload keeps the last good keyring; the failure is only reported.
//!
//! And one makes a two-phase rotation smooth: decrypting an envelope under a version the
//! current keyring lacks (a freshly staged key another process already writes with) calls the
//! reload hook once and retries once, so a reader does not fail while waiting for its poll.
//!
//! ```
//! use keyroll::{Keyring, KeyringHandle, Offered, Protection, SecretKey, Unlock};
//! let (now, key) = (1_700_000_000, SecretKey::generate()?);
//! let mut ring = Keyring::generate(now)?;
//! let first = ring.to_document(Protection::MasterKey(&key))?; // generation 1
//! let handle = KeyringHandle::new(Keyring::from_document(&first, Unlock::MasterKey(&key))?);
//! ring.mark_saved(1);
//! ring.rotate(now + 1)?; // another process rotates and saves generation 2
//! let token = ring.encrypt(b"secret", b"ctx", None)?;
//! let second = ring.to_document(Protection::MasterKey(&key))?;
//! let next = Keyring::from_document(&second, Unlock::MasterKey(&key))?;
//! assert_eq!(handle.offer(next)?, Offered::Swapped { from: 1, to: 2 });
//! assert_eq!(handle.decrypt(token.as_bytes(), b"ctx", None)?, b"secret");
//! // The first document put back is refused: a handle never goes back.
//! let old = Keyring::from_document(&first, Unlock::MasterKey(&key))?;
//! assert_eq!(handle.offer(old).unwrap_err().code(), "keyring_rollback");
//! # Ok::<(), keyroll::Error>(())
//! ```

use crate::{Error, Keyring, Result, Ttl, Verified};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Called with the version an envelope names when the current keyring lacks it; returns
/// whether a retry is worth it (the hook reloaded, or may have).
pub type UnknownVersionHook = Arc<dyn Fn(u32) -> bool + Send + Sync>;

/// What [`KeyringHandle::offer`] did with a keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offered {
    /// The offered keyring is now current.
    Swapped {
        /// The generation held before.
        from: u64,
        /// The generation held now.
        to: u64,
    },
    /// The offered keyring is at the generation already held: nothing changed.
    Unchanged,
}

/// The last failed reload, as the driver reported it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReloadFailure {
    /// The stable error code (`keyring_corrupt`, `store_unavailable`, …): never a message,
    /// which could carry a location or worse.
    pub code: String,
    /// When it failed, Unix seconds (the driver's clock).
    pub at: u64,
}

/// A snapshot of what a handle holds and how its reloads went (serialized as the bindings'
/// status JSON: no secret in it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HandleStatus {
    /// The generation of the current keyring.
    pub generation: u64,
    /// Every version it holds that can still decrypt (not disabled or destroyed).
    pub versions: Vec<u32>,
    /// When the driver last checked the store (successfully or not), Unix seconds.
    pub last_check: Option<u64>,
    /// The last reload's failure, if the last check failed; cleared by the next good check.
    pub last_error: Option<ReloadFailure>,
}

#[derive(Default)]
struct Reloads {
    last_check: Option<u64>,
    last_error: Option<ReloadFailure>,
}

/// The current keyring of a long-running process, swapped atomically on reload. See the
/// module docs.
pub struct KeyringHandle {
    current: RwLock<Arc<Keyring>>,
    hook: RwLock<Option<UnknownVersionHook>>,
    reloads: Mutex<Reloads>,
}

impl KeyringHandle {
    /// A handle holding `ring`.
    pub fn new(ring: Keyring) -> Self {
        KeyringHandle {
            current: RwLock::new(Arc::new(ring)),
            hook: RwLock::new(None),
            reloads: Mutex::new(Reloads::default()),
        }
    }

    /// The current keyring. Operations started on it finish on it even if a reload swaps
    /// another in meanwhile.
    pub fn current(&self) -> Arc<Keyring> {
        // A poisoned lock still holds a whole `Arc` (a swap cannot be half done).
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The generation of the current keyring.
    pub fn generation(&self) -> u64 {
        self.current().generation()
    }

    /// Makes `ring` current if its generation is higher than the one held; the same
    /// generation changes nothing ([`Offered::Unchanged`]); a lower one is refused
    /// (`keyring_rollback`) and another keyring (a different id) is refused
    /// (`wrong_keyring`), leaving the current keyring in place.
    pub fn offer(&self, ring: Keyring) -> Result<Offered> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if ring.id() != current.id() {
            return Err(Error::WrongKeyring);
        }
        let (from, to) = (current.generation(), ring.generation());
        if to < from {
            return Err(Error::KeyringRollback {
                seen: from,
                found: to,
            });
        }
        if to == from {
            return Ok(Offered::Unchanged);
        }
        let old = core::mem::replace(&mut *current, Arc::new(ring));
        drop(current);
        // Wiped by whoever holds it last, outside the lock (here, if nobody else does).
        drop(old);
        Ok(Offered::Swapped { from, to })
    }

    /// Sets (or with `None` removes) the hook called when an envelope names a version the
    /// current keyring lacks. The hook should reload at once (rate-limited by its owner) and
    /// return whether a retry may now succeed.
    pub fn set_on_unknown_version(&self, hook: Option<UnknownVersionHook>) {
        *self.hook.write().unwrap_or_else(PoisonError::into_inner) = hook;
    }

    /// Records a good check of the store at `at` (Unix seconds): clears the last failure.
    pub fn record_check(&self, at: u64) {
        let mut r = self.reloads.lock().unwrap_or_else(PoisonError::into_inner);
        r.last_check = Some(at);
        r.last_error = None;
    }

    /// Records a failed reload at `at` (Unix seconds) with its error code. The current
    /// keyring stays in place.
    pub fn record_failure(&self, code: &str, at: u64) {
        let mut r = self.reloads.lock().unwrap_or_else(PoisonError::into_inner);
        r.last_check = Some(at);
        r.last_error = Some(ReloadFailure {
            code: code.to_owned(),
            at,
        });
    }

    /// What the handle holds and how its last reload went.
    pub fn status(&self) -> HandleStatus {
        let ring = self.current();
        let r = self.reloads.lock().unwrap_or_else(PoisonError::into_inner);
        HandleStatus {
            generation: ring.generation(),
            versions: readable_versions(&ring),
            last_check: r.last_check,
            last_error: r.last_error.clone(),
        }
    }

    /// Runs a read (`decrypt`, `verify`, `rewrap`…) on the current keyring; if it fails
    /// because the envelope names a version the keyring lacks, calls the reload hook once and,
    /// if it says so, runs the read once more on the (possibly new) current keyring.
    pub fn read<T>(&self, mut op: impl FnMut(&Keyring) -> Result<T>) -> Result<T> {
        match op(&self.current()) {
            Err(Error::UnknownKeyVersion(version)) if self.reload_for(version) => {
                op(&self.current())
            }
            other => other,
        }
    }

    fn reload_for(&self, version: u32) -> bool {
        // Cloned out so the hook (which offers a keyring) runs without this lock held.
        let hook = self
            .hook
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        hook.is_some_and(|hook| hook(version))
    }

    /// [`Keyring::encrypt`] with the current keyring.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<String> {
        self.current().encrypt(plaintext, context, issued_at)
    }

    /// [`Keyring::encrypt_binary`] with the current keyring.
    pub fn encrypt_binary(
        &self,
        plaintext: &[u8],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<u8>> {
        self.current().encrypt_binary(plaintext, context, issued_at)
    }

    /// [`Keyring::encrypt_many`] with the current keyring (one keyring for the whole batch).
    pub fn encrypt_many<T: AsRef<[u8]>>(
        &self,
        items: &[T],
        context: &[u8],
        issued_at: Option<u64>,
    ) -> Result<Vec<String>> {
        self.current().encrypt_many(items, context, issued_at)
    }

    /// [`Keyring::decrypt`], reloading once for an unknown version (see [`KeyringHandle::read`]).
    pub fn decrypt(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Vec<u8>> {
        self.read(|k| k.decrypt(token, context, ttl))
    }

    /// [`Keyring::verify`], reloading once for an unknown version.
    pub fn verify(&self, token: &[u8], context: &[u8], ttl: Option<Ttl>) -> Result<Verified> {
        self.read(|k| k.verify(token, context, ttl))
    }

    /// [`Keyring::rewrap`], reloading once for an unknown version.
    pub fn rewrap(&self, token: &[u8], context: &[u8]) -> Result<String> {
        self.read(|k| k.rewrap(token, context))
    }

    /// [`Keyring::decrypt_many`]: one result per token; the tokens under a version the
    /// keyring lacks are retried after one reload (one hook call for the whole batch).
    pub fn decrypt_many<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        context: &[u8],
        ttl: Option<Ttl>,
    ) -> Vec<Result<Vec<u8>>> {
        let mut results = self.current().decrypt_many(tokens, context, ttl);
        let unknown = results.iter().find_map(|r| match r {
            Err(Error::UnknownKeyVersion(v)) => Some(*v),
            _ => None,
        });
        if let Some(version) = unknown {
            if self.reload_for(version) {
                let ring = self.current();
                for (result, token) in results.iter_mut().zip(tokens) {
                    if matches!(result, Err(Error::UnknownKeyVersion(_))) {
                        *result = ring.decrypt(token.as_ref(), context, ttl);
                    }
                }
            }
        }
        results
    }
}

/// The versions a check-in reports: those this keyring can still decrypt with.
fn readable_versions(ring: &Keyring) -> Vec<u32> {
    use crate::KeyState;
    ring.versions()
        .iter()
        .filter(|v| !matches!(v.state, KeyState::Disabled | KeyState::Destroyed))
        .map(|v| v.version)
        .collect()
}

/// Generation and versions only: never key bytes.
impl core::fmt::Debug for KeyringHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let status = self.status();
        f.debug_struct("KeyringHandle")
            .field("generation", &status.generation)
            .field("versions", &status.versions)
            .field("last_error", &status.last_error.map(|e| e.code))
            .finish_non_exhaustive()
    }
}
