//! HMAC-SHA256 by aws-lc-rs (native targets).

use crate::secret::SecretKey;
use aws_lc_rs::hmac;

pub const NAME: &str = "aws-lc-rs";

/// The key schedule (inner and outer pads, hashed once) kept for every computation; AWS-LC
/// wipes it when the key is dropped (`HMAC_CTX_cleanup`).
pub struct Mac(hmac::Key);

impl Mac {
    pub fn new(key: &SecretKey) -> Self {
        Mac(hmac::Key::new(hmac::HMAC_SHA256, key.expose()))
    }

    pub fn tag(&self, message: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.0, message);
        tag.as_ref()
            .try_into()
            .expect("HMAC-SHA256 tags are 32 bytes")
    }
}
