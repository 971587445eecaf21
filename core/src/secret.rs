//! A 256-bit secret that wipes itself and never prints.

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length in bytes of every symmetric key keyroll stores.
pub const KEY_LEN: usize = 32;

/// 32 bytes of key material: zeroed on drop, compared in constant time, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Wraps raw bytes. The caller should wipe its own copy.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SecretKey(bytes)
    }

    /// A fresh random key from the system generator.
    pub fn generate() -> crate::Result<Self> {
        Ok(SecretKey(crate::rng::Rng::System.array()?))
    }

    /// Copies from a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Self> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| crate::Error::InvalidKey("expected 32 bytes"))?;
        Ok(SecretKey(arr))
    }

    /// The raw bytes; the explicit accessor is the only way to read them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}
