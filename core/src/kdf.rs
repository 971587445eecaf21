//! Key derivation: PBKDF2-HMAC-SHA256 for passphrases, HKDF-SHA256 for everything else.

use crate::secret::{SecretKey, KEY_LEN};
use crate::{Error, Result};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Iterations keyroll uses for new passphrase-sealed keyrings (OWASP 2023 for PBKDF2-SHA256).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;

/// PBKDF2-HMAC-SHA256 to a 256-bit key. keyroll's callers refuse 0 iterations before this;
/// here 0 gives the same as 1 on both backends (what RustCrypto's `pbkdf2` does).
///
/// Native builds run AWS-LC's PBKDF2 (the backend of the AEAD too): it is compiled C, so a
/// debug build — the CLI under its test suite, a developer's binary — derives at release speed
/// (~20 ms at the 100,000-iteration floor instead of ~0.6 s for unoptimized Rust). wasm and the
/// `rustcrypto` feature use RustCrypto's `pbkdf2`; Wycheproof checks whichever is built.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> SecretKey {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2_into(password, salt, iterations, &mut out);
    SecretKey::from_bytes(*out)
}

#[cfg(not(any(target_arch = "wasm32", feature = "rustcrypto")))]
fn pbkdf2_into(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8; KEY_LEN]) {
    use aws_lc_rs::pbkdf2;
    let iterations = core::num::NonZeroU32::new(iterations).unwrap_or(core::num::NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password, out);
}

#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
fn pbkdf2_into(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8; KEY_LEN]) {
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out);
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
