//! Functions that need no keyring: token inspection, Fernet key generation, generations.

use crate::convert::{json, secs};
use crate::error::run;
use keyroll::Error;
use napi::Env;
use napi_derive::napi;

/// What a token is, without a key, as core's JSON.
#[napi(catch_unwind, js_name = "inspectJson")]
pub fn inspect(env: Env, token: &[u8]) -> napi::Result<String> {
    run(&env, || keyroll::inspect(token).map(|info| json(&info)))
}

/// A fresh Fernet key, as `Fernet.generate_key()` writes it (base64url).
#[napi(catch_unwind, js_name = "generateFernetKey")]
pub fn generate_fernet_key(env: Env) -> napi::Result<String> {
    run(&env, || {
        keyroll::FernetKey::generate().map(|k| k.to_base64().to_string())
    })
}

/// A generation as a JS number (exact up to 2^53-1; a larger one is refused, not rounded).
fn generation(g: u64) -> keyroll::Result<f64> {
    if g > (1u64 << 53) - 1 {
        return Err(Error::InvalidArgument("generation above 2^53-1"));
    }
    Ok(g as f64)
}

/// The generation a stored keyring document says it is (0 before generations), keyless.
#[napi(catch_unwind, js_name = "documentGeneration")]
pub fn document_generation(env: Env, document: &[u8]) -> napi::Result<f64> {
    run(&env, || {
        generation(keyroll::Keyring::document_generation(document)?)
    })
}

/// Whether `next` may replace the stored `current` (none: nothing stored); `keyring_conflict`
/// otherwise. Returns `next`'s generation.
#[napi(catch_unwind, js_name = "checkSuccessor")]
pub fn check_successor(env: Env, current: Option<&[u8]>, next: &[u8]) -> napi::Result<f64> {
    run(&env, || {
        generation(keyroll::Keyring::check_successor(current, next)?)
    })
}

/// Refuses (`keyring_rollback`) a document older than `highest_seen`; returns its generation.
#[napi(catch_unwind, js_name = "checkNotRolledBack")]
pub fn check_not_rolled_back(env: Env, document: &[u8], highest_seen: f64) -> napi::Result<f64> {
    run(&env, || {
        let seen = secs(highest_seen)?;
        generation(keyroll::Keyring::check_not_rolled_back(document, seen)?)
    })
}
