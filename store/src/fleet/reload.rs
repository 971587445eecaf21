//! The live-reload driver: keeps a [`KeyringHandle`] at the store's current generation.
//!
//! A [`Reloader`] polls [`KeyringStore::generation`] on a background thread (every
//! `poll_interval`, 30 s by default), and when it moved, loads the document, opens it with
//! the caller's opener (which holds the passphrase, master key or KMS client: the store never
//! sees a key) and offers it to the handle, which swaps it in atomically and only forward.
//! After every poll it checks in with the store (which generation and versions this reader
//! holds), so `keyroll promote` can wait until every reader holds a staged key.
//!
//! It also answers the handle's unknown-version hook: an envelope under a version the
//! keyring lacks triggers one immediate reload; after one that found nothing new (or failed),
//! the next waits `min_reload_gap` (1 s by default), so a flood of envelopes naming made-up
//! versions cannot turn into a flood of store reads; a decrypt arriving within the gap waits
//! for a reload in progress instead.
//!
//! A failed reload (store unreachable, document corrupt, wrong credentials, a lower
//! generation) keeps the last good keyring and is recorded in the handle's status and the
//! next check-in, by error code only.

use super::{KeyringStore, ReaderCheckIn};
use crate::Result;
use keyroll::{Keyring, KeyringHandle, Offered};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Opens a sealed document: the caller's credentials live in here, never in the store.
pub type Opener = Arc<dyn Fn(&[u8]) -> keyroll::Result<Keyring> + Send + Sync>;

/// How a [`Reloader`] polls.
#[derive(Debug, Clone)]
pub struct ReloadOptions {
    /// Time between two polls of the store's generation. [`Duration::ZERO`] starts no
    /// background thread: polls happen only through [`Reloader::poll_now`] and the
    /// unknown-version hook.
    pub poll_interval: Duration,
    /// After an unknown-version reload that found nothing new (or failed), how long the next
    /// such reload waits.
    pub min_reload_gap: Duration,
    /// The reader id recorded in check-ins (default `host:pid:random-tag`).
    pub reader: Option<String>,
}

impl Default for ReloadOptions {
    fn default() -> Self {
        ReloadOptions {
            poll_interval: Duration::from_secs(30),
            min_reload_gap: Duration::from_secs(1),
            reader: None,
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// The store is at the generation held: nothing loaded.
    Current,
    /// A newer document was loaded and swapped in.
    Reloaded {
        /// The generation held before.
        from: u64,
        /// The generation held now.
        to: u64,
    },
}

struct Inner {
    store: Arc<dyn KeyringStore>,
    handle: Arc<KeyringHandle>,
    opener: Opener,
    reader: String,
    poll_interval: Duration,
    min_reload_gap: Duration,
    /// When the last unknown-version reload that brought nothing new (or failed) ended.
    last_empty: Mutex<Option<Instant>>,
    /// Held for a whole poll, so the thread and the hook never reload at the same time.
    polling: Mutex<()>,
    /// The process that started the thread. A forked child has no thread and may have
    /// inherited `polling` locked (fork copies the lock, not its holder), so it never polls:
    /// it keeps the keyring it was forked with (open a handle after fork in each worker).
    pid: u32,
}

/// The stop signal of the background thread: set, and the thread wakes at once.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Keeps a [`KeyringHandle`] current; see the module docs. Dropping it (or
/// [`Reloader::stop`]) ends the thread at once and detaches the hook; the handle keeps
/// working with the keyring it holds.
pub struct Reloader {
    inner: Arc<Inner>,
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl Reloader {
    /// Loads the store's document, opens it, and starts keeping a new handle current.
    /// Fails if the store has no keyring or the first document does not open: there is no
    /// last good keyring to fall back on yet.
    pub fn open(
        store: Arc<dyn KeyringStore>,
        opener: Opener,
        options: ReloadOptions,
    ) -> Result<Reloader> {
        let stored = store
            .load()?
            .ok_or_else(|| crate::Error::NotFound(store.location().into()))?;
        let ring = opener(&stored.document)?;
        let handle = Arc::new(KeyringHandle::new(ring));
        let reloader = Reloader::start(store, handle, opener, options);
        let now = unix_now();
        reloader.inner.handle.record_check(now);
        // After the good check, so that a failed check-in stays reported.
        reloader.inner.check_in(now);
        Ok(reloader)
    }

    /// Starts keeping `handle` current from `store` (installs the hook, starts the thread).
    pub fn start(
        store: Arc<dyn KeyringStore>,
        handle: Arc<KeyringHandle>,
        opener: Opener,
        options: ReloadOptions,
    ) -> Reloader {
        let inner = Arc::new(Inner {
            store,
            handle,
            opener,
            reader: options.reader.unwrap_or_else(default_reader_id),
            poll_interval: options.poll_interval,
            min_reload_gap: options.min_reload_gap,
            last_empty: Mutex::new(None),
            polling: Mutex::new(()),
            pid: std::process::id(),
        });
        // Weak: the handle outlives a stopped reloader without keeping it alive.
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        inner
            .handle
            .set_on_unknown_version(Some(Arc::new(move |_version| {
                weak.upgrade()
                    .is_some_and(|inner| inner.reload_for_unknown())
            })));
        let stop = Arc::new(Stop::default());
        let thread = (!inner.poll_interval.is_zero()).then(|| {
            let (inner, stop) = (inner.clone(), stop.clone());
            std::thread::Builder::new()
                .name("keyroll-reload".into())
                .spawn(move || poll_loop(&inner, &stop))
        });
        // If the OS refuses a thread, the handle still works and reloads on unknown versions.
        let thread = thread.and_then(|t| t.ok());
        Reloader {
            inner,
            stop,
            thread,
        }
    }

    /// The handle this reloader keeps current.
    pub fn handle(&self) -> &Arc<KeyringHandle> {
        &self.inner.handle
    }

    /// The reader id used in check-ins.
    pub fn reader(&self) -> &str {
        &self.inner.reader
    }

    /// Polls now (what the thread does every interval): on failure, the handle keeps its
    /// keyring and the failure is recorded and returned.
    pub fn poll_now(&self) -> Result<Polled> {
        if self.inner.forked() {
            return Err(keyroll::Error::InvalidArgument(
                "this handle was opened before fork: open one in this process",
            )
            .into());
        }
        self.inner.poll()
    }

    /// Ends the background thread (at once; a poll in progress finishes first) and detaches
    /// the unknown-version hook. The handle keeps its current keyring.
    pub fn stop(&mut self) {
        *self
            .stop
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if self.inner.forked() {
                // The thread stayed in the parent: nothing to join here, and detaching a
                // thread id copied by fork is not defined, so the handle is just forgotten.
                std::mem::forget(thread);
            } else {
                // A panic in a poll has nothing to report here; the handle is unaffected.
                let _ = thread.join();
            }
        }
        self.inner.handle.set_on_unknown_version(None);
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.stop();
    }
}

impl core::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reloader")
            .field("store", &self.inner.store.location())
            .field("reader", &self.inner.reader)
            .field("poll_interval", &self.inner.poll_interval)
            .field("handle", &self.inner.handle)
            .finish_non_exhaustive()
    }
}

fn poll_loop(inner: &Inner, stop: &Stop) {
    let mut stopped = stop.stopped.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let deadline = Instant::now() + inner.poll_interval;
        // Spurious wake-ups wait again until the deadline; a stop ends the loop at once.
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stopped = stop
                .wake
                .wait_timeout(stopped, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if *stopped {
            return;
        }
        drop(stopped);
        // Failures are recorded in the handle and the check-in; the loop goes on.
        let _ = inner.poll();
        stopped = stop.stopped.lock().unwrap_or_else(PoisonError::into_inner);
    }
}

impl Inner {
    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }

    fn poll(&self) -> Result<Polled> {
        let _one_at_a_time = self.polling.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.reload();
        let now = unix_now();
        match &result {
            Ok(_) => self.handle.record_check(now),
            Err(e) => self.handle.record_failure(e.code(), now),
        }
        self.check_in(now);
        result
    }

    fn reload(&self) -> Result<Polled> {
        let held = self.handle.generation();
        if self.store.generation()? == Some(held) {
            return Ok(Polled::Current);
        }
        let stored = self
            .store
            .load()?
            .ok_or_else(|| crate::Error::NotFound(self.store.location().into()))?;
        let ring = (self.opener)(&stored.document)?;
        Ok(match self.handle.offer(ring)? {
            Offered::Swapped { from, to } => Polled::Reloaded { from, to },
            Offered::Unchanged => Polled::Current,
        })
    }

    /// The unknown-version hook: one reload now, unless one found nothing new (or failed)
    /// within the gap — envelopes naming made-up versions, or a store that is down — in
    /// which case wait for a reload in progress (it may bring the version) and retry. A
    /// reload that brought a new generation does not hold back the next one (a stage and a
    /// promote in quick succession). Always says retry: it costs one lookup, and a reload
    /// by another thread may have brought the version meanwhile.
    fn reload_for_unknown(&self) -> bool {
        if self.forked() {
            return false;
        }
        let limited = self
            .last_empty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|t| t.elapsed() < self.min_reload_gap);
        if limited {
            drop(self.polling.lock().unwrap_or_else(PoisonError::into_inner));
            return true;
        }
        if !matches!(self.poll(), Ok(Polled::Reloaded { .. })) {
            *self
                .last_empty
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
        true
    }

    fn check_in(&self, now: u64) {
        let status = self.handle.status();
        let check_in = ReaderCheckIn {
            reader: self.reader.clone(),
            generation: status.generation,
            versions: status.versions,
            checked_at: now,
            poll_interval: self.poll_interval.as_secs().max(1),
            last_error: status.last_error.map(|e| e.code),
        };
        match self.store.check_in(&check_in) {
            // Stores without check-ins: docs/fleet.md gives the fallback.
            Err(crate::Error::Unsupported { .. }) | Ok(()) => {}
            Err(e) => self.handle.record_failure(e.code(), now),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `host:pid:tag`, the tag telling apart two processes that reuse a pid (containers).
fn default_reader_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let pid = std::process::id();
    // Not a secret, only distinct: the time to the nanosecond, the pid and a stack address.
    let marker = 0u8;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(pid.to_le_bytes());
    h.update((&marker as *const u8 as usize).to_le_bytes());
    let tag: String = h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{host}:{pid}:{tag}")
}
