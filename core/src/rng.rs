//! Randomness for keys, salts and nonces.
//!
//! Native: AWS-LC's `RAND_bytes`, a per-thread CTR-DRBG seeded from the OS, so a nonce costs no
//! syscall, and fork-safe (AWS-LC detects forks with `MADV_WIPEONFORK` and reseeds).
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
