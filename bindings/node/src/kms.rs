//! Documents sealed by a key-management service (`keyroll/kms` in the npm package), as the
//! wasm layer has them (bindings/wasm/src/kms.rs): the keyless read of a document's wrap, and
//! open/seal with the key-encryption key the caller's service unwrapped.

use crate::bytes::{copied, Bytes};
use crate::convert::{maybe, Maybe};
use crate::error::run;
use crate::keyring::Keyring;
use keyroll::{Protection, Sealing, SecretKey, Unlock};
use napi::Env;
use napi_derive::napi;
use std::collections::BTreeMap;

/// The wrap a document records, as JSON (`provider`, `key_id`, `context`, `wrapped` as a
/// byte array), or `undefined` for a passphrase or master-key document. Keyless.
#[napi(catch_unwind, js_name = "documentKeyWrapJson")]
pub fn document_key_wrap_json(env: Env, document: &[u8]) -> napi::Result<Maybe<String>> {
    run(&env, || {
        Ok(maybe(match keyroll::document_sealing(document)? {
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
        }))
    })
}

#[napi]
impl Keyring {
    /// Opens a document sealed by a key-management service with the KEK it unwrapped.
    #[napi(catch_unwind, factory, js_name = "fromDocumentUnwrapped")]
    pub fn from_document_unwrapped(env: Env, document: &[u8], key: &[u8]) -> napi::Result<Keyring> {
        run(&env, || {
            let key = SecretKey::from_slice(key)?;
            keyroll::Keyring::from_document(document, Unlock::Unwrapped(&key))
        })
        .map(Keyring::wrap)
    }

    /// Seals under a KEK and the service's wrap of it (`context_json`: an object of strings).
    #[napi(catch_unwind, js_name = "toDocumentWrapped")]
    pub fn to_document_wrapped(
        &self,
        env: Env,
        key: &[u8],
        provider: String,
        key_id: String,
        context_json: String,
        wrapped: &[u8],
    ) -> napi::Result<Bytes> {
        let document = run(&env, || {
            let key = SecretKey::from_slice(key)?;
            let context: BTreeMap<String, String> =
                serde_json::from_str(&context_json).map_err(|_| {
                    keyroll::Error::InvalidArgument(
                        "a key wrap's context must be an object of strings",
                    )
                })?;
            let wrap = keyroll::KeyWrap {
                provider,
                key_id,
                context,
                wrapped: wrapped.to_vec(),
            };
            self.ring()?.to_document(Protection::WrappedKey {
                key: &key,
                wrap: &wrap,
            })
        })?;
        copied(&env, &document)
    }
}
