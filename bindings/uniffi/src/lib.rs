//! # keyroll for Kotlin and Swift
//!
//! UniFFI bindings over the keyroll core, shaped for mobile apps: a [`Keyring`] object (safe to
//! share between threads; UniFFI keeps it in an `Arc`), `ByteArray`/`Data` for bytes, and one
//! error type, [`KeyrollError`] (`KeyrollException` in Kotlin), carrying the spec's stable
//! `code`. Every method is one call into `keyroll`; the rules live there.
//!
//! Generated Kotlin and Swift are written by `uniffi-bindgen` into `target/` and never
//! committed (see `docs/mobile.md`).

mod blind_index;
mod bytes;
mod error;
mod handle;
mod keyring;
mod signing;
mod types;

pub use blind_index::BlindIndex;
pub use bytes::Bytes;
pub use error::KeyrollError;
pub use handle::{HandleStatus, KeyringHandle};
pub use keyring::Keyring;
pub use signing::{JwtOptions, SigningKeyring};
pub use types::{DecryptOutcome, DerivedKey, RawGcmImport, RawGcmKey, TokenInfo, Ttl};

uniffi::setup_scaffolding!("keyroll");

/// Describes a token without any key: its format, keyring id, key version and issued-at time.
/// Nothing it returns is authenticated until the token is decrypted or verified.
#[uniffi::export]
pub fn inspect(token: Bytes) -> error::Result<TokenInfo> {
    Ok(keyroll::inspect(&token)?.into())
}

/// Every error code keyroll can report, in the order of the spec's table.
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    keyroll::Error::CODES
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// The PBKDF2 iteration count keyring documents are sealed with by default.
#[uniffi::export]
pub fn default_pbkdf2_iterations() -> u32 {
    keyroll::DEFAULT_PBKDF2_ITERATIONS
}
