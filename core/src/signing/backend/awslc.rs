//! aws-lc-rs backend for signing (native targets).
//!
//! aws-lc-rs keeps each key in AWS-LC's own structures (an `HMAC_CTX` template, an
//! `EVP_PKEY`), which AWS-LC wipes when they are freed; keyroll keeps the bytes it was given in
//! `Zeroizing` beside them (`super::super::material`).

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

pub const NAME: &str = "aws-lc-rs";

/// An HMAC-SHA256 key, any length.
pub struct HmacKey(hmac::Key);

impl HmacKey {
    pub fn new(key: &[u8]) -> Self {
        HmacKey(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.0, data);
        tag.as_ref()
            .try_into()
            .expect("HMAC-SHA256 tags are 32 bytes")
    }

    /// Constant-time: aws-lc-rs compares the tags itself.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.0, data, tag).is_ok()
    }
}

/// An Ed25519 key pair made from its 32-byte seed.
pub struct Ed25519Pair(Ed25519KeyPair);

impl Ed25519Pair {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Pair(
            Ed25519KeyPair::from_seed_unchecked(seed)
                .expect("every 32-byte string is an Ed25519 seed"),
        )
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0
            .public_key()
            .as_ref()
            .try_into()
            .expect("Ed25519 public keys are 32 bytes")
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 64] {
        self.0
            .sign(data)
            .as_ref()
            .try_into()
            .expect("Ed25519 signatures are 64 bytes")
    }
}

/// Verifies an Ed25519 signature (RFC 8032; S must be below the group order).
pub fn ed25519_verify(public_key: &[u8; 32], data: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(data, sig)
        .is_ok()
}
