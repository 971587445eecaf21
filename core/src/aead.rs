//! AES-256-GCM with a 96-bit nonce and a 128-bit tag, behind one small interface.
//!
//! Native builds use `aws-lc-rs` (AES-NI/VAES and carry-less multiply: about 15× RustCrypto's
//! speed at 64 KiB); wasm32 builds, and native builds with the `rustcrypto` feature (so the test
//! suite can check both backends give the same bytes), use RustCrypto `aes-gcm`.

use crate::secret::SecretKey;

/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub const TAG_LEN: usize = 16;

#[cfg(not(any(target_arch = "wasm32", feature = "rustcrypto")))]
#[path = "aead/awslc.rs"]
mod backend;
#[cfg(any(target_arch = "wasm32", feature = "rustcrypto"))]
#[path = "aead/rustcrypto.rs"]
mod backend;

/// The backend in use, for reports and tests.
pub const BACKEND: &str = backend::NAME;

/// An expanded AES-256-GCM key, ready for many operations.
pub struct AeadKey(backend::Key);

impl AeadKey {
    /// Expands a 256-bit key.
    pub fn new(key: &SecretKey) -> Self {
        AeadKey(backend::Key::new(key.expose()))
    }

    /// Appends `ciphertext ‖ tag` of `plaintext` to `out`.
    pub fn seal_append(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(nonce, aad, &mut out[start..]);
        out.extend_from_slice(&tag);
    }

    /// Seals `buf` in place (plaintext in, ciphertext out) and returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        self.0.seal_in_place(nonce, aad, buf)
    }

    /// Seals `plaintext` into `out`, which must be exactly `plaintext.len() + TAG_LEN` long
    /// (`ciphertext ‖ tag`): the envelope is built where the caller wants it, and natively the
    /// plaintext is read once, by the cipher.
    pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8]) {
        assert_eq!(
            out.len(),
            plaintext.len() + TAG_LEN,
            "seal_into: output length"
        );
        self.0.seal_into(nonce, aad, plaintext, out)
    }

    /// Opens `ciphertext ‖ tag`; `None` if authentication fails.
    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], ct_and_tag: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; ct_and_tag.len().checked_sub(TAG_LEN)?];
        self.open_into(nonce, aad, ct_and_tag, &mut out)?;
        Some(out)
    }

    /// Opens `ciphertext ‖ tag` into `out`, which must be exactly as long as the ciphertext
    /// (callers that own the destination, e.g. a Python `bytes` being built, skip a copy).
    /// `None` if authentication fails or the lengths disagree; on failure `out` is zeroed,
    /// so no unauthenticated byte is ever left in a caller's buffer.
    #[inline]
    pub fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        if ct_and_tag.len() < TAG_LEN || out.len() != ct_and_tag.len() - TAG_LEN {
            return None;
        }
        let opened = self.0.open_into(nonce, aad, ct_and_tag, out);
        if opened.is_none() {
            out.fill(0);
        }
        opened
    }
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AeadKey").finish_non_exhaustive()
    }
}
