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

    /// Parses a key as operators write it in environment variables and files: 64 hex digits,
    /// or base64 (standard or URL-safe, padded or not). Surrounding whitespace is ignored.
    pub fn from_text(text: &str) -> crate::Result<Self> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        use base64::Engine;
        const WHAT: &str = "a 256-bit key must be 64 hex digits or 32 bytes of base64";
        let text = text.trim();
        let mut raw = zeroize::Zeroizing::new([0u8; KEY_LEN]);
        if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            for (i, byte) in raw.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                    .map_err(|_| crate::Error::InvalidKey(WHAT))?;
            }
            return Ok(SecretKey(*raw));
        }
        let decoded = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(zeroize::Zeroizing::new)
            .ok_or(crate::Error::InvalidKey(WHAT))?;
        SecretKey::from_slice(&decoded).map_err(|_| crate::Error::InvalidKey(WHAT))
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
