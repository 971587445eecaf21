//! `WasmBlindIndex`: core's `BlindIndex`, one line per method (spec `docs/wire-format.md` §11).
//! The TypeScript `BlindIndex` class in `js/src/blind-index.ts` wraps it.

use crate::error::{js, JsResult};
use crate::keyring::Keyring;
use wasm_bindgen::prelude::*;

/// A blind index held in wasm memory; dropping it wipes its keys.
#[wasm_bindgen(js_name = WasmBlindIndex)]
pub struct BlindIndex(keyroll::BlindIndex);

#[wasm_bindgen(js_class = WasmKeyring)]
impl Keyring {
    /// A blind index over this keyring (a snapshot of its live versions).
    #[wasm_bindgen(js_name = blindIndex)]
    pub fn blind_index(&self, name: &str, normalizer: &str, bits: u32) -> JsResult<BlindIndex> {
        let normalizer = js(keyroll::Normalizer::parse(normalizer))?;
        js(self.0.blind_index(name, normalizer, bits)).map(BlindIndex)
    }
}

#[wasm_bindgen(js_class = WasmBlindIndex)]
impl BlindIndex {
    /// The index under the active version, `bi1:v<N>:<hex>`.
    pub fn compute(&self, value: &[u8]) -> JsResult<String> {
        js(self.0.compute(value))
    }

    /// The index under every live version, active first.
    pub fn candidates(&self, value: &[u8]) -> JsResult<Vec<String>> {
        js(self.0.candidates(value))
    }

    /// The index name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// The normaliser's canonical name.
    #[wasm_bindgen(getter)]
    pub fn normalizer(&self) -> String {
        self.0.normalizer().as_str().to_owned()
    }

    /// The number of bits kept.
    #[wasm_bindgen(getter)]
    pub fn bits(&self) -> u32 {
        self.0.bits()
    }

    /// The version `compute` writes (undefined for a decrypt-only export).
    #[wasm_bindgen(getter, js_name = activeVersion)]
    pub fn active_version(&self) -> Option<u32> {
        self.0.active_version()
    }

    /// The versions `candidates` covers, in its order.
    #[wasm_bindgen(getter)]
    pub fn versions(&self) -> Vec<u32> {
        self.0.versions()
    }
}
