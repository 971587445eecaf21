//! RustCrypto `aes-gcm` backend (wasm32, and native with the `rustcrypto` feature).

use super::{NONCE_LEN, TAG_LEN};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

pub const NAME: &str = "rustcrypto-aes-gcm";

/// `Aes256Gcm` zeroizes its key schedule on drop (the crate's `zeroize` feature).
pub struct Key(Aes256Gcm);

impl Key {
    pub fn new(key: &[u8; 32]) -> Self {
        Key(Aes256Gcm::new(key.into()))
    }

    /// Seals `buf` in place and returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        self.0
            .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, buf)
            .expect("AES-GCM sealing fails only past 2^36 bytes, beyond any buffer here")
            .into()
    }

    /// Seals `pt` into `out` (`ct ‖ tag`, exactly `pt.len() + TAG_LEN` long): copied, then
    /// sealed in place.
    pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], pt: &[u8], out: &mut [u8]) {
        let (body, tag) = out.split_at_mut(pt.len());
        body.copy_from_slice(pt);
        tag.copy_from_slice(&self.seal_in_place(nonce, aad, body));
    }

    /// Opens `ct ‖ tag` into `out` (exactly `ct` long). RustCrypto decrypts in place, so the
    /// ciphertext is copied into `out` first; on failure `out` holds ciphertext only.
    pub fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
        out.copy_from_slice(ct);
        self.0
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, out, Tag::from_slice(tag))
            .ok()
    }
}
