//! Raw AES-256-GCM blobs as home-made key managers write them:
//! base64 of `[version byte] ‖ nonce(12) ‖ ciphertext ‖ tag`, no associated data.

use crate::kdf::pbkdf2_sha256;
use crate::secret::SecretKey;
use crate::{Error, Result};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

/// How the old manager made its key.
pub enum RawGcmKey {
    /// The key bytes used directly (e.g. a 32-character ASCII string used as bytes).
    Bytes(Zeroizing<Vec<u8>>),
    /// PBKDF2-HMAC-SHA256(password, salt, iterations); `{version}` in the salt pattern is
    /// replaced by the decimal version byte.
    Pbkdf2 {
        /// The password.
        password: Zeroizing<Vec<u8>>,
        /// The salt, possibly containing `{version}`.
        salt_pattern: String,
        /// PBKDF2 iterations.
        iterations: u32,
    },
}

/// One legacy key to import.
pub struct RawGcmImport {
    /// The key, or how to derive it.
    pub key: RawGcmKey,
    /// The version byte that precedes the nonce in this key's blobs, if they carry one.
    pub version_byte: Option<u8>,
}

impl RawGcmImport {
    /// Derives the 256-bit key once, at import: at 100,000 iterations one derivation costs
    /// ~11 ms, so deriving per token would cap a migration near 90 tokens/s.
    pub(crate) fn derive(&self) -> Result<SecretKey> {
        match &self.key {
            RawGcmKey::Bytes(bytes) => SecretKey::from_slice(bytes)
                .map_err(|_| Error::InvalidKey("raw AES-256-GCM key must be 32 bytes")),
            RawGcmKey::Pbkdf2 {
                password,
                salt_pattern,
                iterations,
            } => {
                if *iterations == 0 {
                    return Err(Error::InvalidArgument("PBKDF2 iterations must be ≥ 1"));
                }
                let salt = match self.version_byte {
                    Some(v) => salt_pattern.replace("{version}", &v.to_string()),
                    None if salt_pattern.contains("{version}") => {
                        return Err(Error::InvalidArgument(
                            "salt pattern uses {version} but no version byte was given",
                        ))
                    }
                    None => salt_pattern.clone(),
                };
                Ok(pbkdf2_sha256(password, salt.as_bytes(), *iterations))
            }
        }
    }
}

impl core::fmt::Debug for RawGcmKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RawGcmKey::Bytes(_) => f.write_str("Bytes(<redacted>)"),
            RawGcmKey::Pbkdf2 {
                salt_pattern,
                iterations,
                ..
            } => f
                .debug_struct("Pbkdf2")
                .field("salt_pattern", salt_pattern)
                .field("iterations", iterations)
                .finish_non_exhaustive(),
        }
    }
}

impl core::fmt::Debug for RawGcmImport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawGcmImport")
            .field("key", &self.key)
            .field("version_byte", &self.version_byte)
            .finish()
    }
}

/// Decodes a blob in any strict base64 alphabet (standard or URL-safe, padded or not).
pub(crate) fn decode(token: &[u8]) -> Result<Vec<u8>> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(token).ok())
        .ok_or(Error::Malformed("bad base64"))
}
