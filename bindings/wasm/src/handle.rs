//! `WasmKeyringHandle`: core's `KeyringHandle` for browsers, documents in, documents out. The
//! page fetches a newer document however it likes and `offer`s it; the handle swaps it in
//! only if its generation is higher (`keyring_rollback` for a lower one), keeping the
//! credential that opens it in wasm memory (wiped on `free()`).

use crate::convert::{json, secs};
use crate::error::{js, JsResult};
use keyroll::{KeyringHandle, Offered, SecretKey, Unlock};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

enum Secret {
    Passphrase(Zeroizing<Vec<u8>>),
    MasterKey(SecretKey),
}

impl Secret {
    fn unlock(&self) -> Unlock<'_> {
        match self {
            Secret::Passphrase(p) => Unlock::Passphrase(p),
            Secret::MasterKey(k) => Unlock::MasterKey(k),
        }
    }
}

/// A live keyring held in wasm memory, with the credential its documents open with.
#[wasm_bindgen(js_name = WasmKeyringHandle)]
pub struct Handle {
    handle: KeyringHandle,
    secret: Secret,
}

impl Handle {
    fn new(document: &[u8], secret: Secret) -> JsResult<Handle> {
        let ring = js(keyroll::Keyring::from_document(document, secret.unlock()))?;
        Ok(Handle {
            handle: KeyringHandle::new(ring),
            secret,
        })
    }
}

#[wasm_bindgen(js_class = WasmKeyringHandle)]
impl Handle {
    /// A handle on a passphrase-sealed document.
    #[wasm_bindgen(js_name = fromDocumentPassphrase)]
    pub fn from_document_passphrase(document: &[u8], passphrase: Vec<u8>) -> JsResult<Handle> {
        Handle::new(document, Secret::Passphrase(Zeroizing::new(passphrase)))
    }

    /// A handle on a master-key-sealed document.
    #[wasm_bindgen(js_name = fromDocumentMasterKey)]
    pub fn from_document_master_key(document: &[u8], key: Vec<u8>) -> JsResult<Handle> {
        let key = js(SecretKey::from_slice(&Zeroizing::new(key)))?;
        Handle::new(document, Secret::MasterKey(key))
    }

    /// Opens a newer document and swaps it in: `true` if swapped, `false` if it is the
    /// generation held; a lower generation throws `keyring_rollback` and changes nothing.
    pub fn offer(&self, document: &[u8]) -> JsResult<bool> {
        let ring = js(keyroll::Keyring::from_document(
            document,
            self.secret.unlock(),
        ))?;
        Ok(matches!(
            js(self.handle.offer(ring))?,
            Offered::Swapped { .. }
        ))
    }

    /// Records a failed reload (its error code) at `at`, Unix seconds.
    #[wasm_bindgen(js_name = recordFailure)]
    pub fn record_failure(&self, code: &str, at: f64) -> JsResult<()> {
        self.handle.record_failure(code, secs(at)?);
        Ok(())
    }

    /// The generation held.
    pub fn generation(&self) -> f64 {
        self.handle.generation() as f64
    }

    /// Generation, versions, last check and last error, as core's JSON.
    #[wasm_bindgen(js_name = statusJson)]
    pub fn status_json(&self) -> String {
        json(&self.handle.status())
    }
}

crate::reads::shared_reads! {
    Handle as WasmKeyringHandle, self.handle;
    #[doc = " Encrypts to the text form with the current keyring."]
    encrypt;
    #[doc = " Encrypts to the binary form with the current keyring."]
    encrypt_binary;
    #[doc = " Decrypts with the current keyring."]
    decrypt;
}
