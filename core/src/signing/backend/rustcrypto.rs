//! RustCrypto backend for signing (wasm32, and native with the `rustcrypto` feature):
//! `hmac` + `sha2` and `ed25519-dalek`, whose keys zeroize themselves on drop.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const NAME: &str = "rustcrypto";

/// An HMAC-SHA256 key, any length. `hmac` 0.12 does not wipe its state (the inner and outer
/// hash states of the padded key) on drop; the raw key is kept in `Zeroizing` beside it.
pub struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    pub fn new(key: &[u8]) -> Self {
        HmacKey(<Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length"))
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time: `Mac::verify_slice` compares with `subtle`.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(data);
        mac.verify_slice(tag).is_ok()
    }
}

/// An Ed25519 key pair made from its 32-byte seed.
pub struct Ed25519Pair(SigningKey);

impl Ed25519Pair {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Pair(SigningKey::from_bytes(seed))
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 64] {
        self.0.sign(data).to_bytes()
    }
}

/// Verifies an Ed25519 signature (RFC 8032; S must be below the group order).
pub fn ed25519_verify(public_key: &[u8; 32], data: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(data, &sig).is_ok()
}
