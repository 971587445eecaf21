//! Documents sealed by a key-management service (`keyroll/kms` in the npm package): the
//! keyless read of a document's wrap, and open/seal with the key-encryption key the caller's
//! service unwrapped. One line per function over core; the service calls are the caller's.

use crate::error::{js, JsResult};
use crate::keyring::Keyring;
use keyroll::{Protection, Sealing, SecretKey, Unlock};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

fn kek(key: Vec<u8>) -> JsResult<SecretKey> {
    js(SecretKey::from_slice(&Zeroizing::new(key)))
}

/// The wrap a document records, as JSON (`provider`, `key_id`, `context`, `wrapped` as a
/// byte array), or `undefined` for a passphrase or master-key document. Keyless.
#[wasm_bindgen(js_name = documentKeyWrapJson)]
pub fn document_key_wrap_json(document: &[u8]) -> JsResult<Option<String>> {
    Ok(match js(keyroll::document_sealing(document))? {
        Sealing::Wrapped(w) => Some(
            serde_json::json!({
                "provider": w.provider,
                "key_id": w.key_id,
                "context": w.context,
                "wrapped": w.wrapped,
            })
            .to_string(),
        ),
        _ => None,
    })
}

#[wasm_bindgen(js_class = WasmKeyring)]
impl Keyring {
    /// Opens a document sealed by a key-management service with the KEK it unwrapped.
    #[wasm_bindgen(js_name = fromDocumentUnwrapped)]
    pub fn from_document_unwrapped(document: &[u8], key: Vec<u8>) -> JsResult<Keyring> {
        let key = kek(key)?;
        js(keyroll::Keyring::from_document(
            document,
            Unlock::Unwrapped(&key),
        ))
        .map(Keyring)
    }

    /// Seals under a KEK and the service's wrap of it (`context_json`: an object of strings).
    #[wasm_bindgen(js_name = toDocumentWrapped)]
    pub fn to_document_wrapped(
        &self,
        key: Vec<u8>,
        provider: String,
        key_id: String,
        context_json: &str,
        wrapped: Vec<u8>,
    ) -> JsResult<Vec<u8>> {
        let key = kek(key)?;
        let context: BTreeMap<String, String> =
            js(serde_json::from_str(context_json).map_err(|_| {
                keyroll::Error::InvalidArgument("a key wrap's context must be an object of strings")
            }))?;
        let wrap = keyroll::KeyWrap {
            provider,
            key_id,
            context,
            wrapped,
        };
        js(self.0.to_document(Protection::WrappedKey {
            key: &key,
            wrap: &wrap,
        }))
    }
}
