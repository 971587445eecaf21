//! Key derivation: PBKDF2-HMAC-SHA256 for passphrases, HKDF-SHA256 for everything else.

use crate::secret::{SecretKey, KEY_LEN};
use crate::{Error, Result};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Iterations keyroll uses for new passphrase-sealed keyrings (OWASP 2023 for PBKDF2-SHA256).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;

/// PBKDF2-HMAC-SHA256 to a 256-bit key.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> SecretKey {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut *out);
    SecretKey::from_bytes(*out)
}

/// HKDF-SHA256 (RFC 5869) into `out`; `out` may be 1..=8160 bytes.
pub fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .map_err(|_| Error::InvalidArgument("HKDF output length must be 1..=8160 bytes"))
}

/// HKDF-SHA256 to a 256-bit key.
pub(crate) fn hkdf_key(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> SecretKey {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_sha256(ikm, salt, info, &mut *out).expect("32 bytes is a valid HKDF length");
    SecretKey::from_bytes(*out)
}
