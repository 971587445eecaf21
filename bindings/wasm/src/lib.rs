//! The wasm-bindgen layer under the `keyroll` npm package (`js/`).
//!
//! Each export is one line over the `keyroll` core plus type conversion; the idiomatic
//! TypeScript API (options objects, strings, `KeyrollError`) lives in `js/src/`. Times are
//! whole Unix seconds as JavaScript numbers; structured results (versions, policy status,
//! token info) cross as core's own serde JSON, parsed on the JavaScript side.
#![warn(missing_docs)]

mod blind_index;
mod convert;
mod error;
mod handle;
mod keyring;
mod kms;
mod legacy;
mod reads;
mod signing;

pub use blind_index::BlindIndex;
pub use error::{error_codes, set_error_factory};
pub use handle::Handle as KeyringHandle;
pub use keyring::Keyring;
pub use kms::document_key_wrap_json;
pub use legacy::{generate_fernet_key, inspect};
pub use signing::SigningKeyring;

use wasm_bindgen::prelude::wasm_bindgen;

/// The AEAD backend compiled into this module (RustCrypto `aes-gcm` on wasm32).
#[wasm_bindgen(js_name = aeadBackend)]
pub fn aead_backend() -> String {
    keyroll::aead::BACKEND.to_owned()
}

/// The PBKDF2 iteration count new passphrase-sealed documents use.
#[wasm_bindgen(js_name = defaultPbkdf2Iterations)]
pub fn default_pbkdf2_iterations() -> u32 {
    keyroll::DEFAULT_PBKDF2_ITERATIONS
}
