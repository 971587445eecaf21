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

    /// Seals `buf` in place and returns the tag.
    pub fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .expect("AES-GCM sealing fails only past 2^36 bytes, beyond any buffer here");
        tag.as_ref().try_into().expect("16-byte tag")
    }

    /// Seals `pt` into `out` (`ct ‖ tag`, exactly `pt.len() + TAG_LEN` long) without copying
    /// the plaintext first: AWS-LC's scatter seal encrypts its "extra" input from `pt` into
    /// `out` (the in-place part is empty). (AWS-LC's FIPS module does not offer the scatter
    /// call; a FIPS build would copy and seal in place instead.)
    pub fn seal_into(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], pt: &[u8], out: &mut [u8]) {
        self.0
            .seal_in_place_scatter(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut [],
                pt,
                out,
            )
            .expect("AES-GCM sealing fails only past 2^36 bytes or on a length the caller checked");
    }

    /// Opens `ct ‖ tag` straight into `out` (exactly `ct` long): AWS-LC decrypts from the
    /// input into the output buffer, so the plaintext is written once.
    #[inline]
    pub fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ct_and_tag: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - TAG_LEN);
        self.0
            .open_separate_gather(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                ct,
                tag,
                out,
            )
            .ok()
    }
}
