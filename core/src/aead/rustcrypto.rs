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

    pub fn seal_append(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], pt: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(pt);
        let tag = self
            .0
            .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut out[start..])
            .expect("AES-GCM sealing fails only past 2^36 bytes, beyond any Vec here");
        out.extend_from_slice(&tag);
    }

    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], ct_and_tag: &[u8]) -> Option<Vec<u8>> {
        let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
        let mut out = ct.to_vec();
        self.0
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                &mut out,
                Tag::from_slice(tag),
            )
            .ok()?;
        Some(out)
    }
}
