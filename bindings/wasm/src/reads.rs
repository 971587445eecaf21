//! The reads `WasmKeyring` and `WasmKeyringHandle` share (encrypt, encrypt to binary,
//! decrypt), declared once: core's `Keyring` and `KeyringHandle` take the same arguments for
//! them, so the two classes differ only in the field that holds the core object.

/// A `#[wasm_bindgen]` block for `$class` (shown to JavaScript as `$js`) whose methods call
/// core on `self.$field`. Each class gives its own docs, as `#[doc = "…"]` (doc comments
/// passed through a macro reach wasm-bindgen's `.d.ts` as raw strings, `r"…"`).
macro_rules! shared_reads {
    (
        $class:ident as $js:ident, self.$field:tt;
        $(#[doc = $encrypt:literal])* encrypt;
        $(#[doc = $encrypt_binary:literal])* encrypt_binary;
        $(#[doc = $decrypt:literal])* decrypt;
    ) => {
        #[wasm_bindgen::prelude::wasm_bindgen(js_class = $js)]
        impl $class {
            $(#[doc = $encrypt])*
            pub fn encrypt(
                &self,
                plaintext: &[u8],
                context: &[u8],
                issued_at: Option<f64>,
            ) -> $crate::error::JsResult<String> {
                let issued_at = $crate::convert::opt_secs(issued_at)?;
                $crate::error::js(self.$field.encrypt(plaintext, context, issued_at))
            }

            $(#[doc = $encrypt_binary])*
            #[wasm_bindgen(js_name = encryptBinary)]
            pub fn encrypt_binary(
                &self,
                plaintext: &[u8],
                context: &[u8],
                issued_at: Option<f64>,
            ) -> $crate::error::JsResult<Vec<u8>> {
                let issued_at = $crate::convert::opt_secs(issued_at)?;
                $crate::error::js(self.$field.encrypt_binary(plaintext, context, issued_at))
            }

            $(#[doc = $decrypt])*
            pub fn decrypt(
                &self,
                token: &[u8],
                context: &[u8],
                ttl_seconds: Option<f64>,
                now: f64,
            ) -> $crate::error::JsResult<Vec<u8>> {
                let ttl = $crate::convert::ttl(ttl_seconds, now)?;
                $crate::error::js(self.$field.decrypt(token, context, ttl))
            }
        }
    };
}
pub(crate) use shared_reads;
