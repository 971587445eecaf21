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
