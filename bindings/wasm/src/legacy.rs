//! Functions that need no keyring: token inspection and Fernet key generation.

use crate::convert::json;
use crate::error::{js, JsResult};
use wasm_bindgen::prelude::*;

/// What a token is, without a key, as core's JSON.
#[wasm_bindgen(js_name = inspectJson)]
pub fn inspect(token: &[u8]) -> JsResult<String> {
    js(keyroll::inspect(token)).map(|info| json(&info))
}

/// A fresh Fernet key, as `Fernet.generate_key()` writes it (base64url).
#[wasm_bindgen(js_name = generateFernetKey)]
pub fn generate_fernet_key() -> JsResult<String> {
    js(keyroll::FernetKey::generate()).map(|k| k.to_base64().to_string())
}

/// A generation as a JS number (exact up to 2^53-1; a larger one is refused, not rounded).
fn generation(result: keyroll::Result<u64>) -> JsResult<f64> {
    let g = js(result)?;
    if g > (1u64 << 53) - 1 {
        return Err(crate::error::to_js(keyroll::Error::InvalidArgument(
            "generation above 2^53-1",
        )));
    }
    Ok(g as f64)
}

/// The generation a stored keyring document says it is (0 before generations), keyless.
#[wasm_bindgen(js_name = documentGeneration)]
pub fn document_generation(document: &[u8]) -> JsResult<f64> {
    generation(keyroll::Keyring::document_generation(document))
}

/// Whether `next` may replace the stored `current` (none: nothing stored); `keyring_conflict`
/// otherwise. Returns `next`'s generation.
#[wasm_bindgen(js_name = checkSuccessor)]
pub fn check_successor(current: Option<Vec<u8>>, next: &[u8]) -> JsResult<f64> {
    generation(keyroll::Keyring::check_successor(current.as_deref(), next))
}

/// Refuses (`keyring_rollback`) a document older than `highest_seen`; returns its generation.
#[wasm_bindgen(js_name = checkNotRolledBack)]
pub fn check_not_rolled_back(document: &[u8], highest_seen: f64) -> JsResult<f64> {
    let seen = crate::convert::secs(highest_seen)?;
    generation(keyroll::Keyring::check_not_rolled_back(document, seen))
}
