//! Fork detection for the per-thread nonce pool.
//!
//! After `fork()` the child holds a copy of every buffer of the parent. A nonce pool copied
//! that way would hand the same nonces to parent and child — under one AES-GCM key, a
//! catastrophe. A `pthread_atfork` child handler bumps a counter; each pool remembers the
//! counter it was filled under and throws itself away when the counter moved, before handing
//! out a single byte. (rand 0.8's `ThreadRng` uses the same hook but may still emit up to 60
//! buffered bytes after a fork; this pool emits none.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static FORKS: AtomicUsize = AtomicUsize::new(0);
static REGISTER: Once = Once::new();

extern "C" fn on_fork_child() {
    // Only an atomic increment: async-signal-safe, as a fork handler must be.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The number of forks this process has gone through (0 in the original process). The first
/// call installs the handler.
pub(crate) fn generation() -> usize {
    REGISTER.call_once(|| {
        // SAFETY: `pthread_atfork` only records the three function pointers; `on_fork_child`
        // is an `extern "C" fn` with no arguments that lives for the whole program and only
        // performs an atomic increment. If registration fails (ENOMEM) the pool is disabled.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::pthread_atfork(None, None, Some(on_fork_child)) };
        if rc != 0 {
            DISABLED.store(true, Ordering::Relaxed);
        }
    });
    FORKS.load(Ordering::Relaxed)
}

static DISABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether fork detection could not be installed (then every nonce comes straight from AWS-LC).
pub(crate) fn unavailable() -> bool {
    DISABLED.load(Ordering::Relaxed)
}

/// What the child handler does, for tests that cannot fork.
#[cfg(test)]
pub(crate) fn simulate_fork() {
    on_fork_child();
}
