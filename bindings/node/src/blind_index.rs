//! `WasmBlindIndex`: core's `BlindIndex`, one line per method (spec `docs/wire-format.md` §11).
//! The TypeScript `BlindIndex` class in `js/src/blind-index.ts` wraps it.

use crate::convert::{maybe, Maybe};
use crate::error::run;
use crate::keyring::Keyring;
use keyroll::Error;
use napi::bindgen_prelude::Uint32Array;
use napi::Env;
use napi_derive::napi;

/// A blind index held by the addon; `None` once freed (which wipes its keys).
#[napi(js_name = "WasmBlindIndex")]
pub struct BlindIndex {
    inner: Option<keyroll::BlindIndex>,
}

impl BlindIndex {
    fn index(&self) -> keyroll::Result<&keyroll::BlindIndex> {
        self.inner
            .as_ref()
            .ok_or(Error::InvalidArgument("this blind index was freed"))
    }
}

#[napi]
impl Keyring {
    /// A blind index over this keyring (a snapshot of its live versions).
    #[napi(catch_unwind, js_name = "blindIndex")]
    pub fn blind_index(
        &self,
        env: Env,
        name: String,
        normalizer: String,
        bits: u32,
    ) -> napi::Result<BlindIndex> {
        run(&env, || {
            let normalizer = keyroll::Normalizer::parse(&normalizer)?;
            self.ring()?.blind_index(&name, normalizer, bits)
        })
        .map(|inner| BlindIndex { inner: Some(inner) })
    }
}

#[napi]
impl BlindIndex {
    /// The index under the active version, `bi1:v<N>:<hex>`.
    #[napi(catch_unwind, catch_unwind)]
    pub fn compute(&self, env: Env, value: &[u8]) -> napi::Result<String> {
        run(&env, || self.index()?.compute(value))
    }

    /// The index under every live version, active first.
    #[napi(catch_unwind, catch_unwind)]
    pub fn candidates(&self, env: Env, value: &[u8]) -> napi::Result<Vec<String>> {
        run(&env, || self.index()?.candidates(value))
    }

    /// The index name.
    #[napi(catch_unwind, getter)]
    pub fn name(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(self.index()?.name().to_owned()))
    }

    /// The normaliser's canonical name.
    #[napi(catch_unwind, getter)]
    pub fn normalizer(&self, env: Env) -> napi::Result<String> {
        run(&env, || Ok(self.index()?.normalizer().as_str().to_owned()))
    }

    /// The number of bits kept.
    #[napi(catch_unwind, getter)]
    pub fn bits(&self, env: Env) -> napi::Result<u32> {
        run(&env, || Ok(self.index()?.bits()))
    }

    /// The version `compute` writes (undefined for a decrypt-only export).
    #[napi(catch_unwind, getter, js_name = "activeVersion")]
    pub fn active_version(&self, env: Env) -> napi::Result<Maybe<u32>> {
        run(&env, || Ok(maybe(self.index()?.active_version())))
    }

    /// The versions `candidates` covers, in its order.
    #[napi(catch_unwind, getter)]
    pub fn versions(&self, env: Env) -> napi::Result<Uint32Array> {
        run(&env, || Ok(Uint32Array::new(self.index()?.versions())))
    }

    /// Wipes the keys now; safe to call twice.
    #[napi(catch_unwind, catch_unwind)]
    pub fn free(&mut self) {
        self.inner = None;
    }
}
