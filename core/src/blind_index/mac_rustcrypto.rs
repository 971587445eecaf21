//! HMAC-SHA256 by RustCrypto `hmac` (wasm32, and native with the `rustcrypto` feature).

use crate::secret::SecretKey;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

pub const NAME: &str = "rustcrypto-hmac";

/// Only the key is kept (zeroized on drop); the pads are set up again for each value, because
/// RustCrypto's HMAC state does not wipe itself and holding it would leave key-derived bytes in
/// memory for the life of the index.
pub struct Mac(SecretKey);

impl Mac {
    pub fn new(key: &SecretKey) -> Self {
        Mac(key.clone())
    }

    pub fn tag(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.0.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}
