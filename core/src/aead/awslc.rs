//! aws-lc-rs backend (native targets).

use super::{NONCE_LEN, TAG_LEN};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

pub const NAME: &str = "aws-lc-rs";

/// `LessSafeKey` because keyroll supplies a fresh random nonce for every message itself.
pub struct Key(LessSafeKey);

impl Key {
    pub fn new(key: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("AES-256-GCM accepts 32-byte keys");
        Key(LessSafeKey::new(unbound))
    }

    pub fn seal_append(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], pt: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(pt);
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut out[start..],
            )
            .expect("AES-GCM sealing fails only past 2^36 bytes, beyond any Vec here");
        out.extend_from_slice(tag.as_ref());
    }

    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], ct_and_tag: &[u8]) -> Option<Vec<u8>> {
        let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
        let mut out = vec![0u8; ct.len()];
        self.0
            .open_separate_gather(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                ct,
                tag,
                &mut out,
            )
            .ok()?;
        Some(out)
    }
}
