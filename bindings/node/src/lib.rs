//! The Node-API addon under the `keyroll` npm package (`js/`), loaded before the WebAssembly
//! module wherever a platform package exists (linux-x64-gnu today).
//!
//! It exports the same classes, functions, names and argument conventions as the wasm-bindgen
//! layer (`bindings/wasm`), so `js/src/backend.ts` picks one of the two module objects at load
//! time and the TypeScript API above is the same code for both. The difference is underneath:
//! core on `aws-lc-rs` (AES-NI/VAES, ~15× RustCrypto at 64 KiB here), arguments borrowed
//! straight from the caller's `Uint8Array`/`Buffer`, and envelopes and plaintexts written once,
//! straight into a fresh V8 `ArrayBuffer` (`bytes.rs`).
//!
//! Each export is one line over core plus type conversion. Times are whole Unix seconds as
//! JavaScript numbers; structured results cross as core's serde JSON, as in the wasm layer.
//! Every export is `catch_unwind`: core does not panic on any input, and should a bug make it
//! panic, the caller gets a JavaScript `Error` rather than a process abort at the FFI boundary.
#![warn(missing_docs)]

// `keyring` first: napi-derive learns a class's JavaScript name (`WasmKeyring`) from its struct,
// and an `impl` block expanded before the struct (`blind_index` adds a method) would register
// the Rust name instead.
mod keyring;
mod kms;

mod blind_index;
mod bytes;
mod convert;
mod error;
mod handle;
mod legacy;
mod ops;
mod signing;

pub use blind_index::BlindIndex;
pub use bytes::{Bytes, Text, TextArg};
pub use error::{error_codes, set_error_factory};
pub use handle::KeyringHandle;
pub use keyring::{Keyring, Rewrapped, Verified};
pub use kms::document_key_wrap_json;
pub use legacy::{
    check_not_rolled_back, check_successor, document_generation, generate_fernet_key, inspect,
};
pub use signing::{SigningKeyring, VerifiedJwt, VerifiedMessage};

use napi_derive::napi;

/// The AEAD backend compiled into this addon (`aws-lc-rs`).
#[napi(catch_unwind, js_name = "aeadBackend")]
pub fn aead_backend() -> String {
    keyroll::aead::BACKEND.to_owned()
}

/// The PBKDF2 iteration count new passphrase-sealed documents use.
#[napi(catch_unwind, js_name = "defaultPbkdf2Iterations")]
pub fn default_pbkdf2_iterations() -> u32 {
    keyroll::DEFAULT_PBKDF2_ITERATIONS
}

/// The version this addon was built as (the workspace's, equal to the npm package's): the
/// Node entry loads only an addon of its own version, whose surface it knows.
#[napi(catch_unwind, js_name = "bindingVersion")]
pub fn binding_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
