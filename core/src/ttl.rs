//! Time-to-live checks, with Fernet's semantics for every token kind.

use crate::{Error, Result};

/// Fernet's allowance for clocks that run behind the writer's: a token may be at most this
/// many seconds in the future.
pub const MAX_CLOCK_SKEW: u64 = 60;

/// A TTL check requested by the caller: the token must be at most `seconds` old at `now`
/// (Unix seconds; core never reads a clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl {
    /// Maximum age in seconds.
    pub seconds: u64,
    /// The current time in Unix seconds.
    pub now: u64,
}

impl Ttl {
    /// Fails with [`Error::Expired`] if `issued_at + seconds < now` or
    /// `now + 60 < issued_at`. Arithmetic is done in 128 bits: Fernet timestamps may be 2^64-1.
    pub fn check(&self, issued_at: u64) -> Result<()> {
        let (issued, ttl, now) = (issued_at as u128, self.seconds as u128, self.now as u128);
        if issued + ttl < now || now + (MAX_CLOCK_SKEW as u128) < issued {
            return Err(Error::Expired);
        }
        Ok(())
    }
}
