//! Randomness for keys, salts and nonces.
//!
//! Native: AWS-LC's `RAND_bytes` (a CTR-DRBG seeded from the OS, fork- and snapshot-safe). On
//! this machine one call costs ~400 ns whatever its length, more than sealing 64 bytes, so
//! nonces come from a per-thread pool of 1 KiB refilled by one call (~85 nonces a call); the
//! pool is discarded on fork (`fork.rs`) so parent and child never share a nonce. Keys, salts
//! and ids are drawn from `RAND_bytes` directly.
//! wasm32: `getrandom` (`crypto.getRandomValues`) refilling a 512-byte buffer, so one call into
//! JavaScript serves ~40 nonces; wasm has no `fork`, and the module is single-threaded.
//!
//! With the `testing` feature a keyring can use a seeded generator instead, so that
//! `examples/gen_vectors.rs` writes the same vectors every time. Nothing else may use it.

use crate::{Error, Result};

/// Where a keyring draws its random bytes from.
#[derive(Default)]
pub(crate) enum Rng {
    /// The operating system's generator (through AWS-LC or `crypto.getRandomValues`).
    #[default]
    System,
    /// SHA-256(seed ‖ counter) blocks: reproducible, for test vectors only.
    #[cfg(feature = "testing")]
    Seeded(std::sync::Mutex<(Vec<u8>, u64)>),
}

impl Rng {
    #[cfg(feature = "testing")]
    pub(crate) fn seeded(seed: &[u8]) -> Self {
        Rng::Seeded(std::sync::Mutex::new((seed.to_vec(), 0)))
    }

    /// Fills `dest` with random bytes.
    pub(crate) fn fill(&self, dest: &mut [u8]) -> Result<()> {
        match self {
            Rng::System => system_fill(dest),
            #[cfg(feature = "testing")]
            Rng::Seeded(state) => {
                use sha2::{Digest, Sha256};
                let mut state = state.lock().map_err(|_| Error::Rng)?;
                for chunk in dest.chunks_mut(32) {
                    let block = Sha256::new()
                        .chain_update(&state.0)
                        .chain_update(state.1.to_be_bytes())
                        .finalize();
                    state.1 += 1;
                    chunk.copy_from_slice(&block[..chunk.len()]);
                }
                Ok(())
            }
        }
    }

    /// A fresh 96-bit nonce (through the per-thread pool for the system generator).
    pub(crate) fn nonce(&self) -> Result<[u8; 12]> {
        match self {
            Rng::System => {
                let mut out = [0u8; 12];
                nonce_fill(&mut out)?;
                Ok(out)
            }
            #[cfg(feature = "testing")]
            Rng::Seeded(_) => self.array(),
        }
    }

    /// A fresh array of random bytes.
    pub(crate) fn array<const N: usize>(&self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        self.fill(&mut out)?;
        Ok(out)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn system_fill(dest: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(dest).map_err(|_| Error::Rng)
}

#[cfg(unix)]
mod fork;

/// Per-thread nonce pool (native unix): `RAND_bytes` output handed out 12 bytes at a time,
/// each byte once, and thrown away after a fork.
#[cfg(all(unix, not(target_arch = "wasm32")))]
fn nonce_fill(dest: &mut [u8; 12]) -> Result<()> {
    use std::cell::RefCell;
    const POOL: usize = 1020; // 85 nonces
    struct Pool {
        buf: [u8; POOL],
        used: usize,
        generation: usize,
    }
    thread_local! {
        static POOLS: RefCell<Pool> =
            const { RefCell::new(Pool { buf: [0; POOL], used: POOL, generation: 0 }) };
    }
    let generation = fork::generation();
    if fork::unavailable() {
        return system_fill(dest);
    }
    const N: usize = 12;
    POOLS.with(|pool| {
        let pool = &mut *pool.borrow_mut();
        if pool.used + N > POOL || pool.generation != generation {
            system_fill(&mut pool.buf)?;
            pool.used = 0;
            pool.generation = generation;
        }
        let taken = &mut pool.buf[pool.used..pool.used + N];
        dest.copy_from_slice(taken);
        taken.fill(0);
        pool.used += N;
        #[cfg(test)]
        LAST_REFILL_STATE.with(|s| s.set((pool.used, pool.generation)));
        Ok(())
    })
}

#[cfg(all(test, unix, not(target_arch = "wasm32")))]
thread_local! {
    /// (bytes used, generation) of this thread's pool after the last nonce, for tests.
    static LAST_REFILL_STATE: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// No `fork` to fear (Windows) or a pool already in `system_fill` (wasm32).
#[cfg(not(all(unix, not(target_arch = "wasm32"))))]
fn nonce_fill(dest: &mut [u8; 12]) -> Result<()> {
    system_fill(dest)
}

#[cfg(all(test, unix, not(target_arch = "wasm32")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nonces_never_repeat_and_the_pool_is_dropped_on_fork() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(Rng::System.nonce().unwrap()));
        }
        // Part-way through a pool, a fork: the child's next nonce comes from a fresh pool.
        let _ = Rng::System.nonce().unwrap();
        let (used, generation) = LAST_REFILL_STATE.with(|s| s.get());
        assert!(used >= 12);
        fork::simulate_fork();
        let after = Rng::System.nonce().unwrap();
        assert_eq!(LAST_REFILL_STATE.with(|s| s.get()), (12, generation + 1));
        assert!(seen.insert(after));
    }
}
#[cfg(target_arch = "wasm32")]
fn system_fill(dest: &mut [u8]) -> Result<()> {
    use std::cell::RefCell;
    const BUF: usize = 512;
    thread_local! {
        static POOL: RefCell<([u8; BUF], usize)> = const { RefCell::new(([0; BUF], BUF)) };
    }
    if dest.len() > BUF / 4 {
        return getrandom::fill(dest).map_err(|_| Error::Rng);
    }
    POOL.with(|pool| {
        let (buf, used) = &mut *pool.borrow_mut();
        if BUF - *used < dest.len() {
            getrandom::fill(buf).map_err(|_| Error::Rng)?;
            *used = 0;
        }
        dest.copy_from_slice(&buf[*used..*used + dest.len()]);
        // Bytes handed out are wiped so they cannot be handed out, or read, twice.
        buf[*used..*used + dest.len()].fill(0);
        *used += dest.len();
        Ok(())
    })
}
