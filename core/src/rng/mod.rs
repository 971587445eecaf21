//! Randomness for keys, salts and nonces.
//!
//! **Nothing random is kept across calls.** Every byte is drawn from the system generator at the
//! time of the call that uses it:
//!
//! - native: AWS-LC's `RAND_bytes`. Its per-thread CTR-DRBG detects forks by itself
//!   (`MADV_WIPEONFORK`, which the kernel honours for every kind of fork: libc `fork`, glibc
//!   `_Fork`, raw `fork`/`clone` syscalls) and VM snapshots (`sysgenid`/`vmgenid` where the
//!   platform offers them), and reseeds before its next output. A library-side pool would defeat
//!   that: bytes drawn before a fork or a snapshot and handed out after it are handed out twice.
//!   An earlier version of keyroll kept such a pool and relied on `pthread_atfork`, which a raw
//!   `fork` syscall never runs; parent and child then shared nonces (`tests/fork.rs`).
//! - wasm32: `getrandom` (`crypto.getRandomValues`), one call per draw.
//!
//! A single encrypt draws its 12-byte nonce with one call. A batch call (`encrypt_many`,
//! `rewrap_many`, `rewrap_batch`) draws all of its nonces with one call into a buffer that lives
//! only for that call, hands each nonce out once and wipes it. A replay of one call (a snapshot
//! taken mid-call and resumed twice) replays that call's fixed inputs and outputs identically,
//! which reveals nothing new; no nonce is carried into a later call.
//!
//! With the `testing` feature a keyring can use a seeded generator instead, so that
//! `examples/gen_vectors.rs` writes the same vectors every time. Nothing else may use it.

use crate::aead::NONCE_LEN;
use crate::{Error, Result};
use zeroize::{Zeroize, Zeroizing};

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

    /// Fills `dest` with random bytes drawn now.
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

    /// A fresh 96-bit nonce: one draw from the generator.
    pub(crate) fn nonce(&self) -> Result<[u8; NONCE_LEN]> {
        self.array()
    }

    /// `count` fresh nonces drawn with one call, for one batch call only.
    pub(crate) fn nonces(&self, count: usize) -> Result<Nonces> {
        let len = count.checked_mul(NONCE_LEN).ok_or(Error::Rng)?;
        let mut buf = Zeroizing::new(vec![0u8; len]);
        self.fill(&mut buf)?;
        Ok(Nonces { buf, used: 0 })
    }

    /// A fresh array of random bytes.
    pub(crate) fn array<const N: usize>(&self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        self.fill(&mut out)?;
        Ok(out)
    }
}

/// One batch call's nonces. Each is handed out once and wiped where it was; the rest are wiped
/// when the batch ends (drop). Not `Clone`, and crate-private: only a batch method creates
/// one, as a local, so it never outlives the call that drew it.
pub(crate) struct Nonces {
    buf: Zeroizing<Vec<u8>>,
    used: usize,
}

impl Nonces {
    /// The next unused nonce; [`Error::Rng`] if the batch asked for too few.
    pub(crate) fn take(&mut self) -> Result<[u8; NONCE_LEN]> {
        let end = self.used + NONCE_LEN;
        let slot = self.buf.get_mut(self.used..end).ok_or(Error::Rng)?;
        let mut out = [0u8; NONCE_LEN];
        out.copy_from_slice(slot);
        slot.zeroize();
        self.used = end;
        Ok(out)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn system_fill(dest: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(dest).map_err(|_| Error::Rng)
}

#[cfg(target_arch = "wasm32")]
fn system_fill(dest: &mut [u8]) -> Result<()> {
    getrandom::fill(dest).map_err(|_| Error::Rng)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nonces_never_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(Rng::System.nonce().unwrap()));
        }
        let mut batch = Rng::System.nonces(1_000).unwrap();
        for _ in 0..1_000 {
            assert!(seen.insert(batch.take().unwrap()));
        }
        // A batch hands out exactly what it drew, each nonce once, and wipes what it gave.
        assert!(matches!(batch.take(), Err(Error::Rng)));
        assert!(batch.buf.iter().all(|&b| b == 0));
    }
}
